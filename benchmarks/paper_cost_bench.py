"""What the paper profile (params/paper.yaml) would cost: measured on the five BERTs here, projected to the whole run.

    python benchmarks/paper_cost_bench.py [--rows 4000] [--probe-epochs 2] [--gpu-tflops 100] [--gpu-floor-ms 4]
                                          [--threads N]

The five sizes of Table 1 (BERT-tiny to BERT-base) are built from their configurations with random weights (the
embedded model's uncased WordPiece vocabulary, the same 30,522 entries as the Hub's BERTs), so nothing is
downloaded and the cost is the architecture's, whatever the weights. For each size it times, on this machine:

1. fine-tuning: updates of 32 real POS training sentences (AdamW as the profile builds it, the CPU's pieces);
2. extraction: the snapshot forward passes over real sentences, every layer kept, in rows per second;
3. probes: epochs of the paper's whole grid (16 sizes x 8 alphas, batched torch probe) on `--rows` rows of the
   model's width, in seconds per epoch per 1,000 rows.

From them it projects the paper profile: every task's whole training split, 10 epochs (3 for BERT-base), 10
snapshots of the train and test split at every layer, Table 7's probes (original and fine-tuned, last layer: the
grid, then 5 seeds at the chosen setting) run to `--probe-epochs-run` epochs. DirectProbe is not in the projection
(its cost depends on the geometry, not the model: see the README's DirectProbe benchmarks). A GPU's time is
projected from the work's floating-point operations (6 x parameters x tokens for a training step, 2 x for a forward
pass) at an assumed sustained `--gpu-tflops` in bfloat16, with a floor of `--gpu-floor-ms` per update for the
small models, whose kernels are too small to fill a GPU, and its probes from `--gpu-probe-step-ms` per minibatch
step of a batched probe program; all three are assumptions, printed with the result, and a run on a real GPU
replaces them. Prints one JSON line per size and one for the projection. Run it alone on the machine.
"""
import argparse
import json
import os
import shutil
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=4000, help="rows of the synthetic probe data (scaled to the real ones)")
ap.add_argument("--probe-epochs", type=int, default=2, help="probe-grid epochs timed per size")
ap.add_argument("--probe-epochs-run", type=int, default=200,
                help="epochs a probe runs in the projection (the stopping rule's typical length; the paper's cap is 1000)")
ap.add_argument("--updates", type=int, default=3, help="fine-tuning updates timed per size (after one warm-up)")
ap.add_argument("--gpu-tflops", type=float, default=100.0, help="assumed sustained bfloat16 TFLOPS of a GPU")
ap.add_argument("--gpu-floor-ms", type=float, default=20.0,
                help="assumed least time of one GPU fine-tuning update (ms): launch-bound for these small models")
ap.add_argument("--gpu-probe-step-ms", type=float, default=1.0,
                help="assumed time of one minibatch step of one batched probe program on a GPU (ms)")
ap.add_argument("--threads", type=int)
args = ap.parse_args()

# An empty scratch cache: every run is computed, and nothing of the user's cache is touched.
scratch = tempfile.mkdtemp(prefix="papercost-")
os.environ["CLOSERLOOK_CACHE_DIR"] = scratch
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import BertConfig, BertModel  # noqa: E402

from closerlook.data import load_task  # noqa: E402
from closerlook.finetune import FinetuneConfig, finetune  # noqa: E402
from closerlook.params import load_params  # noqa: E402
from closerlook.probes import PAPER_ALPHAS, PAPER_HIDDEN_SIZES, batched_mlp  # noqa: E402
from closerlook.representations import PAPER_MODELS, Encoder  # noqa: E402

if args.threads:
    torch.set_num_threads(args.threads)
SIZES = {"bert-tiny": (2, 128), "bert-mini": (4, 256), "bert-small": (4, 512), "bert-medium": (8, 512),
         "bert-base": (12, 768)}
assert set(SIZES) == set(PAPER_MODELS)
paper = load_params("paper")
tokenizer = Encoder.load("default").tokenizer

# The paper profile's work, counted on the real splits.
work = {}
for task in paper["tasks"]:
    train, test = load_task(task, "train"), load_task(task, "test")
    train_words = sum(len(s) for s in train.sentences)
    work[task] = {"train_sentences": len(train.sentences), "train_rows": len(train), "test_rows": len(test),
                  "train_words": train_words, "words": train_words + sum(len(s) for s in test.sentences)}
pos_train = load_task("pos", "train")
sample_train, sample_test = pos_train.subset(32 * (args.updates + 1)), load_task("pos", "test").subset(64)
tokens_per_word = np.mean([len(tokenizer(s, is_split_into_words=True)["input_ids"]) / max(len(s), 1)
                           for s in pos_train.sentences[:500]])

