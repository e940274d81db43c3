"""Exact geometry of convex hulls of point sets: do two hulls meet, and how far apart are they.

DirectProbe (``directprobe.py``) asks these two questions thousands of times, so each answer takes the cheapest
exact route:

1. bounding spheres that do not meet -> the hulls do not meet;
2. a separating hyperplane -> the hulls do not meet (a certificate: the centroid direction, then the normal of the
   nearest points below); nearest points that coincide -> the hulls meet;
3. otherwise the linear program "find w, b with w.x + b >= 1 on A and <= -1 on B" (scipy's HiGHS): infeasible
   means the hulls meet.

Hull-to-hull distance is the nearest-point problem min ||A'l - B'm|| over the two simplices, solved by the
Mitchell-Demyanov-Malozemov (MDM) algorithm on the pair's Gram matrix, finished exactly by Wolfe's
minimum-norm-point method on the points MDM found to matter (large pairs go to Wolfe's method first). Every iterate
z gives an upper bound ||z|| and the hyperplane with normal z a lower bound (min_A z.a - max_B z.b) / ||z||, so the
answer is certified to a relative tolerance. The inner loops are compiled with numba.
"""
from __future__ import annotations

import contextlib
import os
import sys

import highspy
import numpy as np
from numba import njit
from scipy.optimize import linprog

# Tolerance of the distances: the upper and lower bounds agree to this fraction, or to DISTANCE_ATOL.
DISTANCE_RTOL = 1e-4
DISTANCE_ATOL = 1e-6
# The authors' Gurobi LP used FeasibilityTol 1e-4; HiGHS takes the same tolerance so borderline pairs agree.
LP_FEASIBILITY_TOL = 1e-4
# Two point sets touch when their nearest points are closer than this fraction of the coordinates' scale: the
# exact (Wolfe) solution reaches it only when their hulls share a point (up to rounding).
TOUCH_RTOL = 1e-9


@njit(cache=True)
def _mdm(K, n_a, alpha, rtol, atol, max_iter, stop_when_separated=False):
    """Nearest points of conv(S[:n_a]) and conv(S[n_a:]) given the Gram matrix K of S.

    alpha: starting weights (each side sums to 1), updated in place.
    Returns (upper, lower): ||z|| and the separation along z (lower <= distance <= upper).
    """
    n = K.shape[0]
    sign = np.ones(n)
    sign[n_a:] = -1.0
    # g_i = s_i . z with z = sum_A alpha s - sum_B alpha s
    g = K @ (sign * alpha)
    nz2 = 0.0
    for k in range(n):
        nz2 += sign[k] * alpha[k] * g[k]
    lower = -np.inf
    for it in range(max_iter):
        a_hi, a_lo, b_hi, b_lo = -1, -1, -1, -1
        for i in range(n_a):
            if alpha[i] > 0 and (a_hi < 0 or g[i] > g[a_hi]):
                a_hi = i
            if a_lo < 0 or g[i] < g[a_lo]:
                a_lo = i
        for j in range(n_a, n):
            if b_hi < 0 or g[j] > g[b_hi]:
                b_hi = j
            if alpha[j] > 0 and (b_lo < 0 or g[j] < g[b_lo]):
                b_lo = j
        # separation of the hyperplane with normal z: min_A z.a - max_B z.b (over ||z||)
        sep = g[a_lo] - g[b_hi]
        if nz2 <= 1e-300:
            return 0.0, 0.0
        lower = max(lower, sep / np.sqrt(nz2))
        if nz2 - sep <= max(rtol * nz2, atol * np.sqrt(nz2)) or (stop_when_separated and sep > 0):
            break
        gap_a = g[a_hi] - g[a_lo]
        gap_b = g[b_hi] - g[b_lo]
        if gap_a >= gap_b:
            hi, lo = a_hi, a_lo   # move weight from A's highest to A's lowest point
            gap = gap_a
        else:
            hi, lo = b_lo, b_hi   # move weight from B's lowest to B's highest point
            gap = gap_b
        dd = K[lo, lo] + K[hi, hi] - 2.0 * K[lo, hi]
        if dd <= 0.0 or gap <= 0.0:
            break
        t = min(alpha[hi], gap / dd)
        alpha[hi] -= t
        alpha[lo] += t
        s = sign[hi]
        for k in range(n):
            g[k] += s * t * (K[lo, k] - K[hi, k])
        nz2 += -2.0 * t * gap + t * t * dd
        if nz2 < 0.0:
            nz2 = 0.0
    return np.sqrt(nz2), lower


