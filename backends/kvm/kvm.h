/* backends/kvm/kvm.h: what the kvm target's platform core and its virtio drivers share. */
#ifndef MIRC_KVM_H
#define MIRC_KVM_H

/*
 * The platform core (platform.c, clock.c, apic.c, acpi.c) boots through
 * backends/x86_64, owns the console, clocks, interrupts, yield and exit. The
 * virtio drivers (virtio*.c, net.c, block.c) implement platform.h's NET and
 * BLOCK functions and the three kvm_virtio_* hooks below, which the core
 * reaches only through `kvm_virtio`, so an image without devices links no
 * driver (the runtime reaches the open functions only through the manifest).
 *
 * Execution model: one CPU; the application and the drivers run in ring 3
 * (see backends/x86_64/x86.h: privileged operations go through a gate, the
 * helpers there do it for you). Interrupts are enabled only inside the halt
 * in mirc_plat_yield; ring 0 only notes which vector fired and sends the
 * EOI (x86_irq_set); yield then calls the drivers in ring 3. So driver code
 * is never interrupted, needs no locks, and may use any instruction.
 *
 * Helpers for drivers: port I/O, MMIO accessors, barriers, x86_mmio_map()
 * (map a BAR or MMIO window found at run time) and identity virt<->phys in
 * backends/x86_64/x86.h.
 */

#include "platform.h"
#include "x86.h"

/* --- implemented by the virtio drivers --- */

/*
 * Called once, on the first device lookup, with the whole kernel command
 * line split into words (kvm_boot_argc/argv; argv[0] is a placeholder). Finds the devices: on
 * microvm from the words QEMU appends, "virtio_mmio.device=SIZE@ADDR:IRQ" (the platform core
 * removes those words afterwards, so the drivers must copy what they keep); on pc/q35 by scanning
 * PCI. Must not print unless something is wrong.
 */
void kvm_virtio_init(int argc, char **argv);

/*
 * The device handles that have input now (used-ring entries), without a VM
 * exit. Also sends the transmit notifications that writes deferred to the
 * end of the burst (the loop yields once per burst), and, when nothing is
 * waiting, asks the devices for an interrupt at the next frame.
 */
mirc_plat_set kvm_virtio_pending(void);

/*
 * Sends what the drivers deferred and waits, at most 200 ms, until the
 * devices have taken every frame written so far. With nothing in flight it
 * returns at once, reading neither a register nor the clock (the first clock
 * read rates the TSC: 25 ms under TCG). The platform core calls
 * it from mirc_plat_exit before the exit port, on the normal path only (ring
 * 3, not a fault): otherwise the frames written just before an exit (a last
 * reply) are lost, as QEMU stops at once. Measured: tests/net/run kvm loses
 * the last echo reply without it.
 */
void kvm_virtio_flush(void);

/*
 * Called by mirc_plat_yield, in ring 3, for each IOAPIC input enabled with
 * kvm_irq_enable() that interrupted since the last call, before it asks
 * kvm_virtio_pending(). Must acknowledge the device (read the ISR) so its
 * line drops: pins are edge-triggered, and a line left high never
 * interrupts again.
 */
void kvm_virtio_irq(int gsi);

/*
 * How the platform core reaches the drivers. NULL until the runtime looks up
 * its first device (virtio_core.c sets it then), so an image whose manifest
 * declares no device links no driver at all: the core only ever calls
 * through this pointer.
 */
struct kvm_virtio_hooks {
    mirc_plat_set (*pending)(void); /* kvm_virtio_pending */
    void (*flush)(void);            /* kvm_virtio_flush */
    void (*irq)(int gsi);           /* kvm_virtio_irq */
};
extern const struct kvm_virtio_hooks *kvm_virtio;

/*
 * The boot command line's words as QEMU gave them, kept (pointers only) by
 * the platform core before it strips the "virtio_mmio.device=" words: the
 * drivers pass them to kvm_virtio_init on their first lookup. cmdline.c.
 */
extern int kvm_boot_argc;
extern char **kvm_boot_argv;

/* --- implemented by the platform core --- */

/*
 * Routes IOAPIC input `gsi` (0..23 on the first IOAPIC at 0xfec00000,
 * 24..47 on microvm's second one at 0xfec10000) to this CPU as an
 * edge-triggered, active-high interrupt that wakes mirc_plat_yield, which
 * then calls kvm_virtio_irq(gsi). Panics on a gsi outside 0..47.
 */
void kvm_irq_enable(int gsi);

/* Masks the pin again. */
void kvm_irq_disable(int gsi);

/* --- shared by the platform core's files --- */

/*
 * Monotonic time starts here at boot rather than at 0, so that "now minus a
 * second" is still a time in the past (the API's "an arbitrary point before
 * boot").
 */
#define KVM_MONO_BASE_NS (1000ull * 1000000000ull)
/* Arms the wake-up timer for a TSC value (0: disarm). Initialises the LAPIC on first use. */
void kvm_timer_arm(uint64_t tsc);
/*
 * Removes the trailing "virtio_mmio.device=..." words microvm appends to the
 * command line (argv[argc] stays NULL) and returns the new argc. A word of
 * that form in the middle, before the app's last argument, is the app's.
 */
int kvm_strip_platform_words(int argc, char **argv);
/* SLP_TYP for S5 from a DSDT's AML (Name(_S5_, Package(){...})), or -1. */
int kvm_acpi_s5_type(const uint8_t *dsdt, size_t len);
/* Calls kvm_virtio_irq for the inputs that fired (ring 3, from yield). */
void kvm_irq_dispatch(void);
/* Requests ACPI S5 (returns 1; the host then stops the VM) or returns 0 if there is no way. */
int kvm_acpi_poweroff(void);

#endif
