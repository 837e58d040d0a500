"""Replications of plans on common random numbers, and their summary statistics.

Each replication's incident stream is generated once and replayed for every plan, so plans are
compared on the same day (common random numbers). A replication depends only on
(scenario, seed, replication index).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.generate import generate, type_table
from sim.model import run_plan
from sim.records import KPI_COLUMNS, incident_table, kpis, timeseries_table, unit_table
from sim.scenario import LoadedScenario
from sim.world import World, build_world

SUMMARY_KPIS = [k for k in KPI_COLUMNS if k not in ("replication", "plan")]


@dataclass
class Results:
    """Tables of an experiment, rows ordered by replication, then plan (in the order asked)."""

    incidents: pd.DataFrame
    units: pd.DataFrame
    timeseries: pd.DataFrame
    kpis: pd.DataFrame
    plans: list[str]
    replications: int
    seed: int


def run_replication(
    sc: LoadedScenario, world: World, plans: list[str], seed: int, replication: int, types=None
) -> tuple[list[pd.DataFrame], list[pd.DataFrame], list[pd.DataFrame], list[dict]]:  # type: ignore[no-untyped-def]
    """Every plan on one replication's day: (incident, unit, time-series tables, KPI rows)."""
    stream = generate(sc, world, seed, replication, types)
    incs, units, tss, rows = [], [], [], []
    for plan in plans:
        rec = run_plan(sc, world, stream, plan)
        inc = incident_table(sc, world, rec)
        un = unit_table(rec, sc.timeline.horizon)
        ts = timeseries_table(rec)
        incs.append(inc)
        units.append(un)
        tss.append(ts)
        rows.append(kpis(world, inc, un, ts, rec.n_units))
    return incs, units, tss, rows


def run_experiment(
    sc: LoadedScenario, plans: list[str], replications: int, seed: int, progress: Callable[[int], None] | None = None
) -> Results:
    """Run ``replications`` replications of every plan (serially, in order)."""
    world = build_world(sc)
    types = type_table(sc, world)
    incs, units, tss, rows = [], [], [], []
    for r in range(replications):
        a, b, c, d = run_replication(sc, world, plans, seed, r, types)
        incs += a
        units += b
        tss += c
        rows += d
        if progress:
            progress(r + 1)
    return Results(
        incidents=pd.concat(incs, ignore_index=True),
        units=pd.concat(units, ignore_index=True),
        timeseries=pd.concat(tss, ignore_index=True),
        kpis=pd.DataFrame(rows, columns=list(KPI_COLUMNS)),
        plans=plans,
        replications=replications,
        seed=seed,
    )


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, standard deviation and Student-t confidence interval over replications (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan, np.nan)
    m = float(x.mean())
    if len(x) < 2:
        return (m, np.nan, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * sd / np.sqrt(len(x))
    return (m, sd, m - half, m + half)


def summarise(kpi: pd.DataFrame, plans: list[str], level: float = 0.95) -> pd.DataFrame:
    """One row per plan and KPI: mean, sd, CI over replications (``n`` = replications with a value)."""
    rows = []
    for plan in plans:
        sub = kpi[kpi["plan"] == plan]
        for k in SUMMARY_KPIS:
            vals = sub[k].to_numpy(dtype=float)
            m, sd, lo, hi = mean_ci(vals, level)
            rows.append(
                {
                    "plan": plan,
                    "kpi": k,
                    "n": int(np.isfinite(vals).sum()),
                    "mean": m,
                    "sd": sd,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return pd.DataFrame(rows)
