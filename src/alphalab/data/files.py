"""User price files: CSV or Parquet, long or wide, with a column-name mapping.

Long files hold one row per (date, ticker) with price columns; wide files hold
one date column and one column per ticker with the values of a single field.
Every file goes through :func:`alphalab.data.validation.validate_prices`;
messages name the file, the 1-based data row (header excluded) and the rule.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphalab.data.validation import (
    REQUIRED_COLUMNS,
    Mode,
    ValidationReport,
    _short,
    validate_prices,
)
from alphalab.errors import DataError

__all__ = ["STANDARD_NAMES", "SUFFIXES", "frame_to_long", "read_file", "read_file_with_report"]

Layout = Literal["auto", "long", "wide"]

#: File suffix -> format.
SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

#: Normalised user column name -> alphalab name, most specific first. A
#: name is normalised by lower-casing and turning spaces, dots and hyphens
#: into underscores ("Adj Close" -> "adj_close").
STANDARD_NAMES: dict[str, tuple[str, ...]] = {
    "date": ("date", "datetime", "timestamp", "time", "trade_date", "trading_date", "day"),
    "ticker": ("ticker", "symbol", "code", "ts_code", "asset", "ticket", "name"),
    "open": ("open", "open_price"),
    "high": ("high", "high_price"),
    "low": ("low", "low_price"),
    "close": ("close", "close_price", "last", "price"),
    "adj_close": ("adj_close", "adjclose", "adjusted_close", "adj_close_price"),
    "volume": ("volume", "vol"),
}


#: Longest header line read (characters); 1M is ~50,000 wide-file tickers.
MAX_HEADER_CHARS = 1_000_000


def _check_options(columns: Any, field: Any, source: str) -> None:
    """``columns`` is a str -> str mapping and ``field`` a str (or DataError)."""
    if columns is not None and (
        not isinstance(columns, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items())
    ):
        raise DataError(
            f"{source}: columns must be a mapping of source name -> alphalab name, "
            f"e.g. {{'Name': 'ticker'}}; got {columns!r:.80}"
        )
    if not isinstance(field, str) or not field:
        raise DataError(f"{source}: field must be a column name such as 'close', got {field!r:.40}")


def _normalise(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", str(name).strip().lower()).strip("_")


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    raise DataError(
        f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
        f"supported: {', '.join(SUFFIXES)}"
    )


def _raw_header(path: Path, fmt: str) -> list[str]:
    """Column names exactly as written (pandas would rename duplicates to 'A.1')."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            # Bounded: a file without a newline must not be read whole into memory.
            first = fh.readline(MAX_HEADER_CHARS + 1)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); re-save it as UTF-8") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the header line ({exc})") from None
    if len(first) > MAX_HEADER_CHARS:
        raise DataError(
            f"{path}: the header line is longer than {MAX_HEADER_CHARS:,} characters "
            "(not a CSV header, or a file without line breaks)"
        )
    if not first.strip():
        raise DataError(f"{path}: file is empty (no header line)")
    delimiter = "\t" if fmt == "tsv" else ","
    return next(csv.reader(io.StringIO(first), delimiter=delimiter, skipinitialspace=True))


def _read_table(path: Path, fmt: str, text_columns: list[str]) -> pd.DataFrame:
    if fmt == "parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    try:
        # Keys as text, so that tickers such as "000001" keep their zeros and
        # dates are parsed (and reported) by our rules. Numbers are left to the
        # C parser (fast); a column holding a stray word arrives as text and
        # the word is reported by row as non_numeric.
        return pd.read_csv(
            path,
            sep="\t" if fmt == "tsv" else ",",
            dtype=dict.fromkeys(text_columns, str),
            encoding="utf-8-sig",
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); re-save it as UTF-8") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: cannot parse as {fmt.upper()} ({exc})") from None


def _check_unique(header: list[str], source: str) -> None:
    counts: dict[str, int] = {}
    for h in header:
        counts[h] = counts.get(h, 0) + 1
    dups = [h for h, k in counts.items() if k > 1]
    if dups:
        positions = [i + 1 for i, h in enumerate(header) if h == dups[0]]
        raise DataError(
            f"{source}: duplicate column name {_short(dups[0])} (columns "
            f"{', '.join(map(str, positions[:10]))}); each column must be named once"
        )


