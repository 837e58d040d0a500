"""Inject kinds, each in one place: the columns it takes, how a row is checked, what it does to
the day, which incidents the review relates to it, and how it is written back to an events list.

A kind is a class registered in :data:`KINDS` (like the dispatch policies of
:mod:`sim.dispatch`). The events-list reader (:mod:`sim.injects`) calls its ``check``, the
exercise (:mod:`sim.exercise`) its ``play``, the review its ``concerns`` and ``judged``, the
replayable ``injects.csv`` its ``value_text``. Adding a kind is a class here, plus the words of any
new log event in :mod:`sim.report.exercise`, its rows in scenarios/README.md and its tests.

``concerns`` says which incidents that needed a unit the after-action review counts for the
inject: ``own`` (those it created), ``area`` (reported in its kecamatan while it lasted; for a
unit taken out, the kecamatan its post covers), ``new_units`` (those its new units took) or
``none``. ``judged``: whether they count as its successes or shortfalls.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.generate import PHASE_INDEX, inject_stream, phase_at, surge, with_draws
from sim.model import ROLE_GROUPS, Disruption

if TYPE_CHECKING:
    from sim.exercise import Exercise
    from sim.injects import Inject, InjectReader

Cell = Any  # the reader's cell(name) -> str accessor
ROLES = tuple(r for r, _ in ROLE_GROUPS)
LINK = "/"  # "Kaliorang / Bengalon": the roads between two kecamatan


class InjectKind:
    """The defaults: no optional column, no check beyond the common ones, concerns nothing."""

    name: ClassVar[str] = ""
    uses: ClassVar[frozenset[str]] = frozenset()  # optional columns it takes; others must stay empty
    concerns: ClassVar[str] = "none"
    judged: ClassVar[bool] = False

    def check(self, reader: InjectReader, inj: Inject, cell: Cell, value: float | None) -> Inject:
        """The row's kind-specific checks; the inject with its resolved fields."""
        return inj

    def play(self, ex: Exercise, inj: Inject) -> None:
        raise NotImplementedError

    def value_text(self, inj: Inject) -> str:
        """The ``value`` cell that replays it (injects.csv)."""
        return ""


KINDS: dict[str, InjectKind] = {}


def register(cls: type[InjectKind]) -> type[InjectKind]:
    KINDS[cls.name] = cls()
    return cls


