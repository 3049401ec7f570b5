"""The processes `mirc run` starts: they die with mirc, and its signals reach them."""
import os
import signal
import subprocess

from .ui import UserError, say


def _die_with(parent):
    """Runs in the child before exec: if mirc is killed, the unikernel goes too, rather than
    living on as an orphan that still holds its ports, tap and disk files."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # mirc died before the line above
        os._exit(255)


def spawn(cmd, files=(), **kw):
    """Starts cmd as a child that dies with this process and inherits `files` (sockets) at
    their descriptor numbers (closed here: it holds its own copies). SIGTERM and SIGHUP sent
    to this process are passed on to it."""
    me = os.getpid()
    try:
        proc = subprocess.Popen(cmd, preexec_fn=lambda: _die_with(me),
                                pass_fds=[f.fileno() for f in files], **kw)
    except OSError as e:
        raise UserError(f"cannot start {cmd[0]}: {e.strerror}")
    finally:
        for f in files:
            f.close()
    forward = lambda sig, frame: proc.send_signal(sig)  # noqa: E731
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    return proc


def wait(proc):
    """Waits for proc; Ctrl-C here is passed on to it (it decides how to stop)."""
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)


def run_process(cmd, decode, files=()):
    """Runs the unikernel's process; returns the app's exit status (255 for a crash)."""
    rc = wait(spawn(cmd, files))
    if rc < 0:
        say(f"unikernel killed by {signal.Signals(-rc).name}")
        return 255
    return decode(rc)
