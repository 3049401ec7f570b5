/* backends/xen/hypercall.c: the ring-0 half: hypercall page and gate, event upcall, shutdown. */

/*
 * Compiled like backends/x86_64's ring-0 code (-mgeneral-regs-only, no stack
 * protector): the gate runs here, between application instructions whose
 * vector registers it must not touch. What ring 0 relies on is X86_KERNEL
 * memory; xen_hypercalls_ready is only ring 3's copy.
 */
#include "xen_gate.h"
#include "xen_platform.h"

#define DEBUG_PORT      0xe9 /* Xen's HVM debug console (`xl dmesg`); QEMU's -debugcon */
#define DEBUG_EXIT_PORT 0xf4 /* QEMU's isa-debug-exit, where the image runs without Xen */
#define HYPERCALL_SLOTS (4096 / 32)

/*
 * The hypercall page: Xen writes a 32-byte stub per hypercall here when the
 * guest writes its address to the MSR named by CPUID base+2. It sits in
 * .text (Xen writes it through the physical address, so it can stay
 * read-only and executable in our tables). int3 until then.
 */
__asm__(".pushsection .text.xen_hypercall_page, \"ax\", @progbits\n"
        ".balign 4096\n"
        ".globl xen_hypercall_page\n"
        "xen_hypercall_page:\n"
        ".fill 4096, 1, 0xcc\n"
        ".popsection\n");

volatile int xen_hypercalls_ready;
struct shared_info *volatile xen_shared;
static int page_installed X86_KERNEL;

long xen_hypercall_ring0(unsigned nr, uint64_t a, uint64_t b, uint64_t c)
{
    long r;
    /* 64-bit ABI: arguments in rdi, rsi, rdx (r10, r8 unused), result in rax; Xen may clobber
     * the argument registers */
    __asm__ volatile("call *%[fn]"
                     : "=a"(r), "+D"(a), "+S"(b), "+d"(c)
                     : [fn] "r"(xen_hypercall_page + (size_t)nr * 32)
                     : "memory", "cc", "rcx", "r8", "r10", "r11");
    return r;
}

/* Ring 0: the MSR that CPUID leaf base+2 names gets the page's address (once). */
static const char *install_page(uint64_t base)
{
    uint32_t r[4];
    if (page_installed)
        return "the hypercall page is installed once, at boot";
    if (base < 0x40000000u || base > 0x4000ff00u || (base & 0xff))
        return "not a hypervisor CPUID base";
    x86_cpuid((uint32_t)base, 0, r);
    if (!xen_cpuid_is_xen((uint32_t)base, r))
        return "no Xen CPUID leaves at this base";
    x86_cpuid((uint32_t)base + 2, 0, r);
    x86_wrmsr(r[1], x86_virt_to_phys(xen_hypercall_page));
    page_installed = 1;
    return NULL;
}

void xen_hypercall_page_install(uint32_t base)
{
    if (x86_cpl())
        x86_sys(X86_SYS_TARGET + XEN_SYS_HYPERCALL_PAGE, base, 0);
    else
        (void)install_page(base);
    xen_hypercalls_ready = 1;
}

/* The gate's target operations: X86_SYS_TARGET + n is hypercall n (checked: xen_gate.c). */
uint64_t x86_target_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c, const char **refused)
{
    uint64_t nr = op - X86_SYS_TARGET;
    if (nr == XEN_SYS_HYPERCALL_PAGE) {
        *refused = install_page(a);
        return 0;
    }
    if (nr >= HYPERCALL_SLOTS)
        *refused = "no such gate operation";
    else if (!page_installed)
        *refused = "a hypercall before the hypercall page is installed";
    else
        *refused = xen_gate_check((unsigned)nr, a, b, c, x86_user_access);
    return *refused ? 0 : (uint64_t)xen_hypercall_ring0((unsigned)nr, a, b, c);
}

/*
 * The HVM callback vector. Xen injects it while vCPU 0's
 * evtchn_upcall_pending is set (it is not a LAPIC interrupt: no EOI), so
 * ring 0 clears the flag (x86_64's X86_IRQ_ZERO8), or the vector would come
 * back as soon as interrupts are enabled again. Which ports fired is read in
 * ring 3 by xen_evtchn_take after the halt.
 */
void xen_upcall_install(void)
{
    x86_irq_set(XEN_UPCALL_VECTOR, X86_IRQ_ZERO8, &xen_shared->vcpu_info[0].evtchn_upcall_pending);
}

void xen_debug_write(const char *buf, size_t len)
{
    if (len)
        x86_outsb(DEBUG_PORT, buf, len);
}

void x86_target_raw_write(const char *buf, size_t len)
{
    xen_debug_write(buf, len);
}

_Noreturn void xen_shutdown(unsigned reason)
{
    /* on the trap path, ring 0's own flag: ring 3 can write xen_hypercalls_ready */
    if (x86_on_trap_path() ? page_installed : xen_hypercalls_ready) {
        struct sched_shutdown sd = { .reason = reason };
        xen_hypercall_p(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &sd);
        for (;;) /* Xen stops the domain; nothing runs after the hypercall */
            x86_halt_forever();
    }
    x86_outl(DEBUG_EXIT_PORT, MIRC_EXIT_ABORT); /* QEMU exits with status 255 ... */
    /* ... from its main loop, a moment later: wait ~2^30 TSC ticks before resetting (for a
     * QEMU without the device; with -no-reboot it exits too) */
    uint64_t t0 = x86_rdtsc();
    while (x86_rdtsc() - t0 < (1ull << 30))
        __asm__ volatile("pause");
    x86_reset();
}

_Noreturn void x86_target_halt(void)
{
    xen_shutdown(SHUTDOWN_crash);
}
