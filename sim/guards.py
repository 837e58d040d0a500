"""Static TPS guards: clusters (the pola pengamanan) and the ballot-box escort schedule.

A plan guards the TPS of each vulnerability class with ``officers`` per cluster of ``per_tps``
TPS; clusters are formed per kecamatan, in TPS-table order (:func:`sim.scenario.guard_clusters`,
the grouping personnel are counted by too). When counting ends at a TPS, one guard of its
cluster carries the box to the PPK (``escort.by: tps_guard``), hands it over and, if
``return_to_cluster``, comes back; a box whose guards are all away waits for the first one back.
While no guard of a cluster is present, its TPS that still hold their box are unguarded.

Nothing here depends on incidents: the schedule follows from counting times and travel alone,
so it is computed up front as a pure function (a FIFO multi-server recursion per cluster) instead
of being played out event by event in SimPy. The model only looks up whether a guard is present.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

import numpy as np

from sim.scenario import TPS_CLASSES, Escort, GuardClusters, Plan, guard_clusters
from sim.world import World

# Clusters of one TPS take a vectorised shortcut with the same result as the general sweep (a
# test checks both ways); in the Kutim scenario it saves most of the schedule's cost.
SINGLE_TPS_SHORTCUT = True


@dataclass
class GuardSchedule:
    """Who guards which TPS, when guards are away, and the unguarded-TPS step function."""

    cluster_of: np.ndarray  # cluster index per TPS
    officers: np.ndarray  # officers per cluster
    absent: dict[int, tuple[list[float], list[float]]]  # cluster -> starts, ends of no-guard intervals [min]
    box_departs: np.ndarray  # per TPS: when its box leaves for the PPK [min]
    unguarded_t: np.ndarray  # times the number of unguarded TPS changes [min]
    unguarded_n: np.ndarray  # the number from that time on

    def guard_present(self, tps: int, t: float) -> bool:
        """Is at least one guard of this TPS's cluster at the cluster at time ``t``?"""
        c = int(self.cluster_of[tps])
        if self.officers[c] == 0:
            return False
        if c not in self.absent:
            return True
        starts, ends = self.absent[c]
        k = bisect.bisect_right(starts, t) - 1
        return not (k >= 0 and t < ends[k])


def guard_schedule(
    world: World, plan: Plan, count_end: np.ndarray, opens_at: float, tps: np.ndarray | None = None
) -> GuardSchedule:
    """The escort schedule of every cluster given when counting ends at each TPS [min]; with
    ``tps``, of the clusters of those TPS only (some dispatch areas of a day: :func:`merged`
    puts such schedules of a day together)."""
    rules = tuple((plan.tps_guards[c].per_tps, plan.tps_guards[c].officers) for c in TPS_CLASSES)  # type: ignore[index]
    key = ("clusters", rules)  # the grouping depends on these only, not on the day (nor on the plan's object)
    if key not in world.cache:
        world.cache[key] = guard_clusters(plan, world.tps_class, world.node_kec[: world.n_tps], len(world.kecamatan))
    clusters: GuardClusters = world.cache[key]
    cluster_of, officers = clusters.cluster_of, clusters.officers
    single = clusters.sizes == 1 if SINGLE_TPS_SHORTCUT else np.zeros(len(officers), dtype=bool)
    escort = plan.escort
    go, back = world.escort_legs()  # TPS to its PPK, and back [min]
    absent: dict[int, tuple[list[float], list[float]]] = {}
    change_t: list[np.ndarray] = []
    change_n: list[np.ndarray] = []

    chosen = np.ones(len(officers), dtype=bool)
    if tps is not None:
        chosen[:] = False
        chosen[cluster_of[tps]] = True
    _singles(
        np.flatnonzero(single & chosen),
        *(clusters, escort, count_end, go, back, opens_at, absent, change_t, change_n),
    )
    # The clusters of several TPS walk their boxes one by one: in Python floats (exactly the
    # arrays' values), which read several times faster than numpy scalars. A box leaves when
    # counting ends unless its guard is still away (a one-TPS cluster's always does).
    ends_at, go_min, back_min = count_end.astype(float).tolist(), go.tolist(), back.tolist()
    departs = list(ends_at)
    for c in np.flatnonzero(~single & chosen).tolist():
        members = clusters.members(c)
        g = int(officers[c])
        order = sorted(members, key=lambda t: (ends_at[t], t))
        present_delta: list[tuple[float, int]] = []
        if g > 0 and escort.by == "tps_guard":
            free = [opens_at] * g  # when each guard is next at the cluster
            for box in order:  # the box of each TPS, in the order counting ends
                if not free:  # every guard has gone for good: the box leaves without one
                    continue
                depart = max(ends_at[box], heapq.heappop(free))
                departs[box] = depart
                present_delta.append((depart, -1))
                if escort.return_to_cluster:
                    again = depart + (go_min[box] + escort.handover_min + back_min[box])  # the round trip
                    present_delta.append((again, +1))
                    heapq.heappush(free, again)
        changes: list[tuple[float, int]] = []
        starts, ends = _sweep(g, order, departs, present_delta, opens_at, changes)
        if starts:
            absent[int(c)] = (starts, ends)
        if changes:
            change_t.append(np.asarray([x[0] for x in changes]))
            change_n.append(np.asarray([x[1] for x in changes]))

    ug_t, ug_n = _step_function(change_t, change_n)
    return GuardSchedule(cluster_of, officers, absent, np.asarray(departs, dtype=float), ug_t, ug_n)


