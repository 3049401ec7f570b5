/* backends/kvm/virtio_mmio.c: the virtio-mmio transport (version 2, and version 1 "legacy"), found
 * from QEMU microvm's command-line words. */
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"
#include "virtio.h"
#include "virtio_port.h"

/* Register offsets (virtio 1.x, 4.2.2; legacy 4.2.4). */
#define MMIO_MAGIC          0x000
#define MMIO_VERSION        0x004
#define MMIO_DEVICE_ID      0x008
#define MMIO_DEV_FEATURES   0x010
#define MMIO_DEV_FEAT_SEL   0x014
#define MMIO_DRV_FEATURES   0x020
#define MMIO_DRV_FEAT_SEL   0x024
#define MMIO_GUEST_PAGE     0x028 /* legacy */
#define MMIO_QUEUE_SEL      0x030
#define MMIO_QUEUE_NUM_MAX  0x034
#define MMIO_QUEUE_NUM      0x038
#define MMIO_QUEUE_ALIGN    0x03c /* legacy */
#define MMIO_QUEUE_PFN      0x040 /* legacy */
#define MMIO_QUEUE_READY    0x044
#define MMIO_QUEUE_NOTIFY   0x050
#define MMIO_INT_STATUS     0x060
#define MMIO_INT_ACK        0x064
#define MMIO_STATUS         0x070
#define MMIO_QUEUE_DESC_LO  0x080
#define MMIO_QUEUE_DESC_HI  0x084
#define MMIO_QUEUE_AVAIL_LO 0x090
#define MMIO_QUEUE_AVAIL_HI 0x094
#define MMIO_QUEUE_USED_LO  0x0a0
#define MMIO_QUEUE_USED_HI  0x0a4
#define MMIO_CONFIG_GEN     0x0fc
#define MMIO_CONFIG         0x100
#define MMIO_MAGIC_VALUE    0x74726976u /* "virt" */
#define MMIO_WORD           "virtio_mmio.device="
#define MMIO_GSI_MAX        48 /* microvm: two IOAPICs */

static uint32_t rd(struct virtio_dev *dev, unsigned off)
{
    return vio_read32(dev->vd_base + off);
}

static void wr(struct virtio_dev *dev, unsigned off, uint32_t v)
{
    vio_write32(dev->vd_base + off, v);
}

static uint64_t mmio_features(struct virtio_dev *dev)
{
    wr(dev, MMIO_DEV_FEAT_SEL, 1);
    uint64_t hi = rd(dev, MMIO_DEV_FEATURES);
    wr(dev, MMIO_DEV_FEAT_SEL, 0);
    return hi << 32 | rd(dev, MMIO_DEV_FEATURES);
}

static void mmio_set_features(struct virtio_dev *dev, uint64_t f)
{
    if (dev->vd_modern) {
        wr(dev, MMIO_DRV_FEAT_SEL, 1);
        wr(dev, MMIO_DRV_FEATURES, (uint32_t)(f >> 32));
    } else {
        wr(dev, MMIO_GUEST_PAGE, VIRTQ_ALIGN); /* QueuePFN counts in these */
    }
    wr(dev, MMIO_DRV_FEAT_SEL, 0);
    wr(dev, MMIO_DRV_FEATURES, (uint32_t)f);
}

static uint8_t mmio_status(struct virtio_dev *dev)
{
    return (uint8_t)rd(dev, MMIO_STATUS);
}

static void mmio_set_status(struct virtio_dev *dev, uint8_t s)
{
    wr(dev, MMIO_STATUS, s);
}

static uint32_t mmio_config(struct virtio_dev *dev, unsigned off, unsigned width)
{
    uintptr_t a = dev->vd_base + MMIO_CONFIG + off;
    return width == 1 ? vio_read8(a) : width == 2 ? vio_read16(a) : vio_read32(a);
}

static uint32_t mmio_config_gen(struct virtio_dev *dev)
{
    return dev->vd_modern ? rd(dev, MMIO_CONFIG_GEN) : 0;
}

static unsigned mmio_queue_max(struct virtio_dev *dev, unsigned idx)
{
    wr(dev, MMIO_QUEUE_SEL, idx);
    return rd(dev, MMIO_QUEUE_NUM_MAX);
}

