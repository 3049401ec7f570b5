/* backends/kvm/virtio_pci_regs.c: the modern (capabilities) and legacy (I/O BAR) register
 * interfaces of virtio-pci. */
#include <stdio.h>

#include "virtio_pci.h"
#include "virtio_port.h"

/* struct virtio_pci_common_cfg */
#define COM_DFSELECT  0x00
#define COM_DF        0x04
#define COM_GFSELECT  0x08
#define COM_GF        0x0c
#define COM_STATUS    0x14
#define COM_CFGGEN    0x15
#define COM_Q_SELECT  0x16
#define COM_Q_SIZE    0x18
#define COM_Q_ENABLE  0x1c
#define COM_Q_NOFF    0x1e
#define COM_Q_DESCLO  0x20
#define COM_Q_DESCHI  0x24
#define COM_Q_AVAILLO 0x28
#define COM_Q_AVAILHI 0x2c
#define COM_Q_USEDLO  0x30
#define COM_Q_USEDHI  0x34

/* The legacy I/O BAR (virtio 0.9.5, 4.1.4.8) without MSI-X */
#define LEG_HOST_FEATURES  0x00
#define LEG_GUEST_FEATURES 0x04
#define LEG_QUEUE_PFN      0x08
#define LEG_QUEUE_SIZE     0x0c
#define LEG_QUEUE_SEL      0x0e
#define LEG_QUEUE_NOTIFY   0x10
#define LEG_STATUS         0x12
#define LEG_ISR            0x13
#define LEG_CONFIG         VIRTIO_PCI_LEGACY_CONFIG

/* ---- modern ---- */

static uint64_t pm_features(struct virtio_dev *dev)
{
    vio_write32(dev->vd_base + COM_DFSELECT, 1);
    uint64_t hi = vio_read32(dev->vd_base + COM_DF);
    vio_write32(dev->vd_base + COM_DFSELECT, 0);
    return hi << 32 | vio_read32(dev->vd_base + COM_DF);
}

static void pm_set_features(struct virtio_dev *dev, uint64_t f)
{
    vio_write32(dev->vd_base + COM_GFSELECT, 1);
    vio_write32(dev->vd_base + COM_GF, (uint32_t)(f >> 32));
    vio_write32(dev->vd_base + COM_GFSELECT, 0);
    vio_write32(dev->vd_base + COM_GF, (uint32_t)f);
}

static uint8_t pm_status(struct virtio_dev *dev)
{
    return vio_read8(dev->vd_base + COM_STATUS);
}

static void pm_set_status(struct virtio_dev *dev, uint8_t s)
{
    vio_write8(dev->vd_base + COM_STATUS, s);
}

static uint32_t pm_config(struct virtio_dev *dev, unsigned off, unsigned width)
{
    uintptr_t a = dev->vd_devcfg + off;
    return width == 1 ? vio_read8(a) : width == 2 ? vio_read16(a) : vio_read32(a);
}

static uint32_t pm_config_gen(struct virtio_dev *dev)
{
    return vio_read8(dev->vd_base + COM_CFGGEN);
}

static unsigned pm_queue_max(struct virtio_dev *dev, unsigned idx)
{
    vio_write16(dev->vd_base + COM_Q_SELECT, (uint16_t)idx);
    return vio_read16(dev->vd_base + COM_Q_SIZE);
}

static void write64(uintptr_t lo, uint64_t v)
{
    vio_write32(lo, (uint32_t)v);
    vio_write32(lo + 4, (uint32_t)(v >> 32));
}

