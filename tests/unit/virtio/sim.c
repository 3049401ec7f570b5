/* tests/unit/virtio/sim.c: the simulated virtio world: device models on the rings, DMA memory,
 * clock. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "mirc/mirc.h"
#include "sim.h"
#include "virtio_port.h"

struct sim sim;

/* ---- the world ---- */

void sim_reset(void)
{
    virtio_test_reset();
    sim_fini();
    memset(&sim, 0, sizeof sim);
}

void sim_fini(void)
{
    virtio_test_reset();
    for (unsigned i = 0; i < SIM_DEVS; i++) {
        free(sim.dev[i].disk);
        sim.dev[i].disk = NULL;
    }
}

static struct sim_dev *new_dev(unsigned i, enum sim_bus bus, uint32_t type, int modern)
{
    cr_assert(i < SIM_DEVS && !sim.dev[i].present);
    struct sim_dev *d = &sim.dev[i];
    memset(d, 0, sizeof *d);
    d->present = 1;
    d->bus = bus;
    d->type = type;
    d->modern = modern;
    d->nq = type == VIRTIO_ID_NET ? 2 : 1;
    for (unsigned q = 0; q < d->nq; q++)
        d->q[q].num_max = 256;
    d->features = VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_NOTIFY_ON_EMPTY) |
                  VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
    if (modern)
        d->features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
    else
        d->features |= VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT);
    return d;
}

static void net_config(struct sim_dev *d, const uint8_t mac[6], unsigned mtu)
{
    d->features |= VIRTIO_BIT(5) | VIRTIO_BIT(16);                 /* MAC, STATUS */
    d->features |= VIRTIO_BIT(0) | VIRTIO_BIT(1) | VIRTIO_BIT(15); /* CSUM, GUEST_CSUM, MRG_RXBUF */
    memcpy(d->config, mac, 6);
    d->config[6] = 1; /* link up */
    if (mtu) {
        d->features |= VIRTIO_BIT(3);
        d->config[10] = (uint8_t)mtu;
        d->config[11] = (uint8_t)(mtu >> 8);
    }
}

static void blk_config(struct sim_dev *d, uint64_t bytes, unsigned blk_size)
{
    d->disk = calloc(1, bytes);
    cr_assert(d->disk);
    d->disk_bytes = bytes;
    uint64_t sectors = bytes / 512;
    memcpy(d->config, &sectors, 8);
    uint32_t seg_max = d->q[0].num_max - 2;
    memcpy(d->config + 12, &seg_max, 4);
    d->features |= VIRTIO_BIT(2) | VIRTIO_BIT(9); /* SEG_MAX, FLUSH */
    if (blk_size) {
        d->features |= VIRTIO_BIT(6);
        memcpy(d->config + 20, &blk_size, 4);
    }
}

struct sim_dev *sim_mmio_net(unsigned i, int modern, const uint8_t mac[6], unsigned mtu)
{
    struct sim_dev *d = new_dev(i, SIM_MMIO, VIRTIO_ID_NET, modern);
    d->gsi = 24 + (int)i;
    net_config(d, mac, mtu);
    return d;
}

struct sim_dev *sim_mmio_blk(unsigned i, int modern, uint64_t bytes, unsigned blk_size)
{
    struct sim_dev *d = new_dev(i, SIM_MMIO, VIRTIO_ID_BLOCK, modern);
    d->gsi = 24 + (int)i;
    blk_config(d, bytes, blk_size);
    return d;
}

