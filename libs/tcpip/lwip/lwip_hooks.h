/* libs/tcpip/lwip/lwip_hooks.h: hooks lwIP calls into mirc (a static IPv6 gateway). */
#ifndef MIRC_LWIP_HOOKS_H
#define MIRC_LWIP_HOOKS_H

struct netif;
struct ip6_addr;

/* The NIC with a --ipv6-gateway for an off-link destination, or NULL. */
struct netif *tcpip_lwip_ip6_route(const struct ip6_addr *src, const struct ip6_addr *dest);
/* The --ipv6-gateway of the NIC, or NULL to let router advertisements decide. */
const struct ip6_addr *tcpip_lwip_ip6_gateway(struct netif *netif, const struct ip6_addr *dest);

#endif
