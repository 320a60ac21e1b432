"""Study-level analyses: registry, config, run-directory records and report sections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab.analyses import (
    Analysis,
    AnalysisContext,
    read_analyses,
    register_analysis,
    render_analysis,
)
from alphalab.errors import ConfigError, DataError
from alphalab.study import Study

STUDY = {
    "name": "an",
    "data": {
        "dataset": "sp500_20", "market": "us", "start": "2018-01-02", "benchmark": "sp500_index",
    },
    "execution": {"rebalance": "monthly"},
    "strategies": [
        {"name": "ew", "kind": "equal_weight"},
        {"name": "iv", "kind": "inverse_vol", "params": {"window": 60}},
    ],
    "analyses": [{"name": "corr", "kind": "return_correlation"}],
    "report": {"charts": False, "html": True, "health": False},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("an") / "run"
    Study.from_dict(STUDY).run(out=out, progress=False)
    return out


def test_correlation_analysis_matches_pandas(run_dir: Path) -> None:
    (record,) = read_analyses(run_dir)
    assert record["kind"] == "return_correlation" and record["name"] == "corr"
    returns = pd.read_parquet(run_dir / "returns.parquet")
    expected = returns[["ew", "iv", "benchmark"]].corr(min_periods=20)
    got = np.array(record["summary"]["matrix"], dtype=float)
    assert record["summary"]["names"] == ["ew", "iv", "benchmark"]
    np.testing.assert_allclose(got, expected.to_numpy(), atol=1e-6)
    assert 0.5 < got[0, 1] < 1.0  # two long-only baselines on the same stocks move together


def test_report_shows_the_analysis_section(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text()
    assert "Return correlation: corr" in html


def test_records_are_strict_json_and_unknown_kinds_still_render(tmp_path: Path) -> None:
    root = tmp_path / "analyses"
    root.mkdir()
    (root / "x.json").write_text(json.dumps({"name": "x", "kind": "gone", "summary": {"a": 1}}))
    (record,) = read_analyses(tmp_path)
    title, html = render_analysis(tmp_path, record)
    assert title == "x" and "<table>" in html


def test_unreadable_record_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "analyses"
    root.mkdir()
    (root / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad\.json"):
        read_analyses(tmp_path)
    (root / "bad.json").write_text("[]")
    with pytest.raises(DataError, match="not an analysis record"):
        read_analyses(tmp_path)


def test_nan_in_a_summary_is_written_as_null(tmp_path: Path) -> None:
    @register_analysis("_test_nan")
    class NanAnalysis(Analysis):
        def run(self, ctx: AnalysisContext) -> dict:
            return {"x": float("nan"), "y": np.float64(np.inf), "z": [np.int64(3)]}

    from alphalab.analyses import write_analysis

    ctx = AnalysisContext(config=None, panel=None, results={}, strategies={})
    record = write_analysis(tmp_path, "n", NanAnalysis(), ctx)
    assert record["summary"] == {"x": None, "y": None, "z": [3]}
    assert json.loads((tmp_path / "analyses" / "n.json").read_text())["summary"]["x"] is None


def test_duplicate_registration_is_refused() -> None:
    class Other(Analysis):
        def run(self, ctx: AnalysisContext) -> dict:
            return {}

    with pytest.raises(ConfigError, match="already registered"):
        register_analysis("return_correlation")(Other)
