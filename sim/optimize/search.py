"""The staffing search: the smallest force that meets the targets, or the best use of a fixed one.

**Minimum force** (``min_force``): greedy marginal allocation seeded by a per-Polsek queueing
approximation, then greedy removal, each candidate's feasibility judged by a sequential
indifference-zone check on common random numbers.

1. *Seed (as PCAM would).* The starting plan is run on the first replications. Each dispatched
   incident is assigned to the nearest post that has a patrol variable; for each such post, the
   peak hourly rate of its incidents, the mean service (on scene plus a return trip plus set-up)
   and the median time left for waiting (target minus travel) give, by Erlang C, the fewest cars
   for which the share waiting no longer than that is at least the strictest share constraint.
   Those are the patrol variables' first values; the other variables keep the starting plan's.
2. *Up* (while the candidate is infeasible): every one-step increase within the bounds and the
   forces is run on the same replications; the one that removes the most shortfall (the sum over
   group constraints of how far the estimate is below its threshold) per officer added is taken.
   When no increase is possible and it is still infeasible, the verdict says which groups cannot
   be met and why.
3. *Down* (once feasible): every one-step decrease is screened on the first replications and
   tried in order of officers saved (then of slack); the first one judged feasible is taken,
   until none is.

**Fixed force** (``fixed_force``): local search from the starting plan by one-step increases (while
the forces allow) and exchanges (one variable down, another up). Each round, every neighbour is
screened on the first replications; the three best by estimate are then tested one by one against
the incumbent with a sequential paired test (a paired cluster bootstrap interval of the objective's
difference, doubling the replications): accepted when the interval is below zero, rejected once it
is above minus the objective's indifference zone or at the cap.

**The feasibility check** of a candidate (sequential, indifference zone δ): for every target group
and constraint, the pooled share and its 95% interval (:func:`sim.optimize.evaluate.pooled_share`)
on n replications (first ``first_reps``, then doubling up to ``max_reps``). A constraint
``share >= t`` is *met* once the interval's lower end is at least t - δ, *missed* once its upper
end is at most t + δ (both: by the estimate); a candidate is feasible when every constraint is met,
infeasible as soon as one is missed, and at the cap it is judged by the estimates (marked
undecided). A group with no incident of a constraint's kind in n replications does not block it.
Final claims are made only on the confirmation, on fresh replications (:mod:`sim.optimize.run`).

The search is a pure function of the saved evaluations, each of which depends only on (scenario,
seed, candidate, replications): the same seed gives the same history and answer whatever the
number of workers, and a resumed search replays to the same point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim import metrics
from sim.optimize.evaluate import CHUNK, Data, EvalJob, Share, Store, missing_calls, pooled_share, run_calls
from sim.optimize.space import Space, Values
from sim.scenario.schema import constraint_text
from sim.world import World


@dataclass(frozen=True)
class Rule:
    """A constraint every target group must meet."""

    kpi: str
    at_least: bool
    threshold: float

    def text(self) -> str:
        return constraint_text(self.kpi, self.at_least, self.threshold)


@dataclass(frozen=True)
class Settings:
    mode: str  # min_force | fixed_force
    rules: tuple[Rule, ...]
    objective: str
    delta: float  # indifference zone of the constraints (a share)
    objective_delta: float  # indifference zone of the objective (its unit)
    first_reps: int
    max_reps: int
    budget_reps: int
    confirm_reps: int
    seed: int


class BudgetExhausted(Exception):
    """The next evaluation would spend more replications than the budget."""


@dataclass
class Judged:
    """A candidate as the search last judged it."""

    values: Values
    reps: int
    status: str  # feasible | infeasible | undecided (at the cap, judged by the estimates)
    shares: dict[tuple[int, int], Share]  # (group, rule) -> pooled share
    worst_slack: float  # smallest estimate - threshold (or threshold - estimate) over constraints
    shortfall: float  # sum of how far estimates miss thresholds

    @property
    def feasible(self) -> bool:
        return self.status == "feasible" or (self.status == "undecided" and self.shortfall == 0)


@dataclass
class Entry:
    """One candidate in the search history."""

    id: str
    values: Values
    parent: str
    phase: str
    personnel: int
    reps: int = 0
    status: str = "screened"
    reason: str = ""
    objective: float = math.nan
    objective_lo: float = math.nan
    objective_hi: float = math.nan
    shares: dict[tuple[int, int], Share] = field(default_factory=dict)


Progress = Callable[["Search"], None]


class Search:
    """Runs the search; everything it evaluates is saved in ``store`` and listed in ``history``."""

    def __init__(
        self,
        space: Space,
        settings: Settings,
        job: EvalJob,
        world: World,
        groups: list[str],
        store: Store,
        backend: object,
        progress: Progress | None = None,
    ) -> None:
        self.space, self.s, self.job, self.world, self.groups = space, settings, job, world, groups
        self.store, self.backend = store, backend
        self.progress = progress or (lambda s: None)
        self.history: dict[Values, Entry] = {}
        self.spent = 0  # candidate-replications requested so far (deterministic: counted when asked)
        self.requested: set[tuple[str, int]] = set()
        self.best: Entry | None = None
        self.budget_exhausted = False
        self.last: Judged | None = None  # min_force: the judgement that ended the search
        self.seed_rows: list[dict[str, object]] = []  # min_force: the queueing seed per post

    # --- evaluating ---------------------------------------------------------------------------

    def entry(self, values: Values, parent: str = "", phase: str = "") -> Entry:
        if values not in self.history:
            self.history[values] = Entry(f"c{len(self.history):04d}", values, parent, phase, self.space.total(values))
        return self.history[values]

    def ensure(self, wanted: list[tuple[Values, int]]) -> None:
        """Compute (or read back) the first n replications of each candidate, all in one pass."""
        new = []
        asks = []
        for values, n in wanted:
            digest = self.space.digest(values)
            chunks = -(-n // CHUNK)
            for c in range(chunks):
                if (digest, c) not in self.requested:
                    new.append((digest, c))
            asks.append((digest, self.space.plan(values), chunks))
        cost = CHUNK * len(set(new))
        if self.spent + cost > self.s.budget_reps:
            self.budget_exhausted = True
            raise BudgetExhausted
        self.spent += cost
        self.requested.update(new)
        calls, digests = missing_calls(self.store, self.job, asks)
        for _ in run_calls(self.backend, calls, digests, self.store):
            pass
        self.progress(self)

    def data(self, values: Values, n: int) -> Data:
        self.ensure([(values, n)])
        digest = self.space.digest(values)
        chunks = [self.store.get(digest, c) for c in range(-(-n // CHUNK))]
        return Data.of_chunks([c for c in chunks if c is not None])

    def shares(self, values: Values, n: int) -> dict[tuple[int, int], Share]:
        d = self.data(values, n)
        out = {}
        for k, rule in enumerate(self.s.rules):
            hits, den = d.counts(rule.kpi, len(self.groups))
            for g in range(len(self.groups)):
                out[(g, k)] = pooled_share(hits[:, g], den[:, g])
        return out

    def slack(self, share: Share, rule: Rule) -> float:
        if math.isnan(share.estimate):
            return math.inf
        return share.estimate - rule.threshold if rule.at_least else rule.threshold - share.estimate

    def assess(self, values: Values, n: int) -> Judged:
        """Point judgement at n replications (no sequential step)."""
        sh = self.shares(values, n)
        slacks = [self.slack(v, self.s.rules[k]) for (g, k), v in sh.items()]
        worst = min(slacks) if slacks else math.inf
        shortfall = sum(max(0.0, -x) for x in slacks if math.isfinite(x))
        return Judged(values, n, "screened", sh, worst, shortfall)

    def judge(self, values: Values, parent: str = "", phase: str = "") -> Judged:
        """The sequential feasibility check (see the module docstring)."""
        e = self.entry(values, parent, phase)
        n = self._round(self.s.first_reps)
        while True:
            j = self.assess(values, n)
            verdict = self._decide(j)
            if verdict is not None or n >= self.s.max_reps:
                j.status = verdict or "undecided"
                e.reps, e.status, e.shares = max(e.reps, n), j.status, j.shares
                return j
            n = min(self._round(2 * n), self._round(self.s.max_reps))

    def _decide(self, j: Judged) -> str | None:
        d = self.s.delta
        undecided = False
        for (_g, k), sh in j.shares.items():
            rule = self.s.rules[k]
            if sh.incidents == 0:
                continue
            if rule.at_least:
                met, missed = sh.lo >= rule.threshold - d, sh.hi <= rule.threshold + d
                by_estimate = sh.estimate >= rule.threshold
            else:
                met, missed = sh.hi <= rule.threshold + d, sh.lo >= rule.threshold - d
                by_estimate = sh.estimate <= rule.threshold
            if met and missed:
                met, missed = by_estimate, not by_estimate
            if missed:
                return "infeasible"
            if not met:
                undecided = True
        return None if undecided else "feasible"

    @staticmethod
    def _round(n: int) -> int:
        return -(-n // CHUNK) * CHUNK

    # --- moves ---------------------------------------------------------------------------------

    def _neighbours(self, x: Values, ups: bool, downs: bool, swaps: bool) -> list[Values]:
        out: list[Values] = []
        vs = self.space.variables
        for i, v in enumerate(vs):
            if ups and x[i] + v.step <= v.hi:
                out.append((*x[:i], x[i] + v.step, *x[i + 1 :]))
            if downs and x[i] - v.step >= v.lo:
                out.append((*x[:i], x[i] - v.step, *x[i + 1 :]))
        if swaps:
            for i, vi in enumerate(vs):
                for j, vj in enumerate(vs):
                    if i != j and x[i] - vi.step >= vi.lo and x[j] + vj.step <= vj.hi:
                        y = list(x)
                        y[i] -= vi.step
                        y[j] += vj.step
                        out.append(tuple(y))
        return [y for y in out if self.space.within_forces(y)]

    # --- minimum force --------------------------------------------------------------------------

    def minimum_force(self, seed: Values, parent: str) -> Judged | None:
        """The smallest feasible force found, or None (no feasible plan within the moves and forces)."""
        x = seed
        j = self.judge(x, parent, "seed")
        while not j.feasible:
            nbrs = self._neighbours(x, ups=True, downs=False, swaps=False)
            if not nbrs:
                self.entry(x).reason = "infeasible with every move at its bound or the forces"
                self.last = j
                return None
            self.ensure([(y, j.reps) for y in nbrs])
            cost_x = self.space.total(x)
            scored: list[tuple[float, int, int, Values]] = []
            for y in nbrs:
                e = self.entry(y, self.entry(x).id, "up")
                a = self.assess(y, j.reps)
                e.reps, e.shares = max(e.reps, j.reps), a.shares
                gain = (j.shortfall - a.shortfall) / max(1, self.space.total(y) - cost_x)
                scored.append((-gain, self.space.total(y), len(scored), y))
            scored.sort()
            for _, _, _, y in scored[1:]:
                if self.entry(y).status == "screened":
                    self.entry(y).reason = "another increase removed more shortfall per officer"
            self.entry(x).reason = self.entry(x).reason or f"misses a target; {self.entry(scored[0][3]).id} adds to it"
            x = scored[0][3]
            j = self.judge(x, self.entry(x).parent, "up")
        self.best = self.entry(x)
        while True:
            nbrs = self._neighbours(x, ups=False, downs=True, swaps=False)
            if not nbrs:
                break
            n0 = self._round(self.s.first_reps)
            self.ensure([(y, n0) for y in nbrs])
            cost_x = self.space.total(x)
            screened: list[tuple[float, float, int, Values]] = []
            for y in nbrs:
                e = self.entry(y, self.entry(x).id, "down")
                a = self.assess(y, n0)
                e.reps, e.shares = max(e.reps, n0), a.shares
                screened.append((-(cost_x - self.space.total(y)), -a.worst_slack, len(screened), y))
            screened.sort()
            taken = None
            for _, _, _, y in screened:
                jy = self.judge(y, self.entry(x).id, "down")
                if jy.feasible:
                    taken = (y, jy)
                    break
                self.entry(y).reason = "fewer officers here miss a target"
            if taken is None:
                break
            for _, _, _, y in screened:
                e = self.entry(y)
                if e.status == "screened" and not e.reason:
                    e.reason = "not tried: another decrease was taken first"
            self.entry(x).reason = self.entry(x).reason or f"{self.entry(taken[0]).id} needs fewer officers"
            x, j = taken
            self.best = self.entry(x)
        return j

    # --- fixed force ----------------------------------------------------------------------------

    def fixed_force(self, start: Values, objective: Callable[[Data, np.ndarray | None], np.ndarray]) -> Entry:
        """Local search by increases and exchanges within the forces; the best plan found."""
        x = start
        inc = self.entry(x, "", "start")
        inc.reason = "the starting plan"
        n0 = self._round(self.s.first_reps)
        self._score(x, n0, objective)
        self.best = inc
        while True:
            nbrs = [y for y in self._neighbours(x, ups=True, downs=False, swaps=True) if y not in self.history]
            if not nbrs:
                break
            self.ensure([(y, n0) for y in [x, *nbrs]])
            ranked: list[tuple[float, int, int, Values]] = []
            for y in nbrs:
                self.entry(y, inc.id, "neighbour")
                est = self._score(y, n0, objective)
                ranked.append((est, self.space.total(y), len(ranked), y))
            ranked.sort()
            base = self._score(x, n0, objective)
            accepted = None
            for est, _, _, y in ranked[:3]:
                if not est < base:
                    break
                if self._better(y, x, objective):
                    accepted = y
                    break
            for _, _, _, y in ranked:
                e = self.entry(y)
                if y != accepted and not e.reason:
                    e.reason = "not shown better than the incumbent" if e.status == "tested" else "screened out"
            if accepted is None:
                break
            inc.reason = f"{self.entry(accepted).id} is better"
            x = accepted
            inc = self.entry(x)
            inc.status, inc.reason = "accepted", ""
            self.best = inc
        return inc

    def _score(self, values: Values, n: int, objective: Callable[[Data, np.ndarray | None], np.ndarray]) -> float:
        e = self.entry(values)
        d = self.data(values, n)
        est = float(objective(d, None)[0])
        e.reps = max(e.reps, n)
        e.objective = est
        e.shares = self.shares(values, n)
        return est

    def _better(self, y: Values, x: Values, objective: Callable[[Data, np.ndarray | None], np.ndarray]) -> bool:
        n = self._round(self.s.first_reps)
        e = self.entry(y)
        e.status = "tested"
        while True:
            dy, dx = self.data(y, n), self.data(x, n)
            rng = np.random.default_rng(
                [self.s.seed, n, int(self.space.digest(y)[:8], 16), int(self.space.digest(x)[:8], 16)]
            )
            w = rng.multinomial(n, np.full(n, 1.0 / n), size=BOOTSTRAP).astype(float)
            diff = objective(dy, w) - objective(dx, w)
            point = float(objective(dy, None)[0] - objective(dx, None)[0])
            lo, hi = np.quantile(diff, [0.025, 0.975])
            e.reps, e.objective_lo, e.objective_hi = max(e.reps, n), float(lo), float(hi)
            e.objective = float(objective(dy, None)[0])
            e.shares = self.shares(y, n)
            if hi < 0:
                e.reason = f"better than the incumbent by {-point:.3g} (paired, {n} replications)"
                return True
            if lo > -self.s.objective_delta or n >= self.s.max_reps:
                e.reason = "not shown better than the incumbent by more than the indifference zone"
                return False
            n = min(self._round(2 * n), self._round(self.s.max_reps))


BOOTSTRAP = 200  # paired bootstrap resamples of the objective's difference


# --- objectives --------------------------------------------------------------------------------


def objective_fn(settings: Settings, n_groups: int) -> Callable[[Data, np.ndarray | None], np.ndarray]:
    """The objective (lower is better) of a candidate's data, for replication weights ``w``
    (rows: bootstrap resamples; None: the estimate itself, as one row)."""
    key = settings.objective

    def weights(d: Data, w: np.ndarray | None) -> np.ndarray:
        return np.ones((1, d.n)) if w is None else w

    if key in ("within_target_p1", "within_target", "reached_share", "waited_share"):
        sign = 1.0 if key == "waited_share" else -1.0

        def share(d: Data, w: np.ndarray | None) -> np.ndarray:
            hits, den = d.counts(key, n_groups)
            ww = weights(d, w)
            num, base = ww @ hits.sum(axis=1), ww @ den.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return sign * np.where(base > 0, num / np.maximum(base, 1), np.nan)

        return share
    if key == "missed_groups":
        cells = max(1, n_groups * len(settings.rules))

        def missed(d: Data, w: np.ndarray | None) -> np.ndarray:
            """Groups missing a constraint, plus the mean shortfall over groups and constraints
            (below 1): of two plans missing as many groups, the one missing them by less is better."""
            ww = weights(d, w)
            miss = np.zeros((ww.shape[0], n_groups), dtype=bool)
            short = np.zeros(ww.shape[0])
            for rule in settings.rules:
                hits, den = d.counts(rule.kpi, n_groups)
                num, base = ww @ hits, ww @ den
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = np.where(base > 0, num / np.maximum(base, 1e-12), np.nan)
                gap = (rule.threshold - r) if rule.at_least else (r - rule.threshold)
                gap = np.where(base > 0, gap, 0.0)
                miss |= gap > 0
                short += np.clip(gap, 0.0, None).sum(axis=1)
            return miss.sum(axis=1) + short / cells

        return missed

    p1_only = key == "response_pooled_p90_p1_min"

    def pooled_p90(d: Data, w: np.ndarray | None) -> np.ndarray:
        c = d.cols
        mask = c["p1"].astype(bool) if p1_only else np.ones(len(c["rep"]), dtype=bool)
        vals, reps = c["response"][mask], c["rep"][mask].astype(np.int64)
        if not len(vals):
            return np.full(1 if w is None else len(w), np.nan)
        order = np.argsort(vals, kind="stable")
        vals, reps = vals[order], reps[order]
        ww = weights(d, w)[:, reps]  # weight of every value in every resample
        cum = ww.cumsum(axis=1)
        total = cum[:, -1:]
        # inverted CDF: the smallest value with at least 90% of the weight at or below it
        idx = (cum < metrics.HEADLINE_QUANTILE / 100 * total - 1e-9).sum(axis=1)
        return vals[np.minimum(idx, len(vals) - 1)]

    return pooled_p90


# --- the queueing seed -------------------------------------------------------------------------


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load ``a`` = lambda / mu (1 when a >= c)."""
    if a >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):  # Erlang B by its recursion
        b = a * b / (k + a * b)
    return b / (1 - (a / c) * (1 - b))


