"""``al.load``: one entry point from a dataset name, file or DataFrame to a Panel.

A string source is resolved in this order, and the error lists what was tried:

1. an embedded dataset name (:data:`alphalab.data.embedded.EMBEDDED`);
2. an existing file (CSV or Parquet, see :func:`alphalab.data.files.read_file`);
3. a dataset in the local store, when :mod:`alphalab.data.store` is importable
   and its catalogue exists (the store validated the rows when they were
   imported; its ``Store.load`` builds the Panel).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alphalab.data.embedded import EMBEDDED, get_embedded, load_embedded
from alphalab.data.files import SUFFIXES, Layout, frame_to_long, read_file_with_report
from alphalab.data.panel import Panel
from alphalab.data.validation import (
    REQUIRED_COLUMNS,
    Mode,
    ValidationReport,
    _warn,
    validate_prices,
)
from alphalab.errors import DataError

__all__ = ["load", "load_benchmark", "resolve_source"]

Source = str | os.PathLike[str] | pd.DataFrame


def _looks_like_path(text: str) -> bool:
    lower = text.lower()
    return os.sep in text or "/" in text or any(lower.endswith(s) for s in SUFFIXES)


def _store_lookup(name: str, root: Any = None) -> tuple[Any | None, str]:
    """(store, why-not) for ``name``: the Store holding it, or None and the reason."""
    try:
        store_mod = importlib.import_module("alphalab.data.store")
    except ImportError:
        return None, "the store (alphalab.data.store) is not available"
    store = store_mod.Store(root)
    # Looking must not create an empty catalogue as a side effect.
    if not store.catalog_path.exists():
        return None, f"the store at {store.root} is empty (no catalogue)"
    try:
        found = store.exists(name)
    except DataError as exc:  # names the store refuses (slashes, '..') cannot be stored
        return None, f"not a valid store dataset name ({exc})"
    if not found:
        return None, f"no dataset {name!r} in the store at {store.root}"
    return store, ""


def resolve_source(source: Source, *, store: Any = None) -> str:
    """Which resolver handles ``source``: ``dataframe``, ``embedded``, ``file`` or ``store``.

    ``store`` is the store root to search (default ``$ALPHALAB_HOME`` or ``~/.alphalab``).

    Raises
    ------
    DataError
        Nothing matched; the message lists each place that was tried.
    """
    if isinstance(source, pd.DataFrame):
        return "dataframe"
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            f"source must be a dataset name, a file path or a DataFrame, got {type(source).__name__}"
        )
    text = os.fspath(source)
    if isinstance(source, str) and text in EMBEDDED:
        return "embedded"
    path = Path(text).expanduser()
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a name longer than the file system allows
        is_file = False
    if is_file:
        return "file"
    tried = [f"not an embedded dataset (available: {', '.join(EMBEDDED)})"]
    tried.append(f"no file at {str(path.absolute())!r:.200}")
    if isinstance(source, str) and not _looks_like_path(text):
        found, why = _store_lookup(text, store)
        if found is not None:
            return "store"
        tried.append(why)
    raise DataError(f"cannot find data source {text!r:.200}: " + "; ".join(tried))


def load(
    source: Source,
    *,
    market: str | None = None,
    mode: Mode = "strict",
    columns: Mapping[str, str] | None = None,
    tickers: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    fields: Sequence[str] | None = None,
    layout: Layout = "auto",
    field: str = "close",
    date_format: str | None = None,
    store: str | os.PathLike[str] | None = None,
    open_seal: bool = False,
    ticker: str | None = None,
) -> Panel:
    """Load market data as a validated :class:`Panel`.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        An embedded dataset name (``sp500_20``, ``arch_sp500`` ...), a CSV or
        Parquet file, a store dataset name, or a long DataFrame
        (``date, ticker, close, ...``) or a wide one (dates as index or
        ``date`` column, one column per ticker holding ``field``).
    market : str, optional
        Market code stored in ``panel.meta["market"]`` (e.g. ``"vn.hose"``);
        default: the embedded or store dataset's own market, else None.
    mode : {"strict", "lenient"}
        ``strict`` raises on any bad row; ``lenient`` drops bad rows and puts
        the counts in ``panel.meta["validation"]``.
    columns : dict[str, str], optional
        Column renames for files and DataFrames (``{"Name": "ticker"}``).
    tickers : sequence of str, optional
        Keep only these tickers (unknown ones raise).
    start, end : date-like, optional
        Inclusive date range.
    fields : sequence of str, optional
        Fields to keep; default every numeric column.
    layout, field, date_format
        File options, see :func:`alphalab.data.files.read_file`.
    store : path, optional
        Store root searched for dataset names (default ``$ALPHALAB_HOME`` or
        ``~/.alphalab``).
    open_seal : bool
        A dataset sealed with ``alphalab data seal`` (or by a study's
        ``validation.holdout``) is cut before its seal date unless this is True;
        an opened panel carries ``meta["seal"]["opened"]`` and every path that
        reports results from it records the look (see :mod:`alphalab.data.seal`).
    ticker : str, optional
        The ticker of a single-stock file or frame (``date, open, ..., close,
        volume`` without a ticker column); default the file name.

    Returns
    -------
    Panel
        Fields of shape ``(n_dates, n_assets)``; ``meta`` holds ``source``,
        ``source_kind``, ``market``, ``validation`` (a dict, see
        :meth:`ValidationReport.to_dict`) and, for embedded data, ``adjusted``
        and ``benchmark``.

    Raises
    ------
    DataError
        The source cannot be found, a rule is broken (strict), or a requested
        ticker or field is absent.
    """
    if market is not None:
        from alphalab.markets import get_market

        get_market(market)  # an unknown code would silently switch the market's rules off
    # A single ticker or field given as a string means that one, not its letters.
    if isinstance(tickers, str):
        tickers = [tickers]
    if isinstance(fields, str):
        fields = [fields]
    if fields is not None and len(fields) == 0:
        raise DataError("fields is empty; pass None for every numeric field")
    kind = resolve_source(source, store=store)
    if columns and kind in ("embedded", "store"):
        raise DataError(
            f"columns= renames file or DataFrame columns; {kind} dataset {source!s:.80} "
            "already uses alphalab names"
        )
    if ticker is not None and kind in ("embedded", "store"):
        raise DataError(f"ticker= names the stock of a single-stock file; {source!s:.80} is a {kind} dataset")
    meta: dict[str, Any] = {"source_kind": kind, "market": market}
    report: ValidationReport | None
    if kind == "store":
        return _sealed(
            _load_store(
                str(source), meta, tickers=tickers, start=start, end=end, fields=fields, root=store
            ),
            source, store, open_seal,
        )  # fmt: skip
    if kind == "file":
        path = Path(os.fspath(source)).expanduser().resolve()  # type: ignore[arg-type]
        clean, report = read_file_with_report(
            path, layout=layout, columns=columns, field=field, date_format=date_format,
            mode=mode, tickers=tickers, start=start, end=end, ticker=ticker,
        )  # fmt: skip
        meta["source"] = str(path)
    else:
        if kind == "embedded":
            name = str(source)
            info = get_embedded(name)
            raw = load_embedded(name)
            meta.update(source=name, adjusted=info.adjusted, benchmark=info.benchmark)
            meta["market"] = market or info.market
            label = f"embedded:{name}"
            rows, required, notes = None, REQUIRED_COLUMNS, []
        else:
            meta["source"] = label = "<DataFrame>"
            raw, rows, required, notes = frame_to_long(
                source,
                source=label,
                layout=layout,
                columns=columns,
                field=field,  # type: ignore[arg-type]
                ticker=ticker,
            )
        clean, report = validate_prices(
            raw, source=label, mode=mode, required=required, rows=rows, tickers=tickers,
            start=start, end=end, date_format=date_format,
        )  # fmt: skip
        report.notes[:0] = notes
    if clean.empty:
        meta["validation"] = report.to_dict()
        raise DataError(f"no valid rows left to load: {report.summary()}")
    numeric = [
        c for c in clean.columns
        if c not in ("date", "ticker") and pd.api.types.is_numeric_dtype(clean[c])
    ]  # fmt: skip
    text = [c for c in clean.columns if c not in ("date", "ticker") and c not in numeric]
    if fields is not None:
        named = [f for f in fields if f in text]
        if named:
            raise DataError(
                f"{meta['source']}: field {named[0]!r} is not numeric "
                f"(e.g. {_first_non_number(clean[named[0]])!r:.40}); fix or cast the column"
            )
    elif text:
        _note_text_columns(clean, text, report)
    meta["validation"] = report.to_dict()
    if fields is not None:
        absent = [f for f in fields if f not in numeric]
        if absent:
            raise DataError(
                f"{meta['source']}: field(s) {', '.join(map(repr, absent))} not in the data; "
                f"numeric fields: {', '.join(numeric)}"
            )
        numeric = list(fields)
    return _sealed(Panel.from_long(clean, numeric, meta=meta), source, store, open_seal)


def _sealed(panel: Panel, source: Source, store: Any, open_seal: bool) -> Panel:
    """The seal of the source's content applied (see :mod:`alphalab.data.seal`)."""
    from alphalab.data.seal import content_hash_of, seal_panel

    return seal_panel(panel, content_hash_of(source, store=store), open_seal=open_seal)


