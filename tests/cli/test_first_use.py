"""The CLI and the manifest as a new user meets them (issue 11, point 6): what used to be
silently misread now builds right or stops with one clear line.

Builds small apps for unix in temporary directories (a few seconds each);
tests/cli/run reports one TAP line per test.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
MIRC = os.path.join(TOP, "tools", "mirc")
sys.path.insert(0, os.path.join(TOP, "tools"))

from mirclib import kvm, unix  # noqa: E402
from mirclib import manifest as mf  # noqa: E402
from mirclib.ui import UserError  # noqa: E402

SAY = '#include <stdio.h>\nint mirc_main(int argc, char **argv) {{ (void)argc; (void)argv; ' \
      'printf("{}\\n"); return 0; }}\n'


def mirc(app, *args):
    r = subprocess.run([MIRC, "-C", app] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


class App(unittest.TestCase):
    def setUp(self):
        self.app = tempfile.mkdtemp(prefix="mirc-first-")

    def tearDown(self):
        shutil.rmtree(self.app, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.app, name), "w") as f:
            f.write(text)

    def build_and_run(self):
        rc, out, err = mirc(self.app, "build")
        self.assertEqual(rc, 0, err)
        img = out.strip().splitlines()[-1]
        r = subprocess.run([img, "--quiet", "--"], capture_output=True, text=True)
        return img, r.stdout.strip()


class ManifestEdits(App):
    def test_build_follows_an_edited_manifest(self):
        self.write("one.c", SAY.format("one"))
        self.write("two.c", SAY.format("two"))
        self.write("mirc.toml", 'name = "first"\nsources = ["one.c"]\n')
        rc, _, err = mirc(self.app, "configure", "-t", "unix")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.build_and_run()[1], "one")
        self.write("mirc.toml", 'name = "second"\nsources = ["two.c"]\n')
        img, out = self.build_and_run()
        self.assertEqual(out, "two", "mirc build compiles the sources mirc.toml names now")
        self.assertEqual(os.path.basename(img), "second", "and names the image as it says")
        rc, out, err = mirc(self.app, "run", "--dry-run")
        self.assertTrue(out.split()[0].endswith("/second"), out + err)

    def test_a_source_named_with_a_quote_builds(self):
        self.write("it's \"quoted\".c", SAY.format("quoted"))
        self.write("mirc.toml", 'name = "q"\nsources = ["it\'s \\"quoted\\".c"]\ncflags = ["-DX=\'1\'"]\n')
        rc, _, err = mirc(self.app, "configure", "-t", "unix")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.build_and_run()[1], "quoted")


def absent_interface():
    names = {n for _, n in socket.if_nameindex()}
    return next(f"mtypo{i}" for i in range(100) if f"mtypo{i}" not in names)


class Taps(App):
    def test_a_tap_that_does_not_exist_is_refused_saying_how_to_create_it(self):
        tap = absent_interface()
        self.write("main.c", SAY.format("x"))
        self.write("mirc.toml", f'name = "t"\nsources = ["main.c"]\n[devices.n0]\nkind = "net"\n'
                   f'mode = "tap"\nifname = "{tap}"\n')
        rc, _, err = mirc(self.app, "configure", "-t", "unix")
        self.assertEqual(rc, 0, err)
        rc, out, err = mirc(self.app, "run", "--no-build")
        self.assertEqual(rc, 2, out + err)
        self.assertIn(f"no network interface '{tap}'", err)
        self.assertIn(f"ip tuntap add dev {tap} mode tap", err)
        self.assertNotIn(tap, {n for _, n in socket.if_nameindex()}, "and none was created")

    def test_kvm_refuses_it_too(self):
        tap = absent_interface()
        self.write("main.c", "int x;\n")
        self.write("mirc.toml", f'name = "t"\nsources = ["main.c"]\n[devices.n0]\nkind = "net"\n'
                   f'mode = "tap"\nifname = "{tap}"\n')
        m = mf.load(os.path.join(self.app, "mirc.toml"), "kvm")
        a = argparse.Namespace(quiet=False, gdb=False, stack=None, publish=[], dry_run=False)
        with self.assertRaisesRegex(UserError, f"no network interface '{tap}'.*ip tuntap add"):
            kvm.run({"target": "kvm", "build": self.app, "name": "t"}, m, "/img", {}, a, [])

    def test_an_existing_interface_passes(self):
        self.write("main.c", "int x;\n")
        self.write("mirc.toml", 'name = "t"\nsources = ["main.c"]\n[devices.n0]\nkind = "net"\n'
                   'mode = "tap"\nifname = "lo"\n')
        m = mf.load(os.path.join(self.app, "mirc.toml"), "unix")
        a = argparse.Namespace(quiet=False, gdb=False, stack=None, publish=[], dry_run=False)
        cmd, _, _ = unix.run({"target": "unix", "build": self.app, "name": "t"}, m, "/img", {}, a, [])
        self.assertIn("--net:n0=tap,ifname=lo", cmd)


class Modes(App):
    def load(self, body, target):
        self.write("main.c", "int x;\n")
        self.write("mirc.toml", 'name = "t"\nsources = ["main.c"]\n' + body)
        return mf.load(os.path.join(self.app, "mirc.toml"), target)

    def test_a_base_mode_is_checked_for_the_target_being_built(self):
        with self.assertRaisesRegex(mf.ManifestError, r"mirc.toml:5: devices.n0.mode: 'bridge' is a mode "
                                    r"of xen, not of kvm \(user, tap, dgram\)"):
            self.load('[devices.n0]\nkind = "net"\nmode = "bridge"\n', "kvm")

    def test_a_per_target_mode_covers_the_base_one(self):
        self.load('[devices.n0]\nkind = "net"\nmode = "bridge"\nunix.mode = "dgram"\n', "unix")

    def test_on_xen_every_nic_is_a_vif_and_a_base_mode_is_for_the_others(self):
        self.load('[devices.n0]\nkind = "net"\nmode = "dgram"\nlocal = "127.0.0.1:1"\n'
                  'remote = "127.0.0.1:2"\n', "xen")


class RunArguments(unittest.TestCase):
    def run_mirc(self, *args):
        r = subprocess.run([MIRC, "-C", os.path.join(TOP, "examples", "hello"), "run"] + list(args),
                           capture_output=True, text=True)
        return r.returncode, r.stderr

    def test_app_flags_before_the_separator_say_where_they_go(self):
        for args in (["--exit=3"], ["a", "b"], ["-q", "--verbose"]):
            rc, err = self.run_mirc(*args)
            self.assertEqual(rc, 2, err)
            self.assertIn("arguments for the app go after '--'", err, args)
            self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_abbreviations_of_mirc_options_are_not_taken(self):
        for flag in ("--e", "--dry", "--g"):  # would be --emulated, --dry-run, --gdb
            rc, err = self.run_mirc(flag)
            self.assertEqual(rc, 2, err)
            self.assertIn(f"'{flag}' is not an option of mirc run", err)

    def test_the_images_own_device_syntax_is_translated(self):
        rc, err = self.run_mirc("--net:service0=tap,ifname=tap0")
        self.assertEqual(rc, 2, err)
        self.assertIn("mirc run takes --net service0=tap,ifname=tap0", err)
        rc, err = self.run_mirc("--block:disk0=x.img")
        self.assertIn("mirc run takes --block disk0=x.img", err)

    def test_publish_means_tcp_and_udp_on_every_target_and_help_says_so(self):
        r = subprocess.run([MIRC, "run", "--help"], capture_output=True, text=True)
        self.assertIn("TCP and UDP alike", " ".join(r.stdout.split()))
        m = mf.Manifest("/x/mirc.toml", "/x", "t", ["m.c"], ["tcpip"], [], [], [],
                        {"unix": {"stack": "socket"}, "kvm": {}, "xen": {}})
        a = argparse.Namespace(stack=None, publish=["8080:80"])
        self.assertEqual(unix.stack_args(m, a), ("socket", ["--stack=socket", "--publish=8080:80"]))
        a.publish = ["udp:53:53"]
        with self.assertRaisesRegex(UserError, "TCP and UDP together; write -p 53:53"):
            unix.stack_args(m, a)


if __name__ == "__main__":
    unittest.main()
