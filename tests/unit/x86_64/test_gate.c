/* tests/unit/x86_64/test_gate.c: what the ring-3 gate allows, and the user-pointer check. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "paging.h"
#include "trap.h"
#include "x86.h"

#define POOL_PAGES 64
#define POOL_PHYS  0x40000000ull
#define MB         (1ull << 20)
/* A guest like the real one: image at 1 MiB, a ring-0 page inside it, RAM after, MMIO window. */
#define TEXT   (1 * MB)
#define DATA   (1 * MB + 0x8000)
#define KERNEL (1 * MB + 0x10000)
#define RAM    (4 * MB)
#define LAPIC  0xfee00000ull

static struct x86_pt pt;
static void *pool;

static int user_access(uint64_t va, uint64_t len, int write)
{
    return x86_pt_user_range(&pt, va, len, write);
}

static void setup(void)
{
    pool = aligned_alloc(X86_PAGE, POOL_PAGES * X86_PAGE);
    cr_assert(pool);
    cr_assert_eq(x86_pt_init(&pt, pool, POOL_PHYS, POOL_PAGES), 0);
    cr_assert_eq(x86_pt_map(&pt, TEXT, 0x8000, X86_MAP_TEXT), 0);
    cr_assert_eq(x86_pt_map(&pt, DATA, 0x8000, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_map(&pt, KERNEL, 0x4000, X86_MAP_KERNEL), 0);
    cr_assert_eq(x86_pt_map(&pt, RAM, 60 * MB, X86_MAP_DATA), 0);
    cr_assert_eq(x86_pt_map(&pt, LAPIC, 0x1000, X86_MAP_MMIO), 0);
}

static void teardown(void)
{
    free(pool);
}

TestSuite(gate, .init = setup, .fini = teardown);

/* ---- the user-pointer check (paging.c) ---- */

Test(gate, user_range_accepts_user_data_and_refuses_ring0_pages)
{
    cr_assert(user_access(DATA, 0x8000, 1));
    cr_assert(user_access(RAM + 5 * MB + 17, 3 * MB, 1), "across 2 MiB pages");
    cr_assert_not(user_access(KERNEL, 1, 0), "a ring-0 page is not user-readable");
    cr_assert_not(user_access(DATA + 0x7ff0, 0x20, 0), "runs from user data into the ring-0 page");
    cr_assert_not(user_access(KERNEL - 1, 2, 1));
}

Test(gate, user_range_tells_reading_from_writing)
{
    cr_assert(user_access(TEXT, 16, 0));
    cr_assert_not(user_access(TEXT, 16, 1), ".text is not user-writable");
}

Test(gate, user_range_refuses_unmapped_wrapping_and_accepts_empty)
{
    cr_assert_not(user_access(0, 16, 0), "page 0 is unmapped");
    cr_assert_not(user_access(RAM + 60 * MB - 8, 16, 0), "ends past the mapped RAM");
    cr_assert_not(user_access(UINT64_MAX - 4, 16, 0), "wraps around");
    cr_assert_not(user_access(1ull << 47, 1, 0), "non-canonical");
    cr_assert(user_access(KERNEL, 0, 1), "an empty range asks about nothing");
}

/* ---- MSRs ---- */

Test(gate, msrs_off_the_allowlist_are_refused_both_ways)
{
    static const uint64_t bad[] = { 0xc0000080, 0xc0000081, 0xc0000082,         0x174,
                                    0x830,      0x10,       0x1b + (1ull << 32) };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert(x86_gate_check_msr(user_access, bad[i], 1, 0), "write 0x%llx",
                  (unsigned long long)bad[i]);
        cr_assert(x86_gate_check_msr(user_access, bad[i], 0, 0), "read 0x%llx",
                  (unsigned long long)bad[i]);
    }
}