def _first_non_number(col: pd.Series) -> Any:
    values = col.dropna()
    bad = pd.to_numeric(values, errors="coerce").isna().to_numpy()
    return values[bad].iloc[0] if bad.any() else (values.iloc[0] if len(values) else None)


def _note_text_columns(clean: pd.DataFrame, text: list[str], report: ValidationReport) -> None:
    """Record the non-numeric columns a Panel cannot hold; warn for corrupted numeric ones.

    A column whose values are mostly numbers but hold a stray word (``n/a``)
    arrives as text and would vanish from the Panel: that is data loss, so
    it warns. Labels such as ``name`` are only noted.
    """
    report.notes.append(
        f"text column(s) {', '.join(map(repr, text))} left out of the Panel (not numeric)"
    )
    for c in text:
        values = clean[c].dropna()
        if len(values) == 0:
            continue
        parsed = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
        if parsed.notna().mean() > 0.5:
            _warn(
                f"{report.source}: column {c!r} is mostly numbers but holds text such as "
                f"{_first_non_number(values)!r:.40}; it is left out of the Panel "
                "(cast it with pd.to_numeric to keep it)"
            )


def _load_store(
    name: str,
    meta: dict[str, Any],
    *,
    tickers: Sequence[str] | None,
    start: Any,
    end: Any,
    fields: Sequence[str] | None,
    root: Any = None,
) -> Panel:
    store, _ = _store_lookup(name, root)
    panel = store.load(name, fields, start=start, end=end, tickers=tickers)  # type: ignore[union-attr]
    if tickers is not None:
        absent = sorted(set(map(str, tickers)) - set(panel.assets))
        if absent:
            raise DataError(f"store dataset {name!r}: ticker(s) not in the data: {absent[:20]}")
    merged = {**panel.meta, **meta, "source": name}
    if meta["market"] is None:
        merged["market"] = panel.meta.get("market")
    merged["validation"] = {
        "source": name,
        "note": "validated (lenient) when imported into the store",
    }
    return panel.with_meta(**merged)


def load_benchmark(
    source: Source,
    *,
    ticker: str | None = None,
    field: str = "close",
    mode: Mode = "strict",
    start: Any = None,
    end: Any = None,
) -> pd.Series:
    """A benchmark's level series (its closes) from any source :func:`load` accepts.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        E.g. ``"sp500_index"``, ``"arch_nasdaq"``, ``"vnindex_2000_2020"`` or a file.
    ticker : str, optional
        Needed when the source holds several tickers.
    field : str
        Which field is the level (default ``close``).

    Returns
    -------
    pandas.Series, shape (n_dates,)
        Float64 levels indexed by date, named after the ticker; dates where
        the level is missing are dropped.
    """
    panel = load(
        source, mode=mode, tickers=[ticker] if ticker is not None else None,
        start=start, end=end, fields=[field],
    )  # fmt: skip
    if panel.n_assets != 1:
        raise DataError(
            f"benchmark source {panel.meta.get('source')!s:.200} holds {panel.n_assets} tickers; "
            f"pass ticker= one of {', '.join(map(str, panel.assets[:20]))}"
        )
    series = panel.frame(field).iloc[:, 0].dropna().astype("float64")
    series.name = str(panel.assets[0])
    series.index.name = "date"
    return series.copy()
