/* backends/kvm/virtio.h: virtio 1.x split virtqueues, transports and the device table the drivers
 * share. */
#ifndef MIRC_KVM_VIRTIO_H
#define MIRC_KVM_VIRTIO_H

/*
 * The model, in the spirit of OpenBSD's sys/dev/pv/virtio*: a driver (net.c,
 * block.c) talks to its device only through `struct virtio_ops`, which a
 * transport (virtio_mmio.c for -M microvm, virtio_pci.c for -M pc/q35)
 * implements. Register accesses go through virtio_port.h, so the same driver
 * code runs on the host against simulated devices (tests/unit/virtio).
 *
 * Both transports speak modern virtio (1.x, VIRTIO_F_VERSION_1) and legacy
 * virtio (0.9.5): QEMU's virtio-mmio is legacy unless started with
 * `-global virtio-mmio.force-legacy=false`, and urunc's virtio-net-pci on
 * `-M pc` is transitional. Rings always use the legacy layout (used ring on
 * a 4096-byte boundary), which also satisfies the modern alignment rules.
 *
 * Ownership: devices, queues and their DMA memory are allocated once when a
 * device is opened and live until exit (virtio_test_reset frees them for the
 * host tests). The data path never allocates. One CPU, no locks: interrupt
 * handlers only call kvm_virtio_irq, which touches transport registers only.
 *
 * Exits are expensive (0.1 to 1.6 ms each under this host's nested KVM), so
 * the data path never reads a device register when the rings can answer:
 * completions are found by polling used rings, notifications are sent at
 * most once per burst and only when the device asked for them (event index
 * or VIRTQ_USED_F_NO_NOTIFY), and interrupts are requested only when the CPU
 * is about to halt.
 */

#include <stddef.h>
#include <stdint.h>

#include "mirc/status.h"
#include "platform.h"

/* Device status bits (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACK         0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

/* Device types. */
#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2

/* Transport-independent feature bits. */
#define VIRTIO_F_NOTIFY_ON_EMPTY    24
#define VIRTIO_F_ANY_LAYOUT         27
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define VIRTIO_BIT(b)               ((uint64_t)1 << (b))

/* Interrupt status bits (MMIO InterruptStatus, PCI ISR). */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* ---- split virtqueues (virtio 1.x, 2.7) ---- */

#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1
#define VIRTQ_ALIGN                4096 /* legacy used-ring alignment; also the page size */
#define VIRTQ_MAX                  1024 /* largest ring this driver sets up */

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[]; /* num entries, then used_event */
};

struct virtq_used_elem {
    uint32_t id;  /* head of the completed chain */
    uint32_t len; /* bytes the device wrote into the chain */
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[]; /* num entries, then avail_event */
};

/* One buffer of a descriptor chain: guest-physical address and length. */
struct virtq_seg {
    uint64_t addr;
    uint32_t len;
};

struct virtio_dev;

struct virtq {
    struct virtio_dev *vq_dev;
    uint16_t vq_index; /* queue number within the device */
    uint16_t vq_num;   /* entries: a power of two */
    volatile struct virtq_desc *vq_desc;
    volatile struct virtq_avail *vq_avail;
    volatile struct virtq_used *vq_used;
    void *vq_mem; /* one allocation: desc, avail, padding, used */
    size_t vq_mem_size;
    uint16_t *vq_next;     /* private copy of each descriptor's next link */
    uint16_t *vq_len;      /* per head: descriptors in its chain, 0 when free */
    uint32_t *vq_token;    /* per head: the caller's token */
    uint16_t vq_free;      /* first free descriptor */
    uint16_t vq_nfree;     /* free descriptors */
    uint16_t vq_avail_idx; /* our copy of avail->idx */
    uint16_t vq_last_used; /* next used entry to consume */
    uint16_t vq_kicked;    /* avail index at the last notification decision */
    int vq_event_idx;      /* VIRTIO_F_RING_EVENT_IDX negotiated */
    uintptr_t vq_notify;   /* transport: where to notify (PCI modern) */
    uint64_t vq_notifies;  /* notifications sent, for tests and benchmarks */
};

/*
 * Allocates and zeroes a ring of `num` entries (a power of two, 1..VIRTQ_MAX)
 * for queue `index` of dev. Returns MIRC_OK, MIRC_INVALID or MIRC_NO_MEMORY.
 */
mirc_status virtq_alloc(struct virtq *vq, struct virtio_dev *dev, uint16_t index, uint16_t num);
void virtq_free(struct virtq *vq);
/* Bytes of the legacy ring layout for num entries: the device computes the same. */
size_t virtq_size(uint16_t num);
/* Offset of the used ring in that layout. */
size_t virtq_used_offset(uint16_t num);

