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
# # Solutions: §4.1 divergence
# The exercises are at the end of `../01_divergence.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../results/default/numbers"

# %%
import pandas as pd

from closerlook import experiments as ex
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("01_divergence_solutions")
model = params["dynamics_model"]
first_layer = params["directprobe"]["dynamics_layers"][0]

# %% [markdown]
# ## 1. Does a lower layer diverge too?
# The train/test similarity before (snapshot 0) and after (the last snapshot) fine-tuning, at the first stored
# layer and at the last, for every task. Fine-tuning changes the top of the network most (§4.5), so expect the
# lower layer to keep its train/test similarity better. An empty cell: that space is not linear, and the
# similarity is not defined.

# %%
rows = [{"task": task, "layer": layer, "before": ex.train_test_similarity(params, model, task, 0, layer),
         "after": ex.train_test_similarity(params, model, task, -1, layer)}
        for task in params["tasks"] for layer in (first_layer, "last")]
by_layer = pd.DataFrame(rows).assign(drop=lambda d: d.before - d.after)
by_layer.round(3)

# %% [markdown]
# ## 2. Fewer epochs
# The similarity at every snapshot of the main run, last layer: does the drop grow with training, or does it
# come at once? (The issue behind the full profile found a *rise* after 2 epochs on PS-fxn and a drop after 10.)

# %%
steps = ex.finetuned_run(params, model, "ps-fxn").steps if "ps-fxn" in params["tasks"] else []
along = pd.Series([ex.train_test_similarity(params, model, "ps-fxn", i) for i in range(len(steps))],
                  index=pd.Index(steps, name="update"), name="PS-fxn train/test similarity")
along.round(3)

# %%
report.record("similarity_by_layer", by_layer.to_dict(orient="records"))
report.record("ps_fxn_similarity_along", along.tolist())
saved = report.save(results_dir)
