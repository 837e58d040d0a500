"""The synthetic scenario generator (``pilkada-sim synth``, :mod:`sim.synth`).

Same arguments, same bytes; what it writes loads, validates and runs; the counts are what was asked
and Kutim's shares; the regions do not overlap; the bundled ``kaltim-size`` is what its header's
command makes; mistakes are one line and exit 2, with nothing written.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario import TPS_CLASSES, check_personnel, load_scenario, read_yaml_file
from sim.scenario.tables import MAX_TPS
from sim.synth import (
    CLASS_SHARES,
    KUTIM,
    MAX_VOTERS,
    SynthResult,
    cumulative_round,
    generate,
    kutim_template,
    limit_notes,
    split_counts,
    weighted_pick,
)

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "scenarios" / "synthetic" / "kaltim-size.yaml"
TEMPLATE = kutim_template()  # read once: every generate() below copies from the same Kutim file


def synth(folder: Path, *args: str) -> int:
    return main(["synth", *args, "--out", str(folder)])


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 TPS in 3 regions, seed 1: the YAML's path."""
    folder = tmp_path_factory.mktemp("synth") / "small"
    assert synth(folder, "--tps", "300", "--regions", "3", "--seed", "1") == 0
    return folder / "small.yaml"


# --- same arguments, same bytes --------------------------------------------------------------


def test_same_arguments_give_the_same_bytes_and_another_seed_does_not(tmp_path, capsys):
    for sub, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        assert synth(tmp_path / sub, "--tps", "400", "--regions", "4", "--seed", seed, "--name", "demo") == 0
    a, b, c = (files(tmp_path / sub) for sub in "abc")
    assert list(a) == ["demo.yaml", "demo_tps.csv"]
    assert a == b
    assert a["demo_tps.csv"] != c["demo_tps.csv"] and a["demo.yaml"] != c["demo.yaml"]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("wrote ") for line in lines)
    assert "400 TPS, 4 regions" in lines[0] and "Polres" in lines[0] and "Polsek" in lines[0]


def test_the_name_defaults_to_the_folder(small):
    assert small.name == "small.yaml" and (small.parent / "small_tps.csv").is_file()
    assert load_scenario(small).spec.sites.tps_file == "small_tps.csv"


# --- it loads, validates and runs ----------------------------------------------------------------


def test_a_small_one_validates_and_runs(small, tmp_path, capsys):
    sc = load_scenario(small)
    check_personnel(sc, list(sc.spec.plans))
    assert main(["validate", str(small)]) == 0
    out = tmp_path / "run"
    assert main(["run", str(small), "--reps", "2", "--out", str(out), "--no-report", "--workers", "1"]) == 0
    kpis = pd.read_csv(out / "kpis.csv")
    assert len(kpis) == 2 and (kpis["incidents"] > 0).all()
    capsys.readouterr()


def test_the_copied_blocks_are_kutims(small):
    kutim = read_yaml_file(KUTIM, "scenario file")
    mine = read_yaml_file(small, "scenario file")
    for key in ("incidents", "phases", "dispatch", "election_day", "epoch", "horizon"):
        assert mine[key] == kutim[key], key
    assert mine["targets"]["default_min"] == kutim["targets"]["default_min"]
    travel = {k: v for k, v in kutim["travel"].items() if k != "access"}
    assert mine["travel"] == travel
    plan, model = mine["plans"]["pemilu2024"], kutim["plans"]["pemilu2024"]
    for key in ("tps_guards", "linmas_per_tps", "ppk_guards", "escort"):
        assert plan[key] == model[key], key


def test_the_header_says_synthetic_and_how_it_was_made(small):
    head = small.read_text(encoding="utf-8").split("\nname:")[0]
    assert "[E] synthetic" in head and "kutim-2024.yaml" in head
    assert "# Made by: pilkada-sim synth --tps 300 --regions 3 --seed 1 --name small --out DIR" in head


# --- the counts --------------------------------------------------------------------------------


def test_the_counts_are_as_asked(small):
    sc = load_scenario(small)
    tps, spec = sc.tps, sc.spec
    assert len(tps) == 300 and tps["tps_id"].is_unique
    kecamatan = [v.kecamatan for v in spec.sites.ppk]
    assert len(set(kecamatan)) == len(kecamatan) and set(tps["kecamatan"]) == set(kecamatan)
    regions = sorted({k.split()[0] for k in kecamatan})
    assert regions == ["R01", "R02", "R03"]
    polres = [p for p in spec.sites.posts if p.kind == "polres"]
    assert sorted(p.kecamatan.split()[0] for p in polres) == regions  # one Polres per region
    polsek = [p for p in spec.sites.posts if p.kind == "polsek"]
    covered = [k for p in polsek for k in p.covers]
    assert sorted(covered) == sorted(kecamatan)  # every kecamatan under exactly one Polsek
    assert all(1 <= len(p.covers) <= 3 and p.kecamatan in p.covers for p in polsek)
    assert all(len({k.split()[0] for k in p.covers}) == 1 for p in polsek)  # a Polsek stays in its region
    plan = spec.plans["pemilu2024"]
    assert sorted(g.post for g in plan.patrols) == sorted(p.id for p in polsek)  # one patrol per Polsek
    assert {g.post for g in plan.reserve} == {p.id for p in polres}  # a reserve at every Polres
    assert len(spec.targets.groups) == 3 and [g.name for g in spec.targets.groups] == regions
    assert tps["voters"].between(1, MAX_VOTERS).all()
    assert spec.sites.kpu.kecamatan.startswith("R01 ")