@register
class IncidentInject(InjectKind):
    """A report of that type (and priority) reaches the dispatcher at that time (no report delay,
    no on-site resolution). Its on-scene time, escalation coins and travel noise come from the
    inject's own random stream, keyed by its number."""

    name = "incident"
    uses = frozenset({"type", "priority"})
    concerns = "own"
    judged = True

    def check(self, reader: InjectReader, inj: Inject, cell: Cell, value: float | None) -> Inject:
        site = reader.site(inj)
        if not cell("type"):
            reader.fail(inj.where, "type", f"an incident needs its type; valid: {', '.join(reader.types)}")
        reader.check_type(inj, cell("type"))
        priority = None
        if cell("priority"):
            if not re.fullmatch(r"[1-9]", cell("priority")):
                reader.fail(inj.where, "priority", f"'{cell('priority')}' is not a priority; use 1 (most urgent) to 9")
            priority = int(cell("priority"))
            with_target = reader.priorities_with_target()
            if priority not in with_target:
                reader.fail(
                    inj.where,
                    "priority",
                    f"no response target for priority {priority} in the scenario's targets; "
                    f"valid: {', '.join(map(str, with_target))}",
                )
        return replace(inj, site=site, type=cell("type"), priority=priority)

    def play(self, ex: Exercise, inj: Inject) -> None:
        w, sc, day = ex.world, ex.sc, ex.day
        site = np.asarray([inj.site], dtype=np.int64)
        t = np.asarray([ex.now])
        if inj.site < w.n_tps:
            ph = int(phase_at(sc, day.stream.count_end, day.stream.escort_end, site, t)[0])
            if ph < 0:
                ph = PHASE_INDEX["logistics" if ex.now < sc.timeline.voting_start else "escort"]
        else:
            ph = PHASE_INDEX["plenary" if inj.site == w.kpu_node else "recap"]
        extra = with_draws(
            sc,
            w,
            ex.types,
            inject_stream(ex.seed, ex.rep, inj.number),
            ex.rep,
            t,
            site,
            np.asarray([ex.types.names.index(inj.type)], dtype=np.int64),
            np.asarray([ph], dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            day.stream.count_end,
            day.stream.escort_end,
        )
        extra.t_report = extra.t_occur.copy()  # the inject is the report
        ex.add(inj, extra, on_site=False)


@register
class RoadClosure(InjectKind):
    """Roads to a kecamatan (or between two) cut, or travel times x ``value``, for ``duration``:
    a :class:`~sim.model.Disruption`. Roads cut to a kecamatan leave it to the units inside it."""

    name = "road_closure"
    uses = frozenset({"value", "duration"})
    concerns = "area"
    judged = True

    def check(self, reader: InjectReader, inj: Inject, cell: Cell, value: float | None) -> Inject:
        if value is not None and value < 1:
            reader.fail(
                inj.where,
                "value",
                f"'{cell('value')}' would speed travel up; give a travel-time factor of 1 or more, "
                "or leave it empty for roads cut",
            )
        parts = [p.strip() for p in inj.target.split(LINK)]
        if len(parts) > 2 or not all(parts):
            reader.fail(inj.where, "target", f"'{inj.target}': give a kecamatan, or two joined by '{LINK}' for a link")
        kec = reader.kecamatan(inj.where, parts[0])
        other = reader.kecamatan(inj.where, parts[1]) if len(parts) == 2 else -1
        if other == kec:
            reader.fail(inj.where, "target", f"'{inj.target}' links a kecamatan with itself")
        return replace(inj, kec=kec, other=other, value=math.inf if value is None else value)

    def play(self, ex: Exercise, inj: Inject) -> None:
        d = Disruption(inj.kec, None if inj.other < 0 else inj.other, float(inj.value or math.inf), inj.t_end)
        ex.day.disrupt(d)
        area = ex.area(inj)
        ex.log(inj.kind, inject=inj.number, value=d.factor, **area)
        if math.isinf(d.factor) and d.other is None:
            ex.decide("cut_off", None, inj.number, kecamatan=area["kecamatan"])
        if inj.t_end < ex.horizon:
            ex.at(inj.t_end, lambda: ex.log("road_open", inject=inj.number, **area))

    def value_text(self, inj: Inject) -> str:
        return "" if inj.value is None or math.isinf(inj.value) else f"{inj.value:g}"


@register
class Flood(RoadClosure):
    """As a road closure (a flood cuts or slows the roads); named apart for the log and review."""

    name = "flood"


@register
class UnitOut(InjectKind):
    """A unit goes out of service (a breakdown): on its way to a scene it turns back and the
    incident goes to another; on scene it finishes first. Back after ``duration`` if given."""

    name = "unit_out"
    uses = frozenset({"duration"})
    concerns = "area"
    judged = True

    # The unit id is checked in time order, with the reinforcements (sim.injects.check_units).

    def play(self, ex: Exercise, inj: Inject) -> None:
        uid = inj.target
        ex.log("unit_out", unit_id=uid, inject=inj.number)
        ex.day.take_out(uid)
        if inj.t_end < ex.horizon:
            ex.at(inj.t_end, lambda: UnitBack.back(ex, uid, inj.number))


@register
class UnitBack(InjectKind):
    """A unit comes back into service, ready at its post."""

    name = "unit_back"

    def play(self, ex: Exercise, inj: Inject) -> None:
        self.back(ex, inj.target, inj.number)

    @staticmethod
    def back(ex: Exercise, uid: str, number: int) -> None:
        ex.log("unit_back", unit_id=uid, inject=number)
        ex.day.bring_back(uid)


@register
class Reinforcement(InjectKind):
    """``value`` units of ``role`` (default reserve) arrive at a post, ready there, to the end.

    It helps with incidents rather than posing them (those its units took were late, if at all,
    for waiting before it came), so the review judges it neither a shortfall nor a success."""

    name = "reinforcement"
    uses = frozenset({"value", "role", "duration"})
    concerns = "new_units"

    def check(self, reader: InjectReader, inj: Inject, cell: Cell, value: float | None) -> Inject:
        if inj.target not in reader.posts:
            reader.fail(inj.where, "target", f"unknown post '{inj.target}'; valid: {reader.listing(reader.posts)}")
        n = 1.0 if value is None else value
        if n != round(n) or not 1 <= n <= 100:
            reader.fail(inj.where, "value", f"'{cell('value')}' units: give a whole number from 1 to 100")
        role = cell("role").lower() or "reserve"
        if role not in ROLES:
            reader.fail(inj.where, "role", f"unknown role '{cell('role')}'; valid: {', '.join(ROLES)}")
        if inj.duration_min is not None:
            reader.fail(inj.where, "duration", "reinforcements stay to the end; leave duration empty")
        return replace(inj, value=n, role=role)

    def play(self, ex: Exercise, inj: Inject) -> None:
        def announce(new: list[str]) -> None:
            ex.new_units_of[inj.number] = new
            ex.log("reinforcement", site_id=inj.target, unit_id=";".join(new), inject=inj.number)

        ex.day.reinforce(inj.target, inj.role, int(inj.value or 1), announce=announce)

    def value_text(self, inj: Inject) -> str:
        return f"{inj.value:g}" if inj.value is not None else ""


@register
class Surge(InjectKind):
    """The rate of one type (or all) in a kecamatan x ``value`` for ``duration`` (e.g. a hoax
    spreading); the extra incidents are drawn from the inject's stream and go through on-site
    resolution like any other."""

    name = "surge"
    uses = frozenset({"type", "value", "duration"})
    concerns = "own"
    judged = True

    def check(self, reader: InjectReader, inj: Inject, cell: Cell, value: float | None) -> Inject:
        kec = reader.kecamatan(inj.where, inj.target)
        if cell("type"):
            reader.check_type(inj, cell("type"))
        if value is None or not 1 < value <= 100:
            reader.fail(inj.where, "value", "a surge needs its rate multiplier, more than 1 and at most 100 (e.g. 3)")
        return replace(inj, kec=kec, type=cell("type"), value=value)

    def play(self, ex: Exercise, inj: Inject) -> None:
        scale = np.full(len(ex.types.names), float(inj.value or 1.0) - 1.0)
        if inj.type:
            keep = np.asarray([n == inj.type for n in ex.types.names])
            scale = np.where(keep, scale, 0.0)
        end = min(inj.t_end, ex.horizon)
        rng = inject_stream(ex.seed, ex.rep, inj.number)
        extra = surge(ex.sc, ex.world, ex.types, ex.day.stream, inj.kec, ex.now, end, scale, rng)
        ex.add(inj, extra, on_site=True)
        kec = ex.world.kecamatan[inj.kec]
        ex.log("surge", type=inj.type, kecamatan=kec, value=inj.value, count=len(extra), inject=inj.number)
        if inj.t_end < ex.horizon:
            ex.at(inj.t_end, lambda: ex.log("surge_end", kecamatan=kec, inject=inj.number))

    def value_text(self, inj: Inject) -> str:
        return f"{inj.value:g}" if inj.value is not None else ""