@njit(cache=True)
def _point_to_hull(K, PA, pp, stop_above, rtol, atol, max_iter, out_upper, out_lower, out_alpha):
    """Distance bounds of each point p (rows of PA = P @ A.T, norms pp) to conv(A), by MDM on A alone.

    Stops early for a point once its lower bound exceeds stop_above (it cannot be that point's nearest hull).
    The final weights go to out_alpha.
    """
    m, n = PA.shape
    for q in range(m):
        # Start from the member nearest p: MDM then brings in only the points it needs (from uniform weights it
        # would first spend a step on every member).
        near = 0
        for i in range(n):
            if K[i, i] - 2.0 * PA[q, i] < K[near, near] - 2.0 * PA[q, near]:
                near = i
        alpha = out_alpha[q]
        alpha[:] = 0.0
        alpha[near] = 1.0
        g = K[near] - PA[q]                  # g_i = a_i . z, z = A'alpha - p
        nz2 = K[near, near] - 2.0 * PA[q, near] + pp[q]
        lower = -np.inf
        for it in range(max_iter):
            hi, lo = -1, -1
            for i in range(n):
                if alpha[i] > 0 and (hi < 0 or g[i] > g[hi]):
                    hi = i
                if lo < 0 or g[i] < g[lo]:
                    lo = i
            pz = alpha @ PA[q] - pp[q]          # p . z
            sep = g[lo] - pz
            if nz2 <= 1e-300:
                break
            lower = max(lower, sep / np.sqrt(nz2))
            if nz2 - sep <= max(rtol * nz2, atol * np.sqrt(nz2)) or lower > stop_above[q]:
                break
            gap = g[hi] - g[lo]
            dd = K[lo, lo] + K[hi, hi] - 2.0 * K[lo, hi]
            if dd <= 0.0 or gap <= 0.0:
                break
            t = min(alpha[hi], gap / dd)
            alpha[hi] -= t
            alpha[lo] += t
            for k in range(n):
                g[k] += t * (K[lo, k] - K[hi, k])
            nz2 += -2.0 * t * gap + t * t * dd
            if nz2 < 0.0:
                nz2 = 0.0
        out_upper[q] = np.sqrt(max(nz2, 0.0))
        out_lower[q] = lower


def _start_weights(n_a: int, n_b: int) -> np.ndarray:
    return np.concatenate([np.full(n_a, 1.0 / n_a), np.full(n_b, 1.0 / n_b)])


def _nearest_to_other_centroid(A: np.ndarray, B: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The k points of A nearest B's centroid and the k points of B nearest A's (indices, nearest first): where
    nearest-point searches and LP working sets start."""
    to_b, to_a = ((A - B.mean(0)) ** 2).sum(1), ((B - A.mean(0)) ** 2).sum(1)
    if k == 1:
        return np.array([np.argmin(to_b)]), np.array([np.argmin(to_a)])
    return np.argsort(to_b)[:k], np.argsort(to_a)[:k]


def _centered(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    # Small coordinates keep the Gram entries, and so the bounds of nearly touching hulls, accurate.
    S = np.concatenate([A, B]).astype(np.float64)
    S -= S.mean(0)
    return S


def _evaluate(S: np.ndarray, n_a: int, alpha: np.ndarray):
    """(upper, lower, g) from weights alpha, computed afresh from the points: the bounds ||z|| and the separation
    along z, and every point's projection g on z. (MDM updates the bounds step by step; over millions of steps
    rounding errors add up to more than the distance of nearly touching hulls.)"""
    z = alpha[:n_a] @ S[:n_a] - alpha[n_a:] @ S[n_a:]
    upper = float(np.linalg.norm(z))
    g = S @ z
    if upper <= 1e-300:
        return 0.0, 0.0, g
    return upper, float((g[:n_a].min() - g[n_a:].max()) / upper), g


def _bounds(S: np.ndarray, n_a: int, alpha: np.ndarray):
    """(upper, lower) bounds of the distance from weights alpha (see `_evaluate`)."""
    return _evaluate(S, n_a, alpha)[:2]


def _converged(upper: float, lower: float, rtol: float, atol: float) -> bool:
    return upper - lower <= max(rtol * upper, atol)


# --- exact finish: Wolfe's minimum-norm-point method ----------------------------------------------------------------
# The nearest points of conv(A) and conv(B) are min ||sum_A l a - sum_B m b|| over l, m >= 0, sum l = sum m = 1.
# Wolfe's method keeps a "corral" of points whose affine minimum (the same problem without l, m >= 0) has positive
# weights, adds the point that most violates optimality, and drops points whose weight reaches 0 on the way. The
# affine minimum comes from a QR factorisation of the corral's columns [+-point; c e_side] (the e rows make the
# problem's Gram matrix definite on each side's affine hull), updated one column at a time, so a corral carried over
# from a related question costs a few updates instead of a new solve.

@njit(cache=True)
def _corral_column(S, p, n_a, c, v):
    """The column of point p: its coordinates (negated on the B side) and c in its side's row."""
    d = S.shape[1]
    sign = 1.0 if p < n_a else -1.0
    for t in range(d):
        v[t] = sign * S[p, t]
    v[d] = c if p < n_a else 0.0
    v[d + 1] = 0.0 if p < n_a else c


@njit(cache=True)
def _qr_append(Q, L, k, v):
    """Append column v to the factors of the corral's columns, QR with Q's first k rows orthonormal and L = R'
    (lower triangular: every update and solve then runs along rows); False when v lies in their span (to 1e-10 of
    its norm)."""
    norm = np.sqrt(v @ v)
    r = np.zeros(k)
    rho = norm
    for _ in range(2):     # Gram-Schmidt, once more when it cancelled much ("twice is enough")
        if k:
            r2 = Q[:k] @ v
            v = v - r2 @ Q[:k]
            r += r2
        before = rho
        rho = np.sqrt(v @ v)
        if rho > 0.7 * before:
            break
    if rho <= 1e-10 * norm:
        return False
    Q[k] = v / rho
    L[k, :k] = r
    L[k, k] = rho
    return True


