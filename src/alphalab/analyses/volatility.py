"""Volatility-forecast comparison: every variance forecaster of the study judged per stock against GARCH.

The analysis takes the study's ``forecast`` strategies whose forecaster emits
``volatility`` forecasts and forecasts every evaluated day with each of them out of
sample, on the same blocks for every model, so every comparison is on identical folds:

* ``source: study`` (default): the study's own walk-forward folds, each forecast by
  the very model the fold fitted (a strategy decides weekly, but its fitted forecaster
  forecasts every day of its test block); nothing is fitted again except the extra
  ``seeds``. Rules that learn nothing (GARCH refitted on its trailing window, EWMA,
  HAR) ran in one pass and forecast every day from a fresh copy;
* ``source: refit``: each forecaster fitted again every ``refit`` bars on everything
  before the block (for contexts without walk-forward models, or other block sizes).

It scores the out-of-sample variance forecasts on the variance scale against the
chosen proxy of the next day's variance (default the founding study's AR(1)-demeaned
square):

* MSE, MAE, QLIKE and R² per model, pooled and per stock, and the share of
  stocks on which each model has a lower loss than the baseline (GARCH);
* Diebold-Mariano per stock against the baseline: the share of stocks where a
  model is significantly better / worse (two-sided, ``dm_level``);
* the model confidence set (arch's MCS) on the per-date mean QLIKE;
* VaR at 90/95/99 % from each variance forecast (normal quantile, or the
  model's own quantiles when it reports them) with Kupiec and Christoffersen
  tests per stock; the empirical coverage of reported quantiles (DeepAR);
* several seeds for the stochastic learners (mean and spread of their losses): with
  ``source: study`` the study's own fits and one refit per extra seed on the same folds;
* every hyper-parameter trial of a tuned forecaster (``tune``: Optuna on the inner
  validation block of each training window), from the study's walk-forward folds and
  from this analysis's blocks: fold, trial, params, inner-validation loss, the choice;
* whether each learner is one pooled model or one model per stock (``pooling``).

Files: the scored daily forecasts and their target (``variance_forecasts.parquet``,
long: date, ticker, target, one column per model), per-stock loss tables (CSV), a heat map of per-stock QLIKE relative to the
baseline, forecast plots for a few stocks. The summary's ``headline`` states which
models beat the baseline on how many stocks and by how much, including when none do.
"""

from __future__ import annotations

import base64
import math
import warnings
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.analyses import Analysis, AnalysisContext, register_analysis
from alphalab.errors import ConfigError, DataError

__all__ = ["VolatilityComparison"]


def _walk_forward(forecaster: Any, panel: Any, rows: np.ndarray, refit: int, seed: int | None) -> tuple[np.ndarray, dict[float, np.ndarray], list[Any]]:
    """Stitched out-of-sample variance (and quantiles) at ``rows``, refitting every ``refit`` rows."""
    blocks = [(forecaster, (0, int(rows[lo]) - 1), rows[lo : lo + refit]) for lo in range(0, len(rows), refit)]
    return _forecast_blocks(panel, rows, blocks, seed)


def _study_blocks(wf: Any, panel: Any) -> list[tuple[Any, int, int, int, int]]:
    """The study's walk-forward blocks: ``(fitted model or None, train_lo, train_hi, test_lo, test_hi)``.

    Rows are positions in ``panel`` (inclusive ends). A strategy that learns nothing ran in one
    pass fitted before the first test block: one block over every test row, no model to re-use
    (a rule refits on its own trailing windows, so a fresh clone gives its forecasts cheaply and
    carries no state from the weekly decisions).
    """
    dates = panel.dates

    def row(d: Any) -> int:
        return int(dates.searchsorted(pd.Timestamp(d), "left"))

    folds = [f for f in wf.folds if f.get("test_start")]
    if not folds:
        return []
    models = list(getattr(wf, "models", None) or [])
    if len(models) != len(wf.folds):  # a single pass
        f0 = folds[0]
        hi = row(f0["train_end"]) if f0.get("train_end") else row(f0["test_start"]) - 1
        return [(None, 0, hi, row(f0["test_start"]), row(folds[-1]["test_end"]))]
    return [(models[i], row(f["train_start"]), row(f["train_end"]), row(f["test_start"]), row(f["test_end"]))
            for i, f in enumerate(wf.folds) if f.get("test_start")]


