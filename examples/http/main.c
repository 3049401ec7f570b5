/* examples/http: an HTTP/1.1 server with keep-alive on libs/tcpip: a page at /, counters at
 * /status.
 *
 *   --port=N          the port (default 80)
 *   --exit-after=N    exit 0 after N requests (0: serve forever)
 *   --blob=BYTES      serve BYTES of a fixed pattern at /blob, streamed with backpressure
 *                     (byte i is (i * 31 + 7) mod 256; bench/net measures throughput with it)
 *   and the network options of libs/tcpip (README there), e.g. --ipv4=10.0.0.2/24
 *
 * Requests are parsed as they arrive, split anywhere; pipelined requests are
 * answered in order. A connection reads no further while its response is
 * being written (the write completion restarts reading).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

#define CONNS   512
#define REQ_MAX 8192

static const char page[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>mirc</title></head>\n"
    "<body>\n"
    "<h1>Hello from a mirc unikernel</h1>\n"
    "<p>This page comes from examples/http: an HTTP/1.1 server with keep-alive, written once\n"
    "against mirc/tcpip.h and run as a Linux process (lwIP or the socket stack) or as a KVM\n"
    "guest on lwIP. Counters are at <a href=\"/status\">/status</a>.</p>\n"
    "<p>The same bytes are served by nginx in bench/net, as the baseline the benchmark\n"
    "measures this server against.</p>\n"
    "</body></html>\n";

struct conn {
    mirc_tcp tcp;
    mirc_tcp_write_req req;
    int used, writing, closing, keep;
    uint64_t blob_left; /* bytes of /blob still to send */
    size_t in_len;
    char in[REQ_MAX];
    char out[2048];
};

static struct conn conns[CONNS];
static mirc_tcp listener;
static uint64_t requests, accepted, open_conns, errors, exit_after, started_ns, blob_size;
static uint8_t pattern[64 * 1024]; /* /blob's bytes; 64 KiB is a multiple of the period 256 */

static void on_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx);

static void on_closed(mirc_tcp *tcp, void *ctx)
{
    struct conn *c = ctx;
    (void)tcp;
    c->used = 0;
    open_conns--;
}

static void conn_close(struct conn *c)
{
    if (!c->closing) {
        c->closing = 1;
        mirc_tcp_close(&c->tcp, on_closed, c);
    }
}

static int status_json(char *buf, size_t size)
{
    mirc_tcpip_stats s;
    mirc_tcpip_stats_get(&s);
    return snprintf(
        buf, size,
        "{\"stack\":\"%s\",\"target\":\"%s\",\"uptime_ms\":%" PRIu64 ",\"requests\":%" PRIu64
        ",\"connections\":%" PRIu64 ",\"open\":%" PRIu64 ",\"errors\":%" PRIu64
        ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"frames_in\":%" PRIu64
        ",\"frames_out\":%" PRIu64 ",\"frames_dropped\":%" PRIu64 ",\"checksum_errors\":%" PRIu64
        ",\"mem_limit\":%" PRIu64 ",\"mem_used\":%" PRIu64 ",\"mem_rx\":%" PRIu64
        ",\"mem_tx\":%" PRIu64 ",\"half_open\":%" PRIu64 ",\"evicted\":%" PRIu64
        ",\"refused\":%" PRIu64 ",\"shed\":%" PRIu64 "}\n",
        mirc_tcpip_stack(), mirc_target(), (mirc_clock_monotonic() - started_ns) / MIRC_NS_PER_MS,
        requests, accepted, open_conns, errors, s.bytes_in, s.bytes_out, s.frames_in, s.frames_out,
        s.frames_dropped, s.checksum_errors, s.mem_limit, s.mem_used, s.mem_rx, s.mem_tx,
        s.tcp_half_open, s.tcp_half_open_evicted, s.tcp_refused, s.frames_shed);
}

static void on_written(mirc_tcp_write_req *req, mirc_status st, void *ctx);

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Case-insensitive comparison of n bytes (C11 has no strncasecmp). */
static int same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Case-insensitive search for a header line "name: value" in the header block. */
static int header_has(const char *h, size_t n, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    for (size_t i = 0; i + nl + 1 < n; i++) {
        if ((i == 0 || h[i - 1] == '\n') && same(h + i, name, nl) && h[i + nl] == ':') {
            const char *v = h + i + nl + 1, *end = memchr(v, '\r', (size_t)(h + n - v));
            for (; end && v + vl <= end; v++)
                if (same(v, value, vl))
                    return 1;
        }
    }
    return 0;
}

