"""Providers: parsing, paging and failure paths on recorded responses (no network)."""

from __future__ import annotations

import json
import socket
import urllib.error
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphalab.data.providers import (
    BaostockProvider,
    FiinQuantProvider,
    FilesProvider,
    FinMindProvider,
    Provider,
    ProviderError,
    VNDirectProvider,
    YahooProvider,
    date_chunks,
    fetch_into_store,
    get_provider,
    update_dataset,
)
from alphalab.data.store import Store
from alphalab.data.validation import DataQualityWarning
from tests.conftest import shared_file

REC = Path(__file__).parent / "recorded"


def _json(name: str) -> dict[str, Any]:
    return json.loads((REC / name).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ yahoo
class FakeYF:
    def __init__(self, exc: BaseException | None = None, empty: bool = False) -> None:
        self.exc, self.empty, self.calls = exc, empty, []

    def download(self, **kw: Any) -> pd.DataFrame:
        self.calls.append(kw)
        if self.exc is not None:
            raise self.exc
        if self.empty:
            return pd.DataFrame()
        return pd.read_csv(REC / "yahoo_download_aapl_msft.csv", header=[0, 1], index_col=0, parse_dates=True)


def test_yahoo_parses_recorded_download() -> None:
    fake = FakeYF()
    p = YahooProvider(client=fake)
    assert isinstance(p, Provider)
    df = p.fetch(["AAPL", "MSFT"], "2018-01-02", "2018-01-08")
    assert fake.calls[0]["end"] == "2018-01-09"  # yfinance's end is exclusive
    assert fake.calls[0]["auto_adjust"] is False and p.adjusted == "split_only"
    assert list(df.columns) == ["date", "ticker", "open", "high", "low", "close", "adj_close", "volume"]
    assert len(df) == 9  # MSFT's NaN padding row is dropped
    aapl = df[df["ticker"] == "AAPL"].set_index("date")
    assert aapl.loc["2018-01-05", "close"] == 43.75 and aapl.loc["2018-01-05", "volume"] == 94640000
    # Same trading days and relative moves as the shared S&P 500 file (4:1 basis).
    ref = pd.read_parquet(shared_file("us_sp500_5yr.parquet"))
    ref = ref[(ref["ticker"] == "AAPL") & ref["date"].between("2018-01-02", "2018-01-08")]
    np.testing.assert_allclose(aapl["close"].to_numpy() * 4, ref["close"].to_numpy(), rtol=1e-9)
    sub = p.fetch(["AAPL"], "2018-01-03", "2018-01-04", fields=["close"])
    assert list(sub.columns) == ["date", "ticker", "close"] and len(sub) == 4  # fake ignores tickers


def test_yahoo_failures_are_one_clear_message() -> None:
    p = YahooProvider(client=FakeYF(exc=urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))))
    with pytest.raises(ProviderError, match=r"yahoo: cannot reach the data server .*network"):
        p.fetch(["AAPL"], "2018-01-02", "2018-01-08")

    class ConnectionErrorFromRequests(Exception):
        pass

    with pytest.raises(ProviderError, match="cannot reach"):
        YahooProvider(client=FakeYF(exc=ConnectionErrorFromRequests("Max retries exceeded"))).fetch(["A"], "2018-01-02", "2018-01-03")
    with pytest.raises(ProviderError, match="no data for AAPL"):
        YahooProvider(client=FakeYF(empty=True)).fetch(["AAPL"], "2018-01-02", "2018-01-08")
    with pytest.raises(ProviderError, match="lacks field"):
        YahooProvider(client=FakeYF()).fetch(["AAPL"], "2018-01-02", "2018-01-08", fields=["bu"])


def test_missing_client_library_message() -> None:
    with pytest.raises(ProviderError, match=r"^yahoo: the 'yfinance' package is not installed.*alphalab\[data\]"):
        YahooProvider().fetch(["AAPL"], "2018-01-02", "2018-01-08")


