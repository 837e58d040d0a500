"""Evaluating candidate plans: replications on common random numbers, saved in chunks, and the
statistics the search judges them by.

Replication ``r`` of every candidate faces the same incident stream (seed, r) as the starting plan
and every other candidate (common random numbers, :mod:`sim.experiment`). The work unit is a
chunk of ``CHUNK`` consecutive replications for a set of candidates: each stream is generated
once and replayed for each of them. What a chunk keeps of each run is small: one row per
dispatched incident (its target group, priority 1 or not, reached, within target, waited, the
response and what the queueing seed needs). Chunks are saved in the optimization folder as they
finish (``batches/<candidate>-c<chunk>.npz``), so an interrupted search replays to the same point
from them; a chunk depends only on (scenario, seed, candidate plan, chunk), never on the backend.

Statistics (all over replications as independent clusters):

- a **share** of a group (e.g. priority-1 incidents within target in one target group) is the
  pooled ratio sum(hits) / sum(incidents) over the replications, with a Wilson score interval on
  the effective number of incidents (the incidents divided by the design effect of the
  replication clusters, at least 1): it stays honest when every incident so far was in time;
- a **paired difference** of two candidates' shares is the difference of the pooled ratios, with
  a normal interval from the per-replication linearised differences (the delta method on common
  random numbers);
- the fixed-force **objective** differences use a paired cluster bootstrap over replications
  (the same resampled replications for both), with a generator seeded from the search seed, so
  the answer is reproducible.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.experiment import Job, world_of
from sim.generate import generate
from sim.model import run_plan
from sim.records import run_measures
from sim.scenario import LoadedScenario, Plan
from sim.world import World

CHUNK = 10  # replications per saved chunk
Z95 = 1.959963984540054
COLUMNS = ("rep", "group", "p1", "reached", "within", "waited", "response", "site", "t_report", "target", "on_scene")
CANDIDATE = "__candidate__"  # the name a candidate plan runs under in a worker


def target_groups(world: World) -> tuple[list[str], np.ndarray]:
    """The target groups (their names in scenario order; "" for the default targets, last) and
    the group index of every kecamatan."""
    names = list(dict.fromkeys(g for g in world.target_group if g))
    if "" in world.target_group:
        names.append("")
    return names, np.asarray([names.index(g) for g in world.target_group], dtype=np.int64)


@dataclass
class EvalJob:
    """What a worker needs to evaluate candidates (picklable): the scenario and the seed."""

    key: str  # the scenario's digest: workers build its world once
    scenario: LoadedScenario
    seed: int


def chunk_task(job: EvalJob, plans: list[Plan], chunk: int) -> list[dict[str, np.ndarray]]:
    """Replications of chunk ``chunk`` for each plan: per plan, one row per dispatched incident."""
    sc = job.scenario
    world, types = world_of(Job(job.key, sc, [], job.seed))
    _, group_of_kec = target_groups(world)
    rows: list[list[dict[str, np.ndarray]]] = [[] for _ in plans]
    for r in range(chunk * CHUNK, (chunk + 1) * CHUNK):
        stream = generate(sc, world, job.seed, r, types)
        for i, plan in enumerate(plans):
            spec = sc.spec.model_copy(update={"plans": {CANDIDATE: plan}})
            rec = run_plan(dataclasses.replace(sc, spec=spec), world, stream, CANDIDATE)
            m = run_measures(world, rec, sc.timeline.horizon)
            d = m.dispatched
            site = stream.site[d]
            inc = rec.incidents
            rows[i].append(
                {
                    "rep": np.full(int(d.sum()), r, dtype=np.int64),
                    "group": group_of_kec[world.node_kec[site]],
                    "p1": inc.priority[d] == 1,
                    "reached": m.reached[d],
                    "within": m.within_target[d],
                    "waited": m.wait_min[d] > 1e-9,
                    "response": m.response_min[d],
                    "site": site.astype(np.int64),
                    "t_report": inc.t_report[d],
                    "target": m.target_min[d],
                    "on_scene": inc.t_clear[d] - inc.t_arrive[d],
                }
            )
    # The model caches per-plan data in the world by the plan object: these plans are not seen again.
    for k in [k for k, v in world.cache.items() if isinstance(v, tuple) and v and any(v[0] is p for p in plans)]:
        del world.cache[k]
    return [{c: np.concatenate([p[c] for p in parts]) for c in COLUMNS} for parts in rows]


# --- the data of one candidate -----------------------------------------------------------------


@dataclass
class Data:
    """One candidate's dispatched incidents over replications 0 .. n - 1."""

    n: int
    cols: dict[str, np.ndarray]

    @classmethod
    def of_chunks(cls, chunks: Sequence[dict[str, np.ndarray]]) -> Data:
        cols = {c: np.concatenate([ch[c] for ch in chunks]) if chunks else np.zeros(0) for c in COLUMNS}
        return cls(len(chunks) * CHUNK, cols)

    def counts(self, kpi: str, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
        """Per replication and group: (hits, incidents) of a share KPI, each [n, n_groups]."""
        c = self.cols
        hit, base = _share_columns(c, kpi)
        rep = c["rep"].astype(np.int64)
        grp = c["group"].astype(np.int64)
        idx = rep * n_groups + grp
        size = self.n * n_groups
        hits = np.bincount(idx[base], weights=hit[base].astype(float), minlength=size).reshape(self.n, n_groups)
        den = np.bincount(idx[base], minlength=size).reshape(self.n, n_groups).astype(float)
        return hits, den


def _share_columns(c: dict[str, np.ndarray], kpi: str) -> tuple[np.ndarray, np.ndarray]:
    """(hit, base) masks of a share KPI over the dispatched incidents, as sim.metrics defines it."""
    every = np.ones(len(c["rep"]), dtype=bool)
    if kpi == "within_target_p1":
        return c["within"].astype(bool), c["p1"].astype(bool)
    if kpi == "within_target":
        return c["within"].astype(bool), every
    if kpi == "reached_share":
        return c["reached"].astype(bool), every
    if kpi == "waited_share":
        return c["waited"].astype(bool), every
    raise ValueError(f"not a share KPI the search knows: {kpi}")


@dataclass(frozen=True)
class Share:
    """A pooled share with its interval and the incidents behind it."""

    estimate: float  # NaN without incidents
    lo: float
    hi: float
    incidents: int


def pooled_share(hits: np.ndarray, den: np.ndarray) -> Share:
    """sum(hits) / sum(den) over replications (rows), with a Wilson interval on the effective count."""
    h, n = float(hits.sum()), float(den.sum())
    if n == 0:
        return Share(math.nan, 0.0, 1.0, 0)
    p = h / n
    reps = len(hits)
    deff = 1.0
    if reps > 1 and 0 < p < 1:
        resid = hits - p * den  # linearised ratio per replication
        var_cluster = float(resid.var(ddof=1)) * reps / n**2
        deff = max(1.0, var_cluster / (p * (1 - p) / n))
    m = n / deff
    z2 = Z95**2
    centre = (p + z2 / (2 * m)) / (1 + z2 / m)
    half = Z95 * math.sqrt(p * (1 - p) / m + z2 / (4 * m * m)) / (1 + z2 / m)
    return Share(p, max(0.0, centre - half), min(1.0, centre + half), int(n))


def paired_share_difference(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float, float]:
    """Share of ``a`` minus share of ``b`` (the same replications, rows), with a 95% delta-method interval."""
    (ha, na), (hb, nb) = a, b
    sa, sb = float(na.sum()), float(nb.sum())
    if sa == 0 or sb == 0:
        return math.nan, math.nan, math.nan
    ra, rb = float(ha.sum()) / sa, float(hb.sum()) / sb
    reps = len(ha)
    z = (ha - ra * na) / (sa / reps) - (hb - rb * nb) / (sb / reps)
    se = float(z.std(ddof=1)) / math.sqrt(reps) if reps > 1 else math.inf
    d = ra - rb
    return d, d - Z95 * se, d + Z95 * se


# --- chunks on disk and on the backend ---------------------------------------------------------


@dataclass
class Store:
    """Saved chunks of the search (``batches/`` of the optimization folder), by candidate digest."""

    path: Path
    memo: dict[tuple[str, int], dict[str, np.ndarray]] = field(default_factory=dict)

    def file(self, digest: str, chunk: int) -> Path:
        return self.path / f"{digest}-c{chunk:05d}.npz"

    def get(self, digest: str, chunk: int) -> dict[str, np.ndarray] | None:
        if (digest, chunk) in self.memo:
            return self.memo[(digest, chunk)]
        f = self.file(digest, chunk)
        if not f.exists():
            return None
        try:
            with np.load(f) as z:
                data = {c: z[c] for c in COLUMNS}
        except Exception:  # damaged (a kill while writing is prevented by the rename; a disk fault is not)
            f.unlink(missing_ok=True)
            return None
        self.memo[(digest, chunk)] = data
        return data

    def put(self, digest: str, chunk: int, data: dict[str, np.ndarray]) -> None:
        f = self.file(digest, chunk)
        tmp = f.with_suffix(f".tmp-{os.getpid()}")
        with open(tmp, "wb") as fh:
            np.savez(fh, **data)  # type: ignore[arg-type]
        os.replace(tmp, f)
        self.memo[(digest, chunk)] = data


def missing_calls(
    store: Store, job: EvalJob, wanted: Sequence[tuple[str, Plan, int]]
) -> tuple[list[tuple[EvalJob, list[Plan], int]], list[list[str]]]:
    """The backend calls that compute the chunks of ``wanted`` (digest, plan, chunks needed) not saved yet.

    One call per chunk number, for every candidate that needs it (its stream is generated once).
    """
    by_chunk: dict[int, dict[str, Plan]] = {}
    for digest, plan, n_chunks in wanted:
        for c in range(n_chunks):
            if store.get(digest, c) is None:
                by_chunk.setdefault(c, {})[digest] = plan
    calls, digests = [], []
    for c in sorted(by_chunk):
        items = sorted(by_chunk[c].items())
        calls.append((job, [p for _, p in items], c))
        digests.append([d for d, _ in items])
    return calls, digests


def run_calls(
    backend: object, calls: list[tuple[EvalJob, list[Plan], int]], digests: list[list[str]], store: Store
) -> Iterator[int]:
    """Compute the calls on ``backend`` and save each chunk as it comes; yields replications done."""
    for i, result in backend.map(chunk_task, calls):  # type: ignore[attr-defined]
        chunk = calls[i][2]
        for digest, data in zip(digests[i], result, strict=True):
            store.put(digest, chunk, data)
        yield CHUNK * len(result)
