/* Conformance: boot arguments, console, exit statuses, globals. argv[1] picks the check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

static int initialised = 42;
static const char rodata[] = "read-only data";
static char zeroed[65536];
static long zeroed_long;
static double pi = 3.14159;

static int globals(void)
{
    for (size_t i = 0; i < sizeof zeroed; i++)
        if (zeroed[i]) {
            printf("zeroed[%zu] = %d\n", i, zeroed[i]);
            return 1;
        }
    if (initialised != 42 || zeroed_long != 0 || strcmp(rodata, "read-only data") != 0 ||
        pi < 3.14 || pi > 3.15) {
        printf("initialised globals are wrong\n");
        return 1;
    }
    initialised++;
    zeroed[100] = 1;
    printf("globals ok %d %d\n", initialised, zeroed[100]);
    return 0;
}

static void exit_from_callback(mirc_timer *t, void *ctx)
{
    (void)t;
    printf("exiting from a timer callback\n");
    mirc_exit(*(int *)ctx);
}

int mirc_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "args") == 0) {
        printf("argc=%d\n", argc - 2);
        for (int i = 2; i < argc; i++)
            printf("[%s]\n", argv[i]);
        return 0;
    }
    if (strcmp(cmd, "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    if (strcmp(cmd, "exit-in-callback") == 0 && argc > 2) {
        static int status;
        static mirc_timer t;
        status = atoi(argv[2]);
        mirc_timer_init(&t, exit_from_callback, &status);
        mirc_timer_start(&t, MIRC_NS_PER_MS, 0);
        mirc_loop_run();
        printf("the loop returned: mirc_exit did not exit\n");
        return 1;
    }
    if (strcmp(cmd, "abort") == 0) {
        printf("calling abort()\n");
        fflush(stdout);
        abort();
    }
    if (strcmp(cmd, "panic") == 0)
        mirc_panic("deliberate panic %d", 7);
    if (strcmp(cmd, "bad-exit") == 0)
        return 300;
    if (strcmp(cmd, "hello") == 0) {
        printf("hello\n");
        return 0;
    }
    if (strcmp(cmd, "long") == 0 && argc > 2) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++)
            printf("line %06d abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU\n", i);
        printf("end of %d lines\n", n);
        return 0;
    }
    if (strcmp(cmd, "console") == 0) {
        printf("one ");
        mirc_console_write("two ", 4);
        printf("three\n");
        mirc_console_write("four\n", 5);
        return mirc_console_write(NULL, 1) == MIRC_INVALID ? 0 : 1;
    }
    if (strcmp(cmd, "globals") == 0)
        return globals();
    printf("basics: unknown check '%s'\n", cmd);
    return 2;
}
