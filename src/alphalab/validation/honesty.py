"""Glue between a study run and the honesty checks: the leakage guard, SUSPECT, and
the verdict they override.

``study.py`` calls :func:`guard_study` once every strategy has its results and before
anything is written, then :func:`apply_verdicts` to fold LEAK and SUSPECT into
``gates.json`` and the manifest. Precedence: LEAK > SUSPECT > the gate verdict; neither
can ever read PASS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.validation.guard import (
    GuardReport,
    GuardSpec,
    StrategyPlan,
    plan_from_run,
    plan_from_walk_forward,
    run_guard,
)
from alphalab.validation.suspect import SuspectSpec, judge_suspect, weight_ic

__all__ = ["apply_verdicts", "guard_study", "suspect_of_run", "suspect_of_validations"]


def _raw(panel: Panel, feature_fields: list[str]) -> Panel:
    keep = {k: v for k, v in panel.fields.items() if k not in set(feature_fields)}
    return Panel(keep, panel.dates, panel.assets, panel.meta)


def guard_study(
    cfg: Any,
    strategies: Mapping[str, Any],
    panel: Panel,
    *,
    run_seconds: float,
    feature_info: Mapping[str, Any] | None = None,
    validations: Mapping[str, Any] | None = None,
    decisions: pd.DatetimeIndex | None = None,
    holdout: bool = False,
) -> GuardReport:
    """Run the guard over every strategy and feature set of a study.

    Parameters
    ----------
    cfg : StudyConfig
    strategies : dict of str to Strategy
        The built strategy templates, by study name.
    panel : Panel
        The panel the strategies ran on (features included); for validated runs the
        full panel before the holdout cut.
    run_seconds : float
        Time the study took so far (the guard's budget is a share of it).
    feature_info : dict, optional
        ``{"sets": [...], "fields": [...]}`` as study.py records it.
    validations : dict of str to StrategyValidation, optional
        Validated runs: the walk-forward results to replay.
    decisions : pandas.DatetimeIndex, optional
        Plain runs: the decision dates.
    holdout : bool
        The holdout was opened (the walk-forward ran through it).
    """
    spec = getattr(cfg, "guard", None) or GuardSpec()
    feats = list((feature_info or {}).get("fields") or [])
    sets = list((feature_info or {}).get("sets") or [])
    plans: list[StrategyPlan] = []
    if validations is not None:
        wf_panel = panel
        hold = cfg.validation.holdout if cfg.validation is not None else None
        if hold is not None and not holdout:
            cut = int(panel.dates.searchsorted(pd.Timestamp(hold.start), "left"))
            wf_panel = panel.iloc_dates(slice(0, cut))
        for scfg in cfg.strategies:
            strat = strategies[scfg.name]
            single = scfg.tune is None and not strat.requires.learns
            plans.append(plan_from_walk_forward(
                scfg.name, strat, wf_panel, validations[scfg.name].walk_forward,
                cfg.execution.rebalance, single_pass=single, seed=cfg.seed,
            ))  # fmt: skip
        panel = wf_panel
    else:
        assert decisions is not None
        for scfg in cfg.strategies:
            plans.append(plan_from_run(scfg.name, strategies[scfg.name], panel, decisions, cfg.seed))
    return run_guard(
        spec, plans, panel, raw=_raw(panel, feats) if sets else None, feature_sets=sets,
        run_seconds=run_seconds,
    )  # fmt: skip


def suspect_of_validations(
    spec: SuspectSpec | None, validations: Mapping[str, Any], panel: Panel
) -> dict[str, Any]:
    """SUSPECT verdicts of validated strategies (IC from the stitched decisions)."""
    out = {}
    for name, v in validations.items():
        wf = v.walk_forward
        n = wf.weights.shape[0]
        close = panel["close"][:n]
        rows = np.asarray(panel.dates[:n] >= v.returns.index[0]) if len(v.returns) else None
        w = wf.weights if rows is None else np.where(rows[:, None], wf.weights, np.nan)
        ic = weight_ic(w, close)
        out[name] = judge_suspect(spec, v.metrics.to_dict(), v.returns.to_numpy(), ic=ic)
    return out


def suspect_of_run(spec: SuspectSpec | None, results: Mapping[str, Any]) -> dict[str, Any]:
    """SUSPECT verdicts of a plain run (no decision IC: only held weights are kept)."""
    return {n: judge_suspect(spec, r.metrics().to_dict(), r.returns.to_numpy()) for n, r in results.items()}


def verdict_of(gate_status: str | None, leaks: list[Any], suspect: Any) -> tuple[str, list[str]]:
    """Final status and the reasons to show first."""
    if leaks:
        return "LEAK", [f.message() for f in leaks]
    if suspect is not None and suspect.suspect:
        return "SUSPECT", [f"SUSPECT: {r}" for r in suspect.reasons]
    return gate_status or "NO GATES", []


def apply_verdicts(
    extras: dict[str, Any],
    guard: GuardReport,
    suspects: Mapping[str, Any],
    names: list[str],
) -> dict[str, Any]:
    """Fold LEAK / SUSPECT into gates.json and manifest entries of ``extras`` (in place).

    Plain runs (no gates.json) get ``manifest["verdicts"]``. Returns ``{name: status}``.
    """
    files = extras.setdefault("files", {})
    manifest = extras.setdefault("manifest", {})
    gates = files.get("gates.json")
    statuses: dict[str, str] = {}
    for name in names:
        leaks = guard.leaks_for(name)
        sus = suspects.get(name)
        entry = None if gates is None else gates["strategies"].get(name)
        status, first = verdict_of(None if entry is None else entry.get("status"), leaks, sus)
        statuses[name] = status
        if entry is not None:
            entry["gate_status"] = entry.get("status")
            entry["status"] = status
            entry["reasons"] = first + list(entry.get("reasons") or [])
            entry["leaks"] = [f.to_dict() for f in leaks]
            entry["suspect"] = None if sus is None else sus.to_dict()
    if gates is not None:
        gates["guard"] = guard.to_dict()
        manifest.setdefault("validation", {})["verdicts"] = dict(statuses)
    manifest["guard"] = guard.to_dict()
    manifest["verdicts"] = dict(statuses)
    manifest["suspect"] = {n: s.to_dict() for n, s in suspects.items()}
    return statuses


def study_checks(
    cfg: Any,
    strategies: Mapping[str, Any],
    panel: Panel,
    extras: dict[str, Any],
    *,
    run_seconds: float,
    feature_info: Mapping[str, Any] | None,
    validations: Mapping[str, Any] | None,
    decisions: pd.DatetimeIndex | None,
    results: Mapping[str, Any],
    holdout: bool,
) -> dict[str, str]:
    """The one call study.py makes: guard, SUSPECT and the final verdicts into ``extras``."""
    guard = guard_study(
        cfg, strategies, panel, run_seconds=run_seconds, feature_info=feature_info,
        validations=validations, decisions=decisions, holdout=holdout,
    )  # fmt: skip
    spec = None if cfg.gates is None else cfg.gates.suspect
    if validations is not None:
        suspects = suspect_of_validations(spec, validations, panel)
    else:
        suspects = suspect_of_run(spec, results)
    seal_extras(cfg, panel, extras, holdout)
    if validations:
        ledger = next(iter(validations.values())).overfitting.get("ledger")
        extras.setdefault("manifest", {})["trials"] = ledger
    return apply_verdicts(extras, guard, suspects, [s.name for s in cfg.strategies])


def seal_for_study(cfg: Any) -> None:
    """``validation.holdout.start`` seals the study's dataset (by content) from that date."""
    from alphalab.data.seal import content_hash_of, seal_dataset

    hold = None if cfg.validation is None else cfg.validation.holdout
    if hold is None:
        return
    source = cfg.resolve_source(cfg.data.dataset)
    store = None if cfg.data.store is None else cfg.resolve_source(cfg.data.store)
    content = content_hash_of(source, store=store)
    if content is not None:
        seal_dataset(content[0], hold.start, content[1], source=f"study {cfg.name}")


def seal_extras(cfg: Any, panel: Panel, extras: dict[str, Any], holdout: bool) -> None:
    """Seal state into the manifest; an opened seal is recorded as one look of this
    dataset (any study name), and the looks shown are the dataset's, not the study's."""
    from alphalab.data.seal import look_summary, panel_seal, record_look

    seal = panel_seal(panel)
    manifest = extras.setdefault("manifest", {})
    if seal is None:
        manifest["seal"] = None
        return
    opened = bool(panel.meta["seal"].get("opened")) and bool((panel.dates >= seal.sealed_from).any())
    if opened:
        record_look(seal, f"study:{cfg.name}", config_hash=cfg.config_hash(), study=cfg.name,
                    holdout=holdout)  # fmt: skip
    looks = look_summary(seal)
    manifest["seal"] = {**seal.to_dict(opened=opened, n_looks=looks["n_evaluations"]),
                        "cut": bool(panel.meta["seal"].get("cut"))}  # fmt: skip
    gates = extras.get("files", {}).get("gates.json")
    if gates is not None:
        gates["holdout_looks"] = looks
        gates["seal"] = manifest["seal"]
    if "validation" in manifest:
        manifest["validation"]["holdout_looks"] = looks


def study_panel(panel: Panel) -> Panel:
    """Mark an opened seal as recorded by the study (one look per run, not per strategy)."""
    info = panel.meta.get("seal")
    if not isinstance(info, dict):
        return panel
    return panel.with_meta(seal={**info, "recorded_by": "study"})


def _configs_of(scfg: Any, v: Any) -> list[dict[str, Any]]:
    """Every configuration a validated strategy evaluated, with its OOS Sharpe if known."""
    base = dict(scfg.params)
    if scfg.tune is None:
        return [{"kind": scfg.kind, "params": base, "sharpe": v.overfitting.get("sharpe")},
                *_inner_tuning_configs(scfg, base, v)]
    sharpes = v.overfitting.get("candidate_sharpes") or []
    out: dict[str, dict[str, Any]] = {}
    for i, params in enumerate(v.candidates):
        full = {**base, **params}
        out[repr(sorted(full.items()))] = {
            "kind": scfg.kind, "params": full,
            "sharpe": sharpes[i] if i < len(sharpes) else None,
        }  # fmt: skip
    for t in v.walk_forward.trials:  # Optuna trials beyond the candidates count too
        full = {**base, **t["params"]}
        out.setdefault(repr(sorted(full.items())), {"kind": scfg.kind, "params": full})
    return list(out.values()) + _inner_tuning_configs(scfg, base, v)


def _inner_tuning_configs(scfg: Any, base: dict[str, Any], v: Any) -> list[dict[str, Any]]:
    """Configurations a forecaster tried while tuning itself inside ``fit`` (its ``tune`` option,
    e.g. the volatility lab's GINN), read from the folds' ``diagnostics_["forecaster"]["tuning"]``."""
    spec = base.get("forecaster")
    if not isinstance(spec, dict):
        return []
    out: dict[str, dict[str, Any]] = {}
    for d in getattr(v.walk_forward, "diagnostics", None) or []:
        tuning = (d.get("forecaster") or {}).get("tuning") if isinstance(d, dict) else None
        if not isinstance(tuning, dict):
            continue
        for t in tuning.get("trials", []):
            params = {**(spec.get("params") or {}), **t["params"], "tune": None}
            full = {**base, "forecaster": {**spec, "params": params}}
            out.setdefault(repr(sorted(params.items())), {"kind": scfg.kind, "params": full})
    return list(out.values())


def apply_trial_ledger(cfg: Any, validations: dict[str, Any], panel: Panel, holdout: bool) -> dict[str, Any]:
    """Record every configuration of a development run in the dataset's trial ledger and
    deflate every strategy's Sharpe by the ledger's total (see :mod:`.trials`).

    Returns the validations with ``overfitting`` (``n_trials``, ``dsr``, ``sr0``,
    ``n_trials_run``, ``ledger``) and the DSR gate updated. Holdout runs are not trials
    on the development span: their ledger is read, not written.
    """
    import dataclasses
    import math

    from alphalab.validation.gates import GateVerdict, _check
    from alphalab.validation.stats import deflated_sharpe_ratio
    from alphalab.validation.trials import TrialLedger

    if not validations:
        return validations
    first = next(iter(validations.values()))
    content = panel.meta.get("content_hash") or panel.data_hash()
    hold = None if cfg.validation is None or cfg.validation.holdout is None else cfg.validation.holdout.start
    span_end = str(hold) if hold is not None else str(first.returns.index[-1].date())
    ledger = TrialLedger(str(content), str(panel.dates[0].date()), span_end)
    if not holdout:
        ledger.record(
            {**c, "study": cfg.name, "strategy": scfg.name}
            for scfg in cfg.strategies
            for c in _configs_of(scfg, validations[scfg.name])
        )  # fmt: skip
    summary = ledger.summary()
    out = {}
    for name, v in validations.items():
        of = dict(v.overfitting)
        n_total = max(summary.n_distinct, 1)
        var = summary.sharpe_variance if math.isfinite(summary.sharpe_variance) else of["sharpe_variance"]
        of["n_trials_run"] = of["n_trials"]
        of["n_trials"] = n_total
        of["sharpe_variance_ledger"] = var
        if math.isfinite(of["sharpe"]):
            of["dsr"], of["sr0"] = deflated_sharpe_ratio(
                of["sharpe"], of["n_obs"], n_total, var, of["skew"], of["kurtosis"]
            )
        of["ledger"] = {**summary.to_dict(), "span": [ledger.start, ledger.end],
                        "content_hash": str(content)}  # fmt: skip
        checks = tuple(
            _check(c.name, of["dsr"], c.threshold, c.op) if c.name == "deflated Sharpe probability" else c
            for c in v.verdict.checks
        )
        verdict = GateVerdict("PASS" if all(c.passed for c in checks) else "REJECTED", checks)
        out[name] = dataclasses.replace(v, overfitting=of, verdict=verdict)
    return out
