"""The claims ledger: every claim of the paper, one row each, with each profile's evidence and verdict.

Built from what the runs recorded (results/<profile>/numbers/*.json and the profile each run used), never typed.
Where two profiles' verdicts differ, the row says so, with each side's reason and the settings in which the
profiles differ (training data, epochs, seeds), so a reader sees what may flip the verdict.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import yaml

NOTEBOOK_ORDER = ["00_directprobe_primer", "00_tasks_and_models", "01_divergence", "02_linearity", "03_label_spacing", "04_cross_task",
                  "05_layer_behavior"]


def load_claims(numbers_dir, reading: str | None = None) -> list[dict]:
    """The claims a profile's run recorded, in notebook order ([] when it has not run). ``reading`` ("exact" or
    "authors", or a step of the ablation): the claims a reading of the geometry moves are taken as computed under
    it (``experiments.claims_by_reading``); None: as the chapters computed them, under the profile's reading."""
    numbers_dir = Path(numbers_dir)
    run_reading = ((load_profile(numbers_dir) or {}).get("analysis") or {}).get("conventions", "exact")
    out = []
    for name in NOTEBOOK_ORDER:
        path = numbers_dir / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text())
            claims = data.get("claims", [])
            if reading is not None:
                by_reading = data.get("claims_by_reading") or {}
                # A chapter that reads no label distance (the primers) records none; one recorded before the
                # readings existed has its claims under the run's reading only, and cannot stand for another.
                if not by_reading and reading != run_reading and name not in ("00_directprobe_primer",
                                                                              "00_tasks_and_models"):
                    raise KeyError(f"{path}: recorded under the {run_reading!r} reading only (before the claims were "
                                   f"kept under both): run the chapter again for the {reading!r} reading")
                if by_reading and reading not in by_reading:
                    raise KeyError(f"{path}: no claims under the reading {reading!r} (recorded: {', '.join(by_reading)})")
                moved = {c["id"]: c for c in by_reading.get(reading, [])}
                claims = [moved.get(c["id"], c) for c in claims]
            out += claims
    return out


def load_readings(numbers_dirs: dict) -> dict[str, list[dict]]:
    """{"<profile> · exact": claims, "<profile> · authors": claims, ...} for every profile that has results: the
    ledger's columns, both readings of each profile side by side."""
    out = {}
    for profile, folder in numbers_dirs.items():
        for reading in ("exact", "authors"):
            try:
                claims = load_claims(folder, reading)
            except KeyError as e:
                print(f"{profile}: no {reading} reading ({e.args[0]})")
                continue
            if claims:
                out[f"{profile} · {reading}"] = claims
    return out


def ablation_table(numbers_dir) -> pd.DataFrame:
    """For every claim whose verdict differs between ours and the authors' reading: its verdict under each step of
    the ablation (the authors' reading with one convention switched back to ours). The conventions whose column
    turns back to ours' verdict are those that decide it, named in the last column."""
    numbers_dir = Path(numbers_dir)
    rows, recorded = [], False
    for name in NOTEBOOK_ORDER:
        path = numbers_dir / f"{name}.json"
        by_reading = json.loads(path.read_text()).get("claims_by_reading") if path.exists() else None
        if not by_reading:
            continue
        recorded = True
        verdicts = {r: {c["id"]: c for c in claims} for r, claims in by_reading.items()}
        for cid, exact in verdicts["exact"].items():
            authors = verdicts["authors"][cid]
            if exact["verdict"] == authors["verdict"]:
                continue
            row = {"claim": f"{exact['section']}: {exact['claim']}", "exact": exact["verdict"],
                   "authors": authors["verdict"]}
            steps = [r for r in verdicts if r.startswith("authors without ")]
            for r in steps:
                row[r.removeprefix("authors ")] = verdicts[r][cid]["verdict"]
            row["decided by"] = ", ".join(r.removeprefix("authors without ") for r in steps
                                          if verdicts[r][cid]["verdict"] == exact["verdict"]) or \
                "no single convention (only several together)"
            rows.append(row)
    if not recorded:
        # An empty table would say that the readings agree; a run that never computed the second says nothing.
        raise KeyError(f"{numbers_dir}: no claims recorded under both readings (a run from before them): run it again")
    return pd.DataFrame(rows)


def load_profile(numbers_dir) -> dict | None:
    """The profile a run used (run_all.py keeps a copy beside its numbers)."""
    path = Path(numbers_dir).parent / "profile.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else None


