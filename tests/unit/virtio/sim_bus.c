/* tests/unit/virtio/sim_bus.c: the simulated register files (virtio-mmio, PCI config space and
 * BARs) and the port layer. */
#include <criterion/criterion.h>
#include <string.h>

#include "memmap.h"
#include "sim.h"
#include "virtio_port.h"

/* ---- common register semantics ---- */

static void dev_reset(struct sim_dev *d)
{
    d->status = 0;
    d->driver_features = 0;
    d->isr = 0;
    d->irq_level = 0;
    d->stopped = 0;
    for (unsigned q = 0; q < SIM_QUEUES; q++) {
        uint32_t max = d->q[q].num_max;
        memset(&d->q[q], 0, sizeof d->q[q]);
        d->q[q].num_max = max;
    }
}

static void set_status(struct sim_dev *d, uint8_t v)
{
    if (v == 0) {
        dev_reset(d);
        return;
    }
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
        int ok = !d->refuse_features_ok && (d->driver_features & ~d->features) == 0 &&
                 sim_negotiated(d, VIRTIO_F_VERSION_1);
        if (!ok)
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    }
    if (d->modern && (v & VIRTIO_STATUS_DRIVER_OK))
        cr_assert(d->status & VIRTIO_STATUS_FEATURES_OK, "DRIVER_OK before FEATURES_OK");
    d->status = (uint8_t)(v | (d->status & VIRTIO_STATUS_NEEDS_RESET));
}

static void legacy_queue(struct sim_dev *d, struct sim_queue *q, uint32_t pfn)
{
    q->pfn = pfn;
    if (!pfn) {
        q->ready = 0;
        return;
    }
    uint32_t page = d->page_size ? d->page_size : 4096, align = q->align ? q->align : 4096;
    if (!q->num)
        q->num = q->num_max;
    q->desc = (uint64_t)pfn * page;
    q->avail = q->desc + 16ull * q->num;
    q->used = (q->avail + 2ull * (3 + q->num) + align - 1) & ~(uint64_t)(align - 1);
    q->ready = 1;
}

static void notify(struct sim_dev *d, unsigned idx)
{
    cr_assert(idx < d->nq, "notify of queue %u", idx);
    cr_assert(d->status & VIRTIO_STATUS_DRIVER_OK, "notify before DRIVER_OK");
    d->notifies[idx]++;
    sim_run(d);
}

static uint32_t cfg_bytes(const struct sim_dev *d, unsigned off, unsigned width)
{
    uint32_t v = 0;
    cr_assert(off + width <= sizeof d->config, "config read at %u", off);
    memcpy(&v, d->config + off, width);
    return v;
}

/* ---- virtio-mmio ---- */

static struct sim_dev *mmio_dev(uintptr_t a, unsigned *off)
{
    if (a < SIM_MMIO_BASE || a >= SIM_MMIO_BASE + SIM_DEVS * SIM_MMIO_SIZE)
        return NULL;
    unsigned i = (unsigned)((a - SIM_MMIO_BASE) / SIM_MMIO_SIZE);
    *off = (unsigned)((a - SIM_MMIO_BASE) % SIM_MMIO_SIZE);
    return &sim.dev[i];
}

static uint32_t mmio_read(struct sim_dev *d, unsigned off, unsigned width)
{
    if (off >= 0x100)
        return d->present ? cfg_bytes(d, off - 0x100, width) : 0;
    cr_assert(width == 4, "a %u-byte access to mmio register 0x%x", width, off);
    if (!d->present || d->bus != SIM_MMIO)
        return off == 0 ? 0x74726976u : off == 4 ? 2 : 0; /* an empty transport */
    struct sim_queue *q = d->qsel < SIM_QUEUES ? &d->q[d->qsel] : NULL;
    switch (off) {
    case 0x000:
        return 0x74726976u;
    case 0x004:
        return d->modern ? 2 : 1;
    case 0x008:
        return d->type;
    case 0x00c:
        return 0x554d4551u;
    case 0x010:
        return d->dfsel == 0                ? (uint32_t)d->features
               : d->dfsel == 1 && d->modern ? (uint32_t)(d->features >> 32)
                                            : 0;
    case 0x034:
        return q && d->qsel < d->nq ? q->num_max : 0;
    case 0x040:
        return q ? q->pfn : 0;
    case 0x044:
        return q ? q->ready : 0;
    case 0x060:
        return d->isr;
    case 0x070:
        return d->status;
    case 0x0fc:
        return d->config_gen_spin ? ++d->config_gen : d->config_gen;
    default:
        return 0;
    }
}

