/* tests/unit/x86_64/test_tsccal.c: the TSC rate from kvmclock/pvclock, CPUID and the PIT when the
 * host gives zero, absurd or stuck values. */
#include <criterion/criterion.h>
#include <string.h>

#include "clockmath.h"
#include "tsccal.h"

/* A simulated host: each source programmable, a TSC and a PIT driven by simulated time. */
static struct host {
    uint64_t pv;
    uint32_t leaf15[4], leaf40000010[4];
    int pit;              /* a PIT is there */
    uint64_t tsc_hz;      /* the TSC's real rate */
    uint64_t pit_hz;      /* how fast the PIT counts (X86_PIT_HZ when honest) */
    uint64_t ns_per_read; /* simulated time per PIT read */
    uint64_t now_ns;
    uint64_t pit_reads, tsc_reads;
} h;

static uint64_t pv_hz(void *ctx)
{
    (void)ctx;
    return h.pv;
}

static void cpuid(void *ctx, uint32_t leaf, uint32_t r[4])
{
    (void)ctx;
    memcpy(r, leaf == 0x15 ? h.leaf15 : h.leaf40000010, 16);
}

static void pit_start(void *ctx)
{
    (void)ctx;
}

static uint16_t pit_count(void *ctx)
{
    (void)ctx;
    h.pit_reads++;
    h.now_ns += h.ns_per_read;
    return (uint16_t)(0xffff - (uint64_t)((unsigned __int128)h.now_ns * h.pit_hz / 1000000000u));
}

static uint64_t rdtsc(void *ctx)
{
    (void)ctx;
    h.tsc_reads++;
    return (uint64_t)((unsigned __int128)h.now_ns * h.tsc_hz / 1000000000u);
}

static struct x86_tsc_sources src(void)
{
    return (struct x86_tsc_sources){ .pv_hz = pv_hz,
                                     .cpuid = cpuid,
                                     .max_leaf = 0x16,
                                     .max_hv_leaf = 0x40000010,
                                     .pit_start = h.pit ? pit_start : NULL,
                                     .pit_count = pit_count,
                                     .rdtsc = rdtsc };
}

static void setup(void)
{
    memset(&h, 0, sizeof h);
    h.pit = 1;
    h.tsc_hz = 2445426000ull;
    h.pit_hz = X86_PIT_HZ;
    h.ns_per_read = 2000;
}

TestSuite(tsccal, .init = setup);

Test(tsccal, each_source_in_turn_when_the_ones_before_are_absent)
{
    struct x86_tsc_sources s = src();
    const char *why = NULL;
    h.pv = 2000000000ull;
    cr_assert_eq(x86_tsc_calibrate(&s, &why), 2000000000ull, "kvmclock first");
    h.pv = 0;
    h.leaf15[0] = 2, h.leaf15[1] = 200, h.leaf15[2] = 25000000; /* 25 MHz x 100 */
    cr_assert_eq(x86_tsc_calibrate(&s, &why), 2500000000ull, "then CPUID 0x15");
    memset(h.leaf15, 0, sizeof h.leaf15);
    h.leaf40000010[0] = 3000000; /* kHz */
    cr_assert_eq(x86_tsc_calibrate(&s, &why), 3000000000ull, "then the hypervisor's leaf");
    memset(h.leaf40000010, 0, sizeof h.leaf40000010);
    uint64_t got = x86_tsc_calibrate(&s, &why);
    cr_assert(got > h.tsc_hz / 1000 * 999 && got < h.tsc_hz / 1000 * 1001, "then the PIT: %llu",
              (unsigned long long)got);
    cr_assert_null(why);
}

Test(tsccal, absurd_answers_fall_through_to_the_next_source)
{
    struct x86_tsc_sources s = src();
    const char *why = NULL;
    h.pv = 4294967296000000000ull;                                         /* kvmclock with mul 1 */
    h.leaf15[0] = 1, h.leaf15[1] = 0xffffffffu, h.leaf15[2] = 0xffffffffu; /* ~1.8e19 Hz */
    h.leaf40000010[0] = 1;                                                 /* 1 kHz */
    uint64_t got = x86_tsc_calibrate(&s, &why);
    cr_assert(got > h.tsc_hz / 1000 * 999 && got < h.tsc_hz / 1000 * 1001, "the PIT: %llu",
              (unsigned long long)got);
    h.leaf15[0] = 0; /* a zero denominator is no answer, not a division by zero */
    h.leaf15[1] = 5;
    got = x86_tsc_calibrate(&s, &why);
    cr_assert(x86_tsc_hz_ok(got));
}

Test(tsccal, no_pit_and_no_answer_is_an_error_not_a_guess)
{
    struct x86_tsc_sources s = src();
    h.pit = 0;
    s = src();
    const char *why = NULL;
    cr_assert_eq(x86_tsc_calibrate(&s, &why), 0);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "between 1 MHz and 100 GHz"), "%s", why);
}

Test(tsccal, a_pit_that_never_counts_ends_the_calibration, .timeout = 10)
{
    struct x86_tsc_sources s = src();
    h.pit_hz = 0;
    cr_assert_eq(x86_tsc_from_pit(&s), 0);
    cr_assert_lt(h.pit_reads, 100010, "gave up after %llu reads", (unsigned long long)h.pit_reads);
}

Test(tsccal, a_pit_that_counts_absurdly_slowly_ends_it_too, .timeout = 10)
{
    struct x86_tsc_sources s = src();
    h.pit_hz = 10; /* would take 3 000 s of simulated time for 25 ms of counts */
    h.ns_per_read = 100000;
    cr_assert_eq(x86_tsc_from_pit(&s), 0);
    /* stopped once the TSC had run 25 ms at 100 GHz: about 1 s at this TSC's rate */
    cr_assert_lt(h.now_ns, 2000000000ull, "stopped after %llu ns", (unsigned long long)h.now_ns);
}

Test(tsccal, a_tsc_that_does_not_move_gives_no_rate)
{
    struct x86_tsc_sources s = src();
    h.tsc_hz = 0;
    const char *why = NULL;
    cr_assert_eq(x86_tsc_from_pit(&s), 0);
    h.pit = 0;
    s = src();
    cr_assert_eq(x86_tsc_calibrate(&s, &why), 0);
}

Test(tsccal, a_huge_tsc_rate_over_the_pit_does_not_overflow)
{
    struct x86_tsc_sources s = src();
    h.tsc_hz = 90000000000ull; /* 90 GHz: ticks * PIT_HZ needs more than 64 bits */
    uint64_t got = x86_tsc_from_pit(&s);
    cr_assert(got > h.tsc_hz / 1000 * 999 && got < h.tsc_hz / 1000 * 1001, "%llu",
              (unsigned long long)got);
}
