"""Cross-sectional and time-series transforms of ``(n_dates, n_assets)`` arrays.

Array functions
---------------
Cross-sectional functions work row by row (one date across assets) over the
finite entries only; non-finite entries stay NaN. They read nothing but the
row itself, so they cannot leak the future.

* :func:`cs_rank` - percentile rank, ``(0, 1]`` (Alpha101's ``rank``), or
  into ``[-1, 1]`` with ``scale="pm1"``
* :func:`cs_minmax` - ``(x - min) / (max - min)`` into ``[0, 1]``
* :func:`cs_zscore` - ``(x - mean) / std`` (population std, ddof=0)
* :func:`cs_winsorize` - clip at per-date quantiles or at mean +- k std
* :func:`cs_neutralize` - demean within groups, or the residual of a
  regression on group dummies (and optional exposures)
* :func:`cs_scale` - divide by the row's sum of absolute values
* :func:`ts_zscore` - rolling z-score per asset (strict window)
* :func:`calendar_dummies` - one-hot weekday / month, shape ``(n_dates, k)``

Processors
----------
Classes with ``fit(x, dates, train_end)`` / ``transform(x)``: every statistic
is computed from rows dated ``<= train_end`` only (``fit`` slices the rows
itself, so it cannot see later data even when given the whole array).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphalab.errors import DataError
from alphalab.features.expr import kernels as _k
from alphalab.features.rolling import rolling_zscore

__all__ = [
    "CrossSectionalProcessor",
    "MinMaxScaler",
    "Winsorizer",
    "ZScoreScaler",
    "calendar_dummies",
    "cs_minmax",
    "cs_neutralize",
    "cs_rank",
    "cs_scale",
    "cs_winsorize",
    "cs_zscore",
    "group_codes",
    "ts_zscore",
]


def _as_2d(x: Any, name: str = "x") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise DataError(f"{name} must be a 2-D (n_dates, n_assets) array, got shape {arr.shape}")
    return arr


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, np.nan)


def cs_rank(x: np.ndarray, *, scale: Literal["pct", "pm1"] = "pct") -> np.ndarray:
    """Per-date percentile rank over assets, ties averaged.

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)
    scale : {"pct", "pm1"}
        ``"pct"``: rank / count in ``(0, 1]`` (the paper's ``rank``);
        ``"pm1"``: ``2 * (rank - 1) / (count - 1) - 1`` in ``[-1, 1]`` (a lone
        asset gets 0).

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
    """
    x = np.ascontiguousarray(_as_2d(x))
    pct = _k.cs_rank(x)
    if scale == "pct":
        return pct
    if scale != "pm1":
        raise DataError(f"cs_rank scale must be 'pct' or 'pm1', not {scale!r}")
    count = np.isfinite(pct).sum(axis=1, keepdims=True).astype(np.float64)
    # ranks are multiples of 1/2: undo the division's round-off exactly
    rank = np.round(pct * count * 2.0) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 1, 2.0 * (rank - 1.0) / (count - 1.0) - 1.0, 0.0)
    return np.where(np.isfinite(pct), out, np.nan)


def cs_minmax(x: np.ndarray) -> np.ndarray:
    """Per-date ``(x - min) / (max - min)`` in ``[0, 1]``; NaN where the row is constant."""
    x = _finite(_as_2d(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(x, axis=1, keepdims=True)
        hi = np.nanmax(x, axis=1, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, (x - lo) / span, np.nan)


def cs_zscore(x: np.ndarray) -> np.ndarray:
    """Per-date ``(x - mean) / std`` (ddof=0); NaN where the row is constant."""
    x = _finite(_as_2d(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu = np.nanmean(x, axis=1, keepdims=True)
        sd = np.nanstd(x, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, (x - mu) / sd, np.nan)


def cs_scale(x: np.ndarray, a: float = 1.0) -> np.ndarray:
    """Per-date ``a * x / sum(|x|)`` (Alpha101's ``scale``); NaN where the sum is 0."""
    x = _finite(_as_2d(x))
    s = np.nansum(np.abs(x), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, a * x / s, np.nan)


def cs_winsorize(
    x: np.ndarray,
    *,
    method: Literal["quantile", "sigma"] = "quantile",
    limit: float = 0.01,
) -> np.ndarray:
    """Clip each date's values at its own quantiles or at mean +- ``limit`` std.

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)
    method : {"quantile", "sigma"}
    limit : float
        Tail probability (``quantile``: clip at ``limit`` and ``1 - limit``)
        or number of standard deviations (``sigma``).
    """
    x = _finite(_as_2d(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "quantile":
            if not 0.0 <= limit < 0.5:
                raise DataError(f"winsorize quantile limit must be in [0, 0.5), got {limit}")
            lo = np.nanquantile(x, limit, axis=1, keepdims=True)
            hi = np.nanquantile(x, 1.0 - limit, axis=1, keepdims=True)
        elif method == "sigma":
            if limit <= 0:
                raise DataError(f"winsorize sigma limit must be > 0, got {limit}")
            mu = np.nanmean(x, axis=1, keepdims=True)
            sd = np.nanstd(x, axis=1, keepdims=True)
            lo, hi = mu - limit * sd, mu + limit * sd
        else:
            raise DataError(f"winsorize method must be 'quantile' or 'sigma', not {method!r}")
    return np.clip(x, lo, hi)


def group_codes(
    assets: Sequence[str], groups: Mapping[str, Any] | Sequence[Any] | np.ndarray
) -> np.ndarray:
    """Integer group code per asset, shape ``(n_assets,)``; -1 = no group.

    ``groups`` is a mapping ticker -> group label (missing tickers get -1) or a
    sequence aligned with ``assets``.
    """
    if isinstance(groups, Mapping):
        labels = [groups.get(a) for a in assets]
    else:
        labels = list(groups)
        if len(labels) != len(assets):
            raise DataError(
                f"group labels have length {len(labels)}, expected one per asset ({len(assets)})"
            )
    labels = [None if (lab is None or (isinstance(lab, float) and np.isnan(lab))) else str(lab)
              for lab in labels]
    uniq = sorted({lab for lab in labels if lab is not None})
    index = {lab: i for i, lab in enumerate(uniq)}
    return np.array([index[lab] if lab is not None else -1 for lab in labels], dtype=np.int64)


def cs_neutralize(
    x: np.ndarray,
    codes: np.ndarray,
    *,
    method: Literal["demean", "regress"] = "demean",
    exposures: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Remove group effects per date.

    Parameters
    ----------
    x : ndarray, shape (n_dates, n_assets)
    codes : ndarray of int, shape (n_assets,)
        Group code per asset (see :func:`group_codes`); assets with -1 get NaN.
    method : {"demean", "regress"}
        ``"demean"``: subtract the group's mean on that date (Alpha101's
        ``indneutralize``). ``"regress"``: the residual of a per-date least
        squares fit on group dummies plus ``exposures`` (e.g. log market cap).
    exposures : sequence of ndarray, each (n_dates, n_assets)
        Extra regressors for ``"regress"``.

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
    """
    x = _finite(_as_2d(x))
    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape != (x.shape[1],):
        raise DataError(f"group codes have shape {codes.shape}, expected ({x.shape[1]},)")
    out = np.full_like(x, np.nan)
    if method == "demean" and not exposures:
        for g in np.unique(codes[codes >= 0]):
            cols = np.flatnonzero(codes == g)
            sub = x[:, cols]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mu = np.nanmean(sub, axis=1, keepdims=True)
            out[:, cols] = sub - mu
        return out
    if method not in ("demean", "regress"):
        raise DataError(f"neutralize method must be 'demean' or 'regress', not {method!r}")
    ex = [_finite(_as_2d(e, "exposure")) for e in exposures]
    uniq = np.unique(codes[codes >= 0])
    dummies = (codes[:, None] == uniq[None, :]).astype(np.float64)
    for t in range(x.shape[0]):
        ok = np.isfinite(x[t]) & (codes >= 0)
        for e in ex:
            ok &= np.isfinite(e[t])
        if not ok.any():
            continue
        design = np.column_stack([dummies[ok], *(e[t, ok] for e in ex)])
        coef, *_ = np.linalg.lstsq(design, x[t, ok], rcond=None)
        out[t, ok] = x[t, ok] - design @ coef
    return out


def ts_zscore(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling z-score per asset over the last ``window`` rows (strict, ddof=1).

    NaN until ``window`` finite values are available and where the window is
    constant.
    """
    if int(window) < 2:
        raise DataError(f"ts_zscore window must be >= 2, got {window}")
    return rolling_zscore(_as_2d(x), int(window))


def calendar_dummies(
    dates: Sequence[Any] | pd.DatetimeIndex, kinds: Sequence[str] = ("weekday", "month")
) -> pd.DataFrame:
    """One-hot calendar dummies per date, shape ``(n_dates, k)``.

    Columns are ``weekday_0 .. weekday_4`` (Monday = 0; weekend columns are
    added only when weekend dates occur) and ``month_1 .. month_12``. The
    result is a date-indexed DataFrame: broadcast a column across assets with
    ``np.repeat(df[[col]].to_numpy(), n_assets, axis=1)`` when a per-asset
    field is needed. Known in advance, so these never leak.
    """
    idx = pd.DatetimeIndex(dates)
    cols: dict[str, np.ndarray] = {}
    for kind in kinds:
        if kind == "weekday":
            days = idx.day_of_week.to_numpy()
            for d in range(max(5, int(days.max()) + 1 if len(days) else 5)):
                cols[f"weekday_{d}"] = (days == d).astype(np.float64)
        elif kind == "month":
            months = idx.month.to_numpy()
            for mth in range(1, 13):
                cols[f"month_{mth}"] = (months == mth).astype(np.float64)
        else:
            raise DataError(f"calendar dummy kind must be 'weekday' or 'month', not {kind!r}")
    return pd.DataFrame(cols, index=idx)


# --------------------------------------------------------------------- processors
def _train_rows(dates: Sequence[Any] | pd.DatetimeIndex, n: int, train_end: Any) -> int:
    idx = pd.DatetimeIndex(dates)
    if len(idx) != n:
        raise DataError(f"dates have length {len(idx)}, expected {n} (one per row)")
    k = int(idx.searchsorted(pd.Timestamp(train_end), side="right"))
    if k == 0:
        raise DataError(f"no rows on or before train_end {pd.Timestamp(train_end).date()}")
    return k


class CrossSectionalProcessor:
    """Base of the fitted processors: per-asset statistics from the training rows.

    ``fit(x, dates, train_end)`` computes, for each asset (column), statistics
    over rows dated ``<= train_end`` and stores them in attributes ending in
    ``_``; ``transform(x)`` applies them to any rows. ``fit`` returns ``self``
    (scikit-learn style).
    """

    def fit(self, x: np.ndarray, dates: Sequence[Any], train_end: Any) -> CrossSectionalProcessor:
        x = _finite(_as_2d(x))
        k = _train_rows(dates, x.shape[0], train_end)
        self.train_rows_ = k
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self._fit(x[:k])
        return self

    def _fit(self, train: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, x: np.ndarray) -> np.ndarray:
        if not hasattr(self, "train_rows_"):
            raise DataError(f"{type(self).__name__} is not fitted; call fit() first")
        return self._transform(_finite(_as_2d(x)))

    def _transform(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_transform(self, x: np.ndarray, dates: Sequence[Any], train_end: Any) -> np.ndarray:
        return self.fit(x, dates, train_end).transform(x)


class ZScoreScaler(CrossSectionalProcessor):
    """Per-asset ``(x - mean_train) / std_train`` (ddof=0); NaN for constant training data."""

    def _fit(self, train: np.ndarray) -> None:
        self.mean_ = np.nanmean(train, axis=0)
        self.std_ = np.nanstd(train, axis=0)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.std_ > 0, (x - self.mean_) / self.std_, np.nan)


class MinMaxScaler(CrossSectionalProcessor):
    """Per-asset ``(x - min_train) / (max_train - min_train)``; later data may leave [0, 1]."""

    def _fit(self, train: np.ndarray) -> None:
        self.min_ = np.nanmin(train, axis=0)
        self.max_ = np.nanmax(train, axis=0)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        span = self.max_ - self.min_
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(span > 0, (x - self.min_) / span, np.nan)


class Winsorizer(CrossSectionalProcessor):
    """Clip at quantiles ``limit`` / ``1 - limit`` of the training rows.

    Parameters
    ----------
    limit : float
        Tail probability in ``[0, 0.5)``.
    pooled : bool
        True: one pair of bounds from all assets' training values; False:
        bounds per asset.
    """

    def __init__(self, limit: float = 0.01, pooled: bool = True) -> None:
        self.limit = limit
        self.pooled = pooled

    def _fit(self, train: np.ndarray) -> None:
        if not 0.0 <= self.limit < 0.5:
            raise DataError(f"Winsorizer limit must be in [0, 0.5), got {self.limit}")
        axis = None if self.pooled else 0
        self.lower_ = np.nanquantile(train, self.limit, axis=axis)
        self.upper_ = np.nanquantile(train, 1.0 - self.limit, axis=axis)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower_, self.upper_)
