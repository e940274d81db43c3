"""The two readings of the geometry wired through: the shortcuts that `experiments.dynamics_pairs` takes give what
the fixed partition gives, the rate does not move DirectProbe's clusters, the ledger reads both readings and names
the convention that flips a verdict, and a chapter whose two code paths disagree fails loudly."""
import json

import numpy as np
import pytest

from closerlook import ledger
from closerlook.conventions import Reading, aligned_vectors, partition_distances, probe_pair_distances
from closerlook.directprobe import DirectProbe
from closerlook.report import Report

AUTHORS = Reading.authors()


def blobs(rng, centres, n):
    X = np.vstack([rng.normal(c, 0.3, (n, 2)) for c in centres])
    y = np.repeat([f"l{i}" for i in range(len(centres))], n)
    return X, y


def test_a_linear_space_read_on_its_labels_gives_its_own_cluster_distances():
    """dynamics_pairs reads a linear space's distances off its DirectProbe fit instead of measuring the labels'
    hulls again (the partition is the labels): the two must agree, under every reading."""
    rng = np.random.default_rng(1)
    X, y = blobs(rng, [(0, 0), (4, 0), (0, 4), (4, 4)], 12)
    dp = DirectProbe().fit(X, y)
    assert dp.is_linear_
    for reading in (Reading.exact(), AUTHORS, AUTHORS.without("drop_small_clusters")):
        own = probe_pair_distances(dp, reading)
        measured = partition_distances(X, y, None, reading)
        assert own.keys() == measured.keys() and len(own) == 6
        assert all(abs(own[k] - measured[k]) <= 1e-4 * own[k] for k in own)


def test_rows_outside_the_partition_are_left_out():
    """The authors' partition leaves out the rows DirectProbe left out (a question asked twice under two labels):
    they must not reach a hull."""
    rng = np.random.default_rng(2)
    X, y = blobs(rng, [(0, 0), (5, 0), (0, 5)], 8)
    X = np.vstack([X, [[5.0, 0.0]]])           # an l0 point inside l1's cloud ...
    y = np.append(y, "l0")
    partition = np.array([*y[:-1], None], dtype=object)   # ... outside the partition
    assert partition_distances(X, y, None, Reading.exact()) is None
    assert len(partition_distances(X, y, partition, Reading.exact())) == 3


def test_the_rate_does_not_move_the_clusters():
    """Convention 5: the first invalid merge state is found exactly (coarse steps of rate x history, then
    bisection), so 0.01 and 0.05 give one clustering. A non-linear toy with over 1000 merge states, where the rate
    is used."""
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, 1100)
    radius = np.where(np.arange(1100) < 550, rng.uniform(0, 1, 1100), rng.uniform(1.2, 2, 1100))
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    y = np.where(np.arange(1100) < 550, "inner", "outer")
    a, b = DirectProbe(rate=0.01).fit(X, y), DirectProbe(rate=0.05).fit(X, y)
    assert not a.is_linear_ and a.n_clusters_ > 2
    assert a.n_clusters_ == b.n_clusters_ and np.array_equal(a.labels_, b.labels_)


def test_vectors_of_several_spaces_share_one_order():
    """A paired bootstrap (before/after, train/test) needs the same pairs in every vector."""
    a = {("a", "b"): 1.0, ("a", "c"): 2.0, ("b", "c"): 3.0}
    b = {("a", "b"): 4.0, ("b", "c"): 5.0}
    c = {("a", "b"): 6.0, ("a", "c"): 7.0, ("b", "c"): 8.0}
    assert [v.tolist() for v in aligned_vectors([a, b, c], "abc", Reading.exact())] == [[1.0, 3.0], [4.0, 5.0], [6.0, 8.0]]
    assert [v.tolist() for v in aligned_vectors([a, b, c], "abc", AUTHORS)][1] == [4.0, 0.0, 5.0]


def claim(cid, verdict, ours="x"):
    return {"id": cid, "section": "§4.5", "claim": cid, "paper": "p", "ours": ours, "verdict": verdict, "reason": "r",
            "interval": None, "margin": None, "details": {}}


def write_run(folder, by_reading):
    numbers = folder / "numbers"
    numbers.mkdir(parents=True)
    (numbers / "05_layer_behavior.json").write_text(json.dumps({
        "notebook": "05_layer_behavior", "numbers": {},
        "claims": [claim("4.5-correlated", "does not hold"), claim("4.5-ranges", "holds")],
        "claims_by_reading": by_reading}))
    return numbers


def test_the_ledger_reads_both_readings_and_names_the_convention_that_flips(tmp_path):
    steps = {f"authors without {c}": [claim("4.5-correlated", "holds")] for c in
             ("drop_small_clusters", "mean_over_cluster_pairs", "fixed_partition", "rate")}
    steps["authors without full_label_list"] = [claim("4.5-correlated", "does not hold")]
    numbers = write_run(tmp_path / "default", {"exact": [claim("4.5-correlated", "does not hold")],
                                               "authors": [claim("4.5-correlated", "holds")], **steps})
    both = ledger.load_readings({"default": numbers})
    assert list(both) == ["default · exact", "default · authors"]
    assert [c["verdict"] for c in both["default · authors"]] == ["holds", "holds"]   # 4.5-ranges: untouched
    table = ledger.ablation_table(numbers)
    assert len(table) == 1 and table.iloc[0]["decided by"] == "full_label_list"
    assert table.iloc[0]["without fixed_partition"] == "holds"
    with pytest.raises(KeyError, match="no claims under the reading 'authors without zeros'"):
        ledger.load_claims(numbers, "authors without zeros")


def test_agreeing_readings_give_an_empty_ablation(tmp_path):
    same = {r: [claim("4.5-correlated", "holds")] for r in ("exact", "authors", "authors without rate")}
    assert ledger.ablation_table(write_run(tmp_path / "x", same)).empty


def test_a_chapter_whose_two_code_paths_disagree_fails():
    report = Report("05_layer_behavior")
    report.claims.append(claim("4.5-correlated", "holds", "0.61"))
    with pytest.raises(RuntimeError, match="is 'holds' .* in the chapter but 'does not hold'"):
        report.readings({"exact": [claim("4.5-correlated", "does not hold", "0.41")]}, "exact")
    report.readings({"exact": [claim("4.5-correlated", "holds", "0.61")]}, "exact")
    assert report.by_reading


def test_a_run_recorded_before_the_readings_stands_for_its_own_reading_only(tmp_path, capsys):
    """A run from before the readings has its claims under ours only: it must not pass for the authors' reading."""
    numbers = write_run(tmp_path / "old", {})
    assert list(ledger.load_readings({"old": numbers})) == ["old · exact"]
    assert "no authors reading" in capsys.readouterr().out
    with pytest.raises(KeyError, match="recorded under the 'exact' reading only"):
        ledger.load_claims(numbers, "authors")
    with pytest.raises(KeyError, match="no claims recorded under both readings"):
        ledger.ablation_table(numbers)      # an empty table would say that the readings agree
