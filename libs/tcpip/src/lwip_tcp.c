/* libs/tcpip/src/lwip_tcp.c: TCP on lwIP's raw API: connection state, callbacks, the TCP ops. */
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip_int.h"

/*
 * lwIP calls back from inside its input and timer processing, where an app
 * callback that closes or aborts could pull the pcb from under lwIP. So
 * lwIP's callbacks only record what happened in a struct lw_conn (one per
 * pcb, from a static pool) and queue the handle; the app hears of it from
 * tcpip_drain(), after lwIP has returned.
 *
 * Received data waits in a queue of single pbufs (never a chain: lwIP trims
 * old data off a chain by leaving zero-length pbufs in it). Small segments
 * are copied into a "sponge" buffer at the tail, so a peer sending one byte
 * per segment costs about its bytes, not a frame buffer per byte; the
 * connection's grant (lwip_mem.c) bounds the bytes.
 */
struct lw_conn {
    struct tcp_pcb *pcb;                /* NULL once lwIP has freed it */
    mirc_tcp *tcp;                      /* NULL until accepted, and after close */
    struct lw_conn *next;               /* free list, or the listener's accept queue */
    struct pbuf *rx, *rx_tail, *sponge; /* received, not yet delivered; sponge: the tail, if one */
    err_t err;                          /* lwIP's error callback ran with this */
    uint8_t used, listener, fin, eof_told, failed, delivering, close_after, close_retry, shut_retry;
    /* a listener's queue of connections not yet offered to the app */
    struct lw_conn *acc_head, *acc_tail, *offering;
    int acc_count, backlog;
    struct lw_pcbrec *rec; /* the pcb's record while both live */
};

/*
 * Each connection's pcb carries a record (lwIP's ext arg) until lwIP frees it, which lwIP does
 * not always announce (a TIME_WAIT pcb just goes): the record's destroy callback is how the
 * lw_conn learns that its pcb pointer is dead. The record also holds the pcb's grants.
 */
struct lw_pcbrec {
    struct lw_grant gr;
    struct lw_conn *conn; /* the lw_conn whose pcb this is, while both live */
    uint8_t granted;      /* gr counts in the budget */
};

static u8_t ext_id;

void lw_tcp_init(void)
{
    ext_id = tcp_ext_arg_alloc_id();
}

static struct lw_pcbrec *rec_of(const struct tcp_pcb *pcb)
{
    return pcb ? tcp_ext_arg_get(pcb, ext_id) : NULL;
}

static struct lw_grant *grant_of(const struct tcp_pcb *pcb)
{
    struct lw_pcbrec *r = rec_of(pcb);
    return r && r->granted ? &r->gr : NULL;
}

/* Reopens the window by n bytes (tcp_recved takes at most 65,535 at a time). */
static void recved(struct tcp_pcb *pcb, size_t n)
{
    while (n) {
        u16_t k = (u16_t)(n > 0xffff ? 0xffff : n);
        tcp_recved(pcb, k);
        n -= k;
    }
}

static void pcb_destroyed(u8_t id, void *data)
{
    struct lw_pcbrec *r = data;
    (void)id;
    if (!r)
        return;
    if (r->conn) { /* freed under a live lw_conn, maybe without a callback (TIME_WAIT's end) */
        r->conn->pcb = NULL;
        r->conn->rec = NULL;
    }
    if (r->granted)
        lw_grant_close(&r->gr);
    lw_mem_free(r);
}

static err_t grant_passive_open(u8_t id, struct tcp_pcb_listen *lpcb, struct tcp_pcb *npcb);

static const struct tcp_ext_arg_callbacks grant_callbacks = { pcb_destroyed, grant_passive_open };

/* TIME_WAIT connections hold no data: their grants go back (only when needed, it is a walk). */
static void reclaim_time_wait(void)
{
    for (struct tcp_pcb *p = tcp_tw_pcbs; p; p = p->next) {
        struct lw_pcbrec *r = rec_of(p);
        if (r && r->granted) {
            lw_grant_close(&r->gr);
            r->granted = 0;
        }
    }
}

