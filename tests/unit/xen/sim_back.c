/* tests/unit/xen/sim_back.c: netback and blkback models driving the back halves of the rings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#include <xen/io/protocols.h>

static void path(char *out, const char *dir, const char *key)
{
    snprintf(out, 160, "%s/%s", dir, key);
}

static long long fe_num(const char *fe, const char *key)
{
    char p[160];
    path(p, fe, key);
    return xsd_get_num(p);
}

static void set_state(const char *be, int *state, int s)
{
    char p[160];
    *state = s;
    path(p, be, "state");
    xsd_setf(p, "%d", s);
}

/* ---- netback ---- */

struct sim_vif *sim_vif_add(unsigned id, const char *mac)
{
    struct sim_vif *v = calloc(1, sizeof *v);
    char p[160];
    cr_assert(v && sim.nvif < 8);
    v->rxq = calloc(SIM_VIF_QUEUE, sizeof *v->rxq);
    v->last_tx = calloc(1, sizeof *v->last_tx);
    v->id = id;
    v->sg = 1;
    snprintf(v->fe, sizeof v->fe, "/local/domain/%d/device/vif/%u", SIM_DOMID, id);
    snprintf(v->be, sizeof v->be, "/local/domain/0/backend/vif/%d/%u", SIM_DOMID, id);
    path(p, v->fe, "backend"), xsd_set(p, v->be);
    path(p, v->fe, "backend-id"), xsd_set(p, "0");
    path(p, v->fe, "handle"), xsd_setf(p, "%u", id);
    if (mac)
        path(p, v->fe, "mac"), xsd_set(p, mac);
    path(p, v->fe, "state"), xsd_set(p, "1");
    path(p, v->be, "frontend"), xsd_set(p, v->fe);
    path(p, v->be, "frontend-id"), xsd_setf(p, "%d", SIM_DOMID);
    path(p, v->be, "feature-rx-copy"), xsd_set(p, "1");
    set_state(v->be, &v->state, XenbusStateInitialising);
    sim.vif[sim.nvif++] = v;
    return v;
}

int sim_vif_inject(struct sim_vif *v, const void *frame, size_t len)
{
    if (v->rxq_n == SIM_VIF_QUEUE)
        return 0;
    cr_assert(len <= sizeof v->rxq[0].data);
    struct sim_frame *f = &v->rxq[(v->rxq_head + v->rxq_n++) % SIM_VIF_QUEUE];
    f->len = len;
    memcpy(f->data, frame, len);
    return 1;
}

static void vif_connect(struct sim_vif *v)
{
    long long tx = fe_num(v->fe, "tx-ring-ref"), rx = fe_num(v->fe, "rx-ring-ref");
    long long ev = fe_num(v->fe, "event-channel"), copy = fe_num(v->fe, "request-rx-copy");
    if (tx < 0 || rx < 0 || ev < 0 || copy != 1) {
        set_state(v->be, &v->state, XenbusStateClosing);
        return;
    }
    netif_tx_sring_t *txs = sim_grant_map((grant_ref_t)tx, 1);
    netif_rx_sring_t *rxs = sim_grant_map((grant_ref_t)rx, 1);
    if (!txs || !rxs) {
        set_state(v->be, &v->state, XenbusStateClosing);
        return;
    }
    v->tx_ref = (grant_ref_t)tx;
    v->rx_ref = (grant_ref_t)rx;
    BACK_RING_INIT(&v->tx, txs, XEN_PAGE_SIZE);
    BACK_RING_INIT(&v->rx, rxs, XEN_PAGE_SIZE);
    v->connected = 1;
    set_state(v->be, &v->state, XenbusStateConnected);
}

static void vif_disconnect(struct sim_vif *v)
{
    if (v->connected) {
        sim_grant_unmap(v->tx_ref);
        sim_grant_unmap(v->rx_ref);
    }
    v->connected = 0;
}

