"""Fine-tuning an encoder on one task, with snapshots of the representations along the way.

Stage 3 of the pipeline. Paper §3.3 and Appendix A: AdamW, learning rate 3e-4, linear schedule with 10% warm-up,
32 sentences a batch, 10 epochs (3 for BERT-base). The head sees the data as the probes do: a word task classifies
the word's vector (mean of its subwords), DEP classifies concat(head word, dependent word), TREC the [CLS] vector;
the loss covers the targets only.

At K evenly spaced update steps (step 0 = the original model, the last = the final model) a snapshot keeps the
representations of the task's train and test examples at the requested layers (float16), the step and the
training loss. Only the final weights are kept whole (safetensors), so that other tasks can be embedded with them
(§4.4). A finished run is found again by its parameters; a run is written to a temporary folder and renamed when
complete, so an interrupted run never loads as complete and a re-run starts it cleanly.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cachekeys import ArrayMemory, CorruptCacheEntry, check_in_manifest, manifest_files, set_aside, write_manifest
from .data import TaskData, cache_dir, load_task
from .representations import Encoder, ModelLoadError, data_fingerprint

# 2: a batch's forward and backward pass go in pieces (pieces_per_batch), which draws other dropout masks than one
# pass over the whole batch (version 1). The key names the pieces, so a run made one way is never read as the other.
CACHE_VERSION = 2


@dataclass
class FinetuneConfig:
    lr: float = 3e-4
    warmup: float = 0.1          # fraction of the update steps
    batch_size: int = 32         # sentences
    epochs: int = 10
    snapshots: int = 6           # K, step 0 and the final step included
    layers: list | None = None   # layers kept in snapshots; None = all
    seed: int = 0
    weight_decay: float = 0.01
    # AdamW's fused kernel where the installed torch has it for the device: one pass over every parameter instead
    # of a loop of small operations (fused_adamw). The same update to float tolerance, not bit for bit, so a run
    # made with it is another cache entry than one made without (_run_key).
    fused: bool = True

    def __post_init__(self):
        if self.snapshots < 2:
            raise ValueError(f"fine-tuning setting snapshots = {self.snapshots}: at least 2 (the original model and "
                             "the final one)")
        for name, ok, allowed in (("epochs", self.epochs >= 1, "at least 1"),
                                  ("batch_size", self.batch_size >= 1, "at least 1"),
                                  ("lr", self.lr > 0, "above 0"), ("warmup", 0 <= self.warmup < 1, "in [0, 1)"),
                                  ("seed", self.seed >= 0, ">= 0")):
            if not ok:
                raise ValueError(f"fine-tuning setting {name} = {getattr(self, name)}: {allowed}")


# The snapshots read last, and the float32 layers taken from them. A chapter reads one snapshot once per stored
# layer, reading and checking the whole file each time (a tenth of a forced chapter 05 went there). Each file is
# keyed by its path, time and size, so a run trained again into the same folder is never read from here. 1.5 GB: at
# 512 MB the float32 layers pushed out the snapshots they come from (a forced default run 109-111 s -> 116-117 s;
# at 1.5 GB 112 s).
_snapshots = ArrayMemory(1536 * 2**20)


class FinetuneRun:
    """A finished fine-tuning run on disk: snapshots, losses, head accuracy, final weights."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if not (self.folder / "COMPLETE").exists():
            raise FileNotFoundError(f"{folder} is not a complete fine-tuning run")
        # Each file is checked against the run's manifest (CHECKSUMS.json) when it is first read in this process.
        check_in_manifest(self.folder, "meta.json")
        try:
            self.meta = json.loads((self.folder / "meta.json").read_text())
        except ValueError as e:
            raise CorruptCacheEntry(self.folder, f"meta.json does not load ({e})") from None

    @property
    def steps(self) -> list[int]:
        return self.meta["snapshot_steps"]

    @property
    def losses(self) -> list[float]:
        return self.meta["snapshot_losses"]

    @property
    def layers(self) -> list[int]:
        return self.meta["layers"]

    @property
    def head_test_accuracy(self) -> float:
        return self.meta["head_test_accuracy"]

    def snapshot(self, i: int, split: str = "train") -> np.ndarray:
        """Representations at snapshot i (0 = original model): (len(layers), examples, width), float16, read-only
        (the last few read are kept in memory: _SnapshotMemory)."""
        name = f"snapshots/{i:03d}.npz"
        key = self._memory_key(name, split)
        if (kept := _snapshots.get(key)) is not None:
            return kept
        check_in_manifest(self.folder, name)
        try:
            with np.load(self.folder / name) as z:
                array = z[split]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise CorruptCacheEntry(self.folder, f"{name} does not load ({type(e).__name__}: {e})") from None
        array.flags.writeable = False
        _snapshots.put(key, array)
        return array

    def snapshot_layer(self, i: int, split: str, k: int) -> np.ndarray:
        """The k-th stored layer of snapshot i as float32, read-only, kept in the same memory as the snapshots:
        while kept it is the same array on every call, so the cached calls on it are named without hashing it
        again (cachekeys._entries)."""
        key = (*self._memory_key(f"snapshots/{i:03d}.npz", split), "float32", k)
        if (kept := _snapshots.get(key)) is not None:
            return kept
        array = self.snapshot(i, split)[k].astype(np.float32)
        array.flags.writeable = False
        _snapshots.put(key, array)
        return array

    def _memory_key(self, name: str, split: str) -> tuple:
        try:
            # The file's time and size name what was read: a run trained again into the same folder is read anew.
            stat = (self.folder / name).stat()
        except OSError as e:
            raise CorruptCacheEntry(self.folder, f"{name} does not load ({type(e).__name__}: {e})") from None
        return (str(self.folder), name, split, stat.st_mtime_ns, stat.st_size)

    @property
    def model_dir(self) -> Path:
        return self.folder / "model"

    def encoder(self, device: str | None = None) -> Encoder:
        for name in manifest_files(self.folder, "model/"):
            check_in_manifest(self.folder, name)
        try:
            enc = Encoder.load(self.model_dir, device=device)
            # Read in the precision it was trained in (a run from before there was a choice: float32).
            enc.precision = self.meta.get("precision", "float32")
        except ModelLoadError as e:
            raise CorruptCacheEntry(self.folder, f"its final weights do not load ({e})") from None
        enc.name = f"{self.meta['model']['name']}+ft-{self.meta['task']}"
        return enc


