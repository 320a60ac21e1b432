"""Validation of long price frames (``date, ticker, open, high, low, close, volume``).

Every loader funnels its rows through :func:`validate_prices`, which applies the
rules of DESIGN.md section 4 with vectorised checks (no per-row Python loops):

=====================  ==========================================================
rule id                broken when
=====================  ==========================================================
``missing_columns``    a required column (``date``, ``ticker``, ``close``) is absent
``no_rows``            the frame has no data rows
``mixed_timezones``    some dates carry a UTC offset and some do not, or the
                       offsets span more than one hour (more than a DST shift)
``bad_date``           a date is missing, cannot be parsed or lies outside the
                       years 1677-2262 (nanosecond timestamps)
``bad_ticker``         a ticker is missing, empty, longer than 64 characters or
                       holds control characters
``non_numeric``        a price or volume cell is not a number (text, bool, complex)
``duplicate_row``      an exact copy of an earlier row (same key, same values)
``duplicate_key``      several rows share a (date, ticker) key with different values
``unsorted``           a ticker's dates go backwards in the file
``non_finite_price``   the close is NaN or +-inf, or any other price is +-inf
``non_positive_price`` a price is <= 0
``high_below_low``     high < low
``close_out_of_range`` close outside [low, high] (relative tolerance 1e-9)
``open_out_of_range``  open outside [low, high] (relative tolerance 1e-9)
``non_finite_volume``  volume is +-inf
``negative_volume``    volume < 0
=====================  ==========================================================

The first three are file-level: no row is at fault, so they raise in both modes.
In ``strict`` mode (the default) any row rule raises :class:`ValidationError`
naming the source, the 1-based data row, ticker, date, rule and values. In
``lenient`` mode offending rows are dropped and returned in
:attr:`ValidationReport.dropped` with their rule ids; ``unsorted`` rows are
sorted, not dropped, and counted. NaN in ``open``/``high``/``low``/``adj_close``
or ``volume`` is legal (missing data, NaN in the Panel) but counted as a
warning. Nothing is dropped silently: a lenient drop also emits a
:class:`DataQualityWarning` with the summary.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphalab.errors import DataError

__all__ = [
    "DROP_RULES",
    "FILE_RULES",
    "PRICE_COLUMNS",
    "REQUIRED_COLUMNS",
    "DataQualityWarning",
    "ValidationError",
    "ValidationReport",
    "validate_prices",
]

Mode = Literal["strict", "lenient"]

REQUIRED_COLUMNS: tuple[str, ...] = ("date", "ticker", "close")
#: Price-like columns checked for finiteness and positivity.
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "adj_close")
NUMERIC_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")

FILE_RULES: dict[str, str] = {
    "missing_columns": "required column(s) absent",
    "no_rows": "no data rows",
    "mixed_timezones": "dates mix timezones (aware and naive, or several UTC offsets)",
}
#: Row rules in the order they are reported; a strict error names the first broken.
DROP_RULES: dict[str, str] = {
    "bad_date": "date missing, unparseable or outside 1677..2262",
    "bad_ticker": "ticker missing, empty, longer than 64 characters or with control characters",
    "non_numeric": "price or volume is not a number",
    "duplicate_row": "exact duplicate of an earlier row",
    "duplicate_key": "several rows with the same (date, ticker) and different values",
    "unsorted": "dates go backwards within a ticker",
    "non_finite_price": "close is NaN/inf or another price is inf",
    "non_positive_price": "price <= 0",
    "high_below_low": "high < low",
    "close_out_of_range": "close outside [low, high]",
    "open_out_of_range": "open outside [low, high]",
    "non_finite_volume": "volume is inf",
    "negative_volume": "volume < 0",
}
WARNING_RULES: dict[str, str] = {
    "missing_open": "open is NaN (kept as missing)",
    "missing_high": "high is NaN (kept as missing)",
    "missing_low": "low is NaN (kept as missing)",
    "missing_adj_close": "adj_close is NaN (kept as missing)",
    "missing_volume": "volume is NaN (kept as missing)",
    "ticker_whitespace": "ticker had leading/trailing whitespace (stripped)",
    "numeric_ticker": "ticker was a number (leading zeros such as 000001 cannot be recovered)",
}

MAX_TICKER_LEN = 64
RANGE_TOL = 1e-9
N_EXAMPLES = 5

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# An offset only counts when it follows a time of day, so "2020-01-02" is naive.
_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})$")


class DataQualityWarning(UserWarning):
    """Emitted when lenient validation drops or repairs rows."""


class ValidationError(DataError):
    """A validation rule was broken in strict mode (or a file-level rule in any mode).

    Attributes
    ----------
    source : str
        The file or dataset the rows came from.
    rule : str
        The rule id (see :data:`DROP_RULES` and :data:`FILE_RULES`).
    rows : list of int
        1-based data rows of the first offending examples (empty for file rules).
    count : int
        How many rows break ``rule``.
    report : ValidationReport or None
        The full report (every rule's count), when row rules were evaluated.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        rule: str,
        rows: Sequence[int] = (),
        count: int = 0,
        report: ValidationReport | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.rule = rule
        self.rows = list(rows)
        self.count = count
        self.report = report


@dataclass
class ValidationReport:
    """What validation found, dropped, repaired and tolerated.

    Attributes
    ----------
    source : str
        File path, dataset name or ``"<DataFrame>"``.
    mode : {"strict", "lenient"}
    n_input : int
        Rows received (after any ticker/date selection).
    n_output : int
        Rows returned.
    errors : dict[str, int]
        Rule id -> rows breaking it (a row breaking two rules counts in both).
    fixed : dict[str, int]
        Rule id -> rows repaired without loss (``unsorted``: sorted).
    warnings : dict[str, int]
        Tolerated issues (NaN open/high/low/volume ...), rows affected.
    notes : list[str]
        Other facts worth knowing (renamed columns, timezone handling ...).
    dropped : pandas.DataFrame
        The dropped rows as received, plus ``row`` (1-based data row in the
        source) and ``rules`` (comma-separated rule ids) in front; source
        columns already named ``row`` or ``rules`` become ``source_row`` /
        ``source_rules`` here.
    """

    source: str
    mode: str
    n_input: int = 0
    n_output: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    fixed: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_dropped(self) -> int:
        """Rows dropped (each counted once)."""
        return self.n_input - self.n_output

    @property
    def ok(self) -> bool:
        """True when no row broke a rule (warnings and notes allowed)."""
        return not any(self.errors.values()) and not any(self.fixed.values())

    def summary(self) -> str:
        """One paragraph: rows in/out, then counts by rule, repairs, warnings, notes."""
        parts = [f"{self.source}: {self.n_input} rows in, {self.n_output} out"]
        if self.n_dropped:
            by_rule = ", ".join(f"{k} {v}" for k, v in self.errors.items() if v)
            parts.append(f"dropped {self.n_dropped} ({by_rule})")
        fixed = ", ".join(f"{k} {v}" for k, v in self.fixed.items() if v)
        if fixed:
            parts.append(f"repaired: {fixed}")
        warn = ", ".join(f"{k} {v}" for k, v in self.warnings.items() if v)
        if warn:
            parts.append(f"warnings: {warn}")
        parts.extend(self.notes)
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (without the dropped rows) for ``Panel.meta``."""
        return {
            "source": self.source,
            "mode": self.mode,
            "n_input": self.n_input,
            "n_output": self.n_output,
            "n_dropped": self.n_dropped,
            "errors": {k: v for k, v in self.errors.items() if v},
            "fixed": {k: v for k, v in self.fixed.items() if v},
            "warnings": {k: v for k, v in self.warnings.items() if v},
            "notes": list(self.notes),
            "summary": self.summary(),
        }


# --------------------------------------------------------------------- helpers
def _short(value: Any, limit: int = 40) -> str:
    """repr() clipped so that hostile strings cannot flood an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt_num(x: Any) -> str:
    if isinstance(x, float | np.floating):
        return f"{float(x):.10g}"
    return _short(x)


def _bound(value: Any, name: str, source: str) -> np.datetime64:
    """A start/end bound as naive datetime64[ns] (wall-clock, like the dates)."""
    if isinstance(value, bool | int | float | np.number):
        # pd.Timestamp(2021) is 2021 ns after 1970: a year given as a number
        # would silently keep every row.
        raise DataError(
            f"{source}: {name}={_short(value)} is a number, not a date; pass e.g. '2021-01-01'"
        )
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise DataError(f"{source}: {name}={_short(value)} is not a date") from None
    if ts is pd.NaT:
        raise DataError(f"{source}: {name}={_short(value)} is not a date")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return np.datetime64(ts.as_unit("ns"))


def _warn(message: str) -> None:
    """Warn at the first caller outside alphalab.data (the user's line, not ours)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame = frame.f_back
        level += 1
    warnings.warn(message, DataQualityWarning, stacklevel=level)


def _raise_file_rule(source: str, rule: str, detail: str) -> None:
    raise ValidationError(
        f"{source}: rule {rule} ({FILE_RULES[rule]}): {detail}", source=source, rule=rule
    )


def _parse_dates(
    col: pd.Series, rows: np.ndarray, source: str, date_format: str | None, notes: list[str]
) -> np.ndarray:
    """Dates as datetime64[ns] wall-clock values (NaT where unparseable).

    Daily bars are dated in exchange-local time, so tz-aware dates keep their
    local wall-clock value (the offset is dropped, not converted to UTC).
    """
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        notes.append(f"dates in timezone {col.dtype.tz} kept as local wall-clock dates")
        return _to_ns(col.dt.tz_localize(None).to_numpy())
    if pd.api.types.is_datetime64_dtype(col.dtype):
        return _to_ns(col.to_numpy())
    # Dates repeat across tickers: parse each distinct value once.
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    texts = pd.Index(uniques).map(lambda v: str(v).strip()).astype(object)
    if len(texts) == 0:
        return np.full(len(col), np.datetime64("NaT"), dtype="datetime64[ns]")
    found = texts.str.extract(_OFFSET)
    aware = found[1].notna().to_numpy()
    if aware.any():
        offsets = found[1][aware].map(_offset_minutes).to_numpy(dtype=np.int64)
        naive = np.flatnonzero(~aware)
        if len(naive):
            # Only a naive value that is a real date makes a mix; garbage is a bad_date.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                real = pd.to_datetime(texts[naive], format="mixed", errors="coerce").notna()
            naive = naive[np.asarray(real)]
        if len(naive):
            k_naive, k_aware = naive[0], np.flatnonzero(aware)[0]
            _raise_file_rule(
                source,
                "mixed_timezones",
                f"row {rows[np.flatnonzero(codes == k_naive)[0]]} has a date without UTC "
                f"offset ({_short(texts[k_naive])}) and row "
                f"{rows[np.flatnonzero(codes == k_aware)[0]]} one with "
                f"({_short(texts[k_aware])})",
            )
        if offsets.max() - offsets.min() > 60:
            k_lo = np.flatnonzero(aware)[int(np.argmin(offsets))]
            k_hi = np.flatnonzero(aware)[int(np.argmax(offsets))]
            _raise_file_rule(
                source,
                "mixed_timezones",
                f"UTC offsets span more than one hour: row "
                f"{rows[np.flatnonzero(codes == k_lo)[0]]} ({_short(texts[k_lo])}) and row "
                f"{rows[np.flatnonzero(codes == k_hi)[0]]} ({_short(texts[k_hi])})",
            )
        texts = texts.str.replace(_OFFSET, r"\1", regex=True)
        notes.append("UTC offsets in dates dropped; local wall-clock dates kept")
    parsed = _to_datetime(texts, date_format, source, notes)
    out = _to_ns(parsed.to_numpy())
    result = out[np.where(codes < 0, 0, codes)]
    result[codes < 0] = np.datetime64("NaT")
    return result


_NS_MIN = pd.Timestamp.min.ceil("s").as_unit("s").to_datetime64()
_NS_MAX = pd.Timestamp.max.floor("s").as_unit("s").to_datetime64()


def _to_ns(values: np.ndarray) -> np.ndarray:
    """datetime64 of any unit -> datetime64[ns]; dates outside 1677..2262 become NaT.

    A plain ``astype`` would wrap such dates around silently (1500 -> 2084).
    """
    if values.dtype == np.dtype("datetime64[ns]"):
        return values
    nat = np.isnat(values)
    outside = ~nat & ((values < _NS_MIN) | (values > _NS_MAX))
    safe = np.where(outside | nat, np.datetime64("1970-01-01"), values)
    out = safe.astype("datetime64[ns]")
    out[outside | nat] = np.datetime64("NaT")
    return out


def _offset_minutes(text: str) -> int:
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4]))


def _to_datetime(
    texts: pd.Index, date_format: str | None, source: str, notes: list[str]
) -> pd.DatetimeIndex:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if date_format is not None:
            try:
                parsed = pd.to_datetime(texts, format=date_format, errors="coerce")
            except ValueError as exc:
                raise DataError(
                    f"{source}: date_format {date_format!r} is not a valid strftime format ({exc})"
                ) from None
            return pd.DatetimeIndex(parsed)
        iso = pd.DatetimeIndex(pd.to_datetime(texts, format="ISO8601", errors="coerce"))
        if not iso.isna().any():
            return iso
        # Not ISO: guess one format from sample values, month-first and day-first,
        # keep the one that parses the most; refuse to pick when both parse all
        # and disagree (01/02/2021: January or February?).
        from pandas.tseries.api import guess_datetime_format

        formats: set[str] = set()
        for text in texts[:50]:
            for dayfirst in (False, True):
                fmt = guess_datetime_format(str(text), dayfirst=dayfirst)
                if fmt is not None:
                    formats.add(fmt)
        best, best_nat = iso, int(iso.isna().sum())
        tied: list[str] = []
        for fmt in sorted(formats):
            parsed = pd.DatetimeIndex(pd.to_datetime(texts, format=fmt, errors="coerce"))
            nat = int(parsed.isna().sum())
            if nat < best_nat:
                best, best_nat, tied = parsed, nat, [fmt]
            elif nat == best_nat and tied and not parsed.equals(best):
                tied.append(fmt)
        if len(tied) > 1:
            raise DataError(
                f"{source}: ambiguous date format, the dates parse as {' and as '.join(tied)} "
                f"with different results (e.g. {_short(texts[0])}); pass date_format"
            )
        if tied:
            notes.append(f"dates parsed with the inferred format {tied[0]!r}")
        return best


def _ticker_text(value: Any) -> str:
    # 600000.0 is a float artifact of a missing value in the column: "600000".
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _parse_tickers(
    col: pd.Series,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (codes, uniques, bad_row_mask, stripped_row_mask, numeric_row_mask).

    Code -1 = missing. Checks run on the distinct tickers only, then map back
    to rows by code. A bool is not a ticker (bad); a number is kept as text
    but flagged, since leading zeros (CN 000001) are already lost.
    """
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    kinds = [
        2 if isinstance(u, bool | np.bool_) else int(isinstance(u, int | float | np.number))
        for u in uniques
    ]
    raw = np.array([_ticker_text(u) for u in uniques], dtype=object)
    stripped = np.array([u.strip() for u in raw], dtype=object)
    # Stripping may merge "AAPL " into "AAPL": factorize again.
    codes2, uniq2 = pd.factorize(stripped)
    uniq2 = np.asarray(uniq2, dtype=object)
    bad_u = np.array(
        [len(u) == 0 or len(u) > MAX_TICKER_LEN or _CONTROL.search(u) is not None for u in uniq2],
        dtype=bool,
    )
    missing = codes < 0
    safe = np.where(missing, 0, codes)
    if len(uniq2) == 0:
        n = len(codes)
        none = np.zeros(n, bool)
        return np.full(n, -1, np.intp), uniq2, np.ones(n, bool), none, none
    kind = np.asarray(kinds, dtype=np.int8)[safe]
    final = np.where(missing, -1, codes2[safe])
    bad_rows = missing | bad_u[np.where(missing, 0, final)] | (~missing & (kind == 2))
    changed_rows = ~missing & (raw != stripped)[safe]
    numeric_rows = ~missing & (kind == 1)
    return final, uniq2, bad_rows, changed_rows, numeric_rows


def _to_float(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, mask of non-numeric cells).

    Booleans and complex numbers are not prices or volumes: casting would turn
    ``True`` into 1.0 and ``1+2j`` into 1.0 without a word, so such cells are
    ``non_numeric`` (NaN value).
    """
    present = col.notna().to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_complex_dtype(col.dtype):
        return np.full(len(col), np.nan), present
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(col), dtype=bool)
    odd = np.zeros(len(col), dtype=bool)
    if col.dtype == object:
        odd = np.fromiter(
            (isinstance(v, bool | np.bool_ | complex | np.complexfloating) for v in col.to_numpy()),
            dtype=bool,
            count=len(col),
        )
    as_text = col.where(~col.isna() & ~odd, None)
    values = pd.to_numeric(as_text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values, present & np.isnan(values) & (odd | ~_nan_literal(col, present))


def _nan_literal(col: pd.Series, present: np.ndarray) -> np.ndarray:
    # An explicit "nan" string is a missing value, not garbage.
    out = np.zeros(len(col), dtype=bool)
    if present.any():
        text = col[present].astype(str).str.strip().str.lower()
        out[present] = text.isin(["nan", ""]).to_numpy()
    return out


# ------------------------------------------------------------------ the check
def validate_prices(
    df: pd.DataFrame,
    *,
    source: str,
    mode: Mode = "strict",
    required: Iterable[str] = REQUIRED_COLUMNS,
    rows: np.ndarray | None = None,
    date_format: str | None = None,
    tickers: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a long price frame against the rules and return the clean rows.

    Parameters
    ----------
    df : pandas.DataFrame, shape (n_rows, n_columns)
        Long frame with at least ``date``, ``ticker`` and ``close``; optional
        ``open``, ``high``, ``low``, ``adj_close``, ``volume``; other columns
        are kept untouched.
    source : str
        Named in every message (file path or dataset name).
    mode : {"strict", "lenient"}
        ``strict`` raises on the first broken rule; ``lenient`` drops offending
        rows and reports them.
    required : iterable of str
        Columns that must exist (default ``date, ticker, close``).
    rows : numpy.ndarray of int, shape (n_rows,), optional
        1-based row numbers in the source file used in messages; default
        ``1..n_rows`` (the frame's row order is the file's).
    date_format : str, optional
        strftime format for text dates; default ISO 8601, else inferred.
    tickers : sequence of str, optional
        Keep only these tickers (before the row rules run). Unknown ones raise.
    start, end : date-like, optional
        Keep only rows with ``start <= date <= end`` (before the row rules run;
        rows with unparseable dates are still checked).

    Returns
    -------
    clean : pandas.DataFrame, shape (n_output, n_columns)
        ``date`` as datetime64[ns] (naive), ``ticker`` as str, price and volume
        columns as float64, other columns unchanged. Row order is the input's,
        or sorted by (ticker, date) when lenient mode repaired ``unsorted``.
    report : ValidationReport

    Raises
    ------
    ValidationError
        A file-level rule in any mode, or any row rule in strict mode.
    DataError
        Unknown tickers requested, or an unknown ``mode``.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if mode not in ("strict", "lenient"):
        raise DataError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    required = tuple(required)
    missing = [c for c in required if c not in df.columns]
    if missing:
        _raise_file_rule(
            source,
            "missing_columns",
            f"missing {', '.join(missing)}; columns present: "
            f"{', '.join(_short(str(c)) for c in df.columns[:30]) or 'none'}",
        )
    if df.columns.has_duplicates:
        dup = df.columns[df.columns.duplicated()][0]
        raise DataError(f"{source}: column {_short(str(dup))} appears more than once")
    n = len(df)
    if n == 0:
        _raise_file_rule(source, "no_rows", "the data has a header but no rows")
    try:
        rows = np.arange(1, n + 1) if rows is None else np.asarray(rows, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{source}: rows must be 1-based integer row numbers") from None
    if len(rows) != n:
        raise DataError(f"rows has length {len(rows)}, expected {n}")
    notes: list[str] = []

    codes, uniq_tickers, bad_ticker, stripped, numeric_ticker = _parse_tickers(df["ticker"])
    keep = np.ones(n, dtype=bool)
    if tickers is not None:
        # One ticker given as a string means that ticker, not its letters.
        wanted = [tickers] if isinstance(tickers, str) else [str(t) for t in tickers]
        pos = pd.Index(uniq_tickers).get_indexer(wanted)
        if (pos < 0).any():
            absent = [t for t, p in zip(wanted, pos, strict=True) if p < 0]
            raise DataError(
                f"{source}: ticker(s) not in the data: {', '.join(_short(t) for t in absent[:20])}"
            )
        keep &= np.isin(codes, pos)
    dates = _parse_dates(df["date"], rows, source, date_format, notes)
    nat = np.isnat(dates)
    if start is not None:
        keep &= nat | (dates >= _bound(start, "start", source))
    if end is not None:
        keep &= nat | (dates <= _bound(end, "end", source))
    if not keep.all():
        idx = np.flatnonzero(keep)
        df = df.iloc[idx]
        rows, codes, bad_ticker, stripped = rows[idx], codes[idx], bad_ticker[idx], stripped[idx]
        numeric_ticker = numeric_ticker[idx]
        dates, nat = dates[idx], nat[idx]
        n = len(df)
        if n == 0:
            raise DataError(f"{source}: no rows left after selecting tickers/dates")

    num: dict[str, np.ndarray] = {}
    non_numeric = np.zeros(n, dtype=bool)
    for c in NUMERIC_COLUMNS:
        if c in df.columns:
            num[c], bad = _to_float(df[c])
            non_numeric |= bad

    masks: dict[str, np.ndarray] = {"bad_date": nat, "bad_ticker": bad_ticker}
    masks["non_numeric"] = non_numeric
    key_ok = ~nat & ~bad_ticker
    dup_row, dup_key = _duplicates(df, dates, codes, num, key_ok)
    masks["duplicate_row"], masks["duplicate_key"] = dup_row, dup_key
    unsorted = _unsorted(dates, codes, key_ok)
    masks["unsorted"] = unsorted
    with np.errstate(invalid="ignore"):  # inf - inf in the tolerance: compares False
        masks.update(_price_rules(num, n))

    warn = {
        "missing_open": "open",
        "missing_high": "high",
        "missing_low": "low",
        "missing_adj_close": "adj_close",
        "missing_volume": "volume",
    }
    warn_counts = {
        k: int((np.isnan(num[c]) & ~non_numeric).sum()) for k, c in warn.items() if c in num
    }
    warn_counts["ticker_whitespace"] = int(stripped.sum())
    n_numeric_ticker = int((numeric_ticker & ~bad_ticker).sum())
    if n_numeric_ticker:  # only when it happens: most sources have text tickers
        warn_counts["numeric_ticker"] = n_numeric_ticker

    report = ValidationReport(
        source=source,
        mode=mode,
        n_input=n,
        errors={k: int(m.sum()) for k, m in masks.items() if k != "unsorted"},
        fixed={"unsorted": int(unsorted.sum())},
        warnings=warn_counts,
        notes=notes,
    )
    if mode == "strict":
        for rule, mask in masks.items():
            if mask.any():
                _raise_row_rule(df, rows, dates, uniq_tickers, codes, num, rule, mask, report)

    drop = np.zeros(n, dtype=bool)
    for rule, mask in masks.items():
        if rule != "unsorted":
            drop |= mask
    keep_idx = np.flatnonzero(~drop)
    if unsorted.any():
        # Stable: rows with equal (ticker, date) cannot remain (duplicates dropped).
        order = np.lexsort((dates[keep_idx], codes[keep_idx]))
        keep_idx = keep_idx[order]
    clean = _assemble(df, keep_idx, dates, uniq_tickers, codes, num)
    report.n_output = len(clean)
    if drop.any():
        report.dropped = _dropped_frame(df, rows, drop, masks)
    if not report.ok or n_numeric_ticker:
        _warn(report.summary())
    return clean, report


def _duplicates(
    df: pd.DataFrame,
    dates: np.ndarray,
    codes: np.ndarray,
    num: dict[str, np.ndarray],
    key_ok: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(dates)
    dup_row = np.zeros(n, dtype=bool)
    dup_key = np.zeros(n, dtype=bool)
    # One int64 key per row: hashing it is several times faster than a MultiIndex.
    date_codes, _ = pd.factorize(dates.view(np.int64))
    key = date_codes.astype(np.int64) * (int(codes.max(initial=0)) + 2) + (codes + 1)
    in_group = pd.Series(key).duplicated(keep=False).to_numpy() & key_ok
    if not in_group.any():
        return dup_row, dup_key
    idx = np.flatnonzero(in_group)
    sub = pd.DataFrame({"_d": dates.view(np.int64)[idx], "_t": codes[idx]})
    for c, v in num.items():
        sub[c] = v[idx]
    for c in df.columns:
        if c not in num and c not in ("date", "ticker"):
            sub["_x_" + str(c)] = df[c].iloc[idx].astype(str).to_numpy()
    distinct = sub.drop_duplicates().groupby(["_d", "_t"]).size()
    conflicting = distinct[distinct > 1].index
    sub_key = pd.MultiIndex.from_arrays([sub["_d"], sub["_t"]])
    conflict = sub_key.isin(conflicting)
    dup_key[idx[conflict]] = True
    later_copy = sub.duplicated(keep="first").to_numpy() & ~conflict
    dup_row[idx[later_copy]] = True
    return dup_row, dup_key


def _unsorted(dates: np.ndarray, codes: np.ndarray, key_ok: np.ndarray) -> np.ndarray:
    """Rows whose date is earlier than the previous row of the same ticker (file order)."""
    out = np.zeros(len(dates), dtype=bool)
    idx = np.flatnonzero(key_ok)
    if len(idx) < 2:
        return out
    order = idx[np.argsort(codes[idx], kind="stable")]
    d = dates[order]
    t = codes[order]
    back = (t[1:] == t[:-1]) & (d[1:] < d[:-1])
    out[order[1:][back]] = True
    return out


def _price_rules(num: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    zeros = np.zeros(n, dtype=bool)
    non_finite = zeros.copy()
    non_positive = zeros.copy()
    if "close" in num:
        non_finite |= ~np.isfinite(num["close"])
        non_positive |= num["close"] <= 0
    for c in PRICE_COLUMNS:
        if c in num and c != "close":
            non_finite |= np.isinf(num[c])
            non_positive |= num[c] <= 0
    out = {"non_finite_price": non_finite, "non_positive_price": non_positive}
    high, low = num.get("high"), num.get("low")
    # NaN compares False: a missing bound is tolerated, not a violation.
    if high is not None and low is not None:
        out["high_below_low"] = high < low
    else:
        out["high_below_low"] = zeros
    for rule, c in (("close_out_of_range", "close"), ("open_out_of_range", "open")):
        bad = zeros.copy()
        if c in num:
            if low is not None:
                bad |= num[c] < low - RANGE_TOL * np.abs(low)
            if high is not None:
                bad |= num[c] > high + RANGE_TOL * np.abs(high)
        out[rule] = bad
    vol = num.get("volume")
    out["non_finite_volume"] = np.isinf(vol) if vol is not None else zeros
    out["negative_volume"] = vol < 0 if vol is not None else zeros
    return out


def _raise_row_rule(
    df: pd.DataFrame,
    rows: np.ndarray,
    dates: np.ndarray,
    uniq_tickers: np.ndarray,
    codes: np.ndarray,
    num: dict[str, np.ndarray],
    rule: str,
    mask: np.ndarray,
    report: ValidationReport,
) -> None:
    hits = np.flatnonzero(mask)
    examples = []
    for i in hits[:N_EXAMPLES]:
        ticker = uniq_tickers[codes[i]] if codes[i] >= 0 else df["ticker"].iloc[i]
        date = (
            str(pd.Timestamp(dates[i]).date())
            if not np.isnat(dates[i])
            else _short(df["date"].iloc[i])
        )
        values = _rule_values(df, num, rule, i)
        examples.append(f"row {rows[i]}, ticker {_short(ticker)}, date {date}: {values}")
    others = ", ".join(
        f"{k} {v}" for k, v in {**report.errors, **report.fixed}.items() if v and k != rule
    )
    msg = (
        f"{report.source}: rule {rule} ({DROP_RULES[rule]}) broken by {len(hits)} row(s); "
        + "; ".join(examples)
        + (f"; ... and {len(hits) - N_EXAMPLES} more" if len(hits) > N_EXAMPLES else "")
        + (f". Other rules broken: {others}" if others else "")
        + ". Use mode='lenient' to drop (or sort) such rows with a report."
    )
    raise ValidationError(
        msg,
        source=report.source,
        rule=rule,
        rows=[int(rows[i]) for i in hits[:N_EXAMPLES]],
        count=len(hits),
        report=report,
    )


def _rule_values(df: pd.DataFrame, num: dict[str, np.ndarray], rule: str, i: int) -> str:
    if rule == "bad_date":
        return f"date={_short(df['date'].iloc[i])}"
    if rule == "bad_ticker":
        return f"ticker={_short(df['ticker'].iloc[i])}"
    if rule == "non_numeric":
        cells = [
            f"{c}={_short(df[c].iloc[i])}"
            for c in num
            if np.isnan(num[c][i]) and pd.notna(df[c].iloc[i])
        ]
        return ", ".join(cells)
    if rule.endswith("volume"):
        return f"volume={_fmt_num(num['volume'][i])}"
    if rule in ("unsorted", "duplicate_key", "duplicate_row"):
        return ", ".join(f"{c}={_fmt_num(v[i])}" for c, v in num.items())
    return ", ".join(f"{c}={_fmt_num(num[c][i])}" for c in PRICE_COLUMNS if c in num)


def _assemble(
    df: pd.DataFrame,
    keep_idx: np.ndarray,
    dates: np.ndarray,
    uniq_tickers: np.ndarray,
    codes: np.ndarray,
    num: dict[str, np.ndarray],
) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "date": dates[keep_idx],
        "ticker": pd.array(uniq_tickers[codes[keep_idx]], dtype="str"),
    }
    for c in df.columns:
        if c in ("date", "ticker"):
            continue
        if c in num:
            cols[c] = num[c][keep_idx]
        else:
            cols[c] = df[c].iloc[keep_idx].reset_index(drop=True)
    return pd.DataFrame(cols, copy=False)


def _dropped_frame(
    df: pd.DataFrame, rows: np.ndarray, drop: np.ndarray, masks: dict[str, np.ndarray]
) -> pd.DataFrame:
    idx = np.flatnonzero(drop)
    out = df.iloc[idx].reset_index(drop=True)
    # Our two columns come first; source columns that share their names step aside.
    out = out.rename(columns={c: f"source_{c}" for c in ("row", "rules") if c in out.columns})
    labels = np.full(len(idx), "", dtype=object)
    for rule, mask in masks.items():
        if rule == "unsorted":
            continue
        hit = mask[idx]
        labels[hit] = labels[hit] + np.where(labels[hit] == "", "", ",") + rule
    out.insert(0, "rules", labels)
    out.insert(0, "row", rows[idx])
    return out