static void set_addr(uint64_t *a, int hi, uint32_t v)
{
    *a = hi ? (*a & 0xffffffffu) | (uint64_t)v << 32 : (*a & ~0xffffffffull) | v;
}

static void mmio_write(struct sim_dev *d, unsigned off, uint32_t v, unsigned width)
{
    cr_assert(width == 4, "a %u-byte write to mmio register 0x%x", width, off);
    cr_assert(d->present && d->bus == SIM_MMIO, "write to an empty mmio window");
    struct sim_queue *q = d->qsel < SIM_QUEUES ? &d->q[d->qsel] : &d->q[0];
    switch (off) {
    case 0x014:
        d->dfsel = v;
        break;
    case 0x020:
        if (d->gfsel < 2)
            set_addr(&d->driver_features, (int)d->gfsel, v);
        break;
    case 0x024:
        cr_assert(d->modern || v == 0, "legacy: DriverFeaturesSel must stay 0");
        d->gfsel = v;
        break;
    case 0x028:
        d->page_size = v;
        break;
    case 0x030:
        d->qsel = v;
        break;
    case 0x038:
        cr_assert(v <= q->num_max && v && !(v & (v - 1)), "QueueNum %u", v);
        q->num = v;
        break;
    case 0x03c:
        q->align = v;
        break;
    case 0x040:
        cr_assert(!d->modern, "QueuePFN on a version 2 device");
        legacy_queue(d, q, v);
        break;
    case 0x044:
        q->ready = v & 1;
        break;
    case 0x050:
        notify(d, v);
        break;
    case 0x064:
        d->isr &= ~v;
        d->irq_level = d->isr != 0;
        break;
    case 0x070:
        set_status(d, (uint8_t)v);
        break;
    case 0x080:
    case 0x084:
        set_addr(&q->desc, off == 0x084, v);
        break;
    case 0x090:
    case 0x094:
        set_addr(&q->avail, off == 0x094, v);
        break;
    case 0x0a0:
    case 0x0a4:
        set_addr(&q->used, off == 0x0a4, v);
        break;
    default:
        cr_assert_fail("write to unknown mmio register 0x%x", off);
    }
}

/* ---- virtio-pci ---- */

#define BAR4_SIZE 0x4000u
#define BAR0_SIZE 64u

static struct sim_dev *pci_dev(unsigned slot)
{
    if (slot >= SIM_DEVS || !sim.dev[slot].present || sim.dev[slot].bus != SIM_PCI)
        return NULL;
    return &sim.dev[slot];
}

static uint32_t pci_cfg_read(unsigned slot, unsigned off)
{
    sim.pci_slots_probed += off == 0;
    if (!sim.pci)
        return 0xffffffffu;
    if (slot == 0 && off == 0)
        return sim.pci == 2 ? 0x29c08086u : 0x12378086u;
    if (slot == 1 && sim.pci == 1) {
        if (off == 0)
            return 0x70008086u;
        if (off == 0x60)
            return (uint32_t)sim.pirqrc[0] | sim.pirqrc[1] << 8 | sim.pirqrc[2] << 16 |
                   (uint32_t)sim.pirqrc[3] << 24;
        return 0;
    }
    struct sim_dev *d = pci_dev(slot);
    if (!d)
        return 0xffffffffu;
    uint32_t v;
    memcpy(&v, d->pcfg + off, 4);
    return v;
}

