"""Where folds and trials run: in this process, in local processes, or on a Ray cluster.

Every task is a pure function of ``(shared, item)``; ``shared`` (the panel, the
strategy template, engine settings) is shipped to each worker once. Task seeds
are derived from the study seed and the task's key, never from execution order,
so results are identical whichever executor runs them.

Threads: a worker runs ``threads`` threads (default 1: the processes are the
parallelism), and ``n_jobs * threads`` never exceeds the machine's cores. The
limits reach a worker **before** it imports numpy, numba or torch: the thread
variables (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``NUMBA_NUM_THREADS`` ...) are in the environment the worker process is
spawned with (Ray: the job's ``runtime_env``), because unpickling any
initializer already imports ``alphalab`` and with it numpy and numba. The
initializer then applies them to what is loaded (``numba.set_num_threads``,
threadpoolctl for BLAS, torch).

torch: importing it costs seconds, so :func:`seed_everything` does not import
it. It seeds torch at once when torch is already loaded, and otherwise records
the seed; :func:`torch_seed_and_threads` -- alphalab's one entry point to torch,
which every torch model calls instead of ``import torch`` -- imports it and
applies the recorded seed, deterministic algorithms and the thread limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import random
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
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
    "plan_jobs",
    "seed_everything",
    "set_thread_limits",
    "thread_env",
    "torch_seed_and_threads",
]

#: Environment variables read by numeric libraries when they load.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

# The seed and thread limit torch gets when it is (or once it is) loaded.
_TORCH: dict[str, int | None] = {"seed": None, "threads": None}


def derive_seed(seed: int, *key: Any) -> int:
    """A 32-bit seed from the study seed and a task key (stable across processes and runs)."""
    h = hashlib.sha256(repr((int(seed), *key)).encode()).digest()
    return int.from_bytes(h[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy's legacy global generator and torch.

    torch is seeded now when it is loaded; otherwise the seed is recorded and
    :func:`torch_seed_and_threads` applies it when a model loads torch (importing
    torch here just to seed it would cost every run seconds).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - third-party code may still draw from it
    _TORCH["seed"] = int(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        _apply_torch(torch)


def _apply_torch(torch: Any) -> None:
    """Recorded seed, deterministic algorithms and thread limit, applied to torch."""
    # Deterministic cuBLAS needs this before the first CUDA call (no effect on CPU).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if _TORCH["seed"] is not None:
        torch.manual_seed(_TORCH["seed"])
    torch.use_deterministic_algorithms(True)
    threads = _TORCH["threads"]
    if threads:
        torch.set_num_threads(threads)
        with contextlib.suppress(RuntimeError):  # settable once, before any parallel work
            torch.set_num_interop_threads(threads)


def torch_seed_and_threads(seed: int | None = None, threads: int | None = None) -> Any:
    """Import torch seeded, deterministic and thread-limited; alphalab's torch entry point.

    Parameters
    ----------
    seed : int, optional
        Seed to apply (and record); default the one :func:`seed_everything` recorded.
    threads : int, optional
        Intra-op threads; default the worker's limit (:func:`set_thread_limits`).

    Returns
    -------
    module
        ``torch``, with ``manual_seed`` applied and
        ``use_deterministic_algorithms(True)`` set.
    """
    import torch

    if seed is not None:
        _TORCH["seed"] = int(seed)
    if threads is not None:
        _TORCH["threads"] = int(threads)
    _apply_torch(torch)
    return torch


def thread_env(threads: int) -> dict[str, str]:
    """The thread variables set to ``threads`` (for a worker's environment at spawn)."""
    return {name: str(int(threads)) for name in THREAD_VARS}


@contextlib.contextmanager
def _spawn_env(threads: int) -> Iterator[None]:
    """``os.environ`` carries the thread limits while workers are spawned, then is restored.

    A spawned worker starts with a copy of this environment, so the limits are in
    place before it imports anything.
    """
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update(thread_env(threads))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def set_thread_limits(threads: int) -> None:
    """Limit this process's numeric libraries to ``threads`` threads.

    Sets the thread variables (for libraries not loaded yet), then numba's,
    BLAS's (threadpoolctl) and torch's limits for those already loaded.
    """
    threads = max(1, int(threads))
    os.environ.update(thread_env(threads))
    _TORCH["threads"] = threads
    numba = sys.modules.get("numba")
    if numba is not None:
        # At most the count numba was loaded with (NUMBA_NUM_THREADS at import).
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        _apply_torch(torch)


def plan_jobs(n_jobs: int | None, threads: int = 1, cores: int | None = None) -> int:
    """Worker count such that ``n_jobs * threads <= cores``.

    Parameters
    ----------
    n_jobs : int, optional
        Wanted workers; default as many as the cores allow.
    threads : int
        Threads per worker.
    cores : int, optional
        Default ``os.cpu_count()``.

    Warns
    -----
    RuntimeWarning
        When ``n_jobs`` had to be lowered.
    """
    cores = max(1, cores or os.cpu_count() or 1)
    threads = max(1, int(threads))
    most = max(1, cores // threads)
    if n_jobs is None:
        return most
    if n_jobs * threads > cores and n_jobs > most:
        warnings.warn(
            f"executor: {n_jobs} jobs x {threads} thread(s) exceed the {cores} cores; "
            f"running {most} job(s)",
            RuntimeWarning,
            stacklevel=3,
        )
        return most
    return int(n_jobs)


class Executor(Protocol):
    """Maps ``fn(shared, item)`` over ``items``, returning results in item order."""

    name: str

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]: ...


class SerialExecutor:
    name = "serial"

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        return [fn(shared, item) for item in items]


_SHARED: Any = None


def _init_worker(shared: Any, threads: int = 1) -> None:
    global _SHARED
    # The environment already held the limits at spawn; apply them to what is loaded.
    set_thread_limits(threads)
    _SHARED = shared


def _call_with_shared(fn: Callable[[Any, Any], Any], item: Any) -> Any:
    return fn(_SHARED, item)


class ProcessExecutor:
    """Local worker processes (``spawn`` start method, so nothing leaks in by fork).

    Parameters
    ----------
    n_jobs : int, optional
        Workers; default and upper bound ``cores // threads``.
    threads : int
        Threads each worker's numeric libraries may use.
    """

    name = "process"

    def __init__(self, n_jobs: int | None = None, threads: int = 1) -> None:
        self.threads = max(1, int(threads))
        self.n_jobs = plan_jobs(n_jobs, self.threads)

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        if len(items) <= 1 or self.n_jobs == 1:
            return SerialExecutor().map(fn, shared, items)
        import multiprocessing as mp

        with _spawn_env(self.threads), ProcessPoolExecutor(
            max_workers=min(self.n_jobs, len(items)),
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(shared, self.threads),
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
        threads: int = 1,
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
        self.threads = max(1, int(threads))
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                # Workers of this job start with the limits in their environment.
                "runtime_env": {"env_vars": thread_env(self.threads)},
            }
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            _init_with_timeout(ray, kwargs, connect_timeout, address)

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        ray = self._ray
        ref = ray.put(shared)
        # A task reserves as many cores as it may use threads.
        remote = ray.remote(num_cpus=self.threads)(_ray_task)
        return ray.get([remote.remote(fn, ref, item, self.threads) for item in items])


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


def _ray_task(fn: Callable[[Any, Any], Any], shared: Any, item: Any, threads: int = 1) -> Any:
    set_thread_limits(threads)
    return fn(shared, item)


def make_executor(
    kind: str = "serial",
    *,
    n_jobs: int | None = None,
    address: str | None = None,
    threads: int = 1,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Executor:
    """``"serial"``, ``"process"`` (``n_jobs`` workers of ``threads`` threads each) or
    ``"ray"`` (``address`` optional, reached within ``connect_timeout`` seconds; tasks of
    ``threads`` threads)."""
    if kind == "serial":
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(n_jobs, threads=threads)
    if kind == "ray":
        return RayExecutor(address, threads=threads, connect_timeout=connect_timeout)
    raise ConfigError(f"unknown executor {kind!r}; use serial, process or ray")
