"""MarketEnv steps the backtest's engine: same equity, same rules, gymnasium-valid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

from alphalab.backtest import Costs, backtest
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.rl import MarketEnv, make_sb3_vec_env, make_vec_env

from ...backtest.helpers import random_panel, random_weights


@pytest.fixture(scope="module")
def vn_panel(vn30_long: pd.DataFrame) -> Panel:
    panel = Panel.from_long(vn30_long, ["open", "high", "low", "close", "volume"])
    return panel.slice_dates(None, "2017-06-30")


@pytest.fixture(scope="module")
def us_panel(us_sp500_long: pd.DataFrame) -> Panel:
    panel = Panel.from_long(us_sp500_long, ["open", "high", "low", "close", "volume"])
    return panel.select_assets(list(panel.assets[:25])).slice_dates(None, "2014-06-30")


def _drive(env: MarketEnv, w: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """Run one episode with the rows of ``w`` as actions; equity at each bar."""
    env.reset(seed=0)
    eq = [env._eq]
    infos = []
    t = env._t
    done = False
    while not done:
        _, _, done, _, info = env.step(w[t])
        t += 1
        eq.append(info["equity"])
        infos.append(info)
    return np.array(eq), infos


@pytest.mark.parametrize("execution", ["next_open", "next_close"])
def test_fixed_weights_reproduce_the_backtest_on_vn30(vn_panel: Panel, execution: str) -> None:
    # HOSE rules in 2016-17: lots of 10 (100 from 2021), 7% tick-rounded
    # limits, T+3 sell lock, no shorts, sell tax; daily rebalancing hits the lock
    rng = np.random.default_rng(3)
    w = random_weights(rng, *vn_panel.shape, gross=1.0)
    costs = Costs(slippage_bps=5.0, min_commission=10_000.0)
    window = 5
    env = MarketEnv(vn_panel, "vn.hose", window=window, costs=costs, initial_cash=5e9,
                    execution=execution)  # fmt: skip
    w_env = np.clip(w, 0.0, None)  # long_only actions; the backtest gets the same weights
    eq_env, infos = _drive(env, w_env)
    full = np.full_like(w_env, np.nan)
    full[window - 1 : -1] = w_env[window - 1 : -1]
    res = backtest(full, vn_panel, "vn.hose", costs=costs, initial_cash=5e9, execution=execution)
    np.testing.assert_allclose(eq_env, res.equity_values[window - 1 :], rtol=1e-10)
    fills = np.concatenate([i["fills"]["shares"] for i in infos])
    assert len(fills) == len(res.trades)
    reasons = {res.reasons[int(r)] for i in infos for r in i["rejected"]["reason"]}
    assert "t_plus_lock" in reasons and reasons == set(res.rejected_frame()["reason"])
    costs_env = np.sum([i["costs"] for i in infos], axis=0)
    np.testing.assert_allclose(costs_env, res.costs_values.sum(axis=0), rtol=1e-10)


def test_fixed_weights_reproduce_the_backtest_on_us_data(us_panel: Panel) -> None:
    rng = np.random.default_rng(4)
    w = random_weights(rng, *us_panel.shape, gross=1.0, short=True)
    costs = Costs(commission_bps=5.0, slippage_bps=2.0)
    env = MarketEnv(us_panel, "us", action="long_short", window=3, costs=costs)
    eq_env, _ = _drive(env, w)
    full = np.full_like(w, np.nan)
    full[2:-1] = w[2:-1]
    res = backtest(full, us_panel, "us", costs=costs)
    np.testing.assert_allclose(eq_env, res.equity_values[2:], rtol=1e-10)
    assert res.costs["borrow"] > 0  # shorts held: borrow fees accrue in both


def test_gymnasium_check_env_passes() -> None:
    panel = random_panel(np.random.default_rng(0), 60, 4, holes=0.02)
    for action in ("long_only", "softmax", "long_short", "discrete"):
        check_env(MarketEnv(panel, "us", action=action, window=4), skip_render_check=True)
    check_env(MarketEnv(panel, "vn.hose", action="discrete", window=4), skip_render_check=True)


def test_masked_shorts_on_hose_never_become_short_orders(vn_panel: Panel) -> None:
    env = MarketEnv(vn_panel, "vn.hose", action="discrete", window=3, trade_size=0.2,
                    initial_cash=5e9)  # fmt: skip
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    n_sell_masked = 0
    done = False
    while not done:
        mask = env.action_masks().reshape(-1, 3)
        n_sell_masked += int((~mask[:, 0]).sum())
        # a careless agent: random actions, masked ones included
        _, _, done, _, info = env.step(rng.integers(0, 3, env.n_assets))
        assert (env._st.f[0] >= 0).all()
        assert "no_short" not in {info["reasons"][r] for r in info["rejected"]["reason"]}
    assert n_sell_masked > 0


def test_reset_with_a_seed_is_deterministic() -> None:
    panel = random_panel(np.random.default_rng(2), 120, 5)
    runs = []
    for _ in range(2):
        env = MarketEnv(panel, "vn.hose", action="softmax", window=5, episode_length=20,
                        random_start=True)  # fmt: skip
        obs, _ = env.reset(seed=42)
        env.action_space.seed(7)
        trace = [obs]
        for _ in range(20):
            obs, r, *_ = env.step(env.action_space.sample())
            trace.append(np.append(obs, r))
        runs.append(np.concatenate(trace))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_observations_are_causal() -> None:
    # the observation at t uses rows <= t: changing later rows changes nothing up to t
    rng = np.random.default_rng(5)
    panel = random_panel(rng, 40, 3)
    fields = {k: np.array(v) for k, v in panel.fields.items()}
    fields["close"][25:] *= 3.0
    fields["open"][25:] *= 3.0
    moved = Panel(fields, panel.dates, list(panel.assets))
    w = random_weights(rng, *panel.shape)
    obs = []
    for p in (panel, moved):
        env = MarketEnv(p, "us", window=4)
        o, _ = env.reset(seed=0)
        seq = [o]
        for t in range(3, 24):
            o, *_ = env.step(w[t])
            seq.append(o)
        obs.append(np.array(seq))
    np.testing.assert_array_equal(obs[0], obs[1])


def test_bad_configurations_are_refused() -> None:
    panel = random_panel(np.random.default_rng(6), 30, 3)
    with pytest.raises(ConfigError, match="forbids shorts"):
        MarketEnv(panel, "vn.hose", action="long_short")
    with pytest.raises(ConfigError, match="action"):
        MarketEnv(panel, "us", action="buy_low")
    with pytest.raises(ConfigError, match="window"):
        MarketEnv(panel, "us", window=0)
    with pytest.raises(ConfigError, match="start"):
        MarketEnv(panel, "us", window=5, start=29)
    env = MarketEnv(panel, "us", window=5, episode_length=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3))  # the kernel has no bounds checks: refused, not run
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="3"):
        env.step(np.zeros(5))
    env = MarketEnv(panel, "us", window=5, start=28)  # one step to the last bar
    env.reset(seed=0)
    assert env.step(np.zeros(3))[2]  # terminated
    with pytest.raises(RuntimeError, match="last bar"):
        env.step(np.zeros(3))


def test_vector_envs_step_in_parallel() -> None:
    panel = random_panel(np.random.default_rng(7), 80, 4)
    venv = make_vec_env(panel, "us", 3, window=5, episode_length=10, random_start=True)
    obs, _ = venv.reset(seed=[1, 2, 3])
    assert obs.shape == (3, 5 * 4 + 4)
    obs, rew, *_ = venv.step(venv.action_space.sample())
    assert rew.shape == (3,) and np.isfinite(rew).all()
    venv.close()


def test_sb3_a2c_smoke() -> None:
    torch = pytest.importorskip("torch")
    from stable_baselines3 import A2C

    torch.set_num_threads(1)
    panel = random_panel(np.random.default_rng(8), 120, 4)
    venv = make_sb3_vec_env(panel, "vn.hose", 2, window=5, episode_length=30, random_start=True)
    model = A2C("MlpPolicy", venv, n_steps=8, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    obs = venv.reset()
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (2, 4)


def test_minimal_and_full_info_give_the_same_trajectory(vn_panel: Panel) -> None:
    # info only reports: the level must not change observations, rewards or
    # the records the step wrote (HOSE daily rebalancing: fills and refusals)
    rng = np.random.default_rng(9)
    w = np.clip(random_weights(rng, *vn_panel.shape, gross=1.0), 0.0, None)
    runs = {}
    for level in ("full", "minimal"):
        env = MarketEnv(vn_panel, "vn.hose", window=4, initial_cash=5e9, info=level)
        obs, _ = env.reset(seed=0)
        trace, fills, rejected, counts = [obs], [], [], []
        t, done = env._t, False
        while not done:
            obs, r, done, _, info = env.step(w[t])
            t += 1
            trace.append(np.append(obs, [r, info["equity"]]))
            f, rj = env.last_records()
            fills.append(np.column_stack([f[k] for k in f]))
            rejected.append(np.column_stack([rj[k] for k in rj]))
            counts.append((f.n, rj.n))
            if level == "full":
                assert set(info) == {"date", "equity", "cash", "fills", "rejected", "reasons",
                                     "costs", "turnover"}  # fmt: skip
                assert info["fills"] == f and info["rejected"] == rj
                assert len(info["rejected"]["reason"]) == rj.n
            else:
                assert set(info) == {"date", "equity", "n_fills", "n_rejected"}
                assert (info["n_fills"], info["n_rejected"]) == (f.n, rj.n)
        runs[level] = (np.concatenate(trace), np.concatenate(fills), np.concatenate(rejected),
                       counts)  # fmt: skip
    full, minimal = runs["full"], runs["minimal"]
    for a, b in zip(full[:3], minimal[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    assert full[3] == minimal[3]
    assert sum(n for _, n in full[3]) > 0  # refusals happened, so the check bites
    with pytest.raises(ConfigError, match="info"):
        MarketEnv(vn_panel, "vn.hose", info="everything")


def test_actions_of_any_layout_and_dtype_are_the_same_action() -> None:
    # the fast path takes contiguous float64 vectors as they are; strided,
    # float32 and list actions must reach the kernel as the same weights
    panel = random_panel(np.random.default_rng(10), 50, 4)
    rng = np.random.default_rng(11)
    acts = rng.random((40, 8))[:, ::2]  # non-contiguous rows
    runs = []
    for convert in (np.ascontiguousarray, lambda a: a, lambda a: a.astype(np.float32).tolist()):
        env = MarketEnv(panel, "us", window=3, episode_length=30)
        obs, _ = env.reset(seed=0)
        trace = [obs]
        for a in acts[:30]:
            a32 = a.astype(np.float32).astype(np.float64)  # same values in every form
            obs, r, *_ = env.step(convert(a32))
            trace.append(np.append(obs, r))
        runs.append(np.concatenate(trace))
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])


def test_copies_and_pickles_continue_the_same_episode() -> None:
    # the compiled bundle is rebuilt over the copy's own arrays: a copy made
    # mid-episode goes on exactly like the original, and stepping it leaves
    # the original alone
    import copy
    import pickle

    panel = random_panel(np.random.default_rng(12), 60, 4)
    w = random_weights(np.random.default_rng(13), *panel.shape)
    env = MarketEnv(panel, "vn.hose", window=3, episode_length=40)
    env.reset(seed=0)
    for t in range(2, 12):
        env.step(np.clip(w[t], 0.0, None))
    clones = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    runs = []
    for e in (*clones, env):  # the original last: the clones must not have moved it
        trace = []
        for t in range(12, 30):
            obs, r, _, _, info = e.step(np.clip(w[t], 0.0, None))
            trace.append(np.concatenate([obs, [r, info["fills"].n, info["rejected"].n]]))
        runs.append(np.concatenate(trace))
    np.testing.assert_array_equal(runs[0], runs[2])
    np.testing.assert_array_equal(runs[1], runs[2])
