"""Election-day security simulator for Pilkada (first: Polres Kutai Timur, 27 November 2024).

Python API::

    from sim import load_scenario, run_experiment
    sc = load_scenario("scenarios/kutim-2024.yaml")
    res = run_experiment(sc, plans=list(sc.spec.plans), replications=10, seed=sc.spec.seed)
    res.kpis  # pandas DataFrame, one row per plan x replication
"""

from sim.errors import UserError
from sim.experiment import Results, run_experiment
from sim.scenario import LoadedScenario, load_scenario
from sim.stats import paired_comparison, pooled_percentiles, summarise

__version__ = "0.1.0"

__all__ = [
    "LoadedScenario",
    "Results",
    "UserError",
    "__version__",
    "load_scenario",
    "paired_comparison",
    "pooled_percentiles",
    "run_experiment",
    "summarise",
]
