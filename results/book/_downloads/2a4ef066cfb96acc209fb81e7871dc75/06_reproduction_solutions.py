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
# # Solutions: the claims ledger
# The exercises are at the end of `../06_reproduction.py`. Try them before reading on.

# %% tags=["parameters"]
results_root = "../../results"
profiles = ["default", "full"]
results_dir = "../../results/default/numbers"

# %%
import json
from pathlib import Path

import pandas as pd

from closerlook import claims
from closerlook.report import Report

report = Report("06_reproduction_solutions")
recorded = {p: Path(results_root) / p / "numbers" / "01_divergence.json" for p in profiles}
recorded = {p: json.loads(f.read_text())["numbers"] for p, f in recorded.items() if f.exists()}
print("profiles with chapter 01 recorded:", ", ".join(recorded) or "none")

# %% [markdown]
# ## 1. A stricter rule for §4.1
# The ledger says a case's similarity drops when every seed's bootstrap interval lies above 0. Ask for more: a
# drop of at least 0.05 in every seed. Shift each interval down by 0.05 and judge again with the same rule.

# %%
def stricter(cases, margin=0.05):
    shifted = [{**c, "seeds": [{**s, "drop": s["drop"] - margin, "low": s["low"] - margin, "high": s["high"] - margin}
                               for s in c["seeds"]]} for c in cases]
    return claims.similarity_drops(shifted)

strict = {p: stricter(n["similarity_cases"]) for p, n in recorded.items()}
pd.DataFrame([{"profile": p, "verdict (drop > 0)": claims.similarity_drops(recorded[p]["similarity_cases"]).verdict,
               "verdict (drop > 0.05)": c.verdict, "ours": c.ours} for p, c in strict.items()])

# %% [markdown]
# ## 2. Which accuracy gains are within the probe's noise?
# Table 7's accuracy gain of each case with its Welch interval over the probe seeds: the cases whose interval
# reaches 0 are the ones a second run could turn around.

# %%
def gains(numbers):
    rows = numbers["table7"]
    cases = [{"case": f"{r['model']}/{r['task']}", "original": r["accs"],
              "fine-tuned": next(f["accs"] for f in rows if f["rep"] == "fine-tuned" and f["model"] == r["model"]
                                 and f["task"] == r["task"])} for r in rows if r["rep"] == "original"]
    return pd.DataFrame([{"case": c["case"], **dict(zip(("gain", "low", "high"),
                                                        claims.mean_difference_interval(c["original"], c["fine-tuned"])))}
                         for c in cases])

accuracy_gains = {p: gains(n) for p, n in recorded.items()}
pd.concat(accuracy_gains, names=["profile"]).round(2) if accuracy_gains else None

# %%
report.record("similarity_verdict_drop_over_0.05", {p: c.verdict for p, c in strict.items()})
report.record("accuracy_gains", {p: g.to_dict(orient="records") for p, g in accuracy_gains.items()})
saved = report.save(results_dir)
