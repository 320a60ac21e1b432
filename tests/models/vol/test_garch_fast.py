"""The compiled GARCH against arch on real Taiwan windows, and its protocols."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab.errors import ConfigError, DataError
from alphalab.models.vol.garch_fast import (
    GarchSpec,
    _backcast,
    _backcast_nb,
    _ols,
    _ols_nb,
    active_set_newton,
    fit_garch,
    nll_grad,
    nll_grad_hess,
    nll_python,
)
from alphalab.models.vol.rolling import filter_path, rolling_garch, rolling_garch_panel
from alphalab.testing import assert_no_leakage
from tests.models.vol.conftest import tw_returns

SPECS = [GarchSpec(True, 0, "normal"), GarchSpec(True, 1, "normal"), GarchSpec(True, 0, "t"),
         GarchSpec(False, 1, "t")]


@pytest.fixture(scope="module")
def r_pct() -> np.ndarray:
    return tw_returns("2498").to_numpy() * 100


def _arch(y: np.ndarray, spec: GarchSpec, **fit):
    from arch import arch_model

    am = arch_model(y, mean="AR" if spec.ar else "Constant", lags=1 if spec.ar else 0, vol="GARCH",
                    p=1, o=spec.o, q=1, dist=spec.dist, rescale=False)
    return am


def _arch_vector(spec: GarchSpec, th: np.ndarray) -> np.ndarray:
    return th[spec.free]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_likelihood_matches_arch_and_python_twin(r_pct: np.ndarray, spec: GarchSpec) -> None:
    y = r_pct[2000:2090]
    mu, phi, resid = _ols(y, spec.ar)
    bc = _backcast(resid)
    th = np.array([mu, phi, 0.3 * resid.var(), 0.08, 0.05 if spec.o else 0.0, 0.85, 7.0 if spec.dist == "t" else 0.0])
    val, grad = nll_grad(th, y, bc, spec.ar, spec.dist == "t")
    assert val == pytest.approx(nll_python(th, y, bc, spec.ar, spec.dist == "t"), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = _arch(y, spec).fix(_arch_vector(spec, th))
    assert -val == pytest.approx(fixed.loglikelihood, rel=1e-10)
    # analytic gradient against central differences
    for i in spec.free:
        step = 1e-6 * max(1.0, abs(th[i]))
        up, dn = th.copy(), th.copy()
        up[i] += step
        dn[i] -= step
        num = (nll_grad(up, y, bc, spec.ar, spec.dist == "t")[0] - nll_grad(dn, y, bc, spec.ar, spec.dist == "t")[0]) / (2 * step)
        assert grad[i] == pytest.approx(num, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("start,n", [(1500, 90), (3000, 90), (2500, 750)])
def test_fit_agrees_with_arch(r_pct: np.ndarray, spec: GarchSpec, start: int, n: int) -> None:
    y = r_pct[start : start + n]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _arch(y, spec).fit(disp="off", options={"ftol": 1e-12, "maxiter": 2000})
        ref_var = float(ref.forecast(horizon=1, reindex=False).variance.to_numpy()[0, 0])
    ours = fit_garch(y, spec)
    assert ours.converged
    # the log-likelihood is not worse than arch's
    assert ours.loglik >= ref.loglikelihood - 1e-7 * abs(ref.loglikelihood)
    rel = abs(ours.forecast_var / ref_var - 1)
    a_ref = np.asarray(ref.params)[list(ref.params.index).index("alpha[1]")]
    on_bound = min(ours.params[3], a_ref) < 1e-6  # alpha = 0: a flat ridge, the forecast is not identified
    if ours.loglik > ref.loglikelihood + 1e-6:
        return  # arch stopped short of the optimum we found
    if on_bound:
        assert rel <= 1e-2, (rel, ours.loglik, ref.loglikelihood)
    else:
        assert rel <= 1e-4, (rel, ours.loglik, ref.loglikelihood)


@pytest.mark.parametrize("ar", [True, False])
def test_compiled_ols_and_backcast_match_their_python_twins(r_pct: np.ndarray, ar: bool) -> None:
    y = np.ascontiguousarray(r_pct[1000:1090])
    mu, phi, resid = _ols(y, ar)
    mu2, phi2, resid2 = _ols_nb(y, ar)
    assert (mu2, phi2) == pytest.approx((mu, phi), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(resid2, resid, rtol=1e-12, atol=1e-13)
    assert _backcast_nb(resid2) == pytest.approx(_backcast(resid), rel=1e-12)


def test_warm_start_reaches_the_same_optimum(r_pct: np.ndarray) -> None:
    y = r_pct[3000:3090]
    cold = fit_garch(y)
    warm = fit_garch(y, start=fit_garch(r_pct[2999:3089]).params)
    assert warm.loglik == pytest.approx(cold.loglik, abs=1e-6)
    assert warm.forecast_var == pytest.approx(cold.forecast_var, rel=1e-4)


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="finite"):
        fit_garch(np.array([1.0, np.nan] * 20))
    with pytest.raises(DataError, match="zero variance"):
        fit_garch(np.ones(50))
    with pytest.raises(ConfigError, match="dist"):
        GarchSpec(dist="skewt")
    with pytest.raises(ConfigError):
        rolling_garch(np.zeros(100), refit_every=0)


def test_founding_protocol_forecasts_are_the_window_fits(r_pct: np.ndarray) -> None:
    r = r_pct[:400] / 100
    rows = np.arange(300, 320)
    res = rolling_garch(r, window=90, rows=rows)
    assert res.n_fits == 20 and res.n_failed == 0
    for t in (300, 310, 319):
        f = fit_garch(r[t - 89 : t + 1] * 100)
        assert res.variance[t] * 1e4 == pytest.approx(f.forecast_var, rel=1e-4)
    assert np.isnan(res.variance[:300]).all()


def test_practical_protocol_filters_between_refits(r_pct: np.ndarray) -> None:
    r = r_pct[:600] / 100
    res = rolling_garch(r, window=None, refit_every=20, rows=np.arange(500, 540))
    assert res.n_fits == 2
    f = fit_garch(r[:501] * 100)
    _, _, resid = _ols(r[:501] * 100, True)
    path = filter_path(f.params, r[:520] * 100, _backcast(resid), True)
    np.testing.assert_allclose(res.variance[500:520] * 1e4, path[500:520], rtol=1e-4)


def test_rolling_panel_is_leak_free(tw_panel) -> None:
    from alphalab.models.vol.targets import returns

    p = tw_panel.iloc_dates(slice(0, 200)).select_assets(list(tw_panel.assets[:2]))

    def fn(panel):
        var, _, _ = rolling_garch_panel(returns(panel), window=90, refit_every=5, rows=np.arange(150, panel.n_dates))
        return var

    assert_no_leakage(fn, p, n_trials=2, cutoffs=[160, 180], perturb=("scale",))


def test_analytic_hessian_matches_differences_of_the_gradient(r_pct: np.ndarray) -> None:
    y = np.ascontiguousarray(r_pct[2000:2090])
    for spec in SPECS:
        t_dist = spec.dist == "t"
        mu, phi, resid = _ols(y, spec.ar)
        bc = _backcast(resid)
        th = np.array([mu, phi, 0.3 * resid.var(), 0.08, 0.05 if spec.o else 0.0, 0.85, 7.0 if t_dist else 0.0])
        val, grad, hess = nll_grad_hess(th, y, bc, spec.ar, t_dist)
        v2, g2 = nll_grad(th, y, bc, spec.ar, t_dist)
        assert val == v2
        np.testing.assert_allclose(grad[spec.free], g2[spec.free], rtol=1e-12, atol=1e-12)
        for i in spec.free:
            step = 1e-4 * max(1.0, abs(th[i]))
            up, dn = th.copy(), th.copy()
            up[i] += step
            dn[i] -= step
            col = (nll_grad(up, y, bc, spec.ar, t_dist)[1] - nll_grad(dn, y, bc, spec.ar, t_dist)[1]) / (2 * step)
            np.testing.assert_allclose(hess[spec.free, i], col[spec.free], rtol=1e-5, atol=1e-4 * np.abs(hess).max())


def test_active_set_newton_stays_at_the_slsqp_optimum(r_pct: np.ndarray) -> None:
    """Started at SLSQP's optimum (arch's search), the compiled solver accepts it as a KKT point."""
    from alphalab.models.vol.garch_fast import _constraint_rows

    spec = GarchSpec()
    accepted = 0
    for s in range(2000, 2400, 40):
        y = np.ascontiguousarray(r_pct[s : s + 90])
        f = fit_garch(y, method="arch")
        _, _, resid = _ols(y, True)
        v = float(np.mean(resid**2))
        big = max(abs(float(y.mean())), 1.0) * 10.0 * np.sqrt(v) + 10.0
        lo = np.array([-big, -big, 1e-8 * v, 0.0, 0.0, 0.0, 0.0])
        hi = np.array([big, big, 10 * v, 1.0, 0.0, 1.0, 0.0])
        a_mat, b = _constraint_rows(spec.free, False, lo, hi)
        z0 = np.clip(f.params[spec.free], lo[spec.free], hi[spec.free])
        _, nll, ok, n_iter = active_set_newton(z0, spec.free, f.params, a_mat, b, y, _backcast(resid), True, False)
        if ok:
            accepted += 1
            assert -nll >= f.loglik - 1e-6  # a KKT point next to SLSQP's: the likelihood does not drop
            assert n_iter <= 15
    assert accepted >= 9


def _window(ticker: str, end: str, n: int = 90) -> np.ndarray:
    r = tw_returns(ticker)
    pos = int(r.index.searchsorted(pd.Timestamp(end), side="right"))
    return np.ascontiguousarray(r.to_numpy()[pos - n : pos] * 100)


# 90-day windows of the founding protocol (found by benchmarks/garch_speed.py). Multi-modal:
# Newton from arch's start alone stops at a worse local optimum than arch's SLSQP reaches,
# ridge (omega = alpha = 0, persistence ~1) vs interior (2376, 3030), ARCH(1) with beta = 0
# vs the others (2601). 1201: where the previous single-active-set warm Newton settled 5
# log-likelihood points below arch.
HARD = [("2376", "2012-03-14", True), ("3030", "2012-01-04", True), ("2601", "2016-05-26", True),
        ("1201", "2012-01-17", False)]


@pytest.mark.parametrize("ticker,end,multimodal", HARD)
def test_hard_windows_are_never_worse_than_arch(ticker: str, end: str, multimodal: bool) -> None:
    y = _window(ticker, end)
    spec = GarchSpec()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _arch(y, spec).fit(disp="off")
    ours = fit_garch(y)
    assert ours.converged and ours.solver == "newton"
    assert ours.loglik >= ref.loglikelihood - 1e-6
    # the independent check: arch's own likelihood at our parameters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at_ours = _arch(y, spec).fix(ours.params[spec.free]).loglikelihood
    assert at_ours >= ref.loglikelihood - 1e-6
    if multimodal:
        # the window really has several optima: from arch's start alone a local method misses arch's
        single = fit_garch(y, n_grid=1)
        assert single.converged and single.loglik < ref.loglikelihood - 1e-3


def test_rolling_windows_never_worse_than_arch(r_pct: np.ndarray) -> None:
    """The default (warm-started, multi-start) rolling fits against arch's cold fits, window by window."""
    r = r_pct[:1500] / 100
    rows = np.arange(1400, 1440)
    res = rolling_garch(r, window=90, rows=rows)
    assert res.n_fits == 40 and res.n_failed == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.array([_arch(r_pct[t - 89 : t + 1], GarchSpec()).fit(disp="off").loglikelihood for t in rows])
    assert (res.loglik[rows] >= ref - 1e-6).all()
    slsqp = rolling_garch(r, window=90, rows=rows, method="arch")
    assert (slsqp.loglik[rows] >= ref - 1e-6).all()
