"""What the analyses read off a fitted DirectProbe: per-label minimum distances, distance vectors, similarity.

Paper §2.2: with n labels and one cluster per label (a linear representation), the distance vector lists the
n(n-1)/2 hull-to-hull distances between label pairs in a fixed order; the Pearson correlation of two such vectors
is the spatial similarity of two representations (or of a training and a test set under one representation).
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import pearsonr
from sklearn.utils.validation import check_is_fitted


def label_min_distances(probe) -> dict:
    """{label: smallest distance from any of its clusters to any cluster of another label} (§4.3, Figure 2)."""
    check_is_fitted(probe, "cluster_distances_")
    labels = np.asarray(probe.cluster_labels_)
    out = {}
    for label in probe.classes_:
        own, other = labels == label, labels != label
        # Keys as Python values (a numpy string prints as np.str_('a') in a dict).
        out[label.item() if isinstance(label, np.generic) else label] = float(probe.cluster_distances_[np.ix_(own, other)].min()) if other.any() else np.nan
    return out


def label_pairs(labels) -> list[tuple]:
    """The fixed order of a distance vector: sorted labels, pairs (i < j)."""
    return list(itertools.combinations(sorted(labels), 2))


def distance_vector(probe, labels=None) -> np.ndarray:
    """Distances between the clusters of every label pair, in `label_pairs(labels)` order.

    Defined only when the probe found one cluster per label; raises ValueError otherwise (the paper leaves such
    representations out, e.g. TREC-50).
    """
    check_is_fitted(probe, "cluster_distances_")
    if not probe.is_linear_:
        raise ValueError(f"no distance vector: the labels are not linearly separable "
                         f"({probe.n_clusters_} clusters for {len(probe.classes_)} labels)")
    labels = sorted(probe.classes_) if labels is None else sorted(labels)
    index = {label: k for k, label in enumerate(probe.cluster_labels_)}
    missing = [l for l in labels if l not in index]
    if missing:
        raise ValueError(f"labels not seen by the probe: {missing}")
    return np.array([probe.cluster_distances_[index[a], index[b]] for a, b in label_pairs(labels)])


def spatial_similarity(u, v) -> float:
    """Pearson correlation of two distance vectors over the same label pairs."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    if u.shape != v.shape or u.ndim != 1:
        raise ValueError(f"distance vectors must be 1-D and of equal length, got {u.shape} and {v.shape}")
    if len(u) < 2:
        raise ValueError("spatial similarity needs at least two label pairs (three labels)")
    return float(pearsonr(u, v)[0])


def probe_similarity(probe_a, probe_b) -> float:
    """Spatial similarity of two fitted probes over the labels both have (e.g. train vs test, §4.1)."""
    common = sorted(set(probe_a.classes_) & set(probe_b.classes_))
    return spatial_similarity(distance_vector(probe_a, common), distance_vector(probe_b, common))


# --- beyond the paper: a chance level for a similarity, and a second measure (issue 31) -------------------------

def permutation_null(u, v, n_perm: int = 10_000, seed: int = 0) -> dict:
    """How far a Pearson similarity of two distance vectors lies above chance: the same correlation with one
    vector's entries permuted ``n_perm`` times (which label pair goes with which broken, everything else kept).

    Returns r, the two-sided p-value ((1 + #{|r_perm| >= |r|}) / (1 + n_perm)), the null's mean and 95th
    percentile, and r calibrated against the null, (r - null mean) / (1 - null mean): about 0 for unrelated
    vectors, 1 for identical ones."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    r = spatial_similarity(u, v)
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_perm, len(v))), axis=1)
    a = u - u.mean()
    b = v[perms] - v.mean()
    null = (b @ a) / np.sqrt((a @ a) * (b * b).sum(1))
    mean = float(null.mean())
    return {"r": r, "p_value": float((1 + np.sum(np.abs(null) >= abs(r) - 1e-12)) / (1 + n_perm)),
            "null_mean": mean, "null_95": float(np.quantile(null, 0.95)),
            "calibrated": float((r - mean) / (1 - mean))}


def _centred_rows(X, name) -> np.ndarray:
    X = np.asarray(X, np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d representation (rows x features), got shape {X.shape}")
    return X - X.mean(0)


def _hsic(A, B, debiased: bool) -> float:
    """HSIC of two centred representations of the same rows: ||A^T B||^2 (biased, up to a constant), or the
    unbiased estimator of Song et al. (2012) computed in feature space (see ``linear_cka``)."""
    if not debiased:
        return float(np.linalg.norm(A.T @ B) ** 2)
    n = len(A)
    a2, b2 = (A * A).sum(1), (B * B).sum(1)
    trace = np.linalg.norm(A.T @ B) ** 2 - a2 @ b2
    sum_a, sum_b = (A.sum(0) @ A.sum(0)) - a2.sum(), (B.sum(0) @ B.sum(0)) - b2.sum()
    row_a, row_b = A @ A.sum(0) - a2, B @ B.sum(0) - b2
    return (trace + sum_a * sum_b / ((n - 1) * (n - 2)) - 2 / (n - 2) * (row_a @ row_b)) / (n * (n - 3))


def linear_cka(X, Y, debiased: bool = True) -> float:
    """Linear CKA between two representations of the same rows (Kornblith et al., 2019), debiased by default
    (the unbiased HSIC estimator of Song et al., 2012, as in Davari et al., 2023: without it, CKA of unrelated
    representations of few rows in many dimensions is far above 0).

    Computed in feature space, never forming the n x n Gram matrices: with K = X X^T and L = Y Y^T (columns
    centred) and K~, L~ the same with their diagonals set to 0, tr(K~ L~) = ||X^T Y||^2 - sum_i |x_i|^2 |y_i|^2,
    1^T K~ 1 = |sum_i x_i|^2 - sum_i |x_i|^2 and 1^T K~ L~ 1 = sum_i (x_i . s_x - |x_i|^2)(y_i . s_y - |y_i|^2)."""
    return linear_cka_to(X, [Y], debiased)[0]


def linear_cka_to(X, Ys, debiased: bool = True) -> list[float]:
    """``linear_cka(X, Y)`` for every Y of ``Ys``, X centred and its own HSIC computed once (Figure 4 compares
    one original layer with each of its snapshots); the same numbers as one call per Y."""
    X = _centred_rows(X, "X")
    n = len(X)
    if n < 4:
        raise ValueError(f"CKA needs at least 4 rows, got {n}")
    xx = _hsic(X, X, debiased)
    values = []
    for Y in Ys:
        Y = _centred_rows(Y, "Y")
        if len(Y) != n:
            raise ValueError(f"CKA compares two representations of the same rows, got shapes {X.shape} and {Y.shape}")
        yy = _hsic(Y, Y, debiased)
        if xx <= 0 or yy <= 0:
            raise ValueError("CKA is not defined for a representation without variance")
        values.append(float(_hsic(X, Y, debiased) / np.sqrt(xx * yy)))
    return values
