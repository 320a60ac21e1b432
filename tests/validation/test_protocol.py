"""The protocol on real HOSE data: walk-forward development metrics, sealed holdout,
stress slice, tuning trials feeding DSR and PBO, gates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import alphalab.portfolio  # noqa: F401 - registers the baselines
from alphalab import ConfigError, Panel
from alphalab.portfolio.base import make_strategy
from alphalab.validation.gates import GateSpec
from alphalab.validation.protocol import PBOSpec, ValidationSpec, validate_strategy
from alphalab.validation.tuning import TuneSpec
from alphalab.validation.walkforward import EngineSettings
from tests.conftest import shared_file

SPEC = ValidationSpec.model_validate(
    {
        "walk_forward": {"train": "3y", "test": "1y", "purge": "5d"},
        "holdout": {"start": "2019-01-01"},
        "stress": {"start": "2018-03-01", "end": "2018-07-31"},
    }
)
ENGINE = EngineSettings(market="vn.hose", rebalance="monthly", execution="next_open",
                        costs={"commission_bps": 15, "slippage_bps": 5})
GATES = GateSpec(sharpe_min=0.3, max_drawdown_max=0.5, dsr_min=0.5, beat_benchmark_by=0.0,
                 min_trades=10, stress={"max_drawdown_max": 0.4})


@pytest.fixture(scope="module")
def hose() -> tuple[Panel, pd.Series]:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"))
    df = df[df["date"] >= "2012-01-01"]
    liquid = df[df["date"] < "2015-01-01"].groupby("ticker")["volume"].median().nlargest(30).index
    panel = Panel.from_long(df[df["ticker"].isin(liquid)], ["open", "high", "low", "close", "volume"])
    idx = pd.read_parquet(shared_file("vnindex_2000_2020.parquet")).set_index("date")["close"]
    bench = idx.reindex(panel.dates).pct_change()
    return panel, bench


def test_development_run_never_touches_the_holdout(hose) -> None:
    panel, bench = hose
    v = validate_strategy("ew", make_strategy("equal_weight"), panel, SPEC, ENGINE,
                          gates=GATES, benchmark=bench)
    assert v.scope == "development"
    assert v.returns.index[-1] < pd.Timestamp("2019-01-01")
    assert v.stress_metrics is not None and v.stress_metrics["n_periods"] > 80
    assert v.overfitting["n_trials"] == 1 and v.overfitting["pbo"] is None
    assert v.verdict.status in ("PASS", "REJECTED")
    assert {c.name for c in v.verdict.checks} >= {"Sharpe", "deflated Sharpe probability"}
    s = v.summary()
    assert s["gates"]["status"] == v.verdict.status and len(s["folds"]) >= 3


def test_tuned_strategy_counts_trials_and_reports_pbo(hose) -> None:
    panel, bench = hose
    tune = TuneSpec(grid={"lookback": [20, 60, 120]}, inner="1y", purge=5)
    v = validate_strategy("mom", make_strategy("momentum_topk", {"k": 5, "lookback": 60}), panel,
                          SPEC, ENGINE, tune=tune, gates=GATES, benchmark=bench, seed=7)
    n_folds = len(v.walk_forward.folds)
    assert v.overfitting["n_trials"] == 3 * n_folds
    assert 0.0 <= v.overfitting["pbo"] <= 1.0
    assert v.overfitting["sr0"] > 0  # selection among trials raises the bar
    assert len(v.candidates) == 3
    assert v.overfitting["pbo_candidates"] == {
        "n_candidates": 3, "n_rerun": 3, "n_not_rerun": 0, "max_candidates": 24,
        "complete": True,
    }  # fmt: skip


def test_pbo_candidate_cap_is_configured_and_recorded(hose) -> None:
    panel, bench = hose
    spec = SPEC.model_copy(update={"pbo": PBOSpec(max_candidates=2)})
    tune = TuneSpec(grid={"lookback": [20, 60, 120]}, inner="1y", purge=5)
    v = validate_strategy("mom", make_strategy("momentum_topk", {"k": 5, "lookback": 60}), panel,
                          spec, ENGINE, tune=tune, benchmark=bench, seed=7)  # fmt: skip
    assert [c["lookback"] for c in v.candidates] == [20, 60]  # grid order, first two
    rec = v.overfitting["pbo_candidates"]
    assert rec == {"n_candidates": 3, "n_rerun": 2, "n_not_rerun": 1, "max_candidates": 2,
                   "complete": False}  # fmt: skip
    assert v.summary()["overfitting"]["pbo_candidates"] == rec
    off = validate_strategy("mom", make_strategy("momentum_topk", {"k": 5, "lookback": 60}),
                            panel, SPEC.model_copy(update={"pbo": PBOSpec(max_candidates=0)}),
                            ENGINE, tune=tune, seed=7)  # fmt: skip
    assert off.overfitting["pbo"] is None and off.overfitting["pbo_candidates"]["n_rerun"] == 0


def test_holdout_only_on_request_and_stress_inside_holdout_is_sealed(hose) -> None:
    panel, _ = hose
    spec = SPEC.model_copy(update={"stress": SPEC.stress.model_copy(
        update={"start": pd.Timestamp("2019-06-01").date(), "end": pd.Timestamp("2019-09-30").date()})})
    dev = validate_strategy("ew", make_strategy("equal_weight"), panel, spec, ENGINE, gates=GATES)
    assert dev.stress_sealed and dev.stress_metrics is None
    assert not any("stress" in c.name for c in dev.verdict.checks)
    ho = validate_strategy("ew", make_strategy("equal_weight"), panel, spec, ENGINE, gates=GATES,
                           holdout=True)
    assert ho.scope == "holdout"
    assert ho.returns.index[0] >= pd.Timestamp("2019-01-01")
    assert ho.stress_metrics is not None
    assert any("stress" in c.name for c in ho.verdict.checks)
    # identical reruns
    again = validate_strategy("ew", make_strategy("equal_weight"), panel, spec, ENGINE, gates=GATES,
                              holdout=True)
    assert np.array_equal(ho.returns.to_numpy(), again.returns.to_numpy())


def test_bad_requests(hose) -> None:
    panel, _ = hose
    no_holdout = ValidationSpec()
    with pytest.raises(ConfigError, match="no holdout"):
        validate_strategy("ew", make_strategy("equal_weight"), panel, no_holdout, ENGINE, holdout=True)
    with pytest.raises(ValidationError, match=r"stress\.end"):
        ValidationSpec.model_validate({"stress": {"start": "2020-01-01", "end": "2019-01-01"}})
    with pytest.raises(ValidationError, match="duration"):
        ValidationSpec.model_validate({"walk_forward": {"train": "three years"}})
