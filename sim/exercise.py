"""Exercise mode: scripted injects played on the model, with a log a trainer can read.

An :class:`Exercise` is one plan facing one replication's day (the random background, or none)
plus the injects of an events list (:mod:`sim.injects`). Each inject acts through the model's
exercise hooks at its time; what each kind does (an incident reported, roads cut or slowed, a unit
out of service and back, reinforcements, a surge of one type) is its class in
:mod:`sim.inject_kinds`, which draws any random numbers from the inject's own stream, keyed by its
number, so the same inject draws the same numbers whatever else the list holds or however it is
shifted.

While the day runs, the model reports its events (:class:`sim.model.ModelEvent`) to
:meth:`Exercise.hear`, which writes the timeline and spots the moments a commander would have to
decide (``DECISIONS``). The exercise reads the model only through its read-only view
(``queue``, ``open_incidents``, ``unit_states``, ``assignment``). The day can be moved on in steps
(:meth:`Exercise.advance`) by the console of :mod:`sim.console`; stepping does not change the
result.

Every table here is language-free: codes, ids and numbers. The words of the log and the
after-action review are the report layer's (:mod:`sim.report.exercise`), so an exercise folder
can be rendered again in another language without playing it again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.generate import IncidentStream, TypeTable, generate, quiet_day, type_table
from sim.inject_kinds import KINDS
from sim.injects import COLUMNS as EVENT_COLUMNS
from sim.injects import Inject
from sim.metrics import Measures
from sim.model import ElectionDay, EventKind, ModelEvent, RunRecords, UnitState, split_unit_id
from sim.records import incident_table, run_measures, unit_table
from sim.scenario import LoadedScenario
from sim.world import World

TIMELINE_COLUMNS: dict[str, str] = {
    "replication": "replication index (0-based); the console plays replication 0",
    "t": "model time [min from the scenario epoch]",
    "time": "local date and time (YYYY-MM-DD HH:MM)",
    "event": (
        "inject (its message), report, on_site, dispatch, arrive, queued, escalate, clear, unit_out, unit_back, "
        "reinforcement, road_closure, flood, road_open, surge, surge_end, decision"
    ),
    "inject": "number of the inject the row belongs to (its incidents too); empty for the background",
    "incident_id": "incident number in this replication (as in incidents.csv); empty if none",
    "type": "incident type at that moment (escalate: the type it became; surge: the type surging, empty = all)",
    "priority": "its priority at that moment (1 = most urgent)",
    "site_id": "TPS id, 'PPK <kecamatan>' or 'KPU'; reinforcement: the post",
    "kecamatan": "kecamatan of the site, or the one the inject concerns",
    "other_kecamatan": "road_closure, flood, road_open of a link: the second kecamatan",
    "unit_id": "unit concerned (<post>-<role>-<n>), ';'-separated if several",
    "resolved_by": "on_site: linmas, tps_guard or ppk_guard",
    "minutes": "dispatch: travel time of that unit; arrive and clear: minutes since the report [min]",
    "value": "road_closure, flood: travel-time factor (inf: roads cut); surge: rate multiplier",
    "count": "queued: incidents waiting; surge: extra incidents drawn; decision queue_long: the alert level",
    "decision": "decision: its kind, as in decision_points.csv (the situation is there)",
}

DECISION_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "t": "model time [min]",
    "time": "local date and time",
    "decision": "no_unit_priority_1, queue_long, escalation or cut_off",
    "inject": "inject number of the incident or closure concerned; empty for the background",
    "incident_id": "incident concerned; empty for a cut-off kecamatan",
    "type": "escalation: the type it became",
    "site_id": "its site",
    "kecamatan": "its kecamatan",
    "open_incidents": "reported incidents not yet cleared at that moment",
    "open_priority_1": "of which priority 1",
    "queued": "incidents waiting for a free unit",
    "units_busy": "units travelling to or working at an incident",
    "units_free": "units at their post or on the way back",
    "units_out": "units out of service",
}

AAR_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "inject": "inject number",
    "kind": "inject kind",
    "target": "inject target",
    "t": "inject time [min]",
    "t_end": "when its effect ends [min]; empty: to the end of the simulated period",
    "kecamatan": "closure, flood, surge: the kecamatan it concerns",
    "other_kecamatan": "closure or flood of a link: the second kecamatan",
    "incidents": (
        "incidents the inject concerns: its own (incident, surge), those reported in the area while it "
        "lasted (closure, flood, unit_out: the kecamatan the unit's post covers), those the new units took "
        "(reinforcement); only those that needed a unit (sim.metrics 'dispatched')"
    ),
    "reached": "of these, reached by a unit before the end (sim.metrics 'reached')",
    "in_time": (
        "of these, reached within the target for their kecamatan and priority (sim.metrics 'within_target'; "
        "the priority at the end: a dispute that became a clash is judged as a clash)"
    ),
    "judged": "True if the review judges the inject by its incidents (its kind's `judged`, sim/inject_kinds.py)",
    "response_min": "incident inject: report to first arrival [min]; never reached: end - report (censored)",
    "priority": "incident inject: its priority at the end (1 = most urgent), the one target_min is for",
    "target_min": "incident inject: the response target for its kecamatan and priority [min]",
    "units": "incident inject: units sent, ';'-separated",
}

DECISIONS = ("no_unit_priority_1", "queue_long", "escalation", "cut_off")


def stamp(epoch: dt.datetime, election_day: dt.date, t: float) -> str:
    """Model time ``t`` [min] as trainers write it: '10:52' on election day, 'H+1 08:00' on other
    days; to the nearest minute."""
    d = epoch + dt.timedelta(minutes=round(float(t)))
    days = (d.date() - election_day).days
    return f"{d:%H:%M}" if days == 0 else f"H{days:+d} {d:%H:%M}"


def local_time(epoch: dt.datetime, t: float) -> str:
    """Local date and time to the nearest minute (YYYY-MM-DD HH:MM)."""
    return f"{epoch + dt.timedelta(minutes=round(float(t))):%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class Situation:
    """The state of the day at one moment."""

    open_incidents: int
    open_priority_1: int
    queued: int
    units_busy: int
    units_free: int
    units_out: int


class Exercise:
    """One plan, one replication, with injects; ``play()`` or ``start()`` + ``advance()``."""

    def __init__(
        self,
        sc: LoadedScenario,
        world: World,
        plan: str,
        injects: Iterable[Inject],
        seed: int,
        replication: int = 0,
        background: bool = True,
        queue_alert: int = 3,
        types: TypeTable | None = None,
    ) -> None:
        self.sc, self.world, self.plan, self.seed, self.rep = sc, world, plan, seed, replication
        self.injects = sorted(injects, key=lambda x: x.t)
        self.types = types or type_table(sc, world)
        self.queue_alert = queue_alert
        day_stream = (generate if background else quiet_day)(sc, world, seed, replication, self.types)
        self.day = ElectionDay(sc, world, day_stream, plan)
        self.day.listen = self.hear
        self.rows: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.inject_of: dict[int, int] = {}  # incident index -> inject number
        self.incidents_of: dict[int, list[int]] = {}  # inject number -> incident indices
        self.new_units_of: dict[int, list[str]] = {}  # reinforcement inject -> unit ids
        self.fired: list[Inject] = []
        self.queue_alarm = False
        self.started = False

    def stamp(self, t: float) -> str:
        return stamp(self.sc.epoch, self.sc.spec.election_day, t)

    # --- running ------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.day.now

    @property
    def horizon(self) -> float:
        return self.sc.timeline.horizon

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.day.start()
            self.day.env.process(self._script())

    def advance(self, until: float) -> None:
        """Move the day on to ``until`` [min] (at most the horizon)."""
        self.start()
        until = min(until, self.horizon)
        if until > self.now:
            self.day.env.run(until=until)

    def play(self) -> RunRecords:
        self.advance(self.horizon)
        return self.day.records()

    def _script(self):  # type: ignore[no-untyped-def]
        env = self.day.env
        for inj in self.injects:
            if inj.t > env.now:
                yield env.timeout(inj.t - env.now)
            self.fire(inj)

    # --- injects ------------------------------------------------------------------------------

    def fire(self, inj: Inject) -> None:
        """Play an inject now (its time is taken as now: the console's live injects use this too)."""
        inj = replace(inj, t=self.now)
        self.fired.append(inj)
        if inj.message:
            self.log("inject", inject=inj.number)
        KINDS[inj.kind].play(self, inj)

    # --- what the kinds' play needs (sim.inject_kinds) --------------------------------------------

    def area(self, inj: Inject) -> dict[str, str]:
        """The kecamatan (and the second one of a link) an inject concerns, as log columns."""
        w = self.world
        return {"kecamatan": w.kecamatan[inj.kec], "other_kecamatan": w.kecamatan[inj.other] if inj.other >= 0 else ""}

    def at(self, t: float, action: Callable[[], None]) -> None:
        """Do ``action`` at model time ``t`` (e.g. log the end of a closure)."""
        self.day.env.timeout(t - self.now).callbacks.append(lambda _: action())

    def add(self, inj: Inject, extra: IncidentStream, on_site: bool) -> None:
        """Add the inject's incidents to the day (``on_site=False``: straight to the dispatcher)."""
        idx = self.day.add_incidents(extra, on_site=on_site, priority=inj.priority)
        self.incidents_of.setdefault(inj.number, []).extend(idx)
        for i in idx:
            self.inject_of[i] = inj.number

    # --- the log -------------------------------------------------------------------------------

    def log(self, event: str, **cols: Any) -> None:
        t = self.now
        row: dict[str, Any] = {
            "replication": self.rep,
            "t": t,
            "time": local_time(self.sc.epoch, t),
            "event": event,
            "inject": None,
            "incident_id": None,
            "type": "",
            "priority": None,
            "site_id": "",
            "kecamatan": "",
            "other_kecamatan": "",
            "unit_id": "",
            "resolved_by": "",
            "minutes": math.nan,
            "value": math.nan,
            "count": None,
            "decision": "",
        }
        row.update(cols)
        self.rows.append(row)

    def situation(self) -> Situation:
        d = self.day
        states = [u.state for u in d.unit_states()]
        busy = sum(1 for s in states if s.busy)
        out = sum(1 for s in states if s == UnitState.OUT_OF_SERVICE)
        open_now = d.open_incidents()
        return Situation(
            open_incidents=len(open_now),
            open_priority_1=sum(1 for x in open_now if x.priority == 1),
            queued=len(d.queue()),
            units_busy=busy,
            units_free=len(states) - busy - out,
            units_out=out,
        )

    def decide(self, kind: str, i: int | None, inject: int | None, **cols: Any) -> None:
        w = self.world
        site = self.day.incident_view(i).site if i is not None else -1
        row = {
            "replication": self.rep,
            "t": self.now,
            "time": local_time(self.sc.epoch, self.now),
            "decision": kind,
            "inject": inject,
            "incident_id": i,
            "type": "",
            "site_id": w.node_ids[site] if i is not None else "",
            "kecamatan": w.kecamatan[w.node_kec[site]] if i is not None else "",
            **cols,
            **self.situation().__dict__,
        }
        self.decisions.append(row)
        count = self.queue_alert if kind == "queue_long" else None
        log_cols = {k: row[k] for k in ("incident_id", "type", "site_id", "kecamatan")}
        self.log("decision", decision=kind, inject=inject, count=count, **log_cols)

    def hear(self, ev: ModelEvent) -> None:
        """The model's events (:class:`sim.model.ModelEvent`) as rows of the log."""
        w, i, event = self.world, ev.incident, ev.event
        x = self.day.incident_view(i)
        cols: dict[str, Any] = {
            "inject": self.inject_of.get(i),
            "incident_id": i,
            "type": self.types.names[x.kind],
            "priority": x.priority,
            "site_id": w.node_ids[x.site],
            "kecamatan": w.kecamatan[w.node_kec[x.site]],
        }
        since = self.now - x.t_report
        if event == EventKind.ON_SITE:
            self.log(event, resolved_by=x.resolved_by.code, **cols)
        elif event == EventKind.DISPATCH:
            assert ev.unit is not None
            job = self.day.assignment(ev.unit)
            assert job is not None
            self.log(event, unit_id=ev.unit, minutes=job.travel_min, **cols)
            if len(self.day.queue()) <= self.queue_alert:
                self.queue_alarm = False
        elif event == EventKind.ARRIVE:
            self.log(event, unit_id=ev.unit, minutes=since, **cols)
        elif event == EventKind.QUEUED:
            queued = len(self.day.queue())
            self.log(event, count=queued, **cols)
            if x.priority == 1:
                self.decide("no_unit_priority_1", i, cols["inject"])
            if queued > self.queue_alert and not self.queue_alarm:
                self.queue_alarm = True
                self.decide("queue_long", i, cols["inject"])
        elif event == EventKind.ESCALATE:  # the view shows the type it became
            self.log(event, **cols)
            self.decide("escalation", i, cols["inject"], type=cols["type"])
        elif event == EventKind.CLEAR:
            self.log(event, minutes=since, **cols)
        else:
            self.log(event, **cols)

    # --- results -------------------------------------------------------------------------------

    def timeline(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=list(TIMELINE_COLUMNS))
        for c in ("inject", "incident_id", "priority", "count"):
            df[c] = df[c].astype("Int64")
        df["value"] = df["value"].astype(float)
        return df

    def decision_table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.decisions, columns=list(DECISION_COLUMNS))
        for c in ("inject", "incident_id"):
            df[c] = df[c].astype("Int64")
        return df

    def measures(self, rec: RunRecords) -> Measures:
        """The incidents' predicates (:func:`sim.records.run_measures`), censored at the end of
        what was played: the horizon, or the moment the console was quit."""
        return run_measures(self.world, rec, self.now)

    def related(self, inj: Inject, rec: RunRecords, m: Measures) -> np.ndarray:
        """Indices of the incidents that needed a unit and that inject ``inj`` concerns (see
        ``AAR_COLUMNS["incidents"]`` and :data:`KINDS`)."""
        w = self.world
        concerns = KINDS[inj.kind].concerns
        if concerns == "own":
            idx = np.asarray(self.incidents_of.get(inj.number, []), dtype=np.int64)
        elif concerns == "new_units":
            units = unit_table(rec, self.horizon)
            took = units["unit_id"].isin(self.new_units_of.get(inj.number, []))
            idx = np.unique(units.loc[took, "incident_id"].to_numpy(dtype=np.int64))
        elif concerns == "none":
            idx = np.zeros(0, dtype=np.int64)
        else:
            if inj.kind == "unit_out":
                area = np.asarray(sorted(w.post_covers[split_unit_id(inj.target)[0]]))
            else:
                area = np.asarray([k for k in (inj.kec, inj.other) if k >= 0])
            r = rec.incidents
            during = (r.t_report >= inj.t) & (r.t_report < inj.t_end)
            idx = np.flatnonzero(during & np.isin(w.node_kec[rec.stream.site], area))
        return idx[m.dispatched[idx]]

    def aar_rows(self, rec: RunRecords, m: Measures | None = None) -> list[dict[str, Any]]:
        """What happened to each inject (see AAR_COLUMNS); "reached" and "in time" are those of
        :mod:`sim.metrics` (``m``: this run's measures, :meth:`measures` if not given)."""
        m = m if m is not None else self.measures(rec)
        w = self.world
        rows = []
        for inj in self.fired:
            idx = self.related(inj, rec, m)
            row: dict[str, Any] = {
                "replication": self.rep,
                "inject": inj.number,
                "kind": inj.kind,
                "target": inj.target,
                "t": inj.t,
                "t_end": inj.t_end if math.isfinite(inj.t_end) else math.nan,
                "kecamatan": w.kecamatan[inj.kec] if inj.kec >= 0 else "",
                "other_kecamatan": w.kecamatan[inj.other] if inj.other >= 0 else "",
                "incidents": len(idx),
                "reached": int(m.reached[idx].sum()),
                "in_time": int(m.within_target[idx].sum()),
                "judged": KINDS[inj.kind].judged,
                "response_min": math.nan,
                "priority": None,
                "target_min": math.nan,
                "units": "",
            }
            if inj.kind == "incident" and len(idx):
                i = int(idx[0])
                row.update(
                    response_min=float(m.response_min[i]),
                    priority=int(rec.incidents.priority[i]),
                    target_min=float(m.target_min[i]),
                    units=";".join(rec.incidents.units[i]),
                )
            rows.append(row)
        return rows


