/* libs/tcpip/src/api.c: the stack, deferred callbacks, UDP, ping and DNS over either stack;
 * callbacks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tcpip_int.h"

const struct tcpip_ops *tcpip_ops; /* NULL until mirc_tcpip_init succeeds */
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

    if (tcpip_ops)
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
        tcpip_ops = o;
    return s;
}

const char *mirc_tcpip_stack(void)
{
    return tcpip_ops ? tcpip_ops->name : "none";
}

unsigned mirc_tcpip_iface_count(void)
{
    return tcpip_ops ? tcpip_ops->iface_count() : 0;
}

mirc_status mirc_tcpip_iface_get(unsigned index, mirc_tcpip_iface *out)
{
    if (!out)
        return MIRC_INVALID;
    if (!tcpip_ops)
        return MIRC_NOT_FOUND;
    return tcpip_ops->iface_get(index, out);
}

uint32_t tcpip_zone_of(const char *name)
{
    return tcpip_ops && tcpip_ops->zone_of ? tcpip_ops->zone_of(name) : 0;
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
    if (tcpip_ops)
        tcpip_ops->stats(out);
    return MIRC_OK;
}

/* UDP */

mirc_status mirc_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port,
                          mirc_udp_recv_cb cb, void *ctx)
{
    if (!udp || !tcpip_valid_addr(addr))
        return MIRC_INVALID;
    if (!tcpip_ops)
        return MIRC_CLOSED;
    memset(udp, 0, sizeof *udp);
    udp->cb = cb;
    udp->ctx = ctx;
    mirc_status s = tcpip_ops->udp_open(udp, addr, port);
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
    return tcpip_ops->udp_send(udp, to, port, buf, len);
}

mirc_status mirc_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port)
{
    if (!udp || !addr || !port)
        return MIRC_INVALID;
    if (!udp->open)
        return MIRC_CLOSED;
    return tcpip_ops->udp_local(udp, addr, port);
}

void mirc_udp_close(mirc_udp *udp)
{
    if (!udp || !udp->open)
        return;
    tcpip_ops->udp_close(udp);
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
    if (!tcpip_ops)
        return MIRC_CLOSED;
    memset(ping, 0, sizeof *ping);
    ping->cb = cb;
    ping->ctx = ctx;
    if (mirc_entropy(&ping->ident, sizeof ping->ident) != MIRC_OK)
        ping->ident = (uint16_t)mirc_clock_monotonic();
    mirc_status s = tcpip_ops->ping_open(ping);
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
    return tcpip_ops->ping_send(ping, addr, payload, len, seq);
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
    tcpip_ops->ping_close(ping);
    memset(ping, 0, sizeof *ping);
}

/* DNS */

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

int tcpip_dns_slot_new(mirc_dns *req, mirc_tcp *tcp)
{
    int slot = dns_slot_new();
    if (slot >= 0) {
        dns_slots[slot].req = req;
        dns_slots[slot].tcp = tcp;
    }
    return slot;
}

void tcpip_dns_slot_forget(int slot, int release)
{
    if (slot < 0 || slot >= DNS_SLOTS)
        return;
    dns_slots[slot].tcp = NULL;
    if (release)
        dns_slots[slot].busy = 0;
}

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
    if (!tcpip_ops)
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
    int slot = tcpip_dns_slot_new(req, NULL);
    if (slot < 0)
        return MIRC_NO_MEMORY;
    req->slot = slot;
    mirc_status s = tcpip_ops->dns_start(slot, name, family);
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
            s = tcpip_ops->tcp_connect(tcp, addr, tcp->port);
        if (s != MIRC_OK)
            tcpip_tcp_connected(tcp, s);
    }
}
