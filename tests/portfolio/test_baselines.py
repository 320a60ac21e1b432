"""Baseline strategies on real S&P 500 data: shapes, budgets, optimality, leakage."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest.schedule import rebalance_mask
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError, LeakageError
from alphalab.portfolio import (
    STRATEGIES,
    BuyAndHold,
    EqualWeight,
    Fixed,
    InverseVol,
    MeanVariance,
    MinVariance,
    MomentumTopK,
    make_strategy,
    target_weights,
)
from alphalab.testing import PERTURBATIONS, assert_strategy_no_leakage

# 27 long-listed names plus three that list late (APTV, BHF, DWDP) to exercise eligibility.
TICKERS = [
    "AAPL", "MSFT", "XOM", "JPM", "JNJ", "PG", "KO", "PFE", "WMT", "INTC",
    "CSCO", "T", "VZ", "CVX", "MRK", "HD", "DIS", "MCD", "IBM", "GE",
    "BA", "MMM", "NKE", "AMZN", "NVDA", "CHK", "LNT", "APTV", "BHF", "DWDP",
]  # fmt: skip


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    df = us_sp500_long[us_sp500_long["ticker"].isin(TICKERS)]
    return Panel.from_long(df, ["close", "volume"])


@pytest.fixture(scope="module")
def monthly(panel: Panel) -> pd.DatetimeIndex:
    return panel.dates[rebalance_mask(panel.dates, "monthly")]


def small(kind: str) -> dict:
    return {
        "buy_and_hold": {},
        "equal_weight": {},
        "fixed": {"weights": {"AAPL": 0.5, "XOM": 0.3, "JNJ": 0.2}},
        "inverse_vol": {"window": 40},
        "min_variance": {"window": 60},
        "mean_variance": {"window": 60, "risk_aversion": 5.0},
        "risk_parity": {"window": 60},
        "hrp": {"window": 60},
        "momentum_topk": {"k": 5, "lookback": 60, "skip": 5},
    }[kind]


KINDS = [
    "buy_and_hold",
    "equal_weight",
    "fixed",
    "inverse_vol",
    "min_variance",
    "mean_variance",
    "risk_parity",
    "hrp",
    "momentum_topk",
]
OPTIMISERS = ("min_variance", "mean_variance", "risk_parity", "hrp")


def test_all_baselines_registered() -> None:
    assert set(KINDS) <= set(STRATEGIES)


@pytest.mark.parametrize("kind", KINDS)
def test_weights_shape_budget_long_only(kind: str, panel: Panel, monthly: pd.DatetimeIndex) -> None:
    strat = make_strategy(kind, small(kind))
    dates = monthly[monthly >= panel.dates[100]]
    if kind in OPTIMISERS:
        dates = dates[::3]  # skfolio fits are the slow part
    w = strat.fit(panel, dates[0]).decide(panel, dates)
    assert w.shape == (len(dates), panel.n_assets)
    decided = ~np.isnan(w).all(axis=1)
    if kind == "buy_and_hold":
        assert decided.tolist() == [True] + [False] * (len(dates) - 1)
    else:
        assert decided.all()
    rows = w[decided]
    assert np.isfinite(rows).all()
    assert (rows >= 0).all()
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-9)
    # late listings get no weight before they trade
    col = panel.assets.get_loc("APTV")
    first_aptv = panel.dates[np.isfinite(panel["close"][:, col])][0]
    assert (w[dates <= first_aptv, col][decided[dates <= first_aptv]] == 0).all()


def test_target_weights_full_array(panel: Panel) -> None:
    out = target_weights(EqualWeight(), panel, "weekly")
    mask = rebalance_mask(panel.dates, "weekly")
    assert out.shape == panel.shape
    assert np.isnan(out[~mask]).all() and not np.isnan(out[mask]).all(axis=1).any()


def test_equal_weight_counts_priced_assets(panel: Panel) -> None:
    row = panel.dates.get_loc(pd.Timestamp("2014-01-02"))
    w = EqualWeight().decide(panel, panel.dates[[row]])[0]
    n = int(np.isfinite(panel["close"][row]).sum())
    assert n == 27
    np.testing.assert_allclose(w[w > 0], 1 / n)


def test_fixed_weights_and_unknown_ticker(panel: Panel) -> None:
    w = Fixed({"AAPL": 0.6, "MSFT": 0.4}).decide(panel, panel.dates[[500]])[0]
    assert w[panel.assets.get_loc("AAPL")] == 0.6 and w[panel.assets.get_loc("MSFT")] == 0.4
    assert w.sum() == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="ZZZZ"):
        Fixed({"AAPL": 0.5, "ZZZZ": 0.5}).decide(panel, panel.dates[[500]])
    with pytest.raises(ConfigError, match="ZZZZ"):
        BuyAndHold({"ZZZZ": 1.0}).decide(panel, panel.dates[[500]])


def test_inverse_vol_matches_definition(panel: Panel) -> None:
    row = 400
    w = InverseVol(window=40).decide(panel, panel.dates[[row]])[0]
    block = panel.frame("close").iloc[row - 40 : row + 1]
    rets = block.pct_change().iloc[1:].dropna(axis=1)
    inv = 1 / rets.std()
    expected = (inv / inv.sum()).reindex(panel.assets).fillna(0.0).to_numpy()
    np.testing.assert_allclose(w, expected, rtol=1e-10)


def test_min_variance_beats_equal_weight_in_window(panel: Panel, monthly: pd.DatetimeIndex) -> None:
    window = 120
    strat = MinVariance(window=window)
    dates = monthly[(monthly >= panel.dates[300])][:6]
    w = strat.decide(panel, dates)
    assert strat.fallbacks_ == []
    close = panel["close"]
    for j, d in enumerate(dates):
        row = panel.dates.get_loc(d)
        block = close[row - window : row + 1]
        ok = np.isfinite(block).all(axis=0)
        rets = block[1:, ok] / block[:-1, ok] - 1
        var_mv = np.var(rets @ w[j, ok], ddof=1)
        var_ew = np.var(rets.mean(axis=1), ddof=1)
        assert var_mv < 0.9 * var_ew
        assert (w[j, ~ok] == 0).all()
        assert (w[j] > 0).sum() < ok.sum()  # a real optimiser concentrates


def test_mean_variance_risk_aversion_and_target(panel: Panel) -> None:
    dates = panel.dates[[400, 600]]
    greedy = MeanVariance(window=120, risk_aversion=0.1).decide(panel, dates)
    shy = MeanVariance(window=120, risk_aversion=1000.0).decide(panel, dates)
    minvar = MinVariance(window=120).decide(panel, dates)
    # low aversion chases the mean (concentrated); high aversion tends to min-variance
    assert (greedy > 1e-6).sum(axis=1).max() <= 3
    np.testing.assert_allclose(shy, minvar, atol=0.05)
    target = MeanVariance(window=120, target_return=0.30)
    wt = target.decide(panel, dates)
    np.testing.assert_allclose(wt.sum(axis=1), 1.0, atol=1e-9)
    assert target.fallbacks_ == []
    assert not np.allclose(wt, minvar, atol=1e-3)


def test_risk_parity_equalises_risk_contributions(panel: Panel) -> None:
    window, row = 120, 700
    w = make_strategy("risk_parity", {"window": window}).decide(panel, panel.dates[[row]])[0]
    block = panel["close"][row - window : row + 1]
    ok = np.isfinite(block).all(axis=0)
    rets = block[1:, ok] / block[:-1, ok] - 1
    cov = np.cov(rets, rowvar=False)
    wk = w[ok]
    contrib = wk * (cov @ wk)
    np.testing.assert_allclose(contrib / contrib.sum(), 1 / ok.sum(), rtol=1e-3)
    assert (w[~ok] == 0).all()
    hrp = make_strategy("hrp", {"window": window}).decide(panel, panel.dates[[row]])[0]
    assert (hrp[ok] > 0).all() and not np.allclose(hrp, w, atol=1e-3)


def test_momentum_picks_top_k(panel: Panel) -> None:
    row, lookback, skip = 500, 60, 5
    w = MomentumTopK(k=4, lookback=lookback, skip=skip).decide(panel, panel.dates[[row]])[0]
    close = panel.frame("close")
    score = (close.iloc[row - skip] / close.iloc[row - lookback] - 1).dropna()
    top = set(score.nlargest(4).index)
    assert set(panel.assets[w > 0]) == top
    np.testing.assert_allclose(w[w > 0], 0.25)
    early = MomentumTopK(k=4, lookback=lookback).decide(panel, panel.dates[[10]])
    assert np.isnan(early).all()


def test_requirements_follow_params(panel: Panel) -> None:
    assert MinVariance(window=250).requires.min_history == 251
    assert MomentumTopK(lookback=120).requires.min_history == 121
    assert EqualWeight().requires.fields == ("close",)
    with pytest.raises(DataError, match="at least 2001 bars"):
        MinVariance(window=2000).check(panel)


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("inverse_vol", {"window": 1}, "window"),
        ("min_variance", {"window": "250"}, "window"),
        ("mean_variance", {"risk_aversion": -1.0}, "risk_aversion"),
        ("mean_variance", {"target_return": float("nan")}, "target_return"),
        ("momentum_topk", {"k": 0}, "k must"),
        ("momentum_topk", {"lookback": 20, "skip": 20}, "skip"),
        ("fixed", {}, "weights"),
        ("fixed", {"weights": {"AAPL": "a lot"}}, "AAPL"),
        ("buy_and_hold", {"weights": {}}, "weights"),
        ("equal_weight", {"window": 5}, "no parameter"),
    ],
)
def test_bad_params(kind: str, params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_strategy(kind, params)


def test_clone_and_params_roundtrip() -> None:
    s = MeanVariance(window=60, risk_aversion=2.0)
    assert s.clone().get_params() == {"window": 60, "risk_aversion": 2.0, "target_return": None}
    assert repr(MomentumTopK(k=3)) == "MomentumTopK(k=3, lookback=120, skip=0)"


@pytest.mark.parametrize("kind", KINDS)
def test_no_leakage(kind: str, panel: Panel, monthly: pd.DatetimeIndex) -> None:
    """Perturb every field after random cutoffs: decisions up to each cutoff are bit-identical.

    One cutoff is a random decision date itself (a one-bar look-ahead shows
    only there), the other a random bar; each is perturbed in every way.
    """
    sub = panel.iloc_dates(slice(0, 600))
    dates = monthly[(monthly >= sub.dates[80]) & (monthly <= sub.dates[-30])]
    slow = kind in OPTIMISERS
    if slow:
        dates = dates[::2]  # each skfolio fit costs ~10 ms; every other month suffices
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    cutoffs = [dates[rng.integers(1, len(dates))], sub.dates[rng.integers(100, 570)]]
    assert_strategy_no_leakage(
        make_strategy(kind, small(kind)),
        sub,
        dates,
        fit_until=dates[0],
        cutoffs=cutoffs,
        perturb=("scale", "nan") if slow else PERTURBATIONS,
    )


def test_leakage_check_catches_one_bar_lookahead(
    panel: Panel, monthly: pd.DatetimeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: a window that reads one bar ahead is caught."""
    import alphalab.portfolio.baselines as baselines

    honest = baselines._window_returns

    def peeking(close: np.ndarray, row: int, window: int) -> tuple[np.ndarray, np.ndarray]:
        return honest(close, min(row + 1, close.shape[0] - 1), window)

    monkeypatch.setattr(baselines, "_window_returns", peeking)
    sub = panel.iloc_dates(slice(0, 400))
    dates = monthly[(monthly >= sub.dates[80]) & (monthly <= sub.dates[-30])]
    with pytest.raises(LeakageError):
        assert_strategy_no_leakage(
            InverseVol(window=40), sub, dates, fit_until=dates[0], cutoffs=[dates[3]]
        )


