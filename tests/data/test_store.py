"""The local store: round trips, catalogue, crash safety, concurrency, read-only SQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab.data.panel import Panel
from alphalab.data.store import (
    ENV_PAUSE,
    DatasetInfo,
    Store,
    check_adjustment_mix,
    default_root,
    validate_name,
)
from alphalab.errors import AlphalabError, DataError
from tests.conftest import shared_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


@pytest.fixture(scope="module")
def vn30_small() -> pd.DataFrame:
    df = pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
    return df[df["ticker"].isin(["HPG", "VNM", "FPT", "VRE"])].reset_index(drop=True)


def test_default_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "x"))
    assert default_root() == tmp_path / "x"
    assert Store().root == tmp_path / "x"
    monkeypatch.delenv("ALPHALAB_HOME")
    assert default_root() == Path.home() / ".alphalab"


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "..", "a..b", "/abs", ".hidden", "x" * 200, "x" * 129, "a b", "données", "日本",
            "a\x00b", "-rf", "a\\b", "a\nb", "abc\n", None, 5],
)
def test_bad_names_rejected(bad: str, store: Store, vn30_small: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="invalid dataset name"):
        validate_name(bad)
    with pytest.raises(DataError, match="invalid dataset name"):
        store.write(vn30_small, bad)
    assert not (store.root / "datasets").exists() or not any((store.root / "datasets").iterdir())


def test_roundtrip_real_file_matches_panel_from_long(store: Store) -> None:
    src = shared_file("vn30_2016_2019.parquet")
    info = store.import_file(src, "vn30", market="vn.hose", adjusted="adjusted")
    raw = pd.read_parquet(src)
    assert info.kind == "prices" and info.market == "vn.hose" and info.adjusted == "adjusted"
    assert info.n_tickers == raw["ticker"].nunique() == 30
    # The loaders' lenient validation drops the 7 OHLC-inconsistent rows and says so.
    assert info.meta["validation"]["n_dropped"] == 7
    assert info.n_rows == len(raw) - 7
    assert info.start_date == raw["date"].min() and info.end_date == raw["date"].max()
    assert set(info.fields) >= {"open", "high", "low", "close", "volume", "name"}
    panel = store.load("vn30")
    assert "name" not in panel  # text columns stay in the table, not in the Panel
    assert panel.meta["adjusted"] == "adjusted" and panel.meta["content_hash"] == info.content_hash
    clean = store.read_table("vn30")
    ref = Panel.from_long(clean, ["open", "high", "low", "close", "volume"])
    assert panel.dates.equals(ref.dates) and list(panel.assets) == list(ref.assets)
    for f in ref:
        np.testing.assert_array_equal(panel[f], ref[f])


def test_load_filters_and_grid_path(store: Store) -> None:
    dates = pd.bdate_range("2020-01-01", periods=50)
    tick = ["B", "A", "C"]
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {"date": np.repeat(dates, 3), "ticker": tick * 50, "close": rng.random(150) + 1}
    )
    store.write(df, "grid")
    full = store.load("grid")
    assert list(full.assets) == ["A", "B", "C"]
    wide = df.pivot(index="date", columns="ticker", values="close")
    np.testing.assert_array_equal(full["close"], wide.to_numpy())
    part = store.load("grid", start=dates[10], end=dates[19], tickers=["C", "A"])
    assert part.shape == (10, 2) and list(part.assets) == ["C", "A"]
    np.testing.assert_array_equal(part["close"], wide.loc[dates[10]:dates[19], ["C", "A"]].to_numpy())
    # An incomplete grid goes through the scatter path and gives the same result.
    holes = df.drop(index=[4, 77]).reset_index(drop=True)
    store.write(holes, "holes")
    p = store.load("holes")
    ref = Panel.from_long(holes, ["close"])
    np.testing.assert_array_equal(p["close"], ref["close"])
    assert np.isnan(p["close"]).sum() == 2


def test_catalogue_list_show_remove(store: Store, vn30_small: pd.DataFrame) -> None:
    store.write(vn30_small, "a", source="test", market="vn.hose")
    store.write(vn30_small.iloc[:100], "b", source="test")
    cat = store.list()
    assert list(cat["name"]) == ["a", "b"]
    assert cat.set_index("name").loc["b", "n_rows"] == 100
    with pytest.raises(DataError, match="already exists"):
        store.write(vn30_small, "a")
    store.remove("a")
    assert store.names() == ["b"]
    assert not (store.root / "datasets" / "a").exists()
    with pytest.raises(DataError, match="'a' is not in the store"):
        store.load("a")


def test_replace_keeps_single_file_and_changes_hash(store: Store, vn30_small: pd.DataFrame) -> None:
    first = store.write(vn30_small, "x")
    second = store.write(vn30_small.iloc[:500], "x", replace=True)
    assert first.content_hash != second.content_hash
    files = list((store.root / "datasets" / "x").iterdir())
    assert files == [store.root / second.path]


def test_duplicates_and_empty_rejected(store: Store, vn30_small: pd.DataFrame) -> None:
    dup = pd.concat([vn30_small, vn30_small.iloc[[5]]])
    with pytest.raises(DataError, match="duplicated"):
        store.write(dup, "dup")
    with pytest.raises(DataError, match="empty"):
        store.write(vn30_small.iloc[:0], "empty")


def test_non_price_tables(store: Store) -> None:
    fund = pd.read_parquet(shared_file("vn_fundamentals_quarterly_2016_2023.parquet"))
    info = store.write(fund, "vnf", market="vn.hose")
    assert info.kind == "fundamentals" and info.n_rows == 2072 and info.n_tickers == 74
    back = store.read_table("vnf")
    assert len(back) == 2072 and back["pe"].notna().sum() == fund["pe"].notna().sum()
    with pytest.raises(DataError, match="not prices"):
        store.load("vnf")
    ind = pd.read_parquet(shared_file("cn_industry_citic.parquet"))
    assert store.write(ind, "ind").kind == "table"


def test_query_read_only(store: Store, vn30_small: pd.DataFrame) -> None:
    store.write(vn30_small, "vn30s")
    out = store.query("SELECT ticker, count(*) AS n FROM vn30s GROUP BY ticker ORDER BY ticker")
    expect = vn30_small.groupby("ticker").size()
    assert dict(zip(out["ticker"], out["n"], strict=True)) == expect.to_dict()
    assert store.query("WITH t AS (SELECT 1 AS one) SELECT * FROM t")["one"].iloc[0] == 1
    assert "name" in set(store.query("DESCRIBE vn30s")["column_name"])
    cat = store.query("SELECT name, n_rows FROM datasets")
    assert cat["n_rows"].iloc[0] == len(vn30_small)
    for sql in (
        "DELETE FROM datasets",
        "DROP TABLE datasets",
        "CREATE TABLE t AS SELECT 1",
        f"COPY (SELECT 1) TO '{store.root / 'out.csv'}'",
        "SELECT 1; DELETE FROM datasets",
        "INSERT INTO datasets VALUES (1)",
        "ATTACH 'x.db'",
    ):
        with pytest.raises(DataError, match=r"read-only|one statement|parse"):
            store.query(sql)
    assert store.names() == ["vn30s"]
    assert not (store.root / "out.csv").exists()


def test_adjustment_mix_refused() -> None:
    def info(name: str, adjusted: str, kind: str = "prices") -> DatasetInfo:
        return DatasetInfo(name, kind, None, None, adjusted, [], [], 0, None, None, 0, "h", "p",
                           pd.Timestamp("2020-01-01"))

    check_adjustment_mix([info("a", "raw"), info("b", "raw"), info("c", "unknown")])
    check_adjustment_mix([info("a", "raw"), info("f", "adjusted", kind="fundamentals")])
    with pytest.raises(DataError, match="a=raw, b=adjusted"):
        check_adjustment_mix([info("a", "raw"), info("b", "adjusted")])
    check_adjustment_mix([info("a", "raw"), info("b", "adjusted")], allow_mixed=True)
    # Panels carry their state in meta (store loads and embedded data).
    dates = pd.bdate_range("2020-01-01", periods=3)
    p_raw = Panel({"close": np.ones((3, 1))}, dates, ["X"], {"dataset": "cn", "adjusted": "raw"})
    p_adj = Panel({"close": np.ones((3, 1))}, dates, ["Y"], {"source": "bench", "adjusted": True})
    p_unk = Panel({"close": np.ones((3, 1))}, dates, ["Z"])
    check_adjustment_mix([p_raw, p_unk])
    with pytest.raises(DataError, match="cn=raw, bench=adjusted"):
        check_adjustment_mix([p_raw, p_adj])


def test_append_only_adds_new_dates(store: Store, vn30_small: pd.DataFrame) -> None:
    cut = vn30_small["date"].quantile(0.7)
    store.write(vn30_small[vn30_small["date"] <= cut], "ap", market="vn.hose", adjusted="adjusted")
    info = store.append("ap", vn30_small)
    assert info.n_rows == len(vn30_small) and info.end_date == vn30_small["date"].max()
    assert info.adjusted == "adjusted" and info.market == "vn.hose"


# ----------------------------------------------------------- crash safety
_IMPORTER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from alphalab.data.store import Store
    df = pd.read_parquet(sys.argv[2])
    print("start", flush=True)
    Store(sys.argv[1]).write(df, "ds", replace=True)
    print("done", flush=True)
    """
)


