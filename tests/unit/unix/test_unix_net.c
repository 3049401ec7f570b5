/* The unix backend's NICs over Ethernet-in-UDP on loopback, and yield's timing. */
#include <criterion/criterion.h>
#include <string.h>

#include "capture.h"
#include "platform.h"

static mirc_status attach(const char *name, const char *spec, int *h, mirc_net_info *info,
                          const char **out)
{
    char opt[300];
    snprintf(opt, sizeof opt, "--net:%s=%s", name, spec);
    capture_start();
    mirc_status s = mirc_plat_option(opt);
    if (s == MIRC_OK)
        s = mirc_plat_net_open(name, 0, h, info);
    *out = capture_end();
    return s;
}

Test(unix_net, two_dgram_nics_exchange_whole_frames)
{
    int a, b;
    mirc_net_info ia, ib;
    const char *out;
    cr_assert_eq(attach("a",
                        "dgram,local=127.0.0.1:47001,remote=127.0.0.1:47002,mac=02:00:00:00:00:0a",
                        &a, &ia, &out),
                 MIRC_OK, "%s", out);
    cr_assert_eq(
        attach("b", "dgram,local=127.0.0.1:47002,remote=127.0.0.1:47001,mtu=9000", &b, &ib, &out),
        MIRC_OK, "%s", out);
    cr_assert_eq(memcmp(ia.mac, "\x02\0\0\0\0\x0a", 6), 0);
    cr_assert_eq(ia.mtu, 1500);
    cr_assert_eq(ib.mtu, 9000);
    cr_assert_eq(ib.mac[0] & 3, 2, "generated MAC must be local unicast");

    static unsigned char frame[9014], got[9014];
    for (unsigned i = 0; i < sizeof frame; i++)
        frame[i] = (unsigned char)(i * 7);
    cr_assert_eq(mirc_plat_net_write(a, frame, 1514), MIRC_OK);
    uint64_t deadline = mirc_plat_monotonic() + 1000000000ull;
    mirc_plat_set ready = mirc_plat_yield(deadline, (mirc_plat_set)1 << b);
    cr_assert(ready & ((mirc_plat_set)1 << b));
    size_t len = 0;
    cr_assert_eq(mirc_plat_net_read(b, got, sizeof got, &len), MIRC_OK);
    cr_assert_eq(len, 1514);
    cr_assert_eq(memcmp(got, frame, len), 0);
    cr_assert_eq(mirc_plat_net_read(b, got, sizeof got, &len), MIRC_AGAIN);

    /* a frame bigger than the reader's buffer is reported, not truncated */
    cr_assert_eq(mirc_plat_net_write(a, frame, 9014), MIRC_OK);
    mirc_plat_yield(deadline, (mirc_plat_set)1 << b);
    cr_assert_eq(mirc_plat_net_read(b, got, 1514, &len), MIRC_TOO_BIG);
    cr_assert_eq(mirc_plat_net_read(b, got, sizeof got, &len), MIRC_AGAIN);
}

Test(unix_net, yield_sleeps_until_the_deadline_and_not_much_longer)
{
    uint64_t t0 = mirc_plat_monotonic();
    mirc_plat_yield(t0 + 30000000ull, 0);
    uint64_t t1 = mirc_plat_monotonic();
    cr_assert_geq(t1 - t0, 30000000ull, "woke early after %llu ns", (unsigned long long)(t1 - t0));
    cr_assert_lt(t1 - t0, 200000000ull, "overslept: %llu ns", (unsigned long long)(t1 - t0));
}

Test(unix_net, yield_with_a_past_deadline_returns_at_once)
{
    uint64_t t0 = mirc_plat_monotonic();
    for (int i = 0; i < 100; i++)
        mirc_plat_yield(t0 - 1, 0);
    cr_assert_lt(mirc_plat_monotonic() - t0, 50000000ull);
}

Test(unix_net, malformed_specs_are_refused_with_the_reason)
{
    int h;
    mirc_net_info info;
    const char *out;
    cr_assert_eq(attach("x", "udp,local=1", &h, &info, &out), MIRC_INVALID);
    cr_assert(strstr(out, "must start with 'tap' or 'dgram'"), "%s", out);
    cr_assert_eq(attach("y", "dgram,local=127.0.0.1:1", &h, &info, &out), MIRC_INVALID);
    cr_assert(strstr(out, "dgram needs local=HOST:PORT and remote=HOST:PORT"), "%s", out);
    cr_assert_eq(attach("z", "dgram,local=a:1,remote=b:2,mac=01:00:00:00:00:01", &h, &info, &out),
                 MIRC_INVALID);
    cr_assert(strstr(out, "not a unicast"), "%s", out);
    cr_assert_eq(attach("w", "tap,ifname=t0,mtu=20", &h, &info, &out), MIRC_INVALID);
    cr_assert(strstr(out, "mtu '20' must be 68..9000"), "%s", out);
    cr_assert_eq(attach("v", "dgram,local=nohost,remote=127.0.0.1:2", &h, &info, &out), MIRC_IO);
    cr_assert(strstr(out, "'nohost' is not HOST:PORT"), "%s", out);
}

Test(unix_net, a_port_in_use_is_reported)
{
    int a, b;
    mirc_net_info info;
    const char *out;
    cr_assert_eq(
        attach("p1", "dgram,local=127.0.0.1:47011,remote=127.0.0.1:47012", &a, &info, &out),
        MIRC_OK, "%s", out);
    cr_assert_eq(
        attach("p2", "dgram,local=127.0.0.1:47011,remote=127.0.0.1:47013", &b, &info, &out),
        MIRC_IO);
    cr_assert(strstr(out, "cannot bind 127.0.0.1:47011"), "%s", out);
}
