# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Does the paper hold? The claims ledger
#
# **The question.** Chapters 00-05 each test a part of the paper on one profile. Which of the paper's findings
# hold on our model, and how sure are we?
#
# **How to read it.** One row per claim: the paper's evidence, then for each profile our evidence and the
# verdict: *holds* (where the verdict rests on a difference or a threshold, the whole interval lies on the claim's
# side), *does not hold* (contradicted, or the interval reaches the wrong side) or *not testable here* (the run
# cannot test it). Intervals: a bootstrap over label pairs for each Pearson similarity, and the spread over
# fine-tuning seeds for the before/after differences of §4.1 and §4.3 (the rules are in `closerlook.claims`).
# Everything here is read from what the runs recorded (`results/<profile>/numbers/`); nothing is typed.
#
# The profiles: **default** (subsets of the training data, 2 epochs, one seed: minutes on a CPU) and **full** (the
# paper's data and training on the same model: whole splits, 10 epochs, three seeds: hours on a CPU).

# %% tags=["parameters"]
results_root = "../results"
profiles = ["default", "full"]
results_dir = "../results/default/numbers"

# %%
from pathlib import Path

import pandas as pd

from closerlook import ledger
from closerlook.report import Report

report = Report("06_reproduction")
folders = {p: Path(results_root) / p / "numbers" for p in profiles}
claims = {p: c for p, f in folders.items() if (c := ledger.load_claims(f))}
used = {p: ledger.load_profile(folders[p]) for p in claims}
print("profiles with recorded results:", ", ".join(claims) or "none (run python run_all.py first)")
for p in profiles:
    if p not in claims:
        print(f"{p}: no results yet (python run_all.py --params {p})")

# %% [markdown]
# ## The ledger

# %%
table = ledger.ledger_table(claims, used)
shown = ["section", "claim", "paper"] + [f"{p}: {k}" for p in claims for k in ("ours", "verdict")]
(table[shown].style.hide(axis="index")
 .map(lambda v: {"holds": "background-color: #d8f0d8", "does not hold": "background-color: #f6d6d6",
                 "not testable here": "background-color: #eeeeee"}.get(v, ""),
      subset=[f"{p}: verdict" for p in claims])
 .set_properties(**{"text-align": "left", "white-space": "normal"}))

# %% [markdown]
# ## Where the profiles differ, and why
# For each claim whose verdict is not the same in every profile: each side's reason, and the settings the
# profiles differ in.

# %%
differ = table[table["where they differ"] != ""][["section", "claim", "where they differ"]]
differ.style.hide(axis="index").set_properties(**{"text-align": "left", "white-space": "normal"})

# %%
for p in claims:
    print(f"{p}: verdicts per state:", table[f"{p}: verdict"].value_counts().to_dict())
if len(claims) == 2:
    a, b = claims
    print(f"{a} vs {b} differ in:", "; ".join(ledger.profile_differences(used[a], used[b])) or "nothing recorded")

# %% [markdown]
# ## Does the seed flip a verdict?
# Within each profile: the cases whose results fall on both sides of a claim depending on the fine-tuning seed.

# %%
flips = {p: ledger.seed_flips(folders[p]) for p in claims}
for p, items in flips.items():
    print(f"{p}:", "no case changes side with the seed" if not items else "")
    for item in items:
        print("   ", item)

# %% [markdown]
# ## TREC-50 and the question asked twice
# "what is the chromosome number of an elephant ?" is in TREC-50's training file twice, as NUM:count and as
# NUM:other. The authors' code keeps both copies; since no clustering can separate two identical points, each
# stays a cluster of its own (their hulls coincide), and TREC-50 cannot be linear, before or after fine-tuning.
# That matches their Table 4: 51-52 clusters for 50 labels after fine-tuning. Ours leaves the pair out and says so.

# %%
trec = ledger.trec_table(folders)
trec

# %% [markdown]
# ## Recorded

# %%
report.record("ledger", table.to_dict(orient="records"))
report.record("seed_flips", flips)
report.record("trec", trec.to_dict(orient="records"))
saved = report.save(results_dir)

# %% [markdown]
# ## Exercises
# Predict each answer before you run anything; the solutions are in `solutions/06_reproduction_solutions.py`.
#
# 1. **A stricter rule.** Ask §4.1 for a similarity drop of at least 0.05 in every seed instead of > 0 (shift
#    every seed's interval recorded in `numbers/01_divergence.json` and call `claims.similarity_drops`). Which
#    profile's verdict changes?
# 2. **Gains within the noise.** The Welch interval of each Table 7 accuracy gain over the probe seeds
#    (`claims.mean_difference_interval`): which gains could a second run turn around?
