/* backends/x86_64/trap.c: IDT and TSS setup, exception reports, interrupt dispatch. */
#include "trap.h"
#include "platform.h"
#include "x86.h"

#define VECTORS        256
#define GATE_INTERRUPT 0x8e /* present, ring 0, 64-bit interrupt gate */
#define SEL_CODE64     0x08
#define SEL_TSS        0x18
#define IST_EXCEPTIONS 1

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
};

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap;
};

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

extern char x86_isr_stubs[], x86_isr_stub255[], x86_sys_gate_ud2[];

#define VEC_UD   6
#define IST_GATE 2
extern uint64_t x86_gdt[];

static struct idt_gate idt[VECTORS] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static x86_irq_handler handlers[VECTORS];
static int in_fault;

static void set_gate(int v, void *stub, int ist, uint8_t type)
{
    uint64_t a = (uint64_t)(uintptr_t)stub;
    idt[v] = (struct idt_gate){
        .off_lo = (uint16_t)a,
        .sel = SEL_CODE64,
        .ist = (uint8_t)ist,
        .type = type,
        .off_mid = (uint16_t)(a >> 16),
        .off_hi = (uint32_t)(a >> 32),
    };
}

/* The rest of the IDT, written from ring 3 at native speed (the IDT is ordinary memory until then).
 */
void x86_trap_init_user(void)
{
    for (int v = 0; v < 96; v++)
        if (v != VEC_UD)
            set_gate(v, x86_isr_stubs + 16 * v, v < 32 ? IST_EXCEPTIONS : 0, GATE_INTERRUPT);
    set_gate(255, x86_isr_stub255, 0, GATE_INTERRUPT);
}

/* In ring 0: the TSS and an IDT with only the gate (#UD); x86_trap_init_user does the rest. */
void x86_trap_init(void)
{
    set_gate(VEC_UD, x86_isr_stubs + 16 * VEC_UD, IST_GATE, GATE_INTERRUPT);

    /*
     * Exceptions get their own stack (IST), so a stack overflow still
     * reports, and so does a fault inside the gate; the gate (#UD) and
     * interrupts use the ring-0 stack.
     */
    tss.ist[IST_EXCEPTIONS - 1] = (uint64_t)(uintptr_t)_mirc_ist_top;
    tss.ist[IST_GATE - 1] = (uint64_t)(uintptr_t)_mirc_kstack_top;
    tss.rsp[0] = (uint64_t)(uintptr_t)_mirc_kstack_top;
    tss.iomap = sizeof tss;
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof tss - 1;
    x86_gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
                 ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    x86_gdt[4] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));

    struct desc_ptr p = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

void x86_irq_set(int vector, x86_irq_handler h)
{
    if (vector >= 32 && vector < VECTORS)
        handlers[vector] = h;
}

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void x86_puts(const char *s)
{
    mirc_plat_console_write(s, slen(s));
}

_Noreturn void x86_abort(const char *why)
{
    x86_puts("mirc: ");
    x86_puts(why);
    x86_puts("\n");
    mirc_plat_exit(255);
}

static _Noreturn void triple_fault(void);

_Noreturn void x86_abort_at(const char *why, uint64_t caller)
{
    static char line[300];
    uint64_t trace[8];
    trace[0] = caller;
    int n = 1 + x86_backtrace((uint64_t)(uintptr_t)__builtin_frame_address(0),
                              (uint64_t)(uintptr_t)_mirc_stack_bottom,
                              (uint64_t)(uintptr_t)_mirc_stack_top, trace + 1, 7);
    x86_puts("mirc: ");
    x86_puts(why);
    x86_puts("\n");
    x86_format_trace(line, sizeof line, trace, n);
    x86_puts(line);
    mirc_plat_exit(255);
}

static _Noreturn void fault(struct x86_frame *fr)
{
    if (in_fault++) /* faulted while reporting: say nothing more */
        x86_target_halt();
    struct x86_fault f = {
        .vector = fr->vector,
        .error = fr->error,
        .rip = fr->rip,
        .rsp = fr->rsp,
        .rbp = fr->rbp,
        .rflags = fr->rflags,
        .cr2 = fr->vector == 14 ? x86_read_cr2() : 0,
        .stack_guard = (uint64_t)(uintptr_t)_mirc_stack_guard,
        .stack_bottom = (uint64_t)(uintptr_t)_mirc_stack_bottom,
        .stack_top = (uint64_t)(uintptr_t)_mirc_stack_top,
        .text_start = (uint64_t)(uintptr_t)_mirc_image_start,
        .text_end = (uint64_t)(uintptr_t)_mirc_text_end,
        .rodata_end = (uint64_t)(uintptr_t)_mirc_rodata_end,
    };
    f.trace[0] = fr->rip;
    f.ntrace = 1 + x86_backtrace(fr->rbp, f.stack_bottom, f.stack_top, f.trace + 1, 7);
    static char report[1024];
    size_t n = x86_fault_format(report, sizeof report, &f);
    mirc_plat_console_write(report, n);
    mirc_plat_exit(255);
}

_Noreturn void x86_reset(void)
{
    if (x86_cpl())
        x86_sys(X86_SYS_RESET, 0, 0);
    triple_fault();
}

static _Noreturn void triple_fault(void)
{
    struct desc_ptr none = { 0, 0 };
    __asm__ volatile("lidt %0; int3" : : "m"(none));
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* The ring-3 gate (isr.S): a few privileged operations for the application. */
static uint64_t x86_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t r = 0;
    switch (op) {
    case X86_SYS_HALT:
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        break;
    case X86_SYS_WRMSR:
        x86_wrmsr((uint32_t)a, b);
        break;
    case X86_SYS_RDMSR:
        r = x86_rdmsr((uint32_t)a);
        break;
    case X86_SYS_MAP:
        r = (uint64_t)(uintptr_t)x86_mmio_map(a, (size_t)b);
        break;
    case X86_SYS_RESET:
        triple_fault();
    case X86_SYS_OUT:
        x86_out((uint16_t)a, (unsigned)b, (uint32_t)c);
        break;
    case X86_SYS_IN:
        r = x86_in((uint16_t)a, (unsigned)b);
        break;
    case X86_SYS_OUTSB:
        x86_outsb((uint16_t)a, (const void *)(uintptr_t)b, (size_t)c);
        break;
    case X86_SYS_SETUP:
        x86_boot_setup(a, (int)b);
        break;
    case X86_SYS_HALT_FOREVER:
        for (;;)
            __asm__ volatile("cli; hlt" ::: "memory");
    default:
        r = op >= X86_SYS_TARGET ? x86_target_syscall(op, a, b, c) : (uint64_t)-1;
    }
    return r;
}

void x86_trap(struct x86_frame *f)
{
    int user = x86_user_mode;
    x86_user_mode = 0;
    if (f->vector == VEC_UD && user && f->rip == (uint64_t)(uintptr_t)x86_sys_gate_ud2) {
        f->rax = x86_syscall(f->rax, f->rdi, f->rsi, f->rdx);
        f->rip += 2;
        x86_user_mode = 1;
        return;
    }
    if (f->vector < 32)
        fault(f);
    if (handlers[f->vector])
        handlers[f->vector]((int)f->vector);
    /* otherwise spurious (255) or stray: nothing to acknowledge */
    x86_user_mode = user;
}
