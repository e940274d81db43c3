"""Time the MLP probe with the default profile's grid on POS and TREC (original model, last layer).

    python benchmarks/probe_bench.py [--params default] [--tasks pos trec] [--max-iter 1000]

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
args = ap.parse_args()
params = load_params(args.params)
grid = params["probe"]
if args.max_iter:
    grid["max_iter"] = args.max_iter
enc = Encoder.load(next(iter(params["models"].values())))
for task in args.tasks:
    tr, te = load_task(task, "train"), load_task(task, "test")
    X = represent(enc, tr, layers=[enc.n_layers], progress=False)[0]
    Xt = represent(enc, te, layers=[enc.n_layers], progress=False)[0]
    t = time.perf_counter()
    r = probe_accuracy(X, tr.labels.astype(str), Xt, te.labels.astype(str), [tuple(h) for h in grid["hidden_sizes"]],
                       grid["alphas"], grid["seeds"], grid["max_iter"], cache=False)
    print(json.dumps({"task": task, "shape": list(X.shape), "wall_s": round(time.perf_counter() - t, 1),
                      "model": enc.name, "max_iter": grid["max_iter"], "best_hidden": r["best_hidden"],
                      "best_alpha": r["best_alpha"],
                      "acc": f"{100 * r['acc_mean']:.2f} +- {100 * r['acc_std']:.2f}",
                      "epochs_per_seed": r["n_iter"], "grid": r["grid"]}))