/* Takes one frame off the TX ring; answers its slots into rsp[]. Returns slots used, 0: none. */
static unsigned vif_tx_frame(struct sim_vif *v, netif_tx_response_t *rsp)
{
    netif_tx_back_ring_t *r = &v->tx;
    if (!RING_HAS_UNCONSUMED_REQUESTS(r))
        return 0;
    netif_tx_request_t req[XEN_NETIF_NR_SLOTS_MIN];
    unsigned n = 0;
    do {
        cr_assert(RING_HAS_UNCONSUMED_REQUESTS(r), "guest pushed half a frame");
        cr_assert(n < XEN_NETIF_NR_SLOTS_MIN, "frame spans too many slots");
        RING_COPY_REQUEST(r, r->req_cons, &req[n]);
        r->req_cons++;
    } while (req[n++].flags & NETTXF_more_data);
    if (n > v->tx_max_slots)
        v->tx_max_slots = n;

    /* the first slot's size is the whole frame; its own data is what the others leave */
    size_t rest = 0;
    for (unsigned i = 1; i < n; i++)
        rest += req[i].size;
    int bad = rest > req[0].size || (n > 1 && !v->sg);
    struct sim_frame *f = v->last_tx;
    f->len = 0;
    for (unsigned i = 0; i < n && !bad; i++) {
        size_t sz = i == 0 ? req[0].size - rest : req[i].size;
        const unsigned char *page = sim_grant(req[i].gref, 0);
        if (!page || req[i].offset + sz > XEN_PAGE_SIZE || f->len + sz > sizeof f->data) {
            bad = 1;
            break;
        }
        memcpy(f->data + f->len, page + req[i].offset, sz);
        f->len += sz;
    }
    for (unsigned i = 0; i < n; i++)
        rsp[i] = (netif_tx_response_t){ req[i].id, bad ? NETIF_RSP_ERROR : NETIF_RSP_OKAY };
    if (bad) {
        v->tx_bad++;
    } else {
        v->tx_frames++;
        if (v->echo && !sim_vif_inject(v, f->data, f->len))
            v->rx_dropped++;
    }
    return n;
}

static void vif_tx(struct sim_vif *v)
{
    netif_tx_response_t rsp[512];
    unsigned n = 0, k;
    while (n + XEN_NETIF_NR_SLOTS_MIN <= 512 && (k = vif_tx_frame(v, rsp + n)))
        n += k;
    for (unsigned i = 0; i < n; i++) {
        netif_tx_response_t *out = RING_GET_RESPONSE(&v->tx, v->tx.rsp_prod_pvt);
        *out = rsp[v->tx_reverse ? n - 1 - i : i];
        v->tx.rsp_prod_pvt++;
    }
    if (n) {
        int notify;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->tx, notify);
        (void)notify;
    }
}

static void vif_rx(struct sim_vif *v)
{
    netif_rx_back_ring_t *r = &v->rx;
    int any = 0;
    if (v->rx_overflow) {
        v->rx_overflow = 0;
        r->rsp_prod_pvt += RING_SIZE(r) + 1;
        RING_PUSH_RESPONSES(r);
        return;
    }
    while (v->rxq_n) {
        struct sim_frame *f = &v->rxq[v->rxq_head];
        unsigned slots = (unsigned)((f->len + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE);
        if (slots == 0)
            slots = 1;
        if (slots > 1 && !v->sg) {
            v->rx_dropped++;
            v->rxq_head = (v->rxq_head + 1) % SIM_VIF_QUEUE;
            v->rxq_n--;
            continue;
        }
        unsigned need = slots + (v->rx_extra ? 1 : 0);
        if (r->sring->req_prod - r->req_cons < need)
            break; /* not enough buffers posted: wait for the guest */
        for (unsigned i = 0, k = 0; i < slots; i++, k++) {
            netif_rx_request_t req;
            RING_COPY_REQUEST(r, r->req_cons, &req);
            r->req_cons++;
            size_t off = (size_t)i * XEN_PAGE_SIZE;
            size_t chunk = f->len - off < XEN_PAGE_SIZE ? f->len - off : XEN_PAGE_SIZE;
            unsigned char *page = sim_grant(req.gref, 1);
            netif_rx_response_t *rsp = RING_GET_RESPONSE(r, r->rsp_prod_pvt);
            r->rsp_prod_pvt++;
            uint16_t poff = (uint16_t)(v->rx_bad_offset ? XEN_PAGE_SIZE - 10 : 0);
            if (page && !v->rx_bad_offset)
                memcpy(page + poff, f->data + off, chunk);
            *rsp =
                (netif_rx_response_t){ req.id, poff, 0, page ? (int16_t)chunk : NETIF_RSP_ERROR };
            if (i + 1 < slots)
                rsp->flags |= NETRXF_more_data;
            if (v->rx_bogus_id)
                rsp->id = (uint16_t)(req.id + 1000);
            if (v->rx_error)
                rsp->status = NETIF_RSP_ERROR;
            if (i == 0 && v->rx_extra) {
                /* a GSO extra-info slot follows the first response */
                rsp->flags |= NETRXF_extra_info;
                RING_COPY_REQUEST(r, r->req_cons, &req);
                r->req_cons++;
                netif_extra_info_t *ex =
                    (netif_extra_info_t *)RING_GET_RESPONSE(r, r->rsp_prod_pvt);
                r->rsp_prod_pvt++;
                memset(ex, 0, sizeof *ex);
                ex->type = XEN_NETIF_EXTRA_TYPE_GSO;
                ex->u.gso.size = 1448;
                ex->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
            }
        }
        v->rx_bogus_id = v->rx_error = v->rx_bad_offset = v->rx_extra = 0;
        v->rxq_head = (v->rxq_head + 1) % SIM_VIF_QUEUE;
        v->rxq_n--;
        v->rx_frames++;
        any = 1;
    }
    if (any) {
        int notify;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r, notify);
        (void)notify;
    }
}

