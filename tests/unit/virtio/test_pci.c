/* tests/unit/virtio/test_pci.c: virtio-pci discovery, BARs, INTx routing and both register
 * interfaces. */
#include <criterion/criterion.h>
#include <string.h>

#include "mirc/mirc.h"
#include "sim.h"

TestSuite(pci, .init = sim_reset, .fini = sim_fini);

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 1, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 1, 0xb };

static void echo(struct sim_dev *d, int h)
{
    uint8_t f[300], got[1514];
    for (unsigned i = 0; i < sizeof f; i++)
        f[i] = (uint8_t)(i * 3 + d->slot);
    cr_assert_eq(mirc_plat_net_write(h, f, sizeof f), MIRC_OK);
    kvm_virtio_pending();
    cr_assert_eq(d->tx_total, 1);
    cr_assert_eq(memcmp(d->tx[0].data, f, sizeof f), 0);
    cr_assert_eq(sim_net_inject(d, f, sizeof f), 0);
    int gsi = sim_raised_gsi();
    cr_assert_geq(gsi, 0, "the interrupt reaches a GSI");
    cr_assert(sim.gsis_enabled & (1ull << gsi), "GSI %d enabled", gsi);
    kvm_virtio_irq(gsi);
    cr_assert_eq(d->irq_level, 0, "acknowledged");
    cr_assert_eq(kvm_virtio_pending(), 1ull << h);
    size_t len;
    cr_assert_eq(mirc_plat_net_read(h, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, sizeof f);
    cr_assert_eq(memcmp(got, f, len), 0);
}

Test(pci, devices_are_numbered_in_slot_order_on_bus_0)
{
    sim.pci = 1;
    sim_pci_net(5, 1, 0, mac_a);
    sim_pci_blk(3, 1, 0, 1 << 20);
    sim_pci_net(4, 1, 0, mac_b);
    sim_boot(NULL, 0);
    int h0, h1, hb;
    mirc_net_info i0, i1;
    mirc_block_info bi;
    cr_assert_eq(mirc_plat_net_open("a", 0, &h0, &i0), MIRC_OK, "%s", sim.log);
    cr_assert_eq(mirc_plat_net_open("b", 1, &h1, &i1), MIRC_OK, "%s", sim.log);
    cr_assert_eq(mirc_plat_block_open("d", 0, &hb, &bi), MIRC_OK, "%s", sim.log);
    cr_assert_eq(memcmp(i0.mac, mac_b, 6), 0, "slot 4 before slot 5");
    cr_assert_eq(memcmp(i1.mac, mac_a, 6), 0);
    cr_assert_eq(bi.capacity, 1 << 20);
    cr_assert_eq(sim.pci_slots_probed, 6, "slots 0..5: no further than the last device asked for");
    cr_assert_eq(mirc_plat_net_open("c", 2, &h1, &i1), MIRC_NOT_FOUND);
    cr_assert_eq(sim.pci_slots_probed, 32, "a missing device costs the whole bus, once");
    cr_assert_eq(mirc_plat_block_open("e", 1, &hb, &bi), MIRC_NOT_FOUND);
    cr_assert_eq(sim.pci_slots_probed, 32);
}

Test(pci, modern_devices_get_a_memory_bar_and_bus_mastering)
{
    sim.pci = 1;
    struct sim_dev *d = sim_pci_net(3, 1, 0, mac_a);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK, "%s", sim.log);
    cr_assert(d->bar4 >= 0xfe000000u && d->bar4 < 0xfec00000u, "BAR4 at 0x%llx",
              (unsigned long long)d->bar4);
    cr_assert_eq(d->bar4 % 0x4000, 0, "naturally aligned");
    uint16_t cmd = (uint16_t)(d->pcfg[4] | d->pcfg[5] << 8);
    cr_assert_eq(cmd & 0x6, 0x6, "memory decoding and bus mastering");
    cr_assert_eq(cmd & 0x400, 0, "INTx enabled");
    cr_assert(d->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    cr_assert(d->status & VIRTIO_STATUS_FEATURES_OK);
    echo(d, h);
}

Test(pci, two_devices_get_bars_that_do_not_overlap)
{
    sim.pci = 2;
    struct sim_dev *a = sim_pci_net(2, 1, 0, mac_a), *b = sim_pci_blk(3, 1, 0, 1 << 20);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info ni;
    mirc_block_info bi;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &ni), MIRC_OK);
    cr_assert_eq(mirc_plat_block_open("d", 0, &h, &bi), MIRC_OK);
    cr_assert(a->bar4 && b->bar4);
    cr_assert(a->bar4 + 0x4000 <= b->bar4 || b->bar4 + 0x4000 <= a->bar4);
}

Test(pci, a_bar_the_firmware_assigned_is_kept)
{
    sim.pci = 1;
    struct sim_dev *d = sim_pci_net(3, 1, 0, mac_a);
    d->pcfg[0x20] = 0x0c, d->pcfg[0x21] = 0x00, d->pcfg[0x22] = 0x00, d->pcfg[0x23] = 0xfd;
    d->bar4 = 0xfd000000u;
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK, "%s", sim.log);
    cr_assert_eq(d->bar4, 0xfd000000u);
    echo(d, h);
}

