/* backends/kvm/virtio_pci.c: the virtio-pci transport (modern capabilities, legacy I/O BAR) on bus
 * 0 of -M pc and q35. */
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"
#include "virtio.h"
#include "virtio_port.h"

/*
 * qboot leaves PCI resources to the guest, and every configuration access
 * costs two exits here, so the scan is as small as it can be: function 0 of
 * the slots on bus 0 (one dword each), only as far as the devices the
 * manifest asks for (QEMU fills slots in -device order, so the scan usually
 * stops a few slots in), then, for virtio devices only, their capability
 * list, the BARs they use and the interrupt pin. BARs that the
 * firmware left at zero are placed in windows no RAM, chipset or firmware
 * device uses on pc and q35: memory at PCI_MEM_BASE, ports at PCI_IO_BASE.
 *
 * Interrupts are INTx, routed as QEMU wires them: on pc through the PIIX3
 * PIRQ route registers to an ISA IRQ (set to 10 or 11 when the firmware left
 * them disabled), on q35 to GSI 16..23 by ICH9's fixed swizzle.
 */

#define PCI_ADDR          0xcf8
#define PCI_DATA          0xcfc
#define PCI_SLOTS         32
#define PCI_VENDOR_VIRTIO 0x1af4
#define PCI_ID_I440FX     0x12378086u
#define PCI_ID_Q35        0x29c08086u
#define PCI_PIIX3_SLOT    1
#define PCI_PIIX3_PIRQRC  0x60
#define PCI_COMMAND       0x04
#define PCI_CMD_IO        0x1
#define PCI_CMD_MEMORY    0x2
#define PCI_CMD_MASTER    0x4
#define PCI_CMD_INTX_OFF  0x400
#define PCI_STATUS_CAPS   0x10 /* in the upper half of dword 0x04 */
#define PCI_SUBSYSTEM     0x2c
#define PCI_BAR0          0x10
#define PCI_CAP_PTR       0x34
#define PCI_INTR          0x3c /* line, then pin */
#define PCI_CAP_VENDOR    0x09
#define PCI_MEM_BASE      0xfe000000u /* up to the IOAPIC at 0xfec00000 */
#define PCI_MEM_END       0xfec00000u
#define PCI_IO_BASE       0xc000u
#define PCI_IO_END        0x10000u

/* virtio_pci_cap.cfg_type (virtio 1.x, 4.1.4) */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR    3
#define CAP_DEVICE 4

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
#define LEG_CONFIG         0x14

static uint32_t mem_next = PCI_MEM_BASE, io_next = PCI_IO_BASE;
static unsigned next_slot; /* the scan goes as far as the devices asked for: 0 not started */
static enum { CHIPSET_UNKNOWN, CHIPSET_PC, CHIPSET_Q35 } chipset;

/* ---- configuration space (mechanism #1, bus 0, function 0) ---- */

