"""Taiwan through ``FinMind`` (the ``data`` extra)."""

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
    year_chunks,
)

__all__ = ["FinMindProvider"]

_COLUMNS = {"stock_id": "ticker", "max": "high", "min": "low", "Trading_Volume": "volume",
            "Trading_money": "amount", "Trading_turnover": "trades"}


class FinMindProvider:
    """Daily TWSE / TPEx bars from FinMind's ``TaiwanStockPrice`` dataset.

    Parameters
    ----------
    client : object, optional
        A ``FinMind.data.DataLoader`` or anything with its
        ``taiwan_stock_daily(stock_id=..., start_date=..., end_date=...)``
        returning FinMind's frame; default a new DataLoader.
    token : str, optional
        FinMind API token (``login_by_token``); anonymous use is rate limited.

    Requests are split at calendar-year boundaries (FinMind limits the rows
    per request for anonymous users).

    Notes
    -----
    FinMind's ``spread`` is the change against the reference price, so
    ``preclose = close - spread`` is the exchange reference price, usable by
    :func:`alphalab.data.adjust.adjust_from_reference`.
    """

    name = "tw"
    adjusted = "raw"

    def __init__(self, client: Any = None, *, token: str | None = None,
                 market: str | None = "tw") -> None:
        self._client = client
        self.token = token
        self.market = market

    @property
    def client(self) -> Any:
        if self._client is None:
            mod = require_module("FinMind.data", self.name)
            self._client = mod.DataLoader()
            if self.token:
                self._call(lambda: self._client.login_by_token(api_token=self.token), "login")
        return self._client

    def _call(self, fn: Any, what: str) -> Any:
        try:
            return fn()
        except Exception as exc:
            if is_network_error(exc):
                raise network_error(self.name, exc, "api.finmindtrade.com") from None
            text = str(exc)
            low = text.lower()
            if what == "login" or "token" in low or "login" in low:
                raise ProviderError(f"tw: FinMind refused the login / token: {text}") from None
            if "upper limit" in low or "402" in low:
                raise ProviderError(f"tw: FinMind request limit reached ({text}); use a token or wait") from None
            raise ProviderError(f"tw: FinMind {what} failed: {type(exc).__name__}: {text}") from None

    def fetch(self, tickers: Sequence[str], start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        client = self.client
        frames = []
        for code in tickers:
            for lo, hi in year_chunks(start, end):
                df = self._call(
                    lambda c=code, a=lo, b=hi: client.taiwan_stock_daily(
                        stock_id=str(c), start_date=a.strftime("%Y-%m-%d"), end_date=b.strftime("%Y-%m-%d")
                    ),
                    f"query for {code}",
                )
                if df is not None and len(df):
                    frames.append(df)
        if not frames:
            raise ProviderError(f"tw: FinMind returned no rows for {list(tickers)} between {start} and {end}")
        df = pd.concat(frames, ignore_index=True).rename(columns=_COLUMNS)
        if "spread" in df.columns:
            df["preclose"] = pd.to_numeric(df["close"]) - pd.to_numeric(df["spread"])
            df = df.drop(columns="spread")
        return finish(df, self.name, start=start, end=end, fields=fields)
