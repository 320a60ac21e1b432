"""Walk-forward retraining: fit on each training window, decide on the next test block,
stitch every block's out-of-sample decisions into one backtest.

The panel a fold sees is cut at its own boundaries: ``fit`` gets only the training
rows, ``decide`` gets rows up to the end of the test block (and may use each row only
for decisions on or after its date, which the leakage guard checks). A sealed holdout
is cut off before any of this runs.

Seeds: every fold and tuning trial reseeds the global generators from
``derive_seed(study seed, key)``, and a strategy whose ``get_params()`` has a
``random_state`` left at None gets ``derive_seed(study seed, name, fold,
trial)`` set on its fold's clone, so its numbers do not depend on the executor.

Optional strategy outputs travel back from the workers with the decisions:
``diagnostics_`` (a JSON-able dict set by ``fit``: solver fallbacks, convergence
failures, training curves) per fold, and ``forecasts_`` (a long DataFrame with
``date``, ``ticker`` and numeric columns, set by ``decide``) stitched over the
test blocks like the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphalab.backtest.schedule import RebalanceRule, rebalance_mask
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import Strategy
from alphalab.validation.executors import Executor, SerialExecutor, derive_seed, seed_everything
from alphalab.validation.splits import Fold, WalkForward, parse_duration
from alphalab.validation.tuning import TuneSpec, optimise

__all__ = [
    "EngineSettings",
    "FoldOutput",
    "WalkForwardResult",
    "collect_diagnostics",
    "collect_forecasts",
    "inject_random_state",
    "run_walk_forward",
    "stitch",
]


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
    diagnostics : list of dict
        The fitted strategy's ``diagnostics_`` with fold id and train span (one
        entry per fit; empty when the strategy sets none).
    forecasts : pandas.DataFrame or None
        The strategy's ``forecasts_`` on the fold's test block (long: ``date``,
        ``ticker``, numeric columns), None when it sets none.
    model : Strategy or None
        The fold's fitted strategy (the leakage guard replays its decisions
        instead of fitting the fold a second time).
    """

    rows: np.ndarray
    weights: np.ndarray
    params: dict[str, Any]
    trials: list[dict[str, Any]]
    info: dict[str, Any]
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    forecasts: pd.DataFrame | None = None
    model: Any = field(default=None, repr=False, compare=False)


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
    diagnostics : list of dict
        Per fit: ``fold``, ``train_start``, ``train_end`` and the strategy's
        ``diagnostics_`` entries.
    forecasts : pandas.DataFrame or None
        ``forecasts_`` of every fold on its test block, dates ascending.
    models : list
        The fitted strategy of each fold in fold order (one for a single pass);
        :func:`alphalab.validation.guard.plan_from_walk_forward` hands them to the
        leakage guard so it checks the very models that decided.
    """

    weights: np.ndarray
    oos_start: int
    oos_end: int
    backtest: Any
    folds: list[dict[str, Any]]
    trials: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    forecasts: pd.DataFrame | None = None
    models: list[Any] = field(default_factory=list, repr=False, compare=False)

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
    name: str = ""


def inject_random_state(strategy: Strategy, seed: int, *key: Any) -> Strategy:
    """Give ``strategy`` (a fold's own clone) ``random_state = derive_seed(seed, *key)``.

    Only where ``get_params()`` has a ``random_state`` left at None: a value the
    study gave explicitly is kept. Returns the strategy.
    """
    params = strategy.get_params()
    if "random_state" in params and params["random_state"] is None:
        strategy.set_params(random_state=derive_seed(seed, *key))
    return strategy


def collect_diagnostics(
    strategy: Strategy, fold: int, train_dates: pd.DatetimeIndex
) -> list[dict[str, Any]]:
    """The fitted strategy's ``diagnostics_`` with fold id and train span, or ``[]``.

    Raises
    ------
    ConfigError
        ``diagnostics_`` is set but is not a dict.
    """
    diag = getattr(strategy, "diagnostics_", None)
    if diag is None:
        return []
    if not isinstance(diag, dict):
        raise ConfigError(
            f"{type(strategy).__name__}.diagnostics_ must be a dict (JSON-able values), "
            f"got {type(diag).__name__}"
        )
    span = {
        "fold": int(fold),
        "train_start": None if len(train_dates) == 0 else str(train_dates[0].date()),
        "train_end": None if len(train_dates) == 0 else str(train_dates[-1].date()),
    }
    return [span | {str(k): v for k, v in diag.items() if str(k) not in span}]


def collect_forecasts(
    strategy: Strategy, first: pd.Timestamp, last: pd.Timestamp
) -> pd.DataFrame | None:
    """The strategy's ``forecasts_`` rows dated inside ``[first, last]``, or None.

    Raises
    ------
    DataError
        ``forecasts_`` is not a DataFrame with ``date`` and ``ticker`` columns.
    """
    fc = getattr(strategy, "forecasts_", None)
    if fc is None:
        return None
    name = type(strategy).__name__
    if not isinstance(fc, pd.DataFrame):
        raise DataError(f"{name}.forecasts_ must be a pandas DataFrame, got {type(fc).__name__}")
    missing = [c for c in ("date", "ticker") if c not in fc.columns]
    if missing:
        raise DataError(
            f"{name}.forecasts_ lacks column(s) {missing}; has {list(fc.columns)[:10]}"
        )
    dates = pd.to_datetime(fc["date"])
    out = fc.assign(date=dates, ticker=fc["ticker"].astype(str))
    return out[(dates >= first) & (dates <= last)].reset_index(drop=True)


def _check_decided(strategy: Strategy, decided: np.ndarray, n_rows: int, n_assets: int) -> None:
    if decided.shape != (n_rows, n_assets):
        raise ConfigError(
            f"{type(strategy).__name__}.decide returned shape {decided.shape}, "
            f"expected {(n_rows, n_assets)}"
        )


def _inner_score(
    shared: _Shared,
    train: Panel,
    inner_start: int,
    params: dict[str, Any],
    *,
    fold: int = 0,
    trial: int = 0,
) -> float:
    """Fit on ``train`` rows before ``inner_start`` (purged), score on the rest."""
    spec = shared.tune
    assert spec is not None
    fit_end = inner_start - spec.purge
    if fit_end <= 0:
        return math.nan
    strat = shared.strategy.clone().set_params(**params)
    inject_random_state(strat, shared.seed, shared.name, fold, trial)
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
    if fold.train.size == 0:
        raise ConfigError(
            f"{type(shared.strategy).__name__} learns, but fold {fold.index} has no training "
            f"rows before {panel.dates[int(fold.test[0])].date()}; start the study later "
            "(data.start) or shorten the training window"
        )
    train = panel.iloc_dates(slice(int(fold.train[0]), int(fold.train[-1]) + 1))
    params: dict[str, Any] = {}
    trials: list[dict[str, Any]] = []
    if shared.tune is not None:
        inner = parse_duration(shared.tune.inner, what="tune.inner")
        if inner.is_bars:
            inner_start = max(1, train.n_dates - inner.count)
        else:
            inner_start = int(train.dates.searchsorted(train.dates[-1] - inner.offset(), "right"))
        counter = iter(range(1 << 62))  # trials run one after another, in order
        params, trials = optimise(
            shared.tune,
            lambda p: _inner_score(
                shared, train, inner_start, p, fold=fold.index, trial=next(counter)
            ),
            seed=derive_seed(shared.seed, "tune", fold.index),
        )
        for t in trials:
            t["fold"] = fold.index
    strat = shared.strategy.clone().set_params(**params)
    # the final fit of a fold is its own "trial", distinct from every inner one
    inject_random_state(strat, shared.seed, shared.name, fold.index, "final")
    strat.fit(train, until=train.dates[-1])
    diagnostics = collect_diagnostics(strat, fold.index, train.dates)
    rows = fold.test[shared.mask[fold.test]]
    view = panel.iloc_dates(slice(0, int(fold.test[-1]) + 1))
    forecasts = None
    if rows.size:
        decided = np.asarray(strat.decide(view, panel.dates[rows]), dtype=np.float64)
        _check_decided(strat, decided, rows.size, panel.n_assets)
        forecasts = collect_forecasts(
            strat, panel.dates[int(fold.test[0])], panel.dates[int(fold.test[-1])]
        )
    else:
        decided = np.empty((0, panel.n_assets))
    info = fold.describe(panel.dates) | {"params": params or strat.get_params()}
    return FoldOutput(rows, decided, params, trials, info, diagnostics, forecasts, strat)


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
    start: Any = None,
    name: str | None = None,
) -> WalkForwardResult:
    """Retrain per fold, stitch out-of-sample decisions, run one backtest over them.

    The rebalance schedule runs on the out-of-sample span's own dates, so its
    first bar is a decision (every strategy starts invested on the same day,
    in a plain run and a validated one alike), and the engine applies the same
    schedule to the same span.

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
    start : date-like, optional
        First date that may be tested (``data.start``); earlier rows are history
        for fitting and look-backs only.
    name : str, optional
        The strategy's name in the study (part of its ``random_state`` seeds);
        default its class name.
    """
    strategy.check(panel)
    if end is not None:
        panel = panel.iloc_dates(slice(0, int(panel.dates.searchsorted(pd.Timestamp(end), "left"))))
    if panel.n_dates == 0:
        raise ConfigError("walk-forward: no data before the holdout start")
    first = 0 if start is None else int(panel.dates.searchsorted(pd.Timestamp(start), "left"))
    if first >= panel.n_dates:
        raise ConfigError(
            f"walk-forward: data.start {pd.Timestamp(start).date()} is after the last date "
            f"{panel.dates[-1].date()} of the span"
        )
    # Splitters without a start (user-written ones) are called as before.
    folds = splitter.split(panel.dates, start=first) if first else splitter.split(panel.dates)
    oos_start = int(folds[0].test[0])
    mask = np.zeros(panel.n_dates, dtype=bool)
    mask[oos_start:] = rebalance_mask(panel.dates[oos_start:], engine.rebalance)
    shared = _Shared(
        panel, strategy, engine, tune, int(seed), mask, name or type(strategy).__name__
    )
    if tune is None and not strategy.requires.learns:
        # Nothing to retrain: one pass over every out-of-sample date gives the same
        # decisions for stateless rules and keeps stateful ones (buy-and-hold)
        # from restarting at each fold.
        outputs = [_single_pass(shared, folds)]
    else:
        outputs = (executor or SerialExecutor()).map(_fold_task, shared, folds)
    weights = stitch(outputs, panel.shape)
    oos_end = int(folds[-1].test[-1])
    span = slice(oos_start, oos_end + 1)
    result = engine.run(weights[span], panel.iloc_dates(span))
    trials = [t for out in outputs for t in out.trials]
    infos = outputs[0].info["folds"] if "folds" in outputs[0].info else [o.info for o in outputs]
    diagnostics = [d for out in outputs for d in out.diagnostics]
    return WalkForwardResult(
        weights, oos_start, oos_end, result, infos, trials, diagnostics, _stitch_forecasts(outputs),
        [out.model for out in outputs],
    )


def _stitch_forecasts(outputs: list[FoldOutput]) -> pd.DataFrame | None:
    """Every fold's forecasts on its own test block, dates ascending (stable within a date)."""
    parts = [o.forecasts for o in outputs if o.forecasts is not None and len(o.forecasts)]
    if not parts:
        return None
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def _single_pass(shared: _Shared, folds: list[Fold]) -> FoldOutput:
    """Decisions of a strategy that learns nothing, over all test blocks at once."""
    panel = shared.panel
    seed_everything(derive_seed(shared.seed, "fold", 0))
    strat = shared.strategy.clone()
    inject_random_state(strat, shared.seed, shared.name, 0, "final")
    first_train_end = int(folds[0].train[-1]) if folds[0].train.size else 0
    fit_on = panel.iloc_dates(slice(0, first_train_end + 1))
    strat.fit(fit_on, until=panel.dates[first_train_end])
    diagnostics = collect_diagnostics(strat, 0, fit_on.dates)
    tested = np.concatenate([f.test for f in folds])
    rows = tested[shared.mask[tested]]
    forecasts = None
    if rows.size:
        decided = np.asarray(strat.decide(panel, panel.dates[rows]), dtype=np.float64)
        _check_decided(strat, decided, rows.size, panel.n_assets)
        forecasts = collect_forecasts(
            strat, panel.dates[int(tested[0])], panel.dates[int(tested[-1])]
        )
    else:
        decided = np.empty((0, panel.n_assets))
    params = strat.get_params()
    infos = [f.describe(panel.dates) | {"params": params} for f in folds]
    return FoldOutput(rows, decided, {}, [], {"folds": infos}, diagnostics, forecasts, strat)