def _spawn(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=full_env,
    )


def _wait_for_new_file(folder: Path, known: set[Path], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"importer exited early: {proc.stderr.read() if proc.stderr else ''}")
        new = [p for p in folder.iterdir() if p not in known and not p.name.startswith(".tmp")]
        if new:
            return
        time.sleep(0.02)
    pytest.fail("importer never wrote its file")


def test_killed_import_leaves_store_consistent(store: Store, vn30_small: pd.DataFrame, tmp_path: Path) -> None:
    old = store.write(vn30_small, "ds")
    before = store.load("ds")
    src = tmp_path / "new.parquet"
    vn30_small.iloc[:300].to_parquet(src)
    folder = store.root / "datasets" / "ds"
    known = set(folder.iterdir())
    proc = _spawn(_IMPORTER, str(store.root), str(src), env={ENV_PAUSE: "60"})
    try:
        # The new data file is in place; the catalogue commit has not happened.
        _wait_for_new_file(folder, known, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    info = store.info("ds")
    assert info.content_hash == old.content_hash and info.n_rows == old.n_rows
    after = store.load("ds")
    np.testing.assert_array_equal(after["close"], before["close"])
    # The orphan is invisible to readers and swept by the next write / gc.
    assert len(list(folder.iterdir())) == 2
    removed = store.gc()
    assert len(removed) == 1 and list(folder.iterdir()) == [store.root / old.path]
    assert store.query("SELECT count(*) AS n FROM ds")["n"].iloc[0] == old.n_rows


_READER = textwrap.dedent(
    """
    import os, sys, time
    from alphalab.data.store import Store
    s = Store(sys.argv[1], lock_timeout=20)
    stop = sys.argv[2]
    print(s.load("ds").meta["content_hash"], flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < deadline:
        p = s.load("ds")
        assert p.n_assets == 4, p
        print(p.meta["content_hash"], flush=True)
    """
)


def _read_until(reader: subprocess.Popen[str], want: str) -> int:
    """Lines the reader printed until it reported loading version ``want``."""
    assert reader.stdout is not None
    n = 0
    for line in reader.stdout:
        n += 1
        if line.strip() == want:
            return n
    pytest.fail(f"reader stopped before it saw version {want}: {reader.stderr.read() if reader.stderr else ''}")


def test_readers_keep_working_during_writes(store: Store, vn30_small: pd.DataFrame, tmp_path: Path) -> None:
    first = store.write(vn30_small, "ds")
    stop = tmp_path / "stop"
    reader = _spawn(_READER, str(store.root), str(stop))
    try:
        _read_until(reader, first.content_hash)
        # Each write lands while the reader loops; wait (no timing guess) until
        # the reader has loaded that very version before writing the next one.
        hashes = {first.content_hash}
        for k in range(4):
            info = store.write(vn30_small.sample(frac=0.5 + 0.1 * k, random_state=k), "ds", replace=True)
            hashes.add(info.content_hash)
            _read_until(reader, info.content_hash)
        stop.touch()
        _, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    assert len(hashes) == 5  # every write was a new version, and the reader saw each one


# ------------------------------------------------------------------- CLI
def test_cli_import_list_show_query_check_remove(tmp_path: Path) -> None:
    import json as _json

    from typer.testing import CliRunner

    from alphalab.data.cli_data import data_app

    runner = CliRunner(env={"COLUMNS": "200"})
    home = ["--home", str(tmp_path / "h")]
    src = tmp_path / "in.csv"
    raw = pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
    raw = raw[raw["ticker"].isin(["HPG", "PNJ", "VNM"])].rename(columns={"ticker": "Symbol"})
    raw.to_csv(src, index=False)
    res = runner.invoke(data_app, ["import", str(src), "--name", "vn3", "--market", "vn.hose",
                                   "--map", "Symbol=ticker", "--adjusted", "adjusted", *home])
    assert res.exit_code == 0, res.output
    assert "imported vn3" in res.output and "3 tickers" in res.output
    res = runner.invoke(data_app, ["list", *home])
    assert res.exit_code == 0 and "vn3" in res.output and "vn.hose" in res.output
    res = runner.invoke(data_app, ["show", "vn3", *home])
    shown = _json.loads(res.output)
    assert shown["n_tickers"] == 3 and shown["adjusted"] == "adjusted"
    res = runner.invoke(data_app, ["query", "SELECT count(DISTINCT ticker) AS n FROM vn3", *home])
    assert res.exit_code == 0 and "3" in res.output
    res = runner.invoke(data_app, ["query", "DROP TABLE datasets", *home])
    assert res.exit_code == 2 and "read-only" in res.output
    res = runner.invoke(data_app, ["check", "vn3", "--json", *home])
    report = _json.loads(res.output)
    assert res.exit_code == 0 and report["counts"]["band_breach"] >= 2  # HPG / PNJ 2016 drops
    res = runner.invoke(data_app, ["import", str(src), "--name", "../evil", *home])
    assert res.exit_code == 2 and "invalid dataset name" in res.output
    res = runner.invoke(data_app, ["show", "nope", *home])
    assert res.exit_code == 2 and "'nope' is not in the store" in res.output
    res = runner.invoke(data_app, ["update", "vn3", "--end", "2019-06-14", *home])
    assert res.exit_code == 0 and "up to date" in res.output
    # The file grows: update re-reads it with the same --map and appends the new dates.
    full = pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
    full = full[full["ticker"].isin(["HPG", "PNJ", "VNM"])]
    raw[raw["date"] <= "2018-12-31"].to_csv(src, index=False)
    runner.invoke(data_app, ["import", str(src), "--name", "vn3", "--map", "Symbol=ticker", "--replace", *home])
    full.rename(columns={"ticker": "Symbol"}).to_csv(src, index=False)
    res = runner.invoke(data_app, ["update", "vn3", "--end", "2019-12-31", *home])
    assert res.exit_code == 0 and "added" in res.output, res.output
    assert Store(tmp_path / "h").info("vn3").end_date == full["date"].max()
    res = runner.invoke(data_app, ["remove", "vn3", "--yes", *home])
    assert res.exit_code == 0 and Store(tmp_path / "h").names() == []


def test_al_load_resolves_store_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vn30_small: pd.DataFrame) -> None:
    from alphalab.data.load import load

    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "home"))
    Store().write(vn30_small, "my_vn", market="vn.hose", adjusted="adjusted")
    panel = load("my_vn", fields=["close"], start="2017-01-01")
    assert panel.meta["market"] == "vn.hose" and panel.meta["adjusted"] == "adjusted"
    assert panel.dates[0] >= pd.Timestamp("2017-01-01") and panel.field_names == ["close"]
    ref = Store().load("my_vn", ["close"], start="2017-01-01")
    np.testing.assert_array_equal(panel["close"], ref["close"])


