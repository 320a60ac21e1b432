"""One entry point for the alpha catalogues Alpha101 and GTJA 191 by name.

Callers that take a list of alphas from a study file (the volatility
learners' ``alphas``) pass it here: each item is either one alpha's name
(``alpha001`` .. ``alpha101``, ``gtja001`` .. ``gtja191``) or a whole
catalogue, ``all_alpha101`` / ``all_gtja191`` (every alpha of it the panel
allows; the bare ``alpha101`` and ``gtja191`` are single alphas).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError

__all__ = ["CATALOGUE_NAMES", "check_alpha_names", "compute_alphas"]

#: Tokens for a whole catalogue in a list of alphas.
CATALOGUE_NAMES = ("all_alpha101", "all_gtja191")


def _split(names: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    from alphalab.features.alphas.alpha101 import ALPHA101
    from alphalab.features.alphas.gtja191 import GTJA191, GTJA191_SKIPPED

    a101: list[str] = []
    gtja: list[str] = []
    bad: list[str] = []
    for item in names:
        key = str(item).lower()
        if key == "all_alpha101":
            a101.extend(ALPHA101)
        elif key == "all_gtja191":
            gtja.extend(GTJA191)
        elif key in ALPHA101:
            a101.append(key)
        elif key in GTJA191 or key in GTJA191_SKIPPED:
            gtja.append(key)
        else:
            bad.append(str(item))
    return list(dict.fromkeys(a101)), list(dict.fromkeys(gtja)), bad


def check_alpha_names(names: Sequence[str] | None, what: str = "alphas") -> Sequence[str] | None:
    """Check a list of alpha / catalogue names (``None`` allowed) and return it unchanged.

    Raises
    ------
    ConfigError
        Not a non-empty list of strings, or a name that is neither a catalogue
        token (``all_alpha101``, ``all_gtja191``) nor an alpha's name.
    """
    if names is None:
        return names
    if isinstance(names, str) or not isinstance(names, Sequence) or not names or not all(
        isinstance(n, str) for n in names
    ):
        raise ConfigError(f"{what} must be a non-empty list of alpha or catalogue names, got {names!r}")
    bad = _split(names)[2]
    if bad:
        raise ConfigError(
            f"{what}: unknown alpha or catalogue name(s) {bad}: use {', '.join(CATALOGUE_NAMES)}, "
            "alpha001 .. alpha101 or gtja001 .. gtja191"
        )
    return names


def compute_alphas(
    panel: Panel, names: Sequence[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Evaluate alphas from the Alpha101 and GTJA 191 catalogues on a Panel.

    Parameters
    ----------
    panel : Panel
    names : sequence of str, optional
        Alpha names (``"alpha012"``, ``"gtja014"``) and/or whole catalogues
        (``"all_alpha101"``, ``"all_gtja191"``), in any mix. Default:
        ``["all_alpha101"]``.

    Returns
    -------
    values : dict of str to ndarray, each (n_dates, n_assets)
        Keyed by alpha name (the two catalogues' names never collide).
    skipped : dict of str to str
        Alphas not computed, with the reason.

    Raises
    ------
    ConfigError
        An item that is neither a catalogue token nor an alpha name.
    """
    from alphalab.features.alphas.alpha101 import compute_alpha101
    from alphalab.features.alphas.gtja191 import compute_gtja191

    items = ["all_alpha101"] if names is None else list(check_alpha_names(names) or [])
    a101, gtja, _ = _split(items)
    values: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for chosen, fn in ((a101, compute_alpha101), (gtja, compute_gtja191)):
        if chosen:
            v, s = fn(panel, names=chosen)
            values.update(v)
            skipped.update(s)
    return values, skipped
