"""The honest protocol for one strategy: walk-forward on the development span, metrics
out of sample, the stress slice, overfitting statistics, and the acceptance gates.

The sealed holdout is cut off unless the caller asks for it explicitly
(``holdout=True``), which is what ``alphalab evaluate --holdout`` does; the caller
then records the look in the :class:`~alphalab.validation.holdout.HoldoutLedger`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.metrics import compute_metrics, periods_per_year
from alphalab.portfolio.base import Strategy
from alphalab.validation.cpcv import CPCVSpec, run_cpcv
from alphalab.validation.executors import Executor
from alphalab.validation.gates import GateSpec, GateVerdict, evaluate_gates, gate_evidence
from alphalab.validation.overfitting import overfitting_summary
from alphalab.validation.splits import WalkForward
from alphalab.validation.tuning import TuneSpec, grid_candidates
from alphalab.validation.walkforward import EngineSettings, WalkForwardResult, run_walk_forward

__all__ = [
    "HoldoutSpec",
    "PBOSpec",
    "StrategyValidation",
    "StressSpec",
    "ValidationSpec",
    "WalkForwardSpec",
    "validate_strategy",
]

#: Default cap on the fixed-configuration walk-forwards re-run for PBO (``validation.pbo``).
MAX_CANDIDATES = 24


class WalkForwardSpec(BaseModel):
    """Config block ``validation.walk_forward``."""

    model_config = ConfigDict(extra="forbid")

    train: str | int = "3y"
    test: str | int = "6m"
    mode: Literal["expanding", "rolling"] = "expanding"
    purge: str | int = 0
    embargo: str | int = 0

    def splitter(self) -> WalkForward:
        return WalkForward(self.train, self.test, self.mode, self.purge, self.embargo)

    @model_validator(mode="after")
    def _valid(self) -> WalkForwardSpec:
        try:
            self.splitter()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


class HoldoutSpec(BaseModel):
    """Config block ``validation.holdout``: everything from ``start`` on is sealed."""

    model_config = ConfigDict(extra="forbid")

    start: dt.date


class StressSpec(BaseModel):
    """Config block ``validation.stress``: a slice judged on its own (e.g. a crash)."""

    model_config = ConfigDict(extra="forbid")

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> StressSpec:
        if self.end <= self.start:
            raise ValueError("stress.end must be after stress.start")
        return self


class PBOSpec(BaseModel):
    """Config block ``validation.pbo``: the candidate re-runs behind PBO.

    PBO needs every candidate configuration's out-of-sample returns, and each
    candidate costs one full walk-forward (one retraining per fold for a
    learner). Grids larger than ``max_candidates`` are re-run for their first
    ``max_candidates`` configurations in grid order; how many were re-run and
    how many were not is recorded in validation.json, gates.json and the report.
    """

    model_config = ConfigDict(extra="forbid")

    max_candidates: int = Field(
        MAX_CANDIDATES,
        ge=0,
        le=10_000,
        strict=True,  # a YAML true / 2.5 / "24" is a mistake, not a count
        description=(
            "Most candidate configurations re-run (one walk-forward each) for PBO; "
            "0 skips PBO. Candidates beyond it are counted as not re-run, never dropped silently."
        ),
    )


class ValidationSpec(BaseModel):
    """Config block ``validation``."""

    model_config = ConfigDict(extra="forbid")

    walk_forward: WalkForwardSpec = Field(default_factory=WalkForwardSpec)
    holdout: HoldoutSpec | None = None
    stress: StressSpec | None = None
    cpcv: CPCVSpec | None = None
    pbo: PBOSpec = Field(default_factory=PBOSpec)


@dataclass(frozen=True)
class StrategyValidation:
    """Everything the protocol measured for one strategy.

    Attributes
    ----------
    name : str
    scope : {"development", "holdout"}
        Which span ``metrics`` describe.
    walk_forward : WalkForwardResult
    returns : pandas.Series
        Period returns over the evaluated span.
    metrics, stress_metrics : pandas.Series
    overfitting : dict
        See :func:`alphalab.validation.overfitting.overfitting_summary`.
    verdict : GateVerdict
    """

    name: str
    scope: str
    walk_forward: WalkForwardResult
    returns: pd.Series
    metrics: pd.Series
    stress_metrics: pd.Series | None
    overfitting: dict[str, Any]
    verdict: GateVerdict
    candidates: list[dict[str, Any]] = field(default_factory=list)
    stress_sealed: bool = False
    cpcv: dict[str, Any] | None = None
    #: Set when the evaluated span reached past a data seal opened on purpose (the look
    #: was recorded): ``{content_hash, sealed_from, dataset, opened, n_looks}``.
    seal: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (metrics, gates, overfitting, folds, trial count)."""

        def clean(x: Any) -> Any:
            if isinstance(x, float | np.floating):
                return None if not math.isfinite(float(x)) else float(x)
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [clean(v) for v in x]
            if isinstance(x, np.integer):
                return int(x)
            return x

        return clean(
            {
                "strategy": self.name,
                "scope": self.scope,
                "span": [str(self.returns.index[0].date()), str(self.returns.index[-1].date())]
                if len(self.returns)
                else None,
                "metrics": self.metrics.to_dict(),
                "stress_metrics": None if self.stress_metrics is None else self.stress_metrics.to_dict(),
                "stress_sealed": self.stress_sealed,
                "cpcv": self.cpcv,
                "seal": self.seal,
                "overfitting": self.overfitting,
                "gates": self.verdict.to_dict(),
                "folds": self.walk_forward.folds,
                "n_trials": self.walk_forward.n_trials,
                "trials": self.walk_forward.trials,
            }
        )


