/* Addresses: IPv4 and IPv6 text forms in, RFC 5952 out, zones, and everything malformed refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "mirc/tcpip.h"

static void round_trip(const char *in, const char *out)
{
    mirc_ipaddr a;
    char buf[MIRC_IPADDR_STRLEN];
    cr_assert_eq(mirc_ipaddr_parse(in, &a), MIRC_OK, "%s", in);
    cr_assert_str_eq(mirc_ipaddr_format(&a, buf, sizeof buf), out, "%s", in);
}

Test(addr, ipv4_and_ipv6_print_in_canonical_form)
{
    round_trip("10.0.0.2", "10.0.0.2");
    round_trip("255.255.255.255", "255.255.255.255");
    round_trip("::", "::");
    round_trip("::1", "::1");
    round_trip("1::", "1::");
    round_trip("fe80::1%3", "fe80::1%3");
    round_trip("2001:DB8:0:0:0:0:2:1", "2001:db8::2:1");
    round_trip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* one zero word stays */
    round_trip("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");          /* the longest run */
    round_trip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");    /* the first of equal runs */
    round_trip("::ffff:10.0.0.1", "::ffff:a00:1");
}

Test(addr, malformed_text_is_refused)
{
    const char *bad[] = { "",
                          "10.0.0",
                          "10.0.0.0.1",
                          "10.0.0.256",
                          "01.2.3.4",
                          "1.2.3.4 ",
                          "1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:8:9",
                          "1:::2",
                          ":1::2",
                          "1::2::3",
                          "12345::1",
                          "fe80::1%",
                          "fe80::1%nosuchnic",
                          "g::1",
                          "1.2.3.4%1",
                          "::1:",
                          NULL };
    for (int i = 0; bad[i]; i++) {
        mirc_ipaddr a;
        cr_assert_eq(mirc_ipaddr_parse(bad[i], &a), MIRC_INVALID, "'%s' was accepted", bad[i]);
    }
    cr_assert_eq(mirc_ipaddr_parse(NULL, NULL), MIRC_INVALID);
}

Test(addr, equality_covers_family_and_zone_and_format_truncates_safely)
{
    mirc_ipaddr a, b, any = { 0 };
    char small[6];
    mirc_ipaddr_parse("fe80::1%1", &a);
    mirc_ipaddr_parse("fe80::1%2", &b);
    cr_assert_not(mirc_ipaddr_equal(&a, &b));
    b.zone = 1;
    cr_assert(mirc_ipaddr_equal(&a, &b));
    cr_assert_str_eq(mirc_ipaddr_format(&any, small, sizeof small), "any");
    mirc_ipaddr_format(&a, small, sizeof small);
    cr_assert_eq(strlen(small), 5);
}
