/* examples/clock: a speaking clock. A periodic timer announces the wall-clock time every
 * second (--interval=MS to change it) and a one-shot timer ends the run after --ticks=N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mirc/mirc.h"

struct speaker {
    mirc_timer tick;
    int told, ticks;
    uint64_t start;
};

static void say_time(mirc_timer *t, void *ctx)
{
    struct speaker *s = ctx;
    time_t now = (time_t)(mirc_clock_wall() / MIRC_NS_PER_S);
    struct tm tm = *gmtime(&now);
    uint64_t ms = (mirc_clock_monotonic() - s->start) / MIRC_NS_PER_MS;
    printf("At the third stroke it will be %02d:%02d:%02d UTC (%llu.%03llu s since boot)\n",
           tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)ms / 1000,
           (unsigned long long)ms % 1000);
    if (++s->told == s->ticks) {
        mirc_timer_stop(t);
        printf("That was %d announcements. Goodbye.\n", s->told);
    }
}

int mirc_main(int argc, char **argv)
{
    static struct speaker s = { .ticks = 10 };
    long interval_ms = 1000;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--ticks=", 8) == 0)
            s.ticks = atoi(argv[i] + 8);
        else if (strncmp(argv[i], "--interval=", 11) == 0)
            interval_ms = atol(argv[i] + 11);
        else {
            printf("usage: clock [--ticks=N] [--interval=MS]\n");
            return 2;
        }
    }
    if (s.ticks <= 0 || interval_ms <= 0) {
        printf("clock: --ticks and --interval must be positive\n");
        return 2;
    }
    s.start = mirc_clock_monotonic();
    mirc_timer_init(&s.tick, say_time, &s);
    mirc_timer_start(&s.tick, (uint64_t)interval_ms * MIRC_NS_PER_MS,
                     (uint64_t)interval_ms * MIRC_NS_PER_MS);
    mirc_loop_run(); /* returns when the timer has stopped: nothing left to wait for */
    return 0;
}
