/* The platform's pure helpers (xen_hv.c): Xen detection, event bits, pvclock, the exit status. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "sim.h"
#include "xen_hv.h"

/* ---- CPUID: a table of leaves the fake CPU answers ---- */

struct leaf {
    uint32_t leaf, r[4];
};
static const struct leaf *leaves;
static size_t nleaves;
static unsigned cpuid_calls;

static void fake_cpuid(uint32_t leaf, uint32_t r[4])
{
    cpuid_calls++;
    for (size_t i = 0; i < nleaves; i++)
        if (leaves[i].leaf == leaf) {
            memcpy(r, leaves[i].r, 16);
            return;
        }
    memset(r, 0, 16);
}

#define XEN_SIG 0x566e6558u, 0x65584d4du, 0x4d4d566eu /* "XenVMMXenVMM" */
#define KVM_SIG 0x4b4d564bu, 0x564b4d56u, 0x4du       /* "KVMKVMKVM" */

static uint32_t base_of(const struct leaf *l, size_t n)
{
    leaves = l;
    nleaves = n;
    cpuid_calls = 0;
    return xen_cpuid_base(fake_cpuid);
}

Test(platform, xen_is_found_at_the_first_hypervisor_base)
{
    const struct leaf l[] = { { 0x40000000u, { 0x40000005u, XEN_SIG } } };
    cr_assert_eq(base_of(l, 1), 0x40000000u);
    cr_assert_eq(cpuid_calls, 1, "stops at the first match");
}

Test(platform, xen_is_found_behind_viridian_in_0x100_steps)
{
    /* with viridian=1 Xen moves its leaves up to make room for Hyper-V's */
    const struct leaf l[] = { { 0x40000000u,
                                { 0x40000006u, 0x7263694du, 0x666f736fu, 0x76482074u } },
                              { 0x40000100u, { 0x40000105u, XEN_SIG } } };
    cr_assert_eq(base_of(l, 2), 0x40000100u);
}

Test(platform, kvm_or_no_hypervisor_is_not_xen)
{
    const struct leaf kvm[] = { { 0x40000000u, { 0x40000001u, KVM_SIG } } };
    cr_assert_eq(base_of(kvm, 1), 0);
    cr_assert_eq(cpuid_calls, 256, "scans 0x40000000..0x4000ff00 before giving up");
    cr_assert_eq(base_of(NULL, 0), 0);
}

Test(platform, a_xen_signature_without_the_hypercall_leaf_is_refused)
{
    const struct leaf l[] = { { 0x40000000u, { 0x40000001u, XEN_SIG } } };
    cr_assert_eq(base_of(l, 1), 0, "base+2 (the hypercall MSR) must exist");
}

/* ---- event channels ---- */

static struct shared_info shinfo;

static void set_pending(unsigned port)
{
    const unsigned bits = sizeof(xen_ulong_t) * 8;
    shinfo.evtchn_pending[port / bits] |= (xen_ulong_t)1 << (port % bits);
    shinfo.vcpu_info[0].evtchn_pending_sel |= (xen_ulong_t)1 << (port / bits);
    shinfo.vcpu_info[0].evtchn_upcall_pending = 1;
}

static int is_pending(unsigned port)
{
    const unsigned bits = sizeof(xen_ulong_t) * 8;
    return (shinfo.evtchn_pending[port / bits] >> (port % bits)) & 1;
}

Test(platform, taking_events_clears_flag_selector_and_unmasked_bits)
{
    memset(&shinfo, 0, sizeof shinfo);
    set_pending(1);
    set_pending(70);
    set_pending(4095);
    cr_assert(xen_evtchn_take(&shinfo));
    cr_assert_eq(shinfo.vcpu_info[0].evtchn_upcall_pending, 0);
    cr_assert_eq(shinfo.vcpu_info[0].evtchn_pending_sel, 0);
    cr_assert(!is_pending(1) && !is_pending(70) && !is_pending(4095));
    cr_assert(!xen_evtchn_take(&shinfo), "nothing new: nothing pending");
}

