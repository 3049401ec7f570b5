/* tests/unit/virtio/test_mmio.c: QEMU microvm's command-line words and virtio-mmio discovery. */
#include <criterion/criterion.h>
#include <string.h>

#include "mirc/mirc.h"
#include "sim.h"

TestSuite(mmio, .init = sim_reset, .fini = sim_fini);

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };

Test(mmio, parse_accepts_the_words_qemu_and_linux_write)
{
    uint64_t size, addr;
    int irq;
    cr_assert_eq(virtio_mmio_parse("virtio_mmio.device=512@0xfeb00e00:31", &size, &addr, &irq), 1);
    cr_assert_eq(size, 512);
    cr_assert_eq(addr, 0xfeb00e00u);
    cr_assert_eq(irq, 31);
    cr_assert_eq(virtio_mmio_parse("virtio_mmio.device=4K@0x10000000:5:3", &size, &addr, &irq), 1);
    cr_assert_eq(size, 4096);
    cr_assert_eq(addr, 0x10000000u);
    cr_assert_eq(irq, 5);
    cr_assert_eq(virtio_mmio_parse("virtio_mmio.device=1M@4096:7", &size, &addr, &irq), 1);
    cr_assert_eq(size, 1 << 20);
    cr_assert_eq(addr, 4096);
}

Test(mmio, parse_ignores_other_words)
{
    uint64_t size, addr;
    int irq;
    cr_assert_eq(virtio_mmio_parse("--ipv4=10.0.0.2/24", &size, &addr, &irq), 0);
    cr_assert_eq(virtio_mmio_parse("--", &size, &addr, &irq), 0);
    cr_assert_eq(virtio_mmio_parse("virtio_mmio.devic", &size, &addr, &irq), 0);
    cr_assert_eq(sim.log_len, 0, "no message for words that are not ours");
}

Test(mmio, parse_rejects_malformed_words_with_a_message)
{
    static const char *bad[] = {
        "virtio_mmio.device=",
        "virtio_mmio.device=512",
        "virtio_mmio.device=512@",
        "virtio_mmio.device=512@0xfeb00000",
        "virtio_mmio.device=512@0xfeb00000:",
        "virtio_mmio.device=512@0xfeb00000:48",
        "virtio_mmio.device=512@0xfeb00000:5x",
        "virtio_mmio.device=512@0:5",
        "virtio_mmio.device=16@0xfeb00000:5",
        "virtio_mmio.device=512Q@0xfeb00000:5",
        "virtio_mmio.device=-1@0xfeb00000:5",
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t size, addr;
        int irq;
        sim.log_len = 0;
        cr_assert_eq(virtio_mmio_parse(bad[i], &size, &addr, &irq), -1, "%s", bad[i]);
        cr_assert(strstr(sim.log, "ignoring"), "%s: no message", bad[i]);
    }
}

Test(mmio, devices_are_numbered_in_command_line_order)
{
    sim_mmio_net(5, 1, mac_a, 0);
    sim_mmio_blk(3, 1, 1 << 20, 0);
    sim_mmio_net(7, 1, mac_b, 0);
    sim_boot((const unsigned[]){ 7, 3, 5 }, 3);
    int h0, h1;
    mirc_net_info i0, i1;
    cr_assert_eq(mirc_plat_net_open("first", 0, &h0, &i0), MIRC_OK);
    cr_assert_eq(mirc_plat_net_open("second", 1, &h1, &i1), MIRC_OK);
    cr_assert_eq(memcmp(i0.mac, mac_b, 6), 0, "index 0 is the first word (window 7)");
    cr_assert_eq(memcmp(i1.mac, mac_a, 6), 0);
    cr_assert_eq(sim.gsis_enabled, (1ull << 31) | (1ull << 29), "each NIC's line is enabled");
}

