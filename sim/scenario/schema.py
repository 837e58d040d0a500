"""The scenario schema: what a valid scenario file is, as typed pydantic models.

Every key, its unit and its default is documented in ``scenarios/README.md`` (a test checks both
agree). The constants name the domain's fixed vocabularies: TPS vulnerability classes and flags,
incident phases, unit roles and travel modes. Checks that need more than one key (references
between sections) are made when a file is loaded (:mod:`sim.scenario.load`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    field_validator,
    model_validator,
)

from sim.timeparse import MAX_WINDOW_DAYS, parse_date

TPS_CLASSES = ("kurang_rawan", "rawan", "sangat_rawan", "khusus")
TPS_FLAGS = ("blank_spot", "hard_to_reach", "disaster_prone")
TPS_PHASES = ("logistics", "voting", "counting", "escort")
PHASES = (*TPS_PHASES, "recap", "plenary")
ROLES = ("patrol", "reserve", "tni")
MODES = ("road", "river", "sea")
MAX_PRIORITY = 9  # priorities run 1 (most urgent) .. MAX_PRIORITY
MAX_REPLICATIONS = 100_000  # per plan and point: far above what any interval needs
MAX_MINUTES = MAX_WINDOW_DAYS * 1440  # the longest scenario window [min]: no duration or target is longer


# --- numbers -----------------------------------------------------------------------------------
# Every number key has a documented range (scenarios/README.md states it in the key's row): wide
# enough for any planner, narrow enough that the model computes with it (no overflow, no inf, no
# calendar past year 9999). One mechanism: a finite number (or whole number) that is not a yes/no,
# then a Range.


def _number(n: float) -> str:
    """A bound or a value as the README and the error lines write it (``576,000``, ``0.5``, ``1e+308``)."""
    return f"{int(n):,}" if float(n).is_integer() and abs(n) < 1e15 else f"{n:g}"


def _not_yes_no(value: Any) -> Any:
    """YAML reads yes/no/on/off/true/false as true/false; where a number belongs that is a slip, not 1 or 0."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()} (YAML reads yes/no and on/off as true/false)")
    return value


@dataclass(frozen=True)
class Range:
    """The valid values of a number key: ``lo`` to ``hi``, ``lo`` itself excluded when ``above``."""

    lo: float
    hi: float
    above: bool = False

    def text(self) -> str:
        lo, hi = _number(self.lo), _number(self.hi)
        return f"more than {lo} and at most {hi}" if self.above else f"from {lo} to {hi}"

    def __call__(self, value: Any) -> Any:
        if value > self.hi:
            side = f"less than or equal to {_number(self.hi)}"
        elif value < self.lo or (self.above and value == self.lo):
            side = f"greater than {'' if self.above else 'or equal to '}{_number(self.lo)}"
        else:
            return value
        what = "a whole number" if isinstance(value, int) else "a number"
        raise ValueError(f"Input should be {side}; valid: {what} {self.text()}, not {_number(value)}")


Number = Annotated[float, BeforeValidator(_not_yes_no), Field(allow_inf_nan=False)]
Whole = Annotated[int, BeforeValidator(_not_yes_no)]
YesNo = Annotated[bool, Strict()]  # true/false (yes/no), not 1/0 or text

Minutes = Annotated[Number, AfterValidator(Range(0, MAX_MINUTES))]  # a duration [min]
PosMinutes = Annotated[Number, AfterValidator(Range(0, MAX_MINUTES, above=True))]
Prob = Annotated[Number, AfterValidator(Range(0, 1))]
CV = Annotated[Number, AfterValidator(Range(0, 2))]  # coefficient of variation of a lognormal factor
Factor = Annotated[Number, AfterValidator(Range(1, 10))]  # road or water distance / straight-line distance
Speed = Annotated[Number, AfterValidator(Range(1, 200))]  # [km/h]: walking pace to a fast boat
Rate = Annotated[Number, AfterValidator(Range(0, 10_000_000))]  # per site-hour; the run's size check refuses far less
Multiplier = Annotated[Number, AfterValidator(Range(0, 100))]  # x a rate
Latitude = Annotated[Number, AfterValidator(Range(-90, 90))]
Longitude = Annotated[Number, AfterValidator(Range(-180, 180))]
LatLon = tuple[Latitude, Longitude]

