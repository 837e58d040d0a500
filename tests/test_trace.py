"""Exact traces on a hand-sized scenario: every time below is worked out by hand.

scenarios/checks/trace.yaml: one patrol at post P; travel P-A 10, P-B 20, A-B 15 minutes; no
setup, noise or report delay. ``gangguan`` takes 30 min on scene and escalates to ``bentrok``
(priority 1, 60 min on scene) if nobody has arrived 25 min after the report.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import trace_copy

from sim.generate import ESCALATION_STEPS, MAX_UNITS, IncidentStream
from sim.model import run_plan
from sim.records import incident_table, timeseries_table, unit_table
from sim.scenario import PHASES, load_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parent.parent
GANGGUAN, BENTROK = 0, 1


@pytest.fixture(scope="module")
def trace():
    sc = load_scenario(ROOT / "scenarios/checks/trace.yaml")
    return sc, build_world(sc)


def make_stream(world, events, escalate=True, count_end=10_000.0):
    """A hand-made stream: events are (t_occur, site_id, type index)."""
    idx = world.node_index()
    n = len(events)
    scene = np.tile([30.0, 60.0], (n, 1))
    return IncidentStream(
        replication=0,
        t_occur=np.asarray([e[0] for e in events], dtype=float),
        t_report=np.asarray([e[0] for e in events], dtype=float),
        site=np.asarray([idx[e[1]] for e in events]),
        kind=np.asarray([e[2] for e in events]),
        phase=np.full(n, PHASES.index("voting")),
        generation=np.zeros(n, dtype=np.int64),
        scene_min=scene,
        coin_linmas=np.ones(n),
        coin_guard=np.ones(n),
        coin_escalate=np.zeros((n, ESCALATION_STEPS)) if escalate else np.ones((n, ESCALATION_STEPS)),
        noise=np.ones((n, MAX_UNITS)),
        count_end=np.full(world.n_tps, count_end),
        escort_end=np.full(world.n_tps, count_end),
    )


def rows(df, cols):
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in r)
        for r in df[cols].itertuples(index=False)
    ]


def test_queue_retask_and_escalation_trace(trace):
    sc, world = trace
    stream = make_stream(
        world, [(400, "A", GANGGUAN), (420, "B", GANGGUAN), (430, "A", GANGGUAN), (595, "B", GANGGUAN)]
    )
    rec = run_plan(sc, world, stream, "one")
    inc = incident_table(sc, world, rec)
    # 1: sent at 400, arrives 410 (P-A 10), clears 440.
    # 2: reported 420, unit busy -> queued; at 440 the unit is re-tasked from A: A-B 15 -> arrives 455.
    #    Nobody there at 420+25=445 -> escalates to bentrok (60 min): clears 515.
    # 3: reported 430, queued behind 2 (same priority, later); escalates at 455 -> priority 1;
    #    at 515 the unit goes B-A 15 -> arrives 530, clears 590 (bentrok); heads back to P (10 min).
    # 4: at 595 the unit is half-way from A to P: travel 0.5*P-B + 0.5*A-B = 17.5 -> arrives 612.5,
    #    before 595+25, so no escalation; clears 642.5.
    assert rows(
        inc,
        [
            "incident_id",
            "type",
            "t_report",
            "t_dispatch",
            "t_arrive",
            "t_clear",
            "wait_min",
            "response_min",
            "escalated",
        ],
    ) == [
        (0, "gangguan", 400.0, 400.0, 410.0, 440.0, 0.0, 10.0, False),
        (1, "bentrok", 420.0, 440.0, 455.0, 515.0, 20.0, 35.0, True),
        (2, "bentrok", 430.0, 515.0, 530.0, 590.0, 85.0, 100.0, True),
        (3, "gangguan", 595.0, 595.0, 612.5, 642.5, 0.0, 17.5, False),
    ]
    units = unit_table(rec, sc.timeline.horizon)
    assert rows(units, ["incident_id", "t_dispatch", "t_arrive", "t_clear", "t_back", "retasked"]) == [
        (0, 400.0, 410.0, 440.0, None, False),
        (1, 440.0, 455.0, 515.0, None, True),
        (2, 515.0, 530.0, 590.0, None, True),
        (3, 595.0, 612.5, 642.5, 662.5, True),
    ]


def test_priority_queue_serves_urgent_first(trace):
    sc, world = trace
    # The unit is busy at A from 410 to 440. While it is away, B reports a gangguan (priority 2) at
    # 415 and A a bentrok (priority 1) at 420: the bentrok is served first, from A (0 min away).
    stream = make_stream(world, [(400, "A", GANGGUAN), (415, "B", GANGGUAN), (420, "A", BENTROK)], escalate=False)
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    assert rows(inc, ["incident_id", "t_dispatch", "t_arrive", "t_clear"]) == [
        (0, 400.0, 410.0, 440.0),
        (1, 500.0, 515.0, 545.0),  # after the bentrok clears at 440 + 60 = 500, A-B 15
        (2, 440.0, 440.0, 500.0),
    ]


def test_no_escalation_when_the_coin_says_no(trace):
    sc, world = trace
    stream = make_stream(world, [(400, "A", GANGGUAN), (420, "B", GANGGUAN)], escalate=False)
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    assert list(inc["type"]) == ["gangguan", "gangguan"]
    assert inc["t_clear"].tolist() == [440.0, 485.0]  # 440 + A-B 15 + 30


def test_unreached_incident_is_open_at_end(trace):
    sc, world = trace
    horizon = sc.timeline.horizon
    stream = make_stream(world, [(horizon - 5, "B", GANGGUAN)], escalate=False)
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    assert inc["outcome"].tolist() == ["open_at_end"]
    assert math.isnan(inc["t_arrive"].iloc[0]) and inc["t_dispatch"].iloc[0] == horizon - 5


def test_on_site_resolution_and_escort_trace(tmp_path):
    def change(data):
        plan = data["plans"]["one"]
        plan["tps_guards"]["kurang_rawan"] = {"officers": 1, "per_tps": 2}  # A and B share one guard
        plan["linmas_per_tps"] = 2
        plan["escort"] = {"by": "tps_guard", "handover_min": 30, "return_to_cluster": True}
        data["incidents"]["types"]["gangguan"]["onsite"] = {"linmas": 0.5, "tps_guard": 0.5}

    ppk_legs = "A,PPK Kec,30\nPPK Kec,A,30\nB,PPK Kec,40\nPPK Kec,B,40\n"
    sc, world = _edited_trace(tmp_path, change, extra_matrix=ppk_legs)

    stream = make_stream(
        world,
        [(500, "A", GANGGUAN), (510, "B", GANGGUAN), (850, "B", GANGGUAN), (860, "A", GANGGUAN)],
        escalate=False,
        count_end=840.0,
    )
    stream.coin_linmas[:] = [0.3, 0.7, 0.7, 0.1]
    stream.coin_guard[:] = [0.9, 0.2, 0.2, 0.2]
    stream.phase[:] = [PHASES.index(p) for p in ("voting", "voting", "counting", "escort")]
    rec = run_plan(sc, world, stream, "one")
    inc = incident_table(sc, world, rec)
    # 0: Linmas (coin 0.3 < 0.5) resolve it on site: cleared after its 30 min on scene.
    # 1: Linmas cannot (0.7), the cluster guard is present and can (0.2 < 0.5).
    # 2: counting ended at 840 at both TPS; the one guard left with A's box at 840 and is away
    #    until 840 + 30 + 30 handover + 30 back = 930, so at 850 B is unguarded: the patrol comes
    #    from P (20 min).
    # 3: during the escort Linmas are not with the box, the guard is (0.2 < 0.5).
    assert rows(inc, ["resolved_by", "t_report", "t_arrive", "t_clear", "outcome"]) == [
        ("linmas", None, None, 530.0, "resolved_on_site"),
        ("tps_guard", None, None, 540.0, "resolved_on_site"),
        ("units", 850.0, 870.0, 900.0, "cleared"),
        ("tps_guard", None, None, 890.0, "resolved_on_site"),
    ]
    # B is unguarded from 840 (guard away with A's box) until the guard is back at 930, when it
    # leaves at once with B's box.
    table = timeseries_table(rec)
    ts = list(zip(table["t"], table["unguarded_tps"], strict=True))
    assert (840.0, 1) in ts and (930.0, 0) in ts
    assert all(u == 0 for t, u in ts if t < 840 or t > 930)


def _edited_trace(tmp_path, change, extra_tps: str = "", extra_matrix: str = ""):
    sc = load_scenario(trace_copy(tmp_path, change, extra_tps=extra_tps, extra_matrix=extra_matrix))
    return sc, build_world(sc)


def test_multi_unit_dispatch_with_tni_backup(tmp_path):
    def change(d):
        d["forces"]["tni"] = 10
        d["plans"]["one"]["tni_backup"] = [{"post": "P", "units": 1, "crew": 5, "kind": "tni"}]
        d["incidents"]["types"]["bentrok"]["response"] = {"roles": ["patrol"], "units": 2}
        d["dispatch"] = {"policy": "nearest", "tni_max_priority": 1}

    sc, world = _edited_trace(tmp_path, change)
    stream = make_stream(world, [(400, "B", GANGGUAN), (405, "A", BENTROK), (410, "A", GANGGUAN)], escalate=False)
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    # 0: the patrol goes P-B (20): 400 -> 420, clears 450.
    # 1: a bentrok needs 2 units; no police unit is free, priority 1 <= tni_max_priority, so the TNI
    #    unit goes at once (P-A 10, first arrival 415); the patrol follows when free at 450 (B-A 15,
    #    465); on-scene time runs once both are there: 465 + 60 = 525.
    # 2: priority 2 may not take TNI: it waits for the patrol, free at A at 525 (0 min away).
    assert rows(inc, ["t_dispatch", "t_arrive", "t_clear", "units"]) == [
        (400.0, 420.0, 450.0, "P-patrol-1"),
        (405.0, 415.0, 525.0, "P-tni-1;P-patrol-1"),
        (525.0, 525.0, 555.0, "P-patrol-1"),
    ]


@pytest.mark.parametrize(("policy", "unit"), [("nearest", "P-patrol-1"), ("district", "Q-patrol-1")])
def test_dispatch_policies(tmp_path, policy, unit):
    def change(d):
        d["sites"]["ppk"].append({"kecamatan": "Kec2", "position": [0.0, 117.3]})
        d["sites"]["posts"][0]["covers"] = ["Kec"]
        d["sites"]["posts"].append({"id": "Q", "name": "Post Q", "kecamatan": "Kec2", "position": [0.0, 117.3]})
        d["plans"]["one"]["patrols"].append({"post": "Q", "units": 1, "crew": 2})
        d["dispatch"] = {"policy": policy}

    # C lies in Kec2, served by post Q (30 min away) but nearer to P (25 min).
    sc, world = _edited_trace(
        tmp_path, change, "C,Kec2,Desa,0.0,117.3,100,kurang_rawan,0,0,0\n", "P,C,25\nC,P,25\nQ,C,30\nC,Q,30\n"
    )
    stream = make_stream(world, [(400, "C", GANGGUAN)], escalate=False)
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    assert inc["units"].tolist() == [unit]
    assert inc["t_arrive"].tolist() == [425.0 if policy == "nearest" else 430.0]


@pytest.mark.parametrize("escort", ["tps_guard", "none", "no_return"])
def test_single_tps_shortcut_matches_the_general_sweep(monkeypatch, escort):
    from sim import guards
    from sim.generate import counting_times

    sc = load_scenario(ROOT / "scenarios/kutim-2024.yaml")
    world = build_world(sc)
    count_end, _ = counting_times(sc, world, 1, 0)
    for name, plan in sc.spec.plans.items():
        if escort == "none":
            plan = plan.model_copy(update={"escort": plan.escort.model_copy(update={"by": "none"})})
        elif escort == "no_return":
            plan = plan.model_copy(update={"escort": plan.escort.model_copy(update={"return_to_cluster": False})})
        fast = guards.guard_schedule(world, plan, count_end, sc.timeline.logistics_start)
        monkeypatch.setattr(guards, "SINGLE_TPS_SHORTCUT", False)
        slow = guards.guard_schedule(world, plan, count_end, sc.timeline.logistics_start)
        monkeypatch.setattr(guards, "SINGLE_TPS_SHORTCUT", True)
        assert fast.absent == slow.absent, name
        assert np.array_equal(fast.unguarded_t, slow.unguarded_t) and np.array_equal(fast.unguarded_n, slow.unguarded_n)
        assert np.array_equal(fast.box_departs, slow.box_departs)
        assert (fast.unguarded_n >= 0).all()


@pytest.mark.parametrize(
    ("cap", "expected"), [(None, (405.0, 605.0, "F-patrol-1")), (60, (440.0, 440.0, "P-patrol-1"))]
)
def test_max_travel_waits_for_a_nearer_unit(tmp_path, cap, expected):
    def change(d):
        d["sites"]["posts"].append({"id": "F", "name": "Far post", "kecamatan": "Kec", "position": [0.0, 117.0]})
        d["plans"]["one"]["patrols"].append({"post": "F", "units": 1, "crew": 2})
        if cap is not None:
            d["dispatch"] = {"max_travel_min": cap}

    # F is 200 min from A and B. The P unit is busy at A from 400 to 440 when A reports again at 405.
    # Without a cap the free F unit is sent (405 + 200 = 605); with a 60-min cap it is not, because
    # P (10 min from A) exists: the incident waits for P, re-tasked at A at 440 (0 min away).
    sc, world = _edited_trace(tmp_path, change, extra_matrix="F,A,200\nA,F,200\nF,B,200\nB,F,200\n")
    stream = make_stream(world, [(400, "A", GANGGUAN), (405, "A", GANGGUAN)], escalate=False)
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    assert rows(inc, ["t_dispatch", "t_arrive", "units"])[1] == expected
