/*
 * Hostile input on the unix backend's NICs, through the runtime as an app reads it: a third
 * party on the Ethernet-over-UDP link, and runts or oversized frames from a tap.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture.h"
#include "manifest.h"
#include "mirc/mirc.h"
#include "rt.h"

/* One NIC, attached by each test with its own spec (each test is its own process). */
static const struct mirc_manifest_dev devs[] = { { "nic", MIRC_DEV_NET } };
const struct mirc_manifest mirc_manifest = {
    .name = "nic-input", .ndevs = 1, .devs = devs, .net_open = mirc_plat_net_open
};

int mirc_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/*
 * The backend binds its dgram socket, then connects it to the peer. A stranger's datagram
 * that lands between the two is queued like the peer's: armed, the wrapper sends one there.
 */
int __real_connect(int fd, const struct sockaddr *addr, socklen_t len);
static int stranger_before_connect;

int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (stranger_before_connect) {
        struct sockaddr_in self;
        socklen_t slen = sizeof self;
        int so = socket(AF_INET, SOCK_DGRAM, 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&self, &slen), 0);
        unsigned char frame[60];
        memset(frame, 0xee, sizeof frame);
        cr_assert_eq(sendto(so, frame, sizeof frame, 0, (struct sockaddr *)&self, slen), 60);
        close(so);
    }
    return __real_connect(fd, addr, len);
}

static mirc_net *attach(const char *spec)
{
    char opt[200];
    mirc_net *n;
    snprintf(opt, sizeof opt, "--net:nic=%s", spec);
    capture_start();
    mirc_status s = mirc_plat_option(opt);
    if (s == MIRC_OK)
        s = mirc_rt_devices_open();
    const char *out = capture_end();
    cr_assert_eq(s, MIRC_OK, "%s: %s", spec, out);
    cr_assert_eq(mirc_net_acquire("nic", &n), MIRC_OK);
    return n;
}

static int udp_socket(int family, const char *addr, unsigned short port)
{
    int so = socket(family, SOCK_DGRAM, 0);
    cr_assert_geq(so, 0);
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        inet_pton(AF_INET, addr, &a.sin_addr);
        cr_assert_eq(bind(so, (struct sockaddr *)&a, sizeof a), 0, "bind %s:%u", addr, port);
    } else {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        inet_pton(AF_INET6, addr, &a.sin6_addr);
        cr_assert_eq(bind(so, (struct sockaddr *)&a, sizeof a), 0, "bind [%s]:%u", addr, port);
    }
    return so;
}

