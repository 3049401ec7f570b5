/* mirc/unix.h: what only the unix target offers, for libraries built on host services. */
#ifndef MIRC_UNIX_H_API
#define MIRC_UNIX_H_API

/*
 * On the unix target the runtime's loop is a libuv loop, and a library may
 * add its own libuv handles to it (libs/tcpip's socket stack does): they run
 * from inside mirc_loop_run like every other callback. Declared on every
 * target, defined only on unix: a library that uses it builds for unix only.
 * Each handle added must be closed before the loop ends, or mirc_loop_run
 * does not return.
 */
struct uv_loop_s;
struct uv_loop_s *mirc_unix_loop(void);

#endif
