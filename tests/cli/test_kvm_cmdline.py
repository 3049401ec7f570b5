"""The kvm target's QEMU command line, exit-status decoding and cross file (tools/mirclib/kvm.py).

Pure functions, no QEMU: tests/cli/run discovers this module and reports one
TAP line per test.
"""
import os
import shlex
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))), "tools"))

from mirclib import kvm  # noqa: E402
from mirclib.cli import UserError  # noqa: E402
from mirclib.manifest import Device  # noqa: E402

IMG = "/build/app.kvm"


def nic(name, index=0, **s):
    return (Device(name, "net", index), dict(s), None)


def disk(name, path, index=0, **s):
    return (Device(name, "block", index), dict(s), path)


def argv(topts=None, devices=(), app_args=(), kvm_ok=True, **kw):
    return kvm.qemu_argv(IMG, topts or {}, list(devices), list(app_args), kvm_ok=kvm_ok, **kw)


def opt(a, flag):
    """The values following each occurrence of flag."""
    return [a[i + 1] for i, x in enumerate(a) if x == flag]


class Defaults(unittest.TestCase):
    def test_microvm_with_qboot_and_kvm_when_usable(self):
        a = argv()
        self.assertEqual(a[0], "qemu-system-x86_64")
        self.assertTrue(opt(a, "-M")[0].startswith("microvm,"))
        self.assertEqual(opt(a, "-bios"), ["/usr/share/qemu/qboot.rom"])
        self.assertEqual(opt(a, "-accel"), ["kvm"])
        self.assertEqual(opt(a, "-cpu"), ["host,-arch-capabilities"])
        self.assertEqual(opt(a, "-m"), ["64M"])
        self.assertEqual(opt(a, "-kernel"), [IMG])

    def test_tcg_when_kvm_is_not_usable(self):
        a = argv(kvm_ok=False)
        self.assertEqual(opt(a, "-accel"), ["tcg"])
        self.assertEqual(opt(a, "-cpu"), ["max"], "TCG: every feature it emulates (RDRAND)")

    def test_serial_exit_device_and_no_reboot(self):
        a = argv()
        for flag in ("-nodefaults", "-no-user-config", "-no-reboot"):
            self.assertIn(flag, a)
        self.assertEqual(opt(a, "-serial"), ["stdio"])
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x04", opt(a, "-device"))
        self.assertEqual(opt(a, "-display"), ["none"])

    def test_microvm_keeps_pit_rtc_and_acpi(self):
        m = opt(argv(), "-M")[0].split(",")
        for o in ("pit=on", "rtc=on", "acpi=on"):
            self.assertIn(o, m)


class ManifestOptions(unittest.TestCase):
    def test_machine_memory_cpu(self):
        a = argv({"machine": "q35", "memory": "256M", "cpu": "qemu64"})
        self.assertEqual(opt(a, "-M"), ["q35"])
        self.assertEqual(opt(a, "-m"), ["256M"])
        self.assertEqual(opt(a, "-cpu"), ["qemu64"])
        self.assertEqual(opt(a, "-bios"), ["/usr/share/qemu/qboot.rom"], "qboot on pc/q35 too")

    def test_memory_in_other_units(self):
        self.assertEqual(opt(argv({"memory": "1G"}), "-m"), ["1024M"])
        self.assertEqual(opt(argv({"memory": 33554432}), "-m"), ["32M"])

    def test_forced_tcg_even_with_kvm(self):
        self.assertEqual(opt(argv({"accel": "tcg"}), "-accel"), ["tcg"])
        self.assertEqual(opt(argv({"accel": "tcg"}), "-cpu"), ["max"])

    def test_forced_kvm_without_kvm_is_an_error(self):
        with self.assertRaisesRegex(UserError, "/dev/kvm is not usable"):
            argv({"accel": "kvm"}, kvm_ok=False)


class BootCommandLine(unittest.TestCase):
    def test_app_args_after_the_separator_quoted_like_a_shell(self):
        args = ["a", "b c", "", "'q'", '"dq"', "--x=y z", "ünï", "back\\slash", "$HOME", "*"]
        line = opt(argv(app_args=args), "-append")[0]
        words = shlex.split(line)
        self.assertEqual(words[0], "--")
        self.assertEqual(words[1:], args)

    def test_quiet_and_extra_options_go_before_the_separator(self):
        line = opt(argv(app_args=["x"], quiet=True, extra_boot=["--boot-times"]), "-append")[0]
        self.assertEqual(shlex.split(line), ["--quiet", "--boot-times", "--", "x"])

    def test_no_args(self):
        self.assertEqual(opt(argv(), "-append"), ["--"])

    def test_gdb_waits_for_a_debugger(self):
        a = argv(gdb=True)
        self.assertIn("-S", a)
        self.assertIn("-s", a)
        self.assertNotIn("-S", argv())

    def test_gdb_uses_tcg_where_kvm_ignores_breakpoints(self):
        self.assertEqual(opt(argv(gdb=True, kvm_debuggable=False), "-accel"), ["tcg"])
        self.assertEqual(opt(argv(gdb=True, kvm_debuggable=True), "-accel"), ["kvm"])
        self.assertEqual(opt(argv(gdb=False, kvm_debuggable=False), "-accel"), ["kvm"])
        self.assertEqual(opt(argv({"accel": "kvm"}, gdb=True, kvm_debuggable=False), "-accel"), ["kvm"],
                         "an explicit accel wins")


