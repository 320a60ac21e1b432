"""Where alphalab keeps its files on this machine."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_HOME", "alphalab_home"]

ENV_HOME = "ALPHALAB_HOME"


def alphalab_home() -> Path:
    """``$ALPHALAB_HOME`` when set, else ``~/.alphalab``: the store, caches, holdout ledgers."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".alphalab"
