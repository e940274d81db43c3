"""What a notebook records: key numbers and its claims (``claims.Claim``), saved as JSON for run_all.py, the
claims ledger and the tests."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .claims import Claim

CLAIM_COLUMNS = ["section", "claim", "paper", "ours", "verdict", "reason"]


class Report:
    def __init__(self, notebook: str):
        self.notebook = notebook
        self.numbers: dict = {}
        self.claims: list[dict] = []
        self.by_reading: dict[str, list[dict]] = {}

    def record(self, key: str, value):
        """Keep a key number (tests check these)."""
        self.numbers[key] = value
        return value

    def claim(self, claim: Claim) -> Claim:
        if not isinstance(claim, Claim):
            raise TypeError(f"Report.claim takes a claims.Claim, got {type(claim).__name__}")
        self.claims.append(claim.to_dict())
        return claim

    def readings(self, by_reading: dict[str, list[dict]], profile_reading: str):
        """Keep the claims that a reading of the geometry moves, under every reading
        (``experiments.claims_by_reading``). The chapter's own claims were computed under the profile's reading by
        the chapter's cells: where one of them says otherwise than the same claim computed here, the two code
        paths disagree, and that is an error, never a silent pick."""
        own = {c["id"]: c for c in self.claims}
        for c in by_reading.get(profile_reading, []):
            mine = own.get(c["id"])
            if mine is not None and (mine["verdict"], mine["ours"]) != (c["verdict"], c["ours"]):
                raise RuntimeError(f"{self.notebook}: claim {c['id']} is '{mine['verdict']}' ({mine['ours']}) in the "
                                   f"chapter but '{c['verdict']}' ({c['ours']}) under its reading {profile_reading!r}")
        self.by_reading = by_reading
        table = readings_table(by_reading)
        return show_verdicts(table, [c for c in table.columns if c != "claim" and not c.endswith(": ours")])

    def claims_table(self):
        """The claims with their verdicts and reasons, whole (no cell is cut short)."""
        return claims_table(self.claims)

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.notebook}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"notebook": self.notebook, "numbers": plain(self.numbers),
                                   "claims": plain(self.claims), "claims_by_reading": plain(self.by_reading)},
                                  indent=1))
        tmp.replace(path)
        return path


VERDICT_COLOURS = {"holds": "#d8f0d8", "does not hold": "#f6d6d6", "not testable here": "#eeeeee"}
# A mark in the text itself: JupyterLab drops a Styler's <style> block (the colours) from an untrusted notebook,
# which a committed executed notebook is until its reader trusts it; the mark survives that, and a printout.
VERDICT_MARKS = {"holds": "✔", "does not hold": "✘", "not testable here": "–"}


def show_verdicts(df: pd.DataFrame, columns):
    """``df`` as a table whose verdict columns are coloured and marked (✔ holds, ✘ does not hold, – not testable)."""
    columns = list(columns)
    return (df.style.hide(axis="index")
            .map(lambda v: f"background-color: {VERDICT_COLOURS[v]}" if v in VERDICT_COLOURS else "", subset=columns)
            .format(lambda v: f"{VERDICT_MARKS[v]} {v}" if v in VERDICT_MARKS else v, subset=columns)
            .set_properties(**{"text-align": "left", "white-space": "normal"}))


def claims_table(claims: list[dict]):
    return show_verdicts(pd.DataFrame(claims, columns=CLAIM_COLUMNS), ["verdict"])


def plain(x):
    """JSON-ready: numpy scalars to Python, NaN and pandas' NA to None, tuples to lists."""
    if x is pd.NA:
        return None
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist"):
        x = x.tolist()
        if isinstance(x, list):
            return plain(x)
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def readings_table(by_reading: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per claim, one column per reading: the verdict (and, for ours and the authors', the evidence)."""
    rows = {}
    for name, claims in by_reading.items():
        for c in claims:
            row = rows.setdefault(c["id"], {"claim": f"{c['section']}: {c['claim']}"})
            row[name] = c["verdict"]
            if name in ("exact", "authors"):
                row[f"{name}: ours"] = c["ours"]
    return pd.DataFrame(list(rows.values()))
