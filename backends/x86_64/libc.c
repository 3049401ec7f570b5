/* backends/x86_64/libc.c: newlib's system-call layer (console I/O, heap, exit, time) and SSP. */

/*
 * newlib for x86_64-elf is built with --disable-newlib-supplied-syscalls
 * and MISSING_SYSCALL_NAMES (scripts/build-sysroot): it calls the POSIX
 * names below (write, sbrk, ...) and _exit. They are weak so an application
 * may interpose its own. There are no files: descriptors 0, 1 and 2 are the
 * console (a tty, so stdout is line buffered); everything else fails with
 * EBADF or ENOSYS.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <unistd.h>

#include "mirc/mirc.h"
#include "platform.h"
#include "x86.h"

#undef errno
extern int errno;

static uintptr_t heap_start, heap_cur, heap_end;

void x86_heap_init(uintptr_t start, uintptr_t end)
{
    heap_start = heap_cur = (start + 15) & ~(uintptr_t)15;
    heap_end = end;
}

uint64_t mirc_plat_memory(void)
{
    return heap_end - heap_start;
}

size_t x86_heap_free(void)
{
    return heap_end - heap_cur;
}

/* malloc's only source of memory: returns (void *)-1 with ENOMEM when the heap is full. */
__attribute__((weak)) void *sbrk(ptrdiff_t incr)
{
    uintptr_t old = heap_cur;
    if (incr < 0 ? (uintptr_t)-incr > old : (uintptr_t)incr > heap_end - old) {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_cur = old + (uintptr_t)incr;
    return (void *)old;
}

__attribute__((weak)) int write(int fd, const void *buf, size_t len)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    mirc_plat_console_write(buf, len);
    return (int)len;
}

__attribute__((weak)) int read(int fd, void *buf, size_t len)
{
    (void)buf;
    (void)len;
    if (fd != 0) {
        errno = EBADF;
        return -1;
    }
    return 0; /* the console has no input: end of file */
}

__attribute__((weak)) int close(int fd)
{
    if (fd >= 0 && fd <= 2)
        return 0;
    errno = EBADF;
    return -1;
}

__attribute__((weak)) int fstat(int fd, struct stat *st)
{
    if (fd < 0 || fd > 2) {
        errno = EBADF;
        return -1;
    }
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFCHR;
    return 0;
}

__attribute__((weak)) int isatty(int fd)
{
    if (fd >= 0 && fd <= 2)
        return 1;
    errno = EBADF;
    return 0;
}

__attribute__((weak)) off_t lseek(int fd, off_t off, int whence)
{
    (void)off;
    (void)whence;
    errno = fd >= 0 && fd <= 2 ? ESPIPE : EBADF;
    return -1;
}

__attribute__((weak)) int open(const char *path, int flags, ...)
{
    (void)path;
    (void)flags;
    errno = ENOSYS; /* no file system: use the BLOCK API */
    return -1;
}

__attribute__((weak)) int unlink(const char *path)
{
    (void)path;
    errno = ENOSYS;
    return -1;
}

__attribute__((weak)) int link(const char *a, const char *b)
{
    (void)a;
    (void)b;
    errno = ENOSYS;
    return -1;
}

__attribute__((weak)) int stat(const char *path, struct stat *st)
{
    (void)path;
    (void)st;
    errno = ENOSYS;
    return -1;
}

__attribute__((weak)) int fork(void)
{
    errno = ENOSYS;
    return -1;
}

__attribute__((weak)) int wait(int *status)
{
    (void)status;
    errno = ENOSYS;
    return -1;
}

__attribute__((weak)) int execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path;
    (void)argv;
    (void)envp;
    errno = ENOSYS;
    return -1;
}

__attribute__((weak)) int getpid(void)
{
    return 1;
}

/* abort() raises SIGABRT through here. */
__attribute__((weak)) int kill(int pid, int sig)
{
    if (pid != 1) {
        errno = ESRCH;
        return -1;
    }
    x86_abort_at(sig == SIGABRT ? "abort() called" : "killed by a signal",
                 (uint64_t)(uintptr_t)__builtin_return_address(0));
}

_Noreturn void _exit(int status)
{
    if (status < 0 || status > MIRC_EXIT_MAX) {
        static const char msg[] = "mirc: exit() with a status outside 0..126; exiting with 255\n";
        mirc_plat_console_write(msg, sizeof msg - 1);
        status = MIRC_EXIT_ABORT;
    }
    mirc_plat_exit(status);
}

__attribute__((weak)) int gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    if (tv) {
        uint64_t ns = mirc_plat_wall();
        tv->tv_sec = (time_t)(ns / 1000000000u);
        tv->tv_usec = (suseconds_t)(ns % 1000000000u / 1000u);
    }
    return 0;
}

__attribute__((weak)) clock_t times(struct tms *t)
{
    /* CLOCKS_PER_SEC is 1000 in newlib: milliseconds of monotonic time, all "user" */
    clock_t c = (clock_t)(mirc_plat_monotonic() / 1000000u);
    if (t)
        *t = (struct tms){ .tms_utime = c };
    return c;
}

/* nano malloc has memalign but not posix_memalign, which aligned_alloc needs. */
__attribute__((weak)) int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = memalign(align, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

/*
 * newlib's assert() (and its bignum code) report through here; its own
 * version pulls in fiprintf and a second printf engine (5 KB).
 */
_Noreturn void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    static char msg[320];
    char num[12];
    int i = sizeof num - 1;
    num[i] = '\0';
    unsigned v = line > 0 ? (unsigned)line : 0;
    do
        num[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    const char *parts[] = { "assertion failed: ",
                            expr ? expr : "?",
                            " in ",
                            func ? func : "?",
                            " at ",
                            file ? file : "?",
                            ":",
                            num + i };
    size_t n = 0;
    for (size_t p = 0; p < sizeof parts / sizeof *parts; p++)
        for (const char *c = parts[p]; *c && n < sizeof msg - 1; c++)
            msg[n++] = *c;
    msg[n] = '\0';
    x86_abort_at(msg, (uint64_t)(uintptr_t)__builtin_return_address(0));
}

void _init(void)
{
}

void _fini(void)
{
}

/* With -mstack-protector-guard=global: the canary (set from RDRAND at boot) and its check. */
_Noreturn void __stack_chk_fail(void)
{
    x86_abort_at("stack smashing detected: a function's stack canary was overwritten",
                 (uint64_t)(uintptr_t)__builtin_return_address(0));
}
