/* backends/kvm/virtio_port.h: the hardware the virtio drivers touch, replaceable for host tests. */
#ifndef MIRC_KVM_VIRTIO_PORT_H
#define MIRC_KVM_VIRTIO_PORT_H

/*
 * In a kvm image these are thin inline wrappers over backends/x86_64/x86.h
 * and kvm.h. Built with -DVIRTIO_HOST_TEST (tests/unit/virtio), they are
 * functions the test suite implements: MMIO and port accesses reach a
 * simulated register file, mappings are judged against a simulated memory
 * map (vio_map returns NULL over RAM, as x86_mmio_map does), DMA addresses are host pointers,
 * vio_relax() lets the simulated device make progress and vio_now_ns() is a simulated clock.
 *
 * Addresses are guest-physical == virtual (identity-mapped), so a pointer
 * is its own DMA address on both builds.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline uint64_t vio_phys(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/*
 * Zeroed, aligned DMA memory (heap: identity-mapped, physically contiguous;
 * below 4 GB on the host too, as legacy queue page numbers are 32 bits).
 * NULL when exhausted. vio_dma_free(NULL) does nothing.
 */
void *vio_dma_alloc(size_t size, size_t align);
void vio_dma_free(void *p);

/* The ACPI DSDT (found through the RSDP), or NULL; *len is its length. */
const uint8_t *vio_acpi_dsdt(size_t *len);

#ifdef VIRTIO_HOST_TEST

uint8_t vio_read8(uintptr_t a);
uint16_t vio_read16(uintptr_t a);
uint32_t vio_read32(uintptr_t a);
void vio_write8(uintptr_t a, uint8_t v);
void vio_write16(uintptr_t a, uint16_t v);
void vio_write32(uintptr_t a, uint32_t v);
uint8_t vio_inb(uint16_t port);
uint16_t vio_inw(uint16_t port);
uint32_t vio_inl(uint16_t port);
void vio_outb(uint16_t port, uint8_t v);
void vio_outw(uint16_t port, uint16_t v);
void vio_outl(uint16_t port, uint32_t v);
void *vio_map(uint64_t pa, size_t len);
const char *vio_map_refusal(uint64_t pa, size_t len);
void vio_irq_enable(int gsi);
void vio_relax(void);
uint64_t vio_now_ns(void);
#define vio_mb()      __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vio_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#else

#include "kvm.h"
#include "x86.h"

static inline uint8_t vio_read8(uintptr_t a)
{
    return *(volatile uint8_t *)a;
}
static inline uint16_t vio_read16(uintptr_t a)
{
    return *(volatile uint16_t *)a;
}
static inline uint32_t vio_read32(uintptr_t a)
{
    return x86_mmio_read32(a);
}
static inline void vio_write8(uintptr_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}
static inline void vio_write16(uintptr_t a, uint16_t v)
{
    *(volatile uint16_t *)a = v;
}
static inline void vio_write32(uintptr_t a, uint32_t v)
{
    x86_mmio_write32(a, v);
}
static inline uint8_t vio_inb(uint16_t port)
{
    return x86_inb(port);
}
static inline uint16_t vio_inw(uint16_t port)
{
    return x86_inw(port);
}
static inline uint32_t vio_inl(uint16_t port)
{
    return x86_inl(port);
}
static inline void vio_outb(uint16_t port, uint8_t v)
{
    x86_outb(port, v);
}
static inline void vio_outw(uint16_t port, uint16_t v)
{
    x86_outw(port, v);
}
static inline void vio_outl(uint16_t port, uint32_t v)
{
    x86_outl(port, v);
}
/*
 * The device window below 4 GB (IOAPIC, virtio-mmio transports, the PCI
 * BARs virtio_pci.c assigns) is mapped at boot by backends/x86_64; mapping
 * it again costs a ring-0 call and TLB flushes, 5 ms measured on this host.
 */
#define VIO_DEVICE_WINDOW 0xfe000000ull
static inline void *vio_map(uint64_t pa, size_t len)
{
    if (pa >= VIO_DEVICE_WINDOW && pa + len <= (1ull << 32) && pa + len >= pa)
        return (void *)(uintptr_t)pa; /* memmap.c keeps RAM out of this window */
    return x86_mmio_map(pa, len);
}
/* Why vio_map returned NULL, for the device's refusal message. */
static inline const char *vio_map_refusal(uint64_t pa, size_t len)
{
    return x86_mmio_refusal(pa, len);
}
static inline void vio_irq_enable(int gsi)
{
    kvm_irq_enable(gsi);
}
/* The device runs in another host thread: spinning on the ring costs no exit. */
static inline void vio_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}
static inline uint64_t vio_now_ns(void)
{
    return x86_tsc_ns();
}
/* x86 keeps stores in order and loads in order; store-then-load needs mfence. */
#define vio_mb()          x86_mb()
#define vio_barrier()     x86_barrier()

#endif

#endif
