"""A gymnasium trading environment on the compiled backtest engine.

Timing is the backtest's: the agent acts at the close of bar t with an
observation built from rows ``<= t`` only; its order executes at bar t + 1
(open where ``execution="next_open"`` and the open is known, else the close)
and the step's reward is measured at the close of t + 1. Driving the
environment with the rows of a weight matrix reproduces
``backtest(weights, panel, market)`` bar for bar (``tests/models/rl``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from numba import njit

from alphalab.backtest.costs import Costs
from alphalab.backtest.engine import kernel_inputs
from alphalab.backtest.inputs import check_arguments, check_prices, check_volume
from alphalab.backtest.kernel import (
    REASONS,
    KernelMarket,
    KernelOut,
    KernelState,
    new_out,
    new_state,
    reset_state,
    step,
)
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.markets import MarketRules

__all__ = ["ACTIONS", "MarketEnv", "make_sb3_vec_env", "make_vec_env"]

ACTIONS = ("long_only", "softmax", "long_short", "discrete")
"""Action spaces: ``long_only`` weights in [0, 1] scaled to a sum <= 1 (rest
cash); ``softmax`` logits over the assets and cash; ``long_short`` weights in
[-1, 1] scaled to a gross leverage <= ``gross``; ``discrete`` sell / hold / buy
per asset (MultiDiscrete), each buy or sell moving the asset's weight by
``trade_size``."""

SELL, HOLD, BUY = 0, 1, 2


class MarketEnv(gym.Env):
    """Trade a panel one bar per step under a market's rules.

    Parameters
    ----------
    panel : Panel
        Needs ``close``; ``open`` for ``next_open``; ``volume``,
        ``tradestatus``, ``suspended``, ``isST`` are used when present.
    market : str or MarketRules
    action : {"long_only", "softmax", "long_short", "discrete"}
        See :data:`ACTIONS`. ``long_short`` on a market without shorting is
        refused; ``discrete`` masks sells that would open a short there
        (:meth:`action_masks`) and never sends one.
    window : int
        Rows of features in an observation (rows ``t - window + 1 .. t``).
    features : mapping of name to ndarray ``(n_dates, n_assets)``, optional
        Causal features computed by the caller (each row from data up to
        that date). Default: the log return of ``close`` (one feature).
        NaN is observed as 0.
    gross : float
        Gross leverage cap of ``long_short`` actions.
    trade_size : float
        Weight a ``discrete`` buy or sell moves.
    reward : {"log_return", "return"}
        Change in log equity (default) or simple return of equity, after
        every cost, tax and borrow fee of the step.
    execution, costs, initial_cash, rules
        As for :func:`alphalab.backtest.backtest`.
    start : int, optional
        First decision bar (default ``window - 1``, the first with a full
        window).
    episode_length : int, optional
        Steps per episode (default: to the last bar).
    random_start : bool
        Draw the first bar uniformly from the episode's room using the
        reset seed (for training on many windows of one panel).

    Notes
    -----
    Observation: float32 vector of ``window * n_assets * n_features``
    feature values (row-major: date, asset, feature) followed by the current
    weights of the ``n_assets`` positions at the close. ``info`` of a step
    holds ``date``, ``equity``, ``cash``, ``fills`` (columns of
    :data:`~alphalab.backtest.kernel.FILL_DTYPE`: bar, asset, signed shares,
    price before slippage), ``rejected`` (columns of
    :data:`~alphalab.backtest.kernel.REJECT_DTYPE`; ``reason`` indexes
    ``reasons``), ``costs`` (commission, tax, slippage, borrow of the bar)
    and ``turnover``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        panel: Panel,
        market: str | MarketRules = "us",
        *,
        action: Literal["long_only", "softmax", "long_short", "discrete"] = "long_only",
        window: int = 10,
        features: Mapping[str, np.ndarray] | None = None,
        gross: float = 1.0,
        trade_size: float = 0.1,
        reward: Literal["log_return", "return"] = "log_return",
        execution: Literal["next_open", "next_close"] = "next_open",
        costs: Costs | None = None,
        initial_cash: float = 1_000_000.0,
        rules: Literal["market", "proportional"] = "market",
        start: int | None = None,
        episode_length: int | None = None,
        random_start: bool = False,
    ) -> None:
        super().__init__()
        if action not in ACTIONS:
            raise ConfigError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        if reward not in ("log_return", "return"):
            raise ConfigError(f"reward must be 'log_return' or 'return', got {reward!r}")
        if execution not in ("next_open", "next_close"):
            raise ConfigError(f"execution must be 'next_open' or 'next_close', got {execution!r}")
        if rules not in ("market", "proportional"):
            raise ConfigError(f"rules must be 'market' or 'proportional', got {rules!r}")
        costs, initial_cash = check_arguments(panel, market, costs, initial_cash)
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ConfigError(f"window must be an integer >= 1, got {window!r}")
        for name, value in (("gross", gross), ("trade_size", trade_size)):
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
        n_d, n_a = panel.shape
        self.panel = panel
        self.n_assets = n_a
        self.window = window
        self.action_kind = action
        self.gross = float(gross)
        self.trade_size = float(trade_size)
        self.reward_kind = reward
        self.initial_cash = initial_cash
        self.random_start = bool(random_start)
        self._dates = panel.dates.to_numpy()  # indexing a DatetimeIndex costs microseconds

        names = ("close", "open") if execution == "next_open" else ("close",)
        check_prices(panel, names, initial_cash)
        check_volume(panel)
        close = np.ascontiguousarray(panel["close"], dtype=np.float64)
        open_ = (
            np.ascontiguousarray(panel["open"], dtype=np.float64)
            if execution == "next_open" and "open" in panel.fields
            else np.empty((0, 0))
        )
        volume = (
            np.ascontiguousarray(panel["volume"], dtype=np.float64)
            if "volume" in panel.fields
            else np.empty((0, 0))
        )
        self._mk, self._par = kernel_inputs(
            panel, market, (n_d, n_a), execution=execution, costs=costs,
            initial_cash=initial_cash, rules=rules, open_=open_, close=close, volume=volume,
            nan_holds=True,
        )  # fmt: skip
        self.allow_short = bool(self._par[0]["allow_short"])
        if action == "long_short" and not self.allow_short:
            raise ConfigError(
                f"action 'long_short' on market {market!r:.40}: the market forbids shorts; "
                "use 'long_only', 'softmax' or 'discrete'"
            )
        self._st = new_state(n_a, self._mk.lock, initial_cash)
        self._out = new_out(n_d, n_a, n_d)
        # views of the counters (reading a record field from Python is slow)
        self._n_tr = self._st.sc["n_tr"]
        self._n_rj = self._st.sc["n_rj"]
        self._feat = self._features(panel, features, close)

        first = window - 1 if start is None else int(start)
        if not window - 1 <= first < n_d - 1:
            raise ConfigError(
                f"start must lie in [{window - 1}, {n_d - 2}] (a full window and a bar to "
                f"trade), got {first}"
            )
        self._first = first
        room = n_d - 1 - first
        self._length = room if episode_length is None else int(episode_length)
        if not 1 <= self._length <= room:
            raise ConfigError(f"episode_length must lie in [1, {room}], got {episode_length!r}")

        width = window * self._feat.shape[1]
        self.observation_space = spaces.Box(-np.inf, np.inf, (width + n_a,), np.float32)
        if action == "long_only":
            self.action_space = spaces.Box(0.0, 1.0, (n_a,), np.float64)
        elif action == "softmax":
            self.action_space = spaces.Box(-10.0, 10.0, (n_a + 1,), np.float64)
        elif action == "long_short":
            self.action_space = spaces.Box(-1.0, 1.0, (n_a,), np.float64)
        else:
            self.action_space = spaces.MultiDiscrete(np.full(n_a, 3, dtype=np.int64))
        self._t = first
        self._end = first + self._length
        self._eq = initial_cash
        self._kind = ACTIONS.index(action)
        self._w = np.empty(n_a)  # target weights of the step (NaN = hold)
        self._obs_buf = np.empty(width + n_a, dtype=np.float32)
        self._fast: Callable[..., float] | None = None  # set by the first step
        self._ready = False  # reset() has run
        self._n_act = int(self.action_space.shape[0])  # cached: read on every step
        self._n_dates = n_d
        # column views of the record buffers, made once (gymnasium compares
        # info entries with np.allclose, which refuses structured arrays)
        self._fill_cols = [(k, self._out.fills[k]) for k in self._out.fills.dtype.names]
        self._reject_cols = [(k, self._out.rejects[k]) for k in self._out.rejects.dtype.names]

    # ------------------------------------------------------------ set-up
    @staticmethod
    def _features(
        panel: Panel, features: Mapping[str, np.ndarray] | None, close: np.ndarray
    ) -> np.ndarray:
        """Features as float32 ``(n_dates, n_assets * n_features)``, NaN -> 0."""
        if features is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                last = np.maximum.accumulate(
                    np.where(close > 0, np.arange(len(close))[:, None], -1), 0
                )
                known = np.take_along_axis(close, np.maximum(last, 0), 0)
                known[last < 0] = np.nan
                ret = np.log(known[1:] / known[:-1])
            arrays = [np.vstack([np.full((1, panel.n_assets), np.nan), ret])]
        else:
            if not isinstance(features, Mapping) or not features:
                raise ConfigError("features must be a non-empty mapping of name to array")
            arrays = []
            for name, arr in features.items():
                a = np.asarray(arr, dtype=np.float64)
                if a.shape != panel.shape:
                    raise DataError(
                        f"feature {name!r} has shape {a.shape}, expected {panel.shape} "
                        "(dates, assets)"
                    )
                if np.isinf(a).any():
                    raise DataError(f"feature {name!r} holds an infinite value")
                arrays.append(a)
        stacked = np.stack(arrays, axis=-1)  # (n_dates, n_assets, n_features)
        stacked = np.nan_to_num(stacked, nan=0.0).astype(np.float32)
        return np.ascontiguousarray(stacked.reshape(len(stacked), -1))

    # ------------------------------------------------------------ helpers
    def _obs(self) -> np.ndarray:
        _observe(self._t, self._feat, self.window, self._st, self._eq, self._obs_buf)
        return self._obs_buf.copy()

    def target_weights(self, action: Any) -> np.ndarray:
        """Target weights (NaN = hold) that ``action`` maps to at the current bar.

        Returns
        -------
        ndarray, shape ``(n_assets,)``
        """
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        w = np.empty(self.n_assets)
        eq = self._out.equity[self._t]
        _map_action(a, self._kind, self.gross, self.trade_size, self.allow_short, self._st, eq, w)
        return w

    def action_masks(self) -> np.ndarray:
        """Allowed actions, sb3-contrib ``MaskablePPO`` convention.

        Returns
        -------
        ndarray of bool, shape ``(3 * n_assets,)``
            For ``discrete`` actions: per asset (sell, hold, buy); a sell is
            masked where the market forbids shorts and nothing is held.
            Continuous actions: every entry True (their spaces already keep
            weights legal: ``long_short`` is refused on such markets).
        """
        mask = np.ones((self.n_assets, 3), dtype=bool)
        if self.action_kind == "discrete" and not self.allow_short:
            mask[:, SELL] = self._st.f[0] > 0
        return mask.ravel()

    # ------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: an empty book of ``initial_cash`` at the first bar."""
        super().reset(seed=seed)
        first = self._first
        room = self.panel.n_dates - 1 - first - self._length
        if self.random_start and room > 0:
            first += int(self.np_random.integers(0, room + 1))
        reset_state(self._st, self.initial_cash)
        mk, par, st, out = self._mk, self._par, self._st, self._out
        out.costs[:] = 0.0
        out.turnover[:] = 0.0
        nothing = np.zeros(self.n_assets)
        eq = self.initial_cash
        for t in range(first + 1):  # marks only: last closes (limit references) advance
            eq = step(t, nothing, False, mk, par, st, out)
        self._t = first
        self._end = first + self._length
        self._eq = eq
        self._ready = True
        return self._obs(), {"date": self.panel.dates[first], "equity": eq}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Execute ``action`` at the next bar and mark the book at its close."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != self._n_act:
            raise ConfigError(f"action has {a.shape[0]} entries, expected {self._n_act}")
        t = self._t + 1
        if t >= self._n_dates or not self._ready:
            # the kernel does not check bounds: never let it run past the panel
            raise RuntimeError("MarketEnv.step called before reset() or after the last bar")
        tr0, rj0 = int(self._n_tr[0]), int(self._n_rj[0])
        out = self._out
        args = (
            t, a, self._kind, self.gross, self.trade_size, self._mk, self._par, self._st, out,
            self._feat, self.window, self._w, self._obs_buf,
        )  # fmt: skip
        if self._fast is None:
            eq = _env_step(*args)
            self._fast = _compiled(_env_step, args)
        else:
            eq = self._fast(*args)
        prev = self._eq
        if eq > 0 and prev > 0:
            reward = math.log(eq / prev) if self.reward_kind == "log_return" else eq / prev - 1.0
        else:
            reward = -1e3  # the book is wiped out: a large finite penalty, episode ends
        self._t = t
        self._eq = eq
        terminated = bool(t >= self._end or eq <= 0)
        tr1, rj1 = int(self._n_tr[0]), int(self._n_rj[0])
        info = {
            "date": self._dates[t],
            "equity": eq,
            "cash": out.cash[t],
            "fills": {k: c[tr0:tr1] for k, c in self._fill_cols},
            "rejected": {k: c[rj0:rj1] for k, c in self._reject_cols},
            "reasons": REASONS,
            "costs": out.costs[t],
            "turnover": out.turnover[t],
        }
        return self._obs_buf.copy(), reward, terminated, False, info


