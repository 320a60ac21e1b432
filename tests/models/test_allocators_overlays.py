"""Allocators and overlays on hand-made forecasts and prices: exact weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab import ConfigError
from alphalab.data.panel import Panel
from alphalab.errors import DataError
from alphalab.models import (
    DrawdownHalt,
    Forecast,
    ForecastStrategy,
    InverseVariance,
    LongShortQuantile,
    MarketHalt,
    MeanVarianceAllocator,
    MomentumForecaster,
    RealisedVolForecaster,
    TopK,
    TrailingStop,
    VolScaling,
    VolTarget,
)


def _panel(close: np.ndarray) -> Panel:
    return Panel({"close": close}, pd.bdate_range("2021-01-04", periods=close.shape[0]), list("ABCDE")[: close.shape[1]])


def _fc(p: Panel, mean: list[list[float]], kind: str = "score", variance=None) -> Forecast:
    rows = len(mean)
    return Forecast(p.dates[-rows:], p.assets, 1, kind, np.array(mean, dtype=float), variance)


def test_forecast_frame_round_trip() -> None:
    p = _panel(np.ones((3, 3)))
    f = Forecast(p.dates, p.assets, 5, "return", np.arange(9.0).reshape(3, 3), np.ones((3, 3)),
                 quantiles={0.05: np.zeros((3, 3))}, probabilities={"up": np.full((3, 3), 0.6)})
    frame = f.to_frame()
    assert list(frame.columns) == ["date", "ticker", "mean", "variance", "q0.05", "p_up"]
    assert frame.loc[4, "mean"] == 4.0 and frame.loc[4, "ticker"] == "B"
    back = Forecast.from_frame(frame, horizon=5, kind="return")
    np.testing.assert_array_equal(back.mean, f.mean)
    assert back.quantiles.keys() == {0.05} and "up" in back.probabilities
    assert f.mean_frame().loc[p.dates[1], "C"] == 5.0
    with pytest.raises(ConfigError):
        Forecast(p.dates, p.assets, 0, "return", f.mean)


def test_topk_and_long_short_by_hand() -> None:
    close = np.ones((2, 5))
    close[1, 4] = np.nan  # E has no price: not eligible
    p = _panel(close)
    f = _fc(p, [[0.1, 0.5, -0.2, 0.3, 9.0]])
    np.testing.assert_allclose(TopK(k=2).allocate(f, p), [[0, 0.5, 0, 0.5, 0]])
    np.testing.assert_allclose(TopK(k=2, weighting="score").allocate(f, p), [[0, 0.625, 0, 0.375, 0]])
    np.testing.assert_allclose(LongShortQuantile(quantile=0.25, gross=1.0).allocate(f, p), [[0, 0.5, -0.5, 0, 0]])
    none = _fc(p, [[np.nan] * 5])
    assert np.isnan(TopK(k=2).allocate(none, p)).all()


def test_inverse_variance_and_vol_target_by_hand() -> None:
    p = _panel(np.ones((2, 3)))
    vol = _fc(p, [[0.01, 0.02, np.nan]], kind="volatility")
    np.testing.assert_allclose(InverseVariance().allocate(vol, p), [[0.8, 0.2, 0.0]])
    per_bar = 0.10 / np.sqrt(252)
    w = VolTarget(target=0.10, max_leverage=10).allocate(vol, p)
    np.testing.assert_allclose(w, [[per_bar / 2 / 0.01, per_bar / 2 / 0.02, 0.0]])
    capped = VolTarget(target=5.0, max_leverage=1.0).allocate(vol, p)
    assert capped.sum() == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="allocates"):
        TopK().allocate(vol, p)


def test_mean_variance_solves_and_records_fallbacks(cn_panel: Panel) -> None:
    dates = cn_panel.dates[300:330:10]
    mom = MomentumForecaster(lookback=60).fit(cn_panel, dates[0]).predict(cn_panel, dates)
    f = Forecast(mom.dates, mom.assets, 1, "return", mom.mean / 60)
    alloc = MeanVarianceAllocator(window=60, risk_aversion=5.0, max_assets=10)
    w = alloc.allocate(f, cn_panel)
    assert np.allclose(w.sum(axis=1), 1.0) and (w >= 0).all()
    assert alloc.diagnostics_["n_solved"] == 3 and alloc.diagnostics_["fallbacks"] == []
    # an infeasible problem (non-finite expected returns for the solver) falls back, recorded
    bad = Forecast(mom.dates, mom.assets, 1, "return", np.where(np.isfinite(mom.mean), 1e300, np.nan))
    wb = alloc.allocate(bad, cn_panel)
    assert len(alloc.diagnostics_["fallbacks"]) + alloc.diagnostics_["n_solved"] == 3
    assert np.allclose(np.nansum(wb, axis=1), 1.0)


def test_trailing_stop_and_market_halt_by_hand() -> None:
    close = np.array([[10, 10], [12, 10], [11.5, 10], [10.9, 9.0]], dtype=float)
    p = _panel(close)
    w = np.full((2, 2), 0.5)
    # row 2: A 4.2% below its 3-bar high of 12 -> kept; row 3: A 9.2% below -> kept,
    # B exactly 10% below its high of 10 -> stopped (the threshold is inclusive)
    out = TrailingStop(drawdown=0.10, window=3).apply(w, p, p.dates[2:])
    np.testing.assert_array_equal(out, [[0.5, 0.5], [0.5, 0.0]])
    stopped = TrailingStop(drawdown=0.04, window=3).apply(w[:1], p, p.dates[2:3])
    np.testing.assert_array_equal(stopped, [[0.0, 0.5]])
    # market (mean) return: row 2 (11.5/12 - 1 + 0) / 2 = -2.1%; row 3 (10.9/11.5 - 1 - 0.1) / 2 = -7.6%
    halted = MarketHalt(drop=0.05).apply(w, p, p.dates[2:])
    np.testing.assert_array_equal(halted, [[0.5, 0.5], [0.0, 0.0]])
    by_index = MarketHalt(drop=0.05, index="B").apply(w, p, p.dates[2:])
    np.testing.assert_array_equal(by_index, [[0.5, 0.5], [0.0, 0.0]])
    with pytest.raises(DataError, match="weights of shape"):
        TrailingStop().apply(w, p, p.dates[2:3])
    with pytest.raises(ConfigError, match="not an asset"):
        MarketHalt(index="ZZZ").apply(w, p, p.dates[2:])


def test_drawdown_halt_goes_to_cash_then_resumes() -> None:
    close = np.array([[10.0], [9.0], [7.5], [7.5], [7.5], [8.0]])
    p = Panel({"close": close}, pd.bdate_range("2021-01-04", periods=6), ["A"])
    w = np.ones((6, 1))
    out = DrawdownHalt(max_drawdown=0.2, cooldown=1).apply(w, p, p.dates)
    # paper equity 1, 0.9, 0.75 (-25%: halt at row 2, cash at row 3), resume at row 4 with the peak reset
    np.testing.assert_array_equal(out[:, 0], [1, 1, 0, 0, 1, 1])


def test_vol_scaling_hits_the_target(cn_panel: Panel) -> None:
    dates = cn_panel.dates[200:201]
    w = np.full((1, cn_panel.n_assets), 1.0 / cn_panel.n_assets)
    out = VolScaling(target=0.05, window=60, max_leverage=10).apply(w, cn_panel, dates)
    block = cn_panel["close"][140:201]
    r = np.nan_to_num(block[1:] / block[:-1] - 1)
    assert np.std(r @ out[0], ddof=1) * np.sqrt(252) == pytest.approx(0.05)


def test_forecast_strategy_sets_forecasts_and_diagnostics(cn_panel: Panel) -> None:
    s = ForecastStrategy(RealisedVolForecaster(window=20), InverseVariance(), [TrailingStop()], random_state=1)
    dates = cn_panel.dates[100:130:5]
    w = s.fit(cn_panel, cn_panel.dates[99]).decide(cn_panel, dates)
    assert w.shape == (6, cn_panel.n_assets) and np.allclose(np.nansum(w, axis=1), 1.0, atol=1.0)
    assert set(pd.DatetimeIndex(s.forecasts_["date"])) == set(dates)
    assert {"mean", "variance"} <= set(s.forecasts_.columns)
    assert "forecaster" in s.diagnostics_ and "allocator" in s.diagnostics_
    assert not hasattr(s.forecaster, "fitted_until_")  # the parameter is never fitted
    with pytest.raises(ConfigError, match="before fit"):
        ForecastStrategy(RealisedVolForecaster(), InverseVariance()).decide(cn_panel, dates)
    with pytest.raises(ConfigError, match="expected a Forecaster"):
        ForecastStrategy(TopK(), InverseVariance())


def test_topk_buffer_keeps_holdings_within_the_band() -> None:
    p = _panel(np.ones((3, 5)))
    f = _fc(p, [[5, 4, 3, 2, 1], [3, 5, 4, 2, 1], [1, 2, 3, 4, 5]])
    plain = TopK(k=2).allocate(f, p)
    np.testing.assert_array_equal(plain > 0, [[1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]])
    # with buffer 1, A (rank 3 at date 2) stays; at date 3 neither A nor B is in the top 3
    buf = TopK(k=2, buffer=1).allocate(f, p)
    np.testing.assert_array_equal(buf > 0, [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 1, 1]])
    held = TopK(k=2, buffer=1).allocate(f.take(slice(2, 3)), p, previous_weights=np.array([0, 0, 0.5, 0.5, 0]))
    np.testing.assert_array_equal(held[0] > 0, [0, 0, 1, 1, 0])  # C kept: rank 3 <= k + buffer
