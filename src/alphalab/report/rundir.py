"""Read a run directory (the files ``study.py`` writes) into one object.

The report layer reads ONLY these files, so that a report can be re-rendered
from an old run and compared with a new one. Layout (docs/ARCHITECTURE.md)::

    RUN_DIR/
      manifest.json      required
      metrics.json       required   {strategy: {metric: value}}
      equity.parquet     required   index date, one column per strategy (+ benchmark)
      returns.parquet    required   same layout
      config.yaml        optional   shown verbatim
      weights/<name>.parquet  optional  held weights, dates x assets
      trades.parquet     optional   long: strategy, date, ticker, side, shares, price, value, ...
      rejected.parquet   optional   long: strategy, date, ticker, side, reason
      costs.json         optional   {strategy: {kind: total}}
      gates.json         optional   acceptance gates (PASS / REJECTED)
      validation.json    optional   walk-forward summary per strategy (validated runs)
      health.json        optional   data-health summary
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError, DataError

__all__ = ["BENCHMARK", "RunData", "read_run", "safe_name"]

#: Column name of the benchmark in equity.parquet / returns.parquet.
BENCHMARK = "benchmark"

_REQUIRED = ("manifest.json", "metrics.json", "equity.parquet", "returns.parquet")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """File-system-safe form of a strategy name (used for chart and weight file names).

    Parameters
    ----------
    name : str
        Any strategy name, possibly with spaces, slashes or markup.

    Returns
    -------
    str
        Only ``[A-Za-z0-9._-]``; runs of other characters become one ``_``;
        never empty, never starting or ending with ``.``, ``_`` or ``-``.
    """
    cleaned = _UNSAFE.sub("_", str(name)).strip("._-")
    return cleaned or "strategy"


@dataclass(frozen=True, eq=False)
class RunData:
    """Everything a report shows, as read from one run directory.

    Attributes
    ----------
    path : Path
        The run directory.
    manifest : dict
        Parsed manifest.json (config_hash, data_hash, versions, seed, ...).
    metrics : dict
        ``{strategy: {metric: value}}`` from metrics.json.
    equity, returns : pandas.DataFrame
        Shape ``(n_dates, n_series)``, DatetimeIndex, one float64 column per
        strategy plus the benchmark column when there is one.
    weights : dict of str -> pandas.DataFrame
        Held weights per strategy, shape ``(n_dates, n_assets)``.
    trades, rejected : pandas.DataFrame or None
        Long tables as written by the study runner, None when absent.
    costs : dict
        ``{strategy: {kind: total}}``; empty when costs.json is absent.
    config_text : str or None
        config.yaml verbatim.
    config : dict or None
        config.yaml parsed (None when absent).
    gates, validation, health : object or None
        Parsed gates.json / validation.json / health.json when present.
    """

    path: Path
    manifest: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    equity: pd.DataFrame
    returns: pd.DataFrame
    weights: dict[str, pd.DataFrame] = field(default_factory=dict)
    trades: pd.DataFrame | None = None
    rejected: pd.DataFrame | None = None
    costs: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_text: str | None = None
    config: dict[str, Any] | None = None
    gates: Any = None
    validation: Any = None
    health: Any = None

    @property
    def benchmark(self) -> str | None:
        """Name of the benchmark column, or None when the run has none."""
        named = self.manifest.get("benchmark")
        if isinstance(named, str) and named in self.returns.columns:
            return named
        return BENCHMARK if BENCHMARK in self.returns.columns else None

    @property
    def strategies(self) -> list[str]:
        """Strategy column names in file order, benchmark excluded."""
        bench = self.benchmark
        return [str(c) for c in self.returns.columns if c != bench]

    @property
    def title(self) -> str:
        """The study's ``report.title`` from config.yaml, else :attr:`study_name`."""
        title = _dig(self.config, "report", "title")
        return str(title) if title else self.study_name

    @property
    def rolling_window(self) -> int | None:
        """The study's ``report.rolling_window`` (bars), or None to use the default."""
        value = _dig(self.config, "report", "rolling_window")
        return int(value) if isinstance(value, int) and value >= 2 else None

    @property
    def study_name(self) -> str:
        """The study's name from the manifest, else the directory name."""
        name = self.manifest.get("study") or self.manifest.get("name")
        if isinstance(name, dict):
            name = name.get("name")
        return str(name) if name else self.path.name


