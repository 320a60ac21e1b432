"""Where folds and trials run: in this process, in local processes, or on a Ray cluster.

Every task is a pure function of ``(shared, item)``; ``shared`` (the panel, the
strategy template, engine settings) is shipped to each worker once. Task seeds
are derived from the study seed and the task's key, never from execution order,
so results are identical whichever executor runs them.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

import numpy as np

from alphalab.errors import ConfigError

__all__ = [
    "Executor",
    "ProcessExecutor",
    "RayExecutor",
    "SerialExecutor",
    "derive_seed",
    "make_executor",
    "seed_everything",
]


def derive_seed(seed: int, *key: Any) -> int:
    """A 32-bit seed from the study seed and a task key (stable across processes and runs)."""
    h = hashlib.sha256(repr((int(seed), *key)).encode()).digest()
    return int.from_bytes(h[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy's legacy global generator and torch (if already imported:
    importing it just to seed it costs seconds)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - third-party code may still draw from it
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


class Executor(Protocol):
    """Maps ``fn(shared, item)`` over ``items``, returning results in item order."""

    name: str

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]: ...


class SerialExecutor:
    name = "serial"

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        return [fn(shared, item) for item in items]


_SHARED: Any = None


def _init_worker(shared: Any) -> None:
    global _SHARED
    _SHARED = shared
    # one thread per worker: the processes are the parallelism
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _call_with_shared(fn: Callable[[Any, Any], Any], item: Any) -> Any:
    return fn(_SHARED, item)


class ProcessExecutor:
    """Local worker processes (``spawn`` start method, so nothing leaks in by fork)."""

    name = "process"

    def __init__(self, n_jobs: int | None = None) -> None:
        self.n_jobs = n_jobs or max(1, os.cpu_count() or 1)

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        if len(items) <= 1 or self.n_jobs == 1:
            return SerialExecutor().map(fn, shared, items)
        import multiprocessing as mp

        with ProcessPoolExecutor(
            max_workers=min(self.n_jobs, len(items)),
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(shared,),
        ) as pool:
            return list(pool.map(_call_with_shared, [fn] * len(items), items))


#: Seconds to reach a Ray cluster before giving up (``--connect-timeout``).
DEFAULT_CONNECT_TIMEOUT = 30.0


class RayExecutor:
    """Tasks on a Ray cluster (``address=None`` starts or joins a local instance)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if not (isinstance(connect_timeout, int | float) and 0 < connect_timeout < math.inf):
            raise ConfigError(
                f"connect timeout must be a positive number of seconds, got {connect_timeout!r}"
            )
        if address:
            # Before importing Ray: an unreachable address fails in seconds, naming it.
            _probe_address(address, connect_timeout)
        try:
            import ray
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "the ray executor needs Ray: pip install 'alphalab[cluster]'"
            ) from None
        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            _init_with_timeout(ray, kwargs, connect_timeout, address)

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        ray = self._ray
        ref = ray.put(shared)
        remote = ray.remote(num_cpus=1)(_ray_task)
        return ray.get([remote.remote(fn, ref, item) for item in items])


def _probe_address(address: str, timeout: float) -> None:
    """Open (and close) a TCP connection to ``host:port`` within ``timeout`` seconds.

    ``auto`` and ``local`` (Ray's own discovery) are left to Ray.
    """
    text = address.strip()
    if text in ("auto", "local"):
        return
    hostport = text.split("://", 1)[-1].rstrip("/")
    host, sep, port_text = hostport.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(
            f"Ray address {address!r}: expected host:port (e.g. 10.0.0.5:6379 or "
            "ray://10.0.0.5:10001), 'auto' or 'local'"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ConfigError(
            f"cannot reach the Ray cluster at {address!r} within {timeout:g} s ({reason}); "
            "check the address, or raise --connect-timeout"
        ) from None


def _init_with_timeout(ray: Any, kwargs: dict[str, Any], timeout: float, address: str | None) -> None:
    """``ray.init(**kwargs)`` that gives up after ``timeout`` seconds (Ray may retry forever)."""
    done: dict[str, Any] = {}

    def target() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as exc:  # reported in the caller's thread
            done["error"] = exc
        done["ok"] = True

    thread = threading.Thread(target=target, name="ray-init", daemon=True)
    thread.start()
    # Starting a local instance takes longer than joining one.
    thread.join(timeout if address else max(timeout, 120.0))
    if "ok" not in done:
        raise ConfigError(
            f"Ray did not connect to {address or 'a local instance'!r} within {timeout:g} s; "
            "check the address, or raise --connect-timeout"
        )
    if "error" in done:
        exc = done["error"]
        raise ConfigError(f"Ray could not connect to {address or 'a local instance'!r}: {exc}") from None


def _ray_task(fn: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
    return fn(shared, item)


def make_executor(
    kind: str = "serial",
    *,
    n_jobs: int | None = None,
    address: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Executor:
    """``"serial"``, ``"process"`` (``n_jobs`` workers) or ``"ray"`` (``address`` optional;
    reaching it may take at most ``connect_timeout`` seconds)."""
    if kind == "serial":
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(n_jobs)
    if kind == "ray":
        return RayExecutor(address, connect_timeout=connect_timeout)
    raise ConfigError(f"unknown executor {kind!r}; use serial, process or ray")
