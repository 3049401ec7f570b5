/* backends/xen/netfront.h: a Xen PV network frontend (xen/io/netif.h): one TX and one RX ring. */
#ifndef MIRC_XEN_NETFRONT_H
#define MIRC_XEN_NETFRONT_H

/*
 * One queue, one event channel, rx-copy mode (the back end copies received
 * frames into pages we granted). All buffers are pages allocated and granted
 * once, at open: XEN_NET_TX_BUFS pages the back end may read and
 * XEN_NET_RX_BUFS pages it may write. Sending copies a frame into free TX
 * pages; receiving copies out of RX pages, which go straight back on the RX
 * ring. Nothing is allocated per frame.
 *
 * A frame larger than a page spans several ring slots (feature-sg); without
 * feature-sg at the back end the MTU is limited to 1500, as Linux netback
 * does. We ask for full checksums in both directions (feature-no-csum-offload),
 * so frames are ordinary Ethernet frames.
 *
 * Trust: ring indexes, ids, offsets and lengths from the back end are
 * checked. Responses beyond what we posted make the device unusable (MIRC_IO
 * from then on); a bad id, an error status or a bad offset drops that frame
 * and is counted. RX buffers are recycled by ring position, not by the
 * back end's id, so a lying back end cannot make us lose or reuse a buffer.
 *
 * The caller owns struct xen_net (it is large: keep it static). Only
 * xen_net_open may block (in port wait, bounded by env timeouts).
 */

#include "xenbus.h"

#include <xen/io/netif.h>

#include "mirc/net.h"

#ifndef XEN_NET_TX_BUFS
#define XEN_NET_TX_BUFS 64 /* pages; a 9014-byte frame takes 3 */
#endif
#ifndef XEN_NET_RX_BUFS
#define XEN_NET_RX_BUFS 64
#endif
#define XEN_NET_RING_SIZE __CONST_RING_SIZE(netif_tx, XEN_PAGE_SIZE) /* 256 */

_Static_assert(XEN_NET_RX_BUFS <= __CONST_RING_SIZE(netif_rx, XEN_PAGE_SIZE),
               "more RX buffers than RX ring slots");
_Static_assert(XEN_NET_TX_BUFS <= XEN_NET_RING_SIZE, "more TX buffers than TX ring slots");

struct xen_net_buf {
    void *nb_page;
    grant_ref_t nb_ref; /* 0 (a reserved ref) when not granted */
};

struct xen_net_stats {
    uint64_t tx_errors; /* TX responses with an error status */
    uint64_t rx_errors; /* RX frames dropped: error status, bad offset or length */
    uint64_t bogus;     /* responses with ids we never sent or already completed */
};

struct xen_net {
    struct xen_bus_dev nt_bus;
    netif_tx_front_ring_t nt_tx;
    netif_rx_front_ring_t nt_rx;
    struct xen_net_buf nt_tx_ring, nt_rx_ring;
    evtchn_port_t nt_evtchn;
    int nt_have_evtchn;
    struct xen_net_buf nt_txb[XEN_NET_TX_BUFS];
    struct xen_net_buf nt_rxb[XEN_NET_RX_BUFS];
    uint16_t nt_tx_free[XEN_NET_TX_BUFS]; /* stack of free TX buffers */
    unsigned nt_tx_nfree;
    uint8_t nt_tx_busy[XEN_NET_TX_BUFS];  /* on the ring, awaiting a response */
    uint16_t nt_rx_at[XEN_NET_RING_SIZE]; /* the RX buffer posted at each ring slot */
    int nt_sg;                            /* the back end accepts and sends multi-slot frames */
    int nt_tx_blocked; /* a write returned MIRC_AGAIN: report readiness when room frees */
    int nt_dead;       /* the device failed: every call returns MIRC_IO */
    mirc_net_info nt_info;
    struct xen_net_stats nt_stats;
};

/*
 * Connects the vif whose frontend directory is `node` ("device/vif/0"):
 * reads `mac` (required) and `mtu` (optional, default 1500) there, waits for
 * the back end to reach InitWait, checks feature-rx-copy, grants rings and
 * buffers, publishes tx-ring-ref, rx-ring-ref, event-channel, request-rx-copy,
 * feature-rx-notify, feature-sg and feature-no-csum-offload in one
 * transaction, switches to Connected and waits for the back end to do the
 * same. On failure everything is undone and nt_bus.xd_why says why.
 *
 * Returns MIRC_OK; MIRC_IO (missing or malformed keys, back end without
 * rx-copy); MIRC_NO_MEMORY (pages, grant references or event channels
 * exhausted); MIRC_CLOSED (the back end closed); MIRC_TIMED_OUT; or a
 * xenstore status.
 */
mirc_status xen_net_open(struct xen_net *n, struct xen_env *env, const char *node);

/*
 * Queues one frame (copied; buf is free again on return). Never blocks.
 * Returns MIRC_OK; MIRC_INVALID (len 0); MIRC_TOO_BIG (len > mtu + 14);
 * MIRC_AGAIN (no free buffer or ring slot: nothing was queued, and
 * xen_net_pending reports the device once room frees); MIRC_IO (dead).
 */
mirc_status xen_net_write(struct xen_net *n, const void *buf, size_t len);

/*
 * Copies the next received frame into buf (size bytes) and stores its length
 * in *len. Never blocks. Frames with errors are dropped and counted, and the
 * next one is tried. Returns MIRC_OK; MIRC_AGAIN (no complete frame
 * waiting); MIRC_TOO_BIG (the next frame is larger than size: it was
 * dropped); MIRC_IO (dead, or the back end disconnected).
 */
mirc_status xen_net_read(struct xen_net *n, void *buf, size_t size, size_t *len);

/*
 * Non-zero when a read would not return MIRC_AGAIN, or a write that returned
 * MIRC_AGAIN may now succeed. Arms the ring so that the back end notifies the
 * event channel on the next response. Never blocks.
 */
int xen_net_pending(struct xen_net *n);

/*
 * Tells the back end we are closing, revokes every grant and frees every
 * page, except pages the back end still maps (leaked on purpose: they must
 * not be reused). The struct can then be opened again.
 */
void xen_net_close(struct xen_net *n);

#endif
