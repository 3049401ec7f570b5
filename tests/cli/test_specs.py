"""User values on their way to QEMU and the unix image (tools/mirclib: spec, manifest, cli, devices).

A manifest or a `mirc run --net/--block` value must not add options to QEMU's
-netdev/-drive or the unix image's --net:/--block: specs (a comma would), and a
manifest must not attach or create disks outside its app directory. Pure
functions on temporary directories; tests/cli/run reports one TAP line each.
"""
import argparse
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))), "tools"))

from mirclib import cli, devices, spec, unix  # noqa: E402
from mirclib import manifest as mf  # noqa: E402
from mirclib.cli import UserError  # noqa: E402

HEAD = 'name = "t"\nsources = ["main.c"]\n'
NIC = HEAD + '[devices.n0]\nkind = "net"\nlocal = "127.0.0.1:5000"\nremote = "127.0.0.1:5001"\n'


class AppDir(unittest.TestCase):
    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="mirc-spec-")
        self.app = os.path.join(self.top, "app")
        os.mkdir(self.app)
        with open(os.path.join(self.app, "main.c"), "w") as f:
            f.write("int x;\n")

    def tearDown(self):
        shutil.rmtree(self.top, ignore_errors=True)

    def load(self, text):
        path = os.path.join(self.app, "mirc.toml")
        with open(path, "w") as f:
            f.write(text)
        return mf.load(path)

    def disk(self, file, extra=""):
        return self.load(HEAD + f'[devices.d0]\nkind = "block"\nfile = "{file}"\nsize = "1M"\n{extra}')


class Escaping(unittest.TestCase):
    def test_split_follows_qemu(self):
        self.assertEqual(spec.split("a,b=c,,d"), ["a", "b=c,d"])
        self.assertEqual(spec.split("a,,,b"), ["a,", "b"])
        self.assertEqual(spec.split("x,,"), ["x,"])
        self.assertEqual(spec.split(""), [""])

    def test_escape_round_trips_any_value(self):
        for v in ("plain", "a,b", ",", ",,", "a,,,b,", "k=v,k2=v2"):
            self.assertEqual(spec.split("file=" + spec.escape(v) + ",x=1"), ["file=" + v, "x=1"], v)


class ManifestHosts(AppDir):
    def test_a_comma_or_other_junk_in_an_address_is_refused_naming_the_line(self):
        for bad in ("127.0.0.1:5000,hostfwd=tcp::22-:22", "127.0.0.1,x=y:5000", "h st:1", "host:",
                    ":5000", "host:0", "host:65536", "[::1:5000", "[zz::1]:5000", "a..b:1", "-a:1"):
            with self.assertRaisesRegex(mf.ManifestError, r"mirc.toml:5: devices.n0.local: .* is not HOST:PORT",
                                        msg=bad):
                self.load(NIC.replace("127.0.0.1:5000", bad))

    def test_names_ipv4_and_bracketed_ipv6_pass(self):
        for good, hp in (("127.0.0.1:5000", ("127.0.0.1", 5000)), ("peer-1.lan:1", ("peer-1.lan", 1)),
                         ("[::1]:65535", ("::1", 65535)), ("[fe80::1:2]:7", ("fe80::1:2", 7))):
            self.load(NIC.replace("127.0.0.1:5000", good))
            self.assertEqual(mf.parse_hostport(good), hp)


