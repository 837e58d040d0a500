"""The tables of several runs made at once (:func:`sim.records.run_tables`), and what a finished day
leaves behind, on the hand-sized trace scenario.

scenarios/checks/trace.yaml (see tests/test_trace.py): one patrol at post P; travel P-A 10, P-B 20
minutes; no setup, noise or report delay; ``gangguan`` takes 30 min on scene; horizon 1440.
"""

from __future__ import annotations

import gc
import math
import weakref
from dataclasses import replace

import pandas as pd
import pytest
from test_trace import GANGGUAN, ROOT, make_stream

from sim.model import ElectionDay, run_plan
from sim.records import KPI_COLUMNS, incident_table, kpis, run_tables, timeseries_table, unit_table
from sim.scenario import load_scenario
from sim.world import build_world


@pytest.fixture(scope="module")
def trace():
    sc = load_scenario(ROOT / "scenarios/checks/trace.yaml")
    return sc, build_world(sc)


def _days(sc, world):
    """Three replications: one incident at A at 400; none; one at B at 700."""
    streams = [
        make_stream(world, [(400, "A", GANGGUAN)], escalate=False),
        make_stream(world, [], escalate=False),
        make_stream(world, [(700, "B", GANGGUAN)], escalate=False),
    ]
    return [run_plan(sc, world, replace(s, replication=r), "one") for r, s in enumerate(streams)]


def test_the_tables_of_runs_hold_each_runs_rows_in_order(trace):
    sc, world = trace
    tables = run_tables(sc, world, _days(sc, world))
    inc, units, k = tables["incidents"], tables["units"], tables["kpis"]
    # A: sent 400, arrives 410 (P-A 10), clears 440, back at P 450 (A-P 10); busy 440 - 400 = 40.
    # B: sent 700, arrives 720 (P-B 20), clears 750, back 770; busy 50. Day 1 has no row.
    assert inc[["replication", "site_id", "t_arrive", "t_clear"]].values.tolist() == [
        [0, "A", 410.0, 440.0],
        [2, "B", 720.0, 750.0],
    ]
    assert units[["replication", "unit_id", "t_back", "busy_min"]].values.tolist() == [
        [0, "P-patrol-1", 450.0, 40.0],
        [2, "P-patrol-1", 770.0, 50.0],
    ]
    assert k[["replication", "incidents", "dispatched"]].values.tolist() == [[0, 1, 1], [1, 0, 0], [2, 1, 1]]
    assert k["unit_busy_hours"].tolist() == [40 / 60, 0.0, 50 / 60]
    assert sorted(set(tables["timeseries"]["replication"])) == [0, 1, 2]  # every day starts a series
    # A day without rows does not turn the text columns into object, as a concat of one table per
    # day would: the table is made once.
    assert all(pd.api.types.is_string_dtype(units[c]) and units[c].dtype != object for c in ("unit_id", "role", "post"))
    for df in tables.values():
        assert df.index.equals(pd.RangeIndex(len(df)))


def test_the_tables_of_one_run_are_the_one_run_tables(trace):
    sc, world = trace
    h = sc.timeline.horizon
    for rec in _days(sc, world):
        tables = run_tables(sc, world, [rec])
        pd.testing.assert_frame_equal(tables["incidents"], incident_table(sc, world, rec), check_exact=True)
        pd.testing.assert_frame_equal(tables["units"], unit_table(rec, h), check_exact=True)
        pd.testing.assert_frame_equal(tables["timeseries"], timeseries_table(rec), check_exact=True)
        one = pd.DataFrame([kpis(world, rec, h)], columns=list(KPI_COLUMNS))
        pd.testing.assert_frame_equal(tables["kpis"], one, check_exact=True)


def test_a_finished_day_is_freed_without_the_cycle_collector(trace):
    """Its events still scheduled after the horizon, and its policy, would tie the day (and its
    records) into reference cycles (ElectionDay._end)."""
    sc, world = trace
    # The patrol is sent to A at 1395, arrives 1405, clears 1435 and would be back at P at 1445,
    # after the horizon (1440): its return is still scheduled when the day ends.
    day = ElectionDay(sc, world, make_stream(world, [(1395, "A", GANGGUAN)], escalate=False), "one")
    alive = weakref.ref(day)
    gc.disable()
    try:
        rec = day.run()
        del day
        assert alive() is None
    finally:
        gc.enable()
    job = rec.assignments[0]
    assert (job.t_arrive, job.t_clear) == (1405.0, 1435.0) and math.isnan(job.t_back)