# --------------------------------------------------------------- baostock
class _RS:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.error_code, self.error_msg = spec["error_code"], spec["error_msg"]
        self.fields = spec["fields"]
        self._pages = [list(p) for p in spec["pages"]]
        self._buf: list[list[str]] = []
        self.pages_read = 0
        self._row: list[str] | None = None

    def next(self) -> bool:
        if self.error_code != "0":
            return False
        if not self._buf:
            if not self._pages:
                return False
            self._buf = self._pages.pop(0)
            self.pages_read += 1
        self._row = self._buf.pop(0)
        return True

    def get_row_data(self) -> list[str]:
        assert self._row is not None
        return self._row


class FakeBaostock:
    def __init__(self, login: str = "login_ok") -> None:
        self.rec = _json("baostock_k_data.json")
        self.login_key = login
        self.result_sets: list[_RS] = []
        self.logged_out = False

    def login(self) -> Any:
        return type("R", (), self.rec[self.login_key])()

    def logout(self) -> None:
        self.logged_out = True

    def query_history_k_data_plus(self, code: str, fields: str, **kw: Any) -> _RS:
        assert kw["adjustflag"] == "3" and kw["frequency"] == "d"
        rs = _RS(self.rec["queries"][code])
        self.result_sets.append(rs)
        return rs


def test_baostock_pages_and_parses() -> None:
    fake = FakeBaostock()
    p = get_provider("cn", client=fake)
    df = p.fetch(["sh.600000", "sz.000005"], "2022-07-01", "2022-07-31")
    assert fake.result_sets[0].pages_read == 2 and fake.logged_out
    assert len(df) == 6 and set(df["ticker"]) == {"sh.600000", "sz.000005"}
    row = df[(df["ticker"] == "sh.600000") & (df["date"] == "2022-07-15")].iloc[0]
    assert row["close"] == 7.67 and row["preclose"] == 7.79 and row["volume"] == 47127632
    # A suspended day: empty strings become NaN, tradestatus 0 kept.
    s = df[df["ticker"] == "sz.000005"].iloc[0]
    assert np.isnan(s["volume"]) and s["tradestatus"] == 0 and s["isST"] == 1
    assert p.adjusted == "raw" and "pctChg" not in df.columns
    # Same numbers as the shared baostock file.
    ref = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"))
    ref = ref[(ref["ticker"] == "sh.600000") & ref["date"].between("2022-07-12", "2022-07-18")]
    np.testing.assert_array_equal(df[df["ticker"] == "sh.600000"]["close"].to_numpy(), ref["close"].to_numpy())


def test_baostock_failures() -> None:
    with pytest.raises(ProviderError, match="cn: baostock login refused: 10001011"):
        BaostockProvider(client=FakeBaostock("login_refused")).fetch(["sh.600000"], "2022-07-01", "2022-07-31")
    with pytest.raises(ProviderError, match="cn: cannot reach the data server"):
        BaostockProvider(client=FakeBaostock("login_network")).fetch(["sh.600000"], "2022-07-01", "2022-07-31")
    fake = FakeBaostock()
    with pytest.raises(ProviderError, match=r"query for sh\.999999 failed: 10004011"):
        BaostockProvider(client=fake).fetch(["sh.999999"], "2022-07-01", "2022-07-31")
    assert fake.logged_out


# ---------------------------------------------------------------- finmind
class FakeFinMind:
    def __init__(self, mode: str = "ok") -> None:
        self.rec = _json("finmind_taiwan_stock_price.json")
        self.mode, self.calls = mode, []

    def taiwan_stock_daily(self, stock_id: str, start_date: str, end_date: str) -> pd.DataFrame:
        self.calls.append((stock_id, start_date, end_date))
        if self.mode == "offline":
            raise ConnectionError("HTTPSConnectionPool(host='api.finmindtrade.com'): Max retries exceeded")
        reply = self.rec[self.mode] if self.mode != "ok" else self.rec["chunks"][f"{start_date}..{end_date}"]
        if reply["status"] != 200:  # FinMind's DataLoader raises with the server's message
            raise Exception(reply["msg"])
        return pd.DataFrame(reply["data"])