# ------------------------------------------------------------ hostile input
def _tiny(closes: dict[str, list[float]]) -> Panel:
    n = len(next(iter(closes.values())))
    dates = pd.bdate_range("2021-01-04", periods=n)
    long = pd.DataFrame(
        [(d, t, c) for t, cs in closes.items() for d, c in zip(dates, cs, strict=True)],
        columns=["date", "ticker", "close"],
    )
    return Panel.from_long(long, ["close"])


def test_inverse_vol_with_huge_volatilities_stays_proportional() -> None:
    # Both 1/std fall below the solver-noise clip: clipping before normalising
    # used to zero them all and fall back to equal weight.
    p = _tiny({"A": [1.0, 1e7, 1.0], "B": [1.0, 3e7, 1.0]})
    w = InverseVol(window=2).decide(p, p.dates[-1:])[0]
    np.testing.assert_allclose(w, [0.75, 0.25], rtol=1e-6)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ({"AAPL": True}, "bool"),
        ({1: 0.5, "1": 0.5}, "both read as ticker '1'"),
        ({"AAPL": 0.0, "XOM": 0}, "all zero"),
        ({"AAPL": "0.5"}, "must be a number"),
    ],
    ids=["bool", "colliding-keys", "all-zero", "text"],
)
def test_bad_fixed_weights(weights: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Fixed(weights)
    with pytest.raises(ConfigError, match=match):
        BuyAndHold(weights)


def test_mean_variance_bad_numbers() -> None:
    with pytest.raises(ConfigError, match="target_return"):
        MeanVariance(target_return=-1.0)  # -100% a year has no per-bar equivalent
    with pytest.raises(ConfigError, match="risk_aversion"):
        MeanVariance(risk_aversion=True)


@pytest.mark.parametrize("kind", KINDS)
def test_decide_refuses_non_panels_and_missing_close(kind: str, panel: Panel) -> None:
    strat = make_strategy(kind, small(kind))
    with pytest.raises(DataError, match="Panel"):
        strat.decide(panel.frame("close"), panel.dates[-1:])
    volume = panel.frame("volume").rename_axis(index="date", columns="ticker")
    no_close = Panel.from_long(volume.stack().rename("volume").reset_index(), ["volume"])
    with pytest.raises(DataError, match=f"{kind}.*'close'"):
        strat.decide(no_close, no_close.dates[-1:])


def test_buy_and_hold_buys_at_the_earliest_decision_date(panel: Panel) -> None:
    d1, d3 = panel.dates[10], panel.dates[30]
    w = BuyAndHold().decide(panel, pd.DatetimeIndex([d3, d1]))
    assert np.isnan(w[0]).all() and np.isfinite(w[1]).all()
