/* libs/tcpip/src/lwip_stack.c: addresses, UDP, ping and DNS on lwIP's raw API, and the ops table.
 */
#include <string.h>

#include "lwip/dns.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/ip6.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/icmp6.h"
#include "lwip/raw.h"
#include "lwip/udp.h"
#include "lwip_int.h"

/* Addresses */

void lw_to_ip(const mirc_ipaddr *in, ip_addr_t *out)
{
    if (!in || in->family == 0) {
        ip_addr_copy(*out, *IP_ANY_TYPE);
    } else if (in->family == MIRC_IPV4) {
        IP_ADDR4(out, in->bytes[0], in->bytes[1], in->bytes[2], in->bytes[3]);
    } else {
        ip6_addr_t *a = ip_2_ip6(out);
        IP_SET_TYPE(out, IPADDR_TYPE_V6);
        memcpy(a->addr, in->bytes, 16);
        ip6_addr_clear_zone(a);
        if (ip6_addr_has_scope(a, IP6_UNKNOWN)) {
            /* a scoped address without a zone means the first NIC */
            u8_t zone = (u8_t)(in->zone ? in->zone : 1);
            ip6_addr_set_zone(a, zone);
        }
    }
}

void lw_from_ip(const ip_addr_t *in, mirc_ipaddr *out)
{
    memset(out, 0, sizeof *out);
    if (IP_IS_V4(in)) {
        out->family = MIRC_IPV4;
        memcpy(out->bytes, &ip_2_ip4(in)->addr, 4);
    } else if (IP_IS_V6(in)) {
        out->family = MIRC_IPV6;
        memcpy(out->bytes, ip_2_ip6(in)->addr, 16);
        out->zone = ip6_addr_zone(ip_2_ip6(in));
    }
}

mirc_status lw_status(err_t e)
{
    switch (e) {
    case ERR_OK:
        return MIRC_OK;
    case ERR_MEM:
    case ERR_BUF:
        return MIRC_NO_MEMORY;
    case ERR_RTE:
        return MIRC_UNREACHABLE;
    case ERR_USE:
    case ERR_ISCONN:
    case ERR_ALREADY:
    case ERR_INPROGRESS:
        return MIRC_BUSY;
    case ERR_TIMEOUT:
        return MIRC_TIMED_OUT;
    case ERR_RST:
        return MIRC_RESET;
    case ERR_CLSD:
    case ERR_CONN:
        return MIRC_CLOSED;
    case ERR_ABRT:
        return MIRC_TIMED_OUT; /* lwIP gave up: retransmissions or keepalives unanswered */
    case ERR_VAL:
    case ERR_ARG:
        return MIRC_INVALID;
    default:
        return MIRC_IO;
    }
}

/* UDP */

static uint8_t udp_bounce[65536];

static void lw_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    mirc_udp *udp = arg;
    (void)pcb;
    if (udp && udp->cb) {
        const void *data = p->payload;
        if (p->next) { /* a reassembled datagram: make it contiguous */
            pbuf_copy_partial(p, udp_bounce, p->tot_len, 0);
            data = udp_bounce;
        }
        mirc_ipaddr from;
        lw_from_ip(addr, &from);
        udp->cb(udp, data, p->tot_len, &from, port, udp->ctx);
    }
    pbuf_free(p);
}

static mirc_status lw_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port)
{
    ip_addr_t a;
    lw_to_ip(addr, &a);
    struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
    if (!pcb)
        return MIRC_NO_MEMORY;
    ip_set_option(pcb, SOF_BROADCAST);
    err_t e = udp_bind(pcb, &a, port);
    if (e != ERR_OK) {
        udp_remove(pcb);
        return e == ERR_USE ? MIRC_BUSY : lw_status(e);
    }
    udp_recv(pcb, lw_udp_recv, udp);
    udp->impl = pcb;
    return MIRC_OK;
}

