"""Hostile values for the YAML keys added with the models-layer plumbing:
``validation.pbo`` and ``executor.threads``. Each gets a ConfigError naming the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from alphalab.config import StudyConfig
from alphalab.errors import ConfigError

BASE: dict[str, Any] = {
    "name": "hostile",
    "data": {"dataset": "sp500_20", "market": "us"},
    "strategies": [{"name": "ew", "kind": "equal_weight"}],
    "validation": {"walk_forward": {"train": "1y", "test": "6m"}},
}


def _study(**blocks: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for key, value in blocks.items():
        data[key] = value
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        StudyConfig.from_dict(data)
    return str(info.value)


@pytest.mark.parametrize(
    "pbo",
    [{"max_candidates": -1}, {"max_candidates": "many"}, {"max_candidates": 1e9},
     {"max_candidates": 2.5}, {"max_candidates": None}, {"max_candidate": 4},
     {"max_candidates": [4]}, "24", 24, [], {"max_candidates": True}],
)  # fmt: skip
def test_bad_pbo_block(pbo: Any) -> None:
    msg = _error(_study(validation={"walk_forward": {"train": "1y", "test": "6m"}, "pbo": pbo}))
    assert "validation.pbo" in msg


def test_pbo_block_defaults_and_zero() -> None:
    cfg = StudyConfig.from_dict(BASE)
    assert cfg.validation is not None and cfg.validation.pbo.max_candidates == 24
    data = _study(validation={"walk_forward": {"train": "1y", "test": "6m"},
                              "pbo": {"max_candidates": 0}})  # fmt: skip
    assert StudyConfig.from_dict(data).validation.pbo.max_candidates == 0


@pytest.mark.parametrize("threads", [0, -2, "two", 1.5, None, 10**7, [1], True, "1; rm -rf /"])
def test_bad_executor_threads(threads: Any) -> None:
    msg = _error(_study(executor={"kind": "process", "threads": threads}))
    assert "executor.threads" in msg


def test_executor_threads_reaches_the_executor() -> None:
    cfg = StudyConfig.from_dict(_study(executor={"kind": "process", "n_jobs": 1, "threads": 1}))
    from alphalab.validation.executors import make_executor

    ex = make_executor(cfg.executor.kind, n_jobs=cfg.executor.n_jobs, threads=cfg.executor.threads)
    assert ex.threads == 1 and ex.n_jobs == 1


@pytest.mark.parametrize(
    "universe",
    [{"size": 0}, {"size": -3}, {"size": "thirty"}, {"size": 2.5}, {"window": 0},
     {"window": 10**9}, {"min_coverage": 0}, {"min_coverage": 1.5}, {"min_coverage": "all"},
     {"rank_by": ""}, {"rank_by": 3}, {"require": ["pe", "pe"]}, {"require": "pe"},
     {"sise": 30}, {"ascending": "maybe"}, "30", 30, [30]],
)  # fmt: skip
def test_bad_universe_block(universe: Any) -> None:
    msg = _error(_study(data={"dataset": "sp500_20", "market": "us", "start": "2015-01-02",
                              "universe": universe}))
    assert "data.universe" in msg


def test_universe_needs_a_start() -> None:
    msg = _error(_study(data={"dataset": "sp500_20", "market": "us", "universe": {"size": 5}}))
    assert "data.start" in msg


def test_universe_rule_failures_name_the_key(tmp_path: Any) -> None:
    from alphalab.errors import DataError
    from alphalab.study.inputs import load_panel

    for universe, needle in [({"rank_by": "no_such_field"}, "data.universe.rank_by"),
                             ({"require": ["pe"]}, "data.universe.require")]:
        cfg = StudyConfig.from_dict(_study(data={"dataset": "sp500_20", "market": "us",
                                                 "start": "2015-01-02", "universe": universe}))
        with pytest.raises(DataError, match=needle):
            load_panel(cfg)
    cfg = StudyConfig.from_dict(_study(data={"dataset": "sp500_20", "market": "us",
                                             "start": "1990-01-02", "universe": {"size": 3}}))
    with pytest.raises(DataError, match="no session before"):
        load_panel(cfg)


@pytest.mark.parametrize("checks", [0, -1, "many", 2.5, 10**9, [3], {"n": 3}])
def test_bad_guard_checks(checks: Any) -> None:
    msg = _error(_study(guard={"checks": checks}))
    assert "guard.checks" in msg


def test_guard_checks_reaches_the_spec() -> None:
    assert StudyConfig.from_dict(_study(guard={"checks": 40})).guard.checks == 40
