"""Inputs and targets: shapes, normalisation, availability, causality."""

from __future__ import annotations

import numpy as np

from alphalab.models.deep_portfolio.features import asset_returns, target_returns, window_inputs


def test_window_inputs_normalised_and_causal() -> None:
    rng = np.random.default_rng(0)
    close = 50.0 * np.cumprod(1 + rng.normal(0, 0.01, size=(120, 3)), axis=0)
    close[:30, 2] = np.nan  # asset 2 lists at row 30
    rows = np.array([5, 40, 70, 119])
    x, avail = window_inputs(close, rows, 20)
    assert x.shape == (4, 20, 6) and x.dtype == np.float32
    assert not avail[0].any()  # row 5 < window
    assert avail[1].tolist() == [True, True, False]  # rows 20..40 include NaN for asset 2
    assert avail[2].all()
    assert np.all(x[1, :, [2, 5]] == 0.0)  # unavailable asset: zero inputs
    # price channel z-scored in the window; return channel = return / window std
    lp = np.log(close[51:71, 0])
    assert np.allclose(x[2, :, 0], (lp - lp.mean()) / lp.std(), atol=1e-5)
    r = close[51:71, 1] / close[50:70, 1] - 1
    assert np.allclose(x[2, :, 4], r / r.std(), atol=1e-5)
    # causality: changing rows after 70 leaves the sample of row 70 unchanged
    later = close.copy()
    later[71:] *= 3.0
    x2, _ = window_inputs(later, rows, 20)
    assert np.array_equal(x2[:3], x[:3])


def test_target_returns_lag() -> None:
    close = np.arange(1.0, 11.0)[:, None]
    r = asset_returns(close)
    assert np.isnan(r[0, 0]) and r[1, 0] == 1.0
    t0 = target_returns(close, np.array([2, 8]), 0)
    t1 = target_returns(close, np.array([2, 8]), 1)
    assert t0[0, 0] == close[3, 0] / close[2, 0] - 1 and t0[1, 0] == close[9, 0] / close[8, 0] - 1
    assert t1[0, 0] == close[4, 0] / close[3, 0] - 1 and np.isnan(t1[1, 0])
