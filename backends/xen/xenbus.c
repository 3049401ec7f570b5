/* backends/xen/xenbus.c: device lookup, xenbus state changes and transactions for frontends. */
#include "xenbus.h"

void xen_env_init(struct xen_env *env, const struct xen_port *port, struct xen_gnttab *gt,
                  struct xen_xs *xs)
{
    env->port = *port;
    env->gt = gt;
    env->xs = xs;
    env->connect_timeout = XEN_CONNECT_TIMEOUT_NS;
    env->io_timeout = XEN_IO_TIMEOUT_NS;
}

mirc_status xen_bus_path(char *out, size_t size, const char *dir, const char *key)
{
    size_t a = strlen(dir), b = strlen(key);
    if (a + 1 + b + 1 > size)
        return MIRC_TOO_BIG;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, key, b + 1);
    return MIRC_OK;
}

/* A device id: 1 to 9 decimal digits, no sign, no leading zero unless "0". */
static int parse_id(const char *s, uint32_t *id)
{
    size_t n = strlen(s);
    if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *id = v;
    return 1;
}

mirc_status xen_bus_find(struct xen_env *env, const char *type, unsigned index, char *node,
                         size_t size, unsigned *count)
{
    static char names[XENSTORE_PAYLOAD_MAX + 1]; /* boot time only, one caller at a time */
    char dir[32];
    unsigned n;

    if (count)
        *count = 0;
    if (xen_bus_path(dir, sizeof dir, "device", type) != MIRC_OK)
        return MIRC_INVALID;
    mirc_status s = xen_xs_directory(env->xs, XEN_XS_NO_TX, dir, names, sizeof names, &n);
    if (s == MIRC_NOT_FOUND)
        n = 0; /* no device of this type at all */
    else if (s != MIRC_OK)
        return s;

    /* selection by rank: the index-th smallest id, without sorting or allocating */
    unsigned valid = 0, found = 0;
    uint32_t want = 0;
    const char *p = names;
    for (unsigned i = 0; i < n; i++, p += strlen(p) + 1) {
        uint32_t id;
        if (!parse_id(p, &id))
            continue; /* not a device id: ignore */
        valid++;
        unsigned rank = 0;
        const char *q = names;
        for (unsigned j = 0; j < n; j++, q += strlen(q) + 1) {
            uint32_t other;
            if (parse_id(q, &other) && other < id)
                rank++;
        }
        if (rank == index) {
            want = id;
            found = 1;
        }
    }
    if (count)
        *count = valid;
    if (!found)
        return MIRC_NOT_FOUND;
    char idbuf[12];
    size_t i = sizeof idbuf - 1;
    idbuf[i] = '\0';
    do {
        idbuf[--i] = (char)('0' + want % 10);
        want /= 10;
    } while (want);
    return xen_bus_path(node, size, dir, idbuf + i);
}

static void state_changed(void *ctx, const char *path)
{
    (void)path;
    ((struct xen_bus_dev *)ctx)->xd_changed = 1;
}

static mirc_status fail(struct xen_bus_dev *d, mirc_status s, const char *why)
{
    d->xd_why = why;
    return s;
}

mirc_status xen_bus_open(struct xen_bus_dev *d, struct xen_env *env, const char *node)
{
    char path[XEN_XS_PATH_MAX];
    uint64_t id;
    mirc_status s;

    memset(d, 0, sizeof *d);
    d->xd_env = env;
    d->xd_watch = -1;
    d->xd_state = XenbusStateUnknown;
    if (strlen(node) >= sizeof d->xd_node)
        return fail(d, MIRC_INVALID, "device path too long");
    strcpy(d->xd_node, node);

    if (xen_bus_path(path, sizeof path, node, "backend") != MIRC_OK)
        return fail(d, MIRC_INVALID, "device path too long");
    s = xen_xs_read(env->xs, XEN_XS_NO_TX, path, d->xd_backend, sizeof d->xd_backend, NULL);
    if (s != MIRC_OK)
        return fail(d, s == MIRC_TOO_BIG ? MIRC_IO : s, "cannot read its 'backend' key");
    if (d->xd_backend[0] != '/' || strlen(d->xd_backend) + sizeof "/state" > XEN_XS_PATH_MAX)
        return fail(d, MIRC_IO, "its 'backend' key is not an absolute xenstore path");

    xen_bus_path(path, sizeof path, node, "backend-id");
    s = xen_xs_read_u64(env->xs, XEN_XS_NO_TX, path, &id);
    if (s != MIRC_OK)
        return fail(d, s, "cannot read its 'backend-id' key");
    if (id >= DOMID_FIRST_RESERVED)
        return fail(d, MIRC_IO, "its 'backend-id' is not a domain id");
    d->xd_backend_id = (domid_t)id;

    d->xd_changed = 1; /* read the state on the first wait even if the watch is slow */
    xen_bus_path(path, sizeof path, d->xd_backend, "state");
    s = xen_xs_watch(env->xs, path, state_changed, d, &d->xd_watch);
    if (s != MIRC_OK) {
        d->xd_watch = -1;
        return fail(d, s, "cannot watch its back end's state");
    }
    return MIRC_OK;
}

