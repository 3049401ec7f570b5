/* backends/x86_64/trap.c: IDT, GDT and TSS, interrupt acknowledgement, the gate, fault reports. */

/*
 * Ring 0 runs no target code and follows no pointer ring 3 can write: an
 * interrupt is noted and acknowledged from a table in X86_KERNEL memory; a
 * gate operation is checked (gate.c) and done; a fault or a refused gate
 * operation in the application is handed back to the application's ring,
 * on a stack of its own, where report_main formats it, prints it and exits
 * with 255 through the target's ordinary console and exit. Only a fault on
 * the trap path itself (a bug in mirc) is printed from ring 0, on the
 * target's fixed debug port, before a reset.
 */
#include "trap.h"
#include "gate.h"
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
extern uint64_t x86_gdt[]; /* entry.S's, for the switch to long mode; copied to kgdt */

#define VEC_UD          6
#define IST_GATE        2
#define GDT_ENTRIES     7
#define MSR_X2APIC_EOI  0x80b
#define REPORT_STACK    16384
#define RFLAGS_RESERVED 0x2ull

/* What only ring 0 may read or write (X86_KERNEL: x86_64.ld maps it without the user bit). */
static struct idt_gate idt[VECTORS] X86_KERNEL __attribute__((aligned(16)));
static uint64_t kgdt[GDT_ENTRIES] X86_KERNEL __attribute__((aligned(16)));
static struct tss64 tss X86_KERNEL __attribute__((aligned(16)));
static struct {
    uint8_t ack;
    volatile void *addr;
} irq_ack[VECTORS] X86_KERNEL;
static int setup_done X86_KERNEL; /* X86_SYS_SETUP ran: the page tables are final */
static int reporting X86_KERNEL;  /* an application fault is being reported */
static int in_die X86_KERNEL;
static char die_buf[1024] X86_KERNEL;

/* What the application's ring reads: the pending vectors, and a report with its stack. */
volatile uint64_t x86_irq_pending[4];
volatile int x86_fault_reporting;
struct report {
    struct x86_fault fault;
    const char *refused; /* NULL: a CPU fault; else why the gate refused op(a, b, c) */
    uint64_t op, a, b, c;
};
static struct report report;
static uint8_t report_stack[REPORT_STACK] __attribute__((aligned(16)));

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

/* The rest of the IDT, written from ring 3 at native speed (on the boot tables, before SETUP). */
void x86_trap_init_user(void)
{
    for (int v = 0; v < 96; v++)
        if (v != VEC_UD)
            set_gate(v, x86_isr_stubs + 16 * v, v < 32 ? IST_EXCEPTIONS : 0, GATE_INTERRUPT);
    set_gate(255, x86_isr_stub255, 0, GATE_INTERRUPT);
}

/* In ring 0: the GDT and TSS, and an IDT with only the gate (#UD); x86_trap_init_user does the
 * rest. */
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
    for (int i = 0; i < GDT_ENTRIES; i++)
        kgdt[i] = x86_gdt[i];
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof tss - 1;
    kgdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
              ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    kgdt[4] = base >> 32;
    struct desc_ptr g = { sizeof kgdt - 1, (uint64_t)(uintptr_t)kgdt };
    __asm__ volatile("lgdt %0" : : "m"(g));
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));

    struct desc_ptr p = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

void x86_irq_set(int vector, enum x86_irq_ack ack, volatile void *addr)
{
    if (x86_cpl()) {
        x86_sys3(X86_SYS_IRQ, (uint64_t)vector, ack, (uint64_t)(uintptr_t)addr);
        return;
    }
    if (vector >= 32 && vector < VECTORS) {
        irq_ack[vector].ack = (uint8_t)ack;
        irq_ack[vector].addr = addr;
    }
}

uint64_t x86_irq_take(int first)
{
    uint64_t bits = 0;
    for (int i = 0; i < 64; i++) {
        int v = first + i;
        if (v >= VECTORS)
            break;
        volatile uint64_t *w = &x86_irq_pending[v / 64];
        uint64_t m = 1ull << (v % 64);
        if (*w & m) { /* interrupts are off outside the halt: no race */
            *w &= ~m;
            bits |= 1ull << i;
        }
    }
    return bits;
}

