/* The socket stack on loopback: the same API as lwIP, on the host's sockets through libuv. */
#include <criterion/criterion.h>
#include <string.h>

#include "manifest.h"
#include "mirc/mirc.h"
#include "mirc/tcpip.h"

const struct mirc_manifest mirc_manifest = { "socktest", 0, NULL, 0, NULL, NULL, NULL };

int mirc_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void boot(void)
{
    char *argv[] = { "socktest", "--stack=socket", "--publish=47480:80", "--keep", NULL };
    int argc = 4;
    cr_assert_eq(mirc_tcpip_init(&argc, argv), MIRC_OK);
    cr_assert_eq(argc, 2);
    cr_assert_str_eq(argv[1], "--keep");
    cr_assert_str_eq(mirc_tcpip_stack(), "socket");
}

TestSuite(socket, .init = boot, .timeout = 20);

static mirc_tcp listener, server_conn, client;
static mirc_tcp_write_req wreq, sreq;
static uint8_t sent[300000], echoed[300000], hold[65536];
static size_t echoed_len;
static int closes;
static mirc_status client_end = MIRC_STATUS_COUNT, connect_status = MIRC_STATUS_COUNT;

static void on_listener_closed(mirc_tcp *t, void *ctx)
{
    (void)t;
    (void)ctx;
    closes++;
}

static void on_closed(mirc_tcp *t, void *ctx)
{
    (void)t;
    (void)ctx;
    if (++closes == 2) /* both ends: now the listener, and the loop has nothing left */
        mirc_tcp_close(&listener, on_listener_closed, NULL);
}

static void on_server_read(mirc_tcp *t, mirc_status st, const void *data, size_t len, void *ctx);

static void on_server_written(mirc_tcp_write_req *r, mirc_status st, void *ctx)
{
    (void)r;
    (void)ctx;
    cr_assert_eq(st, MIRC_OK);
    mirc_tcp_read_start(&server_conn, on_server_read, NULL);
}

static void on_server_read(mirc_tcp *t, mirc_status st, const void *data, size_t len, void *ctx)
{
    (void)ctx;
    if (st != MIRC_OK) { /* the client finished: finish too */
        cr_assert_eq(st, MIRC_CLOSED);
        mirc_tcp_close(t, on_closed, NULL);
        return;
    }
    /* echo through a write request, reading nothing more until it is in the kernel */
    memcpy(hold, data, len);
    mirc_tcp_read_stop(t);
    cr_assert_eq(mirc_tcp_write(t, &sreq, hold, len, on_server_written, NULL), MIRC_OK);
}

static void on_accept(mirc_tcp *l, void *ctx)
{
    (void)ctx;
    cr_assert_eq(mirc_tcp_accept(l, &server_conn), MIRC_OK);
    cr_assert_eq(mirc_tcp_read_start(&server_conn, on_server_read, NULL), MIRC_OK);
}

static void on_client_read(mirc_tcp *t, mirc_status st, const void *data, size_t len, void *ctx)
{
    (void)ctx;
    if (st != MIRC_OK) {
        client_end = st;
        mirc_tcp_close(t, on_closed, NULL);
        return;
    }
    cr_assert_leq(echoed_len + len, sizeof echoed);
    memcpy(echoed + echoed_len, data, len);
    echoed_len += len;
}

static void on_client_written(mirc_tcp_write_req *r, mirc_status st, void *ctx)
{
    (void)r;
    (void)ctx;
    cr_assert_eq(st, MIRC_OK);
    cr_assert_eq(mirc_tcp_shutdown(&client), MIRC_OK);
}

static void on_connect(mirc_tcp *t, mirc_status st, void *ctx)
{
    (void)ctx;
    connect_status = st;
    if (st != MIRC_OK)
        return;
    mirc_tcp_read_start(t, on_client_read, NULL);
    cr_assert_eq(mirc_tcp_write(t, &wreq, sent, sizeof sent, on_client_written, NULL), MIRC_OK);
}

