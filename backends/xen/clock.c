/* backends/xen/clock.c: monotonic and wall time from Xen's pvclock; waiting on a one-shot timer. */
#include "xen_platform.h"

#include "clockmath.h"
#include "mirc/mirc.h"

#include <xen/event_channel.h>

static evtchn_port_t timer_port;
static uint64_t last_ns;

/* lfence orders the TSC read after the loads of the time info before it */
static uint64_t tsc_ordered(void)
{
    x86_rmb();
    return x86_rdtsc();
}

static const volatile struct vcpu_time_info *time_info(void)
{
    return &xen_shared->vcpu_info[0].time;
}

static int clock_up;

static uint64_t system_ns(void)
{
    uint64_t ns = xen_pvclock_ns(time_info(), tsc_ordered);
    if (ns == 0 && clock_up) { /* it worked at boot: Xen broke it since */
        clock_up = 0;          /* the panic's own clock reads must not come back here */
        mirc_panic("Xen's vCPU time info became unreadable (emptied, or its version stayed odd "
                   "over %u reads)",
                   (unsigned)X86_PVCLOCK_TRIES);
    }
    return ns;
}

const char *xen_clock_init(void)
{
    /* Xen fills vCPU 0's time info whenever it schedules it; yield once if it has not yet */
    if (system_ns() == 0)
        xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0);
    if (system_ns() == 0)
        return "Xen left the vCPU time info empty or unreadable (no pvclock)";
    clock_up = 1;
    struct evtchn_bind_virq b = { .virq = VIRQ_TIMER, .vcpu = 0 };
    long r = xen_hypercall_p(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, &b);
    if (r != 0)
        return "cannot bind the timer VIRQ (EVTCHNOP_bind_virq failed)";
    timer_port = b.port;
    struct evtchn_unmask u = { .port = timer_port };
    xen_hypercall_p(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask, &u);
    /* only our one-shot timer wakes us: no periodic tick (an error just means there is none) */
    xen_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 0, 0);
    return NULL;
}

uint64_t mirc_plat_monotonic(void)
{
    if (!xen_shared) /* before boot mapped it: nothing measures time that early */
        return XEN_MONO_BASE_NS;
    uint64_t ns = XEN_MONO_BASE_NS + system_ns();
    if (ns < last_ns) /* Xen's updates may step back a little; the API may not */
        ns = last_ns;
    last_ns = ns;
    return ns;
}

uint64_t mirc_plat_wall(void)
{
    if (!xen_shared)
        return 0;
    return xen_wall_ns(xen_shared, system_ns());
}

/* Called by backends/x86_64 on the first TSC-clock read: the rate is the pvclock's. */
uint64_t x86_target_tsc_hz(void)
{
    return xen_shared ? xen_pvclock_hz(time_info()) : 0; /* x86_64/tsccal.c checks it */
}

void xen_wait_until(uint64_t deadline)
{
    struct shared_info *s = xen_shared;
    if (xen_evtchn_take(s)) /* something fired since the last wait: the caller re-checks */
        return;
    if (deadline <= mirc_plat_monotonic())
        return;
    if (deadline != UINT64_MAX) {
        /* flags 0: a deadline that passed meanwhile fires at once */
        struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline - XEN_MONO_BASE_NS };
        xen_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, /* vCPU */
                      (uint64_t)(uintptr_t)&t);
    }
    /*
     * Interrupts are enabled only for this halt; an event that arrived after
     * the take above has set evtchn_upcall_pending, so Xen injects the upcall
     * as soon as they are and the halt ends at once.
     */
    x86_halt_once();
    (void)xen_evtchn_take(s);
}
