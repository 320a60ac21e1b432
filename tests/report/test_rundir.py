"""Reading a run directory: what is required, what is optional, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab.errors import DataError
from alphalab.report import read_run, safe_name
from tests.report.conftest import HOSTILE


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def test_read_run_reads_every_file(run_dir: Path) -> None:
    run = read_run(run_dir)
    assert run.strategies == ["equal_weight", "AAPL only", HOSTILE, "mom long/short"]
    assert run.benchmark == "benchmark"
    assert run.study_name == "sp500-report-fixture"
    assert run.returns.shape == (1259, 5)
    assert isinstance(run.returns.index, pd.DatetimeIndex)
    assert run.returns.index[0] == pd.Timestamp("2013-02-08")
    # The hostile name's weights sit under its sanitised file name and are still found.
    assert set(run.weights) == set(run.strategies)
    assert run.weights[HOSTILE].shape == (1259, 20)
    assert run.trades is not None and set(run.trades["strategy"]) == set(run.strategies)
    assert run.rejected is not None and "reason" in run.rejected.columns
    assert set(run.costs) == set(run.strategies)
    assert run.gates is not None and run.health is not None
    assert run.config_text is not None and "seed: 7" in run.config_text


@pytest.mark.parametrize(
    "name", ["manifest.json", "metrics.json", "equity.parquet", "returns.parquet"]
)
def test_missing_required_file_is_named(run_dir: Path, tmp_path: Path, name: str) -> None:
    d = _copy(run_dir, tmp_path)
    (d / name).unlink()
    with pytest.raises(DataError, match=name.replace(".", r"\.")):
        read_run(d)


def test_optional_files_may_be_absent(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    for name in (
        "trades.parquet",
        "rejected.parquet",
        "costs.json",
        "config.yaml",
        "gates.json",
        "health.json",
    ):
        (d / name).unlink()
    shutil.rmtree(d / "weights")
    run = read_run(d)
    assert run.trades is None and run.rejected is None and run.gates is None
    assert run.weights == {} and run.costs == {} and run.config_text is None


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_run(tmp_path / "nope")


def test_bad_json_names_file_and_line(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    (d / "metrics.json").write_text('{"a": {"sharpe": 1.0},\n oops}')
    with pytest.raises(DataError, match=r"metrics\.json: not valid JSON \(line 2"):
        read_run(d)


def test_metrics_must_be_nested_mapping(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    (d / "metrics.json").write_text(json.dumps({"a": 1.0}))
    with pytest.raises(DataError, match=r"metrics\.json"):
        read_run(d)


def test_unsorted_dates_rejected(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    ret = pd.read_parquet(d / "returns.parquet")
    ret.iloc[::-1].to_parquet(d / "returns.parquet")
    with pytest.raises(DataError, match=r"returns\.parquet: dates are not sorted"):
        read_run(d)


def test_columns_must_agree(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    eq = pd.read_parquet(d / "equity.parquet")
    eq.drop(columns=["benchmark"]).to_parquet(d / "equity.parquet")
    with pytest.raises(DataError, match="differ"):
        read_run(d)


def test_non_numeric_column_named(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    ret = pd.read_parquet(d / "returns.parquet")
    ret["equal_weight"] = "x"
    ret.to_parquet(d / "returns.parquet")
    with pytest.raises(DataError, match="'equal_weight' is not numeric"):
        read_run(d)


def test_date_column_layout_accepted(run_dir: Path, tmp_path: Path) -> None:
    # A writer that keeps the dates as a column instead of the index is read the same.
    d = _copy(run_dir, tmp_path)
    for name in ("equity.parquet", "returns.parquet"):
        pd.read_parquet(d / name).reset_index().to_parquet(d / name, index=False)
    run = read_run(d)
    ref = read_run(run_dir)
    np.testing.assert_array_equal(run.returns.to_numpy(), ref.returns.to_numpy())
    assert run.returns.index.equals(ref.returns.index)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("equal_weight", "equal_weight"),
        ("AAPL only", "AAPL_only"),
        (HOSTILE, "script_alert_1_script"),
        ("../../etc/passwd", "etc_passwd"),
        ("...", "strategy"),
        ("momentum-top.5", "momentum-top.5"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_long_tables_checked_for_columns(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    rej = pd.read_parquet(d / "rejected.parquet")
    rej.drop(columns=["reason"]).to_parquet(d / "rejected.parquet")
    with pytest.raises(DataError, match=r"rejected\.parquet: missing column\(s\) \['reason'\]"):
        read_run(d)
    # An empty table without columns (a run with no rejection at all) is fine.
    pd.DataFrame({"strategy": pd.Series(dtype=str)}).to_parquet(d / "rejected.parquet")
    assert read_run(d).rejected is not None and read_run(d).rejected.empty


# ----------------------------------------------------------- schema version
def test_schema_version_is_checked(run_dir: Path, tmp_path: Path) -> None:
    from alphalab.report.rundir import SCHEMA_VERSION

    d = _copy(run_dir, tmp_path)
    manifest = json.loads((d / "manifest.json").read_text())
    manifest.pop("schema_version", None)
    (d / "manifest.json").write_text(json.dumps(manifest))
    assert read_run(d).schema_version == 1  # before versioning
    for bad, match in ((SCHEMA_VERSION + 1, "newer than this alphalab reads"),
                       ("2", "positive integer"), (0, "positive integer"),
                       (True, "positive integer"), (None, "positive integer")):  # fmt: skip
        (d / "manifest.json").write_text(json.dumps({**manifest, "schema_version": bad}))
        with pytest.raises(DataError, match=match):
            read_run(d)


def test_diagnostics_and_forecasts_files_are_checked(run_dir: Path, tmp_path: Path) -> None:
    d = _copy(run_dir, tmp_path)
    (d / "diagnostics").mkdir()
    (d / "forecasts").mkdir()
    (d / "diagnostics" / "equal_weight.json").write_text(
        json.dumps([{"fold": 0, "train_start": "2012-01-03", "training_curve": [3, 2, 1]}])
    )
    frame = pd.DataFrame({"date": pd.to_datetime(["2014-01-02"] * 2), "ticker": ["A", "B"],
                          "mean": [0.1, 0.2]})  # fmt: skip
    frame.to_parquet(d / "forecasts" / f"{safe_name(HOSTILE)}.parquet")
    run = read_run(d)
    assert run.diagnostics == {"equal_weight": [
        {"fold": 0, "train_start": "2012-01-03", "training_curve": [3, 2, 1]}]}  # fmt: skip
    pd.testing.assert_frame_equal(run.forecasts[HOSTILE], frame)
    (d / "diagnostics" / "equal_weight.json").write_text(json.dumps({"fold": 0}))
    with pytest.raises(DataError, match=r"equal_weight\.json: expected a list"):
        read_run(d)
    (d / "diagnostics" / "equal_weight.json").unlink()
    frame.drop(columns="ticker").to_parquet(d / "forecasts" / f"{safe_name(HOSTILE)}.parquet")
    with pytest.raises(DataError, match=r"missing column\(s\) \['ticker'\]"):
        read_run(d)


def test_verdicts_read_the_status_key_only() -> None:
    from alphalab.report.rundir import verdict_status, verdicts

    nested = {"scope": "development", "strategies": {"a": {"status": "PASS"}, "b": {"status": "rejected"}}}
    assert verdicts(nested) == nested["strategies"]
    assert [verdict_status(v) for v in verdicts(nested).values()] == ["PASS", "REJECTED"]
    assert verdicts({"a": {"status": "PASS"}}) == {"a": {"status": "PASS"}}  # schema-1 layout
    assert verdicts({"a": {"verdict": "PASS"}}) == {}  # no guessing at other keys
    assert verdicts([]) == {} and verdict_status("PASS") == "UNKNOWN"
