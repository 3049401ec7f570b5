/* netfront against the netback model: handshake, echo, ring wrap, full rings, bad back ends. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "sim.h"

static struct xen_net net;
static struct sim_vif *vif;
static unsigned char frame[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN], got[sizeof frame];

static void setup(void)
{
    sim_init();
    vif = sim_vif_add(0, "00:16:3e:0a:0b:0c");
}

TestSuite(netfront, .init = setup,
          .timeout = 60); /* a spinning frontend fails, never hangs the run */

static void open_ok(void)
{
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_OK, "open: %s",
                 net.nt_bus.xd_why ? net.nt_bus.xd_why : "?");
}

static size_t fill(unsigned seq, size_t len)
{
    for (size_t i = 0; i < len; i++)
        frame[i] = (unsigned char)(seq * 31 + i * 7 + (i >> 8));
    return len;
}

static long long fe(const char *key)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", vif->fe, key);
    return xsd_get_num(p);
}

static void set_fe(const char *key, const char *val)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", vif->fe, key);
    xsd_set(p, val);
}

static void set_be(const char *key, const char *val)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", vif->be, key);
    xsd_set(p, val);
}

/* Reads one frame, stepping the world until it comes. */
static mirc_status read_one(size_t size, size_t *len)
{
    for (int i = 0; i < 10; i++) {
        mirc_status s = xen_net_read(&net, got, size, len);
        if (s != MIRC_AGAIN)
            return s;
        sim_step();
    }
    return MIRC_AGAIN;
}

Test(netfront, open_publishes_rings_and_features_and_both_ends_connect)
{
    open_ok();
    cr_assert_eq(memcmp(net.nt_info.mac, "\x00\x16\x3e\x0a\x0b\x0c", 6), 0);
    cr_assert_eq(net.nt_info.mtu, 1500);
    cr_assert_eq(fe("state"), XenbusStateConnected);
    cr_assert_eq(vif->state, XenbusStateConnected);
    cr_assert_eq(fe("tx-ring-ref"), net.nt_tx_ring.nb_ref);
    cr_assert_eq(fe("rx-ring-ref"), net.nt_rx_ring.nb_ref);
    cr_assert_eq(fe("event-channel"), net.nt_evtchn);
    cr_assert_eq(fe("request-rx-copy"), 1);
    cr_assert_eq(fe("feature-rx-notify"), 1);
    cr_assert_eq(fe("feature-sg"), 1);
    cr_assert_eq(fe("feature-no-csum-offload"), 1);
    cr_assert_eq(sim.evtchn_open, 1);
    /* the back end may read what we send and write what we receive, no more */
    cr_assert_eq(sim.gnt[net.nt_txb[0].nb_ref].flags & GTF_readonly, GTF_readonly);
    cr_assert_eq(sim.gnt[net.nt_rxb[0].nb_ref].flags & GTF_readonly, 0);
    cr_assert_eq(sim.gnt[net.nt_rxb[0].nb_ref].domid, SIM_BACK_DOMID);
    cr_assert_eq(sim.live, 2 + XEN_NET_TX_BUFS + XEN_NET_RX_BUFS, "pages allocated once, at open");
    cr_assert_eq(sim.gnt_faults, 0);
}

Test(netfront, open_waits_for_a_slow_back_end)
{
    vif->delay = 400;
    uint64_t t0 = sim.now;
    open_ok();
    cr_assert_geq(sim.now - t0, 400 * sim.step_ns);
}

Test(netfront, a_back_end_that_never_connects_times_out_and_everything_is_released)
{
    vif->never_connect = 1;
    sim_env.connect_timeout = 200000000; /* 200 ms */
    uint32_t free0 = xen_gnttab_free_count(&sim_gt);
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_TIMED_OUT);
    cr_assert_not_null(net.nt_bus.xd_why);
    cr_assert_eq(sim.live, 0, "every page freed");
    cr_assert_eq(xen_gnttab_free_count(&sim_gt), free0, "every grant revoked");
    cr_assert_eq(sim.evtchn_open, 0);
    cr_assert_eq(fe("state"), XenbusStateClosed);
}

