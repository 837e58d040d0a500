"""Benchmark of the staffing optimizer on the Kutim minimum-force question (``make bench``).

Runs what ``pilkada-sim optimize scenarios/kutim-2024.yaml --min-force --workers 2 --no-report``
does: the scenario's own ``optimize:`` block (its constraints, moves and budgets; none given
here), the search and the confirmation on fresh replications, into a temporary folder (nothing is
left in reports/). Prints the wall time of the whole optimize (load, checks, search and
confirmation; the report documents are not made), the candidates evaluated, the replications the
search spent and those of the confirmation, whether a plan was found and confirmed, and compares
with the target: a Kutim minimum-force answer, confirmed, in under 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from sim.backends import available_cpus, worker_count
from sim.optimize import prepare_optimize, run_optimization
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 600.0


def confirmation_record(folder: Path | None) -> tuple[int | None, float | None]:
    """The confirmation's replications and wall time (its manifest's times, to the second)."""
    if folder is None or not (folder / "manifest.json").exists():
        return None, None
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    reps = m.get("optimization", {}).get("confirm_replications", m.get("replications"))
    took = (dt.datetime.fromisoformat(m["finished"]) - dt.datetime.fromisoformat(m["started"])).total_seconds()
    return reps, took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios/kutim-2024.yaml"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sc = load_scenario(args.scenario)
        opt = prepare_optimize(sc, mode="min_force", workers=args.workers)
        done = run_optimization(opt, Path(tmp) / "optimize", progress=lambda s: None)
        wall = time.perf_counter() - t0
        conf_reps, conf_t = confirmation_record(done.confirmation)

    s, search = opt.settings, done.search
    block = "the scenario's optimize: block" if sc.spec.optimize is not None else "defaults (no optimize: block)"
    print(
        f"scenario {sc.name}: minimum force from plan {opt.space.start_plan}, {block}: "
        f"{', '.join(r.text() for r in s.rules)}; {len(opt.space.variables)} variables"
    )
    print(
        f"CPUs available: {available_cpus()} (os.cpu_count {os.cpu_count()}); "
        f"workers asked {args.workers}, used {worker_count(args.workers)}"
    )
    spent = search.spent if search is not None else 0
    exhausted = " (budget exhausted)" if search is not None and search.budget_exhausted else ""
    found = done.recommended is not None
    confirmed = found and done.meets_targets
    print(f"{'what':<44}{'value':>14}")
    print(f"{'wall time, search + confirmation (s)':<44}{wall:>14.1f}")
    if conf_t is not None:
        print(f"{'  of which confirmation (s, to the second)':<44}{conf_t:>14.0f}")
    print(f"{'candidates evaluated':<44}{len(done.history):>14,}")
    print(f"{'replications spent in the search':<44}{spent:>14,}{'':>2}of {s.budget_reps:,}{exhausted}")
    print(f"{'confirmation replications':<44}{conf_reps if conf_reps is not None else '-':>14}")
    if found:
        before, after = opt.space.total(opt.space.start), opt.space.total(done.recommended)
        print(f"plan found: {opt.recommended_name}, {after:,} personnel (start {before:,}, {after - before:+,})")
        print(f"confirmed (every group meets every target on fresh replications): {done.meets_targets}")
        for r in done.groups.itertuples():
            if not r.rec_met:
                print(f"  missed in the confirmation: {r.group}, {r.kpi} {r.rec_estimate:.1%} (target {r.threshold:g})")
    else:
        print("plan found: no; confirmed: False")
        for r in done.verdict.itertuples():
            where = f" ({r.kecamatan})" if r.kecamatan else ""
            print(f"  verdict: {r.group or '(default targets)'}{where}, {r.kpi or '-'}: {r.cause}")
    ok = confirmed and wall < TARGET_S
    print(
        f"Kutim minimum-force answer, confirmed, in {wall / 60:.1f} min on {worker_count(args.workers)} workers "
        f"(target: confirmed, under {TARGET_S / 60:.0f} min on 2 cores): {'PASS' if ok else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
