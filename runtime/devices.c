/* runtime/devices.c: NET and BLOCK as apps see them: lookup by name, argument checks, counters. */
#include <string.h>

#include "manifest.h"
#include "rt.h"

static struct mirc_net nets[MIRC_RT_NET_MAX];
static struct mirc_block blocks[MIRC_RT_BLOCK_MAX];
static unsigned nnets, nblocks;

static const char *kind_name(enum mirc_dev_kind k)
{
    return k == MIRC_DEV_NET ? "net" : "block";
}

mirc_status mirc_rt_devices_open(void)
{
    for (unsigned i = 0; i < mirc_manifest.ndevs; i++) {
        const struct mirc_manifest_dev *d = &mirc_manifest.devs[i];
        mirc_status s;
        int h = -1;

        if (d->kind == MIRC_DEV_NET) {
            if (nnets == MIRC_RT_NET_MAX) {
                mirc_rt_print("mirc: too many net devices (at most %d)\n", MIRC_RT_NET_MAX);
                return MIRC_TOO_BIG;
            }
            struct mirc_net *n = &nets[nnets];
            *n = (struct mirc_net){ .name = d->name };
            s = mirc_manifest.net_open ? mirc_manifest.net_open(d->name, nnets, &h, &n->info)
                                       : MIRC_UNSUPPORTED;
            n->handle = h;
            if (s == MIRC_OK)
                nnets++;
        } else {
            if (nblocks == MIRC_RT_BLOCK_MAX) {
                mirc_rt_print("mirc: too many block devices (at most %d)\n", MIRC_RT_BLOCK_MAX);
                return MIRC_TOO_BIG;
            }
            struct mirc_block *b = &blocks[nblocks];
            *b = (struct mirc_block){ .name = d->name };
            s = mirc_manifest.block_open ? mirc_manifest.block_open(d->name, nblocks, &h, &b->info)
                                         : MIRC_UNSUPPORTED;
            b->handle = h;
            if (s == MIRC_OK)
                nblocks++;
        }
        if (s != MIRC_OK) {
            mirc_rt_print("mirc: cannot attach %s device '%s' declared in mirc.toml: %s\n",
                          kind_name(d->kind), d->name, mirc_status_str(s));
            return s;
        }
        if (h < 0 || h >= MIRC_PLAT_DEV_MAX)
            mirc_panic("backend returned handle %d for '%s'", h, d->name);
    }
    return MIRC_OK;
}

void mirc_rt_devices_reset(void)
{
    nnets = nblocks = 0;
}

mirc_plat_set mirc_rt_net_interest(void)
{
    mirc_plat_set set = 0;
    for (unsigned i = 0; i < nnets; i++)
        if (nets[i].cb)
            set |= (mirc_plat_set)1 << nets[i].handle;
    return set;
}

void mirc_rt_net_dispatch(mirc_plat_set ready)
{
    for (unsigned i = 0; i < nnets && ready; i++) {
        struct mirc_net *n = &nets[i];
        mirc_plat_set bit = (mirc_plat_set)1 << n->handle;
        if ((ready & bit) && n->cb) {
            ready &= ~bit;
            n->cb(n, n->ctx);
        }
    }
}

/* NET */

mirc_status mirc_net_acquire(const char *name, mirc_net **out)
{
    if (!name || !out)
        return MIRC_INVALID;
    for (unsigned i = 0; i < nnets; i++) {
        if (strcmp(nets[i].name, name) == 0) {
            *out = &nets[i];
            return MIRC_OK;
        }
    }
    return MIRC_NOT_FOUND;
}

mirc_status mirc_net_acquire_index(unsigned index, mirc_net **out)
{
    if (!out)
        return MIRC_INVALID;
    if (index >= nnets)
        return MIRC_NOT_FOUND;
    *out = &nets[index];
    return MIRC_OK;
}

mirc_status mirc_net_info_get(mirc_net *net, mirc_net_info *info)
{
    if (!net || !info)
        return MIRC_INVALID;
    *info = net->info;
    return MIRC_OK;
}

mirc_status mirc_net_stats_get(mirc_net *net, mirc_net_stats *stats)
{
    if (!net || !stats)
        return MIRC_INVALID;
    *stats = net->stats;
    return MIRC_OK;
}