Test(mmio, empty_windows_and_other_device_types_are_skipped)
{
    struct sim_dev *rng = sim_mmio_net(2, 1, mac_a, 0);
    rng->type = 4; /* virtio-rng: no driver here */
    sim_mmio_net(4, 1, mac_b, 0);
    sim_boot((const unsigned[]){ 1, 2, 4 }, 3); /* window 1 has no device */
    cr_assert_eq(virtio_ndevs, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    cr_assert_eq(memcmp(info.mac, mac_b, 6), 0);
    cr_assert_eq(mirc_plat_net_open("m", 1, &h, &info), MIRC_NOT_FOUND);
    cr_assert(strstr(sim.log, "net 'm': QEMU attached no virtio-net device #1"), "%s", sim.log);
}

Test(mmio, a_word_for_an_empty_transport_adds_nothing)
{
    /* QEMU answers on every transport: magic and version, device id 0 when empty */
    sim_boot((const unsigned[]){ 0 }, 1);
    cr_assert_eq(virtio_ndevs, 0);
    cr_assert_eq(sim.log_len, 0);
}

Test(mmio, legacy_version_1_devices_use_page_frame_numbers)
{
    struct sim_dev *d = sim_mmio_net(0, 0, mac_a, 0);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    cr_assert_eq(d->page_size, 4096);
    for (unsigned q = 0; q < 2; q++) {
        cr_assert(d->q[q].ready && d->q[q].pfn, "queue %u set up", q);
        cr_assert_eq(d->q[q].desc % 4096, 0);
    }
    cr_assert_eq(d->driver_features >> 32, 0, "legacy: 32 feature bits");
    cr_assert_eq(d->status & VIRTIO_STATUS_FEATURES_OK, 0, "legacy has no FEATURES_OK");
    cr_assert(d->status & VIRTIO_STATUS_DRIVER_OK);
    uint8_t frame[60] = { 1, 2, 3 };
    cr_assert_eq(mirc_plat_net_write(h, frame, sizeof frame), MIRC_OK);
    virtio_net_pending();
    cr_assert_eq(d->tx_total, 1);
    cr_assert_eq(d->tx[0].hdr_len, 10, "legacy header without MRG_RXBUF is 10 bytes");
    cr_assert_eq(sim_net_inject(d, frame, sizeof frame), 0);
    uint8_t got[1600];
    size_t len;
    cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, sizeof frame);
    cr_assert_eq(memcmp(got, frame, len), 0);
}

Test(mmio, command_line_devices_mean_no_pci_scan)
{
    sim.pci = 1;
    sim_pci_net(3, 1, 0, mac_b);
    sim_mmio_net(0, 1, mac_a, 0);
    sim_boot((const unsigned[]){ 0 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    cr_assert_eq(mirc_plat_net_open("m", 1, &h, &info), MIRC_NOT_FOUND);
    cr_assert_eq(sim.pci_slots_probed, 0);
}

Test(mmio, interrupt_acknowledge_lowers_the_line)
{
    struct sim_dev *d = sim_mmio_net(6, 1, mac_a, 0);
    sim_boot((const unsigned[]){ 6 }, 1);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    uint8_t frame[60] = { 0 };
    cr_assert_eq(sim_net_inject(d, frame, sizeof frame), 0);
    cr_assert_eq(d->irq_level, 1);
    int gsi = sim_raised_gsi();
    cr_assert_eq(gsi, 30);
    cr_assert(sim.gsis_enabled & (1ull << gsi));
    kvm_virtio_irq(gsi);
    cr_assert_eq(d->irq_level, 0);
    cr_assert_eq(d->isr, 0);
    cr_assert_eq(kvm_virtio_pending(), 1ull << h);
}

Test(mmio, without_command_line_words_the_acpi_dsdt_lists_the_devices)
{
    sim_mmio_net(23, 0, mac_a, 0);
    sim_mmio_blk(22, 0, 1 << 20, 0);
    sim_mmio_net(21, 0, mac_b, 0);
    sim_dsdt_add(23);
    sim_dsdt_add(22);
    sim_dsdt_add(21);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    mirc_block_info bi;
    cr_assert_eq(mirc_plat_net_open("a", 0, &h, &info), MIRC_OK, "%s", sim.log);
    cr_assert_eq(memcmp(info.mac, mac_a, 6), 0, "table order: window 23 first");
    cr_assert_eq(mirc_plat_net_open("b", 1, &h, &info), MIRC_OK);
    cr_assert_eq(memcmp(info.mac, mac_b, 6), 0);
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &bi), MIRC_OK);
    cr_assert_eq(bi.capacity, 1 << 20);
    cr_assert(sim.gsis_enabled & (1ull << 47));
    cr_assert_eq(sim.pci_slots_probed, 0);
}

Test(mmio, a_dsdt_without_virtio_devices_falls_back_to_pci)
{
    sim_dsdt_add(3);
    sim.dsdt_len = 36; /* keep the header only */
    sim.pci = 1;
    sim_pci_net(3, 1, 0, mac_b);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK, "%s", sim.log);
    cr_assert_eq(memcmp(info.mac, mac_b, 6), 0);
}

Test(mmio, the_dsdt_scan_survives_a_table_cut_at_every_byte)
{
    sim_dsdt_add(5);
    sim_dsdt_add(6);
    size_t full = sim.dsdt_len;
    for (size_t cut = 0; cut <= full; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(copy, sim.dsdt, cut);
        virtio_test_reset();
        unsigned n = virtio_mmio_scan_dsdt(copy, cut);
        cr_assert_leq(n, 2);
        if (cut == full)
            cr_assert_eq(n, 2);
        free(copy);
    }
}

Test(mmio, a_dsdt_device_with_an_impossible_interrupt_is_ignored)
{
    sim_mmio_net(4, 1, mac_a, 0);
    sim_dsdt_add(4);
    uint32_t irq = 99;
    memcpy(sim.dsdt + 36 + 62, &irq, 4);
    cr_assert_eq(virtio_mmio_scan_dsdt(sim.dsdt, sim.dsdt_len), 0);
    cr_assert(strstr(sim.log, "ignoring it"), "%s", sim.log);
}