def profile_differences(a: dict | None, b: dict | None) -> list[str]:
    """The settings two profiles differ in, in words: training data, epochs, snapshots, seeds, probe grid."""
    if not a or not b:
        return []
    out = []
    da = (a.get("data") or {}).get("max_train_sentences") or {}
    db = (b.get("data") or {}).get("max_train_sentences") or {}
    if da != db:
        tasks = sorted(set(da) | set(db))
        out.append("training data (" + ", ".join(f"{t} {da.get(t) or 'all'} vs {db.get(t) or 'all'}" for t in tasks
                                                 if da.get(t) != db.get(t)) + ")")
    fa, fb = a.get("finetune", {}), b.get("finetune", {})
    if fa.get("epochs") != fb.get("epochs"):
        out.append(f"epochs ({fa.get('epochs', {}).get('default')} vs {fb.get('epochs', {}).get('default')})")
    sa, sb = fa.get("seeds") or [fa.get("seed", 0)], fb.get("seeds") or [fb.get("seed", 0)]
    if len(sa) != len(sb):
        out.append(f"fine-tuning seeds ({len(sa)} vs {len(sb)})")
    if fa.get("snapshots") != fb.get("snapshots"):
        out.append(f"snapshots ({fa.get('snapshots')} vs {fb.get('snapshots')})")
    if a.get("probe") != b.get("probe"):
        out.append("probe grid")
    if a.get("models") != b.get("models"):
        out.append("models")
    return out


def ledger_table(results: dict[str, list[dict]], profiles: dict[str, dict | None] | None = None) -> pd.DataFrame:
    """One row per claim id over several profiles' recorded claims ({profile: [claim dicts]}): the claim, the
    paper's evidence, each profile's evidence and verdict, and where verdicts differ, a sentence on why."""
    order, by_id = [], {}
    for profile, claims in results.items():
        for c in claims:
            if c["id"] not in by_id:
                order.append(c["id"])
                by_id[c["id"]] = {"id": c["id"], "section": c["section"], "claim": c["claim"], "paper": c["paper"]}
            by_id[c["id"]][f"{profile}: ours"] = c["ours"]
            by_id[c["id"]][f"{profile}: verdict"] = c["verdict"]
            by_id[c["id"]][f"{profile}: reason"] = c["reason"]
    names = list(results)
    settings = []
    if profiles and len(names) == 2:
        settings = profile_differences(profiles.get(names[0]), profiles.get(names[1]))
    rows = []
    for cid in order:
        row = by_id[cid]
        for p in names:
            row.setdefault(f"{p}: verdict", "not run")
            row.setdefault(f"{p}: ours", "")
            row.setdefault(f"{p}: reason", "")
        verdicts = {p: row[f"{p}: verdict"] for p in names}
        if len(set(verdicts.values())) > 1:
            row["where they differ"] = "; ".join(f"{p}: {v}" + (f" ({row[f'{p}: reason']})" if row[f"{p}: reason"] else "")
                                                 for p, v in verdicts.items())
            if settings:
                row["where they differ"] += "; the profiles differ in " + ", ".join(settings)
        else:
            row["where they differ"] = ""
        rows.append(row)
    columns = ["id", "section", "claim", "paper"] + [f"{p}: {k}" for p in names for k in ("ours", "verdict", "reason")]
    return pd.DataFrame(rows, columns=columns + ["where they differ"])


def text_ledger(results: dict[str, list[dict]], profiles: dict | None = None, width: int = 118) -> str:
    """The ledger as plain text for a terminal: each claim, the paper's evidence, each profile's verdict."""
    table = ledger_table(results, profiles)
    lines = []
    for _, row in table.iterrows():
        lines.append(f"{row['section']}: {row['claim']}")
        lines.append(textwrap.fill(f"paper: {row['paper']}", width, initial_indent="    ", subsequent_indent="      "))
        for p in results:
            lines.append(textwrap.fill(f"{p}: [{row[f'{p}: verdict']}] {row[f'{p}: ours']}", width,
                                       initial_indent="    ", subsequent_indent="      "))
    counts = {p: {v: int((table[f"{p}: verdict"] == v).sum()) for v in ("holds", "does not hold", "not testable here")}
              for p in results}
    lines.append("totals: " + "; ".join(f"{p}: {c['holds']} hold, {c['does not hold']} do not, "
                                        f"{c['not testable here']} not testable" for p, c in counts.items()))
    return "\n".join(lines)


