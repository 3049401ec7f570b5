/* backends/xen/xenstore.c: the xenstore wire protocol: requests, replies, watch events. */
#include "xenstore.h"

/* strnlen, which C11 lacks. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

struct xs_part {
    const void *data;
    size_t len;
};

void xen_xs_init(struct xen_xs *xs, const struct xen_port *port,
                 struct xenstore_domain_interface *ring, evtchn_port_t evtchn)
{
    memset(xs, 0, sizeof *xs);
    xs->xs_port = *port;
    xs->xs_ring = ring;
    xs->xs_evtchn = evtchn;
    xs->xs_timeout = XEN_XS_TIMEOUT_NS;
    xs->xs_next_id = 1;
}

static mirc_status broken(struct xen_xs *xs, const char *why)
{
    if (!xs->xs_broken)
        mirc_log("xen: xenstore: %s; xenstore is unusable until reboot", why);
    xs->xs_broken = 1;
    return MIRC_IO;
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

/*
 * Copies response bytes into the message being assembled, stopping at the
 * end of one message. Sets *complete when xs_hdr and xs_body hold a whole one.
 */
static mirc_status recv_some(struct xen_xs *xs, int *complete)
{
    struct xenstore_domain_interface *r = xs->xs_ring;
    XENSTORE_RING_IDX cons = r->rsp_cons;
    XENSTORE_RING_IDX prod = __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE);
    const uint32_t hdr_len = sizeof xs->xs_hdr;

    *complete = 0;
    xen_rmb(); /* read the indexes before the data they cover */
    if (prod - cons > XENSTORE_RING_SIZE)
        return broken(xs, "response ring indexes out of range");
    XENSTORE_RING_IDX start = cons;
    for (;;) {
        if (xs->xs_got >= hdr_len && xs->xs_got == hdr_len + xs->xs_hdr.len) {
            xs->xs_body[xs->xs_hdr.len] = '\0';
            *complete = 1;
            break;
        }
        if (cons == prod)
            break;
        char *dst;
        uint32_t want;
        if (xs->xs_got < hdr_len) {
            dst = (char *)&xs->xs_hdr + xs->xs_got;
            want = hdr_len - xs->xs_got;
        } else {
            dst = xs->xs_body + (xs->xs_got - hdr_len);
            want = hdr_len + xs->xs_hdr.len - xs->xs_got;
        }
        uint32_t n = min3(want, prod - cons, XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons));
        memcpy(dst, r->rsp + MASK_XENSTORE_IDX(cons), n);
        cons += n;
        xs->xs_got += n;
        if (xs->xs_got == hdr_len && xs->xs_hdr.len > XENSTORE_PAYLOAD_MAX) {
            xs->xs_got = 0;
            r->rsp_cons = cons;
            return broken(xs, "message longer than XENSTORE_PAYLOAD_MAX");
        }
    }
    if (cons != start) {
        xen_mb(); /* finish reading the data before handing the space back */
        r->rsp_cons = cons;
        xen_notify(&xs->xs_port, xs->xs_evtchn);
    }
    return MIRC_OK;
}

/* Delivers the watch event in xs_body ("path\0token\0"). */
static void deliver_event(struct xen_xs *xs)
{
    uint32_t len = xs->xs_hdr.len;
    const char *path = xs->xs_body;
    size_t plen = bounded_len(path, len);
    if (plen + 1 >= len || xs->xs_body[len - 1] != '\0') {
        xs->xs_stats.bad_events++;
        return;
    }
    const char *token = path + plen + 1;
    /* our tokens are "mirc" followed by the watch slot in decimal */
    unsigned slot = 0;
    const char *p = token;
    if (strncmp(p, "mirc", 4) != 0 || !p[4]) {
        xs->xs_stats.bad_events++;
        return;
    }
    for (p += 4; *p; p++) {
        if (*p < '0' || *p > '9' || slot >= XEN_XS_WATCH_MAX) {
            xs->xs_stats.bad_events++;
            return;
        }
        slot = slot * 10 + (unsigned)(*p - '0');
    }
    if (slot >= XEN_XS_WATCH_MAX || !xs->xs_watches[slot].xw_used) {
        xs->xs_stats.bad_events++; /* a watch we removed may still fire once */
        return;
    }
    struct xen_xs_watch *w = &xs->xs_watches[slot];
    xs->xs_stats.events++;
    xs->xs_in_cb = 1;
    w->xw_cb(w->xw_ctx, path);
    xs->xs_in_cb = 0;
}

