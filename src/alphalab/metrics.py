"""Performance metrics: pure functions of periodic return series.

Conventions
-----------
* ``r_t`` are simple (not log) returns per bar, ``t = 1..n``; wealth
  ``W_t = prod_{s<=t} (1 + r_s)`` with ``W_0 = 1``.
* ``P`` is the number of bars per year, estimated from the data's own calendar
  by :func:`periods_per_year` (about 252 for daily bars, 52 for weekly), so a
  market with a 245-day year is annualised with 245, not 252.
* ``risk_free`` is an annual rate; per bar it is ``rf = (1 + risk_free)^(1/P) - 1``.
* Degenerate inputs (empty, all-NaN, constant / zero-variance series) give NaN,
  never an exception or an infinity.
* NaN handling: leading and trailing NaNs (warm-up before the first decision,
  bars after the last) are trimmed; a NaN *inside* the series raises
  :class:`~alphalab.errors.DataError` naming its date, because dropping it
  would silently compound across a gap. Infinite values raise too.

Parity with empyrical-reloaded (``tests/test_metrics.py``), given
``annualization=P`` and a per-bar risk-free rate: ``cagr`` =
``annual_return``, ``volatility`` = ``annual_volatility``, ``sharpe`` =
``sharpe_ratio``, ``sortino`` = ``sortino_ratio`` (required return = rf),
``max_drawdown``, ``calmar`` = ``calmar_ratio``, ``alpha`` / ``beta`` =
``alpha_beta``, ``information_ratio`` = ``excess_sharpe * sqrt(P)``.
Differences: empyrical returns ``inf`` for a Sortino ratio without losing bars
and for ratios over a zero deviation in some paths; here they are NaN.
empyrical has no tracking error, drawdown duration, hit rate, turnover or cost
drag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError, DataError

__all__ = [
    "METRIC_KEYS",
    "alpha",
    "annual_turnover",
    "beta",
    "cagr",
    "calmar",
    "compute_metrics",
    "cost_drag",
    "drawdown_series",
    "hit_rate",
    "information_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "periods_per_year",
    "sharpe",
    "sortino",
    "total_return",
    "tracking_error",
    "volatility",
]

METRIC_KEYS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar",
    "hit_rate",
    "turnover",
    "cost_drag",
    "beta",
    "alpha",
    "tracking_error",
    "information_ratio",
    "n_periods",
)

_DAYS_PER_YEAR = 365.25
# Relative tolerance under which a deviation counts as zero: the sample
# std of identical floats can come out as ~1e-18 instead of 0.
_ZERO_DISPERSION = 1e-14


def periods_per_year(dates: Sequence[Any] | pd.DatetimeIndex) -> float:
    """Bars per year estimated from the dates themselves.

    ``P = (N - 1) / years``, ``years = (d_N - d_1) / 365.25 days``: ``N`` dates
    span ``N - 1`` intervals, so this is unbiased for weekly or monthly bars
    too (daily US data gives about 252, weekly about 52, monthly 12).

    Parameters
    ----------
    dates : DatetimeIndex or sequence of dates, length ``N``

    Returns
    -------
    float
        NaN when fewer than 2 dates or a zero span.
    """
    idx = pd.DatetimeIndex(dates)
    if len(idx) < 2:
        return float("nan")
    days = (idx.max() - idx.min()) / pd.Timedelta(days=1)
    if days <= 0:
        return float("nan")
    return (len(idx) - 1) / (days / _DAYS_PER_YEAR)


_ppy_from_dates = periods_per_year  # compute_metrics has a parameter of the same name


def _clean(returns: Any, name: str = "returns") -> np.ndarray:
    """1-D float array with leading/trailing NaN trimmed; interior NaN is an error."""
    index = returns.index if isinstance(returns, pd.Series) else None
    arr = np.asarray(returns, dtype=np.float64).ravel()
    finite = np.isfinite(arr)
    if np.isinf(arr).any():
        pos = int(np.flatnonzero(np.isinf(arr))[0])
        where = index[pos] if index is not None else f"position {pos}"
        raise DataError(f"{name} contain an infinite value at {where}")
    if not finite.any():
        return arr[:0]
    first, last = np.flatnonzero(finite)[[0, -1]]
    core = arr[first : last + 1]
    if not np.isfinite(core).all():
        pos = first + int(np.flatnonzero(~np.isfinite(core))[0])
        where = index[pos] if index is not None else f"position {pos}"
        raise DataError(
            f"{name} contain a NaN inside the series at {where}; fill or drop it explicitly "
            "(leading and trailing NaNs are trimmed)"
        )
    return core


def _rf_per_period(risk_free: float, ppy: float) -> float:
    if risk_free == 0.0:
        return 0.0
    return (1.0 + risk_free) ** (1.0 / ppy) - 1.0


def _mean(x: np.ndarray) -> float:
    """Exactly rounded mean (``math.fsum``).

    NumPy's SIMD reductions can round differently depending on where an array
    sits in memory, so the same returns could give a different last digit in
    another process; ``fsum`` is exact and order-free, which keeps metrics
    bit-identical across processes, executors and machines.
    """
    return math.fsum(x.tolist()) / x.size if x.size else float("nan")


def _prod(x: np.ndarray) -> float:
    """Sequential product (deterministic rounding, see :func:`_mean`)."""
    return math.prod(x.tolist())


def _std(x: np.ndarray) -> float:
    """Sample std (ddof=1); 0 for a constant series, NaN below 2 values."""
    if x.size < 2:
        return float("nan")
    if np.ptp(x) <= _ZERO_DISPERSION * max(1.0, float(np.max(np.abs(x)))):
        return 0.0
    dev = x - _mean(x)
    return math.sqrt(math.fsum((dev * dev).tolist()) / (x.size - 1))


def _ratio(num: float, den: float) -> float:
    if not np.isfinite(num) or not np.isfinite(den) or den == 0.0:
        return float("nan")
    return num / den


# ------------------------------------------------------------------ returns
def total_return(returns: Any) -> float:
    """``W_n - 1 = prod_t (1 + r_t) - 1``; NaN for an empty series."""
    r = _clean(returns)
    if r.size == 0:
        return float("nan")
    return _prod(1.0 + r) - 1.0


def cagr(returns: Any, periods_per_year: float) -> float:
    """Compound annual growth rate ``W_n^(P / n) - 1``.

    ``n / P`` is the length of the sample in years. NaN when empty or when
    wealth is not positive (a total loss has no growth rate).
    """
    r = _clean(returns)
    if r.size == 0 or not np.isfinite(periods_per_year) or periods_per_year <= 0:
        return float("nan")
    wealth = _prod(1.0 + r)
    if wealth <= 0:
        return float("nan")
    return wealth ** (periods_per_year / r.size) - 1.0


def volatility(returns: Any, periods_per_year: float) -> float:
    """Annualised volatility ``std(r, ddof=1) * sqrt(P)``; NaN below 2 bars."""
    r = _clean(returns)
    return _std(r) * math.sqrt(periods_per_year)


def sharpe(returns: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(P)``.

    NaN for fewer than 2 bars or zero volatility.
    """
    r = _clean(returns)
    if r.size < 2:
        return float("nan")
    ex = r - _rf_per_period(risk_free, periods_per_year)
    return _ratio(_mean(ex), _std(ex)) * math.sqrt(periods_per_year)


