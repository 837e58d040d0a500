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
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sim.generate import TypeTable, generate, joined, type_table
from sim.guards import guard_schedule, merged
from sim.model import RunRecords, area_index, area_records, merge_records, run_plan
from sim.records import run_tables
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
    world, _ = world_of(job)
    out = run_tables(job.scenario, world, records)
    for df in out.values():
        df.insert(0, "point", batch.point)
    return out


# --- a day split by dispatch area --------------------------------------------------------------
# A replication of a many-area scenario (a province, the country) is one batch's worth of work too
# big for one worker: its areas run as separate tasks (``run_areas``), each drawing and running only
# its own areas, and the day is put together again (``day_from_areas``) into the records the whole
# day gives as one model (tests/test_partitions.py).

AreaRun = tuple[int, RunRecords]  # (area, its records, under its group's guard schedule)


def area_groups(world: World, n: int) -> list[list[int]]:
    """The dispatch areas in at most ``n`` groups of about equal work (by sites), each ascending:
    the largest area first into the lightest group."""
    sizes = [len(nodes) for nodes in world.area_nodes()]
    groups: list[list[int]] = [[] for _ in range(min(n, len(sizes)))]
    load = [0] * len(groups)
    for a in sorted(range(len(sizes)), key=lambda a: (-sizes[a], a)):
        k = load.index(min(load))
        groups[k].append(a)
        load[k] += sizes[a]
    return [sorted(g) for g in groups if g]


def run_areas(job: Job, replication: int, areas: list[int]) -> dict[str, list[AreaRun]]:
    """Every plan on dispatch ``areas`` of one replication: per plan, each area's records, under
    the guard schedule of those areas' TPS only (the day's TPS times and that schedule are shared
    by the areas' records, so they are sent back once)."""
    sc = job.scenario
    world, types = world_of(job)
    stream = generate(sc, world, job.seed, replication, types, areas)
    nodes = np.concatenate([world.area_nodes()[a] for a in areas])
    tps = nodes[nodes < world.n_tps]
    out = {}
    for plan in job.plans:
        guards = guard_schedule(world, sc.spec.plans[plan], stream.count_end, sc.timeline.logistics_start, tps)
        out[plan] = list(zip(areas, area_records(sc, world, stream, plan, areas, guards), strict=True))
    return out


def day_from_areas(job: Job, runs: list[dict[str, list[AreaRun]]]) -> Iterator[RunRecords]:
    """A replication's records, plan by plan, from the runs of its area groups: the whole day's."""
    world, _ = world_of(job)
    for plan in job.plans:
        parts = sorted((pair for run in runs for pair in run[plan]), key=lambda pair: pair[0])
        whole = joined([rec.stream for _, rec in parts])
        schedules = list({id(rec.guards): rec.guards for _, rec in parts}.values())  # one per group
        records = [rec for _, rec in parts]
        records[0] = replace(records[0], guards=merged(schedules, whole.count_end))  # the day's, for the merge
        index = area_index(world, whole, [a for a, _ in parts])
        yield merge_records(whole, list(zip(index, records, strict=True)))


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
