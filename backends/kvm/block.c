/* backends/kvm/block.c: virtio-blk: platform.h's synchronous BLOCK functions over any virtio
 * transport. */
#include <string.h>

#include "mirc/mirc.h"
#include "virtio.h"
#include "virtio_port.h"

/*
 * A transfer is cut into requests of at most blk_req bytes (the device's
 * seg_max x size_max, at most BLK_REQ_MAX), as many in flight as the ring
 * holds, one notification per batch. Data moves directly between the
 * caller's buffer and the device (identity-mapped memory: no bounce copy).
 * The call then polls the used ring, which costs no exit; the device never
 * interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT). Requests may complete in any
 * order. Sectors on the wire are always 512 bytes, whatever blk_size says.
 *
 * A device that stops answering is asked for its status once a second; after
 * BLK_TIMEOUT_NS without progress, or on DEVICE_NEEDS_RESET, it is reset
 * (which ends its DMA into the caller's buffer) and every later call
 * returns MIRC_IO.
 */

#define BLK_F_SIZE_MAX  1
#define BLK_F_SEG_MAX   2
#define BLK_F_RO        5
#define BLK_F_BLK_SIZE  6
#define BLK_F_FLUSH     9
#define BLK_CFG_CAP     0
#define BLK_CFG_SIZEMAX 8
#define BLK_CFG_SEGMAX  12
#define BLK_CFG_BLKSIZE 20
#define BLK_T_IN        0
#define BLK_T_OUT       1
#define BLK_T_FLUSH     4
#define BLK_S_OK        0
#define BLK_S_IOERR     1
#define BLK_S_UNSUPP    2
#define BLK_SECTOR      512
#define BLK_QMAX        256
#define BLK_REQ_MAX     (1u << 20) /* data bytes per request */
#define BLK_TIMEOUT_NS  (30 * 1000000000ull)
#define BLK_CHECK_NS    1000000000ull

struct blk_slot {
    /* what the device reads */
    uint32_t bs_type;
    uint32_t bs_reserved;
    uint64_t bs_sector;
    /* what it writes */
    uint8_t bs_status;
};

struct vblk {
    struct virtio_dev *vb_dev;
    const char *vb_name;
    struct virtq vb_vq;
    struct blk_slot *vb_slots; /* one per ring entry, DMA memory */
    uint16_t *vb_free;         /* stack of free slots */
    unsigned vb_nfree;
    struct virtq_seg *vb_seg; /* scratch: one request's segments */
    uint32_t vb_seg_max, vb_size_max;
    size_t vb_req; /* data bytes per request, a multiple of the sector size */
    mirc_block_info vb_info;
    int vb_flush;
};

static struct vblk *vblks[VIRTIO_DEV_MAX];
static unsigned nvblks;

static struct vblk *lookup(int handle)
{
    struct virtio_dev *dev = virtio_dev_by_handle(handle);
    return dev && dev->vd_type == VIRTIO_ID_BLOCK ? dev->vd_softc : NULL;
}

static void vblk_free(struct vblk *b)
{
    virtq_free(&b->vb_vq);
    vio_dma_free(b->vb_slots);
    free(b->vb_free);
    free(b->vb_seg);
    free(b);
}

