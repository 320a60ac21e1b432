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
* Malformed inputs raise: a 2-D frame with several columns, booleans, text or
  complex numbers (:class:`~alphalab.errors.DataError`, naming the position or
  date), duplicated dates, misaligned benchmark/turnover/costs arrays, and a
  ``periods_per_year`` or ``risk_free`` that is not a usable number
  (:class:`~alphalab.errors.ConfigError`).
* Ruin: a return ``r_t <= -1`` wipes out the account. Wealth is frozen at that
  bar (no later bar can "recover" it by multiplying two negative factors),
  so the total return can be below -1, CAGR is NaN and the drawdown is -1
  from that bar to the end.
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

from alphalab._inputs import as_dates, is_finite_number, real_number
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
# Drawdowns closer to 0 than this are rounding noise of a recovered peak.
_DRAWDOWN_TOL = 1e-12


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
    idx = as_dates(dates, "dates")
    if len(idx) < 2:
        return float("nan")
    days = (idx.max() - idx.min()) / pd.Timedelta(days=1)
    if days <= 0:
        return float("nan")
    return (len(idx) - 1) / (days / _DAYS_PER_YEAR)


_ppy_from_dates = periods_per_year  # compute_metrics has a parameter of the same name


def _check_ppy(periods_per_year: Any) -> float:
    """A positive number of bars per year (NaN passes through: metrics are then NaN)."""
    ppy = real_number(periods_per_year, "periods_per_year")
    if not (ppy > 0 or math.isnan(ppy)) or math.isinf(ppy):
        raise ConfigError(f"periods_per_year must be positive and finite, got {periods_per_year!r}")
    return ppy


def _check_rf(risk_free: Any) -> float:
    """An annual risk-free rate: a finite number above -100%."""
    if not is_finite_number(risk_free) or float(risk_free) <= -1.0:
        raise ConfigError(
            f"risk_free must be a finite annual rate above -1 (e.g. 0.02), got {risk_free!r:.60}"
        )
    return float(risk_free)


def _as_float(values: Any, name: str) -> tuple[np.ndarray, pd.Index | None]:
    """One series as a 1-D float64 array (and its index, if any).

    A frame or array with several columns is refused rather than flattened
    (flattening would chain the columns into one fictitious series); bools,
    complex numbers and text that is not a number raise, naming the place.
    """
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataError(
                f"{name} must be one series, got a DataFrame with {values.shape[1]} columns"
            )
        values = values.iloc[:, 0]
    index = values.index if isinstance(values, pd.Series) else None
    raw = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if raw.ndim > 1 and sum(d > 1 for d in raw.shape) > 1:
        raise DataError(f"{name} must be one series, got an array of shape {raw.shape}")
    raw = raw.ravel()

    def where(pos: int) -> str:
        return str(index[pos]) if isinstance(index, pd.DatetimeIndex) else f"position {pos}"

    if raw.dtype.kind == "b":
        raise DataError(f"{name} are bool values, expected simple returns as floats")
    if raw.dtype.kind == "c":
        raise DataError(f"{name} are complex numbers, expected simple returns as floats")
    if raw.dtype.kind in "iuf":
        return raw.astype(np.float64, copy=False), index
    for pos, v in enumerate(raw):
        if isinstance(v, (bool, np.bool_, complex, np.complexfloating)):
            raise DataError(f"{name} hold a {type(v).__name__} value at {where(pos)}")
    num = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(np.float64)
    bad = np.isnan(num) & ~pd.isna(pd.Series(raw, dtype=object)).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} hold a value that is not a number at {where(pos)}: {raw[pos]!r:.40}"
        )
    return num, index


def _clean(returns: Any, name: str = "returns") -> np.ndarray:
    """1-D float array with leading/trailing NaN trimmed; interior NaN is an error."""
    arr, index = _as_float(returns, name)
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
    risk_free = _check_rf(risk_free)
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


def _ruin(r: np.ndarray) -> int:
    """Index of the first bar with ``r <= -1`` (wealth wiped out), or ``len(r)``."""
    hit = np.flatnonzero(r <= -1.0)
    return int(hit[0]) if hit.size else r.size


def _final_wealth(r: np.ndarray) -> float:
    """``W_n``, frozen at the bar of ruin (see the module notes)."""
    return _prod(1.0 + r[: _ruin(r) + 1])


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
    return _final_wealth(r) - 1.0


def cagr(returns: Any, periods_per_year: float) -> float:
    """Compound annual growth rate ``W_n^(P / n) - 1``.

    ``n / P`` is the length of the sample in years. NaN when empty or when
    wealth is not positive (a total loss has no growth rate).
    """
    ppy = _check_ppy(periods_per_year)
    r = _clean(returns)
    if r.size == 0 or not np.isfinite(ppy):
        return float("nan")
    wealth = _final_wealth(r)
    if wealth <= 0:
        return float("nan")
    return wealth ** (ppy / r.size) - 1.0


