"""A finished run folder, read back for reporting (never rerun), and the report's files in it.

``verified_manifest`` (for run, compare, sweep and exercise folders alike) refuses a folder that is
not finished (no manifest), whose manifest is not the provenance record of :mod:`sim.provenance`
(:class:`Manifest`: the keys the reports read are required and typed, other keys are allowed) or
whose files no longer match the checksums in it. Every table a report reads is read by
:func:`read_table`, which refuses one the manifest does not list (so its checksum was not
checked), one that cannot be parsed, or one that lacks a column the reader needs or holds text
where a number or True/False belongs. ``RunData.load`` also refuses a folder made before targets
by priority (no ``targets.csv``, no ``within_target`` column: its "in time" meant something else).
So a report never describes half-written, altered or differently defined results, and a refused
folder gets one line naming the file and the key, with nothing written into it.

The confirmation run of ``pilkada-sim optimize`` is a compare folder with one more manifest key,
``optimization`` (:class:`OptimizationRecord`), and two more tables (:data:`OPTIMIZATION_TABLES`);
``RunData.load`` reads them into :class:`Optimization` when the key is there and checks that they
fit together (the start plan is the baseline, every group row judges one of the constraints, the
verdict ``meets_targets`` is what the rows say).

The report's files (charts, documents, ``report.json``) are written by :func:`staged_report` and
:func:`publish_report`: all of one language into a hidden staging folder first, then moved into
place, ``report.json`` last (see :func:`publish_report` for what a reader can rely on).

The statistics of a group of incidents (a kecamatan, a TPS, an hour) are computed here once, for
the briefing, the charts and the workbook alike, from the columns of ``incidents.csv`` as
:mod:`sim.metrics` defines them (censored ``response_min``, ``reached``, ``within_target``) and
with its percentile and share; nothing here re-derives a predicate.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import math
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import metrics
from sim.errors import UserError
from sim.records import INCIDENT_COLUMNS, KPI_COLUMNS, SITE_COLUMNS, TARGET_COLUMNS, TIMESERIES_COLUMNS, UNIT_COLUMNS
from sim.report.i18n import OBJECTIVES
from sim.runfolder import sha256
from sim.scenario import TPS_CLASSES, Scenario, Timeline, personnel_use, resolve_timeline
from sim.scenario.schema import split_constraint
from sim.textsafe import restore, restore_text

MANIFEST = "manifest.json"

# --- the manifest ------------------------------------------------------------------------------

# A file the manifest lists: a table directly in the folder (RunFolder.finish writes no other).
FileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=255)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Record(BaseModel):
    """A part of the provenance record: JSON types as written (no "3" for 3, no true for 1),
    keys no report reads allowed (a newer pilkada-sim may add some)."""

    model_config = ConfigDict(extra="allow", strict=True)


class ScenarioRecord(_Record):
    name: str
    title: str | None = None
    path: str = ""
    sha256: str = ""
    overrides: list[str] = []
    resolved: dict[str, Any]  # the resolved YAML; validated as a Scenario by verified_manifest


class GridPoint(_Record):
    point: int = Field(ge=0)
    values: dict[str, Any] = Field(min_length=1)  # key path -> value at this point
    sha256: str = ""


class BackendRecord(_Record):
    kind: str
    workers: int | None = Field(default=None, ge=1)
    address: str | None = None


class PrecisionRecord(_Record):
    kpi: str = ""
    target: Finite = Field(gt=0)
    reached: bool = False
    achieved: float | None = None  # NaN when it could not be measured
    ceiling: int | None = Field(default=None, ge=1)


class EventsFileRecord(_Record):
    path: str
    sha256: str = ""


class ExerciseRecord(_Record):
    plan: str
    events_file: EventsFileRecord
    background: bool
    shift_min: Finite
    queue_alert: int = Field(ge=0)


# --- the optimizer's record (the confirmation run of `pilkada-sim optimize`) ---------------------

DIRECTIONS = ("at_least", "at_most")


@dataclass(frozen=True)
class Constraint:
    """One target the optimizer holds every target group to: a KPI of :data:`sim.metrics.KPIS`
    (its unit: a share, minutes or a count), at least or at most ``threshold``."""

    kpi: str
    direction: Literal["at_least", "at_most"]
    threshold: float

    def met(self, value: float) -> bool:
        """Whether a value meets it (a NaN, no incident to judge, does not)."""
        if not math.isfinite(value):
            return False
        return value >= self.threshold if self.direction == "at_least" else value <= self.threshold


def parse_constraint(text: str) -> Constraint:
    """``'within_target_p1>=0.9'`` -> Constraint('within_target_p1', 'at_least', 0.9); ValueError
    naming what would be valid otherwise."""
    key, at_least, threshold = split_constraint(text)  # the one text form, sim.scenario.schema
    if key not in metrics.KPIS:
        raise ValueError(f"'{key}' is not a KPI of sim.metrics; valid: {', '.join(metrics.KPIS)}")
    return Constraint(key, "at_least" if at_least else "at_most", threshold)


class OptimizationRecord(_Record):
    """``manifest.json``'s ``optimization``: how the search that chose the compared plan ran.

    - ``mode``: ``min_force`` (fewest personnel meeting every constraint) or ``fixed_force`` (the
      same personnel, placed to improve ``objective``).
    - ``start_plan``: where the search started, the baseline of the compare; ``recommended_plan``:
      what it recommends, the compared plan.
    - ``objective``: fixed_force only, a KPI key (:data:`sim.report.i18n.OBJECTIVES`); None for
      min_force, whose objective is the personnel count.
    - ``constraints``: ``KPI>=VALUE`` / ``KPI<=VALUE`` items (:func:`parse_constraint`), judged per
      target group; ``indifference``: the indifference zone (the constraints' unit, a share).
    - ``method``: the search method in English, for provenance (the briefing words it from ``mode``).
    - ``candidates``, ``replications_spent`` of ``budget_reps`` (``budget_exhausted``), ``search_seed``.
    - ``confirm_seed``, ``confirm_replications``: the confirmation's (the manifest's ``seed`` and
      ``replications``), fresh replications never used in the search.
    - ``meets_targets``: in the confirmation, every group meets every constraint.
    """

    mode: Literal["min_force", "fixed_force"]
    start_plan: str
    recommended_plan: str
    objective: str | None = None
    constraints: list[str] = []
    indifference: Finite = Field(ge=0)
    method: str = ""
    candidates: int = Field(ge=1)
    replications_spent: int = Field(ge=0)
    budget_reps: int = Field(ge=1)
    budget_exhausted: bool
    search_seed: int = Field(ge=0)
    confirm_seed: int = Field(ge=0)
    confirm_replications: int = Field(ge=1)
    meets_targets: bool

    @model_validator(mode="after")
    def _consistent(self) -> OptimizationRecord:
        for n, text in enumerate(self.constraints):
            try:
                parse_constraint(text)
            except ValueError as err:
                raise _Inconsistent(f"optimization.constraints.{n}", str(err)) from None
        bounds = [(c.kpi, c.direction) for c in map(parse_constraint, self.constraints)]
        if len(set(bounds)) < len(bounds):
            raise _Inconsistent("optimization.constraints", "a KPI is bounded twice in the same direction")
        if self.mode == "min_force" and self.objective is not None:
            raise _Inconsistent("optimization.objective", "should be null for min_force (its objective is personnel)")
        if self.mode == "fixed_force" and self.objective not in OBJECTIVES:
            what = "missing" if self.objective is None else f"'{self.objective}' is not an objective"
            raise _Inconsistent("optimization.objective", f"{what}; valid: {', '.join(OBJECTIVES)}")
        return self

    def parsed_constraints(self) -> list[Constraint]:
        return [parse_constraint(c) for c in self.constraints]


class Manifest(_Record):
    """``manifest.json`` as the reports read it: the provenance record of :mod:`sim.provenance`
    (required where a report reads the key), the experiment's or the exercise's own keys, and the
    SHA-256 of every table (``files``)."""

    command: Literal["run", "compare", "sweep", "exercise"]
    argv: list[str] = []
    scenario: ScenarioRecord
    grid: list[GridPoint] | None = None
    seed: int
    replications: int = Field(ge=1)
    plans: list[str] = Field(min_length=1)
    backend: BackendRecord | None = None
    versions: dict[str, str] = {}
    started: str | None = None
    finished: str | None = None
    baseline: str | None = None
    reference_point: int | None = None  # a sweep's point the others are paired with (sweep_comparison.csv)
    precision: PrecisionRecord | None = None
    exercise: ExerciseRecord | None = None
    optimization: OptimizationRecord | None = None
    files: dict[FileName, Sha256]

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if len(set(self.plans)) < len(self.plans):
            raise _Inconsistent("plans", "a plan is listed twice")
        if self.baseline is not None and self.baseline not in self.plans:
            raise _Inconsistent("baseline", f"'{self.baseline}' is not one of plans ({', '.join(self.plans)})")
        if self.grid:
            keys = list(self.grid[0].values)
            for n, g in enumerate(self.grid):
                if list(g.values) != keys:
                    raise _Inconsistent(f"grid.{n}.values", f"varies other keys than point 0 ({', '.join(keys)})")
            if len({g.point for g in self.grid}) < len(self.grid):
                raise _Inconsistent("grid", "a point number is listed twice")
        self._reference_fits()
        if self.command == "exercise":
            if self.exercise is None:
                raise _Inconsistent("exercise", "missing (an exercise folder's manifest has it)")
            if self.exercise.plan not in self.plans:
                raise _Inconsistent("exercise.plan", f"'{self.exercise.plan}' is not one of plans")
        if self.optimization is not None:
            self._optimization_fits(self.optimization)
        return self

    def _reference_fits(self) -> None:
        """A sweep names its reference point, one of its grid's; no other folder has one."""
        points = [g.point for g in self.grid or []]
        if self.command == "sweep" and self.reference_point is None:
            raise _Inconsistent("reference_point", f"missing: {OLDER_SWEEP}")
        if self.reference_point is not None and self.reference_point not in points:
            valid = ", ".join(map(str, points)) or "none (not a sweep)"
            raise _Inconsistent("reference_point", f"{self.reference_point} is not a grid point; valid: {valid}")

    def _optimization_fits(self, o: OptimizationRecord) -> None:
        """The optimizer's record describes this folder: its confirmation compare."""
        if self.command != "compare" or self.grid:
            raise _Inconsistent("optimization", "only the confirmation run (a compare folder) has it")
        if o.start_plan != self.baseline:
            raise _Inconsistent("optimization.start_plan", f"'{o.start_plan}' is not the baseline ({self.baseline})")
        if o.recommended_plan not in self.plans:
            plans = ", ".join(self.plans)
            raise _Inconsistent(
                "optimization.recommended_plan", f"'{o.recommended_plan}' is not one of plans ({plans})"
            )
        if o.confirm_seed != self.seed:
            raise _Inconsistent("optimization.confirm_seed", f"{o.confirm_seed} is not the folder's seed ({self.seed})")
        if o.confirm_replications != self.replications:
            raise _Inconsistent(
                "optimization.confirm_replications",
                f"{o.confirm_replications} is not the folder's replications ({self.replications})",
            )