def _step_function(change_t: list[np.ndarray], change_n: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Changes of the unguarded count (time, +-k) as the count from each time on (the last of equal times)."""
    if not change_t:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    t = np.concatenate(change_t)
    d = np.concatenate(change_n)
    order_t = np.argsort(t, kind="stable")
    t, n = t[order_t], np.cumsum(d[order_t])
    last = np.r_[t[1:] != t[:-1], True]
    return t[last], n[last].astype(np.int64)


def merged(schedules: list[GuardSchedule], count_end: np.ndarray) -> GuardSchedule:
    """The day's schedule from schedules of disjoint sets of clusters (``guard_schedule`` with
    ``tps``; a cluster never spans two dispatch areas): the same as computed for all at once."""
    first = schedules[0]
    box_departs = count_end.astype(float).copy()
    absent: dict[int, tuple[list[float], list[float]]] = {}
    for s in schedules:
        moved = s.box_departs != count_end
        box_departs[moved] = s.box_departs[moved]
        absent.update(s.absent)
    ug_t, ug_n = _step_function(
        [s.unguarded_t for s in schedules], [np.diff(s.unguarded_n, prepend=0) for s in schedules]
    )
    return GuardSchedule(first.cluster_of, first.officers, absent, box_departs, ug_t, ug_n)


def _singles(
    clusters: np.ndarray,
    grouping: GuardClusters,
    escort: Escort,
    count_end: np.ndarray,
    go: np.ndarray,
    back: np.ndarray,
    opens_at: float,
    absent: dict[int, tuple[list[float], list[float]]],
    change_t: list[np.ndarray],
    change_n: list[np.ndarray],
) -> None:
    """Clusters of one TPS: the box leaves when counting ends, with a guard if there is one."""
    if len(clusters) == 0:
        return
    tps = grouping.tps[grouping.starts[clusters]]
    g = grouping.officers[clusters]
    ce = count_end[tps].astype(float)
    bare = g == 0  # unguarded from the opening until the box leaves
    if bare.any():
        change_t += [np.asarray([opens_at]), ce[bare]]
        change_n += [np.asarray([int(bare.sum())]), -np.ones(int(bare.sum()), dtype=np.int64)]
    if escort.by == "tps_guard":
        alone = np.flatnonzero(g == 1)  # its only guard leaves with the box
        t = tps[alone]
        again = ce[alone] + (go[t] + escort.handover_min + back[t])  # the round trip, added up as for the others
        for c, start, end in zip(clusters[alone], ce[alone], again, strict=True):
            absent[int(c)] = ([float(start)], [float(end) if escort.return_to_cluster else np.inf])


def _sweep(
    g: int,
    order: list[int],
    box_departs: list[float],
    present_delta: list[tuple[float, int]],
    opens_at: float,
    changes: list[tuple[float, int]],
) -> tuple[list[float], list[float]]:
    """Walk one cluster's events in time order: absent intervals, and unguarded-count changes."""
    events: dict[float, list[int]] = {}  # time -> [change in boxes present, change in guards present]
    for tps in order:
        events.setdefault(box_departs[tps], [0, 0])[0] -= 1
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
