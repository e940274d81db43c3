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
