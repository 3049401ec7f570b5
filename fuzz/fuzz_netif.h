/* fuzz/fuzz_netif.h: lwIP on a platform whose only NIC is fed by the fuzzer (or a corpus replay).
 */
#ifndef FUZZ_NETIF_H
#define FUZZ_NETIF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Boots the runtime and libs/tcpip once: service0 is 10.0.0.2/24, fd00::2 and
 * fe80::ff:fe00:2 at 02:00:00:00:00:02, with a TCP and UDP echo on port 7.
 * Idempotent.
 */
void fuzz_boot(void);

/*
 * Delivers one frame through the whole input path (readiness callback,
 * mirc_net_read, the netif glue, lwIP) and runs the loop for `ms` of
 * simulated time, so that timers (retransmission, reassembly) fire.
 */
void fuzz_frame(const uint8_t *frame, size_t len, unsigned ms);

/* 1 if the stack answers an ARP request and an ICMP echo from 10.0.0.1 right now. */
int fuzz_alive(void);

/* Frames the stack has sent so far. */
uint64_t fuzz_frames_out(void);

#endif
