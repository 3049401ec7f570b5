"""The xen target's xl domain config, status decoding and cross file (tools/mirclib/xen.py).

Pure functions, no Xen: tests/cli/run discovers this module and reports one
TAP line per test. The config is read back with a small reader that follows
xl's own string rules (libxlu: double quotes; \\" \\' \\\\ and \\xHH escapes), so
what xl would hand the guest is what is checked.
"""
import os
import re
import shlex
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))), "tools"))

from mirclib import devices, kvm, xen  # noqa: E402
from mirclib.cli import UserError  # noqa: E402
from mirclib.manifest import Device  # noqa: E402

IMG = "/build/app.xen"
STRING = r'"((?:[^"\\\n]|\\.)*)"'


def dequote(body):
    """An xl string's value, as libxlu's dequote computes it."""
    out, i = [], 0
    simple = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nc = body[i + 1]
        if nc == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(simple[nc])
            i += 2
    return "".join(out)


def parse(text):
    """key -> string, int or list of strings, for the subset of xl syntax xl_config writes."""
    cfg = {}
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(r"^(\w+) = (" + STRING + r"|\d+|\[(?:[^\]\"]|" + STRING + r")*\])", text, re.M):
        key, val = m.group(1), m.group(2)
        if val.startswith('"'):
            cfg[key] = dequote(val[1:-1])
        elif val.startswith("["):
            cfg[key] = [dequote(s) for s in re.findall(STRING, val)]
        else:
            cfg[key] = int(val)
    return cfg


def nic(name, index=0, **s):
    return (Device(name, "net", index), dict(s), None)


def disk(name, path, index=0, **s):
    return (Device(name, "block", index), dict(s), path)


def config(topts=None, devices=(), app_args=(), **kw):
    return xen.xl_config("app", IMG, topts or {}, list(devices), list(app_args), **kw)


class Domain(unittest.TestCase):
    def test_a_pvh_domain_of_the_image_with_defaults(self):
        c = parse(config())
        self.assertEqual(c["type"], "pvh")
        self.assertEqual(c["kernel"], IMG)
        self.assertEqual(c["name"], "mirc-app")
        self.assertEqual(c["memory"], 64)
        self.assertEqual(c["vcpus"], 1)
        self.assertEqual(c["tsc_mode"], "native", "no trap per clock read")
        self.assertNotIn("vif", c)
        self.assertNotIn("disk", c)

    def test_shut_down_domains_are_preserved_for_the_exit_status(self):
        c = parse(config())
        self.assertEqual((c["on_poweroff"], c["on_crash"], c["on_reboot"]),
                         ("preserve", "preserve", "destroy"))
        self.assertIn("/local/domain/<domid>/data/mirc-exit-status", config())

    def test_memory_from_the_manifest_in_whole_mib(self):
        self.assertEqual(parse(config({"memory": "128M"}))["memory"], 128)
        self.assertEqual(parse(config({"memory": "1G"}))["memory"], 1024)
        self.assertEqual(parse(config({"memory": 3 * (1 << 20) + 1}))["memory"], 4, "rounded up")

    def test_a_run_names_its_domain(self):
        self.assertEqual(parse(config(name="mirc-app-123"))["name"], "mirc-app-123")


class BootArguments(unittest.TestCase):
    def words(self, args, **kw):
        return shlex.split(parse(config(app_args=args, **kw))["cmdline"])

    def test_arguments_survive_xl_and_the_guest_split_unchanged(self):
        args = ["args", "a", "b c", "", "'q'", '"dq"', "--x=y z", "ünï", "back\\slash", "tab\there"]
        self.assertEqual(self.words(args), ["--"] + args)

    def test_quiet_and_runtime_words_come_before_the_separator(self):
        self.assertEqual(self.words(["x"], quiet=True, extra_boot=["--boot-times"]),
                         ["--quiet", "--boot-times", "--", "x"])
        self.assertEqual(parse(config())["cmdline"], "--", "the same as the kvm target passes")

    def test_control_characters_are_escaped_not_written_raw(self):
        text = config(app_args=["a\nb"])
        self.assertNotIn("a\nb", text)
        self.assertEqual(self.words(["a\nb"]), ["--", "a\nb"])


