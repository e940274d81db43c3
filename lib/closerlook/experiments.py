"""The paper's experiments as cached building blocks for the notebooks.

Each function takes a profile (``params.load_params``) and returns what one table or figure needs; every expensive
step (representations, fine-tuning, probes, DirectProbe) is cached on disk, so re-running a notebook is fast.
"""
from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
from joblib import Memory

from .data import TaskData, cache_dir, load_task
from .directprobe import DirectProbe
from .finetune import FinetuneConfig, FinetuneRun, finetune
from .geometry import label_min_distances, probe_similarity
from .probes import probe_accuracy
from .representations import Encoder, represent

# Wall time per stage, summed over the calls of this process (run_all.py prints it per notebook).
STAGE_SECONDS: dict[str, float] = defaultdict(float)


@contextmanager
def stage(name: str):
    t = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS[name] += time.perf_counter() - t


_encoders: dict[tuple, Encoder] = {}


def encoder(params, label: str) -> Encoder:
    key = (label, params["models"][label])
    if key not in _encoders:
        enc = Encoder.load(params["models"][label])
        enc.name = label
        _encoders[key] = enc
    return _encoders[key]


def task_data(params, task: str) -> tuple[TaskData, TaskData]:
    train, test = load_task(task, "train"), load_task(task, "test")
    n_train = params["data"]["max_train_sentences"].get(task)
    n_test = params["data"]["max_test_sentences"].get(task)
    if n_train:
        train = train.subset(n_train)
    if n_test:
        test = test.subset(n_test)
    return train, test


def layer_index(enc: Encoder, layer) -> int:
    return enc.n_layers if layer == "last" else int(layer)


def dynamics_layers(params, enc: Encoder) -> list[int]:
    """The profile's snapshot layers that this model has (a profile serves models of 2 to 12 layers), and the last."""
    layers = {layer_index(enc, l) for l in params["directprobe"]["dynamics_layers"]}
    return sorted({l for l in layers if 0 <= l <= enc.n_layers} | {enc.n_layers})


def original(params, label: str, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Train and test representations of the original model at one layer."""
    enc = encoder(params, label)
    train, test = task_data(params, task)
    layer = layer_index(enc, layer)
    with stage("extraction"):
        return (represent(enc, train, layers=[layer], progress=False)[0],
                represent(enc, test, layers=[layer], progress=False)[0])


def finetune_config(params, label: str, seed: int | None = None) -> FinetuneConfig:
    """The profile's fine-tuning settings for one model. The main run (seed None or the profile's seed) keeps
    every snapshot; another seed keeps only the first and the last one (of the same layers), which is all that the
    intervals over seeds read (before vs after fine-tuning)."""
    enc = encoder(params, label)
    ft = params["finetune"]
    epochs = ft["epochs"].get(label, ft["epochs"]["default"])
    main = seed is None or seed == ft["seed"]
    return FinetuneConfig(lr=ft["lr"], warmup=ft["warmup"], batch_size=ft["batch_size"], epochs=epochs,
                          snapshots=ft["snapshots"] if main else 2, seed=ft["seed"] if main else seed,
                          layers=dynamics_layers(params, enc))


def fine_tuning_seeds(params) -> list[int]:
    """The main seed first, then the profile's other seeds."""
    ft = params["finetune"]
    return [ft["seed"]] + [s for s in ft.get("seeds", []) if s != ft["seed"]]


def finetuned_run(params, label: str, task: str, seed: int | None = None) -> FinetuneRun:
    """The model fine-tuned on `task` with the profile's settings (cached run); `seed` picks a seed run."""
    enc = encoder(params, label)
    train, test = task_data(params, task)
    with stage("fine-tuning"):
        return finetune(enc, train, test, finetune_config(params, label, seed), progress=True)