static void send_to(int so, int family, const char *addr, unsigned short port, unsigned char tag,
                    size_t len)
{
    unsigned char frame[1514];
    memset(frame, tag, sizeof frame);
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        inet_pton(AF_INET, addr, &a.sin_addr);
        cr_assert_eq(sendto(so, frame, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
    } else {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        inet_pton(AF_INET6, addr, &a.sin6_addr);
        cr_assert_eq(sendto(so, frame, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
    }
}

/* Reads frames until `want` arrived or a second passed; stores each one's first byte. */
static size_t read_frames(mirc_net *n, unsigned char *tags, size_t want, size_t bufsize)
{
    static unsigned char buf[65536 + 100];
    size_t got = 0, len;
    uint64_t deadline = mirc_plat_monotonic() + 1000000000ull;
    while (got < want && mirc_plat_monotonic() < deadline) {
        mirc_plat_yield(deadline, (mirc_plat_set)1 << n->handle);
        mirc_status s;
        while ((s = mirc_net_read(n, buf, bufsize, &len)) != MIRC_AGAIN) {
            if (s == MIRC_OK && got < want)
                tags[got++] = buf[0];
        }
    }
    /* and nothing more arrives: what was refused stays refused */
    mirc_plat_yield(mirc_plat_monotonic() + 50000000ull, (mirc_plat_set)1 << n->handle);
    while (mirc_net_read(n, buf, bufsize, &len) == MIRC_OK)
        if (got < want + 8)
            tags[got++] = buf[0];
    return got;
}

Test(unix_nic_input, dgram_takes_frames_from_its_peer_only)
{
    mirc_net *n = attach("dgram,local=127.0.0.1:47031,remote=127.0.0.1:47032");
    int peer = udp_socket(AF_INET, "127.0.0.1", 47032);
    int stranger = udp_socket(AF_INET, "127.0.0.1", 0);
    int wrong_port = udp_socket(AF_INET, "127.0.0.1", 47033);
    for (int i = 0; i < 5; i++) {
        send_to(stranger, AF_INET, "127.0.0.1", 47031, 0x5a, 60);
        send_to(wrong_port, AF_INET, "127.0.0.1", 47031, 0x5b, 60);
        send_to(peer, AF_INET, "127.0.0.1", 47031, (unsigned char)(0x10 + i), 60);
    }
    unsigned char tags[16];
    size_t got = read_frames(n, tags, 5, 1514);
    cr_assert_eq(got, 5, "%zu frames delivered, want the peer's 5", got);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(tags[i], 0x10 + i, "frame %d is not the peer's: %#x", i, tags[i]);
    mirc_net_stats st;
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.rx_packets, 5);
}

Test(unix_nic_input, a_strangers_frame_queued_before_connect_is_dropped_and_counted)
{
    stranger_before_connect = 1;
    mirc_net *n = attach("dgram,local=127.0.0.1:47034,remote=127.0.0.1:47035");
    stranger_before_connect = 0;
    int peer = udp_socket(AF_INET, "127.0.0.1", 47035);
    send_to(peer, AF_INET, "127.0.0.1", 47034, 0x11, 60);
    unsigned char tags[16];
    size_t got = read_frames(n, tags, 1, 1514);
    cr_assert_eq(got, 1, "%zu frames delivered, want only the peer's", got);
    cr_assert_eq(tags[0], 0x11, "the stranger's frame (%#x) was delivered", tags[0]);
    mirc_net_stats st;
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.rx_dropped, 1);
    cr_assert_eq(st.rx_packets, 1);
}

Test(unix_nic_input, dgram_over_ipv6_in_brackets_checks_the_peer_too)
{
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 lo = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof lo) < 0)
        cr_skip_test("no IPv6 loopback here");
    close(probe);
    mirc_net *n = attach("dgram,local=[::1]:47036,remote=[::1]:47037");
    int peer = udp_socket(AF_INET6, "::1", 47037);
    int stranger = udp_socket(AF_INET6, "::1", 0);
    send_to(stranger, AF_INET6, "::1", 47036, 0x5a, 60);
    send_to(peer, AF_INET6, "::1", 47036, 0x12, 60);
    unsigned char tags[16];
    size_t got = read_frames(n, tags, 1, 1514);
    cr_assert_eq(got, 1);
    cr_assert_eq(tags[0], 0x12);
}

/* ---- tap ------------------------------------------------------------------------------ */

static void if_set(int so, const char *ifname, unsigned long req, struct ifreq *r)
{
    strncpy(r->ifr_name, ifname, IFNAMSIZ - 1);
    cr_assert_eq(ioctl(so, req, r), 0, "ioctl %#lx on %s: %s", req, ifname, strerror(errno));
}

/* Opens a packet socket that sends raw frames out of `ifname` (into the unikernel's tap). */
static int host_side(const char *ifname, int *ifindex)
{
    int so = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r = { 0 };
    r.ifr_mtu = 65521; /* a tap's largest: the host may send far more than our MTU */
    if_set(so, ifname, SIOCSIFMTU, &r);
    memset(&r, 0, sizeof r);
    r.ifr_flags = IFF_UP | IFF_NOARP;
    if_set(so, ifname, SIOCSIFFLAGS, &r);
    if_set(so, ifname, SIOCGIFINDEX, &r);
    *ifindex = r.ifr_ifindex;
    close(so);
    int ps = socket(AF_PACKET, SOCK_RAW, 0);
    cr_assert_geq(ps, 0, "packet socket: %s", strerror(errno));
    return ps;
}

