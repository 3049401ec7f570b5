/* backends/x86_64/clockmath.h: TSC tick <-> nanosecond scaling without division on the fast path. */
#ifndef MIRC_X86_CLOCKMATH_H
#define MIRC_X86_CLOCKMATH_H

#include <stdint.h>

/*
 * A scale is a 32.32 fixed-point factor: scaled = (v * mul) >> 32, computed
 * with a 128-bit product so it neither overflows nor loses the low bits for
 * any 64-bit v. For a TSC between 1 MHz and 2 THz the relative error of the
 * factor is below 1e-9 (under a nanosecond per second).
 */
static inline uint64_t x86_scale(uint64_t v, uint64_t mul)
{
    return (uint64_t)(((unsigned __int128)v * mul) >> 32);
}

/* The factor turning TSC ticks into ns at `hz`: 1e9 * 2^32 / hz (hz >= 1). */
static inline uint64_t x86_ns_per_tick_mul(uint64_t hz)
{
    return (1000000000ull << 32) / hz;
}

/* The factor turning ns into ticks: hz * 2^32 / 1e9, as (hz << 23) / (1e9 >> 9); hz < 2^41. */
static inline uint64_t x86_ticks_per_ns_mul(uint64_t hz)
{
    return (hz << 23) / 1953125ull;
}

/*
 * The frequency a KVM/Xen pvclock's (mul, shift) pair describes: the guest
 * computes ns = ((ticks << shift) * mul) >> 32 (a negative shift shifts
 * right), so hz = 1e9 * 2^32 / mul, adjusted by the shift.
 */
static inline uint64_t x86_pvclock_hz(uint32_t mul, int8_t shift)
{
    if (mul == 0)
        return 0;
    uint64_t hz = (1000000000ull << 32) / mul;
    return shift >= 0 ? hz >> shift : hz << -shift;
}

/* ns for ticks under a pvclock (mul, shift) pair, as the pvclock ABI defines it. */
static inline uint64_t x86_pvclock_scale(uint64_t ticks, uint32_t mul, int8_t shift)
{
    if (shift >= 0)
        ticks <<= shift;
    else
        ticks >>= -shift;
    return (uint64_t)(((unsigned __int128)ticks * mul) >> 32);
}

/*
 * Days from 1970-01-01 to the given proleptic Gregorian date (month 1..12,
 * day 1..31), for turning an RTC reading into epoch time.
 */
static inline int64_t x86_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                   /* 0..399 */
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365 */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* 0..146096 */
    return era * 146097 + (int64_t)doe - 719468;
}

#endif
