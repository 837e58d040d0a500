"""Benchmark of the core model against a bare SimPy loop doing the same work (``make bench``).

Both sides do whole batches of Kutim replications (20 by default, all plans), as a worker does:

- **model**: :func:`sim.experiment.run_batch`: per replication, generate the day, then for every
  plan the model's run and its records (the incident, unit and time-series tables and the KPIs).
- **bare**: per replication the same :func:`sim.generate.generate` call (generation is timed on
  both sides: both generate the same streams), then for every plan a bare SimPy loop that replays
  the work the model did on that day, without any of its rules:

  - the same arrivals: one source process stepping through every incident's ``t_occur``;
  - for every incident the model did not resolve on site, a process that waits its report delay
    (from the stream);
  - for every unit trip the model made (its ``units`` records of that replication and plan), the
    same unit: the incident asks for it from a one-slot ``simpy.PriorityResource`` (by the
    incident's priority, first come first served within it) and waits if it is busy; then a unit
    process travels (the trip's ``travel_min``), stays on scene (``t_clear - t_arrive``) and
    returns (to ``t_back``; a unit the model re-tasked on the way is free again when the model
    sent it next, as the model lets it go then);
  - records built minimally: numpy arrays of report, dispatch, arrival and clear times per
    incident, one row per trip, and the (time, busy units, open incidents) series; no tables.

The trips are taken from a model run of the same replication made before the timing (untimed),
so both sides make the same trips and schedule about the same number of SimPy timeouts (counted
in a separate untimed run, with a counting environment that is never used in the timed runs).
Which waiting incident gets a freed unit first may differ from the model's choice (the bare loop
has no rules), so some arrival times differ; the trips and their durations do not. What the model does on
top is what it is for: the on-site coins, the dispatch rules and policy, escalation, the guards'
schedule, and the documented tables.

Rounds are interleaved (model, bare, model, bare, ...) after one warm-up of each; the times shown
are the medians of the rounds, and the ratio is the median of the rounds' own ratios (each round's
model run against the bare run next to it, so a slow spell of the shared machine hits both). The
target is at most 3x the bare loop's time.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy

from sim.experiment import Batch, Job, run_batch, world_of
from sim.generate import IncidentStream, generate
from sim.model import ON_SITE, ElectionDay, RunRecords, UnitNumbering, run_plan
from sim.scenario import LoadedScenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0  # model time / bare loop time, whole replication
NAN = math.nan


@dataclass(frozen=True)
class DayWork:
    """The work the model did in one plan's day, as the bare loop replays it."""

    reported: np.ndarray  # per incident: not resolved on site (the model started a process for it)
    priority: np.ndarray  # per incident: its priority at the end
    trips: list[list[tuple[int, float, float, float]]]  # per incident: (unit, travel, on scene, back) [min]
    n_units: int


def day_work(rec: RunRecords, sc: LoadedScenario) -> DayWork:
    """The model's arrivals and unit trips of one run, from its records."""
    _, planned = UnitNumbering.of_plan(sc.spec.plans[rec.plan])
    unit_index = {uid: k for k, (uid, *_) in enumerate(planned)}
    jobs = rec.assignments
    next_sent = [NAN] * len(jobs)  # when the model sent the same unit next [min]
    last: dict[str, int] = {}
    for k, a in enumerate(jobs):  # in dispatch order
        if a.unit_id in last:
            next_sent[last[a.unit_id]] = a.t_dispatch
        last[a.unit_id] = k
    trips: list[list[tuple[int, float, float, float]]] = [[] for _ in range(len(rec.incidents))]
    for a, t_next in zip(jobs, next_sent, strict=True):
        free_at = a.t_back if not math.isnan(a.t_back) else t_next
        scene = a.t_clear - a.t_arrive
        back = free_at - a.t_clear
        # A leg still running at the horizon: it never ends within the day.
        trips[a.incident_id].append(
            (
                unit_index[a.unit_id],
                a.travel_min,
                math.inf if math.isnan(scene) else scene,
                math.inf if math.isnan(back) else back,
            )
        )
    return DayWork(
        reported=~np.isin(rec.incidents.resolved_by, ON_SITE),
        priority=rec.incidents.priority.copy(),
        trips=trips,
        n_units=rec.n_units,
    )


