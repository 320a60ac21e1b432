"""Hostile input to the honesty layer: guard and suspect YAML keys, corrupt seal and
trial registries, `alphalab data seal` misuse. Each gives a clear alphalab error."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphalab.cli import app
from alphalab.config import StudyConfig
from alphalab.data.seal import find_seal, seal_dataset, seal_dirs
from alphalab.errors import ConfigError, DataError
from alphalab.validation.trials import TrialLedger

BASE = {
    "name": "hostile",
    "data": {"dataset": "sp500_20"},
    "strategies": [{"name": "ew", "kind": "equal_weight"}],
}


@pytest.mark.parametrize(
    ("guard", "match"),
    [
        ({"mode": "sometimes"}, "guard.mode"),
        ({"budget": -0.1}, "guard.budget"),
        ({"min_checks": 0}, "guard.min_checks"),
        ({"mode": "off"}, "guard.reason"),
        ({"mode": "off", "reason": "   "}, "guard.reason"),
        ({"exhaustive": True}, "guard"),
        ("fast", "guard"),
    ],
)
def test_bad_guard_blocks(guard: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match.replace(".", r"\.")):
        StudyConfig.from_dict({**BASE, "guard": guard})


@pytest.mark.parametrize(
    "suspect",
    [{"sharpe_max": 0}, {"hit_rate_max": 0.4}, {"down_share_min": 0.7}, {"ic_max": 2},
     {"min_periods": 0}, {"sharp_max": 3}],
)  # fmt: skip
def test_bad_suspect_thresholds(suspect: dict) -> None:
    with pytest.raises(ConfigError, match=r"gates\.suspect"):
        StudyConfig.from_dict({**BASE, "gates": {"suspect": suspect}})


def test_corrupt_seal_registry_names_the_file(tmp_path: Path) -> None:
    seal_dataset("f" * 64, "2017-01-03", "x")
    path = seal_dirs()[0] / f"{'f' * 32}.json"
    path.write_text("{not json")
    with pytest.raises(DataError, match=str(path.name)):
        find_seal("f" * 64)


def test_corrupt_trial_ledger_line(tmp_path: Path) -> None:
    led = TrialLedger("a" * 64, "2015-01-01", "2016-01-01")
    led.record([{"kind": "m", "params": {}}])
    path = seal_dirs()[0] / "trials" / led.name
    path.write_text(path.read_text() + "{broken\n")
    with pytest.raises(ConfigError, match="corrupt"):
        led.summary()
    with pytest.raises(ConfigError, match="content hash"):
        TrialLedger("", "2015-01-01", "2016-01-01")


def test_data_seal_misuse(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["data", "seal", "no_such_dataset_anywhere", "--from", "2017-01-01"])
    assert res.exit_code == 2 and "cannot find data source" in res.output
    res = runner.invoke(app, ["data", "seal", "sp500_20"])
    assert res.exit_code == 2  # --from is required