@njit(cache=True, error_model="numpy")
def _map_action(
    a: np.ndarray,
    kind: int,
    gross: float,
    trade_size: float,
    allow_short: bool,
    st: KernelState,
    eq: float,
    w: np.ndarray,
) -> None:
    """Target weights ``w`` (shape ``(n_assets,)``, NaN = hold) of action ``a``.

    ``eq`` is the equity at the last close (current weights of ``discrete``).
    """
    n_a = w.shape[0]
    if kind == 0:  # long_only: [0, 1], sum scaled to <= 1
        s = 0.0
        for j in range(n_a):
            x = a[j]
            x = 0.0 if x != x else min(max(x, 0.0), 1.0)
            w[j] = x
            s += x
        if s > 1.0 + 1e-9:
            for j in range(n_a):
                w[j] /= s
    elif kind == 1:  # softmax over the assets and cash (the last logit)
        m = a[0]
        for j in range(n_a + 1):
            m = max(m, a[j])
        s = 0.0
        for j in range(n_a + 1):
            s += np.exp(a[j] - m)
        for j in range(n_a):
            w[j] = np.exp(a[j] - m) / s
    elif kind == 2:  # long_short: [-1, 1], gross scaled to <= gross
        g = 0.0
        for j in range(n_a):
            x = a[j]
            x = 0.0 if x != x else min(max(x, -1.0), 1.0)
            w[j] = x
            g += abs(x)
        if g > gross * (1.0 + 1e-9):
            for j in range(n_a):
                w[j] *= gross / g
    else:  # discrete: sell / hold / buy moves the current weight by trade_size
        pos = st.f[0]
        last = st.f[1]
        for j in range(n_a):
            cur = pos[j] * last[j] / eq if eq > 0.0 else 0.0
            act = int(a[j])
            if act == BUY:
                w[j] = cur + trade_size
            elif act == SELL:
                if allow_short:
                    w[j] = cur - trade_size
                elif pos[j] > 0.0:
                    w[j] = max(cur - trade_size, 0.0)  # never a short order
                else:
                    w[j] = np.nan  # a masked sell (nothing held) is a hold
            else:
                w[j] = np.nan


