"""Scaling benchmark (``make bench``): one replication at growing sizes, and Kutim end to end.

1. **Sizes.** One replication of one plan (pemilu2024, or the scenario's first plan), as a worker
   runs it (:func:`sim.experiment.run_batch`: generation, the model, the records and tables), at
   Kutim's size (701 TPS) and larger: ``scenarios/synthetic/kaltim-size.yaml`` (about 6,300 TPS)
   if it exists, and about 70,000 and 435,000 TPS made with ``pilkada-sim synth`` in a temporary
   folder once that command exists. Each size runs in its own child process, so sizes do not
   share memory: wall times are the child's own (median of the timed rounds after a warm-up, or
   the first run alone when it takes over ``LONG_S``; the world is built once and timed apart),
   peak memory is the child's ``ru_maxrss`` (``os.wait4``).
   A size with no scenario yet is probed with Kutim's TPS table tiled to that many rows, only to
   show whether the code would accept it: a refusal is printed as the one line the user would see.
   Then the same replication as a user runs it, end to end (``pilkada-sim run SCENARIO --reps 1
   --plans PLAN --no-report``: reading the scenario, the checks, the run, the tables), on 1 and on 2
   local workers: a scenario of several regions splits its day into area tasks on 2 workers.
2. **End to end.** ``pilkada-sim run scenarios/kutim-2024.yaml`` with its 3 plans, 1,000
   replications on 1 and 2 local workers and on a 2-worker Dask ``LocalCluster`` started here
   (before the clock starts; statistical profiler and memory monitor off, as the README advises),
   in interleaved rounds (the best of each counts), and 200 and 2,000 replications on 2 workers
   (one run each): wall time of the command, and peak memory, the
   largest resident set of any one of its processes (the command and its local workers; on Dask,
   the command, and the workers' own peaks read from them). Then the Kaltim-size sweep: 20 plans
   (``SWEEP_KEY`` from 1 to 20) x 20 replications on 2 local workers and on the same cluster.

Targets are printed next to the numbers with PASS or FAIL; the exit code is 0 either way: these
are measurements on a shared machine, not tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KUTIM = ROOT / "scenarios/kutim-2024.yaml"
KALTIM = ROOT / "scenarios/synthetic/kaltim-size.yaml"
PLAN = "pemilu2024"
SEED = 1
# (label, TPS, regions) of the larger sizes, the README's recipes: Kaltim, 10 kabupaten/kota; a
# tenth of the country; Pilkada 2024 nationwide, 545 regions.
SIZES = (("Kaltim size", 6_300, 10), ("~70,000 TPS", 70_000, 90), ("~435,000 TPS", 435_000, 545))
LONG_S = 5.0  # a replication slower than this [s] is timed once, by its first run: rounds would not fit
E2E_REPS = 1_000
SOAK_REPS = (200, 2_000)
# The Kaltim-size sweep: 20 plans (one Polsek's patrol cars from 1 to 20) x 20 replications
SWEEP_KEY = "plans.pemilu2024.patrols[polsek-r01-01].units"
SWEEP_POINTS = 20
SWEEP_REPS = 20
DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "10s",
    "distributed.admin.system-monitor.interval": "10s",
}
# Targets
E2E_MAX_S = 30.0  # 3 plans x 1,000 Kutim replications, 2 workers [s]
SPEEDUP_MIN = 1.7  # 2 workers / 1 worker, end to end
DASK_MAX = 1.2  # Dask time / local processes time
SIZE_MAX = 1.5  # seconds per 1,000 incidents, largest size / Kutim
NATIONAL_MAX_S = 60.0  # one national-size replication of one plan, 2 workers, end to end [s]
NATIONAL_MAX_BYTES = 4 * 10**9  # ... its peak memory (the largest process)
SOAK_MAX = 1.2  # peak memory, 2,000 / 200 replications
MIB = 2**20


@dataclass
class Measured:
    """A child process: its wall time [s], peak resident memory [bytes], exit code and output."""

    wall_s: float
    peak_bytes: int
    rc: int
    out: str
    err: str

    def error_line(self) -> str:
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit code {self.rc}"


def run_measured(cmd: list[str]) -> Measured:
    """Run ``cmd``; its own rusage (with its waited-for children's) via ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Measured(wall, usage.ru_maxrss * 1024, proc.returncode, out.read().decode(), err.read().decode())


def pilkada_sim() -> list[str]:
    exe = Path(sys.executable).with_name("pilkada-sim")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim"]


# --- the child: one size ---------------------------------------------------------------------


def child(path: str, rounds: int, probe: bool) -> dict[str, object]:
    """Load, build the world, then (unless probing) time one replication of one plan."""
    from sim.errors import UserError
    from sim.experiment import Batch, Job, run_batch, world_of
    from sim.scenario import load_scenario

    t0 = time.perf_counter()
    try:
        sc = load_scenario(path)
        plan = PLAN if PLAN in sc.spec.plans else next(iter(sc.spec.plans))
        job = Job(sc.digest(), sc, [plan], sc.spec.seed)
        t1 = time.perf_counter()
        world, _ = world_of(job)
    except UserError as err:
        return {"refused": err.line()}
    t2 = time.perf_counter()
    row: dict[str, object] = {"tps": len(sc.tps), "sites": world.n_nodes, "plan": plan}
    row.update(load_s=t1 - t0, world_s=t2 - t1)
    if probe:
        return row
    batch = Batch(0, 0, 1)
    t3 = time.perf_counter()
    tables = run_batch(job, batch)  # warm-up: first calls and the plan's caches in the world
    row["first_s"] = time.perf_counter() - t3
    row["incidents"] = len(tables["incidents"])
    times = []
    for _ in range(rounds if row["first_s"] <= LONG_S else 0):
        t3 = time.perf_counter()
        run_batch(job, batch)
        times.append(time.perf_counter() - t3)
    row["rounds"] = len(times)
    row["replication_s"] = statistics.median(times) if times else row["first_s"]
    return row


# --- the parent --------------------------------------------------------------------------------


@dataclass
class SizeRow:
    label: str
    state: str  # "measured", "refused", "missing"
    note: str = ""
    data: dict[str, Any] | None = None
    peak_bytes: int = 0
    source: str = ""
    runs: dict[int, Measured] = field(default_factory=dict)  # workers -> the run end to end

    def run_text(self, workers: int) -> str:
        m = self.runs.get(workers)
        return "-" if m is None else (f"{m.wall_s:.1f}" if m.rc == 0 else "failed")

    @property
    def s_per_1000(self) -> float:
        assert self.data is not None
        return 1000 * self.data["replication_s"] / max(1, self.data["incidents"])


def measure_size(label: str, path: Path, rounds: int, source: str) -> SizeRow:
    m = run_measured([sys.executable, __file__, "--child", str(path), "--rounds", str(rounds)])
    if m.rc != 0:
        return SizeRow(label, "refused", f"failed: {m.error_line()}", source=source)
    data = json.loads(m.out.strip().splitlines()[-1])
    if "refused" in data:
        return SizeRow(label, "refused", f"refused: {data['refused']}", source=source)
    row = SizeRow(label, "measured", data=data, peak_bytes=m.peak_bytes, source=source)
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="bench-size-run-") as out:
            cmd = [*pilkada_sim(), "run", str(path), "--reps", "1", "--plans", str(data["plan"])]
            row.runs[workers] = run_measured([*cmd, "--workers", str(workers), "--no-report", "--quiet", "--out", out])
    return row


