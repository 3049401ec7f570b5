/* libs/tcpip/src/api.c: the application API over either stack: checks, state, write queues,
 * callbacks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tcpip_int.h"

static const struct tcpip_ops *ops; /* NULL until mirc_tcpip_init succeeds */
mirc_tcpip_stats tcpip_api_stats;

void tcpip_err(const char *fmt, ...)
{
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    mirc_console_write("tcpip: ", 7);
    mirc_console_write(line, (size_t)n);
}

/* Deferred work */

static mirc_tcpip_link *dq_head, *dq_tail;
static int depth, draining;
static mirc_timer defer_timer;
static int defer_timer_ready;

static void defer_timer_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    tcpip_drain();
}

void tcpip_defer(mirc_tcpip_link *l, void (*run)(mirc_tcpip_link *l))
{
    if (l->queued)
        return;
    l->run = run;
    l->next = NULL;
    l->queued = 1;
    if (dq_tail)
        dq_tail->next = l;
    else
        dq_head = l;
    dq_tail = l;
    if (depth == 0 && !draining) {
        if (!defer_timer_ready) {
            mirc_timer_init(&defer_timer, defer_timer_cb, NULL);
            defer_timer_ready = 1;
        }
        if (!mirc_timer_active(&defer_timer))
            mirc_timer_start(&defer_timer, 0, 0);
    }
}

void tcpip_undefer(mirc_tcpip_link *l)
{
    if (!l->queued)
        return;
    mirc_tcpip_link *prev = NULL;
    for (mirc_tcpip_link *x = dq_head; x; prev = x, x = x->next) {
        if (x != l)
            continue;
        if (prev)
            prev->next = x->next;
        else
            dq_head = x->next;
        if (dq_tail == x)
            dq_tail = prev;
        break;
    }
    l->queued = 0;
    l->next = NULL;
}

void tcpip_drain(void)
{
    if (draining)
        return;
    draining = 1;
    while (dq_head) {
        mirc_tcpip_link *l = dq_head;
        dq_head = l->next;
        if (!dq_head)
            dq_tail = NULL;
        l->next = NULL;
        l->queued = 0;
        l->run(l);
    }
    draining = 0;
}

void tcpip_enter(void)
{
    depth++;
}

void tcpip_leave(void)
{
    MIRC_ASSERT(depth > 0);
    if (--depth == 0)
        tcpip_drain();
}

/* The stack */

static mirc_tcpip_change_cb change_cb;
static void *change_ctx;
static uint32_t changed_mask;
static mirc_tcpip_link change_link;

mirc_status mirc_tcpip_init(int *argc, char **argv)
{
    static struct tcpip_config cfg;
    char err[240];

    if (ops)
        return MIRC_BUSY;
    mirc_status s = tcpip_config_parse(&cfg, argc, argv, err, sizeof err);
    if (s != MIRC_OK) {
        tcpip_err("%s", err);
        return s;
    }
    const struct tcpip_ops *o = &tcpip_lwip_ops;
    if (cfg.stack == TCPIP_STACK_SOCKET) {
        o = tcpip_socket_ops();
        if (!o) {
            tcpip_err("--stack=socket exists only on the unix target; this image is for %s "
                      "(use --stack=lwip or leave it out)",
                      mirc_target());
            return MIRC_UNSUPPORTED;
        }
    } else if (cfg.npublish) {
        mirc_log("tcpip: --publish is for the socket stack; with lwIP reach the unikernel at its "
                 "own address");
    }
    s = o->start(&cfg);
    if (s == MIRC_OK)
        ops = o;
    return s;
}

const char *mirc_tcpip_stack(void)
{
    return ops ? ops->name : "none";
}

unsigned mirc_tcpip_iface_count(void)
{
    return ops ? ops->iface_count() : 0;
}

mirc_status mirc_tcpip_iface_get(unsigned index, mirc_tcpip_iface *out)
{
    if (!out)
        return MIRC_INVALID;
    if (!ops)
        return MIRC_NOT_FOUND;
    return ops->iface_get(index, out);
}

uint32_t tcpip_zone_of(const char *name)
{
    return ops && ops->zone_of ? ops->zone_of(name) : 0;
}

