"""Do two runs of a profile decide the same? Compare their key numbers: decisions first, then how far numbers moved.

    python benchmarks/compare_runs.py RESULTS_A RESULTS_B [--top 8]

RESULTS_* are run folders (results/<profile> as run_all.py writes them). Decisions are the key numbers that are
counts or verdicts: every case's number of clusters and of labels (so its linearity), every claim's verdict under
each reading, a probe's chosen hidden size, the label counts of §4.3. They must be equal; each one that differs is
printed. Then, per record (e.g. 01_divergence/table7), how many numbers moved beyond 1e-4 relative and the largest
moves, and the moves measured against the run's own uncertainty where it records one:

- a probe accuracy (Table 7, baselines) against the standard deviation over its 5 probe seeds;
- a similarity or a layer similarity against its bootstrap interval (half its width).

Used for the check that a change of precision or optimizer (issue 30) keeps what the analysis decides.
"""
import argparse
import re
from collections import defaultdict
from pathlib import Path

from closerlook.provenance import key_numbers

ap = argparse.ArgumentParser()
ap.add_argument("a", type=Path)
ap.add_argument("b", type=Path)
ap.add_argument("--top", type=int, default=8)
args = ap.parse_args()

a, b = key_numbers(args.a), key_numbers(args.b)
# 06_reproduction's ledger depends on which other profiles have results beside the run.
a = {k: v for k, v in a.items() if not k.startswith("06_reproduction")}
b = {k: v for k, v in b.items() if not k.startswith("06_reproduction")}
DECISION = re.compile(r"(/clusters$|/labels$|/verdict$|/claims/[^/]+$|/best_size/\d+$|/best_hidden|/grew$|/shrank$|"
                      r"/dipped along the way$|labels grown$|/linear$)")
only = sorted(set(a) ^ set(b))
decisions = sorted(k for k in set(a) & set(b) if DECISION.search(k))
differ = [k for k in decisions if a[k] != b[k]]
print(f"{len(a)} and {len(b)} key numbers; {len(only)} in one run only; {len(decisions)} decisions, "
      f"{len(differ)} differ")
for k in differ:
    print(f"  DECISION {k}: {a[k]} -> {b[k]}")
for k in only[:10]:
    print(f"  only in {'A' if k in a else 'B'}: {k}")


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


moves = defaultdict(list)
for k in sorted(set(a) & set(b)):
    if k in decisions or not (number(a[k]) and number(b[k])):
        continue
    d = b[k] - a[k]
    if abs(d) > 1e-4 * max(abs(a[k]), abs(b[k]), 1e-12) and abs(d) > 1e-5:
        moves["/".join(k.split("/")[:2])].append((abs(d), k, a[k], b[k]))
print("\nmoved numbers by record (beyond 1e-4 relative and 1e-5 absolute):")
for record, ms in sorted(moves.items()):
    ms.sort(reverse=True)
    print(f"  {record}: {len(ms)} moved; largest " +
          ", ".join(f"{k.split('/', 2)[2]} {x:.4g}->{y:.4g}" for _, k, x, y in ms[:args.top]))

print("\nagainst the run's own uncertainty:")
ratios = []
for k in sorted(set(a) & set(b)):
    if k.endswith("/acc") and k[:-4] + "/std" in a and number(a[k]) and number(b[k]):
        spread = max(a[k[:-4] + "/std"], b[k[:-4] + "/std"], 1e-9)
        ratios.append(("accuracy / seed std", abs(b[k] - a[k]) / spread, k, a[k], b[k]))
    for suffix, kind in (("/final similarity", "layer similarity / half interval"),
                         ("/drop", "similarity drop / half interval")):
        base = k[:-len(suffix)]
        if k.endswith(suffix) and base + "/low" in a and base + "/high" in a:
            half = max((a[base + "/high"] - a[base + "/low"]) / 2, 1e-9)
            ratios.append((kind, abs(b[k] - a[k]) / half, k, a[k], b[k]))
by_kind = defaultdict(list)
for kind, r, k, x, y in ratios:
    by_kind[kind].append((r, k, x, y))
for kind, rs in by_kind.items():
    rs.sort(reverse=True)
    within = sum(r <= 1 for r, *_ in rs)
    print(f"  {kind}: {within} of {len(rs)} within 1; largest " +
          ", ".join(f"{k.split('/', 2)[2]} {r:.2f} ({x:.4g}->{y:.4g})" for r, k, x, y in rs[:args.top]))
