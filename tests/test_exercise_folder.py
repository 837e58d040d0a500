"""Exercise folders are run folders: the same pipeline, the same provenance, re-rendered by `report`.

Also the model's small read-only API the exercise and console stand on (typed events, views,
the one per-incident structure, the one unit-id format).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, trace_copy
from test_trace import GANGGUAN, make_stream

from sim import UserError, load_scenario
from sim.cli import main
from sim.model import (
    ElectionDay,
    EventKind,
    IncidentOutcome,
    IncidentRecords,
    ModelEvent,
    ResolvedBy,
    UnitNumbering,
    UnitState,
    split_unit_id,
    unit_id,
)
from sim.records import INCIDENT_COLUMNS
from sim.report.data import RunData
from sim.report.exercise import EXERCISE_TABLES, ExerciseData
from sim.study import prepare_exercise
from sim.world import build_world

KUTIM = ROOT / "scenarios" / "kutim-2024.yaml"
KUTIM_INJECTS = ROOT / "scenarios" / "exercises" / "kutim-latihan-pra-operasi.csv"
HEADER = "number,time,kind,target,type,priority,value,duration,role,message,expected_action\n"
TABLES = ("timeline.csv", "decision_points.csv", "aar.csv", "injects.csv", "incidents.csv", "units.csv")


def run_folder(out: Path) -> int:
    return main(["run", str(KUTIM), "--reps", "1", "--workers", "1", "--no-report", "--quiet", "--out", str(out)])


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def test_an_empty_events_list_plays_exactly_the_days_of_run(tmp_path):
    """Header only, background on: the incident and unit logs of `run` with that seed and plan."""
    events = tmp_path / "empty.csv"
    events.write_text(HEADER)
    common = ["--reps", "2", "--seed", "7", "--quiet"]
    e = ["exercise", str(KUTIM), "--injects", str(events), "--plan", "mobile", *common, "--out", str(tmp_path / "e")]
    r = ["run", str(KUTIM), "--plans", "mobile", "--workers", "1", "--no-report", *common, "--out", str(tmp_path / "r")]
    assert main(e) == 0 and main(r) == 0
    for name in ("incidents.csv", "units.csv", "sites.csv", "targets.csv"):
        assert (tmp_path / "e" / name).read_bytes() == (tmp_path / "r" / name).read_bytes(), name
    ex = ExerciseData.load(tmp_path / "e")
    used = [c for c in INCIDENT_COLUMNS if c in EXERCISE_TABLES["incidents.csv"]]  # read column-wise
    assert len(ex.incidents) > 100 and list(ex.incidents.columns) == used  # in the file's order
    assert len(used) == len(set(EXERCISE_TABLES["incidents.csv"]))
    assert ex.aar.empty and ex.events.empty and not ex.played
    # The timeline is the same day seen by a trainer: one report row per dispatched incident.
    reported = ex.incidents["t_report"].notna().sum()
    assert (ex.timeline["event"] == "report").sum() == reported


@pytest.fixture(scope="module")
def exercise_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ex") / "e"
    argv = ["exercise", str(KUTIM), "--injects", str(KUTIM_INJECTS), "--reps", "2", "--out", str(folder), "--quiet"]
    assert main(argv) == 0
    return folder


def test_report_renders_an_exercise_folder_in_the_other_language(exercise_folder, tmp_path):
    folder = tmp_path / "copy"
    import shutil

    shutil.copytree(exercise_folder, folder)
    tables = digests(folder)
    id_aar, id_html = (folder / "aar.md").read_bytes(), (folder / "timeline.html").read_bytes()
    assert "Ringkasan pasca-latihan" in id_aar.decode() and '<html lang="id">' in id_html.decode()

    assert main(["report", str(folder), "--lang", "en"]) == 0
    assert digests(folder) == tables  # the tables are language-free: not one byte changes
    en = (folder / "aar.md").read_text(encoding="utf-8")
    assert en.startswith("# After-action review") and "Ringkasan" not in en
    html = (folder / "timeline.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and " arrived at TPS " in html and "setelah laporan" not in html
    assert json.loads((folder / "report.json").read_text())["lang"] == "en"

    assert main(["report", str(folder), "--lang", "id"]) == 0  # and back: the same bytes as played
    assert (folder / "aar.md").read_bytes() == id_aar
    assert (folder / "timeline.html").read_bytes() == id_html


def test_report_refuses_a_tampered_exercise_folder(exercise_folder, tmp_path, capsys):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(exercise_folder, folder)
    before = (folder / "aar.md").read_bytes()
    path = folder / "aar.csv"
    text = path.read_text()
    assert ",true," in text
    path.write_text(text.replace(",true,", ",false,", 1))
    assert main(["report", str(folder), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"{folder}: aar.csv: does not match its checksum in the manifest (changed after the run)"
    assert (folder / "aar.md").read_bytes() == before  # nothing rewritten


def test_exercise_and_run_folders_carry_one_provenance_record(exercise_folder, tmp_path):
    assert run_folder(tmp_path / "r") == 0
    run = json.loads((tmp_path / "r" / "manifest.json").read_text())
    ex = json.loads((exercise_folder / "manifest.json").read_text())
    common = set(run) - {"baseline", "reference_point", "precision", "batch_size"}  # the experiment's own
    assert common <= set(ex), common - set(ex)
    assert ex["command"] == "exercise" and ex["scenario"]["resolved"] == run["scenario"]["resolved"]
    assert ex["scenario"]["sha256"] == run["scenario"]["sha256"]
    assert ex["exercise"]["events_file"]["sha256"] == hashlib.sha256(KUTIM_INJECTS.read_bytes()).hexdigest()
    assert ex["exercise"]["played_to_end"] is True and ex["replications"] == 2
    for name in TABLES:
        assert ex["files"][name] == hashlib.sha256((exercise_folder / name).read_bytes()).hexdigest()
    assert not (exercise_folder / "job.json").exists() and not (exercise_folder / "batches").exists()


def test_each_reader_refuses_the_other_kind_of_folder(exercise_folder, tmp_path):
    assert run_folder(tmp_path / "r") == 0
    with pytest.raises(UserError, match="not an exercise folder"):
        ExerciseData.load(tmp_path / "r")
    with pytest.raises(UserError, match="an exercise folder"):
        RunData.load(exercise_folder)


def test_an_existing_out_folder_is_refused_before_anything_is_played(tmp_path, capsys):
    out = tmp_path / "e"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    argv = ["exercise", str(KUTIM), "--injects", str(KUTIM_INJECTS), "--out", str(out), "--quiet"]
    assert main(argv) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_the_exercise_api_refuses_what_the_cli_refuses(tmp_path, capsys):
    path = trace_copy(tmp_path, lambda d: d["forces"].update(polri=1))
    events = tmp_path / "injects.csv"
    events.write_text(HEADER)
    assert main(["exercise", str(path), "--injects", str(events), "--out", str(tmp_path / "e")]) == 2
    line = capsys.readouterr().err.strip()
    with pytest.raises(UserError) as info:
        prepare_exercise(load_scenario(path), events)
    assert info.value.line() == line == f"{path}: plans.one: needs 2 polri but forces.polri is 1 (short by 1)"
    with pytest.raises(UserError, match="--step"):
        prepare_exercise(load_scenario(trace_copy(tmp_path)), events, step_min=0)


# --- the model's read-only API -----------------------------------------------------------------


def test_typed_events_of_a_hand_traced_day(tmp_path):
    """trace.yaml: one patrol at P, P-A 10 min, `gangguan` 30 min on scene, no noise or delay.

    An incident at A reported at 600: dispatched at once, arrives 610, clears 640.
    """
    sc = load_scenario(trace_copy(tmp_path))
    world = build_world(sc)
    day = ElectionDay(sc, world, make_stream(world, [(600, "A", GANGGUAN)], escalate=False), "one")
    heard: list[ModelEvent] = []
    day.listen = heard.append
    day.start()
    day.env.run(until=605)
    assert day.queue() == () and [x.index for x in day.open_incidents()] == [0]
    view = day.unit_view("P-patrol-1")
    assert (view.state, view.incident, view.number) == (UnitState.TO_SCENE, 0, 1)
    job = day.assignment("P-patrol-1")
    assert job is not None and job.travel_min == 10.0 and math.isnan(job.t_arrive)
    job.t_arrive = -1.0  # a copy: the model's record is not touched
    day.env.run(until=sc.timeline.horizon)
    assert heard == [
        ModelEvent(600.0, EventKind.REPORT, 0, None),
        ModelEvent(600.0, EventKind.DISPATCH, 0, "P-patrol-1"),
        ModelEvent(610.0, EventKind.ARRIVE, 0, "P-patrol-1"),
        ModelEvent(640.0, EventKind.CLEAR, 0, None),
    ]
    rec = day.records()
    assert rec.assignments[0].t_arrive == 610.0 and rec.assignments[0].t_back == 650.0
    assert rec.incidents.outcome[0] == IncidentOutcome.CLEARED and rec.incidents.resolved_by[0] == ResolvedBy.UNITS
    assert day.open_incidents() == [] and day.unit_view("P-patrol-1").state == UnitState.AT_POST


def test_growing_the_incident_records_grows_every_array():
    rec = IncidentRecords.new(np.asarray([0, 1]), np.asarray([2, 1]))
    added = rec.grow(np.asarray([1]), np.asarray([1]))
    assert added == range(2, 3)
    for name in IncidentRecords.FILL:
        assert len(getattr(rec, name)) == 3, name
    assert len(rec.units) == 3 and rec.kind.tolist() == [0, 1, 1] and rec.priority.tolist() == [2, 1, 1]
    assert math.isnan(rec.t_report[2]) and rec.outcome[2] == IncidentOutcome.OPEN_AT_END
    # every per-incident array of the dataclass is in FILL (forget one and this fails)
    arrays = {f.name for f in dataclasses.fields(IncidentRecords)} - {"units"}
    assert arrays == set(IncidentRecords.FILL)


def test_unit_ids_are_written_and_read_in_one_place(tmp_path):
    sc = load_scenario(trace_copy(tmp_path, lambda d: d["plans"]["one"]["patrols"][0].update(units=2)))
    names, planned = UnitNumbering.of_plan(sc.spec.plans["one"])
    assert [u[0] for u in planned] == ["P-patrol-1", "P-patrol-2"]
    assert names.next("P", "patrol") == unit_id("P", "patrol", 3) == "P-patrol-3"
    assert split_unit_id("polsek-skl-patrol-12") == ("polsek-skl", "patrol", 12)
    day = ElectionDay(sc, build_world(sc), make_stream(build_world(sc), [], escalate=False), "one")
    assert [u.uid for u in day.unit_states()] == ["P-patrol-1", "P-patrol-2"]
    assert day.reinforce("P", "patrol", 1) == ["P-patrol-3"]


def test_the_codes_in_the_tables_are_the_enums():
    assert [r.code for r in ResolvedBy] == ["", "linmas", "tps_guard", "ppk_guard", "units"]
    assert [o.code for o in IncidentOutcome] == ["open_at_end", "resolved_on_site", "cleared", "no_capable_unit"]
    assert UnitState.RETURNING < UnitState.TO_SCENE  # "free" is state <= RETURNING
