/* examples/netif: answers ARP and ICMP echo itself on a raw NIC, the proof that NET works
 * before any TCP/IP stack. Every frame is checked; malformed ones are dropped and counted.
 *
 *   --ipv4=A.B.C.D[/N]   the address to answer for (default in mirc.toml)
 *   --nic=NAME           the NIC (default service0)
 *   --exit-after=N       exit 0 after answering N echo requests (0: run forever)
 *   --verbose            print each reply
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

struct responder {
    mirc_net *nic;
    mirc_net_info info;
    uint8_t ip[4];
    uint64_t arp_replies, echo_replies, dropped, exit_after;
    int verbose;
    uint8_t frame[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN];
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (; len > 1; p += 2, len -= 2)
        sum += get16(p);
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void send_frame(struct responder *r, size_t len)
{
    mirc_status s = mirc_net_write(r->nic, r->frame, len);
    if (s != MIRC_OK)
        printf("netif: send failed: %s\n", mirc_status_str(s));
}

/* ARP request for our address -> reply. Returns 0 if the frame was not one. */
static int arp(struct responder *r, size_t len)
{
    uint8_t *a = r->frame + 14;
    if (len < 14 + 28 || get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
        return 0;
    if (get16(a + 6) != 1 || memcmp(a + 24, r->ip, 4) != 0)
        return 1;               /* a valid ARP frame, just not a request for us */
    memcpy(r->frame, a + 8, 6); /* to the sender */
    memcpy(r->frame + 6, r->info.mac, 6);
    put16(a + 6, 2);               /* reply */
    memcpy(a + 18, a + 8, 10);     /* target = old sender (MAC + IP) */
    memcpy(a + 8, r->info.mac, 6); /* sender = us */
    memcpy(a + 14, r->ip, 4);
    send_frame(r, 14 + 28);
    r->arp_replies++;
    return 1;
}

/* ICMP echo request to our address -> reply. Returns 0 if malformed. */
static int icmp(struct responder *r, size_t len)
{
    uint8_t *ip = r->frame + 14;
    if (len < 14 + 20 || (ip[0] >> 4) != 4)
        return 0;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = get16(ip + 2);
    if (ihl < 20 || total < ihl + 8 || 14 + total > len || csum(ip, ihl) != 0)
        return 0;
    if (get16(ip + 6) & 0x3fff) /* a fragment: we do not reassemble */
        return 0;
    if (memcmp(ip + 16, r->ip, 4) != 0 || ip[9] != 1)
        return 1; /* not for us, or not ICMP: fine, ignore */
    uint8_t *ic = ip + ihl;
    size_t iclen = total - ihl;
    if (csum(ic, iclen) != 0)
        return 0;
    if (ic[0] != 8)
        return 1;
    memcpy(r->frame, r->frame + 6, 6);
    memcpy(r->frame + 6, r->info.mac, 6);
    memcpy(ip + 16, ip + 12, 4);
    memcpy(ip + 12, r->ip, 4);
    ip[8] = 64;
    put16(ip + 10, 0);
    put16(ip + 10, csum(ip, ihl));
    ic[0] = 0;
    put16(ic + 2, 0);
    put16(ic + 2, csum(ic, iclen));
    send_frame(r, 14 + total);
    r->echo_replies++;
    if (r->verbose)
        printf("netif: echo reply seq %u, %zu bytes\n", get16(ic + 6), iclen - 8);
    return 1;
}

static void report(struct responder *r)
{
    mirc_net_stats st;
    mirc_net_stats_get(r->nic, &st);
    printf("netif: %" PRIu64 " ARP replies, %" PRIu64 " echo replies, %" PRIu64
           " malformed frames dropped; rx %" PRIu64 " frames, tx %" PRIu64 " frames\n",
           r->arp_replies, r->echo_replies, r->dropped + st.rx_dropped, st.rx_packets,
           st.tx_packets);
}

static void on_frames(mirc_net *nic, void *ctx)
{
    struct responder *r = ctx;
    size_t len;
    mirc_status s;

    while ((s = mirc_net_read(nic, r->frame, sizeof r->frame, &len)) != MIRC_AGAIN) {
        if (s != MIRC_OK)
            continue; /* too big or an I/O error: counted by the runtime */
        int ok = 1;
        uint16_t type = get16(r->frame + 12);
        int to_us = memcmp(r->frame, r->info.mac, 6) == 0 || (r->frame[0] & 1);
        if (!to_us)
            continue;
        if (type == 0x0806)
            ok = arp(r, len);
        else if (type == 0x0800)
            ok = icmp(r, len);
        if (!ok)
            r->dropped++;
        if (r->exit_after && r->echo_replies >= r->exit_after) {
            report(r);
            mirc_loop_stop();
            return;
        }
    }
}

static int parse_ipv4(const char *s, uint8_t ip[4])
{
    unsigned a, b, c, d, n = 32;
    char end = 0;
    int k = sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &n, &end);
    if ((k != 4 && k != 5) || a > 255 || b > 255 || c > 255 || d > 255 || n > 32)
        return -1;
    ip[0] = (uint8_t)a, ip[1] = (uint8_t)b, ip[2] = (uint8_t)c, ip[3] = (uint8_t)d;
    return 0;
}

int mirc_main(int argc, char **argv)
{
    static struct responder r;
    const char *nic = "service0", *addr = NULL;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--ipv4=", 7) == 0)
            addr = argv[i] + 7;
        else if (strncmp(argv[i], "--nic=", 6) == 0)
            nic = argv[i] + 6;
        else if (strncmp(argv[i], "--exit-after=", 13) == 0)
            r.exit_after = strtoull(argv[i] + 13, NULL, 10);
        else if (strcmp(argv[i], "--verbose") == 0)
            r.verbose = 1;
    }
    if (!addr || parse_ipv4(addr, r.ip) < 0) {
        printf("netif: give the address to answer for, e.g. --ipv4=10.0.0.2/24\n");
        return 2;
    }
    mirc_status s = mirc_net_acquire(nic, &r.nic);
    if (s != MIRC_OK) {
        printf("netif: no NIC '%s': %s\n", nic, mirc_status_str(s));
        return 2;
    }
    mirc_net_info_get(r.nic, &r.info);
    printf("netif: %s is %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, answering ARP and ping for "
           "%u.%u.%u.%u\n",
           nic, r.info.mac[0], r.info.mac[1], r.info.mac[2], r.info.mac[3], r.info.mac[4],
           r.info.mac[5], r.info.mtu, r.ip[0], r.ip[1], r.ip[2], r.ip[3]);
    fflush(stdout);
    mirc_net_on_ready(r.nic, on_frames, &r);
    mirc_loop_run();
    return 0;
}
