/* libs/tcpip/src/tcpip_int.h: what the API layer, the config parser and the two stacks share. */
#ifndef TCPIP_INT_H
#define TCPIP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

/* Configuration from boot arguments (config.c) */

#define TCPIP_NIC_MAX     16
#define TCPIP_DNS_MAX     2
#define TCPIP_PUBLISH_MAX 16

enum tcpip_v4mode { TCPIP_V4_UNSET, TCPIP_V4_STATIC, TCPIP_V4_DHCP, TCPIP_V4_OFF };

/* One NIC's options; -1 (or TCPIP_V4_UNSET) means "not given". */
struct tcpip_nic_config {
    char name[32]; /* manifest name; "" for the first NIC */
    enum tcpip_v4mode v4mode;
    uint8_t ipv4[4], ipv4_prefix;
    int gateway_set;
    uint8_t gateway[4];
    int ipv6_set;
    uint8_t ipv6[16], ipv6_prefix;
    int gateway6_set;
    uint8_t gateway6[16];
    int slaac;    /* router advertisements and SLAAC */
    int ipv6_off; /* --ipv4-only */
};

enum tcpip_stack_kind { TCPIP_STACK_DEFAULT, TCPIP_STACK_LWIP, TCPIP_STACK_SOCKET };

struct tcpip_config {
    enum tcpip_stack_kind stack;
    struct tcpip_nic_config nics[TCPIP_NIC_MAX]; /* nics[0] is the first NIC ("") */
    unsigned nnics;
    mirc_ipaddr dns[TCPIP_DNS_MAX];
    unsigned ndns;
    struct {
        uint16_t host, guest;
    } publish[TCPIP_PUBLISH_MAX];
    unsigned npublish;
    uint64_t memory; /* --tcpip-memory: lwIP's budget in bytes; 0: half of mirc_memory_size() */
};

/* The range --tcpip-memory accepts (lwIP's budget, lwip_mem.c). */
#define LW_MEM_MIN_ARG (512u * 1024)
#define LW_MEM_MAX_ARG ((uint64_t)1 << 30)

/*
 * Parses and removes the options above from argv (see mirc_tcpip_init).
 * On a malformed option writes a one-line reason to err (size errsize) and
 * returns MIRC_INVALID, leaving argv unchanged.
 */
mirc_status tcpip_config_parse(struct tcpip_config *cfg, int *argc, char **argv, char *err,
                               size_t errsize);

/*
 * The options for the NIC `name` at manifest position `index`: the unnamed
 * ones if index is 0, overridden field by field by those naming it, then
 * defaults (no IPv4, IPv6 link-local with SLAAC).
 */
void tcpip_config_nic(const struct tcpip_config *cfg, const char *name, unsigned index,
                      struct tcpip_nic_config *out);

/* Deferred work: callbacks never run inside the API call that caused them (api.c) */

/* Queues l to run from the loop soon (or at the next tcpip_drain). Idempotent. */
void tcpip_defer(mirc_tcpip_link *l, void (*run)(mirc_tcpip_link *l));
/* Removes l from the queue if it is there. */
void tcpip_undefer(mirc_tcpip_link *l);
/* Runs everything queued, including what the runs queue. Stacks call it after input. */
void tcpip_drain(void);
/* Brackets stack work (input, timers) that ends with tcpip_drain: no zero timer needed. */
void tcpip_enter(void);
void tcpip_leave(void);

#define TCPIP_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* TCP handle state, shared by both stacks (mirc_tcp.flags) */

enum {
    TCP_F_LISTENER = 1u << 0,
    TCP_F_CONNECTING = 1u << 1,
    TCP_F_OPEN = 1u << 2,         /* connected (accepted or connect succeeded) */
    TCP_F_READING = 1u << 3,      /* read_start and no read_stop */
    TCP_F_ENDED = 1u << 4,        /* the read side's end was delivered */
    TCP_F_SHUT_WANTED = 1u << 5,  /* FIN after the queued writes */
    TCP_F_SHUT_DONE = 1u << 6,    /* FIN handed to the stack */
    TCP_F_CLOSING = 1u << 7,      /* close or abort called */
    TCP_F_CONNECT_DONE = 1u << 8, /* connect result waits for its callback */
    TCP_F_CLOSE_READY = 1u << 9,  /* the stack let go: close_cb may run */
    TCP_F_ACCEPTING = 1u << 10,   /* inside the accept callback */
    TCP_F_EOF = 1u << 11,         /* the peer's FIN came after all its data */
};

/* The two stacks implement these; api.c checks arguments and state first. */
struct tcpip_ops {
    const char *name;
    mirc_status (*start)(const struct tcpip_config *cfg);
    unsigned (*iface_count)(void);
    mirc_status (*iface_get)(unsigned index, mirc_tcpip_iface *out);
    void (*stats)(mirc_tcpip_stats *out);
    /* IPv6 zone of an interface name, 0 if unknown */
    uint32_t (*zone_of)(const char *name);

