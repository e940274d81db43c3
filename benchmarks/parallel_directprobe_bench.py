"""Time independent DirectProbe fits one after the other and across worker processes (``fit_directprobes_ahead``).

    python benchmarks/parallel_directprobe_bench.py [--params default] [--task ps-fxn] [--layer last]
                                                    [--snapshots 4] [--jobs 2]

The fits are the training-set DirectProbes of the first N snapshots of the profile's main fine-tuning run of one
task (the run comes from the cache; fine-tuned first if it is not there). Each way starts from an empty DirectProbe
cache (a temporary folder beside links to the real fine-tuning and representation caches), so both fit everything.
Run it alone on the machine: a second heavy process makes the timing meaningless.
"""
import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--params", default="default")
ap.add_argument("--task", default="ps-fxn")
ap.add_argument("--layer", default="last")
ap.add_argument("--snapshots", type=int, default=4)
ap.add_argument("--jobs", type=int, default=2)
args = ap.parse_args()

from closerlook import experiments as ex
from closerlook.data import cache_dir
from closerlook.params import load_params

params = load_params(args.params)
label = params["dynamics_model"]
layer = args.layer if args.layer == "last" else int(args.layer)
real = cache_dir()
run = ex.finetuned_run(params, label, args.task)          # before the cache moves: fine-tune here if needed
fits = [(args.task, i, layer, None, "train") for i in range(min(args.snapshots, len(run.steps)))]
print(f"{len(fits)} DirectProbe fits: {args.params} profile, {args.task}, layer {args.layer}, "
      f"{ex.snapshot(params, label, args.task, 0, layer).shape[0]:,} rows each")

for way in ("one after the other", f"{args.jobs} worker processes"):
    scratch = Path(tempfile.mkdtemp(prefix="dpbench-"))
    for part in ("finetune", "representations", "data"):
        if (real / part).exists():
            (scratch / part).symlink_to(real / part)
    os.environ["CLOSERLOOK_CACHE_DIR"] = str(scratch)
    t = time.perf_counter()
    if way == "one after the other":
        for task, i, lay, _, _ in fits:
            ex.snapshot_directprobe(params, label, task, i, lay)
    else:
        params["directprobe"]["n_jobs"] = args.jobs
        assert ex.fit_directprobes_ahead(params, label, fits) == len(fits)
        for task, i, lay, _, _ in fits:              # the reads that follow, as in a notebook
            ex.snapshot_directprobe(params, label, task, i, lay)
    print(f"{way}: {time.perf_counter() - t:.1f} s")
    shutil.rmtree(scratch)