def probe_size(label: str, n_tps: int, tmp: Path, why: str) -> SizeRow:
    """Kutim's scenario with its TPS table tiled to ``n_tps`` rows: would the code accept the size?"""
    import pandas as pd

    from sim.scenario import load_scenario

    kutim = load_scenario(KUTIM)
    folder = tmp / f"probe-{n_tps}"
    table = folder / kutim.spec.sites.tps_file
    table.parent.mkdir(parents=True)
    (folder / KUTIM.name).write_bytes(KUTIM.read_bytes())
    tps = pd.read_csv(KUTIM.parent / kutim.spec.sites.tps_file, dtype=str, keep_default_na=False)
    copies = [tps.assign(tps_id=tps["tps_id"] + f"-x{c}") for c in range(math.ceil(n_tps / len(tps)))]
    pd.concat(copies, ignore_index=True).head(n_tps).to_csv(table, index=False)
    m = run_measured([sys.executable, __file__, "--child", str(folder / KUTIM.name), "--probe"])
    data = json.loads(m.out.strip().splitlines()[-1]) if m.rc == 0 else {"refused": m.error_line()}
    source = f"{why}: probed with Kutim's TPS table tiled to {n_tps:,} rows (loading and the world only)"
    if "refused" in data:
        return SizeRow(label, "refused", f"refused: {data['refused']}", source=source)
    return SizeRow(label, "missing", f"not measured (a table of {n_tps:,} TPS would be accepted)", source=source)


