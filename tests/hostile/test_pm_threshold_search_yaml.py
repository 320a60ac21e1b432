"""Hostile params of the pm_threshold_search analysis: every new key refused with a clear message."""

from __future__ import annotations

import pytest

from alphalab.analyses import make_analysis
from alphalab.analyses.catalogue import pm_threshold_search  # noqa: F401
from alphalab.errors import ConfigError


@pytest.mark.parametrize(("params", "match"), [
    ({"universe_size": 1}, "universe_size"),
    ({"universe_size": True}, "universe_size"),
    ({"splits": {"train": 0.5, "tune": 0.5}}, "splits needs exactly"),
    ({"splits": {"train": 0.5, "tune": 0.3, "validation": 0.3, "stress": 0.1}}, "sum to 1"),
    ({"splits": {"train": 1.2, "tune": -0.4, "validation": 0.1, "stress": 0.1}}, "fraction"),
    ({"labels": {"horizn": 5}}, "labels has no key"),
    ({"labels": {"horizon": 0}}, None),
    ({"model": {"kind": "xgboost"}}, "lightgbm"),
    ({"model": {"calibration": "beta"}}, "isotonic"),
    ({"model": {"depth": 3}}, "model has no key"),
    ({"position_manager": {"entries": {}}}, "no section"),
    ({"position_manager": {"add": {"max_adds": -1}}}, "max_adds"),
    ({"position_manager": {"sizing": {"max_position": 0}}}, "max_position"),
    ({"search": {"mode": "random"}}, "search.mode"),
    ({"search": {"simulation": "both"}}, "search.simulation"),
    ({"search": {"metric": "sortino"}}, "search.metric"),
    ({"search": {"grid": {"dir_min": []}}}, "non-empty"),
    ({"search": {"grid": {"dir_min": [0.5, "high"]}}}, "finite number"),
    ({"search": {"gird": {}}}, "search has no key"),
    ({"gates": {"min_trades": 3}}, "gates has no key"),
    ({"gates": {"validation_min_trades": float("nan")}}, "finite"),
    ({"splits": [0.5, 0.5]}, "mapping"),
])
def test_bad_params(params: dict, match: str | None) -> None:
    if match is None:
        # horizon 0 is only caught when labels are built; the analysis accepts the key
        make_analysis("pm_threshold_search", params)
        return
    with pytest.raises(ConfigError, match=match):
        make_analysis("pm_threshold_search", params)
