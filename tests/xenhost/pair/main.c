/* tests/xenhost/pair: two NICs and two disks in one guest, each used by its manifest name.
 *
 * Writes "pair:NAME:first" and "pair:NAME:last" into the first and last sector of
 * disks alpha and beta, flushes, reads them back and prints each disk's geometry;
 * prints each NIC's MAC and MTU; then answers ping on both NICs (libs/tcpip, one
 * address each) until a TCP connection to port 9 arrives, and exits 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

static mirc_tcp listener;
static uint8_t sector[4096], back[4096];

/* Signs the first and last sector of disk `name`; returns 0 when both read back. */
static int sign_disk(const char *name)
{
    mirc_block *b;
    mirc_block_info info;
    mirc_status s = mirc_block_acquire(name, &b);
    if (s != MIRC_OK || (s = mirc_block_info_get(b, &info)) != MIRC_OK) {
        printf("%s: %s\n", name, mirc_status_str(s));
        return -1;
    }
    uint64_t last = info.capacity - info.sector_size;
    for (int i = 0; i < 2; i++) {
        memset(sector, 0, info.sector_size);
        snprintf((char *)sector, info.sector_size, "pair:%s:%s", name, i ? "last" : "first");
        uint64_t off = i ? last : 0;
        if ((s = mirc_block_write(b, off, sector, info.sector_size)) != MIRC_OK ||
            (s = mirc_block_flush(b)) != MIRC_OK ||
            (s = mirc_block_read(b, off, back, info.sector_size)) != MIRC_OK) {
            printf("%s: I/O at %" PRIu64 ": %s\n", name, off, mirc_status_str(s));
            return -1;
        }
        if (memcmp(sector, back, info.sector_size) != 0) {
            printf("%s: sector at %" PRIu64 " did not read back\n", name, off);
            return -1;
        }
    }
    printf("%s: capacity %" PRIu64 " sector %" PRIu32 ", first and last sector signed\n", name,
           info.capacity, info.sector_size);
    return 0;
}

static int show_nic(const char *name)
{
    mirc_net *n;
    mirc_net_info info;
    mirc_status s = mirc_net_acquire(name, &n);
    if (s != MIRC_OK || (s = mirc_net_info_get(n, &info)) != MIRC_OK) {
        printf("%s: %s\n", name, mirc_status_str(s));
        return -1;
    }
    printf("%s: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u\n", name, info.mac[0], info.mac[1],
           info.mac[2], info.mac[3], info.mac[4], info.mac[5], info.mtu);
    return 0;
}

static void on_accept(mirc_tcp *l, void *ctx)
{
    (void)l, (void)ctx;
    printf("pair: bye\n");
    mirc_exit(0);
}

int mirc_main(int argc, char **argv)
{
    if (sign_disk("alpha") || sign_disk("beta") || show_nic("left") || show_nic("right"))
        return 1;
    if (mirc_tcpip_init(&argc, argv) != MIRC_OK)
        return 2;
    mirc_status s = mirc_tcp_listen(&listener, NULL, 9, 1, on_accept, NULL);
    if (s != MIRC_OK) {
        printf("pair: cannot listen on TCP port 9: %s\n", mirc_status_str(s));
        return 1;
    }
    printf("pair: answering ping on left and right\n");
    fflush(stdout);
    mirc_loop_run();
    return 0;
}
