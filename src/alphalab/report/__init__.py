"""Reports of a run directory: PNG charts and a self-contained interactive HTML page.

``write_report(run_dir)`` reads only the files of the run directory (see
docs/ARCHITECTURE.md), so an old run can be re-rendered and compared later.
"""

from __future__ import annotations

from pathlib import Path

from alphalab.report.rundir import RunData, read_run, safe_name

__all__ = ["RunData", "read_run", "safe_name", "write_report"]


def write_report(run_dir: str | Path, *, charts: bool = True, html: bool = True) -> Path:
    """Write ``charts/*.png`` and ``report.html`` into a run directory.

    Parameters
    ----------
    run_dir : str or Path
        A run directory written by the study runner.
    charts : bool
        Write the PNG charts (the HTML does not need them).
    html : bool
        Write the self-contained ``report.html``.

    Returns
    -------
    Path
        The ``report.html`` written, or the ``charts`` folder when ``html`` is
        False (the run directory itself when neither is written).

    Raises
    ------
    alphalab.errors.DataError
        When the run directory is missing a required file or a file is malformed.
    """
    # Imported here: matplotlib and plotly are heavy and only needed when rendering.
    from alphalab.report.charts import write_charts
    from alphalab.report.html import write_html

    run = read_run(run_dir)
    out = run.path
    if charts:
        out = write_charts(run)[0].parent
    if html:
        out = write_html(run)
    return out
