"""Ethernet/IPv4/IPv6/TCP/UDP/ICMP frame builders and the malformed-frame corpus.

Shared by tests/tcpip/run (which replays the corpus at a running unikernel and
plays a tiny TCP client and a DHCP server) and fuzz/gen_corpus (which writes the
corpus as seed files for the libFuzzer target). Stdlib only.

The guest is 10.0.0.2 / fe80::ff:fe00:2 at 02:00:00:00:00:02; the peer (the test)
is 10.0.0.1 / fe80::ff:fe00:1 at 02:00:00:00:00:01. Guest port 7 echoes.
"""
import random
import struct

GUEST_MAC = bytes([2, 0, 0, 0, 0, 2])
PEER_MAC = bytes([2, 0, 0, 0, 0, 1])
BCAST = b"\xff" * 6
GUEST_IP = bytes([10, 0, 0, 2])
PEER_IP = bytes([10, 0, 0, 1])
GUEST_IP6 = bytes.fromhex("fe80000000000000000000fffe000002")
PEER_IP6 = bytes.fromhex("fe80000000000000000000fffe000001")


def csum(b, start=0):
    if len(b) % 2:
        b += b"\0"
    s = start + sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(payload, etype=0x0800, dst=GUEST_MAC, src=PEER_MAC):
    return dst + src + struct.pack("!H", etype) + payload


def ipv4(proto, payload, src=PEER_IP, dst=GUEST_IP, ident=1, frag=0, ttl=64, total=None, ihl=5,
         options=b"", bad_sum=False):
    total = 20 + len(options) + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total & 0xFFFF, ident, frag, ttl, proto, 0, src, dst) + options
    c = csum(h) ^ (0x5555 if bad_sum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def pseudo4(src, dst, proto, length):
    return sum(struct.unpack("!HHHH", src + dst)) + proto + length


def pseudo6(src, dst, nh, length):
    return sum(struct.unpack("!16H", src + dst)) + (length >> 16) + (length & 0xFFFF) + nh


def udp(sport, dport, data, src=PEER_IP, dst=GUEST_IP, bad_sum=False, length=None, v6=False):
    length = 8 + len(data) if length is None else length
    h = struct.pack("!HHHH", sport, dport, length & 0xFFFF, 0) + data
    ps = pseudo6(src, dst, 17, len(h)) if v6 else pseudo4(src, dst, 17, len(h))
    c = (csum(h, ps) or 0xFFFF) ^ (0x1234 if bad_sum else 0)
    return h[:6] + struct.pack("!H", c) + h[8:]


def tcp(sport, dport, seq, ack, flags, data=b"", wnd=65535, options=b"", src=PEER_IP, dst=GUEST_IP,
        bad_sum=False, doff=None, v6=False):
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)
    doff = (20 + len(options)) // 4 if doff is None else doff
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (doff & 15) << 4, flags,
                    wnd, 0, 0) + options + data
    ps = pseudo6(src, dst, 6, len(h)) if v6 else pseudo4(src, dst, 6, len(h))
    c = csum(h, ps) ^ (0x4321 if bad_sum else 0)
    return h[:16] + struct.pack("!H", c) + h[18:]


def icmp_echo(ident, seq, data, bad_sum=False, reply=False):
    h = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + data
    c = csum(h) ^ (0x1234 if bad_sum else 0)
    return h[:2] + struct.pack("!H", c) + h[4:]


def ipv6(nh, payload, src=PEER_IP6, dst=GUEST_IP6, hops=64, plen=None):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB", 6 << 28, plen & 0xFFFF, nh, hops) + src + dst + payload


def icmp6(typ, code, body, src=PEER_IP6, dst=GUEST_IP6, bad_sum=False):
    h = struct.pack("!BBH", typ, code, 0) + body
    c = csum(h, pseudo6(src, dst, 58, len(h))) ^ (0x1111 if bad_sum else 0)
    return h[:2] + struct.pack("!H", c) + h[4:]


def arp(op=1, sha=PEER_MAC, spa=PEER_IP, tha=b"\0" * 6, tpa=GUEST_IP, hlen=6, plen=4, htype=1, ptype=0x0800):
    return struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sha + spa + tha + tpa


def arp_request():
    return eth(arp(), 0x0806, dst=BCAST)


def echo_request(seq, data=b"mirc-alive"):
    return eth(ipv4(1, icmp_echo(0x4d49, seq, data)))


def udp_echo(data, sport=40007):
    return eth(ipv4(17, udp(sport, 7, data)))


MSS_OPT = b"\x02\x04\x05\xb4"


