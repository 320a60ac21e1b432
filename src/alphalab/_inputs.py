"""Checks shared by the public entry points of the base layer (metrics, markets).

Private: each function turns one kind of malformed argument into a clear
:class:`~alphalab.errors.DataError` / :class:`~alphalab.errors.ConfigError`
instead of a pandas or numpy traceback.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError, DataError

__all__ = ["as_dates", "is_finite_number", "real_number"]


def as_dates(
    dates: Any, name: str, *, unique: bool = True, wall_clock: bool = False
) -> pd.DatetimeIndex:
    """``dates`` as a DatetimeIndex, shape ``(n,)``.

    Parameters
    ----------
    dates : DatetimeIndex, Series or sequence of date-likes, length ``n``
    name : str
        Named in messages.
    unique : bool
        Refuse a date that appears twice.
    wall_clock : bool
        Drop a timezone keeping the local wall-clock time (daily bars are dated
        in exchange-local time; converting to UTC would move them a day).

    Raises
    ------
    DataError
        Numbers (integers would be read as nanoseconds since 1970), text that
        is not a date, a missing date (NaT, naming its position) or a repeat.
    """
    if isinstance(dates, pd.DatetimeIndex):
        idx = dates
    else:
        values = dates if hasattr(dates, "dtype") else np.asarray(dates, dtype=object).ravel()
        cells = np.asarray(values, dtype=object).ravel()
        if values.dtype.kind in "biufc" or any(
            isinstance(v, (bool, int, float, np.number)) and not pd.isna(v) for v in cells
        ):
            raise DataError(
                f"{name} must be dates (DatetimeIndex or date strings), got numbers; integers "
                "would be read as nanoseconds since 1970"
            )
        try:
            idx = pd.DatetimeIndex(values)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name}: a value is not a date ({str(exc)[:120]})") from None
    if idx.hasnans:
        pos = int(np.flatnonzero(idx.isna())[0])
        raise DataError(f"{name} contain a missing date (NaT) at position {pos}")
    if unique and idx.has_duplicates:
        raise DataError(f"{name}: date {idx[idx.duplicated()][0]} appears more than once")
    if wall_clock and idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx


def real_number(value: Any, name: str) -> float:
    """``value`` as a float; bools, text and other objects raise :class:`ConfigError`.

    NaN and infinities pass: the caller decides whether they are allowed.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be a number, got the bool {value!r}")
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r:.60}")
    return float(value)


def is_finite_number(value: Any) -> bool:
    """True for a finite int/float that is not a bool."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        return False
    return math.isfinite(float(value))
