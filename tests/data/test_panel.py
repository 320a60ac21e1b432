from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab import DataError, Panel


def _long() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2020-01-02", "2020-01-02", "2020-01-03", "2020-01-06"]),
            "ticker": ["B", "A", "A", "B"],
            "close": [10.0, 20.0, 21.0, 11.0],
            "volume": [100, 200, 300, 400],
        }
    )


def test_from_long_roundtrip() -> None:
    p = Panel.from_long(_long())
    assert p.shape == (3, 2)
    assert list(p.assets) == ["A", "B"]
    assert p["close"][0].tolist() == [20.0, 10.0]
    assert np.isnan(p["close"][1, 1])
    back = p.to_long()
    assert len(back) == 4
    again = Panel.from_long(back)
    assert again.data_hash() == p.data_hash()


def test_duplicate_rows_rejected() -> None:
    df = pd.concat([_long(), _long().iloc[:1]])
    with pytest.raises(DataError, match=r"duplicated \(date, ticker\) row: \(2020-01-02, 'B'\)"):
        Panel.from_long(df)


def test_missing_columns_and_fields() -> None:
    with pytest.raises(DataError, match="ticker"):
        Panel.from_long(_long().drop(columns="ticker"))
    p = Panel.from_long(_long())
    with pytest.raises(KeyError, match="no field 'open'"):
        p["open"]
    with pytest.raises(DataError, match="open"):
        p.require("close", "open")


def test_shape_and_order_checks() -> None:
    dates = pd.date_range("2020-01-01", periods=3)
    with pytest.raises(DataError, match="shape"):
        Panel({"close": np.ones((2, 2))}, dates, ["a", "b"])
    with pytest.raises(DataError, match="sorted"):
        Panel({"close": np.ones((3, 1))}, dates[::-1], ["a"])
    with pytest.raises(DataError, match="duplicate"):
        Panel({"close": np.ones((3, 2))}, dates, ["a", "a"])


def test_slices_are_views_and_read_only() -> None:
    dates = pd.date_range("2020-01-01", periods=5)
    base = np.arange(10.0).reshape(5, 2)
    p = Panel({"close": base}, dates, ["a", "b"])
    s = p.slice_dates("2020-01-02", "2020-01-04")
    assert s.shape == (3, 2)
    assert np.shares_memory(s["close"], base)
    a = p.select_assets(["b"])
    assert np.shares_memory(a["close"], base)
    with pytest.raises(ValueError):
        p["close"][0, 0] = 1.0
    assert p.until("2020-01-02").n_dates == 2
    with pytest.raises(DataError, match="unknown asset"):
        p.select_assets(["zz"])


def test_timezone_aware_dates_are_normalised() -> None:
    df = _long()
    df["date"] = df["date"].dt.tz_localize("UTC")
    p = Panel.from_long(df)
    assert p.dates.tz is None


def test_non_numeric_field_rejected() -> None:
    df = _long()
    df["close"] = df["close"].astype(object)
    df.loc[0, "close"] = "abc"
    with pytest.raises(DataError, match="close"):
        Panel.from_long(df, ["close"])


def test_asian_timestamps_keep_their_trading_date() -> None:
    df = _long()
    df["date"] = df["date"].dt.tz_localize("Asia/Ho_Chi_Minh")
    p = Panel.from_long(df)
    assert p.dates[0] == pd.Timestamp("2020-01-02")
    idx = pd.date_range("2020-01-02", periods=2, tz="Asia/Shanghai")
    assert Panel({"close": np.ones((2, 1))}, idx, ["a"]).dates[0] == pd.Timestamp("2020-01-02")
