"""One trial ledger per dataset content and span: twenty untuned entries count like a
twenty-point grid, reruns with an edited config add trials, identical reruns do not."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alphalab.study import Study
from alphalab.validation.trials import TrialLedger, config_key
from tests.conftest import shared_file

NAMES = ["AAPL", "MSFT", "AMZN", "JPM", "XOM", "JNJ", "WMT", "PG", "KO", "INTC"]
LOOKBACKS = [10 + 5 * i for i in range(20)]

pytestmark = pytest.mark.filterwarnings("ignore::alphalab.data.seal.SealWarning")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    df = pd.read_parquet(shared_file("us_sp500_5yr.parquet"))
    path = tmp_path_factory.mktemp("trials") / "sp10.parquet"
    df[df["ticker"].isin(NAMES) & (df["date"] >= "2014-06-01")].to_parquet(path)
    return path


def _study(data: Path, strategies: list[dict], name: str = "trials") -> Study:
    return Study.from_dict({
        "name": name,
        "data": {"dataset": str(data), "market": "us"},
        "execution": {"rebalance": "monthly"},
        "strategies": strategies,
        "validation": {"walk_forward": {"train": "1y", "test": "1y"},
                       "holdout": {"start": "2017-06-01"}},
        "gates": {"dsr_min": 0.9},
        "report": {"charts": False, "html": False, "health": False},
    })  # fmt: skip


def _fresh_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str) -> None:
    monkeypatch.setenv("ALPHALAB_SEALS", str(tmp_path / f"seals-{tag}"))
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / f"home-{tag}"))


def test_twenty_entries_count_like_a_twenty_point_grid(data, tmp_path, monkeypatch) -> None:
    _fresh_registry(tmp_path, monkeypatch, "entries")
    entries = [{"name": f"mom{lb}", "kind": "momentum_topk", "params": {"k": 3, "lookback": lb}}
               for lb in LOOKBACKS]  # fmt: skip
    split = _study(data, entries).run(out=tmp_path / "a", progress=False)
    assert set(_gate_trials(split.run_dir).values()) == {20}  # every entry deflated by 20
    assert split.manifest["trials"]["n_total"] == 20

    _fresh_registry(tmp_path, monkeypatch, "grid")
    grid = [{"name": "mom", "kind": "momentum_topk", "params": {"k": 3},
             "tune": {"grid": {"lookback": LOOKBACKS}, "inner": "6m"}}]  # fmt: skip
    tuned = _study(data, grid).run(out=tmp_path / "b", progress=False)
    assert _gate_trials(tuned.run_dir) == {"mom": 20}
    assert tuned.manifest["trials"]["n_total"] == 20

    # an identical rerun adds nothing; an edited config (another study name, too) adds one
    _study(data, grid).run(out=tmp_path / "c", progress=False)
    edited = [{"name": "mom", "kind": "momentum_topk", "params": {"k": 4}}]
    again = _study(data, edited, name="renamed").run(out=tmp_path / "d", progress=False)
    assert _gate_trials(again.run_dir) == {"mom": 21}


def _gate_trials(run_dir: Path) -> dict[str, int]:
    import json

    gates = json.loads((run_dir / "gates.json").read_text())
    return {n: e["n_trials"] for n, e in gates["strategies"].items()}


def test_ledger_counts_distinct_configurations(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ALPHALAB_SEALS", str(tmp_path / "s"))
    led = TrialLedger("abc" * 10, "2015-01-01", "2017-01-01")
    led.record([{"kind": "m", "params": {"a": 1}, "sharpe": 0.1},
                {"kind": "m", "params": {"a": 2}, "sharpe": 0.3}])  # fmt: skip
    led.record([{"kind": "m", "params": {"a": 1}, "sharpe": 0.1}])
    s = led.summary()
    assert (s.n_distinct, s.n_entries, s.n_sharpes) == (2, 3, 2)
    assert s.sharpe_variance == pytest.approx(0.02)
    assert config_key("m", {"a": 1, "b": 2}) == config_key("m", {"b": 2, "a": 1})
    # another span is another ledger
    assert TrialLedger("abc" * 10, "2015-01-01", "2016-01-01").summary().n_distinct == 0
