"""``pilkada-sim``: a thin command line over the Python API.

Every user mistake ends as one line on stderr naming the file, the key (and row) and what would
be valid, with exit code 2 and nothing written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiment import run_experiment
from sim.output import default_run_dir, write_run
from sim.scenario import check_personnel, load_scenario, personnel_use, select_plans

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

    v = sub.add_parser("validate", help="check a scenario and show each plan's personnel against the forces")
    scenario_args(v)

    r = sub.add_parser("run", help="run plans over replications and write a run folder")
    scenario_args(r)
    r.add_argument("--plans", help="comma-separated plan names (default: all)")
    r.add_argument("--reps", type=int, help="replications (default: the scenario's)")
    r.add_argument("--seed", type=int, help="master seed (default: the scenario's)")
    r.add_argument("--out", type=Path, help="run folder (default: reports/<scenario>/<run-id>/)")
    r.add_argument("--quiet", action="store_true", help="print only the run folder")

    sub.add_parser("scenarios", help="list the bundled scenarios")
    return p


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
        for k, n in use.items():
            if n > sc.spec.forces.get(k, 0) and problem is None:
                problem = name
    if problem:
        check_personnel(sc, [problem])
    return 0


def _run(args: argparse.Namespace) -> int:
    sc = load_scenario(args.scenario, args.overrides)
    plans = select_plans(sc, args.plans)
    check_personnel(sc, plans)
    reps = args.reps if args.reps is not None else sc.spec.replications
    seed = args.seed if args.seed is not None else sc.spec.seed
    if reps < 1:
        raise UserError("--reps", None, f"{reps} replications; give at least 1")
    if seed < 0:
        raise UserError("--seed", None, f"{seed}; give a seed >= 0")
    started = dt.datetime.now().astimezone()
    out = args.out or default_run_dir(REPORTS_DIR, sc, seed, started)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError("--out", str(out), "exists and is not an empty folder; choose a new one")
    res = run_experiment(sc, plans, reps, seed)
    finished = dt.datetime.now().astimezone()
    write_run(out, sc, res, started, finished)
    if not args.quiet:
        print(summary_table(res.kpis, plans))
    print(f"run folder: {out}")
    return 0


def summary_table(kpi: pd.DataFrame, plans: list[str]) -> str:
    """Mean over replications per plan, as printed after a run."""
    head = (
        f"{'plan':<14}{'incidents':>10}{'dispatched':>11}{'mean':>8}{'p50':>8}{'p90':>8}"
        f"{'in target':>10}{'escalated':>10}{'peak busy':>10}"
    )
    lines = [head, f"{'':<35}{'response minutes':^24}{'':>10}", "-" * len(head)]
    for plan in plans:
        k = kpi[kpi["plan"] == plan]

        def m(col: str, k: pd.DataFrame = k) -> float:
            vals = k[col].to_numpy(dtype=float)
            return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")

        lines.append(
            f"{plan:<14}{m('incidents'):>10.1f}{m('dispatched'):>11.1f}{m('response_mean_min'):>8.1f}"
            f"{m('response_p50_min'):>8.1f}{m('response_p90_min'):>8.1f}{m('within_target'):>10.0%}"
            f"{m('escalations'):>10.1f}{m('peak_busy_units'):>10.1f}"
        )
    lines.append(
        f"(means over {kpi['replication'].nunique()} replications; 'in target' = share of dispatched "
        "incidents reached within their kecamatan's target)"
    )
    return "\n".join(lines)


def _scenarios(_: argparse.Namespace) -> int:
    for path in sorted(SCENARIO_DIR.rglob("*.yaml")):
        try:
            sc = load_scenario(path)
            print(
                f"{path.relative_to(SCENARIO_DIR.parent)}: {sc.spec.title or sc.name} "
                f"({len(sc.tps)} TPS; plans: {', '.join(sc.spec.plans)})"
            )
        except UserError as err:
            print(f"{path.relative_to(SCENARIO_DIR.parent)}: INVALID: {err}")
    return 0


COMMANDS = {"validate": _validate, "run": _run, "scenarios": _scenarios}


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as err:
        sys.stderr.write(err.line() + "\n")
        return 2
    except BrokenPipeError:  # e.g. `pilkada-sim validate ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; nothing was written\n")
        return 130
