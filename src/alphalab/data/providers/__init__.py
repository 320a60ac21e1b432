"""Data providers behind one interface, and fetching into the store.

``get_provider(name, **options)`` builds one of:

========== ============================== ==================================
name       source                         needs
========== ============================== ==================================
files      a CSV / Parquet file           nothing
embedded   an embedded dataset            nothing
yahoo      Yahoo Finance                  ``yfinance`` (``data`` extra)
cn         baostock (China A-shares)      ``baostock`` (``data`` extra)
tw         FinMind (Taiwan)               ``FinMind`` (``data`` extra)
vn         VNDIRECT public API (Vietnam)  nothing (standard library HTTP)
fiinquant  FiinQuantX (commercial)        the user's ``FiinQuantX`` install
========== ============================== ==================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from alphalab.data.parsing import parse_dates
from alphalab.data.providers.baostock import BaostockProvider
from alphalab.data.providers.base import (
    OHLCV,
    Provider,
    ProviderError,
    date_chunks,
    finish,
    year_chunks,
)
from alphalab.data.providers.fiinquant import FiinQuantProvider
from alphalab.data.providers.finmind import FinMindProvider
from alphalab.data.providers.local import EmbeddedProvider, FilesProvider
from alphalab.data.providers.vndirect import VNDirectProvider
from alphalab.data.providers.yahoo import YahooProvider

__all__ = [
    "OHLCV",
    "PROVIDERS",
    "BaostockProvider",
    "EmbeddedProvider",
    "FiinQuantProvider",
    "FilesProvider",
    "FinMindProvider",
    "Provider",
    "ProviderError",
    "VNDirectProvider",
    "YahooProvider",
    "date_chunks",
    "fetch_into_store",
    "finish",
    "get_provider",
    "update_dataset",
    "year_chunks",
]

PROVIDERS: dict[str, type] = {
    "files": FilesProvider,
    "embedded": EmbeddedProvider,
    "yahoo": YahooProvider,
    "cn": BaostockProvider,
    "tw": FinMindProvider,
    "vn": VNDirectProvider,
    "fiinquant": FiinQuantProvider,
}
_ALIASES = {"baostock": "cn", "finmind": "tw", "vndirect": "vn", "yfinance": "yahoo", "file": "files"}


def get_provider(name: str, **options: Any) -> Provider:
    """A provider by name (see the module table); options go to its constructor."""
    key = _ALIASES.get(name.lower(), name.lower())
    try:
        cls = PROVIDERS[key]
    except KeyError:
        raise ProviderError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}") from None
    return cls(**options)


def _spec(provider: Any, options: dict[str, Any]) -> dict[str, Any]:
    """What the catalogue keeps to rebuild the provider for `data update` (no secrets)."""
    safe = {k: v for k, v in options.items() if k not in ("password", "token", "client", "session", "transport")}
    return {"name": provider.name, "options": safe}


def fetch_into_store(
    store: Any,
    provider: Provider,
    tickers: Sequence[str],
    start: Any,
    end: Any,
    name: str,
    *,
    fields: Sequence[str] | None = None,
    adjusted: str | None = None,
    options: dict[str, Any] | None = None,
    replace: bool = False,
) -> Any:
    """Fetch from ``provider`` and store the rows as dataset ``name``.

    ``options`` are the provider's constructor options, kept (without
    passwords or tokens) in the catalogue so that ``data update`` can fetch
    the missing dates later.
    """
    df = provider.fetch(list(tickers), start, end, fields)
    if df.empty:
        raise ProviderError(f"{provider.name}: no rows to store for {name!r}")
    state = adjusted or getattr(provider, "adjusted", None)
    if isinstance(state, bool):
        state = "adjusted" if state else "raw"
    meta = {"provider": _spec(provider, options or {}), "tickers": [str(t) for t in tickers],
            "fields": list(fields) if fields is not None else None}
    return store.write(df, name, source=f"provider:{provider.name}", market=provider.market,
                       adjusted=state or "unknown", meta=meta, replace=replace)


def update_dataset(
    store: Any,
    name: str,
    *,
    provider: Provider | None = None,
    end: Any = None,
) -> tuple[Any, int]:
    """Fetch only the dates after dataset ``name``'s last stored date and append them.

    Returns
    -------
    (DatasetInfo, int)
        The new catalogue row and the number of rows added (0: up to date).

    Raises
    ------
    ProviderError
        The dataset does not record a provider and none was given.
    """
    info = store.info(name)
    if provider is None:
        spec = info.meta.get("provider")
        if spec is None and str(info.source or "").startswith("file:") and "file" in info.meta:
            provider = FilesProvider(info.meta["file"], market=info.market, columns=info.meta.get("mapping"))
        elif spec is None:
            raise ProviderError(
                f"dataset {name!r} was not fetched from a provider (source {info.source!r}); "
                "re-import it or pass a provider"
            )
        else:
            provider = get_provider(spec["name"], **spec.get("options", {}))
    end_ts = (
        pd.Timestamp(parse_dates(pd.Series([end]), "update end", required=True).iloc[0]).normalize()
        if end is not None
        else pd.Timestamp.today().normalize()
    )
    start_ts = (info.end_date or pd.Timestamp("1900-01-01")) + pd.Timedelta(days=1)
    if start_ts > end_ts:
        return info, 0
    # A provider is asked for the tickers it was asked for; a file gives them all.
    tickers = None if isinstance(provider, FilesProvider) else (info.meta.get("tickers") or info.tickers)
    fields = info.meta.get("fields")
    new = provider.fetch(tickers, start_ts, end_ts, fields)
    new = new[new["date"] > info.end_date] if info.end_date is not None else new
    if new.empty:
        return info, 0
    updated = store.append(name, new)
    return updated, int(updated.n_rows - info.n_rows)
