"""Position-manager state machine: hand-built sequences (cooldown, max adds, exits) and parity with the twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from alphalab.errors import ConfigError
from alphalab.portfolio.pm_config import PMConfig
from alphalab.portfolio.pm_kernel import N_SIG, SIG, pm_run, pm_search_stateful
from alphalab.portfolio.pm_kernel_py import pm_run_py, pm_search_stateful_py


def _sig(n: int, a: int = 1, **over: float | np.ndarray) -> np.ndarray:
    """Signals that pass every default entry threshold on the long side, constant price."""
    base = {"p_long": 0.7, "p_short": 0.1, "p_entry_long": 0.7, "p_entry_short": 0.2, "edge_long": 40.0,
            "edge_short": -40.0, "risk_market": 0.1, "risk_long": 0.1, "risk_short": 0.1, "liq": np.nan,
            "price": 100.0, "ret": 0.0}
    base.update(over)
    sig = np.zeros((N_SIG, n, a))
    for name, i in SIG.items():
        sig[i] = np.broadcast_to(np.asarray(base[name], float).reshape(-1, 1) if np.ndim(base[name]) else base[name], (n, a))
    return sig


def _cfg(**sections) -> PMConfig:
    return PMConfig.from_dict(sections)


def _events(sig, cfg):
    t, e = pm_run(sig, cfg.vector())
    t2, e2 = pm_run_py(sig, cfg)
    np.testing.assert_array_equal(e, e2)
    np.testing.assert_allclose(t, t2, rtol=0, atol=1e-15)
    return t[:, 0], e[:, 0]


def test_open_then_adds_respect_cooldown_and_max_adds() -> None:
    cfg = _cfg(add={"max_adds": 2, "cooldown_bars": 3, "min_edge_bps": 15, "min_continuation": 0.55},
               exit={"max_hold_bars": 50})
    w, ev = _events(_sig(20), cfg)
    assert ev[0] == 1
    adds = np.flatnonzero(ev == 2)
    np.testing.assert_array_equal(adds, [3, 6])       # every 3 bars, then max adds reached
    assert np.all(np.diff(w[:7]) >= 0) and w[6] <= cfg.sizing.max_position + 1e-12
    assert ev[19] == 17                               # forced exit at the last bar
    # cooldown 5 -> adds at 5, 10
    cfg5 = _cfg(add={"max_adds": 2, "cooldown_bars": 5}, exit={"max_hold_bars": 50})
    _, ev5 = _events(_sig(20), cfg5)
    np.testing.assert_array_equal(np.flatnonzero(ev5 == 2), [5, 10])
    # no add when the continuation probability is too low
    cfg_c = _cfg(add={"min_continuation": 0.9}, exit={"max_hold_bars": 50})
    _, evc = _events(_sig(20), cfg_c)
    assert not (evc == 2).any()


def test_exits_stop_take_profit_time_flip() -> None:
    cfg = _cfg(exit={"max_hold_bars": 4, "stop_bps": 100, "take_profit_bps": 200, "reentry_bars": 2},
               add={"max_adds": 0})
    _, ev = _events(_sig(12), cfg)
    assert ev[0] == 1 and ev[4] == 12                 # time limit after 4 bars held
    assert ev[5] == 0 and ev[6] == 1                  # re-entry after 2 bars
    price = np.array([100, 100, 98.9, 100, 100, 103, 100, 100], float)
    _, ev = _events(_sig(8, price=price), cfg)
    assert ev[2] == 10                                # stop: -110 bps
    price = np.array([100, 102.5, 100, 100], float)
    _, ev = _events(_sig(4, price=price), cfg)
    assert ev[1] == 11                                # take profit: +250 bps
    pl = np.array([0.7, 0.7, 0.1, 0.1])
    ps = np.array([0.1, 0.1, 0.7, 0.7])
    _, ev = _events(_sig(4, p_long=pl, p_short=ps), cfg)
    assert ev[2] == 13                                # direction flip exits (shorts not allowed: no reopen)
    edge = np.array([40, 40, -50, 40], float)
    _, ev = _events(_sig(4, edge_long=edge), cfg)
    assert ev[2] == 14


def test_reduce_once_and_entry_filters() -> None:
    risk = np.array([0.1, 0.3, 0.7, 0.7, 0.7])
    cfg = _cfg(reduce={"position_risk": 0.65, "fraction": 0.5}, add={"max_adds": 0},
               entry={"position_risk_max": 0.5}, exit={"max_hold_bars": 50})
    w, ev = _events(_sig(5, risk_long=risk), cfg)
    assert ev[2] == 3 and w[2] == pytest.approx(w[1] / 2) and ev[3] == 0 and w[3] == w[2]
    # market risk above the entry maximum: never opens
    _, ev = _events(_sig(5, risk_market=0.6), cfg)
    assert not ev.any()
    # short side opens only when allowed
    short = {"p_long": 0.1, "p_short": 0.7, "p_entry_short": 0.7, "edge_short": 40.0}
    w, ev = _events(_sig(3, **short), cfg)
    assert not ev.any()
    w, ev = _events(_sig(3, **short), _cfg(sizing={"allow_short": True}))
    assert ev[0] == 1 and w[0] < 0


def test_liquidity_and_gross_caps() -> None:
    cfg = _cfg(sizing={"liquidity_use": 0.1, "max_position": 0.5, "base_ratio": 0.4, "max_gross": 0.6})
    w, _ = pm_run(_sig(3, 4, liq=0.5), cfg.vector())
    assert np.all(np.abs(w[0]) <= 0.05 + 1e-12)       # 10% of a bar worth 0.5 of capital
    w, _ = pm_run(_sig(3, 4), cfg.vector())
    assert np.abs(w[0]).sum() == pytest.approx(0.6)   # gross cap scales the row


@settings(max_examples=25, deadline=None)
@given(seed=hst.integers(0, 10_000), short=hst.booleans())
def test_parity_random_signals(seed: int, short: bool) -> None:
    rng = np.random.default_rng(seed)
    n, a = 40, 3
    p = rng.dirichlet([1, 1, 1], size=(n, a))
    sig = _sig(n, a)
    sig[SIG["p_long"]], sig[SIG["p_short"]] = p[..., 0], p[..., 1]
    for k in ("p_entry_long", "p_entry_short", "risk_market", "risk_long", "risk_short"):
        sig[SIG[k]] = rng.uniform(0, 1, (n, a))
    sig[SIG["edge_long"]] = rng.normal(10, 30, (n, a))
    sig[SIG["edge_short"]] = rng.normal(10, 30, (n, a))
    sig[SIG["price"]] = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, a)), axis=0))
    sig[SIG["ret"]] = rng.normal(0, 0.02, (n, a))
    sig[SIG["ret"]][rng.uniform(size=(n, a)) < 0.05] = np.nan
    sig[SIG["liq"]] = rng.uniform(0.1, 2, (n, a))
    cfgs = [PMConfig().with_entry(dir_min=d, entry_min=e) for d in (0.3, 0.4) for e in (0.3, 0.5)]
    cfgs = [PMConfig.from_dict({**c.to_dict(), "sizing": {**c.to_dict()["sizing"], "allow_short": short}}) for c in cfgs]
    for c in cfgs:
        t1, e1 = pm_run(sig, c.vector())
        t2, e2 = pm_run_py(sig, c)
        np.testing.assert_array_equal(e1, e2)
        np.testing.assert_allclose(t1, t2, atol=1e-15)
    m1, _ = pm_search_stateful(sig, np.stack([c.vector() for c in cfgs]), 7.5)
    m2 = pm_search_stateful_py(sig, cfgs, 7.5)
    np.testing.assert_allclose(m1, m2, rtol=1e-9, atol=1e-9)


def test_config_validation_and_hash() -> None:
    with pytest.raises(ConfigError, match="no section"):
        PMConfig.from_dict({"entri": {}})
    with pytest.raises(ConfigError, match=r"add has no key"):
        PMConfig.from_dict({"add": {"max_add": 1}})
    with pytest.raises(ConfigError, match="max_adds"):
        PMConfig.from_dict({"add": {"max_adds": 1.5}})
    with pytest.raises(ConfigError, match="allow_short"):
        PMConfig.from_dict({"sizing": {"allow_short": "yes"}})
    with pytest.raises(ConfigError, match="finite"):
        PMConfig.from_dict({"entry": {"dir_min": float("nan")}})
    a, b = PMConfig(), PMConfig().with_entry(dir_min=0.5)
    assert a.sha256() != b.sha256() and a.sha256() == PMConfig.from_dict(a.to_dict()).sha256()
    assert len(a.sha256()) == 64


def test_decisions_never_read_later_signals() -> None:
    """Leakage guard for the state machine: targets and events up to t ignore signals after t."""
    rng = np.random.default_rng(7)
    n, a = 60, 4
    sig = _sig(n, a)
    sig[SIG["p_long"]] = rng.uniform(0.3, 0.8, (n, a))
    sig[SIG["edge_long"]] = rng.normal(20, 30, (n, a))
    sig[SIG["price"]] = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, a)), axis=0))
    cfg = PMConfig().vector()
    t0, e0 = pm_run(sig, cfg)
    k = 35
    moved = sig.copy()
    moved[:, k + 1:] = rng.permutation(moved[:, k + 1:].ravel()).reshape(moved[:, k + 1:].shape)
    t1, e1 = pm_run(moved, cfg)
    np.testing.assert_array_equal(t0[: k + 1], t1[: k + 1])
    np.testing.assert_array_equal(e0[: k + 1], e1[: k + 1])
