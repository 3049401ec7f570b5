"""How mirc talks to the user: one-line messages on stderr, and the error a user can fix."""
import sys


class UserError(Exception):
    """Something the user can fix; printed as one line, exit status 2."""


def say(msg):
    print(f"mirc: {msg}", file=sys.stderr, flush=True)