def _from_study(template: Any, wf: Any, panel: Any, rows: np.ndarray, seed: int | None) -> tuple[np.ndarray, dict[float, np.ndarray], list[Any]]:
    """Daily forecasts at ``rows`` on the study's own walk-forward blocks.

    With ``seed`` None each learning block is forecast by the fold's fitted model (the one that
    decided in the study); with a seed the block's forecaster is fitted again with that
    ``random_state`` on the fold's training span (the seed spread).
    """
    blocks = []
    for model, tr_lo, tr_hi, te_lo, te_hi in _study_blocks(wf, panel):
        block = rows[(rows >= te_lo) & (rows <= te_hi)]
        if not block.size:
            continue
        if model is not None and seed is None:
            blocks.append((model.forecaster_, None, block))
        else:
            f = model.forecaster if model is not None else template  # a fold's own (tuned) params
            blocks.append((f, (tr_lo, tr_hi), block))
    return _forecast_blocks(panel, rows, blocks, seed)


def _forecast_blocks(panel: Any, rows: np.ndarray, blocks: list[tuple[Any, tuple[int, int] | None, np.ndarray]],
                     seed: int | None) -> tuple[np.ndarray, dict[float, np.ndarray], list[Any]]:
    """Forecasts at ``rows`` (ascending) stitched from ``blocks``.

    Each block is ``(forecaster, span, block_rows)``: with ``span = (lo, hi)`` a clone of the
    forecaster is fitted on rows ``lo..hi`` (``random_state = seed`` when given); with ``span``
    None the forecaster is already fitted. Forecasts see the panel up to the block's last row
    only, as in the study.
    """
    from alphalab.portfolio.params import clone_param

    var = np.full((len(rows), panel.n_assets), np.nan)
    quants: dict[float, np.ndarray] = {}
    diags = []
    for f, span, block in blocks:
        if span is not None:
            lo, hi = span
            f = clone_param(f)
            if seed is not None and "random_state" in f.get_params(deep=False):
                f.set_params(random_state=int(seed))
            f.fit(panel.iloc_dates(slice(lo, hi + 1)), until=panel.dates[hi])
        fc = f.predict(panel.iloc_dates(slice(0, int(block[-1]) + 1)), panel.dates[block])
        at = np.searchsorted(rows, block)
        var[at] = fc.variance if fc.variance is not None else fc.mean**2
        for q, arr in fc.quantiles.items():
            quants.setdefault(q, np.full((len(rows), panel.n_assets), np.nan))[at] = arr
        diags.append(getattr(f, "diagnostics_", {}))
    return var, quants, diags


