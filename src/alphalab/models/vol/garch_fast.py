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
is scipy's SLSQP (arch's) fed that gradient, started from arch's grid. With a
warm start (the previous window's optimum, as in the rolling protocols) a
compiled active-set damped Newton (:func:`newton_fit`) adds a second candidate
(``method="arch"``, the default: never worse than arch's search) or replaces
SLSQP (``method="newton"``: faster, see :func:`fit_garch`).
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

__all__ = ["GarchFit", "GarchSpec", "fit_garch", "newton_fit", "nll_grad", "nll_python", "one_step"]

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


@numba.njit(cache=True)
def _margins(th: np.ndarray, t_dist: bool, gjr: bool, omega_lb: float) -> np.ndarray:
    """Slack of arch's inequalities: alpha, beta, 1 - persistence, alpha + gamma, others, omega - lower bound."""
    out = np.empty(6)
    out[0] = th[3]
    out[1] = th[5]
    out[2] = 1.0 - th[3] - 0.5 * th[4] - th[5]
    out[3] = th[3] + th[4] if gjr else 1.0
    rest = 1.0  # alpha <= 1 and beta <= 1 follow from the persistence and alpha + gamma rows
    if gjr:
        rest = min(rest, 2.0 - th[4])
    if t_dist:
        rest = min(rest, th[6] - 2.05, 500.0 - th[6])
    out[4] = rest
    out[5] = th[2] - omega_lb
    return out


@numba.njit(cache=True)
def _expand(z: np.ndarray, red: np.ndarray, base: np.ndarray, act_a: bool, act_b: bool, act_p: bool,
            act_o: bool, omega_lb: float) -> np.ndarray:
    th = base.copy()
    for a in range(red.shape[0]):
        th[red[a]] = z[a]
    if act_o:
        th[2] = omega_lb
    if act_a:
        th[3] = 0.0
    if act_b:
        th[5] = 0.0
    if act_p:
        th[5] = 1.0 - th[3] - 0.5 * th[4]
    return th


@numba.njit(cache=True)
def _reduced(th: np.ndarray, red: np.ndarray, y: np.ndarray, bc: float, ar: bool, t_dist: bool,
             act_p: bool) -> tuple[float, np.ndarray, np.ndarray]:
    f, g = nll_grad(th, y, bc, ar, t_dist)
    gr = np.empty(red.shape[0])
    for a in range(red.shape[0]):
        i = red[a]
        gr[a] = g[i]
        if act_p and i == 3:
            gr[a] -= g[5]  # beta = 1 - alpha - gamma / 2
        elif act_p and i == 4:
            gr[a] -= 0.5 * g[5]
    return f, gr, g


@numba.njit(cache=True)
def _is_pd(a: np.ndarray) -> bool:
    """Cholesky by hand (numba's raises on failure): True when ``a`` is positive definite."""
    k = a.shape[0]
    low = np.zeros((k, k))
    for i in range(k):
        acc = a[i, i]
        for c in range(i):
            acc -= low[i, c] * low[i, c]
        if acc <= 0.0:
            return False
        low[i, i] = math.sqrt(acc)
        for b in range(i + 1, k):
            acc2 = a[b, i]
            for c in range(i):
                acc2 -= low[b, c] * low[i, c]
            low[b, i] = acc2 / low[i, i]
    return True


@numba.njit(cache=True)
def newton_fit(theta0: np.ndarray, free: np.ndarray, y: np.ndarray, bc: float, ar: bool, t_dist: bool,
               gjr: bool, omega_lb: float, max_iter: int = 60) -> tuple[np.ndarray, bool]:
    """Active-set damped Newton from a warm start.

    The constraints active at the warm start (``alpha = 0``, ``beta = 0``,
    persistence ``= 1``: common on 90-day windows) are held active by
    substitution; Newton runs on the remaining parameters (Hessian: forward
    differences of the analytic gradient). The result is accepted (``ok``)
    only at a KKT point: reduced gradient zero, positive-definite reduced
    Hessian, every inactive constraint strictly slack and every active
    constraint's multiplier non-negative. Anything else returns ``ok=False``
    and the caller falls back to SLSQP.
    """
    m0 = _margins(theta0, t_dist, gjr, omega_lb)
    act_o = theta0[2] <= omega_lb * (1.0 + 1e-6)
    act_a = m0[0] < 1e-9
    act_b = m0[1] < 1e-9
    act_p = m0[2] < 1e-9
    if (act_b and act_p) or m0[3] < 1e-9 or m0[4] <= 0.0 or min(m0[0], m0[1], m0[2], m0[5]) < -1e-9:
        return theta0.copy(), False
    n_red = 0
    for a in range(free.shape[0]):
        i = free[a]
        if (i == 3 and act_a) or (i == 5 and (act_b or act_p)) or (i == 2 and act_o):
            continue
        n_red += 1
    red = np.empty(n_red, dtype=np.int64)
    n_red = 0
    for a in range(free.shape[0]):
        i = free[a]
        if (i == 3 and act_a) or (i == 5 and (act_b or act_p)) or (i == 2 and act_o):
            continue
        red[n_red] = i
        n_red += 1
    k = n_red
    z = np.empty(k)
    for a in range(k):
        z[a] = theta0[red[a]]
    th = _expand(z, red, theta0, act_a, act_b, act_p, act_o, omega_lb)
    f, gr, g = _reduced(th, red, y, bc, ar, t_dist, act_p)
    done = False
    for _ in range(max_iter):
        hess = np.empty((k, k))
        for a in range(k):
            h = 1e-6 * max(abs(z[a]), 1e-2)
            z2 = z.copy()
            z2[a] += h
            _, g2, _ = _reduced(_expand(z2, red, theta0, act_a, act_b, act_p, act_o, omega_lb), red, y, bc, ar, t_dist, act_p)
            for b in range(k):
                hess[b, a] = (g2[b] - gr[b]) / h
        hess = 0.5 * (hess + hess.T)
        # Levenberg shift until positive definite (far from the optimum the
        # likelihood need not be convex); the accepted point must need none
        tau = 0.0
        scale = max(1e-8, np.abs(np.diag(hess)).max())
        while not _is_pd(hess + tau * np.eye(k)):
            tau = 1e-3 * scale if tau == 0.0 else 4.0 * tau
            if tau > 1e8 * scale:
                return th, False
        shifted = tau > 0.0
        hess = hess + tau * np.eye(k)
        step = np.linalg.solve(hess, -gr)
        dec = -(gr @ step)
        if dec < 1e-14 * max(1.0, abs(f)) and not shifted:
            done = True
            break
        t = 1.0
        moved = False
        for _ls in range(30):
            zn = z + t * step
            tn = _expand(zn, red, theta0, act_a, act_b, act_p, act_o, omega_lb)
            mn = _margins(tn, t_dist, gjr, omega_lb)
            if mn.min() >= 0.0 and mn[4] > 0.0:
                fn, grn, gn = _reduced(tn, red, y, bc, ar, t_dist, act_p)
                if fn <= f - 1e-4 * t * dec:
                    z, th, f, gr, g = zn, tn, fn, grn, gn
                    moved = True
                    break
            elif t < 1e-3:
                # pressed against a constraint this active set holds inactive: wrong set
                return th, False
            t *= 0.5
        if not moved:
            done = dec < 1e-10 * max(1.0, abs(f)) and not shifted
            break
    if not done:
        return th, False
    m = _margins(th, t_dist, gjr, omega_lb)
    if not act_o and th[2] < omega_lb * 1.001:
        return th, False
    if act_o and g[2] < -1e-6:
        return th, False
    # inactive constraints strictly slack; active ones with the right multiplier sign
    if (not act_a and m[0] < 1e-7) or (not act_b and m[1] < 1e-7) or (not act_p and m[2] < 1e-7):
        return th, False
    if gjr and m[3] < 1e-7:
        return th, False
    tol = -1e-6
    lam_p = -g[5] if act_p else 0.0
    if act_p and lam_p < tol:
        return th, False
    if act_a and g[3] - (g[5] if act_p else 0.0) < tol:
        return th, False
    if act_b and g[5] < tol:
        return th, False
    return th, True


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


@numba.njit(cache=True)
def _grid_kernel(mu: float, phi: float, target: float, y: np.ndarray, bc: float, ar: bool, gjr: bool,
                 t_dist: bool) -> np.ndarray:
    alphas = np.array([0.01, 0.05, 0.1, 0.2])
    gammas = alphas if gjr else np.zeros(1)
    pers = np.array([0.5, 0.7, 0.9, 0.98])
    best = np.zeros(7)
    best_v = np.inf
    for a in alphas:
        for gm in gammas:
            for agb in pers:
                th = np.array([mu, phi, (1.0 - agb) * target, a, gm, agb - a - gm / 2.0, 8.0 if t_dist else 0.0])
                v, _ = nll_grad(th, y, bc, ar, False)  # arch ranks the grid by the normal likelihood
                if v < best_v:
                    best, best_v = th, v
    return best


def _grid_start(spec: GarchSpec, mu: float, phi: float, resid: np.ndarray, y: np.ndarray, bc: float) -> np.ndarray:
    """arch's starting grid: alpha, gamma in {.01,.05,.1,.2}, persistence in {.5,.7,.9,.98}."""
    return _grid_kernel(mu, phi, float(np.mean(resid**2)), y, bc, spec.ar, bool(spec.o), spec.dist == "t")


def _newton_candidates(th0: np.ndarray, free: np.ndarray, y: np.ndarray, bc: float, spec: GarchSpec,
                       t_dist: bool, omega_lb: float) -> tuple[float, np.ndarray] | None:
    """Newton from the start's own active set, then from the other common ones.

    Returns ``(nll, theta)`` of the first accepted KKT point, or None.
    """
    gjr = bool(spec.o)
    th, ok = newton_fit(th0, free, y, bc, spec.ar, t_dist, gjr, omega_lb)
    if ok:
        return float(nll_grad(th, y, bc, spec.ar, t_dist)[0]), th
    for act_a, act_p, act_b, act_o in _PATTERNS:
        c = th0.copy()
        c[3] = 0.0 if act_a else max(c[3], 1e-3)
        c[5] = 0.0 if act_b else max(c[5], 1e-3)
        c[2] = omega_lb if act_o else max(c[2], 1e3 * omega_lb)
        pers = c[3] + 0.5 * c[4] + c[5]
        if act_p:
            c[5] = 1.0 - c[3] - 0.5 * c[4]
            if c[5] < 1e-3:
                continue
        elif pers > 0.995:
            c[5] = max(0.0, c[5] - (pers - 0.995))
        th, ok = newton_fit(c, free, y, bc, spec.ar, t_dist, gjr, omega_lb)
        if ok:
            return float(nll_grad(th, y, bc, spec.ar, t_dist)[0]), th
    return None


# active sets tried in turn (alpha = 0, persistence = 1, beta = 0, omega at its lower bound)
_PATTERNS = [(a, p, b, o) for o in (False, True) for a, p, b in
             ((False, False, False), (True, False, False), (False, True, False), (True, True, False),
              (False, False, True))]


def fit_garch(y: np.ndarray, spec: GarchSpec | None = None, *, start: np.ndarray | None = None,
              method: str = "arch", ftol: float = 1e-9, maxiter: int = 200) -> GarchFit:
    """Maximum-likelihood (AR(1)-)GARCH(1,1) / GJR on one series.

    Parameters
    ----------
    y : numpy.ndarray, shape ``(n,)``
        Returns (finite; scale them so that their variance is O(1), e.g. percent).
    spec : GarchSpec
    start : numpy.ndarray, shape ``(7,)``, optional
        Warm start (e.g. the previous window's optimum); clipped into the bounds.
    method : {"arch", "newton"}
        With a warm start: ``"arch"`` runs SLSQP from arch's grid start (arch's
        own search) and keeps the warm-started Newton's point only when its
        likelihood is higher; ``"newton"`` runs the compiled Newton from the warm
        start and from the grid start (no SLSQP unless both fail): several times
        faster, but on multi-modal 90-day likelihoods it can settle on a worse
        local optimum. Without a warm start both are plain SLSQP from the grid.
    ftol : float
        SLSQP's tolerance on the objective.

    Returns
    -------
    GarchFit
    """
    spec = GarchSpec() if spec is None else spec
    if method not in ("arch", "newton"):
        raise ConfigError(f"fit_garch method must be 'arch' or 'newton', got {method!r}")
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
    if start is not None and method == "newton":
        # fast path: a compiled active-set Newton from the warm start and from arch's grid
        # start; the better KKT point wins, SLSQP from the grid only when neither converges.
        # 90-day likelihoods have several local optima, and a KKT point Newton accepts can be
        # a worse one than SLSQP reaches from the grid (benchmarks/garch_speed.py counts them).
        warm = _newton_candidates(th0, free, y, bc, spec, t_dist, 1e-8 * v)
        g0 = _grid_start(spec, mu0, phi0, resid, y, bc)
        cold = _newton_candidates(g0, free, y, bc, spec, t_dist, 1e-8 * v)
        pick = min((c for c in (warm, cold) if c is not None), key=lambda c: c[0], default=None)
        if pick is not None:
            m, s = one_step(pick[1], y, bc, spec.ar)
            return GarchFit(pick[1], -float(pick[0]), True, float(m), float(s), 0)
        return fit_garch(y, spec, ftol=ftol, maxiter=maxiter)
    if start is not None:
        # exact path: SLSQP from arch's grid start (arch's own search, so the same optimum),
        # and a compiled Newton from the warm start as a second candidate; the higher
        # likelihood wins, so the result is never worse than the cold fit.
        cold_fit = fit_garch(y, spec, ftol=ftol, maxiter=maxiter)
        warm = _newton_candidates(th0, free, y, bc, spec, t_dist, 1e-8 * v)
        if warm is not None and -warm[0] > cold_fit.loglik + 1e-9 * abs(cold_fit.loglik):
            m, s = one_step(warm[1], y, bc, spec.ar)
            return GarchFit(warm[1], -float(warm[0]), True, float(m), float(s), 0)
        return cold_fit
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
