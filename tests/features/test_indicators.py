"""Indicators: TA-Lib parity on real data, numba/Python twins, leakage, bad input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import talib

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features import indicators as I
from alphalab.testing import assert_no_leakage

OHLCV = ["open", "high", "low", "close", "volume"]
# late listings: APTV (US, 2017), VJC and ROS (VN, 2017 / 2016); LNT and NWL carry bad prints
US = ["AAPL", "XOM", "APTV", "LNT", "GOOGL", "NWL", "AMD"]
VN = ["VNM", "HPG", "VJC", "SAB", "MSN", "FPT", "ROS"]


def _panel(df: pd.DataFrame, tickers: list[str]) -> Panel:
    return Panel.from_long(df[df["ticker"].isin(tickers)], OHLCV)


@pytest.fixture(scope="module", params=["us", "vn"])
def real(request, us_sp500_long: pd.DataFrame, vn30_long: pd.DataFrame) -> Panel:
    if request.param == "us":
        return _panel(us_sp500_long, US)
    return _panel(vn30_long, VN)


def _talib_cols(fn: Callable, *arrays: np.ndarray, **kw) -> list[np.ndarray]:
    """Call TA-Lib column by column from each asset's first complete row."""
    outs: list[np.ndarray] | None = None
    n, m = arrays[0].shape
    for j in range(m):
        cols = [a[:, j] for a in arrays]
        fin = np.all([np.isfinite(x) for x in cols], axis=0)
        first = int(np.argmax(fin))
        # parity is defined on gap-free data (TA-Lib has no NaN handling)
        assert fin[first:].all(), "choose tickers without interior gaps"
        res = fn(*[np.ascontiguousarray(x[first:]) for x in cols], **kw)
        res = res if isinstance(res, tuple) else (res,)
        if outs is None:
            outs = [np.full((n, m), np.nan) for _ in res]
        for o, r in zip(outs, res, strict=True):
            o[first:, j] = r
    assert outs is not None
    return outs


def _parity(ours: np.ndarray, ref: np.ndarray, *, allow_earlier: bool = False) -> None:
    m = np.isfinite(ref)
    assert m.sum() > 1000
    assert np.isfinite(ours[m]).all(), "NaN where TA-Lib has a value"
    if not allow_earlier:
        assert not (np.isfinite(ours) & ~m).any(), "a value where TA-Lib is still warming up"
    scale = np.abs(ref[m]).max()
    np.testing.assert_allclose(ours[m], ref[m], rtol=1e-9, atol=1e-12 * scale)


def _bench(p: Panel) -> np.ndarray:
    return np.array(p["close"][:, 0], copy=True)


