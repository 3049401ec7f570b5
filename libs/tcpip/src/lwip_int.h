/* libs/tcpip/src/lwip_int.h: what the lwIP stack's files share. */
#ifndef TCPIP_LWIP_INT_H
#define TCPIP_LWIP_INT_H

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
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
/* Once, after lwip_init. */
void lw_tcp_init(void);
/* Connections in the handshake (SYN received, not yet established). */
unsigned lw_tcp_half_open(void);
/* Drops every out-of-order queue: RX is full. */
void lw_tcp_shed_ooseq(void);

/* lwip_mem.c: the budget (see the comment there) */

enum { LW_MEM_OTHER, LW_MEM_RX, LW_MEM_TX, LW_MEM_SHARES };

struct lw_mem_share {
    size_t used, limit, peak;
    size_t reserve; /* RX: room above the limit for control frames */
    uint64_t refused;
};

extern struct lw_mem_share lw_mem[LW_MEM_SHARES];
/* The share the next allocations count against (LW_MEM_OTHER outside the places that set it). */
extern int lw_mem_kind;
/* Set while a control frame is received: RX may use its reserve. */
extern int lw_mem_control;

struct lw_budget_stats {
    uint64_t mem_limit;
    uint64_t tcp_refused;       /* connections refused: their smallest grants did not fit */
    uint64_t half_open_evicted; /* half-open connections dropped for newer ones */
    uint64_t frames_shed;       /* data frames dropped because RX was full */
};
extern struct lw_budget_stats lw_budget;

#define LW_MEM_MIN     LW_MEM_MIN_ARG
#define LW_MEM_MAX     LW_MEM_MAX_ARG
#define LW_FRAME_COST  1600u /* a full frame's buffer, with lwIP's and malloc's headers */
#define LW_CONN_COST   1024u /* a pcb, its lw_conn and a control segment or two */
#define LW_RX_SPONGE   2048u /* the buffer small segments are copied into (lwip_tcp.c) */
#define LW_OOSEQ_PBUFS 4u    /* TCP_OOSEQ_MAX_PBUFS */
#define LW_WND_MIN     (4u * TCP_MSS)
#define LW_WND_START   (32u * 1024)
#define LW_WND_MAX     ((uint32_t)TCP_WND)
#define LW_SND_MIN     (4u * TCP_MSS)
#define LW_SND_START   (64u * 1024)
#define LW_SND_MAX     ((uint32_t)TCP_SND_BUF)

/* Splits `budget` bytes into the shares. Call before lwIP allocates anything. */
void lw_mem_setup(uint64_t budget);
/* Bytes a share can still allocate below its limit. */
size_t lw_mem_room(int share);
void lw_mem_stats(mirc_tcpip_stats *out);
/* Half-open connections a listener may have before new SYNs push out the oldest. */
unsigned lw_half_open_max(void);

/* A connection's grants: its receive window and send buffer, in bytes. */
struct lw_grant {
    uint32_t wnd, snd;
    uint32_t acked; /* bytes acknowledged since the send buffer last grew */
};
/* Admits a connection with the smallest grants; 0 when they do not fit. */
int lw_grant_open(struct lw_grant *gr);
/* Once established: grows the grants to what the free shares allow; by how much each grew. */
void lw_grant_start(struct lw_grant *gr, uint32_t *wnd_more, uint32_t *snd_more);
void lw_grant_close(struct lw_grant *gr);
/* The app consumed `consumed` bytes: how far to reopen the window (the grant may change). */
uint32_t lw_grant_wnd_change(struct lw_grant *gr, uint32_t consumed);
/* The send buffer may grow by the returned bytes (0: no), for an app wanting `want` more. */
uint32_t lw_grant_snd_more(struct lw_grant *gr, uint32_t want);
/* Under pressure, how much of `free_now` unused send buffer to give back (0: none). */
uint32_t lw_grant_snd_less(struct lw_grant *gr, uint32_t free_now);

#endif
