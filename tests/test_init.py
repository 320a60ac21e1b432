"""The top-level namespace: ``al.backtest`` is the subpackage, ``al.run_backtest`` the engine."""

from __future__ import annotations

import subprocess
import sys


def test_backtest_subpackage_is_not_shadowed() -> None:
    # A fresh interpreter: the failure was an attribute rebound at import time.
    code = (
        "import alphalab.backtest.engine\n"
        "import alphalab\n"
        "import types\n"
        "assert isinstance(alphalab.backtest, types.ModuleType), alphalab.backtest\n"
        # al.run_backtest is the engine behind the data seal (validation.sealed)
        "assert alphalab.run_backtest.__wrapped__ is alphalab.backtest.engine.backtest\n"
        "from alphalab.backtest import backtest\n"
        "from alphalab.backtest.engine import backtest as engine_fn\n"
        "assert backtest is engine_fn\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_run_backtest_runs_the_engine() -> None:
    import numpy as np

    import alphalab as al
    from tests.conftest import shared_file

    panel = al.load(shared_file("vn30_2016_2019.parquet"), market="vn.hose", end="2016-06-30")
    weights = np.full(panel.shape, 1.0 / panel.n_assets)
    result = al.run_backtest(weights, panel, market="vn.hose", rebalance="monthly")
    assert isinstance(result, al.backtest.BacktestResult)
    assert len(result.equity) == panel.n_dates
