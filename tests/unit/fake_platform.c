/* tests/unit/fake_platform.c: the simulated platform (see fake_platform.h). */
#include "fake_platform.h"

#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "rt.h"

struct fake fake;

void fake_reset(void)
{
    for (int i = 0; i < FAKE_DISKS; i++)
        free(fake.disks[i].data);
    memset(&fake, 0, sizeof fake);
    fake.now = 1000000000ull;
    mirc_rt_loop_reset();
    mirc_rt_devices_reset();
}

void fake_attach_net(int i, const char *mac6, uint16_t mtu)
{
    fake.nets[i].attached = 1;
    memcpy(fake.nets[i].info.mac, mac6, 6);
    fake.nets[i].info.mtu = mtu;
}

void fake_attach_disk(int i, uint64_t capacity, uint32_t sector_size, int read_only)
{
    struct fake_disk *d = &fake.disks[i];
    d->attached = 1;
    d->info = (mirc_block_info){ capacity, sector_size, read_only };
    d->data = calloc(1, capacity);
}

void fake_rx(int net, const void *frame, size_t len)
{
    struct fake_net *n = &fake.nets[net];
    if (n->rx_count == FAKE_QUEUE)
        abort();
    struct fake_frame *f = &n->rx[(n->rx_head + n->rx_count++) % FAKE_QUEUE];
    f->len = len;
    memcpy(f->data, frame, len);
}

void fake_rx_at(uint64_t at, int net, const void *frame, size_t len)
{
    fake.sched[fake.nsched].at = at;
    fake.sched[fake.nsched].net = net;
    fake.sched[fake.nsched].f.len = len;
    memcpy(fake.sched[fake.nsched].f.data, frame, len);
    fake.nsched++;
}

void mirc_plat_console_write(const char *buf, size_t len)
{
    if (len > sizeof fake.console - fake.console_len)
        len = sizeof fake.console - fake.console_len;
    memcpy(fake.console + fake.console_len, buf, len);
    fake.console_len += len;
}

uint64_t mirc_plat_monotonic(void)
{
    return fake.now;
}

uint64_t mirc_plat_wall(void)
{
    return 1700000000ull * 1000000000ull + fake.now;
}

uint64_t mirc_plat_memory(void)
{
    return 64ull << 20;
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    memset(buf, 0x5a, len);
    return MIRC_OK;
}

mirc_status mirc_plat_option(const char *opt)
{
    return strcmp(opt, "--fake-ok") == 0 ? MIRC_OK : MIRC_NOT_FOUND;
}

mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle, mirc_net_info *info)
{
    (void)name;
    if (index >= FAKE_NETS || !fake.nets[index].attached)
        return MIRC_NOT_FOUND;
    *handle = (int)index;
    *info = fake.nets[index].info;
    return MIRC_OK;
}

mirc_status mirc_plat_net_write(int h, const void *buf, size_t len)
{
    struct fake_net *n = &fake.nets[h];
    if (n->tx_count == FAKE_QUEUE)
        return MIRC_AGAIN;
    n->tx[n->tx_count].len = len;
    memcpy(n->tx[n->tx_count++].data, buf, len);
    return MIRC_OK;
}

mirc_status mirc_plat_net_read(int h, void *buf, size_t size, size_t *len)
{
    struct fake_net *n = &fake.nets[h];
    if (!n->rx_count)
        return MIRC_AGAIN;
    struct fake_frame *f = &n->rx[n->rx_head];
    n->rx_head = (n->rx_head + 1) % FAKE_QUEUE;
    n->rx_count--;
    if (f->len > size)
        return MIRC_TOO_BIG;
    memcpy(buf, f->data, f->len);
    *len = f->len;
    return MIRC_OK;
}

mirc_status mirc_plat_block_open(const char *name, unsigned index, int *handle,
                                 mirc_block_info *info)
{
    (void)name;
    if (index >= FAKE_DISKS || !fake.disks[index].attached)
        return MIRC_NOT_FOUND;
    *handle = 32 + (int)index;
    *info = fake.disks[index].info;
    return MIRC_OK;
}

mirc_status mirc_plat_block_read(int h, uint64_t off, void *buf, size_t len)
{
    struct fake_disk *d = &fake.disks[h - 32];
    if (off + len > d->info.capacity)
        abort(); /* the runtime must have checked */
    memcpy(buf, d->data + off, len);
    return MIRC_OK;
}

mirc_status mirc_plat_block_write(int h, uint64_t off, const void *buf, size_t len)
{
    struct fake_disk *d = &fake.disks[h - 32];
    if (off + len > d->info.capacity || d->info.read_only)
        abort();
    memcpy(d->data + off, buf, len);
    return MIRC_OK;
}

mirc_status mirc_plat_block_flush(int h)
{
    fake.disks[h - 32].flushes++;
    return MIRC_OK;
}

mirc_plat_set mirc_plat_yield(uint64_t deadline, mirc_plat_set interest)
{
    fake.yields++;
    fake.last_interest = interest;
    /* the earliest scheduled frame may wake us before the deadline */
    int first = -1;
    for (int i = 0; i < fake.nsched; i++)
        if ((first < 0 || fake.sched[i].at < fake.sched[first].at) &&
            ((interest >> fake.sched[i].net) & 1))
            first = i;
    if (first >= 0 && fake.sched[first].at < deadline) {
        if (fake.sched[first].at > fake.now)
            fake.now = fake.sched[first].at;
        int net = fake.sched[first].net;
        fake_rx(net, fake.sched[first].f.data, fake.sched[first].f.len);
        fake.sched[first] = fake.sched[--fake.nsched];
        return (mirc_plat_set)1 << net;
    }
    if (deadline == UINT64_MAX && fake.idle_hook) {
        fake.idle_hook();
        return 0;
    }
    if (deadline == UINT64_MAX)
        abort(); /* would sleep forever: the test is broken */
    if (deadline > fake.now)
        fake.now = deadline;
    else
        fake.now += 1000; /* even a poll takes a microsecond */
    mirc_plat_set ready = 0;
    for (int i = 0; i < FAKE_NETS; i++)
        if (fake.nets[i].rx_count)
            ready |= (mirc_plat_set)1 << i;
    return ready & interest;
}

_Noreturn void mirc_plat_exit(int status)
{
    fake.exit_status = status;
    if (fake.exit_jmp)
        longjmp(*fake.exit_jmp, 1);
    abort();
}

/* The manifest the runtime tests boot with; tests may point it elsewhere. */
static const struct mirc_manifest_dev test_devs[] = {
    { "net0", MIRC_DEV_NET },
    { "net1", MIRC_DEV_NET },
    { "disk0", MIRC_DEV_BLOCK },
};
static const char *const test_args[] = { "--default=1" };
const struct mirc_manifest mirc_manifest = {
    "testapp", 3, test_devs, 1, test_args, mirc_plat_net_open, mirc_plat_block_open
};
