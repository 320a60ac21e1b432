"""Rolling primitives: numba kernels agree with their Python twins and with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features import rolling as R
from alphalab.testing import assert_no_leakage

TICKERS = ["AAPL", "XOM", "APTV", "LNT", "NWL", "BHF", "GOOGL"]

UNARY = [
    R.rolling_sum,
    R.rolling_mean,
    R.rolling_var,
    R.rolling_std,
    R.rolling_zscore,
    R.rolling_max,
    R.rolling_min,
    R.rolling_argmax,
    R.rolling_argmin,
    R.rolling_rank,
    R.rolling_prod,
    R.rolling_skew,
    R.rolling_kurt,
    R.decay_linear,
    R.ewm_mean,
]


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    df = us_sp500_long[us_sp500_long["ticker"].isin(TICKERS)]
    return Panel.from_long(df, ["open", "high", "low", "close", "volume"]).iloc_dates(
        slice(800, 1259)
    )


@pytest.fixture(scope="module")
def gappy(panel: Panel) -> np.ndarray:
    """Real closes with NaN holes of several lengths (and an inf) punched in."""
    x = np.array(panel["close"], copy=True)
    col = {a: j for j, a in enumerate(panel.assets)}
    x[50, col["AAPL"]] = np.nan
    x[100:103, col["XOM"]] = np.nan
    x[200:260, col["GOOGL"]] = np.nan
    x[7, col["LNT"]] = np.inf
    x[300:, col["NWL"]] = x[300, col["NWL"]]  # a constant tail
    return x


def _col(panel: Panel, name: str) -> int:
    return int(panel.assets.get_loc(name))


def _agree(k: np.ndarray, t: np.ndarray, rtol: float = 1e-9) -> None:
    assert k.shape == t.shape
    np.testing.assert_array_equal(np.isnan(k), np.isnan(t))
    scale = np.nanmax(np.abs(t)) if np.isfinite(t).any() else 1.0
    np.testing.assert_allclose(k, t, rtol=rtol, atol=1e-12 * scale)


def _returns(x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[1:] = x[1:] / x[:-1] - 1.0
    return out


@pytest.mark.parametrize("fn", UNARY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("window", [1, 2, 5, 20])
def test_unary_twins_agree_on_real_data(fn, window: int, gappy: np.ndarray) -> None:
    twin = R.TWINS[fn]
    x = _returns(gappy) + 1.0 if fn is R.rolling_prod else gappy
    _agree(fn(x, window), twin(x, window))


@pytest.mark.parametrize("fn", [R.rolling_cov, R.rolling_corr], ids=lambda f: f.__name__)
@pytest.mark.parametrize("window", [1, 3, 20])
def test_binary_twins_agree(fn, window: int, gappy: np.ndarray, panel: Panel) -> None:
    twin = R.TWINS[fn]
    y = np.array(panel["volume"], copy=True)
    y[30:33, 0] = np.nan
    _agree(fn(gappy, y, window), twin(gappy, y, window))
    # one benchmark column broadcast to every asset
    bench = gappy[:, 0]
    _agree(
        fn(_returns(gappy), _returns(bench[:, None])[:, 0], window),
        twin(_returns(gappy), _returns(bench[:, None]), window),
    )


@pytest.mark.parametrize("ddof", [0, 1])
def test_moment_ddof_twins(ddof: int, gappy: np.ndarray) -> None:
    for fn in (R.rolling_var, R.rolling_std, R.rolling_zscore):
        _agree(fn(gappy, 10, ddof=ddof), R.TWINS[fn](gappy, 10, ddof=ddof))
    _agree(
        R.rolling_cov(gappy, gappy[::-1], 10, ddof=ddof),
        R.rolling_cov_py(gappy, gappy[::-1], 10, ddof=ddof),
    )


def test_agree_with_pandas_where_defined(panel: Panel) -> None:
    df = panel.frame("close")
    x = df.to_numpy()
    w = 15
    roll = df.rolling(w)
    for ours, ref in [
        (R.rolling_mean(x, w), roll.mean()),
        (R.rolling_std(x, w), roll.std()),
        (R.rolling_var(x, w, ddof=0), roll.var(ddof=0)),
        (R.rolling_max(x, w), roll.max()),
        (R.rolling_skew(x, w), roll.skew()),
        (R.rolling_kurt(x, w), roll.kurt()),
        (R.rolling_rank(x, w), roll.rank()),
        (R.rolling_zscore(x, w), (df - roll.mean()) / roll.std()),
        (R.rolling_corr(x, panel["volume"], w), df.rolling(w).corr(panel.frame("volume"))),
    ]:
        np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-7, atol=1e-9)


def test_stable_on_large_offset_long_series() -> None:
    # a price near 1e6 moving by cents: naive sum-of-squares would lose every digit
    rng = np.random.default_rng(7)
    x = 1e6 + np.cumsum(rng.normal(0, 0.01, size=(6000, 2)), axis=0)
    for fn in (R.rolling_std, R.rolling_zscore, R.rolling_var, R.rolling_mean):
        k, t = fn(x, 30), R.TWINS[fn](x, 30)
        # z is (x - mean) / std: its absolute error is eps * |x| / std for any method
        atol = 1e-7 if fn is R.rolling_zscore else 0.0
        np.testing.assert_allclose(k, t, rtol=1e-9, atol=atol)
    c = R.rolling_corr(x[:, :1], x[:, 1:], 30)
    np.testing.assert_allclose(c, R.rolling_corr_py(x[:, :1], x[:, 1:], 30), atol=1e-8)


def test_nan_rules_gap_restart_and_late_listing(gappy: np.ndarray, panel: Panel) -> None:
    m = R.rolling_mean(gappy, 5)
    xom, lnt, aptv, googl = (_col(panel, t) for t in ("XOM", "LNT", "APTV", "GOOGL"))
    # NaN until 5 finite values after the 3-row hole at 100..102
    assert np.isnan(m[100:107, xom]).all() and np.isfinite(m[107, xom])
    # the inf is treated like a NaN
    assert np.isnan(m[7:12, lnt]).all() and np.isfinite(m[12, lnt])
    # late listing: leading NaNs, first output at its 5th row
    first = int(np.argmax(np.isfinite(gappy[:, aptv])))
    assert first > 0
    assert np.isnan(m[: first + 4, aptv]).all() and np.isfinite(m[first + 4, aptv])
    e = R.ewm_mean(gappy, 10)
    # after the long hole the EMA is re-seeded with the mean of 10 fresh rows
    assert e[269, googl] == pytest.approx(np.mean(gappy[260:270, googl]), rel=1e-12)
    assert np.isnan(e[260:269, googl]).all()


def test_constant_and_degenerate_windows(gappy: np.ndarray, panel: Panel) -> None:
    col = gappy[:, _col(panel, "NWL")]
    assert (R.rolling_var(col, 20)[330:] == 0.0).all()
    assert (R.rolling_std(col, 20)[330:] == 0.0).all()
    assert np.isnan(R.rolling_zscore(col, 20)[330:]).all()
    assert np.isnan(R.rolling_corr(col, gappy[:, 0], 20)[330:]).all()
    assert (R.rolling_cov(col, gappy[:, 0], 20)[330:] == 0.0).all()
    assert np.isnan(R.rolling_skew(col, 20)[330:]).all()
    # ddof=1 with a window of one is undefined
    assert np.isnan(R.rolling_var(col, 1)).all()
    assert (R.rolling_var(col, 1, ddof=0)[np.isfinite(col)] == 0.0).all()
    # ties in argmax resolve to the oldest row, like numpy.argmax
    t = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    assert R.rolling_argmax(t, 3).tolist()[2:] == [1.0, 0.0, 0.0]
    assert R.rolling_rank(t, 3).tolist()[2:] == [2.5, 1.0, 2.5]


def test_short_series_and_one_row() -> None:
    one = np.array([[5.0]])
    for fn in UNARY:
        assert np.isnan(fn(one, 2)).all(), fn.__name__
    assert R.rolling_mean(one, 1)[0, 0] == 5.0
    assert np.isnan(R.rolling_mean(np.arange(4.0), 10)).all()
    assert R.rolling_mean(np.arange(4.0), 2).shape == (4,)
    assert R.rolling_sum(np.empty((0, 3)), 3).shape == (0, 3)


def test_bad_arguments() -> None:
    x = np.ones((10, 2))
    for bad in (0, -3):
        with pytest.raises(ConfigError, match="window must be >= 1"):
            R.rolling_mean(x, bad)
    with pytest.raises(ConfigError, match="integer"):
        R.rolling_std(x, 2.5)
    with pytest.raises(ConfigError, match="ddof"):
        R.rolling_std(x, 5, ddof=2)
    with pytest.raises(ConfigError, match="alpha"):
        R.ewm_mean(x, 5, alpha=1.5)
    with pytest.raises(DataError, match="shape"):
        R.rolling_mean(np.ones((2, 2, 2)), 2)
    with pytest.raises(DataError, match="expected"):
        R.rolling_corr(x, np.ones((10, 3)), 3)


def test_primitives_do_not_leak(panel: Panel) -> None:
    def fn(p: Panel) -> dict[str, np.ndarray]:
        c, v = p["close"], p["volume"]
        return {
            "z": R.rolling_zscore(c, 20),
            "ema": R.ewm_mean(c, 12),
            "corr": R.rolling_corr(c, v, 10),
            "argmax": R.rolling_argmax(c, 10),
            "rank": R.rolling_rank(v, 10),
            "decay": R.decay_linear(c, 10),
        }

    assert_no_leakage(fn, panel)


@st.composite
def _hostile_series(draw: st.DrawFn) -> np.ndarray:
    """Long finite stretches with a few NaN / inf holes, runs of ties and big levels."""
    n = draw(st.integers(1, 400))
    level = draw(st.sampled_from([0.0, 100.0, 1e6]))
    steps = draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n))
    x = level + np.cumsum(np.asarray(steps, dtype=float))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, n - 1))
        x[i] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, n - 1))
        x[i : i + draw(st.integers(1, 90))] = x[i]  # a flat run (ties)
    return x


@settings(max_examples=80, deadline=None)
@given(_hostile_series(), st.integers(1, 70), st.sampled_from([0, 1]))
def test_moment_stretches_give_the_row_by_row_bits(x: np.ndarray, w: int, ddof: int) -> None:
    # full-window stretches skip the per-row tests; a NaN, inf or tie inside
    # one must still give exactly the bits of the row-by-row path
    fast = (np.empty_like(x), np.empty_like(x))
    slow = (np.empty_like(x), np.empty_like(x))
    R._moments_column(x, *fast, w, ddof)
    R._moments_column(x, *slow, w, ddof, False)
    np.testing.assert_array_equal(fast[1], slow[1])
    ok = np.isfinite(fast[1])
    np.testing.assert_array_equal(fast[0][ok], slow[0][ok])


def test_moment_stretches_on_real_closes(gappy: np.ndarray) -> None:
    for w in (2, 20, 60):
        for j in range(gappy.shape[1]):
            x = np.ascontiguousarray(gappy[:, j])
            fast = (np.empty_like(x), np.empty_like(x))
            slow = (np.empty_like(x), np.empty_like(x))
            R._moments_column(x, *fast, w, 1)
            R._moments_column(x, *slow, w, 1, False)
            np.testing.assert_array_equal(fast[1], slow[1])