static mirc_status lw_udp_send(mirc_udp *udp, const mirc_ipaddr *to, uint16_t port, const void *buf,
                               size_t len)
{
    ip_addr_t a;
    lw_to_ip(to, &a);
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (!p)
        return MIRC_NO_MEMORY;
    if (len)
        memcpy(p->payload, buf, len);
    err_t e = udp_sendto(udp->impl, p, &a, port);
    pbuf_free(p);
    lw_rearm();
    return lw_status(e);
}

static mirc_status lw_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port)
{
    struct udp_pcb *pcb = udp->impl;
    lw_from_ip(&pcb->local_ip, addr);
    *port = pcb->local_port;
    return MIRC_OK;
}

static void lw_udp_close(mirc_udp *udp)
{
    udp_remove(udp->impl);
    udp->impl = NULL;
}

/* Ping: raw pcbs see every ICMP/ICMPv6 packet; ours are echo replies with our identifier */

/* The ICMP checksum over msg (ICMPv6: with the pseudo-header from the IPv6 header ip6); 0 if good.
 */
static uint16_t icmp_sum(const uint8_t *ip6, const uint8_t *msg, size_t len)
{
    uint32_t sum = 0;
    if (ip6) {
        for (int k = 8; k < 40; k += 2) /* source and destination */
            sum += (uint32_t)(ip6[k] << 8 | ip6[k + 1]);
        sum += (uint32_t)len + IP6_NEXTH_ICMP6;
    }
    for (size_t k = 0; k + 1 < len; k += 2)
        sum += (uint32_t)(msg[k] << 8 | msg[k + 1]);
    if (len & 1)
        sum += (uint32_t)msg[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static u8_t lw_ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    mirc_ping *ping = arg;
    static uint8_t pkt[1500 + 60];
    (void)pcb;
    if (!ping || p->tot_len > sizeof pkt)
        return 0;
    u16_t n = pbuf_copy_partial(p, pkt, p->tot_len, 0);
    int v6 = IP_IS_V6(addr);
    size_t hl = v6 ? IP6_HLEN : (size_t)(pkt[0] & 0x0f) * 4;
    if (n < hl + 8)
        return 0;
    const uint8_t *icmp = pkt + hl;
    size_t ilen = n - hl;
    uint16_t ident = (uint16_t)(icmp[4] << 8 | icmp[5]), seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
    if ((v6 && pkt[6] != IP6_NEXTH_ICMP6) || icmp[0] != (v6 ? ICMP6_TYPE_EREP : ICMP_ER) ||
        icmp[1] != 0 || ident != ping->ident)
        return 0;
    if (icmp_sum(v6 ? pkt : NULL, icmp, ilen) != 0)
        return 0; /* lwIP counts and drops it on its way to icmp_input */
    mirc_ipaddr from;
    lw_from_ip(addr, &from);
    tcpip_ping_reply(ping, &from, icmp + 8, ilen - 8, seq);
    pbuf_free(p);
    return 1;
}

static mirc_status lw_ping_open(mirc_ping *ping)
{
    struct raw_pcb *p4 = raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP);
    struct raw_pcb *p6 = raw_new_ip_type(IPADDR_TYPE_V6, IP6_NEXTH_ICMP6);
    if (!p4 || !p6) {
        if (p4)
            raw_remove(p4);
        if (p6)
            raw_remove(p6);
        return MIRC_NO_MEMORY;
    }
    p6->chksum_reqd = 1; /* lwIP fills the ICMPv6 checksum (it covers a pseudo-header) */
    p6->chksum_offset = 2;
    raw_recv(p4, lw_ping_recv, ping);
    raw_recv(p6, lw_ping_recv, ping);
    ping->impl4 = p4;
    ping->impl6 = p6;
    return MIRC_OK;
}