def events_table(played: list[Inject], epoch: dt.datetime) -> pd.DataFrame:
    """The injects as played (shifted, live ones included), as an events list that replays them."""
    rows = []
    for i in played:
        d = epoch + dt.timedelta(minutes=float(i.t))
        time = f"{d:%Y-%m-%d %H:%M}" if d.second == 0 and d.microsecond == 0 else f"{d:%Y-%m-%dT%H:%M:%S}"
        value = KINDS[i.kind].value_text(i)
        rows.append(
            {
                "number": i.number,
                "time": time,
                "kind": i.kind,
                "target": i.target,
                "type": i.type if i.kind in ("incident", "surge") else "",
                "priority": "" if i.priority is None else str(i.priority),
                "value": value,
                "duration": "" if i.duration_min is None else f"{i.duration_min:g}",
                "role": i.role if i.kind == "reinforcement" else "",
                "message": i.message,
                "expected_action": i.expected_action,
            }
        )
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))


@dataclass
class ExerciseResult:
    """All replications of an exercise, as tables."""

    timeline: pd.DataFrame
    decisions: pd.DataFrame
    aar: pd.DataFrame
    incidents: pd.DataFrame
    units: pd.DataFrame
    played: list[Inject]  # the injects played in replication 0 (typed-in ones included)
    events: list[Inject]  # the exercise's events list: those played and those not reached (if stopped early)


