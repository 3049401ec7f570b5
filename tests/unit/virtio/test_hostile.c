/* tests/unit/virtio/test_hostile.c: device models that lie (short capabilities, notify offsets out
 * of range, BARs over RAM, short config spaces): each is refused with one line, nothing is written
 * where it points. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"
#include "sim.h"

TestSuite(hostile, .init = sim_reset, .fini = sim_fini);

static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 2, 0xa };

static void set32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint16_t command(const struct sim_dev *d)
{
    return (uint16_t)(d->pcfg[4] | d->pcfg[5] << 8);
}

/* The NIC is refused at discovery: not found, one line saying why, its decoding left off. */
static void refused_at_attach(struct sim_dev *d, const char *why)
{
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_NOT_FOUND, "%s", sim.log);
    cr_assert_not_null(strstr(sim.log, "virtio-pci 00:03.0: "), "%s", sim.log);
    cr_assert_not_null(strstr(sim.log, why), "wanted '%s' in:\n%s", why, sim.log);
    cr_assert_not_null(strstr(sim.log, "; ignoring the device\n"), "%s", sim.log);
    cr_assert_eq(command(d) & 0x7, 0, "memory, I/O decoding and bus mastering stay off");
}

/* The NIC is found, but opening it fails with one line saying why. */
static void refused_at_open(const char *why)
{
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_IO, "%s", sim.log);
    cr_assert_not_null(strstr(sim.log, why), "wanted '%s' in:\n%s", why, sim.log);
}

static struct sim_dev *modern_nic(void)
{
    sim.pci = 1;
    return sim_pci_net(3, 1, 0, mac);
}

Test(hostile, a_common_config_capability_too_short_for_its_registers)
{
    struct sim_dev *d = modern_nic();
    set32(d->pcfg + SIM_CAP_COMMON + 12, 0x30); /* queue_used (0x30..0x37) would be outside */
    refused_at_attach(d, "common config capability covers 48 bytes, fewer than 56");
}

Test(hostile, a_capability_structure_shorter_than_its_fields)
{
    struct sim_dev *d = modern_nic();
    d->pcfg[SIM_CAP_NOTIFY + 2] = 16; /* cap_len: no room for notify_off_multiplier */
    refused_at_attach(d, "notify capability at 0x80 is 16 bytes, shorter than 20");
}

Test(hostile, an_empty_isr_and_a_misaligned_common_config)
{
    struct sim_dev *d = modern_nic();
    set32(d->pcfg + SIM_CAP_ISR + 12, 0);
    refused_at_attach(d, "ISR capability covers 0 bytes, fewer than 1");
    sim_fini();
    sim_reset();
    d = modern_nic();
    set32(d->pcfg + SIM_CAP_COMMON + 8, 0x2);
    refused_at_attach(d, "common config capability's offset 0x2 is not 4-byte aligned");
}

Test(hostile, a_capability_reaching_past_its_bar)
{
    struct sim_dev *d = modern_nic();
    set32(d->pcfg + SIM_CAP_DEVICE + 8, 0x3ff0); /* 0x40 bytes from there: past 0x4000 */
    refused_at_attach(d, "device config capability (0x40 bytes at 0x3ff0) reaches past BAR 4");
    sim_fini();
    sim_reset();
    d = modern_nic();
    set32(d->pcfg + SIM_CAP_NOTIFY + 8, 0xfffffff0u); /* offset + length wraps 32 bits */
    refused_at_attach(d, "reaches past BAR 4");
}

Test(hostile, a_notify_offset_beyond_the_notify_region, .timeout = 10)
{
    struct sim_dev *d = modern_nic();
    d->notify_off_set = 1;
    d->notify_off = 0x400; /* x 4 = 0x1000: the first byte after the 4 KiB region */
    refused_at_open("notify offset 1024 x multiplier 4 is not a 2-byte slot of its 4096-byte");
    cr_assert_eq(d->q[0].ready, 0, "the queue was never enabled");
}

Test(hostile, a_notify_multiplier_that_overflows_or_misaligns, .timeout = 10)
{
    struct sim_dev *d = modern_nic();
    d->notify_off_set = 1;
    d->notify_off = 0xffff;
    set32(d->pcfg + SIM_CAP_NOTIFY + 16, 0x80000000u); /* 0xffff << 31 does not fit 32 bits */
    refused_at_open("notify offset 65535 x multiplier 2147483648");
    sim_fini();
    sim_reset();
    d = modern_nic();
    d->notify_off_set = 1;
    d->notify_off = 1;
    set32(d->pcfg + SIM_CAP_NOTIFY + 16, 3); /* an odd address for a 16-bit write */
    refused_at_open("notify offset 1 x multiplier 3");
}

