from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from alphalab import ConfigError
from alphalab.validation.holdout import HoldoutLedger, alphalab_home


def _record(args: tuple[str, str, int]) -> None:
    root, study, i = args
    HoldoutLedger(study, root).record(f"cfg{i % 3}", run=i)


def test_every_evaluation_is_counted(tmp_path: Path) -> None:
    ledger = HoldoutLedger("hose momentum", tmp_path)
    assert ledger.summary().n_evaluations == 0
    ledger.record("abc", sharpe=1.2)
    ledger.record("abc", sharpe=1.2)
    ledger.record("def", sharpe=0.4)
    s = ledger.summary()
    assert (s.n_evaluations, s.n_configs) == (3, 2)
    assert ledger.path.name == "hose_momentum.jsonl"


def test_concurrent_appends_are_all_kept(tmp_path: Path) -> None:
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_record, [(str(tmp_path), "s", i) for i in range(20)])
    s = HoldoutLedger("s", tmp_path).summary()
    assert s.n_evaluations == 20 and s.n_configs == 3


def test_hostile_names_and_corruption(tmp_path: Path) -> None:
    ledger = HoldoutLedger("../../etc/passwd", tmp_path)
    assert ledger.path.parent == tmp_path
    with pytest.raises(ConfigError):
        HoldoutLedger("  ", tmp_path)
    ledger.record("x")
    with open(ledger.path, "a") as fh:
        fh.write("{not json\n")
    with pytest.raises(ConfigError, match="line 2 is corrupt"):
        ledger.summary()


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path))
    assert alphalab_home() == tmp_path
    assert HoldoutLedger("a").path.parent == tmp_path / "holdout"
