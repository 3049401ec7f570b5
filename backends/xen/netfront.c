/* backends/xen/netfront.c: netfront: xenbus handshake, buffer pools, TX and RX rings. */
#include "netfront.h"

#define RX_RING_SIZE    __CONST_RING_SIZE(netif_rx, XEN_PAGE_SIZE)
#define MAX_FRAME_SLOTS ((MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE)

static mirc_status die(struct xen_net *n, const char *why)
{
    if (!n->nt_dead)
        mirc_log("xen: %s: %s; the NIC is unusable", n->nt_bus.xd_node, why);
    n->nt_dead = 1;
    n->nt_bus.xd_why = why;
    return MIRC_IO;
}

/* Allocates a page and grants it to the back end. */
static mirc_status buf_get(struct xen_net *n, struct xen_net_buf *b, int readonly)
{
    const struct xen_port *p = &n->nt_bus.xd_env->port;
    b->nb_page = p->ops->page_alloc(p->ctx);
    if (!b->nb_page)
        return MIRC_NO_MEMORY;
    mirc_status s = xen_gnttab_grant(n->nt_bus.xd_env->gt, n->nt_bus.xd_backend_id,
                                     p->ops->frame(p->ctx, b->nb_page), readonly, &b->nb_ref);
    if (s != MIRC_OK) {
        p->ops->page_free(p->ctx, b->nb_page);
        b->nb_page = NULL;
        b->nb_ref = 0;
    }
    return s;
}

/* Revokes and frees; a page the back end still maps is leaked, never reused. */
static void buf_put(struct xen_net *n, struct xen_net_buf *b)
{
    const struct xen_port *p = &n->nt_bus.xd_env->port;
    if (!b->nb_page)
        return;
    if (xen_gnttab_end(n->nt_bus.xd_env->gt, b->nb_ref) == MIRC_OK)
        p->ops->page_free(p->ctx, b->nb_page);
    b->nb_page = NULL;
    b->nb_ref = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "00:16:3e:01:02:03" exactly. */
static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[3 * i]), lo = hi < 0 ? -1 : hexval(s[3 * i + 1]);
        char sep = s[3 * i + 2];
        if (hi < 0 || lo < 0 || sep != (i == 5 ? '\0' : ':'))
            return 0;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static mirc_status read_config(struct xen_net *n)
{
    struct xen_bus_dev *d = &n->nt_bus;
    struct xen_xs *xs = d->xd_env->xs;
    char path[XEN_XS_PATH_MAX], val[32];
    uint64_t v;

    xen_bus_path(path, sizeof path, d->xd_node, "mac");
    mirc_status s = xen_xs_read(xs, XEN_XS_NO_TX, path, val, sizeof val, NULL);
    if (s != MIRC_OK || !parse_mac(val, n->nt_info.mac)) {
        d->xd_why = "no valid 'mac' key (xx:xx:xx:xx:xx:xx) in its xenstore directory";
        return s == MIRC_OK || s == MIRC_TOO_BIG ? MIRC_IO : s;
    }
    n->nt_info.mtu = 1500;
    xen_bus_path(path, sizeof path, d->xd_node, "mtu");
    s = xen_xs_read_u64(xs, XEN_XS_NO_TX, path, &v);
    if (s == MIRC_OK) {
        if (v < 68 || v > MIRC_NET_MTU_MAX) {
            d->xd_why = "its 'mtu' key is outside 68..9000";
            return MIRC_IO;
        }
        n->nt_info.mtu = (uint16_t)v;
    } else if (s != MIRC_NOT_FOUND) {
        d->xd_why = "its 'mtu' key is not a number";
        return s;
    }
    return MIRC_OK;
}

/* A back-end feature flag: absent means 0. */
static mirc_status feature(struct xen_net *n, const char *key, int *on)
{
    char path[XEN_XS_PATH_MAX];
    uint64_t v = 0;
    if (xen_bus_path(path, sizeof path, n->nt_bus.xd_backend, key) != MIRC_OK)
        return MIRC_IO;
    mirc_status s = xen_xs_read_u64(n->nt_bus.xd_env->xs, XEN_XS_NO_TX, path, &v);
    if (s != MIRC_OK && s != MIRC_NOT_FOUND) {
        n->nt_bus.xd_why = "cannot read its back end's features";
        return s;
    }
    *on = v != 0;
    return MIRC_OK;
}

