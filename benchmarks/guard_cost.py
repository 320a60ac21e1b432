"""Cost of the study-time leakage guard on the example studies.

Runs each example study once (charts, HTML and health off) and reports the guard's
share of the run: ``timings.guard / timings.total`` from the run's own manifest (the
guard and the study run in the same process, so the ratio is machine-independent to
first order), with how many decision dates the default budget reached.

    PYTHONPATH=src python benchmarks/guard_cost.py [study.yaml ...]
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

from alphalab.study import Study

EXAMPLES = ["us_sp500_5yr.yaml", "vn30_hose.yaml", "hose_walkforward.yaml"]


def main(names: list[str]) -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            study = Study.from_yaml(root / name)
            cfg = study.config.model_dump(mode="json")
            cfg["report"] = {"charts": False, "html": False, "health": False}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = Study.from_dict(cfg, base_dir=root).run(out=Path(tmp) / name, progress=False)
            t = res.manifest["timings"]
            g = res.manifest["guard"]
            checked = sum(s["n_checked"] for s in g["strategies"].values())
            dates = sum(s["n_dates"] for s in g["strategies"].values())
            print(
                f"{name:24s} total {t['total']:7.2f}s  guard {t['guard']:6.2f}s "
                f"({t['guard'] / t['total']:.0%})  checked {checked}/{dates} decision dates"
            )


if __name__ == "__main__":
    main(sys.argv[1:] or EXAMPLES)
