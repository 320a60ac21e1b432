from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from alphalab.errors import ConfigError
from alphalab.models.vol.risk import christoffersen, kupiec, var_threshold, violations


def test_kupiec_hand_value() -> None:
    # 250 days, 5 violations at the 1% level
    hits = np.zeros(250)
    hits[[10, 50, 90, 130, 170]] = 1
    out = kupiec(hits, 0.01)
    p = 5 / 250
    lr = -2 * (245 * math.log(0.99) + 5 * math.log(0.01) - 245 * math.log(1 - p) - 5 * math.log(p))
    assert out["lr"] == pytest.approx(lr, rel=1e-12)
    assert lr == pytest.approx(1.9568, abs=1e-3)  # the textbook value for 5 of 250 at 1%
    assert out["pvalue"] == pytest.approx(stats.chi2.sf(lr, 1))
    zero = kupiec(np.zeros(100), 0.05)
    assert zero["lr"] == pytest.approx(-2 * 100 * math.log(0.95))


def test_christoffersen_hand_value() -> None:
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    out = christoffersen(hits, 0.05)
    a, b = hits[:-1], hits[1:]
    n00, n01 = np.sum((a == 0) & (b == 0)), np.sum((a == 0) & (b == 1))
    n10, n11 = np.sum((a == 1) & (b == 0)), np.sum((a == 1) & (b == 1))
    assert (n00, n01, n10, n11) == (9, 4, 3, 3)
    pi01, pi11, pi = 4 / 13, 3 / 6, 7 / 19
    ll0 = 12 * math.log(1 - pi) + 7 * math.log(pi)
    ll1 = 9 * math.log(1 - pi01) + 4 * math.log(pi01) + 3 * math.log(1 - pi11) + 3 * math.log(pi11)
    assert out["lr_ind"] == pytest.approx(-2 * (ll0 - ll1), rel=1e-12)
    assert out["lr_cc"] == pytest.approx(out["lr_ind"] + kupiec(hits, 0.05)["lr"], rel=1e-12)
    assert out["pvalue_cc"] == pytest.approx(stats.chi2.sf(out["lr_cc"], 2))


def test_var_threshold_and_violations() -> None:
    thr = var_threshold(np.array([0.0004]), 0.05)
    assert thr[0] == pytest.approx(0.02 * stats.norm.ppf(0.05))
    t_thr = var_threshold(np.array([0.0004]), 0.01, dist="t", nu=5)
    assert t_thr[0] == pytest.approx(0.02 * stats.t.ppf(0.01, 5) * math.sqrt(3 / 5))
    v = violations(np.array([-0.05, 0.01, np.nan]), np.array([-0.03, -0.03, -0.03]))
    np.testing.assert_array_equal(v[:2], [1.0, 0.0])
    assert np.isnan(v[2])
    with pytest.raises(ConfigError):
        var_threshold(np.ones(1), 0.7)


def test_calibrated_normal_var_passes_on_simulated_data() -> None:
    rng = np.random.default_rng(0)
    r = rng.standard_normal(5000) * 0.02
    hits = violations(r, var_threshold(np.full(5000, 0.0004), 0.05))
    assert kupiec(hits, 0.05)["pvalue"] > 0.01
    assert christoffersen(hits, 0.05)["pvalue_cc"] > 0.01
