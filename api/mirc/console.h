/* mirc/console.h: the unikernel's console (stdout on unix, serial on kvm, PV ring on xen). */
#ifndef MIRC_CONSOLE_H
#define MIRC_CONSOLE_H

#include <stddef.h>

#include "mirc/status.h"

/*
 * Writes len bytes from buf to the console, completely and in order, before
 * returning. The caller keeps buf. Blocks only as long as the console needs
 * to take the bytes. printf() from the C library goes to the same console and
 * stays in order with this call.
 *
 * Returns MIRC_OK, MIRC_INVALID (buf is NULL and len > 0) or MIRC_IO.
 */
mirc_status mirc_console_write(const void *buf, size_t len);

#endif
