/* libs/tcpip/lwip/lwipopts.h: lwIP built for mirc: NO_SYS on the loop, memory from one budget. */
#ifndef MIRC_LWIPOPTS_H
#define MIRC_LWIPOPTS_H

#include <stddef.h>

/*
 * Sizing: nothing is sized here. Every pool and buffer comes from lw_mem_malloc
 * (libs/tcpip/src/lwip_mem.c), which counts it against a budget set at start from the memory
 * the unikernel has (mirc_memory_size(), or --tcpip-memory): receive, send and control shares,
 * and per-connection windows and send buffers granted inside them. The numbers below are
 * the largest a connection may grow to, not what each one costs.
 */

/* Single-threaded, driven by mirc's loop and timers (libs/tcpip/src/lwip_netif.c). */
#define NO_SYS               1
#define LWIP_TIMERS          1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN         0
#define LWIP_SOCKET          0
#define LWIP_CALLBACK_API    1
#define LWIP_PROVIDE_ERRNO   0
#define LWIP_NETIF_API       0

/* Memory: the C library's malloc behind lwIP's own accounting (lwip_mem.c) */
void *lw_mem_malloc(size_t size);
void *lw_mem_calloc(size_t n, size_t size);
void lw_mem_free(void *p);
#define MEM_LIBC_MALLOC         1
#define MEMP_MEM_MALLOC         1
#define mem_clib_malloc         lw_mem_malloc
#define mem_clib_calloc         lw_mem_calloc
#define mem_clib_free           lw_mem_free
#define MEM_ALIGNMENT           8
#define MEMP_NUM_RAW_PCB        8
#define MEMP_NUM_UDP_PCB        32
#define MEMP_NUM_TCP_PCB_LISTEN 32
#define MEMP_NUM_REASSDATA      16
#define MEMP_NUM_ARP_QUEUE      64
#define MEMP_NUM_ND6_QUEUE      64
#define MEMP_NUM_SYS_TIMEOUT    (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
/* pool pbufs are only lwIP's own (received frames are PBUF_RAM, sized to the frame) */
#define PBUF_POOL_SIZE 16

/* Link layer */
#define LWIP_ARP                       1
#define ARP_TABLE_SIZE                 64
#define ARP_QUEUEING                   1
#define ARP_QUEUE_LEN                  16
#define ETHARP_SUPPORT_STATIC_ENTRIES  0
#define LWIP_ETHERNET                  1
#define ETH_PAD_SIZE                   0
#define LWIP_SINGLE_NETIF              0
#define LWIP_NETIF_STATUS_CALLBACK     0
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK       0
#define LWIP_NETIF_TX_SINGLE_PBUF      1
#define LWIP_HAVE_LOOPIF               0
#define LWIP_NETIF_LOOPBACK            0

/* IPv4 */
#define LWIP_IPV4               1
#define IP_FORWARD              0
#define IP_REASSEMBLY           1
#define IP_FRAG                 1
#define IP_REASS_MAX_PBUFS      32
#define LWIP_ICMP               1
#define LWIP_BROADCAST_PING     0
#define LWIP_RAW                1
#define LWIP_DHCP               1
#define DHCP_DOES_ARP_CHECK     0
#define LWIP_DHCP_CHECK_LINK_UP 1
#define LWIP_AUTOIP             0
#define LWIP_IGMP               0

/* IPv6 */
#define LWIP_IPV6                         1
#define LWIP_IPV6_AUTOCONFIG              1
#define LWIP_IPV6_MLD                     1
#define LWIP_IPV6_FRAG                    1
#define LWIP_IPV6_REASS                   1
#define IPV6_FRAG_COPYHEADER              1 /* 64-bit pointers do not fit in the fragment header */
#define LWIP_IPV6_DHCP6                   0
#define LWIP_IPV6_NUM_ADDRESSES           3
#define LWIP_ND6_NUM_NEIGHBORS            32
#define LWIP_ND6_NUM_DESTINATIONS         32
#define LWIP_ND6_ALLOW_RA_UPDATES         1
#define LWIP_HOOK_FILENAME                "lwip_hooks.h"
#define LWIP_HOOK_IP6_ROUTE(src, dest)    tcpip_lwip_ip6_route(src, dest)
#define LWIP_HOOK_ND6_GET_GW(netif, dest) tcpip_lwip_ip6_gateway(netif, dest)

/* Transport */
#define LWIP_UDP       1
#define LWIP_TCP       1
#define TCP_MSS        1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE  3
/* the largest window and send buffer a connection may be granted (lwip_mem.c) */
#define TCP_WND           (256 * 1024)
#define TCP_SND_BUF       (1024 * 1024)
#define TCP_SND_QUEUELEN  (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT      (2 * TCP_MSS)
#define TCP_SNDQUEUELOWAT 8
/* reopen a closed window once two segments fit: grants can be as small as four */
#define TCP_WND_UPDATE_THRESHOLD   (2 * TCP_MSS)
#define TCP_QUEUE_OOSEQ            1
#define TCP_OOSEQ_MAX_PBUFS        4
#define TCP_OOSEQ_MAX_BYTES        (64 * 1024)
#define LWIP_TCP_SACK_OUT          1
#define TCP_LISTEN_BACKLOG         1
#define TCP_DEFAULT_LISTEN_BACKLOG 64
#define LWIP_TCP_PCB_NUM_EXT_ARGS  1
#define LWIP_TCP_KEEPALIVE         1
#define TCP_OVERSIZE               TCP_MSS
#define SO_REUSE                   1
#define LWIP_SO_RCVBUF             0

/* DNS */
#define LWIP_DNS                      1
#define DNS_TABLE_SIZE                8
#define DNS_MAX_SERVERS               2
#define DNS_MAX_NAME_LENGTH           256
#define LWIP_DNS_SUPPORT_MDNS_QUERIES 0

/* Checksums in software, the fast algorithm */
#define LWIP_CHKSUM_ALGORITHM 3

/* Counters for mirc_tcpip_stats */
#define LWIP_STATS         1
#define LWIP_STATS_DISPLAY 0
#define MEMP_STATS         1 /* pcb and segment counts, even with MEMP_MEM_MALLOC */
#define MIB2_STATS         0

/* Randomness for ports, ISNs and DNS ids comes from mirc_entropy. */
#define LWIP_RAND() tcpip_lwip_rand()

#endif
