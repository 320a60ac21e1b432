"""Baseline invariants on random small panels with gaps (hypothesis, small and fast).

Every decided row is finite, long-only and fully invested (sums to 1), or a
NaN row (no decision); and a decision at row t never changes when rows after
t change (no look-ahead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab.data.panel import Panel
from alphalab.portfolio import make_strategy

PARAMS = {
    "equal_weight": {},
    "buy_and_hold": {},
    "inverse_vol": {"window": 3},
    "momentum_topk": {"k": 2, "lookback": 3, "skip": 1},
    "min_variance": {"window": 4},
    "risk_parity": {"window": 4},
    "hrp": {"window": 4},
}
RULES = ("equal_weight", "buy_and_hold", "inverse_vol", "momentum_topk")
OPTIMISERS = ("min_variance", "risk_parity", "hrp")


@st.composite
def panels(draw: st.DrawFn) -> tuple[Panel, int]:
    n_dates = draw(st.integers(6, 14))
    n_assets = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(
        np.cumsum(
            rng.normal(0, draw(st.sampled_from([1e-4, 0.02, 0.5])), (n_dates, n_assets)), axis=0
        )
    )
    holes = rng.random((n_dates, n_assets)) < draw(st.sampled_from([0.0, 0.1, 0.4]))
    close[holes] = np.nan
    if draw(st.booleans()):
        close[:, 0] = close[0, 0]  # a constant price: zero volatility
    dates = pd.bdate_range("2021-01-04", periods=n_dates)
    tickers = [f"T{j}" for j in range(n_assets)]
    long = pd.DataFrame(
        {
            "date": np.repeat(dates, n_assets),
            "ticker": np.tile(tickers, n_dates),
            "close": close.reshape(-1),
        }
    ).dropna()
    if long.empty:
        long = pd.DataFrame({"date": dates[:1], "ticker": tickers[:1], "close": [1.0]})
    panel = Panel.from_long(long, ["close"])
    cut = draw(st.integers(0, panel.n_dates - 1))
    return panel, cut


def _check_rows(w: np.ndarray) -> None:
    for row in w:
        if np.isnan(row).all():
            continue
        assert np.isfinite(row).all(), row
        assert (row >= 0).all(), row
        np.testing.assert_allclose(row.sum(), 1.0, atol=1e-9)


def _future_changed(panel: Panel, cut: int, seed: int) -> Panel:
    """The same panel with every row after ``cut`` rescaled and punched with holes."""
    rng = np.random.default_rng(seed)
    close = panel["close"].copy()
    future = close[cut + 1 :]
    future *= rng.uniform(0.2, 5.0, future.shape)
    future[rng.random(future.shape) < 0.3] = np.nan
    return panel.with_fields(close=close)


@settings(max_examples=40, deadline=None)
@given(panels(), st.sampled_from(RULES), st.integers(0, 2**16))
def test_rule_baselines_budget_and_no_lookahead(
    data: tuple[Panel, int], kind: str, seed: int
) -> None:
    panel, cut = data
    strat = make_strategy(kind, PARAMS[kind])
    w = strat.decide(panel, panel.dates)
    assert w.shape == (panel.n_dates, panel.n_assets)
    _check_rows(w)
    later = _future_changed(panel, cut, seed)
    w2 = make_strategy(kind, PARAMS[kind]).decide(later, later.dates[: cut + 1])
    np.testing.assert_array_equal(w2, w[: cut + 1])


@settings(max_examples=12, deadline=None)
@given(panels(), st.sampled_from(OPTIMISERS))
def test_optimisers_budget(data: tuple[Panel, int], kind: str) -> None:
    panel, _ = data
    w = make_strategy(kind, PARAMS[kind]).decide(panel, panel.dates[-3:])
    _check_rows(w)