void sim_vif_step(struct sim_vif *v)
{
    long long fs = fe_num(v->fe, "state");
    switch (v->state) {
    case XenbusStateInitialising:
        if (v->delay) {
            v->delay--;
            break;
        }
        {
            char p[160];
            path(p, v->be, "feature-sg");
            xsd_setf(p, "%d", v->sg);
        }
        set_state(v->be, &v->state, XenbusStateInitWait);
        break;
    case XenbusStateInitWait:
        if (!v->never_connect && (fs == XenbusStateInitialised || fs == XenbusStateConnected))
            vif_connect(v);
        break;
    case XenbusStateConnected:
        if (fs == XenbusStateClosing || fs == XenbusStateClosed) {
            vif_disconnect(v);
            set_state(v->be, &v->state, XenbusStateClosed);
            break;
        }
        if (!v->hold_tx)
            vif_tx(v);
        vif_rx(v);
        break;
    default:
        vif_disconnect(v);
        break;
    }
}

/* ---- blkback ---- */

struct sim_vbd *sim_vbd_add(unsigned id, uint64_t bytes, uint32_t ssize)
{
    struct sim_vbd *d = calloc(1, sizeof *d);
    char p[160];
    cr_assert(d && sim.nvbd < 8);
    d->id = id;
    d->disk = calloc(1, bytes);
    d->sectors = bytes / 512;
    d->ssize = ssize;
    d->flush_cache = 1;
    d->error_sector = UINT64_MAX;
    snprintf(d->fe, sizeof d->fe, "/local/domain/%d/device/vbd/%u", SIM_DOMID, id);
    snprintf(d->be, sizeof d->be, "/local/domain/0/backend/vbd/%d/%u", SIM_DOMID, id);
    path(p, d->fe, "backend"), xsd_set(p, d->be);
    path(p, d->fe, "backend-id"), xsd_set(p, "0");
    path(p, d->fe, "virtual-device"), xsd_setf(p, "%u", id);
    path(p, d->fe, "state"), xsd_set(p, "1");
    path(p, d->be, "frontend"), xsd_set(p, d->fe);
    path(p, d->be, "frontend-id"), xsd_setf(p, "%d", SIM_DOMID);
    set_state(d->be, &d->state, XenbusStateInitialising);
    sim.vbd[sim.nvbd++] = d;
    return d;
}

static void vbd_connect(struct sim_vbd *d)
{
    long long ref = fe_num(d->fe, "ring-ref"), ev = fe_num(d->fe, "event-channel");
    char p[160], proto[32];
    path(p, d->fe, "protocol");
    if (ref < 0 || ev < 0 || xsd_get(p, proto, sizeof proto) < 0 ||
        strcmp(proto, XEN_IO_PROTO_ABI_X86_64) != 0) {
        set_state(d->be, &d->state, XenbusStateClosing);
        return;
    }
    blkif_sring_t *s = sim_grant_map((grant_ref_t)ref, 1);
    if (!s) {
        set_state(d->be, &d->state, XenbusStateClosing);
        return;
    }
    d->ring_ref = (grant_ref_t)ref;
    BACK_RING_INIT(&d->ring, s, XEN_PAGE_SIZE);
    /* as blkback: the disk's geometry and features just before Connected */
    path(p, d->be, "sectors"), xsd_setf(p, "%llu", (unsigned long long)d->sectors);
    path(p, d->be, "sector-size"), xsd_setf(p, "%u", d->ssize);
    path(p, d->be, "info"), xsd_setf(p, "%d", d->ro ? VDISK_READONLY : 0);
    path(p, d->be, "mode"), xsd_set(p, d->mode_r ? "r" : "w");
    path(p, d->be, "feature-flush-cache"), xsd_setf(p, "%d", d->flush_cache);
    path(p, d->be, "feature-barrier"), xsd_setf(p, "%d", d->barrier);
    d->connected = 1;
    set_state(d->be, &d->state, XenbusStateConnected);
}

