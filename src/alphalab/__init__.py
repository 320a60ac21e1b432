"""alphalab: ML-driven trading research, from market data to an honest verdict.

The public API is re-exported here so that ``import alphalab as al`` is enough.
"""

from __future__ import annotations

from alphalab.data.load import load, load_benchmark
from alphalab.data.panel import Panel
from alphalab.errors import AlphalabError, ConfigError, DataError, LeakageError, MarketRuleError

__version__ = "0.1.0"

__all__ = [
    "AlphalabError",
    "ConfigError",
    "DataError",
    "LeakageError",
    "MarketRuleError",
    "Panel",
    "__version__",
    "load",
    "load_benchmark",
]
