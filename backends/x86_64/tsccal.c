/* backends/x86_64/tsccal.c: the TSC's rate from kvmclock/pvclock, CPUID or the PIT, each answer
 * checked. */
#include "tsccal.h"
#include "clockmath.h"

/* A PIT that has not moved after this many reads is not there. */
#define PIT_IDLE_POLLS 100000u
/* A PIT that moves, but this slowly, is stuck for our purpose (hours under nested KVM). */
#define PIT_MAX_POLLS 10000000u

uint64_t x86_tsc_from_pit(const struct x86_tsc_sources *s)
{
    if (!s->pit_start)
        return 0;
    s->pit_start(s->ctx);
    uint16_t prev = s->pit_count(s->ctx);
    uint64_t t0 = s->rdtsc(s->ctx), elapsed = 0, want = X86_PIT_HZ * X86_PIT_MS / 1000;
    /* past this many TSC ticks the rate could only come out above the maximum */
    uint64_t tsc_limit = X86_TSC_HZ_MAX / 1000 * X86_PIT_MS;
    for (uint32_t polls = 0; elapsed < want; polls++) {
        uint16_t cur = s->pit_count(s->ctx);
        elapsed += (uint16_t)(prev - cur); /* counts down and wraps; polled well within 55 ms */
        prev = cur;
        if ((elapsed == 0 && polls > PIT_IDLE_POLLS) || polls > PIT_MAX_POLLS ||
            s->rdtsc(s->ctx) - t0 > tsc_limit)
            return 0;
    }
    uint64_t ticks = s->rdtsc(s->ctx) - t0;
    unsigned __int128 hz = (unsigned __int128)ticks * X86_PIT_HZ / elapsed;
    return hz > UINT64_MAX ? 0 : (uint64_t)hz;
}

uint64_t x86_tsc_calibrate(const struct x86_tsc_sources *s, const char **why)
{
    uint32_t r[4];
    uint64_t h = s->pv_hz ? s->pv_hz(s->ctx) : 0;
    if (x86_tsc_hz_ok(h))
        return h;
    if (s->max_leaf >= 0x15) {
        s->cpuid(s->ctx, 0x15, r); /* TSC/crystal ratio ebx/eax, crystal Hz in ecx */
        h = r[0] ? (uint64_t)r[2] * r[1] / r[0] : 0;
        if (x86_tsc_hz_ok(h))
            return h;
    }
    if (s->max_hv_leaf >= 0x40000010) {
        s->cpuid(s->ctx, 0x40000010, r); /* TSC kHz in eax (VMware's timing leaf, QEMU/KVM too) */
        h = (uint64_t)r[0] * 1000;
        if (x86_tsc_hz_ok(h))
            return h;
    }
    h = x86_tsc_from_pit(s);
    if (x86_tsc_hz_ok(h))
        return h;
    *why = "cannot find the TSC frequency: kvmclock/pvclock, CPUID 0x15/0x40000010 and the PIT "
           "gave none between 1 MHz and 100 GHz";
    return 0;
}
