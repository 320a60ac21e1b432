"""Hostile ``profiles`` sections and ``--profile`` options: clear errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alphalab.cli import app
from alphalab.config import StudyConfig
from alphalab.errors import ConfigError
from tests.test_profiles import BASE


@pytest.mark.parametrize(
    ("profiles", "profile", "match"),
    [
        (None, "quick", "unknown profile 'quick'; profiles in this study: none declared"),
        ({"quick": {}}, "slow", "unknown profile 'slow'; profiles in this study: quick"),
        (["quick"], None, "profiles must be a mapping"),
        ({"quick": 3}, "quick", r"profiles.quick must be a mapping"),
        ({"quick": {"profiles": {}}}, "quick", "may not itself contain profiles"),
        (
            {"quick": {"strategies": [{"name": "nope", "params": {}}]}},
            "quick",
            "no item named 'nope' to override; known: ew, mom",
        ),
        (
            {"quick": {"strategies": [{"params": {"k": 1}}]}},
            "quick",
            "each item must be a mapping with a 'name'",
        ),
        ({"quick": {}}, "", "non-empty string"),
    ],
)
def test_bad_profiles_are_clear_errors(profiles: object, profile: str | None, match: str) -> None:
    data = {k: v for k, v in BASE.items() if k != "profiles"}
    if profiles is not None:
        data["profiles"] = profiles
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict(data, profile=profile)


def test_profile_that_breaks_the_study_names_the_key() -> None:
    data = {**BASE, "profiles": {"quick": {"execution": {"costs": {"commission_bps": "lots"}}}}}
    with pytest.raises(ConfigError, match=r"execution\.costs\.commission_bps"):
        StudyConfig.from_dict(data, profile="quick")


def test_cli_unknown_profile_is_one_line_exit_2(tmp_path: Path) -> None:
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(BASE))
    res = CliRunner().invoke(app, ["evaluate", str(study), "--profile", "huge"])
    assert res.exit_code != 0
    assert "unknown profile 'huge'" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("data.start", "write KEY=VALUE"),
        ("=5", "dotted path"),
        ("data..start=2015-01-02", "dotted path"),
        ("data.start=2015-02-30", "not a valid date"),
        ("data.start=[oops", "YAML syntax error"),
        ("data.universe.size=.nan", "finite number"),
        ("strategies.nope.params.k=1", "no item named 'nope'; known: ew, mom"),
        ("strategies.mom=3", "set a key of the item"),
        ("name.x=1", "is not a mapping"),
        ("data.colour=red", "data.colour: unknown key"),
        ("strategies.mom.params.k=-1", r"strategies\[1\]\.params"),
        ("x=&a [*a, *a]", "refers to itself|YAML"),
    ],
)  # fmt: skip
def test_bad_overrides_are_clear_errors(item: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict(BASE, overrides=[item])


def test_set_option_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in BASE.items() if k != "profiles"}))
    result = CliRunner().invoke(app, ["run", str(path), "--set", "strategies.mom.params.k=0",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "strategies[1].params" in result.output
    result = CliRunner().invoke(app, ["run", str(path), "--set", "nokey"])
    assert result.exit_code == 2 and "write KEY=VALUE" in result.output
