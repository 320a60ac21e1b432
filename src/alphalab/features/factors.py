"""Factor evaluation: IC, rank IC, ICIR, quantile returns, turnover, decay, reports.

A *signal* is an ``(n_dates, n_assets)`` array known at the close of each
date. It is scored against **forward returns**, the one place in alphalab
where future data is used on purpose: ``forward_returns(close, h)[t]`` is the
return from the close of ``t`` to the close of ``t + h`` and is a *label*,
never a feature. Every statistic for date ``t`` pairs the signal at ``t``
with that label; the last ``h`` rows have no label and are dropped.

Functions return pandas objects indexed by date (or by horizon / quantile):

* :func:`forward_returns`, :func:`information_coefficient` (Pearson IC or
  Spearman rank IC per date), :func:`ic_summary` (mean, std, ICIR, t-stat,
  hit rate), :func:`quantile_returns`, :func:`signal_autocorrelation`
  (rank autocorrelation; turnover = 1 - autocorrelation), :func:`ic_decay`;
* :func:`evaluate_factor` bundles them into a :class:`FactorResult`;
* :func:`rank_catalogue` scores a whole catalogue and sorts by ``|ICIR|``;
* :func:`write_factor_report` writes PNG charts and an HTML table;
* :func:`run_factor_study` does all of it from a small YAML file (the
  ``alphalab factors STUDY.yaml`` command).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features.expr import kernels as _k
from alphalab.features.expr.engine import ProxyFieldWarning, evaluate_many

__all__ = [
    "FactorResult",
    "evaluate_factor",
    "forward_returns",
    "ic_decay",
    "ic_summary",
    "information_coefficient",
    "quantile_returns",
    "rank_catalogue",
    "run_factor_study",
    "signal_autocorrelation",
    "write_factor_report",
]

DEFAULT_HORIZONS: tuple[int, ...] = (1, 5, 10, 20)


def _arr(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise DataError(f"{name} must be a 2-D (n_dates, n_assets) array, got shape {a.shape}")
    out = np.array(a, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _index(dates: Sequence[Any] | None, n: int) -> pd.Index:
    return pd.RangeIndex(n) if dates is None else pd.DatetimeIndex(dates)


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """LABEL (uses future data on purpose): ``close[t + h] / close[t] - 1``.

    Parameters
    ----------
    close : ndarray, shape (n_dates, n_assets)
    horizon : int
        ``h >= 1`` rows ahead.

    Returns
    -------
    ndarray, shape (n_dates, n_assets)
        NaN in the last ``h`` rows and wherever either price is missing.
    """
    if int(horizon) < 1:
        raise ConfigError(f"forward-return horizon must be >= 1, got {horizon}")
    h = int(horizon)
    c = _arr(close, "close")
    out = np.full_like(c, np.nan)
    if h < c.shape[0]:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:-h] = c[h:] / c[:-h] - 1.0
    out[~np.isfinite(out)] = np.nan
    return out


def _row_corr(a: np.ndarray, b: np.ndarray, min_assets: int) -> np.ndarray:
    return _k.cs_corr(np.ascontiguousarray(a), np.ascontiguousarray(b), int(min_assets))


def _masked_rank(x: np.ndarray, mask: np.ndarray, full: np.ndarray | None = None) -> np.ndarray:
    """Per-date rank of ``x`` among the assets in ``mask``.

    ``full`` (the rank of ``x`` over all its finite values) is reused on the
    dates where ``mask`` is exactly ``x``'s finite set, which is most dates
    once a signal is warm; only the other dates are ranked again.
    """
    if full is None:
        return _k.cs_rank(np.where(mask, x, np.nan))
    same = (mask == np.isfinite(x)).all(axis=1)
    if same.all():
        return full
    out = np.array(full, copy=True)
    rows = ~same
    out[rows] = _k.cs_rank(np.where(mask[rows], x[rows], np.nan))
    return out


def information_coefficient(
    signal: np.ndarray,
    fwd: np.ndarray,
    *,
    method: str = "spearman",
    dates: Sequence[Any] | None = None,
    min_assets: int = 5,
    _signal_rank: np.ndarray | None = None,
    _label_rank: np.ndarray | None = None,
) -> pd.Series:
    """Cross-sectional correlation of the signal with forward returns, per date.

    Parameters
    ----------
    signal, fwd : ndarray, shape (n_dates, n_assets)
    method : {"spearman", "pearson"}
        Rank IC (on per-date ranks of the assets valid in both) or plain IC.
    dates : sequence, optional
        Index of the result.
    min_assets : int
        Dates with fewer valid assets give NaN.

    Returns
    -------
    pandas.Series, length n_dates
    """
    s, f = _arr(signal, "signal"), _arr(fwd, "forward returns")
    if s.shape != f.shape:
        raise DataError(f"signal shape {s.shape} != forward-return shape {f.shape}")
    if method == "spearman":
        ok = np.isfinite(s) & np.isfinite(f)
        s, f = _masked_rank(s, ok, _signal_rank), _masked_rank(f, ok, _label_rank)
    elif method != "pearson":
        raise ConfigError(f"IC method must be 'spearman' or 'pearson', not {method!r}")
    return pd.Series(_row_corr(s, f, min_assets), index=_index(dates, s.shape[0]), name=method)


def ic_summary(ic: pd.Series, periods_per_year: float = 252.0) -> pd.Series:
    """Mean, std, ICIR (mean / std), annualised ICIR, t-stat, hit rate and count of an IC series."""
    x = ic.dropna()
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    std = float(x.std(ddof=1)) if n > 1 else np.nan
    icir = mean / std if std and np.isfinite(std) and std > 0 else np.nan
    return pd.Series(
        {
            "ic_mean": mean,
            "ic_std": std,
            "icir": icir,
            "icir_annual": icir * np.sqrt(periods_per_year) if np.isfinite(icir) else np.nan,
            "t_stat": icir * np.sqrt(n) if np.isfinite(icir) else np.nan,
            "hit_rate": float((x > 0).mean()) if n else np.nan,
            "n_dates": float(n),
        }
    )


def quantile_returns(
    signal: np.ndarray,
    fwd: np.ndarray,
    *,
    n_quantiles: int = 5,
    dates: Sequence[Any] | None = None,
    _signal_rank: np.ndarray | None = None,
) -> pd.DataFrame:
    """Mean forward return per signal quantile per date, plus the long-short spread.

    Assets are bucketed per date by the signal's rank among assets valid in
    both arrays (bucket 1 = lowest signal). Returns a DataFrame indexed by
    date with columns ``q1 .. qN`` and ``long_short`` (``qN - q1``).
    """
    s, f = _arr(signal, "signal"), _arr(fwd, "forward returns")
    if n_quantiles < 2:
        raise ConfigError(f"n_quantiles must be >= 2, got {n_quantiles}")
    ok = np.isfinite(s) & np.isfinite(f)
    pct = _masked_rank(s, ok, _signal_rank)
    bucket = np.ceil(pct * n_quantiles)
    cols = {}
    for q in range(1, n_quantiles + 1):
        m = bucket == q
        cnt = m.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"q{q}"] = np.where(cnt > 0, np.where(m, f, 0.0).sum(axis=1) / cnt, np.nan)
    out = pd.DataFrame(cols, index=_index(dates, s.shape[0]))
    out["long_short"] = out[f"q{n_quantiles}"] - out["q1"]
    return out


def signal_autocorrelation(
    signal: np.ndarray,
    *,
    lag: int = 1,
    dates: Sequence[Any] | None = None,
    min_assets: int = 5,
    _signal_rank: np.ndarray | None = None,
) -> pd.Series:
    """Rank autocorrelation of the signal across assets between ``t - lag`` and ``t``.

    Signal turnover is ``1 - autocorrelation``: a signal whose ranking
    barely changes trades little.
    """
    s = _arr(signal, "signal")
    prev = np.full_like(s, np.nan)
    if lag < s.shape[0]:
        prev[lag:] = s[:-lag]
    ok = np.isfinite(s) & np.isfinite(prev)
    prev_rank = None
    if _signal_rank is not None:
        # the rank of the lagged row is the lagged rank
        prev_rank = np.full_like(s, np.nan)
        if lag < s.shape[0]:
            prev_rank[lag:] = _signal_rank[:-lag]
    r = _row_corr(_masked_rank(s, ok, _signal_rank), _masked_rank(prev, ok, prev_rank), min_assets)
    return pd.Series(r, index=_index(dates, s.shape[0]), name=f"rank_autocorr_{lag}")


def ic_decay(
    signal: np.ndarray,
    close: np.ndarray,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    *,
    dates: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """IC and rank IC summaries per forward horizon (index: horizon)."""
    rows = {}
    for h in horizons:
        fwd = forward_returns(close, h)
        ic = ic_summary(information_coefficient(signal, fwd, method="pearson", dates=dates))
        ric = ic_summary(information_coefficient(signal, fwd, method="spearman", dates=dates))
        rows[int(h)] = {
            "ic_mean": ic["ic_mean"],
            "rank_ic_mean": ric["ic_mean"],
            "icir": ic["icir"],
            "rank_icir": ric["icir"],
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("horizon")


@dataclass
class FactorResult:
    """Everything :func:`evaluate_factor` measured for one signal.

    Attributes
    ----------
    name : str
    horizon : int
        The main horizon (for ``ic``, ``rank_ic`` and ``quantiles``).
    ic, rank_ic : pandas.Series
        Per-date IC and rank IC at ``horizon``.
    summary : pandas.Series
        ``ic_mean, icir, rank_ic_mean, rank_icir, rank_ic_t, hit_rate,
        long_short_mean, turnover, autocorr, n_dates``.
    quantiles : pandas.DataFrame
        Per-date quantile mean returns and long-short spread.
    decay : pandas.DataFrame
        IC / rank IC per horizon.
    autocorr : pandas.Series
        Per-date rank autocorrelation (lag 1).
    """

    name: str
    horizon: int
    ic: pd.Series
    rank_ic: pd.Series
    summary: pd.Series
    quantiles: pd.DataFrame
    decay: pd.DataFrame
    autocorr: pd.Series
    meta: dict[str, Any] = field(default_factory=dict)


def evaluate_factor(
    signal: np.ndarray,
    close: np.ndarray,
    *,
    name: str = "signal",
    horizon: int = 5,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    n_quantiles: int = 5,
    dates: Sequence[Any] | None = None,
    _labels: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> FactorResult:
    """Score one signal against forward close-to-close returns.

    Parameters
    ----------
    signal, close : ndarray, shape (n_dates, n_assets)
    name : str
    horizon : int
        Main horizon in rows.
    horizons : sequence of int
        Horizons for the decay table (``horizon`` is added if missing).
    n_quantiles : int
    dates : sequence, optional
        Date labels of the rows.

    Returns
    -------
    FactorResult
    """
    hs = sorted({int(h) for h in (*horizons, horizon)})
    s = _arr(signal, "signal")
    s_rank = _k.cs_rank(s)
    # labels and their ranks are shared by every signal of a catalogue
    labels = _labels if _labels is not None else {}
    for h in hs:
        if h not in labels:
            fwd = forward_returns(close, h)
            labels[h] = (fwd, _k.cs_rank(fwd))
    series: dict[int, tuple[pd.Series, pd.Series]] = {}
    rows = {}
    for h in hs:
        fwd, fwd_rank = labels[h]
        pair = (
            information_coefficient(s, fwd, method="pearson", dates=dates),
            information_coefficient(s, fwd, method="spearman", dates=dates,
                                    _signal_rank=s_rank, _label_rank=fwd_rank),
        )
        series[h] = pair
        a, b = ic_summary(pair[0]), ic_summary(pair[1])
        rows[h] = {"ic_mean": a["ic_mean"], "rank_ic_mean": b["ic_mean"],
                   "icir": a["icir"], "rank_icir": b["icir"]}
    decay = pd.DataFrame.from_dict(rows, orient="index").rename_axis("horizon")
    ic, ric = series[int(horizon)]
    qr = quantile_returns(s, labels[int(horizon)][0], n_quantiles=n_quantiles, dates=dates,
                          _signal_rank=s_rank)
    ac = signal_autocorrelation(s, dates=dates, _signal_rank=s_rank)
    s_ic, s_ric = ic_summary(ic), ic_summary(ric)
    summary = pd.Series(
        {
            "ic_mean": s_ic["ic_mean"],
            "icir": s_ic["icir"],
            "rank_ic_mean": s_ric["ic_mean"],
            "rank_icir": s_ric["icir"],
            "rank_ic_t": s_ric["t_stat"],
            "hit_rate": s_ric["hit_rate"],
            "long_short_mean": float(qr["long_short"].mean()),
            "autocorr": float(ac.mean()),
            "turnover": float(1.0 - ac.mean()),
            "n_dates": s_ric["n_dates"],
        },
        name=name,
    )
    return FactorResult(name, int(horizon), ic, ric, summary, qr, decay, ac)


def rank_catalogue(
    panel: Panel,
    catalogue: Mapping[str, str] | str,
    horizon: int = 5,
    *,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    n_quantiles: int = 5,
) -> tuple[pd.DataFrame, dict[str, FactorResult], dict[str, str]]:
    """Evaluate every formula of a catalogue and rank them by ``|rank ICIR|``.

    Parameters
    ----------
    panel : Panel
        Needs ``close`` (for the labels) and the catalogue's fields.
    catalogue : mapping of str to str, or {"alpha101", "alpha158", "gtja191"}
        Name -> formula, or a built-in catalogue's name.
    horizon : int
        Forward-return horizon for the ranking.
    groups : mapping, optional
        Group maps for ``indneutralize``.

    Returns
    -------
    table : pandas.DataFrame
        One row per evaluated formula, sorted by ``|rank_icir|`` descending.
    results : dict of str to FactorResult
    skipped : dict of str to str
        Formulas whose inputs are missing, with the reason.
    """
    formulas = resolve_catalogue(catalogue)
    panel.require("close")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        values, skipped = evaluate_many(formulas, panel, groups=groups, on_missing="skip")
    labels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    results = {
        name: evaluate_factor(
            v, panel["close"], name=name, horizon=horizon, horizons=horizons,
            n_quantiles=n_quantiles, dates=panel.dates, _labels=labels,
        )
        for name, v in values.items()
    }
    if not results:
        return pd.DataFrame(), results, skipped
    table = pd.DataFrame({n: r.summary for n, r in results.items()}).T
    order = table["rank_icir"].abs().sort_values(ascending=False, na_position="last").index
    table = table.loc[order]
    table.index.name = "factor"
    return table, results, skipped


def resolve_catalogue(catalogue: Mapping[str, str] | str) -> dict[str, str]:
    """A built-in catalogue by name (``alpha101``, ``alpha158``, ``gtja191``) or the mapping itself."""
    if isinstance(catalogue, str):
        from alphalab.features.alphas import ALPHA101, ALPHA158, GTJA191

        known = {"alpha101": ALPHA101, "alpha158": ALPHA158, "gtja191": GTJA191}
        if catalogue.lower() not in known:
            raise ConfigError(f"unknown catalogue {catalogue!r}; known: {', '.join(known)}")
        return dict(known[catalogue.lower()])
    if not isinstance(catalogue, Mapping) or not catalogue:
        raise ConfigError("a catalogue must be a name or a non-empty mapping name -> formula")
    return {str(k): str(v) for k, v in catalogue.items()}


# ------------------------------------------------------------------- report
def _charts(results: Mapping[str, FactorResult], table: pd.DataFrame, out: Path, top: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[str] = []
    names = [n for n in table.index[:top] if n in results]
    if not names:
        return files
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for n in names:
        ax.plot(results[n].rank_ic.fillna(0.0).cumsum(), label=n, lw=1)
    ax.set_title(f"Cumulative rank IC (horizon {results[names[0]].horizon})")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "cumulative_rank_ic.png", dpi=90)
    plt.close(fig)
    files.append("cumulative_rank_ic.png")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    qs = pd.DataFrame({n: results[n].quantiles.drop(columns="long_short").mean() for n in names})
    (qs * 1e4).plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("mean forward return (bp)")
    ax.set_title("Mean forward return by signal quantile")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "quantile_returns.png", dpi=90)
    plt.close(fig)
    files.append("quantile_returns.png")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for n in names:
        d = results[n].decay["rank_ic_mean"]
        ax.plot(d.index, d.to_numpy(), marker="o", label=n)
    ax.set_xlabel("horizon (rows)")
    ax.set_ylabel("mean rank IC")
    ax.set_title("Rank IC decay")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "ic_decay.png", dpi=90)
    plt.close(fig)
    files.append("ic_decay.png")
    return files


def write_factor_report(
    results: Mapping[str, FactorResult],
    out_dir: str | Path,
    *,
    table: pd.DataFrame | None = None,
    skipped: Mapping[str, str] | None = None,
    title: str = "Factor report",
    top: int = 10,
) -> Path:
    """Write ``factors.csv``, ``decay.csv``, ``skipped.json``, PNG charts and ``report.html``.

    Parameters
    ----------
    results : mapping of str to FactorResult
    out_dir : path
        Created if needed.
    table : DataFrame, optional
        The ranking from :func:`rank_catalogue` (rebuilt from ``results`` if absent).
    skipped : mapping, optional
        Formula -> reason, listed in the report.
    top : int
        How many of the best-ranked factors the charts show.

    Returns
    -------
    pathlib.Path
        The HTML file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if table is None:
        table = pd.DataFrame({n: r.summary for n, r in results.items()}).T
        if len(table):
            table = table.loc[table["rank_icir"].abs().sort_values(ascending=False).index]
    table.to_csv(out / "factors.csv")
    decay = pd.concat({n: r.decay for n, r in results.items()}, names=["factor"]) if results else pd.DataFrame()
    decay.to_csv(out / "decay.csv")
    (out / "skipped.json").write_text(json.dumps(dict(skipped or {}), indent=2, ensure_ascii=False))
    charts = _charts(results, table, out, top) if results else []
    rows = table.round(4).to_html(classes="factors", border=0, na_rep="")
    skipped_html = "".join(
        f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>" for k, v in (skipped or {}).items()
    )
    imgs = "".join(f'<img src="{c}" alt="{c}" style="max-width:100%">' for c in charts)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table.factors{{border-collapse:collapse;font-size:12px}}