static mirc_status pm_queue_setup(struct virtio_dev *dev, struct virtq *vq)
{
    uintptr_t c = dev->vd_base;
    vio_write16(c + COM_Q_SELECT, vq->vq_index);
    /* the notify address comes from the device: it must stay inside the notify region */
    unsigned noff = vio_read16(c + COM_Q_NOFF);
    uint64_t at = (uint64_t)noff * dev->vd_notify_mult;
    if (at + 2 > dev->vd_notify_len || (at & 1)) {
        snprintf(dev->vd_why, sizeof dev->vd_why,
                 "its notify offset %u x multiplier %u is not a 2-byte slot of its %u-byte "
                 "notify region",
                 noff, dev->vd_notify_mult, dev->vd_notify_len);
        return MIRC_IO;
    }
    vio_write16(c + COM_Q_SIZE, vq->vq_num);
    write64(c + COM_Q_DESCLO, vio_phys((const void *)vq->vq_desc));
    write64(c + COM_Q_AVAILLO, vio_phys((const void *)vq->vq_avail));
    write64(c + COM_Q_USEDLO, vio_phys((const void *)vq->vq_used));
    vq->vq_notify = dev->vd_notify + (uintptr_t)at;
    vio_write16(c + COM_Q_ENABLE, 1);
    return MIRC_OK;
}

static void pm_notify(struct virtio_dev *dev, struct virtq *vq)
{
    (void)dev;
    vio_write16(vq->vq_notify, vq->vq_index);
}

static unsigned pm_intr_ack(struct virtio_dev *dev)
{
    return vio_read8(dev->vd_isr); /* reading clears it and lowers INTx */
}

const struct virtio_ops virtio_pci_modern_ops = {
    .features = pm_features,
    .set_features = pm_set_features,
    .status = pm_status,
    .set_status = pm_set_status,
    .config = pm_config,
    .config_gen = pm_config_gen,
    .queue_max = pm_queue_max,
    .queue_setup = pm_queue_setup,
    .notify = pm_notify,
    .intr_ack = pm_intr_ack,
};

/* ---- legacy ---- */

static uint64_t pl_features(struct virtio_dev *dev)
{
    return vio_inl((uint16_t)(dev->vd_io + LEG_HOST_FEATURES));
}

static void pl_set_features(struct virtio_dev *dev, uint64_t f)
{
    vio_outl((uint16_t)(dev->vd_io + LEG_GUEST_FEATURES), (uint32_t)f);
}

static uint8_t pl_status(struct virtio_dev *dev)
{
    return vio_inb((uint16_t)(dev->vd_io + LEG_STATUS));
}

static void pl_set_status(struct virtio_dev *dev, uint8_t s)
{
    vio_outb((uint16_t)(dev->vd_io + LEG_STATUS), s);
}

static uint32_t pl_config(struct virtio_dev *dev, unsigned off, unsigned width)
{
    uint16_t p = (uint16_t)(dev->vd_io + LEG_CONFIG + off);
    return width == 1 ? vio_inb(p) : width == 2 ? vio_inw(p) : vio_inl(p);
}

static uint32_t pl_config_gen(struct virtio_dev *dev)
{
    (void)dev;
    return 0;
}

static unsigned pl_queue_max(struct virtio_dev *dev, unsigned idx)
{
    vio_outw((uint16_t)(dev->vd_io + LEG_QUEUE_SEL), (uint16_t)idx);
    return vio_inw((uint16_t)(dev->vd_io + LEG_QUEUE_SIZE));
}

static mirc_status pl_queue_setup(struct virtio_dev *dev, struct virtq *vq)
{
    uint64_t pfn = vio_phys(vq->vq_mem) / VIRTQ_ALIGN;
    if (pfn > 0xffffffffu)
        return MIRC_IO;
    vio_outw((uint16_t)(dev->vd_io + LEG_QUEUE_SEL), vq->vq_index);
    vio_outl((uint16_t)(dev->vd_io + LEG_QUEUE_PFN), (uint32_t)pfn);
    return MIRC_OK;
}

static void pl_notify(struct virtio_dev *dev, struct virtq *vq)
{
    vio_outw((uint16_t)(dev->vd_io + LEG_QUEUE_NOTIFY), vq->vq_index);
}

static unsigned pl_intr_ack(struct virtio_dev *dev)
{
    return vio_inb((uint16_t)(dev->vd_io + LEG_ISR));
}

const struct virtio_ops virtio_pci_legacy_ops = {
    .features = pl_features,
    .set_features = pl_set_features,
    .status = pl_status,
    .set_status = pl_set_status,
    .config = pl_config,
    .config_gen = pl_config_gen,
    .queue_max = pl_queue_max,
    .queue_setup = pl_queue_setup,
    .notify = pl_notify,
    .intr_ack = pl_intr_ack,
};
