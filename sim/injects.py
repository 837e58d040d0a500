"""The exercise's events list (MSEL): scripted injects, read from CSV or YAML and checked.

One row per inject; columns (see scenarios/README.md, "Exercise events lists"):

``number, time, kind, target, type, priority, value, duration, role, message, expected_action``

Only ``number``, ``time``, ``kind`` and ``target`` are required. Every mistake is reported as one
line naming the file, the row (the spreadsheet's row number: the header is row 1) and the column,
before anything runs.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.inject_kinds import KINDS
from sim.model import UnitNumbering
from sim.scenario import MAX_MINUTES, LoadedScenario, read_csv_table, read_yaml_file
from sim.timeparse import MAX_WINDOW_DAYS, minutes_between, parse_when, when
from sim.world import KPU_ID, World, ppk_id

COLUMNS = (
    "number",
    "time",
    "kind",
    "target",
    "type",
    "priority",
    "value",
    "duration",
    "role",
    "message",
    "expected_action",
)
REQUIRED = ("number", "time", "kind", "target")
MAX_INJECTS = 10_000

_H_OFFSET = re.compile(r"^H\s*([+-])\s*(\d{1,3}):(\d{2})$")
_HHMM = re.compile(r"^([+-]?)(\d{1,3}):(\d{2})$")
_SPAN = re.compile(
    r"^([+-]?)\s*(?:(\d+(?:[.,]\d+)?)\s*(?:hours?|jam|h|j)(?![a-z]))?\s*"
    r"(?:(\d+(?:[.,]\d+)?)\s*(?:m|min|mins|menit|minutes?)?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Inject:
    """One checked inject; ``t`` and ``duration_min`` in model minutes [min]."""

    number: int
    where: str  # "row 5" (CSV) or "entry 3" (YAML), for messages
    t: float
    kind: str
    target: str
    type: str = ""
    priority: int | None = None
    value: float | None = None  # closure factor (inf = cut), reinforcement units, surge multiplier
    duration_min: float | None = None  # None = until the end of the simulated period
    role: str = ""
    message: str = ""
    expected_action: str = ""
    site: int = -1  # incident: node index
    kec: int = -1  # closure, flood, surge: kecamatan index
    other: int = -1  # closure or flood of a link: the second kecamatan

    @property
    def t_end(self) -> float:
        return math.inf if self.duration_min is None else self.t + self.duration_min


def parse_span(text: str) -> float:
    """A duration or shift in minutes: ``90``, ``90min``, ``2h``, ``1h30``, ``01:30``, ``-15min``."""
    s = text.strip()
    m = _HHMM.match(s)
    if m:
        if int(m.group(3)) > 59:
            raise ValueError(f"'{text}' is not a duration; minutes after ':' go up to 59")
        value = float(int(m.group(2)) * 60 + int(m.group(3)))
        return -value if m.group(1) == "-" else value
    m = _SPAN.match(s)
    if s and m and (m.group(2) or m.group(3)):
        h = float((m.group(2) or "0").replace(",", "."))
        mins = float((m.group(3) or "0").replace(",", "."))
        value = h * 60 + mins
        return -value if m.group(1) == "-" else value
    raise ValueError(f"'{text}' is not a duration; use minutes (90), 90min, 2h, 1h30 or 01:30")


def parse_time(text: str, sc: LoadedScenario) -> float:
    """An inject time in model minutes: ``10:40`` on election day, a date-time, ``H-1 08:00``, or
    ``H+02:30``, an offset from H-hour, when voting opens."""
    s = text.strip()
    m = _H_OFFSET.match(s)
    if m:
        offset = int(m.group(2)) * 60 + int(m.group(3))
        if int(m.group(3)) > 59:
            raise ValueError(f"'{text}' is not an offset; minutes after ':' go up to 59")
        return sc.timeline.voting_start + (-offset if m.group(1) == "-" else offset)
    return minutes_between(sc.epoch, parse_when(s, sc.spec.election_day))


def unit_ids(sc: LoadedScenario, plan: str) -> list[str]:
    """The plan's unit ids as the model names them (:class:`sim.model.UnitNumbering`)."""
    return [uid for uid, *_ in UnitNumbering.of_plan(sc.spec.plans[plan])[1]]


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


