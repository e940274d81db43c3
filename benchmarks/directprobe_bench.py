"""Time DirectProbe (fit, distances, prediction) and its peak memory on the fixtures and a POS-sized input.

    python benchmarks/directprobe_bench.py            # every case, each in a fresh process
    python benchmarks/directprobe_bench.py --case pos-sized

The POS-sized input is the default model's last layer on POS train (16,858 x 384, 17 labels) and test, from the
representations cache (extracted on first use; needs the data, see README).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "directprobe"
PROGRESS = bool(os.environ.get("BENCH_PROGRESS"))
CASES = ["ps-role-minilm-l6", "pos-minilm-l6-pca32", "pos-sized"]


def load(case):
    if case == "pos-sized":
        from closerlook.data import load_task
        from closerlook.representations import Encoder, represent
        enc = Encoder.load("default")
        tr, te = load_task("pos", "train"), load_task("pos", "test")
        return (represent(enc, tr, layers=[enc.n_layers], progress=False)[0], tr.labels.astype(str),
                represent(enc, te, layers=[enc.n_layers], progress=False)[0], te.labels.astype(str), None)
    folder = FIXTURES / case
    X, Xt = np.load(folder / "X_train.npy"), np.load(folder / "X_test.npy")
    y = np.array((folder / "y_train.txt").read_text().splitlines()[:len(X)])
    yt = np.array((folder / "y_test.txt").read_text().splitlines()[:len(Xt)])
    return X, y, Xt, yt, json.loads((folder / "reference.json").read_text())


def warm_up():
    """Seconds to compile the numba kernels (once per install: numba caches them on disk), by a small fit whose
    labels overlap, so that it takes every route (forward pass, hull questions, distances, prediction)."""
    from closerlook.directprobe import DirectProbe
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(200) > 0, "a", "b")
    t = time.perf_counter()
    DirectProbe().fit(X, y).predict(X)
    return time.perf_counter() - t


def run(case):
    from closerlook.directprobe import DirectProbe
    warm_up_s = warm_up()
    X, y, Xt, yt, ref = load(case)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    dp = DirectProbe(rate=ref["rate"] if ref else 0.01, progress=PROGRESS).fit(X, y)
    t1 = time.perf_counter()
    acc = dp.score(Xt, yt)
    t2 = time.perf_counter()
    out = {"case": case, "shape": list(X.shape), "labels": len(set(y)), "clusters": dp.n_clusters_,
           "linear": bool(dp.is_linear_), "acc": round(acc, 4), "cluster_s": round(dp.timings_["cluster_s"], 1),
           "distance_s": round(dp.timings_["distance_s"], 1), "predict_s": round(t2 - t1, 1),
           "total_s": round(t2 - t0, 1),
           **{k: round(v, 1) for k, v in dp.timings_.items() if k not in ("cluster_s", "distance_s")},
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           "rss_before_fit_mb": round(base / 1024), "jit_warm_up_s": round(warm_up_s, 1), **dp.history_}
    if ref:
        out.update(authors_wall_s=ref["wall_s"], speedup=round(ref["wall_s"] / (t2 - t0), 1),
                   authors_clusters=ref["n_clusters"], authors_acc=round(ref["acc"], 4))
    print(json.dumps(out))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=CASES)
    args = ap.parse_args()
    if args.case:
        run(args.case)
    else:
        for case in CASES:
            subprocess.run([sys.executable, __file__, "--case", case], check=True, env=os.environ)
