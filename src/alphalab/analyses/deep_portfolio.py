"""The deep-portfolio study's report: the paper's three conditions in one table, and a verdict.

Zhang, Zohren and Roberts (2020) report every strategy under three conditions: no volatility
scaling at 1 bp, scaled to 10 % at 1 bp, and scaled at 10 bp. This analysis re-runs each
strategy's stitched out-of-sample decisions through the study's own engine (market, rules,
execution, schedule) under each condition:

1. **Decisions recovered.** The run keeps held weights, not targets. With
   ``execution.at: next_close`` a decision made at the close of ``t`` fills at the close of
   ``t + 1`` at that close, so the held weights on each execution bar are the targets up to
   that bar's costs, which are added back: ``target = held * equity / (equity + cost)``
   (exact for commission-only costs with ``rules: proportional``; with ``next_open`` the
   held weights at the close approximate the targets, and the summary says so). Bars
   without an execution stay "no decision" (positions drift), as in the run.
2. **Scaled.** For a scaled condition the decisions go through
   :func:`alphalab.models.vol_scaling.scale_rows` (EWM volatility of ``vol_span`` days,
   ``vol_mode``: ``per_asset`` is the paper's layer, ``portfolio`` targets the portfolio;
   gross capped at ``max_leverage``: the engine does not lend).
3. **Costs.** The commission is set to the condition's bps (slippage and the market's taxes
   as configured), and the weights are backtested over the evaluated window.

Per condition the table holds expected return, volatility, Sharpe, Sortino, downside
deviation, maximum drawdown, % positive days, average gain / average loss and annual
turnover. The Deflated Sharpe Ratio of the model counts every configuration tried: each
strategy of the study plus every tuning trial (read from the run's manifest). A Sharpe above
``suspect_sharpe`` is flagged; assets that are indices (``^`` tickers, known index names,
or no traded volume) are named as not investable.
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

from alphalab.analyses import Analysis, AnalysisContext, register_analysis
from alphalab.errors import ConfigError, DataError

__all__ = ["PAPER_CONDITIONS", "DeepPortfolioReport", "paper_metrics"]

PAPER_CONDITIONS = [
    {"name": "1 bp, no scaling", "cost_bps": 1.0, "scaled": False},
    {"name": "1 bp, vol scaled", "cost_bps": 1.0, "scaled": True},
    {"name": "10 bp, vol scaled", "cost_bps": 10.0, "scaled": True},
]
#: Index symbols that are not investable as such (their futures or ETNs are).
KNOWN_INDICES = frozenset({"VIX", "SPX", "NDX", "DJI", "RUT", "GSPC", "IXIC", "VXN"})
COLUMNS = ["expected_return", "volatility", "sharpe", "sortino", "downside_deviation",
           "max_drawdown", "pct_positive", "avg_gain_over_loss", "turnover"]


def paper_metrics(returns: pd.Series, turnover: pd.Series | None = None,
                  periods_per_year: float = 252.0) -> dict[str, float]:
    """The paper's performance measures of a daily return series.

    Parameters
    ----------
    returns : pandas.Series, shape ``(n_dates,)``
    turnover : pandas.Series, optional
        Per-bar turnover; reported as its annual sum (mean * periods).

    Returns
    -------
    dict with :data:`COLUMNS` (annualised where it applies; max drawdown negative).
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 2:
        return dict.fromkeys(COLUMNS, math.nan)
    ann = math.sqrt(periods_per_year)
    mean, std = float(r.mean()), float(r.std(ddof=1))
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    wealth = np.cumprod(1.0 + r)
    dd = wealth / np.maximum.accumulate(np.maximum(wealth, 1.0)) - 1.0
    gains, losses = r[r > 0], r[r < 0]
    return {
        "expected_return": mean * periods_per_year,
        "volatility": std * ann,
        "sharpe": mean / std * ann if std > 0 else math.nan,
        "sortino": mean / down * ann if down > 0 else math.nan,
        "downside_deviation": down * ann,
        "max_drawdown": float(dd.min()),
        "pct_positive": float((r > 0).mean()),
        "avg_gain_over_loss": float(gains.mean() / -losses.mean()) if gains.size and losses.size else math.nan,
        "turnover": math.nan if turnover is None else float(np.nanmean(np.asarray(turnover, float))) * periods_per_year,
    }


