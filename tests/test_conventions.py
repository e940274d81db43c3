"""The authors' conventions (closerlook.conventions), one synthetic case each that the convention changes, each
giving ours when the convention is switched off."""
import numpy as np
import pytest

from closerlook.conventions import (Reading, distance_vectors, label_min_distances, label_pair_distances,
                                    partition_distances)
from closerlook.directprobe import DirectProbe

AUTHORS = Reading.authors()


def test_a_one_point_label_is_dropped():
    """1: DEP's `dep` and `advcl:relcl` have one training example each; their code measures neither."""
    labels, sizes = ["a", "b", "c"], [1, 10, 10]
    D = np.array([[0, 1.0, 2.0], [1.0, 0, 3.0], [2.0, 3.0, 0]])
    assert set(label_pair_distances(labels, sizes, D, AUTHORS)) == {("b", "c")}
    assert set(label_pair_distances(labels, sizes, D, AUTHORS.without("drop_small_clusters"))) == {
        ("a", "b"), ("a", "c"), ("b", "c")}


def test_a_pair_missing_from_one_split_is_a_zero_over_the_whole_label_list():
    """2: a label absent from the test split (or dropped by 1.) is a 0 in the authors' vectors."""
    train = {("a", "b"): 1.0, ("a", "c"): 2.0, ("b", "c"): 3.0}
    test = {("a", "b"): 1.5, ("b", "c"): 2.5}
    u, v = distance_vectors(train, test, ["a", "b", "c"], AUTHORS)
    assert u.tolist() == [1.0, 2.0, 3.0] and v.tolist() == [1.5, 0.0, 2.5]
    u, v = distance_vectors(train, test, ["a", "b", "c"], AUTHORS.without("full_label_list"))
    assert u.tolist() == [1.0, 3.0] and v.tolist() == [1.5, 2.5]
    assert label_min_distances(test, ["a", "b", "c", "d"], AUTHORS)["d"] == 0.0
    assert "d" not in label_min_distances(test, ["a", "b", "c", "d"], Reading.exact())


def test_a_label_with_two_clusters_gets_the_mean_of_its_cluster_pairs():
    """3: their convex2convex averages over cluster pairs; ours takes the gap (the nearest pair)."""
    labels, sizes = ["a", "a", "b"], [10, 10, 10]
    D = np.array([[0, 0, 1.0], [0, 0, 3.0], [1.0, 3.0, 0]])
    assert label_pair_distances(labels, sizes, D, AUTHORS) == {("a", "b"): 2.0}
    assert label_pair_distances(labels, sizes, D, AUTHORS.without("mean_over_cluster_pairs")) == {("a", "b"): 1.0}


def test_a_fixed_partition_in_a_layer_where_it_overlaps():
    """4: one partition for every space, zeros (None here) where two of its hulls meet; ours fits anew."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(6, 1, (20, 2)), [[6.0, 6.0]]])
    y = np.array(["a"] * 20 + ["b"] * 20 + ["a"])          # one "a" point inside b's cloud
    dp = DirectProbe().fit(X, y)
    assert not dp.is_linear_                               # ours: not linear, the case is left out
    assert partition_distances(X, y, None, AUTHORS.without("drop_small_clusters")) is None   # the labels meet
    # Their partition is the one found where the space is linear: here, a 1-point cluster for the stray point,
    # which convention 1 drops, so that the rest is measured.
    partition = np.array(["a1"] * 20 + ["b"] * 20 + ["a2"])
    got = partition_distances(X, y, partition, AUTHORS)
    assert set(got) == {("a", "b")} and got[("a", "b")] > 1
    assert partition_distances(X, y, partition, AUTHORS.without("drop_small_clusters")) is None  # kept, it meets b


def test_readings_are_named_and_switched_one_at_a_time():
    assert Reading.named("exact") == Reading() and Reading.named("authors").rate == 0.05
    assert AUTHORS.without("rate").rate is None and AUTHORS.without("rate").drop_small_clusters
    assert AUTHORS.without("fixed_partition").name == "authors without fixed_partition"
    with pytest.raises(ValueError, match="'exact' or 'authors'"):
        Reading.named("mine")
    with pytest.raises(ValueError, match="no convention 'zeros'"):
        AUTHORS.without("zeros")


def _pair_distances_by_loop(labels, sizes, D, reading):
    """The definition, pair by pair: the kept clusters of each label, the min (or mean) over their block."""
    import itertools
    keep = [i for i, s in enumerate(sizes) if s >= 6 or not reading.drop_small_clusters]
    by_label = {}
    for i in keep:
        by_label.setdefault(labels[i], []).append(i)
    out = {}
    for a, b in itertools.combinations(sorted(by_label), 2):
        block = [D[i][j] for i in by_label[a] for j in by_label[b]]
        out[(a, b)] = float(np.mean(block) if reading.mean_over_cluster_pairs else min(block))
    return out


@pytest.mark.parametrize("clusters_per_label", [1, 2])
def test_label_pair_distances_are_the_definition_in_every_reading(clusters_per_label):
    """The one-cluster-per-label path reads the matrix at once; it must give what the pair-by-pair definition
    gives, keys, order and values, in every reading, with small clusters among them and labels in any order."""
    from closerlook.conventions import CONVENTIONS
    rng = np.random.default_rng(clusters_per_label)
    names = [f"L{i}" for i in rng.permutation(12)]
    labels = [l for l in names for _ in range(clusters_per_label)]
    sizes = rng.integers(1, 20, len(labels)).tolist()
    D = rng.random((len(labels), len(labels)))    # not symmetric: a pair read the wrong way round shows
    for reading in [Reading.exact(), AUTHORS] + [AUTHORS.without(c) for c in CONVENTIONS]:
        got = label_pair_distances(labels, sizes, D, reading)
        want = _pair_distances_by_loop(labels, sizes, D, reading)
        assert list(got) == list(want) and got == want, reading.name
