/* fuzz/fuzz_int.h: the fuzz platform's state, shared with the harness. */
#ifndef FUZZ_INT_H
#define FUZZ_INT_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_TX 64

struct fuzz_tx {
    size_t len;
    uint8_t data[1514];
};

struct fuzz_plat {
    uint64_t now, rng;
    uint8_t rx[65536]; /* the frame waiting to be read */
    size_t rx_len;
    int rx_pending;
    struct fuzz_tx tx[FUZZ_TX]; /* the last frames sent */
    uint64_t ntx;
};

extern struct fuzz_plat fuzz_plat;

#endif
