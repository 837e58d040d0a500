"""Regions as dispatch areas (issue 13): a many-region day runs region by region with the same
records as one model of the whole day; no unit takes a call outside its area; a post that serves
another region links the two into one area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import load_scenario
from sim.cli import main
from sim.generate import generate
from sim.model import run_plan
from sim.records import incident_table, kpis, timeseries_table, unit_table
from sim.synth import write_synthetic
from sim.world import build_world

PLAN = "pemilu2024"


BUSY = 6  # every hour's rates times this: units queue and are re-tasked in both regions


def _variant(path, name, edit):
    """A copy of scenario ``path`` (next to it, sharing its TPS table) changed by ``edit(raw)``."""
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    out = path.with_name(f"{name}.yaml")
    out.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return out


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory):
    """A synthetic scenario of two kabupaten (regions R01, R02), its rates raised (:data:`BUSY`)."""
    out = tmp_path_factory.mktemp("two")
    write_synthetic(900, 2, 11, out, "two")

    def busy(raw):
        raw["incidents"]["hourly_multiplier"] = {h: BUSY for h in range(24)}

    return _variant(out / "two.yaml", "busy", busy)


def _day(path, replication):
    sc = load_scenario(path)
    world = build_world(sc)
    return sc, world, generate(sc, world, sc.spec.seed, replication)


def _tables(sc, world, rec):
    h = sc.timeline.horizon
    return incident_table(sc, world, rec), unit_table(rec, h), timeseries_table(rec), kpis(world, rec, h)


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_partitioned_day_equals_one_model(two_regions, replication):
    sc, world, stream = _day(two_regions, replication)
    assert world.n_areas == 2 and len(stream) > 500
    one = _tables(sc, world, run_plan(sc, world, stream, PLAN, partitioned=False))
    parts = _tables(sc, world, run_plan(sc, world, stream, PLAN, partitioned=True))
    inc_one, inc_parts = one[0], parts[0]
    assert inc_one.to_csv(index=False) == inc_parts.to_csv(index=False)  # the incident logs, byte for byte
    area = world.node_area()[stream.site]
    waited = (inc_one["t_dispatch"] > inc_one["t_report"]).to_numpy()
    assert all(waited[area == a].sum() > 20 for a in (0, 1))  # calls queued in both regions
    assert one[1]["retasked"].sum() > 50  # units re-tasked on the way back
    assert one[1].to_csv(index=False) == parts[1].to_csv(index=False)
    assert one[2].to_csv(index=False) == parts[2].to_csv(index=False)
    assert one[3] == parts[3]


def test_units_stay_in_their_area(two_regions):
    sc, world, stream = _day(two_regions, 0)
    rec = run_plan(sc, world, stream, PLAN, partitioned=False)
    units = unit_table(rec, sc.timeline.horizon)
    area = world.node_area()
    site_area = area[stream.site[units["incident_id"].to_numpy()]]
    post_area = area[[world.post_node[p] for p in units["post"]]]
    assert len(units) > 100 and (site_area == post_area).all()
    # Without regions the same day lets units cross: nearest is nearest, whatever the kabupaten.
    sc1, world1, stream1 = _day(_variant(two_regions, "one", lambda raw: raw.pop("regions")), 0)
    assert world1.n_areas == 1
    crossed = unit_table(run_plan(sc1, world1, stream1, PLAN), sc1.timeline.horizon)
    region = {k: r.id for r in sc.spec.regions for k in r.kecamatan}
    node_region = np.asarray([region[k] for k in world.kecamatan], dtype=object)[world1.node_kec]
    site_region = node_region[stream1.site[crossed["incident_id"].to_numpy()]]
    post_region = node_region[[world1.post_node[p] for p in crossed["post"]]]
    assert (site_region != post_region).any()


def _serves(regions):
    def edit(raw):
        (post,) = [p for p in raw["sites"]["posts"] if p["id"] == "polres-r01"]
        post["serves"] = regions

    return edit


def test_a_serving_post_links_regions(two_regions):
    world = build_world(load_scenario(_variant(two_regions, "linked", _serves(["R02"]))))
    assert world.n_areas == 1 and world.area_names == ["R01+R02"]
    assert set(world.node_area().tolist()) == {0}


def _region(k, key, value):
    def edit(raw):
        raw["regions"][k][key] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (_region(1, "kecamatan", ["R01 Kec 01"]), "regions.1.kecamatan: 'R01 Kec 01' is already in region R01"),
        (_region(1, "kecamatan", ["Nowhere"]), "regions.1.kecamatan: unknown kecamatan 'Nowhere'"),
        (_region(1, "id", "R01"), "regions.1.id: 'R01' is given twice"),
        (_serves(["R09"]), "serves: unknown region 'R09'; valid: R01, R02"),
    ],
)
def test_bad_regions_are_one_line(two_regions, capsys, edit, fragment):
    assert main(["validate", str(_variant(two_regions, "bad", edit))]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1, err


def test_a_kecamatan_left_out_is_named(two_regions, capsys):
    first = load_scenario(two_regions).spec.regions[1].kecamatan
    bad = _variant(two_regions, "short", _region(1, "kecamatan", first[1:]))
    assert main(["validate", str(bad)]) == 2
    assert f"regions: kecamatan in no region: {first[0]}" in capsys.readouterr().err


def test_one_region_scenarios_are_unchanged(tmp_path):
    """Kutim has no regions: one area, and the partition switch changes nothing."""
    sc, world, stream = _day("scenarios/kutim-2024.yaml", 0)
    assert world.n_areas == 1
    a = incident_table(sc, world, run_plan(sc, world, stream, "mobile", partitioned=True))
    b = incident_table(sc, world, run_plan(sc, world, stream, "mobile", partitioned=False))
    pd.testing.assert_frame_equal(a, b)


def test_a_day_split_into_area_tasks_is_the_day_run_whole(two_regions, tmp_path, dask_cluster, monkeypatch):
    """One batch on 2 workers: each day's areas run as tasks of their own (on local processes and
    on Dask), put together into the same bytes as the day run in one task."""
    from sim import runner

    split = []
    real = runner._by_area
    monkeypatch.setattr(runner, "_by_area", lambda *a: split.append(1) or real(*a))
    common = [str(two_regions), "--reps", "2", "--plans", PLAN, "--quiet", "--no-report"]
    for name, backend in (("one", ["--workers", "1"]), ("w2", ["--workers", "2"]), ("dask", ["--dask", dask_cluster])):
        assert main(["run", *common, *backend, "--out", str(tmp_path / name)]) == 0
    assert len(split) == 2  # the two 2-worker runs split their day, the 1-worker run did not
    for table in ("incidents.csv", "units.csv", "timeseries.csv", "kpis.csv", "summary.csv"):
        one = (tmp_path / "one" / table).read_bytes()
        assert one == (tmp_path / "w2" / table).read_bytes() == (tmp_path / "dask" / table).read_bytes(), table


def test_area_groups_balance_the_work(two_regions):
    world = build_world(load_scenario(_variant(two_regions, "plain", lambda raw: None)))
    sizes = [len(n) for n in world.area_nodes()]
    assert sum(sizes) == world.n_nodes and sorted(np.concatenate(world.area_nodes()).tolist()) == list(
        range(world.n_nodes)
    )
    from sim.experiment import area_groups

    assert area_groups(world, 4) == [[0], [1]]  # never more groups than areas
    assert area_groups(world, 1) == [[0, 1]]


def test_guard_schedules_of_areas_merge_into_the_days():
    """The guard schedule computed area by area (as the area tasks do) and merged is the one
    computed for every TPS at once: boxes, absences and the unguarded-TPS series."""
    from sim.generate import counting_times
    from sim.guards import guard_schedule, merged

    sc = load_scenario("scenarios/synthetic/kaltim-size.yaml")
    world = build_world(sc)
    count_end, _ = counting_times(sc, world, 3, 0)
    for plan in sc.spec.plans.values():
        whole = guard_schedule(world, plan, count_end, sc.timeline.logistics_start)
        parts = []
        for nodes in world.area_nodes():
            parts.append(
                guard_schedule(world, plan, count_end, sc.timeline.logistics_start, nodes[nodes < world.n_tps])
            )
        day = merged(parts, count_end)
        assert len(whole.unguarded_t) > 100 and whole.absent
        for f in ("box_departs", "unguarded_t", "unguarded_n"):
            assert (
                np.array_equal(getattr(whole, f), getattr(day, f)) and getattr(whole, f).dtype == getattr(day, f).dtype
            )
        assert day.absent == whole.absent
