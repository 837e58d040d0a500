"""A run's size before it starts: a run whose incident rows would not fit in memory or time is
refused, with the estimate, unless forced.

The estimate is the generator's own (:func:`sim.generate.expected_incidents`): its rates over its
phase windows, with the escort at the world's road time. Scenarios that build the same world (a
sweep over rates, plans or dispatch) share one: a sweep builds as many worlds as it has distinct
sites, travel and targets, not one per point.
"""

from __future__ import annotations

from sim.errors import UserError
from sim.generate import expected_incidents
from sim.scenario import LoadedScenario
from sim.world import world_for, world_key

MAX_INCIDENTS_PER_REPLICATION = 200_000
MAX_INCIDENTS_TOTAL = 2_000_000


def check_size(scenarios: list[LoadedScenario], n_plans: int, replications: int, force: bool = False) -> float:
    """Refuse (with the estimate) a run whose incident rows would not fit in memory or time.

    Returns the expected number of incident rows of the whole run (replications x plans x grid
    points). ``force`` skips the refusal.
    """
    same_world: dict[str, list[int]] = {}
    for i, sc in enumerate(scenarios):
        same_world.setdefault(world_key(sc), []).append(i)
    per_rep = [0.0] * len(scenarios)
    for members in same_world.values():  # one world at a time: a world of Kutim is some 20 MB
        world = world_for(scenarios[members[0]])
        for i in members:
            per_rep[i] = expected_incidents(scenarios[i], world)
    total = sum(per_rep) * replications * n_plans
    worst = max(per_rep)
    if not force and (worst > MAX_INCIDENTS_PER_REPLICATION or total > MAX_INCIDENTS_TOTAL):
        points = f" x {len(scenarios)} grid points" if len(scenarios) > 1 else ""
        raise UserError(
            str(scenarios[0].path),
            "incidents",
            f"about {total:,.0f} incidents expected ({worst:,.0f} per replication from rates x sites x hours, "
            f"x {replications} replications x {n_plans} plans{points}); the limits are "
            f"{MAX_INCIDENTS_PER_REPLICATION:,} per replication and {MAX_INCIDENTS_TOTAL:,} in all: "
            "reduce the rates, --reps or --plans, or pass --force",
        )
    return total
