/* backends/x86_64/tsccal.h: finding the TSC's rate from sources the host controls (pure,
 * unit-tested on the host). */
#ifndef MIRC_X86_TSCCAL_H
#define MIRC_X86_TSCCAL_H

/*
 * The rate comes from the first source that gives one in 1 MHz..100 GHz
 * (x86_tsc_hz_ok): the target's paravirtual clock (kvmclock, Xen's
 * pvclock), CPUID leaf 0x15 (TSC/crystal ratio), CPUID 0x40000010 (the
 * hypervisor's TSC kHz), then counting TSC ticks over 25 ms of PIT channel
 * 0. Every one of them is the host's to choose, so an absurd answer moves on
 * to the next source instead of becoming the clock, and the PIT count is
 * bounded: a PIT that never counts, or counts so slowly that the rate could
 * only come out absurd, ends the calibration.
 *
 * tsc.c supplies the real CPUID, port I/O and RDTSC; tests/unit/x86_64
 * supplies hostile ones.
 */

#include <stdint.h>

#define X86_PIT_HZ 1193182ull
#define X86_PIT_MS 25

struct x86_tsc_sources {
    void *ctx;
    uint64_t (*pv_hz)(void *ctx); /* the paravirtual clock's rate; 0: none */
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t r[4]);
    uint32_t max_leaf, max_hv_leaf; /* 0: leaf 0x15 / 0x40000010 absent */
    void (*pit_start)(void *ctx);   /* channel 0 free-running from 0xffff; NULL: no PIT */
    uint16_t (*pit_count)(void *ctx);
    uint64_t (*rdtsc)(void *ctx);
};

/* The TSC rate over PIT_MS of the PIT, or 0 when the PIT does not count usably. */
uint64_t x86_tsc_from_pit(const struct x86_tsc_sources *s);

/* The rate from the first source that gives a plausible one, or 0 (*why says what each gave). */
uint64_t x86_tsc_calibrate(const struct x86_tsc_sources *s, const char **why);

#endif
