"""Benchmark of experiments on backends, measured side by side in one run (``make bench``).

Runs the same Kutim experiment (all plans, 400 replications by default, batches of 10) serially,
on 2 local worker processes and on a 2-worker Dask LocalCluster on 127.0.0.1, each into its own
run folder, and prints replications per second and the ratios the targets are about: 2 local
workers at least 1.7x serial; Dask no more than 1.3x the time of local processes. It also checks
that the three gave the same KPIs.

The machines are shared and noisy: every backend first runs one warm-up batch (workers import the
model and build the world), then the experiment is timed ``--rounds`` times, alternating backends,
and the best time of each counts. The Dask workers run with the statistical profiler and the
memory monitor off, as is sensible for CPU-bound pure-Python tasks (see the README).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sim.backends import Dask, Processes, Serial
from sim.experiment import Job, Point
from sim.runfolder import RunFolder
from sim.runner import execute
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "10s",
    "distributed.admin.system-monitor.interval": "10s",
}


def timed_run(sc, plans, reps, batch, backend, folder: Path) -> tuple[float, object]:
    rf = RunFolder.create(folder, {"bench": backend.name})
    job = Job(sc.digest(), sc, plans, sc.spec.seed)
    t0 = time.perf_counter()
    out = execute(rf, [job], [Point(0)], reps, batch, backend)
    return time.perf_counter() - t0, out.results.kpis


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios/kutim-2024.yaml"))
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)

    import dask
    from distributed import LocalCluster

    sc = load_scenario(args.scenario)
    plans = list(sc.spec.plans)
    print(f"scenario {sc.name}: {len(plans)} plans x {args.reps} replications, batches of {args.batch}")
    with tempfile.TemporaryDirectory() as tmp, dask.config.set(DASK_CONFIG):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=50
        )
        backends = {"serial": Serial(), "procs": Processes(2), "dask": Dask(cluster.scheduler_address)}
        best = dict.fromkeys(backends, float("inf"))
        kpis = {}
        for name, backend in backends.items():  # warm-up: one batch each
            timed_run(sc, plans, args.batch, args.batch, backend, Path(tmp) / f"warm-{name}")
        for r in range(args.rounds):
            for name, backend in backends.items():
                t, kpis[name] = timed_run(sc, plans, args.reps, args.batch, backend, Path(tmp) / f"{name}-{r}")
                best[name] = min(best[name], t)
        for backend in backends.values():
            backend.close()
        cluster.close()
    serial_t, proc_t, dask_t = best["serial"], best["procs"], best["dask"]
    k_serial, k_proc, k_dask = kpis["serial"], kpis["procs"], kpis["dask"]
    same = k_serial.equals(k_proc) and k_serial.equals(k_dask)
    print(f"{'backend (best of ' + str(args.rounds) + ')':<28}{'seconds':>10}{'reps/s':>10}")
    for name, t in (("serial", serial_t), ("2 local processes", proc_t), ("Dask LocalCluster, 2 workers", dask_t)):
        print(f"{name:<28}{t:>10.2f}{args.reps / t:>10.1f}")
    print(f"speed-up of 2 local processes over serial: {serial_t / proc_t:.2f}x (target >= 1.7x)")
    print(f"Dask time / local processes time: {dask_t / proc_t:.2f}x (target <= 1.3x)")
    print(f"identical KPIs on all three backends: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
