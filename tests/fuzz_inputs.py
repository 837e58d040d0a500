"""Hostile inputs for ``tests/test_fuzz.py`` and the harness that judges them.

Every case starts from the hand-sized trace scenario (``scenarios/checks/trace.yaml`` and its two
tables, as ``conftest.trace_copy`` copies them) with small incident rates added so the model has
work, and breaks it the ways the bad inputs of issue 14 did: numbers replaced by extremes, wrong
types, keys duplicated, removed or misspelt, dates that do not exist, ids that collide with site
ids, hostile text, broken TPS and travel-matrix rows, exercise events lists with bad cells,
command-line options out of range, and finished run folders with a damaged manifest or table.

:func:`play_case` writes a case into a folder and runs each of its commands in this process
(``sim.cli.main``) the way a user at a terminal would see them: stdout and stderr captured, the
warnings Python shows by default counted as stderr, the case's folder as the working folder. Every
command must end in either

- exit 0, a complete folder (``manifest.json``, no ``batches/`` or ``job.json``), an empty stderr,
  no CSV cell that starts a spreadsheet formula, no ``<script>`` from the input in an HTML or
  Markdown file, and a manifest not blown up by YAML aliases; or
- exit 2, exactly one non-empty line on stderr, no ``Traceback``, and nothing written: the case's
  folder holds the same paths with the same bytes as before.

A case marked ``must_refuse`` is a mistake the issue says must be refused (a boolean where a number
belongs, a duplicated key, a TPS id equal to a site id ...): for it exit 0 is a failure too, since a
run that silently reads ``road_factor: yes`` as 1.0 is the bug. ``validate`` and ``run`` must agree
on a scenario (``run`` may refuse a size that ``validate`` does not judge: ``--force`` lifts it).

Each command runs under a time limit, an address-space limit and a cap on worker processes (a pool
larger than the CPUs or the batches is reported before any process is forked), so a bad case fails
quickly instead of hanging or exhausting the machine.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import csv
import difflib
import hashlib
import html
import io
import json
import logging
import math
import os
import re
import resource
import shutil
import signal
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "scenarios" / "checks"

COMMAND_SECONDS = 60  # one command of one case; the trace scenario runs in milliseconds
MEMORY_HEADROOM = 2_000_000_000  # bytes of address space one command may add to this process
MANIFEST_SLACK = 1_000_000  # a clean run's manifest is at most this + 10 x its inputs' bytes
HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)

# --- the base case: trace.yaml with work to do ---------------------------------------------------


def _base_scenario() -> dict[str, Any]:
    """trace.yaml with small rates in every phase, report delays, travel noise, an outbreak, a guard
    per TPS, and every kind of key (true/false, text, optional numbers) present for mutations."""
    data = yaml.safe_load((CHECKS / "trace.yaml").read_text())
    data["description"] = "Fuzz base: the trace scenario with a little of everything."
    data["travel"].update({"road_factor": 2.0, "speed_kmh": {"road": 40.0}, "water_factor": 1.3, "noise_cv": 0.1})
    data["travel"]["setup_min"] = 2
    data["travel"]["access"] = {"Kec": {"road_factor": 2.5, "note": "slow roads"}}
    data["sites"]["ppk"][0]["name"] = "PPK venue"
    data["sites"]["kpu"]["name"] = "KPU office"
    plan = data["plans"]["one"]
    plan["description"] = "One patrol, one guard per TPS"
    plan["tps_guards"]["kurang_rawan"] = {"officers": 1, "per_tps": 1}
    plan["linmas_per_tps"] = 1
    plan["ppk_guards"] = {"officers": 1}
    plan["escort"] = {"by": "tps_guard", "handover_min": 10, "return_to_cluster": True}
    data["phases"]["counting"] = {"base_min": 60, "per_voter_min": 0.1, "turnout": 0.7, "cv": 0.1, "max_min": 720}
    gangguan, bentrok = data["incidents"]["types"]["gangguan"], data["incidents"]["types"]["bentrok"]
    gangguan.update({"label_id": "Gangguan", "label_en": "Disturbance", "onsite": {"linmas": 0.2, "tps_guard": 0.2}})
    gangguan["rate_per_site_hour"] = {"logistics": 0.02, "voting": 0.3, "counting": 0.3, "recap": 0.5, "plenary": 1.0}
    gangguan["outbreak"] = {"probability": 0.2, "radius_km": 20, "multiplier": 2, "duration_h": 1}
    bentrok["rate_per_site_hour"] = {"voting": 0.05}
    bentrok["response"] = {"roles": ["patrol"], "units": 1}
    data["incidents"]["hourly_multiplier"] = {9: 1.5}
    data["incidents"]["report_delay_min"] = {"default": {"dist": "exponential", "mean": 5}}
    data["dispatch"] = {"policy": "nearest", "tni_max_priority": 1, "max_travel_min": 180}
    data["targets"] = {"default_min": 20, "groups": [{"name": "Kec group", "kecamatan": ["Kec"], "target_min": 30}]}
    data["sources"] = {"rates": "estimated for the fuzz test"}
    data["assumptions"] = [{"text": "Rates are made up", "basis": "estimated", "source": "fuzz"}]
    data["allow_data_outside"] = False
    return data


BASE = _base_scenario()
# fmt: off
TPS_HEADER = ["tps_id", "kecamatan", "desa", "lat", "lon", "voters", "class", "blank_spot", "hard_to_reach",
              "disaster_prone"]
TPS_ROWS = [
    ["A", "Kec", "Desa", "0.0", "117.1", "100", "kurang_rawan", "0", "0", "0"],
    ["B", "Kec", "Desa", "0.0", "117.2", "100", "kurang_rawan", "0", "0", "0"],
    ["C", "Kec", "Desa Dua", "0.05", "117.15", "250", "kurang_rawan", "1", "1", "0"],
]
MATRIX_HEADER = ["from", "to", "minutes"]
MATRIX_ROWS = [["P", "A", "10"], ["A", "P", "10"], ["P", "B", "20"], ["B", "P", "20"], ["A", "B", "15"],
               ["B", "A", "15"]]
SITE_IDS = ("A", "B", "C", "P", "PPK Kec", "KPU")
INJECT_HEADER = ["number", "time", "kind", "target", "type", "priority", "value", "duration", "role", "message",
                 "expected_action"]
INJECT_ROWS = [  # on plan 'one': P-patrol-1 is its patrol car, a reinforcement at P is P-patrol-2
    ["1", "09:00", "incident", "A", "gangguan", "", "", "", "", "KPPS A lapor keributan", "Kirim patroli"],
    ["2", "09:05", "unit_out", "P-patrol-1", "", "", "", "", "", "Mobil mogok", ""],
    ["3", "10:00", "unit_back", "P-patrol-1", "", "", "", "", "", "", ""],
    ["4", "10:30", "reinforcement", "P", "", "", "1", "", "patrol", "BKO tiba", "Tempatkan sebagai cadangan"],
    ["5", "11:00", "road_closure", "Kec", "", "", "2", "1h", "", "Pohon tumbang", ""],
    ["6", "H+04:00", "surge", "Kec", "gangguan", "", "3", "2h", "", "Hoaks beredar", "Luruskan informasi"],
    ["7", "12:30", "incident", "B", "bentrok", "1", "", "", "", "Bentrok", "Pisahkan massa"],
    ["8", "H 22:15", "flood", "Kec", "", "", "", "30min", "", "Banjir", ""],
]
# fmt: on


# --- YAML with what safe_dump will not write: unquoted scalars and duplicated keys --------------


class Raw(str):
    """A scalar written into the YAML as given, unquoted: ``yes``, ``2024-02-30``, ``1e308``."""


class Pairs(list):
    """A mapping written as its (key, value) pairs in order, duplicated keys kept."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_raw(dumper: yaml.SafeDumper, value: Raw) -> yaml.Node:
    # Tagged as a YAML 1.1 reader would read the plain text, so the emitter writes it unquoted.
    return dumper.represent_scalar(dumper.resolve(yaml.ScalarNode, str(value), (True, False)), str(value))


def _represent_pairs(dumper: yaml.SafeDumper, value: Pairs) -> yaml.Node:
    pairs = [(dumper.represent_data(k), dumper.represent_data(v)) for k, v in value]
    return yaml.MappingNode("tag:yaml.org,2002:map", pairs)


