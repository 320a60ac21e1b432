"""Trading calendars per market and tradability masks.

Calendars come from ``exchange_calendars`` (the ``data`` extra): ``us`` ->
XNYS, ``cn`` -> XSHG, ``tw`` -> XTAI. exchange_calendars has no Vietnamese
exchange, so for ``vn`` (and any market without a calendar) the calendar is
derived from the data itself: the union of the dates on which any ticker
traded. :class:`Calendar` says which of the two was used.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import DataError

__all__ = [
    "EXCHANGE_CODES",
    "Calendar",
    "market_family",
    "st_mask",
    "tradable_mask",
    "trading_calendar",
]

EXCHANGE_CODES: dict[str, str] = {"us": "XNYS", "cn": "XSHG", "tw": "XTAI"}


def market_family(market: str | None) -> str | None:
    """``vn.hose`` -> ``vn``, ``cn.star`` -> ``cn``; None stays None."""
    if market is None:
        return None
    return str(market).strip().lower().split(".")[0]


@dataclass(frozen=True)
class Calendar:
    """Trading sessions of one market over a range.

    Attributes
    ----------
    sessions : pandas.DatetimeIndex, shape ``(n_sessions,)``
        Naive midnight timestamps, increasing.
    source : str
        ``exchange_calendars:XNYS`` style, or ``derived from data``.
    """

    sessions: pd.DatetimeIndex
    source: str

    @property
    def derived(self) -> bool:
        return not self.source.startswith("exchange_calendars")


@functools.lru_cache(maxsize=16)
def _exchange_sessions(code: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars trips a pandas 3.1 deprecation inside its constructor.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*Series.values.*")
        # The library wants start < end; a one-day range is padded and cut below.
        cal = xcals.get_calendar(code, start=start, end=max(end, start + pd.Timedelta(days=7)))
    # Holidays can make the first/last session fall inside [start, end].
    lo = max(start, pd.Timestamp(cal.first_session))
    hi = min(end, pd.Timestamp(cal.last_session))
    if lo > hi:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    return pd.DatetimeIndex(cal.sessions_in_range(lo, hi)).as_unit("ns")


def trading_calendar(
    market: str | None,
    start: Any,
    end: Any,
    *,
    data_dates: Iterable[Any] | None = None,
) -> Calendar:
    """The trading sessions of ``market`` between ``start`` and ``end`` inclusive.

    Parameters
    ----------
    market : str or None
        A markets code (``us``, ``vn.hose``, ``cn``, ``tw`` ...).
    start, end : datetime-like
    data_dates : iterable of datetime-like, optional
        The data's own dates, used when the market has no exchange calendar
        (Vietnam) or when ``exchange_calendars`` is not installed.

    Raises
    ------
    DataError
        No exchange calendar and no ``data_dates`` to derive one from.
    """
    lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if lo > hi:
        raise DataError(f"cannot build a trading calendar: start {lo.date()} is after end {hi.date()}")
    code = EXCHANGE_CODES.get(market_family(market) or "")
    if code is not None:
        try:
            return Calendar(_exchange_sessions(code, lo, hi), f"exchange_calendars:{code}")
        except ImportError:
            pass  # fall through to the data-derived calendar
    if data_dates is None:
        why = "exchange_calendars is not installed" if code else f"no exchange calendar for {market!r}"
        raise DataError(f"cannot build a trading calendar: {why} and no data dates were given")
    dates = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(list(data_dates)).normalize())).sort_values()
    dates = dates[(dates >= lo) & (dates <= hi)].as_unit("ns")
    return Calendar(dates, "derived from data")


def tradable_mask(panel: Panel) -> np.ndarray:
    """Where an asset could trade on a date, shape ``(n_dates, n_assets)`` bool.

    Untradeable: no close; ``volume`` exactly 0;
    ``tradestatus`` 0 (baostock's suspension flag) or ``suspended`` 1.
    """
    panel.require("close")
    ok = ~np.isnan(panel["close"])
    if "volume" in panel:
        # NaN volume is "not reported" (indices, stub rows), not "did not trade".
        ok &= panel["volume"] != 0
    if "tradestatus" in panel:
        ok &= np.nan_to_num(panel["tradestatus"], nan=1.0) != 0
    if "suspended" in panel:
        ok &= np.nan_to_num(panel["suspended"], nan=0.0) == 0
    return ok


def st_mask(panel: Panel, field: str = "isST") -> np.ndarray:
    """Special-treatment flags, shape ``(n_dates, n_assets)`` bool (False where absent)."""
    if field not in panel:
        return np.zeros(panel.shape, dtype=bool)
    return np.nan_to_num(panel[field], nan=0.0) != 0
