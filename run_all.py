"""Re-run every notebook of the companion on one profile and regenerate the figures.

    python run_all.py                         # default profile: the embedded model, offline, CPU
    python run_all.py --params params/paper.yaml
    python run_all.py --only 01_divergence    # one notebook

Each notebook (jupytext `.py` source in notebooks/) is executed by papermill with the profile's path as a
parameter; executed notebooks go to `--out` (default outputs/<profile>/), figures to figures/ (PNG and PDF), key
numbers and claims to `--out`/results/<notebook>.json. Expensive stages are cached by the library, so a second
run is fast. A failing notebook is reported with its failing cell; the others still run; the exit code is
non-zero if any failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent
NOTEBOOKS = ["00_directprobe_primer", "01_divergence", "02_linearity", "03_label_spacing", "04_cross_task",
             "05_layer_behavior"]


def available() -> list[str]:
    return [n for n in NOTEBOOKS if (REPO / "notebooks" / f"{n}.py").exists()]


def run_notebook(name: str, params_path: Path, out: Path, figures: Path) -> dict:
    import jupytext
    import papermill as pm
    source = REPO / "notebooks" / f"{name}.py"
    out.mkdir(parents=True, exist_ok=True)
    ipynb = out / f"{name}.input.ipynb"
    jupytext.write(jupytext.read(source), ipynb)
    parameters = {"figures_dir": str(figures), "results_dir": str(out / "results")}
    if name != "00_directprobe_primer":
        parameters["params_path"] = str(params_path)
    started = time.perf_counter()
    status, error = "ok", None
    try:
        pm.execute_notebook(str(ipynb), str(out / f"{name}.ipynb"), parameters=parameters, kernel_name="python3",
                            cwd=str(REPO / "notebooks"), progress_bar=False)
    except pm.PapermillExecutionError as e:
        status, error = "failed", f"cell {e.exec_count}: {e.ename}: {e.evalue}"
    except Exception as e:   # the kernel died, a missing kernel, ...
        status, error = "failed", f"{type(e).__name__}: {e}"
    finally:
        ipynb.unlink(missing_ok=True)
    result = {"notebook": name, "status": status, "error": error, "wall_s": time.perf_counter() - started}
    results = out / "results" / f"{name}.json"
    if status == "ok" and results.exists():
        recorded = json.loads(results.read_text())
        result["claims"] = recorded.get("claims", [])
        result["stages"] = recorded.get("numbers", {}).get("stage_seconds", {})
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default=str(REPO / "params" / "default.yaml"), help="profile (params/*.yaml)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks")
    ap.add_argument("--out", help="folder for executed notebooks and results (default outputs/<profile>)")
    ap.add_argument("--figures", default=str(REPO / "figures"), help="folder for the figures")
    args = ap.parse_args(argv)

    from closerlook.params import ParamsError, load_params
    params_path = Path(args.params).resolve()
    try:
        load_params(params_path)
    except ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    names = available()
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            print(f"error: unknown notebook(s) {unknown}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in args.only]
    out = Path(args.out) if args.out else REPO / "outputs" / params_path.stem
    results = []
    for name in names:
        print(f"[run_all] {name} ...", flush=True)
        r = run_notebook(name, params_path, out, Path(args.figures))
        results.append(r)
        print(f"[run_all] {name}: {r['status']} in {r['wall_s']:.1f} s" + (f" -- {r['error']}" if r["error"] else ""),
              flush=True)

    print("\nsummary")
    print(f"{'notebook':<24} {'status':<7} {'wall':>8}  claims held / checked   stages (s)")
    for r in results:
        claims = r.get("claims", [])
        held = sum(c["holds"] == "yes" for c in claims)
        stages = ", ".join(f"{k} {v:.0f}" for k, v in r.get("stages", {}).items())
        print(f"{r['notebook']:<24} {r['status']:<7} {r['wall_s']:7.1f}s  {held:>5} / {len(claims):<14}  {stages}")
        for c in claims:
            print(f"    [{c['holds']:>3}] {c['claim']}: {c['ours']}")
        if r["error"]:
            print(f"    error: {r['error']}")
    print(f"total {sum(r['wall_s'] for r in results):.1f} s")
    return 1 if any(r["status"] != "ok" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
