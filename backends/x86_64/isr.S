/* backends/x86_64/isr.S: interrupt and exception entry stubs; they all end in x86_trap(frame). */

/*
 * One 16-byte stub per vector 0..95 and 255 (x86_isr_stubs + 16 * n, or
 * x86_isr_stub255): it pushes a zero where the CPU pushes no error code,
 * then the vector number, then jumps to the common path, which saves every
 * general-purpose register in the order of struct x86_frame (trap.h).
 */

    .text
    .balign 16
    .globl x86_isr_stubs
x86_isr_stubs:
    vec = 0
    .rept 96
    .balign 16
    /* these vectors come with an error code from the CPU */
    .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
    .else
    pushq $0
    .endif
    pushq $vec
    jmp x86_isr_common
    vec = vec + 1
    .endr

    .balign 16
    .globl x86_isr_stub255
x86_isr_stub255:
    pushq $0
    pushq $255
    jmp x86_isr_common

x86_isr_common:
    cld
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    call x86_trap
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp               /* vector and error code */
    iretq

/*
 * The ring-3 gate (x86.h): a ud2 at this one address. The #UD handler
 * recognises it by its address, runs x86_syscall(rax, rdi, rsi, rdx) in
 * ring 0, stores the result in rax and resumes after the ud2. (The nested
 * KVM refuses `int` from ring 3, and SYSCALL lands in a supervisor mode
 * that faults on port I/O; exceptions reach the IDT as on real hardware.)
 */
    .globl x86_sys_gate
    .type x86_sys_gate, @function
x86_sys_gate:
    .globl x86_sys_gate_ud2
x86_sys_gate_ud2:
    ud2
    ret
    .size x86_sys_gate, . - x86_sys_gate

    .section .note.GNU-stack, "", @progbits
