"""Data-health report: the oddities a dataset holds, found before they mislead a study.

:func:`check_health` runs every check on a price :class:`Panel` (or long
frame) and, optionally, a fundamentals table, and returns a
:class:`HealthReport`: one row per issue (``kind, severity, ticker, date,
value, detail``) plus summary counts. ``alphalab data check NAME`` prints it;
study reports embed :meth:`HealthReport.to_html_fragment`.

Checks and their kinds (severity in brackets):

* calendar: ``off_calendar`` [warning] dates that are not sessions,
  ``missing_session`` [warning] sessions with no data at all, ``gap``
  [warning] sessions missing inside a ticker's listed span (one issue per
  ticker, ``value`` = count);
* one-day moves, measured against the previous close (or the exchange's
  ex-rights reference ``preclose`` when present): ``bad_print`` [error] a
  spike fully reversed the next day; ``band_breach`` [warning] beyond the
  market's daily limit x 1.05; where a market has no limit (US), moves beyond
  ``big_move`` (35%) are ``suspect_drop`` [warning] (unadjusted split,
  spin-off or special dividend, or a real crash) or ``large_move`` [info];
  moves in a ticker's first five sessions are ``listing_move`` [info];
* ``ohlc_inconsistent`` and ``nonpositive_price`` [error]; ``invalid_row``
  [error] rows the store's import validation dropped (listed from the catalogue);
* ``stale_price`` [warning] runs of unchanged closes on days that traded,
  ``zero_volume`` [warning] runs of zero volume, ``suspended`` [info] runs of
  ``tradestatus == 0``;
* ``no_prices`` [error] no close anywhere in the data, [warning] a ticker
  without a single close;
* ``late_listing`` / ``ends_early`` [info], ``survivorship`` [info] when no
  ticker ends before the data does;
* fundamentals: ``zero_size`` [warning] zero or negative market caps / share
  counts, ``extreme_value`` [warning] |P/E| > 1000, P/B > 100, growth rates
  beyond +-100x, ``duplicate_report`` [error], ``announced_before_period_end``
  [error], ``bad_key`` [error] rows without a ticker or with a missing or
  unreadable ``period_end`` / ``report_date``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.calendars import trading_calendar
from alphalab.data.panel import Panel
from alphalab.errors import DataError, MarketRuleError

__all__ = ["HealthReport", "check_dataset", "check_fundamentals", "check_health"]

ISSUE_COLUMNS = ("kind", "severity", "ticker", "date", "value", "detail")
SEVERITIES = ("error", "warning", "info")
_LISTING_SESSIONS = 5


@dataclass(frozen=True)
class HealthReport:
    """The findings of :func:`check_health`.

    Attributes
    ----------
    name : str
        The dataset checked.
    market : str or None
    calendar : str
        Which calendar the gap checks used.
    issues : pandas.DataFrame
        Columns ``kind, severity, ticker, date, value, detail``; sorted by
        severity, kind, ticker, date.
    stats : dict
        Shape and coverage figures (``n_dates``, ``n_assets``, ``n_rows`` ...).
    """

    name: str
    market: str | None
    calendar: str
    issues: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Issues per kind."""
        return {str(k): int(v) for k, v in self.issues["kind"].value_counts().sort_index().items()}

    @property
    def ok(self) -> bool:
        """No error-level issue (bad prints, OHLC breaks, bad fundamentals keys)."""
        return not (self.issues["severity"] == "error").any()

    @property
    def status(self) -> str:
        """``pass`` (no error or warning), ``flagged`` (warnings only) or ``errors``."""
        sev = set(self.issues["severity"])
        if "error" in sev:
            return "errors"
        return "flagged" if "warning" in sev else "pass"

    def of_kind(self, kind: str) -> pd.DataFrame:
        return self.issues[self.issues["kind"] == kind].reset_index(drop=True)

    def summary(self) -> str:
        if "n_reports" in self.stats:
            shape = f"{self.stats['n_reports']} reports of {self.stats['n_tickers']} tickers"
        else:
            shape = (
                f"{self.stats.get('n_dates', 0)} dates x {self.stats.get('n_assets', 0)} assets, "
                f"market {self.market or 'unknown'}, calendar {self.calendar}"
            )
        lines = [f"{self.name}: {self.status} ({shape})"]
        by = self.issues.groupby(["severity", "kind"], sort=False).size()
        for sev in SEVERITIES:
            for (s, kind), n in by.items():
                if s == sev:
                    lines.append(f"  {sev:<7} {kind:<28} {n}")
        return "\n".join(lines)

    def to_dict(self, max_issues: int | None = None) -> dict[str, Any]:
        issues = self.issues if max_issues is None else self.issues.head(max_issues)
        recs = []
        for row in issues.itertuples(index=False):
            rec = dict(zip(ISSUE_COLUMNS, row, strict=True))
            rec["date"] = None if pd.isna(rec["date"]) else str(pd.Timestamp(rec["date"]).date())
            rec["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
            rec["ticker"] = None if pd.isna(rec["ticker"]) else str(rec["ticker"])
            recs.append(rec)
        return {
            "name": self.name,
            "market": self.market,
            "calendar": self.calendar,
            "status": self.status,
            "stats": self.stats,
            "counts": self.counts,
            "n_issues": len(self.issues),
            "issues": recs,
        }

    def to_json(self, max_issues: int | None = None) -> str:
        return json.dumps(self.to_dict(max_issues), indent=1, default=str)

    def to_html_fragment(self, max_rows: int = 200) -> str:
        """A self-contained ``<section>`` for reports (inline styles, no scripts)."""
        esc = html.escape
        colour = {"error": "#b00020", "warning": "#b26a00", "info": "#555"}
        status_colour = {"errors": colour["error"], "flagged": colour["warning"], "pass": "#2e7d32"}
        by = self.issues.groupby(["severity", "kind"], sort=False).size()
        rows = "".join(
            f"<tr><td style='color:{colour[s]}'>{esc(s)}</td><td>{esc(k)}</td><td>{n}</td></tr>"
            for sev in SEVERITIES
            for (s, k), n in by.items()
            if s == sev
        )
        shown = self.issues[self.issues["severity"] != "info"].head(max_rows)
        detail = "".join(
            "<tr>"
            + "".join(
                f"<td>{esc('' if pd.isna(v) else (str(pd.Timestamp(v).date()) if c == 'date' else str(v)))}</td>"
                for c, v in zip(ISSUE_COLUMNS, r, strict=True)
            )
            + "</tr>"
            for r in shown.itertuples(index=False)
        )
        head = "".join(f"<th>{c}</th>" for c in ISSUE_COLUMNS)
        return (
            "<section class='data-health'>"
            f"<h2>Data health: {esc(self.name)} "
            f"<span style='color:{status_colour[self.status]}'>"
            f"{esc(self.status)}</span></h2>"
            f"<p>{self.stats.get('n_dates', 0)} dates x {self.stats.get('n_assets', 0)} assets; "
            f"market {esc(str(self.market))}; calendar {esc(self.calendar)}.</p>"
            f"<table><tr><th>severity</th><th>kind</th><th>count</th></tr>{rows}</table>"
            f"<details><summary>first {len(shown)} errors and warnings</summary>"
            f"<table><tr>{head}</tr>{detail}</table></details></section>"
        )


class _Issues:
    """Collects issues as column arrays (one append per check, not per row)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(
        self, kind: str, severity: str, tickers: Any, dates: Any, values: Any, detail: Any
    ) -> None:
        seqs = [len(x) for x in (tickers, dates, values, detail) if _is_seq(x)]
        n = seqs[0] if seqs else 1
        if n == 0:
            return

        def col(x: Any) -> Any:
            # Positional arrays only: a boolean-masked Series keeps its index.
            return np.asarray(x, dtype=object) if _is_seq(x) else [x] * n

        self.parts.append(
            pd.DataFrame(
                {
                    "kind": [kind] * n,
                    "severity": [severity] * n,
                    "ticker": pd.array(col(tickers), dtype=object),
                    "date": pd.to_datetime(pd.Series(col(dates), dtype=object)),
                    "value": pd.to_numeric(pd.Series(col(values), dtype=object), errors="coerce"),
                    "detail": col(detail),
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS}).astype(
                {"date": "datetime64[ns]", "value": "float64"}
            )
        out = pd.concat(self.parts, ignore_index=True)
        rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
        out = out.assign(_r=rank).sort_values(["_r", "kind", "ticker", "date"], kind="stable")
        return out.drop(columns="_r").reset_index(drop=True)


# ------------------------------------------------------------------ helpers
def _is_seq(x: Any) -> bool:
    return isinstance(x, list | tuple | np.ndarray | pd.Index | pd.Series)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True down each column of ``mask`` ``(n_dates, n_assets)``.

    Returns ``(start_row, column, length)``, each of shape ``(n_runs,)``.
    """
    n_d, n_a = mask.shape
    padded = np.zeros((n_a, n_d + 2), dtype=np.int8)
    padded[:, 1:-1] = mask.T
    d = np.diff(padded, axis=1)
    starts = np.argwhere(d == 1)
    ends = np.argwhere(d == -1)
    return starts[:, 1], starts[:, 0], ends[:, 1] - starts[:, 1]


def _ffill_prev(x: np.ndarray) -> np.ndarray:
    """For each cell, the last non-NaN value strictly above it in its column."""
    n_d, n_a = x.shape
    valid = ~np.isnan(x)
    idx = np.where(valid, np.arange(n_d)[:, None], -1)
    np.maximum.accumulate(idx, axis=0, out=idx)
    prev_idx = np.vstack([np.full((1, n_a), -1), idx[:-1]])
    out = np.take_along_axis(x, np.clip(prev_idx, 0, None), axis=0)
    out[prev_idx < 0] = np.nan
    return out


def _next_valid(x: np.ndarray) -> np.ndarray:
    """For each cell, the first non-NaN value strictly below it in its column."""
    return _ffill_prev(x[::-1])[::-1]


def _bands(market: str | None, panel: Panel) -> np.ndarray:
    """Daily limit fractions ``(n_dates, n_assets)``; inf where none or unknown."""
    if market is None:
        return np.full(panel.shape, np.inf)
    from alphalab.markets import resolve_rules

    st = panel["isST"] if "isST" in panel else None
    try:
        return np.asarray(
            resolve_rules(market, panel.dates, panel.assets, st=st).band, dtype=np.float64
        )
    except MarketRuleError:
        # Tickers the rule table cannot place (e.g. indices in a CN file): no band.
        out = np.full(panel.shape, np.inf)
        for j, t in enumerate(panel.assets):
            try:
                sub = resolve_rules(market, panel.dates, [t], st=None if st is None else st[:, [j]])
                out[:, j] = sub.band[:, 0]
            except MarketRuleError:
                continue
        return out


def _as_panel(data: Panel | pd.DataFrame) -> Panel:
    if isinstance(data, Panel):
        return data
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"check_health needs a Panel or a long DataFrame, got {type(data).__name__}"
        )
    return Panel.from_long(data)


