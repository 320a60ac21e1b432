"""Trade-level metrics and the founding acceptance gates of the position-manager recipe.

Gates (defaults = the founding trainer's; every threshold configurable)::

    validation: total edge > 0, trades >= 80, profit factor >= 1.15, average edge > 0,
                consecutive losses <= 8
    stress:     trades >= 20, profit factor >= 1.0, average edge >= -3 bps,
                consecutive losses <= 10, stress loss no worse than half the validation gain
                (stress total >= -0.5 x validation total)

Reason codes are ``<split>_<check>`` (e.g. ``validation_min_trades``) with a message
giving the value and the threshold; the verdict is ``PASS`` or ``REJECTED``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from alphalab.errors import ConfigError

__all__ = ["PMGates", "evaluate_pm_gates", "trade_metrics"]


def trade_metrics(edges_bps: np.ndarray) -> dict[str, float]:
    """count, win rate, average / total edge, profit factor, max consecutive losses, max drawdown (bps).

    ``edges_bps`` : shape ``(n_trades,)`` in close order. Profit factor is ``inf`` with
    gains and no losses, NaN with no trades (written as null in JSON).
    """
    e = np.asarray(edges_bps, dtype=np.float64)
    e = e[np.isfinite(e)]
    n = int(e.size)
    gains, losses = float(e[e > 0].sum()), float(-e[e < 0].sum())
    pf = gains / losses if losses > 0 else (math.inf if gains > 0 else math.nan)
    run = best = 0
    for x in e:
        run = run + 1 if x < 0 else 0
        best = max(best, run)
    cum = np.cumsum(e)
    mdd = float(np.max(np.maximum.accumulate(np.maximum(cum, 0.0)) - cum)) if n else 0.0
    return {"n_trades": n, "win_rate": float((e > 0).mean()) if n else math.nan,
            "avg_edge_bps": float(e.mean()) if n else math.nan, "total_edge_bps": float(e.sum()),
            "profit_factor": pf, "max_consecutive_losses": best, "max_drawdown_bps": max(mdd, 0.0)}


@dataclass(frozen=True)
class PMGates:
    """Gate thresholds (see the module docstring)."""

    validation_min_total_edge_bps: float = 0.0       # strictly greater than
    validation_min_trades: int = 80
    validation_min_profit_factor: float = 1.15
    validation_min_avg_edge_bps: float = 0.0         # strictly greater than
    validation_max_consecutive_losses: int = 8
    stress_min_trades: int = 20
    stress_min_profit_factor: float = 1.0
    stress_min_avg_edge_bps: float = -3.0
    stress_max_consecutive_losses: int = 10
    stress_max_loss_share_of_validation_gain: float = 0.5

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | None) -> PMGates:
        spec = dict(spec or {})
        names = {f.name for f in fields(cls)}
        bad = sorted(set(spec) - names)
        if bad:
            raise ConfigError(f"gates has no key(s) {bad}; valid: {sorted(names)}")
        for k, v in spec.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise ConfigError(f"gates.{k} must be a finite number, got {v!r}")
        return cls(**spec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _num(x: Any) -> float:
    return float(x) if x is not None and not (isinstance(x, float) and math.isnan(x)) else math.nan


def evaluate_pm_gates(validation: Mapping[str, Any], stress: Mapping[str, Any],
                      gates: PMGates | None = None) -> dict[str, Any]:
    """``{"verdict": "PASS" | "REJECTED", "reasons": [...], "checks": [...]}`` from two metric dicts."""
    g = gates or PMGates()
    checks: list[dict[str, Any]] = []

    def check(code: str, value: float, op: str, thr: float) -> None:
        v = _num(value)
        ok = {">": v > thr, ">=": v >= thr, "<=": v <= thr}[op] if math.isfinite(v) or math.isinf(v) else False
        checks.append({"code": code, "value": v, "op": op, "threshold": thr, "passed": bool(ok),
                       "message": f"{code}: {v:.4g} (needs {op} {thr:g})"})

    v, s = validation, stress
    check("validation_total_edge", v["total_edge_bps"], ">", g.validation_min_total_edge_bps)
    check("validation_min_trades", v["n_trades"], ">=", g.validation_min_trades)
    check("validation_profit_factor", v["profit_factor"], ">=", g.validation_min_profit_factor)
    check("validation_avg_edge", v["avg_edge_bps"], ">", g.validation_min_avg_edge_bps)
    check("validation_consecutive_losses", v["max_consecutive_losses"], "<=", g.validation_max_consecutive_losses)
    check("stress_min_trades", s["n_trades"], ">=", g.stress_min_trades)
    check("stress_profit_factor", s["profit_factor"], ">=", g.stress_min_profit_factor)
    check("stress_avg_edge", s["avg_edge_bps"], ">=", g.stress_min_avg_edge_bps)
    check("stress_consecutive_losses", s["max_consecutive_losses"], "<=", g.stress_max_consecutive_losses)
    gain = max(_num(v["total_edge_bps"]), 0.0) if math.isfinite(_num(v["total_edge_bps"])) else 0.0
    check("stress_loss_vs_validation_gain", s["total_edge_bps"], ">=", -g.stress_max_loss_share_of_validation_gain * gain)
    reasons = [c["message"] for c in checks if not c["passed"]]
    return {"verdict": "PASS" if not reasons else "REJECTED", "reasons": reasons, "checks": checks}