static mirc_status mmio_queue_setup(struct virtio_dev *dev, struct virtq *vq)
{
    wr(dev, MMIO_QUEUE_SEL, vq->vq_index);
    wr(dev, MMIO_QUEUE_NUM, vq->vq_num);
    if (!dev->vd_modern) {
        uint64_t pfn = vio_phys(vq->vq_mem) / VIRTQ_ALIGN;
        if (pfn > 0xffffffffu)
            return MIRC_IO;
        wr(dev, MMIO_QUEUE_ALIGN, VIRTQ_ALIGN);
        wr(dev, MMIO_QUEUE_PFN, (uint32_t)pfn);
        return MIRC_OK;
    }
    uint64_t d = vio_phys((const void *)vq->vq_desc), a = vio_phys((const void *)vq->vq_avail),
             u = vio_phys((const void *)vq->vq_used);
    wr(dev, MMIO_QUEUE_DESC_LO, (uint32_t)d);
    wr(dev, MMIO_QUEUE_DESC_HI, (uint32_t)(d >> 32));
    wr(dev, MMIO_QUEUE_AVAIL_LO, (uint32_t)a);
    wr(dev, MMIO_QUEUE_AVAIL_HI, (uint32_t)(a >> 32));
    wr(dev, MMIO_QUEUE_USED_LO, (uint32_t)u);
    wr(dev, MMIO_QUEUE_USED_HI, (uint32_t)(u >> 32));
    wr(dev, MMIO_QUEUE_READY, 1);
    return rd(dev, MMIO_QUEUE_READY) == 1 ? MIRC_OK : MIRC_IO;
}

static void mmio_notify(struct virtio_dev *dev, struct virtq *vq)
{
    wr(dev, MMIO_QUEUE_NOTIFY, vq->vq_index);
}

static unsigned mmio_intr_ack(struct virtio_dev *dev)
{
    uint32_t s = rd(dev, MMIO_INT_STATUS);
    if (s)
        wr(dev, MMIO_INT_ACK, s);
    return s;
}

static const struct virtio_ops mmio_ops = {
    .features = mmio_features,
    .set_features = mmio_set_features,
    .status = mmio_status,
    .set_status = mmio_set_status,
    .config = mmio_config,
    .config_gen = mmio_config_gen,
    .queue_max = mmio_queue_max,
    .queue_setup = mmio_queue_setup,
    .notify = mmio_notify,
    .intr_ack = mmio_intr_ack,
};

/* A number in C notation (0x.., 0.., decimal); returns the end or NULL. */
static const char *number(const char *s, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return NULL;
    *v = strtoull(s, &end, 0);
    return end;
}

int virtio_mmio_parse(const char *word, uint64_t *size, uint64_t *addr, int *irq)
{
    size_t n = strlen(MMIO_WORD);
    if (strncmp(word, MMIO_WORD, n) != 0)
        return 0;
    const char *s = number(word + n, size);
    uint64_t v = 0;
    static const char units[] = "KkMmGg";
    const char *unit = s && *s ? strchr(units, *s) : NULL;
    if (unit) {
        *size <<= 10 * (1 + (unit - units) / 2);
        s++;
    }
    if (s && *s == '@')
        s = number(s + 1, addr);
    else
        s = NULL;
    if (s && *s == ':')
        s = number(s + 1, &v);
    else
        s = NULL;
    if (s && *s == ':') { /* optional platform device id */
        uint64_t id;
        s = number(s + 1, &id);
    }
    if (!s || *s || *size < MMIO_CONFIG || v >= MMIO_GSI_MAX || *addr == 0) {
        mirc_log("ignoring '%s': not SIZE@ADDR:IRQ with an IRQ below %d", word, MMIO_GSI_MAX);
        return -1;
    }
    *irq = (int)v;
    return 1;
}

void virtio_mmio_probe(uint64_t addr, uint64_t size, int irq)
{
    uintptr_t base = (uintptr_t)vio_map(addr, (size_t)size);
    uint32_t magic = vio_read32(base + MMIO_MAGIC), version = vio_read32(base + MMIO_VERSION);
    if (magic != MMIO_MAGIC_VALUE || (version != 1 && version != 2)) {
        mirc_log("virtio-mmio@0x%llx: no virtio device (magic 0x%x, version %u)",
                 (unsigned long long)addr, magic, version);
        return;
    }
    uint32_t type = vio_read32(base + MMIO_DEVICE_ID);
    if (type != VIRTIO_ID_NET && type != VIRTIO_ID_BLOCK)
        return; /* an empty slot (0) or a kind we have no driver for */
    struct virtio_dev *dev = virtio_dev_new(&mmio_ops, type);
    if (!dev)
        return;
    dev->vd_base = base;
    dev->vd_modern = version == 2;
    dev->vd_gsis = (uint64_t)1 << irq;
    snprintf(dev->vd_where, sizeof dev->vd_where, "virtio-mmio@0x%llx", (unsigned long long)addr);
}

/* Little-endian fields of AML resource descriptors. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The resource descriptors of the device whose _HID string starts at h:
 * Memory32Fixed (0x86, length 9, then read/write, base, size) and an
 * Extended Interrupt (0x89, length >= 6, flags, count >= 1, first IRQ).
 * Returns 0 when both are found before the next LNRO0005.
 */