/*
 * Reads complete messages, dispatching watch events and dropping strays,
 * until the ring is drained or the reply with id `want` (0: none) is complete;
 * then sets *got and leaves the reply in xs_hdr/xs_body.
 */
static mirc_status process(struct xen_xs *xs, uint32_t want, int *got)
{
    *got = 0;
    for (;;) {
        int complete;
        mirc_status s = recv_some(xs, &complete);
        if (s != MIRC_OK || !complete)
            return s;
        xs->xs_got = 0; /* the body stays valid until the next recv_some */
        if (xs->xs_hdr.type == XS_WATCH_EVENT) {
            deliver_event(xs);
        } else if (want && xs->xs_hdr.req_id == want) {
            *got = 1;
            return MIRC_OK;
        } else {
            xs->xs_stats.stray_replies++;
        }
    }
}

/* Writes len bytes into the request ring, waiting for space until deadline. */
static mirc_status send_bytes(struct xen_xs *xs, const char *data, size_t len, uint64_t deadline)
{
    struct xenstore_domain_interface *r = xs->xs_ring;
    while (len) {
        XENSTORE_RING_IDX cons = __atomic_load_n(&r->req_cons, __ATOMIC_ACQUIRE);
        XENSTORE_RING_IDX prod = r->req_prod;
        xen_mb(); /* read req_cons before overwriting the space it frees */
        if (prod - cons > XENSTORE_RING_SIZE)
            return broken(xs, "request ring indexes out of range");
        uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (space == 0) {
            if (xen_now(&xs->xs_port) >= deadline)
                return broken(xs, "timed out in the middle of a request");
            xen_notify(&xs->xs_port, xs->xs_evtchn);
            xen_wait(&xs->xs_port, deadline);
            continue;
        }
        uint32_t n = min3((uint32_t)(len < space ? len : space), space,
                          XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod));
        memcpy(r->req + MASK_XENSTORE_IDX(prod), data, n);
        xen_wmb(); /* the daemon must see the bytes before the index covering them */
        r->req_prod = prod + n;
        data += n;
        len -= n;
        xen_notify(&xs->xs_port, xs->xs_evtchn);
    }
    return MIRC_OK;
}

static mirc_status error_status(struct xen_xs *xs)
{
    static const struct {
        const char *name;
        mirc_status s;
    } map[] = {
        { "ENOENT", MIRC_NOT_FOUND }, { "EAGAIN", MIRC_AGAIN },    { "EINVAL", MIRC_INVALID },
        { "E2BIG", MIRC_TOO_BIG },    { "ENOSPC", MIRC_NO_SPACE }, { "ENOMEM", MIRC_NO_SPACE },
        { "EEXIST", MIRC_BUSY },      { "EBUSY", MIRC_BUSY },      { "ENOSYS", MIRC_UNSUPPORTED },
    };
    size_t n = bounded_len(xs->xs_body, xs->xs_hdr.len);
    if (n >= sizeof xs->xs_last_error)
        n = sizeof xs->xs_last_error - 1;
    memcpy(xs->xs_last_error, xs->xs_body, n);
    xs->xs_last_error[n] = '\0';
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(xs->xs_last_error, map[i].name) == 0)
            return map[i].s;
    return MIRC_IO;
}

/*
 * Sends one request made of `parts` and waits for its reply, which is left in
 * xs_hdr/xs_body. Error replies become statuses; a reply of another type than
 * the request is MIRC_IO.
 */
