/* tests/unit/x86_64/test_clockmath.c: TSC tick <-> ns scaling, pvclock rates, RTC dates. */
#include <criterion/criterion.h>

#include "clockmath.h"

static const uint64_t rates[] = { 1000000ull,    999999937ull,  1000000000ull,  2445426000ull,
                                  3999999999ull, 5000000000ull, 100000000000ull };

static long double ns_exact(uint64_t ticks, uint64_t hz)
{
    return (long double)ticks * 1e9L / (long double)hz;
}

Test(clockmath, ticks_to_ns_is_within_a_nanosecond_per_second)
{
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        uint64_t hz = rates[r];
        struct x86_scale sc = x86_scale_make(1000000000ull, hz);
        const uint64_t ticks[] = { 0, 1, hz / 1000, hz, 3600 * hz, 86400ull * 365 * hz / 100 };
        for (size_t i = 0; i < sizeof ticks / sizeof *ticks; i++) {
            long double want = ns_exact(ticks[i], hz),
                        got = (long double)x86_scale_apply(ticks[i], sc);
            long double slack = 1 + want / 1e12L; /* a ns of rounding, a ns per 1000 s of span */
            cr_assert(got <= want && got >= want - slack, "hz %llu ticks %llu: %Lf vs %Lf",
                      (unsigned long long)hz, (unsigned long long)ticks[i], got, want);
        }
    }
}

Test(clockmath, ns_to_ticks_round_trips)
{
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        uint64_t hz = rates[r];
        struct x86_scale to_ticks = x86_scale_make(hz, 1000000000ull);
        struct x86_scale to_ns = x86_scale_make(1000000000ull, hz);
        const uint64_t ns[] = { 1000, 1000000, 1000000000ull, 3600ull * 1000000000ull };
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
            uint64_t back = x86_scale_apply(x86_scale_apply(ns[i], to_ticks), to_ns);
            uint64_t err = back > ns[i] ? back - ns[i] : ns[i] - back;
            uint64_t allowed = 1000000000ull / hz + 2; /* a tick of resolution */
            cr_assert_leq(err, allowed, "hz %llu ns %llu -> %llu", (unsigned long long)hz,
                          (unsigned long long)ns[i], (unsigned long long)back);
        }
    }
}

Test(clockmath, huge_spans_do_not_overflow)
{
    struct x86_scale us = x86_scale_make(1000000000ull, 1000000); /* 1000 ns per tick */
    cr_assert_eq(x86_scale_apply(1ull << 40, us), (1ull << 40) * 1000);
    struct x86_scale one = x86_scale_make(7, 7);
    cr_assert_eq(x86_scale_apply(UINT64_MAX, one), UINT64_MAX);
    cr_assert_eq(x86_scale_apply(12345, one), 12345);
    cr_assert(one.mul >> 63, "the multiplier uses all its bits");
    struct x86_scale none = x86_scale_make(5, 0);
    cr_assert_eq(x86_scale_apply(10, none), 0, "a zero rate scales to zero, never divides by zero");
}

Test(clockmath, pvclock_pairs_give_the_rate)
{
    /* KVM describes a rate as ns = ((ticks << shift) * mul) >> 32, mul < 2^32 */
    const uint64_t hz = 2445426000ull;
    for (int shift = -1; shift <= 1; shift++) { /* the shifts that keep mul below 2^32 */
        uint64_t scaled = shift >= 0 ? hz << shift : hz >> -shift;
        uint32_t mul = (uint32_t)((1000000000ull << 32) / scaled);
        uint64_t got = x86_pvclock_hz(mul, (int8_t)shift);
        uint64_t err = got > hz ? got - hz : hz - got;
        cr_assert_leq(err, hz / 1000000, "shift %d: %llu", shift, (unsigned long long)got);
        /* and the pvclock formula turns a second of ticks into ~1e9 ns */
        uint64_t ns = x86_pvclock_scale(hz, mul, (int8_t)shift);
        cr_assert(ns > 999990000 && ns < 1000010000, "shift %d: %llu ns", shift,
                  (unsigned long long)ns);
    }
    cr_assert_eq(x86_pvclock_hz(0, 0), 0, "a zero multiplier means no clock");
}

Test(clockmath, days_from_civil)
{
    cr_assert_eq(x86_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(x86_days_from_civil(1969, 12, 31), -1);
    cr_assert_eq(x86_days_from_civil(2000, 3, 1), 11017);
    cr_assert_eq(x86_days_from_civil(2024, 2, 29), 19782);
    cr_assert_eq(x86_days_from_civil(2024, 3, 1), 19783);
    cr_assert_eq(x86_days_from_civil(2038, 1, 19), 24855);
    cr_assert_eq(x86_days_from_civil(2100, 3, 1) - x86_days_from_civil(2100, 2, 28), 1,
                 "2100 is not a leap year");
}

/* ---- what the host controls: shifts, multipliers, versions ---- */

Test(clockmath, pvclock_shifts_of_64_or_more_give_no_rate_and_shift_everything_out)
{
    const int8_t shifts[] = { 64, 100, 127, -64, -100, -128 };
    for (unsigned i = 0; i < sizeof shifts; i++) {
        cr_assert_eq(x86_pvclock_hz(0x80000000u, shifts[i]), 0, "shift %d", shifts[i]);
        cr_assert_eq(x86_pvclock_scale(123456789, 0xffffffffu, shifts[i]), 0, "shift %d",
                     shifts[i]);
    }
    cr_assert_eq(x86_pvclock_scale(1ull << 32, 1u << 31, 31), 1ull << 62, "63 is still a shift");
    cr_assert_eq(x86_pvclock_scale(1ull << 63, 1u << 31, -63), 0, "1 >> 32 after the multiply");
}

Test(clockmath, pvclock_rates_that_do_not_fit_64_bits_are_no_rate)
{
    /* mul 1: 1e9 * 2^32 Hz, and a left shift of 3 pushes that past 2^64 */
    cr_assert_eq(x86_pvclock_hz(1, -3), 0);
    cr_assert_eq(x86_pvclock_hz(1, -63), 0);
    cr_assert_neq(x86_pvclock_hz(1, -1), 0, "2^63 Hz fits (and is then refused as absurd)");
    cr_assert(!x86_tsc_hz_ok(x86_pvclock_hz(1, -1)));
    cr_assert(!x86_tsc_hz_ok(x86_pvclock_hz(0xffffffffu, 20)), "about 1 kHz");
    cr_assert(x86_tsc_hz_ok(x86_pvclock_hz(0x68db8bad, 1)), "QEMU/KVM's 2.45 GHz pair");
}

Test(clockmath, pvclock_reads_give_up_on_an_update_that_never_ends, .timeout = 10)
{
    struct x86_pvclock p = { .version = 3, .mul = 1000, .shift = 1 };
    struct x86_pvclock_snap s;
    cr_assert_eq(x86_pvclock_read(&p, &s), -1, "an odd version forever");
    p.version = 4;
    cr_assert_eq(x86_pvclock_read(&p, &s), 0);
    cr_assert_eq(s.mul, 1000);
    cr_assert_eq(s.shift, 1);
}