/*
 * Makes a chain of nout device-readable then nin device-writable segments
 * available to the device under `token`. Does not notify. Returns MIRC_OK,
 * MIRC_AGAIN (fewer than nout + nin free descriptors: nothing was added) or
 * MIRC_INVALID (no segment, or more than the ring holds).
 */
mirc_status virtq_add(struct virtq *vq, const struct virtq_seg *seg, unsigned nout, unsigned nin,
                      uint32_t token);

/*
 * Takes the next completed chain, frees its descriptors and stores its token
 * and the length the device wrote. Returns MIRC_OK, MIRC_AGAIN (none yet) or
 * MIRC_IO (the device broke the protocol: unknown head, or used index more
 * than a ring ahead); after MIRC_IO the queue must not be used again.
 */
mirc_status virtq_get(struct virtq *vq, uint32_t *token, uint32_t *len);

/* Non-zero when virtq_get has something; reads memory only, no exit. */
int virtq_has_used(const struct virtq *vq);

/* Chains the device has not completed yet. */
static inline unsigned virtq_inflight(const struct virtq *vq)
{
    return (unsigned)(uint16_t)(vq->vq_avail_idx - vq->vq_last_used);
}

/*
 * Notifies the device of the chains added since the last call, if the device
 * asked to be notified (event index or the NO_NOTIFY flag). Costs one exit
 * when it notifies, none otherwise. Returns non-zero if it notified.
 */
int virtq_kick(struct virtq *vq);

/* Chains added since the last virtq_kick. */
static inline unsigned virtq_unkicked(const struct virtq *vq)
{
    return (unsigned)(uint16_t)(vq->vq_avail_idx - vq->vq_kicked);
}

/*
 * Interrupt suppression, a hint to the device. virtq_intr_off asks for no
 * interrupts; virtq_intr_arm asks for one at the next completion and then
 * returns virtq_has_used(), re-checked after a full barrier, so a completion
 * that raced with arming is not slept through.
 */
void virtq_intr_off(struct virtq *vq);
int virtq_intr_arm(struct virtq *vq);

/* ---- transports ---- */

struct virtio_ops {
    uint64_t (*features)(struct virtio_dev *dev); /* offered by the device */
    void (*set_features)(struct virtio_dev *dev, uint64_t features);
    uint8_t (*status)(struct virtio_dev *dev);
    void (*set_status)(struct virtio_dev *dev, uint8_t status);
    /* A config-space field of width 1, 2 or 4 at byte offset off. */
    uint32_t (*config)(struct virtio_dev *dev, unsigned off, unsigned width);
    /* The config generation (0 where the transport has none). */
    uint32_t (*config_gen)(struct virtio_dev *dev);
    /* Largest size of queue idx; 0 when the queue does not exist. */
    unsigned (*queue_max)(struct virtio_dev *dev, unsigned idx);
    /* Tells the device where vq lives and enables it. Returns MIRC_OK or MIRC_IO. */
    mirc_status (*queue_setup)(struct virtio_dev *dev, struct virtq *vq);
    void (*notify)(struct virtio_dev *dev, struct virtq *vq);
    /* Reads and acknowledges the interrupt status, lowering the line. */
    unsigned (*intr_ack)(struct virtio_dev *dev);
};

#define VIRTIO_DEV_MAX 32 /* discovered devices, net and block together */

struct virtio_dev {
    const struct virtio_ops *vd_ops;
    uint32_t vd_type;     /* VIRTIO_ID_* */
    int vd_modern;        /* the transport is virtio 1.x: VERSION_1 is required */
    int vd_fixed_qsize;   /* legacy PCI: queues have exactly the device's size */
    uint64_t vd_features; /* negotiated */
    uint64_t vd_gsis;     /* IOAPIC inputs the device may raise (bit g: GSI g) */
    uint8_t vd_status;    /* the status we last wrote */
    int vd_handle;        /* platform handle once opened, else -1 */
    int vd_broken;        /* the device failed; every call returns MIRC_IO */
    char vd_where[40];    /* "virtio-mmio@0xfeb00000", "virtio-pci 00:03.0" for messages */
    char vd_why[112];     /* why the transport refused the last queue_setup, for the message */
    /* transport state */
    uintptr_t vd_base;   /* mmio: registers; pci modern: common config */
    uintptr_t vd_isr;    /* pci modern: ISR byte */
    uintptr_t vd_devcfg; /* pci modern: device config */
    uintptr_t vd_notify; /* pci modern: notify region */
    uint32_t vd_notify_len;
    uint32_t vd_notify_mult;
    uint32_t vd_devcfg_len; /* bytes of device config the transport exposes */
    uint16_t vd_io;         /* pci legacy: I/O BAR base */
    uint8_t vd_slot;        /* pci: device number on bus 0 */
    void *vd_softc;         /* the driver's state */
};

