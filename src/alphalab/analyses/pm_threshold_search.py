"""Recipe R4 as a study analysis: signal models -> position manager -> threshold search ->
sealed validation and latest stress through the one engine -> gates -> reports.

Split roles (consecutive date blocks of the panel the analysis is given; in a study with
``validation.holdout`` that panel already stops before the study's sealed holdout):

=================== ===================================================================
``train``           fits the signal models (labels of the train rows only: purged at its end)
``tune``            calibrates the probabilities and runs the threshold search (its labels and
                    bar returns are read from the tune rows only, so nothing later reaches it)
``validation``      the founding ``validation_locked``: replayed once with the selected config,
                    executed by the engine (lots, T+N, costs), gated
``stress``          the founding ``latest_stress`` (the latest bars): same, stress gates
=================== ===================================================================

The founding trainer's sealed split maps onto the study's holdout idea (evaluated after
selection only, never searched); its stress split onto the study's stress slice (the
latest window). Every trade carries the sha256 of the position-manager config that made it.
"""

from __future__ import annotations

import base64
import json
import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.analyses import Analysis, AnalysisContext, _json_safe, register_analysis
from alphalab.errors import ConfigError, DataError

__all__ = ["PMThresholdSearch"]

_SPLITS = ("train", "tune", "validation", "stress")
_LABEL_KEYS = ("horizon", "take_profit_bps", "stop_bps", "adverse_bps", "market_bps")
_SEARCH_KEYS = ("mode", "simulation", "metric", "grid", "n_trials", "pbo_partitions", "compare_stateless")


def _mapping(name: str, v: Any) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"pm_threshold_search: {name} must be a mapping, got {v!r}")
    return dict(v)


