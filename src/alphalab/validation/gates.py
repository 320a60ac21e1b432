"""Acceptance gates: declarative criteria that give PASS or REJECTED with reasons.

A gate that is declared but cannot be measured (no benchmark, no trials, no stress
slice) fails with the reason "not measured": a verdict never passes by omission.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from alphalab.validation.suspect import SuspectSpec

__all__ = [
    "GateCheck",
    "GateSpec",
    "GateVerdict",
    "StressGates",
    "evaluate_gates",
    "gate_evidence",
    "judge_data_health",
    "max_consecutive_losses",
    "profit_factor",
    "with_data_health",
]


class StressGates(BaseModel):
    """Floors on the latest-stress slice."""

    model_config = ConfigDict(extra="forbid")

    sharpe_min: float | None = None
    max_drawdown_max: float | None = Field(None, ge=0, le=1)
    total_return_min: float | None = None


class GateSpec(BaseModel):
    """Acceptance criteria from the study config (every field optional).

    Attributes
    ----------
    min_trades : int
        Minimum number of fills out of sample.
    profit_factor_min : float
        Sum of positive period returns over the absolute sum of negative ones.
    sharpe_min : float
        Annualised Sharpe out of sample.
    max_drawdown_max : float
        Largest tolerated drawdown, a positive fraction (0.35 = 35 %).
    dsr_min : float
        Deflated Sharpe Ratio probability, counting every tuning trial.
    beat_benchmark_by : float
        Required margin of CAGR over the benchmark's CAGR (0.0 = at least match it).
    max_consecutive_losses : int
        Longest tolerated run of losing periods.
    stress : StressGates
        Floors on the stress slice.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_trades: int | None = Field(None, ge=0)
    profit_factor_min: float | None = Field(None, ge=0)
    sharpe_min: float | None = None
    max_drawdown_max: float | None = Field(None, ge=0, le=1)
    dsr_min: float | None = Field(None, ge=0, le=1)
    beat_benchmark_by: float | None = None
    max_consecutive_losses: int | None = Field(None, ge=0)
    stress: StressGates | None = None
    #: Thresholds of the SUSPECT verdict (None = the documented defaults, see
    #: :mod:`alphalab.validation.suspect`).
    suspect: SuspectSpec | None = None
    data_health: bool = Field(
        True,
        description="Reject while error-severity data-health findings remain in the traded "
        "data (repair them with data.repair, or waive a check with data.waive).",
    )

    def is_empty(self) -> bool:
        return not any(
            v is not None
            for k, v in self.model_dump().items()
            if k not in ("stress", "suspect", "data_health")
        ) and (self.stress is None or not any(v is not None for v in self.stress.model_dump().values()))


@dataclass(frozen=True)
class GateCheck:
    """One criterion: the measured value, the threshold and the outcome."""

    name: str
    value: float | None
    threshold: float
    op: str  # ">=" or "<="
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateVerdict:
    """PASS when every declared check passed, else REJECTED with the failing reasons."""

    status: str
    checks: tuple[GateCheck, ...]

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": self.reasons,
            "checks": [asdict(c) for c in self.checks],
        }


