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
    tps: np.ndarray  # the TPS of every cluster, cluster after cluster, each in table order
    starts: np.ndarray  # where each cluster's TPS begin in ``tps`` (and its length, last)
    officers: np.ndarray  # officers of every cluster
    tps_class: np.ndarray  # index into TPS_CLASSES of every cluster

    def members(self, c: int) -> list[int]:
        """The TPS of cluster ``c``, in table order."""
        return self.tps[self.starts[c] : self.starts[c + 1]].tolist()

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.starts)


def guard_clusters(plan: Plan, tps_class: np.ndarray, tps_kec: np.ndarray, n_kecamatan: int) -> GuardClusters:
    """Group the TPS into guard clusters: per class (in TPS_CLASSES order) and kecamatan (in index
    order), the class's TPS in table order are cut into clusters of the rule's ``per_tps``.

    ``tps_class`` is each TPS's index into TPS_CLASSES, ``tps_kec`` its kecamatan index
    (0 .. n_kecamatan - 1); a TPS with neither is in no cluster.
    """
    cluster_of = np.zeros(len(tps_class), dtype=np.int64)
    tps = np.flatnonzero((tps_class >= 0) & (tps_class < len(TPS_CLASSES)) & (tps_kec >= 0) & (tps_kec < n_kecamatan))
    tps = tps[np.lexsort((tps, tps_kec[tps], tps_class[tps]))]  # by class, kecamatan, then table order
    cls, kec = tps_class[tps], tps_kec[tps]
    rules = [plan.tps_guards[c] for c in TPS_CLASSES]  # type: ignore[index]
    per_tps = np.asarray([r.per_tps for r in rules], dtype=np.int64)[cls]
    group = np.r_[True, (cls[1:] != cls[:-1]) | (kec[1:] != kec[:-1])] if len(tps) else np.zeros(0, dtype=bool)
    first = np.flatnonzero(group)
    rank = np.arange(len(tps)) - np.repeat(first, np.diff(np.r_[first, len(tps)]))  # place in its group
    starts = np.flatnonzero(rank % per_tps == 0)  # where each cluster begins
    cluster_of[tps] = np.cumsum(rank % per_tps == 0) - 1
    classes = cls[starts].astype(np.int64)
    officers = np.asarray([r.officers for r in rules], dtype=np.int64)[classes]
    return GuardClusters(cluster_of, tps, np.r_[starts, len(tps)].astype(np.int64), officers, classes)


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
