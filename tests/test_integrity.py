"""No number wrong and silent: DirectProbe's predictions at any dtype and scale, the cached probe equal to the fitted
one, and cache entries that fail their checksum named, set aside and computed again (issue 28)."""
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from closerlook import cachekeys, experiments as ex, hulls
from closerlook.directprobe import DirectProbe

RATE = {"directprobe": {"rate": 0.05}}


def blobs(scale=1.0, n=40):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (n, 5)), rng.normal(6, 1, (n, 5))]) * scale
    return X, np.array([0] * n + [1] * n)


# --- DirectProbe's predict ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e-4, 1.0, 30.0, 100.0, 1e4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_rows_are_predicted_as_their_own_label_at_any_scale(scale, dtype):
    """Before: X x 30 gave 0.9875 and X x 100 0.9625 (bounds that grow with the coordinates against a fixed
    tolerance); a float32 matrix 0.925 through the cache."""
    X, y = blobs(scale)
    X = X.astype(dtype)
    assert DirectProbe().fit(X, y).score(X, y) == 1.0
    assert ex.directprobe(RATE, X, y).score(X, y) == 1.0
    assert ex.directprobe(RATE, X, y.astype(str)).score(X, y.astype(str)) == 1.0


def test_the_cached_probe_equals_the_fitted_one_on_every_method():
    X, y = blobs()
    y = np.where(y == 1, 10, 2)            # as text "10" sorts before "2": the cache's order is not the labels'
    rng = np.random.default_rng(1)
    Q = np.vstack([X[::7], rng.normal(3, 3, (15, 5))])
    fitted, cached = DirectProbe().fit(X.astype(np.float32), y), ex.directprobe(RATE, X, y)
    assert cached.classes_.tolist() == fitted.classes_.tolist() == [2, 10]
    assert cached.cluster_labels_.tolist() == fitted.cluster_labels_.tolist()
    np.testing.assert_array_equal(cached.labels_, fitted.labels_)
    np.testing.assert_array_equal(cached.predict(Q), fitted.predict(Q))
    np.testing.assert_allclose(cached.hull_distances(Q), fitted.hull_distances(Q), rtol=1e-9)
    np.testing.assert_allclose(cached.cluster_distances_, fitted.cluster_distances_)
    assert cached.score(X, y) == fitted.score(X, y) == 1.0


def test_hull_distance_of_a_training_row_to_its_own_hull_is_zero_at_any_scale():
    for scale in (1.0, 100.0, 1e4):
        X, y = blobs(scale)
        dp = DirectProbe().fit(X, y)
        D = dp.hull_distances(X)
        own = D[np.arange(len(X)), dp.labels_]
        assert (own == 0).all(), (scale, own.max())
        assert (np.delete(D, dp.labels_[0], axis=1)[0] > scale).all()


def test_a_row_with_no_cluster_left_is_an_error_not_cluster_0(monkeypatch):
    """Before: every cluster ruled out, and argmin over a row of inf silently gave cluster 0's label."""
    X, y = blobs()
    dp = DirectProbe().fit(X, y)

    def contradicting(A, P, stop_above=None, **kw):     # bounds whose lower end lies above every upper one
        return np.full(len(P), 1.0), np.full(len(P), 1e9)
    monkeypatch.setattr(hulls, "point_hull_bounds", contradicting)
    with pytest.raises(RuntimeError, match=r"no cluster is left for row\(s\) \[0, 1, 2"):
        dp.predict(X)