/* Gives a pcb its record and its grants, the smallest; 0 (counted) when they do not fit. */
static int grant_attach(struct tcp_pcb *pcb)
{
    struct lw_pcbrec *r = lw_mem_malloc(sizeof *r);
    if (!r)
        return 0;
    memset(r, 0, sizeof *r);
    if (!lw_grant_open(&r->gr) && (reclaim_time_wait(), !lw_grant_open(&r->gr))) {
        lw_budget.tcp_refused++;
        lw_mem_free(r);
        return 0;
    }
    r->granted = 1;
    tcp_ext_arg_set_callbacks(pcb, ext_id, &grant_callbacks);
    tcp_ext_arg_set(pcb, ext_id, r);
    pcb->snd_buf = (tcpwnd_size_t)r->gr.snd;
    return 1;
}

/*
 * Just established, before any data is taken: the grants grow from the minimum to what the
 * free shares allow, and the window becomes the grant (announced with the next segment out).
 */
static void grant_grow(struct tcp_pcb *pcb)
{
    struct lw_grant *gr = grant_of(pcb);
    uint32_t wnd_more, snd_more;
    if (!gr)
        return;
    lw_grant_start(gr, &wnd_more, &snd_more);
    pcb->snd_buf += (tcpwnd_size_t)snd_more;
    pcb->rcv_wnd = (tcpwnd_size_t)gr->wnd;
}

/*
 * Half-open connections cost a pcb and no grant (they get one once established), and are
 * bounded apart from established ones: past lw_half_open_max() per listener, a new SYN pushes
 * out the oldest half-open connection (no RST: its peer may be spoofed). A flood of SYNs from
 * forged addresses then costs a fixed number of pcbs, and a real client's handshake, which
 * completes in one round trip, is not starved.
 */
static void evict_half_open(struct tcp_pcb_listen *lpcb, struct tcp_pcb *npcb)
{
    struct tcp_pcb *old = NULL;
    unsigned n = 0;
    for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next) {
        if (p == npcb || p->state != SYN_RCVD || p->listener != lpcb)
            continue;
        n++;
        if (!old || (s32_t)(p->tmr - old->tmr) <= 0) /* newer pcbs come first in the list */
            old = p;
    }
    if (n >= lw_half_open_max() && old) {
        tcp_abandon(old, 0);
        lw_budget.half_open_evicted++;
    }
}

static err_t grant_passive_open(u8_t id, struct tcp_pcb_listen *lpcb, struct tcp_pcb *npcb)
{
    (void)id;
    evict_half_open(lpcb, npcb);
    tcp_ext_arg_set_callbacks(npcb, ext_id, &grant_callbacks);
    /* With window scaling agreed the SYN-ACK offers the smallest window. Without, the window
     * must stay lwIP's default until the handshake ends (a later SYN with the option would
     * find it changed and trip an assertion); grant_grow sets it then, before any data. */
    if (npcb->flags & TF_WND_SCALE)
        npcb->rcv_wnd = npcb->rcv_ann_wnd = (tcpwnd_size_t)LW_WND_MIN;
    return ERR_OK;
}

unsigned lw_tcp_half_open(void)
{
    unsigned n = 0;
    for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next)
        n += p->state == SYN_RCVD;
    return n;
}

/* RX is full: drop every out-of-order queue (the peers send those segments again). */
void lw_tcp_shed_ooseq(void)
{
    for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next)
        if (p->ooseq)
            tcp_free_ooseq(p);
}

#define LW_CONNS (512 + MEMP_NUM_TCP_PCB_LISTEN)
static struct lw_conn conns[LW_CONNS];
static struct lw_conn *conn_free_list;
static int conns_ready;

static struct lw_conn *conn_new(void)
{
    if (!conns_ready) {
        for (int k = LW_CONNS - 1; k >= 0; k--) {
            conns[k].next = conn_free_list;
            conn_free_list = &conns[k];
        }
        conns_ready = 1;
    }
    struct lw_conn *c = conn_free_list;
    if (!c)
        return NULL;
    conn_free_list = c->next;
    memset(c, 0, sizeof *c);
    c->used = 1;
    return c;
}

static void conn_free(struct lw_conn *c)
{
    MIRC_ASSERT(c->used && !c->rx);
    if (c->rec) {
        c->rec->conn = NULL;
        c->rec = NULL;
    }
    c->used = 0;
    c->next = conn_free_list;
    conn_free_list = c;
}

/* lwIP's callbacks: record and queue, never call the app */