class Nics(unittest.TestCase):
    def test_user_mode_with_forwards_from_manifest_and_publish(self):
        a = argv(devices=[nic("service0", mode="user", hostfwd=["tcp:8080:80", "udp:5353:53"])],
                 publish=["tcp:2222:22"])
        self.assertEqual(opt(a, "-netdev"), [
            "user,id=net-service0,hostfwd=tcp::8080-:80,hostfwd=udp::5353-:53,hostfwd=tcp::2222-:22"])
        self.assertIn("virtio-net-device,netdev=net-service0", opt(a, "-device"))

    def test_a_forward_without_a_protocol_is_tcp_and_udp_as_on_unix(self):
        a = argv(devices=[nic("service0", mode="user", hostfwd=["8080:80"])], publish=["5353:53"])
        self.assertEqual(opt(a, "-netdev"), [
            "user,id=net-service0,hostfwd=tcp::8080-:80,hostfwd=udp::8080-:80,"
            "hostfwd=tcp::5353-:53,hostfwd=udp::5353-:53"])

    def test_publish_goes_to_the_first_user_nic_only(self):
        a = argv(devices=[nic("a", mode="tap", ifname="tap0"), nic("b", 1, mode="user"),
                          nic("c", 2, mode="user")], publish=["80:80"])
        nd = opt(a, "-netdev")
        self.assertIn("hostfwd=tcp::80-:80,hostfwd=udp::80-:80", nd[1])
        self.assertNotIn("hostfwd", nd[2])

    def test_publish_without_a_user_nic_is_an_error(self):
        with self.assertRaisesRegex(UserError, "user mode"):
            argv(devices=[nic("a", mode="tap", ifname="tap0")], publish=["80:80"])
        with self.assertRaisesRegex(UserError, "user mode"):
            argv(publish=["80:80"])

    def test_bad_publish_spec(self):
        with self.assertRaisesRegex(UserError, "expected \\[tcp:\\|udp:\\]HOSTPORT:PORT"):
            argv(devices=[nic("a", mode="user")], publish=["eighty:80"])

    def test_tap(self):
        a = argv(devices=[nic("n", mode="tap", ifname="tap7", mac="52:54:00:12:34:56", mtu=9000)])
        self.assertEqual(opt(a, "-netdev"), ["tap,id=net-n,ifname=tap7,script=no,downscript=no"])
        self.assertIn("virtio-net-device,netdev=net-n,mac=52:54:00:12:34:56,host_mtu=9000",
                      opt(a, "-device"))

    def test_tap_needs_ifname(self):
        with self.assertRaisesRegex(UserError, "tap needs ifname"):
            argv(devices=[nic("n", mode="tap")])

    def test_dgram_for_a_unix_peer(self):
        a = argv(devices=[nic("n", mode="dgram", local="127.0.0.1:5555", remote="127.0.0.1:5556")])
        self.assertEqual(opt(a, "-netdev"), [
            "dgram,id=net-n,local.type=inet,local.host=127.0.0.1,local.port=5555,"
            "remote.type=inet,remote.host=127.0.0.1,remote.port=5556"])

    def test_mode_defaults_to_dgram_with_addresses_else_user(self):
        a = argv(devices=[nic("d", local="127.0.0.1:1", remote="127.0.0.1:2"), nic("u", 1)])
        nd = opt(a, "-netdev")
        self.assertTrue(nd[0].startswith("dgram,id=net-d,"))
        self.assertEqual(nd[1], "user,id=net-u")

    def test_dgram_needs_both_ends(self):
        with self.assertRaisesRegex(UserError, "dgram needs local and remote"):
            argv(devices=[nic("n", mode="dgram", local="127.0.0.1:1")])

    def test_unknown_mode(self):
        with self.assertRaisesRegex(UserError, "not available on kvm"):
            argv(devices=[nic("n", mode="bridge")])

    def test_pci_on_pc_and_q35(self):
        for m in ("pc", "q35"):
            a = argv({"machine": m}, devices=[nic("n", mode="user")])
            self.assertIn("virtio-net-pci,netdev=net-n", opt(a, "-device"))