/* Sends a frame of len bytes tagged `tag` (its first byte); 1 if the kernel took it. */
static int inject(int ps, int ifindex, unsigned char tag, size_t len)
{
    static unsigned char frame[65600];
    memset(frame, 0, sizeof frame);
    frame[0] = tag;
    if (len >= 14) {
        memset(frame + 1, 0x02, 5);               /* to 02:02:02:02:02:02 (tag first) */
        memcpy(frame + 6, "\x02\0\0\0\0\x01", 6); /* from a local address */
        frame[12] = 0x88; /* local experimental EtherType; a VLAN tag on the longest frame */
        frame[13] = 0xb5;
        if (len > 65535) {
            frame[12] = 0x81;
            frame[13] = 0x00;
        }
    }
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
    memcpy(to.sll_addr, frame, 6);
    return sendto(ps, frame, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len;
}

Test(unix_nic_input, tap_runts_and_frames_beyond_the_mtu_are_dropped_and_counted)
{
    if (geteuid() != 0)
        cr_skip_test("needs root for a tap device and a network namespace");
    if (access("/dev/net/tun", R_OK | W_OK) != 0)
        cr_skip_test("no usable /dev/net/tun");
    /* a namespace of this test's own (its process's): the tap never shows on the host, and
     * goes away with the process; no IPv6 there, so the host side stays silent */
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("cannot create a network namespace: %s", strerror(errno));
    FILE *f = fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w");
    if (f) {
        fputs("1\n", f);
        fclose(f);
    }
    char ifname[IFNAMSIZ];
    snprintf(ifname, sizeof ifname, "mirct%d", (int)getpid() % 100000);
    char spec[64];
    snprintf(spec, sizeof spec, "tap,ifname=%s,mtu=1500", ifname);
    mirc_net *n = attach(spec);
    int ifindex, ps = host_side(ifname, &ifindex);

    /* each hostile frame is followed by a good one (tags 0x10.., delivered in order). Runts:
     * the kernel may refuse to send them at all (an Ethernet device's minimum header), and
     * then they cannot arrive. 65535 bytes is the longest frame at a tap's largest MTU, and
     * 4 more with a VLAN tag: more than a 64 KiB read buffer, which would cut it short */
    static const size_t bad_len[] = { 1, 13, 1515, 1518, 9014, 65535, 65539 };
    static const size_t good_len[] = { 14, 60, 1514, 15, 1000, 1500, 64 };
    unsigned dropped = 0, oversized = 0;
    for (unsigned i = 0; i < 7; i++) {
        int sent = inject(ps, ifindex, (unsigned char)(0xd0 + i), bad_len[i]);
        dropped += (unsigned)sent;
        oversized += (unsigned)(sent && bad_len[i] > 1514);
        cr_assert(inject(ps, ifindex, (unsigned char)(0x10 + i), good_len[i]), "send %zu: %s",
                  good_len[i], strerror(errno));
    }
    cr_assert_eq(oversized, 5, "the kernel refused an oversized frame: it was not tested");
    unsigned char tags[32];
    size_t got = read_frames(n, tags, 7, 65536 + 100);
    cr_assert_eq(got, 7, "%zu frames delivered, want 7", got);
    for (unsigned i = 0; i < 7; i++)
        cr_assert_eq(tags[i], 0x10 + i, "frame %u: tag %#x", i, tags[i]);
    mirc_net_stats st;
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.rx_dropped, dropped, "%u hostile frames sent", dropped);
    cr_assert_eq(st.rx_packets, 7);

    /* a buffer shorter than the frame: reported, counted, and the next frame is whole */
    cr_assert(inject(ps, ifindex, 0x21, 1514));
    cr_assert(inject(ps, ifindex, 0x22, 100));
    static unsigned char small[100];
    size_t len;
    mirc_status s = MIRC_AGAIN;
    uint64_t deadline = mirc_plat_monotonic() + 1000000000ull;
    while (s == MIRC_AGAIN && mirc_plat_monotonic() < deadline) {
        mirc_plat_yield(deadline, (mirc_plat_set)1 << n->handle);
        s = mirc_net_read(n, small, sizeof small, &len);
    }
    cr_assert_eq(s, MIRC_TOO_BIG);
    cr_assert_eq(mirc_net_read(n, small, sizeof small, &len), MIRC_OK);
    cr_assert_eq(len, 100);
    cr_assert_eq(small[0], 0x22);
    mirc_net_stats_get(n, &st);
    cr_assert_eq(st.rx_dropped, dropped + 1);
    close(ps);
}
