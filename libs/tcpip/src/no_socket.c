/* libs/tcpip/src/no_socket.c: targets without the socket stack (everything but unix). */
#include "tcpip_int.h"

const struct tcpip_ops *tcpip_socket_ops(void)
{
    return NULL;
}
