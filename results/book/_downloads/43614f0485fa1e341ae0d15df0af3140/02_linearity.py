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
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # §4.2 Linearity of representations (Tables 3 and 4)
#
# **The question.** How does fine-tuning change the geometry of the labelled space?
#
# **The claims tested.** (1) Fine-tuning makes the space simpler: the number of DirectProbe clusters does not
# grow, and usually falls toward the number of labels. (2) After fine-tuning, most task representations are
# linearly separable (one cluster per label). (3) TREC-50 is not linear before fine-tuning for any model
# (Table 4), and small models are often non-linear before fine-tuning (Table 3, BERT-tiny).
#
# **How.** DirectProbe on the training set of every task, last layer, before and after fine-tuning. The number
# of clusters equals the number of labels exactly when the labels are linearly separable.

# %% tags=["parameters"]
params_path = "../params/default.yaml"
figures_dir = "../figures/default"
results_dir = "../results/default/numbers"

# %%
import pandas as pd

from closerlook import experiments as ex
from closerlook.paper import table7 as paper_table7
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("02_linearity")

# %% [markdown]
# ## Table 3: #clusters and linearity of the last layer, every task (one table per model)

# %%
rows = [r for label in params["models"] for task in params["tasks"] for r in ex.table7_rows(params, label, task)]
ours = pd.DataFrame(rows)
table3 = ours.pivot_table(index=["model", "task"], columns="rep", values=["clusters", "linear", "acc"], aggfunc="first")
table3 = table3.reindex(columns=["original", "fine-tuned"], level=1)
table3.round(2)

# %% [markdown]
# The paper's Table 3 (BERT-tiny) beside ours:

# %%
paper = paper_table7()
tiny = paper[paper.model == "bert-tiny"].pivot(index="task", columns="rep", values=["clusters", "linear", "acc"])
tiny.reindex(columns=["original", "fine-tuned"], level=1)

# %% [markdown]
# ## Table 4: TREC-50 across models

# %%
trec = ours[ours.task == "trec"][["model", "rep", "clusters", "labels", "linear", "acc"]] if "trec" in params["tasks"] else pd.DataFrame()
trec

# %%
paper[paper.task == "trec"][["model", "rep", "clusters", "linear", "acc"]]

# %% [markdown]
# ## TREC-50 and the question asked twice
# One question of TREC-50's training file appears under two labels ("what is the chromosome number of an
# elephant ?", NUM:count and NUM:other). Both copies have the same representation under any model, and no
# clustering can separate two identical points. Our DirectProbe leaves such rows out (and says so). The authors'
# code keeps them: every merge that would put one of the twins into a larger cluster is refused, because that
# cluster's hull would contain its other-labelled twin, so the twins stay clusters of their own and the space is
# non-linear by construction. Both ways, before and after fine-tuning:

# %%
trec_twins = pd.DataFrame(ex.trec_twins_rows(params))
trec_twins

# %% [markdown]
# ## Claims

# %%
from closerlook import claims

report.record("clusters", ours[["model", "task", "rep", "clusters", "labels", "linear"]].to_dict(orient="records"))
report.record("trec_twins", trec_twins.to_dict(orient="records"))
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
for claim in claims.linearity(rows, trec_twins.to_dict(orient="records")):
    report.claim(claim)
readings = report.readings(ex.claims_by_reading(params, "02_linearity"), ex.reading_of(params).name)
report.save(results_dir)
report.claims_table()

# %% [markdown]
# ### The same claims under the authors' reading
# The authors' analysis code reads the geometry with conventions the paper does not state (clusters of at most
# 5 points dropped, distance vectors over the whole label list with zeros, the mean over cluster pairs, one
# fixed partition along fine-tuning, rate 0.05; chapter 06 and `closerlook/conventions.py` say what each does).
# Below: this chapter's claims that a convention can move, under ours (`exact`), under theirs (`authors`), and
# under theirs with one convention switched back to ours at a time: where `exact` and `authors` differ, the
# column that turns back to `exact`'s verdict names the convention that decides it.

# %%
readings

# %% [markdown]
# ## Exercises
# Predict each answer before you run anything; the solutions are in `solutions/02_linearity_solutions.py`.
#
# 1. **A lower layer.** #clusters on the training set at the first stored layer, before and after fine-tuning
#    (`ex.snapshot_directprobe(params, model, task, i, layer)`). More or fewer clusters than at the last layer?
# 2. **One copy of the twin question.** In TREC-50's whole training split, leave out only the NUM:other copy of
#    the twin question (`ex.conflicting_rows` finds both). Is the original model's TREC-50 space linear then?
