/* mirc/tcpip.h: TCP, UDP, ICMP echo and DNS for mirc apps, on lwIP or (unix) host sockets. */
#ifndef MIRC_TCPIP_H
#define MIRC_TCPIP_H

#include <stddef.h>
#include <stdint.h>

#include "mirc/status.h"

/*
 * The model, in the manner of libuv streams:
 *
 * - mirc_tcpip_init() reads the network options from the boot arguments,
 *   brings up every NIC of the manifest and picks the stack: lwIP (every
 *   target; frames over mirc/net.h) or, on unix only, the socket stack (the
 *   same calls on the host's own TCP/UDP sockets, no NIC, no root).
 * - Everything happens on the loop (mirc/loop.h): no call blocks, and every
 *   callback runs from inside mirc_loop_run, one at a time, never from inside
 *   the call that caused it. No threads.
 * - Handles (mirc_tcp, mirc_udp, mirc_ping, mirc_dns) and write requests are
 *   structs the caller allocates and owns; their fields are private. A handle
 *   must stay valid from the call that opens it until it is closed (TCP:
 *   until its close callback). The stack allocates nothing per packet from
 *   the C heap; its buffers are pools sized at build time.
 * - Data passed to a read callback belongs to the stack and is valid only
 *   during the callback. A write's buffer belongs to the stack until the
 *   write's callback runs.
 * - Every call returns a mirc_status; callbacks receive one. No lwIP type
 *   ever appears here, so the same source builds against both stacks.
 */

/* Addresses */

#define MIRC_IPV4 4
#define MIRC_IPV6 6

typedef struct mirc_ipaddr {
    uint8_t family;    /* MIRC_IPV4, MIRC_IPV6, or 0 for "any" (unspecified) */
    uint8_t bytes[16]; /* network byte order; IPv4 uses bytes[0..3] */
    uint32_t zone;     /* IPv6 link-local: interface index (1-based, see mirc_tcpip_iface_get) */
} mirc_ipaddr;

#define MIRC_IPADDR_STRLEN 64 /* enough for any formatted address with its zone */

/*
 * Parses "10.0.0.2", "fe80::1", "fe80::1%service0" (zone by NIC name or
 * number) or "::" into *out. Returns MIRC_OK or MIRC_INVALID.
 */
mirc_status mirc_ipaddr_parse(const char *text, mirc_ipaddr *out);

/*
 * Formats addr ("10.0.0.2", "fe80::1%1", "any") into buf of size bytes,
 * always NUL-terminated. Returns buf.
 */
char *mirc_ipaddr_format(const mirc_ipaddr *addr, char *buf, size_t size);

/* Non-zero when a and b are the same family, bytes and zone. */
int mirc_ipaddr_equal(const mirc_ipaddr *a, const mirc_ipaddr *b);

/* The stack */

/*
 * Reads the network options from argv (see libs/tcpip/README.md):
 *
 *   --ipv4=A/N  --ipv4-gateway=G  --dhcp  --ipv6=A/N  --no-slaac
 *   --dns=A (repeatable)  --ipv4-only  --ipv6-only     for the first NIC
 *   --ipv4:NIC=A/N  --ipv4-gateway:NIC=G  --dhcp:NIC
 *   --ipv6:NIC=A/N  --no-slaac:NIC                     for the NIC named NIC
 *   --stack=lwip|socket  --publish=HOSTPORT:PORT        stack choice (unix)
 *   --tcpip-memory=SIZE                                 lwIP's memory budget (512K..1G;
 *                                                       default half of mirc_memory_size())
 *
 * removes them from argv (updating *argc, keeping argv[*argc] NULL and the
 * order of the rest), and starts the stack. Later options override earlier
 * ones, so boot arguments override the manifest's `args`. Every NIC gets an
 * IPv6 link-local address and SLAAC unless told otherwise; a NIC with no
 * IPv4 option has no IPv4 address.
 *
 * Call once, from mirc_main, before the loop runs. Prints one line saying
 * what is wrong before returning an error. Returns MIRC_OK; MIRC_INVALID (a
 * malformed option, or an option naming a NIC the manifest does not
 * declare); MIRC_UNSUPPORTED (--stack=socket on a target without it);
 * MIRC_BUSY (already started); MIRC_NOT_FOUND (lwIP and no NIC declared).
 */
