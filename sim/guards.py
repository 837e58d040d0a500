"""Static TPS guards: clusters (the pola pengamanan) and the ballot-box escort schedule.

A plan guards the TPS of each vulnerability class with ``officers`` per cluster of ``per_tps``
TPS; clusters are formed per kecamatan, in TPS-table order. When counting ends at a TPS, one
guard of its cluster carries the box to the PPK (``escort.by: tps_guard``), hands it over and,
if ``return_to_cluster``, comes back; a box whose guards are all away waits for the first one
back. While no guard of a cluster is present, its TPS that still hold their box are unguarded.

Nothing here depends on incidents: the schedule follows from counting times and travel alone,
so it is computed up front as a pure function (a FIFO multi-server recursion per cluster) instead
of being played out event by event in SimPy. The model only looks up whether a guard is present.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

import numpy as np

from sim.scenario import TPS_CLASSES, Escort, Plan
from sim.world import World

# Clusters of one TPS take a shortcut with the same result as the general sweep (a test checks
# both ways); it saves most of the schedule's cost in the Kutim scenario.
SINGLE_TPS_SHORTCUT = True


@dataclass
class GuardSchedule:
    """Who guards which TPS, when guards are away, and the unguarded-TPS step function."""

    cluster_of: np.ndarray  # cluster index per TPS
    officers: np.ndarray  # officers per cluster
    absent_start: list[list[float]]  # per cluster: starts of intervals with no guard present [min]
    absent_end: list[list[float]]  # per cluster: matching ends (exclusive) [min]
    box_departs: np.ndarray  # per TPS: when its box leaves for the PPK [min]
    unguarded_t: np.ndarray  # times the number of unguarded TPS changes [min]
    unguarded_n: np.ndarray  # the number from that time on

    def guard_present(self, tps: int, t: float) -> bool:
        """Is at least one guard of this TPS's cluster at the cluster at time ``t``?"""
        c = int(self.cluster_of[tps])
        if self.officers[c] == 0:
            return False
        starts = self.absent_start[c]
        k = bisect.bisect_right(starts, t) - 1
        return not (k >= 0 and t < self.absent_end[c][k])


def build_clusters(world: World, plan: Plan) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """Cluster index of every TPS, the TPS of every cluster, and its officers."""
    cluster_of = np.zeros(world.n_tps, dtype=np.int64)
    members_of: list[list[int]] = []
    officers: list[int] = []
    tps_kec = world.node_kec[: world.n_tps]
    for ci, cls in enumerate(TPS_CLASSES):
        rule = plan.tps_guards[cls]  # type: ignore[index]
        for k in range(len(world.kecamatan)):
            members = np.flatnonzero((world.tps_class == ci) & (tps_kec == k))
            for start in range(0, len(members), rule.per_tps):
                chunk = [int(x) for x in members[start : start + rule.per_tps]]
                cluster_of[chunk] = len(members_of)
                members_of.append(chunk)
                officers.append(rule.officers)
    return cluster_of, members_of, np.asarray(officers, dtype=np.int64)


def guard_schedule(world: World, plan: Plan, count_end: np.ndarray, opens_at: float) -> GuardSchedule:
    """The escort schedule of every cluster given when counting ends at each TPS [min]."""
    key = ("clusters", id(plan))
    if key not in world.cache:  # the grouping depends on the plan only, not on the day
        world.cache[key] = (plan, build_clusters(world, plan))
    cluster_of, members_of, officers = world.cache[key][1]
    escort = plan.escort
    road = world.travel_min["road"]
    ppk = world.ppk_node[world.node_kec[: world.n_tps]]
    box_departs = count_end.astype(float).copy()
    absent_start: list[list[float]] = []
    absent_end: list[list[float]] = []
    changes: list[tuple[float, int]] = []

    for c, members in enumerate(members_of):
        g = int(officers[c])
        if len(members) == 1 and SINGLE_TPS_SHORTCUT:  # most rawan clusters: nothing to sweep
            _single(
                members[0],
                g,
                escort,
                float(count_end[members[0]]),
                road,
                ppk,
                opens_at,
                changes,
                absent_start,
                absent_end,
            )
            continue
        order = sorted(members, key=lambda t: (count_end[t], t))
        present_delta: list[tuple[float, int]] = []
        if g > 0 and escort.by == "tps_guard":
            free = [opens_at] * g  # when each guard is next at the cluster
            for tps in order:
                if not free:  # every guard has gone for good: the box leaves without one
                    continue
                depart = max(float(count_end[tps]), heapq.heappop(free))
                box_departs[tps] = depart
                present_delta.append((depart, -1))
                if escort.return_to_cluster:
                    back = depart + float(road[tps, ppk[tps]]) + escort.handover_min + float(road[ppk[tps], tps])
                    present_delta.append((back, +1))
                    heapq.heappush(free, back)
        starts, ends = _sweep(c, g, order, box_departs, present_delta, opens_at, changes)
        absent_start.append(starts)
        absent_end.append(ends)

    if changes:
        changes.sort()
        t = np.asarray([x[0] for x in changes])
        n = np.cumsum([x[1] for x in changes])
        last = np.r_[t[1:] != t[:-1], True]
        ug_t, ug_n = t[last], n[last]
    else:
        ug_t, ug_n = np.zeros(0), np.zeros(0, dtype=np.int64)
    return GuardSchedule(cluster_of, officers, absent_start, absent_end, box_departs, ug_t, ug_n.astype(np.int64))


def _single(
    tps: int,
    g: int,
    escort: Escort,
    ce: float,
    road: np.ndarray,
    ppk: np.ndarray,
    opens_at: float,
    changes: list[tuple[float, int]],
    absent_start: list[list[float]],
    absent_end: list[list[float]],
) -> None:
    """A cluster of one TPS: its box leaves at the end of counting, with a guard if it has one."""
    if g == 0:  # unguarded from the opening until the box leaves
        changes.extend(((opens_at, 1), (ce, -1)))
        absent_start.append([])
        absent_end.append([])
    elif escort.by == "tps_guard" and g == 1:
        back = ce + float(road[tps, ppk[tps]]) + escort.handover_min + float(road[ppk[tps], tps])
        absent_start.append([ce])
        absent_end.append([back if escort.return_to_cluster else np.inf])
    else:
        absent_start.append([])
        absent_end.append([])


def _sweep(
    c: int,
    g: int,
    order: list[int],
    box_departs: np.ndarray,
    present_delta: list[tuple[float, int]],
    opens_at: float,
    changes: list[tuple[float, int]],
) -> tuple[list[float], list[float]]:
    """Walk one cluster's events in time order: absent intervals, and unguarded-count changes."""
    events: dict[float, list[int]] = {}  # time -> [change in boxes present, change in guards present]
    for tps in order:
        events.setdefault(float(box_departs[tps]), [0, 0])[0] -= 1
    for t, d in present_delta:
        events.setdefault(t, [0, 0])[1] += d
    active, present = len(order), g
    unguarded = active if present == 0 else 0
    if unguarded:
        changes.append((opens_at, unguarded))
    starts: list[float] = []
    ends: list[float] = []
    for t in sorted(events):
        d_active, d_present = events[t]
        was_present = present
        active += d_active
        present += d_present
        if g > 0 and was_present > 0 and present == 0:
            starts.append(t)
        elif g > 0 and was_present == 0 and present > 0:
            ends.append(t)
        now = active if present == 0 else 0
        if now != unguarded:
            changes.append((t, now - unguarded))
            unguarded = now
    if len(ends) < len(starts):
        ends.append(np.inf)
    return starts, ends
