"""The MLP probe: learns what is there, selects on training data only, is reproducible, rejects bad input."""
import numpy as np
import pytest

from closerlook.probes import MLPProbe, probe_accuracy

SMALL = dict(hidden_sizes=[(16, 16)], alphas=[1e-4], seeds=[0, 1], max_iter=300)


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=10, size=(3, 8))
    y = rng.integers(0, 3, n)
    return centers[y] + rng.normal(size=(n, 8)), np.array(list("abc"))[y]


def test_separable_problem_is_learned():
    X, y = blobs()
    Xt, yt = blobs(seed=0)[0][:100] + 0.1, blobs(seed=0)[1][:100]
    r = probe_accuracy(X, y, Xt, yt, **SMALL, cache=False)
    assert r["acc_mean"] > 0.98 and len(r["accs"]) == 2 and r["best_hidden"] == [16, 16]


def test_selection_never_looks_at_the_test_split():
    # Rings: a weak regulariser fits them, alpha=10 collapses to the majority class.
    rng = np.random.default_rng(3)
    r = rng.uniform(0, 2, 600)
    t = rng.uniform(0, 2 * np.pi, 600)
    X = np.c_[r * np.cos(t), r * np.sin(t)]
    y = np.where(r < 1.2, "in", "out")
    grid = dict(hidden_sizes=[(32, 32)], alphas=[1e-5, 10.0], seeds=[0], max_iter=500)
    honest = probe_accuracy(X, y, X, y, **grid, cache=False)
    # A test split whose labels are all the majority class rewards alpha=10; selection must not notice.
    majority = probe_accuracy(X, y, X, np.full(len(y), "out"), **grid, cache=False)
    assert honest["best_alpha"] == majority["best_alpha"] == 1e-5
    assert honest["grid"] == majority["grid"]


def test_same_seeds_same_numbers():
    X, y = blobs(200)
    a = probe_accuracy(X, y, X[:50], y[:50], **SMALL, cache=False)
    b = probe_accuracy(X, y, X[:50], y[:50], **SMALL, cache=False)
    assert a == b


def test_cache_hit_returns_the_same_result(monkeypatch):
    X, y = blobs(200)
    first = probe_accuracy(X, y, X[:50], y[:50], **SMALL)
    import closerlook.probes as probes
    monkeypatch.setattr(probes, "MLPProbe", None)   # a second computation would crash
    assert probe_accuracy(X, y, X[:50], y[:50], **SMALL) == first


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((4, 2)), ["a", "b", "a"], "different lengths: 4 examples, 3 labels"),
    (np.zeros((4, 2)), ["a", "a", "a", "a"], "1 distinct label"),
    (np.zeros(4), ["a", "b", "a", "b"], "2-D array"),
])
def test_bad_input(X, y, message):
    with pytest.raises(ValueError, match=message):
        MLPProbe(**SMALL).fit(X, np.array(y))


@pytest.mark.parametrize("change, message", [
    (dict(X_test=np.zeros((5, 3))), "X_test has 3 features, X has 2"),
    (dict(X_test=np.zeros((5, 2)), y_test=["a"] * 4), "X_test and its labels have different lengths"),
    (dict(X_test=np.full((5, 2), np.nan)), "X_test contains NaN"),
    (dict(X=np.array([["a", "b"]] * 5)), "X must hold real numbers"),
    (dict(hidden_sizes=[]), "the probe grid is empty"),
    (dict(alphas=[]), "the probe grid is empty"),
    (dict(seeds=[]), "at least one seed"),
    # before: accuracies [0.0, 0.0] and exit 0 (no prediction could ever match)
    (dict(y=np.array([0, 1] * 2 + [0]), y_test=np.array(["0"] * 5)), "y holds numbers and y_test text"),
    (dict(y_test=np.array(["c"] * 5)), "none of the labels of y_test is among those of y"),
])
def test_probe_accuracy_checks_everything_before_training(monkeypatch, change, message):
    import closerlook.probes as probes
    monkeypatch.setattr(probes, "MLPProbe", None)   # any training would crash with a TypeError
    args = dict(X=np.zeros((5, 2)), y=np.array(["a", "b"] * 2 + ["a"]), X_test=np.zeros((5, 2)),
                y_test=np.array(["a"] * 5), **SMALL)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        probe_accuracy(**args, cache=False)


# --- the batched torch probe against scikit-learn's ----------------------------------------------------------

@pytest.fixture(scope="module")
def real_representations():
    """Last-layer representations of the embedded model on part of PS-role and POS (real data, real model)."""
    from closerlook.data import load_task
    from closerlook.representations import Encoder, represent
    enc = Encoder.load("default")
    out = {}
    for task, n_train, n_test in (("ps-role", 700, 300), ("pos", 60, 40)):
        train, test = load_task(task, "train").subset(n_train), load_task(task, "test").subset(n_test)
        X = represent(enc, train, layers=[enc.n_layers], progress=False)[0]
        Xt = represent(enc, test, layers=[enc.n_layers], progress=False)[0]
        out[task] = (X, train.labels.astype(str), Xt, test.labels.astype(str))
    return out


