"""A run's devices, for every target: settings after `mirc run` overrides, disk files, NIC checks."""
import os
import socket
import sys

from . import manifest as mf
from . import spec
from .ui import UserError, say


def settings(m, target, over):
    """Each device with its settings for `target`, after `mirc run` overrides, in manifest order."""
    out = []
    for d in m.devices:
        s = d.settings(target)
        if d.name in over:
            if d.kind == "net":  # a new mode replaces the old one's keys; mac and mtu stay
                s = {k: v for k, v in s.items() if k in ("mac", "mtu")}
            elif "file" in over[d.name]:  # a file given at run time is not created
                s.pop("size", None)
            s.update(over[d.name])
        out.append((d, s))
    return out


def explicit_file(over, d):
    """Whether disk d's file was named on the command line (`mirc run --block`), which may
    name any file, rather than in the manifest, which stays inside the app directory."""
    return "file" in over.get(d.name, {})


def block_file(m, d, settings, create=True, explicit=False):
    """The absolute backing file of disk d, created (sparse) when missing and a size is given.

    A file from the manifest must resolve (symlinks included) inside the app directory, so a
    project cannot make `mirc run` attach or create a file elsewhere; explicit: the user named
    it with --block, which may point anywhere (and is never created)."""
    path = settings.get("file")
    if not path:
        raise UserError(f"disk '{d.name}': no file; set file = \"PATH\" in mirc.toml or pass "
                        f"--block {d.name}=FILE")
    path = os.path.join(m.dir, path)
    if not explicit:
        root, real = os.path.realpath(m.dir), os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            raise UserError(f"disk '{d.name}': file '{settings['file']}' in mirc.toml leads outside the app "
                            f"directory (to {real}); a manifest names disks inside it only. To use that "
                            f"file, pass it at run time: mirc run --block {d.name}={spec.escape(real)}")
    ss = settings.get("sector-size", 512)
    if not isinstance(ss, int) or ss < 512 or ss > 65536 or ss & (ss - 1):
        raise UserError(f"disk '{d.name}': sector-size {ss} is not a power of two from 512 to 65536")
    if not os.path.lexists(path):
        _create(d, path, settings, ss, create)
    try:
        st = os.stat(path)
    except OSError as e:
        raise UserError(f"disk '{d.name}': {path}: {e.strerror}")
    if st.st_size == 0 or st.st_size % ss:
        raise UserError(f"disk '{d.name}': {path} is {st.st_size} bytes, not a non-zero multiple of the "
                        f"{ss}-byte sector size; resize it (truncate -s 16M {path})")
    return path


def _create(d, path, settings, ss, create):
    size = mf.parse_size(settings.get("size")) if settings.get("size") is not None else None
    if not size or not create:
        raise UserError(f"disk '{d.name}': backing file {path} does not exist; create it "
                        f"(truncate -s 16M {path}) or set size = \"16M\" in mirc.toml")
    if size % ss:
        raise UserError(f"disk '{d.name}': size {size} is not a multiple of sector-size {ss}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:  # never through a symlink planted after the check in block_file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise UserError(f"disk '{d.name}': cannot create {path}: {e.strerror}")
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def need_tap(d, s, exists=True):
    """The tap NIC's interface name; with exists, refuses one that is not in this network
    namespace (dry runs print commands for elsewhere and leave that to the run).

    Opening a tap that is not there creates it (for root), connected to nothing: a typo in
    ifname would give a unikernel that boots and never hears a frame."""
    if "ifname" not in s:
        raise UserError(f"net '{d.name}': tap needs ifname in mirc.toml, or --net {d.name}=tap,ifname=tap0")
    name = s["ifname"]
    if not exists:
        return name
    try:
        socket.if_nametoindex(name)
    except OSError:
        raise UserError(f"net '{d.name}': there is no network interface '{name}' here, and mirc does not "
                        f"create taps (a new one would reach nothing); create it first: ip tuntap add dev "
                        f"{name} mode tap user $(id -un) && ip link set {name} up") from None
    return name


def need_dgram(d, s):
    """The dgram NIC's (local, remote) HOST:PORT strings; both must be given."""
    if "local" not in s or "remote" not in s:
        raise UserError(f"net '{d.name}': dgram needs local and remote (HOST:PORT) in mirc.toml, or "
                        f"--net {d.name}=dgram,local=127.0.0.1:5000,remote=127.0.0.1:5001")
    return s["local"], s["remote"]


def forwards(specs, what):
    """[(protocols, host port, guest port)] from `-p` values or a NIC's hostfwd list."""
    out = []
    for v in specs:
        f = mf.parse_forward(v)
        if f is None:
            raise UserError(f"{what} {v}: expected {mf.FORWARD_SYNTAX}, e.g. 8080:80 (TCP and UDP) or "
                            "tcp:8080:80; ports 1..65535")
        out.append(f)
    return out


def refused(kind, name, why):
    """The line that says a declared device cannot be attached (the run's status is 255)."""
    return f"cannot attach {kind} device '{name}' declared in mirc.toml: {why}"


def refuse(kind, name, why):
    """(argv, decode, files) of a run that stops before the unikernel starts because a device
    cannot be attached: it names the device, and the status is 255, as when the unikernel
    itself refuses one."""
    def decode(rc):
        say(refused(kind, name, why))
        return 255
    return [sys.executable, "-c", "pass"], decode, []
