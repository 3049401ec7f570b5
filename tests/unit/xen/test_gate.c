/* tests/unit/xen/test_gate.c: the hypercalls ring 3 may make through the gate (xen_gate.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "xen_gate.h"
#include "xen_hv.h"

#include <xen/event_channel.h>
#include <xen/grant_table.h>

/*
 * The "guest": user memory is the `user` array (and the page `user_page`);
 * everything else, ring-0 memory included, is not user-accessible.
 */
static union {
    struct evtchn_send send;
    struct evtchn_alloc_unbound alloc;
    struct evtchn_bind_virq bind;
    struct xen_hvm_param param;
    struct xen_add_to_physmap physmap;
    struct gnttab_query_size query;
    struct sched_shutdown shutdown;
    struct vcpu_set_singleshot_timer timer;
    char bytes[64];
} user;
static char user_page[4096] __attribute__((aligned(4096)));
static char ring0[64];

static int in(uint64_t va, uint64_t len, const void *base, size_t size)
{
    uint64_t b = (uint64_t)(uintptr_t)base;
    return va >= b && len <= size && va - b <= size - len;
}

static int user_access(uint64_t va, uint64_t len, int write)
{
    (void)write;
    return in(va, len, &user, sizeof user) || in(va, len, user_page, sizeof user_page);
}

static uint64_t u(void)
{
    return (uint64_t)(uintptr_t)&user;
}

static const char *check(unsigned nr, uint64_t a, uint64_t b, uint64_t c)
{
    return xen_gate_check(nr, a, b, c, user_access);
}

static void clear(void)
{
    memset(&user, 0, sizeof user);
}

TestSuite(gate, .init = clear);

Test(gate, the_hypercalls_mirc_makes_are_allowed)
{
    cr_assert_null(check(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0));
    user.shutdown.reason = SHUTDOWN_crash;
    cr_assert_null(check(__HYPERVISOR_sched_op, SCHEDOP_shutdown, u(), 0));
    cr_assert_null(check(__HYPERVISOR_event_channel_op, EVTCHNOP_send, u(), 0));
    cr_assert_null(check(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, u(), 0));
    user.alloc.dom = DOMID_SELF;
    cr_assert_null(check(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, u(), 0));
    cr_assert_null(check(__HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 0, 0));
    cr_assert_null(check(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, u()));
    user.query.dom = DOMID_SELF;
    cr_assert_null(check(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, u(), 1));
}

Test(gate, hypercalls_and_suboperations_mirc_does_not_make_are_refused)
{
    cr_assert_str_eq(check(__HYPERVISOR_domctl, 0, 0, 0),
                     "a hypercall mirc does not make (see backends/xen/xen_gate.c)");
    cr_assert(check(__HYPERVISOR_mmu_update, 0, 0, 0));
    cr_assert(check(__HYPERVISOR_sched_op, SCHEDOP_remote_shutdown, u(), 0));
    cr_assert(check(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, u(), 0));
    cr_assert(check(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, u(), 0));
    cr_assert(check(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, u(), 1));
    cr_assert(check(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, u(), 2), "a batch");
    cr_assert(check(__HYPERVISOR_vcpu_op, VCPUOP_up, 0, 0));
    cr_assert(check(__HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 1, 0), "vCPU 1");
    cr_assert(check(__HYPERVISOR_hvm_op, HVMOP_flush_tlbs, 0, 0));
}

Test(gate, argument_structures_must_lie_wholly_in_user_memory)
{
    uint64_t r0 = (uint64_t)(uintptr_t)ring0;
    const char *why = "the argument structure is not wholly in user-writable memory";
    cr_assert_str_eq(check(__HYPERVISOR_event_channel_op, EVTCHNOP_send, r0, 0), why);
    cr_assert_str_eq(check(__HYPERVISOR_event_channel_op, EVTCHNOP_send, 0, 0), why);
    cr_assert_str_eq(check(__HYPERVISOR_sched_op, SCHEDOP_shutdown, r0, 0), why);
    cr_assert_str_eq(check(__HYPERVISOR_hvm_op, HVMOP_get_param, r0, 0), why);
    cr_assert_str_eq(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, r0, 0), why);
    cr_assert_str_eq(check(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, r0, 1), why);
    cr_assert_str_eq(check(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, r0), why);
    /* the last bytes of user memory, with the structure running past them */
    uint64_t edge = u() + sizeof user - sizeof(struct evtchn_bind_virq) + 1;
    cr_assert_str_eq(check(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, edge, 0), why);
    cr_assert_null(check(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, edge - 1, 0));
}

