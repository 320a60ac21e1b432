"""The wide market-data container used inside alphalab.

A :class:`Panel` holds named fields, each a float64 array of shape
``(n_dates, n_assets)``, with the dates (rows) and assets (columns) they refer
to. NaN means "missing or not listed". Long pandas DataFrames
(``date, ticker, field...``) are the format at the edges; :meth:`Panel.from_long`
and :meth:`Panel.to_long` convert between the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import DataError

__all__ = ["TRANSIENT_BUFFER", "Panel"]

PRICE_FIELDS = ("open", "high", "low", "close")

#: ``Panel.meta`` flag of a panel whose arrays view a buffer that is rewritten after use (the
#: leakage guard's perturbed copies): a cache may key on its content hash, but must not keep the
#: panel object as a source of other panels' data, since its content will change under it.
TRANSIENT_BUFFER = "transient_buffer"


def _as_date_index(dates: Iterable[Any]) -> pd.DatetimeIndex:
    # Keep the exchange's wall-clock date: converting a Ho Chi Minh or Shanghai
    # midnight timestamp to UTC would move every daily bar to the previous day.
    idx = pd.DatetimeIndex(dates)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.as_unit("ns")


@dataclass(frozen=True, eq=False)
class Panel:
    """Named ``(n_dates, n_assets)`` float64 arrays over one date and asset axis.

    Parameters
    ----------
    fields : Mapping[str, numpy.ndarray]
        Field name -> array of shape ``(n_dates, n_assets)``. Arrays are
        converted to float64 (no copy when they already are).
    dates : sequence of datetime-like, length ``n_dates``
        Strictly increasing, timezone-naive dates.
    assets : sequence of str, length ``n_assets``
        Unique asset identifiers (tickers).
    meta : dict, optional
        Free-form provenance: ``market``, ``source``, ``adjusted`` ...

    Notes
    -----
    Slicing with :meth:`slice_dates` or a contiguous :meth:`select_assets`
    returns views of the underlying arrays, not copies. Arrays are marked
    read-only so that a strategy cannot modify the data it is given.
    """

    fields: Mapping[str, np.ndarray]
    dates: pd.DatetimeIndex
    assets: pd.Index
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dates = _as_date_index(self.dates)
        assets = pd.Index([str(a) for a in self.assets], dtype=object)
        if dates.has_duplicates:
            dup = dates[dates.duplicated()][0]
            raise DataError(f"Panel dates contain a duplicate: {dup.date()}")
        if len(dates) > 1 and not dates.is_monotonic_increasing:
            raise DataError("Panel dates must be sorted in increasing order")
        if assets.has_duplicates:
            raise DataError(f"Panel assets contain a duplicate: {assets[assets.duplicated()][0]!r}")
        shape = (len(dates), len(assets))
        arrays: dict[str, np.ndarray] = {}
        for name, values in self.fields.items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != shape:
                raise DataError(
                    f"Panel field {name!r} has shape {arr.shape}, expected {shape} (dates, assets)"
                )
            if arr.flags.writeable:
                arr = arr.view()
                arr.flags.writeable = False
            arrays[str(name)] = arr
        object.__setattr__(self, "fields", arrays)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "assets", assets)
        object.__setattr__(self, "meta", dict(self.meta))

    # ------------------------------------------------------------------ access
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_dates, n_assets)``."""
        return (len(self.dates), len(self.assets))

    @property
    def n_dates(self) -> int:
        return len(self.dates)

    @property
    def n_assets(self) -> int:
        return len(self.assets)

    @property
    def field_names(self) -> list[str]:
        return list(self.fields)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(
                f"Panel has no field {name!r}; available: {', '.join(self.fields) or 'none'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def get(self, name: str, default: np.ndarray | None = None) -> np.ndarray | None:
        return self.fields.get(name, default)

    def require(self, *names: str) -> None:
        """Raise :class:`DataError` naming every field in ``names`` that is absent."""
        missing = [n for n in names if n not in self.fields]
        if missing:
            raise DataError(
                f"data lacks required field(s) {', '.join(missing)}; "
                f"available: {', '.join(self.fields) or 'none'}"
            )

    def frame(self, name: str) -> pd.DataFrame:
        """One field as a wide DataFrame (dates x assets), sharing memory."""
        return pd.DataFrame(self[name], index=self.dates, columns=self.assets, copy=False)

    @property
    def price(self) -> np.ndarray:
        """The close field (the reference price for valuation)."""
        return self["close"]

    def __repr__(self) -> str:
        span = (
            f"{self.dates[0].date()}..{self.dates[-1].date()}" if self.n_dates else "empty"
        )
        return (
            f"Panel({self.n_dates} dates x {self.n_assets} assets, {span}, "
            f"fields=[{', '.join(self.fields)}])"
        )

    # ----------------------------------------------------------------- slicing
    def slice_dates(self, start: Any = None, end: Any = None) -> Panel:
        """Rows with ``start <= date <= end`` (inclusive), as views."""
        i0 = 0 if start is None else int(self.dates.searchsorted(pd.Timestamp(start), "left"))
        i1 = (
            self.n_dates
            if end is None
            else int(self.dates.searchsorted(pd.Timestamp(end), "right"))
        )
        return self.iloc_dates(slice(i0, i1))

    def iloc_dates(self, rows: slice | Sequence[int] | np.ndarray) -> Panel:
        """Rows by position; a slice gives views, an index array gives copies."""
        return Panel(
            {k: v[rows] for k, v in self.fields.items()},
            self.dates[rows],
            self.assets,
            self.meta,
        )

    def until(self, date: Any) -> Panel:
        """Everything known at the close of ``date`` (rows with dates <= date)."""
        return self.slice_dates(None, date)

    def select_assets(self, assets: Sequence[str]) -> Panel:
        """Columns by name, in the order given. Unknown names raise :class:`DataError`."""
        idx = self.assets.get_indexer(pd.Index([str(a) for a in assets], dtype=object))
        if (idx < 0).any():
            bad = [a for a, i in zip(assets, idx, strict=True) if i < 0]
            raise DataError(f"unknown asset(s): {', '.join(map(str, bad[:10]))}")
        cols: slice | np.ndarray = idx
        if len(idx) and np.all(np.diff(idx) == 1):
            cols = slice(int(idx[0]), int(idx[-1]) + 1)
        return Panel(
            {k: v[:, cols] for k, v in self.fields.items()},
            self.dates,
            self.assets[cols],
            self.meta,
        )

    def with_fields(self, **arrays: np.ndarray) -> Panel:
        """A new Panel with fields added or replaced (others shared, not copied)."""
        merged = dict(self.fields)
        merged.update(arrays)
        return Panel(merged, self.dates, self.assets, self.meta)

    def drop_fields(self, *names: str) -> Panel:
        return Panel(
            {k: v for k, v in self.fields.items() if k not in names},
            self.dates,
            self.assets,
            self.meta,
        )

    def with_meta(self, **meta: Any) -> Panel:
        return Panel(self.fields, self.dates, self.assets, {**self.meta, **meta})

    def copy(self) -> Panel:
        """A deep copy with writeable arrays (for perturbation tests)."""
        return Panel(
            {k: np.array(v, copy=True) for k, v in self.fields.items()},
            self.dates.copy(),
            self.assets.copy(),
            dict(self.meta),
        )

    # -------------------------------------------------------------- identity
    def data_hash(self) -> str:
        """SHA-256 over dates, assets and every field's bytes (sorted by name)."""
        h = hashlib.sha256()
        h.update(self.dates.asi8.tobytes())
        h.update("\x1f".join(self.assets).encode())
        for name in sorted(self.fields):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.fields[name]).tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------ conversion
    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        fields: Sequence[str] | None = None,
        *,
        date_col: str = "date",
        ticker_col: str = "ticker",
        meta: dict[str, Any] | None = None,
    ) -> Panel:
        """Build a Panel from a long DataFrame with one row per (date, ticker).

        Parameters
        ----------
        df : pandas.DataFrame
            Columns ``date_col``, ``ticker_col`` and the fields.
        fields : sequence of str, optional
            Columns to keep; default every numeric column other than the keys.
        date_col, ticker_col : str
            Key column names.
        meta : dict, optional
            Stored on the Panel.

        Raises
        ------
        DataError
            Missing key columns, duplicated (date, ticker) rows, or a
            non-numeric field.
        """
        for col in (date_col, ticker_col):
            if col not in df.columns:
                raise DataError(
                    f"long frame lacks required column {col!r}; columns: {list(df.columns)}"
                )
        if fields is None:
            fields = [
                c
                for c in df.columns
                if c not in (date_col, ticker_col)
                and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
            ]
        else:
            missing = [f for f in fields if f not in df.columns]
            if missing:
                raise DataError(f"long frame lacks field column(s) {missing}")
        dates = pd.to_datetime(df[date_col])
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)  # wall-clock date, see _as_date_index
        tickers = df[ticker_col].astype(str)
        key = pd.MultiIndex.from_arrays([dates, tickers])
        if key.has_duplicates:
            dup = key[key.duplicated()][0]
            raise DataError(
                f"duplicated (date, ticker) row: ({pd.Timestamp(dup[0]).date()}, {dup[1]!r})"
            )
        date_codes, uniq_dates = pd.factorize(dates, sort=True)
        asset_codes, uniq_assets = pd.factorize(tickers, sort=True)
        shape = (len(uniq_dates), len(uniq_assets))
        arrays: dict[str, np.ndarray] = {}
        for name in fields:
            col = df[name]
            try:
                values = pd.to_numeric(col, errors="raise").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            except (ValueError, TypeError) as exc:
                raise DataError(f"field {name!r} is not numeric: {exc}") from None
            out = np.full(shape, np.nan)
            out[date_codes, asset_codes] = values
            arrays[str(name)] = out
        return cls(arrays, pd.DatetimeIndex(uniq_dates), pd.Index(uniq_assets), meta or {})

    def to_long(self, *, dropna: bool = True) -> pd.DataFrame:
        """Long DataFrame ``date, ticker, field...``; rows where every field is NaN dropped."""
        n_d, n_a = self.shape
        out = pd.DataFrame(
            {
                "date": np.repeat(self.dates.to_numpy(), n_a),
                "ticker": np.tile(self.assets.to_numpy(dtype=object), n_d),
            }
        )
        for name, arr in self.fields.items():
            out[name] = arr.reshape(-1)
        if dropna and self.fields:
            mask = np.zeros(n_d * n_a, dtype=bool)
            for arr in self.fields.values():
                mask |= ~np.isnan(arr.reshape(-1))
            out = out.loc[mask].reset_index(drop=True)
        return out

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], meta: dict[str, Any] | None = None) -> Panel:
        """Build from wide DataFrames (dates x assets), aligned on the union of labels."""
        if not frames:
            raise DataError("no fields given")
        dates = None
        assets = None
        for f in frames.values():
            dates = f.index if dates is None else dates.union(f.index)
            assets = f.columns if assets is None else assets.union(f.columns)
        assert dates is not None and assets is not None
        arrays = {
            k: f.reindex(index=dates, columns=assets).to_numpy(dtype=np.float64, na_value=np.nan)
            for k, f in frames.items()
        }
        return cls(arrays, pd.DatetimeIndex(dates), pd.Index(assets), meta or {})
