#!/usr/bin/env python3
"""Runs xen images on the emulated Xen test host (tests/xenhost/): Debian's Xen 4.17
with a Linux PV dom0, inside QEMU under TCG, booted once and reused by many guests.

The host is started on demand and stays up between calls (QEMU in the background,
state in $MIRC_CACHE/xenhost/host/); dom0 powers itself off after `IDLE` seconds
without a request, and `stop()` (or `xenhost.py stop`) powers it off at once. A
host whose QEMU died, or that was built from other inputs, is replaced.

How a guest runs: its image, its xl config and the files the config names (disk
images) are placed in a job directory of the share (a host directory dom0 mounts
over 9p at /share; files are hard links, so disks are the caller's own files);
the config's host paths are rewritten to their /share paths; dom0's `xh` creates
the domain with on_poweroff/on_crash="preserve", waits for it to stop, reads the
app's exit status from xenstore (`STATUS_KEY`, relative to the domain's
/local/domain/ID), destroys it and reports. The guest's PV console is logged by
xenconsoled into the job directory and streamed from there as it grows.

This is test infrastructure, not part of mirc: `mirc run -t xen --emulated` runs
this file as a program (MIRC_XENHOST names it; by default this tree's copy),
with the contract tools/mirclib/xen.py states; test suites import it.

Python API (the test suites; `run` below wraps run_guest):

    res = xenhost.run_guest(image, xl_cfg_text, files=[disk paths], timeout=120,
                            stream=sys.stdout.buffer)
    res.status     # the app's exit status (0..126), 255 for a crash or an abort
    res.console    # the guest's whole console output (bytes)

    with xenhost.session() as host:      # starts the host if needed; stops it at
        g = host.start_guest(...)        # the end only if this call started it
        host.exec("ping -c 3 10.0.0.2")  # a dom0 command while the guest runs
        res = g.wait()

Errors: `Unavailable` when this machine cannot run the host (no QEMU 10, no
network for the first build): callers print SKIP. `XenhostError` when the host
or the guest failed (xl create refused the config, the guest timed out): the
message says what happened and where the logs are.

Command line (exit status of `run`: the app's; 253 host unavailable; 254 the
guest did not run or timed out, with the reason on stderr after "xenhost: error: "):

    xenhost.py start | stop | status
    xenhost.py exec 'COMMAND'             run a dom0 shell command
    xenhost.py run IMAGE CONFIG [FILE...] [--files INFO.json] [--timeout S]
                                          INFO.json: {"files": [...]} as mirc writes it
"""
import base64
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(HERE, "build")
sys.path.insert(0, os.path.join(TOP, "tools"))
# The app's exit status: the guest writes it (decimal) to STATUS_KEY of its own xenstore
# directory, then calls SCHEDOP_shutdown(poweroff); dom0/xh reads the name from the share.
# What this runner exits with when the guest did not run: the contract with mirc.
from mirclib.kvm import QEMU  # noqa: E402
from mirclib.xen import RUNNER_FAILED, RUNNER_UNAVAILABLE, STATUS_KEY  # noqa: E402

QEMU_MIN = 10
# dom0 powers off after this many seconds without a request
IDLE = int(os.environ.get("MIRC_XENHOST_IDLE", "300"))
BOOT_TIMEOUT = 180
DOM0_PORT = 5000
SHUTDOWN_REASONS = {"0": "poweroff", "1": "reboot", "2": "suspend", "3": "crash", "4": "watchdog",
                    "5": "soft_reset"}
# Xen and dom0 command lines: a PV dom0 with one vCPU and fixed memory; Xen's
# console (with the guests' port 0xe9 output) on the first serial port
XEN_ARGS = ("console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus={dom0_vcpus} "
            "loglvl=all guest_loglvl=all console_timestamps=boot")
DOM0_ARGS = "console=hvc0 earlyprintk=xen loglevel=4"


# stream=STDOUT: the console goes to this process's stdout as it arrives
STDOUT = "stdout"


class Unavailable(Exception):
    """This machine cannot run the Xen test host; the message says why (tests SKIP)."""


