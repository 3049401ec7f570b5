/* backends/x86_64/boot.c: from entry.S to mirc_rt_boot(): memory map, W^X paging, SSE, IDT, canary,
 * argv. */

/*
 * Ring 0 does as little as possible, because the nested KVM interprets it
 * (x86.h): x86_boot loads the GDT, a TSS and an IDT holding only the gate,
 * and drops to ring 3 on entry.S's boot tables (identity, RWX, user-accessible).
 * boot_user, in ring 3 at native speed, reads the start info, fills the
 * IDT, builds the W^X tables and asks the gate to load them and enable SSE
 * (X86_SYS_SETUP), then sets the canary and the heap and runs user_main:
 * constructors, the target's argument hook, mirc_rt_boot.
 *
 * Compiled with -mgeneral-regs-only and without the stack protector: it
 * runs before SSE is enabled and while the canary changes.
 */
#include "gate.h"
#include "mirc/mirc.h"
#include "paging.h"
#include "platform.h"
#include "pvh.h"
#include "trap.h"
#include "x86.h"

#define MEMMAP_MAX  64
#define CMDLINE_MAX 8192
#define ARGV_MAX    512
/* The device window below 4 GiB: IOAPIC, HPET, LAPIC, virtio-mmio, ACPI GED, flash. */
#define MMIO_LOW_START 0xfe000000ull
#define MMIO_LOW_END   0x100000000ull
/* Spare table pages for x86_mmio_map after boot. */
#define PT_SPARE_PAGES 16

#define CR0_MP           (1ull << 1)
#define CR0_EM           (1ull << 2)
#define CR0_NE           (1ull << 5)
#define CR4_OSFXSR       (1ull << 9)
#define CR4_OSXMMEXCPT   (1ull << 10)
#define CR4_OSXSAVE      (1ull << 18)
#define XCR0_X87_SSE_AVX 7ull

uint64_t x86_tsc_entry, x86_tsc_main;
volatile int x86_user_mode;
struct x86_cpu x86_cpu;
uint64_t x86_rsdp_paddr;
uintptr_t __stack_chk_guard = 0x595e9fbd94fda766ull; /* replaced at boot */

static struct pvh_memmap_entry memmap[MEMMAP_MAX];
static unsigned nmemmap;
static char cmdline[CMDLINE_MAX];
static char *argv[ARGV_MAX];
static const char *boot_error;

/* Built by boot_user (ring 3, on the boot tables); ring 0 only once SETUP has loaded them. */
static struct x86_pt pt X86_KERNEL;
static uint64_t pool_end_pa X86_KERNEL; /* the image and the table pool end here */
/* Which tables CR3 holds: the boot tables until SETUP, then pt (or, if building it failed, the
 * boot tables still, until the abort that follows) */
