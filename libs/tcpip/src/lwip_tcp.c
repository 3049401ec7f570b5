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
 */
struct lw_conn {
    struct tcp_pcb *pcb;  /* NULL once lwIP has freed it */
    mirc_tcp *tcp;        /* NULL until accepted, and after close */
    struct lw_conn *next; /* free list, or the listener's accept queue */
    struct pbuf *rx;      /* received, not yet delivered (window not yet reopened) */
    err_t err;            /* lwIP's error callback ran with this */
    uint8_t used, listener, fin, eof_told, failed, delivering, close_after, close_retry, shut_retry;
    /* a listener's queue of connections not yet offered to the app */
    struct lw_conn *acc_head, *acc_tail, *offering;
    int acc_count, backlog;
};

#define LW_CONNS (MEMP_NUM_TCP_PCB + MEMP_NUM_TCP_PCB_LISTEN)
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
    c->used = 0;
    c->next = conn_free_list;
    conn_free_list = c;
}

/* lwIP's callbacks: record and queue, never call the app */

static void detach_pcb(struct tcp_pcb *pcb)
{
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
    } else if (c->rx) {
        pbuf_cat(c->rx, p);
    } else {
        c->rx = p;
    }
    kick(c);
    return ERR_OK;
}

static err_t lw_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct lw_conn *c = arg;
    (void)pcb;
    (void)len;
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
    struct lw_conn *c = l->acc_count < l->backlog ? conn_new() : NULL;
    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    setup_pcb(c, pcb);
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
    (void)pcb;
    if (c && c->tcp)
        tcpip_tcp_connected(c->tcp, lw_status(err));
    return ERR_OK;
}

/* Closing */

static void drop_rx(struct lw_conn *c)
{
    if (!c->rx)
        return;
    if (c->pcb)
        tcp_recved(c->pcb, c->rx->tot_len); /* else lwIP would answer close with RST */
    pbuf_free(c->rx);
    c->rx = NULL;
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
        u16_t n = p->len;
        if (n == 0) {
            /* lwIP trims data it already had off the front of a chain by setting len to 0 on the
             * leading pbufs: unlink them, or this loop delivers nothing forever */
            c->rx = p->next;
            p->next = NULL;
            p->tot_len = 0;
            pbuf_free(p); /* the rest of the chain keeps the reference p held on it */
            continue;
        }
        c->delivering = 1;
        tcpip_tcp_deliver(tcp, MIRC_OK, p->payload, n);
        c->delivering = 0;
        c->rx = pbuf_free_header(p, n);
        if (c->pcb)
            tcp_recved(c->pcb, n);
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
    size_t done = 0;
    (void)hold;
    if (!c->pcb)
        return 0;
    while (done < len) {
        size_t room = tcp_sndbuf(c->pcb);
        if (room == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 4)
            break;
        size_t n = len - done;
        if (n > room)
            n = room;
        if (n > 16 * TCP_MSS)
            n = 16 * TCP_MSS;
        u8_t flags = TCP_WRITE_FLAG_COPY | (done + n < len ? TCP_WRITE_FLAG_MORE : 0);
        err_t e;
        while ((e = tcp_write(c->pcb, buf + done, (u16_t)n, flags)) == ERR_MEM && n > TCP_MSS)
            n /= 2; /* the heap is tight: try a smaller piece */
        if (e != ERR_OK)
            break;
        done += n;
    }
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
