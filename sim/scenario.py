"""Scenario files: the typed schema (pydantic), loading, ``--set`` overrides and the TPS table.

A scenario is one YAML file plus data tables in its folder. Everything is validated here, at the
edge: the model receives a :class:`LoadedScenario` and never re-checks it. Every key, its unit and
its default is documented in ``scenarios/README.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.dispatch import POLICIES
from sim.errors import UserError
from sim.timeparse import minutes_between, parse_clock, parse_when

TPS_CLASSES = ("kurang_rawan", "rawan", "sangat_rawan", "khusus")
TPS_FLAGS = ("blank_spot", "hard_to_reach", "disaster_prone")
TPS_PHASES = ("logistics", "voting", "counting", "escort")
PHASES = (*TPS_PHASES, "recap", "plenary")
ROLES = ("patrol", "reserve", "tni")
MODES = ("road", "river", "sea")

NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$", min_length=1, max_length=64)]
Mode = Literal["road", "river", "sea"]
Role = Literal["patrol", "reserve", "tni"]
DelayKey = Literal["default", "blank_spot", "hard_to_reach", "disaster_prone"]
MAX_PRIORITY = 9  # priorities run 1 (most urgent) .. MAX_PRIORITY
Priority = Annotated[int, Field(ge=1, le=MAX_PRIORITY)]
LatLon = tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]


class ScenarioLoader(yaml.SafeLoader):
    """Safe YAML (no object construction) without YAML 1.1 base-60 integers, so ``13:00`` stays text."""


ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=ScenarioLoader)


def _as_text(value: Any) -> Any:
    """Dates and date-times written unquoted in YAML arrive as objects: keep them as ISO text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


