"""Data-health report: it must find the oddities SOURCES.md documents, and only real ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from alphalab.data.calendars import trading_calendar
from alphalab.data.health import check_fundamentals, check_health
from alphalab.data.panel import Panel
from alphalab.errors import MarketRuleError
from tests.conftest import shared_file


def _keys(df: pd.DataFrame) -> set[tuple[str, str]]:
    return {(t, str(pd.Timestamp(d).date())) for t, d in zip(df["ticker"], df["date"], strict=True)}


@pytest.fixture(scope="module")
def us_report(us_sp500_long: pd.DataFrame):
    return check_health(us_sp500_long, market="us", name="us_sp500_5yr")


def test_us_bad_prints(us_report) -> None:
    bad = _keys(us_report.of_kind("bad_print"))
    # SOURCES.md: LNT 2016-05-19 and NWL 2017-09-14. The reversal test also finds
    # FLR, MPC and MRO on 2017-09-14 (the same corrupt date: +22..35% moves that
    # reverse fully the next day), which SOURCES.md does not list.
    assert {("LNT", "2016-05-19"), ("NWL", "2017-09-14")} <= bad
    assert bad == {("LNT", "2016-05-19"), ("NWL", "2017-09-14"), ("FLR", "2017-09-14"),
                   ("MPC", "2017-09-14"), ("MRO", "2017-09-14")}
    # The reversal leg is part of the same print, not a second issue.
    flagged = _keys(us_report.issues)
    assert ("LNT", "2016-05-20") not in flagged and ("NWL", "2017-09-15") not in flagged
    assert not us_report.ok and us_report.status == "errors"


def test_us_unadjusted_spinoffs(us_report) -> None:
    drops = _keys(us_report.of_kind("suspect_drop"))
    assert drops == {("BAX", "2015-07-01"), ("EBAY", "2015-07-20"), ("NI", "2015-07-02"),
                     ("DISCA", "2014-08-07"), ("DISCK", "2014-08-07")}
    # Real large rises are reported as information, not as data faults.
    rises = us_report.of_kind("large_move")
    assert {("AMD", "2016-04-22"), ("VRTX", "2013-04-19")} <= _keys(rises)
    assert (rises["severity"] == "info").all()


def test_us_ohlc_and_calendar(us_report) -> None:
    assert len(us_report.of_kind("ohlc_inconsistent")) == 12  # SOURCES.md: 12 rows
    assert us_report.calendar == "exchange_calendars:XNYS"
    assert us_report.of_kind("off_calendar").empty and us_report.of_kind("missing_session").empty
    assert len(us_report.of_kind("survivorship")) == 1


def test_vn30_corporate_action_drops() -> None:
    df = pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
    rep = check_health(df, market="vn.hose", name="vn30")
    breaches = _keys(rep.of_kind("band_breach"))
    assert {("HPG", "2016-05-16"), ("PNJ", "2016-05-19"), ("VNM", "2016-08-09")} <= breaches
    assert len(rep.of_kind("ohlc_inconsistent")) == 7  # SOURCES.md
    assert rep.calendar == "derived from data"
    assert rep.of_kind("bad_print").empty


def test_vn_hose_panel() -> None:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"))
    rep = check_health(df, market="vn.hose")
    assert len(rep.of_kind("ohlc_inconsistent")) == 238  # SOURCES.md
    zero = rep.of_kind("zero_volume")
    assert len(zero) > 100 and (zero["value"] >= 5).all()
    assert len(rep.of_kind("survivorship")) == 1  # every ticker ends 2020-12-31
    # SOURCES.md: 223 moves beyond 40%; each is a bad print, breach or listing move.
    # SOURCES.md: 223 one-day moves beyond 40%. Each must be flagged itself or be
    # the reversal leg of a flagged bad print.
    df = df.sort_values(["ticker", "date"])
    ret = df.groupby("ticker")["close"].pct_change()
    prev_date = df.groupby("ticker")["date"].shift(1)
    big = df[ret.abs() > 0.4]
    assert len(big) == 223
    moves = _keys(rep.issues[rep.issues["kind"].isin(["bad_print", "band_breach", "listing_move"])])
    bad = _keys(rep.of_kind("bad_print"))
    for t, d, pd_ in zip(big["ticker"], big["date"], prev_date[big.index], strict=True):
        assert (t, str(d.date())) in moves or (t, str(pd_.date())) in bad, (t, d)


def test_cn_sample_suspensions_and_ipos() -> None:
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"))
    rep = check_health(df, market="cn", name="cn")
    assert rep.calendar == "exchange_calendars:XSHG"
    # SOURCES.md: OHLC consistent, no prices <= 0, 21,063 suspended rows.
    assert rep.of_kind("ohlc_inconsistent").empty and rep.of_kind("nonpositive_price").empty
    assert rep.of_kind("suspended")["value"].sum() == int((df["tradestatus"] == 0).sum())
    # IPO first days (limit +44%) are listing moves, not breaches; ex-rights drops
    # are not flagged because moves are measured against preclose.
    assert len(rep.of_kind("listing_move")) > 300
    assert len(rep.of_kind("band_breach")) < 20
    assert rep.ok


def test_vn_fundamentals_extremes() -> None:
    df = pd.read_parquet(shared_file("vn_fundamentals_quarterly_2016_2023.parquet"))
    rep = check_fundamentals(df, name="vnf")
    zero = rep.of_kind("zero_size")
    assert len(zero[zero["detail"].str.startswith("market_capital")]) == 35  # SOURCES.md
    ext = rep.of_kind("extreme_value")
    per_col = ext["detail"].str.split(":").str[0].value_counts()
    assert per_col["pe"] == 4 and per_col["pb"] == 17 and per_col["profit_growth_pct"] == 9
    assert ext[ext["detail"].str.startswith("pe:")]["value"].abs().min() > 1000


def test_cn_fundamentals_keys_clean() -> None:
    df = pd.read_parquet(shared_file("cn_fundamentals_quarterly_2014_2022.parquet"))
    rep = check_fundamentals(df, name="cnf")
    assert rep.of_kind("duplicate_report").empty
    assert rep.of_kind("announced_before_period_end").empty
    broken = df.copy()
    broken.loc[broken.index[0], "report_date"] = broken["period_end"].iloc[0] - pd.Timedelta(days=3)
    broken = pd.concat([broken, broken.iloc[[5]]])
    rep2 = check_fundamentals(broken, name="cnf")
    assert len(rep2.of_kind("announced_before_period_end")) == 1
    assert len(rep2.of_kind("duplicate_report")) == 2


def _synthetic() -> Panel:
    dates = trading_calendar("us", "2021-01-04", "2021-06-30").sessions[:60]
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 4)), axis=0))
    vol = np.full((60, 4), 1e5)
    close[20, 0] = close[19, 0] * 0.5  # bad print: reversed next day
    close[40:, 1] = close[40:, 1] / 3  # 3-for-1 split left unadjusted
    close[30:37, 2] = close[29, 2]  # stale for 7 days while trading
    vol[45:52, 3] = 0  # zero-volume streak
    close[10:13, 3] = np.nan  # a gap of three sessions inside the listed span
    return Panel({"close": close, "volume": vol}, dates, ["A", "B", "C", "D"], {"market": "us"})


def test_synthetic_faults_found_exactly() -> None:
    p = _synthetic()
    rep = check_health(p)
    assert _keys(rep.of_kind("bad_print")) == {("A", str(p.dates[20].date()))}
    assert _keys(rep.of_kind("suspect_drop")) == {("B", str(p.dates[40].date()))}
    stale = rep.of_kind("stale_price")
    assert list(stale["ticker"]) == ["C"] and stale["value"].iloc[0] == 7
    zero = rep.of_kind("zero_volume")
    assert list(zero["ticker"]) == ["D"] and zero["value"].iloc[0] == 7
    gap = rep.of_kind("gap")
    assert list(gap["ticker"]) == ["D"] and gap["value"].iloc[0] == 3
    # A clean copy passes.
    clean = Panel({"close": 100 + np.cumsum(np.full((60, 2), 0.5), axis=0),
                   "volume": np.full((60, 2), 1e5)}, p.dates, ["A", "B"], {"market": "us"})
    assert check_health(clean).status == "pass"


def test_off_calendar_and_missing_session() -> None:
    p = _synthetic()
    dates = p.dates.delete(5).insert(10, pd.Timestamp("2021-01-16"))  # a Saturday
    dates = dates.sort_values()
    shifted = Panel(dict(p.fields), dates, p.assets, p.meta)
    rep = check_health(shifted)
    assert list(rep.of_kind("off_calendar")["date"]) == [pd.Timestamp("2021-01-16")]
    assert pd.Timestamp("2021-01-18") not in set(rep.of_kind("missing_session")["date"])  # MLK day
    assert len(rep.of_kind("missing_session")) == 1
    assert p.dates[5] in set(rep.of_kind("missing_session")["date"])


def test_report_serialisation() -> None:
    rep = check_health(_synthetic(), fundamentals=None, name="syn")
    payload = json.loads(rep.to_json())
    assert payload["counts"] == rep.counts and payload["n_issues"] == len(rep.issues)
    frag = rep.to_html_fragment()
    assert frag.startswith("<section") and "bad_print" in frag and "<script" not in frag
    assert "color:#b00020'>errors</span>" in frag  # status shown in the error colour
    assert "syn" in rep.summary()


# Every shared dataset: import into the store, load, check. Expected flags follow
# SOURCES.md; rows the lenient import dropped come back as invalid_row errors.
_PRICES = [
    ("us_sp500_5yr", "us", {"bad_print", "suspect_drop", "invalid_row"}),
    ("vn30_2016_2019", "vn.hose", {"band_breach", "stale_price", "invalid_row"}),
    ("vn30_index", "vn.hose", set()),
    ("vn_hose_2006_2020", "vn.hose",
     {"bad_print", "band_breach", "zero_volume", "stale_price", "invalid_row"}),
    ("vnindex_2000_2020", "vn.hose", {"band_breach", "invalid_row"}),
    ("cn_ashare_sample_2017_2023", "cn", {"band_breach", "stale_price"}),
    ("cn_indices_daily", "cn", set()),
]
# SOURCES.md: rows failing the OHLC check.
_OHLC_ROWS = {"us_sp500_5yr": 12, "vn30_2016_2019": 7, "vn_hose_2006_2020": 238, "vnindex_2000_2020": 226}


@pytest.mark.parametrize(("name", "market", "expected"), _PRICES, ids=[p[0] for p in _PRICES])
def test_shared_price_dataset_imports_loads_and_checks(tmp_path, name, market, expected) -> None:
    from alphalab.data.health import check_dataset
    from alphalab.data.store import Store

    store = Store(tmp_path)
    info = store.import_file(shared_file(f"{name}.parquet"), name, market=market)
    panel = store.load(name)
    raw = pd.read_parquet(shared_file(f"{name}.parquet"), columns=["ticker"])
    assert panel.n_assets == raw["ticker"].nunique() and info.n_rows == int((~np.isnan(panel["close"])).sum())
    rep = check_dataset(store, name)
    assert rep.market == market and rep.name == name
    warned = {k for k, sev in zip(rep.issues["kind"], rep.issues["severity"], strict=True) if sev != "info"}
    assert warned - {"gap"} == expected, rep.summary()
    assert len(rep.of_kind("invalid_row")) == _OHLC_ROWS.get(name, 0)
    errors = {"bad_print", "invalid_row"} & warned
    assert rep.status == ("pass" if not warned else ("errors" if errors else "flagged"))


def test_store_check_of_us_panel_finds_sources_oddities(tmp_path) -> None:
    """The store drops LNT's bad row at import; `data check` still names it."""
    from alphalab.data.health import check_dataset
    from alphalab.data.store import Store

    store = Store(tmp_path)
    store.import_file(shared_file("us_sp500_5yr.parquet"), "us", market="us")
    rep = check_dataset(store, "us")
    assert {("LNT", "2016-05-19"), ("NWL", "2017-09-14")} <= _keys(rep.of_kind("bad_print"))
    assert ("LNT", "2016-05-19") in _keys(rep.of_kind("invalid_row"))
    assert _keys(rep.of_kind("suspect_drop")) == {
        ("BAX", "2015-07-01"), ("EBAY", "2015-07-20"), ("NI", "2015-07-02"),
        ("DISCA", "2014-08-07"), ("DISCK", "2014-08-07")}
    # Dropped rows are not double-reported as calendar gaps.
    raw_gaps = _keys(check_health(pd.read_parquet(shared_file("us_sp500_5yr.parquet")), market="us").of_kind("gap"))
    assert _keys(rep.of_kind("gap")) == raw_gaps


