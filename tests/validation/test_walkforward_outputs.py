"""What the walk-forward runner hands a strategy (a seed per fold and trial) and what it
brings back (diagnostics_ per fold, forecasts_ stitched over the test blocks), identical
under the serial and the process executor."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import Requirements, Strategy
from alphalab.validation.executors import ProcessExecutor, SerialExecutor, derive_seed
from alphalab.validation.splits import SingleSplit, WalkForward
from alphalab.validation.tuning import TuneSpec
from alphalab.validation.walkforward import run_walk_forward
from tests.validation import test_walkforward as _wf

ENGINE = _wf.ENGINE
vn_panel = _wf.vn_panel  # the module-scoped real HOSE panel fixture


class NoisyLearner(Strategy):
    """Random long-only weights from its own generator: numbers depend on the seed only.

    ``fit`` records a fake loss curve and the seed it got in ``diagnostics_``; ``decide``
    leaves one forecast row per date and asset in ``forecasts_``.
    """

    requires: ClassVar[Requirements] = Requirements(fields=("close",), min_history=5, learns=True)

    def __init__(self, scale: float = 1.0, random_state: int | None = None) -> None:
        self.scale = scale
        self.random_state = random_state

    def fit(self, panel: Panel, until: Any = None) -> NoisyLearner:
        rng = np.random.default_rng(self.random_state)
        self.bias_ = rng.normal(size=panel.n_assets)
        curve = np.sort(rng.random(5))[::-1]
        self.diagnostics_ = {
            "training_curve": curve.tolist(),
            "val_curve": (curve + 0.1).tolist(),
            "seed": self.random_state,
            "converged": True,
        }
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        raw = np.exp(self.scale * (self.bias_ + rng.normal(size=(len(dates), panel.n_assets))))
        weights = raw / raw.sum(axis=1, keepdims=True)
        self.forecasts_ = pd.DataFrame(
            {
                "date": np.repeat(dates.to_numpy(), panel.n_assets),
                "ticker": np.tile(panel.assets.to_numpy(), len(dates)),
                "mean": weights.ravel(),
                "variance": (weights**2).ravel(),
            }
        )
        return weights


def test_seeded_random_strategy_identical_serial_and_process(vn_panel: Panel) -> None:
    wf = WalkForward(train="2y", test="1y")
    tune = TuneSpec(grid={"scale": [0.5, 2.0]}, inner="6m")
    runs = [
        run_walk_forward(
            NoisyLearner(), vn_panel, wf, ENGINE, tune=tune, seed=11, executor=ex, name="noisy"
        )
        for ex in (SerialExecutor(), ProcessExecutor(2))
    ]
    a, b = runs
    assert np.array_equal(a.weights, b.weights, equal_nan=True)
    assert a.backtest.equity.equals(b.backtest.equity)
    assert a.trials == b.trials
    assert a.diagnostics == b.diagnostics
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
    # Each fold's final fit got its own seed, derived from (seed, name, fold, "final").
    folds = wf.split(vn_panel.dates)
    assert [d["seed"] for d in a.diagnostics] == [
        derive_seed(11, "noisy", f.index, "final") for f in folds
    ]
    # Another study seed gives other numbers.
    c = run_walk_forward(NoisyLearner(), vn_panel, wf, ENGINE, tune=tune, seed=12, name="noisy")
    assert not np.array_equal(a.weights, c.weights, equal_nan=True)


def test_explicit_random_state_is_kept(vn_panel: Panel) -> None:
    wf = WalkForward(train="3y", test="1y")
    res = run_walk_forward(NoisyLearner(random_state=5), vn_panel, wf, ENGINE, seed=1)
    assert {d["seed"] for d in res.diagnostics} == {5}


def test_diagnostics_and_forecasts_come_back_per_fold(vn_panel: Panel) -> None:
    wf = WalkForward(train="2y", test="6m")
    res = run_walk_forward(NoisyLearner(), vn_panel, wf, ENGINE, seed=2)
    folds = wf.split(vn_panel.dates)
    assert [d["fold"] for d in res.diagnostics] == [f.index for f in folds]
    for d, f in zip(res.diagnostics, folds, strict=True):
        assert d["train_start"] == str(vn_panel.dates[f.train[0]].date())
        assert d["train_end"] == str(vn_panel.dates[f.train[-1]].date())
        assert len(d["training_curve"]) == 5 and d["converged"] is True
    fc = res.forecasts
    assert list(fc.columns[:2]) == ["date", "ticker"]
    assert fc["date"].is_monotonic_increasing
    # Stitched like the weights: exactly the decision rows, none outside the test blocks.
    decided = vn_panel.dates[np.isfinite(res.weights).any(axis=1)]
    assert pd.DatetimeIndex(fc["date"].unique()).equals(decided)
    assert fc["date"].iloc[0] >= vn_panel.dates[folds[0].test[0]]
    wide = fc.pivot(index="date", columns="ticker", values="mean")[list(vn_panel.assets)]
    rows = vn_panel.dates.get_indexer(wide.index)
    np.testing.assert_array_equal(wide.to_numpy(), res.weights[rows])


def test_single_split_trains_before_start_and_tests_the_rest(vn_panel: Panel) -> None:
    start = pd.Timestamp("2015-03-02")
    res = run_walk_forward(NoisyLearner(), vn_panel, SingleSplit(), ENGINE, seed=3, start=start)
    first = int(vn_panel.dates.searchsorted(start))
    assert res.backtest.dates[0] == vn_panel.dates[first]
    assert res.backtest.dates[-1] == vn_panel.dates[-1]
    (diag,) = res.diagnostics
    assert diag["train_end"] == str(vn_panel.dates[first - 1].date())
    # The schedule runs on the tested span's own dates: its first bar is a decision.
    assert np.isfinite(res.weights[first]).all()
    assert not np.isfinite(res.weights[:first]).any()


class _BadDiagnostics(NoisyLearner):
    def fit(self, panel: Panel, until: Any = None) -> _BadDiagnostics:
        super().fit(panel, until)
        self.diagnostics_ = ["not", "a", "dict"]  # type: ignore[assignment]
        return self


class _BadForecasts(NoisyLearner):
    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = super().decide(panel, dates)
        self.forecasts_ = self.forecasts_.drop(columns="ticker")
        return out


class _BadShape(NoisyLearner):
    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        return super().decide(panel, dates)[:, :3]


@pytest.mark.parametrize(
    ("cls", "error", "match"),
    [(_BadDiagnostics, ConfigError, "diagnostics_ must be a dict"),
     (_BadForecasts, DataError, r"forecasts_ lacks column\(s\) \['ticker'\]"),
     (_BadShape, ConfigError, "decide returned shape")],
)  # fmt: skip
def test_bad_strategy_outputs_raise_clear_errors(vn_panel: Panel, cls, error, match) -> None:
    with pytest.raises(error, match=match):
        run_walk_forward(cls(), vn_panel, WalkForward(train="3y", test="1y"), ENGINE)


def test_learner_without_training_rows_is_refused(vn_panel: Panel) -> None:
    with pytest.raises(ConfigError, match="no training rows"):
        run_walk_forward(NoisyLearner(), vn_panel, SingleSplit(), ENGINE, start=vn_panel.dates[0])
