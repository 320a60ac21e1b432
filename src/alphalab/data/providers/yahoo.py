"""Yahoo Finance through ``yfinance`` (the ``data`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from alphalab.data.providers.base import (
    ProviderError,
    finish,
    is_network_error,
    network_error,
    require_module,
)

__all__ = ["YahooProvider"]

# yfinance column -> alphalab field
_COLUMNS = {"Open": "open", "High": "high", "Low": "low", "Close": "close",
            "Adj Close": "adj_close", "Volume": "volume"}


class YahooProvider:
    """Daily bars from Yahoo Finance.

    Parameters
    ----------
    client : object, optional
        Anything with yfinance's ``download(tickers=..., start=..., end=...,
        ...)`` returning its wide frame (columns ``(Price, Ticker)``); default
        the ``yfinance`` module, imported on first use.
    market : str
        Markets code recorded with the data (``us`` by default).

    Notes
    -----
    Prices are requested unadjusted (``auto_adjust=False``): ``close`` is
    split-adjusted by Yahoo but not dividend-adjusted, and ``adj_close``
    carries Yahoo's total-return adjustment.
    """

    name = "yahoo"
    #: Yahoo's ``close`` is split-adjusted only (``adj_close`` adds dividends).
    adjusted = "split_only"

    def __init__(self, client: Any = None, *, market: str | None = "us") -> None:
        self._client = client
        self.market = market

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = require_module("yfinance", self.name)
        return self._client

    def fetch(self, tickers: Sequence[str], start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        tickers = [str(t) for t in tickers]
        if not tickers:
            raise ProviderError("yahoo: no tickers requested")
        lo = pd.Timestamp(start).strftime("%Y-%m-%d")
        # yfinance's end is exclusive.
        hi = (pd.Timestamp(end) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        client = self.client  # a missing yfinance is its own message, not a download failure
        try:
            raw = client.download(
                tickers=tickers, start=lo, end=hi, interval="1d", auto_adjust=False,
                actions=False, group_by="column", progress=False, threads=False,
                multi_level_index=True,
            )
        except Exception as exc:
            if is_network_error(exc):
                raise network_error(self.name, exc, "query1.finance.yahoo.com") from None
            if "ratelimit" in type(exc).__name__.lower() or "Too Many Requests" in str(exc):
                raise ProviderError(f"yahoo: rate limited by Yahoo ({exc}); wait and retry") from None
            raise ProviderError(f"yahoo: download failed: {type(exc).__name__}: {exc}") from None
        if raw is None or raw.empty:
            raise ProviderError(
                f"yahoo: no data for {', '.join(tickers)} between {lo} and {end} "
                "(unknown tickers, a closed network, or Yahoo refusing the request)"
            )
        return finish(self.parse(raw), self.name, start=start, end=end, fields=fields)

    @staticmethod
    def parse(raw: pd.DataFrame) -> pd.DataFrame:
        """yfinance's wide ``(Price, Ticker)`` frame -> long ``date, ticker, fields``."""
        if not isinstance(raw.columns, pd.MultiIndex):
            raise ProviderError("yahoo: expected (Price, Ticker) column levels in the reply")
        names = list(raw.columns.names)
        price_level = names.index("Price") if "Price" in names else 0
        if price_level != 0:
            raw = raw.swaplevel(axis=1)
        long = raw.stack(level=1, future_stack=True)
        long.index = long.index.set_names(["date", "ticker"])
        long = long.reset_index().rename(columns=_COLUMNS)
        long.columns.name = None
        price_cols = [c for c in _COLUMNS.values() if c in long.columns]
        # Yahoo pads tickers that did not trade (or did not exist yet) with NaN rows.
        return long.dropna(subset=price_cols, how="all")[["date", "ticker", *price_cols]]
