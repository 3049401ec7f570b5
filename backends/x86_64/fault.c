/* backends/x86_64/fault.c: CPU fault reports and frame-pointer backtraces (no libc: faults may come
 * from it). */
#include "gate.h"
#include "paging.h"
#include "trap.h"

static const char *const names[32] = {
    "#DE (divide error)",
    "#DB (debug)",
    "NMI (non-maskable interrupt)",
    "#BP (breakpoint)",
    "#OF (overflow)",
    "#BR (bound range exceeded)",
    "#UD (invalid opcode)",
    "#NM (device not available)",
    "#DF (double fault)",
    "vector 9 (coprocessor segment overrun)",
    "#TS (invalid TSS)",
    "#NP (segment not present)",
    "#SS (stack-segment fault)",
    "#GP (general protection fault)",
    "#PF (page fault)",
    "vector 15 (reserved)",
    "#MF (x87 floating-point error)",
    "#AC (alignment check)",
    "#MC (machine check)",
    "#XM (SIMD floating-point exception)",
    "#VE (virtualization exception)",
    "#CP (control protection)",
};

const char *x86_vector_name(uint64_t vector)
{
    if (vector < 32 && names[vector])
        return names[vector];
    return vector < 32 ? "reserved exception" : "unexpected interrupt";
}

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *s)
{
    for (; *s; s++) {
        if (o->len + 1 < o->size)
            o->buf[o->len] = *s;
        o->len++;
    }
}

static void hex(struct out *o, uint64_t v)
{
    char tmp[19] = "0x";
    int n = 0;
    char digits[16];
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (int i = 0; i < n; i++)
        tmp[2 + i] = digits[n - 1 - i];
    tmp[2 + n] = '\0';
    put(o, tmp);
}

static void dec(struct out *o, uint64_t v)
{
    char tmp[21];
    int i = 20;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i);
}

static void trace(struct out *o, const uint64_t *t, int n)
{
    if (n <= 0)
        return;
    put(o, "mirc:   backtrace:");
    for (int i = 0; i < n && i < 8; i++) {
        put(o, " ");
        hex(o, t[i]);
    }
    put(o, "\nmirc:   (addr2line -f -e <the unstripped image> ADDRESS names them)\n");
}

/* NUL-terminates (truncating if needed) and returns the length written. */
static size_t finish(struct out *o)
{
    if (o->size == 0)
        return 0;
    size_t n = o->len < o->size ? o->len : o->size - 1;
    o->buf[n] = '\0';
    return n;
}

/* What a page fault hit, from its address and the image layout. Where the address says
 * nothing (cr2 0 from a CPU or emulator that did not set it) the stack pointer can: rsp
 * inside the guard page means the stack overflowed, whatever the access was. */
static const char *pf_target(const struct x86_fault *f)
{
    uint64_t a = f->cr2;
    int rsp_in_guard = f->rsp >= f->stack_guard && f->rsp < f->stack_guard + 4096;
    if (a >= f->stack_guard && a < f->stack_guard + 4096)
        return " (stack overflow: the guard page below the stack)";
    if (a < 4096 && rsp_in_guard)
        return " (stack overflow: the guard page below the stack holds rsp; cr2 was not set)";
    if (a < 4096 && (f->error & 1))
        return " (cr2 was not set: the zero page is never mapped, so the address is unknown)";
    if (a < 4096)
        return " (NULL pointer dereference: the zero page is never mapped)";
    if (a >= f->text_start && a < f->text_end)
        return " (in .text, which is read-only)";
    if (a >= f->text_end && a < f->rodata_end)
        return " (in .rodata, which is read-only)";
    return "";
}

static void page_fault(struct out *o, const struct x86_fault *f)
{
    int present = f->error & 1, write = f->error & 2, fetch = f->error & 16;
    /* a user-mode access to a present page the tables keep for ring 0 (x86.h, X86_KERNEL) */
    int ring0_only = present && (f->error & 4) && f->cr2_pte && !(f->cr2_pte & X86_PTE_U);
    put(o, "mirc:   ");
    if (ring0_only) {
        put(o, fetch ? "execute of" : write ? "write to" : "read of");
        put(o, " a ring-0-only page at ");
        hex(o, f->cr2);
        put(o, " (the IDT, GDT, TSS, ring-0 stacks, gate state or page tables)\n");
        return;
    }
    if (f->error & 8)
        put(o, "reserved bit set in a page-table entry for ");
    else if (fetch)
        put(o, present ? "execute of a no-execute page at " : "execute at unmapped address ");
    else if (write)
        put(o, present ? "write to a read-only page at " : "write to unmapped address ");
    else
        put(o, "read of unmapped address ");
    hex(o, f->cr2);
    put(o, pf_target(f));
    put(o, "\n");
}

size_t x86_fault_format(char *buf, size_t size, const struct x86_fault *f)
{
    struct out o = { buf, size, 0 };

    put(&o, "mirc: CPU exception ");
    put(&o, x86_vector_name(f->vector));
    if (f->vector >= 32) {
        put(&o, " ");
        dec(&o, f->vector);
    }
    put(&o, " at rip ");
    hex(&o, f->rip);
    put(&o, ", error code ");
    hex(&o, f->error);
    put(&o, "\n");
    if (f->vector == 14)
        page_fault(&o, f);
    else if (f->vector == 8)
        put(&o, "mirc:   (a fault while handling a fault; often a stack overflow)\n");
    else if (f->vector == 7)
        put(&o, "mirc:   (FPU/SSE used before it was enabled)\n");
    put(&o, "mirc:   cr2 ");
    hex(&o, f->cr2);
    put(&o, " rsp ");
    hex(&o, f->rsp);
    put(&o, " rbp ");
    hex(&o, f->rbp);
    put(&o, " rflags ");
    hex(&o, f->rflags);
    put(&o, "\n");
    trace(&o, f->trace, f->ntrace);
    return finish(&o);
}

size_t x86_refusal_format(char *buf, size_t size, uint64_t op, uint64_t a, uint64_t b, uint64_t c,
                          const char *why, const uint64_t *t, int n)
{
    struct out o = { buf, size, 0 };
    char name[24];
    put(&o, "mirc: the gate refused ");
    put(&o, x86_gate_op_name(op, name));
    put(&o, "(");
    hex(&o, a);
    put(&o, ", ");
    hex(&o, b);
    put(&o, ", ");
    hex(&o, c);
    put(&o, "): ");
    put(&o, why);
    put(&o, "\n");
    trace(&o, t, n);
    return finish(&o);
}

size_t x86_format_trace(char *buf, size_t size, const uint64_t *t, int n)
{
    struct out o = { buf, size, 0 };
    trace(&o, t, n);
    return finish(&o);
}

int x86_backtrace(uint64_t rbp, uint64_t lo, uint64_t hi, uint64_t *out, int max)
{
    int n = 0;
    while (n < max && rbp >= lo && rbp % 8 == 0 && rbp <= hi - 16) {
        const uint64_t *rec = (const uint64_t *)(uintptr_t)rbp;
        uint64_t next = rec[0], ret = rec[1];
        if (ret == 0)
            break;
        out[n++] = ret;
        if (next <= rbp)
            break;
        rbp = next;
    }
    return n;
}
