"""DirectProbe (Zhou & Srikumar, 2021) as a scikit-learn estimator.

Paper §2.2. DirectProbe clusters the training points so that every cluster holds one label and no two clusters of
different labels have intersecting convex hulls. The number of clusters tells whether the labels are linearly
separable; the distances between clusters describe the space.

The outcome is that of the authors' code (github.com/utahnlp/DirectProbe), reached faster:

1. Merge to the end: starting from one cluster per point, repeatedly merge the closest pair of same-label clusters
   (Euclidean distance between centroids) until one cluster per label is left. If the end state is valid (no two
   hulls of different labels meet) the representation is linear: done.
2. Otherwise find the first invalid state of that merge history: a coarse search back in steps of
   ``rate`` x history length (when the history has >= 1000 states), then bisection. Merging only grows clusters,
   so once two hulls meet they meet in every later state: the first invalid state is well defined.
3. Rebuild the state before it and go forward: take the closest same-label pair; merge it only if the merged
   cluster's hull meets no other-label hull, else drop that pair for good, until no pair is left.

Hull questions go to ``hulls.py`` (bounding spheres, separating-hyperplane certificates, nearest points by
Wolfe's minimum-norm-point method, HiGHS for the rest). Most questions are about clusters that differ by a few
points from clusters asked about before, so the directions that separated earlier pairs of a label pair are tried
first (every point's projection on them is kept: a lookup), and the LP of a label pair is kept between questions
(``hulls.WarmSeparator``) for those that the nearest points leave open.
Memory stays O(n x d) plus what one pair of clusters needs: nearest same-label neighbours are cached per cluster
(never a table of n^2 pairs), each overlapping label pair keeps float32 projections of its points on at most 32
directions, and the forward pass keeps projections on other-label centroids within as many numbers as X holds.
"""
from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
from numba import njit
from scipy.sparse import csr_matrix
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from .progress import tqdm

from . import hulls


# Squares of coordinates beyond this overflow float64 (its largest number is about 1.8e308).
MAX_COORDINATE = 1e150
# The hull tests resolve about 1e-9 of the coordinates' scale (hulls.TOUCH_RTOL) and the LP a feasibility of 1e-4: a
# point this many times farther out than the typical one makes them decide from rounding (fit warns).
MAX_SPREAD = 1e6


def _validate(X, y=None, min_labels=2):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (examples x features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X is empty: no examples")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    largest = float(np.abs(X).max())
    if largest > MAX_COORDINATE:
        raise ValueError(f"X holds a value of {largest:.3g}: squared distances overflow float64 beyond "
                         f"{MAX_COORDINATE:.0e}; rescale X (DirectProbe's clusters do not change under a uniform "
                         "scaling, its distances scale with it)")
    if y is None:
        return X.astype(np.float64)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per example), got shape {y.shape}")
    if len(y) != len(X):
        raise ValueError(f"X and y have different lengths: {len(X)} examples, {len(y)} labels")
    if len(np.unique(y)) < min_labels:
        raise ValueError(f"y has {len(np.unique(y))} distinct label(s); DirectProbe needs at least {min_labels}")
    return X.astype(np.float64), y


