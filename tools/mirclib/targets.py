"""What differs between targets in configure, build and run.

Each target is a module (unix here; kvm.py, xen.py) with the same five
functions; the ones below dispatch to it. Shared helpers live here too.
"""
import importlib
import os
import re

from . import manifest as mf
from . import spec


def _err(msg):
    from .cli import UserError
    return UserError(msg)


def _mod(target):
    if target == "unix":
        import sys
        return sys.modules[__name__]
    try:
        return importlib.import_module(f".{target}", __package__)
    except ImportError:
        raise _err(f"target '{target}' is not available in this version of mirc yet")


def check_prerequisites(target):
    """Raises UserError naming what to install when the target cannot be built here."""
    m = _mod(target)
    if m is not _mod("unix"):
        m.check_prerequisites(target)


def meson_setup_args(target, tdir, root):
    """Extra `meson setup` arguments (a cross file for freestanding targets)."""
    m = _mod(target)
    return [] if m is _mod("unix") else m.meson_setup_args(target, tdir, root)


def meson_tail(target, m):
    """Meson code appended to the generated project (e.g. stripping the image)."""
    t = _mod(target)
    return "" if t is _mod("unix") else t.meson_tail(target, m)


def image_path(cfg):
    t = _mod(cfg["target"])
    return os.path.join(cfg["build"], cfg["name"]) if t is _mod("unix") else t.image_path(cfg)


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
        raise _err(f"disk '{d.name}': no file; set file = \"PATH\" in mirc.toml or pass --block {d.name}=FILE")
    path = os.path.join(m.dir, path)
    if not explicit:
        root, real = os.path.realpath(m.dir), os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            raise _err(f"disk '{d.name}': file '{settings['file']}' in mirc.toml leads outside the app "
                       f"directory (to {real}); a manifest names disks inside it only. To use that file, "
                       f"pass it at run time: mirc run --block {d.name}={spec.escape(real)}")
    ss = settings.get("sector-size", 512)
    if not isinstance(ss, int) or ss < 512 or ss > 65536 or ss & (ss - 1):
        raise _err(f"disk '{d.name}': sector-size {ss} is not a power of two from 512 to 65536")
    if not os.path.lexists(path):
        size = mf.parse_size(settings.get("size")) if settings.get("size") is not None else None
        if not size or not create:
            raise _err(f"disk '{d.name}': backing file {path} does not exist; create it "
                       f"(truncate -s 16M {path}) or set size = \"16M\" in mirc.toml")
        if size % ss:
            raise _err(f"disk '{d.name}': size {size} is not a multiple of sector-size {ss}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:  # never through a symlink planted after the check above
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise _err(f"disk '{d.name}': cannot create {path}: {e.strerror}")
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)
    try:
        st = os.stat(path)
    except OSError as e:
        raise _err(f"disk '{d.name}': {path}: {e.strerror}")
    if st.st_size == 0 or st.st_size % ss:
        raise _err(f"disk '{d.name}': {path} is {st.st_size} bytes, not a non-zero multiple of the "
                   f"{ss}-byte sector size; resize it (truncate -s 16M {path})")
    return path


def _unix_net_spec(d, s):
    mode = s.get("mode", "dgram")
    if mode == "dgram":
        if "local" not in s or "remote" not in s:
            raise _err(f"net '{d.name}': dgram needs local and remote (HOST:PORT) in mirc.toml, or "
                       f"--net {d.name}=dgram,local=127.0.0.1:5000,remote=127.0.0.1:5001")
        out = f"dgram,local={spec.escape(s['local'])},remote={spec.escape(s['remote'])}"
    elif mode == "tap":
        if "ifname" not in s:
            raise _err(f"net '{d.name}': tap needs ifname in mirc.toml, or --net {d.name}=tap,ifname=tap0")
        out = f"tap,ifname={spec.escape(s['ifname'])}"
    else:
        raise _err(f"net '{d.name}': mode '{mode}' is not available on unix (use dgram or tap)")
    for k in ("mac", "mtu"):
        if k in s:
            out += f",{k}={spec.escape(s[k])}"
    return out


def _unix_block_spec(m, d, s, explicit):
    out = f"file={spec.escape(block_file(m, d, s, explicit=explicit))}"
    if "sector-size" in s:
        out += f",sector-size={spec.escape(s['sector-size'])}"
    if s.get("read-only"):
        out += ",read-only=on"
    return out


def device_settings(m, target, over):
    """Each device with its settings for `target`, after `mirc run` overrides."""
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


def _unix_stack(m, a):
    """(stack, boot arguments for libs/tcpip) from `mirc run --stack/-p` and [target.unix] stack."""
    stack = getattr(a, "stack", None) or m.targets["unix"].get("stack", "lwip")
    publish = getattr(a, "publish", None) or []
    if "tcpip" not in m.libs:
        if getattr(a, "stack", None) or publish:
            raise _err("--stack and -p on unix are for apps using libs/tcpip (libs = [\"tcpip\"])")
        return None, []
    args = [f"--stack={stack}"]
    for p in publish:
        mm = re.fullmatch(r"(?:tcp:|udp:)?(\d{1,5}):(\d{1,5})", p)
        if not mm or not all(0 < int(x) < 65536 for x in mm.groups()):
            raise _err(f"-p {p}: expected HOSTPORT:PORT, e.g. -p 8080:80")
        if stack != "socket":
            raise _err(f"-p {p}: on unix, ports are published by the socket stack (--stack=socket); "
                       "with lwIP over tap the host reaches the unikernel at its own address")
        args.append(f"--publish={mm.group(1)}:{mm.group(2)}")
    return stack, args


def run_command(cfg, m, img, over, a, app_args):
    """(argv, decode, files): decode maps the process's exit code to the app's status; files
    (sockets) are handed to the process at their own descriptor numbers (kvm's dgram NICs)."""
    target = cfg["target"]
    if _mod(target) is not _mod("unix"):
        r = _mod(target).run_command(cfg, m, img, over, a, app_args)
        return r if len(r) == 3 else (r[0], r[1], [])
    cmd = [img]
    if a.quiet:
        cmd.append("--quiet")
    if "memory" in m.targets["unix"]:  # what mirc_memory_size() says; libs size buffers from it
        cmd.append(f"--memory={mf.parse_size(m.targets['unix']['memory'])}")
    stack, tcpip_args = _unix_stack(m, a)
    for d, s in device_settings(m, target, over):
        if d.kind == "net" and stack == "socket":
            # the socket stack never touches the NICs: attach them to nothing (UDP on loopback)
            cmd.append(f"--net:{d.name}=dgram,local=127.0.0.1:0,remote=127.0.0.1:9")
        elif d.kind == "net":
            cmd.append(f"--net:{d.name}={_unix_net_spec(d, s)}")
        else:
            cmd.append(f"--block:{d.name}={_unix_block_spec(m, d, s, explicit_file(over, d))}")
    cmd.append("--")
    cmd += tcpip_args + app_args
    if a.gdb:
        cmd = ["gdb", "-q", "--args"] + cmd
    return cmd, lambda rc: rc, []
