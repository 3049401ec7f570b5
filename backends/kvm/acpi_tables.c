/* backends/kvm/acpi_tables.c: the RSDP -> XSDT/RSDT -> FADT -> DSDT walk and the AML the image
 * reads, every value checked before use. */
#include "acpi.h"

#define HDR           36 /* the common table header */
#define RSDP_V1_LEN   20
#define RSDP_V2_LEN   36
#define RSDP_LEN_MAX  4096
#define FADT_DSDT     40
#define FADT_PM1A_CNT 64
#define FADT_FLAGS    112
#define FADT_X_DSDT   140
#define FADT_SLEEP    244 /* SLEEP_CONTROL_REG, a 12-byte Generic Address Structure */
#define GAS_LEN       12
#define MMIO_MIN      0x100 /* a virtio-mmio register block */

static const char RSDP_SIG[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };

/* memcmp and friends without libc: this runs in ring 0 on the fault path */
static int same(const uint8_t *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)s[i])
            return 0;
    return 1;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The peek, for ranges that do not wrap. */
static const uint8_t *get(struct kvm_acpi *a, uint64_t pa, size_t len)
{
    return pa + len < pa ? NULL : a->peek(a->ctx, pa, len);
}

/* Notes why a lookup failed; returns NULL for the caller to return. */
static const uint8_t *fail(struct kvm_acpi *a, const char *why, uint64_t pa, int bad)
{
    a->why = why;
    a->why_pa = pa;
    a->bad = bad;
    return NULL;
}

/* Whether p (with `avail` readable bytes) is a valid RSDP; notes why not. */
static int rsdp_ok(struct kvm_acpi *a, uint64_t pa, const uint8_t *p, size_t avail)
{
    const char *why = NULL;
    uint32_t len = 0;
    if (avail < RSDP_V1_LEN || !same(p, RSDP_SIG, 8))
        why = "no ACPI RSDP where the start info points";
    else if (sum(p, RSDP_V1_LEN) != 0)
        why = "the ACPI RSDP fails its checksum";
    else if (p[15] < 2)
        return 1;
    else if ((len = avail >= RSDP_V2_LEN ? le32(p + 20) : 0) < RSDP_V2_LEN || len > RSDP_LEN_MAX)
        why = "the ACPI RSDP (revision 2) has a bad length";
    else if (!(p = get(a, pa, len)) || sum(p, len) != 0)
        why = "the ACPI RSDP fails its extended checksum";
    if (!why)
        return 1;
    fail(a, why, pa, 1);
    return 0;
}

uint64_t kvm_acpi_rsdp(struct kvm_acpi *a, uint64_t hint)
{
    a->why = NULL;
    if (hint) {
        const uint8_t *p = get(a, hint, RSDP_V2_LEN);
        size_t avail = RSDP_V2_LEN;
        if (!p) { /* a revision 0 RSDP may end 16 bytes earlier */
            p = get(a, hint, RSDP_V1_LEN);
            avail = RSDP_V1_LEN;
        }
        if (!p) {
            fail(a, "the ACPI RSDP pointer leads to memory that cannot be read", hint, 1);
            return 0;
        }
        return rsdp_ok(a, hint, p, avail) ? hint : 0;
    }
    const uint8_t *bios = get(a, KVM_ACPI_BIOS_LO, KVM_ACPI_BIOS_HI - KVM_ACPI_BIOS_LO);
    for (uint32_t off = 0; bios && off + RSDP_V2_LEN <= KVM_ACPI_BIOS_HI - KVM_ACPI_BIOS_LO;
         off += 16) {
        if (same(bios + off, RSDP_SIG, 8) &&
            rsdp_ok(a, KVM_ACPI_BIOS_LO + off, bios + off, RSDP_V2_LEN))
            return KVM_ACPI_BIOS_LO + off;
    }
    fail(a, "no ACPI RSDP", 0, 0);
    return 0;
}

const uint8_t *kvm_acpi_table(struct kvm_acpi *a, uint64_t pa, const char *sig, uint32_t *len)
{
    if (pa == 0)
        return fail(a, "an ACPI table pointer is zero", pa, 1);
    const uint8_t *h = get(a, pa, HDR);
    if (!h)
        return fail(a, "an ACPI table pointer leads to memory that cannot be read", pa, 1);
    if (!same(h, sig, 4))
        return fail(a, "an ACPI table pointer leads to a table of another kind", pa, 1);
    uint32_t l = le32(h + 4);
    if (l < HDR || l > KVM_ACPI_TABLE_MAX)
        return fail(a, "an ACPI table's length is below 36 bytes or above 1 MiB", pa, 1);
    const uint8_t *t = get(a, pa, l);
    if (!t)
        return fail(a, "an ACPI table runs into memory that cannot be read", pa, 1);
    if (sum(t, l) != 0)
        return fail(a, "an ACPI table fails its checksum", pa, 1);
    *len = l;
    return t;
}

