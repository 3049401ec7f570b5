"""mirc.toml: parse, validate (with file:line: key messages) and emit the C table."""
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field

from .spec import escape as spec_escape

TARGETS = ("unix", "kvm", "xen")
LIBS = ("tcpip",)  # portable libraries under libs/ that a manifest may name
STACKS = ("lwip", "socket")  # [target.unix] stack: libs/tcpip over NICs, or on host sockets
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
DEV_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,30}$")
NET_MODES = {"unix": ("dgram", "tap"), "kvm": ("user", "tap", "dgram"), "xen": ("bridge",)}
# A port forward, `mirc run -p` and a user-mode NIC's hostfwd: [tcp:|udp:]HOSTPORT:GUESTPORT;
# without a protocol both TCP and UDP are forwarded (as the unix socket stack publishes a port)
FORWARD_RE = re.compile(r"(?:(tcp|udp):)?(\d{1,5}):(\d{1,5})")
FORWARD_SYNTAX = "[tcp:|udp:]HOSTPORT:PORT"
MACHINES = ("microvm", "pc", "q35")


class ManifestError(Exception):
    """A problem in a manifest, already phrased for the user."""


@dataclass
class Device:
    name: str
    kind: str                       # "net" | "block"
    index: int                      # position among devices of its kind
    opts: dict = field(default_factory=dict)       # base keys
    per_target: dict = field(default_factory=dict)  # target -> keys

    def settings(self, target):
        s = dict(self.opts)
        s.update(self.per_target.get(target, {}))
        return s


@dataclass
class Manifest:
    path: str
    dir: str
    name: str
    sources: list
    libs: list
    args: list
    cflags: list
    devices: list
    targets: dict  # target -> option dict
    text: str = ""  # the manifest's text, for the line of a key in later checks

    def devices_of(self, kind):
        return [d for d in self.devices if d.kind == kind]


def parse_forward(v):
    """'8080:80' -> (("tcp", "udp"), 8080, 80); 'udp:53:53' -> (("udp",), 53, 53); None if malformed."""
    m = FORWARD_RE.fullmatch(v) if isinstance(v, str) else None
    if not m or not all(0 < int(x) < 65536 for x in m.groups()[1:]):
        return None
    return ((m.group(1),) if m.group(1) else ("tcp", "udp")), int(m.group(2)), int(m.group(3))


