"""The embedded default data: datasets that ship inside installed wheels.

No network is touched: skfolio and arch read these from CSV files bundled in
their packages.

==============  ===========================================================
name            content
==============  ===========================================================
``sp500_20``    skfolio: 20 S&P 500 stocks, daily adjusted closes
                1990-01-02 .. 2022-12-28 (8,313 dates). Only closes exist:
                no open/high/low/volume, so execution falls back to closes.
``sp500_index`` skfolio: the S&P 500 index level over the same dates, the
                benchmark of ``sp500_20`` (ticker ``SP500``).
``arch_sp500``  arch: S&P 500 index OHLCV 1999-01-04 .. 2018-12-31 (ticker
                ``^GSPC``); needs ``alphalab[vol]``.
``arch_nasdaq`` arch: NASDAQ Composite OHLCV over the same dates (ticker
                ``^IXIC``); needs ``alphalab[vol]``.
==============  ===========================================================

The arch files also carry ``Adj Close``; for these indices it equals
``Close`` on every row, and it is exposed as the field ``adj_close`` so that
nothing in the source is hidden.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from alphalab.errors import AlphalabError, DataError

__all__ = [
    "EMBEDDED",
    "EmbeddedDataset",
    "MissingDependencyError",
    "list_embedded",
    "load_embedded",
]


class MissingDependencyError(AlphalabError, ImportError):
    """An optional package needed for the request is not installed."""


@dataclass(frozen=True)
class EmbeddedDataset:
    """Static description of one embedded dataset (checked against the data by tests)."""

    name: str
    description: str
    package: str
    extra: str | None
    kind: str  # "stocks" or "index"
    fields: tuple[str, ...]
    tickers: tuple[str, ...]
    start: str
    end: str
    n_dates: int
    adjusted: bool
    benchmark: str | None
    loader: Callable[[], pd.DataFrame]
    market: str = "us"


def _import(module: str, package: str, extra: str | None) -> object:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = f"pip install alphalab[{extra}]" if extra else f"pip install {package}"
        raise MissingDependencyError(
            f"the embedded dataset needs the package {package!r}, which is not installed "
            f"({exc}); install it with `{hint}`"
        ) from None


def _wide_to_long(wide: pd.DataFrame, field: str) -> pd.DataFrame:
    long = wide.rename_axis(index="date", columns="ticker").stack(future_stack=True)
    out = long.rename(field).reset_index()
    out = out.loc[out[field].notna()]
    out["ticker"] = out["ticker"].astype("str")
    return out.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)


def _skfolio_stocks() -> pd.DataFrame:
    datasets = _import("skfolio.datasets", "skfolio", None)
    return _wide_to_long(datasets.load_sp500_dataset(), "close")  # type: ignore[attr-defined]


def _skfolio_index() -> pd.DataFrame:
    datasets = _import("skfolio.datasets", "skfolio", None)
    return _wide_to_long(datasets.load_sp500_index(), "close")  # type: ignore[attr-defined]


_ARCH_COLUMNS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}


def _arch(module: str, ticker: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        mod = _import(f"arch.data.{module}", "arch", "vol")
        raw = mod.load()  # type: ignore[attr-defined]
        missing = [c for c in _ARCH_COLUMNS if c not in raw.columns]
        if missing:
            raise DataError(f"arch.data.{module}.load() lacks column(s) {missing}")
        out = raw[list(_ARCH_COLUMNS)].rename(columns=_ARCH_COLUMNS)
        out.insert(0, "ticker", ticker)
        out.insert(0, "date", raw.index)
        out["ticker"] = out["ticker"].astype("str")
        return out.reset_index(drop=True)

    return load


_SKFOLIO_TICKERS = (
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
)  # fmt: skip
_OHLCV = ("open", "high", "low", "close", "adj_close", "volume")

#: Embedded datasets by name.
EMBEDDED: dict[str, EmbeddedDataset] = {
    d.name: d
    for d in (
        EmbeddedDataset(
            "sp500_20",
            "skfolio: 20 S&P 500 stocks, daily adjusted closes (closes only)",
            "skfolio", None, "stocks", ("close",), _SKFOLIO_TICKERS,
            "1990-01-02", "2022-12-28", 8313, True, "sp500_index", _skfolio_stocks,
        ),
        EmbeddedDataset(
            "sp500_index",
            "skfolio: S&P 500 index level (benchmark of sp500_20)",
            "skfolio", None, "index", ("close",), ("SP500",),
            "1990-01-02", "2022-12-28", 8313, True, None, _skfolio_index,
        ),
        EmbeddedDataset(
            "arch_sp500",
            "arch: S&P 500 index OHLCV (adj_close equals close)",
            "arch", "vol", "index", _OHLCV, ("^GSPC",),
            "1999-01-04", "2018-12-31", 5031, False, None, _arch("sp500", "^GSPC"),
        ),
        EmbeddedDataset(
            "arch_nasdaq",
            "arch: NASDAQ Composite index OHLCV (adj_close equals close)",
            "arch", "vol", "index", _OHLCV, ("^IXIC",),
            "1999-01-04", "2018-12-31", 5031, False, None, _arch("nasdaq", "^IXIC"),
        ),
    )
}  # fmt: skip


def list_embedded() -> pd.DataFrame:
    """Describe the embedded datasets without loading them.

    Returns
    -------
    pandas.DataFrame
        One row per dataset: ``name, description, package, extra, kind, fields,
        n_tickers, start, end, n_dates, adjusted, benchmark, market``.
    """
    return pd.DataFrame(
        [
            {
                "name": d.name,
                "description": d.description,
                "package": d.package,
                "extra": d.extra,
                "kind": d.kind,
                "fields": ", ".join(d.fields),
                "n_tickers": len(d.tickers),
                "start": pd.Timestamp(d.start),
                "end": pd.Timestamp(d.end),
                "n_dates": d.n_dates,
                "adjusted": d.adjusted,
                "benchmark": d.benchmark,
                "market": d.market,
            }
            for d in EMBEDDED.values()
        ]
    )


def get_embedded(name: str) -> EmbeddedDataset:
    """The description of ``name``; :class:`DataError` listing the known names otherwise."""
    try:
        return EMBEDDED[name]
    except (KeyError, TypeError):
        raise DataError(
            f"unknown embedded dataset {str(name)!r:.80}; available: {', '.join(EMBEDDED)}"
        ) from None


def load_embedded(name: str) -> pd.DataFrame:
    """Load an embedded dataset as a long DataFrame (not yet validated).

    Parameters
    ----------
    name : str
        One of :data:`EMBEDDED` (see :func:`list_embedded`).

    Returns
    -------
    pandas.DataFrame, shape (n_rows, 2 + n_fields)
        ``date, ticker`` and the dataset's fields, sorted by ticker then date.

    Raises
    ------
    DataError
        Unknown name.
    MissingDependencyError
        The providing package (arch: ``alphalab[vol]``) is not installed.
    """
    return get_embedded(name).loader()
