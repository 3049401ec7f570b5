/* libs/tcpip/src/lwip_netif.c: lwIP on mirc: one netif per NIC, frames via mirc/net.h, timers on
 * the loop. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/init.h"
#include "lwip/ip6_addr.h"
#include "lwip/mld6.h"
#include "lwip/nd6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "lwip_int.h"
#include "netif/ethernet.h"

struct lw_iface lw_ifaces[TCPIP_NIC_MAX];
unsigned lw_nifaces;
static mirc_timer lw_timer;
static uint64_t lw_timer_deadline; /* of lw_timer while active */
static uint64_t frames_in, frames_out, frames_dropped;
static uint8_t tx_bounce[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN];
static uint8_t rx_bounce[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN];
#define ETH_MIN_FRAME 60 /* without the FCS */

/* Platform glue lwIP asks for (arch/cc.h) */

u32_t sys_now(void)
{
    return (u32_t)(mirc_clock_monotonic() / MIRC_NS_PER_MS);
}

uint32_t tcpip_lwip_rand(void)
{
    uint32_t r;
    if (mirc_entropy(&r, sizeof r) != MIRC_OK)
        r = (uint32_t)(mirc_clock_monotonic() * 2654435761u);
    return r;
}

void tcpip_lwip_assert(const char *msg, const char *file, int line)
{
    mirc_panic_at(file, line, "lwIP: %s", msg);
}

void tcpip_lwip_diag(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mirc_log("lwIP: %s", line);
}

/* Timers: one mirc timer, always at lwIP's next timeout */

static void lw_timer_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    tcpip_enter();
    sys_check_timeouts();
    tcpip_leave();
    lw_rearm();
}

void lw_rearm(void)
{
    u32_t ms = sys_timeouts_sleeptime();
    if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE) {
        mirc_timer_stop(&lw_timer);
        return;
    }
    uint64_t deadline = mirc_clock_monotonic() + (uint64_t)ms * MIRC_NS_PER_MS;
    if (mirc_timer_active(&lw_timer) && lw_timer_deadline <= deadline)
        return;
    lw_timer_deadline = deadline;
    mirc_timer_start_at(&lw_timer, deadline, 0);
}

/* Frames */

