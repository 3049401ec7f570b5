/* Timers and the loop against the simulated platform: order, periods, stop, starvation. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "fake_platform.h"
#include "mirc/mirc.h"

static void setup(void)
{
    fake_reset();
}

TestSuite(loop, .init = setup);

struct rec {
    mirc_timer t;
    int id;
    uint64_t fired_at;
    int fired;
};

static int order[10000], norder;

static void record_cb(mirc_timer *t, void *ctx)
{
    struct rec *r = ctx;
    (void)t;
    r->fired++;
    r->fired_at = mirc_clock_monotonic();
    order[norder++] = r->id;
}

Test(loop, timer_fires_once_at_its_deadline)
{
    struct rec r = { .id = 1 };
    uint64_t start = fake.now;
    mirc_timer_init(&r.t, record_cb, &r);
    cr_assert_eq(mirc_timer_start(&r.t, 5 * MIRC_NS_PER_MS, 0), MIRC_OK);
    cr_assert(mirc_timer_active(&r.t));
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(r.fired, 1);
    cr_assert_eq(r.fired_at, start + 5 * MIRC_NS_PER_MS);
    cr_assert_not(mirc_timer_active(&r.t));
}

Test(loop, thousands_of_timers_fire_in_deadline_order_ties_in_start_order)
{
    enum { N = 5000 };
    static struct rec r[N];
    srand(42);
    norder = 0;
    for (int i = 0; i < N; i++) {
        r[i] = (struct rec){ .id = i };
        mirc_timer_init(&r[i].t, record_cb, &r[i]);
        mirc_timer_start(&r[i].t, (uint64_t)(rand() % 500) * MIRC_NS_PER_MS, 0);
    }
    mirc_loop_run();
    cr_assert_eq(norder, N);
    for (int i = 1; i < N; i++) {
        struct rec *a = &r[order[i - 1]], *b = &r[order[i]];
        cr_assert(a->t.deadline < b->t.deadline ||
                      (a->t.deadline == b->t.deadline && a->id < b->id),
                  "timer %d (deadline %llu) fired before %d (deadline %llu)", a->id,
                  (unsigned long long)a->t.deadline, b->id, (unsigned long long)b->t.deadline);
        cr_assert_eq(b->fired_at, b->t.deadline);
    }
}

Test(loop, stopping_half_of_many_timers_keeps_the_rest_in_order)
{
    enum { N = 3000 };
    static struct rec r[N];
    srand(7);
    norder = 0;
    for (int i = 0; i < N; i++) {
        r[i] = (struct rec){ .id = i };
        mirc_timer_init(&r[i].t, record_cb, &r[i]);
        mirc_timer_start(&r[i].t, (uint64_t)(rand() % 1000) * MIRC_NS_PER_US, 0);
    }
    for (int i = 0; i < N; i += 2)
        mirc_timer_stop(&r[i].t);
    mirc_timer_stop(&r[0].t);      /* idempotent */
    for (int i = 1; i < N; i += 6) /* restarting moves a timer */
        mirc_timer_start(&r[i].t, 2 * MIRC_NS_PER_MS, 0);
    mirc_loop_run();
    cr_assert_eq(norder, N / 2);
    for (int i = 0; i < norder; i++)
        cr_assert(order[i] % 2 == 1, "stopped timer %d fired", order[i]);
    for (int i = 1; i < norder; i++)
        cr_assert_leq(r[order[i - 1]].fired_at, r[order[i]].fired_at);
}

struct periodic {
    mirc_timer t;
    int n, stop_after;
    uint64_t at[16];
    uint64_t work; /* simulated time the callback takes */
    int once;      /* only the first call takes `work` */
};

static void periodic_cb(mirc_timer *t, void *ctx)
{
    struct periodic *p = ctx;
    p->at[p->n++] = fake.now;
    fake.now += p->work;
    if (p->once)
        p->work = 0;
    if (p->n == p->stop_after)
        mirc_timer_stop(t);
}

/* Runs the loop with the callback's work applied to its first call only. */
static int mirc_timer_run_once_then_no_work(struct periodic *p)
{
    p->once = 1;
    return (int)mirc_loop_run();
}

