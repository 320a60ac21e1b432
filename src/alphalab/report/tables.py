"""HTML tables and blocks of the report: metrics, costs, trades, rejected orders, provenance.

Every string that comes from the run directory is escaped with :func:`esc`
(:func:`html.escape` with quotes) before it reaches the page.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from alphalab.report.rundir import RunData

__all__ = [
    "costs_table",
    "data_validation_section",
    "esc",
    "format_metric",
    "header_table",
    "health_section",
    "metric_direction",
    "metric_kind",
    "metrics_table",
    "rejected_table",
    "render_obj",
    "trades_table",
    "universe_section",
]

_MAX_ROWS = 200


# Known metric keys (alphalab.metrics.METRIC_KEYS) -> (kind, direction).
# kind: "pct" | "int" | "ratio"; direction: +1 higher is better, -1 lower is better,
# 0 no "best" (beta, sample size), 2 closest to zero is best (drawdowns, stored either sign).
_KNOWN: dict[str, tuple[str, int]] = {
    "total_return": ("pct", 1),
    "cagr": ("pct", 1),
    "annual_return": ("pct", 1),
    "volatility": ("pct", -1),
    "annual_volatility": ("pct", -1),
    "sharpe": ("ratio", 1),
    "sortino": ("ratio", 1),
    "max_drawdown": ("pct", 2),
    "max_drawdown_duration": ("int", -1),
    "calmar": ("ratio", 1),
    "hit_rate": ("pct", 1),
    "turnover": ("pct", -1),
    "cost_drag": ("pct", -1),
    "beta": ("ratio", 0),
    "alpha": ("pct", 1),
    "tracking_error": ("pct", 0),
    "information_ratio": ("ratio", 1),
    "n_periods": ("int", 0),
    "skew": ("ratio", 0),
    "kurtosis": ("ratio", 0),
}
_PCT_WORDS = {"return", "returns", "cagr", "vol", "volatility", "drawdown", "rate", "turnover",
              "drag", "error", "var", "cvar", "alpha", "exposure", "weight"}  # fmt: skip
_INT_WORDS = {"n", "count", "days", "bars", "duration", "periods", "trades"}
_LOWER_WORDS = {"vol", "volatility", "turnover", "drag", "cost", "costs", "duration"}
_NEUTRAL_WORDS = {"beta", "n", "count", "periods", "skew", "kurtosis", "trades"}
_ABS_WORDS = {"drawdown", "var", "cvar"}


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def metric_kind(name: str) -> str:
    """How a metric is formatted: ``"pct"``, ``"int"`` or ``"ratio"`` (2 decimals)."""
    if name in _KNOWN:
        return _KNOWN[name][0]
    words = set(name.lower().replace("-", "_").split("_"))
    if words & _INT_WORDS:
        return "int"
    if words & _PCT_WORDS:
        return "pct"
    return "ratio"


def metric_direction(name: str) -> int:
    """Which value is best: +1 highest, -1 lowest, 2 closest to zero, 0 none."""
    if name in _KNOWN:
        return _KNOWN[name][1]
    words = set(name.lower().replace("-", "_").split("_"))
    if words & _NEUTRAL_WORDS:
        return 0
    if words & _ABS_WORDS:
        return 2
    if words & _LOWER_WORDS:
        return -1
    return 1


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def format_metric(name: str, value: Any) -> str:
    """Display text of one metric value (not escaped; callers escape).

    Percent for returns / volatility / drawdown / rates, an integer for counts
    and durations, two decimals for ratios; ``"n/a"`` for missing or NaN.
    """
    x = _as_float(value)
    if x is None:
        return "n/a" if value is None or _is_nan(value) else str(value)
    kind = metric_kind(name)
    if kind == "pct":
        return f"{x:.2%}"
    if kind == "int":
        return f"{x:,.0f}"
    return f"{x:.2f}"


def _is_nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _best(values: Mapping[str, float | None], direction: int) -> set[str]:
    """Names holding the best finite value of a row (ties all win); empty if < 2 values."""
    finite = {k: v for k, v in values.items() if v is not None}
    if direction == 0 or len(finite) < 2:
        return set()
    if direction == 2:
        score = {k: -abs(v) for k, v in finite.items()}
    else:
        score = {k: direction * v for k, v in finite.items()}
    top = max(score.values())
    if all(s == top for s in score.values()):
        return set()
    return {k for k, s in score.items() if s == top}


# ---------------------------------------------------------------- tables
def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """An HTML table of plain-text cells (every cell escaped)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def metrics_table(run: RunData) -> str:
    """Strategies (then the benchmark) as columns, metrics as rows, best per row marked.

    The best value is chosen among the strategies only; the benchmark is the
    yardstick, not a contender.
    """
    bench = run.benchmark
    cols = [s for s in run.strategies if s in run.metrics]
    cols += [k for k in run.metrics if k not in cols and k != bench]
    if bench is not None and bench in run.metrics:
        cols.append(bench)
    if not cols:
        return "<p>metrics.json lists no strategy.</p>"
    names: list[str] = []
    for col in cols:
        for key in run.metrics[col]:
            if key not in names:
                names.append(key)
    head = "<th>metric</th>" + "".join(
        f'<th class="{"bench" if c == bench else ""}">{esc(c)}</th>' for c in cols
    )
    body = []
    for key in names:
        vals = {c: _as_float(run.metrics[c].get(key)) for c in cols if c != bench}
        best = _best(vals, metric_direction(key))
        cells = []
        for c in cols:
            classes = " ".join(
                x for x in ("best" if c in best else "", "bench" if c == bench else "") if x
            )
            text = esc(format_metric(key, run.metrics[c].get(key)))
            cells.append(f'<td class="num {classes}">{text}</td>')
        body.append(f'<tr><th class="rowh">{esc(key)}</th>{"".join(cells)}</tr>')
    return (
        f'<table class="metrics"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _money(x: Any) -> str:
    v = _as_float(x)
    return "n/a" if v is None else f"{v:,.0f}"


def costs_table(run: RunData) -> str:
    """Cost totals by kind (rows) and strategy (columns), with a total row."""
    if not run.costs:
        return "<p>No costs.json in this run.</p>"
    strategies = list(run.costs)
    kinds: list[str] = []
    for s in strategies:
        entry = run.costs[s] if isinstance(run.costs[s], dict) else {}
        kinds += [k for k in entry if k not in kinds]
    rows = []
    for k in kinds:
        rows.append([k] + [_money(_get(run.costs[s], k)) for s in strategies])
    totals = [
        sum(v for v in (_as_float(_get(run.costs[s], k)) for k in kinds) if v is not None)
        for s in strategies
    ]
    rows.append(["total"] + [_money(t) for t in totals])
    return _table(["cost", *strategies], rows, cls="num")


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def trades_table(trades: pd.DataFrame | None, strategies: Sequence[str] = ()) -> str:
    """Per strategy: trades, buys, sells, traded value (sum of absolute values), cost columns.

    Rows follow ``strategies`` (a strategy without trades shows zeros), then
    any other strategy named in the table.
    """
    if trades is None:
        return "<p>No trades.parquet in this run.</p>"
    if trades.empty:
        return "<p>No trades.</p>"
    side = trades["side"].astype(str).str.lower()
    rows = []
    money_cols = [c for c in ("commission", "tax", "slippage") if c in trades.columns]
    groups = dict(list(trades.groupby(trades["strategy"].astype(str), sort=False)))
    order = [str(s) for s in strategies]
    order += [g for g in groups if g not in order]
    for name in order:
        grp = groups.get(name, trades.iloc[0:0])
        s = side.loc[grp.index]
        row = [
            name,
            f"{len(grp):,}",
            f"{int((s == 'buy').sum()):,}",
            f"{int((s == 'sell').sum()):,}",
        ]
        value = grp["value"].abs().sum() if "value" in grp.columns else float("nan")
        row.append(_money(value))
        row += [_money(grp[c].sum()) for c in money_cols]
        rows.append(row)
    header = ["strategy", "trades", "buys", "sells", "traded value", *money_cols]
    return _table(header, rows, cls="num")


def rejected_table(rejected: pd.DataFrame | None, strategies: Sequence[str] = ()) -> str:
    """Rejected orders: counts by reason (rows) and strategy (columns), with totals.

    Columns follow ``strategies`` (a strategy without rejections shows zeros),
    then any other strategy named in the table; reasons by count, largest first.
    """
    if rejected is None:
        return "<p>No rejected.parquet in this run.</p>"
    if rejected.empty:
        return "<p>No order was rejected.</p>"
    counts = pd.crosstab(rejected["reason"].astype(str), rejected["strategy"].astype(str))
    order = [str(s) for s in strategies]
    order += [c for c in counts.columns if c not in order]
    counts = counts.reindex(columns=order, fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    rows = [
        [
            str(reason),
            *(f"{int(v):,}" for v in counts.loc[reason]),
            f"{int(counts.loc[reason].sum()):,}",
        ]
        for reason in counts.index
    ]
    rows.append(
        ["total", *(f"{int(v):,}" for v in counts.sum()), f"{int(counts.to_numpy().sum()):,}"]
    )
    return _table(["reason", *map(str, counts.columns), "all"], rows, cls="num")


# ------------------------------------------------------ generic JSON sections
_MAX_DEPTH = 6


def render_obj(obj: Any, depth: int = 0) -> str:
    """Nested JSON (dicts, lists, scalars) as escaped HTML tables and lists.

    Lists show their first 200 items; below 6 levels of nesting the rest is
    shown as escaped JSON text rather than ever deeper tables.
    """
    if depth > _MAX_DEPTH and isinstance(obj, (dict, list)):
        return f"<code>{esc(json.dumps(obj, default=str)[:2000])}</code>"
    if isinstance(obj, dict):
        if not obj:
            return "<em>(empty)</em>"
        rows = "".join(
            f'<tr><th class="rowh">{esc(k)}</th><td>{render_obj(v, depth + 1)}</td></tr>'
            for k, v in obj.items()
        )
        return f'<table class="kv">{rows}</table>'
    if isinstance(obj, list):
        if not obj:
            return "<em>(none)</em>"
        shown = obj[:_MAX_ROWS]
        more = len(obj) - len(shown)
        tail = f"<p class='muted'>... {more:,} more</p>" if more > 0 else ""
        if all(isinstance(x, dict) for x in shown):
            keys: list[str] = []
            for x in shown:
                keys += [k for k in x if k not in keys]
            head = "".join(f"<th>{esc(k)}</th>" for k in keys)
            body = "".join(
                "<tr>"
                + "".join(f"<td>{render_obj(x.get(k), depth + 1)}</td>" for k in keys)
                + "</tr>"
                for x in shown
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}"
        items = "".join(f"<li>{render_obj(x, depth + 1)}</li>" for x in shown)
        return f"<ul>{items}</ul>{tail}"
    if obj is None:
        return "<em>null</em>"
    if isinstance(obj, bool):
        return "yes" if obj else "no"
    if isinstance(obj, float):
        return esc(f"{obj:.6g}")
    return esc(obj)


_HEALTH_BADGE = {"pass": "pass", "ok": "pass", "flagged": "warn", "warnings": "warn"}


def health_section(health: Any) -> str:
    """Data health (``HealthReport.to_dict()`` of alphalab.data.health, or any JSON).

    A status badge (pass / flagged / errors), the summary figures, issue counts
    by kind and the issue list (first 200 rows); other layouts render as nested tables.
    """
    if not isinstance(health, dict) or not isinstance(health.get("status"), str):
        return render_obj(health)
    status = health["status"]
    cls = _HEALTH_BADGE.get(status.lower(), "fail")
    title = " ".join(esc(health[k]) for k in ("name", "market") if health.get(k))
    parts = [f'<h3>{title} <span class="badge {cls}">{esc(status.upper())}</span></h3>']
    if isinstance(health.get("stats"), dict):
        parts.append(f'<p class="muted">{_inline(health["stats"])}</p>')
    if isinstance(health.get("counts"), dict) and health["counts"]:
        parts.append(
            _table(
                ["issue kind", "count"],
                [[k, f"{v:,}"] for k, v in health["counts"].items()],
                cls="num",
            )
        )
    issues = health.get("issues")
    if isinstance(issues, list) and issues:
        total = health.get("n_issues", len(issues))
        parts.append(
            f"<details><summary>{esc(len(issues))} of {esc(total)} issues</summary>"
            f"{render_obj(issues)}</details>"
        )
    shown = {"name", "market", "status", "stats", "counts", "issues", "n_issues"}
    rest = {k: v for k, v in health.items() if k not in shown}
    if rest:
        parts.append(render_obj(rest))
    return "".join(parts)


def _count_rows(counts: Any, label: str) -> list[list[str]]:
    if not isinstance(counts, dict):
        return []
    # Plain text: _table escapes every cell.
    return [[label, str(k), f"{v:,}" if isinstance(v, int) else str(v)] for k, v in counts.items()]


def data_validation_section(dv: Any) -> str:
    """What the data loader dropped, fixed and flagged (``manifest.data_validation``).

    Shows the source and mode, rows in / out / dropped, then one row per rule
    with its count: dropped rows (errors), repaired values (fixed) and kept
    rows with a warning. Any other layout renders as nested tables.
    """
    if dv is None:
        return '<p class="muted">The manifest records no data validation for this run.</p>'
    if not isinstance(dv, dict) or not any(k in dv for k in ("n_input", "errors", "n_dropped")):
        return render_obj(dv)
    n_in, n_out, dropped = dv.get("n_input"), dv.get("n_output"), dv.get("n_dropped")
    share = ""
    if isinstance(n_in, int) and isinstance(dropped, int) and n_in > 0 and dropped > 0:
        share = f" ({dropped / n_in:.3%} of the input)"
    cls = "pass" if not dropped else "warn"
    parts = [
        f"<p>Source <code>{esc(dv.get('source', 'n/a'))}</code>, mode "
        f"<b>{esc(dv.get('mode', 'n/a'))}</b>: "
        f"{_fmt_int(n_in)} rows in, {_fmt_int(n_out)} used, "
        f'<span class="badge {cls}">{_fmt_int(dropped)} dropped</span>{share}.</p>'
    ]
    rows = (
        _count_rows(dv.get("errors"), "dropped")
        + _count_rows(dv.get("fixed"), "fixed")
        + _count_rows(dv.get("warnings"), "kept, flagged")
    )
    if rows:
        parts.append(_table(["action", "rule", "rows"], rows, cls="num data-rules"))
    else:
        parts.append('<p class="muted">No row failed or was flagged by any rule.</p>')
    notes = dv.get("notes")
    if isinstance(notes, list) and notes:
        parts.append('<p class="note">' + "; ".join(esc(n) for n in notes) + "</p>")
    return "".join(parts)


def universe_section(universe: Any) -> str:
    """How ``data.universe`` chose the tickers (``manifest.universe``); empty when unused."""
    if not isinstance(universe, dict) or "rule" not in universe:
        return "" if universe is None else render_obj(universe)
    rule = universe.get("rule") or {}
    window = universe.get("window") or {}
    order = "smallest" if rule.get("ascending") else "largest"
    size = rule.get("size")
    pick = f"the {_fmt_int(size)} {order}" if size else "every eligible name, ranked"
    require = rule.get("require") or []
    needs = f" and {', '.join(esc(r) for r in require)}" if require else ""
    parts = [
        f"<p>Universe rule: {pick} by <b>{esc(rule.get('rank_by'))}</b> over the "
        f"{_fmt_int(window.get('n_sessions'))} sessions {esc(window.get('start'))} .. "
        f"{esc(window.get('end'))} (before the study's start {esc(rule.get('as_of'))}); a name "
        f"needed a close{needs} on {float(rule.get('min_coverage', 0)):.0%} of them. "
        f"{_fmt_int(universe.get('n_eligible'))} of {_fmt_int(universe.get('n_candidates'))} "
        f"names were eligible, {_fmt_int(universe.get('n_selected'))} chosen. Names listed "
        "after the window could not be chosen; names delisted later could.</p>"
    ]
    excluded = universe.get("excluded")
    if isinstance(excluded, dict) and excluded:
        rows = [[str(k), f"{v:,}" if isinstance(v, int) else str(v)] for k, v in excluded.items()]
        parts.append(_table(["excluded because", "names"], rows, cls="num"))
    tickers = universe.get("tickers")
    if isinstance(tickers, list):
        parts.append(f"<p class=\"note\">Chosen: {esc(', '.join(map(str, tickers)))}</p>")
    return "".join(parts)


def _fmt_int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else esc(value)


# ------------------------------------------------------------------- header
def _flat(value: Any) -> str | None:
    """Escaped text of a scalar or a list of scalars; None for anything nested."""
    if isinstance(value, list):
        if any(isinstance(v, (dict, list)) for v in value):
            return None
        return ", ".join(esc(v) for v in value)
    return None if isinstance(value, dict) else esc(value)


def _inline(obj: Any) -> str:
    """A flat dict as ``k: v, k: v`` (escaped); anything nested through :func:`render_obj`."""
    if isinstance(obj, dict):
        parts = {k: _flat(v) for k, v in obj.items()}
        if all(v is not None for v in parts.values()):
            return ", ".join(f"{esc(k)}: {v}" for k, v in parts.items())
    return render_obj(obj)


# Manifest keys the header shows in its own rows; the rest go under "full manifest".
_HEADER_KEYS = {"study", "name", "market", "dataset", "benchmark", "window", "n_assets",
                "config_hash", "data_hash", "seed", "created", "python", "platform", "versions",
                "costs", "data_validation", "benchmark_validation", "universe"}  # fmt: skip


def header_table(run: RunData) -> str:
    """Provenance: study, market, data, dates, hashes, seed, created, versions, costs.

    Manifest entries without a row of their own (strategies, timings, data
    validation, ...) follow in a collapsed "full manifest" block.
    """
    m, cfg = run.manifest, run.config or {}
    idx = run.returns.index
    data = _get(cfg, "data") or {}
    rows: list[tuple[str, str]] = [("study", esc(run.study_name))]
    market = m.get("market") or _get(data, "market")
    rows.append(("market", esc(market) if market else "n/a"))
    dataset = m.get("dataset") or _get(data, "dataset")
    if dataset:
        rows.append(("data", esc(dataset)))
    bench = m.get("benchmark") or _get(data, "benchmark")
    if bench:
        rows.append(("benchmark", esc(bench)))
    if len(idx):
        span = f"{idx[0]:%Y-%m-%d} to {idx[-1]:%Y-%m-%d} ({len(idx):,} bars"
        n_assets = m.get("n_assets")
        span += f", {esc(n_assets)} assets)" if n_assets is not None else ")"
        rows.append(("date range", span))
    for key in ("config_hash", "data_hash"):
        if m.get(key) is not None:
            rows.append((key.replace("_", " "), f"<code>{esc(m[key])}</code>"))
    for key in ("seed", "created"):
        if m.get(key) is not None:
            rows.append((key, esc(m[key])))
    execution = _get(cfg, "execution") or m.get("execution")
    if isinstance(execution, dict):
        flat = {k: v for k, v in execution.items() if not isinstance(v, (dict, list))}
        if flat:
            rows.append(("execution", _inline(flat)))
    costs = _get(execution, "costs") or m.get("costs")
    if costs is not None:
        rows.append(("costs", _inline(costs)))
    platform = " on ".join(esc(m[k]) for k in ("python", "platform") if m.get(k))
    if platform:
        rows.append(("python", platform))
    versions = m.get("versions")
    if isinstance(versions, dict):
        rows.append(("versions", ", ".join(f"{esc(k)} {esc(v)}" for k, v in versions.items())))
    elif versions is not None:
        rows.append(("versions", esc(versions)))
    body = "".join(f'<tr><th class="rowh">{k}</th><td>{v}</td></tr>' for k, v in rows)
    rest = {k: v for k, v in m.items() if k not in _HEADER_KEYS}
    more = (
        f"<details><summary>full manifest ({len(rest)} more entries)</summary>"
        f"{render_obj(rest)}</details>"
        if rest
        else ""
    )
    return f'<table class="kv meta">{body}</table>{more}'
