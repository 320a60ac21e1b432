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
(:func:`nll_grad`; :func:`nll_python` is its plain-Python twin), gradient and
analytic Hessian another (:func:`nll_grad_hess`, tested against differences
of the gradient). The default optimiser (``method="newton"``) is compiled end
to end: a primal active-set Newton (:func:`active_set_newton`) on arch's
linear constraints, run from the warm start (the previous window's optimum in
the rolling protocols), from arch's own starting grid point and from a few
more starts that cover the other modes of short-window likelihoods; the best
KKT point wins and scipy's SLSQP runs only when no start reaches one
(counted). ``method="arch"`` is scipy's SLSQP (arch's optimiser) fed the
compiled gradient from arch's grid start, kept as the slower reference.
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

__all__ = ["GarchFit", "GarchSpec", "active_set_newton", "fit_garch", "nll_grad", "nll_grad_hess", "nll_python", "one_step"]

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
def _density_constants(t_dist: bool, nu: float) -> tuple[float, float, float]:
    """``(k, const, dconst)`` of the standardised density: the Student-t scale ``nu - 2``, the
    log-density's constant and its derivative in ``nu`` (normal: ``1``, ``-log(2 pi) / 2``, ``0``)."""
    if not t_dist:
        return 1.0, -0.5 * _LOG2PI, 0.0
    k = nu - 2.0
    const = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(math.pi * k)
    dconst = 0.5 * _digamma(0.5 * (nu + 1.0)) - 0.5 * _digamma(0.5 * nu) - 0.5 / k
    return k, const, dconst


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
    k, const, dconst = _density_constants(t_dist, nu)
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


@numba.njit(cache=True)
def _trigamma(x: float) -> float:
    # recurrence up to x >= 6, then the asymptotic series (error < 1e-12 there)
    acc = 0.0
    while x < 6.0:
        acc += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    return acc + 1.0 / x + 0.5 * f + f / x * (1.0 / 6.0 - f * (1.0 / 30.0 - f * (1.0 / 42.0 - f / 30.0)))


