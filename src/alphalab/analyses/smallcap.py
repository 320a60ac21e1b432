"""The small-cap LSTM recipe's report section (R5).

Over the evaluated window it records

* the point-in-time universe: size by date, quarterly membership turnover, and
  the membership itself (``membership.parquet``: date, ticker);
* equity of every strategy against the index levels (CSI 1000 / 500, Shanghai
  Composite where present) with the panic-halt periods shaded, and drawdowns
  (``equity.png``, ``drawdown.png``);
* refused orders by reason per strategy (limit-up buys, limit-down sells, T+1,
  suspensions, ...);
* per-stock model error against a random-walk (no change) forecast, from the
  model's out-of-sample forecasts on every test block (refitting the model's
  forecaster per fold; its trainings are cached in the process, so this
  re-reads them rather than retraining);
* the Deflated Sharpe Ratio of the model over all strategies of the study as
  the trials, and a stationary-bootstrap test of its daily excess return over
  the plain small-cap portfolio after costs, ending in a plain verdict.
"""

from __future__ import annotations

import base64
import math
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.analyses import Analysis, AnalysisContext, register_analysis
from alphalab.errors import ConfigError

__all__ = ["SmallCapReport"]

_HALT_KEYS = {"index", "day_drop", "two_day_drop", "sessions"}
_UNIVERSE_KEYS = {"n_stocks", "shares_field", "min_listing_days", "exclude_st", "candidates", "cap_fallback"}