def erlang_c_servers(lam: float, service: float, wait: float, share: float, most: int) -> int:
    """Fewest servers c (at most ``most``) with P(wait <= ``wait``) >= ``share`` in M/M/c [min]."""
    if lam <= 0:
        return 0
    mu = 1.0 / service
    a = lam / mu
    for c in range(1, most + 1):
        if a < c and 1 - erlang_c(c, a) * math.exp(-(c * mu - lam) * max(wait, 0.0)) >= share:
            return c
    return most


def queueing_seed(search: Search, start: Values, data: Data, most: int = 50) -> tuple[Values, list[dict[str, object]]]:
    """Patrol variables from Erlang C per post on the starting plan's incidents (module docstring)."""
    space, world = search.space, search.world
    x = list(start)
    rows: list[dict[str, object]] = []
    patrol = [(i, v) for i, v in enumerate(space.variables) if v.section == "patrols" and v.key.endswith(".units")]
    posts = list(dict.fromkeys(v.where for _, v in patrol))
    if not posts or not len(data.cols["rep"]):
        return tuple(x), rows
    plan = space.plan(start)
    mode = {g.post: g.mode for g in plan.patrols}
    c = data.cols
    site = c["site"].astype(np.int64)
    travel = np.stack([world.travel_min[mode.get(p, "road")][world.post_node[p], site] for p in posts])
    nearest = travel.argmin(axis=0)
    share = max([r.threshold for r in search.s.rules if r.at_least and r.kpi.startswith("within")] or [0.9])
    done: set[str] = set()
    for i, v in patrol:
        if v.where in done:
            x[i] = v.snap(v.lo)
            continue
        done.add(v.where)
        k = posts.index(v.where)
        mine = nearest == k
        if not mine.any():
            x[i] = v.snap(v.lo)
            rows.append(
                {
                    "post": v.where,
                    "incidents_per_replication": 0.0,
                    "peak_per_hour": 0.0,
                    "service_min": math.nan,
                    "wait_allowed_min": math.nan,
                    "cars": x[i],
                }
            )
            continue
        t = c["t_report"][mine]
        hours = np.floor(t / 60.0).astype(np.int64)
        peak = np.bincount(hours - hours.min()).max() / data.n  # incidents in the busiest clock hour, per day
        lam = peak / 60.0
        leg = travel[k, mine] + world.setup_min
        on_scene = c["on_scene"][mine]
        service = float(np.nanmean(on_scene)) if np.isfinite(on_scene).any() else 60.0
        service += 2 * float(leg.mean())
        wait = float(np.median(c["target"][mine] - leg))
        cars = erlang_c_servers(lam, service, wait, share, most) if wait > 0 else v.lo
        x[i] = v.snap(max(v.lo, min(v.hi, cars)))
        rows.append(
            {
                "post": v.where,
                "incidents_per_replication": round(float(mine.sum()) / data.n, 4),
                "peak_per_hour": round(peak, 4),
                "service_min": round(service, 2),
                "wait_allowed_min": round(wait, 2),
                "cars": x[i],
            }
        )
    y = tuple(x)
    while not space.within_forces(y):  # the seed never asks for more than there is
        i = max(range(len(y)), key=lambda k: (y[k] - space.variables[k].lo, -k))
        if y[i] <= space.variables[i].lo:
            break
        y = (*y[:i], y[i] - space.variables[i].step, *y[i + 1 :])
    return y, rows
