"""Statistics over replications: Student-t intervals, paired differences, pooled percentiles.

Replications are the independent units: every interval here treats a replication as one
observation (incidents within a replication share a day and are not independent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.metrics import KPIS, POOLED_QUANTILES, SHARE_KPIS

SUMMARY_KPIS = list(KPIS)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20241127  # fixed: the same data give the same interval


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


def paired_comparison(kpi: pd.DataFrame, baseline: str, plans: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per plan and KPI: mean of (plan - baseline) over replications, with a paired-t interval.

    Replications are paired by index: both plans faced the same incident stream (common random
    numbers), so the day-to-day variation cancels. ``significant`` is True when the interval
    excludes zero.
    """
    base = kpi[kpi["plan"] == baseline].set_index("replication")
    rows = []
    for plan in plans:
        other = kpi[kpi["plan"] == plan].set_index("replication").reindex(base.index)
        for k in [k for k in SUMMARY_KPIS if k in kpi.columns]:
            b = base[k].to_numpy(dtype=float)
            o = other[k].to_numpy(dtype=float)
            n, d, sd, lo, hi = mean_ci(o - b, level)
            if k in SHARE_KPIS and np.isfinite(lo):  # a difference of shares lies within +-100 points
                lo, hi = max(lo, -1.0), min(hi, 1.0)
            rows.append(
                {
                    "plan": plan,
                    "baseline": baseline,
                    "kpi": k,
                    "n": n,
                    "plan_mean": float(np.nanmean(o)) if np.isfinite(o).any() else np.nan,
                    "baseline_mean": float(np.nanmean(b)) if np.isfinite(b).any() else np.nan,
                    "difference": d,
                    "sd": sd,
                    "ci_low": lo,
                    "ci_high": hi,
                    "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
                }
            )
    return pd.DataFrame(rows)


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
    base_v, base_r = _pooled_sample(incidents, baseline, reps)
    base_boot = _bootstrap(base_v, base_r, counts, [q])[:, 0] if len(base_v) else None
    rows = []
    for plan in plans:
        v, r = _pooled_sample(incidents, plan, reps)
        row = {
            "plan": plan,
            "baseline": baseline,
            "kpi": f"response_pooled_p{quantile}_min",
            "n": len(reps),
            "plan_mean": _point(v, q) if len(v) else np.nan,
            "baseline_mean": _point(base_v, q) if len(base_v) else np.nan,
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
        rows.append(row)
    return pd.DataFrame(rows)
