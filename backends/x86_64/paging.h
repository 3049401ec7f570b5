/* backends/x86_64/paging.h: building 4-level x86_64 page tables (pure logic, unit-tested on the
 * host). */
#ifndef MIRC_X86_PAGING_H
#define MIRC_X86_PAGING_H

/*
 * The tables are built into a caller-owned pool of 4 KiB pages, so the same
 * code runs in the guest (pool right after the image, identity-mapped) and
 * in a host unit test (pool from aligned_alloc, with `pool_phys` a made-up
 * physical address). Nothing here touches CR3; the caller loads
 * x86_pt.pml4_phys.
 *
 * Mappings use 2 MiB pages where the range and alignment allow and 4 KiB
 * pages elsewhere. Every kind but X86_MAP_KERNEL is reachable from ring 3,
 * where the application runs. Mapping over an existing 2 MiB page splits it (keeping
 * its attributes for the rest); unmapping does the same. Addresses must be
 * below 2^48 and page aligned.
 */

#include <stddef.h>
#include <stdint.h>

#define X86_PAGE       4096ull
#define X86_LARGE_PAGE (2ull << 20)

/* Attributes of a mapping (x86 PTE bits, as the CPU reads them). */
#define X86_PTE_P    (1ull << 0)
#define X86_PTE_W    (1ull << 1)
#define X86_PTE_U    (1ull << 2)
#define X86_PTE_PWT  (1ull << 3)
#define X86_PTE_PCD  (1ull << 4)
#define X86_PTE_PS   (1ull << 7)
#define X86_PTE_NX   (1ull << 63)
#define X86_PTE_ADDR 0x000ffffffffff000ull

/* What a region is for; each maps to the PTE bits W^X requires. */
enum x86_map_kind {
    X86_MAP_TEXT,   /* read + execute */
    X86_MAP_RODATA, /* read only */
    X86_MAP_DATA,   /* read + write, no execute */
    X86_MAP_MMIO,   /* read + write, no execute, uncached */
    X86_MAP_KERNEL, /* read + write, no execute, ring 0 only (page tables, IDT, kernel stacks) */
};

struct x86_pt {
    uint8_t *pool;      /* virtual address of the pool */
    uint64_t pool_phys; /* its physical address (== pool in the guest) */
    size_t pool_pages;  /* capacity */
    size_t used;        /* pages handed out; the PML4 is page 0 */
    uint64_t pml4_phys;
};

/* Starts empty tables in `pool` (4 KiB aligned). Returns 0, or -1 if the pool is too small. */
int x86_pt_init(struct x86_pt *pt, void *pool, uint64_t pool_phys, size_t pool_pages);

/* Identity-maps [pa, pa + len) as `kind`. Returns 0, or -1 (pool exhausted or bad range). */
int x86_pt_map(struct x86_pt *pt, uint64_t pa, uint64_t len, enum x86_map_kind kind);

/* Removes [va, va + len) from the tables. Returns 0 or -1 (pool exhausted or bad range). */
int x86_pt_unmap(struct x86_pt *pt, uint64_t va, uint64_t len);

/*
 * Looks up va: returns its leaf entry's attribute bits (X86_PTE_*, without
 * the address) and stores the mapped physical address, or returns 0 when va
 * is not mapped.
 */
uint64_t x86_pt_lookup(const struct x86_pt *pt, uint64_t va, uint64_t *pa);

/*
 * Whether every page of [va, va + len) is present and reachable from ring 3
 * (and writable, if `write`) in these tables: the gate's user-pointer check.
 * len 0 asks about nothing and is accepted; a range that wraps is not.
 */
int x86_pt_user_range(const struct x86_pt *pt, uint64_t va, uint64_t len, int write);

/* The PTE bits for a kind (a leaf entry, before PS). */
uint64_t x86_pt_bits(enum x86_map_kind kind);

#endif