static void pci_cfg_write(unsigned slot, unsigned off, uint32_t v, unsigned width)
{
    if (slot == 1 && sim.pci == 1 && off >= 0x60 && off < 0x64) {
        for (unsigned k = 0; k < width; k++)
            sim.pirqrc[off - 0x60 + k] = (uint8_t)(v >> 8 * k);
        return;
    }
    struct sim_dev *d = pci_dev(slot);
    cr_assert(d, "config write to empty slot %u", slot);
    uint8_t *c = d->pcfg;
    if (off == 0x10 && width == 4) { /* BAR0: I/O, when transitional */
        uint32_t mask = d->legacy_io ? ~(BAR0_SIZE - 1) : 0;
        d->bar0 = (uint16_t)(v & mask);
        v = d->legacy_io ? (v & mask) | 1 : 0;
    } else if (off == 0x20 && width == 4) { /* BAR4: 64-bit memory, low half */
        uint32_t mask = !d->modern ? 0 : d->bar4_mask ? d->bar4_mask : ~(BAR4_SIZE - 1);
        v = d->modern ? (v & mask) | 0xc : 0;
        d->bar4 = (d->bar4 & ~0xffffffffull) | (v & ~0xfu);
    } else if (off == 0x24 && width == 4) {
        v = d->modern ? v : 0;
        d->bar4 = (d->bar4 & 0xffffffffu) | (uint64_t)v << 32;
    } else if (off >= 0x10 && off < 0x28) {
        return; /* BARs that do not exist */
    } else if (off == 0x04 || off == 0x3c) {
        /* command, interrupt line: writable */
    } else {
        cr_assert_fail("config write to read-only offset 0x%x of slot %u", off, slot);
    }
    for (unsigned k = 0; k < width; k++)
        c[off + k] = (uint8_t)(v >> 8 * k);
}

static uint16_t cmd(const struct sim_dev *d)
{
    return (uint16_t)(d->pcfg[4] | d->pcfg[5] << 8);
}

static struct sim_dev *bar4_dev(uintptr_t a, unsigned *off)
{
    for (unsigned i = 0; i < SIM_DEVS; i++) {
        struct sim_dev *d = &sim.dev[i];
        if (d->present && d->bus == SIM_PCI && d->bar4 && a >= d->bar4 && a < d->bar4 + BAR4_SIZE) {
            cr_assert(cmd(d) & 2, "memory access to slot %u with memory decoding off", d->slot);
            *off = (unsigned)(a - d->bar4);
            return d;
        }
    }
    return NULL;
}

static uint32_t common_read(struct sim_dev *d, unsigned off, unsigned width)
{
    struct sim_queue *q = d->qsel < SIM_QUEUES ? &d->q[d->qsel] : NULL;
    switch (off) {
    case 0x04:
        return d->dfsel == 0   ? (uint32_t)d->features
               : d->dfsel == 1 ? (uint32_t)(d->features >> 32)
                               : 0;
    case 0x12:
        return d->nq;
    case 0x14:
        cr_assert(width == 1);
        return d->status;
    case 0x15:
        cr_assert(width == 1);
        return d->config_gen_spin ? ++d->config_gen : d->config_gen;
    case 0x18:
        return q && d->qsel < d->nq ? (q->num ? q->num : q->num_max) : 0;
    case 0x1c:
        return q ? q->ready : 0;
    case 0x1e:
        return d->notify_off_set ? d->notify_off : d->qsel; /* queue_notify_off */
    default:
        return 0;
    }
}

static void common_write(struct sim_dev *d, unsigned off, uint32_t v, unsigned width)
{
    struct sim_queue *q = d->qsel < SIM_QUEUES ? &d->q[d->qsel] : &d->q[0];
    switch (off) {
    case 0x00:
        d->dfsel = v;
        break;
    case 0x08:
        d->gfsel = v;
        break;
    case 0x0c:
        if (d->gfsel < 2)
            set_addr(&d->driver_features, (int)d->gfsel, v);
        break;
    case 0x14:
        cr_assert(width == 1);
        set_status(d, (uint8_t)v);
        break;
    case 0x16:
        cr_assert(width == 2);
        d->qsel = v;
        break;
    case 0x18:
        cr_assert(v && v <= q->num_max && !(v & (v - 1)), "queue_size %u", v);
        q->num = v;
        break;
    case 0x1c:
        cr_assert(width == 2 && v == 1, "queue_enable");
        if (!q->num)
            q->num = q->num_max;
        q->ready = 1;
        break;
    case 0x20:
    case 0x24:
        set_addr(&q->desc, off == 0x24, v);
        break;
    case 0x28:
    case 0x2c:
        set_addr(&q->avail, off == 0x2c, v);
        break;
    case 0x30:
    case 0x34:
        set_addr(&q->used, off == 0x34, v);
        break;
    default:
        cr_assert_fail("write to common config offset 0x%x", off);
    }
}

