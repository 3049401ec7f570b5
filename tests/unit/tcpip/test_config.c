/* Network boot options: parsed, removed from argv, merged per NIC; bad ones rejected with a reason.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tcpip_int.h"

static struct tcpip_config cfg;
static char err[240];

static mirc_status parse(int *argc, char **argv)
{
    return tcpip_config_parse(&cfg, argc, argv, err, sizeof err);
}

Test(config, known_options_are_removed_and_the_rest_keep_their_order)
{
    char *argv[] = { "app", "--ipv4=10.0.0.2/24", "--mine", "--ipv4-gateway=10.0.0.1",
                     "x y", "--dns=10.0.0.53",    "--",     "--dhcp=false",
                     NULL };
    int argc = 8;
    cr_assert_eq(parse(&argc, argv), MIRC_OK, "%s", err);
    cr_assert_eq(argc, 4);
    cr_assert_str_eq(argv[0], "app");
    cr_assert_str_eq(argv[1], "--mine");
    cr_assert_str_eq(argv[2], "x y");
    cr_assert_str_eq(argv[3], "--");
    cr_assert_null(argv[4]);
    struct tcpip_nic_config n;
    tcpip_config_nic(&cfg, "service0", 0, &n);
    cr_assert_eq(n.v4mode, TCPIP_V4_STATIC);
    cr_assert_arr_eq(n.ipv4, ((uint8_t[]){ 10, 0, 0, 2 }), 4);
    cr_assert_eq(n.ipv4_prefix, 24);
    cr_assert(n.gateway_set);
    cr_assert_arr_eq(n.gateway, ((uint8_t[]){ 10, 0, 0, 1 }), 4);
    cr_assert_eq(cfg.ndns, 1);
    cr_assert_eq(cfg.dns[0].family, MIRC_IPV4);
    cr_assert_eq(n.slaac, 1, "SLAAC is on unless turned off");
}

Test(config, later_options_win_so_boot_arguments_override_manifest_defaults)
{
    char *argv[] = { "app", "--ipv4=10.0.0.2/24", "--dhcp", "--ipv4=192.168.1.5/16", NULL };
    int argc = 4;
    cr_assert_eq(parse(&argc, argv), MIRC_OK, "%s", err);
    struct tcpip_nic_config n;
    tcpip_config_nic(&cfg, "eth0", 0, &n);
    cr_assert_eq(n.v4mode, TCPIP_V4_STATIC);
    cr_assert_arr_eq(n.ipv4, ((uint8_t[]){ 192, 168, 1, 5 }), 4);
    cr_assert_eq(n.ipv4_prefix, 16);
    char *argv2[] = { "app", "--ipv4=10.0.0.2/24", "--dhcp", NULL };
    argc = 3;
    cr_assert_eq(parse(&argc, argv2), MIRC_OK);
    tcpip_config_nic(&cfg, "eth0", 0, &n);
    cr_assert_eq(n.v4mode, TCPIP_V4_DHCP);
}

Test(config, unnamed_options_are_the_first_nics_and_named_ones_override_them)
{
    char *argv[] = { "app",
                     "--ipv4=10.0.0.2/24",
                     "--ipv4:lan=10.1.0.2/16",
                     "--dhcp:wan",
                     "--ipv6:lan=fd00::2/64",
                     "--no-slaac:lan",
                     "--ipv4-gateway:eth0=10.0.0.254",
                     NULL };
    int argc = 7;
    struct tcpip_nic_config first, lan, wan, other;
    cr_assert_eq(parse(&argc, argv), MIRC_OK, "%s", err);
    cr_assert_eq(argc, 1);
    tcpip_config_nic(&cfg, "eth0", 0, &first);
    tcpip_config_nic(&cfg, "lan", 1, &lan);
    tcpip_config_nic(&cfg, "wan", 2, &wan);
    tcpip_config_nic(&cfg, "spare", 3, &other);
    cr_assert_arr_eq(first.ipv4, ((uint8_t[]){ 10, 0, 0, 2 }), 4);
    cr_assert(first.gateway_set);
    cr_assert_arr_eq(lan.ipv4, ((uint8_t[]){ 10, 1, 0, 2 }), 4);
    cr_assert_eq(lan.ipv4_prefix, 16);
    cr_assert(lan.ipv6_set);
    cr_assert_eq(lan.ipv6[0], 0xfd);
    cr_assert_eq(lan.ipv6_prefix, 64);
    cr_assert_eq(lan.slaac, 0);
    cr_assert_not(lan.gateway_set, "the unnamed gateway belongs to the first NIC only");
    cr_assert_eq(wan.v4mode, TCPIP_V4_DHCP);
    cr_assert_eq(other.v4mode, TCPIP_V4_UNSET, "a NIC no option names has no IPv4");
    cr_assert_eq(other.slaac, 1);
    /* the first NIC named explicitly overrides its unnamed options field by field */
    char *argv2[] = { "app", "--ipv4=10.0.0.2/24", "--ipv4:eth0=10.9.9.9/8", NULL };
    argc = 3;
    cr_assert_eq(parse(&argc, argv2), MIRC_OK);
    tcpip_config_nic(&cfg, "eth0", 0, &first);
    cr_assert_arr_eq(first.ipv4, ((uint8_t[]){ 10, 9, 9, 9 }), 4);
}

