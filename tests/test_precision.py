"""compute.bfloat16: bfloat16 autocast for the forward passes on a CPU with bfloat16 units, cached apart from
float32, recorded in each run, and float32 everywhere else (issue 30)."""
import copy
from pathlib import Path

import numpy as np
import pytest

from closerlook import experiments as ex
from closerlook import provenance
from closerlook.data import load_task
from closerlook.finetune import FinetuneConfig, finetune
from closerlook.params import ParamsError, load_params
from closerlook.representations import Encoder, check_precision, compute_precision, represent


@pytest.fixture(scope="module")
def encoders(tiny_bert):
    f32 = Encoder.load(tiny_bert, device="cpu")
    b16 = Encoder.load(tiny_bert, device="cpu")
    b16.precision = "bfloat16"
    return f32, b16


def test_auto_is_bfloat16_only_on_a_cpu_with_bfloat16_units(monkeypatch):
    monkeypatch.setattr(provenance, "cpu_bfloat16", lambda: ["avx512_bf16"])
    assert compute_precision("auto", "cpu") == "bfloat16"
    assert compute_precision("never", "cpu") == "float32"
    assert compute_precision("auto", "cuda:0") == "float32"      # a GPU keeps its own half-precision passes
    monkeypatch.setattr(provenance, "cpu_bfloat16", lambda: [])
    assert compute_precision("auto", "cpu") == "float32"         # emulated bfloat16 would be 35-100x slower
    with pytest.raises(ValueError, match="'never' or 'auto'"):
        compute_precision("always", "cpu")
    with pytest.raises(ValueError, match="precision must be one of"):
        check_precision("float16")


def test_a_profile_names_its_precision_or_fails_on_a_bad_one(tmp_path, monkeypatch):
    assert load_params("default")["compute"]["bfloat16"] in ("never", "auto")
    text = Path(load_params("smoke")["_file"]).read_text() + "compute:\n  bfloat16: sometimes\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ParamsError, match="compute.bfloat16"):
        load_params(bad)


def test_bfloat16_representations_are_close_to_float32_and_cached_apart(encoders):
    f32, b16 = encoders
    assert "precision" not in f32.identity()                     # float32 keys are the keys from before the choice
    assert b16.identity() == {**f32.identity(), "precision": "bfloat16"}
    with pytest.raises(ValueError, match="precision must be one of"):
        f32.precision = "float16"                                # set after loading, still checked
    assert f32.precision == "float32"
    data = load_task("pos", "test").subset(20)
    a = represent(f32, data, layers=[0, f32.n_layers], progress=False)
    b = represent(b16, data, layers=[0, f32.n_layers], progress=False)
    assert not np.array_equal(a, b)                              # another computation, not the float32 entry read back
    # bfloat16 keeps 8 bits of mantissa: each product is off by up to 2^-8 of itself, and a few layers add up.
    scale = np.abs(a).max(axis=-1, keepdims=True)
    assert np.abs(a - b).max() / scale.max() < 0.05
    np.testing.assert_array_equal(b, represent(b16, data, layers=[0, f32.n_layers], progress=False))


def test_a_bfloat16_run_is_another_cache_entry_and_says_so(encoders):
    f32, b16 = encoders
    train, test = load_task("pos", "train").subset(24), load_task("pos", "test").subset(6)
    cfg = FinetuneConfig(lr=3e-3, batch_size=8, epochs=1, snapshots=2, seed=0)
    r32, r16 = (finetune(e, train, test, cfg, progress=False) for e in (f32, b16))
    assert r32.folder != r16.folder
    assert (r32.meta["precision"], r16.meta["precision"]) == ("float32", "bfloat16")
    assert r16.encoder().precision == "bfloat16" and r32.encoder().precision == "float32"
    # The same start (snapshot 0 is the original model), read in each precision; the run's updates differ.
    np.testing.assert_allclose(r32.snapshot(0).astype(np.float32), r16.snapshot(0).astype(np.float32), atol=0.1)
    assert not np.array_equal(r32.snapshot(1), r16.snapshot(1))


def test_the_profile_setting_reaches_the_encoder_and_the_torch_probe(monkeypatch):
    monkeypatch.setattr(provenance, "cpu_bfloat16", lambda: ["amx_bf16"])
    monkeypatch.setattr(ex, "_encoders", {})
    params = copy.deepcopy(load_params("smoke"))
    params["compute"]["bfloat16"] = "auto"
    params["probe"]["backend"] = "torch"
    assert ex.probe_precision(params) == "bfloat16"
    params["probe"]["backend"] = "sklearn"
    assert ex.probe_precision(params) == "float32"               # scikit-learn's probe has no bfloat16
    label = next(iter(params["models"]))
    assert ex.encoder(params, label).precision == "bfloat16"
    params["compute"]["bfloat16"] = "never"
    assert ex.encoder(params, label).precision == "float32"      # another encoder, not the cached bfloat16 one


def test_a_bfloat16_run_is_the_same_run_twice(encoders):
    """Determinism holds in bfloat16 too: the same seed, the same snapshots and head, bit for bit."""
    _, b16 = encoders
    train, test = load_task("trec", "train").subset(24), load_task("trec", "test").subset(6)
    cfg = FinetuneConfig(lr=3e-3, batch_size=8, epochs=1, snapshots=2, seed=3)
    first = finetune(b16, train, test, cfg, cache=False, progress=False)
    snapshot, accuracy = first.snapshot(1).copy(), first.head_test_accuracy
    again = finetune(b16, train, test, cfg, cache=False, progress=False)
    np.testing.assert_array_equal(snapshot, again.snapshot(1))
    assert again.head_test_accuracy == accuracy
