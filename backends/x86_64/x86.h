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
 * from constructors and mirc_rt_boot on, drivers included) in ring 3. Port
 * I/O, MSRs, halting and page-table changes from ring 3 go through the gate
 * (a ud2 at x86_sys_gate, isr.S); the helpers below check the ring
 * themselves. The nested KVM on this project's hosts (kvm_pvm) interprets
 * guest ring-0 code instruction by instruction, at about 500k instructions
 * per second and without SSE; ring 3 runs natively. So code that runs in
 * ring 0 (boot, traps, interrupt acknowledgement, the gate) is compiled with
 * -mgeneral-regs-only and kept short.
 *
 * The gate is a boundary (README.md, "What ring 3 protects"): it decides
 * from the trap frame's CS, not from memory ring 3 can write; it checks
 * every operation against an allowlist (gate.c) and every buffer it reads or
 * writes against the live page tables; and the state it keeps (IDT, GDT,
 * TSS, kernel stacks, page tables, interrupt table) is in X86_KERNEL
 * memory, which ring 3 can neither read nor write. A refused operation never
 * returns: the application is stopped with a one-line reason and status 255,
 * like a CPU fault.
 */
enum x86_sys_op {
    X86_SYS_HALT = 1,     /* sti; hlt; cli: sleep until an interrupt */
    X86_SYS_WRMSR,        /* (msr, value): allowlisted MSRs only (gate.c) */
    X86_SYS_RDMSR,        /* (msr) -> value: allowlisted MSRs only */
    X86_SYS_MAP,          /* (phys, len): x86_mmio_map, never over the image or page tables */
    X86_SYS_RESET,        /* triple fault */
    X86_SYS_OUT,          /* (port, size 1/2/4, value) */
    X86_SYS_IN,           /* (port, size 1/2/4) -> value */
    X86_SYS_OUTSB,        /* (port, buffer, length): rep outsb; the buffer must be user-readable */
    X86_SYS_SETUP,        /* (pml4, avx): boot only, once: load the tables and enable SSE */
    X86_SYS_HALT_FOREVER, /* cli; hlt: wait for the host to stop the VM */
    X86_SYS_IRQ,          /* (vector, ack, addr): x86_irq_set */
    X86_SYS_TARGET = 100, /* and up: the target's own (x86_target_syscall) */
};
#define X86_SEL_USER_DATA 0x2b
#define X86_SEL_USER_CODE 0x33

/*
 * Which ring the application runs in: 3, or 0 in a build configured with
 * -Dx86_app_ring=0 (measurement only: bench/gate; no boundary at all).
 */
#ifndef MIRC_X86_APP_RING
#define MIRC_X86_APP_RING 3
#endif

/*
 * 1 while application code runs, 0 on the trap path (interrupts, the gate,
 * fault handling). A hint for the helpers below, nothing more: it lives in
 * memory ring 3 can write (so ring 3 can read it cheaply), and the gate never
 * trusts it. An application that clears it only makes the next privileged
 * instruction fault.
 */
extern volatile int x86_user_mode;
static inline int x86_cpl(void)
{
    return MIRC_X86_APP_RING == 3 && x86_user_mode ? 3 : 0;
}
/* Whether this runs on the trap path (ring 0 in both builds); for x86_target_halt. */
static inline int x86_on_trap_path(void)
{
    return !x86_user_mode;
}
/*
 * Set while a fault or a refused gate operation is being reported (in the
 * application's ring): mirc_plat_exit then skips what could fault again
 * (flushing devices, xenstore).
 */
extern volatile int x86_fault_reporting;

/*
 * Ring-0-only memory: objects marked X86_KERNEL land in a page-aligned
 * section (x86_64.ld, .kbss) that the tables map without the user bit.
 * Zero-initialised objects only. Ring 3 writes them during boot, on the boot
 * tables, until X86_SYS_SETUP loads the real ones.
 */
#define X86_KERNEL __attribute__((section(".bss.mirc_kernel")))

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
/* The ring-0-only part of the image: X86_KERNEL objects, then the IST and kernel stacks. */
extern char _mirc_kernel_start[], _mirc_kernel_end[];

/* The ACPI RSDP's address from the start info (0: absent; then search the BIOS area). */
extern uint64_t x86_rsdp_paddr;

/* TSC at the PVH entry and just before mirc_rt_boot (for the boot benchmark). */
extern uint64_t x86_tsc_entry, x86_tsc_main;

/*
 * Maps `len` bytes of device memory at physical address `pa` (uncached,
 * read/write, no-exec, reachable from ring 3) into the live page tables and
 * returns its address (identity: == pa). For drivers that find BARs or MMIO
 * windows at run time. A range the gate refuses (empty, above 512 GiB,
 * overlapping page 0, the image or the page tables: x86_gate_check_map), or
 * that the table pool has no room for, stops the application with the
 * reason and status 255.
 */