class InjectReader:
    """Checks rows one by one against the scenario, world and plan."""

    def __init__(self, path: Path, sc: LoadedScenario, world: World, plan: str) -> None:
        self.path, self.sc, self.world, self.plan = path, sc, world, plan
        self.nodes = {n: i for i, n in enumerate(world.node_ids) if world.node_kind[i] != "post"}
        self.kec = {k: i for i, k in enumerate(world.kecamatan)}
        self.kec_folded = {k.casefold(): i for i, k in enumerate(world.kecamatan)}
        self.units = unit_ids(sc, plan)
        self.posts = list(world.post_node)
        self.types = list(sc.spec.incidents.types)

    def fail(self, where: str, field: str, problem: str) -> NoReturn:
        raise UserError(str(self.path), f"{where} column {field}", problem)

    def kecamatan(self, where: str, name: str) -> int:
        k = self.kec.get(name, self.kec_folded.get(name.casefold()))
        if k is None:
            self.fail(where, "target", f"unknown kecamatan '{name}'; valid: {_listing(list(self.kec))}")
        assert k is not None
        return k

    def row(self, where: str, cells: dict[str, str]) -> Inject:
        def cell(name: str) -> str:
            v = cells.get(name, "")
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()

        for name in REQUIRED:
            if not cell(name):
                self.fail(where, name, "empty; every inject needs number, time, kind and target")
        number_text = cell("number")
        if not re.fullmatch(r"\d{1,9}", number_text):
            self.fail(where, "number", f"'{number_text}' is not a whole number (0 or more)")
        number = int(number_text)
        kind = re.sub(r"[\s-]+", "_", cell("kind").lower())
        if kind not in KINDS:
            self.fail(where, "kind", f"unknown kind '{cell('kind')}'; valid: {', '.join(KINDS)}")
        uses = KINDS[kind].uses
        try:
            t = parse_time(cell("time"), self.sc)
        except ValueError as exc:
            self.fail(where, "time", str(exc))
        self.check_window(where, "time", t)
        for name in ("type", "priority", "value", "duration", "role"):
            if cell(name) and name not in uses:
                takes = ", ".join(sorted(uses)) or "none of type, priority, value, duration, role"
                what = f"{_article(kind)} {kind} inject"
                self.fail(where, name, f"'{cell(name)}' does not apply to {what} (it takes: {takes})")

        inj = Inject(
            number, where, t, kind, cell("target"), message=cell("message"), expected_action=cell("expected_action")
        )
        duration = None
        if cell("duration"):
            try:
                duration = parse_span(cell("duration"))
            except ValueError as exc:
                self.fail(where, "duration", str(exc))
            assert duration is not None
            if not duration > 0:
                self.fail(where, "duration", f"'{cell('duration')}' must be longer than zero")
        inj = replace(inj, duration_min=duration)
        value = None
        if cell("value"):
            try:
                value = float(cell("value").replace(",", "."))
            except ValueError:
                self.fail(where, "value", f"'{cell('value')}' is not a number")
            assert value is not None
            if not math.isfinite(value):
                self.fail(where, "value", f"'{cell('value')}' is not a finite number")
        return KINDS[kind].check(self, inj, cell, value)

    def check_window(self, where: str, field: str, t: float) -> None:
        tl = self.sc.timeline
        if not abs(t) <= MAX_MINUTES:  # too far to be a date at all (or not a number)
            self.fail(
                where,
                field,
                f"{t:g} min from the epoch is far outside the scenario window (at most {MAX_WINDOW_DAYS} days)",
            )
        if not tl.logistics_start <= t < tl.horizon:
            self.fail(
                where,
                field,
                f"{when(self.sc.epoch, t, 'en')} is outside the scenario window "
                f"({when(self.sc.epoch, tl.logistics_start, 'en')} to {when(self.sc.epoch, tl.horizon, 'en')})",
            )

    # --- what the kinds' checks share (sim.inject_kinds) ---------------------------------------

    def site(self, inj: Inject) -> int:
        """The node of an inject's target site (a TPS id, 'PPK <kecamatan>' or 'KPU')."""
        site = self.nodes.get(inj.target)
        if site is None:
            examples = [self.world.node_ids[0], ppk_id(self.world.kecamatan[0]), KPU_ID]
            self.fail(
                inj.where,
                "target",
                f"unknown site '{inj.target}'; an incident's target is a TPS id, 'PPK <kecamatan>' or 'KPU' "
                f"(e.g. {', '.join(examples)})",
            )
        assert site is not None
        return site

    def check_type(self, inj: Inject, name: str) -> None:
        if name not in self.types:
            self.fail(inj.where, "type", f"unknown incident type '{name}'; valid: {', '.join(self.types)}")

    def priorities_with_target(self) -> list[int]:
        """Priorities every kecamatan has a response target for (per-priority targets may lack one)."""
        return [p for p in range(1, self.world.target_min.shape[1]) if not np.isnan(self.world.target_min[:, p]).any()]

    @staticmethod
    def listing(names: list[str]) -> str:
        return _listing(names)