@numba.njit(cache=True)
def nll_grad_hess(theta: np.ndarray, y: np.ndarray, bc: float, ar: bool,
                  t_dist: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """Negative log-likelihood, its gradient and its analytic Hessian.

    First and second derivatives of the variance recursion are carried
    forward with it (the sign indicator of the GJR term is piecewise
    constant), so one pass gives all three; :func:`nll_grad` is the
    gradient-only kernel and the parity reference (tests difference it).

    Returns
    -------
    (float, numpy.ndarray of shape ``(7,)``, numpy.ndarray of shape ``(7, 7)``)
        Entries of fixed parameters (``phi`` without AR, ``nu`` for normal
        errors) are whatever the formulas give; callers read the free ones.
    """
    mu, phi, omega, alpha, gamma, beta, nu = theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], theta[6]
    e, x = _residuals(y, mu, phi, ar)
    n = e.shape[0]
    g = np.zeros(7)
    hh = np.zeros((7, 7))
    # ds/dp and d2s/dp dq for p, q in (mu, phi, omega, alpha, gamma, beta)
    ds = np.zeros(6)
    ds[2] = 1.0
    ds[3] = bc
    ds[4] = 0.5 * bc
    ds[5] = bc
    d2s = np.zeros((6, 6))
    de = np.zeros(6)
    s = omega + (alpha + 0.5 * gamma + beta) * bc
    ll = 0.0
    k, const, dconst = _density_constants(t_dist, nu)
    d2const = 0.25 * _trigamma(0.5 * (nu + 1.0)) - 0.25 * _trigamma(0.5 * nu) + 0.5 / (k * k) if t_dist else 0.0
    big_a = nu + 1.0
    for i in range(n):
        if s <= 0.0 or not math.isfinite(s):
            return 1e300, np.zeros(7), np.zeros((7, 7))
        ei = e[i]
        de[0] = -1.0
        de[1] = -x[i]
        if t_dist:
            q = ei * ei / (s * k)
            dd = 1.0 + q
            ll += const - 0.5 * math.log(s) - 0.5 * big_a * math.log1p(q)
            l_s = -0.5 / s + 0.5 * big_a * q / (s * dd)
            l_e = -big_a * ei / (s * k * dd)
            l_ss = 0.5 / (s * s) + 0.5 * big_a * q * (q / (dd * dd) - 2.0 / dd) / (s * s)
            l_se = big_a * ei / (k * s * s * dd * dd)
            l_ee = -big_a * (1.0 - q) / (s * k * dd * dd)
            l_n = dconst - 0.5 * math.log1p(q) + 0.5 * big_a * q / (k * dd)
            l_sn = 0.5 * q / (s * dd) - 0.5 * big_a * q / (s * k * dd * dd)
            l_en = -ei / (s * k * dd) + big_a * ei / (s * k * k * dd * dd)
            l_nn = d2const + q / (k * dd) + 0.5 * big_a * q * (q / (dd * dd) - 2.0 / dd) / (k * k)
            g[6] += l_n
            hh[6, 6] += l_nn
            for p in range(6):
                v = l_sn * ds[p] + l_en * de[p]
                hh[p, 6] += v
                hh[6, p] += v
        else:
            ll += const - 0.5 * (math.log(s) + ei * ei / s)
            l_s = -0.5 * (1.0 / s - ei * ei / (s * s))
            l_e = -ei / s
            l_ss = 0.5 / (s * s) - ei * ei / (s * s * s)
            l_se = ei / (s * s)
            l_ee = -1.0 / s
        # de/dp is -1 (mu), -x_i (phi) and 0 for the variance parameters: written out, the
        # loops below are branch-free (this kernel runs ~10 times per fit)
        for p in range(6):
            g[p] += l_s * ds[p]
            for c in range(p + 1):
                hh[p, c] += l_ss * ds[p] * ds[c] + l_s * d2s[p, c]
        g[0] += l_e * de[0]
        g[1] += l_e * de[1]
        for p in range(6):
            hh[p, 0] += l_se * ds[0] * de[p] if p < 2 else 0.0
            hh[p, 0] += l_se * ds[p] * de[0]
            if p >= 1:
                hh[p, 1] += l_se * ds[p] * de[1] + (l_se * ds[1] * de[p] if p < 2 else 0.0)
        hh[0, 0] += l_ee
        hh[1, 0] += l_ee * de[1] * de[0]
        hh[1, 1] += l_ee * de[1] * de[1]
        neg = 1.0 if ei < 0.0 else 0.0
        a_eff = alpha + gamma * neg
        e2 = ei * ei
        # second derivatives of the next variance (from this step's first derivatives):
        # beta * d2s, the curvature of a_eff * e^2 in (mu, phi), the alpha / gamma rows
        # (d a_eff = 1 / neg) crossed with de, and the beta row (d (beta s) / d beta = s)
        for p in range(6):
            for c in range(p + 1):
                d2s[p, c] *= beta
        d2s[0, 0] += 2.0 * a_eff
        d2s[1, 0] += 2.0 * a_eff * x[i]
        d2s[1, 1] += 2.0 * a_eff * x[i] * x[i]
        d2s[3, 0] -= 2.0 * ei
        d2s[3, 1] -= 2.0 * ei * x[i]
        d2s[4, 0] -= 2.0 * neg * ei
        d2s[4, 1] -= 2.0 * neg * ei * x[i]
        for c in range(5):
            d2s[5, c] += ds[c]
        d2s[5, 5] += 2.0 * ds[5]
        for p in range(6):
            ds[p] = beta * ds[p]
        ds[0] -= 2.0 * a_eff * ei
        ds[1] -= 2.0 * a_eff * ei * x[i]
        ds[2] += 1.0
        ds[3] += e2
        ds[4] += neg * e2
        ds[5] += s
        s = omega + a_eff * e2 + beta * s
    for p in range(6):
        for c in range(p):
            hh[c, p] = hh[p, c]
    if not ar:
        g[1] = 0.0
    return -ll, -g, -hh


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
def _solve_lin(m: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, bool]:
    """Gaussian elimination with partial pivoting; ``ok=False`` on a (numerically) singular matrix."""
    n = m.shape[0]
    a = m.copy()
    x = rhs.copy()
    scale = max(1e-300, np.abs(a).max())
    for c in range(n):
        p = c
        best = abs(a[c, c])
        for r in range(c + 1, n):
            if abs(a[r, c]) > best:
                best = abs(a[r, c])
                p = r
        if best <= 1e-13 * scale:
            return x, False
        if p != c:
            for j in range(n):
                a[c, j], a[p, j] = a[p, j], a[c, j]
            x[c], x[p] = x[p], x[c]
        for r in range(c + 1, n):
            fac = a[r, c] / a[c, c]
            if fac != 0.0:
                for j in range(c, n):
                    a[r, j] -= fac * a[c, j]
                x[r] -= fac * x[c]
    for c in range(n - 1, -1, -1):
        acc = x[c]
        for j in range(c + 1, n):
            acc -= a[c, j] * x[j]
        x[c] = acc / a[c, c]
    return x, True


