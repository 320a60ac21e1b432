"""Config -> inputs: the study's panel, features, simulated window, decision dates and costs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.config import StudyConfig
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError

__all__ = [
    "INDEX_PREFIX",
    "add_features",
    "adjustment_state",
    "choose_universe",
    "data_health",
    "decision_dates",
    "engine_costs",
    "holdout_start",
    "join_fundamentals_of",
    "join_indices",
    "load_panel",
    "read_side_table",
    "study_window",
]


def load_panel(cfg: StudyConfig, open_seal: bool = False) -> tuple[Panel, str | Path]:
    from alphalab.data import load

    source = cfg.resolve_source(cfg.data.dataset)
    store = None if cfg.data.store is None else cfg.resolve_source(cfg.data.store)
    try:
        panel = load(
            source,
            market=cfg.data.market,
            mode=cfg.data.mode,
            columns=dict(cfg.data.columns) or None,
            tickers=cfg.data.tickers,
            # Nothing after the study's end is ever loaded; history before its start is.
            end=cfg.data.end,
            store=store,
            open_seal=open_seal,  # a sealed dataset is cut at its seal unless --holdout
        )
    except DataError as exc:
        # The loader names the file; the study key that asked for the missing names is ours to add.
        if cfg.data.tickers and "not in the data" in str(exc):
            raise DataError(f"data.tickers: {exc}") from None
        raise
    if panel.n_dates < 2:
        raise DataError(
            f"dataset {cfg.data.dataset!r} has {panel.n_dates} date(s) up to "
            f"{cfg.data.end or 'its end'}; a study needs at least 2"
        )
    if cfg.data.fundamentals is not None:
        panel = join_fundamentals_of(cfg, panel)
    if cfg.data.indices is not None:
        panel = join_indices(cfg, panel)
    if cfg.data.universe is not None:
        panel = choose_universe(cfg, panel)
    return panel, source


def choose_universe(cfg: StudyConfig, panel: Panel) -> Panel:
    """The panel cut to ``data.universe``'s choice, recorded in ``meta['universe']``."""
    from alphalab.data.study_universe import select_universe

    spec = cfg.data.universe
    assert spec is not None and cfg.data.start is not None
    choice = select_universe(
        panel, cfg.data.start, size=spec.size, rank_by=spec.rank_by, ascending=spec.ascending,
        window=spec.window, min_coverage=spec.min_coverage, require=spec.require,
    )
    return panel.select_assets(choice.tickers).with_meta(universe=choice.to_dict())


def read_side_table(cfg: StudyConfig, value: str, key: str) -> pd.DataFrame:
    """A Parquet / CSV side table named by study key ``key`` (fundamentals, indices)."""
    path = cfg.resolve_source(value)
    if not isinstance(path, Path) or not path.exists():
        raise DataError(f"{key}: file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{key}: cannot read {path}: {exc}") from None


def join_fundamentals_of(cfg: StudyConfig, panel: Panel) -> Panel:
    """Join ``data.fundamentals`` point-in-time (a report counts from the session after its announcement)."""
    from alphalab.data.fundamentals import join_fundamentals

    spec = cfg.data.fundamentals
    assert spec is not None
    table = read_side_table(cfg, spec.path, "data.fundamentals")
    clash = [f for f in spec.fields if f in panel]
    if clash:
        raise DataError(f"data.fundamentals: field(s) {clash} already exist in the dataset")
    try:
        return join_fundamentals(panel, table, fields=list(spec.fields), lag_days=spec.lag_days,
                                 name=Path(spec.path).name)
    except DataError as exc:
        raise DataError(f"data.fundamentals: {exc}") from None


INDEX_PREFIX = "index:"


