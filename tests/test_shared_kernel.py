"""run_all.py executes a run's notebooks in one kernel, each from a clean slate: what a notebook sees is what a
kernel of its own would show it, except that the library is already imported (and what it holds in memory)."""
import json
import os
import subprocess
import sys

import nbformat
import papermill as pm
import pytest

from conftest import MIRROR, REPO

sys.path.insert(0, str(REPO))
import run_all  # noqa: E402

LEAVES_TRACES = """\
import os, warnings, matplotlib, matplotlib.pyplot as plt, torch
import closerlook.experiments as ex
left_by_the_first = 1
matplotlib.rcParams["lines.linewidth"] = 9
plt.figure()
warnings.simplefilter("error")
os.chdir("/")
os.environ["LEFT_BY_THE_FIRST"] = "1"
torch.manual_seed(5)
ex.STAGE_SECONDS["probes"] += 3
"""

LOOKS = """\
import json, os, sys, warnings, matplotlib, matplotlib.pyplot as plt, torch
stages = sys.modules["closerlook.experiments"].STAGE_SECONDS if "closerlook.experiments" in sys.modules else {}
print(json.dumps({"names": sorted(n for n in dir() if not n.startswith("_")), "figures": plt.get_fignums(),
                  "linewidth": matplotlib.rcParams["lines.linewidth"], "cwd": os.path.basename(os.getcwd()),
                  "environment": "LEFT_BY_THE_FIRST" in os.environ, "torch_seed": torch.initial_seed(),
                  "torch_draw": torch.rand(1).item(), "error_filter": any(f[0] == "error" for f in warnings.filters),
                  "stages": dict(stages)}))
"""


def _notebook(path, code):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def _looked(path):
    cell = nbformat.read(path, as_version=4).cells[0]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return cell.execution_count, json.loads(text)


def test_a_notebook_in_the_shared_kernel_sees_what_a_kernel_of_its_own_shows(tmp_path):
    first, second = _notebook(tmp_path / "first.ipynb", LEAVES_TRACES), _notebook(tmp_path / "second.ipynb", LOOKS)
    cwd = str(REPO / "notebooks")
    pm.execute_notebook(str(second), str(tmp_path / "alone.ipynb"), kernel_name="python3", cwd=cwd,
                        progress_bar=False)
    kernel = run_all.SharedKernel(tmp_path / "kernel.log")
    try:
        kernel.execute(first, tmp_path / "first-out.ipynb", {})
        km = kernel.km
        kernel.execute(second, tmp_path / "shared.ipynb", {})
        assert kernel.km is km               # the same kernel throughout: nothing started again
    finally:
        kernel.close()
    count_alone, alone = _looked(tmp_path / "alone.ipynb")
    count_shared, shared = _looked(tmp_path / "shared.ipynb")
    assert count_alone == count_shared == 1
    # A new process seeds torch's global generator at random: so does the clean slate, not with the first's seed.
    assert shared.pop("torch_seed") != 5 and alone.pop("torch_seed") != 5
    shared.pop("torch_draw"), alone.pop("torch_draw")
    assert shared == alone, (shared, alone)
    assert alone["cwd"] == "notebooks" and alone["linewidth"] != 9 and not alone["figures"] and not alone["stages"]


def test_the_shared_kernel_is_started_again_when_it_dies(tmp_path):
    kernel = run_all.SharedKernel(tmp_path / "kernel.log")
    try:
        dead = _notebook(tmp_path / "dies.ipynb", "import os\nos._exit(1)")
        with pytest.raises(Exception):
            kernel.execute(dead, tmp_path / "dies-out.ipynb", {})
        km = kernel.km
        kernel.execute(_notebook(tmp_path / "looks.ipynb", LOOKS), tmp_path / "looks-out.ipynb", {})
        assert kernel.km is not km and _looked(tmp_path / "looks-out.ipynb")[0] == 1
    finally:
        kernel.close()


def test_chapters_record_the_same_numbers_in_the_shared_kernel_and_in_their_own(smoke, tmp_path_factory, tmp_path):
    """Three notebooks of the smoke profile, executed again (--force) from the smoke run's cache: in two lanes side
    by side (the default on 2 cores), in one shared kernel one after the other, and each in a kernel of its own:
    the same numbers (all but the stage clock)."""
    cache = tmp_path_factory.getbasetemp() / "cache-smoke"
    names = ["00_directprobe_primer", "00_directprobe_primer_solutions", "00_tasks_and_models"]
    numbers = {}
    for mode, extra in (("lanes", ["--jobs", "2"]), ("shared", ["--jobs", "1"]),
                        ("own", ["--kernel-per-notebook", "--jobs", "1"])):
        out = tmp_path / mode
        proc = subprocess.run([sys.executable, str(REPO / "run_all.py"), "--params", "smoke", "--no-book", "--force",
                               "--only", *names, "--out", str(out / "smoke"), "--figures", str(out / "figures"),
                               *extra], capture_output=True, text=True, timeout=900,
                              env=dict(os.environ, CLOSERLOOK_CACHE_DIR=str(cache), CLOSERLOOK_DATA_DIR=str(MIRROR),
                                       HF_HUB_OFFLINE="1"))
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        numbers[mode] = {}
        for name in names:
            recorded = json.loads((out / "smoke" / "numbers" / f"{name}.json").read_text())
            recorded.get("numbers", {}).pop("stage_seconds", None)
            recorded.pop("provenance", None)
            numbers[mode][name] = recorded
            cells = nbformat.read(out / "smoke" / "notebooks" / f"{name}.ipynb", as_version=4).cells
            counts = [c.execution_count for c in cells if c.cell_type == "code" and c.execution_count]
            assert counts[0] == 1, (mode, name, counts[:3])
    for name in names:
        assert numbers["shared"][name] == numbers["own"][name] == numbers["lanes"][name], name


def test_lanes_start_after_the_chapter_that_trains_and_end_before_the_one_that_reads_every_chapter():
    names = run_all.available()
    assert run_all.plan(names, 1) == [[names]]                                # one after the other
    phases = run_all.plan(names, 2)
    flat = [n for lanes in phases for lane in lanes for n in lane]
    assert sorted(flat) == sorted(names) and len(flat) == len(names)          # every notebook once
    first, *_, last = phases
    assert any("01_divergence" in lane for lane in first)
    assert last == [["06_reproduction", "06_reproduction_solutions"]]
    for lanes in phases:
        assert len(lanes) <= 2
        for lane in lanes:
            for n in lane:
                if n.endswith("_solutions"):     # after its chapter, in the chapter's lane
                    assert n.removesuffix("_solutions") in lane[:lane.index(n)], lane
    middle = phases[1]
    assert ["05_layer_behavior", "05_layer_behavior_solutions"] in middle     # the longest chapter has a lane
    assert run_all.plan(["02_linearity", "04_cross_task"], 4) == [[["04_cross_task"], ["02_linearity"]]]
    with pytest.raises(ValueError, match="--jobs must be 1 or more"):
        run_all.plan(names, 0)
