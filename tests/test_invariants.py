"""Invariants that must hold for any scenario, checked on the bundled ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, run_experiment
from sim.generate import generate
from sim.scenario import check_personnel, personnel_use
from sim.world import build_world

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml"))


def check_times(inc: pd.DataFrame, horizon: float) -> None:
    """An incident's times are ordered wherever they are set, and none is past the horizon."""
    cols = ["t_occur", "t_report", "t_dispatch", "t_arrive", "t_clear"]
    t = inc[cols].to_numpy()
    for a in range(len(cols)):
        for b in range(a + 1, len(cols)):
            both = ~np.isnan(t[:, a]) & ~np.isnan(t[:, b])
            assert (t[both, a] <= t[both, b] + 1e-9).all(), (cols[a], cols[b])
    assert (inc["t_clear"].dropna() <= horizon + 1e-9).all()


def check_invariants(sc, res) -> None:
    world = build_world(sc)
    inc, units = res.incidents, res.units
    for rep in range(res.replications):
        n = len(generate(sc, world, res.seed, rep))
        for plan in res.plans:
            ids = inc.loc[(inc["replication"] == rep) & (inc["plan"] == plan), "incident_id"]
            # Every generated incident is in the log exactly once.
            assert sorted(ids) == list(range(n)), (rep, plan)

    check_times(inc, sc.timeline.horizon)

    # Counters never go negative.
    assert (res.timeseries[["busy_units", "open_incidents", "unguarded_tps"]] >= 0).all().all()

    # Outcomes agree with the times.
    on_site = inc["outcome"] == "resolved_on_site"
    assert inc.loc[on_site, "t_dispatch"].isna().all() and inc.loc[on_site, "t_clear"].notna().all()
    cleared = inc["outcome"] == "cleared"
    assert inc.loc[cleared, ["t_arrive", "t_clear"]].notna().all().all()
    assert (inc.loc[cleared, "resolved_by"] == "units").all()
    assert inc.loc[inc["outcome"] == "open_at_end", "t_clear"].isna().all()

    # No unit is in two places: its trips never overlap, and it is sent only when free.
    for _, trips in units.groupby(["replication", "plan", "unit_id"]):
        trips = trips.sort_values("t_dispatch")
        free_at = trips["t_clear"].fillna(np.inf).to_numpy()
        assert (trips["t_dispatch"].to_numpy()[1:] >= free_at[:-1] - 1e-9).all()
        assert (trips["t_arrive"].dropna() >= trips.loc[trips["t_arrive"].notna(), "t_dispatch"]).all()

    # The units log and the incident log agree.
    sent = units.groupby(["replication", "plan", "incident_id"]).size()
    listed = inc.set_index(["replication", "plan", "incident_id"])["units"]
    listed = listed.fillna("").astype(str)  # a day with no dispatch reads back as an all-empty column
    listed = listed[listed != ""].str.split(";").str.len()
    pd.testing.assert_series_equal(sent.sort_index(), listed.sort_index(), check_names=False)

    # Never more personnel than the plan has, nor more than the forces.
    check_personnel(sc, res.plans)
    for plan in res.plans:
        k = res.kpis[res.kpis["plan"] == plan]
        p = sc.spec.plans[plan]
        n_units = sum(g.units for g in (*p.patrols, *p.reserve, *p.tni_backup))
        assert (k["units"] == n_units).all() and (k["peak_busy_units"] <= n_units).all()
        assert units.loc[units["plan"] == plan, "unit_id"].nunique() <= n_units
        for kind, n in personnel_use(p, sc.tps, len(sc.spec.sites.ppk) + 1).items():
            assert n <= sc.spec.forces[kind]


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_invariants_on_bundled_scenarios(path):
    sc = load_scenario(path)
    res = run_experiment(sc, list(sc.spec.plans), 3, seed=sc.spec.seed)
    assert len(res.incidents) > 0
    check_invariants(sc, res)


def test_invariants_under_load():
    # The M/M/c check at a high load queues a lot: the same invariants hold.
    sc = load_scenario(ROOT / "scenarios/checks/mmc.yaml", ["incidents.types.call.rate_per_site_hour.logistics=2.8"])
    res = run_experiment(sc, ["c3"], 2, seed=3)
    assert (res.incidents["wait_min"] > 0).mean() > 0.5
    check_invariants(sc, res)
