"""The targets. Each is one module (unix.py, kvm.py, xen.py) with the same interface:

    SANITIZE                  whether `mirc configure --sanitize` builds it with ASan + UBSan
    configure(opts)           checks what the target needs here (UserError naming what to
                              install) and returns extra `meson setup` arguments
    cross_file(root)          the Meson cross file its images build with, or None (native);
                              `mirc configure` writes it beside the build, `mirc cross-file`
                              prints it for a project of one's own
    meson_tail(m)             Meson code the generated project ends with (strip, xl config)
    image(cfg)                the path of the image a build makes
    build(cfg)                compiles the configured build; returns image(cfg)
    run(cfg, m, img, over, opts, app_args)
                              -> (argv, decode, files): the process that runs the image,
                              decode(exit code) -> the app's status, files (sockets) the
                              process inherits at their own descriptor numbers
    package(cfg, m)           an image for an orchestrator; not yet (UserError)

Nothing outside these modules knows what one target does differently.
"""
import importlib

from . import manifest as mf

NAMES = mf.TARGETS


def get(name):
    """The module of target `name`."""
    if name not in NAMES:
        from .ui import UserError
        raise UserError(f"unknown target '{name}' (targets: {', '.join(NAMES)})")
    return importlib.import_module(f".{name}", __package__)


def variants():
    """What `-t` may name after configure: each target, and TARGET-asan where it sanitizes."""
    return NAMES + tuple(f"{t}-asan" for t in NAMES if get(t).SANITIZE)


def not_yet(what):
    from .ui import UserError
    return UserError(f"{what} is not available yet")
