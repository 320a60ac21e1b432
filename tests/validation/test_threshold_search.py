"""Threshold search: the stateless mode reproduces the founding pandas masks for all 2,304 candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.errors import ConfigError
from alphalab.models.trade_labels import trade_labels
from alphalab.portfolio.pm_config import SEARCH_KEYS, PMConfig
from alphalab.portfolio.pm_kernel import N_SIG, SIG, pm_stateless_trades
from alphalab.testing.founding_pm import founding_frame, founding_search
from alphalab.validation.threshold_search import (
    FOUNDING_GRID,
    founding_score,
    grid_candidates,
    threshold_search,
)
from tests.models.conftest import cn_small_panel


@pytest.fixture(scope="module")
def cn_panel():
    return cn_small_panel()


def _fixture(cn_panel, n_bars: int = 100, n_assets: int = 20, seed: int = 3):
    """Real realised edges (CN, horizon 5) and seeded signals on a 0.05 lattice (ties at thresholds)."""
    p = cn_panel.iloc_dates(slice(0, n_bars + 5)).select_assets(list(cn_panel.assets[:n_assets]))
    lab = trade_labels(p, "cn", 5)
    rl, rs = lab.edge_long.values[:n_bars], lab.edge_short.values[:n_bars]
    rng = np.random.default_rng(seed)
    sig = np.zeros((N_SIG, n_bars, n_assets))
    noise = lambda: rng.normal(0, 1, (n_bars, n_assets))  # noqa: E731
    informed = np.tanh(np.nan_to_num(rl) / 300 + noise())
    sig[SIG["p_long"]] = np.round((0.45 + 0.25 * informed) * 20) / 20
    sig[SIG["p_short"]] = np.round((0.45 - 0.25 * informed) * 20) / 20
    for k in ("p_entry_long", "p_entry_short", "risk_market", "risk_long", "risk_short"):
        sig[SIG[k]] = np.round(rng.uniform(0.3, 1.0, (n_bars, n_assets)) * 20) / 20
    sig[SIG["edge_long"]] = np.round(np.nan_to_num(rl) / 2 + 10 * noise())
    sig[SIG["edge_short"]] = np.round(np.nan_to_num(rs) / 2 + 10 * noise())
    sig[SIG["price"]] = p["close"][:n_bars]
    sig[SIG["liq"]] = np.nan
    o = p["open"]
    ret = np.full((n_bars, n_assets), np.nan)
    ret[: n_bars - 2] = o[2:n_bars] / o[1 : n_bars - 1] - 1
    sig[SIG["ret"]] = ret
    return sig, rl, rs


def test_grid_is_the_founding_size() -> None:
    c = grid_candidates()
    assert c.shape == (4 * 4 * 4 * 3 * 4 * 3, 6) == (2304, 6)
    assert len(np.unique(c, axis=0)) == 2304


@pytest.mark.parametrize("allow_short", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_stateless_reproduces_founding_for_all_candidates(cn_panel, allow_short: bool) -> None:
    sig, rl, rs = _fixture(cn_panel)
    base = PMConfig.from_dict({"sizing": {"allow_short": allow_short}})
    res = threshold_search(sig, base, simulation="stateless", real_long=rl, real_short=rs)
    cands = grid_candidates()
    ref = founding_search(founding_frame(sig, rl, rs, allow_short), cands)
    got = res.candidates
    np.testing.assert_array_equal(got[list(SEARCH_KEYS)].to_numpy(), cands)
    np.testing.assert_array_equal(got["n_trades"].to_numpy(), ref["n_trades"].to_numpy())
    for col in ("total_edge_bps", "max_drawdown_bps", "avg_edge_bps", "founding_score"):
        np.testing.assert_allclose(got[col].to_numpy(), ref[col].to_numpy(), rtol=1e-10, atol=1e-8, err_msg=col)
    wins = (got["win_rate"] * got["n_trades"]).fillna(0).round().astype(int).to_numpy()
    np.testing.assert_array_equal(wins, ref["wins"].to_numpy())
    # trade sets: the same samples, in the same order, for every candidate
    for c in range(len(cands)):
        idx = pm_stateless_trades(sig, rl, rs, cands[c], allow_short)
        assert tuple(idx) == ref["trades_index"].iat[c], c
    assert ref["n_trades"].max() > 50 and ref["n_trades"].min() < ref["n_trades"].max()


def test_founding_score_by_hand() -> None:
    assert founding_score(np.array([25.0]), np.array([4.0]), np.array([100.0]), np.array([40.0]))[0] == \
        pytest.approx(4 * 5 + 5 - 10)
    assert founding_score(np.array([10.0]), np.array([2.0]), np.array([20.0]), np.array([0.0]))[0] == \
        pytest.approx(2 * np.sqrt(10) + 1 - 50)


def test_stateful_grid_and_optuna(cn_panel) -> None:
    sig, _, _ = _fixture(cn_panel, 80, 10)
    grid = {k: v[:2] for k, v in FOUNDING_GRID.items()}
    res = threshold_search(sig, PMConfig(), grid=grid, half_cost_bps=10.0)
    assert len(res.candidates) == 64 and res.candidates["score"].iat[res.best] == res.candidates["score"].max()
    assert res.best_config.entry.dir_min in grid["dir_min"]
    assert set(res.stability) >= {"best_score", "neighbours", "neighbour_mean"} and len(res.stability["neighbours"]) == 6
    assert "dsr" in res.dsr and "pbo" in res.pbo
    again = threshold_search(sig, PMConfig(), grid=grid, half_cost_bps=10.0)
    pd.testing.assert_frame_equal(res.candidates, again.candidates)
    opt = threshold_search(sig, PMConfig(), grid=grid, mode="optuna", n_trials=12, seed=1, half_cost_bps=10.0,
                           metric="total_edge")
    assert len(opt.candidates) == 12               # every trial recorded
    opt2 = threshold_search(sig, PMConfig(), grid=grid, mode="optuna", n_trials=12, seed=1, half_cost_bps=10.0,
                            metric="total_edge")
    pd.testing.assert_frame_equal(opt.candidates, opt2.candidates)


def test_bad_search_inputs(cn_panel) -> None:
    sig, _, _ = _fixture(cn_panel, 30, 3)
    with pytest.raises(ConfigError, match="unknown threshold"):
        threshold_search(sig, PMConfig(), grid={"dir": [0.5]})
    with pytest.raises(ConfigError, match="non-empty"):
        threshold_search(sig, PMConfig(), grid={"dir_min": []})
    with pytest.raises(ConfigError, match="metric"):
        threshold_search(sig, PMConfig(), metric="sortino")
    with pytest.raises(ConfigError, match="real_long"):
        threshold_search(sig, PMConfig(), simulation="stateless")
    with pytest.raises(ConfigError, match="mode"):
        threshold_search(sig, PMConfig(), mode="random")