def finetuned(params, label: str, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Train and test representations of the fine-tuned model at one layer (the last snapshot)."""
    run = finetuned_run(params, label, task)
    k = run.layers.index(layer_index(encoder(params, label), layer))
    last = len(run.steps) - 1
    return run.snapshot(last, "train")[k].astype(np.float32), run.snapshot(last, "test")[k].astype(np.float32)


def drop_conflicting_duplicates(X, y):
    """Rows whose coordinates repeat with another label (e.g. the same TREC question under two labels) cannot be
    separated by any clustering; DirectProbe is run without them."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    conflict = np.zeros(len(first), bool)
    np.logical_or.at(conflict, inverse, y != y[first][inverse])
    keep = ~conflict[inverse]
    return X[keep], y[keep]


def _fit_directprobe(X, y, rate):
    X, y = drop_conflicting_duplicates(X, y)
    dp = DirectProbe(rate=rate).fit(X, y)
    dp._X = None   # the training matrix is the caller's; keep the cache small
    return dp


def directprobe(params, X, y) -> DirectProbe:
    """A fitted DirectProbe (cached on disk by the arrays and rate). Its `predict` needs `attach(dp, X)`."""
    with stage("directprobe"):
        memory = Memory(cache_dir() / "directprobe", verbose=0)
        return memory.cache(_fit_directprobe)(np.asarray(X, np.float32), np.asarray(y).astype(str),
                                              params["directprobe"]["rate"])


def mlp_probe(params, X, y, Xt, yt) -> dict:
    p = params["probe"]
    with stage("probes"):
        return probe_accuracy(X, np.asarray(y).astype(str), Xt, np.asarray(yt).astype(str),
                              [tuple(h) for h in p["hidden_sizes"]], p["alphas"], p["seeds"], p["max_iter"])


def table7_rows(params, label: str, task: str) -> list[dict]:
    """Table 7's two rows (original, fine-tuned) for one model and task, last layer."""
    train, test = task_data(params, task)
    rows = []
    for rep, (X, Xt) in (("original", original(params, label, task)), ("fine-tuned", finetuned(params, label, task))):
        probe = mlp_probe(params, X, train.labels, Xt, test.labels)
        dp_train = directprobe(params, X, train.labels)
        similarity = np.nan
        if dp_train.is_linear_:
            dp_test = directprobe(params, Xt, test.labels)
            if dp_test.is_linear_:
                similarity = probe_similarity(dp_train, dp_test)
        rows.append({"model": label, "task": task, "rep": rep, "acc": 100 * probe["acc_mean"],
                     "std": 100 * probe["acc_std"], "best_size": tuple(probe["best_hidden"]),
                     "clusters": dp_train.n_clusters_, "labels": len(dp_train.classes_),
                     "linear": bool(dp_train.is_linear_), "similarity": similarity})
    return rows


def min_distance_dynamics(params, label: str, task: str, layer="last") -> tuple[list[int], dict]:
    """§4.3: each label's minimum distance at every snapshot ({label: [d_0, ..., d_K]}), or None if non-linear."""
    run = finetuned_run(params, label, task)
    train, _ = task_data(params, task)
    k = run.layers.index(layer_index(encoder(params, label), layer))
    curves = defaultdict(list)
    for i in range(len(run.steps)):
        dp = directprobe(params, run.snapshot(i, "train")[k].astype(np.float32), train.labels)
        if not dp.is_linear_:
            return run.steps, None
        for lab, d in label_min_distances(dp).items():
            curves[lab].append(d)
    return run.steps, dict(curves)


def snapshot_directprobe(params, label: str, task: str, i: int, layer) -> DirectProbe:
    """DirectProbe on the training set at snapshot i of the fine-tuning run, at one stored layer."""
    run = finetuned_run(params, label, task)
    train, _ = task_data(params, task)
    k = run.layers.index(layer_index(encoder(params, label), layer))
    return directprobe(params, run.snapshot(i, "train")[k].astype(np.float32), train.labels)


def label_centroids(X, y) -> tuple[list, np.ndarray]:
    labels = sorted(set(np.asarray(y).tolist()))
    y = np.asarray(y)
    return labels, np.stack([np.asarray(X, np.float64)[y == l].mean(0) for l in labels])


def centroid_paths(params, label: str, task: str, layer) -> tuple[list, np.ndarray]:
    """Each label's centroid at every snapshot: labels, array (snapshots, labels, width)."""
    run = finetuned_run(params, label, task)
    train, _ = task_data(params, task)
    k = run.layers.index(layer_index(encoder(params, label), layer))
    paths = []
    for i in range(len(run.steps)):
        labels, c = label_centroids(run.snapshot(i, "train")[k], train.labels)
        paths.append(c)
    return labels, np.stack(paths)


def linear_tasks(params, label: str) -> list[str]:
    """Tasks whose training set is linear under the model both before and after fine-tuning (§4.3, §4.5)."""
    out = []
    for task in params["tasks"]:
        X, _ = original(params, label, task)
        Xf, _ = finetuned(params, label, task)
        train, _ = task_data(params, task)
        if directprobe(params, X, train.labels).is_linear_ and directprobe(params, Xf, train.labels).is_linear_:
            out.append(task)
    return out


def embed_with(params, run: FinetuneRun, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Another task's train/test representations from a fine-tuned model's final weights (§4.4)."""
    enc = run.encoder()
    train, test = task_data(params, task)
    layer = layer_index(enc, layer)
    with stage("extraction"):
        return (represent(enc, train, layers=[layer], progress=False)[0],
                represent(enc, test, layers=[layer], progress=False)[0])
