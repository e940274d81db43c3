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
# # §4.5 Layer behavior (Figures 4, 5 and 7-10)
#
# **The question.** Higher layers are known to change more than lower ones during fine-tuning. Do they change
# arbitrarily? And do the lower layers change at all?
#
# **The claims tested.** (1) Even the higher layers stay correlated with their original version: the spatial
# similarity (Pearson correlation of distance vectors) between a layer during fine-tuning and the same layer
# before it stays above 0.5. (2) The labels of lower layers move within a smaller range than those of higher
# layers (PCA of each label's centroid shift).
#
# **How.** Figure 4: at every snapshot, DirectProbe on every other layer of the dynamics model, for each task
# that is linear there; the distance vector is correlated with the one of the same layer at step 0. A layer where
# a snapshot is not linear has no distance vector and is left out, as the paper leaves out TREC-50.
# Figures 5, 7-10: for every label, the difference between its centroid after and before fine-tuning; a 2-D PCA
# of these differences per layer; we report each layer's axis ranges.

# %% tags=["parameters"]
params_path = "../params/default.yaml"
figures_dir = "../figures"
results_dir = "../outputs/results"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from closerlook import experiments as ex
from closerlook.geometry import probe_similarity
from closerlook.params import load_params
from closerlook.plots import save_figure
from closerlook.report import Report

params = load_params(params_path)
report = Report("05_layer_behavior")
model = params["dynamics_model"]
enc = ex.encoder(params, model)
layers = ex.dynamics_layers(params, enc)
every_other = [l for l in layers if l % 2 == 0 and l > 0]
print(f"model {model}: stored layers {layers}; Figure 4 uses {every_other}")

# %% [markdown]
# ## Figure 4: similarity of each layer to its original, along fine-tuning

# %%
similarity = {}
for task in params["tasks"]:
    run = ex.finetuned_run(params, model, task)
    for layer in every_other:
        start = ex.snapshot_directprobe(params, model, task, 0, layer)
        if not start.is_linear_:
            continue
        values = []
        for i in range(len(run.steps)):
            dp = ex.snapshot_directprobe(params, model, task, i, layer)
            values.append(probe_similarity(start, dp) if dp.is_linear_ else np.nan)
        similarity[(task, layer)] = (run.steps, values)
tasks4 = sorted({t for t, _ in similarity}, key=params["tasks"].index)
fig, axes = plt.subplots(1, max(len(tasks4), 1), figsize=(4 * max(len(tasks4), 1), 3.3), squeeze=False)
for ax, task in zip(axes[0], tasks4):
    for (t, layer), (steps, values) in similarity.items():
        if t == task:
            ax.plot(steps, values, marker="o", ms=3, label=f"layer {layer}")
    ax.axhline(0.5, color="0.6", ls="--", lw=1)
    ax.set_title(f"{task} ({model})")
    ax.set_xlabel("fine-tuning updates")
    ax.set_ylabel("Pearson vs original")
    ax.legend(fontsize=7)
save_figure(fig, "fig04_layer_similarity", figures_dir)
plt.show()
final_similarity = pd.DataFrame([{"task": t, "layer": l, "final similarity": v[-1]} for (t, l), (s, v) in similarity.items()])
final_similarity.pivot(index="task", columns="layer", values="final similarity").round(3) if len(final_similarity) else final_similarity

# %% [markdown]
# ## Figures 5 and 7-10: how far each label's centroid moves, per layer
# Figure 5 shows POS on every other layer; Figures 7 (POS), 8 (DEP), 9 (PS-fxn) and 10 (PS-role) show all stored
# layers.

# %%
figure_numbers = {"pos": "fig07", "dep": "fig08", "ps-fxn": "fig09", "ps-role": "fig10"}
ranges = []

def shift_pca(task, layer):
    labels, paths = ex.centroid_paths(params, model, task, layer)
    shift = paths[-1] - paths[0]
    return labels, PCA(2).fit_transform(shift)

def plot_shifts(task, chosen_layers, name):
    fig, axes = plt.subplots(1, len(chosen_layers), figsize=(3.2 * len(chosen_layers), 3.2), squeeze=False)
    for ax, layer in zip(axes[0], chosen_layers):
        labels, xy = shift_pca(task, layer)
        ax.scatter(xy[:, 0], xy[:, 1], s=12)
        for lab, (a, b) in zip(labels, xy):
            ax.annotate(lab, (a, b), fontsize=6)
        ax.set_title(f"{task}, layer {layer}")
    save_figure(fig, name, figures_dir)
    plt.show()

for task in [t for t in ("pos", "dep", "ps-fxn", "ps-role") if t in params["tasks"]]:
    for layer in layers:
        labels, xy = shift_pca(task, layer)
        ranges.append({"task": task, "layer": layer, "x from": xy[:, 0].min(), "x to": xy[:, 0].max(),
                       "y from": xy[:, 1].min(), "y to": xy[:, 1].max(),
                       "range": max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]))})
    if task == "pos":
        plot_shifts(task, every_other, "fig05_pos_centroid_shift_every_other_layer")
    plot_shifts(task, layers, f"{figure_numbers[task]}_{task}_centroid_shift_all_layers")
ranges = pd.DataFrame(ranges)
ranges.round(2)

# %% [markdown]
# ## Claims

# %%
higher = [l for l in every_other if l > enc.n_layers // 2]
high_final = final_similarity[final_similarity.layer.isin(higher)]["final similarity"] if len(final_similarity) else pd.Series(dtype=float)
r = ranges.pivot(index="task", columns="layer", values="range") if len(ranges) else pd.DataFrame()
low, high = layers[0], layers[-1]
smaller = int((r[low] < r[high]).sum()) if len(r) else 0
report.record("final_similarity", final_similarity.to_dict(orient="records"))
report.record("ranges", ranges.to_dict(orient="records"))
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
report.claim("Higher layers stay correlated with their original (> 0.5)", "Figure 4: BERT-base layers 8-12 stay above 0.5",
             f"final similarity of layers {higher}: " + ", ".join(f"{v:.2f}" for v in high_final),
             len(high_final) > 0 and bool((high_final > 0.5).all()))
report.claim("Lower layers' labels move in a smaller range than higher layers'", "Figure 5: layer 2 spans about -3..3, layer 12 about -12..13",
             f"layer {low} range < layer {high} range for {smaller} of {len(r)} tasks", len(r) > 0 and smaller == len(r))
report.save(results_dir)
report.claims_table()
