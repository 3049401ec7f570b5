/* backends/unix/unix.h: what the unix backend's files share. */
#ifndef MIRC_UNIX_H
#define MIRC_UNIX_H

#include <uv.h>

#include "platform.h"

#include "mirc/unix.h" /* mirc_unix_loop: the process's one libuv loop */

/* Prints "mirc: <msg>\n" on stderr-free console; for attach errors. */
void unix_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Device specs as given in runtime options ("--net:NAME=SPEC"). A spec is a
 * comma-separated list of key=value pairs; the first item may be a bare
 * word (the mode for NICs, the file for disks). As in QEMU's options, a comma
 * inside a value is written twice: "file=a,,b.img" is the file "a,b.img".
 */
struct unix_kv {
    char *key, *val; /* val is "" for a bare word */
};
#define UNIX_KV_MAX 16
/* Splits `spec` in place, turning ",," into ",". Returns the number of items, or -1 if too many. */
int unix_kv_split(char *spec, struct unix_kv *kv, int max);

/* Per-device registration, called from mirc_plat_option; 0 or -1 after unix_err. */
int unix_net_add(const char *name, char *spec);
int unix_block_add(const char *name, char *spec);

/* Sets `ready` bits from libuv callbacks during mirc_plat_yield. */
extern mirc_plat_set unix_ready;
/* Starts or stops polling each NIC so that only the interesting ones wake us. */
void unix_net_poll(mirc_plat_set interest);

#endif