static void detach_pcb(struct tcp_pcb *pcb)
{
    struct lw_pcbrec *r = rec_of(pcb);
    if (r && r->conn) {
        r->conn->rec = NULL;
        r->conn = NULL;
    }
    tcp_arg(pcb, NULL);
    if (pcb->state == LISTEN) { /* a listen pcb has no other callbacks */
        tcp_accept(pcb, NULL);
        return;
    }
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
}

static void kick(struct lw_conn *c)
{
    if (c->tcp)
        tcpip_tcp_kick(c->tcp);
}

/* The receive queue: single pbufs, small data gathered into a sponge */

#define RX_SMALL 512 /* smaller segments are copied into the sponge */

static void rxq_append(struct lw_conn *c, struct pbuf *q)
{
    q->next = NULL;
    if (c->rx_tail)
        c->rx_tail->next = q;
    else
        c->rx = q;
    c->rx_tail = q;
    c->sponge = NULL;
}

/* Queues one standalone pbuf (ref 1, no next), copying what fits into the sponge. */
static void rxq_put(struct lw_conn *c, struct pbuf *q)
{
    while (q->len) {
        struct pbuf *sp = c->sponge;
        if (sp && sp->len < LW_RX_SPONGE) {
            u16_t n = (u16_t)(LW_RX_SPONGE - sp->len < q->len ? LW_RX_SPONGE - sp->len : q->len);
            memcpy((u8_t *)sp->payload + sp->len, q->payload, n);
            sp->len = (u16_t)(sp->len + n);
            sp->tot_len = sp->len;
            pbuf_remove_header(q, n);
            continue;
        }
        if (q->len >= RX_SMALL || !c->rx)
            break;
        lw_mem_kind = LW_MEM_RX;
        lw_mem_control = 1; /* it replaces buffers that cost more than it */
        sp = pbuf_alloc(PBUF_RAW, LW_RX_SPONGE, PBUF_RAM);
        lw_mem_kind = LW_MEM_OTHER;
        lw_mem_control = 0;
        if (!sp)
            break;
        sp->len = sp->tot_len = 0;
        rxq_append(c, sp);
        c->sponge = sp;
    }
    if (!q->len) {
        pbuf_free(q);
        return;
    }
    rxq_append(c, q);
}

static err_t lw_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct lw_conn *c = arg;
    (void)err;
    if (!c) { /* nobody owns it any more */
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {
        c->fin = 1;
        kick(c);
        return ERR_OK;
    }
    while (p) { /* each pbuf of the chain on its own; lwIP's trimmed ones are empty */
        struct pbuf *q = p;
        p = p->next;
        q->next = NULL;
        q->tot_len = q->len;
        if (q->len)
            rxq_put(c, q);
        else
            pbuf_free(q);
    }
    kick(c);
    return ERR_OK;
}

static err_t lw_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct lw_conn *c = arg;
    struct lw_grant *gr = grant_of(pcb);
    if (gr) {
        gr->acked = gr->acked > UINT32_MAX - len ? UINT32_MAX : gr->acked + len;
        /* under pressure an idle send buffer shrinks back towards the minimum */
        pcb->snd_buf -= lw_grant_snd_less(gr, pcb->snd_buf);
    }
    if (c && c->tcp)
        tcpip_tcp_writable(c->tcp); /* queues the app's write callbacks, never runs them */
    return ERR_OK;
}

static void drop_rx(struct lw_conn *c);

static void lw_error(void *arg, err_t err)
{
    struct lw_conn *c = arg;
    if (!c)
        return;
    c->pcb = NULL; /* lwIP has freed it */
    c->err = err;
    c->failed = 1;
    if (c->close_retry) { /* closed by the app, waiting for memory: nobody else holds it */
        drop_rx(c);
        conn_free(c);
        return;
    }
    kick(c);
}

static void close_pcb(struct lw_conn *c);
static void setup_pcb(struct lw_conn *c, struct tcp_pcb *pcb);

static err_t lw_poll(void *arg, struct tcp_pcb *pcb)
{
    struct lw_conn *c = arg;
    (void)pcb;
    if (!c)
        return ERR_OK;
    if (c->close_retry) {
        close_pcb(c); /* tcp_close of a connected pcb never frees it here */
        return ERR_OK;
    }
    if (c->shut_retry && tcp_shutdown(c->pcb, 0, 1) == ERR_OK)
        c->shut_retry = 0;
    if (c->tcp)
        tcpip_tcp_writable(c->tcp); /* a write that found the heap full retries here */
    return ERR_OK;
}