def _check_mapping(name: str, value: Any, keys: set[str]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a mapping, got {value!r:.80}")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ConfigError(f"{name}: unknown key(s) {unknown}; valid: {sorted(keys)}")


@register_analysis("smallcap_lstm_report")
class SmallCapReport(Analysis):
    """Universe, equity vs indices with halts shaded, refusals, model error, DSR and a verdict.

    Parameters
    ----------
    model : str
        The strategy whose forecaster is the per-stock model (a ``forecast`` strategy).
    baseline : str
        The plain small-cap strategy the model must beat after costs.
    indices : list of str
        Index tickers of ``data.indices`` drawn beside the equity curves.
    halt : mapping, optional
        ``panic_halt`` parameters whose halted periods are shaded.
    universe : mapping, optional
        ``n_stocks``, ``shares_field``, ``min_listing_days``... of the universe
        recorded by date (default: the model forecaster's own).
    n_boot : int, default 2000
        Stationary-bootstrap resamples.
    block : int, default 20
        Mean block length (sessions) of the bootstrap.
    seed : int, default 0
    """

    title = "Small-cap LSTM"

    def __init__(self, model: str = "lstm", baseline: str = "plain_smallcap",
                 indices: list[str] | None = None, halt: dict[str, Any] | None = None,
                 universe: dict[str, Any] | None = None, n_boot: int = 2000, block: int = 20,
                 seed: int = 0) -> None:
        for name, v in (("model", model), ("baseline", baseline)):
            if not isinstance(v, str) or not v:
                raise ConfigError(f"{name} must be a strategy name, got {v!r}")
        if indices is not None and (not isinstance(indices, list) or not all(isinstance(i, str) for i in indices)):
            raise ConfigError(f"indices must be a list of index tickers, got {indices!r}")
        _check_mapping("halt", halt, _HALT_KEYS)
        _check_mapping("universe", universe, _UNIVERSE_KEYS)
        for name, v, lo in (("n_boot", n_boot, 100), ("block", block, 1), ("seed", seed, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        self.model = model
        self.baseline = baseline
        self.indices = indices
        self.halt = halt
        self.universe = universe
        self.n_boot = n_boot
        self.block = block
        self.seed = seed

    # ------------------------------------------------------------------ run
    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        for name in (self.model, self.baseline):
            if name not in ctx.results:
                raise ConfigError(f"analysis smallcap_lstm_report: no strategy {name!r} in the study "
                                  f"(strategies: {sorted(ctx.results)})")
        window = ctx.results[self.model].returns.index
        out: dict[str, Any] = {"window": [str(window[0].date()), str(window[-1].date())]}
        out["universe"] = self._universe(ctx, window)
        halted = self._halts(ctx, window)
        out["halts"] = halted["periods"]
        out["refused"] = self._refused(ctx)
        out["model_error"] = self._model_error(ctx)
        out["verdict"] = self._verdict(ctx)
        out["metrics"] = {
            n: {k: _num(r.metrics().get(k)) for k in ("cagr", "sharpe", "max_drawdown", "turnover", "volatility")}
            for n, r in ctx.results.items()
        }
        self._charts(ctx, window, halted["mask"], out)
        return out

    def _universe(self, ctx: AnalysisContext, window: pd.DatetimeIndex) -> dict[str, Any]:
        from alphalab.data.size_universe import (
            CAP_FALLBACK,
            point_in_time_cap,
            smallest_cap_universe,
        )

        params = dict(self.universe or {})
        if not params:
            fc = ctx.strategies[self.model].get_params().get("forecaster")
            fp = fc.get_params() if fc is not None else {}
            params = {k: fp[k] for k in _UNIVERSE_KEYS & set(fp)}
        n = params.pop("n_stocks", 20)
        fallback = params.pop("cap_fallback", True)
        panel = ctx.panel
        mask = smallest_cap_universe(panel, int(n), fallback=fallback, **params)
        _, source = point_in_time_cap(panel, params.get("shares_field", "totalShare"), fallback=fallback)
        rows = panel.dates.isin(window)
        m = mask[rows]
        size = m.sum(axis=1)
        dates = panel.dates[rows]
        # quarterly turnover: the share of names replaced between first sessions of quarters
        q_first = pd.Series(np.arange(len(dates)), index=dates).groupby(dates.to_period("Q")).first().to_numpy()
        repl = [float((m[b] & ~m[a]).sum() / max(m[b].sum(), 1)) for a, b in pairwise(q_first)]
        member_rows, member_cols = np.nonzero(m)
        frame = pd.DataFrame({"date": dates[member_rows], "ticker": panel.assets[member_cols]})
        frame.to_parquet(ctx.out_dir / "membership.parquet", index=False)
        fb = source[rows][m] == CAP_FALLBACK
        return {
            "n_stocks": int(n),
            "size_mean": float(size.mean()), "size_min": int(size.min()), "size_max": int(size.max()),
            "quarterly_replacement_mean": float(np.mean(repl)) if repl else None,
            "quarterly_replacement": [round(v, 4) for v in repl],
            "n_distinct_names": len(set(frame["ticker"])),
            "share_of_caps_from_fallback": float(fb.mean()) if fb.size else None,
            "params": {k: v for k, v in params.items() if k != "blacklist"},
        }

    def _halts(self, ctx: AnalysisContext, window: pd.DatetimeIndex) -> dict[str, Any]:
        from alphalab.models.smallcap import PanicHalt

        if self.halt is None:
            return {"periods": [], "mask": np.zeros(len(window), dtype=bool)}
        rule = PanicHalt(**self.halt)
        halted = pd.Series(rule.halted(ctx.panel), index=ctx.panel.dates).reindex(window, fill_value=False)
        values = halted.to_numpy()
        periods = [[str(window[k].date()), str(window[j].date()), j - k + 1] for k, j in _true_runs(values)]
        return {"periods": periods, "mask": values}

    @staticmethod
    def _refused(ctx: AnalysisContext) -> dict[str, dict[str, int]]:
        out = {}
        for name, res in ctx.results.items():
            frame = res.rejected_frame()
            out[name] = {str(k): int(v) for k, v in frame["reason"].value_counts().sort_index().items()} \
                if len(frame) else {}
        return out

    def _model_error(self, ctx: AnalysisContext) -> dict[str, Any]:
        """Out-of-sample forecast MSE per stock against the random walk (a zero return forecast)."""
        from alphalab.models.smallcap import adjusted_close

        strat = ctx.strategies[self.model]
        forecasts = ctx.forecasts.get(self.model) if ctx.forecasts else None
        horizon = int(getattr(strat.get_params().get("forecaster"), "horizon", 1))
        if forecasts is None:
            forecasts = _refit_forecasts(ctx, strat)
        if forecasts is None or len(forecasts) == 0:
            return {"note": "no out-of-sample forecasts (not a walk-forward study)"}
        panel = ctx.panel
        adj = adjusted_close(panel)
        fwd = np.full(adj.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            fwd[:-horizon] = adj[horizon:] / adj[:-horizon] - 1.0
        r = panel.dates.get_indexer(pd.DatetimeIndex(forecasts["date"]))
        c = panel.assets.get_indexer(forecasts["ticker"].astype(str))
        frame = pd.DataFrame({"ticker": forecasts["ticker"].astype(str).to_numpy(),
                              "pred": forecasts["mean"].to_numpy(float), "actual": fwd[r, c]})
        frame = frame[np.isfinite(frame["pred"]) & np.isfinite(frame["actual"])]
        if frame.empty:
            return {"note": "no forecast has a realised outcome yet"}
        frame["se_model"] = (frame["pred"] - frame["actual"]) ** 2
        frame["se_rw"] = frame["actual"] ** 2
        per = frame.groupby("ticker")[["se_model", "se_rw"]].mean()
        per["ratio"] = per["se_model"] / per["se_rw"]
        per.to_parquet(ctx.out_dir / "model_error.parquet")
        hit = float(np.mean(np.sign(frame["pred"]) == np.sign(frame["actual"])))
        return {
            "n_forecasts": len(frame), "n_stocks": len(per), "horizon": horizon,
            "pooled_mse_ratio": float(frame["se_model"].mean() / frame["se_rw"].mean()),
            "median_stock_mse_ratio": float(per["ratio"].median()),
            "share_of_stocks_beating_random_walk": float((per["ratio"] < 1.0).mean()),
            "direction_hit_rate": hit,
            "forecast_std": float(frame["pred"].std()),
        }

    def _verdict(self, ctx: AnalysisContext) -> dict[str, Any]:
        from alphalab.validation.stats import deflated_sharpe_ratio, sharpe_moments

        rets = {n: r.returns.dropna() for n, r in ctx.results.items()}
        stats = {n: sharpe_moments(v.to_numpy()) for n, v in rets.items() if len(v) > 2}
        sharpes = np.array([s[0] for s in stats.values()])
        model = stats[self.model]
        var = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
        dsr, sr0 = deflated_sharpe_ratio(model[0], model[3], len(sharpes), var, model[1], model[2])
        a, b = rets[self.model].align(rets[self.baseline], join="inner")
        excess = (a - b).to_numpy()
        p_boot, ci = _bootstrap_mean(excess, self.n_boot, self.block, self.seed)
        ann = 252.0
        ex_mean = float(np.mean(excess) * ann) if len(excess) else math.nan
        adds = bool(ex_mean > 0 and p_boot < 0.05 and dsr > 0.95)
        statement = (
            f"The LSTM ({self.model}) adds {ex_mean:+.2%} a year over the plain small-cap portfolio "
            f"({self.baseline}) after costs (bootstrap p = {p_boot:.3f}, 95 % interval "
            f"{ci[0] * ann:+.2%} .. {ci[1] * ann:+.2%}); its Deflated Sharpe Ratio over the study's "
            f"{len(sharpes)} trials is {dsr:.3f}. "
            + ("It adds something beyond the size effect." if adds else
               "It does NOT add anything demonstrable over the plain small-cap portfolio.")
        )
        return {
            "model_sharpe_annual": float(model[0] * math.sqrt(ann)), "dsr": float(dsr),
            "sr0_annual": float(sr0 * math.sqrt(ann)), "n_trials": len(sharpes),
            "excess_annual": ex_mean, "bootstrap_p": float(p_boot),
            "excess_ci_annual": [float(ci[0] * ann), float(ci[1] * ann)],
            "adds_over_plain_smallcap": adds, "statement": statement,
        }

    def _charts(self, ctx: AnalysisContext, window: pd.DatetimeIndex, halted: np.ndarray, out: dict[str, Any]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        equity = pd.DataFrame({n: r.equity / r.equity.iloc[0] for n, r in ctx.results.items()})
        idx = {}
        for t in self.indices or []:
            field = "index:" + t
            if field in ctx.panel:
                s = pd.Series(ctx.panel[field][:, 0], index=ctx.panel.dates).reindex(window)
                s = s.ffill()
                if s.notna().any():
                    idx[t] = s / s.dropna().iloc[0]
        out["index_total_return"] = {t: float(s.dropna().iloc[-1] - 1.0) for t, s in idx.items()}
        fig, ax = plt.subplots(figsize=(10, 4.5))
        for n in equity:
            ax.plot(equity.index, equity[n], lw=1.6 if n == self.model else 1.0, label=n)
        for t, s in idx.items():
            ax.plot(s.index, s, lw=1.0, ls="--", label=f"index {t}")
        _shade(ax, window, halted)
        ax.set_yscale("log")
        ax.set_title("Equity (log), panic-halt periods shaded")
        ax.legend(fontsize=7, ncol=3)
        fig.tight_layout()
        fig.savefig(ctx.out_dir / "equity.png", dpi=90)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(10, 3))
        for n in equity:
            dd = equity[n] / equity[n].cummax() - 1.0
            ax.plot(dd.index, dd, lw=1.0, label=n)
        _shade(ax, window, halted)
        ax.set_title("Drawdown")
        ax.legend(fontsize=7, ncol=3)
        fig.tight_layout()
        fig.savefig(ctx.out_dir / "drawdown.png", dpi=90)
        plt.close(fig)
        self._membership_chart(ctx, plt)

    @staticmethod
    def _membership_chart(ctx: AnalysisContext, plt: Any) -> None:
        """``membership.png``: one row per name ever in the universe (by first entry), dark while a member."""
        path = ctx.out_dir / "membership.parquet"
        if not path.exists():
            return
        frame = pd.read_parquet(path)
        if frame.empty:
            return
        grid = pd.crosstab(frame["ticker"], frame["date"]).astype(bool)
        grid = grid.loc[grid.idxmax(axis=1).sort_values(kind="stable").index]
        fig, ax = plt.subplots(figsize=(10, min(2.0 + 0.04 * len(grid), 9.0)))
        dates = pd.DatetimeIndex(grid.columns)
        ax.imshow(grid.to_numpy(), aspect="auto", cmap="Greys", interpolation="nearest",
                  extent=(0, len(dates), len(grid), 0))
        ticks = np.linspace(0, len(dates) - 1, min(8, len(dates))).astype(int)
        ax.set_xticks(ticks + 0.5)
        ax.set_xticklabels([str(dates[i].date()) for i in ticks], fontsize=7)
        ax.set_yticks([])
        ax.set_ylabel(f"{len(grid)} names (by first entry)")
        ax.set_title("Universe membership through time (the rule on each day; each fold trades the set of its fit date)")
        fig.tight_layout()
        fig.savefig(ctx.out_dir / "membership.png", dpi=90)
        plt.close(fig)

    # --------------------------------------------------------------- render
    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        parts = []
        verdict = summary.get("verdict", {})
        parts.append(f"<p><b>{escape(str(verdict.get('statement', '')))}</b></p>")
        for name in ("equity.png", "drawdown.png", "membership.png"):
            path = Path(files) / name
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f'<img alt="{name}" src="data:image/png;base64,{data}" style="max-width:100%">')
        metrics = summary.get("metrics", {})
        if metrics:
            keys = ["cagr", "sharpe", "max_drawdown", "turnover", "volatility"]
            head = "".join(f"<th>{k}</th>" for k in keys)
            body = "".join(
                f"<tr><th>{escape(n)}</th>" + "".join(f"<td>{_fmt(m.get(k))}</td>" for k in keys) + "</tr>"
                for n, m in metrics.items())
            parts.append(f"<table><tr><th></th>{head}</tr>{body}</table>")
        idx = summary.get("index_total_return", {})
        if idx:
            parts.append("<p>Index total return over the window: " + ", ".join(
                f"{escape(t)} {v:+.1%}" for t, v in idx.items()) + "</p>")
        for key, title in (("universe", "Universe"), ("model_error", "Per-stock model error vs random walk"),
                           ("refused", "Refused orders by reason")):
            block = summary.get(key) or {}
            rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))[:300]}</td></tr>"
                           for k, v in block.items())
            parts.append(f"<h4>{title}</h4><table>{rows}</table>")
        members = Path(files) / "membership.parquet"
        if members.exists():
            frame = pd.read_parquet(members)
            if not frame.empty:
                dates = pd.DatetimeIndex(frame["date"])
                first = frame[dates == dates.to_series().groupby(dates.to_period("Q")).transform("min").to_numpy()]
                rows = "".join(f"<tr><th>{pd.Timestamp(d).date()}</th><td>{escape(', '.join(sorted(g['ticker'])))}</td>"
                               "</tr>" for d, g in first.groupby("date"))
                parts.append(f"<h4>Membership at the first session of each quarter</h4><table>{rows}</table>")
        halts = summary.get("halts", [])
        parts.append(f"<h4>Panic halts</h4><p>{len(halts)} period(s): " + "; ".join(
            f"{a} .. {b} ({n} sessions)" for a, b, n in halts) + "</p>")
        rest = {k: v for k, v in verdict.items() if k != "statement"}
        parts.append("<h4>Verdict numbers</h4><table>" + "".join(
            f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rest.items()) + "</table>")
        return "\n".join(parts)


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}"


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """First and last index of each run of True in a 1-D boolean ``mask``."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _shade(ax: Any, window: pd.DatetimeIndex, halted: np.ndarray) -> None:
    for k, j in _true_runs(halted):
        ax.axvspan(window[k], window[j], color="red", alpha=0.12, lw=0)


def _bootstrap_mean(x: np.ndarray, n_boot: int, block: int, seed: int) -> tuple[float, tuple[float, float]]:
    """One-sided p-value of mean(x) <= 0 and a 95 % interval, by arch's stationary bootstrap."""
    from arch.bootstrap import StationaryBootstrap

    x = x[np.isfinite(x)]
    if len(x) < 10:
        return math.nan, (math.nan, math.nan)
    bs = StationaryBootstrap(block, x, seed=np.random.default_rng(seed))
    means = bs.apply(lambda a: np.array([a.mean()]), n_boot)[:, 0]
    centred = means - x.mean()
    p = float(np.mean(centred >= x.mean()))
    lo, hi = np.quantile(means, [0.025, 0.975])
    return p, (float(lo), float(hi))


def _refit_forecasts(ctx: AnalysisContext, strat: Any) -> pd.DataFrame | None:
    """The model's out-of-sample forecasts, fold by fold, as the walk-forward runner made them."""
    cfg = ctx.config
    if getattr(cfg, "validation", None) is None or cfg.validation.walk_forward is None:
        return None
    panel = ctx.panel
    folds = cfg.validation.walk_forward.splitter().split(panel.dates)
    frames = []
    for fold in folds:
        train = panel.iloc_dates(slice(int(fold.train[0]), int(fold.train[-1]) + 1))
        fc = strat.get_params()["forecaster"].clone()
        fc.fit(train, until=train.dates[-1])
        view = panel.iloc_dates(slice(0, int(fold.test[-1]) + 1))
        frames.append(fc.predict(view, panel.dates[fold.test]).to_frame())
    return pd.concat(frames, ignore_index=True) if frames else None