@settings(max_examples=10, deadline=None)
@given(
    n_d=st.integers(1, 12), n_a=st.integers(1, 6), keep=st.floats(0.05, 1.0), seed=st.integers(0, 10_000),
    intraday=st.booleans(),
)
def test_store_roundtrip_matches_panel_from_long(n_d: int, n_a: int, keep: float, seed: int, intraday: bool) -> None:
    """Fast load paths (grid reshape, day lookup, scatter) agree with Panel.from_long."""
    import tempfile

    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_d)
    if intraday:
        dates = dates + pd.Timedelta(hours=15, minutes=30)
    grid = pd.DataFrame({"date": np.repeat(dates, n_a), "ticker": [f"t{j}" for j in range(n_a)] * n_d})
    df = grid.sample(frac=keep, random_state=seed) if keep < 1 else grid.sample(frac=1.0, random_state=seed)
    if df.empty:
        df = grid.iloc[:1]
    df = df.assign(close=rng.normal(size=len(df)), volume=rng.integers(0, 5, len(df)).astype(float))
    df.loc[df.index[:1], "close"] = np.nan
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        store.write(df, "p")
        got = store.load("p")
    ref = Panel.from_long(df, ["close", "volume"])
    assert got.dates.equals(ref.dates) and list(got.assets) == list(ref.assets)
    for f in ("close", "volume"):
        np.testing.assert_array_equal(got[f], ref[f])


