/* fuzz/fuzz_netif.c: the libFuzzer target: arbitrary frames into the netif input path. */
#include "fuzz_netif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_int.h"
#include "mirc/mirc.h"
#include "mirc/tcpip.h"
#include "rt.h"

#define CONNS 32

static mirc_tcp listener;
static mirc_udp udp;
static struct {
    mirc_tcp tcp;
    int used;
} conns[CONNS];
static int booted;
static uint16_t alive_seq;

static void on_closed(mirc_tcp *tcp, void *ctx)
{
    (void)tcp;
    ((int *)ctx)[0] = 0;
}

static void on_read(mirc_tcp *tcp, mirc_status st, const void *data, size_t len, void *ctx)
{
    size_t n;
    if (st != MIRC_OK) {
        mirc_tcp_close(tcp, on_closed, ctx);
        return;
    }
    mirc_tcp_try_write(tcp, data, len, &n); /* what does not fit is dropped: this is a fuzzer */
}

static void on_accept(mirc_tcp *l, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < CONNS; i++) {
        if (conns[i].used)
            continue;
        if (mirc_tcp_accept(l, &conns[i].tcp) == MIRC_OK) {
            conns[i].used = 1;
            mirc_tcp_read_start(&conns[i].tcp, on_read, &conns[i].used);
        }
        return;
    }
}

static void on_datagram(mirc_udp *u, const void *data, size_t len, const mirc_ipaddr *from,
                        uint16_t port, void *ctx)
{
    (void)ctx;
    mirc_udp_send(u, from, port, data, len);
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

void fuzz_boot(void)
{
    static char *argv[] = { "fuzz", "--ipv4=10.0.0.2/24", "--ipv6=fd00::2/64", NULL };
    int argc = 3;
    if (booted)
        return;
    booted = 1;
    fuzz_plat.now = 1000000000ull;
    fuzz_plat.rng = 0x9e3779b97f4a7c15ull;
    if (mirc_rt_devices_open() != MIRC_OK || mirc_tcpip_init(&argc, argv) != MIRC_OK)
        fail("cannot start the stack");
    if (mirc_tcp_listen(&listener, NULL, 7, 16, on_accept, NULL) != MIRC_OK ||
        mirc_udp_open(&udp, NULL, 7, on_datagram, NULL) != MIRC_OK)
        fail("cannot open port 7");
}

static void stop_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    mirc_loop_stop();
}

static void run_for(unsigned ms)
{
    mirc_timer t;
    mirc_timer_init(&t, stop_cb, NULL);
    mirc_timer_start(&t, (uint64_t)ms * MIRC_NS_PER_MS + 1, 0);
    mirc_loop_run();
    mirc_timer_stop(&t);
}

void fuzz_frame(const uint8_t *frame, size_t len, unsigned ms)
{
    fuzz_boot();
    if (len > sizeof fuzz_plat.rx)
        len = sizeof fuzz_plat.rx;
    memcpy(fuzz_plat.rx, frame, len);
    fuzz_plat.rx_len = len;
    fuzz_plat.rx_pending = 1;
    run_for(ms);
}

uint64_t fuzz_frames_out(void)
{
    return fuzz_plat.ntx;
}

static uint16_t sum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int fuzz_alive(void)
{
    static const uint8_t guest_mac[6] = { 2, 0, 0, 0, 0, 2 }, peer_mac[6] = { 2, 0, 0, 0, 0, 1 };
    static const uint8_t guest_ip[4] = { 10, 0, 0, 2 }, peer_ip[4] = { 10, 0, 0, 1 };
    uint8_t f[98];
    /* an ARP request from the peer first: whatever the fuzzer did to the peer's entry */
    memset(f, 0xff, 6);
    memcpy(f + 6, peer_mac, 6);
    memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
    memcpy(f + 22, peer_mac, 6);
    memcpy(f + 28, peer_ip, 4);
    memset(f + 32, 0, 6);
    memcpy(f + 38, guest_ip, 4);
    fuzz_frame(f, 42, 1);
    /* then an echo request */
    uint16_t seq = ++alive_seq;
    memcpy(f, guest_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14, *icmp = ip + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[3] = 84;
    ip[8] = 64;
    ip[9] = 1;
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, guest_ip, 4);
    uint16_t s = sum16(ip, 20);
    ip[10] = (uint8_t)(s >> 8);
    ip[11] = (uint8_t)s;
    memset(icmp, 0, 64);
    icmp[0] = 8;
    icmp[4] = 0x4d;
    icmp[5] = 0x49;
    icmp[6] = (uint8_t)(seq >> 8);
    icmp[7] = (uint8_t)seq;
    memcpy(icmp + 8, "fuzz-alive", 10);
    s = sum16(icmp, 64);
    icmp[2] = (uint8_t)(s >> 8);
    icmp[3] = (uint8_t)s;
    uint64_t before = fuzz_plat.ntx;
    fuzz_frame(f, sizeof f, 1);
    for (uint64_t k = before; k < fuzz_plat.ntx; k++) {
        const struct fuzz_tx *t = &fuzz_plat.tx[k % FUZZ_TX];
        if (t->len >= 42 + 10 && t->data[12] == 0x08 && t->data[13] == 0 && t->data[23] == 1 &&
            t->data[34] == 0 && t->data[40] == (uint8_t)(seq >> 8) && t->data[41] == (uint8_t)seq &&
            memcmp(t->data + 42, "fuzz-alive", 10) == 0)
            return 1;
    }
    return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t runs;
    /* now and then a long pause, so reassembly and retransmission timers fire */
    fuzz_frame(data, size, ++runs % 64 == 0 ? 1500 : 1);
    if (runs % 256 == 0 && !fuzz_alive())
        fail("the stack stopped answering ICMP echo");
    return 0;
}
#endif
