"""Writing the run directory: package versions, JSON, parquet tables, atomic publication."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.config import BENCHMARK_KEY, StudyConfig
from alphalab.errors import ConfigError

__all__ = [
    "default_out",
    "frame_of",
    "is_replaceable",
    "json_safe",
    "long_records",
    "package_versions",
    "publish",
    "write_json",
    "write_report",
    "write_run",
]

_VERSIONED = (
    "alphalab",
    "numpy",
    "pandas",
    "pyarrow",
    "numba",
    "scipy",
    "scikit-learn",
    "skfolio",
    "pydantic",
    "torch",
    "arch",
)



def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide a run's numbers (absent ones skipped)."""
    out: dict[str, str] = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out



def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN / inf become null, numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)



def default_out(cfg: StudyConfig) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{cfg.name}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = Path("runs") / f"{cfg.name}-{stamp}-{n}"
    return out


def is_replaceable(path: Path) -> bool:
    """An existing output folder may be replaced only if empty or a previous run."""
    if not path.is_dir():
        return False
    return not any(path.iterdir()) or (path / "manifest.json").is_file()


def publish(tmp: Path, final: Path) -> None:
    """Move the finished temporary run directory to its final place."""
    if final.exists() or final.is_symlink():
        if not is_replaceable(final):
            raise ConfigError(
                f"output folder {final} exists and is not an alphalab run directory; "
                "choose another --out"
            )
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def frame_of(series: dict[str, pd.Series]) -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series(v, dtype=np.float64) for k, v in series.items()})
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame


def long_records(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for name, frame in frames.items():
        frame = frame.reset_index(drop=True).copy()
        frame.insert(0, "strategy", name)
        parts.append(frame)
    non_empty = [p for p in parts if len(p)]
    if non_empty:
        return pd.concat(non_empty, ignore_index=True)
    if parts:
        return parts[0].iloc[0:0]
    return pd.DataFrame({"strategy": pd.Series(dtype=str)})



def write_run(
    run_dir: Path,
    manifest: dict[str, Any],
    metrics: pd.DataFrame,
    results: dict[str, Any],
    bench: pd.Series | None,
    cfg: StudyConfig,
) -> None:
    (run_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    write_json(
        run_dir / "metrics.json",
        {name: {k: row[k] for k in metrics.columns} for name, row in metrics.iterrows()},
    )
    equity = {name: res.equity for name, res in results.items()}
    returns = {name: res.returns for name, res in results.items()}
    if bench is not None:
        returns[BENCHMARK_KEY] = bench
        equity[BENCHMARK_KEY] = cfg.execution.initial_cash * (1.0 + bench).cumprod()
    frame_of(equity).to_parquet(run_dir / "equity.parquet")
    frame_of(returns).to_parquet(run_dir / "returns.parquet")
    weights_dir = run_dir / "weights"
    weights_dir.mkdir()
    for name, res in results.items():
        held = pd.DataFrame(res.weights, dtype=np.float64)
        held.index = pd.DatetimeIndex(held.index, name="date")
        held.columns = [str(c) for c in held.columns]
        held.to_parquet(weights_dir / f"{name}.parquet")
    long_records({n: r.trades_frame() for n, r in results.items()}).to_parquet(
        run_dir / "trades.parquet", index=False
    )
    long_records({n: r.rejected_frame() for n, r in results.items()}).to_parquet(
        run_dir / "rejected.parquet", index=False
    )
    write_json(
        run_dir / "costs.json",
        {name: {str(k): v for k, v in res.costs.items()} for name, res in results.items()},
    )
    write_json(run_dir / "manifest.json", manifest)



def write_report(run_dir: Path, *, charts: bool, html: bool) -> Path | None:
    try:
        from alphalab.report import write_report
    except ImportError:
        warnings.warn(
            "alphalab.report.write_report is not available; the run has no charts or report.html",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    import inspect

    # ``charts`` / ``html`` switches go through only where the report layer offers them.
    params = inspect.signature(write_report).parameters
    options = {k: v for k, v in (("charts", charts), ("html", html)) if k in params}
    return Path(write_report(run_dir, **options))

