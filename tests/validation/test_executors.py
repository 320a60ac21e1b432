"""Executors: thread limits reach a worker before numpy / numba load, jobs x threads fit
the cores, and torch gets the recorded seed, determinism and thread limit."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from alphalab.validation.executors import (
    THREAD_VARS,
    ProcessExecutor,
    make_executor,
    plan_jobs,
)


def _probe(shared: Any, item: int) -> dict[str, Any]:
    """What a worker's numeric libraries run with."""
    import numba
    from threadpoolctl import threadpool_info

    return {
        "env": {k: os.environ.get(k) for k in THREAD_VARS},
        # NUMBA_NUM_THREADS is read once, when numba is imported: a value here equal
        # to the limit proves the limit was in the environment before that import.
        "numba_max": numba.config.NUMBA_NUM_THREADS,
        "numba_now": numba.get_num_threads(),
        "blas": sorted({int(p["num_threads"]) for p in threadpool_info()}),
        "item": item,
    }


def test_workers_start_with_the_thread_limits() -> None:
    before = {k: os.environ.get(k) for k in THREAD_VARS}
    out = ProcessExecutor(2, threads=1).map(_probe, None, [0, 1])
    assert [o["item"] for o in out] == [0, 1]
    for o in out:
        assert set(o["env"].values()) == {"1"}
        assert o["numba_max"] == 1 and o["numba_now"] == 1
        assert o["blas"] in ([], [1])
    # The parent's environment is left as it was.
    assert {k: os.environ.get(k) for k in THREAD_VARS} == before


def test_jobs_times_threads_never_exceed_cores() -> None:
    assert plan_jobs(None, 1, cores=8) == 8
    assert plan_jobs(None, 3, cores=8) == 2
    assert plan_jobs(4, 2, cores=8) == 4
    with pytest.warns(RuntimeWarning, match="8 jobs x 2 thread"):
        assert plan_jobs(8, 2, cores=8) == 4
    assert plan_jobs(None, 4, cores=2) == 1
    ex = make_executor("process", threads=2)
    assert ex.n_jobs * ex.threads <= max(os.cpu_count() or 1, 2)


@pytest.mark.slow  # importing torch in a fresh interpreter takes ~20 s on the shared 2-core box
def test_torch_gets_the_recorded_seed_determinism_and_threads() -> None:
    code = (
        "import sys\n"
        "from alphalab.validation.executors import seed_everything, torch_seed_and_threads\n"
        "seed_everything(123)\n"
        "assert 'torch' not in sys.modules, 'seed_everything imported torch'\n"
        "torch = torch_seed_and_threads(threads=1)\n"
        "a = torch.rand(4).tolist()\n"
        "torch.manual_seed(123)\n"
        "b = torch.rand(4).tolist()\n"
        "assert a == b, (a, b)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.get_num_threads() == 1\n"
        "seed_everything(9)\n"  # torch loaded now: seeded at once
        "c = torch.rand(2).tolist(); torch.manual_seed(9)\n"
        "assert c == torch.rand(2).tolist()\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]
