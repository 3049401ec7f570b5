/* backends/x86_64/tsc.c: the TSC as the monotonic clock; its frequency from CPUID or the PIT. */
#include "clockmath.h"
#include "x86.h"

#define PIT_HZ       1193182ull
#define PIT_MS       25
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
    if (h < 1000000 || h > 100000000000ull)
        x86_abort("TSC frequency out of range (below 1 MHz or above 100 GHz)");
    hz = h;
    to_ns = x86_scale_make(1000000000ull, h);
    to_ticks = x86_scale_make(h, 1000000000ull);
}

static uint16_t pit_count(void)
{
    x86_outb(PORT_PIT_CMD, 0x00); /* latch channel 0 */
    uint8_t lo = x86_inb(PORT_PIT_CH0);
    return (uint16_t)(lo | x86_inb(PORT_PIT_CH0) << 8);
}

/*
 * Counts TSC ticks while PIT channel 0 (free-running, mode 2) counts PIT_MS.
 * Channel 0 because microvm has no port 0x61 to gate channel 2. Its
 * interrupt stays masked (IOAPIC pins start masked; LINT0 is masked before
 * the first halt). Returns 0 if no PIT counts.
 */
static uint64_t pit_calibrate(void)
{
    x86_outb(PORT_PIT_CMD, 0x34); /* channel 0, lo/hi byte, mode 2, binary */
    x86_outb(PORT_PIT_CH0, 0xff);
    x86_outb(PORT_PIT_CH0, 0xff);
    uint16_t prev = pit_count();
    uint64_t t0 = x86_rdtsc(), elapsed = 0, want = PIT_HZ * PIT_MS / 1000;
    for (uint32_t polls = 0; elapsed < want; polls++) {
        uint16_t cur = pit_count();
        elapsed += (uint16_t)(prev - cur); /* counts down and wraps; polled well within 55 ms */
        prev = cur;
        if (elapsed == 0 && polls > 100000)
            return 0;
    }
    uint64_t t1 = x86_rdtsc();
    return (t1 - t0) * PIT_HZ / elapsed;
}

static void calibrate(void)
{
    uint32_t r[4];
    uint64_t h = x86_target_tsc_hz(); /* a paravirtual clock, when the target has one */
    if (hz)                           /* the hook may have set it */
        return;
    x86_cpu_probe_more();
    if (x86_cpu.max_leaf >= 0x15) {
        x86_cpuid(0x15, 0, r); /* TSC/crystal ratio ebx/eax, crystal Hz in ecx */
        if (r[0] && r[1] && r[2])
            h = (uint64_t)r[2] * r[1] / r[0];
    }
    if (!h && x86_cpu.max_hv_leaf >= 0x40000010) {
        x86_cpuid(0x40000010, 0, r); /* TSC kHz in eax (VMware's timing leaf, QEMU/KVM too) */
        h = (uint64_t)r[0] * 1000;
    }
    if (!h)
        h = pit_calibrate();
    if (!h)
        x86_abort(
            "cannot find the TSC frequency: no kvmclock, no CPUID 0x15/0x40000010 and no PIT");
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
