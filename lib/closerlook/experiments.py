"""The paper's experiments as cached building blocks for the notebooks.

Each function takes a profile (``params.load_params``) and returns what one table or figure needs; every expensive
step (representations, fine-tuning, probes, DirectProbe) is cached on disk, so re-running a notebook is fast.
"""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import conventions
from .cachekeys import CorruptCacheEntry, cached, frozen_str, set_aside
from .conventions import Reading
from .data import TaskData, cache_dir, define_task, load_task
from .directprobe import DirectProbe
from .finetune import FinetuneConfig, FinetuneRun, finetune
from .geometry import probe_similarity
from .probes import probe_accuracy
from .progress import quiet_interrupts
from .representations import Encoder, compute_precision, default_device, represent

quiet_interrupts()      # in a notebook, Ctrl-C in a long cell is one line (closerlook.progress)

# Wall time per stage, summed over the calls of this process (run_all.py prints it per notebook).
STAGE_SECONDS: dict[str, float] = defaultdict(float)


@contextmanager
def stage(name: str):
    t = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS[name] += time.perf_counter() - t


# --- where independent blocks run: local worker processes, or a Dask cluster ----------------------------------------

SCHEDULER_ENV = "CLOSERLOOK_SCHEDULER"   # run_all.py --scheduler sets it for every notebook's kernel
_clients: dict = {}


@contextmanager
def workers(n_jobs: int = -1):
    """Where joblib sends the independent blocks inside (yields the n_jobs to use): ``n_jobs`` local processes, or,
    when CLOSERLOOK_SCHEDULER names a Dask scheduler (``tcp://host:8786``), that cluster's workers. A cluster's
    workers need closerlook installed and the same cache and data folders (a shared file system), so that what
    they compute lands where the notebooks read it."""
    address = os.environ.get(SCHEDULER_ENV)
    if not address:
        yield n_jobs
        return
    from joblib import parallel_config
    if address not in _clients:
        try:
            from distributed import Client
        except ImportError as e:
            raise RuntimeError(f"{SCHEDULER_ENV}={address}: a Dask scheduler needs the 'distributed' package "
                               "(pip install distributed)") from e
        try:
            _clients[address] = Client(address, set_as_default=False, timeout=30)
        except OSError as e:
            raise RuntimeError(f"{SCHEDULER_ENV}={address}: no Dask scheduler answers there ({e})") from e
    with parallel_config(backend="dask", client=_clients[address]):
        yield -1


_encoders: dict[tuple, Encoder] = {}


def bfloat16_setting(params) -> str:
    """The profile's ``compute.bfloat16`` ("never" where a hand-made profile leaves it out)."""
    return (params.get("compute") or {}).get("bfloat16", "never")


def encoder(params, label: str) -> Encoder:
    setting = bfloat16_setting(params)
    key = (label, params["models"][label], setting)
    if key not in _encoders:
        enc = Encoder.load(params["models"][label])
        enc.name = label
        enc.precision = compute_precision(setting, enc.device)
        _encoders[key] = enc
    return _encoders[key]


def probe_precision(params) -> str:
    """The torch probe's precision under the profile's ``compute.bfloat16`` (scikit-learn's probe: float32)."""
    if params["probe"].get("backend", "sklearn") != "torch":
        return "float32"
    return compute_precision(bfloat16_setting(params), default_device())


def task_data(params, task: str) -> tuple[TaskData, TaskData]:
    defined = params.get("task_definitions") or {}
    if task in defined:     # a worker process (Dask, joblib) that did not load the profile itself
        define_task(task, defined[task], Path(params.get("_file", ".")).parent)
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
    """The profile's snapshot layers that this model has (a profile serves models of 2 to 12 layers), and the last.
    The dynamics model itself must have every layer the profile names."""
    layers = {layer_index(enc, l) for l in params["directprobe"]["dynamics_layers"]}
    if enc.name == params["dynamics_model"] and max(layers) > enc.n_layers:
        from .params import ParamsError
        raise ParamsError(f"{params.get('_file', 'profile')}: 'directprobe.dynamics_layers' = "
                          f"{params['directprobe']['dynamics_layers']}: the dynamics model {enc.name} has layers "
                          f"0..{enc.n_layers} (or 'last')")
    return sorted({l for l in layers if 0 <= l <= enc.n_layers} | {enc.n_layers})


def represent_splits(params, enc: Encoder, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Train and test representations of a task by an encoder at one layer (cached on disk)."""
    train, test = task_data(params, task)
    layer = layer_index(enc, layer)
    with stage("extraction"):
        return (represent(enc, train, layers=[layer], progress=False)[0],
                represent(enc, test, layers=[layer], progress=False)[0])


def original(params, label: str, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Train and test representations of the original model at one layer."""
    return represent_splits(params, encoder(params, label), task, layer)


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
                          layers=dynamics_layers(params, enc), fused=ft.get("fused", True))


def fine_tuning_seeds(params) -> list[int]:
    """The main seed first, then the profile's other seeds."""
    ft = params["finetune"]
    return [ft["seed"]] + [s for s in ft.get("seeds", []) if s != ft["seed"]]


_runs: dict[tuple, FinetuneRun] = {}


def finetuned_run(params, label: str, task: str, seed: int | None = None, progress=True) -> FinetuneRun:
    """The model fine-tuned on `task` with the profile's settings (cached run); `seed` picks a seed run.

    A notebook asks for the same run hundreds of times (once per snapshot, layer and split it reads). Finding it on
    disk means hashing the task's data and the settings, so a run found once is remembered by what names it here
    (cache folder, model, task, data and fine-tuning settings, seed) and only checked to be still complete."""
    key = (str(cache_dir()), label, params["models"][label], task, seed, os.environ.get("CLOSERLOOK_DATA_DIR"),
           json.dumps([params["data"], params["finetune"], params["directprobe"].get("dynamics_layers")],
                      sort_keys=True, default=str))
    run = _runs.get(key)
    if run is not None and (run.folder / "COMPLETE").exists():
        return run
    enc = encoder(params, label)
    train, test = task_data(params, task)
    with stage("fine-tuning"):
        run = finetune(enc, train, test, finetune_config(params, label, seed), progress=progress)
    _runs[key] = run
    _recipes[run.folder] = (label, task, seed)
    return run


_recipes: dict = {}   # a run's folder -> (label, task, seed) of finetuned_run, to make it again


def _read_run(params, run: FinetuneRun, read):
    """``read(run)``; if a file of the run fails its check on the way, the run is set aside, trained again, and
    read once more (a run's files are checked when first read, not when it is found)."""
    try:
        return read(run)
    except CorruptCacheEntry as e:
        if run.folder not in _recipes:
            raise
        set_aside(run.folder, e.why)
        return read(finetuned_run(params, *_recipes[run.folder]))


def snapshot(params, label: str, task: str, i: int = -1, layer="last", split: str = "train",
             seed: int | None = None) -> np.ndarray:
    """One split's representations at snapshot i (0 = the original model, -1 = the fine-tuned one) and one stored
    layer of a fine-tuning run, as float32. Every fine-tuned representation of the same task in the tables and
    figures comes from here (the run's own float16 snapshots), so a number that appears twice is the same."""
    run = finetuned_run(params, label, task, seed)
    k = run.layers.index(layer_index(encoder(params, label), layer))
    return _read_run(params, run, lambda r: r.snapshot_layer(i % len(r.steps), split, k))


