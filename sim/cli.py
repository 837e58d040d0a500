"""``pilkada-sim``: a thin command line over the Python API.

Every user mistake ends as one line on stderr naming the file, the key (and row) and what would
be valid, with exit code 2 and nothing written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import metrics
from sim.backends import make_backend
from sim.errors import UserError
from sim.experiment import Job, Point, Results, grid
from sim.records import sites_table, targets_table
from sim.report.build import make_report, parse_formats
from sim.runfolder import RunFolder, default_run_dir, safe_name
from sim.runner import PRECISION_KPI, Outcome, Precision, execute
from sim.scenario import (
    LoadedScenario,
    check_personnel,
    check_size,
    load_scenario,
    personnel_use,
    select_plans,
)
from sim.stats import paired_comparison, paired_pooled_difference, pooled_percentiles, summarise
from sim.world import build_world

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
REPORTS_DIR = Path("reports")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: {message} (see --help)\n")
        raise SystemExit(2)


def get_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pilkada-sim", description="Election-day security simulator (Pilkada, Kutai Timur).")
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
        sp.add_argument("--out", type=Path, help="run folder (default: reports/<scenario>/<run-id>/)")
        sp.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
        sp.add_argument("--dask", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS instead")
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

    rp = sub.add_parser("report", help="charts, briefing (HTML, PDF, PPTX) and Excel workbook of a finished run")
    rp.add_argument("run_dir", type=Path, help="a finished run folder")
    rp.add_argument("--lang", default="id", choices=["id", "en"], help="Bahasa Indonesia (default) or English")
    rp.add_argument("--formats", help="comma-separated: html,pdf,pptx,xlsx (default: all)")

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
    e.add_argument("--out", type=Path, help="exercise folder (default: reports/<scenario>/exercise-<time>-seed<seed>/)")
    e.add_argument("--lang", default="id", choices=["id", "en"], help="language of the log and summary (default id)")
    e.add_argument("--quiet", action="store_true", help="print only the exercise folder")

    sub.add_parser("scenarios", help="list the bundled scenarios")
    return p


# --- validate, scenarios -----------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    sc = load_scenario(args.scenario, args.overrides)
    n_sites = len(sc.spec.sites.ppk) + 1
    kinds = list(sc.spec.forces)
    print(
        f"{sc.path}: scenario '{sc.name}' is valid: {len(sc.tps)} TPS, {len(sc.spec.sites.ppk)} kecamatan, "
        f"{int(sc.tps['voters'].sum()):,} voters, {len(sc.spec.plans)} plans"
    )
    print(f"{'plan':<16}" + "".join(f"{k:>16}" for k in kinds))
    print(f"{'(available)':<16}" + "".join(f"{sc.spec.forces[k]:>16}" for k in kinds))
    problem = None
    for name, plan in sc.spec.plans.items():
        use = personnel_use(plan, sc.tps, n_sites)
        print(f"{name:<16}" + "".join(f"{use.get(k, 0):>16}" for k in kinds))
        if problem is None and any(n > sc.spec.forces.get(k, 0) for k, n in use.items()):
            problem = name
    sys.stdout.flush()
    if problem:
        check_personnel(sc, [problem])
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


# --- experiments -------------------------------------------------------------------------------


def _parse_vary(items: list[str]) -> list[tuple[str, list[str]]]:
    out = []
    for item in items:
        key, eq, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not key.strip() or not vals:
            raise UserError("--vary", item, "expected KEY.PATH=V1,V2,... e.g. plans.mobile.patrols.0.units=1,2,3")
        out.append((key.strip(), vals))
    return out


def _check_positive(name: str, value: int | float | None, minimum: float) -> None:
    if value is not None and not value >= minimum:
        raise UserError(name, str(value), f"must be at least {minimum:g}")


def _experiment(args: argparse.Namespace) -> int:
    command = args.command
    base = load_scenario(args.scenario, args.overrides)
    points = grid(_parse_vary(args.vary)) if command == "sweep" else [Point(0)]
    if len(points) > 10_000:
        raise UserError("--vary", None, f"{len(points)} grid points; keep it under 10,000")
    scenarios: list[LoadedScenario] = []
    for pt in points:
        try:
            sc = load_scenario(args.scenario, [*args.overrides, *pt.overrides]) if pt.values else base
        except UserError as err:
            raise UserError(
                "--vary", " ".join(pt.overrides), err.problem if err.key is None else f"{err.key}: {err.problem}"
            ) from None
        scenarios.append(sc)

    baseline: str | None = args.baseline if command == "compare" else None
    compared: list[str] = []
    if baseline is not None:
        select_plans(base, baseline)
        compared = select_plans(base, args.plans) if args.plans else [p for p in base.spec.plans if p != baseline]
        plans = list(dict.fromkeys([baseline, *compared]))
    else:
        plans = select_plans(base, args.plans)
    for pt, sc in zip(points, scenarios, strict=True):
        try:
            check_personnel(sc, plans)
        except UserError as err:
            if not pt.values:
                raise
            raise UserError("--vary", " ".join(pt.overrides), f"{err.key}: {err.problem}") from None

    reps = args.reps if args.reps is not None else base.spec.replications
    seed = args.seed if args.seed is not None else base.spec.seed
    _check_positive("--reps", reps, 1)
    _check_positive("--seed", seed, 0)
    _check_positive("--batch", args.batch, 1)
    _check_positive("--workers", args.workers, 1)
    precision = None
    if getattr(args, "precision", None) is not None:
        if not 0 < args.precision < 1:
            raise UserError("--precision", str(args.precision), "give a share between 0 and 1, e.g. 0.05 for 5%")
        precision = Precision(args.precision)
        if args.reps is None:
            reps = 1000  # the ceiling
    check_size(scenarios, len(plans), reps, args.force)

    job_spec: dict[str, Any] = {
        "command": command,
        "scenario_sha256": [sc.digest() for sc in scenarios],
        "plans": plans,
        "baseline": baseline,
        "seed": seed,
        "replications": reps,
        "batch_size": args.batch,
        "precision": precision.target if precision else None,
        "grid": [list(map(list, pt.values)) for pt in points],
    }
    backend = make_backend(args.workers, args.dask)
    try:
        if args.resume:
            folder = RunFolder.resume(args.resume, job_spec)
        else:
            out = args.out or default_run_dir(REPORTS_DIR, base.name, seed, dt.datetime.now().astimezone())
            folder = RunFolder.create(out, job_spec)
    except UserError:
        backend.close()
        raise
    jobs = [Job(sc.digest(), sc, plans, seed) for sc in scenarios]
    try:
        outcome = execute(folder, jobs, points, reps, args.batch, backend, precision)
    except KeyboardInterrupt:
        backend.close()
        n = len(folder.done())
        sys.stderr.write(
            f"interrupted: {n} finished batches are saved in {folder.path}; "
            f"finish with the same command and --resume {folder.path}\n"
        )
        return 130
    backend.close()

    res = outcome.results
    tables = _final_tables(res, plans, baseline, compared, points)
    world = build_world(base)
    tables["sites.csv"] = sites_table(base, world)
    tables["targets.csv"] = targets_table(base, world)
    manifest = _manifest(args, base, scenarios, points, outcome, plans, baseline, precision, backend, folder)
    folder.finish(tables, manifest)

    if not args.quiet:
        if command == "sweep":
            print(sweep_table(tables["summary.csv"], points, plans))
        else:
            print(summary_table(res.kpis, plans))
            print(ci_table(tables["summary.csv"], tables["percentiles.csv"], plans))
        if baseline is not None:
            print(verdict_table(tables["comparison.csv"], baseline, compared))
        if precision is not None:
            print(precision_line(outcome, precision))
    print(f"run folder: {folder.path}")
    if not args.no_report:
        written = make_report(folder.path, args.lang)
        print(
            f"report: {len(written)} files ({', '.join(p.name for p in written if p.parent == folder.path)}, "
            f"charts/) in {folder.path}"
        )
    return 0


def _exercise(args: argparse.Namespace) -> int:
    from sim.console import Console, stdin_reader
    from sim.exercise import Exercise, run_exercise
    from sim.injects import parse_span, read_injects
    from sim.report.exercise import ExerciseInfo, write_exercise

    sc = load_scenario(args.scenario, args.overrides)
    world = build_world(sc)
    plan = args.plan or next(iter(sc.spec.plans))
    if plan not in sc.spec.plans:
        raise UserError("--plan", plan, f"unknown plan; valid: {', '.join(sc.spec.plans)}")
    check_personnel(sc, [plan])
    try:
        shift = parse_span(args.shift)
    except ValueError as exc:
        raise UserError("--shift", None, str(exc)) from None
    seed = args.seed if args.seed is not None else sc.spec.seed
    _check_positive("--reps", args.reps, 1)
    _check_positive("--seed", seed, 0)
    _check_positive("--queue-alert", args.queue_alert, 0)
    if args.step is not None and not 1 <= args.step <= 1440:
        raise UserError("--step", str(args.step), "give the minutes per step, from 1 to 1440")
    background = args.background == "on"
    if background:
        check_size([sc], 1, args.reps)
    injects = read_injects(args.injects, sc, world, plan, shift)
    out = args.out or default_run_dir(
        REPORTS_DIR / safe_name(sc.name), "exercise", seed, dt.datetime.now().astimezone()
    )
    if out.exists():
        raise UserError(str(out), None, "already exists; give a new --out folder")

    first = None
    reps = args.reps
    if args.step is not None:
        first = Exercise(sc, world, plan, injects, seed, 0, background, args.lang, args.queue_alert)
        finished = Console(first, args.step, sys.stdout, prompt=sys.stdin.isatty()).run(stdin_reader(sys.stdin))
        if not finished:
            reps = 1  # stopped early: the review covers what was played
        injects = sorted(first.fired + [i for i in injects if i.t > first.now], key=lambda i: i.t)
    result = run_exercise(sc, world, plan, injects, seed, reps, background, args.lang, args.queue_alert, first)
    info = ExerciseInfo(
        scenario=sc.name,
        title=sc.spec.title,
        plan=plan,
        seed=seed,
        replications=reps,
        background=background,
        epoch=sc.epoch,
        election_day=sc.spec.election_day,
        events_file=Path(args.injects).name,
        shift_min=shift,
    )
    manifest = {
        "command": "exercise",
        "argv": list(args.argv),
        "scenario": {"name": sc.name, "path": str(sc.path), "sha256": sc.digest(), "overrides": sc.overrides},
        "events_file": {"path": str(args.injects), "sha256": _file_sha256(Path(args.injects))},
        "plan": plan,
        "seed": seed,
        "replications": reps,
        "background": background,
        "shift_min": shift,
        "step_min": args.step,
        "queue_alert": args.queue_alert,
        "lang": args.lang,
        "epoch": sc.epoch.isoformat(),
        "timezone": sc.spec.timezone,
        "time_unit": "minutes from the scenario epoch",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_exercise(out, result, info, world.kecamatan, args.lang, manifest)
    if not args.quiet:
        first_rep = result.aar[result.aar["replication"] == 0]
        n_dec = int((result.decisions["replication"] == 0).sum())
        reached = first_rep[first_rep["kind"] == "incident"]
        print(
            f"exercise: {len(injects)} injects, plan {plan}, seed {seed}, {reps} replication(s); replication 0: "
            f"{int((reached['in_time'] > 0).sum())} of {len(reached)} incident injects reached in time, "
            f"{n_dec} decision points"
        )
    print(f"exercise folder: {out}")
    return 0


def _file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _report(args: argparse.Namespace) -> int:
    written = make_report(args.run_dir, args.lang, parse_formats(args.formats))
    for p in written:
        print(p)
    return 0


def _final_tables(
    res: Results, plans: list[str], baseline: str | None, compared: list[str], points: list[Point]
) -> dict[str, pd.DataFrame]:
    tables = {"incidents.csv": res.incidents, "units.csv": res.units, "timeseries.csv": res.timeseries}
    if len(points) > 1 or points[0].values:
        keys = [k for k, _ in points[0].values]
        values = pd.DataFrame([[pt.index, *[v for _, v in pt.values]] for pt in points], columns=["point", *keys])
        kpi = values.merge(res.kpis, on="point", how="right")
        tables["kpis.csv"] = kpi
        tables["summary.csv"] = values.merge(summarise(res.kpis, plans, by=["point"]), on="point")
        tables["percentiles.csv"] = values.merge(pooled_percentiles(res.incidents, plans, by=["point"]), on="point")
    else:
        tables["kpis.csv"] = res.kpis
        tables["summary.csv"] = summarise(res.kpis, plans)
        tables["percentiles.csv"] = pooled_percentiles(res.incidents, plans)
    if baseline is not None:
        tables["comparison.csv"] = pd.concat(
            [
                paired_comparison(res.kpis, baseline, compared),
                paired_pooled_difference(res.incidents, baseline, compared, metrics.HEADLINE_QUANTILE),
            ],
            ignore_index=True,
        )
    return tables


def _manifest(
    args: argparse.Namespace,
    base: LoadedScenario,
    scenarios: list[LoadedScenario],
    points: list[Point],
    outcome: Outcome,
    plans: list[str],
    baseline: str | None,
    precision: Precision | None,
    backend: Any,
    folder: RunFolder,
) -> dict[str, Any]:
    import scipy
    import simpy

    from sim import __version__

    versions = {
        "sim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "simpy": simpy.__version__,
        "scipy": scipy.__version__,
    }
    if backend.name == "dask":
        import distributed

        versions["distributed"] = distributed.__version__
    return {
        "command": args.command,
        "argv": list(getattr(args, "argv", [])),
        "scenario": {
            "name": base.name,
            "title": base.spec.title,
            "path": str(base.path),
            "sha256": base.digest(),
            "overrides": base.overrides,
            "resolved": base.raw,
        },
        "grid": [
            {"point": pt.index, "values": dict(pt.values), "sha256": sc.digest()}
            for pt, sc in zip(points, scenarios, strict=True)
        ]
        if points[0].values
        else None,
        "seed": outcome.results.seed,
        "replications": outcome.replications,
        "plans": plans,
        "baseline": baseline,
        "precision": None
        if precision is None
        else {
            "kpi": PRECISION_KPI,
            "target": precision.target,
            "reached": outcome.precision_reached,
            "achieved": outcome.precision_achieved,
            "ceiling": args.reps or 1000,
        },
        "batch_size": args.batch,
        "backend": {"kind": backend.name, "workers": backend.workers, "address": getattr(backend, "address", None)},
        "versions": versions,
        "started": folder.started,
        "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "time_unit": "minutes from the scenario epoch",
        "epoch": base.epoch.isoformat(),
        "timezone": base.spec.timezone,
    }


# --- printed tables ----------------------------------------------------------------------------


SUMMARY_COLUMNS = [  # kpi, header, width, format: the printed run table (means over replications)
    ("incidents", "incidents", 10, ".1f"),
    ("dispatched", "dispatched", 11, ".1f"),
    ("reached_share", "reached", 9, ".0%"),
    ("response_mean_min", "mean resp", 10, ".1f"),
    ("within_target", "in target", 10, ".0%"),
    ("within_target_p1", "P1 in target", 13, ".0%"),
    ("escalations", "escalated", 10, ".1f"),
    ("peak_busy_units", "peak busy", 10, ".1f"),
]


def summary_table(kpi: pd.DataFrame, plans: list[str]) -> str:
    """Mean over replications per plan, as printed after a run (definitions: sim.metrics)."""
    head = f"{'plan':<14}" + "".join(f"{h:>{w}}" for _, h, w, _ in SUMMARY_COLUMNS)
    lines = [head, "-" * len(head)]
    for plan in plans:
        k = kpi[kpi["plan"] == plan]
        cells = []
        for col, _, w, fmt in SUMMARY_COLUMNS:
            vals = k[col].to_numpy(dtype=float)
            v = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
            cells.append(f"{v:>{w}{fmt}}" if np.isfinite(v) else f"{'n/a':>{w}}")
        lines.append(f"{plan:<14}" + "".join(cells))
    lines.append(
        f"(means over {kpi['replication'].nunique()} replications of dispatched incidents; response in minutes, "
        "unreached counted at the horizon; 'in target' = reached within the target for their kecamatan and priority)"
    )
    return "\n".join(lines)


def _records(df: pd.DataFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows of a table as dicts, looked up by the values of ``keys``."""
    return {tuple(r[k] for k in keys): {str(c): v for c, v in r.items()} for r in df.to_dict("records")}


