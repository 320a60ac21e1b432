"""Report of the cluster-RL recipe (R1): clusters, allocations, baselines, random policies, verdict.

``kind: cluster_rl`` with params ``strategy`` (the RL strategy's name),
``equal_weight`` (the universe equal-weight baseline's name), ``random_seeds``
(random policies on the RL run's clusters and decision dates, default 100) and
``seed``. A random policy draws a uniform signal per stock and Dirichlet weights
over the cluster slots and cash at every decision date the RL strategy decided,
and is backtested under the study's market rules and costs on the same dates: no
training, so 100 seeds cost 100 backtests.

Verdict: RL beat equal weight **and** the 95th percentile of the random policies'
Sharpe after costs, with the deflated Sharpe ratio over every strategy of the study.
"""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.analyses import Analysis, AnalysisContext, register_analysis
from alphalab.errors import ConfigError

__all__ = ["ClusterRLReport"]

PPY = 252


def _sharpe(r: pd.Series) -> float:
    r = r.dropna()
    sd = r.std(ddof=1)
    return float(r.mean() / sd * math.sqrt(PPY)) if len(r) > 2 and sd > 0 else float("nan")


def _row(res: Any, bench: Any) -> dict[str, Any]:
    m = res.metrics()
    row = {k: (None if not np.isfinite(float(m.get(k, np.nan))) else float(m[k]))
           for k in ("cagr", "volatility", "sharpe", "max_drawdown", "turnover")}
    costs = res.costs_daily.sum()
    row["taxes"] = float(costs.get("tax", 0.0))
    row["costs"] = float(costs.sum())
    rej = res.rejected_frame()
    row["refused"] = {str(k): int(v) for k, v in rej["reason"].value_counts().items()} if len(rej) else {}
    return row


