/* blkfront against the blkback model: geometry, patterns, segments, reordering, errors,
 * disconnects. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#define DISK_BYTES (8u << 20)

static struct xen_blk blk;
static struct sim_vbd *vbd;
static unsigned char *wbuf, *rbuf;

static void setup(void)
{
    sim_init();
    vbd = sim_vbd_add(51712, DISK_BYTES, 512);
    wbuf = malloc(1 << 20);
    rbuf = malloc(1 << 20);
}

TestSuite(blkfront, .init = setup,
          .timeout = 60); /* a spinning frontend fails, never hangs the run */

static void open_ok(void)
{
    cr_assert_eq(xen_blk_open(&blk, &sim_env, "device/vbd/51712"), MIRC_OK, "open: %s",
                 blk.bk_bus.xd_why ? blk.bk_bus.xd_why : "?");
}

static void pattern(unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(seed * 131 + i * 17 + (i >> 9));
}

static long long fe(const char *key)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", vbd->fe, key);
    return xsd_get_num(p);
}

Test(blkfront, open_reports_capacity_and_sector_size_and_connects)
{
    open_ok();
    cr_assert_eq(blk.bk_info.capacity, DISK_BYTES);
    cr_assert_eq(blk.bk_info.sector_size, 512);
    cr_assert_eq(blk.bk_info.read_only, 0);
    cr_assert_eq(fe("state"), XenbusStateConnected);
    cr_assert_eq(fe("ring-ref"), blk.bk_ring_ref);
    cr_assert_eq(fe("event-channel"), blk.bk_evtchn);
    cr_assert_eq(vbd->state, XenbusStateConnected);
    cr_assert_eq(blk.bk_vdev, 51712);
}

Test(blkfront, a_4096_byte_sector_disk_reports_4096_and_refuses_512_byte_access)
{
    vbd->ssize = 4096;
    open_ok();
    cr_assert_eq(blk.bk_info.sector_size, 4096);
    cr_assert_eq(blk.bk_info.capacity, DISK_BYTES);
    cr_assert_eq(xen_blk_read(&blk, 512, rbuf, 4096), MIRC_INVALID);
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 512), MIRC_INVALID);
    pattern(wbuf, 3 * 4096, 9);
    cr_assert_eq(xen_blk_write(&blk, 4096, wbuf, 3 * 4096), MIRC_OK);
    cr_assert_eq(xen_blk_read(&blk, 4096, rbuf, 3 * 4096), MIRC_OK);
    cr_assert_eq(memcmp(rbuf, wbuf, 3 * 4096), 0);
    cr_assert_eq(vbd->bad_reqs, 0);
}

Test(blkfront, patterns_at_the_first_a_middle_and_the_last_sector_read_back)
{
    open_ok();
    uint64_t at[] = { 0, DISK_BYTES / 2 + 512, DISK_BYTES - 512 };
    for (int i = 0; i < 3; i++) {
        pattern(wbuf, 512, (unsigned)i + 1);
        cr_assert_eq(xen_blk_write(&blk, at[i], wbuf, 512), MIRC_OK);
    }
    for (int i = 0; i < 3; i++) {
        pattern(wbuf, 512, (unsigned)i + 1);
        cr_assert_eq(xen_blk_read(&blk, at[i], rbuf, 512), MIRC_OK);
        cr_assert_eq(memcmp(rbuf, wbuf, 512), 0, "sector at %llu", (unsigned long long)at[i]);
        cr_assert_eq(memcmp(vbd->disk + at[i], wbuf, 512), 0, "on the disk itself");
    }
}

Test(blkfront, unaligned_caller_buffers_work)
{
    open_ok();
    pattern(wbuf + 3, 2048, 4);
    cr_assert_eq(xen_blk_write(&blk, 4096, wbuf + 3, 2048), MIRC_OK);
    cr_assert_eq(xen_blk_read(&blk, 4096, rbuf + 1, 2048), MIRC_OK);
    cr_assert_eq(memcmp(rbuf + 1, wbuf + 3, 2048), 0);
}