class DirectProbe(ClassifierMixin, BaseEstimator):
    """Clusters of same-label points whose convex hulls no other label's hull meets.

    Parameters
    ----------
    rate : float, default 0.01
        Coarse-search step as a fraction of the merge history (the authors' default; their paper repo used 0.05).
        With exact overlap checks the outcome does not depend on it, only the number of states checked.
    progress : bool, default False
        Show progress bars.

    Attributes (after ``fit``)
    --------------------------
    labels_ : (n_samples,) cluster id of each training row
    cluster_labels_ : (n_clusters,) label of each cluster
    classes_ : sorted distinct labels
    n_clusters_ : number of clusters
    is_linear_ : whether n_clusters_ equals the number of labels
    cluster_distances_ : (n_clusters, n_clusters) hull-to-hull distances, symmetric, zero diagonal
    history_ : dict of what the search did (merge states, first invalid state, forward attempts)
    timings_ : seconds spent clustering and computing distances
    """

    def __init__(self, rate: float = 0.01, progress: bool = False):
        self.rate = rate
        self.progress = progress

    # ---------------------------------------------------------------------------------------------
    def fit(self, X, y):
        X, y = _validate(X, y)
        if not 0 < self.rate <= 1:
            raise ValueError(f"rate must lie in (0, 1], got {self.rate}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.n_features_in_ = X.shape[1]
        self._X = X
        _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
        clash = np.flatnonzero(codes != codes[first][inverse.ravel()])
        if len(clash):
            raise ValueError(f"{len(clash)} example(s) repeat the coordinates of an example with another label "
                             f"(row {clash[0]}, for one): no clustering can separate them; drop the duplicates")

        # The absolute tolerance of distances near 0 (see `_atol`): the training data's scale.
        self.scale_ = float(np.linalg.norm(X - X.mean(0), axis=1).max())
        # A far outlier drags the mean with it; its distance from the coordinates' median stands out.
        spread = np.linalg.norm(X - np.median(X, axis=0), axis=1)
        typical = float(np.median(spread))
        if typical > 0 and spread.max() > MAX_SPREAD * typical:
            warnings.warn(f"X: row {int(np.argmax(spread))} lies {spread.max() / typical:.1e} times farther out than "
                          f"the median row; beyond {MAX_SPREAD:.0e} the hull tests decide from rounding errors, so "
                          "the clusters (and whether X is linear) may be wrong: drop or rescale such rows",
                          RuntimeWarning, stacklevel=2)

        started = time.perf_counter()
        phases = {}
        self._oracle = _HullOracle(X, codes)
        history = self._merge_to_end(X, codes)
        end = self._state(history, len(history), len(X))
        phases["merge_to_end_s"] = time.perf_counter() - started
        overlapping = self._overlapping_label_pairs(X, codes, end)
        phases["label_hulls_s"] = time.perf_counter() - started - sum(phases.values())
        self.history_ = {"merge_states": len(history), "overlapping_label_pairs": len(overlapping)}
        if not overlapping:
            members = end
        else:
            first_invalid = self._first_invalid_state(X, codes, history, overlapping)
            phases["search_s"] = time.perf_counter() - started - sum(phases.values())
            self.history_["first_invalid_state"] = first_invalid
            members = self._forward(X, codes, self._state(history, first_invalid - 1, len(X)), overlapping)
            phases["forward_s"] = time.perf_counter() - started - sum(phases.values())
            self.history_["hull_questions"] = self._oracle.questions
        del self._oracle

        # Stable numbering: by label, then by first member.
        members = sorted((np.sort(m) for m in members), key=lambda m: (codes[m[0]], m[0]))
        self.labels_ = np.empty(len(X), dtype=np.int64)
        for k, m in enumerate(members):
            self.labels_[m] = k
        self._members = members
        self.cluster_labels_ = self.classes_[[codes[m[0]] for m in members]]
        self.n_clusters_ = len(members)
        self.is_linear_ = self.n_clusters_ == len(self.classes_)
        clustered = time.perf_counter()
        self.cluster_distances_ = self._distances(X, members)
        self.timings_ = {"cluster_s": clustered - started, **phases, "distance_s": time.perf_counter() - clustered}
        return self

    # --- step 1: merge to the end ----------------------------------------------------------------
    def _merge_to_end(self, X, codes):
        """The merge history [(a, b), ...] as ids: 0..n-1 the points, n+k the cluster made by merge k."""
        clusters = _Clusters(X, codes, [np.array([i]) for i in range(len(X))])
        history = []
        for _ in tqdm(range(len(X) - len(np.unique(codes))), desc="DirectProbe: merge to end",
                      disable=not self.progress):
            pair = clusters.closest_pair()
            if pair is None:
                break
            history.append(pair)
            clusters.merge(*pair)
        return history

    @staticmethod
    def _state(history, k, n_points):
        """The clusters (arrays of point indices) after the first k merges."""
        groups = {i: [i] for i in range(n_points)}
        for step, (a, b) in enumerate(history[:k]):
            groups[n_points + step] = groups.pop(a) + groups.pop(b)
        return [np.array(g) for g in groups.values()]

    # --- validity ---------------------------------------------------------------------------------
    def _overlapping_label_pairs(self, X, codes, end_members):
        """Label pairs whose full hulls meet: only clusters of these labels can ever meet."""
        by_label = {int(codes[m[0]]): X[m] for m in end_members}
        pairs = list(itertools.combinations(sorted(by_label), 2))
        out = set()
        for a, b in tqdm(pairs, desc="DirectProbe: label hulls", disable=not self.progress):
            if hulls.hulls_meet(by_label[a], by_label[b]):
                out.add((a, b))
        return out

    def _state_is_valid(self, X, codes, members, overlapping, cache):
        centroid, radius, label = _cluster_stats(X, codes, members)
        # A cluster of the merge history is identified by its smallest point and its size.
        key = [(int(m.min()), len(m)) for m in members]
        by_label = {int(l): np.flatnonzero(label == l) for l in np.unique(label)}
        candidates = []
        for a, b in overlapping:
            ia, ib = by_label.get(a, ()), by_label.get(b, ())
            if not len(ia) or not len(ib):
                continue
            reach = radius[ia][:, None] + radius[ib][None, :]
            slack = cdist(centroid[ia], centroid[ib]) - reach
            rows, cols = np.flatnonzero((slack < 0).any(1)), np.flatnonzero((slack < 0).any(0))
            if not len(rows):
                continue
            open_ = (slack[np.ix_(rows, cols)] < 0) & ~_centroid_separated(
                X, [members[i] for i in ia[rows]], centroid[ia[rows]], [members[j] for j in ib[cols]],
                centroid[ib[cols]])
            for r, c in zip(*np.nonzero(open_)):
                r, c = rows[r], cols[c]
                candidates.append((slack[r, c] / reach[r, c], ia[r], ib[c]))
        # Most-overlapping spheres first: an invalid state is usually found at once.
        candidates.sort(key=lambda t: t[0])
        for _, i, j in candidates:
            pair = (key[i], key[j])
            if pair not in cache:
                cache[pair] = self._oracle.meet(label[i], members[i], label[j], members[j])
            if cache[pair]:
                return False
        return True

    def _first_invalid_state(self, X, codes, history, overlapping):
        """The authors' coarse search and bisection over the merge history."""
        cache: dict = {}
        checked = []
        bar = tqdm(desc="DirectProbe: search for the first invalid state", unit="state", disable=not self.progress)

        def valid(k):
            checked.append(k)
            ok = self._state_is_valid(X, codes, self._state(history, k, len(X)), overlapping, cache)
            bar.update()
            bar.set_postfix(state=k, valid=ok)
            return ok

        m = len(history)
        if m < 1000:
            lo, hi = 0, m
        else:
            step = int(m * self.rate) + 1
            k = m - step
            while not valid(k):
                if k == 0:
                    raise RuntimeError("no valid state: the initial one-point clusters already overlap")
                k = max(0, k - step)
            lo, hi = k, k + step
        while lo < hi:
            k = (lo + hi) // 2
            if valid(k):
                lo = k + 1
            else:
                hi = k
        bar.close()
        self.history_.update(states_checked=len(checked), hull_pairs_checked=len(cache))
        return hi

    # --- step 3: forward with checks ----------------------------------------------------------------
    def _forward(self, X, codes, members, overlapping):
        clusters = _Clusters(X, codes, members)
        projections = _CentroidProjections(X, codes, sorted({lab for pair in overlapping for lab in pair}))
        # A refused merge a+b meets some other-label cluster K. Clusters only grow, so every later cluster that
        # holds both a and b meets the cluster that holds K: refuse it without asking the hulls again.
        # One point of a and one of b stand for them.
        refused_points = np.empty((64, 2), dtype=np.int64)
        merged = refused = 0
        bar = tqdm(total=len(members) - len(clusters.blocks), desc="DirectProbe: forward merges",
                   disable=not self.progress)
        while (pair := clusters.closest_pair()) is not None:
            a, b = pair
            owner_a, owner_b = clusters.owner[refused_points[:refused, 0]], clusters.owner[refused_points[:refused, 1]]
            known = bool((((owner_a == a) | (owner_a == b)) & ((owner_b == a) | (owner_b == b))).any())
            refuse = known
            if not known:
                new = np.concatenate([clusters.members[a], clusters.members[b]])
                pts = X[new]
                cen = pts.mean(0)    # the merged cluster's centroid, as `_Clusters.merge` would compute it
                refuse = self._meets_other_label(X, codes, clusters, new, pts, cen, overlapping, projections)
            if refuse:
                clusters.refuse(a, b)
                if refused == len(refused_points):
                    refused_points = np.concatenate([refused_points, np.empty_like(refused_points)])
                refused_points[refused] = clusters.members[a][0], clusters.members[b][0]
                refused += 1
            else:
                clusters.merge(a, b, new, cen)
                projections.forget(a, b)
                merged += 1
                bar.update()
        bar.close()
        self.history_.update(forward_start_clusters=len(members), forward_merges=merged, forward_refusals=refused)
        return [clusters.members[c] for c in clusters.active]

    def _meets_other_label(self, X, codes, clusters, new, pts, cen, overlapping, projections):
        lab = int(codes[new[0]])
        rad = np.sqrt(((pts - cen) ** 2).sum(1).max())
        self_term = pts @ cen
        for other, block in clusters.blocks.items():
            if other == lab or (min(lab, other), max(lab, other)) not in overlapping or not block.live:
                continue
            ids = block.live_ids()
            near = ids[np.sqrt(((clusters.centroid[ids] - cen) ** 2).sum(1)) < rad + clusters.radius[ids]]
            if not len(near):
                continue
            # Does the direction c_k - c_new separate? max over new of p.(c_k - c_new) vs min over K of the same.
            top = projections.top(lab, new, self_term, near, clusters.centroid[near])
            near_members = [clusters.members[k] for k in near]
            sizes = np.array([len(m) for m in near_members])
            own = np.concatenate([projections.own_projections(k, clusters.members[k], clusters.centroid[k])
                                  for k in near])
            bottom = np.minimum.reduceat(own - X[np.concatenate(near_members)] @ cen, np.r_[0, np.cumsum(sizes)[:-1]])
            near = near[top >= bottom]
            for k in near:
                if self._oracle.meet(lab, new, other, clusters.members[k]):
                    return True
        return False

    # --- distances and prediction ---------------------------------------------------------------------
    def _distances(self, X, members):
        n = len(members)
        D = np.zeros((n, n))
        pairs = list(itertools.combinations(range(n), 2))
        for i, j in tqdm(pairs, desc="DirectProbe: distances", disable=not self.progress):
            D[i, j] = D[j, i] = hulls.hull_distance(X[members[i]], X[members[j]])
        return D

    def _check_X(self, X):
        check_is_fitted(self, "labels_")
        if getattr(self, "_X", None) is None:
            raise ValueError("this DirectProbe holds no training matrix (a cached fit keeps none): fit it, or get it "
                             "from closerlook.experiments.directprobe, which gives it back")
        X = _validate(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the probe was fitted on {self.n_features_in_}")
        return X

    def _atol(self, X) -> float:
        """The absolute tolerance of a distance between X and the training points. Distances come from squared
        norms, whose rounding error grows with the squared coordinates, so a distance near 0 is known only to about
        sqrt(float64 eps) = 1.5e-8 times their scale: ``hulls.DISTANCE_ATOL`` (1e-6) times the larger of the
        training data's scale (``scale_``: the largest distance of a training row from their mean), the queried
        rows' distance from that mean, and 1."""
        center = self._X.mean(0)
        reach = float(np.sqrt(((X - center) ** 2).sum(1).max())) if len(X) else 0.0
        scale = max(1.0, getattr(self, "scale_", 0.0), reach)
        return hulls.DISTANCE_ATOL * scale

    def hull_distances(self, X):
        """(n_samples, n_clusters) distance of each row of X to each cluster's hull: 0 inside, and 0 within the
        tolerance of the coordinates' scale (``_atol``), where a training row's distance to its own hull lands."""
        X = self._check_X(X)
        atol = self._atol(X)
        D = np.column_stack([hulls.point_hull_distances(self._X[m], X, atol=atol) for m in
                             tqdm(self._members, desc="DirectProbe: distances to hulls", disable=not self.progress)])
        return np.where(D <= atol, 0.0, D)

    def predict(self, X):
        """Label of the cluster whose hull is nearest.

        Only the nearest hull matters, so bounds rule out most clusters before any distance is computed: the nearest
        member of a cluster bounds its distance from above, and the hyperplane through the cluster's extreme point
        along the direction to its centroid bounds it from below. A cluster is worked on for a point only while its
        lower bound is below the point's best upper bound so far, and the work stops once it rises above it.
        Everything is computed in float64 on coordinates centred on each cluster's centroid, and a cluster stays in
        the running within the tolerance of the coordinates' scale (``_atol``), so a training row is never ruled
        out of its own cluster by rounding, whatever the dtype and scale of X.
        """
        X = self._check_X(X)
        atol = self._atol(X)
        n = len(self._members)
        upper, lower = np.empty((len(X), n)), np.empty((len(X), n))
        for j, m in enumerate(self._members):
            A = self._X[m]
            centroid = A.mean(0)
            A = A - centroid
            a_sq = (A * A).sum(1)
            for start in range(0, len(X), 1024):
                rows = slice(start, start + 1024)
                P = X[rows] - centroid
                p_sq = (P * P).sum(1)
                PA = P @ A.T
                upper[rows, j] = np.sqrt(np.maximum(p_sq[:, None] - 2 * PA + a_sq[None, :], 0).min(1))
                # w = centroid - p = -P: min over a of w.(a - p) = |P|^2 - max over a of P.a, over ||w||
                norm = np.sqrt(p_sq)
                lower[rows, j] = np.where(norm > 0, (p_sq - PA.max(1)) / np.maximum(norm, 1e-300), 0.0)
        best = upper.min(1)

        def reach(best):
            # Distances are known to the hulls' tolerance: a cluster within it of the best stays in the running.
            return best * (1 + hulls.DISTANCE_RTOL) + atol

        # Clusters with the lowest bounds first: the best upper bound falls fast and prunes the rest.
        for j in tqdm(np.argsort(np.median(lower, axis=0)), desc="DirectProbe: predict", disable=not self.progress):
            open_ = np.flatnonzero(lower[:, j] <= reach(best))
            if not len(open_):
                continue
            up, lo = hulls.point_hull_bounds(self._X[self._members[j]], X[open_], stop_above=reach(best[open_]),
                                             atol=atol)
            upper[open_, j] = np.minimum(upper[open_, j], up)
            lower[open_, j] = np.maximum(lower[open_, j], lo)
            best[open_] = np.minimum(best[open_], up)
        # A cluster left out, or dropped on the way, has a lower bound above the reach of the best one.
        candidate = np.where(lower <= reach(best)[:, None], upper, np.inf)
        lost = np.flatnonzero(~np.isfinite(candidate).any(1))
        if len(lost):
            # The cluster with the best upper bound has a lower bound below it: this is a bug, never a label.
            raise RuntimeError(f"DirectProbe.predict: no cluster is left for row(s) {lost[:6].tolist()} (their "
                               f"bounds contradict each other at tolerance {atol:.3g}); please report it")
        return self.cluster_labels_[np.argmin(candidate, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict`` on X against the labels y."""
        X, y = _validate(X, y, min_labels=1)
        return super().score(X, y, sample_weight)

    def relabel(self, labels):
        """The same clusters under other names for the labels: ``labels`` maps each of ``classes_`` to a new label
        (distinct ones). Clusters are numbered again as ``fit`` numbers them (by label, then first member), so the
        result is what ``fit`` gives on the renamed labels. Returns self."""
        check_is_fitted(self, "labels_")
        new = [labels[c] for c in self.classes_.tolist()]
        if len(set(new)) != len(new):
            raise ValueError(f"relabel: two labels get the same name ({new[:6]} ...)")
        classes = np.unique(np.asarray(new))
        code = {v: k for k, v in enumerate(classes.tolist())}
        cluster_codes = [code[labels[l]] for l in self.cluster_labels_.tolist()]
        order = sorted(range(self.n_clusters_), key=lambda k: (cluster_codes[k], int(self._members[k][0])))
        self._members = [self._members[k] for k in order]
        position = np.empty(self.n_clusters_, dtype=np.int64)
        position[order] = np.arange(self.n_clusters_)
        self.labels_ = position[self.labels_]
        self.cluster_labels_ = classes[[cluster_codes[k] for k in order]]
        self.cluster_distances_ = self.cluster_distances_[np.ix_(order, order)]
        self.classes_ = classes
        return self


# -----------------------------------------------------------------------------------------------------------------
# The machinery behind DirectProbe.fit: kept projections, separating directions, the hull oracle, the
# clusters of the merge history. A reader of the algorithm can stop above.


class _KeptColumns:
    """The projections of a fixed set of points (rows of X) on up to `width` vectors, one column each: a new vector
    takes a free column, else the least recently used one. `pos` maps a point of X to its row.

    keep_rows keeps a copy of the points, for tables that take new columns often.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray, width: int, dtype=np.float64, keep_rows: bool = False):
        self.X, self.rows = X, rows
        self.points = X[rows] if keep_rows else None
        self.pos = np.full(len(X), -1)
        self.pos[rows] = np.arange(len(rows))
        self.P = np.empty((len(rows), width), dtype)
        self.last_used = np.full(width, -1, dtype=np.int64)   # -1: free
        self.clock = 0

    def tick(self):
        self.clock += 1

    def use(self, columns):
        self.last_used[columns] = self.clock

    def put(self, vectors: np.ndarray) -> np.ndarray:
        """Columns for the rows of `vectors`: free ones first, then the least recently used."""
        columns = np.argsort(self.last_used, kind="stable")[:len(vectors)]
        points = self.points if self.points is not None else self.X[self.rows]
        self.P[:, columns] = points @ vectors.T
        self.last_used[columns] = self.clock
        return columns

    def free(self, columns):
        self.last_used[columns] = -1


class _Directions:
    """Directions that separated earlier clusters of one label pair, with the projection of every point of the two
    labels on each: whether one of them separates two clusters is then a lookup, not a matrix product."""

    def __init__(self, X: np.ndarray, rows: np.ndarray, keep: int):
        self.X = X
        # float32 halves the memory; a separation is trusted only with a margin that float32 rounding cannot undo.
        self.kept = _KeptColumns(X, rows, keep, np.float32)
        self.W = np.zeros((keep, X.shape[1]))

    def find(self, a: np.ndarray, b: np.ndarray):
        """A kept direction w with max(X[a] @ w) < min(X[b] @ w), or None."""
        kept = self.kept
        held = kept.last_used >= 0
        if not held.any():
            return None
        top, bottom = kept.P[kept.pos[a]].max(0), kept.P[kept.pos[b]].min(0)
        kept.tick()
        for j in np.flatnonzero((top < bottom) & held):
            # Each float32 value is within 2^-24 of its float64 projection (relative).
            scale = max(abs(float(top[j])), abs(float(bottom[j])))
            if bottom[j] - top[j] > 2.0 ** -22 * scale or (self.X[a] @ self.W[j]).max() < (self.X[b] @ self.W[j]).min():
                kept.use(j)
                return self.W[j]
        return None

    def add(self, w: np.ndarray):
        self.kept.tick()
        self.W[self.kept.put(w[None, :])[0]] = w


class _HullOracle:
    """Do the hulls of two clusters meet? Keeps, per label pair, the directions that separated earlier clusters.

    DirectProbe asks about clusters that differ from earlier ones by a few points (the forward pass grows a cluster
    one merge at a time; the search goes back to states whose clusters are subsets of later ones), so a direction
    that separated the earlier pair usually still separates: a lookup of kept projections instead of a hull
    question. When none does, `hulls.separating_direction` decides (nearest points by Wolfe's method, then a kept LP of
    the label pair: up to `models` of them, the one sharing most points with the question).
    """

    def __init__(self, X, codes, keep: int = 32, models: int = 4, small: int = 1000):
        self.X, self.codes, self.keep, self.models, self.small = X, codes, keep, models, small
        self.known: dict[tuple[int, int], _Directions] = {}
        self.support: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.lps: dict[tuple[int, int], list[hulls.WarmSeparator]] = {}
        self.questions = 0

    def _warm_lp(self, pair, a, b):
        """The kept LP of this label pair that shares most rows with the question (a new one, or the least recently
        used, when none does), and whether it shares any."""
        pool = self.lps.setdefault(pair, [])
        overlap = [lp.overlap(a, b) for lp in pool]
        hot = bool(overlap) and max(overlap) > 0
        if hot:
            lp = pool.pop(int(np.argmax(overlap)))
        elif len(pool) < self.models:
            lp = hulls.WarmSeparator(self.X)
        else:
            lp = pool.pop()
        pool.insert(0, lp)
        return lp, hot

    def meet(self, label_a: int, a: np.ndarray, label_b: int, b: np.ndarray) -> bool:
        if label_a > label_b:
            label_a, a, label_b, b = label_b, b, label_a, a
        self.questions += 1
        pair = (label_a, label_b)
        if pair not in self.known:
            self.known[pair] = _Directions(self.X, np.flatnonzero(np.isin(self.codes, pair)), self.keep)
        if self.known[pair].find(a, b) is not None:
            return False
        # The LP's last working sets for this label pair (nearly touching clusters) start the next one.
        start, info = None, {}
        if pair in self.support:
            support_a, support_b = self.support[pair]
            start = (np.isin(a, support_a), np.isin(b, support_b))
        # Small pairs are one fresh LP on all their points; larger ones use a kept LP, before MDM when it shares rows.
        lp, hot = None, False
        if len(a) + len(b) > self.small:
            warm, hot = self._warm_lp(pair, a, b)
            lp = lambda: warm.direction(a, b)
        w = hulls.separating_direction(self.X[a], self.X[b], start=start, info=info, lp=lp, lp_first=hot)
        if info:
            self.support[pair] = (a[info["in_a"]], b[info["in_b"]])
        if w is None:
            return True
        self.known[pair].add(w)
        return False


class _LabelBlock:
    """Centroids of one label's clusters in one contiguous array, in the order the clusters were made.

    Distances from a cluster to all others of its label are then one matrix product without copying them out. A
    merged-away cluster leaves a dead slot (infinite norm) until dead slots outnumber live ones.
    """

    def __init__(self, d: int, cap: int):
        self.ids = np.full(cap, -1)
        self.centroid = np.zeros((cap, d))
        self.sqnorm = np.full(cap, np.inf)
        self.size = 0
        self.live = 0

    def add(self, c: int, centroid: np.ndarray, sqnorm: float, slot: np.ndarray):
        if self.size == len(self.ids):
            if 2 * self.live <= self.size:
                self.compact(slot)
            else:
                grow = len(self.ids)
                self.ids = np.r_[self.ids, np.full(grow, -1)]
                self.centroid = np.vstack([self.centroid, np.zeros((grow, self.centroid.shape[1]))])
                self.sqnorm = np.r_[self.sqnorm, np.full(grow, np.inf)]
        slot[c] = self.size
        self.ids[self.size], self.centroid[self.size], self.sqnorm[self.size] = c, centroid, sqnorm
        self.size += 1
        self.live += 1

    def remove(self, c: int, slot: np.ndarray):
        self.ids[slot[c]], self.sqnorm[slot[c]] = -1, np.inf
        slot[c] = -1
        self.live -= 1
        if self.size > 64 and 2 * self.live < self.size:
            self.compact(slot)

    def compact(self, slot: np.ndarray):
        """Drop the dead slots, keeping the live ones in order (ties between distances go to the older cluster)."""
        keep = np.flatnonzero(self.ids[:self.size] >= 0)
        n = len(keep)
        self.ids[:n], self.centroid[:n], self.sqnorm[:n] = self.ids[keep], self.centroid[keep], self.sqnorm[keep]
        self.ids[n:], self.sqnorm[n:] = -1, np.inf
        slot[self.ids[:n]] = np.arange(n)
        self.size = n

    def live_ids(self) -> np.ndarray:
        """The label's active clusters, oldest first."""
        ids = self.ids[:self.size]
        return ids[ids >= 0]

    def distances(self, centroids: np.ndarray, sqnorms: np.ndarray) -> np.ndarray:
        """(len(centroids), size) centroid distances to the block's slots (inf for dead ones), in float64 (the
        authors' torch.cdist does this in float32)."""
        sq = sqnorms[:, None] + self.sqnorm[None, :self.size] - 2.0 * centroids @ self.centroid[:self.size].T
        return np.sqrt(np.maximum(sq, 0.0))


def _centroid_separated(X, members_a: list[np.ndarray], centroids_a: np.ndarray, members_b: list[np.ndarray],
                        centroids_b: np.ndarray) -> np.ndarray:
    """(len(members_a), len(members_b)): does the direction between the centroids of A_i and B_j separate them?

    With w = c_j - c_i, a point p of A_i projects to p.c_j - p.c_i and a point q of B_j to q.c_j - q.c_i: two matrix
    products of the points with the other side's centroids give every pair at once, each cluster's points read once.
    """
    def extremes(members, own, other, reduce):
        points = np.concatenate(members)
        sizes = np.array([len(m) for m in members])
        P = X[points]
        self_term = np.einsum("ij,ij->i", P, np.repeat(own, sizes, axis=0))
        return reduce.reduceat(P @ other.T - self_term[:, None], np.r_[0, np.cumsum(sizes)[:-1]], axis=0)

    top = extremes(members_a, centroids_a, centroids_b, np.maximum)            # max over A_i of p.(c_j - c_i)
    bottom = -extremes(members_b, centroids_b, centroids_a, np.maximum)        # min over B_j of q.(c_j - c_i)
    return top < bottom.T


@njit(cache=True)
def _max_gathered(table, rows, cols, offset):
    """max over i of table[rows[i], cols[j]] - offset[i], for each j (a gather numpy would copy first)."""
    out = np.full(len(cols), -np.inf)
    for i in range(len(rows)):
        r = rows[i]
        for j in range(len(cols)):
            v = table[r, cols[j]] - offset[i]
            if v > out[j]:
                out[j] = v
    return out


class _CentroidProjections:
    """The projections p.c_k of every point p of a label on the centroid c_k of other-label clusters k, kept.

    The forward pass tests each candidate merge against the centroid directions of the other-label clusters near
    it (hundreds), and the costly side is max over the new cluster's points p of p.(c_k - c_new): a matrix product
    per candidate. p.c_k does not depend on the candidate, and a cluster's centroid never changes (a merge makes a
    new cluster), so the column of p.c_k over the label's points is computed once per cluster and gathered after.

    Memory is bounded: the columns of all labels together hold at most `budget` numbers (default: as many as X),
    the least recently used column makes room, and a merged-away cluster's column is freed at once.
    """

    def __init__(self, X, codes, labels, budget: int | None = None):
        self.X = X
        budget = X.size if budget is None else budget
        self.kept: dict[int, _KeptColumns] = {}        # label -> its points' projections on cluster centroids
        self.column_of: dict[int, dict[int, int]] = {}  # label -> cluster -> its column
        self.holder: dict[int, np.ndarray] = {}         # label -> column -> its cluster
        for lab in labels:
            points = np.flatnonzero(codes == lab)
            width = max(64, budget // (len(labels) * len(points)))
            self.kept[lab] = _KeptColumns(X, points, width, keep_rows=True)
            self.column_of[lab], self.holder[lab] = {}, np.full(width, -1)
        self.own: dict[int, np.ndarray] = {}      # cluster -> its points' projections on its own centroid

    def top(self, lab: int, new: np.ndarray, self_term: np.ndarray, ids: np.ndarray, centroids: np.ndarray):
        """max over the points p of `new` (label lab) of p.c_k - self_term[p], for the clusters `ids`."""
        kept, column_of, holder = self.kept[lab], self.column_of[lab], self.holder[lab]
        kept.tick()
        columns = np.array([column_of.get(int(k), -1) for k in ids], dtype=np.int64)
        held = columns >= 0
        kept.use(columns[held])
        need = np.flatnonzero(~held)
        if len(need) > len(holder) - held.sum():    # more than the table holds: compute them all
            return (kept.points[kept.pos[new]] @ centroids.T - self_term[:, None]).max(0)
        if len(need):
            free = kept.put(centroids[need])         # none of them used by this question
            for k in holder[free][holder[free] >= 0]:
                del column_of[int(k)]
            holder[free], columns[need] = ids[need], free
            column_of.update(zip(ids[need].tolist(), free.tolist()))
        return _max_gathered(kept.P, kept.pos[new], columns, self_term)

    def own_projections(self, k: int, members: np.ndarray, centroid: np.ndarray) -> np.ndarray:
        if k not in self.own:
            self.own[k] = self.X[members] @ centroid
        return self.own[k]

    def forget(self, *clusters: int):
        """Clusters merged away: free what was kept for them."""
        for k in clusters:
            self.own.pop(k, None)
            for lab, column_of in self.column_of.items():
                if (column := column_of.pop(k, None)) is not None:
                    self.holder[lab][column] = -1
                    self.kept[lab].free(column)


class _Clusters:
    """Active clusters with centroids, radii and each cluster's nearest same-label neighbour."""

    def __init__(self, X, codes, members: list[np.ndarray]):
        self.X, self.codes = X, codes
        cap = len(members) * 2
        d = X.shape[1]
        self.members: list[np.ndarray | None] = []
        self.centroid = np.zeros((cap, d))
        self.radius = np.zeros(cap)
        self.sqnorm = np.zeros(cap)
        self.label = np.zeros(cap, dtype=np.int64)
        self.nn = np.full(cap, -1)
        self.nnd = np.full(cap, np.inf)
        # A stale cluster's neighbour was merged away; its nnd is then a lower bound (every other cluster was no
        # nearer), and the neighbour is looked up again only if the cluster comes up as the closest.
        self.stale = np.zeros(cap, dtype=bool)
        self.slot = np.full(cap, -1)
        self.blocks: dict[int, _LabelBlock] = {}   # label -> its active clusters
        counts = np.bincount([codes[m[0]] for m in members])
        for lab in np.flatnonzero(counts):
            self.blocks[int(lab)] = _LabelBlock(d, max(2 * int(counts[lab]), 4))
        self.refused: dict[int, set[int]] = {}   # cluster -> partners it may no longer merge with
        self.owner = np.empty(len(X), dtype=np.int64)   # point -> active cluster
        for m in members:
            self._add(m)
        for block in self.blocks.values():
            ids = block.live_ids()
            for start in range(0, len(ids), 512):   # blocks keep the distance table small
                self._find_nn_many(ids[start:start + 512])

    def _grow(self):
        for name in ("centroid", "radius", "sqnorm", "label", "nn", "nnd", "stale", "slot"):
            a = getattr(self, name)
            fill = {"nn": -1, "nnd": np.inf, "slot": -1}.get(name, 0)
            setattr(self, name, np.concatenate([a, np.full((len(a),) + a.shape[1:], fill, dtype=a.dtype)]))

    def _add(self, m: np.ndarray, parts=None, centroid=None) -> int:
        """A new cluster of points m; `parts` = (a, b) when it is the merge of clusters a and b, `centroid` the mean
        of X[m] when the caller has it."""
        c = len(self.members)
        if c >= len(self.radius):
            self._grow()
        pts = self.X[m] if parts is None or centroid is None else None
        cen = pts.mean(0) if centroid is None else centroid
        self.members.append(m)
        self.owner[m] = c
        self.centroid[c] = cen
        self.sqnorm[c] = cen @ cen
        if parts is None:
            self.radius[c] = np.sqrt(((pts - cen) ** 2).sum(1).max())
        else:
            # The sphere of each part about the new centroid holds it: a bound, cheaper than a pass over the points.
            self.radius[c] = max(np.sqrt(((self.centroid[k] - cen) ** 2).sum()) + self.radius[k] for k in parts)
        lab = int(self.codes[m[0]])
        self.label[c] = lab
        self.blocks[lab].add(c, cen, self.sqnorm[c], self.slot)
        return c

    def _find_nn(self, c: int):
        self._find_nn_many(np.array([c]))

    def _find_nn_many(self, cs: np.ndarray):
        """Recompute the nearest same-label neighbour of the clusters `cs` (all of one label) in one block."""
        block = self.blocks[int(self.label[cs[0]])]
        self.stale[cs] = False
        if block.live < 2:
            self.nn[cs], self.nnd[cs] = -1, np.inf
            return
        dist = self._dist(cs, block)
        dist[np.arange(len(cs)), self.slot[cs]] = np.inf
        for row, c in enumerate(cs):
            if c in self.refused:
                partners = np.fromiter(self.refused[c], dtype=np.int64)
                slots = self.slot[partners]
                dist[row, slots[slots >= 0]] = np.inf    # partners merged away since have no slot
        j = np.argmin(dist, axis=1)
        best = dist[np.arange(len(cs)), j]
        self.nn[cs] = np.where(np.isfinite(best), block.ids[j], -1)
        self.nnd[cs] = best

    def _dist(self, rows: np.ndarray, block: _LabelBlock) -> np.ndarray:
        return block.distances(self.centroid[rows], self.sqnorm[rows])

    @property
    def active(self) -> list[int]:
        return sorted(itertools.chain.from_iterable(block.live_ids() for block in self.blocks.values()))

    def closest_pair(self):
        while True:
            c = int(np.argmin(self.nnd))
            if not np.isfinite(self.nnd[c]):
                return None
            if not self.stale[c]:
                # nnd[c] is no more than any true distance (stale ones are lower bounds): c and nn[c] are closest.
                return c, int(self.nn[c])
            self._find_nn(c)

    def merge(self, a: int, b: int, members=None, centroid=None) -> int:
        """Merge clusters a and b; `members`, `centroid`: their concatenated points and its mean, when known."""
        lab = int(self.label[a])
        block = self.blocks[lab]
        block.remove(a, self.slot)
        block.remove(b, self.slot)
        self.nnd[[a, b]] = np.inf
        if members is None:
            members = np.concatenate([self.members[a], self.members[b]])
        c = self._add(members, parts=(a, b), centroid=centroid)
        if block.live > 1:
            dist = self._dist(np.array([c]), block)[0]
            dist[self.slot[c]] = np.inf
            j = int(np.argmin(dist))
            self.nn[c], self.nnd[c] = block.ids[j], dist[j]
            live = np.flatnonzero(np.isfinite(dist))
            others = block.ids[live]
            closer = dist[live] < self.nnd[others]
            self.nn[others[closer]] = c
            self.nnd[others[closer]] = dist[live][closer]
            self.stale[others[closer]] = False
            self.stale[others[np.isin(self.nn[others], [a, b])]] = True
        return c

    def refuse(self, a: int, b: int):
        self.refused.setdefault(a, set()).add(b)
        self.refused.setdefault(b, set()).add(a)
        self._find_nn(a)
        self._find_nn(b)


def _cluster_stats(X, codes, members):
    """Centroid, radius (largest distance of a member to the centroid) and label of each cluster."""
    owner = np.empty(len(X), dtype=np.int64)
    for k, m in enumerate(members):
        owner[m] = k
    sizes = np.bincount(owner, minlength=len(members))
    onehot = csr_matrix((np.ones(len(X)), (owner, np.arange(len(X)))), shape=(len(members), len(X)))
    centroid = (onehot @ X) / sizes[:, None]
    radius = np.zeros(len(members))
    np.maximum.at(radius, owner, np.sqrt(((X - centroid[owner]) ** 2).sum(1)))
    label = np.array([codes[m[0]] for m in members])
    return centroid, radius, label
