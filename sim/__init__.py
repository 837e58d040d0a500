"""Election-day security simulator for Pilkada (first: Polres Kutai Timur, 27 November 2024).

Python API (the command line calls the same functions, with the same checks and messages)::

    from sim import load_scenario, run_experiment
    sc = load_scenario("scenarios/kutim-2024.yaml")
    res = run_experiment(sc, plans=list(sc.spec.plans), replications=10, seed=sc.spec.seed)
    res.kpis  # pandas DataFrame, one row per plan x replication

    from pathlib import Path
    from sim import prepare, run_into_folder  # what `pilkada-sim run/compare/sweep` does
    study = prepare(sc, "compare", baseline="pemilu2024", replications=20)
    done = run_into_folder(study, Path("reports/demo"))  # a run folder with its manifest

- :func:`load_scenario`: a validated scenario file (with ``--set`` style overrides).
- :func:`run_experiment`: replications of plans in this process, as :class:`Results` tables;
  refuses an over-allocated plan, or a too-large run unless ``force=True``.
- :func:`prepare`, :func:`run_into_folder`: a checked :class:`Study` (run, compare or sweep),
  and running it into a run folder on local processes or Dask (:mod:`sim.study`).
- :func:`summarise`, :func:`pooled_percentiles`, :func:`paired_comparison`: the statistics of
  the summary, percentile and comparison tables (:mod:`sim.stats`).
- :class:`UserError`: every refusal, one line naming the file, the key and what would be valid.
"""

from sim.errors import UserError
from sim.experiment import Results
from sim.scenario import LoadedScenario, load_scenario
from sim.stats import paired_comparison, pooled_percentiles, summarise
from sim.study import Study, prepare, run_experiment, run_into_folder
from sim.version import __version__

__all__ = [
    "LoadedScenario",
    "Results",
    "Study",
    "UserError",
    "__version__",
    "load_scenario",
    "paired_comparison",
    "pooled_percentiles",
    "prepare",
    "run_experiment",
    "run_into_folder",
    "summarise",
]