const uint8_t *kvm_acpi_find(struct kvm_acpi *a, uint64_t rsdp, const char *sig, uint32_t *len)
{
    const uint8_t *r = get(a, rsdp, RSDP_V1_LEN);
    if (!r)
        return fail(a, "the ACPI RSDP cannot be read", rsdp, 1);
    uint64_t xsdt = 0;
    if (r[15] >= 2) {
        const uint8_t *r2 = get(a, rsdp, RSDP_V2_LEN);
        xsdt = r2 ? le64(r2 + 24) : 0;
    }
    uint32_t rl;
    const uint8_t *root =
        xsdt ? kvm_acpi_table(a, xsdt, "XSDT", &rl) : kvm_acpi_table(a, le32(r + 16), "RSDT", &rl);
    if (!root)
        return 0;
    size_t width = xsdt ? 8 : 4, n = (rl - HDR) / width;
    if (n > KVM_ACPI_ROOT_MAX)
        n = KVM_ACPI_ROOT_MAX;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = root + HDR + i * width;
        uint64_t pa = width == 8 ? le64(e) : le32(e);
        const uint8_t *h = pa ? get(a, pa, HDR) : 0;
        if (h && same(h, sig, 4)) /* only the table asked for is checked in full */
            return kvm_acpi_table(a, pa, sig, len);
    }
    return fail(a, "the ACPI root table lists no such table", xsdt ? xsdt : le32(r + 16), 0);
}

void kvm_acpi_fadt_parse(const uint8_t *f, uint32_t len, struct kvm_acpi_fadt *out)
{
    *out = (struct kvm_acpi_fadt){ 0 };
    if (len >= FADT_X_DSDT + 8)
        out->dsdt = le64(f + FADT_X_DSDT);
    if (!out->dsdt && len >= FADT_DSDT + 4)
        out->dsdt = le32(f + FADT_DSDT);
    if (len >= FADT_PM1A_CNT + 4)
        out->pm1a_cnt = le32(f + FADT_PM1A_CNT);
    if (len >= FADT_FLAGS + 4)
        out->flags = le32(f + FADT_FLAGS);
    if (len >= FADT_SLEEP + GAS_LEN) {
        out->has_sleep_ctl = 1;
        out->sleep_space = f[FADT_SLEEP];
        out->sleep_addr = le64(f + FADT_SLEEP + 4);
    }
}

const uint8_t *kvm_acpi_dsdt(struct kvm_acpi *a, uint64_t hint, struct kvm_acpi_fadt *fadt,
                             uint32_t *len)
{
    *fadt = (struct kvm_acpi_fadt){ 0 };
    uint64_t rsdp = kvm_acpi_rsdp(a, hint);
    if (!rsdp)
        return 0;
    uint32_t fl;
    const uint8_t *f = kvm_acpi_find(a, rsdp, "FACP", &fl);
    if (!f)
        return 0;
    kvm_acpi_fadt_parse(f, fl, fadt);
    if (!fadt->dsdt)
        return fail(a, "the ACPI FADT names no DSDT", rsdp, 1);
    return kvm_acpi_table(a, fadt->dsdt, "DSDT", len);
}

int kvm_acpi_s5_type(const uint8_t *dsdt, size_t len)
{
    if (len < HDR)
        return -1;
    const uint8_t *end = dsdt + len;
    for (const uint8_t *p = dsdt + HDR; end - p > 8; p++) {
        if (!same(p, "_S5_", 4) || p[4] != 0x12) /* PackageOp */
            continue;
        const uint8_t *q = p + 5;
        q += ((*q >> 6) & 3) + 1; /* PkgLength: lead byte + 0..3 more */
        q++;                      /* NumElements */
        if (q >= end)
            return -1;
        if (*q == 0x0a && end - q > 1) /* BytePrefix */
            return q[1] <= 7 ? q[1] : -1;
        if (*q == 0x00 || *q == 0x01) /* ZeroOp, OneOp */
            return *q;
        return -1;
    }
    return -1;
}

/*
 * The resource descriptors of the device whose _HID string starts at h:
 * Memory32Fixed (0x86, length 9, then read/write, base, size) and an
 * Extended Interrupt (0x89, length >= 6, flags, count >= 1, first IRQ).
 * Returns 0 when both are found before the next LNRO0005.
 */
static int crs_of(const uint8_t *h, const uint8_t *end, struct kvm_acpi_mmio *m)
{
    static const char hid[] = "LNRO0005";
    int have_mem = 0;
    for (const uint8_t *p = h + sizeof hid; end - p >= 9; p++) {
        if (same(p, hid, sizeof hid))
            return -1;
        if (!have_mem && end - p >= 12 && p[0] == 0x86 && p[1] == 0x09 && p[2] == 0x00) {
            m->base = le32(p + 4);
            m->size = le32(p + 8);
            have_mem = 1;
            p += 11;
        } else if (have_mem && p[0] == 0x89 && (p[1] | p[2] << 8) >= 6 && p[4] >= 1) {
            uint32_t v = le32(p + 5);
            if (v >= KVM_ACPI_GSI_MAX)
                return -1;
            m->irq = (int)v;
            return 0;
        }
    }
    return -1;
}

unsigned kvm_acpi_virtio_mmio(const uint8_t *aml, size_t len,
                              void (*fn)(void *ctx, const struct kvm_acpi_mmio *m), void *ctx)
{
    static const char hid[] = "LNRO0005"; /* with its NUL, as an AML string */
    const uint8_t *end = aml + len;
    unsigned n = 0;
    for (const uint8_t *p = aml; (size_t)(end - p) >= sizeof hid + 1; p++) {
        if (p[0] != 0x0d || !same(p + 1, hid, sizeof hid)) /* StringPrefix */
            continue;
        struct kvm_acpi_mmio m = { 0, 0, 0 };
        if (crs_of(p + 1, end, &m) != 0 || m.base == 0 || m.size < MMIO_MIN) {
            fn(ctx, 0);
            continue;
        }
        fn(ctx, &m);
        n++;
    }
    return n;
}
