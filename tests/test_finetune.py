"""Fine-tuning with snapshots, on a tiny random BERT and small real subsets."""
import numpy as np
import pytest

from closerlook import finetune as ft
from closerlook.data import load_task
from closerlook.finetune import FinetuneConfig, FinetuneRun, finetune
from closerlook.representations import Encoder

CFG = dict(lr=3e-3, batch_size=8, epochs=3, snapshots=4, seed=0)


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    return Encoder.load(tiny_bert, device="cpu")


def subset(task, n_train=96, n_test=20):
    return load_task(task, "train").subset(n_train), load_task(task, "test").subset(n_test)


def test_loss_falls_and_snapshots_have_the_right_shapes(encoder):
    train, test = subset("pos")
    run = finetune(encoder, train, test, FinetuneConfig(**CFG), progress=False)
    steps = run.meta["total_steps"]
    assert steps == 3 * int(np.ceil(96 / 8)) and run.steps == [0, 12, 24, 36]
    assert run.losses[0] is None and run.losses[-1] < 0.7 * run.losses[1]
    for i in range(4):
        X = run.snapshot(i, "train")
        assert X.shape == (encoder.n_layers + 1, len(train), encoder.hidden_size) and X.dtype == np.float16
        assert run.snapshot(i, "test").shape[1] == len(test)
    assert 0 <= run.head_test_accuracy <= 1 and (run.model_dir / "model.safetensors").exists()


def test_step_zero_is_the_original_model(encoder):
    train, test = subset("dep", 40, 10)
    run = finetune(encoder, train, test, FinetuneConfig(**CFG), progress=False)
    original = encoder.embed(train, progress=False)
    np.testing.assert_array_equal(run.snapshot(0, "train"), original.astype(np.float16))
    assert run.snapshot(0).shape[-1] == 2 * encoder.hidden_size
    # the caller's encoder was not changed by fine-tuning; the saved final model was
    np.testing.assert_array_equal(encoder.embed(train, progress=False), original)
    tuned = run.encoder(device="cpu")
    assert tuned.fingerprint != encoder.fingerprint
    np.testing.assert_allclose(tuned.embed(train, progress=False).astype(np.float16).astype(np.float32),
                               run.snapshot(len(run.steps) - 1).astype(np.float32), atol=2e-2, rtol=1e-2)


def test_same_parameters_hit_the_cache(encoder, monkeypatch):
    train, test = subset("trec", 48, 10)
    first = finetune(encoder, train, test, FinetuneConfig(**CFG), progress=False)
    monkeypatch.setattr(ft, "_targets_vectors", None)   # any training step would crash
    again = finetune(encoder, train, test, FinetuneConfig(**CFG), progress=False)
    assert again.folder == first.folder
    other = dict(CFG, seed=1)
    with pytest.raises(TypeError):   # a different seed is a different run: it trains
        finetune(encoder, train, test, FinetuneConfig(**other), progress=False)


def test_same_seed_same_run(encoder):
    train, test = subset("ps-role", 60, 10)
    a = finetune(encoder, train, test, FinetuneConfig(**CFG), cache=False, progress=False)
    la, xa = a.losses, a.snapshot(3)
    b = finetune(encoder, train, test, FinetuneConfig(**CFG), cache=False, progress=False)
    assert la == b.losses
    np.testing.assert_array_equal(xa, b.snapshot(3))