static void setup_pcb(struct lw_conn *c, struct tcp_pcb *pcb)
{
    c->pcb = pcb;
    c->rec = rec_of(pcb);
    if (c->rec)
        c->rec->conn = c;
    tcp_arg(pcb, c);
    tcp_recv(pcb, lw_recv);
    tcp_sent(pcb, lw_sent);
    tcp_err(pcb, lw_error);
    tcp_poll(pcb, lw_poll, 2);
}

static err_t lw_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct lw_conn *l = arg;
    if (err != ERR_OK || !pcb || !l)
        return ERR_VAL;
    struct lw_conn *c = l->acc_count < l->backlog && grant_attach(pcb) ? conn_new() : NULL;
    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    setup_pcb(c, pcb);
    grant_grow(pcb);
    if (l->acc_tail)
        l->acc_tail->next = c;
    else
        l->acc_head = c;
    l->acc_tail = c;
    l->acc_count++;
    kick(l);
    return ERR_OK;
}

static err_t lw_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct lw_conn *c = arg;
    struct lw_grant *gr = grant_of(pcb);
    if (err == ERR_OK && gr) /* the SYN offered lwIP's default window, as it must */
        grant_grow(pcb);
    if (c && c->tcp)
        tcpip_tcp_connected(c->tcp, lw_status(err));
    return ERR_OK;
}

/* Closing */

static void drop_rx(struct lw_conn *c)
{
    size_t bytes = 0;
    struct pbuf *p;
    while ((p = c->rx)) {
        c->rx = p->next;
        p->next = NULL;
        bytes += p->len;
        pbuf_free(p);
    }
    c->rx_tail = c->sponge = NULL;
    if (c->pcb)
        recved(c->pcb, bytes); /* else lwIP would answer close with RST */
}

/* Hands the pcb to lwIP for a graceful close; retried from lw_poll when out of memory. */
static void close_pcb(struct lw_conn *c)
{
    drop_rx(c);
    if (!c->pcb) {
        conn_free(c);
        return;
    }
    detach_pcb(c->pcb); /* before tcp_close, which may free the pcb */
    /* lwIP resets a connection closed with its window not at the maximum, taking that for
     * unread data; ours is the grant, and the app has let go of everything it held */
    c->pcb->rcv_wnd = TCP_WND_MAX(c->pcb);
    if (tcp_close(c->pcb) == ERR_OK) {
        c->pcb = NULL;
        conn_free(c);
        return;
    }
    setup_pcb(c, c->pcb); /* out of memory for the FIN: keep it; lw_poll tries again */
    c->close_retry = 1;
}

static void abort_conn(struct lw_conn *c)
{
    drop_rx(c);
    if (c->pcb) {
        detach_pcb(c->pcb);
        tcp_abort(c->pcb);
        c->pcb = NULL;
    }
    conn_free(c);
}

void lw_tcp_close(mirc_tcp *tcp, int abort)
{
    struct lw_conn *c = tcp->impl;
    c->tcp = NULL;
    if (c->delivering) { /* inside this conn's read callback: finish after it returns */
        c->close_after = (uint8_t)(abort ? 2 : 1);
        tcpip_tcp_close_ready(tcp);
        return;
    }
    if (c->listener) {
        struct lw_conn *a;
        while ((a = c->acc_head)) {
            c->acc_head = a->next;
            abort_conn(a);
        }
        if (c->pcb) {
            detach_pcb(c->pcb);
            tcp_close(c->pcb); /* a listener closes at once */
            c->pcb = NULL;
        }
        conn_free(c);
    } else if (abort) {
        abort_conn(c);
    } else {
        close_pcb(c);
    }
    tcpip_tcp_close_ready(tcp);
    lw_rearm();
}

/* Deferred work for a handle: offer connections, deliver data, report the end */

