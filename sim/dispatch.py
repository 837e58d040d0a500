"""Dispatch policies: who is sent to an incident, and which queued incident a freed unit takes.

The dispatcher in :mod:`sim.model` applies the rules every policy shares, then asks the policy
to choose among the units (or incidents) the rules allow:

1. **Capable.** A unit may serve an incident if its role is one the incident type asks for.
2. **TNI backup.** TNI units are capable of incidents of priority <= ``dispatch.tni_max_priority``
   (types that do not list ``tni`` themselves), but only while no police unit is allowed to go
   (none free, reachable and within the hold-back below).
3. **Reachable.** A unit whose way to the site is cut (road closure) is not sent.
4. **Hold-back** (``dispatch.max_travel_min``). A free unit further away than that is not sent
   while the plan has an in-service capable unit *based* within reach of the site: the incident
   waits for that one instead. Which units are based within reach of a site does not change
   during a run; the model works it out once per (incident type, site).

A policy sees only units (or incidents) that passed these rules, so it cannot break them, and the
model stays work-conserving whatever the policy: an incident waits only while no free unit is
allowed to take it (see ``ElectionDay._available`` in :mod:`sim.model`).

The interface is small on purpose (a policy is a class found by name in :data:`POLICIES`; the
scenario's ``dispatch.policy`` is checked against it):

- ``allows(unit, inc)``: a policy's own eligibility rule on top of the shared ones (default: yes).
- ``choose_unit(inc, candidates)``: which of the allowed free units, given with their expected
  travel times [min], to send next. Default: the nearest (first in plan order on ties).
- ``choose_incident(unit, candidates)``: which of the allowed queued incidents, in queue order
  (priority, then report time), a freed unit takes. Default: the first, the most urgent.

A manual-dispatch policy for a live exercise page (players give the orders) fits the same seam:
its ``choose_*`` return what the player picked, or ``None`` to leave the incident queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sim.model import ElectionDay, Incident, Unit

Candidate = tuple["Unit", float]  # a free unit and its expected travel time to the site [min]


class Policy:
    """Nearest free capable unit by expected travel time; the queue in priority order."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    restricts: ClassVar[bool] = False  # True if ``allows`` can say no (the model then asks it)

    def __init__(self, day: ElectionDay) -> None:
        self.day = day

    def allows(self, unit: Unit, inc: Incident) -> bool:
        return True

    def choose_unit(self, inc: Incident, candidates: Sequence[Candidate]) -> Candidate:
        best = candidates[0]
        for c in candidates:
            if c[1] < best[1]:
                best = c
        return best

    def choose_incident(self, unit: Unit, candidates: Iterable[Incident]) -> Incident | None:
        return next(iter(candidates), None)


POLICIES: dict[str, type[Policy]] = {}


def register(cls: type[Policy]) -> type[Policy]:
    """Class decorator: make a policy available to scenarios under ``cls.name``."""
    if not cls.name or cls.name in POLICIES:
        raise ValueError(f"policy name missing or taken: {cls.name!r}")
    POLICIES[cls.name] = cls
    return cls


def policy_for(name: str, day: ElectionDay) -> Policy:
    return POLICIES[name](day)


@register
class Nearest(Policy):
    name = "nearest"
    summary = "the nearest free capable unit by expected travel time"


@register
class District(Policy):
    """Prefer a unit of the Polsek that covers the incident's kecamatan, nearest among those."""

    name = "district"
    summary = "a unit whose post covers the kecamatan first, nearest among them; else the nearest"

    def choose_unit(self, inc: Incident, candidates: Sequence[Candidate]) -> Candidate:
        local = [c for c in candidates if inc.kec in c[0].covers]
        return super().choose_unit(inc, local or candidates)


@register
class Cover(Policy):
    """Nearest, but a post's last free unit stays in its own area for priority-3 calls from elsewhere.

    The move-up idea of ambulance dispatch: a routine call outside a Polsek's area does not strip
    that area of its last free car; a nearer or a second unit takes it, or it waits. Priority 1
    and 2 calls are served as under ``nearest``.
    """

    name = "cover"
    summary = "nearest, but a post's last free unit does not leave its area for a priority-3 call"
    restricts = True
    ROUTINE_PRIORITY = 3  # calls of this priority or lower urgency may not take a post's last unit

    def allows(self, unit: Unit, inc: Incident) -> bool:
        if inc.priority < self.ROUTINE_PRIORITY or inc.kec in unit.covers:
            return True
        return self.day.free_at_post(unit) > 1
