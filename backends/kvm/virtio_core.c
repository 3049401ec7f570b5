/* backends/kvm/virtio_core.c: the device table, bring-up common to all virtio devices, and kvm.h's
 * virtio hooks. */
#include <stdio.h>
#include <string.h>

#include "kvm.h"
#include "mirc/mirc.h"
#include "virtio.h"
#include "virtio_port.h"

struct virtio_dev *virtio_devs[VIRTIO_DEV_MAX];
unsigned virtio_ndevs;
static int mmio_announced, dsdt_scanned, pci_done;
static struct virtio_dev *handles[MIRC_PLAT_DEV_MAX];
static int nhandles;
static uint64_t gsis_enabled;

#define VIRTIO_FLUSH_NS     200000000ull /* at exit: time for QEMU to take the last frames */
#define VIRTIO_CONFIG_TRIES 64 /* a device updating its config keeps the generation still then */

#ifndef VIRTIO_HOST_TEST
void *vio_dma_alloc(size_t size, size_t align)
{
    size = (size + align - 1) & ~(align - 1);
    void *p = aligned_alloc(align, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void vio_dma_free(void *p)
{
    free(p);
}
#endif

struct virtio_dev *virtio_dev_new(const struct virtio_ops *ops, uint32_t type)
{
    if (virtio_ndevs == VIRTIO_DEV_MAX) {
        mirc_log("virtio: more than %d devices; ignoring the rest", VIRTIO_DEV_MAX);
        return NULL;
    }
    struct virtio_dev *dev = calloc(1, sizeof *dev);
    if (!dev) {
        mirc_log("virtio: out of memory while discovering devices");
        return NULL;
    }
    dev->vd_ops = ops;
    dev->vd_type = type;
    dev->vd_handle = -1;
    virtio_devs[virtio_ndevs++] = dev;
    return dev;
}

/* Finds more devices; returns 0 when discovery is complete. */
static int discover_more(void)
{
    if (mmio_announced)
        return 0;
    if (!dsdt_scanned) {
        dsdt_scanned = 1;
        size_t len;
        const uint8_t *dsdt = vio_acpi_dsdt(&len);
        if (dsdt && virtio_mmio_scan_dsdt(dsdt, len) > 0)
            pci_done = 1; /* microvm: no PCI */
        return 1;
    }
    if (!pci_done && !virtio_pci_scan_next())
        pci_done = 1;
    return !pci_done;
}

const struct kvm_virtio_hooks *kvm_virtio; /* kvm.h: NULL until the first lookup */

static const struct kvm_virtio_hooks hooks = { kvm_virtio_pending, kvm_virtio_flush,
                                               kvm_virtio_irq };

struct virtio_dev *virtio_dev_find(uint32_t type, unsigned index)
{
    if (!kvm_virtio) { /* the first lookup: from now on the platform core calls us */
        kvm_virtio = &hooks;
        if (!mmio_announced)
            kvm_virtio_init(kvm_boot_argc, kvm_boot_argv);
    }
    do {
        unsigned k = index;
        for (unsigned i = 0; i < virtio_ndevs; i++) {
            if (virtio_devs[i]->vd_type == type && k-- == 0)
                return virtio_devs[i];
        }
    } while (discover_more());
    return NULL;
}

struct virtio_dev *virtio_dev_by_handle(int handle)
{
    if (handle < 0 || handle >= nhandles)
        return NULL;
    return handles[handle];
}

static void set_status(struct virtio_dev *dev, uint8_t s)
{
    dev->vd_status = s;
    dev->vd_ops->set_status(dev, s);
}

void virtio_dev_fail(struct virtio_dev *dev)
{
    set_status(dev, (uint8_t)(dev->vd_status | VIRTIO_STATUS_FAILED));
    dev->vd_broken = 1;
}

int virtio_dev_check(struct virtio_dev *dev)
{
    uint8_t s = dev->vd_ops->status(dev);
    if (s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) {
        if (!dev->vd_broken)
            mirc_log("%s: the device reports %s; it is out of service", dev->vd_where,
                     (s & VIRTIO_STATUS_NEEDS_RESET) ? "DEVICE_NEEDS_RESET" : "FAILED");
        dev->vd_broken = 1;
    }
    return dev->vd_broken;
}

mirc_status virtio_dev_negotiate(struct virtio_dev *dev, const char *what, uint64_t want)
{
    set_status(dev, 0); /* reset */
    for (int i = 0; i < 1000 && dev->vd_ops->status(dev) != 0; i++)
        vio_relax();
    set_status(dev, VIRTIO_STATUS_ACK);
    set_status(dev, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    uint64_t offered = dev->vd_ops->features(dev);
    if (dev->vd_modern) {
        if (!(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
            mirc_log("'%s' (%s): the device does not offer VIRTIO_F_VERSION_1", what,
                     dev->vd_where);
            goto fail;
        }
        want |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
    } else {
        want &= 0xffffffffu; /* legacy: 32 feature bits */
    }
    uint64_t f = offered & want;
    dev->vd_ops->set_features(dev, f);
    if (dev->vd_modern) {
        set_status(dev, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
        if (!(dev->vd_ops->status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
            mirc_log("'%s' (%s): the device refused features 0x%llx", what, dev->vd_where,
                     (unsigned long long)f);
            goto fail;
        }
    }
    dev->vd_features = f;
    return MIRC_OK;
fail:
    virtio_dev_fail(dev);
    return MIRC_IO;
}

mirc_status virtio_dev_queue(struct virtio_dev *dev, const char *what, struct virtq *vq,
                             unsigned idx, unsigned max)
{
    unsigned n = dev->vd_ops->queue_max(dev, idx);
    if (n == 0) {
        mirc_log("'%s' (%s): the device has no queue %u", what, dev->vd_where, idx);
        return MIRC_IO;
    }
    if (dev->vd_fixed_qsize) {
        if (n > VIRTQ_MAX || (n & (n - 1))) {
            mirc_log("'%s' (%s): queue %u has %u entries, not a power of two up to %d", what,
                     dev->vd_where, idx, n, VIRTQ_MAX);
            return MIRC_IO;
        }
    } else {
        if (n > max)
            n = max;
        if (n > VIRTQ_MAX)
            n = VIRTQ_MAX;
        while (n & (n - 1))
            n &= n - 1; /* a power of two */
    }
    mirc_status s = virtq_alloc(vq, dev, (uint16_t)idx, (uint16_t)n);
    if (s != MIRC_OK) {
        mirc_log("'%s' (%s): no memory for a %u-entry queue", what, dev->vd_where, n);
        return s;
    }
    vq->vq_event_idx = (dev->vd_features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) != 0;
    dev->vd_why[0] = '\0';
    if (dev->vd_ops->queue_setup(dev, vq) != MIRC_OK) {
        mirc_log("'%s' (%s): the device did not accept queue %u%s%s", what, dev->vd_where, idx,
                 dev->vd_why[0] ? ": " : "", dev->vd_why);
        virtq_free(vq);
        return MIRC_IO;
    }
    return MIRC_OK;
}

mirc_status virtio_dev_ready(struct virtio_dev *dev, const char *what, int *handle)
{
    if (nhandles == MIRC_PLAT_DEV_MAX) {
        mirc_log("'%s': more than %d devices", what, MIRC_PLAT_DEV_MAX);
        return MIRC_IO;
    }
    set_status(dev, (uint8_t)(dev->vd_status | VIRTIO_STATUS_DRIVER_OK));
    if (virtio_dev_check(dev))
        return MIRC_IO;
    for (int g = 0; g < 64; g++) {
        uint64_t bit = (uint64_t)1 << g;
        if ((dev->vd_gsis & bit) && !(gsis_enabled & bit)) {
            gsis_enabled |= bit;
            vio_irq_enable(g);
        }
    }
    dev->vd_handle = nhandles;
    handles[nhandles++] = dev;
    *handle = dev->vd_handle;
    return MIRC_OK;
}

/* Puts the device out of service for a config read it cannot answer; reads as 0. */
static uint64_t config_refused(struct virtio_dev *dev, const char *why)
{
    if (!dev->vd_broken)
        mirc_log("%s: %s; the device is out of service", dev->vd_where, why);
    dev->vd_broken = 1;
    return 0;
}

uint64_t virtio_config_read(struct virtio_dev *dev, unsigned off, unsigned width)
{
    const struct virtio_ops *o = dev->vd_ops;
    char why[96];
    if ((uint64_t)off + width > dev->vd_devcfg_len) {
        snprintf(why, sizeof why, "its device config (%u bytes) has no %u-byte field at offset %u",
                 dev->vd_devcfg_len, width, off);
        return config_refused(dev, why);
    }
    for (unsigned tries = 0; tries < VIRTIO_CONFIG_TRIES; tries++) {
        uint32_t gen = o->config_gen(dev);
        uint64_t v;
        if (width == 8)
            v = o->config(dev, off, 4) | (uint64_t)o->config(dev, off + 4, 4) << 32;
        else
            v = o->config(dev, off, width);
        if (o->config_gen(dev) == gen)
            return v;
    }
    snprintf(why, sizeof why, "its config generation changed during each of %u reads",
             VIRTIO_CONFIG_TRIES);
    return config_refused(dev, why);
}

/* ---- kvm.h ---- */

void kvm_virtio_init(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        uint64_t size, addr;
        int irq;
        if (virtio_mmio_parse(argv[i], &size, &addr, &irq) == 1) {
            mmio_announced = 1;
            virtio_mmio_probe(addr, size, irq);
        }
    }
}

mirc_plat_set kvm_virtio_pending(void)
{
    return virtio_net_pending();
}

void kvm_virtio_flush(void)
{
    virtio_net_flush(VIRTIO_FLUSH_NS);
}

void kvm_virtio_irq(int gsi)
{
    uint64_t bit = (uint64_t)1 << gsi;
    for (unsigned i = 0; i < virtio_ndevs; i++) {
        struct virtio_dev *dev = virtio_devs[i];
        if (!(dev->vd_gsis & bit) || dev->vd_handle < 0)
            continue;
        if (dev->vd_ops->intr_ack(dev) & VIRTIO_ISR_CONFIG)
            virtio_dev_check(dev);
    }
}

void virtio_test_reset(void)
{
    virtio_net_reset();
    virtio_block_reset();
    virtio_pci_reset();
    for (unsigned i = 0; i < virtio_ndevs; i++) {
        free(virtio_devs[i]);
        virtio_devs[i] = NULL;
    }
    virtio_ndevs = 0;
    mmio_announced = dsdt_scanned = pci_done = 0;
    kvm_virtio = NULL;
    nhandles = 0;
    gsis_enabled = 0;
}
