"""Runs survive being killed, exports are safe to open, and memory does not grow over a long run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import RUN_TABLES, trace_copy

from sim import load_scenario
from sim.cli import main
from sim.experiment import Batch, Job, run_batch

ROOT = Path(__file__).resolve().parent.parent
HOAX = str(ROOT / "scenarios/teaching-hoax.yaml")
TABLES = list(RUN_TABLES)


def _finished_batches(folder: Path) -> int:
    b = folder / "batches"
    return len([p for p in b.iterdir() if not p.name.startswith(".")]) if b.exists() else 0


def test_killed_again_and_again_resumes_to_the_same_results(tmp_path):
    args = ["run", HOAX, "--reps", "40", "--batch", "2", "--workers", "1", "--quiet", "--no-report"]
    full = tmp_path / "full"
    assert main([*args, "--out", str(full)]) == 0
    part = tmp_path / "part"
    rng = random.Random(7)
    first = True
    for _ in range(4):  # SIGKILL at random points, each time a little further
        cmd = [sys.executable, "-m", "sim", *args, *(["--out", str(part)] if first else ["--resume", str(part)])]
        first = False
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = _finished_batches(part) + rng.randint(1, 4)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None and _finished_batches(part) < target:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.05)  # anywhere inside the next batch
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if (part / "manifest.json").exists():
            break
        # Nothing that looks complete is left behind: no manifest, and `report` refuses the folder.
        assert main(["report", str(part)]) == 2
    if not (part / "manifest.json").exists():
        assert main([*args, "--resume", str(part)]) == 0
    for name in TABLES:
        assert (full / name).read_bytes() == (part / name).read_bytes(), name


def test_report_refuses_a_run_whose_files_changed(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", HOAX, "--reps", "2", "--workers", "1", "--out", str(out), "--quiet", "--no-report"]) == 0
    with (out / "kpis.csv").open("a") as f:
        f.write("tampered\n")
    assert main(["report", str(out)]) == 2
    assert "kpis.csv: does not match its checksum" in capsys.readouterr().err


def test_csv_exports_neutralise_formulas_from_scenario_text(tmp_path):
    # TPS ids come from the user's table: one that starts with '=' must not become a formula.
    path = trace_copy(
        tmp_path,
        lambda d: d["incidents"]["types"]["gangguan"].update(rate_per_site_hour={"voting": 2.0}),
        extra_tps="=HYPERLINK(1),Kec,Desa,0.0,117.15,100,kurang_rawan,0,0,0\n",
    )
    out = tmp_path / "r"
    assert main(["run", str(path), "--reps", "1", "--workers", "1", "--out", str(out), "--quiet", "--no-report"]) == 0
    inc = pd.read_csv(out / "incidents.csv")
    sites = pd.read_csv(out / "sites.csv")
    assert "'=HYPERLINK(1)" in set(inc["site_id"]) and "'=HYPERLINK(1)" in set(sites["site_id"])
    for name in TABLES:
        for line in (out / name).read_text().splitlines():
            assert not any(cell.startswith(("=", "+", "@")) for cell in line.split(",")), (name, line)


def _rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc), or the peak elsewhere."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.mark.slow
def test_memory_does_not_grow_over_thousands_of_replications():
    sc = load_scenario(ROOT / "scenarios/teaching-small.yaml")
    job = Job(sc.digest(), sc, ["satu_patroli"], 3)
    for first in range(0, 200, 50):
        run_batch(job, Batch(0, first, 50))
    after_200 = _rss_bytes()
    for first in range(200, 2000, 50):
        run_batch(job, Batch(0, first, 50))
    after_2000 = _rss_bytes()
    # Ten times the replications, and the process holds about the same memory (a leak of even a
    # few kB per replication would add several MiB).
    assert after_2000 - after_200 < 8 * 2**20, (after_200, after_2000)


def test_yaml_is_loaded_safely_and_set_values_are_never_evaluated(tmp_path, capsys):
    path = trace_copy(tmp_path)
    marker = tmp_path / "pwned"
    text = path.read_text()
    path.write_text(text.replace("title:", f"boom: !!python/object/apply:os.system ['touch {marker}']\ntitle:", 1))
    assert main(["validate", str(path)]) == 2
    assert not marker.exists()
    assert "not valid YAML" in capsys.readouterr().err
    path.write_text(text)
    assert main(["validate", str(path), "--set", f"travel.road_factor=__import__('os').system('touch {marker}')"]) == 2
    assert not marker.exists()
    assert "travel.road_factor" in capsys.readouterr().err


def test_output_names_from_scenario_text_are_sanitised():
    from sim.runfolder import safe_name

    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("Kutim 2024: <b>") == "Kutim_2024_b"
    assert safe_name("...") == "scenario"
