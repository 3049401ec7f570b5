/* backends/xen/xenbus.h: what every frontend shares: the environment, device lookup, xenbus states.
 */
#ifndef MIRC_XEN_XENBUS_H
#define MIRC_XEN_XENBUS_H

/*
 * A Xen PV device appears in xenstore as a frontend directory in our domain
 * ("device/vif/0", "device/vbd/51712") whose `backend` key names the back
 * end's directory in the driver domain ("/local/domain/0/backend/vif/7/0").
 * Each side publishes a `state` (enum xenbus_state, xen/io/xenbus.h) and
 * reacts to the other's: the back end reaches InitWait and publishes its
 * features, the frontend publishes ring references and its event channel and
 * moves on (Initialised or Connected), the back end maps them and reaches
 * Connected. Closing or Closed from the back end at any point means it is
 * going away; the frontend then fails every request with an error.
 *
 * Device matching: the n-th NIC (disk) of the manifest is the n-th entry of
 * device/vif (device/vbd) in ascending numeric device id. xl numbers vifs
 * 0, 1, ... and vbds by their virtual device (xvda = 51712, xvdb = 51728...),
 * so this is the order of the `vif` and `disk` lists of the xl config.
 *
 * Every function here may block in port wait, bounded by the deadlines given.
 */

#include "gnttab.h"
#include "xenstore.h"

#include <xen/io/xenbus.h>

#define XEN_CONNECT_TIMEOUT_NS 30000000000ull /* back end to reach a state: 30 s */
#define XEN_IO_TIMEOUT_NS      30000000000ull /* one block request: 30 s */

/* The services every frontend uses. The caller owns all of it. */
struct xen_env {
    struct xen_port port;
    struct xen_gnttab *gt;
    struct xen_xs *xs;
    uint64_t connect_timeout; /* ns */
    uint64_t io_timeout;      /* ns */
};

/* Fills env with the default timeouts. */
void xen_env_init(struct xen_env *env, const struct xen_port *port, struct xen_gnttab *gt,
                  struct xen_xs *xs);

struct xen_bus_dev {
    struct xen_env *xd_env;
    char xd_node[64];                 /* our directory, e.g. "device/vif/0" */
    char xd_backend[XEN_XS_PATH_MAX]; /* the back end's directory, absolute */
    domid_t xd_backend_id;
    int xd_watch;               /* watch on <backend>/state, or -1 */
    int xd_changed;             /* the watch fired since the state was last read */
    enum xenbus_state xd_state; /* the back end's state as last read */
    const char *xd_why;         /* after a failure: why, in a few words */
};

/*
 * Finds the index-th device of `type` ("vif", "vbd") in ascending numeric id
 * and writes its directory ("device/vif/0") to node. Stores the number of
 * devices of that type in *count (may be NULL). Returns MIRC_OK,
 * MIRC_NOT_FOUND (fewer than index + 1 devices), MIRC_TOO_BIG (node too
 * small), or a xenstore status.
 */
mirc_status xen_bus_find(struct xen_env *env, const char *type, unsigned index, char *node,
                         size_t size, unsigned *count);

/*
 * Reads `backend` and `backend-id` under node and watches the back end's
 * state. Returns MIRC_OK, MIRC_IO (missing or malformed keys) or a xenstore
 * status; xd_why says what failed.
 */
mirc_status xen_bus_open(struct xen_bus_dev *d, struct xen_env *env, const char *node);

/* Removes the watch. Never blocks for long (one xenstore request). */
void xen_bus_close(struct xen_bus_dev *d);

/*
 * Takes the device down politely: switches to Closing and, if the back end
 * may have mapped our pages (it was Initialised or Connected), waits up to
 * env->connect_timeout for it to reach Closing or Closed, then switches to
 * Closed. Errors are ignored: the caller releases what it can afterwards.
 */
void xen_bus_shutdown(struct xen_bus_dev *d);

/* Publishes our own state (<node>/state). */
mirc_status xen_bus_switch(struct xen_bus_dev *d, enum xenbus_state s);

/*
 * Waits until the back end's state is one of `states` (a bit set of
 * 1 << XenbusState...), for at most env->connect_timeout. Returns MIRC_OK,
 * MIRC_CLOSED (the back end reached Closing or Closed, or its state node
 * vanished after it had one), MIRC_TIMED_OUT, or a xenstore status.
 */
mirc_status xen_bus_wait(struct xen_bus_dev *d, unsigned states);

/*
 * Without waiting: takes in pending watch events and, if the back end's state
 * changed, re-reads it. Returns MIRC_OK while it is Connected, MIRC_CLOSED
 * once it is anything else, MIRC_IO if xenstore broke.
 */
mirc_status xen_bus_check(struct xen_bus_dev *d);

/*
 * Runs fn(ctx, tx) inside a xenstore transaction and commits it, starting
 * over (up to 16 times) while the commit reports a conflict. fn returns
 * MIRC_OK or a status that aborts the transaction. Returns MIRC_OK, fn's
 * status, MIRC_AGAIN (still conflicting after 16 tries) or a xenstore status.
 */
mirc_status xen_bus_transact(struct xen_bus_dev *d, mirc_status (*fn)(void *ctx, uint32_t tx),
                             void *ctx);

/* Joins node and key into out ("device/vif/0" + "mac"); MIRC_TOO_BIG if it does not fit. */
mirc_status xen_bus_path(char *out, size_t size, const char *dir, const char *key);

#endif
