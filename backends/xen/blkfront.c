/* backends/xen/blkfront.c: blkfront: xenbus handshake, bounce pool, requests in flight. */
#include "blkfront.h"

#include <xen/io/protocols.h>

#define NO_FLUSH         0xff
#define SECTORS_PER_PAGE (XEN_PAGE_SIZE / 512)

static mirc_status die(struct xen_blk *b, const char *why)
{
    if (!b->bk_dead)
        mirc_log("xen: %s: %s; the disk is unusable", b->bk_bus.xd_node, why);
    b->bk_dead = 1;
    b->bk_bus.xd_why = why;
    return MIRC_IO;
}

static mirc_status page_get(struct xen_blk *b, void **page, grant_ref_t *ref)
{
    const struct xen_port *p = &b->bk_bus.xd_env->port;
    *page = p->ops->page_alloc(p->ctx);
    if (!*page)
        return MIRC_NO_MEMORY;
    mirc_status s = xen_gnttab_grant(b->bk_bus.xd_env->gt, b->bk_bus.xd_backend_id,
                                     p->ops->frame(p->ctx, *page), 0, ref);
    if (s != MIRC_OK) {
        p->ops->page_free(p->ctx, *page);
        *page = NULL;
    }
    return s;
}

static void page_put(struct xen_blk *b, void **page, grant_ref_t ref)
{
    const struct xen_port *p = &b->bk_bus.xd_env->port;
    if (!*page)
        return;
    if (xen_gnttab_end(b->bk_bus.xd_env->gt, ref) == MIRC_OK)
        p->ops->page_free(p->ctx, *page); /* else the back end still maps it: leak it */
    *page = NULL;
}

static void release(struct xen_blk *b)
{
    struct xen_env *env = b->bk_bus.xd_env;
    if (b->bk_have_evtchn)
        env->port.ops->evtchn_close(env->port.ctx, b->bk_evtchn);
    b->bk_have_evtchn = 0;
    for (unsigned i = 0; i < XEN_BLK_POOL_PAGES; i++)
        page_put(b, &b->bk_pool[i], b->bk_pool_ref[i]);
    page_put(b, &b->bk_ring_page, b->bk_ring_ref);
    b->bk_nfree = 0;
}

static mirc_status setup_ring(struct xen_blk *b)
{
    struct xen_env *env = b->bk_bus.xd_env;
    mirc_status s = page_get(b, &b->bk_ring_page, &b->bk_ring_ref);
    if (s != MIRC_OK)
        goto fail;
    blkif_sring_t *sring = b->bk_ring_page;
    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&b->bk_ring, sring, XEN_PAGE_SIZE);
    for (unsigned i = 0; i < XEN_BLK_POOL_PAGES; i++) {
        if ((s = page_get(b, &b->bk_pool[i], &b->bk_pool_ref[i])) != MIRC_OK)
            goto fail;
        b->bk_free[b->bk_nfree++] = (uint16_t)i;
    }
    s = env->port.ops->evtchn_alloc(env->port.ctx, b->bk_bus.xd_backend_id, &b->bk_evtchn);
    if (s != MIRC_OK)
        goto fail;
    b->bk_have_evtchn = 1;
    return MIRC_OK;
fail:
    b->bk_bus.xd_why = "out of pages, grant references or event channels";
    return s;
}

static mirc_status write_config(void *ctx, uint32_t tx)
{
    struct xen_blk *b = ctx;
    struct xen_xs *xs = b->bk_bus.xd_env->xs;
    char path[XEN_XS_PATH_MAX];
    mirc_status s;

    xen_bus_path(path, sizeof path, b->bk_bus.xd_node, "ring-ref");
    if ((s = xen_xs_write_u64(xs, tx, path, b->bk_ring_ref)) != MIRC_OK)
        return s;
    xen_bus_path(path, sizeof path, b->bk_bus.xd_node, "event-channel");
    if ((s = xen_xs_write_u64(xs, tx, path, b->bk_evtchn)) != MIRC_OK)
        return s;
    xen_bus_path(path, sizeof path, b->bk_bus.xd_node, "protocol");
    return xen_xs_write(xs, tx, path, XEN_IO_PROTO_ABI_NATIVE);
}

