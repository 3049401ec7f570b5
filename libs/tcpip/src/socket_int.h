/* libs/tcpip/src/socket_int.h: what the socket stack's files share (unix only). */
#ifndef TCPIP_SOCKET_INT_H
#define TCPIP_SOCKET_INT_H

#include <netinet/in.h>
#include <sys/socket.h>

#include <uv.h>

#include "mirc/unix.h"
#include "tcpip_int.h"

extern uv_loop_t *sk_loop;  /* the unix backend's loop */
extern char sk_rbuf[65536]; /* read callbacks' data: valid only during the callback */

/* A libuv error as a status. */
mirc_status sk_status(int uv_error);
/* mirc addresses and sockaddrs; want_v6 maps IPv4 for a dual-stack socket. */
void sk_to_sockaddr(const mirc_ipaddr *a, uint16_t port, int want_v6, struct sockaddr_storage *ss);
void sk_from_sockaddr(const struct sockaddr *sa, mirc_ipaddr *a, uint16_t *port);
/* The host port for an app's port (its --publish mapping, or the same) and back. */
uint16_t sk_host_port(uint16_t port);
uint16_t sk_guest_port(uint16_t port);
/* Close callback for handles whose data is their malloc'd struct: frees it, drops the loop ref. */
void sk_free_on_close(uv_handle_t *h);
/* libuv's allocator for reads: always sk_rbuf. */
void sk_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* socket_tcp.c: the TCP operations of the socket stack */
mirc_status sk_tcp_listen(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port, int backlog);
mirc_status sk_tcp_accept(mirc_tcp *listener, mirc_tcp *conn);
mirc_status sk_tcp_connect(mirc_tcp *tcp, const mirc_ipaddr *addr, uint16_t port);
void sk_tcp_read_changed(mirc_tcp *tcp);
size_t sk_tcp_push(mirc_tcp *tcp, const uint8_t *buf, size_t len, int hold);
void sk_tcp_flush(mirc_tcp *tcp);
void sk_tcp_shutdown(mirc_tcp *tcp);
void sk_tcp_close(mirc_tcp *tcp, int abort);
mirc_status sk_tcp_addr(const mirc_tcp *tcp, int peer, mirc_ipaddr *addr, uint16_t *port);
mirc_status sk_tcp_nodelay(mirc_tcp *tcp, int on);

#endif
