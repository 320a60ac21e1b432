"""Where alphalab keeps its files on this machine."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["ENV_HOME", "alphalab_home", "append_durably"]

ENV_HOME = "ALPHALAB_HOME"


def alphalab_home() -> Path:
    """``$ALPHALAB_HOME`` when set, else ``~/.alphalab``: the store, caches, holdout ledgers."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".alphalab"


def append_durably(path: Path, text: str) -> None:
    """Append ``text`` to an append-only ledger under an exclusive lock, flushed to disk.

    Concurrent writers (processes, Ray workers) never interleave within one call,
    and a line is on disk when this returns. Parent folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
