"""Running strategies: a plain fit-then-backtest run, or the validation protocol, per strategy."""

from __future__ import annotations

from typing import Any

import pandas as pd

from alphalab.config import BENCHMARK_KEY, StrategyConfig, StudyConfig
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.report.rundir import json_safe
from alphalab.study.inputs import engine_costs
from alphalab.validation.executors import seed_everything

__all__ = ["engine_settings", "metrics_table", "run_one", "validate_one", "validation_extras"]


def engine_settings(cfg: StudyConfig) -> Any:
    """The study's :class:`~alphalab.validation.walkforward.EngineSettings`."""
    from alphalab.validation.walkforward import EngineSettings

    return EngineSettings(
        market=cfg.data.market,
        rebalance=cfg.execution.rebalance,
        execution=cfg.execution.at,
        costs=engine_costs(cfg),
        initial_cash=cfg.execution.initial_cash,
        rules=cfg.execution.rules,
    )


def _executor(cfg: StudyConfig, executor: Any) -> Any:
    from alphalab.validation.executors import make_executor

    if executor is not None:
        return executor
    ex = cfg.executor
    return make_executor(
        ex.kind,
        n_jobs=ex.n_jobs,
        address=ex.address,
        threads=ex.threads,
        connect_timeout=ex.connect_timeout,
    )


def run_one(
    cfg: StudyConfig,
    scfg: StrategyConfig,
    strategy: Any,
    panel: Panel,
    start: pd.Timestamp,
    executor: Any = None,
) -> Any:
    """A plain run: a walk-forward with one split (train before ``start``, test from it).

    Parameters
    ----------
    panel : Panel
        Every loaded row, ``(n_dates, n_assets)``; rows before ``start`` are
        history for fitting and look-backs, never simulated.
    start : pandas.Timestamp
        The first simulated date (``data.start``, or once every strategy has its history).

    Returns
    -------
    WalkForwardResult
        Its ``backtest`` covers ``start`` to the last date.
    """
    from alphalab.validation.splits import SingleSplit
    from alphalab.validation.walkforward import run_walk_forward

    # Reseed per strategy: its numbers must not depend on its place in the list.
    seed_everything(cfg.seed)
    try:
        return run_walk_forward(
            strategy,
            panel,
            SingleSplit(),
            engine_settings(cfg),
            seed=cfg.seed,
            executor=_executor(cfg, executor),
            start=start,
            name=scfg.name,
        )
    except (DataError, ConfigError) as exc:
        raise type(exc)(f"strategy {scfg.name!r} ({scfg.kind}): {exc}") from None


def validate_one(
    cfg: StudyConfig,
    scfg: StrategyConfig,
    strategy: Any,
    panel: Panel,
    bench: pd.Series | None,
    holdout: bool,
    executor: Any,
) -> Any:
    """The validation protocol for one strategy (walk-forward from ``data.start``)."""
    from alphalab.validation.protocol import validate_strategy

    assert cfg.validation is not None
    seed_everything(cfg.seed)
    executor = _executor(cfg, executor)
    engine = engine_settings(cfg)
    try:
        return validate_strategy(
            scfg.name,
            strategy,
            panel,
            cfg.validation,
            engine,
            tune=scfg.tune,
            gates=cfg.gates,
            benchmark=bench,
            seed=cfg.seed,
            executor=executor,
            holdout=holdout,
            start=cfg.data.start,
        )
    except (DataError, ConfigError) as exc:
        raise type(exc)(f"strategy {scfg.name!r} ({scfg.kind}): {exc}") from None

def validation_extras(cfg: StudyConfig, validations: dict[str, Any], holdout: bool) -> dict[str, Any]:
    """gates.json, validation.json and manifest entries; a holdout look is logged."""
    from alphalab.validation.holdout import HoldoutLedger

    assert cfg.validation is not None
    ledger = HoldoutLedger(cfg.name)
    if holdout:
        ledger.record(
            cfg.config_hash(),
            strategies={n: v.verdict.status for n, v in validations.items()},
        )
    looks = ledger.summary().to_dict()
    scope = "holdout" if holdout else "development"
    gates = {
        "scope": scope,
        "holdout_looks": looks,
        "strategies": {
            n: {
                **v.verdict.to_dict(),
                "dsr": v.overfitting.get("dsr"),
                "pbo": v.overfitting.get("pbo"),
                "n_trials": v.overfitting.get("n_trials"),
                # how many candidate configurations PBO re-ran (and did not)
                "pbo_candidates": v.overfitting.get("pbo_candidates"),
            }
            for n, v in validations.items()
        },
    }
    summaries = {n: v.summary() for n, v in validations.items()}
    manifest = {
        "validation": {
            "scope": scope,
            "spec": cfg.validation.model_dump(mode="json"),
            "gates": None if cfg.gates is None else cfg.gates.model_dump(mode="json"),
            "holdout_looks": looks,
            "n_trials": {n: v.walk_forward.n_trials for n, v in validations.items()},
            "verdicts": {n: v.verdict.status for n, v in validations.items()},
        }
    }
    return {
        "manifest": manifest,
        "files": {"gates.json": gates, "validation.json": json_safe(summaries)},
    }

def metrics_table(
    results: dict[str, Any], bench: pd.Series | None, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """One row of metrics per strategy (study order), then the benchmark's."""
    from alphalab.metrics import compute_metrics, periods_per_year

    rows = {name: res.metrics(benchmark=bench) for name, res in results.items()}
    if bench is not None:
        rows[BENCHMARK_KEY] = compute_metrics(bench, periods_per_year=periods_per_year(dates))
    frame = pd.DataFrame(rows).T
    frame.index.name = "strategy"
    return frame

