"""Overfitting evidence for a tuned strategy: every candidate's out-of-sample returns,
the Deflated Sharpe Ratio of the selected one, and PBO across the candidates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alphalab.validation.stats import (
    deflated_sharpe_ratio,
    min_backtest_length,
    min_track_record_length,
    probability_of_backtest_overfitting,
    sharpe_moments,
)

__all__ = ["overfitting_summary", "pbo_partitions"]


def pbo_partitions(n_obs: int, max_partitions: int = 10, min_block: int = 20) -> int:
    """Largest even number of CSCV blocks (at most ``max_partitions``) with ``min_block`` rows each."""
    s = min(max_partitions, n_obs // min_block)
    s -= s % 2
    return s


def overfitting_summary(
    selected: np.ndarray,
    candidates: np.ndarray | None,
    n_trials: int,
    periods_per_year: float,
) -> dict[str, Any]:
    """Statistics that say how much a selected strategy's record can be trusted.

    Parameters
    ----------
    selected : numpy.ndarray, shape ``(n_obs,)``
        Out-of-sample period returns of the strategy as run (tuned per fold).
    candidates : numpy.ndarray, shape ``(n_obs, n_candidates)``, optional
        Out-of-sample returns of every candidate configuration held fixed, on the
        same dates (for PBO and for the variance of trial Sharpe ratios).
    n_trials : int
        Every configuration tried while tuning (all folds' trials), at least 1.
    periods_per_year : float
        For annualising the Sharpe in the MinBTL figure.

    Returns
    -------
    dict
        ``sharpe`` (per period), ``skew``, ``kurtosis``, ``n_obs``, ``n_trials``,
        ``sharpe_variance``, ``candidate_sharpes``, ``sr0``, ``dsr``, ``pbo``, ``pbo_splits``,
        ``performance_degradation``, ``min_backtest_years``, ``min_track_record``.
    """
    sr, skew, kurt, n = sharpe_moments(selected)
    n_trials = max(1, int(n_trials))
    var = 0.0
    pbo: float | None = None
    pbo_splits = 0
    degradation: float | None = None
    cand_sr: list[float] = []
    if candidates is not None and candidates.ndim == 2 and candidates.shape[1] >= 2:
        m = candidates[np.isfinite(candidates).all(axis=1)]
        cand_sr = [sharpe_moments(m[:, j])[0] for j in range(m.shape[1])]
        finite = [x for x in cand_sr if math.isfinite(x)]
        var = float(np.var(finite, ddof=1)) if len(finite) >= 2 else 0.0
        s = pbo_partitions(m.shape[0])
        if s >= 2:
            res = probability_of_backtest_overfitting(m, n_partitions=s)
            pbo, pbo_splits, degradation = res.pbo, res.n_splits, res.performance_degradation
    if math.isfinite(sr):
        dsr, sr0 = deflated_sharpe_ratio(sr, n, n_trials, var, skew, kurt)
    else:
        dsr, sr0 = math.nan, math.nan
    annual_sr = sr * math.sqrt(periods_per_year) if math.isfinite(sr) else math.nan
    return {
        "sharpe": sr,
        "skew": skew,
        "kurtosis": kurt,
        "n_obs": n,
        "n_trials": n_trials,
        "sharpe_variance": var,
        # per candidate column (fixed config), for the dataset's trial ledger
        "candidate_sharpes": [x if math.isfinite(x) else None for x in cand_sr],
        "sr0": sr0,
        "dsr": dsr,
        "pbo": pbo,
        "pbo_splits": pbo_splits,
        "performance_degradation": degradation,
        "min_backtest_years": (
            min_backtest_length(n_trials, annual_sr) if annual_sr > 0 and n_trials > 1 else None
        ),
        "min_track_record": min_track_record_length(sr, skew, kurt) if math.isfinite(sr) else None,
    }
