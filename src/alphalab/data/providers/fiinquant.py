"""Adapter for the commercial FiinQuantX client (used when the user has it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from alphalab.data.providers.base import (
    ProviderError,
    finish,
    provider_failure,
    require_module,
)

__all__ = ["FIIN_FIELDS", "FiinQuantProvider"]

#: Fields FiinQuantX serves for daily trading data; bu/sd = active buy/sell
#: volume, fb/fs/fn = foreign buy/sell/net volume.
FIIN_FIELDS = ("open", "high", "low", "close", "volume", "bu", "sd", "fb", "fs", "fn")


class FiinQuantProvider:
    """Daily bars (and order-flow fields) from FiinQuantX.

    Parameters
    ----------
    username, password : str, optional
        Credentials for ``FiinSession(...).login()``.
    session : object, optional
        An already logged-in session (anything with ``Fetch_Trading_Data``);
        skips the login. Tests inject a fake built from recorded data.
    adjusted : bool
        Ask FiinQuantX for adjusted prices.
    """

    name = "fiinquant"

    def __init__(self, username: str | None = None, password: str | None = None, *,
                 session: Any = None, adjusted: bool = True, market: str | None = "vn.hose",
                 module: Any = None) -> None:
        self.username, self.password = username, password
        self._session = session
        self._module = module
        self.adjusted = adjusted
        self.market = market

    @property
    def session(self) -> Any:
        if self._session is None:
            mod = self._module or require_module(
                "FiinQuantX", self.name,
                hint="it is FiinGroup's commercial client: install it from your FiinQuant account",
            )
            if not self.username or not self.password:
                raise ProviderError("fiinquant: username and password are required to log in")
            try:
                self._session = mod.FiinSession(username=self.username, password=self.password).login()
            except Exception as exc:
                raise provider_failure(self.name, exc, "FiinQuant servers", "fiinquant: login refused") from None
            if self._session is None:
                raise ProviderError("fiinquant: login refused (no session returned)")
        return self._session

    def fetch(self, tickers: Sequence[str], start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        want = list(fields) if fields is not None else list(FIIN_FIELDS)
        unknown = [f for f in want if f not in FIIN_FIELDS]
        if unknown:
            raise ProviderError(f"fiinquant: unknown field(s) {unknown}; known: {', '.join(FIIN_FIELDS)}")
        try:
            raw = self.session.Fetch_Trading_Data(
                realtime=False, tickers=[str(t) for t in tickers], fields=want,
                adjusted=self.adjusted, by="1d",
                from_date=pd.Timestamp(start).strftime("%Y-%m-%d"),
                to_date=pd.Timestamp(end).strftime("%Y-%m-%d"),
            ).get_data()
        except ProviderError:
            raise
        except Exception as exc:
            raise provider_failure(
                self.name, exc, "FiinQuant servers", "fiinquant: Fetch_Trading_Data failed"
            ) from None
        if raw is None or len(raw) == 0:
            raise ProviderError(f"fiinquant: no rows for {list(tickers)} between {start} and {end}")
        df = raw.rename(columns={"timestamp": "date"})
        return finish(df, self.name, start=start, end=end, fields=want)