# ------------------------------------------------------------------- checks
def check_health(
    data: Panel | pd.DataFrame,
    *,
    market: str | None = None,
    name: str | None = None,
    fundamentals: pd.DataFrame | None = None,
    big_move: float = 0.35,
    spike: float = 0.20,
    stale_days: int = 5,
    zero_volume_days: int = 5,
    tick: float = 0.01,
    dropped: pd.DataFrame | None = None,
) -> HealthReport:
    """Check a price panel (and optionally its fundamentals) for oddities.

    Parameters
    ----------
    data : Panel or pandas.DataFrame
        Fields of shape ``(n_dates, n_assets)``; ``close`` is required,
        ``open/high/low``, ``volume``, ``preclose``, ``tradestatus`` and
        ``isST`` are used when present. A long frame is converted with
        :meth:`Panel.from_long`.
    market : str, optional
        Markets code; default ``data.meta["market"]``. Sets the calendar and
        the daily price limits.
    name : str, optional
        Label in the report; default ``meta["dataset"]`` or ``meta["source"]``.
    fundamentals : pandas.DataFrame, optional
        A quarterly table checked with :func:`check_fundamentals`.
    big_move : float
        One-day |return| flagged where the market has no daily limit.
    spike : float
        Minimum |return| of a bad-print candidate where there is no limit;
        where there is one, the limit x 1.05 is used.
    stale_days, zero_volume_days : int
        Shortest run reported.
    tick : float
        Price tick added to the limit (relative to the reference price) so
        that limit moves rounded to the tick are not flagged.
    dropped : pandas.DataFrame, optional
        Rows removed by validation before ``data`` was built (``ticker,
        date, rules, close``): each becomes an ``invalid_row`` error, and
        their dates do not count as gaps.
    """
    panel = _as_panel(data)
    panel.require("close")
    market = market if market is not None else panel.meta.get("market")
    if market is not None:
        from alphalab.markets import get_market

        get_market(market)  # a typo must not silently switch the limit checks off
    name = name or str(panel.meta.get("dataset") or panel.meta.get("source") or "data")
    n_d, n_a = panel.shape
    dates, assets = panel.dates, panel.assets
    close = panel["close"]
    has = ~np.isnan(close)
    iss = _Issues()
    tick_names = np.asarray(assets, dtype=object)
    d_rows = d_cols = np.empty(0, dtype=np.int64)
    d_close = np.empty(0)
    if dropped is not None and len(dropped):
        d_rows = dates.get_indexer(pd.to_datetime(dropped["date"]))
        d_cols = assets.get_indexer(dropped["ticker"].astype(str))
        d_close = pd.to_numeric(dropped["close"], errors="coerce").to_numpy(dtype=np.float64)
        inside_panel = (d_rows >= 0) & (d_cols >= 0)
        d_rows, d_cols, d_close = d_rows[inside_panel], d_cols[inside_panel], d_close[inside_panel]

    # ---- listing span and calendar
    any_row = has.any(axis=0)
    first = np.where(any_row, has.argmax(axis=0), n_d)
    last = np.where(any_row, n_d - 1 - has[::-1].argmax(axis=0), -1)
    calendar = "none"
    if n_d:
        cal = trading_calendar(market, dates[0], dates[-1], data_dates=dates)
        calendar = cal.source
        sessions = cal.sessions
        off = dates.difference(sessions)
        iss.add(
            "off_calendar", "warning", None, off, np.nan, f"date is not a session of {cal.source}"
        )
        missing = sessions.difference(dates)
        iss.add("missing_session", "warning", None, missing, np.nan, "no data on this session")
        on_cal = dates.isin(sessions)
        rows = np.arange(n_d)[:, None]
        inside = (rows >= first[None, :]) & (rows <= last[None, :]) & on_cal[:, None]
        gap = inside & ~has
        gap[d_rows, d_cols] = False  # dropped at import: reported as invalid_row
        n_gap = gap.sum(axis=0)
        cols = np.flatnonzero(n_gap)
        iss.add(
            "gap",
            "warning",
            tick_names[cols],
            dates[gap[:, cols].argmax(axis=0)],
            n_gap[cols],
            "sessions without a row inside the listed span; date = first",
        )

    if dropped is not None and len(dropped):
        iss.add(
            "invalid_row",
            "error",
            dropped["ticker"].astype(str).to_numpy(),
            pd.to_datetime(dropped["date"]).to_numpy(),
            pd.to_numeric(dropped["close"]).to_numpy(),
            [f"dropped by validation: {r}" for r in dropped["rules"]],
        )

    # ---- one-day moves
    # Judged with the closes that validation dropped put back: a dropped bad
    # print is still a bad print, and the next day's move is its reversal.
    mclose = close
    good = np.isfinite(d_close) & (d_close > 0)
    if good.any():
        mclose = close.copy()
        mclose[d_rows[good], d_cols[good]] = d_close[good]
    mhas = ~np.isnan(mclose)
    prev = _ffill_prev(mclose)
    ref = prev
    if "preclose" in panel:
        pc = panel["preclose"]
        ref = np.where(np.isnan(pc) | (pc <= 0), prev, pc)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = mclose / ref - 1.0
        nxt = _next_valid(mclose)
        two_day = nxt / prev - 1.0
    band = _bands(market, panel)
    banded = np.isfinite(band)
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(banded, band * 1.05 + tick / ref, big_move)
    # A bad-print candidate must beat both the limit and ``spike``: on banded
    # markets, limit-up / limit-down days that reverse are common and real.
    spike_thr = np.where(banded, np.maximum(limit, spike), spike)
    absr = np.abs(ret)
    obs_no = np.cumsum(mhas, axis=0)  # 1 on a ticker's first row
    # Only tickers that list inside the data have a "first sessions" (IPO) window.
    early = (obs_no <= _LISTING_SESSIONS) & (first > 0)[None, :]
    reversed_ = (np.abs(two_day) < 0.25 * absr) & ~early
    bad = (absr > spike_thr) & reversed_
    # The reversal leg of a bad print is the next valid row of that ticker.
    bad_next = np.zeros_like(bad)
    if bad.any():
        idx_next = np.where(mhas, np.arange(n_d)[:, None], n_d)
        idx_next = np.minimum.accumulate(idx_next[::-1], axis=0)[::-1]
        r_b, c_b = np.nonzero(bad)
        nr = np.where(r_b + 1 < n_d, idx_next[np.minimum(r_b + 1, n_d - 1), c_b], n_d)
        ok = nr < n_d
        bad_next[nr[ok], c_b[ok]] = True
    move = (absr > limit) & ~bad & ~bad_next
    r, c = np.nonzero(bad)
    iss.add(
        "bad_print",
        "error",
        tick_names[c],
        dates[r],
        ret[r, c],
        [
            f"close {mclose[i, j]:.4g} after {prev[i, j]:.4g}, back to {nxt[i, j]:.4g} next day"
            for i, j in zip(r, c, strict=True)
        ],
    )
    r, c = np.nonzero(move & early)
    iss.add(
        "listing_move",
        "info",
        tick_names[c],
        dates[r],
        ret[r, c],
        "move in the first sessions after listing",
    )
    rest = move & ~early
    r, c = np.nonzero(rest & banded)
    iss.add(
        "band_breach",
        "warning",
        tick_names[c],
        dates[r],
        ret[r, c],
        [
            f"beyond the {band[i, j]:.0%} daily limit: corporate action or bad data"
            for i, j in zip(r, c, strict=True)
        ],
    )
    r, c = np.nonzero(rest & ~banded & (ret < 0))
    iss.add(
        "suspect_drop",
        "warning",
        tick_names[c],
        dates[r],
        ret[r, c],
        f"one-day drop beyond {big_move:.0%}, not reversed: unadjusted split, spin-off or special dividend, or a real crash",
    )
    r, c = np.nonzero(rest & ~banded & (ret > 0))
    iss.add(
        "large_move",
        "info",
        tick_names[c],
        dates[r],
        ret[r, c],
        f"one-day rise beyond {big_move:.0%}",
    )

    # ---- OHLC
    ohlc = [panel[f] if f in panel else None for f in ("open", "high", "low")]
    o, h, lo = ohlc
    prices = [x for x in (o, h, lo, close) if x is not None]
    nonpos = np.zeros(panel.shape, dtype=bool)
    for x in prices:
        nonpos |= x <= 0
    r, c = np.nonzero(nonpos)
    iss.add(
        "nonpositive_price",
        "error",
        tick_names[c],
        dates[r],
        close[r, c],
        "a price is zero or negative",
    )
    if h is not None and lo is not None:
        with np.errstate(invalid="ignore"):
            top = np.fmax(np.fmax(close, lo), o if o is not None else close)
            bottom = np.fmin(np.fmin(close, h), o if o is not None else close)
            broken = (h < top * (1 - 1e-9)) | (lo > bottom * (1 + 1e-9))
        r, c = np.nonzero(broken)
        iss.add(
            "ohlc_inconsistent",
            "error",
            tick_names[c],
            dates[r],
            close[r, c],
            "high below open/close/low or low above open/close/high",
        )

    # ---- stale prices, zero volume, suspensions
    suspended = np.zeros(panel.shape, dtype=bool)
    if "tradestatus" in panel:
        suspended = np.nan_to_num(panel["tradestatus"], nan=1.0) == 0
        s0, sc, sl = _runs(suspended)
        iss.add("suspended", "info", tick_names[sc], dates[s0], sl, "tradestatus 0 (suspended)")
    vol = panel["volume"] if "volume" in panel else None
    traded = ~suspended & (vol != 0 if vol is not None else True)
    same = np.zeros(panel.shape, dtype=bool)
    same[1:] = (close[1:] == close[:-1]) & traded[1:]

    def add_runs(kind: str, mask: np.ndarray, shortest: int, detail: str) -> None:
        s0, sc, sl = _runs(mask)
        keep = sl >= shortest
        iss.add(kind, "warning", tick_names[sc[keep]], dates[s0[keep]], sl[keep], detail)

    add_runs("stale_price", same, stale_days, "close unchanged on consecutive trading days")
    if vol is not None:
        add_runs("zero_volume", (vol == 0) & ~suspended, zero_volume_days,
                 "consecutive rows with zero volume")

    # ---- tickers (or a whole panel) without a single price
    if not has.any():
        iss.add(
            "no_prices", "error", None, dates[0] if n_d else pd.NaT, n_a,
            f"no close at all ({n_d} dates x {n_a} tickers): nothing to study",
        )
    else:
        empty = np.flatnonzero(~any_row)
        iss.add("no_prices", "warning", tick_names[empty], pd.NaT, np.nan, "no close on any date")

    # ---- listings
    if n_d:
        late = np.flatnonzero(any_row & (first > 0))
        iss.add(
            "late_listing",
            "info",
            tick_names[late],
            dates[first[late]],
            np.nan,
            "first row after the data starts",
        )
        ends = np.flatnonzero(any_row & (last < n_d - 1))
        iss.add(
            "ends_early",
            "info",
            tick_names[ends],
            dates[last[ends]],
            np.nan,
            "last row before the data ends (delisting, suspension or rename)",
        )
        if n_a >= 20 and len(ends) == 0:
            iss.add(
                "survivorship",
                "info",
                None,
                dates[-1],
                n_a,
                "no ticker ends before the data does: the universe is likely survivors only",
            )

    stats: dict[str, Any] = {
        "n_dates": n_d,
        "n_assets": n_a,
        "n_rows": int(has.sum()),
        "start": str(dates[0].date()) if n_d else None,
        "end": str(dates[-1].date()) if n_d else None,
        "fields": panel.field_names,
    }
    issues = iss.frame()
    report = HealthReport(name, market, calendar, issues, stats)
    if fundamentals is not None:
        f = check_fundamentals(fundamentals, name=f"{name}:fundamentals")
        report = HealthReport(
            name, market, calendar, _merge(issues, f.issues), {**stats, "fundamentals": f.stats}
        )
    return report


