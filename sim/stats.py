"""Statistics over replications: Student-t intervals, paired differences, pooled percentiles.

Replications are the independent units: every interval here treats a replication as one
observation (incidents within a replication share a day and are not independent).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.metrics import KPIS, POOLED_QUANTILES, SHARE_KPIS

SUMMARY_KPIS = list(KPIS)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20241127  # fixed: the same data give the same interval
PAIRED_STATS = ("difference", "sd", "ci_low", "ci_high", "significant")  # a paired row's fields after the means
SWEEP_COMPARISON_COLUMNS = (  # sweep_comparison.csv, before the study adds the varied keys
    "point",
    "plan",
    "reference_point",
    "kpi",
    "n",
    "point_mean",
    "reference_mean",
    *PAIRED_STATS,
)


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, CI low, CI high): Student-t interval over replications; NaNs are dropped.

    With fewer than two values the sd and interval are NaN; with zero spread the interval has zero
    width.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return (0, np.nan, np.nan, np.nan, np.nan)
    m = float(x.mean())
    if n < 2:
        return (1, m, np.nan, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n) if sd > 0 else 0.0
    return (n, m, sd, m - half, m + half)


def half_width_ratio(values: np.ndarray, level: float = 0.95) -> float:
    """CI half-width relative to |mean| (inf while it cannot be computed)."""
    n, m, _, lo, hi = mean_ci(values, level)
    if n < 2 or not np.isfinite(lo) or m == 0:
        return np.inf
    return float((hi - lo) / 2 / abs(m))


def summarise(kpi: pd.DataFrame, plans: list[str], by: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """One row per (group, plan, KPI): n, mean, sd and Student-t CI over replications."""
    by = by or []
    rows = []
    groups = kpi.groupby(by, sort=False) if by else [((), kpi)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        for plan in plans:
            p = sub[sub["plan"] == plan]
            for k in [k for k in SUMMARY_KPIS if k in kpi.columns]:
                n, m, sd, lo, hi = mean_ci(p[k].to_numpy(dtype=float), level)
                # Every KPI is a count, a duration or a share: its interval stops at 0 (and 100%).
                lo = max(lo, 0.0) if np.isfinite(lo) else lo
                if k in SHARE_KPIS and np.isfinite(hi):
                    hi = min(hi, 1.0)
                rows.append(
                    {
                        **dict(zip(by, key, strict=True)),
                        "plan": plan,
                        "kpi": k,
                        "n": n,
                        "mean": m,
                        "sd": sd,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    return pd.DataFrame(rows)


def _paired_difference(other: np.ndarray, base: np.ndarray, share: bool, level: float) -> dict[str, Any]:
    """Mean of ``other - base`` (aligned by replication), its sd and paired-t interval, both means.

    The fields every paired row has, whatever is paired (two plans, two sweep points);
    ``significant`` is True when the interval excludes zero.
    """
    n, d, sd, lo, hi = mean_ci(other - base, level)
    if share and np.isfinite(lo):  # a difference of shares lies within +-100 points
        lo, hi = max(lo, -1.0), min(hi, 1.0)
    return {
        "n": n,
        "mean": float(np.nanmean(other)) if np.isfinite(other).any() else np.nan,
        "base_mean": float(np.nanmean(base)) if np.isfinite(base).any() else np.nan,
        "difference": d,
        "sd": sd,
        "ci_low": lo,
        "ci_high": hi,
        "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
    }


def _by_replication(kpi: pd.DataFrame, index: pd.Index | None = None) -> pd.DataFrame:
    """KPI rows indexed by replication (aligned to ``index`` if given: missing ones are NaN)."""
    rows = kpi.set_index("replication")
    return rows if index is None else rows.reindex(index)


def _kpi_keys(kpi: pd.DataFrame) -> list[str]:
    return [k for k in SUMMARY_KPIS if k in kpi.columns]


def paired_comparison(kpi: pd.DataFrame, baseline: str, plans: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per plan and KPI: mean of (plan - baseline) over replications, with a paired-t interval.

    Replications are paired by index: both plans faced the same incident stream (common random
    numbers), so the day-to-day variation cancels. ``significant`` is True when the interval
    excludes zero.
    """
    base = _by_replication(kpi[kpi["plan"] == baseline])
    rows = []
    for plan in plans:
        other = _by_replication(kpi[kpi["plan"] == plan], base.index)
        for k in _kpi_keys(kpi):
            d = _paired_difference(
                other[k].to_numpy(dtype=float), base[k].to_numpy(dtype=float), k in SHARE_KPIS, level
            )
            rows.append(
                {
                    "plan": plan,
                    "baseline": baseline,
                    "kpi": k,
                    "n": d["n"],
                    "plan_mean": d["mean"],
                    "baseline_mean": d["base_mean"],
                    **{c: d[c] for c in PAIRED_STATS},
                }
            )
    return pd.DataFrame(rows)


