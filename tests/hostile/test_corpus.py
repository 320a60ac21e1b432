"""Every input of the hostile corpus gets its expected outcome, within seconds, store intact.

The outcome counts (clear errors, right answers, wrong answers, hangs,
tracebacks) are printed by ``python -m tests.hostile.summary``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.corpus import CASES
from tests.hostile.harness import HANG_S, Case, classify, store_state


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, case_dirs: tuple[Path, Path]) -> None:
    tmp, home = case_dirs
    # The corpus's store lives at tmp.parent / "home" (cases that link into it rely on that).
    before = store_state(home)
    outcome = case.run(tmp, home)
    verdict = classify(case, outcome, tmp, home)
    assert outcome.seconds < HANG_S, f"took {outcome.seconds:.1f} s"
    expected = "clear_error" if case.error is not None else "right_answer"
    assert verdict == expected, f"{verdict}: {outcome.kind}: {outcome.text[-600:]}"
    after = store_state(home)
    for name, state in before.items():
        if name not in case.changes:
            assert after.get(name) == state, f"dataset {name!r} changed"
    assert set(after) - set(before) <= set(case.changes), sorted(set(after) - set(before))
