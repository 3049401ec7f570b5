/* tests/unit/tcpip/peer.h: a scripted Ethernet/IPv4 peer that builds and parses frames by hand. */
#ifndef TCPIP_TEST_PEER_H
#define TCPIP_TEST_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "fake_platform.h"

/* The peer is 10.0.0.1 at 02:00:00:00:00:aa; the stack's net0 is 10.0.0.2 at 02:00:00:00:00:01. */
extern const uint8_t peer_mac[6], peer_ip[4], stack_mac[6], stack_ip[4];

enum { P_FIN = 0x01, P_SYN = 0x02, P_RST = 0x04, P_PSH = 0x08, P_ACK = 0x10 };

struct seg {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint32_t wnd;    /* as advertised (not scaled) */
    int mss, wscale; /* options; -1 when absent */
    const uint8_t *data;
    size_t len;
    uint8_t frame[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN];
};

uint16_t peer_csum(const uint8_t *p, size_t len, uint32_t sum);
/* Frame builders: each writes into f and returns the frame's length. */
size_t peer_arp_request(uint8_t *f, const uint8_t target_ip[4]);
size_t peer_ipv4(uint8_t *f, uint8_t proto, const uint8_t *payload, size_t len);
/* One IPv4 fragment: len bytes at byte `offset` (a multiple of 8) of datagram `id`. */
size_t peer_ipv4_fragment(uint8_t *f, uint8_t proto, uint16_t id, size_t offset, int more,
                          const uint8_t *payload, size_t len);
size_t peer_icmp_echo(uint8_t *f, uint16_t id, uint16_t seq, const uint8_t *data, size_t len);
size_t peer_udp(uint8_t *f, uint16_t sport, uint16_t dport, const uint8_t *data, size_t len);
size_t peer_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                uint8_t flags, uint16_t wnd, int with_options, const uint8_t *data, size_t len);

/* Sends a frame to net0 (the stack reads it at the next loop turn). */
void peer_send(const uint8_t *f, size_t len);
/* Runs the loop for ms of simulated time. */
void run_for(uint64_t ms);
/* Takes the next frame net0 sent that is IPv4 TCP, checking both checksums; 0 if none. */
int peer_take_tcp(struct seg *s);
/* Takes the next frame of EtherType etype (and IP protocol proto if IPv4); its length or 0. */
size_t peer_take(uint16_t etype, int proto, uint8_t *out);
/* Drops everything net0 sent so far. */
void peer_flush(void);
/* Boots the runtime with net0 (and net1) attached and starts the stack with these options. */
void peer_boot(const char *const *opts, int nopts);

#endif