MAX_FORCE = 10_000_000  # personnel of one kind (Polri has about 470,000, Linmas about 1.5 million)
MAX_PER_SITE = 1_000  # persons at one site or in one cluster, units in one group, TPS in one cluster
Personnel = Annotated[Whole, AfterValidator(Range(0, MAX_FORCE))]
Persons = Annotated[Whole, AfterValidator(Range(0, MAX_PER_SITE))]
Crew = Annotated[Whole, AfterValidator(Range(1, MAX_PER_SITE))]
Priority = Annotated[Whole, AfterValidator(Range(1, MAX_PRIORITY))]
Hour = Annotated[Whole, AfterValidator(Range(0, 23))]

Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$", min_length=1, max_length=64)]
Mode = Literal["road", "river", "sea"]
Role = Literal["patrol", "reserve", "tni"]
DelayKey = Literal["default", "blank_spot", "hard_to_reach", "disaster_prone"]

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)  # election days; H+400 stays in the calendar


def _day(value: Any) -> Any:
    """A date written ``YYYY-MM-DD``, read here (the YAML loader leaves dates as text)."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        day = parse_date(value)
    else:
        raise ValueError("expected a date written YYYY-MM-DD, e.g. 2024-11-27")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"'{value}' is not a date from {FIRST_DAY} to {LAST_DAY}")
    return day


Day = Annotated[dt.date, BeforeValidator(_day)]


def _as_text(value: Any) -> Any:
    """Dates and date-times given as objects (through the Python API) are kept as ISO text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


When = Annotated[str, BeforeValidator(_as_text)]  # resolved against election_day by sim.scenario.timeline


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
    serves: list[str] = Field(default_factory=list)  # region ids besides its own whose calls it takes
    note: str = ""


class Region(_Model):
    """A kabupaten/kota with its own Polres: a dispatch area of its own unless a post links it to
    another (``serves``). See :mod:`sim.world` (``node_area``)."""

    id: Ident
    name: str = ""
    kecamatan: list[str] = Field(min_length=1)


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

    road_factor: Factor | None = None
    speed_kmh: Speed | None = None
    mode: Literal["road", "sea", "river"] = "road"
    gateway: LatLon | None = None
    transfer_min: Minutes = 0.0
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
    road_factor: Factor = 2.0
    speed_kmh: dict[Mode, Speed] = Field(default_factory=lambda: _speeds())

    @field_validator("speed_kmh")
    @classmethod
    def _keep_default_speeds(cls, v: dict[Mode, float]) -> dict[Mode, float]:
        return {**_speeds(), **v}

    water_factor: Factor = 1.3
    setup_min: Minutes = 0.0
    noise_cv: CV = 0.0
    access: dict[str, Access] = Field(default_factory=dict)
    matrix_file: str | None = None


# --- plans -------------------------------------------------------------------------------------


class GuardRule(_Model):
    """Static TPS guards of one vulnerability class: ``officers`` per cluster of ``per_tps`` TPS."""

    officers: Persons
    per_tps: Crew = 1
    kind: Ident = "polri"


class UnitGroup(_Model):
    """Mobile units of one role at one post."""

    post: Ident
    units: Persons = 1
    crew: Crew = 2
    kind: Ident = "polri"
    mode: Literal["road", "river", "sea"] = "road"


class TniGroup(UnitGroup):
    """TNI backup units: personnel of kind ``tni`` unless said otherwise."""

    kind: Ident = "tni"


class PPKGuards(_Model):
    officers: Persons = 0
    kind: Ident = "polri"


class Escort(_Model):
    by: Literal["tps_guard", "none"] = "tps_guard"
    handover_min: Minutes = 30.0
    return_to_cluster: YesNo = True


class Plan(_Model):
    description: str = ""
    description_id: str = ""  # the same in Bahasa Indonesia; the Indonesian briefing shows it (else `description`)
    tps_guards: dict[Literal["kurang_rawan", "rawan", "sangat_rawan", "khusus"], GuardRule]
    linmas_per_tps: Persons = 2
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

    base_min: Minutes = 120.0
    per_voter_min: Annotated[Number, AfterValidator(Range(0, 60))] = 0.5
    turnout: Prob = 0.7
    cv: CV = 0.2
    max_min: PosMinutes = 720.0


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
    mean: Minutes = 0.0
    cv: CV = 0.5
    low: Minutes = 0.0
    high: Minutes = 0.0

    @model_validator(mode="after")
    def _shape(self) -> Dist:
        if self.dist == "uniform" and self.high < self.low:
            raise ValueError("uniform needs high >= low")
        if self.dist in ("exponential", "lognormal") and self.mean <= 0:
            raise ValueError(f"{self.dist} needs mean > 0 (minutes)")
        return self


class Response(_Model):
    roles: list[Role] = Field(default_factory=_patrol_only, min_length=1)
    units: Annotated[Whole, AfterValidator(Range(1, 8))] = 1


class Escalation(_Model):
    after_min: PosMinutes
    to: Ident
    probability: Prob = 1.0


