/* libs/tcpip/src/socket_stack.c: the socket stack (unix only): the API on the host's sockets
 * through libuv; addresses, UDP, ping, DNS and the ops table (TCP: socket_tcp.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket_int.h"

/*
 * Every handle here lives on the unix backend's libuv sk_loop, whose callbacks
 * run inside mirc_plat_yield; each open libuv handle holds a sk_loop reference
 * (mirc_loop_ref) so that mirc_loop_run keeps sleeping for it. The libuv
 * handles are allocated per connection (not per packet) and freed in their
 * close callbacks, so the app's handle is free as soon as it closes.
 */

static const struct tcpip_config *sk_cfg;
uv_loop_t *sk_loop;
char sk_rbuf[65536]; /* read callbacks' data: valid only during the callback */

struct sk_udp {
    uv_udp_t h;
    mirc_udp *app;
    int v6; /* bound to a dual-stack IPv6 socket */
};

struct sk_ping {
    uv_poll_t h;
    int fd;
    int raw; /* a raw socket (root): we set the identifier and see every ICMP packet */
    mirc_ping *app;
};

struct sk_dns {
    uv_getaddrinfo_t req;
    int slot, family;
};

mirc_status sk_status(int e)
{
    switch (e) {
    case 0:
        return MIRC_OK;
    case UV_ECONNREFUSED:
        return MIRC_REFUSED;
    case UV_ECONNRESET:
    case UV_EPIPE:
    case UV_ECONNABORTED:
        return MIRC_RESET;
    case UV_ETIMEDOUT:
        return MIRC_TIMED_OUT;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EADDRNOTAVAIL:
    case UV_ENETDOWN:
        return MIRC_UNREACHABLE;
    case UV_EADDRINUSE:
        return MIRC_BUSY;
    case UV_ENOMEM:
    case UV_ENOBUFS:
    case UV_EMFILE:
    case UV_ENFILE:
        return MIRC_NO_MEMORY;
    case UV_EAGAIN:
        return MIRC_AGAIN;
    case UV_EINVAL:
        return MIRC_INVALID;
    case UV_ECANCELED:
    case UV_EOF:
        return MIRC_CLOSED;
    case UV_EMSGSIZE:
        return MIRC_TOO_BIG;
    default:
        return MIRC_IO;
    }
}

/* Addresses */

void sk_to_sockaddr(const mirc_ipaddr *a, uint16_t port, int want_v6, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a && a->family == MIRC_IPV4 && !want_v6) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a->bytes, 4);
        return;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    if (a && a->family == MIRC_IPV4) { /* IPv4-mapped, for a dual-stack socket */
        s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&s6->sin6_addr.s6_addr[12], a->bytes, 4);
    } else if (a && a->family == MIRC_IPV6) {
        memcpy(&s6->sin6_addr, a->bytes, 16);
        s6->sin6_scope_id = a->zone;
    }
}

void sk_from_sockaddr(const struct sockaddr *sa, mirc_ipaddr *a, uint16_t *port)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        a->family = MIRC_IPV4;
        memcpy(a->bytes, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(&s6->sin6_addr, mapped, 12) == 0) {
            a->family = MIRC_IPV4;
            memcpy(a->bytes, &s6->sin6_addr.s6_addr[12], 4);
        } else {
            a->family = MIRC_IPV6;
            memcpy(a->bytes, &s6->sin6_addr, 16);
            a->zone = s6->sin6_scope_id;
        }
        *port = ntohs(s6->sin6_port);
    } else {
        *port = 0;
    }
}

/* The host port for an app's port: its --publish mapping, or the same number. */
uint16_t sk_host_port(uint16_t port)
{
    for (unsigned k = 0; sk_cfg && k < sk_cfg->npublish; k++)
        if (sk_cfg->publish[k].guest == port)
            return sk_cfg->publish[k].host;
    return port;
}

uint16_t sk_guest_port(uint16_t port)
{
    for (unsigned k = 0; sk_cfg && k < sk_cfg->npublish; k++)
        if (sk_cfg->publish[k].host == port)
            return sk_cfg->publish[k].guest;
    return port;
}

