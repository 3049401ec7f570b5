/* libs/tcpip/src/socket_stack.c: the same API on the host's sockets, through libuv (unix only). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcpip_int.h"
#include "unix.h"

/*
 * Every handle here lives on the unix backend's libuv loop, whose callbacks
 * run inside mirc_plat_yield; each open libuv handle holds a loop reference
 * (mirc_loop_ref) so that mirc_loop_run keeps sleeping for it. The libuv
 * handles are allocated per connection (not per packet) and freed in their
 * close callbacks, so the app's handle is free as soon as it closes.
 */

static const struct tcpip_config *sk_cfg;
static uv_loop_t *loop;
static char rbuf[65536]; /* read callbacks' data: valid only during the callback */

struct sk_tcp {
    uv_tcp_t h;
    mirc_tcp *app; /* NULL once the app let go */
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uv_connect_t creq;
    size_t wlen; /* bytes of the write in flight */
    int writing;
};

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

static mirc_status from_uv(int e)
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

static void to_sockaddr(const mirc_ipaddr *a, uint16_t port, int want_v6,
                        struct sockaddr_storage *ss)
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

static void from_sockaddr(const struct sockaddr *sa, mirc_ipaddr *a, uint16_t *port)
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
static uint16_t host_port(uint16_t port)
{
    for (unsigned k = 0; sk_cfg && k < sk_cfg->npublish; k++)
        if (sk_cfg->publish[k].guest == port)
            return sk_cfg->publish[k].host;
    return port;
}

static uint16_t guest_port(uint16_t port)
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
    loop = mirc_unix_loop();
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

/* TCP */

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
    mirc_loop_unref();
}

static struct sk_tcp *tcp_new(void)
{
    struct sk_tcp *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (uv_tcp_init(loop, &s->h) != 0) {
        free(s);
        return NULL;
    }
    s->h.data = s;
    mirc_loop_ref();
    return s;
}

/* The app's handle lost its connection: let libuv's go. */
static void tcp_drop(struct sk_tcp *s)
{
    s->app = NULL;
    if (!uv_is_closing((uv_handle_t *)&s->h))
        uv_close((uv_handle_t *)&s->h, free_on_close);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sk_tcp *s = server->data;
    if (status < 0 || !s->app)
        return;
    tcpip_enter();
    if (!tcpip_tcp_offer(s->app)) { /* not taken: accept and reset it */
        struct sk_tcp *t = tcp_new();
        if (t && uv_accept(server, (uv_stream_t *)&t->h) == 0)
            uv_tcp_close_reset(&t->h, free_on_close);
        else if (t)
            tcp_drop(t);
    }
    tcpip_leave();
}

static mirc_status sk_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog)
{
    struct sockaddr_storage ss;
    uint16_t hp = host_port(port);
    struct sk_tcp *s = tcp_new();
    if (!s)
        return MIRC_NO_MEMORY;
    int any = !addr || addr->family == 0;
    to_sockaddr(any ? NULL : addr, hp, any || addr->family == MIRC_IPV6, &ss);
    int r = uv_tcp_bind(&s->h, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->h, backlog, on_connection);
    if (r == UV_EAFNOSUPPORT && any) { /* no IPv6 on this host: IPv4 only */
        tcp_drop(s);
        s = tcp_new();
        if (!s)
            return MIRC_NO_MEMORY;
        mirc_ipaddr v4 = { .family = MIRC_IPV4 };
        to_sockaddr(&v4, hp, 0, &ss);
        r = uv_tcp_bind(&s->h, (struct sockaddr *)&ss, 0);
        if (r == 0)
            r = uv_listen((uv_stream_t *)&s->h, backlog, on_connection);
    }
    if (r != 0) {
        tcp_drop(s);
        if (r == UV_EACCES)
            tcpip_err("socket stack: no permission to listen on host port %u; publish it on a "
                      "high port (mirc run -p 8080:%u, or --publish=8080:%u)",
                      hp, port, port);
        else if (r == UV_EADDRINUSE)
            tcpip_err("socket stack: host port %u is in use", hp);
        return from_uv(r);
    }
    s->app = tcp;
    tcp->impl = s;
    if (hp != port)
        mirc_log("tcpip: port %u published on host port %u", port, hp);
    return MIRC_OK;
}