measured, cpu_hours, gpu_hours = {}, {}, {}
for name, (layers, width) in SIZES.items():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=width, num_hidden_layers=layers,
                        num_attention_heads=max(width // 64, 2), intermediate_size=4 * width)
    encoder = Encoder(name, tokenizer, BertModel(config))
    n_params = sum(p.numel() for p in encoder.model.parameters())
    cfg = FinetuneConfig(epochs=1, snapshots=2, batch_size=32, seed=0)
    run = finetune(encoder, sample_train, sample_test, cfg, cache=False, progress=False)
    timing = run.meta["timing"]
    update_s = timing["update_s"] / run.meta["total_steps"]          # warm-up included: a conservative mean
    rows_per_s = timing["snapshot_rows"] / timing["snapshot_s"]
    X = np.random.default_rng(0).standard_normal((args.rows, width)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 17, args.rows)
    started = time.perf_counter()
    for shape in PAPER_HIDDEN_SIZES:
        batched_mlp(X, y, [shape] * len(PAPER_ALPHAS), PAPER_ALPHAS, [0] * len(PAPER_ALPHAS),
                    max_iter=args.probe_epochs)
    grid_epoch_s_per_krow = (time.perf_counter() - started) / args.probe_epochs / (args.rows / 1000)
    measured[name] = {"layers": layers, "width": width, "parameters": n_params, "update_s": round(update_s, 3),
                      "snapshot_rows_per_s": round(rows_per_s, 1),
                      "probe_grid_epoch_s_per_1000_rows": round(grid_epoch_s_per_krow, 3)}
    print(json.dumps({"size": name, **measured[name]}), flush=True)

    # Projection for this size over the five tasks.
    epochs = paper["finetune"]["epochs"].get(name, paper["finetune"]["epochs"]["default"])
    snapshots = paper["finetune"]["snapshots"]
    seconds = {"fine-tuning": 0.0, "extraction": 0.0, "probes": 0.0}
    gpu_probe_s = 0.0
    flops_train = flops_forward = 0.0
    steps = 0
    for task, w in work.items():
        updates = int(np.ceil(w["train_sentences"] / 32)) * epochs
        steps += updates
        seconds["fine-tuning"] += updates * update_s
        rows = w["train_rows"] + w["test_rows"]
        seconds["extraction"] += snapshots * rows / rows_per_s
        # Table 7: the grid and 5 seeds, on the original and on the fine-tuned model's last layer.
        probe_width = width * (2 if task == "dep" else 1)
        # Per representation: the grid's 128 fits, then 5 seeds of one setting (5/128 of a grid's epoch).
        grid_and_seeds = 1 + 5 / (len(PAPER_ALPHAS) * len(PAPER_HIDDEN_SIZES))
        seconds["probes"] += (2 * grid_and_seeds * args.probe_epochs_run * grid_epoch_s_per_krow
                              * w["train_rows"] / 1000 * probe_width / width)
        # On a GPU a probe program's minibatch step is launch-bound: 16 programs (one per hidden-size pair) for
        # the grid and one for the seeds, each ceil(rows / 200) steps an epoch.
        gpu_probe_s += (2 * (len(PAPER_HIDDEN_SIZES) + 1) * int(np.ceil(w["train_rows"] / 200))
                        * args.probe_epochs_run * args.gpu_probe_step_ms / 1000)
        flops_train += 6 * n_params * w["train_words"] * tokens_per_word * epochs
        flops_forward += 2 * n_params * w["words"] * tokens_per_word * snapshots
    cpu_hours[name] = {k: round(v / 3600, 2) for k, v in seconds.items()}
    gpu_s = max((flops_train + flops_forward) / (args.gpu_tflops * 1e12), steps * args.gpu_floor_ms / 1000)
    gpu_hours[name] = {"fine-tuning and extraction": round(gpu_s / 3600, 3), "probes": round(gpu_probe_s / 3600, 3)}

print(json.dumps({
    "projection": "paper profile, fine-tuning + extraction + Table 7 probes (DirectProbe not included)",
    "machine": {"threads": torch.get_num_threads(), "device": "cpu"},
    "cpu_hours": cpu_hours, "cpu_hours_total": round(sum(sum(v.values()) for v in cpu_hours.values()), 1),
    "gpu_hours": gpu_hours,
    "gpu_hours_total": round(sum(sum(v.values()) for v in gpu_hours.values()), 2),
    "assumptions": {"gpu_tflops_bf16_sustained": args.gpu_tflops, "gpu_step_floor_ms": args.gpu_floor_ms,
                    "probe_epochs_per_fit": args.probe_epochs_run, "tokens_per_word": round(float(tokens_per_word), 3),
                    "gpu_probe_step_ms": args.gpu_probe_step_ms},
    "work": work}), flush=True)
shutil.rmtree(scratch, ignore_errors=True)
