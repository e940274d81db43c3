"""Time the MLP probe with the default profile's grid on POS and TREC (original model, last layer).

    python benchmarks/probe_bench.py [--params default] [--tasks pos trec] [--max-iter 1000]
                                     [--backend sklearn torch] [--precision float32 bfloat16] [--threads 2]
                                     [--paper-grid-epochs 3]

Each backend in turn (scikit-learn's MLPClassifier one fit at a time, the batched torch probe), same grid, same
seeds. --paper-grid-epochs N also times N epochs of the paper's whole grid (16 sizes x 8 alphas) with the torch
probe on each task, and prints the time per epoch (the run's length is that times the epochs the stopping rule
lets it run: up to max_iter).

The profile's `probe` grid (hidden sizes x alphas, seeds, max_iter) on the whole training and test sets, with the
profile's first model. Representations come from the cache (extracted on first use).
"""
import argparse
import json
import time

from closerlook.data import load_task
from closerlook.params import load_params
from closerlook.probes import probe_accuracy
from closerlook.representations import Encoder, represent

ap = argparse.ArgumentParser()
ap.add_argument("--params", default="default")
ap.add_argument("--tasks", nargs="+", default=["pos", "trec"])
ap.add_argument("--max-iter", type=int, help="override the profile's max_iter (the paper: 1000)")
ap.add_argument("--backend", nargs="+", default=["sklearn", "torch"], choices=["sklearn", "torch"])
ap.add_argument("--precision", nargs="+", default=["float32"], choices=["float32", "bfloat16"],
                help="the torch probe's matrix products (each in turn)")
ap.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
ap.add_argument("--paper-grid-epochs", type=int, default=0)
args = ap.parse_args()
if args.threads:
    import torch
    torch.set_num_threads(args.threads)
params = load_params(args.params)
grid = params["probe"]
if args.max_iter:
    grid["max_iter"] = args.max_iter
enc = Encoder.load(next(iter(params["models"].values())))
for task in args.tasks:
    tr, te = load_task(task, "train"), load_task(task, "test")
    X = represent(enc, tr, layers=[enc.n_layers], progress=False)[0]
    Xt = represent(enc, te, layers=[enc.n_layers], progress=False)[0]
    for backend, precision in [(b, p) for b in args.backend for p in (args.precision if b == "torch" else ["float32"])]:
        t = time.perf_counter()
        r = probe_accuracy(X, tr.labels.astype(str), Xt, te.labels.astype(str), [tuple(h) for h in grid["hidden_sizes"]],
                           grid["alphas"], grid["seeds"], grid["max_iter"], cache=False, backend=backend,
                           precision=precision)
        print(json.dumps({"task": task, "backend": backend, "precision": precision, "shape": list(X.shape),
                          "wall_s": round(time.perf_counter() - t, 1), "model": enc.name, "max_iter": grid["max_iter"],
                          "best_hidden": r["best_hidden"], "best_alpha": r["best_alpha"],
                          "acc": f"{100 * r['acc_mean']:.2f} +- {100 * r['acc_std']:.2f}",
                          "accs": [round(100 * a, 2) for a in r["accs"]],
                          "epochs_per_seed": r["n_iter"], "grid": r["grid"]}), flush=True)
    if args.paper_grid_epochs:
        from closerlook.probes import PAPER_ALPHAS, PAPER_HIDDEN_SIZES, batched_mlp
        t = time.perf_counter()
        for shape in PAPER_HIDDEN_SIZES:      # one batched program per shape, 8 alphas each, as MLPProbe runs it
            batched_mlp(X, tr.labels.astype(str), [shape] * len(PAPER_ALPHAS), PAPER_ALPHAS, [0] * len(PAPER_ALPHAS),
                        max_iter=args.paper_grid_epochs)
        per_epoch = (time.perf_counter() - t) / args.paper_grid_epochs
        print(json.dumps({"task": task, "paper_grid": "16 sizes x 8 alphas, torch", "epochs": args.paper_grid_epochs,
                          "s_per_epoch": round(per_epoch, 1),
                          "hours_at_100_epochs": round(100 * per_epoch / 3600, 2),
                          "hours_at_1000_epochs": round(1000 * per_epoch / 3600, 2)}), flush=True)