@njit(cache=True)
def _qr_delete(Q, L, k, j):
    """Drop column j of k: the later columns (rows of L) move up, and Givens rotations restore the triangle."""
    for i in range(j, k - 1):
        L[i, :i + 2] = L[i + 1, :i + 2]
    L[k - 1, :k] = 0.0
    n = Q.shape[1]
    for i in range(j, k - 1):
        a, b = L[i, i], L[i, i + 1]
        h = np.hypot(a, b)
        if h == 0.0:
            continue
        cs, sn = a / h, b / h
        for col in range(i, k - 1):
            ri, rj = L[col, i], L[col, i + 1]
            L[col, i] = cs * ri + sn * rj
            L[col, i + 1] = -sn * ri + cs * rj
        L[i, i + 1] = 0.0
        for t in range(n):
            qi, qj = Q[i, t], Q[i + 1, t]
            Q[i, t] = cs * qi + sn * qj
            Q[i + 1, t] = -sn * qi + cs * qj


@njit(cache=True)
def _affine_min(L, k, on_a):
    """Weights y minimising ||sum_A y a - sum_B y b|| over the corral with each side summing to 1 (no sign bound).

    With H = R'R the corral's Gram matrix plus c^2 E'E (constant on the constraints), y = H^-1 E' mu, where
    mu solves (E H^-1 E') mu = (1, 1): two triangular solves and a 2x2 system.
    """
    ua = np.zeros(k)
    ub = np.zeros(k)
    for i in range(k):        # R'U = E', i.e. L U = E' (loops, not slices: no temporaries)
        sa = 1.0 if on_a[i] else 0.0
        sb = 1.0 - sa
        for t in range(i):
            sa -= L[i, t] * ua[t]
            sb -= L[i, t] * ub[t]
        ua[i] = sa / L[i, i]
        ub[i] = sb / L[i, i]
    h00 = h01 = h11 = 0.0
    for i in range(k):
        h00 += ua[i] * ua[i]
        h01 += ua[i] * ub[i]
        h11 += ub[i] * ub[i]
    det = h00 * h11 - h01 * h01
    m0, m1 = (h11 - h01) / det, (h00 - h01) / det
    w = np.empty(k)
    for i in range(k):
        w[i] = ua[i] * m0 + ub[i] * m1
    y = np.zeros(k)
    for i in range(k - 1, -1, -1):   # R y = w, i.e. L'y = w, by rows of L
        y[i] = w[i] / L[i, i]
        for t in range(i):
            w[t] -= y[i] * L[i, t]
    return y


@njit(cache=True)
def _wolfe(S, n_a, c, corral, k, x, Q, L, rtol, atol, touch, max_iter):
    """Wolfe's method on the points S (A = the first n_a), from a corral of k points (indices into S, weights x > 0
    summing to 1 on each side, factors Q, L of their columns), all updated in place.

    Stops when the bounds over S agree to rtol (or atol), when ||z|| <= touch, when no point improves, or after
    max_iter points were added. Returns (k, points added).
    """
    d = S.shape[1]
    v = np.zeros(d + 2)
    on_a = np.zeros(d + 2, np.bool_)
    z = np.zeros(d)
    it = 0
    stalled = False
    while it < max_iter:
        # Minor cycle: move to the corral's affine minimum, or as far towards it as the weights stay >= 0, dropping
        # the points whose weight reaches 0, until the affine minimum has positive weights.
        while True:
            for i in range(k):
                on_a[i] = corral[i] < n_a
            y = _affine_min(L, k, on_a)
            if y.min() > 0:
                x[:k] = y
                break
            if not (y <= 0).any():
                stalled = True      # NaN weights (rounding): the last corral stands
                break
            # The step stops where the first weight reaches 0; that point leaves, with any other at 0.
            theta = 1.0
            for i in range(k):
                if y[i] <= 0 and x[i] - y[i] > 0:
                    theta = min(theta, x[i] / (x[i] - y[i]))
            first = -1
            for i in range(k):
                x[i] += theta * (y[i] - x[i])
                if y[i] <= 0 and (first < 0 or x[i] < x[first]):
                    first = i
            for i in range(k - 1, -1, -1):
                if x[i] <= 0 or i == first:
                    _qr_delete(Q, L, k, i)
                    corral[i:k - 1] = corral[i + 1:k].copy()
                    x[i:k - 1] = x[i + 1:k].copy()
                    k -= 1
        if stalled:
            break
        z[:] = 0.0
        for i in range(k):
            weight = x[i] if corral[i] < n_a else -x[i]
            row = S[corral[i]]
            for t in range(d):
                z[t] += weight * row[t]
        g = S @ z
        norm_z = np.sqrt(z @ z)
        if norm_z <= touch:
            break
        level_a = level_b = 0.0
        for i in range(k):
            if corral[i] < n_a:
                level_a += x[i] * g[corral[i]]
            else:
                level_b += x[i] * g[corral[i]]
        lo_a = np.argmin(g[:n_a])
        hi_b = n_a + np.argmax(g[n_a:])
        if norm_z - (g[lo_a] - g[hi_b]) / norm_z <= max(rtol * norm_z, atol):
            break
        # Enter the point that most violates optimality: an A point below A's level along z, or a B point above B's.
        gain_a, gain_b = level_a - g[lo_a], g[hi_b] - level_b
        p = lo_a if gain_a >= gain_b else hi_b
        if max(gain_a, gain_b) <= 1e-15 * norm_z * norm_z or k >= d + 2 or (corral[:k] == p).any():
            break        # nothing improves to rounding
        _corral_column(S, p, n_a, c, v)
        if not _qr_append(Q, L, k, v):
            break
        corral[k] = p
        x[k] = 0.0
        k += 1
        it += 1
    return k, it


