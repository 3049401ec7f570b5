/* examples/ping: answers ICMP/ICMPv6 echo (the stack does) and sends it, printing round trips.
 *
 *   --ping=ADDR       send echo requests to ADDR (IPv4, IPv6, fe80::...%NIC); else only answer
 *   --count=N         requests to send (default 5; 0: until stopped)
 *   --interval=MS     between requests (default 1000)
 *   --size=N          payload bytes (default 56, 8..1400)
 *   --exit-after=S    answer for S seconds, print the counters and exit 0 (without --ping)
 *   and the network options of libs/tcpip (README there), e.g. --ipv4=10.0.0.2/24
 * Exits 0 when every request got its reply, 1 otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

static mirc_ping ping;
static mirc_ipaddr target;
static mirc_timer tick, wait_timer;
static uint64_t count = 5, interval_ms = 1000, sent, received, bad;
static uint64_t rtt_min = UINT64_MAX, rtt_max, rtt_sum;
static size_t size = 56;
static char target_text[MIRC_IPADDR_STRLEN];

static void summary_and_exit(void)
{
    printf("ping: %s: %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64 " altered", target_text,
           sent, received, bad);
    if (received)
        printf(", rtt min/avg/max %.3f/%.3f/%.3f ms", rtt_min / 1e6, rtt_sum / 1e6 / received,
               rtt_max / 1e6);
    printf("\n");
    mirc_exit(received == sent && !bad ? 0 : 1);
}

static void on_reply(mirc_ping *p, mirc_status st, const mirc_ipaddr *from, uint16_t seq,
                     size_t len, uint64_t rtt, void *ctx)
{
    char a[MIRC_IPADDR_STRLEN];
    (void)p;
    (void)ctx;
    if (st != MIRC_OK) {
        bad++;
        printf("ping: reply from %s seq=%u with an altered payload\n",
               mirc_ipaddr_format(from, a, sizeof a), seq);
        return;
    }
    received++;
    rtt_sum += rtt;
    rtt_min = rtt < rtt_min ? rtt : rtt_min;
    rtt_max = rtt > rtt_max ? rtt : rtt_max;
    printf("%zu bytes from %s: seq=%u time=%.3f ms\n", len + 8,
           mirc_ipaddr_format(from, a, sizeof a), seq, rtt / 1e6);
}

static void on_tick(mirc_timer *t, void *ctx)
{
    (void)ctx;
    if (count && sent == count) { /* the last reply had one interval to arrive */
        mirc_timer_stop(t);
        summary_and_exit();
    }
    mirc_status st = mirc_ping_send(&ping, &target, (uint16_t)sent, size);
    if (st != MIRC_OK)
        printf("ping: seq=%" PRIu64 " not sent: %s\n", sent, mirc_status_str(st));
    sent++;
}

/* IPv6 sources are usable once duplicate detection passed: wait for that, at most 5 s. */
static int source_ready(void)
{
    mirc_tcpip_iface f;
    if (target.family != MIRC_IPV6)
        return 1;
    unsigned index = target.zone ? target.zone - 1 : 0;
    if (mirc_tcpip_iface_get(index, &f) != MIRC_OK)
        return 1;
    for (int k = 0; k < MIRC_TCPIP_IPV6_ADDRS; k++)
        if (f.ipv6[k].family && f.ipv6_preferred[k])
            return 1;
    return 0;
}

static void start(void)
{
    mirc_timer_stop(&wait_timer);
    mirc_tcpip_on_change(NULL, NULL);
    printf("ping: %s with %zu bytes of data every %" PRIu64 " ms\n", target_text, size,
           interval_ms);
    mirc_timer_init(&tick, on_tick, NULL);
    mirc_timer_start(&tick, 0, interval_ms * MIRC_NS_PER_MS);
}

static void on_change(unsigned index, void *ctx)
{
    (void)index;
    (void)ctx;
    if (source_ready())
        start();
}

static void on_wait(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    start(); /* no preferred address yet: send anyway and report what happens */
}