static mirc_status write_config(void *ctx, uint32_t tx)
{
    struct xen_net *n = ctx;
    struct xen_xs *xs = n->nt_bus.xd_env->xs;
    const struct {
        const char *key;
        uint64_t val;
    } kv[] = {
        { "tx-ring-ref", n->nt_tx_ring.nb_ref },
        { "rx-ring-ref", n->nt_rx_ring.nb_ref },
        { "event-channel", n->nt_evtchn },
        { "request-rx-copy", 1 },
        { "feature-rx-notify", 1 },
        { "feature-sg", (uint64_t)n->nt_sg },
        { "feature-no-csum-offload", 1 },
    };
    char path[XEN_XS_PATH_MAX];
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        xen_bus_path(path, sizeof path, n->nt_bus.xd_node, kv[i].key);
        mirc_status s = xen_xs_write_u64(xs, tx, path, kv[i].val);
        if (s != MIRC_OK)
            return s;
    }
    return MIRC_OK;
}

static void post_rx(struct xen_net *n, uint16_t b)
{
    netif_rx_front_ring_t *r = &n->nt_rx;
    RING_IDX i = r->req_prod_pvt++;
    netif_rx_request_t *req = RING_GET_REQUEST(r, i);
    req->id = b;
    req->gref = n->nt_rxb[b].nb_ref;
    n->nt_rx_at[i & (RING_SIZE(r) - 1)] = b;
}

static void push_rx(struct xen_net *n)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&n->nt_rx, notify);
    if (notify)
        xen_notify(&n->nt_bus.xd_env->port, n->nt_evtchn);
}

/* Grants rings and buffers and takes an event channel. */
static mirc_status setup_rings(struct xen_net *n)
{
    struct xen_env *env = n->nt_bus.xd_env;
    mirc_status s;

    if ((s = buf_get(n, &n->nt_tx_ring, 0)) != MIRC_OK ||
        (s = buf_get(n, &n->nt_rx_ring, 0)) != MIRC_OK)
        goto fail;
    netif_tx_sring_t *txs = n->nt_tx_ring.nb_page;
    netif_rx_sring_t *rxs = n->nt_rx_ring.nb_page;
    SHARED_RING_INIT(txs);
    FRONT_RING_INIT(&n->nt_tx, txs, XEN_PAGE_SIZE);
    SHARED_RING_INIT(rxs);
    FRONT_RING_INIT(&n->nt_rx, rxs, XEN_PAGE_SIZE);

    for (unsigned i = 0; i < XEN_NET_TX_BUFS; i++) {
        if ((s = buf_get(n, &n->nt_txb[i], 1)) != MIRC_OK)
            goto fail;
        n->nt_tx_free[n->nt_tx_nfree++] = (uint16_t)i;
    }
    for (unsigned i = 0; i < XEN_NET_RX_BUFS; i++) {
        if ((s = buf_get(n, &n->nt_rxb[i], 0)) != MIRC_OK)
            goto fail;
        post_rx(n, (uint16_t)i);
    }
    RING_PUSH_REQUESTS(&n->nt_rx);

    s = env->port.ops->evtchn_alloc(env->port.ctx, n->nt_bus.xd_backend_id, &n->nt_evtchn);
    if (s != MIRC_OK)
        goto fail;
    n->nt_have_evtchn = 1;
    return MIRC_OK;
fail:
    n->nt_bus.xd_why = s == MIRC_NO_MEMORY ? "out of pages, grant references or event channels"
                                           : "cannot grant its rings and buffers";
    return s;
}

static void release(struct xen_net *n)
{
    struct xen_env *env = n->nt_bus.xd_env;
    if (n->nt_have_evtchn)
        env->port.ops->evtchn_close(env->port.ctx, n->nt_evtchn);
    n->nt_have_evtchn = 0;
    for (unsigned i = 0; i < XEN_NET_TX_BUFS; i++)
        buf_put(n, &n->nt_txb[i]);
    for (unsigned i = 0; i < XEN_NET_RX_BUFS; i++)
        buf_put(n, &n->nt_rxb[i]);
    buf_put(n, &n->nt_tx_ring);
    buf_put(n, &n->nt_rx_ring);
    n->nt_tx_nfree = 0;
}

