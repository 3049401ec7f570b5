/* Conformance: monotonic and wall clocks, sleeps, past deadlines, many timers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"

static int monotonic(void)
{
    uint64_t prev = mirc_clock_monotonic(), first = prev;
    for (int i = 0; i < 1000000; i++) {
        uint64_t now = mirc_clock_monotonic();
        if (now < prev) {
            printf("monotonic went back by %" PRIu64 " ns\n", prev - now);
            return 1;
        }
        prev = now;
    }
    while (mirc_clock_monotonic() - first < 20 * MIRC_NS_PER_MS)
        ;
    printf("monotonic ok\n");
    return 0;
}

struct sleeper {
    mirc_timer t;
    int n;
    uint64_t last;
};

static void slept(mirc_timer *t, void *ctx)
{
    struct sleeper *s = ctx;
    uint64_t now = mirc_clock_monotonic();
    printf("slept %d: %" PRIu64 " ms\n", s->n + 1, (now - s->last) / MIRC_NS_PER_MS);
    fflush(stdout);
    s->last = now;
    if (++s->n < 6) /* six: the host measures the five gaps between their lines */
        mirc_timer_start(t, MIRC_NS_PER_S, 0);
}

static void fired(mirc_timer *t, void *ctx)
{
    (void)t;
    *(uint64_t *)ctx = mirc_clock_monotonic();
}

static int past(void)
{
    static mirc_timer t;
    uint64_t at = 0, start = mirc_clock_monotonic();
    mirc_timer_init(&t, fired, &at);
    mirc_timer_start_at(&t, start - MIRC_NS_PER_S, 0);
    mirc_loop_run();
    uint64_t took = at - start;
    printf("past deadline %s\n", took < 20 * MIRC_NS_PER_MS ? "returns at once" : "was slow");
    return 0;
}

struct ordered {
    mirc_timer t;
    int id;
};

static int fired_count, misordered;
static uint64_t last_deadline;

static void in_order(mirc_timer *t, void *ctx)
{
    (void)ctx;
    if (t->deadline < last_deadline)
        misordered++;
    last_deadline = t->deadline;
    fired_count++;
}

static int timers(int n)
{
    struct ordered *o = calloc((size_t)n, sizeof *o);
    if (!o)
        return 1;
    uint32_t seed = 12345;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245 + 12345;
        mirc_timer_init(&o[i].t, in_order, NULL);
        mirc_timer_start(&o[i].t, (seed >> 8) % (300 * MIRC_NS_PER_MS), 0);
    }
    mirc_loop_run();
    printf("%d timers fired, %d out of order\n", fired_count, misordered);
    free(o);
    return 0;
}

int mirc_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "monotonic") == 0)
        return monotonic();
    if (strcmp(cmd, "wall") == 0) {
        uint64_t w = mirc_clock_wall();
        printf("wall %" PRIu64 ".%09" PRIu64 "\n", w / MIRC_NS_PER_S, w % MIRC_NS_PER_S);
        return 0;
    }
    if (strcmp(cmd, "sleeps") == 0) {
        static struct sleeper s;
        s.last = mirc_clock_monotonic();
        printf("sleeping\n");
        fflush(stdout);
        mirc_timer_init(&s.t, slept, &s);
        mirc_timer_start(&s.t, MIRC_NS_PER_S, 0);
        mirc_loop_run();
        return 0;
    }
    if (strcmp(cmd, "past") == 0)
        return past();
    if (strcmp(cmd, "timers") == 0 && argc > 2)
        return timers(atoi(argv[2]));
    printf("time: unknown check '%s'\n", cmd);
    return 2;
}