/* The stack */

static mirc_status sk_start(const struct tcpip_config *cfg)
{
    sk_cfg = cfg;
    sk_loop = mirc_unix_loop();
    for (unsigned k = 0; k < cfg->nnics; k++) {
        if (cfg->nics[k].v4mode != TCPIP_V4_UNSET || cfg->nics[k].ipv6_set) {
            mirc_log("tcpip: the socket stack uses the host's addresses; network options for the "
                     "NICs are ignored");
            break;
        }
    }
    mirc_log("tcpip: socket stack on the host's sockets (%u published port%s)", cfg->npublish,
             cfg->npublish == 1 ? "" : "s");
    return MIRC_OK;
}

static unsigned sk_iface_count(void)
{
    return 1;
}

static mirc_status sk_iface_get(unsigned index, mirc_tcpip_iface *out)
{
    if (index != 0)
        return MIRC_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->name = "host";
    return MIRC_OK;
}

static void sk_stats(mirc_tcpip_stats *out)
{
    (void)out; /* the host kernel keeps the packet counters */
}

static uint32_t sk_zone_of(const char *name)
{
    return if_nametoindex(name);
}

/* Shared by the TCP and UDP code */

void sk_free_on_close(uv_handle_t *h)
{
    free(h->data);
    mirc_loop_unref();
}

void sk_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(sk_rbuf, sizeof sk_rbuf);
}

/* UDP */

static void on_udp(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags)
{
    struct sk_udp *s = h->data;
    (void)buf;
    (void)flags;
    if (!s->app || !s->app->cb || n < 0 || !addr)
        return;
    mirc_ipaddr from;
    uint16_t port;
    sk_from_sockaddr(addr, &from, &port);
    tcpip_enter();
    s->app->cb(s->app, sk_rbuf, (size_t)n, &from, port, s->app->ctx);
    tcpip_leave();
}

/* A UDP handle bound to ss, or NULL with *err set (the failed handle frees itself). */
static struct sk_udp *udp_bind(const struct sockaddr_storage *ss, int *err)
{
    struct sk_udp *s = calloc(1, sizeof *s);
    if (!s || uv_udp_init(sk_loop, &s->h) != 0) {
        free(s);
        *err = UV_ENOMEM;
        return NULL;
    }
    s->h.data = s;
    mirc_loop_ref();
    *err = uv_udp_bind(&s->h, (const struct sockaddr *)ss, 0);
    if (*err != 0) {
        uv_close((uv_handle_t *)&s->h, sk_free_on_close);
        return NULL;
    }
    s->v6 = ss->ss_family == AF_INET6;
    return s;
}

static mirc_status sk_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    int any = !addr || addr->family == 0, r;
    uint16_t hp = port ? sk_host_port(port) : 0;
    sk_to_sockaddr(any ? NULL : addr, hp, any || addr->family == MIRC_IPV6, &ss);
    struct sk_udp *s = udp_bind(&ss, &r);
    if (!s && any && r == UV_EAFNOSUPPORT) { /* no IPv6 on this host: IPv4 only */
        mirc_ipaddr v4 = { .family = MIRC_IPV4 };
        sk_to_sockaddr(&v4, hp, 0, &ss);
        s = udp_bind(&ss, &r);
    }
    if (!s) {
        if (r == UV_EACCES)
            tcpip_err("socket stack: no permission to bind host UDP port %u; publish it on a "
                      "high port (--publish=8053:%u)",
                      hp, port);
        return sk_status(r);
    }
    if (udp->cb)
        uv_udp_recv_start(&s->h, sk_on_alloc, on_udp);
    s->app = udp;
    udp->impl = s;
    return MIRC_OK;
}

static mirc_status sk_udp_send(mirc_udp *udp, const mirc_ipaddr *to, uint16_t port, const void *buf,
                               size_t len)
{
    struct sk_udp *s = udp->impl;
    struct sockaddr_storage ss;
    if (to->family == MIRC_IPV6 && !s->v6)
        return MIRC_UNREACHABLE;
    sk_to_sockaddr(to, port, s->v6, &ss);
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int r = uv_udp_try_send(&s->h, &b, 1, (struct sockaddr *)&ss);
    return r >= 0 ? MIRC_OK : sk_status(r);
}