@register_analysis("pm_threshold_search")
class PMThresholdSearch(Analysis):
    """Signals + position manager + threshold search + gates (see the module docstring).

    Parameters
    ----------
    universe_size : int
        The most liquid assets (median close x volume over the train split) that trade.
    splits : dict
        Fractions of the dates for ``train``, ``tune``, ``validation``, ``stress`` (sum 1).
    labels : dict
        ``horizon`` (bars), ``take_profit_bps``, ``stop_bps``, ``adverse_bps``, ``market_bps``.
    model : dict
        ``kind`` (lightgbm | mlp), ``calibration`` (isotonic | platt), ``params``.
    position_manager : dict
        Sections of :class:`~alphalab.portfolio.pm_config.PMConfig`.
    search : dict
        ``mode`` (grid | optuna), ``simulation`` (stateful | stateless), ``metric``, ``grid``,
        ``n_trials``, ``pbo_partitions``, ``compare_stateless`` (bool).
    gates : dict
        :class:`~alphalab.validation.pm_gates.PMGates` thresholds.
    """

    title = "Position-manager threshold search (R4)"

    def __init__(self, universe_size: int = 50, splits: dict | None = None, labels: dict | None = None,
                 model: dict | None = None, position_manager: dict | None = None, search: dict | None = None,
                 gates: dict | None = None) -> None:
        from alphalab.models.pm_signals import SignalModels
        from alphalab.portfolio.pm_config import PMConfig
        from alphalab.validation.pm_gates import PMGates
        from alphalab.validation.threshold_search import METRICS, _check_grid

        if isinstance(universe_size, bool) or not isinstance(universe_size, int) or universe_size < 2:
            raise ConfigError(f"pm_threshold_search: universe_size must be an integer >= 2, got {universe_size!r}")
        sp = _mapping("splits", splits) or {"train": 0.5, "tune": 0.2, "validation": 0.2, "stress": 0.1}
        if set(sp) != set(_SPLITS):
            raise ConfigError(f"pm_threshold_search: splits needs exactly {list(_SPLITS)}, got {sorted(sp)}")
        for k, v in sp.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < float(v) < 1:
                raise ConfigError(f"pm_threshold_search: splits.{k} must be a fraction in (0, 1), got {v!r}")
        if abs(sum(float(v) for v in sp.values()) - 1.0) > 1e-9:
            raise ConfigError(f"pm_threshold_search: split fractions must sum to 1, got {sum(sp.values())}")
        lb = _mapping("labels", labels)
        bad = sorted(set(lb) - set(_LABEL_KEYS))
        if bad:
            raise ConfigError(f"pm_threshold_search: labels has no key(s) {bad}; valid: {list(_LABEL_KEYS)}")
        md = _mapping("model", model)
        bad = sorted(set(md) - {"kind", "calibration", "params"})
        if bad:
            raise ConfigError(f"pm_threshold_search: model has no key(s) {bad}; valid: kind, calibration, params")
        SignalModels(**md)
        PMConfig.from_dict(position_manager)
        se = _mapping("search", search)
        bad = sorted(set(se) - set(_SEARCH_KEYS))
        if bad:
            raise ConfigError(f"pm_threshold_search: search has no key(s) {bad}; valid: {list(_SEARCH_KEYS)}")
        if se.get("mode", "grid") not in ("grid", "optuna"):
            raise ConfigError(f"pm_threshold_search: search.mode must be grid or optuna, got {se.get('mode')!r}")
        if se.get("simulation", "stateful") not in ("stateful", "stateless"):
            raise ConfigError("pm_threshold_search: search.simulation must be stateful or stateless, "
                              f"got {se.get('simulation')!r}")
        if se.get("metric", "founding") not in METRICS:
            raise ConfigError(f"pm_threshold_search: search.metric must be one of {list(METRICS)}, "
                              f"got {se.get('metric')!r}")
        _check_grid(_mapping("search.grid", se.get("grid")) or {})
        PMGates.from_dict(gates)
        self.universe_size = universe_size
        self.splits = splits
        self.labels = labels
        self.model = model
        self.position_manager = position_manager
        self.search = search
        self.gates = gates

    # ------------------------------------------------------------------------------------------
    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        from alphalab.backtest.costs import Costs
        from alphalab.backtest.engine import backtest
        from alphalab.backtest.roundtrips import round_trips
        from alphalab.models.pm_signals import FEATURES, SignalModels, build_signals, pm_features
        from alphalab.models.trade_labels import round_trip_cost_bps, trade_labels
        from alphalab.portfolio.pm_config import SEARCH_KEYS, PMConfig
        from alphalab.portfolio.pm_kernel import EVENTS, pm_run
        from alphalab.validation.pm_gates import PMGates, evaluate_pm_gates, trade_metrics
        from alphalab.validation.threshold_search import threshold_search

        cfg = ctx.config
        market = cfg.data.market
        ex = cfg.execution
        costs_cfg = ex.costs
        slippage = float(costs_cfg.slippage_bps or 0.0)
        commission = costs_cfg.commission_bps
        capital = float(ex.initial_cash)
        seed = int(cfg.seed)
        out = Path(ctx.out_dir)

        panel = ctx.panel
        for f in ("open", "close", "volume"):
            if f not in panel.field_names:
                raise DataError(f"pm_threshold_search needs the panel field {f!r}")
        n = panel.n_dates
        sp = _mapping("splits", self.splits) or {"train": 0.5, "tune": 0.2, "validation": 0.2, "stress": 0.1}
        cuts = np.round(np.cumsum([float(sp[k]) for k in _SPLITS]) * n).astype(int)
        bounds = dict(zip(_SPLITS, zip(np.r_[0, cuts[:-1]], cuts, strict=True), strict=True))
        lb = {"horizon": 5, **_mapping("labels", self.labels)}
        h = int(lb["horizon"])
        for k, (a, b) in bounds.items():
            if b - a < max(3 * h, 30):
                raise DataError(f"pm_threshold_search: split {k!r} has {b - a} bars; needs at least {max(3 * h, 30)}")

        # liquid universe from the train split only
        a0, a1 = bounds["train"]
        tv = np.asarray(panel["close"][a0:a1] * panel["volume"][a0:a1], float)
        med = np.nanmedian(np.where(np.isfinite(tv), tv, np.nan), axis=0)
        order = np.argsort(-np.nan_to_num(med, nan=-1.0), kind="stable")
        keep = sorted(int(i) for i in order[: self.universe_size] if np.isfinite(med[i]))
        assets = [panel.assets[i] for i in keep]
        panel = panel.select_assets(assets)
        na = len(assets)

        feats = pm_features(panel)
        close, opn = np.asarray(panel["close"], float), np.asarray(panel["open"], float)
        tvalue = close * np.asarray(panel["volume"], float)
        liq = np.full_like(close, np.nan)
        c = np.nancumsum(np.nan_to_num(tvalue), axis=0)
        liq[20:] = (c[20:] - c[:-20]) / 20.0 / capital  # mean traded value of the last 20 bars / capital

        def sl(k: str) -> slice:
            a, b = bounds[k]
            return slice(int(a), int(b))

        def labels_of(k: str):
            return trade_labels(panel.iloc_dates(sl(k)), market, h, slippage_bps=slippage, commission_bps=commission,
                                **{x: lb[x] for x in _LABEL_KEYS if x in lb and x != "horizon"})

        def feats_of(k: str) -> dict[str, np.ndarray]:
            return {name: v[sl(k)] for name, v in feats.items()}

        md = _mapping("model", self.model)
        models = SignalModels(random_state=seed, **md)
        models.fit(feats_of("train"), labels_of("train"), slice(None))
        tune_labels = labels_of("tune")
        calib = models.calibrate(feats_of("tune"), tune_labels, slice(None))

        def signals_of(k: str) -> np.ndarray:
            pred = models.predict(feats_of(k), slice(None), na)
            return build_signals(pred, close[sl(k)], opn[sl(k)], liq[sl(k)])

        base = PMConfig.from_dict(self.position_manager)
        se = {"mode": "grid", "simulation": "stateful", "metric": "founding", "n_trials": 200,
              "pbo_partitions": 8, "compare_stateless": True, **_mapping("search", self.search)}
        half = round_trip_cost_bps(market, 1, slippage, commission) / 2.0
        sig_tune = signals_of("tune")
        rl, rs = tune_labels.edge_long.values, tune_labels.edge_short.values
        res = threshold_search(sig_tune, base, mode=se["mode"], simulation=se["simulation"], metric=se["metric"],
                               grid=se.get("grid"), real_long=rl, real_short=rs, half_cost_bps=half,
                               n_trials=int(se["n_trials"]), seed=seed, pbo_partitions=int(se["pbo_partitions"]))
        best = res.best_config
        sha = best.sha256()
        res.candidates.to_parquet(out / "candidates.parquet")
        (out / "best_config.json").write_text(json.dumps(
            _json_safe({"sha256": sha, "config": best.to_dict()}), indent=1, allow_nan=False))
        stateless_cmp = None
        if se["compare_stateless"] and se["simulation"] == "stateful":
            sl_res = threshold_search(sig_tune, base, mode=se["mode"], simulation="stateless", metric=se["metric"],
                                      grid=se.get("grid"), real_long=rl, real_short=rs, n_trials=int(se["n_trials"]),
                                      seed=seed, pbo_partitions=int(se["pbo_partitions"]))
            row = sl_res.candidates.iloc[sl_res.best]
            stateless_cmp = {"best_thresholds": {k: float(row[k]) for k in SEARCH_KEYS},
                             "best_score": float(row["score"]), "n_trades": int(row["n_trades"]),
                             "avg_edge_bps": float(row["avg_edge_bps"]),
                             "same_best_as_stateful": bool(all(float(row[k]) == float(getattr(best.entry, k))
                                                               for k in SEARCH_KEYS))}

        # replay the selected config through the one engine, split by split
        costs = Costs(commission_bps=commission, slippage_bps=slippage, min_commission=costs_cfg.min_commission)
        ledgers, metrics, runs, events = [], {}, {}, {}
        for k in ("tune", "validation", "stress"):
            sig = sig_tune if k == "tune" else signals_of(k)
            target, ev = pm_run(sig, best.vector())
            p_split = panel.iloc_dates(sl(k))
            result = backtest(target, p_split, market, execution=ex.at, costs=costs, initial_cash=capital,
                              rules=ex.rules)
            trips = round_trips(result.trades_frame(), pd.Series(p_split["close"][-1], index=p_split.assets),
                                p_split.dates[-1])
            trips.insert(0, "split", k)
            trips["config_sha256"] = sha
            ledgers.append(trips)
            metrics[k] = trade_metrics(trips["edge_bps"].to_numpy())
            metrics[k]["total_return"] = float(result.equity.iloc[-1] / capital - 1.0)
            runs[k] = (p_split, result)
            events[k] = {EVENTS[int(c)]: int((ev == c).sum()) for c in np.unique(ev) if c != 0}
        ledger = pd.concat(ledgers, ignore_index=True)
        gates = PMGates.from_dict(self.gates)
        verdict = evaluate_pm_gates(metrics["validation"], metrics["stress"], gates)

        # features at each trade's decision bar (the bar before its first fill)
        dates = panel.dates
        pos = {t: i for i, t in enumerate(panel.assets)}
        dec_rows = np.clip(dates.searchsorted(pd.DatetimeIndex(ledger["entry_date"])) - 1, 0, n - 1)
        cols = np.array([pos[t] for t in ledger["ticker"]], dtype=int) if len(ledger) else np.zeros(0, int)
        for name in FEATURES:
            ledger[f"feat_{name}"] = feats[name][dec_rows, cols] if len(ledger) else []
        ledger["decision_date"] = dates[dec_rows] if len(ledger) else pd.DatetimeIndex([])
        ledger = _with_regimes(ledger, feats, dec_rows, bounds["train"])
        ledger.to_parquet(out / "trades.parquet")
        worst = ledger.nsmallest(20, "edge_bps")

        regimes = []
        for keys in (["split"], ["split", "side"], ["trend_state"], ["vol_state"], ["split", "trend_state", "vol_state"]):
            for grp, g in ledger.groupby(keys, sort=True):
                grp = grp if isinstance(grp, tuple) else (grp,)
                regimes.append({"by": "+".join(keys), "group": " / ".join(str(x) for x in grp),
                                **trade_metrics(g["edge_bps"].to_numpy())})
        _reliability_png(calib, out / "reliability.png")

        # a plain comparison after costs: equal weight on the same universe and span
        baseline = {}
        for k in ("validation", "stress"):
            p_split, result = runs[k]
            w = np.full((p_split.n_dates, na), 1.0 / na)
            ew = backtest(w, p_split, market, execution=ex.at, costs=costs, initial_cash=capital, rules=ex.rules,
                          rebalance="monthly")
            baseline[k] = {"pm_total_return": metrics[k]["total_return"],
                           "equal_weight_total_return": float(ew.equity.iloc[-1] / capital - 1.0)}
            baseline[k]["beat_equal_weight"] = baseline[k]["pm_total_return"] > baseline[k]["equal_weight_total_return"]
        suspect = [f"{k}: profit factor {metrics[k]['profit_factor']:.2f} > 3 (far above published bands)"
                   for k in ("validation", "stress") if metrics[k]["profit_factor"] > 3 and metrics[k]["n_trades"] >= 20]

        ablation = _ablation(out, best, sha, {k: signals_of(k) if k != "tune" else sig_tune for k in ("validation",)},
                             runs, market, ex, costs, capital, metrics)
        summary = {
            "verdict": verdict["verdict"],
            "reasons": verdict["reasons"],
            "checks": verdict["checks"],
            "gates": gates.to_dict(),
            "config_sha256": sha,
            "best_config": best.to_dict(),
            "splits": {k: {"start": str(dates[a].date()), "end": str(dates[b - 1].date()), "bars": int(b - a)}
                       for k, (a, b) in bounds.items()},
            "universe": {"n_assets": na, "rule": f"top {self.universe_size} by median close x volume over train"},
            "labels": lb,
            "search": {"mode": res.mode, "simulation": res.simulation, "metric": res.metric,
                       "n_candidates": len(res.candidates), "best_score": float(res.candidates["score"].iat[res.best]),
                       "best_thresholds": {k: float(getattr(best.entry, k)) for k in SEARCH_KEYS},
                       "stability": res.stability, "dsr": res.dsr, "pbo": res.pbo,
                       "top": res.candidates.sort_values("rank").head(10).to_dict("records"),
                       "stateless_comparison": stateless_cmp},
            "metrics": metrics,
            "events": events,
            "regimes": regimes,
            "worst_trades": worst.assign(entry_date=worst["entry_date"].astype(str),
                                         exit_date=worst["exit_date"].astype(str),
                                         decision_date=worst["decision_date"].astype(str)).to_dict("records"),
            "calibration": {k: {"brier_before": v["before"]["brier"], "brier_after": v["after"]["brier"],
                                "calibrated": v["calibrated"], "after": v["after"]} for k, v in calib.items()},
            "model": {"kind": models.kind, "calibration": models.calibration, "n_train": models.n_train_},
            "baseline": baseline,
            "suspect": suspect,
            "ablation": ablation,
        }
        return summary

    # ------------------------------------------------------------------------------------------
    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        v = summary.get("verdict", "?")
        parts = [f"<p><b>Verdict: {escape(str(v))}</b> &mdash; config sha256 "
                 f"<code>{escape(str(summary.get('config_sha256', '')))}</code></p>"]
        if summary.get("reasons"):
            parts.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in summary["reasons"]) + "</ul>")
        s = summary.get("search", {})
        parts.append(f"<p>Search: {escape(str(s.get('mode')))} / {escape(str(s.get('simulation')))} over "
                     f"{s.get('n_candidates')} candidates on the tune split, metric {escape(str(s.get('metric')))}; "
                     f"best score {_fmt(s.get('best_score'))}; DSR {_fmt((s.get('dsr') or {}).get('dsr'))}; "
                     f"PBO {_fmt((s.get('pbo') or {}).get('pbo'))}; neighbour mean score "
                     f"{_fmt((s.get('stability') or {}).get('neighbour_mean'))}.</p>")
        parts.append(_table([{"split": k, **m} for k, m in (summary.get("metrics") or {}).items()]))
        parts.append("<h4>Baselines after costs</h4>" + _table(
            [{"split": k, **m} for k, m in (summary.get("baseline") or {}).items()]))
        if summary.get("suspect"):
            parts.append("<p><b>Suspect:</b> " + escape("; ".join(summary["suspect"])) + "</p>")
        parts.append("<h4>Top candidates</h4>" + _table(s.get("top") or []))
        parts.append("<h4>Metrics by regime, split and side</h4>" + _table(summary.get("regimes") or []))
        worst = [{k: r.get(k) for k in ("split", "ticker", "side", "entry_date", "exit_date", "edge_bps",
                                        "trend_state", "vol_state", "feat_ret5", "feat_vol20")}
                 for r in summary.get("worst_trades") or []]
        parts.append("<h4>20 worst trades</h4>" + _table(worst))
        ab = summary.get("ablation") or {}
        parts.append(f"<h4>Ablation</h4><p>{escape(str(ab.get('status')))}: {escape(str(ab.get('note', '')))}</p>")
        png = Path(files) / "reliability.png"
        if png.is_file():
            data = base64.b64encode(png.read_bytes()).decode()
            parts.append(f'<h4>Reliability (tune split)</h4><img src="data:image/png;base64,{data}" width="720"/>')
        return "\n".join(parts)


