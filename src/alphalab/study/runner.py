"""The study runner: a :class:`~alphalab.config.StudyConfig` in, a run directory out."""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.config import StudyConfig
from alphalab.data.repair import apply_data_policy
from alphalab.errors import ConfigError, DataError
from alphalab.report.rundir import is_replaceable, publish, write_manifest, write_run
from alphalab.study.analyses import run_analyses
from alphalab.study.benchmark import benchmark_returns, load_benchmark
from alphalab.study.execute import metrics_table, run_one, validate_one, validation_extras
from alphalab.study.inputs import (
    add_features,
    adjustment_state,
    data_health,
    decision_dates,
    holdout_start,
    load_panel,
    study_window,
)
from alphalab.study.output import default_out, package_versions, write_report
from alphalab.study.progress import Progress, Timer
from alphalab.validation.gates import judge_data_health
from alphalab.validation.honesty import (
    apply_trial_ledger,
    seal_for_study,
    study_checks,
    study_panel,
)

__all__ = ["RunResult", "Study"]


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
    def from_yaml(
        cls, path: str | Path, *, profile: str | None = None, overrides: list[str] | tuple[str, ...] = ()
    ) -> Study:
        """Read and validate a YAML study file (see :meth:`StudyConfig.from_yaml`);
        ``profile`` merges a named entry of its ``profiles`` section first."""
        return cls(StudyConfig.from_yaml(path, profile=profile, overrides=overrides))

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
        final = Path(out) if out is not None else default_out(cfg)
        for part in (final, *final.parents):
            if part.is_file():
                raise ConfigError(
                    f"output path {part} is a file, not a folder; choose another --out"
                )
        if final.exists() and not is_replaceable(final):
            raise ConfigError(
                f"output folder {final} exists and is not an alphalab run directory; "
                "choose another --out"
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        timer = Timer()
        t_start = time.perf_counter()
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        want_report = cfg.report.charts or cfg.report.html
        n_steps = len(cfg.strategies) + 2 + int(want_report)

        with Progress(progress, n_steps) as bar:
            bar.step("loading data")
            with timer.stage("load"):
                seal_for_study(cfg)  # validation.holdout seals the data itself
                panel, source = load_panel(cfg, open_seal=holdout)
                panel = study_panel(panel)  # the study records one look per run, not per strategy
                bench_close, bench_validation = load_benchmark(cfg, panel)
            data_hash = panel.data_hash()  # of the data as loaded, before features are added
            health = policy = None
            if cfg.report.health or cfg.validation is not None or cfg.data.repair:
                with timer.stage("health"):
                    health = data_health(cfg, panel)
                    panel, policy = apply_data_policy(
                        panel, health, repair=cfg.data.repair, waive=cfg.data.waive
                    )
            feature_info = None
            if cfg.features is not None:
                with timer.stage("features"):
                    panel, feature_info = add_features(cfg, panel)
            bar.advance()

            strategies = {s.name: s.build() for s in cfg.strategies}
            for scfg in cfg.strategies:
                # Check every strategy against the data before running any.
                try:
                    strategies[scfg.name].check(panel)
                except DataError as exc:
                    raise DataError(f"strategy {scfg.name!r} ({scfg.kind}): {exc}") from None
            # One execution path: every strategy runs through the walk-forward
            # runner. A plain run is one split (train before the first simulated
            # date, test from it); a validated run is the protocol's walk-forward.
            # Rows before data.start are history (fitting, look-backs) in both.
            results: dict[str, Any] = {}
            runs: dict[str, Any] = {}  # WalkForwardResult per strategy
            per_strategy: dict[str, float] = {}
            extras: dict[str, Any] = {}
            validations: dict[str, Any] | None = None
            decisions: pd.DatetimeIndex | None = None
            if cfg.validation is None:
                i0, i1 = study_window(cfg, panel, strategies)
                window_dates = panel.dates[i0:i1]
                decisions = decision_dates(cfg, window_dates)  # a list schedule must lie in it
                bench = (
                    None if bench_close is None else benchmark_returns(bench_close, window_dates)
                )
                for scfg in cfg.strategies:
                    bar.step(f"strategy {scfg.name}")
                    with timer.stage(scfg.name, per_strategy):
                        runs[scfg.name] = run_one(
                            cfg, scfg, strategies[scfg.name], panel, window_dates[0], executor
                        )
                    bar.advance()
                results = {n: wf.backtest for n, wf in runs.items()}
            else:
                first = (
                    0
                    if cfg.data.start is None
                    else int(panel.dates.searchsorted(pd.Timestamp(cfg.data.start), "left"))
                )
                full_bench = (
                    None
                    if bench_close is None
                    else benchmark_returns(bench_close, panel.dates[first:])
                )
                validations = {}
                for scfg in cfg.strategies:
                    bar.step(f"walk-forward {scfg.name}")
                    with timer.stage(scfg.name, per_strategy):
                        validations[scfg.name] = validate_one(
                            cfg, scfg, strategies[scfg.name], panel, full_bench, holdout, executor
                        )
                    bar.advance()
                runs = {n: v.walk_forward for n, v in validations.items()}
                # The evaluated span: the first out-of-sample date, or the holdout start.
                results = {
                    n: v.walk_forward.backtest.slice(v.returns.index[0], None)
                    for n, v in validations.items()
                }
                window_dates = next(iter(results.values())).dates
                bench = None if full_bench is None else full_bench.reindex(window_dates)
                # Error findings left in the traded data reject (gates.data_health).
                traded_until = None if holdout else holdout_start(cfg)
                validations = judge_data_health(
                    validations, policy.remaining_counts(traded_until, cfg.data.start), cfg.gates
                )
                # one trial count per dataset and span: DSR deflates by all of it
                validations = apply_trial_ledger(cfg, validations, panel, holdout)
                extras = validation_extras(cfg, validations, holdout)
            n_decisions = int(
                max(np.isfinite(wf.weights).any(axis=1).sum() for wf in runs.values())
            )
            timer.timings["strategies"] = per_strategy
            bar.step("leakage guard")
            with timer.stage("guard"):
                # Before anything is written: LEAK / SUSPECT override the gate verdicts.
                study_checks(
                    cfg, strategies, panel, extras, run_seconds=time.perf_counter() - t_start,
                    feature_info=feature_info, validations=validations, decisions=decisions,
                    results=results, holdout=holdout,
                )  # fmt: skip

            bar.step("writing run directory")
            with timer.stage("metrics"):
                metrics = metrics_table(results, bench, window_dates)
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
                "overrides": list(cfg.overrides),
                "window": {
                    "start": window_dates[0].date().isoformat(),
                    "end": window_dates[-1].date().isoformat(),
                    "n_dates": len(window_dates),
                    "n_decisions": n_decisions,
                    "history_start": panel.dates[0].date().isoformat(),
                },
                "n_assets": panel.n_assets,
                "data_validation": panel.meta.get("validation"),
                "universe": panel.meta.get("universe"),
                # raw / adjusted / split_only as the store or embedded set records it
                "data_adjusted": adjustment_state(panel),
                "data_health": None if health is None else {
                    "status": health.status, "summary": health.summary(),
                    **policy.to_dict(None if holdout else holdout_start(cfg), cfg.data.start),
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
                    files = dict(extras.get("files", {}))
                    if health is not None and cfg.report.health:
                        files["health.json"] = health.to_dict(max_issues=500)
                    write_run(
                        tmp,
                        manifest=manifest,
                        metrics=metrics,
                        results=results,
                        benchmark=bench,
                        initial_cash=cfg.execution.initial_cash,
                        config_text=cfg.to_yaml(),
                        files=files,
                        diagnostics={n: wf.diagnostics for n, wf in runs.items()},
                        forecasts={n: wf.forecasts for n, wf in runs.items()},
                    )
                if cfg.analyses:
                    with timer.stage("analyses"):
                        run_analyses(cfg, tmp, panel, results, strategies, bench, runs, holdout)
                publish(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            bar.advance()

            report_path: Path | None = None
            if want_report:
                bar.step("writing report")
                with timer.stage("report"):
                    report_path = write_report(
                        final, charts=cfg.report.charts, html=cfg.report.html
                    )
                bar.advance()
            bar.step("done")

        timer.timings["total"] = round(time.perf_counter() - t_start, 4)
        manifest["timings"] = timer.timings
        write_manifest(final, manifest)
        return RunResult(
            run_dir=final,
            metrics=metrics,
            results=results,
            manifest=json.loads((final / "manifest.json").read_text()),
            report=report_path,
        )

    # --------------------------------------------------------- helpers
