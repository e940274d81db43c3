"""Re-run every notebook of the companion on one profile, regenerate its figures and its claims ledger.

    python run_all.py                         # default profile: the embedded model, offline, CPU
    python run_all.py --params full           # the paper's data and training on the embedded model (hours)
    python run_all.py --params params/paper.yaml
    python run_all.py --only 01_divergence    # one notebook
    python run_all.py --compare results/default other/default   # two runs side by side

Each notebook (jupytext `.py` source in notebooks/) is executed by papermill with the profile as a parameter.
Every profile writes to its own places, so that no run overwrites another profile's results:
- results/<profile>/numbers/<notebook>.json: key numbers and claims (the ledger reads these);
- results/<profile>/notebooks/<notebook>.ipynb: the executed notebooks;
- figures/<profile>/: the figures (PNG and PDF);
- results/book/: the book (Sphinx, myst-nb) of the default and full profiles side by side; another profile's book
  goes to results/<profile>/book/.
Expensive stages are cached by the library, so a second run is fast and a stopped run resumes. A notebook that
this machine has executed with the same inputs (its source, the library, the profile, the package versions), whose
outputs are untouched since, is not executed again ("up to date"); --force executes every one. A failing
notebook is reported with its failing cell; the others still run; the exit code is non-zero if any failed.
The summary ends with the claims ledger over every profile that has results.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent
NOTEBOOKS = ["00_directprobe_primer", "00_tasks_and_models", "01_divergence", "02_linearity", "03_label_spacing", "04_cross_task",
             "05_layer_behavior", "06_reproduction"]
LEDGER_PROFILES = ["default", "full"]


INTERRUPTED = False


def _interrupt(signum, frame):
    global INTERRUPTED
    INTERRUPTED = True
    raise KeyboardInterrupt


def source(name: str) -> Path:
    """A chapter's jupytext source, or its exercises' solutions (kept apart, under notebooks/solutions/)."""
    folder = REPO / "notebooks" / ("solutions" if name.endswith("_solutions") else "")
    return folder / f"{name}.py"


def available(solutions: bool = True) -> list[str]:
    """Every chapter in reading order, each followed by its solutions (they read the chapter's cached blocks)."""
    names = []
    for n in NOTEBOOKS:
        names += [m for m in (n, f"{n}_solutions") if source(m).exists() and (solutions or m == n)]
    return names


def _from_notebooks(path: Path) -> str:
    """A path as the notebooks (run in notebooks/) see it: relative, so that no path of this machine is written
    into the executed notebooks."""
    return os.path.relpath(Path(path).resolve(), REPO / "notebooks")


def notebook_parameters(name: str, params_path: Path, out: Path, figures: Path, profile: str) -> dict:
    parameters = {"figures_dir": _from_notebooks(figures), "results_dir": _from_notebooks(out / "numbers")}
    chapter = name.removesuffix("_solutions")     # solutions take their chapter's parameters
    if chapter == "06_reproduction":
        parameters = {"results_root": _from_notebooks(out.parent),
                      "profiles": LEDGER_PROFILES + ([profile] if profile not in LEDGER_PROFILES else []),
                      "results_dir": _from_notebooks(out / "numbers")}
    elif chapter != "00_directprobe_primer":
        parameters["params_path"] = _from_notebooks(params_path)
    return parameters


# ----------------------------------------------------------------------------------------------
# Up to date: what a notebook's execution depended on, and what it left. The record lives in this machine's cache,
# never in results/: a fresh clone (or another machine) with committed results executes everything.

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def notebook_inputs(name: str, params_path: Path, parameters: dict) -> str:
    """A digest of everything an execution of the notebook reads besides the caches (whose entries are keyed by
    their own inputs): its source (and its chapter's, for solutions), every library module, the profile, the
    parameters and the versions of the packages that can move a number. 06_reproduction reads other runs' numbers,
    so it is always executed (it takes seconds)."""
    from closerlook.provenance import package_versions
    h = hashlib.sha256(json.dumps([name, parameters, package_versions()], sort_keys=True).encode())
    files = [source(name), source(name.removesuffix("_solutions")), Path(params_path),
             *sorted((REPO / "lib" / "closerlook").rglob("*.py"))]
    for f in files:
        if f.exists():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _stamp(name: str, out: Path) -> Path:
    from closerlook.data import cache_dir
    where = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "notebook-runs" / where / f"{name}.json"


def _outputs(name: str, out: Path, figures: Path, since: float | None = None) -> dict:
    """The files an execution left: its executed notebook, its numbers and the figures written since `since`."""
    files = [out / "notebooks" / f"{name}.ipynb", out / "numbers" / f"{name}.json"]
    if since is not None and figures.is_dir():
        files += sorted(f for f in figures.iterdir() if f.is_file() and f.stat().st_mtime >= since)
    return {os.path.relpath(f, REPO): _sha(f) for f in files if f.exists()}


def up_to_date(name: str, inputs: str, out: Path) -> bool:
    stamp = _stamp(name, out)
    if name.removesuffix("_solutions") == "06_reproduction" or not stamp.exists():
        return False
    try:
        record = json.loads(stamp.read_text())
    except (OSError, ValueError):      # a stamp cut short (a full disk, a kill): not up to date, executed again
        return False
    if not isinstance(record, dict) or record.get("inputs") != inputs or not record.get("outputs"):
        return False
    return all((REPO / f).exists() and _sha(REPO / f) == sha for f, sha in record["outputs"].items())


# ----------------------------------------------------------------------------------------------
# One kernel for a run's notebooks. Starting a kernel and importing torch, transformers and the library takes about
# 7 s on 2 cores, and a run executes 16 notebooks: that was most of a run from a full cache. Sharing one also keeps
# what the library holds in memory (the runs it found, the models it loaded, the data it parsed, the files it
# checked), all of it keyed by what names it. Each notebook still starts as in a kernel of its own: CLEAN_SLATE
# empties the namespace and the execution counter, closes the figures, and puts back matplotlib's settings, the
# warning filters, the working folder, the environment and sys.path as they were when the kernel started, seeds
# torch's global generator afresh (a new process seeds it at random), and zeroes the library's stage clock.
# --kernel-per-notebook executes each in its own.

REMEMBER_START = """
import os, sys, warnings, matplotlib, matplotlib.pyplot, torch
sys._closerlook_start = {"rc": {k: v for k, v in matplotlib.rcParams.items() if k != "backend"},
                         "warnings": list(warnings.filters), "cwd": os.getcwd(), "environ": dict(os.environ),
                         "path": list(sys.path)}
get_ipython().reset(new_session=True)
"""

CLEAN_SLATE = """
import os, sys, gc, warnings, matplotlib, matplotlib.pyplot, torch
start = sys._closerlook_start
matplotlib.pyplot.close("all")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    matplotlib.rcParams.update(start["rc"])
warnings.filters[:] = start["warnings"]
os.chdir(start["cwd"])
os.environ.clear()
os.environ.update(start["environ"])
sys.path[:] = start["path"]
torch.seed()
if "closerlook.experiments" in sys.modules:
    sys.modules["closerlook.experiments"].STAGE_SECONDS.clear()
gc.collect()
get_ipython().reset(new_session=True)
"""


class SharedKernel:
    """The kernel a run's notebooks execute in, one after the other (see above); started on first use, and again
    if one dies. Its own messages go to `log`."""

    def __init__(self, log: Path):
        self.log, self.km, self.fresh = log, None, True

    def ready(self):
        """The kernel manager, for papermill, with a kernel that holds nothing of the notebook before."""
        from jupyter_client.manager import AsyncKernelManager
        from nbclient.util import run_sync
        if self.km is not None and not run_sync(self.km.is_alive)():
            self.close()
        if self.km is None:
            self.km = AsyncKernelManager(kernel_name="python3")
            with stderr_to(self.log):
                run_sync(self.km.start_kernel)(cwd=str(REPO / "notebooks"))
            self._execute(REMEMBER_START)
        else:
            self._execute(CLEAN_SLATE)
        return self.km

    def _execute(self, code: str) -> None:
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            reply = kc.execute_interactive(code, store_history=False, timeout=300, output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the shared kernel could not be made clean for the next notebook: "
                               f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")

    def execute(self, ipynb: Path, output: Path, parameters: dict) -> None:
        """papermill's execution of `ipynb` in this kernel. papermill opens a client of its own on the kernel and,
        as the kernel is not its own, leaves it open (a warning for each when it is collected): closed here."""
        import papermill as pm
        from papermill import engines
        opened = []

        class Client(engines.PapermillNotebookClient):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                opened.append(self)

        km = self.ready()
        original = engines.PapermillNotebookClient
        engines.PapermillNotebookClient = Client
        try:
            pm.execute_notebook(str(ipynb), str(output), parameters=parameters, kernel_name="python3",
                                cwd=str(REPO / "notebooks"), progress_bar=False, km=km)
        finally:
            engines.PapermillNotebookClient = original
            for client in opened:
                if client.kc is not None:
                    client.kc.stop_channels()

    def close(self) -> None:
        from nbclient.util import run_sync
        if self.km is None:
            return
        try:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
            run_sync(self.km.cleanup_resources)()
        except Exception:   # a kernel already gone (Ctrl-C reaches it too): nothing left to stop
            pass
        self.km = None


# ----------------------------------------------------------------------------------------------
# Notebooks side by side (--jobs, default 2 where the machine has 2 cores). 01_divergence trains every fine-tuning
# run the later chapters read, so they start after it: two processes training at once would share the cores
# between twice the threads. 06_reproduction reads every chapter's numbers, so it runs last. The chapters between
# read what 01 made and run side by side, each with its solutions in one lane (the solutions read their chapter's
# blocks), in a process and a kernel of its own; what two lanes both compute (a DirectProbe fit) is computed once,
# the other waits for it (the cache's file locks). Each notebook is seeded and made clean as before, so a lane
# gives the numbers the sequential run gives. Lanes are filled longest first, by each chapter's share of a forced
# default run on 2 cores (in seconds; the full profile's order is the same).
PHASES = [("00_directprobe_primer", "00_tasks_and_models", "01_divergence"),
          ("02_linearity", "03_label_spacing", "04_cross_task", "05_layer_behavior"),
          ("06_reproduction",)]
WEIGHTS = {"00_directprobe_primer": 8, "00_tasks_and_models": 7.5, "01_divergence": 25, "02_linearity": 6.5,
           "03_label_spacing": 9, "04_cross_task": 11, "05_layer_behavior": 30, "06_reproduction": 3}


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def plan(names: list[str], jobs: int) -> list[list[list[str]]]:
    """The run as phases, one after the other, each a list of lanes that run side by side, each a list of
    notebooks in reading order. One lane per phase when jobs is 1: the notebooks in reading order."""
    if jobs < 1:
        raise ValueError(f"--jobs must be 1 or more, got {jobs}")
    if jobs == 1:
        return [[list(names)]]
    phases = []
    for chapters in PHASES:
        groups = [[n for n in names if n.removesuffix("_solutions") == c] for c in chapters]
        groups = sorted((g for g in groups if g), key=lambda g: -WEIGHTS[g[0].removesuffix("_solutions")])
        lanes, load = [[] for _ in range(min(jobs, len(groups)))], [0.0] * min(jobs, len(groups))
        for g in groups:
            i = load.index(min(load))
            lanes[i] += g
            load[i] += WEIGHTS[g[0].removesuffix("_solutions")]
        if lanes:
            phases.append([sorted(lane, key=names.index) for lane in lanes])
    return phases


def run_lane(names: list[str], params_path: Path, out: Path, figures: Path, profile: str, force: bool,
             kernel: "SharedKernel | None") -> tuple[list[dict], str | None]:
    """The notebooks one after the other: their results, and the one Ctrl-C stopped in (None if none was)."""
    results = []
    for name in names:
        print(f"[run_all] {name} ...", flush=True)
        try:
            r = run_notebook(name, params_path, out, figures, profile, force=force, kernel=kernel)
        except KeyboardInterrupt:
            return results, name
        results.append(r)
        print(f"[run_all] {name}: {r['status']} in {r['wall_s']:.1f} s" + (f" -- {r['error']}" if r["error"] else ""),
              flush=True)
    return results, None


def _lane_process(names, params_path, out, figures, profile, force, kernel_per_notebook, lane, blas_threads):
    """run_lane in a process of its own (started by run_lanes), with a kernel of its own."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    if blas_threads:
        os.environ["OPENBLAS_NUM_THREADS"] = str(blas_threads)     # read by the kernel's numpy when it starts
    kernel = None if kernel_per_notebook else SharedKernel(_stamp(f"kernel-lane{lane}", out).with_suffix(".log"))
    try:
        results, stopped = run_lane(names, params_path, out, figures, profile, force, kernel)
        if stopped:
            quiet_after_interrupt()      # before the kernel goes, and the interrupted execution's tasks with it
    finally:
        if kernel is not None:
            kernel.close()
    return results, stopped


def run_lanes(lanes: list[list[str]], params_path: Path, out: Path, figures: Path, profile: str, force: bool,
              kernel_per_notebook: bool) -> tuple[list[dict], str | None]:
    """The lanes side by side, each in a process of its own. Ctrl-C reaches every process of the terminal's group:
    each lane stops in its notebook, and this waits for them to say where.

    numpy's BLAS (OpenBLAS) starts a thread per core in every kernel: two kernels on 2 cores spent their time
    handing the cores back and forth (a forced default run 94 s with them, 74 s with one each). So a lane gets its
    share of the cores for numpy, except the one with 01_divergence, whose fine-tuning keeps every thread (torch's
    threads are never limited: its numbers do not depend on --jobs). numpy's products then sum in another order,
    which moves a number computed afresh in its last bits (CKA: 1e-15 relative), not one read from the cache."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    share = max(1, (os.cpu_count() or 1) // len(lanes))
    # spawn, not fork: a forked child would share this process's open sockets and threads (zmq, joblib).
    with ProcessPoolExecutor(len(lanes), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_lane_process, lane, params_path, out, figures, profile, force, kernel_per_notebook,
                               i, None if "01_divergence" in lane else share) for i, lane in enumerate(lanes)]
        results, stopped = [], None
        for future in futures:
            while True:
                try:
                    done, where = future.result()
                    break
                except KeyboardInterrupt:
                    continue
            results += done
            stopped = ", ".join(n for n in (stopped, where) if n) or None
    return results, stopped


def run_notebook(name: str, params_path: Path, out: Path, figures: Path, profile: str = "default",
                 force: bool = True, kernel: SharedKernel | None = None) -> dict:
    import jupytext
    import papermill as pm
    parameters = notebook_parameters(name, params_path, out, figures, profile)
    inputs = notebook_inputs(name, params_path, parameters)
    if not force and up_to_date(name, inputs, out):
        return _result(name, "up to date", None, 0.0, out)
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    ipynb = out / "notebooks" / f"{name}.input.ipynb"
    jupytext.write(jupytext.read(source(name)), ipynb)
    _stamp(name, out).unlink(missing_ok=True)      # an interrupted execution leaves no record behind
    since = time.time() - 1
    started = time.perf_counter()
    status, error = "ok", None
    log = _stamp(name, out).with_suffix(".kernel.log")
    if kernel is not None:
        log = kernel.log
    try:
        with stderr_to(log):
            if kernel is None:
                pm.execute_notebook(str(ipynb), str(out / "notebooks" / f"{name}.ipynb"), parameters=parameters,
                                    kernel_name="python3", cwd=str(REPO / "notebooks"), progress_bar=False)
            else:
                kernel.execute(ipynb, out / "notebooks" / f"{name}.ipynb", parameters)
    except pm.PapermillExecutionError as e:
        status, error = "failed", f"cell {e.exec_count}: {e.ename}: {e.evalue}"
    except Exception as e:   # the kernel died, a missing kernel, ...
        status, error = "failed", f"{type(e).__name__}: {e} (the kernel's own messages: {log})"
    finally:
        ipynb.unlink(missing_ok=True)
    if INTERRUPTED:
        # Ctrl-C (or SIGINT/SIGTERM) reaches the kernel too, which then dies: stop here instead of going on.
        raise KeyboardInterrupt
    if status == "ok":
        from closerlook.publish import publish_notebook
        # The stored form of the notebook, which the record then describes (this one only: another lane may be
        # writing its own).
        publish_notebook(out / "notebooks" / f"{name}.ipynb")
        from closerlook.cachekeys import atomic_write_text
        stamp = _stamp(name, out)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(stamp, json.dumps({"inputs": inputs, "outputs": _outputs(name, out, figures, since)},
                                            indent=1))
    return _result(name, status, error, time.perf_counter() - started, out)


def _result(name: str, status: str, error: str | None, wall_s: float, out: Path) -> dict:
    result = {"notebook": name, "status": status, "error": error, "wall_s": wall_s}
    results = out / "numbers" / f"{name}.json"
    if status != "failed" and results.exists():
        recorded = json.loads(results.read_text())
        result["claims"] = recorded.get("claims", [])
        result["stages"] = recorded.get("numbers", {}).get("stage_seconds", {}) if status == "ok" else {}
    return result


def print_ledger(results_root: Path, profiles: list[str]) -> None:
    """The claims ledger, each profile under both readings of the geometry (ours and the authors' code's), and for
    each profile the claims whose verdict the reading decides, with the convention that flips it."""
    from closerlook.ledger import ablation_table, load_readings, text_ledger
    folders = {p: results_root / p / "numbers" for p in profiles}
    found = load_readings(folders)
    if not found:
        return
    print("\nclaims ledger (" + ", ".join(found) + ")")
    print(text_ledger(found))
    for p, folder in folders.items():
        try:
            table = ablation_table(folder)
        except KeyError as e:
            print(f"\n{p}: {e.args[0]}")
            continue
        if len(table):
            print(f"\n{p}: verdicts that the reading decides (the authors' reading with one convention switched "
                  "back to ours at a time)")
            print(table.to_string(index=False))


@contextmanager
def stderr_to(path: Path):
    """This process's standard error, and so that of the kernel it starts, into `path` while inside. The kernel's
    own messages (its start-up warnings; after Ctrl-C, the traceback of a reply it could no longer send) are not the
    reader's business; a cell's stderr still reaches the executed notebook, and a kernel that dies is reported
    with this file named."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_after_interrupt() -> None:
    """After Ctrl-C the interrupted execution's asyncio tasks are destroyed at exit, and asyncio logs each one with
    the kernel's whole traceback (265 and 346 lines after the resume line at 45 and 60 s into chapter 01, with the
    kernel's stderr already in its log): the interrupt was asked for, so it is one line, and nothing after it."""
    import logging
    for name in ("asyncio", "papermill", "nbclient", "traitlets"):
        logging.getLogger(name).disabled = True


def cache_problem() -> str | None:
    """Why the cache folder cannot be used (every expensive block is written there), or None."""
    import tempfile
    from closerlook.data import cache_dir
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        return (f"the cache folder {folder} is not writable ({e.strerror or e}): every expensive block is kept "
                "there; set CLOSERLOOK_CACHE_DIR to a folder you can write")
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="default",
                    help="profile: a name under params/ (default, full, paper, smoke) or a YAML file (default: default)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks")
    ap.add_argument("--out", help="folder for the executed notebooks and numbers (default: results/<profile>)")
    ap.add_argument("--figures", help="folder for the figures (default: figures/<profile>)")
    ap.add_argument("--no-solutions", action="store_true",
                    help="skip the exercises' solutions (notebooks/solutions/), which run after each chapter")
    ap.add_argument("--no-book", action="store_true",
                    help="do not build the book after the run (python -m closerlook.book builds it later)")
    ap.add_argument("--kernel-per-notebook", action="store_true",
                    help="execute each notebook in a kernel of its own, as JupyterLab does (default: one kernel for "
                         "the run, made clean before each notebook; about 7 s a notebook faster)")
    ap.add_argument("--jobs", type=int, metavar="N",
                    help="notebooks run side by side, each lane in a kernel of its own (default: 2 where the "
                         "machine has 2 cores or more; 1 runs them one after the other)")
    ap.add_argument("--force", action="store_true",
                    help="execute every notebook, also those that are up to date (same inputs, outputs untouched)")
    ap.add_argument("--scheduler", metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:8786): fine-tuning runs, probe fits and DirectProbe fits go "
                         "to its workers, which share this machine's cache and data folders (default: this machine)")
    ap.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"),
                    help="compare two runs (results/<profile> folders): provenance and the key numbers that moved")
    args = ap.parse_args(argv)
    if args.compare:
        from closerlook import provenance
        return provenance.main(list(args.compare))

    from closerlook.params import ParamsError, load_params, resolve_profile
    try:
        params_path = resolve_profile(args.params)
        profile = load_params(params_path)["name"]
    except ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    problem = cache_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    names = available(solutions=not args.no_solutions)
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            print(f"error: unknown notebook(s) {unknown}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in args.only]
    out = Path(args.out) if args.out else REPO / "results" / profile
    figures = Path(args.figures) if args.figures else REPO / "figures" / profile
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.yaml").write_text(params_path.read_text())   # what the ledger compares profiles by
    from closerlook import provenance
    record = provenance.collect(params_path)
    results = []
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # The kernels' bars are text: their stderr goes to a log, and a widget kept in a notebook without its state is
    # an error box in JupyterLab (closerlook.progress).
    os.environ.setdefault("CLOSERLOOK_PROGRESS", "text")
    if args.scheduler:
        from closerlook import experiments
        os.environ[experiments.SCHEDULER_ENV] = args.scheduler    # the notebooks' kernels inherit it
        print(f"[run_all] fine-tuning runs on the Dask cluster at {args.scheduler} ...", flush=True)
        try:
            n = experiments.finetune_ahead(load_params(params_path))
        except (RuntimeError, KeyboardInterrupt) as e:
            print(f"error: {e}" if isinstance(e, RuntimeError) else "[run_all] interrupted", file=sys.stderr)
            return 2 if isinstance(e, RuntimeError) else 130
        print(f"[run_all] {n} fine-tuning runs in the cache", flush=True)
    kernel = None if args.kernel_per_notebook else SharedKernel(_stamp("kernel", out).with_suffix(".log"))
    try:
        for lanes in plan(names, args.jobs or default_jobs()):
            if len(lanes) == 1:
                done, stopped = run_lane(lanes[0], params_path, out, figures, profile, args.force, kernel)
            else:
                done, stopped = run_lanes(lanes, params_path, out, figures, profile, args.force,
                                          args.kernel_per_notebook)
            results += done
            if stopped:
                quiet_after_interrupt()
                print(f"[run_all] interrupted in {stopped}: every finished block is cached; run the same command "
                      "again to go on from there", flush=True)
                return 130
    finally:
        if kernel is not None:
            kernel.close()
    results.sort(key=lambda r: names.index(r["notebook"]))

    (out / "provenance.json").write_text(json.dumps(provenance.finish(record), indent=1) + "\n")
    from closerlook import book
    from closerlook.publish import publish_notebooks
    publish_notebooks(out)
    # The book shows the default and full profiles side by side (results/book); any other profile, or a run kept
    # elsewhere (--out), gets its own, in its run folder.
    shared = profile in book.BOOK_PROFILES and out.resolve() == (REPO / "results" / profile).resolve()
    index = (REPO / "results" / "book" if shared else out / "book") / "index.html"
    executed = any(r["status"] != "up to date" for r in results)
    if args.no_book:
        print("[run_all] book: not built (--no-book)")
    elif not executed and index.exists():
        print(f"[run_all] book: up to date ({os.path.relpath(index)}; no notebook was executed)")
    else:
        started = time.perf_counter()
        index = book.build(REPO / "results") if shared else book.build(folders={profile: out}, out=out / "book")
        print(f"[run_all] book: {os.path.relpath(index)} ({time.perf_counter() - started:.1f} s)")

    print(f"\nsummary ({profile})")
    print(f"{'notebook':<28} {'status':<10} {'wall':>8}  holds / not / untestable   stages (s)")
    for r in results:
        claims = r.get("claims", [])
        counts = [sum(c["verdict"] == v for c in claims) for v in ("holds", "does not hold", "not testable here")]
        stages = ", ".join(f"{k} {v:.0f}" for k, v in r.get("stages", {}).items())
        print(f"{r['notebook']:<28} {r['status']:<10} {r['wall_s']:7.1f}s  {counts[0]:>5} / {counts[1]:>3} / "
              f"{counts[2]:<10}  {stages}")
        for c in claims:
            print(f"    [{c['verdict']}] {c['claim']}: {c['ours']}")
        if r["error"]:
            print(f"    error: {r['error']}")
    print(f"total {sum(r['wall_s'] for r in results):.1f} s")
    print_ledger(out.parent, sorted(set(LEDGER_PROFILES) | {profile}, key=lambda p: (p not in LEDGER_PROFILES, p)))
    return 1 if any(r["status"] == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