/* Discovered devices, in discovery order (virtio_core.c). */
extern struct virtio_dev *virtio_devs[VIRTIO_DEV_MAX];
extern unsigned virtio_ndevs;

/* Appends a zeroed device to the table; NULL (after a message) when full. */
struct virtio_dev *virtio_dev_new(const struct virtio_ops *ops, uint32_t type);

/*
 * The index-th device of `type` in discovery order: the virtio-mmio devices
 * in kernel-command-line order or, without those words, in ACPI DSDT order
 * (QEMU lists both in -device order); else the virtio-pci devices by slot on
 * bus 0. The first call looks at the DSDT, then PCI, when the command line
 * announced no virtio-mmio device. NULL when there are fewer.
 */
struct virtio_dev *virtio_dev_find(uint32_t type, unsigned index);

/*
 * The common bring-up (virtio 1.x, 3.1.1): reset, ACKNOWLEDGE, DRIVER,
 * feature negotiation, FEATURES_OK (modern). Accepts the features in `want`
 * that the device offers; a modern device must offer VERSION_1, which is
 * always taken. Returns MIRC_OK or MIRC_IO after setting FAILED and printing
 * why (naming `what`, the manifest name).
 */
mirc_status virtio_dev_negotiate(struct virtio_dev *dev, const char *what, uint64_t want);

/*
 * Allocates queue idx with at most `max` entries (the device's maximum
 * rounded down to a power of two) and hands it to the device. Returns
 * MIRC_OK, or MIRC_IO / MIRC_NO_MEMORY after printing why.
 */
mirc_status virtio_dev_queue(struct virtio_dev *dev, const char *what, struct virtq *vq,
                             unsigned idx, unsigned max);

/* Sets DRIVER_OK, gives the device a handle, enables its interrupt line. */
mirc_status virtio_dev_ready(struct virtio_dev *dev, const char *what, int *handle);

/* Sets FAILED, resets nothing, releases nothing: used when bring-up stops. */
void virtio_dev_fail(struct virtio_dev *dev);

/* Reads the device status (an exit) and marks the device broken on NEEDS_RESET or FAILED. */
int virtio_dev_check(struct virtio_dev *dev);

/*
 * A config field read consistently (generation checked), 8, 16, 32 or 64
 * bits. A field beyond the config space the device exposes, or a generation
 * that never settles, puts the device out of service (after a message) and
 * reads as 0: callers check vd_broken.
 */
uint64_t virtio_config_read(struct virtio_dev *dev, unsigned off, unsigned width);

/* The opened device behind a platform handle, or NULL. */
struct virtio_dev *virtio_dev_by_handle(int handle);

/* ---- transports' discovery (virtio_mmio.c, virtio_pci.c) ---- */

/*
 * Parses one "virtio_mmio.device=SIZE@ADDR:IRQ[:ID]" word (Linux's syntax:
 * SIZE with an optional K/M/G suffix, ADDR and IRQ in C notation). Returns
 * 1 and fills the out-parameters if it is one, 0 if the word is something
 * else, -1 (after a message) if it is one but malformed.
 */
int virtio_mmio_parse(const char *word, uint64_t *size, uint64_t *addr, int *irq);

/* Probes a virtio-mmio window and adds the device it holds, if any. */
void virtio_mmio_probe(uint64_t addr, uint64_t size, int irq);

/*
 * Finds the virtio-mmio devices an ACPI DSDT declares (_HID "LNRO0005", a
 * Memory32Fixed window and an interrupt in _CRS: what QEMU's microvm writes
 * when it has ACPI and so no command-line words) and probes them in table
 * order, which is -device order. Returns how many windows it found.
 */
unsigned virtio_mmio_scan_dsdt(const uint8_t *aml, size_t len);

/*
 * Looks at the next slot of bus 0 (the first call checks for a host bridge);
 * assigns BARs and the interrupt line of a virtio device there and adds it.
 * Returns 0 when there are no more slots.
 */
int virtio_pci_scan_next(void);

/* ---- drivers (net.c, block.c) ---- */

/* Handles of NICs with received frames; sends deferred notifications; arms interrupts. */
mirc_plat_set virtio_net_pending(void);
/* Sends deferred notifications and waits (at most timeout_ns) until every frame is taken. */
void virtio_net_flush(uint64_t timeout_ns);
/* kvm.h's hook for mirc_plat_exit: virtio_net_flush with 200 ms (declared here too for the tests).
 */
void kvm_virtio_flush(void);

/* Frees everything (host tests only: a new world per test). */
void virtio_net_reset(void);
void virtio_block_reset(void);
void virtio_pci_reset(void);
void virtio_test_reset(void);

#endif