static void pci_init(struct sim_dev *d, int transitional)
{
    uint8_t *c = d->pcfg;
    d->legacy_io = transitional;
    uint16_t did = transitional ? (uint16_t)(0x1000 + d->type - 1) : (uint16_t)(0x1040 + d->type);
    c[0] = 0xf4, c[1] = 0x1a, c[2] = (uint8_t)did, c[3] = (uint8_t)(did >> 8);
    c[8] = d->modern ? 1 : 0;
    c[0x2c] = 0xf4, c[0x2d] = 0x1a, c[0x2e] = (uint8_t)d->type;
    c[0x3d] = 1;                    /* INTA */
    c[0x10] = transitional ? 1 : 0; /* BAR0: I/O */
    c[0x20] = d->modern ? 0xc : 0;  /* BAR4: 64-bit prefetchable memory */
    if (transitional)
        d->features |= VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT);
    if (d->modern) {
        c[6] = 0x10; /* capability list */
        c[0x34] = 0x40;
        /* an MSI-X capability first: the driver must skip it */
        c[0x40] = 0x11, c[0x41] = 0x50, c[0x42] = 12;
        static const struct {
            uint8_t at, next, type;
            uint32_t off, len;
        } caps[] = {
            { 0x50, 0x60, 1, 0x0000, 0x38 },
            { 0x60, 0x70, 3, 0x1000, 0x4 },
            { 0x70, 0x80, 4, 0x2000, 0x40 },
            { 0x80, 0x00, 2, 0x3000, 0x1000 },
        };
        for (unsigned k = 0; k < 4; k++) {
            uint8_t *p = c + caps[k].at;
            p[0] = 0x09, p[1] = caps[k].next, p[2] = caps[k].type == 2 ? 20 : 16;
            p[3] = caps[k].type, p[4] = 4;
            memcpy(p + 8, &caps[k].off, 4);
            memcpy(p + 12, &caps[k].len, 4);
            if (caps[k].type == 2) {
                uint32_t mult = 4;
                memcpy(p + 16, &mult, 4);
            }
        }
    }
    if (!transitional)
        d->features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

struct sim_dev *sim_pci_net(unsigned slot, int modern, int transitional, const uint8_t mac[6])
{
    struct sim_dev *d = new_dev(slot, SIM_PCI, VIRTIO_ID_NET, modern);
    d->slot = slot;
    net_config(d, mac, 0);
    pci_init(d, transitional);
    return d;
}

struct sim_dev *sim_pci_blk(unsigned slot, int modern, int transitional, uint64_t bytes)
{
    struct sim_dev *d = new_dev(slot, SIM_PCI, VIRTIO_ID_BLOCK, modern);
    d->slot = slot;
    blk_config(d, bytes, 0);
    pci_init(d, transitional);
    return d;
}

const char *sim_mmio_word(unsigned i, char *buf, size_t size)
{
    snprintf(buf, size, "virtio_mmio.device=512@0x%x:%u", SIM_MMIO_BASE + i * SIM_MMIO_SIZE,
             24 + i);
    return buf;
}

void sim_boot(const unsigned *windows, unsigned n)
{
    char words[SIM_DEVS][64];
    char *argv[SIM_DEVS + 2];
    argv[0] = "test";
    for (unsigned k = 0; k < n; k++)
        argv[1 + k] = (char *)sim_mmio_word(windows[k], words[k], sizeof words[k]);
    argv[n + 1] = NULL;
    kvm_virtio_init((int)n + 1, argv);
}

void sim_dsdt_add(unsigned i)
{
    if (sim.dsdt_len == 0) { /* the table header, then Scope (_SB) */
        memcpy(sim.dsdt, "DSDT", 4);
        sim.dsdt_len = 36;
    }
    uint32_t base = SIM_MMIO_BASE + i * SIM_MMIO_SIZE, size = SIM_MMIO_SIZE, irq = 24 + i;
    uint8_t dev[] = {
        0x5b,
        0x82,
        0x40,
        0x00,
        'V',
        'R',
        (uint8_t)('0' + i / 10),
        (uint8_t)('0' + i % 10),
        0x08,
        '_',
        'H',
        'I',
        'D',
        0x0d,
        'L',
        'N',
        'R',
        'O',
        '0',
        '0',
        '0',
        '5',
        0x00,
        0x08,
        '_',
        'U',
        'I',
        'D',
        0x0a,
        (uint8_t)i,
        0x08,
        '_',
        'C',
        'C',
        'A',
        0x01,
        0x08,
        '_',
        'C',
        'R',
        'S',
        0x11,
        0x1a,
        0x0a,
        0x17,
        0x86,
        0x09,
        0x00,
        0x01,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0x89,
        0x06,
        0x00,
        0x03,
        0x01,
        0,
        0,
        0,
        0,
        0x79,
        0x00,
    };
    memcpy(dev + 49, &base, 4);
    memcpy(dev + 53, &size, 4);
    memcpy(dev + 62, &irq, 4);
    cr_assert_leq(sim.dsdt_len + sizeof dev, sizeof sim.dsdt);
    memcpy(sim.dsdt + sim.dsdt_len, dev, sizeof dev);
    sim.dsdt_len += sizeof dev;
}

const uint8_t *vio_acpi_dsdt(size_t *len)
{
    *len = sim.dsdt_len;
    return sim.dsdt_len ? sim.dsdt : NULL;
}

