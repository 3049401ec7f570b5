/* backends/xen/xen_platform.h: what the xen platform files share (hypercalls, events, time). */
#ifndef MIRC_XEN_PLATFORM_H
#define MIRC_XEN_PLATFORM_H

/*
 * The platform half of the xen backend (see xen_port.h for the protocol
 * half): a PVH domU booted through backends/x86_64, whose application runs
 * in ring 3. Xen accepts hypercalls only from ring 0, so xen_hypercall()
 * goes through the x86_64 gate (op X86_SYS_TARGET + hypercall number) when
 * called from ring 3 and calls the hypercall page directly in ring 0.
 *
 * Files: hypercall.c (ring 0: the hypercall page, the gate operations, the
 * event-channel upcall handler, power-off), platform.c (ring 3: boot,
 * console, exit, the xen_port), clock.c (pvclock time, the single-shot
 * timer, wait), and the pure helpers of xen_hv.h (xen_hv.c), which compile
 * for the host and are unit-tested in tests/unit/xen.
 *
 * Memory the platform claims (identity-mapped, documented in README.md):
 * the hypercall page in .text; shared_info and the grant-table frames on
 * page-aligned .bss pages, whose RAM Xen releases when it maps its own
 * frames there (XENMEM_add_to_physmap, as Linux does for PVH); the console
 * and xenstore rings where the toolstack put them (HVM params, special pages
 * below 4 GiB).
 */

#include <stdint.h>

#include "x86.h"
#include "xen_hv.h"

/* The event-channel upcall's interrupt vector (x86_64's IDT has stubs for 32..95). */
#define XEN_UPCALL_VECTOR 0x40

/* --- hypercalls (hypercall.c) --- */

/* Set once the hypercall page is installed: no hypercall before that. */
extern volatile int xen_hypercalls_ready;
/* shared_info once mapped, else NULL. */
extern struct shared_info *volatile xen_shared;

/*
 * Any ring, once: writes the hypercall page's address to the MSR that CPUID
 * leaf base+2 names (base: xen_cpuid_base), through the gate from ring 3,
 * and sets xen_hypercalls_ready.
 */
void xen_hypercall_page_install(uint32_t base);

/* The page Xen fills with hypercall stubs (32 bytes each), in .text. */
extern char xen_hypercall_page[];

/* In ring 0 only: calls hypercall `nr` with up to three arguments; returns Xen's result. */
long xen_hypercall_ring0(unsigned nr, uint64_t a, uint64_t b, uint64_t c);

/*
 * Any ring: a hypercall with up to three arguments (pointers may point
 * anywhere the application can read and write). Returns Xen's result:
 * 0 or a positive value on success, a negative Xen errno on failure. From
 * ring 3 the gate allows only what xen_gate.c lists; anything else stops
 * the application with the reason and status 255.
 */
static inline long xen_hypercall(unsigned nr, uint64_t a, uint64_t b, uint64_t c)
{
    if (x86_cpl())
        return (long)x86_sys3((enum x86_sys_op)(X86_SYS_TARGET + nr), a, b, c);
    return xen_hypercall_ring0(nr, a, b, c);
}

static inline long xen_hypercall_p(unsigned nr, uint64_t a, const void *p)
{
    return xen_hypercall(nr, a, (uint64_t)(uintptr_t)p, 0);
}

/* Has ring 0 clear evtchn_upcall_pending on XEN_UPCALL_VECTOR (ring 3, at boot, xen_shared set). */
void xen_upcall_install(void);

/*
 * Any ring: SCHEDOP_shutdown with `reason` (SHUTDOWN_*). Without Xen (the
 * image under plain QEMU) it writes 255 to QEMU's isa-debug-exit port 0xf4
 * and resets, so QEMU exits rather than hangs.
 */
_Noreturn void xen_shutdown(unsigned reason);

/* Writes to port 0xe9 (Xen's console for HVM guests, `xl dmesg`); any ring, no state needed. */
void xen_debug_write(const char *buf, size_t len);

/* --- time (clock.c) --- */

/* Checks the vCPU time info and binds the timer VIRQ. Returns 0, or a reason it cannot. */
const char *xen_clock_init(void);
/* Blocks until an event channel fires or the monotonic clock reaches deadline (ns). */
void xen_wait_until(uint64_t deadline);

#endif