static enum { LIVE_BOOT, LIVE_PT } live X86_KERNEL;

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static uint64_t sym(const char *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* Whether [pa, pa + len) lies in entry.S's boot mapping. */
static int boot_mapped(uint64_t pa, uint64_t len)
{
    return pa + len >= pa && pa + len <= sym(_mirc_boot_map_end);
}

/* Copies what we need from the start info before anything can overwrite it. */
static int read_start_info(uint32_t pa)
{
    const struct pvh_start_info *si = x86_phys_to_virt(pa);
    if (pa == 0 || !boot_mapped(pa, sizeof *si) || si->magic != PVH_START_MAGIC)
        return -1;
    x86_rsdp_paddr = si->rsdp_paddr;
    if (si->cmdline_paddr && boot_mapped(si->cmdline_paddr, CMDLINE_MAX)) {
        const char *c = x86_phys_to_virt(si->cmdline_paddr);
        size_t i = 0;
        while (c[i] && i < CMDLINE_MAX - 1) {
            cmdline[i] = c[i];
            i++;
        }
        cmdline[i] = '\0';
        if (c[i])
            boot_error = "the boot command line is longer than 8191 bytes";
    }
    if (si->version >= 1 && si->memmap_paddr &&
        boot_mapped(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof *memmap)) {
        const struct pvh_memmap_entry *m = x86_phys_to_virt(si->memmap_paddr);
        for (uint32_t i = 0; i < si->memmap_entries && nmemmap < MEMMAP_MAX; i++)
            memmap[nmemmap++] = m[i];
    }
    return 0;
}

/* The RAM region holding the image; its rest becomes the heap. */
static const struct pvh_memmap_entry *image_region(void)
{
    for (unsigned i = 0; i < nmemmap; i++) {
        const struct pvh_memmap_entry *e = &memmap[i];
        if (e->type == PVH_MEM_RAM && e->addr <= sym(_mirc_image_start) &&
            e->addr + e->size >= sym(_mirc_image_end))
            return e;
    }
    return NULL;
}

static int map_all(uint64_t pool_end)
{
    int r = x86_pt_map(&pt, 0, 1ull << 20, X86_MAP_DATA); /* BIOS area, start info, RSDP */
    for (unsigned i = 0; i < nmemmap; i++) {
        const struct pvh_memmap_entry *e = &memmap[i];
        uint64_t lo = align_up(e->addr, X86_PAGE), hi = (e->addr + e->size) & ~(X86_PAGE - 1);
        if (hi <= lo || (e->type != PVH_MEM_RAM && e->type != PVH_MEM_ACPI))
            continue;
        r |= x86_pt_map(&pt, lo, hi - lo, e->type == PVH_MEM_RAM ? X86_MAP_DATA : X86_MAP_RODATA);
    }
    /* the image and the table pool, whatever the map said */
    r |= x86_pt_map(&pt, sym(_mirc_image_start), sym(_mirc_text_end) - sym(_mirc_image_start),
                    X86_MAP_TEXT);
    r |= x86_pt_map(&pt, sym(_mirc_text_end), sym(_mirc_rodata_end) - sym(_mirc_text_end),
                    X86_MAP_RODATA);
    r |= x86_pt_map(&pt, sym(_mirc_rodata_end), sym(_mirc_image_end) - sym(_mirc_rodata_end),
                    X86_MAP_DATA);
    r |= x86_pt_map(&pt, sym(_mirc_image_end), pool_end - sym(_mirc_image_end), X86_MAP_KERNEL);
    /* IDT, GDT, TSS, gate state and the ring-0 stacks: x86.h, X86_KERNEL */
    r |= x86_pt_map(&pt, sym(_mirc_kernel_start), sym(_mirc_kernel_end) - sym(_mirc_kernel_start),
                    X86_MAP_KERNEL);
    r |= x86_pt_unmap(&pt, 0, X86_PAGE);
    r |= x86_pt_unmap(&pt, sym(_mirc_stack_guard), X86_PAGE);
    r |= x86_pt_unmap(&pt, sym(_mirc_kstack_guard), X86_PAGE);
    r |= x86_pt_unmap(&pt, sym(_mirc_ist_guard), X86_PAGE);
    r |= x86_pt_map(&pt, MMIO_LOW_START, MMIO_LOW_END - MMIO_LOW_START, X86_MAP_MMIO);
    return r;
}

/* Builds the W^X tables after the image; returns the first byte after their pool. */
static uint64_t build_tables(void)
{
    uint64_t top = MMIO_LOW_END;
    for (unsigned i = 0; i < nmemmap; i++)
        if (memmap[i].addr + memmap[i].size > top)
            top = memmap[i].addr + memmap[i].size;
    /* PML4 + PDPTs + one PD per GiB + page tables for the image's 4 KiB pages */
    size_t pages = 1 + (size_t)(top >> 39) + 1 + (size_t)(align_up(top, 1ull << 30) >> 30) +
                   (size_t)(align_up(sym(_mirc_image_end), X86_LARGE_PAGE) >> 21) + 2 +
                   PT_SPARE_PAGES;
    uint64_t pool = sym(_mirc_image_end);
    uint64_t pool_end = pool + pages * X86_PAGE;
    if (!boot_mapped(pool, pages * X86_PAGE) ||
        x86_pt_init(&pt, x86_phys_to_virt(pool), pool, pages) != 0 || map_all(pool_end) != 0) {
        boot_error = "cannot build the page tables (memory map too fragmented?)";
        return 0;
    }
    pool_end_pa = pool_end;
    return pool_end;
}

const char *x86_mmio_map_ring0(uint64_t pa, size_t len)
{
    const char *why = x86_gate_check_map(pa, len, sym(_mirc_image_start), pool_end_pa);
    if (why)
        return why;
    if (live != LIVE_PT)
        return "the page tables are not built";
    uint64_t lo = pa & ~(X86_PAGE - 1), hi = align_up(pa + len, X86_PAGE);
    if (x86_pt_map(&pt, lo, hi - lo, X86_MAP_MMIO) != 0)
        return "no page-table pages left for the mapping";
    for (uint64_t va = lo; va < hi; va += X86_PAGE)
        x86_invlpg((uintptr_t)va);
    return NULL;
}

void *x86_mmio_map(uint64_t pa, size_t len)
{
    if (x86_cpl()) /* the tables are ring-0 memory; a refusal ends the application there */
        return (void *)(uintptr_t)x86_sys(X86_SYS_MAP, pa, len);
    const char *why = x86_mmio_map_ring0(pa, len);
    if (why)
        mirc_panic("cannot map device memory at 0x%llx (+%zu): %s", (unsigned long long)pa, len,
                   why);
    return x86_phys_to_virt(pa);
}

uint64_t x86_live_pte(uint64_t va)
{
    return live == LIVE_PT ? x86_pt_lookup(&pt, va, NULL) : 0;
}

int x86_user_access(uint64_t va, uint64_t len, int write)
{
    if (live == LIVE_PT)
        return x86_pt_user_range(&pt, va, len, write);
    /* entry.S's tables: everything below _mirc_boot_map_end, user-accessible and writable */
    return va + len >= va && va + len <= sym(_mirc_boot_map_end);
}

static void enable_fpu(int avx)
{
    uint64_t cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr0 = (cr0 & ~CR0_EM) | CR0_MP | CR0_NE;
    cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (avx)
        cr4 |= CR4_OSXSAVE;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
    __asm__ volatile("fninit");
    if (avx)
        __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)XCR0_X87_SSE_AVX), "d"(0));
    /* MXCSR keeps its reset value (0x1f80): ldmxcsr in ring 0 trips the nested KVM's emulator */
}