static void run_listener(mirc_tcp *tcp, struct lw_conn *l)
{
    struct lw_conn *c;
    while ((c = l->acc_head) && tcp->impl == l) {
        l->acc_head = c->next;
        if (!l->acc_head)
            l->acc_tail = NULL;
        l->acc_count--;
        c->next = NULL;
        if (!c->pcb) { /* reset before the app saw it */
            drop_rx(c);
            conn_free(c);
            continue;
        }
        l->offering = c;
        int taken = tcpip_tcp_offer(tcp);
        l->offering = NULL;
        if (!taken)
            abort_conn(c);
        else if (c->tcp && (c->rx || c->fin || c->failed))
            kick(c);
    }
}

void lw_tcp_run(mirc_tcp *tcp)
{
    struct lw_conn *c = tcp->impl;
    if (c->listener) {
        run_listener(tcp, c);
        return;
    }
    while (c->rx && (tcp->flags & TCP_F_READING) && c->tcp == tcp) {
        struct pbuf *p = c->rx;
        u16_t n = p->len; /* never 0: lw_recv drops empty pbufs */
        c->delivering = 1;
        tcpip_tcp_deliver(tcp, MIRC_OK, p->payload, n);
        c->delivering = 0;
        c->rx = p->next;
        if (!c->rx)
            c->rx_tail = NULL;
        if (c->sponge == p)
            c->sponge = NULL;
        p->next = NULL;
        pbuf_free(p);
        if (c->pcb) {
            struct lw_grant *gr = grant_of(c->pcb);
            recved(c->pcb, gr ? lw_grant_wnd_change(gr, n) : n);
        }
        if (c->close_after) { /* the app closed the handle in its callback */
            if (c->close_after == 2)
                abort_conn(c);
            else
                close_pcb(c);
            lw_rearm();
            return;
        }
    }
    if (c->tcp != tcp)
        return;
    if (c->failed) {
        mirc_status s = lw_status(c->err);
        if (c->err == ERR_RST && (tcp->flags & TCP_F_CONNECTING))
            s = MIRC_REFUSED;
        drop_rx(c);
        c->tcp = NULL;
        conn_free(c);
        tcpip_tcp_failed(tcp, s);
        return;
    }
    if (c->fin && !c->rx && !c->eof_told) {
        c->eof_told = 1;
        tcpip_tcp_eof(tcp);
    }
}

/* TCP operations */

/* Another listener already takes addr:port (SO_REUSEADDR would let lwIP bind it twice). */
static int listening(const ip_addr_t *a, uint16_t port)
{
    for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
        if (l->local_port != port)
            continue;
        if (IP_IS_ANY_TYPE_VAL(l->local_ip) || IP_IS_ANY_TYPE_VAL(*a))
            return 1;
        if (IP_GET_TYPE(&l->local_ip) == IP_GET_TYPE(a) &&
            (ip_addr_isany(&l->local_ip) || ip_addr_isany(a) || ip_addr_cmp(&l->local_ip, a)))
            return 1;
    }
    return 0;
}

mirc_status lw_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog)
{
    ip_addr_t a;
    err_t e;
    lw_to_ip(addr, &a);
    struct lw_conn *c = conn_new();
    if (!c)
        return MIRC_NO_MEMORY;
    struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(&a));
    if (!pcb) {
        conn_free(c);
        return MIRC_NO_MEMORY;
    }
    if (port && listening(&a, port)) {
        tcp_close(pcb);
        conn_free(c);
        return MIRC_BUSY;
    }
    ip_set_option(pcb, SOF_REUSEADDR); /* TIME_WAIT connections do not block a new listener */
    tcp_ext_arg_set_callbacks(pcb, ext_id,
                              &grant_callbacks); /* the listener admits (passive open) */
    e = tcp_bind(pcb, &a, port);
    if (e != ERR_OK) {
        tcp_close(pcb);
        conn_free(c);
        return e == ERR_USE ? MIRC_BUSY : lw_status(e);
    }
    struct tcp_pcb *lpcb = tcp_listen_with_backlog_and_err(pcb, 255, &e);
    if (!lpcb) {
        tcp_close(pcb);
        conn_free(c);
        return MIRC_NO_MEMORY;
    }
    c->pcb = lpcb;
    c->listener = 1;
    c->backlog = backlog;
    c->tcp = tcp;
    tcp_arg(lpcb, c);
    tcp_accept(lpcb, lw_accept);
    tcp->impl = c;
    lw_rearm();
    return MIRC_OK;
}

