/* tests/unit/virtio/sim.h: simulated virtio devices (mmio and pci) for the kvm target's drivers. */
#ifndef VIRTIO_SIM_H
#define VIRTIO_SIM_H

/*
 * Written from the virtio 1.x specification, independently of the drivers:
 * a virtio-mmio register file (version 2 and legacy version 1), a PCI bus 0
 * (host bridge, PIIX3 PIRQ routing, virtio-pci functions with modern
 * capabilities in a 64-bit memory BAR and, when transitional, a legacy I/O
 * BAR), and two device models that consume avail rings and fill used rings:
 * virtio-net (frames injected by the test, frames sent are captured) and
 * virtio-blk (a disk in memory). Knobs make a device misbehave.
 *
 * Everything is single-threaded and deterministic: the device works when it
 * is notified and whenever the driver spins (vio_relax), which also advances
 * the simulated clock by SIM_RELAX_NS.
 */

#include <stddef.h>
#include <stdint.h>

#include "kvm.h"
#include "virtio.h"

#define SIM_MMIO_BASE 0xfeb00000u
#define SIM_MMIO_SIZE 0x200u
#define SIM_DEVS      24
#define SIM_QUEUES    3
#define SIM_FRAMES    64
#define SIM_FRAME_MAX 9100
#define SIM_PENDING   1024
#define SIM_RELAX_NS  100000u     /* 100 us per driver spin */
#define SIM_IMAGE_LO  0x100000ull /* the image and its page tables, for vio_map's judgement */
#define SIM_IMAGE_HI  0x180000ull
/* Where pci_init puts the modern capabilities in config space (each 16 bytes, notify 20). */
#define SIM_CAP_COMMON 0x50
#define SIM_CAP_ISR    0x60
#define SIM_CAP_DEVICE 0x70
#define SIM_CAP_NOTIFY 0x80

enum sim_bus { SIM_MMIO, SIM_PCI };

struct sim_queue {
    uint32_t num_max, num, ready;
    uint64_t desc, avail, used;
    uint32_t pfn, align;
    uint16_t last_avail; /* next avail entry the device takes */
    uint16_t used_idx;
};

struct sim_frame {
    size_t len;
    uint8_t data[SIM_FRAME_MAX];
    uint8_t hdr[12];
    size_t hdr_len;
};

struct sim_dev {
    int present;
    enum sim_bus bus;
    uint32_t type;     /* VIRTIO_ID_NET / VIRTIO_ID_BLOCK */
    int modern;        /* mmio: version 2; pci: modern capabilities present */
    int legacy_io;     /* pci: transitional, with a legacy I/O BAR 0 */
    unsigned slot;     /* pci */
    int gsi;           /* mmio: the IRQ in the command-line word */
    uint64_t features; /* offered */
    uint64_t driver_features;
    uint32_t dfsel, gfsel, qsel, page_size;
    uint8_t status;
    uint32_t isr;
    int irq_level;
    unsigned interrupts; /* times the line was raised */
    uint8_t config[64];
    uint32_t config_gen;
    struct sim_queue q[SIM_QUEUES];
    unsigned nq;
    uint64_t notifies[SIM_QUEUES];
    /* pci */
    uint8_t pcfg[256];
    uint64_t bar4; /* assigned memory BAR (0: none) */
    uint16_t bar0; /* assigned I/O BAR */

    /* knobs */
    int refuse_features_ok;   /* FEATURES_OK never sticks */
    int no_notify;            /* keep VIRTQ_USED_F_NO_NOTIFY set */
    int needs_reset_after;    /* after this many requests: NEEDS_RESET, config interrupt, stop */
    int stopped;              /* consumes nothing more */
    int hold;                 /* take requests but complete only in sim_complete */
    int reorder;              /* complete held requests newest first */
    int fail_status;          /* blk: status byte for every request (0: OK) */
    int skip_status;          /* blk: complete without writing the status byte */
    int tx_hold;              /* net: leave transmit buffers in the avail ring */
    uint32_t rx_len_override; /* net: report this used length instead */
    int bogus_used_id;        /* report this head + 1 in the next used entry */
    int notify_off_set;       /* pci: queue_notify_off reads as notify_off, not the queue index */
    uint16_t notify_off;
    uint32_t bar4_mask;  /* pci: BAR4 reads back this size mask (0: its real one) */
    int config_gen_spin; /* the config generation changes on every read */

    /* blk model */
    uint8_t *disk;
    uint64_t disk_bytes;
    unsigned requests, flushes, max_segs, max_seg_len;
    size_t max_req_bytes;
    uint16_t pending[SIM_PENDING];
    uint32_t pending_len[SIM_PENDING];
    unsigned npending;
    /* net model */
    struct sim_frame tx[SIM_FRAMES];
    unsigned ntx, tx_total;
    unsigned rx_dropped; /* injected with no buffer available */
};

struct sim {
    struct sim_dev dev[SIM_DEVS];
    uint64_t now;
    uint64_t gsis_enabled;
    char log[8192];
    size_t log_len;
    unsigned exits;       /* register and port accesses */
    unsigned maps;        /* vio_map calls */
    unsigned clock_reads; /* vio_now_ns calls */
    /* pci */
    int pci; /* 0: no PCI (microvm), 1: i440fx/PIIX3, 2: q35 */
    uint32_t cf8;
    uint8_t pirqrc[4];
    unsigned pci_slots_probed;
    /* ACPI: the DSDT vio_acpi_dsdt returns (NULL: none) */
    uint8_t dsdt[4096];
    size_t dsdt_len;
};

extern struct sim sim;

/* Resets the world and the drivers; frees what the last test left. */
void sim_reset(void);
void sim_fini(void);

/* An mmio device in window i (address SIM_MMIO_BASE + i * 0x200, IRQ 24 + i). */
struct sim_dev *sim_mmio_net(unsigned i, int modern, const uint8_t mac[6], unsigned mtu);
struct sim_dev *sim_mmio_blk(unsigned i, int modern, uint64_t bytes, unsigned blk_size);
/* A pci device at slot s of bus 0 (pci: 1 pc, 2 q35). */
struct sim_dev *sim_pci_net(unsigned slot, int modern, int transitional, const uint8_t mac[6]);
struct sim_dev *sim_pci_blk(unsigned slot, int modern, int transitional, uint64_t bytes);

/* The kernel command-line word for mmio window i, into buf. */
const char *sim_mmio_word(unsigned i, char *buf, size_t size);
/* Boots the discovery: kvm_virtio_init with the words for the given windows. */
void sim_boot(const unsigned *windows, unsigned n);

/* Appends QEMU microvm's AML for mmio window i (Device VRnn, LNRO0005, _CRS) to sim.dsdt. */
void sim_dsdt_add(unsigned i);

/* Delivers a frame to a NIC: 0, or -1 when it had no receive buffer. */
int sim_net_inject(struct sim_dev *d, const void *frame, size_t len);
/* Runs the device: takes new requests, completes what is not held. */
void sim_run(struct sim_dev *d);
/* Completes held requests (all of them, in the order the knobs say). */
void sim_complete(struct sim_dev *d);
/* What kvm_virtio_irq would be called with: the GSI of a raised line, or -1. */
int sim_raised_gsi(void);

/* Shared by sim.c (device models) and sim_bus.c (registers). */
int sim_negotiated(const struct sim_dev *d, unsigned bit);

#endif
