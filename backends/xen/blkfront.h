/* backends/xen/blkfront.h: a Xen PV block frontend (xen/io/blkif.h). */
#ifndef MIRC_XEN_BLKFRONT_H
#define MIRC_XEN_BLKFRONT_H

/*
 * One ring of 32 requests, one event channel. Data moves through a pool of
 * XEN_BLK_POOL_PAGES pages granted once at open, so callers' buffers need no
 * alignment and nothing is granted or allocated per request. A transfer is
 * cut into requests of at most BLKIF_MAX_SEGMENTS_PER_REQUEST pages; as many
 * as the pool and ring allow are in flight at once, completions are taken in
 * any order, and the call returns when all of them have completed.
 *
 * Units: like Linux's blkfront and blkback, and as blkif.h prescribes for a
 * frontend that does not write feature-large-sector-size (we do not),
 * `sectors`, sector_number and first_sect/last_sect count 512-byte units;
 * `sector-size` is the logical block size, which only sets the alignment
 * and granularity of requests (mirc_block_info.sector_size).
 *
 * Flush uses BLKIF_OP_FLUSH_DISKCACHE when the back end offers
 * feature-flush-cache, else BLKIF_OP_WRITE_BARRIER when it offers
 * feature-barrier; with neither, the back end has no volatile cache to flush
 * and flush succeeds at once.
 *
 * Trust: responses are matched by id (slot and generation) and operation;
 * anything else is counted as bogus and ignored. More responses than
 * requests, no progress for env->io_timeout, or the back end leaving
 * Connected make the device unusable: MIRC_IO from then on.
 *
 * The caller owns struct xen_blk (keep it static) and every buffer; reads
 * and writes block (in port wait) until done.
 */

#include "xenbus.h"

#include <xen/io/blkif.h>

#include "mirc/block.h"

#ifndef XEN_BLK_POOL_PAGES
#define XEN_BLK_POOL_PAGES (4 * BLKIF_MAX_SEGMENTS_PER_REQUEST) /* 4 full requests in flight */
#endif
#define XEN_BLK_RING_SIZE __CONST_RING_SIZE(blkif, XEN_PAGE_SIZE) /* 32 */

struct xen_blk_req {
    int br_busy;
    uint8_t br_op;
    uint8_t br_nseg;
    uint16_t br_page[BLKIF_MAX_SEGMENTS_PER_REQUEST]; /* pool pages, in order */
    uint64_t br_id;
    char *br_dst; /* reads: where the data goes in the caller's buffer */
    size_t br_len;
};

struct xen_blk_stats {
    uint64_t requests; /* ring requests issued */
    uint64_t errors;   /* responses with an error status */
    uint64_t bogus;    /* responses matching no request in flight */
    unsigned max_inflight;
};

struct xen_blk {
    struct xen_bus_dev bk_bus;
    blkif_front_ring_t bk_ring;
    void *bk_ring_page;
    grant_ref_t bk_ring_ref;
    evtchn_port_t bk_evtchn;
    int bk_have_evtchn;
    void *bk_pool[XEN_BLK_POOL_PAGES];
    grant_ref_t bk_pool_ref[XEN_BLK_POOL_PAGES];
    uint16_t bk_free[XEN_BLK_POOL_PAGES]; /* stack of free pool pages */
    unsigned bk_nfree;
    struct xen_blk_req bk_req[XEN_BLK_RING_SIZE];
    unsigned bk_inflight;
    uint32_t bk_gen;
    uint16_t bk_vdev;    /* the device id, echoed in requests' handle */
    uint8_t bk_flush_op; /* BLKIF_OP_FLUSH_DISKCACHE, _WRITE_BARRIER, or 0xff: none */
    int bk_dead;
    mirc_block_info bk_info;
    struct xen_blk_stats bk_stats;
};

/*
 * Connects the vbd whose frontend directory is `node` ("device/vbd/51712"):
 * waits for the back end's InitWait, grants the ring and pool, publishes
 * ring-ref, event-channel and protocol, switches to Initialised, waits for
 * Connected, then reads sectors, sector-size (default 512), info (VDISK_*
 * bits) and mode ("r": read-only) and the flush features. On failure
 * everything is undone and bk_bus.xd_why says why.
 *
 * Returns MIRC_OK; MIRC_IO (missing or malformed keys: a sector size that is
 * not a power of two in 512..4096, no sectors); MIRC_NO_MEMORY; MIRC_CLOSED;
 * MIRC_TIMED_OUT; or a xenstore status.
 */
mirc_status xen_blk_open(struct xen_blk *b, struct xen_env *env, const char *node);

/*
 * Reads (writes) len bytes at byte offset, both multiples of the sector
 * size, within the capacity. Returns MIRC_OK; MIRC_INVALID (NULL buf,
 * misaligned offset or length); MIRC_RANGE; MIRC_READ_ONLY (write to a
 * read-only disk); MIRC_IO (the back end reported an error for some part:
 * a write may be partly applied; or the device is dead).
 */
mirc_status xen_blk_read(struct xen_blk *b, uint64_t offset, void *buf, size_t len);
mirc_status xen_blk_write(struct xen_blk *b, uint64_t offset, const void *buf, size_t len);

/*
 * Makes every completed write durable (see above for how). Returns MIRC_OK
 * or MIRC_IO (error response, including a back end that refuses the flush
 * it offered, or a dead device).
 */
mirc_status xen_blk_flush(struct xen_blk *b);

/* As xen_net_close. */
void xen_blk_close(struct xen_blk *b);

#endif
