"""The study: the Python API refuses what the command line refuses, runs what it runs, and every
run folder carries the same provenance record."""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import trace_copy

from sim import UserError, load_scenario, prepare, run_experiment, run_into_folder
from sim.cli import main
from sim.provenance import provenance
from sim.study import check_size

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios/teaching-small.yaml"
BUSY = "incidents.types.gangguan.rate_per_site_hour.voting=0.5"  # trace.yaml: about 6 incidents a day
FOUR_TABLES = ["incidents", "units", "timeseries", "kpis"]


def cli_refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line ``pilkada-sim`` prints on stderr for a refused command."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def api_refusal(*args: object, **kwargs: object) -> str:
    with pytest.raises(UserError) as info:
        run_experiment(*args, **kwargs)  # type: ignore[arg-type]
    return info.value.line()


def test_over_allocated_plan_is_refused_by_the_api_as_by_the_cli(tmp_path, capsys):
    path = trace_copy(tmp_path, lambda d: d["forces"].update(polri=1))  # the patrol needs a crew of 2
    line = cli_refusal(["run", str(path), "--reps", "1", "--out", str(tmp_path / "run"), "--no-report"], capsys)
    assert line == f"{path}: plans.one: needs 2 polri but forces.polri is 1 (short by 1)"
    assert api_refusal(load_scenario(path), ["one"], 1, 1) == line
    assert not (tmp_path / "run").exists()


def test_an_over_allocated_sweep_point_is_named_the_same_way(tmp_path, capsys):
    path = trace_copy(tmp_path)
    vary = "plans.one.patrols.0.units=1,6"  # forces.polri is 10: 6 cars of 2 do not fit
    argv = ["sweep", str(path), "--vary", vary, "--reps", "1", "--out", str(tmp_path / "s"), "--no-report"]
    line = cli_refusal(argv, capsys)
    assert line.startswith("--vary: plans.one.patrols.0.units=6: plans.one: needs 12 polri")
    with pytest.raises(UserError) as info:
        prepare(load_scenario(path), "sweep", vary=[vary], replications=1)
    assert info.value.line() == line


def test_too_large_a_scenario_is_refused_by_the_api_as_by_the_cli(tmp_path, capsys):
    path = trace_copy(tmp_path)
    huge = "incidents.types.gangguan.rate_per_site_hour.voting=100000"
    argv = ["run", str(path), "--set", huge, "--reps", "1", "--out", str(tmp_path / "run"), "--no-report"]
    line = cli_refusal(argv, capsys)
    assert "incidents: about" in line and "or pass --force" in line
    assert api_refusal(load_scenario(path, [huge]), ["one"], 1, 1) == line


def test_force_lets_a_too_large_scenario_through(tmp_path, monkeypatch):
    # Lowered limits make the hand-sized scenario "too large" without running a large one.
    limits = importlib.import_module(check_size.__module__)
    assert hasattr(limits, "MAX_INCIDENTS_PER_REPLICATION"), "the limits moved away from check_size"
    monkeypatch.setattr(limits, "MAX_INCIDENTS_PER_REPLICATION", 1)
    sc = load_scenario(trace_copy(tmp_path), [BUSY])
    assert "or pass --force" in api_refusal(sc, ["one"], 2, 1)
    res = run_experiment(sc, ["one"], 2, 1, force=True)
    assert res.replications == 2 and len(res.incidents) > 2


def text_as_written(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as a CSV gives them back: an empty cell is the empty text."""
    text = [c for c in df.columns if pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object]
    return df.assign(**{c: df[c].fillna("").astype(str) for c in text})


def test_api_results_equal_the_cli_run_folder(tmp_path):
    out = tmp_path / "cli"
    assert main(["run", str(SMALL), "--reps", "3", "--seed", "5", "--out", str(out), "--no-report", "--quiet"]) == 0
    sc = load_scenario(SMALL)
    res = run_experiment(sc, list(sc.spec.plans), 3, 5)
    for name in FOUR_TABLES:
        saved, api = text_as_written(pd.read_csv(out / f"{name}.csv")), text_as_written(getattr(res, name))
        pd.testing.assert_frame_equal(saved, api, check_dtype=False, atol=1e-4, rtol=0, obj=name)
    # The study run from Python writes the same folder, byte for byte.
    api = run_into_folder(prepare(sc, replications=3, seed=5, workers=1), tmp_path / "api")
    for name in json.loads((out / "manifest.json").read_text())["files"]:
        assert (api.folder.path / name).read_bytes() == (out / name).read_bytes(), name


KEYS = [
    "command",
    "argv",
    "scenario",
    "grid",
    "seed",
    "replications",
    "plans",
    "backend",
    "versions",
    "started",
    "finished",
    "epoch",
    "timezone",
    "time_unit",
    "baseline",
    "reference_point",
    "precision",
    "batch_size",
    "files",
]
SCENARIO_KEYS = ["name", "title", "path", "sha256", "overrides", "resolved"]
VERSIONS = ["sim", "python", "numpy", "pandas", "simpy", "scipy"]


@pytest.mark.parametrize(
    "extra",
    [
        ["run", "--precision", "0.5"],
        ["compare", "--baseline", "satu_patroli"],
        ["sweep", "--vary", "dispatch.max_travel_min=30,60"],
    ],
    ids=["run", "compare", "sweep"],
)
def test_every_folder_has_the_whole_provenance_record(tmp_path, extra):
    out = tmp_path / "f"
    argv = [extra[0], str(SMALL), *extra[1:], "--reps", "12", "--seed", "2", "--set", "travel.setup_min=3"]
    argv += ["--out", str(out), "--no-report", "--quiet", "--workers", "1"]
    assert main(argv) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert list(man) == KEYS
    assert list(man["scenario"]) == SCENARIO_KEYS and list(man["versions"]) == VERSIONS
    sc = load_scenario(SMALL, ["travel.setup_min=3"])
    assert man["command"] == extra[0] and man["argv"] == argv
    assert man["scenario"]["sha256"] == sc.digest() and man["scenario"]["resolved"]["travel"]["setup_min"] == 3
    assert man["scenario"]["overrides"] == ["travel.setup_min=3"] and man["scenario"]["path"] == str(SMALL)
    assert man["seed"] == 2 and man["batch_size"] == 10 and man["backend"]["kind"] == "serial"
    assert man["started"] <= man["finished"] and man["time_unit"] == "minutes from the scenario epoch"
    assert man["baseline"] == ("satu_patroli" if extra[0] == "compare" else None)
    assert man["reference_point"] == (0 if extra[0] == "sweep" else None)
    assert (man["precision"] is not None) == (extra[0] == "run")
    if extra[0] == "sweep":
        assert [g["values"] for g in man["grid"]] == [{"dispatch.max_travel_min": v} for v in ("30", "60")]
        point1 = load_scenario(SMALL, ["travel.setup_min=3", "dispatch.max_travel_min=60"])
        assert man["grid"][1]["sha256"] == point1.digest()
    else:
        assert man["grid"] is None
    on_disk = sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    assert sorted(man["files"]) == on_disk
    for name, digest in man["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_provenance_extras_cannot_replace_the_common_keys():
    sc = load_scenario(SMALL)
    record = provenance(sc, "exercise", seed=1, replications=1, plans=["x"], started="t", extra={"plan": "x"})
    assert record["plan"] == "x" and record["backend"] is None and record["grid"] is None
    with pytest.raises(ValueError, match="seed"):
        provenance(sc, "exercise", seed=1, replications=1, plans=["x"], started="t", extra={"seed": 2})