_Dumper.add_representer(Raw, _represent_raw)
_Dumper.add_representer(Pairs, _represent_pairs)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)


def write_csv(header: list[str] | None, rows: list[list[str]]) -> str:
    out = io.StringIO()
    # The csv module quotes a cell holding a character of the line ending only: with a carriage
    # return in some cell, end lines with CRLF (as Excel does) so that cell is quoted too.
    crlf = any("\r" in cell for row in rows for cell in row)
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def raw_csv(header: list[str], rows: list[list[str]]) -> str:
    """Cells joined by commas as given (quotes included): for cells the csv module would quote."""
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


BASE_YAML = dump_yaml(BASE)
# For command lines: a second plan 'two' (two patrol cars), so --plans and --baseline have a choice.
TWO_PLANS = {**BASE, "plans": {**BASE["plans"], "two": copy.deepcopy(BASE["plans"]["one"])}}
TWO_PLANS["plans"]["two"]["patrols"] = [{"post": "P", "units": 2, "crew": 2}]
TWO_PLANS_YAML = dump_yaml(TWO_PLANS)
BASE_TPS = write_csv(TPS_HEADER, TPS_ROWS)
BASE_MATRIX = write_csv(MATRIX_HEADER, MATRIX_ROWS)
BASE_INJECTS = write_csv(INJECT_HEADER, INJECT_ROWS)


# --- a case ----------------------------------------------------------------------------------------

RUN = ["--reps", "1", "--workers", "1", "--no-report", "--quiet"]


@dataclass
class Case:
    """One hostile input and the commands it goes through.

    ``commands`` hold the placeholders ``{dir}`` (the case's folder), ``{scenario}``, ``{injects}``
    and ``{run}`` (a finished run of the base scenario, made first when ``finished_run``).
    """

    group: str  # which generator made it: scenario, tps, matrix, text, events, cli, report
    kinds: tuple[str, ...]  # the fault classes it belongs to, for the tally
    label: str  # what was done to the base case
    commands: list[list[str]]
    scenario: str = BASE_YAML
    tps: str | bytes = BASE_TPS
    matrix: str | bytes = BASE_MATRIX
    injects: tuple[str, str | bytes] | None = None  # (file name, content)
    must_refuse: bool = False
    finished_run: bool = False
    damage: Callable[[Path], None] | None = field(default=None, compare=False)  # done to {run} first
    hostile: tuple[str, ...] = ()  # hostile texts put in, looked for in the outputs

    def __repr__(self) -> str:
        return f"Case({self.group}: {self.label}{' [must be refused]' if self.must_refuse else ''})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how Hypothesis shows a falsifying case
        printer.text(repr(self))

    def key(self) -> str:
        """The input's identity, to count distinct inputs."""
        parts = [self.group, self.label, self.scenario, self.tps, self.matrix, self.injects, self.commands]
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def reproducer(self) -> str:
        """The case as a diff against the base files, and its commands."""
        lines = [repr(self)]
        for name, base, now in (
            ("trace.yaml", BASE_YAML, self.scenario),
            ("trace_tps.csv", BASE_TPS, self.tps),
            ("trace_matrix.csv", BASE_MATRIX, self.matrix),
        ):
            if now != base:
                text = now.decode("utf-8", "backslashreplace") if isinstance(now, bytes) else now
                diff = difflib.unified_diff(base.splitlines(), text.splitlines(), name, name, n=0, lineterm="")
                lines.extend(short(d) for d in list(diff)[:40])
        if self.injects is not None:
            name, content = self.injects
            text = content.decode("utf-8", "backslashreplace") if isinstance(content, bytes) else content
            lines.append(f"--- {name}:")
            lines.extend(short(line) for line in text.splitlines()[:12])
        lines.extend("$ pilkada-sim " + " ".join(argv) for argv in self.commands)
        return "\n".join(lines)


def short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} chars)"


def scenario_commands(report: bool = False, workers2: bool = False) -> list[list[str]]:
    """validate, then run (with the report for text cases; on 2 workers too for cross-process cases)."""
    run = ["run", "{scenario}", "--out", "{dir}/out", *RUN]
    commands = [["validate", "{scenario}"], [a for a in run if not (report and a == "--no-report")]]
    if workers2:
        two = ["--reps", "2", "--batch", "1", "--workers", "2", "--no-report", "--quiet"]
        commands.append(["run", "{scenario}", "--out", "{dir}/out2", *two])
    return commands


EXERCISE = ["exercise", "{scenario}", "--injects", "{injects}", "--out", "{dir}/exercise", "--quiet"]


# --- values ----------------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
SCRIPT = '<script>alert("pilkada")</script>'
# fmt: off
# (value, must be refused as any number of the scenario: the schema bounds numbers to finite values)
EXTREMES: list[tuple[Any, bool]] = [
    (0, False), (-1, False), (1e-300, False), (5e-324, False), (1e308, False), (-1e308, False), (NAN, True),
    (INF, True), (-INF, True), (2**63, False), (10**30, False), (-0.0, False), (0.5, False), (10**6, False),
]
# (value, must be refused in place of a number, of true/false, of text)
WRONG_TYPES: list[tuple[Any, bool, bool, bool]] = [
    (True, True, False, False), (False, True, False, False), ([1], True, True, True), ([], True, True, True),
    ({}, True, True, True), ({"a": {"b": [1, "x"]}}, True, True, True), ("abc", True, True, False),
    ("", True, True, False), (None, False, False, False), ("1.403", False, True, False), ("0,5", True, True, False),
    (0, False, True, False), (1, False, True, False), (2, False, True, False), (12.5, False, True, False),
]
# Plain YAML scalars: (text, must be refused in place of a number, of true/false)
RAW_SCALARS: list[tuple[str, bool, bool]] = [
    ("yes", True, False), ("no", True, False), ("on", True, False), ("off", True, False), ("True", True, False),
    ("~", False, False), ("null", False, False), ("1e308", False, True), ("1.0e+308", False, True),
    (".nan", True, True), (".inf", True, True), ("-.inf", True, True), ("0x1F", False, True), ("1_000", False, True),
    ("0777", False, True), ("2024-02-30", True, True), ("1:30", True, True), ("1e-300", False, True),
]
# Dates and times: (value, must be refused in any time key of the trace scenario)
DATES: list[tuple[Any, bool]] = [
    (Raw("2024-02-30"), True), (Raw("2024-13-01"), True), ("2024-02-30", True), (Raw("2024-11-27"), False),
    (Raw("0001-01-01"), False), (Raw("9999-12-31"), True), ("10000-01-01", True), ("H+99999999", True),
    ("H-99999999", True), ("H+9999999999 10:00", True), ("H+1 24:00", True), ("25:00", True), ("24:00", False),
    ("H+1.5", True), ("yesterday", True), ("2024-11-27T25:00", True), ("2024-11-27 07:00+08:00", False),
    ("H+0 00:00", False), ("H+1 00:00", False), ("", True), ("07:00:00", False), ("-07:00", True),
]
DATE_KEYS = [
    ("election_day",), ("epoch",), ("horizon",), ("phases", "logistics_start"), ("phases", "voting", "start"),
    ("phases", "voting", "end"), ("phases", "recap", "start"), ("phases", "recap", "end"),
    ("phases", "recap", "daily_start"), ("phases", "recap", "daily_end"), ("phases", "plenary", "start"),
    ("phases", "plenary", "end"),
]
HOSTILE_TEXT = [
    "$x$", "Kec $", "a$b$c", r"\frac{1}{0}$", "^_^", "ctrl\x01char", "bell\x07", "esc\x1b[31mred", "vtab\x0bx",
    "A" * 5000, ("Kec panjang " * 420).strip(), "🗳️ Kec 😀", '=HYPERLINK("http://x")', "\t=1+1", "\r=cmd",
    "+SUM(A1)", "-2+3", "@A1", SCRIPT, "</td></tr><b>x</b>", "&amp; &lt;", "{{x}} %s {0}", "\u202eKec", "Kec\u200b",
    "كيك", "區", "a\nb", "'quoted'", '"dq"', "back\\slash", "C:\\con", "..", " ",
]
# Mappings whose keys are names the scenario chooses (a renamed key is a new name, not a misspelling)
FREE_MAPS = {("plans",), ("forces",), ("incidents", "types"), ("sources",), ("travel", "access")}
RENAMES = ["{k}_", "{K}", "{k} ", "_{k}", "x", "road_factr", "1"]
# fmt: on


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) below ``node``, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, v in items:
        yield (*prefix, k), v
        yield from _paths(v, (*prefix, k))