def test_interrupted_run_never_loads_as_complete(encoder, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path))   # its own cache: other tests' runs are not leftovers
    train, test = subset("ps-fxn", 60, 10)
    calls = {"n": 0}
    real = ft._targets_vectors

    def dies_midway(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(ft, "_targets_vectors", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        finetune(encoder, train, test, FinetuneConfig(**CFG), progress=False)
    root = ft.cache_dir() / "finetune"
    leftovers = [p for p in root.iterdir() if p.name.startswith("ps-fxn-") and p.suffix != ".lock"]
    assert leftovers and all(".tmp" in p.name for p in leftovers)
    for p in leftovers:
        with pytest.raises(FileNotFoundError, match="not a complete fine-tuning run"):
            FinetuneRun(p)
    monkeypatch.setattr(ft, "_targets_vectors", real)
    run = finetune(encoder, train, test, FinetuneConfig(**CFG), progress=False)
    assert (run.folder / "COMPLETE").exists()
    assert not [p for p in root.iterdir() if p.name.startswith("ps-fxn-") and ".tmp" in p.name]


def test_bad_settings():
    with pytest.raises(ValueError, match="snapshots = 1: at least 2"):
        FinetuneConfig(snapshots=1)


@pytest.mark.parametrize("task", ["pos", "dep", "trec"])
def test_a_batch_cut_into_length_sorted_pieces_gives_the_whole_batch_gradient(encoder, task):
    """The pieces only save padding: with dropout off, the gradient of 4 length-sorted pieces is the gradient of
    the whole batch in one pass (word, pair and sentence tasks)."""
    import torch
    train, _ = subset(task, 24, 4)
    state = ft._setup(encoder, train, FinetuneConfig(**CFG))
    state.work.model.eval()                      # no dropout: both passes must give the same numbers
    y = np.array([state.label_index[l] for l in train.labels])
    batch = state.sentences[:12].tolist()
    params = list(state.work.model.parameters()) + list(state.head.parameters())

    def gradient(pieces):
        for p in params:
            p.grad = None
        tally = {"tokens": 0, "padded_tokens": 0}
        loss = ft._batch_backward(state, train, y, batch, pieces, False, tally)
        return loss, torch.cat([p.grad.flatten() for p in params if p.grad is not None]), tally

    whole_loss, whole, whole_tally = gradient(1)
    cut_loss, cut, cut_tally = gradient(4)
    assert cut_loss == pytest.approx(whole_loss, rel=1e-5)
    torch.testing.assert_close(cut, whole, rtol=1e-4, atol=1e-6)
    assert whole.abs().sum() > 0
    # the same real tokens, in fewer slots
    assert whole_tally["tokens"] - whole_tally["padded_tokens"] == cut_tally["tokens"] - cut_tally["padded_tokens"]
    assert cut_tally["padded_tokens"] < whole_tally["padded_tokens"]


def test_a_run_records_where_its_time_went(encoder):
    train, test = subset("pos", 32, 8)
    run = finetune(encoder, train, test, FinetuneConfig(**dict(CFG, epochs=1, snapshots=2)), progress=False)
    timing = run.meta["timing"]
    assert timing["update_s"] > 0 and timing["snapshot_s"] > 0
    assert timing["snapshot_rows"] == 2 * (len(train) + len(test))
    assert 0 <= timing["padded_tokens"] < timing["tokens"]


def test_a_run_from_before_the_pieces_is_not_read_as_one_made_in_pieces(encoder, monkeypatch, tmp_path):
    """Cache version 2 names the pieces a batch is cut into. A version-1 run made in pieces (its meta.json has the
    timing that came with them) is moved in; one made in a single pass is another dropout draw and trains again."""
    import json
    monkeypatch.setenv("CLOSERLOOK_CACHE_DIR", str(tmp_path))
    train, test = subset("pos", 32, 8)
    config = FinetuneConfig(**dict(CFG, epochs=1, snapshots=2))
    run = finetune(encoder, train, test, config, progress=False)
    pieces = ft.pieces_per_batch("cpu")
    assert run.meta["pieces"] == pieces
    v1 = run.folder.parent / f"pos-{ft._run_key(encoder, train, test, config, pieces, version=1)}"
    assert v1 != run.folder
    run.folder.rename(v1)
    monkeypatch.setattr(ft, "_targets_vectors", None)   # any training step would crash
    adopted = finetune(encoder, train, test, config, progress=False)
    assert adopted.folder == run.folder and not v1.exists()
    meta = json.loads((adopted.folder / "meta.json").read_text())
    del meta["timing"]                                   # as the code before the pieces wrote it
    (adopted.folder / "meta.json").write_text(json.dumps(meta))
    adopted.folder.rename(v1)
    with pytest.raises(TypeError):                       # not adopted: it trains
        finetune(encoder, train, test, config, progress=False)
    assert (v1 / "COMPLETE").exists()


def test_a_shared_bar_counts_every_update_and_a_cached_run_is_found_without_training(encoder):
    import io
    from tqdm.std import tqdm
    train, test = subset("pos", n_train=40)
    config = FinetuneConfig(**dict(CFG, epochs=1, snapshots=2, seed=5))
    assert ft.cached_run(encoder, train, test, config) is None
    with tqdm(total=ft.n_updates(train, config), file=io.StringIO()) as bar:
        run = finetune(encoder, train, test, config, progress=bar)
        assert bar.n == ft.n_updates(train, config) == run.meta["total_steps"]
    assert ft.cached_run(encoder, train, test, config).folder == run.folder


def test_progress_is_text_under_run_all_and_can_be_off(monkeypatch):
    import io
    import tqdm.std
    from closerlook.progress import tqdm as bar
    monkeypatch.setenv("CLOSERLOOK_PROGRESS", "text")
    assert type(bar(range(3), file=io.StringIO())) is tqdm.std.tqdm
    monkeypatch.setenv("CLOSERLOOK_PROGRESS", "off")
    assert bar(range(3)).disable


def test_the_time_left_counts_updates_and_snapshot_rows_at_their_own_measured_pace(monkeypatch):
    """Two runs of 10 updates and 100 snapshot rows each; the first run's snapshot of 50 rows took 5 s and its
    updates 1 s each: 19 updates and 150 rows are left, 19 x 1 s + 150 x 0.1 s = 34 s. A bar timing the snapshot as
    updates would say 19 x 6 s."""
    import io
    from closerlook import progress
    monkeypatch.setenv("CLOSERLOOK_PROGRESS", "text")
    now = [0.0]
    bar = progress.RunsBar([(10, 100), (10, 100)])
    bar.bar.fp = io.StringIO()
    bar._clock = lambda: now[0]
    bar._last = 0.0
    assert bar.time_left() is None
    now[0] = 5.0
    bar.snapshot(50)
    now[0] = 6.0
    bar.update()
    assert bar.time_left() == pytest.approx(19 * 1.0 + 150 * 0.1)
    bar.set_postfix(loss="0.5")
    assert "loss=0.5, about 34 s left" in bar.bar.postfix
    bar.close()


def test_a_run_is_quiet_when_its_bar_is_off(encoder, capfd):
    """Nothing on stderr from a run with progress off: transformers 5 drew a "Writing model shards" bar at every
    save, which chapter 01 showed five times under its fine-tuning bar."""
    train, test = subset("pos", 16, 8)
    capfd.readouterr()
    finetune(encoder, train, test, FinetuneConfig(**dict(CFG, epochs=1, seed=11)), progress=False)
    out, err = capfd.readouterr()
    assert "Writing model shards" not in out + err and err.strip() == "", err[-500:]


def test_the_fused_adamw_gives_the_loops_updates_and_is_another_cache_entry(encoder):
    """The fused kernel (the default where torch has it) against the loop over parameters: from the same start with
    the same gradients, ten steps agree to float tolerance; a whole run agrees to float16 snapshot tolerance. The
    two are different entries, and a run made with the loop keeps the key it had before the choice existed."""
    import torch
    assert ft.fused_adamw("cpu")[0], ft.fused_adamw("cpu")[1]
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(64, 32, generator=gen), torch.randn(32, generator=gen)]
    grads = [[torch.randn(p.shape, generator=gen) for p in start] for _ in range(10)]
    final = {}
    for fused in (False, True):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.01, fused=fused)
        for g in grads:
            for p, gp in zip(params, g):
                p.grad = gp
            opt.step()
        final[fused] = [p.detach() for p in params]
    for a, b, s in zip(final[False], final[True], start):
        assert (a - s).abs().max() > 1e-3                        # the steps moved the parameters ...
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)   # ... by the same amount

    train, test = subset("pos", 32, 8)
    loop_cfg = FinetuneConfig(**dict(CFG, epochs=1, snapshots=2, fused=False))
    fused_cfg = FinetuneConfig(**dict(CFG, epochs=1, snapshots=2))
    loop = finetune(encoder, train, test, loop_cfg, progress=False)
    fused = finetune(encoder, train, test, fused_cfg, progress=False)
    assert loop.folder != fused.folder
    assert (loop.meta["optimizer"], fused.meta["optimizer"]) == ("adamw", "adamw-fused")
    np.testing.assert_allclose(loop.snapshot(1).astype(np.float32), fused.snapshot(1).astype(np.float32),
                               atol=2e-2, rtol=1e-2)
    # The loop's key is the key of version 2 before the setting: the settings without "fused", no optimizer named.
    import dataclasses
    import hashlib
    import json
    from closerlook.representations import data_fingerprint
    settings = {k: v for k, v in dataclasses.asdict(loop_cfg).items() if k != "fused"}
    before = {"v": 2, "model": encoder.identity(), "task": train.task, "train": data_fingerprint(train),
              "test": data_fingerprint(test), "config": settings, "pieces": ft.pieces_per_batch("cpu")}
    assert loop.folder.name == f"pos-{hashlib.sha256(json.dumps(before).encode()).hexdigest()[:20]}"


