from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alphalab as al
from alphalab.data import DataQualityWarning, ValidationError, resolve_source
from alphalab.errors import DataError
from tests.conftest import shared_file

# name -> (rows, OHLC failures, n_dates, n_assets); counts from SOURCES.md.
OHLCV = {
    "us_sp500_5yr.parquet": (619_040, 12, 1259, 505),
    "vn30_2016_2019.parquet": (22_238, 7, None, 30),
    "vn30_index.parquet": (2_542, 0, 2542, 1),
    "vn_hose_2006_2020.parquet": (906_044, 238, None, 389),
    "vnindex_2000_2020.parquet": (4_918, 226, None, 1),
    "cn_ashare_sample_2017_2023.parquet": (1_135_560, 0, None, 980),
    "cn_indices_daily.parquet": (12_314, 0, None, 7),
}


def _lenient(source, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return al.load(source, mode="lenient", **kw)


@pytest.mark.parametrize("name", sorted(OHLCV))
def test_every_shared_ohlcv_dataset_loads(name: str) -> None:
    rows, n_bad, n_dates, n_assets = OHLCV[name]
    path = shared_file(name)
    if n_bad:
        with pytest.raises(ValidationError) as info:
            al.load(path)
        assert str(path) in str(info.value) and info.value.report.n_input == rows
    panel = _lenient(path, market="us")
    val = panel.meta["validation"]
    assert val["n_input"] == rows and val["n_dropped"] == n_bad
    assert panel.meta["source"] == str(path) and panel.meta["market"] == "us"
    assert panel.meta["source_kind"] == "file"
    assert panel.n_assets == n_assets
    if n_dates is not None:
        assert panel.n_dates == n_dates
    assert {"open", "high", "low", "close"} <= set(panel.field_names)
    assert int(np.isfinite(panel["close"]).sum()) == rows - n_bad


def test_vn_hose_lenient_counts() -> None:
    # Speed is measured in benchmarks/bench_data_load.py, never asserted here.
    path = shared_file("vn_hose_2006_2020.parquet")
    panel = _lenient(path, market="vn.hose")
    val = panel.meta["validation"]
    assert val["errors"] == {"close_out_of_range": 3, "open_out_of_range": 236}
    assert val["warnings"]["missing_open"] == 424 and val["warnings"]["missing_high"] == 74
    assert panel.shape == (3501, 389)


def test_lenient_drops_exactly_the_offending_cells() -> None:
    path = shared_file("us_sp500_5yr.parquet")
    raw = pd.read_parquet(path)
    panel = _lenient(path)
    bad = raw[raw["high"] < raw["low"]].iloc[0]
    j = panel.assets.get_loc(bad["ticker"])
    i = panel.dates.get_loc(pd.Timestamp(bad["date"]))
    assert np.isnan(panel["close"][i, j])
    assert np.isfinite(panel["close"][i - 1, j])


def test_embedded_sources() -> None:
    panel = al.load("sp500_20")
    assert panel.shape == (8313, 20) and panel.field_names == ["close"]
    assert panel.meta["adjusted"] is True and panel.meta["benchmark"] == "sp500_index"
    assert panel.meta["market"] == "us"
    with pytest.raises(DataError, match="columns= renames file or DataFrame columns"):
        al.load("sp500_20", columns={"Close": "close"})
    ohlcv = al.load("arch_nasdaq", start="2018-01-01")
    assert ohlcv.field_names == ["open", "high", "low", "close", "adj_close", "volume"]
    assert ohlcv.dates[0] == pd.Timestamp("2018-01-02") and ohlcv.assets.tolist() == ["^IXIC"]


def test_dataframe_source_with_mapping_and_selection(us_sp500_long: pd.DataFrame) -> None:
    df = us_sp500_long[us_sp500_long["ticker"].isin(["AAPL", "MSFT", "LNT"])]
    df = df.rename(columns={"ticker": "Name"})
    panel = al.load(
        df, columns={"Name": "ticker"}, tickers=["AAPL", "MSFT"], start="2017-01-01",
        end="2017-12-31", fields=["close", "volume"],
    )  # fmt: skip
    assert panel.assets.tolist() == ["AAPL", "MSFT"] and panel.field_names == ["close", "volume"]
    assert panel.dates[0] >= pd.Timestamp("2017-01-01")
    assert panel.dates[-1] <= pd.Timestamp("2017-12-31")
    assert panel.meta["source"] == "<DataFrame>"


def test_selection_avoids_bad_rows_elsewhere() -> None:
    # LNT and others break rules; AAPL alone is clean, so strict mode works.
    panel = al.load(shared_file("us_sp500_5yr.parquet"), tickers=["AAPL"])
    assert panel.assets.tolist() == ["AAPL"] and panel.n_dates == 1259


def test_unknown_field_and_ticker() -> None:
    with pytest.raises(DataError, match=r"field\(s\) 'open' not in the data"):
        al.load("sp500_index", fields=["open"])
    with pytest.raises(DataError, match="'NOPE'"):
        al.load("sp500_20", tickers=["AAPL", "NOPE"])


def test_csv_file_source(tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    p.write_text("Date,AAA,BBB\n2021-01-04,1,2\n2021-01-05,1.5,\n", encoding="utf-8")
    panel = al.load(p)
    assert panel.shape == (2, 2) and np.isnan(panel["close"][1, 1])
    assert "columns recognised: Date->date" in panel.meta["validation"]["notes"]


def test_unresolvable_source_lists_what_was_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "store"))
    with pytest.raises(DataError) as info:
        al.load("no_such_dataset")
    msg = str(info.value)
    assert "not an embedded dataset" in msg and "sp500_20" in msg and "no file at" in msg
    assert "store" in msg
    assert not (tmp_path / "store").exists()  # looking created nothing
    with pytest.raises(DataError, match="no file at"):
        al.load(tmp_path / "missing.parquet")
    with pytest.raises(DataError, match="DataFrame"):
        al.load(42)  # type: ignore[arg-type]


