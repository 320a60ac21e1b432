"""The report of a validated run: verdict at the top, holdout looks, overfitting,
walk-forward folds and tuning trials, data caveats; malformed JSON never breaks it."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from alphalab.report import read_run, write_report
from alphalab.report.html import render_html
from alphalab.report.tables import data_validation_section, esc
from alphalab.report.validation import (
    cpcv_table,
    fig_trials,
    holdout_sentence,
    overfitting_table,
    trials_table,
    verdict_block,
    walkforward_section,
)


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


@pytest.fixture(scope="module")
def dev_page(validated_runs: dict[str, Path]) -> str:
    return render_html(read_run(validated_runs["dev"]))


@pytest.fixture(scope="module")
def holdout_page(validated_runs: dict[str, Path]) -> str:
    return render_html(read_run(validated_runs["holdout"]))


def test_verdict_is_the_first_section_with_a_badge_and_reasons_per_strategy(
    dev_page: str, holdout_page: str, validated_runs: dict[str, Path]
) -> None:
    for page, key in ((dev_page, "dev"), (holdout_page, "holdout")):
        gates = json.loads((validated_runs[key] / "gates.json").read_text())
        main = page[page.index("<main>") :]
        assert main.startswith('<main><section id="gates"><h2>Verdict')
        assert main.index('id="gates"') < main.index('id="run"') < main.index('id="metrics"')
        section = _section(page, "gates")
        for name, entry in gates["strategies"].items():
            cls = "pass" if entry["status"] == "PASS" else "fail"
            assert (
                f'<b>{esc(name)}</b> <span class="badge {cls}">{entry["status"]}</span>' in section
            )
            for reason in entry["reasons"]:
                assert f"<li>{esc(reason)}</li>" in section
    # On the holdout the tuned momentum fails and the baselines mostly pass: both show.
    holdout = json.loads((validated_runs["holdout"] / "gates.json").read_text())
    assert {v["status"] for v in holdout["strategies"].values()} == {"PASS", "REJECTED"}


def test_header_sums_up_the_verdict(holdout_page: str, validated_runs: dict[str, Path]) -> None:
    gates = json.loads((validated_runs["holdout"] / "gates.json").read_text())
    statuses = [v["status"] for v in gates["strategies"].values()]
    header = holdout_page[holdout_page.index("<header>") : holdout_page.index("</header>")]
    n_pass = statuses.count("PASS")
    want = f"verdict on the holdout span: {n_pass} PASS, {len(statuses) - n_pass} REJECTED"
    assert want in header


def test_scope_and_holdout_looks(dev_page: str, holdout_page: str) -> None:
    dev = _section(dev_page, "gates")
    assert "Scope: <b>development</b>" in dev and "Sealed holdout: not opened." in dev
    assert '<p class="holdout pass">' in dev
    ho = _section(holdout_page, "gates")
    assert "Scope: <b>holdout</b>" in ho
    assert "Sealed holdout: evaluated 2 times by 1 distinct config (first " in ho
    assert '<p class="holdout warn">' in ho


@pytest.mark.parametrize(
    ("looks", "cls", "text"),
    [
        ({"n_evaluations": 0, "n_configs": 0, "first": None, "last": None}, "pass", "not opened"),
        ({"n_evaluations": 1, "n_configs": 1, "first": "a", "last": "a"}, "pass", "once by 1"),
        ({"n_evaluations": 20, "n_configs": 1, "first": "a", "last": "b"}, "fail", "20 times"),
        ({"n_evaluations": 2, "n_configs": 2, "first": "a", "last": "b"}, "fail", "2 distinct"),
        ({"n_evaluations": float("nan")}, "pass", "not opened"),
        ("garbage", "warn", "no record"),
        (None, "warn", "no record"),
    ],
)
def test_holdout_sentence_grades_peeking(looks: object, cls: str, text: str) -> None:
    sentence, got = holdout_sentence(looks)
    assert got == cls and text in sentence


def test_twenty_peeks_are_shouted(validated_runs: dict[str, Path], tmp_path: Path) -> None:
    d = Path(shutil.copytree(validated_runs["holdout"], tmp_path / "run"))
    gates = json.loads((d / "gates.json").read_text())
    gates["holdout_looks"].update(n_evaluations=20, n_configs=7)
    (d / "gates.json").write_text(json.dumps(gates))
    section = _section(write_report(d, charts=False).read_text(), "gates")
    assert '<p class="holdout fail">' in section
    assert "evaluated 20 times by 7 distinct configs" in section


def test_overfitting_table_shows_the_numbers_of_validation_json(
    dev_page: str, validated_runs: dict[str, Path]
) -> None:
    summary = json.loads((validated_runs["dev"] / "validation.json").read_text())
    section = _section(dev_page, "overfitting")
    for name, s in summary.items():
        o = s["overfitting"]
        row = section[section.index(f'<th class="rowh">{esc(name)}</th>') :]
        row = row[: row.index("</tr>")]
        assert f">{o['n_trials']:,}<" in row
        assert f">{o['dsr']:.3f}<" in row
        if o.get("pbo") is not None:
            assert f">{o['pbo']:.3f}<" in row and f">{o['pbo_splits']:,}<" in row
            assert f">{o['min_backtest_years']:.2f}<" in row
    assert summary["momentum"]["overfitting"]["n_trials"] > 1  # tuning trials are counted


def test_cpcv_distribution_is_shown_when_present(
    dev_page: str, validated_runs: dict[str, Path]
) -> None:
    summary = json.loads((validated_runs["dev"] / "validation.json").read_text())
    with_cpcv = {n: s["cpcv"] for n, s in summary.items() if isinstance(s.get("cpcv"), dict)}
    section = _section(dev_page, "overfitting")
    if not with_cpcv:
        assert "Combinatorial purged" not in section
    for name, c in with_cpcv.items():
        row = section[section.index(f'<th class="rowh">{esc(name)}</th>', section.index("cpcv")) :]
        row = row[: row.index("</tr>")]
        assert f">{c['n_splits']:,}<" in row and f">{c['sharpe_p50']:.2f}<" in row
    assert cpcv_table({"m": {"cpcv": None}}) == ""
    html = cpcv_table({"m": {"cpcv": {"n_splits": 15, "sharpe_p05": 0.1, "share_positive": 0.8}}})
    assert ">15<" in html and ">0.10<" in html and ">80%<" in html


def test_walkforward_folds_and_trials(dev_page: str, validated_runs: dict[str, Path]) -> None:
    summary = json.loads((validated_runs["dev"] / "validation.json").read_text())
    section = _section(dev_page, "walkforward")
    mom = summary["momentum"]
    assert "<th>momentum: chosen params</th>" in section
    assert "inverse_vol: chosen" not in section  # fixed params are not "chosen"
    for fold in mom["folds"]:
        assert f"{fold['train_start']} to {fold['train_end']} ({fold['n_train']:,} bars)" in section
        assert f"{fold['test_start']} to {fold['test_end']}" in section
    assert f"Tuning trials: momentum ({len(mom['trials'])} trials)" in section
    lookbacks = {t["params"]["lookback"] for t in mom["trials"]}
    for lb in lookbacks:
        assert f"<th>lookback={lb}</th>" in section
    # one highlighted (chosen) cell per fold
    assert section.count('class="num best"') == len(mom["folds"])
    assert 'id="chart-trials-3"' in section


def test_trials_chart_has_a_line_per_candidate_and_stars_the_chosen(
    validated_runs: dict[str, Path],
) -> None:
    mom = json.loads((validated_runs["dev"] / "validation.json").read_text())["momentum"]
    fig = fig_trials("momentum", mom)
    assert fig is not None
    n_sets = len({t["params"]["lookback"] for t in mom["trials"]})
    assert len(fig.data) == n_sets + 1 and fig.data[-1].name == "chosen"
    assert len(fig.data[-1].x) == len(mom["folds"])
    best = {f["fold"]: f["params"] for f in mom["folds"]}
    by_fold = {(t["fold"], t["params"]["lookback"]): t["score"] for t in mom["trials"]}
    for x, y in zip(fig.data[-1].x, fig.data[-1].y, strict=True):
        assert y == pytest.approx(by_fold[(int(x), best[int(x)]["lookback"])])
    assert fig_trials("eq", {"trials": []}) is None


def test_many_parameter_sets_fall_back_to_a_long_table() -> None:
    trials = [{"fold": f, "trial": t, "params": {"a": t}, "score": t / 10}
              for f in range(3) for t in range(20)]  # fmt: skip
    html = trials_table("big", {"trials": trials, "folds": []})
    assert "<th>params</th>" in html and html.count("<tr>") == 61
    fig = fig_trials("big", {"trials": trials, "folds": []})
    assert fig is not None and fig.data[0].mode == "markers"


def test_data_section_shows_rows_dropped_by_rule(
    dev_page: str, validated_runs: dict[str, Path]
) -> None:
    manifest = json.loads((validated_runs["dev"] / "manifest.json").read_text())
    dv = manifest["data_validation"]
    assert dv["n_dropped"] > 0  # the HOSE file has known OHLC faults
    section = _section(dev_page, "data")
    assert f"{dv['n_dropped']:,} dropped</span>" in section
    for rule, n in dv["errors"].items():
        assert f"<td>dropped</td><td>{rule}</td><td>{n:,}</td>" in section
    # The VN-Index file has faults of its own: they are shown under Benchmark.
    bv = manifest["benchmark_validation"]
    assert bv["n_dropped"] > 0
    bench = section[section.index("<h3>Benchmark</h3>") :]
    assert f"{bv['n_dropped']:,} dropped</span>" in bench
    for rule, n in bv["errors"].items():
        assert f"<td>dropped</td><td>{rule}</td><td>{n:,}</td>" in bench
    assert data_validation_section(None).startswith('<p class="muted">')


def test_plain_run_keeps_working(run_dir: Path, tmp_path: Path) -> None:
    page = render_html(read_run(run_dir))
    assert 'id="overfitting"' not in page and 'id="walkforward"' not in page
    # the fixture's flat gates.json (no scope) still gives the verdict at the top
    assert page[page.index("<main>") :].startswith('<main><section id="gates">')
    assert "Sealed holdout" not in page
    d = Path(shutil.copytree(run_dir, tmp_path / "run"))
    (d / "gates.json").unlink()
    plain = render_html(read_run(d))
    main = plain[plain.index("<main>") :]
    assert main.startswith('<main><section id="caveat"><p class="holdout warn">Not validated')
    assert 'href="#gates"' not in plain and 'href="#gates"' in page


def test_high_pbo_is_marked() -> None:
    html = overfitting_table({"m": {"overfitting": {"pbo": 0.8, "pbo_splits": 70, "dsr": 0.2}}})
    assert '<td class="num bad">0.800</td>' in html
    html = overfitting_table({"m": {"overfitting": {"pbo": 0.1}}})
    assert "bad" not in html.split("<p")[0]


HOSTILE_JSON = [
    [],
    "text",
    {"momentum": "x"},
    {"momentum": {"folds": "x", "trials": [1, None, {"fold": None, "params": [1], "score": "a"}]}},
    {"m": {"overfitting": {"dsr": math.nan, "pbo": math.inf, "n_trials": -1}, "span": ["x"]}},
    {"<b>x</b>": {"folds": [{"fold": "<i>", "params": {"<k>": "<v>"}}],
                  "trials": [{"fold": "<i>", "params": {"<k>": "<v>"}, "score": 1.0}]}},
]  # fmt: skip


@pytest.mark.parametrize("validation", HOSTILE_JSON)
def test_malformed_validation_json_renders(validation: object) -> None:
    html = overfitting_table(validation) + walkforward_section(validation)
    if isinstance(validation, dict):
        for name, s in validation.items():
            if isinstance(s, dict):
                html += trials_table(name, s)
                fig_trials(name, s)
    assert "<b>x</b>" not in html and "<i>" not in html and "<k>" not in html


@pytest.mark.parametrize(
    "gates",
    [[], "x", {"strategies": []}, {"strategies": {"a": {"status": 3}}}, {"scope": None},
     {"strategies": {"<s>": {"status": "PASS", "reasons": "<r>", "checks": [1, {"value": "v"}]}},
      "holdout_looks": {"n_evaluations": "many"}, "scope": "<x>"}],
)  # fmt: skip
def test_malformed_gates_json_renders(gates: object) -> None:
    html = verdict_block(gates)
    assert "<s>" not in html and "<r>" not in html and "<x>" not in html


def test_malformed_files_in_a_run_dir_still_render(
    validated_runs: dict[str, Path], tmp_path: Path
) -> None:
    d = Path(shutil.copytree(validated_runs["dev"], tmp_path / "run"))
    (d / "validation.json").write_text('{"momentum": {"folds": 3, "trials": "none"}}')
    (d / "gates.json").write_text('["not", "a", "mapping"]')
    page = write_report(d, charts=False).read_text()
    assert 'id="walkforward"' in page and 'id="gates"' in page


def test_pbo_candidates_not_rerun_are_shown() -> None:
    cut = {"n_candidates": 30, "n_rerun": 24, "n_not_rerun": 6, "max_candidates": 24,
           "complete": False}  # fmt: skip
    html = overfitting_table({"m": {"overfitting": {"pbo": 0.2, "pbo_candidates": cut}}})
    assert '<td class="num bad">24 of 30 (6 not re-run)</td>' in html
    full = {**cut, "n_candidates": 4, "n_rerun": 4, "n_not_rerun": 0, "complete": True}
    html = overfitting_table({"m": {"overfitting": {"pbo": 0.2, "pbo_candidates": full}}})
    assert '<td class="num">4 of 4</td>' in html
    assert '<td class="num">n/a</td>' in overfitting_table({"m": {"overfitting": {"pbo": None}}})