Test(netfront, a_back_end_already_closed_fails_open_as_closed)
{
    char p[160];
    vif->state = XenbusStateClosed;
    snprintf(p, sizeof p, "%s/state", vif->be);
    xsd_set(p, "6");
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_CLOSED);
    cr_assert_eq(sim.live, 0);
}

Test(netfront, a_missing_or_malformed_mac_fails_open)
{
    const char *bad[] = { "00:16:3e:0a:0b", "00:16:3e:0a:0b:0c:0d", "00-16-3e-0a-0b-0c",
                          "zz:16:3e:0a:0b:0c", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        set_fe("mac", bad[i]);
        cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_IO, "'%s' accepted",
                     bad[i]);
        cr_assert(strstr(net.nt_bus.xd_why, "mac"));
    }
    char p[160];
    snprintf(p, sizeof p, "%s/mac", vif->fe);
    xsd_rm(p);
    cr_assert_neq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_OK);
    cr_assert_eq(sim.live, 0);
}

Test(netfront, mtu_comes_from_xenstore_and_bad_values_fail_open)
{
    set_fe("mtu", "70000");
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_IO);
    set_fe("mtu", "9000");
    open_ok();
    cr_assert_eq(net.nt_info.mtu, 9000);
}

Test(netfront, a_back_end_without_rx_copy_is_refused)
{
    set_be("feature-rx-copy", "0");
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_IO);
    cr_assert(strstr(net.nt_bus.xd_why, "rx-copy"));
    cr_assert_eq(sim.live, 0);
}

Test(netfront, a_missing_backend_key_fails_open)
{
    char p[160];
    snprintf(p, sizeof p, "%s/backend", vif->fe);
    xsd_rm(p);
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_NOT_FOUND);
    xsd_set(p, "relative/path");
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_IO);
    cr_assert_eq(sim_xs.xs_watches[0].xw_used, 0, "no watch left behind");
}

Test(netfront, ten_thousand_frames_echo_intact_and_wrap_both_rings)
{
    size_t len;
    vif->echo = 1;
    open_ok();
    for (unsigned round = 0; round < 500; round++) {
        for (unsigned k = 0; k < 20; k++) {
            unsigned seq = round * 20 + k;
            cr_assert_eq(xen_net_write(&net, frame, fill(seq, 60 + seq % 1455)), MIRC_OK);
        }
        sim_step();
        for (unsigned k = 0; k < 20; k++) {
            unsigned seq = round * 20 + k;
            cr_assert_eq(read_one(sizeof got, &len), MIRC_OK, "frame %u", seq);
            cr_assert_eq(len, 60 + seq % 1455);
            fill(seq, len);
            cr_assert_eq(memcmp(got, frame, len), 0, "frame %u corrupted", seq);
        }
    }
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_AGAIN);
    cr_assert_eq(vif->tx_frames, 10000);
    cr_assert_gt(net.nt_tx.req_prod_pvt, 30 * XEN_NET_RING_SIZE, "TX ring wrapped");
    cr_assert_gt(net.nt_rx.rsp_cons, 30 * XEN_NET_RING_SIZE, "RX ring wrapped");
    cr_assert_eq(net.nt_stats.bogus + net.nt_stats.rx_errors + net.nt_stats.tx_errors, 0);
    cr_assert_eq(sim.gnt_faults, 0);
}

Test(netfront, jumbo_frames_span_several_slots_each_way)
{
    size_t len;
    set_fe("mtu", "9000");
    vif->echo = 1;
    open_ok();
    for (unsigned seq = 0; seq < 200; seq++) {
        size_t n = fill(seq, 9014 - seq * 13);
        cr_assert_eq(xen_net_write(&net, frame, n), MIRC_OK);
        sim_step();
        cr_assert_eq(read_one(sizeof got, &len), MIRC_OK);
        cr_assert_eq(len, n);
        cr_assert_eq(memcmp(got, frame, n), 0, "jumbo frame %u corrupted", seq);
    }
    cr_assert_eq(vif->tx_max_slots, 3);
    cr_assert_eq(xen_net_write(&net, frame, 9015), MIRC_TOO_BIG);
}