class ManifestFiles(AppDir):
    def test_absolute_and_parent_paths_are_refused_saying_how_to_use_them(self):
        for bad in ("/etc/passwd", "../outside.img", "a/../../x.img", "disks/.."):
            with self.assertRaisesRegex(mf.ManifestError, r"mirc.toml:5: devices.d0.file: .* is outside the "
                                        r"app directory.*pass it at run time: mirc run --block d0=", msg=bad):
                self.disk(bad)

    def test_per_target_files_are_checked_too(self):
        with self.assertRaisesRegex(mf.ManifestError, "devices.d0.kvm.file: '/x.img' is outside"):
            self.disk("a.img", '[devices.d0.kvm]\nfile = "/x.img"\n')

    def test_a_symlink_out_of_the_directory_is_refused_at_run(self):
        outside = os.path.join(self.top, "victim")
        os.symlink(outside, os.path.join(self.app, "disk.img"))  # dangling: mirc would create it
        m = self.disk("disk.img")
        d = m.devices[0]
        with self.assertRaisesRegex(UserError, r"leads outside the app directory.*mirc run --block d0="):
            devices.block_file(m, d, d.settings("unix"))
        self.assertFalse(os.path.exists(outside), "a file was created outside the app directory")
        os.mkdir(os.path.join(self.top, "elsewhere"))
        os.symlink(os.path.join(self.top, "elsewhere"), os.path.join(self.app, "sub"))
        m = self.disk("sub/disk.img")
        with self.assertRaisesRegex(UserError, "leads outside the app directory"):
            devices.block_file(m, m.devices[0], m.devices[0].settings("unix"))
        self.assertEqual(os.listdir(os.path.join(self.top, "elsewhere")), [])

    def test_files_inside_are_created_and_symlinks_inside_are_fine(self):
        m = self.disk("disks/d.img")
        path = devices.block_file(m, m.devices[0], m.devices[0].settings("unix"))
        self.assertEqual(os.path.getsize(path), 1 << 20)
        os.symlink("disks/d.img", os.path.join(self.app, "link.img"))
        m = self.disk("link.img")
        self.assertTrue(devices.block_file(m, m.devices[0], m.devices[0].settings("unix")))

    def test_a_file_named_at_run_time_may_be_anywhere_and_is_not_created(self):
        outside = os.path.join(self.top, "mine.img")
        with open(outside, "wb") as f:
            f.truncate(1 << 20)
        m = self.disk("d.img")
        over = cli.device_overrides(m, [], [f"d0={outside}"])
        s = devices.settings(m, "unix", over)[0][1]
        self.assertEqual(devices.block_file(m, m.devices[0], s, explicit=devices.explicit_file(over, m.devices[0])),
                         outside)
        over = cli.device_overrides(m, [], [f"d0={self.top}/missing.img"])
        s = devices.settings(m, "unix", over)[0][1]
        with self.assertRaisesRegex(UserError, "does not exist"):
            devices.block_file(m, m.devices[0], s, explicit=True)


class Overrides(AppDir):
    def test_run_time_nets_get_the_manifests_checks(self):
        m = self.load(NIC)
        for item, frag in (("n0=dgram,local=127.0.0.1:1,,hostfwd=tcp::22-:22,remote=127.0.0.1:2",
                            "local: '127.0.0.1:1,hostfwd=tcp::22-:22' is not HOST:PORT"),
                           ("n0=dgram,local=127.0.0.1:1,remote=1.2.3.4:99999", "remote: "),
                           ("n0=tap,ifname=t,,vhost=on", "ifname: 't,vhost=on' is not a valid interface"),
                           ("n0=tap,ifname=t0,mac=02:00:00:00:00:01,,x", "mac: "),
                           ("n0=tap,ifname=t0,mtu=9,,1", "mtu: must be an integer"),
                           ("n0=user,hostfwd=tcp:1:2,,x", "hostfwd: 'tcp:1:2,x' is not"),
                           ("n0=tap,ifname=t0,kind=block", "kind: a device's kind is set in mirc.toml"),
                           ("n0=tap,ifname=t0,script=/bin/sh", "script: unknown key")):
            with self.assertRaisesRegex(mf.ManifestError, f"^--net {item.replace('+', '[+]')}: .*", msg=item) as cm:
                cli.device_overrides(m, [item], [])
            self.assertIn(frag, str(cm.exception))

    def test_run_time_disks_unescape_commas_and_are_checked(self):
        m = self.disk("d.img")
        over = cli.device_overrides(m, [], ["d0=my,,disk.img,read-only=on"])
        self.assertEqual(over["d0"], {"file": "my,disk.img", "read-only": True})
        with self.assertRaisesRegex(mf.ManifestError, "sector-size: 1000 is not a power of two"):
            cli.device_overrides(m, [], ["d0=x.img,sector-size=1000"])
        with self.assertRaisesRegex(mf.ManifestError, "unknown key"):
            cli.device_overrides(m, [], ["d0=x.img,format=qcow2"])

    def test_the_unix_image_gets_escaped_values(self):
        m = self.disk("d,read-only=on.img")
        a = argparse.Namespace(quiet=False, gdb=False, stack=None, publish=[])
        cfg = {"target": "unix", "build": self.top, "name": "t"}
        cmd, _, files = unix.run(cfg, m, "/img", {}, a, [])
        self.assertEqual(files, [])
        real = os.path.join(os.path.realpath(self.app), "d,read-only=on.img")
        self.assertIn(f"--block:d0=file={real.replace(',', ',,')}", cmd)
        self.assertTrue(os.path.exists(real))


if __name__ == "__main__":
    unittest.main()