Test(pci, transitional_devices_are_driven_through_the_modern_interface)
{
    sim.pci = 1;
    struct sim_dev *d = sim_pci_net(3, 1, 1, mac_a);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK, "%s", sim.log);
    cr_assert(d->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    cr_assert_eq(d->bar0, 0, "the legacy I/O BAR is left alone");
    echo(d, h);
}

Test(pci, legacy_only_devices_use_the_io_bar)
{
    sim.pci = 1;
    struct sim_dev *n = sim_pci_net(3, 0, 1, mac_a);
    struct sim_dev *b = sim_pci_blk(4, 0, 1, 2 << 20);
    sim_boot(NULL, 0);
    int hn, hb;
    mirc_net_info ni;
    mirc_block_info bi;
    cr_assert_eq(mirc_plat_net_open("n", 0, &hn, &ni), MIRC_OK, "%s", sim.log);
    cr_assert_eq(mirc_plat_block_open("d", 0, &hb, &bi), MIRC_OK, "%s", sim.log);
    cr_assert(n->bar0 >= 0xc000 && b->bar0 >= 0xc000 && n->bar0 != b->bar0);
    cr_assert_eq(n->bar0 % 64, 0);
    cr_assert_eq(memcmp(ni.mac, mac_a, 6), 0);
    cr_assert_eq(n->q[0].num, 256, "legacy queues keep the device's size");
    cr_assert(n->driver_features & VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT));
    echo(n, hn);
    static uint8_t w[128 * 1024], r[128 * 1024];
    for (unsigned i = 0; i < sizeof w; i++)
        w[i] = (uint8_t)(i / 512 + i);
    cr_assert_eq(mirc_plat_block_write(hb, 512, w, sizeof w), MIRC_OK);
    cr_assert_eq(mirc_plat_block_read(hb, 512, r, sizeof r), MIRC_OK);
    cr_assert_eq(memcmp(r, w, sizeof w), 0);
}

Test(pci, pc_routes_pirqs_the_firmware_left_disabled)
{
    sim.pci = 1;
    memset(sim.pirqrc, 0x80, sizeof sim.pirqrc);
    struct sim_dev *a = sim_pci_net(3, 1, 0, mac_a), *b = sim_pci_net(4, 1, 0, mac_b);
    sim_boot(NULL, 0);
    int ha, hb;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("a", 0, &ha, &info), MIRC_OK);
    cr_assert_eq(mirc_plat_net_open("b", 1, &hb, &info), MIRC_OK);
    /* slot 3 INTA -> PIRQC, slot 4 INTA -> PIRQD */
    cr_assert_eq(sim.pirqrc[2], 11);
    cr_assert_eq(sim.pirqrc[3], 11);
    cr_assert_eq(sim.pirqrc[0], 0x80, "unused PIRQs are left alone");
    cr_assert_eq(a->pcfg[0x3c], 11, "the interrupt line register says so");
    echo(a, ha);
    echo(b, hb);
}

Test(pci, pc_keeps_pirq_routes_the_firmware_set)
{
    sim.pci = 1;
    sim.pirqrc[2] = 5;
    struct sim_dev *d = sim_pci_net(3, 1, 0, mac_a);
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_OK);
    cr_assert_eq(sim.pirqrc[2], 5);
    cr_assert_eq(sim.gsis_enabled, 1u << 5);
    echo(d, h);
}

Test(pci, q35_interrupts_follow_the_ich9_swizzle)
{
    sim.pci = 2;
    struct sim_dev *a = sim_pci_net(2, 1, 0, mac_a), *b = sim_pci_net(7, 1, 0, mac_b);
    sim_boot(NULL, 0);
    int ha, hb;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("a", 0, &ha, &info), MIRC_OK);
    cr_assert_eq(mirc_plat_net_open("b", 1, &hb, &info), MIRC_OK);
    cr_assert_eq(sim.gsis_enabled, (1ull << 22) | (1ull << 23));
    echo(a, ha);
    echo(b, hb);
}

Test(pci, no_host_bridge_means_no_devices_and_a_two_exit_probe)
{
    sim.pci = 0;
    sim_boot(NULL, 0);
    int h;
    mirc_net_info info;
    cr_assert_eq(mirc_plat_net_open("n", 0, &h, &info), MIRC_NOT_FOUND);
    cr_assert_eq(sim.exits, 2);
}

Test(pci, other_vendors_and_device_types_are_ignored)
{
    sim.pci = 1;
    struct sim_dev *d = sim_pci_net(3, 1, 0, mac_a);
    d->pcfg[0] = 0x86, d->pcfg[1] = 0x80; /* an Intel NIC at the same place */
    struct sim_dev *c = sim_pci_net(4, 1, 0, mac_b);
    c->pcfg[2] = 0x43; /* 0x1043: virtio-console */
    sim_boot(NULL, 0);
    cr_assert_eq(virtio_ndevs, 0);
}
