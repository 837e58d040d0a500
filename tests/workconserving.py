"""Work conservation, checked from the incident and unit logs alone (no model internals).

The rule (sim/dispatch.py): an incident waits only while no free unit is allowed to take it. From
the logs a unit is known to be *idle at its post* from ``t_back`` of one trip (or the start of the
day) to ``t_dispatch`` of its next trip (or the horizon). While an incident waits (from
``t_report`` to ``t_dispatch``, or to the horizon if never sent), no unit that is idle at its post,
capable of the incident's type by role, and allowed by the hold-back rule (based within
``max_travel_min`` of the site, or the plan has no capable unit based within it) may exist.

Incidents that escalated are left out (their type, and so the capable roles, changed while they
waited; the log keeps the last type only). TNI backup and road closures are not checked here.
Under the ``cover`` policy a unit may rightly stay home for a routine call outside its area (when
it is its post's last free unit), so those pairs are not flagged either.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.scenario import LoadedScenario
from sim.world import World

TOL_MIN = 1e-6


def idle_at_post(units: pd.DataFrame, unit_ids: list[str], horizon: float) -> dict[str, list[tuple[float, float]]]:
    """Per unit id: the intervals [from, to) during which it sat idle at its post [min]."""
    out: dict[str, list[tuple[float, float]]] = {u: [] for u in unit_ids}
    for uid, rows in units.sort_values("t_dispatch", kind="stable").groupby("unit_id", sort=False):
        start = 0.0
        for r in rows.itertuples():
            if start is not None and r.t_dispatch > start + TOL_MIN:
                out[str(uid)].append((start, float(r.t_dispatch)))
            start = float(r.t_back) if not math.isnan(r.t_back) else None  # type: ignore[assignment]
        if start is not None and start < horizon:
            out[str(uid)].append((start, horizon))
    for uid in unit_ids:
        if uid not in set(units["unit_id"]):
            out[uid] = [(0.0, horizon)]
    return out


def violations(sc: LoadedScenario, world: World, incidents: pd.DataFrame, units: pd.DataFrame) -> list[dict]:
    """Every (incident, unit) pair where the incident waited while the unit sat allowed and idle."""
    spec = sc.spec
    horizon = float(sc.timeline.horizon)
    max_travel = spec.dispatch.max_travel_min or math.inf
    setup = world.setup_min
    node = {n: i for i, n in enumerate(world.node_ids)}
    kec_index = {k: i for i, k in enumerate(world.kecamatan)}
    cover = spec.dispatch.policy == "cover"
    found = []
    for (rep, plan), inc in incidents.groupby(["replication", "plan"], sort=False):
        p = spec.plans[str(plan)]
        fleet = []  # (uid, role, home node, travel matrix, kecamatan covered)
        for role, key in (("patrol", "patrols"), ("reserve", "reserve"), ("tni", "tni_backup")):
            for g in getattr(p, key):
                k = sum(1 for f in fleet if f[0].startswith(f"{g.post}-{role}-"))
                home, travel, covers = world.post_node[g.post], world.travel_min[g.mode], world.post_covers[g.post]
                fleet.extend((f"{g.post}-{role}-{k + j + 1}", role, home, travel, covers) for j in range(g.units))
        un = units[(units["replication"] == rep) & (units["plan"] == plan)]
        idle = idle_at_post(un, [f[0] for f in fleet], horizon)
        waiting = inc[inc["t_report"].notna() & ~inc["escalated"].astype(bool)]
        for r in waiting.itertuples():
            t0 = float(r.t_report)
            t1 = float(r.t_dispatch) if not math.isnan(r.t_dispatch) else horizon
            if t1 <= t0 + TOL_MIN:
                continue
            roles = spec.incidents.types[r.type].response.roles
            site = node[r.site_id]
            capable = [f for f in fleet if f[1] in roles]
            near = [f for f in capable if setup + float(f[3][f[2], site]) <= max_travel]
            for uid, _, home, travel, covers in capable:
                if near and setup + float(travel[home, site]) > max_travel + TOL_MIN:
                    continue  # held back for a unit based nearer
                if cover and r.priority >= 3 and kec_index[r.kecamatan] not in covers:
                    continue  # cover may keep it home
                for a, b in idle[uid]:
                    overlap = min(b, t1) - max(a, t0)
                    if overlap > TOL_MIN:
                        found.append(
                            {
                                "replication": rep,
                                "plan": plan,
                                "incident_id": r.incident_id,
                                "unit_id": uid,
                                "waited_min": t1 - t0,
                                "idle_from": a,
                                "overlap_min": overlap,
                            }
                        )
                        break
    return found


def summary(found: list[dict]) -> tuple[int, float]:
    """(incidents affected, longest wait among them [min])."""
    if not found:
        return 0, 0.0
    df = pd.DataFrame(found)
    per = df.groupby(["replication", "plan", "incident_id"])["waited_min"].max()
    return len(per), float(np.max(per.to_numpy()))
