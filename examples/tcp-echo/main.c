/* examples/tcp-echo: echoes TCP streams and UDP datagrams, with backpressure, on libs/tcpip.
 *
 *   --port=N          the port for TCP and UDP (default 7)
 *   --exit-after=N    exit 0 once N TCP connections have closed (0: serve forever)
 *   --verbose         one line per connection
 *   and the network options of libs/tcpip (README there), e.g. --ipv4=10.0.0.2/24
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

#define CONNS 256
#define BUF   (64 * 1024)

struct conn {
    mirc_tcp tcp;
    mirc_tcp_write_req req;
    int used, writing;
    size_t held; /* bytes in buf not yet written: the write in flight */
    uint64_t bytes;
    uint8_t buf[BUF];
};

static struct conn conns[CONNS];
static mirc_tcp listener;
static mirc_udp udp;
static uint64_t accepted, closed, exit_after, total_bytes, udp_datagrams;
static int verbose;

static void on_close(mirc_tcp *tcp, void *ctx)
{
    struct conn *c = ctx;
    (void)tcp;
    if (verbose)
        printf("tcp-echo: connection closed after %" PRIu64 " bytes\n", c->bytes);
    total_bytes += c->bytes;
    c->used = 0;
    closed++;
    if (exit_after && closed >= exit_after) {
        mirc_tcpip_stats s;
        mirc_tcpip_stats_get(&s);
        printf("tcp-echo: %" PRIu64 " connections, %" PRIu64 " bytes, %" PRIu64
               " UDP datagrams echoed; %" PRIu64 " frames in, %" PRIu64 " dropped, %" PRIu64
               " checksum errors\n",
               closed, total_bytes, udp_datagrams, s.frames_in, s.frames_dropped,
               s.checksum_errors);
        mirc_exit(0);
    }
}

static void on_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx);

static void on_written(mirc_tcp_write_req *req, mirc_status st, void *ctx)
{
    struct conn *c = ctx;
    (void)req;
    c->writing = 0;
    c->held = 0;
    if (st != MIRC_OK) /* cancelled by close, or the connection died: close handles it */
        return;
    mirc_tcp_read_start(&c->tcp, on_read, c); /* the peer may send again */
}

static void on_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx)
{
    struct conn *c = ctx;
    if (st != MIRC_OK) { /* the peer finished (MIRC_CLOSED) or the connection died */
        if (st == MIRC_CLOSED)
            mirc_tcp_shutdown(tcp); /* FIN after everything echoed so far */
        mirc_tcp_close(tcp, on_close, c);
        return;
    }
    c->bytes += len;
    size_t n = 0;
    if (!c->writing && mirc_tcp_try_write(tcp, data, len, &n) != MIRC_OK)
        n = 0;
    if (n == len)
        return;
    /* the stack is full: keep the rest, stop reading until it is written */
    memcpy(c->buf + c->held, (const uint8_t *)data + n, len - n);
    c->held += len - n;
    if (!c->writing) {
        c->writing = 1;
        mirc_tcp_write(tcp, &c->req, c->buf, c->held, on_written, c);
    }
    mirc_tcp_read_stop(tcp);
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
        c->writing = 0;
        c->held = 0;
        c->bytes = 0;
        accepted++;
        mirc_tcp_nodelay(&c->tcp, 1);
        mirc_tcp_read_start(&c->tcp, on_read, c);
        if (verbose) {
            mirc_ipaddr a;
            uint16_t port;
            char s[MIRC_IPADDR_STRLEN];
            if (mirc_tcp_peer(&c->tcp, &a, &port) == MIRC_OK)
                printf("tcp-echo: connection from %s port %u\n",
                       mirc_ipaddr_format(&a, s, sizeof s), port);
        }
        return;
    }
    /* no free slot: not accepting resets the connection */
}

static void on_datagram(mirc_udp *u, const void *data, size_t len, const mirc_ipaddr *from,
                        uint16_t port, void *ctx)
{
    (void)ctx;
    if (mirc_udp_send(u, from, port, data, len) == MIRC_OK)
        udp_datagrams++;
}

int mirc_main(int argc, char **argv)
{
    unsigned long port = 7;
    mirc_status s = mirc_tcpip_init(&argc, argv);
    if (s != MIRC_OK)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--port=", 7) == 0) {
            char *end;
            port = strtoul(argv[i] + 7, &end, 10);
            if (*end || port == 0 || port > 65535) {
                printf("tcp-echo: --port must be 1..65535\n");
                return 2;
            }
        } else if (strncmp(argv[i], "--exit-after=", 13) == 0) {
            exit_after = strtoull(argv[i] + 13, NULL, 10);
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else {
            printf("tcp-echo: unknown argument '%s' (--port=N, --exit-after=N, --verbose)\n",
                   argv[i]);
            return 2;
        }
    }
    s = mirc_tcp_listen(&listener, NULL, (uint16_t)port, 128, on_accept, NULL);
    if (s != MIRC_OK) {
        printf("tcp-echo: cannot listen on port %lu: %s\n", port, mirc_status_str(s));
        return 1;
    }
    s = mirc_udp_open(&udp, NULL, (uint16_t)port, on_datagram, NULL);
    if (s != MIRC_OK) {
        printf("tcp-echo: cannot open UDP port %lu: %s\n", port, mirc_status_str(s));
        return 1;
    }
    printf("tcp-echo: echoing TCP and UDP on port %lu (%s stack)\n", port, mirc_tcpip_stack());
    fflush(stdout);
    mirc_loop_run();
    return 0;
}
