"""A compiled (AR(1)-)GARCH(1,1) / GJR-GARCH(1,1,1) estimator that reproduces ``arch``.

Same model, likelihood and constraints as ``arch.arch_model(y, mean="AR"|"Constant",
lags=1, vol="GARCH", p=1, o=0|1, q=1, dist="normal"|"t")``:

* mean: ``e_i = y_i - mu - phi * y_{i-1}`` for ``i = 1 .. n-1`` (AR(1); the
  first observation only feeds the lag) or ``e_i = y_i - mu`` (constant);
* variance: ``s_0 = omega + (alpha + gamma / 2 + beta) * bc`` and
  ``s_i = omega + (alpha + gamma * [e_{i-1} < 0]) * e_{i-1}^2 + beta * s_{i-1}``,
  where the backcast ``bc`` is arch's: exponentially weighted (0.94) mean of the
  first ``min(75, n)`` squared residuals of the OLS mean fit, held fixed;
* constraints: ``alpha >= 0``, ``alpha + gamma >= 0``, ``beta >= 0``,
  ``alpha + gamma / 2 + beta <= 1`` and arch's bounds on every parameter.

The negative log-likelihood and its analytic gradient are one numba kernel
(:func:`nll_grad`); :func:`nll_python` is its plain-Python twin. The optimiser
is scipy's SLSQP (arch's) fed that gradient, started from the previous window's
optimum when one is given (the rolling protocols) else from arch's grid.
Parameter vector order, always length 7: ``mu, phi, omega, alpha, gamma, beta, nu``
(unused entries fixed: ``phi = 0`` without AR, ``gamma = 0`` for GARCH,
``nu = inf`` marker 0 for normal errors).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numba
import numpy as np
from scipy.optimize import minimize

from alphalab.errors import ConfigError, DataError

__all__ = ["GarchFit", "GarchSpec", "fit_garch", "nll_grad", "nll_python", "one_step"]

_LOG2PI = math.log(2.0 * math.pi)
_NAMES = ("mu", "phi", "omega", "alpha", "gamma", "beta", "nu")


@dataclass(frozen=True)
class GarchSpec:
    """Which GARCH: ``ar`` (AR(1) mean, else constant), ``o`` (1: GJR), ``dist`` (``normal``/``t``)."""

    ar: bool = True
    o: int = 0
    dist: str = "normal"

    def __post_init__(self) -> None:
        if self.o not in (0, 1):
            raise ConfigError(f"GARCH asymmetry order o must be 0 or 1, got {self.o!r}")
        if self.dist not in ("normal", "t"):
            raise ConfigError(f"GARCH dist must be 'normal' or 't', got {self.dist!r}")

    @property
    def free(self) -> np.ndarray:
        """Indices of the free parameters in the length-7 vector."""
        idx = [0]
        if self.ar:
            idx.append(1)
        idx += [2, 3]
        if self.o:
            idx.append(4)
        idx.append(5)
        if self.dist == "t":
            idx.append(6)
        return np.array(idx)


@numba.njit(cache=True)
def _digamma(x: float) -> float:
    # recurrence up to x >= 6, then the asymptotic series (error < 1e-12 there)
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return acc + math.log(x) - 0.5 / x - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f / 240.0)))


@numba.njit(cache=True)
def _residuals(y: np.ndarray, mu: float, phi: float, ar: bool) -> tuple[np.ndarray, np.ndarray]:
    """Residuals ``e`` and the lagged regressor ``x`` (zeros without AR)."""
    if ar:
        n = y.shape[0] - 1
        e = np.empty(n)
        x = np.empty(n)
        for i in range(n):
            x[i] = y[i]
            e[i] = y[i + 1] - mu - phi * y[i]
    else:
        n = y.shape[0]
        e = np.empty(n)
        x = np.zeros(n)
        for i in range(n):
            e[i] = y[i] - mu
    return e, x


@numba.njit(cache=True)
def nll_grad(theta: np.ndarray, y: np.ndarray, bc: float, ar: bool, t_dist: bool) -> tuple[float, np.ndarray]:
    """Negative log-likelihood and its gradient.

    Parameters
    ----------
    theta : numpy.ndarray, shape ``(7,)``
        ``mu, phi, omega, alpha, gamma, beta, nu``.
    y : numpy.ndarray, shape ``(n,)``
    bc : float
        Backcast of the squared residuals (fixed).
    ar, t_dist : bool

    Returns
    -------
    (float, numpy.ndarray of shape ``(7,)``)
    """
    mu, phi, omega, alpha, gamma, beta, nu = theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], theta[6]
    e, x = _residuals(y, mu, phi, ar)
    n = e.shape[0]
    g = np.zeros(7)
    # ds/d(mu, phi, omega, alpha, gamma, beta) carried through the recursion
    d_mu = 0.0
    d_phi = 0.0
    d_om = 1.0
    d_al = bc
    d_ga = 0.5 * bc
    d_be = bc
    s = omega + (alpha + 0.5 * gamma + beta) * bc
    ll = 0.0
    if t_dist:
        k = nu - 2.0
        const = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(math.pi * k)
        dconst = 0.5 * _digamma(0.5 * (nu + 1.0)) - 0.5 * _digamma(0.5 * nu) - 0.5 / k
    else:
        k = 1.0
        const = -0.5 * _LOG2PI
        dconst = 0.0
    for i in range(n):
        if s <= 0.0 or not math.isfinite(s):
            return 1e300, np.zeros(7)
        ei = e[i]
        if t_dist:
            q = ei * ei / (s * k)
            ll += const - 0.5 * math.log(s) - 0.5 * (nu + 1.0) * math.log1p(q)
            dl_ds = -0.5 / s + 0.5 * (nu + 1.0) * q / (1.0 + q) / s
            dl_de = -(nu + 1.0) * ei / (s * k) / (1.0 + q)
            g[6] += dconst - 0.5 * math.log1p(q) + 0.5 * (nu + 1.0) * q / (1.0 + q) / k
        else:
            ll += const - 0.5 * (math.log(s) + ei * ei / s)
            dl_ds = -0.5 * (1.0 / s - ei * ei / (s * s))
            dl_de = -ei / s
        # e_i = y - mu - phi x_i: de/dmu = -1, de/dphi = -x_i
        g[0] += dl_ds * d_mu - dl_de
        g[1] += dl_ds * d_phi - dl_de * x[i]
        g[2] += dl_ds * d_om
        g[3] += dl_ds * d_al
        g[4] += dl_ds * d_ga
        g[5] += dl_ds * d_be
        neg = 1.0 if ei < 0.0 else 0.0
        a_eff = alpha + gamma * neg
        # next variance and its derivatives
        d_mu = -2.0 * a_eff * ei + beta * d_mu
        d_phi = -2.0 * a_eff * ei * x[i] + beta * d_phi
        d_om = 1.0 + beta * d_om
        d_al = ei * ei + beta * d_al
        d_ga = neg * ei * ei + beta * d_ga
        d_be = s + beta * d_be
        s = omega + a_eff * ei * ei + beta * s
    if not ar:
        g[1] = 0.0
    return -ll, -g


def nll_python(theta: np.ndarray, y: np.ndarray, bc: float, ar: bool, t_dist: bool) -> float:
    """Plain-Python twin of :func:`nll_grad`'s value (the parity reference)."""
    mu, phi, omega, alpha, gamma, beta, nu = (float(v) for v in theta)
    ys = [float(v) for v in y]
    e = [ys[i + 1] - mu - phi * ys[i] for i in range(len(ys) - 1)] if ar else [v - mu for v in ys]
    s = omega + (alpha + 0.5 * gamma + beta) * bc
    ll = 0.0
    for ei in e:
        if t_dist:
            k = nu - 2.0
            ll += (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(math.pi * k)
                   - 0.5 * math.log(s) - (nu + 1) / 2 * math.log(1 + ei * ei / (s * k)))
        else:
            ll += -0.5 * (_LOG2PI + math.log(s) + ei * ei / s)
        s = omega + (alpha + gamma * (ei < 0)) * ei * ei + beta * s
    return -ll