static mirc_status read_config(struct vblk *b, const char *name)
{
    struct virtio_dev *dev = b->vb_dev;
    uint64_t f = dev->vd_features;
    uint32_t ss = BLK_SECTOR;
    if (f & VIRTIO_BIT(BLK_F_BLK_SIZE)) {
        ss = (uint32_t)virtio_config_read(dev, BLK_CFG_BLKSIZE, 4);
        if (dev->vd_broken) /* a config too short: said already */
            return MIRC_IO;
        if (ss < BLK_SECTOR || ss > 65536 || (ss & (ss - 1))) {
            mirc_log("block '%s' (%s): the device reports a block size of %u, not a power of two "
                     "in 512..65536",
                     name, dev->vd_where, ss);
            return MIRC_IO;
        }
    }
    uint64_t sectors = virtio_config_read(dev, BLK_CFG_CAP, 8);
    if (sectors > UINT64_MAX / BLK_SECTOR)
        sectors = UINT64_MAX / BLK_SECTOR;
    b->vb_info = (mirc_block_info){ .capacity = sectors * BLK_SECTOR / ss * ss,
                                    .sector_size = ss,
                                    .read_only = (f & VIRTIO_BIT(BLK_F_RO)) != 0 };
    b->vb_flush = (f & VIRTIO_BIT(BLK_F_FLUSH)) != 0;
    b->vb_seg_max = UINT32_MAX;
    b->vb_size_max = UINT32_MAX;
    if (f & VIRTIO_BIT(BLK_F_SEG_MAX))
        b->vb_seg_max = (uint32_t)virtio_config_read(dev, BLK_CFG_SEGMAX, 4);
    if (f & VIRTIO_BIT(BLK_F_SIZE_MAX))
        b->vb_size_max = (uint32_t)virtio_config_read(dev, BLK_CFG_SIZEMAX, 4);
    if (dev->vd_broken)
        return MIRC_IO;
    if (b->vb_seg_max == 0)
        b->vb_seg_max = 1;
    if (b->vb_size_max == 0)
        b->vb_size_max = UINT32_MAX;
    return MIRC_OK;
}

/* Sizes requests once the ring size is known. */
static mirc_status plan(struct vblk *b, const char *name)
{
    uint32_t num = b->vb_vq.vq_num;
    if (num < 3) {
        mirc_log("block '%s' (%s): a %u-entry queue cannot hold one request", name,
                 b->vb_dev->vd_where, num);
        return MIRC_IO;
    }
    if (b->vb_seg_max > num - 2)
        b->vb_seg_max = num - 2;
    uint64_t req = (uint64_t)b->vb_seg_max * b->vb_size_max;
    if (req > BLK_REQ_MAX)
        req = BLK_REQ_MAX;
    req -= req % b->vb_info.sector_size;
    if (req == 0) {
        mirc_log("block '%s' (%s): seg_max %u x size_max %u cannot carry one %u-byte sector", name,
                 b->vb_dev->vd_where, b->vb_seg_max, b->vb_size_max, b->vb_info.sector_size);
        return MIRC_IO;
    }
    b->vb_req = (size_t)req;
    b->vb_slots = vio_dma_alloc(sizeof *b->vb_slots * num, 64);
    b->vb_free = calloc(num, sizeof *b->vb_free);
    b->vb_seg = calloc(b->vb_seg_max + 2, sizeof *b->vb_seg);
    if (!b->vb_slots || !b->vb_free || !b->vb_seg) {
        mirc_log("block '%s' (%s): out of memory", name, b->vb_dev->vd_where);
        return MIRC_NO_MEMORY;
    }
    for (unsigned i = 0; i < num; i++)
        b->vb_free[i] = (uint16_t)(num - 1 - i);
    b->vb_nfree = num;
    return MIRC_OK;
}

