"""Dispatch: work conservation, the policy registry and the ``cover`` policy, by exact traces.

Built on scenarios/checks/trace.yaml (one patrol at post P; no setup, noise or report delay;
``gangguan`` priority 2, 30 min on scene). Every time below is worked out by hand from the legs
listed in each test; a returning unit's travel time is interpolated between the scene it left and
its post (sim/model.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import assert_refused, trace_copy
from test_trace import GANGGUAN, make_stream, rows
from workconserving import violations

from sim.cli import main
from sim.dispatch import POLICIES, Policy
from sim.model import run_plan
from sim.records import incident_table, unit_table
from sim.scenario import load_scenario
from sim.world import build_world

HOAKS = 2  # a priority-3 type added by the cover test


def _scenario(tmp_path, change, extra_tps="", extra_matrix=""):
    sc = load_scenario(trace_copy(tmp_path, change, extra_tps=extra_tps, extra_matrix=extra_matrix))
    return sc, build_world(sc)


# --- work conservation ---------------------------------------------------------------------------

FAR_LEGS = (
    "P,Z,100\nZ,P,100\nF,Z,150\nZ,F,150\nF,A,200\nA,F,200\nF,B,200\nB,F,200\nZ,A,110\nA,Z,110\n"
    "P,A2,60\nA2,P,60\nF,A2,200\nA2,F,200\nZ,A2,120\nA2,Z,120\n"
)
FAR_TPS = "Z,Kec,Desa,0.0,117.4,100,kurang_rawan,0,0,0\nA2,Kec,Desa,0.0,117.15,100,kurang_rawan,0,0,0\n"


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        # A: P's car returns Z -> P (530 -> 630); its time to A falls from Z-A 110 to P-A 10 on the
        # way, f 10 + (1 - f) 110, and reaches the 60-min cap at f = 0.5: sent at 530 + 50 = 580,
        # 60 min away -> arrives 640.
        ("A", (580.0, 640.0, 70.0, 130.0)),
        # A2: P-A2 is exactly the cap (60), Z-A2 120: f 60 + (1 - f) 120 = 60 only at f = 1, the
        # moment the car is home (630); sent then, 60 min away -> arrives 690.
        ("A2", (630.0, 690.0, 120.0, 180.0)),
    ],
)
def test_a_waiting_call_goes_to_its_unit_the_moment_the_rules_allow(tmp_path, site, expected):
    """The issue's case: post P's car is far away; a call near P waits for it (held back from the
    far post F); P's car comes back and takes the call as soon as it is within the cap."""

    def change(d):
        d["sites"]["posts"].append({"id": "F", "name": "Far post", "kecamatan": "Kec", "position": [0.0, 117.0]})
        d["plans"]["one"]["patrols"].append({"post": "F", "units": 1, "crew": 2})
        d["dispatch"] = {"max_travel_min": 60}

    sc, world = _scenario(tmp_path, change, FAR_TPS, FAR_LEGS)
    # 0 at Z (400): no unit is based within 60 min of Z, so no hold-back: the nearer P car goes
    #   (100 min, F is 150): arrives 500, clears 530, heads home.
    # 1 at `site` (510): P's car is busy; F's car is free but 200 min away while P (based within the
    #   cap) exists: held back, it waits for P's car.
    stream = make_stream(world, [(400, "Z", GANGGUAN), (510, site, GANGGUAN)], escalate=False)
    rec = run_plan(sc, world, stream, "one")
    inc = incident_table(sc, world, rec)
    assert rows(inc, ["t_dispatch", "t_arrive", "wait_min", "response_min"])[1] == expected
    assert inc["units"].tolist() == ["P-patrol-1", "P-patrol-1"]
    assert violations(sc, world, inc, unit_table(rec, sc.timeline.horizon)) == []