Test(platform, masked_ports_stay_pending_and_unmask_all_clears_every_mask)
{
    memset(&shinfo, 0, sizeof shinfo);
    shinfo.evtchn_mask[0] = 1u << 5;
    set_pending(5);
    cr_assert(xen_evtchn_take(&shinfo), "the upcall flag itself counts");
    cr_assert(is_pending(5), "a masked port is left for when it is unmasked");
    cr_assert(!xen_evtchn_take(&shinfo));
    memset(shinfo.evtchn_mask, 0xff, sizeof shinfo.evtchn_mask);
    xen_evtchn_unmask_all(&shinfo);
    for (size_t i = 0; i < sizeof shinfo.evtchn_mask / sizeof shinfo.evtchn_mask[0]; i++)
        cr_assert_eq(shinfo.evtchn_mask[i], 0);
    cr_assert(xen_evtchn_take(&shinfo), "now unmasked, the old event is taken");
    cr_assert(!is_pending(5));
}

Test(platform, a_pending_bit_without_selector_or_flag_is_still_taken)
{
    memset(&shinfo, 0, sizeof shinfo);
    shinfo.evtchn_pending[3] = 1; /* e.g. set while the selector was being cleared */
    cr_assert(xen_evtchn_take(&shinfo));
    cr_assert_eq(shinfo.evtchn_pending[3], 0);
}

/* ---- pvclock ---- */

static struct vcpu_time_info ti;
static uint64_t fake_tsc_value;
static int bump_version_once;

static uint64_t fake_tsc(void)
{
    if (bump_version_once) { /* Xen updates the structure while we read it */
        bump_version_once = 0;
        ti.version += 2;
        ti.system_time += 1000000000ull;
    }
    return fake_tsc_value;
}

/* 2 GHz: ns = ticks / 2 = (ticks << -1) * 2^32 >> 32 */
static void two_ghz(void)
{
    memset(&ti, 0, sizeof ti);
    ti.version = 2;
    ti.tsc_timestamp = 1000000;
    ti.system_time = 5000000000ull;
    ti.tsc_to_system_mul = 0x80000000u; /* 0.5 */
    ti.tsc_shift = 0;
}

Test(platform, pvclock_scales_ticks_since_the_stamp)
{
    two_ghz();
    fake_tsc_value = 1000000 + 2000000000ull; /* one second of 2 GHz ticks later */
    cr_assert_eq(xen_pvclock_ns(&ti, fake_tsc), 6000000000ull);
    cr_assert_eq(xen_pvclock_hz(&ti), 2000000000ull);
    ti.tsc_shift = -1;
    ti.tsc_to_system_mul = 0xffffffffu; /* ~1.0 after halving: 2 GHz again */
    cr_assert_eq(xen_pvclock_hz(&ti) / 1000, 2000000);
}

Test(platform, pvclock_rereads_when_xen_updated_it_meanwhile)
{
    two_ghz();
    fake_tsc_value = 1000000;
    bump_version_once = 1;
    cr_assert_eq(xen_pvclock_ns(&ti, fake_tsc), 6000000000ull, "the second, consistent read");
}

Test(platform, pvclock_is_zero_while_xen_has_not_filled_it_and_a_tsc_before_the_stamp_adds_nothing)
{
    memset(&ti, 0, sizeof ti);
    fake_tsc_value = 123456;
    cr_assert_eq(xen_pvclock_ns(&ti, fake_tsc), 0);
    cr_assert_eq(xen_pvclock_hz(&ti), 0);
    two_ghz();
    fake_tsc_value = 999999;
    cr_assert_eq(xen_pvclock_ns(&ti, fake_tsc), 5000000000ull);
}

Test(platform, wall_clock_is_the_wc_fields_plus_system_time_with_the_high_seconds)
{
    memset(&shinfo, 0, sizeof shinfo);
    shinfo.wc_version = 4;
    shinfo.wc_sec = 1700000000u;
    shinfo.wc_nsec = 250000000u;
    cr_assert_eq(xen_wall_ns(&shinfo, 1500000000ull), 1700000001750000000ull);
    shinfo.wc_sec_hi = 1; /* past 2106 */
    cr_assert_eq(xen_wall_ns(&shinfo, 0),
                 ((1ull << 32) + 1700000000ull) * 1000000000ull + 250000000u);
}

