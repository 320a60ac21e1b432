"""Learned variance forecasters: the GINN loss, QLIKE by hand, determinism and the leakage guard (tiny nets)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.models.evaluation import qlike
from alphalab.models.vol.learners import (
    DeepARForecaster,
    GINNForecaster,
    LightGBMVolForecaster,
    ginn_loss,
    windows,
)
from alphalab.testing.conformance import check_forecaster

TINY = {"hidden": 3, "epochs": 2, "lookback": 15, "max_samples": 600, "batch_size": 128}


@pytest.fixture(scope="module")
def small(tw_panel: Panel) -> Panel:
    return tw_panel.select_assets(list(tw_panel.assets[:3])).iloc_dates(slice(0, 420))


def test_ginn_loss_hand_values() -> None:
    pred, y, g = np.array([1.0, 2.0]), np.array([2.0, 2.0]), np.array([1.0, 4.0])
    # MSE(pred, y) = 0.5, MSE(pred, g) = 2
    assert ginn_loss(pred, y, g, 1.0) == pytest.approx(0.5)  # lam = 1: plain MSE on the target
    assert ginn_loss(pred, y, g, 0.0) == pytest.approx(2.0)  # lam = 0: only the GARCH forecast
    assert ginn_loss(pred, y, g, 0.25) == pytest.approx(0.25 * 0.5 + 0.75 * 2.0)
    assert ginn_loss(g, y, g, 0.0) == 0.0


def test_qlike_hand_value() -> None:
    r, f = np.array([1.0, 4.0]), np.array([2.0, 2.0])
    expected = np.mean([0.5 - math.log(0.5) - 1, 2.0 - math.log(2.0) - 1])
    assert qlike(r, f) == pytest.approx(expected)
    assert qlike(f, f) == 0.0


def test_windows_pad_and_order() -> None:
    r = np.arange(12, dtype=float).reshape(6, 2)
    r[2, 1] = np.nan
    w = windows(r, np.array([0, 3]), np.array([0, 1]), 3)
    np.testing.assert_array_equal(w, [[0, 0, 0], [3, 0, 7]])  # row 3 asset 1: r[1..3] = 3, nan -> 0, 7


def test_lam_zero_learns_the_garch_forecast(small: Panel) -> None:
    """GINN-0 tracks the GARCH input more closely than the plain LSTM does."""
    from alphalab.models.vol.learners import garch_feature

    kw = {**TINY, "epochs": 6, "inputs": ["returns", "garch"], "max_samples": 900}
    dates = small.dates[381:420]
    g = garch_feature(small, 5)[381:420] * 1e4
    err = {}
    for lam in (0.0, 1.0):
        f = GINNForecaster(lam=lam, random_state=0, **kw).fit(small, small.dates[380])
        v = f.predict(small, dates).variance * 1e4
        err[lam] = float(np.nanmean((v - g) ** 2))
    assert err[0.0] < err[1.0]


@pytest.mark.parametrize("forecaster", [
    GINNForecaster(lam=0.5, inputs=["returns", "garch", "calendar"], **TINY),
    GINNForecaster(lam=1.0, inputs=["returns"], revin=True, log1p=True, **TINY),
    DeepARForecaster(likelihood="t", **TINY),
    LightGBMVolForecaster(inputs=["returns", "garch"], n_estimators=10, min_child_samples=20),
], ids=["ginn", "lstm_revin_log1p", "deepar_t", "lgbm_vol"])
def test_conformance(forecaster, small: Panel) -> None:
    check_forecaster(forecaster, small, fit_until=small.dates[380], n_decisions=5)


@pytest.mark.slow
def test_ginn_with_alphas_conformance(small: Panel) -> None:
    check_forecaster(GINNForecaster(inputs=["returns", "alphas"], alphas=["alpha001", "alpha012"], **TINY),
                     small, fit_until=small.dates[380], n_decisions=4)


def test_deepar_quantiles_are_ordered(small: Panel) -> None:
    f = DeepARForecaster(**TINY, random_state=1).fit(small, small.dates[380])
    fc = f.predict(small, small.dates[390:395])
    qs = [fc.quantiles[q] for q in sorted(fc.quantiles)]
    for lo, hi in itertools.pairwise(qs):
        assert (lo <= hi).all()
    assert f.diagnostics_["n_samples"] > 0 and len(f.diagnostics_["training_curve"]) >= 1


def test_feature_cache_reuses_a_prefix_only_when_the_data_agree(small: Panel) -> None:
    """A training window's inputs are the whole panel's first rows (causal arrays), bit for bit;
    a perturbed copy is computed afresh."""
    from alphalab.models.vol import learners as L
    from alphalab.testing.leakage import perturb_after

    short = small.until(small.dates[300])
    L._CACHE.clear()
    L._PREFIX.clear()
    fresh_g = L.garch_feature(short, 7).copy()
    fresh_a = L.alpha_feature(short, ["alpha012"]).copy()
    L._CACHE.clear()
    L._PREFIX.clear()
    long_g = L.garch_feature(small, 7)
    long_a = L.alpha_feature(small, ["alpha012"])
    np.testing.assert_array_equal(L.garch_feature(short, 7), fresh_g)  # served from the long panel's arrays
    np.testing.assert_array_equal(L.alpha_feature(short, ["alpha012"]), fresh_a)
    assert np.shares_memory(L.garch_feature(short, 7), long_g) and np.shares_memory(
        L.alpha_feature(short, ["alpha012"]), long_a)
    moved = perturb_after(small, 200, "scale", seed=2).until(small.dates[300])
    assert not np.shares_memory(L.garch_feature(moved, 7), long_g)
    np.testing.assert_array_equal(L.garch_feature(moved, 7)[:201], fresh_g[:201])


def test_feature_cache_never_serves_a_guard_copy_whose_buffer_was_restored(small: Panel) -> None:
    """The leakage guard perturbs one shared buffer in place and restores it after each check:
    inputs computed on a perturbed copy must not later be served, as a prefix, to a panel of the
    original data (the restored buffer looks like it, the cached array does not)."""
    from alphalab.models.vol import learners as L
    from alphalab.validation.guard import _Workspace

    ws = _Workspace(small, seed=0)
    r, length, n = 200, 330, 280
    for cache in (L._CACHE, L._PREFIX, L._HASHES):
        cache.clear()
    with ws.hybrid(r, length) as copy:
        perturbed = L.garch_feature(copy, 7).copy()
        served_inside = L.garch_feature(copy.iloc_dates(slice(0, n)), 7)  # same data: may be served
        np.testing.assert_array_equal(served_inside, perturbed[:n])
    after = L.garch_feature(small.iloc_dates(slice(0, n)), 7).copy()
    for cache in (L._CACHE, L._PREFIX, L._HASHES):
        cache.clear()
    fresh = L.garch_feature(small.iloc_dates(slice(0, n)), 7)
    assert not np.allclose(perturbed[r + 1 : n], fresh[r + 1 : n], equal_nan=True)  # the copy differed
    np.testing.assert_array_equal(after, fresh)


def test_inputs_from_anchors_the_inputs(small: Panel) -> None:
    """With ``inputs_from`` the forecasts do not depend on the history before the anchor (beyond the
    AR(1) target's 90 rows and the return windows), and rows before it have no inputs."""
    from alphalab.models.vol.learners import build_inputs

    anchor = small.dates[250]
    data = build_inputs(small, ["returns", "garch"], 15, inputs_from=str(anchor.date()))
    assert np.isnan(data["garch"][:250]).all() and np.isfinite(data["garch"][260:]).any()
    later = small.iloc_dates(slice(100, small.n_dates))
    until, dates = small.dates[400], small.dates[401:410]
    for make in (lambda: LightGBMVolForecaster(inputs=["returns", "garch"], n_estimators=10, min_child_samples=20,
                                               inputs_from=str(anchor.date())),
                 lambda: GINNForecaster(inputs=["returns", "garch"], inputs_from=str(anchor.date()), random_state=0,
                                        **TINY)):
        a = make().fit(small, until).predict(small, dates).variance
        b = make().fit(later, until).predict(later, dates).variance
        # equal up to the rounding of running sums (the HAR means are cumulative sums from the panel's start)
        np.testing.assert_allclose(a, b, rtol=1e-6)
