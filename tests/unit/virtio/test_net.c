/* tests/unit/virtio/test_net.c: virtio-net through platform.h's NET functions, against simulated
 * devices. */
#include <criterion/criterion.h>
#include <string.h>

#include "mirc/mirc.h"
#include "sim.h"

TestSuite(net, .init = sim_reset, .fini = sim_fini);

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static struct sim_dev *one_nic(int modern, unsigned mtu, int *h, mirc_net_info *info)
{
    struct sim_dev *d = sim_mmio_net(0, modern, mac, mtu);
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(mirc_plat_net_open("service0", 0, h, info), MIRC_OK, "%s", sim.log);
    return d;
}

static void fill(uint8_t *f, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(seed * 31 + i * 7);
}

Test(net, open_reports_the_mac_and_mtu_from_config_space)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 9000, &h, &info);
    cr_assert_eq(memcmp(info.mac, mac, 6), 0);
    cr_assert_eq(info.mtu, 9000);
    cr_assert(d->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    cr_assert_eq(d->driver_features & (VIRTIO_BIT(0) | VIRTIO_BIT(15)), 0,
                 "no checksum offload, no merged buffers");
    cr_assert(d->status & VIRTIO_STATUS_DRIVER_OK);
}

Test(net, mtu_is_1500_without_VIRTIO_NET_F_MTU)
{
    int h;
    mirc_net_info info;
    one_nic(1, 0, &h, &info);
    cr_assert_eq(info.mtu, 1500);
}

Test(net, mtu_above_9000_is_capped_and_below_68_refused)
{
    int h;
    mirc_net_info info;
    one_nic(1, 65000, &h, &info);
    cr_assert_eq(info.mtu, MIRC_NET_MTU_MAX);
    sim_reset();
    sim_mmio_net(0, 1, mac, 60);
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_IO);
    cr_assert(strstr(sim.log, "MTU of 60"), "%s", sim.log);
    cr_assert(sim.dev[0].status & VIRTIO_STATUS_FAILED);
}

Test(net, a_device_without_a_mac_gets_a_local_unicast_one)
{
    struct sim_dev *d = sim_mmio_net(0, 1, mac, 0);
    d->features &= ~VIRTIO_BIT(5);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    cr_assert_eq(info.mac[0] & 3, 2, "locally administered, unicast");
    cr_assert_neq(memcmp(info.mac, mac, 6), 0);
}

Test(net, a_written_frame_leaves_behind_an_all_zero_header)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[1514];
    fill(f, sizeof f, 1);
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    virtio_net_pending();
    cr_assert_eq(d->tx_total, 1);
    cr_assert_eq(d->tx[0].hdr_len, 12);
    cr_assert_eq(d->tx[0].len, sizeof f);
    cr_assert_eq(memcmp(d->tx[0].data, f, sizeof f), 0);
    static const uint8_t zero[12];
    cr_assert_eq(memcmp(d->tx[0].hdr, zero, 12), 0);
}

Test(net, frames_larger_than_the_mtu_are_refused)
{
    int h;
    mirc_net_info info;
    one_nic(1, 0, &h, &info);
    static uint8_t f[2000];
    cr_assert_eq(mirc_plat_net_write(h, f, 1500 + 14 + 4 + 1), MIRC_TOO_BIG);
    cr_assert_eq(mirc_plat_net_write(h, f, 0), MIRC_TOO_BIG);
    cr_assert_eq(mirc_plat_net_write(h + 1, f, 60), MIRC_INVALID);
}

Test(net, a_burst_of_writes_costs_one_notification)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    unsigned exits = sim.exits;
    uint8_t f[100];
    for (unsigned k = 0; k < 10; k++) {
        fill(f, sizeof f, k);
        cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    }
    cr_assert_eq(d->notifies[1], 0, "nothing sent before the burst ends");
    cr_assert_eq(sim.exits, exits, "writes touch no register");
    virtio_net_pending(); /* the loop's next yield */
    cr_assert_eq(d->notifies[1], 1);
    cr_assert_eq(d->tx_total, 10);
    for (unsigned k = 0; k < 10; k++) {
        fill(f, sizeof f, k);
        cr_assert_eq(memcmp(d->tx[k].data, f, sizeof f), 0, "frame %u in order", k);
    }
    cr_assert_eq(sim.exits, exits + 1);
    virtio_net_pending();
    cr_assert_eq(d->notifies[1], 1, "nothing new, no notification");
}