Test(blkfront, a_large_transfer_is_split_into_max_segment_requests_with_several_in_flight)
{
    open_ok();
    size_t len = 1 << 20;
    pattern(wbuf, len, 77);
    cr_assert_eq(xen_blk_write(&blk, 1 << 20, wbuf, len), MIRC_OK);
    cr_assert_eq(vbd->max_segs, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    cr_assert_geq(vbd->max_pending, 4, "several requests in flight at once");
    cr_assert_eq(blk.bk_stats.requests, (len + 11 * 4096 - 1) / (11 * 4096));
    cr_assert_eq(memcmp(vbd->disk + (1 << 20), wbuf, len), 0);
    cr_assert_eq(xen_blk_read(&blk, 1 << 20, rbuf, len), MIRC_OK);
    cr_assert_eq(memcmp(rbuf, wbuf, len), 0);
    cr_assert_eq(sim.gnt_faults, 0);
}

Test(blkfront, completions_out_of_order_land_in_the_right_place)
{
    vbd->batch = 4; /* answers every batch in reverse */
    open_ok();
    size_t len = 11 * 4096 * 8 + 1536;
    pattern(vbd->disk + 512, len, 5);
    cr_assert_eq(xen_blk_read(&blk, 512, rbuf, len), MIRC_OK);
    cr_assert_eq(memcmp(rbuf, vbd->disk + 512, len), 0);
    cr_assert_geq(vbd->max_pending, 4);
}

Test(blkfront, many_small_requests_wrap_the_ring)
{
    open_ok();
    for (unsigned i = 0; i < 300; i++) {
        pattern(wbuf, 1024, i);
        cr_assert_eq(xen_blk_write(&blk, (uint64_t)i * 1024, wbuf, 1024), MIRC_OK);
    }
    for (unsigned i = 0; i < 300; i++) {
        pattern(wbuf, 1024, i);
        cr_assert_eq(xen_blk_read(&blk, (uint64_t)i * 1024, rbuf, 1024), MIRC_OK);
        cr_assert_eq(memcmp(rbuf, wbuf, 1024), 0, "block %u", i);
    }
    cr_assert_gt(blk.bk_ring.req_prod_pvt, 10 * XEN_BLK_RING_SIZE);
}

Test(blkfront, an_error_response_is_io_and_the_other_requests_still_complete)
{
    open_ok();
    size_t len = 11 * 4096 * 4;
    vbd->error_sector = 100; /* inside the first request only */
    pattern(wbuf, len, 3);
    cr_assert_eq(xen_blk_write(&blk, 0, wbuf, len), MIRC_IO);
    cr_assert_eq(blk.bk_inflight, 0, "every request drained before returning");
    cr_assert_eq(blk.bk_nfree, XEN_BLK_POOL_PAGES, "every pool page back");
    cr_assert_eq(blk.bk_stats.errors, 1);
    vbd->error_sector = UINT64_MAX;
    cr_assert_eq(xen_blk_write(&blk, 0, wbuf, len), MIRC_OK, "an I/O error does not kill the disk");
}

Test(blkfront, a_read_only_disk_refuses_writes)
{
    vbd->ro = 1;
    open_ok();
    cr_assert_eq(blk.bk_info.read_only, 1);
    cr_assert_eq(xen_blk_write(&blk, 0, wbuf, 512), MIRC_READ_ONLY);
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 512), MIRC_OK);
    cr_assert_eq(vbd->reqs, 1, "the write never reached the back end");
}

Test(blkfront, mode_r_also_means_read_only)
{
    vbd->mode_r = 1;
    open_ok();
    cr_assert_eq(blk.bk_info.read_only, 1);
}

Test(blkfront, flush_uses_flush_cache_when_offered)
{
    open_ok();
    cr_assert_eq(xen_blk_flush(&blk), MIRC_OK);
    cr_assert_eq(vbd->flushes, 1);
    cr_assert_eq(vbd->barriers, 0);
}

Test(blkfront, flush_falls_back_to_a_barrier)
{
    vbd->flush_cache = 0;
    vbd->barrier = 1;
    open_ok();
    cr_assert_eq(xen_blk_flush(&blk), MIRC_OK);
    cr_assert_eq(vbd->barriers, 1);
}

Test(blkfront, flush_without_either_feature_is_a_no_op)
{
    vbd->flush_cache = 0;
    open_ok();
    cr_assert_eq(xen_blk_flush(&blk), MIRC_OK);
    cr_assert_eq(vbd->reqs, 0);
}

