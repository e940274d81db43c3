"""What a notebook records: key numbers and the claims table, saved as JSON for run_all.py and the tests."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd


class Report:
    def __init__(self, notebook: str):
        self.notebook = notebook
        self.numbers: dict = {}
        self.claims: list[dict] = []

    def record(self, key: str, value):
        """Keep a key number (tests check these)."""
        self.numbers[key] = value
        return value

    def claim(self, claim: str, paper: str, ours: str, holds: bool):
        self.claims.append({"claim": claim, "paper's evidence": paper, "ours": ours, "holds": "yes" if holds else "no"})

    def claims_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.claims, columns=["claim", "paper's evidence", "ours", "holds"])

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.notebook}.json"
        path.write_text(json.dumps({"notebook": self.notebook, "numbers": _plain(self.numbers),
                                    "claims": self.claims}, indent=1))
        return path


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x
