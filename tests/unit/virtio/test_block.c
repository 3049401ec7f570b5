/* tests/unit/virtio/test_block.c: virtio-blk through platform.h's BLOCK functions, against
 * simulated disks. */
#include <criterion/criterion.h>
#include <string.h>

#include "mirc/mirc.h"
#include "sim.h"

TestSuite(block, .init = sim_reset, .fini = sim_fini);

#define MiB (1u << 20)

static struct sim_dev *one_disk(int modern, uint64_t bytes, unsigned blk_size, int *h,
                                mirc_block_info *info)
{
    struct sim_dev *d = sim_mmio_blk(0, modern, bytes, blk_size);
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(mirc_plat_block_open("disk0", 0, h, info), MIRC_OK, "%s", sim.log);
    return d;
}

static void pattern(uint8_t *p, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((seed + i / 512) * 13 + i);
}

Test(block, open_reports_capacity_sector_size_and_read_only)
{
    int h;
    mirc_block_info info;
    one_disk(1, 16 * MiB, 0, &h, &info);
    cr_assert_eq(info.capacity, 16 * MiB);
    cr_assert_eq(info.sector_size, 512);
    cr_assert_eq(info.read_only, 0);
    sim_reset();
    one_disk(1, 16 * MiB, 4096, &h, &info);
    cr_assert_eq(info.sector_size, 4096);
    sim_reset();
    struct sim_dev *d = sim_mmio_blk(0, 1, 16 * MiB + 1536, 4096);
    d->features |= VIRTIO_BIT(5); /* VIRTIO_BLK_F_RO */
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(mirc_plat_block_open("ro", 0, &h, &info), MIRC_OK);
    cr_assert_eq(info.read_only, 1);
    cr_assert_eq(info.capacity, 16 * MiB, "a partial last block is not offered");
}

Test(block, write_then_read_back_the_first_a_middle_and_the_last_sector)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, 4 * MiB, 0, &h, &info);
    uint8_t w[512], r[512];
    const uint64_t at[3] = { 0, 2 * MiB + 512 * 7, 4 * MiB - 512 };
    for (unsigned k = 0; k < 3; k++) {
        pattern(w, sizeof w, k + 1);
        cr_assert_eq(mirc_plat_block_write(h, at[k], w, sizeof w), MIRC_OK);
        cr_assert_eq(memcmp(d->disk + at[k], w, sizeof w), 0);
    }
    for (unsigned k = 0; k < 3; k++) {
        pattern(w, sizeof w, k + 1);
        memset(r, 0, sizeof r);
        cr_assert_eq(mirc_plat_block_read(h, at[k], r, sizeof r), MIRC_OK);
        cr_assert_eq(memcmp(r, w, sizeof r), 0, "sector at %llu", (unsigned long long)at[k]);
    }
    cr_assert_eq(d->interrupts, 0, "completions are polled, never interrupted");
}

Test(block, large_transfers_are_cut_by_seg_max_and_size_max)
{
    struct sim_dev *d = sim_mmio_blk(0, 1, 8 * MiB, 0);
    d->features |= VIRTIO_BIT(1); /* SIZE_MAX */
    uint32_t size_max = 4096, seg_max = 8;
    memcpy(d->config + 8, &size_max, 4);
    memcpy(d->config + 12, &seg_max, 4);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_OK);
    static uint8_t w[3 * MiB], r[3 * MiB];
    pattern(w, sizeof w, 5);
    unsigned exits = sim.exits;
    cr_assert_eq(mirc_plat_block_write(h, 512 * 3, w, sizeof w), MIRC_OK);
    cr_assert_eq(mirc_plat_block_read(h, 512 * 3, r, sizeof r), MIRC_OK);
    cr_assert_eq(memcmp(r, w, sizeof w), 0);
    cr_assert_eq(d->max_segs, 8);
    cr_assert_eq(d->max_seg_len, 4096);
    cr_assert_eq(d->max_req_bytes, 32768);
    cr_assert_eq(d->requests, 2 * sizeof w / 32768);
    /* 256-entry ring, 10 descriptors a request: 25 in flight, a notification per batch */
    cr_assert_leq(sim.exits - exits, 2 * (sizeof w / 32768 / 25 + 2));
}

Test(block, a_transfer_is_one_request_when_the_device_allows)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, 8 * MiB, 0, &h, &info);
    static uint8_t buf[MiB];
    pattern(buf, sizeof buf, 1);
    cr_assert_eq(mirc_plat_block_write(h, 0, buf, sizeof buf), MIRC_OK);
    cr_assert_eq(d->requests, 1);
    cr_assert_eq(d->notifies[0], 1);
}

