/* platform.h on netfront and blkfront, through the runtime: manifest matching, I/O, readiness. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "manifest.h"
#include "rt.h"
#include "sim.h"
#include "xen_devices.h"

static const struct mirc_manifest_dev devs[] = {
    { "service", MIRC_DEV_NET },
    { "data", MIRC_DEV_BLOCK },
    { "admin", MIRC_DEV_NET },
    { "logs", MIRC_DEV_BLOCK },
};
const struct mirc_manifest mirc_manifest = {
    "xentest", 4, devs, 0, NULL, mirc_plat_net_open, mirc_plat_block_open
};

int mirc_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static struct sim_vif *vif0, *vif1;
static struct sim_vbd *hda, *xvdb;

static void setup(void)
{
    sim_init();
    mirc_rt_devices_reset();
    mirc_rt_loop_reset();
    xen_devices_init(&sim_env);
    /* added out of order: matching goes by numeric device id, not by xenstore order */
    vif1 = sim_vif_add(1, "00:16:3e:00:00:02");
    vif0 = sim_vif_add(0, "00:16:3e:00:00:01");
    xvdb = sim_vbd_add(51728, 1 << 20, 4096);
    hda = sim_vbd_add(768, 2 << 20, 512);
}

TestSuite(xen_devices, .init = setup,
          .timeout = 60); /* a spinning frontend fails, never hangs the run */

Test(xen_devices, manifest_devices_match_vifs_and_vbds_in_device_id_order)
{
    mirc_net *svc, *adm;
    mirc_block *data, *logs;
    mirc_net_info ni;
    mirc_block_info bi;
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK, "%s", sim.console);
    cr_assert_eq(mirc_net_acquire("service", &svc), MIRC_OK);
    cr_assert_eq(mirc_net_acquire("admin", &adm), MIRC_OK);
    mirc_net_info_get(svc, &ni);
    cr_assert_eq(memcmp(ni.mac, "\x00\x16\x3e\x00\x00\x01", 6), 0, "service is vif 0");
    mirc_net_info_get(adm, &ni);
    cr_assert_eq(memcmp(ni.mac, "\x00\x16\x3e\x00\x00\x02", 6), 0, "admin is vif 1");
    cr_assert_eq(mirc_block_acquire("data", &data), MIRC_OK);
    cr_assert_eq(mirc_block_acquire("logs", &logs), MIRC_OK);
    mirc_block_info_get(data, &bi);
    cr_assert_eq(bi.capacity, 2 << 20, "data is vbd 768 (hda)");
    cr_assert_eq(bi.sector_size, 512);
    mirc_block_info_get(logs, &bi);
    cr_assert_eq(bi.capacity, 1 << 20, "logs is vbd 51728 (xvdb)");
    cr_assert_eq(bi.sector_size, 4096);
}

Test(xen_devices, block_io_goes_to_the_matched_disk)
{
    mirc_block *data, *logs;
    static unsigned char buf[8192], back[8192];
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK, "%s", sim.console);
    mirc_block_acquire("data", &data);
    mirc_block_acquire("logs", &logs);
    memset(buf, 'd', sizeof buf);
    cr_assert_eq(mirc_block_write(data, 4096, buf, 512), MIRC_OK);
    memset(buf, 'l', sizeof buf);
    cr_assert_eq(mirc_block_write(logs, 4096, buf, 8192), MIRC_OK);
    cr_assert_eq(mirc_block_flush(logs), MIRC_OK);
    cr_assert_eq(hda->disk[4096], 'd');
    cr_assert_eq(xvdb->disk[4096], 'l');
    cr_assert_eq(xvdb->flushes, 1);
    cr_assert_eq(mirc_block_read(logs, 4096, back, 8192), MIRC_OK);
    cr_assert_eq(memcmp(back, buf, 8192), 0);
    cr_assert_eq(mirc_block_read(logs, 512, back, 4096), MIRC_INVALID, "4096-byte sectors");
}