class _Inconsistent(ValueError):
    """Keys that are each well typed but do not fit together (raised inside the model's check)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key, self.problem = key, problem


def _manifest_error(man_path: Path, err: ValidationError) -> UserError:
    """The first problem pydantic found, as one line naming manifest.json and the key."""
    first = err.errors(include_url=False)[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, _Inconsistent):
        return UserError(str(man_path), cause.key, cause.problem)
    loc = [str(p) for p in first["loc"]]
    if loc[:1] == ["files"] and loc[-1:] == ["[key]"]:  # a file name that is not a plain name
        return UserError(str(man_path), "files", f"'{loc[1]}' is not a file name in the folder")
    key = ".".join(loc) or None
    if first["type"] == "missing":
        problem = "missing (every finished folder's manifest has it; see sim/provenance.py)"
    else:
        problem = re.sub(r"^Input should", "should", str(first["msg"]))
    return UserError(str(man_path), key, problem)


def verified_manifest(folder: str | Path) -> tuple[dict[str, Any], Scenario, dt.datetime, Timeline]:
    """The manifest of a finished folder (run, compare, sweep or exercise), its resolved scenario,
    epoch and timeline; refused if it is unfinished, not a :class:`Manifest`, names plans its
    scenario has not, or any file it lists differs from its checksum."""
    path = Path(folder)
    man_path = path / MANIFEST
    if not man_path.is_file():
        raise UserError(str(path), None, "not a finished run folder (no manifest.json); finish it with --resume")
    try:
        manifest = json.loads(man_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise UserError(str(man_path), None, "not a readable manifest (JSON written by pilkada-sim)") from None
    if not isinstance(manifest, dict):
        kind = {list: "array", str: "string", bool: "true/false", type(None): "null"}.get(type(manifest), "number")
        raise UserError(str(man_path), None, f"a JSON {kind}, not the provenance record (an object)")
    try:
        record = Manifest.model_validate(manifest)
    except ValidationError as err:
        raise _manifest_error(man_path, err) from None
    for name, digest in record.files.items():
        f = path / name
        if not f.is_file():
            raise UserError(str(path), name, "listed in the manifest but missing")
        if sha256(f) != digest:  # a megabyte at a time: a final table of many replications is large
            raise UserError(str(path), name, "does not match its checksum in the manifest (changed after the run)")
    try:
        spec = Scenario.model_validate(record.scenario.resolved)
    except ValidationError:
        raise UserError(str(man_path), "scenario.resolved", "missing or not a valid scenario") from None
    unknown = [p for p in record.plans if p not in spec.plans]
    if unknown:
        raise UserError(
            str(man_path), "plans", f"'{unknown[0]}' is not a plan of scenario.resolved; valid: {', '.join(spec.plans)}"
        )
    epoch, timeline = resolve_timeline(spec, str(man_path))
    return manifest, spec, epoch, timeline


# --- the tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """What a reader needs of a saved table: these columns (no other is read), of which ``numbers``
    hold numbers (or nothing), ``flags`` True/False (or nothing), ``text`` is read as text (a TPS
    id '007' stays '007', an empty cell is ''); ``older``: columns a folder made before targets by
    priority lacks.

    ``floats``: numbers that are measures (minutes, shares, km), always float64: the CSV writer
    writes a whole value in its shortest form (``30``), so without this a column whose values all
    happen to be whole would come back as integers. The other numbers are counts and ids, as
    written. ``codes``: text of few distinct values over many rows (plan, kecamatan, incident
    type, unit id), read as a pandas categorical: each distinct text is held once, not once per
    row; an empty cell is missing (NaN), as in the columns no list names.
    """

    columns: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    older: tuple[str, ...] = ()
    floats: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    def in_sweep(self, keys: Sequence[str] = ()) -> TableSpec:
        """The table as a sweep writes it: its ``point`` (a number) first, then the varied ``keys``
        (the scenario's values, as written), then its own columns."""
        columns = tuple(dict.fromkeys(("point", *keys, *self.columns)))
        numbers = tuple(dict.fromkeys(("point", *self.numbers)))
        return TableSpec(columns, numbers, self.flags, self.text, self.older, self.floats, self.codes)


OLDER = "made by an older pilkada-sim, before targets by priority; run the scenario again to report on it"
OLDER_SWEEP = "made by an older pilkada-sim, before paired sweeps; run the sweep again to report on it"


def _numbers(columns: Iterable[str], but: Iterable[str]) -> tuple[str, ...]:
    return tuple(c for c in columns if c not in set(but))


INCIDENT_MEASURES = ("response_min", "wait_min", "reached", "target_min", "within_target")  # since targets by priority
_STAT_FLOATS = ("mean", "sd", "ci_low", "ci_high")
_STATS = ("n", *_STAT_FLOATS)
_PAIRED_FLOATS = ("plan_mean", "baseline_mean", "difference", "sd", "ci_low", "ci_high")
_PAIRED = ("n", *_PAIRED_FLOATS)
_SWEEP_PAIRED_FLOATS = ("point_mean", "reference_mean", "difference", "sd", "ci_low", "ci_high")
_SWEEP_PAIRED = ("n", *_SWEEP_PAIRED_FLOATS)
SWEEP_COMPARISON = "sweep_comparison.csv"
_INCIDENT_FLOATS = (
    *("t_occur", "t_report", "t_dispatch", "t_arrive", "t_clear"),
    *("wait_min", "travel_min", "response_min", "target_min"),
)
_UNIT_FLOATS = ("t_dispatch", "t_arrive", "t_clear", "t_back", "travel_min", "travel_km", "busy_min")
_KPI_FLOATS = tuple(k for k, v in metrics.KPIS.items() if v.unit != "count")  # a count is whole
_PERCENTILE_FLOATS = ("response_min", "ci_low", "ci_high")

RUN_TABLES: dict[str, TableSpec] = {
    "incidents.csv": TableSpec(
        tuple(INCIDENT_COLUMNS),
        numbers=("replication", "priority", *_INCIDENT_FLOATS),
        flags=("reached", "within_target", "escalated"),
        older=INCIDENT_MEASURES,
        floats=_INCIDENT_FLOATS,
        codes=("plan", "type", "site_id", "kecamatan", "phase", "units", "resolved_by", "outcome"),
    ),
    "units.csv": TableSpec(
        tuple(UNIT_COLUMNS),
        numbers=("replication", "incident_id", *_UNIT_FLOATS),
        flags=("retasked",),
        floats=_UNIT_FLOATS,
        codes=("plan", "unit_id", "role", "post"),
    ),
    "timeseries.csv": TableSpec(
        tuple(TIMESERIES_COLUMNS), numbers=_numbers(TIMESERIES_COLUMNS, ["plan"]), floats=("t",), codes=("plan",)
    ),
    "kpis.csv": TableSpec(tuple(KPI_COLUMNS), numbers=_numbers(KPI_COLUMNS, ["plan"]), floats=_KPI_FLOATS),
    "summary.csv": TableSpec(("plan", "kpi", *_STATS), numbers=_STATS, floats=_STAT_FLOATS),
    "percentiles.csv": TableSpec(
        ("plan", "quantile", "n_incidents", "replications", *_PERCENTILE_FLOATS),
        numbers=("quantile", "n_incidents", "replications", *_PERCENTILE_FLOATS),
        floats=_PERCENTILE_FLOATS,
    ),
    "comparison.csv": TableSpec(
        ("plan", "baseline", "kpi", *_PAIRED, "significant"),
        numbers=_PAIRED,
        flags=("significant",),
        floats=_PAIRED_FLOATS,
    ),
    # A sweep's paired comparison with its reference point (sim.stats.paired_point_comparison);
    # the point's varied keys after "point" are added when read (TableSpec.in_sweep).
    SWEEP_COMPARISON: TableSpec(
        ("point", "plan", "reference_point", "kpi", *_SWEEP_PAIRED, "significant"),
        numbers=("point", "reference_point", *_SWEEP_PAIRED),
        flags=("significant",),
        floats=_SWEEP_PAIRED_FLOATS,
    ),
    "sites.csv": TableSpec(tuple(SITE_COLUMNS), numbers=("lat", "lon", "voters"), floats=("lat", "lon")),
    "targets.csv": TableSpec(tuple(TARGET_COLUMNS), numbers=("priority", "target_min"), floats=("target_min",)),
}
# The tables of a sweep with its "point" (sim.study.final_tables), and those of them with the
# point's varied keys after it (the charts and the workbook show them).
SWEEP_TABLES = ("incidents.csv", "units.csv", "timeseries.csv", "kpis.csv", "summary.csv", "percentiles.csv")
VARIED_KEY_TABLES = ("kpis.csv", "summary.csv", "percentiles.csv", SWEEP_COMPARISON)

# The optimizer's two tables in its confirmation folder (see OptimizationRecord):
# - optimization_changes.csv, one row per plan value that differs between start and recommended:
#   key (the plan-relative key path, e.g. patrols[polsek-sgu].units), section (CHANGE_SECTIONS),
#   where (the post id or TPS class, '' otherwise), kind (of personnel), start and recommended (the
#   value in each plan), officers_start, officers_recommended, officers_delta (personnel of that
#   kind the entry ties up in each plan, and recommended minus start);
# - optimization_groups.csv, one row per target group and constraint, the confirmation's evidence:
#   group (the target group's name, '' for the kecamatan under the default targets), kpi,
#   direction (DIRECTIONS), threshold, start_/rec_ estimate, lo, hi (95% intervals, empty when the
#   group had no such incident), diff, diff_lo, diff_hi (recommended minus start, paired on common
#   random numbers), start_met, rec_met (the point estimate meets the threshold), incidents (judged
#   for that KPI in the recommended plan, over all confirmation replications).
OPTIMIZATION_CHANGES = "optimization_changes.csv"
OPTIMIZATION_GROUPS = "optimization_groups.csv"
CHANGE_SECTIONS = ("patrols", "reserve", "tni_backup", "tps_guards", "ppk_guards", "linmas_per_tps", "other")
_OFFICERS = ("officers_start", "officers_recommended", "officers_delta")
_ESTIMATES = (
    "start_estimate",
    "start_lo",
    "start_hi",
    "rec_estimate",
    "rec_lo",
    "rec_hi",
    "diff",
    "diff_lo",
    "diff_hi",
)
OPTIMIZATION_TABLES: dict[str, TableSpec] = {
    OPTIMIZATION_CHANGES: TableSpec(
        ("key", "section", "where", "kind", "start", "recommended", *_OFFICERS),
        numbers=("start", "recommended", *_OFFICERS),
        text=("key", "section", "where", "kind"),
    ),
    OPTIMIZATION_GROUPS: TableSpec(
        ("group", "kpi", "direction", "threshold", *_ESTIMATES, "start_met", "rec_met", "incidents"),
        numbers=("threshold", *_ESTIMATES, "incidents"),
        flags=("start_met", "rec_met"),
        text=("group", "kpi", "direction"),
        floats=("threshold", *_ESTIMATES),
    ),
}


def _first_bad(col: pd.Series, ok: pd.Series) -> str:
    return repr(str(col[~ok].iloc[0]))[:60]


# True and False as the CSV writers spell them: pandas' (True) and pyarrow's (true).
TRUE_WORDS = ("True", "true")
FALSE_WORDS = ("False", "false")


def read_table(folder: Path, manifest: Mapping[str, Any], name: str, spec: TableSpec) -> pd.DataFrame:
    """The saved table ``name`` of a folder whose manifest :func:`verified_manifest` checked: the
    columns of ``spec`` only, typed as it says (a table of many replications is large, and its
    other columns are never held in memory).

    Refused (one line naming the table, or the manifest) if the manifest does not list it (its
    checksum was then never checked), if it cannot be parsed as CSV, if a column of ``spec`` is
    missing, or if a number or True/False column holds something else.
    """
    path = folder / name
    if name not in manifest["files"]:
        raise UserError(
            str(folder / MANIFEST),
            "files",
            f"does not list {name}, which the report reads (every table it reads must be listed with its checksum)",
        )
    try:
        wanted = {*spec.older, *spec.columns}
        use = [c for c in pd.read_csv(path, nrows=0).columns if c in wanted]
        text = [c for c in use if c in spec.text]
        codes = [c for c in use if c in spec.codes]
        dtype: dict[str, str | type[str]] = {**dict.fromkeys(text, str), **dict.fromkeys(codes, "category")}
        df = pd.read_csv(
            path,
            usecols=use,
            dtype=dtype,
            true_values=list(TRUE_WORDS),
            false_values=list(FALSE_WORDS),
            keep_default_na=True,
        )
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problem = " ".join(str(exc).split())[:120] or exc.__class__.__name__
        raise UserError(str(path), None, f"not a readable table ({problem})") from None
    for c in text:
        df[c] = df[c].fillna("")
    # The one place the reports undo the CSV writer's formula neutralisation: every table of
    # RunData and ExerciseData passes here, so the reports show the scenario's text, not the quote.
    df = _restored(df, codes)
    for c in (*spec.older, *spec.columns):
        if c not in df.columns:
            problem = OLDER if c in spec.older else f"the report needs {', '.join(spec.columns)}"
            raise UserError(str(path), c, f"no such column: {problem}")
    for c in spec.numbers:
        col = df[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            ok = col.isna()
            if not ok.all():
                raise UserError(str(path), c, f"holds {_first_bad(col, ok)}, not a number")
    for c in spec.flags:
        col = df[c]
        ok = col.isna() | col.isin([True, False])
        if not ok.all():
            raise UserError(str(path), c, f"holds {_first_bad(col, ok)}; valid: true, false or empty")
    for c in spec.floats:
        df[c] = df[c].astype(np.float64)
    return df


def _restored(df: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """``df`` with :func:`sim.textsafe.restore` applied to every text cell: a categorical column
    (``codes``) through its categories, each distinct text once (:func:`_restored_categories`)."""
    out = restore(df.drop(columns=list(codes)))
    for c in codes:  # in the table's order, so each goes back where it was
        out.insert(list(df.columns).index(c), c, _restored_categories(df[c]))
    return out


def _restored_categories(col: pd.Series) -> pd.Series:
    """A categorical text column with :func:`sim.textsafe.restore_text` applied to its categories,
    kept sorted (as ``read_csv`` makes them: the column sorts as its texts do); texts restoring to
    the same text become one category."""
    texts = np.asarray([restore_text(str(c)) for c in col.cat.categories], dtype=object)
    categories, recode = np.unique(texts, return_inverse=True)
    codes = np.append(recode, -1)[col.cat.codes.to_numpy()]  # a missing cell (code -1) stays missing
    restored = pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=col.cat.categories.dtype))
    return pd.Series(restored, index=col.index, name=col.name)


# --- the optimizer's part of a confirmation folder -------------------------------------------


@dataclass(frozen=True)
class Optimization:
    """The optimizer's record and its two tables (:data:`OPTIMIZATION_TABLES`), checked to fit."""

    record: OptimizationRecord
    changes: pd.DataFrame
    groups: pd.DataFrame

    @property
    def constraints(self) -> list[Constraint]:
        return self.record.parsed_constraints()


def _refuse_values(path: Path, df: pd.DataFrame, col: str, bad: pd.Series, valid: str) -> None:
    if bad.any():
        raise UserError(str(path), col, f"holds {_first_bad(df[col], ~bad)}; valid: {valid}")


def _whole(path: Path, df: pd.DataFrame, cols: Iterable[str], minimum: float | None = None) -> None:
    for c in cols:
        v = df[c].astype(float)
        bad = ~np.isfinite(v) | (v != np.round(v)) | ((v < minimum) if minimum is not None else False)
        _refuse_values(
            path, df, c, pd.Series(bad, index=df.index), "a whole number" + (" >= 0" if minimum == 0 else "")
        )


def read_optimization(folder: Path, manifest: Mapping[str, Any], spec: Scenario) -> Optimization | None:
    """The optimizer's record and tables of a confirmation folder (None when it has no record);
    refused, one line naming the table and the column, where a value is not one the report can
    word or the rows contradict the record."""
    raw = manifest.get("optimization")
    if raw is None:
        return None
    record = OptimizationRecord.model_validate(raw)  # verified_manifest checked it already
    man_path = folder / MANIFEST
    changes = read_table(folder, manifest, OPTIMIZATION_CHANGES, OPTIMIZATION_TABLES[OPTIMIZATION_CHANGES])
    groups = read_table(folder, manifest, OPTIMIZATION_GROUPS, OPTIMIZATION_TABLES[OPTIMIZATION_GROUPS])

    path = folder / OPTIMIZATION_CHANGES
    _refuse_values(path, changes, "section", ~changes["section"].isin(CHANGE_SECTIONS), ", ".join(CHANGE_SECTIONS))
    posts = [p.id for p in spec.sites.posts]
    at_post = changes["section"].isin(["patrols", "reserve", "tni_backup"])
    _refuse_values(path, changes, "where", at_post & ~changes["where"].isin(posts), "a post id: " + ", ".join(posts))
    at_tps = changes["section"] == "tps_guards"
    _refuse_values(path, changes, "where", at_tps & ~changes["where"].isin(TPS_CLASSES), ", ".join(TPS_CLASSES))
    no_kind = (changes["section"] != "other") & (changes["kind"] == "")
    _refuse_values(path, changes, "kind", no_kind, "a personnel kind (polri, linmas, ...)")
    for c in ("start", "recommended"):
        _refuse_values(path, changes, c, changes[c].isna(), "a number (the value in the plan)")
    _whole(path, changes, ("officers_start", "officers_recommended"), 0)
    _whole(path, changes, ("officers_delta",))
    off = changes["officers_recommended"] - changes["officers_start"] != changes["officers_delta"]
    _refuse_values(path, changes, "officers_delta", off, "officers_recommended - officers_start")

    path = folder / OPTIMIZATION_GROUPS
    names = ["", *(g.name for g in spec.targets.groups)]
    _refuse_values(path, groups, "group", ~groups["group"].isin(names), "a target group of the scenario or ''")
    _refuse_values(path, groups, "direction", ~groups["direction"].isin(DIRECTIONS), ", ".join(DIRECTIONS))
    bounds = {(c.kpi, c.direction): c.threshold for c in record.parsed_constraints()}
    for i, (k, d, x) in enumerate(zip(groups["kpi"], groups["direction"], groups["threshold"], strict=True)):
        if (k, d) not in bounds or not math.isclose(float(x), bounds[(k, d)], rel_tol=1e-9, abs_tol=1e-12):
            judged = f"{k} {'>=' if d == 'at_least' else '<='} {x:g}"
            valid = ", ".join(record.constraints) or "none"
            problem = f"row {i + 1} judges {judged}, not one of optimization.constraints in manifest.json ({valid})"
            raise UserError(str(path), "kpi", problem)
    _refuse_values(
        path, groups, "group", groups.duplicated(["group", "kpi", "direction"]), "each group once per constraint"
    )
    for c in ("start_met", "rec_met"):
        _refuse_values(path, groups, c, groups[c].isna(), "True or False")
    _whole(path, groups, ("incidents",), 0)
    all_met = bool(groups["rec_met"].astype(bool).all())
    if record.meets_targets != all_met:
        says = "every group meets every target" if all_met else "a group misses a target (rec_met False)"
        raise UserError(
            str(man_path), "optimization.meets_targets", f"is {record.meets_targets}, but {OPTIMIZATION_GROUPS}: {says}"
        )
    return Optimization(record, changes, groups)


# --- a sweep's paired comparison ----------------------------------------------------------------


def varied_keys(manifest: Mapping[str, Any]) -> list[str]:
    """The key paths a sweep varies, in ``--vary`` order (its tables' columns after ``point``)."""
    grid = manifest.get("grid") or [{"values": {}}]
    return list(grid[0]["values"])


def read_sweep_comparison(folder: Path, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """``sweep_comparison.csv`` of a sweep folder, refused (one line naming it and the column)
    unless it pairs every point with the manifest's ``reference_point``."""
    path = folder / SWEEP_COMPARISON
    if SWEEP_COMPARISON not in manifest["files"]:
        raise UserError(str(path), None, f"missing: {OLDER_SWEEP}")
    table = read_table(folder, manifest, SWEEP_COMPARISON, RUN_TABLES[SWEEP_COMPARISON].in_sweep(varied_keys(manifest)))
    ref = manifest["reference_point"]
    _refuse_values(path, table, "reference_point", table["reference_point"] != ref, f"{ref} (manifest.json)")
    points = {int(g["point"]) for g in manifest["grid"]}
    _refuse_values(path, table, "point", ~table["point"].isin(points), "a grid point of manifest.json")
    return table


# --- a run folder ------------------------------------------------------------------------------


@dataclass
class RunData:
    path: Path
    manifest: dict[str, Any]
    spec: Scenario  # the resolved scenario the run was made with
    timeline: Timeline
    epoch: dt.datetime
    incidents: pd.DataFrame
    units: pd.DataFrame
    timeseries: pd.DataFrame
    kpis: pd.DataFrame
    summary: pd.DataFrame
    percentiles: pd.DataFrame
    comparison: pd.DataFrame | None
    sites: pd.DataFrame
    targets: pd.DataFrame  # targets.csv: kecamatan, target_group, priority, target_min
    optimization: Optimization | None = None  # the confirmation run of `optimize`: its record and tables
    sweep_comparison: pd.DataFrame | None = None  # a sweep: every point paired with the reference point

    @property
    def plans(self) -> list[str]:
        return list(self.manifest["plans"])

    @property
    def baseline(self) -> str | None:
        return self.manifest.get("baseline")

    @property
    def is_sweep(self) -> bool:
        return bool(self.manifest.get("grid"))

    @property
    def replications(self) -> int:
        return int(self.manifest["replications"])

    @property
    def point_values(self) -> dict[int, tuple[str, ...]]:
        """A sweep's grid: point -> its values, one per varied key in ``--vary`` order (empty otherwise)."""
        return {int(g["point"]): tuple(str(v) for v in g["values"].values()) for g in self.manifest.get("grid") or []}

    @property
    def reference_point(self) -> int | None:
        """A sweep's reference point (the point every other is paired with); None otherwise."""
        ref = self.manifest.get("reference_point")
        return None if ref is None else int(ref)

    def personnel(self) -> pd.DataFrame:
        """Personnel each plan uses, per kind, against what is available (plans x kinds)."""
        tps = self.sites[self.sites["kind"] == "tps"].rename(columns={"site_id": "tps_id"})
        n_sites = int((self.sites["kind"] == "ppk").sum()) + 1
        rows = {p: personnel_use(self.spec.plans[p], tps, n_sites) for p in self.plans}
        kinds = list(self.spec.forces)
        table = pd.DataFrame([[rows[p].get(k, 0) for k in kinds] for p in self.plans], index=self.plans, columns=kinds)
        table.loc["available"] = [self.spec.forces[k] for k in kinds]
        return table

    @classmethod
    def load(cls, run_dir: str | Path) -> RunData:
        path = Path(run_dir)
        manifest, spec, epoch, timeline = verified_manifest(path)
        if manifest["command"] == "exercise":
            raise UserError(str(path), "manifest.json", "an exercise folder: 'pilkada-sim report' renders its review")
        if not (path / "targets.csv").is_file():
            raise UserError(str(path), "targets.csv", f"missing: {OLDER}")
        sweep = bool(manifest.get("grid"))

        def read(name: str) -> pd.DataFrame:
            spec = RUN_TABLES[name]
            if sweep and name in SWEEP_TABLES:
                spec = spec.in_sweep(varied_keys(manifest) if name in VARIED_KEY_TABLES else ())
            return read_table(path, manifest, name, spec)

        # comparison.csv is the paired comparison with the baseline: there exactly when there is one
        has_cmp = manifest.get("baseline") is not None or "comparison.csv" in manifest["files"]
        return cls(
            path,
            manifest,
            spec,
            timeline,
            epoch,
            read("incidents.csv"),
            read("units.csv"),
            read("timeseries.csv"),
            read("kpis.csv"),
            read("summary.csv"),
            read("percentiles.csv"),
            read("comparison.csv") if has_cmp else None,
            read("sites.csv"),
            read("targets.csv"),
            read_optimization(path, manifest, spec),
            read_sweep_comparison(path, manifest) if sweep else None,
        )


# --- the report's files in the folder ----------------------------------------------------------

REPORT_RECORD = "report.json"
STAGING = ".report.tmp-"  # + the pid of the `report` writing it


@contextmanager
def staged_report(folder: Path) -> Iterator[Path]:
    """A new, empty staging folder ``.report.tmp-<pid>/`` inside ``folder`` for one report's files;
    removed when the block ends, whatever happens (staging folders of killed reports are removed
    first)."""
    for old in folder.glob(f"{STAGING}*"):
        if old.is_dir() and not _alive(old.name.removeprefix(STAGING)):
            shutil.rmtree(old, ignore_errors=True)
    stage = folder / f"{STAGING}{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.mkdir()
    except OSError as exc:
        raise UserError(str(folder), None, f"cannot write the report here ({exc.strerror or exc})") from None
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process, or no such pid at all: leave it
        return True
    return True


_CHART = re.compile(r"^charts/[A-Za-z0-9_-]+\.png$")


def _old_record(folder: Path, outputs: Iterable[str]) -> tuple[str | None, list[str]]:
    """The language and files of the report now in ``folder`` (None and [] if none readable); only
    names a report writes (``outputs``, ``charts/<name>.png``), nothing else is ever touched."""
    try:
        rec = json.loads((folder / REPORT_RECORD).read_text(encoding="utf-8"))
        lang, files = rec["lang"], rec["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, []
    if not isinstance(lang, str) or not isinstance(files, list):
        return None, []
    known = set(outputs)
    return lang, [f for f in files if isinstance(f, str) and (f in known or _CHART.match(f))]


def publish_report(folder: Path, stage: Path, lang: str, files: list[str], outputs: Iterable[str]) -> list[Path]:
    """Move a report's files (``files``, relative to ``stage``: all in ``lang``) into ``folder``;
    the files now in place.

    ``report.json`` says which files the report has and in which language, and is what a reader can
    rely on: it is removed before the first file is moved and written, listing them, after the
    last; the files of an earlier report that are not rewritten stay (and stay listed) only if it
    was in the same language, otherwise they are removed (``outputs``: the document names a report
    of this kind writes, removed too when no record says what they are). So while ``report.json``
    exists, every report file in the folder is in its language; a ``report`` killed while moving
    (a few renames) leaves a folder without ``report.json``: no finished report, run it again.
    """
    outputs = list(outputs)
    with _folder_lock(folder):  # two reports of one folder at once: one after the other here
        old_lang, old_files = _old_record(folder, outputs)
        keep = [f for f in old_files if old_lang == lang and f not in files and (folder / f).is_file()]
        stale = [f for f in (old_files if old_lang is not None else outputs) if f not in files and f not in keep]
        _move_into_place(folder, stage, lang, files, keep, stale)
    return [folder / f for f in files]


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the folder itself (no lock file left behind), held for the block."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _move_into_place(folder: Path, stage: Path, lang: str, files: list[str], keep: list[str], stale: list[str]) -> None:
    try:
        (folder / REPORT_RECORD).unlink(missing_ok=True)
        for rel in files:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, folder / rel)
        for rel in stale:
            (folder / rel).unlink(missing_ok=True)
        record = {"lang": lang, "files": [*files, *keep]}
        tmp = folder / f".{REPORT_RECORD}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, folder / REPORT_RECORD)
    except OSError as exc:
        raise UserError(str(folder), None, f"cannot put the report in place ({exc.strerror or exc})") from None


# --- statistics of groups of incidents --------------------------------------------------------

# A kecamatan (or a TPS) meets its targets when at least this share of its incidents needing a
# unit is reached within the target for their priority; with one target this is the same as its
# p90 being within it. The sweep verdict looks for the smallest value that reaches it overall.
TARGET_SHARE = 0.9


def dispatched(incidents: pd.DataFrame) -> pd.DataFrame:
    """Incidents that needed a unit: ``t_report`` is set exactly for them (:mod:`sim.metrics`)."""
    return incidents[incidents["t_report"].notna()]


def measures_of(incidents: pd.DataFrame) -> metrics.Measures:
    """The per-incident measures of saved rows, read from their columns (never recomputed)."""

    def flag(col: str) -> np.ndarray:
        return incidents[col].fillna(False).to_numpy(dtype=bool)

    return metrics.Measures(
        dispatched=incidents["t_report"].notna().to_numpy(),
        reached=flag("reached"),
        response_min=incidents["response_min"].to_numpy(dtype=float),
        wait_min=incidents["wait_min"].to_numpy(dtype=float),
        target_min=incidents["target_min"].to_numpy(dtype=float),
        within_target=flag("within_target"),
    )


def response_stats(incidents: pd.DataFrame) -> dict[str, float]:
    """Response statistics of a group of incidents pooled over replications (a kecamatan, a TPS).

    The same definitions as the KPIs (:func:`sim.metrics.response_kpis`) and the pooled
    percentiles (:func:`sim.metrics.percentile`), over the group's dispatched incidents:
    unreached ones count at the horizon, ``reached_share`` says how many that is. Pooled: the mean
    and the shares weigh every incident alike, so they differ from summary.csv's means of one
    figure per replication, and the reports name them "gabungan" / "pooled".
    """
    m = measures_of(incidents)
    priority = incidents["priority"].to_numpy()
    k = metrics.response_kpis(m, priority)
    resp = m.response_min[m.dispatched]
    return {
        "dispatched": float(k["dispatched"]),
        "reached_share": float(k["reached_share"]),
        "response_mean_min": float(k["response_mean_min"]),
        "response_pooled_p50_min": metrics.percentile(resp, 50),
        f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min": metrics.percentile(resp, metrics.HEADLINE_QUANTILE),
        "within_target": float(k["within_target"]),
        "dispatched_p1": float((m.dispatched & (priority == 1)).sum()),
        "within_target_p1": float(k["within_target_p1"]),
    }


def pooled_response_percentile(incidents: pd.DataFrame, q: float, priority: int | None = None) -> float:
    """The pooled q-th percentile response [min] of a group of incidents (all replications
    together, :func:`sim.metrics.percentile`), of one ``priority`` only if given; NaN for none."""
    inc = dispatched(incidents)
    if priority is not None:
        inc = inc[inc["priority"] == priority]
    return metrics.percentile(inc["response_min"].to_numpy(dtype=float), q)


def target_of(targets: pd.DataFrame, priority: int) -> dict[str, float]:
    """Kecamatan -> its response target [min] for one priority (targets.csv); empty if no type has it."""
    t = targets[targets["priority"] == priority]
    return {str(k): float(v) for k, v in zip(t["kecamatan"], t["target_min"], strict=True)}


def kecamatan_table(run: RunData) -> pd.DataFrame:
    """Per (sweep point,) plan and kecamatan: :func:`response_stats` of its incidents, with its
    target group and priority-1 target [min]. Every kecamatan of targets.csv has a row (NaN
    statistics where no incident needed a unit), plans in run order, kecamatan sorted. The shares
    judge each incident by its own ``target_min``; the target shown is targets.csv's (the base
    scenario's, should a sweep vary the targets)."""
    kecs = sorted(str(k) for k in run.targets["kecamatan"].unique())
    group = run.targets.drop_duplicates("kecamatan").set_index("kecamatan")["target_group"].astype(object).fillna("")
    p1 = target_of(run.targets, 1)
    points: list[int | None] = [int(g["point"]) for g in run.manifest["grid"]] if run.is_sweep else [None]
    inc = dispatched(run.incidents)
    keys = ["point", "plan", "kecamatan"] if run.is_sweep else ["plan", "kecamatan"]
    groups = dict(iter(inc.groupby(keys, sort=False, observed=True))) if len(inc) else {}
    empty = inc.iloc[:0]
    rows = []
    for point in points:
        for plan in run.plans:
            for kec in kecs:
                key = (point, plan, kec) if run.is_sweep else (plan, kec)
                rows.append(
                    {
                        **({"point": point} if run.is_sweep else {}),
                        "plan": plan,
                        "kecamatan": kec,
                        "target_group": group.get(kec, ""),
                        **response_stats(groups.get(key, empty)),
                        "target_p1_min": p1.get(kec, float("nan")),
                    }
                )
    return pd.DataFrame(rows)


def weakest_first(kt: pd.DataFrame) -> pd.DataFrame:
    """Kecamatan rows weakest first: the lowest share within target, then the longest pooled p90,
    then by name (the one order the briefing and the kecamatan chart use)."""
    p90 = kt[f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min"].fillna(-np.inf)
    order = np.lexsort((kt["kecamatan"].astype(str).to_numpy(), -p90.to_numpy(), kt["within_target"].to_numpy()))
    return kt.iloc[order]


# --- the sweep verdict -------------------------------------------------------------------------

SHARE_PERCENT_DECIMALS = 0  # the reports show shares as whole percents (90%, 88–92%)


def share_as_shown(x: float) -> float:
    """A share rounded as the reports show it (0.8996 -> 0.90, shown "90%"; NaN stays NaN).

    The sweep verdict judges these figures and the sweep tables print them, so "the smallest
    value reaching 90%" never sits beside a table that shows 90% at a smaller value, or 89% at
    that one (the saved tables keep the unrounded means).
    """
    if not math.isfinite(x):
        return x
    return round(x * 100, SHARE_PERCENT_DECIMALS) / 100


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def sweep_by_value(values: Mapping[int, Sequence[str]]) -> bool:
    """Whether "the smallest value" means something: one key varies, and every value is a number."""
    return all(len(v) == 1 and _number(str(v[0])) is not None for v in values.values())


def sweep_order(values: Mapping[int, Sequence[str]]) -> list[int]:
    """Sweep points (point -> its values, one per varied key) in the order the verdict reads them:
    by value when :func:`sweep_by_value`, else in grid order (the ``--vary`` order: text values
    and combinations of several keys have no order of their own)."""
    if not sweep_by_value(values):
        return list(values)
    return sorted(values, key=lambda point: float(values[point][0]))


@dataclass(frozen=True)
class SweepVerdict:
    """The sweep verdict on one plan, judged on shares as shown (:func:`share_as_shown`): the
    first point in :func:`sweep_order` (the smallest value, when the values are numbers) whose
    mean share within target reaches :data:`TARGET_SHARE`, else the point with the highest share."""

    plan: str
    by_value: bool  # the order is by value (the smallest value reaching it), else the --vary order
    point: int | None  # the point reaching the target share (None: none does; see best)
    best: int | None  # the point with the highest share, the first of equals (None: no point has one)
    share: float  # mean within_target over replications at `point` (else at `best`), as shown
    ci_low: float  # its Student-t 95% interval, as shown
    ci_high: float

    @property
    def sure(self) -> bool:
        """The lower end of the interval at ``point`` reaches the target share too."""
        return self.point is not None and math.isfinite(self.ci_low) and self.ci_low >= TARGET_SHARE


def sweep_verdicts(
    summary: pd.DataFrame, values: Mapping[int, Sequence[str]], plans: Sequence[str]
) -> list[SweepVerdict]:
    """One :class:`SweepVerdict` per plan, from a sweep's summary.csv (point, plan, kpi, mean,
    ci_low, ci_high) and its grid (point -> its values, one per varied key)."""
    shares = summary[summary["kpi"] == "within_target"]
    verdicts = []
    for plan in plans:
        of_plan = shares[shares["plan"] == plan]
        shown = {
            int(r["point"]): tuple(share_as_shown(float(r[c])) for c in ("mean", "ci_low", "ci_high"))
            for r in of_plan.to_dict("records")
        }
        order = [p for p in sweep_order(values) if p in shown and math.isfinite(shown[p][0])]
        point = next((p for p in order if shown[p][0] >= TARGET_SHARE), None)
        best = max(order, key=lambda p: shown[p][0], default=None)  # max keeps the first of equals
        at = point if point is not None else best
        share, lo, hi = shown[at] if at is not None else (math.nan, math.nan, math.nan)
        verdicts.append(SweepVerdict(plan, sweep_by_value(values), point, best, share, lo, hi))
    return verdicts
