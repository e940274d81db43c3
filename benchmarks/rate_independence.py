"""Do DirectProbe's fits at two rates agree on a profile's real spaces? (convention 5 of the authors' reading)

    python benchmarks/rate_independence.py [--params default] [--rates 0.01 0.05]

Reads the cache (CLOSERLOOK_CACHE_DIR) of a run of the profile and fits nothing: for every stored snapshot of every
task (snapshot 0 is the original model as the run stored it; every stored layer, both splits, every fine-tuning
seed) where a fit at both rates is cached, it compares the clusters (labels_), their number and the distances
between them, and prints how many agree.
A run made before the authors' reading shared the profile's fits (experiments.directprobe) holds both.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from closerlook import experiments as ex, hulls   # noqa: E402
from closerlook.params import load_params  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--params", default="default")
ap.add_argument("--rates", nargs=2, type=float, default=[0.01, 0.05])
args = ap.parse_args()
params = load_params(args.params)

def compare(fit, X, y) -> tuple[bool, bool, float] | None:
    """(same clusters, same distances within the hull solver's tolerance, largest distance gap), or None where
    the space is not cached at both rates. Hull distances are certified to the solver's tolerance, not to the bit."""
    entries = [fit._entry((X, y, r)) for r in args.rates]
    if not all((e / "output.pkl").exists() for e in entries):
        return None
    a, b = (fit._read(e)[0] for e in entries)
    if not (a.n_clusters_ == b.n_clusters_ and np.array_equal(a.labels_, b.labels_)):
        return False, False, float("nan")
    gap = float(np.abs(a.cluster_distances_ - b.cluster_distances_).max())
    return True, bool(np.allclose(a.cluster_distances_, b.cluster_distances_, rtol=hulls.DISTANCE_RTOL,
                                  atol=hulls.DISTANCE_ATOL)), gap


both = agree = 0
largest = 0.0     # the largest gap between two fits' cluster distances where the clusters agree
moved = []
for label in params["models"]:
    for task in params["tasks"]:
        for seed in ex.fine_tuning_seeds(params):
            run = ex.finetuned_run(params, label, task, seed, progress=False)
            for i in range(len(run.steps)):
                for layer in run.layers:
                    for split in ("train", "test"):
                        fit, (X, y, _) = ex._snapshot_call(params, label, task, i, layer, seed, split)
                        if (found := compare(fit, X, y)) is None:
                            continue
                        same_clusters, same, gap = found
                        both, agree = both + 1, agree + same
                        largest = max(largest, gap) if same_clusters else largest
                        if not same:
                            moved.append(f"{task} seed {seed} snapshot {i} layer {layer} {split}: "
                                         f"{'same' if same_clusters else 'other'} clusters, largest distance gap "
                                         f"{gap:.3g}")
print(f"profile {params['name']}: {both} spaces fitted at both rates {args.rates}; {agree} with the same clusters "
      f"and distances (within the hull solver's tolerance; largest gap {largest:.3g})")
for line in moved:
    print("  differs:", line)