def join_indices(cfg: StudyConfig, panel: Panel) -> Panel:
    """Each index close of ``data.indices`` as a field ``index:<ticker>`` (same value in every column).

    Index dates outside the panel's calendar are dropped; panel dates the
    index lacks are NaN (a missing index session is not invented).
    """
    assert cfg.data.indices is not None
    table = read_side_table(cfg, cfg.data.indices, "data.indices")
    missing = {"date", "ticker", "close"} - set(table.columns)
    if missing:
        raise DataError(f"data.indices: {cfg.data.indices!r} lacks column(s) {sorted(missing)}")
    dates = pd.to_datetime(table["date"], errors="coerce")
    if dates.isna().any():
        raise DataError(f"data.indices: {int(dates.isna().sum())} row(s) have no valid date, "
                        f"first row {int(np.flatnonzero(dates.isna().to_numpy())[0])}")
    close = pd.to_numeric(table["close"], errors="coerce")
    bad = ~(close > 0)
    if bad.any():
        raise DataError(f"data.indices: {int(bad.sum())} close(s) missing or <= 0, first row "
                        f"{int(np.flatnonzero(bad.to_numpy())[0])}")
    wide = pd.DataFrame({"date": dates.dt.tz_localize(None) if dates.dt.tz else dates,
                         "ticker": table["ticker"].astype(str), "close": close})
    if wide.duplicated(["date", "ticker"]).any():
        raise DataError("data.indices: duplicate (date, ticker) rows")
    wide = wide.pivot(index="date", columns="ticker", values="close")
    wide.index = pd.DatetimeIndex(wide.index).as_unit("ns")
    aligned = wide.reindex(panel.dates)
    fields = {
        INDEX_PREFIX + str(t): np.repeat(aligned[t].to_numpy(np.float64)[:, None], panel.n_assets, axis=1)
        for t in aligned.columns
    }
    clash = [f for f in fields if f in panel]
    if clash:
        raise DataError(f"data.indices: field(s) {clash} already exist in the dataset")
    return panel.with_fields(**fields).with_meta(indices=sorted(map(str, aligned.columns)))


def adjustment_state(panel: Panel) -> str:
    state = panel.meta.get("adjusted")
    if isinstance(state, bool):  # embedded sets record True / False
        return "adjusted" if state else "raw"
    return str(state) if state else "unknown"


def holdout_start(cfg: StudyConfig) -> Any:
    """The sealed holdout's first date, or None."""
    v = cfg.validation
    return None if v is None or v.holdout is None else v.holdout.start


def data_health(cfg: StudyConfig, panel: Panel) -> Any:
    """The data-health report of the study's data (gaps, bad prints, band breaches ...)."""
    from alphalab.data.health import check_health

    return check_health(panel, market=cfg.data.market, name=str(cfg.data.dataset))


def add_features(cfg: StudyConfig, panel: Panel) -> tuple[Panel, dict[str, Any]]:
    """Compute the configured feature sets and add them to the panel as fields."""
    from alphalab.features.sets import compute

    assert cfg.features is not None
    feats = compute(panel, cfg.features.sets, cache=cfg.features.cache)
    clash = sorted(set(feats.fields) & set(panel.fields))
    if clash:
        raise ConfigError(
            f"features: feature field(s) {clash[:5]} clash with data fields of the same name"
        )
    info = {
        "sets": list(cfg.features.sets),
        "fields": list(feats.fields),
        **{k: v for k, v in feats.meta.items() if k in ("spec_hashes", "feature_origin")},
    }
    return panel.with_fields(**feats.fields), info



# ------------------------------------------------------------- window
def study_window(cfg: StudyConfig, panel: Panel, strategies: dict[str, Any]) -> tuple[int, int]:
    """Row range ``[i0, i1)`` of the simulated window."""
    i1 = panel.n_dates
    if cfg.data.start is not None:
        i0 = int(panel.dates.searchsorted(pd.Timestamp(cfg.data.start), "left"))
    else:
        # Without a start the window opens once every strategy has its history.
        need = max((s.requires.min_history for s in strategies.values()), default=1)
        i0 = min(max(need - 1, 0), panel.n_dates - 1)
    if i1 - i0 < 2:
        raise DataError(
            f"the study window from {cfg.data.start or panel.dates[i0].date()} to "
            f"{cfg.data.end or panel.dates[-1].date()} holds {max(i1 - i0, 0)} date(s) of "
            f"{cfg.data.dataset!r} (data runs {panel.dates[0].date()}..{panel.dates[-1].date()}); "
            "it needs at least 2"
        )
    return i0, i1


def decision_dates(cfg: StudyConfig, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    from alphalab.backtest.schedule import rebalance_mask

    rule = cfg.execution.rebalance
    if isinstance(rule, list):
        wanted = pd.DatetimeIndex(pd.to_datetime(rule))
        outside = wanted[(wanted < dates[0]) | (wanted > dates[-1])]
        if len(outside):
            raise ConfigError(
                f"execution.rebalance: date(s) outside the study window "
                f"{dates[0].date()}..{dates[-1].date()}: "
                f"{', '.join(str(d.date()) for d in outside[:5])}"
            )
    # The schedule runs on the window's own dates, so its first bar is a
    # decision: every strategy starts invested on the same day.
    return dates[rebalance_mask(dates, rule)]


def engine_costs(cfg: StudyConfig) -> Any:
    given = {k: v for k, v in cfg.execution.costs.model_dump().items() if v is not None}
    if not given:
        return None
    from alphalab.backtest.costs import Costs

    return Costs(**given)