def _targets_vectors(encoder: Encoder, data: TaskData, batch, rows, tally: dict | None = None):
    """The head's input for the examples `rows` of the sentences `batch`: (n, width) with gradients. `tally`, if
    given, counts the batch's token slots and how many of them are padding."""
    import torch
    sentences = [data.sentences[s] for s in batch]
    enc, word_ids = encoder.encode_batch(sentences)
    if tally is not None:
        mask = enc["attention_mask"]
        tally["tokens"] += int(mask.numel())
        tally["padded_tokens"] += int(mask.numel() - mask.sum())
    enc = {k: v.to(encoder.device) for k, v in enc.items()}
    hidden = encoder.model(**enc).last_hidden_state[None]          # (1, B, T, H)
    position = {s: b for b, s in enumerate(batch)}
    t = data.targets[rows]
    if data.kind == "sentence":
        return hidden[0, [position[s] for s in t[:, 0]], 0]
    words, offsets = encoder.word_vectors(hidden, word_ids, [len(x) for x in sentences])
    start = np.array([offsets[position[s]] for s in t[:, 0]])
    if data.kind == "word":
        return words[0, torch.as_tensor(start + t[:, 1])]
    # A head word heads several dependents: its row is gathered many times. The backward of advanced indexing
    # (index_put_ with accumulate) adds those gradients in a thread-timing-dependent order on CPU, so DEP runs
    # differed in the last bits from run to run (and then in the probe's grid choice); index_select's backward
    # (index_add_) adds them in a fixed order.
    heads, dependents = (torch.index_select(words[0], 0, torch.as_tensor(start + t[:, k], device=words.device))
                         for k in (1, 2))
    return torch.cat([heads, dependents], -1)


