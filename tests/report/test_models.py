"""The Models section: diagnostics per fold as a table, loss curves as a chart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alphalab.report import read_run
from alphalab.report.models import fig_training_curves, models_section
from alphalab.report.rundir import write_json
from alphalab.report.tables import esc
from tests.report.conftest import HOSTILE


@pytest.fixture()
def run_with_diagnostics(run_dir: Path, tmp_path: Path) -> Path:
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    (d / "diagnostics").mkdir()
    write_json(d / "diagnostics" / "equal_weight.json", [
        {"fold": 0, "train_start": "2012-01-03", "train_end": "2013-12-31",
         "training_curve": [0.9, 0.5, 0.4], "val_curve": [1.0, 0.7, None],
         "solver_fallbacks": 2, "note": "<script>alert(1)</script>"},
        {"fold": 1, "train_start": "2012-01-03", "train_end": "2014-06-30",
         "training_curve": [0.8, 0.45], "converged": False},
    ])  # fmt: skip
    write_json(d / "diagnostics" / "AAPL only.json", [{"fold": 0, "iterations": 12}])
    return d


def test_models_section_tables_every_fit_and_charts_curves(run_with_diagnostics: Path) -> None:
    run = read_run(run_with_diagnostics)
    html = models_section(run, {"chart-models-0": '<div id="chart-models-0"></div>'})
    ew = html[html.index("<h3>equal_weight</h3>") : html.index("<h3>AAPL only</h3>")]
    assert ew.count("<tr>") == 3  # header + one row per fold
    assert "<th>fold</th><th>train_start</th><th>train_end</th>" in ew
    assert "<td>2</td>" in ew and "<td>no</td>" in ew  # solver_fallbacks, converged
    assert esc("<script>alert(1)</script>") in ew and "<script>" not in ew
    assert "training_curve length" in ew and '<div id="chart-models-0"></div>' in ew
    assert "<td>12</td>" in html
    fig = fig_training_curves("equal_weight", run.diagnostics["equal_weight"])
    assert [t.name for t in fig.data] == [
        "fold 0 training curve", "fold 0 val curve", "fold 1 training curve"]  # fmt: skip
    assert fig_training_curves("x", run.diagnostics["AAPL only"]) is None
    assert fig_training_curves("x", [{"training_curve": ["a", "b"]}]) is None


def test_models_section_in_the_page(run_with_diagnostics: Path) -> None:
    from alphalab.report.html import render_html

    page = render_html(read_run(run_with_diagnostics))
    assert '<section id="models"><h2>Models</h2>' in page and 'href="#models"' in page
    assert 'id="chart-models-0"' in page
    assert HOSTILE not in read_run(run_with_diagnostics).diagnostics


def test_no_diagnostics_no_section(run_dir: Path) -> None:
    assert models_section(read_run(run_dir)) == ""
