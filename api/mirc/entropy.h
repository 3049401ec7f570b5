/* mirc/entropy.h: random bytes for keys, sequence numbers and canaries. */
#ifndef MIRC_ENTROPY_H
#define MIRC_ENTROPY_H

#include <stddef.h>

#include "mirc/status.h"

/*
 * Fills buf with len random bytes from the platform's generator (getrandom on
 * unix, RDSEED/RDRAND on kvm and xen). Suitable for seeding a cryptographic
 * generator. The caller owns buf. Does not block once the runtime has booted.
 *
 * Returns MIRC_OK, MIRC_INVALID (buf is NULL and len > 0) or MIRC_IO (the
 * hardware generator kept failing; buf is then unspecified).
 */
mirc_status mirc_entropy(void *buf, size_t len);

#endif
