/* tests/unit/unix/capture.h: capture what the backend writes to fd 1 (its console). */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int capture_saved = -1;
static FILE *capture_file;

static inline void capture_start(void)
{
    fflush(stdout);
    capture_file = tmpfile();
    capture_saved = dup(1);
    dup2(fileno(capture_file), 1);
}

/* Stops capturing; returns what was written (static buffer). */
static inline const char *capture_end(void)
{
    static char buf[4096];
    fflush(stdout);
    dup2(capture_saved, 1);
    close(capture_saved);
    rewind(capture_file);
    size_t n = fread(buf, 1, sizeof buf - 1, capture_file);
    buf[n] = 0;
    fclose(capture_file);
    return buf;
}

#endif