def load_numbers(numbers_dir, notebook: str) -> dict:
    path = Path(numbers_dir) / f"{notebook}.json"
    return json.loads(path.read_text()).get("numbers", {}) if path.exists() else {}


def trec_table(numbers_dirs: dict) -> pd.DataFrame:
    """TREC-50 with the question asked twice kept (the authors' handling) and dropped (ours), per profile."""
    rows = []
    for profile, folder in numbers_dirs.items():
        for r in load_numbers(folder, "02_linearity").get("trec_twins", []):
            rows.append({"profile": profile, **r})
    return pd.DataFrame(rows)


def beyond_table(numbers_dirs: dict) -> pd.DataFrame:
    """Beyond the paper (chapters 01 and 05), one row per profile and task: the probe's accuracy of the
    random-weights encoder, the original and the fine-tuned model; the selectivity (task minus control-task
    accuracy) before and after fine-tuning; how similar the random encoder's label geometry is to the original's;
    the p-value of the train/test similarity after fine-tuning; and whether CKA and the Pearson of distance vectors
    agree that the highest layer moved most. Empty for a profile recorded before these existed."""
    rows = []
    for profile, folder in numbers_dirs.items():
        baselines = load_numbers(folder, "01_divergence").get("baselines", [])
        agree = {r["task"]: r["agree"] for r in load_numbers(folder, "05_layer_behavior").get("measures_agree", [])}
        for task in dict.fromkeys(r["task"] for r in baselines):
            by_rep = {r["rep"]: r for r in baselines if r["task"] == task}
            rows.append({"profile": profile, "task": task,
                         "acc: random": by_rep["random weights"]["acc"], "acc: original": by_rep["original"]["acc"],
                         "acc: fine-tuned": by_rep["fine-tuned"]["acc"],
                         "selectivity: original": by_rep["original"]["selectivity"],
                         "selectivity: fine-tuned": by_rep["fine-tuned"]["selectivity"],
                         "random vs original geometry": by_rep["random weights"]["similarity to original"],
                         "train/test p (fine-tuned)": by_rep["fine-tuned"]["similarity p"],
                         "CKA and Pearson agree": agree.get(task)})
    return pd.DataFrame(rows)


def beyond_findings(table: pd.DataFrame) -> list[str]:
    """What ``beyond_table`` says, per profile, in a few sentences computed from it."""
    out = []
    for profile, t in table.groupby("profile", sort=False):
        n = len(t)
        share = 100 * t["acc: random"] / t["acc: original"]
        rises = t[t["selectivity: fine-tuned"] > t["selectivity: original"]].task.tolist()
        geometry = t["random vs original geometry"].dropna()
        above = t[t["train/test p (fine-tuned)"] < 0.01].task.tolist()
        agree = t["CKA and Pearson agree"].dropna()
        out.append(f"{profile}: the random-weights encoder's probe reaches {share.min():.0f}-{share.max():.0f}% of the "
                   f"original's accuracy; fine-tuning raises selectivity in {len(rises)} of {n} tasks "
                   f"({', '.join(rises) or 'none'}); "
                   + (f"the random encoder's label geometry correlates {geometry.min():.2f}-{geometry.max():.2f} "
                      f"with the original's ({len(geometry)} linear task(s)); " if len(geometry) else
                      "the random encoder is linear on no task (no geometry to compare); ")
                   + f"the train/test similarity after fine-tuning is above chance (p < 0.01) in {len(above)} of "
                   f"{t['train/test p (fine-tuned)'].notna().sum()} measured tasks; CKA and the Pearson of distance "
                   f"vectors agree on which layer moves most in {int(agree.sum())} of {len(agree)} task(s).")
    return out


def seed_flips(numbers_dir) -> list[str]:
    """Where a verdict would change with the fine-tuning seed: cases whose per-seed results fall on both sides."""
    out = []
    for case in load_numbers(numbers_dir, "01_divergence").get("similarity_cases", []):
        signs = {s["seed"]: s["drop"] > 0 for s in case["seeds"]}
        if len(set(signs.values())) > 1:
            out.append(f"§4.1 {case['case']}: the similarity drops in seeds "
                       f"{[k for k, v in signs.items() if v]} and rises in {[k for k, v in signs.items() if not v]}")
        if case.get("undefined_seeds"):
            out.append(f"§4.1 {case['case']}: not linear after fine-tuning in seeds {case['undefined_seeds']}")
    for task in load_numbers(numbers_dir, "03_label_spacing").get("min_distance_changes", []):
        labels = set().union(*(s["change"] for s in task["seeds"])) if task["seeds"] else set()
        mixed = sorted(l for l in labels if len({s["change"][l] > 0 for s in task["seeds"] if l in s["change"]}) > 1)
        if mixed:
            out.append(f"§4.3 {task['task']}: {len(mixed)} label(s) grow in some seeds and shrink in others "
                       f"({', '.join(mixed[:5])}{' ...' if len(mixed) > 5 else ''})")
        if task.get("undefined_seeds"):
            out.append(f"§4.3 {task['task']}: not linear after fine-tuning in seeds {task['undefined_seeds']}")
    out += _cross_task_flips(load_numbers(numbers_dir, "04_cross_task").get("table5", []))
    return out


