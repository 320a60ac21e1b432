"""The honesty banner at the top of the report: leakage-guard findings (LEAK), SUSPECT
reasons, the data seal and the trial count of the dataset. Rendered from the manifest
only; absent entries render nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alphalab.report.tables import esc

__all__ = ["honesty_block", "honesty_section"]


def honesty_section(manifest: Mapping[str, Any]) -> str:
    """:func:`honesty_block` in a section of its own (for runs without gates)."""
    inner = honesty_block(manifest)
    if not inner:
        return ""
    return f'<section id="honesty"><h2>Leakage guard and data seal</h2>{inner}</section>'


def honesty_block(manifest: Mapping[str, Any]) -> str:
    """HTML shown before the verdict cards (``""`` when the manifest has none of it).

    Parameters
    ----------
    manifest : dict
        Parsed manifest.json; reads ``guard``, ``suspect``, ``verdicts``, ``seal`` and
        ``trials``.
    """
    parts: list[str] = []
    guard = manifest.get("guard")
    if isinstance(guard, Mapping):
        for f in guard.get("findings") or []:
            if isinstance(f, Mapping):
                parts.append(f'<p class="holdout fail"><b>LEAK</b> {esc(f.get("message"))}</p>')
        cls = "fail" if guard.get("leak") else ("warn" if not guard.get("complete") else "pass")
        parts.append(f'<p class="holdout {cls}">{esc(guard.get("summary"))}</p>')
    suspect = manifest.get("suspect")
    if isinstance(suspect, Mapping):
        for name, s in suspect.items():
            if isinstance(s, Mapping) and s.get("suspect"):
                reasons = "; ".join(str(r) for r in s.get("reasons") or [])
                parts.append(
                    f'<p class="holdout fail"><b>SUSPECT</b> {esc(name)}: {esc(reasons)}</p>'
                )
    seal = manifest.get("seal")
    if isinstance(seal, Mapping) and seal.get("sealed_from"):
        if seal.get("opened"):
            text = (f"Sealed data opened: results include dates from {seal['sealed_from']} on; "
                    f"looks at this dataset's holdout: {seal.get('n_looks')}.")  # fmt: skip
            cls = "fail"
        else:
            text = f"Data sealed from {seal['sealed_from']}: nothing on or after it was loaded."
            cls = "pass"
        parts.append(f'<p class="holdout {cls}">{esc(text)}</p>')
    trials = manifest.get("trials")
    if isinstance(trials, Mapping) and trials.get("n_total") is not None:
        parts.append(
            f'<p class="scope">This dataset and span have seen {esc(trials["n_total"])} '
            f"configuration(s) in total ({esc(trials.get('n_distinct'))} distinct); DSR "
            "deflates by that count.</p>"
        )
    return "".join(parts)
