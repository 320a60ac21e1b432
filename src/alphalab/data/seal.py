"""Holdout seals bound to the data, not to a study config.

A dataset is identified by its content: the SHA-256 of a file's bytes, or the content
hash the store recorded when the dataset was written (the same content under another
name or in another store root has the same hash). ``alphalab data seal NAME_OR_FILE
--from DATE`` (or a study's ``validation.holdout``) seals it from that date. From then on:

* every load (:func:`alphalab.load`, studies, ``alphalab factors``) of that content is
  cut before the seal date and says so (a :class:`SealWarning` and
  ``panel.meta["seal"]``), unless the caller opens the seal explicitly;
* an explicit opening (``alphalab evaluate --holdout``, ``al.load(..., open_seal=True)``)
  writes a line to the look ledger of that dataset and development span, and the panel
  carries ``meta["seal"]["opened"] = True`` so every output made from it is marked.

Where the registry lives, and its limits
----------------------------------------
Seals and looks are written to two places and read from both (the earliest seal wins):

1. the per-user state directory ``$ALPHALAB_SEALS``, else ``$XDG_STATE_HOME/alphalab/seals``,
   else ``~/.local/state/alphalab/seals``: it does not move with ``$ALPHALAB_HOME``, so
   switching homes (or store roots) does not lift a seal;
2. ``$ALPHALAB_HOME/seals``: travels with a copied home.

Nothing is written next to the data file: shared data folders are often read-only and
belong to everyone. The honest limits: another OS user, another machine, setting
``$ALPHALAB_SEALS`` or ``$HOME`` elsewhere, or changing a single byte of the file (a new
content hash) is a new, unsealed dataset. A Panel built by hand from a DataFrame carries
no seal. The seal protects against accidents and convenient edits, not against someone
determined to look.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from alphalab.errors import DataError
from alphalab.paths import alphalab_home, append_durably

__all__ = [
    "ENV_SEALS",
    "Seal",
    "SealWarning",
    "content_hash_of",
    "find_seal",
    "look_summary",
    "record_look",
    "seal_dataset",
    "seal_dirs",
    "seal_panel",
]

ENV_SEALS = "ALPHALAB_SEALS"


class SealWarning(UserWarning):
    """Data was cut at a seal, or a sealed holdout was opened."""


@dataclass(frozen=True)
class Seal:
    """One dataset's seal: its content hash and the first sealed date."""

    content_hash: str
    sealed_from: pd.Timestamp
    label: str

    def to_dict(self, *, opened: bool = False, n_looks: int | None = None) -> dict[str, Any]:
        return {
            "content_hash": self.content_hash,
            "sealed_from": str(self.sealed_from.date()),
            "dataset": self.label,
            "opened": opened,
            "n_looks": n_looks,
        }


