/* backends/xen/xencons.h: the PV console ring (xen/io/console.h). */
#ifndef MIRC_XEN_XENCONS_H
#define MIRC_XEN_XENCONS_H

/*
 * The domain's first console is a page shared with xenconsoled in dom0
 * (HVM_PARAM_CONSOLE_PFN / _EVTCHN): a 2 KB output ring and a 1 KB input
 * ring, each a free-running producer/consumer pair. The caller owns the
 * struct and the page.
 */

#include "xen_port.h"

#include <xen/io/console.h>

struct xen_cons {
    struct xen_port xc_port;
    struct xencons_interface *xc_ring;
    evtchn_port_t xc_evtchn;
};

void xen_cons_init(struct xen_cons *c, const struct xen_port *port, struct xencons_interface *ring,
                   evtchn_port_t evtchn);

/*
 * Writes len bytes in order, waiting (in port wait) for the console daemon to
 * make room whenever the output ring is full, so nothing is lost. Stores the
 * number of bytes queued in *written (may be NULL). Returns MIRC_OK (all of
 * them), MIRC_TIMED_OUT (the ring stayed full until `deadline`; UINT64_MAX
 * waits forever) or MIRC_IO (the ring's indexes are corrupt; nothing more is
 * written).
 */
mirc_status xen_cons_write(struct xen_cons *c, const void *buf, size_t len, uint64_t deadline,
                           size_t *written);

/*
 * Reads up to size bytes of input into buf without waiting, storing the count
 * in *len. Returns MIRC_OK (at least one byte), MIRC_AGAIN (no input) or
 * MIRC_IO (corrupt input indexes; the input is discarded).
 */
mirc_status xen_cons_read(struct xen_cons *c, void *buf, size_t size, size_t *len);

#endif
