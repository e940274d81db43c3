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
# # §4.4 Cross-task fine-tuning (Table 5)
#
# **The question.** If fine-tuning helps *because* it widens the gaps between a task's labels, then fine-tuning
# on a related task should widen another task's gaps a little, and fine-tuning on an opposing task should
# shrink them, with accuracy following the gaps.
#
# **The claim tested.** For PS-fxn, probed on the last layer: fine-tuning on PS-fxn itself > on PS-role (a
# related task: the same prepositions, another supersense) > the original model > on POS (an opposing task:
# POS puts all prepositions into one label, ADP), both for the labels' minimum distances and for the MLP
# probe's accuracy.
#
# **How.** The models fine-tuned on PS-fxn, PS-role and POS embed the PS-fxn data (they are *not* fine-tuned
# further on PS-fxn). DirectProbe on the PS-fxn training set gives each label's minimum distance; we count the
# labels whose distance grew or shrank against the original model, and average the change.

# %% tags=["parameters"]
params_path = "../params/default.yaml"
figures_dir = "../figures"
results_dir = "../outputs/results"

# %%
import numpy as np
import pandas as pd

from closerlook import experiments as ex
from closerlook.geometry import label_min_distances
from closerlook.paper import table5 as paper_table5
from closerlook.params import load_params
from closerlook.report import Report

params = load_params(params_path)
report = Report("04_cross_task")
model = params["dynamics_model"]
target = "ps-fxn"
sources = [t for t in ("ps-fxn", "ps-role", "pos") if t in params["tasks"]]
train, test = ex.task_data(params, target)

# %%
# The model fine-tuned on PS-fxn itself: its own run's last snapshot, the representation Table 7 reads.
# The others embed PS-fxn with their saved final weights.
reps = {"original": ex.original(params, model, target)}
for source in sources:
    reps[source] = (ex.finetuned(params, model, target) if source == target else
                    ex.embed_with(params, ex.finetuned_run(params, model, source), target))

rows, distances = [], {}
for name, (X, Xt) in reps.items():
    dp = ex.directprobe(params, X, train.labels)
    probe = ex.mlp_probe(params, X, train.labels, Xt, test.labels)
    distances[name] = label_min_distances(dp) if dp.is_linear_ else None
    rows.append({"fine-tuned on": name, "clusters": dp.n_clusters_, "linear": dp.is_linear_,
                 "acc": 100 * probe["acc_mean"], "std": 100 * probe["acc_std"], "accs": [100 * a for a in probe["accs"]]})
for r in rows:
    d, d0 = distances[r["fine-tuned on"]], distances["original"]
    if r["fine-tuned on"] == "original" or d is None or d0 is None:
        r.update({"#inc": np.nan, "#dec": np.nan, "average inc": np.nan})
        continue
    change = np.array([d[l] - d0[l] for l in d0])
    r.update({"#inc": int((change > 0).sum()), "#dec": int((change <= 0).sum()), "average inc": change.mean()})
table5 = pd.DataFrame(rows)[["fine-tuned on", "#inc", "#dec", "average inc", "acc", "std", "clusters", "linear"]]
table5.round(2)

# %% [markdown]
# The paper's Table 5 (BERT-base):

# %%
paper_table5()

# %% [markdown]
# Where the PS-fxn representation is not linear under a model, label distances are not defined and that row's
# distance columns are empty.

# %% [markdown]
# ## Claims

# %%
from closerlook import claims

t = table5.set_index("fine-tuned on")
mean_change = {k: (None if pd.isna(v) else float(v)) for k, v in t["average inc"].items() if k != "original"}
accs = {r["fine-tuned on"]: r["accs"] for r in rows}
report.record("table5", table5.to_dict(orient="records"))
report.record("stage_seconds", dict(ex.STAGE_SECONDS))
report.claim(claims.cross_task_distances(mean_change))
report.claim(claims.cross_task_accuracy(accs))
report.save(results_dir)
report.claims_table()
