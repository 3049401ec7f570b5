/* lwIP's memory budget (libs/tcpip/src/lwip_mem.c) against hostile peers: grants, the control
 * reserve, half-open eviction and admission, each with a small --tcpip-memory. */
#include <criterion/criterion.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/stats.h"
#include "lwip_int.h"
#include "mirc/mirc.h"
#include "mirc/tcpip.h"
#include "peer.h"
#include "rt.h"

static uint8_t f[2048];
static mirc_tcp listener, conns[64];
static int nconns, reading;
static size_t got;
static int resets;

static void on_read(mirc_tcp *t, mirc_status st, const void *data, size_t len, void *ctx)
{
    (void)t;
    (void)data;
    (void)ctx;
    if (st == MIRC_OK)
        got += len;
    else if (st == MIRC_RESET)
        resets++;
}

static void on_accept(mirc_tcp *l, void *ctx)
{
    (void)ctx;
    cr_assert_lt(nconns, 64);
    cr_assert_eq(mirc_tcp_accept(l, &conns[nconns]), MIRC_OK);
    if (reading)
        mirc_tcp_read_start(&conns[nconns], on_read, NULL);
    nconns++; /* otherwise never read: whatever arrives is held */
}

static void boot_with(const char *memory)
{
    const char *opts[] = { "--ipv4=10.0.0.2/24", memory };
    peer_boot(opts, 2);
    cr_assert_eq(mirc_tcp_listen(&listener, NULL, 80, 64, on_accept, NULL), MIRC_OK);
}

static mirc_tcpip_stats stats(void)
{
    mirc_tcpip_stats s;
    mirc_tcpip_stats_get(&s);
    return s;
}

/* The stack's SYN-ACK to the peer's port sport, or 0 (and *theirs unset). */
static int synack_for(uint16_t sport, uint32_t *theirs)
{
    struct seg s;
    while (peer_take_tcp(&s))
        if (s.dport == sport && s.flags == (P_SYN | P_ACK)) {
            *theirs = s.seq + 1;
            return 1;
        }
    return 0;
}

/* A handshake from the peer's port sport; the stack's next sequence number in *theirs. */
static int connect_from(uint16_t sport, uint32_t iss, uint32_t *theirs)
{
    peer_flush();
    peer_send(f, peer_tcp(f, sport, 80, iss, 0, P_SYN, 65535, 1, NULL, 0));
    run_for(1);
    if (!synack_for(sport, theirs))
        return 0;
    peer_send(f, peer_tcp(f, sport, 80, iss + 1, *theirs, P_ACK, 65535, 0, NULL, 0));
    run_for(1);
    return 1;
}

/* The window the stack advertised last to port sport (scaled), or -1. */
static long last_window(uint16_t sport)
{
    struct seg s;
    long w = -1;
    while (peer_take_tcp(&s))
        if (s.dport == sport && !(s.flags & P_SYN))
            w = (long)s.wnd << 3;
    return w;
}

TestSuite(budget);

Test(budget, a_peer_that_is_never_read_holds_its_window_and_no_more)
{
    uint8_t data[1000];
    uint32_t theirs, seq = 5000;
    boot_with("--tcpip-memory=2M");
    cr_assert(connect_from(41000, seq, &theirs));
    seq++;
    cr_assert_eq(nconns, 1);
    memset(data, 'x', sizeof data);
    /* the peer ignores the window: 400 KB in full segments, 32 at a time */
    for (int k = 0; k < 400; k++) {
        peer_send(f, peer_tcp(f, 41000, 80, seq, theirs, P_ACK, 65535, 0, data, sizeof data));
        seq += sizeof data;
        if (k % 32 == 31)
            run_for(1);
    }
    run_for(300);
    mirc_tcpip_stats s = stats();
    cr_assert_gt(s.mem_rx, 4000, "nothing held (%llu)", (unsigned long long)s.mem_rx);
    cr_assert_leq(s.mem_rx, 64 * 1024, "a non-reader holds %llu bytes of received data",
                  (unsigned long long)s.mem_rx);
    cr_assert_eq(last_window(41000), 0, "the window did not close");
}

Test(budget, one_byte_segments_cost_about_their_bytes_not_a_buffer_each)
{
    uint32_t theirs, seq = 7000;
    boot_with("--tcpip-memory=2M");
    cr_assert(connect_from(41001, seq, &theirs));
    seq++;
    size_t before = stats().mem_rx;
    for (int k = 0; k < 20000; k++) {
        peer_send(f, peer_tcp(f, 41001, 80, seq, theirs, P_ACK, 65535, 0, (const uint8_t *)"z", 1));
        seq++;
        if (k % 32 == 31) {
            run_for(1);
            peer_flush();
        }
    }
    run_for(300);
    mirc_tcpip_stats s = stats();
    cr_assert_eq(s.frames_shed, 0, "data frames were shed: the receive share filled up");
    cr_assert_leq(s.mem_rx - before, 64 * 1024, "20,000 one-byte segments hold %llu bytes",
                  (unsigned long long)(s.mem_rx - before));
    /* and every byte is there when the app reads */
    got = 0;
    cr_assert_eq(mirc_tcp_read_start(&conns[0], on_read, NULL), MIRC_OK);
    run_for(1);
    cr_assert_geq(got, 5000, "only %zu bytes delivered", got);
}

