/* tests/unit/x86_64/test_acpi.c: the ACPI walk on QEMU's real tables (fuzz/corpus/acpi), then on
 * the same tables made hostile one field at a time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_acpi.h"

/* A seed as records the tests can edit, then serialize again for fuzz_acpi_run. */
struct rec {
    uint64_t pa;
    uint32_t len;
    uint8_t data[16384];
};
static struct rec recs[FUZZ_ACPI_SEGS];
static unsigned nrecs;
static uint8_t wire[FUZZ_ACPI_SEGS * (12 + 16384)];

static void load_seed(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ACPI_SEEDS, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(wire, 1, sizeof wire, f);
    fclose(f);
    nrecs = 0;
    for (size_t o = 0; o + 12 <= n; nrecs++) {
        cr_assert_lt(nrecs, FUZZ_ACPI_SEGS);
        memcpy(&recs[nrecs].pa, wire + o, 8);
        memcpy(&recs[nrecs].len, wire + o + 8, 4);
        cr_assert_leq(recs[nrecs].len, sizeof recs[nrecs].data);
        memcpy(recs[nrecs].data, wire + o + 12, recs[nrecs].len);
        o += 12 + recs[nrecs].len;
    }
}

static struct fuzz_acpi_result run(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < nrecs; i++) {
        memcpy(wire + n, &recs[i].pa, 8);
        memcpy(wire + n + 8, &recs[i].len, 4);
        memcpy(wire + n + 12, recs[i].data, recs[i].len);
        n += 12 + recs[i].len;
    }
    struct fuzz_acpi_result r;
    fuzz_acpi_run(wire, n, &r);
    return r;
}

static struct rec *find(const char *sig)
{
    for (unsigned i = 0; i < nrecs; i++)
        if (memcmp(recs[i].data, sig, 4) == 0)
            return &recs[i];
    cr_assert_fail("no %s in the seed", sig);
    return NULL;
}

/* Makes a table's (or, for the RSDP, both) checksums right again after an edit. */
static void fix(struct rec *r)
{
    if (memcmp(r->data, "RSD PTR ", 8) == 0) {
        r->data[8] = 0;
        uint8_t s = 0;
        for (int i = 0; i < 20; i++)
            s = (uint8_t)(s + r->data[i]);
        r->data[8] = (uint8_t)-s;
        if (r->data[15] >= 2) {
            r->data[32] = 0, s = 0;
            for (int i = 0; i < 36; i++)
                s = (uint8_t)(s + r->data[i]);
            r->data[32] = (uint8_t)-s;
        }
        return;
    }
    r->data[9] = 0;
    uint8_t s = 0;
    for (uint32_t i = 0; i < r->len; i++)
        s = (uint8_t)(s + r->data[i]);
    r->data[9] = (uint8_t)-s;
}

static void set32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void set64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void refused(const char *what)
{
    struct fuzz_acpi_result r = run();
    cr_assert(!r.found, "the walk went on");
    cr_assert_not_null(r.why);
    cr_assert(r.bad, "%s: reported as absent, not malformed", r.why);
    cr_assert_not_null(strstr(r.why, what), "wanted '%s', got '%s'", what, r.why);
}

Test(acpi, qemu_pc_and_q35_power_off_through_pm1a)
{
    const char *seeds[] = { "qemu-pc", "qemu-q35" };
    for (int i = 0; i < 2; i++) {
        load_seed(seeds[i]);
        struct fuzz_acpi_result r = run();
        cr_assert(r.found, "%s: %s", seeds[i], r.why);
        cr_assert_eq(r.s5, 0, "%s: QEMU's _S5 is Package { 0, 0, 0, 0 }", seeds[i]);
        cr_assert_eq(r.fadt.pm1a_cnt, 0x604, "%s", seeds[i]);
        cr_assert_eq(r.fadt.flags & KVM_ACPI_FADT_HW_REDUCED, 0, "%s", seeds[i]);
        cr_assert_eq(r.windows + r.unusable, 0);
    }
}

Test(acpi, qemu_microvm_sleeps_through_its_register_and_lists_its_devices)
{
    load_seed("qemu-microvm");
    struct fuzz_acpi_result r = run();
    cr_assert(r.found, "%s", r.why);
    cr_assert(r.fadt.flags & KVM_ACPI_FADT_HW_REDUCED);
    cr_assert(r.fadt.has_sleep_ctl);
    cr_assert_eq(r.s5, 5, "microvm's _S5 is 5");
    load_seed("qemu-microvm-devices");
    r = run();
    cr_assert(r.found, "%s", r.why);
    cr_assert_eq(r.windows, 2, "a virtio-net and a virtio-blk transport");
    cr_assert_eq(r.unusable, 0);
    cr_assert_geq(r.first.base, 0xfeb00000u);
    cr_assert_eq(r.first.size, 0x200);
    cr_assert_lt(r.first.irq, KVM_ACPI_GSI_MAX);
}

Test(acpi, a_bad_rsdp_is_refused)
{
    load_seed("qemu-pc");
    recs[0].data[8] ^= 1;
    refused("RSDP fails its checksum");
    load_seed("qemu-pc");
    memcpy(recs[0].data, "RSD PTX ", 8);
    refused("no ACPI RSDP");
    load_seed("qemu-microvm"); /* revision 2 */
    set32(recs[0].data + 20, 5000);
    fix(&recs[0]);
    refused("bad length");
    load_seed("qemu-microvm");
    recs[0].data[32] ^= 0x55;
    refused("extended checksum");
    load_seed("qemu-microvm");
    recs[0].pa = 0xfffffffffffffff0ull; /* its 36 bytes would wrap */
    refused("cannot be read");
}