mirc_status xen_net_open(struct xen_net *n, struct xen_env *env, const char *node)
{
    const unsigned waiting =
        1u << XenbusStateInitWait | 1u << XenbusStateInitialised | 1u << XenbusStateConnected;
    int rx_copy;
    mirc_status s;

    memset(n, 0, sizeof *n);
    if ((s = xen_bus_open(&n->nt_bus, env, node)) != MIRC_OK)
        goto fail_bus;
    if ((s = read_config(n)) != MIRC_OK || (s = xen_bus_wait(&n->nt_bus, waiting)) != MIRC_OK)
        goto fail_watch;
    if ((s = feature(n, "feature-rx-copy", &rx_copy)) != MIRC_OK ||
        (s = feature(n, "feature-sg", &n->nt_sg)) != MIRC_OK)
        goto fail_watch;
    if (!rx_copy) {
        n->nt_bus.xd_why = "its back end does not offer feature-rx-copy";
        s = MIRC_IO;
        goto fail_watch;
    }
    if (!n->nt_sg && n->nt_info.mtu > 1500) {
        mirc_log("xen: %s: back end without feature-sg: MTU %u lowered to 1500", node,
                 n->nt_info.mtu);
        n->nt_info.mtu = 1500;
    }
    if ((s = setup_rings(n)) != MIRC_OK ||
        (s = xen_bus_transact(&n->nt_bus, write_config, n)) != MIRC_OK ||
        (s = xen_bus_switch(&n->nt_bus, XenbusStateConnected)) != MIRC_OK ||
        (s = xen_bus_wait(&n->nt_bus, 1u << XenbusStateConnected)) != MIRC_OK)
        goto fail_rings;
    push_rx(n); /* the back end may have missed the buffers posted before it connected */
    return MIRC_OK;

fail_rings:
    xen_bus_shutdown(&n->nt_bus);
    release(n);
fail_watch:
    xen_bus_close(&n->nt_bus);
fail_bus:
    return s;
}

void xen_net_close(struct xen_net *n)
{
    xen_bus_shutdown(&n->nt_bus);
    release(n);
    xen_bus_close(&n->nt_bus);
    n->nt_dead = 1;
}

/* Takes in TX completions and frees their buffers. */
static mirc_status reclaim(struct xen_net *n)
{
    netif_tx_front_ring_t *r = &n->nt_tx;
    RING_IDX prod = __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE);
    xen_rmb(); /* read the index before the responses it covers */
    if (prod - r->rsp_cons > r->req_prod_pvt - r->rsp_cons)
        return die(n, "back end produced more TX responses than requests");
    for (RING_IDX c = r->rsp_cons; c != prod; c++) {
        netif_tx_response_t rsp;
        RING_COPY_RESPONSE(r, c, &rsp);
        if (rsp.id >= XEN_NET_TX_BUFS || !n->nt_tx_busy[rsp.id]) {
            n->nt_stats.bogus++;
            continue;
        }
        n->nt_tx_busy[rsp.id] = 0;
        n->nt_tx_free[n->nt_tx_nfree++] = rsp.id;
        if (rsp.status != NETIF_RSP_OKAY)
            n->nt_stats.tx_errors++;
    }
    r->rsp_cons = prod;
    return MIRC_OK;
}

static mirc_status usable(struct xen_net *n)
{
    if (n->nt_dead)
        return MIRC_IO;
    if (xen_bus_check(&n->nt_bus) != MIRC_OK)
        return die(n, n->nt_bus.xd_why);
    return MIRC_OK;
}

mirc_status xen_net_write(struct xen_net *n, const void *buf, size_t len)
{
    mirc_status s = usable(n);
    if (s != MIRC_OK)
        return s;
    if (len == 0)
        return MIRC_INVALID;
    if (len > (size_t)n->nt_info.mtu + MIRC_NET_HDR_LEN)
        return MIRC_TOO_BIG;
    if ((s = reclaim(n)) != MIRC_OK)
        return s;

    netif_tx_front_ring_t *r = &n->nt_tx;
    unsigned slots = (unsigned)((len + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE);
    if (slots > n->nt_tx_nfree || RING_FREE_REQUESTS(r) < slots) {
        n->nt_tx_blocked = 1;
        return MIRC_AGAIN;
    }
    const char *p = buf;
    for (unsigned i = 0; i < slots; i++) {
        size_t off = (size_t)i * XEN_PAGE_SIZE;
        size_t chunk = len - off < XEN_PAGE_SIZE ? len - off : XEN_PAGE_SIZE;
        uint16_t b = n->nt_tx_free[--n->nt_tx_nfree];
        MIRC_ASSERT(!n->nt_tx_busy[b]);
        n->nt_tx_busy[b] = 1;
        memcpy(n->nt_txb[b].nb_page, p + off, chunk);
        netif_tx_request_t *req = RING_GET_REQUEST(r, r->req_prod_pvt);
        r->req_prod_pvt++;
        req->gref = n->nt_txb[b].nb_ref;
        req->offset = 0;
        req->flags = i + 1 < slots ? NETTXF_more_data : 0;
        req->id = b;
        /* the first slot carries the whole frame's length, the others their own */
        req->size = (uint16_t)(i == 0 ? len : chunk);
    }
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, notify);
    if (notify)
        xen_notify(&n->nt_bus.xd_env->port, n->nt_evtchn);
    return MIRC_OK;
}

struct rx_slot {
    uint16_t off, len;
    uint8_t data; /* 0: an extra-info slot, or a slot of a bad frame */
};

/*
 * Walks the responses of the next frame without consuming them. Returns the
 * number of slots it spans (0: not all of it has arrived yet) and sets *total
 * and *bad.
 */
