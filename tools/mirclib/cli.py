"""The mirc command line: configure, build, run, clean, package, cross-file (and manifest-c
for Meson). What differs between targets is in each target's module (targets.py)."""
import argparse
import json
import os
import shlex
import shutil
import sys

from . import manifest as mf
from . import mesonproj
from . import targets
from .proc import run_process
from .spec import split as splitspec
from .ui import UserError, say

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

HELP = """\
mirc: configure, build and run mirc unikernels.

usage: mirc [-C DIR] COMMAND [options]

commands:
  configure -t unix|kvm|xen   write a Meson build directory for the app in DIR
  build                       compile the configured app; prints the image's path
  run [options] [-- ARGS]     run it with the devices mirc.toml declares
  clean                       remove the app's _build directory
  package                     an image for an orchestrator (not yet)
  cross-file -t kvm|xen       print the Meson cross file for a project of your own
                              (README.md, "Using mirc from your own Meson project")
  manifest-c MANIFEST OUT     write the C table of a manifest (used by Meson)

`mirc COMMAND --help` tells more. The app directory holds mirc.toml; see
README.md ("mirc.toml") for every key.
"""


def parser(prog, description):
    """An argument parser that takes options only as spelt: `--e` is not --emulated."""
    return argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)


def build_root(appdir):
    return os.path.join(appdir, "_build")


def load_config(appdir, target):
    broot = build_root(appdir)
    if target is None:
        try:
            with open(os.path.join(broot, "current")) as f:
                target = f.read().strip()
        except OSError:
            raise UserError(f"{appdir} is not configured; run 'mirc configure -t unix' (or kvm, xen) first")
    path = os.path.join(broot, target, "mirc.json")
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise UserError(f"{appdir} is not configured for {target}; run 'mirc configure -t {target}' first")


def need(program, hint):
    if shutil.which(program) is None:
        raise UserError(f"'{program}' not found; {hint}")


def cmd_configure(appdir, argv):
    p = parser("mirc configure", "Write a Meson build directory (_build/TARGET) for the app in the "
               "current directory.")
    p.add_argument("-t", "--target", required=True, choices=targets.NAMES, help="what the unikernel becomes")
    p.add_argument("--sanitize", action="store_true", help="unix: build with AddressSanitizer and UBSan")
    p.add_argument("--buildtype", default="debugoptimized",
                   choices=("debug", "debugoptimized", "release", "minsize"), help="Meson build type")
    a = p.parse_args(argv)
    m = mf.load(os.path.join(appdir, "mirc.toml"), a.target)
    need("meson", "run scripts/setup from the mirc tree (or: apt-get install meson ninja-build)")
    tmod = targets.get(a.target)
    setup_args = tmod.configure(a)
    variant = a.target + ("-asan" if a.sanitize else "")
    tdir = os.path.join(build_root(appdir), variant)
    src, bld = os.path.join(tdir, "src"), os.path.join(tdir, "build")
    cross = tmod.cross_file(ROOT)
    shutil.rmtree(tdir, ignore_errors=True)
    os.makedirs(os.path.join(src, "subprojects"))
    os.symlink(ROOT, os.path.join(src, "subprojects", "mirc"))
    os.symlink(appdir, os.path.join(src, "app"))
    if cross is not None:
        path = os.path.join(tdir, f"cross-{a.target}.ini")
        with open(path, "w") as f:
            f.write(cross)
        setup_args += ["--cross-file", path]
    cfg = {"target": a.target, "sanitize": a.sanitize, "buildtype": a.buildtype, "app": appdir,
           "name": m.name, "build": bld}
    with open(os.path.join(src, "meson.build"), "w") as f:
        f.write(mesonproj.gen_meson(m, tmod, cfg))
    if not mesonproj.setup(bld, src, setup_args):
        raise UserError(f"meson setup failed for {a.target} (output above)")
    mesonproj.save_config(cfg)
    with open(os.path.join(build_root(appdir), "current"), "w") as f:
        f.write(variant + "\n")
    say(f"configured {m.name} for {a.target}{' (ASan+UBSan)' if a.sanitize else ''} in "
        f"{os.path.relpath(tdir)}; next: mirc build")
    return 0


def current(appdir, cfg):
    """(manifest, target module) for a configured build, its project rewritten when the
    manifest changed since: a build always compiles what mirc.toml says now."""
    m = mf.load(os.path.join(appdir, "mirc.toml"), cfg["target"])
    tmod = targets.get(cfg["target"])
    mesonproj.refresh(cfg, m, tmod)
    return m, tmod


