"""Torch after numba's parallel feature kernels, in one process: does OpenMP spinning slow it?

alphalab sets ``OMP_WAIT_POLICY=PASSIVE`` at import (a value the user set wins). This script
runs the same probe in two fresh processes, one with alphalab's default and one with
``OMP_WAIT_POLICY=ACTIVE`` (OpenMP's spinning behaviour, what the process had before), and
reports the CPU and wall time of one LSTM(5->8)+Adam training step on a 180-step sequence,
before and after a parallel rolling z-score pass over a 2,000 x 500 panel.

Run: ``python benchmarks/omp_coexistence.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = r"""
import json, time
import numpy as np
import alphalab  # sets the default wait policy before numba / torch start OpenMP
from alphalab.features.rolling import rolling_zscore
import torch

torch.manual_seed(0)
torch.set_num_threads(1)

def step_ms(n=40):
    lstm = torch.nn.LSTM(5, 8, batch_first=True)
    head = torch.nn.Linear(8, 1)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()))
    x, y = torch.randn(1, 180, 5), torch.randn(1, 180, 1)
    c, w = time.process_time(), time.perf_counter()
    for _ in range(n):
        opt.zero_grad()
        out, _ = lstm(x)
        ((head(out) - y) ** 2).mean().backward()
        opt.step()
    return (time.process_time() - c) / n * 1e3, (time.perf_counter() - w) / n * 1e3

before = step_ms()
rolling_zscore(np.random.default_rng(0).standard_normal((2000, 500)), 60)
after = step_ms()
print(json.dumps({"before": before, "after": after}))
"""


def probe(policy: str | None) -> dict[str, list[float]]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print("| OMP_WAIT_POLICY | torch step before (CPU / wall ms) | after a numba parallel pass | "
          "CPU ratio after / before |")
    print("|---|---|---|---|")
    for label, policy in (("alphalab default (PASSIVE)", None), ("ACTIVE (spinning)", "ACTIVE")):
        r = probe(policy)
        (bc, bw), (ac, aw) = r["before"], r["after"]
        print(f"| {label} | {bc:.2f} / {bw:.2f} | {ac:.2f} / {aw:.2f} | {ac / bc:.1f}x |")


if __name__ == "__main__":
    main()