def collect(exercises: list[Exercise], records: list[RunRecords], events: list[Inject]) -> ExerciseResult:
    """Put finished exercises (one per replication, in order) together."""
    first = exercises[0]
    horizon = first.horizon
    played = [(e, rec, e.measures(rec)) for e, rec in zip(exercises, records, strict=True)]
    aar = pd.DataFrame([r for e, rec, m in played for r in e.aar_rows(rec, m)], columns=list(AAR_COLUMNS))
    aar["priority"] = aar["priority"].astype("Int64")
    aar["judged"] = aar["judged"].astype(bool)
    return ExerciseResult(
        timeline=pd.concat([e.timeline() for e in exercises], ignore_index=True),
        decisions=pd.concat([e.decision_table() for e in exercises], ignore_index=True),
        aar=aar,
        incidents=pd.concat([incident_table(e.sc, e.world, rec, m) for e, rec, m in played], ignore_index=True),
        units=pd.concat([unit_table(rec, horizon) for rec in records], ignore_index=True),
        played=list(first.fired),
        events=list(events),
    )


def run_exercise(
    sc: LoadedScenario,
    world: World,
    plan: str,
    injects: list[Inject],
    seed: int,
    replications: int = 1,
    background: bool = True,
    queue_alert: int = 3,
    first: Exercise | None = None,
) -> ExerciseResult:
    """Play the exercise over ``replications`` replications (``first``: replication 0, already
    played, e.g. at the console)."""
    types = type_table(sc, world)
    exercises, records = [], []
    for rep in range(replications):
        if rep == 0 and first is not None:
            ex = first
            records.append(ex.day.records())
        else:
            ex = Exercise(sc, world, plan, injects, seed, rep, background, queue_alert, types)
            records.append(ex.play())
        exercises.append(ex)
    return collect(exercises, records, injects)
