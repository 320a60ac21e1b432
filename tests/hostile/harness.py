"""The hostile-input harness: run one input, classify what came back, check the store.

Every case of :mod:`tests.hostile.corpus` builds its input in a temporary
folder, runs one entry point (the CLI in-process through typer's CliRunner,
or a Python API call) and states its expected outcome: a clear error (a
non-zero exit and one ``error:`` line matching a pattern, no traceback) or
the right answer (exit 0 and a check against hand-computed values). After
each case the store is checked: every catalogue row points at a file whose
SHA-256 is its recorded hash, and no dataset changed unless the case said so.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from alphalab.errors import AlphalabError

#: Seconds a case may take before it counts as a hang.
HANG_S = 10.0


@dataclass
class Outcome:
    """What an entry point did: ``error`` (clear), ``ok`` (exit 0) or ``traceback``."""

    kind: str
    text: str = ""
    value: Any = None
    seconds: float = 0.0


@dataclass
class Case:
    """One hostile input.

    ``run(tmp, home)`` builds the input and returns an :class:`Outcome`;
    ``error`` is a regex the error line must match (an error is expected), or
    None when a right answer is expected and ``check(outcome, tmp, home)``
    asserts it. ``changes`` names the store datasets the case may change.
    """

    id: str
    run: Callable[[Path, Path], Outcome]
    error: str | None = None
    check: Callable[[Outcome, Path, Path], None] | None = None
    changes: frozenset[str] = field(default_factory=frozenset)


def cli(*args: str, home: Path, cwd: Path | None = None) -> Outcome:
    """Run ``alphalab ARGS`` in-process with the store at ``home``."""
    from alphalab.cli import app

    env = {"ALPHALAB_HOME": str(home), "COLUMNS": "200"}
    old = os.getcwd()
    t0 = time.perf_counter()
    try:
        if cwd is not None:
            os.chdir(cwd)
        result = CliRunner().invoke(app, list(args), env=env)
    finally:
        os.chdir(old)
    dt = time.perf_counter() - t0
    exc = result.exception
    text = result.output
    if exc is not None and not isinstance(exc, SystemExit):
        return Outcome("traceback", f"{type(exc).__name__}: {exc}", seconds=dt)
    if result.exit_code == 0:
        return Outcome("ok", text, seconds=dt)
    if "Traceback" in text:
        return Outcome("traceback", text, seconds=dt)
    return Outcome("error", text, value=result.exit_code, seconds=dt)


def api(fn: Callable[[], Any]) -> Outcome:
    """Call ``fn``; an :class:`AlphalabError` is a clear error, anything else a traceback."""
    t0 = time.perf_counter()
    try:
        value = fn()
    except AlphalabError as exc:
        return Outcome("error", f"error: {exc}", seconds=time.perf_counter() - t0)
    except Exception as exc:
        return Outcome("traceback", f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)
    return Outcome("ok", "", value=value, seconds=time.perf_counter() - t0)


def store_state(home: Path) -> dict[str, tuple[str, str]]:
    """{name: (content_hash, path)} from the catalogue, after checking every file's hash."""
    from alphalab.data.store import Store

    store = Store(home)
    if not store.catalog_path.exists():
        return {}
    out = {}
    for _, row in store.list().iterrows():
        path = home / row["path"]
        assert path.is_file(), f"catalogue row {row['name']!r} points at a missing file {path}"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == row["content_hash"], f"dataset {row['name']!r}: file and catalogue disagree"
        out[row["name"]] = (row["content_hash"], row["path"])
    return out


def classify(case: Case, outcome: Outcome, tmp: Path, home: Path) -> str:
    """``clear_error``, ``right_answer``, ``wrong_answer``, ``hang`` or ``traceback``."""
    if outcome.kind == "hang" or outcome.seconds > HANG_S:
        return "hang"
    if outcome.kind == "traceback":
        return "traceback"
    if case.error is not None:
        if outcome.kind != "error":
            return "wrong_answer"
        lines = [ln for ln in outcome.text.strip().splitlines() if ln.strip()]
        error_lines = [ln for ln in lines if ln.startswith("error:")]
        # Option errors are click's usage message (exit 2, "Invalid value for '--x'").
        usage = outcome.value == 2 and ("Invalid value" in outcome.text or "No such option" in outcome.text)
        if not (len(error_lines) == 1 or usage):
            return "wrong_answer"
        if not re.search(case.error, outcome.text.replace("\n", " ")):
            return "wrong_answer"
        return "clear_error"
    if outcome.kind != "ok":
        return "wrong_answer"
    if case.check is not None:
        try:
            case.check(outcome, tmp, home)
        except Exception:  # a check that cannot even find what it checks: wrong too
            return "wrong_answer"
    return "right_answer"