Test(config, stack_publish_and_mirage_style_flags)
{
    char *argv[] = { "app",
                     "--stack=socket",
                     "--publish=8080:80",
                     "--publish=9090:80",
                     "--ipv4-only",
                     "--accept-router-advertisements=false",
                     "--ipv6-only=false",
                     NULL };
    int argc = 7;
    cr_assert_eq(parse(&argc, argv), MIRC_OK, "%s", err);
    cr_assert_eq(cfg.stack, TCPIP_STACK_SOCKET);
    cr_assert_eq(cfg.npublish, 1, "a later mapping of port 80 replaces the earlier one");
    cr_assert_eq(cfg.publish[0].host, 9090);
    cr_assert_eq(cfg.publish[0].guest, 80);
    struct tcpip_nic_config n;
    tcpip_config_nic(&cfg, "x", 0, &n);
    cr_assert_eq(n.ipv6_off, 1);
    cr_assert_eq(n.slaac, 0);
}

static void rejects(const char *opt, const char *why)
{
    char *argv[] = { "app", "--keep", (char *)opt, NULL };
    int argc = 3;
    cr_assert_eq(parse(&argc, argv), MIRC_INVALID, "%s was accepted", opt);
    cr_assert(strstr(err, why), "%s: message '%s' lacks '%s'", opt, err, why);
    cr_assert_eq(argc, 3, "argv must be left alone on error");
    cr_assert_str_eq(argv[2], opt);
}

Test(config, malformed_options_are_rejected_with_the_reason)
{
    rejects("--ipv4=10.0.0.2", "prefix length");
    rejects("--ipv4=10.0.0.256/24", "IPv4 address");
    rejects("--ipv4=10.0.0.2/33", "prefix");
    rejects("--ipv4=010.0.0.2/8", "IPv4");
    rejects("--ipv4=", "needs a value");
    rejects("--ipv4-gateway=gw", "IPv4 address");
    rejects("--ipv6=fe80::1/64", "link-local");
    rejects("--ipv6=1:::2/64", "IPv6");
    rejects("--dns=resolver", "not an IP address");
    rejects("--stack=bsd", "'lwip' or 'socket'");
    rejects("--publish=80", "HOSTPORT:PORT");
    rejects("--publish=0:80", "HOSTPORT:PORT");
    rejects("--publish=70000:80", "HOSTPORT:PORT");
    rejects("--dhcp=maybe", "=true or =false");
    rejects("--ipv4:=10.0.0.2/24", "empty NIC name");
}

Test(config, unrelated_options_with_similar_names_are_left_for_the_app)
{
    char *argv[] = { "app", "--ipv4x=1", "--dnsserver=1", "-ipv4=1", "--stackless", NULL };
    int argc = 5;
    cr_assert_eq(parse(&argc, argv), MIRC_OK, "%s", err);
    cr_assert_eq(argc, 5);
}

Test(config, too_many_dns_servers_or_ports_are_refused)
{
    char *argv[] = { "app", "--dns=1.1.1.1", "--dns=8.8.8.8", "--dns=9.9.9.9", NULL };
    int argc = 4;
    cr_assert_eq(parse(&argc, argv), MIRC_INVALID);
    cr_assert(strstr(err, "at most 2"), "%s", err);
}
