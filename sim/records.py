"""Output tables of a run, every column documented here with its unit (the one place).

All times are minutes from the scenario epoch (model clock); an unset time is empty (NaN). The
derived incident columns (reached, response, wait, target, within target) and the KPIs are
defined in :mod:`sim.metrics`; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from sim import metrics
from sim.model import ON_SITE, Assignment, IncidentOutcome, ResolvedBy, RunRecords
from sim.scenario import PHASES, LoadedScenario
from sim.world import World

INCIDENT_COLUMNS: dict[str, str] = {
    "replication": "replication index (0-based)",
    "plan": "plan name",
    "incident_id": "incident number within the replication (0-based, in order of t_occur)",
    "type": "incident type at the end (after any escalation)",
    "priority": "priority of that type (1 = most urgent)",
    "site_id": "TPS id, 'PPK <kecamatan>' or 'KPU'",
    "kecamatan": "kecamatan of the site",
    "phase": "phase at the site when it occurred: logistics, voting, counting, escort, recap, plenary",
    "t_occur": "when it happened [min]",
    "t_report": "when it was reported to the dispatcher [min]; empty if resolved on site",
    "t_dispatch": "when the first unit was sent [min]",
    "t_arrive": "when the first unit arrived [min]",
    "t_clear": "when it was cleared (on site or by units) [min]",
    "wait_min": "t_dispatch - t_report: waiting for a free unit [min]; never sent: horizon - t_report (censored)",
    "travel_min": "t_arrive - t_dispatch: travel of the first unit sent [min]",
    "response_min": "t_arrive - t_report: report to first arrival [min]; never reached: horizon - t_report (censored)",
    "reached": "True if it needed a unit and one arrived before the horizon",
    "target_min": "response target for its kecamatan and (final) priority [min]; empty if resolved on site",
    "within_target": "True if it needed a unit and one arrived within target_min",
    "units": "ids of the units sent, ';'-separated",
    "resolved_by": "linmas, tps_guard, ppk_guard, units, or empty if still open",
    "escalated": "True if it escalated to another type while nobody was there",
    "outcome": "resolved_on_site, cleared, open_at_end (not cleared by the horizon), no_capable_unit",
}

UNIT_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "plan": "plan name",
    "unit_id": "unit id: <post>-<role>-<n>",
    "role": "patrol, reserve or tni",
    "post": "post the unit belongs to",
    "incident_id": "incident it was sent to",
    "t_dispatch": "when it was sent [min]",
    "t_arrive": "when it arrived on scene [min]",
    "t_clear": "when the incident cleared and the unit became free again [min]",
    "t_back": "when it was back at its post [min]; empty if re-tasked on the way or still out",
    "travel_min": "travel time to the scene including setup and noise [min]",
    "travel_km": "distance to the scene [km]",
    "retasked": "True if it was sent while returning from another incident",
    "busy_min": "t_clear - t_dispatch (or to the horizon if never cleared) [min]",
}

SITE_COLUMNS: dict[str, str] = {
    "site_id": "TPS id, 'PPK <kecamatan>', 'KPU' or post id",
    "kind": "tps, ppk, kpu or post",
    "name": "name (posts, venues); the desa for a TPS",
    "kecamatan": "kecamatan of the site",
    "lat": "latitude [degrees]",
    "lon": "longitude [degrees]",
    "class": "vulnerability class (TPS only)",
    "voters": "voters on the DPT (TPS only)",
    "target_group": "name of the site's kecamatan target group (empty: the default targets)",
}

TARGET_COLUMNS: dict[str, str] = {
    "kecamatan": "kecamatan",
    "target_group": "its target group (empty: the default targets)",
    "priority": "incident priority (1 = most urgent); one row per priority the incident types use",
    "target_min": "response-time target [min]",
}

TIMESERIES_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "plan": "plan name",
    "t": "time of the change [min]; each value holds until the next row",
    "busy_units": "units travelling to or working at an incident",
    "open_incidents": "reported incidents not yet cleared",
    "unguarded_tps": "TPS whose box is still there and none of whose cluster's guards is present",
}

KPI_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "plan": "plan name",
    **{k: v.doc for k, v in metrics.KPIS.items()},
}


def run_measures(world: World, rec: RunRecords, horizon: float) -> metrics.Measures:
    """The per-incident predicates of one run (:func:`sim.metrics.measures`)."""
    r = rec.incidents
    t_report = np.where(np.isin(r.resolved_by, ON_SITE), np.nan, r.t_report)
    target = world.target_min[world.node_kec[rec.stream.site], r.priority] if len(r) else np.zeros(0)
    return metrics.measures(t_report, r.t_dispatch, r.t_arrive, target, horizon)


RESOLVED_BY_CODES = np.asarray([r.code for r in ResolvedBy], dtype=object)
OUTCOME_CODES = np.asarray([o.code for o in IncidentOutcome], dtype=object)
UNIT_ROW = tuple(f.name for f in fields(Assignment))  # a row of units.csv is an Assignment
# The dtype of each Assignment field's column (times and distances are floats).
UNIT_DTYPES: dict[str, type] = {
    **dict.fromkeys(UNIT_ROW, float),
    **dict.fromkeys(("unit_id", "role", "post"), object),
    "incident_id": np.int64,
    "retasked": bool,
}

# One run's columns of a table, before they become a DataFrame: arrays of one length (texts as
# object arrays), except "plan" (the run's plan name, one value) and "units" (a list of texts).
Columns = dict[str, Any]


def _codes(names: object, index: np.ndarray) -> np.ndarray:
    """The texts ``names[index]`` as an object array (empty for no index)."""
    return np.asarray(names, dtype=object)[np.asarray(index, dtype=np.intp)]


def incident_columns(sc: LoadedScenario, world: World, rec: RunRecords, m: metrics.Measures) -> Columns:
    """The columns of :data:`INCIDENT_COLUMNS` for one run, with its measures ``m``."""
    s, r = rec.stream, rec.incidents
    n = len(s)
    return {
        "replication": np.full(n, s.replication, dtype=np.int64),
        "plan": rec.plan,
        "incident_id": np.arange(n),
        "type": _codes(list(sc.spec.incidents.types), r.kind),
        "priority": r.priority,
        "site_id": _codes(world.node_ids, s.site),
        "kecamatan": _codes(world.kecamatan, world.node_kec[np.asarray(s.site, dtype=np.intp)]),
        "phase": _codes(PHASES, s.phase),
        "t_occur": s.t_occur,
        "t_report": np.where(m.dispatched, r.t_report, np.nan),
        "t_dispatch": r.t_dispatch,
        "t_arrive": r.t_arrive,
        "t_clear": r.t_clear,
        "wait_min": m.wait_min,
        "travel_min": r.t_arrive - r.t_dispatch,
        "response_min": m.response_min,
        "reached": m.reached,
        "target_min": m.target_min,
        "within_target": m.within_target,
        "units": [";".join(u) for u in r.units],
        "resolved_by": _codes(RESOLVED_BY_CODES, r.resolved_by),
        "escalated": r.escalated,
        "outcome": _codes(OUTCOME_CODES, r.outcome),
    }


def busy_min(t_dispatch: np.ndarray, t_clear: np.ndarray, horizon: float) -> np.ndarray:
    """Per unit assignment: sent until the incident cleared, or until the horizon if it never did [min]."""
    return np.where(np.isnan(t_clear), horizon, t_clear) - t_dispatch


def unit_columns(rec: RunRecords, horizon: float) -> Columns:
    """The columns of :data:`UNIT_COLUMNS` for one run."""
    jobs = rec.assignments
    values = list(zip(*map(attrgetter(*UNIT_ROW), jobs), strict=True)) or [()] * len(UNIT_ROW)
    data: Columns = {"replication": np.full(len(jobs), rec.stream.replication, dtype=np.int64), "plan": rec.plan}
    for name, column in zip(UNIT_ROW, values, strict=True):
        data[name] = np.asarray(column, dtype=UNIT_DTYPES[name])
    data["busy_min"] = busy_min(data["t_dispatch"], data["t_clear"], horizon)
    return data


def timeseries_columns(rec: RunRecords) -> Columns:
    """The columns of :data:`TIMESERIES_COLUMNS` for one run: busy units and open incidents (from
    the model) merged with unguarded TPS (from the guard schedule)."""
    model = np.asarray(rec.timeseries, dtype=float).reshape(-1, 3)
    g = rec.guards
    t = np.union1d(model[:, 0], g.unguarded_t)
    # Each counter holds from its time on: take the last record at or before every time.
    k = np.searchsorted(model[:, 0], t, side="right") - 1
    j = np.searchsorted(g.unguarded_t, t, side="right") - 1
    unguarded = np.where(j >= 0, g.unguarded_n[np.maximum(j, 0)], 0) if len(g.unguarded_t) else np.zeros(len(t))
    return {
        "replication": np.full(len(t), rec.stream.replication, dtype=np.int64),
        "plan": rec.plan,
        "t": t,
        "busy_units": model[k, 1].astype(np.int64),
        "open_incidents": model[k, 2].astype(np.int64),
        "unguarded_tps": np.asarray(unguarded, dtype=np.int64),
    }


def table(columns: dict[str, str], parts: list[Columns]) -> pd.DataFrame:
    """One table from the columns of runs, in order: each column put together once, one DataFrame.

    Texts take pandas' text dtype; a table with no rows keeps what pandas makes of empty columns
    (object, and float for ``units``), except ``plan``, always text.
    """
    n = [len(p["replication"]) for p in parts]
    data: dict[str, object] = {}
    for name in columns:
        if name == "plan":
            plans = np.asarray([p["plan"] for p in parts], dtype=object)
            data[name] = pd.array(np.repeat(plans, n), dtype="str")
        elif name == "units":
            data[name] = [u for p in parts for u in p[name]]
        else:
            data[name] = np.concatenate([p[name] for p in parts])
    return pd.DataFrame(data, index=pd.RangeIndex(sum(n)))


def incident_table(
    sc: LoadedScenario, world: World, rec: RunRecords, m: metrics.Measures | None = None
) -> pd.DataFrame:
    m = m if m is not None else run_measures(world, rec, sc.timeline.horizon)
    return table(INCIDENT_COLUMNS, [incident_columns(sc, world, rec, m)])


def unit_table(rec: RunRecords, horizon: float) -> pd.DataFrame:
    return table(UNIT_COLUMNS, [unit_columns(rec, horizon)])


def timeseries_table(rec: RunRecords) -> pd.DataFrame:
    """Busy units and open incidents (from the model) merged with unguarded TPS (from the guard schedule)."""
    return table(TIMESERIES_COLUMNS, [timeseries_columns(rec)])


def kpis(world: World, rec: RunRecords, horizon: float, m: metrics.Measures | None = None) -> dict[str, object]:
    """Key performance indicators of one run (see :data:`sim.metrics.KPIS`), from the raw records."""
    m = m if m is not None else run_measures(world, rec, horizon)
    return kpi_row(rec, m, unit_columns(rec, horizon))


def kpi_row(rec: RunRecords, m: metrics.Measures, units: Columns) -> dict[str, object]:
    """:func:`kpis` from the run's measures and its :func:`unit_columns`."""
    r = rec.incidents
    day = metrics.Day(
        m,
        r.priority,
        n_incidents=len(r),
        on_site=r.outcome == IncidentOutcome.RESOLVED_ON_SITE,
        open_at_end=r.outcome == IncidentOutcome.OPEN_AT_END,
        escalated=r.escalated,
        busy_min=units["busy_min"],
        roles=units["role"],
        busy_units=np.asarray([b for _, b, _ in rec.timeseries], dtype=np.int64),
        unguarded_tps=np.asarray(rec.guards.unguarded_n, dtype=np.int64),
        n_units=rec.n_units,
    )
    out: dict[str, object] = {"replication": rec.stream.replication, "plan": rec.plan, **metrics.day_kpis(day)}
    return {k: out[k] for k in KPI_COLUMNS}


