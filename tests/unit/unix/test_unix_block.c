/* The unix backend's file-backed disks: attach errors, bounds, read-only, sector sizes. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "platform.h"

static char dir[64];
static char path[128];

static void make_file(const char *name, off_t size)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, size), 0);
    close(fd);
}

static void setup(void)
{
    strcpy(dir, "/tmp/mirc-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(unix_block, .init = setup, .fini = teardown);

/* Registers `--block:NAME=SPEC` and opens it; console output goes to *out. */
static mirc_status attach(const char *name, const char *spec, int *h, mirc_block_info *info,
                          const char **out)
{
    char opt[300];
    snprintf(opt, sizeof opt, "--block:%s=%s", name, spec);
    capture_start();
    mirc_status s = mirc_plat_option(opt);
    if (s == MIRC_OK)
        s = mirc_plat_block_open(name, 0, h, info);
    *out = capture_end();
    return s;
}

Test(unix_block, file_backed_disk_round_trips_and_flushes)
{
    int h;
    mirc_block_info info;
    const char *out;
    char spec[200], w[1024], r[1024];
    make_file("a.img", 1 << 20);
    snprintf(spec, sizeof spec, "file=%s", path);
    cr_assert_eq(attach("a", spec, &h, &info, &out), MIRC_OK, "%s", out);
    cr_assert_eq(info.capacity, 1 << 20);
    cr_assert_eq(info.sector_size, 512);
    cr_assert_eq(info.read_only, 0);
    memset(w, 0x3c, sizeof w);
    cr_assert_eq(mirc_plat_block_write(h, (1 << 20) - 1024, w, sizeof w), MIRC_OK);
    cr_assert_eq(mirc_plat_block_flush(h), MIRC_OK);
    cr_assert_eq(mirc_plat_block_read(h, (1 << 20) - 1024, r, sizeof r), MIRC_OK);
    cr_assert_eq(memcmp(w, r, sizeof r), 0);
    /* the backend re-checks bounds even though the runtime already did */
    cr_assert_eq(mirc_plat_block_read(h, 1 << 20, r, 512), MIRC_INVALID);
}

Test(unix_block, size_not_a_multiple_of_the_sector_size_is_refused_with_advice)
{
    int h;
    mirc_block_info info;
    const char *out;
    make_file("odd.img", 1000);
    cr_assert_eq(attach("odd", path, &h, &info, &out), MIRC_IO);
    cr_assert(strstr(out, "1000 bytes, not a non-zero multiple of the 512-byte sector size"), "%s",
              out);
    make_file("odd4k.img", 6144);
    char spec[200];
    snprintf(spec, sizeof spec, "%s,sector-size=4096", path);
    cr_assert_eq(attach("odd4k", spec, &h, &info, &out), MIRC_IO);
    cr_assert(strstr(out, "4096-byte sector size"), "%s", out);
}

Test(unix_block, sector_size_must_be_a_power_of_two_of_at_least_512)
{
    int h;
    mirc_block_info info;
    const char *out;
    char spec[200];
    make_file("b.img", 1 << 16);
    const char *bad[] = { "256", "1000", "0", "x", "131072" };
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(spec, sizeof spec, "%s,sector-size=%s", path, bad[i]);
        cr_assert_eq(attach("b", spec, &h, &info, &out), MIRC_INVALID, "sector-size=%s", bad[i]);
        cr_assert(strstr(out, "must be a power of two"), "%s", out);
    }
    snprintf(spec, sizeof spec, "%s,sector-size=4096", path);
    cr_assert_eq(attach("b4k", spec, &h, &info, &out), MIRC_OK, "%s", out);
    cr_assert_eq(info.sector_size, 4096);
}

Test(unix_block, missing_file_and_empty_file_are_named)
{
    int h;
    mirc_block_info info;
    const char *out;
    char spec[200];
    snprintf(spec, sizeof spec, "%s/none.img", dir);
    cr_assert_eq(attach("m", spec, &h, &info, &out), MIRC_IO);
    cr_assert(strstr(out, "disk 'm': cannot open") && strstr(out, "none.img"), "%s", out);
    make_file("empty.img", 0);
    cr_assert_eq(attach("e", path, &h, &info, &out), MIRC_IO);
    cr_assert(strstr(out, "0 bytes"), "%s", out);
}

Test(unix_block, read_only_disk_refuses_writes)
{
    int h;
    mirc_block_info info;
    const char *out;
    char spec[200], buf[512] = { 0 };
    make_file("ro.img", 4096);
    snprintf(spec, sizeof spec, "file=%s,read-only=on", path);
    cr_assert_eq(attach("ro", spec, &h, &info, &out), MIRC_OK, "%s", out);
    cr_assert(info.read_only);
    cr_assert_eq(mirc_plat_block_write(h, 0, buf, 512), MIRC_READ_ONLY);
    cr_assert_eq(mirc_plat_block_read(h, 0, buf, 512), MIRC_OK);
}

Test(unix_block, unknown_keys_and_undeclared_disks_get_clear_errors)
{
    int h;
    mirc_block_info info;
    const char *out;
    cr_assert_eq(attach("k", "x.img,sectors=9", &h, &info, &out), MIRC_INVALID);
    cr_assert(strstr(out, "unknown key 'sectors'"), "%s", out);
    capture_start();
    cr_assert_eq(mirc_plat_block_open("never", 0, &h, &info), MIRC_NOT_FOUND);
    out = capture_end();
    cr_assert(strstr(out, "disk 'never' is not attached"), "%s", out);
}

Test(unix_block, a_doubled_comma_is_a_comma_in_the_file_name_not_a_new_option)
{
    int h;
    mirc_block_info info;
    const char *out;
    /* the file "x,read-only=on.img": one comma would have made the disk read-only and named
     * the file "x"; doubled, as QEMU writes it, the comma belongs to the name */
    make_file("x,read-only=on.img", 1 << 20);
    char spec[300];
    snprintf(spec, sizeof spec, "file=%s/x,,read-only=on.img,sector-size=4096", dir);
    cr_assert_eq(attach("comma", spec, &h, &info, &out), MIRC_OK, "%s", out);
    cr_assert_eq(info.read_only, 0);
    cr_assert_eq(info.sector_size, 4096);
    cr_assert_eq(info.capacity, 1 << 20);
    /* ",,," is a comma and then a separator; the bare-word form unescapes the same way */
    make_file("y,.img", 1 << 20);
    snprintf(spec, sizeof spec, "%s/y,,.img,,,read-only=on", dir);
    cr_assert_eq(attach("comma2", spec, &h, &info, &out), MIRC_IO, "%s", out);
    cr_assert(strstr(out, "y,.img,"), "a comma then a separator: file 'y,.img,' %s", out);
    snprintf(spec, sizeof spec, "%s/y,,.img,read-only=on", dir);
    cr_assert_eq(attach("comma3", spec, &h, &info, &out), MIRC_OK, "%s", out);
    cr_assert_eq(info.read_only, 1);
}
