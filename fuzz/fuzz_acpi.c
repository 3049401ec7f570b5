/* fuzz/fuzz_acpi.c: the libFuzzer target for the kvm image's ACPI walk
 * (backends/kvm/acpi_tables.c).
 */
#include "fuzz_acpi.h"

#include <stdlib.h>
#include <string.h>

static struct seg {
    uint64_t pa;
    uint8_t *buf;
    size_t len;
} segs[FUZZ_ACPI_SEGS];
static unsigned nsegs;

static const uint8_t *peek(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    for (unsigned i = 0; i < nsegs; i++) {
        const struct seg *s = &segs[i];
        if (pa >= s->pa && pa - s->pa <= s->len && len <= s->len - (pa - s->pa))
            return s->buf + (pa - s->pa);
    }
    return NULL;
}

static void window(void *ctx, const struct kvm_acpi_mmio *m)
{
    struct fuzz_acpi_result *r = ctx;
    if (!m) {
        r->unusable++;
        return;
    }
    if (r->windows++ == 0)
        r->first = *m;
}

static void load(const uint8_t *data, size_t size)
{
    nsegs = 0;
    while (size >= 12 && nsegs < FUZZ_ACPI_SEGS) {
        uint64_t pa = 0;
        uint32_t len = 0;
        for (int b = 7; b >= 0; b--)
            pa = pa << 8 | data[b];
        for (int b = 11; b >= 8; b--)
            len = len << 8 | data[b];
        data += 12, size -= 12;
        if (len > size)
            len = (uint32_t)size;
        struct seg *s = &segs[nsegs++];
        s->pa = pa;
        s->len = len;
        s->buf = malloc(len ? len : 1);
        if (!s->buf)
            abort();
        memcpy(s->buf, data, len);
        data += len, size -= len;
    }
}

void fuzz_acpi_run(const uint8_t *data, size_t size, struct fuzz_acpi_result *r)
{
    memset(r, 0, sizeof *r);
    r->s5 = -1;
    load(data, size);
    struct kvm_acpi a = { .peek = peek };
    uint32_t len;
    const uint8_t *dsdt = kvm_acpi_dsdt(&a, nsegs ? segs[0].pa : 0, &r->fadt, &len);
    r->why = a.why;
    r->bad = a.bad;
    if (dsdt) {
        r->found = 1;
        r->s5 = kvm_acpi_s5_type(dsdt, len);
        kvm_acpi_virtio_mmio(dsdt, len, window, r);
    }
    struct kvm_acpi scan = { .peek = peek }; /* no hint: the BIOS area, if a record covers it */
    struct kvm_acpi_fadt f;
    if (kvm_acpi_dsdt(&scan, 0, &f, &len) && len < 36)
        abort(); /* a DSDT shorter than its header got through */
    struct fuzz_acpi_result raw;
    for (unsigned i = 0; i < nsegs; i++) { /* AML the checksums would keep out of reach */
        (void)kvm_acpi_s5_type(segs[i].buf, segs[i].len);
        memset(&raw, 0, sizeof raw);
        kvm_acpi_virtio_mmio(segs[i].buf, segs[i].len, window, &raw);
    }
    for (unsigned i = 0; i < nsegs; i++)
        free(segs[i].buf);
    nsegs = 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_acpi_result r;
    fuzz_acpi_run(data, size, &r);
    if (r.found && (r.s5 > 7 || (r.windows && (r.first.irq < 0 || r.first.irq >= 48 ||
                                               r.first.size < 0x100 || !r.first.base))))
        abort(); /* the parsers promised otherwise */
    return 0;
}
#endif
