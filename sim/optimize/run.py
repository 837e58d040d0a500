"""``pilkada-sim optimize``: checked at the edge, searched, confirmed, written as a folder.

:func:`prepare_optimize` resolves the ``optimize:`` block and the command-line options into an
:class:`Optimization` (every mistake one :class:`~sim.errors.UserError`); :func:`run_optimization`
runs the search (:mod:`sim.optimize.search`) in an optimization folder, saving every evaluated
chunk as it finishes (Ctrl-C keeps them; ``--resume`` replays the search from them to the same
answer), then writes:

- ``history.csv``: every candidate (its moves from the starting plan, personnel, replications,
  status and why it was dropped), ``history_groups.csv``: its shares per target group and
  constraint with intervals, ``seed.csv``: the queueing seed per post (minimum force);
- the recommended plan as ``recommended_plan.yaml`` (a block to paste under ``plans:``) and as
  ``scenario/<scenario>.yaml``, the scenario with that plan added, next to copies of its data
  files, so that ``pilkada-sim validate`` and ``compare`` take it as it is;
- ``confirmation/``: a ``compare`` run folder of the recommended plan against the starting plan on
  fresh replications (``confirm_seed``: a seed the search never used), with the optimization
  record, ``optimization_changes.csv`` and ``optimization_groups.csv`` (per group and
  constraint: both plans with intervals and the paired difference); its briefing has the
  optimization page;
- or, when no plan within the moves and the forces meets the targets, ``verdict.csv``: which
  groups (and kecamatan) cannot be met and why, and no plan;
- ``manifest.json``: the provenance record (:mod:`sim.provenance`) with the settings and the verdict.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.backends import check_backend, make_backend
from sim.errors import UserError
from sim.experiment import Results
from sim.optimize.evaluate import (
    Data,
    EvalJob,
    Share,
    Store,
    paired_share_difference,
    pooled_share,
    target_groups,
)
from sim.optimize.search import (
    BudgetExhausted,
    Judged,
    Rule,
    Search,
    Settings,
    objective_fn,
    queueing_seed,
)
from sim.optimize.space import Space, Values, variables
from sim.provenance import provenance
from sim.runfolder import REPORTS_DIR, RunFolder, default_run_dir
from sim.scenario import TPS_CLASSES, LoadedScenario, check_personnel, check_plan, guard_clusters, load_scenario
from sim.scenario.schema import (
    MAX_REPLICATIONS,
    OPT_OBJECTIVES,
    OPT_SHARE_KPIS,
    Constraint,
    Move,
    Optimize,
    split_constraint,
)
from sim.study import Interrupted, check_at_most, check_positive, prepare, run_into_folder
from sim.world import World, world_for

MODES = ("min_force", "fixed_force")
OBJECTIVE_DELTA = {"response_pooled_p90_min": 5.0, "response_pooled_p90_p1_min": 5.0}  # else: indifference
METHOD = {
    "min_force": "greedy marginal allocation seeded by per-post Erlang C, then greedy removal; "
    "sequential indifference-zone feasibility check on common random numbers",
    "fixed_force": "local search by increases and exchanges within the forces; screening on common random "
    "numbers, then a sequential paired bootstrap test against the incumbent with an indifference zone",
}
OPTIMIZED_SUFFIX = "-opt"


@dataclass(frozen=True)
class Optimization:
    """A checked search, ready to run."""

    scenario: LoadedScenario
    space: Space
    settings: Settings
    workers: int | None = None
    dask: str | None = None

    @property
    def confirm_seed(self) -> int:
        """A seed the search never used: derived from the search seed, never equal to it."""
        s = int(np.random.SeedSequence([self.settings.seed, 0xC0F1]).generate_state(1)[0])
        return s if s != self.settings.seed else (s + 1) % 2**32

    @property
    def recommended_name(self) -> str:
        name = self.space.start_plan + OPTIMIZED_SUFFIX
        while name in self.scenario.spec.plans:
            name += "x"
        return name

    def job_spec(self) -> dict[str, Any]:
        s = self.settings
        return {
            "command": "optimize",
            "scenario_sha256": [self.scenario.digest()],
            "plans": [self.space.start_plan],
            "seed": s.seed,
            "settings": _settings_record(self),
        }


def _settings_record(opt: Optimization) -> dict[str, Any]:
    s = opt.settings
    return {
        "mode": s.mode,
        "objective": s.objective if s.mode == "fixed_force" else None,
        "constraints": [r.text() for r in s.rules],
        "moves": [
            {"key": v.key, "min": v.lo, "max": v.hi, "step": v.step, "start": v.start} for v in opt.space.variables
        ],
        "indifference": s.delta,
        "objective_indifference": s.objective_delta,
        "first_reps": s.first_reps,
        "max_reps": s.max_reps,
        "budget_reps": s.budget_reps,
        "confirm_reps": s.confirm_reps,
    }


def parse_constraint(text: str) -> Constraint:
    """``KPI>=SHARE`` or ``KPI<=SHARE`` (e.g. ``within_target_p1>=0.9``), read by the one text form
    (:func:`sim.scenario.schema.split_constraint`)."""
    try:
        kpi, at_least, share = split_constraint(text)
    except ValueError:
        raise UserError("--constraint", text, "expected KPI>=SHARE or KPI<=SHARE, e.g. within_target_p1>=0.9") from None
    if kpi not in OPT_SHARE_KPIS:
        raise UserError("--constraint", text, f"unknown KPI '{kpi}'; valid: {', '.join(OPT_SHARE_KPIS)}")
    if not 0 <= share <= 1:
        raise UserError("--constraint", text, f"{share:g} is not a share from 0 to 1")
    return Constraint.model_validate({"kpi": kpi, "at_least" if at_least else "at_most": share})


def parse_move(text: str) -> Move:
    """``KEY=MIN..MAX`` or ``KEY=MIN..MAX/STEP`` (e.g. ``patrols[*].units=1..4``)."""
    key, eq, rng = text.partition("=")
    lo, dots, rest = rng.partition("..")
    hi, _, step = rest.partition("/")
    try:
        if not eq or not dots or not key.strip():
            raise ValueError
        return Move(key=key.strip(), min=int(lo), max=int(hi), step=int(step) if step.strip() else 1)
    except ValueError:
        raise UserError(
            "--move", text, "expected KEY=MIN..MAX or KEY=MIN..MAX/STEP, e.g. patrols[*].units=1..4"
        ) from None
    except Exception as exc:  # the schema's ranges
        raise UserError("--move", text, str(exc).splitlines()[-1].strip()) from None


def prepare_optimize(
    scenario: LoadedScenario,
    *,
    from_plan: str | None = None,
    mode: str | None = None,
    objective: str | None = None,
    constraints: Sequence[str] = (),
    moves: Sequence[str] = (),
    budget_reps: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    dask: str | None = None,
) -> Optimization:
    """Check the search at the edge (the block is validated with the scenario; options here)."""
    block = scenario.spec.optimize or Optimize()
    where = str(scenario.path)
    mode = mode or block.mode
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {MODES}")
    plan = from_plan or block.from_plan or next(iter(scenario.spec.plans))
    check_plan(scenario, plan, "--from-plan")
    if objective is not None and objective not in OPT_OBJECTIVES:
        raise UserError("--objective", objective, f"unknown objective; valid: {', '.join(OPT_OBJECTIVES)}")
    objective = objective or block.objective
    rules_src = [parse_constraint(c) for c in constraints] if constraints else block.constraints
    rules = tuple(
        Rule(c.kpi, c.at_least is not None, float(c.at_least if c.at_least is not None else c.at_most))  # type: ignore[arg-type]
        for c in rules_src
    )
    move_src = [parse_move(m) for m in moves] if moves else block.moves
    space = Space(scenario, plan, variables(scenario, plan, move_src, where))
    seed = scenario.spec.seed if seed is None else seed
    check_positive("--seed", seed, 0)
    check_at_most("--seed", seed, 2**32 - 1)
    budget = block.budget_reps if budget_reps is None else budget_reps
    check_positive("--budget-reps", budget, block.first_reps)
    check_at_most("--budget-reps", budget, 100 * MAX_REPLICATIONS)
    check_backend(workers, dask)
    world_for(scenario)  # the world's checks, as run makes them
    check_personnel(scenario, [plan])
    if mode == "fixed_force" and not space.within_forces(tuple(v.snap(v.start) for v in space.variables)):
        raise UserError("--from-plan", plan, "with its values on the moves' grid it needs more than the forces")
    obj_delta = block.objective_indifference
    if obj_delta is None:
        obj_delta = OBJECTIVE_DELTA.get(objective, block.indifference)
    settings = Settings(
        mode,
        rules,
        objective,
        block.indifference,
        obj_delta,
        block.first_reps,
        block.max_reps,
        budget,
        block.confirm_reps,
        seed,
    )
    return Optimization(scenario, space, settings, workers, dask)


# --- running -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a search produced (in the folder as well)."""

    folder: Path
    recommended: Values | None  # None: no plan meets the targets (see verdict)
    verdict: pd.DataFrame  # empty when a plan was found
    history: pd.DataFrame
    confirmation: Path | None = None  # the confirmation run folder
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)  # optimization_groups.csv
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # optimization_changes.csv
    meets_targets: bool = False
    search: Search | None = None


