"""The model against queueing theory: scenarios/checks/mmc.yaml is an M/M/c queue in disguise.

With zero travel, exponential on-scene times and one unit per incident, the wait for a free unit
is the M/M/c queueing delay. Erlang C gives P(wait > 0) and the mean wait; the simulated values
(per-replication means after a one-day warm-up, then a Student-t 95% interval over replications)
must cover them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim import load_scenario, run_experiment

ROOT = Path(__file__).resolve().parent.parent
C_UNITS = 3
MEAN_SERVICE_MIN = 60.0
WARMUP_MIN = 24 * 60.0


def erlang_c(c: int, lam: float, mu: float) -> tuple[float, float]:
    """P(wait > 0) and mean wait [same unit as 1/mu] of an M/M/c queue, by the textbook formula."""
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (head + tail)
    return p_wait, p_wait / (c * mu - lam)


def t_interval(x: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def test_erlang_c_by_hand():
    # c=2, a=1 (rho=0.5): C = (1/2 * 2) / (1 + 1 + 1) = 1/3; Wq = C / (c mu - lam) = 1/3 / (2-1).
    p, w = erlang_c(2, 1.0, 1.0)
    assert p == pytest.approx(1 / 3) and w == pytest.approx(1 / 3)


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.5, 0.85])
def test_mmc_matches_erlang_c(rho):
    lam_per_h = rho * C_UNITS * 60.0 / MEAN_SERVICE_MIN
    sc = load_scenario(
        ROOT / "scenarios/checks/mmc.yaml", [f"incidents.types.call.rate_per_site_hour.logistics={lam_per_h}"]
    )
    reps = 60
    res = run_experiment(sc, ["c3"], reps, seed=11)
    inc = res.incidents[res.incidents["t_report"] >= WARMUP_MIN]
    assert (inc["travel_min"] == 0).all() and (inc["response_min"] == inc["wait_min"]).all()
    per_rep = inc.groupby("replication")
    waited = per_rep["wait_min"].apply(lambda w: (w > 0).mean()).to_numpy()
    mean_wait = per_rep["wait_min"].mean().to_numpy()
    p_wait, wq = erlang_c(C_UNITS, lam_per_h / 60.0, 1.0 / MEAN_SERVICE_MIN)
    lo, hi = t_interval(waited)
    assert lo <= p_wait <= hi, (p_wait, lo, hi)
    lo, hi = t_interval(mean_wait)
    assert lo <= wq <= hi, (wq, lo, hi)
