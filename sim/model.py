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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import simpy

from sim.dispatch import policy_for
from sim.generate import MAX_UNITS, PHASE_INDEX, IncidentStream
from sim.guards import GuardSchedule, guard_schedule
from sim.scenario import LoadedScenario, Plan
from sim.world import World

EPS_MIN = 1e-6  # tolerance on "within max_travel_min" [min], for the moment a returning unit reaches it
# Unit states; a unit is free to be sent while its state is <= RETURNING.
AT_POST, RETURNING, TO_SCENE, ON_SCENE, OUT_OF_SERVICE = range(5)
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


Watch = Callable[[str, int, "Unit | None"], None]


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
        self.policy = policy_for(spec.dispatch.policy, self)
        self.tni_max = spec.dispatch.tni_max_priority
        self.max_travel = spec.dispatch.max_travel_min or math.inf
        self.setup_min = world.setup_min

        self.units: list[Unit] = []
        for role, key in ROLE_GROUPS:
            for g in getattr(self.plan, key):
                self._new_units(g.post, role, g.units, g.mode)
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
        self.near: dict[tuple[int, int], tuple[Unit, ...]] = {}  # (type, site) -> units based within reach
        self.near_count = self._near_counts()
        self.n_out = 0  # units out of service
        self.unit_rows: list[list[Any]] = []
        self.busy = 0
        self.open = 0
        self.ts: list[tuple[float, int, int]] = [(0.0, 0, 0)]
        # Exercise mode (sim.exercise) adds incidents, disruptions and unit changes while the day
        # runs, and watches events; a plain run has none of these and pays one test for each.
        self.node_kec: list[int] = world.node_kec.tolist()
        self.disruptions: list[Disruption] = []
        self.first_priority: dict[int, int] = {}
        self.watch: Watch | None = None

    # --- bookkeeping -------------------------------------------------------------------------

    def _mark(self) -> None:
        self.ts.append((self.env.now, self.busy, self.open))

    def _new_units(self, post: str, role: str, n: int, mode: str) -> list[Unit]:
        home = self.world.post_node[post]
        k = sum(1 for u in self.units if u.post == post and u.role == role)
        new = [
            Unit(
                len(self.units) + j,
                f"{post}-{role}-{k + j + 1}",
                role,
                post,
                home,
                mode,
                self.world.travel_min[mode],
                self.world.post_covers[post],
            )
            for j in range(n)
        ]
        self.units.extend(new)
        return new

    # --- travel --------------------------------------------------------------------------------

    def _leg(self, u: Unit, a: int, b: int) -> float:
        """Travel time of unit ``u`` from node ``a`` to node ``b`` if it starts now [min], no noise."""
        t = float(u.travel[a, b])
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
                return self.setup_min + float(u.travel[u.home, site])
            return self.setup_min + self._leg(u, u.home, site)
        # Returning: interpolate between the scene it left and its post.
        f = u.progress(self.env.now)
        if f >= 1.0:
            return self._leg(u, u.home, site)
        if f <= 0.0:
            return self._leg(u, u.ret_from, site)
        return f * self._leg(u, u.home, site) + (1.0 - f) * self._leg(u, u.ret_from, site)

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
            self._occur(i)

    def _occur(self, i: int) -> None:
        """Incident ``i`` happens now: resolved on site, or on its way to being reported."""
        who = self._resolve_on_site(i)
        if who:
            self.resolved_by[i] = who
            clear = self.env.now + self.stream.scene_min[i, self.kind[i]]
            if clear <= self.sc.timeline.horizon:
                self.outcome[i] = 1
                self.t_clear[i] = clear
            # else: still being handled on site when the simulation ends (open_at_end)
            if self.watch is not None:
                self.watch("on_site", i, None)
        else:
            self.env.process(self.incident(i))

    def incident(self, i: int):  # type: ignore[no-untyped-def]
        """A reported incident: dispatch, escalation while nobody is there, on-scene work."""
        env, s = self.env, self.stream
        delay = float(s.t_report[i] - s.t_occur[i])
        if delay > 0:
            yield env.timeout(delay)
        inc = Incident(env, i, int(s.site[i]), self.node_kec[s.site[i]], env.now)
        self._set_type(inc, int(self.kind[i]))
        if self.first_priority:
            p = self.first_priority.get(i)
            if p is not None:  # a scripted incident given its own priority
                inc.priority = self.priority[i] = p
                inc.key = (p, inc.t_report, i)
        self.t_report[i] = env.now
        self.open += 1
        self._mark()
        if self.watch is not None:
            self.watch("report", i, None)
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

    # The shared rules (sim.dispatch explains them); the policy chooses among what they allow.

    @staticmethod
    def _capable(u: Unit, inc: Incident) -> bool:
        """By role: one the incident type asks for, or TNI where the type allows TNI backup."""
        return u.role in inc.roles or (inc.allow_tni and u.role == "tni")

    def _near_units(self, inc: Incident) -> tuple[Unit, ...]:
        """Capable units (TNI included where allowed) based within ``max_travel_min`` of the site."""
        key = (inc.kind, inc.site)
        near = self.near.get(key)
        if near is None:
            near = tuple(
                u
                for u in self.units
                if self._capable(u, inc) and self.setup_min + float(u.travel[u.home, inc.site]) <= self.max_travel
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
        if hit is not None and hit[0] is self.plan:
            return hit[1]
        within = (
            np.stack([self.setup_min + u.travel[u.home] <= self.max_travel for u in self.units])
            if self.units
            else np.zeros((0, self.world.n_nodes), dtype=bool)
        )
        capable = np.asarray(
            [
                [u.role in roles or (tni and u.role == "tni") for u in self.units]
                for roles, tni in zip(self.type_roles, self.type_allow_tni, strict=True)
            ],
            dtype=np.int64,
        ).reshape(len(self.types), len(self.units))
        counts = capable @ within.astype(np.int64)
        self.world.cache[key] = (self.plan, counts)
        return counts

    def _candidates(self, inc: Incident, tni: bool) -> list[tuple[Unit, float]]:
        """Free units of one pass (police, or TNI backup) that can reach the site, with their ETAs."""
        roles = ("tni",) if tni else inc.roles
        out = []
        for u in self.units:
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
            km = f * self.world.road_km[u.home, inc.site] + (1 - f) * self.world.road_km[u.ret_from, inc.site]
        else:
            km = self.world.road_km[u.home, inc.site]
        u.trip += 1
        u.state = TO_SCENE
        u.task = inc
        inc.n_sent += 1
        if math.isnan(self.t_dispatch[i]):
            self.t_dispatch[i] = env.now
        self.inc_units[i].append(u.uid)
        inc.crew.append(u)
        u.log_row = [u.uid, u.role, u.post, i, env.now, math.nan, math.nan, math.nan, travel, float(km), retasked]
        self.unit_rows.append(u.log_row)
        self.busy += 1
        self._mark()
        if self.watch is not None:
            self.watch("dispatch", i, u)
        env.timeout(travel).callbacks.append(partial(self._arrive, u, inc, u.trip))

    def _arrive(self, u: Unit, inc: Incident, token: int, _: simpy.Event) -> None:
        if u.trip != token:
            return  # pulled out of service on the way
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
        if self.watch is not None:
            self.watch("arrive", inc.i, u)

    def _enqueue(self, inc: Incident) -> None:
        bisect.insort(self.pending, inc, key=lambda x: x.key)
        if self.watch is not None:
            self.watch("queued", inc.i, None)
        if self.max_travel != math.inf:
            for u in self.units:
                if u.state == RETURNING:
                    self._alarm(u, (inc,))

    def _escalate(self, inc: Incident, kind: int) -> None:
        self.escalated[inc.i] = True
        if self.watch is not None:
            self.watch("escalate", inc.i, None)
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
        freed = []
        left_service = False
        for u in on_scene:
            assert u.log_row is not None
            u.log_row[6] = env.now
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
                u.ret_dur = float(u.travel[inc.site, u.home])
            freed.append(u)
            if u.ret_t0 == env.now:
                env.timeout(u.ret_dur).callbacks.append(partial(self._at_post, u, u.trip))
            elif u.ret_t0 < math.inf:
                env.timeout(u.ret_t0 - env.now + u.ret_dur).callbacks.append(partial(self._at_post, u, u.trip))
        self._mark()
        if self.watch is not None:
            self.watch("clear", i, None)
        self._available(freed)
        if left_service and self.max_travel != math.inf:
            self._retry()  # a call held back for a unit that left service may now go further

    def _at_post(self, u: Unit, token: int, _: simpy.Event) -> None:
        if u.trip != token:
            return  # re-tasked on the way
        u.state = AT_POST
        u.node = u.home
        if u.log_row is not None:
            u.log_row[7] = self.env.now
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

    # --- exercise hooks (sim.exercise) -----------------------------------------------------------

    def add_incidents(self, extra: IncidentStream, on_site: bool, priority: int | None = None) -> range:
        """Append incidents (e.g. scripted injects) to the day; each occurs at its ``t_occur``.

        ``on_site=False`` skips on-site resolution: the incident is a report for the dispatcher.
        Returns their incident indices.
        """
        n0 = len(self.stream)
        self.stream = self.stream.concat(extra)
        k = len(extra)
        self.kind = np.concatenate([self.kind, extra.kind])
        prio = [priority or self.types[x].priority for x in extra.kind]
        self.priority = np.concatenate([self.priority, np.asarray(prio, dtype=np.int64)])
        for name in ("t_report", "t_dispatch", "t_arrive", "t_clear"):
            setattr(self, name, np.concatenate([getattr(self, name), np.full(k, np.nan)]))
        for name in ("resolved_by", "outcome", "esc_step"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(k, dtype=np.int64)]))
        self.escalated = np.concatenate([self.escalated, np.zeros(k, dtype=bool)])
        self.inc_units.extend([] for _ in range(k))
        for i in range(n0, n0 + k):
            if priority is not None:
                self.first_priority[i] = priority
            self.env.process(self._later(i, on_site))
        return range(n0, n0 + k)

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

    def take_out(self, u: Unit) -> None:
        """Unit ``u`` goes out of service now (a breakdown). On its way to a scene it turns back
        and the incident is given to another unit; on scene it finishes the job first."""
        if u.state == OUT_OF_SERVICE:
            return
        if u.state == ON_SCENE:
            u.out_pending = True
            return
        if u.state == TO_SCENE:
            inc = u.task
            assert inc is not None and u.log_row is not None
            inc.crew.remove(u)
            inc.n_sent -= 1
            u.log_row[6] = self.env.now
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

    def bring_back(self, u: Unit) -> None:
        """Unit ``u`` is back in service, ready at its post."""
        u.out_pending = False
        if u.state != OUT_OF_SERVICE:
            return
        self.n_out -= 1
        u.state = AT_POST
        u.node = u.home
        u.trip += 1
        self._available([u])

    def reinforce(
        self, post: str, role: str, n: int, mode: str = "road", announce: Callable[[list[Unit]], None] | None = None
    ) -> list[Unit]:
        """``n`` units of ``role`` arrive at ``post`` now, ready; each takes queued work it may.

        ``announce`` is told of the new units before they take any work (the exercise log).
        """
        new = self._new_units(post, role, n, mode)
        self.near.clear()  # the units based within reach of a site have changed
        self.near_count = None
        if announce is not None:
            announce(new)
        self._available(new)
        return new

    # --- run ---------------------------------------------------------------------------------

    def run(self) -> RunRecords:
        self.start()
        self.env.run(until=self.sc.timeline.horizon)
        return self.records()

    def start(self) -> None:
        """Start the day's processes; then ``env.run(until=...)`` moves it on (in steps, if wished)."""
        self.env.process(self.incident_source())

    def records(self) -> RunRecords:
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