    mirc_status (*tcp_listen)(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog);
    /* moves the connection waiting on the listener into conn */
    mirc_status (*tcp_accept)(mirc_tcp *listener, mirc_tcp *conn);
    mirc_status (*tcp_connect)(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port);
    /* reading started or stopped (TCP_F_READING changed) */
    void (*tcp_read_changed)(mirc_tcp *tcp);
    /*
     * Takes up to len bytes now and returns how many. With `hold` the stack
     * may also keep a pointer to the rest of buf and report it taken later
     * through tcpip_tcp_taken (buf stays valid until then).
     */
    size_t (*tcp_push)(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold);
    void (*tcp_flush)(mirc_tcp *tcp);
    void (*tcp_shutdown)(mirc_tcp *tcp);
    /* lets go of the connection; later calls tcpip_tcp_close_ready (maybe at once) */
    void (*tcp_close)(mirc_tcp *tcp, int abort);
    mirc_status (*tcp_addr)(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port);
    mirc_status (*tcp_nodelay)(mirc_tcp *tcp, int on);
    /* stack-specific deferred work for the handle (pending input) */
    void (*tcp_run)(mirc_tcp *tcp);

    mirc_status (*udp_open)(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port);
    mirc_status (*udp_send)(mirc_udp *udp, const mirc_ipaddr *to, uint16_t port, const void *buf,
                            size_t len);
    mirc_status (*udp_local)(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port);
    void (*udp_close)(mirc_udp *udp);

    mirc_status (*ping_open)(mirc_ping *ping);
    mirc_status (*ping_send)(mirc_ping *ping, const mirc_ipaddr *addr, const uint8_t *icmp_payload,
                             size_t len, uint16_t seq);
    void (*ping_close)(mirc_ping *ping);

    /* starts lookup `slot`; the result comes back through tcpip_dns_done */
    mirc_status (*dns_start)(int slot, const char *name, int family);
};

extern const struct tcpip_ops tcpip_lwip_ops;
/* The running stack: NULL until mirc_tcpip_init succeeds (api.c). */
extern const struct tcpip_ops *tcpip_ops;
/* NULL where the socket stack does not exist (every target but unix). */
const struct tcpip_ops *tcpip_socket_ops(void);

/* Called by the stacks (api.c) */

/* The stack accepted n more bytes of the head write (after tcp_push with hold). */
void tcpip_tcp_taken(mirc_tcp *tcp, size_t n);
/* The stack has room again: push queued writes. */
void tcpip_tcp_writable(mirc_tcp *tcp);
/* A connect finished (status), or a connection ended (tcpip_tcp_failed). */
void tcpip_tcp_connected(mirc_tcp *tcp, mirc_status status);
/* The connection died (RST, timeout): record, cancel writes, tell the reader. */
void tcpip_tcp_failed(mirc_tcp *tcp, mirc_status status);
/* The peer finished sending and every byte was delivered: the reader gets MIRC_CLOSED. */
void tcpip_tcp_eof(mirc_tcp *tcp);
/* Runs the listener's accept callback for one waiting connection; 1 if it was accepted. */
int tcpip_tcp_offer(mirc_tcp *listener);
/* Deliver data (MIRC_OK) or the end of the stream to the reader now. */
void tcpip_tcp_deliver(mirc_tcp *tcp, mirc_status status, const void *data, size_t len);
/* The stack no longer refers to the handle: close_cb may run. */
void tcpip_tcp_close_ready(mirc_tcp *tcp);
/* Schedules the handle's deferred work (tcp_run, write callbacks, close). */
void tcpip_tcp_kick(mirc_tcp *tcp);
/* DNS lookups in flight (api.c): a slot for req or for tcp's connect_name, or -1 when all are
 * taken; forget drops the tcp waiting on it and, with release, frees the slot. */
int tcpip_dns_slot_new(mirc_dns *req, mirc_tcp *tcp);
void tcpip_dns_slot_forget(int slot, int release);
/* A lookup finished. */
void tcpip_dns_done(int slot, mirc_status status, const mirc_ipaddr *addr);
/* Calls the ping callback after checking the payload (seq and timestamp from it). */
void tcpip_ping_reply(mirc_ping *ping, const mirc_ipaddr *from, const uint8_t *payload, size_t len,
                      uint16_t seq);
/* Notifies the app that interface `index` changed. */
void tcpip_changed(unsigned index);
/* Prints "tcpip: ...": errors always, even in quiet mode. */
void tcpip_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Counters the API layer keeps for both stacks. */
extern mirc_tcpip_stats tcpip_api_stats;

/* A bind address: NULL, "any" (family 0), IPv4 or IPv6. */
static inline int tcpip_valid_addr(const mirc_ipaddr *a)
{
    return !a || a->family == 0 || a->family == MIRC_IPV4 || a->family == MIRC_IPV6;
}

/* Address helpers (addr.c); the zone of an interface name (api.c, 0 if unknown) */
uint32_t tcpip_zone_of(const char *name);
int tcpip_parse_ipv4(const char *s, size_t n, uint8_t out[4]);
int tcpip_parse_ipv6(const char *s, size_t n, uint8_t out[16]);

#endif