static void change_run(mirc_tcpip_link *l)
{
    (void)l;
    while (changed_mask) {
        unsigned i = (unsigned)__builtin_ctz(changed_mask);
        changed_mask &= ~(1u << i);
        if (change_cb)
            change_cb(i, change_ctx);
    }
}

void tcpip_changed(unsigned index)
{
    changed_mask |= 1u << (index & 31);
    tcpip_defer(&change_link, change_run);
}

void mirc_tcpip_on_change(mirc_tcpip_change_cb cb, void *ctx)
{
    change_cb = cb;
    change_ctx = ctx;
}

mirc_status mirc_tcpip_stats_get(mirc_tcpip_stats *out)
{
    if (!out)
        return MIRC_INVALID;
    *out = tcpip_api_stats;
    if (ops)
        ops->stats(out);
    return MIRC_OK;
}

/* TCP */

static void tcp_init(mirc_tcp *tcp, void *ctx)
{
    memset(tcp, 0, sizeof *tcp);
    tcp->ctx = ctx;
    tcp->dns_slot = -1;
}

static int valid_addr(const mirc_ipaddr *a)
{
    return !a || a->family == 0 || a->family == MIRC_IPV4 || a->family == MIRC_IPV6;
}

mirc_status mirc_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog,
                            mirc_tcp_accept_cb cb, void *ctx)
{
    if (!tcp || !cb || !valid_addr(addr) || backlog < 0)
        return MIRC_INVALID;
    if (!ops)
        return MIRC_CLOSED;
    tcp_init(tcp, ctx);
    tcp->accept_cb = cb;
    tcp->flags = TCP_F_LISTENER;
    mirc_status s = ops->tcp_listen(tcp, addr, port, backlog ? backlog : 16);
    if (s != MIRC_OK)
        tcp_init(tcp, NULL);
    return s;
}

mirc_status mirc_tcp_accept(mirc_tcp *listener, mirc_tcp *conn)
{
    if (!listener || !conn || listener == conn || !(listener->flags & TCP_F_LISTENER))
        return MIRC_INVALID;
    if (!(listener->flags & TCP_F_ACCEPTING) || !ops)
        return MIRC_AGAIN;
    tcp_init(conn, listener->ctx);
    mirc_status s = ops->tcp_accept(listener, conn);
    if (s != MIRC_OK) {
        tcp_init(conn, NULL);
        return s;
    }
    listener->flags &= ~TCP_F_ACCEPTING; /* one connection per callback */
    conn->flags = TCP_F_OPEN;
    tcpip_api_stats.tcp_accepted++;
    tcpip_api_stats.tcp_open++;
    return MIRC_OK;
}

/* Runs the listener's accept callback for one waiting connection; 1 if it was accepted. */
int tcpip_tcp_offer(mirc_tcp *listener)
{
    if (listener->flags & TCP_F_CLOSING)
        return 0;
    listener->flags |= TCP_F_ACCEPTING;
    listener->accept_cb(listener, listener->ctx);
    int taken = !(listener->flags & TCP_F_ACCEPTING);
    listener->flags &= ~TCP_F_ACCEPTING;
    return taken;
}

mirc_status mirc_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port,
                             mirc_tcp_connect_cb cb, void *ctx)
{
    if (!tcp || !addr || !cb || (addr->family != MIRC_IPV4 && addr->family != MIRC_IPV6) ||
        port == 0)
        return MIRC_INVALID;
    if (!ops)
        return MIRC_CLOSED;
    tcp_init(tcp, ctx);
    tcp->connect_cb = cb;
    tcp->flags = TCP_F_CONNECTING;
    tcp->port = port;
    mirc_status s = ops->tcp_connect(tcp, addr, port);
    if (s != MIRC_OK)
        tcp_init(tcp, NULL);
    return s;
}

#define DNS_SLOTS 16
static struct {
    int busy;
    mirc_dns *req;
    mirc_tcp *tcp;
} dns_slots[DNS_SLOTS];