def test_the_checker_sees_a_call_waiting_beside_an_idle_car(tmp_path):
    """The log checker is not blind: logs of a call left waiting while P's car sat at home are flagged."""
    sc, world = _scenario(tmp_path, lambda d: d.update(dispatch={"max_travel_min": 60}))
    stream = make_stream(world, [(400, "A", GANGGUAN), (480, "B", GANGGUAN)], escalate=False)
    rec = run_plan(sc, world, stream, "one")
    inc = incident_table(sc, world, rec)
    un = unit_table(rec, sc.timeline.horizon)
    assert violations(sc, world, inc, un) == []
    # Tamper with the logs: the second call (480) sent 60 min later than it was, while the car
    # (back at P at 450: 400 + 10 + 30 + 10) sat idle.
    late = inc.copy()
    late.loc[1, "t_dispatch"] += 60
    un.loc[1, "t_dispatch"] += 60
    found = violations(sc, world, late, un)
    assert [(f["incident_id"], f["unit_id"]) for f in found] == [(1, "P-patrol-1")]


def test_a_unit_back_in_service_takes_a_held_back_call_elsewhere(tmp_path):
    """A call held back for a unit that then breaks down goes to the far unit at once."""

    def change(d):
        d["sites"]["posts"].append({"id": "F", "name": "Far post", "kecamatan": "Kec", "position": [0.0, 117.0]})
        d["plans"]["one"]["patrols"].append({"post": "F", "units": 1, "crew": 2})
        d["dispatch"] = {"max_travel_min": 60}

    sc, world = _scenario(tmp_path, change, FAR_TPS, FAR_LEGS)
    from sim.model import ElectionDay, UnitState

    stream = make_stream(world, [(400, "Z", GANGGUAN), (510, "A", GANGGUAN)], escalate=False)
    day = ElectionDay(sc, world, stream, "one")
    day.start()
    day.env.run(until=520)
    assert day.queue() == (1,)  # held back for P's car (busy at Z)
    assert day.unit_view("P-patrol-1").state == UnitState.ON_SCENE
    day.take_out("P-patrol-1")  # on scene at Z: it finishes first, then leaves service
    day.env.run(until=531)
    # P's car cleared at 530 and left service: no unit based within 60 min of A is in service, so
    # the hold-back is gone and F's car goes at 530 (200 min away): arrives 730.
    rec = day.records()
    assert rec.incidents.t_dispatch[1] == 530.0 and rec.incidents.units[1] == ["F-patrol-1"]
    assert day.unit_view("P-patrol-1").state == UnitState.OUT_OF_SERVICE


# --- policies ------------------------------------------------------------------------------------


def test_policy_registry_names_the_valid_policies(tmp_path, capsys):
    path = trace_copy(tmp_path, lambda d: d.update(dispatch={"policy": "nonsense"}))
    valid = ", ".join(POLICIES)
    assert_refused(main, path, tmp_path, [], f"dispatch.policy: unknown policy 'nonsense'; valid: {valid}", capsys)
    assert {"nearest", "district", "cover"} <= set(POLICIES)
    assert all(issubclass(p, Policy) and p.summary for p in POLICIES.values())


COVER_TPS = "C,Kec2,Desa,0.0,117.3,100,kurang_rawan,0,0,0\nD,Kec2,Desa,0.0,117.35,100,kurang_rawan,0,0,0\n"
COVER_LEGS = "P,C,25\nC,P,25\nQ,C,30\nC,Q,30\nQ,D,5\nD,Q,5\nP,D,40\nD,P,40\nD,C,10\nC,D,10\n"


def _cover_scenario(tmp_path, policy, p_units=1):
    def change(d):
        d["sites"]["ppk"].append({"kecamatan": "Kec2", "position": [0.0, 117.3]})
        d["sites"]["posts"][0]["covers"] = ["Kec"]
        d["sites"]["posts"].append({"id": "Q", "name": "Post Q", "kecamatan": "Kec2", "position": [0.0, 117.3]})
        d["plans"]["one"]["patrols"] = [
            {"post": "P", "units": p_units, "crew": 2},
            {"post": "Q", "units": 1, "crew": 2},
        ]
        d["incidents"]["types"]["hoaks"] = {
            "priority": 3,
            "rate_per_site_hour": {"voting": 0},
            "on_scene_min": {"dist": "fixed", "mean": 30},
        }
        d["dispatch"] = {"policy": policy}

    return _scenario(tmp_path, change, COVER_TPS, COVER_LEGS)


