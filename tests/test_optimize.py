"""The staffing search (``pilkada-sim optimize``) against answers worked out by hand.

The two-post check scenario (scenarios/checks/two_posts.yaml) is two independent M/M/c queues
with zero travel, so the share of calls reached within the 60-minute target with c cars is
P(W <= 1 h) = 1 - C(c, a) exp(-(c mu - lambda) t) (Erlang C), computed here from the closed form,
not from the simulator. The minimum force meeting ">= 75% within target" in both groups is then
3 cars at Alpha and 1 at Beta.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import UserError
from sim.optimize import prepare_optimize, run_optimization
from sim.optimize.evaluate import paired_share_difference, pooled_share
from sim.scenario import check_personnel, load_scenario
from sim.study import Interrupted

ROOT = Path(__file__).resolve().parent.parent
TWO = ROOT / "scenarios" / "checks" / "two_posts.yaml"
THRESHOLD = 0.75  # the block's constraint


def erlang_within(c: int, lam: float, mu: float, t: float) -> float:
    """P(W <= t) in M/M/c by the closed form (0 without servers, and for an unstable queue)."""
    a = lam / mu
    if c == 0 or a >= c:
        return 0.0
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return 1 - p_wait * math.exp(-(c * mu - lam) * t)


def fewest(lam: float) -> int:
    return next(c for c in range(10) if erlang_within(c, lam, 1.0, 1.0) >= THRESHOLD)


def test_the_hand_answer():
    """What the search must find, from Erlang C alone (lambda per hour, mu = 1 per hour, t = 1 h)."""
    assert (fewest(1.5), fewest(0.3)) == (3, 1)
    # and with a clear margin on both sides of the threshold, so noise cannot decide it
    assert erlang_within(2, 1.5, 1, 1) < THRESHOLD - 0.1 < THRESHOLD + 0.1 < erlang_within(3, 1.5, 1, 1)
    assert erlang_within(1, 0.3, 1, 1) > THRESHOLD + 0.08


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("opt") / "two"
    opt = prepare_optimize(load_scenario(TWO), workers=1)
    return opt, run_optimization(opt, out)


def test_min_force_finds_the_erlang_answer(found):
    opt, done = found
    values = dict(zip([v.key for v in opt.space.variables], done.recommended, strict=True))
    assert values == {"patrols[post-a].units": fewest(1.5), "patrols[post-b].units": fewest(0.3)}
    assert done.meets_targets
    # the confirmation's shares agree with the closed form (20 fresh weeks: a few points)
    groups = done.groups.set_index("group")
    assert groups.loc["Alpha", "rec_estimate"] == pytest.approx(erlang_within(3, 1.5, 1, 1), abs=0.03)
    assert groups.loc["Beta", "rec_estimate"] == pytest.approx(erlang_within(1, 0.3, 1, 1), abs=0.04)
    # the starting plan (2 and 2) misses Alpha: the paired difference says so
    assert groups.loc["Alpha", "start_estimate"] == pytest.approx(erlang_within(2, 1.5, 1, 1), abs=0.05)
    assert groups.loc["Alpha", "diff_lo"] > 0 and not groups.loc["Alpha", "start_met"]


def test_the_recommended_plan_validates_and_fits_the_forces(found):
    opt, done = found
    folder = done.folder
    scen = folder / "scenario" / TWO.name
    sc = load_scenario(scen)
    name = opt.recommended_name
    assert name in sc.spec.plans
    check_personnel(sc, list(sc.spec.plans))  # raises if any plan needs more than the forces
    assert main(["validate", str(scen)]) == 0
    block = (folder / "recommended_plan.yaml").read_text(encoding="utf-8")
    assert f"{name}:" in block and "post-a" in block
    # every candidate the search looked at fits the forces too
    assert (done.history["personnel"] <= sc.spec.forces["polri"]).all()


def test_the_folder_records_the_search(found):
    opt, done = found
    folder = done.folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "optimize"
    rec = manifest["optimization"]
    assert rec["recommended_plan"] == opt.recommended_name and rec["meets_targets"] is True
    assert rec["confirm_seed"] != rec["search_seed"] == manifest["seed"]
    history = pd.read_csv(folder / "history.csv", keep_default_na=False)
    assert set(history["candidate"]) == set(done.history["candidate"])
    assert history["recommended"].astype(str).tolist().count("True") == 1
    assert (history.loc[history["recommended"].astype(str) == "False", "why"] != "").all()
    # the confirmation is a compare run on the confirmation seed, with the optimization record
    conf = json.loads((done.confirmation / "manifest.json").read_text(encoding="utf-8"))
    assert conf["command"] == "compare" and conf["seed"] == rec["confirm_seed"]
    assert conf["baseline"] == "even" and conf["plans"] == ["even", opt.recommended_name]
    assert conf["optimization"]["meets_targets"] is True
    # the same figure in both folders
    a = pd.read_csv(folder / "optimization_groups.csv")
    b = pd.read_csv(done.confirmation / "optimization_groups.csv")
    pd.testing.assert_frame_equal(a, b)


def test_same_answer_whatever_the_workers_and_after_an_interrupt(found, tmp_path: Path):
    _, one = found
    two = run_optimization(prepare_optimize(load_scenario(TWO), workers=2), tmp_path / "w2")
    assert (one.folder / "history.csv").read_bytes() == (two.folder / "history.csv").read_bytes()
    assert (one.folder / "history_groups.csv").read_bytes() == (two.folder / "history_groups.csv").read_bytes()
    assert two.recommended == one.recommended

    calls = {"n": 0}

    def stop_after_three(_search: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    opt = prepare_optimize(load_scenario(TWO), workers=1)
    with pytest.raises(Interrupted):
        run_optimization(opt, tmp_path / "cut", progress=stop_after_three)
    assert not (tmp_path / "cut" / "manifest.json").exists()
    resumed = run_optimization(opt, resume=tmp_path / "cut")
    assert (resumed.folder / "history.csv").read_bytes() == (one.folder / "history.csv").read_bytes()


def test_impossible_targets_travel(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A set-up alone longer than the target: no number of cars helps; verdict, exit 0, no plan."""
    out = tmp_path / "o"
    code = main(["optimize", str(TWO), "--set", "travel.setup_min=90", "--out", str(out), "--no-report"])
    text = capsys.readouterr().out
    assert code == 0
    assert "no plan" in text and "travel alone" in text and "Alpha" in text and "Beta" in text
    verdict = pd.read_csv(out / "verdict.csv", keep_default_na=False)
    assert set(verdict["cause"]) == {"travel"} and set(verdict["group"]) == {"Alpha", "Beta"}
    assert not (out / "recommended_plan.yaml").exists() and not (out / "confirmation").exists()


