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
import stat
import warnings
import zlib
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

__all__ = [
    "STANDARD_NAMES",
    "SUFFIXES",
    "check_regular_file",
    "frame_to_long",
    "read_file",
    "read_file_with_report",
    "read_plain_table",
]

Layout = Literal["auto", "long", "wide"]
#: Internal layout: a file of one stock's fields (``date, open, ..., volume``), no ticker column.
SINGLE = "single"

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


#: Normalised names that are per-stock fields, never tickers: a file whose columns are
#: such names holds one stock, not a panel of stocks called "Open", "High" ...
FIELD_NAMES = frozenset(
    alias for key in ("open", "high", "low", "close", "adj_close", "volume")
    for alias in STANDARD_NAMES[key]
) | {"amount", "turnover", "vwap", "dividends", "stock_splits", "capital_gains", "change",
     "pct_change", "open_interest"}

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


def _is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes, whatever its name."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _sniff_delimiter(first: str, fmt: str) -> str:
    """The delimiter of a header line: tab for .tsv, else the one of ``,``, ``;``, tab that
    splits the header into the most fields (a comma on a tie: it is the default)."""
    if fmt == "tsv":
        return "\t"
    best, n_best = ",", 1
    for delim in (",", ";", "\t"):
        n = len(next(csv.reader(io.StringIO(first), delimiter=delim)))
        if n > n_best:
            best, n_best = delim, n
    return best


def _raw_header(path: Path, fmt: str) -> list[str]:
    """Column names exactly as written (pandas would rename duplicates to 'A.1')."""
    return _header_and_delimiter(path, fmt)[0]


