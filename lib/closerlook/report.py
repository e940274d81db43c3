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

    def record(self, key: str, value):
        """Keep a key number (tests check these)."""
        self.numbers[key] = value
        return value

    def claim(self, claim: Claim) -> Claim:
        if not isinstance(claim, Claim):
            raise TypeError(f"Report.claim takes a claims.Claim, got {type(claim).__name__}")
        self.claims.append(claim.to_dict())
        return claim

    def claims_table(self):
        """The claims with their verdicts and reasons, whole (no cell is cut short)."""
        return claims_table(self.claims)

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.notebook}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"notebook": self.notebook, "numbers": plain(self.numbers),
                                   "claims": plain(self.claims)}, indent=1))
        tmp.replace(path)
        return path


def claims_table(claims: list[dict]):
    df = pd.DataFrame(claims, columns=CLAIM_COLUMNS)
    colours = {"holds": "#d8f0d8", "does not hold": "#f6d6d6", "not testable here": "#eeeeee"}
    return (df.style.hide(axis="index")
            .map(lambda v: f"background-color: {colours.get(v, '')}", subset=["verdict"])
            .set_properties(**{"text-align": "left", "white-space": "normal"}))


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
