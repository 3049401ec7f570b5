/* Conformance: NICs acquired by manifest name, MAC and MTU reported, undeclared names refused. */
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"

int mirc_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *names[] = { "net0", "net1", "net2", "net3" };
    for (int i = 0; i < 4; i++) {
        mirc_net *n;
        mirc_net_info in;
        mirc_status s = mirc_net_acquire(names[i], &n);
        if (s != MIRC_OK) {
            printf("%s: %s\n", names[i], mirc_status_str(s));
            return 1;
        }
        mirc_net_info_get(n, &in);
        printf("%s: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u\n", mirc_net_name(n), in.mac[0],
               in.mac[1], in.mac[2], in.mac[3], in.mac[4], in.mac[5], in.mtu);
    }
    mirc_net *x;
    mirc_block *b;
    printf("undeclared nic: %s\n", mirc_status_str(mirc_net_acquire("net4", &x)));
    printf("nic as disk: %s\n", mirc_status_str(mirc_block_acquire("net0", &b)));
    return 0;
}