def volatility(returns: Any, periods_per_year: float) -> float:
    """Annualised volatility ``std(r, ddof=1) * sqrt(P)``; NaN below 2 bars."""
    ppy = _check_ppy(periods_per_year)
    r = _clean(returns)
    return _std(r) * math.sqrt(ppy)


def _excess(returns: Any, periods_per_year: Any, risk_free: Any) -> tuple[np.ndarray, float]:
    """(returns over the per-bar risk-free rate, checked bars per year)."""
    ppy = _check_ppy(periods_per_year)
    rf = _rf_per_period(risk_free, ppy)
    return _clean(returns) - rf, ppy


def sharpe(returns: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(P)``.

    NaN for fewer than 2 bars or zero volatility.
    """
    ex, ppy = _excess(returns, periods_per_year, risk_free)
    if ex.size < 2:
        return float("nan")
    return _ratio(_mean(ex), _std(ex)) * math.sqrt(ppy)


def sortino(returns: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sortino ratio ``mean(x) * P / (sqrt(mean(min(x, 0)^2)) * sqrt(P))``.

    ``x = r - rf``; the downside deviation averages over *all* bars (the
    target semi-deviation of Sortino and Price), not only losing ones. NaN
    for fewer than 2 bars or no bar below the target.
    """
    ex, ppy = _excess(returns, periods_per_year, risk_free)
    if ex.size < 2:
        return float("nan")
    downside = math.sqrt(_mean(np.minimum(ex, 0.0) ** 2)) * math.sqrt(ppy)
    return _ratio(_mean(ex) * ppy, downside)


# ---------------------------------------------------------------- drawdowns
def drawdown_series(returns: Any) -> np.ndarray:
    """Drawdown after each bar, ``D_t = W_t / max_{s<=t} W_s - 1`` with ``W_0 = 1``.

    From a bar with ``r_t <= -1`` (ruin) to the end, ``D_t = -1``. A drawdown
    within ``1e-12`` of 0 is 0: a path back at its peak in exact arithmetic
    must not stay "under water" by a rounding error (which would stretch
    :func:`max_drawdown_duration` over every later flat bar).

    Returns
    -------
    numpy.ndarray, shape ``(n,)``
        Values in ``[-1, 0]``.
    """
    r = _clean(returns)
    k = _ruin(r)
    wealth = np.cumprod(1.0 + r[:k])
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    dd = wealth / peak - 1.0
    dd[dd > -_DRAWDOWN_TOL] = 0.0
    return np.concatenate([dd, np.full(r.size - k, -1.0)])


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
    _check_ppy(periods_per_year)
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
    ppy = _check_ppy(periods_per_year)
    t = np.nan_to_num(_as_float(turnover, "turnover")[0], nan=0.0)
    if t.size == 0:
        return float("nan")
    return _mean(t) * ppy


def cost_drag(costs: Any, equity: Any | None, periods_per_year: float) -> float:
    """Annualised costs over mean equity ``(sum_t c_t / (n / P)) / mean_t(E_t)``.

    ``c_t`` are costs paid at bar t in currency (NaN = 0), ``E_t`` equity.
    With ``equity=None`` the costs are taken as fractions of equity already
    and the drag is ``mean_t(c_t) * P``. A cost drag of 0.01 means costs ate
    1% of equity a year.
    """
    ppy = _check_ppy(periods_per_year)
    c = np.nan_to_num(_as_float(costs, "costs")[0], nan=0.0)
    if c.size == 0:
        return float("nan")
    if equity is None:
        return _mean(c) * ppy
    e = _as_float(equity, "equity")[0]
    e = e[np.isfinite(e)]
    if e.size == 0:
        return float("nan")
    years = c.size / ppy
    return _ratio(math.fsum(c.tolist()) / years, _mean(e))


# ---------------------------------------------------------- vs a benchmark
def _pair(returns: Any, benchmark: Any) -> tuple[np.ndarray, np.ndarray]:
    """Aligned (by index for Series, by position otherwise) bars where both exist."""
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        _unique_index(returns, "returns", ordered=True)
        _unique_index(benchmark, "benchmark")
        r = pd.Series(_clean(returns), index=_trimmed_index(returns))
        b = pd.Series(_as_float(benchmark, "benchmark")[0], index=benchmark.index).reindex(r.index)
        a, c = r.to_numpy(np.float64), b.to_numpy(np.float64)
    else:
        a = _as_float(returns, "returns")[0]
        c = _as_float(benchmark, "benchmark")[0]
        if a.shape != c.shape:
            raise DataError(f"returns ({a.size}) and benchmark ({c.size}) differ in length")
    both = np.isfinite(a) & np.isfinite(c)
    return a[both], c[both]


def _unique_index(s: pd.Series, name: str, *, ordered: bool = False) -> None:
    """Dates appear once and, if ``ordered`` (returns compound in order), increase."""
    if s.index.has_duplicates:
        raise DataError(f"{name}: date {s.index[s.index.duplicated()][0]} appears more than once")
    if ordered and isinstance(s.index, pd.DatetimeIndex) and not s.index.is_monotonic_increasing:
        pos = int(np.flatnonzero(np.diff(s.index.asi8) < 0)[0]) + 1
        raise DataError(
            f"{name} are not in date order: {s.index[pos].date()} comes after "
            f"{s.index[pos - 1].date()}; sort the series by date"
        )


def _trimmed_index(s: pd.Series) -> pd.Index:
    finite = np.isfinite(_as_float(s, "returns")[0])
    if not finite.any():
        return s.index[:0]
    first, last = np.flatnonzero(finite)[[0, -1]]
    return s.index[first : last + 1]


def beta(returns: Any, benchmark: Any, periods_per_year: float, risk_free: float = 0.0) -> float:
    """``beta = cov(r - rf, b - rf) / var(b - rf)`` over bars where both exist.

    NaN below 2 common bars or for a constant benchmark.
    """
    rf = _rf_per_period(risk_free, _check_ppy(periods_per_year))
    r, b = _pair(returns, benchmark)
    if r.size < 2 or _std(b) == 0.0:
        return float("nan")
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
    rf = _rf_per_period(risk_free, float(periods_per_year))
    a = _mean((r - rf) - bt * (b - rf))
    return (1.0 + a) ** periods_per_year - 1.0


def _active(returns: Any, benchmark: Any, periods_per_year: Any) -> tuple[np.ndarray, float]:
    """(active returns ``r - b`` on the bars where both exist, checked bars per year)."""
    ppy = _check_ppy(periods_per_year)
    r, b = _pair(returns, benchmark)
    return r - b, ppy


def tracking_error(returns: Any, benchmark: Any, periods_per_year: float) -> float:
    """Annualised tracking error ``std(r - b, ddof=1) * sqrt(P)``."""
    active, ppy = _active(returns, benchmark, periods_per_year)
    return _std(active) * math.sqrt(ppy)


def information_ratio(returns: Any, benchmark: Any, periods_per_year: float) -> float:
    """Information ratio ``mean(r - b) * P / tracking_error``.

    Equals ``mean(r - b) / std(r - b, ddof=1) * sqrt(P)``; NaN when the
    tracking error is zero.
    """
    active, ppy = _active(returns, benchmark, periods_per_year)
    if active.size < 2:
        return float("nan")
    return _ratio(_mean(active), _std(active)) * math.sqrt(ppy)


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
    if returns is None:
        raise DataError("compute_metrics needs returns, got None")
    if isinstance(returns, pd.DataFrame):
        _as_float(returns, "returns")  # refuses several columns
        returns = returns.iloc[:, 0]
    if not isinstance(returns, pd.Series):
        returns = pd.Series(_as_float(returns, "returns")[0])
    _unique_index(returns, "returns", ordered=True)
    _check_rf(risk_free)
    r = _clean(returns)
    idx = _trimmed_index(returns)
    if periods_per_year is None:
        if not isinstance(idx, pd.DatetimeIndex):
            raise ConfigError(
                "compute_metrics needs a DatetimeIndex on returns or an explicit periods_per_year"
            )
        ppy = _ppy_from_dates(idx)
    else:
        ppy = _check_ppy(periods_per_year)
        if math.isnan(ppy):
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
            out["turnover"] = annual_turnover(_on(turnover, idx, returns, "turnover"), ppy)
        if costs is not None:
            eq = None if equity is None else _on(equity, idx, returns, "equity")
            out["cost_drag"] = cost_drag(_on(costs, idx, returns, "costs"), eq, ppy)
        if benchmark is not None:
            bench = (
                benchmark
                if isinstance(benchmark, pd.Series)
                else pd.Series(
                    _on(benchmark, returns.index, returns, "benchmark"), index=returns.index
                )
            )
            out["beta"] = beta(clean, bench, ppy, risk_free)
            out["alpha"] = alpha(clean, bench, ppy, risk_free)
            out["tracking_error"] = tracking_error(clean, bench, ppy)
            out["information_ratio"] = information_ratio(clean, bench, ppy)
    return pd.Series(out, dtype=np.float64)


def _on(series: Any, idx: pd.Index, returns: pd.Series, name: str) -> np.ndarray:
    """Values of ``series`` on the bars of ``idx``.

    A Series is aligned by index; an array must have one value per bar of
    ``returns`` (untrimmed) and is cut to the bars of ``idx``.
    """
    if isinstance(series, pd.Series):
        _unique_index(series, name)
        values = _as_float(series, name)[0]
        return pd.Series(values, index=series.index).reindex(idx).to_numpy(np.float64)
    values = _as_float(series, name)[0]
    if values.size != len(returns):
        raise DataError(
            f"{name} has {values.size} values but returns have {len(returns)}; pass a Series "
            "indexed by date to align them"
        )
    return pd.Series(values, index=returns.index).reindex(idx).to_numpy(np.float64)