def has_synth() -> bool:
    return run_measured([*pilkada_sim(), "synth", "--help"]).rc == 0


def synth_scenario(n_tps: int, regions: int, tmp: Path) -> Path | str:
    """A scenario of ``n_tps`` TPS made by ``pilkada-sim synth``, or the error line."""
    out = tmp / f"synth-{n_tps}"
    cmd = [*pilkada_sim(), "synth", "--tps", str(n_tps), "--regions", str(regions), "--seed", str(SEED)]
    m = run_measured([*cmd, "--out", str(out)])
    if m.rc != 0:
        return m.error_line()
    found = sorted(out.rglob("*.yaml"))
    return found[0] if found else f"pilkada-sim synth wrote no scenario YAML in {out}"


def sizes(tmp: Path, rounds: int) -> list[SizeRow]:
    rows = [measure_size("Kutim", KUTIM, rounds, str(KUTIM.relative_to(ROOT)))]
    synth = has_synth()
    for label, n_tps, regions in SIZES:
        if label == "Kaltim size":
            if KALTIM.exists():
                rows.append(measure_size(label, KALTIM, rounds, str(KALTIM.relative_to(ROOT))))
            else:
                rows.append(probe_size(label, n_tps, tmp, f"{KALTIM.relative_to(ROOT)} does not exist yet"))
            continue
        if not synth:
            rows.append(probe_size(label, n_tps, tmp, "pilkada-sim has no synth command yet"))
            continue
        made = synth_scenario(n_tps, regions, tmp)
        source = f"pilkada-sim synth --tps {n_tps} --regions {regions} --seed {SEED}, in a temporary folder"
        if isinstance(made, str):
            rows.append(SizeRow(label, "refused", f"synth: {made}", source=source))
        else:
            rows.append(measure_size(label, made, rounds, source))
    return rows