Test(budget, half_open_connections_are_bounded_and_a_real_client_still_connects)
{
    boot_with("--tcpip-memory=4M");
    for (int k = 0; k < 1000; k++) {
        peer_send(f, peer_tcp(f, (uint16_t)(20000 + k), 80, (uint32_t)k * 7919u, 0, P_SYN, 65535, 1,
                              NULL, 0));
        if (k % 32 == 31) {
            run_for(1);
            peer_flush();
        }
    }
    run_for(1);
    mirc_tcpip_stats s = stats();
    cr_assert_leq(s.tcp_half_open, 200, "%llu half-open connections",
                  (unsigned long long)s.tcp_half_open);
    cr_assert_geq(s.tcp_half_open_evicted, 800, "%llu evicted",
                  (unsigned long long)s.tcp_half_open_evicted);
    uint32_t theirs;
    cr_assert(connect_from(42000, 99, &theirs), "no SYN-ACK for a real client");
    cr_assert_eq(nconns, 1, "the real client was not accepted");
}

Test(budget, when_grants_are_committed_new_connections_are_refused_and_a_reset_frees_one)
{
    uint32_t theirs[64];
    int n = 0;
    boot_with("--tcpip-memory=512K");
    /* a connection the budget cannot take completes its handshake and is reset at once */
    while (n < 64 && connect_from((uint16_t)(43000 + n), 1000u * (uint32_t)n, &theirs[n]) &&
           nconns == n + 1)
        n++;
    cr_assert_gt(n, 4, "only %d connections fit in 512K", n);
    cr_assert_lt(n, 64, "admission never refused");
    cr_assert_gt(stats().tcp_refused, 0);
    /* the peer resets its first connection: its grants come back */
    peer_send(f, peer_tcp(f, 43000, 80, 1000u * 0 + 1, theirs[0], P_RST | P_ACK, 0, 0, NULL, 0));
    run_for(1);
    uint32_t t;
    cr_assert(connect_from(44000, 1, &t));
    cr_assert_eq(nconns, n + 1, "a reset connection's memory was not given back");
}

/*
 * Grants keep the receive share from filling (the tests above), so to see what happens when it
 * is full anyway the test lowers its limit to what is in use.
 */
Test(budget, a_full_receive_share_sheds_data_but_takes_acks_resets_and_pings)
{
    uint8_t out[2048];
    uint32_t theirs[2];
    boot_with("--tcpip-memory=2M");
    reading = 1;
    for (int c = 0; c < 2; c++)
        cr_assert(connect_from((uint16_t)(45000 + c), 1000, &theirs[c]));
    lw_mem[LW_MEM_RX].limit = lw_mem[LW_MEM_RX].used;
    peer_flush();
    peer_send(f,
              peer_tcp(f, 45000, 80, 1001, theirs[0], P_ACK, 65535, 0, (const uint8_t *)"data", 4));
    run_for(1);
    cr_assert_eq(got, 0, "data got in with the receive share full");
    cr_assert_eq(stats().frames_shed, 1);
    peer_send(f, peer_icmp_echo(f, 9, 1, (const uint8_t *)"still", 5));
    run_for(1);
    cr_assert_neq(peer_take(0x0800, 1, out), 0, "no echo reply with the receive share full");
    peer_send(f, peer_tcp(f, 45001, 80, 1001, theirs[1], P_RST | P_ACK, 0, 0, NULL, 0));
    run_for(1);
    cr_assert_eq(resets, 1, "the RST was not taken");
    lw_mem[LW_MEM_RX].limit = 1 << 20; /* room again: the data comes in when sent again */
    peer_send(f,
              peer_tcp(f, 45000, 80, 1001, theirs[0], P_ACK, 65535, 0, (const uint8_t *)"data", 4));
    run_for(1);
    cr_assert_eq(got, 4);
}

static mirc_tcp_write_req wreq;
static uint8_t big[1 << 20];

static void on_written(mirc_tcp_write_req *req, mirc_status st, void *ctx)
{
    (void)req;
    (void)st;
    (void)ctx;
}

Test(budget, a_peer_that_never_acknowledges_holds_its_send_buffer_and_no_more)
{
    uint32_t theirs;
    boot_with("--tcpip-memory=2M");
    cr_assert(connect_from(46000, 1, &theirs));
    cr_assert_eq(mirc_tcp_write(&conns[0], &wreq, big, sizeof big, on_written, NULL), MIRC_OK);
    run_for(2000); /* retransmissions, never acknowledged */
    mirc_tcpip_stats s = stats();
    cr_assert_leq(s.mem_tx, 200 * 1024, "%llu bytes of unacknowledged data",
                  (unsigned long long)s.mem_tx);
    cr_assert_gt(mirc_tcp_write_queue_size(&conns[0]), sizeof big - 200 * 1024);
}
