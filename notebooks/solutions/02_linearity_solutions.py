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
# # Solutions: §4.2 linearity
# The exercises are at the end of `../02_linearity.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../outputs/results"

# %%
import numpy as np
import pandas as pd

from closerlook import experiments as ex
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("02_linearity_solutions")
model = params["dynamics_model"]
first_layer = params["directprobe"]["dynamics_layers"][0]

# %% [markdown]
# ## 1. Linearity in a lower layer
# #clusters on the training set at the first stored layer and at the last, before and after fine-tuning. One
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
# Drop only the NUM:other copy of "what is the chromosome number of an elephant ?" and keep NUM:count. With
# one copy there is nothing identical to separate: the space can be linear again.

# %%
one_copy = None
if "trec" in params["tasks"]:
    train, _ = ex.task_data(params, "trec")
    X, _ = ex.original(params, model, "trec")
    twins = ex.conflicting_rows(X, train.labels)
    keep = np.ones(len(X), bool)
    keep[[r for r in twins if train.labels[r] != train.labels[twins[0]]][:1]] = False
    dp = ex.directprobe(params, X[keep], train.labels[keep])
    one_copy = {"twin rows": len(twins), "rows left out": int((~keep).sum()), "clusters": dp.n_clusters_,
                "labels": len(dp.classes_), "linear": bool(dp.is_linear_)}
one_copy

# %%
report.record("clusters_by_layer", clusters.to_dict(orient="records"))
report.record("trec_one_copy", one_copy)
saved = report.save(results_dir)
