"""Study runner: a :class:`~alphalab.config.StudyConfig` in, a run directory out.

One run loads the data once, builds every strategy of the study, fits the
ones that learn on the rows before the simulated window, turns their
decisions into target weights on the rebalance schedule, runs the one
backtest engine over the window for each, and writes the run directory laid
out in ``docs/ARCHITECTURE.md``.

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
from alphalab.study.runner import RunResult, ScopedResult, Study

__all__ = ["RunResult", "ScopedResult", "Study", "benchmark_returns", "package_versions"]