def run_tables(sc: LoadedScenario, world: World, records: Iterable[RunRecords]) -> dict[str, pd.DataFrame]:
    """The incident, unit, time-series and KPI tables of runs, rows in the runs' order.

    Each run gives columns; each table is made once from all of them, which costs far less than a
    DataFrame per run and a concat. The dtypes are a table's own, as for one run: a run without
    rows among runs with rows does not turn the text columns into object (a concat would).
    """
    horizon = sc.timeline.horizon
    parts: dict[str, list[Columns]] = {"incidents": [], "units": [], "timeseries": []}
    rows = []
    for rec in records:
        m = run_measures(world, rec, horizon)
        units = unit_columns(rec, horizon)
        parts["incidents"].append(incident_columns(sc, world, rec, m))
        parts["units"].append(units)
        parts["timeseries"].append(timeseries_columns(rec))
        rows.append(kpi_row(rec, m, units))
    return {
        "incidents": table(INCIDENT_COLUMNS, parts["incidents"]),
        "units": table(UNIT_COLUMNS, parts["units"]),
        "timeseries": table(TIMESERIES_COLUMNS, parts["timeseries"]),
        "kpis": pd.DataFrame(rows, columns=list(KPI_COLUMNS)),
    }


def sites_table(sc: LoadedScenario, world: World) -> pd.DataFrame:
    """Every site with its position, so that reports can draw maps without the scenario files."""
    n = world.n_nodes
    name = [""] * n
    desa = sc.tps["desa"].tolist()
    name[: world.n_tps] = desa
    for i, v in enumerate(sc.spec.sites.ppk):
        name[world.n_tps + i] = v.name or f"PPK {v.kecamatan}"
    name[world.kpu_node] = sc.spec.sites.kpu.name or "KPU"
    posts = {p.id: p for p in sc.spec.sites.posts}
    for pid, node in world.post_node.items():
        name[node] = posts[pid].name
    cls = np.full(n, "", dtype=object)
    cls[: world.n_tps] = sc.tps["class"].to_numpy()
    voters = np.zeros(n, dtype=np.int64)
    voters[: world.n_tps] = world.tps_voters
    return pd.DataFrame(
        {
            "site_id": world.node_ids,
            "kind": world.node_kind,
            "name": name,
            "kecamatan": np.asarray(world.kecamatan, dtype=object)[world.node_kec],
            "lat": world.lat,
            "lon": world.lon,
            "class": cls,
            "voters": voters,
            "target_group": np.asarray(world.target_group, dtype=object)[world.node_kec],
        }
    )[list(SITE_COLUMNS)]


def targets_table(sc: LoadedScenario, world: World) -> pd.DataFrame:
    """Response targets per kecamatan and priority: what "within target" was judged against."""
    used = sorted({t.priority for t in sc.spec.incidents.types.values()})
    rows = [
        {"kecamatan": k, "target_group": world.target_group[ki], "priority": p, "target_min": world.target_min[ki, p]}
        for ki, k in enumerate(world.kecamatan)
        for p in used
    ]
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))