def test_finmind_year_chunks_and_reference_price() -> None:
    fake = FakeFinMind()
    df = FinMindProvider(client=fake).fetch(["2330"], "2019-12-30", "2020-01-07")
    # One request per calendar year; the replies are keyed by those chunks.
    assert fake.calls == [("2330", "2019-12-30", "2019-12-31"), ("2330", "2020-01-01", "2020-01-07")]
    assert len(df) == 6 and list(df["date"].dt.strftime("%m-%d"))[:3] == ["12-30", "12-31", "01-02"]
    row = df[df["date"] == "2020-01-02"].iloc[0]
    assert row["high"] == 339.0 and row["low"] == 332.5 and row["volume"] == 31754120
    # preclose = close - spread is the previous close here (no ex-dates in the window).
    np.testing.assert_allclose(df["preclose"].iloc[1:].to_numpy(), df["close"].iloc[:-1].to_numpy())
    assert list(date_chunks("2019-12-30", "2020-01-07", 5))[1] == (pd.Timestamp("2020-01-04"), pd.Timestamp("2020-01-07"))


def test_finmind_failures() -> None:
    with pytest.raises(ProviderError, match="refused the login / token"):
        FinMindProvider(client=FakeFinMind("bad_token")).fetch(["2330"], "2020-01-01", "2020-01-07")
    with pytest.raises(ProviderError, match="request limit reached"):
        FinMindProvider(client=FakeFinMind("limit")).fetch(["2330"], "2020-01-01", "2020-01-07")
    with pytest.raises(ProviderError, match="tw: cannot reach the data server"):
        FinMindProvider(client=FakeFinMind("offline")).fetch(["2330"], "2020-01-01", "2020-01-07")


