from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

import alphalab.portfolio  # noqa: F401
from alphalab.portfolio.base import make_strategy
from alphalab.validation.cpcv import CPCVSpec, run_cpcv
from alphalab.validation.protocol import ValidationSpec, validate_strategy
from tests.validation.test_protocol import ENGINE, SPEC, hose  # noqa: F401


def test_cpcv_distribution_on_hose(hose) -> None:  # noqa: F811
    panel, _ = hose
    dev = panel.slice_dates(None, "2018-12-31")
    spec = CPCVSpec(n_groups=6, n_test_groups=2, purge=5, embargo=5)
    out = run_cpcv(make_strategy("momentum_topk", {"k": 5, "lookback": 60}), dev, spec, ENGINE, seed=1)
    assert out["n_splits"] == math.comb(6, 2) == len(out["splits"])
    assert out["sharpe_p05"] <= out["sharpe_p50"] <= out["sharpe_p95"]
    assert 0.0 <= out["share_positive"] <= 1.0
    again = run_cpcv(make_strategy("momentum_topk", {"k": 5, "lookback": 60}), dev, spec, ENGINE, seed=1)
    assert again == out


def test_cpcv_in_the_protocol_stays_out_of_the_holdout(hose) -> None:  # noqa: F811
    panel, _ = hose
    spec = ValidationSpec.model_validate(
        SPEC.model_dump() | {"cpcv": {"n_groups": 4, "n_test_groups": 1}}
    )
    v = validate_strategy("ew", make_strategy("equal_weight"), panel, spec, ENGINE)
    assert v.cpcv is not None and v.cpcv["n_splits"] == 4
    total = sum(s["test_rows"] for s in v.cpcv["splits"])
    assert total == int((panel.dates < "2019-01-01").sum())
    assert v.summary()["cpcv"]["n_splits"] == 4


def test_cpcv_spec_errors() -> None:
    with pytest.raises(ValidationError, match="below n_groups"):
        CPCVSpec(n_groups=3, n_test_groups=3)
    with pytest.raises(ValidationError):
        CPCVSpec(n_groups=1)