/* Ring 0: note the vector and acknowledge it; the target looks at the note in ring 3. */
static void irq(uint64_t v)
{
    x86_irq_pending[v / 64] |= 1ull << (v % 64);
    switch (irq_ack[v].ack) {
    case X86_IRQ_EOI_X2APIC:
        __asm__ volatile("wrmsr" : : "c"(MSR_X2APIC_EOI), "a"(0), "d"(0) : "memory");
        break;
    case X86_IRQ_ZERO32:
        *(volatile uint32_t *)irq_ack[v].addr = 0;
        break;
    case X86_IRQ_ZERO8:
        *(volatile uint8_t *)irq_ack[v].addr = 0;
        break;
    }
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

static void fill_fault(struct x86_fault *fa, const struct x86_frame *fr)
{
    *fa = (struct x86_fault){
        .vector = fr->vector,
        .error = fr->error,
        .rip = fr->rip,
        .rsp = fr->rsp,
        .rbp = fr->rbp,
        .rflags = fr->rflags,
        .cr2 = fr->vector == 14 ? x86_read_cr2() : 0,
        .cr2_pte = fr->vector == 14 ? x86_live_pte(x86_read_cr2()) : 0,
        .stack_guard = (uint64_t)(uintptr_t)_mirc_stack_guard,
        .stack_bottom = (uint64_t)(uintptr_t)_mirc_stack_bottom,
        .stack_top = (uint64_t)(uintptr_t)_mirc_stack_top,
        .text_start = (uint64_t)(uintptr_t)_mirc_image_start,
        .text_end = (uint64_t)(uintptr_t)_mirc_text_end,
        .rodata_end = (uint64_t)(uintptr_t)_mirc_rodata_end,
    };
}

/*
 * A fault on the trap path: a bug in mirc, or a second fault while one is
 * reported. Printed from ring 0 on the target's fixed port; then the
 * target's halt, which from here reads nothing ring 3 can write.
 */
static _Noreturn void die(const struct x86_frame *fr, const char *refused)
{
    if (in_die++)
        triple_fault();
    struct x86_fault f;
    fill_fault(&f, fr);
    f.trace[0] = fr->rip;
    f.ntrace = 1;
    size_t n = 0;
    if (refused) {
        static const char again[] = "mirc: the gate refused an operation while a fault was being "
                                    "reported: ";
        for (size_t i = 0; again[i] && n < sizeof die_buf; i++)
            die_buf[n++] = again[i];
        for (size_t i = 0; refused[i] && n < sizeof die_buf - 1; i++)
            die_buf[n++] = refused[i];
        die_buf[n++] = '\n';
    } else {
        static const char where[] = "mirc: a fault on the trap path (ring 0, or a second fault "
                                    "while reporting one):\n";
        for (size_t i = 0; where[i] && n < sizeof die_buf; i++)
            die_buf[n++] = where[i];
        n += x86_fault_format(die_buf + n, sizeof die_buf - n, &f);
    }
    x86_target_raw_write(die_buf, n < sizeof die_buf ? n : sizeof die_buf - 1);
    x86_target_halt();
}

/* In the application's ring, on report_stack: print what report describes and exit with 255. */
static _Noreturn void report_main(struct report *r)
{
    static char text[1024];
    x86_fault_reporting = 1;
    struct x86_fault *f = &r->fault;
    int frames = x86_backtrace(f->rbp, f->stack_bottom, f->stack_top, f->trace + 1, 7);
    size_t n;
    if (r->refused) {
        /* the rip is the gate's ud2: start the trace at the helper that called the gate */
        uint64_t ret = f->rsp >= f->stack_bottom && f->rsp + 8 <= f->stack_top
                           ? *(const uint64_t *)(uintptr_t)f->rsp
                           : f->rip;
        f->trace[0] = ret;
        f->ntrace = 1 + frames;
        n = x86_refusal_format(text, sizeof text, r->op, r->a, r->b, r->c, r->refused, f->trace,
                               f->ntrace);
    } else {
        f->trace[0] = f->rip;
        f->ntrace = 1 + frames;
        n = x86_fault_format(text, sizeof text, f);
    }
    mirc_plat_console_write(text, n);
    mirc_plat_exit(255);
}

/* Ring 0: make the iretq land in report_main, in the application's ring, on a stack of its own. */
static void hand_to_report(struct x86_frame *fr, const char *refused)
{
    if (reporting++)
        die(fr, refused);
    fill_fault(&report.fault, fr);
    report.refused = refused;
    report.op = fr->rax;
    report.a = fr->rdi;
    report.b = fr->rsi;
    report.c = fr->rdx;
    uint64_t *sp = (uint64_t *)(void *)(report_stack + REPORT_STACK) - 1;
    *sp = 0; /* a zero return address ends backtraces; rsp % 16 == 8 as after a call */
    fr->rsp = (uint64_t)(uintptr_t)sp;
    fr->rip = (uint64_t)(uintptr_t)report_main;
    fr->rdi = (uint64_t)(uintptr_t)&report;
    fr->rbp = 0;
    fr->rflags = RFLAGS_RESERVED; /* interrupts off, no trap flag */
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

static const char *setup(uint64_t pml4, uint64_t avx)
{
    if (setup_done)
        return "the page tables are loaded once, at boot (a second SETUP)";
    setup_done = 1;
    return x86_boot_setup(pml4, (int)avx);
}

/* The ring-3 gate (isr.S): a few privileged operations, each checked first (gate.c). */
static uint64_t x86_syscall(uint64_t op, uint64_t a, uint64_t b, uint64_t c, const char **why)
{
    uint64_t r = 0;
    switch (op) {
    case X86_SYS_HALT:
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        break;
    case X86_SYS_WRMSR:
        if (!(*why = x86_gate_check_msr(x86_user_access, a, 1, b)))
            x86_wrmsr((uint32_t)a, b);
        break;
    case X86_SYS_RDMSR:
        if (!(*why = x86_gate_check_msr(x86_user_access, a, 0, 0)))
            r = x86_rdmsr((uint32_t)a);
        break;
    case X86_SYS_MAP:
        *why = x86_mmio_map_ring0(a, (size_t)b);
        r = a;
        break;
    case X86_SYS_RESET:
        triple_fault();
    case X86_SYS_OUT:
        if (!(*why = x86_gate_check_io(b)))
            x86_out((uint16_t)a, (unsigned)b, (uint32_t)c);
        break;
    case X86_SYS_IN:
        if (!(*why = x86_gate_check_io(b)))
            r = x86_in((uint16_t)a, (unsigned)b);
        break;
    case X86_SYS_OUTSB:
        if (!(*why = x86_gate_check_buffer(x86_user_access, b, c)))
            x86_outsb((uint16_t)a, (const void *)(uintptr_t)b, (size_t)c);
        break;
    case X86_SYS_SETUP:
        *why = setup(a, b);
        break;
    case X86_SYS_HALT_FOREVER:
        for (;;)
            __asm__ volatile("cli; hlt" ::: "memory");
    case X86_SYS_IRQ:
        if (!(*why = x86_gate_check_irq(x86_user_access, a, b, c)))
            x86_irq_set((int)a, (enum x86_irq_ack)b, (volatile void *)(uintptr_t)c);
        break;
    default:
        if (op >= X86_SYS_TARGET)
            r = x86_target_syscall(op, a, b, c, why);
        else
            *why = "no such gate operation";
    }
    return r;
}

void x86_trap(struct x86_frame *f)
{
    int hint = x86_user_mode;
    x86_user_mode = 0;
    /* the application's context: its code's CS (ring 3), never memory it could have written */
    int app = MIRC_X86_APP_RING == 3 ? (f->cs & 3) == 3 : hint;
    if (f->vector >= 32) {
        irq(f->vector);
        x86_user_mode = hint;
        return;
    }
    if (!app)
        die(f, NULL);
    if (MIRC_X86_APP_RING == 3 && f->vector == VEC_UD &&
        f->rip == (uint64_t)(uintptr_t)x86_sys_gate_ud2) {
        const char *why = NULL;
        uint64_t r = x86_syscall(f->rax, f->rdi, f->rsi, f->rdx, &why);
        if (why) {
            hand_to_report(f, why);
        } else {
            f->rax = r;
            f->rip += 2;
        }
    } else {
        hand_to_report(f, NULL);
    }
    x86_user_mode = 1;
}
