"""Experiments: replications of plans on common random numbers, in batches, on any backend.

Each replication's incident stream is generated once and replayed for every plan, so plans are
compared on the same day (common random numbers); every point of a sweep reuses the same
(seed, replication) keys, so it faces the same days too as long as the swept key does not change
the incidents themselves. A replication depends only on (scenario, seed, replication index), so
results do not depend on how replications are grouped into batches or spread over workers: rows
are always put together in (point, replication, plan) order.

The work unit is a :class:`Batch` of consecutive replications of one point. :func:`run_batch` is a
pure function of it, run in-process, in local worker processes or on a Dask cluster
(:mod:`sim.backends`); each worker builds the world of a scenario once and keeps it. What to run
and the checks before it are :mod:`sim.study`'s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from sim.generate import TypeTable, generate, type_table
from sim.model import RunRecords, run_plan
from sim.records import KPI_COLUMNS, incident_table, kpis, run_measures, timeseries_table, unit_table
from sim.scenario import LoadedScenario
from sim.world import World, world_for

TABLES = ("incidents", "units", "timeseries", "kpis")
# The columns of incidents.csv that the derived tables read (pooled percentiles, comparisons, the
# optimizer's confirmation): a run folder loads only these back from its batches.
ANALYSIS_COLUMNS = (
    "point",
    "replication",
    "plan",
    "kecamatan",
    "priority",
    "t_report",
    "response_min",
    "wait_min",
    "reached",
    "within_target",
)


@dataclass(frozen=True)
class Point:
    """One scenario variant of an experiment (a sweep point; a plain run has one, with no values)."""

    index: int
    values: tuple[tuple[str, str], ...] = ()  # (key path, value as given) pairs

    @property
    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.values]


@dataclass(frozen=True)
class Batch:
    """Replications ``first .. first + count - 1`` of one point."""

    point: int
    first: int
    count: int

    @property
    def name(self) -> str:
        return f"p{self.point:03d}-r{self.first:06d}"


@dataclass
class Job:
    """Everything a worker needs to run batches of one point (picklable)."""

    key: str  # identifies the resolved scenario (its digest): workers cache the world by it
    scenario: LoadedScenario
    plans: list[str]
    seed: int


_WORLDS: dict[str, tuple[World, TypeTable]] = {}


def world_of(job: Job) -> tuple[World, TypeTable]:
    """The world and incident-type table of a job's scenario, built once per process and kept by key."""
    if job.key not in _WORLDS:
        if len(_WORLDS) > 32:  # a sweep over many scenario variants: keep memory bounded
            _WORLDS.clear()
        world = world_for(job.scenario)
        _WORLDS[job.key] = (world, type_table(job.scenario, world))
    return _WORLDS[job.key]


def run_batch(job: Job, batch: Batch) -> dict[str, pd.DataFrame]:
    """All plans on replications of one batch: the four tables, rows in (replication, plan) order."""
    sc = job.scenario
    world, types = world_of(job)

    def days() -> Iterator[RunRecords]:
        for r in range(batch.first, batch.first + batch.count):
            stream = generate(sc, world, job.seed, r, types)
            for plan in job.plans:
                yield run_plan(sc, world, stream, plan)

    return batch_tables(job, batch, days())


def batch_tables(job: Job, batch: Batch, records: Iterable[RunRecords]) -> dict[str, pd.DataFrame]:
    """A batch's four tables from its days' records, given in (replication, plan) order."""
    sc = job.scenario
    world, _ = world_of(job)
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    rows = []
    for rec in records:
        m = run_measures(world, rec, sc.timeline.horizon)
        parts["incidents"].append(incident_table(sc, world, rec, m))
        parts["units"].append(unit_table(rec, sc.timeline.horizon))
        parts["timeseries"].append(timeseries_table(rec))
        rows.append(kpis(world, rec, sc.timeline.horizon, m))
    out = {t: pd.concat(parts[t], ignore_index=True) for t in ("incidents", "units", "timeseries")}
    out["kpis"] = pd.DataFrame(rows, columns=list(KPI_COLUMNS))
    for df in out.values():
        df.insert(0, "point", batch.point)
    return out


def batches(n_points: int, replications: int, size: int) -> list[Batch]:
    """The batches of an experiment, in output order."""
    return [
        Batch(p, first, min(size, replications - first))
        for p in range(n_points)
        for first in range(0, replications, size)
    ]


def grid(vary: list[tuple[str, list[str]]]) -> list[Point]:
    """Sweep points: the Cartesian product of the varied keys' values (first key slowest)."""
    if not vary:
        return [Point(0)]
    keys = [k for k, _ in vary]
    return [
        Point(i, tuple(zip(keys, combo, strict=True)))
        for i, combo in enumerate(itertools.product(*(vals for _, vals in vary)))
    ]


@dataclass
class Results:
    """Tables of an experiment, rows ordered by point, replication, then plan (in the order asked)."""

    incidents: pd.DataFrame
    units: pd.DataFrame
    timeseries: pd.DataFrame
    kpis: pd.DataFrame
    plans: list[str]
    replications: int
    seed: int
    points: list[Point] = field(default_factory=lambda: [Point(0)])

    @classmethod
    def from_batches(
        cls, parts: list[dict[str, pd.DataFrame]], plans: list[str], replications: int, seed: int, points: list[Point]
    ) -> Results:
        def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
            # An empty part (a day with no dispatch) has no dtypes to offer: leave it out, or the
            # numeric columns would turn into text.
            full = [f for f in frames if len(f)]
            return pd.concat(full or frames[:1], ignore_index=True)

        tables = {t: concat([p[t] for p in parts]) if parts and t in parts[0] else pd.DataFrame() for t in TABLES}
        if len(points) == 1 and not points[0].values:
            tables = {t: df.drop(columns="point", errors="ignore") for t, df in tables.items()}
        return cls(
            tables["incidents"],
            tables["units"],
            tables["timeseries"],
            tables["kpis"],
            plans,
            replications,
            seed,
            points,
        )


def run_local(jobs: list[Job], points: list[Point], replications: int, batch_size: int = 10) -> Results:
    """Every batch of ``jobs`` (one per point) in this process, no folder and no checks.

    The low-level runner under :func:`sim.study.run_in_memory`; call that (or
    :func:`sim.run_experiment`), which checks the plans, personnel and size first.
    """
    parts = [run_batch(jobs[b.point], b) for b in batches(len(points), replications, batch_size)]
    return Results.from_batches(parts, jobs[0].plans, replications, jobs[0].seed, points)
