/* backends/kvm/platform.c: the kvm target's console, options, entropy, yield and exit. */
#include <stdio.h>
#include <string.h>

#include "kvm.h"
#include "mirc/mirc.h"

#define COM1            0x3f8
#define DEBUG_EXIT_PORT 0xf4

static int boot_times;

void mirc_plat_console_write(const char *buf, size_t len)
{
    /*
     * One `rep outsb` hands QEMU the whole buffer in one VM exit. QEMU's
     * 16550 passes each byte to the chardev as it arrives, so no LSR polling.
     */
    if (len)
        x86_outsb(COM1, buf, len);
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    return x86_random(buf, len) == 0 ? MIRC_OK : MIRC_IO;
}

mirc_status mirc_plat_option(const char *opt)
{
    if (strcmp(opt, "--boot-times") == 0) {
        boot_times = 1;
        return MIRC_OK;
    }
    return MIRC_NOT_FOUND;
}

mirc_plat_set mirc_plat_yield(uint64_t deadline, mirc_plat_set interest)
{
    for (;;) {
        kvm_irq_dispatch();
        mirc_plat_set ready = kvm_virtio ? kvm_virtio->pending() & interest : 0;
        if (ready)
            return ready;
        uint64_t now = mirc_plat_monotonic();
        if (deadline <= now)
            return 0;
        kvm_timer_arm(deadline == UINT64_MAX ? 0 : x86_tsc_at_ns(deadline - KVM_MONO_BASE_NS));
        /* an interrupt that came meanwhile is pending and ends the halt at once */
        x86_halt_once();
    }
}

static void print_boot_times(void)
{
    uint64_t now =
        x86_rdtsc(); /* before the first clock read: a PIT calibration is not boot time */
    uint64_t hz = x86_tsc_hz();
    uint64_t to_main = (x86_tsc_main - x86_tsc_entry) * 1000000 / hz;
    uint64_t to_exit = (now - x86_tsc_entry) * 1000000 / hz;
    char line[160];
    int n = snprintf(line, sizeof line,
                     "mirc: boot-times: entry->main %lu us, entry->exit %lu us, tsc %lu kHz\n",
                     (unsigned long)to_main, (unsigned long)to_exit, (unsigned long)(hz / 1000));
    if (n > 0)
        mirc_plat_console_write(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

_Noreturn void mirc_plat_exit(int status)
{
    if (!x86_fault_reporting) { /* a fault report: the devices may be what faulted */
        if (kvm_virtio)         /* QEMU stops at once: frames still queued would be lost */
            kvm_virtio->flush();
        if (boot_times) {
            boot_times = 0; /* once, even if measuring aborts */
            print_boot_times();
        }
    }
    /*
     * isa-debug-exit makes QEMU exit with (value << 1) | 1. Statuses 0..126
     * are sent as status + 1, so QEMU exits with 3..255 and `mirc run` maps
     * that back; 1 stays QEMU's own error status. An abort (255) has no
     * code left: it powers off, and QEMU's exit status 0 means "abort".
     */
    if (status >= 0 && status <= MIRC_EXIT_MAX)
        x86_outl(DEBUG_EXIT_PORT, (uint32_t)status + 1);
    x86_target_halt();
}

void x86_target_raw_write(const char *buf, size_t len)
{
    if (len)
        x86_outsb(COM1, buf, len);
}

_Noreturn void x86_target_halt(void)
{
    /* on the trap path: ACPI's tables and what we parsed of them are ring-3 memory */
    if (x86_on_trap_path()) {
        x86_outb(0xcf9, 0x06);
        x86_reset();
    }
    /* no isa-debug-exit (urunc, plain QEMU) or an abort: ACPI S5, as a real machine */
    if (kvm_acpi_poweroff())
        for (;;)
            x86_halt_forever();
    /* no ACPI: the PCI reset register on pc/q35, else a triple fault; -no-reboot exits */
    x86_outb(0xcf9, 0x06);
    x86_reset();
}

void x86_target_early(void)
{
}

uint64_t x86_target_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c, const char **refused)
{
    (void)op;
    (void)a;
    (void)b;
    (void)c;
    *refused = "no such gate operation (the kvm target adds none)";
    return 0;
}

int x86_target_args(int argc, char **argv)
{
    return kvm_strip_platform_words(argc, argv);
}