def _header_and_delimiter(path: Path, fmt: str) -> tuple[list[str], str]:
    """(column names exactly as written, delimiter); bounded reads only."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names), ""
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            # Bounded: a file without a newline must not be read whole into memory.
            first = fh.readline(MAX_HEADER_CHARS + 1)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); re-save it as UTF-8") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read the header line ({exc})") from None
    if first.startswith("PAR1"):
        raise DataError(f"{path}: a Parquet file with a text-file name; rename it to .parquet")
    if "\x00" in first:
        raise DataError(f"{path}: binary data (NUL bytes), not CSV text")
    if len(first) > MAX_HEADER_CHARS:
        raise DataError(
            f"{path}: the header line is longer than {MAX_HEADER_CHARS:,} characters "
            "(not a CSV header, or a file without line breaks)"
        )
    if not first.strip():
        raise DataError(f"{path}: file is empty (no header line)")
    try:
        delimiter = _sniff_delimiter(first, fmt)
        header = next(csv.reader(io.StringIO(first), delimiter=delimiter, skipinitialspace=True))
    except csv.Error as exc:
        raise DataError(f"{path}: the header line is not CSV ({exc})") from None
    return [h.strip() for h in header], delimiter


def _read_table(
    path: Path, fmt: str, text_columns: list[str], delimiter: str = ","
) -> pd.DataFrame:
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
        with warnings.catch_warnings():
            # A row with more fields than the header would shift its values into an index.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path,
                sep=delimiter or ("\t" if fmt == "tsv" else ","),
                dtype=dict.fromkeys(text_columns, str),
                encoding="utf-8-sig",
                skipinitialspace=True,
                compression="gzip" if _is_gzip(path) else None,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        raise DataError(
            f"{path}: a row has more fields than the header (a stray delimiter?); "
            "every row must have one value per column"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); re-save it as UTF-8") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: damaged gzip data ({exc})") from None
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
            # "Close" and "close" (or "Adj Close" and "adj_close"): which one is it?
            named = [
                h for h in header
                if (h in norm and norm[h] == target) or mapping.get(h) == target
            ]  # fmt: skip
            if len(named) > 1:
                raise DataError(
                    f"{path}: columns {', '.join(map(_short, named))} would all be named "
                    f"{target!r}; keep one, or rename the other with a mapping"
                )
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
        if "ticker" in taken:
            layout = "long"
        else:
            layout = _single_or_wide(header, mapping, auto, path)
        notes.append(f"layout detected: {'single stock' if layout == SINGLE else layout}")
    # In a wide file every other column is a ticker ("LOW" is Lowe's, not a low price).
    if layout in ("long", SINGLE):
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


def _single_or_wide(
    header: list[str], mapping: Mapping[str, str], auto: Mapping[str, str], path: str
) -> str:
    """Layout of a file without a ticker column: one stock's fields, or a wide panel.

    Columns named like price fields (Open, close, Adj Close, Volume ...) are
    never taken as tickers. When some are and others are not, the file is
    ambiguous and the caller must say which layout it is.
    """
    rest = [h for h in header if h not in auto and mapping.get(h, h) != "date" and h != ""]
    fields = [h for h in rest if _normalise(mapping.get(h, h)) in FIELD_NAMES]
    if not fields:
        return "wide"
    has_close = any(_normalise(mapping.get(h, h)) in STANDARD_NAMES["close"] for h in fields)
    if len(fields) == len(rest) or has_close:
        return SINGLE
    others = [h for h in rest if h not in fields]
    raise DataError(
        f"{path}: column(s) {', '.join(map(_short, fields[:5]))} are price-field names but "
        f"{', '.join(map(_short, others[:5]))} are not; a wide file (one column per ticker) "
        "is never inferred from field names: pass layout='wide' (--layout wide) if they are "
        "all tickers, or add a ticker column"
    )


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
    ticker: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray | None, tuple[str, ...], list[str]]:
    """Rename, detect the layout and melt wide frames: (long, rows, required, notes)."""
    if layout not in ("auto", "long", "wide"):
        raise DataError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    mapping, notes, layout = _map_columns(header, columns, source, layout)
    if ticker is not None and layout != SINGLE:
        raise DataError(
            f"{source}: ticker={ticker!r} names the stock of a single-stock file (date and "
            f"price columns only), but this file's layout is {layout}"
        )
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
    if layout == SINGLE:
        name = ticker if ticker is not None else _stem(source)
        if not name:
            raise DataError(f"{source}: a single-stock frame needs ticker='NAME'")
        if "ticker" in df.columns:
            raise DataError(f"{source}: a column is named 'ticker' but is not the ticker column")
        df = df.assign(ticker=name)
        how = "as given" if ticker is not None else "from the file name; --ticker names it"
        notes.append(f"single-stock file: loaded as one ticker {name!r} ({how})")
        return df, None, REQUIRED_COLUMNS, notes
    if layout == "long":
        return df, None, REQUIRED_COLUMNS, notes
    if len(df) == 0:
        raise DataError(f"{source}: rule no_rows (no data rows): the data has a header only")
    long, rows, n_empty = _melt_wide(df, field, source)
    notes.append(f"wide data melted: field {field!r}, {n_empty} empty cell(s) = no data")
    if long.empty:
        raise DataError(f"{source}: rule no_rows (no data rows): every ticker cell is empty")
    return long, rows, ("date", "ticker", field), notes


def _stem(source: str) -> str:
    """The file name without its data suffixes ("AAPL.csv.gz" -> "AAPL"); "" for frames."""
    if source.startswith("<"):
        return ""
    name = Path(source).name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def frame_to_long(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    layout: Layout = "auto",
    columns: Mapping[str, str] | None = None,
    field: str = "close",
    ticker: str | None = None,
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
    return _frame_to_long(
        df, header, source=source, layout=layout, columns=columns, field=field, ticker=ticker
    )


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
    ticker: str | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Like :func:`read_file`, also returning the :class:`ValidationReport`.

    ``tickers``, ``start`` and ``end`` select rows before the row rules run
    (see :func:`alphalab.data.validation.validate_prices`).
    """
    if layout not in ("auto", "long", "wide"):
        raise DataError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    if ticker is not None and (not isinstance(ticker, str) or not ticker.strip()):
        raise DataError(f"ticker must be a non-empty string, got {ticker!r:.60}")
    p = check_regular_file(path)
    _check_options(columns, field, str(p))
    fmt = _format_of(p)
    header, delimiter = _header_and_delimiter(p, fmt)
    _check_unique(header, str(p))
    mapping, _, detected = _map_columns(header, columns, str(p), layout)
    # Keys stay text: tickers such as "000001" keep their zeros.
    keys = ("date", "ticker") if detected in ("long", SINGLE) else ("date",)
    df = _read_table(p, fmt, [h for h in header if h and mapping.get(h, h) in keys], delimiter)
    if fmt == "parquet":
        # pandas restores a stored index (often the dates): make it a column again.
        if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
            df = df.reset_index()
        header = [str(c) for c in df.columns]
    elif len(header) != df.shape[1]:
        raise DataError(f"{p}: header has {len(header)} column(s) but the data has {df.shape[1]}")
    long, rows, required, notes = _frame_to_long(
        df, header, source=str(p), layout=layout, columns=columns, field=field, ticker=ticker
    )
    if delimiter not in ("", ","):
        notes.append(f"delimiter detected: {delimiter!r}")
    long = _numbers_with_separators(long, notes)
    long = _excel_serial_dates(long, notes, date_format)
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


