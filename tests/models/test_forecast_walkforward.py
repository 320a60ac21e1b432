"""ForecastStrategy through the unchanged walk-forward runner: nested tuning, executors agree."""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.models import ForecastStrategy, LightGBMForecaster, TopK
from alphalab.validation.splits import WalkForward
from alphalab.validation.tuning import TuneSpec
from alphalab.validation.walkforward import EngineSettings, run_walk_forward


def _strategy() -> ForecastStrategy:
    fc = LightGBMForecaster(horizon=5, features=["ROC5", "STD20", "KMID"], n_estimators=10, num_leaves=4,
                            min_child_samples=30, random_state=0)
    return ForecastStrategy(fc, TopK(k=5))


ENGINE = EngineSettings(market="cn", rebalance="weekly", rules="proportional")


def test_nested_tuning_runs_through_walk_forward(cn_panel: Panel) -> None:
    tune = TuneSpec(grid={"forecaster__num_leaves": [4], "allocator__k": [3, 6]}, inner="6m", purge=5)
    res = run_walk_forward(_strategy(), cn_panel, WalkForward("1y", "1y", "expanding", 5, 0), ENGINE, tune=tune, seed=3)
    assert res.n_trials == 2 * len(res.folds)
    chosen = res.folds[0]["params"]
    assert set(chosen) == {"forecaster__num_leaves", "allocator__k"}
    held = np.nan_to_num(res.weights[res.oos_start : res.oos_end + 1])
    assert ((held > 0).sum(axis=1) <= max(3, 6)).all() and held.sum() > 0


@pytest.mark.slow
def test_serial_and_process_executors_agree(cn_panel: Panel) -> None:
    from alphalab.validation.executors import ProcessExecutor, SerialExecutor

    split = WalkForward("6m", "6m", "expanding", 5, 0)
    a = run_walk_forward(_strategy(), cn_panel, split, ENGINE, seed=1, executor=SerialExecutor())
    b = run_walk_forward(_strategy(), cn_panel, split, ENGINE, seed=1, executor=ProcessExecutor(n_jobs=2))
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.backtest.equity.equals(b.backtest.equity)
