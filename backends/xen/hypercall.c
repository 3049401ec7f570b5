/* backends/xen/hypercall.c: the ring-0 half: hypercall page and gate, event upcall, shutdown. */

/*
 * Compiled like backends/x86_64's ring-0 code (-mgeneral-regs-only, no stack
 * protector): the gate and the upcall handler run here, between application
 * instructions whose vector registers they must not touch.
 */
#include "xen_platform.h"

#define DEBUG_PORT      0xe9 /* Xen's HVM debug console (`xl dmesg`); QEMU's -debugcon */
#define DEBUG_EXIT_PORT 0xf4 /* QEMU's isa-debug-exit, where the image runs without Xen */
#define XEN_ENOSYS      38
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
volatile uint64_t xen_upcalls;
struct shared_info *volatile xen_shared;

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

/* The gate's target operations: X86_SYS_TARGET + n is hypercall n. */
uint64_t x86_target_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t nr = op - X86_SYS_TARGET;
    if (!xen_hypercalls_ready || nr >= HYPERCALL_SLOTS)
        return (uint64_t)-XEN_ENOSYS;
    return (uint64_t)xen_hypercall_ring0((unsigned)nr, a, b, c);
}

/*
 * The HVM callback vector. Xen injects it while vCPU 0's
 * evtchn_upcall_pending is set (it is not a LAPIC interrupt: no EOI), so
 * the handler clears the flag, or the vector would come back as soon as
 * interrupts are enabled again. Which ports fired is read in ring 3 by
 * xen_evtchn_take after the halt.
 */
static void upcall(int vector)
{
    (void)vector;
    struct shared_info *s = xen_shared;
    if (s)
        s->vcpu_info[0].evtchn_upcall_pending = 0;
    xen_upcalls++;
}

void xen_upcall_install(void)
{
    x86_irq_set(XEN_UPCALL_VECTOR, upcall);
}

void xen_debug_write(const char *buf, size_t len)
{
    if (len)
        x86_outsb(DEBUG_PORT, buf, len);
}

_Noreturn void xen_shutdown(unsigned reason)
{
    if (xen_hypercalls_ready) {
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