class Disks(unittest.TestCase):
    def test_raw_drive_and_virtio_blk(self):
        a = argv(devices=[disk("disk0", "/d/disk0.img")])
        self.assertEqual(opt(a, "-drive"), [
            "id=blk-disk0,file=/d/disk0.img,format=raw,if=none,cache=writeback"])
        self.assertIn("virtio-blk-device,drive=blk-disk0", opt(a, "-device"))

    def test_commas_in_paths_are_escaped(self):
        a = argv(devices=[disk("d", "/x,y/d.img")])
        self.assertIn("file=/x,,y/d.img,", opt(a, "-drive")[0])

    def test_read_only_and_4k_sectors(self):
        a = argv({"machine": "pc"}, devices=[disk("d", "/d.img", **{"read-only": True, "sector-size": 4096})])
        self.assertTrue(opt(a, "-drive")[0].endswith(",readonly=on"))
        self.assertIn("virtio-blk-pci,drive=blk-d,logical_block_size=4096,physical_block_size=4096",
                      opt(a, "-device"))

    def test_devices_keep_manifest_order_per_kind(self):
        devs = [disk("d1", "/1.img", 0), nic("n1", 0, mode="user"), disk("d2", "/2.img", 1),
                nic("n2", 1, mode="tap", ifname="t"), disk("d3", "/3.img", 2)]
        a = argv(devices=devs)
        blk = [d for d in opt(a, "-device") if d.startswith("virtio-blk")]
        net = [d for d in opt(a, "-device") if d.startswith("virtio-net")]
        self.assertEqual([d.split("drive=blk-")[1] for d in blk], ["d1", "d2", "d3"])
        self.assertEqual([d.split("netdev=net-")[1] for d in net], ["n1", "n2"])


class ExitStatus(unittest.TestCase):
    def test_every_app_status_round_trips(self):
        # the guest writes status + 1 to isa-debug-exit; QEMU exits with (v << 1) | 1
        for s in range(0, 127):
            self.assertEqual(kvm.decode_status(((s + 1) << 1 | 1) & 0xff), s)

    def test_power_off_without_a_status_is_an_abort(self):
        self.assertEqual(kvm.decode_status(0), 255)

    def test_qemu_failures_are_not_app_statuses(self):
        for rc in (1, 2, 4, 100, 254, 256, -1):
            self.assertIsNone(kvm.decode_status(rc), rc)


class CrossFile(unittest.TestCase):
    def test_flags_and_sysroot(self):
        text = kvm.cross_file_text("/cache/sysroot/newlib-x", "/usr/lib/gcc/x86_64-linux-gnu/12/include")
        for flag in ("'-mno-red-zone'", "'-fno-pic'", "'-mcmodel=small'", "'-ffunction-sections'",
                     "'-mstack-protector-guard=global'", "'-nostdinc'", "'-Wl,--gc-sections'",
                     "'-nostdlib'", "b_staticpic = false"):
            self.assertIn(flag, text)
        self.assertIn("mirc_sysroot = '/cache/sysroot/newlib-x'", text)
        self.assertIn("'-isystem', '/cache/sysroot/newlib-x/include'", text)
        self.assertIn("'-idirafter', '/usr/lib/gcc/x86_64-linux-gnu/12/include'", text)
        self.assertIn("cpu_family = 'x86_64'", text)
        self.assertIn("mirc_target = 'kvm'", text, "mirc's meson.build builds the backend it names")

    def test_values_are_meson_strings_whatever_they_hold(self):
        text = kvm.cross_file_text("/home/o'brien/sysroot", "/gcc\\inc")
        self.assertIn("mirc_sysroot = '/home/o\\'brien/sysroot'", text)
        self.assertIn("'-isystem', '/home/o\\'brien/sysroot/include'", text)
        self.assertIn("'-idirafter', '/gcc\\\\inc'", text)