def check_regular_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if it is an existing regular file, else :class:`DataError`.

    A FIFO, device or socket (``/dev/zero`` behind a ``.csv`` name) could be
    read forever, so it is refused before anything opens it.
    """
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot access ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{p}: is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{p}: not a regular file (a device, pipe or socket); refusing to read it")
    return p


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _numbers_with_separators(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Numeric columns written as ``"1,234.56"`` become numbers.

    Only where every value is a plain number or one with comma thousands
    groups of exactly three digits: ``"1,5"`` (a decimal comma) stays text and
    validation reports it, never read as 15.
    """
    from alphalab.data.validation import NUMERIC_COLUMNS

    out = df
    for col in NUMERIC_COLUMNS:
        if col not in df.columns or pd.api.types.is_numeric_dtype(df[col].dtype):
            continue
        text = df[col].dropna().astype(str).str.strip()
        text = text[text != ""]
        if text.empty:
            continue
        grouped = text.str.match(_THOUSANDS)
        if not grouped.any() or not (grouped | text.str.match(_PLAIN_NUMBER)).all():
            continue
        if out is df:
            out = df.copy()
        cleaned = out[col].astype(str).str.strip().str.replace(",", "", regex=False)
        out[col] = pd.to_numeric(cleaned.where(df[col].notna()), errors="coerce")
        notes.append(f"column {col!r}: thousands separators (',') removed")
    return out


#: Excel serial day numbers accepted as dates: 20000 = 1954-10-03, 80000 = 2119-01-10.
_EXCEL_RANGE = (20_000, 80_000)


def _excel_serial_dates(df: pd.DataFrame, notes: list[str], date_format: str | None) -> pd.DataFrame:
    """A date column of Excel serial numbers (``43101`` = 2018-01-01) becomes dates.

    Only when unambiguous: every value is a 5-digit whole number inside
    :data:`_EXCEL_RANGE` (YYYYMMDD integers have 8 digits; epoch seconds 9-10).
    """
    if date_format is not None or "date" not in df.columns:
        return df
    col = df["date"]
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return df
    text = col.dropna().astype(str).str.strip().str.replace(r"\.0+$", "", regex=True)
    if text.empty or not text.str.fullmatch(r"\d{5}").all():
        return df
    serial = pd.to_numeric(text)
    if serial.min() < _EXCEL_RANGE[0] or serial.max() > _EXCEL_RANGE[1]:
        return df
    days = pd.to_numeric(
        col.astype(str).str.strip().str.replace(r"\.0+$", "", regex=True), errors="coerce"
    )
    dates = pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")
    notes.append("dates read as Excel serial day numbers (1899-12-30 + n days)")
    return df.assign(date=dates.dt.strftime("%Y-%m-%d").where(col.notna()))


def read_file(
    path: str | os.PathLike[str],
    *,
    layout: Layout = "auto",
    columns: Mapping[str, str] | None = None,
    field: str = "close",
    date_format: str | None = None,
    mode: Mode = "strict",
    ticker: str | None = None,
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
        column exists (after mapping); one stock when the other columns are
        price-field names (``Date,Open,High,Low,Close,Adj Close,Volume``:
        ``Close`` is the close, ``Adj Close`` stays a separate field unless
        mapped); else wide. Columns named like fields are never tickers.
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
    ticker : str, optional
        The ticker of a single-stock file (default: the file name without suffix).

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
        path, layout=layout, columns=columns, field=field, date_format=date_format, mode=mode,
        ticker=ticker,
    )
    return clean


def file_kind(path: str | os.PathLike[str], columns: Mapping[str, str] | None = None) -> str:
    """What a file holds, decided from its header: ``fundamentals`` or ``prices``.

    A file with ``ticker`` and ``period_end`` columns (after ``columns``) is a
    fundamentals table; every other file is read as prices (long, wide or one
    stock) and must pass price validation. A generic table is never guessed:
    the caller asks for it (``data import --kind table``).
    """
    p = check_regular_file(path)
    header, _ = _header_and_delimiter(p, _format_of(p))
    names = {_normalise((columns or {}).get(h, h)) for h in header}
    if {"ticker", "period_end"} <= names:
        return "fundamentals"
    return "prices"


def read_plain_table(
    path: str | os.PathLike[str], columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """A CSV or Parquet file as read, for tables that are not prices (no validation).

    The same guards as :func:`read_file` (regular files only, bounded header,
    delimiter sniffing, unique column names); a ``ticker`` column and every
    key-like column stays text, so ``000001`` keeps its zeros.
    """
    p = check_regular_file(path)
    fmt = _format_of(p)
    header, delimiter = _header_and_delimiter(p, fmt)
    _check_unique(header, str(p))
    mapping = dict(columns or {})
    missing = [k for k in mapping if k not in header]
    if missing:
        raise DataError(
            f"{p}: the column mapping names {', '.join(map(_short, missing))}, which the data "
            f"lacks; columns: {', '.join(map(_short, header[:30]))}"
        )
    text = [h for h in header if _normalise(mapping.get(h, h)) in STANDARD_NAMES["ticker"]]
    df = _read_table(p, fmt, text, delimiter)
    if fmt == "parquet":
        if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
            df = df.reset_index()
    elif len(header) != df.shape[1]:
        raise DataError(f"{p}: header has {len(header)} column(s) but the data has {df.shape[1]}")
    else:
        df = df.set_axis(header, axis=1)
    df = df.rename(columns=mapping)
    twice = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if twice:
        raise DataError(f"{p}: the column mapping leaves duplicated column(s) {twice}")
    return df
