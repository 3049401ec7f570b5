/* libs/tcpip/lwip/arch/cc.h: lwIP's compiler and platform glue for mirc (every target). */
#ifndef MIRC_LWIP_ARCH_CC_H
#define MIRC_LWIP_ARCH_CC_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t, from glibc and newlib alike: lwIP must not invent its own */

#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif

/* lwIP's checks that fail become mirc panics: a broken invariant, with file and line. */
void tcpip_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
void tcpip_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint32_t tcpip_lwip_rand(void);

#define LWIP_PLATFORM_ASSERT(x) tcpip_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        tcpip_lwip_diag x;                                                                         \
    } while (0)

#define LWIP_NO_UNISTD_H 1

#endif