static int dns_slot_new(void)
{
    for (int i = 0; i < DNS_SLOTS; i++) {
        if (!dns_slots[i].busy) {
            dns_slots[i].busy = 1;
            dns_slots[i].req = NULL;
            dns_slots[i].tcp = NULL;
            return i;
        }
    }
    return -1;
}

mirc_status mirc_tcp_connect_name(mirc_tcp *tcp, const char *host, uint16_t port,
                                  mirc_tcp_connect_cb cb, void *ctx)
{
    mirc_ipaddr a;
    if (!tcp || !host || !cb || port == 0 || !*host || strlen(host) > 255)
        return MIRC_INVALID;
    if (mirc_ipaddr_parse(host, &a) == MIRC_OK)
        return mirc_tcp_connect(tcp, &a, port, cb, ctx);
    if (!ops)
        return MIRC_CLOSED;
    int slot = dns_slot_new();
    if (slot < 0)
        return MIRC_NO_MEMORY;
    tcp_init(tcp, ctx);
    tcp->connect_cb = cb;
    tcp->flags = TCP_F_CONNECTING;
    tcp->port = port;
    tcp->dns_slot = slot;
    dns_slots[slot].tcp = tcp;
    mirc_status s = ops->dns_start(slot, host, 0);
    if (s != MIRC_OK) {
        dns_slots[slot].busy = 0;
        tcp_init(tcp, NULL);
    }
    return s;
}

void tcpip_tcp_connected(mirc_tcp *tcp, mirc_status status)
{
    if (!(tcp->flags & TCP_F_CONNECTING))
        return;
    tcp->flags &= ~TCP_F_CONNECTING;
    if (status == MIRC_OK) {
        tcp->flags |= TCP_F_OPEN;
        tcpip_api_stats.tcp_connected++;
        tcpip_api_stats.tcp_open++;
    } else {
        tcp->impl = NULL;
        tcp->error = status;
    }
    tcp->connected = status;
    tcp->flags |= TCP_F_CONNECT_DONE;
    tcpip_tcp_kick(tcp);
}

mirc_status mirc_tcp_read_start(mirc_tcp *tcp, mirc_tcp_read_cb cb, void *ctx)
{
    if (!tcp || !cb || !(tcp->flags & TCP_F_OPEN) || (tcp->flags & TCP_F_CLOSING))
        return MIRC_INVALID;
    if (tcp->flags & TCP_F_ENDED)
        return tcp->error ? tcp->error : MIRC_CLOSED;
    tcp->read_cb = cb;
    tcp->ctx = ctx;
    if (!(tcp->flags & TCP_F_READING)) {
        tcp->flags |= TCP_F_READING;
        if (tcp->impl)
            ops->tcp_read_changed(tcp);
        tcpip_tcp_kick(tcp); /* held data or a known end: deliver from the loop */
    }
    return MIRC_OK;
}

mirc_status mirc_tcp_read_stop(mirc_tcp *tcp)
{
    if (!tcp || !(tcp->flags & TCP_F_OPEN))
        return MIRC_INVALID;
    if (tcp->flags & TCP_F_READING) {
        tcp->flags &= ~TCP_F_READING;
        if (tcp->impl)
            ops->tcp_read_changed(tcp);
    }
    return MIRC_OK;
}

void tcpip_tcp_deliver(mirc_tcp *tcp, mirc_status status, const void *data, size_t len)
{
    if (!(tcp->flags & TCP_F_READING) || (tcp->flags & (TCP_F_CLOSING | TCP_F_ENDED)))
        return;
    if (status == MIRC_OK) {
        tcpip_api_stats.bytes_in += len;
    } else {
        tcp->flags |= TCP_F_ENDED;
        data = NULL;
        len = 0;
    }
    tcp->read_cb(tcp, status, data, len, tcp->ctx);
}

static void complete(mirc_tcp *tcp, mirc_tcp_write_req *r, mirc_status status)
{
    r->status = status;
    r->next = NULL;
    if (tcp->done_tail)
        tcp->done_tail->next = r;
    else
        tcp->done_head = r;
    tcp->done_tail = r;
}

static void cancel_writes(mirc_tcp *tcp, mirc_status status)
{
    mirc_tcp_write_req *r;
    while ((r = tcp->wq_head)) {
        tcp->wq_head = r->next;
        complete(tcp, r, status);
    }
    tcp->wq_tail = NULL;
    tcp->wq_bytes = 0;
}

