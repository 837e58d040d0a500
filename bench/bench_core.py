"""Benchmark of the core model, measured side by side in one run (``make bench``).

Prints, for the bundled Kutim scenario: the median wall time of one replication (generation plus
every plan over the whole window, H-1 to the plenary) and of one plan alone, incidents and SimPy
events per second, the peak memory of a replication, and the same for a bare SimPy reference
loop: the same number of incidents, arriving at the same times, served by the same number of
units through a ``simpy.Resource``, no scenario logic. The ratio of cost per incident is the
target (at most 3x); so is "one replication of one plan well under a second".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy

import sim.model
from sim.generate import generate, type_table
from sim.model import run_plan
from sim.scenario import load_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parent.parent


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts processed events."""

    processed = 0

    def step(self) -> None:
        CountingEnvironment.processed += 1
        super().step()


def bare_loop(arrivals: np.ndarray, service: np.ndarray, units: int) -> int:
    """Reference: customers arrive, take a unit from a Resource, hold it, release it."""
    env = CountingEnvironment()
    pool = simpy.Resource(env, capacity=units)

    def customer(hold: float):
        with pool.request() as req:
            yield req
            yield env.timeout(hold)

    def source():
        for t, s in zip(arrivals, service, strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(customer(s))

    env.process(source())
    env.run()
    return len(arrivals)


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios/kutim-2024.yaml"))
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)

    sc = load_scenario(args.scenario)
    world = build_world(sc)
    types = type_table(sc, world)
    plans = list(sc.spec.plans)
    sim.model.simpy.Environment = CountingEnvironment  # type: ignore[misc]

    reps = iter(range(10_000))
    gen_t, stream = timed(lambda: generate(sc, world, sc.spec.seed, next(reps), types), args.repeat)
    stream = generate(sc, world, sc.spec.seed, 0, types)
    n_inc = len(stream)

    print(f"scenario {sc.name}: {len(sc.tps)} TPS, {len(plans)} plans, {n_inc} incidents in replication 0")
    print(f"{'what':<44}{'median s':>10}{'incidents/s':>14}{'events/s':>12}")
    print(f"{'generate one day (all draws)':<44}{gen_t:>10.4f}{n_inc / gen_t:>14,.0f}{'':>12}")

    per_plan = {}
    for plan in plans:
        CountingEnvironment.processed = 0
        t, rec = timed(lambda plan=plan: run_plan(sc, world, stream, plan), args.repeat)
        events = CountingEnvironment.processed / args.repeat
        per_plan[plan] = (t, events, rec)
        print(f"{'model, plan ' + plan:<44}{t:>10.4f}{n_inc / t:>14,.0f}{events / t:>12,.0f}")

    def one_replication():
        s = generate(sc, world, sc.spec.seed, 1, types)
        for plan in plans:
            run_plan(sc, world, s, plan)

    rep_t, _ = timed(one_replication, max(3, args.repeat // 3))
    print(f"{'one replication: generate + all plans':<44}{rep_t:>10.4f}{n_inc * len(plans) / rep_t:>14,.0f}{'':>12}")

    # The bare loop serves the same incidents (times from the stream, service = mean on-scene of the
    # type) with as many units as the biggest plan.
    n_units = max(rec.n_units for _, _, rec in per_plan.values())
    service = stream.scene_min[np.arange(n_inc), stream.kind]
    CountingEnvironment.processed = 0
    bare_t, _ = timed(lambda: bare_loop(stream.t_occur, service, max(n_units, 1)), args.repeat)
    bare_events = CountingEnvironment.processed / args.repeat
    print(
        f"{'bare SimPy loop, ' + str(n_units) + ' units':<44}{bare_t:>10.4f}{n_inc / bare_t:>14,.0f}"
        f"{bare_events / bare_t:>12,.0f}"
    )

    tracemalloc.start()
    one_replication()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak memory of one replication (tracemalloc): {peak / 2**20:.1f} MiB")

    worst_plan = max(per_plan, key=lambda p: per_plan[p][0])
    ratio = per_plan[worst_plan][0] / bare_t
    print(f"cost per incident, slowest plan ({worst_plan}) vs bare loop: {ratio:.2f}x (target <= 3x)")
    print(f"one replication of one plan: {per_plan[worst_plan][0]:.3f} s (target well under 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
