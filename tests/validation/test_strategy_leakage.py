"""Leakage guard on the stitched walk-forward decisions of every portfolio baseline:
perturbing data after a date t leaves every decision at or before t bit-identical.

Kinds registered elsewhere (the models layer, recipes, test-local learners) are
checked by ``tests/testing/test_conformance.py``, which runs the guard over every
registry; keeping this list to the baselines makes its parametrisation independent
of which modules a test worker happened to import first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import alphalab.models
import alphalab.portfolio  # noqa: F401 - registers the baselines
from alphalab import Panel
from alphalab.backtest import rebalance_mask
from alphalab.portfolio.base import STRATEGIES, make_strategy
from alphalab.testing import assert_no_leakage
from alphalab.validation.splits import WalkForward
from alphalab.validation.tuning import TuneSpec
from alphalab.validation.walkforward import EngineSettings, run_walk_forward

TICKERS = ["AAPL", "MSFT", "XOM", "JPM", "JNJ", "PG", "KO", "INTC", "HD", "BA", "APTV", "DWDP"]

# Parameters small enough for a three-year panel; a new strategy kind that needs
# parameters must add an entry here, or this test fails on instantiation.
EXAMPLE_PARAMS: dict[str, dict[str, Any]] = {
    "fixed": {"weights": {"AAPL": 0.5, "XOM": 0.3, "JNJ": 0.2}},
    "inverse_vol": {"window": 40},
    "min_variance": {"window": 60},
    "mean_variance": {"window": 60, "risk_aversion": 5.0},
    "risk_parity": {"window": 60},
    "hrp": {"window": 60},
    "momentum_topk": {"k": 4, "lookback": 60, "skip": 5},
    "forecast": {"forecaster": {"kind": "momentum", "params": {"lookback": 60, "skip": 5}},
                 "allocator": {"kind": "topk", "params": {"k": 4}},
                 "overlays": [{"kind": "trailing_stop", "params": {"drawdown": 0.15}}]},
    "vol_scaled": {"strategy": {"kind": "inverse_vol", "params": {"window": 40}}, "target": 0.1},
    "max_diversification": {"window": 60},
    "deep_sharpe": {"architecture": "mlp", "window": 10, "hidden_size": 4, "max_epochs": 1,
                    "n_seeds": 1, "progress": False},
}
ENGINE = EngineSettings(market="us", rebalance="monthly", execution="next_open")
SPLITS = WalkForward(train=250, test=125)


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    df = us_sp500_long[us_sp500_long["ticker"].isin(TICKERS)]
    df = df[df["date"] < "2016-03-01"]
    return Panel.from_long(df, ["open", "high", "low", "close", "volume"])


def cutoffs(p: Panel) -> list[pd.Timestamp]:
    """A decision date (a one-bar peek only shows when the cutoff is the decision date
    itself) and an ordinary bar between decisions."""
    decisions = p.dates[rebalance_mask(p.dates, ENGINE.rebalance)]
    return [decisions[decisions > p.dates[400]][0], p.dates[517]]


KINDS_CHECKED = ("scale", "shuffle")


BASELINE_KINDS = sorted(
    k
    for k, cls in STRATEGIES.items()
    if cls.__module__.startswith("alphalab.portfolio.") or cls.__module__ == "alphalab.models.strategy"
)


def test_every_kind_has_example_params_or_needs_none() -> None:
    assert "equal_weight" in BASELINE_KINDS
    for kind in BASELINE_KINDS:
        make_strategy(kind, EXAMPLE_PARAMS.get(kind, {}))


@pytest.mark.parametrize("kind", BASELINE_KINDS)
def test_stitched_walk_forward_decisions_do_not_leak(kind: str, panel: Panel) -> None:
    strategy = make_strategy(kind, EXAMPLE_PARAMS.get(kind, {}))

    def stitched(p: Panel) -> np.ndarray:
        return run_walk_forward(strategy, p, SPLITS, ENGINE, seed=0).weights

    assert_no_leakage(stitched, panel, cutoffs=cutoffs(panel), perturb=KINDS_CHECKED, seed=7)


def test_tuned_walk_forward_decisions_do_not_leak(panel: Panel) -> None:
    strategy = make_strategy("momentum_topk", EXAMPLE_PARAMS["momentum_topk"])
    tune = TuneSpec(grid={"lookback": [20, 60]}, inner=60)

    def stitched(p: Panel) -> np.ndarray:
        return run_walk_forward(strategy, p, SPLITS, ENGINE, tune=tune, seed=0).weights

    assert_no_leakage(stitched, panel, cutoffs=cutoffs(panel), perturb=KINDS_CHECKED, seed=3)


def test_the_guard_catches_a_peeking_strategy(panel: Panel) -> None:
    from alphalab.errors import LeakageError
    from alphalab.portfolio.base import Strategy

    class Peeking(Strategy):
        """Goes long the assets that rise tomorrow: the bug the guard exists for."""

        def decide(self, p: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
            close = p["close"]
            rows = p.dates.get_indexer(dates)
            nxt = np.minimum(rows + 1, p.n_dates - 1)
            up = np.nan_to_num(close[nxt] - close[rows]) > 0
            return up / np.maximum(up.sum(axis=1, keepdims=True), 1)

    def stitched(p: Panel) -> np.ndarray:
        return run_walk_forward(Peeking(), p, SPLITS, ENGINE, seed=0).weights

    with pytest.raises(LeakageError):
        assert_no_leakage(stitched, panel, cutoffs=cutoffs(panel), perturb=KINDS_CHECKED, seed=1)