def finetuned(params, label: str, task: str, layer="last", seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train and test representations of the fine-tuned model at one layer (the last snapshot)."""
    return (snapshot(params, label, task, -1, layer, "train", seed),
            snapshot(params, label, task, -1, layer, "test", seed))


def drop_conflicting_duplicates(X, y):
    """Rows whose coordinates repeat with another label (e.g. the same TREC question under two labels) cannot be
    separated by any clustering; DirectProbe is run without them."""
    keep = np.ones(len(X), bool)
    keep[conflicting_rows(X, y)] = False
    return X[keep], y[keep]


def _fit_directprobe(X, y, rate):
    X, y = drop_conflicting_duplicates(X, y)
    dp = DirectProbe(rate=rate).fit(X, y)
    dp._X = None   # the training matrix is the caller's; keep the cache small
    return dp


def conflicting_rows(X, y) -> np.ndarray:
    """Indices of the rows whose coordinates repeat with another label (e.g. one TREC question under two labels)."""
    X, y = np.asarray(X), np.asarray(y)
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    conflict = np.zeros(len(first), bool)
    np.logical_or.at(conflict, inverse, y != y[first][inverse])
    return np.flatnonzero(conflict[inverse])


def directprobe(params, X, y) -> DirectProbe:
    """A fitted DirectProbe, cached on disk by the arrays and the rate.

    Every reading uses the profile's fit: a reading's rate (convention 5, the authors' 0.05) only sets the step of
    the search back for the first invalid merge state, and that state is unique (merging only grows hulls), so every
    rate gives the same clusters (``tests/test_directprobe.py``; ``benchmarks/rate_independence.py`` on a run's
    spaces). A fit at 0.05 would repeat each fit, at full size half an hour for POS, to arrive at the same partition.

    Rows that repeat another row's coordinates under another label are left out (no clustering can separate
    them); which ones is in ``dropped_rows_`` and printed, never silent. The returned probe holds the caller's X
    again, so ``predict``, ``score`` and ``hull_distances`` work on it (the cache keeps no copy of X).
    """
    given = np.asarray(y)
    if given.dtype.kind == "O" and len({type(v) for v in given.tolist()}) > 1:
        raise ValueError(f"labels of mixed types ({', '.join(sorted({type(v).__name__ for v in given.tolist()}))}): "
                         "give labels of one type")
    fit, (X, y, rate) = _directprobe_call(params, X, y)
    with stage("directprobe"):
        dp = fit(X, y, rate)
    # The cached probe saw len(dp.labels_) rows: only when that is fewer than X's are there rows to name.
    dropped = conflicting_rows(X, y) if len(dp.labels_) < len(X) else np.empty(0, np.int64)
    if len(dropped):
        print(f"DirectProbe: {len(dropped)} row(s) repeat another label's coordinates and are left out "
              f"(rows {dropped.tolist()[:6]}, labels {sorted(set(y[dropped].tolist()))[:6]})")
    dp.dropped_rows_ = dropped
    # The fit saw X in float32 (the cache key); the same numbers in float64 are what predict measures against.
    dp._X = np.delete(X, dropped, axis=0).astype(np.float64)
    if given.dtype.kind != "U":
        # The cache keys labels as strings; the caller gets the labels it gave (ints stay ints), numbered as a fit
        # on them numbers them.
        dp.relabel({str(v): v for v in set(given.tolist())})
    return dp


def _directprobe_call(params, X, y):
    """The cached DirectProbe fit and its arguments. Built in one place, so that a fit made ahead in a worker
    (``fit_directprobes_ahead``) and the one read afterwards are the same cache entry."""
    X, y = np.asarray(X, np.float32), frozen_str(y)
    return cached("directprobe", "directprobe_v1", _fit_directprobe), (X, y, params["directprobe"]["rate"])


def _snapshot_call(params, label: str, task: str, i: int, layer, seed, split: str):
    train, test = task_data(params, task)
    return _directprobe_call(params, snapshot(params, label, task, i, layer, split, seed),
                             (train if split == "train" else test).labels)


def _fit_ahead(X, y, rate, cache: str | None = None) -> None:
    # The worker gets the arrays, not the run: it loads no model and no snapshot file, and needs only the cache
    # folder. The result lands in the on-disk cache; nothing large travels back. joblib hands a worker arrays over
    # 1 MB as read-only memmaps, and a memmap hashes apart from the same numbers in an ndarray: without the copy,
    # every large fit made here was stored under a key that the sequential read never asks for, and made twice.
    # `cache`: the caller's cache folder. joblib keeps its worker processes for the next call, with the environment
    # they started with: a worker started under another CLOSERLOOK_CACHE_DIR would write where nobody reads.
    from unittest import mock
    with mock.patch.dict(os.environ, {} if cache is None else {"CLOSERLOOK_CACHE_DIR": cache}):
        cached("directprobe", "directprobe_v1", _fit_directprobe)(np.array(X), np.array(y), rate)


def fit_directprobes_ahead(params, label: str, fits) -> int:
    """Fit the DirectProbes named in ``fits`` ((task, snapshot, layer, seed, split) each) that are not cached yet,
    several at once, and return how many ran. The fits are independent and each runs mostly on one core, so the
    sequential code that reads them afterwards finds them in the cache, and on a machine with more cores than one
    fit keeps busy the work takes less time (the workers' start, a few seconds, is paid once per notebook).
    ``directprobe.n_jobs`` in the profile sets the workers (default: every core); under a Dask scheduler
    (``workers``) they go to the cluster's workers instead."""
    from joblib import Parallel, delayed
    from .progress import tqdm
    todo = []
    for fit in dict.fromkeys(fits):
        call, args = _snapshot_call(params, label, *fit)
        if not call.check_call_in_cache(*args):
            todo.append(fit)
    n_jobs = params["directprobe"].get("n_jobs", -1)
    on_cluster = bool(os.environ.get(SCHEDULER_ENV))
    if not todo or (len(todo) < 2 or n_jobs == 1) and not on_cluster:
        return 0   # nothing to share out: the sequential code fits the one left
    with stage("directprobe"), workers(n_jobs) as n_jobs:
        # A generator: only the arrays of the fits being dispatched are in memory at a time.
        runs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            # A cluster's workers have the cache folder of their own machine (the same shared one, README).
            delayed(_fit_ahead)(*_snapshot_call(params, label, *fit)[1], cache=None if on_cluster else str(cache_dir()))
            for fit in todo)
        for _ in tqdm(runs, total=len(todo), desc=f"DirectProbe fits ({label})"):
            pass
    return len(todo)


def _finetune_ahead(params, label: str, task: str, seed: int | None) -> None:
    finetuned_run(params, label, task, seed)   # lands in the on-disk cache


def main_runs(params) -> list[tuple]:
    """The profile's main fine-tuning runs, (model, task, None) each: every model and task."""
    return [(label, task, None) for label in params["models"] for task in params["tasks"]]


def seed_runs(params) -> list[tuple]:
    """The other seeds' runs, (model, task, seed) each, of the tasks that get them. Which tasks do is read off the
    main runs (``seed_tasks``): asking trains them first."""
    return [(label, task, seed) for label in params["models"] for task in seed_tasks(params, label)
            for seed in fine_tuning_seeds(params)[1:]]


def finetune_all(params) -> int:
    """Train every fine-tuning run of the profile that is not cached yet, one after another, under a bar that
    says which run of how many and the time left at the pace measured so far (in updates; the snapshots' time
    counts in the pace): the main runs first, then the seed runs of the tasks they choose. Returns how many were
    trained. An interrupted run is trained again from its start; the runs finished before it are kept."""
    from .finetune import cached_run, n_updates
    from .progress import RunsBar
    trained = 0
    for which, runs in (("", main_runs), ("seed ", seed_runs)):
        todo = []
        for label, task, seed in runs(params):
            train, test = task_data(params, task)
            config = finetune_config(params, label, seed)
            if cached_run(encoder(params, label), train, test, config) is None:
                rows = (len(train) + len(test)) * config.snapshots     # every snapshot embeds both splits
                todo.append((label, task, seed, (n_updates(train, config), rows)))
        if not todo:
            continue
        with RunsBar([plan for *_, plan in todo]) as bar:
            for k, (label, task, seed, _) in enumerate(todo, 1):
                bar.set_description(f"fine-tuning {which}run {k} of {len(todo)}: {label} on {task}"
                                    + ("" if seed is None else f", seed {seed}"))
                finetuned_run(params, label, task, seed, progress=bar)
        trained += len(todo)
    return trained


def finetune_ahead(params) -> int:
    """On a Dask cluster (``run_all.py --scheduler``): every fine-tuning run of the profile as independent blocks,
    the main runs (every model and task) first, then the other seeds of the tasks that get them, before any
    notebook starts; the notebooks then read them from the shared cache. Returns how many runs were sent."""
    from joblib import Parallel, delayed
    main = main_runs(params)
    with workers() as n_jobs:
        Parallel(n_jobs=n_jobs)(delayed(_finetune_ahead)(params, *run) for run in main)
        seeded = seed_runs(params)       # read off the main runs, which are in the cache now
        Parallel(n_jobs=n_jobs)(delayed(_finetune_ahead)(params, *run) for run in seeded)
    return len(main) + len(seeded)


def _clusters_with_twins(X, y, rate):
    """What the authors' DirectProbe makes of rows that repeat another label's coordinates ("twins").

    Their code keeps the twins. Any merge that puts a twin into a larger cluster makes a hull that contains its
    other-labelled twin, whose singleton cluster it then meets, so the merge is refused (their sphere pre-test is
    strict, so a merge where the twin lies exactly on the new bounding sphere, as in a two-point cluster, can slip
    through: hence 51 or 52 clusters for 50 labels in their Table 4). Every twin stays a cluster of its own, and no
    other cluster may contain the twins' point. The same outcome here: the shared point becomes one cluster of a
    label of its own, which every other cluster must avoid, and counts as one cluster per twin.
    """
    rows = conflicting_rows(X, y)
    if not len(rows):
        dp = DirectProbe(rate=rate).fit(X, y)
        return {"clusters": int(dp.n_clusters_), "labels": len(dp.classes_), "linear": bool(dp.is_linear_),
                "twins": 0}
    points, group = np.unique(X[rows], axis=0, return_inverse=True)
    keep = np.setdiff1d(np.arange(len(X)), rows)
    X2 = np.concatenate([X[keep], points])
    y2 = np.concatenate([y[keep], [f"<twins {g}>" for g in range(len(points))]])
    dp = DirectProbe(rate=rate).fit(X2, y2)
    clusters = int(dp.n_clusters_) - len(points) + len(rows)
    labels = len(np.unique(y))
    return {"clusters": clusters, "labels": labels, "linear": clusters == labels, "twins": int(len(rows))}


def directprobe_keeping_twins(params, X, y) -> dict:
    """#clusters and linearity as the authors' code gives them with the twins kept (cached on disk)."""
    with stage("directprobe"):
        fit = cached("directprobe", "clusters_with_twins_v1", _clusters_with_twins)
        return fit(np.asarray(X, np.float32), np.asarray(y).astype(str), params["directprobe"]["rate"])


def mlp_probe(params, X, y, Xt, yt) -> dict:
    p = params["probe"]
    with stage("probes"), workers():   # scikit-learn's grid and seeds go to the cluster when one is named
        return probe_accuracy(X, frozen_str(y), Xt, frozen_str(yt),
                              [tuple(h) for h in p["hidden_sizes"]], p["alphas"], p["seeds"], p["max_iter"],
                              backend=p.get("backend", "sklearn"), precision=probe_precision(params))


def table7_rows(params, label: str, task: str, reading: Reading | None = None) -> list[dict]:
    """Table 7's two rows (original, fine-tuned) for one model and task, last layer; the similarity column as
    ``reading`` reads it (None: the profile's)."""
    from .geometry import spatial_similarity
    reading = reading_of(params) if reading is None else reading
    train, test = task_data(params, task)
    rows = []
    for rep, (X, Xt) in (("original", original(params, label, task)), ("fine-tuned", finetuned(params, label, task))):
        probe = mlp_probe(params, X, train.labels, Xt, test.labels)
        dp_train, similarity = _train_test_directprobe(params, X, Xt, train, test)
        if reading != Reading.exact():
            pairs = space_pairs(params, X, train.labels, reading)
            pairs_test = space_pairs(params, Xt, test.labels, reading) if pairs is not None else None
            u, v = ((None, None) if pairs_test is None else
                    conventions.distance_vectors(pairs, pairs_test, task_labels(params, task), reading))
            # Not defined where a split is not linear, or fewer than two label pairs are measured on both.
            similarity = float("nan") if u is None or len(u) < 2 else spatial_similarity(u, v)
        rows.append({"model": label, "task": task, "rep": rep, "acc": 100 * probe["acc_mean"],
                     "std": 100 * probe["acc_std"], "accs": [100 * a for a in probe["accs"]],
                     "best_size": tuple(probe["best_hidden"]),
                     "clusters": dp_train.n_clusters_, "labels": len(dp_train.classes_),
                     "linear": bool(dp_train.is_linear_), "similarity": similarity})
    return rows


def train_test_similarity(params, label: str, task: str, i: int = -1, layer="last") -> float:
    """§4.1's train/test spatial similarity at snapshot i of the main fine-tuning run (0: the original model) and
    one stored layer; NaN where either split's space is not linear (the similarity is not defined there)."""
    train, test = task_data(params, task)
    return _train_test_directprobe(params, snapshot(params, label, task, i, layer, "train"),
                                   snapshot(params, label, task, i, layer, "test"), train, test)[1]


def _train_test_directprobe(params, X, Xt, train: TaskData, test: TaskData) -> tuple[DirectProbe, float]:
    """DirectProbe on the training set, and the train/test spatial similarity (NaN unless both splits are linear;
    the test set is probed only when the training set is linear)."""
    from .geometry import spatial_similarity
    dp_train, u, v = _distance_vectors(params, X, Xt, train, test)
    # Not defined unless both splits are linear and have two label pairs at least (a task of three labels or more).
    return dp_train, (float("nan") if u is None or len(u) < 2 else spatial_similarity(u, v))


def min_distance_dynamics(params, label: str, task: str, layer="last",
                          reading: Reading | None = None) -> tuple[list[int], dict]:
    """§4.3: each label's minimum distance at every snapshot ({label: [d_0, ..., d_K]}), or None where a snapshot is
    not measured (not linear; under the authors' fixed partition, overlapping). ``reading``: None, the profile's."""
    reading = reading_of(params) if reading is None else reading
    run = finetuned_run(params, label, task)
    labels = task_labels(params, task)
    curves = defaultdict(list)
    for i in range(len(run.steps)):
        pairs = dynamics_pairs(params, label, task, i, layer, None, reading)
        if pairs is None:
            return run.steps, None
        for lab, d in conventions.label_min_distances(pairs, labels, Reading.exact()).items():
            curves[lab].append(d)
    return run.steps, dict(curves)


def snapshot_directprobe(params, label: str, task: str, i: int, layer="last", seed: int | None = None) -> DirectProbe:
    """DirectProbe on the training set at snapshot i of the fine-tuning run, at one stored layer."""
    train, _ = task_data(params, task)
    return directprobe(params, snapshot(params, label, task, i, layer, "train", seed), train.labels)


def label_centroids(X, y) -> tuple[list, np.ndarray]:
    labels = sorted(set(np.asarray(y).tolist()))
    y = np.asarray(y)
    return labels, np.stack([np.asarray(X, np.float64)[y == l].mean(0) for l in labels])


def centroid_paths(params, label: str, task: str, layer, seed: int | None = None) -> tuple[list, np.ndarray]:
    """Each label's centroid at every snapshot of a run: labels, array (snapshots, labels, width). A seed run
    has two snapshots, the first and the last."""
    run = finetuned_run(params, label, task, seed)
    train, _ = task_data(params, task)
    paths = []
    for i in range(len(run.steps)):
        labels, c = label_centroids(snapshot(params, label, task, i, layer, "train", seed), train.labels)
        paths.append(c)
    return labels, np.stack(paths)


# --- over fine-tuning seeds (the intervals of the claims ledger) -------------------------------------------------

def similarity_case(params, label: str, task: str, reading: Reading | None = None) -> dict | None:
    """§4.1 for one model and task: train/test similarity before and after fine-tuning for every seed, with the
    bootstrap interval (over label pairs) of each seed's drop. None where the similarity is not defined before
    fine-tuning or under the main seed (a space that is not linear). ``reading``: how the distance vectors are
    read (None: the profile's)."""
    from .claims import bootstrap_pearson_drop
    from .geometry import spatial_similarity
    reading = reading_of(params) if reading is None else reading
    train, test = task_data(params, task)
    labels = task_labels(params, task)
    X, Xt = original(params, label, task)
    before = space_pairs(params, X, train.labels, reading), space_pairs(params, Xt, test.labels, reading)
    if None in before:
        return None
    fit_directprobes_ahead(params, label, [(task, -1, "last", seed, split) for seed in fine_tuning_seeds(params)
                                           for split in ("train", "test")])
    seeds, undefined = [], []
    for seed in fine_tuning_seeds(params):
        F, Ft = finetuned(params, label, task, seed=seed)
        after = space_pairs(params, F, train.labels, reading), space_pairs(params, Ft, test.labels, reading)
        vectors = None if None in after else conventions.aligned_vectors([*before, *after], labels, reading)
        # Not defined: a space that is not linear, or fewer than three label pairs measured on all four sides (a
        # small split whose labels a reading drops).
        if vectors is None or len(vectors[0]) < 3:
            if seed == params["finetune"]["seed"]:
                return None
            undefined.append(seed)
            continue
        u0, v0, u1, v1 = vectors
        drop, low, high = bootstrap_pearson_drop(u0, v0, u1, v1)
        seeds.append({"seed": seed, "before": spatial_similarity(u0, v0), "after": spatial_similarity(u1, v1),
                      "drop": drop, "low": low, "high": high, "label_pairs": len(u0)})
    return {"case": f"{label}/{task}", "seeds": seeds, "undefined_seeds": undefined}


def min_distance_changes(params, label: str, task: str, layer="last", reading: Reading | None = None) -> dict | None:
    """§4.3 over seeds: each label's minimum distance after fine-tuning minus before, for every seed whose final
    space is measured (linear, or under the authors' fixed partition, not overlapping). None when the space
    before fine-tuning is not measured. A label that a reading does not measure at either end (convention 1's
    small clusters: a 0 in the authors' files, a line the paper's figures do not draw) is left out."""
    reading = reading_of(params) if reading is None else reading
    start = dynamics_pairs(params, label, task, 0, layer, None, reading)
    if start is None:
        return None
    labels = task_labels(params, task)
    d0 = conventions.label_min_distances(start, labels, Reading.exact())
    fit_directprobes_ahead(params, label, [(task, -1, layer, seed, "train") for seed in fine_tuning_seeds(params)])
    seeds, undefined = [], []
    for seed in fine_tuning_seeds(params):
        if reading.fixed_partition and seed != params["finetune"]["seed"]:
            # Each run is read with its own final clustering; the start is the original model in both.
            start = dynamics_pairs(params, label, task, 0, layer, None, reading, partition_seed=seed)
            if start is None:
                undefined.append(seed)
                continue
            d0 = conventions.label_min_distances(start, labels, Reading.exact())
        pairs = dynamics_pairs(params, label, task, -1, layer, seed, reading)
        if pairs is None:
            undefined.append(seed)
            continue
        d1 = conventions.label_min_distances(pairs, labels, Reading.exact())
        change = {lab: d1[lab] - d0[lab] for lab in d0 if lab in d1}
        seeds.append({"seed": seed, "change": change, "mean_change": float(np.mean(list(change.values())))})
    return {"task": task, "seeds": seeds, "undefined_seeds": undefined}


def measured_tasks(params, label: str, reading: Reading | None = None) -> list[str]:
    """Tasks whose training set a reading measures before and after fine-tuning (main run, last layer): under
    ours, the linear ones (``linear_tasks``)."""
    reading = reading_of(params) if reading is None else reading
    if reading == Reading.exact():
        return linear_tasks(params, label)
    return [t for t in params["tasks"] if dynamics_pairs(params, label, t, 0, "last", None, reading) is not None
            and dynamics_pairs(params, label, t, -1, "last", None, reading) is not None]


def closest_labels(params, label: str, task: str, n: int = 3) -> list[str]:
    """The n labels whose centroids are closest to one another before fine-tuning (smallest sum of pairwise
    distances, last layer): Figure 3's trio."""
    import itertools
    train, _ = task_data(params, task)
    labels, c = label_centroids(snapshot(params, label, task, 0, "last", "train"), train.labels)
    if len(labels) <= n:
        return list(labels)          # a task of n labels or fewer: they are its closest n
    trio = min(itertools.combinations(range(len(labels)), n),
               key=lambda t: sum(np.linalg.norm(c[a] - c[b]) for a, b in itertools.combinations(t, 2)))
    return [labels[i] for i in trio]


def centroid_shift(params, label: str, task: str, layer, seed: int | None = None) -> tuple[list, np.ndarray]:
    """Each label's centroid after fine-tuning minus before, at one layer: labels, (labels, width)."""
    train, _ = task_data(params, task)
    labels, c0 = label_centroids(snapshot(params, label, task, 0, layer, "train", seed), train.labels)
    _, c1 = label_centroids(snapshot(params, label, task, -1, layer, "train", seed), train.labels)
    return labels, c1 - c0


def shift_pca(params, label: str, task: str, layer, seed: int | None = None) -> tuple[list, np.ndarray]:
    """Figures 5, 7-10: a 2-D PCA of the labels' centroid shifts at one layer: labels, (labels, 2)."""
    from sklearn.decomposition import PCA
    labels, shift = centroid_shift(params, label, task, layer, seed)
    return labels, PCA(2, random_state=0).fit_transform(shift)


def shift_range(xy: np.ndarray) -> float:
    """The larger of the two axis spans of a PCA of centroid shifts (how far labels move, §4.5)."""
    return float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])))