mirc_status mirc_tcpip_init(int *argc, char **argv);

/* "lwip" or "socket" once started, else "none". */
const char *mirc_tcpip_stack(void);

#define MIRC_TCPIP_IPV6_ADDRS 3

/* One interface's state. lwIP: one per NIC; socket stack: one, "host". */
typedef struct mirc_tcpip_iface {
    const char *name;    /* the NIC's manifest name */
    uint8_t mac[6];      /* zero for the socket stack */
    uint16_t mtu;        /* 0 for the socket stack */
    mirc_ipaddr ipv4;    /* family 0 while there is none (no option, DHCP not bound) */
    uint8_t ipv4_prefix; /* netmask length */
    mirc_ipaddr gateway; /* family 0 when none */
    int dhcp;            /* 0 off, 1 asking, 2 bound */
    mirc_ipaddr
        ipv6[MIRC_TCPIP_IPV6_ADDRS]; /* valid or tentative addresses; family 0: slot unused */
    uint8_t ipv6_preferred[MIRC_TCPIP_IPV6_ADDRS]; /* 1 once duplicate detection passed */
} mirc_tcpip_iface;

/* The number of interfaces (0 before mirc_tcpip_init). */
unsigned mirc_tcpip_iface_count(void);

/*
 * Fills *out for interface `index` (0-based; its IPv6 zone is index + 1).
 * Returns MIRC_OK, MIRC_INVALID (out NULL) or MIRC_NOT_FOUND.
 */
mirc_status mirc_tcpip_iface_get(unsigned index, mirc_tcpip_iface *out);

/*
 * Called after an interface's addresses change (DHCP lease, SLAAC, duplicate
 * detection done) with the interface's index. One callback; NULL clears it.
 */
typedef void (*mirc_tcpip_change_cb)(unsigned index, void *ctx);
void mirc_tcpip_on_change(mirc_tcpip_change_cb cb, void *ctx);

typedef struct mirc_tcpip_stats {
    uint64_t frames_in, frames_out; /* Ethernet frames (lwIP) */
    uint64_t frames_dropped;        /* malformed, unknown or unroutable input, failed output */
    uint64_t checksum_errors;       /* IPv4, ICMP, UDP and TCP checksum failures */
    uint64_t tcp_accepted, tcp_connected; /* connections made, since start */
    uint64_t tcp_open;                    /* mirc_tcp handles currently connected */
    uint64_t bytes_in, bytes_out;         /* TCP payload delivered to and accepted from apps */
    uint64_t pool_failures;               /* allocations refused: a share of memory was full */
    /* lwIP's memory (0 on the socket stack): its budget, set at start from mirc_memory_size()
     * or --tcpip-memory, what it uses now, at most so far, and how much of it holds received
     * data not yet delivered and written data not yet acknowledged */
    uint64_t mem_limit, mem_used, mem_peak, mem_rx, mem_tx;
    uint64_t tcp_half_open;         /* connections in the handshake now */
    uint64_t tcp_half_open_evicted; /* half-open connections dropped for newer SYNs */
    uint64_t tcp_refused;           /* connections refused: the memory budget was committed */
    uint64_t frames_shed;           /* data frames dropped because received data filled its share */
} mirc_tcpip_stats;

/* Copies the stack's counters. Returns MIRC_OK or MIRC_INVALID (NULL). */
mirc_status mirc_tcpip_stats_get(mirc_tcpip_stats *out);

/* Private plumbing every handle embeds; apps never touch it. */
typedef struct mirc_tcpip_link {
    struct mirc_tcpip_link *next;
    void (*run)(struct mirc_tcpip_link *link);
    int queued;
} mirc_tcpip_link;

/* TCP */

typedef struct mirc_tcp mirc_tcp;
typedef struct mirc_tcp_write_req mirc_tcp_write_req;

/*
 * Data arrived (status MIRC_OK, len > 0, data valid during the call only),
 * or the stream ended: MIRC_CLOSED when the peer finished sending (len 0;
 * the app may still write, then close), MIRC_RESET, MIRC_TIMED_OUT or
 * another error when the connection died (the app should close the handle).
 * After an end no more read callbacks run.
 */
typedef void (*mirc_tcp_read_cb)(mirc_tcp *tcp, mirc_status status, const void *data, size_t len,
                                 void *ctx);