static err_t lw_linkoutput(struct netif *netif, struct pbuf *p)
{
    struct lw_iface *i = netif->state;
    const void *frame = p->payload;
    size_t len = p->tot_len;

    if (p->next || p->len != p->tot_len) {
        if (len > sizeof tx_bounce) {
            frames_dropped++;
            return ERR_BUF;
        }
        pbuf_copy_partial(p, tx_bounce, p->tot_len, 0);
        frame = tx_bounce;
    }
    mirc_status s = mirc_net_write(i->nic, frame, len);
    if (s == MIRC_AGAIN) /* the device's queue is full: TCP retransmits, like a busy wire */
        s = mirc_net_write(i->nic, frame, len);
    if (s != MIRC_OK) {
        frames_dropped++;
        LINK_STATS_INC(link.drop);
        return ERR_IF;
    }
    frames_out++;
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

/*
 * Control frames are what keeps connections and the link alive and what frees memory: ARP,
 * ICMP and ICMPv6 (echo, neighbour discovery), TCP segments without payload (ACKs), FIN and
 * RST. They are received even when the receive share is full; SYNs (new state), fragments,
 * UDP and TCP data are not.
 */
static int control_frame(const uint8_t *f, size_t len)
{
    if (len < 14)
        return 0;
    const uint8_t *ip = f + 14;
    size_t n = len - 14, l4, iplen;
    int proto;
    switch (f[12] << 8 | f[13]) {
    case 0x0806:
        return 1;
    case 0x0800:
        if (n < 20 || (ip[6] & 0x3f) || ip[7]) /* short, or a fragment */
            return 0;
        proto = ip[9];
        l4 = (size_t)(ip[0] & 15) * 4;
        iplen = (size_t)(ip[2] << 8 | ip[3]);
        if (proto == 1)
            return 1;
        break;
    case 0x86dd:
        if (n < 40)
            return 0;
        proto = ip[6];
        l4 = 40;
        iplen = 40 + (size_t)(ip[4] << 8 | ip[5]);
        if (proto == 58)
            return 1;
        break;
    default:
        return 0;
    }
    if (iplen > n)
        iplen = n;
    if (proto != 6 || l4 < 20 || iplen < l4 + 20)
        return 0;
    const uint8_t *t = ip + l4;
    if (t[13] & 0x05) /* FIN or RST */
        return 1;
    if (t[13] & 0x02) /* SYN */
        return 0;
    return iplen <= l4 + (size_t)(t[12] >> 4) * 4; /* no payload */
}

/*
 * An MSS option belongs in a SYN only (RFC 9293 3.7.1); lwIP 2.1 takes it from any segment and
 * shrinks the MSS under data already queued, and its next write then fails an assertion: one
 * segment from any peer stopped the unikernel. So an MSS option outside a SYN becomes NOPs
 * here, with the checksum adjusted (RFC 1624), as the RFC says to ignore it.
 */
static void tcp_late_mss_off(uint8_t *f, size_t len)
{
    size_t off, end;
    uint8_t nh;
    if (len < 14 + 20)
        return;
    if ((f[12] << 8 | f[13]) == 0x0800) {
        const uint8_t *ip = f + 14;
        if ((ip[6] & 0x1f) || ip[7] || ip[9] != 6) /* a later fragment, or not TCP */
            return;
        off = 14 + (size_t)(ip[0] & 15) * 4;
        end = 14 + (size_t)(ip[2] << 8 | ip[3]);
    } else if ((f[12] << 8 | f[13]) == 0x86dd && len >= 14 + 40) {
        nh = f[14 + 6];
        off = 14 + 40;
        end = off + (size_t)(f[14 + 4] << 8 | f[14 + 5]);
        while (nh != 6) { /* hop-by-hop, routing, destination options, a first fragment */
            if (off + 8 > len || (nh != 0 && nh != 43 && nh != 60 && nh != 44))
                return;
            if (nh == 44 && ((f[off + 2] << 8 | f[off + 3]) & 0xfff8))
                return;
            size_t hl = nh == 44 ? 8 : ((size_t)f[off + 1] + 1) * 8;
            nh = f[off];
            off += hl;
        }
    } else {
        return;
    }
    if (end > len)
        end = len;
    if (off + 20 > end || (f[off + 13] & 0x02)) /* short, or a SYN: its MSS is the real one */
        return;
    size_t opt_end = off + (size_t)(f[off + 12] >> 4) * 4;
    if (opt_end > end)
        opt_end = end;
    uint32_t sum = (uint16_t) ~(f[off + 16] << 8 | f[off + 17]);
    for (size_t o = off + 20; o < opt_end;) {
        if (f[o] == 0)
            break;
        if (f[o] == 1) {
            o++;
            continue;
        }
        if (o + 1 >= opt_end || f[o + 1] < 2)
            break;
        if (f[o] == 2 && f[o + 1] == 4 && o + 4 <= opt_end) {
            for (size_t k = o; k < o + 4; k++) { /* each byte is one half of a 16-bit word */
                unsigned shift = (k - off) % 2 ? 0 : 8;
                sum += (uint16_t) ~(f[k] << shift) + (1u << shift);
                f[k] = 1;
            }
        }
        o += f[o + 1];
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    f[off + 16] = (uint8_t)(~sum >> 8);
    f[off + 17] = (uint8_t)~sum;
}

/* Reads one frame into a pbuf of its size (or drops it when the receive share is full). 0: none
 * left. */
static int lw_input_one(struct lw_iface *i)
{
    size_t len = 0;
    mirc_status s = mirc_net_read(i->nic, rx_bounce, sizeof rx_bounce, &len);
    if (s == MIRC_AGAIN || s == MIRC_IO || s == MIRC_INVALID)
        return 0;
    if (s != MIRC_OK) { /* too big for the MTU: dropped and counted by the runtime */
        frames_dropped++;
        return 1;
    }
    frames_in++;
    LINK_STATS_INC(link.recv);
    /* A runt is zero-padded to Ethernet's minimum frame, as the wire does: lwIP reads an ARP
     * header without checking that the frame holds one. */
    if (len < ETH_MIN_FRAME) {
        memset(rx_bounce + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    tcp_late_mss_off(rx_bounce, len);
    lw_mem_kind = LW_MEM_RX;
    lw_mem_control = control_frame(rx_bounce, len);
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
    lw_mem_kind = LW_MEM_OTHER;
    if (!p) {
        if (!lw_mem_control)
            lw_budget.frames_shed++;
        lw_mem_control = 0;
        frames_dropped++;
        LINK_STATS_INC(link.memerr);
        lw_tcp_shed_ooseq(); /* out-of-order data is the one thing held that peers resend */
        return 1;
    }
    lw_mem_control = 0;
    memcpy(p->payload, rx_bounce, len);
    if (i->netif.input(p, &i->netif) != ERR_OK) {
        pbuf_free(p);
        frames_dropped++;
    }
    return 1;
}

static void lw_ready(mirc_net *nic, void *ctx)
{
    struct lw_iface *i = ctx;
    (void)nic;
    tcpip_enter();
    while (lw_input_one(i))
        ;
    tcpip_leave();
    lw_rearm();
}

/* Interfaces */

static err_t lw_netif_init(struct netif *netif)
{
    struct lw_iface *i = netif->state;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, i->info.mac, 6);
    netif->mtu = i->info.mtu;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6;
    netif->output = etharp_output;
    netif->output_ip6 = ethip6_output;
    netif->linkoutput = lw_linkoutput;
    return ERR_OK;
}

static void prefix_to_mask(uint8_t prefix, ip4_addr_t *mask)
{
    uint32_t m = prefix ? 0xffffffffu << (32 - prefix) : 0;
    IP4_ADDR(mask, (u8_t)(m >> 24), (u8_t)(m >> 16), (u8_t)(m >> 8), (u8_t)m);
}

static void lw_describe(struct lw_iface *i, const char *why)
{
    mirc_tcpip_iface f;
    char a[MIRC_IPADDR_STRLEN], g[MIRC_IPADDR_STRLEN], line[400];
    int n;
    lw_iface_get((unsigned)(i - lw_ifaces), &f);
    n = snprintf(line, sizeof line, "%s: %s", f.name, why);
    if (f.ipv4.family)
        n += snprintf(line + n, sizeof line - (size_t)n, " ipv4 %s/%u%s%s",
                      mirc_ipaddr_format(&f.ipv4, a, sizeof a), f.ipv4_prefix,
                      f.gateway.family ? " gw " : "",
                      f.gateway.family ? mirc_ipaddr_format(&f.gateway, g, sizeof g) : "");
    for (int k = 0; k < MIRC_TCPIP_IPV6_ADDRS && n < (int)sizeof line - 80; k++)
        if (f.ipv6[k].family)
            n += snprintf(line + n, sizeof line - (size_t)n, " ipv6 %s%s",
                          mirc_ipaddr_format(&f.ipv6[k], a, sizeof a),
                          f.ipv6_preferred[k] ? "" : " (tentative)");
    mirc_log("%s", line);
}

static void lw_ext_cb(struct netif *netif, netif_nsc_reason_t reason,
                      const netif_ext_callback_args_t *args)
{
    (void)args;
    struct lw_iface *i = netif->state;
    if (!i || i < lw_ifaces || i >= lw_ifaces + lw_nifaces)
        return;
    if (reason & (LWIP_NSC_IPV4_SETTINGS_CHANGED | LWIP_NSC_IPV4_ADDRESS_CHANGED |
                  LWIP_NSC_IPV6_SET | LWIP_NSC_IPV6_ADDR_STATE_CHANGED)) {
        if ((reason & (LWIP_NSC_IPV4_ADDRESS_CHANGED | LWIP_NSC_IPV4_SETTINGS_CHANGED)) &&
            i->cfg.v4mode == TCPIP_V4_DHCP && dhcp_supplied_address(netif)) {
            lw_describe(i, "DHCP lease");
            lw_apply_dns(); /* configured servers win over DHCP's */
        }
        tcpip_changed((unsigned)(i - lw_ifaces));
    }
}

static mirc_status lw_iface_up(struct lw_iface *i)
{
    ip4_addr_t addr, mask, gw;
    ip4_addr_set_zero(&addr);
    ip4_addr_set_zero(&mask);
    ip4_addr_set_zero(&gw);
    if (i->cfg.v4mode == TCPIP_V4_STATIC) {
        IP4_ADDR(&addr, i->cfg.ipv4[0], i->cfg.ipv4[1], i->cfg.ipv4[2], i->cfg.ipv4[3]);
        prefix_to_mask(i->cfg.ipv4_prefix, &mask);
        if (i->cfg.gateway_set)
            IP4_ADDR(&gw, i->cfg.gateway[0], i->cfg.gateway[1], i->cfg.gateway[2],
                     i->cfg.gateway[3]);
    }
    if (!netif_add(&i->netif, &addr, &mask, &gw, i, lw_netif_init, ethernet_input)) {
        tcpip_err("%s: lwIP refused the interface", i->name);
        return MIRC_NO_MEMORY;
    }
    netif_set_up(&i->netif);
    netif_set_link_up(&i->netif);
    if (!i->cfg.ipv6_off) {
        netif_create_ip6_linklocal_address(&i->netif, 1);
        netif_set_ip6_autoconfig_enabled(&i->netif, i->cfg.slaac ? 1 : 0);
        if (i->cfg.ipv6_set) {
            ip6_addr_t a6;
            s8_t idx;
            memcpy(&a6.addr, i->cfg.ipv6, 16);
            ip6_addr_clear_zone(&a6);
            if (netif_add_ip6_address(&i->netif, &a6, &idx) != ERR_OK) {
                tcpip_err("%s: cannot add IPv6 address (at most %d per NIC)", i->name,
                          LWIP_IPV6_NUM_ADDRESSES);
                return MIRC_NO_MEMORY;
            }
        }
        if (i->cfg.gateway6_set) {
            memcpy(&i->gateway6.addr, i->cfg.gateway6, 16);
            ip6_addr_clear_zone(&i->gateway6);
            ip6_addr_assign_zone(&i->gateway6, IP6_UNICAST, &i->netif);
        }
    } else {
        netif_set_ip6_autoconfig_enabled(&i->netif, 0);
    }
    if (i->cfg.v4mode == TCPIP_V4_DHCP && dhcp_start(&i->netif) != ERR_OK) {
        tcpip_err("%s: cannot start DHCP (out of memory)", i->name);
        return MIRC_NO_MEMORY;
    }
    if (mirc_net_on_ready(i->nic, lw_ready, i) != MIRC_OK)
        return MIRC_INVALID;
    return MIRC_OK;
}

static const struct tcpip_config *lw_cfg;

void lw_apply_dns(void)
{
    for (unsigned k = 0; lw_cfg && k < lw_cfg->ndns; k++) {
        ip_addr_t a;
        lw_to_ip(&lw_cfg->dns[k], &a);
        dns_setserver((u8_t)k, &a);
    }
}

mirc_status lw_start(const struct tcpip_config *cfg)
{
    static netif_ext_callback_t ext;
    static int lwip_ready;
    mirc_net *nic;

    /* every NIC named in an option must exist */
    for (unsigned k = 0; k < cfg->nnics; k++) {
        if (cfg->nics[k].name[0] && mirc_net_acquire(cfg->nics[k].name, &nic) != MIRC_OK) {
            tcpip_err("an option names NIC '%s', which mirc.toml does not declare",
                      cfg->nics[k].name);
            return MIRC_INVALID;
        }
    }
    if (mirc_net_acquire_index(0, &nic) != MIRC_OK) {
        tcpip_err("no NIC: declare one in mirc.toml ([devices.service0] kind = \"net\"), or use "
                  "--stack=socket on unix");
        return MIRC_NOT_FOUND;
    }
    if (!lwip_ready) {
        lw_mem_setup(cfg->memory ? cfg->memory : mirc_memory_size() / 2);
        lwip_init();
        lw_tcp_init();
        netif_add_ext_callback(&ext, lw_ext_cb);
        mirc_timer_init(&lw_timer, lw_timer_cb, NULL);
        lwip_ready = 1;
    }
    lw_cfg = cfg;
    struct netif *dflt = NULL;
    int dflt_rank = -1;
    for (unsigned k = 0; k < TCPIP_NIC_MAX && mirc_net_acquire_index(k, &nic) == MIRC_OK; k++) {
        struct lw_iface *i = &lw_ifaces[k];
        memset(i, 0, sizeof *i);
        i->nic = nic;
        i->name = mirc_net_name(nic);
        mirc_net_info_get(nic, &i->info);
        tcpip_config_nic(cfg, i->name, k, &i->cfg);
        lw_nifaces = k + 1;
        mirc_status s = lw_iface_up(i);
        if (s != MIRC_OK)
            return s;
        /* the default route: the first NIC with a gateway, else the first asking DHCP */
        int rank = i->cfg.v4mode == TCPIP_V4_STATIC && i->cfg.gateway_set ? 2
                   : i->cfg.v4mode == TCPIP_V4_DHCP                       ? 1
                                                                          : 0;
        if (!dflt || rank > dflt_rank) {
            dflt = &i->netif;
            dflt_rank = rank;
        }
        if (i->cfg.v4mode == TCPIP_V4_STATIC || i->cfg.ipv6_set)
            lw_describe(i, "up");
        else
            mirc_log("%s: up%s", i->name, i->cfg.v4mode == TCPIP_V4_DHCP ? ", asking DHCP" : "");
    }
    netif_set_default(dflt);
    lw_apply_dns();
    lw_rearm();
    return MIRC_OK;
}

unsigned lw_iface_count(void)
{
    return lw_nifaces;
}

mirc_status lw_iface_get(unsigned index, mirc_tcpip_iface *out)
{
    if (index >= lw_nifaces)
        return MIRC_NOT_FOUND;
    struct lw_iface *i = &lw_ifaces[index];
    struct netif *n = &i->netif;
    memset(out, 0, sizeof *out);
    out->name = i->name;
    memcpy(out->mac, i->info.mac, 6);
    out->mtu = i->info.mtu;
    if (!ip4_addr_isany_val(*netif_ip4_addr(n))) {
        ip_addr_t a;
        ip_addr_copy_from_ip4(a, *netif_ip4_addr(n));
        lw_from_ip(&a, &out->ipv4);
        uint32_t m = lwip_ntohl(ip4_addr_get_u32(netif_ip4_netmask(n)));
        while (m & 0x80000000u) {
            out->ipv4_prefix++;
            m <<= 1;
        }
        if (!ip4_addr_isany_val(*netif_ip4_gw(n))) {
            ip_addr_copy_from_ip4(a, *netif_ip4_gw(n));
            lw_from_ip(&a, &out->gateway);
        }
    }
    if (i->cfg.v4mode == TCPIP_V4_DHCP)
        out->dhcp = dhcp_supplied_address(n) ? 2 : 1;
    for (int k = 0, o = 0; k < LWIP_IPV6_NUM_ADDRESSES && o < MIRC_TCPIP_IPV6_ADDRS; k++) {
        u8_t st = netif_ip6_addr_state(n, k);
        if (!ip6_addr_isvalid(st) && !ip6_addr_istentative(st))
            continue;
        ip_addr_t a;
        ip_addr_copy_from_ip6(a, *netif_ip6_addr(n, k));
        lw_from_ip(&a, &out->ipv6[o]);
        out->ipv6_preferred[o++] = ip6_addr_isvalid(st) ? 1 : 0;
    }
    return MIRC_OK;
}

uint32_t lw_zone_of(const char *name)
{
    for (unsigned k = 0; k < lw_nifaces; k++)
        if (strcmp(lw_ifaces[k].name, name) == 0)
            return netif_get_index(&lw_ifaces[k].netif);
    return 0;
}

void lw_stats(mirc_tcpip_stats *out)
{
    out->frames_in = frames_in;
    out->frames_out = frames_out;
    out->frames_dropped = frames_dropped + lwip_stats.etharp.drop + lwip_stats.ip.drop +
                          lwip_stats.ip6.drop + lwip_stats.icmp.drop + lwip_stats.icmp6.drop +
                          lwip_stats.udp.drop + lwip_stats.tcp.drop + lwip_stats.nd6.drop;
    out->checksum_errors = lwip_stats.ip.chkerr + lwip_stats.icmp.chkerr + lwip_stats.udp.chkerr +
                           lwip_stats.tcp.chkerr + lwip_stats.icmp6.chkerr;
    out->tcp_half_open = lw_tcp_half_open();
    lw_mem_stats(out);
}

/* Hooks (lwip_hooks.h): a static IPv6 gateway */

struct netif *tcpip_lwip_ip6_route(const ip6_addr_t *src, const ip6_addr_t *dest)
{
    (void)src;
    (void)dest;
    for (unsigned k = 0; k < lw_nifaces; k++)
        if (lw_ifaces[k].cfg.gateway6_set && netif_is_up(&lw_ifaces[k].netif))
            return &lw_ifaces[k].netif;
    return NULL;
}

const ip6_addr_t *tcpip_lwip_ip6_gateway(struct netif *netif, const ip6_addr_t *dest)
{
    (void)dest;
    struct lw_iface *i = netif->state;
    if (i && i >= lw_ifaces && i < lw_ifaces + lw_nifaces && i->cfg.gateway6_set)
        return &i->gateway6;
    return NULL;
}