Test(block, requests_completed_out_of_order_still_land_right)
{
    struct sim_dev *d = sim_mmio_blk(0, 1, 16 * MiB, 0);
    d->features |= VIRTIO_BIT(1);
    uint32_t size_max = 512, seg_max = 4;
    memcpy(d->config + 8, &size_max, 4);
    memcpy(d->config + 12, &seg_max, 4);
    d->reorder = 1;
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_OK);
    static uint8_t w[2 * MiB], r[2 * MiB];
    pattern(w, sizeof w, 77);
    cr_assert_eq(mirc_plat_block_write(h, 0, w, sizeof w), MIRC_OK);
    cr_assert_eq(memcmp(d->disk, w, sizeof w), 0);
    cr_assert_eq(mirc_plat_block_read(h, 0, r, sizeof r), MIRC_OK);
    cr_assert_eq(memcmp(r, w, sizeof w), 0);
    cr_assert_eq(d->requests, 2 * sizeof w / 2048);
}

Test(block, twenty_thousand_requests_wrap_the_ring_indices)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, 4 * MiB, 0, &h, &info);
    uint8_t w[512], r[512];
    for (unsigned k = 0; k < 20000; k++) {
        uint64_t off = (uint64_t)(k * 7919u % 8192u) * 512;
        pattern(w, sizeof w, k);
        cr_assert_eq(mirc_plat_block_write(h, off, w, sizeof w), MIRC_OK, "write %u", k);
        cr_assert_eq(mirc_plat_block_read(h, off, r, sizeof r), MIRC_OK, "read %u", k);
        cr_assert_eq(memcmp(r, w, sizeof r), 0, "request %u", k);
    }
    cr_assert_eq(d->requests, 40000);
    cr_assert_eq(d->q[0].used_idx, (uint16_t)40000);
}

Test(block, four_kilobyte_blocks_are_addressed_in_512_byte_sectors)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, 4 * MiB, 4096, &h, &info);
    static uint8_t w[3 * 4096], r[3 * 4096];
    pattern(w, sizeof w, 2);
    cr_assert_eq(mirc_plat_block_write(h, 5 * 4096, w, sizeof w), MIRC_OK);
    cr_assert_eq(memcmp(d->disk + 5 * 4096, w, sizeof w), 0, "sector field = offset / 512");
    cr_assert_eq(mirc_plat_block_read(h, 5 * 4096, r, sizeof r), MIRC_OK);
    cr_assert_eq(memcmp(r, w, sizeof w), 0);
    cr_assert_eq(mirc_plat_block_read(h, 4096 + 512, r, 4096), MIRC_INVALID);
    cr_assert_eq(mirc_plat_block_read(h, 4096, r, 512), MIRC_INVALID);
    cr_assert_eq(mirc_plat_block_read(h, 4 * MiB - 4096, r, 4096), MIRC_OK);
}

Test(block, a_read_only_disk_refuses_writes_before_the_device_sees_them)
{
    struct sim_dev *d = sim_mmio_blk(0, 1, MiB, 0);
    d->features |= VIRTIO_BIT(5);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("ro", 0, &h, &info), MIRC_OK);
    uint8_t buf[512] = { 1 };
    cr_assert_eq(mirc_plat_block_write(h, 0, buf, sizeof buf), MIRC_READ_ONLY);
    cr_assert_eq(d->requests, 0);
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, sizeof buf), MIRC_OK);
    cr_assert_eq(mirc_plat_block_flush(h), MIRC_OK);
}

Test(block, access_beyond_the_capacity_is_a_range_error)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, MiB, 0, &h, &info);
    uint8_t buf[1024];
    cr_assert_eq(mirc_plat_block_read(h, MiB, buf, 512), MIRC_RANGE);
    cr_assert_eq(mirc_plat_block_read(h, MiB - 512, buf, 1024), MIRC_RANGE);
    cr_assert_eq(mirc_plat_block_write(h, UINT64_MAX - 511, buf, 512), MIRC_RANGE);
    cr_assert_eq(mirc_plat_block_read(h, 1, buf, 512), MIRC_INVALID);
    cr_assert_eq(mirc_plat_block_read(h, 0, NULL, 512), MIRC_INVALID);
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, 0), MIRC_OK);
    cr_assert_eq(d->requests, 0);
}

Test(block, a_device_that_shrank_answers_io_error)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, MiB, 0, &h, &info);
    d->disk_bytes = MiB / 2; /* the backing file was truncated under us */
    uint8_t buf[512];
    cr_assert_eq(mirc_plat_block_read(h, MiB - 512, buf, sizeof buf), MIRC_IO);
    cr_assert(strstr(sim.log, "I/O error"), "%s", sim.log);
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, sizeof buf), MIRC_OK, "the device still works");
}

