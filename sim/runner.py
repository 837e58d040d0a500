"""Running an experiment into a run folder: batches on a backend, progress, precision, resume.

``execute`` is what ``run``, ``compare`` and ``sweep`` share. It runs the batches the folder does
not have yet, saves each as it finishes, and then reads back in (point, replication, plan) order
what the derived tables need (the KPIs and a few columns of the incidents), so the result is the
same whatever the backend, the number of workers or the interruptions. The full incident, unit
and time-series tables are never put together in memory: the folder writes them batch by batch
(:class:`sim.runfolder.Streamed`), so the parent holds a few columns per incident, not the
tables. Saved batches are checked against their checksums before they are reused: one that is
incomplete or differs is named on stderr (one line each), dropped and computed again.

With a precision target, replications of point 0 are added batch by batch until the main KPI's
confidence-interval half-width is within the target share of its mean for every plan (or the
ceiling is reached). The rule is checked at every batch boundary in order, so where it stops does
not depend on how many batches happened to finish at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from sim.backends import Backend
from sim.experiment import (
    ANALYSIS_COLUMNS,
    Batch,
    Job,
    Point,
    Results,
    area_groups,
    batch_tables,
    batches,
    day_from_areas,
    run_areas,
    world_of,
)
from sim.runfolder import RunFolder
from sim.stats import half_width_ratio

PRECISION_KPI = "response_mean_min"


@dataclass
class Precision:
    """Stop adding replications once the CI half-width of ``PRECISION_KPI`` is this share of its mean."""

    target: float  # relative half-width, e.g. 0.05
    min_replications: int = 10  # never judge the rule on fewer


@dataclass
class Outcome:
    """What an execution produced."""

    results: Results  # kpis, and the incidents' ANALYSIS_COLUMNS only (units, timeseries: empty)
    batches: list[Batch]  # the saved batches the results come from, in output order
    replications: int  # replications per point actually used (fewer than asked when precision stopped early)
    precision_reached: bool | None  # None when no precision target was set
    precision_achieved: float | None  # the worst plan's half-width share at the stop, None without a target


def _progress(total: int, done: int) -> Callable[[int], None]:
    """A progress bar on a terminal (replications done, rate, time left); silent otherwise."""
    if not sys.stderr.isatty():
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, unit="rep", desc="replications", file=sys.stderr, dynamic_ncols=True)
    return bar.update


def _meets(kpis: list[pd.DataFrame], plans: list[str], target: float) -> tuple[bool, float]:
    k = pd.concat(kpis, ignore_index=True)
    worst = max(half_width_ratio(k.loc[k["plan"] == p, PRECISION_KPI].to_numpy(dtype=float)) for p in plans)
    return worst <= target, worst


def execute(
    folder: RunFolder,
    jobs: list[Job],
    points: list[Point],
    replications: int,
    batch_size: int,
    backend: Backend,
    precision: Precision | None = None,
) -> Outcome:
    """Run what is missing, then assemble everything from the saved batches."""
    plan_batches = batches(len(points), replications, batch_size)
    for line in folder.drop_damaged([b.name for b in plan_batches]):
        sys.stderr.write(line + "\n")
    done = folder.done()
    todo = [b for b in plan_batches if b.name not in done]
    update = _progress(sum(b.count for b in plan_batches), sum(b.count for b in plan_batches if b.name in done))

    plans = jobs[0].plans
    stop_at: int | None = None  # number of leading batches to keep (precision mode)
    achieved: float | None = None
    rule = _PrecisionRule(folder, plan_batches, plans, precision) if precision is not None else None
    if rule is not None:
        stop_at = rule.stop_at(done)

    if stop_at is None and todo:
        tasks = [(jobs[b.point], b) for b in todo]
        for i, _ in _by_area(backend, tasks, folder) if _splits(backend, tasks) else backend.run(tasks, folder.path):
            batch = todo[i]  # saved in the run folder by now
            done.add(batch.name)
            update(batch.count)
            if rule is not None:
                stop_at = rule.stop_at(done)
                if stop_at is not None:
                    break

    used = plan_batches[:stop_at] if stop_at is not None else plan_batches
    kecamatan = [v.kecamatan for v in jobs[0].scenario.spec.sites.ppk]
    results = Results.from_batches(
        [_analysis_part(folder.load_batch(b, ["incidents", "kpis"], ANALYSIS), plans, kecamatan) for b in used],
        plans,
        sum(b.count for b in used) // max(1, len(points)),
        jobs[0].seed,
        points,
    )
    if rule is not None:
        achieved = rule.worst
    reached = None if precision is None else bool(achieved is not None and achieved <= precision.target)
    return Outcome(results, used, results.replications, reached, achieved)


AREA_TASKS_PER_WORKER = 2  # a day split by area: tasks per worker (the areas differ in size)


def _splits(backend: Backend, tasks: list[tuple[Job, Batch]]) -> bool:
    """Split each day by dispatch area when the batches are too few to keep every worker busy and
    the scenario has several areas (a province's or the country's few replications)."""
    return backend.workers > 1 and len(tasks) < backend.workers and world_of(tasks[0][0])[0].n_areas > 1


def _by_area(backend: Backend, tasks: list[tuple[Job, Batch]], folder: RunFolder) -> Iterator[tuple[int, None]]:
    """Batches run day by day, each day's area groups as tasks on the backend (:func:`run_areas`),
    the day put together and the batch saved here: the records are those of the whole day as one
    task (:func:`day_from_areas`). The world is built here first, so forked workers share it."""
    for i, (job, batch) in enumerate(tasks):
        groups = area_groups(world_of(job)[0], AREA_TASKS_PER_WORKER * backend.workers)
        reps = range(batch.first, batch.first + batch.count)
        calls = [(job, r, g) for r in reps for g in groups]
        runs = dict(backend.map(run_areas, calls))
        k = len(groups)
        days = (rec for n in range(len(reps)) for rec in day_from_areas(job, [runs[n * k + g] for g in range(k)]))
        folder.save_batch(batch, batch_tables(job, batch, days))
        yield i, None


ANALYSIS = {"incidents": list(ANALYSIS_COLUMNS)}


def _analysis_part(part: dict[str, pd.DataFrame], plans: list[str], kecamatan: list[str]) -> dict[str, pd.DataFrame]:
    """What the parent keeps of a batch's incidents: the analysis columns of the dispatched ones (the
    derived tables read no other), plus the first incident of each replication (which replications
    had incidents is what the bootstrap resamples), with the text as categories (the same in every
    batch, so they stay categories when put together)."""
    inc = part["incidents"]
    keep = inc["response_min"].notna().to_numpy() | ~inc.duplicated(["point", "replication"]).to_numpy()
    inc = part["incidents"] = inc[keep].reset_index(drop=True)
    inc["plan"] = pd.Categorical(inc["plan"], categories=list(dict.fromkeys(plans)))
    inc["kecamatan"] = pd.Categorical(inc["kecamatan"], categories=kecamatan)
    return part


class _PrecisionRule:
    """Checks batch boundaries in order; a boundary that failed once is never checked again."""

    def __init__(self, folder: RunFolder, plan_batches: list[Batch], plans: list[str], precision: Precision) -> None:
        self.folder, self.plan_batches, self.plans, self.precision = folder, plan_batches, plans, precision
        self.kpis: list[pd.DataFrame] = []
        self.reps = 0
        self.worst: float | None = None

    def stop_at(self, done: set[str]) -> int | None:
        """Number of leading batches to keep, once known (the ceiling if the rule never holds)."""
        while len(self.kpis) < len(self.plan_batches):
            b = self.plan_batches[len(self.kpis)]
            if b.name not in done:
                return None
            # Read back from the saved batch (full precision), as the final tables will be.
            self.kpis.append(self.folder.load_batch(b, ["kpis"])["kpis"])
            self.reps += b.count
            if self.reps >= self.precision.min_replications:
                ok, self.worst = _meets(self.kpis, self.plans, self.precision.target)
                if ok:
                    return len(self.kpis)
        return len(self.plan_batches)
