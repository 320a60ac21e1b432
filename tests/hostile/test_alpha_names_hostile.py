"""Hostile ``alphas`` lists for the volatility learners (alpha names from Alpha101 and GTJA 191)."""

from __future__ import annotations

import pytest

from alphalab.config import StudyConfig
from alphalab.errors import ConfigError

BASE = {"name": "vol", "data": {"dataset": "sp500_20", "market": "us"}}


def _study(kind: str, alphas: object) -> dict:
    forecaster = {"kind": kind, "params": {"inputs": ["returns", "alphas"], "alphas": alphas}}
    return {**BASE, "strategies": [{"name": "s", "kind": "forecast", "params": {
        "forecaster": forecaster, "allocator": {"kind": "inverse_variance"}}}]}


@pytest.mark.parametrize(
    ("kind", "alphas", "match"),
    [
        ("ginn", ["gtja999"], r"unknown alpha or catalogue name\(s\) \['gtja999'\]"),
        ("ginn", ["alpha001", "all_alpha102"], r"\['all_alpha102'\]"),
        ("lgbm_vol", "gtja014", "must be a non-empty list of alpha or catalogue names"),
        ("lgbm_vol", [], "must be a non-empty list"),
        ("ginn", [14], "must be a non-empty list"),
    ],
)
def test_bad_alpha_lists(kind: str, alphas: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict(_study(kind, alphas))


def test_good_alpha_lists_pass() -> None:
    for alphas in (["all_gtja191"], ["alpha101", "gtja191", "gtja030"], ["ALL_ALPHA101"]):
        StudyConfig.from_dict(_study("ginn", alphas))