@pytest.mark.parametrize(
    ("name", "expected"),
    [("vn_fundamentals_quarterly_2016_2023", {"zero_size", "extreme_value"}),
     ("cn_fundamentals_quarterly_2014_2022", {"zero_size", "extreme_value"})],
)
def test_shared_fundamentals_import_and_check(tmp_path, name: str, expected: set[str]) -> None:
    from alphalab.data.health import check_dataset
    from alphalab.data.store import Store

    store = Store(tmp_path)
    info = store.import_file(shared_file(f"{name}.parquet"), name)
    assert info.kind == "fundamentals"
    rep = check_dataset(store, name)
    assert set(rep.counts) == expected and rep.ok


def test_industry_map_is_a_table_not_a_panel(tmp_path) -> None:
    from alphalab.data.store import Store
    from alphalab.errors import DataError

    store = Store(tmp_path)
    # A table is stored only when asked for (issue 18): prices are what it is read as otherwise.
    with pytest.raises(DataError, match=r"no date column.*--kind table"):
        store.import_file(shared_file("cn_industry_citic.parquet"), "citic")
    info = store.import_file(shared_file("cn_industry_citic.parquet"), "citic", kind="table")
    assert info.kind == "table" and info.n_rows == 5115
    assert store.read_table("citic")["industry_citic_l1"].nunique() == 30
    with pytest.raises(DataError, match="table, not prices"):
        store.load("citic")