/* Answers the first complete request in c->in; 0 if none is complete yet. */
static int serve_one(struct conn *c)
{
    char *end = NULL;
    for (size_t i = 3; i < c->in_len && !end; i++)
        if (memcmp(c->in + i - 3, "\r\n\r\n", 4) == 0)
            end = c->in + i + 1;
    if (!end)
        return 0;
    size_t hlen = (size_t)(end - c->in);
    char method[8] = "", path[256] = "", version[16] = "";
    int code = 200, keep = 1;
    const char *type = "text/html; charset=utf-8", *body = page;
    char json[1024];
    int blen = (int)sizeof page - 1;

    if (sscanf(c->in, "%7s %255s %15s", method, path, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        code = 400;
        keep = 0;
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        code = 405;
    } else if (strcmp(path, "/blob") == 0 && blob_size) {
        body = NULL;
        type = "application/octet-stream";
    } else if (strcmp(path, "/status") == 0) {
        blen = status_json(json, sizeof json);
        body = json;
        type = "application/json";
    } else if (strcmp(path, "/") != 0 && strcmp(path, "/index.html") != 0) {
        code = 404;
    }
    if (code != 200) {
        body = code == 404 ? "not found\n" : code == 405 ? "method not allowed\n" : "bad request\n";
        blen = (int)strlen(body);
        type = "text/plain";
    }
    if (strcmp(version, "HTTP/1.0") == 0 ? !header_has(c->in, hlen, "connection", "keep-alive")
                                         : header_has(c->in, hlen, "connection", "close"))
        keep = 0;
    c->blob_left = !body && strcmp(method, "HEAD") != 0 ? blob_size : 0;
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\nServer: mirc\r\nContent-Type: %s\r\n"
                     "Content-Length: %" PRIu64 "\r\nConnection: %s\r\n\r\n",
                     code,
                     code == 200   ? "OK"
                     : code == 404 ? "Not Found"
                     : code == 405 ? "Method Not Allowed"
                                   : "Bad Request",
                     type, body ? (uint64_t)blen : blob_size, keep ? "keep-alive" : "close");
    if (body && strcmp(method, "HEAD") != 0 && (size_t)n + (size_t)blen < sizeof c->out) {
        memcpy(c->out + n, body, (size_t)blen);
        n += blen;
    }
    requests++;
    if (code != 200)
        errors++;
    memmove(c->in, end, c->in_len - hlen);
    c->in_len -= hlen;
    c->writing = 1;
    mirc_tcp_read_stop(&c->tcp);
    if (mirc_tcp_write(&c->tcp, &c->req, c->out, (size_t)n, on_written, c) != MIRC_OK) {
        conn_close(c);
        return 0;
    }
    c->keep = keep;
    if (!keep && !c->blob_left)
        mirc_tcp_shutdown(&c->tcp);
    if (exit_after && requests >= exit_after) {
        printf("http: served %" PRIu64 " requests on %" PRIu64 " connections\n", requests,
               accepted);
        mirc_exit(0);
    }
    return 1;
}

static void on_written(mirc_tcp_write_req *req, mirc_status st, void *ctx)
{
    struct conn *c = ctx;
    (void)req;
    c->writing = 0;
    if (st != MIRC_OK || c->closing)
        return conn_close(c);
    if (c->blob_left) { /* the next piece of /blob, once the last one is in the stack */
        size_t n = c->blob_left < sizeof pattern ? (size_t)c->blob_left : sizeof pattern;
        c->blob_left -= n;
        c->writing = 1;
        if (mirc_tcp_write(&c->tcp, &c->req, pattern, n, on_written, c) != MIRC_OK)
            conn_close(c);
        else if (!c->blob_left && !c->keep)
            mirc_tcp_shutdown(&c->tcp);
        return;
    }
    if (serve_one(c)) /* a pipelined request was waiting */
        return;
    if (mirc_tcp_read_start(&c->tcp, on_read, c) != MIRC_OK)
        conn_close(c); /* the client had finished: we answered all it asked */
}

static void on_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx)
{
    struct conn *c = ctx;
    (void)tcp;
    if (st != MIRC_OK)
        return conn_close(c);
    if (len > sizeof c->in - c->in_len) { /* headers too large */
        errors++;
        return conn_close(c);
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    if (!c->writing)
        serve_one(c);
}

static void on_accept(mirc_tcp *l, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < CONNS; i++) {
        struct conn *c = &conns[i];
        if (c->used)
            continue;
        if (mirc_tcp_accept(l, &c->tcp) != MIRC_OK)
            return;
        c->used = 1;
        c->writing = c->closing = 0;
        c->in_len = 0;
        accepted++;
        open_conns++;
        mirc_tcp_nodelay(&c->tcp, 1);
        mirc_tcp_read_start(&c->tcp, on_read, c);
        return;
    }
}

int mirc_main(int argc, char **argv)
{
    unsigned long port = 80;
    if (mirc_tcpip_init(&argc, argv) != MIRC_OK)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--port=", 7) == 0) {
            char *end;
            port = strtoul(argv[i] + 7, &end, 10);
            if (*end || port == 0 || port > 65535) {
                printf("http: --port must be 1..65535\n");
                return 2;
            }
        } else if (strncmp(argv[i], "--exit-after=", 13) == 0) {
            exit_after = strtoull(argv[i] + 13, NULL, 10);
        } else if (strncmp(argv[i], "--blob=", 7) == 0) {
            char *end;
            blob_size = strtoull(argv[i] + 7, &end, 10);
            blob_size *= *end == 'M' ? 1000000 : *end == 'k' ? 1000 : 1;
        } else {
            printf("http: unknown argument '%s' (--port=N, --exit-after=N, --blob=BYTES)\n",
                   argv[i]);
            return 2;
        }
    }
    started_ns = mirc_clock_monotonic();
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 31 + 7);
    mirc_status s = mirc_tcp_listen(&listener, NULL, (uint16_t)port, 511, on_accept, NULL);
    if (s != MIRC_OK) {
        printf("http: cannot listen on port %lu: %s\n", port, mirc_status_str(s));
        return 1;
    }
    printf("http: serving on port %lu (%s stack)\n", port, mirc_tcpip_stack());
    fflush(stdout);
    mirc_loop_run();
    return 0;
}
