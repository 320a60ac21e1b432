"""The ``alphalab`` command line through typer's CliRunner, and ``python -m alphalab``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from alphalab import __version__
from alphalab.cli import app
from alphalab.config import study_schema
from alphalab.markets import list_markets

runner = CliRunner()


def _invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("demo") / "run"
    result = _invoke("demo", "--out", str(out))
    return result, out


def test_demo_writes_the_report(demo_run: tuple[Result, Path]) -> None:
    result, out = demo_run
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    assert "report.html" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert {
        "buy_and_hold",
        "equal_weight",
        "fixed_defensive",
        "inverse_vol",
        "min_variance",
        "mean_variance",
        "benchmark",
    } <= set(metrics)
    equity = pd.read_parquet(out / "equity.parquet")
    assert equity.index[0].year == 2010 and equity.index[-1].year == 2022
    manifest = json.loads((out / "manifest.json").read_text())
    # Timings are recorded, never asserted (speed lives in benchmarks/).
    assert {"load", "strategies", "report", "total"} <= set(manifest["timings"])


def test_run_a_study_file(tmp_path: Path, us_sp500_long: pd.DataFrame) -> None:
    df = us_sp500_long
    df = df[(df["date"] >= "2017-01-01") & df["ticker"].isin(["AAPL", "MSFT", "XOM", "JNJ"])]
    df.to_parquet(tmp_path / "p.parquet", index=False)
    study = {
        "name": "cli",
        "data": {"dataset": "p.parquet", "benchmark": "MSFT", "start": "2017-03-01"},
        "execution": {"at": "next_close", "rebalance": "weekly"},
        "strategies": [{"name": "ew", "kind": "equal_weight"}],
        "report": {"charts": False, "html": False},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    result = _invoke("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "metrics.json").is_file()
    assert "ew" in result.output and "benchmark" in result.output
    assert not (tmp_path / "out" / "report.html").exists()
    result = _invoke("report", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").is_file() and "report.html" in result.output


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            "name: x\ndata: {dataset: sp500_20}\nstrategies: [{name: a, kind: nope}]\n",
            "strategies[0].kind: unknown strategy kind 'nope'",
        ),
        (
            "name: x\ndata: {dataset: sp500_20}\nstrategies: [{name: a, kind: equal_weight}]\ncolour: red\n",
            "colour: unknown key",
        ),
        ("name: x\ndata: [oops\n", "YAML syntax error"),
        (
            "name: x\ndata: {dataset: sp500_20}\nstrategies: [{name: a, kind: fixed, "
            "params: {weights: {'[bold]ZZZ': 1}}}]\n",
            "strategy 'a' (fixed): fixed: weights name ticker(s) ['[bold]ZZZ']",
        ),
        (
            "name: x\ndata: {dataset: missing.parquet}\nstrategies: [{name: a, kind: equal_weight}]\n",
            "missing.parquet",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and needle in " ".join(lines), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_study_and_run_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "none.yaml" in result.output
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "not an alphalab run directory" in result.output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\n")
    result = runner.invoke(app, ["--debug", "run", str(path)])
    assert result.exit_code != 2
    assert result.exception is not None and "strategies" in str(result.exception)


def test_markets_version_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphalab import cli

    # The module's console fixed its width when first imported (under xdist, before COLUMNS).
    monkeypatch.setattr(cli.console, "width", 200)
    result = runner.invoke(app, ["markets"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for code in list_markets():
        assert code in result.output
    assert "T+2" in result.output
    result = _invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output
    result = _invoke("schema")
    assert json.loads(result.output) == study_schema()
    result = _invoke("schema", "--out", str(tmp_path / "s.json"))
    assert json.loads((tmp_path / "s.json").read_text()) == study_schema()


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alphalab", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


# ------------------------------------------------------------ hostile input
_OK = "name: x\ndata: {dataset: sp500_20}\nstrategies: [{name: a, kind: equal_weight}]\n"
_BOMB = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def _one_error(result: Result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and needle in " ".join(result.output.split()), result.output


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"name: x\xff\n", "not UTF-8 text"),
        (b"- a\n- b\n", "must be a mapping of keys, got a list"),
        (b"", "the study file is empty"),
        ((_OK + "#" + "x" * (10 * 2**20)).encode(), "a study file may be at most 1 MB"),
        ((_BOMB + "name: x\n").encode(), "alias bomb"),
        (_OK.replace("sp500_20}", "sp500_20}\nexecution: {initial_cash: .nan}").encode(),
         "execution.initial_cash: must be a finite number"),
        (_OK.replace("sp500_20}", "sp500_20}\nexecution: {initial_cash: -1}").encode(),
         "execution.initial_cash: must be > 0"),
        (_OK.replace("[{name: a, kind: equal_weight}]", "[]").encode(),
         "at least one strategy is needed"),
        (_OK.replace("name: x\n", "name: x\nname: y\n").encode(), "duplicated key 'name'"),
        (_OK.replace("sp500_20}", "sp500_20, tickers: [ZZZ1, ZZZ2]}").encode(),
         "ticker(s) not in the data: 'ZZZ1', 'ZZZ2'"),
    ],
    ids=["non-utf8", "list", "empty", "10-MB", "alias-bomb", "nan-cash", "negative-cash",
         "no-strategies", "duplicate-key", "unknown-tickers"],
)  # fmt: skip
def test_hostile_study_files(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    _one_error(result, needle)
    if b"tickers" in content:
        assert "error: data.tickers: " in result.output
    assert not (tmp_path / "o").exists()


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(_OK + "report: {charts: false, html: false}\n")
    afile = tmp_path / "afile"
    afile.write_text("precious")
    _one_error(runner.invoke(app, ["run", str(path), "--out", str(afile)]), "is a file")
    assert afile.read_text() == "precious"


def test_report_on_broken_run_dirs(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(_OK + "report: {charts: false, html: false}\n")
    run_dir = tmp_path / "run"
    assert runner.invoke(app, ["run", str(path), "--out", str(run_dir)]).exit_code == 0
    _one_error(runner.invoke(app, ["report", str(run_dir / "metrics.json")]), "not a directory")
    equity = run_dir / "equity.parquet"
    equity.write_bytes(equity.read_bytes()[: equity.stat().st_size // 2])
    _one_error(runner.invoke(app, ["report", str(run_dir)]), "equity.parquet: cannot read parquet")
    (run_dir / "manifest.json").write_text('{"study": "x", ')
    _one_error(runner.invoke(app, ["report", str(run_dir)]), "manifest.json: not valid JSON")
