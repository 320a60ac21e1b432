"""Providers over data already on this machine: files and the embedded sets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alphalab.data.providers.base import finish

__all__ = ["EmbeddedProvider", "FilesProvider"]


class FilesProvider:
    """Rows of a CSV or Parquet file (read and validated by :func:`read_file`)."""

    name = "files"

    def __init__(self, path: str | Path, *, market: str | None = None, mode: str = "lenient",
                 columns: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.market = market
        self.mode = mode
        self.columns = columns or None

    def fetch(self, tickers: Sequence[str] | None, start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        from alphalab.data.files import read_file

        df = read_file(self.path, mode=self.mode, columns=self.columns)  # type: ignore[arg-type]
        if tickers:
            df = df[df["ticker"].astype(str).isin([str(t) for t in tickers])]
        return finish(df, self.name, start=start, end=end, fields=fields)


class EmbeddedProvider:
    """An embedded dataset (:func:`alphalab.data.embedded.load_embedded`)."""

    name = "embedded"

    def __init__(self, dataset: str, *, market: str | None = None) -> None:
        self.dataset = dataset
        self.market = market

    def fetch(self, tickers: Sequence[str] | None, start: Any, end: Any,
              fields: Sequence[str] | None = None) -> pd.DataFrame:
        from alphalab.data.embedded import load_embedded

        df = load_embedded(self.dataset)
        if tickers:
            df = df[df["ticker"].astype(str).isin([str(t) for t in tickers])]
        return finish(df, self.name, start=start, end=end, fields=fields)