static mirc_status talk(struct xen_xs *xs, enum xsd_sockmsg_type type, uint32_t tx,
                        const struct xs_part *parts, int nparts)
{
    if (xs->xs_broken)
        return MIRC_IO;
    if (xs->xs_in_cb)
        return MIRC_BUSY;
    size_t total = 0;
    for (int i = 0; i < nparts; i++)
        total += parts[i].len;
    if (total > XENSTORE_PAYLOAD_MAX)
        return MIRC_TOO_BIG;

    uint32_t id = xs->xs_next_id++;
    if (xs->xs_next_id == 0)
        xs->xs_next_id = 1; /* 0 means "no request" in process() */
    struct xsd_sockmsg hdr = { .type = type, .req_id = id, .tx_id = tx, .len = (uint32_t)total };
    uint64_t deadline = xen_deadline(&xs->xs_port, xs->xs_timeout);
    mirc_status s = send_bytes(xs, (const char *)&hdr, sizeof hdr, deadline);
    for (int i = 0; i < nparts && s == MIRC_OK; i++)
        s = send_bytes(xs, parts[i].data, parts[i].len, deadline);
    if (s != MIRC_OK)
        return s;

    for (;;) {
        int got;
        s = process(xs, id, &got);
        if (s != MIRC_OK)
            return s;
        if (got)
            break;
        if (xen_now(&xs->xs_port) >= deadline)
            return MIRC_TIMED_OUT; /* a late reply will be dropped as a stray */
        xen_wait(&xs->xs_port, deadline);
    }
    if (xs->xs_hdr.type == XS_ERROR)
        return error_status(xs);
    if (xs->xs_hdr.type != (uint32_t)type) {
        mirc_log("xen: xenstore: reply of type %u to a request of type %u", xs->xs_hdr.type,
                 (unsigned)type);
        return MIRC_IO;
    }
    return MIRC_OK;
}

static int path_ok(const char *path)
{
    return path && path[0] && bounded_len(path, XEN_XS_PATH_MAX) < XEN_XS_PATH_MAX;
}

/* One path, NUL included, as the whole payload. */
static mirc_status talk_path(struct xen_xs *xs, enum xsd_sockmsg_type type, uint32_t tx,
                             const char *path)
{
    if (!path_ok(path))
        return MIRC_INVALID;
    struct xs_part p = { path, strlen(path) + 1 };
    return talk(xs, type, tx, &p, 1);
}

mirc_status xen_xs_read(struct xen_xs *xs, uint32_t tx, const char *path, char *buf, size_t size,
                        size_t *len)
{
    if (!buf)
        return MIRC_INVALID;
    mirc_status s = talk_path(xs, XS_READ, tx, path);
    if (s != MIRC_OK)
        return s;
    uint32_t n = xs->xs_hdr.len;
    if ((size_t)n >= size)
        return MIRC_TOO_BIG;
    memcpy(buf, xs->xs_body, n);
    buf[n] = '\0';
    if (len)
        *len = n;
    return MIRC_OK;
}

mirc_status xen_xs_read_u64(struct xen_xs *xs, uint32_t tx, const char *path, uint64_t *value)
{
    char buf[24];
    size_t len;
    mirc_status s = xen_xs_read(xs, tx, path, buf, sizeof buf, &len);
    if (s == MIRC_TOO_BIG)
        return MIRC_IO; /* longer than any uint64_t */
    if (s != MIRC_OK)
        return s;
    if (len == 0)
        return MIRC_IO;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return MIRC_IO;
        unsigned d = (unsigned)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return MIRC_IO;
        v = v * 10 + d;
    }
    *value = v;
    return MIRC_OK;
}

static int reply_is_ok(const struct xen_xs *xs)
{
    return xs->xs_hdr.len == 3 && memcmp(xs->xs_body, "OK", 3) == 0;
}

/* For requests whose only good reply is "OK". */
static mirc_status expect_ok(struct xen_xs *xs, mirc_status s)
{
    if (s == MIRC_OK && !reply_is_ok(xs)) {
        mirc_log("xen: xenstore: expected OK, got a %u-byte reply", xs->xs_hdr.len);
        return MIRC_IO;
    }
    return s;
}

mirc_status xen_xs_write(struct xen_xs *xs, uint32_t tx, const char *path, const char *value)
{
    if (!path_ok(path) || !value)
        return MIRC_INVALID;
    struct xs_part p[2] = { { path, strlen(path) + 1 }, { value, strlen(value) } };
    return expect_ok(xs, talk(xs, XS_WRITE, tx, p, 2));
}

mirc_status xen_xs_write_u64(struct xen_xs *xs, uint32_t tx, const char *path, uint64_t value)
{
    char buf[21];
    size_t i = sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    return xen_xs_write(xs, tx, path, buf + i);
}

mirc_status xen_xs_rm(struct xen_xs *xs, uint32_t tx, const char *path)
{
    return expect_ok(xs, talk_path(xs, XS_RM, tx, path));
}

