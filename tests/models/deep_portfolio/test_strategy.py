"""The deep_sharpe strategy: planted drift, determinism, leakage, ensemble, errors."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from alphalab.errors import ConfigError, DataError
from alphalab.models.deep_portfolio import DeepSharpe
from alphalab.portfolio.base import make_strategy
from alphalab.testing import assert_strategy_no_leakage
from tests.models.deep_portfolio.conftest import etf_panel, planted_drift_panel

TINY = {"window": 20, "hidden_size": 8, "max_epochs": 6, "patience": 0, "lr": 1e-2, "dropout": 0.0,
        "n_seeds": 2, "progress": False}


@pytest.mark.parametrize(("architecture", "lr", "epochs"), [("lstm", 3e-2, 15), ("cnn", 3e-3, 30)])
def test_planted_drift_gets_most_weight(architecture: str, lr: float, epochs: int) -> None:
    panel = planted_drift_panel(n_dates=560)
    s = DeepSharpe(architecture=architecture, window=20, hidden_size=8, max_epochs=epochs, patience=0,
                   lr=lr, dropout=0.0, n_seeds=1, random_state=0, progress=False)
    s.fit(panel, panel.dates[450])
    w = s.decide(panel, panel.dates[460::5])
    assert np.allclose(w.sum(axis=1), 1.0)
    assert w[:, 1].mean() >= 0.8, w[:, 1]


def test_determinism_bit_identical_weights() -> None:
    panel = planted_drift_panel(n_dates=400)
    a = DeepSharpe(architecture="lstm", random_state=3, **TINY).fit(panel, panel.dates[300])
    b = DeepSharpe(architecture="lstm", random_state=3, **TINY).fit(panel, panel.dates[300])
    for na, nb in zip(a.nets_, b.nets_, strict=True):
        for (ka, va), (kb, vb) in zip(na.state_dict().items(), nb.state_dict().items(), strict=True):
            assert ka == kb and np.array_equal(va.numpy(), vb.numpy())
    dates = panel.dates[310::10]
    assert np.array_equal(a.decide(panel, dates), b.decide(panel, dates))
    c = DeepSharpe(architecture="lstm", random_state=4, **TINY).fit(panel, panel.dates[300])
    assert not np.array_equal(a.decide(panel, dates), c.decide(panel, dates))


def test_ensemble_is_mean_of_seeds_and_reports_each_seed() -> None:
    panel = planted_drift_panel(n_dates=400)
    s = DeepSharpe(architecture="mlp", random_state=0, **TINY).fit(panel, panel.dates[300])
    dates = panel.dates[310::10]
    w = s.decide(panel, dates)
    assert s.seed_weights_.shape == (2, len(dates), 3)
    assert np.allclose(w, s.seed_weights_.mean(axis=0))
    fc = s.forecasts_
    assert {"date", "ticker", "weight", "w_seed0", "w_seed1"} <= set(fc.columns)
    assert len(fc) == len(dates) * 3
    diag = json.loads(json.dumps(s.diagnostics_))
    assert len(diag["seeds"]) == 2 and len(diag["training_curve"][0]) == 6
    assert all(len(c) == 6 for c in diag["val_curve"])
    # early stopping uses the last 10 % of the samples only
    assert diag["seeds"][0]["n_val"] == round(0.1 * diag["n_samples"])
    restored = pickle.loads(pickle.dumps(s))
    assert np.array_equal(restored.decide(panel, dates), w)


def test_long_short_and_vol_scaling_layer() -> None:
    panel = etf_panel(end="2010-12-31")
    s = DeepSharpe(architecture="mlp", long_only=False, random_state=0, **TINY).fit(panel, "2009-12-31")
    w = s.decide(panel, panel.dates[-20:])
    assert np.allclose(np.abs(w).sum(axis=1), 1.0, atol=1e-5) or (np.abs(w).sum(axis=1) <= 1 + 1e-6).all()
    v = DeepSharpe(architecture="mlp", vol_target=0.02, cost_bps=1.0, random_state=0, **TINY)
    v.fit(panel, "2009-12-31")
    wv = v.decide(panel, panel.dates[-20:])
    # per-asset scaling to a 2 % target with assets at 5-20 % volatility: well below fully invested
    assert (wv >= 0).all() and (wv.sum(axis=1) < 0.8).all()


def test_no_leakage() -> None:
    panel = etf_panel(start="2008-01-01", end="2009-12-31")
    s = DeepSharpe(architecture="mlp", random_state=0, **{**TINY, "n_seeds": 1, "max_epochs": 3})
    assert_strategy_no_leakage(s, panel, panel.dates[300::40], fit_until=panel.dates[290], n_trials=2)


def test_errors() -> None:
    panel = planted_drift_panel(n_dates=120)
    with pytest.raises(DataError, match="training samples"):
        DeepSharpe(**TINY).fit(panel, panel.dates[60])
    with pytest.raises(ConfigError, match="before fit"):
        DeepSharpe(**TINY).decide(panel, panel.dates[-3:])
    with pytest.raises(ConfigError, match="architecture"):
        DeepSharpe(architecture="transformer")
    with pytest.raises(ConfigError, match="no parameter"):
        make_strategy("deep_sharpe", {"hidden": 3})
    with pytest.raises(ConfigError, match="dropout"):
        DeepSharpe(dropout=1.5)


def test_optuna_tuning_on_the_inner_block_through_the_runner() -> None:
    from alphalab.validation.splits import WalkForward
    from alphalab.validation.tuning import TuneSpec
    from alphalab.validation.walkforward import EngineSettings, run_walk_forward

    panel = etf_panel(end="2010-12-31")
    s = DeepSharpe(architecture="mlp", random_state=0, **{**TINY, "n_seeds": 1, "max_epochs": 2})
    spec = TuneSpec(space={"hidden_size": {"type": "categorical", "choices": [2, 4]},
                           "lr": {"low": 1e-3, "high": 1e-2, "log": True}}, n_trials=2, inner="6m")
    engine = EngineSettings(market="us", rebalance="monthly", execution="next_close", rules="proportional")
    wf = run_walk_forward(s, panel, WalkForward(train="2y", test="1y"), engine, tune=spec, seed=1)
    assert wf.n_trials == 2 * len(wf.folds) and len(wf.folds) >= 2
    for fold in wf.folds:
        assert fold["params"]["hidden_size"] in (2, 4)
    assert np.isfinite(wf.weights[wf.oos_start:]).any()


def test_contiguous_batches_never_leave_a_single_sample() -> None:
    import torch

    from alphalab.models.deep_portfolio.training import contiguous_batches

    x = torch.arange(129)
    sizes = [len(b[0]) for b in contiguous_batches((x,), 64)(torch.Generator().manual_seed(0))]
    assert sorted(sizes) == [64, 65]
    got = torch.cat([b[0] for b in contiguous_batches((x,), 10, shuffle=False)(None)])
    assert torch.equal(got, x)  # consecutive samples stay consecutive


def test_a_decision_does_not_depend_on_the_other_dates_of_the_call() -> None:
    # bit-identical whether a date is decided alone or with others (the guard compares bits)
    panel = etf_panel(end="2010-12-31")
    s = DeepSharpe(architecture="lstm", random_state=0, **{**TINY, "n_seeds": 2}).fit(panel, "2009-12-31")
    dates = panel.dates[-40:]
    together = s.decide(panel, dates)
    for k in (0, 17, 39):
        alone = s.decide(panel, dates[k:k + 1])[0]
        assert np.array_equal(alone, together[k], equal_nan=True)
        cut = panel.iloc_dates(slice(0, panel.dates.get_loc(dates[k]) + 1))
        assert np.array_equal(s.decide(cut, dates[k:k + 1])[0], together[k], equal_nan=True)
