"""Time-series splits: walk-forward (expanding or rolling), purge and embargo, CPCV.

Durations are written as ``"3y"``, ``"6m"``, ``"2w"`` (calendar years, months, weeks)
or ``"5d"`` / an int (trading bars). Calendar windows are cut on the data's own
dates, so a "6m" test window holds whatever trading days fall in those months.

* **purge**: the last ``purge`` bars before a test block are dropped from training,
  because their labels (with horizon up to ``purge`` bars) overlap the test block.
* **embargo**: the first ``embargo`` bars after a test block are dropped from training
  (only matters when training data comes after test data, as in CPCV).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError

__all__ = [
    "CombinatorialPurgedCV",
    "Duration",
    "Fold",
    "SingleSplit",
    "WalkForward",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+)\s*([ymwdb])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Duration:
    """A window length: calendar (``years``/``months``/``weeks``) or a number of bars."""

    count: int
    unit: str  # "y", "m", "w" (calendar) or "b" (bars)

    @property
    def is_bars(self) -> bool:
        return self.unit == "b"

    def offset(self) -> pd.DateOffset:
        if self.unit == "y":
            return pd.DateOffset(years=self.count)
        if self.unit == "m":
            return pd.DateOffset(months=self.count)
        if self.unit == "w":
            return pd.DateOffset(weeks=self.count)
        raise ConfigError("a bar count has no calendar offset")

    def __str__(self) -> str:
        return f"{self.count}{'d' if self.unit == 'b' else self.unit}"


def parse_duration(value: Any, *, what: str = "duration") -> Duration:
    """Parse ``"3y"``, ``"6m"``, ``"2w"``, ``"5d"`` or an int (bars) into a :class:`Duration`."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{what} must be >= 0 bars, got {value}")
        return Duration(int(value), "b")
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            unit = m.group(2).lower()
            return Duration(int(m.group(1)), "b" if unit in ("d", "b") else unit)
    raise ConfigError(
        f"{what} {value!r} is not a duration; use e.g. '3y', '6m', '2w', '5d' or a number of bars"
    )


def _advance(dates: pd.DatetimeIndex, pos: int, dur: Duration) -> int:
    """Position of the first bar at or after ``dates[pos] + dur`` (or ``pos + bars``)."""
    if dur.is_bars:
        return pos + dur.count
    target = dates[pos] + dur.offset()
    return int(dates.searchsorted(target, "left"))


def _retreat(dates: pd.DatetimeIndex, pos: int, dur: Duration) -> int:
    """Position of the first bar at or after ``dates[pos] - dur`` (or ``pos - bars``)."""
    if dur.is_bars:
        return max(0, pos - dur.count)
    target = dates[pos] - dur.offset()
    return int(dates.searchsorted(target, "left"))


@dataclass(frozen=True)
class Fold:
    """One split: row positions for training and testing.

    Attributes
    ----------
    index : int
    train : numpy.ndarray of int, shape ``(n_train,)``
        Increasing row positions used for fitting.
    test : numpy.ndarray of int, shape ``(n_test,)``
        Increasing row positions evaluated out of sample.
    """

    index: int
    train: np.ndarray
    test: np.ndarray

    def describe(self, dates: pd.DatetimeIndex) -> dict[str, Any]:
        def span(rows: np.ndarray) -> tuple[str | None, str | None]:
            if rows.size == 0:
                return None, None
            return str(dates[rows[0]].date()), str(dates[rows[-1]].date())

        tr, te = span(self.train), span(self.test)
        return {
            "fold": self.index,
            "train_start": tr[0],
            "train_end": tr[1],
            "n_train": int(self.train.size),
            "test_start": te[0],
            "test_end": te[1],
            "n_test": int(self.test.size),
        }


