"""Data-store scale benchmark: import and load times and peak memory.

Each measurement runs in a fresh subprocess so that peak memory
(``ru_maxrss``) belongs to that step alone and the page cache, not the Python
heap, is all that carries over. Cases:

* ``cn_ashare_sample_2017_2023`` from ../shared/data (1.1 M rows, 11 columns);
* a synthetic 3,000 dates x 5,000 tickers panel of five float fields
  (15 M rows), built in the importing process.

Usage::

    .venv/bin/python benchmarks/data_scale.py [--repeat 3] [--json out.json]

Prints a Markdown table (the one in BENCHMARKS.md, section "Data").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALPHALAB_SHARED_DATA", REPO.parent / "shared" / "data"))

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np, pandas as pd
    from alphalab.data.store import Store

    step, root, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    store = Store(root)
    out = {}
    if step == "import_file":
        t = time.perf_counter()
        info = store.import_file(arg, "ds", replace=True)
        out["seconds"] = time.perf_counter() - t
        out["rows"] = info.n_rows
    elif step == "import_synthetic":
        n_d, n_a = (int(x) for x in arg.split("x"))
        rng = np.random.default_rng(0)
        dates = pd.bdate_range("2000-01-03", periods=n_d)
        tick = np.array([f"T{i:05d}" for i in range(n_a)], dtype=object)
        df = pd.DataFrame({"date": np.tile(dates.to_numpy(), n_a), "ticker": np.repeat(tick, n_d)})
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_a, n_d)), axis=1)).ravel()
        df["open"] = close * (1 + rng.normal(0, 0.005, close.size))
        df["high"] = np.maximum(df["open"], close) * 1.01
        df["low"] = np.minimum(df["open"], close) * 0.99
        df["close"] = close
        df["volume"] = rng.integers(1_000, 1_000_000, close.size).astype(np.float64)
        t = time.perf_counter()
        info = store.write(df, "ds", replace=True)
        out["seconds"] = time.perf_counter() - t
        out["rows"] = info.n_rows
    elif step == "load":
        fields = None if arg == "all" else arg.split(",")
        times = []
        for _ in range(int(sys.argv[4])):
            t = time.perf_counter()
            panel = store.load("ds", fields)
            times.append(time.perf_counter() - t)
            shape = panel.shape
            del panel
        out["seconds"] = times[0]
        out["best"] = min(times)
        out["shape"] = list(shape)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    """
)


def _run(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    res = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def _baseline_mb() -> float:
    code = "import resource, numpy, pandas, pyarrow, duckdb, alphalab.data.store; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="loads per load step (first and best reported)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--shape", default="3000x5000", help="synthetic panel dates x tickers")
    opts = ap.parse_args()

    rows = []
    base = _baseline_mb()
    with tempfile.TemporaryDirectory() as tmp:
        cn = SHARED / "cn_ashare_sample_2017_2023.parquet"
        root = str(Path(tmp) / "cn")
        imp = _run("import_file", root, str(cn))
        load = _run("load", root, "all", str(opts.repeat))
        rows.append(("cn_ashare_sample_2017_2023 (all 8 numeric fields)", imp, load))
        root = str(Path(tmp) / "syn")
        imp = _run("import_synthetic", root, opts.shape)
        load = _run("load", root, "all", str(opts.repeat))
        rows.append((f"synthetic {opts.shape} x 5 fields", imp, load))
        size = {r[0]: sum(f.stat().st_size for f in (Path(tmp) / k / "datasets").rglob("*.parquet"))
                for r, k in zip(rows, ("cn", "syn"), strict=True)}

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; baseline process (imports only) {base:.0f} MB")
    print("| dataset | rows | store file | import s | import peak MB | load s (first / best) | load peak MB | panel |")
    print("|---|---|---|---|---|---|---|---|")
    for name, imp, load in rows:
        print(
            f"| {name} | {imp['rows']:,} | {size[name] / 1e6:.0f} MB | {imp['seconds']:.2f} | "
            f"{imp['peak_mb']:.0f} | {load['seconds']:.2f} / {load['best']:.2f} | "
            f"{load['peak_mb']:.0f} | {load['shape'][0]} x {load['shape'][1]} |"
        )
    if opts.json:
        opts.json.write_text(json.dumps({"baseline_mb": base, "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