static uint32_t bar4_read(struct sim_dev *d, unsigned off, unsigned width)
{
    if (off < 0x38)
        return common_read(d, off, width);
    if (off == 0x1000) {
        uint32_t v = d->isr;
        d->isr = 0;
        d->irq_level = 0;
        return v;
    }
    if (off >= 0x2000 && off < 0x2040)
        return cfg_bytes(d, off - 0x2000, width);
    cr_assert_fail("read of BAR4 offset 0x%x", off);
    return 0;
}

static void bar4_write(struct sim_dev *d, unsigned off, uint32_t v, unsigned width)
{
    if (off < 0x38) {
        common_write(d, off, v, width);
        return;
    }
    if (off >= 0x3000 && off < 0x4000) {
        cr_assert(width == 2 && (off - 0x3000) == 4 * v, "notify of queue %u at 0x%x", v, off);
        notify(d, v);
        return;
    }
    cr_assert_fail("write to BAR4 offset 0x%x", off);
}

static struct sim_dev *bar0_dev(uint16_t port, unsigned *off)
{
    for (unsigned i = 0; i < SIM_DEVS; i++) {
        struct sim_dev *d = &sim.dev[i];
        if (d->present && d->bus == SIM_PCI && d->legacy_io && d->bar0 && port >= d->bar0 &&
            port < d->bar0 + BAR0_SIZE) {
            cr_assert(cmd(d) & 1, "port access to slot %u with I/O decoding off", d->slot);
            *off = port - d->bar0;
            return d;
        }
    }
    return NULL;
}

static uint32_t legacy_read(struct sim_dev *d, unsigned off, unsigned width)
{
    struct sim_queue *q = d->qsel < SIM_QUEUES ? &d->q[d->qsel] : NULL;
    switch (off) {
    case 0x00:
        return (uint32_t)d->features;
    case 0x08:
        return q ? q->pfn : 0;
    case 0x0c:
        return q && d->qsel < d->nq ? q->num_max : 0;
    case 0x12:
        return d->status;
    case 0x13: {
        uint32_t v = d->isr;
        d->isr = 0;
        d->irq_level = 0;
        return v;
    }
    default:
        if (off >= 0x14)
            return cfg_bytes(d, off - 0x14, width);
        return 0;
    }
}

static void legacy_write(struct sim_dev *d, unsigned off, uint32_t v, unsigned width)
{
    switch (off) {
    case 0x04:
        cr_assert(width == 4);
        d->driver_features = v;
        break;
    case 0x08:
        legacy_queue(d, &d->q[d->qsel < SIM_QUEUES ? d->qsel : 0], v);
        break;
    case 0x0e:
        d->qsel = v;
        break;
    case 0x10:
        notify(d, v);
        break;
    case 0x12:
        set_status(d, (uint8_t)v);
        break;
    default:
        cr_assert_fail("write to legacy register 0x%x", off);
    }
}

/* ---- virtio_port.h for the host ---- */

static uint32_t mem_read(uintptr_t a, unsigned width)
{
    unsigned off;
    sim.exits++;
    struct sim_dev *d = mmio_dev(a, &off);
    if (d)
        return mmio_read(d, off, width);
    if ((d = bar4_dev(a, &off)))
        return bar4_read(d, off, width);
    cr_assert_fail("read of unmapped device memory 0x%lx", (unsigned long)a);
    return 0;
}

static void mem_write(uintptr_t a, uint32_t v, unsigned width)
{
    unsigned off;
    sim.exits++;
    struct sim_dev *d = mmio_dev(a, &off);
    if (d) {
        mmio_write(d, off, v, width);
        return;
    }
    if ((d = bar4_dev(a, &off))) {
        bar4_write(d, off, v, width);
        return;
    }
    cr_assert_fail("write to unmapped device memory 0x%lx", (unsigned long)a);
}

uint8_t vio_read8(uintptr_t a)
{
    return (uint8_t)mem_read(a, 1);
}
uint16_t vio_read16(uintptr_t a)
{
    return (uint16_t)mem_read(a, 2);
}
uint32_t vio_read32(uintptr_t a)
{
    return mem_read(a, 4);
}
void vio_write8(uintptr_t a, uint8_t v)
{
    mem_write(a, v, 1);
}
void vio_write16(uintptr_t a, uint16_t v)
{
    mem_write(a, v, 2);
}
void vio_write32(uintptr_t a, uint32_t v)
{
    mem_write(a, v, 4);
}

