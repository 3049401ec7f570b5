/* tests/tcpip/apps/netcheck: a client unikernel that checks a server over libs/tcpip.
 *
 *   --server=HOST --port=N   where (HOST: address or name)
 *   --bulk=BYTES             stream BYTES through one connection, compare checksums
 *   --sequential=N           N connections one after another, 100 bytes each
 *   --concurrent=N           N connections at once, 1,000 bytes each
 *   --udp=N                  N UDP round trips
 *   --ping=N                 N ICMP/ICMPv6 echo requests
 *   --refused                a connection to --port must be refused (RST)
 *   --wait-address           wait for an IPv4 address (DHCP) and print it first
 *   --timeout=SEC            give up after SEC seconds (default 120)
 * Prints one line per check and exits 0 if every check passed, 1 if one failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

static const char *server = "10.0.0.2";
static uint16_t port = 7;
static uint64_t bulk, sequential, concurrent, udp_rounds, pings, timeout_s = 120;
static int refused, wait_address;
static mirc_ipaddr server_addr;
static int step; /* which check runs now */
static mirc_timer deadline;

static void next_step(void);

static void fail(const char *what, mirc_status st)
{
    printf("netcheck: FAIL %s: %s\n", what, mirc_status_str(st));
    mirc_exit(1);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* A deterministic byte stream: xorshift. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        p[i] = (uint8_t)rng;
    }
}

/* --bulk */

#define CHUNK (64 * 1024)
static struct {
    mirc_tcp tcp;
    mirc_tcp_write_req req[2];
    uint8_t buf[2][CHUNK];
    uint64_t sent, queued, received, sum_out, sum_in, t0;
    int inflight;
} b;

static void bulk_close(mirc_tcp *tcp, void *ctx)
{
    (void)tcp;
    (void)ctx;
    next_step();
}

static void bulk_push(void);

static void bulk_written(mirc_tcp_write_req *req, mirc_status st, void *ctx)
{
    (void)req;
    (void)ctx;
    b.inflight--;
    if (st != MIRC_OK)
        fail("bulk write", st);
    bulk_push();
}

static void bulk_push(void)
{
    while (b.inflight < 2 && b.queued < bulk) {
        int k = (int)((b.queued / CHUNK) & 1);
        size_t n = bulk - b.queued < CHUNK ? (size_t)(bulk - b.queued) : CHUNK;
        fill(b.buf[k], n);
        b.sum_out = fnv(b.sum_out, b.buf[k], n);
        b.queued += n;
        b.inflight++;
        mirc_status st = mirc_tcp_write(&b.tcp, &b.req[k], b.buf[k], n, bulk_written, NULL);
        if (st != MIRC_OK)
            fail("bulk write", st);
    }
    if (b.queued == bulk && b.inflight == 0)
        mirc_tcp_shutdown(&b.tcp);
}

static void bulk_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx)
{
    (void)ctx;
    if (st == MIRC_OK) {
        b.sum_in = fnv(b.sum_in, data, len);
        b.received += len;
        return;
    }
    if (st != MIRC_CLOSED)
        fail("bulk read", st);
    double secs = (double)(mirc_clock_monotonic() - b.t0) / 1e9;
    int ok = b.received == bulk && b.sum_in == b.sum_out;
    printf("netcheck: %s bulk: sent %" PRIu64 " bytes, received %" PRIu64
           " bytes, checksum %016" PRIx64 " %s %016" PRIx64 ", %.1f MB/s\n",
           ok ? "ok" : "FAIL", bulk, b.received, b.sum_out, ok ? "==" : "!=", b.sum_in,
           (double)bulk / 1e6 / (secs > 0 ? secs : 1e-9));
    mirc_tcpip_stats ts;
    mirc_tcpip_stats_get(&ts);
    printf("netcheck: stack counters: %" PRIu64 " frames in, %" PRIu64 " out, %" PRIu64
           " dropped, %" PRIu64 " pool failures\n",
           ts.frames_in, ts.frames_out, ts.frames_dropped, ts.pool_failures);
    if (!ok)
        mirc_exit(1);
    mirc_tcp_close(tcp, bulk_close, NULL);
}

static void bulk_connected(mirc_tcp *tcp, mirc_status st, void *ctx)
{
    (void)ctx;
    if (st != MIRC_OK)
        fail("bulk connect", st);
    b.t0 = mirc_clock_monotonic();
    b.sum_out = b.sum_in = 0xcbf29ce484222325ull;
    mirc_tcp_read_start(tcp, bulk_read, NULL);
    bulk_push();
}

/* --sequential and --concurrent: many small echoes */

#define MANY 128
static struct small {
    mirc_tcp tcp;
    mirc_tcp_write_req req;
    uint8_t out[1000], in[1000];
    size_t len, got;
    int done;
} smalls[MANY];
static uint64_t started, finished, want;
static int concurrent_mode;

static void small_start(struct small *s);

