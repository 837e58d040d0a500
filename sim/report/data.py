"""A finished run folder, read back for reporting (never rerun).

``RunData.load`` refuses a folder that is not a finished run (no manifest) or whose files no
longer match the checksums in the manifest, so a report never describes half-written or altered
results.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.errors import UserError
from sim.scenario import Scenario, Timeline, _timeline, personnel_use


@dataclass
class RunData:
    path: Path
    manifest: dict[str, Any]
    spec: Scenario  # the resolved scenario the run was made with
    timeline: Timeline
    epoch: dt.datetime
    incidents: pd.DataFrame
    units: pd.DataFrame
    timeseries: pd.DataFrame
    kpis: pd.DataFrame
    summary: pd.DataFrame
    percentiles: pd.DataFrame
    comparison: pd.DataFrame | None
    sites: pd.DataFrame

    @property
    def plans(self) -> list[str]:
        return list(self.manifest["plans"])

    @property
    def baseline(self) -> str | None:
        return self.manifest.get("baseline")

    @property
    def is_sweep(self) -> bool:
        return bool(self.manifest.get("grid"))

    @property
    def replications(self) -> int:
        return int(self.manifest["replications"])

    def personnel(self) -> pd.DataFrame:
        """Personnel each plan uses, per kind, against what is available (plans x kinds)."""
        tps = self.sites[self.sites["kind"] == "tps"].rename(columns={"site_id": "tps_id"})
        n_sites = int((self.sites["kind"] == "ppk").sum()) + 1
        rows = {p: personnel_use(self.spec.plans[p], tps, n_sites) for p in self.plans}
        kinds = list(self.spec.forces)
        table = pd.DataFrame([[rows[p].get(k, 0) for k in kinds] for p in self.plans], index=self.plans, columns=kinds)
        table.loc["available"] = [self.spec.forces[k] for k in kinds]
        return table

    @classmethod
    def load(cls, run_dir: str | Path) -> RunData:
        path = Path(run_dir)
        man_path = path / "manifest.json"
        if not man_path.is_file():
            raise UserError(str(path), None, "not a finished run folder (no manifest.json); finish it with --resume")
        try:
            manifest = json.loads(man_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise UserError(str(man_path), None, "not a readable manifest") from None
        for name, digest in manifest.get("files", {}).items():
            f = path / name
            if not f.is_file():
                raise UserError(str(path), name, "listed in the manifest but missing")
            if hashlib.sha256(f.read_bytes()).hexdigest() != digest:
                raise UserError(str(path), name, "does not match its checksum in the manifest (changed after the run)")
        try:
            spec = Scenario.model_validate(manifest["scenario"]["resolved"])
        except (KeyError, ValidationError):
            raise UserError(str(man_path), "scenario.resolved", "missing or not a valid scenario") from None
        epoch, timeline = _timeline(spec, str(man_path))

        def read(name: str) -> pd.DataFrame:
            return pd.read_csv(path / name, keep_default_na=True)

        has_cmp = (path / "comparison.csv").is_file()
        return cls(
            path,
            manifest,
            spec,
            timeline,
            epoch,
            read("incidents.csv"),
            read("units.csv"),
            read("timeseries.csv"),
            read("kpis.csv"),
            read("summary.csv"),
            read("percentiles.csv"),
            read("comparison.csv") if has_cmp else None,
            read("sites.csv"),
        )


def dispatched(incidents: pd.DataFrame) -> pd.DataFrame:
    """Incidents that needed a unit: reported and not resolved on site (as the KPIs count them)."""
    return incidents[incidents["t_report"].notna() & (incidents["outcome"] != "resolved_on_site")]


def pooled_percentile(values: np.ndarray, q: float) -> float:
    """Percentile of values pooled over replications, inverted-CDF definition as in percentiles.csv."""
    return float(np.percentile(values, q, method="inverted_cdf")) if len(values) else math.nan