static uint32_t cfg_read(unsigned slot, unsigned off)
{
    vio_outl(PCI_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
    return vio_inl(PCI_DATA);
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v)
{
    vio_outl(PCI_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
    vio_outl(PCI_DATA, v);
}

static void cfg_write16(unsigned slot, unsigned off, uint16_t v)
{
    vio_outl(PCI_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
    vio_outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

static void cfg_write8(unsigned slot, unsigned off, uint8_t v)
{
    vio_outl(PCI_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
    vio_outb((uint16_t)(PCI_DATA + (off & 3)), v);
}

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
    vio_write16(c + COM_Q_SIZE, vq->vq_num);
    write64(c + COM_Q_DESCLO, vio_phys((const void *)vq->vq_desc));
    write64(c + COM_Q_AVAILLO, vio_phys((const void *)vq->vq_avail));
    write64(c + COM_Q_USEDLO, vio_phys((const void *)vq->vq_used));
    uint32_t off = vio_read16(c + COM_Q_NOFF);
    vq->vq_notify = dev->vd_notify + (uintptr_t)off * dev->vd_notify_mult;
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

static const struct virtio_ops modern_ops = {
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

static const struct virtio_ops legacy_ops = {
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

/* ---- resources ---- */

/*
 * The address of BAR `bar`, assigning one when the firmware left it at zero.
 * Stores its size. Returns 0 when the BAR does not exist or does not fit.
 */
static uint64_t bar_addr(unsigned slot, unsigned bar, int io, uint64_t *size)
{
    unsigned off = PCI_BAR0 + 4 * bar;
    uint32_t lo = cfg_read(slot, off);
    if ((lo & 1) != (io ? 1u : 0u))
        return 0;
    int is64 = !io && (lo & 6) == 4;
    if (is64 && bar == 5)
        return 0;
    uint64_t addr = io ? lo & ~3u : lo & ~0xfu;
    if (is64)
        addr |= (uint64_t)cfg_read(slot, off + 4) << 32;
    /* the size: write all ones, read back the mask (with decoding off, so nothing moves) */
    cfg_write(slot, off, 0xffffffffu);
    uint32_t mask = cfg_read(slot, off) & (io ? ~3u : ~0xfu);
    if (io)
        mask |= 0xffff0000u;
    uint64_t sz = (uint64_t)(uint32_t)(~mask + 1);
    if (mask == 0 || sz == 0)
        return 0;
    if (addr == 0) {
        uint32_t *next = io ? &io_next : &mem_next;
        uint32_t end = io ? PCI_IO_END : PCI_MEM_END;
        uint64_t a = ((uint64_t)*next + sz - 1) & ~(sz - 1);
        if (a + sz > end)
            return 0;
        *next = (uint32_t)(a + sz);
        addr = a;
    }
    cfg_write(slot, off, (uint32_t)addr | (lo & (io ? 3u : 0xfu)));
    if (is64)
        cfg_write(slot, off + 4, (uint32_t)(addr >> 32));
    *size = sz;
    return addr;
}

/* The GSI that INTx pin (1..4) of `slot` reaches, or -1. */
static int intx_gsi(unsigned slot, unsigned pin)
{
    if (pin < 1 || pin > 4)
        return -1;
    unsigned intx = pin - 1;
    if (chipset == CHIPSET_Q35) {
        if (slot < 25)
            return 16 + 4 + (int)((slot + intx) % 4); /* PIRQ E..H */
        return 16 + (int)(slot == 30 ? 4 + intx : intx);
    }
    if (chipset == CHIPSET_PC) {
        unsigned pirq = (slot - 1 + intx) & 3;
        uint32_t rc = cfg_read(PCI_PIIX3_SLOT, PCI_PIIX3_PIRQRC);
        unsigned irq = (rc >> (8 * pirq)) & 0xff;
        if (irq & 0x80 || irq >= 16 || irq == 0) { /* disabled: route it like SeaBIOS does */
            irq = pirq < 2 ? 10 : 11;
            cfg_write8(PCI_PIIX3_SLOT, PCI_PIIX3_PIRQRC + pirq, (uint8_t)irq);
        }
        return (int)irq;
    }
    return -1;
}

struct caps {
    int found[5]; /* by cfg_type */
    unsigned bar[5];
    uint32_t off[5], len[5];
    uint32_t notify_mult;
};

static void read_caps(unsigned slot, struct caps *c)
{
    memset(c, 0, sizeof *c);
    if (!((cfg_read(slot, PCI_COMMAND) >> 16) & PCI_STATUS_CAPS))
        return;
    unsigned p = cfg_read(slot, PCI_CAP_PTR) & 0xfc;
    for (int guard = 0; p >= 0x40 && guard < 48; guard++) {
        uint32_t h = cfg_read(slot, p);
        unsigned type = (h >> 24) & 0xff;
        if ((h & 0xff) == PCI_CAP_VENDOR && type >= CAP_COMMON && type <= CAP_DEVICE &&
            !c->found[type]) {
            unsigned bar = cfg_read(slot, p + 4) & 0xff;
            if (bar <= 5) {
                c->found[type] = 1;
                c->bar[type] = bar;
                c->off[type] = cfg_read(slot, p + 8);
                c->len[type] = cfg_read(slot, p + 12);
                if (type == CAP_NOTIFY)
                    c->notify_mult = cfg_read(slot, p + 16);
            }
        }
        p = (h >> 8) & 0xfc;
    }
}

/* Maps the modern capabilities; 0 on success. */
static int attach_modern(struct virtio_dev *dev, unsigned slot, const struct caps *c)
{
    uintptr_t base[6] = { 0 };
    uint64_t size[6] = { 0 };
    uintptr_t *out[5] = { NULL, &dev->vd_base, &dev->vd_notify, &dev->vd_isr, &dev->vd_devcfg };
    for (unsigned t = CAP_COMMON; t <= CAP_DEVICE; t++) {
        unsigned b = c->bar[t];
        if (!base[b]) {
            uint64_t a = bar_addr(slot, b, 0, &size[b]);
            if (a == 0)
                return -1;
            base[b] = (uintptr_t)vio_map(a, (size_t)size[b]);
        }
        if ((uint64_t)c->off[t] + c->len[t] > size[b])
            return -1;
        *out[t] = base[b] + c->off[t];
    }
    dev->vd_notify_mult = c->notify_mult;
    dev->vd_modern = 1;
    return 0;
}

static void attach(unsigned slot, uint32_t id)
{
    unsigned devid = id >> 16;
    uint32_t type;
    if (devid >= 0x1040 && devid <= 0x107f)
        type = devid - 0x1040;
    else if (devid >= 0x1000 && devid <= 0x103f) /* transitional: the subsystem id says */
        type = cfg_read(slot, PCI_SUBSYSTEM) >> 16;
    else
        return;
    if (type != VIRTIO_ID_NET && type != VIRTIO_ID_BLOCK)
        return;
    struct caps c;
    read_caps(slot, &c);
    int modern =
        c.found[CAP_COMMON] && c.found[CAP_NOTIFY] && c.found[CAP_ISR] && c.found[CAP_DEVICE];
    char where[40];
    snprintf(where, sizeof where, "virtio-pci 00:%02x.0", slot);
    uint32_t cmd = cfg_read(slot, PCI_COMMAND) & 0xffff;
    cfg_write16(slot, PCI_COMMAND, (uint16_t)(cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY)));
    struct virtio_dev tmp = { 0 };
    uint64_t iosize;
    if (modern && attach_modern(&tmp, slot, &c) == 0) {
        tmp.vd_ops = &modern_ops;
        cmd |= PCI_CMD_MEMORY;
    } else if (devid < 0x1040 && (tmp.vd_io = (uint16_t)bar_addr(slot, 0, 1, &iosize)) != 0) {
        tmp.vd_ops = &legacy_ops;
        tmp.vd_fixed_qsize = 1;
        cmd |= PCI_CMD_IO;
    } else {
        cfg_write16(slot, PCI_COMMAND, (uint16_t)cmd);
        mirc_log("%s: cannot map its registers (no room for its BARs)", where);
        return;
    }
    cfg_write16(slot, PCI_COMMAND, (uint16_t)((cmd | PCI_CMD_MASTER) & ~PCI_CMD_INTX_OFF));
    int gsi = intx_gsi(slot, (cfg_read(slot, PCI_INTR) >> 8) & 0xff);
    if (gsi >= 0)
        cfg_write8(slot, PCI_INTR, (uint8_t)gsi); /* the line register, for the record */
    struct virtio_dev *dev = virtio_dev_new(tmp.vd_ops, type);
    if (!dev)
        return;
    uint32_t t = dev->vd_type;
    *dev = tmp;
    dev->vd_type = t;
    dev->vd_handle = -1;
    dev->vd_slot = (uint8_t)slot;
    dev->vd_gsis = gsi >= 0 ? (uint64_t)1 << gsi : 0;
    memcpy(dev->vd_where, where, sizeof where);
}

int virtio_pci_scan_next(void)
{
    if (next_slot == 0) {
        uint32_t host = cfg_read(0, 0);
        if (host == 0xffffffffu || host == 0) {
            next_slot = PCI_SLOTS; /* no PCI host bridge: microvm */
            return 0;
        }
        /* i440fx always has the PIIX3 at 00:01.0 (its PIRQ routing registers) */
        chipset = host == PCI_ID_Q35      ? CHIPSET_Q35
                  : host == PCI_ID_I440FX ? CHIPSET_PC
                                          : CHIPSET_UNKNOWN;
        next_slot = 1;
    }
    if (next_slot >= PCI_SLOTS)
        return 0;
    unsigned slot = next_slot++;
    uint32_t id = cfg_read(slot, 0);
    if ((id & 0xffff) == PCI_VENDOR_VIRTIO)
        attach(slot, id);
    return 1;
}

void virtio_pci_reset(void)
{
    mem_next = PCI_MEM_BASE;
    io_next = PCI_IO_BASE;
    chipset = CHIPSET_UNKNOWN;
    next_slot = 0;
}