static mirc_status lw_ping_send(mirc_ping *ping, const mirc_ipaddr *addr, const uint8_t *payload,
                                size_t len, uint16_t seq)
{
    ip_addr_t a;
    int v6 = addr->family == MIRC_IPV6;
    lw_to_ip(addr, &a);
    struct pbuf *p = pbuf_alloc(PBUF_IP, (u16_t)(8 + len), PBUF_RAM);
    if (!p)
        return MIRC_NO_MEMORY;
    uint8_t *h = p->payload;
    h[0] = v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO;
    h[1] = 0;
    h[2] = h[3] = 0;
    h[4] = (uint8_t)(ping->ident >> 8);
    h[5] = (uint8_t)ping->ident;
    h[6] = (uint8_t)(seq >> 8);
    h[7] = (uint8_t)seq;
    memcpy(h + 8, payload, len);
    if (!v6) {
        u16_t sum = inet_chksum(h, (u16_t)(8 + len));
        memcpy(h + 2, &sum, 2);
    }
    err_t e = raw_sendto(v6 ? ping->impl6 : ping->impl4, p, &a);
    pbuf_free(p);
    lw_rearm();
    return lw_status(e);
}

static void lw_ping_close(mirc_ping *ping)
{
    raw_remove(ping->impl4);
    raw_remove(ping->impl6);
    ping->impl4 = ping->impl6 = NULL;
}

/* DNS */

static void lw_dns_found(const char *name, const ip_addr_t *ipaddr, void *arg)
{
    (void)name;
    int slot = (int)(intptr_t)arg;
    if (ipaddr) {
        mirc_ipaddr a;
        lw_from_ip(ipaddr, &a);
        tcpip_dns_done(slot, MIRC_OK, &a);
    } else {
        tcpip_dns_done(slot, MIRC_NOT_FOUND, NULL);
    }
}

static mirc_status lw_dns_start(int slot, const char *name, int family)
{
    ip_addr_t a;
    u8_t type = family == MIRC_IPV4   ? LWIP_DNS_ADDRTYPE_IPV4
                : family == MIRC_IPV6 ? LWIP_DNS_ADDRTYPE_IPV6
                                      : LWIP_DNS_ADDRTYPE_IPV4_IPV6;
    err_t e = dns_gethostbyname_addrtype(name, &a, lw_dns_found, (void *)(intptr_t)slot, type);
    lw_rearm();
    if (e == ERR_OK) { /* cached */
        mirc_ipaddr m;
        lw_from_ip(&a, &m);
        tcpip_dns_done(slot, MIRC_OK, &m);
        return MIRC_OK;
    }
    if (e == ERR_INPROGRESS)
        return MIRC_OK;
    if (e == ERR_VAL) { /* no DNS server configured */
        tcpip_dns_done(slot, MIRC_UNREACHABLE, NULL);
        return MIRC_OK;
    }
    return e == ERR_MEM ? MIRC_NO_MEMORY : lw_status(e);
}

static mirc_status lw_start_ops(const struct tcpip_config *cfg)
{
    return lw_start(cfg);
}

const struct tcpip_ops tcpip_lwip_ops = {
    .name = "lwip",
    .start = lw_start_ops,
    .iface_count = lw_iface_count,
    .iface_get = lw_iface_get,
    .stats = lw_stats,
    .zone_of = lw_zone_of,
    .tcp_listen = lw_tcp_listen,
    .tcp_accept = lw_tcp_accept,
    .tcp_connect = lw_tcp_connect,
    .tcp_read_changed = lw_tcp_read_changed,
    .tcp_push = lw_tcp_push,
    .tcp_flush = lw_tcp_flush,
    .tcp_shutdown = lw_tcp_shutdown,
    .tcp_close = lw_tcp_close,
    .tcp_addr = lw_tcp_addr,
    .tcp_nodelay = lw_tcp_nodelay,
    .tcp_run = lw_tcp_run,
    .udp_open = lw_udp_open,
    .udp_send = lw_udp_send,
    .udp_local = lw_udp_local,
    .udp_close = lw_udp_close,
    .ping_open = lw_ping_open,
    .ping_send = lw_ping_send,
    .ping_close = lw_ping_close,
    .dns_start = lw_dns_start,
};
