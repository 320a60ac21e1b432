"""The operators added for the GTJA 191 catalogue, each against an independent pandas/numpy reference."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.errors import DataError
from alphalab.features.expr import ProxyFieldWarning, evaluate, get_operator
from alphalab.features.expr import kernels as K


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    """12 tickers x 260 days with NaN gaps punched into close (a late listing included)."""
    tickers = [*sorted(us_sp500_long["ticker"].unique())[::40][:11], "BHF"]
    df = us_sp500_long[us_sp500_long["ticker"].isin(tickers)]
    p = Panel.from_long(df).iloc_dates(slice(-260, None))
    close = np.array(p["close"], copy=True)
    close[50:53, 0] = np.nan
    close[120, 1] = np.nan
    close[200:202, 2] = np.nan
    return p.with_fields(close=close)


def ev(text: str, panel: Panel) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        return evaluate(text, panel)


def frame(panel: Panel, name: str) -> pd.DataFrame:
    return pd.DataFrame(np.array(panel[name]), index=panel.dates, columns=panel.assets)


def windows(x: pd.DataFrame, d: int, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``fn(window)`` for every full, all-finite window of each column (plain Python loop)."""
    a = x.to_numpy(dtype=float)
    out = np.full(a.shape, np.nan)
    for j in range(a.shape[1]):
        for i in range(d - 1, a.shape[0]):
            w = a[i - d + 1 : i + 1, j]
            if np.isfinite(w).all():
                out[i, j] = fn(w)
    return out


def pandas_sma(x: pd.DataFrame, n: int, m: float) -> np.ndarray:
    """pandas ``ewm(alpha=m/n, adjust=False)`` on each run of finite values, first n-1 rows of a run blank."""
    out = pd.DataFrame(np.nan, index=x.index, columns=x.columns)
    for c in x.columns:
        s = x[c]
        ok = s.notna()
        run_id = (~ok).cumsum()
        for _, part in s[ok].groupby(run_id[ok]):
            e = part.ewm(alpha=m / n, adjust=False).mean()
            e.iloc[: n - 1] = np.nan
            out.loc[e.index, c] = e
    return out.to_numpy()


def test_sma_hand_values() -> None:
    x = np.array([[1.0], [2.0], [3.0], [np.nan], [4.0], [6.0]])
    # y = (1*x + 1*y') / 2, burn-in 2 rows, restart after the gap
    np.testing.assert_allclose(K.cn_sma(x, 2, 1.0)[:, 0], [np.nan, 1.5, 2.25, np.nan, np.nan, 5.0])
    # m = n: no smoothing
    np.testing.assert_allclose(K.cn_sma(x, 3, 3.0)[:, 0], [np.nan, np.nan, 3.0, np.nan, np.nan, np.nan])


@pytest.mark.parametrize(("n", "m"), [(7, 2), (20, 1), (3, 1)])
def test_sma_matches_pandas_ewm(panel: Panel, n: int, m: int) -> None:
    c = frame(panel, "close")
    ours = ev(f"sma(close, {n}, {m})", panel)
    np.testing.assert_allclose(ours, pandas_sma(c, n, m), rtol=1e-10, atol=1e-12, equal_nan=True)
    assert np.isnan(ours[50:53 + n - 1, 0]).all() and np.isfinite(ours[53 + n - 1, 0])


def test_sma_bad_weight() -> None:
    with pytest.raises(DataError, match="0 < m <= n"):
        K.cn_sma(np.ones((5, 1)), 3, 4.0)


def test_decay_exp_matches_weighted_average(panel: Panel) -> None:
    c = frame(panel, "close")
    for d, f in [(12, 0.9), (5, 0.5)]:
        w = f ** np.arange(d)[::-1]  # today (last) gets f^0
        ref = windows(c, d, lambda win, w=w: np.average(win, weights=w))
        np.testing.assert_allclose(ev(f"decay_exp(close, {d}, {f})", panel), ref, rtol=1e-10,
                                   equal_nan=True)
    np.testing.assert_allclose(ev("decay_exp(close, 12)", panel), ev("decay_exp(close, 12, 0.9)", panel),
                               equal_nan=True)
    with pytest.raises(DataError, match="factor"):
        K.ts_wma_exp(np.ones((5, 1)), 3, 1.5)


def test_count_and_sumif(panel: Panel) -> None:
    c, v = frame(panel, "close"), frame(panel, "volume")
    up = c > c.shift(1)
    up_ok = up.where(c.notna() & c.shift(1).notna())  # NaN where the comparison is
    ref_count = up_ok.astype(float).rolling(12).sum().to_numpy()
    np.testing.assert_allclose(ev("count(close > delay(close, 1), 12)", panel), ref_count, equal_nan=True)
    # SUMIF(volume, 10, cond) by hand per window
    cond = up_ok.to_numpy(dtype=float)
    vol = v.to_numpy(dtype=float)
    ref = np.full(vol.shape, np.nan)
    for j in range(vol.shape[1]):
        for i in range(9, vol.shape[0]):
            cw, vw = cond[i - 9 : i + 1, j], vol[i - 9 : i + 1, j]
            if np.isfinite(cw).all() and np.isfinite(vw[cw == 1]).all():
                ref[i, j] = vw[cw == 1].sum()
    np.testing.assert_allclose(ev("sumif(volume, 10, close > delay(close, 1))", panel), ref,
                               rtol=1e-12, equal_nan=True)


def test_highday_lowday(panel: Panel) -> None:
    h = frame(panel, "high")
    # rows since the extreme; numpy.argmax takes the first (oldest) of ties
    np.testing.assert_array_equal(ev("highday(high, 20)", panel),
                                  windows(h, 20, lambda w: 19 - np.argmax(w)))
    np.testing.assert_array_equal(ev("lowday(close, 6)", panel),
                                  windows(frame(panel, "close"), 6, lambda w: 5 - np.argmin(w)))
    x = np.array([[1.0], [3.0], [2.0], [3.0]])
    np.testing.assert_array_equal(get_operator("highday").fn(x, 3)[:, 0], [np.nan, np.nan, 1.0, 2.0])


def test_regbeta_regresi_match_polyfit(panel: Panel) -> None:
    c, o = frame(panel, "close"), frame(panel, "open")
    d = 15
    a_c, a_o = c.to_numpy(), o.to_numpy()
    beta = np.full(a_c.shape, np.nan)
    resi = np.full(a_c.shape, np.nan)
    for j in range(a_c.shape[1]):
        for i in range(d - 1, a_c.shape[0]):
            y, x = a_c[i - d + 1 : i + 1, j], a_o[i - d + 1 : i + 1, j]
            if np.isfinite(y).all() and np.isfinite(x).all():
                b, a = np.polyfit(x, y, 1)
                beta[i, j], resi[i, j] = b, y[-1] - (a + b * x[-1])
    np.testing.assert_allclose(ev(f"regbeta(close, open, {d})", panel), beta, rtol=1e-6, atol=1e-9,
                               equal_nan=True)
    np.testing.assert_allclose(ev(f"regresi(close, open, {d})", panel), resi, rtol=1e-6, atol=1e-7,
                               equal_nan=True)


def test_gtja_spellings_are_aliases() -> None:
    for alias, name in [("tsmin", "ts_min"), ("tsmax", "ts_max"), ("tsrank", "ts_rank"),
                        ("decaylinear", "decay_linear"), ("wma_exp", "decay_exp")]:
        assert get_operator(alias) is get_operator(name)
    assert get_operator("sma").signature == "xdn" and get_operator("sma").min_args == 3
