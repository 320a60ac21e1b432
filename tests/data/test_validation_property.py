"""The vectorised validator against a plain per-row Python twin, on random dirty frames."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab.data.validation import DROP_RULES, DataQualityWarning, validate_prices

TOL = 1e-9
PRICES = st.sampled_from([1.0, 2.0, 2.5, 3.0, 0.0, -1.0, math.nan, math.inf, -math.inf])
ROW = st.tuples(
    st.sampled_from(["2021-01-04", "2021-01-05", "2021-01-06"]),
    st.sampled_from(["A", "B"]),
    PRICES, PRICES, PRICES, PRICES,
    st.sampled_from([0.0, 10.0, -5.0, math.nan, math.inf]),
)  # fmt: skip


def _reference(rows: list[tuple]) -> list[set[str]]:
    """Rules broken by each row, one row at a time (the slow, obvious way)."""
    out: list[set[str]] = [set() for _ in rows]
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault((r[0], r[1]), []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        values = {repr(rows[i][2:]) for i in members}
        if len(values) > 1:
            for i in members:
                out[i].add("duplicate_key")
        else:
            for i in members[1:]:
                out[i].add("duplicate_row")
    last: dict[str, str] = {}
    for i, (d, t, *_rest) in enumerate(rows):
        if t in last and d < last[t]:
            out[i].add("unsorted")
        last[t] = d
    for i, (_d, _t, o, h, lo, c, v) in enumerate(rows):
        if not math.isfinite(c) or any(math.isinf(x) for x in (o, h, lo)):
            out[i].add("non_finite_price")
        if any(x <= 0 for x in (o, h, lo, c)):
            out[i].add("non_positive_price")
        if h < lo:
            out[i].add("high_below_low")
        if c < lo - TOL * abs(lo) or c > h + TOL * abs(h):
            out[i].add("close_out_of_range")
        if o < lo - TOL * abs(lo) or o > h + TOL * abs(h):
            out[i].add("open_out_of_range")
        if math.isinf(v):
            out[i].add("non_finite_volume")
        if v < 0:
            out[i].add("negative_volume")
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=25))
def test_vectorised_rules_match_the_per_row_twin(rows: list[tuple]) -> None:
    df = pd.DataFrame(rows, columns=["date", "ticker", "open", "high", "low", "close", "volume"])
    expected = _reference(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        clean, rep = validate_prices(df, source="h", mode="lenient")
    for rule in DROP_RULES:
        n = sum(rule in e for e in expected)
        got = rep.fixed.get(rule, 0) if rule == "unsorted" else rep.errors.get(rule, 0)
        assert got == n, rule
    dropped = {i + 1 for i, e in enumerate(expected) if e - {"unsorted"}}
    assert set(rep.dropped["row"].tolist() if len(rep.dropped) else []) == dropped
    assert len(clean) + rep.n_dropped == len(df)
    if len(clean):
        # What lenient mode returns passes strict mode.
        again, rep2 = validate_prices(clean, source="h")
        assert rep2.ok and len(again) == len(clean)
    np.testing.assert_array_equal(np.isfinite(clean["close"].to_numpy()), True)


HOSTILE_TICKER = st.sampled_from(
    ["A", "B", " A", "A ", "", "Ä" * 3, "x" * 65, "x" * 64, "A\x00B", None, "数据", "🚀"]
)
HOSTILE_DATE = st.sampled_from(
    ["2021-01-04", "2021-01-05", "2021-01-06", "garbage", "", None, "1500-01-01", "2021-13-01"]
)
HOSTILE_VALUE = st.sampled_from(
    [1.0, 2.0, 1e308, -1.0, 0.0, math.nan, math.inf, "x", "1.5", None, True]
)
HOSTILE_ROW = st.tuples(HOSTILE_DATE, HOSTILE_TICKER, HOSTILE_VALUE, HOSTILE_VALUE)


@settings(max_examples=120, deadline=None)
@given(st.lists(HOSTILE_ROW, min_size=1, max_size=20))
def test_lenient_never_loses_a_row_silently(rows: list[tuple]) -> None:
    df = pd.DataFrame(rows, columns=["date", "ticker", "close", "volume"]).astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        clean, rep = validate_prices(df, source="h", mode="lenient")
    # kept + dropped == input, and every dropped row is listed once with its rules
    assert rep.n_input == len(df) and rep.n_output == len(clean)
    assert len(clean) + len(rep.dropped) == len(df)
    if len(rep.dropped):
        assert rep.dropped["row"].is_unique
        assert set(rep.dropped["row"]) <= set(range(1, len(df) + 1))
        assert (rep.dropped["rules"] != "").all()
        for labels in rep.dropped["rules"]:
            assert set(labels.split(",")) <= set(DROP_RULES)
    # what is kept is clean: finite positive closes, real dates and tickers
    assert np.isfinite(clean["close"].to_numpy()).all() and (clean["close"] > 0).all()
    assert not clean["date"].isna().any()
    assert all(0 < len(t) <= 64 for t in clean["ticker"])