@functools.lru_cache(maxsize=None)
def fused_adamw(device_type: str) -> tuple[bool, str]:
    """Whether the installed torch has AdamW's fused kernel for this device, and why not if it has none."""
    import torch
    try:
        w = torch.zeros(2, device=device_type, requires_grad=True)
        w.grad = torch.ones_like(w)
        torch.optim.AdamW([w], fused=True).step()
    except (RuntimeError, ValueError, TypeError) as e:
        return False, f"torch {torch.__version__} has no fused AdamW for {device_type} ({str(e).splitlines()[0]})"
    return True, ""


def optimizer_name(config: FinetuneConfig, device_type: str) -> str:
    """The AdamW a run uses: "adamw-fused" or "adamw" (the loop over parameters, as before there was a choice)."""
    return "adamw-fused" if config.fused and fused_adamw(device_type)[0] else "adamw"


def _run_key(encoder, train, test, config, pieces: int, version: int = CACHE_VERSION) -> str:
    settings = dataclasses.asdict(config)
    del settings["fused"]
    named = {"v": version, "model": encoder.identity(), "task": train.task, "train": data_fingerprint(train),
             "test": data_fingerprint(test), "config": settings}
    if version >= 2:
        named["pieces"] = pieces
    # Named only when fused: a run made with the loop keeps the key it had before there was a choice.
    if optimizer_name(config, encoder.device.type) != "adamw":
        named["optimizer"] = optimizer_name(config, encoder.device.type)
    return hashlib.sha256(json.dumps(named).encode()).hexdigest()[:20]


def _adopt_version_1(root: Path, encoder, train, test, config, pieces: int, final: Path) -> None:
    """A version-1 run (same key without the pieces) made by code that already cut batches into pieces is this
    run: move it in rather than train again. One made in a single pass (its meta.json has no "timing", which came
    with the pieces) is another draw, and stays where it is, unread."""
    old = root / f"{train.task}-{_run_key(encoder, train, test, config, pieces, version=1)}"
    if final.exists() or not (old / "COMPLETE").exists():
        return
    try:
        meta = json.loads((old / "meta.json").read_text())
    except (OSError, ValueError):
        return
    if "timing" in meta and pieces_per_batch(str(meta.get("device", "cpu")).split(":")[0]) == pieces:
        try:
            old.rename(final)
        except OSError:   # another process adopted it first
            pass


def _cached_run(final: Path) -> FinetuneRun | None:
    """The finished run in `final`, or None; a run whose record fails its check is set aside (and trained again)."""
    if not (final / "COMPLETE").exists():
        return None
    try:
        return FinetuneRun(final)
    except FileNotFoundError:       # another process set it aside meanwhile
        return None
    except CorruptCacheEntry as e:
        set_aside(final, e.why)
        return None


def n_updates(train: TaskData, config: FinetuneConfig) -> int:
    """The optimizer steps of a run: batches of whole sentences, every epoch."""
    return int(np.ceil(len(np.unique(train.targets[:, 0])) / config.batch_size)) * config.epochs


def cached_run(encoder: Encoder, train: TaskData, test: TaskData,
               config: FinetuneConfig = FinetuneConfig()) -> FinetuneRun | None:
    """The run ``finetune`` would return, if it is cached already (None: it would train)."""
    key = _run_key(encoder, train, test, config, pieces_per_batch(encoder.device.type))
    return _cached_run(cache_dir() / "finetune" / f"{train.task}-{key}")


