"""One trial ledger per dataset content and development span.

Deflating a Sharpe ratio needs the number of configurations that were tried on the
same data before the winner was picked (Bailey & Lopez de Prado 2014). Counting only
one strategy's tuning grid lets a researcher split the search into many untuned study
entries, or into many reruns with an edited config, and report N = 1 each time. Here
every configuration evaluated on a dataset (by content hash) and development span is a
line in one ledger, whatever study, entry, grid point, Optuna trial or rerun produced it:

* a configuration is ``(strategy kind, full parameter set)``; rerunning an identical
  configuration adds no trial, editing one parameter adds one;
* the DSR of every strategy on that dataset and span uses ``N`` = the number of distinct
  configurations in the ledger, and the variance of their out-of-sample Sharpe ratios.

So twenty untuned momentum entries with twenty lookbacks count N = 20, exactly like one
momentum entry tuned over the same twenty-point grid.

The ledger is JSON lines under every seal registry directory
(:func:`alphalab.data.seal.seal_dirs`: per user, and ``$ALPHALAB_HOME``), read as the
union, so switching ``$ALPHALAB_HOME`` does not reset it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alphalab.data.seal import seal_dirs
from alphalab.errors import ConfigError
from alphalab.paths import append_durably

__all__ = ["TrialLedger", "TrialSummary", "config_key"]


def config_key(kind: str, params: Mapping[str, Any]) -> str:
    """Stable hash of one configuration (kind and every parameter)."""
    payload = json.dumps({"kind": kind, "params": dict(params)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class TrialSummary:
    """What a dataset and span have seen."""

    n_distinct: int
    n_entries: int
    sharpe_variance: float
    n_sharpes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_total": self.n_distinct,
            "n_distinct": self.n_distinct,
            "n_entries": self.n_entries,
            "sharpe_variance": self.sharpe_variance if math.isfinite(self.sharpe_variance) else None,
            "n_sharpes": self.n_sharpes,
        }


class TrialLedger:
    """Append-only record of configurations evaluated on one dataset and span.

    Parameters
    ----------
    content_hash : str
        The dataset's content hash (:func:`alphalab.data.seal.content_hash_of`, or the
        panel's data hash when it has none).
    start, end : str
        First and last date of the development span (ISO dates).
    """

    def __init__(self, content_hash: str, start: str, end: str) -> None:
        if not content_hash:
            raise ConfigError("a trial ledger needs the dataset's content hash")
        self.content_hash, self.start, self.end = content_hash, str(start), str(end)
        self.name = f"{content_hash[:32]}-{self.start}-{self.end}.jsonl"

    def _paths(self) -> list[Path]:
        return [base / "trials" / self.name for base in seal_dirs()]

    def record(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Append configurations (``kind``, ``params``, optional ``sharpe``, ``study``,
        ``strategy``); returns how many lines were written."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        lines = []
        for e in entries:
            key = config_key(str(e["kind"]), e.get("params") or {})
            sharpe = e.get("sharpe")
            lines.append(json.dumps({
                "time": now, "key": key, "kind": e["kind"], "params": dict(e.get("params") or {}),
                "sharpe": None if sharpe is None or not math.isfinite(float(sharpe)) else float(sharpe),
                "study": e.get("study"), "strategy": e.get("strategy"),
            }, sort_keys=True, default=str))  # fmt: skip
        if not lines:
            return 0
        text = "\n".join(lines) + "\n"
        for path in self._paths():
            append_durably(path, text)
        return len(lines)

    def entries(self) -> list[dict[str, Any]]:
        """Every recorded line: the union of the registries (a line written to both
        counts once; repeated identical lines in one registry each count)."""
        from collections import Counter

        union: Counter[str] = Counter()
        for path in self._paths():
            if not path.exists():
                continue
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            for line, n in Counter(lines).items():
                union[line] = max(union[line], n)
        out = []
        for line, n in union.items():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"trial ledger {self.name} holds a corrupt line: {exc}") from None
            out += [entry] * n
        return sorted(out, key=lambda e: e["time"])

    def summary(self) -> TrialSummary:
        """Distinct configurations and the variance of their latest Sharpe ratios."""
        entries = self.entries()
        latest: dict[str, float | None] = {}
        for e in entries:
            if e["key"] not in latest or e.get("sharpe") is not None:
                latest[e["key"]] = e.get("sharpe")
        sharpes = [s for s in latest.values() if s is not None]
        var = float(np.var(sharpes, ddof=1)) if len(sharpes) >= 2 else math.nan
        return TrialSummary(len(latest), len(entries), var, len(sharpes))
