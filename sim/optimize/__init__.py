"""The staffing search (``pilkada-sim optimize``): the smallest force that meets the targets, or
the best use of a fixed force.

- :mod:`sim.optimize.space`: the moves as variables of the starting plan, and candidate plans;
- :mod:`sim.optimize.evaluate`: candidates on common random numbers, in saved chunks, and the
  statistics they are judged by;
- :mod:`sim.optimize.search`: the method (queueing seed, greedy up and down, local search,
  the sequential feasibility check and paired test);
- :mod:`sim.optimize.run`: the checks at the edge, the folder, the confirmation and the verdict.
"""

from sim.optimize.run import Optimization, Outcome, prepare_optimize, run_optimization

__all__ = ["Optimization", "Outcome", "prepare_optimize", "run_optimization"]