Test(net, long_bursts_notify_every_32_frames)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[64] = { 0 };
    for (unsigned k = 0; k < 100; k++)
        cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    cr_assert_eq(d->notifies[1], 3);
    cr_assert_eq(d->tx_total, 96);
    virtio_net_pending();
    cr_assert_eq(d->tx_total, 100);
}

Test(net, a_device_that_asks_for_no_notifications_gets_none)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = sim_mmio_net(0, 1, mac, 0);
    d->features &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
    d->no_notify = 1;
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    sim_run(d); /* the device publishes its flags */
    uint8_t f[64] = { 0 };
    for (unsigned k = 0; k < 5; k++)
        cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    virtio_net_pending();
    cr_assert_eq(d->notifies[1], 0);
    sim_run(d); /* it polls on its own */
    cr_assert_eq(d->tx_total, 5);
}

Test(net, a_full_transmit_ring_says_again_and_recovers)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    d->tx_hold = 1;
    uint8_t f[64] = { 0 };
    unsigned sent = 0;
    mirc_status s;
    while ((s = mirc_plat_net_write(h, f, sizeof f)) == MIRC_OK)
        sent++;
    cr_assert_eq(s, MIRC_AGAIN);
    cr_assert_eq(sent, 256);
    cr_assert_geq(d->notifies[1], 1, "a full ring is always notified");
    d->tx_hold = 0;
    sim_run(d);
    cr_assert_eq(d->tx_total, 256);
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK, "completed buffers are reclaimed");
}

Test(net, read_says_again_when_nothing_arrived)
{
    int h;
    mirc_net_info info;
    one_nic(1, 0, &h, &info);
    uint8_t buf[1514];
    size_t len;
    cr_assert_eq(mirc_plat_net_read(h, buf, sizeof buf, &len), MIRC_AGAIN);
    cr_assert_eq(kvm_virtio_pending(), 0);
}

Test(net, receives_100000_frames_through_a_256_entry_ring)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[1514], got[1514];
    unsigned next = 0;
    for (unsigned k = 0; k < 100000; k++) {
        size_t flen = 60 + k % 1455;
        fill(f, flen, k);
        cr_assert_eq(sim_net_inject(d, f, flen), 0, "frame %u found no buffer", k);
        if (k % 200 != 199)
            continue; /* let some pile up, as a loop iteration would */
        cr_assert_eq(kvm_virtio_pending(), 1ull << h);
        size_t len;
        while (mirc_plat_net_read(h, got, sizeof got, &len) == MIRC_OK) {
            size_t want = 60 + next % 1455;
            fill(f, want, next);
            cr_assert_eq(len, want, "frame %u", next);
            cr_assert_eq(memcmp(got, f, len), 0, "frame %u", next);
            next++;
        }
    }
    cr_assert_eq(next, 100000);
    cr_assert_eq(d->rx_dropped, 0);
}

Test(net, a_frame_too_big_for_the_caller_is_dropped_and_its_buffer_reused)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[1000], got[500];
    fill(f, sizeof f, 3);
    size_t len = 0;
    for (unsigned k = 0; k < 300; k++) {
        cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
        cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_TOO_BIG);
    }
    cr_assert_eq(sim_net_inject(d, f, 400), 0);
    cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, 400);
}

Test(net, a_device_reporting_more_than_the_buffer_holds_is_not_believed)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    d->rx_len_override = 20000;
    uint8_t f[100] = { 0 }, got[MIRC_NET_MTU_MAX + 14];
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    size_t len = 12345;
    cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_TOO_BIG);
    cr_assert_eq(len, 12345, "nothing copied");
    d->rx_len_override = 0;
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_OK);
}

Test(net, a_frame_larger_than_the_buffers_is_dropped_by_the_device)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    static uint8_t f[4000];
    cr_assert_eq(sim_net_inject(d, f, sizeof f), -1, "1500-byte MTU buffers");
    uint8_t got[1514];
    size_t len = 7;
    /* the device returned the buffer with nothing in it: a runt the runtime drops */
    cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, 0);
}