def test_bad_inputs_get_one_clear_line():
    X, y = blobs()
    dp = DirectProbe().fit(X, y)
    with pytest.raises(ValueError, match="X and y have different lengths: 80 examples, 79 labels"):
        dp.score(X, y[:-1])
    huge = X.copy()
    huge[0, 0] = 1e200
    with pytest.raises(ValueError, match=r"X holds a value of 1e\+200: squared distances overflow"):
        DirectProbe().fit(huge, y)
    far = X.copy()
    far[0, 0] = 1e10
    with pytest.warns(RuntimeWarning, match=r"row 0 lies .* times farther out than the median row"):
        DirectProbe().fit(far, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DirectProbe().fit(X * 1e6, y)                   # a large scale alone is no outlier
    assert DirectProbe().fit(X[[0, 40]], y[[0, 40]]).score(X[[0, 40]], y[[0, 40]]) == 1.0
    with pytest.raises(ValueError, match=r"labels of mixed types \(int, str\)"):
        ex.directprobe(RATE, X, np.array([1] * 40 + ["1"] * 40, dtype=object))


# --- checked cache entries -----------------------------------------------------------------------------------------

def _zero_block(path: Path):
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\0" * 4096)


def _forget_checks():
    cachekeys._digests.clear()           # as a new process would
    cachekeys._manifests.clear()


def test_a_corrupted_representation_is_set_aside_and_computed_again(tiny_bert, tmp_path, monkeypatch, capsys):
    """Before: a zeroed 4 KiB block moved 15 key numbers with exit 0; a truncated file failed every later run."""
    from closerlook.data import load_task
    from closerlook.representations import Encoder, represent
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    enc = Encoder.load(tiny_bert, device="cpu")
    data = load_task("pos", "train").subset(40)
    first = represent(enc, data, progress=False)
    path = next((tmp_path / "cache" / "representations").glob("pos-train-*.npy"))
    assert cachekeys.checksum_file(path).exists()
    for damage in (_zero_block, lambda p: open(p, "r+b").truncate(p.stat().st_size // 2)):
        damage(path)
        _forget_checks()
        again = represent(enc, data, progress=False)
        np.testing.assert_array_equal(again, first)
        assert "fails its checksum; moved to corrupt/" in capsys.readouterr().out
    assert len(list((tmp_path / "cache" / "corrupt").glob("*pos-train-*.npy"))) == 2


def test_an_array_cached_before_checksums_is_adopted(tiny_bert, tmp_path, monkeypatch):
    from closerlook.data import load_task
    from closerlook.representations import Encoder, represent
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    enc = Encoder.load(tiny_bert, device="cpu")
    data = load_task("pos", "train").subset(20)
    first = represent(enc, data, progress=False)
    path = next((tmp_path / "cache" / "representations").glob("pos-train-*.npy"))
    cachekeys.checksum_file(path).unlink()
    _forget_checks()
    np.testing.assert_array_equal(represent(enc, data, progress=False), first)
    assert cachekeys.checksum_file(path).read_text().strip() == cachekeys.sha256_file(path)


def test_a_corrupted_directprobe_entry_is_computed_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    X, y = blobs()
    first = ex.directprobe(RATE, X, y)
    call, args = ex._directprobe_call(RATE, X, y)
    output = call._entry(args) / "output.pkl"
    _zero_block(output)
    _forget_checks()
    again = ex.directprobe(RATE, X, y)
    assert "fails its checksum; moved to corrupt/" in capsys.readouterr().out
    np.testing.assert_array_equal(again.cluster_distances_, first.cluster_distances_)
    assert cachekeys.verified(output)


def test_a_corrupted_fine_tuning_run_is_trained_again(tiny_bert, tmp_path, monkeypatch, capsys):
    """Before: a truncated snapshot .npz, meta.json or model.safetensors failed every chapter that read it, with no
    file named, and the run was never trained again."""
    from closerlook.params import load_params
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path / "cache"))
    params = load_params("smoke")
    params.update(models={"tiny": str(tiny_bert)}, dynamics_model="tiny", tasks=["pos"])
    params["data"]["max_train_sentences"].update(pos=20)
    params["directprobe"].update(dynamics_layers=[1, "last"])
    before = ex.snapshot(params, "tiny", "pos", -1)
    embedded = ex.embed_with(params, ex.finetuned_run(params, "tiny", "pos"), "pos")[0]
    run = ex.finetuned_run(params, "tiny", "pos")
    assert json.loads((run.folder / cachekeys.MANIFEST).read_text())["meta.json"]
    last = f"snapshots/{len(run.steps) - 1:03d}.npz"
    for name, read in ((last, lambda: ex.snapshot(params, "tiny", "pos", -1)),
                       ("model/model.safetensors",
                        lambda: ex.embed_with(params, ex.finetuned_run(params, "tiny", "pos"), "pos")[0]),
                       ("meta.json", lambda: ex.snapshot(params, "tiny", "pos", -1))):
        folder = ex.finetuned_run(params, "tiny", "pos").folder
        target = folder / name
        open(target, "r+b").truncate(target.stat().st_size // 2)
        _forget_checks()
        ex._runs.clear()                                 # a new process: nothing remembered
        got = read()
        np.testing.assert_array_equal(got, embedded if name.startswith("model") else before)
        out = capsys.readouterr().out
        assert f"{name} fails its checksum; moved to corrupt/" in out, out
    assert len(list((tmp_path / "cache" / "corrupt").iterdir())) == 3


def test_the_cache_layer_imports_nothing_that_imports_it():
    """Before: cachekeys.py imported the functions it wrapped from experiments.py and probes.py, which import it."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(cachekeys))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
    assert imported <= {"data"}, imported


# --- naming a cached call by its arguments' identity (cachekeys._entries) -------------------------------------

def _read_only(a):
    """A read-only array that owns its memory."""
    a = np.array(a)
    a.flags.writeable = False
    return a


def _counting_hash(monkeypatch):
    import joblib
    calls = []
    real = joblib.hash

    def counted(obj, *a, **k):
        calls.append(1)
        return real(obj, *a, **k)
    monkeypatch.setattr(joblib, "hash", counted)
    return calls


def test_a_read_only_array_names_its_entry_once_and_a_writeable_one_every_time(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path))
    calls = _counting_hash(monkeypatch)
    call = cachekeys.cached("test", "sum_v1", lambda X, rate: float(X.sum() * rate))
    X = _read_only(np.arange(12.0).reshape(3, 4))
    assert call(X, 0.5) == call(X, 0.5) == 33.0
    assert len(calls) == 1                        # the second call named the entry by identity
    assert call(X, 0.25) == 16.5 and len(calls) == 2   # another value is another entry
    W = np.arange(12.0).reshape(3, 4)
    call(W, 0.5)
    W[0, 0] = 100.0                                # a writeable array can change: hashed every time
    assert call(W, 0.5) == 83.0 and len(calls) == 4
    view = W.view()
    view.flags.writeable = False                  # read-only, but its memory is not: hashed every time
    call(view, 0.5)
    W[0, 0] = 0.0
    assert call(view, 0.5) == 33.0 and len(calls) == 6


def test_a_view_of_a_read_only_array_is_named_by_its_owner_and_place(tmp_path, monkeypatch):
    """X[0] of a cached stack is a new view at each call: named by the stack it lies in and where, it is hashed
    once; another row, dtype or shape of the same stack is another entry."""
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path))
    calls = _counting_hash(monkeypatch)
    call = cachekeys.cached("test", "rows_v1", lambda X: X.tolist())
    stack = _read_only(np.arange(24.0).reshape(2, 3, 4))
    assert call(stack[0]) == call(stack[0]) == stack[0].tolist()
    assert len(calls) == 1
    assert call(stack[1]) == stack[1].tolist() and len(calls) == 2                  # another place in the stack
    assert call(stack[0, :2]) == stack[0, :2].tolist() and len(calls) == 3          # another shape
    assert call(stack[0].T) == stack[0].T.tolist() and len(calls) == 4             # another order
    assert call(stack[0].view(np.int64)) == stack[0].view(np.int64).tolist() and len(calls) == 5   # another dtype
    assert call(stack[1]) == stack[1].tolist() and len(calls) == 5


def test_an_equal_array_made_anew_reads_the_same_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path))
    ran = []
    call = cachekeys.cached("test", "sum_v2", lambda X: ran.append(1) or float(X.sum()))
    a = _read_only(np.ones((2, 2)))
    call(a)
    del a                                          # its id may be reused: the name by identity goes with it
    b = _read_only(np.full((2, 2), 2.0))
    assert call(b) == 8.0 and len(ran) == 2
    assert call(_read_only(np.ones((2, 2)))) == 4.0 and len(ran) == 2   # found by its hash


def test_frozen_str_is_one_read_only_copy_per_label_array_and_leaves_writeable_labels_alone():
    labels = _read_only(np.array(["a", 1], dtype=object))
    first = cachekeys.frozen_str(labels)
    assert first is cachekeys.frozen_str(labels) and not first.flags.writeable
    assert first.tolist() == ["a", "1"] and first.dtype.kind == "U"
    writeable = np.array(["a", "b"], dtype=object)
    out = cachekeys.frozen_str(writeable)
    assert out.flags.writeable and out is not cachekeys.frozen_str(writeable)