def compile_app(cfg, tmod, quiet):
    need("ninja", "run scripts/setup from the mirc tree (or: apt-get install ninja-build)")
    img = tmod.build(cfg)
    if not quiet:
        say(f"built {img}")
    return img


def configured(appdir, argv, prog, description):
    """(config, manifest, target module) of the build `-t` names (default: the last configured)."""
    p = parser(prog, description)
    p.add_argument("-t", "--target", choices=targets.variants(), help="default: the last configured")
    cfg = load_config(appdir, p.parse_args(argv).target)
    return (cfg,) + current(appdir, cfg)


def cmd_build(appdir, argv):
    cfg, _, tmod = configured(appdir, argv, "mirc build",
                              "Compile the configured app (the project follows mirc.toml's changes).")
    img = compile_app(cfg, tmod, quiet=True)
    say(f"built {os.path.relpath(img)}")
    print(img)
    return 0


def parse_spec(spec, first_key):
    """'dgram,local=a:1,remote=b:2' -> {'mode': 'dgram', 'local': ..., ...}; ',,' is a comma in a value."""
    out = {}
    for i, item in enumerate(splitspec(spec)):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
        elif i == 0 and item:
            out[first_key] = item
        else:
            raise UserError(f"malformed device spec '{spec}': '{item}' is not KEY=VALUE "
                            "(write a comma inside a value twice: ',,')")
    return out


def _typed(s):
    """Command-line strings as the manifest would hold them (ints, booleans, lists)."""
    for k in ("mtu", "sector-size"):
        if k in s and s[k].isdigit():
            s[k] = int(s[k])
    if "read-only" in s:
        s["read-only"] = s["read-only"] in ("on", "true", "1", "yes", "")
    if "hostfwd" in s:
        s["hostfwd"] = [s["hostfwd"]]
    return s


def device_overrides(m, nets, blocks):
    over = {}
    for kind, items in (("net", nets), ("block", blocks)):
        for item in items or []:
            name, sep, spec = item.partition("=")
            devs = {d.name: d for d in m.devices if d.kind == kind}
            if not sep or not spec:
                raise UserError(f"--{kind} {item}: expected NAME=SPEC")
            if name not in devs:
                raise UserError(f"--{kind} {name}=...: no {kind} device '{name}' in mirc.toml "
                                f"(declared: {', '.join(devs) or 'none'})")
            s = _typed(parse_spec(spec, "mode" if kind == "net" else "file"))
            mf.check_override(kind, name, s, f"--{kind} {item}")
            over[name] = s
    return over


RUN_HELP = """Run the configured app with the devices mirc.toml declares; exits with its status.
Arguments for the app go after '--' (mirc run -- --exit=3). In a SPEC, items are separated by
commas and a comma inside a value is written twice, as QEMU does: --block disk0=my,,disk.img"""


def run_parser():
    p = parser("mirc run", RUN_HELP)
    p.add_argument("-t", "--target", choices=targets.variants(), help="default: the last configured")
    p.add_argument("-q", "--quiet", action="store_true", help="the runtime prints nothing of its own")
    p.add_argument("--net", action="append", metavar="NAME=SPEC",
                   help="attach NIC NAME: dgram,local=H:P,remote=H:P | tap,ifname=TAP (an existing "
                   "tap) | user (kvm) | bridge[,bridge=BR] (xen); H is a host name, an IPv4 address "
                   "or [IPv6]")
    p.add_argument("--block", action="append", metavar="NAME=SPEC",
                   help="attach disk NAME: FILE[,sector-size=N][,read-only=on]; FILE may be anywhere "
                   "(a manifest's files stay inside the app directory) and is not created")
    p.add_argument("-p", "--publish", action="append", default=[], metavar="HOST:GUEST",
                   help="host port HOST reaches the app's port GUEST, TCP and UDP alike: on kvm through "
                   "the first user-mode NIC (tcp:HOST:GUEST or udp:HOST:GUEST forwards one protocol), "
                   "on unix through the socket stack (--stack=socket)")
    p.add_argument("--stack", choices=mf.STACKS,
                   help="unix, apps using libs/tcpip: lwIP over the NICs (default) or the host's sockets")
    p.add_argument("--gdb", action="store_true",
                   help="unix: run under gdb; kvm: wait for a debugger on QEMU's gdb stub (:1234)")
    p.add_argument("--emulated", action="store_true",
                   help="xen: run on the emulated Xen host (Xen in QEMU, test infrastructure of the "
                   "mirc tree; MIRC_XENHOST names its runner); also MIRC_XEN=emulated")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.add_argument("--no-build", action="store_true", help="do not rebuild before running")
    return p


