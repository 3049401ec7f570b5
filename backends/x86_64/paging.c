/* backends/x86_64/paging.c: identity page tables with W^X attributes, built into a page pool. */
#include "paging.h"

#define ENTRIES        512
#define LEVEL_SHIFT(l) (12 + 9 * (l)) /* level 0: PT, 1: PD, 2: PDPT, 3: PML4 */
#define IDX(va, l)     (((va) >> LEVEL_SHIFT(l)) & (ENTRIES - 1))
/* Intermediate entries allow everything; the leaf decides. */
#define TABLE_BITS (X86_PTE_P | X86_PTE_W | X86_PTE_U)

uint64_t x86_pt_bits(enum x86_map_kind kind)
{
    /* U: the application runs in ring 3 (see boot.c); W^X applies there regardless of CR0.WP */
    switch (kind) {
    case X86_MAP_TEXT:
        return X86_PTE_P | X86_PTE_U;
    case X86_MAP_RODATA:
        return X86_PTE_P | X86_PTE_U | X86_PTE_NX;
    case X86_MAP_DATA:
        return X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX;
    case X86_MAP_MMIO:
        return X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX | X86_PTE_PCD | X86_PTE_PWT;
    case X86_MAP_KERNEL:
        return X86_PTE_P | X86_PTE_W | X86_PTE_NX;
    }
    return 0;
}

static uint64_t *table_at(const struct x86_pt *pt, uint64_t phys)
{
    return (uint64_t *)(void *)(pt->pool + (phys - pt->pool_phys));
}

/* A zeroed page from the pool, or 0 when it is exhausted. */
static uint64_t new_table(struct x86_pt *pt)
{
    if (pt->used >= pt->pool_pages)
        return 0;
    uint64_t phys = pt->pool_phys + pt->used * X86_PAGE;
    uint64_t *t = table_at(pt, phys);
    for (int i = 0; i < ENTRIES; i++)
        t[i] = 0;
    pt->used++;
    return phys;
}

int x86_pt_init(struct x86_pt *pt, void *pool, uint64_t pool_phys, size_t pool_pages)
{
    if (((uintptr_t)pool | pool_phys) & (X86_PAGE - 1))
        return -1;
    *pt = (struct x86_pt){ .pool = pool, .pool_phys = pool_phys, .pool_pages = pool_pages };
    pt->pml4_phys = new_table(pt);
    return pt->pml4_phys ? 0 : -1;
}

/*
 * The table at `level` - 1 under entry e of a table at `level`, created (or
 * split from a large page) when needed. Returns NULL when the pool is empty.
 */
static uint64_t *descend(struct x86_pt *pt, uint64_t *e)
{
    if (*e & X86_PTE_P && !(*e & X86_PTE_PS))
        return table_at(pt, *e & X86_PTE_ADDR);
    uint64_t phys = new_table(pt);
    if (!phys)
        return NULL;
    uint64_t *t = table_at(pt, phys);
    if (*e & X86_PTE_P) { /* split a 2 MiB page into 512 small ones with its attributes */
        uint64_t base = *e & X86_PTE_ADDR & ~(X86_LARGE_PAGE - 1);
        uint64_t bits = *e & ~X86_PTE_ADDR & ~X86_PTE_PS;
        for (int i = 0; i < ENTRIES; i++)
            t[i] = (base + (uint64_t)i * X86_PAGE) | bits;
    }
    *e = phys | TABLE_BITS;
    return t;
}

/* Sets (bits != 0) or clears (bits == 0) the entries for [va, end). */
static int set_range(struct x86_pt *pt, uint64_t va, uint64_t end, uint64_t bits)
{
    if ((va | end) & (X86_PAGE - 1) || end < va || end > (1ull << 47))
        return -1;
    while (va < end) {
        uint64_t *t = table_at(pt, pt->pml4_phys);
        int level;
        for (level = 3; level > 1; level--) {
            uint64_t *e = &t[IDX(va, level)];
            if (!bits && !(*e & X86_PTE_P))
                break; /* unmapping, and nothing is mapped in this whole subtree */
            if (!(t = descend(pt, e)))
                return -1;
        }
        if (level > 1) {
            uint64_t span = 1ull << LEVEL_SHIFT(level);
            va = (va & ~(span - 1)) + span;
            continue;
        }
        /* t is now the page directory for va */
        uint64_t *pde = &t[IDX(va, 1)];
        int large_fits = !(va & (X86_LARGE_PAGE - 1)) && end - va >= X86_LARGE_PAGE;
        if (large_fits) {
            *pde = bits ? (va | bits | X86_PTE_PS) : 0;
            va += X86_LARGE_PAGE;
            continue;
        }
        if (!bits && !(*pde & X86_PTE_P)) {
            va = (va & ~(X86_LARGE_PAGE - 1)) + X86_LARGE_PAGE;
            continue;
        }
        uint64_t *ptab = descend(pt, pde);
        if (!ptab)
            return -1;
        uint64_t stop = (va & ~(X86_LARGE_PAGE - 1)) + X86_LARGE_PAGE;
        if (stop > end)
            stop = end;
        for (; va < stop; va += X86_PAGE)
            ptab[IDX(va, 0)] = bits ? (va | bits) : 0;
    }
    return 0;
}

int x86_pt_map(struct x86_pt *pt, uint64_t pa, uint64_t len, enum x86_map_kind kind)
{
    if (len == 0)
        return 0;
    if (pa + len < pa)
        return -1;
    return set_range(pt, pa, pa + len, x86_pt_bits(kind));
}

int x86_pt_unmap(struct x86_pt *pt, uint64_t va, uint64_t len)
{
    if (len == 0)
        return 0;
    if (va + len < va)
        return -1;
    return set_range(pt, va, va + len, 0);
}

uint64_t x86_pt_lookup(const struct x86_pt *pt, uint64_t va, uint64_t *pa)
{
    if (va >= (1ull << 47))
        return 0;
    const uint64_t *t = table_at(pt, pt->pml4_phys);
    for (int level = 3; level >= 0; level--) {
        uint64_t e = t[IDX(va, level)];
        if (!(e & X86_PTE_P))
            return 0;
        if (level == 0 || (level == 1 && (e & X86_PTE_PS))) {
            uint64_t size = level == 0 ? X86_PAGE : X86_LARGE_PAGE;
            if (pa)
                *pa = (e & X86_PTE_ADDR & ~(size - 1)) + (va & (size - 1));
            return e & ~X86_PTE_ADDR;
        }
        t = table_at(pt, e & X86_PTE_ADDR);
    }
    return 0;
}

int x86_pt_user_range(const struct x86_pt *pt, uint64_t va, uint64_t len, int write)
{
    if (len == 0)
        return 1;
    if (va + len < va)
        return 0;
    uint64_t need = X86_PTE_P | X86_PTE_U | (write ? X86_PTE_W : 0), end = va + len;
    for (uint64_t p = va; p < end;) {
        uint64_t bits = x86_pt_lookup(pt, p, NULL);
        if ((bits & need) != need)
            return 0;
        uint64_t size = bits & X86_PTE_PS ? X86_LARGE_PAGE : X86_PAGE;
        uint64_t next = (p & ~(size - 1)) + size;
        if (next < p) /* the last page of the address space */
            return 1;
        p = next;
    }
    return 1;
}
