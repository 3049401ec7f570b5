/* backends/kvm/virtio_mmio.c: the virtio-mmio transport (version 2, and version 1 "legacy"), found
 * from QEMU microvm's command-line words. */
#include <stdio.h>
#include <string.h>

#include "acpi.h"
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
#define MMIO_GSI_MAX        KVM_ACPI_GSI_MAX
#define MMIO_SIZE_MAX       0x1000 /* what a virtio-mmio window needs (QEMU's are 512 bytes) */

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
    if (size > MMIO_SIZE_MAX)
        size = MMIO_SIZE_MAX; /* the registers and config space use no more */
    uintptr_t base = (uintptr_t)vio_map(addr, (size_t)size);
    if (!base) {
        mirc_log("virtio-mmio@0x%llx: its %llu-byte window cannot be mapped: %s; ignoring it",
                 (unsigned long long)addr, (unsigned long long)size,
                 vio_map_refusal(addr, (size_t)size));
        return;
    }
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
    dev->vd_devcfg_len = (uint32_t)(size - MMIO_CONFIG);
    dev->vd_modern = version == 2;
    dev->vd_gsis = (uint64_t)1 << irq;
    snprintf(dev->vd_where, sizeof dev->vd_where, "virtio-mmio@0x%llx", (unsigned long long)addr);
}

static void probe_window(void *ctx, const struct kvm_acpi_mmio *m)
{
    if (!m) {
        mirc_log("ACPI: a virtio-mmio device without a usable window and interrupt; ignoring it");
        return;
    }
    virtio_mmio_probe(m->base, m->size, m->irq);
    ++*(unsigned *)ctx;
}

unsigned virtio_mmio_scan_dsdt(const uint8_t *aml, size_t len)
{
    unsigned n = 0;
    kvm_acpi_virtio_mmio(aml, len, probe_window, &n);
    return n;
}

#ifndef VIRTIO_HOST_TEST
static const uint8_t *firmware_peek(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    return x86_firmware_map(pa, len);
}

const uint8_t *vio_acpi_dsdt(size_t *len)
{
    struct kvm_acpi a = { .peek = firmware_peek };
    struct kvm_acpi_fadt fadt;
    uint32_t l = 0;
    const uint8_t *dsdt = kvm_acpi_dsdt(&a, x86_rsdp_paddr, &fadt, &l);
    if (!dsdt && a.bad) /* no ACPI at all is fine: the command line may list the devices */
        mirc_log("ACPI: %s (at 0x%llx); ignoring the ACPI tables", a.why,
                 (unsigned long long)a.why_pa);
    *len = l;
    return dsdt;
}
#endif
