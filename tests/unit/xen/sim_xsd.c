/* tests/unit/xen/sim_xsd.c: a xenstore daemon model speaking xs_wire.h over the shared ring. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#define X (&sim.xsd)

/* Bounded copy that always terminates (long paths are cut, never overrun). */
static void scopy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}
#define HOME "/local/domain/7"

static struct xsd_node *find(const char *path)
{
    for (unsigned i = 0; i < X->nnodes; i++)
        if (strcmp(X->nodes[i].path, path) == 0)
            return &X->nodes[i];
    return NULL;
}

/* Is `path` equal to `top` or below it? */
static int under(const char *path, const char *top)
{
    size_t n = strlen(top);
    return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void out_bytes(const void *p, size_t n)
{
    cr_assert(X->out_len + n <= sizeof X->out, "xenstored output overflow");
    memcpy(X->out + X->out_len, p, n);
    X->out_len += n;
}

static void out_msg(uint32_t type, uint32_t id, uint32_t tx, const void *payload, uint32_t len)
{
    struct xsd_sockmsg h = { type, id, tx, len };
    out_bytes(&h, sizeof h);
    out_bytes(payload, len);
}

/* The path as the watcher registered it: relative watches see relative paths. */
static void fire(const char *path)
{
    for (unsigned i = 0; i < X->nwatch; i++) {
        const char *w = X->watch[i].path;
        if (!under(path, w) && !under(w, path))
            continue;
        const char *shown = path;
        if (X->watch[i].relative && under(path, HOME))
            shown = path + strlen(HOME) + 1;
        char buf[400];
        size_t a = strlen(shown) + 1, b = strlen(X->watch[i].token) + 1;
        memcpy(buf, shown, a);
        memcpy(buf + a, X->watch[i].token, b);
        out_msg(XS_WATCH_EVENT, 0, 0, buf, (uint32_t)(a + b));
    }
}

static void store(const char *path, const char *val, unsigned len)
{
    /* parents exist implicitly, as in xenstored */
    char parent[256];
    scopy(parent, sizeof parent, path);
    for (char *s = parent + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (!find(parent)) {
            cr_assert(X->nnodes < XSD_NODES);
            struct xsd_node *n = &X->nodes[X->nnodes++];
            scopy(n->path, sizeof n->path, parent);
            n->len = 0;
        }
        *s = '/';
    }
    struct xsd_node *n = find(path);
    if (!n) {
        cr_assert(X->nnodes < XSD_NODES);
        n = &X->nodes[X->nnodes++];
        scopy(n->path, sizeof n->path, path);
    }
    cr_assert(len <= sizeof n->val);
    memcpy(n->val, val, len);
    n->len = len;
    X->gen++;
    fire(path);
}

static void remove_tree(const char *path)
{
    int any = 0;
    for (unsigned i = 0; i < X->nnodes;) {
        if (under(X->nodes[i].path, path)) {
            X->nodes[i] = X->nodes[--X->nnodes];
            any = 1;
        } else {
            i++;
        }
    }
    if (any) {
        X->gen++;
        fire(path);
    }
}

void xsd_set(const char *path, const char *val)
{
    store(path, val, (unsigned)strlen(val));
}

void xsd_setf(const char *path, const char *fmt, ...)
{
    char v[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    xsd_set(path, v);
}

int xsd_get(const char *path, char *buf, size_t size)
{
    struct xsd_node *n = find(path);
    if (!n)
        return -1;
    size_t len = n->len < size - 1 ? n->len : size - 1;
    memcpy(buf, n->val, len);
    buf[len] = '\0';
    return (int)n->len;
}

long long xsd_get_num(const char *path)
{
    char buf[32], *end;
    if (xsd_get(path, buf, sizeof buf) <= 0)
        return -1;
    long long v = strtoll(buf, &end, 10);
    return *end ? -1 : v;
}

void xsd_rm(const char *path)
{
    remove_tree(path);
}

/* ---- requests ---- */

static struct xsd_sockmsg req; /* the request being answered */

static void reply(uint32_t type, const void *payload, uint32_t len)
{
    if (X->drop) {
        X->drop = 0;
        return;
    }
    if (X->stray_before) {
        X->stray_before = 0;
        out_msg(type, req.req_id + 1000, req.tx_id, "OK", 3);
    }
    if (X->event_before) {
        X->event_before = 0;
        for (unsigned i = 0; i < X->nwatch; i++)
            fire(X->watch[i].path);
    }
    if (X->wrong_type) {
        X->wrong_type = 0;
        type = XS_DIRECTORY_PART;
    }
    if (X->raw) {
        payload = X->raw;
        len = X->raw_len;
        X->raw = NULL;
    }
    if (X->bad_len) {
        X->bad_len = 0;
        struct xsd_sockmsg h = { type, req.req_id, req.tx_id, XENSTORE_PAYLOAD_MAX + 1 };
        out_bytes(&h, sizeof h);
        return;
    }
    out_msg(type, req.req_id, req.tx_id, payload, len);
}

static void reply_error(const char *err)
{
    reply(XS_ERROR, err, (uint32_t)strlen(err) + 1);
}

static void reply_ok(void)
{
    reply(req.type, "OK", 3);
}

/* Resolves a request path; NULL if malformed. */
static const char *resolve(const char *p)
{
    static char buf[300];
    if (!p[0] || strlen(p) > 230 || strstr(p, "//") || p[strlen(p) - 1] == '/')
        return NULL; /* the model's nodes hold 255-byte paths */
    if (p[0] == '/') {
        scopy(buf, sizeof buf, p);
    } else {
        scopy(buf, sizeof buf, HOME "/");
        scopy(buf + strlen(buf), sizeof buf - strlen(buf), p);
    }
    return buf;
}

static int tx_slot(uint32_t id)
{
    for (int i = 0; i < XSD_TXS; i++)
        if (X->tx[i].id == id && id)
            return i;
    return -1;
}

/* A transaction's view of a node: its own last write, else the store. */
static int tx_read(int t, const char *path, const char **val, unsigned *len)
{
    if (t >= 0) {
        for (int i = (int)X->tx[t].nops - 1; i >= 0; i--) {
            struct xsd_op *op = &X->tx[t].ops[i];
            if (under(path, op->path) && op->rm)
                return 0;
            if (strcmp(op->path, path) == 0) {
                *val = op->val;
                *len = op->len;
                return 1;
            }
        }
    }
    struct xsd_node *n = find(path);
    if (!n)
        return 0;
    *val = n->val;
    *len = n->len;
    return 1;
}

static void handle(const char *body)
{
    uint32_t len = req.len;
    const char *path = NULL;
    int t = -1;

    X->requests++;
    X->last_req_id = req.req_id;
    if (req.tx_id) {
        t = tx_slot(req.tx_id);
        if (t < 0) {
            reply_error("ENOENT");
            return;
        }
    }
    if (req.type != XS_TRANSACTION_START && req.type != XS_TRANSACTION_END) {
        if (len == 0 || !memchr(body, '\0', len)) {
            reply_error("EINVAL");
            return;
        }
        path = resolve(body);
        if (!path) {
            reply_error("EINVAL");
            return;
        }
        if (X->fail_path[0] && strcmp(path, X->fail_path) == 0) {
            reply_error(X->fail_err);
            return;
        }
    }
    switch (req.type) {
    case XS_READ: {
        const char *v;
        unsigned n;
        if (!tx_read(t, path, &v, &n))
            reply_error("ENOENT");
        else
            reply(XS_READ, v, n);
        break;
    }
    case XS_WRITE: {
        size_t plen = strlen(body) + 1;
        const char *v = body + plen;
        unsigned vlen = len - (uint32_t)plen;
        if (t >= 0) {
            cr_assert(X->tx[t].nops < 32 && vlen < 256);
            struct xsd_op *op = &X->tx[t].ops[X->tx[t].nops++];
            op->rm = 0;
            scopy(op->path, sizeof op->path, path);
            memcpy(op->val, v, vlen);
            op->len = vlen;
        } else {
            store(path, v, vlen);
        }
        reply_ok();
        break;
    }
    case XS_MKDIR:
        if (!find(path))
            store(path, "", 0);
        reply_ok();
        break;
    case XS_RM:
        if (t >= 0) {
            struct xsd_op *op = &X->tx[t].ops[X->tx[t].nops++];
            op->rm = 1;
            scopy(op->path, sizeof op->path, path);
        } else {
            remove_tree(path);
        }
        reply_ok();
        break;
    case XS_DIRECTORY: {
        if (!find(path)) {
            reply_error("ENOENT");
            break;
        }
        char buf[XENSTORE_PAYLOAD_MAX];
        uint32_t n = 0;
        size_t pl = strlen(path);
        for (unsigned i = 0; i < X->nnodes; i++) {
            const char *p = X->nodes[i].path;
            if (strncmp(p, path, pl) == 0 && p[pl] == '/' && !strchr(p + pl + 1, '/')) {
                size_t l = strlen(p + pl + 1) + 1;
                if (n + l > sizeof buf) {
                    reply_error("E2BIG");
                    return;
                }
                memcpy(buf + n, p + pl + 1, l);
                n += (uint32_t)l;
            }
        }
        reply(XS_DIRECTORY, buf, n);
        break;
    }
    case XS_WATCH: {
        size_t plen = strlen(body) + 1;
        if (plen >= len || body[len - 1] != '\0' || X->nwatch == XSD_WATCHES) {
            reply_error("EINVAL");
            break;
        }
        unsigned w = X->nwatch++;
        scopy(X->watch[w].path, sizeof X->watch[w].path, path);
        scopy(X->watch[w].token, sizeof X->watch[w].token, body + plen);
        X->watch[w].relative = body[0] != '/';
        reply_ok();
        /* fired once at once, after the acknowledgement */
        char ev[400];
        const char *shown = X->watch[w].relative ? body : path;
        size_t a = strlen(shown) + 1, b = strlen(X->watch[w].token) + 1;
        memcpy(ev, shown, a);
        memcpy(ev + a, X->watch[w].token, b);
        out_msg(XS_WATCH_EVENT, 0, 0, ev, (uint32_t)(a + b));
        break;
    }
    case XS_UNWATCH: {
        const char *token = body + strlen(body) + 1;
        for (unsigned i = 0; i < X->nwatch; i++) {
            if (strcmp(X->watch[i].path, path) == 0 && strcmp(X->watch[i].token, token) == 0) {
                X->watch[i] = X->watch[--X->nwatch];
                reply_ok();
                return;
            }
        }
        reply_error("ENOENT");
        break;
    }
    case XS_TRANSACTION_START: {
        int s = -1;
        for (int i = 0; i < XSD_TXS && s < 0; i++)
            if (!X->tx[i].id)
                s = i;
        if (s < 0) {
            reply_error("ENOSPC");
            break;
        }
        X->tx[s].id = X->next_tx = X->next_tx ? X->next_tx + 1 : 41;
        X->tx[s].gen = X->gen;
        X->tx[s].nops = 0;
        char id[16];
        int n = snprintf(id, sizeof id, "%u", X->tx[s].id);
        reply(XS_TRANSACTION_START, id, (uint32_t)n + 1);
        break;
    }
    case XS_TRANSACTION_END: {
        if (t < 0) {
            reply_error("EINVAL");
            break;
        }
        int commit = len >= 1 && body[0] == 'T';
        int conflict = X->tx[t].gen != X->gen;
        if (commit && X->eagain > 0) {
            X->eagain--;
            conflict = 1;
        }
        if (commit && !conflict) {
            for (unsigned i = 0; i < X->tx[t].nops; i++) {
                struct xsd_op *op = &X->tx[t].ops[i];
                if (op->rm)
                    remove_tree(op->path);
                else
                    store(op->path, op->val, op->len);
            }
        }
        X->tx[t].id = 0;
        if (commit && conflict)
            reply_error("EAGAIN");
        else
            reply_ok();
        break;
    }
    default:
        reply_error("ENOSYS");
    }
}

void xsd_step(void)
{
    struct xenstore_domain_interface *r = sim.xs_ring;

    if (X->bad_rsp_prod) {
        X->bad_rsp_prod = 0;
        r->rsp_prod = r->rsp_cons + 5000;
        return;
    }
    if (X->unsolicited) {
        X->unsolicited = 0;
        out_msg(XS_READ, 0xdead, 0, "surprise", 8);
    }
    if (X->bad_event) {
        X->bad_event = 0;
        out_msg(XS_WATCH_EVENT, 0, 0, "no-token-here", 13);
        out_msg(XS_WATCH_EVENT, 0, 0, "path\0mirc99999\0", 15);
    }
    /* take request bytes */
    if (!X->stall) {
        XENSTORE_RING_IDX cons = r->req_cons, prod = r->req_prod;
        cr_assert(prod - cons <= XENSTORE_RING_SIZE, "guest request indexes out of range");
        size_t room = sizeof X->in - X->in_len;
        unsigned taken = 0;
        while (cons != prod && room && (!X->in_chunk || taken < X->in_chunk)) {
            X->in[X->in_len++] = r->req[MASK_XENSTORE_IDX(cons++)];
            room--;
            taken++;
        }
        r->req_cons = cons;
        /* answer every complete request */
        while (X->in_len >= sizeof req) {
            memcpy(&req, X->in, sizeof req);
            cr_assert(req.len <= XENSTORE_PAYLOAD_MAX, "guest sent a %u-byte payload", req.len);
            if (X->in_len < sizeof req + req.len)
                break;
            char body[XENSTORE_PAYLOAD_MAX + 1];
            memcpy(body, X->in + sizeof req, req.len);
            body[req.len] = '\0';
            size_t used = sizeof req + req.len;
            memmove(X->in, X->in + used, X->in_len - used);
            X->in_len -= used;
            handle(body);
        }
    }
    /* give reply bytes */
    XENSTORE_RING_IDX prod = r->rsp_prod;
    size_t space = XENSTORE_RING_SIZE - (prod - r->rsp_cons);
    size_t n = X->out_len < space ? X->out_len : space;
    if (X->chunk && n > X->chunk)
        n = X->chunk;
    for (size_t i = 0; i < n; i++)
        r->rsp[MASK_XENSTORE_IDX(prod + (XENSTORE_RING_IDX)i)] = X->out[i];
    r->rsp_prod = prod + (XENSTORE_RING_IDX)n;
    memmove(X->out, X->out + n, X->out_len - n);
    X->out_len -= n;
}