def _fmt(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else (
        f"{x:.4g}" if isinstance(x, (int, float)) else escape(str(x)))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    keys = list(rows[0])
    head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(k))}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _with_regimes(ledger: pd.DataFrame, feats: dict[str, np.ndarray], rows: np.ndarray,
                  train: tuple[int, int]) -> pd.DataFrame:
    """Trend / range and high / low volatility state of the market at each trade's decision bar.

    Trend: the equal-weight market's 20-bar return exceeds one 20-bar standard deviation
    (|ret20| > vol20 x sqrt(20), vol20 the market's mean asset volatility); high volatility:
    vol20 above its median over the train split (a threshold fixed before any trade).
    """
    mret20 = feats["mkt_ret20"][:, 0]
    v20 = feats["vol20"]
    cnt = np.isfinite(v20).sum(axis=1)
    vol = np.where(cnt > 0, np.nansum(v20, axis=1) / np.maximum(cnt, 1), np.nan)
    thr = float(np.nanmedian(vol[train[0]:train[1]])) if np.isfinite(vol[train[0]:train[1]]).any() else np.nan
    trend = np.where(np.abs(mret20) > vol * math.sqrt(20), "trend", "range")
    trend = np.where(np.isfinite(mret20) & np.isfinite(vol), trend, "unknown")
    vstate = np.where(np.isfinite(vol), np.where(vol > thr, "high_vol", "low_vol"), "unknown")
    ledger = ledger.copy()
    ledger["trend_state"] = trend[rows] if len(ledger) else []
    ledger["vol_state"] = vstate[rows] if len(ledger) else []
    ledger["side"] = np.where(ledger["side"] > 0, "long", "short") if len(ledger) else []
    return ledger


