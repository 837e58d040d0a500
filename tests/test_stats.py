"""The statistics code against scipy and numpy on known data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.stats import half_width_ratio, mean_ci, paired_comparison, pooled_percentiles, summarise


def test_mean_ci_matches_scipy():
    x = np.array([12.0, 15.5, 9.25, 20.0, 17.75, 11.0, 14.5])
    n, m, sd, lo, hi = mean_ci(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (n, m, sd) == (7, pytest.approx(x.mean()), pytest.approx(x.std(ddof=1)))
    assert (lo, hi) == (pytest.approx(ref[0]), pytest.approx(ref[1]))
    lo90, hi90 = mean_ci(x, 0.9)[3:]
    assert hi90 - lo90 < hi - lo


def test_mean_ci_edge_cases():
    assert mean_ci(np.array([np.nan, 3.0, np.nan, 5.0]))[:2] == (2, 4.0)  # NaNs dropped
    assert mean_ci(np.array([2.0, 2.0, 2.0]))[3:] == (2.0, 2.0)  # no spread: zero width
    n, m, sd, lo, _ = mean_ci(np.array([1.0]))
    assert (n, m) == (1, 1.0) and np.isnan(sd) and np.isnan(lo)
    assert mean_ci(np.array([]))[0] == 0
    assert half_width_ratio(np.array([1.0])) == np.inf


def test_half_width_ratio_by_hand():
    x = np.array([9.0, 11.0])  # mean 10, sd sqrt(2), half-width t(0.975, 1) * 1 = 12.706
    assert half_width_ratio(x) == pytest.approx(stats.t.ppf(0.975, 1) * 1.0 / 10)


def test_paired_comparison_matches_scipy_ttest_rel():
    rng = np.random.default_rng(5)
    day = rng.normal(100, 30, 25)  # a shared day effect: the reason to pair
    a = day + rng.normal(0, 3, 25)
    b = day - 4 + rng.normal(0, 3, 25)
    kpi = pd.DataFrame(
        {
            "replication": np.r_[np.arange(25), np.arange(25)],
            "plan": ["A"] * 25 + ["B"] * 25,
            "response_mean_min": np.r_[a, b],
        }
    )
    kpi["within_target"] = 1.0
    cmp = paired_comparison(kpi, "A", ["B"])
    row = cmp.set_index("kpi").loc["response_mean_min"]
    ref = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert row["difference"] == pytest.approx((b - a).mean())
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert bool(row["significant"]) == (stats.ttest_rel(b, a).pvalue < 0.05)


def test_summarise_matches_mean_ci_and_clips_shares():
    kpi = pd.DataFrame(
        {
            "replication": [0, 1, 2],
            "plan": "A",
            "within_target": [1.0, 1.0, 0.9],
            "response_mean_min": [10.0, 12.0, 14.0],
        }
    )
    s = summarise(kpi, ["A"]).set_index("kpi")
    assert s.loc["response_mean_min", "mean"] == 12.0
    lo, hi = stats.t.interval(0.95, 2, loc=12.0, scale=stats.sem([10.0, 12.0, 14.0]))
    assert (s.loc["response_mean_min", "ci_low"], s.loc["response_mean_min", "ci_high"]) == (
        pytest.approx(lo),
        pytest.approx(hi),
    )
    assert s.loc["within_target", "ci_high"] == 1.0  # a share's interval stops at 100%
    assert "incidents" not in s.index  # a KPI the table does not have is left out


def test_pooled_percentiles_match_numpy_and_bootstrap_covers():
    rng = np.random.default_rng(2)
    inc = pd.DataFrame(
        {"replication": np.repeat(np.arange(50), 30), "plan": "A", "response_min": rng.exponential(40.0, 1500)}
    )
    inc.loc[::7, "response_min"] = np.nan  # unreached incidents are left out
    pct = pooled_percentiles(inc, ["A"]).set_index("quantile")
    values = inc["response_min"].dropna().to_numpy()
    expected = np.percentile(values, [50, 90, 95], method="inverted_cdf")
    assert pct["response_min"].tolist() == pytest.approx(expected.tolist())
    assert (pct["ci_low"] <= pct["response_min"]).all() and (pct["response_min"] <= pct["ci_high"]).all()
    # The true exponential quantiles (40 ln 2, 40 ln 10, 40 ln 20) lie inside the intervals.
    for q, true in ((50, 40 * np.log(2)), (90, 40 * np.log(10)), (95, 40 * np.log(20))):
        assert pct.loc[q, "ci_low"] <= true <= pct.loc[q, "ci_high"], q
    assert pooled_percentiles(inc, ["A"]).equals(pct.reset_index()[pooled_percentiles(inc, ["A"]).columns])
