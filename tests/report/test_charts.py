"""PNG charts: files, sizes, no global matplotlib state touched, speed on 8,000 days."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from PIL import Image

from alphalab.report import read_run
from alphalab.report.charts import plot_equity, plot_weights, write_charts
from tests.report.conftest import HOSTILE


def _rc_snapshot() -> dict[str, object]:
    return {k: v for k, v in mpl.rcParams.items() if k != "backend"}


@pytest.fixture(scope="module")
def written(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Write the charts once (with pyplot / rcParams snapshots around it)."""
    plt = pytest.importorskip("matplotlib.pyplot")
    before = (plt.get_fignums(), mpl.get_backend(), _rc_snapshot())
    files = write_charts(read_run(run_dir), tmp_path_factory.mktemp("charts"))
    after = (plt.get_fignums(), mpl.get_backend(), _rc_snapshot())
    return {"files": files, "before": before, "after": after}


def test_write_charts_files(written: dict) -> None:  # type: ignore[type-arg]
    files: list[Path] = written["files"]
    names = [f.name for f in files]
    assert names[:4] == ["equity.png", "drawdown.png", "returns_hist.png", "rolling_sharpe.png"]
    for stem in ("equal_weight", "AAPL_only", "script_alert_1_script", "mom_long_short"):
        assert f"{stem}_monthly_heatmap.png" in names
        assert f"{stem}_weights.png" in names
    assert len(names) == 4 + 2 * 4
    for f in files:
        with Image.open(f) as im:
            assert im.format == "PNG"
            assert im.size[0] == 1000 and im.size[1] >= 250
            # Not a blank canvas: a real chart has many distinct colours.
            assert len(im.convert("RGB").getcolors(maxcolors=100_000) or []) > 50


def test_no_global_matplotlib_state_touched(written: dict) -> None:  # type: ignore[type-arg]
    # No figure left in pyplot, same backend, same rcParams.
    assert written["after"] == written["before"]


def test_default_out_dir_and_name_collisions(run_dir: Path, tmp_path: Path) -> None:
    full = read_run(run_dir)
    # Two names that sanitise to the same stem must not overwrite each other.
    cols = ["AAPL only", "benchmark"]
    ret, eq = full.returns[cols].copy(), full.equity[cols].copy()
    ret.insert(1, "AAPL/only", ret["AAPL only"])
    eq.insert(1, "AAPL/only", eq["AAPL only"])
    run = replace(full, path=tmp_path, returns=ret, equity=eq, weights={})
    files = write_charts(run)
    assert all(f.parent == tmp_path / "charts" for f in files)
    heatmaps = sorted(f.name for f in files if f.name.startswith("AAPL"))
    assert heatmaps == ["AAPL_only-2_monthly_heatmap.png", "AAPL_only_monthly_heatmap.png"]


def test_equity_is_log_scale_and_rebased(run_dir: Path) -> None:
    run = read_run(run_dir)
    fig = plot_equity(run.equity, run.benchmark)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [*run.strategies, "benchmark"]
    first = [line.get_ydata()[0] for line in ax.get_lines()]
    np.testing.assert_allclose(first, 1.0)


def test_weights_chart_stacks_long_and_short(run_dir: Path) -> None:
    run = read_run(run_dir)
    fig = plot_weights(run.weights["mom long/short"], "mom long/short", top=5)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 6 and labels[-1] == "(other)"
    lo, hi = ax.get_ylim()
    assert lo < -0.3 and hi > 0.3  # shorts stack below zero, longs above
    one = plot_weights(run.weights[HOSTILE], HOSTILE)
    assert one.axes[0].get_title() == f"Held weights: {HOSTILE}"


def test_charts_on_8000_days(big_run_dir: Path, tmp_path: Path) -> None:
    # Speed is measured in benchmarks/report_speed.py, never asserted here.
    run = read_run(big_run_dir)
    assert run.returns.shape == (8000, 8)
    files = write_charts(run, tmp_path)
    assert len(files) == 4 + 2 * 7
    assert all(f.stat().st_size > 1_000 for f in files)


def test_names_are_text_not_markup(run_dir: Path) -> None:
    run = read_run(run_dir)
    eq = run.equity[["equal_weight", "AAPL only"]].set_axis(["a $x^$ b", "_hidden"], axis=1)
    fig = plot_equity(eq)
    fig.canvas.draw()  # as mathtext "$x^$" would raise ValueError here
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["a $x^$ b", " _hidden"]