static int seen;

static void on_frame(mirc_net *n, void *ctx)
{
    unsigned char f[1514];
    size_t len;
    (void)ctx;
    while (mirc_net_read(n, f, sizeof f, &len) == MIRC_OK) {
        cr_assert_eq(len, 60);
        cr_assert_eq(f[59], 59);
        seen++;
    }
    if (seen == 3)
        mirc_loop_stop();
}

Test(xen_devices, the_loop_dispatches_frames_through_yield)
{
    mirc_net *svc, *adm;
    unsigned char f[60];
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK, "%s", sim.console);
    mirc_net_acquire("service", &svc);
    mirc_net_acquire("admin", &adm);
    for (int i = 0; i < 60; i++)
        f[i] = (unsigned char)i;
    vif0->echo = 1;
    seen = 0;
    cr_assert_eq(mirc_net_on_ready(svc, on_frame, NULL), MIRC_OK);
    cr_assert_eq(mirc_net_on_ready(adm, on_frame, NULL), MIRC_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(mirc_net_write(svc, f, sizeof f), MIRC_OK);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(seen, 3);
    cr_assert_eq(vif1->tx_frames, 0, "nothing went out on the other NIC");
}

Test(xen_devices, yield_sleeps_until_the_deadline_when_nothing_arrives)
{
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK, "%s", sim.console);
    uint64_t t0 = sim.now;
    cr_assert_eq(mirc_plat_yield(t0 + 30000000, 3), 0);
    cr_assert_geq(sim.now, t0 + 30000000);
    cr_assert_eq(mirc_plat_yield(t0, 3), 0, "a deadline in the past returns at once");
}

Test(xen_devices, a_declared_nic_without_a_vif_stops_the_boot_with_a_message)
{
    char p[160];
    snprintf(p, sizeof p, "/local/domain/%d/device/vif/1", SIM_DOMID);
    xsd_rm(p);
    sim.nvif = 1; /* vif 1's back end is gone too */
    sim.vif[0] = vif0;
    cr_assert_eq(mirc_rt_devices_open(), MIRC_NOT_FOUND);
    cr_assert(strstr(sim.console, "'admin'"), "%s", sim.console);
    cr_assert(strstr(sim.console, "has 1 vif;"), "%s", sim.console);
    cr_assert(strstr(sim.console, "xl config"), "%s", sim.console);
}

Test(xen_devices, a_disk_whose_back_end_fails_stops_the_boot_naming_it)
{
    sim_env.connect_timeout = 100000000;
    xvdb->never_connect = 1;
    cr_assert_eq(mirc_rt_devices_open(), MIRC_IO);
    cr_assert(strstr(sim.console, "disk 'logs' (device/vbd/51728)"), "%s", sim.console);
}

Test(xen_devices, ids_sort_numerically_not_as_strings)
{
    char node[64];
    unsigned count;
    sim_vif_add(10, "00:16:3e:00:00:10");
    sim_vif_add(9, "00:16:3e:00:00:09");
    xsd_set("/local/domain/7/device/vif/junk", "");
    cr_assert_eq(xen_bus_find(&sim_env, "vif", 2, node, sizeof node, &count), MIRC_OK);
    cr_assert_str_eq(node, "device/vif/9");
    cr_assert_eq(xen_bus_find(&sim_env, "vif", 3, node, sizeof node, &count), MIRC_OK);
    cr_assert_str_eq(node, "device/vif/10");
    cr_assert_eq(count, 4, "non-numeric entries are ignored");
    cr_assert_eq(xen_bus_find(&sim_env, "vif", 4, node, sizeof node, &count), MIRC_NOT_FOUND);
    cr_assert_eq(xen_bus_find(&sim_env, "vkbd", 0, node, sizeof node, &count), MIRC_NOT_FOUND);
    cr_assert_eq(count, 0);
}
