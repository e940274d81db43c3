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
# # The tasks and the models (paper §3, Tables 1 and 6)
#
# **The question.** What does the paper fine-tune, and on what? Every later chapter names five tasks (POS, DEP,
# PS-role, PS-fxn, TREC-50) and five BERTs. This chapter looks at them before any model is run: how many examples
# and labels each task has, what one example is, and how large each model is.
#
# **What we check.** Our data, read from the pinned upstream files, against the paper's Table 6; the models a
# profile names against the paper's Table 1. Nothing here is trained: the chapter runs in seconds, offline.

# %% tags=["parameters"]
params_path = "../params/default.yaml"
figures_dir = "../figures/default"
results_dir = "../results/default/numbers"

# %%
import pandas as pd

from closerlook import data, paper
from closerlook.params import load_params
from closerlook.plots import dependency_arcs, show_figure
from closerlook.report import Report
from closerlook.representations import DEFAULT_MODEL, model_table

params = load_params(params_path)
report = Report("00_tasks_and_models")

# %% [markdown]
# ## Five tasks, three kinds of example (Table 6)
# - **POS** (part of speech, 17 Universal POS tags) and **DEP** (the relation between a head word and its
#   dependent) come from the English PUD treebank: its first 800 sentences train, the last 200 test. A POS example
#   is one word; a DEP example is a *pair* of words, represented by the two word vectors side by side.
# - **PS-role** and **PS-fxn** are the preposition supersenses of STREUSLE: every preposition (and possessive)
#   has a *role*, what it marks in the scene, and a *function*, what the preposition itself means. They are
#   one word per example, like POS, but semantic.
# - **TREC-50** classifies whole questions into 50 fine answer types (`NUM:date`, `HUM:ind`, ...); an example
#   is a sentence, represented by its `[CLS]` vector.
#
# The whole splits, counted from the data, beside the paper's Table 6:

# %%
table6 = data.compare_task_table(data.task_table(), paper.table6())
table6

# %% [markdown]
# The counts differ by a few examples (`differs in`). The authors do not say which STREUSLE release they read
# (4.7.1 is pinned here: 3 more training prepositions, and fewer distinct supersenses) nor how they
# preprocessed PUD; TREC-50 matches exactly. A profile reads only part of each split when it says so (`data` in
# `params/*.yaml`).

# %% [markdown]
# A profile can also define tasks of its own, from a CoNLL-U column, a pair task over heads and dependents, or a
# JSONL/CSV file of labelled sentences (`task_definitions`; `params/template/mine.yaml` explains each field). The
# ones this profile runs, counted the same way:

# %%
own = [t for t in params["tasks"] if t not in data.TASKS]
data.task_table(own) if own else print("this profile runs the paper's tasks only")

# %% [markdown]
# ## Which labels are common, which are rare
# Rare labels matter later: DirectProbe's distances and the spatial similarity treat every label alike, however
# few examples it has, and a test set can lack labels that the training set has.

# %%
train = {task: data.load_task(task, "train") for task in data.TASKS}
pd.DataFrame([data.label_extremes(d) for d in train.values()])

# %% [markdown]
# ## What an example looks like
# A STREUSLE sentence, each preposition in brackets with `{role|function}`. Where the two differ the
# preposition is *construed*: `from` marks an `p.Originator` here (who gives), while the preposition itself
# means `p.Source` (where something comes from). `p.Locus` is a place, `p.Goal` an end point, `p.Time` a time.

# %%
k = data.construal_sentence(train["ps-role"], train["ps-fxn"])
print(data.marked_sentence(k, train["ps-role"], train["ps-fxn"]))

# %% [markdown]
# The same words under POS, and a PUD sentence with its DEP examples as arcs from head to dependent:

# %%
pos_k = data.first_sentence(train["pos"], max_words=10)
print(data.marked_sentence(pos_k, train["pos"]))
dep_k = data.first_sentence(train["dep"], max_words=10)
ax = dependency_arcs(train["dep"].sentences[dep_k], data.arcs(train["dep"], dep_k))
show_figure(ax.figure, "fig00_dependency_arcs", figures_dir)

# %% [markdown]
# And three TREC-50 questions with their labels:

# %%
trec = train["trec"]
pd.DataFrame({"question": [" ".join(trec.sentences[i]) for i in range(3)], "label": trec.labels[:3]})

# %% [markdown]
# ## The models (Table 1)
# The paper probes five BERTs of one architecture and growing size. This companion runs offline on an embedded
# BERT-architecture model of its own (all-MiniLM-L6-v2); the paper's five come from the Hugging Face Hub when it
# is reachable (the `paper` profile). Each row below is read from the model's config; a model that is neither
# embedded nor in the local Hugging Face cache shows only the paper's numbers.

# %%
table1 = model_table([DEFAULT_MODEL, *params["models"].values()])
table1.astype(object).where(table1.notna(), "–")   # – : not in that source (the paper, or our model's config)

# %% [markdown]
# all-MiniLM-L6-v2 is deeper than BERT-small and shallower than BERT-medium, narrower than both, and so has fewer
# parameters than either (the table above). It was trained further for sentence similarity after its pre-training, which may help a
# sentence task such as TREC-50 more than the token tasks.

# %%
report.record("table6", table6.to_dict(orient="records"))
report.record("table1", table1.astype(object).where(table1.notna(), None).to_dict(orient="records"))
report.record("label_counts", {task: data.label_counts(d).to_dict() for task, d in train.items()})
saved = report.save(results_dir)

# %% [markdown]
# ## Exercises
# Predict each answer before you run anything; the solutions are in `solutions/00_tasks_and_models_solutions.py`.
#
# 1. **Labels the test set never sees.** For each task, how many labels of the training split are missing from
#    its test split? Guess which task has the most (hint: look at the rarest labels above).
# 2. **How many DEP examples per sentence?** A POS example is a word and a DEP example is a word with its head.
#    Predict the ratio of DEP to POS examples in PUD's training split, then compute it. Why is it below 1?
# 3. **Construals.** In what share of STREUSLE's training prepositions does the role differ from the function?
#    Predict first: a tenth, a third, or a half?