/* ---- the device side of the rings ---- */

int sim_negotiated(const struct sim_dev *d, unsigned bit)
{
    return (d->driver_features >> bit) & 1;
}

static struct virtq_desc *sdesc(const struct sim_queue *q)
{
    return (struct virtq_desc *)(uintptr_t)q->desc;
}

static struct virtq_avail *savail(const struct sim_queue *q)
{
    return (struct virtq_avail *)(uintptr_t)q->avail;
}

static struct virtq_used *sused(const struct sim_queue *q)
{
    return (struct virtq_used *)(uintptr_t)q->used;
}

struct sseg {
    uint8_t *p;
    uint32_t len;
    int write;
};

/* Follows a chain; fails the test on a malformed one. Returns the segment count. */
static unsigned walk(const struct sim_queue *q, uint16_t head, struct sseg *s, unsigned max)
{
    unsigned n = 0;
    uint16_t i = head;
    int seen_write = 0;
    for (;;) {
        cr_assert(i < q->num, "descriptor %u outside a %u-entry ring", i, q->num);
        cr_assert(n < max && n < q->num, "chain from %u is too long or loops", head);
        struct virtq_desc *d = &sdesc(q)[i];
        int w = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
        cr_assert(!(seen_write && !w), "a readable descriptor after a writable one");
        cr_assert(d->len > 0 && d->addr != 0, "empty descriptor %u", i);
        seen_write |= w;
        s[n++] = (struct sseg){ (uint8_t *)(uintptr_t)d->addr, d->len, w };
        if (!(d->flags & VIRTQ_DESC_F_NEXT))
            return n;
        i = d->next;
    }
}

