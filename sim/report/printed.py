"""What the command line prints: the run, confidence-interval, verdict and sweep tables, the
precision line and the validate personnel table.

These are report output (words and layout, no statistics): every figure comes from the saved
tables or from :mod:`sim.metrics` and :mod:`sim.scenario`, which define it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim import metrics
from sim.exercise import ExerciseResult
from sim.experiment import Point
from sim.report.data import TARGET_SHARE, SweepVerdict, share_as_shown, sweep_verdicts
from sim.runner import PRECISION_KPI, Outcome, Precision
from sim.scenario import LoadedScenario, personnel_use


def validation_text(sc: LoadedScenario) -> str:
    """What ``validate`` prints: the scenario in one line, then each plan's personnel per kind."""
    n_sites = len(sc.spec.sites.ppk) + 1
    kinds = list(sc.spec.forces)
    lines = [
        f"{sc.path}: scenario '{sc.name}' is valid: {len(sc.tps):,} TPS, {len(sc.spec.sites.ppk):,} kecamatan, "
        f"{int(sc.tps['voters'].sum()):,} voters, {len(sc.spec.plans)} plans",
        f"{'plan':<16}" + "".join(f"{k:>16}" for k in kinds),
        f"{'(available)':<16}" + "".join(f"{sc.spec.forces[k]:>16}" for k in kinds),
    ]
    for name, plan in sc.spec.plans.items():
        use = personnel_use(plan, sc.tps, n_sites)
        lines.append(f"{name:<16}" + "".join(f"{use.get(k, 0):>16}" for k in kinds))
    return "\n".join(lines)


SUMMARY_COLUMNS = [  # kpi, header, width, format: the printed run table (means over replications)
    ("incidents", "incidents", 10, ".1f"),
    ("dispatched", "dispatched", 11, ".1f"),
    ("reached_share", "reached", 9, ".0%"),
    ("response_mean_min", "mean resp", 10, ".1f"),
    ("within_target", "in target", 10, ".0%"),
    ("within_target_p1", "P1 in target", 13, ".0%"),
    ("escalations", "escalated", 10, ".1f"),
    ("peak_busy_units", "peak busy", 10, ".1f"),
]


def summary_table(kpi: pd.DataFrame, plans: list[str]) -> str:
    """Mean over replications per plan, as printed after a run (definitions: sim.metrics)."""
    head = f"{'plan':<14}" + "".join(f"{h:>{w}}" for _, h, w, _ in SUMMARY_COLUMNS)
    lines = [head, "-" * len(head)]
    for plan in plans:
        k = kpi[kpi["plan"] == plan]
        cells = []
        for col, _, w, fmt in SUMMARY_COLUMNS:
            vals = k[col].to_numpy(dtype=float)
            v = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
            cells.append(f"{v:>{w}{fmt}}" if np.isfinite(v) else f"{'n/a':>{w}}")
        lines.append(f"{plan:<14}" + "".join(cells))
    lines.append(
        f"(means over {kpi['replication'].nunique()} replications of dispatched incidents; response in minutes, "
        "unreached counted at the horizon; 'in target' = reached within the target for their kecamatan and priority)"
    )
    return "\n".join(lines)


