/* tests/unit/x86_64/test_fault.c: fault reports and backtraces, as printed when a guest crashes. */
#include <criterion/criterion.h>
#include <string.h>

#include "trap.h"

static struct x86_fault layout(uint64_t vector, uint64_t error, uint64_t cr2)
{
    return (struct x86_fault){
        .vector = vector,
        .error = error,
        .rip = 0x101234,
        .rsp = 0x150000,
        .rbp = 0x150010,
        .rflags = 0x10002,
        .cr2 = cr2,
        .stack_guard = 0x14f000,
        .stack_bottom = 0x150000,
        .stack_top = 0x190000,
        .text_start = 0x100000,
        .text_end = 0x107000,
        .rodata_end = 0x109000,
        .trace = { 0x101234, 0x100abc },
        .ntrace = 2,
    };
}

static char out[2048];

static const char *report(struct x86_fault f)
{
    size_t n = x86_fault_format(out, sizeof out, &f);
    cr_assert_eq(n, strlen(out));
    return out;
}

Test(fault, null_write_names_the_fault_and_the_address)
{
    const char *r = report(layout(14, 0x6, 0x0)); /* user write, not present */
    cr_assert(strstr(r, "#PF (page fault) at rip 0x101234"), "%s", r);
    cr_assert(strstr(r, "write to unmapped address 0x0 (NULL pointer dereference"), "%s", r);
    cr_assert(strstr(r, "backtrace: 0x101234 0x100abc"), "%s", r);
}

Test(fault, null_read_and_zero_page_offsets)
{
    cr_assert(strstr(report(layout(14, 0x4, 0x10)), "read of unmapped address 0x10 (NULL pointer"));
    cr_assert(strstr(report(layout(14, 0x6, 0xfff)), "write to unmapped address 0xfff (NULL"));
    cr_assert_null(strstr(report(layout(14, 0x6, 0x1000)), "NULL"));
}

Test(fault, guard_page_hit_is_called_a_stack_overflow)
{
    cr_assert(strstr(report(layout(14, 0x6, 0x14fff8)), "stack overflow"), "%s", out);
}

Test(fault, rsp_in_the_guard_page_is_a_stack_overflow_when_cr2_says_nothing)
{
    struct x86_fault f = layout(14, 0x6, 0x0);
    f.rsp = 0x14ff10;
    cr_assert(strstr(report(f), "(stack overflow: the guard page below the stack holds rsp"), "%s",
              out);
    f.rsp = 0x150008;
    cr_assert(strstr(report(f), "(NULL pointer dereference"), "%s", out);
}

Test(fault, a_protection_fault_at_zero_is_an_unset_cr2_not_a_null_dereference)
{
    const char *r = report(layout(14, 0x7, 0x0)); /* present + write: the zero page is not */
    cr_assert(strstr(r, "write to a read-only page at 0x0 (cr2 was not set"), "%s", r);
    cr_assert_null(strstr(r, "NULL"), "%s", r);
}

Test(fault, writes_to_text_and_rodata_are_named)
{
    cr_assert(strstr(report(layout(14, 0x7, 0x100100)),
                     "write to a read-only page at 0x100100 (in .text"));
    cr_assert(strstr(report(layout(14, 0x7, 0x108000)),
                     "write to a read-only page at 0x108000 (in .rodata"));
}

Test(fault, executing_data_is_named)
{
    cr_assert(
        strstr(report(layout(14, 0x15, 0x160000)), "execute of a no-execute page at 0x160000"),
        "%s", out);
    cr_assert(
        strstr(report(layout(14, 0x14, 0xdead0000)), "execute at unmapped address 0xdead0000"));
}

Test(fault, other_vectors)
{
    cr_assert(strstr(report(layout(13, 0, 0)), "#GP (general protection fault)"));
    cr_assert(strstr(report(layout(0, 0, 0)), "#DE (divide error)"));
    cr_assert(strstr(report(layout(6, 0, 0)), "#UD (invalid opcode)"));
    cr_assert(strstr(report(layout(8, 0, 0)), "double fault"));
    cr_assert(strstr(report(layout(31, 0, 0)), "reserved exception"));
    cr_assert_null(strstr(report(layout(13, 0, 0)), "unmapped"), "no page-fault line for #GP");
}

Test(fault, small_buffers_are_truncated_and_terminated)
{
    struct x86_fault f = layout(14, 6, 0);
    char small[16];
    memset(small, 'x', sizeof small);
    size_t n = x86_fault_format(small, sizeof small, &f);
    cr_assert_eq(n, sizeof small - 1);
    cr_assert_eq(small[15], '\0');
    cr_assert_eq(strncmp(small, "mirc: CPU excep", 15), 0);
    char one[1] = { 'x' };
    cr_assert_eq(x86_fault_format(one, 1, &f), 0);
    cr_assert_eq(one[0], '\0');
    cr_assert_eq(x86_fault_format(NULL, 0, &f), 0);
}

/* A fake stack of frame records: {saved rbp, return address}. */
static uint64_t stack[64];

static uint64_t at(int i)
{
    return (uint64_t)(uintptr_t)&stack[i];
}

Test(backtrace, follows_the_chain_upwards)
{
    stack[4] = at(10), stack[5] = 0x1111;
    stack[10] = at(20), stack[11] = 0x2222;
    stack[20] = 0, stack[21] = 0x3333;
    uint64_t t[8];
    int n = x86_backtrace(at(4), at(0), at(64), t, 8);
    cr_assert_eq(n, 3);
    cr_assert_eq(t[0], 0x1111);
    cr_assert_eq(t[1], 0x2222);
    cr_assert_eq(t[2], 0x3333);
}

Test(backtrace, stops_at_loops_bounds_and_zero_returns)
{
    uint64_t t[8];
    stack[4] = at(4), stack[5] = 0x1111; /* points at itself */
    cr_assert_eq(x86_backtrace(at(4), at(0), at(64), t, 8), 1);
    stack[4] = at(2), stack[5] = 0x1111; /* goes down */
    cr_assert_eq(x86_backtrace(at(4), at(0), at(64), t, 8), 1);
    cr_assert_eq(x86_backtrace(at(4), at(6), at(64), t, 8), 0, "rbp below the stack");
    cr_assert_eq(x86_backtrace(at(63), at(0), at(64), t, 8), 0, "record runs past the top");
    cr_assert_eq(x86_backtrace(at(4) + 4, at(0), at(64), t, 8), 0, "misaligned");
    cr_assert_eq(x86_backtrace(0, at(0), at(64), t, 8), 0, "the chain's end");
    stack[4] = at(10), stack[5] = 0;
    cr_assert_eq(x86_backtrace(at(4), at(0), at(64), t, 8), 0, "zero return address");
}

Test(backtrace, respects_max)
{
    for (int i = 0; i < 30; i++)
        stack[2 * i] = at(2 * i + 2), stack[2 * i + 1] = 0x1000 + (uint64_t)i;
    uint64_t t[4];
    cr_assert_eq(x86_backtrace(at(0), at(0), at(64), t, 4), 4);
    cr_assert_eq(t[3], 0x1003);
}

Test(backtrace, trace_lines_name_addresses)
{
    uint64_t t[2] = { 0x10abcd, 0x100010 };
    char buf[256];
    x86_format_trace(buf, sizeof buf, t, 2);
    cr_assert(strstr(buf, "backtrace: 0x10abcd 0x100010\n"), "%s", buf);
    cr_assert(strstr(buf, "addr2line"));
    x86_format_trace(buf, sizeof buf, t, 0);
    cr_assert_str_empty(buf);
}