def test_store_dataset_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_mod = pytest.importorskip("alphalab.data.store")
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "store"))
    df = pd.read_parquet(shared_file("vn30_index.parquet"))
    store_mod.Store().write(df, "vn30i", market="vn.hose")
    assert resolve_source("vn30i") == "store"
    panel = al.load("vn30i", start="2019-01-01")
    assert panel.meta["source_kind"] == "store" and panel.meta["market"] == "vn.hose"
    assert panel.assets.tolist() == ["VN30"] and panel.dates[0] >= pd.Timestamp("2019-01-01")


def test_load_benchmark() -> None:
    spx = al.load_benchmark("sp500_index")
    assert spx.name == "SP500" and len(spx) == 8313 and spx.dtype == np.float64
    assert spx.index[0] == pd.Timestamp("1990-01-02") and spx.iloc[0] == pytest.approx(359.69)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        vni = al.load_benchmark(shared_file("vnindex_2000_2020.parquet"), mode="lenient")
    assert vni.name == "VNINDEX" and len(vni) == 4918 - 226
    with pytest.raises(DataError, match="holds 20 tickers; pass ticker="):
        al.load_benchmark("sp500_20")
    aapl = al.load_benchmark("sp500_20", ticker="AAPL")
    assert aapl.name == "AAPL"


def test_wide_dataframe_source_like_skfolio() -> None:
    from skfolio.datasets import load_sp500_dataset

    wide = load_sp500_dataset()  # DatetimeIndex named "Date", one column per ticker
    panel = al.load(wide, tickers=["AAPL", "XOM"])
    assert panel.shape == (8313, 2)
    np.testing.assert_array_equal(panel["close"][:, 0], wide["AAPL"].to_numpy())
    assert any("wide data melted" in n for n in panel.meta["validation"]["notes"])
    dup = wide.iloc[:, [0, 1, 0]]
    with pytest.raises(DataError, match="duplicate column name 'AAPL'"):
        al.load(dup)


def test_bad_dataframe_sources() -> None:
    with pytest.raises(ValidationError, match="no_rows"):
        al.load(pd.DataFrame({"date": [], "ticker": [], "close": []}))
    with pytest.raises(ValidationError, match=r"<DataFrame>.*missing_columns.*close"):
        al.load(pd.DataFrame({"date": ["2021-01-04"], "ticker": ["A"], "open": [1.0]}))
    with pytest.raises(DataError, match="no date column"):
        al.load(pd.DataFrame({"x": [1.0]}))
    mixed = pd.DataFrame(
        {
            "date": ["2021-01-04 00:00:00+07:00", "2021-01-05 00:00:00"],
            "ticker": ["A", "A"],
            "close": [1.0, 2.0],
        }
    )
    with pytest.raises(ValidationError, match="mixed_timezones"):
        al.load(mixed, mode="lenient")
    bad = pd.DataFrame({"date": ["2021-01-04", "2021-01-05"], "ticker": ["A", "A"],
                        "close": [1.0, 0.0]})  # fmt: skip
    with pytest.raises(ValidationError, match=r"non_positive_price.*row 2, ticker 'A'"):
        al.load(bad)


def test_nothing_left_after_lenient_drops() -> None:
    df = pd.DataFrame({"date": ["x", "y"], "ticker": ["A", "A"], "close": [1.0, 2.0]})
    with (
        warnings.catch_warnings(),
        pytest.raises(DataError, match=r"no valid rows left.*bad_date 2"),
    ):
        warnings.simplefilter("ignore", DataQualityWarning)
        al.load(df, mode="lenient")


# ------------------------------------------------------------ hostile input
def _small() -> pd.DataFrame:
    dates = pd.bdate_range("2021-01-04", periods=4)
    return pd.DataFrame(
        {
            "date": np.tile(dates, 2),
            "ticker": np.repeat(["AAPL", "MSFT"], 4),
            "close": 1.0 + np.arange(8),
        }
    )


def test_strings_for_tickers_and_fields_mean_one_item() -> None:
    panel = al.load(_small(), tickers="AAPL", fields="close")
    assert panel.assets.tolist() == ["AAPL"] and panel.field_names == ["close"]


def test_empty_field_list_is_refused() -> None:
    with pytest.raises(DataError, match="fields is empty"):
        al.load(_small(), fields=[])


def test_over_long_name_is_a_data_error_not_an_os_error() -> None:
    with pytest.raises(DataError, match="cannot find data source"):
        al.load("x" * 5000)


def test_frame_to_long_refuses_a_list() -> None:
    from alphalab.data.files import frame_to_long

    with pytest.raises(DataError, match="expected a pandas DataFrame, got list"):
        frame_to_long([1, 2, 3])


def test_wide_bool_frame_is_non_numeric() -> None:
    wide = pd.DataFrame({"A": [True, False]}, index=pd.bdate_range("2021-01-04", periods=2))
    with pytest.raises(ValidationError, match="non_numeric"):
        al.load(wide)


def test_extra_text_column_is_reported_not_silently_left_out() -> None:
    df = _small().assign(vwap=["1.5", "n/a", "2.5", "3.5", "1.0", "2.0", "3.0", "4.0"])
    with pytest.warns(DataQualityWarning, match="vwap"):
        panel = al.load(df)
    assert "vwap" not in panel.field_names
    assert any("vwap" in note for note in panel.meta["validation"]["notes"])
    with pytest.raises(DataError, match="'vwap' is not numeric"):
        al.load(df, fields=["close", "vwap"])
