"""Study-side output: package versions, the default run folder, the report call.

The run directory's files are written by :mod:`alphalab.report.rundir`, the one
module that knows its layout."""

from __future__ import annotations

import datetime as dt
import warnings
from importlib import metadata
from pathlib import Path

from alphalab.config import StudyConfig

__all__ = ["default_out", "package_versions", "write_report"]

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


def default_out(cfg: StudyConfig) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{cfg.name}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = Path("runs") / f"{cfg.name}-{stamp}-{n}"
    return out


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