def print_sizes(rows: list[SizeRow], rounds: int) -> None:
    print(f"one replication of one plan, each size in its own process (median of {rounds} after a warm-up)")
    head = ("size", "TPS", "incidents", "world s", "wall s", "s/1,000 inc.", "peak MiB", "run 1w s", "run 2w s")
    head += ("run peak MiB",)
    widths = (14, 9, 11, 9, 9, 14, 10, 10, 10, 14)
    print("".join(f"{h:<{w}}" if k == 0 else f"{h:>{w}}" for k, (h, w) in enumerate(zip(head, widths, strict=True))))
    for r in rows:
        if r.state != "measured":
            print(f"{r.label:<14}{r.note}")
            continue
        d = r.data
        assert d is not None
        peak = max((m.peak_bytes for m in r.runs.values() if m.rc == 0), default=0)
        print(
            f"{r.label:<14}{d['tps']:>9,}{d['incidents']:>11,}{d['world_s']:>9.2f}{d['replication_s']:>9.3f}"
            f"{r.s_per_1000:>14.3f}{r.peak_bytes / MIB:>10.0f}{r.run_text(1):>10}{r.run_text(2):>10}{peak / MIB:>14.0f}"
        )
    print(
        "  wall s: generation + model + records of the replication (world apart); first run, with the "
        "plan's caches: " + ", ".join(f"{r.label} {r.data['first_s']:.3f} s" for r in rows if r.data)
    )
    once = [r.label for r in rows if r.data and r.data["rounds"] == 0]
    if once:
        print(f"  {', '.join(once)}: one replication takes over {LONG_S:g} s, so wall s is that first run alone")
    print(
        "  run 1w/2w s: `pilkada-sim run SCENARIO --reps 1 --plans PLAN --no-report` on 1 and 2 workers, end to "
        "end (loading and checks included); run peak: the largest process of either (workers share the "
        "loaded scenario by fork)"
    )
    for r in rows:
        for workers, m in r.runs.items():
            if m.rc != 0:
                print(f"  {r.label}, {workers} worker(s): failed: {m.error_line()}")
    for r in rows:
        plan = f"; plan {r.data['plan']}" if r.data else ""
        print(f"  {r.label}: {r.source}{plan}")


def e2e(tmp: Path, name: str, reps: int, backend: list[str]) -> Measured:
    cmd = [*pilkada_sim(), "run", str(KUTIM), "--reps", str(reps), *backend, "--no-report", "--quiet"]
    return run_measured([*cmd, "--out", str(tmp / name)])


def sweep_e2e(tmp: Path, name: str, backend: list[str]) -> Measured:
    """The Kaltim-size sweep of :data:`SWEEP_POINTS` plans x :data:`SWEEP_REPS` replications."""
    values = ",".join(str(v) for v in range(1, SWEEP_POINTS + 1))
    cmd = [*pilkada_sim(), "sweep", str(KALTIM), "--plans", PLAN, "--vary", f"{SWEEP_KEY}={values}"]
    cmd += ["--reps", str(SWEEP_REPS), *backend, "--no-report", "--quiet", "--out", str(tmp / name)]
    return run_measured(cmd)


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t0


def parallel_check(n: int = 20_000_000) -> float:
    """How much faster 2 processes do 2 equal pure-Python loops than one does them in turn: about 2
    on an idle 2-core machine, less when other work shares the CPUs (the 2-worker runs see that)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [1000, 1000]))  # the processes are up before the clock starts
        alone = _spin(n)
        t0 = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        both = time.perf_counter() - t0
    return 2 * alone / both


def _own_peak() -> int:
    """This process's peak resident memory [bytes] (run on the Dask workers)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Run:
    """One end-to-end run, best of its rounds: the replications, the best round's command, every
    round's wall time [s], and the peak of any process of any round [bytes]."""

    reps: int
    m: Measured
    walls: list[float]
    peak_bytes: int

    def add(self, m: Measured, peak: int) -> None:
        self.walls.append(m.wall_s)
        self.peak_bytes = max(self.peak_bytes, peak)
        if m.rc != 0 or (self.m.rc == 0 and m.wall_s < self.m.wall_s):
            self.m = m  # a failure is kept, to be shown


