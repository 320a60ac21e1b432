"""Self-contained interactive ``report.html`` comparing every strategy of a run.

One file, no network: plotly.js is inlined once in ``<head>`` and every chart
is a plotly figure serialised as JSON (plotly escapes ``<`` and ``/`` in it)
into a single script at the end of the body. Every string that comes from the
run goes through :func:`tables.esc`. With lines thinned to 2,000 points per
trace, a run of 7 strategies x 20 assets x 8,000 days stays well under 10 MB
(about 4.8 MB of it is plotly.js).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from alphalab.report.figures import (
    MAX_POINTS,
    fig_drawdown,
    fig_equity,
    fig_monthly,
    fig_returns_dist,
    fig_rolling_sharpe,
    fig_weights,
)
from alphalab.report.honesty import honesty_block, honesty_section
from alphalab.report.models import fig_training_curves, models_section
from alphalab.report.rundir import RunData
from alphalab.report.tables import (
    costs_table,
    data_validation_section,
    esc,
    header_table,
    health_section,
    metrics_table,
    rejected_table,
    trades_table,
    universe_section,
)
from alphalab.report.validation import (
    cpcv_table,
    fig_trials,
    overfitting_table,
    trials_table,
    verdict_block,
    verdict_summary,
    walkforward_section,
)

__all__ = ["render_html", "write_html"]


# --------------------------------------------------------------------- page
_CSS = """
:root { --fg:#1d2430; --muted:#5b6472; --line:#dde1e6; --bg:#ffffff; --soft:#f5f7f9;
        --accent:#1f5fa8; --good:#e3f4e6; --goodfg:#11602a; --bad:#fbe4e4; --badfg:#9b1c1c; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
header { background:#16324f; color:#fff; padding:18px 28px; }
header h1 { margin:0; font-size:22px; font-weight:600; }
header p { margin:4px 0 0; color:#c9d6e3; }
nav { position:sticky; top:0; z-index:10; background:var(--soft); border-bottom:1px solid var(--line);
      padding:6px 28px; font-size:13px; }
nav a { color:var(--accent); text-decoration:none; margin-right:14px; }
main { max-width:1280px; margin:0 auto; padding:8px 28px 40px; }
section { margin-top:26px; }
h2 { font-size:18px; border-bottom:2px solid var(--line); padding-bottom:4px; margin:0 0 10px; }
h3 { font-size:15px; margin:14px 0 6px; }
table { border-collapse:collapse; margin:6px 0; font-size:13px; }
th, td { border:1px solid var(--line); padding:4px 9px; text-align:left; vertical-align:top; }
thead th { background:var(--soft); font-weight:600; }
th.rowh { background:var(--soft); font-weight:500; white-space:nowrap; }
table.num td, td.num { text-align:right; font-variant-numeric: tabular-nums; }
table.num td:first-child { text-align:left; }
table.metrics td.best { background:var(--good); color:var(--goodfg); font-weight:700; }
table.metrics .bench { color:var(--muted); font-style:italic; }
table.kv td table { margin:0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12px; }
pre { background:var(--soft); border:1px solid var(--line); padding:10px; overflow:auto;
      font-size:12px; max-height:480px; }
.chart { width:100%; border:1px solid var(--line); border-radius:4px; margin:8px 0 4px; }
.muted, .note { color:var(--muted); font-size:12.5px; }
.badge { display:inline-block; padding:1px 9px; border-radius:10px; font-size:12px; font-weight:700; }
.badge.pass { background:var(--good); color:var(--goodfg); }
.badge.fail { background:var(--bad); color:var(--badfg); }
.badge.warn { background:#fff3cd; color:#7a5a00; }
.gate { border:1px solid var(--line); border-radius:4px; padding:4px 12px 8px; margin:8px 0; }
#gates p.scope { margin:4px 0; }
p.holdout { margin:4px 0 10px; padding:6px 10px; border-radius:4px; border-left:4px solid; }
p.holdout.pass { background:var(--good); color:var(--goodfg); border-color:var(--goodfg); }
p.holdout.warn { background:#fff3cd; color:#7a5a00; border-color:#c79100; }
p.holdout.fail { background:var(--bad); color:var(--badfg); border-color:var(--badfg); font-weight:600; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:6px 0; }
.card { flex:1 1 230px; max-width:420px; border:1px solid var(--line); border-top:5px solid;
        border-radius:5px; padding:8px 12px; }
.card.pass { border-top-color:var(--goodfg); } .card.fail { border-top-color:var(--badfg); }
.card-head { display:flex; justify-content:space-between; align-items:center; gap:8px; }
.card-head .badge { font-size:14px; padding:2px 12px; }
.card ul { margin:6px 0; padding-left:18px; color:var(--badfg); }
.card p { margin:6px 0 0; } .card p.facts { color:var(--muted); font-size:12.5px; }
td.span { white-space:nowrap; }
table.data-rules td:nth-child(2) { text-align:left; }
td.ok { background:var(--good); color:var(--goodfg); }
td.bad { background:var(--bad); color:var(--badfg); font-weight:700; }
table.trials td.best { background:var(--good); color:var(--goodfg); font-weight:700; }
details { margin:6px 0; } summary { cursor:pointer; color:var(--accent); font-size:13px; }
footer { color:var(--muted); font-size:12px; padding:20px 28px; border-top:1px solid var(--line); }
"""

_PLOT_CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def _chart_div(div_id: str, fig: go.Figure, caption: str = "") -> str:
    # The box gets the figure's own height: a responsive plot re-reads its container on
    # resize, and an auto-height box let plots grow over the next section's heading.
    height = int(fig.layout.height or 430)
    note = f'<p class="note">{caption}</p>' if caption else ""
    return f'<div class="chart" id="{div_id}" style="height:{height}px"></div>{note}'


_CAPTIONS = {
    "chart-equity": "Each series rebased to 1 at its first bar.",
    "chart-drawdown": "Fall from the running peak of equity.",
    "chart-rolling-sharpe": "Empty until the first window is full; risk-free rate 0.",
    "chart-returns": "",
    "chart-monthly": "Compounded return per calendar month; choose the strategy in the menu.",
    "chart-weights": "Held weights; assets outside the top 10 by average absolute weight "
    "are summed in (other). Choose the strategy in the menu.",
}


def _figures(run: RunData, max_points: int) -> dict[str, go.Figure]:
    figs: dict[str, go.Figure] = {
        "chart-equity": fig_equity(run, max_points),
        "chart-drawdown": fig_drawdown(run, max_points),
        "chart-rolling-sharpe": fig_rolling_sharpe(run, max_points),
        "chart-returns": fig_returns_dist(run),
    }
    if run.strategies:
        figs["chart-monthly"] = fig_monthly(run)
    if any(n in run.weights for n in run.strategies):
        figs["chart-weights"] = fig_weights(run)
    if isinstance(run.validation, dict):
        for i, (name, summary) in enumerate(run.validation.items()):
            fig = fig_trials(str(name), summary) if isinstance(summary, dict) else None
            if fig is not None:
                figs[f"chart-trials-{i}"] = fig
    for i, name in enumerate(run.strategies):
        entries = run.diagnostics.get(name)
        curves = fig_training_curves(name, entries) if entries else None
        if curves is not None:
            figs[f"chart-models-{i}"] = curves
    return figs


def _walkforward(run: RunData, charts: dict[str, str]) -> str:
    """Folds table, then per tuned strategy its trials table and chart."""
    parts = [walkforward_section(run.validation)]
    assert isinstance(run.validation, dict)
    for i, (name, summary) in enumerate(run.validation.items()):
        if isinstance(summary, dict):
            parts.append(trials_table(str(name), summary))
        parts.append(charts.get(f"chart-trials-{i}", ""))
    return "".join(parts)


def _analysis_sections(run: RunData) -> list[tuple[str, str]]:
    """``(title, html)`` per study analysis written into the run directory."""
    from alphalab.analyses import (
        catalogue,  # noqa: F401  (built-ins register on import)
        read_analyses,
        render_analysis,
    )

    return [render_analysis(run.path, record) for record in read_analyses(run.path)]


def render_html(run: RunData, *, max_points: int = MAX_POINTS) -> str:
    """The complete report page as one string.

    Parameters
    ----------
    run : RunData
    max_points : int
        Upper bound on points per line trace (min/max thinning keeps peaks and troughs).

    Returns
    -------
    str
        A self-contained HTML document (plotly.js inlined, no external resources).
    """
    figs = _figures(run, max_points)
    charts = {k: _chart_div(k, f, _CAPTIONS.get(k, "")) for k, f in figs.items()}

    # The verdict comes first, right under the title: a reader sees PASS / REJECTED before
    # any flattering chart.
    verdict = ""
    if run.gates is not None:
        verdict = (
            # LEAK / SUSPECT / seal / trial count come first, above the gate cards.
            '<section id="gates"><h2>Verdict: acceptance gates</h2>'
            f"{honesty_block(run.manifest)}{verdict_block(run.gates, run.validation)}</section>"
        )
    else:
        verdict = honesty_section(run.manifest)
    if run.gates is None and run.validation is None:
        # A plain run has no out-of-sample evidence at all; say so where a verdict would be.
        verdict += (
            '<section id="caveat"><p class="holdout warn">Not validated: this run has no '
            "walk-forward, no sealed holdout and no acceptance gates, so every number below is "
            "an in-sample backtest. Add <code>validation</code> and <code>gates</code> to the "
            "study and run <code>alphalab evaluate</code> for a verdict.</p></section>"
        )
    sections: list[tuple[str, str, str]] = []  # (anchor, title, body html)
    data = data_validation_section(run.manifest.get("data_validation"))
    if run.manifest.get("benchmark_validation") is not None:
        data = (
            f"<h3>Dataset</h3>{data}<h3>Benchmark</h3>"
            f"{data_validation_section(run.manifest['benchmark_validation'])}"
        )
    universe = universe_section(run.manifest.get("universe"))
    if universe:
        data = f"<h3>Universe</h3>{universe}<h3>Rows</h3>{data}"
    for i, (title, fragment) in enumerate(_analysis_sections(run)):
        sections.append((f"analysis-{i}", esc(title), fragment))
    sections.append(("data", "Data", data))
    if run.health is not None:
        sections.append(("health", "Data health", health_section(run.health)))
    note = (
        '<p class="note">From metrics.json. Best strategy per row highlighted '
        "(the benchmark is the yardstick, not a contender).</p>"
    )
    sections.append(("metrics", "Metrics", metrics_table(run) + note))
    perf = ("chart-equity", "chart-drawdown", "chart-rolling-sharpe", "chart-returns")
    sections.append(("performance", "Performance", "".join(charts[k] for k in perf)))
    if isinstance(run.validation, dict):
        overfit = overfitting_table(run.validation) + cpcv_table(run.validation)
        sections.append(("overfitting", "Overfitting", overfit))
        sections.append(("walkforward", "Walk-forward", _walkforward(run, charts)))
    models = models_section(run, charts)
    if models:
        sections.append(("models", "Models", models))
    if "chart-monthly" in charts:
        sections.append(("monthly", "Monthly returns", charts["chart-monthly"]))
    if "chart-weights" in charts:
        sections.append(("weights", "Weights over time", charts["chart-weights"]))
    sections.append(("trades", "Trades", trades_table(run.trades, run.strategies)))
    sections.append(("rejected", "Rejected orders", rejected_table(run.rejected, run.strategies)))
    sections.append(("costs", "Costs", costs_table(run)))
    if run.config_text is not None:
        sections.append(("config", "Configuration", f"<pre>{esc(run.config_text)}</pre>"))

    title = esc(run.title)
    vs = f" vs {esc(run.benchmark)}" if run.benchmark else ""
    nav = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t, _ in [("gates", "Verdict", "")] * (run.gates is not None)
        + [("run", "Run", ""), *sections]
    )
    body = "".join(f'<section id="{a}"><h2>{t}</h2>{b}</section>' for a, t, b in sections)
    # plotly's to_json escapes "<" and "/" inside strings, so no name can close the script.
    fig_json = ",".join(f'"{div}":{fig.to_json()}' for div, fig in figs.items())
    script = (
        "const CONFIG=" + json.dumps(_PLOT_CONFIG) + ";\n"
        "const FIGURES={" + fig_json + "};\n"
        "for (const [id, fig] of Object.entries(FIGURES)) {\n"
        "  Plotly.newPlot(id, fig.data, fig.layout, CONFIG);\n"
        "}\n"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title} | alphalab report</title>\n"
        f"<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        "</head><body>\n"
        f"<header><h1>{title}</h1>"
        f"<p>alphalab report of study {esc(run.study_name)}: "
        f"{len(run.strategies)} strategies{vs}{verdict_summary(run.gates)}</p></header>\n"
        f"<nav>{nav}</nav>\n"
        f"<main>{verdict}"
        f'<section id="run"><h2>Run</h2>{header_table(run)}</section>{body}</main>\n'
        f"<footer>Rendered by alphalab from {esc(run.path.name)}; self-contained, works offline."
        "</footer>\n"
        f'<script type="text/javascript">{script}</script>\n'
        "</body></html>\n"
    )


def write_html(run: RunData, path: str | Path | None = None, **kw: Any) -> Path:
    """Write :func:`render_html` to ``path`` (default ``run.path / "report.html"``)."""
    out = Path(path) if path is not None else run.path / "report.html"
    out.write_text(render_html(run, **kw), encoding="utf-8")
    return out
