/* examples/hello: prints its boot arguments and exits with the status given by --exit=N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

int mirc_main(int argc, char **argv)
{
    int status = 0;

    printf("Hello from %s on %s!\n", argv[0], mirc_target());
    for (int i = 1; i < argc; i++) {
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
        if (strncmp(argv[i], "--exit=", 7) == 0)
            status = atoi(argv[i] + 7);
    }
    return status;
}
