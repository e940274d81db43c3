"""Issue 31's baselines as the chapters use them: the random-weights encoder, the chance level of a similarity, the
agreement of two measures, and the records a smoke run keeps of them."""
import math

import numpy as np
import pytest

from closerlook import experiments as ex
from closerlook.ledger import beyond_findings, beyond_table
from closerlook.representations import Encoder


def test_a_random_weights_encoder_is_the_architecture_without_the_training(tmp_path):
    import torch
    from conftest import make_tiny_bert
    # The shared tiny BERT is itself a seed-0 initialisation; one made with another seed stands for a trained model.
    checkpoint = make_tiny_bert(tmp_path / "bert", seed=7)
    trained = Encoder.load(checkpoint, device="cpu")
    state = torch.random.get_rng_state()
    a = Encoder.random_weights(checkpoint, seed=0, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), state)           # the caller's random stream is not moved
    b = Encoder.random_weights(checkpoint, seed=0, device="cpu")
    c = Encoder.random_weights(checkpoint, seed=1, device="cpu")
    assert a.fingerprint == b.fingerprint != c.fingerprint != trained.fingerprint != a.fingerprint
    assert a.model.config.to_dict() == trained.model.config.to_dict()
    assert a.vocab_fingerprint == trained.vocab_fingerprint
    assert "random weights" in a.name


def test_the_chance_of_an_undefined_similarity_is_undefined():
    for u, v in ((None, None), (np.array([1.0, 2.0]), np.array([2.0, 1.0])), (np.ones(5), np.arange(5.0))):
        assert all(math.isnan(x) for x in ex.chance_of(u, v).values())
    u = np.arange(30.0)
    said = ex.chance_of(u, u)
    assert said["r"] == pytest.approx(1.0) and said["p_value"] < 0.001


def test_the_chance_of_a_similarity_is_computed_once_and_read_back(monkeypatch):
    from closerlook import geometry
    real, calls = geometry.permutation_null, []

    def counted(u, v, n_perm: int = 10_000, seed: int = 0):   # the same signature: the same cache key
        calls.append(1)
        return real(u, v, n_perm, seed)
    monkeypatch.setattr(geometry, "permutation_null", counted)
    rng = np.random.default_rng(3)
    u = rng.random(40)
    v = u + rng.random(40)
    first = ex.chance_of(u, v)
    assert first == {k: real(u, v)[k] for k in ("r", "p_value", "null_95")} and len(calls) == 1
    assert ex.chance_of(u.copy(), v.copy()) == first and len(calls) == 1     # the same values, the same entry
    assert ex.chance_of(u, v[::-1].copy()) != first and len(calls) == 2     # other values are computed


def test_two_measures_agree_only_where_both_say_the_higher_layer_moved_more():
    cka = [{"task": t, "layer": l, "final CKA": v} for t, l, v in
           (("a", 2, 0.99), ("a", 6, 0.7), ("b", 2, 0.99), ("b", 6, 0.7), ("c", 2, 0.9), ("c", 6, 0.95))]
    pearson = [{"task": t, "layer": l, "final similarity": v} for t, l, v in
               (("a", 2, 0.9), ("a", 6, 0.6), ("b", 2, 0.6), ("b", 6, 0.9), ("c", 6, 0.5))]
    rows = {r["task"]: r for r in ex.measures_agree(pearson, cka)}
    assert rows["a"]["agree"] is True and rows["a"]["layers"] == "2 vs 6"
    assert rows["b"]["agree"] is False and rows["b"]["CKA: higher moves more"] is True
    assert rows["c"]["agree"] is None and rows["c"]["CKA: higher moves more"] is False   # layer 2 not measured


def test_the_smoke_run_records_the_baselines_consistently(smoke):
    """Chapter 01's baselines and chance levels and chapter 05's CKA, as the smoke run recorded them: three rows per
    task, the selectivity is the difference it is said to be, the original is its own reference, p-values are
    p-values, and the fine-tuned rows are Table 7's."""
    _, results, out = smoke
    numbers = results["01_divergence"]["numbers"]
    table7 = {(r["task"], r["rep"]): r for r in numbers["table7"]}
    baselines = numbers["baselines"]
    tasks = list(dict.fromkeys(r["task"] for r in baselines))
    assert len(tasks) == 5 and len(baselines) == 15
    for r in baselines:
        assert r["selectivity"] == pytest.approx(r["acc"] - r["control acc"], abs=1e-9)
        assert 0 <= r["control acc"] <= 100
        if r["rep"] in ("original", "fine-tuned"):
            t7 = table7[r["task"], r["rep"]]
            assert r["acc"] == pytest.approx(t7["acc"]) and r["clusters"] == t7["clusters"]
            if t7["similarity"] == t7["similarity"]:
                assert r["similarity"] == pytest.approx(t7["similarity"])
        if r["rep"] == "original" and r["linear"]:
            assert r["similarity to original"] == pytest.approx(1.0)
        if r["similarity p"] == r["similarity p"]:
            assert 1 / 10_001 - 1e-12 <= r["similarity p"] <= 1
    for c in numbers["similarity_chance"]:
        assert 0 < c["p before"] <= 1 and 0 < c["p after"] <= 1
    cka = results["05_layer_behavior"]["numbers"]["layer_cka"]
    assert {r["task"] for r in cka} == set(tasks)      # CKA needs no linear space: every task is measured
    assert all(-0.5 < r["final CKA"] <= 1 + 1e-9 for r in cka)
    table = beyond_table({"smoke": out / "results" / "smoke" / "numbers"})
    assert list(table.task) == tasks and table["CKA and Pearson agree"].notna().any()
    agreeing = int(table["CKA and Pearson agree"].dropna().sum())
    assert f"in {agreeing} of {table['CKA and Pearson agree'].notna().sum()} task(s)" in beyond_findings(table)[0]


@pytest.mark.parametrize("seed", range(6))
def test_linearity_without_clustering_is_directprobes(seed):
    """``labels_linear`` answers whether DirectProbe finds one cluster per label, without its clustering: the
    same answer on spaces that are linear, not linear, and linear but for a label pair."""
    from closerlook.directprobe import DirectProbe
    rng = np.random.default_rng(seed)
    n, labels = 60, 3
    y = np.repeat(np.array(["a", "b", "c"]), n // labels)
    spread = [0.3, 1.0, 3.0, 0.3, 1.0, 3.0][seed]
    X = rng.normal(size=(n, 4)) * spread + 4 * np.eye(4)[:labels][np.repeat(np.arange(labels), n // labels)]
    if seed >= 3:
        X[y == "c"] = X[y == "b"] + 0.1 * rng.normal(size=(n // labels, 4))     # c sits on b
    expected = DirectProbe().fit(X, y).is_linear_
    assert ex.labels_linear({}, X, y) == expected
    assert (seed in (0, 1)) <= expected and (seed >= 3) <= (not expected)