def test_threads_read_while_another_thread_writes(store: Store, vn30_small: pd.DataFrame) -> None:
    import threading

    store.write(vn30_small, "ds")
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                assert store.load("ds", ["close"]).n_assets == 4
                # SQL scans the file the catalogue named a moment ago: a replace
                # in between is retried, never reported as a missing file.
                assert store.query("SELECT count(DISTINCT ticker) AS n FROM ds")["n"].iloc[0] == 4
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for k in range(4):
            store.write(vn30_small.sample(frac=0.9, random_state=k), "ds", replace=True)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors[0]


# ------------------------------------------------------------- hostile input
def test_query_cannot_read_files_outside_the_store(store: Store, vn30_small: pd.DataFrame, tmp_path: Path) -> None:
    store.write(vn30_small, "ds")
    secret = tmp_path / "secret.csv"
    secret.write_text("user,password\nroot,hunter2\n")
    outside = shared_file("vn30_2016_2019.parquet")
    inside = store.root / store.info("ds").path
    for sql in (
        f"SELECT * FROM read_csv('{secret}')",
        f"SELECT * FROM read_csv_auto('{secret}')",
        f"SELECT * FROM read_text('{secret}')",
        f"SELECT * FROM glob('{tmp_path}/*')",
        f"SELECT * FROM read_parquet('{outside}')",
        f"SELECT * FROM '{outside}'",
        f"SELECT * FROM read_parquet('{store.root}/datasets/../../secret.csv')",
        f"SELECT * FROM read_csv('{store.catalog_path}')",
        f"WITH t AS (SELECT * FROM read_csv('{secret}')) SELECT * FROM t",
        f"SELECT * FROM sniff_csv('{secret}')",
    ):
        with pytest.raises(DataError, match="only the store's datasets"):
            store.query(sql)
    # The store's own data stays queryable, by view and by path.
    assert store.query(f"SELECT count(*) AS n FROM read_parquet('{inside}')")["n"].iloc[0] == len(vn30_small)
    assert store.query("SELECT count(*) AS n FROM ds")["n"].iloc[0] == len(vn30_small)