def finetune(encoder: Encoder, train: TaskData, test: TaskData, config: FinetuneConfig = FinetuneConfig(),
             cache: bool = True, progress=True) -> FinetuneRun:
    """Fine-tune a copy of `encoder` on `train`; returns the (possibly cached) run. `encoder` itself is untouched.
    ``progress``: True, a bar of its own; False, none; a tqdm bar, advanced by one per update (a bar over several
    runs, ``experiments.finetune_all``).

    Two processes asking for the same run share one: the first trains it under a file lock, the second waits for
    the lock and then finds the run complete. Temporary folders left by a process that died are removed once the
    lock is held (no live process can be writing them then).
    """
    from filelock import FileLock

    if train.task != test.task:
        raise ValueError(f"train and test are different tasks: {train.task} and {test.task}")
    pieces = pieces_per_batch(encoder.device.type)
    key = _run_key(encoder, train, test, config, pieces)
    root = cache_dir() / "finetune"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{train.task}-{key}"
    if cache and (run := _cached_run(final)) is not None:
        return run
    with FileLock(str(root / f"{train.task}-{key}.lock")):
        if cache:
            _adopt_version_1(root, encoder, train, test, config, pieces, final)
        if cache and (run := _cached_run(final)) is not None:   # another process finished it (or adopted it)
            return run
        for stale in root.glob(f"{train.task}-{key}.tmp*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f"{train.task}-{key}.tmp{os.getpid()}"
        (tmp / "snapshots").mkdir(parents=True)
        started = time.perf_counter()
        state = _setup(encoder, train, config)
        snapshot_steps, snapshot_losses = _train(state, train, test, config, tmp, progress)
        accuracy, unseen = _head_accuracy(state, test)
        meta = {"task": train.task, "model": {"name": encoder.name, **encoder.identity()},
                "config": dataclasses.asdict(config), "layers": state.layers, "labels": state.label_set,
                "total_steps": state.total, "snapshot_steps": snapshot_steps, "snapshot_losses": snapshot_losses,
                "final_loss": snapshot_losses[-1], "head_test_accuracy": accuracy,
                "test_labels_unseen_in_train": unseen, "wall_s": time.perf_counter() - started,
                "timing": state.timing, "pieces": pieces, "device": str(state.work.device),
                "precision": state.work.precision, "optimizer": optimizer_name(config, state.work.device.type)}
        fused, why_not = fused_adamw(state.work.device.type)
        if config.fused and not fused:
            meta["optimizer_note"] = why_not
        _save(state, meta, tmp, final)
    return FinetuneRun(final)


@dataclass
class _State:
    """What a fine-tuning run works on: a copy of the encoder, the head, the optimiser and the schedule."""
    work: Encoder
    head: object
    optimizer: object
    scheduler: object
    layers: list
    label_set: list
    label_index: dict
    sentences: np.ndarray
    rows_of: dict
    per_epoch: int
    total: int
    rng: np.random.Generator
    timing: dict = dataclasses.field(default_factory=dict)


def _setup(encoder: Encoder, train: TaskData, config: FinetuneConfig) -> _State:
    import copy

    import torch
    from transformers import get_linear_schedule_with_warmup

    layers = list(range(encoder.n_layers + 1)) if config.layers is None else list(config.layers)
    label_set = train.label_set
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    work = Encoder(encoder.name, encoder.tokenizer, copy.deepcopy(encoder.model), str(encoder.device),
                   encoder.precision)
    width = work.hidden_size * (2 if train.kind == "pair" else 1)
    head = torch.nn.Linear(width, len(label_set)).to(work.device)
    optimizer = torch.optim.AdamW(list(work.model.parameters()) + list(head.parameters()), lr=config.lr,
                                  weight_decay=config.weight_decay,
                                  fused=optimizer_name(config, work.device.type) == "adamw-fused")
    sentences = np.unique(train.targets[:, 0])
    rows_of: dict = {}
    for r, s in enumerate(train.targets[:, 0]):
        rows_of.setdefault(int(s), []).append(r)
    per_epoch = int(np.ceil(len(sentences) / config.batch_size))
    total = per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total), total)
    return _State(work, head, optimizer, scheduler, layers, label_set, {l: i for i, l in enumerate(label_set)},
                  sentences, rows_of, per_epoch, total, rng)