Test(gate, the_msrs_mirc_uses_are_allowed_for_the_access_it_makes)
{
    cr_assert_null(x86_gate_check_msr(user_access, 0x6e0, 1, 12345));        /* TSC deadline */
    cr_assert_null(x86_gate_check_msr(user_access, 0x80b, 1, 0));            /* x2APIC EOI */
    cr_assert_null(x86_gate_check_msr(user_access, 0x839, 0, 0));            /* timer current */
    cr_assert_null(x86_gate_check_msr(user_access, 0x1b, 0, 0));             /* APIC base */
    cr_assert_null(x86_gate_check_msr(user_access, 0x1b, 1, LAPIC | 0xd00)); /* x2APIC on */
    cr_assert_str_eq(x86_gate_check_msr(user_access, 0x839, 1, 0),
                     "the gate allows this MSR for reading only");
    cr_assert_str_eq(x86_gate_check_msr(user_access, 0x6e0, 0, 0),
                     "the gate allows this MSR for writing only");
}

Test(gate, the_local_apic_may_not_move)
{
    cr_assert(x86_gate_check_msr(user_access, 0x1b, 1, TEXT | 0x900));
    cr_assert(x86_gate_check_msr(user_access, 0x1b, 1, LAPIC | 0x900 | (1ull << 40)));
    cr_assert(x86_gate_check_msr(user_access, 0x1b, 1, LAPIC | 0x1));
}

Test(gate, kvmclock_must_point_at_user_writable_memory)
{
    const uint64_t sys = 0x4b564d01, wall = 0x4b564d00;
    cr_assert_null(x86_gate_check_msr(user_access, sys, 1, DATA | 1));
    cr_assert_null(x86_gate_check_msr(user_access, sys, 1, 0), "0 turns it off");
    cr_assert_null(x86_gate_check_msr(user_access, wall, 1, RAM + 64));
    cr_assert(x86_gate_check_msr(user_access, sys, 1, KERNEL | 1), "onto a ring-0 page");
    cr_assert(x86_gate_check_msr(user_access, sys, 1, (DATA + 0x7ff0) | 1),
              "32 bytes that run into the ring-0 page");
    cr_assert(x86_gate_check_msr(user_access, wall, 1, TEXT), "onto .text");
    cr_assert(x86_gate_check_msr(user_access, wall, 1, POOL_PHYS), "onto the page tables");
}

/* ---- MAP, port I/O, buffers, interrupts ---- */

Test(gate, map_refuses_empty_huge_page0_and_the_image)
{
    const uint64_t lo = TEXT, hi = KERNEL + 0x4000;
    cr_assert_null(x86_gate_check_map(LAPIC, 4096, lo, hi));
    cr_assert_null(x86_gate_check_map(0xfebff000, 0x1000, lo, hi));
    cr_assert(x86_gate_check_map(LAPIC, 0, lo, hi));
    cr_assert(x86_gate_check_map((1ull << 39) - 4096, 8192, lo, hi));
    cr_assert(x86_gate_check_map(UINT64_MAX - 10, 100, lo, hi));
    cr_assert(x86_gate_check_map(0xfff, 1, lo, hi), "page 0, even its last byte");
    cr_assert(x86_gate_check_map(TEXT + 0x123, 1, lo, hi));
    cr_assert(x86_gate_check_map(TEXT - 4096, 4097, lo, hi), "one byte into the image");
    cr_assert(x86_gate_check_map(hi - 1, 1, lo, hi));
    cr_assert_null(x86_gate_check_map(hi, 4096, lo, hi), "right after it");
    cr_assert_null(x86_gate_check_map(TEXT - 4096, 4096, lo, hi), "right before it");
}