@njit(cache=True, error_model="numpy")
def _observe(
    t: int, feat: np.ndarray, window: int, st: KernelState, eq: float, obs: np.ndarray
) -> None:
    """Observation at the close of ``t`` into ``obs``: feature rows ``t - window + 1 .. t``
    then the current weights (shape ``(window * n_cols + n_assets,)``)."""
    k = 0
    for r in range(t - window + 1, t + 1):
        for c in range(feat.shape[1]):
            obs[k] = feat[r, c]
            k += 1
    pos = st.f[0]
    last = st.f[1]
    for j in range(pos.shape[0]):
        obs[k + j] = pos[j] * last[j] / eq if eq > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _env_step(
    t: int,
    a: np.ndarray,
    kind: int,
    gross: float,
    trade_size: float,
    mk: KernelMarket,
    par: np.ndarray,
    st: KernelState,
    out: KernelOut,
    feat: np.ndarray,
    window: int,
    w: np.ndarray,
    obs: np.ndarray,
) -> float:
    """One environment step in one compiled call: action -> weights, the
    kernel's :func:`~alphalab.backtest.kernel.step` at bar ``t``, observation.
    Returns the equity at the close of ``t``."""
    eq_prev = out.equity[t - 1]
    _map_action(a, kind, gross, trade_size, par[0]["allow_short"], st, eq_prev, w)
    eq = step(t, w, True, mk, par, st, out)
    _observe(t, feat, window, st, eq, obs)
    return eq