def _cover_day(sc, world, kind):
    # 0 at D (400): Q's car is 5 min away (P's 40): arrives 405, clears 435.
    # 1 at C (410), of type `kind`.
    stream = make_stream(world, [(400, "D", GANGGUAN), (410, "C", kind)], escalate=False)
    stream = dataclasses.replace(stream, scene_min=np.full((2, 3), 30.0))
    return incident_table(sc, world, run_plan(sc, world, stream, "one"))


@pytest.mark.parametrize(
    ("policy", "kind", "expected"),
    [
        # nearest: P's car (25 min) goes at once: arrives 435.
        ("nearest", HOAKS, (410.0, 435.0, "P-patrol-1")),
        # cover: P's car is its post's last free unit and C (Kec2) is outside P's area: it stays.
        #   The call waits for Q's car, which clears at D at 435 and is 10 min from C: arrives 445.
        ("cover", HOAKS, (435.0, 445.0, "Q-patrol-1")),
        # cover, priority 2: served as under nearest.
        ("cover", GANGGUAN, (410.0, 435.0, "P-patrol-1")),
    ],
)
def test_cover_keeps_a_posts_last_unit_home_for_routine_calls(tmp_path, policy, kind, expected):
    sc, world = _cover_scenario(tmp_path, policy)
    inc = _cover_day(sc, world, kind)
    assert rows(inc, ["t_dispatch", "t_arrive", "units"])[1] == expected


def test_cover_lets_a_second_free_unit_go(tmp_path):
    """With two cars at P, one may leave the area for a routine call: P keeps the other."""
    sc, world = _cover_scenario(tmp_path, "cover", p_units=2)
    inc = _cover_day(sc, world, HOAKS)
    assert rows(inc, ["t_dispatch", "t_arrive", "units"])[1] == (410.0, 435.0, "P-patrol-1")


# --- targets by priority -------------------------------------------------------------------------


def test_a_target_per_priority_must_name_every_priority_used(tmp_path, capsys):
    path = trace_copy(tmp_path, lambda d: d.update(targets={"default_min": {1: 15}}))
    assert_refused(main, path, tmp_path, [], "targets.default_min: no target for priority 2;", capsys)


def test_within_target_uses_the_target_of_the_final_priority(tmp_path):
    """targets {1: 30, 2: 12}: a gangguan (priority 2) reached in 10 min is in time, one reached in
    20 min is late; a call that escalated to bentrok (priority 1) is judged against 30."""
    sc, world = _scenario(tmp_path, lambda d: d.update(targets={"default_min": {1: 30, 2: 12}}))
    # 0 at A (400): 10 min away -> in time (10 <= 12). 1 at B (500): 20 min -> late (20 > 12).
    # 2 at A (600), 3 at B (601): the car takes A (10 min: 610, clears 640); B waits, escalates to
    #   bentrok at 626, is reached at 640 + 15 (A-B) = 655: 54 min > 30 -> late.
    stream = make_stream(
        world, [(400, "A", GANGGUAN), (500, "B", GANGGUAN), (600, "A", GANGGUAN), (601, "B", GANGGUAN)]
    )
    inc = incident_table(sc, world, run_plan(sc, world, stream, "one"))
    assert rows(inc, ["priority", "response_min", "target_min", "within_target"]) == [
        (2, 10.0, 12.0, True),
        (2, 20.0, 12.0, False),
        (2, 10.0, 12.0, True),
        (1, 54.0, 30.0, False),
    ]
