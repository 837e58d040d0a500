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
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
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
from sim.scenario import Scenario, Timeline, personnel_use, resolve_timeline
from sim.textsafe import restore

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
    precision: PrecisionRecord | None = None
    exercise: ExerciseRecord | None = None
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
        if self.command == "exercise":
            if self.exercise is None:
                raise _Inconsistent("exercise", "missing (an exercise folder's manifest has it)")
            if self.exercise.plan not in self.plans:
                raise _Inconsistent("exercise.plan", f"'{self.exercise.plan}' is not one of plans")
        return self


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
        if hashlib.sha256(f.read_bytes()).hexdigest() != digest:
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
    """What a reader needs of a saved table: these columns, of which ``numbers`` hold numbers (or
    nothing), ``flags`` True/False (or nothing), ``text`` is read as text (a TPS id '007' stays
    '007', an empty cell is ''); ``older``: columns a folder made before targets by priority lacks."""

    columns: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    older: tuple[str, ...] = ()


OLDER = "made by an older pilkada-sim, before targets by priority; run the scenario again to report on it"


def _numbers(columns: Iterable[str], but: Iterable[str]) -> tuple[str, ...]:
    return tuple(c for c in columns if c not in set(but))


INCIDENT_MEASURES = ("response_min", "wait_min", "reached", "target_min", "within_target")  # since targets by priority
_STATS = ("n", "mean", "sd", "ci_low", "ci_high")
_PAIRED = ("n", "plan_mean", "baseline_mean", "difference", "sd", "ci_low", "ci_high")
_INCIDENT_NUMBERS = ("replication", "priority", "t_occur", "t_report", "t_dispatch", "t_arrive", "t_clear")
_UNIT_NUMBERS = ("replication", "incident_id", "t_dispatch", "t_arrive", "t_clear", "t_back", "travel_min")

RUN_TABLES: dict[str, TableSpec] = {
    "incidents.csv": TableSpec(
        tuple(INCIDENT_COLUMNS),
        numbers=(*_INCIDENT_NUMBERS, "wait_min", "travel_min", "response_min", "target_min"),
        flags=("reached", "within_target", "escalated"),
        older=INCIDENT_MEASURES,
    ),
    "units.csv": TableSpec(tuple(UNIT_COLUMNS), numbers=(*_UNIT_NUMBERS, "travel_km", "busy_min"), flags=("retasked",)),
    "timeseries.csv": TableSpec(tuple(TIMESERIES_COLUMNS), numbers=_numbers(TIMESERIES_COLUMNS, ["plan"])),
    "kpis.csv": TableSpec(tuple(KPI_COLUMNS), numbers=_numbers(KPI_COLUMNS, ["plan"])),
    "summary.csv": TableSpec(("plan", "kpi", *_STATS), numbers=_STATS),
    "percentiles.csv": TableSpec(
        ("plan", "quantile", "n_incidents", "replications", "response_min", "ci_low", "ci_high"),
        numbers=("quantile", "n_incidents", "replications", "response_min", "ci_low", "ci_high"),
    ),
    "comparison.csv": TableSpec(
        ("plan", "baseline", "kpi", *_PAIRED, "significant"), numbers=_PAIRED, flags=("significant",)
    ),
    "sites.csv": TableSpec(tuple(SITE_COLUMNS), numbers=("lat", "lon", "voters")),
    "targets.csv": TableSpec(tuple(TARGET_COLUMNS), numbers=("priority", "target_min")),
}
SWEEP_TABLES = ("incidents.csv", "timeseries.csv", "kpis.csv", "summary.csv", "percentiles.csv")  # + "point"


def _first_bad(col: pd.Series, ok: pd.Series) -> str:
    return repr(str(col[~ok].iloc[0]))[:60]


def read_table(folder: Path, manifest: Mapping[str, Any], name: str, spec: TableSpec) -> pd.DataFrame:
    """The saved table ``name`` of a folder whose manifest :func:`verified_manifest` checked.

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
        head = pd.read_csv(path, nrows=0).columns
        text = {c: str for c in head if c in spec.text}
        df = pd.read_csv(path, dtype=text, keep_default_na=True)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problem = " ".join(str(exc).split())[:120] or exc.__class__.__name__
        raise UserError(str(path), None, f"not a readable table ({problem})") from None
    for c in text:
        df[c] = df[c].fillna("")
    # The one place the reports undo the CSV writer's formula neutralisation: every table of
    # RunData and ExerciseData passes here, so the reports show the scenario's text, not the quote.
    df = restore(df)
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
            raise UserError(str(path), c, f"holds {_first_bad(col, ok)}; valid: True, False or empty")
    return df


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
                spec = TableSpec(("point", *spec.columns), ("point", *spec.numbers), spec.flags, spec.text, spec.older)
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
    groups = dict(iter(inc.groupby(keys, sort=False))) if len(inc) else {}
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