void xen_bus_close(struct xen_bus_dev *d)
{
    if (d->xd_watch >= 0)
        (void)xen_xs_unwatch(d->xd_env->xs, d->xd_watch);
    d->xd_watch = -1;
}

void xen_bus_shutdown(struct xen_bus_dev *d)
{
    (void)xen_bus_switch(d, XenbusStateClosing);
    if (d->xd_state == XenbusStateInitialised || d->xd_state == XenbusStateConnected)
        (void)xen_bus_wait(d, 1u << XenbusStateClosing | 1u << XenbusStateClosed);
    (void)xen_bus_switch(d, XenbusStateClosed);
}

mirc_status xen_bus_switch(struct xen_bus_dev *d, enum xenbus_state st)
{
    char path[XEN_XS_PATH_MAX];
    xen_bus_path(path, sizeof path, d->xd_node, "state");
    mirc_status s = xen_xs_write_u64(d->xd_env->xs, XEN_XS_NO_TX, path, (uint64_t)st);
    return s == MIRC_OK ? s : fail(d, s, "cannot write its 'state' key");
}

/* Re-reads the back end's state if the watch fired. */
static mirc_status refresh(struct xen_bus_dev *d)
{
    if (!d->xd_changed)
        return MIRC_OK;
    d->xd_changed = 0;
    char path[XEN_XS_PATH_MAX];
    uint64_t v;
    xen_bus_path(path, sizeof path, d->xd_backend, "state");
    mirc_status s = xen_xs_read_u64(d->xd_env->xs, XEN_XS_NO_TX, path, &v);
    if (s == MIRC_NOT_FOUND) {
        /* gone after having been there means removed; before, not created yet */
        d->xd_state = d->xd_state == XenbusStateUnknown ? XenbusStateUnknown : XenbusStateClosed;
        return MIRC_OK;
    }
    if (s != MIRC_OK)
        return fail(d, s, "cannot read its back end's state");
    d->xd_state = v > XenbusStateReconfigured ? XenbusStateUnknown : (enum xenbus_state)v;
    return MIRC_OK;
}

mirc_status xen_bus_wait(struct xen_bus_dev *d, unsigned states)
{
    struct xen_env *env = d->xd_env;
    uint64_t deadline = xen_deadline(&env->port, env->connect_timeout);
    for (;;) {
        mirc_status s = refresh(d);
        if (s != MIRC_OK)
            return s;
        if (states & (1u << d->xd_state))
            return MIRC_OK;
        if (d->xd_state == XenbusStateClosing || d->xd_state == XenbusStateClosed)
            return fail(d, MIRC_CLOSED, "its back end closed the device");
        if (xen_now(&env->port) >= deadline)
            return fail(d, MIRC_TIMED_OUT, "its back end did not reach the expected state in time");
        xen_wait(&env->port, deadline);
        s = xen_xs_poll(env->xs);
        if (s != MIRC_OK)
            return fail(d, s, "xenstore failed");
    }
}

mirc_status xen_bus_check(struct xen_bus_dev *d)
{
    mirc_status s = xen_xs_poll(d->xd_env->xs);
    if (s == MIRC_OK)
        s = refresh(d);
    if (s != MIRC_OK)
        return fail(d, MIRC_IO, "xenstore failed");
    if (d->xd_state != XenbusStateConnected)
        return fail(d, MIRC_CLOSED, "its back end left the Connected state");
    return MIRC_OK;
}

mirc_status xen_bus_transact(struct xen_bus_dev *d, mirc_status (*fn)(void *ctx, uint32_t tx),
                             void *ctx)
{
    struct xen_xs *xs = d->xd_env->xs;
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t tx;
        mirc_status s = xen_xs_transaction_start(xs, &tx);
        if (s != MIRC_OK)
            return fail(d, s, "cannot start a xenstore transaction");
        s = fn(ctx, tx);
        if (s != MIRC_OK) {
            (void)xen_xs_transaction_end(xs, tx, 0);
            return fail(d, s, "cannot write its configuration to xenstore");
        }
        s = xen_xs_transaction_end(xs, tx, 1);
        if (s != MIRC_AGAIN)
            return s == MIRC_OK ? s : fail(d, s, "cannot commit its configuration to xenstore");
    }
    return fail(d, MIRC_AGAIN, "xenstore transaction kept conflicting");
}