def _dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...`` through nested dicts; None when any level is missing."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _read_yaml(path: Path) -> tuple[str, dict[str, Any] | None]:
    # Same guards as a study file (size, UTF-8, duplicated keys, alias bombs).
    from alphalab.config import read_yaml_file

    try:
        parsed = read_yaml_file(path)
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    return path.read_text(encoding="utf-8"), parsed if isinstance(parsed, dict) else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _read_series_table(path: Path) -> pd.DataFrame:
    """Read equity/returns parquet: date index (or a ``date`` column), float columns."""
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{path}: cannot read parquet ({exc})") from exc
    if "date" in df.columns:
        df = df.set_index("date")
    try:
        idx = pd.DatetimeIndex(df.index)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: index must be dates (or a 'date' column): {exc}") from exc
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    if idx.has_duplicates:
        raise DataError(f"{path}: duplicate date {idx[idx.duplicated()][0].date()}")
    if len(idx) > 1 and not idx.is_monotonic_increasing:
        raise DataError(f"{path}: dates are not sorted in increasing order")
    if df.shape[1] == 0:
        raise DataError(f"{path}: no strategy columns")
    out = {}
    for col in df.columns:
        try:
            out[str(col)] = pd.to_numeric(df[col], errors="raise").to_numpy(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: column {col!r} is not numeric ({exc})") from exc
    return pd.DataFrame(out, index=idx.rename("date"))


def _read_long(path: Path, required: tuple[str, ...]) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # see _read_series_table
        raise DataError(f"{path}: cannot read parquet ({exc})") from exc
    missing = [c for c in required if c not in df.columns]
    # An empty table may have been written without its columns (nothing to describe).
    if missing and len(df):
        raise DataError(f"{path}: missing column(s) {missing}; has {list(df.columns)}")
    return df


def _read_weights(run_dir: Path, strategies: list[str]) -> dict[str, pd.DataFrame]:
    wdir = run_dir / "weights"
    out: dict[str, pd.DataFrame] = {}
    if not wdir.is_dir():
        return out
    for name in strategies:
        # The study runner may keep the raw name (when it is a valid file name) or sanitise it.
        for stem in dict.fromkeys((name, safe_name(name))):
            path = wdir / f"{stem}.parquet"
            if "/" not in stem and path.is_file():
                out[name] = _read_series_table(path)
                break
    return out


def read_run(run_dir: str | Path) -> RunData:
    """Read a run directory.

    Parameters
    ----------
    run_dir : str or Path
        Directory written by the study runner.

    Returns
    -------
    RunData

    Raises
    ------
    DataError
        When the directory or a required file is missing, or a file is malformed
        (the message names the file and what is wrong).
    """
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise DataError(f"run directory {path} is not a directory")
    if not path.is_dir():
        raise DataError(f"run directory {path} does not exist")
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise DataError(f"run directory {path}: missing {', '.join(missing)}")

    manifest = _read_json(path / "manifest.json")
    if not isinstance(manifest, dict):
        raise DataError(f"{path / 'manifest.json'}: expected a JSON object")
    metrics = _read_json(path / "metrics.json")
    if not isinstance(metrics, dict) or not all(isinstance(v, dict) for v in metrics.values()):
        raise DataError(f"{path / 'metrics.json'}: expected {{strategy: {{metric: value}}}}")

    equity = _read_series_table(path / "equity.parquet")
    returns = _read_series_table(path / "returns.parquet")
    if list(equity.columns) != list(returns.columns):
        raise DataError(
            f"{path}: equity.parquet columns {list(equity.columns)} differ from "
            f"returns.parquet columns {list(returns.columns)}"
        )

    costs: dict[str, dict[str, Any]] = {}
    if (path / "costs.json").is_file():
        costs = _read_json(path / "costs.json")
        if not isinstance(costs, dict):
            raise DataError(f"{path / 'costs.json'}: expected {{strategy: {{kind: total}}}}")

    config_text, config = None, None
    if (path / "config.yaml").is_file():
        config_text, config = _read_yaml(path / "config.yaml")

    run = RunData(
        path=path,
        manifest=manifest,
        metrics=metrics,
        equity=equity,
        returns=returns,
        trades=_read_long(path / "trades.parquet", ("strategy", "date", "ticker", "side")),
        rejected=_read_long(path / "rejected.parquet", ("strategy", "date", "reason")),
        costs=costs,
        config_text=config_text,
        config=config,
        gates=_read_json(path / "gates.json") if (path / "gates.json").is_file() else None,
        validation=(
            _read_json(path / "validation.json") if (path / "validation.json").is_file() else None
        ),
        health=_read_json(path / "health.json") if (path / "health.json").is_file() else None,
    )
    run.weights.update(_read_weights(path, run.strategies))
    return run
