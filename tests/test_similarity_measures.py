"""The chance level of a Pearson similarity and linear CKA (geometry.permutation_null, geometry.linear_cka), against
closed forms and the definition."""
import numpy as np
import pytest

from closerlook.geometry import linear_cka, linear_cka_to, permutation_null


def cka_from_gram_matrices(X, Y):
    """The debiased linear CKA from its definition: unbiased HSIC (Song et al., 2012) of the n x n Gram matrices."""
    n = len(X)

    def hsic(K, L):
        K, L = K.copy(), L.copy()
        np.fill_diagonal(K, 0)
        np.fill_diagonal(L, 0)
        one = np.ones(n)
        return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
                - 2 / (n - 2) * (one @ K @ L @ one)) / (n * (n - 3))
    X, Y = X - X.mean(0), Y - Y.mean(0)
    K, L = X @ X.T, Y @ Y.T
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def test_cka_in_feature_space_is_the_definition():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8))
    Y = X @ rng.normal(size=(8, 5)) + rng.normal(size=(60, 5))
    assert linear_cka(X, Y) == pytest.approx(cka_from_gram_matrices(X, Y), rel=1e-10)


@pytest.mark.parametrize("debiased", [True, False])
def test_cka_to_one_reference_is_the_definition_for_each(debiased):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 8))
    Ys = [X @ rng.normal(size=(8, 5)) + k * rng.normal(size=(60, 5)) for k in (0.1, 1.0, 10.0)]
    many = linear_cka_to(X, iter(Ys), debiased)            # any iterable, read once
    assert len(many) == 3 and len(set(many)) == 3
    if debiased:
        assert many == pytest.approx([cka_from_gram_matrices(X, Y) for Y in Ys], rel=1e-10)
    else:   # tr(KL) / sqrt(tr(KK) tr(LL)) of the centred Gram matrices
        grams = [(A - A.mean(0)) @ (A - A.mean(0)).T for A in [X] + Ys]
        K = grams[0]
        assert many == pytest.approx([np.trace(K @ L) / np.sqrt(np.trace(K @ K) * np.trace(L @ L))
                                      for L in grams[1:]], rel=1e-10)
    with pytest.raises(ValueError, match="same rows"):
        linear_cka_to(X, [Ys[0][:50]], debiased)


def test_cka_of_an_orthogonal_transform_is_one_and_of_independent_noise_near_zero():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 20))
    Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    assert linear_cka(X, 3.0 * X @ Q + 7.0) == pytest.approx(1.0, abs=1e-12)    # rotation, scale, shift
    noise = rng.normal(size=(500, 30))
    assert abs(linear_cka(X, noise)) < 0.02
    # The biased estimator is far above 0 for few rows in many dimensions; the debiased one is not.
    few, other = rng.normal(size=(40, 200)), rng.normal(size=(40, 200))
    assert linear_cka(few, other, debiased=False) > 0.5 and abs(linear_cka(few, other)) < 0.1


def test_cka_refuses_what_it_cannot_compare():
    with pytest.raises(ValueError, match="same rows"):
        linear_cka(np.zeros((5, 2)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match="without variance"):
        linear_cka(np.ones((10, 2)), np.random.default_rng(0).normal(size=(10, 2)))


def test_the_permutation_null_is_near_zero_on_unrelated_vectors_and_one_on_identical_ones():
    rng = np.random.default_rng(2)
    u = rng.gamma(2.0, size=300)
    same = permutation_null(u, u, n_perm=2000)
    assert same["calibrated"] == pytest.approx(1.0, abs=1e-3) and same["p_value"] < 1e-3
    unrelated = permutation_null(u, rng.gamma(2.0, size=300), n_perm=2000)
    assert abs(unrelated["calibrated"]) < 0.15 and unrelated["p_value"] > 0.05
    assert abs(unrelated["null_mean"]) < 0.01 and 0.05 < unrelated["null_95"] < 0.15
