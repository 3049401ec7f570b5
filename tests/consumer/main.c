/* A unikernel built by someone else's Meson project with mirc and libs/tcpip as a subproject:
 * it runs the loop, starts TCP/IP on its NIC and, with --dhcp, waits for a lease. */
#include <stdio.h>

#include "mirc/mirc.h"
#include "mirc/tcpip.h"

static mirc_timer tick, give_up;
static int fired;

static int have_ipv4(mirc_tcpip_iface *ifc)
{
    return mirc_tcpip_iface_get(0, ifc) == MIRC_OK && ifc->ipv4.family == MIRC_IPV4;
}

/* Stops the loop once the timer fired and the NIC has an address (static, or DHCP's). */
static void check_done(void)
{
    mirc_tcpip_iface ifc;
    if (fired && have_ipv4(&ifc))
        mirc_loop_stop();
}

static void on_tick(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    fired = 1;
    check_done();
}

static void on_change(unsigned index, void *ctx)
{
    (void)index;
    (void)ctx;
    check_done();
}

static void on_give_up(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    mirc_loop_stop();
}

int mirc_main(int argc, char **argv)
{
    mirc_tcpip_iface ifc;
    char addr[MIRC_IPADDR_STRLEN];

    if (mirc_tcpip_init(&argc, argv) != MIRC_OK)
        return 9;
    mirc_tcpip_on_change(on_change, NULL);
    mirc_timer_init(&tick, on_tick, NULL);
    mirc_timer_start(&tick, MIRC_NS_PER_MS, 0);
    mirc_timer_init(&give_up, on_give_up, NULL);
    mirc_timer_start(&give_up, 20 * 1000 * MIRC_NS_PER_MS, 0);
    mirc_loop_run();
    printf("consumer: %d args, first '%s', timer %s, target %s\n", argc - 1,
           argc > 1 ? argv[1] : "", fired ? "fired" : "did not fire", mirc_target());
    if (have_ipv4(&ifc))
        printf("consumer: tcpip %s on %s: %s/%u\n", mirc_tcpip_stack(), ifc.name,
               mirc_ipaddr_format(&ifc.ipv4, addr, sizeof addr), ifc.ipv4_prefix);
    else
        printf("consumer: tcpip %s: no IPv4 address\n", mirc_tcpip_stack());
    return argc - 1;
}
