/* backends/platform.h: the contract every backend implements and the runtime calls. */
#ifndef MIRC_PLATFORM_H
#define MIRC_PLATFORM_H

/*
 * This is the whole boundary between portable code (runtime/, libs/, apps)
 * and a target, in the spirit of Solo5's ABI. A backend provides the
 * functions declared here and an entry point that ends in mirc_rt_boot();
 * everything else (loop, timers, argument checks, statistics, manifest
 * handling) is portable and lives in runtime/.
 *
 * Devices are small integer handles 0..MIRC_PLAT_DEV_MAX-1 chosen by the
 * backend, so that yield can report readiness as a bit set. The runtime has
 * already checked every argument it passes (alignment, ranges, lengths), but a
 * backend must still not trust a length it did not produce itself.
 */

#include <stddef.h>
#include <stdint.h>

#include "mirc/block.h"
#include "mirc/net.h"
#include "mirc/status.h"

#define MIRC_PLAT_DEV_MAX 64
typedef uint64_t mirc_plat_set; /* bit h set: device handle h has input */

/* Writes the whole buffer to the console, in order. Cannot fail usefully. */
void mirc_plat_console_write(const char *buf, size_t len);

uint64_t mirc_plat_monotonic(void); /* ns, never backwards */
uint64_t mirc_plat_wall(void);      /* ns since the epoch */
mirc_status mirc_plat_entropy(void *buf, size_t len);

/*
 * The memory the unikernel has for its heap, in bytes: kvm and xen, the RAM
 * left after the image and its tables; unix, what --memory said (default 64
 * MiB, not enforced). Fixed at boot.
 */
uint64_t mirc_plat_memory(void);

/*
 * Offers the backend a runtime option (an argument before "--" that the
 * runtime itself does not know, e.g. "--net=service0=tap,ifname=tap0" on
 * unix). Returns MIRC_OK if taken, MIRC_NOT_FOUND if unknown, MIRC_INVALID
 * (after printing why) if known but malformed.
 */
mirc_status mirc_plat_option(const char *opt);

/*
 * Attaches the `index`-th NIC of the manifest (0-based, in manifest order),
 * declared as `name`. On success stores its handle and info. Returns
 * MIRC_NOT_FOUND when the runner did not attach it, MIRC_IO when attaching
 * failed; the backend prints one line saying why before returning either.
 */
mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle, mirc_net_info *info);
mirc_status mirc_plat_net_write(int handle, const void *buf, size_t len);
/*
 * Reads one frame; MIRC_TOO_BIG when it does not fit `size` (it is gone). A
 * frame the backend refuses (on unix dgram: a datagram from a sender other
 * than the configured remote) is returned as MIRC_OK with *len = 0: the
 * runtime drops and counts it with the runts and reads on.
 */
mirc_status mirc_plat_net_read(int handle, void *buf, size_t size, size_t *len);

/* As mirc_plat_net_open, for the `index`-th disk of the manifest. */
mirc_status mirc_plat_block_open(const char *name, unsigned index, int *handle,
                                 mirc_block_info *info);
mirc_status mirc_plat_block_read(int handle, uint64_t offset, void *buf, size_t len);
mirc_status mirc_plat_block_write(int handle, uint64_t offset, const void *buf, size_t len);
mirc_status mirc_plat_block_flush(int handle);

/*
 * Sleeps until a device in `interest` may have input or the monotonic clock
 * reaches `deadline`, whichever comes first, and returns the devices that may
 * have input (possibly none). A deadline in the past polls without sleeping.
 * UINT64_MAX means no deadline.
 */
mirc_plat_set mirc_plat_yield(uint64_t deadline, mirc_plat_set interest);

/* Ends the unikernel with `status` (0..126, or 255 for an abort). */
_Noreturn void mirc_plat_exit(int status);

/* The runtime's side of the contract: backends call these and nothing else of runtime/. */

/*
 * Implemented by the runtime, called by the backend's entry point once the
 * platform is up: parses runtime options (before a "--" in argv), attaches
 * the manifest's devices, runs mirc_main and returns its exit status, which
 * the backend passes to mirc_plat_exit. argv[argc] must be NULL.
 */
int mirc_rt_boot(int argc, char **argv);

/*
 * Splits a boot command line into words as a POSIX shell would, without
 * expansions: blanks separate words; '...' keeps everything literally; "..."
 * keeps everything but lets \ escape " \ and $ and `; a \ outside quotes
 * escapes the next character. Writes at most max words (NUL-terminated, in
 * place in `line`) to argv and stores the count in *argc; argv[*argc] = NULL.
 * Returns MIRC_OK, MIRC_INVALID (unterminated quote or trailing \) or
 * MIRC_TOO_BIG (more than max - 1 words).
 */
mirc_status mirc_rt_split_cmdline(char *line, int max, char **argv, int *argc);

#endif
