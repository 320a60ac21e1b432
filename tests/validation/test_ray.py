"""The same walk-forward on a Ray cluster (a local head started by this test) gives
bit-identical results to local execution."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray

from alphalab.validation.executors import RayExecutor, SerialExecutor
from alphalab.validation.splits import WalkForward
from alphalab.validation.tuning import TuneSpec
from alphalab.validation.walkforward import run_walk_forward
from tests.validation.test_walkforward import ENGINE, ScaledMomentum, vn_panel  # noqa: F401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists():
        ray_cli = Path(shutil.which("ray") or "ray")
    port = _free_port()
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    tmp = tmp_path_factory.mktemp("ray")
    subprocess.run(
        [str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", f"--temp-dir={tmp}", "--disable-usage-stats"],
        check=True, env=env, capture_output=True, timeout=180,
    )
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([str(ray_cli), "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_ray_cluster_matches_local(ray_head: str, vn_panel) -> None:  # noqa: F811
    wf = WalkForward(train="2y", test="1y")
    tune = TuneSpec(grid={"lookback": [10, 40]}, inner="6m")
    local = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, tune=tune, seed=11,
                             executor=SerialExecutor())
    remote = run_walk_forward(ScaledMomentum(), vn_panel, wf, ENGINE, tune=tune, seed=11,
                              executor=RayExecutor(address=ray_head))
    assert np.array_equal(local.weights, remote.weights, equal_nan=True)
    assert local.backtest.equity.equals(remote.backtest.equity)
    assert local.trials == remote.trials
