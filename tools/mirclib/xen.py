"""The xen target: a PVH ELF that Xen boots as a domU, described by an xl domain config.

The image is kvm's freestanding x86_64 build (kvm.cross_file with target "xen");
build strips it to <name>.xen and writes <name>.xl beside it, the domain config
for the manifest's defaults; `mirc run -t xen` writes <name>.run.xl with the
run's arguments and devices, then

* where `xl` exists (a Xen dom0): `xl create -c` it, wait until the domain
  shuts down, read the exit status, `xl destroy` it, and exit with the status;
* with --emulated, or MIRC_XEN=emulated in the environment: hand the image,
  the config and the files it names to an emulated Xen host's runner (below);
* otherwise: say exactly what to run on a Xen host.

xl_config() is a pure function of its inputs, so other tools (the test host,
unit tests) can write the same config.

The exit status as the toolstack sees it (backends/xen/README.md): the guest
writes its status (0..126) to STATUS_KEY in its own xenstore directory,
/local/domain/<domid>/data/mirc-exit-status, then shuts down with
SCHEDOP_shutdown, reason poweroff; an abort (status 255, a fault, a panic)
shuts down with reason crash and may write nothing. The config says
on_poweroff = on_crash = "preserve", so the domain stays (state "s" or "c" in
`xl list`) until the runner has read the key and run `xl destroy`.

The emulated runner is test infrastructure, not part of mirc: the program
MIRC_XENHOST names, by default tests/xenhost/xenhost.py of the tree mirc is
in (the Xen-in-QEMU host, tests/xenhost/README.md). mirc runs it as

    RUNNER run IMAGE CONFIG --files INFO.json [--timeout SECONDS]

    IMAGE        host path of the PVH image (the config's `kernel` names it)
    CONFIG       the domain config from xl_config(), naming the kernel and
                 every disk by its host path
    INFO.json    {"files": [...]}: one dict per host file the config names, in
                 config order: {"role": "kernel"} or {"role": "disk", "vdev":
                 "xvda", "sector_size": 512, "read_only": false}, each with
                 "path" (as written in the config); the runner makes them
                 visible to its dom0 and rewrites the paths
    stdout       the guest's console, as it arrives
    stderr       the runner's own lines, "xenhost: ..."; the reason it failed
                 starts with "xenhost: error: " (xl's refusal, a timeout)
    exit status  the app's (0..126 after a poweroff, 255 after a crash);
                 RUNNER_UNAVAILABLE when this machine cannot run the host,
                 RUNNER_FAILED when the guest did not run or timed out
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

from . import kvm
from . import manifest as mf
from . import mesonproj
from . import targets
from .devices import block_file, explicit_file, refuse, refused
from .devices import settings as device_settings
from .mesonproj import meson_str
from .proc import spawn, wait
from .spec import quote
from .ui import UserError, say

DEFAULT_MEMORY = kvm.DEFAULT_MEMORY
DEFAULT_BRIDGE = "xenbr0"
# The app's exit status, under the domain's xenstore directory. The guest writes it
# (XEN_EXIT_STATUS_KEY in backends/xen, checked equal by tests/cli); runners read it.
STATUS_KEY = "data/mirc-exit-status"
# What a runner exits with when it, not the app, failed (apps use 0..126 and 255)
RUNNER_UNAVAILABLE = 253
RUNNER_FAILED = 254
# seconds a guest may run on the emulated host (MIRC_XEN_TIMEOUT overrides; 0: no limit)
EMULATED_TIMEOUT = 300
TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The emulated Xen host's runner in a mirc source tree (MIRC_XENHOST names another)
TREE_RUNNER = os.path.join(os.path.dirname(TOOLS), "tests", "xenhost", "xenhost.py")
SANITIZE = False


# ---- configure and build ----------------------------------------------------

def xen_headers():
    """The directory holding xen/io/ring.h (MIRC_XEN_INCLUDE, else /usr/include), or None."""
    for d in (os.environ.get("MIRC_XEN_INCLUDE", ""), "/usr/include", "/usr/local/include"):
        if d and os.path.isfile(os.path.join(d, "xen", "io", "ring.h")):
            return d
    return None


def configure(opts):
    kvm.configure(opts)
    if xen_headers() is None:
        raise UserError("the Xen public headers are missing; sudo apt-get install libxen-dev (or run "
                        "scripts/setup), or set MIRC_XEN_INCLUDE to the directory holding xen/")
    return []


def cross_file(root):
    return kvm.cross_file(root, target="xen")


def meson_tail(m):
    # `<name>` keeps symbols (gdb, addr2line); `<name>.xen` is what Xen boots; `<name>.xl` its config.
    writer = ("import sys; sys.path.insert(0, sys.argv[1]); from mirclib import xen; "
              "sys.exit(xen.build_config_main(sys.argv[2:]))")
    deps = [os.path.join(TOOLS, "mirclib", f) for f in ("xen.py", "kvm.py", "manifest.py")]
    return f"""objcopy = find_program('objcopy')