static uint32_t port_read(uint16_t port, unsigned width)
{
    sim.exits++;
    if (port >= 0xcfc && port < 0xd00) {
        cr_assert(sim.cf8 & 0x80000000u, "config data access without an address");
        unsigned bus = (sim.cf8 >> 16) & 0xff, slot = (sim.cf8 >> 11) & 31, fn = (sim.cf8 >> 8) & 7;
        cr_assert(bus == 0, "the driver scanned bus %u", bus);
        if (fn != 0)
            return 0xffffffffu;
        uint32_t v = pci_cfg_read(slot, sim.cf8 & 0xfc);
        return v >> 8 * (port - 0xcfc);
    }
    if (port == 0xcf8)
        return sim.cf8;
    unsigned off;
    struct sim_dev *d = bar0_dev(port, &off);
    cr_assert(d, "read of unclaimed port 0x%x", port);
    return legacy_read(d, off, width);
}

static void port_write(uint16_t port, uint32_t v, unsigned width)
{
    sim.exits++;
    if (port == 0xcf8) {
        cr_assert(width == 4);
        sim.cf8 = v;
        return;
    }
    if (port >= 0xcfc && port < 0xd00) {
        unsigned slot = (sim.cf8 >> 11) & 31;
        cr_assert(((sim.cf8 >> 16) & 0xff) == 0 && ((sim.cf8 >> 8) & 7) == 0);
        pci_cfg_write(slot, (sim.cf8 & 0xfc) + (port - 0xcfc), v, width);
        return;
    }
    unsigned off;
    struct sim_dev *d = bar0_dev(port, &off);
    cr_assert(d, "write to unclaimed port 0x%x", port);
    legacy_write(d, off, v, width);
}

uint8_t vio_inb(uint16_t port)
{
    return (uint8_t)port_read(port, 1);
}
uint16_t vio_inw(uint16_t port)
{
    return (uint16_t)port_read(port, 2);
}
uint32_t vio_inl(uint16_t port)
{
    return port_read(port, 4);
}
void vio_outb(uint16_t port, uint8_t v)
{
    port_write(port, v, 1);
}
void vio_outw(uint16_t port, uint16_t v)
{
    port_write(port, v, 2);
}
void vio_outl(uint16_t port, uint32_t v)
{
    port_write(port, v, 4);
}

/* The guest's memory as QEMU's pc describes it, and where the image and its tables sit. */
static const struct pvh_memmap_entry sim_ram[] = {
    { 0, 0x9fc00, PVH_MEM_RAM, 0 },
    { 0x9fc00, 0x400, PVH_MEM_RESERVED, 0 },
    { 0xf0000, 0x10000, PVH_MEM_RESERVED, 0 },
    { 0x100000, 0x3f00000, PVH_MEM_RAM, 0 },
};

static const char *map_check(uint64_t pa, size_t len)
{
    struct x86_memmap m = { .n = 0 };
    for (unsigned i = 0; i < sizeof sim_ram / sizeof *sim_ram; i++)
        cr_assert_null(x86_memmap_add(&m, &sim_ram[i]));
    return x86_memmap_window_check(&m, SIM_IMAGE_LO, SIM_IMAGE_HI, pa, len);
}

void *vio_map(uint64_t pa, size_t len)
{
    sim.maps++;
    if (map_check(pa, len)) /* refused, as x86_mmio_map refuses */
        return NULL;
    cr_assert(pa >= 0xc0000000u && pa + len <= 0xfee00000u,
              "mapping 0x%llx+%zu, outside the device window", (unsigned long long)pa, len);
    return (void *)(uintptr_t)pa;
}

const char *vio_map_refusal(uint64_t pa, size_t len)
{
    const char *why = map_check(pa, len);
    cr_assert(why, "asked why 0x%llx+%zu was refused, but it was not", (unsigned long long)pa, len);
    return why;
}

void vio_irq_enable(int gsi)
{
    cr_assert(gsi >= 0 && gsi < 48);
    sim.gsis_enabled |= (uint64_t)1 << gsi;
}
