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
# # Solutions: §4.3 label spacing
# The exercises are at the end of `../03_label_spacing.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../results/default/numbers"

# %%
import pandas as pd

from closerlook import experiments as ex
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("03_label_spacing_solutions")
model = params["dynamics_model"]
first_layer = params["directprobe"]["dynamics_layers"][0]
tasks = ex.linear_tasks(params, model)

# %% [markdown]
# ## 1. The closest labels of another task
# Figure 3 follows POS's three closest labels. For each linear task, the trio whose centroids are closest before
# fine-tuning: are they labels a linguist would call related?

# %%
pd.Series({task: ", ".join(ex.closest_labels(params, model, task)) for task in tasks}, name="closest trio")

# %% [markdown]
# ## 2. Do labels move apart in a lower layer too?
# The mean change of the labels' minimum distances, first stored layer vs last (main seed). §4.5 leads one to
# expect a smaller change in the lower layer; the table says whether it is.

# %%
rows = []
for task in tasks:
    for layer in (first_layer, "last"):
        changes = ex.min_distance_changes(params, model, task, layer)
        main = changes["seeds"][0] if changes and changes["seeds"] else None
        rows.append({"task": task, "layer": layer,
                     "mean change": main["mean_change"] if main else float("nan"),
                     "labels grown": sum(v > 0 for v in main["change"].values()) if main else None,
                     "labels": len(main["change"]) if main else None})
growth = pd.DataFrame(rows)
growth.round(3)

# %%
report.record("min_distance_growth_by_layer", growth.to_dict(orient="records"))
saved = report.save(results_dir)
