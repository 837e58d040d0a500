"""The SimPy model of one plan facing one replication's day.

Reads top to bottom like the day itself:

1. ``incident_source`` replays the pre-generated stream (:mod:`sim.generate`). At the moment an
   incident occurs, Linmas at the TPS, then the TPS guard (if one of the cluster is present), or
   the PPK guard at a PPK venue or the KPU office, may resolve it on site (pre-drawn coins).
2. Otherwise ``incident`` waits for the report delay and reports it. The dispatcher applies the
   rules every policy shares (capable role, TNI backup when no police unit may go, reachable, the
   ``dispatch.max_travel_min`` hold-back; :mod:`sim.dispatch` states them) and lets the scenario's
   policy choose among the units they allow. If none may go, the incident waits in a queue ordered
   by priority, then report time. Dispatch is work-conserving: every change that can let a unit
   take work offers it the queue (``_available``), so no call waits while a unit allowed to take
   it is free.
3. If nobody has arrived ``after_min`` after the report, the incident may escalate (pre-drawn
   coin): it becomes the target type, with its priority, units and on-scene time.
4. Once all units it needs are on scene, the on-scene time runs; then the units head back to
   their posts. A returning unit is free: it can be re-tasked on the way, its position taken as
   the fraction of the return leg covered (travel interpolated between scene and post).
5. Static guards follow the escort schedule of :mod:`sim.guards`: when counting ends at a TPS,
   one guard of its cluster carries the box to the PPK and is away from the cluster's other TPS
   until back; meanwhile they cannot resolve incidents there.

Units are objects moved by timeouts with callbacks; a return trip cancelled by re-tasking is
recognised by a trip counter rather than by interrupting a process (cheaper, same semantics).
"""

from __future__ import annotations

import bisect
import math
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum
from functools import partial
from typing import ClassVar, NamedTuple, cast

import numpy as np
import simpy

from sim.dispatch import policy_for
from sim.generate import MAX_UNITS, PHASE_INDEX, IncidentStream
from sim.guards import GuardSchedule, guard_schedule
from sim.scenario import LoadedScenario, Plan
from sim.world import Legs, World, members

NO_LEGS = np.zeros(0)  # what a closed day's units keep of their legs
EPS_MIN = 1e-6  # tolerance on "within max_travel_min" [min], for the moment a returning unit reaches it
ROLE_GROUPS = (("patrol", "patrols"), ("reserve", "reserve"), ("tni", "tni_backup"))


class UnitState(IntEnum):
    """Where a unit is in its cycle; it is free to be sent while ``state <= RETURNING``."""

    AT_POST = 0
    RETURNING = 1
    TO_SCENE = 2
    ON_SCENE = 3
    OUT_OF_SERVICE = 4

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def free(self) -> bool:
        """At its post or on the way back: it may be sent."""
        return self <= UnitState.RETURNING

    @property
    def busy(self) -> bool:
        """Travelling to or working at an incident."""
        return UnitState.RETURNING < self < UnitState.OUT_OF_SERVICE


# The members by their short names, for the dispatcher's inner loops.
AT_POST, RETURNING, TO_SCENE, ON_SCENE, OUT_OF_SERVICE = UnitState


class ResolvedBy(IntEnum):
    """Who resolved an incident; ``code`` is what the tables show."""

    NOBODY = 0  # still open
    LINMAS = 1
    TPS_GUARD = 2
    PPK_GUARD = 3
    UNITS = 4

    @property
    def code(self) -> str:
        return "" if self is ResolvedBy.NOBODY else self.name.lower()


NOBODY, LINMAS, TPS_GUARD, PPK_GUARD, UNITS = ResolvedBy  # short names for the model's inner loops
ON_SITE = (LINMAS, TPS_GUARD, PPK_GUARD)  # resolved where it happened


class IncidentOutcome(IntEnum):
    """How an incident ended; ``code`` is what the tables show."""

    OPEN_AT_END = 0  # not cleared by the horizon
    RESOLVED_ON_SITE = 1
    CLEARED = 2  # by units
    NO_CAPABLE_UNIT = 3  # the plan has no unit of a role its type asks for

    @property
    def code(self) -> str:
        return self.name.lower()


OPEN_AT_END, RESOLVED_ON_SITE, CLEARED, NO_CAPABLE_UNIT = IncidentOutcome


class EventKind(StrEnum):
    """What the model reports to a listener (:attr:`ElectionDay.listen`)."""

    REPORT = "report"  # reported to the dispatcher
    ON_SITE = "on_site"  # resolved on site when it occurred
    DISPATCH = "dispatch"  # a unit was sent
    ARRIVE = "arrive"  # a unit arrived on scene
    QUEUED = "queued"  # no unit may go: it waits
    ESCALATE = "escalate"  # it became another type (the record shows the new type)
    CLEAR = "clear"  # the units finished on scene


class ModelEvent(NamedTuple):
    """One event of the day: at ``t`` [min], ``event`` happened to ``incident`` (and ``unit``)."""

    t: float
    event: EventKind
    incident: int
    unit: str | None


def unit_id(post: str, role: str, n: int) -> str:
    """The one unit-id format: ``<post>-<role>-<n>``, ``n`` counted from 1 per post and role."""
    return f"{post}-{role}-{n}"


def split_unit_id(uid: str) -> tuple[str, str, int]:
    """``(post, role, n)`` of a unit id (post ids may contain '-'; roles and numbers do not)."""
    post, role, n = uid.rsplit("-", 2)
    return post, role, int(n)


class UnitNumbering:
    """Names units as they are added to a day: the plan's groups in order, then reinforcements."""

    def __init__(self, count: dict[tuple[str, str], int] | None = None) -> None:
        self.count: dict[tuple[str, str], int] = dict(count or {})  # (post, role) -> units named so far

    def next(self, post: str, role: str) -> str:
        n = self.count.get((post, role), 0) + 1
        self.count[post, role] = n
        return unit_id(post, role, n)

    @classmethod
    def of_plan(cls, plan: Plan) -> tuple[UnitNumbering, list[tuple[str, str, str, str]]]:
        """The plan's units in the model's order as ``(uid, role, post, mode)``, and the numbering
        that goes on from them (for reinforcements)."""
        names = cls()
        units = [
            (names.next(g.post, role), role, g.post, g.mode)
            for role, key in ROLE_GROUPS
            for g in getattr(plan, key)
            for _ in range(g.units)
        ]
        return names, units