table.factors td,table.factors th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}}</style>
</head><body><h1>{html.escape(title)}</h1>
<p>{len(results)} factors evaluated, {len(skipped or {})} skipped. Ranked by |rank ICIR|.
Labels are forward close-to-close returns (the only use of future data).</p>
{imgs}<h2>Ranking</h2>{rows}<h2>Skipped</h2><ul>{skipped_html or "<li>none</li>"}</ul>
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


# -------------------------------------------------------------------- study
#: Keys of a factor-study file, by level.
_FACTOR_KEYS = {"name", "data", "groups", "catalogue", "horizon", "horizons", "quantiles"}
_FACTOR_DATA_KEYS = {"source", "market", "tickers", "start", "end", "mode"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
#: Longest ranking horizon accepted (bars); 2,520 is ten years of sessions.
MAX_HORIZON = 2_520


def _factor_config(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a factor-study file through the study loader's hardened YAML reader."""
    from alphalab.yamlio import check_finite, read_yaml_file  # the one hardened YAML reader

    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the factor study's YAML file")
    if not path.is_file():
        raise ConfigError(f"factor study file {path} does not exist")
    cfg = read_yaml_file(path)
    if cfg is None:
        raise ConfigError(f"{path}: the factor study file is empty")
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    check_finite(cfg, str(path))
    unknown = sorted(map(str, set(cfg) - _FACTOR_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_FACTOR_KEYS))})"
        )
    name = cfg.get("name")
    if name is not None and (not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name):
        raise ConfigError(
            f"{path}: name {name!r:.60} must be 1-128 letters, digits, '_', '-' or '.', starting "
            "with a letter or digit (it names the output folder)"
        )
    data = cfg.get("data")
    if isinstance(data, str):
        data = {"source": data}
    if not isinstance(data, dict) or "source" not in data:
        raise ConfigError(f"{path}: 'data' must give a 'source' (file, embedded or store dataset)")
    unknown = sorted(map(str, set(data) - _FACTOR_DATA_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: data: unknown key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_FACTOR_DATA_KEYS))})"
        )
    if not isinstance(data["source"], str) or not data["source"]:
        raise ConfigError(f"{path}: data.source must be a file, embedded or store dataset name")
    for key in ("start", "end"):
        value = data.get(key)
        if value is not None and not isinstance(value, (str, dt.date)):
            raise ConfigError(f"{path}: data.{key} must be a date such as 2018-01-31, got {value!r:.40}")
    if data.get("mode", "strict") not in ("strict", "lenient"):
        raise ConfigError(f"{path}: data.mode must be strict or lenient, got {data['mode']!r:.40}")
    tickers = data.get("tickers")
    if tickers is not None and (
        not isinstance(tickers, list) or not all(isinstance(t, (str, int)) for t in tickers)
    ):
        raise ConfigError(f"{path}: data.tickers must be a list of tickers")
    if tickers is not None:
        data = {**data, "tickers": [str(t) for t in tickers]}
    return cfg, data


