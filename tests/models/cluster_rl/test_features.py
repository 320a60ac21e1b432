"""Feature groups and their configurable transforms on real HOSE data: defaults, ranges, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.features.transforms import cs_rank, cs_zscore
from alphalab.models.cluster_rl.features import TRANSFORMS, build_features
from tests.conftest import shared_file

TICKERS = ["FPT", "VNM", "HPG", "SSI", "MWG", "REE", "VCB", "GAS"]


@pytest.fixture(scope="module")
def hose() -> Panel:
    df = pd.read_parquet(shared_file("vn_hose_2006_2020.parquet"),
                         filters=[("date", ">=", pd.Timestamp("2017-01-01")), ("date", "<=", pd.Timestamp("2018-06-30"))])
    return Panel.from_long(df[df.ticker.isin(TICKERS)], ["open", "high", "low", "close", "volume"],
                           meta={"market": "vn.hose"})


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_parquet(shared_file("vn_fundamentals_quarterly_2016_2023.parquet"))


def test_transforms_of_each_group(hose: Panel, table: pd.DataFrame) -> None:
    base = build_features(hose, ["technical", "fundamental"], fundamentals=table)
    ranked = build_features(hose, ["technical", "fundamental"], fundamentals=table,
                            transforms={"technical": "zscore_rank", "fundamental": "rank"})
    zs = build_features(hose, ["technical"], transforms={"technical": "zscore_cs"})
    tech = [k for k in base if k.endswith("_z60")]
    assert tech and set(ranked) == set(base)
    for k in tech:  # the rank / cross-sectional z of the founding rolling z-score
        np.testing.assert_array_equal(ranked[k], cs_rank(base[k], scale="pm1"))
        np.testing.assert_array_equal(zs[k], cs_zscore(base[k]))
        ok = np.isfinite(ranked[k])
        assert ok.any() and (np.abs(ranked[k][ok]) <= 1).all()
    fund = [k for k in base if k.startswith("f_")]
    assert len(fund) == 10
    for k in fund:
        ok = np.isfinite(base[k])
        assert ok.any() and base[k][ok].min() >= 0 and base[k][ok].max() <= 1  # min-max by default
        # ranks keep the order min-max gives, day by day
        np.testing.assert_array_equal(ranked[k], cs_rank(base[k], scale="pm1"))


@pytest.mark.parametrize("tech", TRANSFORMS["technical"])
def test_every_transform_is_causal(hose: Panel, tech: str) -> None:
    cut = 250
    a = build_features(hose, ["technical"], transforms={"technical": tech})
    fields = {f: np.array(hose[f], copy=True) for f in hose.field_names}
    for f in fields:
        fields[f][cut + 1 :] *= 1.37
    b = build_features(Panel(fields, hose.dates, hose.assets), ["technical"], transforms={"technical": tech})
    for k in a:
        np.testing.assert_array_equal(a[k][: cut + 1], b[k][: cut + 1])
