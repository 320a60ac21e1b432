"""Hostile study YAML for ``kind: forecast``: every bad nested spec names its key path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from alphalab.config import StudyConfig, load_yaml
from alphalab.errors import ConfigError

BASE: dict[str, Any] = {
    "name": "hostile",
    "data": {"dataset": "sp500_20", "market": "us"},
    "strategies": [{
        "name": "lgbm",
        "kind": "forecast",
        "params": {
            "forecaster": {"kind": "lightgbm", "params": {"horizon": 5, "num_leaves": 31}},
            "allocator": {"kind": "topk", "params": {"k": 5}},
            "overlays": [{"kind": "market_halt", "params": {"drop": 0.07}}],
        },
    }],
    "validation": {"walk_forward": {"train": "2y", "test": "1y"}},
}


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(BASE)
    node = cfg["strategies"][0]["params"]
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


_DELETE = object()


def test_the_valid_spec_builds_nested_parts() -> None:
    cfg = StudyConfig.from_dict(copy.deepcopy(BASE))
    s = cfg.strategies[0].build()
    assert s.get_params(deep=True)["forecaster__num_leaves"] == 31
    assert type(s.overlays[0]).__name__ == "MarketHalt"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["forecaster", "kind"], "xgboost", r"strategies\[0\]\.params.*forecaster\.kind: unknown forecaster kind 'xgboost'; known kinds: .*lightgbm"),
        (["forecaster", "params", "num_leavs"], 3, r"forecaster\.params: forecaster 'lightgbm' has no parameter\(s\) \['num_leavs'\]"),
        (["forecaster", "params", "num_leaves"], "many", r"forecaster\.params: num_leaves must be an integer"),
        (["forecaster", "params", "horizon"], True, r"forecaster\.params: horizon must be an integer >= 1, got True"),
        (["forecaster", "params", "features"], "alpha999", r"forecaster\.params: features"),
        (["forecaster", "params", "features"], [], r"forecaster\.params: features"),
        (["forecaster"], "lightgbm_typo", r"forecaster\.kind: unknown forecaster kind"),
        (["forecaster"], 42, r"forecaster: a forecaster spec is a mapping"),
        (["forecaster", "extra"], 1, r"forecaster: unknown key\(s\) \['extra'\]"),
        (["forecaster", "params"], [1, 2], r"forecaster\.params must be a mapping"),
        (["allocator", "kind"], "top_k", r"allocator\.kind: unknown allocator kind 'top_k'"),
        (["allocator", "params", "k"], 0, r"allocator\.params: k must be an integer >= 1"),
        (["allocator", "params", "weighting"], "cap", r"weighting must be 'equal' or 'score'"),
        (["overlays"], {"kind": "market_halt"}, r"overlays must be a list"),
        (["overlays", 0, "kind"], "stop_loss", r"overlays\[0\]\.kind: unknown overlay kind 'stop_loss'"),
        (["overlays", 0, "params", "drop"], 1.5, r"overlays\[0\]\.params: drop must be a finite number"),
        (["overlays", 0, "params", "drop"], float("nan"), r"overlays\[0\]\.params\.drop: must be a finite"),
        (["allocator"], _DELETE, r"kind 'forecast' needs params 'forecaster' and 'allocator'"),
        (["random_state"], "seven", r"random_state must be an integer or None"),
    ],
)
def test_bad_nested_specs_name_their_key_path(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StudyConfig.from_dict(_with(path, value))


def test_unknown_top_level_param_of_forecast_kind() -> None:
    cfg = copy.deepcopy(BASE)
    cfg["strategies"][0]["params"]["allocater"] = {"kind": "topk"}
    with pytest.raises(ConfigError, match=r"no parameter\(s\) \['allocater'\]"):
        StudyConfig.from_dict(cfg)


def test_nested_tune_names_are_checked() -> None:
    cfg = copy.deepcopy(BASE)
    cfg["strategies"][0]["tune"] = {"grid": {"forecaster__num_leaves": [15, 31], "allocator__k": [5, 10]}}
    assert StudyConfig.from_dict(cfg).strategies[0].tune is not None
    cfg["strategies"][0]["tune"] = {"grid": {"forecaster__num_leafs": [15]}}
    with pytest.raises(ConfigError, match=r"tune: forecast has no parameter\(s\) \['forecaster__num_leafs'\]"):
        StudyConfig.from_dict(cfg)
    cfg["strategies"][0]["tune"] = {"grid": {"allocator__k": [5, -1]}}
    with pytest.raises(ConfigError, match=r"tune\.grid candidate \{'allocator__k': -1\}"):
        StudyConfig.from_dict(cfg)


def test_yaml_anchors_cannot_smuggle_a_non_mapping_forecaster() -> None:
    text = """
name: h
data: {dataset: sp500_20}
strategies:
  - name: s
    kind: forecast
    params: {forecaster: [lightgbm], allocator: {kind: topk}}
"""
    with pytest.raises(ConfigError, match="forecaster: a forecaster spec is a mapping"):
        StudyConfig.from_dict(load_yaml(text))
