/* A unikernel built by someone else's Meson project with mirc as a subproject. */
#include <stdio.h>

#include "mirc/mirc.h"

static void done(mirc_timer *t, void *ctx)
{
    (void)t;
    *(int *)ctx = 1;
}

int mirc_main(int argc, char **argv)
{
    static mirc_timer t;
    static int fired;
    mirc_timer_init(&t, done, &fired);
    mirc_timer_start(&t, MIRC_NS_PER_MS, 0);
    mirc_loop_run();
    printf("consumer: %d args, first '%s', timer %s, target %s\n", argc - 1,
           argc > 1 ? argv[1] : "", fired ? "fired" : "did not fire", mirc_target());
    return argc - 1;
}
