"""Study profiles: ``--profile NAME`` merges a named partial study before validation."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from alphalab.cli import app
from alphalab.config import StudyConfig, study_schema
from alphalab.profiles import apply_profile, profile_names

BASE = {
    "name": "p",
    "data": {"dataset": "sp500_20", "market": "us", "start": "2015-01-02"},
    "execution": {"rebalance": "monthly", "costs": {"commission_bps": 5}},
    "strategies": [
        {"name": "ew", "kind": "equal_weight"},
        {"name": "mom", "kind": "momentum_topk", "params": {"k": 5, "lookback": 120}},
    ],
    "profiles": {
        "quick": {
            "data": {"start": "2019-01-02"},
            "execution": {"costs": {"slippage_bps": 2}},
            "strategies": [{"name": "mom", "params": {"lookback": 20}}],
        },
        "other": {"strategies": [{"name": "ew", "kind": "inverse_vol"}]},
    },
}


def test_without_profile_the_profiles_key_is_dropped() -> None:
    cfg = StudyConfig.from_dict(BASE)
    assert cfg.profile is None
    assert "2015-01-02" in str(cfg.data.start)
    assert cfg.strategies[1].params == {"k": 5, "lookback": 120}


def test_profile_merges_mappings_and_named_list_items() -> None:
    cfg = StudyConfig.from_dict(BASE, profile="quick")
    assert cfg.profile == "quick"
    assert "2019-01-02" in str(cfg.data.start)
    # nested mapping merged key by key: commission kept, slippage added
    assert cfg.execution.costs.commission_bps == 5
    assert cfg.execution.costs.slippage_bps == 2
    # list item merged by name; the other item untouched; params merged key by key
    assert cfg.strategies[1].params == {"k": 5, "lookback": 20}
    assert cfg.strategies[0].kind == "equal_weight"


def test_profile_changes_the_config_hash_and_profiles_do_not() -> None:
    full = StudyConfig.from_dict(BASE)
    quick = StudyConfig.from_dict(BASE, profile="quick")
    assert full.config_hash() != quick.config_hash()
    edited = {**BASE, "profiles": {"quick": {"data": {"start": "2020-01-02"}}}}
    # editing a profile that is not applied leaves the full study's hash alone
    assert StudyConfig.from_dict(edited).config_hash() == full.config_hash()


def test_apply_profile_does_not_mutate_its_input() -> None:
    before = yaml.safe_dump(BASE)
    apply_profile(BASE, "quick")
    assert yaml.safe_dump(BASE) == before
    assert profile_names(BASE) == ["other", "quick"]


def test_cli_profile_option(tmp_path: Path) -> None:
    study = tmp_path / "s.yaml"
    body = {**BASE, "report": {"charts": False, "html": False, "health": False}}
    study.write_text(yaml.safe_dump(body))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(study), "--profile", "quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["profile"] == "quick"
    assert manifest["window"]["start"] >= "2019-01-02"


def test_schema_documents_profiles() -> None:
    assert "profiles" in study_schema()["properties"]


def test_overrides_apply_after_the_profile_and_are_recorded() -> None:
    cfg = StudyConfig.from_dict(
        BASE, profile="quick",
        overrides=["data.start=2020-01-02", "strategies.mom.params.k=3",
                   "data.universe={size: 4, rank_by: close}", "execution.costs.slippage_bps=7"],
    )
    assert str(cfg.data.start) == "2020-01-02"
    mom = next(s for s in cfg.strategies if s.name == "mom")
    assert mom.params["k"] == 3 and mom.params["lookback"] == 20  # profile kept, key overridden
    assert cfg.data.universe is not None and cfg.data.universe.size == 4
    assert cfg.execution.costs.slippage_bps == 7 and cfg.execution.costs.commission_bps == 5
    assert cfg.overrides == ("data.start=2020-01-02", "strategies.mom.params.k=3",
                             "data.universe={size: 4, rank_by: close}",
                             "execution.costs.slippage_bps=7")
    assert cfg.config_hash() != StudyConfig.from_dict(BASE, profile="quick").config_hash()


def test_override_paths_resolve_against_the_current_folder(tmp_path, monkeypatch) -> None:
    (tmp_path / "mine.parquet").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    cfg = StudyConfig.from_dict(BASE, base_dir="/elsewhere", overrides=["data.dataset=mine.parquet"])
    assert cfg.data.dataset == str(tmp_path / "mine.parquet")
    # a name that is not a local file stays as typed (an embedded dataset, a store name)
    cfg = StudyConfig.from_dict(BASE, overrides=["data.dataset=sp500_20"])
    assert cfg.data.dataset == "sp500_20"