PlannedUnits = list[tuple[str, str, str, str]]  # (uid, role, post, mode) of a plan's units


def planned_units(world: World, plan: Plan) -> tuple[dict[tuple[str, str], int], PlannedUnits, list[PlannedUnits]]:
    """A plan's units (:meth:`UnitNumbering.of_plan`): the numbering's counts, every unit, and each
    dispatch area's units; kept in the world's cache (a national day has 545 areas, and naming
    the plan's units for each would cost areas x units)."""
    key = ("planned_units", id(plan))
    hit = world.cache.get(key)
    if hit is None or hit[0] is not plan:
        names, planned = UnitNumbering.of_plan(plan)
        node_area = world.node_lists()[1]
        by_area: list[PlannedUnits] = [[] for _ in range(world.n_areas)]
        for unit in planned:
            by_area[node_area[world.post_node[unit[2]]]].append(unit)
        hit = world.cache[key] = (plan, names.count, planned, by_area)
    return hit[1], hit[2], hit[3]


class Unit:
    """A mobile unit (patrol, reserve platoon or TNI backup) based at a post."""

    __slots__ = (
        "area",
        "back",
        "covers",
        "home",
        "idx",
        "job",
        "mode",
        "node",
        "out",
        "out_pending",
        "post",
        "ret_dur",
        "ret_from",
        "ret_t0",
        "role",
        "state",
        "task",
        "travel",
        "trip",
        "uid",
    )

    def __init__(
        self,
        idx: int,
        uid: str,
        role: str,
        post: str,
        home: int,
        mode: str,
        travel: Legs,
        covers: frozenset[int],
        area: int = 0,
    ) -> None:
        self.idx, self.uid, self.role, self.post, self.home, self.mode = idx, uid, role, post, home, mode
        self.area = area  # the dispatch area it takes calls in (sim.world.dispatch_areas)
        self.travel, self.covers = travel, covers
        self.out = travel.row(home)  # minutes from the post to every node
        self.back = travel.col(home)  # minutes from every node to the post
        self.state = AT_POST
        self.node = home
        self.trip = 0
        self.ret_from = home
        self.ret_t0 = 0.0
        self.ret_dur = 0.0
        self.job: Assignment | None = None  # the current (or last) assignment
        self.out_pending = False
        self.task: Incident | None = None

    def progress(self, now: float) -> float:
        """Share of the return leg covered (0 while still waiting at the scene for a road to open)."""
        if self.ret_dur <= 0:
            return 1.0 if now >= self.ret_t0 else 0.0
        return min(1.0, max(0.0, (now - self.ret_t0) / self.ret_dur))


class Incident:
    """Runtime state of a reported incident."""

    __slots__ = (
        "all_arrived",
        "allow_tni",
        "area",
        "crew",
        "first_arrival",
        "i",
        "kec",
        "key",
        "kind",
        "n_arrived",
        "n_sent",
        "needed",
        "priority",
        "roles",
        "site",
        "t_report",
    )

    def __init__(self, env: simpy.Environment, i: int, site: int, kec: int, t_report: float, area: int = 0) -> None:
        self.i, self.site, self.kec, self.t_report, self.area = i, site, kec, t_report, area
        self.kind = 0
        self.priority = 0
        self.needed = 0
        self.roles: tuple[str, ...] = ()
        self.allow_tni = False
        self.key: tuple[int, float, int] = (0, t_report, i)
        self.n_sent = 0
        self.n_arrived = 0
        self.crew: list[Unit] = []
        self.first_arrival = env.event()
        self.all_arrived: simpy.Event | None = None  # made when the incident waits for more units


@dataclass(frozen=True)
class Disruption:
    """A road closure or flood, from now until ``t_end`` [min].

    Without ``other``, it hits the legs that enter or leave kecamatan ``kec`` (and, unless the
    roads are cut, the legs inside it too); with ``other``, the legs between the two kecamatan.
    ``factor`` multiplies their travel time; ``math.inf`` makes them impassable. A leg is timed by
    the conditions when it starts: a unit already on its way is not stopped.
    """

    kec: int
    other: int | None
    factor: float
    t_end: float

    def hits(self, ka: int, kb: int) -> bool:
        if self.other is not None:
            return (ka == self.kec and kb == self.other) or (ka == self.other and kb == self.kec)
        if math.isinf(self.factor):
            return (ka == self.kec) != (kb == self.kec)
        return ka == self.kec or kb == self.kec


Listener = Callable[[ModelEvent], None]


@dataclass(slots=True)
class Assignment:
    """One unit sent to one incident (a row of units.csv, see :mod:`sim.records`)."""

    unit_id: str
    role: str
    post: str
    incident_id: int
    t_dispatch: float
    t_arrive: float  # NaN until it arrives
    t_clear: float  # NaN until the incident clears (or the unit is pulled out on the way)
    t_back: float  # NaN until it is back at its post
    travel_min: float  # travel time to the scene, setup and noise included
    travel_km: float
    retasked: bool  # sent while returning from another incident