@njit(cache=True)
def _factor_corral(S, n_a, c, weights, corral, x, Q, L):
    """Factor the columns of the points of S one by one, skipping those in the span of the earlier ones; their
    weights, renormalised on each side, start the corral. Returns its size."""
    v = np.zeros(S.shape[1] + 2)
    k = 0
    for p in range(len(S)):
        _corral_column(S, p, n_a, c, v)
        if _qr_append(Q, L, k, v):
            corral[k] = p
            x[k] = weights[p]
            k += 1
    on_a = corral[:k] < n_a
    x[:k][on_a] /= x[:k][on_a].sum()
    x[:k][~on_a] /= x[:k][~on_a].sum()
    return k


def _start_corral(S, n_a, c, weights, corral, x, Q, L):
    """`_factor_corral`, by one LAPACK QR when the columns are independent (usually: up to d + 2 of them)."""
    m, d = S.shape
    if m <= d + 2:
        columns = np.empty((d + 2, m))
        columns[:d] = S.T
        columns[:d, n_a:] *= -1
        columns[d], columns[d + 1] = c * (np.arange(m) < n_a), c * (np.arange(m) >= n_a)
        q, r = np.linalg.qr(columns)
        if (np.abs(np.diag(r)) > 1e-10 * np.linalg.norm(columns, axis=0)).all():
            Q[:m], L[:m, :m], corral[:m] = q.T, r.T, np.arange(m)
            x[:n_a], x[n_a:m] = weights[:n_a] / weights[:n_a].sum(), weights[n_a:] / weights[n_a:].sum()
            return m
    return _factor_corral(S, n_a, c, weights, corral, x, Q, L)


def _finish(S: np.ndarray, n_a: int, alpha: np.ndarray, rtol: float, atol: float, add: int = 50, rounds: int = 100,
            separate: bool = False):
    """Exact finish of the nearest-point problem from weights alpha (updated in place): (upper, lower).

    MDM moves weight between two points per step and crawls when the hulls nearly touch. Here Wolfe's method
    (`_wolfe`) solves the problem on a working set, from the points that carry weight; points of the whole set that
    the solution's hyperplane puts on the wrong side join it, worst first, and the corral goes on from where it was,
    until the bounds agree.

    With `separate`, stop at the first separating hyperplane (lower > 0) or once the working sets' hulls touch
    (upper below TOUCH_RTOL of the coordinates' scale): only whether the hulls meet is asked.
    """
    n, d = S.shape
    scale = max(float(np.abs(S).max()), 1e-12)
    touch = TOUCH_RTOL * scale
    c = float(np.sqrt((S * S).sum(1).max())) or 1.0
    Q, L = np.zeros((d + 2, d + 2)), np.zeros((d + 2, d + 2))
    corral, x = np.zeros(d + 2, np.int64), np.zeros(d + 2)
    work = np.flatnonzero(alpha > 0)
    S_work, n_a_work = np.ascontiguousarray(S[work]), int((work < n_a).sum())
    k = _start_corral(S_work, n_a_work, c, alpha[work], corral, x, Q, L)
    best = _bounds(S, n_a, alpha)
    for _ in range(rounds):
        if _converged(*best, rtol, atol) or (separate and (best[1] > 0 or best[0] <= touch)):
            break
        k, _ = _wolfe(S_work, n_a_work, c, corral, k, x, Q, L, rtol, atol, touch, 10 * d)
        ids = work[corral[:k]]
        trial = np.zeros(n)
        trial[ids] = x[:k]
        upper, lower, g = _evaluate(S, n_a, trial)
        if upper < best[0]:
            alpha[:] = trial
        best = (min(upper, best[0]), max(lower, best[1]))
        # Optimality: no point of A below the nearest point of conv(A) along z, none of B above B's.
        level_a, level_b = trial[:n_a] @ g[:n_a], trial[n_a:] @ g[n_a:]
        bad_a = np.flatnonzero(g[:n_a] < level_a)
        bad_b = n_a + np.flatnonzero(g[n_a:] > level_b)
        bad_a = bad_a[np.argsort(g[bad_a])[:add]]
        bad_b = bad_b[np.argsort(-g[bad_b])[:add]]
        new = np.setdiff1d(np.r_[bad_a, bad_b], work)
        if not len(new):
            break
        # The next working set: the corral and the new points; the corral keeps its factors, renumbered.
        work = np.union1d(ids, new)
        corral[:k] = np.searchsorted(work, ids)
        S_work, n_a_work = np.ascontiguousarray(S[work]), int((work < n_a).sum())
    return best


