"""Every KPI and incident predicate, defined once: records, statistics, reports and the exercise
review all read them from here (nothing else re-derives a KPI).

Incident predicates and measures (columns of ``incidents.csv``, all times in minutes):

- **dispatched**: reported to the dispatcher, i.e. not resolved on site by Linmas or a guard
  (``t_report`` is set). Only dispatched incidents enter response statistics.
- **reached**: dispatched, and a unit arrived before the horizon.
- **response_min** = ``t_arrive - t_report``. A dispatched incident never reached is **censored
  at the horizon**: ``horizon - t_report``, a lower bound on its true response. So a plan that
  fails to reach calls never looks better for it; ``reached_share`` is printed beside response
  statistics to show how many values are such lower bounds.
- **wait_min** = ``t_dispatch - t_report``, censored the same way if no unit was ever sent.
- **target_min**: the response target of the incident's kecamatan group for its priority (the
  priority at the end, after any escalation: a dispute that became a clash is judged as a clash).
- **within_target**: dispatched, reached, and ``response_min <= target_min``.

Percentiles: one definition everywhere, the inverted CDF (numpy ``method="inverted_cdf"``): the
smallest observed value with at least q% of the observations at or below it, so a percentile is
always a response that really happened (or a censored one). Two kinds are reported and named
apart, never both "p90":

- the **pooled p90** ("p90 gabungan"): over the incidents of all replications together, with a
  cluster-bootstrap interval (:func:`sim.stats.pooled_percentiles`); the headline figure;
- the **daily p90** ("p90 harian"): the p90 of one replication's incidents, a KPI per replication
  in ``kpis.csv``; its mean over replications is a different number from the pooled p90.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

PERCENTILE_METHOD: Literal["inverted_cdf"] = "inverted_cdf"
POOLED_QUANTILES = (50, 90, 95)
HEADLINE_QUANTILE = 90  # the pooled p90: the response figure the briefing leads with


def percentile(values: np.ndarray, q: float) -> float:
    """The q-th percentile (0-100) by the inverted-CDF definition; NaN for no values."""
    v = np.asarray(values, dtype=float)
    return float(np.percentile(v, q, method=PERCENTILE_METHOD)) if len(v) else float("nan")


def share(mask: np.ndarray) -> float:
    """Share of True in ``mask``; NaN when it is empty (no incident to judge)."""
    m = np.asarray(mask, dtype=bool)
    return float(m.mean()) if len(m) else float("nan")


@dataclass(frozen=True)
class Measures:
    """Per-incident predicates and measures of one run (arrays of one length, one per incident)."""

    dispatched: np.ndarray  # bool
    reached: np.ndarray  # bool
    response_min: np.ndarray  # censored at the horizon where not reached; NaN if not dispatched
    wait_min: np.ndarray  # censored at the horizon where never sent; NaN if not dispatched
    target_min: np.ndarray  # NaN if not dispatched
    within_target: np.ndarray  # bool


def measures(
    t_report: np.ndarray,
    t_dispatch: np.ndarray,
    t_arrive: np.ndarray,
    target_min: np.ndarray,
    horizon: float,
) -> Measures:
    """The predicates above from the raw times [min]; ``t_report`` is NaN for on-site resolutions."""
    dispatched = ~np.isnan(t_report)
    reached = dispatched & ~np.isnan(t_arrive)
    end = np.where(dispatched, horizon, np.nan)
    response = np.where(reached, t_arrive, end) - t_report
    wait = np.where(dispatched & ~np.isnan(t_dispatch), t_dispatch, end) - t_report
    target = np.where(dispatched, target_min, np.nan)
    within = reached & (response <= target)
    return Measures(dispatched, reached, response, wait, target, within)


# --- KPIs --------------------------------------------------------------------------------------

Unit = Literal["count", "min", "share", "h"]
Better = Literal["lower", "higher", "none"]


@dataclass(frozen=True)
class Day:
    """The facts of one replication (or of a group of incidents) that the KPIs are computed from.

    :func:`sim.records.kpis` builds it from the raw records; a group of saved incidents (a
    kecamatan, a TPS) has only the first two (:meth:`of_incidents`).
    """

    m: Measures
    priority: np.ndarray  # final priority per incident
    n_incidents: int = 0
    on_site: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # resolved on site
    open_at_end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # not cleared by the horizon
    escalated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    busy_min: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per unit assignment, to the horizon
    roles: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # per unit assignment
    busy_units: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # at each change
    unguarded_tps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # at each change
    n_units: int = 0

    @property
    def response(self) -> np.ndarray:
        return self.m.response_min[self.m.dispatched]

    @classmethod
    def of_incidents(cls, m: Measures, priority: np.ndarray) -> Day:
        return cls(m, np.asarray(priority), n_incidents=len(priority))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


@dataclass(frozen=True)
class Kpi:
    """A key performance indicator of one replication: its meaning, unit, labels, direction and
    formula (``of``: its value from the :class:`Day`). A KPI is added here, and only here."""

    key: str
    unit: Unit
    better: Better
    label_id: str
    label_en: str
    doc: str
    of: Callable[[Day], float | int] = field(repr=False, compare=False, default=lambda d: float("nan"))
    per_incident: bool = False  # computed from the incidents' measures alone (any group of incidents)

    @property
    def is_share(self) -> bool:
        return self.unit == "share"

    def label(self, lang: str) -> str:
        return self.label_id if lang == "id" else self.label_en


def _k(
    key: str,
    unit: Unit,
    better: Better,
    label_id: str,
    label_en: str,
    doc: str,
    of: Callable[[Day], float | int] | None = None,
    per_incident: bool = False,
) -> Kpi:
    if of is None:
        return Kpi(key, unit, better, label_id, label_en, doc)
    return Kpi(key, unit, better, label_id, label_en, doc, of, per_incident)


KPIS: dict[str, Kpi] = {
    k.key: k
    for k in (
        _k("incidents", "count", "none", "Kejadian", "Incidents", "incidents generated", lambda d: d.n_incidents),
        _k(
            "resolved_on_site",
            "count",
            "none",
            "Selesai di tempat",
            "Resolved on site",
            "incidents resolved by Linmas, TPS or PPK guards",
            lambda d: int(d.on_site.sum()),
        ),
        _k(
            "dispatched",
            "count",
            "none",
            "Perlu unit",
            "Needed a unit",
            "incidents reported to the dispatcher (not resolved on site)",
            lambda d: int(d.m.dispatched.sum()),
            per_incident=True,
        ),
        _k(
            "reached",
            "count",
            "none",
            "Didatangi",
            "Reached",
            "dispatched incidents a unit reached before the horizon",
            lambda d: int(d.m.reached.sum()),
            per_incident=True,
        ),
        _k(
            "reached_share",
            "share",
            "higher",
            "Proporsi didatangi",
            "Share reached",
            "share of dispatched incidents reached before the horizon",
            lambda d: share(d.m.reached[d.m.dispatched]),
            per_incident=True,
        ),
        _k(
            "response_mean_min",
            "min",
            "lower",
            "Rata-rata waktu tanggap",
            "Mean response time",
            "mean response over dispatched incidents, unreached censored at the horizon [min]",
            lambda d: _mean(d.response),
            per_incident=True,
        ),
        _k(
            "response_daily_p50_min",
            "min",
            "lower",
            "Median harian waktu tanggap",
            "Daily median response",
            "median response of this replication's dispatched incidents (inverted CDF, censored) [min]",
            lambda d: percentile(d.response, 50),
            per_incident=True,
        ),
        _k(
            "response_daily_p90_min",
            "min",
            "lower",
            "p90 harian waktu tanggap",
            "Daily p90 response",
            "90th percentile response of this replication's dispatched incidents (inverted CDF, censored) [min]",
            lambda d: percentile(d.response, 90),
            per_incident=True,
        ),
        _k(
            "within_target",
            "share",
            "higher",
            "Didatangi dalam target",
            "Reached within target",
            "share of dispatched incidents reached within the target for their kecamatan and priority",
            lambda d: share(d.m.within_target[d.m.dispatched]),
            per_incident=True,
        ),
        _k(
            "within_target_p1",
            "share",
            "higher",
            "Prioritas 1 dalam target",
            "Priority 1 within target",
            "the same share over dispatched priority-1 incidents (empty if there were none)",
            lambda d: share(d.m.within_target[d.m.dispatched & (d.priority == 1)]),
            per_incident=True,
        ),
        _k(
            "wait_mean_min",
            "min",
            "lower",
            "Rata-rata menunggu unit",
            "Mean wait for a unit",
            "mean wait for a free unit over dispatched incidents, never-sent censored at the horizon [min]",
            lambda d: _mean(d.m.wait_min[d.m.dispatched]),
            per_incident=True,
        ),
        _k(
            "waited_share",
            "share",
            "lower",
            "Proporsi yang menunggu",
            "Share that waited",
            "share of dispatched incidents that found no unit free (wait > 0)",
            lambda d: share(d.m.wait_min[d.m.dispatched] > 1e-9),
            per_incident=True,
        ),
        _k(
            "escalations",
            "count",
            "lower",
            "Eskalasi",
            "Escalations",
            "incidents that escalated",
            lambda d: int(d.escalated.sum()),
        ),
        _k(
            "open_at_end",
            "count",
            "lower",
            "Belum selesai di akhir",
            "Open at the end",
            "incidents not cleared by the horizon",
            lambda d: int(d.open_at_end.sum()),
        ),
        _k(
            "peak_busy_units",
            "count",
            "none",
            "Puncak unit sibuk",
            "Peak busy units",
            "largest number of units busy at once",
            lambda d: int(d.busy_units.max()) if len(d.busy_units) else 0,
        ),
        _k("units", "count", "none", "Unit bergerak", "Mobile units", "mobile units in the plan", lambda d: d.n_units),
        _k(
            "unit_busy_hours",
            "h",
            "none",
            "Jam sibuk unit",
            "Unit busy hours",
            "total hours units spent travelling to or working at incidents [h]",
            lambda d: float(sum(d.busy_min.tolist()) / 60.0),
        ),
        _k(
            "tni_dispatches",
            "count",
            "none",
            "Pengiriman TNI",
            "TNI dispatches",
            "times a TNI backup unit was sent",
            lambda d: int((d.roles == "tni").sum()),
        ),
        _k(
            "peak_unguarded_tps",
            "count",
            "lower",
            "Puncak TPS tanpa penjaga",
            "Peak unguarded TPS",
            "largest number of TPS unguarded at once",
            lambda d: int(d.unguarded_tps.max()) if len(d.unguarded_tps) else 0,
        ),
    )
}
SHARE_KPIS = tuple(k for k, v in KPIS.items() if v.is_share)

# Pooled percentiles are not per-replication KPIs (they are computed over all replications at
# once, sim.stats.pooled_percentiles), but comparisons and labels need them under a key too.
POOLED_KPIS: dict[str, Kpi] = {
    f"response_pooled_p{q}_min": _k(
        f"response_pooled_p{q}_min",
        "min",
        "lower",
        f"p{q} gabungan waktu tanggap",
        f"Pooled p{q} response",
        f"{q}th percentile response over the dispatched incidents of all replications together [min]",
    )
    for q in POOLED_QUANTILES
}


def kpi(key: str) -> Kpi:
    """The definition of a per-replication KPI or a pooled percentile, by key."""
    return KPIS[key] if key in KPIS else POOLED_KPIS[key]


def day_kpis(day: Day) -> dict[str, float | int]:
    """Every KPI of one replication, in :data:`KPIS` order."""
    return {k: v.of(day) for k, v in KPIS.items()}


def response_kpis(m: Measures, priority: np.ndarray) -> dict[str, float | int]:
    """The KPIs of any group of incidents (one replication's, a kecamatan's) from its measures."""
    day = Day.of_incidents(m, priority)
    return {k: v.of(day) for k, v in KPIS.items() if v.per_incident}
