"""forecast_evaluation: out-of-sample IC of a forecasting strategy, from the run directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import alphalab as al
from alphalab.analyses import read_analyses
from alphalab.errors import ConfigError
from alphalab.study import Study

STUDY = {
    "name": "fe",
    "seed": 3,
    "data": {"dataset": "sp500_20", "market": "us", "start": "2016-01-04"},
    "execution": {"rebalance": "monthly", "rules": "proportional"},
    "strategies": [
        {"name": "ew", "kind": "equal_weight"},
        {
            "name": "mom",
            "kind": "forecast",
            "params": {
                "forecaster": {"kind": "momentum", "params": {"lookback": 60, "skip": 5}},
                "allocator": {"kind": "topk", "params": {"k": 5}},
            },
        },
    ],
    "validation": {"walk_forward": {"train": "2y", "test": "1y", "mode": "expanding"}},
    "gates": {"data_health": False},
    "guard": {"mode": "off", "reason": "forecast-evaluation unit test"},
    "analyses": [{"name": "fq", "kind": "forecast_evaluation", "params": {"horizon": 21}}],
    "report": {"charts": False, "html": True, "health": False},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fe") / "run"
    Study.from_dict(STUDY).run(out=out, progress=False)
    return out


def test_scores_the_forecasting_strategy_only(run_dir: Path) -> None:
    (record,) = read_analyses(run_dir)
    summary = record["summary"]
    assert set(summary["strategies"]) == {"mom"}
    entry = summary["strategies"]["mom"]
    assert entry["horizon"] == 21
    assert entry["close_to_close"]["n_dates"] > 20
    # sp500_20 has closes only: no next-open figure is invented
    assert "next_open" not in entry
    assert "Forecast quality" in (run_dir / "report.html").read_text()


def test_rank_ic_matches_a_hand_computation(run_dir: Path) -> None:
    (record,) = read_analyses(run_dir)
    forecasts = pd.read_parquet(run_dir / "forecasts" / "mom.parquet")
    panel = al.load("sp500_20", market="us")
    close = pd.DataFrame(panel["close"], index=panel.dates, columns=panel.assets)
    realised = close.shift(-21) / close - 1.0
    ics = []
    for date, day in forecasts.groupby("date"):
        y = realised.loc[date, day["ticker"]].to_numpy()
        x = day["mean"].to_numpy()
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() >= 3:
            ics.append(spearmanr(x[ok], y[ok]).statistic)
    got = record["summary"]["strategies"]["mom"]["close_to_close"]["rank_ic_mean"]
    assert got == pytest.approx(float(np.mean(ics)), abs=1e-9)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"forecast_kind": "alpha"}, "forecast_kind must be one of"),
        ({"horizon": 0}, "horizon must be an integer >= 1"),
        ({"horizon": True}, "horizon must be an integer"),
        ({"n_quantiles": 1}, "n_quantiles must be an integer >= 2"),
        ({"strategies": "mom"}, "strategies must be a list"),
        ({"column": ""}, "column must be a column name"),
    ],
)
def test_bad_parameters(params: dict, match: str) -> None:
    from alphalab.analyses import make_analysis

    with pytest.raises(ConfigError, match=match):
        make_analysis("forecast_evaluation", params)
