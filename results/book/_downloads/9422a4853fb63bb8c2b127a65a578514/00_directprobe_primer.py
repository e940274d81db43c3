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
# # DirectProbe, a primer (paper §2.2, Figure 1)
#
# **The question.** A classifier probe tells us *how well* labels can be predicted from a representation.
# DirectProbe asks *what the labelled space looks like*: which groups of same-label points can be kept together
# so that no group's convex hull meets a hull of another label?
#
# **The claim tested here** (Figure 1): when the true boundary is a circle, DirectProbe needs more clusters than
# labels (the labels are not linearly separable), and the clusters it finds mark out the region that any
# separator must cross. When the labels are linearly separable, it finds one cluster per label.
#
# No language model is needed: a 2-D toy problem shows every quantity the later notebooks use.

# %% tags=["parameters"]
n_points = 160        # toy points
seed = 0
figures_dir = "../figures/default"
results_dir = "../results/default/numbers"

# %%
import numpy as np
import pandas as pd

from closerlook import claims
from closerlook.directprobe import DirectProbe
from closerlook.geometry import distance_vector, label_min_distances
from closerlook.plots import circle_toy_figure, show_figure
from closerlook.report import Report

report = Report("00_directprobe_primer")
rng = np.random.default_rng(seed)

# %% [markdown]
# ## A circular boundary
# Points inside the dashed circle (radius 1) are labelled `in`, points in a ring outside it `out`. A small margin
# keeps the two labels apart, as real representations are.

# %%
angle = rng.uniform(0, 2 * np.pi, n_points)
radius = np.where(np.arange(n_points) < n_points // 3, rng.uniform(0, 0.8, n_points), rng.uniform(1.2, 2.0, n_points))
X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
y = np.where(radius < 1, "in", "out")
dp = DirectProbe().fit(X, y)
print(f"{dp.n_clusters_} clusters for {len(dp.classes_)} labels; linear: {dp.is_linear_}")
print(pd.Series(dp.cluster_labels_).value_counts().rename("clusters per label").to_string())

# %% [markdown]
# Left: the data and the true circular boundary. Right: the clusters DirectProbe returns, each drawn as its
# convex hull. The `in` points stay one cluster; the ring of `out` points must be cut into pieces, since any
# hull of the whole ring would contain the inner disc. Every decision boundary consistent with the data has to
# pass through the grey area between the hulls of different labels.

# %%
fig = circle_toy_figure(X, y, dp, {"in": "tab:red", "out": "tab:blue"})
show_figure(fig, "fig01_directprobe_toy", figures_dir)

# %% [markdown]
# ## What the numbers mean
# - **Number of clusters** = number of labels means the labels are linearly separable; more clusters means a
#   non-linear classifier is needed (here: `out` is split).
# - **Distances between clusters** are Euclidean distances between convex hulls; they measure how much room a
#   separator has. Each label's **minimum distance** to another label is what §4.3 tracks during fine-tuning.
# - **Prediction**: a point takes the label of the nearest hull.

# %%
held_out_angle = rng.uniform(0, 2 * np.pi, 400)
held_out_radius = rng.uniform(0, 2.0, 400)
keep = np.abs(held_out_radius - 1) > 0.2
Xt = np.c_[held_out_radius * np.cos(held_out_angle), held_out_radius * np.sin(held_out_angle)][keep]
yt = np.where(held_out_radius[keep] < 1, "in", "out")
acc = dp.score(Xt, yt)
print(f"nearest-hull accuracy on {len(yt)} held-out points: {acc:.3f}")
distances = pd.DataFrame(dp.cluster_distances_, index=[f"{k}:{l}" for k, l in enumerate(dp.cluster_labels_)],
                         columns=[f"{k}:{l}" for k, l in enumerate(dp.cluster_labels_)]).round(3)
distances

# %% [markdown]
# ## A linearly separable problem for contrast
# Two Gaussian blobs: DirectProbe keeps one cluster per label, and the distance vector (one entry per label
# pair) exists, which is what the spatial similarity of §4.1 and §4.5 correlates.

# %%
blobs = np.vstack([rng.normal([-2, 0], 0.6, (60, 2)), rng.normal([2, 0], 0.6, (60, 2)), rng.normal([0, 3], 0.6, (60, 2))])
blob_labels = np.repeat(["a", "b", "c"], 60)
dp_blobs = DirectProbe().fit(blobs, blob_labels)
print(f"{dp_blobs.n_clusters_} clusters for 3 labels; distance vector (a-b, a-c, b-c):",
      np.round(distance_vector(dp_blobs), 3), "; minimum distances:",
      {k: round(v, 3) for k, v in label_min_distances(dp_blobs).items()})

# %% [markdown]
# ## Claims

# %%
report.record("toy_clusters", dp.n_clusters_)
report.record("toy_labels", len(dp.classes_))
report.record("toy_linear", bool(dp.is_linear_))
report.record("toy_heldout_accuracy", acc)
report.record("blobs_clusters", dp_blobs.n_clusters_)
report.record("blobs_distance_vector_length", len(distance_vector(dp_blobs)))
for claim in claims.primer(dp.n_clusters_, len(dp.classes_), dp_blobs.n_clusters_, 3, acc):
    report.claim(claim)
report.save(results_dir)
report.claims_table()

# %% [markdown]
# ## Exercises
# Predict each answer before you run anything; the solutions are in `solutions/00_directprobe_primer_solutions.py`.
#
# 1. **More data.** Draw the toy with 40, 160 and 640 points. Does the number of clusters grow with the data,
#    or does it settle?
# 2. **A straight boundary.** Label the same points by the sign of their x coordinate. How many clusters now?