# ------------------------------------------------------------- hostile input
@pytest.mark.parametrize("market", [None, "us", "cn", "vn.hose"])
def test_single_row_panel(market: str | None) -> None:
    one = Panel({"close": np.array([[10.0, 20.0]]), "volume": np.array([[1e5, 0.0]])},
                pd.DatetimeIndex(["2020-01-02"]), ["A", "B"])
    rep = check_health(one, market=market)
    assert rep.stats["n_dates"] == 1 and rep.counts.get("bad_print", 0) == 0
    assert rep.status in ("pass", "flagged")


def test_all_nan_panel_is_an_error_not_a_pass() -> None:
    dates = pd.bdate_range("2020-01-06", periods=30)
    nan = Panel({"close": np.full((30, 3), np.nan), "volume": np.full((30, 3), np.nan)}, dates, ["A", "B", "C"])
    for market in (None, "us"):
        rep = check_health(nan, market=market)
        assert rep.status == "errors"
        assert list(rep.of_kind("no_prices")["severity"]) == ["error"]
    # One ticker without a single close among good ones: a warning naming it.
    close = 100 + np.cumsum(np.full((30, 3), 0.1), axis=0)
    close[:, 1] = np.nan
    part = check_health(Panel({"close": close}, dates, ["A", "B", "C"]))
    hit = part.of_kind("no_prices")
    assert list(hit["ticker"]) == ["B"] and list(hit["severity"]) == ["warning"]


def test_unknown_market_refused() -> None:
    one = Panel({"close": np.ones((3, 1))}, pd.bdate_range("2020-01-06", periods=3), ["A"])
    with pytest.raises(MarketRuleError, match="unknown market 'zz'"):
        check_health(one, market="zz")


def test_fundamentals_check_reports_broken_keys_instead_of_crashing() -> None:
    f = pd.DataFrame({
        "ticker": [None, "A", "B", "C"],
        "period_end": ["2020-03-31", "2020-03-31", "31/31/2020", "2020-03-31"],
        "report_date": ["2020-04-20", "someday", "2020-04-20", "2020-04-22"],
        "pe": [1.0, 2.0, 3.0, 4.0],
    })
    rep = check_fundamentals(f, name="f")
    bad = rep.of_kind("bad_key")
    assert list(bad["severity"].unique()) == ["error"]
    assert sorted(bad["value"].astype(int)) == [0, 1, 2]  # the rows, by position
    assert any("31/31/2020" in d for d in bad["detail"]) and any("someday" in d for d in bad["detail"])
    assert rep.stats["n_reports"] == 4
    from alphalab.errors import DataError

    with pytest.raises(DataError, match="DataFrame"):
        check_fundamentals([1, 2])  # type: ignore[arg-type]
