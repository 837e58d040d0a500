"""Hardening, second round (issue 14, classes 2 and 3): numbers the schema accepted but the model
could not use, and YAML that silently meant something else.

One test per class of fault. Each builds a broken copy of ``scenarios/checks/trace.yaml`` (or an
events list for it), runs the command line on it and checks what a user sees: exit 2, one line on
stderr naming the file, the key (or row, or line) and what would be valid, no traceback, nothing
written. Every case here once crashed (``OverflowError``, ``ValueError`` from the YAML reader, a
half-written folder) or was silently read as something else; the comment says which.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_refused, set_in, trace_copy
from pydantic import BaseModel
from test_scenario_docs import README, walk

from sim.cli import main
from sim.scenario import Scenario, load_scenario
from sim.scenario.schema import Range

ROW_B = "B,Kec,Desa,0.0,117.2,100,kurang_rawan,0,0,0\n"


def edited(*keys: Any, value: Any) -> Callable[[Path], Path]:
    return lambda folder: trace_copy(folder, set_in(*keys, value=value))


def text_edit(old: str, new: str) -> Callable[[Path], Path]:
    """Edit the YAML as text (for what a parsed-and-dumped copy cannot show: repeated keys, aliases)."""

    def make(folder: Path) -> Path:
        path = trace_copy(folder)
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))
        return path

    return make


def appended(tail: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = trace_copy(folder)
        path.write_text(path.read_text() + tail)
        return path

    return make


Case = tuple[str, Callable[[Path], Path], str]


def refused(cases: list[Case]) -> Any:
    return pytest.mark.parametrize(("make", "fragment"), [c[1:] for c in cases], ids=[c[0] for c in cases])


# --- class 2: numbers the schema accepted but the model could not use --------------------------

OUT_OF_RANGE: list[Case] = [
    # ValueError / OverflowError inside the run, half-written folder (or a crash of the process).
    (
        "road_factor 1e308",
        edited("travel", "road_factor", value=1e308),
        "travel.road_factor: Input should be less than or equal to 10; valid: a number from 1 to 10, not 1e+308",
    ),
    (
        "road speed 1e-300",
        edited("travel", "speed_kmh", value={"road": 1e-300}),
        "travel.speed_kmh.road: Input should be greater than or equal to 1; valid: a number from 1 to 200, not 1e-300",
    ),
    (
        "noise_cv 1e308",
        edited("travel", "noise_cv", value=1e308),
        "travel.noise_cv: Input should be less than or equal to 2; valid: a number from 0 to 2, not 1e+308",
    ),
    (
        "counting cv 1e308",
        edited("phases", "counting", "cv", value=1e308),
        "phases.counting.cv: Input should be less than or equal to 2; valid: a number from 0 to 2, not 1e+308",
    ),
    (
        "on-scene cv",
        edited("incidents", "types", "gangguan", "on_scene_min", value={"dist": "lognormal", "mean": 30, "cv": 1e200}),
        "incidents.types.gangguan.on_scene_min.cv: Input should be less than or equal to 2",
    ),
    (
        "on-scene mean past any window",
        edited("incidents", "types", "gangguan", "on_scene_min", "mean", value=1e300),
        "on_scene_min.mean: Input should be less than or equal to 576,000; valid: a number from 0 to 576,000",
    ),
    (
        "access speed 0.5",
        edited("travel", "access", value={"Kec": {"speed_kmh": 0.5}}),
        "travel.access.Kec.speed_kmh: Input should be greater than or equal to 1; valid: a number from 1 to 200, "
        "not 0.5",
    ),
    (
        "units 1e9 in a group",
        edited("plans", "one", "patrols", 0, "units", value=10**9),
        "plans.one.patrols.0.units: Input should be less than or equal to 1,000; valid: a whole number from 0 to 1,000",
    ),
    (
        "a target of 0",
        edited("targets", "default_min", value={1: 20, 2: 0}),
        "targets.default_min.2: Input should be greater than 0; valid: a number more than 0 and at most 576,000, not 0",
    ),
    (
        "a multiplier of 1e300",
        edited("incidents", "types", "gangguan", "class_multiplier", value={"rawan": 1e300}),
        "class_multiplier.rawan: Input should be less than or equal to 100",
    ),
    (
        "a seed too long for a folder name",
        edited("seed", value=10**40),
        "seed: Input should be less than or equal to 4,294,967,295",
    ),
    (
        "matrix minutes 1e308",
        lambda folder: trace_copy(folder, extra_matrix="A,P,1e308\n"),
        "trace_matrix.csv: row 8 column minutes: '1e308': must be a number from 0 to 576,000",
    ),
]


@refused(OUT_OF_RANGE)
def test_a_number_the_model_cannot_compute_with_is_refused(tmp_path, capsys, make, fragment):
    assert_refused(main, make(tmp_path), tmp_path, [], fragment, capsys)


# --- class 3: a yes/no where a number belongs, a number where a yes/no belongs -----------------

YES_NO: list[Case] = [
    # Each was silently read as 1, 0 or True.
    (
        "road_factor: yes",
        text_edit("  setup_min: 0\n", "  setup_min: 0\n  road_factor: yes\n"),
        "trace.yaml: travel.road_factor: expected a number, not true (YAML reads yes/no and on/off as true/false)",
    ),
    (
        "units: on",
        text_edit("{post: P, units: 1, crew: 2}", "{post: P, units: on, crew: 2}"),
        "plans.one.patrols.0.units: expected a number, not true",
    ),
    (
        "a latitude of no",
        text_edit("position: [0.0, 117.0]}\n  kpu", "position: [no, 117.0]}\n  kpu"),
        "sites.ppk.0.position.0: expected a number, not false",
    ),
    (
        "an hour key of yes",
        text_edit("targets:", "  hourly_multiplier: {yes: 2}\ntargets:"),
        "incidents.hourly_multiplier.true: expected a number, not true",
    ),
    (
        "return_to_cluster: 1",
        text_edit(
            "      - {post: P, units: 1, crew: 2}\n",
            "      - {post: P, units: 1, crew: 2}\n    escort: {return_to_cluster: 1}\n",
        ),
        "plans.one.escort.return_to_cluster: expected true or false (yes/no), not the value 1",
    ),
    (
        "allow_data_outside: 1",
        appended("allow_data_outside: 1\n"),
        "trace.yaml: allow_data_outside: expected true or false (yes/no), not the value 1",
    ),
    (
        "blank_spot 2",
        lambda folder: trace_copy(folder, tps_rows="A,Kec,Desa,0.0,117.1,100,kurang_rawan,2,0,0\n" + ROW_B),
        "trace_tps.csv: row 2 (A) column blank_spot: '2': a flag is 0 or 1 (or TRUE/FALSE)",
    ),
    (
        "disaster_prone -1",
        lambda folder: trace_copy(folder, tps_rows=ROW_B + "A,Kec,Desa,0.0,117.1,100,kurang_rawan,0,0,-1\n"),
        "trace_tps.csv: row 3 (A) column disaster_prone: '-1': a flag is 0 or 1 (or TRUE/FALSE)",
    ),
]


@refused(YES_NO)
def test_a_yes_no_for_a_number_or_a_number_for_a_yes_no_is_refused(tmp_path, capsys, make, fragment):
    assert_refused(main, make(tmp_path), tmp_path, [], fragment, capsys)


# --- class 3: a key given twice ------------------------------------------------------------------

TWICE: list[Case] = [
    # Plain YAML keeps the last silently: a plan dropped, the seed changed.
    (
        "seed twice",
        text_edit("seed: 1\n", "seed: 1\nseed: 5\n"),
        "trace.yaml: line 10: key 'seed' is given twice, on lines 9 and 10; keep one",
    ),
    (
        "a plan twice",
        text_edit("plans:\n  one:\n", "plans:\n  one:\n    description: first\n  one:\n"),
        "trace.yaml: line 26: key 'one' is given twice, on lines 24 and 26; keep one",
    ),
    (
        "a key twice in a flow mapping",
        text_edit("{post: P, units: 1, crew: 2}", "{post: P, units: 1, crew: 2, units: 3}"),
        "line 32: key 'units' is given twice, on line 32 (columns 19 and 38); keep one",
    ),
    (
        "two spellings of one key",
        text_edit("{dist: fixed, mean: 30}", "{dist: fixed, mean: 30, 'mean': 40}"),
        "line 44: key 'mean' is given twice, on line 44 (columns 35 and 45)",
    ),
    (
        "1 and 0x1",
        text_edit("targets: {default_min: 20}", "targets: {default_min: {1: 20, 0x1: 30, 2: 20}}"),
        "keys '1' and '0x1' are the same key, on line 50",
    ),
]


@refused(TWICE)
def test_a_key_given_twice_is_refused_with_both_lines(tmp_path, capsys, make, fragment):
    assert_refused(main, make(tmp_path), tmp_path, [], fragment, capsys)


# --- class 3: scenario size and alias expansion ----------------------------------------------------

BIG = "x" * 100_000


def laughs(levels: int) -> str:
    """The "billion laughs": each level refers ten times to the one before (10**levels texts)."""
    lines = ["  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "sources:\n" + "\n".join(lines) + "\n"


SIZE: list[Case] = [
    # 111 kB of YAML became a 50 MB manifest; a 20 MB file took 37 s and 604 MB to validate.
    (
        "one text behind 500 aliases",
        appended("sources:\n  a0: &big " + BIG + "\n" + "".join(f"  a{i}: *big\n" for i in range(1, 501))),
        "trace.yaml: its aliases (*name) written out make more than 5 MB; refer to a repeated part fewer times",
    ),
    (
        "nested aliases (billion laughs)",
        appended(laughs(9)),
        "its aliases (*name) written out make more than 5 MB",
    ),
    (
        "an alias inside itself",
        appended("sources: &loop {a: *loop}\n"),
        "trace.yaml: line 51: an alias refers to the mapping or list it is in; write it out",
    ),
    (
        "a 6 MB file",
        appended("description: " + "y" * 6_000_000 + "\n"),
        "trace.yaml: 6.0 MB; a scenario file may be at most 5 MB",
    ),
    (
        "lists nested 20,000 deep",
        appended("sources: " + "[" * 20_000 + "]" * 20_000 + "\n"),
        "trace.yaml: lists or mappings nested too deeply to read",
    ),
]


@refused(SIZE)
def test_a_scenario_too_large_to_read_or_to_record_is_refused(tmp_path, capsys, make, fragment):
    assert_refused(main, make(tmp_path), tmp_path, [], fragment, capsys)


# --- class 2: dates and times the YAML reader or the calendar could not take ----------------------

DATES: list[Case] = [
    # ValueError raised from the YAML reader's timestamp resolver, 40 lines of traceback.
    (
        "election day 2024-02-30",
        text_edit("election_day: 2024-11-27", "election_day: 2024-02-30"),
        "trace.yaml: election_day: '2024-02-30' is not a date that exists (day is out of range for month); "
        "write YYYY-MM-DD",
    ),
    (
        "an epoch on 30 February",
        text_edit('epoch: "H 00:00"', "epoch: 2024-02-30 00:00"),
        "trace.yaml: epoch: '2024-02-30 00:00' is not a date-time that exists (day is out of range for month)",
    ),
    (
        "a date-time for election day",
        text_edit("election_day: 2024-11-27", "election_day: 2024-11-27 08:00"),
        "trace.yaml: election_day: '2024-11-27 08:00' is not a date; write YYYY-MM-DD",
    ),
    # Read by YAML as an aware date-time, its offset dropped without a word.
    (
        "a UTC offset",
        text_edit('epoch: "H 00:00"', "epoch: 2024-11-27T00:00:00+02:00"),
        "epoch: '2024-11-27T00:00:00+02:00' has a UTC offset; write local time without one",
    ),
    # OverflowError once a day offset ran off the calendar.
    (
        "election day 9999-12-31",
        text_edit("election_day: 2024-11-27", "election_day: 9999-12-31"),
        "election_day: '9999-12-31' is not a date from 1900-01-01 to 2999-12-31",
    ),
    (
        "a horizon 10^11 days out",
        text_edit('horizon: "H+1 00:00"', 'horizon: "H+99999999999 00:00"'),
        "horizon: 'H+99999999999 00:00' is 99,999,999,999 days from election day; "
        "scenario times lie within 400 days of it",
    ),
]


@refused(DATES)
def test_a_date_or_time_is_read_by_the_schema_in_one_line(tmp_path, capsys, make, fragment):
    assert_refused(main, make(tmp_path), tmp_path, [], fragment, capsys)


# --- events lists: the same YAML rules, and day offsets bounded before the calendar -------------

EVENT = "- {number: 1, time: '10:00', kind: incident, target: A, type: gangguan}\n"
EVENTS: list[tuple[str, str, str, str]] = [
    # (label, file name, text, fragment). The first two were an OverflowError traceback.
    (
        "H+99999999 10:00",
        "ev.yaml",
        EVENT.replace("'10:00'", "'H+99999999 10:00'"),
        "entry 1 column time: 'H+99999999 10:00' is 99,999,999 days from election day; "
        "scenario times lie within 400 days of it",
    ),
    (
        "H-99999999 in a CSV",
        "ev.csv",
        "number,time,kind,target,type\n1,H-99999999 10:00,incident,A,gangguan\n",
        "row 2 column time: 'H-99999999 10:00' is 99,999,999 days from election day",
    ),
    # Plain YAML kept the last 'type' silently.
    (
        "type twice",
        "ev.yaml",
        EVENT.replace("type: gangguan", "type: gangguan, type: bentrok"),
        "line 1: key 'type' is given twice, on line 1 (columns 57 and 73); keep one",
    ),
    (
        "a yes as a message",
        "ev.yaml",
        EVENT.replace("}", ", message: yes}"),
        "entry 1 key message: true is read as yes/no; quote it ('true') if it is text",
    ),
    (
        "a list as a target",
        "ev.yaml",
        EVENT.replace("target: A", "target: [A, B]"),
        "entry 1 key target: expected one value (text or a number), not a list or mapping",
    ),
    (
        "an alias bomb",
        "ev.yaml",
        "- &e {number: 1, time: '10:00', kind: incident, target: A, type: gangguan, message: "
        + BIG
        + "}\n"
        + "- *e\n" * 60,
        "its aliases (*name) written out make more than 5 MB",
    ),
    (
        "a 6 MB list",
        "ev.yaml",
        EVENT.replace("}", ", message: " + "y" * 6_000_000 + "}"),
        "6.0 MB; a events list may be at most 5 MB",
    ),
]


@pytest.mark.parametrize(("name", "text", "fragment"), [e[1:] for e in EVENTS], ids=[e[0] for e in EVENTS])
def test_an_events_list_is_read_by_the_scenario_rules(tmp_path, capsys, name, text, fragment):
    scenario = trace_copy(tmp_path)
    events = tmp_path / name
    events.write_text(text)
    out = tmp_path / "out"
    code = main(["exercise", str(scenario), "--plan", "one", "--injects", str(events), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"{events}: ") and fragment in err, err
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


# --- what stays accepted ----------------------------------------------------------------------------


def test_what_people_write_is_still_read_as_before(tmp_path):
    # Unquoted dates and date-times, yes/no for a yes/no, TRUE/FALSE flags, a merge key that
    # overrides what it merges, an alias used a few times, numbers at the ends of their ranges.
    path = trace_copy(tmp_path, tps_rows="A,Kec,Desa,0.0,117.1,100,kurang_rawan,TRUE,0,false\n" + ROW_B)
    text = path.read_text().replace('epoch: "H 00:00"', "epoch: 2024-11-27 00:00")
    text = text.replace("  setup_min: 0\n", "  setup_min: 0\n  road_factor: 10\n  speed_kmh: {road: 1, sea: 200}\n")
    text = text.replace(
        "      on_scene_min: {dist: fixed, mean: 30}\n",
        "      on_scene_min: &scene {dist: fixed, mean: 30}\n      class_multiplier: {rawan: 100}\n",
    )
    text = text.replace("      on_scene_min: {dist: fixed, mean: 60}\n", "      on_scene_min: {<<: *scene, mean: 60}\n")
    text = text.replace("    linmas_per_tps: 0\n", "    linmas_per_tps: 0\n    escort: {return_to_cluster: no}\n")
    path.write_text(text + "sources: {a: &s some text, b: *s, c: *s}\n")
    sc = load_scenario(path)
    assert sc.spec.election_day.isoformat() == "2024-11-27" and sc.epoch.isoformat() == "2024-11-27T00:00:00"
    assert sc.spec.travel.road_factor == 10 and sc.spec.travel.speed_kmh == {"road": 1, "river": 20, "sea": 200}
    assert sc.spec.incidents.types["bentrok"].on_scene_min.mean == 60
    assert sc.spec.incidents.types["bentrok"].on_scene_min.dist == "fixed"
    assert sc.spec.plans["one"].escort.return_to_cluster is False
    assert sc.tps["blank_spot"].tolist() == [True, False] and sc.tps["disaster_prone"].tolist() == [False, False]
    assert sc.spec.sources == {"a": "some text", "b": "some text", "c": "some text"}


# --- the README states every range the schema enforces ------------------------------------------


def _ranges(annotation: object) -> list[Range]:
    """The Range checks of a value's type (not those of a mapping's keys)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        own = [m.func for m in args[1:] if isinstance(getattr(m, "func", None), Range)]
        return own + _ranges(args[0])
    if origin is dict:
        return _ranges(args[1])
    return [r for arg in args for r in _ranges(arg)]


