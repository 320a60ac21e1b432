"""Founding gates: defaults, reasons per failed check, inf / NaN handled."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alphalab.analyses import _json_safe
from alphalab.errors import ConfigError
from alphalab.validation.pm_gates import PMGates, evaluate_pm_gates, trade_metrics


def test_trade_metrics_by_hand() -> None:
    m = trade_metrics(np.array([10.0, -5.0, -5.0, 20.0, -1.0]))
    assert m["n_trades"] == 5 and m["win_rate"] == 0.4 and m["total_edge_bps"] == 19.0
    assert m["profit_factor"] == pytest.approx(30 / 11) and m["max_consecutive_losses"] == 2
    assert m["max_drawdown_bps"] == 10.0
    assert trade_metrics(np.array([5.0]))["profit_factor"] == math.inf
    assert math.isnan(trade_metrics(np.array([]))["profit_factor"])


def _m(n, total, pf, consec):
    return {"n_trades": n, "total_edge_bps": total, "avg_edge_bps": total / n if n else math.nan,
            "profit_factor": pf, "max_consecutive_losses": consec}


def test_pass_and_each_rejection_reason() -> None:
    ok = evaluate_pm_gates(_m(100, 500.0, 1.3, 4), _m(30, -60.0, 1.05, 5))  # stress avg -2 bps >= -3
    assert ok["verdict"] == "PASS" and ok["reasons"] == []
    bad = evaluate_pm_gates(_m(50, -10.0, 0.9, 9), _m(10, -400.0, 0.8, 11))
    codes = {c["code"] for c in bad["checks"] if not c["passed"]}
    assert bad["verdict"] == "REJECTED" and codes == {
        "validation_total_edge", "validation_min_trades", "validation_profit_factor", "validation_avg_edge",
        "validation_consecutive_losses", "stress_min_trades", "stress_profit_factor", "stress_avg_edge",
        "stress_consecutive_losses", "stress_loss_vs_validation_gain"}
    # stress loss vs half the validation gain (+500): -300 fails, -200 passes
    assert not evaluate_pm_gates(_m(100, 500.0, 1.3, 4), _m(100, -300.0, 1.0, 5))["checks"][-1]["passed"]
    assert evaluate_pm_gates(_m(100, 500.0, 1.3, 4), _m(100, -200.0, 1.0, 5))["checks"][-1]["passed"]
    # configurable
    assert evaluate_pm_gates(_m(50, 10.0, 1.3, 4), _m(30, 0.0, 1.0, 5), PMGates(validation_min_trades=40))["verdict"] == "PASS"


def test_inf_and_nan_become_valid_json() -> None:
    v = evaluate_pm_gates(trade_metrics(np.array([5.0, 6.0])), trade_metrics(np.array([])))
    text = json.dumps(_json_safe(v), allow_nan=False)
    back = json.loads(text)
    assert back["checks"][2]["value"] is None or back["checks"][2]["value"] > 0
    assert back["verdict"] == "REJECTED"


def test_gate_keys_checked() -> None:
    with pytest.raises(ConfigError, match="no key"):
        PMGates.from_dict({"validation_trades": 3})
    with pytest.raises(ConfigError, match="finite"):
        PMGates.from_dict({"stress_min_trades": math.inf})