def _progress_line() -> Callable[[Search], None]:
    if not sys.stderr.isatty():
        return lambda s: None

    def show(s: Search) -> None:
        best = s.best
        text = "no plan yet"
        if best is not None:
            text = f"best so far: {best.personnel:,} personnel ({best.status})"
            worst = min(best.shares.items(), key=lambda kv: s.slack(kv[1], s.s.rules[kv[0][1]]), default=None)
            if worst is not None and worst[1].incidents:
                (g, k), sh = worst
                text += (
                    f", tightest {s.groups[g] or '(default)'} {s.s.rules[k].kpi} "
                    f"{sh.estimate:.1%} [{sh.lo:.1%}, {sh.hi:.1%}]"
                )
        sys.stderr.write(f"\rcandidates {len(s.history)} | replications {s.spent:,}/{s.s.budget_reps:,} | {text}\033[K")
        sys.stderr.flush()

    return show


def run_optimization(
    opt: Optimization,
    out: Path | None = None,
    *,
    resume: Path | None = None,
    argv: Sequence[str] | None = None,
    progress: Callable[[Search], None] | None = None,
) -> Outcome:
    """Search, confirm and write the folder (see the module docstring); Ctrl-C: :class:`Interrupted`."""
    sc, s = opt.scenario, opt.settings
    backend = make_backend(opt.workers, opt.dask)
    try:
        if resume is not None:
            folder = RunFolder.resume(resume, opt.job_spec())
        else:
            stamp = dt.datetime.now().astimezone()
            folder = RunFolder.create(
                out or default_run_dir(REPORTS_DIR, sc.name, s.seed, stamp, "optimize"), opt.job_spec()
            )
    except BaseException:
        backend.close()
        raise
    with folder:
        try:
            search, result = _search(opt, folder, backend, progress or _progress_line())
        except KeyboardInterrupt:
            backend.close()
            raise Interrupted(folder) from None
        if sys.stderr.isatty() and progress is None:
            sys.stderr.write("\n")
        backend.close()
        try:
            outcome = _write(opt, folder, search, result, argv)
        except KeyboardInterrupt:  # in the confirmation (its batches are kept): resume this folder
            raise Interrupted(folder) from None
    return outcome


