/* runtime/boot.c: from the backend's entry to mirc_main and back; exit, panic, logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "rt.h"

#ifndef MIRC_TARGET
#error "MIRC_TARGET must name the target (\"unix\", \"kvm\", \"xen\")"
#endif

static int quiet;

uint64_t mirc_memory_size(void)
{
    return mirc_plat_memory();
}

const char *mirc_target(void)
{
    return MIRC_TARGET;
}

int mirc_quiet(void)
{
    return quiet;
}

void mirc_rt_vprint(const char *prefix, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n = 0;

    if (prefix) {
        n = strlen(prefix);
        if (n > sizeof buf / 2)
            n = sizeof buf / 2;
        memcpy(buf, prefix, n);
    }
    int r = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < sizeof buf - n ? (size_t)r : sizeof buf - n - 1;
    mirc_plat_console_write(buf, n);
}

void mirc_rt_print(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mirc_rt_vprint(NULL, fmt, ap);
    va_end(ap);
}

void mirc_log(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    char line[480];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mirc_rt_print("mirc: %s\n", line);
}

_Noreturn void mirc_panic_at(const char *file, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    mirc_rt_print("mirc: PANIC at %s:%d: %s\n", file, line, msg);
    mirc_plat_exit(MIRC_EXIT_ABORT);
}

_Noreturn void mirc_exit(int status)
{
    fflush(stdout);
    if (status < 0 || status > MIRC_EXIT_MAX) {
        mirc_rt_print("mirc: exit status %d is outside 0..%d; exiting with %d\n", status,
                      MIRC_EXIT_MAX, MIRC_EXIT_ABORT);
        status = MIRC_EXIT_ABORT;
    } else if (!quiet) {
        mirc_rt_print("mirc: exit status %d\n", status);
    }
    mirc_plat_exit(status);
}

mirc_status mirc_console_write(const void *buf, size_t len)
{
    if (!buf && len)
        return MIRC_INVALID;
    fflush(stdout); /* keep printf output in order with ours */
    mirc_plat_console_write(buf, len);
    return MIRC_OK;
}

uint64_t mirc_clock_monotonic(void)
{
    return mirc_plat_monotonic();
}

uint64_t mirc_clock_wall(void)
{
    return mirc_plat_wall();
}

mirc_status mirc_entropy(void *buf, size_t len)
{
    if (!buf && len)
        return MIRC_INVALID;
    return len ? mirc_plat_entropy(buf, len) : MIRC_OK;
}

static const char *const status_names[MIRC_STATUS_COUNT] = {
    [MIRC_OK] = "ok",
    [MIRC_AGAIN] = "would block",
    [MIRC_INVALID] = "invalid argument",
    [MIRC_NOT_FOUND] = "not found",
    [MIRC_RANGE] = "out of range",
    [MIRC_READ_ONLY] = "read-only device",
    [MIRC_NO_MEMORY] = "out of memory",
    [MIRC_IO] = "I/O error",
    [MIRC_NO_SPACE] = "no space left",
    [MIRC_TOO_BIG] = "too big",
    [MIRC_UNSUPPORTED] = "not supported",
    [MIRC_BUSY] = "busy",
    [MIRC_CLOSED] = "closed",
    [MIRC_REFUSED] = "connection refused",
    [MIRC_RESET] = "connection reset",
    [MIRC_TIMED_OUT] = "timed out",
    [MIRC_UNREACHABLE] = "unreachable",
};

const char *mirc_status_str(mirc_status s)
{
    if ((unsigned)s < MIRC_STATUS_COUNT && status_names[s])
        return status_names[s];
    return "unknown status";
}

/* Returns the index of the first app argument, or -1 after printing why. */
static int parse_runtime_options(int argc, char **argv)
{
    int sep = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            sep = i;
            break;
        }
    }
    if (sep < 0) /* no "--": everything is for the app (as urunc passes it) */
        return 1;
    for (int i = 1; i < sep; i++) {
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        mirc_status s = mirc_plat_option(argv[i]);
        if (s == MIRC_NOT_FOUND) {
            mirc_rt_print("mirc: unknown runtime option '%s'; arguments for the application go "
                          "after '--'\n",
                          argv[i]);
            return -1;
        }
        if (s != MIRC_OK)
            return -1;
    }
    return sep + 1;
}

int mirc_rt_boot(int argc, char **argv)
{
    int first = parse_runtime_options(argc, argv);
    if (first < 0)
        return MIRC_EXIT_ABORT;
    if (mirc_rt_devices_open() != MIRC_OK)
        return MIRC_EXIT_ABORT;

    int nuser = argc - first;
    int n = 1 + (int)mirc_manifest.nargs + nuser;
    char **av = malloc(sizeof(char *) * (size_t)(n + 1));
    if (!av) {
        mirc_rt_print("mirc: out of memory for %d boot arguments\n", n);
        return MIRC_EXIT_ABORT;
    }
    av[0] = (char *)mirc_manifest.name;
    for (unsigned i = 0; i < mirc_manifest.nargs; i++)
        av[1 + i] = (char *)mirc_manifest.args[i];
    for (int i = 0; i < nuser; i++)
        av[1 + mirc_manifest.nargs + i] = argv[first + i];
    av[n] = NULL;

    mirc_log("%s on %s, %u device%s", mirc_manifest.name, MIRC_TARGET, mirc_manifest.ndevs,
             mirc_manifest.ndevs == 1 ? "" : "s");
    int status = mirc_main(n, av);
    free(av);
    fflush(stdout);
    if (status < 0 || status > MIRC_EXIT_MAX) {
        mirc_rt_print("mirc: mirc_main returned %d, outside 0..%d; exiting with %d\n", status,
                      MIRC_EXIT_MAX, MIRC_EXIT_ABORT);
        return MIRC_EXIT_ABORT;
    }
    mirc_log("exit status %d", status);
    return status;
}