static mirc_status sk_tcp_accept(mirc_tcp *listener, mirc_tcp *conn)
{
    struct sk_tcp *l = listener->impl;
    struct sk_tcp *s = tcp_new();
    if (!s)
        return MIRC_NO_MEMORY;
    int r = uv_accept((uv_stream_t *)&l->h, (uv_stream_t *)&s->h);
    if (r != 0) {
        tcp_drop(s);
        return r == UV_EAGAIN ? MIRC_AGAIN : from_uv(r);
    }
    s->app = conn;
    conn->impl = s;
    return MIRC_OK;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct sk_tcp *s = req->handle->data;
    if (!s->app)
        return; /* closed while connecting */
    tcpip_enter();
    mirc_tcp *app = s->app;
    if (status != 0)
        tcp_drop(s);
    tcpip_tcp_connected(app, from_uv(status));
    tcpip_leave();
}

static mirc_status sk_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    struct sk_tcp *s = tcp_new();
    if (!s)
        return MIRC_NO_MEMORY;
    to_sockaddr(addr, port, 0, &ss);
    int r = uv_tcp_connect(&s->creq, &s->h, (struct sockaddr *)&ss, on_connect);
    if (r != 0) {
        tcp_drop(s);
        return from_uv(r);
    }
    s->app = tcp;
    tcp->impl = s;
    return MIRC_OK;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct sk_tcp *s = stream->data;
    (void)buf;
    if (!s->app || n == 0)
        return;
    tcpip_enter();
    if (n > 0) {
        tcpip_tcp_deliver(s->app, MIRC_OK, rbuf, (size_t)n);
    } else if (n == UV_EOF) {
        uv_read_stop(stream);
        tcpip_tcp_eof(s->app);
    } else {
        mirc_tcp *app = s->app;
        tcp_drop(s);
        tcpip_tcp_failed(app, from_uv((int)n));
    }
    tcpip_leave();
}

static void sk_tcp_read_changed(mirc_tcp *tcp)
{
    struct sk_tcp *s = tcp->impl;
    if ((tcp->flags & TCP_F_READING) && !(tcp->flags & TCP_F_EOF))
        uv_read_start((uv_stream_t *)&s->h, on_alloc, on_read);
    else
        uv_read_stop((uv_stream_t *)&s->h);
}

static void on_write(uv_write_t *req, int status)
{
    struct sk_tcp *s = req->handle->data;
    s->writing = 0;
    if (!s->app)
        return;
    tcpip_enter();
    mirc_tcp *app = s->app;
    if (status != 0) {
        tcp_drop(s);
        tcpip_tcp_failed(app, from_uv(status));
    } else {
        tcpip_tcp_taken(app, s->wlen);
    }
    tcpip_leave();
}

static size_t sk_tcp_push(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold)
{
    struct sk_tcp *s = tcp->impl;
    if (s->writing)
        return 0;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)(len > 1u << 30 ? 1u << 30 : len));
    int r = uv_try_write((uv_stream_t *)&s->h, &b, 1);
    size_t done = r > 0 ? (size_t)r : 0;
    if (hold && done < b.len) { /* the kernel's buffer is full: libuv finishes it */
        b = uv_buf_init((char *)buf + done, (unsigned)(b.len - done));
        if (uv_write(&s->wreq, (uv_stream_t *)&s->h, &b, 1, on_write) == 0) {
            s->writing = 1;
            s->wlen = b.len;
        }
    }
    return done;
}

static void sk_tcp_flush(mirc_tcp *tcp)
{
    (void)tcp; /* try_write and write hand bytes to the kernel at once */
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* a failure shows up as a read or write error */
}

static void sk_tcp_shutdown(mirc_tcp *tcp)
{
    struct sk_tcp *s = tcp->impl;
    uv_shutdown(&s->sreq, (uv_stream_t *)&s->h, on_shutdown);
}

static void sk_tcp_close(mirc_tcp *tcp, int abort)
{
    struct sk_tcp *s = tcp->impl;
    s->app = NULL;
    if (abort && !uv_is_closing((uv_handle_t *)&s->h) &&
        uv_tcp_close_reset(&s->h, free_on_close) == 0) {
        tcpip_tcp_close_ready(tcp);
        return;
    }
    tcp_drop(s);
    tcpip_tcp_close_ready(tcp);
}