class XenhostError(Exception):
    """The host or a guest failed; the message says what happened and where the logs are."""


def _say(msg):
    print(f"xenhost: {msg}", file=sys.stderr, flush=True)


def _tell(progress, msg):
    """A progress line: progress is True (to stderr), False (silence) or a function taking msg."""
    if callable(progress):
        progress(msg)
    elif progress:
        _say(msg)


def cache_dir():
    return os.path.join(os.environ.get("MIRC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mirc"), "xenhost")


def state_dir():
    return os.path.join(cache_dir(), "host")


def qemu_version():
    """QEMU's major version, or None when it is not installed."""
    if shutil.which(QEMU) is None:
        return None
    out = subprocess.run([QEMU, "--version"], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"version (\d+)\.", out)
    return int(m.group(1)) if m else None


def host_build(progress=True):
    """The built host's directory (xen, vmlinux, initramfs.cpio.gz); builds it when its inputs changed."""
    r = subprocess.run([BUILD, "--print-path"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if r.returncode == 0:
        return r.stdout.strip()
    _tell(progress, "building the Xen test host from Debian packages (about 20 s, once per input change)")
    with subprocess.Popen([BUILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as r:
        for line in r.stderr:  # its progress lines, as they come
            _tell(progress, line.rstrip("\n"))
        out = r.stdout.read()
    if r.returncode == 3:
        raise Unavailable("the Xen test host's Debian packages cannot be fetched (no network or apt lists?)")
    if r.returncode != 0:
        raise XenhostError(f"tests/xenhost/build failed (status {r.returncode}); its output is above")
    return out.strip().splitlines()[-1]


def check_machine():
    """Raises Unavailable when QEMU 10 is missing (bookworm's QEMU 7.2 crashes the PV dom0)."""
    v = qemu_version()
    if v is None:
        raise Unavailable(f"{QEMU} not found (run scripts/setup: QEMU >= {QEMU_MIN} from bookworm-backports)")
    if v < QEMU_MIN:
        raise Unavailable(f"QEMU {v} cannot run the Xen test host (its PV dom0 crashes); "
                          f"install QEMU >= {QEMU_MIN} from bookworm-backports (scripts/setup)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_is_our_qemu(pid, share):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
    except OSError:
        return False
    return bool(cmd) and os.path.basename(cmd[0]) == QEMU.encode() and any(share.encode() in c for c in cmd)


def qemu_argv(hostdir, share, serial_log, port, idle=IDLE):
    """QEMU's argv for the test host (a pure function: the tests check it)."""
    initrd = (f"{hostdir}/vmlinux {DOM0_ARGS} xh.idle={idle}".replace(",", ",,")
              + f",{hostdir}/initramfs.cpio.gz")
    smp = os.environ.get("MIRC_XENHOST_SMP", "2")
    # dom0 with two vCPUs: its toolstack, xenstored and back ends create a guest's
    # devices about twice as fast as with one
    xen_args = XEN_ARGS.format(dom0_vcpus=os.environ.get("MIRC_XENHOST_DOM0_VCPUS", "2"))
    return [QEMU, "-accel", "tcg", "-M", "pc", "-cpu", "max", "-smp", smp, "-m", "2048",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", f"file:{serial_log}", "-monitor", "none",
            "-kernel", f"{hostdir}/xen", "-append", xen_args, "-initrd", initrd,
            # dom0's link to the host: xh behind a loopback-only port forward; restrict=on
            # gives dom0 no way out
            "-netdev", f"user,id=host,restrict=on,hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:{DOM0_PORT}",
            "-device", "virtio-net-pci,netdev=host",
            "-virtfs", f"local,path={share.replace(',', ',,')},mount_tag=share,security_model=none,id=share"]


class Host:
    """A running test host: its TCP port, token and share directory."""

    def __init__(self, state):
        self.pid, self.port, self.token = state["pid"], state["port"], state["token"]
        self.hostdir = state["hostdir"]
        self.dir = state_dir()
        self.share = os.path.join(self.dir, "share")
        self.serial_log = os.path.join(self.dir, "serial.log")
        self._seq = 0
        self.booted = False  # by the session that holds it

    # ---- the request channel ------------------------------------------------

    def _connect(self, request, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(f"{self.token}\n{request}\n".encode())
        return s

    def _request(self, request, timeout):
        """Sends one request; returns everything dom0 answered (bytes)."""
        s = self._connect(request)
        s.settimeout(timeout)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            raise XenhostError(f"dom0 did not answer '{request.split()[0]}' within {timeout} s "
                               f"(serial log: {self.serial_log})")
        finally:
            s.close()
        self.answered()
        return out

    def answered(self):
        """Notes that dom0 answered just now (ensure() then skips its own check)."""
        with contextlib.suppress(OSError):
            os.utime(os.path.join(self.dir, "state.json"))

    def ping(self, timeout=5):
        """dom0's uptime in seconds; raises OSError/XenhostError when xh does not answer."""
        out = self._request("ping", timeout).decode(errors="replace")
        m = re.match(r"pong ([\d.]+)", out)
        if not m:
            raise XenhostError(f"dom0 answered ping with {out[:200]!r}")
        return float(m.group(1))

    def exec(self, command, timeout=60):
        """Runs a shell command in dom0; returns (exit status, output as text)."""
        b64 = base64.b64encode(command.encode()).decode()
        out = self._request(f"exec {int(timeout)} {b64}", timeout + 10).decode(errors="replace")
        m = re.search(r"\nxh-rc (\d+)\n$", out)
        if not m:
            raise XenhostError(f"dom0 cut '{command}' short: {out[-300:]!r}")
        return int(m.group(1)), out[:m.start()]

    def domains(self):
        """How many domains this dom0 has created (domids count up from 1)."""
        rc, out = self.exec("cat /run/xh/last-domid 2>/dev/null || echo 0", 20)
        return int(out.split()[-1]) if rc == 0 and out.split() and out.split()[-1].isdigit() else 0

    # ---- guests ---------------------------------------------------------------

    def start_guest(self, image, xl_cfg, files=(), timeout=120, stream=STDOUT, name=None):
        """Starts a guest; returns a Guest (call wait()). See run_guest for the arguments."""
        return Guest(self, image, xl_cfg, files, timeout, stream, name)

    def run_guest(self, image, xl_cfg, files=(), timeout=120, stream=STDOUT, name=None):
        return self.start_guest(image, xl_cfg, files, timeout, stream, name).wait()

    def stop(self, timeout=30):
        """Powers dom0 off and waits for QEMU to exit (kills it if it does not)."""
        with contextlib.suppress(OSError, XenhostError):
            self._request("poweroff", 10)
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end and _pid_is_our_qemu(self.pid, self.share):
            time.sleep(0.1)
        if _pid_is_our_qemu(self.pid, self.share):
            os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            os.remove(os.path.join(self.dir, "state.json"))


class GuestResult(tuple):
    """(status, console) with details: shutdown (poweroff, crash, ...), domid, log."""

    def __new__(cls, status, console, shutdown, domid, log):
        r = super().__new__(cls, (status, console))
        r.status, r.console, r.shutdown, r.domid, r.log = status, console, shutdown, domid, log
        return r


def _rewrite_paths(cfg, mapping):
    """Replaces each host path of mapping in an xl config by its dom0 path (whole paths only)."""
    for host in sorted(mapping, key=len, reverse=True):
        cfg = re.sub(re.escape(host) + r"(?=[\"',\s\]]|$)", lambda _m, h=host: mapping[h], cfg)
    return cfg


def _sector_scripts(cfg, sizes):
    """Adds script=block-N to the disk specs whose vdev wants N-byte sectors (sizes: vdev -> N).

    xl has no word for a disk's sector size; dom0's block-N hotplug script gives
    the loop device behind the vbd that logical block size, which blkback reports.
    """
    for vdev, n in sizes.items():
        cfg, k = re.subn(r"(vdev=" + re.escape(vdev) + r"\b[^'\"\]]*?)(\s*)(target=)",
                         lambda m: f"{m.group(1)}{m.group(2)}script=block-{n},{m.group(2) or ' '}{m.group(3)}",
                         cfg, count=1)
        if not k:
            raise XenhostError(f"disk {vdev} wants {n}-byte sectors but the config has no "
                               f"'vdev={vdev}, ..., target=...' spec to put script=block-{n} in")
    return cfg


def _file_list(files):
    """[(host path, info dict)] from paths or mirc's dicts ({"path", "role", ...}, tools/mirclib/xen.py)."""
    return [(f["path"], f) if isinstance(f, dict) else (f, {"path": f}) for f in files]


class Guest:
    """One guest on the host: created at construction, streamed by a thread, joined by wait()."""

    def __init__(self, host, image, xl_cfg, files, timeout, stream, name):
        host._seq += 1
        self.host, self.timeout = host, timeout
        self.stream = sys.stdout.buffer if stream is STDOUT else stream
        self.name = name or f"mirc-{os.getpid()}-{host._seq}"
        self.job = self.name
        self.dir = os.path.join(host.share, "jobs", self.job)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.copied_back = []
        mapping, sizes = {}, {}
        for i, (path, info) in enumerate(_file_list([image] + list(files))):
            real = os.path.realpath(path)
            if not os.path.isfile(real):
                raise XenhostError(f"{path} does not exist")
            base = f"{i}-{os.path.basename(real)}"
            self._place(real, os.path.join(self.dir, base))
            for p in {path, real, os.path.abspath(path)}:
                mapping.setdefault(p, f"/share/jobs/{self.job}/{base}")
            if info.get("role") == "disk" and info.get("sector_size", 512) != 512:
                sizes[info["vdev"]] = int(info["sector_size"])
        # dom0 paths in xl's messages are turned back into the caller's
        self.reverse = {dom0: host for host, dom0 in mapping.items() if os.path.isabs(host)}
        cfg = _sector_scripts(_rewrite_paths(xl_cfg, mapping), sizes)
        if not re.search(r"^\s*kernel\s*=", cfg, re.M):
            cfg += f'\nkernel = "{mapping[image]}"\n'
        with open(os.path.join(self.dir, "guest.cfg"), "w") as f:
            f.write(cfg)
        self.console_path = os.path.join(self.dir, "console.log")
        self.console = b""
        self.lines = []
        self.domid = None
        self.end = None
        self.started = threading.Event()
        self._sock = host._connect(f"run {self.job} {self.name} {int(timeout or 0)}")
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _place(self, src, dst):
        try:
            os.link(src, dst)
        except OSError:  # another file system: copy, and copy back after the run
            shutil.copy2(src, dst)
            self.copied_back.append((dst, src))

    def _drain_console(self):
        try:
            with open(self.console_path, "rb") as f:
                f.seek(len(self.console))
                new = f.read()
        except FileNotFoundError:
            return
        if new:
            self.console += new
            if self.stream is not None:
                self.stream.write(new)
                self.stream.flush()

    def _follow(self):
        buf = b""
        self._sock.settimeout(0.05)
        t_end = time.monotonic() + self.timeout + 60 if self.timeout else float("inf")
        try:
            while self.end is None and time.monotonic() < t_end:
                try:
                    b = self._sock.recv(4096)
                    if not b:
                        break
                    buf += b
                except socket.timeout:
                    pass
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.decode(errors="replace")
                    self.lines.append(line)
                    m = re.match(r"xh: created domid (\d+)", line)
                    if m:
                        self.domid = int(m.group(1))
                        self.started.set()
                    if line.startswith("xh-end "):
                        self.end = dict(kv.split("=", 1) for kv in line.split()[1:])
                        self.host.answered()
                self._drain_console()
        except OSError as e:
            self.lines.append(f"xenhost: connection to dom0 lost: {e}")
        finally:
            self._sock.close()
            self._drain_console()
            self.started.set()

    def wait_console(self, pattern, timeout=60):
        """Waits until the console matches regex pattern (bytes); returns the match or None."""
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            m = re.search(pattern, self.console)
            if m or not self._thread.is_alive():
                return m or re.search(pattern, self.console)
            time.sleep(0.05)
        return None

    def destroy(self):
        with contextlib.suppress(OSError, XenhostError):
            self.host._request(f"destroy {self.name}", 30)

    def wait(self):
        """Waits for the guest to stop; returns GuestResult or raises XenhostError."""
        try:
            self._thread.join()
        except KeyboardInterrupt:
            self.destroy()
            raise
        for dst, src in self.copied_back:
            shutil.copyfile(dst, src)
        log = "\n".join(self.lines)
        if not os.environ.get("MIRC_XENHOST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        e = self.end
        if e is None:
            self.destroy()
            raise XenhostError(f"dom0 stopped answering while running {self.name}; "
                               f"serial log: {self.host.serial_log}\n{log}")
        if e["state"] == "create-failed":
            msg = "\n".join(x[len("xh: xl: "):] for x in self.lines if x.startswith("xh: xl: "))
            for dom0, host in self.reverse.items():
                msg = msg.replace(dom0, host)
            raise XenhostError("xl create refused the guest:\n" + msg)
        if e["state"] == "timeout":
            raise XenhostError(f"the guest did not stop within {self.timeout} s; destroyed it")
        if e["state"] != "shutdown":
            raise XenhostError(f"the guest ended oddly ({e['state']}):\n{log}")
        shutdown = SHUTDOWN_REASONS.get(e["reason"], e["reason"])
        # a poweroff with a status 0..126 is the app's; a crash, or no status, is an abort
        status = int(e["status"]) if e["status"].isdigit() and int(e["status"]) <= 126 else 255
        if shutdown != "poweroff":
            status = 255
        return GuestResult(status, self.console, shutdown, int(e["domid"]), log)


# ---- starting, finding and stopping the host --------------------------------

@contextlib.contextmanager
def _locked():
    os.makedirs(state_dir(), exist_ok=True)
    with open(os.path.join(state_dir(), "lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _read_state():
    try:
        with open(os.path.join(state_dir(), "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _last_answer(h):
    try:
        return os.stat(os.path.join(h.dir, "state.json")).st_mtime
    except OSError:
        return 0


def find(check=True):
    """The running host, or None. check: ask dom0 (else trust a live QEMU: a request that
    then fails says so)."""
    st = _read_state()
    if not st:
        return None
    h = Host(st)
    if not _pid_is_our_qemu(h.pid, h.share):
        return None
    if not check:
        return h
    try:
        h.ping()
        return h
    except (OSError, XenhostError):
        return None


def _boot(hostdir, progress, by_session):
    d = state_dir()
    share = os.path.join(d, "share")
    shutil.rmtree(share, ignore_errors=True)
    os.makedirs(os.path.join(share, "jobs"))
    os.makedirs(os.path.join(share, ".xh"))
    token = secrets.token_hex(16)
    tok = os.path.join(share, ".xh", "token")
    with open(os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(token + "\n")
    with open(os.path.join(share, ".xh", "status-key"), "w") as f:  # for dom0/xh
        f.write(STATUS_KEY + "\n")
    serial_log = os.path.join(d, "serial.log")
    with contextlib.suppress(FileNotFoundError):
        os.remove(serial_log)
    port = _free_port()
    argv = qemu_argv(hostdir, share, serial_log, port)
    with open(os.path.join(d, "qemu.log"), "w") as qlog:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=qlog, stderr=subprocess.STDOUT,
                                start_new_session=True)
    st = {"pid": proc.pid, "port": port, "token": token, "hostdir": hostdir, "started": time.time(),
          "by_session": by_session}
    h = Host(st)
    t0 = time.monotonic()
    _tell(progress, f"booting the Xen test host (Xen 4.17 + Linux dom0 under QEMU TCG, ~15 s); "
             f"serial log: {serial_log}")
    last = ""
    while True:
        if proc.poll() is not None:
            with open(os.path.join(d, "qemu.log")) as f:
                why = f.read().strip()[-500:]
            raise XenhostError(f"QEMU exited with status {proc.returncode} while booting the Xen test host: "
                               f"{why or 'no message'}; serial log: {serial_log}")
        if time.monotonic() - t0 > BOOT_TIMEOUT:
            os.kill(proc.pid, signal.SIGTERM)
            raise XenhostError(f"the Xen test host did not come up within {BOOT_TIMEOUT} s; "
                               f"serial log: {serial_log}")
        try:
            h.ping(timeout=3)
            break
        except (OSError, XenhostError):
            pass
        if progress:
            step = _boot_step(serial_log)
            if step and step != last:
                _tell(progress, f"  {time.monotonic() - t0:5.1f}s {step}")
                last = step
        time.sleep(0.3)
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump(st, f)
    _tell(progress, f"  {time.monotonic() - t0:5.1f}s dom0 ready")
    return h


def _boot_step(serial_log):
    """The last milestone of the boot seen in the serial log (for progress lines)."""
    steps = [("(XEN) Xen version", "Xen started"), ("Building a Dom0", "Xen builds dom0"),
             ("Linux version", "dom0 Linux boots"), ("xh-init: userspace started", "dom0 userspace"),
             ("xh-init: xenstored and xenconsoled up", "xenstored and xenconsoled up")]
    try:
        with open(serial_log, errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    seen = [label for key, label in steps if key in text]
    return seen[-1] if seen else ""


def ensure(progress=True, by_session=False):
    """(host, started): the running host, booted first when there is none (or a stale one)."""
    check_machine()
    hostdir = host_build(progress)
    h = find(check=False)  # the common case, without the lock or a round trip to dom0
    if h is not None and h.hostdir == hostdir and time.time() - _last_answer(h) < 30:
        return h, False
    with _locked():
        h = find()
        if h is not None and h.hostdir == hostdir:
            return h, False
        if h is not None and _other_leases(None):
            _tell(progress, "the running Xen test host is from older inputs, but in use: using it")
            return h, False
        st = _read_state()
        if st and _pid_is_our_qemu(st["pid"], os.path.join(state_dir(), "share")):
            _tell(progress, "replacing a stale or outdated Xen test host")
            Host(st).stop(timeout=10)
        return _boot(hostdir, progress, by_session), True


_renewed = set()  # pids of the hosts renew() booted in this process


def renew(h, progress=True):
    """Replaces host h (booted by a session) with a fresh one; returns the new Host.

    Under TCG this dom0 wears out: after some 45 domains its processes have been
    seen to segfault (an xl, a grep) and a NIC to stay silent, so a long suite
    renews the host between its parts (tests/xenhost/run).
    """
    with _locked():
        h.stop(timeout=20)
        n = _boot(h.hostdir, progress, by_session=True)
    n.booted = True
    _renewed.add(n.pid)
    return n


def _lease_dir():
    return os.path.join(state_dir(), "leases")


def _take_lease():
    """Marks this process as a user of the host (sessions stop it only when no user is left)."""
    os.makedirs(_lease_dir(), exist_ok=True)
    path = os.path.join(_lease_dir(), f"{os.getpid()}-{secrets.token_hex(4)}")
    open(path, "w").close()
    return path


def _other_leases(mine):
    """Leases of other live processes (a dead process's lease is removed)."""
    live = []
    os.makedirs(_lease_dir(), exist_ok=True)
    for name in os.listdir(_lease_dir()):
        path = os.path.join(_lease_dir(), name)
        if path == mine:
            continue
        if os.path.exists(f"/proc/{name.split('-')[0]}"):
            live.append(path)
        else:
            with contextlib.suppress(OSError):
                os.remove(path)
    return live


@contextlib.contextmanager
def session(progress=True):
    """The host for a block of work (a test suite).

    Boots the host if none runs. At the end, the last session out powers off a
    host that a session booted; a host booted by a single run_guest (mirc run)
    stays up for the next one and powers itself off after IDLE seconds.
    """
    h, started = ensure(progress, by_session=True)
    h.booted = started
    lease = _take_lease()
    try:
        yield h
    finally:
        with _locked():
            os.remove(lease)
            st = _read_state() or {}
            # (h, or a host that renew() put in its place)
            if ((st.get("pid") == h.pid or st.get("pid") in _renewed) and st.get("by_session")
                    and not _other_leases(lease) and not os.environ.get("MIRC_XENHOST_KEEP")):
                Host(st).stop()


def stop():
    """Powers off the running host, if any."""
    with _locked():
        st = _read_state()
        if st:
            Host(st).stop()


def run_guest(image, xl_cfg, files=(), timeout=120, stream=STDOUT, name=None, progress=True):
    """Runs one guest on the host (booting it first if needed); returns GuestResult.

    image: the PVH ELF. xl_cfg: the xl config text, naming host paths (the image,
    disk images) exactly as on a real Xen host. files: the other host files the
    config names, as paths or as mirc's dicts (tools/mirclib/xen.py) ({"path": ...,
    "role": "disk", "vdev": "xvdb", "sector_size": 4096, ...}); each (and image)
    is made visible to dom0 (a hard link, else a copy copied back after the run)
    and its path rewritten in the config; a disk whose sector_size is not 512
    gets script=block-N, dom0's hotplug script for N-byte logical sectors.
    timeout: seconds before the guest is destroyed (None or 0: no limit).
    stream: a binary file the console is copied to as it arrives (default this
    process's stdout; None: only collected in the result).
    """
    h, _ = ensure(progress)
    lease = _take_lease()
    try:
        return h.run_guest(image, xl_cfg, files, timeout, stream, name)
    finally:
        os.remove(lease)


def main(argv):
    import argparse
    p = argparse.ArgumentParser(prog="xenhost.py", description="The emulated Xen test host (tests/xenhost).")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("start", help="boot the host (if it is not running)")
    sub.add_parser("stop", help="power the host off")
    sub.add_parser("status", help="say whether a host is running")
    e = sub.add_parser("exec", help="run a dom0 shell command")
    e.add_argument("command")
    e.add_argument("--timeout", type=int, default=60)
    r = sub.add_parser("run", help="run a guest: exits with its app's status")
    r.add_argument("image")
    r.add_argument("config", help="the xl config file")
    r.add_argument("files", nargs="*", help="files the config names (disk images)")
    r.add_argument("--files", dest="info", metavar="INFO.json",
                   help='the files as mirc describes them: {"files": [{"path", "role", ...}]}')
    r.add_argument("--timeout", type=int, default=120, help="seconds (0: no limit)")
    a = p.parse_args(argv)

    def interrupt(sig, frame):  # mirc run passes SIGTERM/SIGHUP on: destroy the guest as for Ctrl-C
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        if a.cmd == "start":
            h, started = ensure()
            print(f"host {'booted' if started else 'already running'}: pid {h.pid}, dom0 uptime {h.ping():.1f}s")
        elif a.cmd == "stop":
            stop()
        elif a.cmd == "status":
            h = find()
            print(f"running: pid {h.pid}, port {h.port}, dom0 uptime {h.ping():.1f}s, serial log "
                  f"{h.serial_log}" if h else "not running")
            return 0 if h else 1
        elif a.cmd == "exec":
            h, _ = ensure()
            rc, out = h.exec(a.command, a.timeout)
            sys.stdout.write(out)
            return rc
        elif a.cmd == "run":
            with open(a.config) as f:
                cfg = f.read()
            files = list(a.files)
            if a.info:
                with open(a.info) as f:
                    files += [x for x in json.load(f)["files"] if x.get("role") != "kernel"]
            res = run_guest(a.image, cfg, files, a.timeout or None, stream=sys.stdout.buffer)
            if res.shutdown != "poweroff":
                _say(f"the guest stopped with {res.shutdown}: status 255")
            return res.status
    except Unavailable as e:
        _say(f"error: unavailable: {e}")
        return RUNNER_UNAVAILABLE
    except XenhostError as e:
        _say(f"error: {e}")
        return RUNNER_FAILED
    except KeyboardInterrupt:
        return 255
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
