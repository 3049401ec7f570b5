/* backends/x86_64/gate.c: the gate's allowlists and argument checks (pure; see gate.h). */
#include "gate.h"
#include "paging.h"
#include "x86.h"

#define LAPIC_BASE       0xfee00000ull
#define APIC_BASE_BSP    (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define KVMCLOCK_ENABLE  1ull
#define KVM_WALL_SIZE    12 /* struct pvclock_wall_clock */
#define KVM_PVTI_SIZE    32 /* struct pvclock_vcpu_time_info */
#define MAP_LIMIT        (1ull << 39)
#define MSR_R            1
#define MSR_W            2

enum msr_value {
    VALUE_ANY,
    VALUE_APIC_BASE, /* only the enable and x2APIC bits may differ from 0xfee00000 */
    VALUE_GPA,       /* a guest-physical address the host writes `size` bytes to */
    VALUE_GPA_EN,    /* the same, with bit 0 as the enable bit; 0 disables */
};

/* Every MSR mirc's code touches (backends/kvm/apic.c, clock.c), and nothing else. */
static const struct {
    uint32_t msr;
    uint8_t access;
    uint8_t value;
    uint8_t size;
} msrs[] = {
    { 0x1b, MSR_R | MSR_W, VALUE_APIC_BASE, 0 },        /* IA32_APIC_BASE */
    { 0x6e0, MSR_W, VALUE_ANY, 0 },                     /* IA32_TSC_DEADLINE */
    { 0x80b, MSR_W, VALUE_ANY, 0 },                     /* x2APIC EOI */
    { 0x80f, MSR_W, VALUE_ANY, 0 },                     /* x2APIC spurious vector */
    { 0x832, MSR_W, VALUE_ANY, 0 },                     /* x2APIC LVT timer */
    { 0x835, MSR_W, VALUE_ANY, 0 },                     /* x2APIC LVT LINT0 */
    { 0x838, MSR_W, VALUE_ANY, 0 },                     /* x2APIC timer initial count */
    { 0x839, MSR_R, VALUE_ANY, 0 },                     /* x2APIC timer current count */
    { 0x83e, MSR_W, VALUE_ANY, 0 },                     /* x2APIC timer divide */
    { 0x4b564d00, MSR_W, VALUE_GPA, KVM_WALL_SIZE },    /* MSR_KVM_WALL_CLOCK_NEW */
    { 0x4b564d01, MSR_W, VALUE_GPA_EN, KVM_PVTI_SIZE }, /* MSR_KVM_SYSTEM_TIME_NEW */
};

const char *x86_gate_check_msr(x86_user_access_fn user_access, uint64_t msr, int write,
                               uint64_t value)
{
    for (size_t i = 0; i < sizeof msrs / sizeof *msrs && msr <= UINT32_MAX; i++) {
        if (msrs[i].msr != msr)
            continue;
        if (!(msrs[i].access & (write ? MSR_W : MSR_R)))
            return write ? "the gate allows this MSR for reading only"
                         : "the gate allows this MSR for writing only";
        if (!write)
            return NULL;
        uint64_t gpa = value;
        switch (msrs[i].value) {
        case VALUE_ANY:
            return NULL;
        case VALUE_APIC_BASE:
            if ((value & ~(APIC_BASE_BSP | APIC_BASE_X2APIC | APIC_BASE_ENABLE)) != LAPIC_BASE)
                return "the local APIC may not move from 0xfee00000 (only its enable and "
                       "x2APIC bits may change)";
            return NULL;
        case VALUE_GPA_EN:
            if (value == 0)
                return NULL;
            gpa = value & ~KVMCLOCK_ENABLE;
            /* fall through */
        case VALUE_GPA:
            if (!user_access(gpa, msrs[i].size, 1))
                return "the host would write outside user-writable memory";
            return NULL;
        }
    }
    return "not an MSR the gate allows (see the allowlist in backends/x86_64/gate.c)";
}

const char *x86_gate_check_map(uint64_t pa, uint64_t len, uint64_t protect_lo, uint64_t protect_hi)
{
    if (len == 0)
        return "an empty range";
    if (pa + len < pa || pa + len > MAP_LIMIT)
        return "the range ends above 512 GiB";
    uint64_t lo = pa & ~(X86_PAGE - 1), hi = (pa + len + X86_PAGE - 1) & ~(X86_PAGE - 1);
    if (lo < X86_PAGE)
        return "the range covers page 0 (the NULL guard)";
    if (lo < protect_hi && hi > protect_lo)
        return "the range overlaps the image or its page tables";
    return NULL;
}

const char *x86_gate_check_io(uint64_t size)
{
    return size == 1 || size == 2 || size == 4 ? NULL : "the access size is not 1, 2 or 4";
}

const char *x86_gate_check_buffer(x86_user_access_fn user_access, uint64_t buf, uint64_t len)
{
    return user_access(buf, len, 0) ? NULL : "the buffer is not wholly in user-readable memory";
}

const char *x86_gate_check_irq(x86_user_access_fn user_access, uint64_t vector, uint64_t ack,
                               uint64_t addr)
{
    if (vector < 32 || vector > 255)
        return "the vector is not one of 32..255";
    switch (ack) {
    case X86_IRQ_NOTE:
    case X86_IRQ_EOI_X2APIC:
        return NULL;
    case X86_IRQ_ZERO32:
        if (addr & 3)
            return "the acknowledgement address is not 4-byte aligned";
        return user_access(addr, 4, 1) ? NULL
                                       : "the acknowledgement address is not user-writable memory";
    case X86_IRQ_ZERO8:
        return user_access(addr, 1, 1) ? NULL
                                       : "the acknowledgement address is not user-writable memory";
    }
    return "no such acknowledgement kind";
}

static char *put_dec(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

const char *x86_gate_op_name(uint64_t op, char *buf)
{
    static const char *const names[] = {
        [X86_SYS_HALT] = "HALT",   [X86_SYS_WRMSR] = "WRMSR",
        [X86_SYS_RDMSR] = "RDMSR", [X86_SYS_MAP] = "MAP",
        [X86_SYS_RESET] = "RESET", [X86_SYS_OUT] = "OUT",
        [X86_SYS_IN] = "IN",       [X86_SYS_OUTSB] = "OUTSB",
        [X86_SYS_SETUP] = "SETUP", [X86_SYS_HALT_FOREVER] = "HALT_FOREVER",
        [X86_SYS_IRQ] = "IRQ",
    };
    if (op < sizeof names / sizeof *names && names[op])
        return names[op];
    const char *prefix = op >= X86_SYS_TARGET ? "target op " : "op ";
    char *p = buf;
    while (*prefix)
        *p++ = *prefix++;
    p = put_dec(p, op >= X86_SYS_TARGET ? op - X86_SYS_TARGET : op);
    *p = '\0';
    return buf;
}