def paired_point_comparison(
    kpi: pd.DataFrame, reference: int, plans: list[str], points: list[int], level: float = 0.95
) -> pd.DataFrame:
    """Per sweep point (of ``points``), plan and KPI: mean of (point - reference point) over
    replications, with a paired-t interval.

    The sweep's counterpart of :func:`paired_comparison`: replication ``r`` of every point faced
    the same incident streams (they are keyed by seed and replication, not by point), so each
    plan at a point is paired with the same plan at the ``reference`` point, replication by
    replication. The reference point's own rows are a zero difference with a zero-width interval.
    """
    rows = []
    for plan in plans:
        of_plan = kpi[kpi["plan"] == plan]
        base = _by_replication(of_plan[of_plan["point"] == reference])
        for point in points:
            other = _by_replication(of_plan[of_plan["point"] == point], base.index)
            for k in _kpi_keys(kpi):
                b, o = base[k].to_numpy(dtype=float), other[k].to_numpy(dtype=float)
                d = _paired_difference(o, b, k in SHARE_KPIS, level)
                rows.append(_point_row(point, plan, reference, k, d))
    return pd.DataFrame(rows, columns=list(SWEEP_COMPARISON_COLUMNS))


def _point_row(point: int, plan: str, reference: int, kpi: str, d: dict[str, Any]) -> dict[str, Any]:
    return {
        "point": point,
        "plan": plan,
        "reference_point": reference,
        "kpi": kpi,
        "n": d["n"],
        "point_mean": d["mean"],
        "reference_mean": d["base_mean"],
        **{c: d[c] for c in PAIRED_STATS},
    }


BOOTSTRAP_CELLS = 500_000  # resamples x incidents computed at once (each cell a few arrays of 8 bytes)


def _quantile_index(cum: np.ndarray, q: float) -> np.ndarray:
    """Index of the q-quantile (inverted-CDF definition) for each row of cumulative weights."""
    return np.minimum((cum < q * cum[:, -1:]).sum(axis=1), cum.shape[1] - 1)


def _resamples(n_reps: int) -> np.ndarray:
    """[resample, replication]: how often each replication is drawn, the same for every plan."""
    if n_reps == 0:
        return np.zeros((BOOTSTRAP_RESAMPLES, 0), dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(BOOTSTRAP_SEED))
    return rng.multinomial(n_reps, np.full(n_reps, 1 / n_reps), size=BOOTSTRAP_RESAMPLES)


