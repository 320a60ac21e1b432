"""The immutable outcome of one backtest, with pandas views built on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from alphalab.backtest.costs import COST_KINDS
from alphalab.backtest.kernel import REASONS, trade_records

__all__ = ["BacktestResult"]


def _frozen(arr: np.ndarray) -> np.ndarray:
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Equity, positions, fills, costs and refusals of one simulation.

    Raw arrays (read-only) are the stored state; every pandas property is
    built on first access and cached.

    Attributes
    ----------
    dates : DatetimeIndex, length ``n_dates``
    assets : Index, length ``n_assets``
    equity_values, cash_values, turnover_values : ndarray, shape ``(n_dates,)``
        Equity and cash at each close; turnover = (buys + sells) value at the
        execution price / equity at execution.
    costs_values : ndarray, shape ``(n_dates, 4)``
        Commission, tax, slippage and borrow paid each bar (:data:`COST_KINDS`).
    exec_bars : ndarray of int64, shape ``(n_exec,)``
        Bars on which a decision executed.
    close : ndarray, shape ``(n_dates, n_assets)``
        The panel's close, used to value positions.
    fills : tuple of 4 ndarrays, each shape ``(n_trades,)``
        The kernel's compact fills: bar, asset, signed shares (+ buy) and
        execution price before slippage; :attr:`trades` expands them.
    cost_rates : tuple
        ``(commission_rate (n_dates,), sell_tax (n_dates,), buy_tax (n_dates,),
        min_commission, slippage)`` as charged, to expand the fills.
    rejected : structured ndarray of ``REJECT_DTYPE``
        Fields ``bar, asset, side, shares, reason``; ``reason`` indexes
        :attr:`reasons`.
    initial_cash : float
        Equity before the first bar: the account's starting cash, or for a
        :meth:`slice` the equity at the close before its first date.
    info : dict
        Market, rules, execution, rebalance and costs of the run.
    opening : tuple of 2 ndarrays, each shape ``(n_assets,)``, or None
        Shares held before the first bar and their last known marks (a
        :meth:`slice` starts with the book of the run it was cut from); None
        for a run that starts flat.
    """

    dates: pd.DatetimeIndex
    assets: pd.Index
    equity_values: np.ndarray
    cash_values: np.ndarray
    costs_values: np.ndarray
    turnover_values: np.ndarray
    exec_bars: np.ndarray
    close: np.ndarray
    fills: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    cost_rates: tuple[np.ndarray, np.ndarray, np.ndarray, float, float]
    rejected: np.ndarray
    initial_cash: float
    info: dict[str, Any] = field(default_factory=dict)
    opening: tuple[np.ndarray, np.ndarray] | None = None

    reasons = REASONS

    @classmethod
    def build(
        cls,
        *,
        dates: pd.DatetimeIndex,
        assets: pd.Index,
        equity: np.ndarray,
        cash: np.ndarray,
        costs: np.ndarray,
        turnover: np.ndarray,
        exec_bars: np.ndarray,
        close: np.ndarray,
        fills: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        cost_rates: tuple[np.ndarray, np.ndarray, np.ndarray, float, float],
        rejected: np.ndarray,
        initial_cash: float,
        info: dict[str, Any],
        opening: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> BacktestResult:
        """Wrap kernel outputs, marking every array read-only."""
        comm, stax, btax, min_comm, slip = cost_rates
        return cls(
            dates=dates,
            assets=assets,
            equity_values=_frozen(equity),
            cash_values=_frozen(cash),
            costs_values=_frozen(costs),
            turnover_values=_frozen(turnover),
            exec_bars=_frozen(exec_bars),
            close=_frozen(close),
            fills=tuple(_frozen(a) for a in fills),  # type: ignore[arg-type]
            cost_rates=(_frozen(comm), _frozen(stax), _frozen(btax), min_comm, slip),
            rejected=_frozen(rejected),
            initial_cash=initial_cash,
            info=dict(info),
            opening=None if opening is None else (_frozen(opening[0]), _frozen(opening[1])),
        )

    @cached_property
    def trades(self) -> np.ndarray:
        """Fills as structured records of ``TRADE_DTYPE`` (read-only): ``bar,
        asset, side, shares, price, value, commission, tax, slippage``; ``side``
        is +1 buy, -1 sell; ``price`` includes slippage."""
        return _frozen(trade_records(*self.fills, *self.cost_rates))

    @cached_property
    def pos_snap(self) -> np.ndarray:
        """Shares held after each execution bar's fills, ``(n_exec, n_assets)``.

        Rebuilt by summing the fills in bar order, the same additions the
        kernel made, so the values are identical to the simulated book."""
        bar, asset, shares, _ = self.fills
        steps = np.zeros((len(self.exec_bars), len(self.assets)))
        steps[np.searchsorted(self.exec_bars, bar), asset] = shares
        if self.opening is not None and len(steps):
            steps[0] += self.opening[0]
        return _frozen(np.cumsum(steps, axis=0))

    # ----------------------------------------------------------------- slicing
    def slice(self, start: Any = None, end: Any = None) -> BacktestResult:
        """The same run seen over ``start <= date <= end`` only (both inclusive).

        The result is a full :class:`BacktestResult` of the sub-span: series,
        frames, trades, refusals and costs are those of the sub-span's bars, and
        :meth:`metrics` describe it alone. Equity is **not rebased**: it keeps
        the account's values, and ``initial_cash`` becomes the equity at the
        close before ``start``, so :attr:`returns` are exactly the full run's
        returns on those dates. Positions held when the span opens carry in
        (:attr:`opening`), so :attr:`positions` and :attr:`weights` equal the
        full run's on the same dates.

        Parameters
        ----------
        start, end : date-like, optional
            Span bounds; None means the run's first / last date.

        Returns
        -------
        BacktestResult
            ``n_dates`` = number of the run's dates inside the span.
        """
        dates = self.dates
        i0 = 0 if start is None else int(dates.searchsorted(pd.Timestamp(start), "left"))
        i1 = len(dates) if end is None else int(dates.searchsorted(pd.Timestamp(end), "right"))
        i1 = max(i0, i1)
        if i0 == 0 and i1 == len(dates):
            return self
        bar, asset, shares, price = self.fills
        keep = (bar >= i0) & (bar < i1)
        fills = (bar[keep] - i0, asset[keep], shares[keep], price[keep])
        comm, stax, btax, min_comm, slip = self.cost_rates
        rejected = self.rejected[(self.rejected["bar"] >= i0) & (self.rejected["bar"] < i1)].copy()
        rejected["bar"] -= i0
        exec_keep = (self.exec_bars >= i0) & (self.exec_bars < i1)
        opening = None
        if i0 > 0:
            # The book in force at the close before the span, and its last marks.
            held = self._held_index()[i0 - 1]
            shares_before = (
                self.pos_snap[held].copy() if held >= 0 else np.zeros(len(self.assets))
            )
            if self.opening is not None and held < 0:
                shares_before = self.opening[0].copy()
            marks = self._marks()[i0 - 1].copy()
            opening = (shares_before, marks)
        elif self.opening is not None:
            opening = self.opening
        return BacktestResult.build(
            dates=dates[i0:i1],
            assets=self.assets,
            equity=self.equity_values[i0:i1],
            cash=self.cash_values[i0:i1],
            costs=self.costs_values[i0:i1],
            turnover=self.turnover_values[i0:i1],
            exec_bars=self.exec_bars[exec_keep] - i0,
            close=self.close[i0:i1],
            fills=fills,
            cost_rates=(comm[i0:i1], stax[i0:i1], btax[i0:i1], min_comm, slip),
            rejected=rejected,
            initial_cash=float(self.equity_values[i0 - 1]) if i0 > 0 else self.initial_cash,
            info={**self.info, "sliced_from": (str(dates[0].date()), str(dates[-1].date()))}
            if len(dates)
            else dict(self.info),
            opening=opening,
        )

    # ---------------------------------------------------------------- series
    @cached_property
    def equity(self) -> pd.Series:
        """Equity at each close, shape ``(n_dates,)``."""
        return pd.Series(self.equity_values, index=self.dates, name="equity")

    @cached_property
    def cash(self) -> pd.Series:
        """Cash at each close (negative = borrowed), shape ``(n_dates,)``."""
        return pd.Series(self.cash_values, index=self.dates, name="cash")

    @cached_property
    def returns(self) -> pd.Series:
        """Simple return per bar; the first is against ``initial_cash``."""
        eq = self.equity_values
        prev = np.concatenate(([self.initial_cash], eq[:-1]))
        return pd.Series(eq / prev - 1.0, index=self.dates, name="returns")

    @cached_property
    def turnover(self) -> pd.Series:
        """Traded value (buys + sells) / equity per bar, shape ``(n_dates,)``."""
        return pd.Series(self.turnover_values, index=self.dates, name="turnover")

    @cached_property
    def costs_daily(self) -> pd.DataFrame:
        """Costs paid each bar by kind, ``(n_dates, 4)``."""
        return pd.DataFrame(self.costs_values, index=self.dates, columns=list(COST_KINDS))

    @cached_property
    def costs(self) -> pd.Series:
        """Total costs by kind (commission, tax, slippage, borrow)."""
        return pd.Series(self.costs_values.sum(axis=0), index=list(COST_KINDS), name="costs")

    # --------------------------------------------------------------- frames
    def _held_index(self) -> np.ndarray:
        """For each bar, the row of ``pos_snap`` in force at its close (-1 = none)."""
        return np.searchsorted(self.exec_bars, np.arange(len(self.dates)), side="right") - 1

    @cached_property
    def positions(self) -> pd.DataFrame:
        """Shares held at each close, ``(n_dates, n_assets)``."""
        k = self._held_index()
        start = np.zeros(len(self.assets)) if self.opening is None else self.opening[0]
        snap = np.vstack([start[None, :], self.pos_snap])
        return pd.DataFrame(snap[k + 1], index=self.dates, columns=self.assets)

    def _marks(self) -> np.ndarray:
        """Last positive close of each asset at each bar (0 before any), ``(n_dates, n_assets)``."""
        frame = pd.DataFrame(self.close).where(lambda x: x > 0)
        if self.opening is not None:
            # A slice's first bars value positions at the marks carried in.
            first = pd.DataFrame(self.opening[1][None, :]).where(lambda x: x > 0)
            frame = pd.concat([first, frame], ignore_index=True).ffill().iloc[1:]
        return frame.ffill().fillna(0.0).to_numpy()

    @cached_property
    def weights(self) -> pd.DataFrame:
        """Held weights at each close (position value / equity), ``(n_dates, n_assets)``."""
        marks = self._marks()
        value = self.positions.to_numpy() * marks
        return pd.DataFrame(
            value / self.equity_values[:, None], index=self.dates, columns=self.assets
        )

    def _order_columns(self, rec: np.ndarray) -> dict[str, Any]:
        """date, ticker, side ("buy"/"sell") and shares of fill or refusal records."""
        return {
            "date": self.dates[rec["bar"]],
            "ticker": self.assets[rec["asset"]],
            "side": np.where(rec["side"] > 0, "buy", "sell"),
            "shares": rec["shares"],
        }

    def trades_frame(self) -> pd.DataFrame:
        """Trades as a long DataFrame: date, ticker, side ("buy"/"sell"), shares, ..."""
        tr = self.trades
        return pd.DataFrame(
            {
                **self._order_columns(tr),
                "price": tr["price"],
                "value": tr["value"],
                "commission": tr["commission"],
                "tax": tr["tax"],
                "slippage": tr["slippage"],
            }
        )

    def rejected_frame(self) -> pd.DataFrame:
        """Refused orders as a long DataFrame: date, ticker, side, shares, reason."""
        rj = self.rejected
        return pd.DataFrame(
            {
                **self._order_columns(rj),
                "reason": np.asarray(REASONS, dtype=object)[rj["reason"]],
            }
        )

    # ---------------------------------------------------------------- metrics
    def metrics(self, benchmark: pd.Series | None = None) -> pd.Series:
        """Performance metrics of :attr:`returns` (see :mod:`alphalab.metrics`)."""
        from alphalab.metrics import compute_metrics  # base layer; imported late

        return compute_metrics(
            self.returns,
            benchmark=benchmark,
            turnover=self.turnover,
            costs=self.costs_daily.sum(axis=1),
            equity=self.equity,
        )

    def __repr__(self) -> str:
        eq = self.equity_values
        end = f"{eq[-1]:,.2f}" if len(eq) else "n/a"
        return (
            f"BacktestResult({len(self.dates)} dates x {len(self.assets)} assets, "
            f"market={self.info.get('market')!r}, rules={self.info.get('rules')!r}, "
            f"final equity {end}, {len(self.trades)} trades, {len(self.rejected)} rejected)"
        )
