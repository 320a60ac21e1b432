"""Date columns read strictly: a value that is not a date is named, never turned into NaT.

Shared by the store, providers, fundamentals, universe and adjustment tables,
so that every entry point words the same problem the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphalab.errors import DataError

__all__ = ["parse_dates"]


def parse_dates(
    values: pd.Series,
    what: str,
    *,
    required: bool = False,
    who: pd.Series | None = None,
    error: type[Exception] = DataError,
    utc: bool = True,
) -> pd.Series:
    """``values`` as naive datetime64, shape ``(n,)``; bad values raise ``error``.

    Parameters
    ----------
    values : pandas.Series, shape ``(n,)``
        Dates as strings, timestamps or datetime64 (any time zone).
    what : str
        How the message names the column, e.g. ``"dataset 'x': column 'date'"``.
    required : bool
        Missing values are errors too (else they stay NaT).
    who : pandas.Series, shape ``(n,)``, optional
        A label per row (the ticker) quoted beside the first bad value.
    error : exception class
        Raised with the message (``DataError``, or a provider's error).
    utc : bool
        Zone-aware stamps are converted to UTC before the zone is dropped
        (the store's rule); False keeps their local wall time (a vendor's
        daily bar stamped at the exchange's midnight).
    """
    try:
        out = pd.to_datetime(values)  # fast path: one inferred format
    except (TypeError, ValueError, OverflowError):
        # Slow path, only to find and name the culprits.
        try:
            out = pd.to_datetime(values, errors="coerce", format="mixed")
        except (TypeError, ValueError) as exc:  # e.g. mixed time zones
            raise error(f"{what} cannot be read as dates: {exc}") from None
        if not (out.isna() & values.notna()).any():
            raise error(f"{what} cannot be read as dates (mixed formats?)") from None
    bad = (out.isna() & (values.notna() | required)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        label = "" if who is None else f" for {str(who.iloc[i])!r}"
        raise error(
            f"{what}: {int(bad.sum())} value(s) missing or not dates, first "
            f"{values.iloc[i]!r}{label} (row {i})"
        )
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None) if utc else out.dt.tz_localize(None)
    return out
