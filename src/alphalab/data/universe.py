"""Universes: which assets a strategy may hold on each date.

Every filter is evaluated as of each date with data up to that date only
(trailing windows, no look-ahead), so a universe is safe to use in a
backtest. The result is a boolean mask of shape ``(n_dates, n_assets)``.

* :func:`static_universe` - a fixed list of tickers;
* :func:`index_membership` - index constituents by date (snapshots or
  intervals), where such data exists;
* :func:`listing_age`, :func:`average_traded_value`, :func:`market_cap` -
  the quantities behind the age, liquidity and size filters;
* :func:`universe_mask` - all of them combined, plus tradability and ST.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from alphalab.data.calendars import st_mask, tradable_mask
from alphalab.data.panel import Panel
from alphalab.data.parsing import parse_dates
from alphalab.errors import DataError

__all__ = [
    "average_traded_value",
    "index_membership",
    "listing_age",
    "market_cap",
    "static_universe",
    "universe_mask",
]


def static_universe(panel: Panel, tickers: Sequence[str]) -> np.ndarray:
    """True in the columns of ``tickers`` on every date, shape ``(n_dates, n_assets)``.

    Raises
    ------
    DataError
        A ticker is not in the panel.
    """
    if isinstance(tickers, str):
        tickers = [tickers]  # one ticker, not its letters
    unknown = sorted(set(map(str, tickers)) - set(panel.assets))
    if unknown:
        raise DataError(f"universe tickers not in the data: {unknown[:10]}")
    cols = panel.assets.isin([str(t) for t in tickers])
    return np.broadcast_to(cols, panel.shape).copy()


def index_membership(panel: Panel, membership: pd.DataFrame) -> np.ndarray:
    """Index constituents as of each date, shape ``(n_dates, n_assets)`` bool.

    Parameters
    ----------
    membership : pandas.DataFrame
        Either snapshots ``date, ticker`` (the constituent list published on
        ``date``; on each panel date the latest snapshot on or before it
        applies, and dates before the first snapshot have no members), or
        intervals ``ticker, start, end`` (member from ``start`` to ``end``
        inclusive; ``end`` NaT = still a member).

    Tickers absent from the panel are ignored (the index held stocks the data
    does not have).
    """
    if not isinstance(membership, pd.DataFrame):
        raise DataError(f"membership must be a pandas DataFrame, got {type(membership).__name__}")
    n_d, n_a = panel.shape
    col_of = pd.Series(np.arange(n_a), index=pd.Index(panel.assets))
    out = np.zeros((n_d, n_a), dtype=bool)
    if "ticker" in membership.columns:
        membership = membership.reset_index(drop=True)
        if membership["ticker"].isna().any():
            raise DataError(f"membership: {int(membership['ticker'].isna().sum())} row(s) have no ticker")
        names = pd.unique(membership["ticker"].astype(str))
        if len(names) and not pd.Index(names).isin(col_of.index).any():
            warnings.warn(
                f"none of the {len(names)} membership tickers (e.g. {names[0]!r}) is in the panel "
                f"(e.g. {panel.assets[0] if n_a else None!r}): the universe is empty",
                UserWarning,
                stacklevel=2,
            )
    if {"ticker", "start"} <= set(membership.columns):
        start_ts = _member_dates(membership, "start", required=True)
        end_ts = _member_dates(membership, "end", required=False)
        backwards = (end_ts < start_ts).to_numpy()
        if backwards.any():
            i = int(np.flatnonzero(backwards)[0])
            raise DataError(
                f"membership: end before start in {int(backwards.sum())} row(s), first "
                f"{str(membership['ticker'].iloc[i])!r} {start_ts.iloc[i].date()} .. {end_ts.iloc[i].date()}"
            )
        inside = membership["ticker"].astype(str).isin(col_of.index).to_numpy()
        m, start_ts, end_ts = membership[inside], start_ts[inside], end_ts[inside]
        start = panel.dates.searchsorted(start_ts.to_numpy(), side="left")
        end = np.full(len(m), n_d, dtype=np.int64)
        has_end = end_ts.notna().to_numpy()
        end[has_end] = panel.dates.searchsorted(end_ts[has_end].to_numpy(), side="right")
        delta = np.zeros((n_d + 1, n_a), dtype=np.int64)
        cols = col_of[m["ticker"].astype(str)].to_numpy()
        np.add.at(delta, (start, cols), 1)
        np.add.at(delta, (end, cols), -1)
        return np.cumsum(delta, axis=0)[:-1] > 0
    if {"date", "ticker"} <= set(membership.columns):
        m = membership.assign(date=_member_dates(membership, "date", required=True))
        snap_dates = pd.DatetimeIndex(m["date"].unique()).sort_values()
        which = snap_dates.searchsorted(panel.dates, side="right") - 1  # latest snapshot <= date
        m = m[m["ticker"].astype(str).isin(col_of.index)]
        by_snap = m.groupby("date")["ticker"].apply(lambda s: col_of[s.astype(str)].to_numpy())
        for k, d in enumerate(snap_dates):
            rows = which == k
            if rows.any() and d in by_snap.index:
                out[np.ix_(rows, by_snap[d])] = True
        return out
    raise DataError(
        "membership needs columns (date, ticker) for snapshots or (ticker, start[, end]) "
        f"for intervals; got {list(membership.columns)}"
    )


def _member_dates(m: pd.DataFrame, col: str, *, required: bool) -> pd.Series:
    """Column ``col`` of a membership table as dates; bad or (if required) missing ones named."""
    if col not in m.columns:
        return pd.Series(pd.NaT, index=m.index, dtype="datetime64[ns]")
    return parse_dates(m[col], f"membership: {col}", required=required, who=m["ticker"])


def listing_age(panel: Panel) -> np.ndarray:
    """Sessions with a close up to and including each date, shape ``(n_dates, n_assets)``.

    Counted from the first row in the data, so a ticker listed before the
    data starts looks young at the start (trim a warm-up period).
    """
    panel.require("close")
    return np.cumsum(~np.isnan(panel["close"]), axis=0)


def average_traded_value(panel: Panel, window: int = 20) -> np.ndarray:
    """Trailing mean of ``close * volume`` over ``window`` rows, shape ``(n_dates, n_assets)``.

    NaN until ``window`` rows exist (no partial windows); missing rows and
    missing volumes count as zero traded value inside a full window.
    """
    if window < 1:
        raise DataError(f"window must be >= 1, got {window}")
    panel.require("close", "volume")
    value = np.nan_to_num(panel["close"] * panel["volume"], nan=0.0)
    csum = np.cumsum(value, axis=0)
    out = np.full(panel.shape, np.nan)
    if panel.n_dates >= window:
        out[window - 1] = csum[window - 1]
        out[window:] = csum[window:] - csum[:-window]
        out[window - 1 :] /= window
    return out


def market_cap(panel: Panel, shares_field: str | None = None) -> np.ndarray:
    """Market capitalisation, shape ``(n_dates, n_assets)``.

    Uses a ``market_cap`` field when present, else ``close * shares_field``
    (e.g. ``totalShare`` joined point-in-time by
    :func:`alphalab.data.fundamentals.join_fundamentals`).
    """
    if shares_field is None:
        if "market_cap" in panel:
            return np.asarray(panel["market_cap"])
        for cand in ("totalShare", "outstanding_share", "shares_outstanding", "shares"):
            if cand in panel:
                shares_field = cand
                break
    if shares_field is None:
        raise DataError(
            "market cap needs a 'market_cap' field or shares outstanding "
            f"(totalShare, outstanding_share, shares); available: {', '.join(panel.field_names)}"
        )
    panel.require("close", shares_field)
    return panel["close"] * panel[shares_field]


def universe_mask(
    panel: Panel,
    *,
    tickers: Sequence[str] | None = None,
    membership: pd.DataFrame | None = None,
    min_listing_days: int | None = None,
    min_traded_value: float | None = None,
    liquidity_window: int = 20,
    min_market_cap: float | None = None,
    shares_field: str | None = None,
    tradable: bool = False,
    exclude_st: bool = False,
) -> np.ndarray:
    """Combine universe filters, each as of its date, shape ``(n_dates, n_assets)`` bool.

    Parameters
    ----------
    tickers : sequence of str, optional
        Static list.
    membership : pandas.DataFrame, optional
        Index constituents, see :func:`index_membership`.
    min_listing_days : int, optional
        Require at least this many sessions of history up to the date.
    min_traded_value : float, optional
        Require a trailing average traded value (``close * volume``) of at
        least this, over ``liquidity_window`` rows.
    min_market_cap : float, optional
        Require a market cap of at least this (see :func:`market_cap`).
    tradable : bool
        Also require the asset to be tradable that date (close, volume > 0,
        not suspended). This uses the date's own bar: for decisions at the
        close of t that is known; execution-time tradability is the
        backtest's job.
    exclude_st : bool
        Drop special-treatment (``isST``) stocks.
    """
    mask = ~np.isnan(panel["close"]) if "close" in panel else np.ones(panel.shape, dtype=bool)
    if tickers is not None:
        mask &= static_universe(panel, tickers)
    if membership is not None:
        mask &= index_membership(panel, membership)
    if min_listing_days is not None:
        mask &= listing_age(panel) >= min_listing_days
    if min_traded_value is not None:
        with np.errstate(invalid="ignore"):
            mask &= average_traded_value(panel, liquidity_window) >= min_traded_value
    if min_market_cap is not None:
        with np.errstate(invalid="ignore"):
            mask &= market_cap(panel, shares_field) >= min_market_cap
    if tradable:
        mask &= tradable_mask(panel)
    if exclude_st:
        mask &= ~st_mask(panel)
    return mask