static void pump(mirc_tcp *tcp)
{
    int pushed = 0;
    mirc_tcp_write_req *r;

    while (tcp->impl && (r = tcp->wq_head)) {
        if (r->done < r->len) {
            size_t n = ops->tcp_push(tcp, r->buf + r->done, r->len - r->done, 1);
            r->done += n;
            tcp->wq_bytes -= n;
            tcpip_api_stats.bytes_out += n;
            pushed |= n > 0;
            if (r->done < r->len)
                break;
        }
        tcp->wq_head = r->next;
        if (!tcp->wq_head)
            tcp->wq_tail = NULL;
        complete(tcp, r, MIRC_OK);
    }
    if (pushed && tcp->impl)
        ops->tcp_flush(tcp);
    if (!tcp->wq_head && (tcp->flags & TCP_F_SHUT_WANTED) && !(tcp->flags & TCP_F_SHUT_DONE) &&
        tcp->impl) {
        tcp->flags |= TCP_F_SHUT_DONE;
        ops->tcp_shutdown(tcp);
    }
    if (tcp->done_head)
        tcpip_tcp_kick(tcp);
}

void tcpip_tcp_taken(mirc_tcp *tcp, size_t n)
{
    mirc_tcp_write_req *r = tcp->wq_head;
    MIRC_ASSERT(r && n <= r->len - r->done);
    r->done += n;
    tcp->wq_bytes -= n;
    tcpip_api_stats.bytes_out += n;
    pump(tcp);
}

void tcpip_tcp_writable(mirc_tcp *tcp)
{
    if (tcp->wq_head || ((tcp->flags & TCP_F_SHUT_WANTED) && !(tcp->flags & TCP_F_SHUT_DONE)))
        pump(tcp);
}

static mirc_status write_check(mirc_tcp *tcp)
{
    if (!(tcp->flags & TCP_F_OPEN))
        return MIRC_INVALID;
    if (tcp->flags & (TCP_F_CLOSING | TCP_F_SHUT_WANTED))
        return MIRC_CLOSED;
    if (tcp->error)
        return tcp->error;
    return MIRC_OK;
}

mirc_status mirc_tcp_write(mirc_tcp *tcp, mirc_tcp_write_req *req, const void *buf, size_t len,
                           mirc_tcp_write_cb cb, void *ctx)
{
    if (!tcp || !req || (!buf && len) || !cb)
        return MIRC_INVALID;
    mirc_status s = write_check(tcp);
    if (s != MIRC_OK)
        return s;
    memset(req, 0, sizeof *req);
    req->tcp = tcp;
    req->buf = buf;
    req->len = len;
    req->cb = cb;
    req->ctx = ctx;
    if (tcp->wq_tail)
        tcp->wq_tail->next = req;
    else
        tcp->wq_head = req;
    tcp->wq_tail = req;
    tcp->wq_bytes += len;
    pump(tcp);
    return MIRC_OK;
}

mirc_status mirc_tcp_try_write(mirc_tcp *tcp, const void *buf, size_t len, size_t *written)
{
    if (!tcp || (!buf && len) || !written)
        return MIRC_INVALID;
    *written = 0;
    mirc_status s = write_check(tcp);
    if (s != MIRC_OK)
        return s;
    if (tcp->wq_head || !tcp->impl)
        return MIRC_AGAIN;
    if (len == 0)
        return MIRC_OK;
    size_t n = ops->tcp_push(tcp, buf, len, 0);
    if (n == 0)
        return MIRC_AGAIN;
    ops->tcp_flush(tcp);
    tcpip_api_stats.bytes_out += n;
    *written = n;
    return MIRC_OK;
}

size_t mirc_tcp_write_queue_size(const mirc_tcp *tcp)
{
    return tcp ? tcp->wq_bytes : 0;
}

