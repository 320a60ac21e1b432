"""Point-in-time size universes: the N smallest listed, tradable names by market cap.

Market cap on date t is ``close[t] * shares[t]`` where ``shares`` is the
share count of the latest report published *before* t (join it with
:func:`alphalab.data.fundamentals.join_fundamentals`, which makes a report
usable from the session after its announcement). Where no report is known yet
(the A-share fundamentals sample covers only the SSE and SZSE main boards),
the share count falls back to the **turnover-implied float**:

    float_shares[t] = median over the last ``window`` trading rows of volume / (turn / 100)

``turn`` being the day's turnover as a percentage of tradable shares (baostock's
``turn``). That estimates *tradable* (float) shares, which is at most the total
share count, so a fallback cap understates the total cap of a name with locked
shares (recent IPOs, large state holdings); the age filter removes most young
names, and :func:`point_in_time_cap` reports which source each cap came from so
a study can say how much of its universe rests on the fallback.

Everything here is causal: each row uses rows at or before its date only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.calendars import st_mask, tradable_mask
from alphalab.data.panel import Panel
from alphalab.data.universe import listing_age
from alphalab.errors import ConfigError, DataError

__all__ = [
    "CAP_FALLBACK",
    "CAP_NONE",
    "CAP_REPORTED",
    "blacklist_mask",
    "implied_float_shares",
    "point_in_time_cap",
    "smallest_cap_universe",
]

#: Codes of :func:`point_in_time_cap`'s ``source`` array.
CAP_NONE, CAP_REPORTED, CAP_FALLBACK = 0, 1, 2


def implied_float_shares(panel: Panel, window: int = 20, min_obs: int = 10) -> np.ndarray:
    """Tradable shares implied by ``volume / (turn / 100)``, shape ``(n_dates, n_assets)``.

    Parameters
    ----------
    panel : Panel
        Needs ``volume`` and ``turn`` (turnover, % of tradable shares).
    window : int
        Trailing rows the median is taken over (the ratio is noisy where
        ``turn`` is rounded to 0.001 %).
    min_obs : int
        Trading rows (volume > 0, turn > 0) needed inside the window; fewer
        gives NaN. This is a named partial-window rule: suspensions leave holes.
    """
    if window < 1 or not 1 <= min_obs <= window:
        raise ConfigError(f"implied_float_shares needs window >= 1 and 1 <= min_obs <= window, got {window}, {min_obs}")
    panel.require("volume", "turn")
    vol, turn = panel["volume"], panel["turn"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((vol > 0) & (turn > 0), vol / (turn / 100.0), np.nan)
    med = pd.DataFrame(ratio).rolling(window, min_periods=min_obs).median()
    return med.to_numpy(np.float64)


def point_in_time_cap(
    panel: Panel,
    shares_field: str | None = "totalShare",
    *,
    fallback: bool = True,
    window: int = 20,
    min_obs: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Market cap as known at each close, and where it came from.

    Parameters
    ----------
    panel : Panel
        ``close`` plus the point-in-time share field (and ``volume``/``turn``
        for the fallback).
    shares_field : str or None
        Reported share count joined point-in-time; None uses the fallback only.
    fallback : bool
        Use :func:`implied_float_shares` where no report is known.

    Returns
    -------
    cap : numpy.ndarray, shape ``(n_dates, n_assets)``
        NaN where unknown.
    source : numpy.ndarray of int8, shape ``(n_dates, n_assets)``
        :data:`CAP_REPORTED`, :data:`CAP_FALLBACK` or :data:`CAP_NONE`.
    """
    panel.require("close")
    close = panel["close"]
    shares = np.full(panel.shape, np.nan)
    source = np.zeros(panel.shape, dtype=np.int8)
    if shares_field is not None:
        if shares_field not in panel:
            if not fallback:
                raise DataError(
                    f"market cap needs the share field {shares_field!r} (join the fundamentals with "
                    f"data.fundamentals) or the turnover fallback; fields: {panel.field_names}"
                )
        else:
            rep = panel[shares_field]
            ok = np.isfinite(rep) & (rep > 0)
            shares[ok] = rep[ok]
            source[ok] = CAP_REPORTED
    if fallback:
        if "volume" not in panel or "turn" not in panel:
            if shares_field is None or shares_field not in panel:
                raise DataError(
                    f"market cap needs {shares_field!r} or volume and turn for the turnover fallback; "
                    f"fields: {panel.field_names}"
                )
        else:
            flt = implied_float_shares(panel, window, min_obs)
            use = (source == CAP_NONE) & np.isfinite(flt) & (flt > 0)
            shares[use] = flt[use]
            source[use] = CAP_FALLBACK
    cap = close * shares
    source[~np.isfinite(cap)] = CAP_NONE
    return cap, source