Test(net, interrupts_are_requested_only_when_nothing_is_waiting)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[60] = { 0 }, got[1514];
    size_t len;
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(d->interrupts, 1, "armed at open");
    cr_assert_eq(kvm_virtio_pending(), 1ull << h);
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(d->interrupts, 1, "no interrupt while the app is busy reading");
    while (mirc_plat_net_read(h, got, sizeof got, &len) == MIRC_OK)
        ;
    cr_assert_eq(kvm_virtio_pending(), 0, "about to halt: re-armed");
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(d->interrupts, 2);
}

Test(net, interrupt_suppression_works_without_event_indices)
{
    struct sim_dev *d = sim_mmio_net(0, 1, mac, 0);
    d->features &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    uint8_t f[60] = { 0 }, got[1514];
    size_t len;
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(d->interrupts, 1);
    cr_assert_eq(kvm_virtio_pending(), 1ull << h);
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(d->interrupts, 1);
    while (mirc_plat_net_read(h, got, sizeof got, &len) == MIRC_OK)
        ;
    cr_assert_eq(kvm_virtio_pending(), 0);
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(d->interrupts, 2);
}

Test(net, two_nics_have_their_own_handles_and_readiness)
{
    static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };
    struct sim_dev *a = sim_mmio_net(0, 1, mac, 0), *b = sim_mmio_net(1, 1, mac2, 0);
    sim_boot((const unsigned[]){ 0, 1 }, 2);
    int ha, hb;
    mirc_net_info ia, ib;
    cr_assert_eq(mirc_plat_net_open("a", 0, &ha, &ia), MIRC_OK);
    cr_assert_eq(mirc_plat_net_open("b", 1, &hb, &ib), MIRC_OK);
    cr_assert_neq(ha, hb);
    uint8_t f[60] = { 0xb }, got[1514];
    size_t len;
    cr_assert_eq(sim_net_inject(b, f, sizeof f), 0);
    cr_assert_eq(kvm_virtio_pending(), 1ull << hb);
    cr_assert_eq(mirc_plat_net_read(ha, got, sizeof got, &len), MIRC_AGAIN);
    cr_assert_eq(mirc_plat_net_read(hb, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(got[0], 0xb);
    cr_assert_eq(mirc_plat_net_write(ha, f, sizeof f), MIRC_OK);
    kvm_virtio_pending();
    cr_assert_eq(a->tx_total, 1);
    cr_assert_eq(b->tx_total, 0);
}

Test(net, handles_are_unique_across_nics_and_disks)
{
    sim_mmio_net(0, 1, mac, 0);
    sim_mmio_blk(1, 1, 1 << 20, 0);
    sim_mmio_net(2, 1, mac, 0);
    sim_boot((const unsigned[]){ 0, 1, 2 }, 3);
    int h0, h1, h2;
    mirc_net_info ni;
    mirc_block_info bi;
    cr_assert_eq(mirc_plat_net_open("a", 0, &h0, &ni), MIRC_OK);
    cr_assert_eq(mirc_plat_block_open("d", 0, &h1, &bi), MIRC_OK);
    cr_assert_eq(mirc_plat_net_open("b", 1, &h2, &ni), MIRC_OK);
    cr_assert(h0 != h1 && h1 != h2 && h0 != h2);
    cr_assert(h0 >= 0 && h1 >= 0 && h2 >= 0 && h0 < 64 && h1 < 64 && h2 < 64);
    uint8_t f[60] = { 0 };
    cr_assert_eq(mirc_plat_net_write(h1, f, sizeof f), MIRC_INVALID, "a disk is not a NIC");
    cr_assert_eq(mirc_plat_block_flush(h0), MIRC_INVALID, "a NIC is not a disk");
}

Test(net, opening_the_same_nic_twice_gives_the_same_handle)
{
    int h, h2;
    mirc_net_info info, info2;
    one_nic(1, 0, &h, &info);
    cr_assert_eq(mirc_plat_net_open("service0", 0, &h2, &info2), MIRC_OK);
    cr_assert_eq(h, h2);
    cr_assert_eq(memcmp(&info, &info2, sizeof info), 0);
}

Test(net, a_refused_feature_set_fails_the_open)
{
    struct sim_dev *d = sim_mmio_net(0, 1, mac, 0);
    d->refuse_features_ok = 1;
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_IO);
    cr_assert(strstr(sim.log, "refused features"), "%s", sim.log);
    cr_assert(d->status & VIRTIO_STATUS_FAILED);
    cr_assert_eq(d->status & VIRTIO_STATUS_DRIVER_OK, 0);
}

