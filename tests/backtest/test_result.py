"""BacktestResult views, immutability, metrics; backtest() input validation."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import COST_KINDS, REASONS, BacktestResult, Costs, backtest
from alphalab.errors import ConfigError, DataError

from .helpers import random_panel, random_weights


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    panel = random_panel(rng, 50, 4, vol=0.05, holes=0.02)
    w = random_weights(rng, 50, 4, nan_rows=0.5)
    res = backtest(w, panel, "vn.hose", costs=Costs(commission_bps=10, slippage_bps=5),
                   initial_cash=1e7)  # fmt: skip
    return panel, w, res


def test_result_is_immutable(case) -> None:
    _, _, res = case
    assert isinstance(res, BacktestResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.initial_cash = 1.0  # type: ignore[misc]
    for arr in (res.equity_values, res.cash_values, res.trades, res.rejected, res.pos_snap):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[...] = 0


def test_views_have_panel_axes_and_agree(case) -> None:
    panel, _, res = case
    for s in (res.equity, res.returns, res.cash, res.turnover):
        assert s.index.equals(panel.dates)
    for f in (res.positions, res.weights, res.costs_daily):
        assert f.index.equals(panel.dates)
    assert res.positions.columns.equals(panel.assets)
    assert list(res.costs.index) == list(COST_KINDS)
    assert res.costs.sum() == pytest.approx(res.costs_daily.to_numpy().sum())
    np.testing.assert_allclose(
        (1 + res.returns).cumprod() * res.initial_cash, res.equity, rtol=1e-12
    )
    tf, rf = res.trades_frame(), res.rejected_frame()
    assert list(tf.columns) == ["date", "ticker", "side", "shares", "price", "value",
                                "commission", "tax", "slippage"]  # fmt: skip
    assert len(tf) == len(res.trades) and set(tf["side"]) <= {"buy", "sell"}
    assert set(rf["reason"]) <= set(REASONS)
    held = res.weights.sum(axis=1) + res.cash / res.equity
    np.testing.assert_allclose(held, 1.0, atol=1e-9)
    assert "BacktestResult(" in repr(res)


def test_wide_dataframe_weights_align_to_the_panel(case) -> None:
    panel, w, res = case
    frame = pd.DataFrame(w, index=panel.dates, columns=panel.assets)
    shuffled = frame.iloc[::-1, ::-1]
    again = backtest(shuffled, panel, "vn.hose", costs=res.info["costs"], initial_cash=1e7)
    np.testing.assert_array_equal(again.equity_values, res.equity_values)
    with pytest.raises(DataError, match="columns do not match"):
        backtest(frame.rename(columns={panel.assets[0]: "ZZZ"}), panel)
    with pytest.raises(DataError, match="dates"):
        backtest(frame.iloc[1:], panel)


def test_bad_inputs_raise_clear_errors(case) -> None:
    panel, w, _ = case
    bad = w.copy()
    bad[7, 2] = np.inf
    with pytest.raises(DataError, match=rf"{panel.dates[7].date()}.*{panel.assets[2]}"):
        backtest(bad, panel)
    with pytest.raises(DataError, match="shape"):
        backtest(w[:, :2], panel)
    with pytest.raises(ConfigError, match="execution"):
        backtest(w, panel, execution="next_tick")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="rules"):
        backtest(w, panel, rules="none")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="initial_cash"):
        backtest(w, panel, initial_cash=-5)
    with pytest.raises(ConfigError, match="slippage_bps"):
        Costs(slippage_bps=-1)
    with pytest.raises(DataError, match="close"):
        backtest(w, panel.drop_fields("close"))


def test_rebalance_schedule_ignores_rows_off_schedule(case) -> None:
    panel, w, _ = case
    dense = np.nan_to_num(w, nan=0.25)
    res = backtest(dense, panel, "us", rebalance="weekly")
    mask = pd.Series(panel.dates.to_period("W").asi8).diff().ne(0).to_numpy()
    decided = np.flatnonzero(mask[:-1]) + 1
    np.testing.assert_array_equal(res.exec_bars, decided)
    # between executions positions are constant: weights drift with prices
    pos = res.positions.to_numpy()
    changes = np.flatnonzero(np.any(np.diff(pos, axis=0) != 0, axis=1)) + 1
    assert set(changes) <= set(decided)


@pytest.mark.skipif(
    importlib.util.find_spec("alphalab.metrics") is None,
    reason="alphalab.metrics (compute_metrics) has not landed yet",
)
def test_metrics_delegates_to_compute_metrics(case) -> None:
    _, _, res = case
    m = res.metrics()
    assert isinstance(m, pd.Series) and len(m) > 0
    assert m["cost_drag"] > 0  # costs reach the metrics in currency, with equity


@pytest.mark.parametrize("bounds", [("2022-03-20", None), (None, "2022-04-10"),
                                    ("2022-03-15", "2022-04-20"), (None, None)])  # fmt: skip
def test_slice_is_the_full_run_seen_over_the_span(case, bounds) -> None:
    panel, _, res = case
    start, end = bounds
    part = res.slice(start, end)
    assert isinstance(part, BacktestResult)
    lo = panel.dates[0] if start is None else pd.Timestamp(start)
    hi = panel.dates[-1] if end is None else pd.Timestamp(end)
    span = (panel.dates >= lo) & (panel.dates <= hi)
    assert part.dates.equals(panel.dates[span])
    # Equity is not rebased: the account's values and the full run's returns on the span.
    for name in ("equity", "cash", "returns", "turnover"):
        pd.testing.assert_series_equal(getattr(part, name), getattr(res, name)[span])
    for name in ("positions", "weights", "costs_daily"):
        pd.testing.assert_frame_equal(getattr(part, name), getattr(res, name)[span])
    tf = res.trades_frame()
    in_span = (tf["date"] >= lo) & (tf["date"] <= hi)
    pd.testing.assert_frame_equal(part.trades_frame(), tf[in_span].reset_index(drop=True))
    rf = res.rejected_frame()
    in_span = (rf["date"] >= lo) & (rf["date"] <= hi)
    # (an empty selection keeps pandas' string dtype, a fresh empty frame is object)
    pd.testing.assert_frame_equal(
        part.rejected_frame(), rf[in_span].reset_index(drop=True), check_dtype=False
    )
    np.testing.assert_allclose(part.costs.to_numpy(), res.costs_daily[span].sum().to_numpy())
    from alphalab.metrics import compute_metrics

    expected = compute_metrics(
        res.returns[span], turnover=res.turnover[span],
        costs=res.costs_daily.sum(axis=1)[span], equity=res.equity[span],
    )  # fmt: skip
    pd.testing.assert_series_equal(part.metrics(), expected)
    # A slice of a slice is the slice of the whole.
    inner = part.slice(panel.dates[span][3], None)
    pd.testing.assert_frame_equal(inner.weights, res.weights[span][3:])
    for arr in (part.equity_values, part.trades, part.rejected, part.pos_snap):
        assert not arr.flags.writeable


def test_slice_outside_the_run_is_empty(case) -> None:
    _, _, res = case
    part = res.slice("2031-01-01", None)
    assert len(part.dates) == 0 and len(part.trades) == 0 and part.weights.shape == (0, 4)