static int crs_of(const uint8_t *h, const uint8_t *end, uint64_t *base, uint64_t *size, int *irq)
{
    static const char hid[] = "LNRO0005";
    int have_mem = 0;
    for (const uint8_t *p = h + sizeof hid; p + 9 <= end; p++) {
        if (memcmp(p, hid, sizeof hid) == 0)
            return -1;
        if (!have_mem && p + 12 <= end && p[0] == 0x86 && p[1] == 0x09 && p[2] == 0x00) {
            *base = le32(p + 4);
            *size = le32(p + 8);
            have_mem = 1;
            p += 11;
        } else if (have_mem && p[0] == 0x89 && (p[1] | p[2] << 8) >= 6 && p[4] >= 1) {
            uint32_t v = le32(p + 5);
            if (v >= MMIO_GSI_MAX)
                return -1;
            *irq = (int)v;
            return 0;
        }
    }
    return -1;
}

unsigned virtio_mmio_scan_dsdt(const uint8_t *aml, size_t len)
{
    static const char hid[] = "LNRO0005"; /* with its NUL, as an AML string */
    const uint8_t *end = aml + len;
    unsigned n = 0;
    for (const uint8_t *p = aml; p + sizeof hid + 1 <= end; p++) {
        if (p[0] != 0x0d || memcmp(p + 1, hid, sizeof hid) != 0) /* StringPrefix */
            continue;
        uint64_t base = 0, size = 0;
        int irq = 0;
        if (crs_of(p + 1, end, &base, &size, &irq) != 0 || base == 0 || size < MMIO_CONFIG) {
            mirc_log("ACPI: a virtio-mmio device without a usable window and interrupt; "
                     "ignoring it");
            continue;
        }
        virtio_mmio_probe(base, size, irq);
        n++;
    }
    return n;
}

#ifndef VIRTIO_HOST_TEST
/* The RSDP, XSDT (or RSDT), FADT, DSDT walk, on tables mapped as they are found. */

/* Maps ACPI memory, remembering what is mapped: each mapping is a ring-0 call. */
static const uint8_t *acpi_map(uint64_t pa, size_t len)
{
    static uint64_t lo[8], hi[8];
    static unsigned n;
    for (unsigned i = 0; i < n; i++)
        if (pa >= lo[i] && pa + len <= hi[i])
            return x86_phys_to_virt(pa);
    uint64_t a = pa & ~0xfffull, b = (pa + len + 0xfff) & ~0xfffull;
    vio_map(a, (size_t)(b - a));
    lo[n % 8] = a;
    hi[n % 8] = b;
    n++;
    return x86_phys_to_virt(pa);
}

static const uint8_t *acpi_table(uint64_t pa, size_t *len)
{
    if (pa == 0 || pa >= (1ull << 39))
        return NULL;
    const uint8_t *h = acpi_map(pa, 36);
    uint32_t l = le32(h + 4);
    if (l < 36 || l > (1u << 20))
        return NULL;
    *len = l;
    return acpi_map(pa, l);
}

const uint8_t *vio_acpi_dsdt(size_t *len)
{
    uint64_t rp = x86_rsdp_paddr;
    for (uint64_t a = 0xe0000; !rp && a < 0x100000; a += 16)
        if (memcmp(x86_phys_to_virt(a), "RSD PTR ", 8) == 0)
            rp = a;
    if (!rp)
        return NULL;
    const uint8_t *r = acpi_map(rp, 36);
    if (memcmp(r, "RSD PTR ", 8) != 0)
        return NULL;
    uint64_t xsdt = (uint64_t)le32(r + 24) | (uint64_t)le32(r + 28) << 32;
    int x = r[15] >= 2 && xsdt;
    size_t rl, width = x ? 8 : 4;
    const uint8_t *root = acpi_table(x ? xsdt : le32(r + 16), &rl);
    for (size_t off = 36; root && off + width <= rl; off += width) {
        uint64_t pa = le32(root + off) | (x ? (uint64_t)le32(root + off + 4) << 32 : 0);
        size_t fl;
        const uint8_t *f = acpi_table(pa, &fl);
        if (!f || memcmp(f, "FACP", 4) != 0)
            continue;
        uint64_t d = fl >= 148 ? (uint64_t)le32(f + 140) | (uint64_t)le32(f + 144) << 32 : 0;
        if (!d && fl >= 44)
            d = le32(f + 40);
        const uint8_t *dsdt = acpi_table(d, len);
        return dsdt && memcmp(dsdt, "DSDT", 4) == 0 ? dsdt : NULL;
    }
    return NULL;
}
#endif