mirc_status mirc_tcp_shutdown(mirc_tcp *tcp)
{
    if (!tcp || !(tcp->flags & TCP_F_OPEN))
        return MIRC_INVALID;
    if (tcp->flags & (TCP_F_CLOSING | TCP_F_SHUT_WANTED))
        return MIRC_CLOSED;
    if (tcp->error)
        return tcp->error;
    tcp->flags |= TCP_F_SHUT_WANTED;
    pump(tcp);
    return MIRC_OK;
}

void tcpip_tcp_failed(mirc_tcp *tcp, mirc_status status)
{
    tcp->impl = NULL;
    if (tcp->flags & TCP_F_CONNECTING) {
        tcpip_tcp_connected(tcp, status);
        return;
    }
    if (!tcp->error)
        tcp->error = status;
    cancel_writes(tcp, status);
    tcpip_tcp_kick(tcp);
}

/* Peer's FIN after all its data: the reader gets MIRC_CLOSED once reading. */
void tcpip_tcp_eof(mirc_tcp *tcp)
{
    tcp->flags |= TCP_F_EOF;
    tcpip_tcp_kick(tcp);
}

static mirc_status tcp_close(mirc_tcp *tcp, mirc_tcp_close_cb cb, void *ctx, int abort)
{
    if (!tcp)
        return MIRC_INVALID;
    if (tcp->flags & TCP_F_CLOSING)
        return MIRC_OK;
    if (tcp->flags & TCP_F_OPEN)
        tcpip_api_stats.tcp_open--;
    tcp->flags |= TCP_F_CLOSING;
    tcp->flags &= ~(TCP_F_READING | TCP_F_CONNECT_DONE);
    tcp->close_cb = cb;
    tcp->ctx = ctx;
    cancel_writes(tcp, MIRC_CLOSED);
    if (tcp->dns_slot >= 0) {
        dns_slots[tcp->dns_slot].tcp = NULL; /* the lookup finishes, unheard */
        tcp->dns_slot = -1;
    }
    if (tcp->impl)
        ops->tcp_close(tcp, abort);
    else
        tcp->flags |= TCP_F_CLOSE_READY;
    tcpip_tcp_kick(tcp);
    return MIRC_OK;
}

mirc_status mirc_tcp_close(mirc_tcp *tcp, mirc_tcp_close_cb cb, void *ctx)
{
    return tcp_close(tcp, cb, ctx, 0);
}

mirc_status mirc_tcp_abort(mirc_tcp *tcp, mirc_tcp_close_cb cb, void *ctx)
{
    return tcp_close(tcp, cb, ctx, 1);
}

void tcpip_tcp_close_ready(mirc_tcp *tcp)
{
    tcp->impl = NULL;
    tcp->flags |= TCP_F_CLOSE_READY;
    tcpip_tcp_kick(tcp);
}

static void tcp_run(mirc_tcpip_link *l)
{
    mirc_tcp *tcp = TCPIP_CONTAINER(l, mirc_tcp, link);

    if (tcp->flags & TCP_F_CONNECT_DONE) {
        tcp->flags &= ~TCP_F_CONNECT_DONE;
        mirc_status st = tcp->connected;
        if (st != MIRC_OK) { /* the handle is free once the app hears of it */
            mirc_tcp_connect_cb cb = tcp->connect_cb;
            void *ctx = tcp->ctx;
            tcp_init(tcp, NULL);
            cb(tcp, st, ctx);
            return;
        }
        tcp->connect_cb(tcp, st, tcp->ctx);
    }
    if (tcp->impl && ops->tcp_run && !(tcp->flags & TCP_F_CLOSING))
        ops->tcp_run(tcp);
    if ((tcp->flags & TCP_F_READING) && !(tcp->flags & (TCP_F_ENDED | TCP_F_CLOSING)) &&
        (tcp->error || (tcp->flags & TCP_F_EOF)))
        tcpip_tcp_deliver(tcp, tcp->error ? tcp->error : MIRC_CLOSED, NULL, 0);
    mirc_tcp_write_req *r;
    while ((r = tcp->done_head)) {
        tcp->done_head = r->next;
        if (!tcp->done_head)
            tcp->done_tail = NULL;
        r->next = NULL;
        r->cb(r, r->status, r->ctx);
    }
    if ((tcp->flags & TCP_F_CLOSING) && (tcp->flags & TCP_F_CLOSE_READY) && !tcp->done_head) {
        mirc_tcp_close_cb cb = tcp->close_cb;
        void *ctx = tcp->ctx;
        tcpip_undefer(&tcp->link);
        tcp_init(tcp, NULL);
        if (cb)
            cb(tcp, ctx);
    }
}

