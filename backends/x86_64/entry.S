/* backends/x86_64/entry.S: the PVH entry (32-bit, paging off) to long mode and x86_boot(). */

/*
 * The loader (QEMU's -kernel, Xen) has placed the image at its link address,
 * zeroed .bss and jumps here in 32-bit protected mode with paging off and
 * %ebx = physical address of the start info. We identity-map the low
 * memory up to _mirc_boot_map_end (the image plus 32 MiB, see x86_64.ld)
 * with 2 MiB pages, read/write/execute and reachable from ring 3, where
 * boot.c builds the real (W^X) tables; enter long mode with NX and write
 * protection on; and call x86_boot() on the boot stack. No vector
 * instruction runs before SSE is enabled (X86_SYS_SETUP).
 */

#define PVH_NOTE_PHYS32_ENTRY 18
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define CR0_PG (1 << 31)
#define CR0_WP (1 << 16)
#define CR4_PAE (1 << 5)
#define SEL_CODE64 0x08
#define SEL_DATA 0x10

    .section .note.mirc.pvh, "a", @note
    .balign 4
    .long 4                     /* name size: "Xen\0" */
    .long 4                     /* descriptor size */
    .long PVH_NOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long x86_pvh_start32

    /* see x86_64.ld: makes a Linux shell refuse to run the image */
    .section .interp, "a", @progbits
    .asciz "/nonexistent/mirc-unikernel-image"

    .section .text.boot, "ax", @progbits
    .code32
    .globl x86_pvh_start32
    .type x86_pvh_start32, @function
x86_pvh_start32:
    cld
    mov %ebx, %esi              /* start info: survives until x86_boot(%rdi) */
    rdtsc
    mov %eax, x86_tsc_entry
    mov %edx, x86_tsc_entry + 4

    /* 2 MiB identity pages up to _mirc_boot_map_end; few, since ring 0 is slow to emulate */
    mov $x86_boot_pd, %edi
    mov $0x87, %eax             /* present | writable | user | 2 MiB */
    mov $_mirc_boot_pd_entries, %ecx
1:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b
    movl $(x86_boot_pd + 7), x86_boot_pdpt
    movl $(x86_boot_pdpt + 7), x86_boot_pml4

    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $x86_boot_pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $(EFER_LME | EFER_NXE), %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_WP), %eax
    mov %eax, %cr0

    lgdt x86_gdt_ptr
    ljmp $SEL_CODE64, $x86_start64

    .code64
x86_start64:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $_mirc_stack_top, %rsp
    xor %ebp, %ebp              /* ends the frame-pointer chain for backtraces */
    mov %esi, %edi
    call x86_boot
2:  cli
    hlt
    jmp 2b
    .size x86_pvh_start32, . - x86_pvh_start32

    .data
    .balign 16
    .globl x86_gdt
x86_gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code, ring 0 */
    .quad 0x00cf92000000ffff    /* 0x10: data, ring 0 */
    .quad 0, 0                  /* 0x18: 64-bit TSS, filled by x86_trap_init */
    .quad 0x00cff2000000ffff    /* 0x28: data, ring 3 (selector 0x2b) */
    .quad 0x00affa000000ffff    /* 0x30: 64-bit code, ring 3 (selector 0x33) */
x86_gdt_end:
    .globl x86_gdt_ptr
x86_gdt_ptr:
    .word x86_gdt_end - x86_gdt - 1
    .quad x86_gdt

    .section .bss.x86_boot_pt, "aw", @nobits
    .balign 4096
    .globl x86_boot_pml4
x86_boot_pml4: .skip 4096
x86_boot_pdpt: .skip 4096
x86_boot_pd: .skip 4096

    .section .note.GNU-stack, "", @progbits
