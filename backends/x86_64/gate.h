/* backends/x86_64/gate.h: what the ring-3 gate allows (pure checks, unit-tested on the host). */
#ifndef MIRC_X86_GATE_H
#define MIRC_X86_GATE_H

/*
 * Each check returns NULL when the operation is allowed, else a one-line
 * reason (a static string) that the fault report prints after the
 * operation's name and arguments. trap.c runs them in ring 0 before it acts;
 * nothing here touches the CPU, so tests/unit/x86_64 drives them with page
 * tables built on the host.
 *
 * `user_access(va, len, write)` answers whether every page of the range is
 * present and user-accessible (and writable) in the live tables; the guest
 * passes x86_user_access.
 */

#include <stdint.h>

typedef int (*x86_user_access_fn)(uint64_t va, uint64_t len, int write);

/*
 * MSRs: only those mirc's own code uses, each only for the accesses it
 * makes (read or write). Values are checked where the MSR makes the host
 * write guest memory (kvmclock: the structure must lie wholly in
 * user-writable memory) or moves something (IA32_APIC_BASE: the base stays
 * at 0xfee00000; only the enable and x2APIC bits may change).
 */
const char *x86_gate_check_msr(x86_user_access_fn user_access, uint64_t msr, int write,
                               uint64_t value);

/*
 * X86_SYS_MAP: the page-rounded range must be non-empty, below 512 GiB,
 * off page 0 and off [protect_lo, protect_hi) (the image, its kernel pages
 * and the page-table pool). Whether the range overlaps RAM is
 * x86_mmio_map's own check.
 */
const char *x86_gate_check_map(uint64_t pa, uint64_t len, uint64_t protect_lo, uint64_t protect_hi);

/* X86_SYS_OUT / X86_SYS_IN: the access size is 1, 2 or 4 (any port: see README.md). */
const char *x86_gate_check_io(uint64_t size);

/* X86_SYS_OUTSB: the whole buffer must be user-readable. */
const char *x86_gate_check_buffer(x86_user_access_fn user_access, uint64_t buf, uint64_t len);

/*
 * X86_SYS_IRQ: vector 32..255, a known acknowledgement, and for the ZERO
 * kinds an address that is user-writable (and 4-aligned for ZERO32): ring 0
 * later writes there on the application's behalf.
 */
const char *x86_gate_check_irq(x86_user_access_fn user_access, uint64_t vector, uint64_t ack,
                               uint64_t addr);

/* The operation's name for reports ("WRMSR", "hypercall 29", "op 57"); buf holds >= 24 bytes. */
const char *x86_gate_op_name(uint64_t op, char *buf);

#endif