class Outbreak(_Model):
    """A hoax-driven flare-up: rates at TPS within ``radius_km`` rise ``multiplier``-fold."""

    probability: Prob
    radius_km: Annotated[Number, AfterValidator(Range(0, 1000, above=True))]
    multiplier: Annotated[Number, AfterValidator(Range(1, 100))]
    duration_h: Annotated[Number, AfterValidator(Range(0, MAX_WINDOW_DAYS * 24, above=True))]


class Onsite(_Model):
    linmas: Prob = 0.0
    tps_guard: Prob = 0.0
    ppk_guard: Prob = 0.0


class IncidentType(_Model):
    label_id: str = ""
    label_en: str = ""
    priority: Priority
    rate_per_site_hour: dict[Literal["logistics", "voting", "counting", "escort", "recap", "plenary"], Rate]
    class_multiplier: dict[Literal["kurang_rawan", "rawan", "sangat_rawan", "khusus"], Multiplier] = Field(
        default_factory=dict
    )
    flag_multiplier: dict[Literal["blank_spot", "hard_to_reach", "disaster_prone"], Multiplier] = Field(
        default_factory=dict
    )
    onsite: Onsite = Onsite()
    response: Response = Response()
    on_scene_min: Dist
    escalation: Escalation | None = None
    outbreak: Outbreak | None = None


class Incidents(_Model):
    types: dict[Ident, IncidentType] = Field(min_length=1)
    hourly_multiplier: dict[Hour, Multiplier] = Field(default_factory=dict)
    report_delay_min: dict[DelayKey, Dist] = Field(default_factory=lambda: _no_delay())
    max_outbreak_generations: Annotated[Whole, AfterValidator(Range(0, 10))] = 3


class Dispatch(_Model):
    policy: str = "nearest"  # a name in sim.dispatch.POLICIES (checked when loading, in sim.scenario.load)
    tni_max_priority: Annotated[Whole, AfterValidator(Range(0, MAX_PRIORITY))] = 1
    max_travel_min: PosMinutes | None = None


# A response-time target [min]: one number for every priority, or minutes per priority ({1: 30, 2: 60}).
# The union is told apart by the input's shape, so an error is about the form that was written.
Target = Annotated[
    Annotated[PosMinutes, Tag("minutes")] | Annotated[dict[Priority, PosMinutes], Tag("per_priority")],
    Discriminator(lambda v: "per_priority" if isinstance(v, dict) else "minutes"),
]


class TargetGroup(_Model):
    name: str
    kecamatan: list[str]
    target_min: Target


class Targets(_Model):
    default_min: Target = 60.0
    groups: list[TargetGroup] = Field(default_factory=list)


# --- optimize ----------------------------------------------------------------------------------
# What `pilkada-sim optimize` searches (see sim/optimize): the moves it may make on the starting
# plan, what "meets the targets" means, and how hard it looks. The KPI names are fixed here so
# that a scenario naming an unknown one is refused when it is loaded.

OPT_SHARE_KPIS = ("within_target_p1", "within_target", "reached_share", "waited_share")  # judged per target group
OPT_OBJECTIVES = ("missed_groups", *OPT_SHARE_KPIS, "response_pooled_p90_min", "response_pooled_p90_p1_min")
OPT_MODES = ("min_force", "fixed_force")
Reps = Annotated[Whole, AfterValidator(Range(1, MAX_REPLICATIONS))]


class Move(_Model):
    """A whole-number key of the plan the search may change, within ``min`` .. ``max`` by ``step``.

    ``key`` is relative to the plan (``patrols[polsek-sgu].units``, ``reserve.0.units``,
    ``tps_guards.kurang_rawan.per_tps``); ``[*]`` stands for every item of a list.
    """

    key: Annotated[str, Field(min_length=1, max_length=200)]
    min: Persons = 0
    max: Persons
    step: Crew = 1

    @model_validator(mode="after")
    def _bounds(self) -> Move:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class Constraint(_Model):
    """A target every kecamatan target group must meet: a share KPI at least (or at most) a value."""

    kpi: Literal["within_target_p1", "within_target", "reached_share", "waited_share"]
    at_least: Prob | None = None
    at_most: Prob | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Constraint:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most (a share from 0 to 1)")
        return self


_CONSTRAINT_TEXT = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def constraint_text(kpi: str, at_least: bool, threshold: float) -> str:
    """A constraint as ``--constraint`` and the optimizer's record write it: ``within_target_p1>=0.9``."""
    return f"{kpi}{'>=' if at_least else '<='}{threshold:g}"


def split_constraint(text: str) -> tuple[str, bool, float]:
    """(kpi, at_least, threshold) of ``KPI>=VALUE`` or ``KPI<=VALUE``; ValueError if it is neither."""
    m = _CONSTRAINT_TEXT.match(text)
    if m is None:
        raise ValueError(f"'{text}' is not KPI>=VALUE or KPI<=VALUE (e.g. within_target_p1>=0.9)")
    kpi, op, value = m.groups()
    threshold = float(value)
    if not math.isfinite(threshold):
        raise ValueError(f"'{text}': the threshold is not a finite number")
    return kpi, op == ">=", threshold