def seal_dirs() -> list[Path]:
    """Where seals are written and read: the per-user directory, then the alphalab home."""
    env = os.environ.get(ENV_SEALS)
    if env:
        user = Path(env).expanduser()
    else:
        state = os.environ.get("XDG_STATE_HOME")
        user = (Path(state).expanduser() if state else Path.home() / ".local" / "state") / "alphalab" / "seals"
    home = alphalab_home() / "seals"
    return [user] if user.resolve() == home.resolve() else [user, home]


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def _file_hash(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        from alphalab.data.store import file_sha256

        _HASH_CACHE[key] = file_sha256(path)
    return _HASH_CACHE[key]


def content_hash_of(source: Any, *, store: Any = None) -> tuple[str, str] | None:
    """``(content hash, label)`` of a file, store dataset or embedded name; None for others.

    Raises
    ------
    DataError
        ``source`` names nothing that can be found.
    """
    from alphalab.data.load import resolve_source

    if isinstance(source, pd.DataFrame):
        return None
    kind = resolve_source(source, store=store)
    text = os.fspath(source)
    if kind == "file":
        path = Path(text).expanduser().resolve()
        return _file_hash(path), str(path)
    if kind == "embedded":
        return hashlib.sha256(f"embedded:{text}".encode()).hexdigest(), f"embedded:{text}"
    if kind == "store":
        from alphalab.data.store import Store

        info = Store(store).info(text)
        # the data's identity, not the file's (the file carries the dataset's name)
        return str((info.meta or {}).get("data_hash") or info.content_hash), f"store:{text}"
    return None


def _seal_file(base: Path, content_hash: str) -> Path:
    return base / f"{content_hash[:32]}.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataError(f"seal registry file {path} is unreadable: {exc}") from None


def find_seal(content_hash: str) -> Seal | None:
    """The earliest seal recorded for ``content_hash`` in any registry, or None."""
    found: list[Seal] = []
    for base in seal_dirs():
        data = _read_json(_seal_file(base, content_hash))
        if data and data.get("content_hash") == content_hash:
            found.append(Seal(content_hash, pd.Timestamp(data["sealed_from"]), data.get("dataset", "")))
    return min(found, key=lambda s: s.sealed_from) if found else None


def seal_dataset(content_hash: str, sealed_from: Any, label: str = "", *, source: str = "") -> Seal:
    """Seal ``content_hash`` from ``sealed_from`` (an earlier existing seal is kept).

    Returns the seal now in force (the earliest date).
    """
    when = pd.Timestamp(sealed_from).normalize()
    current = find_seal(content_hash)
    if current is not None and current.sealed_from <= when:
        when = current.sealed_from
    entry = {
        "content_hash": content_hash,
        "sealed_from": str(when.date()),
        "dataset": label,
        "source": source,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for base in seal_dirs():
        base.mkdir(parents=True, exist_ok=True)
        path = _seal_file(base, content_hash)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    return Seal(content_hash, when, label)


def _looks_file(base: Path, content_hash: str, sealed_from: pd.Timestamp) -> Path:
    return base / "looks" / f"{content_hash[:32]}-{sealed_from.date()}.jsonl"


def record_look(seal: Seal, where: str, **details: Any) -> dict[str, Any]:
    """Append one opening of ``seal`` (``where``: which path opened it) to every registry."""
    entry = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "where": where,
             "sealed_from": str(seal.sealed_from.date()), "dataset": seal.label, **details}  # fmt: skip
    line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    for base in seal_dirs():
        append_durably(_looks_file(base, seal.content_hash, seal.sealed_from), line)
    return entry


def _looks(seal: Seal) -> Iterator[dict[str, Any]]:
    """Union of the registries' look lines (a line in both counts once, repeats each)."""
    from collections import Counter

    union: Counter[str] = Counter()
    for base in seal_dirs():
        path = _looks_file(base, seal.content_hash, seal.sealed_from)
        if path.exists():
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            for line, n in Counter(lines).items():
                union[line] = max(union[line], n)
    for line, n in union.items():
        for _ in range(n):
            yield json.loads(line)


def look_summary(seal: Seal) -> dict[str, Any]:
    """``{n_evaluations, n_configs, first, last}`` of every opening of this dataset's seal
    (any study, any path), the union over the registries."""
    entries = sorted(_looks(seal), key=lambda e: e["time"])
    configs = {e.get("config_hash") or e.get("where") for e in entries}
    return {
        "n_evaluations": len(entries),
        "n_configs": len(configs),
        "first": entries[0]["time"] if entries else None,
        "last": entries[-1]["time"] if entries else None,
    }


def seal_panel(panel: Any, content: tuple[str, str] | None, *, open_seal: bool = False,
               where: str = "load") -> Any:  # fmt: skip
    """Apply the seal of ``content`` to a freshly loaded panel.

    Cut at the seal date (default, with a :class:`SealWarning`) or, with ``open_seal``,
    keep everything and mark ``meta["seal"]["opened"]`` (the look is recorded by whoever
    reports results from it: studies, ``validate_strategy``, ``al.run_backtest``).
    """
    if content is None:
        return panel
    seal = find_seal(content[0])
    if seal is None:
        return panel.with_meta(content_hash=panel.meta.get("content_hash") or content[0])
    past = panel.dates >= seal.sealed_from
    info = seal.to_dict(opened=bool(open_seal and past.any()))
    info["cut"] = bool(past.any() and not open_seal)
    # The data's own last date, so checks that need the whole span (a holdout that
    # starts after the data ends) still see it when the panel was cut here.
    info["data_end"] = panel.dates[-1].date().isoformat() if panel.n_dates else None
    if past.any() and not open_seal:
        warnings.warn(
            f"{seal.label or content[1]} is sealed from {seal.sealed_from.date()}: "
            f"{int(past.sum())} date(s) on or after it were not loaded "
            "(open the holdout explicitly, e.g. `alphalab evaluate --holdout`)",
            SealWarning,
            stacklevel=3,
        )
        keep = int((~past).sum())
        if keep == 0:
            raise DataError(
                f"{content[1]} is sealed from {seal.sealed_from.date()}, and every loaded date "
                "is on or after it"
            )
        panel = panel.iloc_dates(slice(0, keep))
    return panel.with_meta(seal=info, content_hash=panel.meta.get("content_hash") or content[0])


def panel_seal(panel: Any) -> Seal | None:
    """The seal a panel carries in ``meta["seal"]`` (None when it carries none)."""
    info = panel.meta.get("seal") if hasattr(panel, "meta") else None
    if not isinstance(info, dict) or not info.get("sealed_from"):
        return None
    return Seal(str(info["content_hash"]), pd.Timestamp(info["sealed_from"]), str(info.get("dataset", "")))


def check_panel(panel: Any, where: str, **details: Any) -> dict[str, Any] | None:
    """For paths that report results from a panel (``al.run_backtest``, ``validate_strategy``):

    * no seal, or no date on or after it: nothing to do (None);
    * dates past the seal on a panel whose seal was opened explicitly: one look is
      recorded and the seal info returned (``opened`` True) for the caller to mark;
    * dates past the seal on a panel that was not opened: :class:`DataError`.
    """
    seal = panel_seal(panel)
    if seal is None or not (panel.dates >= seal.sealed_from).any():
        return None
    info = panel.meta["seal"]
    if not info.get("opened"):
        raise DataError(
            f"{where}: the panel holds dates on or after {seal.sealed_from.date()}, where "
            f"{seal.label} is sealed; load it with open_seal=True to look (the look is recorded)"
        )
    if not info.get("recorded_by"):  # a study records its run as one look itself
        record_look(seal, where, **details)
    return seal.to_dict(opened=True, n_looks=look_summary(seal)["n_evaluations"])