/* A back-end key holding a number; `def` when absent. */
static mirc_status backend_u64(struct xen_blk *b, const char *key, uint64_t def, uint64_t *v)
{
    char path[XEN_XS_PATH_MAX];
    if (xen_bus_path(path, sizeof path, b->bk_bus.xd_backend, key) != MIRC_OK)
        return MIRC_IO;
    mirc_status s = xen_xs_read_u64(b->bk_bus.xd_env->xs, XEN_XS_NO_TX, path, v);
    if (s == MIRC_NOT_FOUND && def != UINT64_MAX) {
        *v = def;
        return MIRC_OK;
    }
    return s;
}

static mirc_status read_disk_info(struct xen_blk *b)
{
    uint64_t sectors, ssize, info, flush, barrier;
    char path[XEN_XS_PATH_MAX], mode[8];
    mirc_status s;

    if ((s = backend_u64(b, "sectors", UINT64_MAX, &sectors)) != MIRC_OK ||
        (s = backend_u64(b, "sector-size", 512, &ssize)) != MIRC_OK ||
        (s = backend_u64(b, "info", 0, &info)) != MIRC_OK ||
        (s = backend_u64(b, "feature-flush-cache", 0, &flush)) != MIRC_OK ||
        (s = backend_u64(b, "feature-barrier", 0, &barrier)) != MIRC_OK) {
        b->bk_bus.xd_why = "its back end's sectors, sector-size, info or features are "
                           "missing or not numbers";
        return s == MIRC_NOT_FOUND ? MIRC_IO : s;
    }
    if (ssize < 512 || ssize > XEN_PAGE_SIZE || (ssize & (ssize - 1))) {
        b->bk_bus.xd_why = "its back end's sector-size is not a power of two in 512..4096";
        return MIRC_IO;
    }
    if (sectors == 0 || sectors > UINT64_MAX / 512) {
        b->bk_bus.xd_why = "its back end's sectors is 0 or too large";
        return MIRC_IO;
    }
    b->bk_info.sector_size = (uint32_t)ssize;
    b->bk_info.capacity = sectors * 512 / ssize * ssize; /* whole logical blocks only */
    b->bk_info.read_only = (info & VDISK_READONLY) != 0;
    xen_bus_path(path, sizeof path, b->bk_bus.xd_backend, "mode");
    if (xen_xs_read(b->bk_bus.xd_env->xs, XEN_XS_NO_TX, path, mode, sizeof mode, NULL) == MIRC_OK &&
        strcmp(mode, "r") == 0)
        b->bk_info.read_only = 1;
    b->bk_flush_op = flush ? BLKIF_OP_FLUSH_DISKCACHE : barrier ? BLKIF_OP_WRITE_BARRIER : NO_FLUSH;
    if (b->bk_info.capacity == 0) {
        b->bk_bus.xd_why = "its back end's disk is smaller than one sector";
        return MIRC_IO;
    }
    return MIRC_OK;
}

/* "device/vbd/51712" -> 51712; the last path component is a device id by construction. */
static uint16_t vdev_of(const char *node)
{
    const char *p = strrchr(node, '/');
    uint32_t v = 0;
    for (p = p ? p + 1 : node; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint32_t)(*p - '0');
    return (uint16_t)v;
}

mirc_status xen_blk_open(struct xen_blk *b, struct xen_env *env, const char *node)
{
    const unsigned waiting =
        1u << XenbusStateInitWait | 1u << XenbusStateInitialised | 1u << XenbusStateConnected;
    mirc_status s;

    memset(b, 0, sizeof *b);
    b->bk_vdev = vdev_of(node);
    if ((s = xen_bus_open(&b->bk_bus, env, node)) != MIRC_OK)
        goto fail_bus;
    if ((s = xen_bus_wait(&b->bk_bus, waiting)) != MIRC_OK)
        goto fail_watch;
    if ((s = setup_ring(b)) != MIRC_OK ||
        (s = xen_bus_transact(&b->bk_bus, write_config, b)) != MIRC_OK ||
        (s = xen_bus_switch(&b->bk_bus, XenbusStateInitialised)) != MIRC_OK ||
        (s = xen_bus_wait(&b->bk_bus, 1u << XenbusStateConnected)) != MIRC_OK ||
        (s = read_disk_info(b)) != MIRC_OK ||
        (s = xen_bus_switch(&b->bk_bus, XenbusStateConnected)) != MIRC_OK)
        goto fail_ring;
    return MIRC_OK;

fail_ring:
    xen_bus_shutdown(&b->bk_bus);
    release(b);
fail_watch:
    xen_bus_close(&b->bk_bus);
fail_bus:
    return s;
}

