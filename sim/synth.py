"""Synthetic scenarios: a province or a country built from Kutai Timur's building blocks.

``pilkada-sim synth --tps N --regions R --seed S --out DIR`` writes ``DIR/<name>.yaml`` and
``DIR/<name>_tps.csv``: R made-up kabupaten ("regions", codes ``R01`` ..), each with its own Polres,
Polsek, kecamatan, desa and TPS, laid out side by side, plus forces, one plan, incidents, dispatch and
targets. Nothing in it describes a real place: every number it writes is an [E] estimate modelled on
``scenarios/kutim-2024.yaml`` (701 TPS, 18 kecamatan, 141 desa, 10 Polsek, one Polres) and its TPS
generator ``scenarios/kutim-2024/make_tps.py``. Same arguments, same bytes: one named numpy stream per
purpose from ``SeedSequence(seed)``, lists in a fixed order, floats written with fixed decimals.

Copied as values from the Kutim scenario file each time (so they stay in step with it): the time line
(``election_day``, ``epoch``, ``horizon``, ``phases``), the travel defaults (no water access), the
``incidents`` block, ``dispatch``, ``targets.default_min`` and plan ``pemilu2024``'s pola pengamanan
(guard rules, Linmas, PPK guards, escort) and its patrol, reserve and TNI groups, scaled per region.

The steps, in order:

1. **Regions.** ``N`` TPS are split over ``R`` regions by lognormal shares (``REGION_SPREAD``), at least
   one each; the regions are numbered from the largest down, and region R01's capital holds the one
   KPU office of the scenario (the schema has one ``sites.kpu``).
2. **Layout.** Each region is a box of Kutim's extent (``BOX_KM``) scaled by ``sqrt(n / 701)``, so it
   keeps Kutim's area per TPS; the boxes are packed in rows (largest first, ``GAP_KM`` apart) around
   ``CENTRE`` (East Kalimantan), the rows spreading north and south as R grows. A row converts km to
   degrees at its own middle latitude, so boxes never overlap and every point is a valid lat/lon.
3. **Kecamatan.** About one per ``TPS_PER_KECAMATAN`` TPS; their TPS counts are lognormal
   (``KECAMATAN_SPREAD``, as Kutim's), the largest is the region's capital. They tile the box in a grid
   of cells, numbered in a serpentine so that neighbours in the list are neighbours on the map.
4. **Desa and TPS.** ``1 + Poisson(DESA_PER_KECAMATAN - 1)`` desa per kecamatan (at most its TPS); the
   main village near the cell's middle, the others spread over the cell. Every desa gets a TPS, the
   rest go by a multinomial with the main village weighted ``MAIN_VILLAGE_WEIGHT``. A TPS sits at its
   desa point plus Kutim's jitter; voters are lognormal around Kutim's mean, capped at 600.
5. **Posts.** Polsek cover runs of 1 to 3 neighbouring kecamatan (about ``KECAMATAN_PER_POLSEK`` each,
   as Kutim's 10 for 18) and sit at the main village of the group's largest one; the Polres (with the
   KPU for R01) and the Kodim sit in the capital.
6. **Flags.** Exact shares of all TPS (``FLAG_SHARES``), drawn without replacement with Kutim's weights:
   blank_spot and hard_to_reach grow with the km to the kecamatan's main village, never in a capital;
   hard_to_reach weighs ``HARD_TO_REACH_FACTOR`` more in the region's farthest kecamatan;
   disaster_prone falls in a third of the kecamatan ("river" kecamatan).
7. **Classes.** Kutim's split (477 / 212 / 10 / 2 of 701) in every region, rounded so the totals come
   out exact: khusus in the capital; sangat_rawan the largest TPS within ``URBAN_KM`` of the Polres; rawan
   the flagged TPS (blank_spot, hard_to_reach) and then the farthest from their Polsek or Polres; the
   rest kurang_rawan.
8. **Forces and plan.** Plan ``pemilu2024`` as Kutim's: its guard rules, one patrol per Polsek, a
   reserve at every Polres and TNI at every Kodim scaled to the region's TPS (at least one unit each);
   the forces are what the plan needs times Kutim's ratio of forces to that plan's need, per kind.
9. **Targets.** Kutim's ``default_min``, and one target group per region (its kecamatan), so the
   outputs and ``optimize`` judge every Polres on its own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.errors import UserError
from sim.scenario import TPS_CLASSES, TPS_FLAGS, LoadedScenario, Plan, load_scenario, personnel_use
from sim.scenario.load import MAX_YAML_BYTES
from sim.scenario.schema import MAX_PER_SITE
from sim.scenario.tables import MAX_TPS
from sim.world import MAX_WORLD_BYTES, world_bytes

KUTIM = Path(__file__).resolve().parent.parent / "scenarios" / "kutim-2024.yaml"
KUTIM_PLAN = "pemilu2024"
COMMAND = "pilkada-sim synth"

MAX_TPS_ARG = 1_000_000  # --tps at most: twice Indonesia's 435,296 Pilkada 2024 TPS
MAX_REGIONS = 1_000  # --regions at most: Indonesia has 514 kabupaten/kota and 38 provinces
MAX_SEED = 2**32 - 1  # as the scenario's seed
NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")  # a scenario name (sim.scenario.schema.Ident)

# --- Kutim, the model (scenarios/kutim-2024.yaml and make_tps.py) ---------------------------------

KUTIM_TPS = 701  # [S] TPS in Kutim, Pilkada 2024
TPS_PER_KECAMATAN = 701 / 18  # [S] 701 TPS in 18 kecamatan
DESA_PER_KECAMATAN = 141 / 18  # [S] 141 desa/kelurahan in 18 kecamatan
KECAMATAN_PER_POLSEK = 18 / 10  # [S] 10 Polsek for 18 kecamatan
MAX_KECAMATAN_PER_POLSEK = 3  # [S] "some cover 2-3" (detik 2025)
KECAMATAN_SPREAD = 0.69  # [E] sd of log TPS per kecamatan in Kutim's table (11 to 189 TPS)
REGION_SPREAD = 0.7  # [E] sd of log TPS per region: Kaltim's kab/kota run from a few hundred TPS to ~1,500
BOX_KM = (300.0, 160.0)  # [E] Kutim's TPS extent east-west, north-south (lon 116.23-118.95, lat 0.05-1.52)
BOX_MIN_KM = 10.0  # [E] the smallest region box side (a region of one TPS)
GAP_KM = 20.0  # [E] between region boxes
ROW_WIDTH = 1.2  # [E] rows of boxes about 1.2 x the square root of their total area wide (at the equator)
CENTRE = (0.5, 116.5)  # [E] lat, lon of the layout's middle: East Kalimantan
MEAN_VOTERS = 297_994 / 701  # [S] Kutim's DPT per TPS (425)
VOTER_SPREAD = 0.25  # [E] as make_tps.py: about 7 % of TPS at the cap, as in Kutim's table (47 of 701)
MAX_VOTERS = 600  # [S] KPU: at most 600 voters per TPS in Pilkada 2024
KHUSUS_VOTERS = 477 / 2  # [S] Kutim's 2 TPS khusus had 477 voters
MAIN_VILLAGE_WEIGHT = 2.0  # [E] as make_tps.py
JITTER_SD_KM = 1.5  # [E] as make_tps.py
JITTER_MAX_KM = 4.0  # [E] as make_tps.py
MAIN_VILLAGE_OFFSET = 0.1  # [E] the main village lies within 10 % of the cell's size of its middle
DESA_SPREAD = 0.4  # [E] other desa lie within 40 % of the cell's size of its middle
URBAN_KM = 10.0  # [E] as make_tps.py: "town" is within 10 km of the Polres
# [S] Kutim's class split, 477 / 212 / 10 / 2 of 701 (kutim-2024.yaml, from make_tps.py); kurang_rawan the rest
CLASS_SHARES = {"khusus": 2 / 701, "sangat_rawan": 10 / 701, "rawan": 212 / 701}
# [E] as make_tps.py: Bawaslu Kaltim's internet problems 8.2 % and hard to reach 1.5 %; disaster-prone 3 %
FLAG_SHARES = {"blank_spot": 0.082, "hard_to_reach": 0.015, "disaster_prone": 0.03}
REMOTENESS_POWER = 2.0  # [E] as make_tps.py
HARD_TO_REACH_SHARE = 4 / 18  # [E] as make_tps.py: 4 of Kutim's 18 kecamatan are "the hard ones"
HARD_TO_REACH_FACTOR = 8.0  # [E] as make_tps.py
RIVER_SHARE = 6 / 18  # [E] as make_tps.py: 6 of 18 kecamatan on the river system, disaster-prone
REPLICATIONS = 10  # [E] the schema's default; a run of a big scenario takes a while

STREAMS = ("regions", "kecamatan", "desa", "jitter", "voters", "flags", "classes")
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius, as sim.world
KM_PER_DEG_LAT = math.pi * EARTH_RADIUS_KM / 180.0
FLAGS = TPS_FLAGS
COLUMNS = ("tps_id", "kecamatan", "desa", "lat", "lon", "voters", "class", *FLAGS)


@dataclass(frozen=True)
class SynthResult:
    """What :func:`write_synthetic` wrote, and the counts the command prints."""

    yaml_path: Path
    tps_path: Path
    n_tps: int
    n_regions: int
    n_kecamatan: int
    n_polres: int
    n_polsek: int
    n_tni_posts: int
    notes: tuple[str, ...] = ()

    @property
    def n_posts(self) -> int:
        return self.n_polres + self.n_polsek + self.n_tni_posts

    def line(self) -> str:
        """The one line ``pilkada-sim synth`` prints."""
        text = (
            f"wrote {self.yaml_path} and {self.tps_path}: {self.n_tps:,} TPS, {self.n_regions:,} regions, "
            f"{self.n_kecamatan:,} kecamatan, {self.n_posts:,} posts ({self.n_polres:,} Polres, "
            f"{self.n_polsek:,} Polsek, {self.n_tni_posts:,} Kodim)"
        )
        return "; ".join([text, *self.notes])


# --- arguments -------------------------------------------------------------------------------


def check_arguments(tps: int, regions: int, seed: int, out: Path, name: str | None) -> str:
    """Refuse what cannot be made, naming the option and what is valid; the scenario's name."""
    if not 1 <= regions <= MAX_REGIONS:
        raise UserError("--regions", None, f"{regions:,} is not valid; valid: a whole number from 1 to {MAX_REGIONS:,}")
    if not regions <= tps <= MAX_TPS_ARG:
        why = " (every region needs a TPS)" if tps < regions else ""
        raise UserError(
            "--tps",
            None,
            f"{tps:,} is not valid{why}; valid: a whole number from --regions ({regions:,}) to {MAX_TPS_ARG:,}",
        )
    if not 0 <= seed <= MAX_SEED:
        raise UserError("--seed", None, f"{seed} is not valid; valid: a whole number from 0 to {MAX_SEED:,}")
    if out.exists() and not out.is_dir():
        raise UserError("--out", None, f"'{out}' is a file; valid: a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise UserError("--out", None, f"'{out}' is not empty; valid: a new or empty folder")
    name = out.resolve().name if name is None else name
    if not NAME.fullmatch(name):
        raise UserError(
            "--name",
            None,
            f"'{name[:70]}' is not a scenario name; valid: 1 to 64 letters, digits, '_', '.' or '-'"
            + (" (the default is the --out folder's name)" if name == out.resolve().name else ""),
        )
    return name


# --- the Kutim template ------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """What the synthetic scenario takes from Kutim's file, as written there (raw values)."""

    raw: dict[str, Any]
    plan: dict[str, Any]  # plan pemilu2024 as written
    forces: dict[str, int]  # Kutim's forces
    need: dict[str, int]  # what plan pemilu2024 needs of them in Kutim


def kutim_template(path: Path = KUTIM) -> Template:
    """Read Kutim's scenario (validated, as any scenario) and what plan ``pemilu2024`` needs there."""
    try:
        sc: LoadedScenario = load_scenario(path)
    except UserError as err:
        raise UserError(str(path), None, f"the Kutim scenario the generator copies from does not load: {err}") from None
    if KUTIM_PLAN not in sc.spec.plans:
        raise UserError(str(path), "plans", f"plan '{KUTIM_PLAN}' (the pattern the generator copies) is missing")
    spec_plan = sc.spec.plans[KUTIM_PLAN]
    need = personnel_use(spec_plan, sc.tps, len(sc.spec.sites.ppk) + 1)
    return Template(sc.raw, sc.raw["plans"][KUTIM_PLAN], dict(sc.spec.forces), need)


# --- small sampling helpers --------------------------------------------------------------------


def split_counts(rng: np.random.Generator, total: int, n: int, spread: float) -> np.ndarray:
    """``total`` over ``n`` parts, each at least 1: lognormal shares, rounded by largest remainder."""
    assert 1 <= n <= total
    w = rng.lognormal(0.0, spread, size=n)
    x = (total - n) * w / w.sum()
    counts = np.floor(x).astype(np.int64)
    short = (total - n) - int(counts.sum())
    order = np.lexsort((np.arange(n), -(x - counts)))  # largest remainder, ties by position
    counts[order[:short]] += 1
    return counts + 1


def weighted_pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of ``k`` items drawn without replacement, chance proportional to ``weights``
    (0 = never; fewer if fewer have a weight): the ``k`` smallest of Exp(1) / weight."""
    keys = np.full(len(weights), np.inf)
    draws = rng.exponential(size=len(weights))
    ok = weights > 0
    keys[ok] = draws[ok] / weights[ok]
    chosen = np.lexsort((np.arange(len(weights)), keys))[: min(k, int(ok.sum()))]
    mask = np.zeros(len(weights), dtype=bool)
    mask[chosen] = True
    return mask


def cumulative_round(shares: float, sizes: np.ndarray) -> np.ndarray:
    """Per part, its share of ``sizes`` rounded so the running totals (and so the total) are the
    rounded running shares: the parts sum to ``round(share * sizes.sum())``."""
    running = np.rint(shares * np.cumsum(sizes)).astype(np.int64)
    return np.diff(running, prepend=0)


# --- the regions -------------------------------------------------------------------------------


@dataclass
class Region:
    """One made-up kabupaten: its box on the map and everything in it (local km from the box's SW corner)."""

    index: int  # 0-based; the code is R01 ..
    code: str
    n_tps: int
    width_km: float
    height_km: float
    lat0: float = 0.0  # the box's south edge [deg]
    lon0: float = 0.0  # the box's west edge [deg]
    km_per_deg_lon: float = KM_PER_DEG_LAT
    kec_tps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    kec_names: list[str] = field(default_factory=list)
    main_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # main village per kecamatan
    capital: int = 0  # kecamatan index of the capital
    hard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    river: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    polsek_groups: list[list[int]] = field(default_factory=list)  # kecamatan of each Polsek, first = home
    polres_xy: tuple[float, float] = (0.0, 0.0)
    kodim_xy: tuple[float, float] = (0.0, 0.0)

    def to_latlon(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local km (east, north) as degrees [lat, lon]."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        return self.lat0 + xy[:, 1] / KM_PER_DEG_LAT, self.lon0 + xy[:, 0] / self.km_per_deg_lon


def layout(regions: list[Region]) -> None:
    """Pack the region boxes in rows, largest first, around ``CENTRE``; sets each box's corner in degrees.

    Next-fit decreasing height: a row is filled left to right until the next box would make it wider
    than its limit. The limit shrinks with the cosine of the row's latitude (estimated from a perfect
    packing), so that every row spans about the same degrees of longitude and a big layout stays
    clear of the 180th meridian. A row converts km to degrees at its own middle latitude.
    """
    area = sum((r.width_km + GAP_KM) * (r.height_km + GAP_KM) for r in regions)
    row_km = max(max(r.width_km for r in regions), ROW_WIDTH * math.sqrt(area))
    cos_centre = math.cos(math.radians(CENTRE[0]))
    rows: list[list[Region]] = []
    y = -area / row_km / 2  # the south edge of a perfect packing, to estimate each row's latitude
    i = 0
    while i < len(regions):
        h = regions[i].height_km  # the tallest left: the boxes come sorted by size
        mid = CENTRE[0] + (y + h / 2) / KM_PER_DEG_LAT
        limit = row_km * max(0.5, math.cos(math.radians(mid))) / cos_centre
        row: list[Region] = []
        x = 0.0
        while i < len(regions) and (not row or x + regions[i].width_km <= limit):
            row.append(regions[i])
            x += regions[i].width_km + GAP_KM
            i += 1
        rows.append(row)
        y += h + GAP_KM
    heights = [max(r.height_km for r in row) for row in rows]
    total_km = sum(heights) + GAP_KM * (len(rows) - 1)
    y = -total_km / 2
    for row, h in zip(rows, heights, strict=True):
        lat_south = CENTRE[0] + y / KM_PER_DEG_LAT
        mid = lat_south + h / 2 / KM_PER_DEG_LAT
        per_deg = KM_PER_DEG_LAT * math.cos(math.radians(mid))
        width = sum(r.width_km for r in row) + GAP_KM * (len(row) - 1)
        x = -width / 2
        for r in row:
            r.lat0 = lat_south + (h - r.height_km) / 2 / KM_PER_DEG_LAT  # centred in its row
            r.lon0 = CENTRE[1] + x / per_deg
            r.km_per_deg_lon = per_deg
            x += r.width_km + GAP_KM
        y += h + GAP_KM


def serpentine_cells(k: int, width: float, height: float) -> tuple[np.ndarray, float, float]:
    """Middles [km] of ``k`` grid cells tiling a box, numbered row by row, every other row
    backwards (so cell i and i + 1 touch); and the cell's width and height."""
    cols = max(1, min(k, round(math.sqrt(k * width / height))))
    rows = math.ceil(k / cols)
    cw, ch = width / cols, height / rows
    i = np.arange(k)
    row, col = i // cols, i % cols
    col = np.where(row % 2 == 1, cols - 1 - col, col)
    return np.column_stack([(col + 0.5) * cw, (row + 0.5) * ch]), cw, ch


def polsek_groups(rng: np.random.Generator, k: int) -> list[list[int]]:
    """Runs of 1 to 3 neighbouring kecamatan (in cell order), about ``KECAMATAN_PER_POLSEK`` each."""
    p = min(k, max(math.ceil(k / MAX_KECAMATAN_PER_POLSEK), round(k / KECAMATAN_PER_POLSEK)))
    extra_slots = p * (MAX_KECAMATAN_PER_POLSEK - 1)
    chosen = rng.choice(extra_slots, size=k - p, replace=False) if k > p else np.zeros(0, dtype=np.int64)
    sizes = 1 + np.bincount(chosen // (MAX_KECAMATAN_PER_POLSEK - 1), minlength=p)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [list(range(int(s), int(s + n))) for s, n in zip(starts, sizes, strict=True)]


@dataclass
class TpsArrays:
    """The TPS of all regions, in table order, with what the flags and classes are drawn from."""

    region: list[np.ndarray] = field(default_factory=list)
    kec: list[np.ndarray] = field(default_factory=list)  # kecamatan index within the region
    desa: list[np.ndarray] = field(default_factory=list)  # desa number within the kecamatan (1 ..)
    number: list[np.ndarray] = field(default_factory=list)  # TPS number within the desa (1 ..)
    xy: list[np.ndarray] = field(default_factory=list)  # local km
    voters: list[np.ndarray] = field(default_factory=list)
    khusus_voters: list[np.ndarray] = field(default_factory=list)

    def cat(self, name: str) -> np.ndarray:
        return np.concatenate(getattr(self, name))


def build_region(r: Region, rng: dict[str, np.random.Generator], out: TpsArrays) -> None:
    """Kecamatan, desa, TPS and posts of one region (steps 3 to 5 of the module docstring)."""
    k = max(1, min(r.n_tps, round(r.n_tps / TPS_PER_KECAMATAN)))
    g = rng["kecamatan"]
    counts = split_counts(g, r.n_tps, k, KECAMATAN_SPREAD)
    r.kec_tps = counts[g.permutation(k)]  # the big ones anywhere in the box
    r.capital = int(np.argmax(r.kec_tps))
    width = len(str(k)) if k >= 100 else 2
    r.kec_names = [f"{r.code} Kec {i + 1:0{width}d}" for i in range(k)]
    river = np.zeros(k, dtype=bool)
    river[g.choice(k, size=round(RIVER_SHARE * k), replace=False)] = True
    r.river = river
    groups = polsek_groups(g, k)

    cells, cw, ch = serpentine_cells(k, r.width_km, r.height_km)
    d = rng["desa"]
    n_desa = np.minimum(r.kec_tps, 1 + d.poisson(DESA_PER_KECAMATAN - 1, size=k))
    main = cells + d.uniform(-MAIN_VILLAGE_OFFSET, MAIN_VILLAGE_OFFSET, size=(k, 2)) * (cw, ch)
    r.main_xy = main
    kec_of, desa_no, number, xy = [], [], [], []
    for i in range(k):
        n = int(n_desa[i])
        points = np.vstack([main[i], cells[i] + d.uniform(-DESA_SPREAD, DESA_SPREAD, size=(n - 1, 2)) * (cw, ch)])
        weights = np.ones(n)
        weights[0] = MAIN_VILLAGE_WEIGHT
        per_desa = 1 + d.multinomial(int(r.kec_tps[i]) - n, weights / weights.sum())
        kec_of.append(np.full(int(r.kec_tps[i]), i))
        desa_no.append(np.repeat(np.arange(1, n + 1), per_desa))
        number.append(np.concatenate([np.arange(1, c + 1) for c in per_desa]))
        xy.append(np.repeat(points, per_desa, axis=0))
        if i == r.capital:  # the Polres a desa away from the main village, the Kodim another (as in Kutim)
            r.polres_xy = tuple(points[min(1, n - 1)])
            r.kodim_xy = tuple(points[min(2, n - 1)])
    tps_xy = np.concatenate(xy)
    dx, dy = rng["jitter"].normal(0.0, JITTER_SD_KM, size=(2, r.n_tps))
    length = np.hypot(dx, dy)
    scale = np.where(length > JITTER_MAX_KM, JITTER_MAX_KM / np.maximum(length, 1e-12), 1.0)
    tps_xy = tps_xy + np.column_stack([dx * scale, dy * scale])
    tps_xy = np.clip(tps_xy, 0.0, (r.width_km, r.height_km))  # inside the box: regions never overlap
    v = rng["voters"]
    voters = MEAN_VOTERS * np.exp(v.normal(-(VOTER_SPREAD**2) / 2, VOTER_SPREAD, size=r.n_tps))
    khusus = KHUSUS_VOTERS * np.exp(v.normal(-(VOTER_SPREAD**2) / 2, VOTER_SPREAD, size=r.n_tps))

    # the Polsek: home is the group's largest kecamatan (the capital where it is in the group)
    r.polsek_groups = []
    for grp in groups:
        home = r.capital if r.capital in grp else max(grp, key=lambda i: (int(r.kec_tps[i]), -i))
        r.polsek_groups.append([home, *(i for i in grp if i != home)])
    far = np.hypot(*(main - np.asarray(r.polres_xy)).T)
    hard = np.zeros(k, dtype=bool)
    hard[np.lexsort((np.arange(k), -far))[: round(HARD_TO_REACH_SHARE * k)]] = True
    r.hard = hard

    out.region.append(np.full(r.n_tps, r.index))
    out.kec.append(np.concatenate(kec_of))
    out.desa.append(np.concatenate(desa_no))
    out.number.append(np.concatenate(number))
    out.xy.append(tps_xy)
    out.voters.append(np.clip(np.rint(voters), 1, MAX_VOTERS).astype(np.int64))
    out.khusus_voters.append(np.clip(np.rint(khusus), 1, MAX_VOTERS).astype(np.int64))


def polsek_xy(r: Region) -> np.ndarray:
    """Position [km] of every Polsek of a region: its home kecamatan's main village."""
    return np.asarray([r.main_xy[grp[0]] for grp in r.polsek_groups]).reshape(-1, 2)


# --- flags and classes -------------------------------------------------------------------------


def assign_flags(regions: list[Region], t: TpsArrays, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Step 6: exact counts of each flag over all TPS, weighted as in Kutim."""
    region, kec, xy = t.cat("region"), t.cat("kec"), t.cat("xy")
    offset = np.cumsum([0, *(len(r.kec_tps) for r in regions)])[:-1]
    main = np.concatenate([r.main_xy for r in regions])
    gk = offset[region] + kec  # kecamatan index over all regions
    km_town = np.hypot(*(xy - main[gk]).T)
    capital = np.concatenate([np.arange(len(r.kec_tps)) == r.capital for r in regions])[gk]
    hard = np.concatenate([r.hard for r in regions])[gk]
    river = np.concatenate([r.river for r in regions])[gk]
    remote = (1.0 + km_town) ** REMOTENESS_POWER * ~capital
    n = len(region)
    flags = {"blank_spot": weighted_pick(rng, remote, round(FLAG_SHARES["blank_spot"] * n))}
    hard_w = remote * np.where(hard, HARD_TO_REACH_FACTOR, 1.0)
    flags["hard_to_reach"] = weighted_pick(rng, hard_w, round(FLAG_SHARES["hard_to_reach"] * n))
    flags["disaster_prone"] = weighted_pick(rng, river.astype(float), round(FLAG_SHARES["disaster_prone"] * n))
    return flags


def assign_classes(
    regions: list[Region], t: TpsArrays, flags: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Step 7: Kutim's class split in every region (class index into TPS_CLASSES per TPS).

    Per region, in this order: khusus (the capital's TPS first), sangat_rawan (TPS within
    ``URBAN_KM`` of the Polres first, the most voters first), rawan (flagged TPS first, then the
    farthest from their Polsek or the Polres); a TPS keeps the first class it is given.
    """
    region, kec, xy, voters = t.cat("region"), t.cat("kec"), t.cat("xy"), t.cat("voters")
    sizes = np.asarray([r.n_tps for r in regions])
    per_region = {c: cumulative_round(s, sizes) for c, s in CLASS_SHARES.items()}
    cls = np.zeros(len(region), dtype=np.int64)  # kurang_rawan
    flagged = flags["blank_spot"] | flags["hard_to_reach"]
    for r in regions:
        rows = np.flatnonzero(region == r.index)
        u = rng.random(len(rows))  # breaks ties (many TPS sit at the 600 cap)
        km_polres = np.hypot(*(xy[rows] - np.asarray(r.polres_xy)).T)
        home = np.empty(len(r.kec_tps), dtype=np.int64)
        for p, grp in enumerate(r.polsek_groups):
            home[grp] = p
        km_post = np.minimum(km_polres, np.hypot(*(xy[rows] - polsek_xy(r)[home[kec[rows]]]).T))
        orders = {
            "khusus": np.lexsort((u, kec[rows] != r.capital)),
            "sangat_rawan": np.lexsort((u, -voters[rows], km_polres > URBAN_KM)),
            "rawan": np.lexsort((u, -km_post, ~flagged[rows])),
        }
        free = np.ones(len(rows), dtype=bool)
        for name, order in orders.items():
            chosen = order[free[order]][: int(per_region[name][r.index])]
            cls[rows[chosen]] = TPS_CLASSES.index(name)
            free[chosen] = False
    return cls


# --- the scenario ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synthetic:
    """A generated scenario in memory: the YAML text, the TPS table and the counts."""

    yaml_text: str
    tps: pd.DataFrame
    csv_text: str
    regions: list[Region]
    n_sites: int


def generate(tps: int, regions: int, seed: int, name: str, template: Template | None = None) -> Synthetic:
    """The synthetic scenario ``name`` (checked arguments; see :func:`check_arguments`)."""
    tpl = kutim_template() if template is None else template
    streams = np.random.SeedSequence(seed).spawn(len(STREAMS))
    rng = {s: np.random.default_rng(q) for s, q in zip(STREAMS, streams, strict=True)}
    sizes = np.sort(split_counts(rng["regions"], tps, regions, REGION_SPREAD))[::-1]
    width = max(2, len(str(regions)))
    regs = []
    for i, n in enumerate(sizes):
        s = math.sqrt(int(n) / KUTIM_TPS)
        w, h = (max(BOX_MIN_KM, side * s) for side in BOX_KM)
        regs.append(Region(i, f"R{i + 1:0{width}d}", int(n), w, h))
    layout(regs)
    arrays = TpsArrays()
    for r in regs:
        build_region(r, rng, arrays)
    flags = assign_flags(regs, arrays, rng["flags"])
    classes = assign_classes(regs, arrays, flags, rng["classes"])
    table = tps_table(regs, arrays, flags, classes)
    assert table["lat"].abs().max() < 85 and table["lon"].abs().max() < 180, "the layout left the map"
    n_sites = len(table) + sum(len(r.kec_tps) for r in regs) + 1 + sum(2 + len(r.polsek_groups) for r in regs)
    text = scenario_yaml(tpl, regs, table, name, tps, regions, seed)
    return Synthetic(text, table, csv_text(table), regs, n_sites)


def tps_table(regs: list[Region], t: TpsArrays, flags: dict[str, np.ndarray], classes: np.ndarray) -> pd.DataFrame:
    """The TPS table in the columns of ``sites.tps_file``, in table order."""
    region, kec, desa, number = t.cat("region"), t.cat("kec"), t.cat("desa"), t.cat("number")
    xy = t.cat("xy")
    lat, lon = np.empty(len(region)), np.empty(len(region))
    for r in regs:
        rows = region == r.index
        lat[rows], lon[rows] = r.to_latlon(xy[rows])
    wk = max(2, len(str(max(len(r.kec_tps) for r in regs))))
    wd, wn = max(2, len(str(int(desa.max())))), max(3, len(str(int(number.max()))))
    names = [r.kec_names for r in regs]
    codes = [r.code for r in regs]
    khusus = classes == TPS_CLASSES.index("khusus")
    voters = np.where(khusus, t.cat("khusus_voters"), t.cat("voters"))
    rows = zip(region.tolist(), kec.tolist(), desa.tolist(), number.tolist(), strict=True)
    ids, kec_col, desa_col = [], [], []
    for ri, ki, di, ni in rows:
        ids.append(f"{codes[ri]}-{ki + 1:0{wk}d}-{di:0{wd}d}-{ni:0{wn}d}")
        kec_col.append(names[ri][ki])
        desa_col.append(f"Desa {ki + 1:0{wk}d}.{di:0{wd}d}")
    table = pd.DataFrame(
        {
            "tps_id": ids,
            "kecamatan": kec_col,
            "desa": desa_col,
            "lat": np.round(lat, 5),
            "lon": np.round(lon, 5),
            "voters": voters,
            "class": np.asarray(TPS_CLASSES)[classes],
            **{f: flags[f].astype(np.int64) for f in FLAGS},
        }
    )
    assert table["tps_id"].is_unique
    return table


def csv_text(table: pd.DataFrame) -> str:
    """The table as CSV text: fixed 5 decimals for positions, ``\\n`` line ends."""
    cols = [table[c].tolist() for c in COLUMNS]
    lines = [",".join(COLUMNS)]
    for tid, kec, desa, lat, lon, voters, cls, b, h, d in zip(*cols, strict=True):
        lines.append(f"{tid},{kec},{desa},{lat:.5f},{lon:.5f},{voters},{cls},{b},{h},{d}")
    return "\n".join(lines) + "\n"


def _pos(lat: float, lon: float) -> str:
    return f"[{lat:.5f}, {lon:.5f}]"


def _dump(key: str, value: Any) -> list[str]:
    """A block copied from Kutim's file as YAML lines (mappings of scalars on one line)."""
    flow = None if isinstance(value, dict | list) else False  # a lone scalar stays `key: value`
    text = yaml.safe_dump(
        {key: value}, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=1000, indent=2
    )
    return text.rstrip("\n").split("\n")


def _flow(items: dict[str, Any]) -> str:
    """A one-line mapping of plain scalars and lists, as the Kutim file writes its list items."""
    parts = []
    for key, value in items.items():
        if isinstance(value, list):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        parts.append(f"{key}: {value}")
    return "{" + ", ".join(parts) + "}"


def _units(template_units: int, n_tps: int, least: int) -> int:
    """A Kutim unit count scaled to a region's TPS, at least ``least``."""
    return max(least, round(template_units * n_tps / KUTIM_TPS))


def _chunks(units: int) -> list[int]:
    """``units`` as unit groups of at most ``MAX_PER_SITE`` (the schema's most in one group)."""
    return [min(MAX_PER_SITE, units - start) for start in range(0, units, MAX_PER_SITE)]


def _groups_by_kind(groups: list[dict[str, Any]], default_kind: str) -> list[tuple[str, int, int, str]]:
    """Kutim's unit groups summed per (kind, crew, mode), in the order they first appear."""
    total: dict[tuple[str, int, str], int] = {}
    for g in groups:
        key = (str(g.get("kind", default_kind)), int(g.get("crew", 2)), str(g.get("mode", "road")))
        total[key] = total.get(key, 0) + int(g.get("units", 1))
    return [(kind, units, crew, mode) for (kind, crew, mode), units in total.items()]


def plan_block(tpl: Template, regs: list[Region]) -> dict[str, Any]:
    """Plan ``pemilu2024`` for the regions: Kutim's rules, its unit groups scaled per region."""
    p = tpl.plan
    patrol = (p.get("patrols") or [{}])[0]
    reserve = _groups_by_kind(p.get("reserve", []), "polri")
    tni = _groups_by_kind(p.get("tni_backup", []), "tni")
    patrols, reserves, backups = [], [], []
    for r in regs:
        for j in range(len(r.polsek_groups)):
            patrols.append(
                {
                    "post": f"polsek-{r.code.lower()}-{j + 1:02d}",
                    "units": patrol.get("units", 1),
                    "crew": patrol.get("crew", 2),
                }
            )
        for i, (kind, units, crew, mode) in enumerate(reserve):
            for n in _chunks(_units(units, r.n_tps, 1 if i == 0 else 0)):
                g = {"post": f"polres-{r.code.lower()}", "units": n, "crew": crew}
                reserves.append(
                    g | ({"kind": kind} if kind != "polri" else {}) | ({"mode": mode} if mode != "road" else {})
                )
        for kind, units, crew, mode in tni:
            for n in _chunks(_units(units, r.n_tps, 1)):
                g = {"post": f"kodim-{r.code.lower()}", "units": n, "crew": crew, "kind": kind}
                backups.append(g | ({"mode": mode} if mode != "road" else {}))
    plan: dict[str, Any] = {
        "description": (
            "[E] The Kutim pemilu2024 pola pengamanan in every region (its guard rules, Linmas, PPK guards "
            "and escort as written there); one patrol per Polsek; a reserve at every Polres and TNI backup "
            "at every Kodim, Kutim's units scaled to the region's TPS."
        ),
        "tps_guards": p["tps_guards"],
    }
    for key in ("linmas_per_tps", "linmas_kind"):
        if key in p:
            plan[key] = p[key]
    plan |= {"patrols": patrols, "reserve": reserves, "tni_backup": backups}
    for key in ("ppk_guards", "escort"):
        if key in p:
            plan[key] = p[key]
    return plan


def scenario_yaml(
    tpl: Template, regs: list[Region], table: pd.DataFrame, name: str, n_tps: int, n_regions: int, seed: int
) -> str:
    """The scenario file's text: header comments, sites, forces, plan, then Kutim's blocks."""
    raw = tpl.raw
    plan = plan_block(tpl, regs)
    n_kec = sum(len(r.kec_tps) for r in regs)
    n_polsek = sum(len(r.polsek_groups) for r in regs)
    spec_plan = Plan.model_validate(plan)
    need = personnel_use(spec_plan, table, n_kec + 1)
    forces = {}
    for kind in tpl.forces:  # Kutim's order
        want = need.get(kind, 0)
        have, used = tpl.forces[kind], tpl.need.get(kind, 0)
        forces[kind] = -(-want * have // used) if used else want  # ceil(want x have / used)
    for kind in need:
        forces.setdefault(kind, need[kind])
    counts = {c: int((table["class"] == c).sum()) for c in TPS_CLASSES}
    flag_counts = {f: int(table[f].sum()) for f in FLAGS}
    kpu_region = regs[0]
    kpu_lat, kpu_lon = kpu_region.to_latlon(np.asarray(kpu_region.polres_xy))
    command = f"{COMMAND} --tps {n_tps} --regions {n_regions} --seed {seed} --name {name} --out DIR"
    lat_all, lon_all = table["lat"], table["lon"]

    L: list[str] = [
        f"# {name}: a SYNTHETIC scenario, {n_tps:,} TPS in {n_regions:,} made-up kabupaten (regions "
        f"{regs[0].code}-{regs[-1].code}).",
        "#",
        "# [E] synthetic: every number in this file and its TPS table is an estimate made by sim/synth.py,",
        "# modelled on Kutai Timur (scenarios/kutim-2024.yaml: 701 TPS, 18 kecamatan, 141 desa, 10 Polsek,",
        "# one Polres; its TPS table from scenarios/kutim-2024/make_tps.py). No place, name, post or figure",
        "# here describes a real kabupaten. The time line, travel defaults, incident types and rates,",
        "# dispatch, default targets and the pemilu2024 pola pengamanan are copied as values from the Kutim",
        "# file (see the [S]/[E] mark of each there); the rest follows the steps in sim/synth.py's docstring.",
        "#",
        f"# Made by: {command}",
        "# (DIR: any new or empty folder; the files do not depend on it). Same arguments, same bytes.",
        "",
        f"name: {name}",
        f'title: "Sintetis {name}: {n_regions:,} kabupaten rekaan, model Kutai Timur"',
        "description: >-",
        f"  [E] Synthetic: {n_tps:,} TPS in {n_kec:,} kecamatan of {n_regions:,} made-up kabupaten, each with",
        f"  its Polres, Polsek and Kodim, laid out side by side (lat {lat_all.min():.2f} to {lat_all.max():.2f},",
        f"  lon {lon_all.min():.2f} to {lon_all.max():.2f}). Built from Kutai Timur's building blocks by",
        "  sim/synth.py; for scale and performance work, not for any real plan.",
    ]
    for key in ("timezone", "election_day", "epoch", "horizon"):
        if key in raw:
            L += [line + "  # [E] as Kutim" if i == 0 else line for i, line in enumerate(_dump(key, raw[key]))]
    L += [
        f"seed: {seed}  # [E] the generator's seed",
        f"replications: {REPLICATIONS}  # [E] the schema's default",
        "",
        "sites:",
        f"  # [E] generated: {counts['kurang_rawan']:,} kurang_rawan, {counts['rawan']:,} rawan, "
        f"{counts['sangat_rawan']:,} sangat_rawan, {counts['khusus']:,} khusus (Kutim's 477/212/10/2 of 701);",
        f"  # flags {', '.join(f'{f} {c:,}' for f, c in flag_counts.items())}; voters {int(table['voters'].sum()):,}",
        f"  tps_file: {name}_tps.csv",
        "  # [E] one PPK venue per kecamatan, at its main village",
        "  ppk:",
    ]
    for r in regs:
        lat, lon = r.to_latlon(r.main_xy)
        L.append(
            f"    # {r.code}: {r.n_tps:,} TPS in {len(r.kec_tps)} kecamatan, {len(r.polsek_groups)} Polsek; "
            f"capital {r.kec_names[r.capital]}"
        )
        for i, kec in enumerate(r.kec_names):
            L.append(f"    - {_flow({'kecamatan': kec, 'name': f'PPK {kec}', 'position': _pos(lat[i], lon[i])})}")
    L += [
        f"  # [E] the one KPU office of the scenario (the schema has one), at the Polres of {kpu_region.code}",
        "  kpu: "
        + _flow(
            {
                "kecamatan": kpu_region.kec_names[kpu_region.capital],
                "name": f"KPU {kpu_region.code}",
                "position": _pos(float(kpu_lat[0]), float(kpu_lon[0])),
            }
        ),
        "  # [E] per region: the Polres and the Kodim in the capital, a desa apart; Polsek at the main village",
        "  # of the largest kecamatan they cover (1 to 3 neighbours, as Kutim's 10 Polsek for 18 kecamatan)",
        "  posts:",
    ]
    for r in regs:
        cap = r.kec_names[r.capital]
        lat, lon = r.to_latlon(np.asarray([r.polres_xy, r.kodim_xy]))
        code = r.code.lower()
        L.append(
            "    - "
            + _flow(
                {
                    "id": f"polres-{code}",
                    "name": f"Polres {r.code} (Mako)",
                    "kind": "polres",
                    "kecamatan": cap,
                    "position": _pos(lat[0], lon[0]),
                    "covers": [],
                }
            )
        )
        plat, plon = r.to_latlon(polsek_xy(r))
        for j, grp in enumerate(r.polsek_groups):
            L.append(
                "    - "
                + _flow(
                    {
                        "id": f"polsek-{code}-{j + 1:02d}",
                        "name": f"Polsek {r.kec_names[grp[0]]}",
                        "kind": "polsek",
                        "kecamatan": r.kec_names[grp[0]],
                        "position": _pos(plat[j], plon[j]),
                        "covers": [r.kec_names[i] for i in sorted(grp)],
                    }
                )
            )
        L.append(
            "    - "
            + _flow(
                {
                    "id": f"kodim-{code}",
                    "name": f"Kodim {r.code}",
                    "kind": "tni",
                    "kecamatan": cap,
                    "position": _pos(lat[1], lon[1]),
                    "covers": [],
                }
            )
        )
    travel = {k: v for k, v in raw.get("travel", {}).items() if k not in ("access", "matrix_file")}
    L += ["", "# [E] as Kutim's travel defaults; no kecamatan is reached by water here", *_dump("travel", travel)]
    ratio = ", ".join(f"{k} {tpl.forces[k]}/{tpl.need.get(k, 0)}" for k in tpl.forces)
    L += [
        "",
        f"# [E] what plan pemilu2024 needs, times Kutim's forces / that plan's need there ({ratio}), rounded up",
        "forces:",
        *(f"  {kind}: {n}  # [E] the plan needs {need.get(kind, 0)}" for kind, n in forces.items()),
        "",
        "plans:",
        f"  {KUTIM_PLAN}:",
    ]
    L += ["    " + line for line in _plan_lines(plan)]
    L += ["", "# [E] as Kutim's (values copied)", *_dump("phases", raw["phases"])]
    L += [
        "",
        "# [E] copied as values from scenarios/kutim-2024.yaml (see the [S]/[E] basis of every rate there):",
        "# rates are per site-hour, so a region's incidents grow with its TPS",
        *_dump("incidents", raw["incidents"]),
    ]
    if "dispatch" in raw:
        L += ["", "# [E] as Kutim's", *_dump("dispatch", raw["dispatch"])]
    default = raw.get("targets", {}).get("default_min", 60)
    L += [
        "",
        "# [E] Kutim's default targets; one group per region (its kecamatan), so every Polres is judged on its own",
        "targets:",
        *("  " + line for line in _dump("default_min", default)),
        "  groups:",
    ]
    for r in regs:
        L.append(f"    - {_flow({'name': r.code, 'kecamatan': r.kec_names, 'target_min': _flow_target(default)})}")
    L += ["", "# [E] each made-up kabupaten is a region: its own dispatch area (no post serves another)", "regions:"]
    for r in regs:
        L.append(f"  - {_flow({'id': r.code, 'name': f'Kabupaten {r.code}', 'kecamatan': r.kec_names})}")
    L += [
        "",
        "assumptions:",
        *("  - " + _flow_text(a) for a in _assumptions(n_tps, n_regions, n_kec, n_polsek)),
        "",
        "sources:",
        (
            '  kutim-2024: "scenarios/kutim-2024.yaml: the model for every figure here, and where the copied blocks '
            'come from"'
        ),
        '  synth: "sim/synth.py: how the regions, kecamatan, TPS, posts, forces and plan are made"',
    ]
    return "\n".join(L) + "\n"


def _flow_target(target: Any) -> str:
    if isinstance(target, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in target.items()) + "}"
    return str(target)


def _plan_lines(plan: dict[str, Any]) -> list[str]:
    """The plan as YAML lines: unit groups one per line, the rest as dumped."""
    lines: list[str] = []
    for key, value in plan.items():
        if key in ("patrols", "reserve", "tni_backup"):
            lines.append(f"{key}:" if value else f"{key}: []")
            lines += [f"  - {_flow(g)}" for g in value]
        else:
            lines += _dump(key, value)
    return lines


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow_text(a: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {_quote(v)}" for k, v in a.items()) + "}"


def _assumptions(n_tps: int, n_regions: int, n_kec: int, n_polsek: int) -> list[dict[str, str]]:
    return [
        {
            "text": f"Synthetic: {n_tps:,} TPS, {n_kec:,} kecamatan, {n_polsek:,} Polsek in {n_regions:,} made-up "
            "kabupaten; no place or figure is real",
            "text_id": f"Sintetis: {n_tps:,} TPS, {n_kec:,} kecamatan, {n_polsek:,} Polsek di {n_regions:,} "
            "kabupaten rekaan; tidak ada tempat atau angka yang nyata",
            "basis": "estimated",
            "source": "synth",
        },
        {
            "text": "Each region is modelled on Kutai Timur: its area per TPS, about 39 TPS per kecamatan, "
            "1.8 kecamatan per Polsek, its class split (477/212/10/2 of 701) and flag shares",
            "text_id": "Setiap kabupaten meniru Kutai Timur: luas per TPS, sekitar 39 TPS per kecamatan, "
            "1,8 kecamatan per Polsek, pembagian kelas (477/212/10/2 dari 701) dan bagian flag",
            "basis": "estimated",
            "source": "synth",
        },
        {
            "text": "Incident types and rates, phases, travel, dispatch and the pola pengamanan copied from the "
            "Kutim scenario",
            "text_id": "Jenis dan laju kejadian, tahapan, perjalanan, dispatch dan pola pengamanan disalin dari "
            "skenario Kutim",
            "basis": "estimated",
            "source": "kutim-2024",
        },
    ]


# --- writing -------------------------------------------------------------------------------------


def limit_notes(n_tps: int, n_sites: int, n_posts: int, yaml_bytes: int) -> tuple[str, ...]:
    """What the files are too big for today (the loader's and the world's limits), as notes for the
    line; ``n_posts``: the posts whose legs a run holds at once."""
    notes = []
    if n_tps > MAX_TPS:
        notes.append(f"note: a scenario may hold at most {MAX_TPS:,} TPS, so validate and run refuse this one")
    elif world_bytes(n_sites, n_posts) > MAX_WORLD_BYTES:
        notes.append(
            f"note: the travel legs of its {n_posts:,} posts to {n_sites:,} sites are more than one world "
            "can keep, so validate and run refuse it"
        )
    if yaml_bytes > MAX_YAML_BYTES:
        notes.append(f"note: the YAML is above the {MAX_YAML_BYTES / 1e6:g} MB a scenario file may have")
    return tuple(notes)


def write_synthetic(tps: int, regions: int, seed: int, out: Path, name: str | None = None) -> SynthResult:
    """Check the arguments, generate, and write ``out/<name>.yaml`` and ``out/<name>_tps.csv``
    (each written to a temporary name first, so a crash leaves no half file under the real name)."""
    out = Path(out)
    name = check_arguments(tps, regions, seed, out, name)
    syn = generate(tps, regions, seed, name)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = [(out / f"{name}_tps.csv", syn.csv_text), (out / f"{name}.yaml", syn.yaml_text)]
        for path, text in paths:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8", newline="\n")
            tmp.replace(path)
    except OSError as exc:
        raise UserError("--out", None, f"cannot write to '{out}' ({exc.strerror or exc.__class__.__name__})") from None
    # Each region is a dispatch area, run area by area: the legs of the largest area's posts (Polres,
    # Kodim, Polsek) are what a run holds at once (sim.world.check_world counts the same)
    held = max(2 + len(r.polsek_groups) for r in syn.regions)
    notes = limit_notes(len(syn.tps), syn.n_sites, held, len(syn.yaml_text.encode("utf-8")))
    return SynthResult(
        out / f"{name}.yaml",
        out / f"{name}_tps.csv",
        len(syn.tps),
        len(syn.regions),
        sum(len(r.kec_tps) for r in syn.regions),
        len(syn.regions),
        sum(len(r.polsek_groups) for r in syn.regions),
        len(syn.regions),
        notes,
    )
