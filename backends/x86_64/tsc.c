/* backends/x86_64/tsc.c: the TSC as the monotonic clock; its frequency from the target, CPUID or
 * the PIT (tsccal.c). */
#include "clockmath.h"
#include "tsccal.h"
#include "x86.h"

#define PORT_PIT_CH0 0x40
#define PORT_PIT_CMD 0x43

static uint64_t hz;
static struct x86_scale to_ns, to_ticks;
static int probed_more;

void x86_cpu_probe_more(void)
{
    uint32_t r[4];
    if (probed_more)
        return;
    probed_more = 1;
    if (x86_cpu.max_leaf >= 7) {
        x86_cpuid(7, 0, r);
        x86_cpu.leaf7_ebx = r[1];
    }
    if (!(x86_cpu.leaf1_ecx & X86_CPUID1_ECX_HYPERVISOR))
        return;
    x86_cpuid(0x40000000, 0, r);
    x86_cpu.max_hv_leaf = r[0];
    /* "KVMKVMKVM\0\0\0" and "XenVMMXenVMM" in ebx, ecx, edx */
    x86_cpu.hypervisor_kvm = r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d;
    x86_cpu.hypervisor_xen = r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e;
}

void x86_tsc_set_hz(uint64_t h)
{
    if (!x86_tsc_hz_ok(h)) /* calibrate() checked it: a bug, not the host */
        x86_abort("TSC frequency out of range (below 1 MHz or above 100 GHz)");
    hz = h;
    to_ns = x86_scale_make(1000000000ull, h);
    to_ticks = x86_scale_make(h, 1000000000ull);
}

static uint64_t pv_hz(void *ctx)
{
    (void)ctx;
    return x86_target_tsc_hz(); /* a paravirtual clock, when the target has one */
}

static void cpuid(void *ctx, uint32_t leaf, uint32_t r[4])
{
    (void)ctx;
    x86_cpuid(leaf, 0, r);
}

/*
 * PIT channel 0, free-running in mode 2. Channel 0 because microvm has no
 * port 0x61 to gate channel 2. Its interrupt stays masked (IOAPIC pins
 * start masked; LINT0 is masked before the first halt).
 */
static void pit_start(void *ctx)
{
    (void)ctx;
    x86_outb(PORT_PIT_CMD, 0x34); /* channel 0, lo/hi byte, mode 2, binary */
    x86_outb(PORT_PIT_CH0, 0xff);
    x86_outb(PORT_PIT_CH0, 0xff);
}

static uint16_t pit_count(void *ctx)
{
    (void)ctx;
    x86_outb(PORT_PIT_CMD, 0x00); /* latch channel 0 */
    uint8_t lo = x86_inb(PORT_PIT_CH0);
    return (uint16_t)(lo | x86_inb(PORT_PIT_CH0) << 8);
}

static uint64_t rdtsc(void *ctx)
{
    (void)ctx;
    return x86_rdtsc();
}

/* Each source the host controls is checked: tsccal.c. */
static void calibrate(void)
{
    x86_cpu_probe_more();
    struct x86_tsc_sources src = {
        .pv_hz = pv_hz,
        .cpuid = cpuid,
        .max_leaf = x86_cpu.max_leaf,
        .max_hv_leaf = x86_cpu.max_hv_leaf,
        .pit_start = pit_start,
        .pit_count = pit_count,
        .rdtsc = rdtsc,
    };
    const char *why = "";
    uint64_t h = x86_tsc_calibrate(&src, &why);
    if (!h)
        x86_abort(why);
    x86_tsc_set_hz(h);
}

uint64_t x86_tsc_hz(void)
{
    if (!hz)
        calibrate();
    return hz;
}

uint64_t x86_tsc_ns(void)
{
    if (!hz)
        calibrate();
    return x86_scale_apply(x86_rdtsc() - x86_tsc_entry, to_ns);
}

uint64_t x86_tsc_at_ns(uint64_t ns)
{
    if (!hz)
        calibrate();
    return x86_tsc_entry + x86_scale_apply(ns, to_ticks);
}
