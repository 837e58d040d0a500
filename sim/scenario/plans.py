"""A scenario's plans: which ones a run uses, how each groups its TPS guards into clusters (its
pola pengamanan), and the personnel it needs against the forces available.

Counting personnel needs no world: the guard clusters follow from the TPS table and the plan
alone, so :func:`guard_clusters` is the one grouping both this count and the escort schedule
(:mod:`sim.guards`) use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.scenario.load import LoadedScenario
from sim.scenario.schema import TPS_CLASSES, Plan


@dataclass(frozen=True)
class GuardClusters:
    """A plan's static TPS guards, cluster by cluster."""

    cluster_of: np.ndarray  # cluster index of every TPS
    members: list[list[int]]  # the TPS of every cluster, in table order
    officers: np.ndarray  # officers of every cluster
    tps_class: np.ndarray  # index into TPS_CLASSES of every cluster


def guard_clusters(plan: Plan, tps_class: np.ndarray, tps_kec: np.ndarray, n_kecamatan: int) -> GuardClusters:
    """Group the TPS into guard clusters: per class (in TPS_CLASSES order) and kecamatan (in index
    order), the class's TPS in table order are cut into clusters of the rule's ``per_tps``.

    ``tps_class`` is each TPS's index into TPS_CLASSES, ``tps_kec`` its kecamatan index
    (0 .. n_kecamatan - 1); a TPS with neither is in no cluster.
    """
    cluster_of = np.zeros(len(tps_class), dtype=np.int64)
    members_of: list[list[int]] = []
    officers: list[int] = []
    classes: list[int] = []
    for ci, cls in enumerate(TPS_CLASSES):
        rule = plan.tps_guards[cls]  # type: ignore[index]
        for k in range(n_kecamatan):
            members = np.flatnonzero((tps_class == ci) & (tps_kec == k))
            for start in range(0, len(members), rule.per_tps):
                chunk = [int(x) for x in members[start : start + rule.per_tps]]
                cluster_of[chunk] = len(members_of)
                members_of.append(chunk)
                officers.append(rule.officers)
                classes.append(ci)
    return GuardClusters(
        cluster_of, members_of, np.asarray(officers, dtype=np.int64), np.asarray(classes, dtype=np.int64)
    )


UNIT_SECTIONS = ("patrols", "reserve", "tni_backup")  # a plan's lists of unit groups
DAY_DUTIES = ("tps_guards", "linmas_per_tps", *UNIT_SECTIONS)  # on duty on voting day
RECAP_DUTIES = (*UNIT_SECTIONS, "ppk_guards")  # on duty during the recap
DUTIES = ("tps_guards", *UNIT_SECTIONS, "ppk_guards", "linmas_per_tps")  # every duty personnel_by_duty counts


def personnel_by_duty(plan: Plan, tps: pd.DataFrame, n_ppk_sites: int) -> dict[tuple[str, str], int]:
    """Personnel of a plan per (duty, kind): the TPS guards (per cluster of the pola pengamanan,
    :func:`guard_clusters`), Linmas, each list of unit groups, and the PPK guards of the recap
    (``n_ppk_sites``: PPK venues and the KPU office). Duties are the plan's keys."""
    out: dict[tuple[str, str], int] = {}

    def add(duty: str, kind: str, n: int) -> None:
        out[duty, kind] = out.get((duty, kind), 0) + n

    tps_class = pd.Categorical(tps["class"], categories=TPS_CLASSES).codes
    tps_kec, kecamatan = pd.factorize(tps["kecamatan"])
    clusters = guard_clusters(plan, np.asarray(tps_class), tps_kec, len(kecamatan))
    per_class = np.bincount(clusters.tps_class, minlength=len(TPS_CLASSES))
    for cls, rule in plan.tps_guards.items():
        add("tps_guards", rule.kind, rule.officers * int(per_class[TPS_CLASSES.index(cls)]))
    add("linmas_per_tps", plan.linmas_kind, plan.linmas_per_tps * len(tps))
    for section in UNIT_SECTIONS:
        for group in getattr(plan, section):
            add(section, group.kind, group.units * group.crew)
    add("ppk_guards", plan.ppk_guards.kind, plan.ppk_guards.officers * n_ppk_sites)
    return out


def personnel_use(plan: Plan, tps: pd.DataFrame, n_ppk_sites: int) -> dict[str, int]:
    """Personnel a plan needs, per kind, at its peak.

    TPS guards stand down once their boxes reach the PPK, so the voting-day shift (TPS guards,
    Linmas, mobile units) and the recap shift (PPK guards, mobile units) are counted separately and
    the larger of the two is what the plan needs of each kind.
    """
    duties = personnel_by_duty(plan, tps, n_ppk_sites)
    kinds = sorted({kind for _, kind in duties})

    def shift(names: tuple[str, ...], kind: str) -> int:
        return sum(duties.get((d, kind), 0) for d in names)

    return {k: max(shift(DAY_DUTIES, k), shift(RECAP_DUTIES, k)) for k in kinds}


def check_personnel(sc: LoadedScenario, plan_names: list[str]) -> None:
    """Raise :class:`UserError` naming the plan, kind and shortfall if a plan over-allocates."""
    for name in plan_names:
        use = personnel_use(sc.spec.plans[name], sc.tps, len(sc.spec.sites.ppk) + 1)
        for kind, n in use.items():
            have = sc.spec.forces.get(kind, 0)
            if n > have:
                raise UserError(
                    str(sc.path), f"plans.{name}", f"needs {n} {kind} but forces.{kind} is {have} (short by {n - have})"
                )


def select_plans(sc: LoadedScenario, plans: str | None) -> list[str]:
    """Plan names from a comma list (all plans when None), checked against the scenario."""
    if not plans:
        return list(sc.spec.plans)
    names = [p.strip() for p in plans.split(",") if p.strip()]
    if not names:
        raise UserError("--plans", plans, f"names no plan; give comma-separated names of {', '.join(sc.spec.plans)}")
    for n in names:
        check_plan(sc, n)
    return names


def check_plan(sc: LoadedScenario, name: str, option: str = "--plans") -> None:
    """Refuse a plan name the scenario does not define, naming the option it came from."""
    if name not in sc.spec.plans:
        raise UserError(
            option, repr(name) if not name.strip() else name, f"unknown plan; valid: {', '.join(sc.spec.plans)}"
        )
