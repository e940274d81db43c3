"""Two readings of the geometry: ours ("exact", the default) and the one the authors' analysis code computes.

The paper does not say how a distance vector treats a label with few points, a label pair nobody measured, or a
label split into several clusters; github.com/utahnlp/BERT-fine-tuning-analysis does, in conventions that differ
from ours. A ``Reading`` names each one, so that every number can be computed both ways from the same fitted
probes (no fine-tuning or extraction twice), and one convention switched at a time (which one flips a verdict?):

1. ``drop_small_clusters``: their ``main.py`` (``develop_run``) and ``probing/batch_probing.py``
   (``batch_analyze``) keep only clusters of more than 5 points before any distance or overlap check. Ours keeps
   every cluster: a label with one training example still has a hull (a point).
2. ``full_label_list``: their ``Analyzer.label_dis_vec`` writes one entry per pair of the task's whole label list,
   0 where no distance was measured (a label left out by 1., or absent from a split); the vectors they correlate
   carry those zeros. Ours correlates the pairs that both sides measured.
3. ``mean_over_cluster_pairs``: their ``Analyzer.convex2convex`` gives a label pair the mean distance over the pairs
   of clusters with those labels. Ours reads label distances only where there is one cluster per label (a linear
   space), where mean and minimum agree; where there are several, the minimum is the label pair's gap.
4. ``fixed_partition``: ``batch_analyze`` loads one cluster file for every layer of every snapshot (in the paper's
   setting, §4.3: "all representations we considered are linearly separable ... each cluster exclusively corresponds
   to one label", so the partition is the labels), checks it for overlaps in each space (after 1.), and writes zeros
   for a space where two hulls of different labels meet. Ours fits DirectProbe anew in each space and leaves a
   space out when it is not linear.
5. ``rate``: their config.ini has rate = 0.05 (ours 0.01 by default). With exact hull checks the clusters do not
   depend on it (``directprobe.py``; ``tests/test_directprobe.py`` checks it, ``benchmarks/rate_independence.py``
   on a run's real spaces), so the authors' reading shares the profile's fits (``experiments.directprobe``). Their hull distances come from
   an SVC with C=1e6 (0 when it fails to separate); both readings keep our exact distances.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace

import numpy as np

from . import hulls

MIN_CLUSTER_POINTS = 6   # their `len(indices) > 5`
CONVENTIONS = ("drop_small_clusters", "full_label_list", "mean_over_cluster_pairs", "fixed_partition", "rate")


@dataclass(frozen=True)
class Reading:
    """Which of the authors' conventions apply (all off: ours, the default)."""
    drop_small_clusters: bool = False
    full_label_list: bool = False
    mean_over_cluster_pairs: bool = False
    fixed_partition: bool = False
    rate: float | None = None          # None: the profile's directprobe.rate

    @classmethod
    def exact(cls) -> "Reading":
        return cls()

    @classmethod
    def authors(cls) -> "Reading":
        return cls(True, True, True, True, 0.05)

    @classmethod
    def named(cls, name: str) -> "Reading":
        if name not in ("exact", "authors"):
            raise ValueError(f"analysis.conventions must be 'exact' or 'authors', got {name!r}")
        return cls.exact() if name == "exact" else cls.authors()

    def without(self, convention: str) -> "Reading":
        """The same reading with one convention switched to ours (the ablation's step)."""
        names = [f.name for f in fields(self)]
        if convention not in names:
            raise ValueError(f"no convention {convention!r} (known: {', '.join(names)})")
        return replace(self, **{convention: getattr(Reading.exact(), convention)})

    @property
    def name(self) -> str:
        if self == Reading.exact():
            return "exact"
        if self == Reading.authors():
            return "authors"
        return "authors without " + ", ".join(f.name for f in fields(self)
                                                  if getattr(self, f.name) == getattr(Reading.exact(), f.name))


def kept_clusters(sizes, reading: Reading) -> np.ndarray:
    """Indices of the clusters a reading measures (convention 1 drops those of at most 5 points)."""
    sizes = np.asarray(sizes)
    keep = sizes >= MIN_CLUSTER_POINTS if reading.drop_small_clusters else np.ones(len(sizes), bool)
    return np.flatnonzero(keep)