# --------------------------------------------------------------- vndirect
class FakeVND:
    def __init__(self, mode: str = "ok") -> None:
        self.rec = _json("vndirect_stock_prices.json")
        self.mode, self.calls = mode, []

    def __call__(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(params)
        if self.mode == "offline":
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        if self.mode == "error":
            return self.rec["error"]
        return self.rec["pages"][params["page"] - 1]


def test_vndirect_follows_pages() -> None:
    fake = FakeVND()
    p = VNDirectProvider(transport=fake, page_size=2)
    df = p.fetch(["HPG"], "2020-12-24", "2020-12-31")
    assert [c["page"] for c in fake.calls] == [1, 2, 3]
    assert fake.calls[0]["q"] == "code:HPG~date:gte:2020-12-24~date:lte:2020-12-31"
    assert len(df) == 5 and list(df.columns[:6]) == ["date", "ticker", "open", "high", "low", "close"]
    ref = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"))
    ref = ref[(ref["ticker"] == "HPG") & ref["date"].between("2020-12-24", "2020-12-30")]
    np.testing.assert_array_equal(df["close"].to_numpy(), ref["close"].to_numpy())
    np.testing.assert_array_equal(df["volume"].to_numpy(), ref["volume"].to_numpy())
    assert df["preclose"].iloc[1] == df["close"].iloc[0]
    adj = VNDirectProvider(transport=FakeVND(), page_size=2, adjusted=True).fetch(["HPG"], "2020-12-24", "2020-12-31")
    np.testing.assert_allclose(adj["close"].to_numpy(), df["close"].to_numpy() * 0.8)


def test_vndirect_failures() -> None:
    with pytest.raises(ProviderError, match="vn: cannot reach the data server"):
        VNDirectProvider(transport=FakeVND("offline")).fetch(["HPG"], "2020-12-24", "2020-12-31")
    with pytest.raises(ProviderError, match="Invalid query"):
        VNDirectProvider(transport=FakeVND("error")).fetch(["HPG"], "2020-12-24", "2020-12-31")


# -------------------------------------------------------------- fiinquant
class FakeFiinModule:
    """Stands in for the FiinQuantX package: FiinSession(...).login() -> client."""

    def __init__(self, password_ok: str = "secret", offline: bool = False) -> None:
        self.password_ok, self.offline = password_ok, offline
        self.requests: list[dict[str, Any]] = []
        mod = self

        class _Fetch:
            def __init__(self, kw: dict[str, Any]) -> None:
                self.kw = kw

            def get_data(self) -> pd.DataFrame:
                recs = pd.DataFrame(_json("fiinquant_trading_data.json")["records"])
                recs = recs[recs["ticker"].isin(self.kw["tickers"])]
                return recs[["ticker", "timestamp", *self.kw["fields"]]]

        class _Client:
            def Fetch_Trading_Data(self, **kw: Any) -> _Fetch:
                mod.requests.append(kw)
                return _Fetch(kw)

        class FiinSession:
            def __init__(self, username: str, password: str) -> None:
                self.password = password

            def login(self) -> _Client:
                if mod.offline:
                    raise ConnectionError("Failed to establish a new connection")
                if self.password != mod.password_ok:
                    raise RuntimeError("Invalid username or password")
                return _Client()

        self.FiinSession = FiinSession


def test_fiinquant_adapter() -> None:
    mod = FakeFiinModule()
    p = FiinQuantProvider("me", "secret", module=mod)
    df = p.fetch(["HPG", "SSI"], "2024-08-01", "2024-08-02")
    kw = mod.requests[0]
    assert kw["fields"] == ["open", "high", "low", "close", "volume", "bu", "sd", "fb", "fs", "fn"]
    assert kw["by"] == "1d" and kw["realtime"] is False and kw["adjusted"] is True
    assert len(df) == 4 and {"bu", "sd", "fs", "fn"} <= set(df.columns)
    hpg = df[df["ticker"] == "HPG"].iloc[0]
    assert hpg["fn"] == hpg["fb"] - hpg["fs"] and hpg["date"] == pd.Timestamp("2024-08-01")
    sub = FiinQuantProvider(session=p.session).fetch(["SSI"], "2024-08-01", "2024-08-02", fields=["close", "fn"])
    assert list(sub.columns) == ["date", "ticker", "close", "fn"]


def test_fiinquant_failures() -> None:
    with pytest.raises(ProviderError, match="fiinquant: login refused: RuntimeError: Invalid username or password"):
        FiinQuantProvider("me", "wrong", module=FakeFiinModule()).fetch(["HPG"], "2024-08-01", "2024-08-02")
    with pytest.raises(ProviderError, match="fiinquant: cannot reach"):
        FiinQuantProvider("me", "secret", module=FakeFiinModule(offline=True)).fetch(["HPG"], "2024-08-01", "2024-08-02")
    with pytest.raises(ProviderError, match="'FiinQuantX' package is not installed"):
        FiinQuantProvider("me", "secret").fetch(["HPG"], "2024-08-01", "2024-08-02")
    with pytest.raises(ProviderError, match="unknown field"):
        FiinQuantProvider(session=object()).fetch(["HPG"], "2024-08-01", "2024-08-02", fields=["pe"])


# ------------------------------------------------------- store round trip
def test_fetch_into_store_then_update_fetches_only_new_dates(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    fake = FakeVND()
    p = VNDirectProvider(transport=fake, page_size=2)
    info = fetch_into_store(store, p, ["HPG"], "2020-12-24", "2020-12-28", "hpg",
                            options={"page_size": 2})
    assert info.n_rows == 3 and info.source == "provider:vn" and info.adjusted == "raw"
    assert info.meta["provider"] == {"name": "vn", "options": {"page_size": 2}}
    fake.calls.clear()
    updated, added = update_dataset(store, "hpg", provider=p, end="2020-12-31")
    assert added == 2 and updated.end_date == pd.Timestamp("2020-12-30")
    assert fake.calls[0]["q"] == "code:HPG~date:gte:2020-12-29~date:lte:2020-12-31"
    again, added2 = update_dataset(store, "hpg", provider=p, end="2020-12-30")
    assert added2 == 0 and again.content_hash == updated.content_hash
    panel = store.load("hpg")
    assert panel.n_dates == 5 and panel.meta["market"] == "vn.hose"


def test_files_provider_and_registry(tmp_path: Path) -> None:
    src = tmp_path / "vn30.parquet"
    df = pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
    df[df["date"] <= "2017-12-31"].to_parquet(src)
    store = Store(tmp_path / "home")
    store.import_file(src, "vn30", market="vn.hose")
    df.to_parquet(src)  # the file grows
    with pytest.warns(DataQualityWarning, match="dropped 7"):  # the loaders' lenient report
        info, added = update_dataset(store, "vn30", end="2019-12-31")
    full = store.import_file(src, "vn30_full", market="vn.hose")
    assert added > 8000 and info.n_rows == full.n_rows  # later listings (VHM, TCB ...) included
    assert info.end_date == df["date"].max()
    np.testing.assert_array_equal(store.load("vn30")["close"], store.load("vn30_full")["close"])
    with pytest.warns(DataQualityWarning):
        got = FilesProvider(src).fetch(["HPG"], "2018-01-01", "2018-01-31", fields=["close"])
    assert set(got["ticker"]) == {"HPG"} and got["date"].min() >= pd.Timestamp("2018-01-01")
    with pytest.raises(ProviderError, match="unknown provider 'nope'"):
        get_provider("nope")
    assert isinstance(get_provider("baostock"), BaostockProvider)
    assert isinstance(get_provider("finmind"), FinMindProvider)


def test_cli_fetch_without_client_library_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alphalab.data.cli_data import data_app

    res = CliRunner(env={"COLUMNS": "200"}).invoke(
        data_app, ["fetch", "yahoo", "--name", "x", "--tickers", "AAPL", "--start", "2020-01-01",
                   "--home", str(tmp_path)])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert text.startswith("error: yahoo: the 'yfinance' package is not installed")
    assert "alphalab[data]" in text
    assert "Traceback" not in res.output


# ------------------------------------------------------------- hostile replies
def test_finish_names_junk_values_instead_of_blanking_them() -> None:
    from alphalab.data.providers.base import finish

    reply = pd.DataFrame({
        "date": ["2024-01-02", "2024-01-03", "2024-01-04"],
        "ticker": ["AAA", "AAA", "AAA"],
        "close": ["10.5", "", "1,234.5"],
        "volume": [100, None, "n/a"],
    })
    with pytest.raises(ProviderError, match=r"vn: field 'close'.*1 value.*'1,234.5'.*AAA.*2024-01-04"):
        finish(reply, "vn")
    # Empty cells and common null words stay missing values.
    ok = finish(reply.assign(close=["10.5", "", "null"]), "vn")
    assert ok["close"].isna().sum() == 2 and ok["volume"].isna().sum() == 2
    with pytest.raises(ProviderError, match=r"vn: reply date.*'yesterday'"):
        finish(reply.assign(date=["2024-01-02", "yesterday", "2024-01-04"], close=1.0, volume=1), "vn")


def test_finish_warns_on_conflicting_duplicate_bars() -> None:
    from alphalab.data.providers.base import finish

    reply = pd.DataFrame({"date": ["2024-01-02"] * 3, "ticker": ["A", "A", "B"], "close": [1.0, 2.0, 3.0]})
    with pytest.warns(UserWarning, match=r"vn: 1 \(date, ticker\) bar\(s\) sent twice with different values.*'A'.*2024-01-02"):
        out = finish(reply, "vn")
    assert list(out["close"]) == [2.0, 3.0]  # the later copy wins, as documented
    same = pd.DataFrame({"date": ["2024-01-02"] * 2, "ticker": ["A", "A"], "close": [1.0, 1.0]})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(finish(same, "vn")) == 1  # exact copies (chunk overlaps) are silent


def test_cli_bad_end_csv_path_and_row_count_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alphalab.data.cli_data import data_app

    src = tmp_path / "g.csv"
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=5).repeat(2), "ticker": ["A", "B"] * 5,
                  "close": np.arange(10.0) + 1}).to_csv(src, index=False)
    home = ["--home", str(tmp_path / "h")]
    runner = CliRunner()
    assert runner.invoke(data_app, ["import", str(src), "--name", "g", *home]).exit_code == 0
    for args, message in [
        (["update", "g", "--end", "garbage"], "end"),
        (["query", "SELECT * FROM g", "--csv", str(tmp_path / "nodir" / "x.csv")], "nodir"),
        (["query", "SELECT * FROM g", "--max-rows", "-3"], "max-rows"),
    ]:
        res = runner.invoke(data_app, [*args, *home])
        assert res.exit_code == 2 and message in res.output, (args, res.output, res.exception)
