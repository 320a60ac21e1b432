"""Property tests of the CSV and Parquet readers: what is written comes back, or a clear error.

Any long frame of (date, ticker, close, volume) written as CSV (``,``, ``;`` or
tab) or Parquet and read back by :func:`alphalab.data.files.read_file`, or
imported into the store, gives the same tickers (as strings, leading zeros
kept), dates and values; anything the reader refuses is a :class:`DataError`.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphalab.data.files import read_file
from alphalab.errors import DataError

TICKER = st.text(alphabet=string.ascii_uppercase + string.digits + "._-", min_size=1, max_size=8)
PRICE = st.floats(min_value=1e-4, max_value=1e9, allow_nan=False, allow_infinity=False)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    tickers = draw(st.lists(TICKER, min_size=1, max_size=4, unique=True))
    n_dates = draw(st.integers(1, 6))
    start = draw(st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-01-01").date()))
    dates = pd.bdate_range(start, periods=n_dates)
    rows = [(d, t) for d in dates for t in tickers]
    close = draw(st.lists(PRICE, min_size=len(rows), max_size=len(rows)))
    volume = draw(st.lists(st.integers(0, 10**9), min_size=len(rows), max_size=len(rows)))
    return pd.DataFrame(
        {"date": [d for d, _ in rows], "ticker": [t for _, t in rows], "close": close,
         "volume": np.asarray(volume, dtype=float)}
    )  # fmt: skip


def _same(df: pd.DataFrame, back: pd.DataFrame) -> None:
    key = ["date", "ticker"]
    a = df.sort_values(key).reset_index(drop=True)
    b = back.sort_values(key).reset_index(drop=True)
    assert b["ticker"].map(type).eq(str).all()
    assert b["ticker"].tolist() == a["ticker"].tolist()
    assert (pd.to_datetime(b["date"]).to_numpy() == pd.to_datetime(a["date"]).to_numpy()).all()
    assert np.array_equal(b["close"].to_numpy(float), a["close"].to_numpy(float))
    assert np.array_equal(b["volume"].to_numpy(float), a["volume"].to_numpy(float))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames(), fmt=st.sampled_from(["csv", "csv;", "tsv", "parquet", "csv.gz"]))
def test_written_frames_read_back_exactly(df: pd.DataFrame, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        if fmt == "parquet":
            path = Path(d) / "f.parquet"
            df.to_parquet(path, index=False)
        else:
            suffix = {"csv;": "csv", "tsv": "tsv"}.get(fmt, fmt)
            sep = {"csv;": ";", "tsv": "\t"}.get(fmt, ",")
            path = Path(d) / f"f.{suffix}"
            # repr-exact floats: what the file says is what comes back.
            df.assign(date=df["date"].dt.strftime("%Y-%m-%d")).to_csv(
                path, index=False, sep=sep, float_format="%r"
            )
        try:
            back = read_file(path)
        except DataError:
            return  # refusing is allowed; a wrong answer is not
        _same(df, back)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames())
def test_store_round_trip_keeps_tickers_dates_values(df: pd.DataFrame) -> None:
    from alphalab.data.store import Store

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        df.assign(date=df["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False, float_format="%r")
        store = Store(Path(d) / "home")
        try:
            store.import_file(path, "p")
        except DataError:
            return
        _same(df, store.read_table("p"))
        panel = store.load("p")
        assert sorted(panel.assets) == sorted(df["ticker"].unique())
