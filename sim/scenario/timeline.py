"""A scenario's phase windows resolved to model minutes from its epoch.

Scenario times are written as date-times, clock times on election day or ``H-1 08:00`` offsets
(:mod:`sim.timeparse`); here they become one :class:`Timeline` and are checked to come in order:
logistics, voting, then the PPK recap days and the KPU plenary, all before the horizon.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sim.errors import UserError
from sim.scenario.schema import Scenario
from sim.timeparse import MAX_WINDOW_DAYS, minutes_between, parse_clock, parse_when


@dataclass(frozen=True)
class Timeline:
    """Phase windows in model minutes from the epoch [min]."""

    logistics_start: float
    voting_start: float
    voting_end: float
    recap_windows: tuple[tuple[float, float], ...]
    plenary: tuple[float, float]
    horizon: float


def resolve_timeline(spec: Scenario, where: str) -> tuple[dt.datetime, Timeline]:
    """The epoch and the phase windows [min]; a :class:`UserError` naming the key when out of order."""
    day = spec.election_day

    def t(key: str, value: str) -> dt.datetime:
        try:
            return parse_when(value, day)
        except ValueError as exc:
            raise UserError(where, key, str(exc)) from None
        except OverflowError:
            raise UserError(where, key, f"'{value}' is out of the calendar's range") from None

    epoch = t("epoch", spec.epoch)

    def m(key: str, value: str) -> float:
        return minutes_between(epoch, t(key, value))

    ph = spec.phases
    horizon = m("horizon", spec.horizon)
    logistics = m("phases.logistics_start", ph.logistics_start)
    v0, v1 = m("phases.voting.start", ph.voting.start), m("phases.voting.end", ph.voting.end)
    r0 = t("phases.recap.start", ph.recap.start).date()
    r1 = t("phases.recap.end", ph.recap.end).date()
    try:
        d0, d1 = parse_clock(ph.recap.daily_start), parse_clock(ph.recap.daily_end)
    except ValueError as exc:
        raise UserError(where, "phases.recap.daily_start/daily_end", str(exc)) from None
    if r1 < r0 or d1 <= d0:
        raise UserError(where, "phases.recap", "end must not be before start, and daily_end after daily_start")
    if horizon > MAX_WINDOW_DAYS * 1440 or (r1 - r0).days > MAX_WINDOW_DAYS:
        raise UserError(
            where,
            "horizon",
            f"the scenario spans more than {MAX_WINDOW_DAYS} days from the epoch; an election operation is shorter",
        )
    recap = []
    day_i = r0
    while day_i <= r1:
        recap.append(
            (
                minutes_between(epoch, dt.datetime.combine(day_i, d0)),
                minutes_between(epoch, dt.datetime.combine(day_i, d1)),
            )
        )
        day_i += dt.timedelta(days=1)
    p0, p1 = m("phases.plenary.start", ph.plenary.start), m("phases.plenary.end", ph.plenary.end)
    order = [
        ("epoch", 0.0),
        ("phases.logistics_start", logistics),
        ("phases.voting.start", v0),
        ("phases.voting.end", v1),
        ("horizon", horizon),
    ]
    for (ka, a), (kb, b) in itertools.pairwise(order):
        if b < a or (b == a and kb != "phases.logistics_start"):
            raise UserError(where, kb, f"must come after {ka}")
    if recap[0][0] < v1 or recap[-1][1] > horizon:
        raise UserError(where, "phases.recap", "must lie between the end of voting and the horizon")
    if p1 <= p0 or p0 < v1 or p1 > horizon:
        raise UserError(where, "phases.plenary", "must end after it starts, between the end of voting and the horizon")
    return epoch, Timeline(logistics, v0, v1, tuple(recap), (p0, p1), horizon)
