"""Generate the TPS table of the Kutim 2024 scenario: ``scenarios/kutim-2024/tps.csv``.

Why it is generated: the positions of Kutai Timur's 701 TPS, and the police split into kurang_rawan /
rawan / sangat_rawan, are not public (FACTS.md §8 "Gaps"). This script builds a plausible table
from the two reference tables in ``reference/`` and from the assumptions below. Every number is a
named constant marked [S] (sourced, with URL) or [E] (estimate, with the reasoning). Same seed, same
bytes: run it twice and ``cmp`` the outputs.

    .venv/bin/python scenarios/kutim-2024/make_tps.py            # default seed -> tps.csv
    .venv/bin/python scenarios/kutim-2024/make_tps.py --seed 7 --out /tmp/tps.csv
    .venv/bin/python scenarios/kutim-2024/make_tps.py --sites    # PPK venues and posts, to mirror in the YAML

Steps, in order (one named random stream per step, so changing one step leaves the others alone):

1. TPS and voters per kecamatan: ``EST_tps2024`` and ``EST_dpt2024`` of ``kecamatan.csv`` (the 2020 DPS
   shares scaled to the sourced 701 TPS and 297,994 voters; the script asserts both totals).
2. TPS to desa: every desa gets one TPS, the rest are drawn at random with weight
   ``MAIN_VILLAGE_WEIGHT`` for the kecamatan's main village and 1 for the others. Desa populations are
   not in the reference tables, so equal weights are the honest default; the main village is larger.
3. Position: the desa point plus a Gaussian jitter (``JITTER_SD_KM`` per axis, cut at ``JITTER_MAX_KM``),
   so TPS of one desa do not sit on one point.
4. Voters: each kecamatan's voters are split over its regular TPS with lognormal weights
   (``VOTER_SPREAD``), capped at ``MAX_VOTERS_PER_TPS``, rounded by largest remainder: the sum is exact.
5. TPS khusus: ``KHUSUS_TPS`` TPS with ``KHUSUS_VOTERS`` voters in Sangatta Utara.
6. Flags blank_spot / hard_to_reach / disaster_prone: an exact number of TPS per flag, drawn without
   replacement with weights that grow with the distance from the nearest kecamatan town (see below).
7. Classes: khusus (step 5), then sangat_rawan, then rawan, the rest kurang_rawan (rules below).

Main village ("town") of a kecamatan, used for the PPK venue, the Polsek post and the flags. The
kecamatan capitals are not sourced (FACTS §4 [C]), so a fixed rule picks one desa point: the kelurahan
if the kecamatan has one (kelurahan are the urban cores); else the desa named like the kecamatan;
else, among desa whose name starts with the kecamatan's name, the one nearest the mean of the
kecamatan's desa points; else the desa nearest that mean. ``--sites`` prints the choice.

Polsek posts: Polres Kutim has 10 Polsek for 18 kecamatan [S detik 2025]; only Polsek Muara Wahau and
Polsek Sangatta Utara are named in sources, the latter having covered Rantau Pulung, Sangatta Selatan
and Teluk Pandan [S suarakutim]. All other names, home kecamatan and coverage in ``POLSEK`` are [E]:
neighbouring kecamatan grouped along the roads, at most 3 per Polsek (detik: "some cover 2-3"),
Teluk Pandan and Kongbeng on their own (their Polsubsektor were proposed for upgrade [S bontangpost]).
Each Polsek sits at the main village of its home kecamatan. ``scenarios/kutim-2024.yaml`` mirrors
``POLSEK``; keep the two in step (``--sites`` prints the YAML block).

Class rules and the personnel budget:

* sangat_rawan (~1.4 %): ``SIDRAP_TPS`` TPS in desa Martadinata, Teluk Pandan, for the Kampung Sidrap
  double-voter risk on the Bontang border [S 2020, pro.kutaitimurkab]; plus the ``URBAN_SANGAT_RAWAN``
  largest TPS of Sangatta town (within ``URBAN_KM`` of Polres HQ); Polres Kubar used "TPS in town with
  a very high population" as its sangat rawan indicator [S prokal Kubar].
* rawan: a TPS in a kecamatan rated rawan for distance in 2020 (Busang, Long Mesangat, Sandaran [S]),
  or flagged blank_spot or hard_to_reach, or more than ``RAWAN_KM`` straight-line km from its Polsek
  (or Polres HQ). This lands near 30 % (212 TPS with the default seed). FACTS §7 suggests 30-50 % for
  a remote Kalimantan style, but the Kutim Pemilu 2024 pola (sangat rawan 4 per TPS, rawan 1 per TPS,
  kurang rawan 1 per 8 TPS) must fit in 413 Polri together with the 40-strong reserve and a patrol
  car per Polsek (20): above about 250 rawan TPS (36 %) it no longer fits. The Kapolres's "500
  lokasi rawan" [S beritakutim] cannot mean 500 rawan TPS guarded 1:1, which alone would need 500 of
  the 413 Polri; we read it as locations on the watch list (TPS, PPK, roads, warehouses), not as the
  TPS class split. A report of the same meeting [S selasar.co, 30 Oct 2024] says each TPS in a rawan
  area gets "at least two personnel" and names "171 TPS" (likely a typo for 701); two Polri per
  rawan TPS would not fit either, unless Linmas or TNI count among the two.
* kurang_rawan: the rest.

Output columns: ``tps_id,kecamatan,desa,lat,lon,voters,class,blank_spot,hard_to_reach,disaster_prone``
(flags 0/1). ``tps_id`` = ``<kecamatan abbreviation>-<last 2 digits of the Kemendagri desa code>-<TPS
number within the desa, 3 digits>``, e.g. ``SGU-01-012`` is TPS 012 of desa 64.08.04.2001 (Sangatta
Utara, kecamatan Sangatta Utara). Short enough for a trainer to type in an inject.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
DEFAULT_OUT = HERE / "tps.csv"

DEFAULT_SEED = 20241127  # [E] election day as a number; any fixed seed would do

# --- totals --------------------------------------------------------------------------------------

# [S] 701 TPS and a DPT of 297,994 for Pilkada Kutim 2024
# https://selasar.co/read/2024/09/19/12842/kpu-kutai-timur-tetapkan-297994-pemilih-untuk-pilkada-2024
TOTAL_TPS = 701
TOTAL_VOTERS = 297_994
# [S] KPU: at most 600 voters per TPS for Pilkada 2024 (UU Pilkada allows 800)
# https://news.okezone.com/read/2024/04/24/337/2999772/kpu-tetapkan-satu-tps-maksimal-600-pemilih-pada-pilkada-2024
MAX_VOTERS_PER_TPS = 600

# --- TPS khusus ----------------------------------------------------------------------------------

KHUSUS_TPS = 2  # [S] 2 TPS lokasi khusus in Kutim, 477 voters
KHUSUS_VOTERS = 477  # [S] https://kaltim.suara.com/amp/read/2024/10/02/133000/bawaslu-kaltim-pantau-proses-pemilihan-di-lokasi-khusus-9395-pemilih-terdata
# [E] where they are is not sourced; Kaltim's loksus are mostly rutan/lapas (57 %) and company sites
# (36 %), which in Kutim points to the town and the mining area of Sangatta Utara.
KHUSUS_KECAMATAN = "Sangatta Utara"

# --- placement -----------------------------------------------------------------------------------

MAIN_VILLAGE_WEIGHT = 2.0  # [E] the kecamatan's main village holds about twice a typical desa's TPS
JITTER_SD_KM = 1.5  # [E] a desa's TPS lie a few km around its point (desa are 5-40 km across)
JITTER_MAX_KM = 4.0  # [E] keeps a TPS near its desa point (and its desa) in every draw
VOTER_SPREAD = 0.25  # [E] sd of log TPS size within a kecamatan: most TPS within about +-25 % of the mean

# --- flags (exact counts: share x 701, rounded) --------------------------------------------------

# [E] from Bawaslu Kaltim Pilkada 2024: internet problems at 516 of 6,262 TPS (8.2 %)
# https://pranala.co/bawaslu-kaltim-identifikasi-26-indikator-kerawanan-di-tps-jelang-pilkada-2024/
BLANK_SPOT_SHARE = 0.082
# [E] same source: hard to reach at 93 of 6,262 TPS (1.5 %)
HARD_TO_REACH_SHARE = 0.015
# [E] "a few %": Bawaslu RI Pilkada 2024 flags 7,414 of 435,296 TPS (1.7 %) as disaster-prone; Kutim's
# inland kecamatan lie on rivers, so a little above the national share
DISASTER_PRONE_SHARE = 0.03
# [E] remoteness weight of a TPS for blank_spot and hard_to_reach = (1 + km to the nearest kecamatan
# town)^power: signal and roads follow the towns, so a TPS next to a town is rarely flagged and one
# 30 km out often is
REMOTENESS_POWER = 2.0
# [E] the kabupaten capital (Sangatta Utara, incl. the KPC mining town of Swarga Bara) has signal and
# roads everywhere: never blank_spot or hard_to_reach
CAPITAL_KECAMATAN = ("Sangatta Utara",)
# [E] hard_to_reach: FACTS §4/§7 name Busang, Sandaran, Long Mesangat and Muara Ancalong as the hard ones
HARD_TO_REACH_KECAMATAN = ("Busang", "Sandaran", "Long Mesangat", "Muara Ancalong")
HARD_TO_REACH_FACTOR = 8.0  # [E] a TPS there weighs 8x its remoteness weight
# [E] river kecamatan on the Kedang Kepala / Telen / Wahau system (FACTS §4), where floods cut roads
DISASTER_PRONE_KECAMATAN = ("Muara Ancalong", "Muara Bengkal", "Long Mesangat", "Busang", "Telen", "Muara Wahau")

# --- classes -------------------------------------------------------------------------------------

SIDRAP_DESA = "Martadinata"  # [E] Kampung Sidrap lies in desa Martadinata (press on the Bontang border dispute)
SIDRAP_TPS = 3  # [E] Sidrap is a hamlet: a few TPS
URBAN_SANGAT_RAWAN = 7  # [E] with Sidrap 10 of 701 = 1.4 %: between Polda Metro's 0.1 % and PPU's 3.4 % (FACTS §2)
# [E] "town" = within 10 km of Polres HQ: Sangatta Utara, Teluk Lingga, Singa Gembara (Sangatta Utara)
# and Singa Geweh (Sangatta Selatan); Swarga Bara (12 km) and the rural west of Sangatta Selatan fall outside
URBAN_KM = 10.0
# [S] kecamatan rawan for distance in Pilkada 2020
# https://pro.kutaitimurkab.go.id/2020/12/09/hari-ini-di-pilkada-kutim-469-personel-polres-amankan-jalannya-pemungutan-suara/
RAWAN_KECAMATAN_2020 = ("Busang", "Long Mesangat", "Sandaran")
# [E] more than 25 km straight line (about 50-60 km of road at a road factor of 2-2.3, one to two
# hours) from the nearest police post makes a TPS rawan. Chosen so the rawan share lands near 30 %
# and the Pemilu 2024 pola fits 413 Polri (see the module docstring).
RAWAN_KM = 25.0

# --- posts ---------------------------------------------------------------------------------------

# Polres HQ in Sangatta Utara [S]; [E] placed at the Sangatta Utara desa point (FACTS §4 example).
POLRES = ("polres", "Polres Kutai Timur (Mako)", "Sangatta Utara", (0.48607, 117.57368))

# post id -> (name, home kecamatan, kecamatan covered). Only the first and Muara Wahau are named in
# sources; everything else is [E] (see the module docstring). Every kecamatan is covered exactly once.
POLSEK: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "polsek-sgu": ("Polsek Sangatta Utara", "Sangatta Utara", ("Sangatta Utara", "Sangatta Selatan", "Rantau Pulung")),
    "polsek-tpd": ("Polsek Teluk Pandan", "Teluk Pandan", ("Teluk Pandan",)),
    "polsek-bgl": ("Polsek Bengalon", "Bengalon", ("Bengalon",)),
    "polsek-klr": ("Polsek Kaliorang", "Kaliorang", ("Kaliorang", "Kaubun", "Karangan")),
    "polsek-skl": ("Polsek Sangkulirang", "Sangkulirang", ("Sangkulirang", "Sandaran")),
    "polsek-kbg": ("Polsek Kongbeng", "Kongbeng", ("Kongbeng",)),
    "polsek-mwh": ("Polsek Muara Wahau", "Muara Wahau", ("Muara Wahau", "Telen")),
    "polsek-mac": ("Polsek Muara Ancalong", "Muara Ancalong", ("Muara Ancalong", "Long Mesangat")),
    "polsek-mbk": ("Polsek Muara Bengkal", "Muara Bengkal", ("Muara Bengkal", "Batu Ampar")),
    "polsek-bsg": ("Polsek Busang", "Busang", ("Busang",)),
}

# Short kecamatan codes for tps_id (3 letters, unique, readable aloud).
ABBREV = {
    "Muara Ancalong": "MAC",
    "Muara Wahau": "MWH",
    "Muara Bengkal": "MBK",
    "Sangatta Utara": "SGU",
    "Sangkulirang": "SKL",
    "Busang": "BSG",
    "Telen": "TLN",
    "Kongbeng": "KBG",
    "Bengalon": "BGL",
    "Kaliorang": "KLR",
    "Sandaran": "SDR",
    "Sangatta Selatan": "SGS",
    "Teluk Pandan": "TPD",
    "Rantau Pulung": "RPL",
    "Kaubun": "KBN",
    "Karangan": "KRG",
    "Batu Ampar": "BTA",
    "Long Mesangat": "LMS",
}

FLAGS = ("blank_spot", "hard_to_reach", "disaster_prone")
COLUMNS = ["tps_id", "kecamatan", "desa", "lat", "lon", "voters", "class", *FLAGS]
STREAMS = ("desa", "jitter", "voters", "khusus", "flags", "classes")
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius
KM_PER_DEG_LAT = math.pi * EARTH_RADIUS_KM / 180.0


def great_circle_km(lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike) -> np.ndarray:
    """Great-circle distance [km] (haversine), vectorised over numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(np.subtract(lon2, lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


def load_reference(folder: Path = REFERENCE) -> tuple[pd.DataFrame, pd.DataFrame]:
    kec = pd.read_csv(folder / "kecamatan.csv", dtype={"kode": str})
    desa = pd.read_csv(folder / "desa_points.csv", dtype={"desa_code": str, "kecamatan_code": str})
    desa = desa.merge(kec[["kode", "kecamatan"]], left_on="kecamatan_code", right_on="kode").drop(columns="kode")
    assert kec["EST_tps2024"].sum() == TOTAL_TPS, "kecamatan.csv EST_tps2024 must sum to 701"
    assert kec["EST_dpt2024"].sum() == TOTAL_VOTERS, "kecamatan.csv EST_dpt2024 must sum to 297,994"
    assert set(kec["kecamatan"]) == set(ABBREV), "ABBREV must name every kecamatan"
    covered = [k for _, _, cov in POLSEK.values() for k in cov]
    assert sorted(covered) == sorted(kec["kecamatan"]), "POLSEK must cover every kecamatan exactly once"
    return kec, desa


def main_villages(desa: pd.DataFrame) -> pd.DataFrame:
    """One desa row per kecamatan: its main village, by the rule in the module docstring."""
    rows = []
    for key, group in desa.groupby("kecamatan", sort=True):
        kecamatan = str(key)
        kelurahan = group[group["desa_code"].str.rsplit(".", n=1).str[-1].str.startswith("1")]
        same_name = group[group["desa"] == kecamatan]
        prefixed = group[group["desa"].str.startswith(kecamatan)]
        if len(kelurahan):
            chosen = kelurahan.iloc[0]
        elif len(same_name):
            chosen = same_name.iloc[0]
        else:
            pool = prefixed if len(prefixed) else group
            centre = group["lat"].mean(), group["lon"].mean()
            km = great_circle_km(*centre, pool["lat"].to_numpy(), pool["lon"].to_numpy())
            chosen = pool.iloc[int(np.argmin(km))]
        rows.append(chosen)
    return pd.DataFrame(rows).set_index("kecamatan")


def posts(main: pd.DataFrame) -> pd.DataFrame:
    """Polres HQ and the Polsek posts: id, name, home kecamatan, lat, lon, covers."""
    pid, name, kec, (lat, lon) = POLRES
    rows = [dict(id=pid, name=name, kecamatan=kec, lat=lat, lon=lon, covers=())]
    for pid, (name, home, covers) in POLSEK.items():
        town = main.loc[home]
        rows.append(dict(id=pid, name=name, kecamatan=home, lat=town["lat"], lon=town["lon"], covers=covers))
    return pd.DataFrame(rows)


def tps_per_desa(rng: np.random.Generator, n_tps: int, desa: pd.DataFrame, main_code: str) -> np.ndarray:
    """TPS count per desa: one each, the rest multinomial (main village weighted)."""
    n = len(desa)
    assert n_tps >= n, "every desa gets a TPS, so a kecamatan needs at least as many TPS as desa"
    weights = np.where(desa["desa_code"].to_numpy() == main_code, MAIN_VILLAGE_WEIGHT, 1.0)
    return 1 + rng.multinomial(n_tps - n, weights / weights.sum())


def jitter(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each point by a Gaussian offset [km], its length cut at ``JITTER_MAX_KM``."""
    dx, dy = rng.normal(0.0, JITTER_SD_KM, size=(2, len(lat)))
    r = np.hypot(dx, dy)
    scale = np.where(r > JITTER_MAX_KM, JITTER_MAX_KM / np.maximum(r, 1e-12), 1.0)
    north_km, east_km = dy * scale, dx * scale
    new_lat = lat + north_km / KM_PER_DEG_LAT
    new_lon = lon + east_km / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    return new_lat, new_lon


def split_voters(rng: np.random.Generator, total: int, n: int, cap: int = MAX_VOTERS_PER_TPS) -> np.ndarray:
    """``total`` voters over ``n`` TPS: lognormal shares, none above ``cap``, exact integer sum."""
    assert total <= cap * n, f"{total} voters do not fit in {n} TPS of at most {cap}"
    x = total * _normalise(rng.lognormal(0.0, VOTER_SPREAD, size=n))
    for _ in range(n):  # move the excess of capped TPS to the others, in proportion, until none exceeds
        over = x > cap
        if not over.any():
            break
        excess = (x[over] - cap).sum()
        x[over] = cap
        free = ~over & (x < cap)
        x[free] += excess * _normalise(x[free])
    counts = np.floor(x).astype(np.int64)
    short = total - counts.sum()
    # largest remainder; a capped TPS has remainder 0 and cannot be pushed above the cap
    order = np.lexsort((np.arange(n), -(x - counts)))
    counts[order[:short]] += 1
    assert counts.sum() == total and counts.max() <= cap
    return counts


def pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of ``k`` items drawn without replacement, chance proportional to ``weights`` (0 = never)."""
    mask = np.zeros(len(weights), dtype=bool)
    if k > 0:
        mask[rng.choice(len(weights), size=k, replace=False, p=_normalise(weights))] = True
    return mask


def _normalise(w: npt.ArrayLike) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()


def build_tps(seed: int = DEFAULT_SEED, folder: Path = REFERENCE) -> pd.DataFrame:
    kec, desa = load_reference(folder)
    main = main_villages(desa)
    post = posts(main)
    seeds = np.random.SeedSequence(seed).spawn(len(STREAMS))
    rng = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}

    parts = []
    for _, k in kec.iterrows():  # reference order: Kemendagri code 64.08.01 .. 18
        name, n_tps, voters = k["kecamatan"], int(k["EST_tps2024"]), int(k["EST_dpt2024"])
        n_khusus = KHUSUS_TPS if name == KHUSUS_KECAMATAN else 0
        group = desa[desa["kecamatan"] == name].reset_index(drop=True)
        counts = tps_per_desa(rng["desa"], n_tps - n_khusus, group, main.loc[name, "desa_code"])
        rows = group.loc[group.index.repeat(counts)].reset_index(drop=True)
        rows["class"] = "kurang_rawan"
        rows["voters"] = split_voters(rng["voters"], voters - (KHUSUS_VOTERS if n_khusus else 0), len(rows))
        if n_khusus:
            at = group.loc[rng["khusus"].choice(len(group), size=n_khusus, replace=False)]
            extra = at.sort_values("desa_code").reset_index(drop=True)
            extra["class"] = "khusus"
            extra["voters"] = split_voters(rng["khusus"], KHUSUS_VOTERS, n_khusus)
            rows = pd.concat([rows, extra], ignore_index=True)
        rows = rows.sort_values("desa_code", kind="stable").reset_index(drop=True)
        rows["tps_no"] = rows.groupby("desa_code").cumcount() + 1
        rows["lat"], rows["lon"] = jitter(rng["jitter"], rows["lat"].to_numpy(), rows["lon"].to_numpy())
        parts.append(rows)
    tps = pd.concat(parts, ignore_index=True)
    keys = zip(tps["kecamatan"], tps["desa_code"], tps["tps_no"], strict=True)
    tps["tps_id"] = [f"{ABBREV[k]}-{code[-2:]}-{no:03d}" for k, code, no in keys]
    assert tps["tps_id"].is_unique
    assert len(tps) == TOTAL_TPS and tps["voters"].sum() == TOTAL_VOTERS

    lat, lon = tps["lat"].to_numpy(), tps["lon"].to_numpy()
    towns = main["lat"].to_numpy()[None, :], main["lon"].to_numpy()[None, :]
    km_town = great_circle_km(lat[:, None], lon[:, None], *towns).min(axis=1)
    tps["km_post"] = _km_to_own_post(tps, post)

    f = rng["flags"]
    outside_capital = ~tps["kecamatan"].isin(CAPITAL_KECAMATAN).to_numpy()
    remote = (1.0 + km_town) ** REMOTENESS_POWER * outside_capital
    tps["blank_spot"] = pick(f, remote, round(BLANK_SPOT_SHARE * TOTAL_TPS))
    hard = remote * np.where(tps["kecamatan"].isin(HARD_TO_REACH_KECAMATAN), HARD_TO_REACH_FACTOR, 1.0)
    tps["hard_to_reach"] = pick(f, hard, round(HARD_TO_REACH_SHARE * TOTAL_TPS))
    river = tps["kecamatan"].isin(DISASTER_PRONE_KECAMATAN).to_numpy(dtype=float)
    tps["disaster_prone"] = pick(f, river, round(DISASTER_PRONE_SHARE * TOTAL_TPS))

    regular = tps["class"] == "kurang_rawan"
    sidrap = np.flatnonzero((regular & (tps["desa"] == SIDRAP_DESA)).to_numpy())
    sidrap = rng["classes"].choice(sidrap, size=min(SIDRAP_TPS, len(sidrap)), replace=False)
    tps.loc[sidrap, "class"] = "sangat_rawan"
    hq = POLRES[3]
    town = (tps["class"] == "kurang_rawan") & (great_circle_km(lat, lon, hq[0], hq[1]) <= URBAN_KM)
    # the largest town TPS; many sit at the 600 cap, so ties are broken by a random order, not by id
    shuffled = tps[town].sample(frac=1.0, random_state=rng["classes"])
    largest = shuffled.sort_values("voters", ascending=False, kind="stable").index[:URBAN_SANGAT_RAWAN]
    tps.loc[largest, "class"] = "sangat_rawan"
    far = tps["kecamatan"].isin(RAWAN_KECAMATAN_2020) | (tps["km_post"] > RAWAN_KM)
    rawan = far | tps["blank_spot"] | tps["hard_to_reach"]
    tps.loc[rawan & (tps["class"] == "kurang_rawan"), "class"] = "rawan"

    out = tps[COLUMNS].copy()
    out["lat"], out["lon"] = out["lat"].round(5), out["lon"].round(5)
    for col in FLAGS:
        out[col] = out[col].astype(int)
    return out


def _km_to_own_post(tps: pd.DataFrame, post: pd.DataFrame) -> np.ndarray:
    """Straight-line km [km] from each TPS to the nearer of its Polsek and Polres HQ."""
    hq = post.iloc[0]
    km = great_circle_km(tps["lat"].to_numpy(), tps["lon"].to_numpy(), hq["lat"], hq["lon"])
    for _, p in post.iloc[1:].iterrows():
        mine = tps["kecamatan"].isin(p["covers"]).to_numpy()
        own = great_circle_km(tps["lat"].to_numpy(), tps["lon"].to_numpy(), p["lat"], p["lon"])
        km = np.where(mine, np.minimum(km, own), km)
    return km


def sites_yaml(folder: Path = REFERENCE) -> str:
    """The PPK venues and posts as YAML lines, to paste into or check against the scenario file."""
    _, desa = load_reference(folder)
    main = main_villages(desa)
    lines = ["  ppk:"]
    for kec, m in main.iterrows():
        lines.append(f"    - {{kecamatan: {kec}, name: PPK {kec} ({m['desa']}), position: [{m['lat']}, {m['lon']}]}}")
    lines.append("  posts:")
    for _, p in posts(main).iterrows():
        covers = ", ".join(p["covers"])
        lines.append(
            f"    - {{id: {p['id']}, name: {p['name']}, kecamatan: {p['kecamatan']}, "
            f"position: [{p['lat']}, {p['lon']}], covers: [{covers}]}}"
        )
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV (default: tps.csv here)")
    parser.add_argument("--sites", action="store_true", help="print the PPK venues and posts as YAML and exit")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = get_parser().parse_args(argv)
    if args.sites:
        print(sites_yaml())
        return
    tps = build_tps(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tps.to_csv(tmp, index=False, lineterminator="\n", float_format="%.5f")
    tmp.replace(args.out)  # atomic: never a half-written table
    counts = {c: int((tps["class"] == c).sum()) for c in ("kurang_rawan", "rawan", "sangat_rawan", "khusus")}
    flags = {c: int(tps[c].sum()) for c in FLAGS}
    print(f"{args.out}: {len(tps)} TPS, {int(tps['voters'].sum())} voters; classes {counts}; flags {flags}")


if __name__ == "__main__":
    main()