/* A connection is waiting on a listener: call mirc_tcp_accept() now. */
typedef void (*mirc_tcp_accept_cb)(mirc_tcp *listener, void *ctx);
/* A connect finished: MIRC_OK, MIRC_REFUSED, MIRC_TIMED_OUT, MIRC_UNREACHABLE, MIRC_NOT_FOUND
 * (name did not resolve). On failure the handle is closed already (no close needed). */
typedef void (*mirc_tcp_connect_cb)(mirc_tcp *tcp, mirc_status status, void *ctx);
/* All bytes of the write are in the stack's send buffer (MIRC_OK, buf may be reused), or the
 * write was cancelled by close or a connection error (that status). */
typedef void (*mirc_tcp_write_cb)(mirc_tcp_write_req *req, mirc_status status, void *ctx);
/* The handle is closed; its memory may be reused. */
typedef void (*mirc_tcp_close_cb)(mirc_tcp *tcp, void *ctx);

struct mirc_tcp_write_req {
    /* Private. */
    mirc_tcpip_link link;
    mirc_tcp_write_req *next;
    mirc_tcp *tcp;
    const uint8_t *buf;
    size_t len, done;
    mirc_tcp_write_cb cb;
    void *ctx;
    mirc_status status;
};

struct mirc_tcp {
    /* Private. */
    mirc_tcpip_link link;
    void *impl; /* the stack's connection */
    void *ctx;
    mirc_tcp_read_cb read_cb;
    mirc_tcp_accept_cb accept_cb;
    mirc_tcp_connect_cb connect_cb;
    mirc_tcp_close_cb close_cb;
    mirc_tcp_write_req *wq_head, *wq_tail;     /* not yet all in the stack */
    mirc_tcp_write_req *done_head, *done_tail; /* completed; callbacks pending */
    size_t wq_bytes;
    uint32_t flags;
    mirc_status error;     /* the connection's end, once known */
    mirc_status connected; /* connect result waiting for its callback */
    uint16_t port;         /* connect by name: the port */
    int dns_slot;          /* connect by name: the lookup, or -1 */
};

/*
 * Listens on port (0: any free port; see mirc_tcp_local) at addr (NULL or
 * family 0: every address of every interface, IPv4 and IPv6). accept_cb runs
 * once per new connection; it must call mirc_tcp_accept() before returning
 * or the connection is reset. backlog limits connections in the handshake.
 * With the socket stack a --publish mapping for the port picks the host port.
 * Initialises `tcp` (which must not be open).
 *
 * Returns MIRC_OK; MIRC_INVALID (NULL tcp or cb, bad addr); MIRC_BUSY (port
 * in use); MIRC_NO_MEMORY (no listener left in the pool); MIRC_CLOSED (stack
 * not started); MIRC_IO (the host refused, socket stack).
 */
mirc_status mirc_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog,
                            mirc_tcp_accept_cb cb, void *ctx);

/*
 * Only inside the listener's accept callback: takes the new connection into
 * `conn` (initialised here; must not be open). Reading starts with
 * mirc_tcp_read_start. Returns MIRC_OK; MIRC_INVALID (NULL, not a
 * listener); MIRC_AGAIN (no connection waiting: not inside the callback, or
 * already accepted).
 */
mirc_status mirc_tcp_accept(mirc_tcp *listener, mirc_tcp *conn);

/*
 * Connects to addr:port. cb runs once with the result. Initialises `tcp`.
 * Returns MIRC_OK (cb will run), MIRC_INVALID, MIRC_UNREACHABLE (no route
 * now), MIRC_NO_MEMORY, MIRC_CLOSED (stack not started).
 */
mirc_status mirc_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port,
                             mirc_tcp_connect_cb cb, void *ctx);

/*
 * Like mirc_tcp_connect, to `host` (a name, resolved with DNS, or an
 * address literal). The string is copied. A name that does not resolve ends
 * in cb with MIRC_NOT_FOUND; no DNS server, MIRC_UNREACHABLE.
 */
mirc_status mirc_tcp_connect_name(mirc_tcp *tcp, const char *host, uint16_t port,
                                  mirc_tcp_connect_cb cb, void *ctx);

