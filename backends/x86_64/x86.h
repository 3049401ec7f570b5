/* backends/x86_64/x86.h: CPU helpers and the boot contract shared by the kvm and xen targets. */
#ifndef MIRC_X86_H
#define MIRC_X86_H

/*
 * Everything here runs in ring 0 of a single-CPU guest, identity-mapped
 * (virtual address == physical address), with interrupts disabled except
 * inside the halt of a target's yield. Port I/O and MSR accesses may each
 * cost a VM exit (0.1 to 1.6 ms on this host's nested KVM); callers batch
 * them and do expensive probes lazily.
 *
 * A target (kvm, xen) provides the x86_target_* hooks at the end of this
 * file; the shared code in this directory calls them in boot order.
 */

#include <stddef.h>
#include <stdint.h>

/* Barriers. x86 orders stores with stores and loads with loads already. */
#define x86_barrier() __asm__ volatile("" ::: "memory")
static inline void x86_mb(void)
{
    __asm__ volatile("mfence" ::: "memory");
}
static inline void x86_rmb(void)
{
    __asm__ volatile("lfence" ::: "memory");
}
static inline void x86_wmb(void)
{
    __asm__ volatile("sfence" ::: "memory");
}

/* MMIO: volatile accesses the compiler neither merges nor reorders. */
static inline uint32_t x86_mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)addr;
}
static inline void x86_mmio_write32(uintptr_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

/* Identity mapping: guest-physical addresses for DMA are virtual addresses. */
static inline uint64_t x86_virt_to_phys(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}
static inline void *x86_phys_to_virt(uint64_t pa)
{
    return (void *)(uintptr_t)pa;
}

/*
 * Privilege. The image boots in ring 0 and runs the application (everything
 * from constructors and mirc_rt_boot on) in ring 3. Port I/O, MSRs, halting
 * and page-table changes from ring 3 go through the gate at vector
 * SYSCALL (the helpers below check the ring themselves; `int` from ring 3
 * is refused by the nested KVM). The nested KVM on this project's hosts
 * (kvm_pvm) interprets guest ring-0 code instruction by instruction, at
 * about 500k instructions per second and without SSE; ring 3 runs natively.
 * So code that runs in ring 0 (boot, traps, interrupt handlers, the gate)
 * is compiled with -mgeneral-regs-only and kept short.
 */
enum x86_sys_op {
    X86_SYS_HALT = 1,     /* sti; hlt; cli: sleep until an interrupt */
    X86_SYS_WRMSR,        /* (msr, value) */
    X86_SYS_RDMSR,        /* (msr) -> value */
    X86_SYS_MAP,          /* (phys, len): x86_mmio_map */
    X86_SYS_RESET,        /* triple fault */
    X86_SYS_OUT,          /* (port, size, value) */
    X86_SYS_IN,           /* (port, size) -> value */
    X86_SYS_OUTSB,        /* (port, buffer, length): rep outsb */
    X86_SYS_SETUP,        /* (pml4, avx): boot only, load the tables and enable SSE */
    X86_SYS_HALT_FOREVER, /* cli; hlt: wait for the host to stop the VM */
    X86_SYS_TARGET = 100, /* and up: the target's own (x86_target_syscall) */
};
#define X86_SEL_USER_DATA 0x2b
#define X86_SEL_USER_CODE 0x33

/*
 * Non-zero while the application runs (ring 3). Tracked in a variable
 * rather than read from %cs, which the nested KVM does not always report
 * faithfully.
 */
extern volatile int x86_user_mode;
static inline int x86_cpl(void)
{
    return x86_user_mode ? 3 : 0;
}

/* The gate (isr.S): preserves every register but rax, which carries the op in and the result out.
 */
static inline uint64_t x86_sys3(enum x86_sys_op op, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t r = op;
    __asm__ volatile("call x86_sys_gate" : "+a"(r) : "D"(a), "S"(b), "d"(c) : "memory", "cc");
    return r;
}
static inline uint64_t x86_sys(enum x86_sys_op op, uint64_t a, uint64_t b)
{
    return x86_sys3(op, a, b, 0);
}

static inline uint64_t x86_rdmsr(uint32_t msr)
{
    if (x86_cpl())
        return x86_sys(X86_SYS_RDMSR, msr, 0);
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void x86_wrmsr(uint32_t msr, uint64_t v)
{
    if (x86_cpl()) {
        x86_sys(X86_SYS_WRMSR, msr, v);
        return;
    }
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
/* Port I/O: direct in ring 0, through the gate in ring 3 (the nested KVM ignores IOPL). */
static inline void x86_out(uint16_t port, unsigned size, uint32_t v)
{
    if (x86_cpl()) {
        x86_sys3(X86_SYS_OUT, port, size, v);
        return;
    }
    if (size == 1)
        __asm__ volatile("outb %b0, %w1" : : "a"(v), "Nd"(port));
    else if (size == 2)
        __asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port));
    else
        __asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port));
}
static inline uint32_t x86_in(uint16_t port, unsigned size)
{
    if (x86_cpl())
        return (uint32_t)x86_sys3(X86_SYS_IN, port, size, 0);
    uint32_t v = 0;
    if (size == 1)
        __asm__ volatile("inb %w1, %b0" : "+a"(v) : "Nd"(port));
    else if (size == 2)
        __asm__ volatile("inw %w1, %w0" : "+a"(v) : "Nd"(port));
    else
        __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void x86_outb(uint16_t port, uint8_t v)
{
    x86_out(port, 1, v);
}
static inline void x86_outw(uint16_t port, uint16_t v)
{
    x86_out(port, 2, v);
}
static inline void x86_outl(uint16_t port, uint32_t v)
{
    x86_out(port, 4, v);
}
static inline uint8_t x86_inb(uint16_t port)
{
    return (uint8_t)x86_in(port, 1);
}
static inline uint16_t x86_inw(uint16_t port)
{
    return (uint16_t)x86_in(port, 2);
}
static inline uint32_t x86_inl(uint16_t port)
{
    return x86_in(port, 4);
}
/* Writes len bytes to one port in a single instruction: one VM exit per buffer. */
static inline void x86_outsb(uint16_t port, const void *buf, size_t len)
{
    if (x86_cpl()) {
        x86_sys3(X86_SYS_OUTSB, port, (uint64_t)(uintptr_t)buf, len);
        return;
    }
    __asm__ volatile("rep outsb" : "+S"(buf), "+c"(len) : "d"(port) : "memory");
}

static inline uint64_t x86_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline void x86_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}
static inline uint64_t x86_read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline void x86_invlpg(uintptr_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/*
 * Halts with interrupts enabled for exactly the halt: an interrupt that was
 * already pending while they were disabled wakes it at once (sti's shadow
 * covers the hlt). Interrupts are enabled nowhere else, so handlers never
 * interrupt application code.
 */
static inline void x86_halt_once(void)
{
    if (x86_cpl())
        x86_sys(X86_SYS_HALT, 0, 0);
    else
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* CPU features found once at boot (CPUID costs a VM exit each). */
struct x86_cpu {
    uint32_t max_leaf, max_hv_leaf;
    uint32_t leaf1_ecx, leaf1_edx, leaf7_ebx;
    int hypervisor_kvm; /* CPUID 0x40000000 says "KVMKVMKVM" */
    int hypervisor_xen; /* ... "XenVMMXenVMM" */
};
extern struct x86_cpu x86_cpu;
#define X86_CPUID1_ECX_X2APIC       (1u << 21)
#define X86_CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define X86_CPUID1_ECX_XSAVE        (1u << 26)
#define X86_CPUID1_ECX_AVX          (1u << 28)
#define X86_CPUID1_ECX_RDRAND       (1u << 30)
#define X86_CPUID1_ECX_HYPERVISOR   (1u << 31)
#define X86_CPUID7_EBX_RDSEED       (1u << 18)
/* Reads leaves 7 and 0x4000000x on first use; leaf 1 is read at boot. */
void x86_cpu_probe_more(void);

/* The image's layout, from the linker script (x86_64.ld). */
extern char _mirc_image_start[], _mirc_text_end[], _mirc_rodata_end[], _mirc_image_end[];
extern char _mirc_stack_guard[], _mirc_stack_bottom[], _mirc_stack_top[];
extern char _mirc_ist_guard[], _mirc_ist_top[], _mirc_kstack_guard[], _mirc_kstack_top[];
extern char _mirc_boot_map_end[], x86_boot_pml4[];

/* The ACPI RSDP's address from the start info (0: absent; then search the BIOS area). */
extern uint64_t x86_rsdp_paddr;

/* TSC at the PVH entry and just before mirc_rt_boot (for the boot benchmark). */
extern uint64_t x86_tsc_entry, x86_tsc_main;

/*
 * Maps `len` bytes of device memory at physical address `pa` (uncached,
 * read/write, no-exec) into the live page tables and returns its address
 * (identity: == pa). For drivers that find BARs or MMIO windows at run
 * time. Returns NULL, mapping nothing, when the window overlaps RAM (per
 * the PVH memory map), the first MiB, the image or its page-table pool,
 * reaches 512 GiB, or the spare table pages ran out: device-supplied
 * addresses never remap memory the image uses (memmap.h).
 */
void *x86_mmio_map(uint64_t pa, size_t len);
/* Why x86_mmio_map refuses [pa, pa + len), or NULL if it would not. Either ring. */
const char *x86_mmio_check(uint64_t pa, size_t len);
/* The reason to print after x86_mmio_map returned NULL. */
const char *x86_mmio_refusal(uint64_t pa, size_t len);
/*
 * Firmware tables (ACPI) at [pa, pa + len), for reading: memory the boot
 * mapped (the first MiB above page 0, RAM and ACPI ranges outside the image
 * and its tables) as it is, anything else through x86_mmio_map. NULL when
 * neither allows it.
 */
const void *x86_firmware_map(uint64_t pa, size_t len);

/* Heap bounds for sbrk, set at boot from the memory map. */
void x86_heap_init(uintptr_t start, uintptr_t end);
size_t x86_heap_free(void);

/* RDSEED/RDRAND. Returns 0, or -1 when the CPU has neither or they keep failing. */
int x86_random(void *buf, size_t len);

/*
 * The TSC as a clock. The frequency comes from the target's paravirtual
 * clock when it has one (x86_target_tsc_hz), else CPUID 0x15 / 0x40000010,
 * else a PIT calibration (25 ms): the first of them in 1 MHz..100 GHz
 * (tsccal.h). Found once, on the first clock read. x86_tsc_set_hz aborts on
 * a rate outside that range.
 */
void x86_tsc_set_hz(uint64_t hz);
uint64_t x86_tsc_hz(void);
uint64_t x86_tsc_ns(void);           /* ns since the PVH entry */
uint64_t x86_tsc_at_ns(uint64_t ns); /* TSC value when x86_tsc_ns() reaches ns */

/*
 * Interrupts: vectors 32..255 can be given a handler, which runs with
 * interrupts disabled on the interrupted (yield's) stack and must EOI itself.
 */
typedef void (*x86_irq_handler)(int vector);
void x86_irq_set(int vector, x86_irq_handler h);

/* Halts with interrupts off until the host stops the VM (after a power-off request). */
static inline void x86_halt_forever(void)
{
    if (x86_cpl())
        x86_sys(X86_SYS_HALT_FOREVER, 0, 0);
    __asm__ volatile("cli; hlt" ::: "memory");
}

/* A triple fault: the machine resets (QEMU with -no-reboot exits). From either ring. */
_Noreturn void x86_reset(void);

/* Print without stdio (fault paths) and end with status 255. */
void x86_puts(const char *s);
_Noreturn void x86_abort(const char *why);
/* Adds "in the function at CALLER" and a backtrace from the calling frame. */
_Noreturn void x86_abort_at(const char *why, uint64_t caller);

/* Hooks every x86_64 target provides, called in this order by the boot code. */
/* In ring 3, after paging, IDT and SSE: the console must work when this returns. */
void x86_target_early(void);
/*
 * In ring 3, with the boot command line split into words (argv[argc] ==
 * NULL): returns the new argc after removing the words meant for the
 * platform (e.g. QEMU's virtio_mmio.device=...). Attach devices here.
 */
int x86_target_args(int argc, char **argv);
/* Powers the machine off or resets it; from ring 0 (faults) or ring 3. */
_Noreturn void x86_target_halt(void);
/*
 * The TSC rate from the target's paravirtual clock (kvmclock, Xen's pvclock),
 * or 0. Ring 3. Need not be plausible: tsccal.c checks it.
 */
uint64_t x86_target_tsc_hz(void);
/* Gate operations X86_SYS_TARGET and up, in ring 0 (e.g. hypercalls); -1 if unknown. */
uint64_t x86_target_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c);

/* For the gate (trap.c): the ring-0 half of boot. */
void x86_boot_setup(uint64_t pml4, int avx);
void x86_trap_init_user(void);

#endif