def sortino(returns: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sortino ratio ``mean(x) * P / (sqrt(mean(min(x, 0)^2)) * sqrt(P))``.

    ``x = r - rf``; the downside deviation averages over *all* bars (the
    target semi-deviation of Sortino and Price), not only losing ones. NaN
    for fewer than 2 bars or no bar below the target.
    """
    r = _clean(returns)
    if r.size < 2:
        return float("nan")
    ex = r - _rf_per_period(risk_free, periods_per_year)
    downside = math.sqrt(_mean(np.minimum(ex, 0.0) ** 2)) * math.sqrt(periods_per_year)
    return _ratio(_mean(ex) * periods_per_year, downside)


# ---------------------------------------------------------------- drawdowns
def drawdown_series(returns: Any) -> np.ndarray:
    """Drawdown after each bar, ``D_t = W_t / max_{s<=t} W_s - 1`` with ``W_0 = 1``.

    Returns
    -------
    numpy.ndarray, shape ``(n,)``
        Values in ``[-1, 0]``.
    """
    r = _clean(returns)
    wealth = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    return wealth / peak - 1.0


def max_drawdown(returns: Any) -> float:
    """Maximum drawdown ``min_t D_t`` (a negative number, 0 if never under water)."""
    dd = drawdown_series(returns)
    return float(dd.min()) if dd.size else float("nan")


def max_drawdown_duration(returns: Any) -> float:
    """Longest spell under water, in bars: the longest run of ``D_t < 0``.

    A spell that has not recovered by the last bar counts up to the end.
    """
    dd = drawdown_series(returns)
    if dd.size == 0:
        return float("nan")
    under = np.concatenate([[0], (dd < 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(under))
    if edges.size == 0:
        return 0.0
    return float(np.max(edges[1::2] - edges[0::2]))


def calmar(returns: Any, periods_per_year: float) -> float:
    """Calmar ratio ``CAGR / |max drawdown|``; NaN when there is no drawdown."""
    mdd = max_drawdown(returns)
    if not np.isfinite(mdd) or mdd >= 0:
        return float("nan")
    return _ratio(cagr(returns, periods_per_year), abs(mdd))


def hit_rate(returns: Any) -> float:
    """Share of bars with ``r_t > 0`` among bars with ``r_t != 0``.

    Flat bars (in cash, no position) are excluded; NaN when every bar is flat.
    """
    r = _clean(returns)
    moved = r[r != 0.0]
    return float(np.mean(moved > 0)) if moved.size else float("nan")


# ---------------------------------------------------------- trading activity
def annual_turnover(turnover: Any, periods_per_year: float) -> float:
    """Annualised turnover ``mean_t(turnover_t) * P``.

    ``turnover_t`` is the traded fraction of equity at bar t as the engine
    reports it (NaN bars count as 0: no trade).
    """
    t = np.nan_to_num(np.asarray(turnover, dtype=np.float64).ravel(), nan=0.0)
    if t.size == 0:
        return float("nan")
    return _mean(t) * periods_per_year


def cost_drag(costs: Any, equity: Any | None, periods_per_year: float) -> float:
    """Annualised costs over mean equity ``(sum_t c_t / (n / P)) / mean_t(E_t)``.

    ``c_t`` are costs paid at bar t in currency (NaN = 0), ``E_t`` equity.
    With ``equity=None`` the costs are taken as fractions of equity already
    and the drag is ``mean_t(c_t) * P``. A cost drag of 0.01 means costs ate
    1% of equity a year.
    """
    c = np.nan_to_num(np.asarray(costs, dtype=np.float64).ravel(), nan=0.0)
    if c.size == 0:
        return float("nan")
    if equity is None:
        return _mean(c) * periods_per_year
    e = np.asarray(equity, dtype=np.float64).ravel()
    e = e[np.isfinite(e)]
    if e.size == 0:
        return float("nan")
    years = c.size / periods_per_year
    return _ratio(math.fsum(c.tolist()) / years, _mean(e))


# ---------------------------------------------------------- vs a benchmark
def _pair(returns: Any, benchmark: Any) -> tuple[np.ndarray, np.ndarray]:
    """Aligned (by index for Series, by position otherwise) bars where both exist."""
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        r = pd.Series(_clean(returns), index=_trimmed_index(returns))
        b = benchmark.reindex(r.index)
        a, c = r.to_numpy(np.float64), b.to_numpy(np.float64)
    else:
        a = np.asarray(returns, dtype=np.float64).ravel()
        c = np.asarray(benchmark, dtype=np.float64).ravel()
        if a.shape != c.shape:
            raise DataError(f"returns ({a.size}) and benchmark ({c.size}) differ in length")
    both = np.isfinite(a) & np.isfinite(c)
    return a[both], c[both]


def _trimmed_index(s: pd.Series) -> pd.Index:
    finite = np.isfinite(s.to_numpy(np.float64))
    if not finite.any():
        return s.index[:0]
    first, last = np.flatnonzero(finite)[[0, -1]]
    return s.index[first : last + 1]


def beta(returns: Any, benchmark: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """``beta = cov(r - rf, b - rf) / var(b - rf)`` over bars where both exist.

    NaN below 2 common bars or for a constant benchmark.
    """
    r, b = _pair(returns, benchmark)
    if r.size < 2 or _std(b) == 0.0:
        return float("nan")
    rf = _rf_per_period(risk_free, periods_per_year)
    x, y = b - rf, r - rf
    xc = x - _mean(x)
    return _ratio(_mean(xc * y), _mean(xc * xc))


def alpha(returns: Any, benchmark: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Jensen's alpha ``(1 + mean_t[(r_t - rf) - beta (b_t - rf)])^P - 1``.

    Geometric annualisation of the mean per-bar alpha, as empyrical does.
    """
    bt = beta(returns, benchmark, periods_per_year, risk_free)
    if not np.isfinite(bt):
        return float("nan")
    r, b = _pair(returns, benchmark)
    rf = _rf_per_period(risk_free, periods_per_year)
    a = _mean((r - rf) - bt * (b - rf))
    return (1.0 + a) ** periods_per_year - 1.0


def tracking_error(returns: Any, benchmark: Any, periods_per_year: float) -> float:
    """Annualised tracking error ``std(r - b, ddof=1) * sqrt(P)``."""
    r, b = _pair(returns, benchmark)
    return _std(r - b) * math.sqrt(periods_per_year)


def information_ratio(returns: Any, benchmark: Any, periods_per_year: float) -> float:
    """Information ratio ``mean(r - b) * P / tracking_error``.

    Equals ``mean(r - b) / std(r - b, ddof=1) * sqrt(P)``; NaN when the
    tracking error is zero.
    """
    r, b = _pair(returns, benchmark)
    if r.size < 2:
        return float("nan")
    active = r - b
    return _ratio(_mean(active), _std(active)) * math.sqrt(periods_per_year)


# ------------------------------------------------------------------ summary
def compute_metrics(
    returns: pd.Series,
    *,
    benchmark: pd.Series | None = None,
    turnover: pd.Series | None = None,
    costs: pd.Series | None = None,
    equity: pd.Series | None = None,
    periods_per_year: float | None = None,
    risk_free: float = 0.0,
) -> pd.Series:
    """All metrics of one return series, as a Series keyed by :data:`METRIC_KEYS`.

    Parameters
    ----------
    returns : pandas.Series, length ``n``
        Simple returns per bar, indexed by date.
    benchmark : pandas.Series, optional
        Benchmark returns per bar; aligned on the index. Without it ``beta``,
        ``alpha``, ``tracking_error`` and ``information_ratio`` are NaN.
    turnover : pandas.Series, optional
        Traded fraction of equity per bar; ``turnover`` is its annual sum.
    costs : pandas.Series, optional
        Costs paid per bar: in currency together with ``equity``, or as a
        fraction of that bar's equity when ``equity`` is not given.
    equity : pandas.Series, optional
        Equity per bar in currency.
    periods_per_year : float, optional
        Bars per year; by default :func:`periods_per_year` of the returns'
        dates (a DatetimeIndex is then required).
    risk_free : float
        Annual risk-free rate.

    Returns
    -------
    pandas.Series
        Float values; ``max_drawdown_duration`` is in bars, ``n_periods`` the
        number of bars used.
    """
    if not isinstance(returns, pd.Series):
        returns = pd.Series(np.asarray(returns, dtype=np.float64))
    r = _clean(returns)
    idx = _trimmed_index(returns)
    if periods_per_year is None:
        if not isinstance(idx, pd.DatetimeIndex):
            raise ConfigError(
                "compute_metrics needs a DatetimeIndex on returns or an explicit periods_per_year"
            )
        ppy = _ppy_from_dates(idx)
    else:
        ppy = float(periods_per_year)
        if not ppy > 0:
            raise ConfigError(f"periods_per_year must be positive, got {periods_per_year!r}")
    out = dict.fromkeys(METRIC_KEYS, float("nan"))
    out["n_periods"] = float(r.size)
    if r.size == 0:
        return pd.Series(out, dtype=np.float64)
    clean = pd.Series(r, index=idx)
    out["total_return"] = total_return(r)
    out["max_drawdown"] = max_drawdown(r)
    out["max_drawdown_duration"] = max_drawdown_duration(r)
    out["hit_rate"] = hit_rate(r)
    if np.isfinite(ppy):
        out["cagr"] = cagr(r, ppy)
        out["volatility"] = volatility(r, ppy)
        out["sharpe"] = sharpe(r, ppy, risk_free)
        out["sortino"] = sortino(r, ppy, risk_free)
        out["calmar"] = calmar(r, ppy)
        if turnover is not None:
            out["turnover"] = annual_turnover(_on(turnover, idx), ppy)
        if costs is not None:
            eq = None if equity is None else _on(equity, idx)
            out["cost_drag"] = cost_drag(_on(costs, idx), eq, ppy)
        if benchmark is not None:
            bench = (
                benchmark
                if isinstance(benchmark, pd.Series)
                else pd.Series(np.asarray(benchmark, dtype=np.float64), index=returns.index)
            )
            out["beta"] = beta(clean, bench, ppy, risk_free)
            out["alpha"] = alpha(clean, bench, ppy, risk_free)
            out["tracking_error"] = tracking_error(clean, bench, ppy)
            out["information_ratio"] = information_ratio(clean, bench, ppy)
    return pd.Series(out, dtype=np.float64)


def _on(series: Any, idx: pd.Index) -> np.ndarray:
    """Values of ``series`` on the bars of ``idx`` (by index; arrays are taken as given)."""
    if isinstance(series, pd.Series):
        return series.reindex(idx).to_numpy(np.float64)
    return np.asarray(series, dtype=np.float64).ravel()
