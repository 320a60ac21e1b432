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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from numba import njit
from numba.core import types
from numba.experimental import structref

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

__all__ = ["ACTIONS", "INFO_LEVELS", "MarketEnv", "StepRecords", "make_sb3_vec_env", "make_vec_env"]

ACTIONS = ("long_only", "softmax", "long_short", "discrete")
"""Action spaces: ``long_only`` weights in [0, 1] scaled to a sum <= 1 (rest
cash); ``softmax`` logits over the assets and cash; ``long_short`` weights in
[-1, 1] scaled to a gross leverage <= ``gross``; ``discrete`` sell / hold / buy
per asset (MultiDiscrete), each buy or sell moving the asset's weight by
``trade_size``."""

INFO_LEVELS = ("full", "minimal")
"""What a step's ``info`` holds: ``full`` (default) everything of
:class:`MarketEnv`'s notes, fills and refusals as lazy :class:`StepRecords`;
``minimal`` only ``date``, ``equity``, ``n_fills`` and ``n_rejected`` (the
records stay readable through :meth:`MarketEnv.last_records`)."""

SELL, HOLD, BUY = 0, 1, 2
_F64 = np.dtype(np.float64)


class StepRecords(Mapping):
    """The records one step appended to a record buffer, as lazy columns.

    A read-only mapping of column name to the column's slice (a view of the
    environment's buffer: valid until the next ``reset``). Making one costs
    one small object; the column views are made only when read, so a step
    pays nothing for refusals nobody looks at. ``len(records)`` is the number
    of columns; :attr:`n` the number of records.
    """

    __slots__ = ("_cols", "_hi", "_lo")

    def __init__(self, cols: dict[str, np.ndarray], lo: int, hi: int) -> None:
        self._cols = cols
        self._lo = lo
        self._hi = hi

    @property
    def n(self) -> int:
        """Number of records (rows) of the step."""
        return self._hi - self._lo

    def __getitem__(self, key: str) -> np.ndarray:
        return self._cols[key][self._lo : self._hi]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    def __len__(self) -> int:
        return len(self._cols)

    def __eq__(self, other: object) -> bool:
        # gymnasium's check_env compares infos of two runs with ==
        if not isinstance(other, StepRecords):
            return NotImplemented
        # NaN equals NaN: a refusal's shares are NaN where no size was asked
        return (
            self.n == other.n
            and self.keys() == other.keys()
            and all(
                np.array_equal(self[k], other[k], equal_nan=self[k].dtype.kind == "f")
                for k in self._cols
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StepRecords(n={self.n}, columns={list(self._cols)})"


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
    info : {"full", "minimal"}
        What a step's ``info`` holds (:data:`INFO_LEVELS`). ``full`` is the
        default because the refused orders belong in ``info``; it costs
        little since the fill and refusal columns are lazy
        (:class:`StepRecords`). ``minimal`` saves about half a microsecond a
        step for training loops that never read ``info``; the trajectory
        is the same either way.

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
    and ``turnover``; ``fills`` and ``rejected`` are :class:`StepRecords`
    (lazy column views; ``.n`` counts the records). With ``info="minimal"``
    it holds ``date``, ``equity``, ``n_fills`` and ``n_rejected`` only, and
    :meth:`last_records` gives the step's fills and refusals on request.
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
        info: Literal["full", "minimal"] = "full",
    ) -> None:
        super().__init__()
        if action not in ACTIONS:
            raise ConfigError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        if reward not in ("log_return", "return"):
            raise ConfigError(f"reward must be 'log_return' or 'return', got {reward!r}")
        if execution not in ("next_open", "next_close"):
            raise ConfigError(f"execution must be 'next_open' or 'next_close', got {execution!r}")
        if info not in INFO_LEVELS:
            raise ConfigError(f"info must be 'full' or 'minimal', got {info!r}")
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
        self._ready = False  # reset() has run
        self._n_act = int(self.action_space.shape[0])  # cached: read on every step
        self._n_dates = n_d
        self.info_level = info
        self._full = info == "full"
        self._span = (0, 0, 0, 0)  # record counters before and after the last step
        self._bind()

    def _bind(self) -> None:
        """Views and the compiled bundle over this object's own arrays (after
        ``__init__`` and after a copy or unpickling, which copy the arrays)."""
        # column views of the record buffers, made once (gymnasium compares
        # info entries with np.allclose, which refuses structured arrays)
        self._fill_cols = {k: self._out.fills[k] for k in self._out.fills.dtype.names}
        self._reject_cols = {k: self._out.rejects[k] for k in self._out.rejects.dtype.names}
        # the step's fixed arguments in one compiled bundle: handing the ~30
        # arrays across one by one costs more than the step computes
        self._ctx = _new_ctx(
            self._kind, self.gross, self.trade_size, self._mk, self._par, self._st, self._out,
            self._feat, self.window, self._w, self._obs_buf,
        )  # fmt: skip
        self._fast: Callable[..., tuple[float, int, int]] | None = None  # set by a step

    def __getstate__(self) -> dict[str, Any]:
        # the compiled bundle and entry point neither pickle nor copy; the
        # views would come back detached from their buffers: rebuilt on load
        state = self.__dict__.copy()
        for key in ("_ctx", "_fast", "_fill_cols", "_reject_cols"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind()

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
        n_tr, n_rj = int(self._st.sc[0]["n_tr"]), int(self._st.sc[0]["n_rj"])
        self._span = (n_tr, n_tr, n_rj, n_rj)
        return self._obs(), {"date": self.panel.dates[first], "equity": eq}

    def last_records(self) -> tuple[StepRecords, StepRecords]:
        """Fills and refused orders of the last step (empty after ``reset``).

        Returns
        -------
        fills, rejected : StepRecords
            Columns of :data:`~alphalab.backtest.kernel.FILL_DTYPE` and
            :data:`~alphalab.backtest.kernel.REJECT_DTYPE` (``reason`` indexes
            :data:`~alphalab.backtest.kernel.REASONS`).
        """
        tr0, tr1, rj0, rj1 = self._span
        return StepRecords(self._fill_cols, tr0, tr1), StepRecords(self._reject_cols, rj0, rj1)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Execute ``action`` at the next bar and mark the book at its close."""
        # the common case (a contiguous float64 vector) skips np.asarray's
        # conversions; anything else becomes one, since the compiled entry
        # point was typed for a C-contiguous float64 vector and checks nothing
        if (
            type(action) is np.ndarray
            and action.dtype is _F64
            and action.ndim == 1
            and action.flags.c_contiguous
        ):
            a = action
        else:
            a = np.ascontiguousarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != self._n_act:
            raise ConfigError(f"action has {a.shape[0]} entries, expected {self._n_act}")
        t = self._t + 1
        if t >= self._n_dates or not self._ready:
            # the kernel does not check bounds: never let it run past the panel
            raise RuntimeError("MarketEnv.step called before reset() or after the last bar")
        _, tr0, _, rj0 = self._span  # the record counters now (set by reset and step)
        if self._fast is None:
            eq, tr1, rj1 = _env_step_ctx(t, a, self._ctx)
            self._fast = _compiled(_env_step_ctx, (t, a, self._ctx))
        else:
            eq, tr1, rj1 = self._fast(t, a, self._ctx)
        prev = self._eq
        if eq > 0 and prev > 0:
            reward = math.log(eq / prev) if self.reward_kind == "log_return" else eq / prev - 1.0
        else:
            reward = -1e3  # the book is wiped out: a large finite penalty, episode ends
        self._t = t
        self._eq = eq
        terminated = t >= self._end or eq <= 0
        self._span = (tr0, tr1, rj0, rj1)
        if self._full:
            out = self._out
            info = {
                "date": self._dates[t],
                "equity": eq,
                "cash": out.cash[t],
                "fills": StepRecords(self._fill_cols, tr0, tr1),
                "rejected": StepRecords(self._reject_cols, rj0, rj1),
                "reasons": REASONS,
                "costs": out.costs[t],
                "turnover": out.turnover[t],
            }
        else:
            info = {"date": self._dates[t], "equity": eq, "n_fills": tr1 - tr0,
                    "n_rejected": rj1 - rj0}  # fmt: skip
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


@structref.register
class _EnvCtxType(types.StructRef):
    """Numba type of :class:`_EnvCtx`."""

    def preprocess_fields(self, fields: Any) -> tuple[tuple[str, Any], ...]:
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class _EnvCtx(structref.StructRefProxy):
    """The fixed arguments of :func:`_env_step` (all but ``t`` and the action)
    as one reference-counted compiled struct.

    The struct holds the same arrays (no copies): what the kernel writes is
    what the environment's numpy views read. Unboxing it is one pointer,
    against one unboxing per array (about 30) for the arguments themselves.
    """


_CTX_FIELDS = (
    # not "st": numba's generated constructor names its struct variable so
    "kind", "gross", "trade_size", "market", "params", "state", "outs", "feat", "window",
    "w", "obs",
)  # fmt: skip
structref.define_proxy(_EnvCtx, _EnvCtxType, list(_CTX_FIELDS))


@njit(cache=True)
def _new_ctx(
    kind: int,
    gross: float,
    trade_size: float,
    market: KernelMarket,
    params: np.ndarray,
    state: KernelState,
    outs: KernelOut,
    feat: np.ndarray,
    window: int,
    w: np.ndarray,
    obs: np.ndarray,
) -> _EnvCtx:
    """A :class:`_EnvCtx` built in compiled code, so that its constructor is
    cached on disk with the rest (called from Python it compiles anew in every
    process: most of a second)."""
    return _EnvCtx(kind, gross, trade_size, market, params, state, outs, feat, window, w, obs)


@njit(cache=True, error_model="numpy")
def _env_step_ctx(t: int, a: np.ndarray, ctx: _EnvCtx) -> tuple[float, int, int]:
    """:func:`_env_step` with its fixed arguments read from ``ctx``.

    Returns the equity at the close of ``t`` and the fill and refusal
    counters after the step (read here: a record field read from Python
    costs more than returning it).
    """
    eq = _env_step(
        t, a, ctx.kind, ctx.gross, ctx.trade_size, ctx.market, ctx.params, ctx.state, ctx.outs,
        ctx.feat, ctx.window, ctx.w, ctx.obs,
    )  # fmt: skip
    sc = ctx.state.sc
    return eq, sc[0]["n_tr"], sc[0]["n_rj"]


def _compiled(fn: Any, args: tuple[Any, ...]) -> Callable[..., Any]:
    """The compiled entry point of numba dispatcher ``fn`` for ``args``' types.

    Calling a dispatcher types every argument on every call (about 4 us for
    the three namedtuple bundles of :func:`~alphalab.backtest.kernel.step`,
    still a few hundred ns for a :class:`_EnvCtx`); the entry point of the
    already compiled overload only unboxes them. The argument types never
    change within an environment (the action is made a C-contiguous float64
    vector before every call: the entry point checks nothing). Falls back
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
