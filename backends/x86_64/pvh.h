/* backends/x86_64/pvh.h: the PVH boot ABI's start-of-day structure (Xen's hvm_start_info). */
#ifndef MIRC_X86_PVH_H
#define MIRC_X86_PVH_H

/*
 * Both Xen and QEMU (`-kernel` with an ELF that has a XEN_ELFNOTE_PHYS32_ENTRY
 * note) enter the image in 32-bit protected mode, paging off, with %ebx
 * holding the physical address of this structure. Addresses of 0 mean
 * "absent". Version 1 added the memory map. Layout per Xen's public header
 * arch-x86/hvm/start_info.h (all fields little endian).
 */

#include <stdint.h>

#define PVH_START_MAGIC          0x336ec578u
#define PVH_ELFNOTE_PHYS32_ENTRY 18

struct pvh_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    /* version >= 1 */
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* E820 types */
    uint32_t reserved;
};

#define PVH_MEM_RAM      1
#define PVH_MEM_RESERVED 2
#define PVH_MEM_ACPI     3

_Static_assert(sizeof(struct pvh_start_info) == 56, "start info layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "memmap entry layout");

#endif