def _ci(row: dict[str, Any], scale: float = 1.0, fmt: str = ".1f") -> str:
    if not np.isfinite(row["mean"]):
        return "n/a"
    if not np.isfinite(row["ci_low"]):
        return f"{row['mean'] * scale:{fmt}}"
    return f"{row['mean'] * scale:{fmt}} [{row['ci_low'] * scale:{fmt}}, {row['ci_high'] * scale:{fmt}}]"


def ci_table(summary: pd.DataFrame, pct: pd.DataFrame, plans: list[str]) -> str:
    """Main KPIs with 95% intervals: replication means (Student t) and the pooled p90 (bootstrap)."""
    s = _records(summary, ["plan", "kpi"])
    q = _records(pct, ["plan", "quantile"])
    head = f"{'plan':<14}{'mean response min':>26}{'pooled p90 min':>26}{'in target %':>16}{'reached %':>16}"
    lines = ["95% confidence intervals", head, "-" * len(head)]
    for plan in plans:
        p90 = q[(plan, metrics.HEADLINE_QUANTILE)]
        pooled = _ci({"mean": p90["response_min"], "ci_low": p90["ci_low"], "ci_high": p90["ci_high"]})
        lines.append(
            f"{plan:<14}{_ci(s[(plan, 'response_mean_min')]):>26}{pooled:>26}"
            f"{_ci(s[(plan, 'within_target')], 100, '.0f'):>16}{_ci(s[(plan, 'reached_share')], 100, '.0f'):>16}"
        )
    return "\n".join(lines)


