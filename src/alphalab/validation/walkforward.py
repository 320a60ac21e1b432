"""Walk-forward retraining: fit on each training window, decide on the next test block,
stitch every block's out-of-sample decisions into one backtest.

The panel a fold sees is cut at its own boundaries: ``fit`` gets only the training
rows, ``decide`` gets rows up to the end of the test block (and may use each row only
for decisions on or after its date, which the leakage guard checks). A sealed holdout
is cut off before any of this runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphalab.backtest.schedule import RebalanceRule, rebalance_mask
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.portfolio.base import Strategy
from alphalab.validation.executors import Executor, SerialExecutor, derive_seed, seed_everything
from alphalab.validation.splits import Fold, WalkForward, parse_duration
from alphalab.validation.tuning import TuneSpec, optimise

__all__ = ["EngineSettings", "FoldOutput", "WalkForwardResult", "run_walk_forward", "stitch"]


@dataclass(frozen=True)
class EngineSettings:
    """Everything the backtest engine needs besides weights and data.

    ``costs`` may be a :class:`alphalab.backtest.costs.Costs` or a dict of its fields.
    """

    market: Any = "us"
    rebalance: RebalanceRule = "monthly"
    execution: str = "next_open"
    costs: Any = None
    initial_cash: float = 1_000_000.0
    rules: str = "market"

    def __post_init__(self) -> None:
        if isinstance(self.costs, dict):
            from alphalab.backtest.costs import Costs

            object.__setattr__(self, "costs", Costs(**self.costs))

    def run(self, weights: np.ndarray, panel: Panel) -> Any:
        from alphalab.backtest import backtest

        return backtest(
            weights,
            panel,
            self.market,
            rebalance=self.rebalance,
            execution=self.execution,
            costs=self.costs,
            initial_cash=self.initial_cash,
            rules=self.rules,
        )


@dataclass(frozen=True)
class FoldOutput:
    """Decisions and tuning record of one fold.

    Attributes
    ----------
    rows : numpy.ndarray of int, shape ``(n_decisions,)``
        Panel rows the decisions belong to (all inside the fold's test block).
    weights : numpy.ndarray, shape ``(n_decisions, n_assets)``
    params : dict
        Parameters used (tuned or given).
    trials : list of dict
        Every tuning trial: params, score.
    info : dict
        Fold dates and sizes.
    """

    rows: np.ndarray
    weights: np.ndarray
    params: dict[str, Any]
    trials: list[dict[str, Any]]
    info: dict[str, Any]


@dataclass(frozen=True)
class WalkForwardResult:
    """Stitched out-of-sample decisions and their single backtest.

    Attributes
    ----------
    weights : numpy.ndarray, shape ``(n_dates, n_assets)``
        Target weights over the panel it ran on; NaN outside decision rows.
    oos_start, oos_end : int
        First and last out-of-sample row (inclusive).
    backtest : BacktestResult
        One engine run over the out-of-sample span.
    folds : list of dict
        Per fold: dates, sizes, parameters chosen.
    trials : list of dict
        Every tuning trial of every fold.
    """

    weights: np.ndarray
    oos_start: int
    oos_end: int
    backtest: Any
    folds: list[dict[str, Any]]
    trials: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_trials(self) -> int:
        return len(self.trials)


@dataclass(frozen=True)
class _Shared:
    panel: Panel
    strategy: Strategy
    engine: EngineSettings
    tune: TuneSpec | None
    seed: int
    mask: np.ndarray


def _inner_score(
    shared: _Shared, train: Panel, inner_start: int, params: dict[str, Any]
) -> float:
    """Fit on ``train`` rows before ``inner_start`` (purged), score on the rest."""
    spec = shared.tune
    assert spec is not None
    fit_end = inner_start - spec.purge
    if fit_end <= 0:
        return math.nan
    strat = shared.strategy.clone().set_params(**params)
    strat.fit(train.iloc_dates(slice(0, fit_end)), until=train.dates[fit_end - 1])
    block = train.iloc_dates(slice(inner_start, train.n_dates))
    mask = rebalance_mask(block.dates, shared.engine.rebalance)
    weights = np.full(block.shape, np.nan)
    if mask.any():
        weights[mask] = strat.decide(train, block.dates[mask])
    result = shared.engine.run(weights, block)
    value = result.metrics().get(spec.metric, math.nan)
    return float(value) if value is not None else math.nan


def _fold_task(shared: _Shared, fold: Fold) -> FoldOutput:
    seed_everything(derive_seed(shared.seed, "fold", fold.index))
    panel = shared.panel
    train = panel.iloc_dates(slice(int(fold.train[0]), int(fold.train[-1]) + 1))
    params: dict[str, Any] = {}
    trials: list[dict[str, Any]] = []
    if shared.tune is not None:
        inner = parse_duration(shared.tune.inner, what="tune.inner")
        if inner.is_bars:
            inner_start = max(1, train.n_dates - inner.count)
        else:
            inner_start = int(train.dates.searchsorted(train.dates[-1] - inner.offset(), "right"))
        params, trials = optimise(
            shared.tune,
            lambda p: _inner_score(shared, train, inner_start, p),
            seed=derive_seed(shared.seed, "tune", fold.index),
        )
        for t in trials:
            t["fold"] = fold.index
    strat = shared.strategy.clone().set_params(**params)
    strat.fit(train, until=train.dates[-1])
    rows = fold.test[shared.mask[fold.test]]
    view = panel.iloc_dates(slice(0, int(fold.test[-1]) + 1))
    if rows.size:
        decided = np.asarray(strat.decide(view, panel.dates[rows]), dtype=np.float64)
    else:
        decided = np.empty((0, panel.n_assets))
    info = fold.describe(panel.dates) | {"params": params or strat.get_params()}
    return FoldOutput(rows, decided, params, trials, info)


def stitch(outputs: list[FoldOutput], shape: tuple[int, int]) -> np.ndarray:
    """Place every fold's decisions on its rows of a NaN ``(n_dates, n_assets)`` array."""
    weights = np.full(shape, np.nan)
    for out in outputs:
        if out.rows.size:
            weights[out.rows] = out.weights
    return weights


def run_walk_forward(
    strategy: Strategy,
    panel: Panel,
    splitter: WalkForward,
    engine: EngineSettings,
    *,
    tune: TuneSpec | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    end: Any = None,
) -> WalkForwardResult:
    """Retrain per fold, stitch out-of-sample decisions, run one backtest over them.

    Parameters
    ----------
    strategy : Strategy
        Template; each fold works on a fresh clone.
    panel : Panel
        Data of shape ``(n_dates, n_assets)``.
    splitter : WalkForward
    engine : EngineSettings
    tune : TuneSpec, optional
        Tune on the inner block of each training window.
    seed : int
        Study seed; fold and trial seeds derive from it.
    executor : Executor, optional
        Serial by default; process and Ray executors give identical results.
    end : date-like, optional
        Exclusive end (e.g. the holdout start): rows from it on are cut off first.
    """
    strategy.check(panel)
    if end is not None:
        panel = panel.iloc_dates(slice(0, int(panel.dates.searchsorted(pd.Timestamp(end), "left"))))
    if panel.n_dates == 0:
        raise ConfigError("walk-forward: no data before the holdout start")
    folds = splitter.split(panel.dates)
    shared = _Shared(panel, strategy, engine, tune, int(seed), rebalance_mask(panel.dates, engine.rebalance))
    if tune is None and not strategy.requires.learns:
        # Nothing to retrain: one pass over every out-of-sample date gives the same
        # decisions for stateless rules and keeps stateful ones (buy-and-hold)
        # from restarting at each fold.
        outputs = [_single_pass(shared, folds)]
    else:
        outputs = (executor or SerialExecutor()).map(_fold_task, shared, folds)
    weights = stitch(outputs, panel.shape)
    oos_start, oos_end = int(folds[0].test[0]), int(folds[-1].test[-1])
    span = slice(oos_start, oos_end + 1)
    result = engine.run(weights[span], panel.iloc_dates(span))
    trials = [t for out in outputs for t in out.trials]
    infos = outputs[0].info["folds"] if "folds" in outputs[0].info else [o.info for o in outputs]
    return WalkForwardResult(weights, oos_start, oos_end, result, infos, trials)


def _single_pass(shared: _Shared, folds: list[Fold]) -> FoldOutput:
    """Decisions of a strategy that learns nothing, over all test blocks at once."""
    panel = shared.panel
    seed_everything(derive_seed(shared.seed, "fold", 0))
    strat = shared.strategy.clone()
    first_train_end = int(folds[0].train[-1]) if folds[0].train.size else 0
    strat.fit(panel.iloc_dates(slice(0, first_train_end + 1)), until=panel.dates[first_train_end])
    tested = np.concatenate([f.test for f in folds])
    rows = tested[shared.mask[tested]]
    if rows.size:
        decided = np.asarray(strat.decide(panel, panel.dates[rows]), dtype=np.float64)
    else:
        decided = np.empty((0, panel.n_assets))
    params = strat.get_params()
    infos = [f.describe(panel.dates) | {"params": params} for f in folds]
    return FoldOutput(rows, decided, {}, [], {"folds": infos})
