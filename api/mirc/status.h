/* mirc/status.h: the one status enum every mirc call returns. */
#ifndef MIRC_STATUS_H
#define MIRC_STATUS_H

/*
 * Every function in the mirc API that can fail returns a mirc_status. There
 * is no errno and no -1 with a side channel: MIRC_OK means the call did what
 * it says, anything else means it did nothing observable unless its comment
 * says otherwise. New values are only ever appended.
 */
typedef enum mirc_status {
    MIRC_OK = 0,
    MIRC_AGAIN,       /* nothing to do now, try after the next readiness callback */
    MIRC_INVALID,     /* an argument is malformed: NULL, misaligned, bad length */
    MIRC_NOT_FOUND,   /* no device or name by that name */
    MIRC_RANGE,       /* offset or length outside the device or buffer */
    MIRC_READ_ONLY,   /* write to a read-only device */
    MIRC_NO_MEMORY,   /* a pool or buffer is exhausted */
    MIRC_IO,          /* the device or host reported an error */
    MIRC_NO_SPACE,    /* the backing store is full */
    MIRC_TOO_BIG,     /* a frame or message larger than the device allows */
    MIRC_UNSUPPORTED, /* the target or device cannot do this */
    MIRC_BUSY,        /* the handle is in use (already acquired, already started) */
    MIRC_CLOSED,      /* the peer or the handle is closed */
    MIRC_REFUSED,     /* connection refused */
    MIRC_RESET,       /* connection reset by the peer */
    MIRC_TIMED_OUT,   /* a deadline passed */
    MIRC_UNREACHABLE, /* no route to the destination */
    MIRC_STATUS_COUNT
} mirc_status;

/* A short, static, human-readable name for a status ("out of range"). Never NULL. */
const char *mirc_status_str(mirc_status s);

#endif
