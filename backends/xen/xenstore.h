/* backends/xen/xenstore.h: a synchronous xenstore client over the shared xenstore ring. */
#ifndef MIRC_XEN_XENSTORE_H
#define MIRC_XEN_XENSTORE_H

/*
 * xenstore is the hierarchical key-value store through which the toolstack
 * describes devices and front and back ends negotiate them. This client
 * speaks the wire protocol of xen/io/xs_wire.h over the page the toolstack
 * shares with every domain (HVM_PARAM_STORE_PFN / _EVTCHN).
 *
 * Model: one request at a time. Each call writes a request (streamed through
 * the 1 KB request ring in pieces if needed), then waits through the port
 * for the reply with its request id, up to xs_timeout. Watch events arrive on
 * the same ring, interleaved with replies; they are dispatched to the watch's
 * callback as they are read, both while waiting for a reply and in
 * xen_xs_poll. Replies carrying another request id (late, or never asked
 * for) are dropped and counted.
 *
 * Relative paths ("device/vif/0/mac") are relative to the domain's home
 * /local/domain/<domid>; xenstored resolves them.
 *
 * Ownership: the caller owns struct xen_xs, the ring page and every buffer it
 * passes. Every call except xen_xs_poll may block (in port wait) for up to
 * xs_timeout. A protocol violation by the daemon (ring indexes out of range,
 * a message longer than XENSTORE_PAYLOAD_MAX, a request stream cut by a
 * timeout) makes the client unusable: that call and every later one return
 * MIRC_IO.
 *
 * Statuses common to every request: MIRC_OK; MIRC_INVALID (NULL or over-long
 * path); MIRC_TIMED_OUT (no reply by the deadline); MIRC_IO (protocol
 * violation, wrong reply type, unknown error); MIRC_BUSY (called from a watch
 * callback). Error replies map as: ENOENT -> MIRC_NOT_FOUND, EAGAIN ->
 * MIRC_AGAIN, EINVAL -> MIRC_INVALID, E2BIG -> MIRC_TOO_BIG, ENOSPC/ENOMEM ->
 * MIRC_NO_SPACE, EEXIST/EBUSY -> MIRC_BUSY, ENOSYS -> MIRC_UNSUPPORTED,
 * others -> MIRC_IO (the daemon's string is kept in xs_last_error).
 */

#include "xen_port.h"

#include <xen/io/xs_wire.h>

#define XEN_XS_WATCH_MAX  40
#define XEN_XS_PATH_MAX   256            /* longest path this client handles */
#define XEN_XS_TIMEOUT_NS 30000000000ull /* default per-request timeout: 30 s */

/*
 * Called when a watched path (or a node below it) changes, and once when the
 * watch is set. Runs inside a client call: it must not call the client (it
 * would get MIRC_BUSY); set a flag and act after the call returns.
 */
typedef void (*xen_xs_watch_cb)(void *ctx, const char *path);

struct xen_xs_watch {
    int xw_used;
    xen_xs_watch_cb xw_cb;
    void *xw_ctx;
    char xw_path[XEN_XS_PATH_MAX];
};

struct xen_xs_stats {
    uint64_t events;        /* watch events delivered to a callback */
    uint64_t stray_replies; /* replies for no request in flight, or with a wrong id */
    uint64_t bad_events;    /* malformed watch events or unknown tokens */
};

struct xen_xs {
    struct xen_port xs_port;
    struct xenstore_domain_interface *xs_ring;
    evtchn_port_t xs_evtchn;
    uint64_t xs_timeout; /* ns per request; XEN_XS_TIMEOUT_NS after init */
    uint32_t xs_next_id;
    int xs_broken; /* a protocol violation was seen: every call returns MIRC_IO */
    int xs_in_cb;
    struct xsd_sockmsg xs_hdr;              /* the message being received */
    uint32_t xs_got;                        /* bytes of it received so far */
    char xs_body[XENSTORE_PAYLOAD_MAX + 1]; /* its payload, NUL-terminated */
    char xs_last_error[16];                 /* the last error reply, e.g. "EACCES" */
    struct xen_xs_watch xs_watches[XEN_XS_WATCH_MAX];
    struct xen_xs_stats xs_stats;
};

#define XEN_XS_NO_TX 0u /* the transaction id of a request outside any transaction */

/* Attaches to the ring page and its event channel. Does not block. */
void xen_xs_init(struct xen_xs *xs, const struct xen_port *port,
                 struct xenstore_domain_interface *ring, evtchn_port_t evtchn);

/*
 * Reads `path` into buf (size bytes, NUL-terminated; values may themselves
 * contain NULs) and stores its length without the terminator in *len (len
 * may be NULL). Returns the common statuses, MIRC_NOT_FOUND, or
 * MIRC_TOO_BIG (the value and its terminator do not fit; buf is untouched).
 */
mirc_status xen_xs_read(struct xen_xs *xs, uint32_t tx, const char *path, char *buf, size_t size,
                        size_t *len);

/*
 * Reads a node holding an unsigned decimal number. Returns as xen_xs_read,
 * and MIRC_IO when the value is not a plain decimal number that fits.
 */
mirc_status xen_xs_read_u64(struct xen_xs *xs, uint32_t tx, const char *path, uint64_t *value);

/* Writes `value` (a string) at `path`, creating the node and its parents. */
mirc_status xen_xs_write(struct xen_xs *xs, uint32_t tx, const char *path, const char *value);
/* Writes a decimal number. */
mirc_status xen_xs_write_u64(struct xen_xs *xs, uint32_t tx, const char *path, uint64_t value);

/* Removes `path` and everything below it. */
mirc_status xen_xs_rm(struct xen_xs *xs, uint32_t tx, const char *path);

/*
 * Lists the children of `path` into buf as consecutive NUL-terminated names
 * and stores their number in *count. Returns as xen_xs_read; MIRC_IO when the
 * reply is not a list of terminated names.
 */
mirc_status xen_xs_directory(struct xen_xs *xs, uint32_t tx, const char *path, char *buf,
                             size_t size, unsigned *count);

/*
 * Sets a watch on `path` and stores its id (for xen_xs_unwatch) in *id. The
 * daemon fires it once at once, then on every change at or below path.
 * Returns the common statuses or MIRC_NO_MEMORY (XEN_XS_WATCH_MAX in use).
 */
mirc_status xen_xs_watch(struct xen_xs *xs, const char *path, xen_xs_watch_cb cb, void *ctx,
                         int *id);
mirc_status xen_xs_unwatch(struct xen_xs *xs, int id);

/* Starts a transaction and stores its id in *tx. */
mirc_status xen_xs_transaction_start(struct xen_xs *xs, uint32_t *tx);

/*
 * Ends transaction tx, committing its writes when `commit` is non-zero.
 * Returns MIRC_AGAIN when the transaction conflicted with another writer and
 * nothing was committed: start it again from the beginning.
 */
mirc_status xen_xs_transaction_end(struct xen_xs *xs, uint32_t tx, int commit);

/*
 * Reads whatever complete messages the ring holds (watch events go to their
 * callbacks) without waiting. Returns MIRC_OK, or MIRC_IO once broken.
 */
mirc_status xen_xs_poll(struct xen_xs *xs);

#endif