def misread(extra):
    """The error for what `mirc run` does not take before '--' (the first such word)."""
    w = extra[0]
    for kind in ("net", "block"):
        if w.startswith(f"--{kind}:"):
            name, _, spec = w[len(kind) + 3:].partition("=")
            return UserError(f"'{w}' is the unix image's own option; mirc run takes --{kind} "
                             f"{name}={spec or 'SPEC'}")
    return UserError(f"'{w}' is not an option of mirc run; arguments for the app go after '--': "
                     f"mirc run [options] -- {' '.join(extra)}")


def cmd_run(appdir, argv):
    app_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, app_args = argv[:i], argv[i + 1:]
    a, extra = run_parser().parse_known_args(argv)
    if extra:
        raise misread(extra)
    cfg = load_config(appdir, a.target)
    m, tmod = current(appdir, cfg)
    over = device_overrides(m, a.net, a.block)
    img = tmod.image(cfg) if a.no_build or a.dry_run else compile_app(cfg, tmod, quiet=True)
    cmd, decode, files = tmod.run(cfg, m, img, over, a, app_args)
    if a.dry_run:
        print(" ".join(_shquote(x) for x in cmd))
        return 0
    return run_process(cmd, decode, files)


def _shquote(s):
    return shlex.quote(s)


def cmd_clean(appdir, argv):
    parser("mirc clean", "Remove the app's _build directory.").parse_args(argv)
    shutil.rmtree(build_root(appdir), ignore_errors=True)
    return 0


def cmd_manifest_c(argv):
    p = parser("mirc manifest-c", "Write the C table of a manifest (Meson runs this).")
    p.add_argument("manifest")
    p.add_argument("out")
    a = p.parse_args(argv)
    text = mf.manifest_c(mf.load(a.manifest))
    with open(a.out, "w") as f:
        f.write(text)
    return 0


def cmd_package(appdir, argv):
    cfg, m, tmod = configured(appdir, argv, "mirc package",
                              "Write an image an orchestrator runs (an OCI image for urunc). Not yet.")
    tmod.package(cfg, m)
    return 0


def cmd_cross_file(argv):
    p = parser("mirc cross-file", (
        "Print the Meson cross file that builds mirc's TARGET images, for a project that uses mirc "
        "as a Meson subproject: mirc cross-file -t kvm > kvm.ini; meson setup build --cross-file "
        "kvm.ini. It names the newlib sysroot (built first when missing, about 2 minutes once) and "
        "the target (mirc_target), which mirc's meson.build follows."))
    p.add_argument("-t", "--target", required=True, choices=targets.NAMES)
    a = p.parse_args(argv)
    text = targets.get(a.target).cross_file(ROOT)
    if text is None:
        raise UserError(f"the {a.target} target builds with the host's compiler: no cross file "
                        "(meson setup without --cross-file)")
    sys.stdout.write(text)
    return 0


COMMANDS = {"configure": cmd_configure, "build": cmd_build, "run": cmd_run, "clean": cmd_clean,
            "package": cmd_package}
# commands that need no app directory
TOOLS = {"manifest-c": cmd_manifest_c, "cross-file": cmd_cross_file}


def main(argv):
    appdir = os.getcwd()
    while argv and argv[0] == "-C":
        if len(argv) < 2:
            print("mirc: -C needs a directory", file=sys.stderr)
            return 2
        appdir = os.path.abspath(argv[1])
        argv = argv[2:]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP, end="")
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    try:
        if cmd in TOOLS:
            return TOOLS[cmd](rest)
        if cmd not in COMMANDS:
            raise UserError(f"unknown command '{cmd}'; see 'mirc --help'")
        if not os.path.isdir(appdir):
            raise UserError(f"{appdir}: no such directory")
        return COMMANDS[cmd](os.path.realpath(appdir), rest)
    except mf.ManifestError as e:
        print(f"mirc: {e}", file=sys.stderr)
        return 2
    except UserError as e:
        say(str(e))
        return 2