def _positive_int(value: Any, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{path}: {key} must be a whole number of bars such as 5, got {value!r:.40}"
        )
    if not 1 <= value <= MAX_HORIZON:
        raise ConfigError(f"{path}: {key} must be between 1 and {MAX_HORIZON}, got {value}")
    return value


def _factor_out_dir(name: str, out: str | Path | None, path: Path) -> Path:
    """The output folder: ``--out`` as given, else ``runs/factors-<name>`` inside ``runs``."""
    if out is None:
        runs = Path("runs").resolve()
        out_dir = (runs / f"factors-{name}").resolve()
        if runs not in out_dir.parents:
            raise ConfigError(f"{path}: name {name!r} would write outside {runs}")
    else:
        out_dir = Path(out)
    for part in (out_dir, *out_dir.parents):
        if part.exists() and not part.is_dir():
            raise ConfigError(
                f"output path {out_dir}: {part} is a file, not a folder; choose another --out"
            )
    return out_dir


def run_factor_study(config_path: str | Path, out: str | Path | None = None) -> Path:
    """Rank a catalogue on a dataset as described by a small YAML file; write the report.

    The YAML file::

        name: sp500-alpha101          # optional, used for the output folder
        data:
          source: us_sp500_5yr.parquet  # file (relative to the YAML), embedded or store name
          market: us                    # optional
          tickers: [AAPL, MSFT]         # optional
          start: 2015-01-01             # optional
          end: 2017-12-31               # optional
          mode: lenient                 # optional, strict by default
        groups: {sector: sectors.csv}   # optional: CSV with columns ticker, group
        catalogue: alpha101             # alpha101 | alpha158 | gtja191 | {name: formula, ...}
        horizon: 5                      # ranking horizon
        horizons: [1, 5, 10, 20]        # decay horizons
        quantiles: 5

    Parameters
    ----------
    config_path : path
    out : path, optional
        Output folder; default ``runs/factors-<name>`` beside the working directory.

    Returns
    -------
    pathlib.Path
        The HTML report.

    Raises
    ------
    ConfigError
        Missing or malformed keys, naming them.
    """
    from alphalab.data.load import load

    path = Path(config_path)
    cfg, data = _factor_config(path)
    source = str(data["source"])
    candidate = path.parent / source
    if candidate.exists():
        source = str(candidate)
    name = str(cfg.get("name") or path.stem)
    out_dir = _factor_out_dir(name, out, path)
    panel = load(
        source,
        market=data.get("market"),
        mode=data.get("mode", "strict"),
        tickers=data.get("tickers"),
        start=data.get("start"),
        end=data.get("end"),
    )
    groups = None
    if cfg.get("groups"):
        groups = {}
        if not isinstance(cfg["groups"], dict) or not all(
            isinstance(v, str) for v in cfg["groups"].values()
        ):
            raise ConfigError(f"{path}: groups must map a group name to a CSV or Parquet file")
        for gname, gfile in cfg["groups"].items():
            gpath = Path(gfile) if Path(gfile).is_absolute() else path.parent / gfile
            if not gpath.exists():
                raise ConfigError(f"{path}: group file {gpath} for {gname!r} does not exist")
            from alphalab.data.files import read_plain_table

            gdf = read_plain_table(gpath)
            if gdf.shape[1] < 2 or "ticker" not in gdf.columns:
                raise ConfigError(f"{gpath}: needs a 'ticker' column and a group column")
            label = next(c for c in gdf.columns if c != "ticker")
            groups[str(gname)] = dict(zip(gdf["ticker"].astype(str), gdf[label], strict=True))
    catalogue = cfg.get("catalogue", "alpha101")
    horizon = _positive_int(cfg.get("horizon", 5), "horizon", path)
    horizons = cfg.get("horizons", list(DEFAULT_HORIZONS))
    if not isinstance(horizons, list) or not horizons:
        raise ConfigError(f"{path}: horizons must be a non-empty list of whole numbers of bars")
    horizons = [_positive_int(h, f"horizons[{i}]", path) for i, h in enumerate(horizons)]
    quantiles = _positive_int(cfg.get("quantiles", 5), "quantiles", path)
    if quantiles < 2:
        raise ConfigError(f"{path}: quantiles must be at least 2, got {quantiles}")
    table, results, skipped = rank_catalogue(
        panel, catalogue, horizon, groups=groups, horizons=horizons, n_quantiles=quantiles,
    )
    return write_factor_report(results, out_dir, table=table, skipped=skipped,
                               title=f"Factor study: {name}")
