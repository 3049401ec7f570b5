/* mirc/clock.h: monotonic and wall-clock time, in nanoseconds. */
#ifndef MIRC_CLOCK_H
#define MIRC_CLOCK_H

#include <stdint.h>

#define MIRC_NS_PER_US UINT64_C(1000)
#define MIRC_NS_PER_MS UINT64_C(1000000)
#define MIRC_NS_PER_S  UINT64_C(1000000000)

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
