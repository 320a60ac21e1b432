"""Walk-forward retraining on real data: fold isolation, tuning on inner splits only,
identical results across executors."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.portfolio.base import Requirements, Strategy
from alphalab.validation.executors import ProcessExecutor, SerialExecutor
from alphalab.validation.splits import WalkForward
from alphalab.validation.tuning import TuneSpec
from alphalab.validation.walkforward import EngineSettings, run_walk_forward
from tests.conftest import shared_file

FIT_LOG: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []


class ScaledMomentum(Strategy):
    """Long the top half by trailing return, z-scored with statistics fitted in training.

    ``fit`` learns a per-asset mean and std of daily returns (a "scaler") from the
    training rows only, and logs the span it saw.
    """

    requires: ClassVar[Requirements] = Requirements(fields=("close",), min_history=30, learns=True)

    def __init__(self, lookback: int = 20) -> None:
        self.lookback = lookback

    def fit(self, panel: Panel, until: Any = None) -> ScaledMomentum:
        FIT_LOG.append(("fit", panel.dates[0], panel.dates[-1]))
        close = panel["close"]
        rets = close[1:] / close[:-1] - 1
        with warnings.catch_warnings():  # assets not yet listed have no returns at all
            warnings.simplefilter("ignore", RuntimeWarning)
            self.mu_ = np.nanmean(rets, axis=0)
            self.sd_ = np.nanstd(rets, axis=0)
        self.fitted_until_ = panel.dates[-1]
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        close = panel["close"]
        rows = panel.dates.get_indexer(dates)
        out = np.zeros((len(rows), panel.n_assets))
        for j, r in enumerate(rows):
            FIT_LOG.append(("decide", dates[j], panel.dates[-1]))
            past = close[max(0, r - self.lookback) : r + 1]
            mom = (past[-1] / past[0] - 1 - self.mu_ * self.lookback) / np.where(self.sd_ > 0, self.sd_, 1)
            ok = np.isfinite(mom)
            if ok.sum() == 0:
                continue
            top = mom >= np.nanmedian(mom[ok])
            sel = ok & top
            out[j, sel] = 1.0 / sel.sum()
        return out


@pytest.fixture(scope="module")
def vn_panel() -> Panel:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"))
    df = df[(df["date"] >= "2012-01-01") & (df["date"] < "2017-01-01")]
    top = df.groupby("ticker")["volume"].median().nlargest(25).index
    df = df[df["ticker"].isin(top)]
    return Panel.from_long(df, ["open", "high", "low", "close", "volume"])


ENGINE = EngineSettings(market="vn.hose", rebalance="monthly", execution="next_open")


def test_no_fold_fit_sees_its_test_dates(vn_panel: Panel) -> None:
    FIT_LOG.clear()
    wf = WalkForward(train="2y", test="6m", purge=5)
    res = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, seed=1)
    folds = wf.split(vn_panel.dates)
    fits = [(a, b) for kind, a, b in FIT_LOG if kind == "fit"]
    assert len(fits) == len(folds)
    for (_, fit_end), fold in zip(fits, folds, strict=True):
        assert fit_end < vn_panel.dates[fold.test[0]]
    decides = [(d, seen) for kind, d, seen in FIT_LOG if kind == "decide"]
    assert decides
    for d, seen in decides:  # decide sees rows up to its own test block's end, never beyond
        fold = next(f for f in folds if vn_panel.dates[f.test[0]] <= d <= vn_panel.dates[f.test[-1]])
        assert seen == vn_panel.dates[fold.test[-1]]
    assert res.oos_start == folds[0].test[0]
    eq = res.backtest.equity
    assert eq.index[0] == vn_panel.dates[folds[0].test[0]]
    assert np.isfinite(eq.to_numpy()).all()


def test_tuning_uses_inner_split_only_and_records_trials(vn_panel: Panel) -> None:
    FIT_LOG.clear()
    wf = WalkForward(train="2y", test="1y", purge=5)
    tune = TuneSpec(grid={"lookback": [10, 40]}, inner="6m", purge=5)
    res = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, tune=tune, seed=3)
    folds = wf.split(vn_panel.dates)
    assert res.n_trials == 2 * len(folds)
    assert {t["fold"] for t in res.trials} == set(range(len(folds)))
    # every fit (inner or final) ends before its fold's test block starts
    fit_ends = [b for kind, _, b in FIT_LOG if kind == "fit"]
    assert len(fit_ends) == 3 * len(folds)
    for i, fold in enumerate(folds):
        for end in fit_ends[3 * i : 3 * i + 3]:
            assert end < vn_panel.dates[fold.test[0]]
    for info in res.folds:
        assert info["params"]["lookback"] in (10, 40)


def test_identical_across_reruns_and_executors(vn_panel: Panel) -> None:
    wf = WalkForward(train="2y", test="1y")
    tune = TuneSpec(grid={"lookback": [10, 40]}, inner="6m")
    a = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, tune=tune, seed=5, executor=SerialExecutor())
    b = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, tune=tune, seed=5, executor=ProcessExecutor(2))
    assert np.array_equal(a.weights, b.weights, equal_nan=True)
    assert a.backtest.equity.equals(b.backtest.equity)
    assert a.trials == b.trials


def test_holdout_rows_are_cut_off_before_anything_runs(vn_panel: Panel) -> None:
    FIT_LOG.clear()
    wf = WalkForward(train="2y", test="6m")
    res = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, end="2016-01-01")
    assert all(b < pd.Timestamp("2016-01-01") for _, _, b in FIT_LOG)
    assert res.backtest.equity.index[-1] < pd.Timestamp("2016-01-01")