xen_image = custom_target('image', input: app, output: {meson_str(m.name + '.xen')}, build_by_default: true,
  command: [objcopy, '--strip-all', '@INPUT@', '@OUTPUT@'])
custom_target('xl-config', input: 'app/mirc.toml', output: {meson_str(m.name + '.xl')}, build_by_default: true,
  command: [find_program('python3'), '-c', {meson_str(writer)}, {meson_str(TOOLS)}, '@INPUT@',
    xen_image.full_path(), '@OUTPUT@'],
  depend_files: {mesonproj.meson_list(deps)})
"""


def image(cfg):
    return os.path.join(cfg["build"], cfg["name"] + ".xen")


def build(cfg):
    mesonproj.compile(cfg)
    return image(cfg)


def package(cfg, m):
    raise targets.not_yet("mirc package for xen")


# ---- the domain config --------------------------------------------------------

def xl_string(s):
    """s as an xl config string: double quotes, with \\ and \" escaped and controls as \\xHH."""
    return quote(s, '"')


def memory_mib(topts):
    """[target.xen] memory in whole MiB (rounded up), default 64."""
    size = mf.parse_size(topts.get("memory", DEFAULT_MEMORY))
    if size is None:
        raise UserError(f"[target.xen] memory '{topts.get('memory')}' is not a size like \"64M\"")
    return max(1, -(-size // (1 << 20)))


def vdev(index):
    """The virtual device of the index-th disk: xvda, xvdb, ... (device ids 51712 + 16 * index)."""
    if not 0 <= index < 26:
        raise UserError(f"disk #{index + 1}: xl names at most 26 disks xvda..xvdz")
    return "xvd" + chr(ord("a") + index)


def vif_spec(s):
    """The xl vif entry for NIC settings s: its bridge (default xenbr0), MAC and MTU."""
    parts = []
    if "mac" in s:
        parts.append(f"mac={s['mac']}")
    parts.append(f"bridge={s.get('bridge') or DEFAULT_BRIDGE}")
    if "mtu" in s:
        parts.append(f"mtu={s['mtu']}")
    return ",".join(parts)


def disk_spec(index, s, path):
    """The xl disk entry for the index-th disk (target= last: a path may hold commas)."""
    access = "ro" if s.get("read-only") else "rw"
    return f"format=raw, vdev={vdev(index)}, access={access}, target={path}"


def xl_config(app_name, image, topts, devices, app_args, *, quiet=False, extra_boot=(), name=None):
    """The xl domain config for image.

    topts: [target.xen] of the manifest (memory).
    devices: (Device, settings, backing file or None) in manifest order; the n-th
    NIC (disk) becomes the n-th vif (disk), which is how backends/xen matches
    them to the manifest's names.
    app_args, quiet, extra_boot: the boot command line, as the kvm target passes it.
    name: the domain's name (default mirc-<app>).
    """
    nets = [vif_spec(s) for d, s, _ in devices if d.kind == "net"]
    disks = []
    notes = []
    for d, s, path in devices:
        if d.kind != "block":
            continue
        disks.append(disk_spec(len(disks), s, path))
        if s.get("sector-size", 512) != 512:
            notes.append(f"# disk '{d.name}' ({vdev(len(disks) - 1)}) wants {s['sector-size']}-byte "
                         "sectors: xl cannot say so; the back end's logical block size applies")
    lines = [
        f"# Generated by `mirc` for the unikernel '{app_name}' (target xen); do not edit.",
        "# Run it in a Xen dom0 with: xl create -c THIS_FILE. The app's exit status: the domain",
        "# powers off with the status (0..126) at /local/domain/<domid>/" + STATUS_KEY + ",",
        "# or crashes (255); either way it stays until `xl destroy`.",
        f"name = {xl_string(name or 'mirc-' + app_name)}",
        'type = "pvh"',
        f"kernel = {xl_string(os.path.abspath(image))}",
        f"memory = {memory_mib(topts)}",
        "vcpus = 1",
        "# rdtsc without a trap per clock read (emulated, it costs ~90 us under nested TCG);",
        "# the guest's clock is Xen's pvclock, which corrects for the host's TSC",
        'tsc_mode = "native"',
        f"cmdline = {xl_string(kvm.boot_cmdline(app_args, quiet, extra_boot))}",
    ]
    for key, items in (("vif", nets), ("disk", disks)):
        if items:  # one entry per line, in manifest order
            lines.append(f"{key} = [ " + ",\n    ".join(xl_string(v) for v in items) + " ]")
    lines += notes
    lines += ['on_poweroff = "preserve"', 'on_crash = "preserve"', 'on_reboot = "destroy"', ""]
    return "\n".join(lines)


def config_files(image, devices):
    """The host files a config names, for the emulated runner (see the module docstring)."""
    files = [{"role": "kernel", "path": os.path.abspath(image)}]
    n = 0
    for d, s, path in devices:
        if d.kind == "block":
            files.append({"role": "disk", "path": path, "vdev": vdev(n),
                          "sector_size": s.get("sector-size", 512), "read_only": bool(s.get("read-only"))})
            n += 1
    return files


def _devices(m, over, create):
    out = []
    for d, s in device_settings(m, "xen", over):
        if d.kind == "block":
            path = (block_file(m, d, s, explicit=explicit_file(over, d)) if create
                    else os.path.join(m.dir, s.get("file", "")))
        else:
            path = None
        out.append((d, s, path))
    return out


def build_config_main(argv):
    """Meson's xl-config step: MANIFEST IMAGE OUT (the manifest's defaults; disks not created)."""
    manifest, image, out = argv
    try:
        m = mf.load(os.path.realpath(manifest))  # the app's directory, not the build's symlink
        text = xl_config(m.name, image, m.targets.get("xen", {}), _devices(m, {}, create=False), [])
    except (mf.ManifestError, Exception) as e:  # a build step: say why in one line
        print(f"mirc: cannot write the xl config: {e}", file=sys.stderr)
        return 1
    with open(out, "w") as f:
        f.write(text)
    return 0


# ---- run --------------------------------------------------------------------

def emulated_requested(a):
    return bool(getattr(a, "emulated", False)) or os.environ.get("MIRC_XEN") == "emulated"


def emulated_runner():
    """The emulated Xen host's runner: MIRC_XENHOST, else this tree's tests/xenhost/xenhost.py."""
    given = os.environ.get("MIRC_XENHOST")
    path = given or TREE_RUNNER
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    if given:
        raise UserError(f"MIRC_XENHOST={given}: not an executable file; point it at the emulated Xen "
                        "host's runner (tests/xenhost/xenhost.py in a mirc source tree)")
    raise UserError("no emulated Xen host here: it is test infrastructure of the mirc source tree "
                    f"(tests/xenhost), not found at {TREE_RUNNER}; set MIRC_XENHOST to its runner, or "
                    "run on a Xen host (mirc run -t xen without --emulated)")


def run(cfg, m, img, over, a, app_args):
    for flag, why in (("gdb", "--gdb is not available on xen yet; debug the same app on kvm "
                       "(mirc configure -t kvm)"),
                      ("publish", "-p/--publish is for kvm user networking; on xen the NIC is on a "
                       "dom0 bridge"),
                      ("stack", "--stack is for the unix target; xen always runs lwIP")):
        if getattr(a, flag, None):
            raise UserError(why)
    for dname, o in over.items():
        if o.get("mode", "bridge") != "bridge":
            raise UserError(f"--net {dname}={o['mode']}...: on xen a NIC is a vif on a dom0 bridge; use "
                            f"--net {dname}=bridge[,bridge=xenbr0][,mac=...][,mtu=...]")
    devs = _devices(m, over, create=True)
    topts = m.targets.get("xen", {})
    name = f"mirc-{m.name}-{os.getpid()}"
    text = xl_config(m.name, img, topts, devs, app_args, quiet=a.quiet, name=name)
    cfg_path = os.path.join(cfg["build"], m.name + ".run.xl")
    with open(cfg_path, "w") as f:
        f.write(text)
    if a.dry_run:
        return ["xl", "create", "-c", cfg_path], lambda rc: rc, []
    helper = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from mirclib import xen; "
              "sys.exit(xen.helper_main(sys.argv[2:]))", TOOLS]

    def decode(rc):
        if rc == RUNNER_FAILED:
            raise UserError("the xen run failed before the unikernel reported a status (the reason is above)")
        return rc

    if emulated_requested(a):
        runner = emulated_runner()
        info_path = cfg_path + ".json"
        with open(info_path, "w") as f:
            json.dump({"files": config_files(img, devs), "devices": device_list(devs)}, f, indent=1)
        return helper + ["emulated", runner, img, cfg_path, info_path], decode, []
    if shutil.which("xl") is None:
        rel = os.path.relpath(cfg_path)
        raise UserError(
            f"'xl' not found: this machine is not a Xen dom0. On a Xen host, with the image and disks "
            f"at the paths the config names, run: xl create -c {rel} ; then read the exit status with "
            f"xenstore-read /local/domain/$(xl domid {name})/{STATUS_KEY} (absent after a crash: 255) "
            f"and remove the domain with xl destroy {name}. Or use the emulated Xen host: "
            "mirc run -t xen --emulated (or MIRC_XEN=emulated)")
    for d in device_list(devs):  # xl would refuse the whole domain; name the device, as kvm does
        if d["kind"] == "net" and not os.path.isdir(f"/sys/class/net/{d['bridge']}/bridge"):
            return refuse("net", d["name"], f"bridge {d['bridge']} does not exist in this dom0")
    return helper + ["xl", cfg_path, name], decode, []


def device_list(devices):
    """The config's devices in manifest order: kind, name, and the bridge or backing file."""
    out = []
    for d, s, path in devices:
        if d.kind == "net":
            out.append({"kind": "net", "name": d.name, "bridge": s.get("bridge") or DEFAULT_BRIDGE})
        else:
            out.append({"kind": "block", "name": d.name, "path": path})
    return out


def unattached(error, devices):
    """(kind, name, reason) when xl's error says one of the devices could not be attached."""
    for d in devices:
        if d["kind"] == "net":
            m = re.search(r"bridge " + re.escape(d["bridge"]) + r" does not exist[^\n]*", error)
            if m:
                return "net", d["name"], m.group(0)
        elif d.get("path") and "disk" in error:
            line = next((ln for ln in error.splitlines() if d["path"] in ln), None)
            if line:
                return "block", d["name"], line.strip()
    return None


def domain_state(name):
    """(domid, state flags) from `xl list NAME`, or None when there is no such domain."""
    r = subprocess.run(["xl", "list", name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if r.returncode != 0:
        return None
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        if len(f) >= 5 and f[0] == name:
            return int(f[1]), f[4]
    return None


def status_from(state, key_value):
    """The app's status from `xl list`'s state flags and the xenstore key (None when absent)."""
    if "c" in state:
        return 255
    if key_value is not None and key_value.strip().isdigit() and int(key_value) <= 126:
        return int(key_value)
    return 255


def xl_run(cfg_path, name, poll=0.2):
    """Creates the domain with its console attached, waits for its shutdown, returns the status."""
    try:
        console = subprocess.Popen(["xl", "create", "-c", cfg_path])
    except OSError as e:
        say(f"cannot run xl: {e.strerror}")
        return RUNNER_FAILED
    status = None
    try:
        while status is None:
            time.sleep(poll)
            st = domain_state(name)
            if st is None:
                if console.poll() is not None:
                    say(f"xl create failed (exit status {console.returncode}; its message is above)")
                    return RUNNER_FAILED
                continue
            domid, flags = st
            if "s" not in flags and "c" not in flags:
                continue
            r = subprocess.run(["xenstore-read", f"/local/domain/{domid}/{STATUS_KEY}"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            status = status_from(flags, r.stdout if r.returncode == 0 else None)
    except KeyboardInterrupt:
        status = 255
    finally:
        subprocess.run(["xl", "destroy", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            console.wait(timeout=10)
        except subprocess.TimeoutExpired:
            console.kill()
    return status


def emulated_run(runner, img, cfg_path, info_path, timeout=None):
    """Runs the guest with the emulated Xen host's runner (see the module docstring); returns
    the app's status. The runner's progress lines pass through as they come; its reason for
    failing is held back, to be told as the device it names when it is one."""
    with open(info_path) as f:
        info = json.load(f)
    cmd = [runner, "run", img, cfg_path, "--files", info_path]
    if timeout:
        cmd += ["--timeout", str(int(timeout))]
    try:
        proc = spawn(cmd, stderr=subprocess.PIPE, text=True, errors="replace")
    except UserError as e:
        say(f"the emulated Xen host's runner: {e}")
        return RUNNER_FAILED
    held = []
    while True:  # Ctrl-C reaches the runner too: it destroys the guest and exits 255
        try:
            for line in proc.stderr:
                if held or line.startswith("xenhost: error: "):
                    held.append(line)
                else:
                    sys.stderr.write(line)
                    sys.stderr.flush()
            break
        except KeyboardInterrupt:
            pass
    rc = wait(proc)
    why = "".join(held)
    if rc == RUNNER_FAILED and unattached(why, info["devices"]):
        # as kvm: the boot stops, naming the device, status 255
        say(refused(*unattached(why, info["devices"])))
        return 255
    sys.stderr.write(why)
    if rc == RUNNER_UNAVAILABLE:
        say("the emulated Xen host cannot run on this machine (the reason is above)")
        return RUNNER_FAILED
    return rc


def helper_main(argv):
    """`mirc run -t xen`'s child process: xl CFG NAME | emulated RUNNER IMAGE CFG INFO_JSON."""
    if argv[:1] == ["xl"] and len(argv) == 3:
        return xl_run(argv[1], argv[2])
    if argv[:1] == ["emulated"] and len(argv) == 5:
        t = os.environ.get("MIRC_XEN_TIMEOUT", str(EMULATED_TIMEOUT))
        return emulated_run(argv[1], argv[2], argv[3], argv[4], float(t) if float(t) > 0 else None)
    say(f"xen helper: bad arguments {shlex.join(argv)}")
    return RUNNER_FAILED
