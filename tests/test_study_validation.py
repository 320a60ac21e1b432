"""Studies with a validation section: walk-forward on HOSE, gates, sealed holdout
opened only on request and counted, identical reruns, CLI `evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alphalab import ConfigError
from alphalab.cli import app
from alphalab.study import Study
from tests.conftest import REPO

# The HOSE file and VN-Index carry known OHLC faults (dropped and counted in lenient mode)
# and the index ends a month before the stocks; both are expected here.
pytestmark = [
    pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning"),
    pytest.mark.filterwarnings("ignore:the benchmark ends on:RuntimeWarning"),
]

LIQUID = ["VNM", "FPT", "HPG", "SSI", "MSN", "VIC", "REE", "PVD", "DPM", "KDC",
          "HAG", "STB", "GMD", "ITA", "VCB", "CTG", "BVH", "KBC", "PPC", "VSH"]  # fmt: skip


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def study_dict() -> dict:
    with open(REPO / "examples" / "hose_walkforward.yaml") as fh:
        data = yaml.safe_load(fh)
    data["data"]["tickers"] = LIQUID  # keep the test quick: 20 liquid names
    data["report"] = {"charts": False, "html": False}
    return data


def _study(data: dict) -> Study:
    return Study.from_dict(data, base_dir=REPO / "examples")


def test_development_run_writes_gates_and_keeps_holdout_sealed(study_dict, tmp_path, home) -> None:
    res = _study(study_dict).run(out=tmp_path / "dev", progress=False)
    gates = json.loads((res.run_dir / "gates.json").read_text())
    assert gates["scope"] == "development"
    assert set(gates["strategies"]) == {"equal_weight", "inverse_vol", "buy_and_hold", "momentum"}
    for entry in gates["strategies"].values():
        assert entry["status"] in ("PASS", "REJECTED") and "checks" in entry
    assert gates["holdout_looks"]["n_evaluations"] == 0
    assert res.manifest["window"]["end"] < "2019-01-01"
    summary = json.loads((res.run_dir / "validation.json").read_text())
    mom = summary["momentum"]
    assert mom["n_trials"] == 4 * len(mom["folds"])  # four lookbacks per fold, all counted
    assert mom["overfitting"]["pbo"] is not None
    assert summary["equal_weight"]["n_trials"] == 0
    # the stress slice (2020) lies in the holdout: sealed, not judged
    assert mom["stress_sealed"] is True and mom["stress_metrics"] is None


def test_holdout_only_on_request_and_every_look_is_counted(study_dict, tmp_path, home) -> None:
    study = _study(study_dict)
    first = study.run(out=tmp_path / "h1", progress=False, holdout=True)
    assert first.manifest["window"]["start"] >= "2019-01-01"
    again = study.run(out=tmp_path / "h2", progress=False, holdout=True)
    looks = json.loads((again.run_dir / "gates.json").read_text())["holdout_looks"]
    assert (looks["n_evaluations"], looks["n_configs"]) == (2, 1)
    other = dict(study_dict, seed=8)
    third = _study(other).run(out=tmp_path / "h3", progress=False, holdout=True)
    looks = third.manifest["validation"]["holdout_looks"]
    assert (looks["n_evaluations"], looks["n_configs"]) == (3, 2)
    # a development run reports the looks too
    dev = study.run(out=tmp_path / "dev", progress=False)
    assert dev.manifest["validation"]["holdout_looks"]["n_evaluations"] == 3
    # identical numbers for the same config and seed
    assert (first.run_dir / "metrics.json").read_text() == (again.run_dir / "metrics.json").read_text()


def test_config_errors_for_validation(study_dict) -> None:
    bad = json.loads(json.dumps(study_dict, default=str))
    bad["strategies"][3]["tune"]["grid"] = {"lookbak": [20]}
    with pytest.raises(ConfigError, match=r"strategies\[3\].*lookbak"):
        _study(bad)
    no_val = json.loads(json.dumps(study_dict, default=str))
    no_val.pop("validation")
    with pytest.raises(ConfigError, match="add a validation section"):
        _study(no_val)
    no_val["strategies"] = no_val["strategies"][:3]
    study = _study(no_val)
    with pytest.raises(ConfigError, match="no sealed holdout"):
        study.run(progress=False, holdout=True)


def test_cli_evaluate_without_holdout_is_one_clear_error(tmp_path: Path, home) -> None:
    study = tmp_path / "s.yaml"
    study.write_text(
        "name: s\ndata: {dataset: sp500_20}\nstrategies: [{name: ew, kind: equal_weight}]\n"
    )
    result = CliRunner().invoke(app, ["evaluate", str(study), "--holdout"])
    assert result.exit_code == 2
    assert "no sealed holdout" in result.output and "Traceback" not in result.output
    assert "evaluate needs a validation section" in result.output
    result = CliRunner().invoke(app, ["run", str(study), "--address", "x:1"])
    assert result.exit_code == 2 and "--executor ray" in result.output
