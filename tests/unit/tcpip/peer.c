/* tests/unit/tcpip/peer.c: the scripted peer (see peer.h). */
#include "peer.h"

#include <criterion/criterion.h>
#include <string.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"
#include "rt.h"

const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 0xaa }, peer_ip[4] = { 10, 0, 0, 1 };
const uint8_t stack_mac[6] = { 2, 0, 0, 0, 0, 1 }, stack_ip[4] = { 10, 0, 0, 2 };

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

uint16_t peer_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (; len > 1; p += 2, len -= 2)
        sum += get16(p);
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, peer_mac, 6);
    put16(f + 12, type);
    return 14;
}

size_t peer_arp_request(uint8_t *f, const uint8_t target_ip[4])
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    size_t n = eth(f, bcast, 0x0806);
    uint8_t *a = f + n;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, peer_mac, 6);
    memcpy(a + 14, peer_ip, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, target_ip, 4);
    return n + 28;
}

size_t peer_ipv4(uint8_t *f, uint8_t proto, const uint8_t *payload, size_t len)
{
    size_t n = eth(f, stack_mac, 0x0800);
    uint8_t *ip = f + n;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + len));
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, stack_ip, 4);
    put16(ip + 10, peer_csum(ip, 20, 0));
    memcpy(ip + 20, payload, len);
    return n + 20 + len;
}

size_t peer_ipv4_fragment(uint8_t *f, uint8_t proto, uint16_t id, size_t offset, int more,
                          const uint8_t *payload, size_t len)
{
    size_t n = peer_ipv4(f, proto, payload, len);
    uint8_t *ip = f + 14;
    put16(ip + 4, id);
    put16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | (offset / 8)));
    put16(ip + 10, 0);
    put16(ip + 10, peer_csum(ip, 20, 0));
    return n;
}

size_t peer_icmp_echo(uint8_t *f, uint16_t id, uint16_t seq, const uint8_t *data, size_t len)
{
    uint8_t m[1500];
    m[0] = 8;
    m[1] = 0;
    put16(m + 2, 0);
    put16(m + 4, id);
    put16(m + 6, seq);
    memcpy(m + 8, data, len);
    put16(m + 2, peer_csum(m, 8 + len, 0));
    return peer_ipv4(f, 1, m, 8 + len);
}

/* The TCP/UDP pseudo-header sum for the peer -> stack direction. */
static uint32_t pseudo(uint8_t proto, size_t len)
{
    uint32_t s = 0;
    s += get16(peer_ip) + get16(peer_ip + 2) + get16(stack_ip) + get16(stack_ip + 2);
    return s + proto + (uint32_t)len;
}

size_t peer_udp(uint8_t *f, uint16_t sport, uint16_t dport, const uint8_t *data, size_t len)
{
    uint8_t u[1500];
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(8 + len));
    put16(u + 6, 0);
    memcpy(u + 8, data, len);
    put16(u + 6, peer_csum(u, 8 + len, pseudo(17, 8 + len)));
    return peer_ipv4(f, 17, u, 8 + len);
}

size_t peer_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                uint8_t flags, uint16_t wnd, int with_options, const uint8_t *data, size_t len)
{
    uint8_t t[1600];
    size_t hl = with_options ? 28 : 20;
    memset(t, 0, hl);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = flags;
    put16(t + 14, wnd);
    if (with_options) { /* MSS 1460, NOP, window scale 7 */
        t[20] = 2;
        t[21] = 4;
        put16(t + 22, 1460);
        t[24] = 1;
        t[25] = 3;
        t[26] = 3;
        t[27] = 7;
    }
    if (len)
        memcpy(t + hl, data, len);
    put16(t + 16, peer_csum(t, hl + len, pseudo(6, hl + len)));
    return peer_ipv4(f, 6, t, hl + len);
}

void peer_send(const uint8_t *f, size_t len)
{
    fake_rx(0, f, len);
}

static void stop_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    mirc_loop_stop();
}

void run_for(uint64_t ms)
{
    mirc_timer t;
    mirc_timer_init(&t, stop_cb, NULL);
    mirc_timer_start(&t, ms * MIRC_NS_PER_MS, 0);
    mirc_loop_run();
    mirc_timer_stop(&t);
}

static int tx_next; /* first net0 TX frame not yet taken */

void peer_flush(void)
{
    fake.nets[0].tx_count = 0;
    tx_next = 0;
}

static const uint8_t *next_frame(size_t *len)
{
    struct fake_net *n = &fake.nets[0];
    if (tx_next >= n->tx_count) {
        peer_flush();
        return NULL;
    }
    *len = n->tx[tx_next].len;
    return n->tx[tx_next++].data;
}

size_t peer_take(uint16_t etype, int proto, uint8_t *out)
{
    size_t len;
    const uint8_t *f;
    while ((f = next_frame(&len))) {
        if (len < 14 || get16(f + 12) != etype)
            continue;
        if (etype == 0x0800 && proto >= 0 && (len < 34 || f[23] != proto))
            continue;
        memcpy(out, f, len);
        return len;
    }
    return 0;
}

int peer_take_tcp(struct seg *s)
{
    size_t len = peer_take(0x0800, 6, s->frame);
    if (!len)
        return 0;
    const uint8_t *ip = s->frame + 14, *t = ip + 20;
    cr_assert_eq(peer_csum(ip, 20, 0), 0, "bad IPv4 header checksum from the stack");
    size_t tlen = get16(ip + 2) - 20;
    uint32_t ps =
        get16(ip + 12) + get16(ip + 14) + get16(ip + 16) + get16(ip + 18) + 6 + (uint32_t)tlen;
    cr_assert_eq(peer_csum(t, tlen, ps), 0, "bad TCP checksum from the stack");
    size_t hl = (size_t)(t[12] >> 4) * 4;
    s->sport = get16(t);
    s->dport = get16(t + 2);
    s->seq = get32(t + 4);
    s->ack = get32(t + 8);
    s->flags = t[13];
    s->wnd = get16(t + 14);
    s->mss = s->wscale = -1;
    for (size_t o = 20; o < hl;) {
        uint8_t kind = t[o];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        if (kind == 2)
            s->mss = get16(t + o + 2);
        if (kind == 3)
            s->wscale = t[o + 2];
        o += t[o + 1] ? t[o + 1] : 1;
    }
    s->data = t + hl;
    s->len = tlen - hl;
    return 1;
}

void peer_boot(const char *const *opts, int nopts)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "test";
    for (int i = 0; i < nopts && argc < 15; i++)
        argv[argc++] = (char *)opts[i];
    argv[argc] = NULL;
    fake_reset();
    fake_attach_net(0, (const char *)stack_mac, 1500);
    fake_attach_net(1, "\x02\x00\x00\x00\x00\x02", 1500);
    fake_attach_disk(0, 64 * 1024, 512, 0);
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK);
    cr_assert_eq(mirc_tcpip_init(&argc, argv), MIRC_OK, "%.*s", (int)fake.console_len,
                 fake.console);
    tx_next = 0;
    /* introduce the peer: lwIP learns its MAC from the ARP request */
    uint8_t f[64];
    peer_send(f, peer_arp_request(f, stack_ip));
    run_for(1);
}