def _compiled(fn: Any, args: tuple[Any, ...]) -> Callable[..., Any]:
    """The compiled entry point of numba dispatcher ``fn`` for ``args``' types.

    Calling a dispatcher types every argument on every call (about 4 us for
    the three namedtuple bundles of :func:`~alphalab.backtest.kernel.step`);
    the entry point of the already compiled overload only unboxes them (about
    1 us). The argument types never change within an environment. Falls back
    to the dispatcher when the overload cannot be found (``args`` must be
    of a call already made, so that the overload exists).
    """
    sig = tuple(numba.typeof(a) for a in args)
    overload = fn.overloads.get(sig)
    return fn if overload is None else overload.entry_point


def make_vec_env(
    panel: Panel,
    market: str | MarketRules = "us",
    n_envs: int = 4,
    *,
    asynchronous: bool = False,
    **kwargs: Any,
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of :class:`MarketEnv` as a gymnasium vector environment.

    Each copy draws its own start when ``random_start=True`` (seeds
    ``seed, seed + 1, ...`` given to ``reset``). ``asynchronous`` runs them in
    worker processes (:class:`gymnasium.vector.AsyncVectorEnv`).
    """
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    fns: list[Callable[[], gym.Env]] = [
        (lambda: MarketEnv(panel, market, **kwargs)) for _ in range(n_envs)
    ]
    if asynchronous:
        return gym.vector.AsyncVectorEnv(fns)
    return gym.vector.SyncVectorEnv(fns)


def make_sb3_vec_env(
    panel: Panel, market: str | MarketRules = "us", n_envs: int = 4, **kwargs: Any
) -> Any:
    """``n_envs`` copies of :class:`MarketEnv` as a stable-baselines3 ``DummyVecEnv``."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    return DummyVecEnv([(lambda: MarketEnv(panel, market, **kwargs)) for _ in range(n_envs)])