const char *mirc_net_name(const mirc_net *net)
{
    return net ? net->name : "(null)";
}

mirc_status mirc_net_write(mirc_net *net, const void *buf, size_t len)
{
    if (!net || !buf || len < MIRC_NET_HDR_LEN)
        return MIRC_INVALID;
    if (len > (size_t)net->info.mtu + MIRC_NET_HDR_LEN) {
        net->stats.tx_dropped++;
        return MIRC_TOO_BIG;
    }
    mirc_status s = mirc_plat_net_write(net->handle, buf, len);
    if (s == MIRC_OK) {
        net->stats.tx_packets++;
        net->stats.tx_bytes += len;
    } else if (s != MIRC_AGAIN) {
        net->stats.tx_dropped++;
    }
    return s;
}

mirc_status mirc_net_read(mirc_net *net, void *buf, size_t size, size_t *len)
{
    if (!net || !buf || !len)
        return MIRC_INVALID;
    mirc_status s;
    size_t max = (size_t)net->info.mtu + MIRC_NET_HDR_LEN;
    /* runts cannot be Ethernet frames, and a frame beyond the MTU breaks the contract apps size
     * their buffers by: drop and count both here, for every backend (a backend reports a
     * frame it refused itself, e.g. from a stranger, as an empty one) */
    while ((s = mirc_plat_net_read(net->handle, buf, size, len)) == MIRC_OK &&
           (*len < MIRC_NET_HDR_LEN || (*len > max && *len <= size)))
        net->stats.rx_dropped++;
    if (s == MIRC_OK) {
        if (*len > size)
            mirc_panic("backend returned a %zu-byte frame for a %zu-byte buffer", *len, size);
        net->stats.rx_packets++;
        net->stats.rx_bytes += *len;
    } else if (s == MIRC_TOO_BIG) {
        net->stats.rx_dropped++;
    }
    return s;
}

mirc_status mirc_net_on_ready(mirc_net *net, mirc_net_ready_cb cb, void *ctx)
{
    if (!net)
        return MIRC_INVALID;
    net->cb = cb;
    net->ctx = ctx;
    return MIRC_OK;
}

/* BLOCK */

mirc_status mirc_block_acquire(const char *name, mirc_block **out)
{
    if (!name || !out)
        return MIRC_INVALID;
    for (unsigned i = 0; i < nblocks; i++) {
        if (strcmp(blocks[i].name, name) == 0) {
            *out = &blocks[i];
            return MIRC_OK;
        }
    }
    return MIRC_NOT_FOUND;
}

mirc_status mirc_block_info_get(mirc_block *blk, mirc_block_info *info)
{
    if (!blk || !info)
        return MIRC_INVALID;
    *info = blk->info;
    return MIRC_OK;
}

const char *mirc_block_name(const mirc_block *blk)
{
    return blk ? blk->name : "(null)";
}

static mirc_status block_check(mirc_block *blk, uint64_t offset, const void *buf, size_t len)
{
    if (!blk || !buf)
        return MIRC_INVALID;
    uint64_t ss = blk->info.sector_size;
    if (offset % ss || len % ss)
        return MIRC_INVALID;
    if (offset > blk->info.capacity || len > blk->info.capacity - offset)
        return MIRC_RANGE;
    return MIRC_OK;
}

mirc_status mirc_block_read(mirc_block *blk, uint64_t offset, void *buf, size_t len)
{
    mirc_status s = block_check(blk, offset, buf, len);
    if (s != MIRC_OK || len == 0)
        return s;
    return mirc_plat_block_read(blk->handle, offset, buf, len);
}

mirc_status mirc_block_write(mirc_block *blk, uint64_t offset, const void *buf, size_t len)
{
    mirc_status s = block_check(blk, offset, buf, len);
    if (s != MIRC_OK)
        return s;
    if (blk->info.read_only)
        return MIRC_READ_ONLY;
    if (len == 0)
        return MIRC_OK;
    return mirc_plat_block_write(blk->handle, offset, buf, len);
}

mirc_status mirc_block_flush(mirc_block *blk)
{
    if (!blk)
        return MIRC_INVALID;
    if (blk->info.read_only)
        return MIRC_OK;
    return mirc_plat_block_flush(blk->handle);
}
