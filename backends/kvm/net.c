/* backends/kvm/net.c: virtio-net: platform.h's NET functions over any virtio transport. */
#include <string.h>

#include "mirc/mirc.h"
#include "virtio.h"
#include "virtio_port.h"

/*
 * One receive and one transmit queue, no offloads: frames are at most
 * mtu + 14 bytes (+4 for a VLAN tag the peer may add). Each queue entry owns
 * a buffer of a pool allocated at open, so the data path copies once and
 * never allocates. Transmit notifications wait for the end of the burst (the
 * next kvm_virtio_pending, i.e. the loop's next yield) unless NET_TX_BATCH
 * frames are waiting or the ring is full; transmit completions are reclaimed
 * by the next write, never interrupt. Receive interrupts are requested only
 * when the CPU is about to halt with nothing to read.
 */

#define NET_F_MTU    3
#define NET_F_MAC    5
#define NET_CFG_MAC  0
#define NET_CFG_MTU  10
#define NET_RXQ      0
#define NET_TXQ      1
#define NET_QMAX     256 /* entries per queue */
#define NET_TX_BATCH 32  /* frames that may wait for the end of a burst */
#define NET_HDR_V1   12  /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NET_HDR_OLD  10  /* legacy, without VIRTIO_NET_F_MRG_RXBUF */
#define NET_VLAN     4

struct vnet {
    struct virtio_dev *vn_dev;
    const char *vn_name;
    struct virtq vn_rx, vn_tx;
    size_t vn_hdr;   /* virtio-net header before each frame */
    size_t vn_bufsz; /* bytes per buffer: header + largest frame */
    int vn_split;    /* legacy without ANY_LAYOUT: the header gets its own descriptor */
    uint8_t *vn_rxbuf, *vn_txbuf;
    uint16_t vn_rxn, vn_txn;
    uint16_t *vn_txfree; /* stack of free transmit buffers */
    uint16_t vn_ntxfree;
    mirc_net_info vn_info;
};

static struct vnet *vnets[VIRTIO_DEV_MAX];
static unsigned nvnets;

static struct vnet *lookup(int handle)
{
    struct virtio_dev *dev = virtio_dev_by_handle(handle);
    return dev && dev->vd_type == VIRTIO_ID_NET ? dev->vd_softc : NULL;
}

static unsigned segs_for(const struct vnet *n, uint8_t *b, size_t len, struct virtq_seg seg[2])
{
    if (n->vn_split) {
        seg[0] = (struct virtq_seg){ vio_phys(b), (uint32_t)n->vn_hdr };
        seg[1] = (struct virtq_seg){ vio_phys(b + n->vn_hdr), (uint32_t)(len - n->vn_hdr) };
        return 2;
    }
    seg[0] = (struct virtq_seg){ vio_phys(b), (uint32_t)len };
    return 1;
}

static mirc_status rx_post(struct vnet *n, uint16_t i)
{
    struct virtq_seg seg[2];
    unsigned k = segs_for(n, n->vn_rxbuf + (size_t)i * n->vn_bufsz, n->vn_bufsz, seg);
    return virtq_add(&n->vn_rx, seg, 0, k, i);
}

static void vnet_free(struct vnet *n)
{
    virtq_free(&n->vn_rx);
    virtq_free(&n->vn_tx);
    vio_dma_free(n->vn_rxbuf);
    vio_dma_free(n->vn_txbuf);
    free(n->vn_txfree);
    free(n);
}

static mirc_status read_config(struct vnet *n, const char *name)
{
    struct virtio_dev *dev = n->vn_dev;
    n->vn_info.mtu = 1500;
    if (dev->vd_features & VIRTIO_BIT(NET_F_MTU)) {
        unsigned mtu = (unsigned)virtio_config_read(dev, NET_CFG_MTU, 2);
        if (dev->vd_broken) /* a config too short: said already */
            return MIRC_IO;
        if (mtu < 68) {
            mirc_log("net '%s' (%s): the device reports an MTU of %u, below 68", name,
                     dev->vd_where, mtu);
            return MIRC_IO;
        }
        n->vn_info.mtu = (uint16_t)(mtu > MIRC_NET_MTU_MAX ? MIRC_NET_MTU_MAX : mtu);
    }
    if (dev->vd_features & VIRTIO_BIT(NET_F_MAC)) {
        for (unsigned i = 0; i < 6; i++)
            n->vn_info.mac[i] = (uint8_t)virtio_config_read(dev, NET_CFG_MAC + i, 1);
        if (dev->vd_broken)
            return MIRC_IO;
    } else if (mirc_plat_entropy(n->vn_info.mac, 6) == MIRC_OK) {
        /* no address from the host: a random locally administered unicast one (5.1.5) */
        n->vn_info.mac[0] = (uint8_t)((n->vn_info.mac[0] & 0xfe) | 0x02);
    } else {
        mirc_log("net '%s' (%s): the device has no MAC address and there is no entropy to "
                 "make one",
                 name, dev->vd_where);
        return MIRC_IO;
    }
    return MIRC_OK;
}