static void small_closed(mirc_tcp *tcp, void *ctx)
{
    struct small *s = ctx;
    (void)tcp;
    finished++;
    if (finished == want) {
        printf("netcheck: ok %s: %" PRIu64 " connections echoed %zu bytes each\n",
               concurrent_mode ? "concurrent" : "sequential", want, s->len);
        next_step();
    } else if (!concurrent_mode) {
        small_start(s);
    }
}

static void small_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx)
{
    struct small *s = ctx;
    if (st == MIRC_OK) {
        if (s->got + len > s->len)
            fail("echo longer than sent", MIRC_RANGE);
        memcpy(s->in + s->got, data, len);
        s->got += len;
        if (s->got == s->len) {
            if (memcmp(s->in, s->out, s->len) != 0)
                fail("echo differs", MIRC_INVALID);
            mirc_tcp_close(tcp, small_closed, s);
        }
        return;
    }
    fail("echo read", st);
}

static void small_written(mirc_tcp_write_req *req, mirc_status st, void *ctx)
{
    (void)req;
    (void)ctx;
    if (st != MIRC_OK)
        fail("echo write", st);
}

static void small_connected(mirc_tcp *tcp, mirc_status st, void *ctx)
{
    struct small *s = ctx;
    if (st != MIRC_OK)
        fail(concurrent_mode ? "concurrent connect" : "sequential connect", st);
    mirc_tcp_read_start(tcp, small_read, s);
    st = mirc_tcp_write(tcp, &s->req, s->out, s->len, small_written, s);
    if (st != MIRC_OK)
        fail("echo write", st);
}

static void small_start(struct small *s)
{
    s->len = concurrent_mode ? 1000 : 100;
    s->got = 0;
    fill(s->out, s->len);
    started++;
    mirc_status st = mirc_tcp_connect(&s->tcp, &server_addr, port, small_connected, s);
    if (st != MIRC_OK)
        fail("connect", st);
}

/* --udp */

static mirc_udp udp;
static mirc_timer udp_timer;
static uint64_t udp_done, udp_tries;
static uint8_t udp_msg[512];

static void udp_send_one(void)
{
    snprintf((char *)udp_msg, sizeof udp_msg, "netcheck %" PRIu64, udp_done);
    mirc_status st = mirc_udp_send(&udp, &server_addr, port, udp_msg, sizeof udp_msg);
    if (st != MIRC_OK && st != MIRC_AGAIN)
        fail("udp send", st);
    mirc_timer_start(&udp_timer, 200 * MIRC_NS_PER_MS, 0);
}

static void udp_retry(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    if (++udp_tries > 20)
        fail("udp round trip (no reply after 20 tries)", MIRC_TIMED_OUT);
    udp_send_one();
}

static void udp_reply(mirc_udp *u, const void *data, size_t len, const mirc_ipaddr *from,
                      uint16_t from_port, void *ctx)
{
    (void)u;
    (void)ctx;
    (void)from;
    if (from_port != port || len != sizeof udp_msg || memcmp(data, udp_msg, len) != 0)
        return; /* a stale or foreign datagram */
    mirc_timer_stop(&udp_timer);
    if (++udp_done == udp_rounds) {
        printf("netcheck: ok udp: %" PRIu64 " round trips of %zu bytes (%" PRIu64
               " retransmissions)\n",
               udp_done, sizeof udp_msg, udp_tries);
        mirc_udp_close(&udp);
        next_step();
        return;
    }
    udp_send_one();
}

/* --ping */

static mirc_ping ping;
static mirc_timer ping_timer;
static uint64_t ping_sent, ping_got, rtt_min = UINT64_MAX, rtt_max, rtt_sum;

static void ping_tick(mirc_timer *t, void *ctx)
{
    (void)ctx;
    if (ping_sent < pings) {
        mirc_status st = mirc_ping_send(&ping, &server_addr, (uint16_t)ping_sent, 56);
        if (st != MIRC_OK && st != MIRC_AGAIN)
            fail("ping send", st);
        ping_sent++;
        return;
    }
    mirc_timer_stop(t);
    int ok = ping_got == pings;
    printf("netcheck: %s ping: %" PRIu64 " sent, %" PRIu64
           " replies, rtt min/avg/max %.3f/%.3f/%.3f ms\n",
           ok ? "ok" : "FAIL", ping_sent, ping_got, ping_got ? rtt_min / 1e6 : 0.0,
           ping_got ? rtt_sum / 1e6 / ping_got : 0.0, rtt_max / 1e6);
    if (!ok)
        mirc_exit(1);
    mirc_ping_close(&ping);
    next_step();
}

static void ping_reply(mirc_ping *p, mirc_status st, const mirc_ipaddr *from, uint16_t seq,
                       size_t len, uint64_t rtt, void *ctx)
{
    (void)p;
    (void)from;
    (void)seq;
    (void)len;
    (void)ctx;
    if (st != MIRC_OK)
        fail("ping payload", st);
    ping_got++;
    rtt_sum += rtt;
    rtt_min = rtt < rtt_min ? rtt : rtt_min;
    rtt_max = rtt > rtt_max ? rtt : rtt_max;
}