mirc_status xen_xs_directory(struct xen_xs *xs, uint32_t tx, const char *path, char *buf,
                             size_t size, unsigned *count)
{
    if (!buf || !count)
        return MIRC_INVALID;
    mirc_status s = talk_path(xs, XS_DIRECTORY, tx, path);
    if (s != MIRC_OK)
        return s;
    uint32_t n = xs->xs_hdr.len;
    if (n && xs->xs_body[n - 1] != '\0')
        return MIRC_IO;
    unsigned c = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (xs->xs_body[i] == '\0') {
            if (i == 0 || xs->xs_body[i - 1] == '\0')
                return MIRC_IO; /* an empty name */
            c++;
        }
    }
    if (n > size)
        return MIRC_TOO_BIG;
    memcpy(buf, xs->xs_body, n);
    *count = c;
    return MIRC_OK;
}

static void token_of(int slot, char token[16])
{
    memcpy(token, "mirc", 4);
    char digits[8];
    int n = 0;
    do {
        digits[n++] = (char)('0' + slot % 10);
        slot /= 10;
    } while (slot);
    for (int i = 0; i < n; i++)
        token[4 + i] = digits[n - 1 - i];
    token[4 + n] = '\0';
}

mirc_status xen_xs_watch(struct xen_xs *xs, const char *path, xen_xs_watch_cb cb, void *ctx,
                         int *id)
{
    if (!path_ok(path) || !cb || !id)
        return MIRC_INVALID;
    int slot = -1;
    for (int i = 0; i < XEN_XS_WATCH_MAX && slot < 0; i++)
        if (!xs->xs_watches[i].xw_used)
            slot = i;
    if (slot < 0)
        return MIRC_NO_MEMORY;
    struct xen_xs_watch *w = &xs->xs_watches[slot];
    /* registered before the request: the daemon fires the watch at once */
    w->xw_used = 1;
    w->xw_cb = cb;
    w->xw_ctx = ctx;
    strcpy(w->xw_path, path);
    char token[16];
    token_of(slot, token);
    struct xs_part p[2] = { { path, strlen(path) + 1 }, { token, strlen(token) + 1 } };
    mirc_status s = expect_ok(xs, talk(xs, XS_WATCH, XEN_XS_NO_TX, p, 2));
    if (s != MIRC_OK) {
        w->xw_used = 0;
        return s;
    }
    *id = slot;
    return MIRC_OK;
}

mirc_status xen_xs_unwatch(struct xen_xs *xs, int id)
{
    if (id < 0 || id >= XEN_XS_WATCH_MAX || !xs->xs_watches[id].xw_used)
        return MIRC_INVALID;
    struct xen_xs_watch *w = &xs->xs_watches[id];
    char token[16];
    token_of(id, token);
    struct xs_part p[2] = { { w->xw_path, strlen(w->xw_path) + 1 }, { token, strlen(token) + 1 } };
    mirc_status s = expect_ok(xs, talk(xs, XS_UNWATCH, XEN_XS_NO_TX, p, 2));
    if (s == MIRC_OK || s == MIRC_NOT_FOUND)
        w->xw_used = 0; /* events already queued for it are counted as bad_events */
    return s == MIRC_NOT_FOUND ? MIRC_OK : s;
}

mirc_status xen_xs_transaction_start(struct xen_xs *xs, uint32_t *tx)
{
    if (!tx)
        return MIRC_INVALID;
    struct xs_part p = { "", 1 };
    mirc_status s = talk(xs, XS_TRANSACTION_START, XEN_XS_NO_TX, &p, 1);
    if (s != MIRC_OK)
        return s;
    uint32_t n = xs->xs_hdr.len;
    if (n < 2 || xs->xs_body[n - 1] != '\0')
        return MIRC_IO;
    uint64_t v = 0;
    for (uint32_t i = 0; i + 1 < n; i++) {
        char c = xs->xs_body[i];
        if (c < '0' || c > '9' || v > UINT32_MAX / 10)
            return MIRC_IO;
        v = v * 10 + (unsigned)(c - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return MIRC_IO;
    *tx = (uint32_t)v;
    return MIRC_OK;
}

mirc_status xen_xs_transaction_end(struct xen_xs *xs, uint32_t tx, int commit)
{
    if (tx == XEN_XS_NO_TX)
        return MIRC_INVALID;
    struct xs_part p = { commit ? "T" : "F", 2 };
    return expect_ok(xs, talk(xs, XS_TRANSACTION_END, tx, &p, 1));
}

mirc_status xen_xs_poll(struct xen_xs *xs)
{
    if (xs->xs_broken)
        return MIRC_IO;
    if (xs->xs_in_cb)
        return MIRC_BUSY;
    int got;
    return process(xs, 0, &got);
}