def _merge(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    acc = _Issues()
    acc.parts = [x for x in (a, b) if len(x)]
    return acc.frame()


# Rules for known fundamentals columns: (regex on the column name, test, description)
_SIZE_COLS = re.compile(
    r"^(market_?cap(ital)?|mkt_?cap|total_?share|outstanding_?shares?|liqa_?share)$", re.I
)
_EXTREME_RULES: tuple[tuple[re.Pattern[str], Any, str], ...] = (
    (
        re.compile(r"^(pe|p_?e|pe_?ratio|pe_?ttm)$", re.I),
        lambda x: np.abs(x) > 1000,
        "|P/E| > 1000",
    ),
    (re.compile(r"^(pb|p_?b|pb_?ratio)$", re.I), lambda x: x > 100, "P/B > 100"),
    (re.compile(r"(growth|^yoy)", re.I), lambda x: np.abs(x) > 100, "growth beyond +-100x"),
)


def check_fundamentals(
    df: pd.DataFrame,
    *,
    name: str = "fundamentals",
    rules: Mapping[str, Any] | None = None,
) -> HealthReport:
    """Check a quarterly fundamentals table (``ticker, period_end, ...``).

    Parameters
    ----------
    df : pandas.DataFrame, shape ``(n_reports, n_columns)``
        One row per (ticker, period); ``report_date`` is checked when present.
    rules : mapping, optional
        Extra ``{column: predicate}`` where ``predicate(values) -> bool array``
        marks extreme values.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"fundamentals table {name!r} must be a pandas DataFrame, got {type(df).__name__}")
    for col in ("ticker", "period_end"):
        if col not in df.columns:
            raise DataError(f"fundamentals table {name!r} lacks column {col!r}")
    df = df.reset_index(drop=True)
    iss = _Issues()
    tick = df["ticker"].astype(str).to_numpy(dtype=object)
    # Rows whose keys are missing or not dates are errors of their own; the
    # other checks still run on the rest (a health check reports, never crashes).
    parsed = {}
    for col in ("ticker", "period_end", "report_date"):
        if col not in df.columns:
            continue
        raw = df[col]
        if col == "ticker":
            bad = raw.isna().to_numpy()
        else:
            parsed[col] = pd.DatetimeIndex(pd.to_datetime(raw, errors="coerce", format="mixed"))
            bad = np.asarray(parsed[col].isna()) & (raw.notna().to_numpy() | (col == "period_end"))
        rows = np.flatnonzero(bad)
        iss.add("bad_key", "error", tick[rows], pd.NaT, rows,
                [f"row {i}: {col} {raw.iloc[i]!r} is missing or not valid" for i in rows])
    pend = parsed["period_end"]
    dup = df.duplicated(["ticker", "period_end"], keep=False).to_numpy() & df["ticker"].notna().to_numpy()
    iss.add(
        "duplicate_report",
        "error",
        tick[dup],
        pend[dup],
        np.nan,
        "several rows for one (ticker, period_end)",
    )
    if "report_date" in df.columns:
        rd = parsed["report_date"]
        early = np.asarray(rd < pend)
        iss.add(
            "announced_before_period_end",
            "error",
            tick[early],
            pend[early],
            np.nan,
            "report_date earlier than period_end",
        )
    numeric = [
        c
        for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c]) and c not in ("fiscal_year", "fiscal_quarter")
    ]
    for col in numeric:
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if _SIZE_COLS.match(col):
            bad = x <= 0
            iss.add(
                "zero_size", "warning", tick[bad], pend[bad], x[bad], f"{col} is zero or negative"
            )
            continue
        for pattern, test, desc in _EXTREME_RULES:
            if pattern.search(col):
                with np.errstate(invalid="ignore"):
                    bad = np.asarray(test(x), dtype=bool) & ~np.isnan(x)
                iss.add("extreme_value", "warning", tick[bad], pend[bad], x[bad], f"{col}: {desc}")
                break
    for col, test in (rules or {}).items():
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.asarray(test(x), dtype=bool) & ~np.isnan(x)
        iss.add("extreme_value", "warning", tick[bad], pend[bad], x[bad], f"{col}: custom rule")
    stats = {
        "n_reports": len(df),
        "n_tickers": int(df["ticker"].nunique()),
        "has_report_date": "report_date" in df.columns,
    }
    return HealthReport(name, None, "none", iss.frame(), stats)


def check_dataset(
    store: Any,
    name: str,
    *,
    market: str | None = None,
    fundamentals: str | pd.DataFrame | None = None,
    **kwargs: Any,
) -> HealthReport:
    """Health report of a store dataset, including the rows its import dropped.

    Parameters
    ----------
    store : alphalab.data.store.Store
    name : str
        A prices or fundamentals dataset.
    market : str, optional
        Default: the catalogue's market.
    fundamentals : str or pandas.DataFrame, optional
        A fundamentals dataset name in the same store, or a table.
    **kwargs
        Thresholds passed to :func:`check_health`.
    """
    info = store.info(name)
    if info.kind == "fundamentals":
        return check_fundamentals(store.read_table(name), name=name)
    if info.kind != "prices":
        raise DataError(
            f"dataset {name!r} is a plain table; health checks need prices or fundamentals"
        )
    fund = store.read_table(fundamentals) if isinstance(fundamentals, str) else fundamentals
    dropped = pd.DataFrame(
        info.meta.get("dropped_rows") or [], columns=["ticker", "date", "rules", "close"]
    )
    return check_health(
        store.load(name),
        market=market or info.market,
        name=name,
        fundamentals=fund,
        dropped=dropped,
        **kwargs,
    )