@numba.njit(cache=True)
def _fgh_z(z: np.ndarray, free: np.ndarray, base: np.ndarray, y: np.ndarray, bc: float, ar: bool,
           t_dist: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`nll_grad_hess` on the free parameters ``z`` (the others fixed at ``base``)."""
    th = base.copy()
    k = free.shape[0]
    for a in range(k):
        th[free[a]] = z[a]
    f, g, hh = nll_grad_hess(th, y, bc, ar, t_dist)
    gz = np.empty(k)
    hz = np.empty((k, k))
    for a in range(k):
        gz[a] = g[free[a]]
        for c in range(k):
            hz[a, c] = hh[free[a], free[c]]
    return f, gz, hz


@numba.njit(cache=True)
def _constraint_rows(free: np.ndarray, gjr: bool, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """arch's constraints on the free parameters as rows of ``A z >= b``.

    Two bound rows per free parameter, then persistence
    ``alpha + gamma / 2 + beta <= 1`` and (GJR) ``alpha + gamma >= 0``.
    """
    k = free.shape[0]
    m = 2 * k + 1 + (1 if gjr else 0)
    a_mat = np.zeros((m, k))
    b = np.zeros(m)
    for a in range(k):
        a_mat[2 * a, a] = 1.0
        b[2 * a] = lo[free[a]]
        a_mat[2 * a + 1, a] = -1.0
        b[2 * a + 1] = -hi[free[a]]
    r = 2 * k
    for a in range(k):
        i = free[a]
        if i == 3 or i == 5:
            a_mat[r, a] = -1.0
        elif i == 4:
            a_mat[r, a] = -0.5
    b[r] = -1.0
    if gjr:
        for a in range(k):
            if free[a] == 3 or free[a] == 4:
                a_mat[r + 1, a] = 1.0
    return a_mat, b


@numba.njit(cache=True)
def active_set_newton(z0: np.ndarray, free: np.ndarray, base: np.ndarray, a_mat: np.ndarray, b: np.ndarray,
                      y: np.ndarray, bc: float, ar: bool, t_dist: bool,
                      max_iter: int = 100) -> tuple[np.ndarray, float, bool, int]:
    """Primal active-set Newton for ``min nll(z)`` subject to ``a_mat @ z >= b``.

    Each iteration solves the equality-constrained Newton step on the working
    set (analytic Hessian, :func:`nll_grad_hess`; on the null space of the
    working set negative curvature is flipped and near-zero curvature
    floored), takes the longest feasible step along it with Armijo
    backtracking, adds the constraint that blocks a full step and drops the
    one with the most negative multiplier once the step on the working set
    vanishes. The working set is free to change (unlike a fixed active-set
    guess). It is a local method: on multi-modal likelihoods the optimum
    depends on the start, hence the several starts of :func:`fit_garch`.

    Parameters
    ----------
    z0 : numpy.ndarray, shape ``(k,)``
        Feasible start (free parameters in ``free`` order).
    free : numpy.ndarray of int, shape ``(k,)``
    base : numpy.ndarray, shape ``(7,)``
        Values of the fixed parameters.
    a_mat, b : numpy.ndarray, shapes ``(m, k)``, ``(m,)``
        Constraints (:func:`_constraint_rows`).
    y, bc, ar, t_dist
        As in :func:`nll_grad`.

    Returns
    -------
    z : numpy.ndarray, shape ``(k,)``
    nll : float
    ok : bool
        A KKT point was reached: Newton decrement on the working set below
        ``1e-11 (1 + |nll|)`` and every working-set multiplier non-negative.
    n_iter : int
    """
    k = z0.shape[0]
    m = a_mat.shape[0]
    z = z0.copy()
    lo_z = np.empty(k)
    hi_z = np.empty(k)
    for a in range(k):
        lo_z[a] = b[2 * a]
        hi_z[a] = -b[2 * a + 1]
    slack = a_mat @ z - b
    for r in range(m):
        if slack[r] < -1e-9 * (1.0 + abs(b[r])):
            return z, np.inf, False, 0
    # initial working set: the constraints active at the start, kept linearly independent
    work = np.zeros(m, dtype=np.bool_)
    basis = np.zeros((k, k))
    nb = 0
    for r in range(m):
        if slack[r] <= 1e-10 * (1.0 + abs(b[r])) and nb < k:
            v = a_mat[r].copy()
            for j in range(nb):
                v -= (v @ basis[j]) * basis[j]
            nv = math.sqrt(v @ v)
            if nv > 1e-8 * math.sqrt(a_mat[r] @ a_mat[r]):
                basis[nb] = v / nv
                nb += 1
                work[r] = True
    f, g, hess = _fgh_z(z, free, base, y, bc, ar, t_dist)
    if not f < 1e299:
        return z, np.inf, False, 0
    tol_dec = 1e-11 * (1.0 + abs(f))
    tol_lam = 1e-7 * (1.0 + abs(f))
    for it in range(1, max_iter + 1):
        nw = 0
        for r in range(m):
            if work[r]:
                nw += 1
        idx = np.empty(nw, dtype=np.int64)
        j = 0
        for r in range(m):
            if work[r]:
                idx[j] = r
                j += 1
        # orthonormal basis: first the working-set rows, then their null space (the columns of zb)
        q = np.zeros((k, k))
        nq = 0
        for j in range(nw):
            v = a_mat[idx[j]].copy()
            for c in range(nq):
                v -= (v @ q[c]) * q[c]
            nv = math.sqrt(v @ v)
            if nv > 1e-10:
                q[nq] = v / nv
                nq += 1
        n_row = nq
        for c in range(k):
            if nq == k:
                break
            v = np.zeros(k)
            v[c] = 1.0
            for c2 in range(nq):
                v -= (v @ q[c2]) * q[c2]
            nv = math.sqrt(v @ v)
            if nv > 1e-6:
                q[nq] = v / nv
                nq += 1
        nz = k - n_row
        d = np.zeros(k)
        if nz > 0:
            zb = np.ascontiguousarray(q[n_row:k].T)
            hr = zb.T @ hess @ zb
            hr = 0.5 * (hr + hr.T)
            gr = zb.T @ g
            # Newton on the null space of the working set; negative curvature (far from the
            # optimum the likelihood need not be convex) is flipped, near-zero curvature (flat
            # ridges) floored, as in an eigenvalue-modified Newton method
            w, vecs = np.linalg.eigh(hr)
            wmax = max(1e-300, np.abs(w).max())
            coef = vecs.T @ gr
            for c in range(nz):
                coef[c] /= max(abs(w[c]), 1e-10 * wmax, 1e-12)
            d = -(zb @ (vecs @ coef))
        dec = -(g @ d)
        if dec <= tol_dec:
            # stationary on the working set: done unless a multiplier says leave a constraint
            worst = -tol_lam
            drop = -1
            if nw > 0:
                # multipliers: least squares of A_W' lam = g (d is ~0 here)
                aw = np.empty((nw, k))
                for j in range(nw):
                    aw[j] = a_mat[idx[j]]
                lam, ok = _solve_lin(aw @ aw.T, aw @ g)
                if not ok:
                    return z, f, False, it
                for j in range(nw):
                    if lam[j] < worst:
                        worst = lam[j]
                        drop = idx[j]
            if drop < 0:
                return z, f, True, it
            work[drop] = False
            continue
        # longest feasible step along d
        tmax = np.inf
        block = -1
        for r in range(m):
            if not work[r]:
                ad = a_mat[r] @ d
                if ad < -1e-15:
                    sl = max(a_mat[r] @ z - b[r], 0.0)
                    tr = sl / (-ad)
                    if tr < tmax:
                        tmax = tr
                        block = r
        t = min(1.0, tmax)
        t_full = t
        accepted = False
        zn = z
        fn = f
        gn = g
        hn = hess
        for _ls in range(50):
            zn = z + t * d
            if block >= 0 and t == t_full and tmax <= 1.0 and block < 2 * k:
                zn[block // 2] = lo_z[block // 2] if block % 2 == 0 else hi_z[block // 2]  # land on the bound exactly
            fn, gn, hn = _fgh_z(zn, free, base, y, bc, ar, t_dist)
            if fn <= f - 1e-4 * t * dec:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            return z, f, False, it
        if block >= 0 and t == t_full and tmax <= 1.0:
            work[block] = True
        z, f, g, hess = zn, fn, gn, hn
    return z, f, False, max_iter


@numba.njit(cache=True)
def _ols_nb(y: np.ndarray, ar: bool) -> tuple[float, float, np.ndarray]:
    """Compiled twin of :func:`_ols`."""
    if ar:
        n = y.shape[0] - 1
        xm = 0.0
        zm = 0.0
        for i in range(n):
            xm += y[i]
            zm += y[i + 1]
        xm /= n
        zm /= n
        sxx = 0.0
        sxz = 0.0
        for i in range(n):
            sxx += (y[i] - xm) * (y[i] - xm)
            sxz += (y[i] - xm) * (y[i + 1] - zm)
        phi = sxz / sxx if sxx > 0 else 0.0
        mu = zm - phi * xm
        resid = np.empty(n)
        for i in range(n):
            resid[i] = y[i + 1] - mu - phi * y[i]
        return mu, phi, resid
    mu = y.mean()
    return mu, 0.0, y - mu


@numba.njit(cache=True)
def _backcast_nb(resid: np.ndarray) -> float:
    """Compiled twin of :func:`_backcast`."""
    tau = min(75, resid.shape[0])
    num = 0.0
    den = 0.0
    w = 1.0
    for i in range(tau):
        num += w * resid[i] * resid[i]
        den += w
        w *= 0.94
    return num / den


@numba.njit(cache=True)
def _nu_start(th: np.ndarray, resid: np.ndarray, bc: float) -> float:
    """arch's Student-t start: from the kurtosis of the residuals standardised at the grid start."""
    n = resid.shape[0]
    z = np.empty(n)
    s = th[2] + (th[3] + 0.5 * th[4] + th[5]) * bc
    for i in range(n):
        z[i] = resid[i] / math.sqrt(s)
        e = resid[i]
        s = th[2] + (th[3] + (th[4] if e < 0.0 else 0.0)) * e * e + th[5] * s
    m = z.mean()
    m2 = 0.0
    m4 = 0.0
    for i in range(n):
        dz = (z[i] - m) * (z[i] - m)
        m2 += dz
        m4 += dz * dz
    kurt = (m4 / n) / (m2 / n) ** 2
    return max((4.0 * kurt - 6.0) / (kurt - 3.0) if kurt > 3.75 else 12.0, 4.0)


@numba.njit(cache=True)
def _grid_starts(mu: float, phi: float, resid: np.ndarray, y: np.ndarray, bc: float, ar: bool, gjr: bool,
                 t_dist: bool, n_keep: int) -> np.ndarray:
    """Starts from arch's grid (alpha, gamma in {.01,.05,.1,.2}, persistence in {.5,.7,.9,.98}).

    Row 0 is arch's own start: the grid point with the highest normal
    likelihood (arch ranks the grid that way and takes the first maximum).
    Further rows are the best point of each other persistence level, best
    first: 90-day likelihoods are often bimodal (an interior optimum and one
    with ``omega`` and ``alpha`` at zero and persistence near 1) and arch's
    SLSQP can jump from its start to the other mode, so the extra starts
    cover the basins a local method would not reach from row 0 alone.
    With ``n_keep >= 5`` a fifth row starts next to the third common mode,
    ``beta = 0`` (an ARCH(1): alpha 0.05 and beta on its bound), which the
    grid (persistence >= 0.5) does not cover. Returns ``min(n_keep, 5)`` rows
    of length 7.
    """
    target = 0.0
    for i in range(resid.shape[0]):
        target += resid[i] * resid[i]
    target /= resid.shape[0]
    alphas = np.array([0.01, 0.05, 0.1, 0.2])
    gammas = alphas if gjr else np.zeros(1)
    pers = np.array([0.5, 0.7, 0.9, 0.98])
    n_all = alphas.shape[0] * gammas.shape[0] * pers.shape[0]
    cand = np.empty((n_all, 7))
    vals = np.empty(n_all)
    level = np.empty(n_all, dtype=np.int64)
    c = 0
    for a in alphas:
        for gm in gammas:
            for lv in range(pers.shape[0]):
                agb = pers[lv]
                th = np.array([mu, phi, (1.0 - agb) * target, a, gm, agb - a - gm / 2.0, 0.0])
                v, _ = nll_grad(th, y, bc, ar, False)
                cand[c] = th
                vals[c] = v if math.isfinite(v) else 1e300
                level[c] = lv
                c += 1
    order = np.argsort(vals, kind="mergesort")  # stable: ties keep arch's order (arch takes the first max)
    n_lv = max(1, min(n_keep, pers.shape[0]))
    out = np.empty((n_lv + (1 if n_keep > pers.shape[0] else 0), 7))
    seen = np.zeros(pers.shape[0], dtype=np.bool_)
    j = 0
    for o in order:
        if j == n_lv:
            break
        if not seen[level[o]]:
            seen[level[o]] = True
            out[j] = cand[o]
            j += 1
    if out.shape[0] > n_lv:
        out[n_lv] = np.array([mu, phi, 0.95 * target, 0.05, 0.0, 0.0, 0.0])
    if t_dist:
        for j in range(out.shape[0]):
            out[j, 6] = _nu_start(out[j], resid, bc)
    return out


@numba.njit(cache=True)
def _fit_core(y: np.ndarray, start: np.ndarray, has_start: bool, free: np.ndarray, ar: bool, gjr: bool,
              t_dist: bool, n_grid: int) -> tuple[np.ndarray, float, bool, int, float, float, float, np.ndarray]:
    """The whole compiled fit of one window (see :func:`fit_garch`, method ``"newton"``).

    Returns ``theta (7,), nll, ok, winner, forecast mean, forecast variance,
    backcast, grid start (7,)``; ``winner`` is the start that gave the best
    KKT point (0: warm, ``1 + j``: grid row ``j``; -1 when none converged).
    """
    mu0, phi0, resid = _ols_nb(y, ar)
    bc = _backcast_nb(resid)
    v = 0.0
    ym = 0.0
    for i in range(resid.shape[0]):
        v += resid[i] * resid[i]
    v /= resid.shape[0]
    for i in range(y.shape[0]):
        ym += y[i]
    ym /= y.shape[0]
    big = max(abs(ym), 1.0) * 10.0 * math.sqrt(v) + 10.0
    lo = np.array([-big, -big if ar else 0.0, 1e-8 * v, 0.0, -1.0 if gjr else 0.0, 0.0, 2.05 if t_dist else 0.0])
    hi = np.array([big, big if ar else 0.0, 10.0 * v, 1.0, 2.0 if gjr else 0.0, 1.0, 500.0 if t_dist else 0.0])
    a_mat, b = _constraint_rows(free, gjr, lo, hi)
    grid = _grid_starts(mu0, phi0, resid, y, bc, ar, gjr, t_dist, n_grid)
    n_start = grid.shape[0] + (1 if has_start else 0)
    best = grid[0].copy()
    best_f = np.inf
    winner = -1
    k = free.shape[0]
    for s_i in range(n_start):
        if has_start and s_i == 0:
            th0 = start.copy()
            for i in range(7):
                th0[i] = min(max(th0[i], lo[i]), hi[i])
            if gjr and th0[3] + th0[4] < 0.0:
                th0[4] = -th0[3]
            pers = th0[3] + 0.5 * th0[4] + th0[5]
            if pers > 1.0:
                th0[5] = max(0.0, th0[5] - (pers - 1.0))
        else:
            th0 = grid[s_i - (1 if has_start else 0)].copy()
        z0 = np.empty(k)
        for a in range(k):
            z0[a] = th0[free[a]]
        z, f, ok, _ = active_set_newton(z0, free, th0, a_mat, b, y, bc, ar, t_dist)
        if ok and f < best_f:
            best_f = f
            best = th0.copy()
            for a in range(k):
                best[free[a]] = z[a]
            winner = 0 if (has_start and s_i == 0) else s_i + (0 if has_start else 1)
    m, s = one_step(best, y, bc, ar)
    return best, best_f, winner >= 0, winner, m, s, bc, grid[0].copy()

@dataclass
class GarchFit:
    """Result of :func:`fit_garch`.

    Attributes
    ----------
    params : numpy.ndarray, shape ``(7,)``
        ``mu, phi, omega, alpha, gamma, beta, nu`` (``nu = 0`` for normal errors).
    loglik : float
    converged : bool
        The compiled solver reached a KKT point, or SLSQP reported success.
    forecast_mean, forecast_var : float
        One step past the last observation.
    n_iter : int
        SLSQP iterations (0 when the compiled solver's point was taken).
    solver : str
        ``"newton"`` (compiled active-set Newton) or ``"slsqp"`` (scipy: method
        ``"arch"``, or the fallback of method ``"newton"`` when no start reached
        a KKT point).
    """

    params: np.ndarray
    loglik: float
    converged: bool
    forecast_mean: float
    forecast_var: float
    n_iter: int
    solver: str = "newton"

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


_NO_START = np.zeros(7)
#: starts of method "newton" besides the warm one: arch's own grid start, the best grid
#: point of each other persistence level and one near beta = 0 (see :func:`_grid_starts`;
#: arch starts from the first only)
N_GRID_STARTS = 5


def fit_garch(y: np.ndarray, spec: GarchSpec | None = None, *, start: np.ndarray | None = None,
              method: str = "newton", ftol: float = 1e-9, maxiter: int = 200,
              n_grid: int | None = None) -> GarchFit:
    """Maximum-likelihood (AR(1)-)GARCH(1,1) / GJR on one series.

    Parameters
    ----------
    y : numpy.ndarray, shape ``(n,)``
        Returns (finite; scale them so that their variance is O(1), e.g. percent).
    spec : GarchSpec
    start : numpy.ndarray, shape ``(7,)``, optional
        Warm start (e.g. the previous window's optimum); clipped into the bounds.
    method : {"newton", "arch"}
        ``"newton"`` (default): everything compiled. The active-set Newton
        (:func:`active_set_newton`) runs from arch's own starting grid point,
        from the best grid point of each other persistence level (``n_grid``
        starts in all, :func:`_grid_starts`) and from the warm start; the best
        KKT point wins. Only when no start reaches a KKT point does scipy's
        SLSQP run from the grid (``solver="slsqp"`` in the result; rolling
        protocols count these). ``"arch"``: scipy SLSQP with the compiled
        likelihood and gradient from arch's grid start (arch's own search),
        plus the warm-started compiled solver as a second candidate; several
        times slower, kept as the reference.
    ftol : float
        SLSQP's tolerance on the objective.
    n_grid : int, optional
        Grid starts for method ``"newton"`` (default :data:`N_GRID_STARTS`).

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
    if not float(np.var(y[1:] if spec.ar else y)) > 0:
        raise DataError("fit_garch: the series has zero variance")
    free = spec.free
    t_dist = spec.dist == "t"
    has_start = start is not None
    st = _NO_START if start is None else np.asarray(start, dtype=np.float64)
    if st.shape != (7,):
        raise DataError(f"fit_garch start must have 7 entries (mu, phi, omega, alpha, gamma, beta, nu), got {st.shape}")
    th, nll, ok, _, m, s, _, grid0 = _fit_core(y, st, has_start, free, spec.ar, bool(spec.o), t_dist,
                                               N_GRID_STARTS if n_grid is None else int(n_grid))
    if method == "newton" and ok:
        return GarchFit(th, -float(nll), True, float(m), float(s), 0, "newton")
    slsqp = _slsqp(y, spec, grid0, ftol, maxiter)
    if method == "arch" and ok and has_start and -nll > slsqp.loglik + 1e-9 * abs(slsqp.loglik):
        # the warm-started compiled point is better than arch's search: keep it
        return GarchFit(th, -float(nll), True, float(m), float(s), 0, "newton")
    return slsqp


def _slsqp(y: np.ndarray, spec: GarchSpec, th0: np.ndarray, ftol: float, maxiter: int) -> GarchFit:
    """scipy SLSQP (arch's optimiser) with the compiled likelihood and gradient, from ``th0``."""
    _, _, resid = _ols(y, spec.ar)
    bc = _backcast(resid)
    v = float(np.mean(resid**2))
    free = spec.free
    t_dist = spec.dist == "t"
    big = max(abs(float(y.mean())), 1.0) * 10.0 * math.sqrt(v) + 10.0
    full_bounds = [(-big, big), (-big, big) if spec.ar else (0.0, 0.0), (1e-8 * v, 10.0 * v), (0.0, 1.0),
                   (-1.0, 2.0) if spec.o else (0.0, 0.0), (0.0, 1.0), (2.05, 500.0) if t_dist else (0.0, 0.0)]
    bounds = [full_bounds[i] for i in free]
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
    return GarchFit(th, -float(val), bool(res.success) and math.isfinite(val), float(m), float(s), int(res.nit),
                    "slsqp")