Test(gate, add_to_physmap_only_maps_xen_pages_onto_user_pages_of_this_domain)
{
    user.physmap = (struct xen_add_to_physmap){
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_grant_table,
        .idx = 3,
        .gpfn = (uintptr_t)user_page >> 12,
    };
    cr_assert_null(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, u(), 0));
    user.physmap.space = XENMAPSPACE_shared_info;
    cr_assert_null(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, u(), 0));
    user.physmap.gpfn = (uintptr_t)ring0 >> 12;
    cr_assert_str_eq(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, u(), 0),
                     "XENMEM_add_to_physmap onto a page that is not user-writable memory");
    user.physmap.gpfn = UINT64_MAX;
    cr_assert(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, u(), 0), "overflows");
    user.physmap.gpfn = (uintptr_t)user_page >> 12;
    user.physmap.space = XENMAPSPACE_gmfn;
    cr_assert(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, u(), 0));
    user.physmap.space = XENMAPSPACE_shared_info;
    user.physmap.domid = 0;
    cr_assert_str_eq(check(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, u(), 0),
                     "XENMEM_add_to_physmap for another domain");
}

Test(gate, hvm_params_only_the_console_xenstore_and_callback_vector)
{
    user.param = (struct xen_hvm_param){ .domid = DOMID_SELF, .index = HVM_PARAM_STORE_PFN };
    cr_assert_null(check(__HYPERVISOR_hvm_op, HVMOP_get_param, u(), 0));
    user.param.index = HVM_PARAM_CONSOLE_EVTCHN;
    cr_assert_null(check(__HYPERVISOR_hvm_op, HVMOP_get_param, u(), 0));
    user.param.index = HVM_PARAM_IOREQ_PFN;
    cr_assert(check(__HYPERVISOR_hvm_op, HVMOP_get_param, u(), 0));
    user.param.index = HVM_PARAM_STORE_PFN;
    user.param.domid = 0;
    cr_assert(check(__HYPERVISOR_hvm_op, HVMOP_get_param, u(), 0), "dom0's parameter");

    user.param = (struct xen_hvm_param){
        .domid = DOMID_SELF,
        .index = HVM_PARAM_CALLBACK_IRQ,
        .value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | 0x40,
    };
    cr_assert_null(check(__HYPERVISOR_hvm_op, HVMOP_set_param, u(), 0));
    user.param.value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | 14;
    cr_assert(check(__HYPERVISOR_hvm_op, HVMOP_set_param, u(), 0), "an exception vector");
    user.param.value = 5; /* a GSI */
    cr_assert(check(__HYPERVISOR_hvm_op, HVMOP_set_param, u(), 0));
    user.param.value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | 1ull << 20 | 0x40;
    cr_assert(check(__HYPERVISOR_hvm_op, HVMOP_set_param, u(), 0), "stray bits");
    user.param.index = HVM_PARAM_STORE_PFN;
    user.param.value = 0x1234;
    cr_assert_str_eq(check(__HYPERVISOR_hvm_op, HVMOP_set_param, u(), 0),
                     "an HVM parameter mirc does not set");
}

Test(gate, only_poweroff_and_crash_and_only_this_domains_channels)
{
    user.shutdown.reason = SHUTDOWN_poweroff;
    cr_assert_null(check(__HYPERVISOR_sched_op, SCHEDOP_shutdown, u(), 0));
    user.shutdown.reason = SHUTDOWN_suspend;
    cr_assert(check(__HYPERVISOR_sched_op, SCHEDOP_shutdown, u(), 0));
    user.alloc.dom = 0;
    cr_assert_str_eq(check(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, u(), 0),
                     "EVTCHNOP_alloc_unbound for another domain");
    user.query.dom = 1;
    cr_assert(check(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, u(), 1));
}

Test(gate, the_hypercall_page_needs_xens_cpuid_leaves)
{
    uint32_t xen[4] = { 0x40000002, 0x566e6558u, 0x65584d4du, 0x4d4d566eu };
    cr_assert(xen_cpuid_is_xen(0x40000000, xen));
    cr_assert_not(xen_cpuid_is_xen(0x40000100, xen), "base+2 is missing at this base");
    xen[1] ^= 1;
    cr_assert_not(xen_cpuid_is_xen(0x40000000, xen));
}
