/* libs/tcpip/src/lwip_stack.c: TCP, UDP, ping and DNS on lwIP's raw API, behind struct tcpip_ops.
 */
#include <string.h>

#include "lwip/dns.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/ip6.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/icmp6.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
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

/* Addresses */

void lw_to_ip(const mirc_ipaddr *in, ip_addr_t *out)
{
    if (!in || in->family == 0) {
        ip_addr_copy(*out, *IP_ANY_TYPE);
    } else if (in->family == MIRC_IPV4) {
        IP_ADDR4(out, in->bytes[0], in->bytes[1], in->bytes[2], in->bytes[3]);
    } else {
        ip6_addr_t *a = ip_2_ip6(out);
        IP_SET_TYPE(out, IPADDR_TYPE_V6);
        memcpy(a->addr, in->bytes, 16);
        ip6_addr_clear_zone(a);
        if (ip6_addr_has_scope(a, IP6_UNKNOWN)) {
            /* a scoped address without a zone means the first NIC */
            u8_t zone = (u8_t)(in->zone ? in->zone : 1);
            ip6_addr_set_zone(a, zone);
        }
    }
}

void lw_from_ip(const ip_addr_t *in, mirc_ipaddr *out)
{
    memset(out, 0, sizeof *out);
    if (IP_IS_V4(in)) {
        out->family = MIRC_IPV4;
        memcpy(out->bytes, &ip_2_ip4(in)->addr, 4);
    } else if (IP_IS_V6(in)) {
        out->family = MIRC_IPV6;
        memcpy(out->bytes, ip_2_ip6(in)->addr, 16);
        out->zone = ip6_addr_zone(ip_2_ip6(in));
    }
}

static mirc_status from_err(err_t e)
{
    switch (e) {
    case ERR_OK:
        return MIRC_OK;
    case ERR_MEM:
    case ERR_BUF:
        return MIRC_NO_MEMORY;
    case ERR_RTE:
        return MIRC_UNREACHABLE;
    case ERR_USE:
    case ERR_ISCONN:
    case ERR_ALREADY:
    case ERR_INPROGRESS:
        return MIRC_BUSY;
    case ERR_TIMEOUT:
        return MIRC_TIMED_OUT;
    case ERR_RST:
        return MIRC_RESET;
    case ERR_CLSD:
    case ERR_CONN:
        return MIRC_CLOSED;
    case ERR_ABRT:
        return MIRC_TIMED_OUT; /* lwIP gave up: retransmissions or keepalives unanswered */
    case ERR_VAL:
    case ERR_ARG:
        return MIRC_INVALID;
    default:
        return MIRC_IO;
    }
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
        tcpip_tcp_connected(c->tcp, from_err(err));
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

static void lw_tcp_close(mirc_tcp *tcp, int abort)
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

static void lw_tcp_run(mirc_tcp *tcp)
{
    struct lw_conn *c = tcp->impl;
    if (c->listener) {
        run_listener(tcp, c);
        return;
    }
    while (c->rx && (tcp->flags & TCP_F_READING) && c->tcp == tcp) {
        struct pbuf *p = c->rx;
        u16_t n = p->len;
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
        mirc_status s = from_err(c->err);
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

static mirc_status lw_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog)
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
        return e == ERR_USE ? MIRC_BUSY : from_err(e);
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

static mirc_status lw_tcp_accept(mirc_tcp *listener, mirc_tcp *conn)
{
    struct lw_conn *l = listener->impl, *c = l->offering;
    if (!c)
        return MIRC_AGAIN;
    l->offering = NULL;
    c->tcp = conn;
    conn->impl = c;
    return MIRC_OK;
}

static mirc_status lw_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port)
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
        return from_err(e);
    }
    tcp->impl = c;
    lw_rearm();
    return MIRC_OK;
}

static void lw_tcp_read_changed(mirc_tcp *tcp)
{
    (void)tcp; /* stopped: data waits in c->rx and the window closes; started: tcp_run delivers */
}

static size_t lw_tcp_push(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold)
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

static void lw_tcp_flush(mirc_tcp *tcp)
{
    struct lw_conn *c = tcp->impl;
    if (c->pcb) {
        tcp_output(c->pcb);
        lw_rearm();
    }
}