def _train(state: _State, train: TaskData, test: TaskData, config: FinetuneConfig, tmp: Path,
           progress) -> tuple[list, list]:
    """The update loop; a snapshot of the train and test representations at each of K evenly spaced steps."""
    import torch
    from .progress import tqdm

    work, y_train = state.work, np.array([state.label_index[l] for l in train.labels])
    snapshot_steps = sorted(set(np.linspace(0, state.total, config.snapshots).round().astype(int).tolist()))
    use_bf16 = work.device.type == "cuda" or work.precision == "bfloat16"
    pieces = pieces_per_batch(work.device.type)
    losses: list = []
    # Where the time goes (kept in the run's meta.json, read by benchmarks/finetune_bench.py): updates vs snapshots,
    # and the share of the tokens in the update batches that are padding.
    timing = state.timing
    timing.update(update_s=0.0, snapshot_s=0.0, snapshot_rows=0, tokens=0, padded_tokens=0)

    def take_snapshot(i, loss):
        started = time.perf_counter()
        work.model.eval()
        np.savez(tmp / "snapshots" / f"{i:03d}.npz",
                 train=work.embed(train, state.layers, progress=False).astype(np.float16),
                 test=work.embed(test, state.layers, progress=False).astype(np.float16))
        work.model.train()
        losses.append(loss)
        timing["snapshot_s"] += time.perf_counter() - started
        timing["snapshot_rows"] += len(train) + len(test)
        if hasattr(bar, "snapshot"):      # a bar over several runs (progress.RunsBar) times snapshots apart
            bar.snapshot(len(train) + len(test))

    shared = hasattr(progress, "update")
    bar = progress if shared else tqdm(total=state.total, desc=f"fine-tune {work.name} on {train.task}",
                                       disable=not progress)
    take_snapshot(0, None)
    work.model.train()
    step, recent = 0, []
    for epoch in range(config.epochs):
        order = state.rng.permutation(state.sentences)
        for b in range(state.per_epoch):
            batch = order[b * config.batch_size:(b + 1) * config.batch_size].tolist()
            started = time.perf_counter()
            state.optimizer.zero_grad()
            loss = _batch_backward(state, train, y_train, batch, pieces, use_bf16, timing)
            state.optimizer.step()
            state.scheduler.step()
            step += 1
            recent.append(loss)
            timing["update_s"] += time.perf_counter() - started
            bar.update()
            bar.set_postfix(loss=f"{np.mean(recent[-20:]):.3f}")
            if step in snapshot_steps:
                take_snapshot(snapshot_steps.index(step), float(np.mean(recent[-state.per_epoch:])))
    if not shared:
        bar.close()
    return snapshot_steps, losses


def pieces_per_batch(device_type: str) -> int:
    """Length-sorted pieces a batch is cut into for its forward and backward pass. A batch of 32 random sentences
    is padded to its longest one: 47% of its token slots are padding on PUD, 59% on STREUSLE, 48% on TREC (three
    epochs of the full profile's batches). On a CPU the cost grows with the slots, so 4 pieces of similar lengths
    (37-47% fewer slots) pay; a GPU is faster with one wide batch."""
    return 1 if device_type == "cuda" else 4


