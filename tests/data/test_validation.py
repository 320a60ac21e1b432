from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab.data.validation import (
    DROP_RULES,
    DataQualityWarning,
    ValidationError,
    validate_prices,
)
from alphalab.errors import DataError
from tests.conftest import shared_file


def _clean() -> pd.DataFrame:
    """3 tickers x 4 dates of consistent OHLCV, sorted by ticker then date."""
    dates = pd.to_datetime(["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07"])
    rows = []
    for k, t in enumerate(["AAA", "BBB", "CCC"]):
        for j, d in enumerate(dates):
            c = 10.0 + k + 0.5 * j
            rows.append((d, t, c - 0.1, c + 0.3, c - 0.3, c, 1000.0 * (j + 1)))
    return pd.DataFrame(rows, columns=["date", "ticker", "open", "high", "low", "close", "volume"])


def _lenient(df: pd.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return validate_prices(df, source="t.csv", mode="lenient", **kw)


def test_clean_frame_passes_unchanged() -> None:
    df = _clean()
    out, rep = validate_prices(df, source="t.csv")
    assert rep.ok and rep.n_input == rep.n_output == 12 and rep.dropped.empty
    assert out["date"].dtype == "datetime64[ns]"
    np.testing.assert_array_equal(out["close"].to_numpy(), df["close"].to_numpy())
    assert out["ticker"].tolist() == df["ticker"].tolist()
    assert "12 rows in, 12 out" in rep.summary()


# (rule, column, row position, bad value)
CELL_CASES = [
    ("non_positive_price", "close", 5, 0.0),
    ("non_positive_price", "low", 5, -1.0),
    ("non_finite_price", "close", 5, np.nan),
    ("non_finite_price", "close", 5, np.inf),
    ("non_finite_price", "open", 5, -np.inf),
    ("high_below_low", "high", 5, 5.0),
    ("close_out_of_range", "close", 5, 11.9),
    ("open_out_of_range", "open", 5, 20.0),
    ("negative_volume", "volume", 5, -5.0),
    ("non_finite_volume", "volume", 5, np.inf),
    ("non_numeric", "close", 5, "abc"),
    ("bad_date", "date", 5, "2021-02-30"),
    ("bad_date", "date", 5, None),
    ("bad_ticker", "ticker", 5, None),
    ("bad_ticker", "ticker", 5, "   "),
    ("bad_ticker", "ticker", 5, "X" * 65),
    ("bad_ticker", "ticker", 5, "BAD\x00NAME"),
    ("bad_ticker", "ticker", 5, "BAD\nNAME"),
]


@pytest.mark.parametrize(("rule", "col", "pos", "value"), CELL_CASES)
def test_each_row_rule_strict_and_lenient(rule: str, col: str, pos: int, value: object) -> None:
    df = _clean()
    if col == "date":
        df["date"] = df["date"].dt.strftime("%Y-%m-%d").astype(object)
    elif isinstance(value, str):
        df[col] = df[col].astype(object)
    df.loc[pos, col] = value
    with pytest.raises(ValidationError) as info:
        validate_prices(df, source="prices.csv")
    err = info.value
    assert err.rule == rule and err.rows == [pos + 1] and err.count == 1
    msg = str(err)
    assert "prices.csv" in msg and rule in msg and f"row {pos + 1}" in msg
    if rule != "bad_ticker":
        assert "'BBB'" in msg  # row 6 is ticker BBB
    with pytest.warns(DataQualityWarning, match=rule):
        out, rep = validate_prices(df, source="prices.csv", mode="lenient")
    assert len(out) == 11 and rep.n_dropped == 1 and rep.errors[rule] == 1
    assert rep.dropped["row"].tolist() == [pos + 1]
    # The rule under test comes first; a bad cell may break a later rule too.
    assert rep.dropped["rules"].iloc[0].split(",")[0] == rule


def test_close_at_the_bounds_is_fine_with_tolerance() -> None:
    df = _clean()
    df.loc[0, "close"] = df.loc[0, "high"] * (1 + 1e-12)
    df.loc[1, "close"] = df.loc[1, "low"]
    _, rep = validate_prices(df, source="x")
    assert rep.ok


def test_nan_open_high_low_volume_are_warnings_not_errors() -> None:
    df = _clean()
    df.loc[2, "open"] = np.nan
    df.loc[3, ["high", "low"]] = np.nan
    df.loc[4, "volume"] = np.nan
    out, rep = validate_prices(df, source="x")
    assert len(out) == 12 and rep.ok
    assert rep.warnings["missing_open"] == 1
    assert rep.warnings["missing_high"] == 1 and rep.warnings["missing_low"] == 1
    assert rep.warnings["missing_volume"] == 1
    assert np.isnan(out.loc[2, "open"])


def test_one_row_breaking_two_rules_counts_in_both_and_drops_once() -> None:
    df = _clean()
    df.loc[7, ["open", "high", "close"]] = [np.nan, 5.0, 30.0]  # high < low, close > high
    out, rep = _lenient(df)
    assert rep.errors["high_below_low"] == 1 and rep.errors["close_out_of_range"] == 1
    assert rep.n_dropped == 1 and len(out) == 11
    assert rep.dropped["rules"].iloc[0] == "high_below_low,close_out_of_range"


def test_exact_duplicate_keeps_first_copy() -> None:
    df = _clean()
    df = pd.concat([df, df.iloc[[4]]], ignore_index=True)
    with pytest.raises(ValidationError, match="duplicate_row") as info:
        validate_prices(df, source="x")
    assert info.value.rows == [13]
    out, rep = _lenient(df)
    assert rep.errors["duplicate_row"] == 1 and len(out) == 12
    assert rep.dropped["row"].tolist() == [13]


def test_conflicting_duplicate_drops_every_copy() -> None:
    df = _clean()
    extra = df.iloc[[4]].copy()
    extra["close"] = 99.0
    extra["high"] = 100.0
    df = pd.concat([df, extra], ignore_index=True)
    with pytest.raises(ValidationError, match="duplicate_key"):
        validate_prices(df, source="x")
    out, rep = _lenient(df)
    assert rep.errors["duplicate_key"] == 2 and len(out) == 11
    assert sorted(rep.dropped["row"].tolist()) == [5, 13]


def test_unsorted_strict_raises_lenient_sorts_and_reports() -> None:
    df = _clean()
    df = df.iloc[[0, 2, 1, 3, *range(4, 12)]].reset_index(drop=True)
    with pytest.raises(ValidationError, match="unsorted") as info:
        validate_prices(df, source="x")
    assert info.value.rows == [3]
    with pytest.warns(DataQualityWarning, match="unsorted 1"):
        out, rep = validate_prices(df, source="x", mode="lenient")
    assert len(out) == 12 and rep.n_dropped == 0 and rep.fixed["unsorted"] == 1
    assert not rep.ok
    first = out[out["ticker"] == "AAA"]["date"]
    assert first.is_monotonic_increasing


def test_interleaved_by_date_is_sorted_enough() -> None:
    # Sorted by date then ticker: each ticker's own dates still increase.
    df = _clean().sort_values(["date", "ticker"]).reset_index(drop=True)
    _, rep = validate_prices(df, source="x")
    assert rep.ok


def test_missing_required_columns_raise_in_both_modes() -> None:
    df = _clean().drop(columns=["close"])
    for mode in ("strict", "lenient"):
        with pytest.raises(ValidationError, match=r"missing_columns.*close") as info:
            validate_prices(df, source="f.csv", mode=mode)
        assert info.value.rule == "missing_columns"


def test_no_rows_raises() -> None:
    with pytest.raises(ValidationError, match="no_rows"):
        validate_prices(_clean().iloc[:0], source="f.csv", mode="lenient")


def test_mixed_timezones_aware_and_naive() -> None:
    df = _clean()
    df["date"] = df["date"].dt.strftime("%Y-%m-%d 00:00:00").astype(object)
    df.loc[3, "date"] = "2021-01-07 00:00:00+07:00"
    with pytest.raises(ValidationError, match=r"mixed_timezones.*row 1.*row 4"):
        validate_prices(df, source="f.csv", mode="lenient")


def test_mixed_timezones_several_offsets() -> None:
    df = _clean()
    df["date"] = df["date"].dt.strftime("%Y-%m-%d 00:00:00+07:00").astype(object)
    df.loc[8, "date"] = "2021-01-04 00:00:00-05:00"
    with pytest.raises(ValidationError, match="mixed_timezones") as info:
        validate_prices(df, source="f.csv")
    assert "row 9" in str(info.value)


def test_mixed_timezone_objects() -> None:
    df = _clean()
    stamps = [pd.Timestamp(d).tz_localize("Asia/Ho_Chi_Minh") for d in df["date"]]
    stamps[5] = pd.Timestamp(df.loc[5, "date"]).tz_localize("UTC")
    df["date"] = pd.Series(stamps, dtype=object)
    with pytest.raises(ValidationError, match="mixed_timezones"):
        validate_prices(df, source="f")


def test_one_timezone_keeps_local_wall_clock_dates() -> None:
    df = _clean()
    df["date"] = df["date"].dt.tz_localize("America/New_York")
    out, rep = validate_prices(df, source="f")
    assert out["date"].iloc[0] == pd.Timestamp("2021-01-04")
    assert any("wall-clock" in n for n in rep.notes)
    text = _clean()
    # A DST shift (-05:00 vs -04:00) is one timezone, not a mix.
    text["date"] = text["date"].dt.strftime("%Y-%m-%d 00:00:00-05:00").astype(object)
    text.loc[0, "date"] = "2021-01-04 00:00:00-04:00"
    out2, _ = validate_prices(text, source="f")
    assert out2["date"].iloc[0] == pd.Timestamp("2021-01-04")


def test_text_dates_with_format_and_inference() -> None:
    df = _clean()
    df["date"] = df["date"].dt.strftime("%d/%m/%Y").astype(object)
    out, _ = validate_prices(df, source="f", date_format="%d/%m/%Y")
    assert out["date"].iloc[1] == pd.Timestamp("2021-01-05")
    with pytest.raises(ValidationError, match="bad_date"):
        validate_prices(df, source="f", date_format="%Y-%m-%d")


def test_ticker_whitespace_stripped_and_counted() -> None:
    df = _clean()
    df["ticker"] = df["ticker"].astype(object)
    df.loc[0, "ticker"] = " AAA "
    out, rep = validate_prices(df, source="f")
    assert set(out["ticker"]) == {"AAA", "BBB", "CCC"}
    assert rep.warnings["ticker_whitespace"] == 1


def test_hostile_tickers_unicode_and_separators_are_plain_names() -> None:
    df = _clean()
    df["ticker"] = df["ticker"].map({"AAA": "中国平安", "BBB": "../../etc/passwd", "CCC": "A\\B"})
    out, rep = validate_prices(df, source="f")
    assert rep.ok and set(out["ticker"]) == {"中国平安", "../../etc/passwd", "A\\B"}


def test_long_hostile_ticker_is_clipped_in_the_message() -> None:
    df = _clean()
    df["ticker"] = df["ticker"].astype(object)
    df.loc[0, "ticker"] = "Z" * 10_000
    with pytest.raises(ValidationError, match="bad_ticker") as info:
        validate_prices(df, source="f")
    assert len(str(info.value)) < 600


def test_strict_message_lists_examples_total_and_other_rules() -> None:
    df = _clean()
    df.loc[[0, 1, 2, 4, 5, 6, 8], "close"] = 1000.0
    df.loc[9, "volume"] = -1
    with pytest.raises(ValidationError) as info:
        validate_prices(df, source="f")
    msg = str(info.value)
    assert "broken by 7 row(s)" in msg and "and 2 more" in msg
    assert "Other rules broken: negative_volume 1" in msg
    assert info.value.report is not None
    assert info.value.report.errors["negative_volume"] == 1


def test_selection_happens_before_the_rules() -> None:
    df = _clean()
    df.loc[0, "close"] = -1.0  # AAA, 2021-01-04
    out, rep = validate_prices(df, source="f", tickers=["BBB", "CCC"])
    assert set(out["ticker"]) == {"BBB", "CCC"} and rep.n_input == 8
    out, rep = validate_prices(df, source="f", start="2021-01-05", end="2021-01-06")
    assert len(out) == 6
    with pytest.raises(DataError, match="'ZZZ'"):
        validate_prices(df, source="f", tickers=["AAA", "ZZZ"])


def test_custom_row_numbers_are_reported() -> None:
    df = _clean()
    df.loc[2, "close"] = 0.0
    with pytest.raises(ValidationError, match="row 103"):
        validate_prices(df, source="f", rows=np.arange(101, 113))


def test_bad_mode() -> None:
    with pytest.raises(DataError, match="mode"):
        validate_prices(_clean(), source="f", mode="loose")  # type: ignore[arg-type]


def test_rule_table_is_complete() -> None:
    assert list(DROP_RULES)[:3] == ["bad_date", "bad_ticker", "non_numeric"]
    assert len(DROP_RULES) == 13


# ------------------------------------------------------------ real datasets
# Counts from ../shared/data/SOURCES.md ("rows fail the OHLC check", NaN opens).
OHLC_RULES = ("high_below_low", "close_out_of_range", "open_out_of_range")
REAL = {
    "us_sp500_5yr.parquet": (619_040, 12, {"missing_open": 11, "missing_high": 8}),
    "vn30_2016_2019.parquet": (22_238, 7, {"missing_volume": 1}),
    "vn_hose_2006_2020.parquet": (906_044, 238, {"missing_open": 424, "missing_high": 74}),
    "vnindex_2000_2020.parquet": (4_918, 226, {}),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_dataset_counts(name: str) -> None:
    n_rows, n_ohlc, warns = REAL[name]
    df = pd.read_parquet(shared_file(name))
    with pytest.raises(ValidationError) as info:
        validate_prices(df, source=name)
    assert info.value.rule in OHLC_RULES and name in str(info.value)
    out, rep = _lenient(df)
    assert rep.n_input == n_rows and rep.n_dropped == n_ohlc and len(out) == n_rows - n_ohlc
    assert set(rep.dropped["rules"].str.split(",").explode()) <= set(OHLC_RULES)
    for k, v in warns.items():
        assert rep.warnings[k] == v
    # Every dropped row really breaks an OHLC rule.
    d = rep.dropped
    tol = 1e-9
    broken = (
        (d["high"] < d["low"])
        | (d["close"] < d["low"] * (1 - tol))
        | (d["close"] > d["high"] * (1 + tol))
        | (d["open"] < d["low"] * (1 - tol))
        | (d["open"] > d["high"] * (1 + tol))
    )
    assert broken.all()


def test_real_us_sp500_strict_message_is_precise() -> None:
    df = pd.read_parquet(shared_file("us_sp500_5yr.parquet"))
    with pytest.raises(ValidationError) as info:
        validate_prices(df, source="us_sp500_5yr.parquet")
    err = info.value
    assert err.rule == "high_below_low" and err.count == 1
    row = err.rows[0]
    bad = df.iloc[row - 1]
    assert bad["high"] < bad["low"]
    assert f"ticker {bad['ticker']!r}" in str(err)
    assert str(pd.Timestamp(bad["date"]).date()) in str(err)
    assert "close_out_of_range 9" in str(err) and "open_out_of_range 4" in str(err)


@pytest.mark.parametrize(
    "name", ["cn_ashare_sample_2017_2023.parquet", "cn_indices_daily.parquet", "vn30_index.parquet"]
)
def test_real_clean_datasets_pass_strict(name: str) -> None:
    df = pd.read_parquet(shared_file(name))
    out, rep = validate_prices(df, source=name)
    assert len(out) == len(df) and rep.ok


def test_dropped_frame_keeps_source_columns_named_like_ours() -> None:
    df = _clean()
    df["row"] = np.arange(100, 112)
    df["rules"] = "user"
    df.loc[3, "close"] = -1.0
    _, rep = _lenient(df)
    d = rep.dropped
    assert list(d.columns[:2]) == ["row", "rules"]
    assert d["row"].tolist() == [4] and d["source_row"].tolist() == [103]
    assert d["source_rules"].tolist() == ["user"]


def test_dates_outside_the_nanosecond_range_are_bad_not_wrapped() -> None:
    df = _clean()
    df["date"] = df["date"].astype("datetime64[us]")
    df.loc[5, "date"] = np.datetime64("1500-01-01", "us")
    with pytest.raises(ValidationError, match=r"bad_date.*row 6"):
        validate_prices(df, source="f")
    text = _clean()
    text["date"] = text["date"].dt.strftime("%Y-%m-%d").astype(object)
    text.loc[5, "date"] = "2500-01-01"
    out, rep = _lenient(text)
    assert rep.errors["bad_date"] == 1 and out["date"].max() == pd.Timestamp("2021-01-07")


def test_inferred_date_formats_are_reported_and_ambiguity_refused() -> None:
    df = _clean()
    df["date"] = df["date"].dt.strftime("%d/%m/%Y").astype(object)
    df.loc[0, "date"] = "13/01/2021"  # only day-first reads this
    df.loc[[1, 2, 3], "date"] = ["14/01/2021", "15/01/2021", "18/01/2021"]
    out, rep = validate_prices(df, source="f")
    assert out["date"].iloc[0] == pd.Timestamp("2021-01-13")
    assert "dates parsed with the inferred format '%d/%m/%Y'" in rep.notes
    # 04/01..07/01 read as April or as January: refuse to guess.
    amb = _clean()
    amb["date"] = amb["date"].dt.strftime("%d/%m/%Y").astype(object)
    with pytest.raises(DataError, match=r"ambiguous date format.*pass date_format"):
        validate_prices(amb, source="f")


def test_garbage_beside_aware_dates_is_a_bad_date_not_a_timezone_mix() -> None:
    df = _clean()
    df["date"] = df["date"].dt.strftime("%Y-%m-%d 00:00:00+07:00").astype(object)
    df.loc[4, "date"] = "not a date"
    with pytest.raises(ValidationError, match=r"bad_date.*row 5") as info:
        validate_prices(df, source="f")
    assert info.value.rule == "bad_date"


def test_date_bounds() -> None:
    df = _clean()
    out, _ = validate_prices(df, source="f", start=pd.Timestamp("2021-01-06", tz="UTC"))
    assert out["date"].min() == pd.Timestamp("2021-01-06")
    with pytest.raises(DataError, match="start='soon' is not a date"):
        validate_prices(df, source="f", start="soon")


# ------------------------------------------------------------ hostile input
def test_not_a_dataframe_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"t\.csv: expected a pandas DataFrame, got list"):
        validate_prices([{"date": "2021-01-04", "ticker": "A", "close": 1.0}], source="t.csv")


@pytest.mark.parametrize(
    ("column", "values"),
    [("close", [True] * 12), ("volume", [False] * 12), ("high", [1 + 2j] * 12)],
    ids=["bool-close", "bool-volume", "complex-high"],
)
def test_bool_and_complex_cells_are_not_numbers(column: str, values: list) -> None:
    # True would otherwise become a price of 1.0 and 1+2j a price of 1.0.
    df = _clean().assign(**{column: values})
    with pytest.raises(ValidationError, match=f"non_numeric.*row 1.*{column}=") as info:
        validate_prices(df, source="t.csv")
    assert info.value.count == 12
    _, rep = _lenient(df)
    assert rep.errors["non_numeric"] == 12 and rep.n_output + rep.n_dropped == 12


def test_bool_cells_inside_a_text_column_are_not_numbers() -> None:
    df = _clean()
    df["close"] = df["close"].astype(object)
    df.loc[4, "close"] = True
    clean, rep = _lenient(df)
    assert rep.errors["non_numeric"] == 1 and rep.dropped["row"].tolist() == [5]
    assert len(clean) == 11


def test_bad_rows_argument_is_a_data_error() -> None:
    with pytest.raises(DataError, match="rows must be 1-based integer row numbers"):
        validate_prices(_clean(), source="t.csv", rows=np.array(["a"] * 12))


def test_one_ticker_given_as_a_string() -> None:
    clean, rep = validate_prices(_clean(), source="t.csv", tickers="BBB")
    assert set(clean["ticker"]) == {"BBB"} and rep.n_input == 4


@pytest.mark.parametrize("bound", [2021, 2021.0, True])
def test_numeric_start_end_are_refused_not_read_as_nanoseconds(bound: object) -> None:
    # pd.Timestamp(2021) is 1970-01-01 00:00:00.000002021: every row would pass.
    with pytest.raises(DataError, match=r"start=.*is a number"):
        validate_prices(_clean(), source="t.csv", start=bound)
    with pytest.raises(DataError, match=r"end=.*is a number"):
        validate_prices(_clean(), source="t.csv", end=bound)


def test_numeric_tickers_are_flagged_and_float_artifacts_removed() -> None:
    df = _clean()
    # A column upcast to float by a missing value: 600000.0 must read as "600000".
    df["ticker"] = np.repeat([600000.0, 1.0, np.nan], 4)
    with pytest.warns(DataQualityWarning, match="numeric_ticker 8"):
        clean, rep = validate_prices(df, source="t.csv", mode="lenient")
    assert sorted(set(clean["ticker"])) == ["1", "600000"]
    assert rep.warnings["numeric_ticker"] == 8 and rep.errors["bad_ticker"] == 4


def test_bool_tickers_are_bad() -> None:
    df = _clean().astype({"ticker": object})
    df.loc[0, "ticker"] = True
    with pytest.raises(ValidationError, match=r"bad_ticker.*row 1"):
        validate_prices(df, source="t.csv")
