"""The unix target: the app as a Linux process on libuv (backends/unix).

The image is an ordinary executable; `mirc run` passes the manifest's devices as
its runtime options (--net:NAME=SPEC, --block:NAME=SPEC, escaped with spec.escape)
before `--`, and the app's arguments after it. Apps using libs/tcpip may run
on the host's sockets instead of lwIP (the socket stack, --stack=socket), whose
published ports (-p) forward TCP and UDP alike.
"""
import os

from . import devices
from . import manifest as mf
from . import mesonproj
from . import spec
from . import targets
from .ui import UserError

SANITIZE = True


def configure(opts):
    if getattr(opts, "sanitize", False):
        return ["-Db_sanitize=address,undefined", "-Db_lundef=false"]
    return []


def cross_file(root):
    return None


def meson_tail(m):
    return ""


def image(cfg):
    return os.path.join(cfg["build"], cfg["name"])


def build(cfg):
    mesonproj.compile(cfg)
    return image(cfg)


def package(cfg, m):
    raise targets.not_yet("mirc package for unix")


def net_spec(d, s, dry_run=False):
    """The image's --net:NAME= spec of NIC d with settings s (a tap must exist, but in a dry run)."""
    mode = s.get("mode", "dgram")
    if mode == "dgram":
        local, remote = devices.need_dgram(d, s)
        out = f"dgram,local={spec.escape(local)},remote={spec.escape(remote)}"
    elif mode == "tap":
        out = f"tap,ifname={spec.escape(devices.need_tap(d, s, exists=not dry_run))}"
    else:
        raise UserError(f"net '{d.name}': mode '{mode}' is not available on unix (use {' or '.join(mf.NET_MODES['unix'])})")
    for k in ("mac", "mtu"):
        if k in s:
            out += f",{k}={spec.escape(s[k])}"
    return out


def block_spec(m, d, s, explicit):
    """The image's --block:NAME= spec of disk d (its file checked, created when the manifest says)."""
    out = f"file={spec.escape(devices.block_file(m, d, s, explicit=explicit))}"
    if "sector-size" in s:
        out += f",sector-size={spec.escape(s['sector-size'])}"
    if s.get("read-only"):
        out += ",read-only=on"
    return out


def stack_args(m, opts):
    """(stack, boot arguments for libs/tcpip) from `mirc run --stack/-p` and [target.unix] stack."""
    stack = getattr(opts, "stack", None) or m.targets["unix"].get("stack", "lwip")
    publish = getattr(opts, "publish", None) or []
    if "tcpip" not in m.libs:
        if getattr(opts, "stack", None) or publish:
            raise UserError("--stack and -p on unix are for apps using libs/tcpip (libs = [\"tcpip\"])")
        return None, []
    args = [f"--stack={stack}"]
    for p, (protos, host, guest) in zip(publish, devices.forwards(publish, "-p")):
        if stack != "socket":
            raise UserError(f"-p {p}: on unix, ports are published by the socket stack (--stack=socket); "
                            "with lwIP over tap the host reaches the unikernel at its own address")
        if len(protos) == 1:
            raise UserError(f"-p {p}: the socket stack publishes a port for TCP and UDP together; "
                            f"write -p {host}:{guest}")
        args.append(f"--publish={host}:{guest}")
    return stack, args


def run(cfg, m, img, over, opts, app_args):
    cmd = [img]
    if opts.quiet:
        cmd.append("--quiet")
    if "memory" in m.targets["unix"]:  # what mirc_memory_size() says; libs size buffers from it
        cmd.append(f"--memory={mf.parse_size(m.targets['unix']['memory'])}")
    stack, tcpip_args = stack_args(m, opts)
    for d, s in devices.settings(m, "unix", over):
        if d.kind == "net" and stack == "socket":
            # the socket stack never touches the NICs: attach them to nothing (UDP on loopback)
            cmd.append(f"--net:{d.name}=dgram,local=127.0.0.1:0,remote=127.0.0.1:9")
        elif d.kind == "net":
            cmd.append(f"--net:{d.name}={net_spec(d, s, getattr(opts, 'dry_run', False))}")
        else:
            cmd.append(f"--block:{d.name}={block_spec(m, d, s, devices.explicit_file(over, d))}")
    cmd.append("--")
    cmd += tcpip_args + app_args
    if opts.gdb:
        cmd = ["gdb", "-q", "--args"] + cmd
    return cmd, lambda rc: rc, []
