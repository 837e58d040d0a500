"""``pilkada-sim``: a thin command line over the Python API.

Every user mistake ends as one line on stderr naming the file, the key (and row) and what would
be valid, with exit code 2 and nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.errors import UserError
from sim.report.build import make_report, parse_formats
from sim.report.printed import (
    ci_table,
    exercise_line,
    precision_line,
    summary_table,
    sweep_table,
    validation_text,
    verdict_table,
)
from sim.runfolder import default_dir_text
from sim.runner import PRECISION_KPI
from sim.scenario import check_personnel, load_scenario
from sim.study import Exercise, Interrupted, play_exercise, prepare, prepare_exercise, run_into_folder
from sim.version import __version__

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: {message} (see --help)\n")
        raise SystemExit(2)


def get_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pilkada-sim", description="Election-day security simulator (Pilkada, Kutai Timur).")
    p.add_argument("--version", action="version", version=f"pilkada-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def scenario_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", help="scenario YAML file")
        sp.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY.PATH=VALUE",
            help="override a scalar in the scenario (repeatable)",
        )

    def experiment_args(sp: argparse.ArgumentParser, plans_help: str) -> None:
        scenario_args(sp)
        sp.add_argument("--plans", help=plans_help)
        sp.add_argument("--reps", type=int, help="replications (default: the scenario's); the ceiling with --precision")
        sp.add_argument("--seed", type=int, help="master seed (default: the scenario's)")
        sp.add_argument("--out", type=Path, help=f"run folder (default: {default_dir_text('run')})")
        sp.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="local worker processes (default: all CPUs; never more than the CPUs available or the batches)",
        )
        sp.add_argument(
            "--dask",
            metavar="ADDRESS",
            help="run on the Dask scheduler at ADDRESS (tcp://HOST:PORT) instead of --workers",
        )
        sp.add_argument("--batch", type=int, default=10, help="replications per batch (saved as it finishes)")
        sp.add_argument("--resume", type=Path, metavar="DIR", help="finish an interrupted run in DIR")
        sp.add_argument("--quiet", action="store_true", help="print only the run folder")
        sp.add_argument("--no-report", action="store_true", help="skip the charts and briefing documents")
        sp.add_argument("--lang", default="id", choices=["id", "en"], help="language of the report (default id)")
        sp.add_argument(
            "--force",
            action="store_true",
            help="run even when the expected incident count is above the limits (memory and time)",
        )

    v = sub.add_parser("validate", help="check a scenario and show each plan's personnel against the forces")
    scenario_args(v)

    r = sub.add_parser("run", help="run plans over replications and write a run folder")
    experiment_args(r, "comma-separated plan names (default: all)")
    r.add_argument(
        "--precision",
        type=float,
        metavar="SHARE",
        help=f"add replications until the CI half-width of {PRECISION_KPI} is within SHARE of its mean",
    )

    c = sub.add_parser("compare", help="paired comparison of plans against a baseline (common random numbers)")
    experiment_args(c, "comma-separated plans to compare with the baseline (default: all others)")
    c.add_argument("--baseline", required=True, help="the plan the others are compared with")
    c.add_argument("--precision", type=float, metavar="SHARE", help="as for run")

    s = sub.add_parser("sweep", help="run a grid of values of scenario keys (every point on the same streams)")
    experiment_args(s, "comma-separated plan names (default: all)")
    s.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="KEY.PATH=V1,V2,...",
        help="a key and its values (repeatable: the grid is every combination)",
    )
    s.add_argument(
        "--reference",
        metavar="V1[,V2,...]",
        help="the point every other is paired with: its value of each --vary key, comma separated in --vary order "
        "(default: the first point of the grid)",
    )

    rp = sub.add_parser("report", help="charts, briefing (HTML, PDF, PPTX) and Excel workbook of a finished run")
    rp.add_argument("run_dir", type=Path, help="a finished run folder")
    rp.add_argument("--lang", default="id", choices=["id", "en"], help="Bahasa Indonesia (default) or English")
    rp.add_argument("--formats", help="comma-separated: html,pdf,pptx,xlsx (default: all)")
    rp.add_argument("--quiet", action="store_true", help="print nothing but errors")

    e = sub.add_parser(
        "exercise", help="play an exercise: scripted injects on a plan, with timeline and after-action review"
    )
    scenario_args(e)
    e.add_argument("--injects", required=True, type=Path, metavar="FILE", help="events list (CSV or YAML)")
    e.add_argument("--plan", help="the plan to exercise (default: the scenario's first)")
    e.add_argument(
        "--background", choices=["on", "off"], default="on", help="random incidents besides the injects (default on)"
    )
    e.add_argument("--shift", default="0", metavar="SPAN", help="move every inject by SPAN, e.g. +30min, -1h, +01:30")
    e.add_argument("--seed", type=int, help="master seed (default: the scenario's)")
    e.add_argument("--reps", type=int, default=1, help="replications for the after-action review (default 1)")
    e.add_argument("--step", type=float, metavar="MIN", help="step-through console: MIN simulated minutes per step")
    e.add_argument("--queue-alert", type=int, default=3, metavar="N", help="decision point when more than N wait")
    e.add_argument("--out", type=Path, help=f"exercise folder (default: {default_dir_text('exercise')})")
    e.add_argument("--lang", default="id", choices=["id", "en"], help="language of the log and summary (default id)")
    e.add_argument("--quiet", action="store_true", help="print only the exercise folder")

    o = sub.add_parser(
        "optimize", help="staffing search: the smallest force that meets the targets, or the best use of a fixed one"
    )
    scenario_args(o)
    o.add_argument("--from-plan", help="the plan to start from (default: optimize.from_plan, else the first plan)")
    goal = o.add_mutually_exclusive_group()
    goal.add_argument("--min-force", dest="mode", action="store_const", const="min_force", help="fewest personnel")
    goal.add_argument(
        "--fixed-force", dest="mode", action="store_const", const="fixed_force", help="best objective within forces"
    )
    o.add_argument("--objective", help="fixed force: what to minimise, e.g. missed_groups (default: the block's)")
    o.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="KPI>=SHARE",
        help="a target every group must meet, e.g. within_target_p1>=0.9 (repeatable; replaces the block's)",
    )
    o.add_argument(
        "--move",
        action="append",
        default=[],
        metavar="KEY=MIN..MAX[/STEP]",
        help="a plan key the search may change, e.g. patrols[*].units=1..4 (repeatable; replaces the block's)",
    )
    o.add_argument("--budget-reps", type=int, help="candidate-replications the search may spend")
    o.add_argument("--seed", type=int, help="search seed (default: the scenario's)")
    o.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all CPUs)")
    o.add_argument("--dask", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS instead of --workers")
    o.add_argument("--out", type=Path, help=f"optimization folder (default: {default_dir_text('optimize')})")
    o.add_argument("--resume", type=Path, metavar="DIR", help="continue an interrupted search in DIR")
    o.add_argument("--no-report", action="store_true", help="skip the confirmation's charts and briefing")
    o.add_argument("--lang", default="id", choices=["id", "en"], help="language of the briefing (default id)")
    o.add_argument("--quiet", action="store_true", help="print only the optimization folder")

    sub.add_parser("scenarios", help="list the bundled scenarios")

    sy = sub.add_parser(
        "synth", help="write a synthetic scenario: many kabupaten built from Kutai Timur's building blocks"
    )
    sy.add_argument("--tps", type=int, required=True, metavar="N", help="TPS in all (from --regions to 1,000,000)")
    sy.add_argument("--regions", type=int, default=1, metavar="R", help="kabupaten, each with a Polres (default 1)")
    sy.add_argument("--seed", type=int, default=1, help="random seed (default 1): same arguments, same bytes")
    sy.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new or empty folder for the files")
    sy.add_argument("--name", help="scenario name, the files' stem (default: the --out folder's name)")
    return p


# --- validate, scenarios -----------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from sim.world import build_world

    sc = load_scenario(args.scenario, args.overrides)
    build_world(sc)  # sim.world.check_world, as run checks it, then every leg: refused before "is valid"
    print(validation_text(sc))
    sys.stdout.flush()
    check_personnel(sc, list(sc.spec.plans))  # the table is out; now the first over-allocated plan
    return 0


def _scenarios(_: argparse.Namespace) -> int:
    exercises = SCENARIO_DIR / "exercises"
    for path in sorted(p for p in SCENARIO_DIR.rglob("*.yaml") if not p.is_relative_to(exercises)):
        try:
            sc = load_scenario(path)
            print(
                f"{path.relative_to(SCENARIO_DIR.parent)}: {sc.spec.title or sc.name} "
                f"({len(sc.tps)} TPS; plans: {', '.join(sc.spec.plans)})"
            )
        except UserError as err:
            print(f"{path.relative_to(SCENARIO_DIR.parent)}: INVALID: {err}")
    for path in sorted(p for p in exercises.glob("*") if p.suffix.lower() in (".csv", ".yaml", ".yml")):
        print(f"{path.relative_to(SCENARIO_DIR.parent)}: exercise events list (pilkada-sim exercise ... --injects)")
    return 0


# --- experiments and exercises ---------------------------------------------------------------


def _experiment(args: argparse.Namespace) -> int:
    study = prepare(
        load_scenario(args.scenario, args.overrides),
        args.command,
        plans=args.plans,
        baseline=getattr(args, "baseline", None),
        vary=getattr(args, "vary", None) or (),
        replications=args.reps,
        seed=args.seed,
        batch_size=args.batch,
        workers=args.workers,
        dask=args.dask,
        precision=getattr(args, "precision", None),
        reference=getattr(args, "reference", None),
        force=args.force,
    )
    try:
        done = run_into_folder(study, args.out, resume=args.resume, argv=args.argv)
    except Interrupted as stop:
        path = stop.folder.path
        sys.stderr.write(
            f"interrupted: {len(stop.folder.done())} finished batches are saved in {path}; "
            f"finish with the same command and --resume {path}\n"
        )
        return 130
    tables, path = done.tables, done.folder.path
    if not args.quiet:
        if study.is_sweep:
            assert study.reference is not None
            print(
                sweep_table(
                    tables["summary.csv"], tables["sweep_comparison.csv"], study.points, study.plans, study.reference
                )
            )
        else:
            print(summary_table(done.outcome.results.kpis, study.plans))
            print(ci_table(tables["summary.csv"], tables["percentiles.csv"], study.plans))
        if study.baseline is not None:
            print(verdict_table(tables["comparison.csv"], study.baseline, study.compared, study.scenario))
        if study.precision is not None:
            print(precision_line(done.outcome, study.precision))
    print(f"run folder: {path}")
    if not args.no_report:
        written = make_report(path, args.lang)
        names = ", ".join(p.name for p in written if p.parent == path)
        print(f"report: {len(written)} files ({names}, charts/) in {path}")
    return 0


def _exercise(args: argparse.Namespace) -> int:
    from sim.console import Console, stdin_reader

    sc = load_scenario(args.scenario, args.overrides)
    ex = prepare_exercise(
        sc,
        args.injects,
        plan=args.plan,
        seed=args.seed,
        replications=args.reps,
        background=args.background == "on",
        shift=args.shift,
        queue_alert=args.queue_alert,
        step_min=args.step,
    )
    console = None
    if args.step is not None:

        def console(first: Exercise) -> bool:
            return Console(first, args.step, sys.stdout, sys.stdin.isatty(), args.lang).run(stdin_reader(sys.stdin))

    played = play_exercise(ex, args.out, console=console, argv=args.argv)
    folder = played.folder.path
    written = make_report(folder, args.lang)
    if not args.quiet:
        print(exercise_line(played.result, ex.plan, ex.seed, played.replications))
        print(f"report: {', '.join(str(p.relative_to(folder)) for p in written)}")
    print(f"exercise folder: {folder}")
    return 0


def _optimize(args: argparse.Namespace) -> int:
    from sim.optimize import prepare_optimize, run_optimization
    from sim.report.printed import optimization_text

    opt = prepare_optimize(
        load_scenario(args.scenario, args.overrides),
        from_plan=args.from_plan,
        mode=args.mode,
        objective=args.objective,
        constraints=args.constraint,
        moves=args.move,
        budget_reps=args.budget_reps,
        seed=args.seed,
        workers=args.workers,
        dask=args.dask,
    )
    try:
        done = run_optimization(opt, args.out, resume=args.resume, argv=args.argv)
    except Interrupted as stop:
        path = stop.folder.path
        sys.stderr.write(
            f"interrupted: the evaluations so far are saved in {path}; "
            f"continue with the same command and --resume {path}\n"
        )
        return 130
    if not args.quiet:
        print(optimization_text(opt, done))
    if done.confirmation is not None and not args.no_report:
        written = make_report(done.confirmation, args.lang)
        print(f"report: {len(written)} files in {done.confirmation}")
    print(f"optimization folder: {done.folder}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from sim.synth import write_synthetic

    print(write_synthetic(args.tps, args.regions, args.seed, args.out, args.name).line())
    return 0


def _report(args: argparse.Namespace) -> int:
    written = make_report(args.run_dir, args.lang, parse_formats(args.formats))
    if not args.quiet:
        for p in written:
            print(p)
    return 0


COMMANDS = {
    "validate": _validate,
    "run": _experiment,
    "compare": _experiment,
    "sweep": _experiment,
    "report": _report,
    "exercise": _exercise,
    "optimize": _optimize,
    "scenarios": _scenarios,
    "synth": _synth,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = get_parser().parse_args(argv)
    args.argv = argv
    try:
        return COMMANDS[args.command](args)
    except UserError as err:
        sys.stderr.write(err.line() + "\n")
        return 2
    except BrokenPipeError:  # e.g. `pilkada-sim validate ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
