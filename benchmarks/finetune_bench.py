"""Time one fine-tuning run: updates per second and snapshot rows extracted per second.

    python benchmarks/finetune_bench.py [--params default] [--task ps-fxn] [--epochs 1] [--snapshots 3]
                                        [--max-train-sentences N] [--threads N]

The run is the profile's fine-tuning of the task (its data, learning rate, batch size, seed), with the epochs and
snapshots given here, in an empty scratch cache, so it is always computed. The snapshot time is measured around
every call of `Encoder.embed` (the forward passes over train and test that make a snapshot), so the script gives
the same figures for code from before the run kept its own timing: point PYTHONPATH at another checkout's lib/ to
compare two versions. Prints one JSON line. Run it alone on the machine: a second heavy process makes the timing
meaningless.
"""
import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--params", default="default")
ap.add_argument("--task", default="ps-fxn")
ap.add_argument("--epochs", type=int, default=1)
ap.add_argument("--snapshots", type=int, default=3)
ap.add_argument("--max-train-sentences", type=int, help="override the profile's training subset")
ap.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
args = ap.parse_args()

import torch  # noqa: E402

import closerlook  # noqa: E402
from closerlook import experiments as ex  # noqa: E402
from closerlook.data import cache_dir  # noqa: E402
from closerlook.finetune import finetune  # noqa: E402
from closerlook.params import load_params  # noqa: E402
from closerlook.representations import Encoder  # noqa: E402

if args.threads:
    torch.set_num_threads(args.threads)
params = load_params(args.params)
if args.max_train_sentences:
    params.setdefault("data", {}).setdefault("max_train_sentences", {})[args.task] = args.max_train_sentences
train, test = ex.task_data(params, args.task)
label = params["dynamics_model"]
encoder = ex.encoder(params, label)
# The profile's main run (its learning rate, batch size, seed and stored layers), shortened.
config = dataclasses.replace(ex.finetune_config(params, label), epochs=args.epochs, snapshots=args.snapshots)

embed_s, embed_rows = 0.0, 0
plain_embed = Encoder.embed


def timed_embed(self, data, *a, **k):
    global embed_s, embed_rows
    t = time.perf_counter()
    out = plain_embed(self, data, *a, **k)
    embed_s += time.perf_counter() - t
    embed_rows += len(data)
    return out


Encoder.embed = timed_embed
real = cache_dir()
scratch = Path(tempfile.mkdtemp(prefix="ftbench-"))
if (real / "data").exists():
    (scratch / "data").symlink_to(real / "data")
os.environ["CLOSERLOOK_CACHE_DIR"] = str(scratch)
try:
    t = time.perf_counter()
    run = finetune(encoder, train, test, config, progress=False)
    wall = time.perf_counter() - t
finally:
    shutil.rmtree(scratch, ignore_errors=True)
steps = run.meta["total_steps"]
timing = run.meta.get("timing", {})
update_s = timing.get("update_s", wall - embed_s)
print(json.dumps({
    "code": str(Path(closerlook.__file__).parent), "task": args.task, "params": args.params,
    "train_sentences": len(set(train.targets[:, 0].tolist())), "train_rows": len(train), "test_rows": len(test),
    "layers": config.layers, "epochs": args.epochs, "snapshots": args.snapshots, "threads": torch.get_num_threads(),
    "wall_s": round(wall, 1),
    "updates": steps, "update_s": round(update_s, 1), "updates_per_s": round(steps / update_s, 2),
    "snapshot_rows": embed_rows, "snapshot_s": round(embed_s, 1), "rows_per_s": round(embed_rows / embed_s, 1),
    "padding_share": (round(timing["padded_tokens"] / timing["tokens"], 3) if timing.get("tokens") else None),
    "head_test_accuracy": round(run.head_test_accuracy, 4)}))
