"""The model against queueing theory: scenarios/checks/mmc.yaml is an M/M/c queue in disguise.

With zero travel, exponential on-scene times and one unit per incident, the wait for a free unit
is the M/M/c queueing delay. Erlang C gives P(wait > 0) and the mean wait; the simulated values
(per-replication means after a one-day warm-up, then a Student-t 95% interval over replications)
must cover them.

scenarios/checks/mmc_priority.yaml is the same queue with two incident types of priority 1 and 2
and a common service time: a non-preemptive priority M/M/c queue, whose class mean waits are
given by Cobham's formula (checked the same way, per class).
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


def cobham_waits(c: int, lams: list[float], mu: float) -> list[float]:
    """Mean wait [same unit as 1/mu] of each class of a non-preemptive priority M/M/c queue.

    Classes in priority order (most urgent first), arrival rates ``lams``, one common exponential
    service rate ``mu`` (Cobham 1954): W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k)) with
    W0 = C(c, a) / (c mu), sigma_k = sum_{i<=k} lambda_i / (c mu) and sigma_0 = 0.
    """
    p_wait, _ = erlang_c(c, sum(lams), mu)
    w0 = p_wait / (c * mu)
    sigma = np.concatenate([[0.0], np.cumsum(lams) / (c * mu)])
    return [w0 / ((1 - sigma[k - 1]) * (1 - sigma[k])) for k in range(1, len(lams) + 1)]


def test_cobham_by_hand():
    # c=2, mu=1, lambda_1 = lambda_2 = 0.5 (a=1, rho=0.5): C(2, 1) = 1/3 (as above), W0 = C/(c mu) = 1/6;
    # sigma_1 = 0.5/2 = 1/4, sigma_2 = 1/2; W_1 = (1/6) / (1 x 3/4) = 2/9, W_2 = (1/6) / (3/4 x 1/2) = 4/9.
    # Check: (0.5 x 2/9 + 0.5 x 4/9) / 1 = 1/3 = the FIFO Wq of erlang_c(2, 1, 1).
    w1, w2 = cobham_waits(2, [0.5, 0.5], 1.0)
    assert w1 == pytest.approx(2 / 9) and w2 == pytest.approx(4 / 9)
    # One class is plain FIFO: W_1 = W0 / (1 - rho) = C / (c mu - lambda) = Erlang C's Wq.
    assert cobham_waits(3, [2.4], 1.0)[0] == pytest.approx(erlang_c(3, 2.4, 1.0)[1])
    # The rate-weighted mean of the class waits is the FIFO Wq, for any split and number of classes.
    for c, lams, mu in [(3, [0.96, 1.44], 1.0), (3, [0.4, 0.6, 1.2, 0.2], 1.0), (5, [0.01, 0.05], 1 / 60)]:
        w = cobham_waits(c, lams, mu)
        wq = erlang_c(c, sum(lams), mu)[1]
        assert np.dot(lams, w) / sum(lams) == pytest.approx(wq)
    # Higher priority never waits longer.
    assert all(np.diff(cobham_waits(3, [0.4, 0.6, 1.2, 0.2], 1.0)) > 0)


@pytest.mark.slow
def test_priority_mmc_matches_cobham():
    sc = load_scenario(ROOT / "scenarios/checks/mmc_priority.yaml")
    types = sc.spec.incidents.types
    classes = ["urgent", "routine"]
    assert [types[k].priority for k in classes] == [1, 2]
    lams = [types[k].rate_per_site_hour["logistics"] / 60.0 for k in classes]  # one site; per min
    assert sum(lams) * MEAN_SERVICE_MIN / C_UNITS == pytest.approx(0.8)
    w_theory = cobham_waits(C_UNITS, lams, 1.0 / MEAN_SERVICE_MIN)  # 19.04, 95.18 min
    # The per-replication sd of a class's mean wait is about 3.2 min (urgent) and 37 min (routine):
    # with 300 replications the 95% half-widths are about 0.37 and 4.2 min. The estimator itself (a
    # three-week run started empty, mean per replication) reads about 0.25% and 1% low, well inside.
    reps = 300
    res = run_experiment(sc, ["c3"], reps, seed=11)
    inc = res.incidents[res.incidents["t_report"] >= WARMUP_MIN]
    assert (inc["travel_min"] == 0).all() and (inc["response_min"] == inc["wait_min"]).all()
    assert inc["wait_min"].notna().all()  # every incident got a unit before the horizon
    for name, w in zip(classes, w_theory, strict=True):
        of_class = inc[inc["type"] == name]
        assert (of_class["priority"] == types[name].priority).all()
        mean_wait = of_class.groupby("replication")["wait_min"].mean().to_numpy()
        assert len(mean_wait) == reps
        lo, hi = t_interval(mean_wait)
        assert lo <= w <= hi, (name, w, lo, hi)
