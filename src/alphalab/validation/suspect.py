"""SUSPECT: results no honest daily strategy produces.

The leakage guard (:mod:`alphalab.validation.guard`) catches code that reads the future.
It cannot see a dataset that already holds future information (a field computed with a
centred window before it was saved, prices shifted the wrong way). Such data shows up
in the results instead: they are too good. A strategy whose out-of-sample record crosses
any threshold below gets the verdict **SUSPECT** (never PASS) with the reason, so that a
person looks before anyone believes it.

Defaults and where they come from (heuristics, not theorems; every one is configurable
under ``gates.suspect``):

``sharpe_max = 3.0`` (annualised, out of sample, after costs)
    Published hedge-fund index Sharpe ratios sit well below 2 (Getmansky, Lo & Makarov
    2004, J. Financial Economics 74); Harvey & Liu (2015, "Backtesting", J. Portfolio
    Management 42) treat annual Sharpe ratios above 3 in backtests as a sign of data
    mining or error. A daily long-only or long-short equity rule above 3 is almost
    always a bug.
``cagr_max = 1.0`` (100 % a year)
    Compounding above 100 % a year for years is not seen in audited fund records.
``ic_max = 0.10`` (mean cross-sectional rank IC of the decided weights with the next
    bar's returns)
    Grinold & Kahn (Active Portfolio Management, 2nd ed. 2000, ch. 6 and 10) call an IC
    of 0.05 good and 0.10 great for a real forecaster; higher is usually leakage.
``hit_rate_max = 0.70`` over at least ``min_periods = 200`` bars that moved
    Daily hit rates of honest equity strategies cluster at 50-56 %; 70 % over hundreds
    of bars is a small-probability event for any realistic edge (a binomial with
    p = 0.56 exceeds 0.70 over 200 bars with probability below 1e-4).
``down_share_min = 0.15`` over at least ``min_periods`` bars that moved
    Share of losing bars: an equity curve with almost no down days. A daily equity
    strategy with 85 % of its moving days up is the mirror image of the hit-rate test
    and is kept separately so the reason reads the way the chart looks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SuspectSpec", "SuspectVerdict", "judge_suspect", "weight_ic"]


class SuspectSpec(BaseModel):
    """Config block ``gates.suspect`` (set a threshold to null to drop that test)."""

    model_config = ConfigDict(extra="forbid")

    sharpe_max: float | None = Field(3.0, gt=0)
    cagr_max: float | None = Field(1.0, gt=0)
    ic_max: float | None = Field(0.10, gt=0, le=1)
    hit_rate_max: float | None = Field(0.70, gt=0.5, le=1)
    down_share_min: float | None = Field(0.15, ge=0, lt=0.5)
    min_periods: int = Field(200, ge=1)


@dataclass(frozen=True)
class SuspectVerdict:
    """``suspect`` is True when any reason fired; ``evidence`` holds the measured values."""

    suspect: bool
    reasons: tuple[str, ...]
    evidence: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        ev = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in self.evidence.items()
        }
        return {"suspect": self.suspect, "reasons": list(self.reasons), "evidence": ev}


def weight_ic(weights: np.ndarray, close: np.ndarray, min_assets: int = 3) -> float:
    """Mean Spearman IC of decided weights with the next bar's close-to-close return.

    Parameters
    ----------
    weights : numpy.ndarray, shape ``(n_dates, n_assets)``
        Target weights, NaN rows = no decision.
    close : numpy.ndarray, shape ``(n_dates, n_assets)``
    min_assets : int

    Returns
    -------
    float
        NaN when no decision row has ``min_assets`` assets with a weight and a return, or
        when every weight row is constant (an equal-weight book has no cross-section).
    """
    from alphalab.features.factors import information_coefficient

    w = np.asarray(weights, dtype=np.float64)
    c = np.asarray(close, dtype=np.float64)
    fwd = np.full_like(c, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        fwd[:-1] = c[1:] / c[:-1] - 1.0
    decided = np.isfinite(w).any(axis=1)
    with np.errstate(invalid="ignore"):
        # a row of equal weights has no cross-section to correlate: no IC that day
        spread = np.nanmax(np.where(np.isfinite(w), w, -np.inf), axis=1) - np.nanmin(
            np.where(np.isfinite(w), w, np.inf), axis=1
        )
    decided &= spread > 0
    if not decided.any():
        return math.nan
    # only the decision rows: ranking every NaN row of a daily panel costs for nothing
    w = np.nan_to_num(w[decided], nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ic = information_coefficient(w, fwd[decided], min_assets=min_assets).to_numpy()
    ic = ic[np.isfinite(ic)]
    return float(math.fsum(ic.tolist()) / ic.size) if ic.size else math.nan


def judge_suspect(
    spec: SuspectSpec | None,
    metrics: Mapping[str, Any],
    returns: np.ndarray,
    *,
    ic: float | None = None,
) -> SuspectVerdict:
    """Compare an out-of-sample record with what honest daily strategies produce.

    Parameters
    ----------
    spec : SuspectSpec, optional
        Thresholds (default :class:`SuspectSpec()`).
    metrics : mapping
        ``sharpe`` (annualised) and ``cagr`` as :func:`alphalab.metrics.compute_metrics`
        gives them.
    returns : numpy.ndarray, shape ``(n_periods,)``
        Out-of-sample period returns.
    ic : float, optional
        Mean rank IC of the decisions (:func:`weight_ic`).
    """
    spec = spec or SuspectSpec()
    r = np.asarray(returns, dtype=np.float64)
    moved = r[np.isfinite(r) & (r != 0.0)]
    n = int(moved.size)
    hit = float(np.mean(moved > 0)) if n else math.nan
    down = float(np.mean(moved < 0)) if n else math.nan
    sharpe = _f(metrics.get("sharpe"))
    cagr = _f(metrics.get("cagr"))
    ev = {"sharpe": sharpe, "cagr": cagr, "ic": _f(ic), "hit_rate": hit, "down_share": down,
          "n_moving_periods": n}  # fmt: skip
    reasons = []
    if spec.sharpe_max is not None and sharpe > spec.sharpe_max:
        reasons.append(f"out-of-sample Sharpe {sharpe:.2f} > {spec.sharpe_max:g}")
    if spec.cagr_max is not None and cagr > spec.cagr_max:
        reasons.append(f"CAGR {cagr:.1%} > {spec.cagr_max:.0%} a year")
    if spec.ic_max is not None and _f(ic) > spec.ic_max:
        reasons.append(f"mean rank IC of the decisions {float(ic):.3f} > {spec.ic_max:g}")
    if n >= spec.min_periods:
        if spec.hit_rate_max is not None and hit > spec.hit_rate_max:
            reasons.append(f"hit rate {hit:.1%} over {n} periods > {spec.hit_rate_max:.0%}")
        if spec.down_share_min is not None and down < spec.down_share_min:
            reasons.append(
                f"only {down:.1%} of {n} moving periods were down (< {spec.down_share_min:.0%})"
            )
    return SuspectVerdict(bool(reasons), tuple(reasons), ev)


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v
