from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab.data.files import read_file, read_file_with_report
from alphalab.data.validation import DataQualityWarning, ValidationError
from alphalab.errors import DataError
from tests.conftest import shared_file

LONG_CSV = """Date,Symbol,Open,High,Low,Close,Adj Close,Volume
2021-01-04,AAA,9.9,10.3,9.7,10.0,9.5,1000
2021-01-05,AAA,10.4,10.8,10.2,10.5,10.0,2000
2021-01-04,000001,20.0,20.5,19.5,20.1,20.1,300
2021-01-05,000001,20.1,20.9,19.9,20.6,20.6,400
"""

WIDE_CSV = """date,AAA,BBB,LOW
2021-01-04,10.0,,5.0
2021-01-05,10.5,20.0,5.1
2021-01-06,,20.2,5.2
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_long_csv_standard_names_recognised_and_reported(tmp_path: Path) -> None:
    p = _write(tmp_path, "prices.csv", LONG_CSV)
    df, rep = read_file_with_report(p)
    assert list(df.columns) == [
        "date",
        "ticker",
        "open",
        "high",
        "low",
        "close",
        "adj_close",
        "volume",
    ]
    # Text tickers keep their leading zeros.
    assert sorted(set(df["ticker"])) == ["000001", "AAA"]
    assert df["close"].dtype == np.float64 and df["date"].dtype == "datetime64[ns]"
    np.testing.assert_allclose(df["adj_close"].to_numpy(), [9.5, 10.0, 20.1, 20.6])
    notes = " ".join(rep.notes)
    assert "Date->date" in notes and "Symbol->ticker" in notes and "Adj Close->adj_close" in notes
    assert "layout detected: long" in notes


def test_explicit_mapping_wins_and_other_columns_are_kept(tmp_path: Path) -> None:
    text = "day,Name,px,extra\n2021-01-04,AAA,10,x\n2021-01-05,AAA,11,y\n"
    p = _write(tmp_path, "p.csv", text)
    df, rep = read_file_with_report(p, columns={"px": "close", "Name": "ticker"})
    assert df["close"].tolist() == [10.0, 11.0] and df["extra"].tolist() == ["x", "y"]
    assert "columns mapped as given: px->close, Name->ticker" in rep.notes
    assert "day->date" in " ".join(rep.notes)


def test_mapping_naming_an_absent_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", LONG_CSV)
    with pytest.raises(DataError, match=r"p\.csv.*'Px'.*lacks"):
        read_file(p, columns={"Px": "close"})


def test_mapping_that_clashes(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", "date,ticker,close,last\n2021-01-04,A,1,2\n")
    with pytest.raises(DataError, match="would all be named 'close'"):
        read_file(p, columns={"last": "close"})


def test_wide_csv(tmp_path: Path) -> None:
    p = _write(tmp_path, "wide.csv", WIDE_CSV)
    # "LOW" is a field name: a wide layout is never inferred from it (issue 18) ...
    with pytest.raises(DataError, match=r"'LOW' are price-field names.*layout='wide'"):
        read_file_with_report(p)
    # ... but it is a ticker (Lowe's) when the caller says the file is wide.
    df, rep = read_file_with_report(p, layout="wide")
    assert sorted(set(df["ticker"])) == ["AAA", "BBB", "LOW"]
    assert len(df) == 7  # 9 cells, 2 empty
    assert any("2 empty cell(s)" in n for n in rep.notes)
    assert rep.warnings == {"ticker_whitespace": 0}


def test_wide_row_numbers_point_at_the_file_row(tmp_path: Path) -> None:
    p = _write(tmp_path, "wide.csv", WIDE_CSV.replace("20.2", "-20.2"))
    with pytest.raises(ValidationError) as info:
        read_file(p, layout="wide")
    assert info.value.rows == [3] and "ticker 'BBB'" in str(info.value)


def test_wide_field_other_than_close(tmp_path: Path) -> None:
    p = _write(tmp_path, "vol.csv", "date,AAA\n2021-01-04,100\n2021-01-05,200\n")
    df = read_file(p, layout="wide", field="volume")
    assert list(df.columns) == ["date", "ticker", "volume"] and df["volume"].sum() == 300


def test_wide_file_with_duplicate_column_names(tmp_path: Path) -> None:
    p = _write(tmp_path, "dup.csv", "date,AAA,BBB,AAA\n2021-01-04,1,2,3\n")
    with pytest.raises(DataError, match=r"duplicate column name 'AAA' \(columns 2, 4\)"):
        read_file(p)


def test_parquet_long_and_wide(tmp_path: Path) -> None:
    long = pd.DataFrame(
        {
            "date": pd.to_datetime(["2021-01-04", "2021-01-05"]),
            "ticker": ["A", "A"],
            "close": [1.0, 2.0],
        }
    )
    long.to_parquet(tmp_path / "l.parquet")
    assert read_file(tmp_path / "l.parquet")["close"].tolist() == [1.0, 2.0]
    wide = long.pivot(index="date", columns="ticker", values="close").reset_index()
    wide.columns.name = None
    wide.to_parquet(tmp_path / "w.pq")
    out = read_file(tmp_path / "w.pq", layout="wide")
    assert out["ticker"].tolist() == ["A", "A"] and out["close"].tolist() == [1.0, 2.0]


def test_gzip_csv(tmp_path: Path) -> None:
    p = tmp_path / "p.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(LONG_CSV)
    assert len(read_file(p)) == 4


def test_real_vn30_roundtrip_through_csv(tmp_path: Path) -> None:
    src = pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
    p = tmp_path / "vn30.csv"
    src.to_csv(p, index=False)
    with pytest.raises(ValidationError, match="close_out_of_range"):
        read_file(p)
    with pytest.warns(DataQualityWarning):
        df, rep = read_file_with_report(p, mode="lenient")
    assert rep.n_dropped == 7 and len(df) == len(src) - 7
    np.testing.assert_allclose(
        df.groupby("ticker")["close"].sum().sort_index().to_numpy(),
        src.drop(index=rep.dropped["row"].to_numpy() - 1)
        .groupby("ticker")["close"]
        .sum()
        .sort_index()
        .to_numpy(),
    )


# ----------------------------------------------------------------- bad input
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_file(tmp_path / "nope.csv")


def test_directory(tmp_path: Path) -> None:
    d = tmp_path / "d.csv"
    d.mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_file(d)


@pytest.mark.parametrize("name", ["prices.xlsx", "prices.json", "prices"])
def test_wrong_suffix(tmp_path: Path, name: str) -> None:
    p = _write(tmp_path, name, LONG_CSV)
    with pytest.raises(DataError, match="unsupported file type"):
        read_file(p)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        read_file(_write(tmp_path, "e.csv", ""))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no_rows") as info:
        read_file(_write(tmp_path, "h.csv", "date,ticker,close\n"))
    assert "h.csv" in str(info.value)
    with pytest.raises(DataError, match="no_rows"):
        read_file(_write(tmp_path, "hw.csv", "date,AAA,BBB\n"))


def test_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"m\.csv.*missing_columns.*close"):
        read_file(_write(tmp_path, "m.csv", "date,ticker,open\n2021-01-04,A,1\n"))
    with pytest.raises(DataError, match="no date column"):
        read_file(_write(tmp_path, "n.csv", "when,ticker,close\n2021-01-04,A,1\n"))


def test_bad_dates_name_the_row(tmp_path: Path) -> None:
    text = "date,ticker,close\n2021-01-04,A,1\n2021-13-45,A,2\nyesterday,A,3\n"
    p = _write(tmp_path, "d.csv", text)
    with pytest.raises(ValidationError, match=r"bad_date.*row 2.*'2021-13-45'.*row 3") as info:
        read_file(p)
    assert info.value.count == 2
    with pytest.warns(DataQualityWarning):
        df = read_file(p, mode="lenient")
    assert len(df) == 1


def test_duplicated_rows(tmp_path: Path) -> None:
    text = "date,ticker,close\n2021-01-04,A,1\n2021-01-04,A,1\n2021-01-05,A,2\n"
    with pytest.raises(ValidationError, match=r"duplicate_row.*row 2"):
        read_file(_write(tmp_path, "d.csv", text))


def test_unsorted(tmp_path: Path) -> None:
    text = "date,ticker,close\n2021-01-05,A,1\n2021-01-04,A,2\n"
    p = _write(tmp_path, "u.csv", text)
    with pytest.raises(ValidationError, match=r"unsorted.*row 2"):
        read_file(p)
    with pytest.warns(DataQualityWarning, match="unsorted 1"):
        df = read_file(p, mode="lenient")
    assert df["close"].tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    ("cell", "rule"),
    [("0", "non_positive_price"), ("-3", "non_positive_price"), ("inf", "non_finite_price"),
     ("1e400", "non_finite_price"), ("12,5", "non_numeric"), ("abc", "non_numeric")],
)  # fmt: skip
def test_bad_prices(tmp_path: Path, cell: str, rule: str) -> None:
    text = f'date,ticker,close\n2021-01-04,A,1\n2021-01-05,A,"{cell}"\n'
    with pytest.raises(ValidationError, match=rf"{rule}.*row 2, ticker 'A', date"):
        read_file(_write(tmp_path, "p.csv", text))


def test_ohlc_inconsistent(tmp_path: Path) -> None:
    head = "date,ticker,open,high,low,close\n"
    with pytest.raises(ValidationError, match="high_below_low"):
        read_file(_write(tmp_path, "a.csv", head + "2021-01-04,A,1,1,2,1.5\n"))
    with pytest.raises(ValidationError, match="close_out_of_range"):
        read_file(_write(tmp_path, "b.csv", head + "2021-01-04,A,1,2,0.5,2.5\n"))


def test_mixed_timezones_in_file(tmp_path: Path) -> None:
    text = "date,ticker,close\n2021-01-04 00:00:00+07:00,A,1\n2021-01-05 00:00:00,A,2\n"
    with pytest.raises(ValidationError, match="mixed_timezones"):
        read_file(_write(tmp_path, "tz.csv", text), mode="lenient")


def test_hostile_tickers_in_file(tmp_path: Path) -> None:
    long_name = "Q" * 500
    text = (
        "date,ticker,close\n"
        "2021-01-04,../../evil,1\n2021-01-04,Ⓐ股票,2\n"
        f"2021-01-04,{long_name},3\n"
    )
    p = _write(tmp_path, "t.csv", text)
    with pytest.raises(ValidationError, match=r"bad_ticker.*row 3") as info:
        read_file(p)
    assert long_name not in str(info.value)
    with pytest.warns(DataQualityWarning):
        df = read_file(p, mode="lenient")
    assert sorted(df["ticker"]) == ["../../evil", "Ⓐ股票"]
    assert sorted(p.parent.iterdir()) == [p]  # a ticker never becomes a file


def test_ragged_csv(tmp_path: Path) -> None:
    text = "date,ticker,close\n2021-01-04,A,1\n2021-01-05,A,2,9,9\n"
    with pytest.raises(DataError, match=r"r\.csv: cannot parse as CSV"):
        read_file(_write(tmp_path, "r.csv", text))


def test_corrupt_parquet(tmp_path: Path) -> None:
    p = _write(tmp_path, "c.parquet", "not parquet at all")
    with pytest.raises(DataError, match=r"c\.parquet: not a readable Parquet file"):
        read_file(p)


def test_bad_layout_argument(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="layout"):
        read_file(_write(tmp_path, "p.csv", LONG_CSV), layout="tall")  # type: ignore[arg-type]


def test_lenient_never_silent(tmp_path: Path) -> None:
    text = "date,ticker,close\n2021-01-04,A,1\n2021-01-05,A,-2\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df, rep = read_file_with_report(_write(tmp_path, "p.csv", text), mode="lenient")
    assert len(df) == 1 and rep.n_dropped == 1
    assert any("non_positive_price 1" in str(w.message) for w in caught)
    assert float(rep.dropped.iloc[0]["close"]) == -2.0  # the row as it was read


def test_kaggle_all_stocks_layout_is_recognised(
    tmp_path: Path, us_sp500_long: pd.DataFrame
) -> None:
    # all_stocks_5yr.csv: date,open,high,low,close,volume,Name
    sub = us_sp500_long[us_sp500_long["ticker"].isin(["AAPL", "MMM"])]
    kaggle = sub.rename(columns={"ticker": "Name"})[
        ["date", "open", "high", "low", "close", "volume", "Name"]
    ]
    p = tmp_path / "all_stocks_5yr.csv"
    kaggle.to_csv(p, index=False)
    df, rep = read_file_with_report(p)
    assert "columns recognised: Name->ticker" in rep.notes
    assert len(df) == len(sub) and set(df["ticker"]) == {"AAPL", "MMM"}
    np.testing.assert_allclose(df["close"].to_numpy(), sub["close"].to_numpy())


def test_wide_with_text_and_blank_cells(tmp_path: Path) -> None:
    p = _write(tmp_path, "w.csv", 'date,AAA,BBB\n2021-01-04,1.0," "\n2021-01-05,oops,2.0\n')
    with pytest.raises(ValidationError, match=r"non_numeric.*row 2, ticker 'AAA'.*'oops'"):
        read_file(p)
    with pytest.warns(DataQualityWarning):
        df, rep = read_file_with_report(p, mode="lenient")
    assert len(df) == 2 and rep.errors["non_numeric"] == 1
    assert any("1 empty cell(s)" in n for n in rep.notes)


def _parquet(tmp_path: Path, df: pd.DataFrame, name: str = "p.parquet") -> Path:
    p = tmp_path / name
    df.to_parquet(p, index=False)
    return p


def test_bad_parquet_inputs(tmp_path: Path) -> None:
    good = pd.DataFrame(
        {
            "date": pd.to_datetime(["2021-01-04", "2021-01-05", "2021-01-06"]),
            "ticker": ["A", "A", "A"],
            "close": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(ValidationError, match="no_rows"):
        read_file(_parquet(tmp_path, good.iloc[:0], "empty.parquet"))
    with pytest.raises(ValidationError, match=r"missing_columns.*close"):
        read_file(_parquet(tmp_path, good.drop(columns="close"), "noclose.parquet"))
    dup = pd.concat([good, good.iloc[[1]]], ignore_index=True)
    with pytest.raises(ValidationError, match=r"duplicate_row.*row 4"):
        read_file(_parquet(tmp_path, dup, "dup.parquet"))
    back = good.iloc[[0, 2, 1]]
    with pytest.raises(ValidationError, match=r"unsorted.*row 3"):
        read_file(_parquet(tmp_path, back, "back.parquet"))
    inf = good.assign(close=[1.0, np.inf, 3.0])
    with pytest.raises(ValidationError, match=r"non_finite_price.*row 2"):
        read_file(_parquet(tmp_path, inf, "inf.parquet"))
    tz = good.assign(date=good["date"].dt.tz_localize("Asia/Ho_Chi_Minh"))
    df, rep = read_file_with_report(_parquet(tmp_path, tz, "tz.parquet"))
    assert df["date"].iloc[0] == pd.Timestamp("2021-01-04")  # local date, not UTC's 01-03
    assert any("Asia/Ho_Chi_Minh" in n for n in rep.notes)


# ------------------------------------------------------------ hostile input
def test_device_or_fifo_is_not_read(tmp_path: Path) -> None:
    # /dev/zero behind a .csv name would feed an endless header line.
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(DataError, match="not a regular file"):
        read_file(link)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_file(fifo)


def test_header_line_without_end_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("date" + ",x" * 600_000)  # 1.2 MB and no newline
    with pytest.raises(DataError, match="header line is longer than"):
        read_file(path)


def test_columns_must_be_a_mapping_of_names(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("Date,Symbol,Px\n2021-01-04,A,1.0\n")
    with pytest.raises(DataError, match="columns must be a mapping"):
        read_file(path, columns=["Px"])
    with pytest.raises(DataError, match="columns must be a mapping"):
        read_file(path, columns={"Px": 5})
    with pytest.raises(DataError, match="field must be a column name"):
        read_file(path, field=5)


def test_bad_date_format_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("date,ticker,close\n04/01/2021,A,1.0\n")
    with pytest.raises(DataError, match="date_format '%Q'"):
        read_file(path, date_format="%Q")


def test_undecodable_bytes_name_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"date,ticker,close\n2021-01-04,A,\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_file(path)