def _search(
    opt: Optimization, folder: RunFolder, backend: Any, progress: Callable[[Search], None]
) -> tuple[Search, Any]:
    sc, space, s = opt.scenario, opt.space, opt.settings
    world = world_for(sc)
    groups, _ = target_groups(world)
    job = EvalJob("optimize-" + sc.digest(), sc, s.seed)  # not the key of a run's Job (scattered apart)
    search = Search(space, s, job, world, groups, Store(folder.batches), backend, progress)
    start = tuple(v.snap(v.start) for v in space.variables)
    try:
        if s.mode == "min_force":
            pilot = search.entry(space.start if space.within_forces(space.start) else start, "", "start")
            n0 = Search._round(s.first_reps)
            data = search.data(pilot.values, n0)
            a = search.assess(pilot.values, n0)
            pilot.reps, pilot.shares, pilot.status = n0, a.shares, "start"
            pilot.reason = "the starting plan: its first replications give the queueing seed"
            hopeless = travel_verdict(search, data, pilot.values)
            if len(hopeless):  # a verdict is said on the most replications a candidate may get
                n_max = Search._round(s.max_reps)
                hopeless = travel_verdict(search, search.data(pilot.values, n_max), pilot.values)
                pilot.reps = n_max
            if len(hopeless):
                return search, ("travel", hopeless)
            seed, rows = queueing_seed(search, start, data)
            search.seed_rows = rows
            j = search.minimum_force(seed, pilot.id)
            if j is None:
                return search, ("capacity", capacity_verdict(search, search.last))
            return search, ("found", search.best.values if search.best else None)
        objective = objective_fn(s, len(groups))
        best = search.fixed_force(start, objective)
        return search, ("found", best.values)
    except BudgetExhausted:
        if search.best is not None:  # the best plan found (feasible, for the minimum force) so far
            return search, ("found", search.best.values)
        budget_rows = pd.DataFrame(
            [
                {
                    "group": "",
                    "kecamatan": "",
                    "kpi": "",
                    "threshold": math.nan,
                    "cause": "budget",
                    "estimate": math.nan,
                    "lo": math.nan,
                    "hi": math.nan,
                    "incidents": 0,
                    "replications": search.spent,
                }
            ]
        )
        return search, ("budget", budget_rows)