Test(socket, echo_through_a_published_port_then_the_loop_ends_with_the_last_handle)
{
    mirc_ipaddr local, lo = { .family = MIRC_IPV4, .bytes = { 127, 0, 0, 1 } };
    uint16_t port;
    for (size_t i = 0; i < sizeof sent; i++)
        sent[i] = (uint8_t)(i * 7 + i / 251);
    cr_assert_eq(mirc_tcp_listen(&listener, NULL, 80, 16, on_accept, NULL), MIRC_OK);
    cr_assert_eq(mirc_tcp_local(&listener, &local, &port), MIRC_OK);
    cr_assert_eq(port, 80, "the app sees its own port, not the host's");
    mirc_tcp second;
    cr_assert_eq(mirc_tcp_listen(&second, NULL, 80, 16, on_accept, NULL), MIRC_BUSY);
    cr_assert_eq(mirc_tcp_connect(&client, &lo, 47480, on_connect, NULL), MIRC_OK);
    cr_assert_eq(connect_status, MIRC_STATUS_COUNT, "connect called back from inside the call");
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(connect_status, MIRC_OK);
    cr_assert_eq(client_end, MIRC_CLOSED);
    cr_assert_eq(closes, 3);
    cr_assert_eq(echoed_len, sizeof sent);
    cr_assert_arr_eq(echoed, sent, sizeof sent);
    mirc_tcpip_stats s;
    mirc_tcpip_stats_get(&s);
    cr_assert_eq(s.tcp_accepted, 1);
    cr_assert_eq(s.tcp_connected, 1);
    cr_assert_eq(s.tcp_open, 0);
    cr_assert_eq(s.bytes_in, 2 * sizeof sent);
}

Test(socket, a_closed_port_refuses)
{
    mirc_ipaddr lo = { .family = MIRC_IPV4, .bytes = { 127, 0, 0, 1 } };
    cr_assert_eq(mirc_tcp_connect(&client, &lo, 47481, on_connect, NULL), MIRC_OK);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(connect_status, MIRC_REFUSED);
}

static mirc_udp ua, ub;
static int udp_replies;

static void on_b(mirc_udp *u, const void *data, size_t len, const mirc_ipaddr *from, uint16_t port,
                 void *ctx)
{
    (void)ctx;
    cr_assert_eq(mirc_udp_send(u, from, port, data, len), MIRC_OK);
}

static void on_a(mirc_udp *u, const void *data, size_t len, const mirc_ipaddr *from, uint16_t port,
                 void *ctx)
{
    (void)u;
    (void)from;
    (void)port;
    (void)ctx;
    cr_assert_eq(len, 5);
    cr_assert_arr_eq(data, "hello", 5);
    udp_replies++;
    mirc_udp_close(&ua);
    mirc_udp_close(&ub);
}

Test(socket, udp_round_trip_on_loopback)
{
    mirc_ipaddr lo = { .family = MIRC_IPV4, .bytes = { 127, 0, 0, 1 } }, a;
    uint16_t pb;
    cr_assert_eq(mirc_udp_open(&ua, NULL, 0, on_a, NULL), MIRC_OK);
    cr_assert_eq(mirc_udp_open(&ub, NULL, 0, on_b, NULL), MIRC_OK);
    cr_assert_eq(mirc_udp_local(&ub, &a, &pb), MIRC_OK);
    cr_assert_neq(pb, 0);
    cr_assert_eq(mirc_udp_send(&ua, &lo, pb, "hello", 5), MIRC_OK);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(udp_replies, 1);
}

static mirc_dns dns;
static mirc_status dns_status = MIRC_STATUS_COUNT;
static mirc_ipaddr dns_addr;

static void on_resolved(mirc_dns *req, mirc_status st, const mirc_ipaddr *addr, void *ctx)
{
    (void)req;
    (void)ctx;
    dns_status = st;
    if (addr)
        dns_addr = *addr;
}

Test(socket, names_resolve_with_the_hosts_resolver)
{
    cr_assert_eq(mirc_dns_resolve(&dns, "localhost", MIRC_IPV4, on_resolved, NULL), MIRC_OK);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(dns_status, MIRC_OK);
    cr_assert_arr_eq(dns_addr.bytes, ((uint8_t[]){ 127, 0, 0, 1 }), 4);
    cr_assert_eq(mirc_dns_resolve(&dns, "no-such-host.invalid", 0, on_resolved, NULL), MIRC_OK);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(dns_status, MIRC_NOT_FOUND);
}