mirc_status lw_tcp_accept(mirc_tcp *listener, mirc_tcp *conn)
{
    struct lw_conn *l = listener->impl, *c = l->offering;
    if (!c)
        return MIRC_AGAIN;
    l->offering = NULL;
    c->tcp = conn;
    conn->impl = c;
    return MIRC_OK;
}

mirc_status lw_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port)
{
    ip_addr_t a;
    lw_to_ip(addr, &a);
    struct lw_conn *c = conn_new();
    if (!c)
        return MIRC_NO_MEMORY;
    struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(&a));
    if (!pcb) {
        conn_free(c);
        return MIRC_NO_MEMORY;
    }
    if (!grant_attach(pcb)) {
        tcp_close(pcb);
        conn_free(c);
        return MIRC_NO_MEMORY;
    }
    setup_pcb(c, pcb);
    c->tcp = tcp;
    err_t e = tcp_connect(pcb, &a, port, lw_connected);
    if (e != ERR_OK) {
        abort_conn(c);
        return lw_status(e);
    }
    tcp->impl = c;
    lw_rearm();
    return MIRC_OK;
}

void lw_tcp_read_changed(mirc_tcp *tcp)
{
    (void)tcp; /* stopped: data waits in c->rx and the window closes; started: tcp_run delivers */
}

size_t lw_tcp_push(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold)
{
    struct lw_conn *c = tcp->impl;
    struct tcp_pcb *pcb = c->pcb;
    size_t done = 0;
    (void)hold;
    if (!pcb)
        return 0;
    struct lw_grant *gr = grant_of(pcb);
    if (gr && tcp_sndbuf(pcb) < len) /* a writer that fills its buffer may earn a larger one */
        pcb->snd_buf +=
            (tcpwnd_size_t)lw_grant_snd_more(gr, (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len));
    /* segments cost a buffer each whatever they carry: a connection writing tiny pieces gets as
     * many as its grant would fill with 512-byte ones */
    unsigned max_segs = gr ? gr->snd / 512 + 8 : TCP_SND_QUEUELEN;
    if (max_segs > TCP_SND_QUEUELEN - 4)
        max_segs = TCP_SND_QUEUELEN - 4;
    lw_mem_kind = LW_MEM_TX;
    while (done < len) {
        size_t room = tcp_sndbuf(pcb);
        if (room == 0 || tcp_sndqueuelen(pcb) >= max_segs)
            break;
        size_t n = len - done;
        if (n > room)
            n = room;
        if (n > 16 * TCP_MSS)
            n = 16 * TCP_MSS;
        u8_t flags = TCP_WRITE_FLAG_COPY | (done + n < len ? TCP_WRITE_FLAG_MORE : 0);
        err_t e;
        while ((e = tcp_write(pcb, buf + done, (u16_t)n, flags)) == ERR_MEM && n > TCP_MSS)
            n /= 2; /* the send share is tight: try a smaller piece */
        if (e != ERR_OK)
            break;
        done += n;
    }
    lw_mem_kind = LW_MEM_OTHER;
    return done;
}

void lw_tcp_flush(mirc_tcp *tcp)
{
    struct lw_conn *c = tcp->impl;
    if (c->pcb) {
        tcp_output(c->pcb);
        lw_rearm();
    }
}

void lw_tcp_shutdown(mirc_tcp *tcp)
{
    struct lw_conn *c = tcp->impl;
    if (c->pcb && tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
        c->shut_retry = 1;
    lw_rearm();
}

mirc_status lw_tcp_addr(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port)
{
    struct lw_conn *c = tcp->impl;
    if (!c->pcb)
        return MIRC_CLOSED;
    if (peer) {
        lw_from_ip(&c->pcb->remote_ip, addr);
        *port = c->pcb->remote_port;
    } else {
        lw_from_ip(&c->pcb->local_ip, addr);
        *port = c->pcb->local_port;
    }
    return MIRC_OK;
}

mirc_status lw_tcp_nodelay(mirc_tcp *tcp, int on)
{
    struct lw_conn *c = tcp->impl;
    if (!c->pcb)
        return MIRC_CLOSED;
    if (on)
        tcp_nagle_disable(c->pcb);
    else
        tcp_nagle_enable(c->pcb);
    return MIRC_OK;
}
