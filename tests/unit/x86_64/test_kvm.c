/* tests/unit/x86_64/test_kvm.c: the kvm target's pure pieces: QEMU's command-line words, ACPI S5.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "acpi.h"
#include "kvm.h"

static int strip(char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return kvm_strip_platform_words(argc, argv);
}

Test(kvm_cmdline, trailing_virtio_mmio_words_go)
{
    char *argv[] = { "mirc",
                     "--",
                     "a",
                     "virtio_mmio.device=512@0xfeb00e00:12",
                     "virtio_mmio.device=512@0xfeb00c00:11",
                     NULL };
    cr_assert_eq(strip(argv), 3);
    cr_assert_null(argv[3]);
    cr_assert_str_eq(argv[2], "a");
}

Test(kvm_cmdline, an_app_argument_of_that_form_in_the_middle_stays)
{
    char *argv[] = { "mirc", "--", "virtio_mmio.device=x", "last", NULL };
    cr_assert_eq(strip(argv), 4);
    cr_assert_str_eq(argv[2], "virtio_mmio.device=x");
}

Test(kvm_cmdline, nothing_to_strip_and_only_words)
{
    char *argv[] = { "mirc", "--", "b c", NULL };
    cr_assert_eq(strip(argv), 3);
    char *only[] = { "mirc", "virtio_mmio.device=1@2:3", NULL };
    cr_assert_eq(strip(only), 1);
    char *none[] = { "mirc", NULL };
    cr_assert_eq(strip(none), 1);
}

/* A DSDT: a 36-byte header, then AML. */
static size_t dsdt(uint8_t *buf, const uint8_t *aml, size_t n)
{
    memset(buf, 0, 36);
    memcpy(buf, "DSDT", 4);
    memcpy(buf + 36, aml, n);
    return 36 + n;
}

Test(kvm_acpi, s5_package_with_zero_ops)
{
    /* Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero }), as QEMU's pc DSDT has it */
    const uint8_t aml[] = { 0x10, 0x08, 0x08, '_',  'S',  '5',  '_',
                            0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
    uint8_t buf[128];
    cr_assert_eq(kvm_acpi_s5_type(buf, dsdt(buf, aml, sizeof aml)), 0);
}

Test(kvm_acpi, s5_package_with_byte_prefix)
{
    const uint8_t aml[] = { 0x08, '\\', '_',  'S',  '5',  '_', 0x12, 0x07,
                            0x02, 0x0a, 0x05, 0x0a, 0x05, 0,   0 };
    uint8_t buf[128];
    cr_assert_eq(kvm_acpi_s5_type(buf, dsdt(buf, aml, sizeof aml)), 5);
}

Test(kvm_acpi, s5_with_a_two_byte_pkglength)
{
    const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x04, 0x01, 0, 0, 0, 0 };
    uint8_t buf[128];
    cr_assert_eq(kvm_acpi_s5_type(buf, dsdt(buf, aml, sizeof aml)), 1);
}

Test(kvm_acpi, missing_or_truncated_s5)
{
    uint8_t buf[128];
    const uint8_t none[] = { 0x08, '_', 'S', '4', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };
    cr_assert_eq(kvm_acpi_s5_type(buf, dsdt(buf, none, sizeof none)), -1);
    const uint8_t cut[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06 };
    cr_assert_eq(kvm_acpi_s5_type(buf, dsdt(buf, cut, sizeof cut)), -1);
    const uint8_t odd[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0b, 0x00, 0x10, 0, 0 };
    cr_assert_eq(kvm_acpi_s5_type(buf, dsdt(buf, odd, sizeof odd)), -1,
                 "WordPrefix is not a sleep type");
    cr_assert_eq(kvm_acpi_s5_type(buf, 20), -1, "shorter than a header");
}