mirc_status mirc_plat_block_open(const char *name, unsigned index, int *handle,
                                 mirc_block_info *info)
{
    struct virtio_dev *dev = virtio_dev_find(VIRTIO_ID_BLOCK, index);
    if (!dev) {
        mirc_log("block '%s': QEMU attached no virtio-blk device #%u", name, index);
        return MIRC_NOT_FOUND;
    }
    if (dev->vd_handle >= 0) {
        struct vblk *b = dev->vd_softc;
        *handle = dev->vd_handle;
        *info = b->vb_info;
        return dev->vd_broken ? MIRC_IO : MIRC_OK;
    }
    struct vblk *b = calloc(1, sizeof *b);
    if (!b) {
        mirc_log("block '%s' (%s): out of memory", name, dev->vd_where);
        return MIRC_NO_MEMORY;
    }
    b->vb_dev = dev;
    b->vb_name = name;
    mirc_status s = virtio_dev_negotiate(dev, name,
                                         VIRTIO_BIT(BLK_F_SIZE_MAX) | VIRTIO_BIT(BLK_F_SEG_MAX) |
                                             VIRTIO_BIT(BLK_F_RO) | VIRTIO_BIT(BLK_F_BLK_SIZE) |
                                             VIRTIO_BIT(BLK_F_FLUSH));
    if (s != MIRC_OK)
        goto fail;
    if ((s = read_config(b, name)) != MIRC_OK ||
        (s = virtio_dev_queue(dev, name, &b->vb_vq, 0, BLK_QMAX)) != MIRC_OK ||
        (s = plan(b, name)) != MIRC_OK)
        goto fail_dev;
    virtq_intr_off(&b->vb_vq); /* completions are polled */
    dev->vd_softc = b;
    if ((s = virtio_dev_ready(dev, name, handle)) != MIRC_OK) {
        dev->vd_softc = NULL;
        goto fail_dev;
    }
    vblks[nvblks++] = b;
    *info = b->vb_info;
    return MIRC_OK;
fail_dev:
    virtio_dev_fail(dev);
fail:
    vblk_free(b);
    return s == MIRC_NO_MEMORY ? s : MIRC_IO;
}

/* Puts the device out of service: a reset stops every DMA it still had queued. */
static mirc_status broken(struct vblk *b, const char *why)
{
    if (!b->vb_dev->vd_broken && why)
        mirc_log("block '%s' (%s): %s; the device is out of service", b->vb_name,
                 b->vb_dev->vd_where, why);
    b->vb_dev->vd_broken = 1;
    b->vb_dev->vd_ops->set_status(b->vb_dev, 0);
    return MIRC_IO;
}

/* Queues one request of len bytes (0 for a flush) at byte offset off. */
static void submit(struct vblk *b, uint32_t type, uint64_t off, uint8_t *data, size_t len)
{
    uint16_t slot = b->vb_free[--b->vb_nfree];
    struct blk_slot *r = &b->vb_slots[slot];
    r->bs_type = type;
    r->bs_reserved = 0;
    r->bs_sector = off / BLK_SECTOR;
    r->bs_status = 0xff; /* a device that completes without writing it fails the request */
    struct virtq_seg *seg = b->vb_seg;
    unsigned n = 0;
    seg[n++] = (struct virtq_seg){ vio_phys(r), 16 };
    for (size_t done = 0; done < len;) {
        size_t c = len - done < b->vb_size_max ? len - done : b->vb_size_max;
        seg[n++] = (struct virtq_seg){ vio_phys(data + done), (uint32_t)c };
        done += c;
    }
    seg[n++] = (struct virtq_seg){ vio_phys(&r->bs_status), 1 };
    unsigned nout = type == BLK_T_IN ? 1 : n - 1;
    if (virtq_add(&b->vb_vq, seg, nout, n - nout, slot) != MIRC_OK)
        mirc_panic("block ring refused a %u-descriptor request it had room for", n);
}

static unsigned segs_needed(const struct vblk *b, size_t len)
{
    return 2 + (unsigned)((len + b->vb_size_max - 1) / b->vb_size_max);
}

/* Takes every completed request; the first failure is kept in *err. */
static mirc_status reap(struct vblk *b, unsigned *done, mirc_status *err)
{
    uint32_t slot, l;
    mirc_status s;
    while ((s = virtq_get(&b->vb_vq, &slot, &l)) == MIRC_OK) {
        const struct blk_slot *r = &b->vb_slots[slot];
        if (r->bs_status != BLK_S_OK && *err == MIRC_OK) {
            mirc_log("block '%s' (%s): the device failed a request at sector %llu: %s", b->vb_name,
                     b->vb_dev->vd_where, (unsigned long long)r->bs_sector,
                     r->bs_status == BLK_S_IOERR    ? "I/O error"
                     : r->bs_status == BLK_S_UNSUPP ? "unsupported"
                                                    : "no status");
            *err = MIRC_IO;
        }
        b->vb_free[b->vb_nfree++] = (uint16_t)slot;
        (*done)++;
    }
    return s;
}

