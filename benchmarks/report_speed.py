"""Speed and size of the report on the demo study over its full history.

Runs the packaged demo study (7 baselines on skfolio's 20 S&P 500 stocks) from
1990 instead of 2010, so about 8,000 daily bars x 20 assets x 7 strategies,
without its own report, then times ``write_charts`` and ``write_html`` on the
run directory (wall and CPU seconds, best of ``--repeat``) and prints the size
of report.html. Last line: ``report_seconds=<charts + html, best wall>``.
With ``--validated`` it also runs examples/hose_walkforward.yaml (walk-forward,
tuning, gates; holdout sealed) and times the HTML of that validated run.

Usage::

    .venv/bin/python benchmarks/report_speed.py [--repeat 3] [--run-dir DIR] [--validated]

``--run-dir`` reuses a run directory (skips the study run).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml

from alphalab.report import read_run
from alphalab.report.charts import write_charts
from alphalab.report.html import write_html
from alphalab.study import Study


def _demo_run(out: Path) -> Path:
    path = Path(str(resources.files("alphalab") / "examples" / "demo.yaml"))
    study = yaml.safe_load(path.read_text())
    study["data"]["start"] = "1990-01-01"
    study["data"].pop("end", None)
    study["report"] = {**study.get("report", {}), "charts": False, "html": False}
    Study.from_dict(study, base_dir=path.parent).run(out=out, progress=False)
    return out


def _validated_run(out: Path) -> Path:
    import os

    path = Path(__file__).resolve().parents[1] / "examples" / "hose_walkforward.yaml"
    study = yaml.safe_load(path.read_text())
    study["report"] = {**study.get("report", {}), "charts": False, "html": False}
    os.environ["ALPHALAB_HOME"] = str(out.parent / "home")  # a private holdout ledger
    Study.from_dict(study, base_dir=path.parent).run(out=out, progress=False)
    return out


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--validated", action="store_true", help="also time a validated run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.run_dir is None:
            t0 = time.perf_counter()
            run_dir = _demo_run(Path(tmp) / "demo-full")
            print(f"study run: {time.perf_counter() - t0:.1f} s")
        else:
            run_dir = args.run_dir
        run = read_run(run_dir)
        n_assets = max((w.shape[1] for w in run.weights.values()), default=0)
        print(
            f"run: {len(run.strategies)} strategies x {n_assets} assets x "
            f"{len(run.returns):,} bars ({run.returns.index[0]:%Y-%m-%d} .. "
            f"{run.returns.index[-1]:%Y-%m-%d})"
        )
        # Warm the imports and font cache once; the timed repeats are steady state.
        write_charts(run, Path(tmp) / "charts")
        charts = _best(lambda: write_charts(run, Path(tmp) / "charts"), args.repeat)
        out = Path(tmp) / "report.html"
        html = _best(lambda: write_html(run, out), args.repeat)
        print(f"{'step':<10}{'wall s':>9}{'cpu s':>9}")
        print(f"{'charts':<10}{charts[0]:>9.2f}{charts[1]:>9.2f}")
        print(f"{'html':<10}{html[0]:>9.2f}{html[1]:>9.2f}")
        print(f"report.html: {out.stat().st_size / 1e6:.2f} MB")
        if args.validated:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the HOSE file's known, counted faults
                vrun = read_run(_validated_run(Path(tmp) / "hose-validated"))
            vout = Path(tmp) / "validated.html"
            vhtml = _best(lambda: write_html(vrun, vout), args.repeat)
            print(f"{'html (validated HOSE run)':<26}{vhtml[0]:>9.2f}{vhtml[1]:>9.2f}")
            print(f"validated report.html: {vout.stat().st_size / 1e6:.2f} MB")
        print(f"report_seconds={charts[0] + html[0]:.2f}")


if __name__ == "__main__":
    main()
