from __future__ import annotations

import math

import numpy as np

from alphalab.validation.overfitting import overfitting_summary, pbo_partitions


def test_pbo_partitions() -> None:
    assert pbo_partitions(1000) == 10
    assert pbo_partitions(100) == 4
    assert pbo_partitions(30) == 0


def test_more_trials_deflate_more() -> None:
    rng = np.random.default_rng(1)
    cands = rng.normal(0.0003, 0.01, size=(750, 8))
    sel = cands[:, 0] + 0.0004
    one = overfitting_summary(sel, None, 1, 252)
    many = overfitting_summary(sel, cands, 200, 252)
    assert one["sr0"] == 0.0 and one["pbo"] is None
    assert many["sr0"] > 0 and many["dsr"] < one["dsr"]
    assert 0.0 <= many["pbo"] <= 1.0 and many["pbo_splits"] == math.comb(10, 5)
    assert many["min_backtest_years"] > 0


def test_degenerate_inputs_give_nan_not_crash() -> None:
    s = overfitting_summary(np.zeros(50), None, 3, 252)
    assert math.isnan(s["dsr"]) and s["min_track_record"] is None
