"""The compiled simulation kernel (numba), in init / step / finish pieces.

The book advances one bar at a time through :func:`step`: on a bar that
executes a decision the step values the book at the execution prices, sizes
the orders, applies the market rules (lots, tick-rounded price limits, dated
sell locks, no shorting, minimum orders and fees, taxes), fills sells then
buys, and records fills and refusals; on every bar it marks the book to the
close. :func:`run_kernel` (a backtest) is a compiled loop over :func:`step`;
:mod:`alphalab.models.rl` calls the same :func:`step` once per environment
step, so both apply one set of rules.

Parameters travel in four typed bundles instead of positional arguments:

* :class:`KernelMarket` (namedtuple of arrays): prices, tradability, rules
  laid out per date (read only);
* ``params`` (one record of :data:`PARAMS_DTYPE`): scalar settings;
* :class:`KernelState` (namedtuple of arrays): the book (positions, cash, last
  closes, the sell-lock ring) and scratch buffers, made by :func:`new_state`;
* :class:`KernelOut` (namedtuple of arrays): per-bar outputs and the fill and
  refusal buffers.

Namedtuples of arrays and record arrays (not jitclasses) keep the pieces
plain numpy, picklable and cached on disk (``cache=True``).

:mod:`alphalab.backtest.kernel_py` holds a plain Python twin of the same
algorithm; ``tests/backtest/test_kernel_parity.py`` proves that they agree.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "FILL_DTYPE",
    "PARAMS_DTYPE",
    "REASONS",
    "REJECT_DTYPE",
    "SCALARS_DTYPE",
    "TRADE_DTYPE",
    "KernelMarket",
    "KernelOut",
    "KernelState",
    "bad_inputs",
    "finish",
    "limit_prices",
    "make_params",
    "new_out",
    "new_state",
    "reset_state",
    "run_kernel",
    "scan_weights",
    "step",
    "trade_records",
]

# what every order record starts with: where, which way and how many shares
_ORDER_HEAD = [
    ("bar", np.int64),
    ("asset", np.int64),
    ("side", np.int64),
    ("shares", np.float64),
]

TRADE_DTYPE = np.dtype(
    [
        *_ORDER_HEAD,
        ("price", np.float64),
        ("value", np.float64),
        ("commission", np.float64),
        ("tax", np.float64),
        ("slippage", np.float64),
    ]
)
"""One fill: execution bar, asset column, side (+1 buy, -1 sell), shares (> 0),
fill price after slippage, value = shares * fill price, and its costs."""

REJECT_DTYPE = np.dtype([*_ORDER_HEAD, ("reason", np.int64)])
"""One refused (part of an) order: execution bar, asset, side, shares not
filled (NaN for an asset never priced yet: the order cannot be sized) and a
reason code (an index into :data:`REASONS`)."""

REASONS = ("band_up", "band_down", "untradeable", "t_plus_lock", "no_short", "cash", "lot")
R_BAND_UP, R_BAND_DOWN, R_UNTRADEABLE, R_T_PLUS, R_NO_SHORT, R_CASH, R_LOT = range(7)

FILL_DTYPE = np.dtype(
    [("bar", np.int32), ("asset", np.int32), ("shares", np.float64), ("price", np.float64)]
)
"""One fill as the kernel stores it (24 bytes: writing fills is most of the
kernel's memory traffic): bar, asset, signed shares (+ buy, - sell) and the
execution price before slippage. Value and costs follow from the cost rates
(:func:`trade_records`)."""

PARAMS_DTYPE = np.dtype(
    [
        ("min_comm", np.float64),  # minimum commission per order
        ("slip", np.float64),  # slippage, fraction of price
        ("borrow_daily", np.float64),  # borrow cost per bar, fraction of short value
        ("initial_cash", np.float64),
        ("limit_round", np.int64),  # LIMIT_INWARD or LIMIT_NEAREST
        ("allow_short", np.bool_),
        ("fractional", np.bool_),  # True: fractional shares, no lots
        ("nan_holds", np.bool_),  # True: NaN weight = no order (RL hold), else 0
    ]
)
"""Scalar settings of a simulation (one record, made by :func:`make_params`)."""

SCALARS_DTYPE = np.dtype(
    [
        ("cash", np.float64),
        ("any_short", np.bool_),
        ("n_exec", np.int64),
        ("n_tr", np.int64),
        ("n_rj", np.int64),
    ]
)
"""Scalar part of the book: cash, whether a short may be open, and the next
free slot of the execution, fill and refusal buffers."""

LIMIT_INWARD = 0
"""Limit prices rounded into the band (up limit down, down limit up, to the
tick): HOSE, HNX, UPCoM, TWSE."""
LIMIT_NEAREST = 1
"""Limit prices rounded to the nearest tick, halves up: SSE / SZSE."""

_LIMIT_REL = 1e-9  # a price within this of the limit is at the limit (float noise)

# rows of KernelState.f (per-asset floats) and KernelState.i (per-asset ints)
_POS, _LAST, _PX, _OQ, _OVAL, _OCOST, _TG, _TL, _SQ = range(9)
_OIDX, _SIDX, _CUTL, _CUT = range(4)


class KernelMarket(NamedTuple):
    """What the simulation reads: prices, tradability and rules per date.

    Attributes
    ----------
    open_ : ndarray, shape ``(n_dates, n_assets)`` or ``(0, 0)``
        Execution prices where finite (``next_open``); empty -> use ``close``.
    close : ndarray, shape ``(n_dates, n_assets)``
        Close prices: the fallback execution price and the marking price.
    volume, tradestatus, suspended : ndarray, shape ``(n_dates, n_assets)`` or ``(0, 0)``
        Optional tradability fields: volume == 0, tradestatus == 0 or
        suspended == 1 block orders on that bar.
    band : ndarray, shape ``(n_dates, n_assets)``, ``(n_dates, 1)`` or ``(0, 0)``
        Daily price limit as a fraction of the reference (last) close (inf =
        none); one column = the same for every asset; empty = no limits.
    lot : ndarray, shape ``(n_dates, n_assets)`` or ``(n_dates, 1)``
        Board lot per date and asset (one column = all assets); ignored when
        fractional.
    min_order : ndarray, shape ``(n_assets,)`` or ``(0,)``
        Fewest shares one buy order may hold (STAR: 200); empty = one lot.
    comm_rate, sell_tax, buy_tax : ndarray, shape ``(n_dates,)``
        Fractions of traded value.
    lock : ndarray of int64, shape ``(n_dates,)``
        Sell lock in force at each bar (for the execution time in use): at
        bar t, shares bought at bar s are sellable when ``t - s >= lock[t]``.
    ticks : ndarray, shape ``(n_levels, 2)`` or ``(0, 2)``
        Tick table: rows ``(price_from, tick)`` in increasing price; limit
        prices are rounded to the tick of their level. Empty = no rounding.
    """

    open_: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    tradestatus: np.ndarray
    suspended: np.ndarray
    band: np.ndarray
    lot: np.ndarray
    min_order: np.ndarray
    comm_rate: np.ndarray
    sell_tax: np.ndarray
    buy_tax: np.ndarray
    lock: np.ndarray
    ticks: np.ndarray


class KernelState(NamedTuple):
    """The book between steps, and scratch space reused by every step.

    Attributes
    ----------
    sc : structured ndarray of :data:`SCALARS_DTYPE`, shape ``(1,)``
    f : ndarray, shape ``(9, n_assets)``
        Rows: positions (shares), last finite close (0 = never priced), then
        scratch (execution price, buy sizes / values / costs, raw and lot
        targets, sell sizes).
    i : ndarray of int64, shape ``(4, n_assets)``
        Scratch: buy and sell queues, cut list and cut flags.
    ring_bar : ndarray of int64, shape ``(n_ring,)``
        Bar of each sell-lock ring slot (buys of that bar).
    ring_q : ndarray, shape ``(n_ring, n_assets)``
        Shares bought at ``ring_bar[s]``, still possibly locked.
    active : ndarray of int64, shape ``(n_ring,)``
        Scratch: ring slots locked at the current bar.
    """

    sc: np.ndarray
    f: np.ndarray
    i: np.ndarray
    ring_bar: np.ndarray
    ring_q: np.ndarray
    active: np.ndarray


class KernelOut(NamedTuple):
    """Outputs of the steps.

    Attributes
    ----------
    equity, cash, turnover : ndarray, shape ``(n_dates,)``
        At each close; turnover = traded value (buys + sells, before
        slippage) / equity at execution.
    costs : ndarray, shape ``(n_dates, 4)``
        Commission, tax, slippage, borrow per bar.
    exec_bars : ndarray of int64, shape ``(capacity,)``
        The bars that executed a decision.
    fills : structured ndarray of :data:`FILL_DTYPE`, shape ``(capacity,)``
    rejects : structured ndarray of :data:`REJECT_DTYPE`, shape ``(capacity,)``
        Long enough for every possible record: one fill per asset and
        execution bar, two refusals.
    """

    equity: np.ndarray
    cash: np.ndarray
    turnover: np.ndarray
    costs: np.ndarray
    exec_bars: np.ndarray
    fills: np.ndarray
    rejects: np.ndarray


def make_params(
    *,
    min_comm: float,
    slip: float,
    borrow_daily: float,
    initial_cash: float,
    allow_short: bool,
    fractional: bool,
    limit_round: int = LIMIT_INWARD,
    nan_holds: bool = False,
) -> np.ndarray:
    """The scalar settings as one record, shape ``(1,)`` of :data:`PARAMS_DTYPE`."""
    par = np.zeros(1, dtype=PARAMS_DTYPE)
    par[0] = (
        min_comm, slip, borrow_daily, initial_cash, limit_round, allow_short, fractional,
        nan_holds,
    )  # fmt: skip
    return par


def new_state(n_assets: int, lock: np.ndarray, initial_cash: float) -> KernelState:
    """A book of ``initial_cash`` and no positions (the init piece).

    Parameters
    ----------
    n_assets : int
    lock : ndarray of int64, shape ``(n_dates,)``
        Sell locks of the run: the ring holds ``max(lock)`` slots.
    initial_cash : float
    """
    n_ring = max(int(lock.max()) if len(lock) else 0, 1)
    st = KernelState(
        sc=np.zeros(1, dtype=SCALARS_DTYPE),
        f=np.zeros((9, n_assets)),
        i=np.zeros((4, n_assets), dtype=np.int64),
        ring_bar=np.empty(n_ring, dtype=np.int64),
        ring_q=np.zeros((n_ring, n_assets)),
        active=np.empty(n_ring, dtype=np.int64),
    )
    reset_state(st, initial_cash)
    return st


def new_out(n_dates: int, n_assets: int, n_exec: int) -> KernelOut:
    """Output buffers for ``n_exec`` execution bars over ``n_dates`` bars.

    Upper bounds: one fill per asset and execution bar; a refusal can come
    with a fill (partial) and with a no_short/lot note. ``np.empty`` only
    reserves address space, so unused capacity costs nothing.
    """
    cap = n_exec * n_assets
    return KernelOut(
        equity=np.empty(n_dates),
        cash=np.empty(n_dates),
        turnover=np.zeros(n_dates),
        costs=np.zeros((n_dates, 4)),
        exec_bars=np.empty(n_exec, dtype=np.int64),
        fills=np.empty(cap, dtype=FILL_DTYPE),
        rejects=np.empty(2 * cap, dtype=REJECT_DTYPE),
    )


_CLOSE_REL = 1e-9  # "close enough" for cash checks, as vectorbt's is_close_or_less
_SIZE_EPS = 1e-12  # fractional orders smaller than this are noise, not orders


def trade_records(
    bar: np.ndarray,
    asset: np.ndarray,
    shares: np.ndarray,
    price: np.ndarray,
    comm_rate: np.ndarray,
    sell_tax: np.ndarray,
    buy_tax: np.ndarray,
    min_comm: float,
    slip: float,
) -> np.ndarray:
    """Full fill records from the kernel's compact ones.

    Repeats the kernel's arithmetic operation for operation, so value and
    costs are bit-identical to what the simulation charged.

    Parameters
    ----------
    bar, asset : ndarray of int, shape ``(n_trades,)``
    shares : ndarray, shape ``(n_trades,)``
        Signed: + buy, - sell.
    price : ndarray, shape ``(n_trades,)``
        Execution price before slippage.
    comm_rate, sell_tax, buy_tax : ndarray, shape ``(n_dates,)``
    min_comm, slip : float

    Returns
    -------
    structured ndarray of :data:`TRADE_DTYPE`, shape ``(n_trades,)``
    """
    buy = shares > 0
    q = np.abs(shares)
    fp = np.where(buy, price * (1.0 + slip), price * (1.0 - slip))
    val = q * fp
    out = np.empty(len(bar), dtype=TRADE_DTYPE)
    out["bar"] = bar
    out["asset"] = asset
    out["side"] = np.where(buy, 1, -1)
    out["shares"] = q
    out["price"] = fp
    out["value"] = val
    out["commission"] = np.maximum(comm_rate[bar] * val, min_comm)
    out["tax"] = np.where(buy, buy_tax[bar], sell_tax[bar]) * val
    out["slippage"] = q * price * slip
    return out


@njit(cache=True, error_model="numpy")
def bad_inputs(close: np.ndarray, open_: np.ndarray, volume: np.ndarray, floor: float) -> int:
    """Which of the price and volume fields hold a value the simulation cannot use.

    One pass over the three fields instead of a reduction per field and
    bound; :func:`alphalab.backtest.inputs.check_prices` and
    :func:`~alphalab.backtest.inputs.check_volume` locate the cell (and
    raise) only when something is flagged.

    Parameters
    ----------
    close : ndarray, shape ``(n_dates, n_assets)``
    open_, volume : ndarray, shape ``(n_dates, n_assets)`` or ``(0, 0)`` (absent)
    floor : float
        Smallest usable positive price (smaller ones overflow share counts).

    Returns
    -------
    int
        Bit mask: 1 = a close, 2 = an open is negative, ``+inf`` or positive
        below ``floor`` (NaN and 0 = missing, fine); 4 = a volume is negative.
    """
    n_d, n_a = close.shape
    has_open = open_.shape[0] > 0
    has_vol = volume.shape[0] > 0
    # | and & (not `or`, `and`): the row loops vectorize
    bad_c = False
    bad_o = False
    bad_v = False
    for t in range(n_d):
        for j in range(n_a):
            c = close[t, j]
            bad_c |= ((c < floor) & (c != 0.0)) | (c == np.inf)
        if has_open:
            for j in range(n_a):
                o = open_[t, j]
                bad_o |= ((o < floor) & (o != 0.0)) | (o == np.inf)
        if has_vol:
            for j in range(n_a):
                bad_v |= volume[t, j] < 0.0
    return int(bad_c) | 2 * int(bad_o) | 4 * int(bad_v)


@njit(cache=True, error_model="numpy")
def scan_weights(
    weights: np.ndarray, candidate: np.ndarray, max_gross: float
) -> tuple[np.ndarray, int, float, int, int]:
    """Decision rows, the first over-levered one and the first infinite weight.

    One pass over the weights: every row is searched for an infinity, the
    rows allowed by the schedule are also summed.

    Parameters
    ----------
    weights : ndarray, shape ``(n_dates, n_assets)``
        Finite, NaN or infinite.
    candidate : ndarray of bool, shape ``(n_dates,)``
        Rows allowed by the rebalance schedule; other rows are only searched
        for infinities.
    max_gross : float
        Largest accepted sum of ``|weight|`` in a candidate row.

    Returns
    -------
    decide : ndarray of bool, shape ``(n_dates,)``
        Candidate rows holding at least one non-NaN weight (complete only
        when neither an over-levered row nor an infinity was found).
    big_row : int
        First candidate row whose gross exceeds ``max_gross``, ``-1`` if none.
    big_gross : float
        Its gross.
    inf_row, inf_col : int
        First infinite weight in row-major order, ``-1, -1`` if none (it
        takes precedence over ``big_row``: infinity is broken input).
    """
    n_d, n_a = weights.shape
    decide = np.zeros(n_d, dtype=np.bool_)
    big_row = -1
    big_gross = 0.0
    for t in range(n_d):
        # | not `or`: the row test vectorizes; the cell is located only on failure
        bad = False
        for j in range(n_a):
            bad |= abs(weights[t, j]) == np.inf
        if bad:
            for j in range(n_a):
                if abs(weights[t, j]) == np.inf:
                    return decide, big_row, big_gross, t, j
        if not candidate[t] or big_row >= 0:
            continue
        gross = 0.0
        for j in range(n_a):
            w = weights[t, j]
            if w == w:
                gross += abs(w)
                decide[t] = True
        if gross > max_gross:
            big_row = t
            big_gross = gross
    return decide, big_row, big_gross, -1, -1


@njit(cache=True, error_model="numpy")
def _reject(
    rejects: np.ndarray, n_rj: int, t: int, j: int, side: int, shares: float, reason: int
) -> int:
    """Write one refusal at ``rejects[n_rj]``; returns the next free slot."""
    rejects[n_rj]["bar"] = t
    rejects[n_rj]["asset"] = j
    rejects[n_rj]["side"] = side
    rejects[n_rj]["shares"] = shares
    rejects[n_rj]["reason"] = reason
    return n_rj + 1


@njit(cache=True, error_model="numpy")
def _is_close_or_less(a: float, b: float) -> bool:
    return a <= b or abs(a - b) <= _CLOSE_REL * max(abs(a), abs(b))


@njit(cache=True, error_model="numpy")
def _affordable(
    q: float,
    fp: float,
    cash: float,
    rate: float,
    btax: float,
    minc: float,
    lot: float,
    fractional: bool,
) -> float:
    """Largest buy size <= q whose value, commission and buy tax fit in cash."""
    val = q * fp
    comm = max(rate * val, minc)
    if _is_close_or_less(val * (1.0 + btax) + comm, cash):
        return q
    if cash <= 0.0:
        return 0.0
    qa = cash / (fp * (1.0 + rate + btax))
    if rate * qa * fp < minc:
        qa = (cash - minc) / (fp * (1.0 + btax))
    if not fractional:
        qa = np.floor(qa / lot) * lot
    if qa < 0.0:
        qa = 0.0
    return min(qa, q)


@njit(cache=True, error_model="numpy")
def _mark(close: np.ndarray, t: int, last_close: np.ndarray, pos: np.ndarray) -> float:
    """Value of the positions at the close of bar t, carrying the last finite close.

    Four running sums instead of one: the additions of one sum wait on each
    other, four interleave (a fixed order, so results do not depend on the CPU).
    """
    n_a = pos.shape[0]
    e0 = 0.0
    e1 = 0.0
    e2 = 0.0
    e3 = 0.0
    j = 0
    while j + 4 <= n_a:
        c = close[t, j]
        last_close[j] = c if c > 0.0 else last_close[j]
        e0 += pos[j] * last_close[j]
        c = close[t, j + 1]
        last_close[j + 1] = c if c > 0.0 else last_close[j + 1]
        e1 += pos[j + 1] * last_close[j + 1]
        c = close[t, j + 2]
        last_close[j + 2] = c if c > 0.0 else last_close[j + 2]
        e2 += pos[j + 2] * last_close[j + 2]
        c = close[t, j + 3]
        last_close[j + 3] = c if c > 0.0 else last_close[j + 3]
        e3 += pos[j + 3] * last_close[j + 3]
        j += 4
    while j < n_a:
        c = close[t, j]
        last_close[j] = c if c > 0.0 else last_close[j]
        e0 += pos[j] * last_close[j]
        j += 1
    return (e0 + e1) + (e2 + e3)


@njit(cache=True, error_model="numpy")
def _buy(
    t: int,
    j: int,
    q: float,
    p: float,
    cash: float,
    rate: float,
    btax: float,
    min_comm: float,
    slip: float,
    pos: np.ndarray,
    fills: np.ndarray,
    n_tr: int,
    traded: float,
    c_comm: float,
    c_tax: float,
    c_slip: float,
) -> tuple[float, float, float, float, float]:
    """Fill a buy of q shares at p.

    Returns cash and the bar's running totals (traded value, commission, tax,
    slippage) with this fill added.
    """
    val = q * (p * (1.0 + slip))
    comm = max(rate * val, min_comm)
    tax = btax * val
    pos[j] += q
    fills[n_tr]["bar"] = t
    fills[n_tr]["asset"] = j
    fills[n_tr]["shares"] = q
    fills[n_tr]["price"] = p
    return (
        cash - (val + comm + tax),
        traded + q * p,
        c_comm + comm,
        c_tax + tax,
        c_slip + q * p * slip,
    )


@njit(cache=True, error_model="numpy")
def reset_state(st: KernelState, initial_cash: float) -> None:
    """Empty the book: ``initial_cash``, no positions, no prices, no locks, no records."""
    st.sc[0]["cash"] = initial_cash
    st.sc[0]["any_short"] = False
    st.sc[0]["n_exec"] = 0
    st.sc[0]["n_tr"] = 0
    st.sc[0]["n_rj"] = 0
    st.f[:] = 0.0
    st.i[:] = 0
    st.ring_bar[:] = -(10**9)
    st.ring_q[:] = 0.0


@njit(cache=True, error_model="numpy")
def _tick(ticks: np.ndarray, price: float) -> float:
    """Tick of the price level ``price`` falls in (rows ``(price_from, tick)``)."""
    tk = ticks[0, 1]
    for r in range(1, ticks.shape[0]):
        if price >= ticks[r, 0]:
            tk = ticks[r, 1]
    return tk


@njit(cache=True, error_model="numpy")
def limit_prices(ref: float, band: float, ticks: np.ndarray, mode: int) -> tuple[float, float]:
    """The exchange's up and down limit prices for a reference price.

    ``ref * (1 +- band)`` rounded to the tick of its price level: into the
    band (:data:`LIMIT_INWARD`: up limit down, down limit up) or to the
    nearest tick, halves up (:data:`LIMIT_NEAREST`). A band narrower than one
    tick leaves the limits one tick from the reference (HOSE, TWSE practice).
    No ticks: the unrounded limits.

    Parameters
    ----------
    ref : float
        Reference price (> 0), the previous close.
    band : float
        Limit as a fraction of ``ref``.
    ticks : ndarray, shape ``(n_levels, 2)`` or ``(0, 2)``
    mode : int

    Returns
    -------
    up, down : float
    """
    up = ref * (1.0 + band)
    dn = ref * (1.0 - band)
    if ticks.shape[0] == 0:
        return up, dn
    tu = _tick(ticks, up)
    td = _tick(ticks, dn)
    # the 1e-9 of a tick absorbs float noise in ref * (1 + band) / tick
    if mode == LIMIT_NEAREST:
        up = np.floor(up / tu + 0.5 + 1e-9) * tu
        dn = np.floor(dn / td + 0.5 + 1e-9) * td
    else:
        up = np.floor(up / tu + 1e-9) * tu
        dn = np.ceil(dn / td - 1e-9) * td
    if up <= ref:
        up = ref + tu
    if dn >= ref:
        dn = ref - td
    return up, dn


@njit(cache=True, error_model="numpy")
def step(
    t: int,
    w_row: np.ndarray,
    execute: bool,
    mk: KernelMarket,
    par: np.ndarray,
    st: KernelState,
    out: KernelOut,
) -> float:
    """Advance the book through bar ``t`` (the step piece).

    Parameters
    ----------
    t : int
        The bar (row of the market arrays); steps run in increasing ``t``.
    w_row : ndarray, shape ``(n_assets,)``
        Target weights decided at the close of ``t - 1``; read only when
        ``execute``. NaN = 0 (or no order for that asset when the params'
        ``nan_holds``).
    execute : bool
        Whether bar ``t`` executes ``w_row`` (at its open, else its close).
    mk : KernelMarket
    par : structured ndarray of :data:`PARAMS_DTYPE`, shape ``(1,)``
    st : KernelState
        Updated in place.
    out : KernelOut
        Row ``t`` of the per-bar outputs is written; fills, refusals and the
        execution bar are appended at the state's counters.

    Returns
    -------
    float
        Equity at the close of ``t``.
    """
    close = mk.close
    open_ = mk.open_
    lot = mk.lot
    band = mk.band
    min_order = mk.min_order
    ticks = mk.ticks
    n_a = close.shape[1]
    has_open = open_.shape[0] > 0
    has_band = band.shape[0] > 0
    band_per_asset = band.shape[1] > 1
    lot_per_asset = lot.shape[1] > 1
    has_min = min_order.shape[0] > 0
    p0 = par[0]
    min_comm = p0["min_comm"]
    slip = p0["slip"]
    allow_short = p0["allow_short"]
    fractional = p0["fractional"]
    limit_round = p0["limit_round"]
    nan_holds = p0["nan_holds"]

    pos = st.f[_POS]
    last_close = st.f[_LAST]
    sc = st.sc[0]
    cash = sc["cash"]
    any_short = sc["any_short"]
    n_tr = sc["n_tr"]
    n_rj = sc["n_rj"]
    rejects = out.rejects
    fills = out.fills
    if execute:
        px = st.f[_PX]  # execution price this bar (NaN = untradeable)
        # buys of the current bar (stored from the top down): asset, size > 0,
        # order value (sequencing) and cash needed
        o_idx = st.i[_OIDX]
        o_q = st.f[_OQ]
        o_val = st.f[_OVAL]
        o_cost = st.f[_OCOST]
        tg = st.f[_TG]  # target shares before lots and rules
        tl = st.f[_TL]  # the same rounded toward zero to whole lots
        s_idx = st.i[_SIDX]  # sells of the current bar: asset, shares
        s_q = st.f[_SQ]
        cut = st.i[_CUT]
        cut_list = st.i[_CUTL]
        ring_bar = st.ring_bar
        ring_q = st.ring_q
        active = st.active
        n_ring = ring_bar.shape[0]
        lock_t = mk.lock[t]
        max_tick = 0.0
        for r in range(ticks.shape[0]):
            max_tick = max(max_tick, ticks[r, 1])
        rate = mk.comm_rate[t]
        stax = mk.sell_tax[t]
        btax = mk.buy_tax[t]
        # ---- value the book at the execution prices
        # (simple loops: each vectorizes; the sum stays in column order)
        if has_open:
            for j in range(n_a):
                o = open_[t, j]
                c = close[t, j]
                px[j] = o if o > 0.0 else (c if c > 0.0 else np.nan)
        else:
            for j in range(n_a):
                c = close[t, j]
                px[j] = c if c > 0.0 else np.nan
        if mk.volume.shape[0] > 0:
            volume = mk.volume
            for j in range(n_a):
                px[j] = np.nan if volume[t, j] == 0.0 else px[j]
        if mk.tradestatus.shape[0] > 0:
            tradestatus = mk.tradestatus
            for j in range(n_a):
                px[j] = np.nan if tradestatus[t, j] == 0.0 else px[j]
        if mk.suspended.shape[0] > 0:
            suspended = mk.suspended
            for j in range(n_a):
                px[j] = np.nan if suspended[t, j] == 1.0 else px[j]
        # a held asset is valued at a price known at execution: its open,
        # else (no open: its order fills at the close, or it cannot trade)
        # its last close; the close of this bar is not known at the open
        value = cash
        for j in range(n_a):
            if pos[j] != 0.0:
                p = px[j]
                if has_open and not open_[t, j] > 0.0:
                    p = np.nan
                value += pos[j] * (p if p == p else last_close[j])
        # raw targets in shares, in a branch-free loop that vectorizes (the
        # division is the costliest step of sizing); a book worth <= 0
        # cannot be sized: it only closes positions
        scale = value if value > 0.0 else 0.0
        for j in range(n_a):
            w = w_row[j]
            tg[j] = (0.0 if w != w else w) * scale / px[j]
        if not fractional:
            if lot_per_asset:
                for j in range(n_a):
                    tl[j] = np.trunc(tg[j] / lot[t, j]) * lot[t, j]
            else:
                lt = lot[t, 0]
                for j in range(n_a):
                    tl[j] = np.trunc(tg[j] / lt) * lt
        # ---- size the orders (rules that refuse an order are checked here).
        # Whether an order sells or buys is as good as random from one asset
        # to the next, so the common path does not branch on it (a mispredicted
        # branch per asset cost a third of the kernel): each order is written
        # to the next free slot of both the sell queue and the buy arrays and
        # only the count of its side advances. Refusals stay branches: rare.
        n_buy = 0
        n_sell = 0
        traded = 0.0
        c_comm = 0.0
        c_tax = 0.0
        c_slip = 0.0
        locked_slot = t % n_ring
        # the ring slots still locked at this bar: the same for every asset,
        # and on most bars none (rebalances further apart than the lock)
        n_act = 0
        if lock_t > 0:
            for s in range(n_ring):
                if t - ring_bar[s] < lock_t:
                    active[n_act] = s
                    n_act += 1
        for j in range(n_a):
            w = w_row[j]
            if w != w:
                if nan_holds:
                    continue
                w = 0.0
            if w == 0.0 and pos[j] == 0.0:
                continue
            p = px[j]
            if p != p:
                ref_p = last_close[j]
                if ref_p > 0.0:
                    want = w * scale / ref_p
                    if not fractional:
                        lt = lot[t, j if lot_per_asset else 0]
                        want = np.trunc(want / lt) * lt
                    want -= pos[j]
                    if abs(want) > _SIZE_EPS:
                        n_rj = _reject(
                            rejects, n_rj, t, j, 1 if want > 0 else -1, abs(want), R_UNTRADEABLE
                        )
                elif w != 0.0:
                    # never priced: the order cannot even be sized (NaN
                    # shares), but it is recorded, not dropped
                    n_rj = _reject(rejects, n_rj, t, j, 1 if w > 0 else -1, np.nan, R_UNTRADEABLE)
                continue
            raw = tg[j]
            tgt = raw
            if not fractional:
                tgt = tl[j]
                if tgt == 0.0 and raw != 0.0 and pos[j] == 0.0:
                    n_rj = _reject(rejects, n_rj, t, j, 1 if raw > 0 else -1, abs(raw), R_LOT)
            if tgt < 0.0 and not allow_short:
                n_rj = _reject(rejects, n_rj, t, j, -1, -tgt, R_NO_SHORT)
                tgt = 0.0
            delta = tgt - pos[j]
            if delta == 0.0 or (fractional and abs(delta) <= _SIZE_EPS):
                continue
            sell = delta < 0.0
            if has_band:
                b = band[t, j if band_per_asset else 0]
                ref = last_close[j]
                # the rounded limits lie within one tick of the raw ones, so
                # only a price that near a limit needs them (rare: most orders
                # skip the rounding)
                near_up = ref * (1.0 + b) * (1.0 - 1e-8) - max_tick
                near_dn = ref * (1.0 - b) * (1.0 + 1e-8) + max_tick
                near = (sell & (p < near_dn)) | ((not sell) & (p > near_up))
                if near and b < np.inf and ref > 0.0:
                    lim_up, lim_dn = limit_prices(ref, b, ticks, limit_round)
                    # & and | (not `and`): no branch on the side
                    down = sell & (p <= lim_dn * (1.0 + _LIMIT_REL))
                    up = (not sell) & (p >= lim_up * (1.0 - _LIMIT_REL))
                    if down | up:
                        if down:
                            n_rj = _reject(rejects, n_rj, t, j, -1, -delta, R_BAND_DOWN)
                        else:
                            n_rj = _reject(rejects, n_rj, t, j, 1, delta, R_BAND_UP)
                        continue
            q = -delta  # shares to sell (a sell)
            if n_act > 0 and pos[j] > 0.0:
                # the lock is counted for buys too: cheaper than a branch on the side
                locked = 0.0
                for i in range(n_act):
                    locked += ring_q[active[i], j]
                sellable = max(pos[j] - locked, 0.0)
                # min(q, pos) > sellable, without min: a float select is a branch
                over = sell & (q > sellable) & (pos[j] > sellable)
                if over:
                    n_rj = _reject(rejects, n_rj, t, j, -1, q - sellable, R_T_PLUS)
                    q = sellable
                    if q <= 0.0:
                        continue
            if has_min and ((not sell) & (delta < min_order[j])):
                n_rj = _reject(rejects, n_rj, t, j, 1, delta, R_LOT)
                continue
            # sells fill after this loop, in column order: they only add
            # cash, so that is filling every sell before any buy
            s_idx[n_sell] = j
            s_q[n_sell] = q
            # buys fill from the top of the order arrays down
            k = n_a - 1 - n_buy
            o_idx[k] = j
            o_q[k] = delta
            o_val[k] = delta * p
            val = delta * (p * (1.0 + slip))
            oc = val * (1.0 + btax) + max(rate * val, min_comm)
            o_cost[k] = oc
            n_buy += not sell
            n_sell += sell
        for i in range(n_sell):
            j = s_idx[i]
            q = s_q[i]
            p = px[j]
            fp = p * (1.0 - slip)
            val = q * fp
            comm = max(rate * val, min_comm)
            tax = stax * val
            cash += val - comm - tax
            pos[j] -= q
            traded += q * p
            c_comm += comm
            c_tax += tax
            c_slip += q * p * slip
            fills[n_tr]["bar"] = t
            fills[n_tr]["asset"] = j
            fills[n_tr]["shares"] = -q
            fills[n_tr]["price"] = p
            n_tr += 1
            if pos[j] < 0.0:
                any_short = True
        # ---- buys: in increasing order value (as vectorbt's auto call
        # sequence) so that a cash shortfall cuts the largest buys. Only the
        # largest few can be cut, so find them by repeated max (ties: the higher
        # column is later, as in a stable sort) instead of sorting every buy.
        if lock_t > 0 and n_buy > 0:
            ring_bar[locked_slot] = t
            for j in range(n_a):
                ring_q[locked_slot, j] = 0.0
        # the cash the buys need, with their costs, summed in column order
        # (a select on a float inside the sizing loop compiles to a branch)
        lo = n_a - n_buy
        total = 0.0
        for k in range(n_a - 1, lo - 1, -1):
            total += o_cost[k]
        n_cut = 0
        if not _is_close_or_less(total, cash):
            short = total - cash
            freed = 0.0
            while freed < short and n_cut < n_buy:
                # the largest uncut buy (ties: the higher column, the lower slot)
                best = -1
                for k in range(lo, n_a):
                    if cut[k] == 0 and (best < 0 or o_val[k] > o_val[best]):
                        best = k
                cut[best] = 1
                cut_list[n_cut] = best
                n_cut += 1
                freed += o_cost[best]
        # uncut buys first: together they fit in the cash, so no check
        for k in range(lo, n_a):
            if n_cut > 0 and cut[k] != 0:
                continue
            j = o_idx[k]
            cash, traded, c_comm, c_tax, c_slip = _buy(
                t, j, o_q[k], px[j], cash, rate, btax, min_comm, slip, pos,
                fills, n_tr, traded, c_comm, c_tax, c_slip,
            )  # fmt: skip
            n_tr += 1
            if lock_t > 0:
                ring_q[locked_slot, j] += o_q[k]
        # then the cut ones, smallest first, each as far as the cash goes
        for c_i in range(n_cut - 1, -1, -1):
            k = cut_list[c_i]
            cut[k] = 0
            j = o_idx[k]
            q = o_q[k]
            p = px[j]
            lt = lot[t, j if lot_per_asset else 0]
            qa = _affordable(q, p * (1.0 + slip), cash, rate, btax, min_comm, lt, fractional)
            if has_min and qa < min_order[j]:
                qa = 0.0
            if qa < q:
                n_rj = _reject(rejects, n_rj, t, j, 1, q - qa, R_CASH)
            if qa <= 0.0:
                continue
            cash, traded, c_comm, c_tax, c_slip = _buy(
                t, j, qa, p, cash, rate, btax, min_comm, slip, pos,
                fills, n_tr, traded, c_comm, c_tax, c_slip,
            )  # fmt: skip
            if fractional and qa < q:
                cash = 0.0  # a cash-limited fractional buy spends all of it, not ~1e-12 less
            n_tr += 1
            if lock_t > 0:
                ring_q[locked_slot, j] += qa
        # a position in an asset that has never closed (filled at an open
        # after a missing close) is marked at its fill price until it closes
        for j in range(n_a):
            if last_close[j] == 0.0 and pos[j] != 0.0:
                last_close[j] = px[j]
        out.costs[t, 0] = c_comm
        out.costs[t, 1] = c_tax
        out.costs[t, 2] = c_slip
        out.turnover[t] = traded / value if value > 0.0 else 0.0
        k_exec = sc["n_exec"]
        out.exec_bars[k_exec] = t
        sc["n_exec"] = k_exec + 1
        if any_short:
            any_short = False
            for j in range(n_a):
                if pos[j] < 0.0:
                    any_short = True
                    break
    sc["any_short"] = any_short
    sc["n_tr"] = n_tr
    sc["n_rj"] = n_rj
    return _close_bar(t, close, p0["borrow_daily"], pos, last_close, sc, cash, out)


@njit(cache=True, error_model="numpy")
def _close_bar(
    t: int,
    close: np.ndarray,
    borrow_daily: float,
    pos: np.ndarray,
    last_close: np.ndarray,
    sc: np.void,
    cash: float,
    out: KernelOut,
) -> float:
    """Mark the book to the close of ``t``, charge borrow, write the bar's outputs.

    The whole of a bar without an execution; :func:`run_kernel` calls it
    directly on those bars (cheaper than a full :func:`step` call).
    """
    eq = cash + _mark(close, t, last_close, pos)
    if sc["any_short"] and borrow_daily > 0.0:
        short_value = 0.0
        for j in range(pos.shape[0]):
            if pos[j] < 0.0:
                short_value -= pos[j] * last_close[j]
        fee = borrow_daily * short_value
        cash -= fee
        eq -= fee
        out.costs[t, 3] = fee
    out.equity[t] = eq
    out.cash[t] = cash
    sc["cash"] = cash
    return eq


@njit(cache=True, error_model="numpy")
def finish(st: KernelState) -> tuple[int, int, int]:
    """How many execution bars, fills and refusals the steps wrote (the finish piece)."""
    sc = st.sc[0]
    return sc["n_exec"], sc["n_tr"], sc["n_rj"]


@njit(cache=True, error_model="numpy")
def run_kernel(
    weights: np.ndarray,
    decide: np.ndarray,
    mk: KernelMarket,
    par: np.ndarray,
    st: KernelState,
    out: KernelOut,
) -> tuple[int, int, int]:
    """Simulate the book over every bar: :func:`step` in a loop.

    Parameters
    ----------
    weights : ndarray, shape ``(n_dates, n_assets)``
        Target weights; row ``t`` is read only when ``decide[t]``; NaN = 0.
    decide : ndarray of bool, shape ``(n_dates,)``
        Row ``t`` is a decision that executes at bar ``t + 1``.
    mk, par, st, out
        As for :func:`step`; ``st`` fresh from :func:`new_state`.

    Returns
    -------
    n_exec, n_trades, n_rejects : int
    """
    n_d = mk.close.shape[0]
    close = mk.close
    borrow_daily = par[0]["borrow_daily"]
    pos = st.f[_POS]
    last_close = st.f[_LAST]
    sc = st.sc[0]
    for t in range(n_d):
        if t > 0 and decide[t - 1]:
            step(t, weights[t - 1], True, mk, par, st, out)
        else:  # only a mark to the close: the same code step ends with
            _close_bar(t, close, borrow_daily, pos, last_close, sc, sc["cash"], out)
    return finish(st)
