/* fuzz/fuzz_platform.c: a platform (backends/platform.h) with one NIC the fuzzer feeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_int.h"
#include "manifest.h"
#include "platform.h"

struct fuzz_plat fuzz_plat;

void mirc_plat_console_write(const char *buf, size_t len)
{
    if (getenv("FUZZ_VERBOSE"))
        fwrite(buf, 1, len, stderr);
}

uint64_t mirc_plat_monotonic(void)
{
    return fuzz_plat.now;
}

uint64_t mirc_plat_wall(void)
{
    return 1700000000ull * 1000000000ull + fuzz_plat.now;
}

uint64_t mirc_plat_memory(void)
{
    return 64ull << 20;
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) { /* deterministic: runs must be reproducible */
        fuzz_plat.rng ^= fuzz_plat.rng << 13;
        fuzz_plat.rng ^= fuzz_plat.rng >> 7;
        fuzz_plat.rng ^= fuzz_plat.rng << 17;
        p[i] = (uint8_t)fuzz_plat.rng;
    }
    return MIRC_OK;
}

mirc_status mirc_plat_option(const char *opt)
{
    (void)opt;
    return MIRC_NOT_FOUND;
}

mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle, mirc_net_info *info)
{
    static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
    (void)name;
    if (index != 0)
        return MIRC_NOT_FOUND;
    *handle = 0;
    memcpy(info->mac, mac, 6);
    info->mtu = 1500;
    return MIRC_OK;
}

mirc_status mirc_plat_net_write(int handle, const void *buf, size_t len)
{
    (void)handle;
    struct fuzz_tx *t = &fuzz_plat.tx[fuzz_plat.ntx % FUZZ_TX];
    t->len = len < sizeof t->data ? len : sizeof t->data;
    memcpy(t->data, buf, t->len);
    fuzz_plat.ntx++;
    return MIRC_OK;
}

mirc_status mirc_plat_net_read(int handle, void *buf, size_t size, size_t *len)
{
    (void)handle;
    if (!fuzz_plat.rx_pending)
        return MIRC_AGAIN;
    fuzz_plat.rx_pending = 0;
    if (fuzz_plat.rx_len > size)
        return MIRC_TOO_BIG;
    memcpy(buf, fuzz_plat.rx, fuzz_plat.rx_len);
    *len = fuzz_plat.rx_len;
    return MIRC_OK;
}

mirc_status mirc_plat_block_open(const char *name, unsigned index, int *handle,
                                 mirc_block_info *info)
{
    (void)name;
    (void)index;
    (void)handle;
    (void)info;
    return MIRC_NOT_FOUND;
}

mirc_status mirc_plat_block_read(int handle, uint64_t offset, void *buf, size_t len)
{
    (void)handle;
    (void)offset;
    (void)buf;
    (void)len;
    return MIRC_IO;
}

mirc_status mirc_plat_block_write(int handle, uint64_t offset, const void *buf, size_t len)
{
    (void)handle;
    (void)offset;
    (void)buf;
    (void)len;
    return MIRC_IO;
}

mirc_status mirc_plat_block_flush(int handle)
{
    (void)handle;
    return MIRC_IO;
}

mirc_plat_set mirc_plat_yield(uint64_t deadline, mirc_plat_set interest)
{
    if (fuzz_plat.rx_pending && (interest & 1)) {
        fuzz_plat.now += 1000;
        return 1;
    }
    if (deadline == UINT64_MAX) {
        fprintf(stderr, "fuzz: the loop would sleep forever\n");
        abort();
    }
    fuzz_plat.now = deadline > fuzz_plat.now ? deadline : fuzz_plat.now + 1000;
    return 0;
}

_Noreturn void mirc_plat_exit(int status)
{
    /* only a panic ends a fuzzed unikernel: make it a crash the fuzzer reports */
    fprintf(stderr, "fuzz: the unikernel exited with status %d\n", status);
    abort();
}

static const struct mirc_manifest_dev devs[] = { { "service0", MIRC_DEV_NET } };
const struct mirc_manifest mirc_manifest = { "fuzz", 1, devs, 0, NULL, mirc_plat_net_open, NULL };

int mirc_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