@dataclass
class IncidentRecords:
    """The per-incident arrays of a run, one entry per incident of the stream, in one place.

    ``kind`` and ``priority`` are the type and priority at the end (after any escalation). Every
    array is listed once, in :attr:`FILL` with the value a new incident starts with (None: given
    when it is added); :meth:`grow` adds incidents (exercise injects) to all of them at once, so
    none can be forgotten.
    """

    kind: np.ndarray
    priority: np.ndarray
    t_report: np.ndarray
    t_dispatch: np.ndarray
    t_arrive: np.ndarray
    t_clear: np.ndarray
    resolved_by: np.ndarray  # ResolvedBy
    outcome: np.ndarray  # IncidentOutcome
    escalated: np.ndarray
    esc_step: np.ndarray  # escalation coins used so far
    units: list[list[str]]  # ids of the units sent, in dispatch order

    FILL: ClassVar[dict[str, tuple[object, type]]] = {
        "kind": (None, np.int64),
        "priority": (None, np.int64),
        "t_report": (np.nan, np.float64),
        "t_dispatch": (np.nan, np.float64),
        "t_arrive": (np.nan, np.float64),
        "t_clear": (np.nan, np.float64),
        "resolved_by": (ResolvedBy.NOBODY, np.int64),
        "outcome": (IncidentOutcome.OPEN_AT_END, np.int64),
        "escalated": (False, np.bool_),
        "esc_step": (0, np.int64),
    }

    @classmethod
    def new(cls, kind: np.ndarray, priority: np.ndarray) -> IncidentRecords:
        rec = cls(**{name: np.zeros(0, dtype=dtype) for name, (_, dtype) in cls.FILL.items()}, units=[])
        rec.grow(kind, priority)
        return rec

    def grow(self, kind: np.ndarray, priority: np.ndarray) -> range:
        """Append incidents of types ``kind`` with priorities ``priority``; their indices."""
        n0, k = len(self.kind), len(kind)
        given = {"kind": kind, "priority": priority}
        for name, (fill, dtype) in self.FILL.items():
            new: np.ndarray = np.asarray(given[name], dtype=dtype) if fill is None else np.full(k, fill, dtype=dtype)
            setattr(self, name, np.concatenate([getattr(self, name), new]))
        self.units.extend([] for _ in range(k))
        return range(n0, n0 + k)

    def __len__(self) -> int:
        return len(self.kind)


@dataclass
class RunRecords:
    """Raw records of one run; :mod:`sim.records` turns them into documented tables."""

    plan: str
    stream: IncidentStream
    incidents: IncidentRecords
    assignments: list[Assignment]
    timeseries: list[tuple[float, int, int]]  # (t, busy units, open incidents) at each change
    guards: GuardSchedule
    n_units: int


@dataclass(frozen=True)
class UnitView:
    """A unit as the exercise and console see it (read-only)."""

    uid: str
    role: str
    post: str
    number: int
    state: UnitState
    incident: int | None  # the incident it is sent to or working at


@dataclass(frozen=True)
class IncidentView:
    """A reported incident as the exercise and console see it (read-only)."""

    index: int
    kind: int  # type index (the scenario's incident types in order)
    priority: int
    site: int  # node index of the world
    t_report: float
    t_arrive: float  # first arrival, NaN if nobody has arrived
    units: tuple[str, ...]  # sent so far
    resolved_by: ResolvedBy
    queued: bool