def parse_size(v):
    """'64M', '16k', '1G' or an int -> bytes; None if malformed."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if v >= 0 else None
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*", str(v))
    if not m:
        return None
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(m.group(1)) * mult


# TOML's words for the types a manifest holds, for messages (not Python's "str" and "dict")
TYPE_NAMES = {str: "a string", dict: "a table", bool: "a boolean", int: "an integer", list: "a list",
              float: "a number"}


def type_name(value):
    """'a string', 'a table'... for value, as TOML calls it (a date is 'a date')."""
    for t in (bool, int, float, str, list, dict):  # bool first: it is an int in Python
        if isinstance(value, t):
            return TYPE_NAMES[t]
    return "a date"


class _Checker:
    def __init__(self, path, text):
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table, key=None):
        """Best-effort line of `key` in [table] (a dotted path), or of the table header."""
        cur, hdr = "", None
        for i, raw in enumerate(self.lines, 1):
            ln = raw.split("#", 1)[0].strip()
            m = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", ln)
            if m:
                cur = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
                if cur == table:
                    hdr = i
                if key is not None and cur == (table + "." if table else "") + key:
                    return i  # the key is a table of its own: [target.qemu]
                continue
            m = re.match(r'^"?([A-Za-z0-9_.-]+)"?\s*=', ln)
            if not m:
                continue
            full = (cur + "." if cur else "") + m.group(1)
            if key is not None and full == (table + "." if table else "") + key:
                return i
            if key is None and hdr is None and full.startswith(table + "."):
                return i
        return hdr

    def fail(self, table, key, msg):
        line = self.line_of(table, key)
        where = f"{self.path}:{line}" if line else self.path
        name = ".".join(p for p in (table, key) if p)
        raise ManifestError(f"{where}: {name}: {msg}" if name else f"{where}: {msg}")

    def unknown(self, table, key, allowed):
        hint = difflib.get_close_matches(key, allowed, n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else f" (known: {', '.join(sorted(allowed))})"
        self.fail(table, key, "unknown key" + extra)

    def want(self, table, key, value, kind, what):
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                self.fail(table, key, f"must be a list of strings ({what})")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(table, key, f"must be an integer ({what}), not {type_name(value)}")
        elif not isinstance(value, kind):
            self.fail(table, key, f"must be {TYPE_NAMES[kind]} ({what}), not {type_name(value)}")
        return value


NET_KEYS = {"kind", "mode", "local", "remote", "ifname", "mac", "mtu", "hostfwd", "bridge"}
BLOCK_KEYS = {"kind", "file", "size", "sector-size", "read-only"}
TARGET_KEYS = {
    "unix": {"stack", "memory"},
    "kvm": {"memory", "machine", "accel", "cpu"},
    "xen": {"memory"},
}
TOP_KEYS = {"name", "sources", "libs", "args", "cflags", "devices", "target"}


# A host name (RFC 1123 labels) or an IPv4 address, or an IPv6 address in brackets: nothing
# else may reach QEMU's -netdev or the unix image's spec (a comma there would add options).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTPORT_RE = re.compile(rf"(?:\[(?P<v6>[0-9A-Fa-f:.]{{2,45}})\]|(?P<host>{_LABEL}(?:\.{_LABEL})*)):(?P<port>\d{{1,5}})")


def parse_hostport(v):
    """'127.0.0.1:5555', 'name:80' or '[::1]:80' -> (host without brackets, port); None if malformed."""
    import ipaddress
    m = HOSTPORT_RE.fullmatch(v) if isinstance(v, str) else None
    if not m or not 0 < int(m.group("port")) < 65536 or len(m.group("host") or "") > 253:
        return None
    if m.group("v6"):
        try:
            ipaddress.IPv6Address(m.group("v6"))
        except ValueError:
            return None
        return m.group("v6"), int(m.group("port"))
    return m.group("host"), int(m.group("port"))


def _check_hostport(c, table, key, v):
    c.want(table, key, v, str, "HOST:PORT")
    if parse_hostport(v) is None:
        c.fail(table, key, f"'{v}' is not HOST:PORT (a host name, IPv4 address or [IPv6 address], "
               "and a port 1..65535)")


def _check_file(c, table, key, v, dname):
    """A manifest may only name disks inside its own directory: a cloned project must not
    make `mirc run` attach (or create) ~/.bashrc. The user passes other files at run time."""
    c.want(table, key, v, str, "a path relative to the app directory")
    parts = v.replace("\\", "/").split("/")
    if not v or os.path.isabs(v) or ".." in parts:
        c.fail(table, key, f"'{v}' is outside the app directory: a manifest names disks inside it "
               f"only; to use that file, pass it at run time: mirc run --block {dname}={spec_escape(v)}")


def _check_net(c, table, d, keys, target):
    for k, v in keys.items():
        if k not in NET_KEYS:
            c.unknown(table, k, NET_KEYS)
        if k == "mode":
            modes = NET_MODES[target] if target else sorted({m for ms in NET_MODES.values() for m in ms})
            if v not in modes:
                c.fail(table, k, f"'{v}' is not one of {', '.join(modes)}")
        elif k in ("local", "remote"):
            _check_hostport(c, table, k, v)
        elif k in ("ifname", "bridge"):
            c.want(table, k, v, str, "an interface name")
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", v):
                c.fail(table, k, f"'{v}' is not a valid interface name")
        elif k == "mac":
            c.want(table, k, v, str, "aa:bb:cc:dd:ee:ff")
            if not re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", v) or int(v[:2], 16) & 1:
                c.fail(table, k, f"'{v}' is not a unicast MAC address aa:bb:cc:dd:ee:ff")
        elif k == "mtu":
            c.want(table, k, v, int, "bytes")
            if not 68 <= v <= 9000:
                c.fail(table, k, f"{v} is outside 68..9000")
        elif k == "hostfwd":
            c.want(table, k, v, list, 'e.g. ["8080:80"]')
            for f in v:
                if parse_forward(f) is None:
                    c.fail(table, k, f"'{f}' is not {FORWARD_SYNTAX} (ports 1..65535; TCP and UDP "
                           "when no protocol is given)")


def _check_block(c, table, keys, dname, explicit=False):
    """explicit: the keys come from the user's command line, where any file may be named."""
    for k, v in keys.items():
        if k not in BLOCK_KEYS:
            c.unknown(table, k, BLOCK_KEYS)
        if k == "file" and explicit:
            c.want(table, k, v, str, "a path")
        elif k == "file":
            _check_file(c, table, k, v, dname)
        elif k == "size":
            if parse_size(v) is None or parse_size(v) == 0:
                c.fail(table, k, f"'{v}' is not a size like 16M or 1048576")
        elif k == "sector-size":
            c.want(table, k, v, int, "bytes")
            if v < 512 or v > 65536 or v & (v - 1):
                c.fail(table, k, f"{v} is not a power of two from 512 to 65536")
        elif k == "read-only":
            c.want(table, k, v, bool, "true or false")
    ss = keys.get("sector-size", 512)
    if "size" in keys and parse_size(keys["size"]) % ss:
        c.fail(table, "size", f"{keys['size']} is not a multiple of sector-size {ss}")


