"""A study universe chosen by a rule measured before the study starts, not by a ticker list.

A study file that names its tickers runs only on the panel they come from. A rule such as
"the 30 most traded names over the 60 sessions before the start" runs on any panel of the same
schema, and stays point in time: it reads only sessions strictly before ``as_of`` (the study's
first simulated date), so no name is picked for what it did later. A name listed after
``as_of`` cannot be chosen; a name delisted later can (no survivorship filter is applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import DataError

__all__ = ["RANK_BUILTINS", "UniverseChoice", "select_universe"]

#: Rankings computed from OHLCV rather than read from a panel field of the same name.
RANK_BUILTINS = ("dollar_volume", "volume", "coverage", "ticker")


@dataclass(frozen=True)
class UniverseChoice:
    """The chosen tickers and how they were chosen (JSON-able through :meth:`to_dict`)."""

    tickers: list[str]
    rule: dict[str, Any]
    window_start: str
    window_end: str
    n_sessions: int
    n_candidates: int
    n_eligible: int
    excluded: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": dict(self.rule),
            "window": {"start": self.window_start, "end": self.window_end,
                       "n_sessions": self.n_sessions},
            "n_candidates": self.n_candidates,
            "n_eligible": self.n_eligible,
            "n_selected": len(self.tickers),
            "excluded": dict(self.excluded),
            "tickers": list(self.tickers),
        }


def _score(panel: Panel, rows: slice, rank_by: str) -> np.ndarray:
    """Mean of the ranking quantity per asset over ``rows``, shape (n_assets,); NaN when absent."""
    close = panel["close"][rows]
    if rank_by == "coverage":
        return np.isfinite(close).mean(axis=0)
    if rank_by == "ticker":
        return np.zeros(panel.n_assets)
    if rank_by in ("dollar_volume", "volume"):
        if "volume" not in panel:
            raise DataError(f"data.universe.rank_by: {rank_by!r} needs a volume field, "
                            "which the dataset lacks; rank by 'coverage' or a field it has")
        values = panel["volume"][rows] * (close if rank_by == "dollar_volume" else 1.0)
    else:
        if rank_by not in panel:
            raise DataError(f"data.universe.rank_by: field {rank_by!r} is not in the dataset "
                            f"(fields: {', '.join(panel.field_names[:20])})")
        values = panel[rank_by][rows]
    with np.errstate(invalid="ignore"):
        count = np.isfinite(values).sum(axis=0)
        total = np.where(np.isfinite(values), values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def select_universe(
    panel: Panel,
    as_of: Any,
    *,
    size: int | None = None,
    rank_by: str = "dollar_volume",
    ascending: bool = False,
    window: int = 60,
    min_coverage: float = 0.9,
    require: Sequence[str] = (),
) -> UniverseChoice:
    """Pick tickers by a rule read from the ``window`` sessions strictly before ``as_of``.

    Parameters
    ----------
    panel : Panel
        The loaded panel, (n_dates, n_assets) fields; needs ``close``.
    as_of : date-like
        The study's first simulated date. Only sessions before it are read.
    size : int or None
        Keep at most this many of the eligible names (None: all eligible).
    rank_by : str
        ``dollar_volume`` (mean close x volume), ``volume``, ``coverage`` (share of sessions
        with a close), ``ticker`` (alphabetical) or the name of any numeric panel field
        (its mean over the window, e.g. a market cap).
    ascending : bool
        Rank smallest first (e.g. the smallest caps); default largest first.
    window : int
        Sessions measured, ending on the last session before ``as_of``.
    min_coverage : float
        A name is eligible when it has a valid close on at least this share of the window's
        sessions and every ``require`` field on at least this share as well.
    require : sequence of str
        Panel fields a name must have (e.g. fundamentals joined point in time).

    Returns
    -------
    UniverseChoice
        Tickers in the panel's order, plus the rule, window and exclusion counts.

    Raises
    ------
    DataError
        When no session precedes ``as_of``, a field is missing, or no name is eligible.
    """
    stamp = pd.Timestamp(as_of)
    n_before = int(panel.dates.searchsorted(stamp, side="left"))
    if n_before == 0:
        raise DataError(
            f"data.universe: no session before {stamp.date()} to choose the universe from "
            f"(the data starts {panel.dates[0].date()}); set data.start later so the rule has "
            "history to read"
        )
    first = max(0, n_before - int(window))
    rows = slice(first, n_before)
    n_sessions = n_before - first
    for name in require:
        if name not in panel:
            raise DataError(f"data.universe.require: field {name!r} is not in the dataset "
                            "(fundamentals are joined as fields named in data.fundamentals.fields)")
    excluded: dict[str, int] = {}
    covered = np.isfinite(panel["close"][rows]).mean(axis=0) >= min_coverage
    excluded["too few closes in the window"] = int((~covered).sum())
    eligible = covered.copy()
    for name in require:
        has = np.isfinite(panel[name][rows]).mean(axis=0) >= min_coverage
        excluded[f"no {name}"] = int((eligible & ~has).sum())
        eligible &= has
    score = _score(panel, rows, rank_by)
    ranked = eligible & np.isfinite(score)
    excluded[f"no {rank_by}"] = int((eligible & ~ranked).sum())
    idx = np.flatnonzero(ranked)
    if idx.size == 0:
        raise DataError(
            f"data.universe: no ticker qualifies over the {n_sessions} sessions "
            f"{panel.dates[first].date()}..{panel.dates[n_before - 1].date()} "
            f"(excluded: {', '.join(f'{k}: {v}' for k, v in excluded.items() if v)})"
        )
    names = panel.assets[idx].astype(str)
    key = score[idx] if ascending else -score[idx]
    order = np.lexsort((names, key))  # ties broken by name, so the choice is reproducible
    keep = idx[order][: size if size is not None else idx.size]
    chosen = [str(a) for a in panel.assets[np.sort(keep)]]
    rule = {"size": size, "rank_by": rank_by, "ascending": ascending, "window": int(window),
            "min_coverage": float(min_coverage), "require": list(require),
            "as_of": stamp.date().isoformat()}
    return UniverseChoice(
        tickers=chosen, rule=rule,
        window_start=panel.dates[first].date().isoformat(),
        window_end=panel.dates[n_before - 1].date().isoformat(),
        n_sessions=n_sessions, n_candidates=panel.n_assets, n_eligible=int(idx.size),
        excluded={k: v for k, v in excluded.items() if v},
    )