def _rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, cells) of every row of a CSV or YAML events list."""
    if path.suffix.lower() in (".yaml", ".yml"):
        data = read_yaml_file(path, "events list")  # the scenario's YAML rules: no repeated keys, size caps
        entries = data.get("injects") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise UserError(str(path), "injects", "expected a list of injects (lines starting '- ')")
        if len(entries) > MAX_INJECTS:
            raise UserError(str(path), None, f"{len(entries):,} injects; at most {MAX_INJECTS:,} are supported")
        out = []
        for k, e in enumerate(entries, start=1):
            if not isinstance(e, dict):
                raise UserError(str(path), f"entry {k}", "expected a mapping (number: ..., time: ..., ...)")
            unknown = [c for c in e if c not in COLUMNS]
            if unknown:
                raise UserError(str(path), f"entry {k} key {unknown[0]}", f"unknown key; valid: {', '.join(COLUMNS)}")
            out.append((f"entry {k}", {str(c): _yaml_cell(path, f"entry {k} key {c}", v) for c, v in e.items()}))
        return out
    if not path.is_file():
        raise UserError(str(path), None, "events list not found")
    numbers = _spreadsheet_rows(path)
    df = read_csv_table(path, MAX_INJECTS, "injects")
    df.columns = [re.sub(r"[\s-]+", "_", c.lower()) for c in df.columns]
    unknown = [c for c in df.columns if c not in COLUMNS]
    if unknown:
        raise UserError(str(path), f"column {unknown[0]}", f"unknown column; valid: {', '.join(COLUMNS)}")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise UserError(str(path), f"column {missing[0]}", f"missing; the header needs {', '.join(REQUIRED)}")
    df = df.where(pd.notna(df), "")
    return [
        (f"row {numbers[int(i)] if int(i) < len(numbers) else int(i) + 2}", {str(c): v for c, v in row.items()})
        for i, row in zip(df.index, df.to_dict("records"), strict=True)
    ]


def _yaml_cell(path: Path, where: str, value: Any) -> str:
    """A YAML value as the text of a cell. A yes/no or a list is refused: no column takes one, and
    read as text (``True``, ``['a', 'b']``) it would silently mean something else."""
    if isinstance(value, bool):
        raise UserError(
            str(path), where, f"{str(value).lower()} is read as yes/no; quote it ('{str(value).lower()}') if it is text"
        )
    if isinstance(value, dict | list):
        raise UserError(str(path), where, "expected one value (text or a number), not a list or mapping")
    return "" if value is None else str(value)


def _spreadsheet_rows(path: Path) -> list[int]:
    """The spreadsheet row numbers (header = 1) of the non-blank rows, in order, checking on the way
    that no row has more cells than the header (an unquoted comma in a message, say)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []  # read_csv_table says what is wrong with the file
    first = text.split("\n", 1)[0]
    sep = ";" if ";" in first and "," not in first else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = next(rows, [])
    numbers = []
    for n, row in enumerate(rows, start=2):
        if row:
            numbers.append(n)
        cells = len(row)
        while cells > len(header) and not row[cells - 1].strip():
            cells -= 1  # trailing empty cells, as spreadsheets write them, are harmless
        if cells > len(header):
            raise UserError(
                str(path),
                f"row {n}",
                f"{cells} cells but the header has {len(header)}; quote a cell that contains '{sep}' "
                '(e.g. "Banjir, jalan putus")',
            )
    return numbers


def read_injects(path: str | Path, sc: LoadedScenario, world: World, plan: str, shift_min: float = 0.0) -> list[Inject]:
    """Read and check an events list for ``plan``; every inject moved by ``shift_min`` [min].

    Returns the injects in time order (ties in file order).
    """
    path = Path(path)
    reader = InjectReader(path, sc, world, plan)
    rows = _rows(path)  # a header alone is an empty list: the day as a plain run plays it
    injects = []
    seen: dict[int, str] = {}
    for where, cells in rows:
        inj = reader.row(where, cells)
        if inj.number in seen:
            reader.fail(where, "number", f"{inj.number} is already used by {seen[inj.number]}; numbers must differ")
        seen[inj.number] = where
        if shift_min:
            inj = replace(inj, t=inj.t + shift_min)
            try:
                reader.check_window(where, "time", inj.t)
            except UserError as err:
                raise UserError("--shift", f"moves inject {inj.number} ({where})", err.problem) from None
        injects.append(inj)
    injects.sort(key=lambda x: x.t)  # stable: ties keep the file's order
    check_units(injects, reader)
    return injects


def check_units(injects: list[Inject], reader: InjectReader) -> None:
    """Unit ids of unit_out/unit_back injects, in time order: the plan's, or a reinforcement's
    that has arrived by then (numbered on from the plan's, as the model does)."""
    names, planned = UnitNumbering.of_plan(reader.sc.spec.plans[reader.plan])
    known = [uid for uid, *_ in planned]
    for inj in injects:
        if inj.kind == "reinforcement":
            known.extend(names.next(inj.target, inj.role) for _ in range(int(inj.value or 1)))
        elif inj.kind in ("unit_out", "unit_back") and inj.target not in known:
            reader.fail(
                inj.where,
                "target",
                f"unknown unit '{inj.target}' in plan '{reader.plan}' at that time; valid: {_listing(known)}",
            )