Test(netfront, a_back_end_without_sg_caps_the_mtu_at_1500)
{
    set_fe("mtu", "9000");
    vif->sg = 0;
    open_ok();
    cr_assert_eq(net.nt_info.mtu, 1500);
    cr_assert_eq(fe("feature-sg"), 0);
    cr_assert_eq(xen_net_write(&net, frame, 1515), MIRC_TOO_BIG);
    cr_assert(strstr(sim.console, "1500"), "says so: %s", sim.console);
}

Test(netfront, a_full_tx_ring_returns_again_then_recovers_and_reports_readiness)
{
    vif->hold_tx = 1; /* no echo: only TX completions can make the NIC ready */
    open_ok();
    unsigned sent = 0;
    mirc_status s;
    while ((s = xen_net_write(&net, frame, fill(sent, 1514))) == MIRC_OK)
        sent++;
    cr_assert_eq(s, MIRC_AGAIN);
    cr_assert_eq(sent, XEN_NET_TX_BUFS, "one page per 1514-byte frame");
    sim_step();
    cr_assert_eq(xen_net_pending(&net), 0, "nothing yet");
    cr_assert_eq(xen_net_write(&net, frame, 60), MIRC_AGAIN);
    cr_assert_eq(net.nt_tx.sring->rsp_event, net.nt_tx.rsp_cons + 1, "armed for completions");
    vif->hold_tx = 0;
    sim_step();
    cr_assert_neq(xen_net_pending(&net), 0, "room again is reported");
    cr_assert_eq(xen_net_pending(&net), 0, "once");
    cr_assert_eq(xen_net_write(&net, frame, fill(sent, 1514)), MIRC_OK);
    sent++;
    sim_step();
    cr_assert_eq(vif->tx_frames, sent);
    cr_assert_eq(memcmp(vif->last_tx->data, frame, 1514), 0);
}

Test(netfront, tx_completions_out_of_order_are_all_reclaimed)
{
    vif->tx_reverse = 1;
    open_ok();
    for (unsigned round = 0; round < 200; round++) {
        for (unsigned k = 0; k < 30; k++)
            cr_assert_eq(xen_net_write(&net, frame, fill(k, 100 + k)), MIRC_OK, "round %u", round);
        sim_step();
    }
    cr_assert_eq(vif->tx_frames, 6000);
    cr_assert_eq(net.nt_stats.bogus, 0);
}

Test(netfront, a_frame_larger_than_the_buffer_is_too_big_and_the_next_one_still_reads)
{
    size_t len;
    open_ok();
    sim_vif_inject(vif, frame, fill(1, 1000));
    sim_vif_inject(vif, frame, fill(2, 100));
    sim_step();
    cr_assert_eq(xen_net_read(&net, got, 500, &len), MIRC_TOO_BIG);
    cr_assert_eq(xen_net_read(&net, got, 500, &len), MIRC_OK);
    cr_assert_eq(len, 100);
    cr_assert_eq(memcmp(got, frame, 100), 0);
}

Test(netfront, error_responses_drop_only_their_frame)
{
    size_t len;
    open_ok();
    vif->rx_error = 1;
    sim_vif_inject(vif, frame, fill(1, 200));
    sim_step();
    sim_vif_inject(vif, frame, fill(2, 300));
    sim_step();
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, 300);
    cr_assert_eq(net.nt_stats.rx_errors, 1);
}

Test(netfront, bad_offsets_drop_the_frame)
{
    size_t len;
    open_ok();
    vif->rx_bad_offset = 1;
    sim_vif_inject(vif, frame, fill(1, 200));
    sim_step();
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_AGAIN);
    cr_assert_eq(net.nt_stats.rx_errors, 1);
}