class BareDay:
    """The bare SimPy loop of one plan's day: arrivals, report delays, unit trips, minimal records."""

    def __init__(self, env: simpy.Environment, stream: IncidentStream, work: DayWork) -> None:
        self.env, self.stream, self.work = env, stream, work
        self.units = [simpy.PriorityResource(env, capacity=1) for _ in range(work.n_units)]
        n = len(stream)
        self.t_report = np.full(n, NAN)
        self.t_dispatch = np.full(n, NAN)
        self.t_arrive = np.full(n, NAN)
        self.t_clear = np.full(n, NAN)
        self.jobs: list[list[float]] = []  # (unit, incident, t_dispatch, t_arrive, t_clear, t_back)
        self.ts: list[tuple[float, int, int]] = [(0.0, 0, 0)]
        self.busy = 0
        self.open = 0

    def run(self, horizon: float) -> dict[str, np.ndarray]:
        self.env.process(self.source())
        self.env.run(until=horizon)
        return {
            "t_report": self.t_report,
            "t_dispatch": self.t_dispatch,
            "t_arrive": self.t_arrive,
            "t_clear": self.t_clear,
            "units": np.asarray(self.jobs, dtype=float).reshape(-1, 6),
            "timeseries": np.asarray(self.ts, dtype=float).reshape(-1, 3),
        }

    def source(self):  # type: ignore[no-untyped-def]
        env, s, w = self.env, self.stream, self.work
        for i in range(len(s)):
            t = float(s.t_occur[i])
            if t > env.now:
                yield env.timeout(t - env.now)
            if w.reported[i]:
                env.process(self.incident(i, float(s.t_report[i]) - t, int(w.priority[i]), w.trips[i]))

    def incident(self, i: int, delay: float, priority: int, trips: list[tuple[int, float, float, float]]):  # type: ignore[no-untyped-def]
        env = self.env
        if delay > 0:
            yield env.timeout(delay)
        self.t_report[i] = env.now
        self.open += 1
        self.ts.append((env.now, self.busy, self.open))
        for unit, travel, scene, back in trips:
            req = self.units[unit].request(priority=priority)
            yield req
            env.process(self.unit(unit, req, i, travel, scene, back))

    def unit(self, unit: int, req: simpy.Event, i: int, travel: float, scene: float, back: float):  # type: ignore[no-untyped-def]
        env = self.env
        job = [float(unit), float(i), env.now, NAN, NAN, NAN]
        self.jobs.append(job)
        if math.isnan(self.t_dispatch[i]):
            self.t_dispatch[i] = env.now
        self.busy += 1
        self.ts.append((env.now, self.busy, self.open))
        yield env.timeout(travel)
        job[3] = env.now
        if math.isnan(self.t_arrive[i]):
            self.t_arrive[i] = env.now
        yield env.timeout(scene)
        job[4] = env.now
        self.busy -= 1
        if math.isnan(self.t_clear[i]):
            self.t_clear[i] = env.now
            self.open -= 1
        self.ts.append((env.now, self.busy, self.open))
        yield env.timeout(back)
        job[5] = env.now
        self.units[unit].release(req)


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts processed events and scheduled timeouts (untimed runs only)."""

    def __init__(self) -> None:
        super().__init__()
        self.events = 0
        self.timeouts = 0

    def step(self) -> None:
        self.events += 1
        super().step()

    def timeout(self, delay: float = 0, value: object = None) -> simpy.Timeout:  # type: ignore[override]
        self.timeouts += 1
        return simpy.Timeout(self, delay, value)


def timed(fn: Callable[[], object]) -> float:
    gc.collect()  # each run starts from a collected heap, not the previous run's garbage
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios/kutim-2024.yaml"))
    ap.add_argument("--reps", type=int, default=20, help="replications per round, run as one batch")
    ap.add_argument("--rounds", type=int, default=11, help="timed rounds of each side (median counts)")
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    args = ap.parse_args(argv)
    rounds = 3 if args.quick else args.rounds

    sc = load_scenario(args.scenario)
    plans = list(sc.spec.plans)
    seed, horizon = sc.spec.seed, sc.timeline.horizon
    job = Job(sc.digest(), sc, plans, seed)
    world, types = world_of(job)
    reps = range(args.reps)

    # Untimed: the model's work of each (replication, plan), for the bare loop to replay.
    streams = {r: generate(sc, world, seed, r, types) for r in reps}
    work = {(r, p): day_work(run_plan(sc, world, streams[r], p), sc) for r in reps for p in plans}

    def model() -> None:
        run_batch(job, Batch(0, reps.start, len(reps)))

    def bare() -> None:
        for r in reps:
            stream = generate(sc, world, seed, r, types)
            for p in plans:
                BareDay(simpy.Environment(), stream, work[r, p]).run(horizon)

    def generation() -> None:
        for r in reps:
            generate(sc, world, seed, r, types)

    def model_days() -> None:
        for r in reps:
            for p in plans:
                run_plan(sc, world, streams[r], p)

    def bare_days() -> None:
        for r in reps:
            for p in plans:
                BareDay(simpy.Environment(), streams[r], work[r, p]).run(horizon)

    sides = {"model": model, "bare": bare, "generate": generation, "model day": model_days, "bare day": bare_days}
    for fn in sides.values():  # warm-up: worlds, caches, first calls
        fn()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            times[name].append(timed(fn))
    med = {name: statistics.median(t) / len(reps) for name, t in times.items()}  # [s per replication]

    # Untimed: what each side asks of SimPy.
    counts = {"model": [0, 0, 0], "bare": [0, 0, 0]}  # events, timeouts, trips that arrived
    for r in reps:
        for p in plans:
            day = ElectionDay(sc, world, streams[r], p)
            day.env = env = CountingEnvironment()  # made in __init__, first used by run()
            rec = day.run()
            arrived = sum(1 for a in rec.assignments if not math.isnan(a.t_arrive))
            for k, v in enumerate((env.events, env.timeouts, arrived)):
                counts["model"][k] += v
            env = CountingEnvironment()
            out = BareDay(env, streams[r], work[r, p]).run(horizon)
            arrived = int(np.count_nonzero(~np.isnan(out["units"][:, 3])))
            for k, v in enumerate((env.events, env.timeouts, arrived)):
                counts["bare"][k] += v
    n_inc = sum(len(s) for s in streams.values())
    n_rep = sum(int(work[r, p].reported.sum()) for r in reps for p in plans)
    per = len(reps)

    print(
        f"scenario {sc.name}: {len(sc.tps)} TPS, {len(plans)} plans; replications 0-{per - 1}: "
        f"{n_inc / per:.1f} incidents, {n_rep / per / len(plans):.1f} reported per plan (means)"
    )
    print(f"median of {rounds} interleaved rounds after a warm-up, each {per} replications x {len(plans)} plans")
    print(f"{'per replication (all plans)':<44}{'model':>12}{'bare':>12}")
    print(f"{'  generate the day [s] (same call)':<44}{med['generate']:>12.4f}{med['generate']:>12.4f}")
    print(f"{'  SimPy day [s]':<44}{med['model day']:>12.4f}{med['bare day']:>12.4f}")
    records = med["model"] - med["generate"] - med["model day"]
    arrays = "in the day"
    print(f"{'  records and tables [s] (by difference)':<44}{records:>12.4f}{arrays:>12}")
    print(f"{'  whole replication [s]':<44}{med['model']:>12.4f}{med['bare']:>12.4f}")
    (m_ev, m_to, m_tr), (b_ev, b_to, b_tr) = counts["model"], counts["bare"]
    print(f"{'SimPy events processed (untimed run)':<44}{m_ev / per:>12,.0f}{b_ev / per:>12,.0f}")
    print(f"{'SimPy timeouts scheduled (untimed run)':<44}{m_to / per:>12,.0f}{b_to / per:>12,.0f}")
    print(f"{'unit trips that arrived (untimed run)':<44}{m_tr / per:>12,.1f}{b_tr / per:>12,.1f}")
    ev_s = (m_ev / per / med["model day"], b_ev / per / med["bare day"])
    print(f"{'SimPy events per second of the day':<44}{ev_s[0]:>12,.0f}{ev_s[1]:>12,.0f}")
    inc_s = (n_inc / per / med["model"], n_inc / per / med["bare"])
    print(f"{'incidents per second, whole replication':<44}{inc_s[0]:>12,.0f}{inc_s[1]:>12,.0f}")

    paired = [m / b for m, b in zip(times["model"], times["bare"], strict=True)]
    ratio = statistics.median(paired)
    verdict = "PASS" if ratio <= TARGET_RATIO else f"FAIL, {ratio / TARGET_RATIO:.2f}x the target"
    print(f"ratio model/bare: {ratio:.2f} (target <= {TARGET_RATIO:g}x: {verdict})")
    print(f"  rounds' ratios from {min(paired):.2f} to {max(paired):.2f}")
    print(f"ratio of the SimPy days alone: {med['model day'] / med['bare day']:.2f} (information)")
    one_plan = med["generate"] + (med["model"] - med["generate"]) / len(plans)
    verdict = "PASS" if one_plan < 1.0 else "FAIL"
    print(
        f"one replication of one plan (generate + day + records): {one_plan:.4f} s (target well under 1 s: {verdict})"
    )
    print(f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