def seed_tasks(params, label: str) -> list[str]:
    """Tasks that get seed runs: those linear before and after fine-tuning under the main seed (§4.1's defined
    similarities are among them, and §4.3 reads them)."""
    return linear_tasks(params, label)


def linear_tasks(params, label: str) -> list[str]:
    """Tasks whose training set is linear under the model both before and after fine-tuning (§4.3, §4.5)."""
    return [task for task in params["tasks"] if _linear_before_and_after(params, label, task)]


def _linear_before_and_after(params, label: str, task: str) -> bool:
    X, _ = original(params, label, task)
    Xf, _ = finetuned(params, label, task)
    train, _ = task_data(params, task)
    return bool(directprobe(params, X, train.labels).is_linear_ and directprobe(params, Xf, train.labels).is_linear_)


def task_seeds(params, label: str, task: str) -> list[int]:
    """The fine-tuning seeds `task` has runs for: every seed of the profile if it is one of `seed_tasks`, else the
    main seed (found for this task alone, without fine-tuning the profile's other tasks)."""
    seeds = fine_tuning_seeds(params)
    if len(seeds) > 1 and task in params["tasks"] and _linear_before_and_after(params, label, task):
        return seeds
    return seeds[:1]


def embed_with(params, run: FinetuneRun, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Another task's train/test representations from a fine-tuned model's final weights (§4.4)."""
    return represent_splits(params, _read_run(params, run, lambda r: r.encoder()), task, layer)


# --- §4.5 over layers -------------------------------------------------------------------------------------------

def layer_similarity(params, label: str, layers, reading: Reading | None = None) -> tuple[dict, list[dict]]:
    """Figure 4: for every task and layer whose training set is measured before fine-tuning (linear; under the
    authors' fixed partition, not overlapping), the similarity of each snapshot's distance vector to the
    original's ({(task, layer): (steps, values)}; NaN where a snapshot is not measured), and the last snapshot's
    similarity with its bootstrap interval over label pairs (a row per case). ``reading``: None, the profile's."""
    from .claims import bootstrap_pearson
    reading = reading_of(params) if reading is None else reading
    similarity, final = {}, []
    runs = {task: finetuned_run(params, label, task) for task in params["tasks"]}
    fit_directprobes_ahead(params, label, [(task, 0, layer, None, "train") for task in runs for layer in layers])
    starts = {(task, layer): dynamics_pairs(params, label, task, 0, layer, None, reading)
              for task in runs for layer in layers}
    fit_directprobes_ahead(params, label, [(task, i, layer, None, "train") for (task, layer), p in starts.items()
                                           if p is not None for i in range(len(runs[task].steps))])
    for task, run in runs.items():
        labels = task_labels(params, task)
        for layer in layers:
            start = starts[task, layer]
            if start is None:
                continue
            values, last = [], None
            for i in range(len(run.steps)):
                pairs = dynamics_pairs(params, label, task, i, layer, None, reading)
                last = None if pairs is None else conventions.distance_vectors(start, pairs, labels, reading)
                values.append(np.nan if last is None else _pearson_or_nan(*last))
            similarity[(task, layer)] = (run.steps, values)
            # An interval over label pairs needs three of them; a task of two or three labels has fewer.
            if last is not None and len(last[0]) >= 3:
                r, low, high = bootstrap_pearson(*last)
                final.append({"task": task, "layer": layer, "final similarity": r, "low": low, "high": high})
    return similarity, final


def _pearson_or_nan(u, v) -> float:
    from .geometry import spatial_similarity
    if np.ptp(u) == 0 or np.ptp(v) == 0:
        return float("nan")   # a constant vector (every pair 0: nothing measured) has no correlation
    return spatial_similarity(u, v)


def shift_ranges(params, label: str, tasks, layers) -> list[dict]:
    """§4.5: the range of the labels' centroid shifts (``shift_range`` of ``shift_pca``) at every layer, for every
    fine-tuning seed of the tasks that have seed runs and the main seed of the others."""
    return [{"task": task, "seed": seed, "layer": layer,
             "range": shift_range(shift_pca(params, label, task, layer, seed)[1])}
            for task in tasks for seed in task_seeds(params, label, task) for layer in layers]


# --- §4.3 tables ------------------------------------------------------------------------------------------------

def min_distance_curves(params, label: str, tasks, reading: Reading | None = None) -> dict:
    """Figure 6: {task: (steps, {label: [minimum distance at each snapshot]})} for the tasks whose every snapshot is
    linear (a task where one is not is left out, and said so). The fits are made ahead for all tasks at once."""
    fit_directprobes_ahead(params, label, [(task, i, "last", None, "train") for task in tasks
                                           for i in range(len(finetuned_run(params, label, task).steps))])
    curves = {}
    for task in tasks:
        steps, c = min_distance_dynamics(params, label, task, reading=reading)
        if c is None:
            print(f"{task}: a snapshot is not linear, left out")
            continue
        curves[task] = (steps, c)
    return curves


def min_distance_summary(curves: dict) -> list[dict]:
    """Per task: how many labels' minimum distance grew or shrank from the first to the last snapshot, how many
    dipped on the way, and the mean change."""
    return [{"task": t, "labels": len(c), "grew": sum(d[-1] > d[0] for d in c.values()),
             "shrank": sum(d[-1] <= d[0] for d in c.values()),
             "dipped along the way": sum(any(b < a for a, b in zip(d, d[1:])) for d in c.values()),
             "mean change": float(np.mean([d[-1] - d[0] for d in c.values()]))}
            for t, (_, c) in curves.items()]


def seed_change_rows(changes: list[dict]) -> list[dict]:
    """One row per task and fine-tuning seed of ``min_distance_changes``: labels, how many grew, the mean change."""
    return [{"task": c["task"], "seed": s["seed"], "labels": len(s["change"]),
             "grew": sum(v > 0 for v in s["change"].values()), "mean change": s["mean_change"]}
            for c in changes for s in c["seeds"]]


def trio_shift(params, label: str, task: str, trio: list[str], layers) -> dict:
    """Figure 3's numbers: at each layer, the mean length of the trio's centroid shifts, one value per fine-tuning
    seed (every seed where the task has seed runs)."""
    seeds = task_seeds(params, label, task)
    out = {}
    for layer in layers:
        shifts = []
        for seed in seeds:
            labels, shift = centroid_shift(params, label, task, layer, seed)
            shifts.append(float(np.linalg.norm(shift[[labels.index(l) for l in trio]], axis=-1).mean()))
        out[str(layer)] = {"labels": trio, "mean_centroid_shift": shifts}
    return out


# --- §4.4 -----------------------------------------------------------------------------------------------------

def cross_task_rows(params, label: str, target: str, sources, reading: Reading | None = None) -> list[dict]:
    """Table 5: the target task (training set, last layer) under the original model and under the models
    fine-tuned on each source task, one row per fine-tuning seed (a source with seed runs, see `task_seeds`, gets
    one row per seed: Table 5's gaps are differences, and one fine-tuning draw can reorder them). Per row:
    #clusters, linearity, MLP probe accuracy (mean, std and the seeds), and against the original model the number
    of labels whose minimum distance grew (#inc) or not (#dec) and the mean change (NaN where a space is not
    linear). The model fine-tuned on the target itself is its own run's last snapshot (the representation Table 7
    reads); the others embed the target with their final weights. ``reading``: how label distances are read
    (None: the profile's)."""
    reading = reading_of(params) if reading is None else reading
    train, test = task_data(params, target)
    labels = task_labels(params, target)
    reps = {("original", None): original(params, label, target)}
    for source in sources:
        for seed in task_seeds(params, label, source):
            reps[(source, seed)] = (finetuned(params, label, target, seed=seed) if source == target else
                                    embed_with(params, finetuned_run(params, label, source, seed), target))
    rows, distances = [], {}
    for (name, seed), (X, Xt) in reps.items():
        dp = directprobe(params, X, train.labels)
        probe = mlp_probe(params, X, train.labels, Xt, test.labels)
        pairs = space_pairs(params, X, train.labels, reading)
        distances[name, seed] = (None if pairs is None else
                                 conventions.label_min_distances(pairs, labels, Reading.exact()))
        rows.append({"fine-tuned on": name, "seed": seed, "clusters": dp.n_clusters_, "linear": dp.is_linear_,
                     "acc": 100 * probe["acc_mean"], "std": 100 * probe["acc_std"],
                     "accs": [100 * a for a in probe["accs"]]})
    d0 = distances["original", None]
    for r in rows:
        d = distances[r["fine-tuned on"], r["seed"]]
        if r["fine-tuned on"] == "original" or d is None or d0 is None:
            r.update({"#inc": np.nan, "#dec": np.nan, "average inc": np.nan})
            continue
        change = np.array([d[l] - d0[l] for l in d0 if l in d])
        r.update({"#inc": int((change > 0).sum()), "#dec": int((change <= 0).sum()), "average inc": change.mean()})
    return rows


# --- §4.2 -----------------------------------------------------------------------------------------------------

def trec_twins_rows(params) -> list[dict]:
    """Table 4 both ways, for every model before and after fine-tuning: TREC-50's #clusters with the question asked
    twice kept (what the authors' code gives) and dropped (ours), with linearity and the number of labels."""
    if "trec" not in params["tasks"]:
        return []
    train, _ = task_data(params, "trec")
    rows = []
    for label in params["models"]:
        for rep, (X, _) in (("original", original(params, label, "trec")), ("fine-tuned", finetuned(params, label, "trec"))):
            kept = directprobe_keeping_twins(params, X, train.labels)
            dropped = directprobe(params, X, train.labels)
            rows.append({"model": label, "rep": rep, "twin rows": kept["twins"],
                         "#clusters, twins kept (authors)": kept["clusters"], "linear, kept": kept["linear"],
                         "#clusters, twins dropped (ours)": dropped.n_clusters_, "linear, dropped": dropped.is_linear_,
                         "labels": kept["labels"]})
    return rows


# --- two readings of the geometry: ours ("exact") and the authors' code's (conventions.py, issue 27) ------------
#
# Every function above that a convention touches takes ``reading`` (None: the profile's ``analysis.conventions``).
# A reading changes how label distances are read off the fitted clusterings, never the representations: both come
# from the same cached snapshots.

def reading_of(params) -> Reading:
    """The profile's reading (``analysis.conventions``: exact, the default, or authors)."""
    return Reading.named((params.get("analysis") or {}).get("conventions", "exact"))


def readings() -> list[Reading]:
    """Ours, the authors', and the authors' with one convention switched back to ours at a time (the ablation)."""
    authors = Reading.authors()
    return [Reading.exact(), authors] + [authors.without(c) for c in conventions.CONVENTIONS]


def space_pairs(params, X, y, reading: Reading) -> dict | None:
    """One space measured on its own clustering (the authors' ``develop_run``: §4.1's splits, Table 5): label pair
    distances after conventions 1 and 3, or None where the space is not linear (the paper's tables leave those
    out under both readings: Table 7's '-')."""
    dp = directprobe(params, X, y)
    return conventions.probe_pair_distances(dp, reading) if dp.is_linear_ else None


def task_labels(params, task: str) -> list:
    """The task's whole label list (training and test split): convention 2's distance vectors run over it."""
    train, test = task_data(params, task)
    return sorted(set(train.labels.tolist()) | set(test.labels.tolist()))


_measured: dict = {}   # (what names a profile's run, the call's arguments) -> a partition or a space's pairs


def _memo_key(params, label: str, *args) -> tuple:
    """What names a reading's measurement of a run's snapshot in this process: the cache folder, the model, the
    data, fine-tuning and DirectProbe settings, and the call's own arguments. The seven readings of a chapter ask
    for the same snapshots again and again; without this each ask hashed the snapshot's array for the cache."""
    return (str(cache_dir()), label, params["models"][label], os.environ.get("CLOSERLOOK_DATA_DIR"),
            json.dumps([params["data"], params["finetune"], params["directprobe"]], sort_keys=True, default=str),
            *args)


def fixed_partition(params, label: str, task: str, seed: int | None):
    """Convention 4's partition of the training rows: the clusters DirectProbe finds on the fine-tuned model's last
    layer (the authors' cluster file, made in their 'probing' mode from the fine-tuned layer 12). None when that
    space is linear: the partition is then the labels. Rows DirectProbe left out (a question asked twice under
    two labels) are None."""
    key = _memo_key(params, label, "partition", task, seed)     # the same partition under every reading
    if key not in _measured:
        _measured[key] = _fixed_partition(params, label, task, seed)
    return _measured[key]


def _fixed_partition(params, label: str, task: str, seed: int | None):
    """Computes fixed_partition (memoised there)."""
    train, _ = task_data(params, task)
    X = snapshot(params, label, task, -1, "last", "train", seed)
    dp = directprobe(params, X, train.labels)
    if dp.is_linear_:
        return None
    partition = np.full(len(X), None, dtype=object)
    partition[np.delete(np.arange(len(X)), dp.dropped_rows_)] = dp.labels_
    return partition


def dynamics_pairs(params, label: str, task: str, i: int, layer, seed: int | None, reading: Reading,
                   partition_seed: int | None = None) -> dict | None:
    """The training set at snapshot i and one layer of a run, measured as the reading says: on its own clustering
    (None unless linear), or, under convention 4, on the fixed partition of the run ``partition_seed`` (default:
    ``seed``; None where two of its kept clusters meet, the authors' zeros)."""
    key = _memo_key(params, label, "pairs", task, i, layer, seed, reading, partition_seed)
    if key not in _measured:
        _measured[key] = _dynamics_pairs(params, label, task, i, layer, seed, reading, partition_seed)
    return _measured[key]


def _dynamics_pairs(params, label: str, task: str, i: int, layer, seed: int | None, reading: Reading,
                    partition_seed: int | None = None) -> dict | None:
    """Computes dynamics_pairs (memoised there)."""
    train, _ = task_data(params, task)
    if not reading.fixed_partition:
        return space_pairs(params, snapshot(params, label, task, i, layer, "train", seed), train.labels, reading)
    partition = fixed_partition(params, label, task, seed if partition_seed is None else partition_seed)
    X = snapshot(params, label, task, i, layer, "train", seed)
    if partition is None:
        # Whether the labels' hulls meet is a fact about the space, not about DirectProbe's search (its rate): the
        # profile's cached fit answers it. Linear: the label hulls are its clusters and their distances its own.
        own = directprobe(params, X, train.labels)
        if own.is_linear_:
            return conventions.probe_pair_distances(own, reading)
        small = np.unique(train.labels, return_counts=True)[1].min() < conventions.MIN_CLUSTER_POINTS
        if not (reading.drop_small_clusters and small):
            return None   # the label hulls meet (DirectProbe's one-cluster-per-label state is not valid)
        X, y = drop_conflicting_duplicates(X, train.labels)
    else:
        y = train.labels
    with stage("directprobe"):
        measure = cached("conventions", "partition_distances_v1", conventions.partition_distances)
        return measure(np.asarray(X, np.float32), np.asarray(y).astype(str), partition, reading)


def claims_under(params, notebook: str, reading: Reading) -> list:
    """The claims of one chapter that a reading can move, computed under it (the chapter's other claims, accuracy,
    centroids, ranges, do not read label distances or clusters)."""
    from . import claims
    model = params["dynamics_model"]
    if notebook == "01_divergence":
        cases = [c for label in params["models"] for task in params["tasks"]
                 if (c := similarity_case(params, label, task, reading)) is not None]
        accuracy, similarity = [], {}
        for label in params["models"]:
            for task in params["tasks"]:
                # One Table 7 read per case gives both the accuracies and the fine-tuned similarity under the reading.
                rows = {r["rep"]: r for r in table7_rows(params, label, task, reading)}
                accuracy.append({"case": f"{label}/{task}", **{rep: r["accs"] for rep, r in rows.items()}})
                r = rows["fine-tuned"]["similarity"]
                similarity[f"{label}/{task}"] = None if r != r else r
        gains = claims.accuracy_improves(accuracy).details["gains"]
        hurt = [{"case": c["case"], "gain": gains[c["case"]]["gain"], "gain_high": gains[c["case"]]["high"],
                 "similarity": similarity[c["case"]]} for c in accuracy]
        return [claims.similarity_drops(cases), claims.hurt_diverges_most(hurt)]
    if notebook == "02_linearity":
        rows = [r for label in params["models"] for task in params["tasks"] for r in table7_rows(params, label, task)]
        return claims.linearity(rows, trec_twins_rows(params))
    if notebook == "03_label_spacing":
        changes = [c for task in measured_tasks(params, model, reading)
                   if (c := min_distance_changes(params, model, task, reading=reading)) is not None]
        return [claims.every_label_grows(changes), claims.labels_move_apart(changes)]
    if notebook == "04_cross_task":
        sources = [t for t in ("ps-fxn", "ps-role", "pos") if t in params["tasks"]]
        if "ps-fxn" not in params["tasks"]:
            return []
        return [c for c in claims.cross_task(cross_task_rows(params, model, "ps-fxn", sources, reading))
                if c.id == "4.4-distances"]
    if notebook == "05_layer_behavior":
        layers = dynamics_layers(params, encoder(params, model))
        every_other = [l for l in layers if l % 2 == 0 and l > 0]
        higher = [l for l in every_other if l > encoder(params, model).n_layers // 2]
        _, final = layer_similarity(params, model, every_other, reading)
        return [claims.higher_layers_correlated([{"case": f"{r['task']}/layer {r['layer']}", "r": r["final similarity"],
                                                  "low": r["low"], "high": r["high"]}
                                                 for r in final if r["layer"] in higher])]
    return []


def claims_by_reading(params, notebook: str) -> dict[str, list[dict]]:
    """{reading name: that chapter's claims under it} for ours, the authors' and each step of the ablation (the
    authors' reading with one convention switched back): the ledger's two readings and the table of which
    convention flips a verdict."""
    from .progress import tqdm
    out = {}
    for reading in tqdm(readings(), desc=f"{notebook}: claims under each reading", leave=False):
        out[reading.name] = [c.to_dict() for c in claims_under(params, notebook, reading)]
    return out


# --- causes: the verdicts that do not hold, along fine-tuning ------------------------------------------------

def snapshot_epochs(params, label: str, run: FinetuneRun) -> list[float]:
    """The epoch at which each stored snapshot of a run was taken (0 = the original model)."""
    epochs = finetune_config(params, label).epochs
    return [float(epochs * s / run.steps[-1]) for s in run.steps]


def similarity_trajectory(params, label: str, task: str, reading: Reading | None = None) -> list[dict]:
    """§4.1 along fine-tuning: the train/test similarity at every stored snapshot of the main run (DirectProbe on
    each split at each snapshot), with its bootstrap interval over label pairs, and the drop from the original
    with the interval of the drop (paired over the same label pairs). A snapshot where either split is not
    measured gets NaN."""
    from .claims import bootstrap_pearson, bootstrap_pearson_drop
    reading = reading_of(params) if reading is None else reading
    run = finetuned_run(params, label, task)
    train, test = task_data(params, task)
    labels = task_labels(params, task)
    fit_directprobes_ahead(params, label, [(task, i, "last", None, split)
                                           for i in range(len(run.steps)) for split in ("train", "test")])
    spaces = []
    for i in range(len(run.steps)):
        pairs = space_pairs(params, snapshot(params, label, task, i, "last", "train"), train.labels, reading)
        pairs_test = (space_pairs(params, snapshot(params, label, task, i, "last", "test"), test.labels, reading)
                      if pairs is not None else None)
        spaces.append(None if pairs_test is None else (pairs, pairs_test))
    rows = []
    for i, (step, epoch) in enumerate(zip(run.steps, snapshot_epochs(params, label, run))):
        row = {"task": task, "snapshot": i, "epoch": epoch, "step": step, "similarity": np.nan, "low": np.nan,
               "high": np.nan, "drop": np.nan, "drop_low": np.nan, "drop_high": np.nan}
        if spaces[i] is None:
            rows.append(row)
            continue
        # A correlation needs three label pairs; the splits of a small profile may share fewer.
        u, v = conventions.distance_vectors(*spaces[i], labels, reading)
        if len(u) >= 3:
            row["similarity"], row["low"], row["high"] = bootstrap_pearson(u, v)
        four = conventions.aligned_vectors([*spaces[0], *spaces[i]], labels, reading) if spaces[0] else None
        if four is not None and len(four[0]) >= 3:
            row["drop"], row["drop_low"], row["drop_high"] = bootstrap_pearson_drop(*four)
        rows.append(row)
    return rows


def trajectory_summary(rows: list[dict]) -> list[dict]:
    """Per task: whether the similarity falls monotonically, where it peaks, and the first epoch at which it lies
    below the original beyond the interval (the drop's interval above 0), if any."""
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task and r["similarity"] == r["similarity"]]
        if not mine:
            out.append({"task": task, "measured snapshots": 0})
            continue
        values = [r["similarity"] for r in mine]
        below = [r["epoch"] for r in mine if r["drop_low"] == r["drop_low"] and r["drop_low"] > 0]
        rises = [r["epoch"] for r in mine if r["drop_high"] == r["drop_high"] and r["drop_high"] < 0]
        peak = mine[int(np.argmax(values))]
        out.append({"task": task, "measured snapshots": len(mine),
                    "monotone fall": bool(all(b <= a for a, b in zip(values, values[1:]))),
                    "peak epoch": peak["epoch"], "peak similarity": peak["similarity"],
                    "first epoch below the original": below[0] if below else None,
                    "first epoch above the original": rises[0] if rises else None,
                    "last similarity": values[-1]})
    return out


def threshold_crossings(params, label: str, similarity: dict, threshold: float = 0.5) -> list[dict]:
    """§4.5 along fine-tuning: for each task and layer of Figure 4's data (``layer_similarity``), the first
    snapshot (and its epoch) at which the layer's similarity to its original falls below ``threshold``; None where
    it never does."""
    rows = []
    for (task, layer), (steps, values) in similarity.items():
        epochs = snapshot_epochs(params, label, finetuned_run(params, label, task))
        below = [i for i, v in enumerate(values) if v == v and v < threshold]
        rows.append({"task": task, "layer": layer, "first snapshot below": below[0] if below else None,
                     "epoch": epochs[below[0]] if below else None, "of epochs": epochs[-1],
                     "final similarity": values[-1]})
    return rows


# --- beyond the paper: baselines, control tasks, chance levels, a second measure (issue 31) ----------------------
# None of these decides a claim of the paper; they say how much a number of the paper's kind means.

RANDOM_WEIGHTS_SEED = 0
CONTROL_SEED = 0


def random_encoder(params, label: str) -> Encoder:
    """The model's architecture and tokenizer with freshly initialised weights (``RANDOM_WEIGHTS_SEED``)."""
    key = (label, params["models"][label], "random weights", RANDOM_WEIGHTS_SEED)
    if key not in _encoders:
        enc = Encoder.random_weights(params["models"][label], seed=RANDOM_WEIGHTS_SEED)
        enc.name = f"{label} (random weights)"
        _encoders[key] = enc
    return _encoders[key]


def random_weights(params, label: str, task: str, layer="last") -> tuple[np.ndarray, np.ndarray]:
    """Train and test representations of the random-weights encoder at one layer."""
    return represent_splits(params, random_encoder(params, label), task, layer)


def control_data(params, task: str) -> tuple[TaskData, TaskData]:
    """The task's control task (Hewitt & Liang, 2019) on the profile's splits: one label per word type (per
    question for TREC), drawn once from the training labels' distribution."""
    from .data import control_task
    return control_task(*task_data(params, task), seed=CONTROL_SEED)


def _labels_linear(X, y) -> bool:
    from itertools import combinations
    from .hulls import hulls_meet
    X, y = drop_conflicting_duplicates(np.asarray(X, np.float64), np.asarray(y).astype(str))
    labels, centroids = label_centroids(X, y)
    # The closest labels first: where two hulls meet, they are most likely among them, and one pair is enough.
    pairs = sorted(combinations(range(len(labels)), 2), key=lambda p: np.linalg.norm(centroids[p[0]] - centroids[p[1]]))
    return not any(hulls_meet(X[y == labels[a]], X[y == labels[b]]) for a, b in pairs)


def labels_linear(params, X, y) -> bool:
    """Whether DirectProbe would find one cluster per label in X, without clustering: exactly when no two labels'
    hulls meet (DirectProbe's last merge state, one cluster per label, is then valid, and it is the answer). A
    space where some do is answered at the first such pair; DirectProbe's clusters of a space far from linear (a
    random-weights encoder's) take hours, as it asks about every merge. Rows repeated under two labels are left out,
    as for DirectProbe (``directprobe``)."""
    with stage("directprobe"):
        return cached("directprobe", "labels_linear_v1", _labels_linear)(np.asarray(X, np.float32),
                                                                         np.asarray(y).astype(str))


def _distance_vectors(params, X, Xt, train: TaskData, test: TaskData, cluster_if_not_linear: bool = True):
    """DirectProbe on both splits (our reading): the training fit and the two distance vectors over the label pairs
    both have, or (fit, None, None) where a split is not linear. With ``cluster_if_not_linear`` False, a training
    set that is not linear (``labels_linear``) is not clustered: (None, None, None)."""
    from .geometry import distance_vector
    if not cluster_if_not_linear and not labels_linear(params, X, train.labels):
        return None, None, None
    dp_train = directprobe(params, X, train.labels)
    if not dp_train.is_linear_:
        return dp_train, None, None
    dp_test = directprobe(params, Xt, test.labels)
    if not dp_test.is_linear_:
        return dp_train, None, None
    common = sorted(set(dp_train.classes_) & set(dp_test.classes_))
    return dp_train, distance_vector(dp_train, common), distance_vector(dp_test, common)


def chance_of(u, v) -> dict:
    """A Pearson similarity beside its chance level: r, the permutation p-value over label pairs and the null's
    95th percentile (``geometry.permutation_null``); NaNs where the similarity is not defined."""
    from .geometry import permutation_null
    if u is None or len(u) < 3 or np.ptp(u) == 0 or np.ptp(v) == 0:
        return {"r": float("nan"), "p_value": float("nan"), "null_95": float("nan")}
    # Cached: 10,000 permutations of DEP's 1,035 label pairs take about a second, and every re-run asks again.
    null = cached("geometry", "permutation_null_v1", permutation_null)(np.asarray(u, float), np.asarray(v, float))
    return {"r": null["r"], "p_value": null["p_value"], "null_95": null["null_95"]}


def baseline_rows(params, label: str, task: str) -> list[dict]:
    """Table 7 beside its baselines, last layer, read our way: for the random-weights encoder, the original and
    the fine-tuned model, the MLP probe's accuracy on the task and on its control task, the selectivity (task
    minus control accuracy, Hewitt & Liang), DirectProbe's #clusters and linearity, the train/test similarity with
    its permutation p-value, and the similarity of the training set's distance vector to the original's (NaN where
    a space is not linear). A random-weights space that is not linear has #clusters None (not clustered)."""
    train, test = task_data(params, task)
    control_train, control_test = control_data(params, task)
    spaces = {"random weights": random_weights(params, label, task), "original": original(params, label, task),
              "fine-tuned": finetuned(params, label, task)}
    # The random encoder's space is only clustered when it is linear (``labels_linear``): Table 7's spaces are, and
    # are clustered for Table 7 anyway.
    vectors = {rep: _distance_vectors(params, X, Xt, train, test, cluster_if_not_linear=rep != "random weights")
               for rep, (X, Xt) in spaces.items()}
    original_fit = vectors["original"][0]
    rows = []
    for rep, (X, Xt) in spaces.items():
        probe = mlp_probe(params, X, train.labels, Xt, test.labels)
        control = mlp_probe(params, X, control_train.labels, Xt, control_test.labels)
        dp_train, u, v = vectors[rep]
        chance = chance_of(u, v)
        # Defined on two linear spaces that share three labels at least (two label pairs).
        to_original = (probe_similarity(dp_train, original_fit)
                       if dp_train is not None and dp_train.is_linear_ and original_fit.is_linear_
                       and len(set(dp_train.classes_) & set(original_fit.classes_)) >= 3 else float("nan"))
        rows.append({"model": label, "task": task, "rep": rep, "acc": 100 * probe["acc_mean"],
                     "control acc": 100 * control["acc_mean"],
                     "selectivity": 100 * (probe["acc_mean"] - control["acc_mean"]),
                     # Not clustered (None): more clusters than labels, how many not computed.
                     "clusters": None if dp_train is None else dp_train.n_clusters_,
                     "labels": len(set(np.asarray(train.labels).tolist()) if dp_train is None else dp_train.classes_),
                     "linear": dp_train is not None and bool(dp_train.is_linear_), "similarity": chance["r"],
                     "similarity p": chance["p_value"], "similarity to original": to_original})
    return rows


def similarity_chance(params, label: str, task: str, seed: int | None = None) -> dict | None:
    """§4.1's train/test similarity before and after fine-tuning (one seed, our reading) with each one's
    permutation p-value; None where it is not defined before and after."""
    train, test = task_data(params, task)
    before = _distance_vectors(params, *original(params, label, task), train, test)
    after = _distance_vectors(params, *finetuned(params, label, task, seed=seed), train, test)
    if before[1] is None or after[1] is None:
        return None
    b, a = chance_of(*before[1:]), chance_of(*after[1:])
    return {"case": f"{label}/{task}", "seed": params["finetune"]["seed"] if seed is None else seed,
            "before": b["r"], "p before": b["p_value"], "after": a["r"], "p after": a["p_value"]}


def layer_cka(params, label: str, layers) -> tuple[dict, list[dict]]:
    """Figure 4's second measure: debiased linear CKA between each stored layer at every snapshot and the same
    layer of the original model, on the training examples ({(task, layer): (steps, values)}), for every task (CKA
    needs no linear space), and the last snapshot's value per task and layer."""
    from .geometry import linear_cka_to
    curves, final = {}, []
    for task in params["tasks"]:
        run = finetuned_run(params, label, task)
        for layer in layers:
            start = snapshot(params, label, task, 0, layer, "train")
            values = linear_cka_to(start, (snapshot(params, label, task, i, layer, "train")
                                           for i in range(len(run.steps))))
            curves[(task, layer)] = (run.steps, values)
            final.append({"task": task, "layer": layer, "final CKA": values[-1]})
    return curves, final


def measures_agree(final_similarity: list[dict], final_cka: list[dict]) -> list[dict]:
    """Per task: do the Pearson of distance vectors and CKA both say that the highest layer moved further from
    its original than the lowest (a lower value at the last snapshot)? None where the Pearson is not measured at
    both layers."""
    rows = []
    for task in dict.fromkeys(r["task"] for r in final_cka):
        cka = {r["layer"]: r["final CKA"] for r in final_cka if r["task"] == task}
        pearson = {r["layer"]: r["final similarity"] for r in final_similarity if r["task"] == task}
        low, high = min(cka), max(cka)
        cka_says = bool(cka[high] < cka[low])
        pearson_says = bool(pearson[high] < pearson[low]) if low in pearson and high in pearson else None
        rows.append({"task": task, "layers": f"{low} vs {high}", "CKA: higher moves more": cka_says,
                     "Pearson: higher moves more": pearson_says,
                     "agree": None if pearson_says is None else cka_says == pearson_says})
    return rows
