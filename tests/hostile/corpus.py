"""The hostile-input corpus (issue 18): at least 150 inputs, each with its expected outcome.

Inputs are built by the cases themselves in a temporary folder. The store at
``home`` holds one dataset, ``base`` (tickers AAA and BBB, 30 sessions from
2020-01-02, close 100 + day for AAA and 200 + day for BBB), before each case.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.hostile.harness import Case, Outcome, api, cli

YAHOO = (
    "Date,Open,High,Low,Close,Adj Close,Volume\n"
    "2020-01-02,10,11,9,10.5,10.4,1000\n"
    "2020-01-03,10.5,12,10,11.5,11.4,2000\n"
    "2020-01-06,11.5,13,11,12.5,12.4,3000\n"
)
LONG = (
    "date,ticker,open,high,low,close,volume\n"
    "2020-01-02,AAA,10,11,9,10.5,100\n"
    "2020-01-02,BBB,20,21,19,20.5,200\n"
    "2020-01-03,AAA,10.5,12,10,11.5,100\n"
    "2020-01-03,BBB,20.5,22,20,21.5,200\n"
)
OK_STUDY = "name: s\ndata: {dataset: sp500_20, start: 2015-01-01, end: 2016-12-31}\nstrategies: [{name: ew, kind: equal_weight}]\n"


# ------------------------------------------------------------------ helpers
def write(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load_ds(home: Path, name: str) -> pd.DataFrame:
    from alphalab.data.store import Store

    return Store(home).read_table(name)


def info(home: Path, name: str) -> Any:
    from alphalab.data.store import Store

    return Store(home).info(name)


def imp(fname: str, content: str | bytes | Callable[[Path], Path], *extra: str, name: str = "x") -> Callable[[Path, Path], Outcome]:
    """``data import FILE --name NAME EXTRA`` on a file built from ``content``."""

    def run(tmp: Path, home: Path) -> Outcome:
        path = content(tmp) if callable(content) else write(tmp, fname, content)
        return cli("data", "import", str(path), "--name", name, *extra, home=home)

    return run


def expect_ds(name: str = "x", **want: Any) -> Callable[[Outcome, Path, Path], None]:
    """Check dataset ``name``: tickers, n_rows, kind, and column values (``close=[...]``)."""

    def check(out: Outcome, tmp: Path, home: Path) -> None:
        i = info(home, name)
        df = load_ds(home, name)
        for key, value in want.items():
            if key == "tickers":
                assert sorted(i.tickers) == sorted(value), i.tickers
                assert all(isinstance(t, str) for t in df["ticker"]), df["ticker"].tolist()
            elif key in ("n_rows", "kind", "n_tickers"):
                assert getattr(i, key) == value, (key, getattr(i, key))
            elif key == "start":
                assert str(i.start_date.date()) == value, i.start_date
            elif key == "output":
                assert value in out.text, out.text
            elif key == "fields":
                assert set(value) <= set(i.fields), i.fields
            else:
                got = df.sort_values(["date", "ticker"])[key].tolist() if "date" in df else df[key].tolist()
                assert np.allclose(got, value) if not isinstance(value[0], str) else got == value, got

    return check


def query(sql: str, *extra: str) -> Callable[[Path, Path], Outcome]:
    def run(tmp: Path, home: Path) -> Outcome:
        fmt = {"tmp": tmp, "home": home, "base": _base_file(home)}
        return cli("data", "query", sql.format(**fmt), *(e.format(**fmt) for e in extra), home=home)

    return run


def _base_file(home: Path) -> str:
    return str(home / info(home, "base").path)


def study(text: str | bytes, *args: str, command: str = "run") -> Callable[[Path, Path], Outcome]:
    def run(tmp: Path, home: Path) -> Outcome:
        path = write(tmp, "s.yaml", text)
        return cli(command, str(path), "--out", str(tmp / "run"), *args, home=home)

    return run


def with_keys(extra: str, base: str = OK_STUDY) -> str:
    return base + extra


def factors(text: str | bytes, *args: str) -> Callable[[Path, Path], Outcome]:
    def run(tmp: Path, home: Path) -> Outcome:
        path = write(tmp, "f.yaml", text)
        return cli("factors", str(path), *args, home=home, cwd=tmp)

    return run


def fifo(tmp: Path, name: str = "pipe.csv") -> Path:
    path = tmp / name
    os.mkfifo(path)
    return path


def gz(content: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        return write(tmp, "packed.csv", gzip.compress(content.encode()))

    return build


def parquet(frame: pd.DataFrame, name: str = "f.parquet", index: bool = False) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        path = tmp / name
        frame.to_parquet(path, index=index)
        return path

    return build


def al_load(build: Callable[[Path], Path | str], **kwargs: Any) -> Callable[[Path, Path], Outcome]:
    def run(tmp: Path, home: Path) -> Outcome:
        import alphalab as al

        source = build(tmp)
        return api(lambda: al.load(source, store=home, **kwargs))

    return run


def panel_is(tickers: list[str], close: list[float] | None = None) -> Callable[[Outcome, Path, Path], None]:
    def check(out: Outcome, tmp: Path, home: Path) -> None:
        p = out.value
        assert list(p.assets) == tickers, list(p.assets)
        if close is not None:
            assert np.allclose(p["close"][:, 0], close), p["close"][:, 0]

    return check


# ------------------------------------------------------------------ the corpus
def _cases() -> list[Case]:
    c: list[Case] = []
    X = frozenset({"x"})

    # 1. single-stock files: one ticker, never a panel of "Open", "High" ...
    c += [
        Case("yahoo-csv", imp("AAPL.csv", YAHOO), check=expect_ds(
            tickers=["AAPL"], close=[10.5, 11.5, 12.5], adj_close=[10.4, 11.4, 12.4],
            output="one ticker 'AAPL'"), changes=X),
        Case("yahoo-csv-named", imp("AAPL.csv", YAHOO, "--ticker", "MSFT"),
             check=expect_ds(tickers=["MSFT"], n_rows=3), changes=X),
        Case("lower-ohlcv", imp("spy.csv", YAHOO.lower().replace("adj close,", "").replace(",10.4", "").replace(",11.4", "").replace(",12.4", "")),
             check=expect_ds(tickers=["spy"], close=[10.5, 11.5, 12.5]), changes=X),
        Case("adj-close-only-when-asked", imp("A.csv", "Date,Adj Close,Volume\n2020-01-02,5,1\n2020-01-03,6,1\n", "--map", "Adj Close=close"),
             check=expect_ds(tickers=["A"], close=[5, 6]), changes=X),
        Case("adj-close-only-not-asked", imp("A.csv", "Date,Adj Close,Volume\n2020-01-02,5,1\n"), error=r"missing_columns|close"),
        Case("yahoo-ticker-on-long", imp("l.csv", LONG, "--ticker", "Z"), error=r"single-stock"),
        Case("yahoo-with-dividends", imp("B.csv", "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n2020-01-02,1,1,1,1,5,0,0\n"),
             check=expect_ds(tickers=["B"], close=[1.0]), changes=X),
        Case("close-plus-tickers-ambiguous", imp("w.csv", "date,AAA,LOW,MSFT\n2020-01-02,1,2,3\n"), error=r"price-field names.*layout"),
        Case("wide-with-LOW-explicit", imp("w.csv", "date,AAA,LOW,MSFT\n2020-01-02,1,2,3\n", "--layout", "wide"),
             check=expect_ds(tickers=["AAA", "LOW", "MSFT"], close=[1, 2, 3]), changes=X),
        Case("api-yahoo", al_load(lambda t: write(t, "AAPL.csv", YAHOO)), check=panel_is(["AAPL"], [10.5, 11.5, 12.5])),
        Case("api-yahoo-ticker", al_load(lambda t: write(t, "AAPL.csv", YAHOO), ticker="IBM"), check=panel_is(["IBM"])),
        Case("api-frame-single-needs-ticker", lambda t, h: api(lambda: __import__("alphalab").load(pd.DataFrame({"date": ["2020-01-02"], "close": [1.0]}))),
             error=r"ticker="),
        Case("api-frame-single", lambda t, h: api(lambda: __import__("alphalab").load(pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "close": [1.0, 2.0]}), ticker="Q")),
             check=panel_is(["Q"], [1.0, 2.0])),
    ]
    # 2. tickers are strings everywhere
    zeros = "date,ticker,close\n2020-01-02,000001,1\n2020-01-02,1,2\n2020-01-03,000001,3\n2020-01-03,1,4\n"
    c += [
        Case("ticker-000001-csv", imp("z.csv", zeros), check=expect_ds(tickers=["000001", "1"], close=[1, 2, 3, 4]), changes=X),
        Case("ticker-000001-parquet", imp("z.parquet", parquet(pd.DataFrame({"date": ["2020-01-02"] * 2, "ticker": ["000001", "1"], "close": [1.0, 2.0]}))),
             check=expect_ds(tickers=["000001", "1"]), changes=X),
        Case("ticker-000001-api", al_load(lambda t: write(t, "z.csv", zeros)), check=panel_is(["000001", "1"])),
        Case("ticker-000001-fundamentals", imp("f.csv", "ticker,period_end,eps\n000001,2020-03-31,1.5\n1,2020-03-31,2\n"),
             check=expect_ds(kind="fundamentals", tickers=["000001", "1"]), changes=X),
        Case("ticker-000001-wide", imp("w.csv", "date,000001,1\n2020-01-02,5,6\n"), check=expect_ds(tickers=["000001", "1"], close=[5, 6]), changes=X),
        Case("ticker-000001-tsv", imp("z.tsv", zeros.replace(",", "\t")), check=expect_ds(tickers=["000001", "1"]), changes=X),
    ]
    # 3. one reader decides what a file is
    caps = "Date,Ticker,Open,High,Low,Close,Volume\n2020-01-02,AAA,1,2,0.5,1.5,10\n2020-01-03,AAA,1.5,2,1,1.8,10\n"
    c += [
        Case("capitalised-headers", imp("c.csv", caps), check=expect_ds(kind="prices", tickers=["AAA"], close=[1.5, 1.8]), changes=X),
        Case("semicolon", imp("s.csv", caps.replace(",", ";")), check=expect_ds(kind="prices", close=[1.5, 1.8]), changes=X),
        Case("tab-in-csv", imp("t.csv", caps.replace(",", "\t")), check=expect_ds(kind="prices", close=[1.5, 1.8]), changes=X),
        Case("tsv", imp("t.tsv", caps.replace(",", "\t")), check=expect_ds(kind="prices", close=[1.5, 1.8]), changes=X),
        Case("txt-suffix", imp("t.txt", caps), check=expect_ds(kind="prices"), changes=X),
        Case("parquet-date-index", imp("p.parquet", parquet(pd.DataFrame({"ticker": ["A", "A"], "close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2020-01-02", "2020-01-03"], name="date")), index=True)),
             check=expect_ds(kind="prices", tickers=["A"], close=[1, 2]), changes=X),
        Case("wide-closes", imp("w.csv", "date,AAA,BBB,CCC\n2020-01-02,1,2,3\n2020-01-03,4,5,6\n"), check=expect_ds(kind="prices", n_tickers=3, n_rows=6), changes=X),
        Case("wide-closes-api", al_load(lambda t: write(t, "w.csv", "date,AAA,BBB\n2020-01-02,1,2\n")), check=panel_is(["AAA", "BBB"])),
        Case("two-close-columns", imp("d.csv", "date,ticker,close,close\n2020-01-02,A,1,2\n"), error=r"duplicate column name 'close'"),
        Case("close-and-Close", imp("d.csv", "date,ticker,close,Close\n2020-01-02,A,1,2\n"), error=r"would all be named 'close'"),
        Case("two-date-columns", imp("d.csv", "date,Date,ticker,close\n2020-01-02,2020-01-02,A,1\n"), error=r"would all be named 'date'|duplicate"),
        Case("thousands-quoted", imp("k.csv", 'date,ticker,close\n2020-01-02,A,"1,234.56"\n2020-01-03,A,"12,345"\n'), check=expect_ds(close=[1234.56, 12345]), changes=X),
        Case("thousands-semicolon", imp("k.csv", "date;ticker;close\n2020-01-02;A;1,234.5\n"), check=expect_ds(close=[1234.5]), changes=X),
        Case("decimal-comma-not-thousands", imp("k.csv", "date;ticker;close\n2020-01-02;A;1,5\n"), error=r"non_numeric"),
        Case("excel-serial-dates", imp("e.csv", "date,ticker,close\n43832,A,1\n43833,A,2\n"), check=expect_ds(start="2020-01-02", close=[1, 2]), changes=X),
        Case("excel-serial-float", imp("e.csv", "date,ticker,close\n43832.0,A,1\n"), check=expect_ds(start="2020-01-02"), changes=X),
        Case("excel-out-of-range", imp("e.csv", "date,ticker,close\n99999,A,1\n"), error=r"rows failed validation|date"),
        Case("yyyymmdd-dates", imp("e.csv", "date,ticker,close\n20200102,A,1\n20200103,A,2\n"), check=expect_ds(start="2020-01-02"), changes=X),
        Case("table-needs-kind", imp("t.csv", "ticker,sector\n000001,Banks\n"), error=r"--kind table"),
        Case("table-with-kind", imp("t.csv", "ticker,sector\n000001,Banks\n", "--kind", "table"), check=expect_ds(kind="table", ticker=["000001"]), changes=X),
        Case("kind-unknown", imp("t.csv", LONG, "--kind", "panel"), error=r"kind must be one of"),
        Case("prices-fail-validation", imp("n.csv", "date,ticker,close\n2020-01-02,A,-1\n2020-01-03,A,-2\n"), error=r"all 2 rows failed validation.*rule"),
        Case("no-date-column", imp("n.csv", "ticker,close\nA,1\n"), error=r"no date column"),
        Case("crlf", imp("c.csv", caps.replace("\n", "\r\n")), check=expect_ds(close=[1.5, 1.8]), changes=X),
        Case("bom", imp("b.csv", "\ufeff" + caps), check=expect_ds(close=[1.5, 1.8]), changes=X),
        Case("spaces-in-header", imp("s.csv", " Date , Ticker , Close \n2020-01-02,A,1\n"), check=expect_ds(close=[1.0]), changes=X),
        Case("gzip-no-extension", imp("g.csv", gz(caps)), check=expect_ds(close=[1.5, 1.8]), changes=X),
        Case("gzip-truncated", imp("g.csv.gz", gzip.compress(caps.encode())[:20]), error=r"gzip|cannot read"),
        Case("parquet-named-csv", imp("p.csv", lambda t: write(t, "p.csv", (lambda p: p.read_bytes())(parquet(pd.DataFrame({"date": ["2020-01-02"], "ticker": ["A"], "close": [1.0]}))(t)))),
             error=r"Parquet file with a text-file name|not UTF-8|binary"),
        Case("binary-junk", imp("j.csv", bytes(range(256)) * 4), error=r"not UTF-8|binary"),
        Case("utf16", imp("u.csv", caps.encode("utf-16")), error=r"not UTF-8|binary"),
        Case("latin1-ticker", imp("l.csv", "date,ticker,close\n2020-01-02,Soci\xe9t\xe9,1\n".encode("latin-1")), error=r"not UTF-8"),
        Case("empty-file", imp("e.csv", ""), error=r"empty"),
        Case("header-only", imp("h.csv", "date,ticker,close\n"), error=r"no rows|no data rows|header"),
        Case("blank-lines", imp("h.csv", "\n\n\n"), error=r"empty"),
        Case("unsupported-suffix", imp("x.xlsx", "junk"), error=r"unsupported file type"),
        Case("no-suffix", imp("data", LONG), error=r"unsupported file type"),
        Case("nan-strings-all", imp("n.csv", "date,ticker,close\n2020-01-02,A,NaN\n2020-01-03,A,nan\n"), error=r"failed validation"),
        Case("inf-strings-all", imp("n.csv", "date,ticker,close\n2020-01-02,A,inf\n2020-01-03,A,-inf\n"), error=r"failed validation"),
        Case("nan-strings-some", imp("n.csv", "date,ticker,close\n2020-01-02,A,NaN\n2020-01-03,A,2\n"), check=expect_ds(close=[2.0], output="1 bad rows dropped"), changes=X),
        Case("invalid-date-rows", imp("d.csv", "date,ticker,close\n2018-02-30,A,1\n2018-03-01,A,2\n"), check=expect_ds(close=[2.0], n_rows=1), changes=X),
        Case("invalid-dates-all", imp("d.csv", "date,ticker,close\n2018-02-30,A,1\n2018-02-31,A,2\n"), error=r"failed validation.*date"),
        Case("duplicate-rows", imp("d.csv", "date,ticker,close\n2020-01-02,A,1\n2020-01-02,A,2\n2020-01-03,A,3\n"), check=expect_ds(close=[3.0]), changes=X),
        Case("absurd-price", imp("d.csv", "date,ticker,close\n2020-01-02,A,1e308\n2020-01-03,A,2\n"), check=expect_ds(n_rows=2), changes=X),
        Case("ticker-empty", imp("d.csv", "date,ticker,close\n2020-01-02,,1\n"), error=r"failed validation|ticker"),
        Case("markup-ticker", imp("m.csv", "date,ticker,close\n2020-01-02,[bold]X,1\n2020-01-02,[/x],2\n"), check=expect_ds(tickers=["[/x]", "[bold]X"]), changes=X),
        Case("markup-filename", imp("[bold]x.csv", "ticker,close\nA,1\n"), error=r"\[bold\]x\.csv"),
        Case("header-trailing-comma", imp("t.csv", "date,ticker,close,\n2020-01-02,A,1,\n"), check=expect_ds(close=[1.0]), changes=X),
        Case("row-too-long", imp("t.csv", "date,ticker,close\n2020-01-02,A,1,9,9\n"), error=r"cannot parse|header has|column"),
    ]
    # 15, 16. non-regular files and files without line breaks
    c += [
        Case("fifo-import", imp("", lambda t: fifo(t)), error=r"not a regular file"),
        Case("fifo-api", al_load(lambda t: fifo(t)), error=r"not a regular file|cannot find"),
        Case("dev-null-link", imp("", lambda t: (t / "null.csv").symlink_to("/dev/null") or t / "null.csv"), error=r"not a regular file"),
        Case("dir-named-csv", imp("", lambda t: (t / "d.csv").mkdir() or t / "d.csv"), error=r"directory"),
        Case("missing-file", imp("", lambda t: t / "absent.csv"), error=r"no such file"),
        Case("dangling-symlink", imp("", lambda t: (t / "l.csv").symlink_to(t / "nowhere.csv") or t / "l.csv"), error=r"no such file"),
        Case("no-newline-1.2MB", imp("long.csv", "a," * 600_000), error=r"longer than|without line breaks"),
        Case("no-newline-900KB", imp("long.csv", "x" * 900_000), error=r"no rows|no date column|header"),
        Case("one-huge-line-api", al_load(lambda t: write(t, "long.csv", "1," * 600_000)), error=r"longer than"),
        Case("fifo-study-file", lambda t, h: cli("run", str(fifo(t, "s.yaml")), home=h), error=r"not found|not a regular|folder"),
        Case("fifo-factors-file", lambda t, h: cli("factors", str(fifo(t, "f.yaml")), home=h), error=r"does not exist|not a regular"),
        Case("symlink-into-store-import", imp("", lambda t: (t / "s.parquet").symlink_to(_base_file(t.parent / "home")) or t / "s.parquet"),
             check=expect_ds(tickers=["AAA", "BBB"]), changes=X),
    ]
    # Store names and options
    c += [
        Case("name-dotdot", imp("l.csv", LONG, name="../evil"), error=r"invalid dataset name"),
        Case("name-reserved", imp("l.csv", LONG, name="datasets"), error=r"reserved"),
        Case("name-slash", imp("l.csv", LONG, name="a/b"), error=r"invalid dataset name"),
        Case("name-case-twin", imp("l.csv", LONG, name="BASE"), error=r"differs only in case"),
        Case("exists-no-replace", imp("l.csv", LONG, name="base"), error=r"already exists"),
        Case("replace-base", imp("l.csv", LONG, "--replace", name="base"), check=expect_ds("base", tickers=["AAA", "BBB"], n_rows=4), changes=frozenset({"base"})),
        Case("market-mars-import", imp("l.csv", LONG, "--market", "mars"), error=r"unknown market 'mars'; known: us"),
        Case("adjusted-bad", imp("l.csv", LONG, "--adjusted", "maybe"), error=r"adjusted must be one of"),
        Case("map-no-equals", imp("l.csv", LONG, "--map", "close"), error=r"SRC=DST"),
        Case("map-absent-column", imp("l.csv", LONG, "--map", "Price=close"), error=r"lacks|absent"),
        Case("layout-bad", imp("l.csv", LONG, "--layout", "diagonal"), error=r"layout must be"),
        Case("show-absent", lambda t, h: cli("data", "show", "nope", home=h), error=r"not in the store"),
        Case("check-market-mars", lambda t, h: cli("data", "check", "base", "--market", "mars", home=h), error=r"unknown market 'mars'; known"),
        Case("check-html-into-store", lambda t, h: cli("data", "check", "base", "--html", str(h / "catalog.duckdb"), home=h), error=r"inside the store"),
        Case("remove-absent", lambda t, h: cli("data", "remove", "nope", "-y", home=h), error=r"not in the store"),
        Case("list-with-markup", lambda t, h: cli("data", "list", home=h), check=lambda o, t, h: None),
    ]
    # 4, 6. data query is read-only and prints literally
    c += [Case(f"query-{i}", query(sql), error=r"read-only|may read only|cannot parse|exactly one statement")
          for i, sql in enumerate([
              "COPY (SELECT 1 AS x) TO '{base}'",
              "EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{base}'",
              "EXPLAIN COPY (SELECT 1 AS x) TO '{base}'",
              "explain analyze copy (select 1 as x) to '{base}' (FORMAT PARQUET)",
              "EXPLAIN (ANALYZE) COPY (SELECT 1 AS x) TO '{base}'",
              "/* hi */ COPY base TO '{base}'",
              "WITH t AS (SELECT 1) COPY (SELECT * FROM t) TO '{base}'",
              "EXPORT DATABASE '{tmp}/exp'",
              "ATTACH '{tmp}/x.db' AS x",
              "DETACH x",
              "INSTALL httpfs",
              "LOAD httpfs",
              "PRAGMA version",
              "SET threads=1",
              "RESET threads",
              "CALL pragma_version()",
              "CHECKPOINT",
              "VACUUM",
              "CREATE TABLE t AS SELECT 1",
              "INSERT INTO datasets SELECT * FROM datasets",
              "UPDATE datasets SET market = 'x'",
              "DELETE FROM datasets",
              "DROP TABLE datasets",
              "ALTER TABLE datasets ADD COLUMN z INT",
              "PREPARE p AS COPY (SELECT 1) TO '{base}'",
              "SELECT 1; COPY (SELECT 1 AS x) TO '{base}'",
              "SELECT * FROM read_csv('/etc/passwd')",
              "SELECT * FROM read_text('/etc/hostname')",
              "SELECT * FROM read_parquet('{tmp}/../x.parquet')",
              "",
              "SELEC 1",
          ])]
    c += [
        Case("query-copy-in-string", query("SELECT 'COPY' AS x"), check=lambda o, t, h: _in(o, "COPY")),
        Case("query-quoted-keyword-column", query('SELECT 1 AS "copy"'), check=lambda o, t, h: _in(o, "copy")),
        Case("query-markup-close", query("SELECT '[/x]' AS a"), check=lambda o, t, h: _in(o, "[/x]")),
        Case("query-markup-bold", query("SELECT '[bold]hi[/bold]' AS \"[red]col\""), check=lambda o, t, h: _in(o, "[bold]hi[/bold]") or _in(o, "[red]col")),
        Case("query-right-answer", query("SELECT round(sum(close), 2) AS s FROM base WHERE ticker = 'AAA'"), check=lambda o, t, h: _in(o, str(round(sum(100.0 + d for d in range(30)), 2)))),
        Case("query-csv-into-store", query("SELECT 1 AS x", "--csv", "{base}"), error=r"inside the store"),
        Case("query-csv-over-catalogue", query("SELECT 1 AS x", "--csv", "{home}/catalog.duckdb"), error=r"inside the store"),
        Case("query-csv-new-in-store", query("SELECT 1 AS x", "--csv", "{home}/datasets/new.csv"), error=r"inside the store"),
        Case("query-csv-symlink-into-store", lambda t, h: (t / "l.csv").symlink_to(_base_file(h)) or cli("data", "query", "SELECT 1 AS x", "--csv", str(t / "l.csv"), home=h), error=r"inside the store"),
        Case("query-csv-a-folder", query("SELECT 1 AS x", "--csv", "{tmp}"), error=r"is a folder"),
        Case("query-csv-ok", query("SELECT 2 AS x", "--csv", "{tmp}/out.csv"), check=lambda o, t, h: _eq((t / "out.csv").read_text(), "x\n2\n")),
        Case("query-max-rows-negative", query("SELECT 1", "--max-rows", "-1"), error=r"-1|max-rows|Invalid value"),
    ]
    # 13. markets
    c += [
        Case("api-market-mars", al_load(lambda t: write(t, "l.csv", LONG), market="mars"), error=r"unknown market 'mars'; known: us"),
        Case("api-market-mars-embedded", lambda t, h: api(lambda: __import__("alphalab").load("sp500_20", market="mars")), error=r"unknown market"),
        Case("study-market-mars", study(OK_STUDY.replace("dataset: sp500_20", "dataset: sp500_20, market: mars")), error=r"unknown market 'mars'"),
        Case("factors-market-mars", factors("data: {source: sp500_20, market: mars}\n"), error=r"unknown market 'mars'"),
        Case("api-market-ok", al_load(lambda t: write(t, "l.csv", LONG), market="vn.hose"), check=lambda o, t, h: _eq(o.value.meta["market"], "vn.hose")),
    ]
    # 7-11. studies
    v = "validation: {walk_forward: {train: 1y, test: 6m}}\n"
    tune = "name: s\ndata: {dataset: sp500_20, start: 2015-01-01, end: 2016-12-31}\n" + v + "strategies: [{name: m, kind: momentum_topk, tune: {grid: {lookback: [20, 60]}, metric: %s}}]\n"
    c += [
        Case("evaluate-no-validation", study(OK_STUDY, command="evaluate"), error=r"evaluate needs a validation section"),
        Case("evaluate-holdout-no-validation", study(OK_STUDY, "--holdout", command="evaluate"), error=r"no sealed holdout"),
        Case("holdout-after-data", study(OK_STUDY.replace("strategies", "validation: {walk_forward: {train: 1y, test: 6m}, holdout: {start: 2030-01-01}}\nstrategies"), command="evaluate"),
             error=r"holdout.start 2030-01-01 is after the data's last date"),
        Case("tune-metric-happiness", study(tune % "happiness"), error=r"unknown tune metric 'happiness'; valid metrics: sharpe"),
        Case("tune-metric-number", study(tune % "3"), error=r"metric"),
        Case("tune-metric-empty", study(tune % "''"), error=r"unknown tune metric"),
    ]
    for key, val in [
        ("gates: {sharpe_min: .nan}", "gates.sharpe_min"),
        ("gates: {sharpe_min: .inf}", "gates.sharpe_min"),
        ("gates: {profit_factor_min: -.inf}", "gates.profit_factor_min"),
        ("gates: {beat_benchmark_by: .NaN}", "gates.beat_benchmark_by"),
        ("gates: {stress: {sharpe_min: .nan}}", "gates.stress.sharpe_min"),
        ("execution: {costs: {commission_bps: .nan}}", "execution.costs.commission_bps"),
        ("execution: {costs: {min_commission: .inf}}", "execution.costs.min_commission"),
        ("execution: {initial_cash: .inf}", "execution.initial_cash"),
        ("report: {rolling_window: .nan}", "report.rolling_window"),
        ("seed: .nan", "seed"),
    ]:
        c.append(Case(f"nan-{val}-{key[-6:]}", study(with_keys(key + "\n")), error=rf"{val}: must be a finite number"))
    c += [
        Case("nan-in-strategy-params", study(OK_STUDY.replace("kind: equal_weight}", "kind: momentum_topk, params: {lookback: .nan}}")), error=r"strategies\[0\].params.lookback: must be a finite"),
        Case("nan-in-tune-grid", study((tune % "sharpe").replace("[20, 60]", "[20, .nan]")), error=r"must be a finite number"),
    ]
    for val, ok in [("20000", False), ("10000", False), ("-1", False), ("1e9", False), ("9999", True)]:
        if not ok:
            c.append(Case(f"commission-{val}", study(with_keys(f"execution: {{costs: {{commission_bps: {val}}}}}\n")), error=r"execution.costs.commission_bps: must be"))
    c += [
        Case("slippage-absurd", study(with_keys("execution: {costs: {slippage_bps: 50000}}\n")), error=r"slippage_bps: must be <"),
        Case("min-commission-negative", study(with_keys("execution: {costs: {min_commission: -5}}\n")), error=r"min_commission: must be >="),
        Case("initial-cash-zero", study(with_keys("execution: {initial_cash: 0}\n")), error=r"initial_cash: must be >"),
        Case("initial-cash-absurd-string", study(with_keys("execution: {initial_cash: lots}\n")), error=r"initial_cash"),
    ]
    for key, text in [
        ("data.start", OK_STUDY.replace("start: 2015-01-01", "start: 2018-02-30")),
        ("data.end", OK_STUDY.replace("end: 2016-12-31", "end: 2019-13-01")),
        ("data.start", OK_STUDY.replace("start: 2015-01-01", "start: 2019-02-29")),
        ("data.start", OK_STUDY.replace("start: 2015-01-01", "start: '2018-02-30'")),
        ("validation.holdout.start", OK_STUDY.replace("strategies", "validation: {holdout: {start: 2016-04-31}}\nstrategies")),
        ("validation.stress.start", OK_STUDY.replace("strategies", "validation: {stress: {start: 2016-06-31, end: 2016-07-10}}\nstrategies")),
        ("execution.rebalance", with_keys("execution: {rebalance: [2016-02-30]}\n")),
        ("data.start", OK_STUDY.replace("start: 2015-01-01", "start: 2015-00-10")),
    ]:
        c.append(Case(f"bad-date-{key}-{len(c)}", study(text), error=rf"{key.replace('.', '.')}"))
    for where, text in [
        ("top", with_keys("colour: red\n")),
        ("data", OK_STUDY.replace("end: 2016-12-31", "end: 2016-12-31, dataset_typo: x")),
        ("execution", with_keys("execution: {timing: next_open}\n")),
        ("execution.costs", with_keys("execution: {costs: {comission_bps: 5}}\n")),
        ("strategies[0]", OK_STUDY.replace("kind: equal_weight}", "kind: equal_weight, weight: 1}")),
        ("report", with_keys("report: {colour: red}\n")),
        ("validation", with_keys("validation: {walkforward: {}}\n")),
        ("validation.walk_forward", with_keys("validation: {walk_forward: {trian: 1y}}\n")),
        ("validation.holdout", with_keys("validation: {holdout: {start: 2016-01-01, end: 2016-06-01}}\n")),
        ("gates", with_keys("gates: {sharpe: 1}\n")),
        ("gates.stress", with_keys("gates: {stress: {sharpe: 1}}\n")),
        ("executor", with_keys("executor: {kind: serial, nodes: 3}\n")),
        ("strategies[0].tune", (tune % "sharpe").replace("metric: sharpe", "metric: sharpe, trials: 3")),
        ("features", with_keys("features: {sets: [seed_ta], extra: 1}\n")),
        ("data.waive", with_keys("").replace("end: 2016-12-31", "end: 2016-12-31, waive: {happiness: because}")),
        ("data.repair", with_keys("").replace("end: 2016-12-31", "end: 2016-12-31, repair: [everything]")),
        ("data.waive-no-reason", with_keys("").replace("end: 2016-12-31", "end: 2016-12-31, waive: {bad_print: ''}")),
    ]:
        c.append(Case(f"unknown-key-{where}", study(text), error=r"unknown key|unknown (check|repair)|reason|extra|not permitted"))
    # YAML tricks
    bomb = "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    c += [
        Case("yaml-duplicate-key", study(OK_STUDY + "name: t\n"), error=r"duplicated key 'name'"),
        Case("yaml-alias-bomb", study(bomb), error=r"alias bomb"),
        Case("yaml-deep", study("a: " + "[" * 100 + "]" * 100 + "\n"), error=r"nested too deeply"),
        Case("yaml-list-top", study("- a\n- b\n"), error=r"must be a mapping"),
        Case("yaml-empty", study(""), error=r"empty"),
        Case("yaml-not-utf8", study(b"name: \xff\xfe\n"), error=r"not UTF-8"),
        Case("yaml-syntax", study("name: [unclosed\n"), error=r"YAML syntax error"),
        Case("yaml-2MB", study(OK_STUDY + "#" + "x" * (2 * 1024 * 1024) + "\n"), error=r"at most 1 MB"),
        Case("yaml-python-tag", study("!!python/object/apply:os.system ['echo hi']\n"), error=r"YAML syntax error|could not determine"),
        Case("yaml-merge-dup", study(OK_STUDY + "x: &x {a: 1}\ny: {<<: *x}\n"), error=r"unknown key"),
        Case("yaml-study-a-folder", lambda t, h: cli("run", str(t), home=h), error=r"folder"),
        Case("yaml-study-missing", lambda t, h: cli("run", str(t / "nope.yaml"), home=h), error=r"not found"),
        Case("run-out-under-file", lambda t, h: write(t, "f", "x") and cli("run", str(write(t, "s.yaml", OK_STUDY)), "--out", str(t / "f" / "run"), home=h), error=r"is a file"),
    ]
    # 18. Ray
    c += [
        Case("ray-closed-port", study(OK_STUDY, "--executor", "ray", "--address", "127.0.0.1:1", "--connect-timeout", "2"), error=r"cannot reach the Ray cluster at '127.0.0.1:1'"),
        Case("ray-bad-address", study(OK_STUDY, "--executor", "ray", "--address", "nowhere", "--connect-timeout", "2"), error=r"expected host:port"),
        Case("ray-unresolvable", study(OK_STUDY, "--executor", "ray", "--address", "no-such-host.invalid:6379", "--connect-timeout", "2"), error=r"cannot reach the Ray cluster at 'no-such-host.invalid:6379'"),
        Case("timeout-without-ray", study(OK_STUDY, "--connect-timeout", "2"), error=r"needs --executor ray|--address needs"),
        Case("timeout-zero", study(OK_STUDY, "--executor", "ray", "--connect-timeout", "0"), error=r"Invalid value|connect-timeout"),
        Case("address-without-ray", study(OK_STUDY, "--address", "127.0.0.1:1"), error=r"--address needs --executor ray"),
        Case("executor-unknown", study(OK_STUDY, "--executor", "mpi"), error=r"unknown executor"),
    ]
    # 14. factors
    fbase = "data: {source: sp500_20, start: 2016-01-01, end: 2016-06-30}\ncatalogue: {mom: 'close / delay(close, 5) - 1'}\n"
    c += [
        Case("factors-dotdot-name", factors("name: ../../../x\n" + fbase), error=r"name '\.\./\.\./\.\./x' must be"),
        Case("factors-slash-name", factors("name: a/b\n" + fbase), error=r"name 'a/b' must be"),
        Case("factors-abs-name", factors("name: /etc/x\n" + fbase), error=r"must be"),
        Case("factors-name-number", factors("name: 5\n" + fbase), error=r"must be"),
        Case("factors-horizon-five", factors(fbase + "horizon: five\n"), error=r"horizon must be a whole number"),
        Case("factors-horizon-zero", factors(fbase + "horizon: 0\n"), error=r"horizon must be between 1"),
        Case("factors-horizon-huge", factors(fbase + "horizon: 1000000000\n"), error=r"horizon must be between"),
        Case("factors-horizon-float", factors(fbase + "horizon: 2.5\n"), error=r"whole number"),
        Case("factors-horizon-nan", factors(fbase + "horizon: .nan\n"), error=r"finite number"),
        Case("factors-horizons-text", factors(fbase + "horizons: five\n"), error=r"horizons must be"),
        Case("factors-horizons-bool", factors(fbase + "horizons: [true]\n"), error=r"whole number"),
        Case("factors-quantiles-one", factors(fbase + "quantiles: 1\n"), error=r"at least 2"),
        Case("factors-duplicate-key", factors(fbase + "horizon: 5\nhorizon: 6\n"), error=r"duplicated key 'horizon'"),
        Case("factors-alias-bomb", factors(bomb), error=r"alias bomb"),
        Case("factors-unknown-key", factors(fbase + "colour: red\n"), error=r"unknown key\(s\) colour"),
        Case("factors-unknown-data-key", factors("data: {source: sp500_20, sauce: x}\n"), error=r"data: unknown key\(s\) sauce"),
        Case("factors-no-source", factors("data: {market: us}\n"), error=r"must give a 'source'"),
        Case("factors-list-top", factors("- 1\n"), error=r"mapping"),
        Case("factors-empty", factors(""), error=r"empty"),
        Case("factors-2MB", factors(fbase + "#" + "x" * (2 * 1024 * 1024)), error=r"at most 1 MB"),
        Case("factors-bad-date", factors("data: {source: sp500_20, start: 2016-02-30}\n"), error=r"data.start: '2016-02-30' is not a valid date"),
        Case("factors-mode-bad", factors("data: {source: sp500_20, mode: sloppy}\n"), error=r"mode must be strict or lenient"),
        Case("factors-groups-list", factors(fbase + "groups: [a]\n"), error=r"groups must map"),
        Case("factors-out-existing-file", lambda t, h: write(t, "o", "x") and factors(fbase, "--out", str(t / "o"))(t, h), error=r"is a file, not a folder"),
        Case("factors-out-under-file", lambda t, h: write(t, "o", "x") and factors(fbase, "--out", str(t / "o" / "sub"))(t, h), error=r"is a file, not a folder"),
        Case("factors-missing-file", lambda t, h: cli("factors", str(t / "nope.yaml"), home=h), error=r"does not exist"),
        Case("factors-missing-source", factors("data: {source: no_such_data}\n"), error=r"cannot find data source"),
    ]
    # schema / report
    c += [
        Case("schema-out-under-file", lambda t, h: write(t, "f", "x") and cli("schema", "--out", str(t / "f" / "s.json"), home=h), error=r"is a file, not a folder"),
        Case("schema-out-folder", lambda t, h: cli("schema", "--out", str(t), home=h), error=r"is a folder"),
        Case("schema-out-ok", lambda t, h: cli("schema", "--out", str(t / "a" / "s.json"), home=h), check=lambda o, t, h: _eq((t / "a" / "s.json").is_file(), True)),
        Case("report-on-file", lambda t, h: cli("report", str(write(t, "f", "x")), home=h), error=r"not a directory"),
        Case("report-no-manifest", lambda t, h: cli("report", str(t), home=h), error=r"not an alphalab run directory"),
    ]
    return c


def _in(out: Outcome, text: str) -> None:
    assert text in out.text, out.text


def _eq(a: Any, b: Any) -> None:
    assert a == b, (a, b)


CASES = _cases()
