/* backends/x86_64/memmap.h: the PVH start info and memory map, read and checked (pure, unit-tested
 * on the host). */
#ifndef MIRC_X86_MEMMAP_H
#define MIRC_X86_MEMMAP_H

/*
 * Everything the host hands the image at boot (the start info, its command
 * line and memory map) and every physical window a driver later asks to map
 * is judged here, on plain data: a peek function gives access to physical
 * memory, so boot.c passes the boot mapping and tests/unit/x86_64 passes a
 * buffer. Reasons are static one-line strings, because boot.c reports them
 * before the C library can format anything.
 *
 * The rules, which backends/x86_64/README.md states for users:
 * - the start info must lie in readable boot memory and carry the PVH magic;
 *   its command line must end (NUL) within 8 KiB of readable memory;
 * - the memory map has at most X86_MEMMAP_MAX entries in readable memory;
 *   an entry that wraps past 2^64 or puts RAM in the low device window
 *   (0xfe000000-0xffffffff) stops the boot; empty entries are skipped and
 *   everything at or above X86_PHYS_LIMIT is dropped (the image maps no
 *   more);
 * - a device window (x86_mmio_map) must not touch RAM, the first MiB, the
 *   image or its page-table pool, and must lie below X86_PHYS_LIMIT.
 */

#include <stdint.h>

#include "pvh.h"

#define X86_MEMMAP_MAX  64
#define X86_CMDLINE_MAX 8192
#define X86_PHYS_LIMIT  (1ull << 39)  /* 512 GiB: one PML4 entry */
#define X86_LOW_MEM_END (1ull << 20)  /* BIOS data, start info, RSDP: mapped as data at boot */
#define X86_DEV_LOW     0xfe000000ull /* the device window below 4 GiB, mapped at boot */
#define X86_DEV_HIGH    0x100000000ull

struct x86_memmap {
    struct pvh_memmap_entry e[X86_MEMMAP_MAX];
    unsigned n;
};

struct x86_start {
    uint64_t rsdp; /* 0: absent */
    char cmdline[X86_CMDLINE_MAX];
    struct x86_memmap map;
};

/*
 * Access to physical memory: returns a pointer to the bytes at pa and lowers
 * *len to how many of them are readable (from 0 up to the *len asked for);
 * NULL when none are.
 */
typedef const void *(*x86_peek_fn)(void *ctx, uint64_t pa, uint64_t *len);

/*
 * Reads the start info at physical address `si_pa` into *out (zeroed
 * first). Returns NULL, or why the boot cannot go on.
 */
const char *x86_start_read(uint64_t si_pa, x86_peek_fn peek, void *ctx, struct x86_start *out);

/* Adds one entry under the rules above. Returns NULL, or why the map is refused. */
const char *x86_memmap_add(struct x86_memmap *m, const struct pvh_memmap_entry *e);

/* The RAM entry holding [lo, hi), or NULL. */
const struct pvh_memmap_entry *x86_memmap_ram_holding(const struct x86_memmap *m, uint64_t lo,
                                                      uint64_t hi);

/*
 * Why [pa, pa + len) may not become a device window, or NULL when it may:
 * it is empty, wraps, reaches X86_PHYS_LIMIT, or overlaps the first MiB,
 * RAM or [image_lo, image_hi) (the image and its page-table pool).
 */
const char *x86_memmap_window_check(const struct x86_memmap *m, uint64_t image_lo,
                                    uint64_t image_hi, uint64_t pa, uint64_t len);

/*
 * Whether [pa, pa + len) is memory the boot mapped readable for ring 3 and
 * that firmware tables may occupy: the first MiB above page 0, or RAM and
 * ACPI entries, outside [image_lo, image_hi).
 */
int x86_memmap_readable(const struct x86_memmap *m, uint64_t image_lo, uint64_t image_hi,
                        uint64_t pa, uint64_t len);

#endif
