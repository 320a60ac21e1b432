"""One entry point for the alpha catalogues by name: ``alpha101`` and ``gtja191``.

Callers that take a list of alphas from a study file (the volatility
learners' ``alphas``) pass it here: each item is either a catalogue name
(every alpha of it the panel allows) or one alpha's name (``alpha001`` ..
``alpha101``, ``gtja001`` .. ``gtja191``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError

__all__ = ["CATALOGUE_NAMES", "compute_alphas"]

#: Catalogue names a list of alphas may contain.
CATALOGUE_NAMES = ("alpha101", "gtja191")


def compute_alphas(
    panel: Panel, names: Sequence[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Evaluate alphas from the Alpha101 and GTJA 191 catalogues on a Panel.

    Parameters
    ----------
    panel : Panel
    names : sequence of str, optional
        Catalogue names (``"alpha101"``, ``"gtja191"``) and/or alpha names
        (``"alpha012"``, ``"gtja014"``), in any mix. Default: ``["alpha101"]``.

    Returns
    -------
    values : dict of str to ndarray, each (n_dates, n_assets)
        Keyed by alpha name (the two catalogues' names never collide).
    skipped : dict of str to str
        Alphas not computed, with the reason.

    Raises
    ------
    ConfigError
        An item that is neither a catalogue nor an alpha name.
    """
    from alphalab.features.alphas.alpha101 import ALPHA101, compute_alpha101
    from alphalab.features.alphas.gtja191 import GTJA191, GTJA191_SKIPPED, compute_gtja191

    items = ["alpha101"] if names is None else [str(n) for n in names]
    a101: list[str] = []
    gtja: list[str] = []
    bad: list[str] = []
    for item in items:
        key = item.lower()
        if key == "alpha101":
            a101.extend(ALPHA101)
        elif key == "gtja191":
            gtja.extend(n for n in GTJA191 if n not in gtja)
        elif key in ALPHA101:
            a101.append(key)
        elif key in GTJA191 or key in GTJA191_SKIPPED:
            gtja.append(key)
        else:
            bad.append(item)
    if bad:
        raise ConfigError(
            f"unknown alpha or catalogue name(s) {bad}: use {', '.join(CATALOGUE_NAMES)}, "
            "alpha001 .. alpha101 or gtja001 .. gtja191"
        )
    values: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for chosen, fn in ((a101, compute_alpha101), (gtja, compute_gtja191)):
        if chosen:
            v, s = fn(panel, names=list(dict.fromkeys(chosen)))
            values.update(v)
            skipped.update(s)
    return values, skipped
