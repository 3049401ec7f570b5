/* backends/kvm/acpi.c: power off through ACPI S5 (PM1a control, or the sleep register on microvm).
 */

/*
 * Only used when isa-debug-exit is absent (urunc and other runners) or for
 * an abort: finds the FADT through the RSDP, the S5 sleep type in the DSDT,
 * and writes it. The host powers off asynchronously, so the caller halts
 * afterwards rather than racing it with a reset. Nothing here allocates.
 * The tables are read through acpi_tables.c, which checks every pointer,
 * length and checksum, from memory x86_firmware_map allows: firmware data
 * never makes the image remap RAM, itself or its page tables.
 */
#include "acpi.h"
#include "kvm.h"

#define PM1_SLP_EN       (1u << 13)
#define SLEEP_CTL_SLP_EN (1u << 5)
#define GAS_MEMORY       0
#define GAS_IO           1

static const uint8_t *firmware_peek(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    return x86_firmware_map(pa, len);
}

int kvm_acpi_poweroff(void)
{
    struct kvm_acpi a = { .peek = firmware_peek };
    struct kvm_acpi_fadt f;
    uint32_t len;
    const uint8_t *dsdt = kvm_acpi_dsdt(&a, x86_rsdp_paddr, &f, &len);
    int typ = dsdt ? kvm_acpi_s5_type(dsdt, len) : -1;
    if (typ < 0)
        return 0;
    if ((f.flags & KVM_ACPI_FADT_HW_REDUCED) && f.has_sleep_ctl) {
        uint8_t v = (uint8_t)(typ << 2 | SLEEP_CTL_SLP_EN);
        if (f.sleep_space == GAS_IO && f.sleep_addr < 0x10000) {
            x86_outb((uint16_t)f.sleep_addr, v);
            return 1;
        }
        volatile uint8_t *reg =
            f.sleep_space == GAS_MEMORY ? x86_mmio_map(f.sleep_addr, 1) : (void *)0;
        if (!reg) /* not I/O, or memory the image may not map as a device */
            return 0;
        *reg = v;
        return 1;
    }
    if (!f.pm1a_cnt || f.pm1a_cnt >= 0x10000)
        return 0;
    x86_outw((uint16_t)f.pm1a_cnt, (uint16_t)(typ << 10 | PM1_SLP_EN));
    return 1;
}