def test_talib_parity(real: Panel) -> None:
    _o, h, lo, c, v = (real[f] for f in OHLCV)
    P = _parity
    P(I.sma(c, 30), _talib_cols(talib.SMA, c, timeperiod=30)[0])
    for n in (5, 20, 50):
        P(I.ema(c, n), _talib_cols(talib.EMA, c, timeperiod=n)[0])
    P(I.wma(c, 20), _talib_cols(talib.WMA, c, timeperiod=20)[0])
    P(I.dema(c, 20), _talib_cols(talib.DEMA, c, timeperiod=20)[0])
    ref = _talib_cols(talib.MACD, c, fastperiod=12, slowperiod=26, signalperiod=9)
    ours = I.macd(c, 12, 26, 9)
    P(ours["macd"], ref[0], allow_earlier=True)  # documented: line starts at its own warm-up
    P(ours["signal"], ref[1])
    P(ours["hist"], ref[2])
    P(I.rsi(c, 14), _talib_cols(talib.RSI, c, timeperiod=14)[0])
    ref = _talib_cols(talib.STOCH, h, lo, c, fastk_period=5, slowk_period=3, slowd_period=3)
    st = I.stoch(h, lo, c, 5, 3, 3)
    P(st["k"], ref[0], allow_earlier=True)
    P(st["d"], ref[1])
    P(I.willr(h, lo, c, 14), _talib_cols(talib.WILLR, h, lo, c, timeperiod=14)[0])
    P(I.cci(h, lo, c, 14), _talib_cols(talib.CCI, h, lo, c, timeperiod=14)[0])
    a = I.adx(h, lo, c, 14)
    P(a["adx"], _talib_cols(talib.ADX, h, lo, c, timeperiod=14)[0])
    P(a["plus_di"], _talib_cols(talib.PLUS_DI, h, lo, c, timeperiod=14)[0])
    P(a["minus_di"], _talib_cols(talib.MINUS_DI, h, lo, c, timeperiod=14)[0])
    P(I.atr(h, lo, c, 14), _talib_cols(talib.ATR, h, lo, c, timeperiod=14)[0])
    P(I.natr(h, lo, c, 14), _talib_cols(talib.NATR, h, lo, c, timeperiod=14)[0])
    bb = I.bbands(c, 20, 2.0)
    ref = _talib_cols(talib.BBANDS, c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    for name, r in zip(("upper", "middle", "lower"), ref, strict=True):
        P(bb[name], r)
    P(I.obv(c, v), _talib_cols(talib.OBV, c, v)[0])
    P(I.mfi(h, lo, c, v, 14), _talib_cols(talib.MFI, h, lo, c, v, timeperiod=14)[0])
    P(I.roc(c, 10), _talib_cols(talib.ROC, c, timeperiod=10)[0])
    P(I.mom(c, 10), _talib_cols(talib.MOM, c, timeperiod=10)[0])
    b = _bench(real)
    B = np.broadcast_to(b[:, None], c.shape)
    P(I.beta(c, b, 60), _talib_cols(lambda x, y: talib.BETA(x, y, 60), B, c)[0])
    r = np.full_like(c, np.nan)
    r[1:] = c[1:] / c[:-1] - 1.0
    rb = np.full_like(B, np.nan)
    rb[1:] = B[1:] / B[:-1] - 1.0
    P(I.correlation(c, b, 60), _talib_cols(lambda x, y: talib.CORREL(x, y, 60), r, rb)[0])


def test_lookbacks_match_first_values(real: Panel) -> None:
    c = real["close"]
    first = np.argmax(np.isfinite(c), axis=0)
    for name, d in I.INDICATORS.items():
        params = {"benchmark": _bench(real)} if "benchmark" in d.extra else {}
        out = I.compute_indicator(real, name, **params)
        lb = I.lookback(name)
        starts = []
        for arr in out.values():
            starts.append(np.argmax(np.isfinite(arr), axis=0) - first)
        # the last output to start does so exactly at the declared lookback
        latest = np.max(starts, axis=0)
        assert (latest[first < 200] == lb).all(), (name, latest, lb)


def _gappy(p: Panel) -> Panel:
    arrays = {k: np.array(v, copy=True) for k, v in p.fields.items()}
    for k in arrays:
        arrays[k][60:63, 1] = np.nan
    arrays["close"][120, 0] = np.nan
    arrays["volume"][150:152, 3] = np.nan
    arrays["high"][200, 2] = np.inf
    return Panel(arrays, p.dates, p.assets)


@pytest.fixture(scope="module")
def small(us_sp500_long: pd.DataFrame) -> Panel:
    # APTV lists inside this slice; LNT carries its bad print (2016-05-19)
    return _gappy(_panel(us_sp500_long, US).slice_dates("2016-03-01", "2017-09-01"))


def _call(p: Panel, name: str, engine: str) -> dict[str, np.ndarray]:
    d = I.INDICATORS[name]
    params = {"benchmark": _bench(p)} if "benchmark" in d.extra else {}
    return I.compute_indicator(p, name, engine=engine, **params)


@pytest.mark.parametrize("name", sorted(I.INDICATORS))
def test_numba_and_python_twins_agree(small: Panel, name: str) -> None:
    a, b = _call(small, name, "numba"), _call(small, name, "python")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(np.isnan(a[k]), np.isnan(b[k]), err_msg=f"{name}.{k}")
        scale = np.nanmax(np.abs(b[k])) if np.isfinite(b[k]).any() else 1.0
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12 * scale, err_msg=f"{name}.{k}")


def test_gap_restarts_warm_up(small: Panel) -> None:
    r = I.rsi(small["close"], 14)
    assert np.isnan(r[60 : 63 + 14, 1]).all() and np.isfinite(r[63 + 14, 1])
    m = I.macd(small["close"])
    assert np.isnan(m["signal"][120 : 121 + 33, 0]).all() and np.isfinite(m["signal"][121 + 33, 0])


def test_no_indicator_leaks(small: Panel) -> None:
    def everything(p: Panel) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name in I.INDICATORS:
            for k, v in _call(p, name, "numba").items():
                out[f"{name}.{k}"] = v
        return out

    assert_no_leakage(everything, small, n_trials=4, min_row=50)


