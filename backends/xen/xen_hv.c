/* backends/xen/xen_hv.c: Xen detection, event bits, pvclock and the exit protocol (pure). */
#include "xen_hv.h"
#include "clockmath.h"
#include "xen_gate.h"

uint32_t xen_cpuid_base(xen_cpuid_fn cpuid)
{
    for (uint32_t base = 0x40000000u; base < 0x40010000u; base += 0x100) {
        uint32_t r[4];
        cpuid(base, r);
        if (xen_cpuid_is_xen(base, r))
            return base;
    }
    return 0;
}

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

int xen_evtchn_take(struct shared_info *s)
{
    struct vcpu_info *v = &s->vcpu_info[0];
    /* the upcall flag first: an event from now on raises it (and the upcall) again */
    int any = __atomic_exchange_n(&v->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST) != 0;
    any |= __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST) != 0;
    /* every word, not only the selected ones: cheap (64 words), and robust to a stale selector */
    for (size_t i = 0; i < NWORDS(s->evtchn_pending); i++) {
        xen_ulong_t p = __atomic_load_n(&s->evtchn_pending[i], __ATOMIC_ACQUIRE) &
                        ~__atomic_load_n(&s->evtchn_mask[i], __ATOMIC_RELAXED);
        if (p) {
            __atomic_fetch_and(&s->evtchn_pending[i], ~p, __ATOMIC_SEQ_CST);
            any = 1;
        }
    }
    return any;
}

void xen_evtchn_unmask_all(struct shared_info *s)
{
    for (size_t i = 0; i < NWORDS(s->evtchn_mask); i++)
        __atomic_store_n(&s->evtchn_mask[i], 0, __ATOMIC_SEQ_CST);
}

uint64_t xen_pvclock_ns(const volatile struct vcpu_time_info *t, uint64_t (*tsc)(void))
{
    uint32_t version;
    uint64_t ns;
    do {
        version = t->version;
        xen_rmb();
        uint64_t stamp = t->tsc_timestamp, sys = t->system_time;
        uint32_t mul = t->tsc_to_system_mul;
        int8_t shift = t->tsc_shift;
        uint64_t now = tsc();
        xen_rmb();
        if (mul == 0)
            ns = 0;
        else /* a TSC read just before Xen's stamp counts as no time at all */
            ns = sys + (now > stamp ? x86_pvclock_scale(now - stamp, mul, shift) : 0);
    } while ((version & 1) || version != t->version);
    return ns;
}

uint64_t xen_pvclock_hz(const volatile struct vcpu_time_info *t)
{
    uint32_t version, mul;
    int8_t shift;
    do {
        version = t->version;
        xen_rmb();
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        xen_rmb();
    } while ((version & 1) || version != t->version);
    return x86_pvclock_hz(mul, shift);
}

uint64_t xen_wall_ns(const volatile struct shared_info *s, uint64_t system_ns)
{
    uint32_t version, sec, sec_hi, nsec;
    do {
        version = s->wc_version;
        xen_rmb();
        sec = s->wc_sec;
        sec_hi = s->wc_sec_hi;
        nsec = s->wc_nsec;
        xen_rmb();
    } while ((version & 1) || version != s->wc_version);
    return ((uint64_t)sec_hi << 32 | sec) * 1000000000ull + nsec + system_ns;
}

unsigned xen_exit_reason(int status)
{
    return status >= 0 && status <= MIRC_EXIT_MAX ? SHUTDOWN_poweroff : SHUTDOWN_crash;
}

mirc_status xen_exit_publish(struct xen_xs *xs, int status, uint64_t timeout_ns)
{
    if (status < 0 || status > MIRC_EXIT_MAX)
        return MIRC_INVALID;
    uint64_t saved = xs->xs_timeout;
    xs->xs_timeout = timeout_ns;
    mirc_status s = xen_xs_write_u64(xs, XEN_XS_NO_TX, XEN_EXIT_STATUS_KEY, (uint64_t)status);
    xs->xs_timeout = saved;
    return s;
}
