/* libs/tcpip/src/api_tcp.c: TCP handles over either stack: checks, state, write queues, callbacks.
 */
#include <string.h>

#include "tcpip_int.h"

static void tcp_init(mirc_tcp *tcp, void *ctx)
{
    memset(tcp, 0, sizeof *tcp);
    tcp->ctx = ctx;
    tcp->dns_slot = -1;
}

mirc_status mirc_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog,
                            mirc_tcp_accept_cb cb, void *ctx)
{
    if (!tcp || !cb || !tcpip_valid_addr(addr) || backlog < 0)
        return MIRC_INVALID;
    if (!tcpip_ops)
        return MIRC_CLOSED;
    tcp_init(tcp, ctx);
    tcp->accept_cb = cb;
    tcp->flags = TCP_F_LISTENER;
    mirc_status s = tcpip_ops->tcp_listen(tcp, addr, port, backlog ? backlog : 16);
    if (s != MIRC_OK)
        tcp_init(tcp, NULL);
    return s;
}

mirc_status mirc_tcp_accept(mirc_tcp *listener, mirc_tcp *conn)
{
    if (!listener || !conn || listener == conn || !(listener->flags & TCP_F_LISTENER))
        return MIRC_INVALID;
    if (!(listener->flags & TCP_F_ACCEPTING) || !tcpip_ops)
        return MIRC_AGAIN;
    tcp_init(conn, listener->ctx);
    mirc_status s = tcpip_ops->tcp_accept(listener, conn);
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
    if (!tcpip_ops)
        return MIRC_CLOSED;
    tcp_init(tcp, ctx);
    tcp->connect_cb = cb;
    tcp->flags = TCP_F_CONNECTING;
    tcp->port = port;
    mirc_status s = tcpip_ops->tcp_connect(tcp, addr, port);
    if (s != MIRC_OK)
        tcp_init(tcp, NULL);
    return s;
}

mirc_status mirc_tcp_connect_name(mirc_tcp *tcp, const char *host, uint16_t port,
                                  mirc_tcp_connect_cb cb, void *ctx)
{
    mirc_ipaddr a;
    if (!tcp || !host || !cb || port == 0 || !*host || strlen(host) > 255)
        return MIRC_INVALID;
    if (mirc_ipaddr_parse(host, &a) == MIRC_OK)
        return mirc_tcp_connect(tcp, &a, port, cb, ctx);
    if (!tcpip_ops)
        return MIRC_CLOSED;
    int slot = tcpip_dns_slot_new(NULL, tcp);
    if (slot < 0)
        return MIRC_NO_MEMORY;
    tcp_init(tcp, ctx);
    tcp->connect_cb = cb;
    tcp->flags = TCP_F_CONNECTING;
    tcp->port = port;
    tcp->dns_slot = slot;
    mirc_status s = tcpip_ops->dns_start(slot, host, 0);
    if (s != MIRC_OK) {
        tcpip_dns_slot_forget(slot, 1);
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
            tcpip_ops->tcp_read_changed(tcp);
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
            tcpip_ops->tcp_read_changed(tcp);
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
            size_t n = tcpip_ops->tcp_push(tcp, r->buf + r->done, r->len - r->done, 1);
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
        tcpip_ops->tcp_flush(tcp);
    if (!tcp->wq_head && (tcp->flags & TCP_F_SHUT_WANTED) && !(tcp->flags & TCP_F_SHUT_DONE) &&
        tcp->impl) {
        tcp->flags |= TCP_F_SHUT_DONE;
        tcpip_ops->tcp_shutdown(tcp);
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
    size_t n = tcpip_ops->tcp_push(tcp, buf, len, 0);
    if (n == 0)
        return MIRC_AGAIN;
    tcpip_ops->tcp_flush(tcp);
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
        tcpip_dns_slot_forget(tcp->dns_slot, 0); /* the lookup finishes, unheard */
        tcp->dns_slot = -1;
    }
    if (tcp->impl)
        tcpip_ops->tcp_close(tcp, abort);
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
    if (tcp->impl && tcpip_ops->tcp_run && !(tcp->flags & TCP_F_CLOSING))
        tcpip_ops->tcp_run(tcp);
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
    return tcpip_ops->tcp_addr(tcp, 0, addr, port);
}

mirc_status mirc_tcp_peer(const mirc_tcp *tcp, mirc_ipaddr *addr, uint16_t *port)
{
    if (!tcp || !addr || !port || (tcp->flags & TCP_F_LISTENER))
        return MIRC_INVALID;
    if (!tcp->impl)
        return MIRC_CLOSED;
    return tcpip_ops->tcp_addr(tcp, 1, addr, port);
}

mirc_status mirc_tcp_nodelay(mirc_tcp *tcp, int on)
{
    if (!tcp || (tcp->flags & TCP_F_LISTENER))
        return MIRC_INVALID;
    if (!tcp->impl)
        return MIRC_CLOSED;
    return tcpip_ops->tcp_nodelay(tcp, on);
}
