"""Rich consoles for the command line."""

from __future__ import annotations

import os
import sys

from rich.console import Console

__all__ = ["make_console"]

# Tables written to a pipe, a CI log or a test runner have no terminal to fit; Rich would
# fold them to 80 columns and cut cells ("vn.h…"), losing what a user greps for.
PIPE_WIDTH = 200


def make_console(*, stderr: bool = False) -> Console:
    """A console that sizes itself to the terminal, or is ``PIPE_WIDTH`` wide without one."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    width = None if tty else max(int(os.environ.get("COLUMNS") or 0), PIPE_WIDTH)
    return Console(stderr=stderr, width=width)
