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
# # Solutions: §4.2 linearity
# The exercises are at the end of `../02_linearity.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../results/default/numbers"

# %%
import numpy as np
import pandas as pd

from closerlook import experiments as ex
from closerlook.data import load_task
from closerlook.params import load_params
from closerlook.report import Report
from closerlook.representations import represent

params = load_params(params_path)
report = Report("02_linearity_solutions")
model = params["dynamics_model"]
first_layer = params["directprobe"]["dynamics_layers"][0]

# %% [markdown]
# ## 1. Linearity in a lower layer
# The number of clusters on the training set at the first stored layer and at the last, before and after fine-tuning. One
# might expect the lower layer, further from the task's classifier, to need more clusters. But a few thousand
# points in hundreds of dimensions are often linear at every layer (one cluster per label): when the rows below
# say so, linearity cannot tell the layers apart, and the difference shows in the distances instead (chapter
# 03's second exercise).

# %%
rows = []
for task in params["tasks"]:
    labels = len(ex.task_data(params, task)[0].label_set)
    for layer in (first_layer, "last"):
        rows.append({"task": task, "layer": layer, "labels": labels,
                     **{rep: ex.snapshot_directprobe(params, model, task, i, layer).n_clusters_
                        for rep, i in (("original", 0), ("fine-tuned", -1))}})
clusters = pd.DataFrame(rows)
clusters

# %% [markdown]
# ## 2. Keep one copy of TREC-50's twin question
# The question is in the whole training split (a profile's subset may not reach it), so this takes the whole split
# under the original model. With both copies the authors' rule keeps each twin apart: more clusters than labels.
# Drop only the NUM:other copy and there is nothing identical left to separate: the space can be linear.

# %%
one_copy = None
if "trec" in params["tasks"]:
    enc = ex.encoder(params, model)
    whole = load_task("trec", "train")
    X = represent(enc, whole, layers=[enc.n_layers], progress=False)[0]
    twins = ex.conflicting_rows(X, whole.labels)
    both = ex.directprobe_keeping_twins(params, X, whole.labels)
    keep = np.ones(len(X), bool)
    keep[[r for r in twins if whole.labels[r] == "NUM:other"]] = False
    dp = ex.directprobe(params, X[keep], whole.labels[keep])
    one_copy = {"twin rows": len(twins), "both copies: clusters": both["clusters"], "rows left out": int((~keep).sum()),
                "one copy: clusters": dp.n_clusters_, "labels": len(dp.classes_), "one copy: linear": bool(dp.is_linear_)}
one_copy

# %%
report.record("clusters_by_layer", clusters.to_dict(orient="records"))
report.record("trec_one_copy", one_copy)
saved = report.save(results_dir)