When = Annotated[str, BeforeValidator(_as_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sites -------------------------------------------------------------------------------------


class Post(_Model):
    """A place units start from and return to (Polres HQ, a Polsek, a Kodim/Koramil)."""

    id: Ident
    name: str
    kind: Literal["polres", "polsek", "tni", "other"] = "polsek"
    kecamatan: str
    position: LatLon
    covers: list[str] = Field(default_factory=list)
    note: str = ""


class Venue(_Model):
    """A PPK venue (one per kecamatan) or the KPU Kabupaten office."""

    kecamatan: str
    position: LatLon
    name: str = ""


class Sites(_Model):
    tps_file: str
    ppk: list[Venue]
    kpu: Venue
    posts: list[Post] = Field(min_length=1)


# --- travel ------------------------------------------------------------------------------------


class Access(_Model):
    """How a kecamatan is reached, overriding the defaults for legs that start or end in it."""

    road_factor: Pos | None = None
    speed_kmh: Pos | None = None
    mode: Literal["road", "sea", "river"] = "road"
    gateway: LatLon | None = None
    transfer_min: NonNeg = 0.0
    note: str = ""

    @model_validator(mode="after")
    def _gateway_for_water(self) -> Access:
        if self.mode != "road" and self.gateway is None:
            raise ValueError(f"mode '{self.mode}' needs a gateway: [lat, lon] where the boat leaves")
        return self


def _speeds() -> dict[Mode, float]:
    return {"road": 40.0, "river": 20.0, "sea": 25.0}


def _patrol_only() -> list[Role]:
    return ["patrol"]


def _no_delay() -> dict[DelayKey, Dist]:
    return {"default": Dist(dist="fixed", mean=0.0)}


class Travel(_Model):
    road_factor: Pos = 2.0
    speed_kmh: dict[Mode, Pos] = Field(default_factory=lambda: _speeds())

    @field_validator("speed_kmh")
    @classmethod
    def _keep_default_speeds(cls, v: dict[Mode, float]) -> dict[Mode, float]:
        return {**_speeds(), **v}

    water_factor: Pos = 1.3
    setup_min: NonNeg = 0.0
    noise_cv: NonNeg = 0.0
    access: dict[str, Access] = Field(default_factory=dict)
    matrix_file: str | None = None


# --- plans -------------------------------------------------------------------------------------


class GuardRule(_Model):
    """Static TPS guards of one vulnerability class: ``officers`` per cluster of ``per_tps`` TPS."""

    officers: Count
    per_tps: Annotated[int, Field(ge=1)] = 1
    kind: Ident = "polri"


class UnitGroup(_Model):
    """Mobile units of one role at one post."""

    post: Ident
    units: Count = 1
    crew: Annotated[int, Field(ge=1)] = 2
    kind: Ident = "polri"
    mode: Literal["road", "river", "sea"] = "road"


class TniGroup(UnitGroup):
    """TNI backup units: personnel of kind ``tni`` unless said otherwise."""

    kind: Ident = "tni"


class PPKGuards(_Model):
    officers: Count = 0
    kind: Ident = "polri"


class Escort(_Model):
    by: Literal["tps_guard", "none"] = "tps_guard"
    handover_min: NonNeg = 30.0
    return_to_cluster: bool = True


class Plan(_Model):
    description: str = ""
    tps_guards: dict[Literal["kurang_rawan", "rawan", "sangat_rawan", "khusus"], GuardRule]
    linmas_per_tps: Count = 2
    linmas_kind: Ident = "linmas"
    patrols: list[UnitGroup] = Field(default_factory=list)
    reserve: list[UnitGroup] = Field(default_factory=list)
    tni_backup: list[TniGroup] = Field(default_factory=list)
    ppk_guards: PPKGuards = PPKGuards()
    escort: Escort = Escort()

    @field_validator("tps_guards")
    @classmethod
    def _all_classes(cls, v: dict[str, GuardRule]) -> dict[str, GuardRule]:
        missing = [c for c in TPS_CLASSES if c not in v]
        if missing:
            raise ValueError(f"missing guard rule for {', '.join(missing)} (give officers: 0 for none)")
        return v


# --- phases ------------------------------------------------------------------------------------


class Window(_Model):
    start: When
    end: When


class Counting(_Model):
    """Counting at the TPS starts when voting ends; its length grows with the voters who voted."""

    base_min: NonNeg = 120.0
    per_voter_min: NonNeg = 0.5
    turnout: Prob = 0.7
    cv: NonNeg = 0.2
    max_min: Pos = 720.0


class Recap(_Model):
    start: When
    end: When
    daily_start: When = "08:00"
    daily_end: When = "22:00"


class Phases(_Model):
    logistics_start: When
    voting: Window
    counting: Counting = Counting()
    recap: Recap
    plenary: Window


# --- incidents ---------------------------------------------------------------------------------


class Dist(_Model):
    """A non-negative duration distribution [min], sampled by inverse CDF from one uniform draw."""

    dist: Literal["fixed", "exponential", "lognormal", "uniform"] = "exponential"
    mean: NonNeg = 0.0
    cv: NonNeg = 0.5
    low: NonNeg = 0.0
    high: NonNeg = 0.0

    @model_validator(mode="after")
    def _shape(self) -> Dist:
        if self.dist == "uniform" and self.high < self.low:
            raise ValueError("uniform needs high >= low")
        if self.dist in ("exponential", "lognormal") and self.mean <= 0:
            raise ValueError(f"{self.dist} needs mean > 0 (minutes)")
        return self


class Response(_Model):
    roles: list[Role] = Field(default_factory=_patrol_only, min_length=1)
    units: Annotated[int, Field(ge=1, le=8)] = 1


class Escalation(_Model):
    after_min: Pos
    to: Ident
    probability: Prob = 1.0


class Outbreak(_Model):
    """A hoax-driven flare-up: rates at TPS within ``radius_km`` rise ``multiplier``-fold."""

    probability: Prob
    radius_km: Pos
    multiplier: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    duration_h: Pos


class Onsite(_Model):
    linmas: Prob = 0.0
    tps_guard: Prob = 0.0
    ppk_guard: Prob = 0.0


class IncidentType(_Model):
    label_id: str = ""
    label_en: str = ""
    priority: Priority
    rate_per_site_hour: dict[Literal["logistics", "voting", "counting", "escort", "recap", "plenary"], NonNeg]
    class_multiplier: dict[Literal["kurang_rawan", "rawan", "sangat_rawan", "khusus"], NonNeg] = Field(
        default_factory=dict
    )
    flag_multiplier: dict[Literal["blank_spot", "hard_to_reach", "disaster_prone"], NonNeg] = Field(
        default_factory=dict
    )
    onsite: Onsite = Onsite()
    response: Response = Response()
    on_scene_min: Dist
    escalation: Escalation | None = None
    outbreak: Outbreak | None = None


class Incidents(_Model):
    types: dict[Ident, IncidentType] = Field(min_length=1)
    hourly_multiplier: dict[Annotated[int, Field(ge=0, le=23)], NonNeg] = Field(default_factory=dict)
    report_delay_min: dict[DelayKey, Dist] = Field(default_factory=lambda: _no_delay())
    max_outbreak_generations: Annotated[int, Field(ge=0, le=10)] = 3


class Dispatch(_Model):
    policy: str = "nearest"  # a name in sim.dispatch.POLICIES (checked in _check_references)
    tni_max_priority: Annotated[int, Field(ge=0, le=MAX_PRIORITY)] = 1
    max_travel_min: Pos | None = None


# A response-time target [min]: one number for every priority, or minutes per priority ({1: 30, 2: 60}).
Target = Pos | dict[Priority, Pos]


class TargetGroup(_Model):
    name: str
    kecamatan: list[str]
    target_min: Target


class Targets(_Model):
    default_min: Target = 60.0
    groups: list[TargetGroup] = Field(default_factory=list)


class Assumption(_Model):
    """A figure or assumption the briefing lists, with where it comes from."""

    text: str
    text_id: str = ""  # the same in Bahasa Indonesia, for the Indonesian briefing
    basis: Literal["sourced", "estimated"]
    source: str = ""


class Scenario(_Model):
    """The whole scenario file. See scenarios/README.md for every key, unit and default."""

    name: Ident
    title: str = ""
    description: str = ""
    timezone: str = "Asia/Makassar"
    election_day: dt.date
    epoch: When
    horizon: When
    seed: Annotated[int, Field(ge=0)] = 0
    replications: Annotated[int, Field(ge=1)] = 10
    sites: Sites
    travel: Travel = Travel()
    forces: dict[Ident, Count]
    plans: dict[Ident, Plan] = Field(min_length=1)
    phases: Phases
    incidents: Incidents
    dispatch: Dispatch = Dispatch()
    targets: Targets = Targets()
    sources: dict[str, str] = Field(default_factory=dict)
    assumptions: list[Assumption] = Field(default_factory=list)
    allow_data_outside: bool = False


# --- resolved objects --------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """Phase windows in model minutes from the epoch [min]."""

    logistics_start: float
    voting_start: float
    voting_end: float
    recap_windows: tuple[tuple[float, float], ...]
    plenary: tuple[float, float]
    horizon: float


@dataclass
class LoadedScenario:
    """A validated scenario with its tables loaded and times resolved."""

    spec: Scenario
    path: Path
    raw: dict[str, Any]
    tps: pd.DataFrame
    timeline: Timeline
    epoch: dt.datetime
    travel_matrix: pd.DataFrame | None = None
    overrides: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def digest(self) -> str:
        """SHA-256 of the resolved scenario content (YAML after overrides plus the TPS table)."""
        h = hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode())
        h.update(self.tps.to_csv(index=False).encode())
        if self.travel_matrix is not None:
            h.update(self.travel_matrix.to_csv(index=False).encode())
        return h.hexdigest()


# --- loading -----------------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(str(path), None, "scenario file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(str(path), None, f"cannot read as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        data = yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise UserError(str(path), where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        raise UserError(str(path), None, "the file is empty; expected a scenario mapping (name:, sites:, plans: ...)")
    if not isinstance(data, dict):
        raise UserError(
            str(path), None, f"expected a mapping of keys (name:, sites:, plans: ...) at the top, got {_kind(data)}"
        )
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str], where: str) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to the raw scenario. Values are parsed as YAML scalars.

    A key that the file leaves at its default may be set too (the schema then checks its name);
    list items are addressed by index (``sites.posts.0.kecamatan``).
    """
    for item in overrides:
        key, eq, text = item.partition("=")
        parts = key.strip().split(".")
        if not eq or not all(parts):
            raise UserError("--set", item, "expected key.path=value, e.g. travel.road_factor=2.2")
        try:
            value = yaml_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise UserError("--set", key, f"'{text}' is not a value") from None
        if isinstance(value, dict | list):
            raise UserError("--set", key, "only scalar values can be set (a number, text, true/false)")
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise UserError("--set", key, f"'{part}' is not an index 0..{len(node) - 1}")
                name: Any = int(part)
            elif isinstance(node, dict):
                # Mappings with number keys (hourly_multiplier) are written with digits on the command line.
                name = int(part) if part not in node and part.isdigit() and int(part) in node else part
                if name not in node:
                    node[name] = None if last else {}
            else:
                raise UserError("--set", key, f"'{part}' goes below a scalar value")
            if last:
                if isinstance(node[name], dict | list):
                    raise UserError("--set", key, "only scalar values can be set; name a key below it")
                node[name] = value
            else:
                node = node[name]
    return data


_COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+")  # "0,5", "117,52": one comma, no dot
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{3})+")  # "1.403", "12,000": a thousands separator?


def _kind(value: Any) -> str:
    """What a YAML value is, in words, for error messages."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, str):
        return f"text '{value[:40]}'"
    return f"the value {str(value)[:40]}"