def test_a_torch_without_the_fused_kernel_falls_back_and_says_so(encoder, monkeypatch):
    train, test = subset("pos", 16, 4)
    monkeypatch.setattr(ft, "fused_adamw", lambda device_type: (False, "no fused AdamW here (test)"))
    run = finetune(encoder, train, test, FinetuneConfig(**dict(CFG, epochs=1, snapshots=2, seed=5)), progress=False)
    assert run.meta["optimizer"] == "adamw" and run.meta["optimizer_note"] == "no fused AdamW here (test)"
    loop = finetune(encoder, train, test, FinetuneConfig(**dict(CFG, epochs=1, snapshots=2, seed=5, fused=False)),
                    progress=False)
    assert loop.folder == run.folder            # the same computation, the same entry


def test_a_snapshot_read_again_comes_from_memory_until_its_file_changes(encoder):
    """The last snapshots read are kept in memory (a chapter reads each once per layer), read-only; a file that
    changed since (a run trained again into the same folder, or a file broken on disk) is read from disk again."""
    import os
    from closerlook.cachekeys import CorruptCacheEntry
    train, test = subset("trec", 16, 4)
    run = finetune(encoder, train, test, FinetuneConfig(**dict(CFG, epochs=1, snapshots=2)), progress=False)
    first = run.snapshot(1)
    assert run.snapshot(1) is first and not first.flags.writeable
    layer = run.snapshot_layer(1, "train", 1)
    assert run.snapshot_layer(1, "train", 1) is layer and not layer.flags.writeable and layer.dtype == np.float32
    np.testing.assert_array_equal(layer, first[1].astype(np.float32))
    path = run.folder / "snapshots" / "001.npz"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = run.snapshot(1)
    assert again is not first and run.snapshot_layer(1, "train", 1) is not layer
    np.testing.assert_array_equal(again, first)
    path.write_bytes(b"broken")
    with pytest.raises(CorruptCacheEntry):
        run.snapshot(1)
