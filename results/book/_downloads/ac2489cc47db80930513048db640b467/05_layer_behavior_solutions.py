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
# # Solutions: §4.5 layer behavior
# The exercises are at the end of `../05_layer_behavior.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../results/default/numbers"

# %%
import pandas as pd

from closerlook import experiments as ex
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("05_layer_behavior_solutions")
model = params["dynamics_model"]
layers = ex.dynamics_layers(params, ex.encoder(params, model))

# %% [markdown]
# ## 1. How far do the labels move, layer by layer?
# The span of the PCA of the labels' centroid shifts (`shift_range`) at every stored layer, for each task: the
# paper's claim is that it grows towards the top. Predict which task moves most at the last layer.

# %%
ranges = pd.DataFrame({task: {layer: ex.shift_range(ex.shift_pca(params, model, task, layer)[1]) for layer in layers}
                       for task in params["tasks"]})
ranges.index.name = "layer"
ranges.round(3)

# %% [markdown]
# ## 2. Raw distances instead of a PCA
# The PCA keeps two directions. The mean length of the shift vectors themselves tells the same story without
# it: compare the two columns of the last layer.

# %%
import numpy as np

lengths = pd.DataFrame({task: {layer: float(np.linalg.norm(ex.centroid_shift(params, model, task, layer)[1], axis=1).mean())
                               for layer in layers} for task in params["tasks"]})
lengths.index.name = "layer"
lengths.round(3)

# %%
report.record("shift_ranges", {t: {str(k): v for k, v in c.items()} for t, c in ranges.to_dict().items()})
report.record("shift_lengths", {t: {str(k): v for k, v in c.items()} for t, c in lengths.to_dict().items()})
saved = report.save(results_dir)
