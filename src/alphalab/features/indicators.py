"""Technical indicators on wide ``(n_dates, n_assets)`` arrays and on Panels.

Every indicator is a function of float64 arrays of shape ``(n_dates,
n_assets)`` (1-D ``(n_dates,)`` also works) and returns an array of the same
shape, or a dict of named arrays for multi-output indicators. Each one runs on
numba kernels (:mod:`alphalab.features.rolling`,
:mod:`alphalab.features._kernels`); ``engine="python"`` runs the same
definition on the plain Python twins (tests prove they agree).

On Panels, :func:`compute_indicator` looks an indicator up by name in
:data:`INDICATORS`, reads the fields it needs and returns ``{output name:
array}``; :func:`lookback` gives its warm-up.

Conventions
-----------
* **Warm-up**: each indicator declares its lookback (rows of history before
  the first value); outputs are NaN until then, and NaN after a gap until a
  full window of finite rows is available again (the run rule of
  :mod:`alphalab.features.rolling`). Lookbacks equal TA-Lib's.
* **TA-Lib parity**: where TA-Lib defines the indicator the arithmetic is
  TA-Lib's, including its seeding (EMA, MACD, Wilder RSI / ATR / ADX) and its
  conventions for degenerate windows (0 where TA-Lib returns 0). Every place
  where the definitions differ is listed in ``docs/indicators.md`` and in the
  docstring concerned. TA-Lib has no NaN handling beyond leading NaNs; ours
  restarts after any gap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features import _kernels as K
from alphalab.features import rolling as R

__all__ = [
    "INDICATORS",
    "IndicatorDef",
    "adx",
    "atr",
    "bbands",
    "beta",
    "cci",
    "compute_indicator",
    "correlation",
    "dema",
    "ema",
    "garman_klass_vol",
    "lookback",
    "macd",
    "mfi",
    "mom",
    "natr",
    "obv",
    "parkinson_vol",
    "realized_vol",
    "roc",
    "rsi",
    "sma",
    "stoch",
    "vwap",
    "willr",
    "wma",
]

Array = np.ndarray

_NUMBA = SimpleNamespace(
    mean=R.rolling_mean,
    sum=R.rolling_sum,
    std=R.rolling_std,
    var=R.rolling_var,
    cov=R.rolling_cov,
    corr=R.rolling_corr,
    max=R.rolling_max,
    min=R.rolling_min,
    wma=R.decay_linear,
    ewm=R.ewm_mean,
    rsi=K.rsi_kernel,
    atr=K.atr_kernel,
    adx=K.adx_kernel,
    macd=K.macd_kernel,
    obv=K.obv_kernel,
    cci=K.cci_kernel,
    mfi=K.mfi_kernel,
    change=K.change_kernel,
)
_PYTHON = SimpleNamespace(
    mean=R.rolling_mean_py,
    sum=R.rolling_sum_py,
    std=R.rolling_std_py,
    var=R.rolling_var_py,
    cov=R.rolling_cov_py,
    corr=R.rolling_corr_py,
    max=R.rolling_max_py,
    min=R.rolling_min_py,
    wma=R.decay_linear_py,
    ewm=R.ewm_mean_py,
    rsi=K.rsi_py,
    atr=K.atr_py,
    adx=K.adx_py,
    macd=K.macd_py,
    obv=K.obv_py,
    cci=K.cci_py,
    mfi=K.mfi_py,
    change=K.change_py,
)


def _ops(engine: str) -> SimpleNamespace:
    if engine == "numba":
        return _NUMBA
    if engine == "python":
        return _PYTHON
    raise ConfigError(f"engine must be 'numba' or 'python', got {engine!r}")


def _arr(x: Array, name: str, like: Array | None = None) -> tuple[Array, bool]:
    a = np.asarray(x, dtype=np.float64)
    flat = a.ndim == 1
    if flat:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise DataError(f"{name} must be (n_dates,) or (n_dates, n_assets), got shape {a.shape}")
    if like is not None and a.shape != like.shape:
        raise DataError(f"{name} has shape {a.shape}, expected {like.shape} like the other inputs")
    return np.ascontiguousarray(a), flat


def _inputs(**arrays: Array) -> tuple[list[Array], bool]:
    out: list[Array] = []
    flat = False
    for i, (name, x) in enumerate(arrays.items()):
        a, f = _arr(x, name, out[0] if out else None)
        flat = f if i == 0 else flat
        out.append(a)
    return out, flat


def _period(value: int, name: str = "timeperiod", minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _shape_back(x: Array, flat: bool) -> Array:
    return x.ravel() if flat else x


def _kernel_out(kernel: Callable[..., None], arrays: list[Array], *args: Any) -> Array:
    out = np.empty(arrays[0].shape)
    kernel(*arrays, *args, out)
    return out


# ============================================================ moving averages
def sma(close: Array, timeperiod: int = 30, *, engine: str = "numba") -> Array:
    """Simple moving average (TA-Lib SMA). Lookback ``timeperiod - 1``."""
    (c,), flat = _inputs(close=close)
    return _shape_back(_ops(engine).mean(c, _period(timeperiod)), flat)


def ema(close: Array, timeperiod: int = 30, *, engine: str = "numba") -> Array:
    """Exponential moving average, ``alpha = 2 / (timeperiod + 1)`` (TA-Lib EMA).

    Seeded with the simple mean of the first ``timeperiod`` values, as TA-Lib
    does. The founding notebook's ``ta`` library (pandas ``ewm(adjust=False)``)
    seeds with the first value instead; the two converge as
    ``(1 - alpha) ** rows``. Lookback ``timeperiod - 1``.
    """
    (c,), flat = _inputs(close=close)
    return _shape_back(_ops(engine).ewm(c, _period(timeperiod)), flat)


def wma(close: Array, timeperiod: int = 30, *, engine: str = "numba") -> Array:
    """Linearly weighted moving average, newest weight ``timeperiod`` (TA-Lib WMA)."""
    (c,), flat = _inputs(close=close)
    return _shape_back(_ops(engine).wma(c, _period(timeperiod)), flat)


def dema(close: Array, timeperiod: int = 30, *, engine: str = "numba") -> Array:
    """Double EMA ``2 EMA - EMA(EMA)`` (TA-Lib DEMA). Lookback ``2 (timeperiod - 1)``."""
    (c,), flat = _inputs(close=close)
    ops, n = _ops(engine), _period(timeperiod)
    e1 = ops.ewm(c, n)
    return _shape_back(2.0 * e1 - ops.ewm(e1, n), flat)


def macd(
    close: Array,
    fastperiod: int = 12,
    slowperiod: int = 26,
    signalperiod: int = 9,
    *,
    engine: str = "numba",
) -> dict[str, Array]:
    """MACD line, signal and histogram (TA-Lib MACD).

    Returns ``{"macd", "signal", "hist"}``. As in TA-Lib, the fast EMA is seeded
    with the mean of the ``fastperiod`` values ending where the slow EMA's
    seed ends (so ``macd`` is *not* ``EMA(12) - EMA(26)`` in its first few
    dozen rows). TA-Lib reports all three outputs from row
    ``slow + signal - 2``; here the line starts at row ``slow - 1`` (its own
    warm-up) and equals TA-Lib's where both exist. ``fastperiod`` and
    ``slowperiod`` are swapped if given in the wrong order (TA-Lib does too).
    """
    (c,), flat = _inputs(close=close)
    f, s = _period(fastperiod, "fastperiod", 2), _period(slowperiod, "slowperiod", 2)
    g = _period(signalperiod, "signalperiod", 1)
    if s < f:
        f, s = s, f
    outs = [np.empty(c.shape) for _ in range(3)]
    _ops(engine).macd(c, f, s, g, *outs)
    return {k: _shape_back(v, flat) for k, v in zip(("macd", "signal", "hist"), outs, strict=True)}


# ================================================================ oscillators
def rsi(close: Array, timeperiod: int = 14, *, engine: str = "numba") -> Array:
    """Relative strength index with Wilder smoothing (TA-Lib RSI, no unstable period).

    Both averages are seeded with the plain mean of the first ``timeperiod``
    gains / losses. Where average gain + average loss is (TA-Lib-) zero, i.e. a
    flat window, the value is 0 as in TA-Lib. Lookback ``timeperiod``.
    """
    (c,), flat = _inputs(close=close)
    return _shape_back(_kernel_out(_ops(engine).rsi, [c], _period(timeperiod, minimum=2)), flat)


def _fast_k(ops: SimpleNamespace, h: Array, lo: Array, c: Array, n: int) -> tuple[Array, Array]:
    """``(100 (c - LL) / (HH - LL), flat)`` with 0 where ``HH == LL`` (TA-Lib); ``flat`` marks those rows."""
    hh, ll = ops.max(h, n), ops.min(lo, n)
    diff = (hh - ll) / 100.0
    flat = diff == 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(flat, 0.0, (c - ll) / np.where(flat, 1.0, diff))
    k[np.isnan(diff) | np.isnan(c)] = np.nan
    return k, flat


def stoch(
    high: Array,
    low: Array,
    close: Array,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowd_period: int = 3,
    *,
    engine: str = "numba",
) -> dict[str, Array]:
    """Slow stochastic ``{"k", "d"}`` with simple moving averages (TA-Lib STOCH, matype 0).

    ``fast %K = 100 (close - LL) / (HH - LL)`` over ``fastk_period``, 0 where
    ``HH == LL`` (TA-Lib); ``k`` = SMA of fast %K over ``slowk_period``; ``d``
    = SMA of ``k`` over ``slowd_period``. TA-Lib starts both at the lookback of
    ``d``; ``k`` starts here at its own warm-up and equals TA-Lib's after.
    """
    (h, lo, c), flat = _inputs(high=high, low=low, close=close)
    ops = _ops(engine)
    fk, _ = _fast_k(ops, h, lo, c, _period(fastk_period, "fastk_period"))
    k = ops.mean(fk, _period(slowk_period, "slowk_period"))
    d = ops.mean(k, _period(slowd_period, "slowd_period"))
    return {"k": _shape_back(k, flat), "d": _shape_back(d, flat)}


def willr(
    high: Array, low: Array, close: Array, timeperiod: int = 14, *, engine: str = "numba"
) -> Array:
    """Williams %R ``-100 (HH - close) / (HH - LL)`` in ``[-100, 0]`` (TA-Lib WILLR).

    As TA-Lib does, the current close counts in the range (so a bad print
    outside the bar's high-low stays within ``[-100, 0]``); 0 where the range is 0.
    """
    (h, lo, c), flat = _inputs(high=high, low=low, close=close)
    ops, n = _ops(engine), _period(timeperiod)
    hh = np.maximum(ops.max(h, n), c)
    ll = np.minimum(ops.min(lo, n), c)
    hh[np.isnan(c)] = np.nan
    span = hh - ll
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span == 0.0, 0.0, (hh - c) / np.where(span == 0.0, 1.0, span) * -100.0)
    out[np.isnan(span)] = np.nan
    return _shape_back(out, flat)


def cci(
    high: Array, low: Array, close: Array, timeperiod: int = 14, *, engine: str = "numba"
) -> Array:
    """Commodity channel index on the typical price (TA-Lib CCI); 0 on flat windows."""
    (h, lo, c), flat = _inputs(high=high, low=low, close=close)
    return _shape_back(
        _kernel_out(_ops(engine).cci, [h, lo, c], _period(timeperiod, minimum=2)), flat
    )


def adx(
    high: Array, low: Array, close: Array, timeperiod: int = 14, *, engine: str = "numba"
) -> dict[str, Array]:
    """``{"adx", "plus_di", "minus_di"}`` (TA-Lib ADX, PLUS_DI, MINUS_DI).

    Wilder sums of directional movement and true range; ADX seeded with the
    mean of the first ``timeperiod`` DX values. Lookbacks: DI ``timeperiod``,
    ADX ``2 timeperiod - 1``. DI is 0 where the smoothed true range is zero.
    """
    (h, lo, c), flat = _inputs(high=high, low=low, close=close)
    outs = [np.empty(c.shape) for _ in range(3)]
    _ops(engine).adx(h, lo, c, _period(timeperiod, minimum=2), *outs)
    return {
        k: _shape_back(v, flat) for k, v in zip(("plus_di", "minus_di", "adx"), outs, strict=True)
    }


def mfi(
    high: Array,
    low: Array,
    close: Array,
    volume: Array,
    timeperiod: int = 14,
    *,
    engine: str = "numba",
) -> Array:
    """Money flow index on the typical price (TA-Lib MFI); 0 where total flow < 1 (TA-Lib)."""
    (h, lo, c, v), flat = _inputs(high=high, low=low, close=close, volume=volume)
    return _shape_back(_kernel_out(_ops(engine).mfi, [h, lo, c, v], _period(timeperiod)), flat)


def roc(close: Array, timeperiod: int = 10, *, engine: str = "numba") -> Array:
    """Rate of change in percent ``100 (close / close[-n] - 1)`` (TA-Lib ROC); 0 if ``close[-n] == 0``."""
    (c,), flat = _inputs(close=close)
    return _shape_back(_kernel_out(_ops(engine).change, [c], _period(timeperiod), 1), flat)


def mom(close: Array, timeperiod: int = 10, *, engine: str = "numba") -> Array:
    """Momentum ``close - close[-n]`` (TA-Lib MOM)."""
    (c,), flat = _inputs(close=close)
    return _shape_back(_kernel_out(_ops(engine).change, [c], _period(timeperiod), 0), flat)


# ================================================================= volatility
def atr(
    high: Array, low: Array, close: Array, timeperiod: int = 14, *, engine: str = "numba"
) -> Array:
    """Average true range with Wilder smoothing (TA-Lib ATR). Lookback ``timeperiod``."""
    (h, lo, c), flat = _inputs(high=high, low=low, close=close)
    return _shape_back(_kernel_out(_ops(engine).atr, [h, lo, c], _period(timeperiod), False), flat)


def natr(
    high: Array, low: Array, close: Array, timeperiod: int = 14, *, engine: str = "numba"
) -> Array:
    """ATR as a percentage of the close (TA-Lib NATR); 0 where the close is 0."""
    (h, lo, c), flat = _inputs(high=high, low=low, close=close)
    return _shape_back(_kernel_out(_ops(engine).atr, [h, lo, c], _period(timeperiod), True), flat)


def bbands(
    close: Array, timeperiod: int = 20, nbdev: float = 2.0, *, engine: str = "numba"
) -> dict[str, Array]:
    """Bollinger bands ``{"upper", "middle", "lower", "pctb", "width"}``.

    ``middle`` = SMA, bands = ``middle +- nbdev * std`` with the population
    standard deviation (ddof 0), as TA-Lib BBANDS (``nbdevup = nbdevdn``,
    matype 0) and the ``ta`` library. Not in TA-Lib: ``pctb = (close - lower)
    / (upper - lower)`` (NaN on a flat window) and ``width = (upper - lower) /
    middle`` (NaN where middle is 0). TA-Lib computes the deviation from
    running sums of squares; ours is cancellation-free, so they agree to
    round-off relative to the price level, not to the deviation.
    """
    (c,), flat = _inputs(close=close)
    ops, n = _ops(engine), _period(timeperiod)
    mid = ops.mean(c, n)
    sd = ops.std(c, n, 0)
    upper = mid + nbdev * sd
    lower = mid - nbdev * sd
    with np.errstate(invalid="ignore", divide="ignore"):
        span = upper - lower
        pctb = np.where(span > 0, (c - lower) / np.where(span > 0, span, 1.0), np.nan)
        width = np.where(mid != 0, span / np.where(mid != 0, mid, 1.0), np.nan)
    pctb[np.isnan(span)] = np.nan
    width[np.isnan(span)] = np.nan
    out = {"upper": upper, "middle": mid, "lower": lower, "pctb": pctb, "width": width}
    return {k: _shape_back(v, flat) for k, v in out.items()}


def _log_ret(ops: SimpleNamespace, c: Array) -> Array:
    return _kernel_out(ops.change, [c], 1, 2)


def realized_vol(
    close: Array, timeperiod: int = 20, periods_per_year: float = 252.0, *, engine: str = "numba"
) -> Array:
    """Close-to-close realised volatility: std (ddof 1) of log returns, annualised.

    ``periods_per_year=1`` gives the per-bar figure. Lookback ``timeperiod``
    (``timeperiod`` returns need ``timeperiod + 1`` closes). Not in TA-Lib.
    """
    (c,), flat = _inputs(close=close)
    ops = _ops(engine)
    sd = ops.std(_log_ret(ops, c), _period(timeperiod, minimum=2), 1)
    return _shape_back(sd * np.sqrt(periods_per_year), flat)


def _log_ratio(a: Array, b: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(a / b)
    r[~np.isfinite(r)] = np.nan
    return r


def parkinson_vol(
    high: Array,
    low: Array,
    timeperiod: int = 20,
    periods_per_year: float = 252.0,
    *,
    engine: str = "numba",
) -> Array:
    """Parkinson (1980) range volatility ``sqrt(mean(ln(H/L)^2) / (4 ln 2))``, annualised."""
    (h, lo), flat = _inputs(high=high, low=low)
    ops = _ops(engine)
    m = ops.mean(_log_ratio(h, lo) ** 2, _period(timeperiod))
    return _shape_back(np.sqrt(m / (4.0 * np.log(2.0)) * periods_per_year), flat)


def garman_klass_vol(
    open: Array,
    high: Array,
    low: Array,
    close: Array,
    timeperiod: int = 20,
    periods_per_year: float = 252.0,
    *,
    engine: str = "numba",
) -> Array:
    """Garman-Klass (1980) volatility ``sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2))``.

    Annualised; NaN where the window mean is negative (possible on bad prints).
    """
    (o, h, lo, c), flat = _inputs(open=open, high=high, low=low, close=close)
    ops = _ops(engine)
    term = 0.5 * _log_ratio(h, lo) ** 2 - (2.0 * np.log(2.0) - 1.0) * _log_ratio(c, o) ** 2
    m = ops.mean(term, _period(timeperiod))
    with np.errstate(invalid="ignore"):
        out = np.sqrt(np.where(m >= 0, m, np.nan) * periods_per_year)
    return _shape_back(out, flat)


def _simple_ret(ops: SimpleNamespace, c: Array) -> Array:
    return _kernel_out(ops.change, [c], 1, 1) / 100.0


def _bench(benchmark: Array, n_dates: int) -> Array:
    b = np.asarray(benchmark, dtype=np.float64)
    if b.ndim == 2 and b.shape[1] == 1:
        b = b[:, 0]
    if b.shape != (n_dates,):
        raise DataError(
            f"benchmark must have shape ({n_dates},) (one value per date), got {b.shape}"
        )
    return b.reshape(-1, 1)


def beta(close: Array, benchmark: Array, timeperiod: int = 60, *, engine: str = "numba") -> Array:
    """Rolling beta of simple returns to a benchmark: ``cov(r, rb) / var(rb)``.

    ``benchmark`` is the benchmark's price, shape ``(n_dates,)``. Same value
    as TA-Lib ``BETA(benchmark, close, timeperiod)`` (TA-Lib regresses its
    *second* input on its first). NaN where the benchmark is flat. Lookback
    ``timeperiod``.
    """
    (c,), flat = _inputs(close=close)
    ops, n = _ops(engine), _period(timeperiod, minimum=2)
    r = _simple_ret(ops, c)
    rb = np.broadcast_to(_simple_ret(ops, _bench(benchmark, c.shape[0])), c.shape)
    # mask both sides where either is missing so cov and var use the same rows
    rb = np.where(np.isnan(r), np.nan, rb)
    with np.errstate(invalid="ignore", divide="ignore"):
        vb = ops.var(rb, n, 1)
        b = np.where(vb > 0, ops.cov(r, rb, n, 1) / np.where(vb > 0, vb, 1.0), np.nan)
    b[np.isnan(vb)] = np.nan
    return _shape_back(b, flat)


def correlation(
    close: Array, benchmark: Array, timeperiod: int = 60, *, engine: str = "numba"
) -> Array:
    """Rolling Pearson correlation of simple returns with a benchmark's returns.

    Equals TA-Lib ``CORREL`` applied to the two return series. NaN where either
    side is flat over the window.
    """
    (c,), flat = _inputs(close=close)
    ops, n = _ops(engine), _period(timeperiod, minimum=2)
    r = _simple_ret(ops, c)
    rb = _simple_ret(ops, _bench(benchmark, c.shape[0]))
    return _shape_back(ops.corr(r, np.broadcast_to(rb, c.shape), n), flat)


# ===================================================================== volume
def obv(close: Array, volume: Array, *, engine: str = "numba") -> Array:
    """On-balance volume (TA-Lib OBV): starts at the first row's volume.

    After a gap it restarts from that row's volume (TA-Lib has no gaps); the
    level is arbitrary, only changes carry information. Lookback 0.
    """
    (c, v), flat = _inputs(close=close, volume=volume)
    return _shape_back(_kernel_out(_ops(engine).obv, [c, v]), flat)


def vwap(
    high: Array,
    low: Array,
    close: Array,
    volume: Array,
    timeperiod: int = 14,
    *,
    engine: str = "numba",
) -> Array:
    """Rolling VWAP: ``sum(TP * volume) / sum(volume)`` over ``timeperiod`` rows, TP = (H+L+C)/3.

    The ``ta`` library's ``VolumeWeightedAveragePrice`` definition (not in
    TA-Lib). NaN where the window's volume is 0. Lookback ``timeperiod - 1``.
    """
    (h, lo, c, v), flat = _inputs(high=high, low=low, close=close, volume=volume)
    ops, n = _ops(engine), _period(timeperiod)
    tp = (h + lo + c) / 3.0
    num = ops.sum(tp * v, n)
    den = ops.sum(np.where(np.isnan(tp), np.nan, v), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out[np.isnan(den)] = np.nan
    return _shape_back(out, flat)


# =================================================================== registry
@dataclass(frozen=True)
class IndicatorDef:
    """How to compute a named indicator from Panel fields.

    Attributes
    ----------
    name : str
    func : callable
        The array function above.
    inputs : tuple of str
        Panel fields passed positionally, in order.
    outputs : tuple of str
        Names of the outputs (one name for single-output indicators).
    defaults : dict
        Default parameters (TA-Lib's where TA-Lib has the indicator).
    lookback : callable
        ``lookback(**params) -> int``: rows before the first (last-starting) output.
    talib : str or None
        The TA-Lib function it matches, if any.
    """

    name: str
    func: Callable[..., Any]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    defaults: Mapping[str, Any]
    lookback: Callable[..., int]
    talib: str | None = None
    extra: tuple[str, ...] = field(default=())


HLC = ("high", "low", "close")

INDICATORS: dict[str, IndicatorDef] = {
    d.name: d
    for d in [
        IndicatorDef(
            "sma",
            sma,
            ("close",),
            ("sma",),
            {"timeperiod": 30},
            lambda timeperiod: timeperiod - 1,
            "SMA",
        ),
        IndicatorDef(
            "ema",
            ema,
            ("close",),
            ("ema",),
            {"timeperiod": 30},
            lambda timeperiod: timeperiod - 1,
            "EMA",
        ),
        IndicatorDef(
            "wma",
            wma,
            ("close",),
            ("wma",),
            {"timeperiod": 30},
            lambda timeperiod: timeperiod - 1,
            "WMA",
        ),
        IndicatorDef(
            "dema",
            dema,
            ("close",),
            ("dema",),
            {"timeperiod": 30},
            lambda timeperiod: 2 * (timeperiod - 1),
            "DEMA",
        ),
        IndicatorDef(
            "macd",
            macd,
            ("close",),
            ("macd", "signal", "hist"),
            {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9},
            lambda fastperiod, slowperiod, signalperiod: (
                max(fastperiod, slowperiod) + signalperiod - 2
            ),
            "MACD",
        ),
        IndicatorDef(
            "rsi",
            rsi,
            ("close",),
            ("rsi",),
            {"timeperiod": 14},
            lambda timeperiod: timeperiod,
            "RSI",
        ),
        IndicatorDef(
            "stoch",
            stoch,
            HLC,
            ("k", "d"),
            {"fastk_period": 5, "slowk_period": 3, "slowd_period": 3},
            lambda fastk_period, slowk_period, slowd_period: (
                fastk_period + slowk_period + slowd_period - 3
            ),
            "STOCH",
        ),
        IndicatorDef(
            "willr",
            willr,
            HLC,
            ("willr",),
            {"timeperiod": 14},
            lambda timeperiod: timeperiod - 1,
            "WILLR",
        ),
        IndicatorDef(
            "cci", cci, HLC, ("cci",), {"timeperiod": 14}, lambda timeperiod: timeperiod - 1, "CCI"
        ),
        IndicatorDef(
            "adx",
            adx,
            HLC,
            ("plus_di", "minus_di", "adx"),
            {"timeperiod": 14},
            lambda timeperiod: 2 * timeperiod - 1,
            "ADX",
        ),
        IndicatorDef(
            "atr", atr, HLC, ("atr",), {"timeperiod": 14}, lambda timeperiod: timeperiod, "ATR"
        ),
        IndicatorDef(
            "natr", natr, HLC, ("natr",), {"timeperiod": 14}, lambda timeperiod: timeperiod, "NATR"
        ),
        IndicatorDef(
            "bbands",
            bbands,
            ("close",),
            ("upper", "middle", "lower", "pctb", "width"),
            {"timeperiod": 20, "nbdev": 2.0},
            lambda timeperiod, nbdev: timeperiod - 1,
            "BBANDS",
        ),
        IndicatorDef("obv", obv, ("close", "volume"), ("obv",), {}, lambda: 0, "OBV"),
        IndicatorDef(
            "mfi",
            mfi,
            (*HLC, "volume"),
            ("mfi",),
            {"timeperiod": 14},
            lambda timeperiod: timeperiod,
            "MFI",
        ),
        IndicatorDef(
            "vwap",
            vwap,
            (*HLC, "volume"),
            ("vwap",),
            {"timeperiod": 14},
            lambda timeperiod: timeperiod - 1,
        ),
        IndicatorDef(
            "roc",
            roc,
            ("close",),
            ("roc",),
            {"timeperiod": 10},
            lambda timeperiod: timeperiod,
            "ROC",
        ),
        IndicatorDef(
            "mom",
            mom,
            ("close",),
            ("mom",),
            {"timeperiod": 10},
            lambda timeperiod: timeperiod,
            "MOM",
        ),
        IndicatorDef(
            "realized_vol",
            realized_vol,
            ("close",),
            ("realized_vol",),
            {"timeperiod": 20, "periods_per_year": 252.0},
            lambda timeperiod, periods_per_year: timeperiod,
        ),
        IndicatorDef(
            "parkinson_vol",
            parkinson_vol,
            ("high", "low"),
            ("parkinson_vol",),
            {"timeperiod": 20, "periods_per_year": 252.0},
            lambda timeperiod, periods_per_year: timeperiod - 1,
        ),
        IndicatorDef(
            "garman_klass_vol",
            garman_klass_vol,
            ("open", *HLC),
            ("garman_klass_vol",),
            {"timeperiod": 20, "periods_per_year": 252.0},
            lambda timeperiod, periods_per_year: timeperiod - 1,
        ),
        IndicatorDef(
            "beta",
            beta,
            ("close",),
            ("beta",),
            {"timeperiod": 60},
            lambda timeperiod: timeperiod,
            "BETA",
            extra=("benchmark",),
        ),
        IndicatorDef(
            "correlation",
            correlation,
            ("close",),
            ("correlation",),
            {"timeperiod": 60},
            lambda timeperiod: timeperiod,
            "CORREL",
            extra=("benchmark",),
        ),
    ]
}


def _resolve(name: str, params: Mapping[str, Any]) -> tuple[IndicatorDef, dict[str, Any]]:
    key = name.lower()
    if key not in INDICATORS:
        raise ConfigError(f"unknown indicator {name!r}; known: {', '.join(sorted(INDICATORS))}")
    d = INDICATORS[key]
    allowed = set(d.defaults) | set(d.extra) | {"engine"}
    bad = sorted(set(params) - allowed)
    if bad:
        raise ConfigError(
            f"indicator {d.name!r} has no parameter(s) {bad}; valid: {sorted(allowed)}"
        )
    return d, {**d.defaults, **params}


def lookback(name: str, **params: Any) -> int:
    """Warm-up rows of indicator ``name`` with ``params`` (TA-Lib's lookback)."""
    d, p = _resolve(name, params)
    return int(d.lookback(**{k: p[k] for k in d.defaults}))


def compute_indicator(panel: Panel, name: str, **params: Any) -> dict[str, Array]:
    """Compute indicator ``name`` on a Panel.

    Parameters
    ----------
    panel : Panel
        Must hold the fields in ``INDICATORS[name].inputs``.
    name : str
        A key of :data:`INDICATORS` (case-insensitive).
    **params
        Indicator parameters (see the function's signature); ``beta`` and
        ``correlation`` also take ``benchmark``: an array ``(n_dates,)`` or
        the name of a Panel field whose first column is the benchmark price.

    Returns
    -------
    dict of str to numpy.ndarray
        Output name -> array ``(n_dates, n_assets)``.

    Raises
    ------
    ConfigError
        Unknown indicator or parameter, bad period.
    DataError
        A required field is missing from the panel.
    """
    d, p = _resolve(name, params)
    missing = [f for f in d.inputs if f not in panel]
    if missing:
        raise DataError(
            f"indicator {d.name!r} needs field(s) {', '.join(missing)}; "
            f"the panel has: {', '.join(panel.field_names) or 'none'}"
        )
    if "benchmark" in d.extra:
        if "benchmark" not in p:
            raise ConfigError(f"indicator {d.name!r} needs a benchmark (array or field name)")
        if isinstance(p["benchmark"], str):
            panel.require(p["benchmark"])
            p["benchmark"] = panel[p["benchmark"]][:, 0]
    res = d.func(*(panel[f] for f in d.inputs), **p)
    if isinstance(res, dict):
        return {k: res[k] for k in d.outputs}
    return {d.outputs[0]: res}