def _bootstrap(values: np.ndarray, rep_of: np.ndarray, counts: np.ndarray, qs: list[float]) -> np.ndarray:
    """[resample, quantile]: pooled quantiles of ``values`` (sorted) over resampled replications."""
    out = np.empty((len(counts), len(qs)))
    # Resamples at a time: chunk x incidents cells, a few MB whatever the replications (the same
    # result for any chunk: each resample is computed on its own).
    chunk = max(1, min(100, BOOTSTRAP_CELLS // max(1, len(values))))
    for start in range(0, len(counts), chunk):
        c = counts[start : start + chunk]
        cum = np.cumsum(c[:, rep_of], axis=1, dtype=np.float64)
        empty = cum[:, -1] == 0  # a resample that drew no replication with incidents
        cum[empty] = 1.0
        for j, q in enumerate(qs):
            v = values[_quantile_index(cum, q)]
            out[start : start + chunk, j] = np.where(empty, np.nan, v)
    return out


def _pooled_sample(sub: pd.DataFrame, plan: str, reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Response times of dispatched incidents of ``plan`` (sorted) and their replication positions."""
    p = sub[(sub["plan"] == plan) & sub["response_min"].notna()]
    values = p["response_min"].to_numpy(dtype=float)
    order = np.argsort(values, kind="stable")
    return values[order], np.searchsorted(reps, p["replication"].to_numpy())[order]


def _point(values: np.ndarray, q: float) -> float:
    return float(values[_quantile_index(np.arange(1.0, len(values) + 1)[None, :], q)[0]])


def pooled_percentiles(
    incidents: pd.DataFrame,
    plans: list[str],
    quantiles=POOLED_QUANTILES,
    level: float = 0.95,
    by: list[str] | None = None,
) -> pd.DataFrame:
    """Percentiles of response time pooled over all replications, with cluster-bootstrap intervals.

    Over dispatched incidents, unreached ones censored at the horizon (``response_min`` as
    :mod:`sim.metrics` defines it), by the one percentile definition there (inverted CDF). The
    bootstrap resamples whole replications (with replacement) and recomputes the pooled
    percentile: incidents of one day are correlated, so resampling them one by one would give
    intervals that are too narrow.
    """
    by = by or []
    rows = []
    groups = incidents.groupby(by, sort=False) if by else [((), incidents)]
    qs = [q / 100 for q in quantiles]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        reps = np.unique(sub["replication"])
        counts = _resamples(len(reps))
        for plan in plans:
            values, rep_of = _pooled_sample(sub, plan, reps)
            boot = _bootstrap(values, rep_of, counts, qs) if len(values) else None
            for j, q in enumerate(quantiles):
                row = {
                    **dict(zip(by, key, strict=True)),
                    "plan": plan,
                    "quantile": q,
                    "n_incidents": len(values),
                    "replications": len(reps),
                    "response_min": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                }
                if boot is not None:
                    lo, hi = np.nanquantile(boot[:, j], [(1 - level) / 2, (1 + level) / 2])
                    row.update(response_min=_point(values, qs[j]), ci_low=float(lo), ci_high=float(hi))
                rows.append(row)
    return pd.DataFrame(rows)


def _pooled_difference(
    sample: tuple[np.ndarray, np.ndarray],
    base: tuple[np.ndarray, np.ndarray],
    base_boot: np.ndarray | None,
    counts: np.ndarray,
    q: float,
    level: float,
) -> dict[str, Any]:
    """Pooled q-quantile of ``sample`` minus ``base``'s (each: sorted values and their replication
    positions), with the bootstrap interval of the difference over the resamples ``counts``
    (``base_boot``: the base's quantile in each resample, None when it has no incident).

    The fields of :func:`_paired_difference`; ``sd`` is the bootstrap standard deviation.
    """
    (v, r), (base_v, _) = sample, base
    row: dict[str, Any] = {
        "mean": _point(v, q) if len(v) else np.nan,
        "base_mean": _point(base_v, q) if len(base_v) else np.nan,
        "difference": np.nan,
        "sd": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "significant": False,
    }
    if base_boot is not None and len(v):
        diff = _bootstrap(v, r, counts, [q])[:, 0] - base_boot
        lo, hi = np.nanquantile(diff, [(1 - level) / 2, (1 + level) / 2])
        row.update(
            difference=_point(v, q) - _point(base_v, q),
            sd=float(np.nanstd(diff, ddof=1)),
            ci_low=float(lo),
            ci_high=float(hi),
            significant=bool(lo > 0 or hi < 0),
        )
    return row


def _base_bootstrap(base: tuple[np.ndarray, np.ndarray], counts: np.ndarray, q: float) -> np.ndarray | None:
    values, rep_of = base
    return _bootstrap(values, rep_of, counts, [q])[:, 0] if len(values) else None


def paired_pooled_difference(
    incidents: pd.DataFrame, baseline: str, plans: list[str], quantile: int = 90, level: float = 0.95
) -> pd.DataFrame:
    """Per plan: pooled percentile of response minus the baseline's, with a paired bootstrap interval.

    Rows in the layout of :func:`paired_comparison`, KPI ``response_pooled_p<q>_min``. Each
    bootstrap resample draws the same replications for both plans (they faced the same days), so
    the interval is paired like the Student-t ones; ``sd`` is the bootstrap standard deviation.
    """
    reps = np.unique(incidents["replication"])
    counts = _resamples(len(reps))
    q = quantile / 100
    base = _pooled_sample(incidents, baseline, reps)
    base_boot = _base_bootstrap(base, counts, q)
    rows = []
    for plan in plans:
        d = _pooled_difference(_pooled_sample(incidents, plan, reps), base, base_boot, counts, q, level)
        rows.append(
            {
                "plan": plan,
                "baseline": baseline,
                "kpi": f"response_pooled_p{quantile}_min",
                "n": len(reps),
                "plan_mean": d["mean"],
                "baseline_mean": d["base_mean"],
                **{c: d[c] for c in PAIRED_STATS},
            }
        )
    return pd.DataFrame(rows)


def paired_point_pooled_difference(
    incidents: pd.DataFrame,
    reference: int,
    plans: list[str],
    points: list[int],
    quantile: int = 90,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per sweep point (of ``points``) and plan: pooled percentile of response minus the reference
    point's, with a paired bootstrap interval (rows in the layout of :func:`paired_point_comparison`).

    Every resample draws the same replications at every point (the same days), so the interval is
    paired like the Student-t ones of :func:`paired_point_comparison`.
    """
    reps = np.unique(incidents["replication"])
    counts = _resamples(len(reps))
    q = quantile / 100
    at = {p: incidents[incidents["point"] == p] for p in points}  # a point without incidents: empty
    ref = at[reference]
    rows = []
    for plan in plans:
        base = _pooled_sample(ref, plan, reps)
        base_boot = _base_bootstrap(base, counts, q)
        for point in points:
            d = _pooled_difference(_pooled_sample(at[point], plan, reps), base, base_boot, counts, q, level)
            rows.append(_point_row(point, plan, reference, f"response_pooled_p{quantile}_min", {"n": len(reps), **d}))
    return pd.DataFrame(rows, columns=list(SWEEP_COMPARISON_COLUMNS))
