"""What a study adds to its data before strategies run: feature sets, the data-health
report, datasets from a chosen store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphalab import ConfigError
from alphalab.study import Study
from tests.conftest import shared_file

US = ["AAPL", "MSFT", "LNT", "NWL", "XOM", "JPM", "KO", "PG"]


def _us_study(tmp_path: Path, **extra: object) -> dict:
    return {
        "name": "inputs",
        "data": {"dataset": str(shared_file("us_sp500_5yr.parquet")), "market": "us",
                 "mode": "lenient", "tickers": US},
        "execution": {"at": "next_open", "rebalance": "monthly"},
        "strategies": [{"name": "ew", "kind": "equal_weight"}],
        "report": {"charts": False, "html": False},
        **extra,
    }


@pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning")
def test_health_json_flags_the_known_bad_prints(tmp_path: Path) -> None:
    res = Study.from_dict(_us_study(tmp_path)).run(out=tmp_path / "run", progress=False)
    health = json.loads((res.run_dir / "health.json").read_text())
    flagged = {(i["ticker"], str(i["date"])[:10]) for i in health["issues"]}
    assert ("LNT", "2016-05-19") in flagged or ("LNT", "2016-05-20") in flagged
    assert any(t == "NWL" and d.startswith("2017-09-1") for t, d in flagged)
    assert res.manifest["data_health"]["status"] == health["status"]


@pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning")
def test_feature_sets_become_fields_and_are_recorded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALPHALAB_CACHE", str(tmp_path / "cache"))
    cfg = _us_study(tmp_path, features={"sets": ["seed_ta"]})
    cfg["report"]["health"] = False
    res = Study.from_dict(cfg).run(out=tmp_path / "run", progress=False)
    feats = res.manifest["features"]
    assert feats["sets"] == ["seed_ta"] and len(feats["fields"]) == 24
    assert not (res.run_dir / "health.json").exists()
    again = Study.from_dict(cfg).run(out=tmp_path / "run2", progress=False)
    assert again.manifest["features"]["feature_origin"]["seed_ta"] != "computed"  # from the cache
    assert (res.run_dir / "metrics.json").read_text() == (again.run_dir / "metrics.json").read_text()
    assert res.manifest["data_hash"] == again.manifest["data_hash"]


def test_unknown_feature_set_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"features\.sets.*unknown feature set"):
        Study.from_dict(_us_study(tmp_path, features={"sets": ["seed_taa"]}))


def test_dataset_from_the_study_store(tmp_path: Path, monkeypatch) -> None:
    from alphalab.data.store import Store

    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "empty-home"))
    root = tmp_path / "team-store"
    Store(root).import_file(shared_file("vn30_2016_2019.parquet"), name="vn30", market="vn.hose")
    cfg = {
        "name": "from-store",
        "data": {"dataset": "vn30", "market": "vn.hose", "store": str(root)},
        "execution": {"rebalance": "monthly", "initial_cash": 1e10},
        "strategies": [{"name": "ew", "kind": "equal_weight"}],
        "report": {"charts": False, "html": False, "health": False},
    }
    res = Study.from_dict(cfg).run(out=tmp_path / "run", progress=False)
    assert res.manifest["n_assets"] == 30
    cfg["data"].pop("store")
    with pytest.raises(Exception, match="cannot find data source 'vn30'"):
        Study.from_dict(cfg).run(out=tmp_path / "run2", progress=False)


def test_manifest_records_the_adjustment_state(tmp_path: Path) -> None:
    cfg = {
        "name": "adj",
        "data": {"dataset": "sp500_20", "market": "us", "start": "2021-01-04"},
        "strategies": [{"name": "ew", "kind": "equal_weight"}],
        "report": {"charts": False, "html": False, "health": False},
    }
    res = Study.from_dict(cfg).run(out=tmp_path / "run", progress=False)
    assert res.manifest["data_adjusted"] == "adjusted"  # skfolio ships adjusted closes
