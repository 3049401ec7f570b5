/* mirc/clock.h: monotonic and wall-clock time, in nanoseconds. */
#ifndef MIRC_CLOCK_H
#define MIRC_CLOCK_H

#include <stdint.h>

#define MIRC_NS_PER_US 1000ull
#define MIRC_NS_PER_MS 1000000ull
#define MIRC_NS_PER_S 1000000000ull

/*
 * Nanoseconds since an arbitrary point before boot. Never goes backwards and
 * advances while the unikernel runs (and while it waits). Cheap: no VM exit
 * on kvm or xen. This is the time base of timers and yield deadlines.
 */
uint64_t mirc_clock_monotonic(void);

/*
 * Nanoseconds since 1970-01-01T00:00:00Z, as the host sees it at boot plus
 * monotonic time since. Can jump if the host's clock does; do not use it to
 * measure intervals.
 */
uint64_t mirc_clock_wall(void);

#endif
