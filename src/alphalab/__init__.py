"""alphalab: ML-driven trading research, from market data to an honest verdict.

The public API is re-exported here so that ``import alphalab as al`` is enough.
"""

from __future__ import annotations

from typing import Any

from alphalab.data.load import load, load_benchmark
from alphalab.data.panel import Panel
from alphalab.errors import AlphalabError, ConfigError, DataError, LeakageError, MarketRuleError

# Eager on purpose: importing the ``alphalab.backtest`` subpackage (which any
# strategy does) sets ``alphalab.backtest`` to that module, so a lazy attribute
# could never win. Binding the function here, after the subpackage is loaded,
# makes ``al.backtest(...)`` the engine entry point for good.
# ``al.backtest`` is the engine behind the data seal (alphalab.validation.sealed).
from alphalab.validation.sealed import backtest

__version__ = "0.1.0"

# Heavier parts load on first use, so that ``import alphalab`` stays light.
_LAZY = {
    "Study": ("alphalab.study", "Study"),
    "StudyConfig": ("alphalab.config", "StudyConfig"),
    "RunResult": ("alphalab.study", "RunResult"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'alphalab' has no attribute {name!r}")


__all__ = [
    "AlphalabError",
    "ConfigError",
    "DataError",
    "LeakageError",
    "MarketRuleError",
    "Panel",
    "RunResult",
    "Study",
    "StudyConfig",
    "__version__",
    "backtest",
    "load",
    "load_benchmark",
]
