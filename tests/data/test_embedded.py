from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from alphalab.data.embedded import (
    EMBEDDED,
    MissingDependencyError,
    list_embedded,
    load_embedded,
)
from alphalab.data.validation import validate_prices
from alphalab.errors import AlphalabError, DataError


@pytest.mark.parametrize("name", sorted(EMBEDDED))
def test_description_matches_the_data(name: str) -> None:
    info = EMBEDDED[name]
    df = load_embedded(name)
    assert list(df.columns) == ["date", "ticker", *info.fields]
    assert tuple(sorted(df["ticker"].unique())) == tuple(sorted(info.tickers))
    assert df["date"].min() == pd.Timestamp(info.start)
    assert df["date"].max() == pd.Timestamp(info.end)
    assert df["date"].nunique() == info.n_dates
    clean, rep = validate_prices(df, source=name)
    assert rep.ok and len(clean) == len(df)


def test_list_embedded() -> None:
    table = list_embedded()
    assert table["name"].tolist() == list(EMBEDDED)
    row = table.set_index("name").loc["sp500_20"]
    assert row["n_tickers"] == 20 and row["fields"] == "close" and row["benchmark"] == "sp500_index"
    assert table.set_index("name").loc["arch_nasdaq", "extra"] == "vol"


def test_sp500_20_matches_skfolio_wide_frame() -> None:
    from skfolio.datasets import load_sp500_dataset

    wide = load_sp500_dataset()
    long = load_embedded("sp500_20")
    back = long.pivot(index="date", columns="ticker", values="close")
    np.testing.assert_array_equal(back[wide.columns].to_numpy(), wide.to_numpy())


def test_arch_adj_close_equals_close() -> None:
    for name in ("arch_sp500", "arch_nasdaq"):
        df = load_embedded(name)
        np.testing.assert_array_equal(df["adj_close"].to_numpy(), df["close"].to_numpy())
        assert (df["high"] >= df["low"]).all()


def test_unknown_name() -> None:
    with pytest.raises(DataError, match=r"unknown embedded dataset 'sp501'.*sp500_20"):
        load_embedded("sp501")


def test_missing_arch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for mod in [m for m in sys.modules if m == "arch" or m.startswith("arch.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "arch", None)  # import arch -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install alphalab\[vol\]") as info:
        load_embedded("arch_sp500")
    assert isinstance(info.value, ImportError) and isinstance(info.value, AlphalabError)
    # The skfolio sets do not need arch.
    assert len(load_embedded("sp500_index")) == 8313


def test_embedded_data_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("embedded data tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in EMBEDDED:
        assert len(load_embedded(name)) > 5000