def test_class_and_flag_shares_are_kutims():
    syn = generate(3000, 5, 3, "shares", TEMPLATE)
    counts = syn.tps["class"].value_counts()
    for cls, share in CLASS_SHARES.items():
        assert counts.get(cls, 0) == round(share * 3000), cls  # the running rounding makes the total exact
    assert counts["kurang_rawan"] == 3000 - sum(round(s * 3000) for s in CLASS_SHARES.values())
    assert abs(counts["kurang_rawan"] / 3000 - 477 / 701) < 0.01
    assert int(syn.tps["blank_spot"].sum()) == round(0.082 * 3000)
    assert int(syn.tps["hard_to_reach"].sum()) == round(0.015 * 3000)
    assert int(syn.tps["disaster_prone"].sum()) == round(0.03 * 3000)
    # about 39 TPS per kecamatan and 1.8 kecamatan per Polsek, as Kutim's 701 / 18 / 10
    n_kec = syn.tps["kecamatan"].nunique()
    n_polsek = sum(len(r.polsek_groups) for r in syn.regions)
    assert 3000 / n_kec == pytest.approx(701 / 18, rel=0.1)
    assert n_kec / n_polsek == pytest.approx(1.8, rel=0.2)


def test_the_regions_do_not_overlap_and_stay_on_the_map():
    syn = generate(2500, 12, 5, "map", TEMPLATE)
    tps = syn.tps
    boxes = []
    for code, rows in tps.groupby(tps["tps_id"].str.split("-").str[0], sort=True):
        boxes.append((code, rows["lat"].min(), rows["lat"].max(), rows["lon"].min(), rows["lon"].max()))
    assert len(boxes) == 12
    for i, (a, s1, n1, w1, e1) in enumerate(boxes):
        for b, s2, n2, w2, e2 in boxes[i + 1 :]:
            apart = n1 < s2 or n2 < s1 or e1 < w2 or e2 < w1
            assert apart, f"{a} and {b} overlap"
    assert tps["lat"].between(-10, 10).all() and tps["lon"].between(105, 128).all()  # around Borneo


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 6), st.integers(0, 400), st.integers(0, 2**32 - 1))
def test_any_small_request_loads(tmp_path, regions, extra, seed):
    """Property: whatever the sizes (one TPS per region up to hundreds) and the seed, the file loads,
    the plan fits the forces and every TPS lies in its own kecamatan's region."""
    folder = tmp_path / f"s{regions}-{extra}-{seed}"
    syn = generate(regions + extra, regions, seed, "prop", TEMPLATE)
    folder.mkdir()
    (folder / "prop.yaml").write_text(syn.yaml_text, encoding="utf-8")
    (folder / "prop_tps.csv").write_text(syn.csv_text, encoding="utf-8")
    sc = load_scenario(folder / "prop.yaml")
    check_personnel(sc, list(sc.spec.plans))
    assert len(sc.tps) == regions + extra
    assert (sc.tps["tps_id"].str.split("-").str[0] == sc.tps["kecamatan"].str.split().str[0]).all()
    assert set(sc.tps["class"]) <= set(TPS_CLASSES)


# --- the bundled file ------------------------------------------------------------------------------


def test_the_bundled_kaltim_size_is_what_its_command_makes(tmp_path, capsys):
    head = next(line for line in BUNDLED.read_text(encoding="utf-8").splitlines() if line.startswith("# Made by: "))
    argv = shlex.split(head.removeprefix("# Made by: "))
    assert argv[:2] == ["pilkada-sim", "synth"] and argv[-2:] == ["--out", "DIR"]
    out = tmp_path / "again"
    assert main([*argv[1:-1], str(out)]) == 0
    capsys.readouterr()
    bundled = {p: (BUNDLED.parent / p).read_bytes() for p in ("kaltim-size.yaml", "kaltim-size_tps.csv")}
    assert files(out) == bundled, "regenerate scenarios/synthetic/kaltim-size.* (see scenarios/synthetic/README.md)"


def test_the_bundled_kaltim_size_is_polda_kaltims_size():
    sc = load_scenario(BUNDLED)
    assert len(sc.tps) == 6262
    assert sum(p.kind == "polres" for p in sc.spec.sites.posts) == 10
    check_personnel(sc, list(sc.spec.plans))


