"""Small series helpers the charts need: growth, drawdown, rolling Sharpe, monthly table.

Everything here is a pure function of the run's own return / equity / weight
tables. Headline metrics are NOT recomputed here: they come from metrics.json.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphalab.metrics import periods_per_year as _metrics_ppy

__all__ = [
    "OTHER",
    "drawdown",
    "growth",
    "histogram",
    "minmax_indices",
    "monthly_returns",
    "periods_per_year",
    "rolling_sharpe",
    "rolling_window",
    "stride_indices",
    "top_weights",
]

#: Label of the bucket that sums every asset outside the top N in weight charts.
OTHER = "(other)"


def periods_per_year(dates: pd.DatetimeIndex) -> float:
    """Bars per year implied by the data's own calendar, 252.0 when it cannot tell.

    :func:`alphalab.metrics.periods_per_year` (the same estimate the metrics use)
    with a fallback for fewer than two dates, where it returns NaN.

    Parameters
    ----------
    dates : pandas.DatetimeIndex, length ``n_dates``

    Returns
    -------
    float
    """
    ppy = _metrics_ppy(dates)
    return ppy if np.isfinite(ppy) and ppy > 0 else 252.0


def growth(equity: pd.DataFrame) -> pd.DataFrame:
    """Equity rebased to 1.0 at each column's first valid value.

    Parameters
    ----------
    equity : pandas.DataFrame, shape ``(n_dates, n_series)``

    Returns
    -------
    pandas.DataFrame, same shape
        Non-positive values become NaN (a log axis cannot show them).
    """
    vals = equity.to_numpy(np.float64, copy=True)
    vals[~(vals > 0)] = np.nan
    out = np.full_like(vals, np.nan)
    for j in range(vals.shape[1]):
        finite = np.flatnonzero(np.isfinite(vals[:, j]))
        if finite.size:
            out[:, j] = vals[:, j] / vals[finite[0], j]
    return pd.DataFrame(out, index=equity.index, columns=equity.columns)


def drawdown(equity: pd.DataFrame) -> pd.DataFrame:
    """Fractional drawdown from the running peak, ``equity / cummax - 1`` (<= 0).

    Parameters
    ----------
    equity : pandas.DataFrame, shape ``(n_dates, n_series)``

    Returns
    -------
    pandas.DataFrame, same shape
        NaN before a column's first valid value.
    """
    vals = equity.to_numpy(np.float64)
    # fmax.accumulate skips NaN the way a running peak should (NaN only while no peak yet).
    peak = np.fmax.accumulate(vals, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dd = vals / peak - 1.0
    return pd.DataFrame(dd, index=equity.index, columns=equity.columns)


def rolling_window(dates: pd.DatetimeIndex, requested: int | None = None) -> int:
    """Bars in the rolling-Sharpe window for a sample.

    Parameters
    ----------
    dates : pandas.DatetimeIndex, length ``n_dates``
    requested : int, optional
        Wanted window (e.g. the study's ``report.rolling_window``); default one
        year of bars (``round(periods_per_year)``).

    Returns
    -------
    int
        ``requested`` (or one year), shortened to half the sample (at least 2)
        when the sample is shorter than two windows, so short runs still get a line.
    """
    window = int(requested) if requested else round(periods_per_year(dates))
    if len(dates) < 2 * window:
        window = max(2, len(dates) // 2)
    return window


def rolling_sharpe(
    returns: pd.DataFrame, window: int | None = None, ppy: float | None = None
) -> pd.DataFrame:
    """Annualised rolling Sharpe ratio (risk-free 0), full windows only.

    Parameters
    ----------
    returns : pandas.DataFrame, shape ``(n_dates, n_series)``
        Simple per-bar returns.
    window : int, optional
        Bars per window; default :func:`rolling_window` of the dates.
    ppy : float, optional
        Bars per year; default from :func:`periods_per_year`.

    Returns
    -------
    pandas.DataFrame, same shape
        NaN until a window is full (no partial windows) and where the window's
        volatility is zero. Row t uses bars t - window + 1 .. t only.
    """
    ppy = periods_per_year(returns.index) if ppy is None else ppy
    window = rolling_window(returns.index) if window is None else int(window)
    roll = returns.rolling(window, min_periods=window)
    mean, std = roll.mean(), roll.std(ddof=1)
    # Rolling sums leave ~1e-18 noise where the true std is 0; treat those windows as undefined.
    std = std.where(std > 1e-12)
    return mean / std * np.sqrt(ppy)


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month.

    Parameters
    ----------
    returns : pandas.Series, length ``n_dates``
        Simple per-bar returns with a DatetimeIndex.

    Returns
    -------
    pandas.DataFrame, shape ``(n_years, 12)``
        Index = year, columns = month 1..12; NaN for months without data.
    """
    r = returns.dropna()
    if r.empty:
        return pd.DataFrame(columns=range(1, 13), dtype=np.float64)
    keys = [r.index.year.rename("year"), r.index.month.rename("month")]
    table = np.log1p(r).groupby(keys).sum().pipe(np.expm1).unstack("month")
    years = range(int(table.index.min()), int(table.index.max()) + 1)
    return table.reindex(index=years, columns=range(1, 13)).astype(np.float64)


def histogram(
    returns: pd.DataFrame, bins: int = 60, clip: float = 0.005
) -> tuple[np.ndarray, pd.DataFrame]:
    """Density histograms of every column on one shared set of bins.

    Parameters
    ----------
    returns : pandas.DataFrame, shape ``(n_dates, n_series)``
    bins : int
        Number of bins.
    clip : float
        Tail fraction left out at each end when choosing the bin range, so a
        single bad print does not squash the histogram (values beyond the
        range are counted in the edge bins).

    Returns
    -------
    edges : numpy.ndarray, shape ``(bins + 1,)``
    density : pandas.DataFrame, shape ``(bins, n_series)``
        Each column integrates to 1 over the bins (NaN when it has no data).
    """
    vals = returns.to_numpy(np.float64)
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        lo, hi = -0.01, 0.01
    else:
        lo, hi = np.quantile(finite, [clip, 1.0 - clip])
        if hi <= lo:
            lo, hi = lo - 0.01, hi + 0.01
    edges = np.linspace(lo, hi, bins + 1)
    width = edges[1] - edges[0]
    dens = np.full((bins, vals.shape[1]), np.nan)
    for j in range(vals.shape[1]):
        col = vals[:, j]
        col = np.clip(col[np.isfinite(col)], lo, hi)
        if col.size:
            counts, _ = np.histogram(col, bins=edges)
            dens[:, j] = counts / (col.size * width)
    return edges, pd.DataFrame(dens, columns=returns.columns)


def minmax_indices(values: np.ndarray, max_points: int = 2000) -> np.ndarray:
    """Row indices that keep the shape of a line in at most ``max_points`` points.

    The series is cut into ``max_points // 2 - 1`` buckets and each keeps its
    minimum and maximum (so drawdown troughs and equity peaks survive), plus
    the first and last rows.

    Parameters
    ----------
    values : numpy.ndarray, shape ``(n,)``
    max_points : int
        Upper bound on the number of indices returned (>= 4).

    Returns
    -------
    numpy.ndarray of int64, sorted, unique
    """
    n = values.shape[0]
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    n_buckets = max(1, max_points // 2 - 1)
    size = -(-n // n_buckets)
    padded = np.full(n_buckets * size, np.nan)
    padded[:n] = values
    grid = padded.reshape(n_buckets, size)
    # +-inf stand in for NaN so that an all-NaN bucket just yields its first row.
    lo = np.argmin(np.where(np.isnan(grid), np.inf, grid), axis=1)
    hi = np.argmax(np.where(np.isnan(grid), -np.inf, grid), axis=1)
    base = np.arange(n_buckets) * size
    idx = np.concatenate(([0, n - 1], base + lo, base + hi))
    return np.unique(idx[idx < n]).astype(np.int64)


def stride_indices(n: int, max_points: int) -> np.ndarray:
    """Evenly spaced row indices (first and last included), at most ``max_points``.

    Used where several traces must share one x grid (stacked areas).

    Returns
    -------
    numpy.ndarray of int64, shape ``(min(n, max_points),)``
    """
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def top_weights(weights: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Keep the ``n`` assets with the largest average absolute weight, sum the rest.

    Parameters
    ----------
    weights : pandas.DataFrame, shape ``(n_dates, n_assets)``
        Held weights; NaN counts as 0.
    n : int
        Assets to keep.

    Returns
    -------
    pandas.DataFrame, shape ``(n_dates, min(n, n_held) [+ 1])``
        Top assets ordered by average absolute weight (largest first), then an
        :data:`OTHER` column when any held asset was left out. Assets never
        held (weight 0 throughout) are dropped; a strategy that never holds
        anything gives one all-zero :data:`OTHER` column.
    """
    w = weights.fillna(0.0).astype(np.float64)
    avg = w.abs().mean()
    order = avg[avg > 0].sort_values(ascending=False, kind="stable").index
    kept = w[list(order[:n])]
    if len(order) > n or len(order) == 0:
        kept = kept.assign(**{OTHER: w[list(order[n:])].sum(axis=1)})
    return kept