static void interrupt(struct sim_dev *d, struct sim_queue *q, uint16_t old)
{
    int need;
    if (sim_negotiated(d, VIRTIO_F_RING_EVENT_IDX)) {
        uint16_t ev = savail(q)->ring[q->num];
        need = (uint16_t)(q->used_idx - ev - 1) < (uint16_t)(q->used_idx - old);
    } else {
        need = !(savail(q)->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (need) {
        d->isr |= VIRTIO_ISR_QUEUE;
        d->irq_level = 1;
        d->interrupts++;
    }
}

static void push_used(struct sim_dev *d, struct sim_queue *q, uint16_t head, uint32_t len)
{
    uint16_t old = q->used_idx;
    struct virtq_used_elem *e = &sused(q)->ring[q->used_idx % q->num];
    e->id = head;
    if (d->bogus_used_id) {
        e->id = (uint32_t)d->bogus_used_id;
        d->bogus_used_id = 0;
    }
    e->len = len;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    sused(q)->idx = ++q->used_idx;
    interrupt(d, q, old);
}

static int take(struct sim_dev *d, struct sim_queue *q, uint16_t *head)
{
    if (!q->ready || q->last_avail == savail(q)->idx)
        return 0;
    uint16_t n = (uint16_t)(savail(q)->idx - q->last_avail);
    cr_assert(n <= q->num, "avail index %u ran %u ahead of the device", savail(q)->idx, n);
    *head = savail(q)->ring[q->last_avail % q->num];
    q->last_avail++;
    (void)d;
    return 1;
}

static void publish_event(struct sim_dev *d, struct sim_queue *q)
{
    if (!q->ready)
        return;
    memcpy(&sused(q)->ring[q->num], &q->last_avail, 2); /* avail_event */
    sused(q)->flags = d->no_notify ? VIRTQ_USED_F_NO_NOTIFY : 0;
}

static void config_interrupt(struct sim_dev *d)
{
    d->isr |= VIRTIO_ISR_CONFIG;
    d->irq_level = 1;
    d->interrupts++;
}

static int count_request(struct sim_dev *d)
{
    d->requests++;
    if (d->needs_reset_after && d->requests > (unsigned)d->needs_reset_after) {
        d->status |= VIRTIO_STATUS_NEEDS_RESET;
        d->stopped = 1;
        config_interrupt(d);
        return -1;
    }
    return 0;
}

/* ---- virtio-blk ---- */

static void blk_request(struct sim_dev *d, struct sim_queue *q, uint16_t head)
{
    struct sseg s[VIRTQ_MAX];
    unsigned n = walk(q, head, s, VIRTQ_MAX);
    cr_assert(n >= 2, "a block request needs a header and a status");
    cr_assert(!s[0].write && s[0].len >= 16, "the request header must be 16 readable bytes");
    cr_assert(s[n - 1].write && s[n - 1].len >= 1, "the status must be a writable byte");
    uint32_t type;
    uint64_t sector;
    memcpy(&type, s[0].p, 4);
    memcpy(&sector, s[0].p + 8, 8);
    size_t bytes = 0;
    for (unsigned k = 1; k + 1 < n; k++) {
        cr_assert(s[k].write == (type == 0), "data descriptor %u has the wrong direction", k);
        bytes += s[k].len;
        if (s[k].len > d->max_seg_len)
            d->max_seg_len = s[k].len;
    }
    if (n - 2 > d->max_segs)
        d->max_segs = n - 2;
    if (bytes > d->max_req_bytes)
        d->max_req_bytes = bytes;
    uint8_t st = 0;
    uint32_t written = 1;
    if (type == 0 || type == 1) {
        cr_assert(bytes % 512 == 0, "a %zu-byte transfer is not whole sectors", bytes);
        if (sector > d->disk_bytes / 512 || bytes > d->disk_bytes - sector * 512 ||
            (type == 1 && (d->features & VIRTIO_BIT(5)))) {
            st = 1; /* IOERR */
        } else {
            uint8_t *p = d->disk + sector * 512;
            for (unsigned k = 1; k + 1 < n; k++) {
                if (type == 0)
                    memcpy(s[k].p, p, s[k].len);
                else
                    memcpy(p, s[k].p, s[k].len);
                p += s[k].len;
            }
            if (type == 0)
                written += (uint32_t)bytes;
        }
    } else if (type == 4) {
        cr_assert(n == 2, "a flush carries no data");
        d->flushes++;
    } else {
        st = 2; /* UNSUPP */
    }
    if (d->fail_status)
        st = (uint8_t)d->fail_status;
    if (!d->skip_status)
        *s[n - 1].p = st;
    if (d->hold || d->reorder) {
        cr_assert(d->npending < SIM_PENDING);
        d->pending[d->npending] = head;
        d->pending_len[d->npending++] = written;
    } else {
        push_used(d, q, head, written);
    }
}

/* ---- virtio-net ---- */

static size_t net_hdr_len(const struct sim_dev *d)
{
    return sim_negotiated(d, VIRTIO_F_VERSION_1) || sim_negotiated(d, 15) ? 12 : 10;
}

static void net_tx(struct sim_dev *d, struct sim_queue *q, uint16_t head)
{
    struct sseg s[8];
    unsigned n = walk(q, head, s, 8);
    struct sim_frame *f = &d->tx[d->ntx++ % SIM_FRAMES];
    size_t hl = net_hdr_len(d), got = 0;
    f->len = 0;
    f->hdr_len = hl;
    if (!sim_negotiated(d, VIRTIO_F_VERSION_1) && !sim_negotiated(d, VIRTIO_F_ANY_LAYOUT))
        cr_assert(n >= 2 && s[0].len == hl, "legacy without ANY_LAYOUT: header alone first");
    for (unsigned k = 0; k < n; k++) {
        cr_assert(!s[k].write, "a transmit buffer must be device-readable");
        for (uint32_t b = 0; b < s[k].len; b++, got++) {
            if (got < hl)
                f->hdr[got] = s[k].p[b];
            else if (f->len < SIM_FRAME_MAX)
                f->data[f->len++] = s[k].p[b];
        }
    }
    cr_assert(got > hl, "a transmit buffer without a frame");
    d->tx_total++;
    push_used(d, q, head, 0);
}

int sim_net_inject(struct sim_dev *d, const void *frame, size_t len)
{
    struct sim_queue *q = &d->q[0];
    uint16_t head;
    if (d->stopped || !(d->status & VIRTIO_STATUS_DRIVER_OK) || !take(d, q, &head)) {
        d->rx_dropped++;
        return -1;
    }
    struct sseg s[8];
    unsigned n = walk(q, head, s, 8);
    size_t hl = net_hdr_len(d), cap = 0;
    for (unsigned k = 0; k < n; k++) {
        cr_assert(s[k].write, "a receive buffer must be device-writable");
        cap += s[k].len;
    }
    if (!sim_negotiated(d, VIRTIO_F_VERSION_1) && !sim_negotiated(d, VIRTIO_F_ANY_LAYOUT))
        cr_assert(n >= 2 && s[0].len == hl, "legacy without ANY_LAYOUT: header alone first");
    uint8_t hdr[12] = { 0 };
    if (hl == 12)
        hdr[10] = 1; /* num_buffers */
    size_t total = hl + len, put = 0;
    if (total > cap) { /* as QEMU does: the frame does not fit, drop it */
        d->rx_dropped++;
        push_used(d, q, head, 0);
        return -1;
    }
    for (unsigned k = 0; k < n && put < total; k++) {
        for (uint32_t b = 0; b < s[k].len && put < total; b++, put++)
            s[k].p[b] = put < hl ? hdr[put] : ((const uint8_t *)frame)[put - hl];
    }
    publish_event(d, q);
    push_used(d, q, head, d->rx_len_override ? d->rx_len_override : (uint32_t)total);
    return 0;
}

void sim_run(struct sim_dev *d)
{
    if (!d->present || d->stopped || !(d->status & VIRTIO_STATUS_DRIVER_OK))
        return;
    uint16_t head;
    if (d->type == VIRTIO_ID_BLOCK) {
        struct sim_queue *q = &d->q[0];
        while (!d->stopped && take(d, q, &head)) {
            if (count_request(d) == 0)
                blk_request(d, q, head);
        }
        publish_event(d, q);
    } else {
        struct sim_queue *q = &d->q[1];
        while (!d->tx_hold && take(d, q, &head))
            net_tx(d, q, head);
        publish_event(d, q);
        publish_event(d, &d->q[0]);
    }
}

void sim_complete(struct sim_dev *d)
{
    struct sim_queue *q = &d->q[0];
    for (unsigned k = 0; k < d->npending; k++) {
        unsigned at = d->reorder ? d->npending - 1 - k : k;
        push_used(d, q, d->pending[at], d->pending_len[at]);
    }
    d->npending = 0;
}

int sim_raised_gsi(void)
{
    for (unsigned i = 0; i < SIM_DEVS; i++) {
        struct sim_dev *d = &sim.dev[i];
        if (!d->present || !d->irq_level)
            continue;
        if (d->bus == SIM_MMIO)
            return d->gsi;
        unsigned intx = 0;
        if (sim.pci == 2)
            return 16 + 4 + (int)((d->slot + intx) % 4);
        unsigned irq = sim.pirqrc[(d->slot - 1 + intx) & 3];
        return irq & 0x80 ? -1 : (int)irq;
    }
    return -1;
}

void vio_relax(void)
{
    sim.now += SIM_RELAX_NS;
    for (unsigned i = 0; i < SIM_DEVS; i++) {
        struct sim_dev *d = &sim.dev[i];
        sim_run(d);
        if (d->reorder && !d->hold && d->npending)
            sim_complete(d);
    }
}

uint64_t vio_now_ns(void)
{
    sim.clock_reads++;
    return sim.now;
}

/* DMA memory below 4 GB, as a guest's is: legacy queues are given as 32-bit page numbers. */
#define DMA_MAX 256
static struct {
    void *p;
    size_t len;
} dma[DMA_MAX];

void *vio_dma_alloc(size_t size, size_t align)
{
    cr_assert(align <= 4096);
    size_t len = (size + 4095) & ~(size_t)4095;
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "no memory below 4 GB");
    for (unsigned i = 0; i < DMA_MAX; i++) {
        if (!dma[i].p) {
            dma[i].p = p;
            dma[i].len = len;
            return p;
        }
    }
    cr_assert_fail("more than %d DMA allocations alive", DMA_MAX);
    return NULL;
}

void vio_dma_free(void *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < DMA_MAX; i++) {
        if (dma[i].p == p) {
            munmap(p, dma[i].len);
            dma[i].p = NULL;
            return;
        }
    }
    cr_assert_fail("vio_dma_free of %p, which vio_dma_alloc did not return", p);
}

/* ---- what the drivers need from the runtime and the platform ---- */

void mirc_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof sim.log - sim.log_len;
    int n = vsnprintf(sim.log + sim.log_len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        sim.log_len += (size_t)n < room ? (size_t)n : room - 1;
    if (sim.log_len + 1 < sizeof sim.log)
        sim.log[sim.log_len++] = '\n';
    sim.log[sim.log_len] = '\0';
}

_Noreturn void mirc_panic_at(const char *file, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cr_assert_fail("mirc_panic at %s:%d: %s", file, line, msg);
    abort();
}

uint64_t mirc_plat_memory(void)
{
    return 64ull << 20;
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(0x5a + i * 7);
    return MIRC_OK;
}
