"""What a study does with the data-health findings: repair them, waive them, or let them count.

:func:`apply_data_policy` takes a :class:`~alphalab.data.health.HealthReport`
of a study's data and the study's ``data.repair`` / ``data.waive`` keys and
returns the repaired Panel plus a :class:`DataPolicy` outcome: how many cells
each repair changed, which checks were waived and why, and the error-severity
findings that remain. The verdict reads the remainder through
:func:`alphalab.validation.gates.with_data_health` (``gates.data_health``).

A repair masks the flagged bar: every price field of that (date, ticker)
becomes NaN, so no strategy can trade at, or learn from, the bad print (the
backtest treats a NaN price as an untradeable bar).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError

__all__ = ["HEALTH_CHECKS", "REPAIRS", "DataPolicy", "apply_data_policy", "check_policy_keys"]

#: Findings a study can repair by masking the flagged bar.
REPAIRS = ("bad_print", "nonpositive_price", "ohlc_inconsistent")
#: Every check of :mod:`alphalab.data.health` (the names ``data.waive`` accepts).
HEALTH_CHECKS = (
    "bad_print", "band_breach", "suspect_drop", "large_move", "listing_move",
    "ohlc_inconsistent", "nonpositive_price", "invalid_row", "stale_price", "zero_volume",
    "suspended", "no_prices", "late_listing", "ends_early", "survivorship", "off_calendar",
    "missing_session", "gap",
)  # fmt: skip
#: Fields a repair masks.
_PRICE_FIELDS = ("open", "high", "low", "close", "adj_close", "vwap", "preclose")


def check_policy_keys(repair: Sequence[str], waive: Mapping[str, str]) -> None:
    """:class:`ConfigError` for an unknown repair or check name, or a waiver without a reason."""
    unknown = [r for r in repair if r not in REPAIRS]
    if unknown:
        raise ConfigError(
            f"data.repair: unknown repair(s) {unknown}; repairs: {', '.join(REPAIRS)}"
        )
    dup = sorted({r for r in repair if list(repair).count(r) > 1})
    if dup:
        raise ConfigError(f"data.repair: listed twice: {', '.join(dup)}")
    for name, reason in waive.items():
        if name not in HEALTH_CHECKS:
            raise ConfigError(
                f"data.waive: unknown check {name!r}; checks: {', '.join(HEALTH_CHECKS)}"
            )
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise ConfigError(f"data.waive.{name}: give the reason for waiving it (a sentence)")
        if name in repair:
            raise ConfigError(f"data.waive.{name}: {name} is also repaired; choose one")


@dataclass(frozen=True)
class DataPolicy:
    """The outcome of :func:`apply_data_policy`.

    Attributes
    ----------
    repaired : dict[str, int]
        Check name -> findings repaired (bars masked).
    waived : dict[str, str]
        Check name -> the study's reason.
    waived_counts : dict[str, int]
        Check name -> findings the waiver covers.
    remaining : pandas.DataFrame
        Error-severity findings neither repaired nor waived (health issue columns).
    """

    repaired: dict[str, int] = field(default_factory=dict)
    waived: dict[str, str] = field(default_factory=dict)
    waived_counts: dict[str, int] = field(default_factory=dict)
    remaining: pd.DataFrame = field(default_factory=pd.DataFrame)

    def remaining_counts(self, before: Any = None, since: Any = None) -> dict[str, int]:
        """Remaining error findings by check, only those dated in ``[since, before)`` when
        given (the span a strategy trades; findings without a date always count)."""
        rem = self.remaining
        if rem.empty:
            return {}
        dates = pd.to_datetime(rem["date"])
        keep = pd.Series(True, index=rem.index)
        if before is not None:
            keep &= dates.isna() | (dates < pd.Timestamp(before))
        if since is not None:
            keep &= dates.isna() | (dates >= pd.Timestamp(since))
        rem = rem[keep]
        return {str(k): int(v) for k, v in rem.groupby("kind").size().items()}

    def to_dict(self, before: Any = None, since: Any = None) -> dict[str, Any]:
        return {
            "repaired": dict(self.repaired),
            "waived": {k: {"reason": r, "findings": self.waived_counts.get(k, 0)}
                       for k, r in self.waived.items()},
            "remaining_errors": self.remaining_counts(before, since),
        }  # fmt: skip


def apply_data_policy(
    panel: Panel,
    report: Any,
    *,
    repair: Sequence[str] = (),
    waive: Mapping[str, str] | None = None,
) -> tuple[Panel, DataPolicy]:
    """Repair and waive health findings; return the Panel the strategies see.

    Parameters
    ----------
    panel : Panel
        Fields ``(n_dates, n_assets)``.
    report : HealthReport
        Findings on ``panel`` (``issues`` with ``kind, severity, ticker, date``).
    repair : sequence of str
        Checks from :data:`REPAIRS` whose flagged bars are masked (price fields NaN).
    waive : dict[str, str], optional
        Check name -> reason; its findings no longer count against the verdict.

    Returns
    -------
    (Panel, DataPolicy)
    """
    waive = dict(waive or {})
    check_policy_keys(list(repair), waive)
    issues = report.issues
    errors = issues[issues["severity"] == "error"]
    repaired: dict[str, int] = {}
    arrays = None
    date_pos = pd.Index(panel.dates)
    asset_pos = pd.Index(panel.assets.astype(str))
    for kind in repair:
        rows = errors[errors["kind"] == kind]
        if rows.empty:
            repaired[kind] = 0
            continue
        i = date_pos.get_indexer(pd.to_datetime(rows["date"]))
        j = asset_pos.get_indexer(rows["ticker"].astype(str))
        ok = (i >= 0) & (j >= 0)
        if arrays is None:
            arrays = {k: np.array(v, copy=True) for k, v in panel.fields.items()}
        for name in _PRICE_FIELDS:
            if name in arrays:
                arrays[name][i[ok], j[ok]] = np.nan
        repaired[kind] = int(ok.sum())
    if arrays is not None:
        panel = Panel(arrays, panel.dates, panel.assets, dict(panel.meta))
    handled = set(repair) | set(waive)
    waived_counts = {k: int((errors["kind"] == k).sum() + 0) for k in waive}
    remaining = errors[~errors["kind"].isin(handled)].reset_index(drop=True)
    return panel, DataPolicy(repaired, waive, waived_counts, remaining)
