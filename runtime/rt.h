/* runtime/rt.h: what the runtime's files share with each other (not part of the API). */
#ifndef MIRC_RT_H
#define MIRC_RT_H

#include <stdarg.h>
#include <stdint.h>

#include "mirc/mirc.h"
#include "platform.h"

#define MIRC_RT_NET_MAX   16
#define MIRC_RT_BLOCK_MAX 16

struct mirc_net {
    const char *name;
    int handle;
    mirc_net_info info;
    mirc_net_stats stats;
    mirc_net_ready_cb cb;
    void *ctx;
};

struct mirc_block {
    const char *name;
    int handle;
    mirc_block_info info;
};

/* Devices attached at boot (rt_devices.c). */
mirc_status mirc_rt_devices_open(void);
mirc_plat_set mirc_rt_net_interest(void);
void mirc_rt_net_dispatch(mirc_plat_set ready);
/* Forgets every attached device; for tests that boot more than once. */
void mirc_rt_devices_reset(void);

/* Loop state (loop.c). */
void mirc_rt_loop_reset(void);

/* Formats into the console; the one place runtime text is printed. */
void mirc_rt_vprint(const char *prefix, const char *fmt, va_list ap);
void mirc_rt_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
