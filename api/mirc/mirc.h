/* mirc/mirc.h: the whole application-facing API, and the application's entry point. */
#ifndef MIRC_MIRC_H
#define MIRC_MIRC_H

#include "mirc/block.h"
#include "mirc/clock.h"
#include "mirc/console.h"
#include "mirc/entropy.h"
#include "mirc/loop.h"
#include "mirc/net.h"
#include "mirc/status.h"

/*
 * A mirc application defines mirc_main instead of main. argv[0] is the
 * unikernel's name from mirc.toml; then come the default arguments from the
 * manifest's `args`, then the arguments given at boot (`mirc run -- ...`),
 * unchanged: spaces and quoting are kept. argv[argc] is NULL.
 *
 * Its return value is the unikernel's exit status and must be 0..126; 255
 * is reserved for an abort (mirc_panic, a CPU fault, abort()). A value
 * outside 0..126 is reported by the runtime and turned into 255. Returning
 * from mirc_main ends the unikernel even if timers are still active.
 */
int mirc_main(int argc, char **argv);

#define MIRC_EXIT_ABORT 255
#define MIRC_EXIT_MAX   126

/*
 * Ends the unikernel now with `status` (0..126), from anywhere, including a
 * callback. Output written to the console before the call is not lost.
 */
_Noreturn void mirc_exit(int status);

/*
 * Aborts with a message naming the file and line, and exit status 255. For
 * broken invariants, not for bad input (that gets a status).
 */
#define mirc_panic(...) mirc_panic_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void mirc_panic_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Panics with the failed expression when `cond` is false. Always compiled in. */
#define MIRC_ASSERT(cond)                                                                          \
    ((cond) ? (void)0 : mirc_panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond))

/*
 * Prints a line prefixed "mirc: " unless the unikernel was started in quiet
 * mode (`mirc run --quiet`). For runtime and library diagnostics; apps use
 * printf.
 */
void mirc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Non-zero when started in quiet mode. */
int mirc_quiet(void);

/*
 * The memory this unikernel has for its heap, in bytes, fixed at boot: on kvm
 * and xen the guest RAM left after the image (the manifest's `memory`); on
 * unix the manifest's [target.unix] memory (default 64 MiB), which the process
 * does not enforce. Libraries size their buffers from it (libs/tcpip takes
 * half unless told otherwise).
 */
uint64_t mirc_memory_size(void);

/* The target this image was built for: "unix", "kvm" or "xen". */
const char *mirc_target(void);

#endif
