/* backends/xen/xen_hv.h: pure helpers on Xen's shared structures (CPUID, events, time, exit). */
#ifndef MIRC_XEN_HV_H
#define MIRC_XEN_HV_H

/*
 * Everything here (xen_hv.c) is plain memory manipulation on structures Xen
 * defines (shared_info, vcpu_time_info) plus the exit-status protocol on
 * xenstore, with no hypercall and no privileged instruction, so it compiles
 * for the host and tests/unit/xen drives it against simulated structures and
 * the simulated xenstore daemon. The platform (xen_platform.h) calls it. Nothing
 * here blocks except xen_exit_publish (in port wait, bounded).
 */

#include <stdint.h>

#include "gnttab.h"
#include "xen_port.h"
#include "xenstore.h"

#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>

/* How many grant-table frames the platform maps (512 v1 entries each). */
#define XEN_GNTTAB_FRAMES (XEN_GNTTAB_MAX_REFS / 512)
/* Monotonic time is Xen's system time plus this, so "now minus a second" is never negative. */
#define XEN_MONO_BASE_NS (1000ull * 1000000000ull)
/* Where the exit status goes, relative to the domain's xenstore home. */
#define XEN_EXIT_STATUS_KEY "data/mirc-exit-status"

/* --- pure helpers (host-tested) --- */

/* Runs CPUID leaf `leaf` (subleaf 0) into r[0..3] = eax, ebx, ecx, edx. */
typedef void (*xen_cpuid_fn)(uint32_t leaf, uint32_t r[4]);

/*
 * Finds Xen's CPUID leaves: the first base in 0x40000000..0x4000ff00 (steps
 * of 0x100, since Viridian or other interfaces may come first) whose
 * signature is "XenVMMXenVMM" and which has at least base+2. Returns the
 * base, or 0 when this is not Xen.
 */
uint32_t xen_cpuid_base(xen_cpuid_fn cpuid);

/*
 * Takes every pending event of vCPU 0: clears evtchn_upcall_pending, the
 * selector and the pending bits of all unmasked ports (atomically against
 * Xen setting them). Returns non-zero if anything was pending. The protocol
 * code re-checks its rings after each wait, so nothing is dispatched.
 */
int xen_evtchn_take(struct shared_info *s);

/* Unmasks every port (the platform wants all of its events). */
void xen_evtchn_unmask_all(struct shared_info *s);

/*
 * Xen system time (ns) from a vCPU's time info and a TSC reading source:
 * system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32, read under
 * the version counter so a concurrent update is never half seen. Returns 0
 * while Xen has not filled the structure (mul == 0), or when the version
 * stayed odd or kept changing over X86_PVCLOCK_TRIES reads. Any shift is
 * safe (clockmath.h).
 */
uint64_t xen_pvclock_ns(const volatile struct vcpu_time_info *t, uint64_t (*tsc)(void));
/* The TSC frequency the time info describes, or 0 if it is empty, unreadable or absurd. */
uint64_t xen_pvclock_hz(const volatile struct vcpu_time_info *t);
/*
 * Wall-clock ns since the epoch for a given system time: shared_info's wc_*
 * plus system_ns; 0 when wc_version never settles.
 */
uint64_t xen_wall_ns(const volatile struct shared_info *s, uint64_t system_ns);

/*
 * The SCHEDOP_shutdown reason for an exit status: SHUTDOWN_poweroff for
 * 0..126 (the status itself is in xenstore), SHUTDOWN_crash for an abort
 * (255) or anything else.
 */
unsigned xen_exit_reason(int status);

/*
 * Publishes `status` (0..126) at XEN_EXIT_STATUS_KEY in the domain's
 * xenstore directory, where the toolstack can read it while the shut-down
 * domain is preserved (on_poweroff = "preserve"). May block in port wait up
 * to `timeout_ns`. Returns MIRC_OK, MIRC_INVALID (status outside 0..126:
 * nothing written) or the xenstore status.
 */
mirc_status xen_exit_publish(struct xen_xs *xs, int status, uint64_t timeout_ns);

#endif