static mirc_status sk_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port)
{
    struct sk_udp *s = udp->impl;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int r = uv_udp_getsockname(&s->h, (struct sockaddr *)&ss, &len);
    if (r != 0)
        return sk_status(r);
    sk_from_sockaddr((struct sockaddr *)&ss, addr, port);
    *port = sk_guest_port(*port);
    return MIRC_OK;
}

static void sk_udp_close(mirc_udp *udp)
{
    struct sk_udp *s = udp->impl;
    s->app = NULL;
    uv_close((uv_handle_t *)&s->h, sk_free_on_close);
    udp->impl = NULL;
}

/* Ping: the kernel's ICMP datagram sockets, or raw sockets where ping_group_range forbids them */

static uint16_t icmp4_sum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t k = 0; k + 1 < n; k += 2)
        sum += (uint32_t)(p[k] << 8 | p[k + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void on_ping(uv_poll_t *h, int status, int events)
{
    struct sk_ping *s = h->data;
    uint8_t pkt[1600];
    (void)status;
    (void)events;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t n = recvfrom(s->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            return;
        const uint8_t *icmp = pkt;
        if (s->raw && ss.ss_family == AF_INET) { /* raw IPv4 sockets see the IP header */
            size_t hl = (size_t)(pkt[0] & 0x0f) * 4;
            if ((size_t)n < hl + 8)
                continue;
            icmp += hl;
            n -= (ssize_t)hl;
        }
        if (!s->app || n < 8 || (icmp[0] != 0 && icmp[0] != 129) || icmp[1] != 0)
            continue;
        if (s->raw && (uint16_t)(icmp[4] << 8 | icmp[5]) != s->app->ident)
            continue; /* another program's reply */
        mirc_ipaddr from;
        uint16_t port;
        sk_from_sockaddr((struct sockaddr *)&ss, &from, &port);
        tcpip_enter();
        tcpip_ping_reply(s->app, &from, icmp + 8, (size_t)n - 8,
                         (uint16_t)(icmp[6] << 8 | icmp[7]));
        tcpip_leave();
    }
}

static struct sk_ping *ping_socket(mirc_ping *ping, int v6)
{
    int raw = 0, proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
        fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
        raw = 1;
    }
    if (fd < 0)
        return NULL;
    struct sk_ping *s = calloc(1, sizeof *s);
    if (!s || uv_poll_init(sk_loop, &s->h, fd) != 0) {
        free(s);
        close(fd);
        return NULL;
    }
    s->fd = fd;
    s->raw = raw;
    s->app = ping;
    s->h.data = s;
    mirc_loop_ref();
    uv_poll_start(&s->h, UV_READABLE, on_ping);
    return s;
}

static mirc_status sk_ping_open(mirc_ping *ping)
{
    ping->impl4 = ping_socket(ping, 0);
    ping->impl6 = ping_socket(ping, 1);
    if (!ping->impl4 && !ping->impl6) {
        tcpip_err("socket stack: the host refuses ICMP sockets (errno %d); allow them with "
                  "sysctl net.ipv4.ping_group_range='0 2147483647', or run as root",
                  errno);
        return MIRC_UNSUPPORTED;
    }
    return MIRC_OK;
}

static mirc_status sk_ping_send(mirc_ping *ping, const mirc_ipaddr *addr, const uint8_t *payload,
                                size_t len, uint16_t seq)
{
    int v6 = addr->family == MIRC_IPV6;
    struct sk_ping *s = v6 ? ping->impl6 : ping->impl4;
    uint8_t pkt[8 + 1400];
    struct sockaddr_storage ss;
    if (!s)
        return MIRC_UNSUPPORTED;
    memset(pkt, 0, 8);
    pkt[0] = v6 ? 128 : 8; /* datagram sockets: the kernel sets identifier and checksum */
    pkt[6] = (uint8_t)(seq >> 8);
    pkt[7] = (uint8_t)seq;
    memcpy(pkt + 8, payload, len);
    if (s->raw) { /* raw: ours to set, but for the ICMPv6 checksum (always the kernel's) */
        pkt[4] = (uint8_t)(ping->ident >> 8);
        pkt[5] = (uint8_t)ping->ident;
        if (!v6) {
            uint16_t sum = icmp4_sum(pkt, 8 + len);
            pkt[2] = (uint8_t)(sum >> 8);
            pkt[3] = (uint8_t)sum;
        }
    }
    sk_to_sockaddr(addr, 0, v6, &ss);
    ssize_t n = sendto(s->fd, pkt, 8 + len, 0, (struct sockaddr *)&ss,
                       v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    if (n < 0)
        return errno == EAGAIN ? MIRC_AGAIN : sk_status(-errno);
    return MIRC_OK;
}

static void ping_close_one(struct sk_ping *s)
{
    if (!s)
        return;
    s->app = NULL;
    uv_poll_stop(&s->h);
    close(s->fd);
    uv_close((uv_handle_t *)&s->h, sk_free_on_close);
}

static void sk_ping_close(mirc_ping *ping)
{
    ping_close_one(ping->impl4);
    ping_close_one(ping->impl6);
    ping->impl4 = ping->impl6 = NULL;
}

/* DNS: the host's resolver */

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct sk_dns *d = req->data;
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *a = res; a && status == 0; a = a->ai_next) {
        if (a->ai_family == AF_INET && d->family != MIRC_IPV6) {
            pick = a;
            break;
        }
        if (a->ai_family == AF_INET6 && d->family != MIRC_IPV4 && !pick)
            pick = a;
    }
    tcpip_enter();
    if (pick) {
        mirc_ipaddr addr;
        uint16_t port;
        sk_from_sockaddr(pick->ai_addr, &addr, &port);
        tcpip_dns_done(d->slot, MIRC_OK, &addr);
    } else {
        tcpip_dns_done(d->slot, status == UV_EAI_AGAIN ? MIRC_TIMED_OUT : MIRC_NOT_FOUND, NULL);
    }
    tcpip_leave();
    uv_freeaddrinfo(res);
    free(d);
    mirc_loop_unref();
}

