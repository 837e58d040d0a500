"""Scenario files: one YAML file plus data tables in its folder, validated at the edge.

The package is split by job; the names other modules use are re-exported here, so
``from sim.scenario import LoadedScenario`` is the way in:

- :mod:`sim.scenario.schema`: the typed schema (pydantic models) and the domain's vocabularies;
- :mod:`sim.scenario.load`: the YAML file, ``--set`` overrides, error lines for people, checks
  between sections, and :func:`load_scenario`, which returns a :class:`LoadedScenario`;
- :mod:`sim.scenario.tables`: the TPS table and the travel-time matrix (CSV, as Excel writes it);
- :mod:`sim.scenario.timeline`: phase windows in model minutes;
- :mod:`sim.scenario.plans`: plan selection, guard clusters and personnel counting.

Nothing here imports the world, the generator or the model: a scenario comes first in the
pipeline. The size estimate of a run lives with the generator (:mod:`sim.size`).
"""

from sim.scenario.load import LoadedScenario, apply_overrides, load_scenario, read_yaml_file, yaml_load
from sim.scenario.plans import GuardClusters, check_personnel, check_plan, guard_clusters, personnel_use, select_plans
from sim.scenario.schema import (
    MAX_MINUTES,
    MAX_PRIORITY,
    MAX_REPLICATIONS,
    MODES,
    PHASES,
    ROLES,
    TPS_CLASSES,
    TPS_FLAGS,
    TPS_PHASES,
    Dist,
    Escort,
    Plan,
    Scenario,
)
from sim.scenario.tables import TPS_COLUMNS, load_matrix, load_tps, read_csv_table
from sim.scenario.timeline import Timeline, resolve_timeline

__all__ = [
    "MAX_MINUTES",
    "MAX_PRIORITY",
    "MAX_REPLICATIONS",
    "MODES",
    "PHASES",
    "ROLES",
    "TPS_CLASSES",
    "TPS_COLUMNS",
    "TPS_FLAGS",
    "TPS_PHASES",
    "Dist",
    "Escort",
    "GuardClusters",
    "LoadedScenario",
    "Plan",
    "Scenario",
    "Timeline",
    "apply_overrides",
    "check_personnel",
    "check_plan",
    "guard_clusters",
    "load_matrix",
    "load_scenario",
    "load_tps",
    "personnel_use",
    "read_csv_table",
    "read_yaml_file",
    "resolve_timeline",
    "select_plans",
    "yaml_load",
]