/* Runs a whole transfer (or a flush, len 0) to completion. */
static mirc_status transfer(struct vblk *b, uint32_t type, uint64_t off, uint8_t *data, size_t len)
{
    mirc_status err = MIRC_OK;
    size_t queued = 0;
    int first = 1;
    uint64_t progress = 0, checked = 0; /* the clock is read only once the device is slow */
    unsigned spins = 0;

    for (;;) {
        /* refill in batches (empty or half-free ring): each batch costs one notification */
        int refill = virtq_inflight(&b->vb_vq) == 0 || b->vb_vq.vq_nfree >= b->vb_vq.vq_num / 2;
        while (refill && err == MIRC_OK && (queued < len || first)) {
            size_t c = len - queued < b->vb_req ? len - queued : b->vb_req;
            if (b->vb_nfree == 0 || b->vb_vq.vq_nfree < segs_needed(b, c))
                break;
            submit(b, type, off + queued, data + queued, c);
            queued += c;
            first = 0;
        }
        virtq_kick(&b->vb_vq);
        if (virtq_inflight(&b->vb_vq) == 0)
            return err;
        unsigned done = 0;
        mirc_status s = reap(b, &done, &err);
        if (s == MIRC_IO)
            return broken(b, "the used ring is corrupt");
        if (done) {
            progress = 0;
            spins = 0;
            continue;
        }
        vio_relax();
        if (++spins < 1024)
            continue;
        spins = 0;
        uint64_t now = vio_now_ns();
        if (progress == 0)
            progress = checked = now;
        if (now - checked >= BLK_CHECK_NS) {
            checked = now;
            if (virtio_dev_check(b->vb_dev))
                return broken(b, NULL);
        }
        if (now - progress >= BLK_TIMEOUT_NS)
            return broken(b, "no answer for 30 s");
    }
}

static mirc_status check(struct vblk *b, uint64_t offset, const void *buf, size_t len)
{
    if (!b || !buf)
        return MIRC_INVALID;
    if (b->vb_dev->vd_broken)
        return MIRC_IO;
    uint64_t ss = b->vb_info.sector_size;
    if (offset % ss || len % ss)
        return MIRC_INVALID;
    if (offset > b->vb_info.capacity || len > b->vb_info.capacity - offset)
        return MIRC_RANGE;
    return MIRC_OK;
}

mirc_status mirc_plat_block_read(int handle, uint64_t offset, void *buf, size_t len)
{
    struct vblk *b = lookup(handle);
    mirc_status s = check(b, offset, buf, len);
    if (s != MIRC_OK || len == 0)
        return s;
    return transfer(b, BLK_T_IN, offset, buf, len);
}

mirc_status mirc_plat_block_write(int handle, uint64_t offset, const void *buf, size_t len)
{
    struct vblk *b = lookup(handle);
    mirc_status s = check(b, offset, buf, len);
    if (s != MIRC_OK)
        return s;
    if (b->vb_info.read_only)
        return MIRC_READ_ONLY;
    if (len == 0)
        return MIRC_OK;
    /* the device only reads this buffer; the cast is for the shared segment type */
    return transfer(b, BLK_T_OUT, offset, (uint8_t *)(uintptr_t)buf, len);
}

mirc_status mirc_plat_block_flush(int handle)
{
    struct vblk *b = lookup(handle);
    if (!b)
        return MIRC_INVALID;
    if (b->vb_dev->vd_broken)
        return MIRC_IO;
    if (!b->vb_flush || b->vb_info.read_only)
        return MIRC_OK; /* without VIRTIO_BLK_F_FLUSH the device writes through */
    return transfer(b, BLK_T_FLUSH, 0, NULL, 0);
}

void virtio_block_reset(void)
{
    for (unsigned i = 0; i < nvblks; i++) {
        vblks[i]->vb_dev->vd_softc = NULL;
        vblk_free(vblks[i]);
    }
    nvblks = 0;
}
