/* examples/block: reports a disk's geometry, writes a pattern across all of it, flushes,
 * reads it back and verifies every byte. Exit 0 if intact, 1 if not. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

#define CHUNK (64 * 1024) /* bytes per request: many sectors at once */

/* The byte at `off` for a given seed: differs per sector and per run. */
static uint8_t pattern(uint64_t off, uint32_t seed)
{
    uint64_t x = (off / 8) * 0x9E3779B97F4A7C15ull + seed;
    x ^= x >> 29;
    return (uint8_t)(x >> (8 * (off % 8)));
}

static int fail(const char *what, mirc_status s)
{
    printf("block: %s failed: %s\n", what, mirc_status_str(s));
    return 1;
}

int mirc_main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "disk0";
    mirc_block *d;
    mirc_block_info info;
    mirc_status s;
    static uint8_t buf[CHUNK];
    uint32_t seed;

    if ((s = mirc_block_acquire(name, &d)) != MIRC_OK)
        return fail("acquire", s);
    mirc_block_info_get(d, &info);
    printf("%s: %" PRIu64 " bytes, %" PRIu32 "-byte sectors, %" PRIu64 " sectors%s\n", name,
           info.capacity, info.sector_size, info.capacity / info.sector_size,
           info.read_only ? ", read-only" : "");
    if (info.read_only) {
        printf("%s is read-only: nothing to write\n", name);
        return 0;
    }
    mirc_entropy(&seed, sizeof seed);
    uint64_t t0 = mirc_clock_monotonic();
    for (uint64_t off = 0; off < info.capacity; off += CHUNK) {
        size_t n = info.capacity - off < CHUNK ? (size_t)(info.capacity - off) : CHUNK;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i, seed);
        if ((s = mirc_block_write(d, off, buf, n)) != MIRC_OK)
            return fail("write", s);
    }
    if ((s = mirc_block_flush(d)) != MIRC_OK)
        return fail("flush", s);
    uint64_t t1 = mirc_clock_monotonic();
    for (uint64_t off = 0; off < info.capacity; off += CHUNK) {
        size_t n = info.capacity - off < CHUNK ? (size_t)(info.capacity - off) : CHUNK;
        if ((s = mirc_block_read(d, off, buf, n)) != MIRC_OK)
            return fail("read", s);
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != pattern(off + i, seed)) {
                printf("block: mismatch at byte %" PRIu64 "\n", off + i);
                return 1;
            }
        }
    }
    uint64_t t2 = mirc_clock_monotonic();
    /* one request past the end must fail cleanly */
    if ((s = mirc_block_read(d, info.capacity, buf, info.sector_size)) != MIRC_RANGE)
        return fail("out-of-range check", s);
    printf("%s: wrote, flushed and verified %" PRIu64 " bytes (write %" PRIu64 " ms, read %" PRIu64
           " ms)\n",
           name, info.capacity, (t1 - t0) / MIRC_NS_PER_MS, (t2 - t1) / MIRC_NS_PER_MS);
    return 0;
}
