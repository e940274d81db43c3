"""Time `python run_all.py` on a profile cold (empty cache) and warm (everything cached), stage by stage.

    python benchmarks/run_all_bench.py [--params default] [--code PATH] [--keep]

--code runs another checkout's run_all.py and lib/ (e.g. a worktree of the commit before a change), so that two
versions are timed the same way, one right after the other. Each version gets an empty scratch cache (the data come
from CLOSERLOOK_DATA_DIR, else its download cache) and scratch output folders, so nothing of the repository's
results or of the user's cache is touched or used. Runs, in order:

1. cold: every notebook executed, every block computed;
2. warm: executed again (`--force` where the version has it), every block read from the cache;
3. up to date (versions that have it): run_all.py as a user types it again, nothing changed.

Prints each run's wall time, peak memory (of its largest process: run_all, a notebook's kernel or a worker), the time of
each notebook and the stage breakdown that run_all.py prints. Run it alone on the machine.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--params", default="default")
ap.add_argument("--code", default=str(Path(__file__).resolve().parents[1]), help="checkout whose run_all.py to time")
ap.add_argument("--keep", action="store_true", help="keep the scratch folder (its path is printed)")
args = ap.parse_args()

code = Path(args.code).resolve()
scratch = Path(tempfile.mkdtemp(prefix="runallbench-"))
env = dict(os.environ, CLOSERLOOK_CACHE_DIR=str(scratch / "cache"), PYTHONPATH=str(code / "lib"), HF_HUB_OFFLINE="1",
           TOKENIZERS_PARALLELISM="false")
usage = subprocess.run([sys.executable, "run_all.py", "--help"], cwd=code, env=env, capture_output=True,
                       text=True).stdout
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True,
                        text=True).stdout.strip()
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=code, capture_output=True,
                       text=True).stdout.strip()
print(f"code {code} at {commit}{' (with uncommitted changes)' if dirty else ''}; profile {args.params}; "
      f"scratch {scratch}", flush=True)

runs = [("cold", [])] + [("warm", ["--force"] if "--force" in usage else [])]
if "--force" in usage:
    runs.append(("up to date", []))
try:
    for name, extra in runs:
        cmd = [sys.executable, "run_all.py", "--params", args.params, "--out",
               str(scratch / "results" / Path(args.params).stem),     # a profile's file names it
               "--figures", str(scratch / "figures"), *extra]
        # GNU time: the peak resident memory of the largest process of the run (run_all, a kernel or a worker).
        t = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(scratch / "maxrss"), *cmd], cwd=code, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t
        peak_kb = int((scratch / "maxrss").read_text().split()[-1])
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"{name} run failed ({proc.returncode})")
        notebooks, stages, outside = {}, defaultdict(float), {}
        for line in proc.stdout.splitlines():
            m = re.match(r"(\d\d_\w+)\s+(ok|up to date)\s+([\d.]+)s\s+\d+ / +\d+ / +\d+\s*(.*)", line)
            if m:
                notebooks[m.group(1)] = outside[m.group(1)] = float(m.group(3))
                for part in filter(None, (p.strip() for p in m.group(4).split(","))):
                    stage, secs = part.rsplit(" ", 1)
                    stages[stage] += float(secs)
                    outside[m.group(1)] -= float(secs)
        inside = sum(stages.values())
        print(f"\n{name}: {wall:.1f} s wall, peak memory {peak_kb / 2**20:.2f} GB (its largest process); "
              f"notebooks {sum(notebooks.values()):.1f} s")
        print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(stages.items(), key=lambda kv: -kv[1]))
              + f"; outside the stages (kernels, imports, tables, figures) {sum(notebooks.values()) - inside:.1f} s")
        print("  notebooks: " + ", ".join(f"{k} {v:.1f}" for k, v in notebooks.items()))
        print("  outside the stages, per notebook: " + ", ".join(f"{k} {v:.1f}" for k, v in outside.items()))
finally:
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