def test_impossible_targets_capacity(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Forces of 3 cannot give Alpha 3 cars and Beta 1: the verdict names Alpha, exit 0, no plan."""
    out = tmp_path / "o"
    sets = ["--set", "forces.polri=3", "--set", "plans.even.patrols[post-b].units=1"]  # the start fits: 2 + 1
    code = main(["optimize", str(TWO), *sets, "--out", str(out), "--no-report"])
    text = capsys.readouterr().out
    assert code == 0 and "no plan" in text
    verdict = pd.read_csv(out / "verdict.csv", keep_default_na=False)
    assert "capacity" in set(verdict["cause"]) and "Alpha" in set(verdict["group"])
    history = pd.read_csv(out / "history.csv")
    assert (history["personnel"] <= 3).all()
    assert not (out / "recommended_plan.yaml").exists()


def test_fixed_force_moves_cars_to_where_they_are_needed(tmp_path: Path):
    """Four cars, 2 and 2: the fewest groups missing ">= 75%" is with 3 at Alpha and 1 at Beta."""
    sc = load_scenario(TWO, ["forces.polri=4"])
    opt = prepare_optimize(sc, mode="fixed_force", objective="missed_groups", workers=1)
    done = run_optimization(opt, tmp_path / "f")
    assert done.recommended == (3, 1)
    assert done.meets_targets
    assert (done.history["personnel"] <= 4).all()


@pytest.mark.parametrize(
    ("sets", "argv", "expect"),
    [
        (["optimize.constraints.0.kpi=speed"], [], "optimize.constraints.0.kpi"),
        (["optimize.objective=speed"], [], "optimize.objective"),
        (["optimize.budget=5"], [], "optimize.budget"),
        (["optimize.moves.0.max=-1"], [], "optimize.moves.0.max"),
        (["optimize.moves.0.min=5", "optimize.moves.0.max=2"], [], "max (2) is below min (5)"),
        (["optimize.from_plan=nope"], [], "optimize.from_plan"),
        ([], ["--objective", "speed"], "--objective"),
        ([], ["--constraint", "speed>=0.9"], "unknown KPI 'speed'"),
        ([], ["--constraint", "within_target>=2"], "not a share"),
        ([], ["--move", "patrols[post-z].units=0..3"], "[post-z] names no item"),
        ([], ["--move", "patrols[*].crew=abc"], "--move"),
        ([], ["--move", "escort.by=0..3"], "not a whole number"),
        ([], ["--from-plan", "nope"], "--from-plan"),
        ([], ["--budget-reps", "0"], "--budget-reps"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(sets, argv, expect, tmp_path: Path, capsys):
    out = tmp_path / "o"
    args = ["optimize", str(TWO), *[x for s in sets for x in ("--set", s)], *argv, "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and expect in err
    assert not out.exists()


def test_pooled_share_interval_by_hand():
    """Wilson interval: 30 of 30 on one replication each is not certainty (lower end 30/33.84)."""
    import numpy as np

    s = pooled_share(np.ones(30), np.ones(30))
    assert s.estimate == 1.0 and s.incidents == 30
    assert s.lo == pytest.approx(30 / (30 + 1.959963984540054**2), abs=1e-9)
    none = pooled_share(np.zeros(3), np.zeros(3))
    assert math.isnan(none.estimate) and (none.lo, none.hi) == (0.0, 1.0)
    # paired difference of identical data: zero, with a zero-width interval
    h, n = np.array([3.0, 4, 5]), np.array([5.0, 5, 5])
    assert paired_share_difference((h, n), (h, n)) == (0.0, 0.0, 0.0)


def test_the_block_is_refused_like_any_key(tmp_path: Path):
    with pytest.raises(UserError, match=r"optimize\.constraints\.0"):
        load_scenario(TWO, ["optimize.constraints.0.at_most=0.5"])  # both at_least and at_most


def test_the_readme_shows_what_the_command_prints(found):
    """The README's two-post output block is this run's printed text (the same seed and settings)."""
    from sim.report.printed import optimization_text

    opt, done = found
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ pilkada-sim optimize scenarios/checks/two_posts.yaml --no-report\n", 1)[1].split("```")[0]
    printed = optimization_text(opt, done).splitlines()
    assert block.strip().splitlines() == printed[: len(block.strip().splitlines())]


def test_same_answer_on_a_dask_cluster(found, tmp_path: Path):
    distributed = pytest.importorskip("distributed")
    _, one = found
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        opt = prepare_optimize(load_scenario(TWO), dask=cluster.scheduler_address)
        done = run_optimization(opt, tmp_path / "dask")
    assert (done.folder / "history.csv").read_bytes() == (one.folder / "history.csv").read_bytes()
    assert (done.folder / "optimization_groups.csv").read_bytes() == (
        one.folder / "optimization_groups.csv"
    ).read_bytes()