/* A firmware-assigned 64-bit BAR4 at addr. */
static void bar4_at(struct sim_dev *d, uint64_t addr)
{
    set32(d->pcfg + 0x20, (uint32_t)addr | 0xc);
    set32(d->pcfg + 0x24, (uint32_t)(addr >> 32));
    d->bar4 = addr;
}

Test(hostile, bars_over_ram_the_image_or_the_local_apic)
{
    static const struct {
        uint64_t at;
        const char *why;
    } cases[] = {
        { 0x200000, "BAR 4 at 0x200000 cannot be mapped: the window overlaps RAM" },
        { 0x100000, "BAR 4 at 0x100000 cannot be mapped: the window overlaps the image" },
        { 0xc0000, "the window overlaps the first MiB" },
        { 0xfee00000, "BAR 4 at 0xfee00000 overlaps the IOAPIC, HPET or local APIC" },
        { 0x8000000000ull, "reaches past 512 GiB" },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (i) {
            sim_fini();
            sim_reset();
        }
        struct sim_dev *d = modern_nic();
        bar4_at(d, cases[i].at);
        refused_at_attach(d, cases[i].why);
    }
}

Test(hostile, bar_sizes_and_alignment)
{
    struct sim_dev *d = modern_nic();
    d->bar4_mask = 0xfff0f000u;
    refused_at_attach(d, "BAR 4 reports a size mask (0xfff0f000) that is not a power of two");
    sim_fini();
    sim_reset();
    d = modern_nic();
    d->bar4_mask = 0x0000000cu; /* reads back no size bits at all */
    refused_at_attach(d, "BAR 4 decodes no address");
    sim_fini();
    sim_reset();
    d = modern_nic();
    bar4_at(d, 0xfd002000u);
    refused_at_attach(d, "BAR 4 at 0xfd002000 is not aligned to its size 0x4000");
    sim_fini();
    sim_reset();
    d = modern_nic();
    bar4_at(d, 0xffffffffffffc000ull);
    refused_at_attach(d, "wraps past the end of the address space");
}

Test(hostile, a_legacy_io_bar_among_the_chipset_ports)
{
    sim.pci = 1;
    struct sim_dev *d = sim_pci_net(3, 0, 1, mac);
    set32(d->pcfg + 0x10, 0x3c0 | 1); /* over the serial port at 0x3f8 */
    d->bar0 = 0x3c0;
    refused_at_attach(d, "I/O BAR 0 at 0x3c0 lies outside ports 0x1000-0xffff");
}

Test(hostile, a_device_config_shorter_than_the_fields_read)
{
    struct sim_dev *d = modern_nic();
    set32(d->pcfg + SIM_CAP_DEVICE + 12, 4); /* the MAC is 6 bytes */
    refused_at_open("virtio-pci 00:03.0: its device config (4 bytes) has no 1-byte field at "
                    "offset 4; the device is out of service");
    cr_assert(d->status & VIRTIO_STATUS_FAILED);
}

Test(hostile, a_config_generation_that_never_settles, .timeout = 10)
{
    struct sim_dev *d = modern_nic();
    d->config_gen_spin = 1;
    refused_at_open("its config generation changed during each of 64 reads");
}

Test(hostile, an_mmio_window_over_ram_is_not_mapped)
{
    char *argv[] = { "mirc", "--", "virtio_mmio.device=512@0x200000:5", NULL };
    kvm_virtio_init(3, argv);
    cr_assert_eq(virtio_ndevs, 0);
    cr_assert_not_null(strstr(sim.log, "virtio-mmio@0x200000: its 512-byte window cannot be "
                                       "mapped: the window overlaps RAM"),
                       "%s", sim.log);
    cr_assert_eq(sim.exits, 0, "no register of it was read");
}

Test(hostile, an_acpi_declared_window_over_the_image_is_not_mapped)
{
    sim_dsdt_add(0);
    uint8_t *m = memmem(sim.dsdt, sim.dsdt_len, "\x86\x09\x00", 3); /* Memory32Fixed */
    cr_assert_not_null(m);
    set32(m + 4, 0x120000);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_NOT_FOUND);
    cr_assert_not_null(strstr(sim.log,
                              "virtio-mmio@0x120000: its 512-byte window cannot be mapped: "
                              "the window overlaps the image"),
                       "%s", sim.log);
}

Test(hostile, an_mmio_window_too_small_for_a_mac)
{
    sim_mmio_net(0, 1, mac, 0);
    char word[64];
    snprintf(word, sizeof word, "virtio_mmio.device=260@0x%x:24", SIM_MMIO_BASE);
    char *argv[] = { "mirc", "--", word, NULL };
    kvm_virtio_init(3, argv);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_IO, "%s", sim.log);
    cr_assert_not_null(strstr(sim.log, "its device config (4 bytes) has no 1-byte field"), "%s",
                       sim.log);
}
