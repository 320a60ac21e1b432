"""Hostile ``analyses`` sections: clear errors naming the key path."""

from __future__ import annotations

import pytest

from alphalab.config import StudyConfig
from alphalab.errors import ConfigError

BASE = {
    "name": "an",
    "data": {"dataset": "sp500_20", "market": "us"},
    "strategies": [{"name": "ew", "kind": "equal_weight"}],
}


@pytest.mark.parametrize(
    ("analyses", "match"),
    [
        ([{"name": "c", "kind": "nope"}], "unknown analysis kind 'nope'; known kinds: .*return_correlation"),
        ([{"name": "c", "kind": "return_correlation", "params": {"bogus": 1}}], r"no parameter\(s\) \['bogus'\]"),
        ([{"name": "c", "kind": "return_correlation", "params": {"min_overlap": 1}}], "min_overlap must be an integer >= 2"),
        ([{"name": "c", "kind": "return_correlation", "params": {"min_overlap": True}}], "min_overlap must be an integer"),
        ([{"name": "c", "kind": "return_correlation"}] * 2, "analysis names must be unique; duplicated: c"),
        ([{"name": "../x", "kind": "return_correlation"}], r"analyses\[0\]\.name"),
        ([{"kind": "return_correlation"}], r"analyses\[0\]\.name"),
        ([{"name": "c", "kind": "return_correlation", "extra": 1}], r"analyses\[0\]"),
        ("return_correlation", "analyses"),
        ([None], r"analyses\[0\]"),
    ],
)
def test_bad_analyses(analyses: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict({**BASE, "analyses": analyses})


def test_forecast_evaluation_of_an_unknown_strategy_names_it(tmp_path) -> None:
    from alphalab.study import Study

    study = {
        **BASE,
        "data": {"dataset": "sp500_20", "market": "us", "start": "2019-01-02"},
        "analyses": [
            {"name": "fq", "kind": "forecast_evaluation", "params": {"strategies": ["nope"]}}
        ],
        "report": {"charts": False, "html": False, "health": False},
    }
    with pytest.raises(ConfigError, match=r"analysis 'fq' \(forecast_evaluation\).*\['nope'\]"):
        Study.from_dict(study).run(out=tmp_path / "r", progress=False)
