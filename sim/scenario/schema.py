"""The scenario schema: what a valid scenario file is, as typed pydantic models.

Every key, its unit and its default is documented in ``scenarios/README.md`` (a test checks both
agree). The constants name the domain's fixed vocabularies: TPS vulnerability classes and flags,
incident phases, unit roles and travel modes. Checks that need more than one key (references
between sections) are made when a file is loaded (:mod:`sim.scenario.load`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

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
    policy: str = "nearest"  # a name in sim.dispatch.POLICIES (checked when loading, in sim.scenario.load)
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
