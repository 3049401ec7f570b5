/* backends/x86_64/entropy.c: random bytes from RDSEED (preferred, for seeding) or RDRAND. */
#include <string.h>

#include "x86.h"

#define RETRIES 100

static int rdseed64(uint64_t *v)
{
    unsigned char ok;
    for (int i = 0; i < RETRIES; i++) {
        __asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
        if (ok)
            return 0;
        __asm__ volatile("pause");
    }
    return -1;
}

static int rdrand64(uint64_t *v)
{
    unsigned char ok;
    for (int i = 0; i < RETRIES; i++) {
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
        if (ok)
            return 0;
    }
    return -1;
}

int x86_random(void *buf, size_t len)
{
    int has_rdrand = x86_cpu.leaf1_ecx & X86_CPUID1_ECX_RDRAND;
    int has_rdseed = 0;
    if (len > 8) { /* one word (the canary at boot) does not pay for the leaf-7 probe */
        x86_cpu_probe_more();
        has_rdseed = x86_cpu.leaf7_ebx & X86_CPUID7_EBX_RDSEED;
    }
    if (!has_rdrand && !has_rdseed)
        return -1;
    unsigned char *p = buf;
    while (len > 0) {
        uint64_t v;
        /* RDSEED runs dry quickly under load; RDRAND is reseeded from it by the CPU */
        if (!(has_rdseed && rdseed64(&v) == 0) && !(has_rdrand && rdrand64(&v) == 0))
            return -1;
        size_t n = len < sizeof v ? len : sizeof v;
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
    return 0;
}
