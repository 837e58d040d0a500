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

from dataclasses import dataclass
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
class Kpi:
    """A key performance indicator of one replication: its meaning, unit, labels and direction."""

    key: str
    unit: Unit
    better: Better
    label_id: str
    label_en: str
    doc: str

    @property
    def is_share(self) -> bool:
        return self.unit == "share"

    def label(self, lang: str) -> str:
        return self.label_id if lang == "id" else self.label_en


def _k(key: str, unit: Unit, better: Better, label_id: str, label_en: str, doc: str) -> Kpi:
    return Kpi(key, unit, better, label_id, label_en, doc)


KPIS: dict[str, Kpi] = {
    k.key: k
    for k in (
        _k("incidents", "count", "none", "Kejadian", "Incidents", "incidents generated"),
        _k(
            "resolved_on_site",
            "count",
            "none",
            "Selesai di tempat",
            "Resolved on site",
            "incidents resolved by Linmas, TPS or PPK guards",
        ),
        _k(
            "dispatched",
            "count",
            "none",
            "Perlu unit",
            "Needed a unit",
            "incidents reported to the dispatcher (not resolved on site)",
        ),
        _k(
            "reached", "count", "none", "Didatangi", "Reached", "dispatched incidents a unit reached before the horizon"
        ),
        _k(
            "reached_share",
            "share",
            "higher",
            "Proporsi didatangi",
            "Share reached",
            "share of dispatched incidents reached before the horizon",
        ),
        _k(
            "response_mean_min",
            "min",
            "lower",
            "Rata-rata waktu tanggap",
            "Mean response time",
            "mean response over dispatched incidents, unreached censored at the horizon [min]",
        ),
        _k(
            "response_daily_p50_min",
            "min",
            "lower",
            "Median harian waktu tanggap",
            "Daily median response",
            "median response of this replication's dispatched incidents (inverted CDF, censored) [min]",
        ),
        _k(
            "response_daily_p90_min",
            "min",
            "lower",
            "p90 harian waktu tanggap",
            "Daily p90 response",
            "90th percentile response of this replication's dispatched incidents (inverted CDF, censored) [min]",
        ),
        _k(
            "within_target",
            "share",
            "higher",
            "Didatangi dalam target",
            "Reached within target",
            "share of dispatched incidents reached within the target for their kecamatan and priority",
        ),
        _k(
            "within_target_p1",
            "share",
            "higher",
            "Prioritas 1 dalam target",
            "Priority 1 within target",
            "the same share over dispatched priority-1 incidents (empty if there were none)",
        ),
        _k(
            "wait_mean_min",
            "min",
            "lower",
            "Rata-rata menunggu unit",
            "Mean wait for a unit",
            "mean wait for a free unit over dispatched incidents, never-sent censored at the horizon [min]",
        ),
        _k(
            "waited_share",
            "share",
            "lower",
            "Proporsi yang menunggu",
            "Share that waited",
            "share of dispatched incidents that found no unit free (wait > 0)",
        ),
        _k("escalations", "count", "lower", "Eskalasi", "Escalations", "incidents that escalated"),
        _k(
            "open_at_end",
            "count",
            "lower",
            "Belum selesai di akhir",
            "Open at the end",
            "incidents not cleared by the horizon",
        ),
        _k(
            "peak_busy_units",
            "count",
            "none",
            "Puncak unit sibuk",
            "Peak busy units",
            "largest number of units busy at once",
        ),
        _k("units", "count", "none", "Unit bergerak", "Mobile units", "mobile units in the plan"),
        _k(
            "unit_busy_hours",
            "h",
            "none",
            "Jam sibuk unit",
            "Unit busy hours",
            "total hours units spent travelling to or working at incidents [h]",
        ),
        _k("tni_dispatches", "count", "none", "Pengiriman TNI", "TNI dispatches", "times a TNI backup unit was sent"),
        _k(
            "peak_unguarded_tps",
            "count",
            "lower",
            "Puncak TPS tanpa penjaga",
            "Peak unguarded TPS",
            "largest number of TPS unguarded at once",
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


def response_kpis(m: Measures, priority: np.ndarray) -> dict[str, float | int]:
    """The response KPIs of one replication (or of any group of incidents) from its measures."""
    d = m.dispatched
    resp = m.response_min[d]
    p1 = d & (priority == 1)
    return {
        "dispatched": int(d.sum()),
        "reached": int(m.reached.sum()),
        "reached_share": share(m.reached[d]),
        "response_mean_min": float(resp.mean()) if len(resp) else float("nan"),
        "response_daily_p50_min": percentile(resp, 50),
        "response_daily_p90_min": percentile(resp, 90),
        "within_target": share(m.within_target[d]),
        "within_target_p1": share(m.within_target[p1]),
        "wait_mean_min": float(m.wait_min[d].mean()) if d.any() else float("nan"),
        "waited_share": share(m.wait_min[d] > 1e-9),
    }
