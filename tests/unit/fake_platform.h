/* tests/unit/fake_platform.h: a simulated platform for testing the portable runtime. */
#ifndef FAKE_PLATFORM_H
#define FAKE_PLATFORM_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define FAKE_NETS  4
#define FAKE_DISKS 4
#define FAKE_QUEUE 64

struct fake_frame {
    size_t len;
    unsigned char data[MIRC_NET_MTU_MAX + MIRC_NET_HDR_LEN];
};

struct fake_net {
    int attached;
    mirc_net_info info;
    struct fake_frame rx[FAKE_QUEUE]; /* frames waiting for the app */
    int rx_head, rx_count;
    struct fake_frame tx[FAKE_QUEUE]; /* frames the app sent */
    int tx_count;
};

struct fake_disk {
    int attached;
    mirc_block_info info;
    unsigned char *data;
    int flushes;
};

struct fake {
    uint64_t now; /* simulated monotonic ns */
    uint64_t yields;
    mirc_plat_set last_interest;
    char console[65536];
    size_t console_len;
    struct fake_net nets[FAKE_NETS];
    struct fake_disk disks[FAKE_DISKS];
    /* frames that arrive on nets[i] when the clock passes `at` */
    struct {
        uint64_t at;
        int net;
        struct fake_frame f;
    } sched[16];
    int nsched;
    /* called instead of aborting when yield would sleep forever (no deadline):
     * stands for events the loop cannot see, like the socket stack's sockets */
    void (*idle_hook)(void);
    jmp_buf *exit_jmp;
    int exit_status;
};

extern struct fake fake;

/* Resets the fake and the runtime (timers, devices). */
void fake_reset(void);
void fake_attach_net(int i, const char *mac6, uint16_t mtu);
void fake_attach_disk(int i, uint64_t capacity, uint32_t sector_size, int read_only);
void fake_rx(int net, const void *frame, size_t len);
void fake_rx_at(uint64_t at, int net, const void *frame, size_t len);

#endif
