"""Users' mistakes: one line on stderr naming the file and key (and row), exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import assert_refused, trace_copy

from sim.cli import main


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return trace_copy(tmp_path)


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_tps(path: Path, old: str, new: str) -> None:
    csv = path.parent / "trace_tps.csv"
    csv.write_text(csv.read_text().replace(old, new, 1))


def set_in(*keys, value):
    def change(data):
        node = data
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return change


CASES = [
    (
        "unknown key",
        lambda p: edit_yaml(p, set_in("travel", "road_factr", value=2)),
        [],
        "travel.road_factr: unknown key",
    ),
    (
        "wrong type",
        lambda p: edit_yaml(p, set_in("travel", "road_factor", value="fast")),
        [],
        "travel.road_factor: Input should be a valid number",
    ),
    (
        "negative rate",
        lambda p: edit_yaml(p, set_in("incidents", "types", "gangguan", "rate_per_site_hour", "voting", value=-0.5)),
        [],
        "incidents.types.gangguan.rate_per_site_hour.voting: Input should be greater than or equal to 0",
    ),
    (
        "missing data file",
        lambda p: edit_yaml(p, set_in("sites", "tps_file", value="nope.csv")),
        [],
        "sites.tps_file: data file 'nope.csv' not found",
    ),
    (
        "TPS row without position",
        lambda p: edit_tps(p, "0.0,117.2", ","),
        [],
        "trace_tps.csv: row 3 (B) column lat: empty; a number is needed",
    ),
    (
        "unknown post",
        lambda p: edit_yaml(p, set_in("plans", "one", "patrols", 0, "post", value="Q")),
        [],
        "plans.one.patrols.0.post: unknown post 'Q'; valid: P",
    ),
    (
        "unknown kecamatan in TPS table",
        lambda p: edit_tps(p, "B,Kec", "B,Atlantis"),
        [],
        "row 3 (B) column kecamatan: 'Atlantis': kecamatan has no PPK venue in sites.ppk",
    ),
    (
        "unknown kecamatan in a post",
        lambda p: edit_yaml(p, set_in("sites", "posts", 0, "kecamatan", value="Atlantis")),
        [],
        "sites.posts.0 (P): unknown kecamatan 'Atlantis'; valid: Kec",
    ),
    (
        "over-allocated plan",
        lambda p: edit_yaml(p, set_in("plans", "one", "patrols", 0, "crew", value=11)),
        [],
        "plans.one: needs 11 polri but forces.polri is 10 (short by 1)",
    ),
    ("not YAML", lambda p: p.write_text("name: [unclosed\n"), [], "not valid YAML"),
    ("not a mapping", lambda p: p.write_text("- a\n- b\n"), [], "expected a mapping of keys"),
    ("unknown --set key", lambda p: None, ["--set", "travel.speed=3"], "--set: travel.speed: unknown key"),
    (
        "--set index out of range",
        lambda p: None,
        ["--set", "sites.posts.3.kecamatan=X"],
        "--set: sites.posts.3.kecamatan: '3' is not an index 0..0",
    ),
    ("--set on a section", lambda p: None, ["--set", "travel=3"], "only scalar values can be set"),
    ("unknown plan", lambda p: None, ["--plans", "two"], "--plans: two: unknown plan; valid: one"),
    (
        "bad time",
        lambda p: edit_yaml(p, set_in("phases", "voting", "start", value="25:00")),
        [],
        "phases.voting.start: '25:00' is not a clock time",
    ),
    (
        "unknown escalation target",
        lambda p: edit_yaml(p, set_in("incidents", "types", "gangguan", "escalation", "to", value="riot")),
        [],
        "incidents.types.gangguan.escalation.to: unknown incident type 'riot'",
    ),
]


@pytest.mark.parametrize(("label", "mutate", "extra", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_exit_2(scenario, tmp_path, capsys, label, mutate, extra, fragment):
    mutate(scenario)
    assert_refused(main, scenario, tmp_path, extra, fragment, capsys)


def test_validate_reports_shortfall(scenario, capsys):
    edit_yaml(scenario, set_in("plans", "one", "patrols", 0, "units", value=6))
    assert main(["validate", str(scenario)]) == 2
    out, err = capsys.readouterr()
    assert "one" in out and "12" in out  # 6 units x crew 2, shown against the 10 available
    assert err.strip() == f"{scenario}: plans.one: needs 12 polri but forces.polri is 10 (short by 2)"


def test_missing_scenario_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: scenario file not found" in capsys.readouterr().err


def test_bad_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_set_reaches_defaults_number_keys_and_unquoted_times(scenario, tmp_path):
    from sim.scenario import load_scenario

    # A key left at its default, a mapping with number keys, and clock times written without quotes.
    scenario.write_text(scenario.read_text().replace('{start: "07:00", end: "13:00"}', "{start: 07:00, end: 13:00}"))
    sc = load_scenario(
        scenario, ["dispatch.policy=district", "incidents.hourly_multiplier.7=2", "phases.voting.end=14:00"]
    )
    assert sc.spec.dispatch.policy == "district"
    assert sc.spec.incidents.hourly_multiplier == {7: 2.0}
    assert sc.timeline.voting_start == 7 * 60 and sc.timeline.voting_end == 14 * 60


def test_data_files_stay_inside_the_scenario_folder(tmp_path, capsys):
    inner = tmp_path / "inner"
    inner.mkdir()
    path = trace_copy(inner)
    (tmp_path / "elsewhere.csv").write_text((inner / "trace_tps.csv").read_text())
    text = path.read_text().replace("tps_file: trace_tps.csv", "tps_file: ../elsewhere.csv")
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    assert "sites.tps_file: '../elsewhere.csv' lies outside the scenario's folder" in capsys.readouterr().err
    path.write_text(text + "allow_data_outside: true\n")
    assert main(["validate", str(path)]) == 0
