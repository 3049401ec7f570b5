/* backends/kvm/kvm.h: what the kvm target's platform core and its virtio drivers share. */
#ifndef MIRC_KVM_H
#define MIRC_KVM_H

/*
 * The platform core (platform.c, clock.c, apic.c, acpi.c) boots through
 * backends/x86_64, owns the console, clocks, interrupts, yield and exit. The
 * virtio drivers (virtio*.c, net.c, block.c) implement platform.h's NET and
 * BLOCK functions and the three kvm_virtio_* hooks below. novirtio.c holds
 * weak fallbacks so an image links without the drivers.
 *
 * Execution model: one CPU, interrupts disabled except inside the halt in
 * mirc_plat_yield. So an interrupt handler never interrupts driver code; it
 * runs "inside" yield, and shared state needs no locks, only the compiler
 * barriers that volatile or x86_barrier() give.
 *
 * Helpers for drivers: port I/O, MMIO accessors, barriers, x86_mmio_map()
 * (map a BAR or MMIO window found at run time) and identity virt<->phys in
 * backends/x86_64/x86.h.
 */

#include "platform.h"
#include "x86.h"

/* --- implemented by the virtio drivers --- */

/*
 * Called once at boot with the whole kernel command line split into words
 * (argv[0] is a placeholder; argv[argc] == NULL), before the runtime parses
 * options. Finds the devices: on microvm from the words QEMU appends,
 * "virtio_mmio.device=SIZE@ADDR:IRQ" (the platform core removes those words
 * afterwards, so the drivers must copy what they keep); on pc/q35 by
 * scanning PCI. Must not print unless something is wrong.
 */
void kvm_virtio_init(int argc, char **argv);

/* The device handles that have input now (used-ring entries), without a VM exit. */
mirc_plat_set kvm_virtio_pending(void);

/*
 * Called from the interrupt handler of an IOAPIC pin the drivers enabled
 * with kvm_irq_enable(), before the platform core sends the EOI. Must make
 * the device lower its line (read the ISR / ack the interrupt): pins are
 * level-triggered, so a line still high after the EOI fires again.
 */
void kvm_virtio_irq(int gsi);

/* --- implemented by the platform core --- */

/*
 * Routes IOAPIC input `gsi` (0..23 on the first IOAPIC at 0xfec00000,
 * 24..47 on microvm's second one at 0xfec10000) to this CPU as a
 * level-triggered, active-high interrupt. Its handler calls
 * kvm_virtio_irq(gsi), sends the EOI and makes a pending yield re-check
 * kvm_virtio_pending(). Panics on a gsi outside 0..47.
 */
void kvm_irq_enable(int gsi);

/* Masks the pin again. */
void kvm_irq_disable(int gsi);

/* --- shared by the platform core's files --- */

void kvm_console_write(const char *buf, size_t len);
void kvm_clock_init(void);
int kvm_clock_ready(void);
/* Arms the wake-up timer for a TSC value (0: disarm). Initialises the LAPIC on first use. */
void kvm_timer_arm(uint64_t tsc);
/* Set by interrupt handlers; cleared by yield before it halts. */
extern volatile int kvm_woken;
/* ACPI S5 power-off; returns if there is no way to do it. */
void kvm_acpi_poweroff(void);

#endif
