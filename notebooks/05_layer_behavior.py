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

from closerlook import claims
from closerlook import experiments as ex
from closerlook import plots
from closerlook.geometry import distance_vector, probe_similarity
from closerlook.params import load_params
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
similarity, final = {}, []
for task in params["tasks"]:
    run = ex.finetuned_run(params, model, task)
    for layer in every_other:
        start = ex.snapshot_directprobe(params, model, task, 0, layer)
        if not start.is_linear_:
            continue
        probes = [ex.snapshot_directprobe(params, model, task, i, layer) for i in range(len(run.steps))]
        similarity[(task, layer)] = (run.steps, [probe_similarity(start, dp) if dp.is_linear_ else np.nan for dp in probes])
        if probes[-1].is_linear_:
            r, low, high = claims.bootstrap_pearson(distance_vector(start), distance_vector(probes[-1]))
            final.append({"task": task, "layer": layer, "final similarity": r, "low": low, "high": high})
tasks4 = sorted({t for t, _ in similarity}, key=params["tasks"].index)
fig = plots.layer_similarity_panels(similarity, tasks4, model)
plots.show_figure(fig, "fig04_layer_similarity", figures_dir)
final_similarity = pd.DataFrame(final, columns=["task", "layer", "final similarity", "low", "high"])
final_similarity.round(3)

# %% [markdown]
# ## Figures 5 and 7-10: how far each label's centroid moves, per layer
# Figure 5 shows POS on every other layer; Figures 7 (POS), 8 (DEP), 9 (PS-fxn) and 10 (PS-role) show all stored
# layers. Each panel is a 2-D PCA of the labels' centroid shifts (after minus before fine-tuning); a layer's range
# is the larger of its two axis spans. Where a task has seed runs, the range is taken in every seed.

# %%
figure_numbers = {"pos": "fig07", "dep": "fig08", "ps-fxn": "fig09", "ps-role": "fig10"}
seeded = ex.seed_tasks(params, model)
ranges = []
for task in [t for t in ("pos", "dep", "ps-fxn", "ps-role") if t in params["tasks"]]:
    shifts = {layer: ex.shift_pca(params, model, task, layer) for layer in layers}
    if task == "pos":
        plots.show_figure(plots.shift_panels({l: shifts[l] for l in every_other}, task),
                          "fig05_pos_centroid_shift_every_other_layer", figures_dir)
    plots.show_figure(plots.shift_panels(shifts, task), f"{figure_numbers[task]}_{task}_centroid_shift_all_layers",
                      figures_dir)
    for seed in ex.fine_tuning_seeds(params) if task in seeded else [params["finetune"]["seed"]]:
        for layer in layers:
            ranges.append({"task": task, "seed": seed, "layer": layer,
                           "range": ex.shift_range(ex.shift_pca(params, model, task, layer, seed)[1])})
ranges = pd.DataFrame(ranges, columns=["task", "seed", "layer", "range"])
ranges.pivot_table(index=["task", "seed"], columns="layer", values="range").round(2)

# %% [markdown]
# ## Claims

# %%
higher = [l for l in every_other if l > enc.n_layers // 2]
high_final = final_similarity[final_similarity.layer.isin(higher)]
low, high = layers[0], layers[-1]
range_cases = [{"task": t, "seed": s, "low_layer": g.set_index("layer").range[low], "high_layer": g.set_index("layer").range[high]}
               for (t, s), g in ranges.groupby(["task", "seed"])]
report.record("final_similarity", final_similarity.to_dict(orient="records"))
report.record("ranges", ranges.to_dict(orient="records"))
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
report.claim(claims.higher_layers_correlated([{"case": f"{r.task}/layer {r.layer}", "r": r["final similarity"], "low": r.low,
                                              "high": r.high} for _, r in high_final.iterrows()]))
report.claim(claims.lower_layers_move_less(range_cases))
report.save(results_dir)
report.claims_table()
