/* backends/unix/net.c: NICs as a tap device or as Ethernet-over-UDP (QEMU's -netdev dgram). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unix.h"

#define UNIX_NET_MAX 16

struct unix_net {
    char *name;
    char *spec; /* as given, for messages */
    int fd;     /* -1 until opened */
    int is_tap;
    uint8_t mac[6];
    int have_mac;
    unsigned mtu;                 /* 0: the host's (tap) or 1500 (dgram) */
    char *ifname;                 /* tap */
    char *local, *remote;         /* dgram: HOST:PORT */
    struct sockaddr_storage peer; /* dgram: the remote, the only sender accepted */
    socklen_t peer_len;
    uv_poll_t poll;
    int polling;
};

static struct unix_net nets[UNIX_NET_MAX];
static int nnets;

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return (mac[0] & 1) ? -1 : 0; /* a NIC's own address must be unicast */
}

int unix_net_add(const char *name, char *spec)
{
    struct unix_kv kv[UNIX_KV_MAX];
    const char *given = strdup(spec);
    int n = unix_kv_split(spec, kv, UNIX_KV_MAX);

    if (nnets == UNIX_NET_MAX) {
        unix_err("too many NICs (at most %d)", UNIX_NET_MAX);
        return -1;
    }
    struct unix_net *d = &nets[nnets];
    *d = (struct unix_net){ .name = (char *)name, .spec = (char *)given, .fd = -1 };
    if (n < 1 || (strcmp(kv[0].key, "tap") != 0 && strcmp(kv[0].key, "dgram") != 0) || *kv[0].val) {
        unix_err("net '%s': spec '%s' must start with 'tap' or 'dgram'", name, given);
        return -1;
    }
    d->is_tap = strcmp(kv[0].key, "tap") == 0;
    for (int i = 1; i < n; i++) {
        const char *k = kv[i].key, *v = kv[i].val;
        if (strcmp(k, "ifname") == 0 && d->is_tap && *v && strlen(v) < IFNAMSIZ) {
            d->ifname = kv[i].val;
        } else if (strcmp(k, "local") == 0 && !d->is_tap && *v) {
            d->local = kv[i].val;
        } else if (strcmp(k, "remote") == 0 && !d->is_tap && *v) {
            d->remote = kv[i].val;
        } else if (strcmp(k, "mac") == 0) {
            if (parse_mac(v, d->mac) < 0) {
                unix_err("net '%s': mac '%s' is not a unicast aa:bb:cc:dd:ee:ff", name, v);
                return -1;
            }
            d->have_mac = 1;
        } else if (strcmp(k, "mtu") == 0) {
            char *end;
            unsigned long m = strtoul(v, &end, 10);
            if (*end || m < 68 || m > MIRC_NET_MTU_MAX) {
                unix_err("net '%s': mtu '%s' must be 68..%d", name, v, MIRC_NET_MTU_MAX);
                return -1;
            }
            d->mtu = (unsigned)m;
        } else {
            unix_err("net '%s': unknown or empty key '%s' in '%s' (tap takes ifname=, dgram takes "
                     "local= and remote=; both take mac= and mtu=)",
                     name, k, given);
            return -1;
        }
    }
    if (d->is_tap && !d->ifname) {
        unix_err("net '%s': tap needs ifname=TAPDEVICE", name);
        return -1;
    }
    if (!d->is_tap && (!d->local || !d->remote)) {
        unix_err("net '%s': dgram needs local=HOST:PORT and remote=HOST:PORT", name);
        return -1;
    }
    nnets++;
    return 0;
}

/* HOST:PORT or [IPV6]:PORT into an address of `family` (AF_UNSPEC: any). */
static int resolve(const char *name, const char *hostport, int family, struct sockaddr_storage *ss,
                   socklen_t *len)
{
    char host[256];
    const char *h = hostport, *colon = strrchr(hostport, ':');
    size_t hlen = colon ? (size_t)(colon - hostport) : 0;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') { /* an IPv6 address in brackets */
        h++;
        hlen -= 2;
    }
    if (!colon || hlen == 0 || hlen >= sizeof host) {
        unix_err("net '%s': '%s' is not HOST:PORT", name, hostport);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    struct addrinfo hints = { .ai_family = family,
                              .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICSERV },
                    *res;
    int r = getaddrinfo(host, colon + 1, &hints, &res);
    if (r != 0) {
        unix_err("net '%s': cannot resolve '%s'%s: %s", name, hostport,
                 family == AF_UNSPEC ? "" : " to the local address's family", gai_strerror(r));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Whether a datagram's source is the link's peer: same family, address and port. */
static int from_peer(const struct unix_net *d, const struct sockaddr_storage *from, socklen_t len)
{
    if (from->ss_family != d->peer.ss_family)
        return 0;
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)from, *b = (const void *)&d->peer;
        return len >= sizeof *a && a->sin_port == b->sin_port &&
               a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (from->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&d->peer;
        return len >= sizeof *a && a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    return 0;
}

static int open_dgram(struct unix_net *d)
{
    struct sockaddr_storage la;
    socklen_t llen;
    if (resolve(d->name, d->local, AF_UNSPEC, &la, &llen) < 0 ||
        resolve(d->name, d->remote, la.ss_family, &d->peer, &d->peer_len) < 0)
        return -1;
    int fd = socket(la.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        unix_err("net '%s': socket: %s", d->name, strerror(errno));
        return -1;
    }
    /* big buffers: a burst of frames must not be lost while the app is busy */
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (bind(fd, (struct sockaddr *)&la, llen) < 0) {
        unix_err("net '%s': cannot bind %s: %s (is another unikernel using it?)", d->name, d->local,
                 strerror(errno));
        close(fd);
        return -1;
    }
    /* connect: the kernel then queues only the peer's datagrams (others never take room in
     * our buffer), and send() goes to it; what arrived before this is checked on reading */
    if (connect(fd, (struct sockaddr *)&d->peer, d->peer_len) < 0) {
        unix_err("net '%s': cannot connect to %s: %s", d->name, d->remote, strerror(errno));
        close(fd);
        return -1;
    }
    d->fd = fd;
    if (!d->mtu)
        d->mtu = 1500;
    return 0;
}

static int open_tap(struct unix_net *d)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        unix_err("net '%s': cannot open /dev/net/tun: %s", d->name, strerror(errno));
        return -1;
    }
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    strncpy(ifr.ifr_name, d->ifname, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        unix_err("net '%s': cannot attach tap '%s': %s (create it with 'ip tuntap add %s mode "
                 "tap user $USER' and bring it up)",
                 d->name, d->ifname, strerror(errno), d->ifname);
        close(fd);
        return -1;
    }
    if (!d->mtu) { /* honour the host side's MTU */
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq q = { 0 };
        strncpy(q.ifr_name, d->ifname, IFNAMSIZ - 1);
        if (s >= 0 && ioctl(s, SIOCGIFMTU, &q) == 0 && q.ifr_mtu >= 68 &&
            q.ifr_mtu <= MIRC_NET_MTU_MAX)
            d->mtu = (unsigned)q.ifr_mtu;
        else
            d->mtu = 1500;
        if (s >= 0)
            close(s);
    }
    d->fd = fd;
    return 0;
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct unix_net *d = p->data;
    (void)events;
    /* on POLLERR (a dgram peer not listening yet: ECONNREFUSED) libuv stops the watcher
     * itself; let the next yield start it again. The read drains and reports the error. */
    if (status < 0)
        d->polling = 0;
    unix_ready |= (mirc_plat_set)1 << (d - nets);
}

mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle, mirc_net_info *info)
{
    (void)index;
    struct unix_net *d = NULL;
    for (int i = 0; i < nnets; i++)
        if (strcmp(nets[i].name, name) == 0)
            d = &nets[i];
    if (!d) {
        unix_err("net '%s' is not attached: start with --net:%s=dgram,local=H:P,remote=H:P or "
                 "--net:%s=tap,ifname=TAP (mirc run does this from mirc.toml)",
                 name, name, name);
        return MIRC_NOT_FOUND;
    }
    if (d->fd < 0 && (d->is_tap ? open_tap(d) : open_dgram(d)) < 0)
        return MIRC_IO;
    if (!d->have_mac) { /* a random locally administered unicast address */
        if (mirc_plat_entropy(d->mac, 6) != MIRC_OK)
            return MIRC_IO;
        d->mac[0] = (uint8_t)((d->mac[0] & 0xfc) | 0x02);
        d->have_mac = 1;
    }
    if (uv_poll_init(mirc_unix_loop(), &d->poll, d->fd) != 0)
        return MIRC_IO;
    d->poll.data = d;
    memcpy(info->mac, d->mac, 6);
    info->mtu = (uint16_t)d->mtu;
    *handle = (int)(d - nets);
    return MIRC_OK;
}

void unix_net_poll(mirc_plat_set interest)
{
    for (int i = 0; i < nnets; i++) {
        struct unix_net *d = &nets[i];
        int want = d->fd >= 0 && (interest >> i) & 1;
        if (want && !d->polling)
            uv_poll_start(&d->poll, UV_READABLE, poll_cb);
        else if (!want && d->polling)
            uv_poll_stop(&d->poll);
        d->polling = want;
    }
}

static struct unix_net *get(int h)
{
    return h >= 0 && h < nnets && nets[h].fd >= 0 ? &nets[h] : NULL;
}

mirc_status mirc_plat_net_write(int h, const void *buf, size_t len)
{
    struct unix_net *d = get(h);
    if (!d)
        return MIRC_INVALID;
    for (;;) {
        ssize_t n = d->is_tap ? write(d->fd, buf, len) : send(d->fd, buf, len, 0);
        if (n == (ssize_t)len)
            return MIRC_OK;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
            return MIRC_AGAIN;
        /* the peer is not listening yet (dgram): the frame is lost, as on a wire */
        if (n < 0 && errno == ECONNREFUSED)
            return MIRC_OK;
        return MIRC_IO;
    }
}

mirc_status mirc_plat_net_read(int h, void *buf, size_t size, size_t *len)
{
    struct unix_net *d = get(h);
    if (!d)
        return MIRC_INVALID;
    for (;;) {
        ssize_t n;
        if (d->is_tap) {
            /* read whole frames into a bounce buffer so a short buffer is detected */
            static unsigned char frame[65536];
            n = read(d->fd, frame, sizeof frame);
            if (n > (ssize_t)size)
                return MIRC_TOO_BIG;
            if (n > 0)
                memcpy(buf, frame, (size_t)n);
        } else {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            n = recvfrom(d->fd, buf, size, MSG_TRUNC, (struct sockaddr *)&from, &flen);
            if (n >= 0 && !from_peer(d, &from, flen)) {
                *len = 0; /* a third party's: refused, and counted by the runtime with the runts */
                return MIRC_OK;
            }
            if (n > (ssize_t)size)
                return MIRC_TOO_BIG;
        }
        if (n >= 0) {
            *len = (size_t)n;
            return MIRC_OK;
        }
        if (errno == EINTR || errno == ECONNREFUSED)
            continue; /* an ICMP error from an earlier send: not a frame */
        if (errno == EAGAIN)
            return MIRC_AGAIN;
        return MIRC_IO;
    }
}
