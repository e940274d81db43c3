"""The executed notebooks as a run stores them (results/<profile>/notebooks/): cleaned of what only says something
to the person running them (stderr, progress bars, papermill's paths and timings), figures linked from
figures/<profile>/, not embedded. `book.py` builds the published book from them.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The chapters in reading order; a chapter's exercises are solved in notebooks/solutions/<chapter>_solutions.py.
CHAPTERS = ("00_directprobe_primer", "00_tasks_and_models", "01_divergence", "02_linearity", "03_label_spacing",
            "04_cross_task", "05_layer_behavior", "06_reproduction")
SOLUTIONS = "_solutions"


# Outputs that only say something to the person running the notebook: progress bars, library warnings.
_NOISE_MIME = ("application/vnd.jupyter.widget-view+json",)
_SRC = re.compile(r'(<img\b[^>]*\bsrc=")([^"]+)(")', re.I)


def clean_notebook(nb: dict, executed_from: Path, stored_in: Path) -> dict:
    """A notebook fit to publish: no stderr (progress bars, warnings), no papermill paths or timings, and image
    links rewritten from where the notebook ran (`executed_from`) to where it is stored (`stored_in`)."""
    nb["metadata"].pop("papermill", None)
    nb["metadata"].pop("widgets", None)      # the live run's progress bars' state; their outputs go below
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = _PARAM_PATH.sub(lambda m: m.group(1) + _move_path(m.group(2), executed_from, stored_in)
                                             + m.group(3), source)
        kept = []
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream" and out.get("name") == "stderr":
                continue
            data = out.get("data", {})
            if any(m in data for m in _NOISE_MIME):
                continue
            if "text/html" in data:
                text = "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
                data["text/html"] = _relink(text, executed_from, stored_in)
            kept.append(out)
        cell["outputs"] = kept
    return nb


_PARAM_PATH = re.compile(r'^(\w+_(?:path|dir|root) = ")([^"]+)(")', re.M)


def _move_path(value: str, executed_from: Path, stored_in: Path) -> str:
    """A path parameter as seen from where the notebook is stored; one outside the repository keeps only its last
    two parts (no path of the machine is published)."""
    target, stored_in = (executed_from / value).resolve(), Path(stored_in).resolve()
    inside = lambda p: p == REPO or REPO in p.parents
    if inside(target) and inside(stored_in):
        return Path(os.path.relpath(target, stored_in)).as_posix()
    if inside(target):
        return "<repository>/" + target.relative_to(REPO).as_posix()
    return "<outside the repository>/" + "/".join(target.parts[-2:])


def _relink(text: str, executed_from: Path, stored_in: Path) -> str:
    def move(m):
        src = m.group(2)
        if re.match(r"^(https?:|data:|/)", src):
            return m.group(0)
        target = (executed_from / src).resolve()
        return m.group(1) + Path(os.path.relpath(target, stored_in)).as_posix() + m.group(3)
    return _SRC.sub(move, text)


def failed_cell(nb: dict) -> dict | None:
    """Why a notebook did not run to the end, or None: the first cell whose output is an error ({"cell": execution
    count, "error": "Name: value", "message": ...}), else the first code cell that never ran (an execution that was
    killed or interrupted leaves its later cells without an execution count)."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c.get("source", "")).strip()]
    for cell in code:
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                error = f"{out['ename']}: {out['evalue']}"
                return {"cell": cell.get("execution_count"), "error": error,
                        "message": f"cell {cell.get('execution_count')} raised {error}"}
    ran = sum(c.get("execution_count") is not None for c in code)
    if ran < len(code):
        first = next(i for i, c in enumerate(code) if c.get("execution_count") is None) + 1
        return {"cell": first, "error": f"stopped before code cell {first}",
                "message": f"the execution stopped before code cell {first}: {ran} of {len(code)} code cells ran"}
    return None


def publish_notebooks(folder: Path, notebooks_dir: Path = REPO / "notebooks") -> None:
    """Clean every executed notebook of a run (folder/notebooks) in place; run_all.py calls this after the run."""
    for path in sorted((Path(folder) / "notebooks").glob("*.ipynb")):
        publish_notebook(path, notebooks_dir)


def publish_notebook(path: Path, notebooks_dir: Path = REPO / "notebooks") -> None:
    """Clean one executed notebook in place (once: a published one is left as it is)."""
    path = Path(path)
    nb = json.loads(path.read_text())
    if nb["metadata"].get("closerlook", {}).get("published"):
        return                              # cleaned already: its links point from where it is stored
    nb = clean_notebook(nb, notebooks_dir, path.parent)
    nb["metadata"]["closerlook"] = {"published": True}
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