/* --refused */

static mirc_tcp probe;

static void refused_done(mirc_tcp *tcp, mirc_status st, void *ctx)
{
    (void)tcp;
    (void)ctx;
    if (st != MIRC_REFUSED)
        fail("connection to a closed port was not refused", st);
    printf("netcheck: ok refused: port %u answers with RST\n", port);
    next_step();
}

/* Steps, in order */

static void next_step(void)
{
    mirc_status st = MIRC_OK;
    switch (step++) {
    case 0:
        if (bulk) {
            st = mirc_tcp_connect(&b.tcp, &server_addr, port, bulk_connected, NULL);
            break;
        }
        /* fall through */
    case 1:
        step = 2;
        if (sequential) {
            concurrent_mode = 0;
            want = sequential;
            finished = started = 0;
            small_start(&smalls[0]);
            break;
        }
        /* fall through */
    case 2:
        step = 3;
        if (concurrent) {
            concurrent_mode = 1;
            want = concurrent > MANY ? MANY : concurrent;
            finished = started = 0;
            for (uint64_t i = 0; i < want; i++)
                small_start(&smalls[i]);
            break;
        }
        /* fall through */
    case 3:
        step = 4;
        if (udp_rounds) {
            st = mirc_udp_open(&udp, NULL, 0, udp_reply, NULL);
            if (st == MIRC_OK) {
                mirc_timer_init(&udp_timer, udp_retry, NULL);
                udp_send_one();
            }
            break;
        }
        /* fall through */
    case 4:
        step = 5;
        if (pings) {
            st = mirc_ping_open(&ping, ping_reply, NULL);
            if (st == MIRC_OK) {
                mirc_timer_init(&ping_timer, ping_tick, NULL);
                mirc_timer_start(&ping_timer, 0, 10 * MIRC_NS_PER_MS);
            }
            break;
        }
        /* fall through */
    case 5:
        step = 6;
        if (refused) {
            st = mirc_tcp_connect(&probe, &server_addr, port, refused_done, NULL);
            break;
        }
        /* fall through */
    default:
        printf("netcheck: all checks passed\n");
        mirc_exit(0);
    }
    if (st != MIRC_OK)
        fail("start", st);
}

static void resolved(mirc_dns *req, mirc_status st, const mirc_ipaddr *addr, void *ctx)
{
    (void)req;
    (void)ctx;
    if (st != MIRC_OK)
        fail("resolving --server", st);
    server_addr = *addr;
    next_step();
}

static mirc_dns dns;

static void begin(void)
{
    mirc_status st = mirc_dns_resolve(&dns, server, 0, resolved, NULL);
    if (st != MIRC_OK)
        fail("resolving --server", st);
}

static void on_change(unsigned index, void *ctx)
{
    mirc_tcpip_iface f;
    char a[MIRC_IPADDR_STRLEN];
    (void)ctx;
    if (!wait_address || mirc_tcpip_iface_get(index, &f) != MIRC_OK || !f.ipv4.family)
        return;
    printf("netcheck: ok address: %s has %s/%u%s\n", f.name,
           mirc_ipaddr_format(&f.ipv4, a, sizeof a), f.ipv4_prefix,
           f.dhcp == 2 ? " from DHCP" : "");
    wait_address = 0;
    begin();
}

static void on_deadline(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    printf("netcheck: FAIL timed out after %" PRIu64 " s in step %d\n", timeout_s, step);
    mirc_exit(1);
}

static uint64_t num(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 10);
    if (*end == 'M')
        v *= 1000000;
    else if (*end == 'k')
        v *= 1000;
    return v;
}

int mirc_main(int argc, char **argv)
{
    if (mirc_tcpip_init(&argc, argv) != MIRC_OK)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--server=", 9))
            server = a + 9;
        else if (!strncmp(a, "--port=", 7))
            port = (uint16_t)num(a + 7);
        else if (!strncmp(a, "--bulk=", 7))
            bulk = num(a + 7);
        else if (!strncmp(a, "--sequential=", 13))
            sequential = num(a + 13);
        else if (!strncmp(a, "--concurrent=", 13))
            concurrent = num(a + 13);
        else if (!strncmp(a, "--udp=", 6))
            udp_rounds = num(a + 6);
        else if (!strncmp(a, "--ping=", 7))
            pings = num(a + 7);
        else if (!strcmp(a, "--refused"))
            refused = 1;
        else if (!strcmp(a, "--wait-address"))
            wait_address = 1;
        else if (!strncmp(a, "--timeout=", 10))
            timeout_s = num(a + 10);
        else {
            printf("netcheck: unknown argument '%s'\n", a);
            return 2;
        }
    }
    mirc_timer_init(&deadline, on_deadline, NULL);
    mirc_timer_start(&deadline, timeout_s * MIRC_NS_PER_S, 0);
    if (wait_address)
        mirc_tcpip_on_change(on_change, NULL);
    else
        begin();
    mirc_loop_run();
    return 1;
}
