"""alphalab: ML-driven trading research, from market data to an honest verdict.

The public API is re-exported here so that ``import alphalab as al`` is enough.
"""

from __future__ import annotations

import os

# Idle OpenMP workers must sleep, not spin: numba's parallel kernels (features) and torch
# (models) share one process, and numba's spinning workers left behind by a feature pass
# made every later torch step 27x slower in CPU time (measured: 3.5 -> 94 ms for one
# LSTM+Adam step; benchmarks/omp_coexistence.py). Set before numba or torch start OpenMP;
# a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from typing import Any

# ``al.backtest`` is the subpackage (``alphalab.backtest.engine``, ``.result`` ...)
# and ``al.run_backtest`` the engine entry point: a function bound to the
# subpackage's own name would hide it (``import alphalab.backtest.engine`` then
# ``alphalab.backtest.engine`` failed). ``from alphalab.backtest import backtest``
# still names the plain engine function; ``al.run_backtest`` is the engine behind
# the data seal (alphalab.validation.sealed).
from alphalab import backtest
from alphalab.data.load import load, load_benchmark
from alphalab.data.panel import Panel
from alphalab.errors import AlphalabError, ConfigError, DataError, LeakageError, MarketRuleError
from alphalab.validation.sealed import backtest as run_backtest

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
    "run_backtest",
]
