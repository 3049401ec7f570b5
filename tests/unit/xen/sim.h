/* tests/unit/xen/sim.h: a simulated Xen world for the xen backend's protocol code. */
#ifndef XEN_SIM_H
#define XEN_SIM_H

/*
 * Everything the frontends talk to, written from the Xen public headers:
 * the port (pages with frame numbers, event channels, a clock), the grant
 * table as the hypervisor would police it, a xenstore daemon, a console
 * daemon, netback and blkback. It is single-threaded and deterministic:
 * every port wait() runs one step of the world (the daemon answers, the back
 * ends move) and advances the clock by step_ns. A frontend that waits more
 * than wait_limit times fails the test instead of hanging it.
 */

#include "xen_port.h"

#include <xen/io/blkif.h>
#include <xen/io/console.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>

#include "blkfront.h"
#include "netfront.h"
#include "xencons.h"
#include "xenstore.h"

#define SIM_DOMID       7 /* the guest */
#define SIM_BACK_DOMID  0 /* every back end runs in dom0 */
#define SIM_MAX_PAGES   4096
#define SIM_GNT_REFS    2048
#define SIM_FRAME_BASE  0x80000u
#define SIM_XS_EVTCHN   1
#define SIM_CONS_EVTCHN 2

/* ---- xenstore daemon ---- */

#define XSD_NODES   1024
#define XSD_WATCHES 64
#define XSD_TXS     8

struct xsd_node {
    char path[256];
    char val[XENSTORE_PAYLOAD_MAX];
    unsigned len;
};

struct xsd_op {
    int rm;
    char path[256];
    char val[256];
    unsigned len;
};

struct xsd {
    struct xsd_node *nodes; /* XSD_NODES */
    unsigned nnodes;
    struct {
        char path[256], token[64];
        int relative;
    } watch[XSD_WATCHES];
    unsigned nwatch;
    struct {
        uint32_t id;
        uint64_t gen;
        struct xsd_op ops[32];
        unsigned nops;
    } tx[XSD_TXS];
    uint32_t next_tx;
    uint64_t gen; /* bumped by every change outside a transaction, and by commits */
    char in[XENSTORE_PAYLOAD_MAX + 64];
    size_t in_len;
    char out[1 << 17];
    size_t out_len;
    uint64_t requests;
    uint32_t last_req_id;
    /* behaviour */
    unsigned chunk;    /* at most this many reply bytes into the ring per step; 0: no limit */
    unsigned in_chunk; /* at most this many request bytes taken per step; 0: no limit */
    int stall;         /* take no requests at all */
    int eagain;        /* this many transaction commits fail with EAGAIN */
    char fail_path[256], fail_err[16]; /* requests on this path get XS_ERROR fail_err */
    /* adversarial, for the next reply only */
    int bad_len;      /* header claims XENSTORE_PAYLOAD_MAX + 1 bytes */
    int stray_before; /* first a reply with a request id never sent */
    int event_before; /* first a watch event for every watch set */
    int wrong_type;   /* reply type is XS_DIRECTORY_PART */
    int drop;         /* no reply at all */
    const char *raw;  /* replace the payload (raw_len bytes) */
    unsigned raw_len;
    /* adversarial, at the next step */
    int unsolicited;  /* a reply nobody asked for */
    int bad_event;    /* a malformed watch event */
    int bad_rsp_prod; /* rsp_prod far beyond rsp_cons */
};

