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
figures_dir = "../figures"
results_dir = "../outputs/results"

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
# ## Claims

# %%
wide = ours.pivot_table(index=["model", "task"], columns="rep", values=["clusters", "linear"], aggfunc="first")
not_more = int((wide["clusters"]["fine-tuned"] <= wide["clusters"]["original"]).sum())
n = len(wide)
linear_after = int(wide["linear"]["fine-tuned"].astype(bool).sum())
trec_orig = ours[(ours.task == "trec") & (ours.rep == "original")]
trec_nonlinear = int((~trec_orig.linear.astype(bool)).sum())

report.record("clusters", ours[["model", "task", "rep", "clusters", "labels", "linear"]].to_dict(orient="records"))
report.record("n_cases", n)
report.record("n_clusters_not_more", not_more)
report.record("n_linear_after", linear_after)
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
report.claim("Fine-tuning makes the space simpler (no more clusters than before)", "Tables 3, 4, 7: clusters fall or stay",
             f"{not_more} of {n} cases", not_more == n)
report.claim("After fine-tuning most representations are linear", "Table 7: 20 of 25 (not TREC-50, not POS on BERT-tiny)",
             f"{linear_after} of {n} linear", linear_after > n / 2)
report.claim("TREC-50 is not linear before fine-tuning", "Table 4: 113-399 clusters for 50 labels",
             f"{trec_nonlinear} of {len(trec_orig)} models non-linear"
             + (f" ({int(trec_orig.clusters.iloc[0])} clusters for {int(trec_orig.labels.iloc[0])} labels)" if len(trec_orig) else ""),
             len(trec_orig) > 0 and trec_nonlinear == len(trec_orig))
report.save(results_dir)
report.claims_table()