class Devices(unittest.TestCase):
    def test_nics_become_vifs_in_manifest_order_on_a_bridge(self):
        c = parse(config(devices=[nic("a", mac="02:00:00:00:00:01"), disk("d", "/x.img"),
                                  nic("b", 1, bridge="br1", mtu=9000)]))
        self.assertEqual(c["vif"], ["mac=02:00:00:00:00:01,bridge=xenbr0", "bridge=br1,mtu=9000"])

    def test_disks_get_xvda_xvdb_in_manifest_order_with_their_access(self):
        c = parse(config(devices=[disk("a", "/d/a.img"), nic("n"), disk("b", "/d/b,c.img", 1, **{"read-only": True})]))
        self.assertEqual(c["disk"], ["format=raw, vdev=xvda, access=rw, target=/d/a.img",
                                     "format=raw, vdev=xvdb, access=ro, target=/d/b,c.img"])

    def test_a_sector_size_xl_cannot_express_is_noted(self):
        text = config(devices=[disk("big", "/d/big.img", **{"sector-size": 4096})])
        self.assertRegex(text, r"# disk 'big' \(xvda\) wants 4096-byte sectors")

    def test_vdev_numbers_and_their_limit(self):
        self.assertEqual([xen.vdev(i) for i in (0, 1, 15)], ["xvda", "xvdb", "xvdp"])
        with self.assertRaises(UserError):
            xen.vdev(26)

    def test_files_for_the_emulated_host_name_kernel_and_disks(self):
        files = xen.config_files(IMG, [disk("a", "/d/a.img", **{"sector-size": 4096}), nic("n"),
                                       disk("b", "/d/b.img", 1, **{"read-only": True})])
        self.assertEqual(files, [
            {"role": "kernel", "path": IMG},
            {"role": "disk", "path": "/d/a.img", "vdev": "xvda", "sector_size": 4096, "read_only": False},
            {"role": "disk", "path": "/d/b.img", "vdev": "xvdb", "sector_size": 512, "read_only": True}])


class Unattached(unittest.TestCase):
    DEVS = xen.device_list([nic("n0"), nic("n1", 1, bridge="br1"), disk("d0", "/d/a.img")])

    def test_a_missing_bridge_names_the_nic_on_it(self):
        err = ("xl create refused the guest:\nvif-bridge: bridge br1 does not exist in dom0\n"
               "libxl: error: ... unable to add vif devices")
        self.assertEqual(xen.unattached(err, self.DEVS), ("net", "n1", "bridge br1 does not exist in dom0"))

    def test_a_disk_error_names_the_disk_by_its_file(self):
        err = "libxl: error: ... failed to attach /d/a.img\nunable to add disk devices"
        self.assertEqual(xen.unattached(err, self.DEVS)[:2], ("block", "d0"))

    def test_other_failures_are_not_blamed_on_a_device(self):
        self.assertIsNone(xen.unattached("xl create refused the guest: out of memory", self.DEVS))
        self.assertEqual(devices.refused("net", "n1", "why"),
                         "cannot attach net device 'n1' declared in mirc.toml: why")


class Status(unittest.TestCase):
    def test_poweroff_with_the_key_is_the_apps_status(self):
        self.assertEqual(xen.status_from("---s--", "0"), 0)
        self.assertEqual(xen.status_from("---s--", "42\n"), 42)
        self.assertEqual(xen.status_from("---s--", "126"), 126)

    def test_a_crash_or_a_missing_or_bad_key_is_an_abort(self):
        self.assertEqual(xen.status_from("---sc-", None), 255)
        self.assertEqual(xen.status_from("---sc-", "3"), 255, "crash wins over a stale key")
        self.assertEqual(xen.status_from("---s--", None), 255)
        self.assertEqual(xen.status_from("---s--", "300"), 255)
        self.assertEqual(xen.status_from("---s--", "x"), 255)