class ElectionDay:
    """One plan, one replication. ``run()`` returns the raw records."""

    def __init__(
        self,
        sc: LoadedScenario,
        world: World,
        stream: IncidentStream,
        plan_name: str,
        area: int | None = None,
        guards: GuardSchedule | None = None,
    ) -> None:
        """``area``: only the plan's units of that dispatch area take part (the stream should hold
        only that area's incidents): one partition of a many-region day (:func:`run_plan`), which
        passes the day's ``guards`` (the escort schedule of every TPS) computed once for all areas."""
        self.sc, self.world, self.stream, self.plan_name, self.area = sc, world, stream, plan_name, area
        self.plan: Plan = sc.spec.plans[plan_name]
        self.env = simpy.Environment()
        spec = sc.spec
        self.type_names = list(spec.incidents.types)
        self.types = [spec.incidents.types[n] for n in self.type_names]
        self.type_index = {n: i for i, n in enumerate(self.type_names)}
        # The policy refers back to the day weakly: a link both ways would leave every finished day
        # (and the records it holds) to Python's cycle collector, see ``_end``.
        self.policy = policy_for(spec.dispatch.policy, cast("ElectionDay", weakref.proxy(self)))
        self.tni_max = spec.dispatch.tni_max_priority
        self.max_travel = spec.dispatch.max_travel_min or math.inf
        self.setup_min = world.setup_min

        self.units: list[Unit] = []
        self.by_id: dict[str, Unit] = {}
        self.node_kec, self.node_area = world.node_lists()  # read only
        self.area_units: list[list[Unit]] = [[] for _ in range(world.n_areas)]  # the candidates of a call
        count, planned, by_area = planned_units(world, self.plan)
        self.names = UnitNumbering(count)  # reinforcements are numbered on from the plan's units
        for uid, role, post, mode in planned if area is None else by_area[area]:
            self._add_unit(uid, role, post, mode)
        # What each incident type asks of the dispatcher depends on the plan only: work it out once.
        n_tni = sum(1 for u in self.units if u.role == "tni")
        self.type_roles = [tuple(t.response.roles) for t in self.types]
        self.type_allow_tni = [
            "tni" not in roles and t.priority <= self.tni_max and n_tni > 0
            for roles, t in zip(self.type_roles, self.types, strict=True)
        ]
        self.type_needed = [
            min(t.response.units, sum(1 for u in self.units if u.role in roles) + (n_tni if tni else 0))
            for t, roles, tni in zip(self.types, self.type_roles, self.type_allow_tni, strict=True)
        ]

        self.guards = guards or guard_schedule(world, self.plan, stream.count_end, sc.timeline.logistics_start)

        self.incidents = IncidentRecords.new(stream.kind, self._priorities(stream.kind))
        self.pending: list[Incident] = []  # the queue, in (priority, report time, index) order
        self.near: dict[tuple[int, int], tuple[Unit, ...]] = {}  # (type, site) -> units based within reach
        self.near_count = self._near_counts()
        self.n_out = 0  # units out of service
        self.assignments: list[Assignment] = []
        self.busy = 0
        self.open = 0
        self.ts: list[tuple[float, int, int]] = [(0.0, 0, 0)]
        # Exercise mode (sim.exercise) adds incidents, disruptions and unit changes while the day
        # runs, and listens to events; a plain run has none of these and pays one test for each.
        self.disruptions: list[Disruption] = []
        self.first_priority: dict[int, int] = {}
        self.listen: Listener | None = None

    def _priorities(self, kind: np.ndarray) -> np.ndarray:
        return np.asarray([self.types[k].priority for k in kind], dtype=np.int64)

    # --- bookkeeping -------------------------------------------------------------------------

    def _mark(self) -> None:
        self.ts.append((self.env.now, self.busy, self.open))

    def _add_unit(self, uid: str, role: str, post: str, mode: str) -> Unit:
        w = self.world
        home = w.post_node[post]
        u = Unit(
            len(self.units), uid, role, post, home, mode, w.travel_min[mode], w.post_covers[post], self.node_area[home]
        )
        self.units.append(u)
        self.area_units[u.area].append(u)
        self.by_id[uid] = u
        return u

    def _tell(self, event: EventKind, i: int, u: Unit | None = None) -> None:
        assert self.listen is not None
        self.listen(ModelEvent(float(self.env.now), event, i, None if u is None else u.uid))

    # --- travel --------------------------------------------------------------------------------

    def _leg(self, u: Unit, a: int, b: int) -> float:
        """Travel time of unit ``u`` from node ``a`` to node ``b`` if it starts now [min], no noise."""
        t = float(u.out[b] if a == u.home else u.back[a] if b == u.home else u.travel[a, b])
        if self.disruptions:
            f = self._leg_factor(a, b)
            if f != 1.0:
                return math.inf if math.isinf(f) else t * f
        return t

    def _leg_factor(self, a: int, b: int) -> float:
        ka, kb = self.node_kec[a], self.node_kec[b]
        return max((d.factor for d in self.disruptions if d.hits(ka, kb)), default=1.0)

    def _eta(self, u: Unit, site: int) -> float:
        """Expected travel time of ``u`` to ``site`` from where it is now [min], without noise."""
        if u.state == AT_POST:
            if not self.disruptions:  # the common case, inline: this is the dispatcher's inner loop
                return self.setup_min + float(u.out[site])
            return self.setup_min + self._leg(u, u.home, site)
        # Returning: interpolate between the scene it left and its post.
        f = u.progress(self.env.now)
        if f >= 1.0:
            return self._leg(u, u.home, site)
        if f <= 0.0:
            return self._leg(u, u.ret_from, site)
        return f * self._leg(u, u.home, site) + (1.0 - f) * self._leg(u, u.ret_from, site)

    # --- on-site resolution --------------------------------------------------------------------

    def _resolve_on_site(self, i: int) -> ResolvedBy:
        """Who resolves incident ``i`` on site (``NOBODY`` if nobody can)."""
        s = self.stream
        onsite = self.types[self.incidents.kind[i]].onsite
        site = int(s.site[i])
        if site < self.world.n_tps:
            escort_phase = s.phase[i] == PHASE_INDEX["escort"]
            if not escort_phase and self.plan.linmas_per_tps > 0 and s.coin_linmas[i] < onsite.linmas:
                return LINMAS
            if escort_phase:  # the box is on its way, with a guard if the plan escorts by guard
                guard_here = (
                    self.plan.escort.by == "tps_guard" and self.guards.officers[self.guards.cluster_of[site]] > 0
                )
            else:
                guard_here = self.guards.guard_present(site, float(s.t_occur[i]))
            if guard_here and s.coin_guard[i] < onsite.tps_guard:
                return TPS_GUARD
            return NOBODY
        if self.plan.ppk_guards.officers > 0 and s.coin_guard[i] < onsite.ppk_guard:
            return PPK_GUARD
        return NOBODY

    # --- processes -----------------------------------------------------------------------------

    def incident_source(self):  # type: ignore[no-untyped-def]
        """Replay the day's incidents as they occur."""
        env = self.env
        for i, t in enumerate(self.stream.t_occur.tolist()):  # Python floats: read faster than numpy's
            if t > env.now:
                yield env.timeout(t - env.now)
            self._occur(i)

    def _occur(self, i: int) -> None:
        """Incident ``i`` happens now: resolved on site, or on its way to being reported."""
        who = self._resolve_on_site(i)
        if who:
            self.incidents.resolved_by[i] = who
            clear = self.env.now + self.stream.scene_min[i, self.incidents.kind[i]]
            if clear <= self.sc.timeline.horizon:
                self.incidents.outcome[i] = RESOLVED_ON_SITE
                self.incidents.t_clear[i] = clear
            # else: still being handled on site when the simulation ends (open_at_end)
            if self.listen is not None:
                self._tell(EventKind.ON_SITE, i)
        else:
            self.env.process(self.incident(i))

    def incident(self, i: int):  # type: ignore[no-untyped-def]
        """A reported incident: dispatch, escalation while nobody is there, on-scene work."""
        env, s = self.env, self.stream
        delay = float(s.t_report[i] - s.t_occur[i])
        if delay > 0:
            yield env.timeout(delay)
        site = int(s.site[i])
        inc = Incident(env, i, site, self.node_kec[site], env.now, self.node_area[site])
        self._set_type(inc, int(self.incidents.kind[i]))
        if self.first_priority:
            p = self.first_priority.get(i)
            if p is not None:  # a scripted incident given its own priority
                inc.priority = self.incidents.priority[i] = p
                inc.key = (p, inc.t_report, i)
        self.incidents.t_report[i] = env.now
        self.open += 1
        self._mark()
        if self.listen is not None:
            self._tell(EventKind.REPORT, i)
        if inc.needed == 0:
            self.incidents.outcome[i] = NO_CAPABLE_UNIT
            return
        self._fill(inc)
        if inc.n_sent < inc.needed:
            self._enqueue(inc)

        while True:
            esc = self.types[inc.kind].escalation
            step = self.incidents.esc_step[i]
            if esc is None or step >= s.coin_escalate.shape[1]:
                yield inc.first_arrival
                break
            timer = env.timeout(esc.after_min)
            yield inc.first_arrival | timer
            if inc.first_arrival.triggered:
                break
            self.incidents.esc_step[i] = step + 1
            if s.coin_escalate[i, step] >= esc.probability:
                yield inc.first_arrival
                break
            self._escalate(inc, self.type_index[esc.to])
        if inc.n_arrived < inc.needed:
            # Made only to be waited for: most incidents need one unit, and an event nobody waits
            # for would still be processed by SimPy.
            inc.all_arrived = env.event()
            yield inc.all_arrived
        yield env.timeout(float(s.scene_min[i, inc.kind]))
        self._clear(inc)

    # --- dispatch ------------------------------------------------------------------------------

    def _set_type(self, inc: Incident, kind: int) -> None:
        inc.kind = kind
        inc.priority = self.types[kind].priority
        inc.roles = self.type_roles[kind]
        inc.allow_tni = self.type_allow_tni[kind]
        inc.needed = self.type_needed[kind]
        inc.key = (inc.priority, inc.t_report, inc.i)
        self.incidents.kind[inc.i] = kind
        self.incidents.priority[inc.i] = inc.priority

    # The shared rules (sim.dispatch explains them); the policy chooses among what they allow.

    @staticmethod
    def _capable(u: Unit, inc: Incident) -> bool:
        """In the call's dispatch area, and by role: one the incident type asks for, or TNI where
        the type allows TNI backup."""
        return u.area == inc.area and (u.role in inc.roles or (inc.allow_tni and u.role == "tni"))

    def _near_units(self, inc: Incident) -> tuple[Unit, ...]:
        """Capable units (TNI included where allowed) based within ``max_travel_min`` of the site."""
        key = (inc.kind, inc.site)
        near = self.near.get(key)
        if near is None:
            near = tuple(
                u
                for u in self.area_units[inc.area]
                if self._capable(u, inc) and self.setup_min + float(u.out[inc.site]) <= self.max_travel
            )
            self.near[key] = near
        return near

    def _held_back(self, inc: Incident, eta: float) -> bool:
        """Hold-back: ``eta`` is beyond reach while an in-service unit based within reach exists."""
        return eta > self.max_travel + EPS_MIN and self._near_in_service(inc)

    def _near_in_service(self, inc: Incident) -> bool:
        if self.n_out == 0 and self.near_count is not None:  # the plan's units as planned, all in service
            return bool(self.near_count[inc.kind, inc.site])
        return any(u.state != OUT_OF_SERVICE for u in self._near_units(inc))

    def _near_counts(self) -> np.ndarray | None:
        """[type, site]: how many of the plan's capable units are based within ``max_travel_min``.

        It depends on the world and the plan only, so it is kept in the world's cache and shared
        by every replication of the plan.
        """
        if self.max_travel == math.inf:
            return None
        key = ("near_count", self.plan_name, self.max_travel)
        hit = self.world.cache.get(key)
        if hit is None or hit[0] is not self.plan:
            empty: set[int] = set()  # the areas whose sites are counted so far
            hit = self.world.cache[key] = (self.plan, np.zeros((len(self.types), self.world.n_nodes), np.int64), empty)
        counts, filled = hit[1], hit[2]
        for a, units in enumerate(self.area_units):  # a unit counts only for the sites of its area
            if a in filled or (self.area is not None and a != self.area):
                continue
            nodes = slice(None) if len(self.area_units) == 1 else self.world.area_nodes()[a]
            if units:
                within = np.stack([self.setup_min + u.out[nodes] <= self.max_travel for u in units])
                capable = np.asarray(
                    [
                        [u.role in roles or (tni and u.role == "tni") for u in units]
                        for roles, tni in zip(self.type_roles, self.type_allow_tni, strict=True)
                    ],
                    dtype=np.int64,
                ).reshape(len(self.types), len(units))
                counts[:, nodes] = capable @ within.astype(np.int64)
            filled.add(a)
        return counts

    def _candidates(self, inc: Incident, tni: bool) -> list[tuple[Unit, float]]:
        """Free units of one pass (police, or TNI backup) that can reach the site, with their ETAs."""
        roles = ("tni",) if tni else inc.roles
        out = []
        for u in self.area_units[inc.area]:
            if u.state > RETURNING or u.role not in roles:
                continue
            t = self._eta(u, inc.site)
            if t != math.inf:  # not cut off by a road closure
                out.append((u, t))
        return out

    def _allowed(self, inc: Incident, cands: list[tuple[Unit, float]]) -> list[tuple[Unit, float]]:
        if self.max_travel != math.inf:
            reach = self.max_travel + EPS_MIN
            if any(t > reach for _, t in cands) and self._near_in_service(inc):
                cands = [c for c in cands if c[1] <= reach]
        if self.policy.restricts:
            cands = [c for c in cands if self.policy.allows(c[0], inc)]
        return cands

    def _best_unit(self, inc: Incident) -> tuple[Unit | None, float]:
        """The unit to send next to ``inc`` under the rules and the policy, or None to queue it."""
        cands = self._allowed(inc, self._candidates(inc, tni=False))
        if not cands and inc.allow_tni:  # TNI backup: no police unit is allowed to go
            cands = self._allowed(inc, self._candidates(inc, tni=True))
        if not cands:
            return None, math.inf
        return self.policy.choose_unit(inc, cands)

    def _may_take(self, u: Unit, inc: Incident) -> float:
        """ETA of free unit ``u`` to queued ``inc`` if the rules and the policy allow it, else inf.

        A queued incident has no police unit allowed to go (else it would have been sent), so a
        TNI unit needs only the incident's consent (``allow_tni``), as in ``_best_unit``.
        """
        if not self._capable(u, inc):
            return math.inf
        t = self._eta(u, inc.site)
        if t == math.inf or (self.max_travel != math.inf and self._held_back(inc, t)):
            return math.inf
        if self.policy.restricts and not self.policy.allows(u, inc):
            return math.inf
        return t

    def free_at_post(self, u: Unit) -> int:
        """Free units (at post or returning) of ``u``'s post, ``u`` included if free."""
        return sum(1 for v in self.units if v.post == u.post and v.state <= RETURNING)

    def _fill(self, inc: Incident) -> None:
        while inc.n_sent < inc.needed:
            u, t = self._best_unit(inc)
            if u is None:
                return
            self._send(u, inc, t)

    def _send(self, u: Unit, inc: Incident, expected: float) -> None:
        env, i = self.env, inc.i
        slot = min(inc.n_sent, MAX_UNITS - 1)
        # Setup (mobilisation) is not noisy; the driving part is.
        setup = self.setup_min if u.state == AT_POST else 0.0
        travel = setup + (expected - setup) * float(self.stream.noise[i, slot])
        retasked = u.state == RETURNING
        if retasked:
            f = u.progress(env.now)
            km = f * self.world.road_km.row(u.home)[inc.site] + (1 - f) * self.world.road_km[u.ret_from, inc.site]
        else:
            km = self.world.road_km.row(u.home)[inc.site]
        u.trip += 1
        u.state = TO_SCENE
        u.task = inc
        inc.n_sent += 1
        if math.isnan(self.incidents.t_dispatch[i]):
            self.incidents.t_dispatch[i] = env.now
        self.incidents.units[i].append(u.uid)
        inc.crew.append(u)
        u.job = Assignment(u.uid, u.role, u.post, i, env.now, math.nan, math.nan, math.nan, travel, float(km), retasked)
        self.assignments.append(u.job)
        self.busy += 1
        self._mark()
        if self.listen is not None:
            self._tell(EventKind.DISPATCH, i, u)
        env.timeout(travel).callbacks.append(partial(self._arrive, u, inc, u.trip))

    def _arrive(self, u: Unit, inc: Incident, token: int, _: simpy.Event) -> None:
        if u.trip != token:
            return  # pulled out of service on the way
        u.state = ON_SCENE
        u.node = inc.site
        assert u.job is not None
        u.job.t_arrive = self.env.now
        inc.n_arrived += 1
        if inc.n_arrived == 1:
            self.incidents.t_arrive[inc.i] = self.env.now
            inc.first_arrival.succeed()
        if inc.n_arrived >= inc.needed and inc.all_arrived is not None and not inc.all_arrived.triggered:
            inc.all_arrived.succeed()
        if self.listen is not None:
            self._tell(EventKind.ARRIVE, inc.i, u)

    def _enqueue(self, inc: Incident) -> None:
        bisect.insort(self.pending, inc, key=lambda x: x.key)
        if self.listen is not None:
            self._tell(EventKind.QUEUED, inc.i)
        if self.max_travel != math.inf:
            for u in self.area_units[inc.area]:
                if u.state == RETURNING:
                    self._alarm(u, (inc,))

    def _escalate(self, inc: Incident, kind: int) -> None:
        self.incidents.escalated[inc.i] = True
        self._set_type(inc, kind)
        if self.listen is not None:  # told while it still waits in the queue, if it does
            self._tell(EventKind.ESCALATE, inc.i)
        if inc in self.pending:
            self.pending.remove(inc)  # and queued again under its new priority if no unit may go
        self._fill(inc)
        if inc.n_sent < inc.needed:
            self._enqueue(inc)

    def _clear(self, inc: Incident) -> None:
        env, i = self.env, inc.i
        self.incidents.t_clear[i] = env.now
        self.incidents.outcome[i] = CLEARED
        self.incidents.resolved_by[i] = UNITS
        self.open -= 1
        on_scene = inc.crew
        freed = []
        left_service = False
        for u in on_scene:
            assert u.job is not None
            u.job.t_clear = env.now
            u.trip += 1
            u.task = None
            self.busy -= 1
            if u.out_pending:  # taken out of service while on scene: out once the job is done
                u.out_pending = False
                u.state = OUT_OF_SERVICE
                self.n_out += 1
                left_service = True
                continue
            u.state = RETURNING
            u.ret_from, u.ret_t0 = inc.site, env.now
            u.ret_dur = self._leg(u, inc.site, u.home)
            if u.ret_dur == math.inf:  # the way back is cut: wait at the scene until it opens
                u.ret_t0 = self._opens_at(inc.site, u.home)
                u.ret_dur = float(u.back[inc.site])
            freed.append(u)
            if u.ret_t0 == env.now:
                env.timeout(u.ret_dur).callbacks.append(partial(self._at_post, u, u.trip))
            elif u.ret_t0 < math.inf:
                env.timeout(u.ret_t0 - env.now + u.ret_dur).callbacks.append(partial(self._at_post, u, u.trip))
        self._mark()
        if self.listen is not None:
            self._tell(EventKind.CLEAR, i)
        self._available(freed)
        if left_service and self.max_travel != math.inf:
            self._retry()  # a call held back for a unit that left service may now go further

    def _at_post(self, u: Unit, token: int, _: simpy.Event) -> None:
        if u.trip != token:
            return  # re-tasked on the way
        u.state = AT_POST
        u.node = u.home
        if u.job is not None:
            u.job.t_back = self.env.now
        self._available([u])

    # --- work conservation ---------------------------------------------------------------------
    #
    # The one mechanism: every change that can let a unit take work calls ``_available`` with the
    # units concerned (cleared, back at post, back in service, reinforcement arrived),
    # or ``_retry`` when it concerns every queued incident (a road opened, a hold-back reason
    # gone). A returning unit comes within ``max_travel_min`` of a queued incident at a moment
    # that can be computed: ``_alarm`` wakes the dispatcher then.

    def _available(self, units: list[Unit]) -> None:
        """Units became able to take work: each takes a queued incident if the rules allow."""
        for u in units:
            if u.state > RETURNING or not self.pending:
                continue
            inc = self.policy.choose_incident(u, (x for x in self.pending if self._may_take(u, x) != math.inf))
            if inc is not None:
                self._send(u, inc, self._eta(u, inc.site))
                if inc.n_sent >= inc.needed:
                    self.pending.remove(inc)
            elif u.state == RETURNING and self.max_travel != math.inf:
                self._alarm(u, self.pending)

    def _alarm(self, u: Unit, incidents: Iterable[Incident]) -> None:
        """Wake the dispatcher when returning ``u`` first comes within reach of one of ``incidents``."""
        if u.ret_dur <= 0 or u.ret_t0 > self.env.now:
            return  # no leg in progress (waiting for a road to open: the opening retries)
        best = math.inf
        for inc in incidents:
            if not self._capable(u, inc):
                continue
            a = self._leg(u, u.home, inc.site)  # ETA once home (no setup while on the move)
            b = self._leg(u, u.ret_from, inc.site)  # ETA at the scene it left
            m = self.max_travel
            if a > m or b <= m or not math.isfinite(b):
                continue  # never within reach on this leg, or already within reach
            f = (b - m) / (b - a)  # ETA = f a + (1 - f) b falls to m here
            best = min(best, u.ret_t0 + f * u.ret_dur)
        if best < math.inf and best > self.env.now:
            self.env.timeout(best - self.env.now).callbacks.append(partial(self._wake, u, u.trip))

    def _wake(self, u: Unit, token: int, _: simpy.Event) -> None:
        if u.trip == token and u.state == RETURNING:
            self._available([u])

    def _retry(self) -> None:
        """Conditions changed for every queued incident (a road opened, a unit left service)."""
        for inc in list(self.pending):
            self._fill(inc)
            if inc.n_sent >= inc.needed:
                self.pending.remove(inc)
        if self.max_travel != math.inf:
            for u in self.units:
                if u.state == RETURNING:
                    self._alarm(u, self.pending)

    # --- the read-only view (sim.exercise, sim.console) -------------------------------------------

    @property
    def now(self) -> float:
        return float(self.env.now)

    def queue(self) -> tuple[int, ...]:
        """Incidents waiting for a unit, in queue order (priority, then report time)."""
        return tuple(inc.i for inc in self.pending)

    def incident_view(self, i: int) -> IncidentView:
        """Reported incident ``i`` as it stands now."""
        r = self.incidents
        return IncidentView(
            index=i,
            kind=int(r.kind[i]),
            priority=int(r.priority[i]),
            site=int(self.stream.site[i]),
            t_report=float(r.t_report[i]),
            t_arrive=float(r.t_arrive[i]),
            units=tuple(r.units[i]),
            resolved_by=ResolvedBy(int(r.resolved_by[i])),
            queued=any(inc.i == i for inc in self.pending),
        )

    def open_incidents(self) -> list[IncidentView]:
        """Reported incidents not cleared yet (on-site resolutions are never reported), in report order."""
        r = self.incidents
        idx = np.flatnonzero(~np.isnan(r.t_report) & np.isnan(r.t_clear))
        return [self.incident_view(int(i)) for i in idx[np.argsort(r.t_report[idx], kind="stable")]]

    def unit_states(self) -> list[UnitView]:
        """Every unit (planned, then reinforcements) with its state now."""
        return [self.unit_view(u.uid) for u in self.units]

    def unit_view(self, uid: str) -> UnitView:
        u = self.by_id[uid]
        _, _, n = split_unit_id(uid)
        return UnitView(uid, u.role, u.post, n, u.state, None if u.task is None else u.task.i)

    def assignment(self, uid: str) -> Assignment | None:
        """A copy of unit ``uid``'s current (or last) assignment."""
        job = self.by_id[uid].job
        return None if job is None else replace(job)

    # --- exercise hooks (sim.exercise) -----------------------------------------------------------

    def add_incidents(self, extra: IncidentStream, on_site: bool, priority: int | None = None) -> range:
        """Append incidents (e.g. scripted injects) to the day; each occurs at its ``t_occur``.

        ``on_site=False`` skips on-site resolution: the incident is a report for the dispatcher.
        Returns their incident indices.
        """
        self.stream = self.stream.concat(extra)
        prio = np.full(len(extra), priority, dtype=np.int64) if priority else self._priorities(extra.kind)
        added = self.incidents.grow(extra.kind, prio)
        for i in added:
            if priority is not None:
                self.first_priority[i] = priority
            self.env.process(self._later(i, on_site))
        return added

    def _later(self, i: int, on_site: bool):  # type: ignore[no-untyped-def]
        t = float(self.stream.t_occur[i])
        if t > self.env.now:
            yield self.env.timeout(t - self.env.now)
        if on_site:
            self._occur(i)
        else:
            yield from self.incident(i)

    def disrupt(self, d: Disruption) -> None:
        """A road closure or flood starts now and lasts until ``d.t_end``."""
        self.disruptions.append(d)
        if d.t_end < self.sc.timeline.horizon:
            self.env.timeout(d.t_end - self.env.now).callbacks.append(partial(self._lift, d))

    def _lift(self, d: Disruption, _: simpy.Event) -> None:
        self.disruptions.remove(d)
        self._retry()

    def _opens_at(self, a: int, b: int) -> float:
        ka, kb = self.node_kec[a], self.node_kec[b]
        return max(d.t_end for d in self.disruptions if d.hits(ka, kb) and math.isinf(d.factor))

    def take_out(self, uid: str) -> None:
        """Unit ``uid`` goes out of service now (a breakdown). On its way to a scene it turns back
        and the incident is given to another unit; on scene it finishes the job first."""
        u = self.by_id[uid]
        if u.state == OUT_OF_SERVICE:
            return
        if u.state == ON_SCENE:
            u.out_pending = True
            return
        if u.state == TO_SCENE:
            inc = u.task
            assert inc is not None and u.job is not None
            inc.crew.remove(u)
            inc.n_sent -= 1
            u.job.t_clear = self.env.now
            u.task = None
            self.busy -= 1
            self._mark()
            u.trip += 1
            u.state = OUT_OF_SERVICE
            self.n_out += 1
            self._fill(inc)
            queued = inc in self.pending
            if inc.n_sent < inc.needed and not queued:
                self._enqueue(inc)
            elif inc.n_sent >= inc.needed and queued:
                self.pending.remove(inc)
            if self.max_travel != math.inf:
                self._retry()  # a call held back for this unit may now go to one further away
            return
        u.trip += 1  # cancels a return trip in progress
        u.state = OUT_OF_SERVICE
        self.n_out += 1
        if self.max_travel != math.inf:
            self._retry()  # a call held back for this unit may now go to one further away

    def bring_back(self, uid: str) -> None:
        """Unit ``uid`` is back in service, ready at its post."""
        u = self.by_id[uid]
        u.out_pending = False
        if u.state != OUT_OF_SERVICE:
            return
        self.n_out -= 1
        u.state = AT_POST
        u.node = u.home
        u.trip += 1
        self._available([u])

    def reinforce(
        self, post: str, role: str, n: int, mode: str = "road", announce: Callable[[list[str]], None] | None = None
    ) -> list[str]:
        """``n`` units of ``role`` arrive at ``post`` now, ready; each takes queued work it may.

        ``announce`` is told the new unit ids before they take any work (the exercise log).
        Returns their ids (numbered on from the plan's, see :class:`UnitNumbering`).
        """
        new = [self._add_unit(self.names.next(post, role), role, post, mode) for _ in range(n)]
        self.near.clear()  # the units based within reach of a site have changed
        self.near_count = None
        ids = [u.uid for u in new]
        if announce is not None:
            announce(ids)
        self._available(new)
        return ids

    # --- run ---------------------------------------------------------------------------------

    def run(self) -> RunRecords:
        self.start()
        self.env.run(until=self.sc.timeline.horizon)
        self._end()
        return self.records()

    def _end(self) -> None:
        """The day is over: drop the events still scheduled after the horizon, which never happen.

        They call back into the day, and the day's SimPy environment holds them: a reference cycle
        that only Python's cycle collector would free, late, with the day's records (thousands of
        small objects a day: the guard schedule's intervals, the units' jobs). That collector then
        took about a tenth of a batch's time; freed at once, the records cost nothing to collect.
        (A day with an incident still open at the horizon stays in a cycle through its suspended
        process, and is left to the collector.) SimPy has no public call to empty its event queue.
        """
        self.env._queue.clear()

    def close(self) -> None:
        """Let go of the units' legs now: the day's events and units refer to each other, so only the
        cycle collector would free them, late, and a many-area run makes one day per area."""
        for u in self.units:
            u.out = u.back = NO_LEGS
        self.near = {}

    def start(self) -> None:
        """Start the day's processes; then ``env.run(until=...)`` moves it on (in steps, if wished)."""
        self.env.process(self.incident_source())

    def records(self) -> RunRecords:
        return RunRecords(
            plan=self.plan_name,
            stream=self.stream,
            incidents=self.incidents,
            assignments=self.assignments,
            timeseries=self.ts,
            guards=self.guards,
            n_units=len(self.units),
        )