Test(block, io_error_and_unsupported_statuses_are_mirc_io)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, MiB, 0, &h, &info);
    static uint8_t buf[256 * 1024];
    d->fail_status = 1;
    cr_assert_eq(mirc_plat_block_write(h, 0, buf, sizeof buf), MIRC_IO);
    d->fail_status = 2;
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, 512), MIRC_IO);
    cr_assert(strstr(sim.log, "unsupported"), "%s", sim.log);
    d->fail_status = 0;
    d->skip_status = 1;
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, 512), MIRC_IO);
    cr_assert(strstr(sim.log, "no status"), "%s", sim.log);
    d->skip_status = 0;
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, 512), MIRC_OK);
}

Test(block, a_failed_request_among_many_waits_for_the_others)
{
    struct sim_dev *d = sim_mmio_blk(0, 1, 4 * MiB, 0);
    d->features |= VIRTIO_BIT(1);
    uint32_t size_max = 4096, seg_max = 1;
    memcpy(d->config + 8, &size_max, 4);
    memcpy(d->config + 12, &seg_max, 4);
    d->reorder = 1;
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_OK);
    d->disk_bytes = 2 * MiB; /* the second half fails */
    static uint8_t buf[4 * MiB];
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, sizeof buf), MIRC_IO);
    cr_assert_eq(d->npending, 0, "nothing left in flight into the caller's buffer");
    cr_assert_eq(d->q[0].used_idx, d->requests);
}

Test(block, flush_is_sent_when_offered_and_skipped_otherwise)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, MiB, 0, &h, &info);
    cr_assert_eq(mirc_plat_block_flush(h), MIRC_OK);
    cr_assert_eq(d->flushes, 1);
    sim_reset();
    d = sim_mmio_blk(0, 1, MiB, 0);
    d->features &= ~VIRTIO_BIT(9);
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_OK);
    cr_assert_eq(mirc_plat_block_flush(h), MIRC_OK);
    cr_assert_eq(d->requests, 0);
}

Test(block, a_device_needing_reset_mid_transfer_fails_and_stays_down)
{
    struct sim_dev *d = sim_mmio_blk(0, 1, 4 * MiB, 0);
    d->features |= VIRTIO_BIT(1);
    uint32_t size_max = 4096, seg_max = 1;
    memcpy(d->config + 8, &size_max, 4);
    memcpy(d->config + 12, &seg_max, 4);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_OK);
    d->needs_reset_after = 10;
    static uint8_t buf[MiB];
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, sizeof buf), MIRC_IO);
    cr_assert(strstr(sim.log, "DEVICE_NEEDS_RESET"), "%s", sim.log);
    cr_assert_eq(d->status, 0, "reset, so it stops using the buffer");
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, 512), MIRC_IO);
    cr_assert_eq(mirc_plat_block_flush(h), MIRC_IO);
}

Test(block, a_device_that_never_answers_times_out)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(1, MiB, 0, &h, &info);
    d->hold = 1;
    uint8_t buf[512];
    uint64_t t0 = sim.now;
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, sizeof buf), MIRC_IO);
    cr_assert_geq(sim.now - t0, 30000000000ull);
    cr_assert_lt(sim.now - t0, 32000000000ull);
    cr_assert(strstr(sim.log, "no answer for 30 s"), "%s", sim.log);
    cr_assert_eq(d->status, 0);
}

Test(block, a_refused_feature_set_fails_the_open)
{
    struct sim_dev *d = sim_mmio_blk(0, 1, MiB, 0);
    d->refuse_features_ok = 1;
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_IO);
    cr_assert(d->status & VIRTIO_STATUS_FAILED);
}

Test(block, a_block_size_that_is_not_a_power_of_two_is_refused)
{
    sim_mmio_blk(0, 1, MiB, 1000);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &info), MIRC_IO);
    cr_assert(strstr(sim.log, "block size of 1000"), "%s", sim.log);
}

Test(block, legacy_mmio_disks_work)
{
    int h;
    mirc_block_info info;
    struct sim_dev *d = one_disk(0, 2 * MiB, 0, &h, &info);
    static uint8_t w[64 * 1024], r[64 * 1024];
    pattern(w, sizeof w, 3);
    cr_assert_eq(mirc_plat_block_write(h, 4096, w, sizeof w), MIRC_OK);
    cr_assert_eq(mirc_plat_block_read(h, 4096, r, sizeof r), MIRC_OK);
    cr_assert_eq(memcmp(r, w, sizeof w), 0);
    cr_assert(d->q[0].pfn != 0);
}

Test(block, a_missing_disk_is_not_found)
{
    sim_boot(NULL, 0);
    int h;
    mirc_block_info info;
    cr_assert_eq(mirc_plat_block_open("data", 0, &h, &info), MIRC_NOT_FOUND);
    cr_assert(strstr(sim.log, "block 'data': QEMU attached no virtio-blk device #0"), "%s",
              sim.log);
}
