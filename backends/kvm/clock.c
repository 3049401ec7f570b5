/* backends/kvm/clock.c: monotonic time from the TSC (rated by kvmclock), wall time from kvmclock or
 * the RTC. */
#include "clockmath.h"
#include "kvm.h"
#include "mirc/mirc.h"

#define MSR_KVM_WALL_CLOCK_NEW   0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define CMOS_INDEX               0x70
#define CMOS_DATA                0x71

struct pvclock_wall {
    volatile uint32_t version, sec, nsec;
};

static struct x86_pvclock pvti __attribute__((aligned(64))); /* filled by the host */
static struct pvclock_wall pvwall __attribute__((aligned(16)));
static int ready, have_kvmclock, wall_ready;
static uint64_t kvmclock_hz, wall_offset;

/*
 * Called by the x86_64 clock on its first read: under KVM the kvmclock page
 * gives the TSC rate in one MSR write; elsewhere (TCG), or when what the
 * page says is unreadable or absurd, returns 0 and x86_64/tsccal.c asks
 * CPUID or calibrates against the PIT.
 */
static void kvm_clock_init(void);

uint64_t x86_target_tsc_hz(void)
{
    kvm_clock_init();
    return kvmclock_hz;
}

static void kvm_clock_init(void)
{
    if (ready)
        return;
    ready = 1;
    x86_cpu_probe_more();
    if (!x86_cpu.hypervisor_kvm || x86_cpu.max_hv_leaf < 0x40000001)
        return;
    uint32_t r[4];
    x86_cpuid(0x40000001, 0, r);
    if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
        return;
    x86_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, x86_virt_to_phys(&pvti) | 1);
    struct x86_pvclock_snap t;
    if (x86_pvclock_read(&pvti, &t) != 0) {
        mirc_log("kvmclock: its version stayed odd (an update that never ends); timing the TSC "
                 "otherwise");
        return;
    }
    uint64_t hz = x86_pvclock_hz(t.mul, t.shift);
    if (!x86_tsc_hz_ok(hz)) {
        mirc_log("kvmclock: mul %u shift %d give a TSC rate of %llu Hz, outside 1 MHz..100 GHz; "
                 "timing the TSC otherwise",
                 (unsigned)t.mul, (int)t.shift, (unsigned long long)hz);
        return;
    }
    kvmclock_hz = hz;
    have_kvmclock = 1;
}

uint64_t mirc_plat_monotonic(void)
{
    return KVM_MONO_BASE_NS + x86_tsc_ns();
}

/* Wall time from kvmclock, or 0 when the host never finishes updating it (then: the RTC). */
static uint64_t kvmclock_wall(void)
{
    x86_wrmsr(MSR_KVM_WALL_CLOCK_NEW, x86_virt_to_phys(&pvwall));
    uint32_t v, sec = 0, nsec = 0;
    unsigned tries = 0;
    do {
        if (++tries > X86_PVCLOCK_TRIES)
            return 0;
        v = pvwall.version;
        x86_rmb();
        sec = pvwall.sec;
        nsec = pvwall.nsec;
        x86_rmb();
    } while ((v & 1) || v != pvwall.version);
    struct x86_pvclock_snap t;
    if (x86_pvclock_read(&pvti, &t) != 0)
        return 0;
    uint64_t since_boot =
        t.system_time + x86_pvclock_scale(x86_rdtsc() - t.tsc_timestamp, t.mul, t.shift);
    return (uint64_t)sec * 1000000000ull + nsec + since_boot;
}

static uint8_t cmos(uint8_t reg)
{
    x86_outb(CMOS_INDEX, reg);
    return x86_inb(CMOS_DATA);
}

static unsigned bcd(uint8_t v, int binary)
{
    return binary ? v : (unsigned)(v >> 4) * 10 + (v & 15);
}

/* The MC146818 RTC: seconds resolution, read twice until two readings agree. */
static uint64_t rtc_wall(void)
{
    uint8_t a[7], b[7];
    int tries = 0;
    do {
        while (cmos(0x0a) & 0x80) /* update in progress */
            if (++tries > 1000000)
                return 0;
        for (int pass = 0; pass < 2; pass++) {
            uint8_t *r = pass ? b : a;
            r[0] = cmos(0x00);
            r[1] = cmos(0x02);
            r[2] = cmos(0x04);
            r[3] = cmos(0x07);
            r[4] = cmos(0x08);
            r[5] = cmos(0x09);
            r[6] = cmos(0x32);
        }
    } while (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] != b[3]);
    if (a[0] == 0xff && a[3] == 0xff) /* no RTC behind the ports */
        return 0;
    uint8_t status_b = cmos(0x0b);
    int binary = status_b & 4, h24 = status_b & 2;
    unsigned hour = bcd(a[2] & 0x7f, binary);
    if (!h24 && (a[2] & 0x80))
        hour = (hour % 12) + 12;
    else if (!h24 && hour == 12)
        hour = 0;
    unsigned century = bcd(a[6], binary);
    int64_t year = (century >= 19 && century <= 30 ? century : 20) * 100 + bcd(a[5], binary);
    int64_t days = x86_days_from_civil(year, bcd(a[4], binary), bcd(a[3], binary));
    int64_t secs = days * 86400 + hour * 3600 + bcd(a[1], binary) * 60 + bcd(a[0], binary);
    return secs > 0 ? (uint64_t)secs * 1000000000ull : 0;
}

uint64_t mirc_plat_wall(void)
{
    uint64_t now = mirc_plat_monotonic();
    if (!wall_ready) {
        uint64_t w = have_kvmclock ? kvmclock_wall() : 0;
        if (!w)
            w = rtc_wall();
        now = mirc_plat_monotonic();
        wall_offset = w - now;
        wall_ready = 1;
    }
    return wall_offset + now;
}