class DgramSockets(unittest.TestCase):
    """The sockets mirc run gives QEMU for dgram NICs (QEMU's own socket takes any sender's)."""

    def test_the_same_local_port_twice_names_the_second_nic(self):
        devs = [nic("a", mode="dgram", local="127.0.0.1:47390", remote="127.0.0.1:1"),
                nic("b", 1, mode="dgram", local="127.0.0.1:47390", remote="127.0.0.1:2")]
        socks, bad = kvm.dgram_sockets(devs)
        self.assertEqual(socks, {})
        self.assertEqual(bad[0], "b")
        self.assertIn("also used by net device 'a'", bad[1])

    def test_a_port_another_program_holds(self):
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
            held.bind(("127.0.0.1", 0))
            port = held.getsockname()[1]
            socks, bad = kvm.dgram_sockets([nic("n", mode="dgram", local=f"127.0.0.1:{port}",
                                                remote="127.0.0.1:1")])
        self.assertEqual(bad[0], "n")
        self.assertIn("cannot bind", bad[1])

    def test_other_modes_get_no_socket(self):
        self.assertEqual(kvm.dgram_sockets([nic("u", mode="user"), disk("d", "/x.img")]), ({}, None))

    def _exchange(self, family, host, lport, rport):
        import socket
        socks, bad = kvm.dgram_sockets([nic("n", mode="dgram", local=f"{host}:{lport}",
                                            remote=f"{host}:{rport}")])
        self.assertIsNone(bad)
        so = socks["n"]
        addr = host.strip("[]")
        with socket.socket(family, socket.SOCK_DGRAM) as peer, \
                socket.socket(family, socket.SOCK_DGRAM) as stranger:
            peer.bind((addr, rport))
            stranger.bind((addr, 0))
            stranger.sendto(b"stranger", (addr, lport))
            peer.sendto(b"peer", (addr, lport))
            so.settimeout(1)
            self.assertEqual(so.recv(100), b"peer", "the stranger's datagram came first")
            so.setblocking(False)
            with self.assertRaises(BlockingIOError, msg="the stranger's datagram arrived"):
                so.recv(100)
            so.send(b"to peer")  # QEMU sends with send(): the socket knows its remote
            peer.settimeout(1)
            self.assertEqual(peer.recv(100), b"to peer")
        so.close()

    def test_the_socket_takes_only_the_remotes_datagrams(self):
        import socket
        self._exchange(socket.AF_INET, "127.0.0.1", 47391, 47392)

    def test_ipv6_in_brackets(self):
        import socket
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        self._exchange(socket.AF_INET6, "[::1]", 47393, 47394)

    def test_qemu_gets_the_descriptor_not_an_address(self):
        a = argv(devices=[nic("n", mode="dgram", local="127.0.0.1:5555", remote="127.0.0.1:5556")],
                 dgram_fds={"n": 7})
        self.assertEqual(opt(a, "-netdev"), ["dgram,id=net-n,local.type=fd,local.str=7"])


class Injection(unittest.TestCase):
    """No user value adds a QEMU option: hosts are checked, and values are escaped (',,')."""

    def test_a_comma_in_a_dgram_address_is_refused(self):
        for bad in ("127.0.0.1,hostfwd=tcp::22-:22:1", "127.0.0.1:1,x=y", "a b:1", "[::1,x]:1",
                    "127.0.0.1:0", "127.0.0.1:65536"):
            with self.assertRaisesRegex(UserError, "is not HOST:PORT", msg=bad):
                argv(devices=[nic("n", mode="dgram", local=bad, remote="127.0.0.1:2")])
            with self.assertRaisesRegex(UserError, "is not HOST:PORT", msg=bad):
                argv(devices=[nic("n", mode="dgram", local="127.0.0.1:2", remote=bad)])

    def test_host_names_and_ipv6_reach_qemu_as_given(self):
        a = argv(devices=[nic("n", mode="dgram", local="peer-1.example:5555", remote="[::1]:5556")])
        self.assertEqual(opt(a, "-netdev"), [
            "dgram,id=net-n,local.type=inet,local.host=peer-1.example,local.port=5555,"
            "remote.type=inet,remote.host=::1,remote.port=5556"])

    def test_values_are_escaped_even_past_the_manifest_checks(self):
        a = argv(devices=[nic("n", mode="tap", ifname="t,x=1", mac="52:54:00:12:34:56,y=2")])
        self.assertEqual(opt(a, "-netdev"), ["tap,id=net-n,ifname=t,,x=1,script=no,downscript=no"])
        self.assertIn("virtio-net-device,netdev=net-n,mac=52:54:00:12:34:56,,y=2", opt(a, "-device"))

    def test_every_disk_path_is_escaped(self):
        a = argv(devices=[disk("d", "/x,if=floppy,file=/etc/passwd")])
        self.assertEqual(opt(a, "-drive")[0],
                         "id=blk-d,file=/x,,if=floppy,,file=/etc/passwd,format=raw,if=none,cache=writeback")


class KvmProbe(unittest.TestCase):
    def test_a_missing_device_is_not_usable(self):
        self.assertFalse(kvm.kvm_usable("/nonexistent/kvm"))

    def test_a_file_that_is_not_kvm_is_not_usable(self):
        self.assertFalse(kvm.kvm_usable(os.devnull))


if __name__ == "__main__":
    unittest.main()
