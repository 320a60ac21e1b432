"""The report of a real run directory written by alphalab.study."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alphalab.report import read_run, write_report
from alphalab.report.stats import drawdown
from alphalab.report.tables import format_metric


@pytest.fixture(scope="module")
def written(study_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(shutil.copytree(study_run_dir, tmp_path_factory.mktemp("study_report") / "run"))
    write_report(d)
    return d


def test_report_of_a_study_run(written: Path) -> None:
    run = read_run(written)
    assert run.strategies == ["buy_and_hold", "equal_weight", "momentum_top5"]
    assert run.benchmark == "benchmark" and run.rolling_window == 42
    charts = sorted(p.name for p in (written / "charts").iterdir())
    assert len(charts) == 4 + 2 * 3 and "momentum_top5_weights.png" in charts
    html = (written / "report.html").read_text(encoding="utf-8")
    metrics = json.loads((written / "metrics.json").read_text())
    # Every metrics.json value appears, formatted, in the table.
    for strategy, values in metrics.items():
        for key, value in values.items():
            assert f">{format_metric(key, value)}</td>" in html, (strategy, key)
    assert "Rolling Sharpe ratio (42-bar window" in html
    assert run.manifest["config_hash"] in html and run.manifest["data_hash"] in html


def test_drawdown_agrees_with_engine_metrics(written: Path) -> None:
    run = read_run(written)
    dd = drawdown(run.equity).min()
    for name in run.strategies:
        # The report's drawdown (from equity.parquet) and the metric (from returns) agree.
        assert dd[name] == pytest.approx(run.metrics[name]["max_drawdown"], abs=1e-9)


def test_cli_report_rerenders(study_run_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alphalab.cli import app

    d = Path(shutil.copytree(study_run_dir, tmp_path / "run"))
    assert not (d / "report.html").exists()
    result = CliRunner().invoke(app, ["report", str(d)])
    assert result.exit_code == 0, result.output
    assert (d / "report.html").stat().st_size > 4_000_000
    assert len(list((d / "charts").glob("*.png"))) == 4 + 2 * 3
    # Re-rendering from the same files gives the same page (reports can be compared later).
    first = (d / "report.html").read_bytes()
    assert CliRunner().invoke(app, ["report", str(d)]).exit_code == 0
    assert (d / "report.html").read_bytes() == first