Test(net, a_modern_device_without_version_1_is_refused)
{
    struct sim_dev *d = sim_mmio_net(0, 1, mac, 0);
    d->features &= ~VIRTIO_BIT(VIRTIO_F_VERSION_1);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_IO);
    cr_assert(strstr(sim.log, "VIRTIO_F_VERSION_1"), "%s", sim.log);
}

Test(net, a_device_that_needs_a_reset_is_out_of_service)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    d->status |= VIRTIO_STATUS_NEEDS_RESET;
    d->stopped = 1;
    d->isr |= VIRTIO_ISR_CONFIG;
    d->irq_level = 1;
    kvm_virtio_irq(sim_raised_gsi());
    cr_assert_eq(d->irq_level, 0);
    cr_assert(strstr(sim.log, "DEVICE_NEEDS_RESET"), "%s", sim.log);
    uint8_t f[60] = { 0 };
    size_t len;
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_IO);
    cr_assert_eq(mirc_plat_net_read(h, f, sizeof f, &len), MIRC_IO);
    cr_assert_eq(kvm_virtio_pending(), 0);
}

Test(net, a_corrupt_used_ring_puts_the_nic_out_of_service)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    d->bogus_used_id = 300;
    uint8_t f[60] = { 0 };
    size_t len;
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    cr_assert_eq(mirc_plat_net_read(h, f, sizeof f, &len), MIRC_IO);
    cr_assert(strstr(sim.log, "receive ring is corrupt"), "%s", sim.log);
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_IO);
}

Test(net, legacy_without_any_layout_puts_the_header_in_its_own_descriptor)
{
    struct sim_dev *d = sim_mmio_net(0, 0, mac, 0);
    d->features &= ~VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    uint8_t f[200], got[1514];
    fill(f, sizeof f, 9);
    for (unsigned k = 0; k < 1000; k++) { /* 128 two-descriptor buffers, many times over */
        cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
        virtio_net_pending();
        cr_assert_eq(sim_net_inject(d, f, sizeof f), 0, "round %u", k);
        size_t len;
        cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_OK);
        cr_assert_eq(len, sizeof f);
        cr_assert_eq(memcmp(got, f, len), 0);
    }
    cr_assert_eq(d->tx_total, 1000);
    cr_assert_eq(memcmp(d->tx[999 % SIM_FRAMES].data, f, sizeof f), 0);
}

Test(net, the_flush_at_exit_sends_deferred_frames_and_waits_for_the_device)
{
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[60] = { 7 };
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    cr_assert_eq(d->tx_total, 0);
    kvm_virtio_flush();
    cr_assert_eq(d->tx_total, 2, "the last frames before an exit leave");
    /* a device that does not take them costs at most 200 ms */
    d->tx_hold = 1;
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    uint64_t t0 = sim.now;
    kvm_virtio_flush();
    cr_assert_geq(sim.now - t0, 200000000ull);
    cr_assert_lt(sim.now - t0, 201000000ull);
    cr_assert_eq(d->notifies[1], 2);
}

Test(net, the_flush_at_exit_costs_nothing_when_nothing_is_in_flight)
{
    sim_boot(NULL, 0);
    kvm_virtio_flush(); /* no NIC at all */
    cr_assert_eq(sim.clock_reads, 0);
    cr_assert_eq(sim.exits, 0);
    sim_reset();
    int h;
    mirc_net_info info;
    struct sim_dev *d = one_nic(1, 0, &h, &info);
    uint8_t f[60] = { 1 };
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    virtio_net_pending();
    unsigned exits = sim.exits, reads = sim.clock_reads;
    kvm_virtio_flush(); /* everything sent and taken already */
    cr_assert_eq(sim.clock_reads, reads, "the clock is not read");
    cr_assert_eq(sim.exits, exits);
    cr_assert_eq(d->tx_total, 1);
}
