"""Signal agent and allocator: a planted signal is learned, no short order on HOSE, causal allocator env."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest.costs import Costs
from alphalab.data.panel import Panel
from alphalab.models.cluster_rl import agents
from alphalab.models.rl import MarketEnv
from tests.conftest import shared_file


def _planted(n: int = 400, n_assets: int = 2, seed: int = 0) -> tuple[Panel, np.ndarray]:
    """A feature f_t in {-1, +1} fixes the sign of the open(t+1) -> close(t+1) move (2%)."""
    rng = np.random.default_rng(seed)
    f = rng.choice([-1.0, 1.0], size=(n, n_assets))
    close = np.empty((n, n_assets))
    open_ = np.empty((n, n_assets))
    close[0] = open_[0] = 100.0
    for t in range(1, n):
        open_[t] = close[t - 1]
        close[t] = open_[t] * (1 + 0.02 * f[t - 1])
    dates = pd.bdate_range("2015-01-01", periods=n)
    vol = np.full((n, n_assets), 1e7)
    panel = Panel({"open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
                   "close": close, "volume": vol}, dates, [f"S{j}" for j in range(n_assets)])
    return panel, f[:, :, None].astype(np.float32)


def test_a2c_learns_a_planted_signal() -> None:
    panel, feats = _planted()
    model, curves = agents.train_signal_agent(
        panel, feats, "us", algo="a2c", steps=3000, chunks=1, window=1, n_envs=2, episode_length=50,
        costs=Costs(commission_bps=1, slippage_bps=0), seed=0)
    rows = np.arange(panel.n_dates)
    sig = agents.policy_signal(model, feats, rows, window=1)
    right = np.sign(sig) == feats[:, :, 0]  # buy when the next move is up, not when down
    assert right.mean() >= 0.9, right.mean()
    assert len(curves["training_curve"]) == 1


def test_recurrent_policy_signal_is_seeded_and_per_date() -> None:
    # sb3-contrib RecurrentPPO (LSTM 64): same seed -> same signal; a date's signal reads its own
    # warm-up bars only, so asking for it alone or among other dates gives the same number
    panel, feats = _planted(n=120)
    kw = dict(algo="ppo", policy="lstm", steps=128, chunks=1, window=2, n_envs=2, episode_length=30,
              costs=Costs(commission_bps=1, slippage_bps=0), seed=4, warmup=5, hyper={"n_steps": 32, "batch_size": 32})
    a, _ = agents.train_signal_agent(panel, feats, "us", **kw)
    b, _ = agents.train_signal_agent(panel, feats, "us", **kw)
    assert agents.is_recurrent(a) and type(a).__name__ == "RecurrentPPO" and a.policy.lstm_actor.hidden_size == 64
    rows = np.arange(1, panel.n_dates)
    sa = agents.policy_signal(a, feats, rows, 2, 5)
    assert sa.shape == (len(rows), 2) and np.isfinite(sa).all() and np.abs(sa).max() <= 1
    assert np.array_equal(sa, agents.policy_signal(b, feats, rows, 2, 5))
    one = np.vstack([agents.policy_signal(a, feats, rows[i : i + 1], 2, 5) for i in (0, 3, 60)])
    assert np.allclose(one, sa[[0, 3, 60]], rtol=0, atol=1e-6)
    f2 = feats.copy()
    f2[70:] *= -1  # later features cannot move an earlier date's signal
    assert np.array_equal(agents.policy_signal(a, f2, rows[:60], 2, 5), sa[:60])


def test_lstm_policy_needs_ppo_and_per_cluster_assets_are_used() -> None:
    from alphalab.errors import ConfigError

    panel, feats = _planted(n=80, n_assets=3)
    with pytest.raises(ConfigError, match="needs signal 'ppo'"):
        agents.train_signal_agent(panel, feats, "us", algo="a2c", policy="lstm", steps=8)
    with pytest.raises(ConfigError, match="policy must be one of"):
        agents.train_signal_agent(panel, feats, "us", policy="gru", steps=8)
    model, _ = agents.train_signal_agent(panel, feats, "us", steps=16, chunks=1, window=1, n_envs=3,
                                         episode_length=20, assets=np.array([2]), seed=0)
    assert model.n_envs == 1  # only the one member stock is traded by that agent


def test_environments_in_worker_processes_give_the_same_agent() -> None:
    # rollouts in parallel (forked SubprocVecEnv workers) are the in-process batch's, step for step
    panel, feats = _planted(n=100, n_assets=3)
    kw = dict(algo="a2c", steps=96, chunks=2, window=2, n_envs=3, episode_length=20, seed=1,
              costs=Costs(commission_bps=1, slippage_bps=0))
    a, ca = agents.train_signal_agent(panel, feats, "us", vec_env="dummy", **kw)
    b, cb = agents.train_signal_agent(panel, feats, "us", vec_env="subproc", **kw)
    assert a.n_envs == b.n_envs == 3 and a.num_timesteps == b.num_timesteps
    sa, sb = a.policy.state_dict(), b.policy.state_dict()
    assert all(np.array_equal(sa[k].numpy(), sb[k].numpy()) for k in sa)
    np.testing.assert_array_equal(ca["training_curve"], cb["training_curve"])  # NaN: no episode ended yet
    with pytest.raises(Exception, match="vec_env must be one of"):
        agents.train_signal_agent(panel, feats, "us", vec_env="ray", **kw)


@pytest.mark.slow
def test_recurrent_ppo_learns_a_planted_signal() -> None:
    panel, feats = _planted()
    model, _ = agents.train_signal_agent(
        panel, feats, "us", algo="ppo", policy="lstm", steps=3000, chunks=1, window=1, n_envs=2,
        episode_length=50, costs=Costs(commission_bps=1, slippage_bps=0), seed=0, warmup=5)
    sig = agents.policy_signal(model, feats, np.arange(panel.n_dates), 1, 5)
    assert (np.sign(sig) == feats[:, :, 0]).mean() >= 0.9


def test_no_short_order_is_ever_sent_on_hose() -> None:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"),
                         filters=[("date", ">=", pd.Timestamp("2018-01-01")), ("date", "<=", pd.Timestamp("2018-05-31"))])
    df = df[df.ticker.isin(["FPT", "VNM", "HPG", "SSI"])]
    panel = Panel.from_long(df, ["open", "high", "low", "close", "volume"], meta={"market": "vn.hose"})
    env = MarketEnv(panel, "vn.hose", action="discrete", trade_size=1.0, window=3)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    pos = np.zeros(panel.n_assets)
    n_sells_masked = 0
    done = False
    while not done:
        mask = env.action_masks().reshape(-1, 3)
        n_sells_masked += int((~mask[:, 0]).sum())
        a = rng.integers(0, 3, panel.n_assets)  # sells on a flat book included: the env must drop them
        _, _, done, _, info = env.step(a)
        np.add.at(pos, info["fills"]["asset"], info["fills"]["shares"])
        assert (pos >= -1e-9).all()
        assert not np.isin(info["rejected"]["reason"], [info["reasons"].index("no_short")]).any()
    assert n_sells_masked > 0  # the random policy did ask for sells on flat names


def test_allocator_env_next_state_is_the_next_bar() -> None:
    rng = np.random.default_rng(1)
    states = rng.normal(size=(50, 6)).astype(np.float32)
    nxt = rng.normal(0, 0.01, size=(50, 2))
    env = agents.ClusterAllocEnv(states, nxt, 0.0, 0.0, episode_length=10)
    obs, _ = env.reset(seed=3)
    t = env.t
    assert np.allclose(obs[:6], states[t])
    a = np.array([1.0, -1.0, -1.0])
    obs2, reward, *_ = env.step(a)
    w = agents.softmax(a * 5.0)
    assert np.allclose(obs2[:6], states[t + 1])  # the next state is the next bar's, not the current one
    assert reward == pytest.approx(100 * np.log(1 + w[:2] @ nxt[t]))


def test_alloc_states_are_causal() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(size=(60, 3))
    share = rng.uniform(size=(60, 3))
    a = agents.alloc_states(r, share)
    r2 = r.copy()
    r2[40:] = 99.0
    b = agents.alloc_states(r2, share)
    assert np.array_equal(a[:40], b[:40])


def test_allocator_costs_are_the_engines_on_hose() -> None:
    # The same turnover costs the allocator what the backtest engine charges on HOSE:
    # commission 15 bps and slippage 10 bps on both sides, the 0.1 % sell tax on sells.
    from alphalab.backtest import backtest

    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"),
                         filters=[("date", ">=", pd.Timestamp("2019-01-01")), ("date", "<=", pd.Timestamp("2019-03-31"))])
    df = df[df.ticker.isin(["FPT", "VNM", "HPG"])]
    panel = Panel.from_long(df, ["open", "high", "low", "close", "volume"], meta={"market": "vn.hose"})
    costs = Costs(commission_bps=15, slippage_bps=10)
    w = np.full(panel.shape, np.nan)
    w[0] = [0.3, 0.3, 0.3]
    w[10] = [0.6, 0.0, 0.3]  # sells HPG-side weight into another name
    w[20] = [0.0, 0.0, 0.0]  # everything sold (the lock has long passed)
    res = backtest(w, panel, "vn.hose", costs=costs, initial_cash=1e10)
    buy, sell = agents.market_cost_rates(panel, "vn.hose", costs)
    assert buy[0] == pytest.approx(1.001 * 0.0015 + 0.001) and sell[0] == pytest.approx(0.999 * 0.0025 + 0.001)
    bar, _, shares, price = res.fills
    assert len(bar) >= 5 and (shares < 0).any() and (shares > 0).any()
    notional = np.abs(shares) * price  # value at the price before slippage, per fill
    eq_prev = res.equity.to_numpy()
    engine = res.costs_daily[["commission", "tax", "slippage"]].sum(axis=1).to_numpy()
    for b in np.unique(bar):
        # the same turnover, as fractions of the book: what the allocator's env charges
        t_buy = notional[(bar == b) & (shares > 0)].sum() / eq_prev[b - 1]
        t_sell = notional[(bar == b) & (shares < 0)].sum() / eq_prev[b - 1]
        ours = buy[b] * t_buy + sell[b] * t_sell
        assert ours == pytest.approx(engine[b] / eq_prev[b - 1], rel=1e-9, abs=1e-15)


def test_allocator_env_charges_buys_and_sells_at_the_market_rates() -> None:
    states = np.zeros((30, 6), np.float32)
    nxt = np.full((30, 2), 0.01)
    buy, sell = np.full(30, 0.0025), np.full(30, 0.0035)
    env = agents.ClusterAllocEnv(states, nxt, buy, sell, episode_length=5)
    env.reset(seed=0)
    a = np.array([1.0, -1.0, -1.0])
    w = agents.softmax(a * 5.0)
    _, r1, *_ , info = env.step(a)  # from cash: buys only
    assert info["sold"] == 0 and info["bought"] == pytest.approx(w[:2].sum())
    assert r1 == pytest.approx(100 * np.log(1 + w[:2] @ nxt[0] - 0.0025 * w[:2].sum()))
    held = env.w.copy()
    b = np.array([-1.0, -1.0, 1.0])  # back to cash: sells only, the tax-bearing rate
    w2 = agents.softmax(b * 5.0)
    _, r2, *_ , info = env.step(b)
    sold = np.clip(held[:2] - w2[:2], 0, None).sum()
    assert info["bought"] == 0 and info["sold"] == pytest.approx(sold)
    assert r2 == pytest.approx(100 * np.log(1 + w2[:2] @ nxt[1] - 0.0035 * sold))
