from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from alphalab.validation.gates import (
    GateSpec,
    evaluate_gates,
    gate_evidence,
    max_consecutive_losses,
    profit_factor,
)


def test_profit_factor_and_losing_streak() -> None:
    r = np.array([0.02, -0.01, -0.01, 0.03, -0.02, -0.01, -0.005, 0.01])
    assert profit_factor(r) == pytest.approx(0.06 / 0.055)
    assert max_consecutive_losses(r) == 3
    assert math.isinf(profit_factor(np.array([0.01, 0.02])))
    assert math.isnan(profit_factor(np.array([np.nan, 0.0])))


def test_pass_and_reject_with_reasons() -> None:
    spec = GateSpec(sharpe_min=0.5, max_drawdown_max=0.35, dsr_min=0.9, beat_benchmark_by=0.0,
                    min_trades=10)
    ev = gate_evidence({"sharpe": 0.8, "max_drawdown": -0.2, "cagr": 0.12},
                       np.array([0.01, -0.005, 0.02]), n_trades=40, dsr=0.95, benchmark_cagr=0.08)
    verdict = evaluate_gates(spec, ev)
    assert verdict.status == "PASS" and verdict.passed and verdict.reasons == []
    ev2 = dict(ev, sharpe=0.3, max_drawdown=0.5)
    verdict2 = evaluate_gates(spec, ev2)
    assert verdict2.status == "REJECTED"
    assert any("Sharpe 0.3 fails >= 0.5" in r for r in verdict2.reasons)
    assert any("max drawdown 0.5 fails <= 0.35" in r for r in verdict2.reasons)


def test_unmeasured_gate_fails_never_passes_by_omission() -> None:
    spec = GateSpec(beat_benchmark_by=0.0, stress={"sharpe_min": 0.0})
    ev = gate_evidence({"sharpe": 1.0, "max_drawdown": 0.1, "cagr": 0.1}, np.zeros(5))
    verdict = evaluate_gates(spec, ev)
    assert verdict.status == "REJECTED"
    assert len(verdict.reasons) == 2
    assert all("not measured" in r for r in verdict.reasons)


def test_no_gates_means_pass_and_bad_spec_is_an_error() -> None:
    assert evaluate_gates(None, {}).status == "PASS"
    assert GateSpec().is_empty()
    with pytest.raises(ValidationError):
        GateSpec(sharpe_minimum=1.0)
    with pytest.raises(ValidationError):
        GateSpec(max_drawdown_max=1.5)
    d = evaluate_gates({"sharpe_min": 1.0}, {"sharpe": 2.0}).to_dict()
    assert d["status"] == "PASS" and d["checks"][0]["passed"]