def get_at(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for k in path:
        node = node[k]
    return node


PATHS = [p for p, _ in _paths(BASE)]
NUMBER_LEAVES = [p for p, v in _paths(BASE) if isinstance(v, int | float) and not isinstance(v, bool)]
BOOL_LEAVES = [p for p, v in _paths(BASE) if isinstance(v, bool)]
SCALAR_LEAVES = [p for p, v in _paths(BASE) if not isinstance(v, dict | list)]
MAP_KEYS = [p for p in PATHS if isinstance(get_at(BASE, p[:-1]), dict)]


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(map(str, path))


# --- scenario edits --------------------------------------------------------------------------------


@dataclass
class Edit:
    """One change to the scenario: ``apply`` makes it on the parsed YAML and says whether it could
    (an earlier edit may have removed its key)."""

    kind: str
    label: str
    must_refuse: bool
    apply: Callable[[dict[str, Any]], bool]
    order: int = 0  # duplicates go last (they turn mappings into pairs), top-level ones very last


def set_edit(kind: str, path: tuple[Any, ...], value: Any, must: bool, label: str | None = None) -> Edit:
    def change(data: dict[str, Any]) -> bool:
        try:
            get_at(data, path[:-1])[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            return False
        return True

    return Edit(kind, label or f"{dotted(path)} = {short(repr(value), 60)}", must, change)


def remove_edit(path: tuple[Any, ...]) -> Edit:
    def change(data: dict[str, Any]) -> bool:
        try:
            del get_at(data, path[:-1])[path[-1]]
        except (KeyError, IndexError, TypeError):
            return False
        return True

    return Edit("remove", f"remove {dotted(path)}", False, change)


def rename_edit(path: tuple[Any, ...], new: str) -> Edit:
    # A misspelt schema key must be refused; a new plan, force or type name is only a name, and
    # hourly_multiplier keys are hours, written as numbers or text.
    key = path[-1]
    must = (
        path[:-1] not in FREE_MAPS and new != str(key) and not (path[-2:-1] == ("hourly_multiplier",) and new.isdigit())
    )

    def change(data: dict[str, Any]) -> bool:
        try:
            parent = get_at(data, path[:-1])
            parent[new] = parent.pop(key)
        except (KeyError, IndexError, TypeError, AttributeError):
            return False
        return True

    return Edit("misspell", f"rename {dotted(path)} -> {new!r}", must, change)


def duplicate_edit(path: tuple[Any, ...], other: Any) -> Edit:
    """The key at ``path`` written a second time, with ``other`` as its value."""

    def change(data: dict[str, Any]) -> bool:
        try:
            if len(path) == 1:  # the top level: written as pairs by scenario_text
                pairs = data.setdefault("__pairs__", Pairs((k, v) for k, v in data.items() if k != "__pairs__"))
                if path[0] not in data:
                    return False
                pairs.append((path[0], copy.deepcopy(other)))
                return True
            parent = get_at(data, path[:-1])
            if not isinstance(parent, dict) or path[-1] not in parent:
                return False
            pairs = Pairs(parent.items())
            pairs.append((path[-1], copy.deepcopy(other)))
            get_at(data, path[:-2])[path[-2]] = pairs
        except (KeyError, IndexError, TypeError):
            return False
        return True

    same = other == get_at(BASE, path)
    label = f"{dotted(path)} given twice ({'the same value' if same else short(repr(other), 60)})"
    return Edit("duplicate", label, True, change, order=1 + (len(path) == 1))


def post_id_edit(value: str) -> Edit:
    """Post P renamed (its units follow): to a TPS id or 'KPU' it collides with another site."""

    def change(data: dict[str, Any]) -> bool:
        try:
            data["sites"]["posts"][0]["id"] = value
            for group in ("patrols", "reserve", "tni_backup"):
                for unit in data["plans"]["one"].get(group, []):
                    unit["post"] = value
        except (KeyError, IndexError, TypeError, AttributeError):
            return False
        return True

    return Edit("collision", f"sites.posts.0.id = {value!r}", value not in ("P", "Q"), change)


def second_post_edit() -> Edit:
    def change(data: dict[str, Any]) -> bool:
        try:
            posts = data["sites"]["posts"]
            posts.append({**posts[0], "name": "Post P again", "position": [0.01, 117.0]})
        except (KeyError, IndexError, TypeError):
            return False
        return True

    return Edit("collision", "a second post with id 'P'", True, change)


def _other_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "2"
    if isinstance(value, dict):
        return {k: _other_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [*copy.deepcopy(value), *copy.deepcopy(value)]
    return value


def scenario_case(edits: list[Edit], group: str = "scenario") -> Case:
    """The base scenario with ``edits`` made; must be refused if an edit that took effect must."""
    data = copy.deepcopy(BASE)
    done = [(e, e.apply(data)) for e in sorted(edits, key=lambda e: e.order)]
    text = dump_yaml(data.pop("__pairs__")) if "__pairs__" in data else dump_yaml(data)
    labels = [e.label if ok else f"({e.label}: no effect)" for e, ok in done]
    return Case(
        group,
        tuple(e.kind for e in edits),
        "; ".join(labels),
        scenario_commands(workers2=any(e.kind == "collision" for e in edits)),
        scenario=text,
        must_refuse=any(e.must_refuse and ok for e, ok in done),
    )


def alias_case(copies: int, chars: int) -> Case:
    """The description, ``chars`` long, referred to ``copies`` times by aliases in ``sources``."""
    data = copy.deepcopy(BASE)
    del data["description"], data["sources"]
    refs = "".join(f"  s{i}: *big\n" for i in range(copies))
    text = dump_yaml(data) + f'description: &big "{"x" * chars}"\nsources:\n{refs}'
    label = f"a {chars:,}-character description, {copies} aliases of it in sources"
    return Case("scenario", ("alias",), label, scenario_commands(), scenario=text)


@st.composite
def scenario_edits(draw: st.DrawFn) -> Edit:
    ops = ["extreme", "wrong_type", "yaml_scalar", "remove", "misspell", "duplicate", "date", "collision"]
    op = draw(st.sampled_from(ops))
    if op == "extreme":
        path = draw(st.sampled_from(NUMBER_LEAVES))
        value, must = draw(st.sampled_from(EXTREMES))
        return set_edit(op, path, value, must or (value == -1 and "position" not in path))  # all else >= 0
    if op == "wrong_type":
        path = draw(st.sampled_from(SCALAR_LEAVES))
        value, for_number, for_bool, for_text = draw(st.sampled_from(WRONG_TYPES))
        must = for_number if path in NUMBER_LEAVES else for_bool if path in BOOL_LEAVES else for_text
        return set_edit(op, path, value, must)
    if op == "yaml_scalar":
        path = draw(st.sampled_from(NUMBER_LEAVES + BOOL_LEAVES))
        text, for_number, for_bool = draw(st.sampled_from(RAW_SCALARS))
        must = for_number if path in NUMBER_LEAVES else for_bool
        return set_edit(op, path, Raw(text), must, f"{dotted(path)}: {text} (unquoted)")
    if op == "date":
        path = draw(st.sampled_from(DATE_KEYS))
        value, must = draw(st.sampled_from(DATES))
        shown = f"{value} (unquoted)" if isinstance(value, Raw) else repr(value)
        return set_edit(op, path, value, must, f"{dotted(path)}: {shown}")
    if op == "remove":
        return remove_edit(draw(st.sampled_from(PATHS)))
    if op == "misspell":
        path = draw(st.sampled_from(MAP_KEYS))
        return rename_edit(path, draw(st.sampled_from(RENAMES)).format(k=path[-1], K=str(path[-1]).upper()))
    if op == "duplicate":
        path = draw(st.sampled_from(MAP_KEYS))
        original = get_at(BASE, path)
        return duplicate_edit(path, original if draw(st.booleans()) else _other_value(original))
    value = draw(st.sampled_from(["KPU", "A", "B", "PPK", "Q", None]))
    return second_post_edit() if value is None else post_id_edit(value)


def whole_file_case(label: str, text: str, must: bool) -> Case:
    return Case("scenario", ("file",), label, scenario_commands(), scenario=text, must_refuse=must)


# (label, the whole scenario file, must be refused)
WHOLE_FILES: list[tuple[str, str, bool]] = [
    ("a 6 MB scenario (a long comment)", BASE_YAML + "# " + "x" * 6_000_000 + "\n", True),
    ("a description nested 5,000 lists deep", BASE_YAML + "description: " + "[" * 5000 + "]" * 5000 + "\n", True),
    ("a tab for indentation", BASE_YAML.replace("  tps_file", "\ttps_file", 1), True),
    (
        "a YAML tag !!python/object/apply",
        dump_yaml({k: v for k, v in BASE.items() if k != "title"}) + "title: !!python/object/apply:os.system [echo]\n",
        True,
    ),
    ("two documents", BASE_YAML + "---\n" + BASE_YAML, True),
    ("a NUL byte", BASE_YAML.replace("Fuzz base", "Fuzz\x00base"), True),
]


@st.composite
def scenario_cases(draw: st.DrawFn) -> Case:
    """The scenario YAML broken in one or two places (now and then an alias bomb or a broken file)."""
    if draw(st.integers(0, 40)) == 0:
        return alias_case(draw(st.sampled_from([50, 300])), draw(st.sampled_from([2_000, 20_000])))
    if draw(st.integers(0, 40)) == 0:
        return whole_file_case(*draw(st.sampled_from(WHOLE_FILES)))
    return scenario_case(draw(st.lists(scenario_edits(), min_size=1, max_size=2, unique_by=lambda e: e.label)))


# --- TPS tables ------------------------------------------------------------------------------------

# fmt: off
# (value, must be refused) per kind of column
TPS_VALUES: dict[str, list[tuple[str, bool]]] = {
    "lat": [("0", False), ("-1", False), ("1e-300", False), ("1e308", True), ("nan", True), ("inf", True),
            ("-inf", True), ("", True), ("abc", True), ("91", True), ("-90", False), ("0,5", False),
            ('"0,5,1"', True), ("1.2.3", True), ("٣", True), ("0x10", True)],
    "lon": [("117", False), ("-1", False), ("1e308", True), ("nan", True), ("inf", True), ("", True), ("abc", True),
            ("181", True), ("-180", False), ("117,15", False), ("1e-300", False)],
    "voters": [("0", False), ("-1", True), ("1e308", True), ("nan", True), ("inf", True), ("", True), ("abc", True),
               ("1.403", True), ("1,403", True), ("12.5", True), (str(2**63), True), (str(10**30), True),
               ("1e3", False), ("TRUE", False), (" 7 ", False), ("+5", False)],
    "flag": [("2", True), ("-1", True), ("0.5", True), ("1e308", True), ("nan", True), ("inf", True), ("abc", True),
             ("yes", False), ("TRUE", False), ("false", False), ("1", False), ("", False), ("1.0", False)],
    "class": [("Rawan", False), ("", True), ("x", True), ("kurang_rawan ", False), ("KHUSUS", False),
              ("sangat_rawan", False), ("1", True)],
    "id": [("A", True), ("KPU", True), ("P", True), ("PPK Kec", True), ("", True), ("ppk kec", False), (" KPU", True),
           ("C", True), ("x" * 5000, False), ("tps\x01", False), ("=1+1", False)],
    "kecamatan": [("Atlantis", True), ("", True), ("kec", False), ("Kec ", False), ("KEC", False)],
    "desa": [("", False), ("$x$", False), (SCRIPT, False), ("\t=1", False), ("🗳️", False), ("d" * 5000, False)],
}
TPS_COLUMN_KINDS = {"tps_id": "id", "kecamatan": "kecamatan", "desa": "desa", "lat": "lat", "lon": "lon",
                    "voters": "voters", "class": "class", "blank_spot": "flag", "hard_to_reach": "flag",
                    "disaster_prone": "flag"}
# fmt: on


def tps_cell_case(row: int, col: str, value: str, must: bool) -> Case:
    """The TPS table with one cell replaced (row counted from 0, below the header)."""
    rows = copy.deepcopy(TPS_ROWS)
    if col == "tps_id" and value == rows[row][0]:
        value, must = "Z", False
    rows[row][TPS_HEADER.index(col)] = value
    text = raw_csv(TPS_HEADER, rows) if value.startswith('"') else write_csv(TPS_HEADER, rows)
    # An id that collides with a site id must be refused across a process boundary too.
    commands = scenario_commands(workers2=col == "tps_id" and value.strip() in SITE_IDS)
    label = f"row {row + 2} column {col} = {short(repr(value), 60)}"
    return Case("tps", ("tps_cell",), label, commands, tps=text, must_refuse=must)


def _drop_column(name: str) -> Callable[[list[str], list[list[str]]], str]:
    def make(h: list[str], rows: list[list[str]]) -> str:
        i = h.index(name)
        return write_csv([c for j, c in enumerate(h) if j != i], [[c for j, c in enumerate(r) if j != i] for r in rows])

    return make


def _excel(h: list[str], rows: list[list[str]]) -> str:
    return "\ufeff" + raw_csv(h, rows).replace(",", ";").replace("\n", "\r\n")


def _ids(n: int) -> Callable[[list[str], list[list[str]]], str]:
    return lambda h, rows: write_csv(h, [[f"T{i}", *rows[0][1:]] for i in range(n)])


# fmt: off
TPS_SHAPES: list[tuple[str, bool, Callable[[list[str], list[list[str]]], str | bytes]]] = [
    ("row 2 lacks its last cell", False, lambda h, rows: write_csv(h, [rows[0][:-1], *rows[1:]])),
    ("row 2 has an extra cell", True, lambda h, rows: write_csv(h, [[*rows[0], "9"], *rows[1:]])),
    ("column lat removed", True, _drop_column("lat")),
    ("column tps_id removed", True, _drop_column("tps_id")),
    ("column blank_spot removed (optional)", False, _drop_column("blank_spot")),
    ("header 'voters' twice", True, lambda h, rows: write_csv([*h, "voters"], [[*r, "5"] for r in rows])),
    ("header misspelt 'voter'", True, lambda h, rows: write_csv([c.replace("voters", "voter") for c in h], rows)),
    ("columns in reverse order", False, lambda h, rows: write_csv(h[::-1], [r[::-1] for r in rows])),
    ("header only", True, lambda h, rows: write_csv(h, [])),
    ("empty file", True, lambda h, rows: ""),
    ("rows only, no header", True, lambda h, rows: write_csv(None, rows)),
    ("row 3 twice", True, lambda h, rows: write_csv(h, [*rows, rows[1]])),
    ("an empty line between rows", False, lambda h, rows: write_csv(h, rows[:1]) + "\n" + write_csv(None, rows[1:])),
    ("BOM, CRLF and ';' (Excel)", False, _excel),
    ("not UTF-8", True, lambda h, rows: write_csv(h, rows).encode().replace(b"Desa Dua", b"Desa \xff\xfe")),
    ("a NUL byte in a cell", False, lambda h, rows: write_csv(h, rows).replace("Desa Dua", "Desa\x00Dua")),
    ("an unclosed quote", True, lambda h, rows: write_csv(h, rows).replace("Desa Dua", '"Desa Dua')),
    ("2,000 TPS rows", False, _ids(2000)),
    ("a row of spaces", False, lambda h, rows: write_csv(h, [*rows, [" "] * len(h)])),
    ("tab-separated", True, lambda h, rows: raw_csv(h, rows).replace(",", "\t")),
]
# fmt: on


def tps_shape_case(label: str, must: bool, make: Callable[[list[str], list[list[str]]], str | bytes]) -> Case:
    text = make(list(TPS_HEADER), copy.deepcopy(TPS_ROWS))
    return Case("tps", ("tps_structure",), label, scenario_commands(), tps=text, must_refuse=must)


@st.composite
def tps_cases(draw: st.DrawFn) -> Case:
    """The TPS table broken: one cell, or the file's shape."""
    if draw(st.integers(0, 3)) == 0:
        return tps_shape_case(*draw(st.sampled_from(TPS_SHAPES)))
    col = draw(st.sampled_from(TPS_HEADER))
    value, must = draw(st.sampled_from(TPS_VALUES[TPS_COLUMN_KINDS[col]]))
    return tps_cell_case(draw(st.integers(0, len(TPS_ROWS) - 1)), col, value, must)


# --- travel matrix ---------------------------------------------------------------------------------

# fmt: off
# (site id, must be refused): the sites are A, B, C (TPS), P (post), 'PPK Kec' and 'KPU'
MATRIX_SITES: list[tuple[str, bool]] = [
    ("X", True), ("KPU2", True), ("", True), ("PPK Kec", False), ("KPU", False), ("P", False), ("C", False),
    ("P-patrol-1", True), ("Kec", True), ("a", True), ("ppk kec", False), (" A", False),
]
MATRIX_MINUTES: list[tuple[str, bool]] = [
    ("0", False), ("-1", True), ("1e-300", False), ("1e308", False), ("nan", True), ("inf", True), ("", True),
    ("abc", True), ("1,5", False), ("10 min", True), (str(2**63), False), ("-0", False),
]
MATRIX_SHAPES: list[tuple[str, bool, Callable[[list[list[str]]], str]]] = [
    ("header only", False, lambda rows: write_csv(MATRIX_HEADER, [])),
    ("empty file", True, lambda rows: ""),
    ("header to,from,minutes", True, lambda rows: write_csv(["to", "from", "minutes"], rows)),
    ("no minutes column", True, lambda rows: write_csv(["from", "to"], [r[:2] for r in rows])),
    ("P,A twice with other minutes", False, lambda rows: write_csv(MATRIX_HEADER, [*rows, ["P", "A", "99"]])),
    ("a self loop A,A,5", False, lambda rows: write_csv(MATRIX_HEADER, [*rows, ["A", "A", "5"]])),
    ("an extra column", False, lambda rows: write_csv([*MATRIX_HEADER, "note"], [[*r, "x"] for r in rows])),
    ("a row with 4 cells", True, lambda rows: write_csv(MATRIX_HEADER, [*rows, ["P", "C", "5", "6"]])),
    ("rows to PPK and KPU", False,
     lambda rows: write_csv(MATRIX_HEADER, [*rows, ["P", "PPK Kec", "3"], ["KPU", "A", "4"]])),
]
# fmt: on


def matrix_case(rows: list[list[str]] | str, label: str, kind: str, must: bool) -> Case:
    """The travel matrix with these rows (or this text); a row naming an unknown site is run on 2
    workers too, where the error must cross the process boundary intact."""
    text = rows if isinstance(rows, str) else write_csv(MATRIX_HEADER, rows)
    workers2 = kind == "matrix_site" and must
    return Case("matrix", (kind,), label, scenario_commands(workers2=workers2), matrix=text, must_refuse=must)


@st.composite
def matrix_cases(draw: st.DrawFn) -> Case:
    """The travel matrix broken: a row naming an unknown site, minutes out of range, or its shape."""
    rows = copy.deepcopy(MATRIX_ROWS)
    op = draw(st.sampled_from(["site", "site", "minutes", "minutes", "shape"]))
    r = draw(st.integers(0, len(rows) - 1))
    if op == "site":
        col = draw(st.integers(0, 1))
        value, must = draw(st.sampled_from(MATRIX_SITES))
        if draw(st.booleans()):
            rows.append([value, "A", "5"] if col == 0 else ["A", value, "5"])
            return matrix_case(rows, f"an extra row with {MATRIX_HEADER[col]} = {value!r}", "matrix_site", must)
        rows[r][col] = value
        return matrix_case(rows, f"row {r + 2} {MATRIX_HEADER[col]} = {value!r}", "matrix_site", must)
    if op == "minutes":
        value, must = draw(st.sampled_from(MATRIX_MINUTES))
        rows[r][2] = value
        return matrix_case(rows, f"row {r + 2} minutes = {value!r}", "matrix_minutes", must)
    label, must, make = draw(st.sampled_from(MATRIX_SHAPES))
    return matrix_case(make(rows), label, "matrix_structure", must)


# --- hostile text through the whole run and its report ---------------------------------------------

TEXT_PLACES = ["kecamatan", "tps_id", "desa", "title", "plan description", "post name", "incident label",
               "assumption", "target group", "ppk name"]  # fmt: skip


EVERYWHERE = "everywhere but the TPS id"


def text_case(where: str, text: str) -> Case:
    """``text`` as the name shown in ``where`` (a place of :data:`TEXT_PLACES` or :data:`EVERYWHERE`);
    the run writes the whole report (charts, HTML, PDF, slides, workbook) and must end cleanly and
    quietly with the text made safe, or refuse it."""
    data = copy.deepcopy(BASE)
    rows, matrix = copy.deepcopy(TPS_ROWS), copy.deepcopy(MATRIX_ROWS)
    places = [p for p in TEXT_PLACES if p != "tps_id"] if where == EVERYWHERE else [where]
    if "kecamatan" in places:
        for venue in (*data["sites"]["ppk"], data["sites"]["kpu"], *data["sites"]["posts"]):
            venue["kecamatan"] = text
        data["travel"]["access"] = {text: data["travel"]["access"]["Kec"]}
        data["targets"]["groups"][0]["kecamatan"] = [text]
        for row in rows:
            row[1] = text
    if "tps_id" in places:
        rows[1][0] = text
        matrix = [[text if c == "B" else c for c in row] for row in matrix]
    if "desa" in places:
        rows[0][2] = text
    if "title" in places:
        data["title"] = text
    if "plan description" in places:
        data["plans"]["one"]["description"] = text
    if "post name" in places:
        data["sites"]["posts"][0]["name"] = text
    if "incident label" in places:
        data["incidents"]["types"]["gangguan"].update({"label_id": text, "label_en": text})
    if "assumption" in places:
        data["assumptions"][0] = {"text": text, "text_id": text, "basis": "estimated", "source": text}
    if "target group" in places:
        data["targets"]["groups"][0]["name"] = text
    if "ppk name" in places:
        data["sites"]["ppk"][0]["name"] = text
    return Case(
        "text",
        ("hostile_text",),
        f"{where} = {short(repr(text), 60)}",
        scenario_commands(report=True),
        scenario=dump_yaml(data),
        tps=write_csv(TPS_HEADER, rows),
        matrix=write_csv(MATRIX_HEADER, matrix),
        hostile=(text,),
    )


@st.composite
def text_cases(draw: st.DrawFn) -> Case:
    """Hostile text in one place, or in every place at once (one run with the report is the cost)."""
    where = EVERYWHERE if draw(st.booleans()) else draw(st.sampled_from(TEXT_PLACES))
    return text_case(where, draw(st.sampled_from(HOSTILE_TEXT)))


# --- exercise events lists -------------------------------------------------------------------------

# fmt: off
# (value, must be refused) per column of an events list; the play window is H 00:00 to H+1 00:00
INJECT_VALUES: dict[str, list[tuple[str, bool]]] = {
    "number": [("1", True), ("-1", True), ("1.5", True), ("", True), ("abc", True), (str(2**63), False),
               ("nan", True), ("1e308", True), ("0", False)],
    "time": [("H+99999999 10:00", True), ("H-99999999 10:00", True), ("H+9999999999 10:00", True), ("25:00", True),
             ("", True), ("abc", True), ("2024-02-30 10:00", True), ("9999-12-31 10:00", True), ("H+1 00:00", True),
             ("H+0.5", True), ("1e308", True), ("H+99999:00", True), ("2024-11-26 00:00", True), ("07:00", False),
             ("H+1 23:59", True), ("H-1 20:00", True)],
    "kind": [("riot", True), ("", True), ("INCIDENT", False), ("incident ", False), ("unit-out", True)],
    "target": [("Z", True), ("Atlantis", True), ("P-patrol-9", True), ("Q", True), ("", True), ("KPU", False),
               ("PPK Kec", False), ("kec", False), ("Kec / Kec", False), ("Kec / Atlantis", True), ("P", False)],
    "type": [("riot", True), ("", False), ("GANGGUAN", False), ("bentrok", False)],
    "priority": [("0", True), ("10", True), ("-1", True), ("nan", True), ("x", True), ("1.5", True), ("9", False),
                 ("1", False), ("None", True)],
    "value": [("0", True), ("-1", True), ("nan", True), ("inf", True), ("1e308", True), ("101", True),
              ("1e-300", True), ("1.5", False), ("100", False), ("abc", True), ("NA", True), ("null", True)],
    "duration": [("0", True), ("-1h", True), ("99999999h", False), ("nan", True), ("1e308", False),
                 ("inf min", True), ("abc", True), ("90", False), ("3 jam", False), ("01:30", False), ("1.5h", False),
                 ("NA", True), ("null", True)],
    "role": [("pilot", True), ("", False), ("tni", False), ("RESERVE", False), ("N/A", True)],
    "message": [(t, False) for t in HOSTILE_TEXT],
    "expected_action": [(t, False) for t in HOSTILE_TEXT],
}
EXERCISE_OPTIONS: list[tuple[list[str], bool]] = [
    (["--shift", "+99999999h"], True), (["--shift", "nan"], True), (["--shift", ""], False),
    (["--shift", "+1e308min"], True), (["--shift", "+30min"], False), (["--shift", "-30d"], True),
    (["--plan", "two"], True), (["--reps", "0"], True), (["--reps", "-1"], True), (["--queue-alert", "-1"], False),
    (["--seed", "-1"], True), (["--seed", str(2**64)], False), (["--background", "off"], False),
    (["--lang", "en"], False),
]
# fmt: on


def _many(n: int) -> Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]:
    return lambda h, rows: (h, [[str(i), "09:00", "incident", "A", "gangguan", *[""] * 6] for i in range(n)])


INJECT_SHAPES: list[tuple[str, bool, Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]]] = [
    ("number 1 twice", True, lambda h, rows: (h, [*rows, ["1", *rows[1][1:]]])),
    ("no time column", True, lambda h, rows: (h[:1] + h[2:], [r[:1] + r[2:] for r in rows])),
    ("no target column", True, lambda h, rows: (h[:3] + h[4:], [r[:3] + r[4:] for r in rows])),
    ("an unknown column", True, lambda h, rows: ([*h, "color"], [[*r, "red"] for r in rows])),
    ("header only", False, lambda h, rows: (h, [])),
    ("10,001 injects", True, _many(10_001)),
    ("300 injects at 09:00", False, _many(300)),
    ("header 'Expected action'", False, lambda h, rows: ([*h[:-1], "Expected action"], rows)),
]


def events_case(
    form: str, header: list[str], rows: list[list[str]], options: list[str], label: str, kind: str, must: bool
) -> Case:
    """An events list (``form`` csv or yaml) played on the base scenario by ``exercise``."""
    if form == "yaml":
        entries = [{h: c for h, c in zip(header, row, strict=False) if c != ""} for row in rows]
        content: str | bytes = dump_yaml({"injects": entries})
    else:
        content = write_csv(header, rows)
    hostile = tuple(v for row in rows for v in row if v in HOSTILE_TEXT)
    return Case(
        "events",
        (kind,),
        f"{form}: {label}",
        [[*EXERCISE, *options]],
        injects=(f"injects.{form}", content),
        must_refuse=must,
        hostile=hostile,
    )


@st.composite
def events_cases(draw: st.DrawFn) -> Case:
    """An events list (CSV or YAML) broken in a cell or in its shape, or played with bad options.
    A bad value is refused in any column but the free-text ones: a cell filled in a column its
    kind does not take is refused too ('a cell that slipped into the wrong column')."""
    header, rows = list(INJECT_HEADER), copy.deepcopy(INJECT_ROWS)
    form = draw(st.sampled_from(["csv", "csv", "yaml"]))
    op = draw(st.sampled_from(["cell", "cell", "cell", "shape", "option"]))
    if op == "cell":
        col = draw(st.sampled_from(INJECT_HEADER))
        r = draw(st.integers(0, len(rows) - 1))
        value, must = draw(st.sampled_from(INJECT_VALUES[col]))
        must = must and not (col == "number" and value == rows[r][0])
        rows[r][header.index(col)] = value
        return events_case(form, header, rows, [], f"row {r + 2} {col} = {short(repr(value), 60)}", "events_cell", must)
    if op == "shape":
        label, must, change = draw(st.sampled_from(INJECT_SHAPES))
        header, rows = change(header, rows)
        return events_case(form, header, rows, [], label, "events_structure", must)
    options, must = draw(st.sampled_from(EXERCISE_OPTIONS))
    return events_case(form, header, rows, options, " ".join(options), "events_option", must)


# --- command lines ---------------------------------------------------------------------------------

# fmt: off
# (--set value, must be refused)
SETS: list[tuple[str, bool]] = [
    ("x", True), ("=1", True), ("travel.road_factor", True), ("travel.road_factor=", True),
    ("travel..road_factor=1", True), ("plans.one.patrols.-1.units=1", True), ("plans.one.patrols.99.units=1", True),
    ("seed=1e308", True), ("seed=nan", True), ("travel.road_factor=.nan", True), ("travel.road_factor=yes", True),
    ("travel.road_factor=!!python/object/apply:os.system [echo]", True), ("name=" + "a" * 5000, True),
    ("incidents.types.gangguan=1", True), ("plans.one=1", True), ("__class__=1", True),
    ("travel.road_factor=[1,2]", True), ("travel.road_factor={a: 1}", True), ("election_day=2024-02-30", True),
    ("horizon=H+99999999", True), ("sites.tps_file=" + "a" * 300, True), ("sites.tps_file=/etc/passwd", True),
    ("sites.tps_file=../x.csv", True), ("travel.road_factor=1e308", False), ("travel.speed_kmh.road=1e-300", False),
    ("travel.noise_cv=1e308", False), ("phases.counting.cv=1e308", False), ("incidents.hourly_multiplier.24=1", True),
    ("incidents.hourly_multiplier.7=2", False), ("title=$x$", False), ("forces.polri=1.403", True),
    ("plans.one.escort.return_to_cluster=2", True), ("plans.one.escort.return_to_cluster=no", False),
    ("allow_data_outside=1", True), ("dispatch.policy=fastest", True), ("travel.road_factor=2,5", True),
]
# (options, must be refused) for run, compare and sweep
CLI_OPTIONS: list[tuple[list[str], bool]] = [
    (["--reps", "0"], True), (["--reps", "-1"], True), (["--reps", "1.5"], True), (["--reps", ""], True),
    (["--reps", str(10**12)], True), (["--reps", "3"], False), (["--seed", "-1"], True),
    (["--seed", str(2**64)], False), (["--seed", "x"], True), (["--batch", "0"], True), (["--batch", "-1"], True),
    (["--batch", str(10**9)], False), (["--workers", "0"], True), (["--workers", "-1"], True),
    (["--workers", "1000"], False), (["--workers", "64"], False), (["--plans", "three"], True),
    (["--plans", ""], False), (["--plans", ","], True), (["--plans", "one,one"], False),
    (["--plans", "one,three"], True), (["--plans", "ONE"], False), (["--plans", "two"], False),
    (["--precision", "0"], True), (["--precision", "-1"], True), (["--precision", "nan"], True),
    (["--precision", "inf"], True), (["--precision", "1e308"], False), (["--precision", "2"], False),
    (["--lang", "xx"], True), (["--dask", "not an address"], True), (["--dask", "tcp://"], True),
    (["--dask", "::::"], True), (["--dask", "inproc://x"], True), (["--dask", "tcp://127.0.0.1:notaport"], True),
    (["--out", "{scenario}/sub"], True), (["--out", "/proc/pilkada-fuzz"], True), (["--out", ""], True),
    (["--resume", "{dir}/nope"], True), (["--resume", "{scenario}"], True), (["--resume", "{dir}"], True),
    (["--force"], False), (["--unknown-option"], True),
]
COMPARE_OPTIONS: list[tuple[list[str], bool]] = [
    (["--baseline", "three"], True), (["--baseline", ""], True), (["--baseline", "one"], False),
    (["--baseline", "two"], False),
]
VARY: list[tuple[str, bool]] = [
    ("travel.road_factor=1,2", False), ("travel.road_factor=", True), ("travel.road_factor=1,nan", True),
    ("nope=1", True), ("travel.road_factor=1,1", False), ("seed=1,2", False), ("=1", True),
    ("travel.road_factor", True), ("plans.one.patrols.0.units=1,6", True), ("travel.road_factor=1,yes", True),
    ("travel.road_factor=1,1e308", False), ("travel.road_factor=" + ",".join(str(i + 1) for i in range(40)), False),
]
# fmt: on


def cli_case(argv: list[str], label: str, kinds: tuple[str, ...], must: bool) -> Case:
    """One command line on the base scenario with a second plan, 'two'."""
    return Case("cli", kinds, label, [argv], scenario=TWO_PLANS_YAML, must_refuse=must)


@st.composite
def cli_cases(draw: st.DrawFn) -> Case:
    """run, compare, sweep or validate with options out of range or malformed."""
    command = draw(st.sampled_from(["run", "run", "compare", "sweep", "validate"]))
    if command == "validate":
        value, must = draw(st.sampled_from(SETS))
        return cli_case(
            ["validate", "{scenario}", "--set", value], f"validate --set {short(value, 60)}", ("cli_set",), must
        )
    argv = [command, "{scenario}", "--out", "{dir}/out", *RUN]
    labels, must = [command], False
    if command == "compare":
        option, must = draw(st.sampled_from(COMPARE_OPTIONS))
        argv += option
        labels += option
    if command == "sweep":
        value, must = draw(st.sampled_from(VARY))
        argv += ["--vary", value]
        labels.append(f"--vary {short(value, 60)}")
    pool = CLI_OPTIONS + [(["--set", s], m) for s, m in SETS]
    extra = draw(st.lists(st.sampled_from(pool), max_size=2, unique_by=lambda o: o[0][0]))
    for option, m in extra:
        if option[0] in argv[2:] and option[0] != "--set":  # replace the option's value
            i = argv.index(option[0], 2)
            argv[i : i + len(option)] = option
        else:
            argv += option
        if option[0] == "--dask" and "--workers" in argv:  # --dask refuses --workers: drop it to reach the address
            i = argv.index("--workers")
            del argv[i : i + 2]
        must |= m
        labels.append(short(" ".join(option), 60))
    kinds = tuple("cli_set" if o[0] == "--set" else "cli_option" for o, _ in extra) or ("cli_option",)
    return cli_case(argv, " ".join(labels), kinds, must)


# --- finished run folders, damaged -----------------------------------------------------------------


def _manifest(change: Callable[[Any], Any]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / "manifest.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return damage


def _without(key: str) -> Callable[[Any], Any]:
    return lambda data: {k: v for k, v in data.items() if k != key}


def _setting(key: str, value: Any) -> Callable[[Any], Any]:
    return lambda data: {**data, key: value}


def _unlisted(table: str) -> Callable[[Any], Any]:
    return lambda data: {**data, "files": {k: v for k, v in data["files"].items() if k != table}}


def _write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).write_bytes(content if isinstance(content, bytes) else content.encode())

    return damage


def _corrupt(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / name
        header = path.read_text().splitlines()[0]
        path.write_text(header + "\n" + "x," * 30 + "\n")

    return damage


def _delete(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).unlink()


def _both(first: Callable[[Path], None], second: Callable[[Path], None]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        first(run)
        second(run)

    return damage


TABLES = ["incidents.csv", "units.csv", "timeseries.csv", "kpis.csv", "summary.csv", "percentiles.csv", "sites.csv",
          "targets.csv"]  # fmt: skip
# fmt: off
# (label, damage to a finished run folder, must be refused by report)
DAMAGES: list[tuple[str, Callable[[Path], None], bool]] = [
    ("manifest not JSON", _write("manifest.json", "{not json"), True),
    ("manifest a list", _manifest(lambda d: [d]), True),
    ("manifest a string", _manifest(lambda d: "manifest"), True),
    ("manifest {}", _manifest(lambda d: {}), True),
    ("manifest an empty file", _write("manifest.json", ""), True),
    ("manifest not UTF-8", _write("manifest.json", b"\xff\xfe{}"), True),
    ("manifest without plans", _manifest(_without("plans")), True),
    ("manifest without files", _manifest(_without("files")), True),
    ("manifest plans = 5", _manifest(_setting("plans", 5)), True),
    ("manifest plans = []", _manifest(_setting("plans", [])), True),
    ("manifest plans = ['two']", _manifest(_setting("plans", ["two"])), True),
    ("manifest files = []", _manifest(_setting("files", [])), True),
    ("manifest scenario = null", _manifest(_setting("scenario", None)), True),
    ("manifest replications = -1", _manifest(_setting("replications", -1)), False),  # report reads neither:
    ("manifest epoch = 'x'", _manifest(_setting("epoch", "x")), False),  # it resolves the scenario again
    ("manifest without started", _manifest(_without("started")), False),
    ("manifest versions 100 lists deep", _manifest(_setting("versions", json.loads("[" * 100 + "]" * 100))), False),
    ("report.json not JSON", _write("report.json", "{"), False),
    ("a junk file in the folder", _write("notes.txt", "hello"), False),
] + [
    damage for table in TABLES for damage in (
        (f"{table} corrupted", _corrupt(table), True),
        (f"{table} removed from the manifest, then corrupted", _both(_manifest(_unlisted(table)), _corrupt(table)),
         True),
        (f"{table} deleted", _delete(table), True),
        (f"{table} emptied", _write(table, ""), True),
    )
]
REPORT_OPTIONS: list[tuple[list[str], bool]] = [
    ([], False), (["--formats", "html"], False), (["--formats", "xlsx"], False), (["--formats", "pdf,pptx"], False),
    (["--formats", "docx"], True), (["--formats", ""], False), (["--formats", "html,,pdf"], False),
    (["--formats", "HTML"], False), (["--lang", "en", "--formats", "html,xlsx"], False),
]
# fmt: on


def report_case(label: str, damage: Callable[[Path], None], must: bool, options: list[str], m: bool) -> Case:
    """``report`` on a finished run of the base scenario, damaged afterwards."""
    label = f"{label}; report {' '.join(options)}".strip()
    commands = [["report", "{run}", *options]]
    return Case("report", ("report_folder",), label, commands, finished_run=True, damage=damage, must_refuse=must or m)


@st.composite
def report_cases(draw: st.DrawFn) -> Case:
    return report_case(*draw(st.sampled_from(DAMAGES)), *draw(st.sampled_from(REPORT_OPTIONS)))


# --- playing a case --------------------------------------------------------------------------------


class CaseTimeout(BaseException):
    """A command ran past :data:`COMMAND_SECONDS` (a BaseException: no ``except Exception`` eats it)."""


class TooManyWorkers(BaseException):
    """A process pool larger than the CPUs or the batches was about to start."""


@dataclass
class Played:
    argv: list[str]
    code: int | None
    err: str
    crash: str | None  # the exception that escaped main, and the line of sim/ it came from


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def limits(max_workers: int) -> Iterator[None]:
    """Time, address space and worker processes for one command; all restored afterwards."""

    def alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"still running after {COMMAND_SECONDS} s")

    original_init = concurrent.futures.ProcessPoolExecutor.__init__

    def guarded_init(self: Any, *args: Any, **kwargs: Any) -> None:
        asked = kwargs.get("max_workers", args[0] if args else None)
        if asked is not None and asked > max_workers:
            raise TooManyWorkers(f"a pool of {asked} worker processes where at most {max_workers} can have work")
        original_init(self, *args, **kwargs)

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_bytes() + MEMORY_HEADROOM
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, COMMAND_SECONDS)
    concurrent.futures.ProcessPoolExecutor.__init__ = guarded_init  # type: ignore[method-assign]
    try:
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        concurrent.futures.ProcessPoolExecutor.__init__ = original_init  # type: ignore[method-assign]
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def useful_workers(argv: list[str]) -> int:
    """Worker processes that can have work: at most the CPUs, and for run and compare the batches."""
    cpus = len(os.sched_getaffinity(0))

    def option(name: str, default: int) -> int:
        at = [i for i, a in enumerate(argv) if a == name]  # the last one counts, as for argparse
        try:
            return int(argv[at[-1] + 1])
        except (ValueError, IndexError):
            return default

    if argv[0] in ("run", "compare") and "--precision" not in argv:
        return max(1, min(cpus, math.ceil(max(option("--reps", 1), 1) / max(option("--batch", 10), 1))))
    return cpus


def run_cli(argv: list[str], cwd: Path) -> Played:
    """``pilkada-sim ARGV`` in this process, as a user at a terminal would see it."""
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)  # what logging's last resort would print on a terminal
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    crash, code = None, None
    here = Path.cwd()
    try:
        os.chdir(cwd)  # a default output folder (reports/...) lands in the case's folder
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.resetwarnings()  # Python's defaults for a command: shown, deprecations hidden
            for category in HIDDEN_WARNINGS:
                warnings.simplefilter("ignore", category)
            try:
                with limits(useful_workers(argv)):
                    code = main(argv)
            except SystemExit as exc:  # argparse: its one line is on stderr already
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except (Exception, CaseTimeout, TooManyWorkers) as exc:
                crash = f"{type(exc).__name__}: {short(str(exc), 300)}{_origin(exc)}"
        for w in caught:
            err.write(f"{w.category.__name__}: {w.message}\n")
    finally:
        os.chdir(here)
        logging.getLogger().removeHandler(handler)
    return Played(argv, code, err.getvalue(), crash)


