/* backends/unix/block.c: disks backed by ordinary files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unix.h"

#define UNIX_BLOCK_MAX 16

struct unix_block {
    char *name;
    char *file;
    unsigned sector_size;
    int read_only;
    int fd;
    uint64_t capacity;
};

static struct unix_block disks[UNIX_BLOCK_MAX];
static int ndisks;

int unix_block_add(const char *name, char *spec)
{
    struct unix_kv kv[UNIX_KV_MAX];
    int n = unix_kv_split(spec, kv, UNIX_KV_MAX);

    if (ndisks == UNIX_BLOCK_MAX) {
        unix_err("too many disks (at most %d)", UNIX_BLOCK_MAX);
        return -1;
    }
    struct unix_block *d = &disks[ndisks];
    *d = (struct unix_block){ .name = (char *)name, .sector_size = 512, .fd = -1 };
    for (int i = 0; i < n; i++) {
        const char *k = kv[i].key, *v = kv[i].val;
        if (i == 0 && !*v) {
            d->file = kv[i].key; /* a bare word first: the file */
        } else if (strcmp(k, "file") == 0 && *v) {
            d->file = kv[i].val;
        } else if (strcmp(k, "sector-size") == 0) {
            char *end;
            unsigned long ss = strtoul(v, &end, 10);
            if (*end || ss < 512 || ss > 65536 || (ss & (ss - 1))) {
                unix_err("disk '%s': sector-size '%s' must be a power of two from 512 to 65536",
                         name, v);
                return -1;
            }
            d->sector_size = (unsigned)ss;
        } else if (strcmp(k, "read-only") == 0 && (!strcmp(v, "on") || !strcmp(v, "off") || !*v)) {
            d->read_only = strcmp(v, "off") != 0;
        } else {
            unix_err("disk '%s': unknown key '%s' (takes FILE or file=, sector-size=, "
                     "read-only=on|off)",
                     name, k);
            return -1;
        }
    }
    if (!d->file) {
        unix_err("disk '%s': no backing file given", name);
        return -1;
    }
    ndisks++;
    return 0;
}

mirc_status mirc_plat_block_open(const char *name, unsigned index, int *handle,
                                 mirc_block_info *info)
{
    (void)index;
    struct unix_block *d = NULL;
    for (int i = 0; i < ndisks; i++)
        if (strcmp(disks[i].name, name) == 0)
            d = &disks[i];
    if (!d) {
        unix_err("disk '%s' is not attached: start with --block:%s=FILE (mirc run does this from "
                 "mirc.toml)",
                 name, name);
        return MIRC_NOT_FOUND;
    }
    if (d->fd < 0) {
        int fd = open(d->file, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0) {
            unix_err("disk '%s': cannot open '%s': %s", name, d->file, strerror(errno));
            return MIRC_IO;
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            unix_err("disk '%s': '%s' is not a regular file", name, d->file);
            close(fd);
            return MIRC_IO;
        }
        if (st.st_size == 0 || st.st_size % d->sector_size) {
            unix_err("disk '%s': '%s' is %lld bytes, not a non-zero multiple of the %u-byte "
                     "sector size (resize it, e.g. truncate -s 16M %s)",
                     name, d->file, (long long)st.st_size, d->sector_size, d->file);
            close(fd);
            return MIRC_IO;
        }
        d->fd = fd;
        d->capacity = (uint64_t)st.st_size;
    }
    info->capacity = d->capacity;
    info->sector_size = d->sector_size;
    info->read_only = d->read_only;
    *handle = MIRC_PLAT_DEV_MAX - 1 - (int)(d - disks); /* NICs count up from 0 */
    return MIRC_OK;
}

static struct unix_block *get(int h)
{
    int i = MIRC_PLAT_DEV_MAX - 1 - h;
    return i >= 0 && i < ndisks && disks[i].fd >= 0 ? &disks[i] : NULL;
}

static mirc_status errno_status(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? MIRC_NO_SPACE : MIRC_IO;
}

mirc_status mirc_plat_block_read(int h, uint64_t off, void *buf, size_t len)
{
    struct unix_block *d = get(h);
    if (!d || off > d->capacity || len > d->capacity - off)
        return MIRC_INVALID;
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(d->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno_status(errno);
        if (n == 0) /* the file shrank under us */
            return MIRC_IO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return MIRC_OK;
}

mirc_status mirc_plat_block_write(int h, uint64_t off, const void *buf, size_t len)
{
    struct unix_block *d = get(h);
    if (!d || off > d->capacity || len > d->capacity - off)
        return MIRC_INVALID;
    if (d->read_only)
        return MIRC_READ_ONLY;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(d->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno_status(errno) : MIRC_IO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return MIRC_OK;
}

mirc_status mirc_plat_block_flush(int h)
{
    struct unix_block *d = get(h);
    if (!d)
        return MIRC_INVALID;
    if (fdatasync(d->fd) < 0)
        return errno_status(errno);
    return MIRC_OK;
}
