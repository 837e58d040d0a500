"""Incident generation: rates, multipliers, hours, outbreaks and the per-incident draws."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import trace_copy

from sim.generate import PER_INCIDENT, counting_times, generate, joined, poisson_cells, quantile
from sim.scenario import PHASES, Dist, load_scenario
from sim.world import build_world


def scenario(tmp_path: Path, change, tps_rows: str | None = None):
    sc = load_scenario(trace_copy(tmp_path, change, tps_rows))
    return sc, build_world(sc)


def test_expected_counts_follow_rates_and_multipliers(tmp_path):
    def change(d):
        t = d["incidents"]["types"]["gangguan"]
        t["rate_per_site_hour"] = {"voting": 0.5}
        t["class_multiplier"] = {"rawan": 3.0}
        t["flag_multiplier"] = {"blank_spot": 2.0}
        d["incidents"]["types"]["bentrok"]["rate_per_site_hour"] = {"logistics": 0.1}

    rows = "A,Kec,D,0.0,117.1,100,rawan,1,0,0\nB,Kec,D,0.0,117.2,100,kurang_rawan,0,0,0\n"
    sc, world = scenario(tmp_path, change, rows)
    # By hand: gangguan during 6 h of voting: A 0.5*3*2*6 = 18, B 0.5*6 = 3; bentrok during the
    # 7 h of logistics (00:00-07:00): 0.1*7 per TPS = 0.7 each.
    expected = {(0, 0): 18.0, (1, 0): 3.0, (0, 1): 0.7, (1, 1): 0.7}
    reps = 400
    counts = {k: [] for k in expected}
    for r in range(reps):
        s = generate(sc, world, 3, r)
        for site, kind in expected:
            counts[(site, kind)].append(int(((s.site == site) & (s.kind == kind)).sum()))
        assert set(np.asarray(PHASES)[s.phase]) <= {"voting", "logistics"}
    for key, mean in expected.items():
        observed = np.mean(counts[key])
        # Poisson: the mean of 400 counts has sd sqrt(mean/400); allow 4 sd.
        assert abs(observed - mean) < 4 * math.sqrt(mean / reps), (key, observed, mean)


def test_hourly_multiplier_shapes_the_day(tmp_path):
    def change(d):
        d["incidents"]["types"]["gangguan"]["rate_per_site_hour"] = {"voting": 2.0}
        d["incidents"]["hourly_multiplier"] = {7: 0.0, 8: 3.0}

    sc, world = scenario(tmp_path, change)
    t = np.concatenate([generate(sc, world, 1, r).t_occur for r in range(100)])
    hour = (t // 60).astype(int) % 24  # epoch is midnight
    assert not (hour == 7).any()
    # Expected per TPS: 3x the rate in hour 8 against 1x in hours 9..12.
    assert (hour == 8).sum() / (hour == 9).sum() == pytest.approx(3.0, rel=0.2)


def test_outbreak_raises_rates_nearby_for_its_duration(tmp_path):
    def change(d):
        g = d["incidents"]["types"]["gangguan"]
        g["rate_per_site_hour"] = {"voting": 0.05}
        g["outbreak"] = {"probability": 1.0, "radius_km": 5.0, "multiplier": 4.0, "duration_h": 1.0}

    # A and B are 11 km apart: an outbreak at one never reaches the other.
    sc, world = scenario(tmp_path, change)
    n0 = n1 = 0
    for r in range(1500):
        s = generate(sc, world, 2, r)
        base = s.generation == 0
        n0 += base.sum()
        for j in np.flatnonzero(s.generation == 1):
            parents = np.flatnonzero(
                base & (s.site == s.site[j]) & (s.t_occur <= s.t_occur[j]) & (s.t_occur >= s.t_occur[j] - 60)
            )
            assert len(parents) > 0
        n1 += (s.generation == 1).sum()
    # Each trigger adds (4-1) x 0.05/h x 1 h = 0.15 expected offspring at its own TPS (the raised
    # rate is the one at the trigger time; offspring after 13:00 fall in counting, still open).
    assert abs(n1 - 0.15 * n0) < 4 * math.sqrt(0.15 * n0), (n1, n0)


def test_counting_grows_with_voters(tmp_path):
    def change(d):
        d["phases"]["counting"] = {"base_min": 60, "per_voter_min": 0.5, "turnout": 0.8, "cv": 0, "max_min": 300}

    rows = "A,Kec,D,0.0,117.1,100,kurang_rawan,0,0,0\nB,Kec,D,0.0,117.2,1000,kurang_rawan,0,0,0\n"
    sc, world = scenario(tmp_path, change, rows)
    count_end, escort_end = counting_times(sc, world, 1, 0)
    # A: 60 + 0.5 * 0.8 * 100 = 100 min after 13:00; B: 60 + 400 = 460, capped at 300.
    assert count_end.tolist() == [780 + 100, 780 + 300]
    # The box then travels to the PPK (matrix has no TPS-PPK pair: formula, PPK at lon 117.0).
    assert (escort_end > count_end).all()


def test_quantiles_by_hand():
    u = np.asarray([0.5])
    assert quantile(Dist(dist="exponential", mean=10), u)[0] == pytest.approx(10 * math.log(2))
    assert quantile(Dist(dist="uniform", low=10, high=20), u)[0] == 15
    assert quantile(Dist(dist="fixed", mean=7), u)[0] == 7
    # Lognormal median = mean / sqrt(1 + cv^2).
    assert quantile(Dist(dist="lognormal", mean=30, cv=0.5), u)[0] == pytest.approx(30 / math.sqrt(1.25))


def test_streams_are_reproducible_and_independent(tmp_path):
    def change(d):
        d["incidents"]["types"]["gangguan"]["rate_per_site_hour"] = {"voting": 1.0}

    sc, world = scenario(tmp_path, change)
    a, b, c = generate(sc, world, 9, 0), generate(sc, world, 9, 0), generate(sc, world, 9, 1)
    assert np.array_equal(a.t_occur, b.t_occur) and np.array_equal(a.noise, b.noise)
    assert not np.array_equal(a.t_occur[:3], c.t_occur[:3])


def test_poisson_cells_give_independent_poisson_counts():
    # Means by hand, zeros among them: every cell's count must be Poisson with its mean (mean and
    # variance equal, so the total is not fixed as in a multinomial), and an empty cell never drawn.
    lam = np.array([[0.0, 2.0, 0.5], [0.0, 0.0, 6.0], [1.5, 0.0, 0.0]])
    rng = np.random.default_rng(5)
    reps = 4000
    counts = np.zeros((reps, *lam.shape))
    for r in range(reps):
        rows, cols = poisson_cells(lam, rng)
        np.add.at(counts[r], (rows, cols), 1)
    mean, var = counts.mean(axis=0), counts.var(axis=0, ddof=1)
    assert (counts[:, lam == 0] == 0).all()
    se = np.sqrt(np.where(lam > 0, lam, 1.0) / reps)
    assert (np.abs(mean - lam) < 4 * se).all(), mean
    assert (np.abs(var - lam)[lam > 0] < 0.25 * lam[lam > 0]).all(), var  # Poisson: variance = mean
    total = counts.sum(axis=(1, 2))
    # Poisson total of mean 10: its variance is 10 too (a sample variance of 4,000 has sd ~0.23).
    assert total.var(ddof=1) == pytest.approx(lam.sum(), abs=1.2)
    assert poisson_cells(np.zeros((4, 2)), rng)[0].size == 0


def test_a_day_drawn_area_by_area_is_the_day_drawn_whole(tmp_path):
    from sim.synth import write_synthetic

    write_synthetic(600, 3, 4, tmp_path, "three")
    sc = load_scenario(tmp_path / "three.yaml")
    world = build_world(sc)
    assert world.n_areas == 3
    whole = generate(sc, world, 7, 2)
    parts = [generate(sc, world, 7, 2, areas=[a]) for a in range(3)]
    together = joined(parts)
    area = world.node_area()
    for a, part in enumerate(parts):
        assert len(part) > 0 and (area[part.site] == a).all()
        own = whole.subset(np.flatnonzero(area[whole.site] == a))
        for f in PER_INCIDENT:  # an area's own incidents, with the same draws, in the same order
            assert np.array_equal(getattr(own, f), getattr(part, f)), f
    for f in PER_INCIDENT:
        assert np.array_equal(getattr(whole, f), getattr(together, f)), f
    pair = generate(sc, world, 7, 2, areas=[0, 2])
    assert np.array_equal(pair.t_occur, joined([parts[0], parts[2]]).t_occur)