def _reliability_png(calib: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(calib)
    fig, axes = plt.subplots(1, len(keys), figsize=(2.6 * len(keys), 2.8), squeeze=False)
    for ax, k in zip(axes[0], keys, strict=True):
        for tag, style in (("before", "o--"), ("after", "s-")):
            r = calib[k][tag]
            ax.plot(r["mean_predicted"], r["observed"], style, ms=3, label=tag)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
        ax.set_title(k, fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _ablation(out: Path, best, sha: str, sigs: dict[str, np.ndarray], runs: dict, market: str, ex, costs,
              capital: float, metrics: dict) -> dict[str, Any]:
    """Replay the latest previously accepted config of this analysis (run history) on this run's validation."""
    from alphalab.backtest.engine import backtest
    from alphalab.backtest.roundtrips import round_trips
    from alphalab.portfolio.pm_config import PMConfig
    from alphalab.portfolio.pm_kernel import pm_run
    from alphalab.validation.pm_gates import trade_metrics

    name = out.name
    run_dir = out.parent.parent
    history = run_dir.parent
    found = []
    if history.is_dir():
        for d in history.iterdir():
            rec = d / "analyses" / f"{name}.json"
            if d == run_dir or not rec.is_file():
                continue
            try:
                summary = json.loads(rec.read_text()).get("summary") or {}
            except (OSError, ValueError):
                continue
            if summary.get("verdict") == "PASS" and isinstance(summary.get("best_config"), dict):
                found.append((rec.stat().st_mtime, d.name, summary))
    if not found:
        return {"status": "NO_BASELINE", "note": f"no earlier run in {history} has an accepted ({name}) config"}
    _, run_name, prev = max(found)
    prev_cfg = PMConfig.from_dict(prev["best_config"])
    target, _ = pm_run(sigs["validation"], prev_cfg.vector())
    p_split, _ = runs["validation"]
    result = backtest(target, p_split, market, execution=ex.at, costs=costs, initial_cash=capital, rules=ex.rules)
    trips = round_trips(result.trades_frame(), pd.Series(p_split["close"][-1], index=p_split.assets),
                        p_split.dates[-1])
    prev_m = trade_metrics(trips["edge_bps"].to_numpy())
    changed = {f"{s}.{k}": [v, best.to_dict()[s][k]] for s, sec in prev_cfg.to_dict().items()
               for k, v in sec.items() if best.to_dict()[s][k] != v}
    return {"status": "COMPARED", "baseline_run": run_name, "baseline_sha256": prev_cfg.sha256(),
            "current_sha256": sha, "changed": changed, "validation_baseline": prev_m,
            "validation_current": metrics["validation"],
            "note": f"previous accepted config from run {run_name} replayed on this run's validation split"}
