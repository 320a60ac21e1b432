"""Metric invariants on random return series (hypothesis, small and fast)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alphalab import metrics as m

RET = st.floats(-0.5, 0.5, allow_nan=False, allow_infinity=False)
SERIES = st.lists(RET, min_size=3, max_size=60).map(np.array)
SCALE = st.floats(0.01, 100.0)
FAST = settings(max_examples=60, deadline=None)


def _varies(r: np.ndarray) -> bool:
    return float(np.std(r)) > 1e-9


@FAST
@given(SERIES, SCALE)
def test_volatility_scales_with_leverage(r: np.ndarray, c: float) -> None:
    assume(_varies(r))
    assert m.volatility(c * r, 252) == pytest.approx(c * m.volatility(r, 252), rel=1e-9)


@FAST
@given(SERIES, SCALE)
def test_sharpe_is_leverage_invariant_without_risk_free(r: np.ndarray, c: float) -> None:
    assume(_varies(r))
    assert m.sharpe(c * r, 252) == pytest.approx(m.sharpe(r, 252), rel=1e-9, abs=1e-12)


@FAST
@given(st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=1, max_size=60).map(np.array))
def test_drawdowns_lie_in_minus_one_to_zero(r: np.ndarray) -> None:
    dd = m.drawdown_series(r)
    assert dd.shape == r.shape
    assert ((dd >= -1.0) & (dd <= 0.0)).all()
    mdd, dur = m.max_drawdown(r), m.max_drawdown_duration(r)
    assert -1.0 <= mdd <= 0.0 and 0 <= dur <= r.size
    assert (dur == 0) == (mdd == 0.0)
    if (r > -1).all():
        # Outside ruin the drawdown is the textbook W_t / peak - 1.
        wealth = np.cumprod(1 + r)
        peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
        np.testing.assert_allclose(dd, wealth / peak - 1, atol=1e-12)


@FAST
@given(st.floats(-0.05, 0.05), st.integers(1, 400), st.sampled_from([12.0, 52.0, 252.0, 245.0]))
def test_cagr_of_a_constant_return(r: float, n: int, ppy: float) -> None:
    got = m.cagr(np.full(n, r), ppy)
    assert got == pytest.approx((1 + r) ** ppy - 1, rel=1e-9, abs=1e-12)


@FAST
@given(SERIES)
def test_total_return_is_compounded_and_ignores_trimmed_nans(r: np.ndarray) -> None:
    padded = np.concatenate([[np.nan, np.nan], r, [np.nan]])
    assert m.total_return(padded) == pytest.approx(math.prod(1 + r) - 1, rel=1e-12, abs=1e-15)


@FAST
@given(SERIES)
def test_same_numbers_from_any_memory_layout(r: np.ndarray) -> None:
    idx = pd.bdate_range("2020-01-01", periods=r.size)
    a = m.compute_metrics(pd.Series(r, index=idx))
    strided = np.empty(2 * r.size)
    strided[::2] = r
    b = m.compute_metrics(pd.Series(strided[::2], index=idx))
    pd.testing.assert_series_equal(a, b, check_exact=True)


@FAST
@given(SERIES, SERIES)
def test_benchmark_metrics_are_consistent(r: np.ndarray, b: np.ndarray) -> None:
    n = min(r.size, b.size)
    r, b = r[:n], b[:n]
    assume(_varies(b) and _varies(r - b))
    beta = m.beta(r, b, 252)
    assert beta == pytest.approx(np.cov(r, b)[0, 1] / np.var(b, ddof=1), rel=1e-7, abs=1e-9)
    ir = m.information_ratio(r, b, 252)
    te = m.tracking_error(r, b, 252)
    assert ir == pytest.approx(np.mean(r - b) * 252 / te, rel=1e-9, abs=1e-12)
