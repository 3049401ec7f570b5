/* tests/unit/x86_64/test_paging.c: the W^X page tables the kvm and xen images boot with. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "paging.h"

#define POOL_PAGES 64
#define POOL_PHYS  0x40000000ull /* where the "guest" thinks the pool is */
#define MB         (1ull << 20)

static struct x86_pt pt;
static void *pool;

static void setup(void)
{
    pool = aligned_alloc(X86_PAGE, POOL_PAGES * X86_PAGE);
    cr_assert(pool);
    cr_assert_eq(x86_pt_init(&pt, pool, POOL_PHYS, POOL_PAGES), 0);
}

static void teardown(void)
{
    free(pool);
}

TestSuite(paging, .init = setup, .fini = teardown);

/* The bits of va's leaf, without PS and the accessed/dirty bits. */
static uint64_t attrs(uint64_t va)
{
    return x86_pt_lookup(&pt, va, NULL) & ~X86_PTE_PS;
}

Test(paging, each_kind_gets_its_wx_bits)
{
    cr_assert_eq(x86_pt_map(&pt, 1 * MB, 0x4000, X86_MAP_TEXT), 0);
    cr_assert_eq(x86_pt_map(&pt, 1 * MB + 0x4000, 0x1000, X86_MAP_RODATA), 0);
    cr_assert_eq(x86_pt_map(&pt, 1 * MB + 0x5000, 0x3000, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_map(&pt, 1 * MB + 0x8000, 0x1000, X86_MAP_KERNEL), 0);
    cr_assert_eq(x86_pt_map(&pt, 0xfee00000, 0x1000, X86_MAP_MMIO), 0);

    cr_assert_eq(attrs(1 * MB), X86_PTE_P | X86_PTE_U, "text: read + execute");
    cr_assert_eq(attrs(1 * MB + 0x3fff), X86_PTE_P | X86_PTE_U);
    cr_assert_eq(attrs(1 * MB + 0x4000), X86_PTE_P | X86_PTE_U | X86_PTE_NX, "rodata: read only");
    cr_assert_eq(attrs(1 * MB + 0x5000), X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX, "data");
    cr_assert_eq(attrs(1 * MB + 0x8000), X86_PTE_P | X86_PTE_W | X86_PTE_NX, "kernel: no ring 3");
    cr_assert_eq(attrs(0xfee00000),
                 X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX | X86_PTE_PCD | X86_PTE_PWT,
                 "mmio: uncached");
    cr_assert_eq(x86_pt_lookup(&pt, 1 * MB + 0x9000, NULL), 0, "past the last mapping");
}

Test(paging, lookup_returns_the_identity_address)
{
    uint64_t pa = 0;
    cr_assert_eq(x86_pt_map(&pt, 0x200000, 0x400000, X86_MAP_DATA), 0);
    cr_assert_neq(x86_pt_lookup(&pt, 0x2345678 - 0x2000000 + 0x200000, &pa), 0);
    cr_assert_eq(pa, 0x545678);
    cr_assert_eq(x86_pt_map(&pt, 0x1000, 0x1000, X86_MAP_DATA), 0);
    cr_assert_neq(x86_pt_lookup(&pt, 0x1abc, &pa), 0);
    cr_assert_eq(pa, 0x1abc);
}

Test(paging, aligned_ranges_use_large_pages)
{
    size_t before = pt.used;
    cr_assert_eq(x86_pt_map(&pt, 64 * MB, 64 * MB, X86_MAP_DATA), 0);
    cr_assert(x86_pt_lookup(&pt, 64 * MB, NULL) & X86_PTE_PS);
    cr_assert(x86_pt_lookup(&pt, 128 * MB - 1, NULL) & X86_PTE_PS);
    /* one PDPT and one PD for 64 MiB of 2 MiB pages, no page tables */
    cr_assert_eq(pt.used - before, 2);
}

Test(paging, unaligned_edges_use_small_pages)
{
    cr_assert_eq(x86_pt_map(&pt, 2 * MB - 0x1000, 2 * MB + 0x2000, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_lookup(&pt, 2 * MB - 0x1000, NULL) & X86_PTE_PS, 0);
    cr_assert(x86_pt_lookup(&pt, 2 * MB, NULL) & X86_PTE_PS);
    /* the range ends at 4 MiB + 4 KiB */
    cr_assert_eq(x86_pt_lookup(&pt, 4 * MB, NULL) & (X86_PTE_PS | X86_PTE_P), X86_PTE_P);
    cr_assert_eq(x86_pt_lookup(&pt, 4 * MB + 0x1000, NULL), 0);
    cr_assert_eq(x86_pt_lookup(&pt, 2 * MB - 0x2000, NULL), 0);
}

Test(paging, unmapping_inside_a_large_page_splits_it)
{
    cr_assert_eq(x86_pt_map(&pt, 0, 4 * MB, X86_MAP_DATA), 0);
    cr_assert(x86_pt_lookup(&pt, 0, NULL) & X86_PTE_PS);
    cr_assert_eq(x86_pt_unmap(&pt, 0, X86_PAGE), 0);
    cr_assert_eq(x86_pt_lookup(&pt, 0, NULL), 0, "the zero page is gone");
    cr_assert_eq(x86_pt_lookup(&pt, 0xfff, NULL), 0);
    for (uint64_t va = X86_PAGE; va < 2 * MB; va += X86_PAGE)
        cr_assert_eq(attrs(va), X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX, "page %#llx kept",
                     (unsigned long long)va);
    cr_assert(x86_pt_lookup(&pt, 2 * MB, NULL) & X86_PTE_PS, "the next large page is untouched");
}

Test(paging, remapping_part_of_a_large_page_keeps_the_rest)
{
    cr_assert_eq(x86_pt_map(&pt, 0, 2 * MB, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_map(&pt, 1 * MB, 0x2000, X86_MAP_TEXT), 0);
    cr_assert_eq(attrs(1 * MB), X86_PTE_P | X86_PTE_U);
    cr_assert_eq(attrs(1 * MB + 0x1000), X86_PTE_P | X86_PTE_U);
    cr_assert_eq(attrs(1 * MB + 0x2000), X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX);
    cr_assert_eq(attrs(1 * MB - 0x1000), X86_PTE_P | X86_PTE_U | X86_PTE_W | X86_PTE_NX);
}

Test(paging, unmapping_what_was_never_mapped_is_harmless)
{
    size_t before = pt.used;
    cr_assert_eq(x86_pt_unmap(&pt, 5ull << 39, 3ull << 30), 0);
    cr_assert_eq(x86_pt_unmap(&pt, 0x1000, 0x1000), 0);
    cr_assert_eq(pt.used, before, "no tables created to unmap nothing");
}

/* The layout boot.c builds, checked page by page for W^X and the holes. */
Test(paging, boot_layout_is_wx_with_holes_where_they_belong)
{
    const uint64_t text = 1 * MB, rodata = 1 * MB + 0x7000, data = 1 * MB + 0x9000;
    const uint64_t guard = 1 * MB + 0x20000, end = 1 * MB + 0x60000, ram_end = 64 * MB;
    cr_assert_eq(x86_pt_map(&pt, 0, 1 * MB, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_map(&pt, 1 * MB, ram_end - 1 * MB, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_map(&pt, text, rodata - text, X86_MAP_TEXT), 0);
    cr_assert_eq(x86_pt_map(&pt, rodata, data - rodata, X86_MAP_RODATA), 0);
    cr_assert_eq(x86_pt_map(&pt, data, end - data, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_unmap(&pt, 0, X86_PAGE), 0);
    cr_assert_eq(x86_pt_unmap(&pt, guard, X86_PAGE), 0);
    cr_assert_eq(x86_pt_map(&pt, 0xfe000000, 32 * MB, X86_MAP_MMIO), 0);

    for (uint64_t va = 0; va < ram_end; va += X86_PAGE) {
        uint64_t a = x86_pt_lookup(&pt, va, NULL);
        if (va == 0 || va == guard) {
            cr_assert_eq(a, 0, "%#llx must be unmapped", (unsigned long long)va);
            continue;
        }
        cr_assert(a & X86_PTE_P, "%#llx must be mapped", (unsigned long long)va);
        cr_assert((a & X86_PTE_NX) || !(a & X86_PTE_W), "%#llx is writable and executable",
                  (unsigned long long)va);
        int in_text = va >= text && va < rodata;
        cr_assert_eq(!(a & X86_PTE_NX), in_text, "%#llx: only .text executes",
                     (unsigned long long)va);
        cr_assert_eq(!(a & X86_PTE_W), va >= text && va < data,
                     "%#llx: only .text and .rodata are read-only", (unsigned long long)va);
    }
    cr_assert_eq(x86_pt_lookup(&pt, ram_end, NULL), 0, "nothing between RAM and the device window");
    cr_assert_eq(x86_pt_lookup(&pt, 0xdead0000000ull, NULL), 0);
    cr_assert(x86_pt_lookup(&pt, 0xfec00000, NULL) & X86_PTE_PCD);
}

Test(paging, bad_ranges_are_refused)
{
    cr_assert_eq(x86_pt_map(&pt, 0x1001, 0x1000, X86_MAP_DATA), -1, "unaligned start");
    cr_assert_eq(x86_pt_map(&pt, 0x1000, 0x800, X86_MAP_DATA), -1, "unaligned length");
    cr_assert_eq(x86_pt_map(&pt, 1ull << 47, 0x1000, X86_MAP_DATA), -1, "beyond 48 bits");
    cr_assert_eq(x86_pt_map(&pt, UINT64_MAX & ~0xfffull, 0x2000, X86_MAP_DATA), -1, "wraps");
    cr_assert_eq(x86_pt_map(&pt, 0x1000, 0, X86_MAP_DATA), 0, "empty is fine");
    cr_assert_eq(x86_pt_lookup(&pt, 1ull << 47, NULL), 0);
}

Test(paging, an_exhausted_pool_fails_cleanly)
{
    /* every 4 KiB page in its own 1 GiB region needs a PD and a PT: two pages each */
    int failed = 0;
    for (uint64_t gb = 0; gb < 64 && !failed; gb++)
        failed = x86_pt_map(&pt, (gb << 30) + X86_PAGE, X86_PAGE, X86_MAP_DATA) != 0;
    cr_assert(failed, "a 64-page pool cannot hold 64 separate small mappings");
    cr_assert_eq(pt.used, pt.pool_pages);
}

Test(paging, init_refuses_unaligned_or_empty_pools)
{
    struct x86_pt p2;
    cr_assert_eq(x86_pt_init(&p2, (char *)pool + 8, POOL_PHYS, 4), -1);
    cr_assert_eq(x86_pt_init(&p2, pool, POOL_PHYS + 8, 4), -1);
    cr_assert_eq(x86_pt_init(&p2, pool, POOL_PHYS, 0), -1);
}
