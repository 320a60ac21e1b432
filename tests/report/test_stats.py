"""Series helpers of the report, checked against alphalab.metrics and direct formulas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab import metrics
from alphalab.report import read_run
from alphalab.report.stats import (
    OTHER,
    drawdown,
    growth,
    histogram,
    minmax_indices,
    monthly_returns,
    periods_per_year,
    rolling_sharpe,
    stride_indices,
    top_weights,
)


@pytest.fixture(scope="module")
def run(run_dir: Path):  # type: ignore[no-untyped-def]
    return read_run(run_dir)


def test_drawdown_matches_metrics_max_drawdown(run) -> None:  # type: ignore[no-untyped-def]
    dd = drawdown(run.equity)
    for name in run.returns.columns:
        # Equity starts after the first bar's return, metrics start from W_0 = 1 before it.
        r = run.returns[name].iloc[1:]
        assert dd[name].min() == pytest.approx(metrics.max_drawdown(r), abs=1e-12)
        assert dd[name].max() == 0.0


def test_growth_rebases_to_one(run) -> None:  # type: ignore[no-untyped-def]
    g = growth(run.equity)
    np.testing.assert_allclose(g.iloc[0].to_numpy(), 1.0)
    ratio = run.equity.iloc[-1] / run.equity.iloc[0]
    np.testing.assert_allclose(g.iloc[-1].to_numpy(), ratio.to_numpy())


def test_rolling_sharpe_full_windows_only(run) -> None:  # type: ignore[no-untyped-def]
    ppy = periods_per_year(run.returns.index)
    assert ppy == pytest.approx(metrics.periods_per_year(run.returns.index))
    rs = rolling_sharpe(run.returns, window=60, ppy=ppy)
    assert rs["equal_weight"].iloc[:59].isna().all()
    # Bar 300's value is the plain Sharpe of the 60 bars ending there.
    window = run.returns["equal_weight"].iloc[241:301]
    assert rs["equal_weight"].iloc[300] == pytest.approx(metrics.sharpe(window, ppy), rel=1e-9)


def test_rolling_sharpe_default_window(run) -> None:  # type: ignore[no-untyped-def]
    rs = rolling_sharpe(run.returns)
    first = rs["equal_weight"].first_valid_index()
    assert run.returns.index.get_loc(first) + 1 == round(periods_per_year(run.returns.index))
    short = rolling_sharpe(run.returns.iloc[:200])
    assert short["equal_weight"].first_valid_index() == run.returns.index[99]


def test_rolling_sharpe_no_leakage(run) -> None:  # type: ignore[no-untyped-def]
    ret = run.returns[["equal_weight"]]
    base = rolling_sharpe(ret, window=60)
    changed = ret.copy()
    changed.iloc[700:] = changed.iloc[700:] * -3.0 + 0.01
    after = rolling_sharpe(changed, window=60)
    np.testing.assert_array_equal(base.iloc[:700].to_numpy(), after.iloc[:700].to_numpy())
    assert not np.allclose(base.iloc[760:].to_numpy(), after.iloc[760:].to_numpy())


def test_monthly_returns_compound_to_equity(run) -> None:  # type: ignore[no-untyped-def]
    table = monthly_returns(run.returns["equal_weight"])
    assert list(table.columns) == list(range(1, 13))
    assert list(table.index) == list(range(2013, 2019))
    assert np.isnan(table.loc[2013, 1]) and np.isnan(table.loc[2018, 3])
    eq = run.equity["equal_weight"]
    month_end = eq.groupby([eq.index.year, eq.index.month]).last()
    # Equity already includes each bar's return, so month-end ratios are the monthly returns.
    assert table.loc[2015, 6] == pytest.approx(month_end[(2015, 6)] / month_end[(2015, 5)] - 1)
    total = np.prod(1 + table.to_numpy()[np.isfinite(table.to_numpy())]) - 1
    assert total == pytest.approx(metrics.total_return(run.returns["equal_weight"]), rel=1e-10)


def test_histogram_integrates_to_one(run) -> None:  # type: ignore[no-untyped-def]
    edges, dens = histogram(run.returns, bins=40)
    assert edges.shape == (41,) and dens.shape == (40, 5)
    width = np.diff(edges)
    np.testing.assert_allclose((dens.to_numpy() * width[:, None]).sum(axis=0), 1.0)


def test_minmax_indices_keep_extremes(run) -> None:  # type: ignore[no-untyped-def]
    dd = drawdown(run.equity)["mom long/short"].to_numpy()
    idx = minmax_indices(dd, 200)
    assert len(idx) <= 200
    assert idx[0] == 0 and idx[-1] == len(dd) - 1
    assert np.all(np.diff(idx) > 0)
    assert dd[idx].min() == dd.min() and dd[idx].max() == dd.max()
    assert np.array_equal(minmax_indices(dd[:150], 200), np.arange(150))


def test_minmax_indices_with_nan() -> None:
    x = np.full(10_000, np.nan)
    x[5000:] = np.sin(np.arange(5000) / 50.0)
    idx = minmax_indices(x, 1000)
    assert len(idx) <= 1000
    assert np.nanmin(x[idx]) == np.nanmin(x) and np.nanmax(x[idx]) == np.nanmax(x)


def test_stride_indices() -> None:
    idx = stride_indices(8000, 500)
    assert len(idx) == 500 and idx[0] == 0 and idx[-1] == 7999
    assert np.array_equal(stride_indices(10, 500), np.arange(10))


def test_top_weights_keeps_row_sums(run) -> None:  # type: ignore[no-untyped-def]
    w = run.weights["mom long/short"]
    top = top_weights(w, 5)
    assert top.shape == (len(w), 6) and top.columns[-1] == OTHER
    np.testing.assert_allclose(
        top.sum(axis=1).to_numpy(), w.fillna(0).sum(axis=1).to_numpy(), atol=1e-12
    )
    avg = w.abs().mean()
    assert avg[top.columns[0]] == avg.max()
    few = top_weights(w.iloc[:, :3], 5)
    assert OTHER not in few.columns and few.shape[1] == 3
    # Assets never held are left out; a single-stock strategy shows just that stock.
    single = top_weights(run.weights["AAPL only"], 10)
    assert list(single.columns) == ["AAPL"]
    empty = top_weights(w * 0.0, 10)
    assert list(empty.columns) == [OTHER] and (empty[OTHER] == 0).all()


def test_periods_per_year_fallback() -> None:
    assert periods_per_year(pd.DatetimeIndex(["2020-01-01"])) == 252.0
    weekly = pd.date_range("2010-01-01", periods=300, freq="W")
    assert periods_per_year(weekly) == pytest.approx(52.18, abs=0.1)
