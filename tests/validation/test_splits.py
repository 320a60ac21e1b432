from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab import ConfigError
from alphalab.validation.splits import CombinatorialPurgedCV, WalkForward, parse_duration

DATES = pd.bdate_range("2010-01-01", "2016-12-31")


def test_parse_duration() -> None:
    assert parse_duration("3y").unit == "y"
    assert parse_duration("5d").is_bars
    assert parse_duration(7).count == 7
    for bad in ("3 years", "", "-1d", -2, 1.5, None):
        with pytest.raises(ConfigError):
            parse_duration(bad)


def test_expanding_walk_forward_covers_everything_after_first_train() -> None:
    folds = WalkForward(train="3y", test="6m", purge="5d").split(DATES)
    first_test = folds[0].test[0]
    assert DATES[first_test] >= DATES[0] + pd.DateOffset(years=3)
    tested = np.concatenate([f.test for f in folds])
    assert (np.diff(tested) == 1).all()  # contiguous, no overlap, no gap
    assert tested[-1] == len(DATES) - 1
    for f in folds:
        assert f.train[0] == 0
        assert f.train[-1] == f.test[0] - 5 - 1  # purged
    assert len(folds) == 8


def test_rolling_window_is_fixed_length_in_calendar_time() -> None:
    folds = WalkForward(train="2y", test="1y", mode="rolling").split(DATES)
    for f in folds:
        span = DATES[f.test[0]] - DATES[f.train[0]]
        assert pd.Timedelta(days=700) < span <= pd.Timedelta(days=2 * 366)


def test_holdout_end_is_respected() -> None:
    end = int(DATES.searchsorted(pd.Timestamp("2015-01-01")))
    folds = WalkForward(train="2y", test="6m").split(DATES, end=end)
    assert max(f.test[-1] for f in folds) == end - 1


def test_bar_windows_and_errors() -> None:
    folds = WalkForward(train=100, test=20).split(DATES[:200])
    assert [len(f.test) for f in folds] == [20] * 5
    with pytest.raises(ConfigError, match="too short"):
        WalkForward(train="10y", test="6m").split(DATES)
    with pytest.raises(ConfigError, match="mode"):
        WalkForward(mode="sliding")
    with pytest.raises(ConfigError, match="bars"):
        WalkForward(purge="1m")


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(60, 400),
    train=st.integers(10, 50),
    test=st.integers(1, 30),
    purge=st.integers(0, 9),
    mode=st.sampled_from(["expanding", "rolling"]),
)
def test_no_training_row_touches_its_test_block(n, train, test, purge, mode) -> None:
    folds = WalkForward(train=train, test=test, purge=purge, mode=mode).split(DATES[:n])
    for f in folds:
        assert f.train.size == 0 or f.train[-1] < f.test[0] - purge
        if mode == "rolling":
            assert f.train.size <= train


def test_cpcv_purges_and_embargoes() -> None:
    cv = CombinatorialPurgedCV(n_groups=6, n_test_groups=2, purge=3, embargo=4)
    folds = cv.split(600)
    assert len(folds) == 15
    for f in folds:
        assert np.intersect1d(f.train, f.test).size == 0
        test_set = set(f.test.tolist())
        for t in f.train:
            # no training row within 3 bars before or 4 bars after any test row
            assert all((t + k) not in test_set for k in range(1, 4))
            assert all((t - k) not in test_set for k in range(1, 5))
    with pytest.raises(ConfigError):
        CombinatorialPurgedCV(n_groups=3, n_test_groups=3)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(30, 400), start=st.integers(0, 500), train=st.integers(3, 60))
def test_no_test_row_before_start(n: int, start: int, train: int) -> None:
    dates = pd.bdate_range("2015-01-01", periods=n)
    wf = WalkForward(train=train, test=10, purge=2)
    if max(train, start) + 2 >= n:
        with pytest.raises(ConfigError, match="too short"):
            wf.split(dates, start=start)
        return
    folds = wf.split(dates, start=start)
    assert folds[0].test[0] == max(train, start)  # the later of data.start and the first window
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(tested, np.arange(max(train, start), n))
    for f in folds:  # history before start is training material
        assert f.train[0] == 0 and f.train[-1] < f.test[0] - 2


def test_single_split() -> None:
    from alphalab.validation.splits import SingleSplit

    dates = pd.bdate_range("2015-01-01", periods=50)
    (fold,) = SingleSplit().split(dates, start=20)
    assert np.array_equal(fold.train, np.arange(20)) and np.array_equal(fold.test, np.arange(20, 50))
    (fold,) = SingleSplit().split(dates, start=20, end=30)
    assert fold.test[-1] == 29
    with pytest.raises(ConfigError, match="no rows to test"):
        SingleSplit().split(dates, start=50)
