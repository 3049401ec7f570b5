/* bench/gate/console: N console writes of SIZE bytes each, timed by the guest's monotonic clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

/*
 * --writes=N (default 20000) --size=B (1..256, default 64). Each write is
 * one mirc_console_write: on kvm in ring 3, one gate call (OUTSB) each. The
 * last line is "console: N writes of B bytes in T us".
 */
int mirc_main(int argc, char **argv)
{
    unsigned long writes = 20000, size = 64;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--writes=", 9) == 0)
            writes = strtoul(argv[i] + 9, NULL, 10);
        else if (strncmp(argv[i], "--size=", 7) == 0)
            size = strtoul(argv[i] + 7, NULL, 10);
    }
    if (size < 1 || size > 256) {
        printf("console: --size must be 1..256\n");
        return 2;
    }
    char line[256];
    memset(line, '.', size);
    line[size - 1] = '\n';
    uint64_t t0 = mirc_clock_monotonic();
    for (unsigned long i = 0; i < writes; i++)
        mirc_console_write(line, size);
    uint64_t us = (mirc_clock_monotonic() - t0) / 1000;
    printf("\nconsole: %lu writes of %lu bytes in %llu us\n", writes, size, (unsigned long long)us);
    return 0;
}
