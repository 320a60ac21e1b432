"""Study runner: a :class:`~alphalab.config.StudyConfig` in, a run directory out.

One run loads the data once, builds every strategy of the study, fits the
ones that learn on the rows before the simulated window, turns their
decisions into target weights on the rebalance schedule, runs the one
backtest engine over the window for each, and writes the run directory laid
out in ``docs/ARCHITECTURE.md``::

    RUN_DIR/
      manifest.json  config.yaml  metrics.json  costs.json
      equity.parquet  returns.parquet  trades.parquet  rejected.parquet
      weights/<strategy>.parquet
      charts/*.png  report.html          (alphalab.report.write_report)

The directory is first written under a hidden temporary name beside its
final place and then renamed, so a crash never leaves a half-written run that
looks complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.config import BENCHMARK_KEY, StrategyConfig, StudyConfig
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.validation.executors import seed_everything

__all__ = ["RunResult", "ScopedResult", "Study", "benchmark_returns", "package_versions"]

# Packages whose versions decide the numbers of a run.
_VERSIONED = (
    "alphalab",
    "numpy",
    "pandas",
    "pyarrow",
    "numba",
    "scipy",
    "scikit-learn",
    "skfolio",
    "pydantic",
    "torch",
    "arch",
)


@dataclass(frozen=True)
class RunResult:
    """What a study run produced.

    Attributes
    ----------
    run_dir : pathlib.Path
        The run directory.
    metrics : pandas.DataFrame, shape ``(n_strategies + 1, n_metrics)``
        One row per strategy, in study order, then ``"benchmark"`` if the
        study has one.
    results : dict of str to BacktestResult
        The engine's result for each strategy.
    manifest : dict
        The contents of ``manifest.json``.
    report : pathlib.Path or None
        ``report.html`` (or the report folder) when a report was written.
    """

    run_dir: Path
    metrics: pd.DataFrame
    results: dict[str, Any]
    manifest: dict[str, Any]
    report: Path | None = None


@dataclass
class _Timer:
    timings: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str, into: dict[str, Any] | None = None) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            (self.timings if into is None else into)[name] = round(time.perf_counter() - t0, 4)


class _Progress:
    """A rich progress bar over the stages of a run, or nothing."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=False,
            )
            self._task = self._bar.add_task("starting", total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._bar is not None:
            if exc_type is not None:
                # On failure the error message alone should remain on screen.
                self._bar.live.transient = True
            self._bar.stop()

    def step(self, description: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=description)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide a run's numbers (absent ones skipped)."""
    out: dict[str, str] = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _json_safe(value: Any) -> Any:
    """Plain JSON values: NaN / inf become null, numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
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


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- data
def _load_panel(cfg: StudyConfig) -> tuple[Panel, str | Path]:
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
        panel = _join_fundamentals(cfg, panel)
    if cfg.data.indices is not None:
        panel = _join_indices(cfg, panel)
    return panel, source


def _read_table(cfg: StudyConfig, value: str, key: str) -> pd.DataFrame:
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


def _join_fundamentals(cfg: StudyConfig, panel: Panel) -> Panel:
    """Join ``data.fundamentals`` point-in-time (a report counts from the session after its announcement)."""
    from alphalab.data.fundamentals import join_fundamentals

    spec = cfg.data.fundamentals
    assert spec is not None
    table = _read_table(cfg, spec.path, "data.fundamentals")
    clash = [f for f in spec.fields if f in panel]
    if clash:
        raise DataError(f"data.fundamentals: field(s) {clash} already exist in the dataset")
    try:
        return join_fundamentals(panel, table, fields=list(spec.fields), lag_days=spec.lag_days,
                                 name=Path(spec.path).name)
    except DataError as exc:
        raise DataError(f"data.fundamentals: {exc}") from None


INDEX_PREFIX = "index:"


def _join_indices(cfg: StudyConfig, panel: Panel) -> Panel:
    """Each index close of ``data.indices`` as a field ``index:<ticker>`` (same value in every column).

    Index dates outside the panel's calendar are dropped; panel dates the
    index lacks are NaN (a missing index session is not invented).
    """
    assert cfg.data.indices is not None
    table = _read_table(cfg, cfg.data.indices, "data.indices")
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


def _adjustment_state(panel: Panel) -> str:
    state = panel.meta.get("adjusted")
    if isinstance(state, bool):  # embedded sets record True / False
        return "adjusted" if state else "raw"
    return str(state) if state else "unknown"


def _health(cfg: StudyConfig, panel: Panel) -> Any:
    """The data-health report of the study's data (gaps, bad prints, band breaches ...)."""
    from alphalab.data.health import check_health

    return check_health(panel, market=cfg.data.market, name=str(cfg.data.dataset))


def _add_features(cfg: StudyConfig, panel: Panel) -> tuple[Panel, dict[str, Any]]:
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


def _close_series(obj: Any, name: str) -> pd.Series:
    """A benchmark given as a Series, a long frame or a one-column wide frame -> close by date."""
    if isinstance(obj, pd.Series):
        series = obj
    elif isinstance(obj, pd.DataFrame):
        frame = obj
        if "ticker" in frame.columns:
            tickers = pd.unique(frame["ticker"].astype(str))
            if len(tickers) > 1:
                raise DataError(
                    f"benchmark {name!r} holds {len(tickers)} tickers "
                    f"({', '.join(map(str, tickers[:5]))}); it must hold one series"
                )
        if "date" in frame.columns:
            frame = frame.set_index("date")
        if "close" in frame.columns:
            series = frame["close"]
        elif frame.shape[1] == 1:
            series = frame.iloc[:, 0]
        else:
            raise DataError(
                f"benchmark {name!r} has no 'close' column; columns: {list(frame.columns)}"
            )
    else:
        raise DataError(f"benchmark {name!r} is a {type(obj).__name__}, not a price series")
    index = pd.DatetimeIndex(pd.to_datetime(series.index))
    if index.tz is not None:
        index = index.tz_localize(None)  # the exchange's wall-clock date, as Panel does
    out = pd.Series(
        pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
        index=index.as_unit("ns"),
        name=BENCHMARK_KEY,
    ).dropna()
    out = out[~out.index.duplicated(keep="last")].sort_index()
    if out.empty:
        raise DataError(f"benchmark {name!r} has no prices")
    return out


def _load_benchmark(cfg: StudyConfig, panel: Panel) -> tuple[pd.Series | None, Any]:
    """The benchmark's closes and the loader's validation report of its file (None for a ticker)."""
    name = cfg.data.benchmark
    if name is None:
        return None, None
    if name in panel.assets:
        return _close_series(panel.frame("close")[name], name), None
    if INDEX_PREFIX + name in panel:  # an index of data.indices
        return _close_series(pd.Series(panel[INDEX_PREFIX + name][:, 0], index=panel.dates), name), None
    from alphalab.data import load

    source = cfg.resolve_source(name)
    if isinstance(source, Path) and not source.exists():
        raise FileNotFoundError(f"benchmark file not found: {source}")
    try:
        # load() rather than load_benchmark(): its validation report goes into the manifest.
        bench = load(source, mode=cfg.data.mode, end=cfg.data.end, fields=["close"])
    except DataError as exc:
        if isinstance(source, Path):
            raise DataError(f"benchmark {name!r}: {exc}") from None
        # A bare name: a ticker of the dataset (possibly dropped by validation) or a dataset.
        raise DataError(
            f"benchmark {name!r} is not a ticker of the dataset with valid prices"
            f"{' after lenient validation' if cfg.data.mode == 'lenient' else ''}, "
            f"nor a dataset: {exc}"
        ) from None
    if bench.n_assets != 1:
        raise DataError(
            f"benchmark {name!r} holds {bench.n_assets} tickers "
            f"({', '.join(map(str, bench.assets[:5]))}); it must hold one series"
        )
    return _close_series(bench.frame("close").iloc[:, 0], name), bench.meta.get("validation")


def benchmark_returns(close: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Benchmark simple returns on ``dates``, the first one 0.

    Parameters
    ----------
    close : pandas.Series
        Benchmark closes by date (any calendar).
    dates : pandas.DatetimeIndex, length ``n_dates``
        The study's simulated dates.

    Returns
    -------
    pandas.Series, length ``n_dates``
        Where the benchmark has no print on a study date its last known close
        carries over (a zero return that day, the move lands on its next print).

    Raises
    ------
    DataError
        The benchmark has no close on or before the first study date.

    Warns
    -----
    RuntimeWarning
        The benchmark ends before the last study date.
    """
    known = close.reindex(close.index.union(dates)).ffill().reindex(dates)
    if np.isnan(known.iloc[0]):
        raise DataError(
            f"the benchmark starts on {close.index[0].date()}, after the study's first date "
            f"{dates[0].date()}; set data.start on or after {close.index[0].date()}"
        )
    if close.index[-1] < dates[-1]:
        warnings.warn(
            f"the benchmark ends on {close.index[-1].date()}, before the study's last date "
            f"{dates[-1].date()}; its last close carries over (zero returns) after that",
            RuntimeWarning,
            stacklevel=2,
        )
    out = known.pct_change().fillna(0.0)
    out.iloc[0] = 0.0
    out.name = BENCHMARK_KEY
    out.index.name = "date"
    return out


# ------------------------------------------------------------- window
def _window(cfg: StudyConfig, panel: Panel, strategies: dict[str, Any]) -> tuple[int, int]:
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


def _decision_dates(cfg: StudyConfig, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
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


def _costs(cfg: StudyConfig) -> Any:
    given = {k: v for k, v in cfg.execution.costs.model_dump().items() if v is not None}
    if not given:
        return None
    from alphalab.backtest.costs import Costs

    return Costs(**given)


# ----------------------------------------------------------- run dir
def _default_out(cfg: StudyConfig) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{cfg.name}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = Path("runs") / f"{cfg.name}-{stamp}-{n}"
    return out


def _is_replaceable(path: Path) -> bool:
    """An existing output folder may be replaced only if empty or a previous run."""
    if not path.is_dir():
        return False
    return not any(path.iterdir()) or (path / "manifest.json").is_file()


def _publish(tmp: Path, final: Path) -> None:
    """Move the finished temporary run directory to its final place."""
    if final.exists() or final.is_symlink():
        if not _is_replaceable(final):
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


# ------------------------------------------------------- scoped results
@dataclass(frozen=True)
class ScopedResult:
    """A backtest result seen only from ``start`` on: the evaluated span of a
    walk-forward run (its first out-of-sample date, or the holdout start).

    Exposes what the run directory writer reads: equity, returns, weights,
    turnover, costs, trades, rejected orders and metrics.
    """

    result: Any
    start: pd.Timestamp

    @classmethod
    def of(cls, validation: Any) -> ScopedResult:
        return cls(validation.walk_forward.backtest, validation.returns.index[0])

    @property
    def _mask(self) -> np.ndarray:
        return np.asarray(self.result.dates >= self.start)

    @property
    def equity(self) -> pd.Series:
        return self.result.equity[self._mask]

    @property
    def returns(self) -> pd.Series:
        return self.result.returns[self._mask]

    @property
    def weights(self) -> pd.DataFrame:
        return self.result.weights[self._mask]

    @property
    def turnover(self) -> pd.Series:
        return self.result.turnover[self._mask]

    @property
    def costs_daily(self) -> pd.DataFrame:
        return self.result.costs_daily[self._mask]

    @property
    def costs(self) -> pd.Series:
        return self.costs_daily.sum(axis=0).rename("costs")

    def trades_frame(self) -> pd.DataFrame:
        frame = self.result.trades_frame()
        return frame[frame["date"] >= self.start].reset_index(drop=True)

    def rejected_frame(self) -> pd.DataFrame:
        frame = self.result.rejected_frame()
        return frame[frame["date"] >= self.start].reset_index(drop=True)

    def metrics(self, benchmark: pd.Series | None = None) -> pd.Series:
        from alphalab.metrics import compute_metrics

        return compute_metrics(
            self.returns,
            benchmark=None if benchmark is None else benchmark.reindex(self.returns.index),
            turnover=self.turnover,
            costs=self.costs_daily.sum(axis=1),
            equity=self.equity,
        )


# ---------------------------------------------------------------- study
class Study:
    """Runs every strategy of a study through the same engine and writes a run directory.

    Parameters
    ----------
    config : StudyConfig
        A validated study.

    Examples
    --------
    >>> run = Study.from_yaml("examples/us_sp500_5yr.yaml").run(out="runs/us")  # doctest: +SKIP
    >>> run.metrics.loc["equal_weight", "sharpe"]                               # doctest: +SKIP
    """

    def __init__(self, config: StudyConfig) -> None:
        if not isinstance(config, StudyConfig):
            raise ConfigError(f"Study needs a StudyConfig, got {type(config).__name__}")
        self.config = config

    @classmethod
    def from_yaml(cls, path: str | Path, *, profile: str | None = None) -> Study:
        """Read and validate a YAML study file (see :meth:`StudyConfig.from_yaml`);
        ``profile`` merges a named entry of its ``profiles`` section first."""
        return cls(StudyConfig.from_yaml(path, profile=profile))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: str | Path | None = None) -> Study:
        return cls(StudyConfig.from_dict(data, base_dir=base_dir))

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.config.strategies)
        return f"Study({self.config.name!r}, strategies=[{names}])"

    # ------------------------------------------------------------- run
    def run(
        self,
        out: str | Path | None = None,
        *,
        progress: bool = True,
        holdout: bool = False,
        executor: Any = None,
    ) -> RunResult:
        """Run the study and write its run directory.

        Parameters
        ----------
        out : path, optional
            The run directory (default ``runs/<name>-<timestamp>``). An existing
            previous run directory there is replaced; any other non-empty folder
            is an error.
        progress : bool
            Show a rich progress bar.
        holdout : bool
            Open the sealed holdout: walk forward through it and report metrics on
            it only. Every such evaluation is written to the holdout ledger.
        executor : Executor, optional
            Overrides the config's ``executor`` (serial, process or Ray).

        Returns
        -------
        RunResult
        """
        cfg = self.config
        if holdout and (cfg.validation is None or cfg.validation.holdout is None):
            raise ConfigError(
                "this study has no sealed holdout to evaluate: add validation.holdout.start"
            )
        final = Path(out) if out is not None else _default_out(cfg)
        for part in (final, *final.parents):
            if part.is_file():
                raise ConfigError(
                    f"output path {part} is a file, not a folder; choose another --out"
                )
        if final.exists() and not _is_replaceable(final):
            raise ConfigError(
                f"output folder {final} exists and is not an alphalab run directory; "
                "choose another --out"
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        timer = _Timer()
        t_start = time.perf_counter()
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        want_report = cfg.report.charts or cfg.report.html
        n_steps = len(cfg.strategies) + 2 + int(want_report)

        with _Progress(progress, n_steps) as bar:
            bar.step("loading data")
            with timer.stage("load"):
                panel, source = _load_panel(cfg)
                bench_close, bench_validation = _load_benchmark(cfg, panel)
            data_hash = panel.data_hash()  # of the data as loaded, before features are added
            health = None
            if cfg.report.health:
                with timer.stage("health"):
                    health = _health(cfg, panel)
            feature_info = None
            if cfg.features is not None:
                with timer.stage("features"):
                    panel, feature_info = _add_features(cfg, panel)
            bar.advance()

            strategies = {s.name: s.build() for s in cfg.strategies}
            for scfg in cfg.strategies:
                # Check every strategy against the data before running any.
                try:
                    strategies[scfg.name].check(panel)
                except DataError as exc:
                    raise DataError(f"strategy {scfg.name!r} ({scfg.kind}): {exc}") from None
            results: dict[str, Any] = {}
            per_strategy: dict[str, float] = {}
            extras: dict[str, Any] = {}
            if cfg.validation is None:
                i0, i1 = _window(cfg, panel, strategies)
                window = panel.iloc_dates(slice(i0, i1))
                decisions = _decision_dates(cfg, window.dates)
                bench = (
                    None if bench_close is None else benchmark_returns(bench_close, window.dates)
                )
                for scfg in cfg.strategies:
                    bar.step(f"strategy {scfg.name}")
                    with timer.stage(scfg.name, per_strategy):
                        results[scfg.name] = self._run_one(
                            scfg, strategies[scfg.name], panel, window, decisions, i0
                        )
                    bar.advance()
                window_dates, n_decisions = window.dates, len(decisions)
            else:
                if cfg.data.start is not None:
                    panel = panel.slice_dates(cfg.data.start, None)
                full_bench = (
                    None if bench_close is None else benchmark_returns(bench_close, panel.dates)
                )
                validations: dict[str, Any] = {}
                for scfg in cfg.strategies:
                    bar.step(f"walk-forward {scfg.name}")
                    with timer.stage(scfg.name, per_strategy):
                        validations[scfg.name] = self._validate_one(
                            scfg, strategies[scfg.name], panel, full_bench, holdout, executor
                        )
                    bar.advance()
                results = {n: ScopedResult.of(v) for n, v in validations.items()}
                window_dates = next(iter(results.values())).returns.index
                bench = None if full_bench is None else full_bench.reindex(window_dates)
                n_decisions = int(
                    max(
                        np.isfinite(v.walk_forward.weights).any(axis=1).sum()
                        for v in validations.values()
                    )
                )
                extras = self._validation_extras(validations, holdout)
            timer.timings["strategies"] = per_strategy

            bar.step("writing run directory")
            with timer.stage("metrics"):
                metrics = self._metrics(results, bench, window_dates)
            manifest: dict[str, Any] = {
                "study": cfg.name,
                "config_hash": cfg.config_hash(),
                "data_hash": data_hash,
                "seed": cfg.seed,
                "market": cfg.data.market,
                "dataset": str(source),
                "benchmark": cfg.data.benchmark,
                "study_file": None if cfg.source is None else str(cfg.source),
                "profile": cfg.profile,
                "window": {
                    "start": window_dates[0].date().isoformat(),
                    "end": window_dates[-1].date().isoformat(),
                    "n_dates": len(window_dates),
                    "n_decisions": n_decisions,
                    "history_start": panel.dates[0].date().isoformat(),
                },
                "n_assets": panel.n_assets,
                "data_validation": panel.meta.get("validation"),
                # raw / adjusted / split_only as the store or embedded set records it
                "data_adjusted": _adjustment_state(panel),
                "data_health": None if health is None else {
                    "status": health.status, "summary": health.summary(),
                },
                "features": feature_info,
                "benchmark_validation": bench_validation,
                "strategies": [
                    {"name": s.name, "kind": s.kind, "params": dict(s.params)}
                    for s in cfg.strategies
                ],
                "execution": cfg.execution.model_dump(mode="json"),
                **extras.get("manifest", {}),
                "created": created,
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "versions": package_versions(),
                "timings": timer.timings,
            }
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
            try:
                with timer.stage("write"):
                    self._write(tmp, manifest, metrics, results, bench, cfg)
                    for fname, obj in extras.get("files", {}).items():
                        _write_json(tmp / fname, obj)
                    if health is not None:
                        _write_json(tmp / "health.json", health.to_dict(max_issues=500))
                if cfg.analyses:
                    with timer.stage("analyses"):
                        _run_analyses(cfg, tmp, panel, results, strategies, bench, holdout)
                _publish(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            bar.advance()

            report_path: Path | None = None
            if want_report:
                bar.step("writing report")
                with timer.stage("report"):
                    report_path = _write_report(
                        final, charts=cfg.report.charts, html=cfg.report.html
                    )
                bar.advance()
            bar.step("done")

        timer.timings["total"] = round(time.perf_counter() - t_start, 4)
        manifest["timings"] = timer.timings
        _write_json(final / "manifest.json", manifest)
        return RunResult(
            run_dir=final,
            metrics=metrics,
            results=results,
            manifest=json.loads((final / "manifest.json").read_text()),
            report=report_path,
        )

    # --------------------------------------------------------- helpers
    def _run_one(
        self,
        scfg: StrategyConfig,
        strategy: Any,
        panel: Panel,
        window: Panel,
        decisions: pd.DatetimeIndex,
        i0: int,
    ) -> Any:
        from alphalab.backtest.engine import backtest
        from alphalab.portfolio.base import target_weights

        cfg = self.config
        # Reseed per strategy: its numbers must not depend on its place in the list.
        seed_everything(cfg.seed)
        start = window.dates[0]
        try:
            # Learning strategies see only rows known at the first decision
            # (walk-forward refitting is the validation layer's job).
            strategy.fit(panel.until(start), until=start)
            weights = target_weights(strategy, panel, decisions)
        except (DataError, ConfigError) as exc:
            raise type(exc)(f"strategy {scfg.name!r} ({scfg.kind}): {exc}") from None
        return backtest(
            weights[i0:],
            window,
            market=cfg.data.market,
            rebalance=None,
            execution=cfg.execution.at,
            costs=_costs(cfg),
            initial_cash=cfg.execution.initial_cash,
            rules=cfg.execution.rules,
        )

    def _validate_one(
        self,
        scfg: StrategyConfig,
        strategy: Any,
        panel: Panel,
        bench: pd.Series | None,
        holdout: bool,
        executor: Any,
    ) -> Any:
        from alphalab.validation.executors import make_executor
        from alphalab.validation.protocol import validate_strategy
        from alphalab.validation.walkforward import EngineSettings

        cfg = self.config
        assert cfg.validation is not None
        seed_everything(cfg.seed)
        if executor is None:
            ex = cfg.executor
            executor = make_executor(ex.kind, n_jobs=ex.n_jobs, address=ex.address)
        engine = EngineSettings(
            market=cfg.data.market,
            rebalance=cfg.execution.rebalance,
            execution=cfg.execution.at,
            costs=_costs(cfg),
            initial_cash=cfg.execution.initial_cash,
            rules=cfg.execution.rules,
        )
        try:
            return validate_strategy(
                scfg.name,
                strategy,
                panel,
                cfg.validation,
                engine,
                tune=scfg.tune,
                gates=cfg.gates,
                benchmark=bench,
                seed=cfg.seed,
                executor=executor,
                holdout=holdout,
            )
        except (DataError, ConfigError) as exc:
            raise type(exc)(f"strategy {scfg.name!r} ({scfg.kind}): {exc}") from None

    def _validation_extras(self, validations: dict[str, Any], holdout: bool) -> dict[str, Any]:
        """gates.json, validation.json and manifest entries; a holdout look is logged."""
        from alphalab.validation.holdout import HoldoutLedger

        cfg = self.config
        assert cfg.validation is not None
        ledger = HoldoutLedger(cfg.name)
        if holdout:
            ledger.record(
                cfg.config_hash(),
                strategies={n: v.verdict.status for n, v in validations.items()},
            )
        looks = ledger.summary().to_dict()
        scope = "holdout" if holdout else "development"
        gates = {
            "scope": scope,
            "holdout_looks": looks,
            "strategies": {
                n: {
                    **v.verdict.to_dict(),
                    "dsr": v.overfitting.get("dsr"),
                    "pbo": v.overfitting.get("pbo"),
                    "n_trials": v.overfitting.get("n_trials"),
                }
                for n, v in validations.items()
            },
        }
        summaries = {n: v.summary() for n, v in validations.items()}
        manifest = {
            "validation": {
                "scope": scope,
                "spec": cfg.validation.model_dump(mode="json"),
                "gates": None if cfg.gates is None else cfg.gates.model_dump(mode="json"),
                "holdout_looks": looks,
                "n_trials": {n: v.walk_forward.n_trials for n, v in validations.items()},
                "verdicts": {n: v.verdict.status for n, v in validations.items()},
            }
        }
        return {
            "manifest": manifest,
            "files": {"gates.json": gates, "validation.json": _json_safe(summaries)},
        }

    def _metrics(
        self, results: dict[str, Any], bench: pd.Series | None, dates: pd.DatetimeIndex
    ) -> pd.DataFrame:
        from alphalab.metrics import compute_metrics, periods_per_year

        rows = {name: res.metrics(benchmark=bench) for name, res in results.items()}
        if bench is not None:
            rows[BENCHMARK_KEY] = compute_metrics(bench, periods_per_year=periods_per_year(dates))
        frame = pd.DataFrame(rows).T
        frame.index.name = "strategy"
        return frame

    def _write(
        self,
        run_dir: Path,
        manifest: dict[str, Any],
        metrics: pd.DataFrame,
        results: dict[str, Any],
        bench: pd.Series | None,
        cfg: StudyConfig,
    ) -> None:
        (run_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
        _write_json(
            run_dir / "metrics.json",
            {name: {k: row[k] for k in metrics.columns} for name, row in metrics.iterrows()},
        )
        equity = {name: res.equity for name, res in results.items()}
        returns = {name: res.returns for name, res in results.items()}
        if bench is not None:
            returns[BENCHMARK_KEY] = bench
            equity[BENCHMARK_KEY] = cfg.execution.initial_cash * (1.0 + bench).cumprod()
        _frame_of(equity).to_parquet(run_dir / "equity.parquet")
        _frame_of(returns).to_parquet(run_dir / "returns.parquet")
        weights_dir = run_dir / "weights"
        weights_dir.mkdir()
        for name, res in results.items():
            held = pd.DataFrame(res.weights, dtype=np.float64)
            held.index = pd.DatetimeIndex(held.index, name="date")
            held.columns = [str(c) for c in held.columns]
            held.to_parquet(weights_dir / f"{name}.parquet")
        _long_records({n: r.trades_frame() for n, r in results.items()}).to_parquet(
            run_dir / "trades.parquet", index=False
        )
        _long_records({n: r.rejected_frame() for n, r in results.items()}).to_parquet(
            run_dir / "rejected.parquet", index=False
        )
        _write_json(
            run_dir / "costs.json",
            {name: {str(k): v for k, v in res.costs.items()} for name, res in results.items()},
        )
        _write_json(run_dir / "manifest.json", manifest)


def _run_analyses(
    cfg: StudyConfig,
    run_dir: Path,
    panel: Panel,
    results: dict[str, Any],
    strategies: dict[str, Any],
    bench: pd.Series | None,
    holdout: bool,
) -> None:
    """Run the study's analyses over the finished strategies into ``run_dir/analyses``."""
    from alphalab.analyses import AnalysisContext, write_analysis

    scope = "plain" if cfg.validation is None else ("holdout" if holdout else "development")
    for acfg in cfg.analyses:
        ctx = AnalysisContext(
            config=cfg,
            panel=panel,
            results=results,
            strategies=strategies,
            benchmark=bench,
            forecasts={},
            diagnostics={},
            scope=scope,
        )
        try:
            write_analysis(run_dir, acfg.name, acfg.build(), ctx)
        except (DataError, ConfigError) as exc:
            raise type(exc)(f"analysis {acfg.name!r} ({acfg.kind}): {exc}") from None


def _write_report(run_dir: Path, *, charts: bool, html: bool) -> Path | None:
    try:
        from alphalab.report import write_report
    except ImportError:
        warnings.warn(
            "alphalab.report.write_report is not available; the run has no charts or report.html",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    import inspect

    # ``charts`` / ``html`` switches go through only where the report layer offers them.
    params = inspect.signature(write_report).parameters
    options = {k: v for k, v in (("charts", charts), ("html", html)) if k in params}
    return Path(write_report(run_dir, **options))