/*
 * Delivers incoming data to cb until stopped or ended. Data that arrived
 * while reading was stopped is delivered first (from the loop, not from
 * inside this call). Returns MIRC_OK, MIRC_INVALID (not connected or NULL
 * cb), or the connection's end status if it has already ended and that was
 * delivered.
 */
mirc_status mirc_tcp_read_start(mirc_tcp *tcp, mirc_tcp_read_cb cb, void *ctx);

/*
 * Stops delivering data. Arriving data is held (up to the receive window,
 * which then closes, so the peer waits): the read side's backpressure.
 * Idempotent. Returns MIRC_OK or MIRC_INVALID.
 */
mirc_status mirc_tcp_read_stop(mirc_tcp *tcp);

/*
 * Queues len bytes of buf for sending. The bytes go into the stack's send
 * buffer as it has room, in the order written; cb runs when all are in
 * (buf may then be reused) or when the write is cancelled. Writes are never
 * refused for lack of room: the number of bytes not yet in the stack
 * (mirc_tcp_write_queue_size) and the pace of the callbacks are the write
 * side's backpressure. len 0 is allowed (cb runs after earlier writes).
 *
 * Returns MIRC_OK (cb will run), MIRC_INVALID (NULL, not connected),
 * MIRC_CLOSED (after shutdown or close) or the connection's error.
 */
mirc_status mirc_tcp_write(mirc_tcp *tcp, mirc_tcp_write_req *req, const void *buf, size_t len,
                           mirc_tcp_write_cb cb, void *ctx);

/*
 * Copies as much of buf as the send buffer takes now, if nothing is queued
 * ahead, and stores the count in *written. Returns MIRC_OK (some or all
 * taken), MIRC_AGAIN (nothing taken: buffer full or writes queued), or as
 * mirc_tcp_write.
 */
mirc_status mirc_tcp_try_write(mirc_tcp *tcp, const void *buf, size_t len, size_t *written);

/* Bytes written with mirc_tcp_write and not yet in the stack's send buffer. */
size_t mirc_tcp_write_queue_size(const mirc_tcp *tcp);

/*
 * Sends FIN once every queued write is in the stack: the peer reads EOF;
 * this side can still read. Returns MIRC_OK, MIRC_INVALID, or MIRC_CLOSED
 * (already shut down or closing).
 */
mirc_status mirc_tcp_shutdown(mirc_tcp *tcp);

/*
 * Closes the handle: queued writes are cancelled (their callbacks run with
 * MIRC_CLOSED); bytes already in the send buffer are still delivered, then
 * FIN. For a listener, stops listening. cb (may be NULL) runs from the loop
 * once the handle may be reused. Closing a closing handle does nothing.
 * Returns MIRC_OK or MIRC_INVALID.
 */
mirc_status mirc_tcp_close(mirc_tcp *tcp, mirc_tcp_close_cb cb, void *ctx);

/* Like mirc_tcp_close, but drops unsent data and resets the connection (RST). */
mirc_status mirc_tcp_abort(mirc_tcp *tcp, mirc_tcp_close_cb cb, void *ctx);

/* The local and remote address and port. MIRC_OK, MIRC_INVALID or MIRC_CLOSED. */
mirc_status mirc_tcp_local(const mirc_tcp *tcp, mirc_ipaddr *addr, uint16_t *port);
mirc_status mirc_tcp_peer(const mirc_tcp *tcp, mirc_ipaddr *addr, uint16_t *port);

/* Disables (on != 0) or enables Nagle's algorithm. MIRC_OK, MIRC_INVALID or MIRC_CLOSED. */
mirc_status mirc_tcp_nodelay(mirc_tcp *tcp, int on);

/* UDP */

typedef struct mirc_udp mirc_udp;

/* A datagram arrived; data is valid during the call only. */
typedef void (*mirc_udp_recv_cb)(mirc_udp *udp, const void *data, size_t len,
                                 const mirc_ipaddr *from, uint16_t from_port, void *ctx);

struct mirc_udp {
    /* Private. */
    void *impl;
    mirc_udp_recv_cb cb;
    void *ctx;
    int open;
};

/*
 * Binds addr:port (NULL addr: any; port 0: a free one) and delivers every
 * datagram to cb (may be NULL to only send). Initialises `udp`.
 * Returns MIRC_OK, MIRC_INVALID, MIRC_BUSY (port in use), MIRC_NO_MEMORY,
 * MIRC_CLOSED (stack not started), MIRC_IO.
 */
