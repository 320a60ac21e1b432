"""Optuna tuning of a learned variance forecaster on the inner validation block of its training window.

The founding study chose the GINN weight ``lam`` on the test split. Here a
forecaster given ``tune`` chooses its hyper-parameters inside ``fit(panel, until)``
from rows dated at or before ``until`` only:

* the *inner validation block* is the last ``inner`` rows (dates) of the
  training window;
* every trial fits a candidate (an unfitted copy with the trial's parameters) on
  the rows before the block (``until`` = the date before the block; the label
  rule of :func:`alphalab.models.labels.training_mask` drops rows whose target
  reaches into the block) and scores its one-step variance forecasts at the
  block's dates against the founding study's target (QLIKE or MSE on percent
  squared variances; the last row of the window has no target inside it and is
  not scored);
* a seeded TPE sampler (``seed``) proposes the trials, so one seed gives one
  choice; the best parameters are refitted on the whole training window. (Optuna's
  TPE draws its first 10 trials at random, so with ``n_trials <= 10`` the search is a
  seeded random search, the same candidates in every fold; the trial ledger counts
  each distinct candidate once.)

Every trial is recorded (``diagnostics_["tuning"]["trials"]``: trial, params,
inner-validation loss) so the study counts it (trial ledger, DSR) and the report
shows it.

``tune`` spec (a mapping)::

    n_trials: 8                   # 1 .. 200
    params:                       # at least one of
      lam: [0.0, 1.0]             #   float range in [0, 1]
      lr: [1.0e-4, 1.0e-2]        #   float range (log scale) in [1e-6, 1]
      hidden: [4, 8, 16]          #   choices, integers >= 1
      lookback: [20, 40, 60]      #   choices, integers >= 5
    inner: 126                    # rows of the inner validation block, integer in [20, 2520]
    metric: qlike                 # or mse
    seed: 0                       # TPE seed (default: the forecaster's random_state, else 0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError

__all__ = ["TUNABLE", "check_tune", "inner_block", "tune_fit"]

#: Tunable parameter -> ("range" | "logrange" | "choices", lower bound, upper bound)
TUNABLE: dict[str, tuple[str, float, float]] = {
    "lam": ("range", 0.0, 1.0),
    "lr": ("logrange", 1e-6, 1.0),
    "hidden": ("choices", 1, math.inf),
    "lookback": ("choices", 5, math.inf),
}
_KEYS = ("n_trials", "params", "inner", "metric", "seed")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_tune(tune: Any, tunable: tuple[str, ...] = tuple(TUNABLE)) -> None:
    """Raise :class:`ConfigError` naming the bad key of a ``tune`` spec (``None`` is no tuning)."""
    if tune is None:
        return
    if not isinstance(tune, Mapping):
        raise ConfigError(f"tune must be a mapping (n_trials, params, inner, metric, seed), got {tune!r}")
    unknown = sorted(set(map(str, tune)) - set(_KEYS))
    if unknown:
        raise ConfigError(f"tune: unknown key(s) {unknown}; known: {list(_KEYS)}")
    n = tune.get("n_trials", 8)
    if not _is_int(n) or not 1 <= n <= 200:
        raise ConfigError(f"tune.n_trials must be an integer in [1, 200], got {n!r}")
    params = tune.get("params")
    if not isinstance(params, Mapping) or not params:
        raise ConfigError(f"tune.params must be a non-empty mapping of {list(tunable)}, got {params!r}")
    for name, spec in params.items():
        if name not in tunable:
            raise ConfigError(f"tune.params: {name!r} cannot be tuned; choose from {list(tunable)}")
        kind, lo, hi = TUNABLE[name]
        if kind == "choices":
            if (isinstance(spec, (str, bytes)) or not isinstance(spec, (list, tuple)) or not spec
                    or not all(_is_int(v) and lo <= v <= hi for v in spec)):
                raise ConfigError(f"tune.params.{name} must be a non-empty list of integers >= {lo:g}, got {spec!r}")
        elif (not isinstance(spec, (list, tuple)) or len(spec) != 2 or not all(_is_num(v) for v in spec)
              or not lo <= spec[0] <= spec[1] <= hi or (kind == "logrange" and spec[0] <= 0)):
            raise ConfigError(f"tune.params.{name} must be [low, high] with {lo:g} <= low <= high <= {hi:g}, "
                              f"got {spec!r}")
    inner = tune.get("inner", 126)
    if not _is_int(inner) or not 20 <= inner <= 2520:
        raise ConfigError(f"tune.inner must be an integer in [20, 2520] (rows of the inner validation block), "
                          f"got {inner!r}")
    metric = tune.get("metric", "qlike")
    if metric not in ("qlike", "mse"):
        raise ConfigError(f"tune.metric must be 'qlike' or 'mse', got {metric!r}")
    seed = tune.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ConfigError(f"tune.seed must be an integer >= 0 or null, got {seed!r}")


def inner_block(train: Panel, length: int) -> tuple[int, pd.Timestamp]:
    """First row of the inner validation block of ``train`` (its last ``length`` dates) and the date
    candidates are fitted until (the row before the block)."""
    n = train.n_dates
    first = n - int(length)
    if first < 2:
        raise DataError(f"tune: a training window of {n} dates leaves no rows before a {length}-row inner block")
    return first, train.dates[first - 1]


def _suggest(trial: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(params):
        kind, _, _ = TUNABLE[name]
        spec = params[name]
        if kind == "choices":
            out[name] = int(trial.suggest_categorical(name, [int(v) for v in spec]))
        else:
            out[name] = float(trial.suggest_float(name, float(spec[0]), float(spec[1]), log=kind == "logrange"))
    return out


def tune_fit(est: Any, panel: Panel, until: Any, score_target: Any) -> tuple[Any, dict[str, Any]]:
    """Tune ``est`` (a forecaster with a ``tune`` spec) on the inner block; refit the best on the window.

    Parameters
    ----------
    est : Forecaster
        Its ``tune`` parameter holds the spec; trials are unfitted copies with ``tune=None``.
    panel : Panel
    until : date-like or None
        End of the training window; no row after it is read.
    score_target : callable
        ``score_target(train_panel) -> (n_dates, n_assets)`` target of each row (percent squared; NaN
        where it would need a row after the panel's end).

    Returns
    -------
    fitted : Forecaster
        The best candidate refitted on the whole training window.
    tuning : dict
        ``trials`` (``trial``, ``params``, ``loss``), ``best``, ``metric``, ``inner_first``, ``inner_last``,
        ``candidates_until``, ``seed``, ``n_trials``.
    """
    import optuna

    from alphalab.models.evaluation import qlike_losses
    from alphalab.portfolio.params import clone_param

    spec = dict(est.tune)
    cut = panel.dates[-1] if until is None else pd.Timestamp(until)
    train = panel.until(cut)  # the tuner never holds a row after the training window
    first, cand_until = inner_block(train, int(spec.get("inner", 126)))
    block = train.dates[first:]
    y = np.asarray(score_target(train), dtype=np.float64)[first:]
    metric = str(spec.get("metric", "qlike"))
    seed = spec.get("seed")
    seed = int(seed) if seed is not None else (0 if est.random_state is None else int(est.random_state))
    trials: list[dict[str, Any]] = []

    def candidate(params: Mapping[str, Any]) -> Any:
        c = clone_param(est)
        c.set_params(tune=None, **params)
        return c

    def objective(trial: Any) -> float:
        params = _suggest(trial, spec["params"])
        try:
            f = candidate(params).fit(train, cand_until)
            v = f.predict(train, block).variance * 1e4
            if metric == "qlike":
                loss = float(np.nanmean(qlike_losses(y, v))) if np.isfinite(qlike_losses(y, v)).any() else math.nan
            else:
                ok = np.isfinite(y) & np.isfinite(v)
                loss = float(np.mean((y[ok] - v[ok]) ** 2)) if ok.any() else math.nan
        except DataError as exc:  # e.g. a lookback too long for the rows before the block
            trials.append({"trial": int(trial.number), "params": params, "loss": None, "error": str(exc)})
            return math.inf
        trials.append({"trial": int(trial.number), "params": params, "loss": loss if math.isfinite(loss) else None})
        return loss if math.isfinite(loss) else math.inf

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=int(spec.get("n_trials", 8)), n_jobs=1)
    scored = [t for t in trials if t["loss"] is not None]
    if not scored:
        raise DataError(f"tune: no trial could be scored on the inner block {block[0].date()}..{block[-1].date()} "
                        f"({[t.get('error') for t in trials][:2]})")
    best = min(scored, key=lambda t: (t["loss"], t["trial"]))  # ties keep the first trial
    fitted = candidate(best["params"]).fit(panel, cut)
    return fitted, {
        "metric": metric, "seed": seed, "n_trials": len(trials), "trials": trials,
        "best": dict(best["params"]), "best_trial": int(best["trial"]), "best_loss": float(best["loss"]),
        "inner_first": str(block[0].date()), "inner_last": str(block[-1].date()),
        "candidates_until": str(cand_until.date()),
    }
