"""RL agents of the cluster-RL recipe: stock signal agents and the cluster allocator.

Signal agent
    One policy shared by every stock (the stock's cluster slot, one-hot, among
    its inputs) or one per cluster slot (trained on that slot's members), trained
    with stable-baselines3 A2C (the synchronous form of A3C) or PPO in
    :class:`alphalab.models.rl.MarketEnv`: one single-stock environment per
    stock in a vectorised env, ``discrete`` actions (sell / hold / buy, a trade
    moves the whole book), rewards = change in log equity after every cost and
    tax of the market, sells that would open a short masked by the environment
    (never sent). The observation stacks the last ``window`` feature rows; with
    ``policy="lstm"`` the agent is sb3-contrib's RecurrentPPO (an LSTM-64
    actor-critic, the founding study's network). Its signal for a stock at date
    t is ``P(buy) - P(sell)`` of the policy in the flat state at the close of t
    (a recurrent policy first reads the ``warmup`` bars before t from a zero
    state, so the signal of a date never depends on which other dates are asked).
Allocator
    DDPG (SAC, PPO as options) over cluster slots plus cash, softmax of the
    action's logits. State at bar t: trailing 20-bar mean and volatility of each
    slot's return, the share of members the signal holds, and the current
    weights; all known at the close of t. The reward is the next bar's return of
    the slot portfolios net of the market's costs and taxes on the slots' buys and
    sells (:func:`market_cost_rates`: the backtest engine's commission, tax and
    slippage arithmetic and its dated rules), the next state is built from the
    next bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.lib.stride_tricks import sliding_window_view

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError

__all__ = [
    "ALLOCATORS",
    "POLICIES",
    "SIGNAL_AGENTS",
    "VEC_ENVS",
    "ClusterAllocEnv",
    "alloc_states",
    "is_recurrent",
    "market_cost_rates",
    "policy_signal",
    "softmax",
    "train_allocator",
    "train_signal_agent",
]

SIGNAL_AGENTS = ("a2c", "ppo")
ALLOCATORS = ("ddpg", "sac", "ppo")
POLICIES = ("mlp", "lstm")
VEC_ENVS = ("dummy", "subproc")


def softmax(a: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _algo(name: str, kinds: Sequence[str]) -> Any:
    import stable_baselines3 as sb3

    if name not in kinds:
        raise ConfigError(f"cluster_rl: agent must be one of {list(kinds)}, got {name!r}")
    return {"a2c": sb3.A2C, "ppo": sb3.PPO, "ddpg": sb3.DDPG, "sac": sb3.SAC}[name]


# ---------------------------------------------------------------- signal agent
def observations(feats: np.ndarray, rows: np.ndarray, window: int) -> np.ndarray:
    """Flat-state observations of every stock at ``rows``, MarketEnv layout.

    Parameters
    ----------
    feats : ndarray, shape ``(n_dates, n_assets, n_features)`` float32, NaN -> 0
    rows : ndarray of int, shape ``(n_rows,)``, each ``>= window - 1``
    window : int

    Returns
    -------
    ndarray, shape ``(n_rows, n_assets, window * n_features + 1)``
        Rows ``t - window + 1 .. t`` of each stock's features, then its weight (0).
    """
    win = sliding_window_view(feats, window, axis=0)[rows - window + 1]  # (r, a, f, w)
    win = np.moveaxis(win, -1, 2)  # (r, a, w, f): date-major as MarketEnv lays it out
    flat = win.reshape(len(rows), feats.shape[1], -1)
    return np.concatenate([flat, np.zeros((*flat.shape[:2], 1), np.float32)], axis=2)


def _probs(dist: Any) -> np.ndarray:
    """Action probabilities ``(n, 3)`` of an sb3 (multi-)categorical distribution."""
    d = dist.distribution
    return (d[0] if isinstance(d, list) else d).probs.numpy()


def is_recurrent(model: Any) -> bool:
    """Whether ``model`` is an sb3-contrib recurrent policy (RecurrentPPO)."""
    return hasattr(model.policy, "lstm_actor")


def policy_signal(model: Any, feats: np.ndarray, rows: np.ndarray, window: int, warmup: int = 20) -> np.ndarray:
    """``P(buy) - P(sell)`` of ``model`` per row and stock, shape ``(n_rows, n_assets)``.

    A recurrent model reads, for each row t, the flat-state observations of rows
    ``t - warmup + 1 .. t`` (clipped at the first full window) from a zero LSTM state.
    """
    import torch

    if is_recurrent(model):
        return _recurrent_signal(model, feats, rows, window, warmup)
    obs = observations(feats, rows, window)
    n_r, n_a, width = obs.shape
    with torch.no_grad():
        probs = _probs(model.policy.get_distribution(torch.as_tensor(obs.reshape(-1, width))))
    return (probs[:, 2] - probs[:, 0]).reshape(n_r, n_a)


def _recurrent_signal(model: Any, feats: np.ndarray, rows: np.ndarray, window: int, warmup: int,
                      chunk: int = 16) -> np.ndarray:
    import torch

    pol = model.policy
    lstm = pol.lstm_actor
    n_a = feats.shape[1]
    out = np.empty((len(rows), n_a))
    steps = np.arange(max(1, int(warmup)))
    for c in range(0, len(rows), chunk):  # chunks of rows bound the memory (rows x assets x warmup x width)
        rr = np.asarray(rows[c : c + chunk])
        seq = np.maximum(rr[:, None] - steps[::-1][None, :], window - 1)  # (r, L), oldest first
        obs = observations(feats, seq.reshape(-1), window)  # (r * L, A, W)
        width = obs.shape[2]
        # sb3-contrib lays a batch out sequence by sequence: (r, A) sequences of L steps
        obs = obs.reshape(len(rr), len(steps), n_a, width).transpose(0, 2, 1, 3).reshape(-1, width)
        n_seq = len(rr) * n_a
        h = torch.zeros(lstm.num_layers, n_seq, lstm.hidden_size)
        with torch.no_grad():
            dist, _ = pol.get_distribution(torch.as_tensor(np.ascontiguousarray(obs)), (h, h.clone()),
                                           torch.zeros(n_seq * len(steps)))
        last = _probs(dist).reshape(n_seq, len(steps), -1)[:, -1]
        out[c : c + len(rr)] = (last[:, 2] - last[:, 0]).reshape(len(rr), n_a)
    return out


def _stock_env(panel: Panel, j: int, feats: np.ndarray, names: list[str], market: Any, kw: dict[str, Any]) -> Any:
    from alphalab.models.rl import MarketEnv

    sub = panel.select_assets([panel.assets[j]])
    features = {nm: feats[:, j, k : k + 1].astype(np.float64) for k, nm in enumerate(names)}
    return MarketEnv(sub, market, action="discrete", trade_size=1.0, features=features, **kw)


def train_signal_agent(
    panel: Panel,
    feats: np.ndarray,
    market: Any,
    *,
    algo: str = "a2c",
    steps: int = 4000,
    chunks: int = 4,
    patience: int = 2,
    window: int = 5,
    episode_length: int = 60,
    n_envs: int = 8,
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    costs: Any = None,
    seed: int = 0,
    hyper: dict[str, Any] | None = None,
    policy: str = "mlp",
    assets: np.ndarray | None = None,
    warmup: int = 20,
    vec_env: str = "dummy",
) -> tuple[Any, dict[str, list[float]]]:
    """Train the shared signal policy; early stopping on a validation span.

    Parameters
    ----------
    panel : Panel
        Training rows only (the caller cuts it at the training end).
    feats : ndarray, shape ``(n_dates, n_assets, n_features)`` float32
        Features of ``panel``'s rows (NaN -> 0).
    steps : int
        Environment steps in all (split into ``chunks`` rounds).
    val : (feats, rows, fwd), optional
        Validation span scored after each round: features ``(n, n_assets, F)``,
        the rows to score and ``fwd`` ``(len(rows), n_assets)``, the next-bar log
        return of those rows; the score is the mean of ``signal * fwd``.
        The best round's weights are kept; ``patience`` rounds without a gain stop.
    policy : {"mlp", "lstm"}
        ``lstm``: sb3-contrib's RecurrentPPO with an LSTM of 64 units (``algo``
        must be ``"ppo"``: sb3-contrib has no recurrent A2C).
    assets : ndarray of int, optional
        Columns the environments may trade (a cluster's members); default all.
    warmup : int
        Bars a recurrent policy reads before each scored date (see :func:`policy_signal`).
    vec_env : {"dummy", "subproc"}
        The ``n_envs`` environments step as one batch in this process (sb3
        ``DummyVecEnv``) or each in a worker process (``SubprocVecEnv``, forked):
        the same rollouts either way, the second pays off with free cores.

    Returns
    -------
    model, curves : the sb3 model and ``{"training_curve", "val_curve"}``
    """
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from alphalab.validation.executors import torch_seed_and_threads

    cls = _algo(algo, SIGNAL_AGENTS)
    if policy not in POLICIES:
        raise ConfigError(f"cluster_rl: policy must be one of {list(POLICIES)}, got {policy!r}")
    if policy == "lstm":
        if algo != "ppo":
            raise ConfigError("cluster_rl: policy 'lstm' needs signal 'ppo' (sb3-contrib's RecurrentPPO; "
                              f"there is no recurrent {algo.upper()})")
        from sb3_contrib import RecurrentPPO

        cls = RecurrentPPO
    torch_seed_and_threads(seed, 1)  # seeded, deterministic, one thread (the cores are shared)
    n_d, n_a = panel.shape
    length = int(min(episode_length, n_d - window - 1))
    if length < 2:
        raise ConfigError(f"cluster_rl: {n_d} training rows are too few for window {window}")
    names = [f"x{k}" for k in range(feats.shape[2])]
    rng = np.random.default_rng(seed)
    close = np.asarray(panel["close"], dtype=np.float64)
    cols = np.arange(n_a) if assets is None else np.asarray(assets, dtype=np.int64)
    if len(cols) == 0:
        raise ConfigError("cluster_rl: a signal agent needs at least one stock to train on")
    usable = cols[np.isfinite(close[window:, cols]).mean(axis=0) > 0.8]
    pool = usable if len(usable) else cols
    picks = rng.choice(pool, size=min(n_envs, len(pool)), replace=False)
    kw = {"window": window, "episode_length": length, "random_start": True, "costs": costs}
    fns = [(lambda j=j: Monitor(_stock_env(panel, int(j), feats, names, market, kw))) for j in picks]
    if vec_env not in VEC_ENVS:
        raise ConfigError(f"cluster_rl: vec_env must be one of {list(VEC_ENVS)}, got {vec_env!r}")
    env = DummyVecEnv(fns) if vec_env == "dummy" else SubprocVecEnv(fns, start_method="fork")
    env.seed(seed)
    defaults = {"a2c": {"n_steps": 8, "ent_coef": 0.01, "gamma": 0.99, "learning_rate": 1e-3},
                "ppo": {"n_steps": 64, "batch_size": 64, "ent_coef": 0.01, "gamma": 0.99,
                        "learning_rate": 1e-3, "n_epochs": 4}}[algo]
    defaults.update(hyper or {})
    if policy == "lstm":  # the founding study's LSTM-64 actor-critic
        model = cls("MlpLstmPolicy", env, seed=seed, device="cpu", verbose=0,
                    policy_kwargs={"lstm_hidden_size": 64, "net_arch": [64]}, **defaults)
    else:
        model = cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0,
                    policy_kwargs={"net_arch": [64, 64]}, **defaults)
    train_curve: list[float] = []
    val_curve: list[float] = []
    best, best_state, since = -np.inf, None, 0
    per = max(1, steps // max(1, chunks))
    for _ in range(max(1, chunks)):
        model.learn(per, reset_num_timesteps=False)
        eps = [e["r"] for e in model.ep_info_buffer] if model.ep_info_buffer else []
        train_curve.append(float(np.mean(eps)) if eps else float("nan"))
        if val is None or len(val[1]) == 0:
            continue
        sig = policy_signal(model, val[0], val[1], window, warmup)
        r = val[2]
        ok = np.isfinite(r)
        score = float(np.mean(np.where(ok, sig * np.nan_to_num(r), 0.0))) if ok.any() else 0.0
        val_curve.append(score)
        if score > best:
            best, since = score, 0
            best_state = {k: v.clone() for k, v in model.policy.state_dict().items()}
        else:
            since += 1
            if since >= patience:
                break
    if best_state is not None:
        model.policy.load_state_dict(best_state)
    env.close()
    model.env = None  # the environments hold the panel and lambdas: drop them so the model pickles
    return model, {"training_curve": train_curve, "val_curve": val_curve}


# ---------------------------------------------------------------- allocator
def alloc_states(slot_ret: np.ndarray, active: np.ndarray, lookback: int = 20) -> np.ndarray:
    """Allocator state per bar without the current weights, shape ``(n, 3 * K)``.

    Parameters
    ----------
    slot_ret : ndarray, shape ``(n, K)``
        Return of each slot over the bar ending at row t (close t-1 -> close t);
        NaN where unknown. Row t of the state reads rows ``<= t`` only.
    active : ndarray, shape ``(n, K)``
        Share of the slot's members the signal holds at t.
    """
    r = np.nan_to_num(slot_ret)
    c1 = np.cumsum(np.vstack([np.zeros((1, r.shape[1])), r]), 0)
    c2 = np.cumsum(np.vstack([np.zeros((1, r.shape[1])), r * r]), 0)
    n = len(r)
    hi = np.arange(1, n + 1)
    lo = np.maximum(0, hi - lookback)
    cnt = (hi - lo)[:, None]
    mean = (c1[hi] - c1[lo]) / cnt
    var = np.maximum((c2[hi] - c2[lo]) / cnt - mean**2, 0.0)
    return np.hstack([mean * 100, np.sqrt(var) * 100, active]).astype(np.float32)


def market_cost_rates(panel: Panel, market: Any, costs: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Cost of trading one unit of value at each bar, as the backtest engine charges it.

    The engine fills a buy of ``q`` shares at ``p * (1 + s)`` and a sell at
    ``p * (1 - s)`` (``s`` the slippage), then charges commission and tax on the
    filled value and records ``q * p * s`` as slippage
    (:func:`alphalab.backtest.kernel.trade_records`). Per unit of value at the
    price before slippage (``q * p = 1``) that is::

        buy  = (1 + s) * (commission + buy_tax)  + s
        sell = (1 - s) * (commission + sell_tax) + s

    with the commission, taxes and their dates resolved for ``panel`` by the
    engine's own :func:`alphalab.backtest.engine.kernel_inputs` (market defaults,
    ``costs`` overriding commission and slippage). The per-order minimum
    commission is not included: it depends on the book's size and order count
    (0 on the Vietnamese boards).

    Parameters
    ----------
    panel : Panel
        ``(n_dates, n_assets)``; its dates pick the dated rules (e.g. a tax change).
    market : str or MarketRules
    costs : Costs, optional
        Default: the market's commission, no slippage.

    Returns
    -------
    buy, sell : ndarray, shape ``(n_dates,)``
        Fractions of the traded value charged for a trade executed at each bar.
    """
    from alphalab.backtest.costs import Costs
    from alphalab.backtest.engine import kernel_inputs

    costs = Costs() if costs is None else costs
    if not isinstance(costs, Costs):
        raise ConfigError(f"cluster_rl: costs must be a Costs, got {type(costs).__name__}")
    close = np.ascontiguousarray(panel["close"], dtype=np.float64)
    empty = np.empty((0, 0))
    mk, par = kernel_inputs(panel, market, panel.shape, execution="next_open", costs=costs, initial_cash=1.0,
                            rules="market", open_=empty, close=close, volume=empty)
    slip = float(par[0]["slip"])
    buy = (1.0 + slip) * (mk.comm_rate + mk.buy_tax) + slip
    sell = (1.0 - slip) * (mk.comm_rate + mk.sell_tax) + slip
    return np.asarray(buy, dtype=np.float64), np.asarray(sell, dtype=np.float64)


class ClusterAllocEnv(gym.Env):
    """Allocate over K cluster slots plus cash, one bar per step.

    Parameters
    ----------
    states : ndarray, shape ``(n, S)``
        State of row t (known at the close of t).
    next_ret : ndarray, shape ``(n, K)``
        Return of each slot portfolio from the close of t to the close of t + 1
        (NaN = slot empty: its weight earns nothing).
    buy_cost, sell_cost : float or ndarray of shape ``(n,)``
        Cost per unit of value bought / sold into the slots by the trade decided
        at row t (executed on the next bar): :func:`market_cost_rates` of those
        bars, or a flat fraction. Moving weight to or from cash costs nothing.
    episode_length : int

    Notes
    -----
    The step's reward is ``100 * log(1 + w . next_ret[t] - cost)`` with
    ``cost = buy_cost[t] * sum(max(dw, 0)) + sell_cost[t] * sum(max(-dw, 0))``
    over the slots, ``dw`` the change from the drifted weights.
    """

    def __init__(self, states: np.ndarray, next_ret: np.ndarray, buy_cost: Any = 0.0035,
                 sell_cost: Any = 0.0035, episode_length: int = 60) -> None:
        super().__init__()
        self.states = states.astype(np.float32)
        self.next_ret = np.nan_to_num(next_ret)
        self.k = next_ret.shape[1]
        n = len(states)
        self.buy_cost = np.broadcast_to(np.asarray(buy_cost, dtype=np.float64), (n,))
        self.sell_cost = np.broadcast_to(np.asarray(sell_cost, dtype=np.float64), (n,))
        self.length = int(min(episode_length, len(states) - 1))
        if self.length < 1:
            raise ConfigError("cluster_rl: the allocator needs at least 2 rows of history")
        self.observation_space = spaces.Box(-np.inf, np.inf, (states.shape[1] + self.k + 1,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (self.k + 1,), np.float32)
        self.t = 0
        self.end = 0
        self.w = np.zeros(self.k + 1)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.states[self.t], self.w.astype(np.float32)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        room = len(self.states) - 1 - self.length
        self.t = int(self.np_random.integers(0, room + 1)) if room > 0 else 0
        self.end = self.t + self.length
        self.w = np.zeros(self.k + 1)
        self.w[-1] = 1.0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        w = softmax(np.asarray(action, dtype=np.float64).reshape(-1) * 5.0)
        dw = w[:-1] - self.w[:-1]  # slots only: cash is not traded
        bought, sold = float(np.clip(dw, 0, None).sum()), float(np.clip(-dw, 0, None).sum())
        cost = self.buy_cost[self.t] * bought + self.sell_cost[self.t] * sold
        gross = float(w[:-1] @ self.next_ret[self.t])
        reward = float(np.log(max(1e-6, 1.0 + gross - cost)))
        # drift to the next close, then the next state is that bar's
        grown = w * np.r_[1.0 + self.next_ret[self.t], 1.0]
        self.w = grown / grown.sum()
        self.t += 1
        return self._obs(), reward * 100, self.t >= self.end, False, {"bought": bought, "sold": sold, "cost": cost}


def train_allocator(states: np.ndarray, next_ret: np.ndarray, *, algo: str = "ddpg", steps: int = 2000,
                    buy_cost: Any = 0.0035, sell_cost: Any = 0.0035, episode_length: int = 60,
                    seed: int = 0) -> tuple[Any, list[float]]:
    """Train the allocator in :class:`ClusterAllocEnv`; returns the model and its episode-reward curve."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from alphalab.validation.executors import torch_seed_and_threads

    cls = _algo(algo, ALLOCATORS)
    torch_seed_and_threads(seed, 1)
    env = DummyVecEnv([lambda: Monitor(ClusterAllocEnv(states, next_ret, buy_cost, sell_cost, episode_length))])
    env.seed(seed)
    extra = {"learning_starts": min(200, steps // 2), "buffer_size": max(1000, steps)} if algo != "ppo" else {
        "n_steps": 64, "batch_size": 64}
    model = cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0, policy_kwargs={"net_arch": [64, 64]},
                **extra)
    model.learn(steps)
    curve = [float(e["r"]) for e in model.ep_info_buffer] if model.ep_info_buffer else []
    env.close()
    model.env = None  # see train_signal_agent
    return model, curve
