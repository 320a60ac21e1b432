"""The compiled GARCH against arch on real Taiwan windows, and its protocols."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from alphalab.errors import ConfigError, DataError
from alphalab.models.vol.garch_fast import (
    GarchSpec,
    _backcast,
    _ols,
    fit_garch,
    nll_grad,
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


def test_newton_accepts_the_slsqp_optimum_as_a_kkt_point(r_pct: np.ndarray) -> None:
    from alphalab.models.vol.garch_fast import newton_fit

    accepted = 0
    for s in range(2000, 2400, 40):
        y = r_pct[s : s + 90]
        f = fit_garch(y)
        _, _, resid = _ols(y, True)
        th, ok = newton_fit(f.params, GarchSpec().free, y, _backcast(resid), True, False, False, 1e-8 * float(np.mean(resid**2)))
        if ok:
            accepted += 1
            # a KKT point next to SLSQP's: the likelihood does not drop
            assert -nll_grad(th, y, _backcast(resid), True, False)[0] >= f.loglik - 1e-6
    assert accepted >= 7


@pytest.mark.parametrize("method", ["arch", "newton"])
def test_warm_methods_never_lose_much_to_the_cold_fit(r_pct: np.ndarray, method: str) -> None:
    r = r_pct[:1500] / 100
    rows = np.arange(1400, 1440)
    res = rolling_garch(r, window=90, rows=rows, method=method)
    cold = np.array([fit_garch(r[t - 89 : t + 1] * 100).loglik for t in rows])
    diff = res.loglik[rows] - cold
    if method == "arch":
        assert (diff >= -1e-9 * np.abs(cold)).all()  # never worse than arch's own search
    else:
        assert np.mean(diff >= -1e-6) >= 0.8  # newton: faster, may settle on a worse local optimum
