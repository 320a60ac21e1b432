"""Study runner: a :class:`~alphalab.config.StudyConfig` in, a run directory out.

One run loads the data once, builds every strategy of the study and runs each
through the one walk-forward runner: a plain run is a walk-forward with one
split (fit on the rows before the first simulated date, decide on the rest), a
validated run the protocol's walk-forward. Either way the decisions go through
the one backtest engine, and the run directory laid out in
``docs/ARCHITECTURE.md`` is written through :mod:`alphalab.rundir`.

One module per job:

==============  ==============================================================
``inputs``      config -> panel, features, window, decision dates, costs
``benchmark``   the benchmark's closes and returns on the study dates
``execute``     running each strategy (plain or through the validation protocol)
``output``      writing the run directory (atomic publication, package versions)
``progress``    stage timings and the progress bar
``runner``      :class:`Study` and :class:`RunResult`, tying the others together
==============  ==============================================================

The directory is first written under a hidden temporary name beside its
final place and then renamed, so a crash never leaves a half-written run that
looks complete.
"""

from __future__ import annotations

from alphalab.study.benchmark import benchmark_returns
from alphalab.study.output import package_versions
from alphalab.study.runner import RunResult, Study

__all__ = ["RunResult", "Study", "benchmark_returns", "package_versions"]