@register_analysis("volatility")
class VolatilityComparison(Analysis):
    """Per-stock comparison of variance forecasts against a baseline (see the module docstring).

    Parameters
    ----------
    baseline : str, default "garch"
        Strategy name whose forecaster is the reference.
    models : list of str, optional
        Strategy names to compare (default: every forecast strategy with a volatility forecaster).
    target : str, default "ar1_sq"
        Proxy of the realised variance (:data:`alphalab.models.vol.targets.PROXIES`).
    source : {"study", "refit"}, default "study"
        Forecast with the study's fitted walk-forward models, or fit again every ``refit`` bars.
    refit : int, default 252
        Bars per block with ``source: refit``.
    seeds : list of int, optional
        Seeds for forecasters with a ``random_state``. With ``source: refit`` (default [0]) the
        tables use the first and the spread uses all; with ``source: study`` (default none) the
        tables use the study's own fits and each seed adds one refit of every fold to the spread.
    seed_models : list of str, optional
        The models the extra seeds apply to (default every stochastic one); a refit per seed
        costs a whole walk-forward of that model.
    var_levels : list of float, default [0.90, 0.95, 0.99]
    dm_level : float, default 0.05
    mcs_size : float, default 0.10
    plot_assets : int, default 4
    """

    title = "Volatility forecasts against GARCH"

    def __init__(self, baseline: str = "garch", models: list[str] | None = None, target: str = "ar1_sq",
                 refit: int = 252, seeds: list[int] | None = None, var_levels: list[float] | None = None,
                 dm_level: float = 0.05, mcs_size: float = 0.10, plot_assets: int = 4, source: str = "study",
                 seed_models: list[str] | None = None) -> None:
        from alphalab.models.vol.targets import PROXIES

        if not isinstance(baseline, str):
            raise ConfigError(f"baseline must be a strategy name, got {baseline!r}")
        if models is not None and (not isinstance(models, list) or not all(isinstance(m, str) for m in models)):
            raise ConfigError(f"models must be a list of strategy names, got {models!r}")
        if target not in PROXIES:
            raise ConfigError(f"target must be one of {PROXIES}, got {target!r}")
        if isinstance(refit, bool) or not isinstance(refit, int) or refit < 5:
            raise ConfigError(f"refit must be an integer >= 5, got {refit!r}")
        if source not in ("study", "refit"):
            raise ConfigError(f"source must be 'study' (the walk-forward's own models) or 'refit', got {source!r}")
        if seeds is not None and (not isinstance(seeds, list) or not seeds
                                  or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
                                  or len(set(seeds)) != len(seeds)):
            raise ConfigError(f"seeds must be a non-empty list of distinct integers >= 0, got {seeds!r}")
        if seed_models is not None and (not isinstance(seed_models, list) or not all(isinstance(m, str) for m in seed_models)):
            raise ConfigError(f"seed_models must be a list of strategy names, got {seed_models!r}")
        levels = [0.90, 0.95, 0.99] if var_levels is None else var_levels
        if not isinstance(levels, list) or not all(isinstance(v, (int, float)) and 0.5 < v < 1 for v in levels):
            raise ConfigError(f"var_levels must be a list of numbers in (0.5, 1), got {var_levels!r}")
        for name, v in (("dm_level", dm_level), ("mcs_size", mcs_size)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
                raise ConfigError(f"{name} must lie in (0, 1), got {v!r}")
        if isinstance(plot_assets, bool) or not isinstance(plot_assets, int) or plot_assets < 0:
            raise ConfigError(f"plot_assets must be an integer >= 0, got {plot_assets!r}")
        self.baseline = baseline
        self.models = models
        self.target = target
        self.refit = refit
        self.seeds = seeds
        self.var_levels = var_levels
        self.dm_level = dm_level
        self.mcs_size = mcs_size
        self.plot_assets = plot_assets
        self.source = source
        self.seed_models = seed_models

    # ------------------------------------------------------------------ run
    def _forecasters(self, ctx: AnalysisContext) -> dict[str, Any]:
        out = {}
        for name, strat in ctx.strategies.items():
            fc = getattr(strat, "forecaster", None)
            if fc is None or getattr(fc.requires, "kind", None) != "volatility":
                continue
            if self.models is None or name in self.models:
                out[name] = fc
        if self.baseline not in out:
            raise ConfigError(f"baseline {self.baseline!r} is not a forecast strategy with a volatility forecaster; "
                              f"found {sorted(out)}")
        if self.models is not None:
            missing = sorted(set(self.models) - set(out))
            if missing:
                raise ConfigError(f"models {missing} are not forecast strategies with volatility forecasters")
        return out

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        from alphalab.models.evaluation import (
            diebold_mariano,
            loss_table,
            model_confidence_set,
            qlike_losses,
            r2,
        )
        from alphalab.models.vol import targets as T
        from alphalab.models.vol.risk import christoffersen, kupiec, var_threshold, violations

        panel = ctx.panel
        forecasters = self._forecasters(ctx)
        first = next(iter(ctx.results.values()))
        eval_dates = pd.DatetimeIndex(first.returns.index)
        rows = panel.dates.get_indexer(eval_dates)
        rows = rows[rows > 0]
        if rows.size < 20:
            raise DataError(f"volatility analysis: {rows.size} evaluated dates, need >= 20")
        y = T.forward_variance(T.proxy(panel, self.target), 1)[rows]
        ret = T.returns(panel)
        r_next = np.vstack([ret[1:], np.full((1, panel.n_assets), np.nan)])[rows]
        var: dict[str, np.ndarray] = {}
        quant: dict[str, dict[float, np.ndarray]] = {}
        seed_losses: dict[str, list[tuple[Any, float]]] = {}  # (seed or "study", pooled QLIKE)
        diagnostics: dict[str, Any] = {}
        tuning: list[dict[str, Any]] = []
        for name in forecasters:  # the study's own walk-forward folds
            for d in (ctx.diagnostics or {}).get(name, []) or []:
                if isinstance(d, dict):
                    tuning += _tuning_rows(name, "walk-forward fold", d.get("fold"), None,
                                           (d.get("forecaster") or {}).get("tuning"))
        study = self.source == "study"
        if study:
            missing = [n for n in forecasters if n not in (ctx.walk_forward or {})]
            if missing:
                raise ConfigError(f"source 'study' needs the walk-forward runs of {missing}; this context has "
                                  "none (use source: refit)")
        if self.seed_models is not None:
            unknown = sorted(set(self.seed_models) - set(forecasters))
            if unknown:
                raise ConfigError(f"seed_models {unknown} are not among the compared models {sorted(forecasters)}")
        seeds = list(self.seeds) if self.seeds is not None else ([] if study else [0])
        for name, fc in forecasters.items():
            stochastic = "random_state" in fc.get_params(deep=False)
            spread = stochastic and (self.seed_models is None or name in self.seed_models)
            if study:
                runs: list[Any] = [None] + (seeds if spread else [])  # None: the study's own fits
            else:
                runs = seeds if stochastic else [None]
            for k, seed in enumerate(runs):
                if study:
                    v, q, diags = _from_study(fc, ctx.walk_forward[name], panel, rows, seed)
                else:
                    v, q, diags = _walk_forward(fc, panel, rows, int(self.refit), seed)
                if k == 0:
                    var[name], quant[name] = v, q
                    diagnostics[name] = _fit_counts(diags)
                if spread and len(runs) > 1:
                    label = "study" if seed is None else seed
                    seed_losses.setdefault(name, []).append((label, float(np.nanmean(qlike_losses(y, v)))))
                if study and seed is None:
                    continue  # the study's own fits: their trials came with its diagnostics above
                for b, d in enumerate(diags):
                    tuning += _tuning_rows(name, "seed refit, fold" if study else "analysis block", b, seed,
                                           d.get("tuning") if isinstance(d, dict) else None)
        if tuning:
            pd.DataFrame(tuning).to_csv(ctx.out_dir / "tuning_trials.csv", index=False)
        _write_daily(ctx.out_dir / "variance_forecasts.parquet", panel, rows, y, var)
        pooling = {name: str(fc.get_params(deep=False)["pooling"]) for name, fc in forecasters.items()
                   if "pooling" in fc.get_params(deep=False)}
        assets = list(panel.assets)
        pct = 1e4  # losses on percent-squared variances (readable magnitudes)
        tables, pooled = {}, {}
        for loss in ("mse", "mae", "qlike"):
            scale = pct if loss != "qlike" else 1.0
            per, pool = loss_table(y * scale, {k: v * scale for k, v in var.items()}, baseline=self.baseline,
                                   loss=loss, assets=assets)
            tables[loss], pooled[loss] = per, pool
            per.to_csv(ctx.out_dir / f"per_stock_{loss}.csv")
        common = np.isfinite(y)
        for v in var.values():
            common &= np.isfinite(v)
        r2s = {k: r2(y[common], v[common]) for k, v in var.items()}
        # Diebold-Mariano per stock on QLIKE and MSE
        dm: dict[str, dict[str, Any]] = {}
        for name in var:
            if name == self.baseline:
                continue
            rec: dict[str, Any] = {}
            for loss in ("qlike", "mse"):
                better = worse = tested = 0
                for j in range(len(assets)):
                    ok = common[:, j]
                    if ok.sum() < 30:
                        continue
                    la = _loss(loss, y[ok, j], var[name][ok, j])
                    lb = _loss(loss, y[ok, j], var[self.baseline][ok, j])
                    res = diebold_mariano(la, lb)
                    if not math.isfinite(res["pvalue"]):
                        continue
                    tested += 1
                    if res["pvalue"] < self.dm_level:
                        better += int(res["stat"] < 0)
                        worse += int(res["stat"] > 0)
                rel = (tables[loss][name] / tables[loss][self.baseline] - 1.0).dropna()
                rec[loss] = {"stocks": tested, "beats": int((rel < 0).sum()), "sig_better": better, "sig_worse": worse,
                             "share_sig_better": better / tested if tested else math.nan,
                             "share_sig_worse": worse / tested if tested else math.nan,
                             "median_rel_change": float(rel.median()) if len(rel) else math.nan,
                             "pooled_rel_change": float(pooled[loss].loc[name, "loss"] / pooled[loss].loc[self.baseline, "loss"] - 1)}
            dm[name] = rec
        # model confidence set on the per-date mean QLIKE
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a date no stock has every forecast for
            by_date = pd.DataFrame({k: np.nanmean(np.where(common, qlike_losses(y, v), np.nan), axis=1)
                                    for k, v in var.items()})
        by_date.columns = pd.Index([str(c) for c in by_date.columns], dtype=object)
        # an explosive forecaster (EGARCH near-zero variances: QLIKE ~1e130) makes its standardised
        # differences against every other model tie exactly, which arch's MCS cannot break; the MCS
        # sees per-date losses capped at 1e3 (no other model comes near it)
        by_date = by_date.clip(upper=1e3)
        # arch's MCS cannot break an exact tie between two loss series: test one of each identical group
        twins = by_date.T.duplicated()
        mcs_out: dict[str, Any] = {}
        try:
            mcs = model_confidence_set(by_date.loc[:, ~twins.to_numpy()], size=float(self.mcs_size), reps=500, seed=0)
            mcs_out = {k: {"pvalue": float(r.pvalue), "included": bool(r.included)} for k, r in mcs.iterrows()}
            for name in by_date.columns[twins.to_numpy()]:
                same = next(c for c in mcs_out if by_date[c].equals(by_date[name]))
                mcs_out[name] = {**mcs_out[same], "identical_to": same}
        except (DataError, IndexError, ValueError) as exc:
            mcs_out = {"error": f"{type(exc).__name__}: {exc}"}
        # VaR backtests
        levels = [0.90, 0.95, 0.99] if self.var_levels is None else self.var_levels
        var_bt: dict[str, dict[str, Any]] = {}
        for name, v in var.items():
            rec = {}
            for lev in levels:
                alpha = round(1.0 - float(lev), 10)
                own = quant[name].get(alpha)
                thr = own if own is not None else var_threshold(v, alpha)
                hits = violations(r_next, thr)
                rej_k = rej_c = n_st = 0
                for j in range(len(assets)):
                    h = hits[:, j]
                    if np.isfinite(h).sum() < 30:
                        continue
                    n_st += 1
                    rej_k += int(kupiec(h, alpha)["pvalue"] < 0.05)
                    rej_c += int(christoffersen(h, alpha)["pvalue_cc"] < 0.05)
                pooled_k = kupiec(hits.ravel(), alpha)
                rec[f"{lev:g}"] = {"rate": pooled_k["rate"], "nominal": alpha, "stocks": n_st,
                                   "kupiec_rejected": rej_k, "christoffersen_rejected": rej_c,
                                   "from": "own quantiles" if own is not None else "normal quantile"}
            var_bt[name] = rec
        calib = {}
        for name, qs in quant.items():
            if qs:
                calib[name] = {f"{q:g}": float(np.nanmean(np.where(np.isfinite(arr) & np.isfinite(r_next), r_next < arr, np.nan)))
                               for q, arr in qs.items()}
                if 0.05 in qs and 0.95 in qs:
                    inside = (r_next >= qs[0.05]) & (r_next <= qs[0.95])
                    ok = np.isfinite(r_next) & np.isfinite(qs[0.05])
                    calib[name]["coverage_90"] = float(inside[ok].mean())
        spread = {}
        for k, runs_k in seed_losses.items():
            losses = [x for _, x in runs_k]
            spread[k] = {"mean_qlike": float(np.mean(losses)), "n_seeds": len(losses),
                         "sd_qlike": float(np.std(losses, ddof=1)) if len(losses) > 1 else 0.0,
                         "seeds": [lab for lab, _ in runs_k], "qlike": losses}
        self._plots(ctx.out_dir, tables["qlike"], var, y, eval_dates[: len(rows)], assets)
        headline = _headline(dm, self.baseline, len(assets))
        return {
            "baseline": self.baseline, "target": self.target, "n_stocks": len(assets),
            "n_dates": int(rows.size), "first": str(panel.dates[rows[0]].date()), "last": str(panel.dates[rows[-1]].date()),
            "headline": headline,
            "pooled": {loss: {k: {c: float(vv) for c, vv in row.items()} for k, row in p.iterrows()} for loss, p in pooled.items()},
            "r2": r2s, "dm": dm, "mcs": mcs_out, "var_backtests": var_bt, "calibration": calib,
            "seeds": spread, "fits": diagnostics, "source": self.source, "tuning": tuning, "pooling": pooling,
        }

    def _plots(self, out: Path, qlike_table: pd.DataFrame, var: dict[str, np.ndarray], y: np.ndarray,
               dates: pd.DatetimeIndex, assets: list[str]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rel = qlike_table.div(qlike_table[self.baseline], axis=0).drop(columns=[self.baseline]) - 1.0
        if rel.shape[1]:
            fig, ax = plt.subplots(figsize=(1.2 + 0.9 * rel.shape[1], 1.5 + 0.18 * rel.shape[0]))
            lim = float(np.nanmax(np.abs(rel.to_numpy()))) if np.isfinite(rel.to_numpy()).any() else 1.0
            im = ax.imshow(rel.to_numpy(), aspect="auto", cmap="RdYlGn_r", vmin=-lim, vmax=lim)
            ax.set_xticks(range(rel.shape[1]), rel.columns, rotation=45, ha="right", fontsize=7)
            ax.set_yticks(range(rel.shape[0]), rel.index, fontsize=6)
            ax.set_title(f"QLIKE relative to {self.baseline} (green: better)", fontsize=8)
            fig.colorbar(im, ax=ax)
            fig.tight_layout()
            fig.savefig(out / "heatmap_qlike.png", dpi=80)
            plt.close(fig)
        for j in range(min(int(self.plot_assets), len(assets))):
            fig, ax = plt.subplots(figsize=(8, 2.6))
            ax.plot(dates, np.sqrt(y[:, j]) * 100, color="0.75", lw=0.6, label="realised |proxy|^0.5")
            for name, v in var.items():
                ax.plot(dates, np.sqrt(v[:, j]) * 100, lw=0.8, label=name)
            ax.set_ylabel("daily vol, %")
            ax.set_title(f"{assets[j]}: one-day volatility forecasts", fontsize=8)
            ax.legend(fontsize=6, ncol=4)
            fig.tight_layout()
            fig.savefig(out / f"forecast_{j:02d}.png", dpi=80)
            plt.close(fig)

    # --------------------------------------------------------------- render
    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        parts = [f"<p>Target: next-day {escape(str(summary.get('target')))} variance proxy, "
                 f"{summary.get('n_stocks')} stocks, {summary.get('n_dates')} dates "
                 f"({escape(str(summary.get('first')))} .. {escape(str(summary.get('last')))}); baseline "
                 f"<b>{escape(str(summary.get('baseline')))}</b>. {escape(_SOURCES.get(str(summary.get('source')), ''))}</p><ul>"]
        parts += [f"<li>{escape(line)}</li>" for line in summary.get("headline", [])]
        parts.append("</ul>")
        pooled = summary.get("pooled", {})
        if pooled:
            models = list(pooled.get("qlike", {}))
            head = "".join(f"<th>{escape(m)}</th>" for m in ("model", "pooling", "MSE", "MAE", "QLIKE", "R²",
                                                              "QLIKE: stocks beating baseline"))
            pooling = summary.get("pooling", {})
            rows = []
            for m in models:
                cells = [pooled[k][m]["loss"] for k in ("mse", "mae", "qlike")] + [summary.get("r2", {}).get(m)]
                share = pooled["qlike"][m].get("share_beats_baseline")
                rows.append(f"<tr><td>{escape(m)}</td><td>{escape(pooling.get(m, '–'))}</td>"
                            + "".join(f"<td>{_fmt(c)}</td>" for c in cells)
                            + f"<td>{_fmt(share, pct=True)}</td></tr>")
            parts.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
        dm = summary.get("dm", {})
        if dm:
            rows = "".join(
                f"<tr><td>{escape(m)}</td><td>{r['qlike']['beats']}/{r['qlike']['stocks']}</td>"
                f"<td>{r['qlike']['sig_better']}</td><td>{r['qlike']['sig_worse']}</td>"
                f"<td>{_fmt(r['qlike']['median_rel_change'], pct=True)}</td>"
                f"<td>{r['mse']['sig_better']}</td><td>{r['mse']['sig_worse']}</td></tr>" for m, r in dm.items())
            parts.append("<h4>Diebold-Mariano per stock against the baseline</h4><table><tr><th>model</th>"
                         "<th>QLIKE lower</th><th>QLIKE sig. better</th><th>QLIKE sig. worse</th>"
                         "<th>median QLIKE change</th><th>MSE sig. better</th><th>MSE sig. worse</th></tr>"
                         f"{rows}</table>")
        mcs = summary.get("mcs", {})
        if mcs and "error" not in mcs:
            parts.append("<h4>Model confidence set (QLIKE)</h4><p>" + ", ".join(
                f"{escape(k)} (p={_fmt(v['pvalue'])}{', in' if v['included'] else ', out'})" for k, v in mcs.items()) + "</p>")
        vb = summary.get("var_backtests", {})
        if vb:
            levels = list(next(iter(vb.values())))
            head = "".join(f"<th>VaR {escape(lv)}: rate / Kupiec rej. / Christoffersen rej.</th>" for lv in levels)
            rows = "".join(
                f"<tr><td>{escape(m)}</td>" + "".join(
                    f"<td>{_fmt(r[lv]['rate'], pct=True)} (nom. {_fmt(r[lv]['nominal'], pct=True)}) / "
                    f"{r[lv]['kupiec_rejected']}/{r[lv]['stocks']} / {r[lv]['christoffersen_rejected']}/{r[lv]['stocks']}</td>"
                    for lv in levels) + "</tr>" for m, r in vb.items())
            parts.append(f"<h4>VaR backtests (stocks rejected at 5%)</h4><table><tr><th>model</th>{head}</tr>{rows}</table>")
        for m, c in summary.get("calibration", {}).items():
            parts.append(f"<p>Quantile calibration of {escape(m)}: " + ", ".join(f"{escape(k)}: {_fmt(v)}" for k, v in c.items()) + "</p>")
        seeds = summary.get("seeds", {})
        if seeds:
            rows = "".join(
                f"<tr><td>{escape(m)}</td><td>{s['n_seeds']}</td><td>{_fmt(s['mean_qlike'])}</td><td>{_fmt(s['sd_qlike'])}</td>"
                f"<td>{escape(', '.join(f'{lab}: {_fmt(x)}' for lab, x in zip(s.get('seeds', []), s.get('qlike', []), strict=False)))}</td></tr>"
                for m, s in seeds.items())
            parts.append("<h4>Network seeds (pooled QLIKE over the evaluated window)</h4><table><tr><th>model</th>"
                         f"<th>seeds</th><th>mean</th><th>sd</th><th>per seed</th></tr>{rows}</table>")
        fits = {m: f for m, f in (summary.get("fits") or {}).items()
                if isinstance(f, dict) and f.get("garch_fits")}
        if fits:
            rows = "".join(
                f"<tr><td>{escape(m)}</td><td>{f['garch_fits']:,}</td><td>{f.get('garch_failed', 0):,}</td>"
                f"<td>{escape(', '.join(f'{a}: {v}' for a, v in sorted(f.get('failed_by_stock', {}).items())) or '–')}</td>"
                f"<td>{f.get('forecasts_capped', 0):,}</td></tr>" for m, f in fits.items())
            parts.append("<h4>GARCH-family fits (behind the scored daily forecasts)</h4><table><tr><th>model</th><th>fits</th>"
                         "<th>not converged</th><th>not converged, by stock</th><th>forecasts capped (exploded "
                         f"filter replaced by the window's sample variance)</th></tr>{rows}</table>")
        tuning = summary.get("tuning", [])
        if tuning:
            rows = "".join(
                f"<tr><td>{escape(str(t['model']))}</td><td>{escape(str(t['run']))} {escape(str(t['fold']))}</td>"
                f"<td>{escape(str(t['seed']) if t['seed'] is not None else '–')}</td><td>{t['trial']}</td>"
                f"<td>{escape(str(t['params']))}</td><td>{_fmt(t['loss'])}</td><td>{'chosen' if t['chosen'] else ''}</td>"
                f"<td>{escape(str(t['inner']))}</td></tr>" for t in tuning)
            parts.append("<h4>Hyper-parameter trials (Optuna on the inner validation block of each training window; "
                         "loss on that block)</h4><table><tr><th>model</th><th>fold</th><th>seed</th><th>trial</th>"
                         f"<th>params</th><th>inner-validation loss</th><th></th><th>inner block</th></tr>{rows}</table>")
        for png in sorted(Path(files).glob("*.png")) if Path(files).is_dir() else []:
            data = base64.b64encode(png.read_bytes()).decode()
            parts.append(f'<img alt="{escape(png.stem)}" src="data:image/png;base64,{data}"/>')
        return "\n".join(parts)


#: How the scored forecasts were made, as the report says it.
_SOURCES = {
    "study": "Forecasts: every evaluated day, by the model each walk-forward fold of the study fitted "
             "(no refit); rules that learn nothing forecast from their own trailing windows.",
    "refit": "Forecasts: every evaluated day, each model fitted again on everything before each block "
             "of the analysis.",
}


def _loss(kind: str, y: np.ndarray, f: np.ndarray) -> np.ndarray:
    from alphalab.models.evaluation import qlike_losses

    return qlike_losses(y, f) if kind == "qlike" else (y - f) ** 2 * 1e8


def _tuning_rows(model: str, run: str, fold: Any, seed: Any, tuning: Any) -> list[dict[str, Any]]:
    """One row per recorded trial of a tuned fit (``diagnostics_["tuning"]``), or none."""
    if not isinstance(tuning, dict):
        return []
    inner = f"{tuning.get('inner_first')}..{tuning.get('inner_last')}"
    return [{"model": model, "run": run, "fold": fold, "seed": seed, "trial": int(t["trial"]),
             "params": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in t["params"].items()},
             "loss": t.get("loss") if t.get("loss") is not None else math.nan,
             "metric": tuning.get("metric"), "chosen": int(t["trial"]) == tuning.get("best_trial"), "inner": inner}
            for t in tuning.get("trials", [])]


def _write_daily(path: Path, panel: Any, rows: np.ndarray, y: np.ndarray, var: dict[str, np.ndarray]) -> None:
    """The scored forecasts, long: ``date, ticker, target`` and one variance column per model."""
    n = panel.n_assets
    frame = pd.DataFrame({"date": np.repeat(panel.dates[rows], n), "ticker": np.tile(np.asarray(panel.assets), len(rows)),
                          "target": y.ravel()})
    for name, v in var.items():
        frame[name] = v.ravel()
    frame.to_parquet(path, index=False)


def _fit_counts(diags: list[Any]) -> dict[str, Any]:
    fits = sum(int(d.get("total_fits", 0)) for d in diags if isinstance(d, dict))
    failed = sum(int(d.get("total_failed", 0)) for d in diags if isinstance(d, dict))
    per: dict[str, int] = {}
    for d in diags:
        for a, v in (d.get("n_failed", {}) if isinstance(d, dict) else {}).items():
            per[a] = per.get(a, 0) + int(v)
    capped = sum(int(d.get("total_capped", 0)) for d in diags if isinstance(d, dict))
    out: dict[str, Any] = {"blocks": len(diags)}
    if fits:
        out.update({"garch_fits": fits, "garch_failed": failed, "failed_by_stock": {a: v for a, v in per.items() if v}})
    if capped:  # exploded filter forecasts replaced by the window's sample variance (arch engine)
        out["forecasts_capped"] = capped
    return out


def _headline(dm: dict[str, dict[str, Any]], baseline: str, n: int) -> list[str]:
    lines = []
    for name, rec in dm.items():
        q = rec["qlike"]
        lines.append(
            f"{name}: lower QLIKE than {baseline} on {q['beats']} of {q['stocks']} stocks, significantly better (DM) on "
            f"{q['sig_better']} and significantly worse on {q['sig_worse']}; median per-stock QLIKE change "
            f"{_change(q['median_rel_change'])}, pooled {_change(q['pooled_rel_change'])}.")
    winners = [k for k, r in dm.items() if r["qlike"]["sig_better"] > r["qlike"]["sig_worse"] and r["qlike"]["pooled_rel_change"] < 0]
    lines.append(
        f"Models that beat {baseline} (more stocks significantly better than worse and a lower pooled QLIKE): "
        + (", ".join(winners) if winners else "none") + ".")
    return lines


def _change(x: float) -> str:
    """A relative change as a percentage, or as a multiple when it is huge (explosive forecasts)."""
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.1%}" if abs(x) < 10 else f"{1 + x:.3g} times the baseline's"


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.1%}" if pct else f"{v:.4g}"
