/* backends/unix/main.c: the unix target's entry, console, clocks, entropy, yield and exit. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mirc/mirc.h"
#include "unix.h"

static uv_loop_t loop;
static uv_timer_t wake;
static int loop_ready;
mirc_plat_set unix_ready;

uv_loop_t *mirc_unix_loop(void)
{
    if (!loop_ready) {
        if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &wake) != 0) {
            fprintf(stderr, "mirc: cannot initialise libuv\n");
            exit(MIRC_EXIT_ABORT);
        }
        loop_ready = 1;
    }
    return &loop;
}

void mirc_plat_console_write(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stdout is gone; nothing useful left to do */
        buf += n;
        len -= (size_t)n;
    }
}

void unix_err(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    fflush(stdout);
    mirc_plat_console_write("mirc: ", 6);
    mirc_plat_console_write(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    mirc_plat_console_write("\n", 1);
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mirc_plat_monotonic(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t mirc_plat_wall(void)
{
    return clock_ns(CLOCK_REALTIME);
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MIRC_IO;
        p += n;
        len -= (size_t)n;
    }
    return MIRC_OK;
}

int unix_kv_split(char *spec, struct unix_kv *kv, int max)
{
    int n = 0;
    char *out = spec; /* unescaping only shortens: items are rewritten in place */
    for (char *in = spec, *item = spec;; in++) {
        if (*in == ',' && in[1] == ',') { /* ",," is a comma inside the item */
            *out++ = *in++;
            continue;
        }
        if (*in != ',' && *in != '\0') {
            *out++ = *in;
            continue;
        }
        int last = *in == '\0';
        *out++ = '\0';
        if (n == max)
            return -1;
        char *eq = strchr(item, '=');
        kv[n].key = item;
        kv[n].val = eq ? (*eq = '\0', eq + 1) : item + strlen(item);
        n++;
        if (last)
            return n;
        item = out;
    }
}

static uint64_t memory = 64ull << 20;

uint64_t mirc_plat_memory(void)
{
    return memory;
}

/* --memory=SIZE: 64M, 512K, 1G or bytes; at least 1 MiB. */
static mirc_status memory_option(const char *v)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (errno || end == v || *end || *v == '-' || n > (1ull << 40) >> shift ||
        (n << shift) < (1ull << 20)) {
        unix_err("--memory=%s: expected a size of at least 1M, e.g. --memory=64M", v);
        return MIRC_INVALID;
    }
    memory = (uint64_t)n << shift;
    return MIRC_OK;
}

mirc_status mirc_plat_option(const char *opt)
{
    if (strncmp(opt, "--memory=", 9) == 0)
        return memory_option(opt + 9);
    int is_net = strncmp(opt, "--net:", 6) == 0;
    int is_block = strncmp(opt, "--block:", 8) == 0;
    if (!is_net && !is_block)
        return MIRC_NOT_FOUND;

    char *copy = strdup(opt + (is_net ? 6 : 8)); /* kept for the process's life */
    if (!copy)
        return MIRC_NO_MEMORY;
    char *eq = strchr(copy, '=');
    if (!eq || eq == copy || !eq[1]) {
        unix_err("malformed option '%s': expected %sNAME=SPEC", opt,
                 is_net ? "--net:" : "--block:");
        free(copy);
        return MIRC_INVALID;
    }
    *eq = '\0';
    int r = is_net ? unix_net_add(copy, eq + 1) : unix_block_add(copy, eq + 1);
    return r == 0 ? MIRC_OK : MIRC_INVALID;
}

static void wake_cb(uv_timer_t *t)
{
    (void)t;
}

mirc_plat_set mirc_plat_yield(uint64_t deadline, mirc_plat_set interest)
{
    uv_loop_t *l = mirc_unix_loop();
    unix_ready = 0;
    unix_net_poll(interest);
    uint64_t now = mirc_plat_monotonic();
    if (deadline <= now) {
        uv_run(l, UV_RUN_NOWAIT);
    } else {
        if (deadline != UINT64_MAX) {
            /* libuv counts milliseconds: round up so we never wake early and spin */
            uint64_t ms = (deadline - now + 999999) / 1000000;
            uv_update_time(l);
            uv_timer_start(&wake, wake_cb, ms, 0);
        }
        uv_run(l, UV_RUN_ONCE);
        uv_timer_stop(&wake);
    }
    return unix_ready & interest;
}

_Noreturn void mirc_plat_exit(int status)
{
    fflush(stdout);
    exit(status);
}
