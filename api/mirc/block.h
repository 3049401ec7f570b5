/* mirc/block.h: block devices that read and write whole sectors. */
#ifndef MIRC_BLOCK_H
#define MIRC_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "mirc/status.h"

/*
 * A disk is declared in mirc.toml (`[devices.NAME] kind = "block"`) and
 * acquired here by that name. Offsets and lengths are in bytes and must be
 * multiples of the sector size (512 or 4096, a power of two). All calls are
 * synchronous: when one returns MIRC_OK the transfer is complete; when it
 * returns anything else, a write may have been partly applied but nothing
 * outside [offset, offset + len) was touched.
 */

typedef struct mirc_block mirc_block; /* owned by the runtime, valid until exit */

typedef struct mirc_block_info {
    uint64_t capacity;    /* bytes; always a multiple of sector_size */
    uint32_t sector_size; /* bytes; a power of two, at least 512 */
    int read_only;        /* non-zero: writes return MIRC_READ_ONLY */
} mirc_block_info;

/*
 * Finds the disk declared as `name` and stores its handle in *out. Acquiring
 * the same name twice returns the same handle.
 *
 * Returns MIRC_OK, MIRC_INVALID (NULL argument) or MIRC_NOT_FOUND.
 */
mirc_status mirc_block_acquire(const char *name, mirc_block **out);

/* Fills *info. Returns MIRC_OK or MIRC_INVALID. */
mirc_status mirc_block_info_get(mirc_block *blk, mirc_block_info *info);

/* The manifest name of the disk. Never NULL. */
const char *mirc_block_name(const mirc_block *blk);

/*
 * Reads len bytes starting at byte `offset` into buf (owned by the caller).
 * len may span many sectors; len 0 succeeds and does nothing.
 *
 * Returns MIRC_OK; MIRC_INVALID (NULL buf, offset or len not a multiple of
 * the sector size); MIRC_RANGE (offset + len beyond the capacity); MIRC_IO.
 */
mirc_status mirc_block_read(mirc_block *blk, uint64_t offset, void *buf, size_t len);

/*
 * Writes len bytes from buf at byte `offset`. Returns as mirc_block_read,
 * plus MIRC_READ_ONLY (the device is read-only) and MIRC_NO_SPACE (the host
 * ran out of space for the backing store). Data is durable only after
 * mirc_block_flush returns MIRC_OK.
 */
mirc_status mirc_block_write(mirc_block *blk, uint64_t offset, const void *buf, size_t len);

/*
 * A barrier: every write that returned before this call is on stable storage
 * when it returns MIRC_OK, and survives a restart of the unikernel.
 *
 * Returns MIRC_OK, MIRC_INVALID or MIRC_IO.
 */
mirc_status mirc_block_flush(mirc_block *blk);

#endif