Test(loop, periodic_timer_does_not_drift)
{
    struct periodic p = { .stop_after = 5, .work = 3 * MIRC_NS_PER_MS };
    uint64_t start = fake.now;
    mirc_timer_init(&p.t, periodic_cb, &p);
    mirc_timer_start(&p.t, MIRC_NS_PER_S, MIRC_NS_PER_S);
    mirc_loop_run();
    cr_assert_eq(p.n, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(p.at[i], start + (uint64_t)(i + 1) * MIRC_NS_PER_S);
}

Test(loop, periodic_timer_skips_missed_periods)
{
    struct periodic p = { .stop_after = 4, .work = 2500 * MIRC_NS_PER_MS };
    uint64_t start = fake.now;
    mirc_timer_init(&p.t, periodic_cb, &p);
    mirc_timer_start(&p.t, MIRC_NS_PER_S, MIRC_NS_PER_S);
    cr_assert_eq(mirc_timer_run_once_then_no_work(&p), 0);
    /* fires at 1 s and works until 3.5 s: the periods at 2 s and 3 s are missed and
     * make up one late call, then the timer is back on its grid at 4 s and 5 s */
    cr_assert_eq(p.at[0], start + 1 * MIRC_NS_PER_S);
    cr_assert_geq(p.at[1], start + 3500 * MIRC_NS_PER_MS);
    cr_assert_lt(p.at[1], start + 3600 * MIRC_NS_PER_MS);
    cr_assert_eq(p.at[2], start + 4 * MIRC_NS_PER_S);
    cr_assert_eq(p.at[3], start + 5 * MIRC_NS_PER_S);
}

static int zero_runs;
static void zero_cb(mirc_timer *t, void *ctx)
{
    (void)ctx;
    zero_runs++;
    mirc_timer_start(t, 0, 0); /* would starve a naive loop */
}

static void stop_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    mirc_loop_stop();
}

Test(loop, timer_restarted_with_zero_timeout_does_not_starve_others)
{
    mirc_timer z, s;
    mirc_timer_init(&z, zero_cb, NULL);
    mirc_timer_init(&s, stop_cb, NULL);
    zero_runs = 0;
    mirc_timer_start(&z, 0, 0);
    mirc_timer_start(&s, 10 * MIRC_NS_PER_MS, 0);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_gt(zero_runs, 0);
    /* once per loop iteration, never twice in one pass */
    cr_assert_leq((uint64_t)zero_runs, mirc_loop_iterations() + 1, "%d runs in %llu iterations",
                  zero_runs, (unsigned long long)mirc_loop_iterations());
    cr_assert(mirc_timer_active(&z)); /* stop ended the loop, not exhaustion */
}

Test(loop, run_returns_at_once_with_nothing_to_wait_for)
{
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(fake.yields, 0);
}

static mirc_status nested_status;
static void nested_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    nested_status = mirc_loop_run();
}

Test(loop, run_from_inside_a_callback_is_refused)
{
    mirc_timer t;
    mirc_timer_init(&t, nested_cb, NULL);
    mirc_timer_start(&t, 1, 0);
    mirc_loop_run();
    cr_assert_eq(nested_status, MIRC_BUSY);
}

Test(loop, uninitialised_timer_is_rejected)
{
    mirc_timer t = { 0 };
    cr_assert_eq(mirc_timer_start(&t, 1, 0), MIRC_INVALID);
    cr_assert_eq(mirc_timer_start(NULL, 1, 0), MIRC_INVALID);
}

Test(loop, huge_timeout_saturates_instead_of_wrapping)
{
    struct rec r = { .id = 1 }, s = { .id = 2 };
    mirc_timer_init(&r.t, record_cb, &r);
    mirc_timer_init(&s.t, record_cb, &s);
    mirc_timer_start(&r.t, UINT64_MAX, 0);
    mirc_timer_start(&s.t, 1, 0);
    norder = 0;
    mirc_timer t;
    mirc_timer_init(&t, stop_cb, NULL);
    mirc_timer_start(&t, 2, 0);
    mirc_loop_run();
    cr_assert_eq(norder, 1);
    cr_assert_eq(order[0], 2);
    cr_assert_eq(r.t.deadline, UINT64_MAX);
}
