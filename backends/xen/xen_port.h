/* backends/xen/xen_port.h: the hypervisor services the Xen protocol code needs, and nothing else.
 */
#ifndef MIRC_XEN_PORT_H
#define MIRC_XEN_PORT_H

/*
 * The xen backend is split in two along this header. Above it, pure protocol
 * logic that compiles for the host and is unit-tested against simulated back
 * ends: grant tables (gnttab.c), the xenstore client (xenstore.c), the PV
 * console ring (xencons.c), xenbus state handling (xenbus.c), netfront,
 * blkfront, and the platform.h device functions (devices.c). Below it, the
 * platform: hypercalls, the HVM callback vector, the clock. The protocol code
 * reaches the hypervisor only through a struct xen_port, so the platform glue
 * supplies one of these and the simulation in tests/unit/xen supplies another.
 *
 * Grant table entries are written directly by the protocol code (v1 grants
 * need no hypercall); the platform maps the table frames and hands them over
 * (xen_gnttab_init). Shared ring pages are ordinary guest pages from
 * page_alloc, made visible to a back end by granting their frame.
 *
 * Memory barriers are CPU-level, not hypervisor calls, so they are macros
 * here rather than port functions: compiler fences (the GCC/Clang builtins
 * behind C11's, without newlib's stdatomic.h), which on x86-64 are mfence for
 * xen_mb and compiler barriers for the others (x86 stores are not reordered
 * with other stores, nor loads with loads).
 */

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00 /* Xen 4.14+: grant_entry_v1, xen_mb() are ours */
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>

#include <xen/event_channel.h>
#include <xen/grant_table.h>

#include "mirc/mirc.h" /* mirc_status, MIRC_ASSERT, mirc_log */

#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#define XEN_PAGE_SIZE  4096u
#define XEN_PAGE_SHIFT 12

/*
 * The services, as a table of functions and the context passed to each. None
 * may be NULL. All are called from the single thread that runs the unikernel;
 * none of them is called from inside another.
 */
struct xen_port_ops {
    /*
     * Signals event channel `port` (EVTCHNOP_send). Never blocks; an invalid
     * port is ignored (the protocol code only passes ports it allocated or
     * was given by the toolstack).
     */
    void (*notify)(void *ctx, evtchn_port_t port);
    /*
     * Allocates an unbound event channel that domain `remote` may bind
     * (EVTCHNOP_alloc_unbound) and stores it in *port. Returns MIRC_OK or
     * MIRC_NO_MEMORY (no free channel).
     */
    mirc_status (*evtchn_alloc)(void *ctx, domid_t remote, evtchn_port_t *port);
    /* Closes a channel from evtchn_alloc (EVTCHNOP_close). */
    void (*evtchn_close)(void *ctx, evtchn_port_t port);
    /*
     * Returns one zeroed, page-aligned page of XEN_PAGE_SIZE bytes, owned by
     * the caller until page_free, or NULL when memory is exhausted. Called
     * when devices are opened, never on a data path.
     */
    void *(*page_alloc)(void *ctx);
    void (*page_free)(void *ctx, void *page);
    /* The guest frame number (GFN) of a page returned by page_alloc. */
    uint64_t (*frame)(void *ctx, const void *page);
    /* Monotonic time in ns; never goes backwards. */
    uint64_t (*now)(void *ctx);
    /*
     * Sleeps until any event channel of this domain may have fired since the
     * last call, or the monotonic clock reaches `deadline` (ns), whichever is
     * first; may return early, spuriously. A deadline in the past returns at
     * once. The protocol code re-checks its rings after every return, so the
     * platform need not say which channel fired (SCHEDOP_block with a
     * single-shot timer is enough).
     */
    void (*wait)(void *ctx, uint64_t deadline);
};

struct xen_port {
    const struct xen_port_ops *ops;
    void *ctx;
};

static inline void xen_notify(const struct xen_port *p, evtchn_port_t port)
{
    p->ops->notify(p->ctx, port);
}

static inline uint64_t xen_now(const struct xen_port *p)
{
    return p->ops->now(p->ctx);
}

static inline void xen_wait(const struct xen_port *p, uint64_t deadline)
{
    p->ops->wait(p->ctx, deadline);
}

/* deadline = now + ns, saturating. */
static inline uint64_t xen_deadline(const struct xen_port *p, uint64_t ns)
{
    uint64_t now = xen_now(p);
    return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

#endif
