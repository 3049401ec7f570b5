/* backends/x86_64/clockmath.h: TSC tick <-> nanosecond scaling without division on the fast path.
 */
#ifndef MIRC_X86_CLOCKMATH_H
#define MIRC_X86_CLOCKMATH_H

#include <stdint.h>

/*
 * A scale multiplies by num/den without dividing on the fast path:
 * scaled = (v * mul) >> shift, with a 128-bit product, where mul has its top
 * bit set (shift as large as fits), so the relative error is below 2^-63 for
 * any rate; the product cannot overflow for any 64-bit v.
 */
struct x86_scale {
    uint64_t mul;
    unsigned shift;
};

static inline struct x86_scale x86_scale_make(uint64_t num, uint64_t den)
{
    struct x86_scale s = { 0, 0 };
    if (num == 0 || den == 0)
        return s;
    for (int shift = 127; shift >= 0; shift--) {
        if (shift >= 64 && (num >> (128 - shift)))
            continue; /* num << shift would not fit in 128 bits */
        unsigned __int128 q = ((unsigned __int128)num << shift) / den;
        if (q >> 64)
            continue;
        s.mul = (uint64_t)q;
        s.shift = (unsigned)shift;
        break;
    }
    return s;
}

static inline uint64_t x86_scale_apply(uint64_t v, struct x86_scale s)
{
    unsigned __int128 p = (unsigned __int128)v * s.mul;
    return (uint64_t)(s.shift >= 128 ? 0 : p >> s.shift);
}

/* The TSC rates the image accepts from any source: 1 MHz to 100 GHz. */
#define X86_TSC_HZ_MIN 1000000ull
#define X86_TSC_HZ_MAX 100000000000ull
static inline int x86_tsc_hz_ok(uint64_t hz)
{
    return hz >= X86_TSC_HZ_MIN && hz <= X86_TSC_HZ_MAX;
}

/*
 * The frequency a KVM/Xen pvclock's (mul, shift) pair describes: the guest
 * computes ns = ((ticks << shift) * mul) >> 32 (a negative shift shifts
 * right), so hz = 1e9 * 2^32 / mul, adjusted by the shift. The host chooses
 * both: a shift of 64 or more either way, or a rate that does not fit 64
 * bits, gives 0 (no rate) rather than undefined behaviour.
 */
static inline uint64_t x86_pvclock_hz(uint32_t mul, int8_t shift)
{
    if (mul == 0 || shift >= 64 || shift <= -64)
        return 0;
    uint64_t hz = (1000000000ull << 32) / mul;
    if (shift >= 0)
        return hz >> shift;
    return hz > UINT64_MAX >> -shift ? 0 : hz << -shift;
}

/*
 * ns for ticks under a pvclock (mul, shift) pair, as the pvclock ABI defines
 * it. Shifts of 64 or more shift every bit out (0), as the ABI's 64-bit
 * arithmetic would, instead of being undefined.
 */
static inline uint64_t x86_pvclock_scale(uint64_t ticks, uint32_t mul, int8_t shift)
{
    if (shift >= 64 || shift <= -64)
        ticks = 0;
    else if (shift >= 0)
        ticks <<= shift;
    else
        ticks >>= -shift;
    return (uint64_t)(((unsigned __int128)ticks * mul) >> 32);
}

/*
 * How often a pvclock structure (or Xen's wall clock) is read again while
 * the host is updating it (odd version) or updated it meanwhile. A host
 * finishes an update in well under a microsecond; one that leaves the
 * version odd must not hang the guest, so readers give up after this many.
 */
#define X86_PVCLOCK_TRIES 100000

/* The pvclock ABI KVM (kvmclock) and Xen (vcpu_time_info) share with the guest. */
struct x86_pvclock {
    volatile uint32_t version;
    uint32_t pad0;
    volatile uint64_t tsc_timestamp, system_time;
    volatile uint32_t mul;
    volatile int8_t shift;
    volatile uint8_t flags;
    uint8_t pad[2];
};

struct x86_pvclock_snap {
    uint64_t tsc_timestamp, system_time;
    uint32_t mul;
    int8_t shift;
};

/*
 * Copies a consistent snapshot (even version, unchanged across the copy).
 * Returns 0, or -1 when the version stayed odd or kept changing over
 * X86_PVCLOCK_TRIES reads. On x86 loads are not reordered with loads, so
 * ordering the volatile accesses for the compiler is enough.
 */
static inline int x86_pvclock_read(const struct x86_pvclock *p, struct x86_pvclock_snap *out)
{
    for (unsigned tries = 0; tries < X86_PVCLOCK_TRIES; tries++) {
        uint32_t v = p->version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        out->tsc_timestamp = p->tsc_timestamp;
        out->system_time = p->system_time;
        out->mul = p->mul;
        out->shift = p->shift;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (!(v & 1) && v == p->version)
            return 0;
    }
    return -1;
}

/*
 * Days from 1970-01-01 to the given proleptic Gregorian date (month 1..12,
 * day 1..31), for turning an RTC reading into epoch time.
 */
static inline int64_t x86_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                      /* 0..399 */
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365 */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
    return era * 146097 + (int64_t)doe - 719468;
}

#endif