def label_pair_distances(cluster_labels, sizes, cluster_distances, reading: Reading) -> dict:
    """{(a, b): distance} for the label pairs (a < b) with a cluster each among the kept ones: the minimum over
    their cluster pairs (ours), or the mean (convention 3)."""
    labels = np.asarray(cluster_labels)
    D = np.asarray(cluster_distances)
    keep = kept_clusters(sizes, reading)
    names, first, counts = np.unique(labels[keep], return_index=True, return_counts=True)
    if (counts == 1).all():
        # One kept cluster per label (every linear space): each pair's block is one entry, its min and mean alike,
        # read at once (a chapter asks for hundreds of these; the loop below cost 10 ms for DEP's 1,035 pairs).
        idx = keep[first]
        a, b = np.triu_indices(len(names), 1)
        values = D[idx[a], idx[b]].tolist()
        names = names.tolist()
        return {(names[i], names[j]): float(d) for i, j, d in zip(a.tolist(), b.tolist(), values)}
    out = {}
    by_label = {l: keep[labels[keep] == l] for l in sorted(set(labels[keep].tolist()))}
    for a, b in itertools.combinations(sorted(by_label), 2):
        block = D[np.ix_(by_label[a], by_label[b])]
        out[(a, b)] = float(block.mean() if reading.mean_over_cluster_pairs else block.min())
    return out


def probe_pair_distances(probe, reading: Reading) -> dict:
    """``label_pair_distances`` of a fitted DirectProbe."""
    sizes = np.bincount(probe.labels_, minlength=probe.n_clusters_)
    return label_pair_distances(probe.cluster_labels_, sizes, probe.cluster_distances_, reading)


def distance_vectors(pairs_a: dict, pairs_b: dict, labels, reading: Reading) -> tuple[np.ndarray, np.ndarray]:
    """Two spaces' distance vectors in one order: over the label pairs both measured (ours), or over every pair of
    the task's label list ``labels`` with 0 where a side measured nothing (convention 2)."""
    return tuple(aligned_vectors([pairs_a, pairs_b], labels, reading))


def aligned_vectors(pair_dicts: list, labels, reading: Reading) -> list[np.ndarray]:
    """Several spaces' distance vectors in one order (before and after fine-tuning, train and test: a paired
    bootstrap needs the same label pairs in each): the pairs every space measured (ours), or every pair of the
    label list with 0 where a space measured nothing (convention 2)."""
    if reading.full_label_list:
        order = list(itertools.combinations(sorted(labels), 2))
    else:
        order = sorted(set.intersection(*(set(p) for p in pair_dicts)))
    return [np.array([p.get(pair, 0.0) for pair in order]) for p in pair_dicts]


def label_min_distances(pairs: dict, labels, reading: Reading) -> dict:
    """{label: distance to its nearest other label}; a label with nothing measured is left out (ours) or 0 (their
    ``Analyzer.outside_min_dis``, under convention 2)."""
    out = {}
    for label in sorted(labels):
        ds = [d for (a, b), d in pairs.items() if label in (a, b)]
        if ds:
            out[label] = min(ds)
        elif reading.full_label_list:
            out[label] = 0.0
    return out


def partition_distances(X, y, partition, reading: Reading) -> dict | None:
    """Convention 4: the clusters of a fixed partition (``partition[i]``: row i's cluster; the labels themselves when
    None; rows whose cluster is None are left out) measured in the space X, after convention 1. Returns the label
    pair distances, or None where two kept clusters of different labels meet in this space (their code writes
    zeros there)."""
    X, y = np.asarray(X, np.float64), np.asarray(y)
    partition = y if partition is None else np.asarray(partition, dtype=object)
    inside = np.array([c is not None for c in partition.tolist()])
    X, y, partition = X[inside], y[inside], partition[inside]
    clusters = list(dict.fromkeys(partition.tolist()))
    members = [np.flatnonzero(partition == c) for c in clusters]
    cluster_labels = [y[m[0]] for m in members]
    if any(len(set(y[m].tolist())) > 1 for m in members):
        raise ValueError("a cluster of the partition holds more than one label")
    keep = kept_clusters([len(m) for m in members], reading)
    pairs = [(i, j) for i, j in itertools.combinations(keep, 2) if cluster_labels[i] != cluster_labels[j]]
    # Where the partition overlaps, the pair that meets is usually among the closest: asking those first ends the
    # check early.
    centroids = np.stack([X[m].mean(0) for m in members])
    pairs.sort(key=lambda ij: float(np.linalg.norm(centroids[ij[0]] - centroids[ij[1]])))
    for i, j in pairs:
        if hulls.hulls_meet(X[members[i]], X[members[j]]):
            return None
    D = np.zeros((len(members), len(members)))
    for i, j in pairs:
        D[i, j] = D[j, i] = hulls.hull_distance(X[members[i]], X[members[j]])
    kept_labels, kept_sizes = np.asarray(cluster_labels)[keep], np.array([len(members[k]) for k in keep])
    return label_pair_distances(kept_labels, kept_sizes, D[np.ix_(keep, keep)],
                                replace(reading, drop_small_clusters=False))