static mirc_status sk_dns_start(int slot, const char *name, int family)
{
    struct sk_dns *d = calloc(1, sizeof *d);
    if (!d)
        return MIRC_NO_MEMORY;
    d->slot = slot;
    d->family = family;
    d->req.data = d;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_family = family == MIRC_IPV4   ? AF_INET
                                           : family == MIRC_IPV6 ? AF_INET6
                                                                 : AF_UNSPEC };
    int r = uv_getaddrinfo(sk_loop, &d->req, on_resolved, name, NULL, &hints);
    if (r != 0) {
        free(d);
        return sk_status(r);
    }
    mirc_loop_ref();
    return MIRC_OK;
}

static const struct tcpip_ops socket_ops = {
    .name = "socket",
    .start = sk_start,
    .iface_count = sk_iface_count,
    .iface_get = sk_iface_get,
    .stats = sk_stats,
    .zone_of = sk_zone_of,
    .tcp_listen = sk_tcp_listen,
    .tcp_accept = sk_tcp_accept,
    .tcp_connect = sk_tcp_connect,
    .tcp_read_changed = sk_tcp_read_changed,
    .tcp_push = sk_tcp_push,
    .tcp_flush = sk_tcp_flush,
    .tcp_shutdown = sk_tcp_shutdown,
    .tcp_close = sk_tcp_close,
    .tcp_addr = sk_tcp_addr,
    .tcp_nodelay = sk_tcp_nodelay,
    .tcp_run = NULL,
    .udp_open = sk_udp_open,
    .udp_send = sk_udp_send,
    .udp_local = sk_udp_local,
    .udp_close = sk_udp_close,
    .ping_open = sk_ping_open,
    .ping_send = sk_ping_send,
    .ping_close = sk_ping_close,
    .dns_start = sk_dns_start,
};

const struct tcpip_ops *tcpip_socket_ops(void)
{
    return &socket_ops;
}
