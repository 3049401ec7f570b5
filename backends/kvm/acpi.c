/* backends/kvm/acpi.c: power off through ACPI S5 (PM1a control, or the sleep register on microvm).
 */

/*
 * Only used when isa-debug-exit is absent (urunc and other runners) or for
 * an abort: finds the FADT through the RSDP, the S5 sleep type in the DSDT,
 * and writes it. The host powers off asynchronously, so the caller halts
 * afterwards rather than racing it with a reset. Nothing here allocates; tables are mapped on
 * demand since firmware may put them in reserved memory.
 */
#include <string.h>

#include "kvm.h"

struct __attribute__((packed)) rsdp {
    char sig[8];
    uint8_t csum;
    char oem[6];
    uint8_t rev;
    uint32_t rsdt;
    uint32_t len;
    uint64_t xsdt;
};

struct __attribute__((packed)) sdt {
    char sig[4];
    uint32_t len;
    uint8_t rev, csum;
    char oem[6], oem_table[8];
    uint32_t oem_rev, creator, creator_rev;
};

struct __attribute__((packed)) gas {
    uint8_t space, bit_width, bit_offset, access;
    uint64_t addr;
};

#define FADT_DSDT        40
#define FADT_PM1A_CNT    64
#define FADT_FLAGS       112
#define FADT_X_DSDT      140
#define FADT_SLEEP_CTL   244
#define FADT_HW_REDUCED  (1u << 20)
#define PM1_SLP_EN       (1u << 13)
#define SLEEP_CTL_SLP_EN (1u << 5)

/* memcmp without libc: a fault report may power off before libc is usable */
static int same(const void *a, const char *b, size_t n)
{
    const unsigned char *p = a;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)b[i])
            return 0;
    return 1;
}

static const void *map(uint64_t pa, size_t len)
{
    if (pa == 0 || pa + len < pa || pa + len > (1ull << 39))
        return NULL;
    return x86_mmio_map(pa, len);
}

static const struct sdt *table(uint64_t pa)
{
    const struct sdt *h = map(pa, sizeof *h);
    if (!h || h->len < sizeof *h || h->len > (1u << 20))
        return NULL;
    return map(pa, h->len);
}

static uint64_t find_rsdp(void)
{
    if (x86_rsdp_paddr)
        return x86_rsdp_paddr;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
        if (same(x86_phys_to_virt(a), "RSD PTR ", 8))
            return a;
    return 0;
}

static const struct sdt *find_fadt(void)
{
    const struct rsdp *r = map(find_rsdp(), sizeof(struct rsdp));
    if (!r || !same(r->sig, "RSD PTR ", 8))
        return NULL;
    int x = r->rev >= 2 && r->xsdt;
    const struct sdt *root = table(x ? r->xsdt : r->rsdt);
    if (!root)
        return NULL;
    size_t width = x ? 8 : 4, n = (root->len - sizeof *root) / width;
    const uint8_t *ents = (const uint8_t *)(root + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t pa = 0;
        for (size_t b = 0; b < width; b++)
            pa |= (uint64_t)ents[i * width + b] << (8 * b);
        const struct sdt *t = table(pa);
        if (t && same(t->sig, "FACP", 4))
            return t;
    }
    return NULL;
}

/* SLP_TYPa of \_S5: Name(_S5_, Package(){a, b, ...}) in the DSDT's AML. */
int kvm_acpi_s5_type(const uint8_t *dsdt, size_t len)
{
    const uint8_t *p = dsdt, *end = dsdt + len;
    if (len < sizeof(struct sdt))
        return -1;
    for (p += sizeof(struct sdt); p + 8 < end; p++) {
        if (!same(p, "_S5_", 4) || p[4] != 0x12) /* PackageOp */
            continue;
        const uint8_t *q = p + 5;
        q += ((*q >> 6) & 3) + 1; /* PkgLength: lead byte + 0..3 more */
        q++;                      /* NumElements */
        if (q >= end)
            return -1;
        if (*q == 0x0a && q + 1 < end) /* BytePrefix */
            return q[1];
        if (*q == 0x00 || *q == 0x01) /* ZeroOp, OneOp */
            return *q;
        return -1;
    }
    return -1;
}

int kvm_acpi_poweroff(void)
{
    const struct sdt *fadt = find_fadt();
    if (!fadt || fadt->len < FADT_FLAGS + 4)
        return 0;
    const uint8_t *f = (const uint8_t *)fadt;
    uint64_t dsdt_pa = 0;
    uint32_t flags;
    memcpy(&flags, f + FADT_FLAGS, 4);
    if (fadt->len >= FADT_X_DSDT + 8)
        memcpy(&dsdt_pa, f + FADT_X_DSDT, 8);
    if (!dsdt_pa)
        memcpy(&dsdt_pa, f + FADT_DSDT, 4);
    const struct sdt *dsdt = table(dsdt_pa);
    int typ = dsdt ? kvm_acpi_s5_type((const uint8_t *)dsdt, dsdt->len) : -1;
    if (typ < 0)
        return 0;
    if ((flags & FADT_HW_REDUCED) && fadt->len >= FADT_SLEEP_CTL + sizeof(struct gas)) {
        struct gas g;
        memcpy(&g, f + FADT_SLEEP_CTL, sizeof g);
        uint8_t v = (uint8_t)(((typ & 7) << 2) | SLEEP_CTL_SLP_EN);
        if (g.space == 1 && g.addr < 0x10000)
            x86_outb((uint16_t)g.addr, v);
        else if (g.space == 0 && g.addr)
            *(volatile uint8_t *)x86_mmio_map(g.addr, 1) = v;
        else
            return 0;
        return 1;
    }
    uint32_t pm1a;
    memcpy(&pm1a, f + FADT_PM1A_CNT, 4);
    if (!pm1a || pm1a >= 0x10000)
        return 0;
    x86_outw((uint16_t)pm1a, (uint16_t)(((typ & 7) << 10) | PM1_SLP_EN));
    return 1;
}