def recover_decisions(result: Any, execution: str) -> pd.DataFrame:
    """Target weights ``(n_dates, n_assets)`` on the decision rows of a backtest, NaN elsewhere.

    See the module docstring (step 1).
    """
    held = result.weights.to_numpy(dtype=np.float64)
    equity = np.asarray(result.equity_values, dtype=np.float64)
    costs = np.asarray(result.costs_values, dtype=np.float64).sum(axis=1)
    out = np.full(held.shape, np.nan)
    for e in np.asarray(result.exec_bars, dtype=np.int64):
        if e < 1:
            continue
        factor = equity[e] / (equity[e] + costs[e]) if execution == "next_close" else 1.0
        out[e - 1] = np.nan_to_num(held[e]) * factor
    return pd.DataFrame(out, index=result.dates, columns=result.weights.columns)


def _non_investable(panel: Any, extra: list[str]) -> list[dict[str, str]]:
    found = []
    for j, t in enumerate(map(str, panel.assets)):
        why = None
        if t in extra:
            why = "named non-investable in the analysis parameters"
        elif t.startswith("^") or t.upper().lstrip("^") in KNOWN_INDICES:
            why = "an index level: not a traded instrument (its futures or ETNs are, at other returns)"
        elif "volume" in panel.field_names:
            v = panel["volume"][:, j]
            if not np.any(np.nan_to_num(v) > 0):
                why = "no traded volume in the data: an index or a quote, not a traded instrument"
        if why:
            found.append({"ticker": t, "why": why})
    return found


def _png(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=90, bbox_inches="tight")
    fig.clear()