static mirc_status sk_tcp_addr(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port)
{
    struct sk_tcp *s = tcp->impl;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int r = peer ? uv_tcp_getpeername(&s->h, (struct sockaddr *)&ss, &len)
                 : uv_tcp_getsockname(&s->h, (struct sockaddr *)&ss, &len);
    if (r != 0)
        return from_uv(r);
    from_sockaddr((struct sockaddr *)&ss, addr, port);
    if (!peer)
        *port = guest_port(*port);
    return MIRC_OK;
}

static mirc_status sk_tcp_nodelay(mirc_tcp *tcp, int on)
{
    struct sk_tcp *s = tcp->impl;
    return from_uv(uv_tcp_nodelay(&s->h, on ? 1 : 0));
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
    from_sockaddr(addr, &from, &port);
    tcpip_enter();
    s->app->cb(s->app, rbuf, (size_t)n, &from, port, s->app->ctx);
    tcpip_leave();
}

/* A UDP handle bound to ss, or NULL with *err set (the failed handle frees itself). */
static struct sk_udp *udp_bind(const struct sockaddr_storage *ss, int *err)
{
    struct sk_udp *s = calloc(1, sizeof *s);
    if (!s || uv_udp_init(loop, &s->h) != 0) {
        free(s);
        *err = UV_ENOMEM;
        return NULL;
    }
    s->h.data = s;
    mirc_loop_ref();
    *err = uv_udp_bind(&s->h, (const struct sockaddr *)ss, 0);
    if (*err != 0) {
        uv_close((uv_handle_t *)&s->h, free_on_close);
        return NULL;
    }
    s->v6 = ss->ss_family == AF_INET6;
    return s;
}

static mirc_status sk_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    int any = !addr || addr->family == 0, r;
    uint16_t hp = port ? host_port(port) : 0;
    to_sockaddr(any ? NULL : addr, hp, any || addr->family == MIRC_IPV6, &ss);
    struct sk_udp *s = udp_bind(&ss, &r);
    if (!s && any && r == UV_EAFNOSUPPORT) { /* no IPv6 on this host: IPv4 only */
        mirc_ipaddr v4 = { .family = MIRC_IPV4 };
        to_sockaddr(&v4, hp, 0, &ss);
        s = udp_bind(&ss, &r);
    }
    if (!s) {
        if (r == UV_EACCES)
            tcpip_err("socket stack: no permission to bind host UDP port %u; publish it on a "
                      "high port (--publish=8053:%u)",
                      hp, port);
        return from_uv(r);
    }
    if (udp->cb)
        uv_udp_recv_start(&s->h, on_alloc, on_udp);
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
    to_sockaddr(to, port, s->v6, &ss);
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int r = uv_udp_try_send(&s->h, &b, 1, (struct sockaddr *)&ss);
    return r >= 0 ? MIRC_OK : from_uv(r);
}

static mirc_status sk_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port)
{
    struct sk_udp *s = udp->impl;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int r = uv_udp_getsockname(&s->h, (struct sockaddr *)&ss, &len);
    if (r != 0)
        return from_uv(r);
    from_sockaddr((struct sockaddr *)&ss, addr, port);
    *port = guest_port(*port);
    return MIRC_OK;
}

static void sk_udp_close(mirc_udp *udp)
{
    struct sk_udp *s = udp->impl;
    s->app = NULL;
    uv_close((uv_handle_t *)&s->h, free_on_close);
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
        from_sockaddr((struct sockaddr *)&ss, &from, &port);
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
    if (!s || uv_poll_init(loop, &s->h, fd) != 0) {
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
    to_sockaddr(addr, 0, v6, &ss);
    ssize_t n = sendto(s->fd, pkt, 8 + len, 0, (struct sockaddr *)&ss,
                       v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    if (n < 0)
        return errno == EAGAIN ? MIRC_AGAIN : from_uv(-errno);
    return MIRC_OK;
}

static void ping_close_one(struct sk_ping *s)
{
    if (!s)
        return;
    s->app = NULL;
    uv_poll_stop(&s->h);
    close(s->fd);
    uv_close((uv_handle_t *)&s->h, free_on_close);
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
        from_sockaddr(pick->ai_addr, &addr, &port);
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
    int r = uv_getaddrinfo(loop, &d->req, on_resolved, name, NULL, &hints);
    if (r != 0) {
        free(d);
        return from_uv(r);
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
