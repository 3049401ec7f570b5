/* mirc/loop.h: the event loop and its timers. One loop per unikernel, no threads. */
#ifndef MIRC_LOOP_H
#define MIRC_LOOP_H

#include <stdint.h>

#include "mirc/status.h"

/*
 * The loop runs timers and NIC readiness callbacks (mirc_net_on_ready) until
 * mirc_loop_stop() is called or nothing is left that could ever call back:
 * no active timer, no readiness callback and no reference (mirc_loop_ref).
 * Between events the unikernel sleeps (halts the CPU on kvm and xen, blocks
 * in epoll on unix).
 *
 * Timers are handles the caller allocates and owns, like libuv's: the runtime
 * never allocates for them, and thousands of active timers cost O(log n) per
 * start, stop and expiry. A timer must stay valid while it is active.
 * Timers with the same deadline fire in the order they were started.
 */

typedef struct mirc_timer mirc_timer;
typedef void (*mirc_timer_cb)(mirc_timer *timer, void *ctx);

struct mirc_timer {
    /* Private: set through the functions below. */
    uint64_t deadline; /* monotonic ns */
    uint64_t repeat;   /* ns; 0 for one-shot */
    uint64_t seq;      /* start order, breaks deadline ties */
    mirc_timer_cb cb;
    void *ctx;
    mirc_timer *child, *next, *prev; /* pairing-heap links */
    int active;
};

/* Prepares a timer. Must be called before any other call on it. */
void mirc_timer_init(mirc_timer *timer, mirc_timer_cb cb, void *ctx);

/*
 * Starts (or restarts) the timer: cb runs once `timeout` ns from now, then,
 * if repeat is non-zero, every `repeat` ns after its previous deadline (so a
 * periodic timer does not drift; missed periods are not replayed). A timeout
 * of 0 runs cb at the next loop iteration.
 *
 * Returns MIRC_OK or MIRC_INVALID (timer NULL or not initialised).
 */
mirc_status mirc_timer_start(mirc_timer *timer, uint64_t timeout, uint64_t repeat);

/* Like mirc_timer_start with an absolute monotonic deadline (ns). */
mirc_status mirc_timer_start_at(mirc_timer *timer, uint64_t deadline, uint64_t repeat);

/* Stops the timer; cb will not run until it is started again. Idempotent. */
void mirc_timer_stop(mirc_timer *timer);

/* Non-zero while the timer is started and has not fired (or is periodic). */
int mirc_timer_active(const mirc_timer *timer);

/*
 * Runs the loop in the calling context until mirc_loop_stop() or until there
 * is nothing left to wait for. Callbacks run one at a time from inside this
 * call and may start and stop timers, set readiness callbacks and stop the
 * loop. Returns MIRC_OK, or MIRC_BUSY if called from inside a callback.
 */
mirc_status mirc_loop_run(void);

/* Makes mirc_loop_run return after the callback that called this one. */
void mirc_loop_stop(void);

/*
 * Keeps mirc_loop_run from returning for lack of work while a library waits
 * for events the loop cannot see itself: on unix, the socket stack's host
 * sockets, whose libuv callbacks run inside the platform's yield. Each
 * mirc_loop_ref() must be balanced by one mirc_loop_unref(); while the count
 * is above zero the loop sleeps in yield even with no timer and no NIC
 * callback. Does not block. Unbalanced unref is a broken invariant and
 * panics.
 */
void mirc_loop_ref(void);
void mirc_loop_unref(void);

/* The number of loop iterations so far (each yield to the platform is one). */
uint64_t mirc_loop_iterations(void);

#endif
