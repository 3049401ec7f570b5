"""scripts/setup's apt handling, without running apt: tests/cli/run reports one TAP line each.

* scripts/apt-sources derives the backports and deb-src entries from sample
  deb822 and one-line sources in a temporary directory, keeping their options.
* scripts/setup, sourced into bash with apt-get replaced by a shell function:
  an apt failure (signature warnings included) stops it with apt's message and
  what to do, and its policy-rc.d goes away however it exits.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
APT_SOURCES = os.path.join(TOP, "scripts", "apt-sources")
SETUP = os.path.join(TOP, "scripts", "setup")
URI = "http://mirror.example/debian"
KEY_BLOCK = (" -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mDMEZabc\n =wxyz\n"
             " -----END PGP PUBLIC KEY BLOCK-----")


class Dir(unittest.TestCase):
    def setUp(self):
        self.apt = tempfile.mkdtemp(prefix="mirc-apt-")
        os.mkdir(os.path.join(self.apt, "sources.list.d"))

    def tearDown(self):
        shutil.rmtree(self.apt, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.apt, name), "w") as f:
            f.write(text)

    def derive(self, code="bookworm"):
        r = subprocess.run([sys.executable, APT_SOURCES, self.apt, code], capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def stanzas(self, text):
        body = [ln for ln in text.splitlines() if not ln.startswith("#")]
        return [s.strip("\n") for s in "\n".join(body).split("\n\n")]


class AptSources(Dir):
    def test_deb822_with_a_keyring_path_and_several_suites(self):
        self.write("sources.list.d/debian.sources",
                   "# the distribution's own\n"
                   f"Types: deb\nURIs: {URI}\nSuites: bookworm bookworm-updates\n"
                   "Components: main contrib\n# a comment inside\n"
                   "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        rc, out, err = self.derive()
        self.assertEqual(rc, 0, err)
        key = "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
        self.assertEqual(self.stanzas(out), [
            f"Types: deb deb-src\nURIs: {URI}\nSuites: bookworm-backports\nComponents: main\n{key}",
            f"Types: deb-src\nURIs: {URI}\nSuites: bookworm\nComponents: main\n{key}"])

    def test_deb822_embedded_key_and_other_options_are_kept_whole(self):
        self.write("sources.list.d/a.sources",
                   f"Types: deb\nURIs: {URI}\nSuites: bookworm\nEnabled: no\nComponents: main\n")
        self.write("sources.list.d/b.sources",
                   f"Types: deb-src\nURIs: http://wrong.example/\nSuites: bookworm\nComponents: main\n\n"
                   f"Types: deb deb-src\nURIs: {URI} http://second.example/debian\nSuites: bookworm\n"
                   f"Components: main\nArchitectures: amd64 i386\nSigned-By:\n{KEY_BLOCK}\n"
                   "Check-Valid-Until: no\n")
        rc, out, err = self.derive()
        self.assertEqual(rc, 0, err)
        st = self.stanzas(out)
        self.assertEqual(len(st), 2)
        for s in st:
            self.assertIn(f"URIs: {URI} http://second.example/debian\n", s, "the disabled stanza was used")
            self.assertIn(f"Architectures: amd64 i386\nSigned-By:\n{KEY_BLOCK}\nCheck-Valid-Until: no", s)
        self.assertNotIn("Enabled", out)

    def test_one_line_options_become_deb822_fields(self):
        self.write("sources.list",
                   "# deb http://commented.example/debian bookworm main\n"
                   f"deb-src [signed-by=/k.gpg] {URI} bookworm main\n"
                   f"deb {URI} bookworm-updates main\n"
                   f"deb [ arch=amd64,arm64 signed-by=/etc/apt/keyrings/m.gpg,/k2.gpg lang+=de trusted=no ]"
                   f" {URI} bookworm main non-free-firmware # the mirror\n")
        rc, out, err = self.derive()
        self.assertEqual(rc, 0, err)
        opts = ("Architectures: amd64 arm64\nSigned-By: /etc/apt/keyrings/m.gpg,/k2.gpg\n"
                "Languages-Add: de\nTrusted: no")
        self.assertEqual(self.stanzas(out), [
            f"Types: deb deb-src\nURIs: {URI}\nSuites: bookworm-backports\nComponents: main\n{opts}",
            f"Types: deb-src\nURIs: {URI}\nSuites: bookworm\nComponents: main\n{opts}"])

    def test_one_line_without_options_and_in_list_files(self):
        self.write("sources.list", "\n# nothing here\n")
        self.write("sources.list.d/z.list", f"deb {URI} bookworm main\n")
        rc, out, err = self.derive()
        self.assertEqual(rc, 0, err)
        self.assertIn("derived from", out)
        self.assertEqual(self.stanzas(out)[1], f"Types: deb-src\nURIs: {URI}\nSuites: bookworm\nComponents: main")

    def test_deb822_comes_before_one_line(self):
        self.write("sources.list", "deb http://one-line.example/ bookworm main\n")
        self.write("sources.list.d/d.sources", f"Types: deb\nURIs: {URI}\nSuites: bookworm\nComponents: main\n")
        self.assertIn(f"URIs: {URI}\n", self.derive()[1])

    def test_no_source_for_the_codename_is_an_error_saying_what_to_do(self):
        self.write("sources.list", f"deb {URI} trixie main\n#deb {URI} bookworm main\n")
        self.write("sources.list.d/mirc.sources",
                   f"Types: deb deb-src\nURIs: {URI}\nSuites: bookworm\nComponents: main\n")
        rc, out, err = self.derive()
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("no enabled 'deb' source for 'bookworm'", err)
        self.assertIn("add your Debian mirror first", err)

    def test_a_malformed_option_is_named(self):
        self.write("sources.list", f"deb [signed-by] {URI} bookworm main\n")
        rc, out, err = self.derive()
        self.assertEqual(rc, 1)
        self.assertIn("sources.list:1", err)


def bash(script, tmp, timeout=20):
    """Runs `script` in bash after sourcing scripts/setup with POLICY and SOURCES in tmp."""
    pre = (f"source {SETUP}\nPOLICY={tmp}/policy-rc.d\nSOURCES={tmp}/mirc.sources\n")
    return subprocess.Popen(["bash", "-c", pre + script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


class Setup(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mirc-setup-")
        self.policy = os.path.join(self.tmp, "policy-rc.d")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_bash(self, script):
        p = bash(script, self.tmp)
        out, err = p.communicate(timeout=20)
        return p.returncode, out, err

    def test_sourcing_runs_nothing(self):
        rc, out, err = self.run_bash("echo sourced")
        self.assertEqual((rc, out, err), (0, "sourced\n", ""))

    def test_a_signature_warning_stops_setup_with_apts_message_and_what_to_do(self):
        rc, out, err = self.run_bash(
            "apt-get() { echo 'Hit:1 http://mirror.example/debian bookworm InRelease'\n"
            " echo 'W: GPG error: http://mirror.example/debian bookworm-backports InRelease: The following "
            "signatures couldn'\\''t be verified because the public key is not available: NO_PUBKEY 0123'\n"
            " return 0; }\napt_update\necho survived")
        self.assertEqual(rc, 1)
        self.assertNotIn("survived", out)
        self.assertIn("setup:   Hit:1", out)
        self.assertIn("NO_PUBKEY 0123", err)
        self.assertIn("apt-get update failed", err)
        self.assertIn("correct its Signed-By", err)

    def test_a_failing_update_shows_the_errors(self):
        rc, out, err = self.run_bash(
            "apt-get() { echo \"args: $*\"; echo 'Err:2 http://mirror.example/debian bookworm-backports "
            "InRelease'; echo \"E: The repository 'x' is not signed.\" >&2; return 100; }\napt_update")
        self.assertEqual(rc, 1)
        self.assertIn("E: The repository 'x' is not signed.", err)
        self.assertIn("status 100", err)
        self.assertIn("setup:   Err:2", out)

    def test_update_asks_apt_to_fail_on_any_error_and_a_clean_one_passes(self):
        rc, out, err = self.run_bash(
            "apt-get() { echo \"Hit:1 args: $*\"; echo 'W: some harmless warning'; }\napt_update\necho ok")
        self.assertEqual(rc, 0, err)
        self.assertIn("--error-on=any", out)
        self.assertTrue(out.endswith("ok\n"))

    def test_a_failing_install_shows_the_errors(self):
        rc, out, err = self.run_bash(
            "apt-get() { echo 'E: Unable to locate package nosuch'; return 100; }\napt_install nosuch")
        self.assertEqual(rc, 1)
        self.assertIn("E: Unable to locate package nosuch", err)
        self.assertIn("apt-get install failed", err)

    def test_policy_rc_d_goes_away_on_term_int_and_hup(self):
        for sig, want in (("TERM", 143), ("INT", 130), ("HUP", 129)):
            rc, out, err = self.run_bash("block_services\ntest -x $POLICY && echo written\n"
                                         f"kill -{sig} $$\necho after")
            self.assertEqual((rc, out), (want, "written\n"), f"SIG{sig}: {err}")
            self.assertFalse(os.path.exists(self.policy), f"policy-rc.d left behind after SIG{sig}")

    def test_policy_rc_d_goes_away_when_killed_during_a_command(self):
        # as during apt-get: bash runs the trap once the command ends, then exits
        rc, out, err = self.run_bash("block_services\ntest -x $POLICY && echo written\n"
                                     "bash -c \"sleep 0.2; kill -TERM $$\" &\nsleep 4\necho after")
        self.assertEqual((rc, out), (143, "written\n"), err)
        self.assertFalse(os.path.exists(self.policy), "policy-rc.d left behind")

    def test_policy_rc_d_goes_away_on_die_and_on_a_failing_command(self):
        for action in ("die 'boom'", "false", "exit 0"):
            rc, out, err = self.run_bash(f"block_services\ntest -x $POLICY && echo written\n{action}\necho after")
            self.assertEqual(out, "written\n", err)
            self.assertEqual(rc, 0 if action == "exit 0" else 1, err)
            self.assertFalse(os.path.exists(self.policy), f"policy-rc.d left behind after {action}")

    def test_a_stale_copy_is_removed_and_the_machines_own_is_kept(self):
        rc, out, err = self.run_bash(f"block_services\ncp $POLICY {self.tmp}/stale")  # as if SIGKILLed
        os.replace(os.path.join(self.tmp, "stale"), self.policy)
        rc, out, err = self.run_bash("block_services\nunblock_services")
        self.assertEqual(rc, 0, err)
        self.assertIn("left by an interrupted run", out)
        self.assertFalse(os.path.exists(self.policy))
        with open(self.policy, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        rc, out, err = self.run_bash("block_services\nunblock_services")
        self.assertEqual(rc, 0, err)
        with open(self.policy) as f:
            self.assertEqual(f.read(), "#!/bin/sh\nexit 0\n", "the machine's own policy-rc.d was touched")


if __name__ == "__main__":
    unittest.main()
