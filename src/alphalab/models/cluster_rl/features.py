"""Features of the cluster-RL recipe (R1): technicals, point-in-time fundamentals, flows.

Every array is ``(n_dates, n_assets)`` and causal: row ``t`` reads rows ``<= t`` only.

* ``technical``: the ``seed_ta`` set's 60-row rolling z-scores per stock
  (EMA 5/20/50, MACD 12/26/9 line/signal/difference, RSI 14, Bollinger 20/2,
  ATR 14, OBV, VWAP 14).
* ``fundamental``: quarterly ratios joined as of their availability date
  (:func:`alphalab.data.fundamentals.join_fundamentals`) and min-max scaled across
  stocks per day (:func:`alphalab.features.transforms.cs_minmax`).
* ``flow``: foreign / proprietary flow ratios from ``bu, sd, fs, fn`` when the
  panel has them; skipped with a warning when it does not.

The scaling of each group is configurable (``transforms``): the defaults above are
the founding study's; :data:`TRANSFORMS` lists the alternatives (all causal: a
cross-sectional transform reads one day, the rolling z-score trailing rows).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features.transforms import cs_minmax, cs_rank, cs_zscore, ts_zscore

__all__ = ["GROUPS", "RATIOS", "TRANSFORMS", "FlowsMissingWarning", "build_features", "check_transforms",
           "load_fundamentals"]

GROUPS = ("technical", "fundamental", "flow")

#: The founding study's ten quarterly ratios (valuation, profitability, leverage, liquidity).
RATIOS = (
    "pe", "pb", "ps", "p_to_cf", "ev_to_ebitda",
    "roe_pct", "roa_pct", "net_profit_margin_pct", "debt_to_equity", "current_ratio",
)  # fmt: skip

FLOWS = ("bu", "sd", "fs", "fn")

#: Scaling per group: the first is the default (the founding study's). ``zscore``: the
#: rolling z-score per stock; ``zscore_rank`` / ``zscore_cs``: that z-score then ranked in
#: ``[-1, 1]`` / z-scored across stocks per day; ``minmax``, ``rank``, ``cs_zscore``: across
#: stocks per day.
TRANSFORMS = {
    "technical": ("zscore", "zscore_rank", "zscore_cs"),
    "fundamental": ("minmax", "rank", "cs_zscore"),
    "flow": ("zscore", "zscore_rank", "zscore_cs"),
}


def check_transforms(transforms: Any) -> dict[str, str]:
    """``{group: transform}`` for every group, defaults filled in; ConfigError when unknown."""
    if transforms is None:
        transforms = {}
    if not isinstance(transforms, dict):
        raise ConfigError(f"cluster_rl: transforms must be a mapping of group to transform, got {transforms!r}")
    bad = [g for g in transforms if g not in TRANSFORMS]
    if bad:
        raise ConfigError(f"cluster_rl: transforms: unknown group(s) {bad}; known: {list(TRANSFORMS)}")
    out = {}
    for g, kinds in TRANSFORMS.items():
        v = transforms.get(g, kinds[0])
        if v not in kinds:
            raise ConfigError(f"cluster_rl: transforms.{g} must be one of {list(kinds)}, got {v!r}")
        out[g] = v
    return out


def _cross(x: np.ndarray, how: str) -> np.ndarray:
    """The per-day cross-sectional step of a transform (identity for ``zscore``)."""
    if how == "minmax":
        return cs_minmax(x)
    if how in ("zscore_rank", "rank"):
        return cs_rank(x, scale="pm1")
    if how in ("zscore_cs", "cs_zscore"):
        return cs_zscore(x)
    return x


class FlowsMissingWarning(UserWarning):
    """The panel has no foreign / proprietary flow fields; the flow group is skipped."""


_TABLES: dict[str, pd.DataFrame] = {}


def load_fundamentals(path: str | Path) -> pd.DataFrame:
    """Read a quarterly fundamentals table (Parquet or CSV), cached per resolved path.

    A relative path is tried against the working directory first, then against the
    repository's parent (where ``../shared/data`` lives).
    """
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        root = Path(__file__).resolve().parents[4]
        if (root / p).exists():
            p = root / p
    if not p.exists():
        raise DataError(f"cluster_rl: fundamentals file {str(path)!r} not found")
    key = str(p.resolve())
    if key not in _TABLES:
        table = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
        missing = {"ticker", "period_end"} - set(table.columns)
        if missing:
            raise DataError(f"cluster_rl: fundamentals file {str(path)!r} lacks {sorted(missing)}")
        _TABLES[key] = table
    return _TABLES[key]


def _technical(panel: Panel, zwindow: int) -> dict[str, np.ndarray]:
    from alphalab.features.sets import get_feature_set

    raw = get_feature_set("seed_ta").compute(panel)
    if zwindow == 60:  # seed_ta already carries the 60-row z-scores
        return {k: np.ascontiguousarray(v) for k, v in raw.items() if k.endswith("_z60")}
    return {
        f"{k}_z{zwindow}": ts_zscore(np.ascontiguousarray(v), zwindow)
        for k, v in raw.items()
        if not k.endswith("_z60")
    }


def _fundamental(panel: Panel, table: pd.DataFrame, ratios: Sequence[str], how: str = "minmax") -> dict[str, np.ndarray]:
    from alphalab.data.fundamentals import join_fundamentals

    absent = [r for r in ratios if r not in table.columns]
    if absent:
        raise DataError(f"cluster_rl: fundamentals table lacks ratio column(s) {absent}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the lag warning is documented: no report_date column
        joined = join_fundamentals(panel, table, fields=list(ratios), prefix="f_", name="cluster_rl")
    out = {}
    for r in ratios:
        x = np.asarray(joined[f"f_{r}"], dtype=np.float64)
        out[f"f_{r}"] = _cross(x, how)  # per day across stocks: known that day
    return out


def _flow(panel: Panel) -> dict[str, np.ndarray]:
    if not all(f in panel.field_names for f in FLOWS):
        warnings.warn(
            f"cluster_rl: the panel lacks flow fields {[f for f in FLOWS if f not in panel.field_names]}; "
            "the flow group is skipped",
            FlowsMissingWarning,
            stacklevel=3,
        )
        return {}
    bu, sd, fs, fn = (np.asarray(panel[f], dtype=np.float64) for f in FLOWS)
    vol = np.asarray(panel["volume"], dtype=np.float64) if "volume" in panel.field_names else None
    with np.errstate(divide="ignore", invalid="ignore"):
        buy_ratio = bu / (bu + sd)
        foreign = fn / vol if vol is not None else fn / (np.abs(fs) + np.abs(fn))
    return {"flow_buy_ratio": ts_zscore(buy_ratio, 60), "flow_foreign": ts_zscore(foreign, 60)}


def build_features(
    panel: Panel,
    groups: Sequence[str] = ("technical", "fundamental"),
    *,
    fundamentals: str | Path | pd.DataFrame | None = None,
    ratios: Sequence[str] = RATIOS,
    zwindow: int = 60,
    transforms: dict[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """The selected feature groups as ``{name: (n_dates, n_assets) float64}``.

    Parameters
    ----------
    panel : Panel
        Needs OHLCV for ``technical``.
    groups : sequence of {"technical", "fundamental", "flow"}
    fundamentals : path or DataFrame, optional
        Without it, ratio fields already in ``panel`` (a study's ``data.fundamentals``
        joins them point-in-time) are used when all of ``ratios`` are there.
        Quarterly table for ``fundamental``; without one that group is skipped
        with a warning (the study runs on panels without fundamentals).
    ratios : sequence of str
        Ratio columns of the table.
    zwindow : int
        Rolling z-score window of the technicals (60: ``seed_ta``'s own).
    transforms : dict, optional
        Scaling per group, see :data:`TRANSFORMS` (default: the founding study's).

    Raises
    ------
    ConfigError
        Unknown group, empty selection or bad window.
    """
    if isinstance(groups, str) or not groups:
        raise ConfigError(f"cluster_rl: features must be a non-empty list of {list(GROUPS)}, got {groups!r}")
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ConfigError(f"cluster_rl: unknown feature group(s) {unknown}; known: {list(GROUPS)}")
    if isinstance(zwindow, bool) or not isinstance(zwindow, int) or zwindow < 2:
        raise ConfigError(f"cluster_rl: zwindow must be an integer >= 2, got {zwindow!r}")
    how = check_transforms(transforms)
    out: dict[str, Any] = {}
    if "technical" in groups:
        out.update({k: _cross(v, how["technical"]) for k, v in _technical(panel, zwindow).items()})
    if "fundamental" in groups:
        if fundamentals is None and all(r in panel.field_names for r in ratios):
            # joined point-in-time by the study (data.fundamentals, paths relative to the YAML)
            out.update({f"f_{r}": _cross(np.asarray(panel[r], dtype=np.float64), how["fundamental"]) for r in ratios})
        elif fundamentals is None:
            warnings.warn("cluster_rl: no fundamentals table given and the panel lacks the ratio "
                          "fields; the fundamental group is skipped", UserWarning, stacklevel=2)
        else:
            table = fundamentals if isinstance(fundamentals, pd.DataFrame) else load_fundamentals(fundamentals)
            out.update(_fundamental(panel, table, ratios, how["fundamental"]))
    if "flow" in groups:
        out.update({k: _cross(v, how["flow"]) for k, v in _flow(panel).items()})
    if not out:
        raise DataError("cluster_rl: no feature could be built from the selected groups")
    return out
