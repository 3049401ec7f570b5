/* backends/kvm/virtio_pci.c: the virtio-pci transport on bus 0 of -M pc and q35: discovery, BARs
 * and capabilities, each value the device supplies checked before use. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"
#include "virtio.h"
#include "virtio_pci.h"
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
#define PCI_CHIPSET_END   0xff000000u /* IOAPIC, HPET, local APIC: no BAR belongs there */
#define PCI_IO_BASE       0xc000u
#define PCI_IO_MIN        0x1000u /* below: the chipset's, the PIT's, the serial ports */
#define PCI_IO_END        0x10000u

/* virtio_pci_cap.cfg_type (virtio 1.x, 4.1.4) */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR    3
#define CAP_DEVICE 4

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

/* ---- resources ---- */

/*
 * Everything below reads values the device (or QEMU's device model) chose,
 * so each is checked before the guest writes where it points, in the spirit
 * of Linux's vp_modern_map_capability and OpenBSD's sized subregions: BAR
 * sizes are powers of two, firmware addresses are aligned and do not wrap,
 * ports stay above the chipset's, memory windows overlap no RAM, image or
 * page table (vio_map), every capability is long enough and lies inside its
 * BAR, and (pm_queue_setup) every notify address inside the notify region.
 * A device that fails is refused with one line saying why.
 */

#define WHY_LEN     112
#define PCI_CFG_END 0x100

