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
        out[label] = float(probe.cluster_distances_[np.ix_(own, other)].min()) if other.any() else np.nan
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
