/* NET and BLOCK as apps see them: names, argument checks, counters, readiness dispatch. */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_platform.h"
#include "mirc/mirc.h"
#include "rt.h"

static void setup(void)
{
    fake_reset();
    fake_attach_net(0, "\x02\x00\x00\x00\x00\x01", 1500);
    fake_attach_net(1, "\x02\x00\x00\x00\x00\x02", 9000);
    fake_attach_disk(0, 64 * 1024, 512, 0);
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK);
}

TestSuite(devices, .init = setup);

Test(devices, acquire_finds_declared_names_and_only_those)
{
    mirc_net *a, *b, *again;
    mirc_block *d;
    cr_assert_eq(mirc_net_acquire("net0", &a), MIRC_OK);
    cr_assert_eq(mirc_net_acquire("net1", &b), MIRC_OK);
    cr_assert_eq(mirc_net_acquire("net0", &again), MIRC_OK);
    cr_assert_eq(a, again);
    cr_assert_neq(a, b);
    cr_assert_str_eq(mirc_net_name(b), "net1");
    cr_assert_eq(mirc_net_acquire("disk0", &a), MIRC_NOT_FOUND);
    cr_assert_eq(mirc_net_acquire("nope", &a), MIRC_NOT_FOUND);
    cr_assert_eq(mirc_net_acquire(NULL, &a), MIRC_INVALID);
    cr_assert_eq(mirc_block_acquire("disk0", &d), MIRC_OK);
    cr_assert_eq(mirc_block_acquire("net0", &d), MIRC_NOT_FOUND);
}

Test(devices, net_info_reports_mac_and_mtu)
{
    mirc_net *n;
    mirc_net_info info;
    mirc_net_acquire("net1", &n);
    cr_assert_eq(mirc_net_info_get(n, &info), MIRC_OK);
    cr_assert_eq(info.mtu, 9000);
    cr_assert_eq(memcmp(info.mac, "\x02\x00\x00\x00\x00\x02", 6), 0);
    cr_assert_eq(mirc_net_info_get(n, NULL), MIRC_INVALID);
}

Test(devices, net_write_checks_length_and_counts)
{
    mirc_net *n;
    unsigned char frame[1514 + 1] = { 0 };
    mirc_net_stats st;
    mirc_net_acquire("net0", &n);
    cr_assert_eq(mirc_net_write(n, frame, 13), MIRC_INVALID);
    cr_assert_eq(mirc_net_write(n, frame, 1515), MIRC_TOO_BIG);
    cr_assert_eq(mirc_net_write(n, frame, 1514), MIRC_OK);
    cr_assert_eq(mirc_net_write(n, frame, 60), MIRC_OK);
    cr_assert_eq(mirc_net_write(n, NULL, 60), MIRC_INVALID);
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.tx_packets, 2);
    cr_assert_eq(st.tx_bytes, 1574);
    cr_assert_eq(st.tx_dropped, 1);
    cr_assert_eq(fake.nets[0].tx_count, 2);
    cr_assert_eq(fake.nets[0].tx[0].len, 1514);
}

Test(devices, net_read_drops_runts_and_oversized_frames_and_counts_them)
{
    mirc_net *n;
    unsigned char buf[100];
    size_t len;
    mirc_net_stats st;
    mirc_net_acquire("net0", &n);
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_AGAIN);
    fake_rx(0, "short", 5);
    fake_rx(0, "0123456789abcdef", 16);
    fake_rx(0, buf, 60);
    static unsigned char big[200];
    fake_rx(0, big, sizeof big);
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_OK);
    cr_assert_eq(len, 16);
    cr_assert_eq(memcmp(buf, "0123456789abcdef", 16), 0);
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_OK);
    cr_assert_eq(len, 60);
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_TOO_BIG);
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_AGAIN);
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.rx_packets, 2);
    cr_assert_eq(st.rx_bytes, 76);
    cr_assert_eq(st.rx_dropped, 2);
}

Test(devices, net_read_drops_frames_beyond_the_mtu_even_when_the_buffer_is_larger)
{
    /* a buffer of mtu + 14 always suffices, so no app may ever see a longer frame */
    mirc_net *n;
    static unsigned char buf[9100], big[9014];
    size_t len;
    mirc_net_stats st;
    mirc_net_acquire("net0", &n); /* mtu 1500 */
    fake_rx(0, big, 1515);
    fake_rx(0, big, 9014);
    fake_rx(0, big, 1514);
    fake_rx(0, "", 0); /* what a backend returns for a frame it refused itself */
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_OK);
    cr_assert_eq(len, 1514);
    cr_assert_eq(mirc_net_read(n, buf, sizeof buf, &len), MIRC_AGAIN);
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.rx_packets, 1);
    cr_assert_eq(st.rx_dropped, 3);
}