static unsigned rx_frame(struct xen_net *n, RING_IDX avail, struct rx_slot *slots, size_t *total,
                         int *bad)
{
    netif_rx_front_ring_t *r = &n->nt_rx;
    unsigned k = 0;
    *total = 0;
    *bad = 0;
    while (k < avail) {
        RING_IDX at = r->rsp_cons + k;
        netif_rx_response_t rsp;
        RING_COPY_RESPONSE(r, at, &rsp);
        struct rx_slot *sl = &slots[k++];
        *sl = (struct rx_slot){ 0, 0, 0 };
        if (rsp.id != n->nt_rx_at[at & (RING_SIZE(r) - 1)]) {
            n->nt_stats.bogus++;
            *bad = 1;
        } else if (rsp.status < 0 || rsp.offset + (unsigned)rsp.status > XEN_PAGE_SIZE) {
            *bad = 1;
        } else {
            *sl = (struct rx_slot){ rsp.offset, (uint16_t)rsp.status, 1 };
            *total += (size_t)rsp.status;
        }
        if (rsp.flags & NETRXF_extra_info) {
            /* extra-info slots follow, chained by XEN_NETIF_EXTRA_FLAG_MORE; we use none */
            for (;;) {
                if (k == avail)
                    return 0;
                netif_extra_info_t ex;
                memcpy(&ex, (const void *)RING_GET_RESPONSE(r, r->rsp_cons + k), sizeof ex);
                slots[k++] = (struct rx_slot){ 0, 0, 0 };
                if (!(ex.flags & XEN_NETIF_EXTRA_FLAG_MORE))
                    break;
            }
        }
        if (!(rsp.flags & NETRXF_more_data))
            return k;
    }
    return 0;
}

mirc_status xen_net_read(struct xen_net *n, void *buf, size_t size, size_t *len)
{
    struct rx_slot slots[XEN_NET_RX_BUFS];
    netif_rx_front_ring_t *r = &n->nt_rx;
    mirc_status s = usable(n);
    if (s != MIRC_OK)
        return s;

    for (;;) {
        RING_IDX prod = __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE);
        xen_rmb(); /* read the index before the responses it covers */
        RING_IDX posted = r->req_prod_pvt - r->rsp_cons;
        RING_IDX avail = prod - r->rsp_cons;
        if (avail > posted)
            return die(n, "back end produced more RX responses than buffers posted");
        if (avail == 0) {
            int more;
            RING_FINAL_CHECK_FOR_RESPONSES(r, more);
            if (!more)
                return MIRC_AGAIN;
            continue;
        }
        size_t total;
        int bad;
        unsigned k = rx_frame(n, avail, slots, &total, &bad);
        if (k == 0) {
            if (avail == posted)
                return die(n, "back end sent a frame longer than all RX buffers");
            r->sring->rsp_event = prod + 1; /* wake us when the rest arrives */
            return MIRC_AGAIN;
        }
        if (k > MAX_FRAME_SLOTS + 4 || total > MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN)
            bad = 1;
        if (!bad && total <= size) {
            size_t off = 0;
            for (unsigned i = 0; i < k; i++) {
                if (!slots[i].data)
                    continue;
                uint16_t b = n->nt_rx_at[(r->rsp_cons + i) & (RING_SIZE(r) - 1)];
                memcpy((char *)buf + off, (char *)n->nt_rxb[b].nb_page + slots[i].off,
                       slots[i].len);
                off += slots[i].len;
            }
        }
        /* every slot's buffer goes back on the ring, whatever the back end said */
        for (unsigned i = 0; i < k; i++)
            post_rx(n, n->nt_rx_at[(r->rsp_cons + i) & (RING_SIZE(r) - 1)]);
        r->rsp_cons += k;
        push_rx(n);
        if (bad) {
            n->nt_stats.rx_errors++;
            continue;
        }
        if (total > size)
            return MIRC_TOO_BIG;
        *len = total;
        return MIRC_OK;
    }
}

int xen_net_pending(struct xen_net *n)
{
    int more;
    if (n->nt_dead)
        return 1; /* so that the reader sees the error */
    RING_FINAL_CHECK_FOR_RESPONSES(&n->nt_rx, more);
    if (more)
        return 1;
    if (n->nt_tx_blocked) {
        if (reclaim(n) != MIRC_OK)
            return 1;
        if (n->nt_tx_nfree >= MAX_FRAME_SLOTS && RING_FREE_REQUESTS(&n->nt_tx) >= MAX_FRAME_SLOTS) {
            n->nt_tx_blocked = 0;
            return 1;
        }
        RING_FINAL_CHECK_FOR_RESPONSES(&n->nt_tx, more);
        return more;
    }
    return 0;
}
