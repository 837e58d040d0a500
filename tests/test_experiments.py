"""Experiments: backends give the same bytes, common random numbers, sweeps, precision, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "scenarios/teaching-small.yaml")
HOAX = str(ROOT / "scenarios/teaching-hoax.yaml")
KUTIM = str(ROOT / "scenarios/kutim-2024.yaml")
TABLES = ["incidents.csv", "units.csv", "timeseries.csv", "kpis.csv", "summary.csv", "percentiles.csv"]


def run(*argv: str) -> None:
    assert main([*argv, "--quiet", "--no-report"]) == 0


def test_results_do_not_depend_on_workers_or_backend(tmp_path, dask_cluster):
    common = [KUTIM, "--reps", "6", "--batch", "2", "--seed", "3"]
    run("run", *common, "--workers", "1", "--out", str(tmp_path / "w1"))
    run("run", *common, "--workers", "2", "--out", str(tmp_path / "w2"))
    run("run", *common, "--dask", dask_cluster, "--out", str(tmp_path / "dask"))
    for name in TABLES:
        one = (tmp_path / "w1" / name).read_bytes()
        assert one == (tmp_path / "w2" / name).read_bytes(), name
        assert one == (tmp_path / "dask" / name).read_bytes(), name
    man = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert man["backend"]["kind"] == "dask" and man["backend"]["workers"] == 2


def test_batch_size_does_not_change_results(tmp_path):
    run("run", HOAX, "--reps", "5", "--batch", "1", "--workers", "1", "--out", str(tmp_path / "a"))
    run("run", HOAX, "--reps", "5", "--batch", "3", "--workers", "1", "--out", str(tmp_path / "b"))
    for name in TABLES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_plan_against_itself_is_exactly_zero(tmp_path):
    run(
        "compare",
        SMALL,
        "--baseline",
        "satu_patroli",
        "--plans",
        "satu_patroli",
        "--reps",
        "10",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "c"),
    )
    cmp = pd.read_csv(tmp_path / "c" / "comparison.csv")
    finite = cmp[cmp["n"] > 0]
    assert len(finite) > 10
    assert (finite["difference"] == 0).all() and (finite["ci_low"] == 0).all() and (finite["ci_high"] == 0).all()
    assert not finite["significant"].any()


@pytest.mark.parametrize(("cars", "max_ratio"), [((1, 2), 0.9), ((2, 3), 0.6)])
def test_paired_interval_is_narrower_than_unpaired(tmp_path, cars, max_ratio):
    # The same days for both plans: the paired interval of the difference is narrower than the
    # unpaired (Welch) one, a little for a large difference, much more for a small one.
    out = tmp_path / "c"
    run(
        "compare",
        SMALL,
        "--baseline",
        "satu_patroli",
        "--plans",
        "tiga_patroli",
        "--reps",
        "60",
        "--seed",
        "1",
        "--workers",
        "1",
        "--set",
        f"plans.satu_patroli.patrols.0.units={cars[0]}",
        "--set",
        f"plans.tiga_patroli.patrols.0.units={cars[1]}",
        "--out",
        str(out),
    )
    row = pd.read_csv(out / "comparison.csv").set_index("kpi").loc["response_mean_min"]
    kpi = pd.read_csv(out / "kpis.csv")
    a = kpi.loc[kpi["plan"] == "satu_patroli", "response_mean_min"].to_numpy()
    b = kpi.loc[kpi["plan"] == "tiga_patroli", "response_mean_min"].to_numpy()
    both = np.isfinite(a) & np.isfinite(b)  # days with no dispatch have no response time
    a, b = a[both], b[both]
    assert row["difference"] == pytest.approx(b.mean() - a.mean(), abs=1e-4)  # the CSV keeps 4 decimals
    paired = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == (
        pytest.approx(paired.low, abs=1e-3),
        pytest.approx(paired.high, abs=1e-3),
    )
    welch = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert row["ci_high"] - row["ci_low"] < max_ratio * (welch.high - welch.low)
    if cars == (1, 2):
        assert row["significant"] and row["ci_high"] < 0  # a second car is a real improvement


def test_more_patrols_never_worse(tmp_path):
    # Monotonicity with common random numbers: each extra car may not raise the mean response.
    out = tmp_path / "s"
    run(
        "sweep",
        SMALL,
        "--plans",
        "satu_patroli",
        "--vary",
        "plans.satu_patroli.patrols.0.units=1,2,3,4",
        "--reps",
        "40",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    kpi = pd.read_csv(out / "kpis.csv")
    means = kpi.pivot(index="replication", columns="point", values="response_mean_min")
    for k in range(3):
        diff = (means[k + 1] - means[k]).dropna().to_numpy()
        lo, hi = (
            stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
            if diff.std() > 0
            else (diff.mean(), diff.mean())
        )
        assert lo <= 1e-9, (k, diff.mean(), lo, hi)  # not significantly worse
    assert means[3].mean() < means[0].mean()


def test_sweep_is_tidy_and_on_the_same_streams(tmp_path):
    out = tmp_path / "s"
    run(
        "sweep",
        SMALL,
        "--vary",
        "plans.satu_patroli.patrols.0.units=1,2",
        "--vary",
        "plans.tiga_patroli.patrols.0.crew=2,3",
        "--reps",
        "4",
        "--workers",
        "2",
        "--out",
        str(out),
    )
    kpi = pd.read_csv(out / "kpis.csv")
    assert len(kpi) == 4 * 4 * 2  # points x replications x plans
    assert list(kpi.columns[:3]) == ["point", "plans.satu_patroli.patrols.0.units", "plans.tiga_patroli.patrols.0.crew"]
    assert kpi.groupby("point").size().tolist() == [8, 8, 8, 8]
    # Plans change, the days do not: every point sees the same incidents.
    inc = pd.read_csv(out / "incidents.csv")
    sig = (
        inc[inc["plan"] == "satu_patroli"]
        .groupby("point")
        .apply(lambda d: tuple(np.round(d["t_occur"].to_numpy(), 4)), include_groups=False)
    )
    assert sig.nunique() == 1
    summary = pd.read_csv(out / "summary.csv")
    assert {"point", "plan", "kpi", "mean", "ci_low", "ci_high"} <= set(summary.columns)
    man = json.loads((out / "manifest.json").read_text())
    assert [g["values"] for g in man["grid"]][1] == {
        "plans.satu_patroli.patrols.0.units": "1",
        "plans.tiga_patroli.patrols.0.crew": "3",
    }


def test_precision_stops_at_the_first_boundary_that_meets_it(tmp_path):
    outs = []
    for w in ("1", "2"):
        out = tmp_path / f"p{w}"
        run("run", SMALL, "--precision", "0.2", "--reps", "200", "--batch", "5", "--workers", w, "--out", str(out))
        outs.append(out)
    man = json.loads((outs[0] / "manifest.json").read_text())
    n = man["replications"]
    assert man["precision"]["reached"] and n < 200 and n % 5 == 0
    assert (outs[0] / "kpis.csv").read_bytes() == (outs[1] / "kpis.csv").read_bytes()
    kpi = pd.read_csv(outs[0] / "kpis.csv")

    def ratio(k):
        worst = 0.0
        for _, g in k.groupby("plan"):
            x = g["response_mean_min"].dropna().to_numpy()
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            worst = max(worst, half / abs(x.mean()))
        return worst

    assert ratio(kpi) <= 0.2
    assert ratio(kpi[kpi["replication"] < n - 5]) > 0.2  # one batch earlier it was not yet met


def test_resume_after_kill_equals_uninterrupted(tmp_path):
    full = tmp_path / "full"
    run("run", HOAX, "--reps", "60", "--batch", "2", "--workers", "1", "--out", str(full))
    part = tmp_path / "part"
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "run",
        HOAX,
        "--reps",
        "60",
        "--batch",
        "2",
        "--workers",
        "1",
        "--out",
        str(part),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline:
        batches = part / "batches"
        if batches.exists() and len([p for p in batches.iterdir() if not p.name.startswith(".")]) >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (part / "manifest.json").exists()
    assert main(["run", HOAX, "--reps", "60", "--batch", "2", "--workers", "1", "--out", str(part), "--no-report"]) == 2
    run("run", HOAX, "--reps", "60", "--batch", "2", "--workers", "2", "--resume", str(part))
    for name in TABLES:
        assert (full / name).read_bytes() == (part / name).read_bytes(), name
    assert not (part / "batches").exists()
    # A finished run cannot be resumed; a different command cannot resume it either.
    assert main(["run", HOAX, "--reps", "60", "--batch", "2", "--resume", str(part)]) == 2


def test_resume_refuses_a_different_command(tmp_path, capsys):
    part = tmp_path / "part"
    part.mkdir()
    (part / "job.json").write_text(json.dumps({"job": {"command": "run", "seed": 1}, "started": "x"}))
    (part / "batches").mkdir()
    assert main(["run", HOAX, "--reps", "5", "--seed", "2", "--resume", str(part)]) == 2
    assert "differs from the run being resumed" in capsys.readouterr().err


def test_quiet_when_not_a_terminal(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "run", SMALL, "--reps", "3", "--out", str(tmp_path / "r"), "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert proc.stderr == ""
    assert "run folder:" in proc.stdout