mirc_status mirc_udp_open(mirc_udp *udp, const mirc_ipaddr *addr, uint16_t port,
                          mirc_udp_recv_cb cb, void *ctx);

/*
 * Sends one datagram of len bytes (copied before return) to to:port.
 * Returns MIRC_OK (handed to the stack; UDP may still lose it),
 * MIRC_INVALID, MIRC_TOO_BIG (over 65,507 bytes, or over the MTU where the
 * stack cannot fragment), MIRC_UNREACHABLE (no route), MIRC_NO_MEMORY or
 * MIRC_AGAIN (buffers full now), MIRC_CLOSED.
 */
mirc_status mirc_udp_send(mirc_udp *udp, const mirc_ipaddr *to, uint16_t port, const void *buf,
                          size_t len);

/* The bound address and port. MIRC_OK, MIRC_INVALID or MIRC_CLOSED. */
mirc_status mirc_udp_local(const mirc_udp *udp, mirc_ipaddr *addr, uint16_t *port);

/* Stops receiving and frees the port; the handle may be reused at once. Idempotent. */
void mirc_udp_close(mirc_udp *udp);

/* ICMP and ICMPv6 echo ("ping"; answering is automatic) */

typedef struct mirc_ping mirc_ping;

/*
 * An echo reply to one of this handle's requests: MIRC_OK with the payload
 * intact, or MIRC_INVALID if the payload came back altered. rtt_ns is
 * measured from the send.
 */
typedef void (*mirc_ping_cb)(mirc_ping *ping, mirc_status status, const mirc_ipaddr *from,
                             uint16_t seq, size_t len, uint64_t rtt_ns, void *ctx);

struct mirc_ping {
    /* Private. */
    void *impl4, *impl6;
    mirc_ping_cb cb;
    void *ctx;
    uint16_t ident;
    int open;
};

/*
 * Opens a handle for sending echo requests. Returns MIRC_OK, MIRC_INVALID,
 * MIRC_NO_MEMORY, MIRC_CLOSED, or MIRC_UNSUPPORTED (socket stack: the host
 * forbids ICMP sockets; see net.ipv4.ping_group_range).
 */
mirc_status mirc_ping_open(mirc_ping *ping, mirc_ping_cb cb, void *ctx);

/*
 * Sends one echo request with sequence number seq and len payload bytes
 * (at least 8, at most 1,400) to addr. Returns MIRC_OK, MIRC_INVALID,
 * MIRC_UNREACHABLE, MIRC_NO_MEMORY, MIRC_AGAIN, MIRC_CLOSED.
 */
mirc_status mirc_ping_send(mirc_ping *ping, const mirc_ipaddr *addr, uint16_t seq, size_t len);

/* Stops receiving replies; the handle may be reused at once. Idempotent. */
void mirc_ping_close(mirc_ping *ping);

/* DNS */

typedef struct mirc_dns mirc_dns;

/* The lookup finished: MIRC_OK and the address, MIRC_NOT_FOUND, MIRC_TIMED_OUT, MIRC_UNREACHABLE.
 */
typedef void (*mirc_dns_cb)(mirc_dns *req, mirc_status status, const mirc_ipaddr *addr, void *ctx);

struct mirc_dns {
    /* Private. */
    mirc_tcpip_link link;
    mirc_dns_cb cb;
    void *ctx;
    mirc_status status;
    mirc_ipaddr addr;
    int slot;
};

/*
 * Resolves `name` (copied) to an address of `family` (MIRC_IPV4, MIRC_IPV6
 * or 0 for either, IPv4 first) using the --dns servers, DHCP's or the
 * host's (socket stack). An address literal resolves to itself. cb runs
 * once, from the loop, unless cancelled. Returns MIRC_OK, MIRC_INVALID
 * (NULL, empty or over 255 bytes), MIRC_NO_MEMORY (too many lookups at
 * once), MIRC_CLOSED.
 */
mirc_status mirc_dns_resolve(mirc_dns *req, const char *name, int family, mirc_dns_cb cb,
                             void *ctx);

/* Cancels a pending lookup: its callback will not run. Idempotent. */
void mirc_dns_cancel(mirc_dns *req);

#endif
