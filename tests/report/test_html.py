"""report.html content: formatting, highlighting, escaping, self-containment, size."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alphalab.errors import DataError
from alphalab.report import read_run, write_report
from alphalab.report.figures import (
    MAX_POINTS,
    fig_drawdown,
    fig_equity,
    fig_rolling_sharpe,
    fig_weights,
)
from alphalab.report.html import render_html, write_html
from alphalab.report.tables import (
    esc,
    format_metric,
    header_table,
    metric_direction,
    metric_kind,
    metrics_table,
    rejected_table,
    render_obj,
    trades_table,
)
from tests.report.conftest import HOSTILE


@pytest.fixture(scope="module")
def page(run_dir: Path) -> str:
    return render_html(read_run(run_dir))


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("cagr", 0.16987, "16.99%"),
        ("max_drawdown", -0.173, "-17.30%"),
        ("volatility", 0.1327, "13.27%"),
        ("sharpe", 1.24908, "1.25"),
        ("information_ratio", -0.091, "-0.09"),
        ("max_drawdown_duration", 273.0, "273"),
        ("n_periods", 1259.0, "1,259"),
        ("cost_drag", None, "n/a"),
        ("sharpe", float("nan"), "n/a"),
        ("my_win_rate", 0.5, "50.00%"),
        ("omega", 1.5, "1.50"),
        ("n_trades", 12.0, "12"),
    ],
)
def test_format_metric(name: str, value: object, text: str) -> None:
    assert format_metric(name, value) == text


def test_metric_kind_and_direction() -> None:
    assert metric_kind("total_return") == "pct" and metric_direction("total_return") == 1
    assert metric_direction("volatility") == -1
    assert metric_direction("max_drawdown") == 2  # closest to zero, whatever the sign
    assert metric_direction("beta") == 0
    assert metric_direction("ulcer_drawdown") == 2
    assert metric_direction("annual_cost") == -1


def test_best_value_per_row_highlighted(run_dir: Path) -> None:
    run = read_run(run_dir)
    html = metrics_table(run)
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<tr><th class="rowh">([^<]+)</th>(.*?)</tr>', html)
    }
    cols = [*run.strategies, "benchmark"]

    def best_cols(metric: str) -> list[str]:
        cells = re.findall(r'<td class="num ([^"]*)">', rows[metric])
        return [c for c, cls in zip(cols, cells, strict=True) if "best" in cls.split()]

    sharpe = {s: run.metrics[s]["sharpe"] for s in run.strategies}
    assert best_cols("sharpe") == [max(sharpe, key=sharpe.get)]
    vol = {s: run.metrics[s]["volatility"] for s in run.strategies}
    assert best_cols("volatility") == [min(vol, key=vol.get)]
    mdd = {s: run.metrics[s]["max_drawdown"] for s in run.strategies}
    assert best_cols("max_drawdown") == [max(mdd, key=mdd.get)]
    assert best_cols("beta") == [] and best_cols("n_periods") == []
    # The benchmark is never "best", even where it beats every strategy.
    assert all("benchmark" not in best_cols(m) for m in rows)


def test_page_has_provenance_and_sections(page: str, run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "<title>sp500-report-fixture | alphalab report</title>" in page
    assert manifest["config_hash"] in page and manifest["data_hash"] in page
    assert "2013-02-08 to 2018-02-07 (1,259 bars)" in page
    assert "commission_bps: 5, slippage_bps: 5" in page
    assert f"pandas {manifest['versions']['pandas']}" in page
    for anchor in ("gates", "health", "metrics", "performance", "monthly", "weights", "trades",
                   "rejected", "costs", "config"):  # fmt: skip
        assert f'<section id="{anchor}">' in page
    for div in ("chart-equity", "chart-drawdown", "chart-rolling-sharpe", "chart-returns",
                "chart-monthly", "chart-weights"):  # fmt: skip
        assert f'id="{div}"' in page


def test_gates_section_shows_each_verdict(page: str, run_dir: Path) -> None:
    gates = json.loads((run_dir / "gates.json").read_text())
    section = page[page.index('<section id="gates">') : page.index('<section id="run">')]
    for name, verdict in gates.items():
        cls = "pass" if verdict["status"] == "PASS" else "fail"
        badge = f'<span class="badge {cls}">{verdict["status"]}</span>'
        assert (
            f'<div class="card {cls}"><div class="card-head"><b>{esc(name)}</b> {badge}' in section
        )
        for reason in verdict["reasons"]:
            assert f"<li>{esc(reason)}</li>" in section
    # The real gates on real data give both outcomes here (a sanity check on the fixture).
    assert {v["status"] for v in gates.values()} == {"PASS", "REJECTED"}


def test_health_section(page: str, run_dir: Path) -> None:
    health = json.loads((run_dir / "health.json").read_text())
    section = page[page.index('<section id="health">') : page.index('<section id="metrics">')]
    assert f">{health['status'].upper()}</span>" in section
    for kind, count in health["counts"].items():
        assert f"<td>{kind}</td><td>{count:,}</td>" in section
    assert f"{len(health['issues'])} of {health['n_issues']} issues" in section
    assert "LNT" in section  # the known bad print of 2016-05-19 is listed


def test_gates_and_health_sections_absent_without_files(run_dir: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    (d / "gates.json").unlink()
    (d / "health.json").unlink()
    html = render_html(read_run(d))
    assert 'id="gates"' not in html and 'id="health"' not in html


def test_hostile_names_are_escaped(page: str) -> None:
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Only our own two script tags exist: plotly.js and the figures.
    assert page.count("<script") == 2
    # Inside the figure JSON the (escaped) name carries no raw '<' either.
    figures = page[page.rindex("<script") :]
    assert "alert(1)" in figures and "<script>alert" not in figures


def test_hostile_config_and_manifest_escaped(run_dir: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["study"] = '"><img src=x onerror=alert(2)>'
    manifest["note"] = {"x": "</table><script>alert(3)</script>"}
    (d / "manifest.json").write_text(json.dumps(manifest))
    (d / "config.yaml").write_text("name: x\n# </pre><script>alert(4)</script>\n")
    html = render_html(read_run(d))
    for needle in ("<img src=x", "<script>alert(3)", "<script>alert(4)"):
        assert needle not in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in html


def test_self_contained(page: str) -> None:
    # No external resources: no script src, no stylesheet link, no url() or @import in CSS.
    assert not re.search(r"<script[^>]+src=", page)
    assert "<link" not in page
    css = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in css and "@import" not in css
    # plotly.js is inlined exactly once.
    assert page.count("Plotly.newPlot(") == 1
    assert len(re.findall(r"plotly\.js v\d+\.\d+\.\d+", page[:5000])) == 1


def test_write_report_html_and_charts_switches(run_dir: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    out = write_report(d, charts=False)
    assert out == d / "report.html" and out.stat().st_size > 4_000_000
    assert not (d / "charts").exists()
    out.unlink()
    assert write_report(d, html=False, charts=False) == d and not out.exists()


def test_traces_are_thinned(big_run_dir: Path) -> None:
    run = read_run(big_run_dir)
    for fig in (fig_equity(run), fig_drawdown(run)):
        assert len(fig.data) == 8
        for trace in fig.data:
            assert 1000 < len(trace.x) <= MAX_POINTS
    # Thinning keeps each drawdown's trough.
    dd = fig_drawdown(run)
    for trace in dd.data:
        full = run.equity[trace.name]
        assert np.min(trace.y) == pytest.approx((full / full.cummax() - 1).min())
    weights = fig_weights(run)
    assert all(len(t.x) <= 500 for t in weights.data)
    assert sum(t.visible for t in weights.data) in (11, 22)


def test_report_size_for_large_run(big_run_dir: Path, tmp_path: Path) -> None:
    run = replace(read_run(big_run_dir), path=tmp_path)
    out = write_html(run, tmp_path / "report.html")
    size_mb = out.stat().st_size / 1e6
    assert size_mb < 10.0, f"report.html is {size_mb:.1f} MB for 7 strategies x 8,000 days"


def test_config_title_and_rolling_window(run_dir: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    with (d / "config.yaml").open("a") as fh:
        fh.write("report: {title: 'Momentum <b>study</b>', rolling_window: 63}\n")
    run = read_run(d)
    assert run.title == "Momentum <b>study</b>" and run.rolling_window == 63
    fig = fig_rolling_sharpe(run)
    assert fig.layout.title.text.startswith("Rolling Sharpe ratio (63-bar window")
    # Lines start at the first full 63-bar window (NaN before it is dropped).
    assert {t.x[0] for t in fig.data} == {run.returns.index[62].strftime("%Y-%m-%d")}
    html = render_html(run)
    assert "<h1>Momentum &lt;b&gt;study&lt;/b&gt;</h1>" in html
    assert "of study sp500-report-fixture" in html


def test_bad_config_yaml_is_named(run_dir: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    (d / "config.yaml").write_text("name: x\nexecution: {at: [\n")
    with pytest.raises(DataError, match=r"config\.yaml: line 3, column 1: YAML syntax error"):
        read_run(d)


def test_rejected_table_follows_strategy_order(run_dir: Path) -> None:
    run = read_run(run_dir)
    html = rejected_table(run.rejected, run.strategies)
    header = re.findall(r"<th>([^<]*)</th>", html)
    assert header == ["reason", *(esc(s) for s in run.strategies), "all"]
    counts = run.rejected.groupby("reason").size().sort_values(ascending=False)
    body = re.findall(r"<tr><td>([^<]*)</td>", html)
    assert body == [*counts.index, "total"]
    assert f"<td>{len(run.rejected):,}</td></tr></tbody>" in html


def test_full_manifest_block(run_dir: Path) -> None:
    html = header_table(read_run(run_dir))
    assert "<summary>full manifest (1 more entries)</summary>" in html and "total_s" in html


def test_render_obj_nesting_and_lists() -> None:
    deep: dict = {"v": "<x>"}
    for i in range(10):
        deep = {f"k{i}": deep}
    html = render_obj(deep)
    assert html.count("<table") == 7  # then escaped JSON text
    assert "&lt;x&gt;" in html and "<x>" not in html
    rows = render_obj([{"a": i, "b": True} for i in range(250)])
    assert rows.count("<tr>") == 201 and "... 50 more" in rows and "<td>yes</td>" in rows


def test_trades_table_counts(run_dir: Path) -> None:
    run = read_run(run_dir)
    html = trades_table(run.trades, [*run.strategies, "idle"])
    rows = {
        r[0]: r[1:] for r in (re.findall(r"<td>([^<]*)</td>", tr) for tr in html.split("<tr>")[2:])
    }
    assert list(rows) == [esc(s) for s in run.strategies] + ["idle"]
    for name in run.strategies:
        t = run.trades[run.trades["strategy"] == name]
        n, buys, sells, value = rows[esc(name)][:4]
        assert n == f"{len(t):,}" and buys == f"{int((t['side'] == 'buy').sum()):,}"
        assert sells == f"{int((t['side'] == 'sell').sum()):,}"
        assert value == f"{t['value'].abs().sum():,.0f}"
    assert rows["idle"][:4] == ["0", "0", "0", "0"]
