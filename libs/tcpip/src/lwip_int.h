/* libs/tcpip/src/lwip_int.h: what the lwIP stack's files share. */
#ifndef TCPIP_LWIP_INT_H
#define TCPIP_LWIP_INT_H

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "tcpip_int.h"

struct lw_iface {
    struct netif netif; /* netif.state points back here */
    mirc_net *nic;
    const char *name;
    mirc_net_info info;
    struct tcpip_nic_config cfg;
    ip6_addr_t gateway6;
};

extern struct lw_iface lw_ifaces[TCPIP_NIC_MAX];
extern unsigned lw_nifaces;

/* lwip_netif.c */
mirc_status lw_start(const struct tcpip_config *cfg);
unsigned lw_iface_count(void);
mirc_status lw_iface_get(unsigned index, mirc_tcpip_iface *out);
uint32_t lw_zone_of(const char *name);
void lw_stats(mirc_tcpip_stats *out);
void lw_apply_dns(void);
/* Points the loop's lwIP timer at lwIP's next timeout; after any call that may add one. */
void lw_rearm(void);

/* lwip_stack.c: address and error conversion */
void lw_to_ip(const mirc_ipaddr *in, ip_addr_t *out);
void lw_from_ip(const ip_addr_t *in, mirc_ipaddr *out);
mirc_status lw_status(err_t e);

/* lwip_tcp.c: the TCP operations of tcpip_lwip_ops */
mirc_status lw_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog);
mirc_status lw_tcp_accept(mirc_tcp *listener, mirc_tcp *conn);
mirc_status lw_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port);
void lw_tcp_read_changed(mirc_tcp *tcp);
size_t lw_tcp_push(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold);
void lw_tcp_flush(mirc_tcp *tcp);
void lw_tcp_shutdown(mirc_tcp *tcp);
void lw_tcp_close(mirc_tcp *tcp, int abort);
mirc_status lw_tcp_addr(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port);
mirc_status lw_tcp_nodelay(mirc_tcp *tcp, int on);
void lw_tcp_run(mirc_tcp *tcp);

#endif
