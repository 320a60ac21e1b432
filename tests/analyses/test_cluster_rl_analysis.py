"""The cluster-RL report on a small real study: verdict, random-policy distribution, figures, section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphalab.analyses import read_analyses, render_analysis
from alphalab.errors import ConfigError
from alphalab.study import Study
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow  # a real study run: about 15 s CPU, a minute on the shared machine

PIPE = {"features": ["technical"], "cluster": "pca_kmeans", "cluster_params": {"k": 3}, "max_clusters": 4,
        "signal": "a2c", "allocator": "ddpg", "signal_steps": 256, "alloc_steps": 150, "chunks": 2, "n_envs": 2,
        "window": 2, "train_days": 120, "val_days": 20}
STUDY = {
    "name": "crl",
    "data": {"dataset": str(SHARED_DATA / "vn_hose_2006_2020.parquet"), "market": "vn.hose", "mode": "lenient",
             "tickers": ["FPT", "VNM", "HPG", "SSI", "MWG", "REE", "VCB", "GAS", "PNJ", "DPM"],
             "start": "2019-01-02", "end": "2019-12-31",
             "benchmark": str(SHARED_DATA / "vnindex_2000_2020.parquet")},
    "execution": {"rebalance": "monthly", "initial_cash": 10000000},
    "strategies": [
        {"name": "ew", "kind": "equal_weight"},
        {"name": "clusters", "kind": "cluster_rl", "params": PIPE},
    ],
    "validation": {"walk_forward": {"train": "1y", "test": "6m"}},
    "analyses": [{"name": "r1", "kind": "cluster_rl",
                  "params": {"strategy": "clusters", "equal_weight": "ew", "random_seeds": 12}}],
    "report": {"charts": False, "html": True, "health": False},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crl") / "run"
    Study.from_dict(STUDY).run(out=out, progress=False)
    return out


def test_report_has_verdict_random_policies_and_figures(run_dir: Path) -> None:
    (rec,) = read_analyses(run_dir)
    s = rec["summary"]
    assert len(s["random_sharpes"]) == 12
    assert s["beat"] == (s["rl_sharpe"] > s["equal_weight_sharpe"] and s["rl_sharpe"] > s["random_p95"])
    assert ("it beat both" in s["verdict"]) == s["beat"] and ("did NOT beat" in s["verdict"]) != s["beat"]
    assert "DSR over 2 trials" in s["verdict"]
    assert set(s["table"]) >= {"ew", "clusters", "benchmark"}
    assert s["n_months"] > 0 and s["mean_ari"] is not None
    figs = {p.name for p in (run_dir / "analyses" / "r1").glob("*.png")}
    assert {"equity.png", "histograms.png", "allocations.png", "clusters.png", "training.png"} <= figs
    title, html = render_analysis(run_dir, rec)
    assert "Cluster-RL" in title and "data:image/png;base64" in html and s["verdict"][:20] in html
    # training curves of every fold: signal-agent rounds (early stopping) and the allocator's episodes
    assert len(s["curves"]) == 2 and all(c["training_curve"] and c["allocator_curve"] for c in s["curves"])
    assert all(len(c["val_curve"]) == len(c["training_curve"]) for c in s["curves"])
    assert "Signal-agent training" in html and "fold 0" in html and "rounds" in html
    json.dumps(s)


def test_unknown_strategy_name_is_refused(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(STUDY))
    bad["analyses"][0]["params"]["strategy"] = "nope"
    with pytest.raises(ConfigError, match="no strategy named 'nope'"):
        Study.from_dict(bad).run(out=tmp_path / "r", progress=False)
