"""Imports every built-in analysis so that it registers itself (one line per module)."""

from alphalab.analyses import (
    cluster_rl,  # noqa: F401
    correlation,  # noqa: F401
)