@numba.njit(cache=True)
def one_step(theta: np.ndarray, y: np.ndarray, bc: float, ar: bool) -> tuple[float, float]:
    """One-step-ahead (mean, variance) after the last observation of ``y``."""
    mu, phi, omega, alpha, gamma, beta = theta[0], theta[1], theta[2], theta[3], theta[4], theta[5]
    e, _ = _residuals(y, mu, phi, ar)
    s = omega + (alpha + 0.5 * gamma + beta) * bc
    for i in range(e.shape[0]):
        ei = e[i]
        s = omega + (alpha + gamma * (1.0 if ei < 0.0 else 0.0)) * ei * ei + beta * s
    m = mu + phi * y[y.shape[0] - 1] if ar else mu
    return m, s


@dataclass
class GarchFit:
    """Result of :func:`fit_garch`.

    Attributes
    ----------
    params : numpy.ndarray, shape ``(7,)``
        ``mu, phi, omega, alpha, gamma, beta, nu`` (``nu = 0`` for normal errors).
    loglik : float
    converged : bool
        SLSQP reported success.
    forecast_mean, forecast_var : float
        One step past the last observation.
    n_iter : int
    """

    params: np.ndarray
    loglik: float
    converged: bool
    forecast_mean: float
    forecast_var: float
    n_iter: int

    def as_dict(self) -> dict[str, float]:
        """Parameters by name."""
        return dict(zip(_NAMES, map(float, self.params), strict=True))


def _ols(y: np.ndarray, ar: bool) -> tuple[float, float, np.ndarray]:
    if ar:
        x, z = y[:-1], y[1:]
        xm, zm = x.mean(), z.mean()
        sxx = float(((x - xm) ** 2).sum())
        phi = float(((x - xm) * (z - zm)).sum() / sxx) if sxx > 0 else 0.0
        mu = float(zm - phi * xm)
        return mu, phi, z - mu - phi * x
    mu = float(y.mean())
    return mu, 0.0, y - mu