class _OverrideChecker(_Checker):
    """The manifest's checks for a `mirc run --net/--block NAME=SPEC` override; its messages
    name the option instead of a file and line."""

    def __init__(self, option):
        super().__init__(option, "")
        self.option = option

    def fail(self, table, key, msg):
        raise ManifestError(f"{self.option}: {key}: {msg}" if key else f"{self.option}: {msg}")


def check_override(kind, dname, keys, option):
    """Checks the keys of a run-time device override as the manifest's are checked (hosts,
    interface names, MACs...), except that a disk file may be anywhere: the user named it.
    The mode is left to the target, which says what it has instead."""
    c = _OverrideChecker(option)
    if "kind" in keys:
        c.fail(None, "kind", "a device's kind is set in mirc.toml only")
    if kind == "net":
        _check_net(c, "", dname, keys, None)
    else:
        _check_block(c, "", keys, dname, explicit=True)


def load(path, target=None):
    """Reads and validates a manifest; raises ManifestError with a located message.
    target: also check what only that target can tell (check_target)."""
    path = os.path.abspath(path)
    shown = _shown(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ManifestError(f"{shown}: cannot read: {e.strerror}; run mirc in a directory with a "
                            "mirc.toml or pass -C DIR")
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise ManifestError(f"{shown}: not UTF-8 at byte {e.start}")
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        msg = re.sub(r"\s*\(at (line|end of document).*\)", "", str(e))
        if m:
            where = f"{shown}:{m.group(1)}:{m.group(2)}"
        else:  # "at end of document": the last line
            where = f"{shown}:{max(1, len(raw.decode('utf-8', 'replace').splitlines()))}"
        raise ManifestError(f"{where}: TOML syntax error: {msg}")
    c = _Checker(shown, text)
    appdir = os.path.dirname(path)

    for k in data:
        if k not in TOP_KEYS:
            c.unknown("", k, TOP_KEYS)
    if "name" not in data:
        c.fail("", None, "missing required key 'name' (e.g. name = \"hello\")")
    name = c.want("", "name", data["name"], str, "the unikernel's name")
    if not NAME_RE.fullmatch(name):
        c.fail("", "name", f"'{name}' must be lower case letters, digits, '-' or '_', starting with a letter")
    if "sources" not in data:
        c.fail("", None, "missing required key 'sources' (e.g. sources = [\"main.c\"])")
    sources = c.want("", "sources", data["sources"], list, "C files relative to the app directory")
    if not sources:
        c.fail("", "sources", "must name at least one C file")
    for s in sources:
        if os.path.isabs(s) or not s.endswith(".c"):
            c.fail("", "sources", f"'{s}' must be a relative path to a .c file")
        if not os.path.isfile(os.path.join(appdir, s)):
            c.fail("", "sources", f"'{s}' does not exist in {appdir}")
    libs = c.want("", "libs", data.get("libs", []), list, f"from: {', '.join(LIBS) or 'none yet'}")
    for lib in libs:
        if lib not in LIBS:
            c.fail("", "libs", f"unknown library '{lib}' (available: {', '.join(LIBS) or 'none yet'})")
    args = c.want("", "args", data.get("args", []), list, "default boot arguments")
    cflags = c.want("", "cflags", data.get("cflags", []), list, "extra compiler flags")

    devices = []
    devs = c.want("", "devices", data.get("devices", {}), dict, "[devices.NAME] tables")
    count = {"net": 0, "block": 0}
    for dname, keys in devs.items():
        table = f"devices.{dname}"
        if not DEV_RE.fullmatch(dname):
            c.fail(table, None, "device names are a letter then letters, digits, '-' or '_' (at most 31)")
        if not isinstance(keys, dict):
            c.fail(table, None, "must be a table with at least kind = \"net\" or \"block\"")
        kind = keys.get("kind")
        if kind not in ("net", "block"):
            c.fail(table, "kind" if "kind" in keys else None,
                   "kind must be \"net\" or \"block\"")
        base = {k: v for k, v in keys.items() if k not in TARGETS}
        per = {}
        for t in TARGETS:
            if t in keys:
                sub = c.want(table, t, keys[t], dict, f"per-target overrides for {t}")
                if "kind" in sub:
                    c.fail(f"{table}.{t}", "kind", "the kind cannot differ between targets")
                per[t] = sub
        if kind == "net":
            _check_net(c, table, dname, base, None)
            for t, sub in per.items():
                _check_net(c, f"{table}.{t}", dname, sub, t)
        else:
            _check_block(c, table, base, dname)
            for t, sub in per.items():
                _check_block(c, f"{table}.{t}", sub, dname)
            if "file" not in base and not all("file" in per.get(t, {}) for t in TARGETS):
                c.fail(table, None, "a block device needs file = \"PATH\" (created with size = \"16M\" "
                       "when missing)")
        base.pop("kind", None)
        devices.append(Device(dname, kind, count[kind], base, per))
        count[kind] += 1
    if count["net"] > 16 or count["block"] > 16:
        c.fail("devices", None, "at most 16 devices of each kind")

    targets = {t: {} for t in TARGETS}
    tt = c.want("", "target", data.get("target", {}), dict, "[target.unix] / [target.kvm] / [target.xen]")
    for t, opts in tt.items():
        if t not in TARGETS:
            c.unknown("target", t, TARGETS)
        c.want("target", t, opts, dict, f"[target.{t}] options")
        for k, v in opts.items():
            if k not in TARGET_KEYS[t]:
                c.unknown(f"target.{t}", k, TARGET_KEYS[t] or {"(none yet)"})
            if k == "memory":
                sz = parse_size(v)
                if sz is None or sz < (2 << 20):
                    c.fail(f"target.{t}", k, f"'{v}' is not a size of at least 2M, like \"64M\"")
            elif k == "machine" and v not in MACHINES:
                c.fail(f"target.{t}", k, f"'{v}' is not one of {', '.join(MACHINES)}")
            elif k == "accel" and v not in ("auto", "kvm", "tcg"):
                c.fail(f"target.{t}", k, f"'{v}' is not one of auto, kvm, tcg")
            elif k == "cpu":
                c.want(f"target.{t}", k, v, str, "a QEMU CPU model")
            elif k == "stack":
                if v not in STACKS:
                    c.fail(f"target.{t}", k, f"'{v}' is not one of {', '.join(STACKS)}")
                if "tcpip" not in libs:
                    c.fail(f"target.{t}", k, "needs libs = [\"tcpip\"]")
        targets[t] = dict(opts)

    m = Manifest(path, appdir, name, sources, libs, args, cflags, devices, targets, text)
    if target is not None:
        check_target(m, target)
    return m


def check_target(m, target):
    """What only the target being built can tell: each NIC's mode must be one it has.

    A mode under [devices.NAME.TARGET] was checked by load(); a mode at the base level
    applies to every target that has it, so `mode = "bridge"` there stops `mirc configure
    -t unix` here, at its line, rather than `mirc run`. On xen every NIC is a vif on a
    bridge: a base mode is for the other targets and xen's own section alone counts.
    """
    if target == "xen":
        return
    c = _Checker(_shown(m.path), m.text)
    for d in m.devices_of("net"):
        mode = d.opts.get("mode")
        if mode is None or "mode" in d.per_target.get(target, {}) or mode in NET_MODES[target]:
            continue
        has = [t for t in TARGETS if mode in NET_MODES[t]]
        c.fail(f"devices.{d.name}", "mode", f"'{mode}' is a mode of {' and '.join(has)}, not of {target} "
               f"({', '.join(NET_MODES[target])}): set it per target, e.g. [devices.{d.name}.{has[0]}] "
               f"mode = \"{mode}\", and [devices.{d.name}.{target}] mode = \"{NET_MODES[target][0]}\"")


def _shown(path):
    """path as messages name it: relative to the current directory unless that is far away."""
    return os.path.relpath(path) if not os.path.relpath(path).startswith("../..") else path


def c_string(s):
    out = []
    for ch in s.encode("utf-8"):
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F and ch != 0x3F:  # '?' escaped: no trigraphs
            out.append(chr(ch))
        else:
            out.append(f"\\{ch:03o}")
    return '"' + "".join(out) + '"'


def manifest_c(m):
    """The C translation unit that carries the manifest into the image."""
    lines = ["/* Generated by `mirc manifest-c` from " + os.path.basename(m.path) + "; do not edit. */",
             '#include "manifest.h"', ""]
    if m.devices:
        lines.append("static const struct mirc_manifest_dev devs[] = {")
        for d in m.devices:
            kind = "MIRC_DEV_NET" if d.kind == "net" else "MIRC_DEV_BLOCK"
            lines.append(f"    {{{c_string(d.name)}, {kind}}},")
        lines.append("};")
    if m.args:
        lines.append("static const char *const args[] = {")
        lines += [f"    {c_string(a)}," for a in m.args]
        lines.append("};")
    lines += ["",
              "const struct mirc_manifest mirc_manifest = {",
              f"    .name = {c_string(m.name)},",
              f"    .ndevs = {len(m.devices)},",
              f"    .devs = {'devs' if m.devices else '0'},",
              f"    .nargs = {len(m.args)},",
              f"    .args = {'args' if m.args else '0'},",
              f"    .net_open = {'mirc_plat_net_open' if m.devices_of('net') else '0'},",
              f"    .block_open = {'mirc_plat_block_open' if m.devices_of('block') else '0'},",
              "};", ""]
    return "\n".join(lines)
