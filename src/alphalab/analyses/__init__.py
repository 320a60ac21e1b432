"""Study-level analyses: computations over every strategy's results, shown as report sections.

A strategy turns data into weights; an *analysis* looks across the finished
strategies of a study (forecast comparisons against a baseline model, a paper-style
table under several cost conditions, cluster stability, a threshold search's
candidates, ...) and writes what it found into the run directory. The report renders
each analysis from those files alone, so a report can be rebuilt from an old run.

Contract
--------
* An analysis is a class registered with :func:`register_analysis` under a ``kind``.
  Parameters live in ``__init__`` (validated there, stored as given).
* ``run(ctx)`` receives an :class:`AnalysisContext` and returns a JSON-able summary
  (a dict). It may write extra files (Parquet, PNG) into ``ctx.out_dir``.
* ``render(summary, files)`` (a classmethod) returns an HTML fragment for the report,
  given the summary and the folder of its files. It must not need the data.

In a study file::

    analyses:
      - {name: vs_garch, kind: forecast_comparison, params: {baseline: garch}}

The runner writes ``analyses/<name>.json`` (``{"kind", "name", "params", "summary"}``)
and ``analyses/<name>/`` (its files).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.params import Parametrised

__all__ = [
    "ANALYSES",
    "Analysis",
    "AnalysisContext",
    "make_analysis",
    "read_analyses",
    "register_analysis",
    "render_analysis",
    "write_analysis",
]


@dataclass
class AnalysisContext:
    """What an analysis may look at, all of it known when the study's strategies are done.

    Attributes
    ----------
    config : StudyConfig
        The validated study.
    panel : Panel
        The data the strategies saw, shape ``(n_dates, n_assets)`` per field (the
        development span in a development run: nothing on or after the holdout).
    results : dict of str -> BacktestResult
        Per strategy, the backtest over the evaluated window.
    strategies : dict of str -> Strategy
        Per strategy, the unfitted template as configured.
    benchmark : pandas.Series or None
        Benchmark daily returns on the evaluated window.
    forecasts : dict of str -> pandas.DataFrame
        Per forecasting strategy, its stitched out-of-sample forecasts (long:
        ``date, ticker, ...``); empty when no strategy forecasts.
    diagnostics : dict of str -> object
        Per strategy, what its fits reported (training curves, fallbacks).
    walk_forward : dict of str -> WalkForwardResult
        Per strategy, its walk-forward run: the fold spans (``folds``) and the fitted
        strategy of each fold (``models``), so an analysis can re-use the very models
        that decided instead of fitting them again; empty when the caller has none.
    scope : str
        ``"development"``, ``"holdout"`` or ``"plain"``.
    out_dir : Path
        Folder for the analysis' own files (created before ``run``).
    """

    config: Any
    panel: Any
    results: dict[str, Any]
    strategies: dict[str, Any]
    benchmark: Any = None
    forecasts: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    walk_forward: dict[str, Any] = field(default_factory=dict)
    scope: str = "plain"
    out_dir: Path = Path(".")


class Analysis(Parametrised, ABC):
    """Base class of study analyses (see the module docstring for the contract).

    Parameters follow the same rules as strategies (:class:`Parametrised`): stored
    under their own names, exactly as given.
    """

    kind: ClassVar[str] = "analysis"
    title: ClassVar[str] = "Analysis"

    @abstractmethod
    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """Compute the analysis; return a JSON-able summary."""

    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        """HTML fragment for the report; the default shows the summary as a table."""
        from html import escape

        rows = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{escape(json.dumps(v, default=str)[:400])}</td></tr>"
            for k, v in summary.items()
        )
        return f"<table>{rows}</table>"


ANALYSES: dict[str, type[Analysis]] = {}


def register_analysis(kind: str) -> Callable[[type[Analysis]], type[Analysis]]:
    """Class decorator: make an analysis available to study files as ``kind``."""

    def deco(cls: type[Analysis]) -> type[Analysis]:
        if kind in ANALYSES and ANALYSES[kind] is not cls:
            raise ConfigError(f"analysis kind {kind!r} is already registered")
        ANALYSES[kind] = cls
        cls.kind = kind
        return cls

    return deco


def make_analysis(kind: str, params: dict[str, Any] | None = None) -> Analysis:
    """Instantiate a registered analysis, with clear errors for unknown kinds or params."""
    if kind not in ANALYSES:
        raise ConfigError(
            f"unknown analysis kind {kind!r}; known kinds: {', '.join(sorted(ANALYSES)) or 'none'}"
        )
    cls = ANALYSES[kind]
    params = dict(params or {})
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ConfigError(
            f"analysis kind {kind!r} has no parameter(s) {unknown}; "
            f"valid: {sorted(cls._param_names())}"
        )
    return cls(**params)


def _json_safe(value: Any) -> Any:
    """NaN and infinities become None (strict JSON); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_analysis(
    run_dir: Path, name: str, analysis: Analysis, ctx: AnalysisContext
) -> dict[str, Any]:
    """Run ``analysis`` and write ``analyses/<name>.json`` (and its files) into ``run_dir``."""
    root = Path(run_dir) / "analyses"
    ctx.out_dir = root / name
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    summary = analysis.run(ctx)
    if not isinstance(summary, dict):
        raise TypeError(f"analysis {name!r} returned {type(summary).__name__}, expected a dict")
    record = {
        "name": name,
        "kind": type(analysis).kind,  # the registry kind, whatever the instance's parameters
        "params": _json_safe(analysis.get_params(deep=False)),
        "summary": _json_safe(summary),
    }
    text = json.dumps(record, indent=1, allow_nan=False, default=str)
    (root / f"{name}.json").write_text(text)
    if not any(ctx.out_dir.iterdir()):
        ctx.out_dir.rmdir()
    return record


def read_analyses(run_dir: Path) -> list[dict[str, Any]]:
    """The analysis records of a run directory, in name order (empty when none)."""
    root = Path(run_dir) / "analyses"
    if not root.is_dir():
        return []
    records = []
    for path in sorted(root.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable analysis record ({exc})") from None
        if not isinstance(record, dict) or "kind" not in record or "summary" not in record:
            raise DataError(f"{path}: not an analysis record (needs kind and summary)")
        records.append(record)
    return records


def render_analysis(run_dir: Path, record: dict[str, Any]) -> tuple[str, str]:
    """``(title, html)`` for one analysis record; unknown kinds fall back to a plain table."""
    cls = ANALYSES.get(record["kind"], Analysis)
    files = Path(run_dir) / "analyses" / str(record.get("name", ""))
    title = f"{cls.title}: {record.get('name', '')}" if cls is not Analysis else str(record.get("name"))
    return title, cls.render(record["summary"] or {}, files)