def _batch_backward(state: _State, train: TaskData, y_train: np.ndarray, batch: list, pieces: int, use_bf16: bool,
                    tally: dict | None = None) -> float:
    """Gradient of the mean loss over the batch's examples, accumulated over `pieces` groups of its sentences
    sorted by length, each padded only to its own longest sentence. The update is the batch's (same sentences, same
    mean over its examples, same step); only the float summation order and the dropout draws differ from one pass
    over the whole batch. Returns the batch's loss."""
    import torch

    work = state.work
    by_length = sorted(batch, key=lambda s: len(train.sentences[s]))
    n_rows = sum(len(state.rows_of[s]) for s in batch)
    total = 0.0
    for piece in np.array_split(np.array(by_length), min(pieces, len(batch))):
        piece = piece.tolist()
        rows = [r for s in piece for r in state.rows_of[s]]
        with torch.autocast(device_type=work.device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = state.head(_targets_vectors(work, train, piece, rows, tally))
            loss = torch.nn.functional.cross_entropy(logits.float(),
                                                     torch.as_tensor(y_train[rows], device=work.device))
        (loss * (len(rows) / n_rows)).backward()
        total += loss.item() * len(rows) / n_rows
    return total


def _head_accuracy(state: _State, test: TaskData) -> tuple[float, int]:
    """The fine-tuned head's accuracy on the test set, and how many test labels the training set never had."""
    import torch

    state.work.model.eval()
    known = np.array([l in state.label_index for l in test.labels])
    y_test = np.array([state.label_index.get(l, -1) for l in test.labels])
    correct = 0
    with torch.no_grad():
        test_sentences = np.unique(test.targets[:, 0])
        test_rows: dict = {}
        for r, s in enumerate(test.targets[:, 0]):
            test_rows.setdefault(int(s), []).append(r)
        for b in range(0, len(test_sentences), 64):
            batch = test_sentences[b:b + 64].tolist()
            rows = [r for s in batch for r in test_rows[s]]
            pred = state.head(_targets_vectors(state.work, test, batch, rows).float()).argmax(-1).cpu().numpy()
            correct += int((pred == y_test[rows]).sum())
    return correct / len(test), int((~known).sum())


def _save(state: _State, meta: dict, tmp: Path, final: Path) -> None:
    """The final weights and the run's record, then one rename: the run appears complete or not at all."""
    from .representations import _quietly
    # transformers 5 shows a "Writing model shards" bar for every save: a notebook showed one per run.
    _quietly(state.work.model.save_pretrained, tmp / "model", safe_serialization=True)
    state.work.tokenizer.save_pretrained(tmp / "model")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    write_manifest(tmp)          # the digest of every file, checked when each is read
    (tmp / "COMPLETE").write_text("ok\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def finetune_task(model: str | Encoder, task: str, config: FinetuneConfig = FinetuneConfig(), data_dir=None,
                  **kwargs) -> FinetuneRun:
    """Fine-tune `model` (name or Encoder) on `task`'s train split."""
    encoder = model if isinstance(model, Encoder) else Encoder.load(model)
    return finetune(encoder, load_task(task, "train", data_dir), load_task(task, "test", data_dir), config, **kwargs)


def main(argv=None) -> int:
    """``python -m closerlook.finetune --task pos``: fine-tune and report the run (cached)."""
    import argparse
    import sys

    from .data import TASKS, DataError
    from .representations import DEFAULT_MODEL, PAPER_MODELS, ModelLoadError
    ap = argparse.ArgumentParser(prog="python -m closerlook.finetune",
                                 description="Fine-tune a model on tasks, keeping snapshots of the representations "
                                             "along the way; prints one JSON line per task. Runs are cached.",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--model", default="default",
                    help=f"the embedded {DEFAULT_MODEL} ('default'), one of {', '.join(PAPER_MODELS)}, a Hub id or "
                         "a local model folder")
    ap.add_argument("--task", required=True, nargs="+", choices=TASKS, metavar="TASK",
                    help=f"one or more of {', '.join(TASKS)}")
    ap.add_argument("--epochs", type=int, default=FinetuneConfig.epochs, help="passes over the training set")
    ap.add_argument("--snapshots", type=int, default=FinetuneConfig.snapshots,
                    help="snapshots kept, the original model and the final one included (>= 2)")
    ap.add_argument("--lr", type=float, default=FinetuneConfig.lr, help="AdamW learning rate")
    ap.add_argument("--warmup", type=float, default=FinetuneConfig.warmup,
                    help="fraction of the updates with a rising learning rate")
    ap.add_argument("--batch-size", type=int, default=FinetuneConfig.batch_size, help="sentences per update")
    ap.add_argument("--seed", type=int, default=FinetuneConfig.seed, help="seed of the head and the batch order")
    ap.add_argument("--data-dir", help="a mirror folder of the upstream data (else CLOSERLOOK_DATA_DIR, else download)")
    args = ap.parse_args(argv)
    try:
        # Settings first, then the data, then the model: a mistake is reported before anything slow runs.
        config = FinetuneConfig(lr=args.lr, warmup=args.warmup, batch_size=args.batch_size, epochs=args.epochs,
                                snapshots=args.snapshots, seed=args.seed)
        data = {task: (load_task(task, "train", args.data_dir), load_task(task, "test", args.data_dir))
                for task in args.task}
        encoder = Encoder.load(args.model)
        for task, (train, test) in data.items():
            run = finetune(encoder, train, test, config)
            size = sum(f.stat().st_size for f in (run.folder / "snapshots").iterdir())
            print(json.dumps({"task": task, "wall_s": round(run.meta["wall_s"], 1), "steps": run.meta["total_steps"],
                              "final_loss": round(run.meta["final_loss"], 4),
                              "head_test_accuracy": round(run.head_test_accuracy, 4),
                              "snapshot_mb": round(size / 2 ** 20, 1), "folder": str(run.folder)}))
    except (DataError, ModelLoadError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