void xen_blk_close(struct xen_blk *b)
{
    xen_bus_shutdown(&b->bk_bus);
    release(b);
    xen_bus_close(&b->bk_bus);
    b->bk_dead = 1;
}

/* Can one more request of `pages` pool pages go on the ring now? Returns its slot or -1. */
static int free_slot(struct xen_blk *b, unsigned pages)
{
    if (RING_FULL(&b->bk_ring) || b->bk_nfree < pages)
        return -1;
    for (int i = 0; i < (int)XEN_BLK_RING_SIZE; i++)
        if (!b->bk_req[i].br_busy)
            return i;
    return -1;
}

/* Puts one request on the ring (not yet pushed). len is a multiple of 512. */
static void issue(struct xen_blk *b, int slot, uint8_t op, uint64_t offset, char *data, size_t len)
{
    struct xen_blk_req *q = &b->bk_req[slot];
    blkif_request_t *req = RING_GET_REQUEST(&b->bk_ring, b->bk_ring.req_prod_pvt);
    b->bk_ring.req_prod_pvt++;

    q->br_busy = 1;
    q->br_op = op;
    q->br_nseg = (uint8_t)((len + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE);
    q->br_id = (uint64_t)++b->bk_gen << 8 | (unsigned)slot;
    q->br_dst = data;
    q->br_len = len;
    req->operation = op;
    req->nr_segments = q->br_nseg;
    req->handle = b->bk_vdev;
    req->id = q->br_id;
    req->sector_number = offset / 512;
    for (unsigned i = 0; i < q->br_nseg; i++) {
        size_t chunk = len - (size_t)i * XEN_PAGE_SIZE;
        if (chunk > XEN_PAGE_SIZE)
            chunk = XEN_PAGE_SIZE;
        uint16_t p = b->bk_free[--b->bk_nfree];
        q->br_page[i] = p;
        if (op == BLKIF_OP_WRITE)
            memcpy(b->bk_pool[p], data + (size_t)i * XEN_PAGE_SIZE, chunk);
        req->seg[i].gref = b->bk_pool_ref[p];
        req->seg[i].first_sect = 0;
        req->seg[i].last_sect = (uint8_t)(chunk / 512 - 1);
    }
    b->bk_inflight++;
    b->bk_stats.requests++;
    if (b->bk_inflight > b->bk_stats.max_inflight)
        b->bk_stats.max_inflight = b->bk_inflight;
}

/* Takes in completions; sets *progress if any request completed, *err on error responses. */
static mirc_status collect(struct xen_blk *b, int *progress, mirc_status *err)
{
    blkif_front_ring_t *r = &b->bk_ring;
    RING_IDX prod = __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE);
    xen_rmb(); /* read the index before the responses it covers */
    if (prod - r->rsp_cons > r->req_prod_pvt - r->rsp_cons)
        return die(b, "back end produced more responses than requests");
    for (RING_IDX c = r->rsp_cons; c != prod; c++) {
        blkif_response_t rsp;
        RING_COPY_RESPONSE(r, c, &rsp);
        unsigned slot = (unsigned)(rsp.id & 0xff);
        struct xen_blk_req *q = slot < XEN_BLK_RING_SIZE ? &b->bk_req[slot] : NULL;
        if (!q || !q->br_busy || q->br_id != rsp.id || q->br_op != rsp.operation) {
            b->bk_stats.bogus++;
            continue;
        }
        if (rsp.status == BLKIF_RSP_OKAY && q->br_op == BLKIF_OP_READ) {
            for (unsigned i = 0; i < q->br_nseg; i++) {
                size_t chunk = q->br_len - (size_t)i * XEN_PAGE_SIZE;
                memcpy(q->br_dst + (size_t)i * XEN_PAGE_SIZE, b->bk_pool[q->br_page[i]],
                       chunk > XEN_PAGE_SIZE ? XEN_PAGE_SIZE : chunk);
            }
        } else if (rsp.status != BLKIF_RSP_OKAY) {
            b->bk_stats.errors++;
            *err = MIRC_IO;
        }
        for (unsigned i = 0; i < q->br_nseg; i++)
            b->bk_free[b->bk_nfree++] = q->br_page[i];
        q->br_busy = 0;
        b->bk_inflight--;
        *progress = 1;
    }
    r->rsp_cons = prod;
    return MIRC_OK;
}

