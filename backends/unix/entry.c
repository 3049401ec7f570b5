/* backends/unix/entry.c: the process's main(): boot the runtime, exit with the app's status. */
#include <stdio.h>

#include "unix.h"

int main(int argc, char **argv)
{
    mirc_unix_loop();
    int status = mirc_rt_boot(argc, argv);
    fflush(stdout);
    return status;
}