def _cross_task_flips(table5: list[dict]) -> list[str]:
    """§4.4: own (PS-fxn) against related (PS-role) fine-tuning, seed by seed, for gaps and accuracy."""
    by = {(r["fine-tuned on"], r.get("seed")): r for r in table5}
    seeds = sorted({s for (name, s) in by if name == "ps-fxn" and ("ps-role", s) in by and s is not None})
    out = []
    for column, what in (("average inc", "mean gap change"), ("acc", "probe accuracy")):
        pairs = {s: (by["ps-fxn", s].get(column), by["ps-role", s].get(column)) for s in seeds}
        own_wins = {s: own > related for s, (own, related) in pairs.items()
                    if own is not None and related is not None and own == own and related == related}
        if len(set(own_wins.values())) > 1:
            out.append(f"§4.4: PS-fxn's {what} is larger after PS-fxn fine-tuning than after PS-role fine-tuning in "
                       f"seeds {[s for s, v in own_wins.items() if v]}, not in "
                       f"{[s for s, v in own_wins.items() if not v]}")
    return out


def causes(numbers_dir) -> pd.DataFrame:
    """For every claim that does not hold (as the chapters computed it, under the profile's reading): what the
    run measured that bears on why, or "cause not found". §4.1: the train/test similarity along fine-tuning
    (chapter 01's trajectory); §4.5: when each layer fell below 0.5 (chapter 05's crossings) beside the paper's 3
    epochs of BERT-base; §4.2's TREC-50: the question asked twice, and the labels the training data hold; any
    claim: the cases that change side with the fine-tuning seed. Where the two readings disagree, the ablation
    table is the cause (``ablation_table``)."""
    n01, n02, n05 = (load_numbers(numbers_dir, nb) for nb in ("01_divergence", "02_linearity", "05_layer_behavior"))
    flips = seed_flips(numbers_dir)
    rows = []
    for c in load_claims(numbers_dir):
        if c["verdict"] != "does not hold":
            continue
        found = []
        if c["id"] == "4.1-similarity":
            for s in n01.get("trajectory_summary", []):
                if not s.get("measured snapshots"):
                    continue
                below, above = s.get("first epoch below the original"), s.get("first epoch above the original")
                found.append(f"{s['task']}: " + ("falls steadily" if s["monotone fall"] else
                                                 f"peaks at epoch {s['peak epoch']:.1f} ({s['peak similarity']:.2f})") +
                             (f", below the original beyond the interval from epoch {below:.1f}" if below is not None
                              else ", never below the original beyond the interval") +
                             (f", above it from epoch {above:.1f}" if above is not None else "") +
                             f", ends at {s['last similarity']:.2f}")
        elif c["id"] == "4.5-correlated":
            crossed = [r for r in n05.get("crossings", []) if r["first snapshot below"] is not None]
            found += [f"{r['task']}/layer {r['layer']} below 0.5 from epoch {r['epoch']:.1f} of {r['of epochs']:g}"
                      for r in crossed]
            if crossed:
                found.append("the paper's BERT-base was fine-tuned for 3 epochs")
        elif c["id"].startswith("4.2-trec"):
            for r in n02.get("trec_twins", []):
                if r["rep"] == "original":
                    found.append(f"{r['model']}: twins kept {r['#clusters, twins kept (authors)']} clusters, dropped "
                                 f"{r['#clusters, twins dropped (ours)']}, for {r['labels']} labels in the training "
                                 f"data (the paper: 50)")
        section = c["section"].split(",")[0]
        found += [f for f in flips if f.startswith(section)]
        rows.append({"id": c["id"], "claim": f"{c['section']}: {c['claim']}", "ours": c["ours"],
                     "measured cause": "; ".join(found) if found else "cause not found"})
    return pd.DataFrame(rows, columns=["id", "claim", "ours", "measured cause"])