@dataclass(frozen=True)
class WalkForward:
    """Walk-forward splits: train on the past, test on the next block, move on.

    Parameters
    ----------
    train : duration
        Minimum (expanding) or fixed (rolling) training window.
    test : duration
        Length of each test block; the model is retrained before every block.
    mode : {"expanding", "rolling"}
    purge : duration in bars
        Bars dropped from the end of training before each test block (label horizon).
    embargo : duration in bars
        Kept for symmetry with CPCV; training never follows testing here, so it only
        widens the gap between training and testing when ``embargo > purge``.
    """

    train: Any = "3y"
    test: Any = "6m"
    mode: str = "expanding"
    purge: Any = 0
    embargo: Any = 0

    def __post_init__(self) -> None:
        if self.mode not in ("expanding", "rolling"):
            raise ConfigError(f"walk-forward mode must be 'expanding' or 'rolling', got {self.mode!r}")
        for name in ("purge", "embargo"):
            d = parse_duration(getattr(self, name), what=name)
            if not d.is_bars:
                raise ConfigError(f"{name} must be a number of bars (e.g. '5d'), got {d}")
        parse_duration(self.train, what="train")
        if parse_duration(self.test, what="test").count < 1:
            raise ConfigError("walk-forward test window must be at least 1")

    def split(
        self, dates: pd.DatetimeIndex, *, end: int | None = None, start: int = 0
    ) -> list[Fold]:
        """Folds over ``dates[:end]`` (``end`` excludes e.g. a sealed holdout).

        Parameters
        ----------
        dates : pandas.DatetimeIndex, length ``n_dates``
        end : int, optional
            Rows at or after ``end`` are never used.
        start : int
            First row that may be tested (``data.start``): the first test block
            opens at the later of this row and the end of the first training
            window; earlier rows are training history only.

        Raises
        ------
        ConfigError
            When the data is too short for one training window plus one test block.
        """
        n = len(dates) if end is None else int(end)
        train, test = parse_duration(self.train, what="train"), parse_duration(self.test, what="test")
        gap = max(parse_duration(self.purge).count, parse_duration(self.embargo).count)
        if n == 0:
            raise ConfigError("walk-forward needs data; the date range is empty")
        first = max(_advance(dates, 0, train), int(start))
        if first + gap >= n:
            raise ConfigError(
                f"walk-forward: the data ({n} bars, {dates[0].date()}..{dates[n - 1].date()}) "
                f"is too short for a {train} training window plus a test block"
                + (f" from {dates[min(int(start), n - 1)].date()}" if start else "")
            )
        folds: list[Fold] = []
        pos = first
        while pos < n:
            stop = min(_advance(dates, pos, test), n)
            if stop <= pos:
                stop = pos + 1
            train_end = pos - gap
            train_start = 0 if self.mode == "expanding" else _retreat(dates, pos, train)
            folds.append(
                Fold(len(folds), np.arange(train_start, max(train_start, train_end)), np.arange(pos, stop))
            )
            pos = stop
        return folds


@dataclass(frozen=True)
class SingleSplit:
    """One split: train on every row before the first tested row, test on the rest.

    A plain study run (no ``validation`` section) is a walk-forward with this
    one split, so it shares the validated runs' execution path.
    """

    def split(
        self, dates: pd.DatetimeIndex, *, end: int | None = None, start: int = 0
    ) -> list[Fold]:
        """One fold: train ``[0, start)``, test ``[start, end)``.

        Raises
        ------
        ConfigError
            When nothing is left to test.
        """
        n = len(dates) if end is None else int(end)
        first = int(start)
        if first >= n:
            raise ConfigError(f"single split: no rows to test from row {first} of {n}")
        return [Fold(0, np.arange(0, first), np.arange(first, n))]


@dataclass(frozen=True)
class CombinatorialPurgedCV:
    """Combinatorial purged cross-validation (Lopez de Prado 2018, ch. 12).

    The rows are cut into ``n_groups`` contiguous groups; each split tests on
    ``n_test_groups`` of them and trains on the rest, purged before and embargoed
    after every test block.
    """

    n_groups: int = 6
    n_test_groups: int = 2
    purge: Any = 0
    embargo: Any = 0

    def __post_init__(self) -> None:
        if not 1 <= self.n_test_groups < self.n_groups:
            raise ConfigError(
                f"CPCV needs 1 <= n_test_groups < n_groups, got {self.n_test_groups}/{self.n_groups}"
            )

    def split(self, n_rows: int) -> list[Fold]:
        """Folds over rows ``0..n_rows-1``."""
        if n_rows < self.n_groups:
            raise ConfigError(f"CPCV: {n_rows} rows cannot form {self.n_groups} groups")
        purge = parse_duration(self.purge, what="purge").count
        embargo = parse_duration(self.embargo, what="embargo").count
        groups = np.array_split(np.arange(n_rows), self.n_groups)
        folds = []
        for combo in itertools.combinations(range(self.n_groups), self.n_test_groups):
            test = np.concatenate([groups[g] for g in combo])
            keep = np.ones(n_rows, dtype=bool)
            keep[test] = False
            for g in combo:
                lo, hi = groups[g][0], groups[g][-1]
                keep[max(0, lo - purge) : lo] = False
                keep[hi + 1 : hi + 1 + embargo] = False
            folds.append(Fold(len(folds), np.flatnonzero(keep), test))
        return folds
