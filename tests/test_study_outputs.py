"""One execution path from a study: a plain run is a one-split walk-forward, data.start
means "first tested date" in plain and validated runs alike, and a learner's
diagnostics_ / forecasts_ reach the run directory, its reader and the report."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.portfolio.base import STRATEGIES, Requirements, Strategy, register_strategy
from alphalab.report import read_run
from alphalab.report.rundir import SCHEMA_VERSION
from alphalab.study import Study
from tests.conftest import REPO

pytestmark = [
    pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning"),
]

KIND = "test_curve_learner"


class CurveLearner(Strategy):
    """Inverse-volatility weights fitted on the training rows, with a seeded jitter.

    ``fit`` reports a loss curve (``diagnostics_``); ``decide`` leaves its weights as
    forecasts (``forecasts_``).
    """

    requires: ClassVar[Requirements] = Requirements(fields=("close",), min_history=20, learns=True)

    def __init__(self, jitter: float = 0.1, random_state: int | None = None) -> None:
        self.jitter = jitter
        self.random_state = random_state

    def fit(self, panel: Panel, until: Any = None) -> CurveLearner:
        close = panel["close"]
        rets = close[1:] / close[:-1] - 1
        with warnings.catch_warnings():  # assets not yet listed have no returns
            warnings.simplefilter("ignore", RuntimeWarning)
            vol = np.nanstd(rets[-250:], axis=0)
        rng = np.random.default_rng(self.random_state)
        self.score_ = np.where(vol > 0, 1 / vol, 0.0) * (1 + self.jitter * rng.random(len(vol)))
        self.score_ = np.nan_to_num(self.score_)
        self.diagnostics_ = {
            "training_curve": [1.0, 0.6, 0.5],
            "val_curve": [1.1, 0.8, 0.75],
            "solver_fallbacks": 0,
            "n_rows": int(panel.n_dates),
        }
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        w = np.tile(self.score_ / self.score_.sum(), (len(dates), 1))
        self.forecasts_ = pd.DataFrame(
            {
                "date": np.repeat(dates.to_numpy(), panel.n_assets),
                "ticker": np.tile(panel.assets.to_numpy(), len(dates)),
                "mean": w.ravel(),
            }
        )
        return w


if KIND not in STRATEGIES:
    register_strategy(KIND)(CurveLearner)


def _study(validation: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "curve-study",
        "seed": 4,
        "data": {
            "dataset": "../../shared/data/vn30_2016_2019.parquet",
            "market": "vn.hose",
            "start": "2017-07-03",
            "mode": "lenient",
        },
        "execution": {"at": "next_open", "rebalance": "monthly", "initial_cash": 1e10},
        "strategies": [
            {"name": "curve", "kind": KIND},
            {"name": "equal_weight", "kind": "equal_weight"},
        ],
        "report": {"charts": False, "html": True},
    }
    if validation:
        data["validation"] = {"walk_forward": {"train": "1y", "test": "6m"}}
        data["report"]["html"] = False
    return data


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_plain_run_writes_diagnostics_forecasts_and_a_models_section(tmp_path: Path) -> None:
    res = Study.from_dict(_study(False), base_dir=REPO / "examples").run(
        out=tmp_path / "run", progress=False
    )
    assert res.manifest["schema_version"] == SCHEMA_VERSION
    start = pd.Timestamp("2017-07-03")
    # One split: trained on everything before data.start, tested from it.
    assert res.results["curve"].dates[0] == start
    run = read_run(res.run_dir)
    (diag,) = run.diagnostics["curve"]
    assert diag["fold"] == 0 and diag["train_start"] == "2016-01-04"
    assert pd.Timestamp(diag["train_end"]) < start
    assert "equal_weight" not in run.diagnostics  # strategies without diagnostics_ write none
    fc = run.forecasts["curve"]
    assert fc["date"].min() == start and fc["date"].is_monotonic_increasing
    assert not (res.run_dir / "forecasts" / "equal_weight.parquet").exists()
    page = (res.run_dir / "report.html").read_text()
    assert '<section id="models"><h2>Models</h2>' in page
    assert 'id="chart-models-0"' in page and "solver_fallbacks" in page


def test_validated_run_keeps_history_before_start(tmp_path: Path, home: Path) -> None:
    res = Study.from_dict(_study(True), base_dir=REPO / "examples").run(
        out=tmp_path / "run", progress=False
    )
    validation = json.loads((res.run_dir / "validation.json").read_text())
    folds = validation["curve"]["folds"]
    # The first fold trains on the rows before data.start and tests from it.
    assert folds[0]["train_start"] == "2016-01-04"
    assert folds[0]["test_start"] == "2017-07-03"
    assert res.manifest["window"]["start"] == "2017-07-03"
    run = read_run(res.run_dir)
    assert [d["fold"] for d in run.diagnostics["curve"]] == [f["fold"] for f in folds]
    # Each result is the walk-forward backtest sliced to the evaluated span.
    assert res.results["curve"].dates[0] == pd.Timestamp("2017-07-03")
    assert res.results["curve"].equity.iloc[0] == run.equity["curve"].iloc[0]
