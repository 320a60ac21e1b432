"""Hyper-parameter tuning on inner splits only: grid search and Optuna (TPE).

Inside one walk-forward training window the last ``inner`` stretch is the tuning
validation block; candidates are fitted on what comes before it (purged) and scored
by a backtest on the block. Nothing outside the training window is ever touched, and
every trial is recorded so that trial counts feed the Deflated Sharpe Ratio.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alphalab.errors import ConfigError

__all__ = ["TUNE_METRICS", "ParamRange", "TuneSpec", "grid_candidates", "optimise"]

#: Keys of :func:`alphalab.metrics.compute_metrics` a tuning block can be scored on
#: (measured without a benchmark; larger is taken as better).
TUNE_METRICS = (
    "sharpe", "sortino", "calmar", "cagr", "total_return", "hit_rate", "max_drawdown",
    "volatility", "turnover", "cost_drag", "max_drawdown_duration",
)  # fmt: skip


class ParamRange(BaseModel):
    """An Optuna search dimension: numeric range or categorical choices."""

    model_config = ConfigDict(extra="forbid")

    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    type: Literal["int", "float", "categorical"] = "float"
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical range needs non-empty 'choices'")
        elif self.low is None or self.high is None or not self.low <= self.high:
            raise ValueError("a numeric range needs low <= high")
        return self


class TuneSpec(BaseModel):
    """How to tune one strategy.

    Attributes
    ----------
    grid : dict, optional
        Parameter -> list of values; every combination is tried.
    space : dict, optional
        Parameter -> :class:`ParamRange` for Optuna's TPE sampler.
    n_trials : int
        Optuna trials per fold (grid search tries every combination).
    metric : str
        Key of :func:`alphalab.metrics.compute_metrics` to maximise.
    inner : duration
        Length of the tuning validation block at the end of each training window.
    purge : int
        Bars dropped between the inner training part and the tuning block.
    """

    model_config = ConfigDict(extra="forbid")

    grid: dict[str, list[Any]] | None = None
    space: dict[str, ParamRange] | None = None
    n_trials: int = Field(20, ge=1, le=10_000)
    metric: str = "sharpe"
    inner: str | int = "1y"
    purge: int = Field(0, ge=0)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in TUNE_METRICS:
            raise ValueError(
                f"unknown tune metric {value!r}; valid metrics: {', '.join(TUNE_METRICS)}"
            )
        return value

    @model_validator(mode="after")
    def _one_method(self) -> TuneSpec:
        if (self.grid is None) == (self.space is None):
            raise ValueError("tune needs exactly one of 'grid' or 'space'")
        if self.grid is not None:
            for k, v in self.grid.items():
                if not isinstance(v, list) or not v:
                    raise ValueError(f"tune.grid.{k} must be a non-empty list")
        return self

    @property
    def method(self) -> str:
        return "grid" if self.grid is not None else "optuna"

    def n_candidates(self) -> int:
        if self.grid is not None:
            return math.prod(len(v) for v in self.grid.values())
        return self.n_trials


def grid_candidates(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in a stable order (sorted keys, listed values)."""
    keys = sorted(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def optimise(
    spec: TuneSpec, score: Callable[[dict[str, Any]], float], *, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Maximise ``score(params)``; returns the best params and every trial.

    NaN scores (e.g. no trades in the block) rank last. Ties keep the first trial,
    so results do not depend on anything but the candidate order and the seed.
    """
    trials: list[dict[str, Any]] = []
    if spec.grid is not None:
        for i, params in enumerate(grid_candidates(spec.grid)):
            trials.append({"trial": i, "params": params, "score": float(score(params))})
    else:
        try:
            import optuna
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigError("Optuna tuning needs optuna: pip install 'alphalab[tune]'") from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = spec.space or {}

        def objective(trial: Any) -> float:
            params: dict[str, Any] = {}
            for name in sorted(space):
                r = space[name]
                if r.type == "categorical":
                    params[name] = trial.suggest_categorical(name, r.choices)
                elif r.type == "int":
                    params[name] = trial.suggest_int(
                        name, int(r.low), int(r.high), step=int(r.step or 1), log=r.log
                    )
                else:
                    params[name] = trial.suggest_float(name, r.low, r.high, step=r.step, log=r.log)
            value = float(score(params))
            trials.append({"trial": trial.number, "params": params, "score": value})
            return value if math.isfinite(value) else -math.inf

        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(objective, n_trials=spec.n_trials, n_jobs=1)
    best = max(
        trials,
        key=lambda t: (t["score"] if math.isfinite(t["score"]) else -math.inf, -t["trial"]),
    )
    return dict(best["params"]), trials