/* X86_SYS_SETUP, in ring 0 (once: trap.c): switch to the tables boot_user built, enable SSE. */
const char *x86_boot_setup(uint64_t pml4, int avx)
{
    if (pml4 == pt.pml4_phys && pool_end_pa)
        live = LIVE_PT;
    else if (pml4 != sym(x86_boot_pml4))
        return "not the page tables boot built";
    __asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
    enable_fpu(avx);
    return NULL;
}

static void setup_tables(uint64_t pml4, int avx)
{
    if (x86_cpl())
        x86_sys(X86_SYS_SETUP, pml4, (uint64_t)avx);
    else
        x86_boot_setup(pml4, avx);
}

static void set_canary(void)
{
    uintptr_t c;
    if (x86_random(&c, sizeof c) != 0) /* no RDRAND: the TSC is the best we have */
        c = (uintptr_t)(x86_rdtsc() * 0x9e3779b97f4a7c15ull) ^ __stack_chk_guard;
    __stack_chk_guard = c & ~(uintptr_t)0xff; /* a NUL byte stops string overflows reading it */
}

extern void __libc_init_array(void);

/* The application's side, with SSE, on the main stack. */
static _Noreturn void user_main(void)
{
    __libc_init_array();
    int argc = 0;
    argv[0] = "mirc";
    mirc_status s = mirc_rt_split_cmdline(cmdline, ARGV_MAX - 1, argv + 1, &argc);
    if (s != MIRC_OK)
        x86_abort(s == MIRC_TOO_BIG ? "more than 510 words on the boot command line"
                                    : "unterminated quote or trailing backslash on the boot "
                                      "command line");
    argc = x86_target_args(argc + 1, argv);
    x86_tsc_main = x86_rdtsc();
    mirc_plat_exit(mirc_rt_boot(argc, argv));
}

