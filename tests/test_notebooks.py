"""Every notebook executed end to end by papermill (through run_all.py), with nbval-style checks of the key
numbers each one records. The smoke profile keeps this to a few minutes; the paper profile's multi-model path runs
with each Hub model mapped to a tiny random local BERT of the same shape family; the default profile's numbers are
checked by a `slow` test (python -m pytest -m slow)."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from conftest import NOTEBOOKS, REPO, SOLUTIONS, make_tiny_bert, run_all

FIGURES = ["fig01_directprobe_toy", "fig02_min_distance_ps-role_pos", "fig03_pos_centroid_paths",
           "fig04_layer_similarity", "fig04_layer_cka", "fig05_pos_centroid_shift_every_other_layer", "fig06_min_distance_all_tasks",
           "fig07_pos_centroid_shift_all_layers", "fig08_dep_centroid_shift_all_layers",
           "fig09_ps-fxn_centroid_shift_all_layers", "fig10_ps-role_centroid_shift_all_layers",
           "figS1_train_test_similarity_along_fine_tuning"]
CLAIM_IDS = ["2.2-circle", "2.2-blobs", "2.2-classifier", "4.1-accuracy", "4.1-similarity", "4.1-hurt",
             "4.2-simpler", "4.2-linear", "4.2-trec-kept", "4.2-trec-dropped", "4.3-every-label", "4.3-mean",
             "4.3-figure3", "4.4-distances", "4.4-accuracy", "4.5-correlated", "4.5-ranges"]


def test_every_notebook_runs(smoke):
    proc, results, out = smoke
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # The ledger shows the profile under both readings of the geometry (ours and the authors' code's).
    assert "summary" in proc.stdout and "claims ledger (smoke · exact, smoke · authors)" in proc.stdout
    for name in NOTEBOOKS + SOLUTIONS:
        assert f"{name:<28} ok" in proc.stdout, name
        assert (out / "results" / "smoke" / "notebooks" / f"{name}.ipynb").exists()


def test_every_claim_is_recorded_with_a_verdict_and_a_reason(smoke):
    _, results, _ = smoke
    from closerlook.claims import STATES
    recorded = [c for name in NOTEBOOKS[:-1] for c in results[name]["claims"]]
    assert [c["id"] for c in recorded] == CLAIM_IDS
    for c in recorded:
        assert c["verdict"] in STATES and c["reason"] and c["ours"] and c["paper"], c
    ledger = results["06_reproduction"]["numbers"]["ledger"]
    assert [r["id"] for r in ledger] == CLAIM_IDS
    assert [r["smoke: verdict"] for r in ledger] == [c["verdict"] for c in recorded]


def test_every_figure_is_written(smoke):
    _, _, out = smoke
    for name in FIGURES:
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 1000, f"{name}.{ext}"


def test_executed_notebooks_hold_no_path_of_this_machine(smoke):
    _, _, out = smoke
    for name in NOTEBOOKS + SOLUTIONS:
        text = (out / "results" / "smoke" / "notebooks" / f"{name}.ipynb").read_text()
        assert str(REPO) not in text and str(out) not in text, name


def test_seed_runs_feed_the_intervals(smoke):
    """The smoke profile has two fine-tuning seeds: every before/after case over seeds has both."""
    _, results, _ = smoke
    for case in results["01_divergence"]["numbers"]["similarity_cases"]:
        assert len(case["seeds"]) + len(case["undefined_seeds"]) == 2, case
        for s in case["seeds"]:
            assert s["low"] <= s["drop"] <= s["high"], s
            assert abs(s["drop"] - (s["before"] - s["after"])) < 1e-9
    for task in results["03_label_spacing"]["numbers"]["min_distance_changes"]:
        assert len(task["seeds"]) + len(task["undefined_seeds"]) == 2, task


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
    params["name"] = "paper-tiny"
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
    """The default profile end to end (minutes warm: it reuses the user's cache, CLOSERLOOK_USER_CACHE or the
    default) against the key numbers of the committed default run on this CPU model (golden_record). Re-record after an
    intended change: python run_all.py && python -m closerlook.provenance --record-golden results/default
    tests/golden/default/<cpu>.json
    """
    import pooch
    from closerlook.provenance import key_numbers
    # The user's cache (CLOSERLOOK_CACHE_DIR as set outside the tests, else the default), not the tests' private one.
    user_cache = os.environ.get("CLOSERLOOK_USER_CACHE") or pooch.os_cache("closerlook")
    proc, results = run_all(REPO / "params" / "default.yaml", tmp_path, Path(user_cache))
    assert proc.returncode == 0, proc.stdout[-3000:]
    golden = json.loads(golden_record("default").read_text())
    now = key_numbers(tmp_path / "results" / "default")
    moved = golden_moved(chapters(golden), chapters(now))
    assert not moved, f"{len(moved)} key numbers moved:\n" + "\n".join(moved[:40])


def golden_record(profile: str) -> Path:
    """tests/golden/<profile>/<CPU kind>.json (provenance.cpu_kind: the model and the vector instructions torch
    uses). The numbers are the same run to run on one kind, but not across kinds: the BLAS kernels that the vector
    units choose round differently, and a probe's training amplifies that (the smoke run on an AMD EPYC with AVX2
    moved 96 of 1268 numbers from the record made on an Intel Xeon with AVX-512, all of them probe accuracies, the
    claims built on them and five minimum-distance changes at 2e-5; an AVX-512 EPYC moved 39 from the AVX2 EPYC's
    record; the same code gave the same numbers twice on each). A CPU kind without a record is a failure that says
    how to make one, never a pass."""
    from closerlook.provenance import cpu_kind
    path = REPO / "tests" / "golden" / profile / f"{cpu_kind()}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.json")))
        pytest.fail(f"no golden record of the {profile} profile for this CPU kind ({cpu_kind()}; recorded: {known}). "
                    f"Check that the code computes what it did on a recorded CPU, then record one: python run_all.py "
                    f"--params {profile} && python -m closerlook.provenance --record-golden results/{profile} "
                    f"{path.relative_to(REPO)}")
    return path



def golden_moved(golden: dict, now: dict) -> list[str]:
    """The key numbers that moved beyond 1e-4 relative (1e-5 absolute), one line each.

    Every task is held to it, DEP included: DEP's fine-tuning used to differ in the last bits between runs (the
    backward of gathering a head word's row once per dependent added its gradients in a thread-timing-dependent
    order; see finetune._targets_vectors), which once in a few cold runs flipped the probe's grid choice. With the
    gather made deterministic, eight DEP fine-tunings under load gave one set of weights.

    Hull distances are solved to DISTANCE_RTOL (1e-4) of themselves, so a key number that is the difference of two
    of them (a label's minimum-distance change, a mean change near 0) is only known to about 1e-4 of the distances,
    not of itself: one CI run (c7e1b93) moved two such numbers, 0.0059747 -> 0.0059735 and 0.0164691 ->
    0.0164667, with the same code, while two fresh runs beside each other gave the recorded values exactly. The
    absolute floor, 1e-5, covers that; a changed stage moves hundreds of numbers by far more.
    """
    from closerlook.provenance import moved_numbers

    def record(key):                    # "01_divergence/baselines/3/acc" -> "01_divergence/baselines"
        return "/".join(key.split("/")[:2])
    recorded = {record(k) for k in golden}
    newer = sorted({record(k) for k in now} - recorded)
    if newer:
        # Records a chapter keeps that the golden record's run did not have yet (the claims under both readings,
        # issue 27; the baselines, issue 31; on a CPU model not re-recorded since): they are not checked, and the warning says so. A record that the golden
        # run had and this run lacks is still a moved number.
        warnings.warn(f"the golden record predates {', '.join(newer)}: those numbers are not checked")
        now = {k: v for k, v in now.items() if record(k) in recorded}
    return moved_numbers(golden, now, rel=1e-4, absolute=1e-5)


def chapters(numbers: dict) -> dict:
    """The chapters' own key numbers (and their solutions'); 06's ledger, and its solutions, depend on which other
    profiles have results beside."""
    return {k: v for k, v in numbers.items() if not k.startswith("06_reproduction")}


def test_key_numbers_match_the_golden_record(smoke):
    """The smoke profile is deterministic on CPU (see golden_moved), so every key number it records (Table 7,
    #clusters, similarities and their intervals, minimum-distance changes, Table 5, layer similarities, ranges,
    verdicts) is checked against tests/golden/smoke/<CPU model>.json (golden_record). The tolerance (1e-4 relative)
    is far below what a change of any stage moves. After an intended change, re-record on each CPU model you have:
    python run_all.py --params smoke && python -m closerlook.provenance --record-golden results/smoke
    tests/golden/smoke/<cpu>.json
    """
    from closerlook.provenance import key_numbers
    _, _, out = smoke
    golden, now = chapters(json.loads(golden_record("smoke").read_text())), chapters(key_numbers(out / "results" / "smoke"))
    moved = golden_moved(golden, now)
    assert not moved, f"{len(moved)} key numbers moved:\n" + "\n".join(moved[:40])
    assert len(golden) > 1000 and sum("/dep" in k or "|dep" in k for k in golden) > 100


def test_solutions_answer_their_exercises(smoke):
    """Every chapter's solutions ran on the smoke profile (test_every_notebook_runs) and their answers are what the
    solution's prose says they are."""
    from closerlook.data import load_task
    _, results, _ = smoke
    answer = {name: results[f"{name}_solutions"]["numbers"] for name in NOTEBOOKS}
    primer = answer["00_directprobe_primer"]
    assert primer["halves_clusters"] == 2                        # a line separates them: one cluster per label
    assert primer["clusters_by_points"]["640"] >= 4              # the disc, and a ring that needs at least 3 pieces
    tasks = answer["00_tasks_and_models"]
    pos = load_task("pos", "train")
    assert tasks["dep_per_pos"] == pytest.approx(1 - len(pos.sentences) / len(pos))   # one root per sentence
    assert 0.1 < tasks["construal_share"] < 0.5
    trec = [set(load_task("trec", split).label_set) for split in ("train", "test")]
    assert tasks["labels_missing_from_test"]["trec"] == len(trec[0] - trec[1]) > 0
    for row in answer["02_linearity"]["clusters_by_layer"]:
        assert row["original"] >= row["labels"] and row["fine-tuned"] >= row["labels"], row
    one_copy = answer["02_linearity"]["trec_one_copy"]      # TREC-50's whole training split
    assert one_copy["twin rows"] == 2 and one_copy["rows left out"] == 1
    assert one_copy["both copies: clusters"] > one_copy["labels"] and one_copy["one copy: linear"]
    for row in answer["01_divergence"]["similarity_by_layer"]:
        for k in ("before", "after"):
            assert row[k] is None or -1 <= row[k] <= 1
    assert set(answer["04_cross_task"]["ps_role_gap_change"]) == {"ps-fxn", "pos"}
    ranges = answer["05_layer_behavior"]["shift_ranges"]
    assert set(ranges) == {"pos", "dep", "ps-role", "ps-fxn", "trec"}
    assert all(len(by_layer) == 4 for by_layer in ranges.values())   # smoke stores layers 1, 2, 4 and 6
    assert answer["06_reproduction"]["similarity_verdict_drop_over_0.05"]["smoke"] in \
        ("holds", "does not hold", "not testable here")