Test(platform, pvclock_readers_give_up_on_an_update_xen_never_finishes, .timeout = 10)
{
    two_ghz();
    ti.version = 7; /* odd: an update in progress, forever */
    fake_tsc_value = 1000000 + 2000000000ull;
    cr_assert_eq(xen_pvclock_ns(&ti, fake_tsc), 0);
    cr_assert_eq(xen_pvclock_hz(&ti), 0);
    memset(&shinfo, 0, sizeof shinfo);
    shinfo.wc_version = 5;
    shinfo.wc_sec = 1700000000u;
    cr_assert_eq(xen_wall_ns(&shinfo, 1), 0);
}

Test(platform, pvclock_shifts_beyond_63_are_defined_and_give_no_rate)
{
    const int8_t shifts[] = { 64, 127, -64, -128 };
    for (unsigned i = 0; i < sizeof shifts; i++) {
        two_ghz();
        ti.tsc_shift = shifts[i];
        fake_tsc_value = 1000000 + 2000000000ull;
        cr_assert_eq(xen_pvclock_ns(&ti, fake_tsc), 5000000000ull,
                     "shift %d: every tick shifted out, system time alone", shifts[i]);
        cr_assert_eq(xen_pvclock_hz(&ti), 0, "shift %d", shifts[i]);
    }
}

/* ---- exit status ---- */

Test(platform, exit_reasons_are_poweroff_for_statuses_and_crash_for_aborts)
{
    cr_assert_eq(xen_exit_reason(0), SHUTDOWN_poweroff);
    cr_assert_eq(xen_exit_reason(42), SHUTDOWN_poweroff);
    cr_assert_eq(xen_exit_reason(MIRC_EXIT_MAX), SHUTDOWN_poweroff);
    cr_assert_eq(xen_exit_reason(MIRC_EXIT_ABORT), SHUTDOWN_crash);
    cr_assert_eq(xen_exit_reason(-1), SHUTDOWN_crash);
    cr_assert_eq(xen_exit_reason(127), SHUTDOWN_crash);
}

TestSuite(exit_status, .init = sim_init, .timeout = 60);

Test(exit_status, the_status_lands_in_the_domains_data_directory)
{
    char v[16];
    cr_assert_eq(xen_exit_publish(&sim_xs, 42, 2000000000ull), MIRC_OK);
    cr_assert_eq(xsd_get("/local/domain/7/" XEN_EXIT_STATUS_KEY, v, sizeof v), 2);
    cr_assert_str_eq(v, "42");
    cr_assert_eq(xen_exit_publish(&sim_xs, 0, 2000000000ull), MIRC_OK);
    cr_assert_eq(xsd_get_num("/local/domain/7/data/mirc-exit-status"), 0);
}

Test(exit_status, an_abort_writes_nothing)
{
    char v[16];
    cr_assert_eq(xen_exit_publish(&sim_xs, MIRC_EXIT_ABORT, 2000000000ull), MIRC_INVALID);
    cr_assert_eq(xen_exit_publish(&sim_xs, -3, 2000000000ull), MIRC_INVALID);
    cr_assert_eq(xsd_get("/local/domain/7/" XEN_EXIT_STATUS_KEY, v, sizeof v), -1);
}

Test(exit_status, a_stalled_xenstore_delays_the_exit_by_the_timeout_only)
{
    sim.xsd.stall = 1;
    uint64_t t0 = sim.now;
    cr_assert_eq(xen_exit_publish(&sim_xs, 3, 50000000ull), MIRC_TIMED_OUT);
    cr_assert_geq(sim.now - t0, 50000000ull);
    cr_assert_lt(sim.now - t0, 1000000000ull,
                 "bounded by the exit's timeout, not the default 30 s");
    cr_assert_eq(sim_xs.xs_timeout, XEN_XS_TIMEOUT_NS, "the client's own timeout is restored");
}
