"""``fixed`` with asset groups and ``absent: drop`` on the real ETF file: any ticker list runs."""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.errors import ConfigError
from alphalab.portfolio import Fixed
from tests.models.deep_portfolio.conftest import etf_panel

GROUPS = {"equity": ["SPY", "QQQ", "EEM"], "treasuries": ["TLT", "IEF"], "gold": ["GLD", "SLV"],
          "credit": ["HYG", "LQD"]}


def _row(strategy: Fixed, panel, date: str = "2012-03-01") -> np.ndarray:
    strategy.fit(panel, until=date)
    return strategy.decide(panel, panel.dates[[panel.dates.searchsorted(date)]])[0]


def test_groups_on_the_default_tickers_are_the_named_weights() -> None:
    panel = etf_panel()
    by_group = _row(Fixed({"equity": 0.4, "treasuries": 0.4, "gold": 0.1, "credit": 0.1},
                          groups=GROUPS, absent="drop"), panel)
    by_name = _row(Fixed({"SPY": 0.4, "TLT": 0.4, "GLD": 0.1, "HYG": 0.1}), panel)
    np.testing.assert_allclose(by_group, by_name)


def test_group_weight_split_over_members_in_the_data() -> None:
    panel = etf_panel(("QQQ", "EEM", "IEF", "LQD"))
    f = Fixed({"equity": 0.6, "treasuries": 0.4}, groups=GROUPS)
    w = dict(zip(panel.assets, _row(f, panel), strict=True))
    assert w == pytest.approx({"EEM": 0.3, "QQQ": 0.3, "IEF": 0.4, "LQD": 0.0})
    assert f.diagnostics_["notes"] == []
    assert f.diagnostics_["sleeves"]["equity"]["tickers"] == ["QQQ", "EEM"]  # group order


def test_a_member_not_priced_yet_leaves_the_group_to_the_others() -> None:
    # HYG lists 2007-04-11: before it the credit group is LQD alone.
    panel = etf_panel(("SPY", "HYG", "LQD"), start="2006-01-01")
    w = _row(Fixed({"equity": 0.5, "credit": 0.5}, groups=GROUPS), panel, "2006-06-01")
    assert w[list(panel.assets).index("LQD")] == pytest.approx(0.5)
    assert w[list(panel.assets).index("HYG")] == 0.0


def test_absent_drop_rescales_and_says_so() -> None:
    panel = etf_panel(("QQQ", "IEF", "LQD"))
    f = Fixed({"equity": 0.4, "treasuries": 0.4, "gold": 0.1, "credit": 0.1}, groups=GROUPS,
              absent="drop")
    w = _row(f, panel)
    assert w.sum() == pytest.approx(1.0)
    assert w[list(panel.assets).index("QQQ")] == pytest.approx(0.4 / 0.9)
    notes = f.diagnostics_["notes"]
    assert any("group 'gold'" in n and "dropped" in n for n in notes), notes
    assert any("scaled by 1.111" in n for n in notes), notes


def test_absent_drop_with_nothing_left_holds_cash_and_says_so() -> None:
    panel = etf_panel(("IWM", "VNQ"))
    f = Fixed({"equity": 0.6, "treasuries": 0.4}, groups={"equity": ["SPY"], "treasuries": ["TLT"]},
              absent="drop")
    assert (_row(f, panel) == 0).all()
    assert any("holds cash" in n for n in f.diagnostics_["notes"])


def test_absent_error_names_the_missing_group_and_ticker() -> None:
    panel = etf_panel(("QQQ", "IEF"))
    with pytest.raises(ConfigError, match=r"group\(s\) \['gold'\].*absent: drop"):
        _row(Fixed({"equity": 0.6, "gold": 0.4}, groups=GROUPS), panel)
    with pytest.raises(ConfigError, match=r"ticker\(s\) \['SPY'\]"):
        _row(Fixed({"SPY": 0.6, "IEF": 0.4}), panel)


def test_dollar_neutral_book_keeps_its_gross_when_a_leg_is_dropped() -> None:
    panel = etf_panel(("QQQ", "IEF"))
    f = Fixed({"QQQ": 0.5, "IEF": -0.5, "SPY": 0.5, "TLT": -0.5}, absent="drop")
    w = _row(f, panel)
    assert np.abs(w).sum() == pytest.approx(2.0) and w.sum() == pytest.approx(0.0)
