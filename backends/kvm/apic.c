/* backends/kvm/apic.c: local APIC timer (TSC-deadline or one-shot) and IOAPIC routing for device
 * interrupts. */
#include "kvm.h"
#include "mirc/mirc.h"

#define MSR_APIC_BASE    0x1b
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define MSR_TSC_DEADLINE 0x6e0

/* Register offsets in the xAPIC page; x2APIC MSR = 0x800 + offset / 16. */
#define APIC_ID         0x20
#define APIC_EOI        0xb0
#define APIC_SVR        0xf0
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_LINT0  0x350
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define LVT_MASKED       (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define SVR_ENABLE       (1u << 8)

#define VEC_TIMER    0x20
#define VEC_GSI_BASE 0x30
#define VEC_SPURIOUS 0xff
#define GSI_MAX      48

#define IOAPIC0       0xfec00000u
#define IOAPIC1       0xfec10000u /* microvm's second IOAPIC, GSIs 24..47 */
#define IOREDTBL(pin) (0x10 + 2 * (pin))
#define RTE_MASKED    (1u << 16)

static int apic_up, x2apic, tsc_deadline;
static uintptr_t xapic;
static uint64_t apic_hz; /* one-shot timer ticks per second (divide by 1) */

static void apic_write(uint32_t reg, uint32_t v)
{
    if (x2apic)
        x86_wrmsr(0x800 + reg / 16, v);
    else
        x86_mmio_write32(xapic + reg, v);
}

static uint32_t apic_read(uint32_t reg)
{
    return x2apic ? (uint32_t)x86_rdmsr(0x800 + reg / 16) : x86_mmio_read32(xapic + reg);
}

/* Ring 0 notes the vector and sends the EOI (x86.h); yield calls the driver in ring 3. */
static void irq_set(int vector)
{
    if (x2apic)
        x86_irq_set(vector, X86_IRQ_EOI_X2APIC, NULL);
    else
        x86_irq_set(vector, X86_IRQ_ZERO32, (volatile void *)(xapic + APIC_EOI));
}

void kvm_irq_dispatch(void)
{
    uint64_t p = x86_irq_take(VEC_GSI_BASE) & ((1ull << GSI_MAX) - 1);
    while (p) {
        int gsi = __builtin_ctzll(p);
        p &= p - 1;
        if (kvm_virtio)
            kvm_virtio->irq(gsi);
    }
}

/* Ticks of the one-shot timer during 10 ms of TSC, once; cheap under TCG, rare under KVM. */
static void calibrate(void)
{
    apic_write(APIC_TIMER_DIV, 0xb); /* divide by 1 */
    apic_write(APIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
    apic_write(APIC_TIMER_INIT, 0xffffffffu);
    uint64_t t0 = x86_rdtsc(), want = x86_tsc_hz() / 100;
    uint32_t c0 = apic_read(APIC_TIMER_CUR);
    while (x86_rdtsc() - t0 < want)
        __asm__ volatile("pause");
    uint32_t c1 = apic_read(APIC_TIMER_CUR);
    uint64_t t1 = x86_rdtsc();
    apic_write(APIC_TIMER_INIT, 0);
    apic_hz = (uint64_t)(c0 - c1) * x86_tsc_hz() / (t1 - t0);
    if (apic_hz == 0)
        x86_abort("the local APIC timer does not count; cannot sleep");
}

static void apic_init(void)
{
    uint64_t base = x86_rdmsr(MSR_APIC_BASE);
    x2apic = (x86_cpu.leaf1_ecx & X86_CPUID1_ECX_X2APIC) != 0;
    if (x2apic)
        x86_wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
    else
        xapic = (uintptr_t)x86_mmio_map(base & ~0xfffull, 4096);
    apic_write(APIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
    apic_write(APIC_LVT_LINT0, LVT_MASKED); /* the 8259's virtual wire: we use the IOAPIC */
    irq_set(VEC_TIMER);
    tsc_deadline = (x86_cpu.leaf1_ecx & X86_CPUID1_ECX_TSC_DEADLINE) != 0;
    if (tsc_deadline)
        apic_write(APIC_LVT_TIMER, LVT_TSC_DEADLINE | VEC_TIMER);
    else
        calibrate();
    apic_up = 1;
}

void kvm_timer_arm(uint64_t tsc)
{
    if (!apic_up)
        apic_init();
    if (tsc_deadline) {
        x86_wrmsr(MSR_TSC_DEADLINE, tsc);
        return;
    }
    uint32_t count = 0;
    if (tsc) {
        uint64_t now = x86_rdtsc();
        uint64_t ticks = tsc > now ? (tsc - now) * apic_hz / x86_tsc_hz() + 1 : 1;
        count = ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks; /* long sleeps re-arm */
    }
    apic_write(APIC_LVT_TIMER, VEC_TIMER); /* one-shot */
    apic_write(APIC_TIMER_INIT, count);
}

static void ioapic_write(uintptr_t base, uint32_t reg, uint32_t v)
{
    x86_mmio_write32(base, reg);
    x86_mmio_write32(base + 0x10, v);
}

static void route(int gsi, uint32_t low)
{
    if (gsi < 0 || gsi >= GSI_MAX)
        mirc_panic("IOAPIC input %d is outside 0..%d", gsi, GSI_MAX - 1);
    uintptr_t base = gsi < 24 ? IOAPIC0 : IOAPIC1;
    int pin = gsi % 24;
    ioapic_write(base, IOREDTBL(pin) + 1, 0); /* destination: APIC ID 0, the only CPU */
    ioapic_write(base, IOREDTBL(pin), low);
}

void kvm_irq_enable(int gsi)
{
    if (!apic_up)
        apic_init();
    irq_set(VEC_GSI_BASE + gsi);                /* edge-triggered: noted once per edge, no storm */
    route(gsi, (uint32_t)(VEC_GSI_BASE + gsi)); /* fixed, edge, active high, unmasked */
}

void kvm_irq_disable(int gsi)
{
    route(gsi, RTE_MASKED | (uint32_t)(VEC_GSI_BASE + gsi));
}