@register_analysis("deep_portfolio")
class DeepPortfolioReport(Analysis):
    """Paper-style table under the three conditions, charts, seeds, DSR and a verdict.

    Parameters
    ----------
    model : str
        Name of the study's network strategy; every other strategy is a baseline.
    vol_target : float, default 0.10
    vol_span : int, default 50
    vol_mode : {"per_asset", "portfolio"}, default "per_asset"
        ``per_asset`` is the paper's scaling; ``portfolio`` targets the portfolio.
    max_leverage : float, default 1.0
    conditions : "paper" or list of ``{name, cost_bps, scaled}``
    suspect_sharpe : float, default 2.5
    non_investable : list of str
        Further tickers to flag as not investable.
    """

    title = "Deep portfolio: the paper's table"

    def __init__(self, model: str, vol_target: float = 0.10, vol_span: int = 50,
                 vol_mode: str = "per_asset", max_leverage: float = 1.0,
                 conditions: Any = "paper", suspect_sharpe: float = 2.5,
                 non_investable: list[str] | None = None) -> None:
        from alphalab.models.allocators import _int, _num
        from alphalab.models.vol_scaling import MODES

        if not isinstance(model, str) or not model:
            raise ConfigError(f"model must name a strategy of the study, got {model!r}")
        _num("vol_target", vol_target, 0.0)
        _int("vol_span", vol_span, 2)
        if vol_mode not in MODES:
            raise ConfigError(f"vol_mode must be one of {MODES}, got {vol_mode!r}")
        _num("max_leverage", max_leverage, 0.0)
        _num("suspect_sharpe", suspect_sharpe, 0.0)
        self._conditions(conditions)
        if non_investable is not None and (not isinstance(non_investable, list)
                                           or not all(isinstance(t, str) for t in non_investable)):
            raise ConfigError(f"non_investable must be a list of tickers, got {non_investable!r}")
        self.model = model
        self.vol_target = vol_target
        self.vol_span = vol_span
        self.vol_mode = vol_mode
        self.max_leverage = max_leverage
        self.conditions = conditions
        self.suspect_sharpe = suspect_sharpe
        self.non_investable = non_investable

    @staticmethod
    def _conditions(conditions: Any) -> list[dict[str, Any]]:
        if conditions == "paper":
            return [dict(c) for c in PAPER_CONDITIONS]
        if not isinstance(conditions, list) or not conditions:
            raise ConfigError(f"conditions must be 'paper' or a non-empty list of "
                              f"{{name, cost_bps, scaled}}, got {conditions!r:.80}")
        out = []
        for i, c in enumerate(conditions):
            if not isinstance(c, dict) or set(c) != {"name", "cost_bps", "scaled"}:
                raise ConfigError(f"conditions[{i}] must have exactly name, cost_bps and scaled, got {c!r:.80}")
            cost = c["cost_bps"]
            if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not (0 <= cost < 10_000):
                raise ConfigError(f"conditions[{i}].cost_bps must be a number in [0, 10000), got {cost!r}")
            if not isinstance(c["scaled"], bool):
                raise ConfigError(f"conditions[{i}].scaled must be true or false, got {c['scaled']!r}")
            out.append({"name": str(c["name"]), "cost_bps": float(cost), "scaled": c["scaled"]})
        return out

    # ---------------------------------------------------------------- run
    def _n_trials(self, ctx: AnalysisContext) -> tuple[dict[str, int], str]:
        """Configurations tried per strategy, and where the counts came from.

        Every tuning trial of every fold is a configuration tried (the runner's
        ``validation.n_trials`` in the run's manifest); an untuned strategy is one.
        Without a manifest a tuned strategy counts ``tune.n_trials`` per fit
        recorded in its diagnostics (at least one fold), and the source says so.
        """
        counts = dict.fromkeys(ctx.results, 1)
        manifest = Path(ctx.out_dir).parents[1] / "manifest.json"
        found: dict[str, Any] = {}
        if manifest.exists():
            try:
                found = json.loads(manifest.read_text()).get("validation", {}).get("n_trials", {}) or {}
            except ValueError:
                found = {}
        source = "the run's manifest (validation.n_trials: every tuning trial of every fold)"
        for k, v in found.items():
            if k in counts and isinstance(v, int) and not isinstance(v, bool) and v > 0:
                counts[k] = v
        for scfg in getattr(ctx.config, "strategies", []) or []:
            tune = getattr(scfg, "tune", None)
            if tune is None or scfg.name not in counts or scfg.name in found:
                continue
            fits = ctx.diagnostics.get(scfg.name) if ctx.diagnostics else None
            n_fits = len(fits) if isinstance(fits, list) and fits else 1
            counts[scfg.name] = int(getattr(tune, "n_trials", 1) or 1) * n_fits
            source = ("the study's tune.n_trials per fit (no trial counts in a manifest); "
                      "an untuned strategy counts once")
        return counts, source

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        from alphalab.backtest import backtest
        from alphalab.backtest.costs import Costs
        from alphalab.models.vol_scaling import scale_rows
        from alphalab.validation.stats import deflated_sharpe_ratio, sharpe_moments

        if self.model not in ctx.results:
            raise ConfigError(f"deep_portfolio.model {self.model!r} is not a strategy of the study "
                              f"({', '.join(ctx.results)})")
        cfg = ctx.config
        ex = cfg.execution
        panel = ctx.panel
        conditions = self._conditions(self.conditions)
        first = next(iter(ctx.results.values()))
        start, end = first.returns.index[0], first.returns.index[-1]
        span = panel.slice_dates(start, end)
        rows = panel.dates.get_indexer(span.dates)
        if (rows < 0).any():
            raise DataError("deep_portfolio: the evaluated window is not inside the study's data")
        base_costs = ex.costs.model_dump()
        table: dict[str, dict[str, dict[str, float]]] = {}
        returns: dict[str, dict[str, pd.Series]] = {}
        decisions: dict[str, pd.DataFrame] = {}
        for name, res in ctx.results.items():
            inner = getattr(res, "result", res)
            d = recover_decisions(inner, ex.at).reindex(span.dates)
            decisions[name] = d
        for cond in conditions:
            costs = Costs(**{**base_costs, "commission_bps": cond["cost_bps"]})
            table[cond["name"]] = {}
            returns[cond["name"]] = {}
            for name, d in decisions.items():
                w = d.to_numpy(copy=True)
                if cond["scaled"]:
                    decided = np.isfinite(w).any(axis=1)
                    w[decided] = scale_rows(w[decided], panel["close"], rows[decided],
                                            target=float(self.vol_target), span=int(self.vol_span),
                                            mode=self.vol_mode, max_leverage=float(self.max_leverage))
                res = backtest(w, span, cfg.data.market, execution=ex.at, costs=costs,
                               initial_cash=ex.initial_cash, rules=ex.rules)
                r = res.returns
                table[cond["name"]][name] = paper_metrics(r, res.turnover)
                returns[cond["name"]][name] = r
        # --- files: returns per condition, the model's weights
        out = Path(ctx.out_dir)
        for cname, series in returns.items():
            pd.DataFrame(series).to_parquet(out / f"returns_{_slug(cname)}.parquet")
        held = ctx.results[self.model].weights
        held.to_parquet(out / "model_weights.parquet")
        self._charts(returns, held, out)
        # --- DSR over every configuration tried, per condition
        trials, trials_source = self._n_trials(ctx)
        n_configs = int(sum(trials.values()))
        dsr: dict[str, Any] = {}
        for cname, series in returns.items():
            srs = []
            for r in series.values():
                sr, _skew, _kurt, _n = sharpe_moments(np.asarray(r, float))
                srs.append(sr)
            sr, skew, kurt, n = sharpe_moments(np.asarray(series[self.model], float))
            var = float(np.nanvar(srs, ddof=1)) if len(srs) > 1 else 0.0
            value, sr0 = deflated_sharpe_ratio(sr, n, max(n_configs, 1), var, skew, kurt)
            dsr[cname] = {"dsr": value, "sr0_annual": sr0 * math.sqrt(252), "n_configurations": n_configs}
        verdict = self._verdict(table, dsr)
        vol_check = self._vol_check(table, conditions)
        seeds = self._seeds(ctx, span, conditions, rows)
        return {
            "model": self.model,
            "vol_mode": self.vol_mode,
            "window": {"start": str(start.date()), "end": str(end.date()), "n_dates": len(span.dates)},
            "conditions": conditions,
            "how": ("Targets recovered from the held weights on each execution bar (costs added back; "
                    + ("exact for next_close" if ex.at == "next_close" else
                       "approximate: held weights at the close of a next_open execution bar")
                    + "), scaled with an EWM volatility of "
                    f"{self.vol_span} days to {self.vol_target:.0%} ({self.vol_mode}, gross <= "
                    f"{self.max_leverage}) where the condition says so, and backtested over the evaluated "
                    "window with the condition's commission and the study's market, rules and execution."),
            "table": table,
            "dsr": dsr,
            "trials": trials,
            "trials_source": trials_source,
            "verdict": verdict,
            "vol_check": vol_check,
            "seeds": seeds,
            "non_investable": _non_investable(panel, list(self.non_investable or [])),
            "notes": _strategy_notes(ctx.diagnostics),
            "diagnostics": _training_summary(ctx.diagnostics.get(self.model)),
        }

    def _verdict(self, table: dict[str, Any], dsr: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"per_condition": {}, "suspect": []}
        for cname, rows in table.items():
            model = rows[self.model]["sharpe"]
            base = {k: v["sharpe"] for k, v in rows.items() if k != self.model and np.isfinite(v["sharpe"])}
            best = max(base, key=base.get) if base else None
            margin = None if best is None else model - base[best]
            out["per_condition"][cname] = {
                "model_sharpe": model, "best_baseline": best,
                "best_baseline_sharpe": None if best is None else base[best],
                "margin": margin, "beat": bool(margin is not None and margin > 0),
                "dsr": dsr[cname]["dsr"],
            }
            for k, v in rows.items():
                if np.isfinite(v["sharpe"]) and v["sharpe"] > float(self.suspect_sharpe):
                    out["suspect"].append({"condition": cname, "strategy": k, "sharpe": v["sharpe"]})
        last = list(table)[-1]
        pc = out["per_condition"][last]
        if pc["best_baseline"] is None:
            out["statement"] = "No baseline ran: nothing to compare against."
        else:
            out["statement"] = (
                f"After costs ({last}) the network's Sharpe is {pc['model_sharpe']:.2f} against "
                f"{pc['best_baseline_sharpe']:.2f} for the best baseline ({pc['best_baseline']}): it "
                f"{'beat' if pc['beat'] else 'did not beat'} it, by {pc['margin']:+.2f}; DSR over "
                f"{dsr[last]['n_configurations']} configurations {pc['dsr']:.2f}.")
        return out

    def _vol_check(self, table: dict[str, Any], conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Realised volatility under each scaled condition against the target.

        The paper's ``per_asset`` layer scales each asset to the target, not the
        portfolio, and the gross cap (the engine does not lend) pulls it further
        down, so a portfolio volatility below the target is expected there; the
        ``portfolio`` mode should land within about 2 points of it.
        """
        out = []
        for cond in conditions:
            if not cond["scaled"]:
                continue
            vols = {k: v["volatility"] for k, v in table[cond["name"]].items() if np.isfinite(v["volatility"])
                    and v["volatility"] > 0}
            if not vols:
                continue
            model = table[cond["name"]][self.model]["volatility"]
            out.append({
                "condition": cond["name"], "target": float(self.vol_target), "model": model,
                "min": min(vols.values()), "max": max(vols.values()),
                "within_2_points": bool(np.isfinite(model) and abs(model - float(self.vol_target)) <= 0.02),
            })
        return out

    def _seeds(self, ctx: AnalysisContext, span: Any, conditions: list[dict[str, Any]],
               rows: np.ndarray) -> dict[str, Any]:
        """Each seed's own weights backtested, when the runner collected ``forecasts_``."""
        fc = ctx.forecasts.get(self.model) if ctx.forecasts else None
        if fc is None or not any(str(c).startswith("w_seed") for c in fc.columns):
            return {"available": False,
                    "note": "per-seed weights (forecasts_ w_seed<k>) were not collected by the runner; "
                            "the ensemble is reported, the seeds' training curves are in diagnostics"}
        from alphalab.backtest import backtest
        from alphalab.backtest.costs import Costs

        ex = ctx.config.execution
        cond = conditions[0]
        costs = Costs(**{**ex.costs.model_dump(), "commission_bps": cond["cost_bps"]})
        sharpes = {}
        for col in sorted(c for c in fc.columns if str(c).startswith("w_seed")):
            wide = fc.pivot(index="date", columns="ticker", values=col)
            wide = wide.reindex(index=span.dates, columns=list(map(str, span.assets)))
            res = backtest(wide.to_numpy(), span, ctx.config.data.market, execution=ex.at, costs=costs,
                           initial_cash=ex.initial_cash, rules=ex.rules)
            sharpes[col] = paper_metrics(res.returns, res.turnover)["sharpe"]
        vals = np.array(list(sharpes.values()))
        return {"available": True, "condition": cond["name"], "sharpe": sharpes,
                "mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if vals.size > 1 else 0.0}

    def _charts(self, returns: dict[str, dict[str, pd.Series]], held: pd.DataFrame, out: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = list(returns)
        fig, axes = plt.subplots(len(names), 1, figsize=(9, 3.2 * len(names)), squeeze=False)
        for ax, cname in zip(axes[:, 0], names, strict=True):
            for sname, r in returns[cname].items():
                lw, alpha = (2.2, 1.0) if sname == self.model else (1.0, 0.7)
                ax.plot(r.index, np.cumprod(1.0 + r.fillna(0.0)) - 1.0, lw=lw, alpha=alpha, label=sname)
            ax.set_title(f"Cumulative return: {cname}")
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=7, ncol=3)
        _png(fig, out / "cumulative.png")
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(9, 3.2))
        w = held.fillna(0.0)
        ax.stackplot(w.index, np.clip(w.to_numpy().T, 0.0, None), labels=list(map(str, w.columns)))
        ax.set_ylim(0, max(1.0, float(np.clip(w.to_numpy(), 0, None).sum(axis=1).max())))
        ax.set_title(f"Held weights through time: {self.model}")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
        _png(fig, out / "weights.png")
        plt.close(fig)

    # ------------------------------------------------------------- render
    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        parts = [f"<p>{escape(summary.get('how', ''))}</p>"]
        v = summary.get("verdict", {})
        parts.append(f"<p><b>{escape(v.get('statement', ''))}</b></p>")
        for s in v.get("suspect", []):
            parts.append(f"<p style='color:#b00'><b>Suspect:</b> {escape(s['strategy'])} has Sharpe "
                         f"{s['sharpe']:.2f} under {escape(s['condition'])}, above any published band; "
                         "distrust it until explained.</p>")
        for a in summary.get("non_investable", []):
            parts.append(f"<p><b>Not investable:</b> {escape(a['ticker'])}: {escape(a['why'])}.</p>")
        for sname, notes in (summary.get("notes") or {}).items():
            items = "".join(f"<li>{escape(n)}</li>" for n in notes)
            parts.append(f"<p><b>Note on {escape(sname)}</b> (as configured it did not fit this data):</p>"
                         f"<ul>{items}</ul>")
        for c in summary.get("vol_check", []):
            parts.append(
                f"<p>Volatility scaling ({escape(c['condition'])}): the network's realised volatility "
                f"{_fmt(c['model'], '.1%')} against the target {_fmt(c['target'], '.0%')} "
                f"({'within' if c['within_2_points'] else 'not within'} 2 points); the strategies "
                f"{_fmt(c['min'], '.1%')} to {_fmt(c['max'], '.1%')}. "
                + ("The per-asset layer (the paper's) targets each asset, not the portfolio, and the "
                   "gross cap keeps it below target; vol_mode: portfolio targets the portfolio."
                   if summary.get("vol_mode", "per_asset") == "per_asset" and not c["within_2_points"] else "")
                + "</p>")
        heads = ["E(R)", "Std", "Sharpe", "Sortino", "DD", "MDD", "% +ve", "Ave P / Ave L", "Turnover"]
        for cname, rows in summary.get("table", {}).items():
            d = summary.get("dsr", {}).get(cname, {})
            tried = ", ".join(f"{escape(k)} {v}" for k, v in (summary.get("trials") or {}).items() if v > 1)
            parts.append(f"<h4>{escape(cname)}</h4><p>DSR of {escape(summary.get('model', ''))} over "
                         f"{d.get('n_configurations')} configurations"
                         + (f" (every strategy once; tuning trials: {tried})" if tried else "")
                         + f": {_fmt(d.get('dsr'), '.3f')}</p>")
            body = ""
            for name, m in rows.items():
                style = " style='font-weight:bold'" if name == summary.get("model") else ""
                cells = "".join(f"<td>{_fmt(m.get(k), f)}</td>" for k, f in zip(COLUMNS, _FORMATS, strict=True))
                body += f"<tr{style}><th>{escape(name)}</th>{cells}</tr>"
            parts.append("<table><tr><th></th>" + "".join(f"<th>{h}</th>" for h in heads) + f"</tr>{body}</table>")
        seeds = summary.get("seeds", {})
        if seeds.get("available"):
            cells = ", ".join(f"{k}: {v:.2f}" for k, v in seeds["sharpe"].items())
            ens = summary.get("table", {}).get(seeds["condition"], {}).get(summary.get("model"), {})
            parts.append(f"<p>Seeds ({escape(seeds['condition'])}): Sharpe {cells}; mean {seeds['mean']:.2f} "
                         f"± {seeds['std']:.2f} (sample std); the ensemble of their weights (the "
                         f"network's row above): {_fmt(ens.get('sharpe'), '.2f')}.</p>")
        elif seeds:
            parts.append(f"<p>Seeds: {escape(seeds.get('note', ''))}.</p>")
        for png in ("cumulative.png", "weights.png"):
            path = Path(files) / png
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"<img alt='{png}' src='data:image/png;base64,{data}' style='max-width:100%'>")
        return "\n".join(parts)


