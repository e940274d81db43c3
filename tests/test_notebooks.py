"""Every notebook executed end to end by papermill (through run_all.py), with nbval-style checks of the key
numbers each one records. The smoke profile keeps this to a few minutes; the paper profile's multi-model path runs
with each Hub model mapped to a tiny random local BERT of the same shape family; the default profile's numbers are
checked by a `slow` test (python -m pytest -m slow)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, make_tiny_bert

NOTEBOOKS = ["00_directprobe_primer", "01_divergence", "02_linearity", "03_label_spacing", "04_cross_task",
             "05_layer_behavior"]
FIGURES = ["fig01_directprobe_toy", "fig02_min_distance_ps-role_pos", "fig03_pos_centroid_paths",
           "fig04_layer_similarity", "fig05_pos_centroid_shift_every_other_layer", "fig06_min_distance_all_tasks",
           "fig07_pos_centroid_shift_all_layers", "fig08_dep_centroid_shift_all_layers",
           "fig09_ps-fxn_centroid_shift_all_layers", "fig10_ps-role_centroid_shift_all_layers"]


def run_all(params, out: Path, cache: Path, only=None):
    env = dict(os.environ, CLOSERLOOK_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, str(REPO / "run_all.py"), "--params", str(params), "--out", str(out / "nb"),
           "--figures", str(out / "figures")] + (["--only", *only] if only else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3000)
    results = {}
    for name in NOTEBOOKS:
        path = out / "nb" / "results" / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    return proc, results


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    proc, results = run_all(REPO / "params" / "smoke.yaml", out, tmp_path_factory.getbasetemp() / "cache")
    return proc, results, out


def test_every_notebook_runs(smoke):
    proc, results, out = smoke
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "summary" in proc.stdout
    for name in NOTEBOOKS:
        assert f"{name:<24} ok" in proc.stdout
        assert (out / "nb" / f"{name}.ipynb").exists()


def test_claims_tables_are_complete(smoke):
    _, results, _ = smoke
    assert set(results) == set(NOTEBOOKS)
    for name, r in results.items():
        assert len(r["claims"]) >= 2, name
        for c in r["claims"]:
            assert set(c) == {"claim", "paper's evidence", "ours", "holds"} and c["holds"] in ("yes", "no")
            assert c["claim"] and c["paper's evidence"] and c["ours"]


def test_every_figure_is_written(smoke):
    _, _, out = smoke
    for name in FIGURES:
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 1000, f"{name}.{ext}"


def test_key_numbers(smoke):
    _, results, _ = smoke
    primer = results["00_directprobe_primer"]["numbers"]
    assert primer["toy_labels"] == 2 and primer["toy_clusters"] > 2 and not primer["toy_linear"]
    assert primer["blobs_clusters"] == 3 and primer["blobs_distance_vector_length"] == 3

    table7 = results["01_divergence"]["numbers"]["table7"]
    assert len(table7) == 10 and {r["task"] for r in table7} == {"pos", "dep", "ps-role", "ps-fxn", "trec"}
    for r in table7:
        assert 0 <= r["acc"] <= 100 and r["std"] >= 0 and len(r["best_size"]) == 2
        assert r["clusters"] >= r["labels"] and r["linear"] == (r["clusters"] == r["labels"])
        assert r["similarity"] is None or -1 <= r["similarity"] <= 1
    # the labels DirectProbe saw are those of the smoke profile's training subsets
    from closerlook.data import load_task
    from closerlook.params import load_params
    smoke_params = load_params("smoke")
    for r in table7:
        subset = load_task(r["task"], "train").subset(smoke_params["data"]["max_train_sentences"][r["task"]])
        assert r["labels"] == len(subset.label_set), r

    linearity = results["02_linearity"]["numbers"]
    assert linearity["n_cases"] == 5 and 0 <= linearity["n_linear_after"] <= 5

    spacing = results["03_label_spacing"]["numbers"]
    assert spacing["n_labels"] == sum(r["labels"] for r in spacing["min_distance_summary"])
    assert 0 <= spacing["n_grew"] <= spacing["n_labels"]

    table5 = results["04_cross_task"]["numbers"]["table5"]
    assert [r["fine-tuned on"] for r in table5] == ["original", "ps-fxn", "ps-role", "pos"]
    for r in table5[1:]:
        if r["linear"]:
            assert r["#inc"] + r["#dec"] == table5[0]["clusters"]

    layers = results["05_layer_behavior"]["numbers"]
    assert {r["layer"] for r in layers["ranges"]} == {1, 2, 4, 6}
    assert all(r["x from"] <= r["x to"] for r in layers["ranges"])


@pytest.mark.slow
def test_paper_profile_structure_with_tiny_local_berts(tmp_path, tmp_path_factory):
    """The paper profile's five models, every task, tables over models, without the Hub."""
    shapes = {"bert-tiny": 2, "bert-mini": 4, "bert-small": 4, "bert-medium": 8, "bert-base": 12}
    params = yaml.safe_load((REPO / "params" / "paper.yaml").read_text())
    assert list(params["models"]) == list(shapes)
    for label, n_layers in shapes.items():
        params["models"][label] = str(make_tiny_bert(tmp_path / label, layers=n_layers, hidden=16,
                                                     seed=n_layers))
    params["data"] = {"max_train_sentences": {"pos": 20, "dep": 20, "ps-role": 60, "ps-fxn": 60, "trec": 80},
                      "max_test_sentences": {"pos": 10, "dep": 10, "ps-role": 40, "ps-fxn": 40, "trec": 40}}
    params["probe"].update(hidden_sizes=[[16, 16]], alphas=[1e-4], seeds=[0], max_iter=20)
    params["finetune"].update(snapshots=2, epochs={"default": 1, "bert-base": 1})
    path = tmp_path / "paper-tiny.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))   # keep the paper's model order
    proc, results = run_all(path, tmp_path / "run", tmp_path_factory.getbasetemp() / "cache-paper",
                            only=["01_divergence", "02_linearity"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table7 = results["01_divergence"]["numbers"]["table7"]
    assert len(table7) == 5 * 5 * 2
    assert [r["model"] for r in table7[::10]] == list(shapes)
    assert results["02_linearity"]["numbers"]["n_cases"] == 25


@pytest.mark.slow
def test_default_profile_key_numbers(tmp_path):
    """The default profile end to end (about 20 minutes cold on 2 cores; reuses the user's cache)."""
    from closerlook.data import cache_dir
    proc, results = run_all(REPO / "params" / "default.yaml", tmp_path, cache_dir())
    assert proc.returncode == 0, proc.stdout[-3000:]
    table7 = {(r["task"], r["rep"]): r for r in results["01_divergence"]["numbers"]["table7"]}
    assert len(table7) == 10
    assert table7["pos", "original"]["labels"] == 17 and table7["ps-role", "original"]["labels"] == 46
    # fine-tuning on the task itself helps the probe on POS and PS-role with the default model
    for task in ("pos", "ps-role"):
        assert table7[task, "fine-tuned"]["acc"] > table7[task, "original"]["acc"]
    assert len(results["04_cross_task"]["numbers"]["table5"]) == 4