@pytest.mark.parametrize("bad", ["datasets", "DATASETS", "con", "NUL", "aux.csv", "com1", "LPT9.x", "prn"])
def test_reserved_names_rejected(bad: str) -> None:
    with pytest.raises(DataError, match="reserved"):
        validate_name(bad)


def test_names_differing_only_in_case_collide(store: Store, vn30_small: pd.DataFrame) -> None:
    store.write(vn30_small, "abc")
    # SQL identifiers (and some filesystems) ignore case: 'ABC' would shadow 'abc'.
    with pytest.raises(DataError, match="differs only in case from 'abc'"):
        store.write(vn30_small.iloc[:10], "ABC")
    assert store.names() == ["abc"]
    assert store.query("SELECT count(*) AS n FROM ABC")["n"].iloc[0] == len(vn30_small)
    store.write(vn30_small.iloc[:10], "abc", replace=True)  # the same name replaces as before


def test_import_of_only_nan_prices_names_the_file_and_rules(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "nan.csv"
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=5).repeat(2), "ticker": ["A", "B"] * 5,
                  "close": np.nan}).to_csv(src, index=False)
    with pytest.raises(DataError, match=r"nan\.csv.*all 10 rows failed validation.*close"):
        store.import_file(src, "allnan")
    assert store.names() == []


