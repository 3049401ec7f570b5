/* Conformance: BLOCK geometry, patterns, multi-sector I/O, errors, read-only, persistence,
 * and eight disks at once. argv[1] picks the check. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

#define NDISKS 8
static uint8_t buf[256 * 1024], want[256 * 1024];

static mirc_block *disk(const char *name)
{
    mirc_block *d;
    mirc_status s = mirc_block_acquire(name, &d);
    if (s != MIRC_OK) {
        printf("acquire %s: %s\n", name, mirc_status_str(s));
        exit(1);
    }
    return d;
}

static void fill(uint8_t *p, size_t len, uint64_t off, uint32_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(((off + i) * 2654435761u + seed) >> 13);
}

static int info(void)
{
    char name[16];
    for (int i = 0; i < NDISKS; i++) {
        mirc_block_info in;
        snprintf(name, sizeof name, "disk%d", i);
        mirc_block_info_get(disk(name), &in);
        printf("%s: capacity %" PRIu64 " sector %" PRIu32 "%s\n", name, in.capacity, in.sector_size,
               in.read_only ? " read-only" : "");
    }
    return 0;
}

/* Write then read back at the first, a middle and the last sector, and one multi-sector run. */
static int pattern(const char *name)
{
    mirc_block *d = disk(name);
    mirc_block_info in;
    mirc_block_info_get(d, &in);
    uint64_t ss = in.sector_size, n = in.capacity / ss;
    struct {
        uint64_t off;
        size_t len;
    } at[] = {
        { 0, ss },
        { (n / 2) * ss, ss },
        { (n - 1) * ss, ss },
        { ss * 3, sizeof buf < 64 * ss ? sizeof buf : 64 * ss }, /* multi-sector */
    };
    for (unsigned i = 0; i < 4; i++) {
        fill(want, at[i].len, at[i].off, 77 + i);
        mirc_status s = mirc_block_write(d, at[i].off, want, at[i].len);
        if (s != MIRC_OK) {
            printf("%s: write %zu at %" PRIu64 ": %s\n", name, at[i].len, at[i].off,
                   mirc_status_str(s));
            return 1;
        }
    }
    for (unsigned i = 0; i < 4; i++) {
        fill(want, at[i].len, at[i].off, 77 + i);
        memset(buf, 0, at[i].len);
        mirc_status s = mirc_block_read(d, at[i].off, buf, at[i].len);
        if (s != MIRC_OK || memcmp(buf, want, at[i].len) != 0) {
            printf("%s: read back at %" PRIu64 " failed: %s\n", name, at[i].off,
                   s == MIRC_OK ? "data differs" : mirc_status_str(s));
            return 1;
        }
    }
    printf("%s: first, middle, last and multi-sector patterns ok\n", name);
    return 0;
}

static void expect(const char *what, mirc_status got, mirc_status want_s, int *bad)
{
    printf("%s: %s\n", what, mirc_status_str(got));
    if (got != want_s)
        (*bad)++;
}

static int errors(void)
{
    int bad = 0;
    mirc_block *d = disk("disk0"), *d4k = disk("disk1"), *ro = disk("disk2"), *x;
    mirc_block_info in;
    mirc_block_info_get(d, &in);
    uint64_t cap = in.capacity;
    expect("read at capacity", mirc_block_read(d, cap, buf, 512), MIRC_RANGE, &bad);
    expect("read across the end", mirc_block_read(d, cap - 512, buf, 1024), MIRC_RANGE, &bad);
    expect("write far beyond", mirc_block_write(d, cap * 4, buf, 512), MIRC_RANGE, &bad);
    expect("write at offset 2^64-512", mirc_block_write(d, UINT64_MAX - 511, buf, 512), MIRC_RANGE,
           &bad);
    expect("misaligned offset", mirc_block_read(d, 100, buf, 512), MIRC_INVALID, &bad);
    expect("misaligned length", mirc_block_write(d, 0, buf, 100), MIRC_INVALID, &bad);
    expect("512 bytes on a 4096-byte disk", mirc_block_read(d4k, 0, buf, 512), MIRC_INVALID, &bad);
    expect("write to read-only", mirc_block_write(ro, 0, buf, 512), MIRC_READ_ONLY, &bad);
    expect("read from read-only", mirc_block_read(ro, 0, buf, 512), MIRC_OK, &bad);
    expect("undeclared disk", mirc_block_acquire("disk9", &x), MIRC_NOT_FOUND, &bad);
    expect("flush", mirc_block_flush(d), MIRC_OK, &bad);
    return bad ? 1 : 0;
}

static int persist(int writing, uint32_t seed)
{
    mirc_block *d = disk("disk0");
    size_t len = 64 * 1024;
    fill(want, len, 4096, seed);
    if (writing) {
        if (mirc_block_write(d, 4096, want, len) != MIRC_OK || mirc_block_flush(d) != MIRC_OK) {
            printf("persist: write or flush failed\n");
            return 1;
        }
        printf("persist: written and flushed\n");
        return 0;
    }
    if (mirc_block_read(d, 4096, buf, len) != MIRC_OK || memcmp(buf, want, len) != 0) {
        printf("persist: data did not survive\n");
        return 1;
    }
    printf("persist: data survived the restart\n");
    return 0;
}

static int all(void)
{
    char name[16];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < NDISKS; i++) {
            snprintf(name, sizeof name, "disk%d", i);
            mirc_block *d = disk(name);
            mirc_block_info in;
            mirc_block_info_get(d, &in);
            if (in.read_only)
                continue;
            memset(want, 'A' + i, in.sector_size);
            if (pass == 0 &&
                mirc_block_write(d, in.capacity - in.sector_size, want, in.sector_size) != MIRC_OK)
                return 1;
            if (pass == 1 &&
                (mirc_block_read(d, in.capacity - in.sector_size, buf, in.sector_size) != MIRC_OK ||
                 memcmp(buf, want, in.sector_size) != 0)) {
                printf("%s holds another disk's data\n", name);
                return 1;
            }
        }
    }
    printf("%d disks used at once, each kept its own data\n", NDISKS);
    return 0;
}

int mirc_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "info") == 0)
        return info();
    if (strcmp(cmd, "pattern") == 0 && argc > 2)
        return pattern(argv[2]);
    if (strcmp(cmd, "errors") == 0)
        return errors();
    if (strcmp(cmd, "persist-write") == 0 && argc > 2)
        return persist(1, (uint32_t)atoi(argv[2]));
    if (strcmp(cmd, "persist-read") == 0 && argc > 2)
        return persist(0, (uint32_t)atoi(argv[2]));
    if (strcmp(cmd, "all") == 0)
        return all();
    printf("blockdev: unknown check '%s'\n", cmd);
    return 2;
}
