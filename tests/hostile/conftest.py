"""Fixtures of the hostile-input suite: a template store copied fresh into every case."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def seed_store(root: Path) -> None:
    """The store every case starts from: dataset ``base`` (AAA, BBB; 30 sessions)."""
    import pandas as pd

    from alphalab.data.store import Store

    dates = pd.bdate_range("2020-01-02", periods=30)
    rows = [
        {"date": d, "ticker": t, "close": base + i, "volume": 1000.0}
        for i, d in enumerate(dates)
        for t, base in (("AAA", 100.0), ("BBB", 200.0))
    ]
    Store(root).write(pd.DataFrame(rows), "base", market="us", adjusted="raw")


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "home"
    seed_store(root)
    return root


@pytest.fixture
def case_dirs(tmp_path: Path, template_store: Path) -> tuple[Path, Path]:
    """(tmp, home): an empty work folder and a fresh copy of the template store beside it."""
    home = tmp_path / "home"
    shutil.copytree(template_store, home)
    work = tmp_path / "work"
    work.mkdir()
    return work, home
