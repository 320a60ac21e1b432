"""Study config: validation messages that name the key path, hashing, schema export."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alphalab.config import StudyConfig, export_schema, study_schema
from alphalab.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "schemas" / "study.schema.json"
DEMO = REPO / "src" / "alphalab" / "examples" / "demo.yaml"
# factors_*.yaml are factor-study files (`alphalab factors`), not studies.
EXAMPLES = sorted(p for p in (REPO / "examples").glob("*.yaml") if not p.name.startswith("factors_"))

BASE: dict[str, Any] = {
    "name": "unit",
    "seed": 3,
    "data": {"dataset": "sp500_20", "market": "us", "start": "2015-01-01", "end": "2016-12-31"},
    "execution": {"at": "next_close", "rebalance": "monthly"},
    "strategies": [
        {"name": "ew", "kind": "equal_weight"},
        {"name": "iv", "kind": "inverse_vol"},
        {"name": "mom", "kind": "momentum_topk", "params": {"k": 3}},
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        StudyConfig.from_dict(data)
    return str(info.value)


def test_valid_config_fills_defaults() -> None:
    cfg = StudyConfig.from_dict(BASE)
    assert cfg.execution.rules == "market"
    assert cfg.execution.initial_cash == 1_000_000.0
    assert cfg.data.mode == "strict"
    assert cfg.report.rolling_window == 126
    assert [s.name for s in cfg.strategies] == ["ew", "iv", "mom"]


def test_hash_is_canonical_and_sensitive() -> None:
    explicit = _with(execution={"at": "next_close", "rebalance": "monthly", "rules": "market"})
    assert (
        StudyConfig.from_dict(explicit).config_hash() == StudyConfig.from_dict(BASE).config_hash()
    )
    reordered = dict(reversed(list(copy.deepcopy(BASE).items())))
    assert (
        StudyConfig.from_dict(reordered).config_hash() == StudyConfig.from_dict(BASE).config_hash()
    )
    assert (
        StudyConfig.from_dict(_with(seed=4)).config_hash()
        != StudyConfig.from_dict(BASE).config_hash()
    )
    changed = _with(strategies__2__params={"k": 4})
    assert StudyConfig.from_dict(changed).config_hash() != StudyConfig.from_dict(BASE).config_hash()


def test_unknown_keys_name_their_path_and_allowed_keys() -> None:
    msg = _error(_with(seeed=1))
    assert "seeed: unknown key" in msg and "allowed: name, seed" in msg
    msg = _error(_with(execution__cost={"commission_bps": 5}))
    assert "execution.cost: unknown key" in msg and "costs" in msg
    msg = _error(_with(strategies__1__parms={"window": 5}))
    assert "strategies[1].parms: unknown key" in msg


def test_unknown_kind_lists_known_kinds() -> None:
    msg = _error(_with(strategies__1__kind="inverse_volatility"))
    assert "strategies[1].kind" in msg and "'inverse_volatility'" in msg
    assert "equal_weight" in msg and "momentum_topk" in msg


def test_bad_params_are_caught_up_front() -> None:
    msg = _error(_with(strategies__2__params={"kk": 3}))
    assert msg.startswith("study: strategies[2].params:") and "kk" in msg
    msg = _error(_with(strategies__2__params={"k": 0}))
    assert "strategies[2].params" in msg


def test_duplicate_and_reserved_names() -> None:
    data = _with()
    data["strategies"].append({"name": "ew", "kind": "equal_weight"})
    assert "duplicated: ew" in _error(data)
    assert "reserved" in _error(_with(strategies__0__name="benchmark"))
    assert "strategies[0].name" in _error(_with(strategies__0__name="my strategy/1"))
    assert "strategies: at least one strategy is needed" in _error(_with(strategies=[])).lower()


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ("fortnightly", "unknown rebalance rule 'fortnightly'"),
        (0, "k >= 1"),
        ({"every": 5}, "schedule name, an integer or a list of dates"),
        ([], "empty"),
        (["2015-02-30"], "execution.rebalance[0]"),
    ],
)
def test_bad_rebalance(rule: Any, needle: str) -> None:
    msg = _error(_with(execution__rebalance=rule))
    assert "execution.rebalance" in msg and needle in msg


def test_good_rebalance_forms() -> None:
    for rule, expected in (("Weekly", "weekly"), (5, 5), ("21", 21)):
        assert (
            StudyConfig.from_dict(_with(execution__rebalance=rule)).execution.rebalance == expected
        )
    dates = StudyConfig.from_dict(_with(execution__rebalance=["2016-03-01", "2015-03-02"]))
    assert [str(d) for d in dates.execution.rebalance] == ["2015-03-02", "2016-03-01"]


def test_bad_dates_market_and_values() -> None:
    assert "data.start" in _error(_with(data__start="2015-13-01"))
    msg = _error(_with(data__start="2017-01-01"))
    assert "data: start (2017-01-01) must be before end (2016-12-31)" in msg
    assert "data.market: unknown market 'mars'" in _error(_with(data__market="mars"))
    assert "data.mode" in _error(_with(data__mode="loose"))
    assert "execution.costs.commission_bps: must be >= 0" in _error(
        _with(execution__costs={"commission_bps": -1})
    )
    assert "execution.initial_cash: must be > 0" in _error(_with(execution__initial_cash=0))
    assert "data.dataset: required key is missing" in _error(_with(data={"market": "us"}))
    msg = _error(_with(seed=-1, data__mode="x"))
    assert msg.startswith("study: 2 problems:")


def test_yaml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: {dataset: sp500_20\nstrategies: []\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+: YAML syntax error"):
        StudyConfig.from_yaml(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="empty"):
        StudyConfig.from_yaml(empty)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        StudyConfig.from_yaml(listed)
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        StudyConfig.from_yaml(tmp_path / "nope.yaml")


def test_relative_paths_resolve_against_the_yaml_folder(tmp_path: Path) -> None:
    folder = tmp_path / "studies"
    folder.mkdir()
    data = _with(data__dataset="../data/prices.parquet", data__benchmark="sp500_index")
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = StudyConfig.from_yaml(path)
    assert cfg.resolve_source(cfg.data.dataset) == (tmp_path / "data" / "prices.parquet").resolve()
    assert cfg.resolve_source("sp500_index") == "sp500_index"
    # The hash does not depend on where the file lies.
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "s.yaml").write_text(path.read_text())
    assert StudyConfig.from_yaml(other / "s.yaml").config_hash() == cfg.config_hash()


def test_schema_file_is_up_to_date(tmp_path: Path) -> None:
    written = export_schema(tmp_path / "s.json")
    assert json.loads(written.read_text()) == study_schema()
    assert SCHEMA_FILE.is_file(), "run `alphalab schema --out schemas/study.schema.json`"
    assert SCHEMA_FILE.read_text() == written.read_text(), (
        "schemas/study.schema.json is stale: run `alphalab schema --out schemas/study.schema.json`"
    )


@pytest.mark.parametrize("path", [DEMO, *EXAMPLES], ids=lambda p: p.name)
def test_shipped_studies_validate(path: Path) -> None:
    cfg = StudyConfig.from_yaml(path)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(cfg.model_dump(mode="json"), study_schema())
    raw = yaml.safe_load(path.read_text())
    jsonschema.validate(json.loads(json.dumps(raw, default=str)), study_schema())
    bad = dict(raw, colour="red")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(bad, default=str)), study_schema())


_PROFILED = [
    (path, name)
    for path in EXAMPLES
    for name in sorted((yaml.safe_load(path.read_text()) or {}).get("profiles") or {})
]


@pytest.mark.parametrize(("path", "profile"), _PROFILED, ids=lambda v: getattr(v, "name", v))
def test_shipped_profiles_validate(path: Path, profile: str) -> None:
    full = StudyConfig.from_yaml(path)
    cfg = StudyConfig.from_yaml(path, profile=profile)
    assert cfg.profile == profile
    assert cfg.config_hash() != full.config_hash()  # a profile that changes nothing is a typo


def test_every_recipe_example_has_a_quick_profile() -> None:
    names = {p.name for p, prof in _PROFILED if prof == "quick"}
    for recipe in ("cn_lightgbm.yaml", "cn_smallcap_lstm.yaml", "etf_deep_portfolio.yaml",
                   "pm_threshold_search.yaml", "tw_volatility.yaml", "vn_cluster_rl.yaml"):  # fmt: skip
        assert recipe in names, recipe


@pytest.mark.parametrize(("path", "profile"), _PROFILED, ids=lambda v: getattr(v, "name", v))
def test_example_profiles_name_no_tickers(path: Path, profile: str) -> None:
    """A profile that lists tickers runs only on the panel they come from; profiles choose names
    by a rule (data.universe) so the file runs unchanged on any panel of the same schema."""
    from alphalab.yamlio import read_yaml_file

    body = read_yaml_file(path)["profiles"][profile]
    assert "tickers" not in (body.get("data") or {}), f"{path.name} profile {profile} names tickers"


# ------------------------------------------------------------ hostile files
_OK_YAML = "name: s\ndata: {dataset: sp500_20}\nstrategies: [{name: ew, kind: equal_weight}]\n"
_BOMB = "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def _load_error(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "s.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        StudyConfig.from_yaml(path)
    msg = str(info.value)
    assert "s.yaml" in msg, msg  # every message names the file
    return msg


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"name: s\xff\xfe\ndata: {dataset: sp500_20}\n", "not UTF-8 text (byte 0xff at offset 7"),
        ("- a\n- b\n", "must be a mapping of keys, got a list"),
        ("just text\n", "must be a mapping of keys, got a string"),
        ("data: {dataset: x}\ndata: {dataset: y}\nname: s\n", "line 2: duplicated key 'data'"),
        ("name: s\ndata:\n  market: us\n  market: cn\n", "line 4: duplicated key 'data.market'"),
        (
            "name: s\nstrategies:\n  - {name: a, kind: b, params: {k: 1, k: 2}}\n",
            "duplicated key 'strategies[0].params.k'",
        ),
        ("a: &a [*a]\n", "refers to itself"),
        ("a: &a [1, 2]\n" + _BOMB + "name: s\n", "aliases expand to more than 100,000 values"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        (_OK_YAML + "#" + "x" * (10 * 1024 * 1024) + "\n", "MB; a study file may be at most 1 MB"),
        (_OK_YAML.replace("sp500_20}", "sp500_20}\nexecution: {initial_cash: .nan}"),
         "execution.initial_cash: must be a finite number"),
        (_OK_YAML.replace("sp500_20}", "sp500_20}\nexecution: {initial_cash: .inf}"),
         "execution.initial_cash: must be a finite number"),
        (_OK_YAML.replace("sp500_20}", "sp500_20}\nexecution: {costs: {slippage_bps: -.inf}}"),
         "execution.costs.slippage_bps: must be a finite number"),
        (_OK_YAML.replace("sp500_20}", "sp500_20}\nexecution: {initial_cash: 0}"),
         "execution.initial_cash: must be > 0"),
        (_OK_YAML.replace("[{name: ew, kind: equal_weight}]", "[]"),
         "strategies: at least one strategy is needed"),
    ],
    ids=["non-utf8", "list", "scalar", "dup-top", "dup-nested", "dup-in-list", "recursive",
         "alias-bomb", "deep", "10-MB", "nan", "inf", "-inf-cost", "zero-cash", "no-strategies"],
)  # fmt: skip
def test_hostile_study_files_give_one_clear_error(
    tmp_path: Path, content: str | bytes, needle: str
) -> None:
    assert needle in _load_error(tmp_path, content)


def test_a_folder_is_not_a_study(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder; give the study's YAML file"):
        StudyConfig.from_yaml(tmp_path)


def test_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ndata: {dataset: sp500_20}\n"
        "strategies:\n  - &s {name: ew, kind: equal_weight}\n  - {<<: *s, name: ew2}\n"
    )
    cfg = StudyConfig.from_yaml(path)
    assert [s.name for s in cfg.strategies] == ["ew", "ew2"]
    assert cfg.strategies[1].kind == "equal_weight"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({1: 2}, "keys must be strings"),
        (_with(execution__initial_cash=float("nan")), "execution.initial_cash: must be a finite"),
        (_with(data__tickers=[]), "data.tickers"),
        (_with(strategies=[]), "strategies: at least one strategy is needed"),
        (_with(name="../../etc"), "name: must match pattern"),
    ],
)
def test_hostile_dicts(data: Any, needle: str) -> None:
    assert needle in _error(data)