static int16_t vbd_do(struct sim_vbd *d, const blkif_request_t *req)
{
    d->reqs++;
    switch (req->operation) {
    case BLKIF_OP_FLUSH_DISKCACHE:
        if (!d->flush_cache)
            return BLKIF_RSP_EOPNOTSUPP;
        d->flushes++;
        return BLKIF_RSP_OKAY;
    case BLKIF_OP_WRITE_BARRIER:
        if (!d->barrier)
            return BLKIF_RSP_EOPNOTSUPP;
        d->barriers++;
        if (req->nr_segments == 0)
            return BLKIF_RSP_OKAY;
        break;
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        break;
    default:
        d->bad_reqs++;
        return BLKIF_RSP_ERROR;
    }
    unsigned nseg = req->nr_segments;
    if (nseg == 0 || nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        d->bad_reqs++;
        return BLKIF_RSP_ERROR;
    }
    if (nseg > d->max_segs)
        d->max_segs = nseg;
    int write = req->operation != BLKIF_OP_READ;
    if (write && (d->ro || d->mode_r)) {
        d->bad_reqs++;
        return BLKIF_RSP_ERROR;
    }
    uint64_t sector = req->sector_number, total = 0;
    for (unsigned i = 0; i < nseg; i++) {
        const struct blkif_request_segment *s = &req->seg[i];
        if (s->first_sect > s->last_sect || s->last_sect >= XEN_PAGE_SIZE / 512) {
            d->bad_reqs++;
            return BLKIF_RSP_ERROR;
        }
        total += (uint64_t)(s->last_sect - s->first_sect + 1);
    }
    if (sector + total > d->sectors || (sector * 512) % d->ssize || (total * 512) % d->ssize) {
        d->bad_reqs++;
        return BLKIF_RSP_ERROR;
    }
    if (d->error_sector >= sector && d->error_sector < sector + total)
        return BLKIF_RSP_ERROR;
    for (unsigned i = 0; i < nseg; i++) {
        const struct blkif_request_segment *s = &req->seg[i];
        /* reading the disk writes the guest's page, and the other way round */
        unsigned char *page = sim_grant(s->gref, !write);
        if (!page) {
            d->bad_reqs++;
            return BLKIF_RSP_ERROR;
        }
        size_t off = (size_t)s->first_sect * 512,
               n = (size_t)(s->last_sect - s->first_sect + 1) * 512;
        if (write)
            memcpy(d->disk + sector * 512, page + off, n);
        else
            memcpy(page + off, d->disk + sector * 512, n);
        sector += n / 512;
    }
    return BLKIF_RSP_OKAY;
}

static void vbd_respond(struct sim_vbd *d, blkif_response_t rsp)
{
    blkif_response_t *out = RING_GET_RESPONSE(&d->ring, d->ring.rsp_prod_pvt);
    d->ring.rsp_prod_pvt++;
    out->id = rsp.id;
    out->operation = rsp.operation;
    out->status = rsp.status;
}

void sim_vbd_step(struct sim_vbd *d)
{
    long long fs = fe_num(d->fe, "state");
    switch (d->state) {
    case XenbusStateInitialising:
        if (d->delay) {
            d->delay--;
            break;
        }
        set_state(d->be, &d->state, XenbusStateInitWait);
        break;
    case XenbusStateInitWait:
        if (!d->never_connect && (fs == XenbusStateInitialised || fs == XenbusStateConnected))
            vbd_connect(d);
        break;
    case XenbusStateConnected: {
        if (fs == XenbusStateClosing || fs == XenbusStateClosed) {
            sim_grant_unmap(d->ring_ref);
            d->connected = 0;
            set_state(d->be, &d->state, XenbusStateClosed);
            break;
        }
        blkif_back_ring_t *r = &d->ring;
        int any = 0;
        if (d->extra_rsp) {
            d->extra_rsp = 0;
            vbd_respond(d, (blkif_response_t){ 0x4242, BLKIF_OP_READ, BLKIF_RSP_OKAY });
            any = 1;
        }
        while (!d->hold && RING_HAS_UNCONSUMED_REQUESTS(r)) {
            blkif_request_t req;
            RING_COPY_REQUEST(r, r->req_cons, &req);
            r->req_cons++;
            if (d->close_on_request) {
                set_state(d->be, &d->state, XenbusStateClosing);
                return;
            }
            blkif_response_t rsp = { req.id, req.operation, vbd_do(d, &req) };
            if (d->bogus_id) {
                d->bogus_id = 0;
                rsp.id ^= 0x5500;
            }
            d->pend[d->npend++] = rsp;
            if (d->npend > d->max_pending)
                d->max_pending = d->npend;
        }
        /* answer in reverse once a batch is pending, or when the guest has sent all it will */
        if (d->npend && (d->npend >= d->batch || !RING_HAS_UNCONSUMED_REQUESTS(r))) {
            for (unsigned i = 0; i < d->npend; i++)
                vbd_respond(d, d->pend[d->batch > 1 ? d->npend - 1 - i : i]);
            d->npend = 0;
            any = 1;
        }
        if (any) {
            int notify;
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r, notify);
            (void)notify;
        }
        break;
    }
    default:
        if (d->connected)
            sim_grant_unmap(d->ring_ref);
        d->connected = 0;
        break;
    }
}
