"""Point-in-time fundamentals: quarterly tables joined to the daily panel as known then.

A report becomes usable on the first panel date strictly after its
availability date (conservative: an announcement may come after the close,
so it is traded on from the next session). The availability date is

* the announcement date (``report_date``) when the table has one, else
* ``period_end + lag_days`` (45 days) for quarters and
  ``period_end + annual_lag_days`` (90 days) for annual reports (fiscal Q4),
  with a :class:`FundamentalsLagWarning` naming the table.

On each date the value is taken from the newest period announced so far; a
restatement of that period (same ``period_end``, later availability) replaces
it from its own availability date on, while a late restatement of an *older*
period never overrides a newer period. Nothing on or before date t depends on
a report available after t.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.data.parsing import parse_dates
from alphalab.errors import DataError

__all__ = ["FundamentalsLagWarning", "availability_dates", "join_fundamentals"]


class FundamentalsLagWarning(UserWarning):
    """A fundamentals table has no announcement date; a declared lag is assumed."""


def _dates(table: pd.DataFrame, col: str, name: str) -> pd.Series:
    return parse_dates(table[col], f"fundamentals table {name!r}: {col}", who=table.get("ticker"))


def _is_annual(table: pd.DataFrame) -> np.ndarray:
    if "fiscal_quarter" in table.columns:
        return (pd.to_numeric(table["fiscal_quarter"], errors="coerce") == 4).to_numpy()
    return (pd.to_datetime(table["period_end"]).dt.month == 12).to_numpy()


def availability_dates(
    table: pd.DataFrame,
    *,
    date_col: str | None = "auto",
    lag_days: int = 45,
    annual_lag_days: int = 90,
    name: str = "fundamentals",
) -> pd.Series:
    """When each report became public, shape ``(n_reports,)`` datetime64.

    Parameters
    ----------
    table : pandas.DataFrame
        ``ticker, period_end`` and optionally the announcement column.
    date_col : str, None or "auto"
        Announcement-date column; ``"auto"`` uses ``report_date`` when
        present; None always uses the lag.
    lag_days, annual_lag_days : int
        Days after ``period_end`` assumed when there is no announcement date
        (annual = fiscal Q4, or a December period end without
        ``fiscal_quarter``).
    name : str
        The table's name, used in the warning.
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"fundamentals table {name!r} must be a pandas DataFrame, got {type(table).__name__}")
    if "period_end" not in table.columns:
        raise DataError(f"fundamentals table {name!r} lacks column 'period_end'")
    if lag_days < 0 or annual_lag_days < 0:
        raise DataError("lag_days and annual_lag_days must be >= 0")
    pend = _dates(table, "period_end", name)
    if pend.isna().any():
        i = int(np.flatnonzero(pend.isna().to_numpy())[0])
        raise DataError(
            f"fundamentals table {name!r}: {int(pend.isna().sum())} row(s) have no period_end, "
            f"first row {i}; a report without its period can not be placed in time"
        )
    if date_col == "auto":
        date_col = "report_date" if "report_date" in table.columns else None
    if date_col is not None and date_col not in table.columns:
        raise DataError(f"fundamentals table {name!r} has no column {date_col!r}")
    announced = (
        _dates(table, date_col, name) if date_col is not None
        else pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
    )
    lag = np.where(_is_annual(table.assign(period_end=pend)), annual_lag_days, lag_days)
    lagged = pend + pd.to_timedelta(lag, unit="D")
    missing = announced.isna()
    if missing.any():
        what = "has no announcement date" if date_col is None else (
            f"lacks {date_col} on {int(missing.sum())} of {len(table)} rows"
        )
        warnings.warn(
            f"fundamentals table {name!r} {what}: those reports join at period_end + "
            f"{lag_days} days ({annual_lag_days} for annual reports)",
            FundamentalsLagWarning,
            stacklevel=3,
        )
    early = (~missing) & (announced < pend)
    if early.any():
        i = int(np.flatnonzero(early.to_numpy())[0])
        raise DataError(
            f"fundamentals table {name!r}: {date_col} {pd.Timestamp(announced.iloc[i]).date()} "
            f"is before period_end {pd.Timestamp(pend.iloc[i]).date()} for "
            f"{table['ticker'].iloc[i] if 'ticker' in table.columns else '?'} (row {i}; "
            f"{int(early.sum())} such row(s))"
        )
    return announced.where(~missing, lagged).rename("available")


