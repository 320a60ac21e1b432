"""Vietnam (HOSE / HNX / UPCoM) through VNDIRECT's public price API.

The ``finfo-api.vndirect.com.vn/v4/stock_prices`` endpoint is the one the
MIT-licensed ``vnquant`` package reads; it is called here with the standard
library, so no extra package is needed. (``vnstock`` 3.x is not used: its
licence forbids commercial use.) Check VNDIRECT's terms before redistributing
the data.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from alphalab.data.providers.base import ProviderError, finish, provider_failure

__all__ = ["API_URL", "VNDirectProvider", "urllib_transport"]

API_URL = "https://finfo-api.vndirect.com.vn/v4/stock_prices"
Transport = Callable[[str, dict[str, Any]], dict[str, Any]]

_RAW = {"open": "open", "high": "high", "low": "low", "close": "close"}
_ADJ = {"adOpen": "open", "adHigh": "high", "adLow": "low", "adClose": "close"}


def urllib_transport(url: str, params: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    """GET ``url?params`` and decode the JSON reply (standard library only)."""
    req = urllib.request.Request(
        f"{url}?{urllib.parse.urlencode(params)}", headers={"User-Agent": "alphalab"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


class VNDirectProvider:
    """Daily bars for Vietnamese tickers, page by page.

    Parameters
    ----------
    transport : callable, optional
        ``transport(url, params) -> dict`` (the decoded JSON reply); default
        :func:`urllib_transport`.
    adjusted : bool
        Use VNDIRECT's adjusted prices (``adClose`` ...) instead of raw ones.
    page_size : int
        Rows per request; the provider follows ``totalPages``.

    Notes
    -----
    Prices are in thousand VND. ``basicPrice`` (the exchange reference price)
    becomes ``preclose``; ``volume`` is the matched volume (``nmVolume``).
    """

    name = "vn"

    def __init__(self, transport: Transport | None = None, *, adjusted: bool = False,
                 page_size: int = 1000, market: str | None = "vn.hose") -> None:
        self.transport = transport or urllib_transport
        self.adjusted = adjusted
        self.page_size = page_size
        self.market = market

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            reply = self.transport(API_URL, params)
        except Exception as exc:
            raise provider_failure(
                self.name, exc, "finfo-api.vndirect.com.vn", "vn: VNDIRECT request failed"
            ) from None
        if not isinstance(reply, dict) or "data" not in reply:
            detail = reply.get("message") or reply.get("error") if isinstance(reply, dict) else reply
            raise ProviderError(f"vn: unexpected VNDIRECT reply: {str(detail)[:200]}")
        return reply

    def fetch(self, tickers: Sequence[str], start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        lo = pd.Timestamp(start).strftime("%Y-%m-%d")
        hi = pd.Timestamp(end).strftime("%Y-%m-%d")
        rows: list[dict[str, Any]] = []
        for code in tickers:
            page = 1
            while True:
                reply = self._get({
                    "sort": "date", "size": self.page_size, "page": page,
                    "q": f"code:{code}~date:gte:{lo}~date:lte:{hi}",
                })
                rows.extend(reply["data"])
                total = int(reply.get("totalPages") or 1)
                if page >= total or not reply["data"]:
                    break
                page += 1
        if not rows:
            raise ProviderError(f"vn: VNDIRECT returned no rows for {list(tickers)} between {lo} and {hi}")
        return finish(self.parse(rows, adjusted=self.adjusted), self.name, start=start, end=end, fields=fields)

    @staticmethod
    def parse(rows: list[dict[str, Any]], *, adjusted: bool = False) -> pd.DataFrame:
        """VNDIRECT records -> long ``date, ticker, open, high, low, close, preclose, volume, value``."""
        raw = pd.DataFrame(rows)
        prices = _ADJ if adjusted else _RAW
        missing = [c for c in ("code", "date", *prices, "nmVolume") if c not in raw.columns]
        if missing:
            raise ProviderError(f"vn: VNDIRECT reply lacks {missing}")
        out = pd.DataFrame({"date": raw["date"], "ticker": raw["code"]})
        for src, dst in prices.items():
            out[dst] = raw[src]
        if not adjusted and "basicPrice" in raw.columns:
            out["preclose"] = raw["basicPrice"]
        out["volume"] = raw["nmVolume"]
        if "nmValue" in raw.columns:
            out["value"] = raw["nmValue"]
        return out
