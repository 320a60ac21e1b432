"""The ``volatility`` analysis inside a real study: it scores the walk-forward's own models.

With ``source: study`` the analysis forecasts every evaluated day with the model each fold
fitted; on the weekly decision dates those forecasts must be the very numbers the study's
strategies decided on (``forecasts/<strategy>.parquet``), and nothing but the extra seeds is
fitted again.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from alphalab.study import Study
from tests.conftest import REPO, shared_file

pytestmark = pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning")

TINY_GINN = {"lam": 0.5, "inputs": ["returns", "garch"], "hidden": 2, "epochs": 1, "lookback": 10,
             "max_samples": 300, "garch_refit_every": 20}


def _study(analysis: dict) -> Study:
    data = {
        "name": "vol-study-mode",
        "seed": 3,
        "data": {"dataset": str(shared_file("tw_twse_midcap_1992_2018.parquet")), "market": "tw",
                 "start": "2012-01-02", "end": "2013-12-31", "mode": "lenient",
                 "universe": {"size": 3, "rank_by": "dollar_volume", "window": 60}},
        "execution": {"rebalance": "weekly", "initial_cash": 100_000_000},
        "strategies": [
            {"name": "garch", "kind": "forecast",
             "params": {"forecaster": {"kind": "garch", "params": {"window": 90, "refit_every": 1}},
                        "allocator": {"kind": "inverse_variance"}}},
            {"name": "ewma", "kind": "forecast",
             "params": {"forecaster": {"kind": "ewma"}, "allocator": {"kind": "inverse_variance"}}},
            {"name": "ginn", "kind": "forecast",
             "params": {"forecaster": {"kind": "ginn", "params": TINY_GINN},
                        "allocator": {"kind": "inverse_variance"}}},
        ],
        "validation": {"walk_forward": {"train": "1y", "test": "6m", "mode": "expanding"}},
        # the guard runs before the analyses and perturbs copies of the panel in place: the
        # analysis must still see the original data's inputs (no cached perturbed arrays)
        "guard": {"checks": 6},
        "analyses": [{"name": "vs", "kind": "volatility", "params": analysis}],
        "report": {"charts": False, "html": False},
    }
    return Study.from_dict(data, base_dir=REPO / "examples")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("vol") / "run"
    return Study.run(_study({"plot_assets": 0, "seeds": [7], "seed_models": ["ginn"]}), out=out,
                     progress=False).run_dir


def test_daily_forecasts_are_the_study_models_own(run_dir) -> None:
    daily = pd.read_parquet(run_dir / "analyses" / "vs" / "variance_forecasts.parquet")
    assert {"date", "ticker", "target", "garch", "ewma", "ginn"} <= set(daily.columns)
    assert daily.groupby("date").size().eq(3).all()  # every evaluated day, every stock
    for name in ("garch", "ewma", "ginn"):
        decided = pd.read_parquet(run_dir / "forecasts" / f"{name}.parquet")
        both = decided.merge(daily[["date", "ticker", name]], on=["date", "ticker"])
        assert len(both) == len(decided) > 0  # every decision date is an evaluated day
        ok = both["variance"].notna()
        assert ok.sum() > 0.9 * len(both)
        same = np.isclose(both.loc[ok, name], both.loc[ok, "variance"], rtol=1e-6, atol=0)
        if name == "garch":
            # the compiled GARCH warm-starts each day's fit from the previous requested day's
            # optimum: a daily path and a weekly one may settle on different points of a flat
            # likelihood ridge on a few windows (both optima; see benchmarks/garch_speed.py)
            assert same.mean() > 0.95, (name, same.mean())
        else:
            assert same.all(), (name, both.loc[ok][~same].head())
    assert len(daily.date.unique()) > 4 * len(decided.date.unique())  # daily, not weekly


def test_summary_reports_source_and_the_seed_spread(run_dir) -> None:
    summary = json.loads((run_dir / "analyses" / "vs.json").read_text())
    body = summary.get("summary", summary)
    assert body["source"] == "study"
    spread = body["seeds"]
    assert set(spread) == {"ginn"}  # seed_models: only the GINN is refitted with extra seeds
    assert spread["ginn"]["seeds"] == ["study", 7] and spread["ginn"]["n_seeds"] == 2
    assert spread["ginn"]["qlike"][0] != spread["ginn"]["qlike"][1]  # another seed, another net
    assert body["fits"]["garch"]["garch_fits"] > 0


def test_refit_source_gives_other_blocks_but_the_same_rules(tmp_path) -> None:
    """Rules that learn nothing forecast the same days identically from either source."""
    res = Study.run(_study({"source": "refit", "refit": 60, "plot_assets": 0, "models": ["garch", "ewma"]}),
                    out=tmp_path / "refit", progress=False)
    summary = json.loads((res.run_dir / "analyses" / "vs.json").read_text())
    body = summary.get("summary", summary)
    assert body["source"] == "refit" and body["seeds"] == {}
    daily = pd.read_parquet(res.run_dir / "analyses" / "vs" / "variance_forecasts.parquet")
    decided = pd.read_parquet(res.run_dir / "forecasts" / "ewma.parquet")
    both = decided.merge(daily[["date", "ticker", "ewma"]], on=["date", "ticker"]).dropna()
    np.testing.assert_allclose(both["ewma"], both["variance"], rtol=1e-9)
