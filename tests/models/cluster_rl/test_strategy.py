"""The whole cluster-RL pipeline as a Strategy on real HOSE data: leakage, determinism, no shorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alphalab.models  # noqa: F401  (registers cluster_rl)
from alphalab.data.panel import Panel
from alphalab.models.cluster_rl import ClusterRLStrategy
from alphalab.testing.conformance import check_strategy
from tests.conftest import shared_file

TICKERS = ["FPT", "VNM", "HPG", "SSI", "MWG", "REE", "VCB", "GAS", "PNJ", "DPM"]


@pytest.fixture(scope="module")
def hose() -> Panel:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"),
                         filters=[("date", ">=", pd.Timestamp("2017-01-01")), ("date", "<=", pd.Timestamp("2019-06-30"))])
    df = df[df.ticker.isin(TICKERS)]
    return Panel.from_long(df, ["open", "high", "low", "close", "volume"], meta={"market": "vn.hose"})


def _small(**kw: object) -> ClusterRLStrategy:
    params = dict(features=["technical", "fundamental"], cluster="pca_kmeans", cluster_params={"k": 3},
                  max_clusters=4, fundamentals=str(shared_file("vn_fundamentals_quarterly_2016_2023.parquet")),
                  signal_steps=120, alloc_steps=60, chunks=2, n_envs=2, train_days=120, val_days=20,
                  window=3, costs={"commission_bps": 15, "slippage_bps": 10})
    params.update(kw)
    return ClusterRLStrategy(**params)  # type: ignore[arg-type]


@pytest.mark.slow
def test_rl_pipeline_conforms_no_leakage_and_is_deterministic(hose: Panel) -> None:
    # fit only on data <= until, identical weights under one seed, pickles, leakage guard on decisions
    check_strategy(_small(), hose, fit_until="2018-12-28", n_decisions=4, leakage_trials=2, seed=3)


@pytest.mark.slow
def test_per_cluster_recurrent_pipeline_conforms_no_leakage_and_is_deterministic(hose: Panel) -> None:
    # the per-cluster LSTM agents: same conformance, leakage guard and determinism as the shared MLP
    check_strategy(_small(signal="ppo", policy="lstm", per_cluster=True, warmup=4), hose, fit_until="2018-12-28",
                   n_decisions=3, leakage_trials=1, seed=5)


def test_baseline_variants_are_long_only_and_deterministic(hose: Panel) -> None:
    dates = hose.dates[(hose.dates > "2019-01-01")][::15][:5]
    for signal, alloc in (("random", "random"), ("none", "equal")):
        a = _small(signal=signal, allocator=alloc, random_state=5).fit(hose, "2018-12-28")
        w = a.decide(hose, dates)
        assert w.shape == (len(dates), hose.n_assets)
        assert (w >= 0).all() and (w.sum(axis=1) <= 1 + 1e-9).all()  # no short weight, ever
        b = _small(signal=signal, allocator=alloc, random_state=5).fit(hose, "2018-12-28")
        assert np.array_equal(w, b.decide(hose, dates))
        assert {"date", "ticker", "cluster", "mean", "weight"} <= set(a.forecasts_.columns)
        clusters = a.diagnostics_["clusters"]
        assert clusters and all(sum(c["sizes"]) <= hose.n_assets for c in clusters)


def test_rl_weights_are_never_short(hose: Panel) -> None:
    s = _small(random_state=1, n_seeds=2).fit(hose, "2018-12-28")
    w = s.decide(hose, hose.dates[hose.dates > "2019-01-01"][::10])
    assert (w >= 0).all()
    assert s.diagnostics_["training_curve"] and s.diagnostics_["allocator_curve"] is not None
    assert len(s.agent_) == 2 and len(s.diagnostics_["val_curve_by_seed"]) == 2


def test_per_cluster_recurrent_agents(hose: Panel) -> None:
    # one LSTM-64 RecurrentPPO agent per cluster slot with members, each scored on its members
    s = _small(random_state=2, signal="ppo", policy="lstm", per_cluster=True, warmup=4).fit(hose, "2018-12-28")
    (by_slot,) = s.agent_
    members = {int(k) for k in np.unique(s.slots_[-1]) if k >= 0}
    assert set(by_slot) == members and len(members) >= 2
    assert all(type(m).__name__ == "RecurrentPPO" for m in by_slot.values())
    assert [a["slot"] for a in s.diagnostics_["agent_curves"]] == sorted(members)
    dates = hose.dates[hose.dates > "2019-01-01"][::20]
    w = s.decide(hose, dates)
    assert w.shape == (len(dates), hose.n_assets) and (w >= 0).all() and (w.sum(axis=1) <= 1 + 1e-9).all()
