"""Corporate-action adjustment: adjusted prices from raw prices.

Two routes, both backward-adjusted (the last price is the raw price; earlier
prices are scaled so that one-day returns include splits and dividends):

* :func:`adjust_from_factors` - from split ratios and cash dividends;
* :func:`adjust_from_reference` - from the exchange's ex-rights reference
  price (CN ``preclose``, TW reference price) when no factors exist. The ratio
  ``close_t / preclose_t`` is the true one-day return, so the adjusted series
  is built by chaining those ratios backward from the last close.

Leakage note: backward adjustment scales *levels* of the past by events that
happen later, so adjusted levels at t change when a later event arrives;
*returns* (ratios of adjusted prices) do not. ``how="forward"`` keeps the
first price raw and scales later prices instead, so levels at t use only
events up to t (point-in-time). Use adjusted prices for returns and
return-based features; use raw prices for anything that needs the traded
price level (lot sizes, tick sizes, price bands).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.data.parsing import parse_dates
from alphalab.errors import DataError

__all__ = [
    "adjust_from_factors",
    "adjust_from_preclose",
    "adjust_from_reference",
    "adjustment_factors_from_reference",
    "apply_factors",
]

PRICE_FIELDS = ("open", "high", "low", "close", "preclose")


def _prev_valid(x: np.ndarray) -> np.ndarray:
    """The last non-NaN value strictly above each cell, shape as ``x``."""
    n_d, _ = x.shape
    idx = np.where(~np.isnan(x), np.arange(n_d)[:, None], -1)
    np.maximum.accumulate(idx, axis=0, out=idx)
    prev = np.vstack([np.full((1, x.shape[1]), -1), idx[:-1]])
    out = np.take_along_axis(x, np.clip(prev, 0, None), axis=0)
    out[prev < 0] = np.nan
    return out


def _backward_cumulative(event: np.ndarray) -> np.ndarray:
    """``out[t] = prod(event[s] for s > t)``, shape ``(n_dates, n_assets)``.

    ``event[s]`` is the factor by which prices before date s must be scaled.
    """
    with np.errstate(over="ignore"):
        suffix = np.cumprod(event[::-1], axis=0)[::-1]  # product over s >= t
    out = np.ones_like(suffix)
    out[:-1] = suffix[1:]
    return out


def _cumulative(event: np.ndarray, how: str) -> np.ndarray:
    """Cumulative price factor from per-date event factors, shape ``(n_dates, n_assets)``.

    ``backward``: prices before each event scaled by it (last price = raw).
    ``forward``: prices on and after each event divided by it (first price =
    raw); uses only events up to each date, so levels are point-in-time.
    """
    if how == "backward":
        return _backward_cumulative(event)
    if how == "forward":
        # Absurd event chains (corrupt reference prices) overflow to inf / 0,
        # which the health report's band checks will already have flagged.
        with np.errstate(over="ignore", divide="ignore"):
            return 1.0 / np.cumprod(event, axis=0)
    raise DataError(f"how must be 'backward' or 'forward', got {how!r}")


def apply_factors(panel: Panel, factor: np.ndarray, *, adjusted: str = "adjusted") -> Panel:
    """Multiply price fields by ``factor`` and divide ``volume`` by it.

    Parameters
    ----------
    factor : numpy.ndarray, shape ``(n_dates, n_assets)``
        Cumulative backward factor (1 on and after the last event).

    Returns
    -------
    Panel
        Same axes; ``open, high, low, close, preclose`` scaled; ``volume``
        scaled inversely (shares before a 2:1 split count double); other
        fields unchanged; ``meta["adjusted"]`` set.
    """
    if factor.shape != panel.shape:
        raise DataError(f"factor has shape {factor.shape}, expected {panel.shape}")
    out: dict[str, np.ndarray] = {}
    for name in panel.field_names:
        arr = panel[name]
        if name in PRICE_FIELDS:
            out[name] = arr * factor
        elif name == "volume":
            out[name] = arr / factor
    return panel.with_fields(**out).with_meta(adjusted=adjusted)


def _events_frame(df: pd.DataFrame | None, value: str, what: str) -> pd.DataFrame:
    """``ticker, date, value`` checked row by row; errors name the first bad row.

    Missing, non-numeric or negative values, unparseable dates and repeated
    events (same ticker and date for splits, same ticker, date and amount for
    dividends, which may legitimately pay twice on one day) raise
    :class:`DataError`: applied twice, a repeated event would halve prices
    silently.
    """
    if df is None or len(df) == 0:
        return pd.DataFrame({"ticker": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
                             value: pd.Series(dtype=float)})
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in ("ticker", "date", value) if c not in df.columns]
    if missing:
        raise DataError(f"{what} table lacks column(s) {missing}; need ticker, date, {value}")
    out = df[["ticker", "date", value]].reset_index(drop=True)

    def first(mask: pd.Series, col: str) -> str:
        i = int(np.flatnonzero(mask.to_numpy())[0])
        return f"first {out[col].iloc[i]!r} for {str(out['ticker'].iloc[i])!r} (row {i})"

    if out["ticker"].isna().any():
        raise DataError(f"{what}: {int(out['ticker'].isna().sum())} row(s) have no ticker")
    out["ticker"] = out["ticker"].astype(str)
    dates = parse_dates(out["date"], f"{what}: date", required=True, who=out["ticker"])
    nums = pd.to_numeric(out[value], errors="coerce")
    if nums.isna().any():
        raise DataError(f"{what}: {value} missing or not a number in {int(nums.isna().sum())} row(s), "
                        f"{first(nums.isna(), value)}")
    if (nums < 0).any():
        raise DataError(f"{what}: {value} is negative in {int((nums < 0).sum())} row(s), {first(nums < 0, value)}")
    out["date"], out[value] = dates, nums.astype(float)
    keys = ["ticker", "date"] if what == "splits" else ["ticker", "date", value]
    dup = out.duplicated(keys)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            f"{what}: {int(dup.sum())} duplicated ({', '.join(keys)}) row(s), first "
            f"({out['ticker'].iloc[i]!r}, {out['date'].iloc[i].date()}); an event listed twice "
            "would be applied twice" + ("" if what == "splits" else "; sum real double payments into one row")
        )
    return out


def adjust_from_factors(
    panel: Panel,
    splits: pd.DataFrame | None = None,
    dividends: pd.DataFrame | None = None,
    *,
    how: str = "backward",
) -> Panel:
    """Backward-adjust raw prices for splits and cash dividends.

    Parameters
    ----------
    panel : Panel
        Raw prices: ``close`` required; ``open/high/low/preclose`` and
        ``volume`` adjusted when present.
    splits : pandas.DataFrame, optional
        ``ticker, date, ratio``: on ex-date ``date`` each share became
        ``ratio`` shares (2.0 for a 2-for-1 split, 0.1 for a 1-for-10
        reverse split). Prices before ``date`` are divided by ``ratio``.
    dividends : pandas.DataFrame, optional
        ``ticker, date, amount``: cash per share going ex on ``date``. Prices
        before ``date`` are multiplied by ``1 - amount / close_prev`` where
        ``close_prev`` is the last close before ``date`` (the CRSP-style
        total-return factor).
    how : {"backward", "forward"}
        ``backward`` (default) keeps the last price raw; ``forward`` keeps the
        first price raw and uses only events up to each date (point-in-time
        levels, same returns).

    Returns
    -------
    Panel
        ``meta["adjusted"] = "adjusted"`` (``"split_only"`` when no dividends
        were given). ``close[t] / close[t_prev] - 1`` is the return against
        the ex-rights reference price ``(close_prev - dividend) / ratio``,
        the convention of Yahoo's adjusted close and CRSP.

    Raises
    ------
    DataError
        Unknown tickers, ex-dates outside the panel's range, non-positive
        ratios, or a dividend at least as large as the previous close.
    """
    panel.require("close")
    close = panel["close"]
    prev = _prev_valid(close)
    event = np.ones(panel.shape)
    col_of = {t: j for j, t in enumerate(panel.assets)}

    def locate(frame: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
        unknown = sorted(set(frame["ticker"]) - set(col_of))
        if unknown:
            raise DataError(f"{what}: ticker(s) not in the panel: {unknown[:10]}")
        rows = panel.dates.searchsorted(frame["date"].to_numpy(), side="left")
        outside = rows >= panel.n_dates
        if outside.any():
            first = frame.loc[outside].iloc[0]
            raise DataError(
                f"{what}: ex-date {pd.Timestamp(first['date']).date()} for {first['ticker']} "
                f"is after the panel's last date"
            )
        # An ex-date on a non-trading day applies from the next session.
        return rows, frame["ticker"].map(col_of).to_numpy(dtype=np.int64)

    spl = _events_frame(splits, "ratio", "splits")
    if len(spl):
        if not (spl["ratio"] > 0).all():
            raise DataError("splits: every ratio must be positive (2.0 = 2-for-1)")
        r, c = locate(spl, "splits")
        np.multiply.at(event, (r, c), 1.0 / spl["ratio"].to_numpy())
    div = _events_frame(dividends, "amount", "dividends")
    if len(div):
        r, c = locate(div, "dividends")
        base = prev[r, c]
        # Splits on the same ex-date: the previous close is on the pre-split basis.
        amount = div["amount"].to_numpy()
        if np.isnan(base).any():
            bad = div.iloc[int(np.flatnonzero(np.isnan(base))[0])]
            raise DataError(f"dividends: no close before ex-date {bad['date'].date()} for {bad['ticker']}")
        ratio = 1.0 - amount / base
        if (ratio <= 0).any():
            bad = div.iloc[int(np.flatnonzero(ratio <= 0)[0])]
            raise DataError(
                f"dividends: {bad['ticker']} pays {bad['amount']} on {bad['date'].date()}, "
                "at least the previous close"
            )
        np.multiply.at(event, (r, c), ratio)
    factor = _cumulative(event, how)
    state = "adjusted" if len(div) else "split_only"
    return apply_factors(panel, factor, adjusted=state)


def adjustment_factors_from_reference(panel: Panel, reference: str = "preclose") -> np.ndarray:
    """Per-date event factors implied by an ex-rights reference price.

    ``event[t] = reference[t] / close_prev`` where ``close_prev`` is the last
    close before t: 1 on ordinary days, below 1 on ex-dates (a 10-for-10 bonus
    issue gives 0.5). Shape ``(n_dates, n_assets)``; 1 where undefined.
    """
    panel.require("close", reference)
    ref = panel[reference]
    prev = _prev_valid(panel["close"])
    with np.errstate(divide="ignore", invalid="ignore"):
        event = ref / prev
    bad = ~np.isfinite(event) | (event <= 0)
    event[bad] = 1.0
    # Sub-tick rounding of the reference price is not a corporate action.
    event[np.abs(event - 1.0) < 1e-6] = 1.0
    return event


def adjust_from_reference(panel: Panel, reference: str = "preclose", *, how: str = "backward") -> Panel:
    """Backward-adjusted prices from an exchange reference price.

    Parameters
    ----------
    panel : Panel
        Raw ``close`` and the reference field (``preclose`` for baostock CN
        data, the reference price for TW). Both of shape ``(n_dates, n_assets)``.
    reference : str
        Name of the reference field.
    how : {"backward", "forward"}
        See :func:`adjust_from_factors`.

    Returns
    -------
    Panel
        Prices scaled so that ``adj_close[t] / adj_close[t_prev] ==
        close[t] / reference[t]``; the last (backward) or first (forward)
        close of each ticker is unchanged.
    """
    event = adjustment_factors_from_reference(panel, reference)
    return apply_factors(panel, _cumulative(event, how), adjusted="adjusted")


def adjust_from_preclose(panel: Panel, *, how: str = "backward") -> Panel:
    """:func:`adjust_from_reference` with baostock's ``preclose`` (CN)."""
    return adjust_from_reference(panel, "preclose", how=how)