def blacklist_mask(panel: Panel, blacklist: Mapping[str, Any] | None) -> np.ndarray:
    """True where a ticker is blacklisted: from its declaration date on, shape ``(n_dates, n_assets)``.

    Parameters
    ----------
    blacklist : mapping ticker -> date
        When each exclusion was declared; a ticker is excluded on dates on or
        after that date only (an exclusion is information of its own date).
        Tickers absent from the panel are ignored.
    """
    out = np.zeros(panel.shape, dtype=bool)
    for ticker, declared in (blacklist or {}).items():
        if str(ticker) not in panel.assets:
            continue
        when = pd.Timestamp(declared)
        out[panel.dates >= when, panel.assets.get_loc(str(ticker))] = True
    return out


def smallest_cap_universe(
    panel: Panel,
    n: int,
    *,
    shares_field: str | None = "totalShare",
    fallback: bool = True,
    min_listing_days: int = 250,
    exclude_st: bool = True,
    tradable: bool = True,
    blacklist: Mapping[str, Any] | None = None,
    candidates: int | None = None,
    prior_sessions: np.ndarray | None = None,
) -> np.ndarray:
    """The ``n`` smallest eligible names by point-in-time market cap on each date.

    Eligible on date t: a known cap (:func:`point_in_time_cap`), at least
    ``min_listing_days`` sessions with a close up to t, not ST at t, trading at
    t (not suspended, volume > 0), not blacklisted at t. Ties in cap break by
    column order (stable sort), so the result is deterministic.

    Parameters
    ----------
    n : int
        Names per date (fewer when fewer are eligible).
    candidates : int, optional
        The founding recipe's pool: rank the ``candidates`` smallest by cap
        *before* dropping ST / blacklisted names, then keep the ``n`` smallest
        left. None (default) filters first, then ranks.
    prior_sessions : numpy.ndarray, shape ``(n_assets,)``, optional
        Sessions with a close before the panel's first row, added to the
        listing age: lets a caller rank on a short tail slice of a long panel
        (the cap needs only the last few rows) with the age of the full history.

    Returns
    -------
    numpy.ndarray of bool, shape ``(n_dates, n_assets)``
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"n must be an integer >= 1, got {n!r}")
    if candidates is not None and (not isinstance(candidates, (int, np.integer)) or candidates < n):
        raise ConfigError(f"candidates must be an integer >= n ({n}), got {candidates!r}")
    cap, _ = point_in_time_cap(panel, shares_field, fallback=fallback)
    ok = np.isfinite(cap) & (cap > 0)
    if min_listing_days:
        age = listing_age(panel)
        if prior_sessions is not None:
            age = age + np.asarray(prior_sessions)[None, :]
        ok &= age >= int(min_listing_days)
    if tradable:
        ok &= tradable_mask(panel)
    drop = blacklist_mask(panel, blacklist)
    if exclude_st:
        drop |= st_mask(panel)
    if candidates is None:
        ok &= ~drop
    key = np.where(ok, cap, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(panel.n_assets)[None, :].repeat(panel.n_dates, 0), axis=1)
    if candidates is None:
        return ok & (ranks < int(n))
    pool = ok & (ranks < int(candidates)) & ~drop
    key = np.where(pool, cap, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    np.put_along_axis(ranks, order, np.arange(panel.n_assets)[None, :].repeat(panel.n_dates, 0), axis=1)
    return pool & (ranks < int(n))
