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
# # Solutions: the tasks and the models
# The exercises are at the end of `../00_tasks_and_models.py`. Try them before reading on.

# %% tags=["parameters"]
params_path = "../../params/default.yaml"
results_dir = "../../results/default/numbers"

# %%
import numpy as np
import pandas as pd

from closerlook import data
from closerlook.report import Report

report = Report("00_tasks_and_models_solutions")
split = {(t, s): data.load_task(t, s) for t in data.TASKS for s in data.SPLITS}

# %% [markdown]
# ## 1. Labels the test set never sees
# The semantic tasks, with their long tail of rare supersenses, lose the most labels in their small test split.

# %%
missing = pd.Series({t: len(set(split[t, "train"].label_set) - set(split[t, "test"].label_set)) for t in data.TASKS},
                    name="training labels absent from the test split")
missing

# %% [markdown]
# ## 2. DEP examples per sentence
# Every word but the root has a head, so DEP has one example fewer than POS per sentence: the ratio is
# 1 - sentences/words.

# %%
pos, dep = split["pos", "train"], split["dep", "train"]
ratio = len(dep) / len(pos)
print(f"DEP/POS = {len(dep):,}/{len(pos):,} = {ratio:.3f}; 1 - sentences/words = {1 - len(pos.sentences) / len(pos):.3f}")

# %% [markdown]
# ## 3. Construals
# The share of STREUSLE training prepositions whose role is not their function:

# %%
role, fxn = split["ps-role", "train"], split["ps-fxn", "train"]
construal = float(np.mean(role.labels != fxn.labels))
print(f"{100 * construal:.1f}% of {len(role):,} prepositions are construed (role != function)")

# %%
report.record("labels_missing_from_test", missing.to_dict())
report.record("dep_per_pos", ratio)
report.record("construal_share", construal)
saved = report.save(results_dir)
