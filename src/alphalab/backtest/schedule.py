"""Rebalance schedules: which dates carry a decision.

A decision is made at the close of a scheduled date and executes at the next
bar. Periodic rules mark the *first* bar of each period (plus the first bar of
the data), because whether a bar opens a period depends only on the bars
before it; "last bar of the week" would depend on the next date, so appending
data could move a past decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError

__all__ = ["RebalanceRule", "rebalance_mask"]

RebalanceRule = str | int | Sequence[Any] | pd.DatetimeIndex

_PERIODS = {"weekly": "W", "monthly": "M", "quarterly": "Q", "yearly": "Y", "annually": "Y"}


def rebalance_mask(dates: pd.DatetimeIndex, rule: RebalanceRule) -> np.ndarray:
    """Boolean mask of decision dates.

    Parameters
    ----------
    dates : pandas.DatetimeIndex, length ``n_dates``
        The trading calendar of the data, increasing.
    rule : str, int or sequence of dates
        ``"daily"``; ``"weekly"``, ``"monthly"``, ``"quarterly"``, ``"yearly"``
        (first bar of each period); an int ``k`` (every k-th bar starting with
        the first); or explicit dates, each of which must be in ``dates``.

    Returns
    -------
    numpy.ndarray of bool, shape ``(n_dates,)``
    """
    n = len(dates)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    if isinstance(rule, str):
        key = rule.strip().lower()
        if key == "daily":
            mask[:] = True
            return mask
        if key in _PERIODS:
            periods = dates.to_period(_PERIODS[key]).asi8
            mask[0] = True
            mask[1:] = periods[1:] != periods[:-1]
            return mask
        if key.isdigit():
            return rebalance_mask(dates, int(key))
        raise ConfigError(
            f"unknown rebalance rule {rule!r}; use daily, weekly, monthly, quarterly, "
            "yearly, an integer number of bars, or a list of dates"
        )
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        if rule < 1:
            raise ConfigError(f"rebalance every k bars needs k >= 1, got {rule}")
        mask[:: int(rule)] = True
        return mask
    wanted = pd.DatetimeIndex(pd.to_datetime(list(rule)))
    pos = dates.get_indexer(wanted)
    if (pos < 0).any():
        bad = wanted[pos < 0]
        raise ConfigError(
            f"rebalance date(s) not in the data's calendar: "
            f"{', '.join(str(d.date()) for d in bad[:5])}"
        )
    mask[pos] = True
    return mask