void tcpip_tcp_kick(mirc_tcp *tcp)
{
    tcpip_defer(&tcp->link, tcp_run);
}

mirc_status mirc_tcp_local(const mirc_tcp *tcp, mirc_ipaddr *addr, uint16_t *port)
{
    if (!tcp || !addr || !port)
        return MIRC_INVALID;
    if (!tcp->impl)
        return MIRC_CLOSED;
    return ops->tcp_addr(tcp, 0, addr, port);
}

mirc_status mirc_tcp_peer(const mirc_tcp *tcp, mirc_ipaddr *addr, uint16_t *port)
{
    if (!tcp || !addr || !port || (tcp->flags & TCP_F_LISTENER))
        return MIRC_INVALID;
    if (!tcp->impl)
        return MIRC_CLOSED;
    return ops->tcp_addr(tcp, 1, addr, port);
}

mirc_status mirc_tcp_nodelay(mirc_tcp *tcp, int on)
{
    if (!tcp || (tcp->flags & TCP_F_LISTENER))
        return MIRC_INVALID;
    if (!tcp->impl)
        return MIRC_CLOSED;
    return ops->tcp_nodelay(tcp, on);
}

/* UDP */

mirc_status mirc_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port,
                          mirc_udp_recv_cb cb, void *ctx)
{
    if (!udp || !valid_addr(addr))
        return MIRC_INVALID;
    if (!ops)
        return MIRC_CLOSED;
    memset(udp, 0, sizeof *udp);
    udp->cb = cb;
    udp->ctx = ctx;
    mirc_status s = ops->udp_open(udp, addr, port);
    if (s == MIRC_OK)
        udp->open = 1;
    else
        memset(udp, 0, sizeof *udp);
    return s;
}

mirc_status mirc_udp_send(mirc_udp *udp, const mirc_ipaddr *to, uint16_t port, const void *buf,
                          size_t len)
{
    if (!udp || !to || (!buf && len) || port == 0 ||
        (to->family != MIRC_IPV4 && to->family != MIRC_IPV6))
        return MIRC_INVALID;
    if (!udp->open)
        return MIRC_CLOSED;
    if (len > 65507)
        return MIRC_TOO_BIG;
    return ops->udp_send(udp, to, port, buf, len);
}

mirc_status mirc_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port)
{
    if (!udp || !addr || !port)
        return MIRC_INVALID;
    if (!udp->open)
        return MIRC_CLOSED;
    return ops->udp_local(udp, addr, port);
}

void mirc_udp_close(mirc_udp *udp)
{
    if (!udp || !udp->open)
        return;
    ops->udp_close(udp);
    memset(udp, 0, sizeof *udp);
}

/* Ping: the payload is an 8-byte send time, then a pattern derived from seq */

#define PING_MIN 8
#define PING_MAX 1400

static uint8_t ping_pattern(size_t i, uint16_t seq)
{
    return (uint8_t)(i * 7 + seq);
}

mirc_status mirc_ping_open(mirc_ping *ping, mirc_ping_cb cb, void *ctx)
{
    if (!ping || !cb)
        return MIRC_INVALID;
    if (!ops)
        return MIRC_CLOSED;
    memset(ping, 0, sizeof *ping);
    ping->cb = cb;
    ping->ctx = ctx;
    if (mirc_entropy(&ping->ident, sizeof ping->ident) != MIRC_OK)
        ping->ident = (uint16_t)mirc_clock_monotonic();
    mirc_status s = ops->ping_open(ping);
    if (s == MIRC_OK)
        ping->open = 1;
    else
        memset(ping, 0, sizeof *ping);
    return s;
}