def test_constant_series_conventions() -> None:
    n = 60
    c = np.full(n, 10.0)
    h, lo, v = c + 0.0, c + 0.0, np.full(n, 1000.0)
    assert (I.rsi(c, 14)[14:] == 0.0).all()  # TA-Lib: 0 when nothing moves
    assert (I.stoch(h, lo, c)["k"][6:] == 0.0).all()
    assert (I.willr(h, lo, c)[13:] == 0.0).all()
    assert (I.cci(h, lo, c)[13:] == 0.0).all()
    assert (I.atr(h, lo, c)[14:] == 0.0).all()
    bb = I.bbands(c)
    assert (bb["upper"][19:] == 10.0).all() and np.isnan(bb["pctb"]).all()
    assert (bb["width"][19:] == 0.0).all()
    assert np.isnan(I.correlation(c, c, 20)).all() and np.isnan(I.beta(c, c, 20)).all()
    assert (I.obv(c, v) == 1000.0).all()
    assert (I.mfi(h, lo, c, v)[14:] == 0.0).all()
    assert (I.realized_vol(c, 10)[10:] == 0.0).all()
    # talib agrees on the flat-window conventions
    assert np.array_equal(I.rsi(c, 14), talib.RSI(c, 14), equal_nan=True)
    assert np.array_equal(I.willr(h, lo, c), talib.WILLR(h, lo, c), equal_nan=True)
    assert np.array_equal(I.cci(h, lo, c), talib.CCI(h, lo, c), equal_nan=True)


def test_short_series_one_row_and_window_longer_than_data() -> None:
    one = np.array([[5.0]])
    p = Panel({f: one for f in OHLCV}, pd.DatetimeIndex(["2020-01-02"]), ["X"])
    for name, d in I.INDICATORS.items():
        params = {"benchmark": np.array([5.0])} if "benchmark" in d.extra else {}
        out = I.compute_indicator(p, name, **params)
        for k, arr in out.items():
            assert arr.shape == (1, 1)
            if I.lookback(name) > 0:
                assert np.isnan(arr).all(), (name, k)
    assert np.isnan(I.sma(np.arange(5.0), 10)).all()
    assert I.obv(np.array([1.0]), np.array([3.0]))[0] == 3.0


def test_volatility_definitions(small: Panel) -> None:
    o, h, lo, c = (small[f] for f in ("open", "high", "low", "close"))
    j, n = 3, 20
    col = pd.Series(c[:, j])
    want = np.log(col).diff().rolling(n).std() * np.sqrt(252)
    np.testing.assert_allclose(I.realized_vol(c, n)[:, j], want, rtol=1e-9)
    hl = np.log(pd.Series(h[:, j]) / pd.Series(lo[:, j])) ** 2
    want = np.sqrt(hl.rolling(n).mean() / (4 * np.log(2)) * 252)
    np.testing.assert_allclose(I.parkinson_vol(h, lo, n)[:, j], want, rtol=1e-9)
    co = np.log(pd.Series(c[:, j]) / pd.Series(o[:, j])) ** 2
    want = np.sqrt((0.5 * hl - (2 * np.log(2) - 1) * co).rolling(n).mean() * 252)
    np.testing.assert_allclose(I.garman_klass_vol(o, h, lo, c, n)[:, j], want, rtol=1e-9)
    vw = I.vwap(h, lo, c, small["volume"], 14)[:, j]
    tp = pd.Series((h[:, j] + lo[:, j] + c[:, j]) / 3)
    vol = pd.Series(small["volume"][:, j])
    np.testing.assert_allclose(vw, (tp * vol).rolling(14).sum() / vol.rolling(14).sum(), rtol=1e-9)


def test_bad_input(small: Panel) -> None:
    c = small["close"]
    for bad in (0, -1):
        with pytest.raises(ConfigError, match=">= "):
            I.sma(c, bad)
    with pytest.raises(ConfigError, match=">= 2"):
        I.rsi(c, 1)
    with pytest.raises(ConfigError, match="integer"):
        I.ema(c, 2.5)
    with pytest.raises(ConfigError, match="unknown indicator 'nope'"):
        I.compute_indicator(small, "nope")
    with pytest.raises(ConfigError, match="no parameter"):
        I.compute_indicator(small, "rsi", window=3)
    with pytest.raises(ConfigError, match="benchmark"):
        I.compute_indicator(small, "beta")
    with pytest.raises(DataError, match="needs field"):
        I.compute_indicator(small.drop_fields("volume"), "obv")
    with pytest.raises(DataError, match="expected"):
        I.atr(small["high"][:, :2], small["low"], c)
    with pytest.raises(DataError, match="benchmark"):
        I.beta(c, c[:10, 0])
    with pytest.raises(ConfigError, match="engine"):
        I.sma(c, 5, engine="gpu")
    # a benchmark can be named as a field
    b = I.compute_indicator(
        small.with_fields(spx=np.tile(_bench(small)[:, None], (1, c.shape[1]))),
        "beta",
        benchmark="spx",
    )
    np.testing.assert_array_equal(b["beta"], I.beta(c, _bench(small)))