def _candidates(tune: TuneSpec, wf: WalkForwardResult) -> list[dict[str, Any]]:
    """Every candidate configuration: the grid, or the distinct configurations tried."""
    if tune.grid is not None:
        return grid_candidates(tune.grid)
    seen: dict[str, dict[str, Any]] = {}
    for t in wf.trials:
        seen.setdefault(repr(sorted(t["params"].items())), t["params"])
    return list(seen.values())


def pbo_rerun_record(n_candidates: int, max_candidates: int) -> dict[str, Any]:
    """How many candidates PBO re-runs: ``{n_candidates, n_rerun, n_not_rerun,
    max_candidates, complete}`` (``complete`` False when some were not re-run)."""
    n_rerun = min(n_candidates, max_candidates)
    return {
        "n_candidates": int(n_candidates),
        "n_rerun": int(n_rerun),
        "n_not_rerun": int(n_candidates - n_rerun),
        "max_candidates": int(max_candidates),
        "complete": n_rerun == n_candidates,
    }


def _trade_count(result: Any, start: pd.Timestamp) -> int:
    bars = np.asarray(result.trades["bar"])
    return int((result.dates[bars] >= start).sum()) if bars.size else 0


def validate_strategy(
    name: str,
    strategy: Strategy,
    panel: Panel,
    spec: ValidationSpec,
    engine: EngineSettings,
    *,
    tune: TuneSpec | None = None,
    gates: GateSpec | None = None,
    benchmark: pd.Series | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    holdout: bool = False,
    start: Any = None,
) -> StrategyValidation:
    """Run the protocol for one strategy.

    Parameters
    ----------
    name : str
    strategy : Strategy
    panel : Panel
        Full data ``(n_dates, n_assets)``, holdout included: it is cut here.
    spec : ValidationSpec
    engine : EngineSettings
    tune : TuneSpec, optional
    gates : GateSpec, optional
    benchmark : pandas.Series, optional
        Benchmark period returns indexed by date.
    seed : int
    executor : Executor, optional
    holdout : bool
        Evaluate the sealed holdout (walk forward through it, metrics on it only).
    start : date-like, optional
        ``data.start``: the first date a walk-forward may test; earlier rows are
        history for fitting and look-backs.

    Returns
    -------
    StrategyValidation
    """
    holdout_start = None if spec.holdout is None else pd.Timestamp(spec.holdout.start)
    if holdout and holdout_start is None:
        raise ConfigError("the study declares no holdout (validation.holdout.start)")
    if holdout_start is not None and holdout_start <= panel.dates[0]:
        raise ConfigError(f"holdout start {holdout_start.date()} is at or before the first date")
    seal = panel.meta.get("seal") or {}
    data_end = (
        pd.Timestamp(seal["data_end"])
        if seal.get("cut") and seal.get("data_end")
        else panel.dates[-1]
    )
    if holdout_start is not None and holdout_start > data_end:
        # Nothing would be sealed: the development run would see every date and pass.
        raise ConfigError(
            f"validation.holdout.start {holdout_start.date()} is after the data's last date "
            f"{panel.dates[-1].date()}: the holdout would seal nothing; move it inside the data"
        )
    splitter = spec.walk_forward.splitter()
    end = None if holdout else holdout_start
    wf = run_walk_forward(
        strategy, panel, splitter, engine, tune=tune, seed=seed, executor=executor, end=end,
        start=start, name=name,
    )
    result = wf.backtest
    returns = result.returns
    eval_start = holdout_start if holdout else returns.index[0]
    if holdout and (returns.index >= eval_start).sum() < 2:
        raise ConfigError("the holdout holds fewer than 2 bars of out-of-sample results")
    in_scope = returns.index >= eval_start
    r = returns[in_scope]
    # A panel loaded with its seal opened: results past the seal are a recorded look
    # (any other panel holding sealed dates raises here).
    from alphalab.data.seal import check_panel

    seal_seen = None
    if len(r):
        seal_seen = check_panel(
            panel.iloc_dates(slice(0, int(panel.dates.searchsorted(r.index[-1], "right")))),
            f"validate_strategy({name!r})", strategy=name, holdout=holdout,
        )  # fmt: skip
    bench = None if benchmark is None else benchmark.reindex(r.index)
    metrics = compute_metrics(
        r,
        benchmark=bench,
        turnover=result.turnover[in_scope],
        costs=result.costs_daily.sum(axis=1)[in_scope],
        equity=result.equity[in_scope],
    )
    stress_metrics = None
    if spec.stress is not None:
        s0, s1 = pd.Timestamp(spec.stress.start), pd.Timestamp(spec.stress.end)
        sr = r[(r.index >= s0) & (r.index <= s1)]
        if len(sr) >= 2:
            stress_metrics = compute_metrics(sr, benchmark=None if bench is None else bench.reindex(sr.index))
    candidates: list[dict[str, Any]] = []
    matrix = None
    rerun = None
    if tune is not None:
        every = _candidates(tune, wf)
        rerun = pbo_rerun_record(len(every), spec.pbo.max_candidates)
        candidates = every[: rerun["n_rerun"]]
        cols = []
        for params in candidates:
            fixed = run_walk_forward(
                strategy.clone().set_params(**params),
                panel, splitter, engine, seed=seed, executor=executor, end=end,
                start=start, name=name,
            )
            cols.append(fixed.backtest.returns.reindex(r.index).to_numpy())
        matrix = np.column_stack(cols) if cols else None
    ppy = periods_per_year(r.index) if len(r) > 1 else 252.0
    overfit = overfitting_summary(r.to_numpy(), matrix, max(1, wf.n_trials), ppy)
    overfit["pbo_candidates"] = rerun
    bench_cagr = None
    if bench is not None and bench.notna().sum() > 1:
        bench_cagr = float(compute_metrics(bench.dropna())["cagr"])
    stress_for_gates = None if stress_metrics is None else stress_metrics.to_dict()
    evidence = gate_evidence(
        metrics.to_dict(),
        r.to_numpy(),
        n_trades=_trade_count(result, eval_start),
        dsr=overfit["dsr"],
        benchmark_cagr=bench_cagr,
        stress_metrics=stress_for_gates,
    )
    # a stress slice inside the sealed holdout is judged only when the holdout is opened
    stress_sealed = (
        not holdout
        and holdout_start is not None
        and spec.stress is not None
        and pd.Timestamp(spec.stress.start) >= holdout_start
    )
    if stress_sealed and gates is not None:
        gates = gates.model_copy(update={"stress": None})
    verdict = evaluate_gates(gates, evidence)
    cpcv = None
    if spec.cpcv is not None and not holdout:
        # CPCV tests on every group, so it sees only the span a study may test:
        # from data.start to the holdout.
        lo = 0 if start is None else int(panel.dates.searchsorted(pd.Timestamp(start), "left"))
        hi = (
            panel.n_dates
            if holdout_start is None
            else int(panel.dates.searchsorted(holdout_start, "left"))
        )
        dev = panel.iloc_dates(slice(lo, hi))
        cpcv = run_cpcv(strategy, dev, spec.cpcv, engine, seed=seed, executor=executor)
    return StrategyValidation(
        name=name,
        scope="holdout" if holdout else "development",
        walk_forward=wf,
        returns=r,
        metrics=metrics,
        stress_metrics=stress_metrics,
        overfitting=overfit,
        verdict=verdict,
        candidates=candidates,
        stress_sealed=stress_sealed,
        cpcv=cpcv,
        seal=seal_seen,
    )
