"""A finished run folder, read back for reporting (never rerun).

``RunData.load`` refuses a folder that is not a finished run (no manifest), whose files no longer
match the checksums in the manifest, or that was made before targets by priority (no
``targets.csv``, no ``within_target`` column: its "in time" meant something else), so a report
never describes half-written, altered or differently defined results.

The statistics of a group of incidents (a kecamatan, a TPS, an hour) are computed here once, for
the briefing, the charts and the workbook alike, from the columns of ``incidents.csv`` as
:mod:`sim.metrics` defines them (censored ``response_min``, ``reached``, ``within_target``) and
with its percentile and share; nothing here re-derives a predicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim import metrics
from sim.errors import UserError
from sim.scenario import Scenario, Timeline, personnel_use, resolve_timeline


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
    targets: pd.DataFrame  # targets.csv: kecamatan, target_group, priority, target_min

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
        manifest, spec, epoch, timeline = verified_manifest(path)
        if manifest.get("command") == "exercise":
            raise UserError(str(path), "manifest.json", "an exercise folder: 'pilkada-sim report' renders its review")

        def read(name: str) -> pd.DataFrame:
            return pd.read_csv(path / name, keep_default_na=True)

        has_cmp = (path / "comparison.csv").is_file()
        older = "made by an older pilkada-sim, before targets by priority; run the scenario again to report on it"
        if not (path / "targets.csv").is_file():
            raise UserError(str(path), "targets.csv", f"missing: {older}")
        incidents = read("incidents.csv")
        lacking = [c for c in INCIDENT_MEASURES if c not in incidents.columns]
        if lacking:
            raise UserError(str(path / "incidents.csv"), lacking[0], f"no such column: {older}")
        return cls(
            path,
            manifest,
            spec,
            timeline,
            epoch,
            incidents,
            read("units.csv"),
            read("timeseries.csv"),
            read("kpis.csv"),
            read("summary.csv"),
            read("percentiles.csv"),
            read("comparison.csv") if has_cmp else None,
            read("sites.csv"),
            read("targets.csv"),
        )


def verified_manifest(folder: str | Path) -> tuple[dict[str, Any], Scenario, dt.datetime, Timeline]:
    """The manifest of a finished folder (run, compare, sweep or exercise), its resolved scenario,
    epoch and timeline; refused if it is unfinished or any file differs from its checksum."""
    path = Path(folder)
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
    epoch, timeline = resolve_timeline(spec, str(man_path))
    return manifest, spec, epoch, timeline


# A kecamatan (or a TPS) meets its targets when at least this share of its incidents needing a
# unit is reached within the target for their priority; with one target this is the same as its
# p90 being within it. The sweep verdict looks for the smallest value that reaches it overall.
TARGET_SHARE = 0.9

INCIDENT_MEASURES = ("response_min", "wait_min", "reached", "target_min", "within_target")


def dispatched(incidents: pd.DataFrame) -> pd.DataFrame:
    """Incidents that needed a unit: ``t_report`` is set exactly for them (:mod:`sim.metrics`)."""
    return incidents[incidents["t_report"].notna()]


def measures_of(incidents: pd.DataFrame) -> metrics.Measures:
    """The per-incident measures of saved rows, read from their columns (never recomputed)."""

    def flag(col: str) -> np.ndarray:
        return incidents[col].fillna(False).to_numpy(dtype=bool)

    return metrics.Measures(
        dispatched=incidents["t_report"].notna().to_numpy(),
        reached=flag("reached"),
        response_min=incidents["response_min"].to_numpy(dtype=float),
        wait_min=incidents["wait_min"].to_numpy(dtype=float),
        target_min=incidents["target_min"].to_numpy(dtype=float),
        within_target=flag("within_target"),
    )


def response_stats(incidents: pd.DataFrame) -> dict[str, float]:
    """Response statistics of a group of incidents pooled over replications (a kecamatan, a TPS).

    The same definitions as the KPIs (:func:`sim.metrics.response_kpis`) and the pooled
    percentiles (:func:`sim.metrics.percentile`), over the group's dispatched incidents:
    unreached ones count at the horizon, ``reached_share`` says how many that is. Pooled: the mean
    and the shares weigh every incident alike, so they differ from summary.csv's means of one
    figure per replication, and the reports name them "gabungan" / "pooled".
    """
    m = measures_of(incidents)
    priority = incidents["priority"].to_numpy()
    k = metrics.response_kpis(m, priority)
    resp = m.response_min[m.dispatched]
    return {
        "dispatched": float(k["dispatched"]),
        "reached_share": float(k["reached_share"]),
        "response_mean_min": float(k["response_mean_min"]),
        "response_pooled_p50_min": metrics.percentile(resp, 50),
        f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min": metrics.percentile(resp, metrics.HEADLINE_QUANTILE),
        "within_target": float(k["within_target"]),
        "dispatched_p1": float((m.dispatched & (priority == 1)).sum()),
        "within_target_p1": float(k["within_target_p1"]),
    }


def target_of(targets: pd.DataFrame, priority: int) -> dict[str, float]:
    """Kecamatan -> its response target [min] for one priority (targets.csv); empty if no type has it."""
    t = targets[targets["priority"] == priority]
    return {str(k): float(v) for k, v in zip(t["kecamatan"], t["target_min"], strict=True)}


def kecamatan_table(run: RunData) -> pd.DataFrame:
    """Per (sweep point,) plan and kecamatan: :func:`response_stats` of its incidents, with its
    target group and priority-1 target [min]. Every kecamatan of targets.csv has a row (NaN
    statistics where no incident needed a unit), plans in run order, kecamatan sorted. The shares
    judge each incident by its own ``target_min``; the target shown is targets.csv's (the base
    scenario's, should a sweep vary the targets)."""
    kecs = sorted(str(k) for k in run.targets["kecamatan"].unique())
    group = run.targets.drop_duplicates("kecamatan").set_index("kecamatan")["target_group"].astype(object).fillna("")
    p1 = target_of(run.targets, 1)
    points: list[int | None] = [int(g["point"]) for g in run.manifest["grid"]] if run.is_sweep else [None]
    inc = dispatched(run.incidents)
    keys = ["point", "plan", "kecamatan"] if run.is_sweep else ["plan", "kecamatan"]
    groups = dict(iter(inc.groupby(keys, sort=False))) if len(inc) else {}
    empty = inc.iloc[:0]
    rows = []
    for point in points:
        for plan in run.plans:
            for kec in kecs:
                key = (point, plan, kec) if run.is_sweep else (plan, kec)
                rows.append(
                    {
                        **({"point": point} if run.is_sweep else {}),
                        "plan": plan,
                        "kecamatan": kec,
                        "target_group": group.get(kec, ""),
                        **response_stats(groups.get(key, empty)),
                        "target_p1_min": p1.get(kec, float("nan")),
                    }
                )
    return pd.DataFrame(rows)


def weakest_first(kt: pd.DataFrame) -> pd.DataFrame:
    """Kecamatan rows weakest first: the lowest share within target, then the longest pooled p90,
    then by name (the one order the briefing and the kecamatan chart use)."""
    p90 = kt[f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min"].fillna(-np.inf)
    order = np.lexsort((kt["kecamatan"].astype(str).to_numpy(), -p90.to_numpy(), kt["within_target"].to_numpy()))
    return kt.iloc[order]
