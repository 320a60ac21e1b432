"""Build run directories for the report tests from real closes.

Until ``alphalab.study`` writes run directories, the tests make their own: a
few simple strategies (equal weight, single stocks, inverse volatility,
momentum long/short) are simulated here with numpy on real closes, with
monthly rebalancing, weight drift between rebalances and a flat 5 + 5 bps
cost, and every file of the ARCHITECTURE.md layout is written.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from alphalab.metrics import compute_metrics
from alphalab.report.rundir import safe_name

COMMISSION = 0.0005
SLIPPAGE = 0.0005
INITIAL = 1_000_000.0

#: A rule maps the closes known at a rebalance date, shape (n_hist, n_assets), to target weights.
Rule = Callable[[np.ndarray], np.ndarray]


def equal_weight(hist: np.ndarray) -> np.ndarray:
    ok = np.isfinite(hist[-1])
    return np.where(ok, 1.0 / max(ok.sum(), 1), 0.0)


def single(j: int) -> Rule:
    def rule(hist: np.ndarray) -> np.ndarray:
        w = np.zeros(hist.shape[1])
        w[j] = 1.0
        return w

    return rule


def inverse_vol(window: int = 60) -> Rule:
    def rule(hist: np.ndarray) -> np.ndarray:
        if len(hist) <= window:
            return equal_weight(hist)
        r = np.diff(np.log(hist[-window - 1 :]), axis=0)
        inv = 1.0 / np.nanstd(r, axis=0)
        inv[~np.isfinite(inv)] = 0.0
        return inv / inv.sum()

    return rule


def momentum(k: int, lookback: int = 60, short: bool = False) -> Rule:
    def rule(hist: np.ndarray) -> np.ndarray:
        w = np.zeros(hist.shape[1])
        if len(hist) <= lookback:
            return equal_weight(hist)
        mom = hist[-1] / hist[-1 - lookback] - 1.0
        order = np.argsort(np.where(np.isfinite(mom), mom, -np.inf))
        w[order[-k:]] = (0.5 if short else 1.0) / k
        if short:
            w[order[:k]] = -0.5 / k
        return w

    return rule


def simulate(closes: pd.DataFrame, rule: Rule, every: int = 21) -> dict[str, object]:
    """Run one strategy: targets every ``every`` bars, drift in between.

    Returns equity / returns series (length n_dates), held weights
    (n_dates, n_assets) and the long trades table.
    """
    px = closes.to_numpy(np.float64)
    n, m = px.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.nan_to_num(px[1:] / px[:-1] - 1.0)
    held = np.zeros((n, m))
    rets = np.zeros(n)
    turnover = np.zeros(n)
    equity = np.full(n, INITIAL)
    trades: list[tuple] = []
    w = np.zeros(m)
    for t in range(n):
        value_now = INITIAL
        if t > 0:
            gross = float(w @ r[t - 1])
            rets[t] = gross
            w = w * (1.0 + r[t - 1]) / (1.0 + gross)
            value_now = equity[t - 1] * (1.0 + gross)
        if t % every == 0 and t < n - 1:
            target = rule(px[: t + 1])
            delta = target - w
            turnover[t] = np.abs(delta).sum()
            rets[t] -= turnover[t] * (COMMISSION + SLIPPAGE)
            for j in np.flatnonzero(np.abs(delta) > 1e-12):
                value = float(delta[j] * value_now)
                trades.append(
                    (closes.index[t], closes.columns[j], "buy" if value > 0 else "sell",
                     value / px[t, j], px[t, j], value, abs(value) * COMMISSION, 0.0,
                     abs(value) * SLIPPAGE)
                )  # fmt: skip
            w = target.copy()
        if t > 0:
            equity[t] = equity[t - 1] * (1.0 + rets[t])
        held[t] = w
    cols = ["date", "ticker", "side", "shares", "price", "value", "commission", "tax", "slippage"]
    return {
        "equity": pd.Series(equity, index=closes.index),
        "returns": pd.Series(rets, index=closes.index),
        "turnover": pd.Series(turnover, index=closes.index),
        "weights": pd.DataFrame(held, index=closes.index, columns=closes.columns),
        "trades": pd.DataFrame(trades, columns=cols),
    }


def _metrics(
    ret: pd.Series, turnover: pd.Series | None = None, bench: pd.Series | None = None
) -> dict[str, float]:
    m = compute_metrics(ret, benchmark=bench, turnover=turnover)
    return {str(k): float(v) for k, v in m.items()}


def build_run(
    out: Path,
    closes: pd.DataFrame,
    rules: Mapping[str, Rule],
    benchmark: pd.Series | None = None,
    *,
    study: str = "sp500-report-fixture",
    extra_files: Mapping[str, object] | None = None,
) -> Path:
    """Write a complete run directory for ``rules`` simulated on ``closes``.

    Parameters
    ----------
    out : Path
        Run directory to create.
    closes : pandas.DataFrame, shape (n_dates, n_assets)
    rules : mapping of strategy name -> Rule
    benchmark : pandas.Series, optional
        Benchmark returns, length n_dates.
    extra_files : mapping, optional
        Extra JSON files (e.g. ``gates.json``) name -> object.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "weights").mkdir(exist_ok=True)
    equity, returns, metrics, costs = {}, {}, {}, {}
    trades, rejected = [], []
    for name, rule in rules.items():
        sim = simulate(closes, rule)
        equity[name], returns[name] = sim["equity"], sim["returns"]
        metrics[name] = _metrics(sim["returns"], sim["turnover"], benchmark)
        sim["weights"].to_parquet(out / "weights" / f"{safe_name(name)}.parquet")
        tr = sim["trades"].assign(strategy=name)
        small = tr["value"].abs() < 2_000.0
        lot = tr["shares"].abs() < 1.0
        rej = tr.loc[small | lot, ["strategy", "date", "ticker", "side"]].assign(
            reason=np.where(lot[small | lot], "lot_size", "min_trade_value")
        )
        trades.append(tr.loc[~(small | lot)])
        rejected.append(rej)
        kept = tr.loc[~(small | lot)]
        costs[name] = {
            "commission": float(kept["commission"].sum()),
            "slippage": float(kept["slippage"].sum()),
            "tax": 0.0,
        }
    if benchmark is not None:
        bench_eq = INITIAL * (1.0 + benchmark.fillna(0.0)).cumprod()
        equity["benchmark"], returns["benchmark"] = bench_eq, benchmark.fillna(0.0)
        metrics["benchmark"] = _metrics(returns["benchmark"])
    pd.DataFrame(equity).rename_axis("date").to_parquet(out / "equity.parquet")
    pd.DataFrame(returns).rename_axis("date").to_parquet(out / "returns.parquet")
    pd.concat(trades, ignore_index=True).to_parquet(out / "trades.parquet")
    pd.concat(rejected, ignore_index=True).to_parquet(out / "rejected.parquet")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (out / "costs.json").write_text(json.dumps(costs, indent=1))
    config = (
        f"name: {study}\nseed: 7\ndata: {{dataset: us_sp500_5yr, market: us}}\n"
        "execution: {at: next_close, rebalance: monthly, costs: {commission_bps: 5, slippage_bps: 5}}\n"
        "strategies:\n" + "".join(f"  - name: {json.dumps(n)}\n" for n in rules)
    )
    (out / "config.yaml").write_text(config)
    data_hash = hashlib.sha256(closes.to_numpy().tobytes()).hexdigest()
    manifest = {
        "study": study,
        "market": "us",
        "config_hash": hashlib.sha256(config.encode()).hexdigest(),
        "data_hash": data_hash,
        "seed": 7,
        "created": datetime(2026, 11, 21, 10, 0, tzinfo=UTC).isoformat(),
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "timings": {"total_s": 1.0},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for fname, obj in (extra_files or {}).items():
        (out / fname).write_text(json.dumps(obj, indent=1))
    return out


def sp500_closes(long: pd.DataFrame, n_assets: int = 20) -> pd.DataFrame:
    """Wide closes of the first ``n_assets`` tickers (alphabetical) with full, clean history."""
    wide = long.pivot(index="date", columns="ticker", values="close")
    full = wide.columns[wide.notna().all().to_numpy()]
    return wide[list(full[:n_assets])]


def long_closes(closes: pd.DataFrame, n_dates: int) -> pd.DataFrame:
    """Stretch real closes to ``n_dates`` business days by tiling their daily returns.

    Used only for the size / speed checks that need 8,000 days; the returns
    are the real ones, repeated in order.
    """
    r = closes.pct_change().iloc[1:].to_numpy()
    reps = -(-(n_dates - 1) // len(r))
    tiled = np.tile(r, (reps, 1))[: n_dates - 1]
    px = closes.iloc[0].to_numpy() * np.vstack(
        [np.ones(closes.shape[1]), np.cumprod(1 + tiled, axis=0)]
    )
    idx = pd.bdate_range("1995-01-02", periods=n_dates, name="date")
    return pd.DataFrame(px, index=idx, columns=closes.columns)


def add_gates(out: Path, spec: Mapping[str, object]) -> dict[str, object]:
    """Judge every strategy of a run with alphalab.validation.gates; write gates.json."""
    from alphalab.validation.gates import evaluate_gates, gate_evidence

    metrics = json.loads((out / "metrics.json").read_text())
    returns = pd.read_parquet(out / "returns.parquet")
    trades = pd.read_parquet(out / "trades.parquet")
    bench_cagr = metrics.get("benchmark", {}).get("cagr")
    gates = {}
    for name in returns.columns:
        if name == "benchmark":
            continue
        evidence = gate_evidence(
            metrics[name],
            returns[name].to_numpy(),
            n_trades=int((trades["strategy"] == name).sum()),
            benchmark_cagr=bench_cagr,
        )
        gates[name] = evaluate_gates(spec, evidence).to_dict()
    (out / "gates.json").write_text(json.dumps(gates, indent=1))
    return gates


def add_health(out: Path, long: pd.DataFrame, name: str) -> dict[str, object]:
    """Check the run's data with alphalab.data.health; write health.json."""
    from alphalab.data.health import check_health

    health = check_health(long, market="us", name=name).to_dict(max_issues=50)
    (out / "health.json").write_text(json.dumps(health, indent=1, default=str))
    return health
