"""Awkward but legal runs: no benchmark, a cash-only strategy, a late start, few files."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab.errors import DataError
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


# ------------------------------------------------------------ hostile run dirs
def _copy(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "name", ["equity.parquet", "returns.parquet", "trades.parquet", "weights/AAPL_only.parquet"]
)
def test_truncated_parquet_names_the_file(run_dir: Path, tmp_path: Path, name: str) -> None:
    d = _copy(run_dir, tmp_path)
    target = d / name
    if not target.exists():  # weights keep the raw name when it is a valid file name
        target = d / "weights" / "AAPL only.parquet"
    _truncate(target)
    with pytest.raises(DataError, match=rf"{target.name}: cannot read parquet"):
        write_report(d, charts=False)


def test_run_dir_that_is_a_file(run_dir: Path) -> None:
    with pytest.raises(DataError, match="is not a directory"):
        write_report(run_dir / "manifest.json")


def test_hostile_config_yaml_in_a_run_dir(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    bomb = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    (d / "config.yaml").write_text(bomb)
    with pytest.raises(DataError, match=r"config\.yaml.*alias bomb"):
        write_report(d, charts=False)
    (d / "config.yaml").write_bytes(b"report: {title: x}\nreport: {title: \xff}\n")
    with pytest.raises(DataError, match=r"config\.yaml.*not UTF-8"):
        write_report(d, charts=False)


@pytest.mark.parametrize(
    ("name", "content"),
    [("gates.json", "[1, 2"), ("validation.json", '{"a": NaN'), ("metrics.json", "\xff")],
)
def test_broken_json_names_the_file(run_dir: Path, tmp_path: Path, name: str, content: str) -> None:
    d = _copy(run_dir, tmp_path)
    (d / name).write_text(content, encoding="latin-1")
    with pytest.raises(DataError, match=rf"{name}: not (valid JSON|UTF-8)"):
        write_report(d, charts=False)


def test_nan_in_metrics_and_gates_renders(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    metrics = json.loads((d / "metrics.json").read_text())
    for row in metrics.values():
        row["sharpe"] = float("nan")
    (d / "metrics.json").write_text(json.dumps(metrics))  # NaN literal (Python's json allows it)
    page = write_report(d, charts=False).read_text()
    assert 'id="metrics"' in page and "NaN" not in page.split("<script")[0]