#if MIRC_X86_APP_RING == 3
/* iretq to fn in ring 3, interrupts off, on a fresh stack. */
static _Noreturn void enter_user(void (*fn)(void))
{
    uint64_t top = sym(_mirc_stack_top) - 8;
    __asm__("" : "+r"(top)); /* an address from the linker script, not an object's end */
    uint64_t *sp = (uint64_t *)(uintptr_t)top;
    *sp = 0; /* a zero return address ends backtraces; keeps the ABI's alignment */
    x86_user_mode = 1;
    __asm__ volatile("mov %0, %%ds\n\t"
                     "mov %0, %%es\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "pushq %0\n\t"      /* ss */
                     "pushq %1\n\t"      /* rsp */
                     "pushq $0x0002\n\t" /* rflags: interrupts off */
                     "pushq %2\n\t"      /* cs */
                     "pushq %3\n\t"      /* rip */
                     "iretq"
                     :
                     : "r"((uint64_t)X86_SEL_USER_DATA), "r"(sp), "r"((uint64_t)X86_SEL_USER_CODE),
                       "r"(fn)
                     : "memory");
    __builtin_unreachable();
}
#endif

static uint32_t start_info_pa;

/* Ring 3, on the boot tables, without SSE yet: everything that needs no privilege. */
static _Noreturn void boot_user(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    x86_cpu.max_leaf = r[0];
    x86_cpuid(1, 0, r);
    x86_cpu.leaf1_ecx = r[2];
    x86_cpu.leaf1_edx = r[3];
    x86_trap_init_user();

    int pvh_ok = read_start_info(start_info_pa) == 0;
    uint64_t heap_start = build_tables();
    int avx =
        (x86_cpu.leaf1_ecx & X86_CPUID1_ECX_XSAVE) && (x86_cpu.leaf1_ecx & X86_CPUID1_ECX_AVX);
    /* the last write to X86_KERNEL memory from ring 3: from here on it is ring 0's alone */
    setup_tables(heap_start ? pt.pml4_phys : sym(x86_boot_pml4), avx); /* SSE at least, to report */
    x86_target_early();
    if (!pvh_ok)
        x86_abort("not started through the PVH boot ABI (no start info in %ebx); boot the image "
                  "with QEMU -kernel or as a Xen PVH guest");
    if (boot_error)
        x86_abort(boot_error);
    const struct pvh_memmap_entry *ram = image_region();
    if (!ram)
        x86_abort(
            "the PVH memory map has no RAM region holding the image; give the guest more memory");
    if (ram->addr + ram->size <= heap_start + X86_PAGE)
        x86_abort("no memory left for the heap after the image; give the guest more memory");
    set_canary();
    x86_heap_init((uintptr_t)heap_start, (uintptr_t)(ram->addr + ram->size));
    user_main();
}

_Noreturn void x86_boot(uint32_t start_info);

_Noreturn void x86_boot(uint32_t start_info)
{
    start_info_pa = start_info;
    x86_trap_init();
#if MIRC_X86_APP_RING == 0
    x86_user_mode = 1; /* the application's context, still in ring 0 (bench/gate only) */
    boot_user();
#else
    enter_user(boot_user);
#endif
}