class OneDefinition(unittest.TestCase):
    """Constants that cross a language boundary: defined once on each side, checked equal."""

    def test_the_status_key_is_the_one_the_guest_writes(self):
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
        with open(os.path.join(top, "backends", "xen", "xen_hv.h")) as f:
            m = re.search(r'#define XEN_EXIT_STATUS_KEY "([^"]+)"', f.read())
        self.assertIsNotNone(m, "backends/xen/xen_hv.h defines XEN_EXIT_STATUS_KEY")
        self.assertEqual(xen.STATUS_KEY, m.group(1))

    def test_the_runner_uses_mirc_s_definitions(self):
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
        with open(os.path.join(top, "tests", "xenhost", "xenhost.py")) as f:
            text = f.read()
        self.assertIn("from mirclib.xen import RUNNER_FAILED, RUNNER_UNAVAILABLE, STATUS_KEY", text)
        self.assertNotRegex(text, r"\nSTATUS_KEY\s*=", "the runner has no copy of its own")
        with open(os.path.join(top, "tests", "xenhost", "dom0", "xh")) as f:
            self.assertIn("STATUS_KEY=$(cat /share/.xh/status-key", f.read())


class CrossFile(unittest.TestCase):
    def test_the_freestanding_x86_64_cross_file_names_the_sysroot(self):
        text = kvm.cross_file_text("/sr", "/gcc/include", target="xen")
        self.assertIn("mirc configure -t xen", text)
        self.assertIn("mirc_target = 'xen'", text, "the same build as kvm's, for the xen backend")
        self.assertIn("mirc_sysroot = '/sr'", text)
        self.assertEqual(text.replace("xen", "kvm"), kvm.cross_file_text("/sr", "/gcc/include", target="kvm"))
        self.assertIn("'-nostdinc'", text)
        self.assertNotIn("/usr/include", text, "the Xen headers come through a symlink dir, not -I/usr/include")


FAKE_XL = """#!/bin/sh
echo "xl $*" >> "$FAKE_DIR/log"
case "$1" in
create)
    [ -n "$FAKE_CREATE_FAILS" ] && exit 1
    touch "$FAKE_DIR/created"      # -c: attached to the console until the domain goes
    while [ ! -e "$FAKE_DIR/destroyed" ]; do sleep 0.02; done ;;
list)
    [ -e "$FAKE_DIR/created" ] || exit 1
    n=$(cat "$FAKE_DIR/polls" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/polls"
    state=-b----; [ $n -ge 3 ] && state=$FAKE_STATE
    echo "Name                                        ID   Mem VCPUs      State   Time(s)"
    echo "$2                                        7    64     1     $state       0.3" ;;
destroy) touch "$FAKE_DIR/destroyed" ;;
esac
"""
FAKE_XENSTORE_READ = """#!/bin/sh
echo "xenstore-read $*" >> "$FAKE_DIR/log"
[ -n "$FAKE_KEY" ] || exit 1
echo "$FAKE_KEY"
"""


class XlRun(unittest.TestCase):
    """xl_run's control flow against a fake xl and xenstore-read on PATH."""

    def run_fake(self, state="---s--", key="42", create_fails=False):
        with tempfile.TemporaryDirectory() as d:
            for name, text in (("xl", FAKE_XL), ("xenstore-read", FAKE_XENSTORE_READ)):
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(d, name), 0o755)
            saved = dict(os.environ)
            os.environ.update(PATH=d + os.pathsep + saved["PATH"], FAKE_DIR=d, FAKE_STATE=state,
                              FAKE_KEY=key or "", FAKE_CREATE_FAILS="1" if create_fails else "")
            try:
                st = xen.xl_run("/b/app.run.xl", "mirc-app-1", poll=0.02)
            finally:
                os.environ.clear()
                os.environ.update(saved)
            with open(os.path.join(d, "log")) as f:
                return st, f.read()

    def test_the_status_is_read_from_xenstore_after_poweroff_then_the_domain_goes(self):
        st, log = self.run_fake("---s--", "42")
        self.assertEqual(st, 42)
        self.assertIn("xl create -c /b/app.run.xl", log)
        self.assertIn("xenstore-read /local/domain/7/data/mirc-exit-status", log)
        self.assertTrue(log.rstrip().endswith("xl destroy mirc-app-1"), log)

    def test_a_crashed_domain_is_255_and_is_destroyed_too(self):
        st, log = self.run_fake("---sc-", None)
        self.assertEqual(st, 255)
        self.assertIn("xl destroy mirc-app-1", log)

    def test_xl_create_failing_is_the_runners_failure_not_an_app_status(self):
        st, log = self.run_fake(create_fails=True)
        self.assertEqual(st, xen.RUNNER_FAILED)
        self.assertNotIn("xenstore-read", log)


