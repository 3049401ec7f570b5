/* tests/conformance/kvm-faults: one fault, protection, gate refusal or FPU check per run, named by
 * argv[1]. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

static const char rodata_text[] = "read-only";
static unsigned char data_code[16] = { 0xc3 }; /* ret */
extern uintptr_t __stack_chk_guard;

static int do_nothing(void)
{
    return 1;
}

/* Runs through any stack (the limit is never reached); the volatile buffer keeps every frame. */
static volatile int recurse_limit = -1;
static __attribute__((noinline)) int recurse(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == recurse_limit)
        return 0;
    return recurse(n + 1) + pad[0];
}

/* Writes past a local array: -fstack-protector-strong puts a canary after it. */
static volatile size_t smash_len = 64;
static __attribute__((noinline)) void smash(const char *src)
{
    char buf[16];
    memcpy(buf, src, smash_len);
    printf("copied %s\n", buf);
}

static int fpu(void)
{
    volatile double x = 2.0, acc = 0;
    for (int i = 1; i <= 1000; i++)
        acc += 1.0 / ((double)i * i);
    double pi = sqrt(acc * 6);
    float f = (float)sqrt(x);
    /* a vector copy: 64 bytes through SSE registers */
    double a[8] __attribute__((aligned(16))) = { 1, 2, 3, 4, 5, 6, 7, 8 }, b[8];
    memcpy(b, a, sizeof a);
    printf("fpu %.4f %.3f %.1f %lld %zu\n", pi, (double)f, b[7], (long long)-1234567890123,
           sizeof b);
    return 0;
}

static int avx(void)
{
    uint32_t eax, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
    if (!(ecx & (1u << 28)) || !(ecx & (1u << 27))) {
        printf("avx unavailable\n");
        return 0;
    }
    double in[4] __attribute__((aligned(32))) = { 1, 2, 3, 4 }, out[4] __attribute__((aligned(32)));
    __asm__ volatile("vmovapd %1, %%ymm0\n\tvaddpd %%ymm0, %%ymm0, %%ymm1\n\tvmovapd %%ymm1, %0"
                     : "=m"(out)
                     : "m"(in)
                     : "xmm0", "xmm1");
    printf("avx %.0f %.0f %.0f %.0f\n", out[0], out[1], out[2], out[3]);
    return 0;
}

/*
 * The ring-3 gate (backends/x86_64/isr.S), called as hostile code would:
 * any operation, any arguments, bypassing the helpers that use it properly.
 */
enum {
    OP_WRMSR = 2,
    OP_RDMSR,
    OP_MAP,
    OP_IN = 7,
    OP_OUTSB,
    OP_SETUP,
    OP_IRQ = 11,
    OP_TARGET = 100
};
static uint64_t gate(uint64_t op, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t r = op;
    __asm__ volatile("call x86_sys_gate" : "+a"(r) : "D"(a), "S"(b), "d"(c) : "memory", "cc");
    return r;
}

/* sidt/sgdt work in ring 3 (no UMIP): the tables ring 0 depends on, found as an attacker would. */
struct __attribute__((packed)) table_reg {
    uint16_t limit;
    uint64_t base;
};
static uint64_t idt_base(void)
{
    struct table_reg r;
    __asm__ volatile("sidt %0" : "=m"(r));
    return r.base;
}
static uint64_t gdt_base(void)
{
    struct table_reg r;
    __asm__ volatile("sgdt %0" : "=m"(r));
    return r.base;
}

extern char x86_boot_pml4[];
extern volatile int x86_user_mode;

/* Xen's XENMEM_add_to_physmap argument (xen/memory.h), written out: apps see no Xen headers. */
struct add_to_physmap {
    uint16_t domid, size;
    uint32_t space;
    uint64_t idx, gpfn;
};
#define DOMID_SELF 0x7ff0