/* Formats why a device is refused; returns -1. */
static int refuse(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, WHY_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

/* A firmware-assigned BAR the guest may use: 0, or -1 with the reason. */
static int bar_placed_ok(unsigned bar, int io, uint64_t addr, uint64_t sz, char *why)
{
    unsigned long long a = addr;
    if (addr & (sz - 1))
        return refuse(why, "BAR %u at 0x%llx is not aligned to its size 0x%llx", bar, a,
                      (unsigned long long)sz);
    if (addr + sz < addr)
        return refuse(why, "BAR %u at 0x%llx wraps past the end of the address space", bar, a);
    if (io && (addr < PCI_IO_MIN || addr + sz > PCI_IO_END))
        return refuse(why, "I/O BAR %u at 0x%llx lies outside ports 0x%x-0xffff", bar, a,
                      PCI_IO_MIN);
    if (!io && addr < PCI_CHIPSET_END && addr + sz > PCI_MEM_END)
        return refuse(why, "BAR %u at 0x%llx overlaps the IOAPIC, HPET or local APIC", bar, a);
    return 0;
}

/*
 * Stores the address and size of BAR `bar`, assigning an address when the
 * firmware left it at zero. Returns 0, or -1 with the reason.
 */
static int bar_addr(unsigned slot, unsigned bar, int io, uint64_t *out, uint64_t *size, char *why)
{
    unsigned off = PCI_BAR0 + 4 * bar;
    uint32_t lo = cfg_read(slot, off);
    if ((lo & 1) != (io ? 1u : 0u))
        return refuse(why, "BAR %u is not %s BAR", bar, io ? "an I/O" : "a memory");
    int is64 = !io && (lo & 6) == 4;
    if (is64 && bar == 5)
        return refuse(why, "BAR 5 claims to be the low half of a 64-bit BAR");
    uint64_t addr = io ? lo & ~3u : lo & ~0xfu;
    if (is64)
        addr |= (uint64_t)cfg_read(slot, off + 4) << 32;
    /* the size: write all ones, read back the mask (with decoding off, so nothing moves) */
    cfg_write(slot, off, 0xffffffffu);
    uint32_t mask = cfg_read(slot, off) & (io ? ~3u : ~0xfu);
    if (io)
        mask |= 0xffff0000u;
    uint64_t sz = (uint32_t)(~mask + 1);
    if (mask == 0 || sz == 0)
        return refuse(why, "BAR %u decodes no address, or 4 GiB or more", bar);
    if (sz & (sz - 1))
        return refuse(why, "BAR %u reports a size mask (0x%x) that is not a power of two", bar,
                      mask);
    if (addr == 0) {
        uint32_t *next = io ? &io_next : &mem_next;
        uint32_t end = io ? PCI_IO_END : PCI_MEM_END;
        uint64_t a = ((uint64_t)*next + sz - 1) & ~(sz - 1);
        if (a + sz > end)
            return refuse(why, "no room for BAR %u (0x%llx bytes) below 0x%x", bar,
                          (unsigned long long)sz, end);
        *next = (uint32_t)(a + sz);
        addr = a;
    } else if (bar_placed_ok(bar, io, addr, sz, why) != 0) {
        return -1;
    }
    cfg_write(slot, off, (uint32_t)addr | (lo & (io ? 3u : 0xfu)));
    if (is64)
        cfg_write(slot, off + 4, (uint32_t)(addr >> 32));
    *out = addr;
    *size = sz;
    return 0;
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

/* Per cfg_type: the name, the least length and the alignment the driver relies on. */
static const struct {
    const char *name;
    uint32_t minlen, align;
} regions[5] = {
    [CAP_COMMON] = { "common config", VIRTIO_PCI_COMMON_LEN, 4 },
    [CAP_NOTIFY] = { "notify", 2, 2 },
    [CAP_ISR] = { "ISR", 1, 1 },
    [CAP_DEVICE] = { "device config", 0, 4 },
};

struct caps {
    int found[5]; /* by cfg_type */
    unsigned bar[5];
    uint32_t off[5], len[5];
    uint32_t notify_mult;
};

/* Reads the virtio capabilities; 0, or -1 with the reason (one too short to hold its fields). */
static int read_caps(unsigned slot, struct caps *c, char *why)
{
    memset(c, 0, sizeof *c);
    if (!((cfg_read(slot, PCI_COMMAND) >> 16) & PCI_STATUS_CAPS))
        return 0;
    unsigned p = cfg_read(slot, PCI_CAP_PTR) & 0xfc;
    for (int guard = 0; p >= 0x40 && guard < 48; guard++) {
        uint32_t h = cfg_read(slot, p);
        unsigned type = (h >> 24) & 0xff, cap_len = (h >> 16) & 0xff;
        if ((h & 0xff) == PCI_CAP_VENDOR && type >= CAP_COMMON && type <= CAP_DEVICE &&
            !c->found[type]) {
            unsigned bar = cfg_read(slot, p + 4) & 0xff, need = type == CAP_NOTIFY ? 20 : 16;
            if (bar <= 5 && (cap_len < need || p + need > PCI_CFG_END))
                return refuse(why, "its %s capability at 0x%x is %u bytes, shorter than %u",
                              regions[type].name, p, cap_len, need);
            if (bar <= 5) { /* other values are reserved: such a capability is ignored */
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
    return 0;
}

/* Checks and maps the region of capability t; 0, or -1 with the reason. */
static int map_region(unsigned slot, const struct caps *c, unsigned t, uintptr_t base[6],
                      uint64_t size[6], uintptr_t *out, char *why)
{
    unsigned b = c->bar[t];
    uint32_t off = c->off[t], len = c->len[t];
    if (len < regions[t].minlen)
        return refuse(why, "its %s capability covers %u bytes, fewer than %u", regions[t].name, len,
                      regions[t].minlen);
    if (off & (regions[t].align - 1))
        return refuse(why, "its %s capability's offset 0x%x is not %u-byte aligned",
                      regions[t].name, off, regions[t].align);
    if (!base[b]) {
        uint64_t a;
        if (bar_addr(slot, b, 0, &a, &size[b], why) != 0)
            return -1;
        void *m = vio_map(a, (size_t)size[b]);
        if (!m)
            return refuse(why, "BAR %u at 0x%llx cannot be mapped: %s", b, (unsigned long long)a,
                          vio_map_refusal(a, (size_t)size[b]));
        base[b] = (uintptr_t)m;
    }
    if ((uint64_t)off + len > size[b])
        return refuse(why,
                      "its %s capability (0x%x bytes at 0x%x) reaches past BAR %u (0x%llx bytes)",
                      regions[t].name, len, off, b, (unsigned long long)size[b]);
    *out = base[b] + off;
    return 0;
}

/* Maps the modern capabilities; 0, or -1 with the reason. */
static int attach_modern(struct virtio_dev *dev, unsigned slot, const struct caps *c, char *why)
{
    uintptr_t base[6] = { 0 };
    uint64_t size[6] = { 0 };
    uintptr_t *out[5] = { NULL, &dev->vd_base, &dev->vd_notify, &dev->vd_isr, &dev->vd_devcfg };
    for (unsigned t = CAP_COMMON; t <= CAP_DEVICE; t++)
        if (map_region(slot, c, t, base, size, out[t], why) != 0)
            return -1;
    dev->vd_notify_len = c->len[CAP_NOTIFY];
    dev->vd_notify_mult = c->notify_mult;
    dev->vd_devcfg_len = c->len[CAP_DEVICE];
    dev->vd_modern = 1;
    return 0;
}

/* The legacy I/O BAR; 0, or -1 with the reason. */
static int attach_legacy(struct virtio_dev *dev, unsigned slot, char *why)
{
    uint64_t addr, size;
    if (bar_addr(slot, 0, 1, &addr, &size, why) != 0)
        return -1;
    if (size <= VIRTIO_PCI_LEGACY_CONFIG)
        return refuse(why, "its legacy I/O BAR has %u ports, fewer than the %u registers",
                      (unsigned)size, VIRTIO_PCI_LEGACY_CONFIG + 1);
    dev->vd_io = (uint16_t)addr;
    dev->vd_devcfg_len = (uint32_t)size - VIRTIO_PCI_LEGACY_CONFIG;
    dev->vd_fixed_qsize = 1;
    return 0;
}

/* The device type behind a virtio vendor id, or 0 when it is not ours to drive. */
static uint32_t device_type(unsigned slot, unsigned devid)
{
    uint32_t type;
    if (devid >= 0x1040 && devid <= 0x107f)
        type = devid - 0x1040;
    else if (devid >= 0x1000 && devid <= 0x103f) /* transitional: the subsystem id says */
        type = cfg_read(slot, PCI_SUBSYSTEM) >> 16;
    else
        return 0;
    return type == VIRTIO_ID_NET || type == VIRTIO_ID_BLOCK ? type : 0;
}

/* Finds the transport registers; 0 and the decoding to enable, or -1 with the reason. */
static int attach_transport(struct virtio_dev *tmp, unsigned slot, unsigned devid, uint32_t *cmd,
                            char *why)
{
    struct caps c;
    if (read_caps(slot, &c, why) != 0)
        return -1;
    if (c.found[CAP_COMMON] && c.found[CAP_NOTIFY] && c.found[CAP_ISR] && c.found[CAP_DEVICE]) {
        if (attach_modern(tmp, slot, &c, why) != 0) /* no silent fall back to legacy */
            return -1;
        tmp->vd_ops = &virtio_pci_modern_ops;
        *cmd |= PCI_CMD_MEMORY;
        return 0;
    }
    if (devid >= 0x1040)
        return refuse(why, "it lacks one of the common, notify, ISR and device capabilities");
    if (attach_legacy(tmp, slot, why) != 0)
        return -1;
    tmp->vd_ops = &virtio_pci_legacy_ops;
    *cmd |= PCI_CMD_IO;
    return 0;
}

static void attach(unsigned slot, uint32_t id)
{
    unsigned devid = id >> 16;
    uint32_t type = device_type(slot, devid);
    if (!type)
        return;
    char where[40], why[WHY_LEN];
    snprintf(where, sizeof where, "virtio-pci 00:%02x.0", slot);
    uint32_t cmd = cfg_read(slot, PCI_COMMAND) & 0xffff;
    cmd &= ~(uint32_t)(PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER);
    cfg_write16(slot, PCI_COMMAND, (uint16_t)cmd); /* decoding off while BARs move */
    struct virtio_dev tmp = { 0 };
    if (attach_transport(&tmp, slot, devid, &cmd, why) != 0) {
        mirc_log("%s: %s; ignoring the device", where, why); /* it stays inert: no decoding */
        return;
    }
    cfg_write16(slot, PCI_COMMAND, (uint16_t)((cmd | PCI_CMD_MASTER) & ~PCI_CMD_INTX_OFF));
    int gsi = intx_gsi(slot, (cfg_read(slot, PCI_INTR) >> 8) & 0xff);
    if (gsi >= 0)
        cfg_write8(slot, PCI_INTR, (uint8_t)gsi); /* the line register, for the record */
    struct virtio_dev *dev = virtio_dev_new(tmp.vd_ops, type);
    if (!dev)
        return;
    *dev = tmp;
    dev->vd_type = type;
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
