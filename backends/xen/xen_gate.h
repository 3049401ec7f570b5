/* backends/xen/xen_gate.h: which hypercalls ring 3 may make through the gate (pure, host-tested).
 */
#ifndef MIRC_XEN_GATE_H
#define MIRC_XEN_GATE_H

/*
 * Xen takes hypercalls only from ring 0, so the application (ring 3) makes
 * them through the x86_64 gate, which calls xen_gate_check first: only the
 * hypercalls and sub-operations mirc's own code makes, for this domain, with
 * every argument structure wholly in user-writable memory (Xen reads and
 * writes them with ring-0 rights), and the values that would let Xen write
 * elsewhere checked too: XENMEM_add_to_physmap only for shared_info and
 * grant-table frames, onto a user-writable page; HVMOP_set_param only for
 * the callback vector; HVMOP_get_param only for the console and xenstore
 * parameters. Everything else is refused.
 *
 * Returns NULL (allowed) or a one-line reason. `a`, `b`, `c` are the
 * hypercall's first three arguments as xen_hypercall() passes them.
 * Argument structures are read through their (checked) addresses, so in the
 * guest this runs in ring 0 with the application stopped.
 */

#include <stdint.h>

typedef int (*xen_user_access_fn)(uint64_t va, uint64_t len, int write);

const char *xen_gate_check(unsigned nr, uint64_t a, uint64_t b, uint64_t c,
                           xen_user_access_fn user_access);

/*
 * Whether CPUID leaf `base` (r = eax, ebx, ecx, edx) is Xen's: the signature
 * "XenVMMXenVMM" and at least base+2 (the hypercall-page MSR leaf).
 */
int xen_cpuid_is_xen(uint32_t base, const uint32_t r[4]);

/* The gate operation (X86_SYS_TARGET + this) that installs the hypercall page: (CPUID base). */
#define XEN_SYS_HYPERCALL_PAGE 128

#endif
