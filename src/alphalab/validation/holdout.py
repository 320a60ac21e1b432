"""The sealed-holdout ledger: every look at the holdout is written down.

The ledger is an append-only JSON-lines file per study, kept under the alphalab home
(``$ALPHALAB_HOME`` or ``~/.alphalab``) in ``holdout/<study>.jsonl``, outside any
run directory, so deleting runs does not erase how often the holdout was opened.
Appends take an exclusive ``flock`` so concurrent evaluations are all counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alphalab.errors import ConfigError
from alphalab.paths import alphalab_home, append_durably

__all__ = ["HoldoutLedger", "HoldoutSummary", "alphalab_home"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class HoldoutSummary:
    """How many times the holdout was evaluated, and by how many distinct configs."""

    n_evaluations: int
    n_configs: int
    first: str | None
    last: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_evaluations": self.n_evaluations,
            "n_configs": self.n_configs,
            "first": self.first,
            "last": self.last,
        }


class HoldoutLedger:
    """Append-only record of holdout evaluations for one study.

    Parameters
    ----------
    study : str
        Study name; sanitised for the file name.
    root : path, optional
        Directory holding the ledgers (default ``alphalab_home() / "holdout"``).
    """

    def __init__(self, study: str, root: Path | str | None = None) -> None:
        if not study or not study.strip():
            raise ConfigError("a holdout ledger needs a study name")
        self.study = study
        base = Path(root) if root is not None else alphalab_home() / "holdout"
        self.path = base / f"{_SAFE.sub('_', study.strip())}.jsonl"

    def record(self, config_hash: str, **details: Any) -> dict[str, Any]:
        """Append one evaluation (with the current UTC time) and return the entry."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "study": self.study,
            "config_hash": config_hash,
            **details,
        }
        append_durably(self.path, json.dumps(entry, sort_keys=True, default=str) + "\n")
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every recorded evaluation, oldest first (unreadable lines raise)."""
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise ConfigError(
                            f"holdout ledger {self.path} line {i} is corrupt: {exc}"
                        ) from None
        return out

    def summary(self) -> HoldoutSummary:
        entries = self.entries()
        return HoldoutSummary(
            n_evaluations=len(entries),
            n_configs=len({e.get("config_hash") for e in entries}),
            first=entries[0]["time"] if entries else None,
            last=entries[-1]["time"] if entries else None,
        )