def _origin(exc: BaseException) -> str:
    """' at sim/x.py:N', the last line of the package the exception passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/sim/" in f.filename]
    return f" at {Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno}" if frames else ""


def snapshot(folder: Path) -> dict[str, str]:
    """Every path below ``folder`` with a hash of its bytes ('' for a folder)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(folder.rglob("*"))
    }


def _fill(argv: list[str], folder: Path, case: Case) -> list[str]:
    names = {"{dir}": str(folder), "{scenario}": str(folder / "trace.yaml"), "{run}": str(folder / "done")}
    if case.injects is not None:
        names["{injects}"] = str(folder / case.injects[0])
    filled = []
    for arg in argv:
        for key, value in names.items():
            arg = arg.replace(key, value)
        filled.append(arg)
    return filled


def write_case(case: Case, folder: Path) -> None:
    (folder / "trace.yaml").write_text(case.scenario)
    files = [("trace_tps.csv", case.tps), ("trace_matrix.csv", case.matrix)]
    if case.injects is not None:
        files.append(case.injects)
    for name, content in files:
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def _output_of(argv: list[str], folder: Path) -> Path | None:
    """The folder a command writes (its --out; the run folder for report), if any."""
    if argv[0] == "report":
        return folder / argv[1]
    if "--out" in argv and argv.index("--out") + 1 < len(argv):
        return folder / argv[argv.index("--out") + 1]  # a relative --out is below the working folder
    return None