def nearest_points(A: np.ndarray, B: np.ndarray, rtol: float = DISTANCE_RTOL, max_iter: int = 50_000_000,
                   mdm_steps: int = 20_000, gram_above: int = 1000):
    """(upper, lower) bounds of the distance between conv(A) and conv(B); they agree to `rtol` (or DISTANCE_ATOL)
    unless max_iter MDM steps run out first.

    MDM on the Gram matrix for up to `mdm_steps` steps finds the points that matter, the exact finish (Wolfe's method)
    on those (`_finish`) usually closes the gap, and MDM goes on from there if need be. Above `gram_above` points the
    Gram matrix costs more than the rest: the exact finish on a working set from the points nearest each other's
    centroid goes first, and usually settles it alone.
    """
    S = _centered(A, B)
    n_a = len(A)
    if len(S) > gram_above:
        # The finish from the points nearest each other's centroid needs no Gram matrix and usually suffices.
        i, j = _nearest_to_other_centroid(A, B)
        alpha = np.zeros(len(S))
        alpha[i] = alpha[n_a + j] = 1.0
        bounds = _finish(S, n_a, alpha, rtol, DISTANCE_ATOL)
        if _converged(*bounds, rtol, DISTANCE_ATOL):
            return bounds
    K = S @ S.T
    # Start from the closest pair of points: from uniform weights MDM would first spend a step on every point.
    diag = np.diag(K)
    pair_sq = diag[:n_a, None] + diag[None, n_a:] - 2 * K[:n_a, n_a:]
    i, j = np.unravel_index(np.argmin(pair_sq), pair_sq.shape)
    alpha = np.zeros(len(S))
    alpha[i] = alpha[n_a + j] = 1.0
    _mdm(K, n_a, alpha, rtol, DISTANCE_ATOL, min(max_iter, mdm_steps))
    bounds = _bounds(S, n_a, alpha)
    if _converged(*bounds, rtol, DISTANCE_ATOL):
        return bounds
    bounds = _finish(S, n_a, alpha, rtol, DISTANCE_ATOL)
    if _converged(*bounds, rtol, DISTANCE_ATOL):
        return bounds
    _mdm(K, n_a, alpha, rtol, DISTANCE_ATOL, max_iter)
    upper, lower = _bounds(S, n_a, alpha)
    return upper, max(lower, bounds[1])


def _separating_hyperplane(A: np.ndarray, B: np.ndarray):
    """(w, b) with w.a + b >= 1 on A and w.x + b <= -1 on B, smallest L1 norm of w; None when none exists."""
    d = A.shape[1]
    ones_a, ones_b = np.ones((len(A), 1)), np.ones((len(B), 1))
    # w = u - v with u, v >= 0: minimising sum(u + v) favours wide separators, which hold on unseen points
    A_ub = np.vstack([-np.hstack([A, -A, ones_a]), np.hstack([B, -B, ones_b])])
    b_ub = -np.ones(len(A) + len(B))
    cost = np.concatenate([np.ones(2 * d), [0.0]])
    bounds = [(0, None)] * (2 * d) + [(None, None)]
    # HiGHS occasionally ends with an unknown status on degenerate inputs; other methods then decide.
    for options in ({"primal_feasibility_tolerance": LP_FEASIBILITY_TOL},
                    {"primal_feasibility_tolerance": LP_FEASIBILITY_TOL, "presolve": False},
                    {}):
        for method in ("highs", "highs-ds", "highs-ipm"):
            res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method=method, options=options)
            if res.status == 0:
                return res.x[:d] - res.x[d:2 * d], res.x[-1]
            if res.status == 2:
                return None
    raise RuntimeError(f"HiGHS could not decide separability: {res.message}")


def _violations(A: np.ndarray, B: np.ndarray, w: np.ndarray, b: float, in_a: np.ndarray, in_b: np.ndarray, k: int):
    """Points outside the working sets (masks in_a, in_b) that w.x + b gets wrong, worst first, up to k per side."""
    # w.x + b stays within the LP's tolerance of +-1 on the working sets; elsewhere it must clear 0 by as much.
    margin_a = A @ w + b - (1 - LP_FEASIBILITY_TOL)
    margin_b = (-1 + LP_FEASIBILITY_TOL) - (B @ w + b)
    bad_a = np.flatnonzero((margin_a < 0) & ~in_a)
    bad_b = np.flatnonzero((margin_b < 0) & ~in_b)
    return bad_a[np.argsort(margin_a[bad_a])[:k]], bad_b[np.argsort(margin_b[bad_b])[:k]]