def end_to_end(tmp: Path, rounds: int) -> dict[str, Run]:
    import dask
    from distributed import Client, LocalCluster

    runs: dict[str, Run] = {}

    def record(name: str, reps: int, m: Measured, peak: int) -> None:
        if name in runs:
            runs[name].add(m, peak)
        else:
            runs[name] = Run(reps, m, [m.wall_s], peak)

    with dask.config.set(DASK_CONFIG):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            for r in range(rounds):  # interleaved, so that a busy spell of the machine hits all three
                for name, key, backend in (
                    ("2 workers", "w2", ["--workers", "2"]),
                    ("1 worker", "w1", ["--workers", "1"]),
                    ("Dask, 2 workers", "dask", ["--dask", cluster.scheduler_address]),
                ):
                    m = e2e(tmp, f"{key}-{r}", E2E_REPS, backend)
                    record(name, E2E_REPS, m, m.peak_bytes)
            if KALTIM.is_file():  # one round each, local first: a sweep here takes minutes
                for name, key, backend in (
                    ("Kaltim sweep, 2 workers", "ksw2", ["--workers", "2"]),
                    ("Kaltim sweep, Dask", "kswd", ["--dask", cluster.scheduler_address]),
                ):
                    m = sweep_e2e(tmp, key, backend)
                    record(name, SWEEP_POINTS * SWEEP_REPS, m, m.peak_bytes)
            with Client(cluster) as client:
                workers_peak = max(client.run(_own_peak).values())
            runs["Dask, 2 workers"].peak_bytes = max(runs["Dask, 2 workers"].peak_bytes, workers_peak)
        finally:
            cluster.close()
    for reps in SOAK_REPS:
        m = e2e(tmp, f"soak-{reps}", reps, ["--workers", "2"])
        record(f"{reps:,} reps, 2 workers", reps, m, m.peak_bytes)
    return runs


def print_end_to_end(runs: dict[str, Run], rounds: int) -> None:
    print(f"end to end: pilkada-sim run {KUTIM.relative_to(ROOT)} (3 plans) --no-report --quiet")
    print(
        f"  and pilkada-sim sweep {KALTIM.relative_to(ROOT)} --plans {PLAN} --vary {SWEEP_KEY}=1..{SWEEP_POINTS} "
        f"--reps {SWEEP_REPS} (reps column: plan-replications; peak of the command only)"
    )
    print(f"{'run':<28}{'reps':>7}{'wall s':>9}{'reps/s':>9}{'peak MiB':>10}   rounds [s]")
    for name, run in runs.items():
        m = run.m
        if m.rc != 0:
            print(f"{name:<28}{run.reps:>7,}  failed: {m.error_line()}")
            continue
        all_rounds = ", ".join(f"{w:.1f}" for w in run.walls)
        print(
            f"{name:<28}{run.reps:>7,}{m.wall_s:>9.1f}{run.reps / m.wall_s:>9.1f}{run.peak_bytes / MIB:>10.0f}"
            f"   {all_rounds}"
        )
    print(
        f"  wall s: the best of {rounds} interleaved round(s) for the {E2E_REPS:,}-replication runs, one run for the "
        "others; peak: the largest resident set of one process of the run (Dask: the command or a worker)"
    )


def verdict(ok: bool | None) -> str:
    return "not measured: FAIL" if ok is None else ("PASS" if ok else "FAIL")