@pytest.mark.parametrize("task", ["ps-role", "pos"])
def test_batched_probe_falls_within_the_reference_seed_spread(real_representations, task):
    """The same probe (64, 64), alpha 1e-4, five seeds, trained by scikit-learn one at a time and by the batched
    torch program: the batched mean accuracy lies within the reference seeds' range, widened by one standard
    deviation of the reference."""
    X, y, Xt, yt = real_representations[task]
    kw = dict(hidden_sizes=[(64, 64)], alphas=[1e-4], seeds=[0, 1, 2, 3, 4], max_iter=60)
    reference = MLPProbe(**kw, n_jobs=1).fit(X, y).seed_scores(Xt, yt)
    batched = MLPProbe(**kw, backend="torch").fit(X, y).seed_scores(Xt, yt)
    low, high = reference.min() - reference.std(), reference.max() + reference.std()
    assert low <= batched.mean() <= high, (task, reference.round(4), batched.round(4))
    assert len(set(batched.round(6))) > 1          # the seeds are different probes, not one probe five times


def test_batched_probe_keeps_padded_units_at_zero_and_follows_the_stopping_rule():
    from closerlook.probes import batched_mlp
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0)
    # A (4, 4) probe padded to (16, 16) beside a (16, 16) one: the small one must behave as a (4, 4) network,
    # i.e. exactly like the same probe trained alone.
    predict_pair, epochs_pair = batched_mlp(X, y, [(4, 4), (16, 16)], [1e-4, 1e-4], [0, 1], max_iter=30)
    predict_alone, epochs_alone = batched_mlp(X, y, [(4, 4)], [1e-4], [0], max_iter=30)
    assert (predict_pair(X)[0] == predict_alone(X)[0]).all() and epochs_pair[0] == epochs_alone[0]
    # An easy problem converges before max_iter: the stopping rule (10 epochs without improvement) ends it.
    _, epochs = batched_mlp(X, y, [(16, 16)], [1e-4], [0], max_iter=2000)
    assert epochs[0] < 2000
    with pytest.raises(ValueError, match="backend"):
        MLPProbe(hidden_sizes=[(4, 4)], alphas=[1e-4], seeds=[0], backend="jax").fit(X, y)


def test_batched_probe_in_bfloat16_still_learns():
    from closerlook.probes import batched_mlp
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 16)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
    acc = {precision: (batched_mlp(X, y, [(32, 32)] * 2, [1e-4] * 2, [0, 1], max_iter=60, precision=precision)[0](X)
                       == y).mean(1) for precision in ("float32", "bfloat16")}
    assert acc["float32"].min() > 0.8 and np.abs(acc["bfloat16"] - acc["float32"]).max() < 0.05, acc


def test_a_fitted_probe_checks_what_it_scores():
    """Before: seed_scores took a NaN and returned an accuracy."""
    rng = np.random.default_rng(0)
    X, y = np.vstack([rng.normal(-2, 1, (30, 3)), rng.normal(2, 1, (30, 3))]), np.repeat([0, 1], 30)
    probe = MLPProbe([(8, 8)], [1e-4], [0], 20, backend="torch").fit(X, y)
    bad = X.copy()
    bad[0, 0] = np.nan
    for call, message in ((lambda: probe.seed_scores(bad, y), "X contains NaN"),
                          (lambda: probe.seed_scores(X[:, :2], y), "X has 2 features, the probe was fitted on 3"),
                          (lambda: probe.seed_scores(X, y[:-1]), "different lengths: 60 examples, 59 labels"),
                          (lambda: probe.seed_scores(X, y.astype(str)), "holds numbers and y text"),
                          (lambda: probe.predict(bad), "X contains NaN")):
        with pytest.raises(ValueError, match=message):
            call()
    assert probe.seed_scores(X, y)[0] > 0.9


def test_the_torch_probe_on_read_only_representations_warns_nothing():
    """Cached representations are read-only arrays (so cached calls on them are named without hashing): the torch
    probe shares them without torch's warning about non-writable arrays. In a process of its own, as torch warns
    once per process."""
    import subprocess
    import sys
    code = """
import warnings
import numpy as np
from closerlook.probes import batched_mlp
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5)).astype(np.float32)
X.flags.writeable = False
y = (X[:, 0] > 0).astype(int)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    predict, _ = batched_mlp(X, y, [(8, 8)], [1e-4], [0], max_iter=5, device="cpu")
    predict(X)
print([str(w.message)[:60] for w in caught])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]", proc.stdout