Test(gate, port_io_sizes_and_buffers)
{
    cr_assert_null(x86_gate_check_io(1));
    cr_assert_null(x86_gate_check_io(2));
    cr_assert_null(x86_gate_check_io(4));
    cr_assert(x86_gate_check_io(0));
    cr_assert(x86_gate_check_io(3));
    cr_assert(x86_gate_check_io(8));
    cr_assert_null(x86_gate_check_buffer(user_access, TEXT, 100), "read-only memory may be sent");
    cr_assert(x86_gate_check_buffer(user_access, KERNEL, 16));
    cr_assert(x86_gate_check_buffer(user_access, 0, 16));
    cr_assert(x86_gate_check_buffer(user_access, DATA, 0x8001), "one byte too many");
}

Test(gate, interrupt_acknowledgements_write_only_where_ring3_could)
{
    cr_assert_null(x86_gate_check_irq(user_access, 0x20, X86_IRQ_EOI_X2APIC, 0));
    cr_assert_null(x86_gate_check_irq(user_access, 0x30, X86_IRQ_ZERO32, LAPIC + 0xb0));
    cr_assert_null(x86_gate_check_irq(user_access, 0x40, X86_IRQ_ZERO8, DATA + 1));
    cr_assert_null(x86_gate_check_irq(user_access, 255, X86_IRQ_NOTE, 0));
    cr_assert(x86_gate_check_irq(user_access, 14, X86_IRQ_NOTE, 0), "an exception vector");
    cr_assert(x86_gate_check_irq(user_access, 256, X86_IRQ_NOTE, 0));
    cr_assert(x86_gate_check_irq(user_access, 0x40, X86_IRQ_ZERO8, KERNEL));
    cr_assert(x86_gate_check_irq(user_access, 0x40, X86_IRQ_ZERO32, TEXT), "read-only");
    cr_assert(x86_gate_check_irq(user_access, 0x40, X86_IRQ_ZERO32, DATA + 2), "misaligned");
    cr_assert(x86_gate_check_irq(user_access, 0x40, X86_IRQ_ACK_KINDS, DATA));
}

/* ---- the report of a refusal ---- */

Test(gate, a_refusal_names_the_operation_its_arguments_and_why)
{
    char out[512];
    uint64_t trace[] = { 0x101234, 0x105678 };
    size_t n = x86_refusal_format(out, sizeof out, X86_SYS_WRMSR, 0xc0000082, 0, 0,
                                  "not an MSR the gate allows", trace, 2);
    cr_assert_eq(n, strlen(out));
    cr_assert(strstr(out, "mirc: the gate refused WRMSR(0xc0000082, 0x0, 0x0): not an MSR the "
                          "gate allows\nmirc:   backtrace: 0x101234 0x105678\n"),
              "%s", out);
    x86_refusal_format(out, sizeof out, X86_SYS_TARGET + 36, 1, 2, 3, "why", trace, 0);
    cr_assert_str_eq(out, "mirc: the gate refused target op 36(0x1, 0x2, 0x3): why\n");
    x86_refusal_format(out, sizeof out, 57, 0, 0, 0, "why", trace, 0);
    cr_assert_str_eq(out, "mirc: the gate refused op 57(0x0, 0x0, 0x0): why\n");
}

Test(gate, a_user_access_to_a_ring0_page_is_named_so)
{
    char out[512];
    struct x86_fault f = { .vector = 14, .error = 7, .cr2 = KERNEL + 8, .cr2_pte = 0 };
    f.cr2_pte = x86_pt_lookup(&pt, KERNEL, NULL);
    x86_fault_format(out, sizeof out, &f);
    cr_assert(strstr(out, "write to a ring-0-only page at 0x110008 (the IDT"), "%s", out);
    f.error = 5;
    x86_fault_format(out, sizeof out, &f);
    cr_assert(strstr(out, "read of a ring-0-only page at "), "%s", out);
    f.error = 7;
    f.cr2 = TEXT;
    f.cr2_pte = x86_pt_lookup(&pt, TEXT, NULL);
    x86_fault_format(out, sizeof out, &f);
    cr_assert(strstr(out, "write to a read-only page at 0x100000"), "%s", out);
}