def run_plan(
    sc: LoadedScenario, world: World, stream: IncidentStream, plan_name: str, partitioned: bool | None = None
) -> RunRecords:
    """Run one plan on one replication's incident stream.

    A day of several dispatch areas (regions, :func:`sim.world.dispatch_areas`) runs area by area
    unless ``partitioned`` is False: each area's incidents with its own units, in its own SimPy
    environment, the records merged (:func:`merge_records`). No unit takes a call outside its area,
    so the areas do not interact, and the records are those of the whole day as one model
    (tests/test_partitions.py checks it).
    """
    if world.n_areas == 1 or partitioned is False:
        return ElectionDay(sc, world, stream, plan_name).run()
    areas = list(range(world.n_areas))
    return merge_records(
        stream,
        list(zip(area_index(world, stream, areas), area_records(sc, world, stream, plan_name, areas), strict=True)),
    )


def area_index(world: World, stream: IncidentStream, areas: list[int]) -> list[np.ndarray]:
    """For each of dispatch ``areas``, the indices of its incidents in ``stream``."""
    by_area = members(world.node_area()[stream.site], world.n_areas)
    return [by_area[a] for a in areas]


def area_records(
    sc: LoadedScenario,
    world: World,
    stream: IncidentStream,
    plan_name: str,
    areas: list[int],
    guards: GuardSchedule | None = None,
) -> list[RunRecords]:
    """The records of dispatch ``areas`` (in that order) on a day that holds their incidents (the
    whole day, or only theirs: :func:`sim.generate.generate` with ``areas``): each area's
    incidents with its own units, in its own SimPy environment, under ``guards``, a guard
    schedule that covers their TPS (default: the day's, of every TPS)."""
    if guards is None:
        guards = guard_schedule(world, sc.spec.plans[plan_name], stream.count_end, sc.timeline.logistics_start)
    parts = []
    for a, index in zip(areas, area_index(world, stream, areas), strict=True):
        day = ElectionDay(sc, world, stream.subset(index), plan_name, a, guards)
        parts.append(day.run())
        day.close()
        world.release_area(a)  # one area's legs in memory at a time
    return parts


