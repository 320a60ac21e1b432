"""Shared fixtures: paths to the real datasets in ../shared/data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests never read or write the user's own store, feature cache, holdout ledger or
# matplotlib cache: each test process gets a private sandbox (tests that need a
# specific root still set their own with monkeypatch).
_SANDBOX = Path(tempfile.mkdtemp(prefix="alphalab-tests-"))
os.environ["ALPHALAB_HOME"] = str(_SANDBOX / "home")
os.environ["ALPHALAB_CACHE"] = str(_SANDBOX / "cache")
os.environ["MPLCONFIGDIR"] = str(_SANDBOX / "matplotlib")
# Data seals live in a per-user directory outside ALPHALAB_HOME (alphalab.data.seal);
# tests keep theirs in the sandbox too.
os.environ["ALPHALAB_SEALS"] = str(_SANDBOX / "seals")
SHARED_DATA = Path(os.environ.get("ALPHALAB_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"shared dataset {path} is missing; CI expects ../shared/data beside the repo")
    return path


@pytest.fixture(autouse=True)
def _no_seals_from_other_tests() -> None:
    """Every test starts with no data sealed: a study with a holdout seals its dataset,
    and that seal must not cut the same file when a later test in this process loads it."""
    import shutil

    for base in (Path(os.environ["ALPHALAB_SEALS"]), Path(os.environ["ALPHALAB_HOME"]) / "seals"):
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def us_sp500_long() -> pd.DataFrame:
    return pd.read_parquet(shared_file("us_sp500_5yr.parquet"))


@pytest.fixture(scope="session")
def vn30_long() -> pd.DataFrame:
    return pd.read_parquet(shared_file("vn30_2016_2019.parquet"))