/* Passive mode: say when an IPv6 address passes duplicate detection (tests wait for it). */
static void on_passive_change(unsigned index, void *ctx)
{
    static uint8_t told[16][MIRC_TCPIP_IPV6_ADDRS];
    mirc_tcpip_iface f;
    char a[MIRC_IPADDR_STRLEN];
    (void)ctx;
    if (index >= 16 || mirc_tcpip_iface_get(index, &f) != MIRC_OK)
        return;
    for (int k = 0; k < MIRC_TCPIP_IPV6_ADDRS; k++) {
        if (f.ipv6[k].family && f.ipv6_preferred[k] && !told[index][k]) {
            told[index][k] = 1;
            printf("ping: %s ipv6 %s ready\n", f.name, mirc_ipaddr_format(&f.ipv6[k], a, sizeof a));
            fflush(stdout); /* a test may be waiting for this line on a pipe */
        }
    }
}

static void on_exit_timer(mirc_timer *t, void *ctx)
{
    mirc_tcpip_stats s;
    (void)t;
    (void)ctx;
    mirc_tcpip_stats_get(&s);
    printf("ping: answered for the time given; %" PRIu64 " frames in, %" PRIu64 " out\n",
           s.frames_in, s.frames_out);
    mirc_exit(0);
}

int mirc_main(int argc, char **argv)
{
    const char *to = NULL;
    uint64_t exit_after = 0;
    if (mirc_tcpip_init(&argc, argv) != MIRC_OK)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--ping=", 7))
            to = a + 7;
        else if (!strncmp(a, "--count=", 8))
            count = strtoull(a + 8, NULL, 10);
        else if (!strncmp(a, "--interval=", 11))
            interval_ms = strtoull(a + 11, NULL, 10);
        else if (!strncmp(a, "--size=", 7))
            size = (size_t)strtoul(a + 7, NULL, 10);
        else if (!strncmp(a, "--exit-after=", 13))
            exit_after = strtoull(a + 13, NULL, 10);
        else {
            printf("ping: unknown argument '%s' (--ping=ADDR, --count=N, --interval=MS, "
                   "--size=N, --exit-after=S)\n",
                   a);
            return 2;
        }
    }
    for (unsigned k = 0; k < mirc_tcpip_iface_count(); k++) {
        mirc_tcpip_iface f;
        char a[MIRC_IPADDR_STRLEN];
        mirc_tcpip_iface_get(k, &f);
        printf("ping: %s", f.name);
        if (f.ipv4.family)
            printf(" %s/%u", mirc_ipaddr_format(&f.ipv4, a, sizeof a), f.ipv4_prefix);
        for (int j = 0; j < MIRC_TCPIP_IPV6_ADDRS; j++)
            if (f.ipv6[j].family)
                printf(" %s", mirc_ipaddr_format(&f.ipv6[j], a, sizeof a));
        printf(" (%s stack)\n", mirc_tcpip_stack());
    }
    if (!to) {
        printf("ping: answering echo requests\n");
        mirc_tcpip_on_change(on_passive_change, NULL);
        if (exit_after) {
            mirc_timer_init(&tick, on_exit_timer, NULL);
            mirc_timer_start(&tick, exit_after * MIRC_NS_PER_S, 0);
        }
        fflush(stdout);
        mirc_loop_run();
        return 0;
    }
    if (mirc_ipaddr_parse(to, &target) != MIRC_OK) {
        printf("ping: --ping=%s is not an address (names: resolve first)\n", to);
        return 2;
    }
    if (size < 8 || size > 1400 || interval_ms == 0) {
        printf("ping: --size must be 8..1400 and --interval above 0\n");
        return 2;
    }
    mirc_ipaddr_format(&target, target_text, sizeof target_text);
    mirc_status st = mirc_ping_open(&ping, on_reply, NULL);
    if (st != MIRC_OK) {
        printf("ping: cannot open: %s\n", mirc_status_str(st));
        return 1;
    }
    if (source_ready()) {
        start();
    } else {
        mirc_tcpip_on_change(on_change, NULL);
        mirc_timer_init(&wait_timer, on_wait, NULL);
        mirc_timer_start(&wait_timer, 5 * MIRC_NS_PER_S, 0);
    }
    fflush(stdout);
    mirc_loop_run();
    return 1;
}