Test(blkfront, a_flush_the_back_end_then_refuses_is_io)
{
    open_ok();
    vbd->flush_cache = 0; /* offered at connect, refused now */
    cr_assert_eq(xen_blk_flush(&blk), MIRC_IO);
}

Test(blkfront, misaligned_and_out_of_range_access_is_refused_before_the_ring)
{
    open_ok();
    cr_assert_eq(xen_blk_read(&blk, 100, rbuf, 512), MIRC_INVALID);
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 100), MIRC_INVALID);
    cr_assert_eq(xen_blk_read(&blk, DISK_BYTES, rbuf, 512), MIRC_RANGE);
    cr_assert_eq(xen_blk_read(&blk, DISK_BYTES - 512, rbuf, 1024), MIRC_RANGE);
    cr_assert_eq(xen_blk_write(&blk, UINT64_MAX - 511, wbuf, 512), MIRC_RANGE);
    cr_assert_eq(xen_blk_write(&blk, 0, NULL, 512), MIRC_INVALID);
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 0), MIRC_OK);
    cr_assert_eq(vbd->reqs, 0);
}

Test(blkfront, a_response_with_a_bogus_id_is_ignored_and_the_request_times_out)
{
    sim_env.io_timeout = 100000000; /* 100 ms */
    open_ok();
    memset(rbuf, 0xaa, 512);
    vbd->bogus_id = 1;
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 512), MIRC_IO);
    cr_assert_eq(blk.bk_stats.bogus, 1);
    cr_assert_eq(rbuf[0], 0xaa, "nothing was copied for a response we did not match");
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 512), MIRC_IO, "the disk is dead now");
}

Test(blkfront, a_response_for_a_request_never_sent_kills_the_disk)
{
    open_ok();
    vbd->extra_rsp = 1;
    sim_step();
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 512), MIRC_IO);
    cr_assert(strstr(sim.console, "more responses than requests"), "%s", sim.console);
}

Test(blkfront, a_back_end_that_closes_during_io_fails_the_request_and_does_not_hang)
{
    open_ok();
    vbd->close_on_request = 1;
    cr_assert_eq(xen_blk_read(&blk, 0, rbuf, 4096), MIRC_IO);
    cr_assert_lt(sim.waits, 100, "noticed at once, not after the I/O timeout");
    cr_assert_eq(xen_blk_write(&blk, 0, wbuf, 512), MIRC_IO);
    cr_assert_eq(xen_blk_flush(&blk), MIRC_IO);
}

Test(blkfront, a_back_end_that_never_answers_times_out)
{
    sim_env.io_timeout = 50000000;
    open_ok();
    vbd->hold = 1;
    cr_assert_eq(xen_blk_write(&blk, 0, wbuf, 512), MIRC_IO);
}

Test(blkfront, bad_geometry_from_the_back_end_fails_open)
{
    vbd->ssize = 1000;
    cr_assert_eq(xen_blk_open(&blk, &sim_env, "device/vbd/51712"), MIRC_IO);
    cr_assert(strstr(blk.bk_bus.xd_why, "sector-size"));
    cr_assert_eq(sim.live, 0, "pages freed after the back end let go of the ring");
}

Test(blkfront, the_capacity_is_whole_logical_sectors)
{
    struct sim_vbd *odd = sim_vbd_add(51728, 4096 * 10 + 512 * 3, 4096);
    cr_assert_eq(xen_blk_open(&blk, &sim_env, "device/vbd/51728"), MIRC_OK);
    cr_assert_eq(blk.bk_info.capacity, 4096 * 10);
    (void)odd;
}

Test(blkfront, close_releases_every_grant_and_page)
{
    uint32_t free0 = xen_gnttab_free_count(&sim_gt);
    open_ok();
    cr_assert_eq(xen_blk_write(&blk, 0, wbuf, 65536), MIRC_OK);
    xen_blk_close(&blk);
    cr_assert_eq(vbd->state, XenbusStateClosed);
    cr_assert_eq(sim.live, 0);
    cr_assert_eq(xen_gnttab_free_count(&sim_gt), free0);
    cr_assert_eq(sim.evtchn_open, 0);
}
