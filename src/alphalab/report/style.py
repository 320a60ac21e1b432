"""Colours shared by the PNG charts and the HTML report, so a strategy looks the same in both."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["BENCH_COLOR", "PALETTE", "color_map"]

#: Strategy colours in order of appearance (matplotlib's tab10).
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
)  # fmt: skip
#: The benchmark is drawn dashed in near-black everywhere.
BENCH_COLOR = "#222222"


def color_map(names: Sequence[str], benchmark: str | None) -> dict[str, str]:
    """Colour per series: the palette in order (cycling), the benchmark in near-black.

    Parameters
    ----------
    names : sequence of str
        Series names in display order.
    benchmark : str, optional
        Name of the benchmark series, if any.

    Returns
    -------
    dict of str -> str
        Hex colour per name.
    """
    out: dict[str, str] = {}
    i = 0
    for name in names:
        if name == benchmark:
            out[name] = BENCH_COLOR
        else:
            out[name] = PALETTE[i % len(PALETTE)]
            i += 1
    return out