/* Back-end side access to the store; paths are absolute. xsd_set fires watches. */
void xsd_set(const char *path, const char *val);
void xsd_setf(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int xsd_get(const char *path, char *buf, size_t size); /* length, or -1 if absent */
long long xsd_get_num(const char *path);               /* -1 if absent or not a number */
void xsd_rm(const char *path);
void xsd_step(void);

/* ---- back ends ---- */

struct sim_frame {
    size_t len;
    unsigned char data[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN + 64];
};

#define SIM_VIF_QUEUE 64

struct sim_vif {
    unsigned id;
    char fe[64], be[96];
    int state;
    unsigned delay; /* steps spent in Initialising */
    int connected;
    netif_tx_back_ring_t tx;
    netif_rx_back_ring_t rx;
    grant_ref_t tx_ref, rx_ref;
    /* behaviour */
    int echo;          /* send every frame from the guest back to it */
    int hold_tx;       /* take no TX requests */
    int tx_reverse;    /* answer each step's TX requests in reverse order */
    int never_connect; /* stay in InitWait */
    int sg;            /* offer feature-sg */
    /* one-shot RX injections, applied to the next frame delivered */
    int rx_bogus_id, rx_error, rx_bad_offset, rx_extra, rx_overflow;
    /* frames waiting for the guest */
    struct sim_frame *rxq; /* SIM_VIF_QUEUE */
    unsigned rxq_head, rxq_n;
    /* what the guest sent */
    unsigned tx_frames, tx_bad, tx_max_slots;
    struct sim_frame *last_tx;
    unsigned rx_frames, rx_dropped;
};

/* Adds a vif (frontend and back-end directories in xenstore); the back end goes InitWait after
 * delay steps. */
struct sim_vif *sim_vif_add(unsigned id, const char *mac);
/* Queues a frame for the guest; returns 0 if the queue is full. */
int sim_vif_inject(struct sim_vif *v, const void *frame, size_t len);

struct sim_vbd {
    unsigned id;
    char fe[64], be[96];
    int state;
    unsigned delay;
    int connected;
    blkif_back_ring_t ring;
    grant_ref_t ring_ref;
    unsigned char *disk;
    uint64_t sectors; /* 512-byte units, as published */
    uint32_t ssize;
    int ro, mode_r, flush_cache, barrier;
    /* behaviour */
    unsigned batch;        /* answer in reverse order once this many are pending */
    uint64_t error_sector; /* requests touching this 512-byte sector fail */
    int bogus_id;          /* answer the next request with a wrong id */
    int extra_rsp;         /* produce one response for a request never sent */
    int hold;              /* take no requests */
    int close_on_request;  /* go Closing instead of answering */
    int never_connect;
    /* counters */
    unsigned reqs, flushes, barriers, bad_reqs, max_segs, max_pending;
    blkif_response_t pend[64];
    unsigned npend;
};

struct sim_vbd *sim_vbd_add(unsigned id, uint64_t bytes, uint32_t ssize);

/* ---- the world ---- */

struct sim {
    uint64_t now, step_ns, waits, wait_limit, steps;
    void *page[SIM_MAX_PAGES];
    unsigned npage, live, page_budget;
    grant_entry_v1_t gnt[SIM_GNT_REFS];
    unsigned gnt_faults; /* a back end touched a grant it had no right to */
    unsigned evtchn_next, evtchn_open, evtchn_budget;
    uint64_t notifies;
    struct xenstore_domain_interface *xs_ring;
    struct xencons_interface *cons_ring;
    char *cons_out; /* 1 MB */
    size_t cons_len;
    unsigned cons_rate; /* bytes the console daemon takes per step */
    struct xsd xsd;
    struct sim_vif *vif[8];
    unsigned nvif;
    struct sim_vbd *vbd[8];
    unsigned nvbd;
    void (*hook)(void); /* runs at every step, after the back ends */
    char console[8192]; /* what the runtime printed (mirc_plat_console_write) */
    size_t console_len;
};

extern struct sim sim;
extern struct xen_port sim_port;
extern struct xen_gnttab sim_gt;
extern struct xen_xs sim_xs;
extern struct xen_env sim_env;

/* A fresh world: no devices, xenstore client and environment ready. */
void sim_init(void);
void sim_step(void);
/* Runs n steps. */
void sim_run(unsigned n);

/* Back-end access to a grant: page or NULL (counted in gnt_faults). */
void *sim_grant(grant_ref_t ref, int write);
/* The same, holding a mapping: sets GTF_reading / GTF_writing until unmap. */
void *sim_grant_map(grant_ref_t ref, int write);
void sim_grant_unmap(grant_ref_t ref);

/* Guest-relative path -> absolute. */
const char *sim_abs(const char *rel);

#endif
