"""Awkward but legal runs: no benchmark, a cash-only strategy, a late start, few files."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alphalab.report import read_run, write_report
from alphalab.report.figures import fig_rolling_sharpe


def test_minimal_awkward_run(run_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    shutil.copy(run_dir / "manifest.json", d)
    ret = pd.read_parquet(run_dir / "returns.parquet")[["equal_weight"]]
    eq = pd.read_parquet(run_dir / "equity.parquet")[["equal_weight"]]
    # "cash" never moves (zero volatility); "late" starts trading after 600 bars.
    ret["cash"], eq["cash"] = 0.0, 1e6
    ret["late"], eq["late"] = ret["equal_weight"], eq["equal_weight"]
    ret.iloc[:600, 2] = np.nan
    eq.iloc[:600, 2] = np.nan
    ret.to_parquet(d / "returns.parquet")
    eq.to_parquet(d / "equity.parquet")
    metrics = {"equal_weight": {"sharpe": 1.0}, "cash": {"sharpe": None}, "late": {"sharpe": 0.5}}
    (d / "metrics.json").write_text(json.dumps(metrics))
    (d / "weights").mkdir()
    pd.DataFrame(0.0, index=ret.index, columns=["A", "B"]).to_parquet(
        d / "weights" / "cash.parquet"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from NaN / zero-variance columns
        out = write_report(d)
    run = read_run(d)
    assert run.benchmark is None and run.strategies == ["equal_weight", "cash", "late"]
    html = out.read_text(encoding="utf-8")
    assert "No trades.parquet in this run." in html and "No costs.json in this run." in html
    assert 'id="chart-weights"' in html and 'id="gates"' not in html
    charts = sorted(p.name for p in (d / "charts").iterdir())
    assert "cash_weights.png" in charts and "late_weights.png" not in charts
    assert len(charts) == 4 + 3 + 1
    rs = {t.name: t for t in fig_rolling_sharpe(run).data}
    assert len(rs["cash"].x) == 0  # zero volatility: no Sharpe at all, not +-inf
    assert rs["late"].x[0] > rs["equal_weight"].x[0]