VERDICT_COLUMNS = (
    "group",
    "kecamatan",
    "kpi",
    "threshold",
    "cause",
    "estimate",
    "lo",
    "hi",
    "incidents",
    "replications",
)


def travel_verdict(search: Search, data: Data, values: Values) -> pd.DataFrame:
    """Groups that no number of units can bring within target: from the posts the plan and the
    moves use, the mean travel plus set-up alone exceeds the target for so many of the group's
    incidents that even the interval's upper end of the share still reachable is below the threshold."""
    world, space = search.world, search.space
    plan = space.plan(values)
    legs = [(g.post, g.mode) for g in (*plan.patrols, *plan.reserve, *plan.tni_backup)]
    legs += [(v.where, "road") for v in space.variables if v.section in ("patrols", "reserve", "tni_backup")]
    c = data.cols
    if not len(c["rep"]) or not legs:
        return pd.DataFrame(columns=list(VERDICT_COLUMNS))
    site = c["site"].astype(np.int64)
    best = np.min(
        np.stack([world.travel_min[mode][world.post_node[p], site] for p, mode in dict.fromkeys(legs)]), axis=0
    )
    reachable = best + world.setup_min <= c["target"]
    rows = []
    n_groups = len(search.groups)
    for rule in search.s.rules:
        if rule.kpi not in ("within_target", "within_target_p1") or not rule.at_least:
            continue
        base = c["p1"].astype(bool) if rule.kpi == "within_target_p1" else np.ones(len(site), dtype=bool)
        for g in range(n_groups):
            mask = base & (c["group"] == g)
            if not mask.any():
                continue
            reps = c["rep"][mask].astype(np.int64)
            hits = np.bincount(reps, weights=reachable[mask].astype(float), minlength=data.n)
            den = np.bincount(reps, minlength=data.n).astype(float)
            sh = pooled_share(hits, den)
            if sh.hi < rule.threshold:
                kec_of = world.node_kec[site]
                for ki in sorted(set(kec_of[mask].tolist())):
                    m2 = mask & (kec_of == ki)
                    share_k = float(reachable[m2].mean())
                    if share_k < rule.threshold:
                        rows.append(
                            {
                                "group": search.groups[g],
                                "kecamatan": world.kecamatan[ki],
                                "kpi": rule.kpi,
                                "threshold": rule.threshold,
                                "cause": "travel",
                                "estimate": round(share_k, 6),
                                "lo": round(sh.lo, 6),
                                "hi": round(sh.hi, 6),
                                "incidents": int(m2.sum()),
                                "replications": data.n,
                            }
                        )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def capacity_verdict(search: Search, j: Judged | None) -> pd.DataFrame:
    """The constraints still missed with every move at its bound (or the forces spent)."""
    rows = []
    if j is not None:
        for (g, k), sh in sorted(j.shares.items()):
            rule = search.s.rules[k]
            if sh.incidents and search.slack(sh, rule) < 0:
                rows.append(
                    {
                        "group": search.groups[g],
                        "kecamatan": "",
                        "kpi": rule.kpi,
                        "threshold": rule.threshold,
                        "cause": "capacity",
                        "estimate": round(sh.estimate, 6),
                        "lo": round(sh.lo, 6),
                        "hi": round(sh.hi, 6),
                        "incidents": sh.incidents,
                        "replications": j.reps,
                    }
                )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