def _rows(text: str) -> list[dict[str, str]]:
    """Each key table of the README as {key: row text}."""
    tables: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        first = line.strip("|").split("|")[0].strip()
        if current is None:
            current = {}
            if first == "key":
                tables.append(current)
            continue
        m = re.fullmatch(r"`([A-Za-z0-9_]+)`", first)
        if m:
            current[m.group(1)] = line
    return tables


def _stated(r: Range) -> str:
    lo, hi = (f"{int(v):,}" if float(v).is_integer() else f"{v:g}" for v in (r.lo, r.hi))
    return f"> {lo}, at most {hi}" if r.above else f"{lo}..{hi}"


MODELS = list(walk(Scenario))


@pytest.mark.parametrize(("path", "model"), MODELS, ids=[p or "<top level>" for p, _ in MODELS])
def test_the_readme_states_each_range(path: str, model: type[BaseModel]) -> None:
    tables = _rows(README.read_text(encoding="utf-8"))
    table = max(tables, key=lambda t: len(set(model.model_fields) & set(t)))
    for name, info in model.model_fields.items():
        found = [m.func for m in info.metadata if isinstance(getattr(m, "func", None), Range)]
        for r in found + _ranges(info.annotation):
            assert _stated(r) in table[name], (
                f"scenarios/README.md: the row of `{name}` ({model.__name__}) should state its range {_stated(r)}"
            )
