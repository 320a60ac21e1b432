"""The provider interface and the helpers every provider shares.

A provider turns ``fetch(tickers, start, end, fields)`` into one long
DataFrame ``date, ticker, field...`` (dates naive midnight, tickers str,
fields float64, sorted by ticker then date). Network providers import their
client library lazily and accept an injected ``client`` (or ``transport``)
so that their parsing, paging and error paths are tested on recorded
responses without a network.
"""

from __future__ import annotations

import socket
import urllib.error
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from alphalab.data.parsing import parse_dates
from alphalab.errors import AlphalabError, DataError

__all__ = [
    "OHLCV",
    "Provider",
    "ProviderError",
    "date_chunks",
    "finish",
    "is_network_error",
    "network_error",
    "require_module",
    "year_chunks",
]

OHLCV = ("open", "high", "low", "close", "volume")


class ProviderError(AlphalabError):
    """A data provider could not deliver: no network, refused login, bad reply."""


@runtime_checkable
class Provider(Protocol):
    """What every data provider offers."""

    name: str
    market: str | None

    def fetch(
        self,
        tickers: Sequence[str],
        start: Any,
        end: Any,
        fields: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Long frame ``date, ticker, fields...`` for ``start <= date <= end``."""
        ...


_NET_NAMES = ("connection", "timeout", "timedout", "network", "resolve", "unreachable", "ssl", "proxy")


def is_network_error(exc: BaseException) -> bool:
    """True for errors that mean "could not reach the server" (any HTTP library)."""
    if isinstance(exc, urllib.error.URLError | socket.error | TimeoutError | ConnectionError):
        return True
    names = " ".join(c.__name__.lower() for c in type(exc).__mro__)
    return any(n in names for n in _NET_NAMES)


def network_error(provider: str, exc: BaseException, where: str = "") -> ProviderError:
    """One clear message for an unreachable provider."""
    place = f" ({where})" if where else ""
    return ProviderError(
        f"{provider}: cannot reach the data server{place}: {type(exc).__name__}: {exc}. "
        "Check the network connection (or a proxy); offline, import a file instead with "
        "`alphalab data import FILE --name NAME`."
    )


def provider_failure(provider: str, exc: BaseException, where: str, what: str) -> ProviderError:
    """The error to raise for ``exc`` from a provider's call.

    An unreachable server gets :func:`network_error`'s message; anything else
    is ``what`` (e.g. ``"cn: baostock failed"``) with the exception's type and text.
    """
    if is_network_error(exc):
        return network_error(provider, exc, where)
    return ProviderError(f"{what}: {type(exc).__name__}: {exc}")


def require_module(module: str, provider: str, hint: str | None = None) -> Any:
    """Import an optional client library or raise one clear :class:`ProviderError`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        how = hint or f"install it with `pip install 'alphalab[data]'` or `pip install {module.split('.')[0]}`"
        raise ProviderError(f"{provider}: the {module!r} package is not installed; {how}") from None


def date_chunks(start: Any, end: Any, days: int) -> Iterator[tuple[pd.Timestamp, pd.Timestamp]]:
    """Consecutive inclusive ``(lo, hi)`` ranges of at most ``days`` days covering start..end."""
    lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if lo > hi:
        raise DataError(f"start {lo.date()} is after end {hi.date()}")
    while lo <= hi:
        top = min(hi, lo + pd.Timedelta(days=days - 1))
        yield lo, top
        lo = top + pd.Timedelta(days=1)


def year_chunks(start: Any, end: Any) -> Iterator[tuple[pd.Timestamp, pd.Timestamp]]:
    """Inclusive ``(lo, hi)`` ranges split at calendar-year boundaries."""
    lo, hi = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if lo > hi:
        raise DataError(f"start {lo.date()} is after end {hi.date()}")
    while lo <= hi:
        top = min(hi, pd.Timestamp(year=lo.year, month=12, day=31))
        yield lo, top
        lo = top + pd.Timedelta(days=1)


def finish(
    df: pd.DataFrame,
    provider: str,
    *,
    start: Any = None,
    end: Any = None,
    fields: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Normalise a provider's long frame: types, range, order, duplicates.

    Raises
    ------
    ProviderError
        Key columns missing or requested fields absent from the reply.
    """
    for col in ("date", "ticker"):
        if col not in df.columns:
            raise ProviderError(f"{provider}: reply lacks a {col!r} column; got {list(df.columns)}")
    out = df.copy()
    # Vendors stamp daily bars at the exchange's midnight: keep the local date.
    dates = parse_dates(out["date"], f"{provider}: reply date", error=ProviderError, utc=False)
    out["date"] = dates.dt.normalize().astype("datetime64[ns]")
    out["ticker"] = out["ticker"].astype(str)
    keep = ["date", "ticker"]
    wanted = list(fields) if fields is not None else [c for c in out.columns if c not in keep]
    missing = [f for f in wanted if f not in out.columns]
    if missing:
        raise ProviderError(f"{provider}: reply lacks field(s) {missing}; got {list(out.columns)}")
    for f in wanted:
        if fields is None and _is_text(out[f]):
            continue  # a label column (e.g. the company name) stays text, not all-NaN
        out[f] = _numbers(out, f, provider)
    out = out[keep + wanted]
    if start is not None:
        out = out[out["date"] >= pd.Timestamp(start)]
    if end is not None:
        out = out[out["date"] <= pd.Timestamp(end)]
    dup = out.duplicated(["date", "ticker"], keep=False)
    if dup.any():
        # Chunk overlaps repeat bars exactly (harmless); differing copies mean
        # the vendor revised a bar mid-download: keep the later one, say so.
        variants = out[dup].drop_duplicates().groupby(["date", "ticker"]).size()
        clash = variants[variants > 1]
        if len(clash):
            d, t = clash.index[0]
            warnings.warn(
                f"{provider}: {len(clash)} (date, ticker) bar(s) sent twice with different "
                f"values, first ({t!r}, {pd.Timestamp(d).date()}); the later copy is kept",
                UserWarning,
                stacklevel=2,
            )
    out = out.drop_duplicates(["date", "ticker"], keep="last")
    return out.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)


_NULL_WORDS = {"", "null", "none", "nan", "n/a", "na", "-", "--"}


def _is_text(col: pd.Series) -> bool:
    """True for a non-numeric column none of whose values reads as a number."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    words = col.astype("string").str.strip().str.lower()
    real = col.notna() & ~words.isin(_NULL_WORDS).fillna(True)
    return bool(real.any()) and not pd.to_numeric(col[real], errors="coerce").notna().any()


def _numbers(df: pd.DataFrame, field: str, provider: str) -> pd.Series:
    """Column ``field`` as float64; empty cells and null words become NaN.

    Any other text that is not a number raises :class:`ProviderError` naming
    it, instead of turning quietly into a missing price.
    """
    col = df[field]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype("float64")
    text = col.astype("string").str.strip()
    blank = col.isna() | text.str.lower().isin(_NULL_WORDS).fillna(True)
    values = pd.to_numeric(col.where(~blank), errors="coerce").astype("float64")
    bad = values.isna() & ~blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ProviderError(
            f"{provider}: field {field!r} holds {int(bad.sum())} value(s) that are not numbers, "
            f"first {col.iloc[i]!r} ({df['ticker'].iloc[i]}, {pd.Timestamp(df['date'].iloc[i]).date()})"
        )
    return values
