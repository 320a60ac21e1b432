"""The run directory: the one module that knows its layout, writes it (study side)
and reads it (report side).

The report layer reads ONLY these files, so that a report can be re-rendered
from an old run and compared with a new one. ``manifest.json`` carries
``schema_version`` (:data:`SCHEMA_VERSION`); the reader refuses a directory
written with a newer schema than it knows, and reads one without the key as
schema 1 (before versioning). Layout (docs/ARCHITECTURE.md)::

    RUN_DIR/
      manifest.json      required   schema_version, hashes, versions, seed, timings ...
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
      diagnostics/<name>.json   optional  [{fold, train_start, train_end, ...}] per fit
      forecasts/<name>.parquet  optional  long: date, ticker, numeric columns

Where a strategy's verdict lives (``gates.json`` -> ``strategies`` -> name ->
``status``) is known here only: :func:`verdicts` and :func:`verdict_status`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.errors import ConfigError, DataError

__all__ = [
    "BENCHMARK",
    "SCHEMA_VERSION",
    "RunData",
    "is_replaceable",
    "json_safe",
    "publish",
    "read_run",
    "safe_name",
    "verdict_status",
    "verdicts",
    "write_json",
    "write_manifest",
    "write_run",
]

#: Column name of the benchmark in equity.parquet / returns.parquet.
BENCHMARK = "benchmark"

#: Layout version written to manifest.json. 1: before versioning; 2: schema_version,
#: diagnostics/ and forecasts/, pbo_candidates in validation.json / gates.json.
SCHEMA_VERSION = 2

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
    diagnostics : dict of str -> list of dict
        Per strategy, one entry per fit (``fold``, ``train_start``,
        ``train_end`` and the strategy's own keys); empty when none.
    forecasts : dict of str -> pandas.DataFrame
        Per strategy, long ``date, ticker, ...`` forecasts; empty when none.
    schema_version : int
        The layout version the directory was written with.
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
    diagnostics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forecasts: dict[str, pd.DataFrame] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def verdicts(self) -> dict[str, Any]:
        """``{strategy: gate entry}`` from gates.json (see :func:`verdicts`)."""
        return verdicts(self.gates)

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


def verdicts(gates: Any) -> dict[str, Any]:
    """``{strategy: entry}`` of a parsed gates.json; ``{}`` when it holds no verdict.

    The study writes ``{scope, holdout_looks, strategies: {name: entry}}``; a
    bare ``{name: entry}`` (hand-made runs, schema 1) is read too. An entry is
    :meth:`alphalab.validation.gates.GateVerdict.to_dict` plus figures.
    """
    if not isinstance(gates, Mapping):
        return {}
    per = gates.get("strategies", gates)
    if not isinstance(per, Mapping) or not any(
        verdict_status(v) != "UNKNOWN" for v in per.values()
    ):
        return {}
    return dict(per)


def verdict_status(entry: Any) -> str:
    """The verdict of one gate entry (its ``status``, upper case), or ``"UNKNOWN"``."""
    if isinstance(entry, Mapping) and isinstance(entry.get("status"), str):
        return str(entry["status"]).upper()
    return "UNKNOWN"


def _dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...`` through nested dicts; None when any level is missing."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _read_yaml(path: Path) -> tuple[str, dict[str, Any] | None]:
    # Same guards as a study file (size, UTF-8, duplicated keys, alias bombs).
    from alphalab.yamlio import read_yaml_file

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


def _per_strategy_file(folder: Path, name: str, suffix: str) -> Path | None:
    """``folder/<name><suffix>``: the raw name when it is a valid file name, else its safe form."""
    for stem in dict.fromkeys((name, safe_name(name))):
        path = folder / f"{stem}{suffix}"
        if "/" not in stem and path.is_file():
            return path
    return None


def _read_weights(run_dir: Path, strategies: list[str]) -> dict[str, pd.DataFrame]:
    wdir = run_dir / "weights"
    out: dict[str, pd.DataFrame] = {}
    if not wdir.is_dir():
        return out
    for name in strategies:
        path = _per_strategy_file(wdir, name, ".parquet")
        if path is not None:
            out[name] = _read_series_table(path)
    return out


def _read_diagnostics(run_dir: Path, strategies: list[str]) -> dict[str, list[dict[str, Any]]]:
    folder = run_dir / "diagnostics"
    out: dict[str, list[dict[str, Any]]] = {}
    if not folder.is_dir():
        return out
    for name in strategies:
        path = _per_strategy_file(folder, name, ".json")
        if path is None:
            continue
        entries = _read_json(path)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise DataError(f"{path}: expected a list of {{fold, train_start, ...}} objects")
        out[name] = entries
    return out


def _read_forecasts(run_dir: Path, strategies: list[str]) -> dict[str, pd.DataFrame]:
    folder = run_dir / "forecasts"
    out: dict[str, pd.DataFrame] = {}
    if not folder.is_dir():
        return out
    for name in strategies:
        path = _per_strategy_file(folder, name, ".parquet")
        if path is not None:
            frame = _read_long(path, ("date", "ticker"))
            if frame is not None:
                out[name] = frame
    return out


def _schema_version(path: Path, manifest: dict[str, Any]) -> int:
    version = manifest.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DataError(
            f"{path / 'manifest.json'}: schema_version must be a positive integer, got {version!r}"
        )
    if version > SCHEMA_VERSION:
        raise DataError(
            f"{path}: run directory schema {version} is newer than this alphalab reads "
            f"(up to {SCHEMA_VERSION}); upgrade alphalab to read it"
        )
    return version


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
    version = _schema_version(path, manifest)
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
        schema_version=version,
    )
    run.weights.update(_read_weights(path, run.strategies))
    run.diagnostics.update(_read_diagnostics(path, run.strategies))
    run.forecasts.update(_read_forecasts(path, run.strategies))
    return run


# ------------------------------------------------------------------ writing
def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN / inf become null, numpy scalars and arrays Python ones."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented JSON (see :func:`json_safe`), written atomically."""
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    """manifest.json with :data:`SCHEMA_VERSION` first."""
    write_json(run_dir / "manifest.json", {"schema_version": SCHEMA_VERSION, **manifest})


