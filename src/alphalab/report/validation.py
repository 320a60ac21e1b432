"""The honest-verdict parts of a validated run's report.

Reads ``gates.json`` and ``validation.json`` (docs/ARCHITECTURE.md) as parsed
JSON and renders: the verdict block shown right under the title (one badge per
strategy with its reasons, the scope and how often the sealed holdout was
looked at), the overfitting table, the walk-forward folds, the tuning trials
and a plotly chart of trial scores by fold. Every function accepts malformed
input (wrong types, missing keys) and shows what it can instead of raising;
every string from the run is escaped with :func:`tables.esc`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from alphalab.report.rundir import verdict_status, verdicts
from alphalab.report.style import PALETTE
from alphalab.report.tables import esc, render_obj

__all__ = [
    "cpcv_table",
    "fig_trials",
    "holdout_sentence",
    "overfitting_table",
    "trials_table",
    "verdict_block",
    "verdict_summary",
    "walkforward_section",
]

_MAX_ROWS = 200
#: More distinct parameter sets than this and the trials table stays long (fold, params, score).
_MAX_PIVOT = 12
_PASS = ("PASS", "PASSED")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _fmt(value: Any, digits: int = 3) -> str:
    x = _num(value)
    if x is None:
        return '<span class="muted">n/a</span>'
    if float(x).is_integer() and abs(x) < 1e15 and digits == 0:
        return f"{int(x):,}"
    return f"{x:.{digits}f}"


def _params(params: Any) -> str:
    """``{lookback: 60, k: 5}`` as the escaped text ``lookback=60, k=5``."""
    if isinstance(params, Mapping):
        if not params:
            return "defaults"
        return ", ".join(f"{esc(k)}={esc(_scalar(v))}" for k, v in params.items())
    return esc(params)


def _scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


# ------------------------------------------------------------ verdict block
def holdout_sentence(looks: Any, scope: Any = None) -> tuple[str, str]:
    """How often the sealed holdout was evaluated, and how alarming that is.

    Parameters
    ----------
    looks : dict
        ``{n_evaluations, n_configs, first, last}`` from gates.json.
    scope : str, optional
        ``"development"`` or ``"holdout"``.

    Returns
    -------
    (str, str)
        The escaped sentence and a badge class: ``"pass"`` (not opened, or
        opened once by one configuration), ``"warn"`` (opened 2-4 times) or
        ``"fail"`` (5 or more looks, or several configurations tried on it).
    """
    if not isinstance(looks, Mapping):
        return "Sealed holdout: no record of looks in gates.json.", "warn"
    n = _num(looks.get("n_evaluations"))
    m = _num(looks.get("n_configs"))
    if n is None or n <= 0:
        return "Sealed holdout: not opened.", "pass"
    n_i, m_i = int(n), int(m or 0)
    times = "once" if n_i == 1 else f"{n_i:,} times"
    configs = "1 distinct config" if m_i == 1 else f"{m_i:,} distinct configs"
    span = ""
    if looks.get("first") or looks.get("last"):
        span = f" (first {esc(looks.get('first'))}, last {esc(looks.get('last'))})"
    text = f"Sealed holdout: evaluated {times} by {configs}{span}."
    if n_i >= 5 or m_i > 1:
        text += (
            " Each look after the first, and each configuration tried on it, spends the "
            "holdout: its numbers are no longer an out-of-sample test."
        )
        return text, "fail"
    if n_i > 1:
        text += " Repeated looks spend the holdout."
        return text, "warn"
    return text, "pass"


def _scope_sentence(scope: Any, validation: Mapping[str, Any]) -> str:
    span = None
    for summary in validation.values():
        if isinstance(summary, Mapping) and isinstance(summary.get("span"), list):
            span = summary["span"]
            break
    dates = f" ({esc(span[0])} to {esc(span[-1])})" if span else ""
    if scope == "holdout":
        return f"Scope: <b>holdout</b>: the numbers below cover the sealed holdout only{dates}."
    if scope == "development":
        return (
            "Scope: <b>development</b>: the numbers below cover the walk-forward test folds"
            f"{dates}; the sealed holdout is not in them."
        )
    return f"Scope: <b>{esc(scope)}</b>{dates}."


def verdict_summary(gates: Any) -> str:
    """``"; verdict on the holdout: 2 PASS, 2 REJECTED"`` for the page header ("" without gates)."""
    per = verdicts(gates)
    if not per:
        return ""
    statuses = [verdict_status(v) for v in per.values()]
    n_pass = sum(s in _PASS for s in statuses)
    scope = gates.get("scope") if isinstance(gates, Mapping) else None
    where = f" on the {esc(scope)} span" if isinstance(scope, str) else ""
    # LEAK and SUSPECT (alphalab.validation.honesty) are named, not folded into REJECTED
    flagged = "".join(
        f", {n} {kind}" for kind in ("LEAK", "SUSPECT") if (n := statuses.count(kind))
    )
    n_flagged = sum(s in ("LEAK", "SUSPECT") for s in statuses)
    return f"; verdict{where}: {n_pass} PASS, {len(statuses) - n_pass - n_flagged} REJECTED{flagged}"


def verdict_block(gates: Any, validation: Any = None) -> str:
    """The verdict shown at the top of the report: one card per strategy.

    Each card has a PASS / REJECTED badge, the reasons it was rejected (or how
    many checks it passed), its deflated Sharpe, PBO and number of trials;
    above the cards the scope and the holdout sentence. Every check follows in
    a collapsed block.

    Parameters
    ----------
    gates : dict
        Parsed gates.json ``{scope, holdout_looks, strategies: {name: {status,
        reasons, checks, dsr, pbo, n_trials}}}``.
    validation : dict, optional
        Parsed validation.json (for the span of the scope).

    Returns
    -------
    str
        HTML.
    """
    per = verdicts(gates)
    if not per:
        return render_obj(gates)
    head = ""
    if "strategies" in gates:  # the study's layout: scope and holdout looks beside the verdicts
        scope = gates.get("scope")
        sentence, cls = holdout_sentence(gates.get("holdout_looks"), scope)
        summaries = validation if isinstance(validation, Mapping) else {}
        head = (
            f'<p class="scope">{_scope_sentence(scope, summaries)}</p>'
            f'<p class="holdout {cls}">{sentence}</p>'
        )
    cards: list[str] = []
    checks_by: dict[str, list[Any]] = {}
    for name, entry in per.items():
        status = verdict_status(entry)
        badge = "pass" if status in _PASS else "fail"
        entry = entry if isinstance(entry, Mapping) else {}
        reasons = entry.get("reasons")
        checks = entry.get("checks") if isinstance(entry.get("checks"), list) else []
        if isinstance(reasons, list) and reasons:
            body = "<ul>" + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"
        elif isinstance(reasons, str) and reasons:
            body = f"<ul><li>{esc(reasons)}</li></ul>"
        elif status in _PASS:
            body = f'<p class="muted">all {len(checks)} checks passed</p>'
        else:
            body = '<p class="muted">no reasons given in gates.json</p>'
        facts = ""
        if any(k in entry for k in ("dsr", "pbo", "n_trials")):
            facts = (
                f"<p class='facts'>DSR {_fmt(entry.get('dsr'))} &middot; PBO "
                f"{_fmt(entry.get('pbo'))} &middot; trials {_fmt(entry.get('n_trials'), 0)}</p>"
            )
        cards.append(
            f'<div class="card {badge}"><div class="card-head"><b>{esc(name)}</b> '
            f'<span class="badge {badge}">{esc(status)}</span></div>{body}{facts}</div>'
        )
        checks_by[name] = checks
    more = ""
    if any(checks_by.values()):
        more = f"<details><summary>every check</summary>{_checks_table(checks_by)}</details>"
    return head + f'<div class="cards">{"".join(cards)}</div>' + more


def _g(value: Any) -> str:
    x = _num(value)
    return '<span class="muted">n/a</span>' if x is None else f"{x:,.4g}"


def _checks_table(checks_by: Mapping[str, list[Any]]) -> str:
    """One row per check, one column per strategy: the value, green when it passes, red when not."""
    names = list(checks_by)
    rows: dict[str, dict[str, Mapping[str, Any]]] = {}
    for name, checks in checks_by.items():
        for c in checks[:_MAX_ROWS]:
            if isinstance(c, Mapping):
                rows.setdefault(str(c.get("name")), {})[name] = c
    body = []
    for check, per in rows.items():
        first = next(iter(per.values()))
        cells = []
        for name in names:
            c = per.get(name)
            if c is None:
                cells.append("<td></td>")
                continue
            ok = c.get("passed")
            cls = "num ok" if ok is True else "num bad" if ok is False else "num"
            mark = " &#10003;" if ok is True else " &#10007;" if ok is False else ""
            cells.append(f'<td class="{cls}">{_g(c.get("value"))}{mark}</td>')
        body.append(
            f'<tr><th class="rowh">{esc(check)}</th>'
            f"<td>{esc(first.get('op') or '')} {_g(first.get('threshold'))}</td>{''.join(cells)}</tr>"
        )
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    return (
        f'<table class="num checks"><thead><tr><th>check</th><th>threshold</th>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table>"
    )


# ------------------------------------------------------------- overfitting
def _summaries(validation: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(validation, Mapping):
        return {}
    return {str(k): v for k, v in validation.items() if isinstance(v, Mapping)}


def _span_years(summary: Mapping[str, Any]) -> float | None:
    span = summary.get("span")
    if not isinstance(span, list) or len(span) < 2:
        return None
    try:
        import pandas as pd

        days = (pd.Timestamp(span[-1]) - pd.Timestamp(span[0])).days
    except (TypeError, ValueError):
        return None
    return days / 365.25


def _rerun_cell(cands: Mapping[str, Any]) -> str:
    """``n_rerun of n_candidates`` (red when some candidates were not re-run)."""
    n_all, n_rerun = _num(cands.get("n_candidates")), _num(cands.get("n_rerun"))
    if n_all is None or n_rerun is None:
        return '<td class="num">n/a</td>'
    missing = int(n_all) - int(n_rerun)
    cls = ' class="num bad"' if missing > 0 else ' class="num"'
    tail = f" ({missing:,} not re-run)" if missing > 0 else ""
    return f"<td{cls}>{int(n_rerun):,} of {int(n_all):,}{tail}</td>"


def overfitting_table(validation: Any) -> str:
    """Trials, deflated Sharpe, SR0, PBO, PBO splits and MinBTL per strategy.

    A MinBTL (minimum backtest length, years) longer than the span actually
    tested is marked: with that many trials, a Sharpe this high is expected by
    chance alone.
    """
    rows = []
    for name, s in _summaries(validation).items():
        o = s.get("overfitting") if isinstance(s.get("overfitting"), Mapping) else {}
        years = _span_years(s)
        minbtl = _num(o.get("min_backtest_years"))
        short = minbtl is not None and years is not None and minbtl > years
        mark = ' class="num bad"' if short else ' class="num"'
        pbo = _num(o.get("pbo"))
        cands = o.get("pbo_candidates") if isinstance(o.get("pbo_candidates"), Mapping) else {}
        rerun = _rerun_cell(cands)
        # PBO >= 0.5: the in-sample winner is more often than not below median out of sample.
        pbo_mark = ' class="num bad"' if pbo is not None and pbo >= 0.5 else ' class="num"'
        rows.append(
            f'<tr><th class="rowh">{esc(name)}</th>'
            f'<td class="num">{_fmt(o.get("n_trials", s.get("n_trials")), 0)}</td>'
            f'<td class="num">{_fmt(o.get("dsr"))}</td><td class="num">{_fmt(o.get("sr0"), 4)}</td>'
            f"<td{pbo_mark}>{_fmt(o.get('pbo'))}</td>"
            f'<td class="num">{_fmt(o.get("pbo_splits"), 0)}</td>'
            f"{rerun}"
            f"<td{mark}>{_fmt(minbtl, 2)}</td>"
            f'<td class="num">{_fmt(years, 2)}</td></tr>'
        )
    if not rows:
        return '<p class="muted">No overfitting statistics in validation.json.</p>'
    return (
        '<table class="num overfit"><thead><tr><th>strategy</th><th>trials</th>'
        "<th>DSR</th><th>SR0 (per bar)</th><th>PBO</th><th>PBO splits</th>"
        "<th>PBO candidates re-run</th>"
        "<th>MinBTL (years)</th><th>tested (years)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        '<p class="note">DSR: probability that the true Sharpe exceeds SR0, the best Sharpe '
        "expected from that many trials by luck alone. PBO: probability that the configuration "
        "best in-sample ranks below the median out of sample (combinatorially symmetric "
        "cross-validation over the PBO splits); marked red from 0.5. PBO candidates re-run: "
        "configurations re-run as a fixed walk-forward for PBO, of all candidates; marked red "
        "when validation.pbo.max_candidates left some out (PBO then covers only those re-run). "
        "MinBTL: years of data needed before that many "
        "trials could not produce the observed Sharpe by chance; marked red when longer than "
        "the span tested.</p>"
    )


def cpcv_table(validation: Any) -> str:
    """The CPCV Sharpe distribution per strategy (``summary["cpcv"]``); "" when none has one."""
    rows = []
    for name, s in _summaries(validation).items():
        c = s.get("cpcv")
        if not isinstance(c, Mapping):
            continue
        share = _num(c.get("share_positive"))
        rows.append(
            f'<tr><th class="rowh">{esc(name)}</th>'
            f'<td class="num">{_fmt(c.get("n_splits"), 0)}</td>'
            + "".join(
                f'<td class="num">{_fmt(c.get(k), 2)}</td>'
                for k in ("sharpe_p05", "sharpe_p50", "sharpe_p95", "sharpe_mean", "sharpe_std")
            )
            + f'<td class="num">{"n/a" if share is None else f"{share:.0%}"}</td></tr>'
        )
    if not rows:
        return ""
    return (
        "<h3>Combinatorial purged cross-validation</h3>"
        '<table class="num cpcv"><thead><tr><th>strategy</th><th>splits</th><th>Sharpe p5</th>'
        "<th>median</th><th>p95</th><th>mean</th><th>std</th><th>share &gt; 0</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        '<p class="note">Annualised Sharpe of each CPCV test path on the development span: '
        "a wide spread or a low share above zero says the walk-forward path was lucky.</p>"
    )


# ------------------------------------------------------------ walk-forward
def _folds(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    folds = summary.get("folds")
    return [f for f in folds if isinstance(f, Mapping)] if isinstance(folds, list) else []


def _trials(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    trials = summary.get("trials")
    return [t for t in trials if isinstance(t, Mapping)] if isinstance(trials, list) else []


def _span(start: Any, end: Any, n: Any) -> str:
    bars = f" ({_fmt(n, 0)} bars)" if _num(n) is not None else ""
    return f"{esc(start)} to {esc(end)}{bars}"


def walkforward_section(validation: Any) -> str:
    """The folds (train and test spans) with the parameters each strategy chose per fold.

    Folds are shared by the strategies of a study; a strategy without tuning
    shows ``defaults``. Strategies whose folds differ get their own table.
    """
    summ = _summaries(validation)
    if not summ:
        return '<p class="muted">No walk-forward folds in validation.json.</p>'
    groups: dict[str, list[str]] = {}
    for name, s in summ.items():
        key = json.dumps(
            [[f.get(k) for k in ("train_start", "train_end", "test_start", "test_end")]
             for f in _folds(s)], default=str,
        )  # fmt: skip
        groups.setdefault(key, []).append(name)
    parts = []
    for names in groups.values():
        folds = _folds(summ[names[0]])
        if not folds:
            parts.append(f'<p class="muted">{esc(", ".join(names))}: no folds.</p>')
            continue
        # Tuned = it ran trials; a fixed strategy repeats its own params in every fold.
        tuned = [n for n in names if _trials(summ[n])]
        head = "".join(f"<th>{esc(n)}: chosen params</th>" for n in tuned)
        rows = []
        for i, f in enumerate(folds[:_MAX_ROWS]):
            chosen = "".join(
                f"<td>{_params(_folds(summ[n])[i].get('params'))}</td>"
                if i < len(_folds(summ[n]))
                else "<td></td>"
                for n in tuned
            )
            rows.append(
                f"<tr><td class='num'>{esc(f.get('fold', i))}</td>"
                f"<td class='span'>{_span(f.get('train_start'), f.get('train_end'), f.get('n_train'))}</td>"
                f"<td class='span'>{_span(f.get('test_start'), f.get('test_end'), f.get('n_test'))}</td>"
                f"{chosen}</tr>"
            )
        untuned = [n for n in names if n not in tuned]
        note = (
            f'<p class="note">Not tuned (fixed parameters in every fold): '
            f"{esc(', '.join(untuned))}.</p>"
            if untuned
            else ""
        )
        label = "" if len(groups) == 1 else f"<h3>{esc(', '.join(names))}</h3>"
        parts.append(
            f"{label}<table class='folds'><thead><tr><th>fold</th><th>train</th><th>test</th>"
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"
        )
    return "".join(parts)


def _param_key(params: Any) -> str:
    if isinstance(params, Mapping):
        return ", ".join(f"{k}={_scalar(v)}" for k, v in params.items()) or "defaults"
    return _scalar(params)


def trials_table(name: str, summary: Mapping[str, Any]) -> str:
    """Tuning trials of one strategy: fold x parameter set -> inner score.

    With at most 12 distinct parameter sets a pivot (one row per fold, the
    chosen set marked); otherwise the long list (fold, trial, params, score),
    first 200 rows.
    """
    trials = _trials(summary)
    if not trials:
        return ""
    chosen = {f.get("fold"): _param_key(f.get("params")) for f in _folds(summary)}
    keys = list(dict.fromkeys(_param_key(t.get("params")) for t in trials))
    title = f"<h3>Tuning trials: {esc(name)} ({len(trials):,} trials)</h3>"
    if len(keys) <= _MAX_PIVOT:
        cells: dict[Any, dict[str, Any]] = {}
        for t in trials:
            cells.setdefault(t.get("fold"), {})[_param_key(t.get("params"))] = t.get("score")
        rows = []
        for fold, scores in list(cells.items())[:_MAX_ROWS]:
            tds = "".join(
                f'<td class="num{" best" if chosen.get(fold) == k else ""}">'
                f"{_fmt(scores.get(k))}</td>"
                for k in keys
            )
            rows.append(f"<tr><td class='num'>{esc(fold)}</td>{tds}</tr>")
        head = "".join(f"<th>{esc(k)}</th>" for k in keys)
        table = (
            f'<table class="num trials"><thead><tr><th>fold</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            '<p class="note">Inner-split score of each candidate on the training window only; '
            "the candidate chosen for the fold is highlighted.</p>"
        )
    else:
        rows = [
            f"<tr><td class='num'>{esc(t.get('fold'))}</td><td class='num'>{esc(t.get('trial'))}</td>"
            f"<td>{_params(t.get('params'))}</td><td class='num'>{_fmt(t.get('score'))}</td></tr>"
            for t in trials[:_MAX_ROWS]
        ]
        more = len(trials) - len(rows)
        tail = f"<p class='muted'>... {more:,} more</p>" if more > 0 else ""
        table = (
            '<table class="num trials"><thead><tr><th>fold</th><th>trial</th><th>params</th>'
            f"<th>score</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{tail}"
        )
    return title + table


def fig_trials(name: str, summary: Mapping[str, Any]) -> go.Figure | None:
    """Inner scores of every tuning trial by fold, one line per parameter set; chosen ones starred.

    Returns None when the strategy has no trials with a finite score.
    """
    trials = [t for t in _trials(summary) if _num(t.get("score")) is not None]
    if not trials:
        return None
    chosen = {f.get("fold"): _param_key(f.get("params")) for f in _folds(summary)}
    keys = list(dict.fromkeys(_param_key(t.get("params")) for t in trials))
    many = len(keys) > _MAX_PIVOT
    traces = []
    for j, key in enumerate(keys):
        pts = [t for t in trials if _param_key(t.get("params")) == key]
        traces.append(
            go.Scatter(
                x=[esc(t.get("fold")) for t in pts],
                y=[_num(t.get("score")) for t in pts],
                name=esc(key),
                mode="markers" if many else "lines+markers",
                showlegend=not many,
                marker={"color": PALETTE[j % len(PALETTE)], "size": 6},
                line={"width": 1.5},
                hovertemplate=f"{esc(key)}<br>fold %{{x}}: %{{y:.3f}}<extra></extra>",
            )
        )
    best = [t for t in trials if chosen.get(t.get("fold")) == _param_key(t.get("params"))]
    traces.append(
        go.Scatter(
            x=[esc(t.get("fold")) for t in best],
            y=[_num(t.get("score")) for t in best],
            name="chosen",
            mode="markers",
            marker={"symbol": "star", "size": 13, "color": "#222222"},
            hovertemplate="chosen<br>fold %{x}: %{y:.3f}<extra></extra>",
        )
    )
    layout = {
        "title": {"text": f"Tuning trials: {esc(name)}: inner score by fold", "x": 0.01},
        "template": "plotly_white",
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 70, "b": 50},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "xaxis": {"title": "walk-forward fold", "type": "category"},
        "yaxis": {"title": "inner score"},
        "hovermode": "closest",
    }
    return go.Figure(traces, layout)
