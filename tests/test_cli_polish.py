"""The command line's small promises: --version, the default folders --help shows, report --quiet,
and a compare with nothing to compare naming --baseline."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sim.cli import get_parser, main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "teaching-small.yaml"
TWO = ROOT / "scenarios" / "checks" / "two_posts.yaml"
KUTIM = ROOT / "scenarios" / "kutim-2024.yaml"
KUTIM_INJECTS = ROOT / "scenarios" / "exercises" / "kutim-latihan-pra-operasi.csv"


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out.strip() == f"pilkada-sim {version}"


def _default_shown(command: str) -> str:
    """The default folder the --out help of ``command`` names, unwrapped."""
    sub = get_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    (out,) = [a for a in sub._actions if "--out" in a.option_strings]
    shown = re.search(r"\(default: (.+)\)$", out.help or "")
    assert shown, out.help
    return shown.group(1)


def _pattern(shown: str, scenario: str) -> re.Pattern[str]:
    """The help's placeholders as a regular expression for a real folder of ``scenario``."""
    text = re.escape(shown.rstrip("/")).replace(re.escape("<scenario name>"), re.escape(scenario))
    return re.compile(text.replace("YYYYMMDD", r"\d{8}").replace("HHMMSS", r"\d{6}").replace("SEED", r"\d+") + "$")


def _made(cwd: Path) -> str:
    """The one folder a command made under cwd/reports, as a relative path with '/'."""
    found = [p for p in (cwd / "reports").rglob("manifest.json")]
    assert len(found) == 1, found
    return found[0].parent.relative_to(cwd).as_posix()


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_experiment_help_names_the_folder_it_makes(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = {
        "run": [],
        "compare": ["--baseline", "satu_patroli"],
        "sweep": ["--vary", "plans.satu_patroli.patrols.0.units=1,2"],
    }[command]
    assert main([command, str(SMALL), "--reps", "2", "--seed", "7", "--no-report", "--quiet", *extra]) == 0
    made = _made(tmp_path)
    assert _pattern(_default_shown(command), "teaching-small").match(made), made
    assert made.endswith("-seed7")


def test_exercise_help_names_the_folder_it_makes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["exercise", str(KUTIM), "--injects", str(KUTIM_INJECTS), "--seed", "5", "--quiet"]
    assert main(argv) == 0
    made = _made(tmp_path)
    assert _pattern(_default_shown("exercise"), "kutim-2024").match(made), made


def test_optimize_help_names_the_folder_it_makes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["optimize", str(TWO), "--seed", "3", "--no-report", "--quiet"]) == 0
    folders = [p.relative_to(tmp_path).as_posix() for p in (tmp_path / "reports").glob("*/*") if p.is_dir()]
    pattern = _pattern(_default_shown("optimize"), "two-posts")
    assert [f for f in folders if pattern.match(f)], folders


def test_report_quiet_prints_nothing(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(SMALL), "--reps", "2", "--no-report", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", str(out), "--formats", "html", "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err == ""
    assert (out / "briefing.html").is_file()
    assert main(["report", str(out), "--formats", "html"]) == 0
    assert str(out / "briefing.html") in capsys.readouterr().out


TRACE = ROOT / "scenarios" / "checks" / "trace.yaml"  # one plan: "one"


@pytest.mark.parametrize(
    ("scenario", "extra", "fragment"),
    [
        (TRACE, ["--baseline", "one"], "--baseline: one: the scenario has no other plan"),
        (SMALL, ["--baseline", "nope"], "--baseline: nope: unknown plan; valid: satu_patroli, tiga_patroli"),
    ],
)
def test_compare_errors_name_baseline(scenario, extra, fragment, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", str(scenario), "--reps", "2", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(fragment) and err.count("\n") == 1, err
    assert not out.exists()


def test_printed_verdict_says_what_each_plan_costs(tmp_path, capsys):
    """The compare verdict names the personnel each plan adds or takes away, the same figures as
    the personnel table `validate` prints."""
    assert main(["validate", str(KUTIM)]) == 0
    table = capsys.readouterr().out.splitlines()
    kinds = table[1].split()[1:]
    use = {row.split()[0]: dict(zip(kinds, map(int, row.split()[1:]), strict=True)) for row in table[3:]}
    argv = [
        "compare",
        str(KUTIM),
        "--baseline",
        "pemilu2024",
        "--reps",
        "2",
        "--no-report",
        "--out",
        str(tmp_path / "c"),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for plan in ("mobile", "thin"):
        base, other = use["pemilu2024"], use[plan]
        items = [f"{k} {base[k]} -> {other[k]} ({other[k] - base[k]:+d})" for k in kinds if base[k] != other[k]]
        block = printed.split(f"{plan} vs pemilu2024")[1]
        assert block.splitlines()[1] == "  personnel on duty        " + "; ".join(items)
    assert "peak unguarded TPS" in printed
