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
# # §4.1 Does fine-tuning always improve performance? (Table 2, Table 7)
#
# **The question.** Fine-tuning is commonly believed to improve task performance. Does it always?
#
# **The claims tested.** (1) Fine-tuning improves the probe's accuracy in all but one case (BERT-small on
# PS-fxn). (2) Fine-tuning makes the training and test sets *diverge*: the spatial similarity between them
# drops for every representation. (3) The case where fine-tuning hurts has the smallest train/test similarity.
#
# **How.** For every model and task we take the last layer before and after fine-tuning and compute:
# - the MLP probe's test accuracy (two hidden layers, grid search on held-out *training* data, five seeds;
#   mean and standard deviation, and the best hidden sizes);
# - DirectProbe's number of clusters on the training set and whether it equals the number of labels (linear);
# - the **train/test spatial similarity**: DirectProbe is run on the training set and, *separately*, on the test
#   set; each run gives a distance vector (the hull distance of every label pair); the similarity is the Pearson
#   correlation of the two vectors over the label pairs both sets have. It exists only when both runs are linear
#   (one cluster per label), otherwise it is left empty, as in the paper.

# %% tags=["parameters"]
params_path = "../params/default.yaml"
figures_dir = "../figures"
results_dir = "../outputs/results"

# %%
import numpy as np
import pandas as pd

from closerlook import experiments as ex
from closerlook.paper import table7 as paper_table7
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("01_divergence")
print(params["description"])

# %% [markdown]
# ## Table 7: every model and task, original vs fine-tuned (last layer)

# %%
rows = []
for label in params["models"]:
    for task in params["tasks"]:
        rows += ex.table7_rows(params, label, task)
ours = pd.DataFrame(rows)
shown = ours.assign(best_size=ours.best_size.map(lambda s: f"({s[0]}, {s[1]})"),
                    linear=ours.linear.map({True: "Y", False: "N"}))
shown.round(2)

# %% [markdown]
# ## The paper's numbers beside ours
# Where a model of ours is one of the paper's (the paper profile), its rows are matched; otherwise ours are shown
# beside the paper's BERT-small, the model of the paper's Table 2.

# %%
paper = paper_table7()
def paper_model(label):
    return label if label in set(paper.model) else "bert-small"

side = []
for r in rows:
    p = paper[(paper.model == paper_model(r["model"])) & (paper.task == r["task"]) & (paper.rep == r["rep"])].iloc[0]
    side.append({"model": r["model"], "task": r["task"], "rep": r["rep"], "paper model": p.model,
                 "acc (paper)": p.acc, "acc (ours)": round(r["acc"], 2),
                 "#clusters (paper)": p.clusters, "#clusters (ours)": r["clusters"],
                 "similarity (paper)": p.similarity, "similarity (ours)": round(r["similarity"], 2)})
pd.DataFrame(side)

# %% [markdown]
# ## Table 2: the dynamics model, last layer
# Accuracy and train/test similarity before and after fine-tuning (the paper shows BERT-small).

# %%
table2 = (ours[ours.model == params["dynamics_model"]]
          .pivot(index="task", columns="rep", values=["acc", "similarity"]).round(2))
table2

# %% [markdown]
# ## Claims

# %%
wide = ours.pivot_table(index=["model", "task"], columns="rep", values=["acc", "similarity"], aggfunc="first")
gain = wide["acc"]["fine-tuned"] - wide["acc"]["original"]
n_improved, n_total = int((gain > 0).sum()), len(gain)
both = wide["similarity"].dropna()
n_sim_drop = int((both["fine-tuned"] < both["original"]).sum())
hurt = gain[gain <= 0]
if len(hurt):
    worst_sim = wide["similarity"]["fine-tuned"]
    hurt_smallest = all(worst_sim.get(k, np.nan) == worst_sim.min() for k in hurt.index)
    hurt_text = f"hurt: {', '.join(f'{m}/{t}' for m, t in hurt.index)}; its similarity is the smallest: {hurt_smallest}"
else:
    hurt_smallest, hurt_text = False, "fine-tuning improved every case here"

report.record("table7", ours.assign(best_size=ours.best_size.map(list)).to_dict(orient="records"))
report.record("n_improved", n_improved)
report.record("n_cases", n_total)
report.record("n_similarity_pairs", len(both))
report.record("n_similarity_dropped", n_sim_drop)
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
report.claim("Fine-tuning improves probe accuracy in all but rare cases", "Table 7: 24 of 25 improve",
             f"{n_improved} of {n_total} improve", n_improved >= n_total - 1)
report.claim("Fine-tuning lowers the train/test spatial similarity", "Table 7: every defined pair drops",
             f"{n_sim_drop} of {len(both)} defined pairs drop", len(both) > 0 and n_sim_drop == len(both))
report.claim("Where fine-tuning hurts, train and test diverge most", "Table 2: BERT-small PS-fxn, similarity 0.44",
             hurt_text, bool(hurt_smallest))
report.save(results_dir)
report.claims_table()