static mirc_status alloc_pools(struct vnet *n, const char *name)
{
    n->vn_rxn = (uint16_t)(n->vn_rx.vq_num >> n->vn_split);
    n->vn_txn = (uint16_t)(n->vn_tx.vq_num >> n->vn_split);
    n->vn_rxbuf = vio_dma_alloc((size_t)n->vn_rxn * n->vn_bufsz, 64);
    n->vn_txbuf = vio_dma_alloc((size_t)n->vn_txn * n->vn_bufsz, 64);
    n->vn_txfree = calloc(n->vn_txn, sizeof *n->vn_txfree);
    if (!n->vn_rxbuf || !n->vn_txbuf || !n->vn_txfree) {
        mirc_log("net '%s' (%s): no memory for %u+%u buffers of %zu bytes", name,
                 n->vn_dev->vd_where, n->vn_rxn, n->vn_txn, n->vn_bufsz);
        return MIRC_NO_MEMORY;
    }
    for (uint16_t i = 0; i < n->vn_txn; i++)
        n->vn_txfree[i] = (uint16_t)(n->vn_txn - 1 - i);
    n->vn_ntxfree = n->vn_txn;
    for (uint16_t i = 0; i < n->vn_rxn; i++)
        if (rx_post(n, i) != MIRC_OK)
            mirc_panic("a fresh receive ring refused buffer %u", i);
    return MIRC_OK;
}

mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle, mirc_net_info *info)
{
    struct virtio_dev *dev = virtio_dev_find(VIRTIO_ID_NET, index);
    if (!dev) {
        mirc_log("net '%s': QEMU attached no virtio-net device #%u", name, index);
        return MIRC_NOT_FOUND;
    }
    if (dev->vd_handle >= 0) { /* the runtime asked again (it booted twice) */
        struct vnet *n = dev->vd_softc;
        *handle = dev->vd_handle;
        *info = n->vn_info;
        return dev->vd_broken ? MIRC_IO : MIRC_OK;
    }
    struct vnet *n = calloc(1, sizeof *n);
    if (!n) {
        mirc_log("net '%s' (%s): out of memory", name, dev->vd_where);
        return MIRC_NO_MEMORY;
    }
    n->vn_dev = dev;
    n->vn_name = name;
    mirc_status s = virtio_dev_negotiate(dev, name,
                                         VIRTIO_BIT(NET_F_MAC) | VIRTIO_BIT(NET_F_MTU) |
                                             VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
                                             VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT));
    if (s != MIRC_OK)
        goto fail;
    int v1 = (dev->vd_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) != 0;
    n->vn_hdr = v1 ? NET_HDR_V1 : NET_HDR_OLD;
    n->vn_split = !v1 && !(dev->vd_features & VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT));
    if ((s = read_config(n, name)) != MIRC_OK)
        goto fail_dev;
    n->vn_bufsz = n->vn_hdr + MIRC_NET_HDR_LEN + NET_VLAN + n->vn_info.mtu;
    if ((s = virtio_dev_queue(dev, name, &n->vn_rx, NET_RXQ, NET_QMAX)) != MIRC_OK ||
        (s = virtio_dev_queue(dev, name, &n->vn_tx, NET_TXQ, NET_QMAX)) != MIRC_OK)
        goto fail_dev;
    if (n->vn_rx.vq_num < 2 || n->vn_tx.vq_num < 2) {
        mirc_log("net '%s' (%s): queues of %u and %u entries are too small", name, dev->vd_where,
                 n->vn_rx.vq_num, n->vn_tx.vq_num);
        s = MIRC_IO;
        goto fail_dev;
    }
    if ((s = alloc_pools(n, name)) != MIRC_OK)
        goto fail_dev;
    virtq_intr_off(&n->vn_tx); /* completions are reclaimed by the next write */
    dev->vd_softc = n;
    if ((s = virtio_dev_ready(dev, name, handle)) != MIRC_OK) {
        dev->vd_softc = NULL;
        goto fail_dev;
    }
    virtq_kick(&n->vn_rx); /* the receive buffers: allowed only after DRIVER_OK */
    virtq_intr_arm(&n->vn_rx);
    vnets[nvnets++] = n;
    *info = n->vn_info;
    return MIRC_OK;
fail_dev:
    virtio_dev_fail(dev);
fail:
    vnet_free(n);
    return s == MIRC_NO_MEMORY ? s : MIRC_IO;
}

static mirc_status broken(struct vnet *n, const char *why)
{
    if (!n->vn_dev->vd_broken)
        mirc_log("net '%s' (%s): %s; the device is out of service", n->vn_name, n->vn_dev->vd_where,
                 why);
    n->vn_dev->vd_broken = 1;
    return MIRC_IO;
}