def judge(case: Case, played: Played, before: dict[str, str], folder: Path) -> list[str]:
    """What is wrong with one command's outcome: nothing for a clean run or a proper refusal."""
    where = f"`{' '.join(played.argv)}`"
    after = snapshot(folder)
    if played.crash is not None:
        return [f"{where}: crashed with {played.crash}; stderr: {short(played.err.strip(), 400)!r}"]
    if played.code == 2:
        problems = []
        lines = played.err.splitlines()
        if "Traceback" in played.err or not played.err.endswith("\n") or len(lines) != 1 or not lines[0].strip():
            problems.append(f"{where}: exit 2 but stderr is not one line: {short(played.err, 600)!r}")
        if after != before:
            new = sorted(set(after) - set(before))
            changed = sorted(k for k in before if k in after and after[k] != before[k])
            gone = sorted(set(before) - set(after))
            problems.append(
                f"{where}: refused ({short(played.err.strip(), 200)!r}) but wrote: new {new[:6]}, "
                f"changed {changed[:6]}, removed {gone[:6]}"
            )
        return problems
    if played.code != 0:
        return [f"{where}: exit {played.code}; stderr: {short(played.err, 600)!r}"]
    problems = []
    if case.must_refuse:
        problems.append(f"{where}: ran (exit 0) though the input must be refused")
    if played.err:
        problems.append(f"{where}: exit 0 but stderr is not empty: {short(played.err, 400)!r}")
    out = _output_of(played.argv, folder)
    if played.argv[0] in ("run", "compare", "sweep", "exercise") and out is not None:
        if not (out / "manifest.json").is_file():
            problems.append(f"{where}: exit 0 but {out.name}/manifest.json is missing")
        leftovers = [p.name for p in out.iterdir() if p.name in ("batches", "job.json")] if out.is_dir() else []
        if leftovers:
            problems.append(f"{where}: exit 0 but {out.name}/ still holds {leftovers}")
    stray = [k for k in set(after) - set(before) if out is None or not (folder / k).is_relative_to(out)]
    if stray:
        problems.append(f"{where}: wrote outside its output folder: {sorted(stray)[:6]}")
    if out is not None and out.is_dir():
        problems += _check_outputs(case, out, folder, where)
    return problems


FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?![\d.]))")  # what Excel would read as a formula


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_outputs(case: Case, out: Path, folder: Path, where: str) -> list[str]:
    """A clean run's folder: manifest not blown up, CSV cells neutralised, scenario text escaped."""
    problems = []
    manifest = out / "manifest.json"
    inputs = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    if manifest.is_file() and manifest.stat().st_size > MANIFEST_SLACK + 10 * inputs:
        problems.append(f"{where}: manifest.json is {manifest.stat().st_size:,} bytes from {inputs:,} bytes of input")
    for table in sorted(out.glob("*.csv")):
        with table.open(newline="", encoding="utf-8") as f:
            bad = next((c for row in csv.reader(f) for c in row if FORMULA.match(c) and not _is_number(c)), None)
        if bad is not None:
            problems.append(f"{where}: {table.name} has a cell that starts a formula: {short(repr(bad), 80)}")
    for page in sorted(p for p in out.rglob("*") if p.suffix in (".html", ".md")):
        text = page.read_text(encoding="utf-8", errors="replace")
        if SCRIPT in text:
            problems.append(f"{where}: {page.name} carries {SCRIPT} verbatim")
        for hostile in case.hostile:
            shown = html.escape(hostile, quote=True)
            if FORMULA.match(hostile) and page.suffix == ".html" and any(q + shown in text for q in ("'", "&#x27;")):
                problems.append(f"{where}: {page.name} shows {hostile!r} with the spreadsheet's apostrophe")
    return problems