_FORMATS = [".2%", ".2%", ".2f", ".2f", ".2%", ".2%", ".1%", ".2f", ".1f"]


def _fmt(x: Any, f: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return format(x, f)


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _strategy_notes(diagnostics: dict[str, Any]) -> dict[str, list[str]]:
    """Each strategy's ``notes`` (e.g. a fixed allocation's dropped tickers), once each, in order."""
    out: dict[str, list[str]] = {}
    for name, diag in (diagnostics or {}).items():
        seen: list[str] = []
        for entry in diag if isinstance(diag, list) else [diag]:
            for note in (entry.get("notes") or []) if isinstance(entry, dict) else []:
                if isinstance(note, str) and note not in seen:
                    seen.append(note)
        if seen:
            out[name] = seen
    return out


def _training_summary(diag: Any) -> Any:
    """Per-fold, per-seed best epoch and final validation Sharpe, when the runner collected diagnostics."""
    if not diag:
        return None
    folds = diag if isinstance(diag, list) else [diag]
    out = []
    for f in folds:
        if isinstance(f, dict) and "seeds" in f:
            out.append({"fitted_until": f.get("fitted_until"), "n_samples": f.get("n_samples"),
                        "seeds": [{"seed": s.get("seed"), "best_epoch": s.get("best_epoch"),
                                   "best_val_sharpe": -min(s["val_curve"]) if s.get("val_curve") else None}
                                  for s in f["seeds"]]})
    return out or None
