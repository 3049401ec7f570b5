/* libs/tcpip/src/socket_tcp.c: TCP handles on the host's sockets through libuv (unix only). */
#include <stdlib.h>
#include <string.h>

#include "socket_int.h"

struct sk_tcp {
    uv_tcp_t h;
    mirc_tcp *app; /* NULL once the app let go */
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uv_connect_t creq;
    size_t wlen; /* bytes of the write in flight */
    int writing;
};

static struct sk_tcp *tcp_new(void)
{
    struct sk_tcp *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (uv_tcp_init(sk_loop, &s->h) != 0) {
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
        uv_close((uv_handle_t *)&s->h, sk_free_on_close);
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
            uv_tcp_close_reset(&t->h, sk_free_on_close);
        else if (t)
            tcp_drop(t);
    }
    tcpip_leave();
}

mirc_status sk_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog)
{
    struct sockaddr_storage ss;
    uint16_t hp = sk_host_port(port);
    struct sk_tcp *s = tcp_new();
    if (!s)
        return MIRC_NO_MEMORY;
    int any = !addr || addr->family == 0;
    sk_to_sockaddr(any ? NULL : addr, hp, any || addr->family == MIRC_IPV6, &ss);
    int r = uv_tcp_bind(&s->h, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->h, backlog, on_connection);
    if (r == UV_EAFNOSUPPORT && any) { /* no IPv6 on this host: IPv4 only */
        tcp_drop(s);
        s = tcp_new();
        if (!s)
            return MIRC_NO_MEMORY;
        mirc_ipaddr v4 = { .family = MIRC_IPV4 };
        sk_to_sockaddr(&v4, hp, 0, &ss);
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
        return sk_status(r);
    }
    s->app = tcp;
    tcp->impl = s;
    if (hp != port)
        mirc_log("tcpip: port %u published on host port %u", port, hp);
    return MIRC_OK;
}

mirc_status sk_tcp_accept(mirc_tcp *listener, mirc_tcp *conn)
{
    struct sk_tcp *l = listener->impl;
    struct sk_tcp *s = tcp_new();
    if (!s)
        return MIRC_NO_MEMORY;
    int r = uv_accept((uv_stream_t *)&l->h, (uv_stream_t *)&s->h);
    if (r != 0) {
        tcp_drop(s);
        return r == UV_EAGAIN ? MIRC_AGAIN : sk_status(r);
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
    tcpip_tcp_connected(app, sk_status(status));
    tcpip_leave();
}

mirc_status sk_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    struct sk_tcp *s = tcp_new();
    if (!s)
        return MIRC_NO_MEMORY;
    sk_to_sockaddr(addr, port, 0, &ss);
    int r = uv_tcp_connect(&s->creq, &s->h, (struct sockaddr *)&ss, on_connect);
    if (r != 0) {
        tcp_drop(s);
        return sk_status(r);
    }
    s->app = tcp;
    tcp->impl = s;
    return MIRC_OK;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct sk_tcp *s = stream->data;
    (void)buf;
    if (!s->app || n == 0)
        return;
    tcpip_enter();
    if (n > 0) {
        tcpip_tcp_deliver(s->app, MIRC_OK, sk_rbuf, (size_t)n);
    } else if (n == UV_EOF) {
        uv_read_stop(stream);
        tcpip_tcp_eof(s->app);
    } else {
        mirc_tcp *app = s->app;
        tcp_drop(s);
        tcpip_tcp_failed(app, sk_status((int)n));
    }
    tcpip_leave();
}

void sk_tcp_read_changed(mirc_tcp *tcp)
{
    struct sk_tcp *s = tcp->impl;
    if ((tcp->flags & TCP_F_READING) && !(tcp->flags & TCP_F_EOF))
        uv_read_start((uv_stream_t *)&s->h, sk_on_alloc, on_read);
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
        tcpip_tcp_failed(app, sk_status(status));
    } else {
        tcpip_tcp_taken(app, s->wlen);
    }
    tcpip_leave();
}

size_t sk_tcp_push(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold)
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

void sk_tcp_flush(mirc_tcp *tcp)
{
    (void)tcp; /* try_write and write hand bytes to the kernel at once */
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* a failure shows up as a read or write error */
}

void sk_tcp_shutdown(mirc_tcp *tcp)
{
    struct sk_tcp *s = tcp->impl;
    uv_shutdown(&s->sreq, (uv_stream_t *)&s->h, on_shutdown);
}

void sk_tcp_close(mirc_tcp *tcp, int abort)
{
    struct sk_tcp *s = tcp->impl;
    s->app = NULL;
    if (abort && !uv_is_closing((uv_handle_t *)&s->h) &&
        uv_tcp_close_reset(&s->h, sk_free_on_close) == 0) {
        tcpip_tcp_close_ready(tcp);
        return;
    }
    tcp_drop(s);
    tcpip_tcp_close_ready(tcp);
}

mirc_status sk_tcp_addr(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port)
{
    struct sk_tcp *s = tcp->impl;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int r = peer ? uv_tcp_getpeername(&s->h, (struct sockaddr *)&ss, &len)
                 : uv_tcp_getsockname(&s->h, (struct sockaddr *)&ss, &len);
    if (r != 0)
        return sk_status(r);
    sk_from_sockaddr((struct sockaddr *)&ss, addr, port);
    if (!peer)
        *port = sk_guest_port(*port);
    return MIRC_OK;
}

mirc_status sk_tcp_nodelay(mirc_tcp *tcp, int on)
{
    struct sk_tcp *s = tcp->impl;
    return sk_status(uv_tcp_nodelay(&s->h, on ? 1 : 0));
}