FAKE_RUNNER = """#!/bin/sh
echo "$*" > "$FAKE_DIR/args"
echo "xenhost: booting the host" >&2
echo "hello from the guest"
if [ -n "$FAKE_REFUSE" ]; then
    printf 'xenhost: error: xl create refused the guest:\\n%s\\n' "$FAKE_REFUSE" >&2
    exit 254
fi
exit 7
"""


class EmulatedRunner(unittest.TestCase):
    """mirc's side of the emulated Xen host: finding the runner, and its contract."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mirc-runner-")
        self.saved = dict(os.environ)

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved)
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_by_default_the_runner_of_this_tree(self):
        os.environ.pop("MIRC_XENHOST", None)
        self.assertEqual(xen.emulated_runner(), xen.TREE_RUNNER)
        self.assertTrue(xen.TREE_RUNNER.endswith("tests/xenhost/xenhost.py"))

    def test_mirc_xenhost_names_another_and_a_wrong_one_is_a_clear_error(self):
        os.environ["MIRC_XENHOST"] = os.path.join(self.dir, "nope")
        with self.assertRaisesRegex(UserError, "MIRC_XENHOST=.*nope: not an executable file"):
            xen.emulated_runner()

    def run_fake(self, refuse=""):
        runner = os.path.join(self.dir, "runner")
        with open(runner, "w") as f:
            f.write(FAKE_RUNNER)
        os.chmod(runner, 0o755)
        info = os.path.join(self.dir, "info.json")
        with open(info, "w") as f:
            f.write('{"files": [], "devices": [{"kind": "net", "name": "left", "bridge": "xenbr9"}]}')
        os.environ.update(FAKE_DIR=self.dir, FAKE_REFUSE=refuse, MIRC_XEN_TIMEOUT="30")
        import subprocess
        r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "from mirclib import xen; sys.exit(xen.helper_main(sys.argv[2:]))",
                            os.path.dirname(os.path.dirname(xen.__file__)), "emulated", runner,
                            "/b/app.xen", "/b/app.run.xl", info], capture_output=True, text=True)
        with open(os.path.join(self.dir, "args")) as f:
            return r, f.read().split()

    def test_the_runner_gets_the_image_config_files_and_timeout_and_its_status_is_the_apps(self):
        r, args = self.run_fake()
        self.assertEqual(args, ["run", "/b/app.xen", "/b/app.run.xl", "--files",
                                os.path.join(self.dir, "info.json"), "--timeout", "30"])
        self.assertEqual(r.returncode, 7)
        self.assertEqual(r.stdout, "hello from the guest\n")
        self.assertIn("xenhost: booting the host", r.stderr)

    def test_a_refused_device_is_named_as_the_manifest_names_it(self):
        r, _ = self.run_fake("libxl: error: bridge xenbr9 does not exist")
        self.assertEqual(r.returncode, 255)
        self.assertIn("cannot attach net device 'left' declared in mirc.toml: bridge xenbr9 does not exist",
                      r.stderr)
        self.assertNotIn("xenhost: error:", r.stderr, "told once, as the device")

    def test_another_failure_is_the_runners_told_in_its_words(self):
        r, _ = self.run_fake("the guest did not stop within 30 s")
        self.assertEqual(r.returncode, xen.RUNNER_FAILED)
        self.assertIn("xenhost: error: xl create refused the guest", r.stderr)


if __name__ == "__main__":
    unittest.main()
