/* backends/xen/xencons.c: output and input on the PV console ring. */
#include "xencons.h"

void xen_cons_init(struct xen_cons *c, const struct xen_port *port, struct xencons_interface *ring,
                   evtchn_port_t evtchn)
{
    c->xc_port = *port;
    c->xc_ring = ring;
    c->xc_evtchn = evtchn;
}

mirc_status xen_cons_write(struct xen_cons *c, const void *buf, size_t len, uint64_t deadline,
                           size_t *written)
{
    struct xencons_interface *r = c->xc_ring;
    const char *p = buf;
    size_t done = 0;
    mirc_status s = MIRC_OK;

    while (done < len) {
        XENCONS_RING_IDX cons = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
        XENCONS_RING_IDX prod = r->out_prod;
        xen_mb(); /* read out_cons before overwriting the space it frees */
        if (prod - cons > sizeof r->out) {
            s = MIRC_IO;
            break;
        }
        size_t space = sizeof r->out - (prod - cons);
        if (space == 0) {
            if (xen_now(&c->xc_port) >= deadline) {
                s = MIRC_TIMED_OUT;
                break;
            }
            xen_notify(&c->xc_port, c->xc_evtchn);
            xen_wait(&c->xc_port, deadline);
            continue;
        }
        size_t n = len - done < space ? len - done : space;
        for (size_t i = 0; i < n; i++)
            r->out[MASK_XENCONS_IDX(prod + i, r->out)] = p[done + i];
        xen_wmb(); /* the daemon must see the bytes before the index covering them */
        r->out_prod = prod + (XENCONS_RING_IDX)n;
        done += n;
        xen_notify(&c->xc_port, c->xc_evtchn);
    }
    if (written)
        *written = done;
    return s;
}

mirc_status xen_cons_read(struct xen_cons *c, void *buf, size_t size, size_t *len)
{
    struct xencons_interface *r = c->xc_ring;
    char *p = buf;
    XENCONS_RING_IDX cons = r->in_cons;
    XENCONS_RING_IDX prod = __atomic_load_n(&r->in_prod, __ATOMIC_ACQUIRE);
    xen_rmb(); /* read in_prod before the bytes it covers */
    *len = 0;
    if (prod - cons > sizeof r->in) {
        r->in_cons = prod; /* drop everything: there is no way to tell what is valid */
        xen_notify(&c->xc_port, c->xc_evtchn);
        return MIRC_IO;
    }
    size_t n = 0;
    while (n < size && cons != prod)
        p[n++] = r->in[MASK_XENCONS_IDX(cons++, r->in)];
    if (n == 0)
        return MIRC_AGAIN;
    xen_mb(); /* finish reading before handing the space back */
    r->in_cons = cons;
    xen_notify(&c->xc_port, c->xc_evtchn);
    *len = n;
    return MIRC_OK;
}