VERDICT_KPIS = [  # kpi, unit, scale: the compare verdict; labels and direction from sim.metrics
    ("response_mean_min", "min", 1.0),
    (f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min", "min", 1.0),
    ("within_target", "points", 100.0),
    ("within_target_p1", "points", 100.0),
    ("waited_share", "points", 100.0),
    ("escalations", "", 1.0),
    ("open_at_end", "", 1.0),
]


def verdict_table(comparison: pd.DataFrame, baseline: str, plans: list[str]) -> str:
    """One block per plan: paired differences against the baseline in words, with 95% intervals."""
    c = _records(comparison, ["plan", "kpi"])
    lines = []
    for plan in plans:
        n = int(c[(plan, "response_mean_min")]["n"])
        lines.append(f"{plan} vs {baseline} (paired over {n} replications, 95% CI)")
        for kpi, unit, scale in VERDICT_KPIS:
            meta = metrics.kpi(kpi)
            label, smaller_better = meta.label_en.lower(), meta.better == "lower"
            r = c[(plan, kpi)]
            d, lo, hi = r["difference"] * scale, r["ci_low"] * scale, r["ci_high"] * scale
            if not np.isfinite(d):
                lines.append(f"  {label:<24} n/a")
                continue
            if d == 0 and lo == 0 and hi == 0:
                words = "no difference"
            elif unit == "points":
                words = f"{d:+.1f} points"
            elif unit == "min":
                words = f"{abs(d):.1f} min {'shorter' if d < 0 else 'longer'}"
            else:
                words = f"{d:+.2f}"
            better = (d < 0) == smaller_better
            verdict = ("better" if better else "worse") if r["significant"] else "not significant"
            if not np.isfinite(lo):
                interval = ""
            elif unit == "min" and (lo > 0 or hi < 0):  # magnitudes, in the sense of the words
                interval = f"[{min(abs(lo), abs(hi)):.1f}, {max(abs(lo), abs(hi)):.1f}]"
            else:
                interval = f"[{lo:+.1f}, {hi:+.1f}]"
            lines.append(f"  {label:<24} {words:<22} {interval:<20} {verdict}")
    return "\n".join(lines)


def sweep_table(summary: pd.DataFrame, points: list[Point], plans: list[str]) -> str:
    keys = [k for k, _ in points[0].values]
    head = (
        "  ".join(f"{k.split('.')[-1]:>10}" for k in keys) + f"  {'plan':<14}{'mean response min':>26}"
        f"{'daily p90 min (mean)':>26}{'in target %':>22}"
    )
    lines = [head, "-" * len(head)]
    s = _records(summary, ["point", "plan", "kpi"])
    for pt in points:
        for plan in plans:
            vals = "  ".join(f"{v:>10}" for _, v in pt.values)
            lines.append(
                f"{vals}  {plan:<14}{_ci(s[(pt.index, plan, 'response_mean_min')]):>26}"
                f"{_ci(s[(pt.index, plan, 'response_daily_p90_min')]):>26}"
                f"{_ci(s[(pt.index, plan, 'within_target')], 100, '.0f'):>22}"
            )
    lines.append("(mean over replications with 95% Student-t intervals)")
    return "\n".join(lines)


def precision_line(outcome: Outcome, precision: Precision) -> str:
    got = outcome.precision_achieved
    got_text = f"{got:.1%}" if got is not None and np.isfinite(got) else "n/a"
    if outcome.precision_reached:
        return (
            f"precision {precision.target:.0%} reached after {outcome.replications} replications "
            f"({PRECISION_KPI} half-width {got_text} of the mean, worst plan)"
        )
    return (
        f"precision {precision.target:.0%} NOT reached: stopped at the ceiling of {outcome.replications} "
        f"replications ({PRECISION_KPI} half-width {got_text} of the mean); raise --reps"
    )


COMMANDS = {
    "validate": _validate,
    "run": _experiment,
    "compare": _experiment,
    "sweep": _experiment,
    "report": _report,
    "exercise": _exercise,
    "scenarios": _scenarios,
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
