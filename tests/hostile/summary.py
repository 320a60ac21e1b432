"""Count the corpus outcomes: ``python -m tests.hostile.summary`` (from the repo root).

Prints one line per case that did not get its expected outcome, then the
counts of clear errors, right answers, wrong answers, hangs and tracebacks.
"""

from __future__ import annotations

import collections
import shutil
import signal
import tempfile
from pathlib import Path

from tests.hostile.conftest import seed_store
from tests.hostile.corpus import CASES
from tests.hostile.harness import HANG_S, Outcome, classify


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def _run(case, tmp: Path, home: Path) -> Outcome:
    """The case, interrupted after 3 x HANG_S (a blocked open() of a FIFO included)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(3 * HANG_S))
    try:
        return case.run(tmp, home)
    except _Hang:
        return Outcome("hang", "interrupted", seconds=3 * HANG_S)
    finally:
        signal.alarm(0)


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as d:
        template = Path(d) / "template"
        seed_store(template)
        for i, case in enumerate(CASES):
            base = Path(d) / f"c{i}"
            home, tmp = base / "home", base / "work"
            shutil.copytree(template, home)
            tmp.mkdir()
            out = _run(case, tmp, home)
            verdict = classify(case, out, tmp, home)
            if verdict == "clear_error" and case.error is None:
                verdict = "wrong_answer"
            counts[verdict] += 1
            expected = "clear_error" if case.error is not None else "right_answer"
            if verdict != expected:
                print(f"{case.id}: {verdict} ({out.kind}) {out.text.strip()[-300:]}")
    print(f"{len(CASES)} inputs: " + ", ".join(
        f"{k} {counts.get(k, 0)}"
        for k in ("clear_error", "right_answer", "wrong_answer", "hang", "traceback")
    ))


if __name__ == "__main__":
    main()