def print_targets(rows: list[SizeRow], runs: dict[str, Run]) -> None:
    def wall(name: str) -> float | None:
        m = runs[name].m
        return m.wall_s if m.rc == 0 else None

    w2, w1, dk = wall("2 workers"), wall("1 worker"), wall("Dask, 2 workers")
    print("targets")
    print(
        f"  3 plans x {E2E_REPS:,} Kutim replications, 2 workers: "
        + (f"{w2:.1f} s" if w2 else "failed")
        + f" (target < {E2E_MAX_S:g} s): {verdict(None if w2 is None else w2 < E2E_MAX_S)}"
    )
    speedup = w1 / w2 if w1 and w2 else None
    print(
        "  2 workers vs 1 worker, end to end: "
        + (f"{speedup:.3f}x" if speedup else "failed")
        + f" (target >= {SPEEDUP_MIN:g}x): {verdict(None if speedup is None else speedup >= SPEEDUP_MIN)}"
    )
    dask_ratio = dk / w2 if dk and w2 else None
    print(
        "  Dask / local processes (2 workers each): "
        + (f"{dask_ratio:.3f}x" if dask_ratio else "failed")
        + f" (target <= {DASK_MAX:g}x): {verdict(None if dask_ratio is None else dask_ratio <= DASK_MAX)}"
    )
    if "Kaltim sweep, Dask" in runs:
        ks2, ksd = wall("Kaltim sweep, 2 workers"), wall("Kaltim sweep, Dask")
        ratio = ksd / ks2 if ks2 and ksd else None
        print(
            f"  Kaltim-size sweep ({SWEEP_POINTS} plans x {SWEEP_REPS} reps), Dask / local processes: "
            + (f"{ratio:.3f}x ({ksd:.1f} s vs {ks2:.1f} s)" if ratio else "failed")
            + f" (target <= {DASK_MAX:g}x): {verdict(None if ratio is None else ratio <= DASK_MAX)}"
        )
    kutim, largest = rows[0], rows[-1]
    measured = [r for r in rows[1:] if r.state == "measured"]
    line = "  s per 1,000 incidents, largest size vs Kutim: "
    if kutim.state == "measured" and largest.state == "measured":
        q = largest.s_per_1000 / kutim.s_per_1000
        line += f"{q:.3f}x at {largest.label} (target <= {SIZE_MAX:g}x): {verdict(q <= SIZE_MAX)}"
    else:
        line += f"{largest.label} {largest.state} (target <= {SIZE_MAX:g}x): {verdict(None)}"
        if measured and kutim.state == "measured":
            best = measured[-1]
            line += f"; largest measured, {best.label}: {best.s_per_1000 / kutim.s_per_1000:.2f}x"
    print(line)
    national = rows[-1]
    m = national.runs.get(2)
    line = f"  one {national.label} replication of one plan, 2 workers, end to end: "
    if m is None or m.rc != 0:
        line += f"{national.note or 'failed'} (target < {NATIONAL_MAX_S:g} s, < {NATIONAL_MAX_BYTES / 1e9:g} GB): FAIL"
    else:
        ok = m.wall_s < NATIONAL_MAX_S and m.peak_bytes < NATIONAL_MAX_BYTES
        line += f"{m.wall_s:.1f} s, peak {m.peak_bytes / 1e9:.2f} GB (target < {NATIONAL_MAX_S:g} s, "
        line += f"< {NATIONAL_MAX_BYTES / 1e9:g} GB): {verdict(ok)}"
    print(line)
    a, b = (runs[f"{n:,} reps, 2 workers"] for n in SOAK_REPS)
    p_a, p_b = a.peak_bytes, b.peak_bytes
    soak = p_b / p_a if a.m.rc == 0 and b.m.rc == 0 else None
    print(
        f"  peak memory, {SOAK_REPS[1]:,} vs {SOAK_REPS[0]:,} replications (2 workers): "
        + (f"{soak:.3f}x ({p_b / MIB:.0f} vs {p_a / MIB:.0f} MiB)" if soak else "failed")
        + f" (target <= {SOAK_MAX:g}x): {verdict(None if soak is None else soak <= SOAK_MAX)}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per size (median counts)")
    ap.add_argument("--e2e-rounds", type=int, default=2, help="rounds of the 1,000-replication runs (best counts)")
    ap.add_argument("--quick", action="store_true", help="one timed round per size, one end-to-end round")
    ap.add_argument("--child", metavar="SCENARIO", help=argparse.SUPPRESS)
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    e2e_rounds = 1 if args.quick else args.e2e_rounds
    if args.child:
        print(json.dumps(child(args.child, rounds, args.probe)))
        return 0

    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        rows = sizes(Path(tmp), rounds)
        print_sizes(rows, rounds)
        print()
        before = parallel_check()
        runs = end_to_end(Path(tmp), e2e_rounds)
        after = parallel_check()
        print_end_to_end(runs, e2e_rounds)
        print(
            f"  machine check: 2 processes ran 2 pure-Python loops {before:.2f}x as fast as one process before "
            f"these runs, {after:.2f}x after (about 2x when both CPUs are free for this benchmark)"
        )
    print()
    print_targets(rows, runs)
    print(
        f"(bench time {time.perf_counter() - t0:.0f} s on {os.cpu_count()} CPUs; load average {load0:.2f} at the "
        f"start, {os.getloadavg()[0]:.2f} at the end)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