def _backcast(resid: np.ndarray) -> float:
    tau = min(75, resid.shape[0])
    w = 0.94 ** np.arange(tau)
    w = w / w.sum()
    return float(np.sum(resid[:tau] ** 2 * w))


def _grid_start(spec: GarchSpec, mu: float, phi: float, resid: np.ndarray, y: np.ndarray, bc: float) -> np.ndarray:
    """arch's starting grid: alpha, gamma in {.01,.05,.1,.2}, persistence in {.5,.7,.9,.98}."""
    target = float(np.mean(resid**2))
    best, best_v = None, np.inf
    gammas = (0.01, 0.05, 0.1, 0.2) if spec.o else (0.0,)
    for a in (0.01, 0.05, 0.1, 0.2):
        for gm in gammas:
            for agb in (0.5, 0.7, 0.9, 0.98):
                b = agb - a - gm / 2.0
                th = np.array([mu, phi, (1.0 - agb) * target, a, gm, b, 8.0 if spec.dist == "t" else 0.0])
                v, _ = nll_grad(th, y, bc, spec.ar, False)  # arch ranks the grid by the normal likelihood
                if v < best_v:
                    best, best_v = th, v
    return best


def fit_garch(y: np.ndarray, spec: GarchSpec | None = None, *, start: np.ndarray | None = None,
              ftol: float = 1e-9, maxiter: int = 200) -> GarchFit:
    """Maximum-likelihood (AR(1)-)GARCH(1,1) / GJR on one series.

    Parameters
    ----------
    y : numpy.ndarray, shape ``(n,)``
        Returns (finite; scale them so that their variance is O(1), e.g. percent).
    spec : GarchSpec
    start : numpy.ndarray, shape ``(7,)``, optional
        Warm start (e.g. the previous window's optimum); clipped into the bounds.
    ftol : float
        SLSQP's tolerance on the objective.

    Returns
    -------
    GarchFit
    """
    spec = GarchSpec() if spec is None else spec
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.ndim != 1 or y.shape[0] < 10 or not np.isfinite(y).all():
        raise DataError(f"fit_garch needs a finite 1-D series of >= 10 values, got shape {y.shape}")
    mu0, phi0, resid = _ols(y, spec.ar)
    bc = _backcast(resid)
    v = float(np.mean(resid**2))
    if not v > 0:
        raise DataError("fit_garch: the series has zero variance")
    free = spec.free
    big = max(abs(float(y.mean())), 1.0) * 10.0 * math.sqrt(v) + 10.0
    full_bounds = [(-big, big), (-1.0, 1.0) if spec.ar else (0.0, 0.0), (1e-8 * v, 10.0 * v), (0.0, 1.0),
                   (-1.0, 2.0) if spec.o else (0.0, 0.0), (0.0, 1.0), (2.05, 500.0) if spec.dist == "t" else (0.0, 0.0)]
    if spec.ar:
        full_bounds[1] = (-big, big)  # arch leaves AR coefficients unbounded
    bounds = [full_bounds[i] for i in free]
    if start is None:
        th0 = _grid_start(spec, mu0, phi0, resid, y, bc)
    else:
        th0 = np.array(start, dtype=np.float64, copy=True)
        if spec.dist == "normal":
            th0[6] = 0.0
        if not spec.o:
            th0[4] = 0.0
        if not spec.ar:
            th0[1] = 0.0
    for i in free:
        lo, hi = full_bounds[i]
        th0[i] = min(max(th0[i], lo), hi)
    pers = th0[3] + 0.5 * th0[4] + th0[5]
    if pers > 0.999:
        th0[5] = max(0.0, th0[5] - (pers - 0.999))
    t_dist = spec.dist == "t"
    base = th0.copy()

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        th = base.copy()
        th[free] = p
        val, grad = nll_grad(th, y, bc, spec.ar, t_dist)
        return val, grad[free]

    pos = {int(j): i for i, j in enumerate(free)}
    cons_rows = []
    a_i, b_i = pos[3], pos[5]
    row = np.zeros(len(free))
    row[a_i] = -1.0
    row[b_i] = -1.0
    if spec.o:
        g_i = pos[4]
        row[g_i] = -0.5
        r2 = np.zeros(len(free))
        r2[a_i] = 1.0
        r2[g_i] = 1.0
        cons_rows.append(r2)
    cons = [{"type": "ineq", "fun": (lambda p, r=row: 1.0 + r @ p), "jac": (lambda p, r=row: r)}]
    for r in cons_rows:
        cons.append({"type": "ineq", "fun": (lambda p, r=r: r @ p), "jac": (lambda p, r=r: r)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = minimize(fun, th0[free], jac=True, method="SLSQP", bounds=bounds, constraints=cons,
                       options={"ftol": ftol, "maxiter": maxiter})
    th = base.copy()
    th[free] = res.x
    val, _ = nll_grad(th, y, bc, spec.ar, t_dist)
    m, s = one_step(th, y, bc, spec.ar)
    return GarchFit(th, -float(val), bool(res.success) and math.isfinite(val), float(m), float(s), int(res.nit))
