/* runtime/loop.c: the event loop and a pairing heap of caller-owned timers. */
#include "rt.h"

static mirc_timer *heap;  /* root: the earliest (deadline, seq) */
static uint64_t next_seq; /* start order, for deadline ties */
static int running, stopping;
static unsigned refs; /* mirc_loop_ref() minus mirc_loop_unref() */
static uint64_t iterations;

static int before(const mirc_timer *a, const mirc_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

/* Both roots must have no siblings; the result has none either. */
static mirc_timer *meld(mirc_timer *a, mirc_timer *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (before(b, a)) {
        mirc_timer *t = a;
        a = b;
        b = t;
    }
    b->prev = a; /* a first child's prev is its parent */
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    return a;
}

/* The classic two-pass merge of a sibling list, without recursion. */
static mirc_timer *merge_pairs(mirc_timer *first)
{
    mirc_timer *pairs = NULL; /* melded pairs, in reverse order, linked by next */

    while (first) {
        mirc_timer *a = first, *b = a->next;
        first = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b)
            b->next = b->prev = NULL;
        a = meld(a, b);
        a->next = pairs;
        pairs = a;
    }
    mirc_timer *root = NULL;
    while (pairs) {
        mirc_timer *n = pairs->next;
        pairs->next = NULL;
        root = meld(root, pairs);
        pairs = n;
    }
    return root;
}

static void heap_remove(mirc_timer *t)
{
    if (t == heap) {
        heap = merge_pairs(t->child);
    } else {
        if (t->prev->child == t)
            t->prev->child = t->next;
        else
            t->prev->next = t->next;
        if (t->next)
            t->next->prev = t->prev;
        t->next = t->prev = NULL;
        heap = meld(heap, merge_pairs(t->child));
    }
    if (heap)
        heap->prev = NULL;
    t->child = t->next = t->prev = NULL;
}

static void heap_insert(mirc_timer *t)
{
    t->seq = next_seq++;
    t->child = t->next = t->prev = NULL;
    heap = meld(heap, t);
}

void mirc_timer_init(mirc_timer *timer, mirc_timer_cb cb, void *ctx)
{
    *timer = (mirc_timer){ .cb = cb, .ctx = ctx };
}

mirc_status mirc_timer_start_at(mirc_timer *timer, uint64_t deadline, uint64_t repeat)
{
    if (!timer || !timer->cb)
        return MIRC_INVALID;
    if (timer->active)
        heap_remove(timer);
    timer->deadline = deadline;
    timer->repeat = repeat;
    timer->active = 1;
    heap_insert(timer);
    return MIRC_OK;
}

mirc_status mirc_timer_start(mirc_timer *timer, uint64_t timeout, uint64_t repeat)
{
    uint64_t now = mirc_plat_monotonic();
    uint64_t deadline = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
    return mirc_timer_start_at(timer, deadline, repeat);
}

void mirc_timer_stop(mirc_timer *timer)
{
    if (timer && timer->active) {
        heap_remove(timer);
        timer->active = 0;
    }
}

int mirc_timer_active(const mirc_timer *timer)
{
    return timer && timer->active;
}

/*
 * Runs the timers due at `now` that were started before this pass began, so a
 * callback that restarts its timer with timeout 0 cannot starve the loop.
 */
static void run_timers(uint64_t now)
{
    uint64_t pass = next_seq;

    while (heap && heap->deadline <= now && heap->seq < pass && !stopping) {
        mirc_timer *t = heap;
        heap_remove(t);
        if (t->repeat) {
            uint64_t next = t->deadline + t->repeat;
            if (next <= now) /* missed periods are skipped, not replayed */
                next = now + t->repeat - (now - t->deadline) % t->repeat;
            t->deadline = next;
            heap_insert(t);
        } else {
            t->active = 0;
        }
        t->cb(t, t->ctx);
    }
}

mirc_status mirc_loop_run(void)
{
    if (running)
        return MIRC_BUSY;
    running = 1;
    stopping = 0;
    for (;;) {
        run_timers(mirc_plat_monotonic());
        mirc_plat_set interest = mirc_rt_net_interest();
        if (stopping || (!heap && !interest && !refs))
            break;
        mirc_plat_set ready = mirc_plat_yield(heap ? heap->deadline : UINT64_MAX, interest);
        iterations++;
        mirc_rt_net_dispatch(ready & interest);
        if (stopping)
            break;
    }
    running = 0;
    stopping = 0;
    return MIRC_OK;
}

void mirc_loop_stop(void)
{
    stopping = 1;
}

void mirc_loop_ref(void)
{
    refs++;
}

void mirc_loop_unref(void)
{
    if (refs == 0)
        mirc_panic("mirc_loop_unref without a matching mirc_loop_ref");
    refs--;
}

uint64_t mirc_loop_iterations(void)
{
    return iterations;
}

void mirc_rt_loop_reset(void)
{
    heap = NULL;
    next_seq = 0;
    running = stopping = 0;
    refs = 0;
    iterations = 0;
}
