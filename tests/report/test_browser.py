"""Open report.html in headless Chromium: charts render, no console errors, no script runs.

Debian's chromium is installed by the test set-up (``make browser``); when it
is missing this test FAILS (it must not silently skip the only check that the
page really works in a browser).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alphalab.report import write_report
from tests.report.conftest import HOSTILE

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = ("chart-equity", "chart-drawdown", "chart-rolling-sharpe", "chart-returns",
          "chart-monthly", "chart-weights")  # fmt: skip

_STATE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({
    id: d.id,
    traces: d.data.length,
    visible: d.data.filter(t => t.visible !== false).length,
    svgs: d.querySelectorAll('.main-svg').length,
    drawn: d.querySelectorAll('.scatterlayer .trace path.js-line, .scatterlayer .trace path.js-fill, .heatmaplayer image').length,
    legend: Array.from(d.querySelectorAll('.legendtext')).map(t => t.textContent),
    title: (d.querySelector('.gtitle') || {}).textContent || '',
}))"""


@pytest.fixture(scope="module")
def report(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(shutil.copytree(run_dir, tmp_path_factory.mktemp("browser") / "run"))
    return write_report(d, charts=False)


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail("python playwright is missing: install the test extra (`make install-test`)")

    console: list[tuple[str, str]] = []
    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(CHARTS)}",
                timeout=15_000,
            )
            state = {c["id"]: c for c in page.evaluate(_STATE)}

            # The strategy dropdowns work: pick the 2nd strategy of the weights chart.
            before = page.evaluate(
                "() => document.getElementById('chart-weights').layout.title.text"
            )
            page.locator("#chart-weights .updatemenu-header").click(timeout=5_000)
            page.locator("#chart-weights .updatemenu-dropdown-button").nth(1).click(timeout=5_000)
            page.wait_for_function(
                "t => document.getElementById('chart-weights').layout.title.text !== t",
                arg=before,
                timeout=5_000,
            )
            after = page.evaluate(
                "() => document.getElementById('chart-weights').layout.title.text"
            )

            title = page.title()
            metrics_text = page.inner_text("table.metrics")
            header_text = page.inner_text("header")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert not errors, f"page errors: {errors}"
    bad = [(t, m) for t, m in console if t in ("error", "warning")]
    assert not bad, f"console errors/warnings: {bad}"
    assert not dialogs, f"a dialog opened (injected script ran?): {dialogs}"
    assert requests == [report.as_uri()], f"the page fetched more than itself: {requests}"

    assert sorted(state) == sorted(CHARTS)
    n = 5  # 4 strategies + benchmark
    for cid in ("chart-equity", "chart-drawdown", "chart-rolling-sharpe", "chart-returns"):
        assert state[cid]["svgs"] >= 1 and state[cid]["traces"] == n
        assert state[cid]["drawn"] == n, state[cid]
        assert state[cid]["legend"] == [
            "equal_weight",
            "AAPL only",
            HOSTILE,
            "mom long/short",
            "benchmark",
        ]
    assert state["chart-monthly"]["traces"] == 4 and state["chart-monthly"]["visible"] == 1
    assert state["chart-monthly"]["drawn"] >= 1
    assert state["chart-weights"]["visible"] == 11 and state["chart-weights"]["drawn"] >= 11
    assert state["chart-equity"]["title"].startswith("Equity")
    assert after == "Held weights: AAPL only (top 10 assets by average weight)" != before

    assert title == "sp500-report-fixture | alphalab report"
    assert "alphalab report of study sp500-report-fixture" in header_text
    # The hostile name is shown as text (the browser decoded the entities), never run.
    assert HOSTILE in metrics_text and "sharpe" in metrics_text and "benchmark" in metrics_text
    assert shot.stat().st_size > 100_000


@pytest.fixture(scope="module")
def validated_report(
    validated_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    src = validated_runs["holdout"]
    d = Path(shutil.copytree(src, tmp_path_factory.mktemp("browser_validated") / "run"))
    return write_report(d, charts=False)


def test_validated_report_renders_with_the_verdict_on_top(
    validated_report: Path, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)")
    from playwright import sync_api

    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(validated_report.as_uri(), wait_until="load")
            page.wait_for_function(
                "document.querySelectorAll('#chart-trials-3 .main-svg').length >= 1",
                timeout=15_000,
            )
            state = {c["id"]: c for c in page.evaluate(_STATE)}
            tops = page.evaluate(
                "() => Object.fromEntries(['gates', 'run', 'overfitting', 'walkforward']"
                ".map(id => [id, document.getElementById(id).getBoundingClientRect().top]))"
            )
            verdict_text = page.inner_text("#gates")
            page.screenshot(path=str(tmp_path / "validated.png"))
        finally:
            browser.close()

    assert not problems, problems
    assert requests == [validated_report.as_uri()]
    # Above the fold: the verdict is the first thing under the title, before any table or chart.
    assert 0 < tops["gates"] < tops["run"] < tops["overfitting"] < tops["walkforward"]
    assert tops["gates"] < 250
    assert "PASS" in verdict_text and "REJECTED" in verdict_text
    assert "Sealed holdout: evaluated 2 times by 1 distinct config" in verdict_text
    trials = state["chart-trials-3"]
    assert trials["traces"] == 5 and trials["drawn"] >= 4  # 4 lookbacks + the chosen stars
    assert trials["legend"] == ["lookback=20", "lookback=60", "lookback=120", "lookback=250",
                                "chosen"]  # fmt: skip
    assert (tmp_path / "validated.png").stat().st_size > 50_000