def profit_factor(returns: np.ndarray) -> float:
    """``sum(r[r > 0]) / |sum(r[r < 0])|`` over finite period returns (inf with no losses)."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    gains, losses = r[r > 0].sum(), -r[r < 0].sum()
    if losses == 0:
        return math.inf if gains > 0 else math.nan
    return float(gains / losses)


def max_consecutive_losses(returns: np.ndarray) -> int:
    """Length of the longest run of strictly negative period returns."""
    best = run = 0
    for x in np.asarray(returns, dtype=np.float64):
        run = run + 1 if x < 0 else 0
        best = max(best, run)
    return best


_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    # (spec field, evidence key, op, label)
    ("min_trades", "n_trades", ">=", "trades"),
    ("profit_factor_min", "profit_factor", ">=", "profit factor"),
    ("sharpe_min", "sharpe", ">=", "Sharpe"),
    ("max_drawdown_max", "max_drawdown", "<=", "max drawdown"),
    ("dsr_min", "dsr", ">=", "deflated Sharpe probability"),
    ("beat_benchmark_by", "excess_cagr", ">=", "CAGR margin over benchmark"),
    ("max_consecutive_losses", "max_consecutive_losses", "<=", "consecutive losing periods"),
)
_STRESS_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    ("sharpe_min", "stress_sharpe", ">=", "stress-slice Sharpe"),
    ("max_drawdown_max", "stress_max_drawdown", "<=", "stress-slice max drawdown"),
    ("total_return_min", "stress_total_return", ">=", "stress-slice total return"),
)


def _check(label: str, value: Any, threshold: float, op: str) -> GateCheck:
    v = None if value is None else float(value)
    if v is None or math.isnan(v):
        return GateCheck(label, v, threshold, op, False, f"{label} not measured (needed {op} {threshold:g})")
    ok = v >= threshold if op == ">=" else v <= threshold
    reason = f"{label} {v:.4g} {'meets' if ok else 'fails'} {op} {threshold:g}"
    return GateCheck(label, v, threshold, op, ok, reason)


def evaluate_gates(spec: GateSpec | Mapping[str, Any] | None, evidence: Mapping[str, Any]) -> GateVerdict:
    """Judge ``evidence`` (see :func:`gate_evidence`) against ``spec``.

    Returns PASS with no checks when no gate is declared.
    """
    if spec is None:
        spec = GateSpec()
    elif not isinstance(spec, GateSpec):
        spec = GateSpec.model_validate(dict(spec))
    checks = []
    for field, key, op, label in _CHECKS:
        threshold = getattr(spec, field)
        if threshold is not None:
            checks.append(_check(label, evidence.get(key), float(threshold), op))
    if spec.stress is not None:
        for field, key, op, label in _STRESS_CHECKS:
            threshold = getattr(spec.stress, field)
            if threshold is not None:
                checks.append(_check(label, evidence.get(key), float(threshold), op))
    status = "PASS" if all(c.passed for c in checks) else "REJECTED"
    return GateVerdict(status, tuple(checks))


def gate_evidence(
    metrics: Mapping[str, Any],
    returns: np.ndarray,
    *,
    n_trades: int | None = None,
    dsr: float | None = None,
    benchmark_cagr: float | None = None,
    stress_metrics: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Collect the measured values the gates read.

    Parameters
    ----------
    metrics : mapping
        Out-of-sample metrics (keys ``sharpe``, ``max_drawdown``, ``cagr`` as produced by
        :func:`alphalab.metrics.compute_metrics`; drawdown as a negative or positive fraction).
    returns : numpy.ndarray, shape ``(n_periods,)``
        Out-of-sample period returns.
    """
    mdd = metrics.get("max_drawdown")
    ev: dict[str, Any] = {
        "n_trades": n_trades,
        "profit_factor": profit_factor(returns),
        "sharpe": metrics.get("sharpe"),
        "max_drawdown": None if mdd is None else abs(float(mdd)),
        "dsr": dsr,
        "excess_cagr": (
            None
            if benchmark_cagr is None or metrics.get("cagr") is None
            else float(metrics["cagr"]) - float(benchmark_cagr)
        ),
        "max_consecutive_losses": max_consecutive_losses(returns),
    }
    if stress_metrics is not None:
        smdd = stress_metrics.get("max_drawdown")
        ev["stress_sharpe"] = stress_metrics.get("sharpe")
        ev["stress_max_drawdown"] = None if smdd is None else abs(float(smdd))
        ev["stress_total_return"] = stress_metrics.get("total_return")
    return ev


def with_data_health(
    verdict: GateVerdict, remaining: Mapping[str, int], *, enabled: bool = True
) -> GateVerdict:
    """``verdict`` with the data-health check first: it fails while error findings remain.

    Parameters
    ----------
    verdict : GateVerdict
    remaining : mapping
        Check name -> error-severity findings left in the traded data, neither
        repaired nor waived (see :meth:`alphalab.data.repair.DataPolicy.remaining_counts`).
    enabled : bool
        ``gates.data_health``; False records the findings without rejecting.
    """
    n = int(sum(remaining.values()))
    listed = ", ".join(f"{v} {k}" for k, v in sorted(remaining.items()))
    if n == 0:
        check = GateCheck("data health", 0.0, 0.0, "<=", True, "data health: no error findings remain")
    elif enabled:
        check = GateCheck(
            "data health", float(n), 0.0, "<=", False,
            f"data health: {listed} finding(s) remain in the traded data; repair them "
            "(data.repair: [...]) or waive a check with a reason (data.waive: {check: reason})",
        )  # fmt: skip
    else:
        check = GateCheck(
            "data health", float(n), 0.0, "<=", True,
            f"data health: {listed} finding(s) remain (gates.data_health is off)",
        )  # fmt: skip
    checks = (check, *verdict.checks)
    return GateVerdict("PASS" if all(c.passed for c in checks) else "REJECTED", checks)


def judge_data_health(
    validations: Mapping[str, Any], remaining: Mapping[str, int], spec: GateSpec | None
) -> dict[str, Any]:
    """Each strategy's validation with :func:`with_data_health` applied to its verdict.

    ``validations`` maps names to frozen dataclasses with a ``verdict`` field
    (:class:`alphalab.validation.protocol.StrategyValidation`).
    """
    enabled = True if spec is None else bool(spec.data_health)
    return {
        n: replace(v, verdict=with_data_health(v.verdict, remaining, enabled=enabled))
        for n, v in validations.items()
    }