def _records(df: pd.DataFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows of a table as dicts, looked up by the values of ``keys``."""
    return {tuple(r[k] for k in keys): {str(c): v for c, v in r.items()} for r in df.to_dict("records")}


def _ci(row: dict[str, Any], scale: float = 1.0, fmt: str = ".1f") -> str:
    if not np.isfinite(row["mean"]):
        return "n/a"
    if not np.isfinite(row["ci_low"]):
        return f"{row['mean'] * scale:{fmt}}"
    return f"{row['mean'] * scale:{fmt}} [{row['ci_low'] * scale:{fmt}}, {row['ci_high'] * scale:{fmt}}]"


def ci_table(summary: pd.DataFrame, pct: pd.DataFrame, plans: list[str]) -> str:
    """Main KPIs with 95% intervals: replication means (Student t) and the pooled p90 (bootstrap)."""
    s = _records(summary, ["plan", "kpi"])
    q = _records(pct, ["plan", "quantile"])
    head = f"{'plan':<14}{'mean response min':>26}{'pooled p90 min':>26}{'in target %':>16}{'reached %':>16}"
    lines = ["95% confidence intervals", head, "-" * len(head)]
    for plan in plans:
        p90 = q[(plan, metrics.HEADLINE_QUANTILE)]
        pooled = _ci({"mean": p90["response_min"], "ci_low": p90["ci_low"], "ci_high": p90["ci_high"]})
        lines.append(
            f"{plan:<14}{_ci(s[(plan, 'response_mean_min')]):>26}{pooled:>26}"
            f"{_ci(s[(plan, 'within_target')], 100, '.0f'):>16}{_ci(s[(plan, 'reached_share')], 100, '.0f'):>16}"
        )
    return "\n".join(lines)


VERDICT_KPIS = [  # kpi, unit, scale: the compare verdict; labels and direction from sim.metrics
    ("response_mean_min", "min", 1.0),
    (f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min", "min", 1.0),
    ("within_target", "points", 100.0),
    ("within_target_p1", "points", 100.0),
    ("waited_share", "points", 100.0),
    ("escalations", "", 1.0),
    ("peak_unguarded_tps", "", 1.0),
    ("open_at_end", "", 1.0),
]


def cost_line(sc: LoadedScenario, baseline: str, plan: str) -> str:
    """What ``plan`` costs against ``baseline``: personnel on duty per kind that differs."""
    n_sites = len(sc.spec.sites.ppk) + 1
    a = personnel_use(sc.spec.plans[baseline], sc.tps, n_sites)
    b = personnel_use(sc.spec.plans[plan], sc.tps, n_sites)
    changed = [k for k in sc.spec.forces if a.get(k, 0) != b.get(k, 0)]
    items = [f"{k} {a.get(k, 0)} -> {b.get(k, 0)} ({b.get(k, 0) - a.get(k, 0):+d})" for k in changed]
    return "  personnel on duty        " + ("; ".join(items) if items else "the same")


def verdict_table(comparison: pd.DataFrame, baseline: str, plans: list[str], sc: LoadedScenario | None = None) -> str:
    """One block per plan: paired differences against the baseline in words, with 95% intervals;
    with the scenario, what the plan costs in personnel (:func:`cost_line`)."""
    c = _records(comparison, ["plan", "kpi"])
    lines = []
    for plan in plans:
        n = int(c[(plan, "response_mean_min")]["n"])
        lines.append(f"{plan} vs {baseline} (paired over {n} replications, 95% CI)")
        if sc is not None:
            lines.append(cost_line(sc, baseline, plan))
        for kpi, unit, scale in VERDICT_KPIS:
            meta = metrics.kpi(kpi)
            label, smaller_better = meta.label_en[:1].lower() + meta.label_en[1:], meta.better == "lower"
            r = c[(plan, kpi)]
            d, lo, hi = r["difference"] * scale, r["ci_low"] * scale, r["ci_high"] * scale
            if not np.isfinite(d):
                lines.append(f"  {label:<24} n/a")
                continue
            if d == 0 and lo == 0 and hi == 0:
                words = "no difference"
            elif unit == "points":
                words = f"{d:+.1f} points"
            elif unit == "min":
                words = f"{abs(d):.1f} min {'shorter' if d < 0 else 'longer'}"
            else:
                words = f"{d:+.2f}"
            better = (d < 0) == smaller_better
            verdict = ("better" if better else "worse") if r["significant"] else "not significant"
            if not np.isfinite(lo):
                interval = ""
            elif unit == "min" and (lo > 0 or hi < 0):  # magnitudes, in the sense of the words
                interval = f"[{min(abs(lo), abs(hi)):.1f}, {max(abs(lo), abs(hi)):.1f}]"
            else:
                interval = f"[{lo:+.1f}, {hi:+.1f}]"
            lines.append(f"  {label:<24} {words:<22} {interval:<20} {verdict}")
    return "\n".join(lines)


SWEEP_SHARE = "within_target"  # the share the sweep verdict judges (sim.report.data.sweep_verdicts)


def _shown_share(row: dict[str, Any]) -> dict[str, Any]:
    """A summary row of a share with its mean and interval as shown (whole percents), the figures
    the verdict below the table judges."""
    return {**row, **{c: share_as_shown(float(row[c])) for c in ("mean", "ci_low", "ci_high")}}


def _change(row: dict[str, Any] | None, reference: bool, scale: float = 1.0) -> str:
    """A paired difference from the reference point, '+15.6 [+8.1, +23.0]' ('reference' at it,
    'no difference' where every replication is the same)."""
    if reference:
        return "reference"
    if row is None or not np.isfinite(row["difference"]):
        return "n/a"
    d, lo, hi = (row[c] * scale for c in ("difference", "ci_low", "ci_high"))
    if d == 0 and lo == 0 and hi == 0:
        return "no difference"
    return f"{d:+.1f}" + (f" [{lo:+.1f}, {hi:+.1f}]" if np.isfinite(lo) else "")


def _point_text(keys: list[str], values: tuple[str, ...]) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values, strict=True))


def sweep_table(
    summary: pd.DataFrame, comparison: pd.DataFrame, points: list[Point], plans: list[str], reference: int
) -> str:
    """Per grid point and plan: mean response, mean daily p90 and share in target with 95%
    intervals, the mean response and share in target as paired differences from the reference
    point (sweep_comparison.csv), then the verdict on each plan, judged on the shares as printed."""
    keys = [k for k, _ in points[0].values]
    values = {pt.index: tuple(v for _, v in pt.values) for pt in points}
    ref = _point_text(keys, values[reference])
    head = (
        "  ".join(f"{k.split('.')[-1]:>10}" for k in keys) + f"  {'plan':<14}{'mean response min':>22}"
        f"{'change min':>24}{'daily p90 min (mean)':>24}{'in target %':>16}{'change points':>24}"
    )
    lines = [head, "-" * len(head)]
    s = _records(summary, ["point", "plan", "kpi"])
    c = _records(comparison, ["point", "plan", "kpi"])
    for pt in points:
        at_ref = pt.index == reference
        for plan in plans:
            vals = "  ".join(f"{v:>10}" for _, v in pt.values)
            lines.append(
                f"{vals}  {plan:<14}{_ci(s[(pt.index, plan, 'response_mean_min')]):>22}"
                f"{_change(c.get((pt.index, plan, 'response_mean_min')), at_ref):>24}"
                f"{_ci(s[(pt.index, plan, 'response_daily_p90_min')]):>24}"
                f"{_ci(_shown_share(s[(pt.index, plan, SWEEP_SHARE)]), 100, '.0f'):>16}"
                f"{_change(c.get((pt.index, plan, SWEEP_SHARE)), at_ref, 100):>24}"
            )
    lines.append(
        "(mean over replications with 95% Student-t intervals; changes from the reference point "
        f"{ref}, paired over the same replications)"
    )
    for v in sweep_verdicts(summary, values, plans):
        lines.append(_sweep_verdict_line(v, keys, values))
    return "\n".join(lines)


def _sweep_verdict_line(v: SweepVerdict, keys: list[str], values: dict[int, tuple[str, ...]]) -> str:
    """The verdict on one plan in words, on the share as the table prints it."""
    goal = f"{TARGET_SHARE:.0%}"
    share = f"{100 * v.share:.0f}%"
    if np.isfinite(v.ci_low):
        share += f" [{100 * v.ci_low:.0f}, {100 * v.ci_high:.0f}]"
    if v.point is not None:
        first = f"the smallest {keys[0].split('.')[-1]}" if v.by_value else "the first point (--vary order)"
        point = values[v.point][0] if v.by_value else _point_text(keys, values[v.point])
        sure = ""
        if np.isfinite(v.ci_low):
            sure = f"; its lower end reaches {goal} too" if v.sure else f"; its lower end is below {goal}, not certain"
        return f"{v.plan}: {first} reaching {goal} in target is {point} ({share}{sure})"
    if v.best is not None:
        best = _point_text(keys, values[v.best])
        return f"{v.plan}: no point reaches {goal} in target; the highest is {share} at {best}"
    return f"{v.plan}: no incident needed a unit at any point"


def precision_line(outcome: Outcome, precision: Precision) -> str:
    """Whether the precision target was reached, and after how many replications."""
    got = outcome.precision_achieved
    got_text = f"{got:.1%}" if got is not None and np.isfinite(got) else "n/a"
    if outcome.precision_reached:
        return (
            f"precision {precision.target:.0%} reached after {outcome.replications} replications "
            f"({PRECISION_KPI} half-width {got_text} of the mean, worst plan)"
        )
    return (
        f"precision {precision.target:.0%} NOT reached: stopped at the ceiling of {outcome.replications} "
        f"replications ({PRECISION_KPI} half-width {got_text} of the mean); raise --reps"
    )


def exercise_line(result: ExerciseResult, plan: str, seed: int, replications: int) -> str:
    """What an exercise printed when it is done: the injects, and replication 0 in two numbers."""
    aar = result.aar
    first = aar[(aar["replication"] == 0) & (aar["kind"] == "incident")]
    n_dec = int((result.decisions["replication"] == 0).sum())
    return (
        f"exercise: {len(result.events)} injects, plan {plan}, seed {seed}, {replications} replication(s); "
        f"replication 0: {int((first['in_time'] > 0).sum())} of {len(first)} incident injects reached in time, "
        f"{n_dec} decision points"
    )


def optimization_text(opt: Any, done: Any) -> str:
    """What ``optimize`` prints: the search in one line, then the changes and the confirmation, or the verdict."""
    s, space = opt.settings, opt.space
    search = done.search
    lines = [
        f"{s.mode.replace('_', ' ')} from plan {space.start_plan}: {len(done.history)} candidates, "
        f"{search.spent:,} of {s.budget_reps:,} replications"
        + (" (budget exhausted)" if search.budget_exhausted else "")
    ]
    if done.recommended is None:
        lines.append("no plan within the moves and the forces meets the targets:")
        for r in done.verdict.itertuples():
            where = f" ({r.kecamatan})" if r.kecamatan else ""
            if r.cause == "travel":
                why = (
                    f"travel alone from the nearest post exceeds the target for {1 - r.estimate:.0%} of these "
                    f"incidents ({r.incidents} in {r.replications} replications; the group can reach at most "
                    f"{r.hi:.0%})"
                )
            elif r.cause == "capacity":
                why = (
                    f"with every move at its bound it reaches {r.estimate:.1%} [{r.lo:.1%}, {r.hi:.1%}] "
                    f"({r.incidents} incidents in {r.replications} replications)"
                )
            else:
                why = "the budget ran out before any plan was judged feasible"
            lines.append(f"  {r.group or '(default targets)'}{where}: {r.kpi} >= {r.threshold:g}: {why}")
        return "\n".join(lines)
    before, after = space.total(space.start), space.total(done.recommended)
    lines.append(
        f"recommended plan {opt.recommended_name}: {after:,} personnel (start {before:,}, {after - before:+,})"
    )
    for r in done.changes.itertuples():
        lines.append(f"  {r.key}: {r.start} -> {r.recommended} ({r.officers_delta:+d} {r.kind})")
    lines.append(
        f"confirmation on {s.confirm_reps} fresh replications (seed {opt.confirm_seed}): "
        + ("every group meets every target" if done.meets_targets else "some targets are missed")
    )
    head = f"  {'group':<22}{'kpi':<18}{'target':>8}{'start':>10}{'recommended':>24}{'difference':>26}"
    lines.append(head)
    for r in done.groups.itertuples():
        rec = f"{r.rec_estimate:.1%} [{r.rec_lo:.1%}, {r.rec_hi:.1%}]" if np.isfinite(r.rec_estimate) else "n/a"
        diff = f"{r.diff:+.1%} [{r.diff_lo:+.1%}, {r.diff_hi:+.1%}]" if np.isfinite(r.diff) else "n/a"
        start = f"{r.start_estimate:.1%}" if np.isfinite(r.start_estimate) else "n/a"
        mark = "" if r.rec_met else "  MISSED"
        lines.append(
            f"  {(r.group or '(default)')[:21]:<22}{r.kpi:<18}{r.threshold:>8.0%}{start:>10}{rec:>24}{diff:>26}{mark}"
        )
    return "\n".join(lines)
