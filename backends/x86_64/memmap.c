/* backends/x86_64/memmap.c: the PVH start info and memory map, read and checked; device windows
 * judged against them. */

/*
 * Runs in ring 3 before SSE is enabled (boot.c) and in ring 0 (the gate's
 * mappings), so it calls no C library function and copies field by field.
 */
#include "memmap.h"

#include <stddef.h>

#define PAGE       4096ull
#define SI_V0_SIZE offsetof(struct pvh_start_info, memmap_paddr) /* what version 0 has */

static const char *const NOT_PVH =
    "not started through the PVH boot ABI (no start info in %ebx); boot the image with QEMU "
    "-kernel or as a Xen PVH guest";

/* Overlap of [a, a + alen) and [b, b + blen), both non-wrapping. */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static const char *read_cmdline(uint64_t pa, x86_peek_fn peek, void *ctx, char *out)
{
    uint64_t n = X86_CMDLINE_MAX;
    const char *c = peek(ctx, pa, &n);
    if (!c)
        return "the boot command line lies outside the memory the image can read at boot";
    uint64_t i = 0;
    while (i < n && i < X86_CMDLINE_MAX - 1 && c[i]) {
        out[i] = c[i];
        i++;
    }
    out[i] = '\0';
    if (i < n && !c[i])
        return NULL;
    if (i == X86_CMDLINE_MAX - 1)
        return "the boot command line is longer than 8191 bytes";
    return "the boot command line runs past the memory the image can read at boot (no NUL)";
}

const char *x86_memmap_add(struct x86_memmap *m, const struct pvh_memmap_entry *e)
{
    uint64_t lo = e->addr, size = e->size;
    if (lo + size < lo)
        return "the PVH memory map has an entry that wraps past the end of the address space";
    if (size == 0 || lo >= X86_PHYS_LIMIT)
        return NULL; /* nothing the image can use or map */
    if (lo + size > X86_PHYS_LIMIT)
        size = X86_PHYS_LIMIT - lo;
    if (e->type == PVH_MEM_RAM && overlaps(lo, size, X86_DEV_LOW, X86_DEV_HIGH - X86_DEV_LOW))
        return "the PVH memory map puts RAM in the device window 0xfe000000-0xffffffff";
    if (m->n == X86_MEMMAP_MAX)
        return "the PVH memory map has more than 64 usable entries";
    struct pvh_memmap_entry *d = &m->e[m->n++];
    d->addr = lo;
    d->size = size;
    d->type = e->type;
    d->reserved = 0;
    return NULL;
}

static const char *read_memmap(uint64_t pa, uint32_t count, x86_peek_fn peek, void *ctx,
                               struct x86_memmap *m)
{
    if (count == 0)
        return NULL;
    if (count > X86_MEMMAP_MAX)
        return "the PVH memory map has more than 64 entries";
    uint64_t want = (uint64_t)count * sizeof(struct pvh_memmap_entry), n = want;
    const struct pvh_memmap_entry *e = peek(ctx, pa, &n);
    if (!e || n < want)
        return "the PVH memory map lies outside the memory the image can read at boot";
    for (uint32_t i = 0; i < count; i++) {
        struct pvh_memmap_entry copy = { e[i].addr, e[i].size, e[i].type, 0 };
        const char *why = x86_memmap_add(m, &copy);
        if (why)
            return why;
    }
    return NULL;
}

const char *x86_start_read(uint64_t si_pa, x86_peek_fn peek, void *ctx, struct x86_start *out)
{
    out->rsdp = 0;
    out->cmdline[0] = '\0';
    out->map.n = 0;
    uint64_t n = sizeof(struct pvh_start_info);
    const struct pvh_start_info *si = si_pa ? peek(ctx, si_pa, &n) : NULL;
    if (!si || n < SI_V0_SIZE || si->magic != PVH_START_MAGIC)
        return NOT_PVH;
    int v1 = si->version >= 1;
    if (v1 && n < sizeof *si)
        return "the PVH start info runs past the memory the image can read at boot";
    out->rsdp = si->rsdp_paddr;
    const char *why = NULL;
    if (si->cmdline_paddr)
        why = read_cmdline(si->cmdline_paddr, peek, ctx, out->cmdline);
    if (!why && v1 && si->memmap_paddr)
        why = read_memmap(si->memmap_paddr, si->memmap_entries, peek, ctx, &out->map);
    return why;
}

const struct pvh_memmap_entry *x86_memmap_ram_holding(const struct x86_memmap *m, uint64_t lo,
                                                      uint64_t hi)
{
    for (unsigned i = 0; i < m->n; i++) {
        const struct pvh_memmap_entry *e = &m->e[i];
        if (e->type == PVH_MEM_RAM && e->addr <= lo && e->addr + e->size >= hi)
            return e;
    }
    return NULL;
}

const char *x86_memmap_window_check(const struct x86_memmap *m, uint64_t image_lo,
                                    uint64_t image_hi, uint64_t pa, uint64_t len)
{
    if (len == 0)
        return "an empty window";
    if (pa + len < pa || pa + len > X86_PHYS_LIMIT)
        return "the window reaches past 512 GiB, beyond what the image maps";
    if (pa < X86_LOW_MEM_END)
        return "the window overlaps the first MiB (BIOS data, start info, ACPI root)";
    if (overlaps(pa, len, image_lo, image_hi - image_lo))
        return "the window overlaps the image or its page tables";
    for (unsigned i = 0; i < m->n; i++)
        if (m->e[i].type == PVH_MEM_RAM && overlaps(pa, len, m->e[i].addr, m->e[i].size))
            return "the window overlaps RAM (per the PVH memory map)";
    return NULL;
}

int x86_memmap_readable(const struct x86_memmap *m, uint64_t image_lo, uint64_t image_hi,
                        uint64_t pa, uint64_t len)
{
    uint64_t end = pa + len;
    if (len == 0 || end < pa || pa < PAGE || overlaps(pa, len, image_lo, image_hi - image_lo))
        return 0;
    uint64_t cur = pa < X86_LOW_MEM_END ? X86_LOW_MEM_END : pa;
    while (cur < end) { /* covered by RAM and ACPI entries, maybe several in a row */
        uint64_t next = cur;
        for (unsigned i = 0; i < m->n; i++) {
            const struct pvh_memmap_entry *e = &m->e[i];
            /* boot.c maps the whole pages inside each entry */
            uint64_t lo = (e->addr + PAGE - 1) & ~(PAGE - 1),
                     hi = (e->addr + e->size) & ~(PAGE - 1);
            if ((e->type == PVH_MEM_RAM || e->type == PVH_MEM_ACPI) && lo <= cur && hi > next)
                next = hi;
        }
        if (next == cur)
            return 0;
        cur = next;
    }
    return 1;
}