static void lw_tcp_shutdown(mirc_tcp *tcp)
{
    struct lw_conn *c = tcp->impl;
    if (c->pcb && tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
        c->shut_retry = 1;
    lw_rearm();
}

static mirc_status lw_tcp_addr(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port)
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

static mirc_status lw_tcp_nodelay(mirc_tcp *tcp, int on)
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

/* UDP */

static uint8_t udp_bounce[65536];

static void lw_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    mirc_udp *udp = arg;
    (void)pcb;
    if (udp && udp->cb) {
        const void *data = p->payload;
        if (p->next) { /* a reassembled datagram: make it contiguous */
            pbuf_copy_partial(p, udp_bounce, p->tot_len, 0);
            data = udp_bounce;
        }
        mirc_ipaddr from;
        lw_from_ip(addr, &from);
        udp->cb(udp, data, p->tot_len, &from, port, udp->ctx);
    }
    pbuf_free(p);
}

static mirc_status lw_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port)
{
    ip_addr_t a;
    lw_to_ip(addr, &a);
    struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
    if (!pcb)
        return MIRC_NO_MEMORY;
    ip_set_option(pcb, SOF_BROADCAST);
    err_t e = udp_bind(pcb, &a, port);
    if (e != ERR_OK) {
        udp_remove(pcb);
        return e == ERR_USE ? MIRC_BUSY : from_err(e);
    }
    udp_recv(pcb, lw_udp_recv, udp);
    udp->impl = pcb;
    return MIRC_OK;
}

static mirc_status lw_udp_send(mirc_udp *udp, const mirc_ipaddr *to, uint16_t port, const void *buf,
                               size_t len)
{
    ip_addr_t a;
    lw_to_ip(to, &a);
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (!p)
        return MIRC_NO_MEMORY;
    if (len)
        memcpy(p->payload, buf, len);
    err_t e = udp_sendto(udp->impl, p, &a, port);
    pbuf_free(p);
    lw_rearm();
    return from_err(e);
}

static mirc_status lw_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port)
{
    struct udp_pcb *pcb = udp->impl;
    lw_from_ip(&pcb->local_ip, addr);
    *port = pcb->local_port;
    return MIRC_OK;
}

static void lw_udp_close(mirc_udp *udp)
{
    udp_remove(udp->impl);
    udp->impl = NULL;
}

/* Ping: raw pcbs see every ICMP/ICMPv6 packet; ours are echo replies with our identifier */

/* The ICMP checksum over msg (ICMPv6: with the pseudo-header from the IPv6 header ip6); 0 if good.
 */
static uint16_t icmp_sum(const uint8_t *ip6, const uint8_t *msg, size_t len)
{
    uint32_t sum = 0;
    if (ip6) {
        for (int k = 8; k < 40; k += 2) /* source and destination */
            sum += (uint32_t)(ip6[k] << 8 | ip6[k + 1]);
        sum += (uint32_t)len + IP6_NEXTH_ICMP6;
    }
    for (size_t k = 0; k + 1 < len; k += 2)
        sum += (uint32_t)(msg[k] << 8 | msg[k + 1]);
    if (len & 1)
        sum += (uint32_t)msg[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static u8_t lw_ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    mirc_ping *ping = arg;
    static uint8_t pkt[1500 + 60];
    (void)pcb;
    if (!ping || p->tot_len > sizeof pkt)
        return 0;
    u16_t n = pbuf_copy_partial(p, pkt, p->tot_len, 0);
    int v6 = IP_IS_V6(addr);
    size_t hl = v6 ? IP6_HLEN : (size_t)(pkt[0] & 0x0f) * 4;
    if (n < hl + 8)
        return 0;
    const uint8_t *icmp = pkt + hl;
    size_t ilen = n - hl;
    uint16_t ident = (uint16_t)(icmp[4] << 8 | icmp[5]), seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
    if ((v6 && pkt[6] != IP6_NEXTH_ICMP6) || icmp[0] != (v6 ? ICMP6_TYPE_EREP : ICMP_ER) ||
        icmp[1] != 0 || ident != ping->ident)
        return 0;
    if (icmp_sum(v6 ? pkt : NULL, icmp, ilen) != 0)
        return 0; /* lwIP counts and drops it on its way to icmp_input */
    mirc_ipaddr from;
    lw_from_ip(addr, &from);
    tcpip_ping_reply(ping, &from, icmp + 8, ilen - 8, seq);
    pbuf_free(p);
    return 1;
}

static mirc_status lw_ping_open(mirc_ping *ping)
{
    struct raw_pcb *p4 = raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP);
    struct raw_pcb *p6 = raw_new_ip_type(IPADDR_TYPE_V6, IP6_NEXTH_ICMP6);
    if (!p4 || !p6) {
        if (p4)
            raw_remove(p4);
        if (p6)
            raw_remove(p6);
        return MIRC_NO_MEMORY;
    }
    p6->chksum_reqd = 1; /* lwIP fills the ICMPv6 checksum (it covers a pseudo-header) */
    p6->chksum_offset = 2;
    raw_recv(p4, lw_ping_recv, ping);
    raw_recv(p6, lw_ping_recv, ping);
    ping->impl4 = p4;
    ping->impl6 = p6;
    return MIRC_OK;
}

