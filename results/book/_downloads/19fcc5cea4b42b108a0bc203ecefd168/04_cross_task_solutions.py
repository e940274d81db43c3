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
# # Solutions: §4.4 cross-task fine-tuning
# The exercises are at the end of `../04_cross_task.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../results/default/numbers"

# %%
import numpy as np
import pandas as pd

from closerlook import experiments as ex
from closerlook.geometry import label_min_distances
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("04_cross_task_solutions")
model = params["dynamics_model"]

# %% [markdown]
# ## 1. The other way round: PS-role under the model fine-tuned on PS-fxn
# Role and function are related tasks in both directions, so §4.4's reasoning predicts that fine-tuning on PS-fxn
# widens PS-role's gaps and fine-tuning on POS shrinks them. Below, the mean change of PS-role's minimum distances
# against the original model (empty: a space that is not linear): compare its signs with that prediction. A
# change near 0 says the other task's fine-tuning left PS-role's spacing as it was.

# %%
def mean_gap_change(target, source):
    train, _ = ex.task_data(params, target)
    before = ex.directprobe(params, ex.original(params, model, target)[0], train.labels)
    X, _ = ex.embed_with(params, ex.finetuned_run(params, model, source), target)
    after = ex.directprobe(params, X, train.labels)
    if not (before.is_linear_ and after.is_linear_):
        return float("nan")
    d0, d1 = label_min_distances(before), label_min_distances(after)
    return float(np.mean([d1[label] - d0[label] for label in d0]))

sources = [s for s in ("ps-fxn", "pos") if s in params["tasks"]]
swapped = pd.Series({s: mean_gap_change("ps-role", s) for s in sources} if "ps-role" in params["tasks"] else {},
                    name="PS-role: mean change of minimum distances", dtype=float)
swapped.round(4)

# %%
report.record("ps_role_gap_change", swapped.to_dict())
saved = report.save(results_dir)
