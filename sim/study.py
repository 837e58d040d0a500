"""A study: what ``run``, ``compare`` and ``sweep`` do, for the command line and the Python API alike.

Two steps, one pipeline:

1. :func:`prepare` turns a loaded scenario and the options into a :class:`Study`, checking at
   the edge everything a user can get wrong: the ``--vary`` grid and each point's scenario (and
   the ``--reference`` point), the plans (and baseline), each plan's personnel against the forces
   at every point, positive replications, seed, batch size and workers, the precision share, and
   the expected size (refused unless ``force``). Each refusal is a :class:`~sim.errors.UserError`
   with the same words, whoever calls.
2. :func:`run_into_folder` runs it into a run folder (created, or resumed with ``resume``) on a
   backend, adds the derived tables (summaries, percentiles, the paired comparison with the
   baseline or, in a sweep, with the reference point, sites, targets) and finishes the folder
   with the provenance record (:mod:`sim.provenance`). :func:`run_in_memory` runs it in this
   process without a folder (what :func:`run_experiment` returns).

3. :func:`prepare_exercise` and :func:`play_exercise` do the same for an exercise: checked at the
   edge, played (replication 0 at the console, if asked), written as a run folder with the same
   provenance record; its words come from the report layer, as a run's do.

Nothing here prints: the command line words the results with :mod:`sim.report.printed`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim import metrics
from sim.backends import Backend, check_backend, make_backend
from sim.errors import UserError
from sim.exercise import Exercise, ExerciseResult, events_table, run_exercise
from sim.experiment import Job, Point, Results, batches, grid, run_local
from sim.injects import Inject, parse_span, read_injects
from sim.provenance import provenance
from sim.records import sites_table, targets_table
from sim.runfolder import REPORTS_DIR, RunFolder, Streamed, default_run_dir, sha256
from sim.runner import PRECISION_KPI, Outcome, Precision, execute
from sim.scenario import (
    MAX_MINUTES,
    MAX_REPLICATIONS,
    LoadedScenario,
    check_personnel,
    check_plan,
    load_scenario,
    select_plans,
)
from sim.scenario.boundaries import BOUNDARIES_TABLE, boundaries_table
from sim.size import check_size
from sim.stats import (
    paired_comparison,
    paired_point_comparison,
    paired_point_pooled_difference,
    paired_pooled_difference,
    pooled_percentiles,
    summarise,
)
from sim.timeparse import MAX_WINDOW_DAYS
from sim.world import World, check_world, world_for

COMMANDS = ("run", "compare", "sweep")
MAX_POINTS = 10_000  # sweep grid points
REFERENCES_LISTED = 12  # grid points a refused --reference lists as valid
PRECISION_CEILING = 1000  # replications with a precision target and no --reps


@dataclass(frozen=True)
class Study:
    """A checked experiment, ready to run: every field resolved, nothing left to default."""

    command: str  # "run", "compare" or "sweep"
    scenario: LoadedScenario  # as loaded, with the --set overrides (the base of a sweep)
    points: list[Point]  # the grid: one point without values unless a sweep
    scenarios: list[LoadedScenario]  # the resolved scenario of each point, in point order
    plans: list[str]  # the plans run, in output order (compare: the baseline first)
    baseline: str | None  # compare: the plan the others are compared with
    compared: list[str]  # compare: the plans compared with the baseline
    seed: int  # master seed
    replications: int  # per point and plan; the ceiling with a precision target
    batch_size: int  # replications per batch (saved as it finishes)
    precision: Precision | None  # stop early once the main KPI is this precise
    workers: int | None = None  # local worker processes (None: all cores)
    dask: str | None = None  # address of a Dask scheduler to run on instead
    reference: int | None = None  # sweep: the point the others are paired with (its index)

    @property
    def is_sweep(self) -> bool:
        return bool(self.points[0].values)

    def jobs(self) -> list[Job]:
        """One job per point: what a worker needs to run its batches."""
        return [Job(sc.digest(), sc, self.plans, self.seed) for sc in self.scenarios]

    def job_spec(self) -> dict[str, Any]:
        """What identifies the run in ``job.json``: a resume must ask for the same."""
        return {
            "command": self.command,
            "scenario_sha256": [sc.digest() for sc in self.scenarios],
            "plans": self.plans,
            "baseline": self.baseline,
            "seed": self.seed,
            "replications": self.replications,
            "batch_size": self.batch_size,
            "precision": self.precision.target if self.precision else None,
            "grid": [list(map(list, pt.values)) for pt in self.points],
        }


@dataclass
class StudyRun:
    """A study run into a finished folder."""

    folder: RunFolder  # the finished run folder
    outcome: Outcome  # results and, with a precision target, whether it was reached
    tables: dict[str, pd.DataFrame]  # the derived tables written, by file name (not the three large ones)
    backend: Backend  # where the batches ran (closed by now)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the finished batches are saved in ``folder``, to be resumed."""

    def __init__(self, folder: RunFolder) -> None:
        super().__init__(str(folder.path))
        self.folder = folder