static mirc_status lw_ping_send(mirc_ping *ping, const mirc_ipaddr *addr, const uint8_t *payload,
                                size_t len, uint16_t seq)
{
    ip_addr_t a;
    int v6 = addr->family == MIRC_IPV6;
    lw_to_ip(addr, &a);
    struct pbuf *p = pbuf_alloc(PBUF_IP, (u16_t)(8 + len), PBUF_RAM);
    if (!p)
        return MIRC_NO_MEMORY;
    uint8_t *h = p->payload;
    h[0] = v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO;
    h[1] = 0;
    h[2] = h[3] = 0;
    h[4] = (uint8_t)(ping->ident >> 8);
    h[5] = (uint8_t)ping->ident;
    h[6] = (uint8_t)(seq >> 8);
    h[7] = (uint8_t)seq;
    memcpy(h + 8, payload, len);
    if (!v6) {
        u16_t sum = inet_chksum(h, (u16_t)(8 + len));
        memcpy(h + 2, &sum, 2);
    }
    err_t e = raw_sendto(v6 ? ping->impl6 : ping->impl4, p, &a);
    pbuf_free(p);
    lw_rearm();
    return from_err(e);
}

static void lw_ping_close(mirc_ping *ping)
{
    raw_remove(ping->impl4);
    raw_remove(ping->impl6);
    ping->impl4 = ping->impl6 = NULL;
}

/* DNS */

static void lw_dns_found(const char *name, const ip_addr_t *ipaddr, void *arg)
{
    (void)name;
    int slot = (int)(intptr_t)arg;
    if (ipaddr) {
        mirc_ipaddr a;
        lw_from_ip(ipaddr, &a);
        tcpip_dns_done(slot, MIRC_OK, &a);
    } else {
        tcpip_dns_done(slot, MIRC_NOT_FOUND, NULL);
    }
}

static mirc_status lw_dns_start(int slot, const char *name, int family)
{
    ip_addr_t a;
    u8_t type = family == MIRC_IPV4   ? LWIP_DNS_ADDRTYPE_IPV4
                : family == MIRC_IPV6 ? LWIP_DNS_ADDRTYPE_IPV6
                                      : LWIP_DNS_ADDRTYPE_IPV4_IPV6;
    err_t e = dns_gethostbyname_addrtype(name, &a, lw_dns_found, (void *)(intptr_t)slot, type);
    lw_rearm();
    if (e == ERR_OK) { /* cached */
        mirc_ipaddr m;
        lw_from_ip(&a, &m);
        tcpip_dns_done(slot, MIRC_OK, &m);
        return MIRC_OK;
    }
    if (e == ERR_INPROGRESS)
        return MIRC_OK;
    if (e == ERR_VAL) { /* no DNS server configured */
        tcpip_dns_done(slot, MIRC_UNREACHABLE, NULL);
        return MIRC_OK;
    }
    return e == ERR_MEM ? MIRC_NO_MEMORY : from_err(e);
}

static mirc_status lw_start_ops(const struct tcpip_config *cfg)
{
    return lw_start(cfg);
}

const struct tcpip_ops tcpip_lwip_ops = {
    .name = "lwip",
    .start = lw_start_ops,
    .iface_count = lw_iface_count,
    .iface_get = lw_iface_get,
    .stats = lw_stats,
    .zone_of = lw_zone_of,
    .tcp_listen = lw_tcp_listen,
    .tcp_accept = lw_tcp_accept,
    .tcp_connect = lw_tcp_connect,
    .tcp_read_changed = lw_tcp_read_changed,
    .tcp_push = lw_tcp_push,
    .tcp_flush = lw_tcp_flush,
    .tcp_shutdown = lw_tcp_shutdown,
    .tcp_close = lw_tcp_close,
    .tcp_addr = lw_tcp_addr,
    .tcp_nodelay = lw_tcp_nodelay,
    .tcp_run = lw_tcp_run,
    .udp_open = lw_udp_open,
    .udp_send = lw_udp_send,
    .udp_local = lw_udp_local,
    .udp_close = lw_udp_close,
    .ping_open = lw_ping_open,
    .ping_send = lw_ping_send,
    .ping_close = lw_ping_close,
    .dns_start = lw_dns_start,
};
