"""Combinatorial purged cross-validation of a strategy: a distribution of out-of-sample
Sharpe ratios instead of the single walk-forward path.

Each split fits on the groups it does not test (purged before and embargoed after every
test group, so no training label overlaps a test bar) and backtests each test group on
its own. Training may come after testing here, which is what makes CPCV a robustness
check on the development span and not a substitute for the walk-forward verdict.

Learners never see a glued series: ``fit`` gets the panel on its real calendar up to the
last training row, with every row outside the training segments (test groups, purge and
embargo) set to NaN, and the segments themselves in ``panel.meta["train_segments"]``
(a list of ``(first_date, last_date)``) plus ``panel.meta["train_mask"]`` (bool per row).
A return computed inside ``fit`` across a seam is therefore NaN instead of a return that
spans the purged test block.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphalab.backtest.schedule import rebalance_mask
from alphalab.data.panel import Panel
from alphalab.metrics import compute_metrics
from alphalab.portfolio.base import Strategy
from alphalab.validation.executors import Executor, SerialExecutor, derive_seed, seed_everything
from alphalab.validation.splits import CombinatorialPurgedCV, Fold
from alphalab.validation.walkforward import EngineSettings, inject_random_state

__all__ = ["CPCVSpec", "run_cpcv", "training_view"]


class CPCVSpec(BaseModel):
    """Config block ``validation.cpcv``."""

    model_config = ConfigDict(extra="forbid")

    n_groups: int = Field(6, ge=2, le=20)
    n_test_groups: int = Field(2, ge=1)
    purge: int = Field(0, ge=0)
    embargo: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _fewer_test_groups(self) -> CPCVSpec:
        if self.n_test_groups >= self.n_groups:
            raise ValueError("n_test_groups must be below n_groups")
        return self

    def splitter(self) -> CombinatorialPurgedCV:
        return CombinatorialPurgedCV(self.n_groups, self.n_test_groups, self.purge, self.embargo)


def _blocks(rows: np.ndarray) -> list[np.ndarray]:
    """Split increasing row positions into runs of consecutive rows."""
    if rows.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(rows) != 1) + 1
    return np.split(rows, cuts)


def training_view(panel: Panel, train_rows: np.ndarray) -> Panel:
    """The panel a CPCV fit sees: real dates up to the last training row, NaN elsewhere.

    Parameters
    ----------
    panel : Panel
        Development data ``(n_dates, n_assets)``.
    train_rows : numpy.ndarray of int, shape ``(n_train,)``
        Increasing training row positions (possibly several segments).

    Returns
    -------
    Panel
        Rows ``0 .. train_rows[-1]``; every field is NaN on rows that are not training
        rows, so no difference or return can bridge a test block. ``meta`` carries
        ``train_segments`` (first and last date of each segment) and ``train_mask``.
    """
    last = int(train_rows[-1]) + 1
    mask = np.zeros(last, dtype=bool)
    mask[train_rows] = True
    fields = {}
    for name, arr in panel.fields.items():
        a = np.array(arr[:last], dtype=np.float64, copy=True)
        a[~mask] = np.nan
        fields[name] = a
    segments = [
        (panel.dates[int(b[0])], panel.dates[int(b[-1])]) for b in _blocks(np.asarray(train_rows))
    ]
    return Panel(
        fields,
        panel.dates[:last],
        panel.assets,
        {**panel.meta, "train_segments": segments, "train_mask": mask},
    )


def _split_task(shared: tuple[Panel, Strategy, EngineSettings, int, np.ndarray], fold: Fold) -> dict[str, Any]:
    panel, strategy, engine, seed, mask = shared
    seed_everything(derive_seed(seed, "cpcv", fold.index))
    strat = inject_random_state(strategy.clone(), seed, "cpcv", fold.index)
    # Segments on their own calendar, never glued (see the module docstring).
    train = training_view(panel, fold.train)
    strat.fit(train, until=train.dates[-1])
    parts = []
    for block in _blocks(fold.test):
        view = panel.iloc_dates(slice(0, int(block[-1]) + 1))
        rows = block[mask[block]]
        weights = np.full((block.size, panel.n_assets), np.nan)
        if rows.size:
            weights[rows - block[0]] = strat.decide(view, panel.dates[rows])
        result = engine.run(weights, panel.iloc_dates(slice(int(block[0]), int(block[-1]) + 1)))
        parts.append(result.returns.to_numpy())
    r = np.concatenate(parts) if parts else np.empty(0)
    sharpe = float("nan")
    if r.size > 2:
        import pandas as pd

        sharpe = float(
            compute_metrics(pd.Series(r), periods_per_year=_ppy(panel))["sharpe"]
        )
    return {
        "split": fold.index,
        "test_rows": int(fold.test.size),
        "train_rows": int(fold.train.size),
        "sharpe": sharpe,
    }


def _ppy(panel: Panel) -> float:
    from alphalab.metrics import periods_per_year

    return periods_per_year(panel.dates)


def run_cpcv(
    strategy: Strategy,
    panel: Panel,
    spec: CPCVSpec,
    engine: EngineSettings,
    *,
    seed: int = 0,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Out-of-sample Sharpe of every CPCV split over ``panel`` (the development span).

    Parameters
    ----------
    strategy : Strategy
        Template; each split fits a fresh clone.
    panel : Panel
        Data of shape ``(n_dates, n_assets)``; the sealed holdout must already be cut off.
    spec : CPCVSpec
    engine : EngineSettings
    seed : int
    executor : Executor, optional

    Returns
    -------
    dict
        ``splits`` (per split: rows and annualised Sharpe) and a summary: ``n_splits``,
        ``sharpe_mean``, ``sharpe_std``, ``sharpe_p05``, ``sharpe_p50``, ``sharpe_p95``,
        ``share_positive``.
    """
    folds = spec.splitter().split(panel.n_dates)
    shared = (panel, strategy, engine, int(seed), rebalance_mask(panel.dates, engine.rebalance))
    splits = (executor or SerialExecutor()).map(_split_task, shared, folds)
    s = np.array([x["sharpe"] for x in splits], dtype=np.float64)
    s = s[np.isfinite(s)]

    def q(p: float) -> float | None:
        return float(np.quantile(s, p)) if s.size else None

    return {
        "n_splits": len(splits),
        "sharpe_mean": float(math.fsum(s.tolist()) / s.size) if s.size else None,
        "sharpe_std": float(np.std(s, ddof=1)) if s.size > 1 else None,
        "sharpe_p05": q(0.05),
        "sharpe_p50": q(0.5),
        "sharpe_p95": q(0.95),
        "share_positive": float((s > 0).mean()) if s.size else None,
        "splits": splits,
    }