static int ready_calls[2];
static void on_ready(mirc_net *n, void *ctx)
{
    unsigned char buf[1514];
    size_t len;
    int *which = ctx;
    ready_calls[*which]++;
    while (mirc_net_read(n, buf, sizeof buf, &len) == MIRC_OK)
        ;
    if (ready_calls[0] + ready_calls[1] == 3)
        mirc_loop_stop();
}

Test(devices, readiness_callbacks_dispatch_per_nic)
{
    mirc_net *a, *b;
    static int ia = 0, ib = 1;
    unsigned char frame[60] = { 0 };
    mirc_net_acquire("net0", &a);
    mirc_net_acquire("net1", &b);
    ready_calls[0] = ready_calls[1] = 0;
    cr_assert_eq(mirc_net_on_ready(a, on_ready, &ia), MIRC_OK);
    cr_assert_eq(mirc_net_on_ready(b, on_ready, &ib), MIRC_OK);
    fake_rx_at(fake.now + 10, 1, frame, sizeof frame);
    fake_rx_at(fake.now + 20, 0, frame, sizeof frame);
    fake_rx_at(fake.now + 30, 1, frame, sizeof frame);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(ready_calls[0], 1);
    cr_assert_eq(ready_calls[1], 2);
    cr_assert_eq(fake.last_interest, 3);
    mirc_net_on_ready(a, NULL, NULL);
    mirc_net_on_ready(b, NULL, NULL);
    cr_assert_eq(mirc_rt_net_interest(), 0);
}

Test(devices, block_round_trip_at_first_middle_and_last_sector)
{
    mirc_block *d;
    mirc_block_info info;
    unsigned char w[1024], r[1024];
    mirc_block_acquire("disk0", &d);
    mirc_block_info_get(d, &info);
    cr_assert_eq(info.capacity, 64 * 1024);
    cr_assert_eq(info.sector_size, 512);
    uint64_t offs[] = { 0, 32 * 1024, info.capacity - sizeof w };
    for (int i = 0; i < 3; i++) {
        memset(w, 0xa0 + i, sizeof w);
        cr_assert_eq(mirc_block_write(d, offs[i], w, sizeof w), MIRC_OK);
    }
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(mirc_block_read(d, offs[i], r, sizeof r), MIRC_OK);
        memset(w, 0xa0 + i, sizeof w);
        cr_assert_eq(memcmp(r, w, sizeof r), 0);
    }
    cr_assert_eq(mirc_block_flush(d), MIRC_OK);
    cr_assert_eq(fake.disks[0].flushes, 1);
}

Test(devices, block_rejects_misaligned_and_out_of_range_requests)
{
    mirc_block *d;
    unsigned char buf[1024];
    mirc_block_acquire("disk0", &d);
    cr_assert_eq(mirc_block_read(d, 1, buf, 512), MIRC_INVALID);
    cr_assert_eq(mirc_block_read(d, 0, buf, 100), MIRC_INVALID);
    cr_assert_eq(mirc_block_write(d, 511, buf, 512), MIRC_INVALID);
    cr_assert_eq(mirc_block_read(d, 64 * 1024, buf, 512), MIRC_RANGE);
    cr_assert_eq(mirc_block_read(d, 63 * 1024, buf, 1024), MIRC_OK);
    cr_assert_eq(mirc_block_read(d, 63 * 1024 + 512, buf, 1024), MIRC_RANGE);
    cr_assert_eq(mirc_block_write(d, UINT64_MAX - 511, buf, 512), MIRC_RANGE);
    cr_assert_eq(mirc_block_read(d, 0, NULL, 512), MIRC_INVALID);
    cr_assert_eq(mirc_block_read(d, 0, buf, 0), MIRC_OK);
}

Test(devices, block_read_only_refuses_writes)
{
    mirc_block *d;
    unsigned char buf[512] = { 1 };
    fake.disks[0].info.read_only = 1;
    fake_reset();
    fake_attach_disk(0, 4096, 4096, 1);
    fake_attach_net(0, "\x02\0\0\0\0\1", 1500);
    fake_attach_net(1, "\x02\0\0\0\0\2", 1500);
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK);
    mirc_block_acquire("disk0", &d);
    cr_assert_eq(mirc_block_write(d, 0, buf, 512), MIRC_INVALID); /* 4096-byte sectors */
    static unsigned char page[4096];
    cr_assert_eq(mirc_block_write(d, 0, page, 4096), MIRC_READ_ONLY);
    cr_assert_eq(mirc_block_read(d, 0, page, 4096), MIRC_OK);
}

Test(devices, a_declared_device_that_is_not_attached_stops_boot_naming_it)
{
    fake_reset();
    fake_attach_net(0, "\x02\0\0\0\0\1", 1500);
    fake_attach_disk(0, 4096, 512, 0); /* net1 missing */
    cr_assert_eq(mirc_rt_devices_open(), MIRC_NOT_FOUND);
    fake.console[fake.console_len] = 0;
    cr_assert(strstr(fake.console, "net device 'net1'") != NULL, "console: %s", fake.console);
}