def make_finished_run(folder: Path) -> None:
    """A finished run of the base scenario in ``folder/done``, for report cases."""
    base = folder / "base"
    base.mkdir()
    write_case(Case("base", (), "base", []), base)
    played = run_cli(["run", str(base / "trace.yaml"), "--out", str(folder / "done"), *RUN], folder)
    assert played.code == 0 and played.crash is None, played
    shutil.rmtree(base)


def play_case(case: Case, folder: Path) -> tuple[list[str], list[Played]]:
    """Write ``case`` into ``folder`` and run its commands: the problems found, and each outcome."""
    write_case(case, folder)
    if case.finished_run:
        make_finished_run(folder)
        if case.damage is not None:
            case.damage(folder / "done")
    problems: list[str] = []
    played = []
    for argv in case.commands:
        before = snapshot(folder)
        played.append(run_cli(_fill(argv, folder, case), folder))
        problems += judge(case, played[-1], before, folder)
    return problems + _agree(played), played


def _agree(played: list[Played]) -> list[str]:
    """validate and the runs agree on a scenario (a run may refuse a size validate does not judge)."""
    if len(played) < 2 or played[0].argv[0] != "validate" or played[0].crash:
        return []
    first, runs = played[0], [p for p in played[1:] if p.crash is None and p.code in (0, 2)]
    problems = []
    if len({p.code for p in runs}) > 1:
        problems.append("the runs disagree: " + "; ".join(f"`{' '.join(p.argv[-8:])}`: exit {p.code}" for p in runs))
    for run in runs:
        if first.code == 0 and run.code == 2 and "incidents expected" not in run.err:
            problems.append(f"validate accepted the scenario but `run` refused it: {short(run.err.strip(), 300)!r}")
        if first.code == 2 and run.code == 0:
            problems.append(f"validate refused the scenario ({short(first.err.strip(), 200)!r}) but `run` ran it")
    return problems