def merge_records(stream: IncidentStream, parts: list[tuple[np.ndarray, RunRecords]]) -> RunRecords:
    """One day's records from its areas' (each with the indices of its incidents in ``stream``).

    Incidents go back to their places; unit rows and the busy/open counters are merged in time
    order (an area's own order kept at equal times, areas in order), the counters summed over the
    areas. The guard schedule is the day's, shared by the areas.
    """
    first = parts[0][1]
    n = len(stream)
    rec = IncidentRecords(
        **{name: np.zeros(n, dtype=dtype) for name, (_, dtype) in IncidentRecords.FILL.items()},
        units=[[] for _ in range(n)],
    )
    jobs: list[Assignment] = []
    changes: list[tuple[float, int, int, int]] = []  # (t, area, busy, open) of every area's counters
    for a, (index, part) in enumerate(parts):
        for name in IncidentRecords.FILL:
            getattr(rec, name)[index] = getattr(part.incidents, name)
        for k, units in zip(index.tolist(), part.incidents.units, strict=True):
            rec.units[k] = units
        jobs.extend(replace(j, incident_id=int(index[j.incident_id])) for j in part.assignments)
        changes.extend((t, a, busy, open_) for t, busy, open_ in part.timeseries[1:])  # [0] is (0, 0, 0)
    jobs.sort(key=lambda j: j.t_dispatch)  # stable: areas in order at equal times
    changes.sort(key=lambda c: c[0])
    busy, open_ = [0] * len(parts), [0] * len(parts)
    total_busy = total_open = 0
    series = [first.timeseries[0]]
    for t, a, b, o in changes:
        total_busy += b - busy[a]
        total_open += o - open_[a]
        busy[a], open_[a] = b, o
        series.append((t, total_busy, total_open))
    return RunRecords(
        plan=first.plan,
        stream=stream,
        incidents=rec,
        assignments=jobs,
        timeseries=series,
        guards=first.guards,
        n_units=sum(p.n_units for _, p in parts),
    )
