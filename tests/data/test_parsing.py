"""Strict date parsing shared by the data entry points."""

from __future__ import annotations

import pandas as pd
import pytest

from alphalab.data.parsing import parse_dates
from alphalab.errors import DataError


def test_parse_dates_names_the_first_bad_value_and_handles_zones() -> None:
    ok = parse_dates(pd.Series(["2024-01-02", None]), "c")
    assert ok.iloc[0] == pd.Timestamp("2024-01-02") and pd.isna(ok.iloc[1])
    with pytest.raises(DataError, match=r"^c: 1 value\(s\) missing or not dates, first (None|nan) for 'B' \(row 1\)$"):
        parse_dates(pd.Series(["2024-01-02", None]), "c", required=True, who=pd.Series(["A", "B"]))
    with pytest.raises(DataError, match=r"c: 2 value\(s\).*first 'x' \(row 1\)"):
        parse_dates(pd.Series(["2024-01-02", "x", "2024-13-45"]), "c")
    with pytest.raises(KeyError, match="c: 1 value"):  # the caller's own error class
        parse_dates(pd.Series(["nope"]), "c", error=KeyError)
    # 23:00 in New York on Jan 2 is Jan 3 in UTC (the store's rule) but Jan 2 locally (a vendor's bar).
    ny = pd.Series(pd.to_datetime(["2024-01-02 23:00"]).tz_localize("America/New_York"))
    assert parse_dates(ny, "c").iloc[0] == pd.Timestamp("2024-01-03 04:00")
    assert parse_dates(ny, "c", utc=False).iloc[0] == pd.Timestamp("2024-01-02 23:00")