mirc_status mirc_ping_send(mirc_ping *ping, const mirc_ipaddr *addr, uint16_t seq, size_t len)
{
    uint8_t payload[PING_MAX];
    if (!ping || !addr || len < PING_MIN || len > PING_MAX ||
        (addr->family != MIRC_IPV4 && addr->family != MIRC_IPV6))
        return MIRC_INVALID;
    if (!ping->open)
        return MIRC_CLOSED;
    uint64_t now = mirc_clock_monotonic();
    for (int i = 0; i < 8; i++)
        payload[i] = (uint8_t)(now >> (8 * i));
    for (size_t i = PING_MIN; i < len; i++)
        payload[i] = ping_pattern(i, seq);
    return ops->ping_send(ping, addr, payload, len, seq);
}

void tcpip_ping_reply(mirc_ping *ping, const mirc_ipaddr *from, const uint8_t *payload, size_t len,
                      uint16_t seq)
{
    if (!ping->open || len < PING_MIN)
        return;
    uint64_t sent = 0, now = mirc_clock_monotonic();
    for (int i = 0; i < 8; i++)
        sent |= (uint64_t)payload[i] << (8 * i);
    mirc_status st = MIRC_OK;
    for (size_t i = PING_MIN; i < len; i++)
        if (payload[i] != ping_pattern(i, seq))
            st = MIRC_INVALID;
    ping->cb(ping, st, from, seq, len, sent <= now ? now - sent : 0, ping->ctx);
}

void mirc_ping_close(mirc_ping *ping)
{
    if (!ping || !ping->open)
        return;
    ops->ping_close(ping);
    memset(ping, 0, sizeof *ping);
}

/* DNS */

static void dns_run(mirc_tcpip_link *l)
{
    mirc_dns *req = TCPIP_CONTAINER(l, mirc_dns, link);
    req->slot = -1;
    req->cb(req, req->status, req->status == MIRC_OK ? &req->addr : NULL, req->ctx);
}

mirc_status mirc_dns_resolve(mirc_dns *req, const char *name, int family, mirc_dns_cb cb, void *ctx)
{
    if (!req || !name || !cb || !*name || strlen(name) > 255 ||
        (family != 0 && family != MIRC_IPV4 && family != MIRC_IPV6))
        return MIRC_INVALID;
    if (!ops)
        return MIRC_CLOSED;
    memset(req, 0, sizeof *req);
    req->cb = cb;
    req->ctx = ctx;
    req->slot = -1;
    if (mirc_ipaddr_parse(name, &req->addr) == MIRC_OK) {
        req->status = (family && req->addr.family != family) ? MIRC_NOT_FOUND : MIRC_OK;
        tcpip_defer(&req->link, dns_run);
        return MIRC_OK;
    }
    int slot = dns_slot_new();
    if (slot < 0)
        return MIRC_NO_MEMORY;
    dns_slots[slot].req = req;
    req->slot = slot;
    mirc_status s = ops->dns_start(slot, name, family);
    if (s != MIRC_OK) {
        dns_slots[slot].busy = 0;
        req->slot = -1;
    }
    return s;
}

void mirc_dns_cancel(mirc_dns *req)
{
    if (!req)
        return;
    if (req->slot >= 0 && req->slot < DNS_SLOTS && dns_slots[req->slot].req == req)
        dns_slots[req->slot].req = NULL;
    req->slot = -1;
    tcpip_undefer(&req->link);
}

void tcpip_dns_done(int slot, mirc_status status, const mirc_ipaddr *addr)
{
    if (slot < 0 || slot >= DNS_SLOTS || !dns_slots[slot].busy)
        return;
    mirc_dns *req = dns_slots[slot].req;
    mirc_tcp *tcp = dns_slots[slot].tcp;
    dns_slots[slot].busy = 0;
    dns_slots[slot].req = NULL;
    dns_slots[slot].tcp = NULL;
    if (req) {
        req->status = status;
        if (status == MIRC_OK && addr)
            req->addr = *addr;
        tcpip_defer(&req->link, dns_run);
    }
    if (tcp) {
        tcp->dns_slot = -1;
        mirc_status s = status;
        if (s == MIRC_OK)
            s = ops->tcp_connect(tcp, addr, tcp->port);
        if (s != MIRC_OK)
            tcpip_tcp_connected(tcp, s);
    }
}