# --- mistakes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--tps", "5", "--regions", "10"], "--tps: 5 is not valid (every region needs a TPS); valid: a whole number"),
        (["--tps", "1000001"], "--tps: 1,000,001 is not valid; valid: a whole number from --regions (1) to 1,000,000"),
        (["--tps", "0"], "--tps: 0 is not valid"),
        (["--tps", "10", "--regions", "0"], "--regions: 0 is not valid; valid: a whole number from 1 to 1,000"),
        (["--tps", "2000", "--regions", "1001"], "--regions: 1,001 is not valid"),
        (["--tps", "10", "--seed", "-1"], "--seed: -1 is not valid; valid: a whole number from 0 to 4,294,967,295"),
        (["--tps", "10", "--name", "two words"], "--name: 'two words' is not a scenario name; valid:"),
    ],
)
def test_mistakes_are_one_line_and_nothing_is_written(tmp_path, capsys, args, fragment):
    out = tmp_path / "out"
    assert synth(out, *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(fragment.split(":")[0] + ":") and fragment in err, err
    assert not out.exists()


def test_an_existing_folder_with_files_or_a_file_is_refused(tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    assert synth(full, "--tps", "10") == 2
    assert capsys.readouterr().err == f"--out: '{full}' is not empty; valid: a new or empty folder\n"
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    assert synth(full / "keep.txt", "--tps", "10") == 2
    assert "is a file; valid: a new or empty folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert synth(empty, "--tps", "10") == 0  # an empty folder is fine
    capsys.readouterr()


def test_an_option_that_is_not_a_number_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        synth(tmp_path / "x", "--tps", "many")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tps" in err and "invalid int value" in err


def test_what_is_too_big_to_run_is_said_on_the_line(tmp_path):
    """What cannot be loaded is said on the line. Checked on the counts, not by writing the files."""
    assert limit_notes(6262, 6541, 109, 50_000) == ()
    assert limit_notes(435_000, 450_000, 40, 2_700_000) == ()  # national: the largest region's 40 posts held
    (tps_note,) = limit_notes(MAX_TPS + 1, MAX_TPS + 9_000, 40, 2_700_000)
    assert f"at most {MAX_TPS:,} TPS" in tps_note
    assert limit_notes(90_000, 94_000, 1_000, 100_000) == ()  # 1,000 posts x 94,000 sites: 5.6 GiB of legs
    (world_note,) = limit_notes(90_000, 94_000, 2_000, 100_000)
    assert "2,000 posts to 94,000 sites" in world_note
    assert "5 MB" in limit_notes(1_000_000, 1_050_000, 20, 6_300_000)[-1]
    line = SynthResult(tmp_path / "n.yaml", tmp_path / "n_tps.csv", 435_000, 545, 11_166, 545, 6_203, 545, (tps_note,))
    assert "\n" not in line.line() and "435,000 TPS, 545 regions" in line.line() and "7,293 posts" in line.line()


# --- the helpers -------------------------------------------------------------------------------


def test_split_counts_sum_and_floor():
    rng = np.random.default_rng(0)
    for total, n in ((10, 10), (11, 3), (6262, 10), (1, 1)):
        counts = split_counts(rng, total, n, 0.7)
        assert counts.sum() == total and counts.min() >= 1 and len(counts) == n


def test_cumulative_round_keeps_the_total():
    sizes = np.asarray([1, 1, 1, 350, 99, 250])
    parts = cumulative_round(212 / 701, sizes)
    assert parts.sum() == round(212 / 701 * sizes.sum()) and (parts >= 0).all()


def test_weighted_pick_never_takes_a_zero_weight():
    rng = np.random.default_rng(1)
    w = np.asarray([0.0, 1.0, 5.0, 0.0, 2.0])
    mask = weighted_pick(rng, w, 10)  # more than can be taken: all with a weight
    assert mask.tolist() == [False, True, True, False, True]
    assert weighted_pick(rng, w, 2).sum() == 2 and not weighted_pick(rng, w, 2)[[0, 3]].any()


def test_a_province_size_scenario_runs_within_test_time(tmp_path, capsys):
    """The bundled kaltim-size (6,262 TPS, 109 posts) runs a replication of its plan here: its world
    keeps posts x sites legs, not sites x sites (which took 3.6 GB and 25 s)."""
    import resource

    path = Path(__file__).resolve().parent.parent / "scenarios" / "synthetic" / "kaltim-size.yaml"
    out = tmp_path / "run"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["run", str(path), "--reps", "1", "--out", str(out), "--no-report", "--quiet", "--workers", "1"]) == 0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    incidents = pd.read_csv(out / "incidents.csv")
    sites = pd.read_csv(out / "sites.csv")
    assert len(sites[sites["kind"] == "tps"]) == 6262 and incidents["kecamatan"].nunique() > 100
    assert grown_mib < 1000, f"the run grew this process by {grown_mib:.0f} MiB"