def _map_columns(
    header: list[str], columns: Mapping[str, str] | None, path: str, layout: Layout
) -> tuple[dict[str, str], list[str], Layout]:
    """Return (rename mapping, notes, layout). Explicit mapping first, then standard names."""
    _check_unique(header, path)
    mapping: dict[str, str] = {}
    notes: list[str] = []
    for src, dst in (columns or {}).items():
        if src not in header:
            raise DataError(
                f"{path}: the column mapping names {_short(src)}, which the data lacks; "
                f"columns: {', '.join(map(_short, header[:30]))}"
            )
        mapping[src] = dst
    if columns:
        notes.append(
            "columns mapped as given: " + ", ".join(f"{k}->{v}" for k, v in mapping.items())
        )
    taken = set(mapping.values()) | {h for h in header if h not in mapping and h in STANDARD_NAMES}
    norm = {h: _normalise(h) for h in header if h not in mapping}
    auto: dict[str, str] = {}

    def recognise(targets: tuple[str, ...]) -> None:
        for target in targets:
            if target in taken:
                continue
            for alias in STANDARD_NAMES[target]:
                hits = [h for h, n in norm.items() if n == alias and h not in auto]
                if hits:
                    auto[hits[0]] = target
                    taken.add(target)
                    break

    recognise(("date",) if layout == "wide" else ("date", "ticker"))
    if layout == "auto":
        layout = "long" if "ticker" in taken else "wide"
        notes.append(f"layout detected: {layout}")
    # In a wide file every other column is a ticker ("LOW" is Lowe's, not a low price).
    if layout == "long":
        recognise(tuple(t for t in STANDARD_NAMES if t not in ("date", "ticker")))
    auto = {k: v for k, v in auto.items() if k != v}
    if auto:
        notes.append("columns recognised: " + ", ".join(f"{k}->{v}" for k, v in auto.items()))
    mapping.update(auto)
    renamed = [mapping.get(h, h) for h in header]
    clash = {r for r in renamed if renamed.count(r) > 1}
    if clash:
        name = sorted(clash)[0]
        sources = [h for h in header if mapping.get(h, h) == name]
        raise DataError(
            f"{path}: columns {', '.join(map(_short, sources))} would all be named {name!r}; "
            "fix the mapping"
        )
    return mapping, notes, layout


def _melt_wide(df: pd.DataFrame, field: str, path: str) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Wide (date x ticker) -> long rows, file row numbers and the count of empty cells."""
    tickers = [c for c in df.columns if c != "date"]
    if not tickers:
        raise DataError(f"{path}: wide file has a date column but no ticker columns")
    block = df[tickers]
    # bool and complex columns count as text: validation reports their cells as non_numeric.
    numeric = [
        pd.api.types.is_numeric_dtype(dt)
        and not pd.api.types.is_bool_dtype(dt)
        and not pd.api.types.is_complex_dtype(dt)
        for dt in block.dtypes
    ]
    if all(numeric):
        values = block.to_numpy(dtype=np.float64, na_value=np.nan)
        present_2d = ~np.isnan(values)
    else:
        # Text cells (a stray word) stay text for validation to report; blank ones are gaps.
        values = block.to_numpy(dtype=object)
        present_2d = pd.notna(values)
        for j, is_num in enumerate(numeric):
            if not is_num:
                text = block.iloc[:, j].astype("str").str.strip()
                present_2d[:, j] &= text.ne("").to_numpy()
    n_rows, n_cols = values.shape
    flat = values.reshape(-1)
    present = present_2d.reshape(-1)
    row_pos = np.repeat(np.arange(n_rows), n_cols)[present]
    col_pos = np.tile(np.arange(n_cols), n_rows)[present]
    # Keep the date column's dtype (datetime64 parses fast) and give tickers as
    # codes into the column names (factorised without hashing millions of strings).
    long = pd.DataFrame(
        {
            "date": df["date"].iloc[row_pos].reset_index(drop=True),
            "ticker": pd.Categorical.from_codes(
                col_pos, categories=pd.Index(tickers, dtype=object)
            ),
            field: flat[present],
        }
    )
    return long, row_pos + 1, int((~present).sum())


def _frame_to_long(
    df: pd.DataFrame,
    header: list[str],
    *,
    source: str,
    layout: Layout,
    columns: Mapping[str, str] | None,
    field: str,
) -> tuple[pd.DataFrame, np.ndarray | None, tuple[str, ...], list[str]]:
    """Rename, detect the layout and melt wide frames: (long, rows, required, notes)."""
    if layout not in ("auto", "long", "wide"):
        raise DataError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    mapping, notes, layout = _map_columns(header, columns, source, layout)
    df = df.set_axis([mapping.get(h, h) for h in header], axis=1)
    if "date" not in df.columns and header and header[0] == "":
        # pandas writes an unnamed index column: for a price file that is the date.
        df = df.rename(columns={"": "date"})
        notes.append("unnamed first column taken as the date")
    if "date" not in df.columns:
        raise DataError(
            f"{source}: rule missing_columns (required column(s) absent): no date column; "
            f"columns: {', '.join(_short(h) for h in header[:30])}; "
            "pass columns={'<name>': 'date'}"
        )
    if layout == "long":
        return df, None, REQUIRED_COLUMNS, notes
    if len(df) == 0:
        raise DataError(f"{source}: rule no_rows (no data rows): the data has a header only")
    long, rows, n_empty = _melt_wide(df, field, source)
    notes.append(f"wide data melted: field {field!r}, {n_empty} empty cell(s) = no data")
    if long.empty:
        raise DataError(f"{source}: rule no_rows (no data rows): every ticker cell is empty")
    return long, rows, ("date", "ticker", field), notes


def frame_to_long(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    layout: Layout = "auto",
    columns: Mapping[str, str] | None = None,
    field: str = "close",
) -> tuple[pd.DataFrame, np.ndarray | None, tuple[str, ...], list[str]]:
    """Bring an in-memory frame to the long layout, as :func:`read_file` does for files.

    A frame without a date column whose index holds dates (a ``DatetimeIndex``
    or an index named like a date) has its index taken as the date column, so
    a wide ``dates x tickers`` price frame works as it is.

    Returns
    -------
    long : pandas.DataFrame
        Not yet validated.
    rows : numpy.ndarray or None
        1-based source row of each long row (wide frames), else None.
    required : tuple of str
        Columns :func:`validate_prices` must require.
    notes : list of str
        Renames and layout decisions, for the report.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    _check_options(columns, field, source)
    names = [_normalise(str(c)) for c in df.columns]
    has_date = "date" in (columns or {}).values() or any(n in STANDARD_NAMES["date"] for n in names)
    index_name = _normalise(str(df.index.name)) if df.index.name is not None else ""
    if not has_date and (
        isinstance(df.index, pd.DatetimeIndex) or index_name in STANDARD_NAMES["date"]
    ):
        df = df.rename_axis(index=df.index.name or "date").reset_index()
    header = [str(c) for c in df.columns]
    return _frame_to_long(df, header, source=source, layout=layout, columns=columns, field=field)