def corpus(seed=1):
    """[(name, frame)]: truncated, oversized, bad-checksum, bogus-length and fragment-bomb frames."""
    rng = random.Random(seed)
    out = []
    bases = {
        "arp": arp_request(),
        "icmp": echo_request(1, b"x" * 40),
        "udp": udp_echo(b"y" * 30),
        "tcp-syn": eth(ipv4(6, tcp(41000, 7, 1000, 0, 0x02, options=MSS_OPT + b"\x01\x03\x03\x07"))),
        "icmp6-echo": eth(ipv6(58, icmp6(128, 0, struct.pack("!HH", 7, 1) + b"z" * 24)), 0x86DD,
                          dst=GUEST_MAC),
        "ipv4-options": eth(ipv4(1, icmp_echo(2, 2, b"o" * 8), ihl=7, options=b"\x01" * 8)),
    }
    # truncated: every prefix of every base frame
    for name, f in bases.items():
        for n in range(0, len(f)):
            out.append((f"truncated-{name}-{n}", f[:n]))
    # oversized: beyond a 1500-byte MTU, and jumbo
    for n in (1515, 1516, 1600, 4000, 9014, 9100, 65000):
        out.append((f"oversized-{n}", eth(ipv4(17, udp(1, 7, b"o" * max(0, n - 42))))[:n]))
    # bad checksums
    out += [
        ("badsum-ipv4", eth(ipv4(1, icmp_echo(3, 3, b"b" * 8), bad_sum=True))),
        ("badsum-icmp", eth(ipv4(1, icmp_echo(3, 4, b"b" * 8, bad_sum=True)))),
        ("badsum-udp", eth(ipv4(17, udp(1, 7, b"u" * 9, bad_sum=True)))),
        ("badsum-tcp", eth(ipv4(6, tcp(41001, 7, 5, 0, 0x02, bad_sum=True)))),
        ("badsum-icmp6", eth(ipv6(58, icmp6(128, 0, b"\0\1\0\1abcd", bad_sum=True)), 0x86DD)),
        ("badsum-udp6", eth(ipv6(17, udp(1, 7, b"u6", PEER_IP6, GUEST_IP6, bad_sum=True, v6=True)), 0x86DD)),
        ("badsum-tcp6", eth(ipv6(6, tcp(41002, 7, 5, 0, 0x02, src=PEER_IP6, dst=GUEST_IP6, bad_sum=True, v6=True)), 0x86DD)),
    ]
    # bogus lengths
    icmp = icmp_echo(4, 1, b"l" * 16)
    out += [
        ("len-ipv4-total-beyond-frame", eth(ipv4(1, icmp, total=1400))),
        ("len-ipv4-total-below-header", eth(ipv4(1, icmp, total=12))),
        ("len-ipv4-ihl-4", eth(ipv4(1, icmp, ihl=4))),
        ("len-ipv4-ihl-15", eth(ipv4(1, icmp, ihl=15))),
        ("len-ipv4-version-6", eth(b"\x65" + ipv4(1, icmp)[1:])),
        ("len-udp-beyond-ip", eth(ipv4(17, udp(1, 7, b"abc", length=500)))),
        ("len-udp-below-header", eth(ipv4(17, udp(1, 7, b"abc", length=3)))),
        ("len-tcp-doff-0", eth(ipv4(6, tcp(41003, 7, 1, 0, 0x02, doff=0)))),
        ("len-tcp-doff-15", eth(ipv4(6, tcp(41003, 7, 1, 0, 0x02, doff=15)))),
        ("len-ipv6-payload-beyond-frame", eth(ipv6(58, icmp6(128, 0, b"\0\1\0\1"), plen=3000), 0x86DD)),
        ("len-ipv6-payload-short", eth(ipv6(58, icmp6(128, 0, b"\0\1\0\1xxxx"), plen=2), 0x86DD)),
    ]
    # TCP oddities
    for name, flags in (("syn-fin", 0x03), ("syn-rst", 0x06), ("all-flags", 0xFF), ("no-flags", 0x00),
                        ("rst", 0x04), ("ack", 0x10), ("fin", 0x01), ("urg", 0x20)):
        out.append((f"tcp-{name}", eth(ipv4(6, tcp(41004, 7, rng.getrandbits(32), rng.getrandbits(32), flags, b"d")))))
    for name, opt in (("opt-len-0", b"\x02\x00\x05\xb4"), ("opt-len-1", b"\x03\x01"), ("opt-overflow", b"\x08\x40"),
                      ("wscale-255", b"\x03\x03\xff"), ("mss-0", b"\x02\x04\x00\x00"), ("sack-bogus", b"\x05\x0a" + b"\xff" * 8)):
        out.append((f"tcp-{name}", eth(ipv4(6, tcp(41005, 7, 77, 0, 0x02, options=opt)))))
    # fragment bombs
    big = udp(40100, 7, bytes(rng.getrandbits(8) for _ in range(3000)))
    for k in range(0, 400):  # 8-byte pieces of one datagram, the last never sent
        out.append((f"frag-pieces-{k}", eth(ipv4(17, big[k * 8:k * 8 + 8], ident=0x1111, frag=0x2000 | k))))
    for k in range(200):  # many datagrams, one fragment each: reassembly slots exhausted
        out.append((f"frag-slots-{k}", eth(ipv4(17, big[:64], ident=0x2000 + k, frag=0x2000))))
    for k in range(50):  # overlapping fragments
        out.append((f"frag-overlap-{k}", eth(ipv4(17, big[:200], ident=0x3333, frag=0x2000 | (k % 7)))))
    out.append(("frag-ping-of-death", eth(ipv4(1, b"P" * 1000, ident=0x4444, frag=8189))))
    out.append(("frag-tiny-first", eth(ipv4(6, tcp(41006, 7, 1, 0, 0x02)[:8], ident=0x5555, frag=0x2000))))
    for k in range(100):  # IPv6 fragments, never completed
        fh = struct.pack("!BBHI", 17, 0, ((k * 8) << 3) | 1, 0x6666)
        out.append((f"frag6-pieces-{k}", eth(ipv6(44, fh + big[k * 64:k * 64 + 64]), 0x86DD)))
    # IPv6 extension headers
    hbh_bad = struct.pack("!BB", 58, 0) + b"\xc2\x04\x00\x00\x00\x00"  # jumbo option, bad
    out.append(("ipv6-hbh-jumbo", eth(ipv6(0, hbh_bad + icmp6(128, 0, b"\0\1\0\1")), 0x86DD)))
    chain = b""
    for i in range(50):
        chain = struct.pack("!BB", 60 if i < 49 else 58, 0) + b"\x01\x04\0\0\0\0" + chain
    out.append(("ipv6-50-dest-options", eth(ipv6(60, chain + icmp6(128, 0, b"\0\1\0\1")), 0x86DD)))
    out.append(("ipv6-routing-type0", eth(ipv6(43, struct.pack("!BBBB", 58, 2, 0, 1) + b"\0" * 4 + GUEST_IP6 + icmp6(128, 0, b"\0\1\0\1")), 0x86DD)))
    out.append(("icmp6-ns-short", eth(ipv6(58, icmp6(135, 0, b"\0" * 4), hops=255), 0x86DD)))
    out.append(("icmp6-na-bogus-option", eth(ipv6(58, icmp6(136, 0, b"\x60\0\0\0" + GUEST_IP6 + b"\x02\x00"), hops=255), 0x86DD)))
    out.append(("icmp6-ra-option-len-0", eth(ipv6(58, icmp6(134, 0, b"\x40\0\x07\x08" + b"\0" * 8 + b"\x03\x00"), hops=255), 0x86DD)))
    out.append(("icmp6-packet-too-big-tiny", eth(ipv6(58, icmp6(2, 0, struct.pack("!I", 100) + ipv6(17, b"")[:40])), 0x86DD)))
    # ARP oddities (never claiming the peer's address with another MAC)
    out += [
        ("arp-hlen-255", eth(arp(hlen=255), 0x0806, dst=BCAST)),
        ("arp-plen-0", eth(arp(plen=0), 0x0806, dst=BCAST)),
        ("arp-op-3", eth(arp(op=3), 0x0806, dst=BCAST)),
        ("arp-htype-6", eth(arp(htype=6), 0x0806, dst=BCAST)),
        ("arp-ptype-ipv6", eth(arp(ptype=0x86DD), 0x0806, dst=BCAST)),
        ("arp-claims-guest-ip", eth(arp(op=2, sha=bytes([2, 0, 0, 0, 0, 0x66]), spa=GUEST_IP), 0x0806, dst=BCAST)),
        ("arp-broadcast-sender", eth(arp(sha=bytes([2, 0, 0, 0, 0, 0x67]), spa=b"\xff" * 4), 0x0806, dst=BCAST)),
    ]
    # other link-layer things
    out += [
        ("vlan-tagged", GUEST_MAC + PEER_MAC + b"\x81\x00\x00\x05\x08\x00" + ipv4(1, icmp)),
        ("ethertype-unknown", eth(b"?" * 50, 0x88B5)),
        ("llc-length-field", eth(b"\xaa\xaa\x03" + b"\0" * 40, 0x0030)),
        ("multicast-dst", eth(ipv4(17, udp(1, 7, b"m")), dst=bytes([1, 0, 0x5e, 0, 0, 1]))),
        ("other-unicast-dst", eth(ipv4(1, icmp), dst=bytes([2, 0, 0, 0, 0, 0x99]))),
        ("ipv4-to-broadcast", eth(ipv4(1, icmp, dst=b"\xff" * 4), dst=BCAST)),
        ("ipv4-from-broadcast", eth(ipv4(1, icmp, src=b"\xff" * 4))),
        ("ipv4-multicast-src", eth(ipv4(17, udp(1, 7, b"x", src=bytes([224, 0, 0, 1])), src=bytes([224, 0, 0, 1])))),
        ("udp-port-0", eth(ipv4(17, udp(0, 0, b"x")))),
        ("ttl-0", eth(ipv4(1, icmp, ttl=0))),
    ]
    # random garbage behind valid headers
    for k in range(150):
        kind = rng.choice((0x0800, 0x86DD, 0x0806))
        body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        if kind == 0x0800 and rng.random() < 0.5:
            body = ipv4(rng.choice((1, 6, 17, 2, 47)), body)
        out.append((f"random-{k}", eth(body, kind)))
    return out
