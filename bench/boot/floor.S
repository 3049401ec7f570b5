/* bench/boot/floor.S: the floor of the boot benchmark, a PVH kernel that only exits. */

/*
 * Booted by the same QEMU command line as examples/hello, it writes status 0
 * to isa-debug-exit (as the kvm target encodes it: status + 1) from its
 * 32-bit entry, so its process time is QEMU's own start and stop.
 */
    .section .note.floor, "a", @note
    .balign 4
    .long 4, 4, 18              /* "Xen", 4-byte descriptor, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long floor_start

    .text
    .code32
    .globl floor_start
floor_start:
    mov $1, %eax
    out %eax, $0xf4
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
