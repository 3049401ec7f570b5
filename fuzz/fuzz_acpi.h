/* fuzz/fuzz_acpi.h: the kvm image's ACPI walk over physical memory made of the fuzzer's input. */
#ifndef FUZZ_ACPI_H
#define FUZZ_ACPI_H

/*
 * An input is up to FUZZ_ACPI_SEGS records, each an 8-byte little-endian
 * physical address, a 4-byte length and that many bytes (a record cut short
 * by the end of the input keeps what there is). Each becomes a separately
 * allocated buffer of exactly its length, so a read past it trips ASan; a
 * peek must fall inside one record. The first record's address is the
 * RSDP hint the PVH start info would give (fuzz/acpi_seeds.py writes the
 * RSDP first). fuzz/corpus/acpi holds QEMU's real tables in this format.
 */

#include <stddef.h>
#include <stdint.h>

#include "acpi.h"

#define FUZZ_ACPI_SEGS 16

struct fuzz_acpi_result {
    int found;                  /* the walk reached a DSDT */
    struct kvm_acpi_fadt fadt;  /* what the FADT said */
    int s5;                     /* kvm_acpi_s5_type of that DSDT */
    unsigned windows;           /* usable virtio-mmio windows it declares */
    unsigned unusable;          /* LNRO0005 devices without one */
    struct kvm_acpi_mmio first; /* the first usable window */
    const char *why;            /* why the walk stopped, when it did */
    int bad;
};

/*
 * Runs the walk as the kvm image does (hint, then the BIOS-area scan), then
 * the AML parsers over every record's raw bytes. Fills *r from the hinted
 * walk.
 */
void fuzz_acpi_run(const uint8_t *data, size_t size, struct fuzz_acpi_result *r);

#endif
