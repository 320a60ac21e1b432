"""China A-shares through ``baostock`` (the ``data`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from alphalab.data.providers.base import (
    ProviderError,
    finish,
    network_error,
    provider_failure,
    require_module,
)

__all__ = ["BaostockProvider"]

K_FIELDS = "date,code,open,high,low,close,preclose,volume,amount,turn,tradestatus,pctChg,isST"


class BaostockProvider:
    """Daily k-line bars from baostock (``query_history_k_data_plus``).

    Parameters
    ----------
    client : object, optional
        The ``baostock`` module or anything with its ``login()``,
        ``query_history_k_data_plus(...)`` and ``logout()``; a result set has
        ``error_code``, ``error_msg``, ``fields``, ``next()`` and
        ``get_row_data()`` (rows arrive page by page as strings).
    adjustflag : {"3", "2", "1"}
        "3" raw (default; adjust later with ``adjust_from_preclose``),
        "2" forward-adjusted, "1" backward-adjusted.
    """

    name = "cn"

    def __init__(self, client: Any = None, *, adjustflag: str = "3", market: str | None = "cn") -> None:
        if adjustflag not in ("1", "2", "3"):
            raise ProviderError(f"cn: adjustflag must be '1', '2' or '3', got {adjustflag!r}")
        self._client = client
        self.adjustflag = adjustflag
        self.market = market

    @property
    def adjusted(self) -> str:
        return "raw" if self.adjustflag == "3" else "adjusted"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = require_module("baostock", self.name)
        return self._client

    def _check(self, result: Any, what: str) -> None:
        code = str(getattr(result, "error_code", "0"))
        if code == "0":
            return
        msg = str(getattr(result, "error_msg", ""))
        # baostock reports socket failures as 1000200x codes with a 网络 (network) message.
        if code.startswith("10002") or "网络" in msg or "network" in msg.lower():
            raise network_error(self.name, ConnectionError(f"{code} {msg}"), "baostock.com")
        if what == "login":
            raise ProviderError(f"cn: baostock login refused: {code} {msg}")
        raise ProviderError(f"cn: baostock {what} failed: {code} {msg}")

    def fetch(self, tickers: Sequence[str], start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        bs = self.client
        try:
            self._check(bs.login(), "login")
            frames = []
            for code in tickers:
                rs = bs.query_history_k_data_plus(
                    str(code), K_FIELDS,
                    start_date=pd.Timestamp(start).strftime("%Y-%m-%d"),
                    end_date=pd.Timestamp(end).strftime("%Y-%m-%d"),
                    frequency="d", adjustflag=self.adjustflag,
                )
                self._check(rs, f"query for {code}")
                rows = []
                # next() pulls the following page from the server when one is used up.
                while rs.next():
                    rows.append(rs.get_row_data())
                self._check(rs, f"paging for {code}")
                frames.append(pd.DataFrame(rows, columns=list(rs.fields)))
        except ProviderError:
            raise
        except Exception as exc:
            raise provider_failure(self.name, exc, "baostock.com", "cn: baostock failed") from None
        finally:
            try:
                bs.logout()
            except Exception:  # logging out of a dead session is not an error worth raising
                pass
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=K_FIELDS.split(","))
        df = df.rename(columns={"code": "ticker"}).drop(columns=["pctChg"], errors="ignore")
        return finish(df, self.name, start=start, end=end, fields=fields)