def _default_constraints() -> list[Constraint]:
    return [Constraint(kpi="within_target_p1", at_least=0.9), Constraint(kpi="within_target", at_least=0.9)]


def _default_moves() -> list[Move]:
    return [Move(key="patrols[*].units", min=1, max=6)]


class Optimize(_Model):
    """The staffing search's settings (``optimize:``); every one can also be given on the command line."""

    mode: Literal["min_force", "fixed_force"] = "min_force"
    from_plan: Ident | None = None  # default: the scenario's first plan
    objective: Literal[
        "missed_groups",
        "within_target_p1",
        "within_target",
        "reached_share",
        "waited_share",
        "response_pooled_p90_min",
        "response_pooled_p90_p1_min",
    ] = "missed_groups"  # fixed_force: what to minimise (shares: maximise; waited_share: minimise)
    constraints: list[Constraint] = Field(default_factory=_default_constraints, min_length=1)
    moves: list[Move] = Field(default_factory=_default_moves, min_length=1)
    indifference: Annotated[Number, AfterValidator(Range(0, 0.5, above=True))] = 0.03  # delta, a share
    objective_indifference: Annotated[Number, AfterValidator(Range(0, MAX_MINUTES, above=True))] | None = None
    first_reps: Reps = 40  # replications every candidate gets first
    max_reps: Reps = 640  # replications a candidate may get at most
    budget_reps: Reps = 100_000  # candidate-replications the whole search may spend
    confirm_reps: Reps = 200  # fresh replications of the confirmation

    @model_validator(mode="after")
    def _reps(self) -> Optimize:
        if self.max_reps < self.first_reps:
            raise ValueError(f"max_reps ({self.max_reps}) is below first_reps ({self.first_reps})")
        return self


class Conflict(_Model):
    """What one source gives where the sources of an assumption disagree, so the briefing can name
    each figure with its source instead of hiding the choice the scenario made."""

    figure: Number
    says: str  # what the source says, e.g. "Polda support of 150 personnel"
    says_id: str = ""  # the same in Bahasa Indonesia
    source: str  # a name from the scenario's `sources`


class Boundaries(_Model):
    """Kecamatan outlines for the briefing's map (GeoJSON, see :mod:`sim.scenario.boundaries`);
    paths relative to the scenario file. Without this section the map outlines each kecamatan's TPS."""

    kecamatan_file: str
    neighbours_file: str | None = None  # the kabupaten around it, drawn grey for context
    codes: dict[str, str] = Field(default_factory=dict)  # kecamatan -> its code in the files (kode), e.g. 64.08.08


class Assumption(_Model):
    """A figure or assumption the briefing lists, with where it comes from."""

    text: str
    text_id: str = ""  # the same in Bahasa Indonesia, for the Indonesian briefing
    basis: Literal["sourced", "estimated"]
    source: str = ""
    also: list[str] = Field(default_factory=list)  # more names from `sources` the row rests on
    conflicts: list[Conflict] = Field(default_factory=list)  # where sources disagree: at least two figures
    keys: list[str] = Field(default_factory=list)  # the scenario keys it describes (key paths as --set takes them)

    @model_validator(mode="after")
    def _two_sides(self) -> Assumption:
        if self.conflicts and len({c.figure for c in self.conflicts}) < 2:
            raise ValueError("conflicts lists at least two sources with different figures")
        return self


class Scenario(_Model):
    """The whole scenario file. See scenarios/README.md for every key, unit and default."""

    name: Ident
    title: str = ""
    description: str = ""
    description_id: str = ""  # the same in Bahasa Indonesia; the Indonesian briefing shows it (else `description`)
    timezone: str = "Asia/Makassar"
    election_day: Day
    epoch: When
    horizon: When
    seed: Annotated[Whole, AfterValidator(Range(0, 2**32 - 1))] = 0  # as numpy and most tools take seeds
    replications: Annotated[Whole, AfterValidator(Range(1, MAX_REPLICATIONS))] = 10
    sites: Sites
    travel: Travel = Travel()
    forces: dict[Ident, Personnel]
    plans: dict[Ident, Plan] = Field(min_length=1)
    phases: Phases
    incidents: Incidents
    dispatch: Dispatch = Dispatch()
    targets: Targets = Targets()
    sources: dict[str, str] = Field(default_factory=dict)
    assumptions: list[Assumption] = Field(default_factory=list)
    allow_data_outside: YesNo = False
    optimize: Optimize | None = None
    boundaries: Boundaries | None = None
    regions: list[Region] = Field(default_factory=list)  # empty: the whole scenario is one region
