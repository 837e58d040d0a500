"""The README stays true: the demo table is what `make demo` prints, the column lists match the code."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.exercise import DECISION_COLUMNS, TIMELINE_COLUMNS
from sim.records import INCIDENT_COLUMNS, KPI_COLUMNS, TIMESERIES_COLUMNS, UNIT_COLUMNS
from sim.report.exercise import ExerciseData

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_demo():
    """docs/readme_demo.py, the generator of the README's demo blocks (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("readme_demo", ROOT / "docs" / "readme_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_blocks_are_what_the_demo_gives(tmp_path):
    """The printed output and the paragraph reading it are what `make demo`'s command gives now."""
    demo = _readme_demo()
    assert demo.demo_command()[:2] == ["compare", "scenarios/kutim-2024.yaml"]
    blocks = demo.blocks(tmp_path / "demo")
    assert demo.rewrite(README, blocks) == README, "README demo blocks are stale: run `make readme`"


def test_demo_claims_read_the_tables(tmp_path):
    """Every figure of the claims paragraph is a figure of the demo's printed output (same rounding)."""
    demo = _readme_demo()
    printed = demo.run_demo(tmp_path / "demo")
    text = demo.claims(tmp_path / "demo")
    validation = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(ROOT / "scenarios/kutim-2024.yaml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # the personnel table: Polri on duty per plan
    number = r"(?<![\w.])[+-]?\d+(?:\.\d+)?%?"
    figures = re.findall(number, text.split("The per-kecamatan chart")[0])
    words = {"1", "2024"}  # priority-1, Pemilu 2024
    shown = set(re.findall(number, printed)) | set(re.findall(number, validation)) | words
    assert len(figures) > 15 and [f for f in figures if f not in shown] == []


def _section_columns(title: str) -> set[str]:
    """Backticked names in the first cell of the table that follows a `title` line."""
    part = re.search(rf"^`{re.escape(title)}`.*?\n\n(\|.*?)\n\n", README, re.S | re.M).group(1)
    names = set()
    for line in part.splitlines():
        first = line.split("|")[1] if line.startswith("|") else ""
        names.update(re.findall(r"`([a-z_0-9]+)`", first))
    return names


@pytest.mark.parametrize(
    ("title", "columns"),
    [
        ("incidents.csv", INCIDENT_COLUMNS),
        ("units.csv", UNIT_COLUMNS),
        ("timeseries.csv", TIMESERIES_COLUMNS),
        ("kpis.csv", KPI_COLUMNS),
        ("timeline.csv", TIMELINE_COLUMNS),
        ("decision_points.csv", DECISION_COLUMNS),
    ],
)
def test_output_columns_are_documented(title, columns):
    assert _section_columns(title) == set(columns)


def test_the_error_line_shown_is_real(capsys):
    assert main(["validate", str(ROOT / "scenarios/kutim-2024.yaml"), "--set", "plans.mobile.reserve.0.units=4"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.endswith("plans.mobile: needs 433 polri but forces.polri is 413 (short by 20)")
    assert line.split(": ", 1)[1] in README


def test_the_compare_verdict_shown_is_real(tmp_path, capsys):
    argv = [
        "compare",
        str(ROOT / "scenarios/kutim-2024.yaml"),
        "--baseline",
        "pemilu2024",
        "--plans",
        "mobile",
        "--reps",
        "40",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "c"),
    ]
    assert "pilkada-sim " + " ".join(argv[:8]).replace(str(ROOT) + "/", "") in README
    assert main(argv) == 0
    printed = capsys.readouterr().out
    shown = re.search(r"```text\n\s*(mobile vs pemilu2024.*?)\n\s*\.\.\.\n", README, re.S).group(1)
    for line in shown.splitlines():
        assert line.strip() in printed, line


def test_the_exercise_log_shown_is_real(tmp_path):
    """The log lines in the README come from the command it shows (default seed, one replication)."""
    command = (
        "pilkada-sim exercise scenarios/kutim-2024.yaml \\\n"
        "    --injects scenarios/exercises/kutim-latihan-pra-operasi.csv --plan pemilu2024"
    )
    assert command in README
    shown = re.search(r"<!-- exercise-log.*?-->\n```text\n(.*?)```\n<!-- /exercise-log -->", README, re.S)
    assert shown, "exercise-log block missing from README.md"
    argv = ["exercise", str(ROOT / "scenarios/kutim-2024.yaml"), "--injects"]
    argv += [str(ROOT / "scenarios/exercises/kutim-latihan-pra-operasi.csv"), "--plan", "pemilu2024"]
    assert main([*argv, "--out", str(tmp_path / "e"), "--quiet"]) == 0
    ex = ExerciseData.load(tmp_path / "e")
    text = {line for _, line in ex.log("id").lines(ex.timeline[ex.timeline["replication"] == 0], ex.first_decisions)}
    assert any(line in (tmp_path / "e" / "timeline.html").read_text(encoding="utf-8") for line in text)
    for line in shown.group(1).splitlines():
        assert line in text, line
