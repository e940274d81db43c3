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
# # §4.3 Spatial structure of labels (Figures 2, 3 and 6)
#
# **The question.** When the labels are already linearly separable, fine-tuning need not change the space at
# all. What does it do?
#
# **The claim tested.** Fine-tuning pushes each label away from the others: every label's *minimum distance*
# to another label grows (the paper finds this for all labels of all four linear tasks, with occasional dips
# along the way, e.g. PS-role's `p.Stuff`). Labels that start close move apart in different directions.
#
# **How.** DirectProbe at every fine-tuning snapshot of the dynamics model, last layer, on the training set of
# each task that is linear before and after fine-tuning. With one cluster per label, a label's minimum distance
# is the hull distance to its nearest other label. Figure 3 follows the centroids of the three closest POS labels
# in a 2-D PCA of their paths, at the first and the last layer. TREC-50 (and any task that is not linear here)
# is left out: its labels are split over several clusters, so a label's distance is not defined.

# %% tags=["parameters"]
params_path = "../params/default.yaml"
figures_dir = "../figures"
results_dir = "../outputs/results"

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from closerlook import experiments as ex
from closerlook.params import load_params
from closerlook.plots import min_distance_curves, save_figure
from closerlook.report import Report

params = load_params(params_path)
report = Report("03_label_spacing")
model = params["dynamics_model"]
tasks = ex.linear_tasks(params, model)
left_out = [t for t in params["tasks"] if t not in tasks]
print(f"model {model}; linear before and after fine-tuning: {tasks}; left out (not linear): {left_out}")

# %% [markdown]
# ## Each label's minimum distance along fine-tuning (Figure 6; Figure 2 = PS-role and POS)

# %%
curves = {}
for task in tasks:
    steps, c = ex.min_distance_dynamics(params, model, task)
    if c is None:
        print(f"{task}: a snapshot is not linear, left out")
        continue
    curves[task] = (steps, c)

summary = pd.DataFrame([{"task": t, "labels": len(c), "grew": sum(d[-1] > d[0] for d in c.values()),
                         "shrank": sum(d[-1] <= d[0] for d in c.values()),
                         "dipped along the way": sum(any(b < a for a, b in zip(d, d[1:])) for d in c.values()),
                         "mean change": np.mean([d[-1] - d[0] for d in c.values()])}
                        for t, (s, c) in curves.items()])
summary.round(3)

# %%
def plot_tasks(names, filename):
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(4.2 * max(len(names), 1), 3.4), squeeze=False)
    for ax, task in zip(axes[0], names):
        steps, c = curves[task]
        min_distance_curves(ax, steps, c)
        ax.set_title(f"{task} ({model}, last layer)")
    save_figure(fig, filename, figures_dir)
    plt.show()

plot_tasks([t for t in ("ps-role", "pos") if t in curves], "fig02_min_distance_ps-role_pos")
plot_tasks(list(curves), "fig06_min_distance_all_tasks")

# %% [markdown]
# ## Figure 3: paths of the three closest POS labels (first and last layer)
# The three labels whose centroids are closest to one another before fine-tuning (smallest sum of pairwise
# distances), their centroids at every snapshot, projected by a PCA fitted on the paths. Markers: the start.

# %%
layers = ex.dynamics_layers(params, ex.encoder(params, model))
fig3 = {}
if "pos" in params["tasks"]:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    labels0, paths_last = ex.centroid_paths(params, model, "pos", "last")
    start = paths_last[0]
    trio = min(itertools.combinations(range(len(labels0)), 3),
               key=lambda t: sum(np.linalg.norm(start[a] - start[b]) for a, b in itertools.combinations(t, 2)))
    for ax, layer in zip(axes, [min(l for l in layers if l > 0) if any(l > 0 for l in layers[:-1]) else layers[0], "last"]):
        labels, paths = ex.centroid_paths(params, model, "pos", layer)
        chosen = paths[:, list(trio)]                     # (snapshots, 3, width)
        flat = PCA(2).fit_transform(chosen.reshape(-1, chosen.shape[-1])).reshape(len(paths), 3, 2)
        for j, lab in enumerate(labels[i] for i in trio):
            ax.plot(flat[:, j, 0], flat[:, j, 1], marker=".", label=lab)
            ax.scatter(flat[0, j, 0], flat[0, j, 1], s=80, marker="*", color="k")
        ax.set_title(f"POS, layer {layer}")
        ax.legend()
        spread = np.linalg.norm(chosen[-1] - chosen[0], axis=-1).mean()
        fig3[str(layer)] = {"labels": [labels[i] for i in trio], "mean_centroid_shift": float(spread)}
    save_figure(fig, "fig03_pos_centroid_paths", figures_dir)
    plt.show()
pd.DataFrame(fig3).T

# %% [markdown]
# ## Claims

# %%
n_labels = int(summary["labels"].sum()) if len(summary) else 0
n_grew = int(summary["grew"].sum()) if len(summary) else 0
report.record("linear_tasks", list(curves))
report.record("min_distance_summary", summary.to_dict(orient="records"))
report.record("n_labels", n_labels)
report.record("n_grew", n_grew)
report.record("fig3", fig3)
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
report.claim("Every label's minimum distance grows during fine-tuning", "Figures 2 and 6: all labels of all four tasks",
             f"{n_grew} of {n_labels} labels grew over {len(curves)} linear task(s)", n_labels > 0 and n_grew == n_labels)
report.claim("On average labels move apart", "§4.3: the gaps between label clusters enlarge",
             "mean change " + ", ".join(f"{r.task} {r['mean change']:+.3f}" for _, r in summary.iterrows()),
             len(summary) > 0 and bool((summary["mean change"] > 0).all()))
if fig3:
    first, last = list(fig3.values())[0], list(fig3.values())[-1]
    report.claim("Close labels move apart more in the last layer than in the first", "Figure 3: layer-1 paths overlap, layer-12 paths diverge",
                 f"mean centroid shift {first['mean_centroid_shift']:.3f} (first) vs {last['mean_centroid_shift']:.3f} (last)",
                 last["mean_centroid_shift"] > first["mean_centroid_shift"])
report.save(results_dir)
report.claims_table()