Test(netfront, bogus_rx_ids_drop_the_frame_and_lose_no_buffer)
{
    size_t len;
    vif->echo = 1;
    open_ok();
    for (int i = 0; i < 3 * XEN_NET_RX_BUFS; i++) {
        vif->rx_bogus_id = 1;
        sim_vif_inject(vif, frame, fill(1, 200));
        sim_step();
        cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_AGAIN);
    }
    cr_assert_eq(net.nt_stats.bogus, 3 * XEN_NET_RX_BUFS);
    /* every buffer came back: traffic still flows */
    for (unsigned i = 0; i < 500; i++) {
        cr_assert_eq(xen_net_write(&net, frame, fill(i, 64)), MIRC_OK);
        sim_step();
        cr_assert_eq(read_one(sizeof got, &len), MIRC_OK, "frame %u", i);
    }
    cr_assert_eq(net.nt_rx.req_prod_pvt - net.nt_rx.rsp_cons, XEN_NET_RX_BUFS);
}

Test(netfront, extra_info_slots_are_skipped)
{
    size_t len;
    open_ok();
    vif->rx_extra = 1;
    sim_vif_inject(vif, frame, fill(5, 1400));
    sim_step();
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, 1400);
    cr_assert_eq(memcmp(got, frame, 1400), 0);
}

Test(netfront, more_rx_responses_than_buffers_make_the_nic_fail_for_good)
{
    size_t len;
    open_ok();
    vif->rx_overflow = 1;
    sim_step();
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_IO);
    cr_assert_eq(xen_net_write(&net, frame, 60), MIRC_IO);
    cr_assert_neq(xen_net_pending(&net), 0, "so that the reader sees the error");
    cr_assert(strstr(sim.console, "unusable"), "%s", sim.console);
}

Test(netfront, a_back_end_that_closes_makes_reads_and_writes_fail)
{
    size_t len;
    char p[160];
    open_ok();
    cr_assert_eq(xen_net_write(&net, frame, 60), MIRC_OK);
    snprintf(p, sizeof p, "%s/state", vif->be);
    xsd_set(p, "5");
    vif->state = XenbusStateClosing;
    sim_step();
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_IO);
    cr_assert_eq(xen_net_write(&net, frame, 60), MIRC_IO);
}

Test(netfront, pending_reports_input_and_arms_the_ring)
{
    size_t len;
    open_ok();
    cr_assert_eq(xen_net_pending(&net), 0);
    cr_assert_eq(net.nt_rx.sring->rsp_event, net.nt_rx.rsp_cons + 1, "notify on the next frame");
    sim_vif_inject(vif, frame, fill(1, 80));
    sim_step();
    cr_assert_neq(xen_net_pending(&net), 0);
    cr_assert_eq(xen_net_read(&net, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(xen_net_pending(&net), 0);
}

Test(netfront, bad_lengths_are_refused)
{
    open_ok();
    cr_assert_eq(xen_net_write(&net, frame, 0), MIRC_INVALID);
    cr_assert_eq(xen_net_write(&net, frame, 1515), MIRC_TOO_BIG);
}

Test(netfront, close_waits_for_the_back_end_and_releases_every_grant_and_page)
{
    uint32_t free0 = xen_gnttab_free_count(&sim_gt);
    vif->echo = 1;
    open_ok();
    for (unsigned i = 0; i < 50; i++)
        cr_assert_eq(xen_net_write(&net, frame, fill(i, 600)), MIRC_OK);
    sim_step();
    xen_net_close(&net);
    cr_assert_eq(vif->state, XenbusStateClosed);
    cr_assert_eq(fe("state"), XenbusStateClosed);
    cr_assert_eq(sim.live, 0);
    cr_assert_eq(xen_gnttab_free_count(&sim_gt), free0);
    cr_assert_eq(sim.evtchn_open, 0);
    cr_assert_eq(xen_net_write(&net, frame, 60), MIRC_IO);
}

Test(netfront, running_out_of_pages_or_grants_fails_open_cleanly)
{
    sim.page_budget = 20;
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_NO_MEMORY);
    cr_assert_eq(sim.live, 0);
    sim.page_budget = SIM_MAX_PAGES;
    sim.evtchn_budget = 0;
    cr_assert_eq(xen_net_open(&net, &sim_env, "device/vif/0"), MIRC_NO_MEMORY);
    cr_assert_eq(sim.live, 0);
    sim.evtchn_budget = 10;
    open_ok();
}
