/* mirc/net.h: network interfaces that move whole Ethernet frames. */
#ifndef MIRC_NET_H
#define MIRC_NET_H

#include <stddef.h>
#include <stdint.h>

#include "mirc/status.h"

/*
 * A NIC is declared in mirc.toml (`[devices.NAME] kind = "net"`) and acquired
 * here by that name. How it is attached (tap, Ethernet-over-UDP, virtio-net,
 * netfront) is the runner's business, never the application's.
 *
 * Frames are whole Ethernet frames: destination MAC, source MAC, EtherType,
 * payload; no preamble and no FCS. The MTU is the largest payload, so the
 * largest frame is mtu + MIRC_NET_HDR_LEN bytes.
 *
 * Reads never block. To wait for frames, register a readiness callback with
 * mirc_net_on_ready() and run the loop (mirc/loop.h); the loop calls it when
 * frames may be waiting, and the callback reads until MIRC_AGAIN.
 */

#define MIRC_NET_HDR_LEN 14   /* Ethernet header without VLAN tag */
#define MIRC_NET_MTU_MAX 9000 /* largest MTU any backend offers */

typedef struct mirc_net mirc_net; /* owned by the runtime, valid until exit */

typedef struct mirc_net_info {
    uint8_t mac[6]; /* the interface's own unicast address */
    uint16_t mtu;   /* largest payload, excluding the 14-byte header */
} mirc_net_info;

typedef struct mirc_net_stats {
    uint64_t rx_packets, rx_bytes; /* frames handed to the application */
    uint64_t tx_packets, tx_bytes; /* frames accepted by the device */
    uint64_t rx_dropped;           /* frames lost: runts, longer than mtu + 14, too big for
                                      the caller's buffer, or not from the link's peer */
    uint64_t tx_dropped;           /* frames refused: too big, too small, device error */
} mirc_net_stats;

/*
 * Finds the NIC declared as `name` and stores its handle in *out. Acquiring
 * the same name twice returns the same handle.
 *
 * Returns MIRC_OK, MIRC_INVALID (NULL argument), or MIRC_NOT_FOUND (no NIC of
 * that name in the manifest).
 */
mirc_status mirc_net_acquire(const char *name, mirc_net **out);

/*
 * Stores the index-th NIC of the manifest (0-based, in manifest order) in
 * *out, for code that serves every NIC without knowing their names (a TCP/IP
 * stack). The same NIC gives the same handle as mirc_net_acquire.
 *
 * Returns MIRC_OK, MIRC_INVALID (out is NULL) or MIRC_NOT_FOUND (the manifest
 * declares index NICs or fewer).
 */
mirc_status mirc_net_acquire_index(unsigned index, mirc_net **out);

/* Fills *info. Returns MIRC_OK or MIRC_INVALID (NULL argument). */
mirc_status mirc_net_info_get(mirc_net *net, mirc_net_info *info);

/* Copies the counters into *stats. Returns MIRC_OK or MIRC_INVALID. */
mirc_status mirc_net_stats_get(mirc_net *net, mirc_net_stats *stats);

/* The manifest name of the NIC. Never NULL. */
const char *mirc_net_name(const mirc_net *net);

/*
 * Sends one frame of len bytes from buf. The frame is queued or sent before
 * the call returns and the caller may reuse buf at once. Does not block.
 *
 * Returns MIRC_OK; MIRC_INVALID (NULL buf, or len below the 14-byte header);
 * MIRC_TOO_BIG (len > mtu + 14); MIRC_AGAIN (the device's queue is full: try
 * again later, nothing was sent); MIRC_IO (the device failed).
 */
mirc_status mirc_net_write(mirc_net *net, const void *buf, size_t len);

/*
 * Receives one frame into buf, of at most size bytes, and stores its length
 * in *len. Never blocks. A buffer of mtu + 14 bytes always suffices: frames
 * shorter than the header or longer than mtu + 14 are dropped and counted in
 * rx_dropped without being reported, and so is a datagram on an
 * Ethernet-over-UDP link that does not come from the link's peer. A frame that
 * does not fit the caller's buffer is dropped, counted and reported.
 *
 * Returns MIRC_OK; MIRC_AGAIN (no frame waiting); MIRC_INVALID (NULL
 * argument); MIRC_TOO_BIG (a frame larger than size was dropped); MIRC_IO.
 */
mirc_status mirc_net_read(mirc_net *net, void *buf, size_t size, size_t *len);

/*
 * Called by the loop when frames may be waiting on `net`. It may be called
 * when none are (the read then returns MIRC_AGAIN); after it returns, the
 * loop calls it again only when more may have arrived, so read until
 * MIRC_AGAIN.
 */
typedef void (*mirc_net_ready_cb)(mirc_net *net, void *ctx);

/*
 * Sets (or, with cb NULL, clears) the readiness callback of `net`. One per
 * NIC; a new one replaces the old. While a callback is set the loop keeps
 * running (mirc_loop_run does not return for lack of work).
 *
 * Returns MIRC_OK or MIRC_INVALID (net is NULL).
 */
mirc_status mirc_net_on_ready(mirc_net *net, mirc_net_ready_cb cb, void *ctx);

#endif