def join_fundamentals(
    panel: Panel,
    table: pd.DataFrame,
    *,
    fields: Sequence[str] | None = None,
    date_col: str | None = "auto",
    lag_days: int = 45,
    annual_lag_days: int = 90,
    name: str | None = None,
    prefix: str = "",
    max_age_days: int | None = None,
    same_day: bool = False,
) -> Panel:
    """Add fundamentals fields to ``panel`` as of the date they were known.

    Parameters
    ----------
    panel : Panel
        Daily data, ``(n_dates, n_assets)``.
    table : pandas.DataFrame, shape ``(n_reports, ...)``
        ``ticker, period_end`` and numeric fields; optionally ``report_date``.
    fields : sequence of str, optional
        Columns to join; default every numeric column except the keys.
    date_col, lag_days, annual_lag_days
        See :func:`availability_dates`.
    name : str, optional
        The table's name for warnings and ``meta``.
    prefix : str
        Prepended to each joined field name (e.g. ``"f_"``).
    max_age_days : int, optional
        Blank a value once its report is older than this (calendar days from
        availability), so a stock that stopped reporting does not carry an
        old figure forever.
    same_day : bool
        Use a report on its announcement date itself (only when announcements
        are known to come before the close). Default False: next session.

    Returns
    -------
    Panel
        ``panel`` plus one ``(n_dates, n_assets)`` float64 field per joined
        column; NaN before a ticker's first available report and for tickers
        absent from the table.

    Raises
    ------
    DataError
        Missing keys or fields, non-numeric fields, or a name collision.
    """
    name = name or "fundamentals"
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"fundamentals table {name!r} must be a pandas DataFrame, got {type(table).__name__}")
    for col in ("ticker", "period_end"):
        if col not in table.columns:
            raise DataError(f"fundamentals table {name!r} lacks column {col!r}")
    no_ticker = table["ticker"].isna()
    if no_ticker.any():
        raise DataError(
            f"fundamentals table {name!r}: {int(no_ticker.sum())} row(s) have no ticker, "
            f"first row {int(np.flatnonzero(no_ticker.to_numpy())[0])}"
        )
    if isinstance(fields, str):
        fields = [fields]
    if fields is not None and len(fields) == 0:
        raise DataError(f"fields=[] joins nothing from fundamentals table {name!r}; name a field or pass None")
    keys = {"ticker", "period_end", "report_date", "fiscal_year", "fiscal_quarter"}
    if date_col not in (None, "auto"):
        keys.add(str(date_col))
    if fields is None:
        fields = [c for c in table.columns if c not in keys and pd.api.types.is_numeric_dtype(table[c])]
    else:
        missing = [f for f in fields if f not in table.columns]
        if missing:
            raise DataError(f"fundamentals table {name!r} has no column(s) {missing}")
    clash = [prefix + f for f in fields if prefix + f in panel]
    if clash:
        raise DataError(f"joined fields {clash} already exist in the panel; pass prefix=")

    avail = availability_dates(table, date_col=date_col, lag_days=lag_days,
                               annual_lag_days=annual_lag_days, name=name)
    values: dict[str, np.ndarray] = {}
    for f in fields:
        try:
            values[f] = pd.to_numeric(table[f], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        except (ValueError, TypeError):
            raise DataError(f"fundamentals table {name!r}: field {f!r} is not numeric") from None
    t = pd.DataFrame({
        "ticker": table["ticker"].astype(str).to_numpy(),
        "period_end": _dates(table, "period_end", name).to_numpy(),
        "avail": avail.to_numpy(),
        "_row": np.arange(len(table)),
    })
    t = _drop_copies(t, values, name)
    col_of = pd.Series(np.arange(panel.n_assets), index=pd.Index(panel.assets))
    table_tickers = pd.unique(t["ticker"])
    matched = t["ticker"].isin(col_of.index)
    n_matched = int(pd.Series(table_tickers).isin(col_of.index).sum())
    if len(t) and n_matched == 0:
        warnings.warn(
            f"fundamentals table {name!r}: none of the {len(table_tickers)} tickers (e.g. "
            f"{table_tickers[0]!r}) is in the panel (e.g. {panel.assets[0] if panel.n_assets else None!r}); "
            "every joined value is NaN",
            UserWarning,
            stacklevel=2,
        )
    t = t[matched]
    t = t.sort_values(["ticker", "avail", "period_end"], kind="stable")
    # Skip late restatements of periods older than one already announced.
    newest = t.groupby("ticker")["period_end"].cummax()
    t = t[t["period_end"] >= newest]
    pos = panel.dates.searchsorted(t["avail"].to_numpy(), side="left" if same_day else "right")
    t = t.assign(pos=pos, col=col_of[t["ticker"]].to_numpy())
    t = t[t["pos"] < panel.n_dates].drop_duplicates(["col", "pos"], keep="last")

    n_d, n_a = panel.shape
    # Row numbers increase with availability inside each column, so a running
    # maximum down the dates is a forward fill of "latest report known".
    order = np.arange(len(t))
    idx = np.full((n_d, n_a), -1, dtype=np.int64)
    idx[t["pos"].to_numpy(), t["col"].to_numpy()] = order
    np.maximum.accumulate(idx, axis=0, out=idx)
    known = idx >= 0
    safe = np.where(known, idx, 0)
    if max_age_days is not None:
        age = panel.dates.to_numpy()[:, None] - t["avail"].to_numpy()[safe]
        known &= age <= np.timedelta64(int(max_age_days), "D")

    src_rows = t["_row"].to_numpy()
    arrays: dict[str, np.ndarray] = {}
    for f in fields:
        vals = values[f][src_rows] if len(src_rows) else np.empty(0)
        out = np.full((n_d, n_a), np.nan)
        if len(vals):
            out[known] = vals[safe[known]]
        arrays[prefix + f] = out
    meta: dict[str, Any] = dict(panel.meta.get("fundamentals", {}))
    meta[name] = {
        "fields": [prefix + f for f in fields],
        "date_col": "report_date" if date_col == "auto" and "report_date" in table.columns else date_col,
        "lag_days": lag_days, "annual_lag_days": annual_lag_days, "same_day": same_day,
        "n_tickers_matched": n_matched, "n_tickers_table": len(table_tickers),
    }
    return panel.with_fields(**arrays).with_meta(fundamentals=meta)


def _drop_copies(t: pd.DataFrame, values: dict[str, np.ndarray], name: str) -> pd.DataFrame:
    """Collapse exact copies of a report; refuse versions that disagree.

    Rows sharing ``(ticker, period_end, avail)`` are one report published
    once: identical copies are harmless, but differing values leave no way to
    tell which was public, so they raise :class:`DataError`.
    """
    keys = ["ticker", "period_end", "avail"]
    dup = t.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return t
    sub = t[dup].assign(**{f"_v{k}": v[dup] for k, v in enumerate(values.values())})
    variants = sub.drop_duplicates([c for c in sub.columns if c != "_row"]).groupby(keys).size()
    clash = variants[variants > 1]
    if len(clash):
        tick, pend, avail = clash.index[0]
        raise DataError(
            f"fundamentals table {name!r}: {len(clash)} report(s) appear more than once with values "
            f"that disagree, first ({tick!r}, {pd.Timestamp(pend).date()}) available "
            f"{pd.Timestamp(avail).date()}; keep one row per (ticker, period_end, report date)"
        )
    return t[~t.duplicated(keys, keep="first").to_numpy()]
