"""The R5 parts: per-stock LSTM forecaster, plain size forecaster, threshold sizer, halving stop, panic halt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models import ForecastStrategy
from alphalab.models.allocators import TopK
from alphalab.models.forecast import Forecast
from alphalab.models.smallcap import (
    FOUNDING_PRESET,
    HalvingStop,
    PanicHalt,
    SmallCapLSTM,
    SmallCapUniverse,
    ThresholdSteps,
    adjusted_close,
    panic_mask,
)
from alphalab.portfolio.base import make_strategy
from alphalab.testing.leakage import assert_strategy_no_leakage


def _panel(close: np.ndarray, start: str = "2020-01-01", **extra: np.ndarray) -> Panel:
    close = np.asarray(close, dtype=float)
    if close.ndim == 1:
        close = close[:, None]
    dates = pd.bdate_range(start, periods=close.shape[0])
    assets = [f"s{i}" for i in range(close.shape[1])]
    fields = {"close": close, "high": close * 1.01, "low": close * 0.99, "volume": np.full(close.shape, 1e6)}
    fields.update(extra)
    return Panel(fields, dates, assets, {"market": "cn"})


# ------------------------------------------------------------------ the LSTM
def _ar1_panel(n_assets: int = 6, n: int = 520, phi: float = 0.5, seed: int = 3) -> tuple[Panel, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = np.zeros((n, n_assets))
    eps = rng.normal(0, 0.02, (n, n_assets))
    for t in range(1, n):
        r[t] = phi * r[t - 1] + eps[t]
    close = 10.0 * np.cumprod(1.0 + r, axis=0)
    return _panel(close), r


def test_lstm_beats_the_random_walk_on_ar1_prices() -> None:
    panel, r = _ar1_panel(n_assets=4, n=330)
    fit_row = 249
    fc = SmallCapLSTM(n_stocks=None, min_listing_days=0, window=200, hidden=4, epochs=80, lr=0.03,
                      random_state=0).fit(panel, panel.dates[fit_row])
    assert len(fc.members_) == panel.n_assets
    dates = panel.dates[fit_row: panel.n_dates - 1]
    pred = fc.predict(panel, dates).mean
    actual = r[fit_row + 1:]                  # the next bar's return from each decision date
    mse_lstm = np.mean((pred - actual) ** 2)
    mse_rw = np.mean(actual ** 2)             # random walk: no change expected
    assert np.isfinite(pred).all()
    assert mse_lstm <= 0.95 * mse_rw, (mse_lstm, mse_rw)


def test_lstm_is_deterministic_and_causal() -> None:
    panel, _ = _ar1_panel(n_assets=3, n=260)
    fc = SmallCapLSTM(n_stocks=None, min_listing_days=0, window=120, hidden=2, epochs=8, random_state=5)
    strat = ForecastStrategy(fc, ThresholdSteps())
    dates = panel.dates[200:230]
    a = strat.clone().fit(panel, panel.dates[199]).decide(panel, dates)
    b = strat.clone().fit(panel, panel.dates[199]).decide(panel, dates)
    np.testing.assert_array_equal(a, b)
    assert_strategy_no_leakage(strat, panel, dates, fit_until=panel.dates[199], n_trials=2, seed=1,
                               cutoffs=[dates[0], dates[10]])


def test_compiled_and_torch_trainers_give_the_same_models() -> None:
    """The default (compiled) trainer and the torch graph train the same per-stock models."""
    panel, _ = _ar1_panel(n_assets=3, n=260)
    fits = {}
    for trainer in ("compiled", "torch"):
        fits[trainer] = SmallCapLSTM(n_stocks=None, min_listing_days=0, window=120, hidden=3, epochs=15,
                                     dtype="float64", random_state=2, trainer=trainer).fit(panel, panel.dates[199])
    a, b = fits["compiled"], fits["torch"]
    assert a.diagnostics_["best_epoch"] == b.diagnostics_["best_epoch"]
    for k in a.diagnostics_["train_loss"]:
        assert abs(a.diagnostics_["train_loss"][k] - b.diagnostics_["train_loss"][k]) < 1e-10
    dates = panel.dates[200:210]
    np.testing.assert_allclose(a.predict(panel, dates).mean, b.predict(panel, dates).mean, rtol=0, atol=1e-10)


def test_lstm_parameters_are_checked() -> None:
    with pytest.raises(ConfigError, match="trainer"):
        SmallCapLSTM(trainer="jax")
    with pytest.raises(ConfigError, match="hidden"):
        SmallCapLSTM(hidden=0)
    with pytest.raises(ConfigError, match="warmup"):
        SmallCapLSTM(window=20, warmup=19)
    with pytest.raises(ConfigError, match="dtype"):
        SmallCapLSTM(dtype="float16")
    with pytest.raises(ConfigError, match="not a date"):
        SmallCapLSTM(blacklist={"s0": "someday"})
    with pytest.raises(ConfigError, match="candidates"):
        SmallCapLSTM(n_stocks=20, candidates=10)
    founding = SmallCapLSTM(**FOUNDING_PRESET)
    assert founding.hidden == 1 and founding.candidates == 100


def test_blacklist_must_predate_the_fit() -> None:
    panel, _ = _ar1_panel(n_assets=3, n=260)
    late = SmallCapUniverse(n_stocks=None, min_listing_days=0, window=50, blacklist={"s1": panel.dates[250]})
    with pytest.raises(ConfigError, match="hindsight"):
        late.fit(panel, panel.dates[200])
    ok = SmallCapUniverse(n_stocks=None, min_listing_days=0, window=50, blacklist={"s1": panel.dates[100]})
    assert ok.fit(panel, panel.dates[200]).members_ == ["s0", "s2"]


def test_universe_forecaster_scores_once_after_each_fit() -> None:
    panel, _ = _ar1_panel(n_assets=4, n=200)
    fc = SmallCapUniverse(n_stocks=None, min_listing_days=0, window=50).fit(panel, panel.dates[150])
    dates = panel.dates[151:160]
    mean = fc.predict(panel, dates).mean
    assert (mean[0] == 1.0).all() and np.isnan(mean[1:]).all()
    w = TopK(k=10).allocate(fc.predict(panel, dates), panel)
    np.testing.assert_allclose(w[0], 0.25)
    assert np.isnan(w[1:]).all()  # no decision: the plain portfolio drifts until the next refit


def test_market_cap_universe_needs_shares_or_turnover() -> None:
    panel, _ = _ar1_panel(n_assets=3, n=300)
    with pytest.raises(DataError, match=r"turnover fallback|volume and turn"):
        SmallCapUniverse(n_stocks=2, min_listing_days=0, window=50).fit(panel, panel.dates[250])
    turn = np.full(panel.shape, 1.0)  # 1 % a day: float = 100 x volume for every name
    p2 = panel.with_fields(turn=turn, close=panel["close"] * np.array([1.0, 0.1, 10.0]))
    fc = SmallCapUniverse(n_stocks=2, min_listing_days=0, window=50).fit(p2, p2.dates[250])
    assert fc.members_ == ["s0", "s1"] and fc.diagnostics_["universe"]["n_fallback_caps"] == 2


# --------------------------------------------------------------- the sizer
def _forecast(panel: Panel, mean: np.ndarray) -> Forecast:
    return Forecast(panel.dates[: len(mean)], panel.assets, 1, "return", np.asarray(mean, dtype=float))


def test_threshold_sizer_steps_caps_and_floors() -> None:
    panel = _panel(np.ones((8, 4)))
    nan = np.nan
    mean = np.array([
        [0.03, -0.03, 0.0, nan],   # name 3 never forecast: not in the book (N = 3)
        [0.03, -0.03, 0.0, nan],
        [0.03, -0.03, 0.019, nan],
        [0.03, 0.02, -0.02, nan],
        [nan, nan, nan, nan],      # nothing forecast: no decision
        [nan, 0.05, nan, nan],     # missing forecasts keep their weight
    ])
    w = ThresholdSteps(threshold=0.02, step=0.5, cap=2.0, initial=1.0, max_gross=10.0).allocate(
        _forecast(panel, mean), panel)
    n = 3.0
    expected = np.array([
        [1.5, 0.5, 1.0, 0.0],
        [2.0, 0.0, 1.0, 0.0],
        [2.0, 0.0, 1.0, 0.0],      # capped at 2/N, floored at 0, 0.019 is inside the band
        [2.0, 0.5, 0.5, 0.0],      # +-threshold itself counts
        [nan, nan, nan, nan],
        [2.0, 1.0, 0.5, 0.0],
    ]) / n
    np.testing.assert_allclose(w, expected)


def test_threshold_sizer_scales_to_max_gross() -> None:
    panel = _panel(np.ones((3, 2)))
    w = ThresholdSteps(max_gross=1.0).allocate(_forecast(panel, np.full((3, 2), 0.05)), panel)
    np.testing.assert_allclose(w.sum(axis=1), [1.0, 1.0, 1.0])  # 1.5/N + 1.5/N > 1: scaled


# ------------------------------------------------------------ the stop
def test_halving_stop_sells_half_at_half_off_the_peak() -> None:
    price = np.array([100, 120, 110, 61, 59, 58, 40, 30, 29], dtype=float)
    other = np.full_like(price, 10.0)
    panel = _panel(np.column_stack([price, other]))
    dates = panel.dates
    w = np.full((len(price), 2), 0.5)
    out = HalvingStop(drawdown=0.5, cut=0.5).apply(w, panel, dates)
    # 59 <= 0.5 * 120: halved at row 4; the peak restarts at 59, so 29 (<= 29.5) halves again
    np.testing.assert_allclose(out[:, 0], [0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125])
    np.testing.assert_allclose(out[:, 1], 0.5)
    assert all(0.0 <= v <= 0.5 for v in out[:, 0])  # it sells, never buys


def test_halving_stop_resets_when_the_position_closes_and_ignores_ex_rights() -> None:
    price = np.array([100, 40, 40, 40, 40], dtype=float)
    w = np.array([[0.5], [0.5], [0.0], [0.5], [0.5]])
    out = HalvingStop().apply(w, _panel(price), _panel(price).dates)
    np.testing.assert_allclose(out[:, 0], [0.5, 0.25, 0.0, 0.5, 0.5])  # re-entry at 40: a fresh peak
    # a 10-for-10 bonus issue halves the raw price; preclose says the return was 0
    preclose = np.array([100, 50, 50, 50, 50], dtype=float)
    split = _panel(np.array([100, 50, 50, 50, 50.0]), preclose=preclose[:, None])
    np.testing.assert_allclose(adjusted_close(split)[:, 0], [1.0, 1.0, 1.0, 1.0, 1.0])
    out = HalvingStop().apply(np.full((5, 1), 0.5), split, split.dates)
    np.testing.assert_allclose(out[:, 0], 0.5)


# ------------------------------------------------------------ the panic halt
def _index_path(returns: list[float]) -> np.ndarray:
    return 1000.0 * np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(returns)]))


def test_panic_mask_two_days_of_three_percent() -> None:
    rets = [0.0] * 5 + [-0.03, -0.031] + [0.0] * 40
    halted = panic_mask(_index_path(rets), sessions=22)
    trigger = 7  # the index row of the second -3 % day
    assert not halted[:trigger].any()
    assert halted[trigger: trigger + 22].all() and not halted[trigger + 22:].any()


def test_panic_mask_single_day_and_non_consecutive_days() -> None:
    assert panic_mask(_index_path([0.0, -0.05, 0.0]), sessions=2).tolist() == [False, False, True, True]
    apart = _index_path([-0.03, 0.01, -0.03, 0.0, -0.029, -0.04])
    assert not panic_mask(apart).any()  # -3 % days not in a row, and -2.9 % then -4 % is not two 3 % days
    # a new trigger inside a halt extends it
    again = panic_mask(_index_path([-0.05, 0.0, -0.05, 0.0, 0.0, 0.0]), sessions=3)
    assert again.tolist() == [False, True, True, True, True, True, False]


def test_panic_halt_counts_index_sessions_not_rows() -> None:
    close = _index_path([0.0, -0.06, 0.0, 0.0, 0.0, 0.0, 0.0])
    close[3] = np.nan  # the index did not publish that day: it neither counts nor ends the halt
    halted = panic_mask(close, sessions=3)
    assert halted.tolist() == [False, False, True, True, True, True, False, False]


def test_panic_halt_overlay_reads_the_index_field() -> None:
    n = 12
    idx = _index_path([0.0] * 3 + [-0.06] + [0.0] * (n - 5))
    stocks = np.full((n, 2), 10.0)
    panel = _panel(stocks, **{"index:sh.000001": np.repeat(idx[:, None], 2, axis=1)})
    w = np.full((n, 2), 0.5)
    w[5] = np.nan
    out = PanicHalt(index="sh.000001", sessions=4).apply(w, panel, panel.dates)
    # the -6 % close is index row 4: decisions at rows 4..7 are flat, a no-decision row stays NaN
    assert (out[:4] == 0.5).all() and (out[4] == 0.0).all() and np.isnan(out[5]).all()
    assert (out[6:8] == 0.0).all() and (out[8:] == 0.5).all()
    with pytest.raises(DataError, match=r"data\.indices"):
        PanicHalt(index="sh.000300").apply(w, panel, panel.dates)


# ----------------------------------------------------------- as a study strategy
def test_strategy_spec_builds_from_yaml_params() -> None:
    s = make_strategy("forecast", {
        "forecaster": {"kind": "smallcap_lstm", "params": {"n_stocks": 20, "hidden": 4}},
        "allocator": {"kind": "threshold_steps", "params": {"threshold": 0.02}},
        "overlays": [{"kind": "halving_stop"}, {"kind": "panic_halt", "params": {"index": "sh.000001"}}],
    })
    assert s.get_params()["forecaster__hidden"] == 4
    with pytest.raises(ConfigError, match="no parameter"):
        make_strategy("forecast", {"forecaster": {"kind": "smallcap_lstm", "params": {"hiden": 4}},
                                   "allocator": "threshold_steps"})