void *x86_mmio_map(uint64_t pa, size_t len);
/*
 * The ring-0 half: maps the range, or returns why not (a static string)
 * without mapping anything. Only the gate calls it.
 */
const char *x86_mmio_map_ring0(uint64_t pa, size_t len);

/* Heap bounds for sbrk, set at boot from the memory map. */
void x86_heap_init(uintptr_t start, uintptr_t end);
size_t x86_heap_free(void);

/* RDSEED/RDRAND. Returns 0, or -1 when the CPU has neither or they keep failing. */
int x86_random(void *buf, size_t len);

/*
 * The TSC as a clock. The frequency comes from the target's paravirtual
 * clock when it has one (x86_target_tsc_hz), else CPUID 0x15 / 0x40000010,
 * else a PIT calibration (25 ms). Found once, on the first clock read.
 */
void x86_tsc_set_hz(uint64_t hz);
uint64_t x86_tsc_hz(void);
uint64_t x86_tsc_ns(void);           /* ns since the PVH entry */
uint64_t x86_tsc_at_ns(uint64_t ns); /* TSC value when x86_tsc_ns() reaches ns */

/*
 * Interrupts. No target code runs in ring 0: an interrupt on vector 32..255
 * sets the vector's bit in x86_irq_pending, then acknowledges it the way
 * x86_irq_set said, and the halt returns. The target reads the bits in ring
 * 3 (x86_irq_take). An acknowledgement writes only where ring 3 may write
 * itself, so ring 3 cannot turn it into a write to ring-0 memory.
 */
enum x86_irq_ack {
    X86_IRQ_NOTE,       /* nothing to acknowledge (a spurious vector, a timer we only note) */
    X86_IRQ_EOI_X2APIC, /* EOI through the x2APIC MSR */
    X86_IRQ_ZERO32,     /* write 32 zero bits to addr (an xAPIC's EOI register) */
    X86_IRQ_ZERO8,      /* write a zero byte to addr (Xen's evtchn_upcall_pending) */
    X86_IRQ_ACK_KINDS,
};
/* Sets how `vector` (32..255) is acknowledged; addr (user-writable) for the ZERO kinds. */
void x86_irq_set(int vector, enum x86_irq_ack ack, volatile void *addr);
/* Bit v % 64 of word v / 64 is set when vector v interrupted since x86_irq_take cleared it. */
extern volatile uint64_t x86_irq_pending[4];
/* Returns and clears the pending bits of vectors first..first+63 (first a multiple of 64 or not).
 */
uint64_t x86_irq_take(int first);

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

/*
 * Ring 0, for the gate's checks: whether every page of [va, va + len) is
 * present and user-accessible (and writable, if `write`) in the live page
 * tables. len 0 is accepted; a range that wraps is not.
 */
int x86_user_access(uint64_t va, uint64_t len, int write);
/* Ring 0: the attribute bits of va's page in the live tables (0: unmapped, or the boot tables). */
uint64_t x86_live_pte(uint64_t va);

/* Hooks every x86_64 target provides, called in this order by the boot code. */
/* In ring 3, after paging, IDT and SSE: the console must work when this returns. */
void x86_target_early(void);
/*
 * In ring 3, with the boot command line split into words (argv[argc] ==
 * NULL): returns the new argc after removing the words meant for the
 * platform (e.g. QEMU's virtio_mmio.device=...). Attach devices here.
 */
int x86_target_args(int argc, char **argv);
/*
 * Powers the machine off or resets it. From the trap path
 * (x86_on_trap_path(), after a fault in ring 0) it must read no memory that
 * ring 3 can write: fixed ports and constants only.
 */
_Noreturn void x86_target_halt(void);
/* Writes to a fixed console port, touching no memory but buf: for reports from ring 0. Any ring. */
void x86_target_raw_write(const char *buf, size_t len);
/* The TSC rate from the target's paravirtual clock (kvmclock, Xen's pvclock), or 0. Ring 3. */
uint64_t x86_target_tsc_hz(void);
/*
 * Gate operations X86_SYS_TARGET and up, in ring 0 (e.g. hypercalls). Checks
 * them first: sets *refused to the reason (a static string) and returns 0
 * for an operation it does not allow, unknown ones included.
 */
uint64_t x86_target_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c, const char **refused);

/* For the gate (trap.c): the ring-0 half of boot; the reason it refuses pml4, or NULL. */
const char *x86_boot_setup(uint64_t pml4, int avx);
void x86_trap_init_user(void);

#endif
