/* backends/kvm/virtio_pci.h: the two register interfaces of a virtio-pci function, shared by
 * virtio_pci.c (discovery) and virtio_pci_regs.c (the registers). */
#ifndef MIRC_KVM_VIRTIO_PCI_H
#define MIRC_KVM_VIRTIO_PCI_H

#include "virtio.h"

/* struct virtio_pci_common_cfg's length: what the driver touches of the common config. */
#define VIRTIO_PCI_COMMON_LEN 0x38
/* Where the device config starts in the legacy I/O BAR (no MSI-X). */
#define VIRTIO_PCI_LEGACY_CONFIG 0x14

/*
 * Modern (virtio 1.x capabilities in a memory BAR: vd_base is the common
 * config, vd_notify/vd_notify_len/vd_notify_mult the notify region, vd_isr,
 * vd_devcfg) and legacy (virtio 0.9.5 I/O BAR at vd_io). virtio_pci.c checks
 * every region against its capability and BAR before it fills those fields;
 * queue_setup checks the notify address the device gives each queue.
 */
extern const struct virtio_ops virtio_pci_modern_ops;
extern const struct virtio_ops virtio_pci_legacy_ops;

#endif