/* Each tries one thing the gate must refuse; on a build that allows it, it goes on to use it. */
static int gate_case(const char *what)
{
    uint64_t idt = idt_base();
    volatile uintptr_t addr;
    if (!strcmp(what, "gate-wrmsr")) {
        gate(OP_WRMSR, 0xc0000082, 0, 0); /* IA32_LSTAR: where SYSCALL would enter ring 0 */
    } else if (!strcmp(what, "gate-rdmsr")) {
        gate(OP_RDMSR, 0xc0000080, 0, 0); /* IA32_EFER */
    } else if (!strcmp(what, "gate-kvmclock")) {
        gate(OP_WRMSR, 0x4b564d01, idt | 1, 0); /* have KVM write the time into the IDT */
    } else if (!strcmp(what, "gate-apic-base")) {
        gate(OP_WRMSR, 0x1b, 0x100900, 0); /* move the local APIC over the image */
    } else if (!strcmp(what, "gate-map-text")) {
        addr = (uintptr_t)do_nothing & ~(uintptr_t)0xfff;
        gate(OP_MAP, addr, 4096, 0);
        *(volatile unsigned char *)(uintptr_t)do_nothing = 0xc3; /* .text, now writable? */
    } else if (!strcmp(what, "gate-map-zero")) {
        gate(OP_MAP, 0, 4096, 0);
        addr = 0;
        *(volatile int *)addr = 1;
    } else if (!strcmp(what, "gate-setup-again")) {
        gate(OP_SETUP, (uintptr_t)x86_boot_pml4, 0, 0); /* back to the RWX boot tables */
        *(volatile unsigned char *)(uintptr_t)do_nothing = 0xc3;
    } else if (!strcmp(what, "gate-outsb-idt")) {
        gate(OP_OUTSB, 0x3f8, idt, 16);
    } else if (!strcmp(what, "gate-outsb-null")) {
        gate(OP_OUTSB, 0x3f8, 0, 16);
    } else if (!strcmp(what, "gate-in-size")) {
        gate(OP_IN, 0x80, 3, 0);
    } else if (!strcmp(what, "gate-irq-idt")) {
        gate(OP_IRQ, 0x41, 3 /* X86_IRQ_ZERO8 */, idt);
    } else if (!strcmp(what, "gate-irq-vector")) {
        gate(OP_IRQ, 14, 0, 0);
    } else if (!strcmp(what, "gate-unknown")) {
        gate(57, 0, 0, 0);
    } else if (!strcmp(what, "gate-target")) {
        gate(OP_TARGET + 29, 0, 0, 0); /* Xen's sched_op: no such thing on kvm */
    } else if (!strcmp(what, "idt-write")) {
        *(volatile uint64_t *)(uintptr_t)(idt + 14 * 16) = 0;
    } else if (!strcmp(what, "gdt-write")) {
        *(volatile uint64_t *)(uintptr_t)(gdt_base() + 8) = 0;
    } else if (!strcmp(what, "xen-domctl")) {
        gate(OP_TARGET + 36, 0, 0, 0);
    } else if (!strcmp(what, "xen-physmap-idt")) {
        struct add_to_physmap x = { .domid = DOMID_SELF, .space = 0, .gpfn = idt >> 12 };
        gate(OP_TARGET + 12, 7 /* XENMEM_add_to_physmap */, (uintptr_t)&x, 0);
    } else if (!strcmp(what, "xen-evtchn-idt")) {
        gate(OP_TARGET + 32, 4 /* EVTCHNOP_send */, idt, 0);
    } else if (!strcmp(what, "xen-page-again")) {
        gate(OP_TARGET + 128, 0x40000000, 0, 0);
    } else if (!strcmp(what, "user-flag")) {
        /* ring 0 must tell the gate from the trap frame, not from this flag */
        x86_user_mode = 0;
        gate(OP_IN, 0x80, 1, 0);
        printf("the gate answered with x86_user_mode cleared\n");
        return 0;
    } else {
        return -1;
    }
    printf("survived %s: the gate did not refuse\n", what);
    return 1;
}

static int exhaust(void)
{
    size_t mb = 0;
    void *last = NULL;
    for (;;) {
        void **p = malloc(1 << 20);
        if (!p)
            break;
        *p = last; /* keep a chain to free it all */
        last = p;
        mb++;
    }
    printf("malloc returned NULL after %zu MB\n", mb);
    while (last) {
        void *next = *(void **)last;
        free(last);
        last = next;
    }
    void *again = malloc(1 << 20);
    printf("after freeing, malloc %s\n", again ? "works again" : "still fails");
    free(again);
    return mb > 0 && again ? 0 : 1;
}

int mirc_main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    volatile uintptr_t addr;

    if (!strcmp(what, "null-read")) {
        addr = 0;
        printf("read %d\n", *(volatile int *)addr);
    } else if (!strcmp(what, "null-write")) {
        addr = 0;
        *(volatile int *)addr = 1;
    } else if (!strcmp(what, "zero-page-write")) {
        addr = 0x800;
        *(volatile int *)addr = 1;
    } else if (!strcmp(what, "unmapped-write")) {
        addr = 0xdead0000000ull;
        *(volatile int *)addr = 1;
    } else if (!strcmp(what, "text-write")) {
        addr = (uintptr_t)do_nothing;
        *(volatile unsigned char *)addr = 0xc3;
    } else if (!strcmp(what, "rodata-write")) {
        addr = (uintptr_t)rodata_text;
        *(volatile char *)addr = 'X';
    } else if (!strcmp(what, "exec-data")) {
        addr = (uintptr_t)data_code;
        ((void (*)(void))addr)();
    } else if (!strcmp(what, "exec-stack")) {
        unsigned char code[16] = { 0xc3 };
        addr = (uintptr_t)code;
        ((void (*)(void))addr)();
    } else if (!strcmp(what, "exec-heap")) {
        unsigned char *code = malloc(64);
        code[0] = 0xc3;
        addr = (uintptr_t)code;
        ((void (*)(void))addr)();
    } else if (!strcmp(what, "stack-overflow")) {
        return recurse(0);
    } else if (!strcmp(what, "ssp")) {
        char src[64];
        memset(src, 'A', sizeof src - 1);
        src[sizeof src - 1] = '\0';
        smash(src);
    } else if (!strcmp(what, "canary")) {
        printf("canary %#lx\n", (unsigned long)__stack_chk_guard);
        return 0;
    } else if (!strcmp(what, "fpu")) {
        return fpu();
    } else if (!strcmp(what, "avx")) {
        return avx();
    } else if (!strcmp(what, "malloc-exhaustion")) {
        return exhaust();
    } else {
        int g = gate_case(what);
        if (g >= 0)
            return g;
        printf("usage: faults null-read|null-write|zero-page-write|unmapped-write|text-write|"
               "rodata-write|exec-data|exec-stack|exec-heap|stack-overflow|ssp|canary|fpu|avx|"
               "malloc-exhaustion|gate-*|idt-write|gdt-write|xen-*|user-flag\n");
        return 2;
    }
    printf("survived %s: the fault did not happen\n", what);
    return 1;
}