def lp_separating_direction(A: np.ndarray, B: np.ndarray, working_set: int = 200, start=None, info=None):
    """The exact test: a direction w with max(A @ w) < min(B @ w) from the LP, or None when the hulls meet.

    Large sets are solved on working sets (the points of each side nearest the other side's centroid): subsets
    that cannot be separated prove the full hulls meet; a hyperplane that separates the subsets is checked on all
    points, and the points it gets wrong join the working sets until it holds everywhere or the subsets meet.
    (One LP on all points is faster for some nearly touching separable pairs, but proving that large hulls meet
    that way takes minutes where a few working-set rounds take seconds.)

    start: boolean masks (of A, of B) of points to put in the working sets from the beginning, such as the final
    working sets of a related question; info: a dict that receives the final working sets as "in_a" and "in_b".
    """
    if len(A) + len(B) <= 2 * working_set:
        plane = _separating_hyperplane(A, B)
        # w.a + b >= 1 - tol on A and <= -1 + tol on B: -w puts A below B.
        return None if plane is None else -plane[0]
    in_a = np.zeros(len(A), bool)
    in_b = np.zeros(len(B), bool)
    first_a, first_b = _nearest_to_other_centroid(A, B, working_set)
    in_a[first_a] = in_b[first_b] = True
    if start is not None:
        in_a |= start[0]
        in_b |= start[1]
    while True:
        if info is not None:
            info.update(in_a=in_a, in_b=in_b)
        plane = _separating_hyperplane(A[in_a], B[in_b])
        if plane is None:
            return None
        w, b = plane
        bad_a, bad_b = _violations(A, B, w, b, in_a, in_b, working_set)
        if not len(bad_a) and not len(bad_b):
            return -w
        in_a[bad_a] = in_b[bad_b] = True