# --- preparing ---------------------------------------------------------------------------------


def check_positive(name: str, value: float | None, minimum: float) -> None:
    """Refuse an option below ``minimum`` (None: not given, nothing to check)."""
    if value is not None and not value >= minimum:
        raise UserError(name, str(value), f"must be at least {minimum:g}")


def check_at_most(name: str, value: float | None, maximum: float) -> None:
    """Refuse an option above ``maximum`` (None: not given, nothing to check)."""
    if value is not None and value > maximum:
        raise UserError(name, str(value), f"must be at most {maximum:,g}")


def parse_vary(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``KEY.PATH=V1,V2,...`` items as (key, values) pairs."""
    out = []
    for item in items:
        key, eq, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not key.strip() or not vals:
            raise UserError("--vary", item, "expected KEY.PATH=V1,V2,... e.g. plans.mobile.patrols.0.units=1,2,3")
        out.append((key.strip(), vals))
    return out


def reference_point(points: list[Point], reference: str | None) -> int:
    """The index of the sweep point ``--reference`` names: one value per varied key, comma
    separated in ``--vary`` order (default: the first point of the grid)."""
    if reference is None:
        return points[0].index
    given = [v.strip() for v in reference.split(",")]
    for pt in points:
        if [v for _, v in pt.values] == given:
            return pt.index
    sep = ", " if len(points[0].values) == 1 else "; "
    valid = sep.join(",".join(v for _, v in pt.values) for pt in points[:REFERENCES_LISTED])
    if len(points) > REFERENCES_LISTED:
        valid += f"{sep}... ({len(points):,} points)"
    if len(points[0].values) == 1:
        raise UserError("--reference", reference, f"not a value of the grid; valid: {valid}")
    keys = ", ".join(k for k, _ in points[0].values)
    problem = f"not a point of the grid; give one value per key ({keys}); valid: {valid}"
    raise UserError("--reference", reference, problem)


def _point_scenarios(base: LoadedScenario, points: list[Point]) -> list[LoadedScenario]:
    scenarios = []
    for pt in points:
        try:
            sc = load_scenario(base.path, [*base.overrides, *pt.overrides]) if pt.values else base
        except UserError as err:
            raise UserError(
                "--vary", " ".join(pt.overrides), err.problem if err.key is None else f"{err.key}: {err.problem}"
            ) from None
        scenarios.append(sc)
    return scenarios


def _plan_names(sc: LoadedScenario, plans: str | Sequence[str] | None) -> list[str]:
    if plans is None or isinstance(plans, str):
        return select_plans(sc, plans)
    return select_plans(sc, ",".join(plans))


def prepare(
    scenario: LoadedScenario,
    command: str = "run",
    *,
    plans: str | Sequence[str] | None = None,
    baseline: str | None = None,
    vary: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    batch_size: int = 10,
    workers: int | None = None,
    dask: str | None = None,
    precision: float | None = None,
    reference: str | None = None,
    force: bool = False,
) -> Study:
    """Check everything and resolve the defaults; raise :class:`UserError` on the first problem.

    ``plans``: names, or a comma list (default: all; compare: all but the baseline). ``vary``: a
    sweep's ``KEY.PATH=V1,V2,...`` items. ``replications`` and ``seed`` default to the scenario's
    (with ``precision``, a share between 0 and 1, ``replications`` is the ceiling, default
    1000). ``reference``: a sweep's ``--reference`` (default: its first point). ``force`` runs
    even above the size limits.
    """
    if command not in COMMANDS:
        raise ValueError(f"command {command!r}: one of {', '.join(COMMANDS)}")
    if (command == "compare") != (baseline is not None) or (command == "sweep") != bool(vary):
        raise ValueError("a baseline goes with compare only, and --vary with sweep only (and each needs it)")
    if reference is not None and command != "sweep":
        raise ValueError("a reference point goes with sweep only")
    points = grid(parse_vary(vary)) if vary else [Point(0)]
    if len(points) > MAX_POINTS:
        raise UserError("--vary", None, f"{len(points)} grid points; keep it under {MAX_POINTS:,}")
    ref = reference_point(points, reference) if vary else None
    scenarios = _point_scenarios(scenario, points)

    compared: list[str] = []
    if baseline is not None:
        check_plan(scenario, baseline, "--baseline")
        compared = _plan_names(scenario, plans) if plans else [p for p in scenario.spec.plans if p != baseline]
        if not compared:  # `--plans` naming the baseline itself is allowed: a plan against itself is exactly 0
            raise UserError(
                "--baseline",
                baseline,
                f"the scenario has no other plan to compare it with; give --plans {baseline}"
                " to compare it with itself, or add a plan",
            )
        names = list(dict.fromkeys([baseline, *compared]))
    else:
        names = _plan_names(scenario, plans)
    for pt, sc in zip(points, scenarios, strict=True):
        try:
            check_world(sc)
            check_personnel(sc, names)
        except UserError as err:
            if not pt.values:
                raise
            detail = err.problem if err.key is None else f"{err.key}: {err.problem}"
            raise UserError("--vary", " ".join(pt.overrides), detail) from None

    reps = replications if replications is not None else scenario.spec.replications
    seed = seed if seed is not None else scenario.spec.seed
    check_positive("--reps", reps, 1)
    check_at_most("--reps", reps, MAX_REPLICATIONS)
    check_positive("--seed", seed, 0)
    check_positive("--batch", batch_size, 1)
    check_backend(workers, dask)  # --workers at least 1, or a --dask address; not both
    target = None
    if precision is not None:
        if not 0 < precision < 1:
            raise UserError("--precision", str(precision), "give a share between 0 and 1, e.g. 0.05 for 5%")
        target = Precision(precision)
        if replications is None:
            reps = PRECISION_CEILING
    check_size(scenarios, len(names), reps, force)
    return Study(
        command,
        scenario,
        points,
        scenarios,
        names,
        baseline,
        compared,
        seed,
        reps,
        batch_size,
        target,
        workers,
        dask,
        ref,
    )


# --- running -----------------------------------------------------------------------------------


def final_tables(study: Study, outcome: Outcome) -> dict[str, pd.DataFrame | Streamed]:
    """Every table of the finished folder, by file name: the four tables (the three large ones
    streamed from the batches), their summaries, the paired comparison (compare: with the
    baseline; sweep: with the reference point), sites, targets."""
    res, plans, points = outcome.results, study.plans, study.points
    drop = () if study.is_sweep else ("point",)
    tables: dict[str, pd.DataFrame | Streamed] = {
        f"{t}.csv": Streamed(t, tuple(outcome.batches), drop) for t in ("incidents", "units", "timeseries")
    }
    if study.is_sweep:
        keys = [k for k, _ in points[0].values]
        values = pd.DataFrame([[pt.index, *[v for _, v in pt.values]] for pt in points], columns=["point", *keys])
        tables["kpis.csv"] = values.merge(res.kpis, on="point", how="right")
        tables["summary.csv"] = values.merge(summarise(res.kpis, plans, by=["point"]), on="point")
        tables["percentiles.csv"] = values.merge(pooled_percentiles(res.incidents, plans, by=["point"]), on="point")
        tables["sweep_comparison.csv"] = values.merge(sweep_comparison(study, res), on="point")
    else:
        tables["kpis.csv"] = res.kpis
        tables["summary.csv"] = summarise(res.kpis, plans)
        tables["percentiles.csv"] = pooled_percentiles(res.incidents, plans)
    if study.baseline is not None:
        tables["comparison.csv"] = pd.concat(
            [
                paired_comparison(res.kpis, study.baseline, study.compared),
                paired_pooled_difference(res.incidents, study.baseline, study.compared, metrics.HEADLINE_QUANTILE),
            ],
            ignore_index=True,
        )
    world = world_for(study.scenario)
    tables["sites.csv"] = sites_table(study.scenario, world)
    tables["targets.csv"] = targets_table(study.scenario, world)
    if study.scenario.boundaries is not None:  # the map's outlines travel with the run folder
        tables[BOUNDARIES_TABLE] = boundaries_table(study.scenario.boundaries)
    return tables


def sweep_comparison(study: Study, res: Results) -> pd.DataFrame:
    """Every point minus the reference point, per plan and KPI, paired over replications: the
    replication means (Student t) and the pooled p90 (bootstrap), by point, plan, then KPI."""
    assert study.reference is not None
    points = [pt.index for pt in study.points]
    paired = pd.concat(
        [
            paired_point_comparison(res.kpis, study.reference, study.plans, points),
            paired_point_pooled_difference(
                res.incidents, study.reference, study.plans, points, metrics.HEADLINE_QUANTILE
            ),
        ],
        ignore_index=True,
    )
    order = {p: i for i, p in enumerate(study.plans)}
    by_row = paired.assign(_plan=paired["plan"].map(order)).sort_values(["point", "_plan"], kind="stable")
    return by_row.drop(columns="_plan").reset_index(drop=True)


Addendum = Callable[[Results], tuple[dict[str, pd.DataFrame], dict[str, Any]]]


def run_into_folder(
    study: Study,
    out: Path | None = None,
    *,
    resume: Path | None = None,
    argv: Sequence[str] | None = None,
    addendum: Addendum | None = None,
) -> StudyRun:
    """Run the study into a new folder ``out`` (default: under ``reports/``) or finish ``resume``.

    Raises :class:`Interrupted` on Ctrl-C, with the finished batches saved; a :class:`UserError`
    (also one raised in a batch) leaves no new folder behind and a resumed one as it was (see
    :mod:`sim.runfolder`). ``argv`` is recorded in the manifest as the command that made the folder.
    ``addendum`` (the optimizer's confirmation) turns the results into more tables and manifest
    keys, written and checksummed with the rest when the folder is finished.
    """
    # Before any folder: a --dask that does not answer leaves nothing behind. No more processes than
    # tasks: batches, each of them split by dispatch area when the batches are fewer than the CPUs.
    n_batches = len(batches(len(study.points), study.replications, study.batch_size))
    n_areas = world_for(study.scenario).n_areas if study.scenario.spec.regions else 1
    backend = make_backend(study.workers, study.dask, n_batches * n_areas)
    try:
        if resume is not None:
            folder = RunFolder.resume(resume, study.job_spec())
        else:
            stamp = dt.datetime.now().astimezone()
            folder = RunFolder.create(
                out or default_run_dir(REPORTS_DIR, study.scenario.name, study.seed, stamp), study.job_spec()
            )
    except BaseException:
        backend.close()
        raise
    with folder:  # locked to the end; a user error removes a folder created here (it would recur)
        try:
            outcome = execute(
                folder, study.jobs(), study.points, study.replications, study.batch_size, backend, study.precision
            )
        except KeyboardInterrupt:
            raise Interrupted(folder) from None
        finally:
            backend.close()
        tables = final_tables(study, outcome)
        record = manifest(study, outcome, backend, folder.started, argv)
        if addendum is not None:
            more_tables, more_keys = addendum(outcome.results)
            clash = sorted((set(more_tables) & set(tables)) | (set(more_keys) & set(record)))
            if clash:
                raise ValueError(f"the addendum would replace {clash}")
            tables, record = {**tables, **more_tables}, {**record, **more_keys}
        folder.finish(tables, record)
    derived = {name: df for name, df in tables.items() if isinstance(df, pd.DataFrame)}
    return StudyRun(folder, outcome, derived, backend)


def manifest(
    study: Study, outcome: Outcome, backend: Backend, started: str, argv: Sequence[str] | None = None
) -> dict[str, Any]:
    """The provenance record of a study's folder, with the experiment's own keys."""
    precision = None
    if study.precision is not None:
        precision = {
            "kpi": PRECISION_KPI,
            "target": study.precision.target,
            "reached": outcome.precision_reached,
            "achieved": outcome.precision_achieved,
            "ceiling": study.replications,
        }
    return provenance(
        study.scenario,
        study.command,
        argv=argv,
        seed=study.seed,
        replications=outcome.replications,
        plans=study.plans,
        started=started,
        grid=list(zip(study.points, study.scenarios, strict=True)),
        backend=backend,
        extra={
            "baseline": study.baseline,
            "reference_point": study.reference,
            "precision": precision,
            "batch_size": study.batch_size,
        },
    )


def run_in_memory(study: Study) -> Results:
    """Run the study in this process and return its tables (no folder, no precision target)."""
    if study.precision is not None:
        raise ValueError("a precision target needs a run folder: use run_into_folder")
    return run_local(study.jobs(), study.points, study.replications, study.batch_size)


def run_experiment(
    sc: LoadedScenario, plans: list[str], replications: int, seed: int, batch_size: int = 10, force: bool = False
) -> Results:
    """Run ``replications`` replications of every plan in this process (the Python API's entry point).

    Checked like ``pilkada-sim run``: an unknown or over-allocated plan, or a scenario expected to
    be too large (unless ``force``), raises the :class:`UserError` the command prints.
    """
    study = prepare(sc, plans=plans, replications=replications, seed=seed, batch_size=batch_size, force=force)
    return run_in_memory(study)


# --- exercises ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExercisePlan:
    """A checked exercise, ready to play: one plan, an events list, the options resolved."""

    scenario: LoadedScenario
    world: World
    plan: str
    events_file: Path
    injects: list[Inject]  # in time order, shifted
    seed: int
    replications: int
    background: bool  # random incidents besides the injects
    shift_min: float
    queue_alert: int  # a decision point when more than this many incidents wait
    step_min: float | None = None  # minutes per console step (None: no console)

    def job_spec(self) -> dict[str, Any]:
        """What identifies the exercise in ``job.json`` while its folder is being written."""
        return {
            "command": "exercise",
            "scenario_sha256": [self.scenario.digest()],
            "plans": [self.plan],
            "seed": self.seed,
            "replications": self.replications,
            "events_sha256": sha256(self.events_file),
        }


def prepare_exercise(
    sc: LoadedScenario,
    events: str | Path,
    *,
    plan: str | None = None,
    seed: int | None = None,
    replications: int = 1,
    background: bool = True,
    shift: str = "0",
    queue_alert: int = 3,
    step_min: float | None = None,
) -> ExercisePlan:
    """Check an exercise at the edge, as :func:`prepare` does a run: the plan and its personnel,
    the shift, positive options, the console step, the size (with the random background), and
    every inject of the events list (:func:`sim.injects.read_injects`)."""
    plan = plan or next(iter(sc.spec.plans))
    if plan not in sc.spec.plans:
        raise UserError("--plan", plan, f"unknown plan; valid: {', '.join(sc.spec.plans)}")
    check_world(sc)
    check_personnel(sc, [plan])
    try:
        shift_min = parse_span(shift)
    except ValueError as exc:
        raise UserError("--shift", None, str(exc)) from None
    if not abs(shift_min) <= MAX_MINUTES:
        window = f"the longest scenario window ({MAX_WINDOW_DAYS} days)"
        raise UserError("--shift", shift, f"moves the injects by more than {window}")
    seed = sc.spec.seed if seed is None else seed
    check_positive("--reps", replications, 1)
    check_at_most("--reps", replications, MAX_REPLICATIONS)
    check_positive("--seed", seed, 0)
    check_positive("--queue-alert", queue_alert, 0)
    if step_min is not None and not 1 <= step_min <= 1440:
        raise UserError("--step", str(step_min), "give the minutes per step, from 1 to 1440")
    if background:
        check_size([sc], 1, replications)
    world = world_for(sc)
    injects = read_injects(events, sc, world, plan, shift_min)
    return ExercisePlan(
        sc, world, plan, Path(events), injects, seed, replications, background, shift_min, queue_alert, step_min
    )


@dataclass
class PlayedExercise:
    """An exercise played into a finished folder."""

    folder: RunFolder
    result: ExerciseResult
    replications: int  # 1 if the console was quit early (the review covers what was played)


def play_exercise(
    ex: ExercisePlan,
    out: Path | None = None,
    *,
    console: Callable[[Exercise], bool] | None = None,
    argv: Sequence[str] | None = None,
) -> PlayedExercise:
    """Play the exercise into a new folder ``out`` (default: under ``reports/<scenario>/exercise/``).

    The folder is written once the exercise has been played (a console session that dies leaves
    nothing behind); an ``out`` that exists is refused before anything is played. ``console``
    plays replication 0 live (it returns False if the trainer quit early: then only that
    replication is kept); the other replications replay its injects as it played them. The
    folder is a run folder (:class:`RunFolder`: complete with its manifest, or not there): the
    exercise's language-free tables, ``sites.csv`` and ``targets.csv``, and the provenance record;
    its words are the report's (:func:`sim.report.build.make_report`).
    """
    sc = ex.scenario
    stamp = dt.datetime.now().astimezone()
    out = out or default_run_dir(REPORTS_DIR, sc.name, ex.seed, stamp, "exercise")
    RunFolder.check_new(out)  # refused before anything is played, not after
    started = stamp.isoformat(timespec="seconds")
    injects, reps, first, to_end = ex.injects, ex.replications, None, True
    if console is not None:
        first = Exercise(sc, ex.world, ex.plan, injects, ex.seed, 0, ex.background, ex.queue_alert)
        to_end = console(first)
        if not to_end:
            reps = 1  # stopped early: the review covers what was played
        injects = sorted(first.fired + [i for i in injects if i.t > first.now], key=lambda i: i.t)
    result = run_exercise(sc, ex.world, ex.plan, injects, ex.seed, reps, ex.background, ex.queue_alert, first)
    tables = {
        "timeline.csv": result.timeline,
        "decision_points.csv": result.decisions,
        "aar.csv": result.aar,
        "injects.csv": events_table(result.events, sc.epoch),
        "incidents.csv": result.incidents,
        "units.csv": result.units,
        "sites.csv": sites_table(sc, ex.world),
        "targets.csv": targets_table(sc, ex.world),
    }
    extra = {
        "exercise": {
            "plan": ex.plan,
            "events_file": {"path": str(ex.events_file), "sha256": sha256(ex.events_file)},
            "injects": len(result.events),
            "background": ex.background,
            "shift_min": ex.shift_min,
            "step_min": ex.step_min,
            "queue_alert": ex.queue_alert,
            "played_to_end": to_end,
        }
    }
    folder = RunFolder.create(out, ex.job_spec())
    try:
        record = provenance(
            sc, "exercise", argv=argv, seed=ex.seed, replications=reps, plans=[ex.plan], started=started, extra=extra
        )
        folder.finish(tables, record)
    except BaseException:
        folder.discard()
        raise
    return PlayedExercise(folder, result, reps)
