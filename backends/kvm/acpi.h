/* backends/kvm/acpi.h: reading the ACPI tables QEMU's firmware leaves (RSDP, XSDT/RSDT, FADT,
 * DSDT), every pointer, length and checksum checked (pure, unit-tested and fuzzed on the host). */
#ifndef MIRC_KVM_ACPI_H
#define MIRC_KVM_ACPI_H

/*
 * The kvm image reads ACPI for two things: the S5 sleep type and register
 * that power the VM off (acpi.c, also on the fault path in ring 0), and the
 * virtio-mmio windows microvm declares in its DSDT (virtio_mmio.c). Both go
 * through this walk, which reaches memory only through a peek function: in
 * the image x86_firmware_map (memory the boot mapped, or a device window
 * that overlaps no RAM, image or page table), in tests/unit/x86_64 and
 * fuzz/fuzz_acpi.c a few buffers at made-up physical addresses.
 *
 * What is checked: the RSDP's signature, checksum and (revision 2) length
 * and extended checksum; each table's signature, length (36 bytes .. 1 MiB)
 * and checksum before any field past its header is used; at most
 * KVM_ACPI_ROOT_MAX root entries; FADT fields only where its length covers
 * them; AML is scanned within the DSDT's checked length only. No libc: this
 * runs in ring 0 on the fault path.
 */

#include <stddef.h>
#include <stdint.h>

#define KVM_ACPI_TABLE_MAX (1u << 20)
#define KVM_ACPI_ROOT_MAX  256
#define KVM_ACPI_GSI_MAX   48       /* microvm: two IOAPICs */
#define KVM_ACPI_BIOS_LO   0xe0000u /* where the RSDP is searched for without a hint */
#define KVM_ACPI_BIOS_HI   0x100000u

/* A pointer to the len bytes at physical address pa, readable; NULL when they are not. */
typedef const uint8_t *(*kvm_acpi_peek_fn)(void *ctx, uint64_t pa, size_t len);

struct kvm_acpi {
    kvm_acpi_peek_fn peek;
    void *ctx;
    /* why the last call failed (a static string), and where; `bad` is 0 when the
       firmware simply has no such table, 1 when what it has is malformed */
    const char *why;
    uint64_t why_pa;
    int bad;
};

/* The FADT fields the power-off uses, present only where the FADT's length covers them. */
struct kvm_acpi_fadt {
    uint64_t dsdt;       /* X_DSDT, else DSDT; 0: none */
    uint32_t flags;      /* 0 when absent */
    uint32_t pm1a_cnt;   /* PM1a control I/O port; 0: none */
    int has_sleep_ctl;   /* the HW-reduced SLEEP_CONTROL_REG is there */
    uint8_t sleep_space; /* its address space: 0 memory, 1 I/O */
    uint64_t sleep_addr;
};
#define KVM_ACPI_FADT_HW_REDUCED (1u << 20)

/* The checked RSDP at `hint`, or (hint 0) found in 0xe0000..0xfffff. Returns its address or 0. */
uint64_t kvm_acpi_rsdp(struct kvm_acpi *a, uint64_t hint);

/* The checked table at pa, which must have signature `sig`; *len gets its length. NULL if not. */
const uint8_t *kvm_acpi_table(struct kvm_acpi *a, uint64_t pa, const char *sig, uint32_t *len);

/* The first table with signature `sig` in the root table (XSDT, else RSDT) of the RSDP at rsdp. */
const uint8_t *kvm_acpi_find(struct kvm_acpi *a, uint64_t rsdp, const char *sig, uint32_t *len);

/* The fields of a checked FADT of `len` bytes. */
void kvm_acpi_fadt_parse(const uint8_t *fadt, uint32_t len, struct kvm_acpi_fadt *out);

/*
 * The whole walk: RSDP (hint as above), root table, FADT (parsed into
 * *fadt), DSDT. Returns the checked DSDT and its length, or NULL.
 */
const uint8_t *kvm_acpi_dsdt(struct kvm_acpi *a, uint64_t hint, struct kvm_acpi_fadt *fadt,
                             uint32_t *len);

/* SLP_TYPa (0..7) of \_S5: Name(_S5_, Package(){a, b, ...}) in a DSDT's AML, or -1. */
int kvm_acpi_s5_type(const uint8_t *dsdt, size_t len);

/* A virtio-mmio device the DSDT declares (_HID "LNRO0005"). */
struct kvm_acpi_mmio {
    uint64_t base, size;
    int irq;
};

/*
 * Calls fn for each LNRO0005 device in the AML, in table order: with its
 * Memory32Fixed window and first Extended Interrupt (below KVM_ACPI_GSI_MAX),
 * or with NULL when it lacks a usable one. Returns how many were usable.
 */
unsigned kvm_acpi_virtio_mmio(const uint8_t *aml, size_t len,
                              void (*fn)(void *ctx, const struct kvm_acpi_mmio *m), void *ctx);

#endif
