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
# # Solutions: DirectProbe primer
# The exercises are at the end of `../00_directprobe_primer.py`. Try them before reading on.

# %% tags=["parameters"]
n_points = 160
seed = 0
results_dir = "../../results/default/numbers"

# %%
import numpy as np

from closerlook.directprobe import DirectProbe
from closerlook.report import Report

report = Report("00_directprobe_primer_solutions")

# %% [markdown]
# ## 1. More data
# The count settles instead of growing: it is set by the shape, not by the number of points. A piece of the ring
# (outer radius 2) cannot span more than about 130 degrees before its hull reaches into the inner disc (radius
# 0.8), so at least 3 pieces are needed, and the greedy merging leaves a few more. Very few points leave gaps that
# let larger pieces through.

# %%
def circle_toy(n, rng):
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(np.arange(n) < n // 3, rng.uniform(0, 0.8, n), rng.uniform(1.2, 2.0, n))
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)], np.where(radius < 1, "in", "out")

by_size = {n: DirectProbe().fit(*circle_toy(n, np.random.default_rng(seed))).n_clusters_ for n in (40, 160, 640)}
print("points -> clusters:", by_size)

# %% [markdown]
# ## 2. A straight boundary
# The same points labelled by the sign of their x coordinate: a line separates the labels, so DirectProbe keeps
# one cluster per label (2), however the points lie.

# %%
X, _ = circle_toy(n_points, np.random.default_rng(seed))
halves = DirectProbe().fit(X, np.where(X[:, 0] > 0, "right", "left"))
print(f"{halves.n_clusters_} clusters for 2 labels; linear: {halves.is_linear_}")

# %%
report.record("clusters_by_points", by_size)
report.record("halves_clusters", halves.n_clusters_)
saved = report.save(results_dir)
