"""The SimPy model of one plan facing one replication's day.

Reads top to bottom like the day itself:

1. ``incident_source`` replays the pre-generated stream (:mod:`sim.generate`). At the moment an
   incident occurs, Linmas at the TPS, then the TPS guard (if one of the cluster is present), or
   the PPK guard at a PPK venue or the KPU office, may resolve it on site (pre-drawn coins).
2. Otherwise ``incident`` waits for the report delay and reports it. The dispatcher sends the
   nearest free capable unit(s) by travel time (policy ``nearest``), or prefers the units of the
   Polsek that covers the kecamatan (``district``). When no police unit is free, a TNI unit may be
   sent for incidents of priority <= ``dispatch.tni_max_priority``. If nothing is free the
   incident waits in a queue ordered by priority, then report time. With
   ``dispatch.max_travel_min``, a free unit further away than that is not sent while the plan has a
   capable unit based nearer: the incident waits for it instead.
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
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import simpy

from sim.generate import MAX_UNITS, PHASE_INDEX, IncidentStream
from sim.guards import GuardSchedule, guard_schedule
from sim.scenario import LoadedScenario, Plan
from sim.world import World

AT_POST, TO_SCENE, ON_SCENE, RETURNING = range(4)
ROLE_GROUPS = (("patrol", "patrols"), ("reserve", "reserve"), ("tni", "tni_backup"))
RESOLVED_BY_CODES = ("", "linmas", "tps_guard", "ppk_guard", "units")
OUTCOMES = ("open_at_end", "resolved_on_site", "cleared", "no_capable_unit")


class Unit:
    """A mobile unit (patrol, reserve platoon or TNI backup) based at a post."""

    __slots__ = (
        "covers",
        "home",
        "idx",
        "log_row",
        "mode",
        "node",
        "post",
        "ret_dur",
        "ret_from",
        "ret_t0",
        "role",
        "state",
        "travel",
        "trip",
        "uid",
    )

    def __init__(
        self, idx: int, uid: str, role: str, post: str, home: int, mode: str, travel: np.ndarray, covers: frozenset[int]
    ) -> None:
        self.idx, self.uid, self.role, self.post, self.home, self.mode = idx, uid, role, post, home, mode
        self.travel, self.covers = travel, covers
        self.state = AT_POST
        self.node = home
        self.trip = 0
        self.ret_from = home
        self.ret_t0 = 0.0
        self.ret_dur = 0.0
        self.log_row: list[Any] | None = None

    def travel_to(self, site: int, now: float, setup_min: float) -> float:
        """Expected travel time to ``site`` from where the unit is now [min], without noise."""
        if self.state == AT_POST:
            return setup_min + float(self.travel[self.home, site])
        # Returning: interpolate between the scene it left and its post.
        f = 1.0 if self.ret_dur <= 0 else min(1.0, (now - self.ret_t0) / self.ret_dur)
        return f * float(self.travel[self.home, site]) + (1.0 - f) * float(self.travel[self.ret_from, site])


class Incident:
    """Runtime state of a reported incident."""

    __slots__ = (
        "all_arrived",
        "allow_tni",
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

    def __init__(self, env: simpy.Environment, i: int, site: int, kec: int, t_report: float) -> None:
        self.i, self.site, self.kec, self.t_report = i, site, kec, t_report
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
        self.all_arrived = env.event()


@dataclass
class RunRecords:
    """Raw records of one run; :mod:`sim.records` turns them into documented tables."""

    plan: str
    stream: IncidentStream
    kind: np.ndarray
    priority: np.ndarray
    t_report: np.ndarray
    t_dispatch: np.ndarray
    t_arrive: np.ndarray
    t_clear: np.ndarray
    resolved_by: np.ndarray
    outcome: np.ndarray
    escalated: np.ndarray
    units: list[list[str]]
    unit_rows: list[list[Any]]
    timeseries: list[tuple[float, int, int]]
    guards: GuardSchedule
    n_units: int


class ElectionDay:
    """One plan, one replication. ``run()`` returns the raw records."""

    def __init__(self, sc: LoadedScenario, world: World, stream: IncidentStream, plan_name: str) -> None:
        self.sc, self.world, self.stream, self.plan_name = sc, world, stream, plan_name
        self.plan: Plan = sc.spec.plans[plan_name]
        self.env = simpy.Environment()
        spec = sc.spec
        self.type_names = list(spec.incidents.types)
        self.types = [spec.incidents.types[n] for n in self.type_names]
        self.type_index = {n: i for i, n in enumerate(self.type_names)}
        self.policy = spec.dispatch.policy
        self.tni_max = spec.dispatch.tni_max_priority
        self.max_travel = spec.dispatch.max_travel_min or math.inf
        self.setup_min = world.setup_min

        self.units: list[Unit] = []
        for role, key in ROLE_GROUPS:
            for g in getattr(self.plan, key):
                home = world.post_node[g.post]
                for _ in range(g.units):
                    uid = f"{g.post}-{role}-{sum(1 for u in self.units if u.post == g.post and u.role == role) + 1}"
                    self.units.append(
                        Unit(
                            len(self.units),
                            uid,
                            role,
                            g.post,
                            home,
                            g.mode,
                            world.travel_min[g.mode],
                            world.post_covers[g.post],
                        )
                    )
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

        self.guards = guard_schedule(world, self.plan, stream.count_end, sc.timeline.logistics_start)

        n = len(stream)
        self.kind = stream.kind.copy()
        self.priority = np.asarray([self.types[k].priority for k in self.kind], dtype=np.int64)
        self.t_report = np.full(n, np.nan)
        self.t_dispatch = np.full(n, np.nan)
        self.t_arrive = np.full(n, np.nan)
        self.t_clear = np.full(n, np.nan)
        self.resolved_by = np.zeros(n, dtype=np.int64)
        self.outcome = np.zeros(n, dtype=np.int64)
        self.escalated = np.zeros(n, dtype=bool)
        self.inc_units: list[list[str]] = [[] for _ in range(n)]
        self.esc_step = np.zeros(n, dtype=np.int64)
        self.pending: list[Incident] = []
        self.unit_rows: list[list[Any]] = []
        self.busy = 0
        self.open = 0
        self.ts: list[tuple[float, int, int]] = [(0.0, 0, 0)]

    # --- bookkeeping -------------------------------------------------------------------------

    def _mark(self) -> None:
        self.ts.append((self.env.now, self.busy, self.open))

    # --- on-site resolution --------------------------------------------------------------------

    def _resolve_on_site(self, i: int) -> int:
        """Who resolves incident ``i`` on site (a RESOLVED_BY code), 0 if nobody can."""
        s = self.stream
        onsite = self.types[self.kind[i]].onsite
        site = int(s.site[i])
        if site < self.world.n_tps:
            escort_phase = s.phase[i] == PHASE_INDEX["escort"]
            if not escort_phase and self.plan.linmas_per_tps > 0 and s.coin_linmas[i] < onsite.linmas:
                return 1
            if escort_phase:  # the box is on its way, with a guard if the plan escorts by guard
                guard_here = (
                    self.plan.escort.by == "tps_guard" and self.guards.officers[self.guards.cluster_of[site]] > 0
                )
            else:
                guard_here = self.guards.guard_present(site, float(s.t_occur[i]))
            if guard_here and s.coin_guard[i] < onsite.tps_guard:
                return 2
            return 0
        if self.plan.ppk_guards.officers > 0 and s.coin_guard[i] < onsite.ppk_guard:
            return 3
        return 0

    # --- processes -----------------------------------------------------------------------------

    def incident_source(self):  # type: ignore[no-untyped-def]
        """Replay the day's incidents as they occur."""
        env, s = self.env, self.stream
        for i in range(len(s)):
            t = float(s.t_occur[i])
            if t > env.now:
                yield env.timeout(t - env.now)
            who = self._resolve_on_site(i)
            if who:
                self.resolved_by[i] = who
                clear = t + s.scene_min[i, self.kind[i]]
                if clear <= self.sc.timeline.horizon:
                    self.outcome[i] = 1
                    self.t_clear[i] = clear
                # else: still being handled on site when the simulation ends (open_at_end)
            else:
                env.process(self.incident(i))

    def incident(self, i: int):  # type: ignore[no-untyped-def]
        """A reported incident: dispatch, escalation while nobody is there, on-scene work."""
        env, s = self.env, self.stream
        delay = float(s.t_report[i] - s.t_occur[i])
        if delay > 0:
            yield env.timeout(delay)
        inc = Incident(env, i, int(s.site[i]), int(self.world.node_kec[s.site[i]]), env.now)
        self._set_type(inc, int(self.kind[i]))
        self.t_report[i] = env.now
        self.open += 1
        self._mark()
        if inc.needed == 0:
            self.outcome[i] = 3
            return
        self._fill(inc)
        if inc.n_sent < inc.needed:
            self._enqueue(inc)

        while True:
            esc = self.types[inc.kind].escalation
            step = self.esc_step[i]
            if esc is None or step >= s.coin_escalate.shape[1]:
                yield inc.first_arrival
                break
            timer = env.timeout(esc.after_min)
            yield inc.first_arrival | timer
            if inc.first_arrival.triggered:
                break
            self.esc_step[i] = step + 1
            if s.coin_escalate[i, step] >= esc.probability:
                yield inc.first_arrival
                break
            self._escalate(inc, self.type_index[esc.to])
        if inc.n_arrived < inc.needed:
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
        self.kind[inc.i] = kind
        self.priority[inc.i] = inc.priority

    def _capable(self, u: Unit, inc: Incident, tni_ok: bool) -> bool:
        return u.role in inc.roles or (tni_ok and u.role == "tni" and inc.allow_tni)

    def _best_unit(self, inc: Incident) -> tuple[Unit | None, float]:
        now = self.env.now
        for tni_ok in (False, True):
            best: Unit | None = None
            best_t = math.inf
            best_local = False
            for u in self.units:
                if u.state == TO_SCENE or u.state == ON_SCENE or not self._capable(u, inc, tni_ok):
                    continue
                if tni_ok and u.role != "tni":
                    continue
                t = u.travel_to(inc.site, now, self.setup_min)
                local = self.policy == "district" and inc.kec in u.covers
                if (local, -t) > (best_local, -best_t):
                    best, best_t, best_local = u, t, local
            if best is not None:
                if best_t > self.max_travel and self._nearer_exists(inc):
                    return None, math.inf  # wait for a nearer unit rather than send one from far away
                return best, best_t
            if not inc.allow_tni:
                break
        return None, math.inf

    def _nearer_exists(self, inc: Incident) -> bool:
        """Does the plan have a capable unit (busy or not) based within ``max_travel_min`` of the site?"""
        return any(
            self._capable(u, inc, True) and self.setup_min + float(u.travel[u.home, inc.site]) <= self.max_travel
            for u in self.units
        )

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
            f = 1.0 if u.ret_dur <= 0 else min(1.0, (env.now - u.ret_t0) / u.ret_dur)
            km = f * self.world.road_km[u.home, inc.site] + (1 - f) * self.world.road_km[u.ret_from, inc.site]
        else:
            km = self.world.road_km[u.home, inc.site]
        u.trip += 1
        u.state = TO_SCENE
        inc.n_sent += 1
        if math.isnan(self.t_dispatch[i]):
            self.t_dispatch[i] = env.now
        self.inc_units[i].append(u.uid)
        inc.crew.append(u)
        u.log_row = [u.uid, u.role, u.post, i, env.now, math.nan, math.nan, math.nan, travel, float(km), retasked]
        self.unit_rows.append(u.log_row)
        self.busy += 1
        self._mark()
        env.timeout(travel).callbacks.append(partial(self._arrive, u, inc))

    def _arrive(self, u: Unit, inc: Incident, _: simpy.Event) -> None:
        u.state = ON_SCENE
        u.node = inc.site
        assert u.log_row is not None
        u.log_row[5] = self.env.now
        inc.n_arrived += 1
        if inc.n_arrived == 1:
            self.t_arrive[inc.i] = self.env.now
            inc.first_arrival.succeed()
        if inc.n_arrived >= inc.needed and not inc.all_arrived.triggered:
            inc.all_arrived.succeed()

    def _enqueue(self, inc: Incident) -> None:
        bisect.insort(self.pending, inc, key=lambda x: x.key)

    def _escalate(self, inc: Incident, kind: int) -> None:
        self.escalated[inc.i] = True
        queued = inc in self.pending
        if queued:
            self.pending.remove(inc)
        self._set_type(inc, kind)
        self._fill(inc)
        if inc.n_sent < inc.needed:
            self._enqueue(inc)

    def _clear(self, inc: Incident) -> None:
        env, i = self.env, inc.i
        self.t_clear[i] = env.now
        self.outcome[i] = 2
        self.resolved_by[i] = 4
        self.open -= 1
        on_scene = inc.crew
        for u in on_scene:
            assert u.log_row is not None
            u.log_row[6] = env.now
            u.state = RETURNING
            u.ret_from, u.ret_t0 = inc.site, env.now
            u.ret_dur = float(u.travel[inc.site, u.home])
            u.trip += 1
            token = u.trip
            self.busy -= 1
            env.timeout(u.ret_dur).callbacks.append(partial(self._at_post, u, token))
        self._mark()
        for u in on_scene:
            self._offer(u)

    def _at_post(self, u: Unit, token: int, _: simpy.Event) -> None:
        if u.trip != token:
            return  # re-tasked on the way
        u.state = AT_POST
        u.node = u.home
        if u.log_row is not None:
            u.log_row[7] = self.env.now

    def _offer(self, u: Unit) -> None:
        """A unit just became free: give it the most urgent queued incident it can serve."""
        for inc in self.pending:
            if self._capable(u, inc, True):
                t = u.travel_to(inc.site, self.env.now, self.setup_min)
                if t > self.max_travel and self._nearer_exists(inc):
                    continue  # too far: a nearer unit will take it
                self._send(u, inc, t)
                if inc.n_sent >= inc.needed:
                    self.pending.remove(inc)
                return

    # --- run ---------------------------------------------------------------------------------

    def run(self) -> RunRecords:
        env = self.env
        env.process(self.incident_source())
        env.run(until=self.sc.timeline.horizon)
        return RunRecords(
            plan=self.plan_name,
            stream=self.stream,
            kind=self.kind,
            priority=self.priority,
            t_report=self.t_report,
            t_dispatch=self.t_dispatch,
            t_arrive=self.t_arrive,
            t_clear=self.t_clear,
            resolved_by=self.resolved_by,
            outcome=self.outcome,
            escalated=self.escalated,
            units=self.inc_units,
            unit_rows=self.unit_rows,
            timeseries=self.ts,
            guards=self.guards,
            n_units=len(self.units),
        )


def run_plan(sc: LoadedScenario, world: World, stream: IncidentStream, plan_name: str) -> RunRecords:
    """Run one plan on one replication's incident stream."""
    return ElectionDay(sc, world, stream, plan_name).run()