/*
 * Runs a whole transfer (or, for a flush op, one request without data):
 * keeps the ring as full as the pool allows and waits for every completion.
 */
static mirc_status run(struct xen_blk *b, uint8_t op, uint64_t offset, char *data, size_t len)
{
    struct xen_env *env = b->bk_bus.xd_env;
    uint64_t deadline = xen_deadline(&env->port, env->io_timeout);
    size_t issued = 0;
    int flush_pending = op != BLKIF_OP_READ && op != BLKIF_OP_WRITE;
    mirc_status err = MIRC_OK;

    while ((err == MIRC_OK && (issued < len || flush_pending)) || b->bk_inflight) {
        int any = 0, slot;
        while (err == MIRC_OK && issued < len) {
            size_t chunk = len - issued;
            if (chunk > (size_t)BLKIF_MAX_SEGMENTS_PER_REQUEST * XEN_PAGE_SIZE)
                chunk = (size_t)BLKIF_MAX_SEGMENTS_PER_REQUEST * XEN_PAGE_SIZE;
            slot = free_slot(b, (unsigned)((chunk + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE));
            if (slot < 0)
                break;
            issue(b, slot, op, offset + issued, data + issued, chunk);
            issued += chunk;
            any = 1;
        }
        if (flush_pending && (slot = free_slot(b, 0)) >= 0) {
            issue(b, slot, op, 0, NULL, 0);
            flush_pending = 0;
            any = 1;
        }
        if (any) {
            int notify;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&b->bk_ring, notify);
            if (notify)
                xen_notify(&env->port, b->bk_evtchn);
        }

        int progress = 0, more;
        if (collect(b, &progress, &err) != MIRC_OK)
            return MIRC_IO;
        if (progress) {
            deadline = xen_deadline(&env->port, env->io_timeout);
            continue;
        }
        RING_FINAL_CHECK_FOR_RESPONSES(&b->bk_ring, more);
        if (more)
            continue;
        if (xen_bus_check(&b->bk_bus) != MIRC_OK)
            return die(b, b->bk_bus.xd_why);
        if (xen_now(&env->port) >= deadline)
            return die(b, "no response from the back end in time");
        xen_wait(&env->port, deadline);
    }
    return err;
}

static mirc_status check(struct xen_blk *b, uint64_t offset, const void *buf, size_t len)
{
    if (b->bk_dead)
        return MIRC_IO;
    if (!buf)
        return MIRC_INVALID;
    if (offset % b->bk_info.sector_size || len % b->bk_info.sector_size)
        return MIRC_INVALID;
    if (offset > b->bk_info.capacity || len > b->bk_info.capacity - offset)
        return MIRC_RANGE;
    return MIRC_OK;
}

mirc_status xen_blk_read(struct xen_blk *b, uint64_t offset, void *buf, size_t len)
{
    mirc_status s = check(b, offset, buf, len);
    if (s != MIRC_OK || len == 0)
        return s;
    return run(b, BLKIF_OP_READ, offset, buf, len);
}

mirc_status xen_blk_write(struct xen_blk *b, uint64_t offset, const void *buf, size_t len)
{
    mirc_status s = check(b, offset, buf, len);
    if (s != MIRC_OK)
        return s;
    if (b->bk_info.read_only)
        return MIRC_READ_ONLY;
    if (len == 0)
        return MIRC_OK;
    /* run() only reads from data for writes; the cast keeps one code path */
    return run(b, BLKIF_OP_WRITE, offset, (char *)(uintptr_t)buf, len);
}

mirc_status xen_blk_flush(struct xen_blk *b)
{
    if (b->bk_dead)
        return MIRC_IO;
    if (b->bk_info.read_only || b->bk_flush_op == NO_FLUSH)
        return MIRC_OK;
    return run(b, b->bk_flush_op, 0, NULL, 0);
}
