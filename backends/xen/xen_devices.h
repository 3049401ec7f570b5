/* backends/xen/xen_devices.h: how the platform glue hands the frontends their environment. */
#ifndef MIRC_XEN_DEVICES_H
#define MIRC_XEN_DEVICES_H

/*
 * devices.c implements mirc_plat_net_*, mirc_plat_block_* and mirc_plat_yield
 * (platform.h) on top of netfront and blkfront. The platform glue calls
 * xen_devices_init once, before mirc_rt_boot, with an environment whose
 * port, grant table and xenstore client are ready; the rest of platform.h
 * (console, clocks, entropy, options, exit) is the glue's own.
 *
 * Matching: the n-th NIC (disk) of mirc.toml is the n-th vif (vbd) in
 * ascending device id (see xenbus.h).
 */

#include "platform.h"
#include "xenbus.h"

#define XEN_NET_MAX 16
#define XEN_BLK_MAX 16

/* Keeps env (owned by the caller, valid until exit) and forgets all devices. */
void xen_devices_init(struct xen_env *env);

/*
 * Which of the NICs in `interest` have input, or room again after a write
 * returned MIRC_AGAIN; arms their rings for notification. Never blocks.
 * mirc_plat_yield is this plus port wait until something is ready or the
 * deadline passes.
 */
mirc_plat_set xen_devices_ready(mirc_plat_set interest);

#endif
