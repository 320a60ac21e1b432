"""Threshold search for the position manager: the founding grid or Optuna, on the tune split only.

Inputs are the tune split's signals alone (``sig``, shape ``(N_SIG, n_bars, n_assets)``,
built from tune rows only and labels purged at the split's end), so no validation or
stress row can reach the search. Every candidate is recorded with its trade metrics
and score; the summary adds the Deflated Sharpe Ratio of the best candidate over all
candidates' per-bar returns, the PBO of the selection (CSCV) and the score's stability
around the best grid point.

Simulations
-----------
``stateful``  the compiled state machine (:func:`~alphalab.portfolio.pm_kernel.pm_search_stateful`):
              positions, adds, reduces, exits, sizing; a trade is a round trip.
``stateless`` the founding simulation (every passing sample an independent trade,
              its edge the realised label); kept for comparison.

Founding score: ``avg_edge * sqrt(n) + 0.05 * total - 0.25 * max_drawdown - 5 * max(0, 20 - n)``
(edges and drawdown in bps).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError
from alphalab.portfolio.pm_config import CFG, SEARCH_KEYS, PMConfig
from alphalab.portfolio.pm_kernel import pm_search_stateful, pm_search_stateless
from alphalab.validation.stats import (
    deflated_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_moments,
)

__all__ = ["FOUNDING_GRID", "METRICS", "SearchResult", "founding_score", "grid_candidates", "score_metrics",
           "threshold_search"]

#: The founding grid, 4 x 4 x 4 x 3 x 4 x 3 = 2,304 candidates, in SEARCH_KEYS order.
FOUNDING_GRID: dict[str, tuple[float, ...]] = {
    "dir_min": (0.40, 0.45, 0.50, 0.55),
    "margin_min": (0.0, 0.05, 0.10, 0.15),
    "entry_min": (0.50, 0.55, 0.60, 0.65),
    "edge_min_bps": (0.0, 10.0, 20.0),
    "market_risk_max": (0.3, 0.5, 0.7, 1.0),
    "position_risk_max": (0.4, 0.6, 1.0),
}

METRICS: tuple[str, ...] = ("founding", "total_edge", "avg_edge", "win_rate", "sharpe")


def founding_score(n: np.ndarray, avg: np.ndarray, total: np.ndarray, mdd: np.ndarray) -> np.ndarray:
    """``avg * sqrt(n) + 0.05 * total - 0.25 * mdd - 5 * max(0, 20 - n)`` (avg 0 with no trade)."""
    n = np.asarray(n, float)
    return np.asarray(avg, float) * np.sqrt(n) + 0.05 * np.asarray(total, float) - 0.25 * np.asarray(mdd, float) \
        - 5.0 * np.maximum(0.0, 20.0 - n)


def _check_grid(grid: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, ...]]:
    unknown = sorted(set(grid) - set(SEARCH_KEYS))
    if unknown:
        raise ConfigError(f"search grid has unknown threshold(s) {unknown}; valid: {list(SEARCH_KEYS)}")
    out = {}
    for k in SEARCH_KEYS:
        vals = grid.get(k, FOUNDING_GRID[k])
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or len(vals) == 0:
            raise ConfigError(f"search grid {k!r} must be a non-empty list of numbers, got {vals!r}")
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise ConfigError(f"search grid {k!r} holds {v!r}; every value must be a finite number")
        out[k] = tuple(float(v) for v in vals)
    return out


def grid_candidates(grid: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
    """All combinations, shape ``(n_candidates, 6)`` in SEARCH_KEYS order (last key fastest)."""
    g = _check_grid(grid or FOUNDING_GRID)
    return np.array(list(itertools.product(*(g[k] for k in SEARCH_KEYS))), dtype=np.float64)


def score_metrics(metrics: np.ndarray, bar_returns: np.ndarray, metric: str = "founding") -> tuple[pd.DataFrame, np.ndarray]:
    """Trade metrics table and the score per candidate.

    Parameters
    ----------
    metrics : ndarray, shape ``(m, 4)``
        trades, wins, total edge, max drawdown from the kernels.
    bar_returns : ndarray, shape ``(n_bars, m)``
    metric : str
        One of :data:`METRICS`.
    """
    if metric not in METRICS:
        raise ConfigError(f"search metric {metric!r} is unknown; choose one of {list(METRICS)}")
    n, wins, total, mdd = metrics.T
    avg = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
    win = np.divide(wins, n, out=np.full_like(total, np.nan), where=n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = bar_returns.std(axis=0, ddof=1) if bar_returns.shape[0] > 1 else np.full(n.shape, np.nan)
        sharpe = np.where(sd > 0, bar_returns.mean(axis=0) / sd, np.nan)
    table = pd.DataFrame({"n_trades": n.astype(np.int64), "win_rate": win, "avg_edge_bps": avg,
                          "total_edge_bps": total, "max_drawdown_bps": mdd, "bar_sharpe": sharpe})
    table["founding_score"] = founding_score(n, avg, total, mdd)
    score = {"founding": table["founding_score"], "total_edge": table["total_edge_bps"],
             "avg_edge": table["avg_edge_bps"], "win_rate": table["win_rate"], "sharpe": table["bar_sharpe"]}[metric]
    return table, np.nan_to_num(score.to_numpy(np.float64), nan=-np.inf)


@dataclass
class SearchResult:
    """What a search found.

    Attributes
    ----------
    candidates : pandas.DataFrame
        One row per candidate: the six thresholds, trade metrics, ``score``, ``rank``.
    best : int
        Row of the selected candidate (highest score; ties: first in grid order).
    best_config : PMConfig
    stability : dict
        Score at the best point and at its grid neighbours (one step along each axis).
    dsr : dict
        Deflated Sharpe of the best candidate's per-bar returns over all candidates.
    pbo : dict
        Probability of backtest overfitting of the selection (CSCV), or why it was skipped.
    """

    candidates: pd.DataFrame
    best: int
    best_config: PMConfig
    stability: dict[str, Any]
    dsr: dict[str, Any]
    pbo: dict[str, Any]
    mode: str
    simulation: str
    metric: str


def _stability(cands: np.ndarray, score: np.ndarray, best: int, grid: dict[str, tuple[float, ...]]) -> dict[str, Any]:
    index = {tuple(row): i for i, row in enumerate(map(tuple, cands))}
    b = cands[best]
    neigh = []
    for d, k in enumerate(SEARCH_KEYS):
        vals = grid[k]
        pos = vals.index(b[d]) if b[d] in vals else None
        if pos is None:
            continue
        for step in (-1, 1):
            q = pos + step
            if 0 <= q < len(vals):
                row = b.copy()
                row[d] = vals[q]
                i = index.get(tuple(row))
                if i is not None:
                    neigh.append({"threshold": k, "value": vals[q], "score": float(score[i])})
    s = np.array([x["score"] for x in neigh]) if neigh else np.array([])
    best_score = float(score[best])
    return {
        "best_score": best_score,
        "neighbours": neigh,
        "neighbour_mean": float(s.mean()) if s.size else math.nan,
        "neighbour_min": float(s.min()) if s.size else math.nan,
        "relative_drop": float((best_score - s.mean()) / abs(best_score)) if s.size and best_score != 0 else math.nan,
        "share_within_25pct": float(np.mean(s >= best_score - 0.25 * abs(best_score))) if s.size else math.nan,
    }


def _dsr(bar: np.ndarray, best: int) -> dict[str, Any]:
    sr = []
    for c in range(bar.shape[1]):
        s, _, _, _ = sharpe_moments(bar[:, c])
        sr.append(s)
    sr = np.asarray(sr, float)
    ok = np.isfinite(sr)
    s_best, skew, kurt, n_obs = sharpe_moments(bar[:, best])
    if ok.sum() < 2 or not np.isfinite(s_best):
        return {"dsr": math.nan, "sr0": math.nan, "sharpe": s_best, "n_trials": int(bar.shape[1]),
                "reason": "fewer than 2 candidates with a finite Sharpe"}
    dsr, sr0 = deflated_sharpe_ratio(s_best, n_obs, int(bar.shape[1]), float(np.var(sr[ok], ddof=1)),
                                     skew if np.isfinite(skew) else 0.0, kurt if np.isfinite(kurt) else 3.0)
    return {"dsr": dsr, "sr0": sr0, "sharpe": s_best, "n_trials": int(bar.shape[1]), "n_obs": int(n_obs)}


def _pbo(bar: np.ndarray, partitions: int) -> dict[str, Any]:
    keep = bar.std(axis=0) > 0
    if keep.sum() < 2:
        return {"pbo": math.nan, "reason": "fewer than 2 candidates that trade"}
    p = partitions
    while p >= 2 and bar.shape[0] < 2 * p:
        p -= 2
    if p < 2:
        return {"pbo": math.nan, "reason": f"too few bars ({bar.shape[0]}) for CSCV"}
    res = probability_of_backtest_overfitting(bar[:, keep], p)
    return {"pbo": res.pbo, "n_splits": res.n_splits, "partitions": p, "n_trials": int(keep.sum()),
            "performance_degradation": res.performance_degradation}


def threshold_search(sig: np.ndarray, base: PMConfig, *, mode: str = "grid", simulation: str = "stateful",
                     metric: str = "founding", grid: Mapping[str, Sequence[float]] | None = None,
                     real_long: np.ndarray | None = None, real_short: np.ndarray | None = None,
                     half_cost_bps: float = 0.0, n_trials: int = 200, seed: int = 0,
                     pbo_partitions: int = 8) -> SearchResult:
    """Search the entry thresholds on one split's signals.

    Parameters
    ----------
    sig : ndarray, shape ``(N_SIG, n_bars, n_assets)``
        Tune-split signals only.
    base : PMConfig
        Everything but the entry thresholds.
    mode : {"grid", "optuna"}
        ``optuna``: a seeded TPE over the same grid values, ``n_trials`` trials.
    simulation : {"stateful", "stateless"}
    metric : str
        Score to maximise (:data:`METRICS`).
    real_long, real_short : ndarray, shape ``(n_bars, n_assets)``
        Realised net edges (bps); required by ``stateless``.
    half_cost_bps : float
        Cost per unit of traded weight (stateful).
    """
    if mode not in ("grid", "optuna"):
        raise ConfigError(f"search mode must be 'grid' or 'optuna', got {mode!r}")
    if simulation not in ("stateful", "stateless"):
        raise ConfigError(f"search simulation must be 'stateful' or 'stateless', got {simulation!r}")
    if metric not in METRICS:
        raise ConfigError(f"search metric {metric!r} is unknown; choose one of {list(METRICS)}")
    g = _check_grid(grid or FOUNDING_GRID)
    if simulation == "stateless" and (real_long is None or real_short is None):
        raise ConfigError("the stateless simulation needs the realised edges real_long and real_short")
    base_vec = base.vector()
    cols = [CFG[f"entry.{k}"] for k in SEARCH_KEYS]

    def evaluate(thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if simulation == "stateless":
            return pm_search_stateless(sig, real_long, real_short, thr, bool(base.sizing.allow_short))
        cfgs = np.repeat(base_vec[None, :], thr.shape[0], axis=0)
        cfgs[:, cols] = thr
        return pm_search_stateful(sig, cfgs, float(half_cost_bps))

    if mode == "grid":
        cands = grid_candidates(g)
        metrics, bar = evaluate(cands)
    else:
        cands, metrics, bar = _optuna(evaluate, g, metric, n_trials, seed)
    table, score = score_metrics(metrics, bar, metric)
    best = int(np.argmax(score))
    frame = pd.concat([pd.DataFrame(cands, columns=list(SEARCH_KEYS)), table], axis=1)
    frame["score"] = score
    frame["rank"] = pd.Series(-score).rank(method="first").astype(np.int64).to_numpy()
    best_cfg = base.with_entry(**dict(zip(SEARCH_KEYS, cands[best], strict=True)))
    stab = _stability(cands, score, best, g) if mode == "grid" else {"best_score": float(score[best]),
                                                                      "note": "grid neighbours need mode 'grid'"}
    return SearchResult(frame, best, best_cfg, stab, _dsr(bar, best), _pbo(bar, pbo_partitions), mode, simulation,
                        metric)


def _optuna(evaluate, g: dict[str, tuple[float, ...]], metric: str, n_trials: int,
            seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows, mets, bars = [], [], []

    def objective(trial: optuna.Trial) -> float:
        thr = np.array([[trial.suggest_categorical(k, list(g[k])) for k in SEARCH_KEYS]], dtype=np.float64)
        m, b = evaluate(thr)
        _, s = score_metrics(m, b, metric)
        rows.append(thr[0])
        mets.append(m[0])
        bars.append(b[:, 0])
        return float(s[0]) if np.isfinite(s[0]) else -1e18

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=int(seed)))
    study.optimize(objective, n_trials=int(n_trials))
    return np.array(rows), np.array(mets), np.stack(bars, axis=1)
