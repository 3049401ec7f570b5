/* backends/xen/xen_gate.c: the hypercall allowlist the gate applies to ring 3 (see xen_gate.h). */
#include "xen_gate.h"
#include "xen_hv.h"

#include <xen/event_channel.h>
#include <xen/grant_table.h>

/* "XenVMMXenVMM" in ebx, ecx, edx */
#define XEN_SIG_EBX 0x566e6558u
#define XEN_SIG_ECX 0x65584d4du
#define XEN_SIG_EDX 0x4d4d566eu
#define PAGE_SHIFT  12
#define PAGE_SIZE   4096u

/* The argument structure at `p` (size bytes), which Xen may both read and write. */
#define ARG(p, type) ((const volatile type *)(uintptr_t)(p))

int xen_cpuid_is_xen(uint32_t base, const uint32_t r[4])
{
    return r[1] == XEN_SIG_EBX && r[2] == XEN_SIG_ECX && r[3] == XEN_SIG_EDX && r[0] >= base + 2;
}

static const char *arg_ok(xen_user_access_fn user_access, uint64_t p, uint64_t size)
{
    return user_access(p, size, 1) ? NULL
                                   : "the argument structure is not wholly in user-writable memory";
}

static const char *event_channel_op(uint64_t cmd, uint64_t p, xen_user_access_fn ua)
{
    switch (cmd) {
    case EVTCHNOP_send:
        return arg_ok(ua, p, sizeof(struct evtchn_send));
    case EVTCHNOP_unmask:
        return arg_ok(ua, p, sizeof(struct evtchn_unmask));
    case EVTCHNOP_close:
        return arg_ok(ua, p, sizeof(struct evtchn_close));
    case EVTCHNOP_bind_virq:
        return arg_ok(ua, p, sizeof(struct evtchn_bind_virq));
    case EVTCHNOP_alloc_unbound: {
        const char *why = arg_ok(ua, p, sizeof(struct evtchn_alloc_unbound));
        if (why)
            return why;
        return ARG(p, struct evtchn_alloc_unbound)->dom == DOMID_SELF
                   ? NULL
                   : "EVTCHNOP_alloc_unbound for another domain";
    }
    }
    return "an event_channel_op sub-operation mirc does not make";
}

static const char *hvm_op(uint64_t cmd, uint64_t p, xen_user_access_fn ua)
{
    if (cmd != HVMOP_get_param && cmd != HVMOP_set_param)
        return "an hvm_op sub-operation mirc does not make";
    const char *why = arg_ok(ua, p, sizeof(struct xen_hvm_param));
    if (why)
        return why;
    const volatile struct xen_hvm_param *h = ARG(p, struct xen_hvm_param);
    if (h->domid != DOMID_SELF)
        return "an HVM parameter of another domain";
    if (cmd == HVMOP_get_param) {
        uint32_t i = h->index;
        return i == HVM_PARAM_CONSOLE_PFN || i == HVM_PARAM_CONSOLE_EVTCHN ||
                       i == HVM_PARAM_STORE_PFN || i == HVM_PARAM_STORE_EVTCHN
                   ? NULL
                   : "an HVM parameter mirc does not read";
    }
    uint64_t v = h->value, vector = v & 0xff;
    if (h->index != HVM_PARAM_CALLBACK_IRQ)
        return "an HVM parameter mirc does not set";
    if (v >> 56 != HVM_PARAM_CALLBACK_TYPE_VECTOR || (v & ~(0xffull << 56) & ~0xffull) ||
        vector < 32)
        return "the event callback must be a vector of 32..255";
    return NULL;
}

static const char *memory_op(uint64_t cmd, uint64_t p, xen_user_access_fn ua)
{
    if (cmd != XENMEM_add_to_physmap)
        return "a memory_op sub-operation mirc does not make";
    const char *why = arg_ok(ua, p, sizeof(struct xen_add_to_physmap));
    if (why)
        return why;
    const volatile struct xen_add_to_physmap *x = ARG(p, struct xen_add_to_physmap);
    if (x->domid != DOMID_SELF)
        return "XENMEM_add_to_physmap for another domain";
    if (x->space != XENMAPSPACE_shared_info && x->space != XENMAPSPACE_grant_table)
        return "XENMEM_add_to_physmap of a space other than shared_info and grant_table";
    uint64_t gpfn = x->gpfn;
    if (gpfn > UINT64_MAX >> PAGE_SHIFT || !ua(gpfn << PAGE_SHIFT, PAGE_SIZE, 1))
        return "XENMEM_add_to_physmap onto a page that is not user-writable memory";
    return NULL;
}

static const char *grant_table_op(uint64_t cmd, uint64_t p, uint64_t count, xen_user_access_fn ua)
{
    if (cmd != GNTTABOP_query_size || count != 1)
        return "a grant_table_op other than one GNTTABOP_query_size";
    const char *why = arg_ok(ua, p, sizeof(struct gnttab_query_size));
    if (why)
        return why;
    return ARG(p, struct gnttab_query_size)->dom == DOMID_SELF
               ? NULL
               : "GNTTABOP_query_size for another domain";
}

const char *xen_gate_check(unsigned nr, uint64_t a, uint64_t b, uint64_t c,
                           xen_user_access_fn user_access)
{
    switch (nr) {
    case __HYPERVISOR_sched_op:
        if (a == SCHEDOP_yield)
            return NULL;
        if (a == SCHEDOP_shutdown) {
            const char *why = arg_ok(user_access, b, sizeof(struct sched_shutdown));
            if (why)
                return why;
            unsigned reason = ARG(b, struct sched_shutdown)->reason;
            return reason == SHUTDOWN_poweroff || reason == SHUTDOWN_crash
                       ? NULL
                       : "a shutdown reason other than poweroff and crash";
        }
        return "a sched_op sub-operation mirc does not make";
    case __HYPERVISOR_event_channel_op:
        return event_channel_op(a, b, user_access);
    case __HYPERVISOR_hvm_op:
        return hvm_op(a, b, user_access);
    case __HYPERVISOR_memory_op:
        return memory_op(a, b, user_access);
    case __HYPERVISOR_grant_table_op:
        return grant_table_op(a, b, c, user_access);
    case __HYPERVISOR_vcpu_op:
        if (b != 0)
            return "a vCPU other than 0";
        if (a == VCPUOP_stop_periodic_timer)
            return NULL;
        if (a == VCPUOP_set_singleshot_timer)
            return arg_ok(user_access, c, sizeof(struct vcpu_set_singleshot_timer));
        return "a vcpu_op sub-operation mirc does not make";
    }
    return "a hypercall mirc does not make (see backends/xen/xen_gate.c)";
}
