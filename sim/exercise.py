"""Exercise mode: scripted injects played on the model, with a log a trainer can read.

An :class:`Exercise` is one plan facing one replication's day (the random background, or none)
plus the injects of an events list (:mod:`sim.injects`). Each inject acts through the model's
exercise hooks at its time:

- ``incident``: a report reaches the dispatcher at that time (no report delay, no on-site
  resolution: the inject is there to test the response). Its on-scene time, escalation coins and
  travel noise come from the inject's own random stream, keyed by its number, so the same inject
  draws the same numbers whatever else the list holds or however it is shifted.
- ``road_closure`` / ``flood``: a :class:`~sim.model.Disruption` for a kecamatan or a link until
  ``duration`` runs out. Roads cut to a kecamatan leave it to the units based inside it.
- ``unit_out`` / ``unit_back``: a unit goes out of service (back automatically after
  ``duration``, if given) or comes back.
- ``reinforcement``: units of a role arrive at a post, ready there.
- ``surge``: the rate of one type (or all) in a kecamatan is multiplied for a while (e.g. a hoax
  spreading); the extra incidents are drawn from the inject's stream and go through on-site
  resolution like any other.

While the day runs, the model reports its events to :meth:`Exercise.watch`, which writes the
timeline and spots the moments a commander would have to decide (``DECISIONS``). The day can be
moved on in steps (:meth:`Exercise.advance`) by the console of :mod:`sim.console`; stepping does
not change the result.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.generate import (
    PHASE_INDEX,
    IncidentStream,
    TypeTable,
    _phase_at,
    generate,
    inject_stream,
    quiet_day,
    surge,
    type_table,
    with_draws,
)
from sim.injects import Inject
from sim.metrics import Measures
from sim.model import OUT_OF_SERVICE, RETURNING, Disruption, ElectionDay, RunRecords, Unit
from sim.records import incident_table, run_measures, unit_table
from sim.report.i18n import Text
from sim.scenario import LoadedScenario
from sim.world import World

TIMELINE_COLUMNS: dict[str, str] = {
    "replication": "replication index (0-based); the console plays replication 0",
    "t": "model time [min from the scenario epoch]",
    "time": "local date and time (YYYY-MM-DD HH:MM)",
    "event": (
        "inject, report, on_site, dispatch, arrive, queued, escalate, clear, unit_out, unit_back, "
        "reinforcement, road_closure, flood, road_open, surge, surge_end, decision"
    ),
    "inject": "number of the inject the row belongs to (its incidents too); empty for the background",
    "incident_id": "incident number in this replication (as in incidents.csv); empty if none",
    "type": "incident type at that moment",
    "priority": "its priority at that moment (1 = most urgent)",
    "site_id": "TPS id, 'PPK <kecamatan>' or 'KPU'",
    "kecamatan": "kecamatan of the site, or the one the inject concerns",
    "unit_id": "unit concerned (<post>-<role>-<n>), ';'-separated if several",
    "minutes": "dispatch: travel time of that unit; arrive and clear: minutes since the report [min]",
    "text": "the row as a line of the log, in the chosen language",
}

DECISION_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "t": "model time [min]",
    "time": "local date and time",
    "decision": "no_unit_priority_1, queue_long, escalation or cut_off",
    "inject": "inject number of the incident or closure concerned; empty for the background",
    "incident_id": "incident concerned; empty for a cut-off kecamatan",
    "site_id": "its site",
    "kecamatan": "its kecamatan",
    "open_incidents": "reported incidents not yet cleared at that moment",
    "open_priority_1": "of which priority 1",
    "queued": "incidents waiting for a free unit",
    "units_busy": "units travelling to or working at an incident",
    "units_free": "units at their post or on the way back",
    "units_out": "units out of service",
    "text": "the situation in words, in the chosen language",
}

AAR_COLUMNS: dict[str, str] = {
    "replication": "replication index",
    "inject": "inject number",
    "kind": "inject kind",
    "target": "inject target",
    "t": "inject time [min]",
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
    "response_min": "incident inject: report to first arrival [min]; never reached: end - report (censored)",
    "priority": "incident inject: its priority at the end (1 = most urgent), the one target_min is for",
    "target_min": "incident inject: the response target for its kecamatan and priority [min]",
    "units": "incident inject: units sent, ';'-separated",
    "unit_names": "the same units by name, in the chosen language",
}

DECISIONS = ("no_unit_priority_1", "queue_long", "escalation", "cut_off")

WORDS: dict[str, dict[str, str]] = {
    "patrol": {"id": "Patroli", "en": "Patrol"},
    "reserve": {"id": "Cadangan", "en": "Reserve"},
    "tni": {"id": "TNI", "en": "TNI"},
    "linmas": {"id": "Linmas", "en": "Linmas"},
    "tps_guard": {"id": "petugas TPS", "en": "the TPS guard"},
    "ppk_guard": {"id": "petugas PPK", "en": "the PPK guard"},
    "ev_report": {"id": "Laporan {type} (prioritas {p}) di {site}", "en": "Report: {type} (priority {p}) at {site}"},
    "ev_on_site": {
        "id": "{type} di {site} diselesaikan di tempat oleh {who}",
        "en": "{type} at {site} resolved on site by {who}",
    },
    "ev_dispatch": {
        "id": "{unit} diberangkatkan ke {site} (perjalanan {m} menit)",
        "en": "{unit} sent to {site} ({m} min on the way)",
    },
    "ev_arrive": {
        "id": "{unit} tiba di {site} ({m} menit setelah laporan)",
        "en": "{unit} arrived at {site} ({m} min after the report)",
    },
    "ev_queued": {
        "id": "Tidak ada unit bebas untuk {type} di {site}: menunggu (antrean {q})",
        "en": "No unit free for {type} at {site}: waiting (queue {q})",
    },
    "ev_escalate": {
        "id": "Situasi di {site} meningkat menjadi {type} (prioritas {p})",
        "en": "{site} escalated to {type} (priority {p})",
    },
    "ev_clear": {
        "id": "{type} di {site} selesai ditangani ({m} menit setelah laporan)",
        "en": "{type} at {site} cleared ({m} min after the report)",
    },
    "ev_unit_out": {"id": "{unit} tidak dapat beroperasi", "en": "{unit} out of service"},
    "ev_unit_back": {"id": "{unit} kembali beroperasi", "en": "{unit} back in service"},
    "ev_reinforcement": {"id": "Bantuan tiba di {post}: {units}", "en": "Reinforcement at {post}: {units}"},
    "ev_cut": {"id": "Jalan ke {area} terputus", "en": "Roads to {area} cut"},
    "ev_slow": {
        "id": "Jalan ke {area} terhambat: waktu tempuh x{f}",
        "en": "Roads to {area} slowed: travel time x{f}",
    },
    "ev_road_open": {"id": "Jalan ke {area} kembali normal", "en": "Roads to {area} back to normal"},
    "ev_surge": {
        "id": "Lonjakan {type} di {kec}: laju x{f} ({n} kejadian tambahan)",
        "en": "Surge of {type} in {kec}: rate x{f} ({n} extra incidents)",
    },
    "ev_surge_end": {"id": "Lonjakan di {kec} berakhir", "en": "Surge in {kec} over"},
    "all_types": {"id": "semua jenis kejadian", "en": "all incident types"},
    "dp_no_unit_priority_1": {
        "id": "KEPUTUSAN: tidak ada unit bebas untuk kejadian prioritas 1 di {site}",
        "en": "DECISION: no unit free for a priority-1 incident at {site}",
    },
    "dp_queue_long": {
        "id": "KEPUTUSAN: antrean lebih dari {n} kejadian",
        "en": "DECISION: more than {n} incidents waiting",
    },
    "dp_escalation": {
        "id": "KEPUTUSAN: situasi di {site} meningkat menjadi {type}",
        "en": "DECISION: {site} escalated to {type}",
    },
    "dp_cut_off": {"id": "KEPUTUSAN: {area} terputus", "en": "DECISION: {area} cut off"},
    "situation": {
        "id": "{open} kejadian terbuka ({p1} prioritas 1), {q} menunggu; "
        "unit sibuk {busy}, bebas {free}, tidak beroperasi {out}",
        "en": "{open} open incidents ({p1} priority 1), {q} waiting; units busy {busy}, free {free}, out {out}",
    },
}


def stamp(epoch: dt.datetime, election_day: dt.date, t: float) -> str:
    """Model time ``t`` [min] as trainers write it: '10:52' on election day, 'H+1 08:00' on other
    days; to the nearest minute."""
    d = epoch + dt.timedelta(minutes=round(float(t)))
    days = (d.date() - election_day).days
    return f"{d:%H:%M}" if days == 0 else f"H{days:+d} {d:%H:%M}"


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
        lang: str = "id",
        queue_alert: int = 3,
        types: TypeTable | None = None,
    ) -> None:
        self.sc, self.world, self.plan, self.seed, self.rep = sc, world, plan, seed, replication
        self.injects = sorted(injects, key=lambda x: x.t)
        self.types = types or type_table(sc, world)
        self.text = Text(lang, WORDS)
        self.lang = lang
        self.queue_alert = queue_alert
        day_stream = (generate if background else quiet_day)(sc, world, seed, replication, self.types)
        self.day = ElectionDay(sc, world, day_stream, plan)
        self.day.watch = self.watch
        self.post_name = {p.id: p.name for p in sc.spec.sites.posts}
        self.rows: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.inject_of: dict[int, int] = {}  # incident index -> inject number
        self.incidents_of: dict[int, list[int]] = {}  # inject number -> incident indices
        self.new_units_of: dict[int, list[str]] = {}  # reinforcement inject -> unit ids
        self.fired: list[Inject] = []
        self.open: dict[int, int] = {}  # open incident -> priority
        self.queue_alarm = False
        self.started = False

    # --- names in the log -----------------------------------------------------------------------

    def unit_name(self, u: Unit) -> str:
        n = u.uid.rsplit("-", 1)[1]
        return f"{self.text(u.role)} {self.post_name.get(u.post, u.post)}-{n}"

    def site_name(self, node: int) -> str:
        w = self.world
        sid = w.node_ids[node]
        if node < w.n_tps:
            return f"TPS {sid} ({w.kecamatan[w.node_kec[node]]})"
        return sid

    def area_name(self, inj: Inject) -> str:
        w = self.world
        if inj.other >= 0:
            return f"{w.kecamatan[inj.kec]} - {w.kecamatan[inj.other]}"
        return w.kecamatan[inj.kec]

    def stamp(self, t: float) -> str:
        return stamp(self.sc.epoch, self.sc.spec.election_day, t)

    def local(self, t: float) -> str:
        """Local date and time to the nearest minute (YYYY-MM-DD HH:MM)."""
        return f"{self.sc.epoch + dt.timedelta(minutes=round(float(t))):%Y-%m-%d %H:%M}"

    # --- running ------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return float(self.day.env.now)

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
        base: dict[str, Any] = {"inject": inj.number}
        if inj.message:
            self.log("inject", f"[{inj.number}] {inj.message}", **base)
        if inj.kind == "incident":
            self._incident(inj)
        elif inj.kind in ("road_closure", "flood"):
            d = Disruption(inj.kec, None if inj.other < 0 else inj.other, float(inj.value or math.inf), inj.t_end)
            self.day.disrupt(d)
            area = self.area_name(inj)
            cut = math.isinf(d.factor)
            words = self.text("ev_cut", area=area) if cut else self.text("ev_slow", area=area, f=f"{d.factor:g}")
            self.log(inj.kind, words, kecamatan=area, **base)
            if cut and d.other is None:
                self.decide("cut_off", None, inj.number, kecamatan=area, area=area)
            if inj.t_end < self.horizon:
                self._at(inj.t_end, lambda: self.log("road_open", self.text("ev_road_open", area=area), **base))
        elif inj.kind == "unit_out":
            u = self.unit(inj.target)
            self.log("unit_out", self.text("ev_unit_out", unit=self.unit_name(u)), unit_id=u.uid, **base)
            self.day.take_out(u)
            if inj.t_end < self.horizon:
                self._at(inj.t_end, lambda: self._back(u, inj.number))
        elif inj.kind == "unit_back":
            self._back(self.unit(inj.target), inj.number)
        elif inj.kind == "reinforcement":

            def announce(new: list[Unit]) -> None:
                self.new_units_of[inj.number] = [u.uid for u in new]
                names = ", ".join(self.unit_name(u) for u in new)
                post = self.post_name.get(inj.target, inj.target)
                self.log(
                    "reinforcement",
                    self.text("ev_reinforcement", post=post, units=names),
                    unit_id=";".join(u.uid for u in new),
                    **base,
                )

            self.day.reinforce(inj.target, inj.role, int(inj.value or 1), announce=announce)
        elif inj.kind == "surge":
            self._surge(inj)

    def unit(self, uid: str) -> Unit:
        for u in self.day.units:
            if u.uid == uid:
                return u
        raise KeyError(uid)  # read_injects checked the ids in time order

    def _back(self, u: Unit, number: int) -> None:
        self.log("unit_back", self.text("ev_unit_back", unit=self.unit_name(u)), unit_id=u.uid, inject=number)
        self.day.bring_back(u)

    def _at(self, t: float, action: Any) -> None:
        self.day.env.timeout(t - self.now).callbacks.append(lambda _: action())

    def _incident(self, inj: Inject) -> None:
        w, sc = self.world, self.sc
        rng = inject_stream(self.seed, self.rep, inj.number)
        site = np.asarray([inj.site], dtype=np.int64)
        t = np.asarray([self.now])
        if inj.site < w.n_tps:
            ph = int(_phase_at(sc, self.day.stream.count_end, self.day.stream.escort_end, site, t)[0])
            if ph < 0:
                ph = PHASE_INDEX["logistics" if self.now < sc.timeline.voting_start else "escort"]
        else:
            ph = PHASE_INDEX["plenary" if inj.site == w.kpu_node else "recap"]
        extra = with_draws(
            sc,
            w,
            self.types,
            rng,
            self.rep,
            t,
            site,
            np.asarray([self.types.names.index(inj.type)], dtype=np.int64),
            np.asarray([ph], dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            self.day.stream.count_end,
            self.day.stream.escort_end,
        )
        extra.t_report = extra.t_occur.copy()  # the inject is the report
        self._add(inj, extra, on_site=False)

    def _surge(self, inj: Inject) -> None:
        rng = inject_stream(self.seed, self.rep, inj.number)
        scale = np.full(len(self.types.names), float(inj.value or 1.0) - 1.0)
        if inj.type:
            keep = np.asarray([n == inj.type for n in self.types.names])
            scale = np.where(keep, scale, 0.0)
        end = min(inj.t_end, self.horizon)
        extra = surge(self.sc, self.world, self.types, self.day.stream, inj.kec, self.now, end, scale, rng)
        self._add(inj, extra, on_site=True)
        kec = self.world.kecamatan[inj.kec]
        what = inj.type or self.text("all_types")
        self.log(
            "surge",
            self.text("ev_surge", type=what, kec=kec, f=f"{inj.value:g}", n=len(extra)),
            kecamatan=kec,
            inject=inj.number,
        )
        if inj.t_end < self.horizon:
            self._at(inj.t_end, lambda: self.log("surge_end", self.text("ev_surge_end", kec=kec), inject=inj.number))

    def _add(self, inj: Inject, extra: IncidentStream, on_site: bool) -> None:
        idx = self.day.add_incidents(extra, on_site=on_site, priority=inj.priority)
        self.incidents_of.setdefault(inj.number, []).extend(idx)
        for i in idx:
            self.inject_of[i] = inj.number

    # --- the log -------------------------------------------------------------------------------

    def log(self, event: str, text: str, **cols: Any) -> None:
        t = self.now
        row: dict[str, Any] = {
            "replication": self.rep,
            "t": t,
            "time": self.local(t),
            "event": event,
            "inject": None,
            "incident_id": None,
            "type": "",
            "priority": None,
            "site_id": "",
            "kecamatan": "",
            "unit_id": "",
            "minutes": math.nan,
            "text": f"{self.stamp(t)} {text}",
        }
        row.update(cols)
        self.rows.append(row)

    def situation(self) -> Situation:
        d = self.day
        busy = sum(1 for u in d.units if RETURNING < u.state < OUT_OF_SERVICE)
        out = sum(1 for u in d.units if u.state == OUT_OF_SERVICE)
        return Situation(
            open_incidents=len(self.open),
            open_priority_1=sum(1 for p in self.open.values() if p == 1),
            queued=len(d.pending),
            units_busy=busy,
            units_free=len(d.units) - busy - out,
            units_out=out,
        )

    def situation_text(self, s: Situation | None = None) -> str:
        s = s or self.situation()
        return self.text(
            "situation",
            open=s.open_incidents,
            p1=s.open_priority_1,
            q=s.queued,
            busy=s.units_busy,
            free=s.units_free,
            out=s.units_out,
        )

    def decide(self, kind: str, i: int | None, inject: int | None, **words: Any) -> None:
        s = self.situation()
        what = self.text(f"dp_{kind}", **words)
        site = self.world.node_ids[int(self.day.stream.site[i])] if i is not None else ""
        kec = words.get("kecamatan") or (
            self.world.kecamatan[self.world.node_kec[self.day.stream.site[i]]] if i is not None else ""
        )
        row = {
            "replication": self.rep,
            "t": self.now,
            "time": self.local(self.now),
            "decision": kind,
            "inject": inject,
            "incident_id": i,
            "site_id": site,
            "kecamatan": kec,
            **s.__dict__,
            "text": f"{what}. {self.situation_text(s)}",
        }
        self.decisions.append(row)
        self.log("decision", row["text"], inject=inject, incident_id=i, site_id=site, kecamatan=kec)

    def watch(self, event: str, i: int, u: Unit | None) -> None:
        """Called by the model at each of its events (see :class:`sim.model.ElectionDay`)."""
        d, w = self.day, self.world
        node = int(d.stream.site[i])
        kind = self.types.names[int(d.kind[i])]
        prio = int(d.priority[i])
        site = self.site_name(node)
        cols: dict[str, Any] = {
            "inject": self.inject_of.get(i),
            "incident_id": i,
            "type": kind,
            "priority": prio,
            "site_id": w.node_ids[node],
            "kecamatan": w.kecamatan[w.node_kec[node]],
        }
        since = self.now - float(d.t_report[i])
        if event == "report":
            self.open[i] = prio
            self.log(event, self.text("ev_report", type=kind, p=prio, site=site), **cols)
        elif event == "on_site":
            who = self.text(("", "linmas", "tps_guard", "ppk_guard")[int(d.resolved_by[i])])
            self.log(event, self.text("ev_on_site", type=kind, site=site, who=who), **cols)
        elif event == "dispatch":
            assert u is not None and u.log_row is not None
            m = float(u.log_row[8])
            self.log(
                event,
                self.text("ev_dispatch", unit=self.unit_name(u), site=site, m=round(m)),
                unit_id=u.uid,
                minutes=m,
                **cols,
            )
            if len(d.pending) <= self.queue_alert:
                self.queue_alarm = False
        elif event == "arrive":
            assert u is not None
            self.log(
                event,
                self.text("ev_arrive", unit=self.unit_name(u), site=site, m=round(since)),
                unit_id=u.uid,
                minutes=since,
                **cols,
            )
        elif event == "queued":
            self.log(event, self.text("ev_queued", type=kind, site=site, q=len(d.pending)), **cols)
            if prio == 1:
                self.decide("no_unit_priority_1", i, cols["inject"], site=site)
            if len(d.pending) > self.queue_alert and not self.queue_alarm:
                self.queue_alarm = True
                self.decide("queue_long", i, cols["inject"], n=self.queue_alert)
        elif event == "escalate":
            # Called before the type changes: name the type it becomes.
            esc = self.sc.spec.incidents.types[kind].escalation
            assert esc is not None
            to_p = self.sc.spec.incidents.types[esc.to].priority
            self.open[i] = to_p
            words = self.text("ev_escalate", site=site, type=esc.to, p=to_p)
            self.log(event, words, **{**cols, "type": esc.to, "priority": to_p})
            self.decide("escalation", i, cols["inject"], site=site, type=esc.to)
        elif event == "clear":
            self.open.pop(i, None)
            self.log(event, self.text("ev_clear", type=kind, site=site, m=round(since)), minutes=since, **cols)

    # --- results -------------------------------------------------------------------------------

    def timeline(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=list(TIMELINE_COLUMNS))
        for c in ("inject", "incident_id", "priority"):
            df[c] = df[c].astype("Int64")
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
        ``AAR_COLUMNS["incidents"]``)."""
        w = self.world
        if inj.kind in ("incident", "surge"):
            idx = np.asarray(self.incidents_of.get(inj.number, []), dtype=np.int64)
        elif inj.kind == "reinforcement":
            units = unit_table(rec, self.horizon)
            took = units["unit_id"].isin(self.new_units_of.get(inj.number, []))
            idx = np.unique(units.loc[took, "incident_id"].to_numpy(dtype=np.int64))
        elif inj.kind == "unit_back":
            idx = np.zeros(0, dtype=np.int64)
        else:
            if inj.kind == "unit_out":
                area = np.asarray(sorted(w.post_covers[self.unit(inj.target).post]))
            else:
                area = np.asarray([k for k in (inj.kec, inj.other) if k >= 0])
            during = (rec.t_report >= inj.t) & (rec.t_report < inj.t_end)
            idx = np.flatnonzero(during & np.isin(w.node_kec[rec.stream.site], area))
        return idx[m.dispatched[idx]]

    def aar_rows(self, rec: RunRecords, m: Measures | None = None) -> list[dict[str, Any]]:
        """What happened to each inject (see AAR_COLUMNS); "reached" and "in time" are those of
        :mod:`sim.metrics` (``m``: this run's measures, :meth:`measures` if not given)."""
        m = m if m is not None else self.measures(rec)
        rows = []
        for inj in self.fired:
            idx = self.related(inj, rec, m)
            row: dict[str, Any] = {
                "replication": self.rep,
                "inject": inj.number,
                "kind": inj.kind,
                "target": inj.target,
                "t": inj.t,
                "incidents": len(idx),
                "reached": int(m.reached[idx].sum()),
                "in_time": int(m.within_target[idx].sum()),
                "response_min": math.nan,
                "priority": None,
                "target_min": math.nan,
                "units": "",
                "unit_names": "",
            }
            if inj.kind == "incident" and len(idx):
                i = int(idx[0])
                names = [self.unit_name(self.unit(uid)) for uid in rec.units[i]]
                row.update(
                    response_min=float(m.response_min[i]),
                    priority=int(rec.priority[i]),
                    target_min=float(m.target_min[i]),
                    units=";".join(rec.units[i]),
                    unit_names=";".join(names),
                )
            rows.append(row)
        return rows


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
    lang: str = "id",
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
            ex = Exercise(sc, world, plan, injects, seed, rep, background, lang, queue_alert, types)
            records.append(ex.play())
        exercises.append(ex)
    return collect(exercises, records, injects)