def is_replaceable(path: Path) -> bool:
    """An existing output folder may be replaced only if empty or a previous run."""
    if not path.is_dir():
        return False
    return not any(path.iterdir()) or (path / "manifest.json").is_file()


def publish(tmp: Path, final: Path) -> None:
    """Move a finished temporary run directory to its final place (replacing a previous run)."""
    if final.exists() or final.is_symlink():
        if not is_replaceable(final):
            raise ConfigError(
                f"output folder {final} exists and is not an alphalab run directory; "
                "choose another --out"
            )
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def _frame_of(series: dict[str, pd.Series]) -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series(v, dtype=np.float64) for k, v in series.items()})
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame


def _long_records(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for name, frame in frames.items():
        frame = frame.reset_index(drop=True).copy()
        frame.insert(0, "strategy", name)
        parts.append(frame)
    non_empty = [p for p in parts if len(p)]
    if non_empty:
        return pd.concat(non_empty, ignore_index=True)
    if parts:
        return parts[0].iloc[0:0]
    return pd.DataFrame({"strategy": pd.Series(dtype=str)})


def _stem(name: str) -> str:
    """File stem of a strategy: its name when that is a valid file name, else :func:`safe_name`."""
    return name if safe_name(name) == name else safe_name(name)


def write_run(
    run_dir: Path,
    *,
    manifest: Mapping[str, Any],
    metrics: pd.DataFrame,
    results: Mapping[str, Any],
    benchmark: pd.Series | None = None,
    initial_cash: float = 1_000_000.0,
    config_text: str | None = None,
    files: Mapping[str, Any] | None = None,
    diagnostics: Mapping[str, list[dict[str, Any]]] | None = None,
    forecasts: Mapping[str, pd.DataFrame | None] | None = None,
) -> None:
    """Write a run directory's files into the (empty, existing) folder ``run_dir``.

    Parameters
    ----------
    manifest : mapping
        manifest.json; :data:`SCHEMA_VERSION` is added.
    metrics : pandas.DataFrame, shape ``(n_series, n_metrics)``
        One row per strategy (and the benchmark).
    results : mapping of str -> BacktestResult
        Each over the evaluated span.
    benchmark : pandas.Series, optional
        Benchmark returns on the same dates; its equity starts at ``initial_cash``.
    config_text : str, optional
        config.yaml.
    files : mapping of str -> object, optional
        Further top-level JSON files (gates.json, validation.json, health.json).
    diagnostics : mapping of str -> list of dict, optional
        diagnostics/<name>.json for strategies with entries.
    forecasts : mapping of str -> DataFrame, optional
        forecasts/<name>.parquet for strategies with forecasts.
    """
    if config_text is not None:
        (run_dir / "config.yaml").write_text(config_text, encoding="utf-8")
    write_json(
        run_dir / "metrics.json",
        {name: {k: row[k] for k in metrics.columns} for name, row in metrics.iterrows()},
    )
    equity = {name: res.equity for name, res in results.items()}
    returns = {name: res.returns for name, res in results.items()}
    if benchmark is not None:
        returns[BENCHMARK] = benchmark
        equity[BENCHMARK] = initial_cash * (1.0 + benchmark).cumprod()
    _frame_of(equity).to_parquet(run_dir / "equity.parquet")
    _frame_of(returns).to_parquet(run_dir / "returns.parquet")
    weights_dir = run_dir / "weights"
    weights_dir.mkdir()
    for name, res in results.items():
        held = pd.DataFrame(res.weights, dtype=np.float64)
        held.index = pd.DatetimeIndex(held.index, name="date")
        held.columns = [str(c) for c in held.columns]
        held.to_parquet(weights_dir / f"{_stem(name)}.parquet")
    _long_records({n: r.trades_frame() for n, r in results.items()}).to_parquet(
        run_dir / "trades.parquet", index=False
    )
    _long_records({n: r.rejected_frame() for n, r in results.items()}).to_parquet(
        run_dir / "rejected.parquet", index=False
    )
    write_json(
        run_dir / "costs.json",
        {name: {str(k): v for k, v in res.costs.items()} for name, res in results.items()},
    )
    for fname, obj in (files or {}).items():
        write_json(run_dir / fname, obj)
    diag = {n: d for n, d in (diagnostics or {}).items() if d}
    if diag:
        (run_dir / "diagnostics").mkdir()
        for name, entries in diag.items():
            write_json(run_dir / "diagnostics" / f"{_stem(name)}.json", entries)
    fcs = {n: f for n, f in (forecasts or {}).items() if f is not None and len(f)}
    if fcs:
        (run_dir / "forecasts").mkdir()
        for name, frame in fcs.items():
            frame.reset_index(drop=True).to_parquet(
                run_dir / "forecasts" / f"{_stem(name)}.parquet", index=False
            )
    write_manifest(run_dir, manifest)