@pytest.mark.parametrize("content", [b"", b"date,ticker,close\n", b"not a table \x00\xff"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_import_of_empty_or_junk_files(store: Store, tmp_path: Path, content: bytes, suffix: str) -> None:
    src = tmp_path / f"bad{suffix}"
    src.write_bytes(content)
    with pytest.raises(DataError, match=r"bad\.(csv|parquet)"):
        store.import_file(src, "bad")
    assert store.names() == []


def test_missing_or_corrupt_dataset_file_is_named(store: Store, vn30_small: pd.DataFrame) -> None:
    gone = store.write(vn30_small, "gone")
    bad = store.write(vn30_small, "bad")
    store.write(vn30_small.iloc[:50], "ok")
    (store.root / gone.path).unlink()
    path = store.root / bad.path
    path.write_bytes(path.read_bytes()[:100])
    for call in (lambda: store.load("gone"), lambda: store.read_table("gone")):
        with pytest.raises(DataError, match=r"dataset 'gone'.*missing.*data remove gone"):
            call()
    with pytest.raises(DataError, match=r"dataset 'bad'.*not readable"):
        store.load("bad")
    # The other datasets stay queryable; naming the broken one says what is wrong.
    assert store.query("SELECT count(*) AS n FROM ok")["n"].iloc[0] == 50
    with pytest.raises(DataError, match=r"dataset 'gone'.*missing"):
        store.query("SELECT count(*) FROM gone")
    store.remove("gone")
    assert store.names() == ["bad", "ok"]


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty"])
def test_corrupt_catalogue_gives_clear_error(store: Store, vn30_small: pd.DataFrame, damage: str) -> None:
    store.write(vn30_small, "ds")
    raw = store.catalog_path.read_bytes()
    store.catalog_path.write_bytes({"garbage": b"junk" * 100, "truncate": raw[: len(raw) // 2], "empty": b""}[damage])
    for call in (store.list, lambda: store.load("ds"), lambda: store.write(vn30_small, "x")):
        with pytest.raises(DataError, match=r"catalog\.duckdb"):
            call()


def test_store_root_that_is_a_file(tmp_path: Path, vn30_small: pd.DataFrame) -> None:
    (tmp_path / "afile").write_text("x")
    for root in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        s = Store(root)
        for call in (s.list, lambda s=s: s.write(vn30_small, "ds")):
            with pytest.raises(DataError, match=r"afile.*not a folder"):
                call()
    assert (tmp_path / "afile").read_text() == "x"


def test_cli_hostile_input_exits_2_with_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alphalab.data.cli_data import data_app

    runner = CliRunner(env={"COLUMNS": "200"})
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty.csv").write_text("")
    cases = [
        ["import", str(tmp_path / "empty.csv"), "--name", "e", "--home", str(tmp_path / "h")],
        ["list", "--home", str(tmp_path / "afile")],
        ["query", f"SELECT * FROM read_csv('{tmp_path / 'empty.csv'}')", "--home", str(tmp_path / "h")],
    ]
    for args in cases:
        res = runner.invoke(data_app, args)
        assert res.exit_code == 2 and res.output.startswith("error:"), (args, res.output)


def test_write_and_append_argument_errors(store: Store, vn30_small: pd.DataFrame) -> None:
    small = vn30_small.iloc[:40]
    cases = [
        (lambda: store.write([1, 2], "x"), "pandas DataFrame, got list"),  # type: ignore[arg-type]
        (lambda: store.write(small, "x", market="zz"), "unknown market 'zz'"),
        (lambda: store.write(small.drop(columns="date"), "x", kind="prices"), "lacks column.*'date'"),
        (lambda: store.write(pd.concat([small, small[["close"]]], axis=1), "x"), "duplicated column.*'close'"),
        (lambda: store.write(small.assign(date=small["date"].astype(str).where(small.index != small.index[3], "32/13/2019")),
                             "x"), r"column 'date'.*'32/13/2019'"),
        (lambda: store.append("nope", small), "'nope' is not in the store"),
    ]
    for call, message in cases:
        with pytest.raises(AlphalabError, match=message):  # DataError, MarketRuleError
            call()
    assert store.names() == []
    store.write(small, "ds")
    with pytest.raises(DataError, match="pandas DataFrame"):
        store.append("ds", [1])  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"lack column.*'date'"):
        store.append("ds", small.drop(columns="date"))
    assert store.info("ds").n_rows == 40


def test_load_and_read_argument_errors(store: Store, vn30_small: pd.DataFrame) -> None:
    store.write(vn30_small, "ds")
    with pytest.raises(DataError, match=r"no column\(s\) \['nope'\]"):
        store.read_table("ds", columns=["date", "nope"])  # was: silently fewer columns
    with pytest.raises(DataError, match=r"fields=\[\]"):
        store.load("ds", fields=[])
    np.testing.assert_array_equal(store.load("ds", fields="close")["close"], store.load("ds", ["close"])["close"])
    with pytest.raises(DataError, match=r"start.*'garbage'"):
        store.load("ds", start="garbage")


def test_import_mapping_that_duplicates_a_column(store: Store, tmp_path: Path) -> None:
    src = shared_file("vn30_2016_2019.parquet")
    with pytest.raises(DataError, match=r"'date', 'ticker' would all be named 'date'"):
        store.import_file(src, "m", mapping={"ticker": "date"})
    with pytest.raises(DataError, match=r"tmp.*: is a directory, not a file$"):
        store.import_file(tmp_path, "m")
    assert store.names() == []