Test(acpi, table_pointers_lengths_and_checksums_are_checked)
{
    load_seed("qemu-pc");
    struct rec *f = find("FACP");
    set32(f->data + 40, 0x7fff0000); /* DSDT: nothing there */
    fix(f);
    refused("cannot be read");
    load_seed("qemu-pc");
    find("DSDT")->data[100] ^= 0xff;
    refused("checksum");
    load_seed("qemu-pc");
    struct rec *d = find("DSDT");
    set32(d->data + 4, 2u << 20); /* 2 MiB */
    refused("above 1 MiB");
    load_seed("qemu-pc");
    d = find("DSDT");
    set32(d->data + 4, d->len + 1); /* one byte past its record */
    fix(d);
    refused("runs into memory");
    load_seed("qemu-pc");
    d = find("DSDT");
    set32(d->data + 4, 35);
    refused("below 36");
    load_seed("qemu-pc");
    f = find("FACP");
    memcpy(find("DSDT")->data, "SSDT", 4); /* the FADT's DSDT is another kind of table */
    fix(find("SSDT"));
    refused("another kind");
    load_seed("qemu-pc");
    f = find("FACP");
    f->len = 40; /* too short to name a DSDT */
    set32(f->data + 4, 40);
    fix(f);
    refused("names no DSDT");
}

Test(acpi, a_root_table_is_walked_within_its_length_and_a_cap)
{
    load_seed("qemu-pc");
    struct rec *rsdt = find("RSDT");
    uint32_t n = (rsdt->len - 36) / 4;
    rsdt->len -= 4 * n; /* no entries at all */
    set32(rsdt->data + 4, rsdt->len);
    fix(rsdt);
    struct fuzz_acpi_result r = run();
    cr_assert(!r.found);
    cr_assert(!r.bad, "no FADT listed is absence, not malformation");
    /* a root table of 2000 entries pointing nowhere, the FADT last: past the cap */
    load_seed("qemu-pc");
    rsdt = find("RSDT");
    uint32_t facp;
    memcpy(&facp, rsdt->data + 36, 4);
    for (unsigned i = 0; i < 2000; i++)
        set32(rsdt->data + 36 + 4 * i, 0x12345000);
    set32(rsdt->data + 36 + 4 * 1999, (uint32_t)find("FACP")->pa);
    rsdt->len = 36 + 4 * 2000;
    set32(rsdt->data + 4, rsdt->len);
    fix(rsdt);
    r = run();
    cr_assert(!r.found, "the 2000th entry is beyond KVM_ACPI_ROOT_MAX");
    /* an XSDT entry with a 64-bit address that wraps */
    load_seed("qemu-microvm");
    struct rec *x = find("XSDT");
    set64(x->data + 36, 0xffffffffffffffe0ull);
    fix(x);
    r = run();
    cr_assert(!r.found);
}

Test(acpi, a_fadt_is_read_only_as_far_as_its_length_goes)
{
    uint8_t f[300];
    memset(f, 0xee, sizeof f);
    struct kvm_acpi_fadt out;
    kvm_acpi_fadt_parse(f, 44, &out);
    cr_assert_eq(out.dsdt, 0xeeeeeeee);
    cr_assert_eq(out.pm1a_cnt, 0, "PM1a is beyond 44 bytes");
    cr_assert_eq(out.flags, 0);
    cr_assert(!out.has_sleep_ctl);
    kvm_acpi_fadt_parse(f, 255, &out);
    cr_assert_eq(out.flags, 0xeeeeeeee);
    cr_assert_eq(out.dsdt, 0xeeeeeeeeeeeeeeeeull, "X_DSDT wins when present");
    cr_assert(!out.has_sleep_ctl, "one byte short of the sleep register");
    kvm_acpi_fadt_parse(f, 256, &out);
    cr_assert(out.has_sleep_ctl);
}

static void count(void *ctx, const struct kvm_acpi_mmio *m)
{
    unsigned *n = ctx;
    n[m ? 0 : 1]++;
    if (m)
        cr_assert(m->base && m->size >= 0x100 && m->irq >= 0 && m->irq < KVM_ACPI_GSI_MAX);
}

Test(acpi, aml_is_parsed_within_the_table_at_every_length)
{
    const char *seeds[] = { "qemu-pc", "qemu-microvm-devices" };
    for (int s = 0; s < 2; s++) {
        load_seed(seeds[s]);
        struct rec *d = find("DSDT");
        int full = kvm_acpi_s5_type(d->data, d->len);
        unsigned all[2] = { 0, 0 };
        kvm_acpi_virtio_mmio(d->data, d->len, count, all);
        cr_assert_geq(full, 0);
        for (uint32_t cut = 0; cut <= d->len; cut++) {
            /* a copy of exactly `cut` bytes: ASan (unit-asan) sees any read past it */
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, d->data, cut);
            int t = kvm_acpi_s5_type(p, cut);
            cr_assert(t == -1 || t == full, "%s cut at %u: %d", seeds[s], cut, t);
            unsigned n[2] = { 0, 0 };
            cr_assert_eq(kvm_acpi_virtio_mmio(p, cut, count, n), n[0]);
            cr_assert_leq(n[0], all[0], "%s cut at %u", seeds[s], cut);
            free(p);
        }
    }
}
