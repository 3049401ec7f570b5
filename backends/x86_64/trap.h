/* backends/x86_64/trap.h: the interrupt frame, the IDT, and fault reports (formatting is pure). */
#ifndef MIRC_X86_TRAP_H
#define MIRC_X86_TRAP_H

#include <stddef.h>
#include <stdint.h>

/* What isr.S pushes, lowest address first; then the CPU's frame. */
struct x86_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Everything a fault report says; filled by the trap handler, formatted by x86_fault_format. */
struct x86_fault {
    uint64_t vector, error, rip, rsp, rbp, rflags, cr2;
    uint64_t cr2_pte; /* the attribute bits (X86_PTE_*) of cr2's page in the live tables, or 0 */
    uint64_t stack_guard, stack_bottom, stack_top; /* the boot stack and its guard page */
    uint64_t text_start, text_end, rodata_end;     /* image layout, to name what was hit */
    uint64_t trace[8];
    int ntrace;
};

/* "#PF (page fault)", or "vector 0x41" style text for unknown vectors. */
const char *x86_vector_name(uint64_t vector);

/*
 * Formats the report as "mirc: "-prefixed lines into buf (always
 * NUL-terminated when size > 0) and returns the length it wrote. Names the
 * exception, the error code, RIP, CR2 and, for page faults, what kind of
 * access hit what (NULL page, guard page, text, read-only data, unmapped).
 */
size_t x86_fault_format(char *buf, size_t size, const struct x86_fault *f);

/*
 * Formats the report of a refused gate operation: "mirc: the gate refused
 * NAME(a, b, c): WHY" and the backtrace lines; as x86_fault_format.
 */
size_t x86_refusal_format(char *buf, size_t size, uint64_t op, uint64_t a, uint64_t b, uint64_t c,
                          const char *why, const uint64_t *t, int n);

/* Formats "mirc:   backtrace: ADDR ..." and a hint line; as x86_fault_format. */
size_t x86_format_trace(char *buf, size_t size, const uint64_t *trace, int n);

/*
 * Follows the frame-pointer chain from rbp, reading only 16-byte records
 * that lie wholly inside [lo, hi) and move strictly upwards, and stores up
 * to max return addresses. Returns how many it stored.
 */
int x86_backtrace(uint64_t rbp, uint64_t lo, uint64_t hi, uint64_t *out, int max);

/* In ring 0: loads the GDT, the TSS and an IDT with the gate only; x86_trap_init_user (x86.h)
 * fills the rest. */
void x86_trap_init(void);

/* Called by isr.S for every vector. */
void x86_trap(struct x86_frame *f);

#endif
