/* backends/xen/devices.c: platform.h's NET, BLOCK and yield, on netfront and blkfront. */
#include <stdarg.h>
#include <stdio.h>

#include "blkfront.h"
#include "netfront.h"
#include "platform.h"
#include "xen_devices.h"

/* Handles: NICs are 0..XEN_NET_MAX-1, disks XEN_NET_MAX..XEN_NET_MAX+XEN_BLK_MAX-1. */
_Static_assert(XEN_NET_MAX + XEN_BLK_MAX <= MIRC_PLAT_DEV_MAX, "handles must fit mirc_plat_set");

static struct xen_env *env;
static struct xen_net nets[XEN_NET_MAX];
static struct xen_blk blks[XEN_BLK_MAX];
static unsigned nnets, nblks;

void xen_devices_init(struct xen_env *e)
{
    env = e;
    nnets = nblks = 0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    mirc_plat_console_write(line, (size_t)n);
}

/* Finds the index-th device of a kind, or says why not. */
static mirc_status find(const char *what, const char *type, const char *name, unsigned index,
                        char *node, size_t size)
{
    unsigned count;
    if (!env) {
        say("mirc: xen: %s '%s': the platform did not initialise xenstore", what, name);
        return MIRC_IO;
    }
    mirc_status s = xen_bus_find(env, type, index, node, size, &count);
    if (s == MIRC_NOT_FOUND)
        say("mirc: xen: %s '%s' is %s #%u of mirc.toml but the domain has %u %s%s; add one to "
            "the xl config (`mirc run` writes it from the manifest)",
            what, name, what, index + 1, count, type, count == 1 ? "" : "s");
    else if (s != MIRC_OK)
        say("mirc: xen: %s '%s': cannot list device/%s in xenstore: %s", what, name, type,
            mirc_status_str(s));
    return s;
}

mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle, mirc_net_info *info)
{
    char node[64];
    if (nnets == XEN_NET_MAX) {
        say("mirc: xen: NIC '%s': at most %d NICs", name, XEN_NET_MAX);
        return MIRC_IO;
    }
    mirc_status s = find("NIC", "vif", name, index, node, sizeof node);
    if (s != MIRC_OK)
        return s == MIRC_NOT_FOUND ? s : MIRC_IO;
    struct xen_net *n = &nets[nnets];
    s = xen_net_open(n, env, node);
    if (s != MIRC_OK) {
        say("mirc: xen: NIC '%s' (%s): %s (%s)", name, node,
            n->nt_bus.xd_why ? n->nt_bus.xd_why : "cannot connect", mirc_status_str(s));
        return MIRC_IO;
    }
    *handle = (int)nnets++;
    *info = n->nt_info;
    return MIRC_OK;
}

static struct xen_net *net_of(int h)
{
    return h >= 0 && (unsigned)h < nnets ? &nets[h] : NULL;
}

static struct xen_blk *blk_of(int h)
{
    h -= XEN_NET_MAX;
    return h >= 0 && (unsigned)h < nblks ? &blks[h] : NULL;
}

mirc_status mirc_plat_net_write(int handle, const void *buf, size_t len)
{
    struct xen_net *n = net_of(handle);
    return n ? xen_net_write(n, buf, len) : MIRC_INVALID;
}

mirc_status mirc_plat_net_read(int handle, void *buf, size_t size, size_t *len)
{
    struct xen_net *n = net_of(handle);
    return n ? xen_net_read(n, buf, size, len) : MIRC_INVALID;
}

mirc_status mirc_plat_block_open(const char *name, unsigned index, int *handle,
                                 mirc_block_info *info)
{
    char node[64];
    if (nblks == XEN_BLK_MAX) {
        say("mirc: xen: disk '%s': at most %d disks", name, XEN_BLK_MAX);
        return MIRC_IO;
    }
    mirc_status s = find("disk", "vbd", name, index, node, sizeof node);
    if (s != MIRC_OK)
        return s == MIRC_NOT_FOUND ? s : MIRC_IO;
    struct xen_blk *b = &blks[nblks];
    s = xen_blk_open(b, env, node);
    if (s != MIRC_OK) {
        say("mirc: xen: disk '%s' (%s): %s (%s)", name, node,
            b->bk_bus.xd_why ? b->bk_bus.xd_why : "cannot connect", mirc_status_str(s));
        return MIRC_IO;
    }
    *handle = XEN_NET_MAX + (int)nblks++;
    *info = b->bk_info;
    return MIRC_OK;
}

mirc_status mirc_plat_block_read(int handle, uint64_t offset, void *buf, size_t len)
{
    struct xen_blk *b = blk_of(handle);
    return b ? xen_blk_read(b, offset, buf, len) : MIRC_INVALID;
}

mirc_status mirc_plat_block_write(int handle, uint64_t offset, const void *buf, size_t len)
{
    struct xen_blk *b = blk_of(handle);
    return b ? xen_blk_write(b, offset, buf, len) : MIRC_INVALID;
}

mirc_status mirc_plat_block_flush(int handle)
{
    struct xen_blk *b = blk_of(handle);
    return b ? xen_blk_flush(b) : MIRC_INVALID;
}

mirc_plat_set xen_devices_ready(mirc_plat_set interest)
{
    mirc_plat_set ready = 0;
    for (unsigned i = 0; i < nnets; i++) {
        mirc_plat_set bit = (mirc_plat_set)1 << i;
        if ((interest & bit) && xen_net_pending(&nets[i]))
            ready |= bit;
    }
    return ready;
}

mirc_plat_set mirc_plat_yield(uint64_t deadline, mirc_plat_set interest)
{
    for (;;) {
        mirc_plat_set ready = xen_devices_ready(interest);
        if (ready || xen_now(&env->port) >= deadline)
            return ready;
        xen_wait(&env->port, deadline);
        (void)xen_xs_poll(env->xs); /* take in back-end state changes promptly */
    }
}
