"""Forecast evaluation: point losses, comparisons with a baseline, and factor-style IC.

Losses (arrays of matching shape, NaN pairs ignored):

* ``mse``, ``mae``, ``r2`` (``1 - SSE / SST`` around the realised mean);
* ``oos_r2(y, f, baseline)`` = ``1 - SSE(f) / SSE(baseline)`` (Campbell-Thompson);
* ``qlike(realised_var, forecast_var)`` = mean of ``r/f - log(r/f) - 1``
  (Patton 2011's robust loss for variance forecasts; 0 for a perfect forecast);

Comparisons: :func:`diebold_mariano` (Newey-West long-run variance of the
loss differential with ``h - 1`` lags, arch's Bartlett kernel),
:func:`model_confidence_set` (arch's ``MCS``), and :func:`loss_table`
(per asset and pooled, with the share of assets where a model beats its
baseline). Return forecasts are also scored like factors by reusing
:mod:`alphalab.features.factors` (IC, rank IC, ICIR, quantile spreads).

:func:`evaluate_forecast_frame` takes the long forecasts a strategy wrote
(``date, ticker, mean[, variance]``), computes the realised targets from the
panel and returns a :class:`ForecastReport` (JSON-able summary + tables).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features import factors
from alphalab.models.labels import make_label

__all__ = [
    "ForecastReport",
    "diebold_mariano",
    "evaluate_forecast_frame",
    "loss_table",
    "mae",
    "model_confidence_set",
    "mse",
    "oos_r2",
    "qlike",
    "r2",
    "return_forecast_metrics",
]


def _pair(y: Any, f: Any) -> tuple[np.ndarray, np.ndarray]:
    y, f = np.asarray(y, dtype=np.float64), np.asarray(f, dtype=np.float64)
    if y.shape != f.shape:
        raise DataError(f"realised shape {y.shape} != forecast shape {f.shape}")
    ok = np.isfinite(y) & np.isfinite(f)
    return y[ok], f[ok]


def mse(y: Any, f: Any) -> float:
    """Mean squared error over finite pairs (NaN when there is none)."""
    a, b = _pair(y, f)
    return float(np.mean((a - b) ** 2)) if a.size else math.nan


def mae(y: Any, f: Any) -> float:
    """Mean absolute error over finite pairs."""
    a, b = _pair(y, f)
    return float(np.mean(np.abs(a - b))) if a.size else math.nan


def r2(y: Any, f: Any) -> float:
    """``1 - SSE / SST`` with SST around the realised mean."""
    a, b = _pair(y, f)
    sst = float(np.sum((a - a.mean()) ** 2)) if a.size else 0.0
    return 1.0 - float(np.sum((a - b) ** 2)) / sst if sst > 0 else math.nan


def oos_r2(y: Any, f: Any, baseline: Any) -> float:
    """Out-of-sample R²: ``1 - SSE(f) / SSE(baseline)`` on pairs where all three are finite."""
    y, f, g = (np.asarray(x, dtype=np.float64) for x in (y, f, baseline))
    ok = np.isfinite(y) & np.isfinite(f) & np.isfinite(g)
    den = float(np.sum((y[ok] - g[ok]) ** 2))
    return 1.0 - float(np.sum((y[ok] - f[ok]) ** 2)) / den if den > 0 else math.nan


def qlike_losses(realised_var: Any, forecast_var: Any) -> np.ndarray:
    """Element-wise QLIKE ``r/f - log(r/f) - 1`` (NaN where either is non-finite or <= 0)."""
    r, f = np.asarray(realised_var, dtype=np.float64), np.asarray(forecast_var, dtype=np.float64)
    ok = np.isfinite(r) & np.isfinite(f) & (r > 0) & (f > 0)
    out = np.full(np.broadcast(r, f).shape, np.nan)
    ratio = np.where(ok, r, 1.0) / np.where(ok, f, 1.0)
    out[ok] = (ratio - np.log(ratio) - 1.0)[ok]
    return out


def qlike(realised_var: Any, forecast_var: Any) -> float:
    """Mean QLIKE loss of variance forecasts (Patton 2011), over valid pairs."""
    losses = qlike_losses(realised_var, forecast_var)
    return float(np.nanmean(losses)) if np.isfinite(losses).any() else math.nan


def diebold_mariano(loss_a: Any, loss_b: Any, h: int = 1) -> dict[str, float]:
    """Diebold-Mariano test of equal predictive accuracy.

    Parameters
    ----------
    loss_a, loss_b : array-like, shape ``(n,)``
        Per-period losses of two forecasts of the same target (NaN pairs dropped).
    h : int
        Forecast horizon; the long-run variance of ``d = loss_a - loss_b``
        uses a Bartlett kernel with ``h - 1`` lags (arch's kernel estimator).

    Returns
    -------
    dict
        ``stat`` (negative: ``a`` has the smaller loss), two-sided ``pvalue``
        from the normal distribution, ``mean_diff`` and ``n``.
    """
    a, b = _pair(loss_a, loss_b)
    d = a - b
    n = d.size
    if n < 3:
        return {"stat": math.nan, "pvalue": math.nan, "mean_diff": math.nan, "n": float(n)}
    from arch.covariance.kernel import Bartlett

    lrv = float(np.asarray(Bartlett(d, bandwidth=max(int(h) - 1, 0), force_int=True).cov.long_run).squeeze())
    if not lrv > 0:
        return {"stat": math.nan, "pvalue": math.nan, "mean_diff": float(d.mean()), "n": float(n)}
    stat = float(d.mean() / math.sqrt(lrv / n))
    return {"stat": stat, "pvalue": float(2 * stats.norm.sf(abs(stat))), "mean_diff": float(d.mean()), "n": float(n)}


def model_confidence_set(losses: pd.DataFrame, size: float = 0.1, *, reps: int = 1000,
                         block_size: int = 10, seed: int = 0) -> pd.DataFrame:
    """Hansen-Lunde-Nason model confidence set via :class:`arch.bootstrap.MCS`.

    Parameters
    ----------
    losses : pandas.DataFrame, shape ``(n_periods, n_models)``
        One column of losses per model; rows with any NaN are dropped.
    size : float
        Test size (0.1 keeps the models not rejected at 10 %).

    Returns
    -------
    pandas.DataFrame
        Index: model; columns ``pvalue`` (MCS p-value) and ``included`` (bool).
    """
    from arch.bootstrap import MCS

    clean = losses.dropna()
    if clean.shape[0] < 2 * block_size or clean.shape[1] < 2:
        raise DataError(f"MCS needs >= 2 models and {2 * block_size} complete rows, got {clean.shape}")
    mcs = MCS(clean, size=size, reps=reps, block_size=block_size, seed=np.random.default_rng(seed))
    mcs.compute()
    out = mcs.pvalues.rename(columns={"Pvalue": "pvalue"}).copy()
    out["included"] = out.index.isin(mcs.included)
    return out.reindex(clean.columns)


_LOSSES = {"mse": lambda y, f: (y - f) ** 2, "mae": lambda y, f: np.abs(y - f), "qlike": lambda y, f: qlike_losses(y, f)}


def loss_table(realised: np.ndarray, forecasts: Mapping[str, np.ndarray], *, baseline: str,
               loss: str = "mse", assets: Any = None, h: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-asset and pooled losses of several forecasts of the same target.

    Parameters
    ----------
    realised : numpy.ndarray, shape ``(n_dates, n_assets)``
    forecasts : dict of name -> numpy.ndarray ``(n_dates, n_assets)``
        Must include ``baseline``.
    loss : {"mse", "mae", "qlike"}
        For ``qlike`` the arrays are variances.
    assets : sequence, optional
        Column labels of the per-asset table.
    h : int
        Horizon for the pooled Diebold-Mariano tests against the baseline.

    Returns
    -------
    per_asset : pandas.DataFrame
        Index: asset; one column of mean loss per model.
    pooled : pandas.DataFrame
        Index: model; ``loss`` (pooled mean), ``share_beats_baseline`` (share
        of assets with a lower mean loss than the baseline), ``dm_stat`` and
        ``dm_pvalue`` (on the per-date cross-sectional mean loss).
    """
    if loss not in _LOSSES:
        raise ConfigError(f"loss must be one of {sorted(_LOSSES)}, got {loss!r}")
    if baseline not in forecasts:
        raise ConfigError(f"baseline {baseline!r} is not among the forecasts {sorted(forecasts)}")
    y = np.asarray(realised, dtype=np.float64)
    # compare every model on the same cells: where all forecasts and the target are finite
    common = np.isfinite(y)
    for f in forecasts.values():
        common &= np.isfinite(np.asarray(f, dtype=np.float64))
    per: dict[str, np.ndarray] = {}
    by_date: dict[str, np.ndarray] = {}
    for name, f in forecasts.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            cell = np.where(common, _LOSSES[loss](y, np.asarray(f, dtype=np.float64)), np.nan)
        cnt = common.sum(axis=0)
        per[name] = np.where(cnt > 0, np.nansum(cell, axis=0) / np.maximum(cnt, 1), np.nan)
        cnt_d = common.sum(axis=1)
        by_date[name] = np.where(cnt_d > 0, np.nansum(cell, axis=1) / np.maximum(cnt_d, 1), np.nan)
    labels = assets if assets is not None else range(y.shape[1])
    per_asset = pd.DataFrame(per, index=pd.Index(labels, name="asset"))
    rows = {}
    base = per_asset[baseline]
    for name in forecasts:
        valid = per_asset[name].notna() & base.notna()
        dm = diebold_mariano(by_date[name], by_date[baseline], h) if name != baseline else {"stat": math.nan, "pvalue": math.nan}
        pooled_loss = float(np.nanmean(by_date[name])) if np.isfinite(by_date[name]).any() else math.nan
        rows[name] = {
            "loss": pooled_loss,
            "share_beats_baseline": float((per_asset[name][valid] < base[valid]).mean()) if valid.any() else math.nan,
            "dm_stat": dm["stat"],
            "dm_pvalue": dm["pvalue"],
        }
    return per_asset, pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def return_forecast_metrics(signal: np.ndarray, realised: np.ndarray, *, dates: Any = None,
                            n_quantiles: int = 5, periods_per_year: float = 52.0) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """IC, rank IC, ICIR and quantile spreads of a return (or score) forecast.

    Parameters
    ----------
    signal, realised : numpy.ndarray, shape ``(n_dates, n_assets)``
        Forecasts and realised forward returns on the same dates.
    periods_per_year : float
        Forecast dates per year, for the annualised ICIR.

    Returns
    -------
    summary : dict
        ``ic_mean, ic_std, icir, rank_ic_mean, rank_icir, rank_icir_annual,
        rank_ic_t, hit_rate, long_short_mean, q1_mean .. qN_mean, n_dates``.
    tables : dict of DataFrame
        ``ic`` (per date ``ic``, ``rank_ic``) and ``quantiles`` (per date).
    """
    ic = factors.information_coefficient(signal, realised, method="pearson", dates=dates)
    ric = factors.information_coefficient(signal, realised, method="spearman", dates=dates)
    qr = factors.quantile_returns(signal, realised, n_quantiles=n_quantiles, dates=dates)
    s_ic = factors.ic_summary(ic, periods_per_year)
    s_ric = factors.ic_summary(ric, periods_per_year)
    summary = {
        "ic_mean": s_ic["ic_mean"], "ic_std": s_ic["ic_std"], "icir": s_ic["icir"],
        "rank_ic_mean": s_ric["ic_mean"], "rank_icir": s_ric["icir"],
        "rank_icir_annual": s_ric["icir_annual"], "rank_ic_t": s_ric["t_stat"],
        "hit_rate": s_ric["hit_rate"], "long_short_mean": float(qr["long_short"].mean()),
        **{f"{c}_mean": float(qr[c].mean()) for c in qr.columns if c.startswith("q")},
        "n_dates": s_ric["n_dates"],
    }
    summary = {k: (float(v) if v is not None and np.isfinite(v) else None) for k, v in summary.items()}
    return summary, {"ic": pd.DataFrame({"ic": ic, "rank_ic": ric}), "quantiles": qr}


@dataclass
class ForecastReport:
    """What :func:`evaluate_forecast_frame` measured.

    Attributes
    ----------
    summary : dict
        JSON-able numbers (None for undefined ones).
    tables : dict of str -> pandas.DataFrame
        Per-date IC, quantile returns, per-asset losses.
    """

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the summary and every table as records (dates as ISO strings)."""
        out: dict[str, Any] = {"summary": self.summary, "tables": {}}
        for name, t in self.tables.items():
            frame = t.reset_index()
            for c in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[c]):
                    frame[c] = frame[c].dt.strftime("%Y-%m-%d")
            out["tables"][name] = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return out


def evaluate_forecast_frame(forecasts: pd.DataFrame, panel: Panel, horizon: int, *, kind: str = "return",
                            n_quantiles: int = 5, column: str = "mean", price_field: str = "close",
                            entry_lag: int = 0) -> ForecastReport:
    """Score stitched long forecasts against targets realised in ``panel``.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        Long: ``date``, ``ticker``, ``mean`` (and ``variance`` for volatility).
    panel : Panel
        The study's data; the realised target of a forecast at ``t`` is read
        from rows ``t + 1 .. t + horizon`` (forecasts whose window runs past
        the panel end are left out).
    horizon : int
    kind : {"return", "score", "volatility"}
        ``return``/``score``: IC, rank IC, ICIR, quantile spreads (and for
        ``return`` also MSE, MAE, R² and out-of-sample R² against a zero
        forecast). ``volatility``: MSE and MAE of volatility, QLIKE of the
        variance, R², against the realised volatility per bar.
    price_field : str
        Price the realised return is read from (``open`` with ``entry_lag=1``
        gives the return a next-open execution can actually earn).
    entry_lag : int
        Bars between the forecast and the entry price: the target of a
        forecast at ``t`` is ``price[t + lag + h] / price[t + lag] - 1``.
    """
    missing = {"date", "ticker", column} - set(forecasts.columns)
    if missing:
        raise DataError(f"forecast frame lacks column(s) {sorted(missing)}")
    if kind not in ("return", "score", "volatility"):
        raise ConfigError(f"kind must be 'return', 'score' or 'volatility', got {kind!r}")
    if forecasts.duplicated(["date", "ticker"]).any():
        raise DataError("forecast frame has duplicated (date, ticker) rows")
    wide = forecasts.pivot(index="date", columns="ticker", values=column)
    unknown = sorted(set(wide.columns) - set(panel.assets))
    if unknown:
        raise DataError(f"forecast tickers {unknown[:5]} are not assets of the panel")
    dates = pd.DatetimeIndex(wide.index)
    rows = panel.dates.get_indexer(dates)
    if (rows < 0).any():
        raise DataError(f"forecast date {dates[rows < 0][0].date()} is not a date of the panel")
    signal = wide.reindex(columns=panel.assets).to_numpy(np.float64)
    if isinstance(entry_lag, bool) or not isinstance(entry_lag, int) or entry_lag < 0:
        raise ConfigError(f"entry_lag must be an integer >= 0, got {entry_lag!r}")
    label = make_label(panel, "volatility" if kind == "volatility" else "return", int(horizon), field=price_field)
    shifted = rows + entry_lag
    realised = np.full(signal.shape, np.nan)
    inside = shifted < panel.n_dates
    realised[inside] = label.values[shifted[inside]]
    n_years = max((dates[-1] - dates[0]).days / 365.25, 1e-9) if len(dates) > 1 else 1.0
    ppy = len(dates) / n_years
    summary: dict[str, Any] = {"kind": kind, "horizon": int(horizon), "price_field": price_field,
                               "entry_lag": int(entry_lag), "n_forecasts": int(np.isfinite(signal).sum()),
                               "n_scored": int((np.isfinite(signal) & np.isfinite(realised)).sum())}
    tables: dict[str, pd.DataFrame] = {}
    if kind in ("return", "score"):
        s, t = return_forecast_metrics(signal, realised, dates=dates, n_quantiles=n_quantiles, periods_per_year=ppy)
        summary.update(s)
        tables.update(t)
        if kind == "return":
            summary.update({"mse": mse(realised, signal), "mae": mae(realised, signal), "r2": r2(realised, signal),
                            "oos_r2_vs_zero": oos_r2(realised, signal, np.zeros_like(signal))})
    else:
        var = signal**2
        summary.update({"mse": mse(realised, signal), "mae": mae(realised, signal), "r2": r2(realised, signal),
                        "qlike": qlike(realised**2, var)})
    summary = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in summary.items()}
    return ForecastReport(summary, tables)