/* Takes back the transmit buffers the device is done with. */
static mirc_status tx_reclaim(struct vnet *n)
{
    uint32_t tok, l;
    mirc_status s;
    while ((s = virtq_get(&n->vn_tx, &tok, &l)) == MIRC_OK) {
        if (tok >= n->vn_txn || n->vn_ntxfree >= n->vn_txn)
            return broken(n, "a transmit completion for an unknown buffer");
        n->vn_txfree[n->vn_ntxfree++] = (uint16_t)tok;
    }
    return s == MIRC_IO ? broken(n, "the transmit ring is corrupt") : MIRC_OK;
}

mirc_status mirc_plat_net_write(int handle, const void *buf, size_t len)
{
    struct vnet *n = lookup(handle);
    if (!n || !buf)
        return MIRC_INVALID;
    if (n->vn_dev->vd_broken)
        return MIRC_IO;
    if (len == 0 || len > n->vn_bufsz - n->vn_hdr)
        return MIRC_TOO_BIG;
    if (tx_reclaim(n) != MIRC_OK)
        return MIRC_IO;
    if (n->vn_ntxfree == 0) {
        virtq_kick(&n->vn_tx); /* full: make sure the device works on it */
        return MIRC_AGAIN;
    }
    uint16_t i = n->vn_txfree[--n->vn_ntxfree];
    uint8_t *b = n->vn_txbuf + (size_t)i * n->vn_bufsz;
    memset(b, 0, n->vn_hdr); /* no offloads: an all-zero header */
    memcpy(b + n->vn_hdr, buf, len);
    struct virtq_seg seg[2];
    unsigned k = segs_for(n, b, n->vn_hdr + len, seg);
    if (virtq_add(&n->vn_tx, seg, k, 0, i) != MIRC_OK)
        mirc_panic("transmit ring full with buffer %u free", i);
    if (virtq_unkicked(&n->vn_tx) >= NET_TX_BATCH)
        virtq_kick(&n->vn_tx);
    return MIRC_OK;
}

mirc_status mirc_plat_net_read(int handle, void *buf, size_t size, size_t *len)
{
    struct vnet *n = lookup(handle);
    if (!n || !buf || !len)
        return MIRC_INVALID;
    if (n->vn_dev->vd_broken)
        return MIRC_IO;
    uint32_t tok, l;
    mirc_status s = virtq_get(&n->vn_rx, &tok, &l);
    if (s == MIRC_AGAIN)
        return s;
    if (s != MIRC_OK || tok >= n->vn_rxn)
        return broken(n, "the receive ring is corrupt");
    const uint8_t *frame = n->vn_rxbuf + (size_t)tok * n->vn_bufsz + n->vn_hdr;
    size_t flen = l > n->vn_hdr ? l - n->vn_hdr : 0;
    if (l > n->vn_bufsz || flen > size) {
        s = MIRC_TOO_BIG; /* larger than our buffer (the device overran it) or the caller's */
    } else {
        memcpy(buf, frame, flen);
        *len = flen;
    }
    if (rx_post(n, (uint16_t)tok) != MIRC_OK)
        mirc_panic("receive ring full after taking buffer %u", tok);
    if (virtq_unkicked(&n->vn_rx) >= n->vn_rxn / 2u)
        virtq_kick(&n->vn_rx);
    return s;
}

mirc_plat_set virtio_net_pending(void)
{
    mirc_plat_set set = 0;
    for (unsigned i = 0; i < nvnets; i++) {
        struct vnet *n = vnets[i];
        if (n->vn_dev->vd_broken)
            continue;
        virtq_kick(&n->vn_tx);
        virtq_kick(&n->vn_rx);
        int ready = virtq_has_used(&n->vn_rx);
        if (ready)
            virtq_intr_off(&n->vn_rx); /* the app reads until MIRC_AGAIN first */
        else
            ready = virtq_intr_arm(&n->vn_rx);
        if (ready)
            set |= (mirc_plat_set)1 << n->vn_dev->vd_handle;
    }
    return set;
}

void virtio_net_flush(uint64_t timeout_ns)
{
    int waiting = 0;
    for (unsigned i = 0; i < nvnets; i++) {
        struct vnet *n = vnets[i];
        if (!n->vn_dev->vd_broken) {
            virtq_kick(&n->vn_tx);
            waiting |= tx_reclaim(n) == MIRC_OK && virtq_inflight(&n->vn_tx);
        }
    }
    if (!waiting)
        return; /* no clock read: the first one may calibrate the TSC (25 ms under TCG) */
    uint64_t t0 = vio_now_ns();
    for (unsigned i = 0; i < nvnets; i++) {
        struct vnet *n = vnets[i];
        while (!n->vn_dev->vd_broken && tx_reclaim(n) == MIRC_OK && virtq_inflight(&n->vn_tx) &&
               vio_now_ns() - t0 < timeout_ns)
            vio_relax();
    }
}

void virtio_net_reset(void)
{
    for (unsigned i = 0; i < nvnets; i++) {
        vnets[i]->vn_dev->vd_softc = NULL;
        vnet_free(vnets[i]);
    }
    nvnets = 0;
}
