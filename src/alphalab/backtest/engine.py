"""The public backtest entry: validate inputs, lay out the rules, run the kernel.

Conventions (see ``docs/ARCHITECTURE.md``): target weights decided at the close
of t execute at the next bar, ``next_open`` (open of t+1 where finite, else
close of t+1) or ``next_close``; the book is valued at the execution prices to
size orders and marked at every close. Negative weights on a market without
shorting are not an error: the short part is refused and recorded in
``rejected`` with reason ``no_short`` (the long side of the decision still
trades), so one weight matrix can run on every market.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphalab.backtest.costs import Costs
from alphalab.backtest.inputs import (
    MAX_GROSS,
    check_arguments,
    check_finite_weights,
    check_prices,
    check_volume,
    infinite_weight_error,
    prepare_weights,
    price_floor,
)
from alphalab.backtest.kernel import (
    LIMIT_INWARD,
    LIMIT_NEAREST,
    KernelMarket,
    bad_inputs,
    make_params,
    new_out,
    new_state,
    run_kernel,
    scan_weights,
)
from alphalab.backtest.kernel_py import run_kernel_py
from alphalab.backtest.result import BacktestResult
from alphalab.backtest.schedule import RebalanceRule, rebalance_mask
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.markets import MarketRules, ResolvedRules, get_market, resolve_rules

__all__ = ["backtest", "prepare_weights"]  # prepare_weights lives in inputs

_EMPTY = np.empty((0, 0))
_EMPTY1 = np.empty(0)
_NO_TICKS = np.empty((0, 2))
_BARS_PER_YEAR = 252.0  # borrow cost accrues per bar


# Studies run many backtests on one panel: rules and schedules are cached by
# calendar (and market, assets, rule), a few entries each.
_CACHE_SIZE = 16
_RULES_CACHE: dict[tuple[Any, ...], ResolvedRules] = {}
_MASK_CACHE: dict[tuple[Any, ...], np.ndarray] = {}


def _resolve(market: str | MarketRules, panel: Panel, st: np.ndarray | None) -> ResolvedRules:
    """Resolved rules, per asset only where they can differ between assets.

    Only China resolves a board per ticker (and ST flags vary per asset); on
    every other market the rules of one asset are the rules of all, so they
    are resolved for the first asset only and ``band`` and
    ``lot_size_by_date`` have shape ``(n_dates, 1)``: building
    ``(n_dates, n_assets)`` arrays of identical columns would cost more than
    the simulation.
    """
    base = get_market(market) if isinstance(market, str) else market
    per_asset = st is not None or base.code == "cn"
    assets = panel.assets if per_asset else panel.assets[:1]
    key: tuple[Any, ...] | None = (base, *_calendar_key(panel.dates), tuple(assets))
    try:
        hash(key)
    except TypeError:  # a custom MarketRules with unhashable values
        key = None
    if key is None or st is not None:
        return resolve_rules(market, panel.dates, assets, st=st)
    hit = _RULES_CACHE.get(key)
    if hit is None:
        hit = _remember(_RULES_CACHE, key, resolve_rules(market, panel.dates, assets))
    return hit


def _calendar_key(dates: pd.DatetimeIndex) -> tuple[int, bytes]:
    return len(dates), hashlib.blake2b(dates.asi8.tobytes(), digest_size=16).digest()


def _remember(cache: dict, key: tuple[Any, ...], value: Any) -> Any:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def _schedule(panel: Panel, rule: RebalanceRule) -> np.ndarray:
    """:func:`rebalance_mask`, cached for named and every-k-bars rules (read-only).

    Raises
    ------
    ConfigError
        A rule of the wrong type (a bool would also hit the cache entry of
        ``1``, since ``True == 1``; a float, a mask array ...).
    """
    if isinstance(rule, (bool, np.bool_)):
        raise ConfigError(f"rebalance must be a rule name, a number of bars or dates, got {rule!r}")
    if not isinstance(rule, (str, int, np.integer)):
        try:
            return np.ascontiguousarray(rebalance_mask(panel.dates, rule))
        except TypeError:
            raise ConfigError(
                "rebalance must be a rule name ('weekly' ...), a number of bars or a list of "
                f"dates, got {rule!r:.60}"
            ) from None
    key = (rule, *_calendar_key(panel.dates))
    hit = _MASK_CACHE.get(key)
    if hit is None:
        hit = np.ascontiguousarray(rebalance_mask(panel.dates, rule))
        hit.flags.writeable = False
        _remember(_MASK_CACHE, key, hit)
    return hit


def _min_order(rr: ResolvedRules, n_assets: int) -> np.ndarray:
    """Fewest shares per buy order, shape ``(n_assets,)``; empty where no asset has one.

    Rules resolved for one asset (every market but China) hold one value for all.
    """
    mo = rr.min_order
    if mo is None or n_assets == 0 or not np.any(np.asarray(mo) > 0):
        return _EMPTY1
    return np.ascontiguousarray(np.broadcast_to(np.asarray(mo, dtype=np.float64), (n_assets,)))


def _field(panel: Panel, name: str) -> np.ndarray:
    arr = panel.get(name)
    return _EMPTY if arr is None else np.ascontiguousarray(arr)


def backtest(
    weights: np.ndarray | pd.DataFrame,
    panel: Panel,
    market: str | MarketRules = "us",
    *,
    rebalance: RebalanceRule | None = None,
    execution: Literal["next_open", "next_close"] = "next_open",
    costs: Costs | None = None,
    initial_cash: float = 1_000_000.0,
    rules: Literal["market", "proportional"] = "market",
    engine: Literal["numba", "python"] = "numba",
) -> BacktestResult:
    """Simulate target weights on a panel under a market's rules.

    Parameters
    ----------
    weights : ndarray or DataFrame, shape ``(n_dates, n_assets)``
        Target fraction of equity per asset decided at each close; negative =
        short, remainder = cash. A row of NaN is no decision (positions drift);
        NaN inside a decided row means 0.
    panel : Panel
        Needs ``close``; uses ``open`` (``next_open``), and ``volume``,
        ``tradestatus``, ``suspended``, ``isST`` when present.
    market : str or MarketRules
        Market code for :func:`alphalab.markets.resolve_rules`.
    rebalance : str, int or dates, optional
        Schedule (see :func:`rebalance_mask`); rows off the schedule are
        ignored. Default: every row that holds a decision.
    execution : {"next_open", "next_close"}
    costs : Costs, optional
        Commission (default: the market's), slippage, minimum commission. The
        market's taxes always apply.
    initial_cash : float
    rules : {"market", "proportional"}
        ``"proportional"`` turns every market rule off: fractional shares,
        no bands, no settlement lock, shorting allowed, no minimum fee.
    engine : {"numba", "python"}
        ``"python"`` runs the plain Python twin (slow; for checking).

    Returns
    -------
    BacktestResult

    Notes
    -----
    Per execution bar: the book is valued at prices known at execution (the
    open with ``next_open``; a held asset whose open is missing, so that its
    own order falls back to the close, or that cannot trade counts at its last
    close); target shares = weight x
    value / price, rounded toward zero to whole lots (``rules="market"``);
    refused orders are recorded in ``rejected`` (band lock judged against the
    previous close only, T+N lock, no shorting, untradeable bar, less than a
    lot or than the board's minimum buy order, e.g. STAR's 200 shares); sells fill first, then buys in increasing order value, the largest
    cut when cash runs short (no margin: a buy takes cash below zero only
    within the 1e-9 relative "close enough" of vectorbt, e.g. -1e-4 on 1e6);
    the book is then marked at the close. A decision on the last bar has no
    bar to execute on and is ignored. Borrow cost accrues on the short value
    at each close at the market's rate / 252. The T+N lock counts bars (rows
    of the panel = trading days), not calendar days. A ``volume`` of 0 on the
    execution bar is read as a halt known before the open. A position in an
    asset that has not closed yet is marked at its fill price (also the band
    reference) until its first close.

    Raises
    ------
    DataError
        ``panel`` not a :class:`Panel`, without dates or without ``close``;
        weights of the wrong shape, labels or type (booleans, text, ragged
        lists: see :func:`~alphalab.backtest.inputs.prepare_weights`); an
        infinite weight on any row, a decision row with gross leverage above
        :data:`~alphalab.backtest.inputs.MAX_GROSS`, or an infinite or negative
        ``close``/``open`` (each named by date and asset).
    MarketRuleError
        Unknown market code, or ``market`` of the wrong type.
    ConfigError
        Unknown ``execution``, ``rules`` or ``engine``; ``costs`` not a
        :class:`Costs`; ``initial_cash`` not a positive finite number.

    An empty universe (0 assets) is not an error: the book stays in cash. An
    order for an asset that has never had a price is recorded in ``rejected``
    as ``untradeable`` with NaN shares (it cannot be sized), not dropped.
    """
    if execution not in ("next_open", "next_close"):
        raise ConfigError(f"execution must be 'next_open' or 'next_close', got {execution!r}")
    if rules not in ("market", "proportional"):
        raise ConfigError(f"rules must be 'market' or 'proportional', got {rules!r}")
    if engine not in ("numba", "python"):
        raise ConfigError(f"engine must be 'numba' or 'python', got {engine!r}")
    costs, initial_cash = check_arguments(panel, market, costs, initial_cash)
    # infinite weights are found by scan_weights, in its pass over the weights;
    # an error raised before it must still give way to theirs, as it did when
    # prepare_weights looked for them
    w = prepare_weights(weights, panel, check_inf=False)
    n_d, n_a = panel.shape
    close = np.ascontiguousarray(panel["close"])
    open_ = _field(panel, "open") if execution == "next_open" else _EMPTY
    volume = _field(panel, "volume")
    try:
        # one pass flags bad prices or volumes; the checks locate them and raise
        if bad_inputs(close, open_, volume, price_floor(initial_cash)):
            check_prices(
                panel, ("close", "open") if execution == "next_open" else ("close",), initial_cash
            )
            check_volume(panel)
        candidate = np.ones(n_d, dtype=bool) if rebalance is None else _schedule(panel, rebalance)
    except Exception:
        check_finite_weights(w, panel)
        raise
    decide, big_r, big_gross, inf_r, inf_c = scan_weights(w, candidate, MAX_GROSS)
    if inf_r >= 0:
        raise infinite_weight_error(panel, inf_r, inf_c)
    if big_r >= 0:
        raise DataError(
            f"weights on {panel.dates[big_r].date()} have a gross leverage (sum of |w|) of "
            f"{big_gross:.4g}, above {MAX_GROSS:g}: weights are fractions of equity"
        )

    mk, par = kernel_inputs(
        panel, market, w.shape, execution=execution, costs=costs, initial_cash=initial_cash,
        rules=rules, open_=open_, close=close, volume=volume,
    )  # fmt: skip
    n_exec = int(decide[: n_d - 1].sum()) if n_d > 1 else 0
    st = new_state(n_a, mk.lock, initial_cash)
    out = new_out(n_d, n_a, n_exec)
    run = run_kernel if engine == "numba" else run_kernel_py
    _, n_tr, n_rj = run(w, decide, mk, par, st, out)
    fills = out.fills[:n_tr]
    p0 = par[0]
    return BacktestResult.build(
        dates=panel.dates,
        assets=panel.assets,
        equity=out.equity,
        cash=out.cash,
        costs=out.costs,
        turnover=out.turnover,
        exec_bars=out.exec_bars,
        close=close,
        fills=(fills["bar"], fills["asset"], fills["shares"], fills["price"]),
        cost_rates=(
            mk.comm_rate,
            mk.sell_tax,
            mk.buy_tax,
            float(p0["min_comm"]),
            float(p0["slip"]),
        ),
        rejected=out.rejects[:n_rj],
        initial_cash=float(initial_cash),
        info={
            "market": market if isinstance(market, str) else market.code,
            "rules": rules,
            "execution": execution,
            "rebalance": rebalance,
            "costs": costs,
        },
    )


def kernel_inputs(
    panel: Panel,
    market: str | MarketRules,
    shape: tuple[int, int],
    *,
    execution: str,
    costs: Costs,
    initial_cash: float,
    rules: str,
    open_: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    nan_holds: bool = False,
) -> tuple[KernelMarket, np.ndarray]:
    """The market's rules laid out for the kernel: :class:`KernelMarket` and params.

    Shared by :func:`backtest` and :class:`alphalab.models.rl.MarketEnv`, so
    both simulate with the same rules.

    Parameters
    ----------
    panel : Panel
    market : str or MarketRules
    shape : (n_dates, n_assets)
    execution : {"next_open", "next_close"}
        Picks the sell lock at the open or at the close.
    costs : Costs
    initial_cash : float
    rules : {"market", "proportional"}
    open_, close, volume : ndarray
        The panel's fields as the kernel reads them (``open_`` empty with
        ``next_close``).
    nan_holds : bool
        NaN weight = no order for that asset (RL hold) instead of 0.

    Returns
    -------
    KernelMarket, params record (:data:`~alphalab.backtest.kernel.PARAMS_DTYPE`)
    """
    n_d, n_a = shape
    market_mode = rules == "market"
    st = panel.get("isST") if market_mode else None
    rr = _resolve(market, panel, st)
    if market_mode:
        band = np.ascontiguousarray(rr.band)
        lot = np.ascontiguousarray(rr.lot_size_by_date, dtype=np.float64)
        locks = rr.sell_lock_close_by_date if execution == "next_close" else rr.sell_lock_by_date
        lock = np.ascontiguousarray(locks, dtype=np.int64)
        allow_short = bool(rr.allow_short)
        min_comm = (
            float(rr.min_commission) if costs.min_commission is None else costs.min_commission
        )
        min_order = _min_order(rr, n_a)
        ticks = np.ascontiguousarray(rr.ticks, dtype=np.float64).reshape(-1, 2)
    else:
        band = _EMPTY
        lot = np.ones((n_d, 1))
        lock = np.zeros(n_d, dtype=np.int64)
        allow_short = True
        min_comm = 0.0
        min_order = _EMPTY1
        ticks = _NO_TICKS
    if n_a == 0:  # a universe with no asset holds cash; the kernel reads lot[t, 0]
        band, lot = _EMPTY, np.ones((n_d, 1))
    comm_rate = (
        np.ascontiguousarray(rr.commission_rate, dtype=np.float64)
        if costs.commission_bps is None
        else np.full(n_d, costs.commission_bps / 1e4)
    )
    mk = KernelMarket(
        open_=open_,
        close=close,
        volume=volume,
        tradestatus=_field(panel, "tradestatus"),
        suspended=_field(panel, "suspended"),
        band=band,
        lot=lot,
        min_order=min_order,
        comm_rate=comm_rate,
        sell_tax=np.ascontiguousarray(rr.sell_tax, dtype=np.float64),
        buy_tax=np.ascontiguousarray(rr.buy_tax, dtype=np.float64),
        lock=lock,
        ticks=ticks,
    )
    par = make_params(
        min_comm=float(min_comm),
        slip=costs.slippage_bps / 1e4,
        borrow_daily=float(rr.borrow_rate) / _BARS_PER_YEAR,
        initial_cash=float(initial_cash),
        allow_short=allow_short,
        fractional=not market_mode,
        limit_round=LIMIT_NEAREST if rr.limit_rounding == "nearest" else LIMIT_INWARD,
        nan_holds=nan_holds,
    )
    return mk, par