def _validation_line(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    kind, value = err["type"], err.get("input")
    text = str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    if kind == "extra_forbidden":
        msg = "unknown key (check the spelling; see scenarios/README.md for valid keys)"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"expected a mapping (key: value), got {_kind(value)}"
    elif kind in ("list_type", "tuple_type"):
        msg = f"expected a list ([a, b] or lines starting '- '), got {_kind(value)}"
    elif kind in ("float_parsing", "float_type"):
        msg = f"Input should be a valid number, not {_kind(value)}"
        if text is not None and _COMMA_DECIMAL.fullmatch(text):
            msg = f"'{text}' is not a number; write decimals with a dot: {text.replace(',', '.')}"
    elif kind == "finite_number":
        msg = "must be a finite number, not .nan or .inf"
    elif kind in ("int_parsing", "int_from_float", "int_type"):
        if text is not None and _THOUSANDS.fullmatch(text):
            whole = re.sub(r"[.,]", "", text)
            msg = f"'{text}' is ambiguous; write a whole number without a thousands separator, e.g. {whole}"
        else:
            msg = f"expected a whole number, not {_kind(value)}"
    msg = msg.removeprefix("Value error, ")
    return loc, msg


def _resolve_data_path(base: Path, name: str, where: str, key: str, allow_outside: bool = False) -> Path:
    """A data file named in the scenario, which must lie in the scenario's folder (or below it).

    A scenario received from someone else should not read files elsewhere on this machine
    (``../../secret.csv``, an absolute path), unless it says ``allow_data_outside: true``.
    """
    try:
        path = (base / name).resolve()
        exists = path.is_file()
    except OSError as exc:  # a name too long for the file system, and the like
        raise UserError(where, key, f"'{name[:60]}' is not a usable file name ({exc.strerror})") from None
    if not allow_outside and not path.is_relative_to(base.resolve()):
        raise UserError(
            where, key, f"'{name}' lies outside the scenario's folder; move it there, or set allow_data_outside: true"
        )
    if not exists:
        raise UserError(where, key, f"data file '{name}' not found next to the scenario")
    return path


MAX_VOTERS_PER_TPS = 100_000  # far above any TPS (PKPU caps Pilkada 2024 TPS at 600); guards int64
TPS_COLUMNS = ("tps_id", "kecamatan", "desa", "lat", "lon", "voters", "class", *TPS_FLAGS)
MAX_TPS = 100_000  # TPS rows in one scenario (Kutai Timur has about 700; all Indonesia about 820,000)


def _count_rows(path: Path) -> int:
    """Data rows of a CSV file (lines after the header), counted without parsing."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1


def _read_csv(path: Path, max_rows: int | None = None, what: str = "rows") -> pd.DataFrame:
    """Read a CSV table as text. Accepts what Excel writes: a UTF-8 BOM, CRLF line ends, ``;`` as
    the separator (with decimal commas) and trailing rows of empty cells."""
    try:
        with path.open("rb") as f:
            head = f.read(65536).decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise UserError(str(path), None, f"cannot read the file ({exc.__class__.__name__})") from None
    first = head.splitlines()[0] if head.strip() else ""
    sep = ";" if ";" in first and "," not in first else ","
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                path,
                dtype=str,
                encoding="utf-8-sig",
                sep=sep,
                index_col=False,
                nrows=None if max_rows is None else max_rows + 1,
            )
    except pd.errors.ParserWarning:
        raise UserError(
            str(path),
            None,
            'a row has more cells than the header; a decimal comma must be quoted ("0,5") or written 0.5',
        ) from None
    except pd.errors.EmptyDataError:
        raise UserError(str(path), None, "the file is empty; expected a CSV table with a header row") from None
    except UnicodeDecodeError:
        raise UserError(str(path), None, "not UTF-8 text; in Excel use Save As 'CSV UTF-8 (Comma delimited)'") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserError(
            str(path),
            None,
            f"not a readable CSV table ({str(exc).strip()}); a decimal comma in a comma-separated file "
            'must be quoted ("0,5")',
        ) from None
    if max_rows is not None and len(df) > max_rows:
        raise UserError(
            str(path), None, f"{_count_rows(path):,} {what}; at most {max_rows:,} are supported (one kabupaten/kota)"
        )
    df.columns = [str(c).strip() for c in df.columns]
    df = df.dropna(how="all")  # Excel's trailing rows of empty cells
    return df.apply(lambda c: c.str.strip())


def _numbers(df: pd.DataFrame, col: str, path: Path, label: Any, whole: bool = False) -> pd.Series:
    """A text column as numbers, or a :class:`UserError` naming the first bad row.

    ``"0,5"`` (one comma, no dot) is read as 0.5. In a column of whole numbers, ``"1.403"`` is
    refused: it may mean 1.403 or 1,403.
    """
    text = df[col].astype("string")
    if whole:
        lower = text.str.lower()
        text = text.mask((lower == "true").fillna(False), "1").mask((lower == "false").fillna(False), "0")
    comma = text.str.fullmatch(_COMMA_DECIMAL.pattern).fillna(False).astype(bool)
    thousands = text.str.fullmatch(_THOUSANDS.pattern).fillna(False).astype(bool)
    values = pd.to_numeric(text.mask(comma, text.str.replace(",", ".", regex=False)), errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values)
    if whole:
        bad |= thousands | (values != np.round(values))
    if not bad.any():
        return values
    i = int(np.flatnonzero(bad.to_numpy())[0])
    raw = df[col].iloc[i]
    if pd.isna(raw):
        problem = "empty; a number is needed"
    elif whole and thousands.iloc[i]:
        problem = (
            f"'{raw}' is ambiguous (a decimal, or a thousands separator?); write whole numbers without a "
            f"thousands separator, e.g. {re.sub(r'[.,]', '', raw)}"
        )
    elif whole and np.isfinite(values.iloc[i]):
        problem = f"'{raw}' is not a whole number"
    elif "," in str(raw):
        problem = f"'{raw}' is not a number; write decimals with a dot (0.5) or one decimal comma (0,5)"
    else:
        problem = f"'{raw}' is not a number"
    raise UserError(str(path), label(i), problem)


def load_tps(path: Path, known_kecamatan: set[str] | None = None) -> pd.DataFrame:
    """Read and check a TPS table (CSV). See scenarios/README.md for the columns."""
    df = _read_csv(path, MAX_TPS, "TPS rows")
    for col in TPS_FLAGS:
        if col not in df.columns:
            df[col] = "0"
    missing = [c for c in TPS_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(str(path), "columns", f"missing {', '.join(missing)}; needed: {', '.join(TPS_COLUMNS)}")
    if len(df) == 0:
        raise UserError(str(path), None, "the TPS table has no rows")

    def label_of(col: str) -> Any:
        return lambda i: f"row {df.index[i] + 2} ({df['tps_id'].iloc[i]}) column {col}"

    for col in ("lat", "lon"):
        df[col] = _numbers(df, col, path, label_of(col))
    for col in ("voters", *TPS_FLAGS):
        df[col] = _numbers(df, col, path, label_of(col), whole=True)
    checks = [
        ("lat", (df["lat"] < -90) | (df["lat"] > 90), "latitude must be in -90..90"),
        ("lon", (df["lon"] < -180) | (df["lon"] > 180), "longitude must be in -180..180"),
        (
            "voters",
            (df["voters"] < 0) | (df["voters"] > MAX_VOTERS_PER_TPS),
            f"voters must be between 0 and {MAX_VOTERS_PER_TPS:,} (a TPS serves at most a few hundred)",
        ),
        ("class", ~df["class"].isin(TPS_CLASSES), f"class must be one of {', '.join(TPS_CLASSES)}"),
        ("tps_id", df["tps_id"].duplicated() | df["tps_id"].isna(), "a TPS id must be given and unique"),
    ]
    if known_kecamatan is not None:
        checks.append(("kecamatan", ~df["kecamatan"].isin(known_kecamatan), "kecamatan has no PPK venue in sites.ppk"))
    for col, bad, msg in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(str(path), label_of(col)(row), f"'{df[col].iloc[row]}': {msg}")
    df["voters"] = df["voters"].astype(np.int64)
    for col in TPS_FLAGS:
        df[col] = df[col].astype(bool)
    return df.reset_index(drop=True)


MAX_WINDOW_DAYS = 400  # Operasi Mantap Praja Mahakam 2024 ran 126 days


def _timeline(spec: Scenario, where: str) -> tuple[dt.datetime, Timeline]:
    day = spec.election_day

    def t(key: str, value: str) -> dt.datetime:
        try:
            return parse_when(value, day)
        except ValueError as exc:
            raise UserError(where, key, str(exc)) from None
        except OverflowError:
            raise UserError(where, key, f"'{value}' is out of the calendar's range") from None

    epoch = t("epoch", spec.epoch)

    def m(key: str, value: str) -> float:
        return minutes_between(epoch, t(key, value))

    ph = spec.phases
    horizon = m("horizon", spec.horizon)
    logistics = m("phases.logistics_start", ph.logistics_start)
    v0, v1 = m("phases.voting.start", ph.voting.start), m("phases.voting.end", ph.voting.end)
    r0 = t("phases.recap.start", ph.recap.start).date()
    r1 = t("phases.recap.end", ph.recap.end).date()
    try:
        d0, d1 = parse_clock(ph.recap.daily_start), parse_clock(ph.recap.daily_end)
    except ValueError as exc:
        raise UserError(where, "phases.recap.daily_start/daily_end", str(exc)) from None
    if r1 < r0 or d1 <= d0:
        raise UserError(where, "phases.recap", "end must not be before start, and daily_end after daily_start")
    if horizon > MAX_WINDOW_DAYS * 1440 or (r1 - r0).days > MAX_WINDOW_DAYS:
        raise UserError(
            where,
            "horizon",
            f"the scenario spans more than {MAX_WINDOW_DAYS} days from the epoch; an election operation is shorter",
        )
    recap = []
    day_i = r0
    while day_i <= r1:
        recap.append(
            (
                minutes_between(epoch, dt.datetime.combine(day_i, d0)),
                minutes_between(epoch, dt.datetime.combine(day_i, d1)),
            )
        )
        day_i += dt.timedelta(days=1)
    p0, p1 = m("phases.plenary.start", ph.plenary.start), m("phases.plenary.end", ph.plenary.end)
    order = [
        ("epoch", 0.0),
        ("phases.logistics_start", logistics),
        ("phases.voting.start", v0),
        ("phases.voting.end", v1),
        ("horizon", horizon),
    ]
    for (ka, a), (kb, b) in itertools.pairwise(order):
        if b < a or (b == a and kb != "phases.logistics_start"):
            raise UserError(where, kb, f"must come after {ka}")
    if recap[0][0] < v1 or recap[-1][1] > horizon:
        raise UserError(where, "phases.recap", "must lie between the end of voting and the horizon")
    if p1 <= p0 or p0 < v1 or p1 > horizon:
        raise UserError(where, "phases.plenary", "must end after it starts, between the end of voting and the horizon")
    return epoch, Timeline(logistics, v0, v1, tuple(recap), (p0, p1), horizon)


def _check_references(spec: Scenario, where: str) -> None:
    kec = {v.kecamatan for v in spec.sites.ppk}
    posts = {p.id for p in spec.sites.posts}
    if len(posts) != len(spec.sites.posts):
        raise UserError(where, "sites.posts", "post ids must be unique")
    if len(kec) != len(spec.sites.ppk):
        raise UserError(where, "sites.ppk", "one PPK venue per kecamatan")
    valid_kec = ", ".join(sorted(kec))
    for i, p in enumerate(spec.sites.posts):
        for k in [p.kecamatan, *p.covers]:
            if k not in kec:
                raise UserError(where, f"sites.posts.{i} ({p.id})", f"unknown kecamatan '{k}'; valid: {valid_kec}")
    if spec.sites.kpu.kecamatan not in kec:
        raise UserError(
            where, "sites.kpu.kecamatan", f"unknown kecamatan '{spec.sites.kpu.kecamatan}'; valid: {valid_kec}"
        )
    for k in spec.travel.access:
        if k not in kec:
            raise UserError(where, f"travel.access.{k}", f"unknown kecamatan; valid: {valid_kec}")
    used = sorted({t.priority for t in spec.incidents.types.values()})
    for gi, g in enumerate(spec.targets.groups):
        for k in g.kecamatan:
            if k not in kec:
                raise UserError(where, f"targets.groups.{gi}.kecamatan", f"unknown kecamatan '{k}'; valid: {valid_kec}")
    for key, target in [("targets.default_min", spec.targets.default_min)] + [
        (f"targets.groups.{gi}.target_min", g.target_min) for gi, g in enumerate(spec.targets.groups)
    ]:
        missing = [p for p in used if isinstance(target, dict) and p not in target]
        if missing:
            raise UserError(
                where,
                key,
                f"no target for priority {', '.join(map(str, missing))}; "
                f"give minutes for every priority the incident types use ({', '.join(map(str, used))})",
            )
    if spec.dispatch.policy not in POLICIES:
        raise UserError(
            where, "dispatch.policy", f"unknown policy '{spec.dispatch.policy}'; valid: {', '.join(POLICIES)}"
        )
    types = spec.incidents.types
    for name, it in types.items():
        if it.escalation and it.escalation.to not in types:
            raise UserError(
                where,
                f"incidents.types.{name}.escalation.to",
                f"unknown incident type '{it.escalation.to}'; valid: {', '.join(types)}",
            )
    for pname, plan in spec.plans.items():
        kinds = {g.kind for g in plan.tps_guards.values()} | {plan.linmas_kind, plan.ppk_guards.kind}
        for group_key in ("patrols", "reserve", "tni_backup"):
            for gi, g in enumerate(getattr(plan, group_key)):
                kinds.add(g.kind)
                if g.post not in posts:
                    raise UserError(
                        where,
                        f"plans.{pname}.{group_key}.{gi}.post",
                        f"unknown post '{g.post}'; valid: {', '.join(sorted(posts))}",
                    )
        for k in sorted(kinds):
            if k not in spec.forces:
                raise UserError(
                    where, f"plans.{pname}", f"personnel kind '{k}' is not in forces; valid: {', '.join(spec.forces)}"
                )


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> LoadedScenario:
    """Load, validate and resolve a scenario file. Raises :class:`UserError` on any mistake."""
    path = Path(path)
    where = str(path)
    raw = apply_overrides(_read_yaml(path), list(overrides or []), where)
    try:
        spec = Scenario.model_validate(raw)
    except ValidationError as exc:
        key, msg = _validation_line(exc)
        from_set = any(f"{key}.".startswith(o.partition("=")[0].strip() + ".") for o in overrides or [])
        raise UserError("--set" if from_set else where, key, msg) from None
    _check_references(spec, where)
    epoch, timeline = _timeline(spec, where)
    base = path.resolve().parent
    tps_path = _resolve_data_path(base, spec.sites.tps_file, where, "sites.tps_file", spec.allow_data_outside)
    tps = load_tps(tps_path, {v.kecamatan for v in spec.sites.ppk})
    matrix = None
    if spec.travel.matrix_file:
        mpath = _resolve_data_path(base, spec.travel.matrix_file, where, "travel.matrix_file", spec.allow_data_outside)
        matrix = load_matrix(mpath)
    return LoadedScenario(spec, path, raw, tps, timeline, epoch, matrix, list(overrides or []))


def load_matrix(path: Path) -> pd.DataFrame:
    """A travel-time matrix in long form: columns ``from, to, minutes`` (node ids; minutes >= 0)."""
    df = _read_csv(path)
    if list(df.columns[:3]) != ["from", "to", "minutes"]:
        raise UserError(str(path), "columns", "expected from,to,minutes")
    minutes = _numbers(df, "minutes", path, lambda i: f"row {df.index[i] + 2} column minutes")
    if (minutes < 0).any():
        row = int(np.flatnonzero((minutes < 0).to_numpy())[0])
        raise UserError(str(path), f"row {df.index[row] + 2} column minutes", "must be a number >= 0")
    df["minutes"] = minutes.astype(float)
    return df.reset_index(drop=True)


# --- size ------------------------------------------------------------------------------------

MAX_INCIDENTS_PER_REPLICATION = 200_000
MAX_INCIDENTS_TOTAL = 2_000_000


def _hour_weighted(sc: LoadedScenario, t0: np.ndarray | float, t1: np.ndarray | float) -> np.ndarray:
    """Hours between model times ``t0`` and ``t1`` [min], each weighted by its clock hour's multiplier."""
    hour = np.ones(24)
    for h, m in sc.spec.incidents.hourly_multiplier.items():
        hour[h] = m
    day_edges = np.arange(25) * 60.0
    day_cum = np.concatenate([[0.0], np.cumsum(hour)])  # multiplier-hours since midnight
    offset = sc.epoch.hour * 60.0 + sc.epoch.minute

    def since_midnight(t: np.ndarray) -> np.ndarray:
        u = np.asarray(t, dtype=float) + offset
        days = np.floor(u / 1440.0)
        return np.asarray(days * day_cum[-1] + np.interp(u - days * 1440.0, day_edges, day_cum))

    return np.maximum(since_midnight(np.asarray(t1)) - since_midnight(np.asarray(t0)), 0.0)


def expected_incidents(sc: LoadedScenario) -> float:
    """Background incidents expected in one replication (one plan), before any work is done.

    The sum over incident types, sites and phases of rate x class and flag multipliers x phase
    hours weighted by the hourly multiplier. Counting takes its mean length; the escort its
    straight-line road time to the PPK. Outbreak offspring are not counted.
    """
    from sim.world import great_circle_km

    spec, tl, tps = sc.spec, sc.timeline, sc.tps
    c = spec.phases.counting
    count_end = tl.voting_end + np.minimum(
        c.base_min + c.per_voter_min * c.turnout * tps["voters"].to_numpy(dtype=float), c.max_min
    )
    venue = {v.kecamatan: v.position for v in spec.sites.ppk}
    ppk = np.asarray([venue.get(k, (np.nan, np.nan)) for k in tps["kecamatan"]], dtype=float).reshape(-1, 2)
    km = great_circle_km(tps["lat"].to_numpy(dtype=float), tps["lon"].to_numpy(dtype=float), ppk[:, 0], ppk[:, 1])
    escort_min = np.nan_to_num(km) * spec.travel.road_factor / spec.travel.speed_kmh["road"] * 60.0
    hours = {
        "logistics": _hour_weighted(sc, tl.logistics_start, tl.voting_start),
        "voting": _hour_weighted(sc, tl.voting_start, tl.voting_end),
        "counting": _hour_weighted(sc, tl.voting_end, count_end),
        "escort": _hour_weighted(sc, count_end, count_end + escort_min),
    }
    recap_hours = float(sum(_hour_weighted(sc, a, b) for a, b in tl.recap_windows)) * len(spec.sites.ppk)
    plenary_hours = float(_hour_weighted(sc, *tl.plenary))
    classes = tps["class"].to_numpy()
    total = 0.0
    for it in spec.incidents.types.values():
        mult = np.asarray([it.class_multiplier.get(k, 1.0) for k in classes], dtype=float)
        for flag, m in it.flag_multiplier.items():
            mult = mult * np.where(tps[flag].to_numpy(dtype=bool), m, 1.0)
        for phase, rate in it.rate_per_site_hour.items():
            if phase in hours:
                total += rate * float(np.sum(mult * hours[phase]))
            elif phase == "recap":
                total += rate * recap_hours
            else:
                total += rate * plenary_hours
    return total


def check_size(scenarios: list[LoadedScenario], n_plans: int, replications: int, force: bool = False) -> float:
    """Refuse (with the estimate) a run whose incident rows would not fit in memory or time.

    Returns the expected number of incident rows of the whole run (replications x plans x grid
    points). ``force`` skips the refusal.
    """
    per_rep = [expected_incidents(sc) for sc in scenarios]
    total = sum(per_rep) * replications * n_plans
    worst = max(per_rep)
    if not force and (worst > MAX_INCIDENTS_PER_REPLICATION or total > MAX_INCIDENTS_TOTAL):
        points = f" x {len(scenarios)} grid points" if len(scenarios) > 1 else ""
        raise UserError(
            str(scenarios[0].path),
            "incidents",
            f"about {total:,.0f} incidents expected ({worst:,.0f} per replication from rates x sites x hours, "
            f"x {replications} replications x {n_plans} plans{points}); the limits are "
            f"{MAX_INCIDENTS_PER_REPLICATION:,} per replication and {MAX_INCIDENTS_TOTAL:,} in all: "
            "reduce the rates, --reps or --plans, or pass --force",
        )
    return total


# --- personnel ---------------------------------------------------------------------------------


def cluster_counts(tps: pd.DataFrame, rule_per_tps: dict[str, int]) -> dict[str, int]:
    """Number of guard clusters per class: TPS of a class are grouped per kecamatan, ``per_tps`` each."""
    counts: dict[str, int] = {}
    for cls in TPS_CLASSES:
        per = rule_per_tps[cls]
        sizes = tps.loc[tps["class"] == cls].groupby("kecamatan").size()
        counts[cls] = int(sum(math.ceil(n / per) for n in sizes))
    return counts


def personnel_use(plan: Plan, tps: pd.DataFrame, n_ppk_sites: int) -> dict[str, int]:
    """Personnel a plan needs, per kind, at its peak.

    TPS guards stand down once their boxes reach the PPK, so the voting-day shift (TPS guards,
    Linmas, mobile units) and the recap shift (PPK guards, mobile units) are counted separately and
    the larger of the two is what the plan needs of each kind.
    """
    day: dict[str, int] = {}
    recap: dict[str, int] = {}

    def add(d: dict[str, int], kind: str, n: int) -> None:
        d[kind] = d.get(kind, 0) + n

    clusters = cluster_counts(tps, {c: r.per_tps for c, r in plan.tps_guards.items()})
    for cls, rule in plan.tps_guards.items():
        add(day, rule.kind, rule.officers * clusters[cls])
    add(day, plan.linmas_kind, plan.linmas_per_tps * len(tps))
    for group in (*plan.patrols, *plan.reserve, *plan.tni_backup):
        add(day, group.kind, group.units * group.crew)
        add(recap, group.kind, group.units * group.crew)
    add(recap, plan.ppk_guards.kind, plan.ppk_guards.officers * n_ppk_sites)
    return {k: max(day.get(k, 0), recap.get(k, 0)) for k in sorted(set(day) | set(recap))}


def check_personnel(sc: LoadedScenario, plan_names: list[str]) -> None:
    """Raise :class:`UserError` naming the plan, kind and shortfall if a plan over-allocates."""
    for name in plan_names:
        use = personnel_use(sc.spec.plans[name], sc.tps, len(sc.spec.sites.ppk) + 1)
        for kind, n in use.items():
            have = sc.spec.forces.get(kind, 0)
            if n > have:
                raise UserError(
                    str(sc.path), f"plans.{name}", f"needs {n} {kind} but forces.{kind} is {have} (short by {n - have})"
                )


def select_plans(sc: LoadedScenario, plans: str | None) -> list[str]:
    """Plan names from a comma list (all plans when None), checked against the scenario."""
    if not plans:
        return list(sc.spec.plans)
    names = [p.strip() for p in plans.split(",") if p.strip()]
    for n in names:
        if n not in sc.spec.plans:
            raise UserError("--plans", n, f"unknown plan; valid: {', '.join(sc.spec.plans)}")
    return names