@contextlib.contextmanager
def _quiet_c_stdout():
    """Send what C code writes to stdout (file descriptor 1) to /dev/null for the duration."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:          # no file descriptor 1: nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class WarmSeparator:
    """The working-set LP of `lp_separating_direction`, kept between questions about similar point sets.

    DirectProbe's forward pass asks about a cluster that grew by a few points against the same other-label clusters
    again and again. One HiGHS model (highspy) holds the working set as rows: rows of points that left the sets are
    deleted, violated points are added, and dual simplex re-solves from the last basis: a fraction of a second where
    a fresh solve of the same LP takes seconds. Any outcome other than optimal or infeasible within `time_limit`
    returns `UNDECIDED`, and the caller decides another way.
    """

    UNDECIDED = "undecided"

    def __init__(self, X: np.ndarray, working_set: int = 200, time_limit: float = 10.0):
        self.X, self.working_set = X, working_set
        d = X.shape[1]
        with _quiet_c_stdout():   # HiGHS writes its banner from C++ when constructed, before any option applies
            self.h = h = highspy.Highs()
        h.silent()
        for name, value in (("primal_feasibility_tolerance", LP_FEASIBILITY_TOL), ("presolve", "off"),
                            ("solver", "simplex")):
            h.setOptionValue(name, value)
        self.time_limit = time_limit
        # Columns u, v >= 0 (w = u - v, cost sum(u + v), as in `_separating_hyperplane`) and a free offset b.
        inf = highspy.kHighsInf
        h.addCols(2 * d + 1, np.r_[np.ones(2 * d), 0.0], np.r_[np.zeros(2 * d), -inf], np.full(2 * d + 1, inf),
                  0, np.array([], np.int32), np.array([], np.int32), np.array([], np.float64))
        self.rows = np.empty(0, np.int64)     # point of each row
        self.on_a = np.empty(0, bool)         # whether that point is on the A side (w.x + b >= 1)
        self.saved = None                     # (rows, basis) after the last separation: the state to go back to

    def overlap(self, a: np.ndarray, b: np.ndarray) -> int:
        """How many rows a question about point sets a, b would keep."""
        return int(np.isin(self.rows[self.on_a], a).sum() + np.isin(self.rows[~self.on_a], b).sum())

    def _add(self, points: np.ndarray, on_a: bool):
        if not len(points):
            return
        P = self.X[points]
        n, width = len(P), 2 * P.shape[1] + 1
        values = np.hstack([P, -P, np.ones((n, 1))]).ravel()
        inf = highspy.kHighsInf
        self.h.addRows(n, np.full(n, 1.0 if on_a else -inf), np.full(n, inf if on_a else -1.0), len(values),
                       np.arange(n, dtype=np.int32) * width, np.tile(np.arange(width, dtype=np.int32), n), values)
        self.rows = np.r_[self.rows, points]
        self.on_a = np.r_[self.on_a, np.full(n, on_a)]

    def _run(self):
        # HiGHS (before 2.0) compares time_limit with the time of all runs of a model together.
        self.h.setOptionValue("time_limit", self.h.getRunTime() + self.time_limit)
        self.h.run()
        return self.h.getModelStatus()

    def _solve(self):
        status = self._run()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible,
                          highspy.HighsModelStatus.kTimeLimit):
            # The kept basis can be unusable after rows were deleted: start once more from scratch.
            self.h.clearSolver()
            status = self._run()
        return status

    def direction(self, a: np.ndarray, b: np.ndarray):
        """For the points X[a], X[b]: w with max(X[a] @ w) < min(X[b] @ w), None when the hulls meet, or UNDECIDED."""
        if self.saved is not None and len(self.rows) > self.saved[0]:
            # The last question added rows and ended without a separation (a refused merge): go back to the basis
            # of the last separation rather than re-solving from scratch.
            extra = np.arange(self.saved[0], len(self.rows), dtype=np.int32)
            self.h.deleteRows(len(extra), extra)
            self.rows, self.on_a = self.rows[:self.saved[0]], self.on_a[:self.saved[0]]
            self.h.setBasis(self.saved[1])
        keep = np.where(self.on_a, np.isin(self.rows, a), np.isin(self.rows, b))
        if not keep.all():
            drop = np.flatnonzero(~keep).astype(np.int32)
            self.h.deleteRows(len(drop), drop)
            self.rows, self.on_a = self.rows[keep], self.on_a[keep]
            self.saved = None     # the saved basis no longer matches the rows
        A, B = self.X[a], self.X[b]
        if not len(self.rows):
            first_a, first_b = _nearest_to_other_centroid(A, B, self.working_set)
            self._add(a[first_a], True)
            self._add(b[first_b], False)
        d = A.shape[1]
        while True:
            status = self._solve()
            if status != highspy.HighsModelStatus.kOptimal:
                # Dual simplex often ends without a verdict on working sets that meet (nearly touching clusters);
                # a common point of the working sets, the small LP over their points, proves that the hulls meet.
                if status == highspy.HighsModelStatus.kInfeasible or _common_point_exists(
                        self.X[self.rows[self.on_a]], self.X[self.rows[~self.on_a]], self.time_limit):
                    return None
                return self.UNDECIDED
            x = np.asarray(self.h.getSolution().col_value)
            w, offset = x[:d] - x[d:2 * d], x[-1]
            bad_a, bad_b = _violations(A, B, w, offset, np.isin(a, self.rows[self.on_a]),
                                       np.isin(b, self.rows[~self.on_a]), self.working_set)
            if not len(bad_a) and not len(bad_b):
                # Rows hold to the solver's tolerance: confirm the certificate on the points themselves.
                if (A @ w).min() <= (B @ w).max():
                    return self.UNDECIDED
                self.saved = (len(self.rows), self.h.getBasis())
                return -w
            self._add(a[bad_a], True)
            self._add(b[bad_b], False)


def lp_separable(A: np.ndarray, B: np.ndarray) -> bool:
    """Is there w, b with w.a + b >= 1 on A and w.x + b <= -1 on B (HiGHS, feasibility tolerance 1e-4)?"""
    return lp_separating_direction(A, B) is not None


def _common_point_exists(A: np.ndarray, B: np.ndarray, time_limit: float | None = None) -> bool:
    """Exact test that conv(A) and conv(B) share a point: l, m >= 0, sum l = sum m = 1, A'l = B'm (HiGHS).

    With a time limit, False also stands for "not shown within the limit"."""
    n_a, n_b = len(A), len(B)
    A_eq = np.vstack([np.hstack([A.T, -B.T]), np.r_[np.ones(n_a), np.zeros(n_b)], np.r_[np.zeros(n_a), np.ones(n_b)]])
    b_eq = np.r_[np.zeros(A.shape[1]), 1.0, 1.0]
    options = {} if time_limit is None else {"time_limit": time_limit}
    res = linprog(np.zeros(n_a + n_b), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs", options=options)
    return res.status == 0


def separating_direction(A: np.ndarray, B: np.ndarray, known: np.ndarray | None = None,
                         mdm_rounds=(1000, 3000, 10000), start=None, info=None, lp=None, lp_first=False):
    """A direction w with max(A @ w) < min(B @ w) (the hulls are disjoint), or None when conv(A) and conv(B) meet.

    Cheap certificates first, the full LP only when none is found: bounding spheres, the centroid direction, the rows
    of `known` (directions that separated related sets before: clusters that lost or gained a few points), then the
    nearest points of the two hulls by Wolfe's method on a working set (`_finish`, seeded with `start`, the support of
    a related question): a separating hyperplane, or working sets that touch, which proves the full hulls meet. That
    decides almost every question. The rest go to the nearest-point iteration (MDM), whose support is tested for a
    common point by a small LP, and last to the LP on all points (`start`, `info`: see `lp_separating_direction`;
    `info` receives the finish's support when that decides).

    lp: a `WarmSeparator` question (a callable) asked before the LP on all points, or with `lp_first` right after the
    known directions (a kept model that already holds most of the working set answers faster than MDM); its
    UNDECIDED falls through to the next route.
    """
    ca, cb = A.mean(0), B.mean(0)
    w = cb - ca
    ra = np.sqrt(((A - ca) ** 2).sum(1).max())
    rb = np.sqrt(((B - cb) ** 2).sum(1).max())
    if np.linalg.norm(w) > ra + rb:
        return w
    if (A @ w).max() < (B @ w).min():
        return w
    if known is not None and len(known):
        hit = np.flatnonzero((A @ known.T).max(0) < (B @ known.T).min(0))
        if len(hit):
            return known[hit[0]]
    S = _centered(A, B)
    # Nearest points by Wolfe's method on a working set (`_finish`), seeded with the points nearest the other side's
    # centroid and the support of a related question: the widest separating direction, or a proof that they touch.
    near_a, near_b = _nearest_to_other_centroid(A, B)
    alpha = np.zeros(len(S))
    seed_a = np.zeros(len(A), bool) if start is None else start[0].copy()
    seed_b = np.zeros(len(B), bool) if start is None else start[1].copy()
    seed_a[near_a] = seed_b[near_b] = True
    alpha[:len(A)][seed_a] = 1.0 / seed_a.sum()
    alpha[len(A):][seed_b] = 1.0 / seed_b.sum()
    upper, lower = _finish(S, len(A), alpha, DISTANCE_RTOL, DISTANCE_ATOL, separate=True)
    if info is not None:
        info.update(in_a=alpha[:len(A)] > 0, in_b=alpha[len(A):] > 0)
    if lower > 0:
        z = alpha[len(A):] @ B - alpha[:len(A)] @ A
        if (A @ z).max() < (B @ z).min():
            return z
    elif upper <= TOUCH_RTOL * max(float(np.abs(S).max()), 1e-12):
        return None
    if lp is not None and lp_first:
        if (w := lp()) is not WarmSeparator.UNDECIDED:
            return w
        lp = None
    K = S @ S.T
    sign = np.r_[np.ones(len(A)), -np.ones(len(B))]

    def mdm_direction(alpha):
        # z = sum_A alpha a - sum_B alpha b points from B to A: -z puts A below B.
        z = -(alpha * sign) @ S
        return z if (A @ z).max() < (B @ z).min() else None

    # From the centroids most disjoint pairs separate within a few hundred steps.
    alpha = _start_weights(len(A), len(B))
    _, lower = _mdm(K, len(A), alpha, 1e-3, DISTANCE_ATOL, 500, True)
    if lower > 0 and (z := mdm_direction(alpha)) is not None:
        return z
    alpha = np.zeros(len(S))
    alpha[near_a] = alpha[len(A) + near_b] = 1.0
    for iterations in mdm_rounds:
        _, lower = _mdm(K, len(A), alpha, 1e-3, DISTANCE_ATOL, iterations, True)
        if lower > 0 and (z := mdm_direction(alpha)) is not None:
            return z
        in_a, in_b = np.flatnonzero(alpha[:len(A)] > 0), np.flatnonzero(alpha[len(A):] > 0)
        if len(in_a) + len(in_b) < len(S) and _common_point_exists(A[in_a], B[in_b]):
            return None
    if lp is not None and (w := lp()) is not WarmSeparator.UNDECIDED:
        return w
    return lp_separating_direction(A, B, start=start, info=info)


def hulls_meet(A: np.ndarray, B: np.ndarray) -> bool:
    """Do conv(A) and conv(B) intersect? (see `separating_direction`)"""
    return separating_direction(A, B) is None


def hull_distance(A: np.ndarray, B: np.ndarray, rtol: float = DISTANCE_RTOL) -> float:
    """Euclidean distance between conv(A) and conv(B) (0 when they meet), to `rtol` (or DISTANCE_ATOL)."""
    upper, lower = nearest_points(A, B, rtol=rtol)
    if lower > 0:
        return float(upper)
    # The iterate never separated the sets: either they meet, or they are closer than the tolerance resolves.
    return 0.0 if not lp_separable(A, B) else float(upper)


def point_hull_bounds(A: np.ndarray, P: np.ndarray, stop_above: np.ndarray | None = None,
                      rtol: float = DISTANCE_RTOL, mdm_steps: int = 5_000, max_iter: int = 50_000_000,
                      block: int = 256, atol: float = DISTANCE_ATOL):
    """(upper, lower) bounds of the distance of every row of P to conv(A); they agree to `rtol` (or `atol`),
    except for rows whose lower bound passed `stop_above` (that row's threshold: a nearer hull is known), where the
    work stopped. A distance near 0 comes from squared norms, so it is known only to about sqrt(eps) x the
    coordinates' scale: `atol` should grow with that scale (``DirectProbe`` passes one that does).

    MDM on A's Gram matrix for up to `mdm_steps` steps per point, then the exact finish (Wolfe's method) of
    `nearest_points` (points inside or just outside the hull are where MDM crawls), then MDM again if need be.
    """
    A = A.astype(np.float64)
    center = A.mean(0)
    A -= center
    P = P.astype(np.float64) - center
    stop_above = np.full(len(P), np.inf) if stop_above is None else np.asarray(stop_above, np.float64)
    K = A @ A.T
    upper, lower = np.empty(len(P)), np.empty(len(P))
    for start in range(0, len(P), block):
        rows = slice(start, start + block)
        Pb = P[rows]
        alpha = np.empty((len(Pb), len(A)))
        PA, pp = np.ascontiguousarray(Pb @ A.T), (Pb * Pb).sum(1)
        _point_to_hull(K, PA, pp, stop_above[rows], rtol, atol, mdm_steps, upper[rows], lower[rows], alpha)
        for q in range(len(Pb)):
            i = start + q
            if lower[i] > stop_above[i] or _converged(upper[i], lower[i], rtol, atol):
                continue
            S = np.vstack([A, Pb[q]])
            weights = np.r_[alpha[q], 1.0]
            up, lo = _finish(S, len(A), weights, rtol, atol)
            if not _converged(up, lo, rtol, atol) and lo <= stop_above[i]:
                Kq = np.block([[K, PA[q][:, None]], [PA[q][None, :], pp[q]]])   # A's Gram matrix, bordered by p
                _mdm(Kq, len(A), weights, rtol, atol, max_iter)
                again = _bounds(S, len(A), weights)
                up, lo = min(up, again[0]), max(lo, again[1])
            upper[i], lower[i] = up, max(lo, lower[i])
    return upper, lower


def point_hull_distances(A: np.ndarray, P: np.ndarray, rtol: float = DISTANCE_RTOL,
                         atol: float = DISTANCE_ATOL) -> np.ndarray:
    """Distance of every row of P to conv(A) (0 inside), to `rtol` (or `atol`)."""
    return point_hull_bounds(A, P, rtol=rtol, atol=atol)[0]
