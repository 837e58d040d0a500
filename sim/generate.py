"""The day's incident stream of one replication, made up front and independent of any plan.

Everything random about a replication's day is drawn here, vectorised with numpy, from named
streams of one :class:`numpy.random.SeedSequence` keyed by ``(seed, replication, purpose)``, and
for the incidents by dispatch area too (``(seed, replication, purpose, area)``): each area's
incidents are drawn on their own, so an area's part of the day can be drawn (and run) in its own
task, at the cost of the area, and the day put together from its areas is the day drawn whole.

- ``counting``: how long counting takes at each TPS (it grows with the voters who voted);
- ``arrivals``: a non-homogeneous Poisson process per site and incident type, with a rate that is
  constant in each clock hour of a phase window (phase rate x class and flag multipliers x the
  hour's multiplier). One Poisson draw gives an area's total; each incident's window and type are
  drawn in proportion to their expected counts (:func:`poisson_cells`), and its time by reading
  the hour-multiplied clock backwards at a uniform point: no draw for each of the millions of
  empty (site, window, type) cells, and no cutting of windows into hours;
- ``outbreak``: hoax-driven flare-ups. An incident of a type with ``outbreak`` triggers one with
  its probability; TPS within the radius (and in the same dispatch area: a flare-up is the
  Polres' own) then see their rates raised by ``multiplier`` for ``duration_h``. Offspring may
  trigger further outbreaks (up to ``max_outbreak_generations``). The raised rate is taken at the
  trigger time; offspring that fall where a TPS has closed are dropped.
- ``draws``: every per-incident draw the model may need: report delay, on-scene time (one uniform
  mapped through each type's distribution, so an escalated incident keeps its draw), on-site
  resolution coins (Linmas, guard), escalation coins and a travel-noise factor per responding unit.

Because the model only reads these arrays, every plan faces exactly the same day (common random
numbers), and a replication is reproducible from (scenario, seed, replication) alone.

The same rates and windows, integrated instead of drawn, give :func:`expected_incidents`: the
estimate a run's size is checked with before it starts (:mod:`sim.size`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from sim.scenario import PHASES, TPS_CLASSES, TPS_FLAGS, Dist, LoadedScenario
from sim.world import World, build_world, great_circle_km, members

STREAMS = ("counting", "arrivals", "outbreak", "draws")
MAX_UNITS = 8  # travel-noise draws per incident: one per responding unit, in dispatch order
ESCALATION_STEPS = 3  # escalation coins per incident (a chain of up to three escalations)
PHASE_INDEX = {p: i for i, p in enumerate(PHASES)}
PER_INCIDENT = (
    *("t_occur", "t_report", "site", "kind", "phase", "generation", "scene_min"),
    *("coin_linmas", "coin_guard", "coin_escalate", "noise"),
)  # the IncidentStream fields indexed by incident


def stream(seed: int, replication: int, purpose: str, area: int | None = None) -> np.random.Generator:
    """The named random stream of one replication; of one dispatch area's incidents when ``area``
    is given (``arrivals``, ``outbreak``, ``draws``: each area's day is drawn on its own)."""
    key = (replication, STREAMS.index(purpose)) if area is None else (replication, STREAMS.index(purpose), area)
    ss = np.random.SeedSequence(entropy=seed, spawn_key=key)
    return np.random.Generator(np.random.PCG64(ss))


def quantile(d: Dist, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a duration distribution at uniforms ``u`` [min]."""
    if d.dist == "fixed":
        return np.full(np.shape(u), d.mean)
    if d.dist == "exponential":
        return -d.mean * np.log1p(-u)
    if d.dist == "uniform":
        return d.low + (d.high - d.low) * u
    sigma2 = np.log1p(d.cv**2)
    mu = np.log(d.mean) - sigma2 / 2
    return np.exp(mu + np.sqrt(sigma2) * ndtri(u))


@dataclass
class IncidentStream:
    """One replication's day. Arrays are indexed by incident (sorted by ``t_occur``)."""

    replication: int
    t_occur: np.ndarray  # [min]
    t_report: np.ndarray  # [min] t_occur + report delay
    site: np.ndarray  # node index
    kind: np.ndarray  # incident type index
    phase: np.ndarray  # index into PHASES
    generation: np.ndarray  # 0 = background, k = k-th outbreak generation
    scene_min: np.ndarray  # [n, n_types] on-scene time if the incident is (or becomes) each type
    coin_linmas: np.ndarray
    coin_guard: np.ndarray
    coin_escalate: np.ndarray  # [n, ESCALATION_STEPS]
    noise: np.ndarray  # [n, MAX_UNITS] travel-time factors, mean 1
    count_end: np.ndarray  # [n_tps] when counting ends at each TPS [min]
    escort_end: np.ndarray  # [n_tps] when the box reaches the PPK (incident window) [min]

    def __len__(self) -> int:
        return len(self.t_occur)

    def subset(self, index: np.ndarray) -> IncidentStream:
        """The incidents at ``index`` (in that order), with every draw they carry (same TPS times)."""
        picked = {f: getattr(self, f)[index] for f in PER_INCIDENT}
        return IncidentStream(
            replication=self.replication, count_end=self.count_end, escort_end=self.escort_end, **picked
        )

    def concat(self, *others: IncidentStream) -> IncidentStream:
        """This day's incidents followed by those of ``others`` (same replication and TPS times)."""
        days = (self, *others)
        joined = {f: np.concatenate([getattr(d, f) for d in days]) for f in PER_INCIDENT}
        return IncidentStream(
            replication=self.replication, count_end=self.count_end, escort_end=self.escort_end, **joined
        )


def day_order(t_occur: np.ndarray, site: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """The order of a day's incidents: by time, then site, then type (ties never depend on how the
    day was drawn, area by area or whole)."""
    return np.lexsort((kind, site, t_occur))


@dataclass(frozen=True)
class TypeTable:
    """Incident-type parameters as arrays (types in scenario order)."""

    names: list[str]
    rate: np.ndarray  # [n_types, n_phases] per site-hour
    site_mult: np.ndarray  # [n_nodes, n_types] class x flag multipliers (1 at PPK/KPU)
    hour_mult: np.ndarray  # [24]


def type_table(sc: LoadedScenario, world: World) -> TypeTable:
    inc = sc.spec.incidents
    names = list(inc.types)
    rate = np.zeros((len(names), len(PHASES)))
    cmult = np.ones((len(names), len(TPS_CLASSES)))
    fmult = np.ones((len(names), len(TPS_FLAGS)))
    for t, name in enumerate(names):
        it = inc.types[name]
        for ph, r in it.rate_per_site_hour.items():
            rate[t, PHASE_INDEX[ph]] = r
        for c, m in it.class_multiplier.items():
            cmult[t, TPS_CLASSES.index(c)] = m
        for flag, m in it.flag_multiplier.items():
            fmult[t, TPS_FLAGS.index(flag)] = m
    site_mult = np.ones((world.n_nodes, len(names)))
    tps_mult = cmult[:, world.tps_class].T  # [n_tps, n_types]
    for f in range(len(TPS_FLAGS)):
        tps_mult = tps_mult * np.where(world.tps_flags[:, f : f + 1], fmult[:, f][None, :], 1.0)
    site_mult[: world.n_tps] = tps_mult
    hour = np.ones(24)
    for h, m in inc.hourly_multiplier.items():
        hour[h] = m
    return TypeTable(names, rate, site_mult, hour)


def _windows(sc: LoadedScenario, world: World, count_end: np.ndarray, escort_end: np.ndarray):
    """Phase windows of every site: arrays (site, phase, t0, t1)."""
    tl = sc.timeline
    n = world.n_tps
    tps = np.arange(n)
    sites = [tps, tps, tps, tps]
    phases = [np.full(n, PHASE_INDEX[p]) for p in ("logistics", "voting", "counting", "escort")]
    t0 = [np.full(n, tl.logistics_start), np.full(n, tl.voting_start), np.full(n, tl.voting_end), count_end]
    t1 = [np.full(n, tl.voting_start), np.full(n, tl.voting_end), count_end, escort_end]
    ppk = world.ppk_node
    for a, b in tl.recap_windows:
        sites.append(ppk)
        phases.append(np.full(len(ppk), PHASE_INDEX["recap"]))
        t0.append(np.full(len(ppk), a))
        t1.append(np.full(len(ppk), b))
    sites.append(np.asarray([world.kpu_node]))
    phases.append(np.asarray([PHASE_INDEX["plenary"]]))
    t0.append(np.asarray([tl.plenary[0]]))
    t1.append(np.asarray([tl.plenary[1]]))
    return (
        np.concatenate(sites),
        np.concatenate(phases),
        np.concatenate(t0).astype(float),
        np.concatenate(t1).astype(float),
    )


def _clock(sc: LoadedScenario, types: TypeTable, t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hourly multiplier integrated over the day: the minutes of every clock hour from the
    first window's start to the last one's end, and the multiplied hours elapsed at each (the
    expected count of a constant rate over a window is its rate times the difference)."""
    epoch_minute = sc.epoch.hour * 60.0 + sc.epoch.minute
    lo = np.floor((np.min(t0, initial=0.0) + epoch_minute) / 60.0)
    hi = np.ceil((np.max(t1, initial=0.0) + epoch_minute) / 60.0)
    hours = np.arange(lo, hi + 1).astype(np.int64)
    elapsed = np.concatenate([[0.0], np.cumsum(types.hour_mult[hours[:-1] % 24])])
    return hours * 60.0 - epoch_minute, elapsed


def phase_at(sc: LoadedScenario, count_end: np.ndarray, escort_end: np.ndarray, tps: np.ndarray, t: np.ndarray):
    """Phase index of TPS ``tps`` at times ``t``, or -1 where the TPS is not active."""
    tl = sc.timeline
    ce, ee = count_end[tps], escort_end[tps]
    return np.select(
        [
            (t >= tl.logistics_start) & (t < tl.voting_start),
            (t >= tl.voting_start) & (t < tl.voting_end),
            (t >= tl.voting_end) & (t < ce),
            (t >= ce) & (t < ee),
        ],
        [PHASE_INDEX["logistics"], PHASE_INDEX["voting"], PHASE_INDEX["counting"], PHASE_INDEX["escort"]],
        default=-1,
    )


def _intensity(
    sc: LoadedScenario,
    types: TypeTable,
    site: np.ndarray,
    phase: np.ndarray,
    w0: np.ndarray,
    w1: np.ndarray,
    scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected incidents per phase window and type [n_windows, n_types] (rates times ``scale`` per
    type: phase rate x class and flag multipliers x the hourly multiplier integrated over the
    window), with the clock of :func:`_clock` it was integrated on."""
    minute, elapsed = _clock(sc, types, w0, w1)
    hours = np.interp(w1, minute, elapsed) - np.interp(w0, minute, elapsed)
    lam = types.rate[:, phase].T * types.site_mult[site] * np.maximum(hours, 0.0)[:, None]
    if scale is not None:
        lam = lam * scale[None, :]
    return lam, minute, elapsed


def _arrivals(
    sc: LoadedScenario,
    types: TypeTable,
    site: np.ndarray,
    phase: np.ndarray,
    w0: np.ndarray,
    w1: np.ndarray,
    rng: np.random.Generator,
    scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Poisson arrivals in phase windows: (time, site, type, phase); rates times ``scale`` per type.
    The cells of :func:`poisson_cells` are windows x types; an incident's time in its window has
    the density of the hourly multiplier (the inverse of the integrated clock at a uniform point)."""
    lam, minute, elapsed = _intensity(sc, types, site, phase, w0, w1, scale)
    win, kind = poisson_cells(lam, rng)
    e0, e1 = np.interp(w0[win], minute, elapsed), np.interp(w1[win], minute, elapsed)
    t = np.interp(e0 + rng.random(len(win)) * (e1 - e0), elapsed, minute)  # the clock read backwards
    return np.clip(t, w0[win], w1[win]), site[win], kind, phase[win]


def poisson_cells(lam: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Events of independent Poisson counts with means ``lam`` [rows, columns]: (row, column) of
    each, in no particular order. One Poisson draw for the total, then each event's cell drawn in
    proportion to its mean: the same law as a count per cell, without a draw for every empty one."""
    cum = np.cumsum(lam, axis=None)
    total = float(cum[-1]) if len(cum) else 0.0
    n = int(rng.poisson(total)) if total > 0 else 0
    if n == 0:
        none = np.zeros(0, dtype=np.int64)
        return none, none
    cell = np.searchsorted(cum, rng.random(n) * total, side="right")
    cell = np.minimum(cell, np.flatnonzero(lam.ravel())[-1])  # u * total rounded up to the total
    return np.divmod(cell, lam.shape[1])


def inject_stream(seed: int, replication: int, number: int) -> np.random.Generator:
    """The random stream of exercise inject ``number``: its own, so that adding, removing or
    shifting injects changes no other draw of the day."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(replication, len(STREAMS), number))
    return np.random.Generator(np.random.PCG64(ss))


def surge(
    sc: LoadedScenario,
    world: World,
    types: TypeTable,
    day: IncidentStream,
    kecamatan: int,
    t0: float,
    t1: float,
    scale: np.ndarray,
    rng: np.random.Generator,
) -> IncidentStream:
    """The extra incidents of a rate surge: in ``kecamatan`` from ``t0`` to ``t1`` [min], each
    type's rate times ``scale`` (the multiplier minus one: the background keeps its own part)."""
    site, phase, w0, w1 = _windows(sc, world, day.count_end, day.escort_end)
    w0, w1 = np.maximum(w0, t0), np.minimum(w1, t1)
    keep = (world.node_kec[site] == kecamatan) & (w1 > w0)
    t, s, k, p = _arrivals(sc, types, site[keep], phase[keep], w0[keep], w1[keep], rng, scale)
    order = day_order(t, s, k)
    t, s, k, p = t[order], s[order], k[order], p[order]
    gens = np.zeros(len(t), dtype=np.int64)
    return with_draws(
        sc,
        world,
        types,
        rng,
        day.replication,
        t,
        s.astype(np.int64),
        k.astype(np.int64),
        p.astype(np.int64),
        gens,
        day.count_end,
        day.escort_end,
    )


def counting_mean_min(sc: LoadedScenario, world: World) -> np.ndarray:
    """Mean counting time at each TPS [min]: a base plus a time per voter who voted."""
    c = sc.spec.phases.counting
    return c.base_min + c.per_voter_min * c.turnout * world.tps_voters


def escort_min(world: World) -> np.ndarray:
    """Road time from each TPS to the PPK of its kecamatan [min]: how long its box is on the way."""
    return world.escort_legs()[0]


def counting_times(sc: LoadedScenario, world: World, seed: int, replication: int) -> tuple[np.ndarray, np.ndarray]:
    """When counting ends at each TPS, and when its box reaches the PPK [min]."""
    c = sc.spec.phases.counting
    rng = stream(seed, replication, "counting")
    mean = counting_mean_min(sc, world)
    if c.cv > 0:
        s2 = np.log1p(c.cv**2)
        factor = np.exp(np.sqrt(s2) * rng.standard_normal(world.n_tps) - s2 / 2)
    else:
        factor = np.ones(world.n_tps)
    count_end = sc.timeline.voting_end + np.minimum(mean * factor, c.max_min)
    return count_end, count_end + escort_min(world)


def expected_incidents(sc: LoadedScenario, world: World | None = None, types: TypeTable | None = None) -> float:
    """Background incidents one replication is expected to hold, before any is drawn.

    The generator's own rates (phase rate x class and flag multipliers x the hour's multiplier)
    integrated over its own phase windows, with counting taking its mean length (capped at
    ``max_min``) and the escort its road time in the world. Outbreak offspring are not counted.
    """
    world = world or build_world(sc)
    types = types or type_table(sc, world)
    count_end = sc.timeline.voting_end + np.minimum(counting_mean_min(sc, world), sc.spec.phases.counting.max_min)
    site, phase, w0, w1 = _windows(sc, world, count_end, count_end + escort_min(world))
    lam, _, _ = _intensity(sc, types, site, phase, w0, w1)
    return float(lam.sum())


def generate(
    sc: LoadedScenario,
    world: World,
    seed: int,
    replication: int,
    types: TypeTable | None = None,
    areas: list[int] | None = None,
) -> IncidentStream:
    """The incident stream of one replication (see the module docstring): the whole day, or only
    the incidents of dispatch ``areas`` (indices as :func:`sim.world.dispatch_areas` numbers them).

    Each area's incidents are drawn from its own streams, so a day put together from its areas
    (each run as its own task) is the day drawn whole, incident for incident, and an area's part
    costs what the area holds, not what the country holds."""
    types = types or type_table(sc, world)
    count_end, escort_end = counting_times(sc, world, seed, replication)
    site, phase, w0, w1 = _windows(sc, world, count_end, escort_end)
    by_area = members(world.node_area()[site], world.n_areas)
    days = []
    for a in range(world.n_areas) if areas is None else areas:
        rows = by_area[a]
        days.append(
            _area_day(
                sc,
                world,
                types,
                seed,
                replication,
                a,
                (site[rows], phase[rows], w0[rows], w1[rows]),
                count_end,
                escort_end,
            )
        )
    return days[0] if len(days) == 1 else joined(days)


def joined(days: list[IncidentStream]) -> IncidentStream:
    """Days of different areas (same replication and TPS times) as one, in the day's order."""
    whole = days[0].concat(*days[1:])
    return whole.subset(day_order(whole.t_occur, whole.site, whole.kind))


Windows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (site, phase, t0, t1) of phase windows


def _area_day(
    sc: LoadedScenario,
    world: World,
    types: TypeTable,
    seed: int,
    replication: int,
    area: int,
    windows: Windows,
    count_end: np.ndarray,
    escort_end: np.ndarray,
) -> IncidentStream:
    """One dispatch area's incidents: arrivals in its sites' ``windows``, outbreaks among its own
    TPS (a flare-up does not cross into another Polres' area), every draw from the area's streams."""
    t, t_site, t_kind, t_phase = _arrivals(sc, types, *windows, stream(seed, replication, "arrivals", area))
    parts = [(t, t_site, t_kind, t_phase, np.zeros(len(t), dtype=np.int64))]
    inc = sc.spec.incidents
    if any(inc.types[n].outbreak is not None for n in types.names):
        tps = world.area_nodes()[area]
        tps = tps[tps < world.n_tps]
        parts += _outbreaks(
            sc, world, types, parts[0], tps, count_end, escort_end, stream(seed, replication, "outbreak", area)
        )
    t_occur, sites, kinds, phases, gens = (np.concatenate([p[k] for p in parts]) for k in range(5))
    order = day_order(t_occur, sites, kinds)
    return with_draws(
        sc,
        world,
        types,
        stream(seed, replication, "draws", area),
        replication,
        t_occur[order],
        sites[order].astype(np.int64),
        kinds[order].astype(np.int64),
        phases[order].astype(np.int64),
        gens[order].astype(np.int64),
        count_end,
        escort_end,
    )


Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (time, site, type, phase, generation)


def _outbreaks(
    sc: LoadedScenario,
    world: World,
    types: TypeTable,
    background: Part,
    tps: np.ndarray,
    count_end: np.ndarray,
    escort_end: np.ndarray,
    rng: np.random.Generator,
) -> list[Part]:
    """The outbreak generations that ``background`` sets off among TPS ``tps``: each generation's
    triggers raise rates at the TPS within their radius."""
    inc = sc.spec.incidents
    ob = [inc.types[n].outbreak for n in types.names]
    prob = np.asarray([o.probability if o else 0.0 for o in ob])
    epoch_minute = sc.epoch.hour * 60.0 + sc.epoch.minute
    lat, lon = world.lat[tps], world.lon[tps]
    parts = [background]
    for gen in range(1, inc.max_outbreak_generations + 1):
        pt, ps, pk, _, _ = parts[-1]
        coin = rng.random(len(pt))
        trig = np.flatnonzero((coin < prob[pk]) & (ps < world.n_tps))
        new = []
        for j in trig:
            o = ob[pk[j]]
            assert o is not None
            near = tps[great_circle_km(world.lat[ps[j]], world.lon[ps[j]], lat, lon) <= o.radius_km]
            ph = phase_at(sc, count_end, escort_end, near, np.full(len(near), pt[j]))
            h = int(((pt[j] + epoch_minute) // 60) % 24)
            rate_now = np.where(ph[:, None] >= 0, types.rate[:, np.maximum(ph, 0)].T, 0.0)
            lam_o = rate_now * types.site_mult[near] * types.hour_mult[h] * (o.multiplier - 1.0) * o.duration_h
            si, ti = poisson_cells(lam_o, rng)
            s_new = near[si]
            t_new = pt[j] + rng.random(len(s_new)) * o.duration_h * 60.0
            p_new = phase_at(sc, count_end, escort_end, s_new, t_new)
            keep = p_new >= 0
            new.append((t_new[keep], s_new[keep], ti[keep], p_new[keep]))
        cat = [np.concatenate(x) for x in zip(*new, strict=True)] if new else []
        if not cat or len(cat[0]) == 0:
            break
        parts.append((cat[0], cat[1], cat[2], cat[3], np.full(len(cat[0]), gen)))
    return parts[1:]


def quiet_day(
    sc: LoadedScenario, world: World, seed: int, replication: int, types: TypeTable | None = None
) -> IncidentStream:
    """A day with no random incident: counting and escort times as :func:`generate` draws them
    (the guards' schedule needs them), nothing else. An exercise without background starts here."""
    types = types or type_table(sc, world)
    count_end, escort_end = counting_times(sc, world, seed, replication)
    none = np.zeros(0, dtype=np.int64)
    rng = stream(seed, replication, "draws")
    return with_draws(sc, world, types, rng, replication, np.zeros(0), none, none, none, none, count_end, escort_end)


def with_draws(
    sc: LoadedScenario,
    world: World,
    types: TypeTable,
    rng: np.random.Generator,
    replication: int,
    t_occur: np.ndarray,
    sites: np.ndarray,
    kinds: np.ndarray,
    phases: np.ndarray,
    gens: np.ndarray,
    count_end: np.ndarray,
    escort_end: np.ndarray,
) -> IncidentStream:
    """Incidents with every per-incident draw the model may need, drawn from ``rng``."""
    n = len(t_occur)
    inc = sc.spec.incidents
    u = rng.random((n, 4 + ESCALATION_STEPS))
    z = rng.standard_normal((n, MAX_UNITS))
    delay = _report_delay(sc, world, sites, u[:, 0])
    scene = (
        np.column_stack([quantile(inc.types[nm].on_scene_min, u[:, 1]) for nm in types.names])
        if n
        else np.zeros((0, len(types.names)))
    )
    cv = world.noise_cv
    if cv > 0:
        s2 = np.log1p(cv**2)
        noise = np.exp(np.sqrt(s2) * z - s2 / 2)
    else:
        noise = np.ones((n, MAX_UNITS))
    return IncidentStream(
        replication=replication,
        t_occur=t_occur,
        t_report=t_occur + delay,
        site=sites,
        kind=kinds,
        phase=phases,
        generation=gens,
        scene_min=scene,
        coin_linmas=u[:, 2],
        coin_guard=u[:, 3],
        coin_escalate=u[:, 4:],
        noise=noise,
        count_end=count_end,
        escort_end=escort_end,
    )


def _report_delay(sc: LoadedScenario, world: World, sites: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Report delay [min]: the default, or the longest of the delays for the site's flags."""
    rd = sc.spec.incidents.report_delay_min
    default = rd.get("default")
    delay = quantile(default, u) if default else np.zeros(len(u))
    is_tps = sites < world.n_tps
    for f, name in enumerate(TPS_FLAGS):
        d = rd.get(name)  # type: ignore[call-overload]
        if d is None:
            continue
        has = np.zeros(len(u), dtype=bool)
        has[is_tps] = world.tps_flags[sites[is_tps], f]
        delay = np.where(has, np.maximum(delay, quantile(d, u)), delay)
    return delay
