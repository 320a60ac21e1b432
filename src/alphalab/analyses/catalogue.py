"""Imports every built-in analysis so that it registers itself (one line per module)."""

from alphalab.analyses import correlation  # noqa: F401
from alphalab.analyses import volatility  # noqa: F401