# --- writing -----------------------------------------------------------------------------------


def _history(search: Search) -> tuple[pd.DataFrame, pd.DataFrame]:
    space, rules, groups = search.space, search.s.rules, search.groups
    rows, grows = [], []
    best = search.best.id if search.best is not None else ""
    for e in search.history.values():
        worst = [search.slack(sh, rules[k]) for (_, k), sh in e.shares.items() if sh.incidents]
        rows.append(
            {
                "candidate": e.id,
                "parent": e.parent,
                "phase": e.phase,
                "moves": space.moves_text(e.values),
                **{v.key: x for v, x in zip(space.variables, e.values, strict=True)},
                "personnel": e.personnel,
                "replications": e.reps,
                "status": e.status,
                "worst_slack": round(min(worst), 6) if worst else math.nan,
                "objective": e.objective,
                "objective_diff_lo": e.objective_lo,
                "objective_diff_hi": e.objective_hi,
                "recommended": e.id == best,
                "why": e.reason,
            }
        )
        for (g, k), sh in sorted(e.shares.items()):
            grows.append(
                {
                    "candidate": e.id,
                    "group": groups[g],
                    "kpi": rules[k].kpi,
                    "threshold": rules[k].threshold,
                    "estimate": sh.estimate,
                    "lo": sh.lo,
                    "hi": sh.hi,
                    "incidents": sh.incidents,
                    "replications": e.reps,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(grows)


def plan_block(name: str, plan: Any) -> str:
    """The recommended plan as YAML to paste under ``plans:``."""
    body = plan.model_dump(mode="json", exclude_defaults=False)
    return yaml.safe_dump({name: body}, sort_keys=False, allow_unicode=True, width=100)


DATA_FILES = (  # (section, key) of every data file a scenario names, relative to its folder
    ("sites", "tps_file"),
    ("travel", "matrix_file"),
    ("boundaries", "kecamatan_file"),
    ("boundaries", "neighbours_file"),
)


def write_scenario(opt: Optimization, name: str, plan: Any, folder: Path) -> Path:
    """The scenario with the recommended plan added, and copies of its data files, in ``folder``."""
    sc = opt.scenario
    raw = json.loads(json.dumps(sc.raw, default=str))
    base = sc.path.resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for section, key in DATA_FILES:
        rel = (raw.get(section) or {}).get(key)
        if not rel:
            continue
        src = (base / rel).resolve()
        dest = Path(rel).name if Path(rel).name not in taken else f"{len(taken)}-{Path(rel).name}"
        taken.add(dest)
        shutil.copyfile(src, folder / dest)
        raw[section][key] = dest
    raw.pop("allow_data_outside", None)
    raw["plans"][name] = plan.model_dump(mode="json")
    head = (
        f"# {sc.name} with plan {name}: found by pilkada-sim optimize from plan {opt.space.start_plan}.\n"
        f"# Data files copied from {base}; the original's comments (sources, estimates) are in {sc.path.name}.\n"
    )
    path = folder / sc.path.name
    path.write_text(head + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return path


def changes_table(space: Space, values: Values) -> pd.DataFrame:
    """One row per variable the recommendation changes, with the personnel it ties up in each plan."""
    start_plan, rec_plan = space.plan(space.start), space.plan(values)
    rows = []
    for v, x in zip(space.variables, values, strict=True):
        if x == v.start:
            continue
        before, after = _entry_personnel(space, start_plan, v), _entry_personnel(space, rec_plan, v)
        rows.append(
            {
                "key": v.key,
                "section": v.section,
                "where": v.where,
                "kind": v.kind,
                "start": v.start,
                "recommended": x,
                "officers_start": before,
                "officers_recommended": after,
                "officers_delta": after - before,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "key",
            "section",
            "where",
            "kind",
            "start",
            "recommended",
            "officers_start",
            "officers_recommended",
            "officers_delta",
        ],
    )


def _entry_personnel(space: Space, plan: Any, var: Any) -> int:
    """The personnel (of ``var.kind``) the plan entry that ``var`` sits in ties up."""
    sc = space.scenario
    if var.section in ("patrols", "reserve", "tni_backup"):
        group = getattr(plan, var.section)[var.path[1]]
        return int(group.units * group.crew)
    if var.section == "tps_guards":
        rule = plan.tps_guards[var.where]
        clusters = guard_clusters(
            plan, _tps_classes(sc), pd.factorize(sc.tps["kecamatan"])[0], sc.tps["kecamatan"].nunique()
        )
        return int(rule.officers * int((clusters.tps_class == TPS_CLASSES.index(var.where)).sum()))
    if var.section == "linmas_per_tps":
        return int(plan.linmas_per_tps * len(sc.tps))
    if var.section == "ppk_guards":
        return int(plan.ppk_guards.officers * (len(sc.spec.sites.ppk) + 1))
    return 0


def _tps_classes(sc: LoadedScenario) -> np.ndarray:
    return np.asarray(pd.Categorical(sc.tps["class"], categories=TPS_CLASSES).codes)


def groups_table(opt: Optimization, results: Results, rec: str, world: World) -> pd.DataFrame:
    """Per target group and constraint, both plans in the confirmation and the paired difference."""
    groups, group_of_kec = target_groups(world)
    inc = results.incidents
    kec_index = {k: i for i, k in enumerate(world.kecamatan)}
    n = results.replications
    rows = []
    start = opt.space.start_plan

    def data(plan: str) -> Data:
        df = inc[(inc["plan"] == plan) & inc["t_report"].notna()]
        cols = {
            "rep": df["replication"].to_numpy(dtype=np.int64),
            "group": group_of_kec[df["kecamatan"].map(kec_index).to_numpy(dtype=np.int64)],
            "p1": (df["priority"] == 1).to_numpy(),
            "reached": df["reached"].to_numpy(dtype=bool),
            "within": df["within_target"].to_numpy(dtype=bool),
            "waited": (df["wait_min"] > 1e-9).to_numpy(),
            "response": df["response_min"].to_numpy(dtype=float),
        }
        reps = sorted(set(inc["replication"].tolist()))
        remap = {r: i for i, r in enumerate(reps)}
        cols["rep"] = np.asarray([remap[r] for r in cols["rep"]], dtype=np.int64)
        return Data(len(reps) or n, cols)

    ds, dr = data(start), data(rec)
    for rule in opt.settings.rules:
        a, b = dr.counts(rule.kpi, len(groups)), ds.counts(rule.kpi, len(groups))
        for g, name in enumerate(groups):
            sr = pooled_share(a[0][:, g], a[1][:, g])
            ss = pooled_share(b[0][:, g], b[1][:, g])
            d, lo, hi = paired_share_difference((a[0][:, g], a[1][:, g]), (b[0][:, g], b[1][:, g]))

            rows.append(
                {
                    "group": name,
                    "kpi": rule.kpi,
                    "direction": "at_least" if rule.at_least else "at_most",
                    "threshold": rule.threshold,
                    "start_estimate": ss.estimate,
                    "start_lo": ss.lo if ss.incidents else math.nan,
                    "start_hi": ss.hi if ss.incidents else math.nan,
                    "rec_estimate": sr.estimate,
                    "rec_lo": sr.lo if sr.incidents else math.nan,
                    "rec_hi": sr.hi if sr.incidents else math.nan,
                    "diff": d,
                    "diff_lo": lo,
                    "diff_hi": hi,
                    "start_met": _met(ss, rule),
                    "rec_met": _met(sr, rule),
                    "incidents": sr.incidents,
                }
            )
    return pd.DataFrame(rows)


def _met(sh: Share, rule: Rule) -> bool:
    """A share meets its constraint by its estimate (a group without such incidents: nothing to miss)."""
    if math.isnan(sh.estimate):
        return True
    return sh.estimate >= rule.threshold if rule.at_least else sh.estimate <= rule.threshold


def _write(opt: Optimization, folder: RunFolder, search: Search, result: Any, argv: Sequence[str] | None) -> Outcome:
    sc, space, s = opt.scenario, opt.space, opt.settings
    history, history_groups = _history(search)
    kind, payload = result
    tables: dict[str, pd.DataFrame] = {"history.csv": history, "history_groups.csv": history_groups}
    seed_rows = getattr(search, "seed_rows", [])
    if seed_rows:
        tables["seed.csv"] = pd.DataFrame(seed_rows)
    outcome = Outcome(folder.path, None, pd.DataFrame(columns=list(VERDICT_COLUMNS)), history, search=search)
    record: dict[str, Any] = {
        "method": METHOD[s.mode],
        "settings": _settings_record(opt),
        "start_plan": space.start_plan,
        "candidates": len(search.history),
        "replications_spent": search.spent,
        "budget_exhausted": search.budget_exhausted,
        "search_seed": s.seed,
        "confirm_seed": opt.confirm_seed,
    }
    if kind != "found" or payload is None:
        outcome.verdict = payload
        tables["verdict.csv"] = payload
        record.update({"verdict": "no plan meets the targets", "cause": kind, "recommended_plan": None})
    else:
        values: Values = payload
        name = opt.recommended_name
        plan = space.plan(values)
        (folder.path / "recommended_plan.yaml").write_text(
            f"# Plan {name}: {space.moves_text(values) or 'no change'} (from {space.start_plan}).\n"
            + plan_block(name, plan),
            encoding="utf-8",
        )
        scen_path = write_scenario(opt, name, plan, folder.path / "scenario")
        rec_sc = load_scenario(scen_path)
        changes = changes_table(space, values)
        outcome.recommended, outcome.changes = values, changes
        world = world_for(rec_sc)
        conf_dir = folder.path / "confirmation"
        study = prepare(
            rec_sc,
            "compare",
            baseline=space.start_plan,
            plans=[name],
            replications=s.confirm_reps,
            seed=opt.confirm_seed,
            workers=opt.workers,
            dask=opt.dask,
        )
        holder: dict[str, Any] = {}

        def addendum(results: Results) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
            groups = groups_table(opt, results, name, world)
            meets = bool(groups["rec_met"].all()) if len(groups) else True
            holder.update(groups=groups, meets=meets)
            rec = {
                "mode": s.mode,
                "start_plan": space.start_plan,
                "recommended_plan": name,
                "objective": s.objective if s.mode == "fixed_force" else None,
                "constraints": [r.text() for r in s.rules],
                "indifference": s.delta,
                "method": METHOD[s.mode],
                "candidates": len(search.history),
                "replications_spent": search.spent,
                "budget_reps": s.budget_reps,
                "budget_exhausted": search.budget_exhausted,
                "search_seed": s.seed,
                "confirm_seed": opt.confirm_seed,
                "confirm_replications": results.replications,
                "meets_targets": meets,
            }
            return {"optimization_changes.csv": changes, "optimization_groups.csv": groups}, {"optimization": rec}

        if (conf_dir / "manifest.json").exists():
            conf = json.loads((conf_dir / "manifest.json").read_text(encoding="utf-8"))
            holder["groups"] = pd.read_csv(conf_dir / "optimization_groups.csv", keep_default_na=True)
            holder["meets"] = bool(conf["optimization"]["meets_targets"])
        else:
            resume = conf_dir if (conf_dir / "job.json").exists() else None
            run_into_folder(study, None if resume else conf_dir, resume=resume, argv=argv, addendum=addendum)
        outcome.confirmation, outcome.groups, outcome.meets_targets = conf_dir, holder["groups"], holder["meets"]
        record.update(
            {
                "verdict": "meets the targets in the confirmation"
                if holder["meets"]
                else "misses a target in the confirmation",
                "recommended_plan": name,
                "meets_targets": holder["meets"],
                "personnel_start": space.total(space.start),
                "personnel_recommended": space.total(values),
            }
        )
        tables["optimization_changes.csv"] = changes
        tables["optimization_groups.csv"] = holder["groups"]
    manifest = provenance(
        sc,
        "optimize",
        seed=s.seed,
        replications=search.spent,
        plans=[space.start_plan],
        started=folder.started,
        argv=argv,
        extra={"optimization": record},
    )
    folder.finish(tables, manifest)
    return outcome