def _random_weights(fc: pd.DataFrame, assets: list[str], dates: pd.DatetimeIndex, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = np.full((len(dates), len(assets)), np.nan)
    col = {a: j for j, a in enumerate(assets)}
    pos = {d: i for i, d in enumerate(dates)}
    for d, g in fc.groupby("date", sort=True):
        row = np.zeros(len(assets))
        cw = rng.dirichlet(np.ones(k + 1))
        held = rng.uniform(-1, 1, len(g)) > 0
        slots = g["cluster"].to_numpy().astype(int)
        cols = g["ticker"].map(col).to_numpy()
        for s in range(k):
            m = held & (slots == s)
            if m.any():
                row[cols[m]] = cw[s] / m.sum()
        w[pos[pd.Timestamp(d)]] = row
    return w


@register_analysis("cluster_rl")
class ClusterRLReport(Analysis):
    """Cluster maps and stability, allocations, equity vs baselines, random-policy test, verdict."""

    title = "Cluster-RL (R1)"

    def __init__(self, strategy: str = "cluster_rl", equal_weight: str = "equal_weight",
                 random_seeds: int = 100, seed: int = 0) -> None:
        if isinstance(random_seeds, bool) or not isinstance(random_seeds, int) or random_seeds < 1:
            raise ConfigError(f"analysis cluster_rl: random_seeds must be an integer >= 1, got {random_seeds!r}")
        self.strategy = strategy
        self.equal_weight = equal_weight
        self.random_seeds = random_seeds
        self.seed = seed

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from alphalab.study.execute import engine_settings
        from alphalab.validation.stats import deflated_sharpe_ratio

        for name in (self.strategy, self.equal_weight):
            if name not in ctx.results:
                raise ConfigError(f"analysis cluster_rl: no strategy named {name!r}; have {sorted(ctx.results)}")
        rl = ctx.results[self.strategy]
        bench = ctx.benchmark
        table = {n: _row(r, bench) for n, r in ctx.results.items()}
        if bench is not None and len(bench):
            b = bench.loc[rl.returns.index.min():rl.returns.index.max()]
            eq = (1 + b.fillna(0)).cumprod()
            table["benchmark"] = {"cagr": float(eq.iloc[-1] ** (PPY / max(len(b), 1)) - 1),
                                  "volatility": float(b.std() * math.sqrt(PPY)), "sharpe": _sharpe(b),
                                  "max_drawdown": float((eq / eq.cummax() - 1).min())}
        # ---- random policies on the RL run's clusters and dates
        fc = ctx.forecasts.get(self.strategy)
        rand: list[float] = []
        if fc is not None and len(fc):
            fc = fc.assign(date=pd.to_datetime(fc["date"]))
            k = int(np.nanmax(fc["cluster"])) + 1
            eng = engine_settings(ctx.config)
            lo, hi = rl.returns.index.min(), rl.returns.index.max()
            for s in range(self.random_seeds):
                w = _random_weights(fc, list(ctx.panel.assets), ctx.panel.dates, k, self.seed * 100_003 + s)
                res = eng.run(w, ctx.panel).slice(lo, hi + pd.Timedelta(days=1))
                rand.append(_sharpe(res.returns))
        rl_sr = _sharpe(rl.returns)
        ew_sr = _sharpe(ctx.results[self.equal_weight].returns)
        p95 = float(np.nanpercentile(rand, 95)) if rand else float("nan")
        # DSR over every strategy of the study (each configured strategy is a trial)
        srs = np.array([_sharpe(r.returns) for r in ctx.results.values()]) / math.sqrt(PPY)
        r = rl.returns.dropna()
        dsr, sr0 = deflated_sharpe_ratio(rl_sr / math.sqrt(PPY), len(r), max(2, len(srs)), float(np.nanvar(srs)),
                                         float(r.skew()), float(r.kurt() + 3))
        beat = bool(rl_sr > ew_sr and rl_sr > p95)
        verdict = (
            f"RL ({self.strategy}) Sharpe {rl_sr:.2f} after costs vs equal weight {ew_sr:.2f} and the 95th "
            f"percentile of {len(rand)} random policies {p95:.2f}: "
            + ("it beat both" if beat else "it did NOT beat both")
            + f"; DSR over {len(srs)} trials {dsr:.2f}"
            + (" (a Sharpe above 2 on HOSE after costs is suspect)" if rl_sr > 2 else "") + "."
        )
        out = Path(ctx.out_dir)
        # ---- figures
        fig, ax = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
        for n, res in ctx.results.items():
            e = res.equity / res.equity.iloc[0]
            ax[0].plot(e.index, e.values, label=n, lw=1.8 if n == self.strategy else 0.9)
            ax[1].plot(e.index, (e / e.cummax() - 1).values, lw=0.9)
        if bench is not None and len(bench):
            b = (1 + bench.loc[rl.returns.index.min():rl.returns.index.max()].fillna(0)).cumprod()
            ax[0].plot(b.index, b.values, "k--", label="benchmark")
        ax[0].set_ylabel("equity")
        ax[1].set_ylabel("drawdown")
        ax[0].legend(fontsize=7)
        fig.savefig(out / "equity.png", dpi=80)
        plt.close(fig)
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
        for n, res in ctx.results.items():
            ax[0].hist(res.returns.dropna(), bins=50, alpha=0.4, label=n)
        ax[0].set_title("daily returns")
        ax[0].legend(fontsize=6)
        if rand:
            ax[1].hist(rand, bins=20, color="grey")
            ax[1].axvline(rl_sr, color="r", label="RL")
            ax[1].axvline(p95, color="k", ls="--", label="random p95")
            ax[1].legend(fontsize=7)
        ax[1].set_title("Sharpe of random policies")
        fig.savefig(out / "histograms.png", dpi=80)
        plt.close(fig)
        alloc = None
        if fc is not None and len(fc):
            alloc = fc.groupby(["date", "cluster"])["weight"].sum().unstack(fill_value=0.0)
            fig, ax = plt.subplots(figsize=(9, 3))
            ax.stackplot(alloc.index, alloc.T.values, labels=[f"slot {int(c)}" for c in alloc.columns])
            ax.set_title("allocation by cluster slot")
            ax.legend(fontsize=6)
            fig.savefig(out / "allocations.png", dpi=80)
            plt.close(fig)
        diag = ctx.diagnostics.get(self.strategy) or []
        folds = diag if isinstance(diag, list) else [diag]
        months = [c for f in folds for c in f.get("clusters", [])]
        months = list({c["date"]: c for c in months}.values())
        curves = [{"fold": f.get("fold"), "training_curve": f.get("training_curve", []),
                   "val_curve": f.get("val_curve", []), "allocator_curve": f.get("allocator_curve", []),
                   "agents": [{k: a.get(k) for k in ("seed", "slot", "training_curve", "val_curve")}
                              for a in f.get("agent_curves", [])]} for f in folds]
        if months:
            fig, ax = plt.subplots(1, 3, figsize=(12, 3.5))
            ax[0].plot(pd.to_datetime([c["date"] for c in months]),
                       [np.nan if c["ari"] is None else c["ari"] for c in months], ".-")
            ax[0].set_title("ARI month over month")
            sizes = np.array([c["sizes"] for c in months])
            ax[1].stackplot(pd.to_datetime([c["date"] for c in months]), sizes.T)
            ax[1].set_title("cluster sizes")
            mp = folds[-1].get("map", [])
            if mp:
                ax[2].scatter([m[1] for m in mp], [m[2] for m in mp], c=[m[3] for m in mp], cmap="tab10", s=14)
                for m in mp:
                    ax[2].annotate(m[0], (m[1], m[2]), fontsize=5)
            ax[2].set_title("cluster map (last fit)")
            fig.savefig(out / "clusters.png", dpi=80)
            plt.close(fig)
        if curves and any(c["training_curve"] or c["allocator_curve"] for c in curves):
            fig, ax = plt.subplots(1, 2, figsize=(11, 3.2))
            for c in curves:
                agents_ = c["agents"] or [{"slot": -1, "training_curve": c["training_curve"],
                                           "val_curve": c["val_curve"]}]
                for a in agents_:
                    slot = a.get("slot")
                    tag = f"fold {c['fold']}" + (f" slot {slot}" if slot is not None and slot >= 0 else "")
                    ax[0].plot(a["training_curve"], label=f"train {tag}")
                    ax[0].plot(a["val_curve"], ls="--", label=f"val {tag}")
                ax[1].plot(c["allocator_curve"], lw=0.8, label=f"fold {c['fold']}")
            ax[0].set_xlabel("training round (early stopping on the validation span)")
            ax[0].legend(fontsize=5)
            ax[0].set_title("signal agents: episode reward (train), validation score")
            ax[1].set_xlabel("episode")
            ax[1].legend(fontsize=6)
            ax[1].set_title("allocator: episode reward after costs")
            fig.savefig(out / "training.png", dpi=80)
            plt.close(fig)
        aris = [c["ari"] for c in months if c["ari"] is not None]
        return {
            "verdict": verdict, "beat": beat, "rl_sharpe": rl_sr, "equal_weight_sharpe": ew_sr,
            "random_p95": p95, "random_median": float(np.nanmedian(rand)) if rand else None,
            "random_sharpes": rand, "dsr": float(dsr), "sr0": float(sr0), "n_trials": len(srs),
            "table": table, "mean_ari": float(np.mean(aris)) if aris else None, "n_months": len(months),
            "curves": curves,
        }

    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        def f(v: Any, pct: bool = False) -> str:
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                return "–"
            return f"{v:.1%}" if pct else f"{v:.2f}"

        rows = ""
        for n, r in summary.get("table", {}).items():
            refused = ", ".join(f"{k}: {v}" for k, v in (r.get("refused") or {}).items()) or "–"
            rows += (f"<tr><th>{escape(n)}</th><td>{f(r.get('cagr'), True)}</td><td>{f(r.get('volatility'), True)}</td>"
                     f"<td>{f(r.get('sharpe'))}</td><td>{f(r.get('max_drawdown'), True)}</td>"
                     f"<td>{f(r.get('turnover'))}</td><td>{f(r.get('taxes'))}</td><td>{escape(refused)}</td></tr>")
        # embedded, so the report stays one self-contained file
        imgs = "".join(
            f'<img alt="{escape(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}" '
            'style="max-width:100%">'
            for p in sorted(Path(files).glob("*.png"))
        )
        rounds = ""
        for c in summary.get("curves", []):
            for a in c.get("agents") or [{"slot": -1, "training_curve": c.get("training_curve", []),
                                          "val_curve": c.get("val_curve", [])}]:
                val = [v for v in a.get("val_curve") or [] if v is not None and np.isfinite(v)]
                if not a.get("training_curve"):
                    continue
                best = f", best validation round {int(np.argmax(val)) + 1}" if val else ""
                slot = f" slot {a['slot']}" if a.get("slot") is not None and a["slot"] >= 0 else ""
                seed = f" seed {a['seed']}" if a.get("seed") is not None else ""
                rounds += f"<li>fold {c.get('fold')}{escape(slot + seed)}: {len(a['training_curve'])} rounds{best}</li>"
        rounds = f"<p>Signal-agent training (curves below):</p><ul>{rounds}</ul>" if rounds else ""
        return (f"<p><b>{escape(summary.get('verdict', ''))}</b></p>{rounds}"
                f"<p>Clusters over {summary.get('n_months', 0)} months, mean ARI month over month "
                f"{f(summary.get('mean_ari'))}.</p>"
                "<table><tr><th></th><th>CAGR</th><th>vol</th><th>Sharpe</th><th>MDD</th><th>turnover</th>"
                f"<th>taxes</th><th>refused orders</th></tr>{rows}</table>{imgs}")