def read_file_with_report(
    path: str | os.PathLike[str],
    *,
    layout: Layout = "auto",
    columns: Mapping[str, str] | None = None,
    field: str = "close",
    date_format: str | None = None,
    mode: Mode = "strict",
    tickers: Any = None,
    start: Any = None,
    end: Any = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Like :func:`read_file`, also returning the :class:`ValidationReport`.

    ``tickers``, ``start`` and ``end`` select rows before the row rules run
    (see :func:`alphalab.data.validation.validate_prices`).
    """
    if layout not in ("auto", "long", "wide"):
        raise DataError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a file")
    if not p.is_file():
        # A device or pipe (/dev/zero behind a .csv name) could be read forever.
        raise DataError(f"{p}: not a regular file (a device, pipe or socket)")
    _check_options(columns, field, str(p))
    fmt = _format_of(p)
    header = _raw_header(p, fmt)
    _check_unique(header, str(p))
    mapping, _, detected = _map_columns(header, columns, str(p), layout)
    keys = ("date", "ticker") if detected == "long" else ("date",)
    df = _read_table(p, fmt, [h for h in header if h and mapping.get(h, h) in keys])
    if fmt == "parquet":
        # pandas restores a stored index (often the dates): make it a column again.
        if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
            df = df.reset_index()
        header = [str(c) for c in df.columns]
    elif len(header) != df.shape[1]:
        raise DataError(f"{p}: header has {len(header)} column(s) but the data has {df.shape[1]}")
    long, rows, required, notes = _frame_to_long(
        df, header, source=str(p), layout=layout, columns=columns, field=field
    )
    clean, report = validate_prices(
        long,
        source=str(p),
        mode=mode,
        required=required,
        rows=rows,
        date_format=date_format,
        tickers=tickers,
        start=start,
        end=end,
    )
    report.notes[:0] = notes
    return clean, report


def read_file(
    path: str | os.PathLike[str],
    *,
    layout: Layout = "auto",
    columns: Mapping[str, str] | None = None,
    field: str = "close",
    date_format: str | None = None,
    mode: Mode = "strict",
) -> pd.DataFrame:
    """Read a CSV or Parquet price file into a validated long DataFrame.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.txt`` (comma-separated), ``.tsv``, ``.parquet``
        or ``.pq``. Other suffixes raise :class:`DataError`.
    layout : {"auto", "long", "wide"}
        ``long``: one row per (date, ticker). ``wide``: a date column and one
        column per ticker holding ``field``. ``auto``: long when a ticker
        column exists (after mapping), else wide.
    columns : dict[str, str], optional
        Renames file columns to alphalab names, e.g. ``{"Name": "ticker"}``.
        Unmapped columns with a standard name in any case (``Date``,
        ``Adj Close``, ``Symbol`` ...) are recognised too; every rename is
        listed in the report notes. Other columns are kept.
    field : str
        The field a wide file holds (default ``close``).
    date_format : str, optional
        strftime format of the dates; default ISO 8601, else inferred.
    mode : {"strict", "lenient"}
        See :func:`alphalab.data.validation.validate_prices`.

    Returns
    -------
    pandas.DataFrame, shape (n_rows, n_columns)
        Long frame: ``date`` (datetime64[ns]), ``ticker`` (str), price and
        volume columns (float64), other columns as read.

    Raises
    ------
    DataError
        Missing file, unsupported suffix, unreadable or empty file, duplicate
        or clashing column names, and every validation rule (strict mode).
    """
    clean, _ = read_file_with_report(
        path, layout=layout, columns=columns, field=field, date_format=date_format, mode=mode
    )
    return clean
