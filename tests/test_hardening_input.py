"""Hardening against users' input: every mistake is one line and exit 2, Excel's quirks are accepted,
and a run too large for memory or time is refused with its estimate (unless ``--force``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TPS_HEADER, assert_refused, set_in, trace_copy

import sim.size
from sim.cli import get_parser, main
from sim.errors import UserError
from sim.generate import expected_incidents
from sim.scenario import load_scenario
from sim.scenario.tables import MAX_TPS
from sim.size import check_size

RATE = ("incidents", "types", "gangguan", "rate_per_site_hour", "voting")


def edited(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    return lambda folder: trace_copy(folder, change)


def written(text: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = trace_copy(folder)
        path.write_text(text)
        return path

    return make


def tps(rows: str) -> Callable[[Path], Path]:
    return lambda folder: trace_copy(folder, tps_rows=rows)


def many_tps(folder: Path) -> Path:
    row = "Kec,Desa,0.0,117.1,100,kurang_rawan,0,0,0\n"
    return trace_copy(folder, tps_rows="".join(f"T{i},{row}" for i in range(MAX_TPS + 1)))


ROW_A = "A,Kec,Desa,0.0,117.1,{voters},kurang_rawan,0,0,0\nB,Kec,Desa,0.0,117.2,100,kurang_rawan,0,0,0\n"

# (label, how to break a copy of scenarios/checks/trace.yaml, extra CLI args, exact message fragment)
CASES: list[tuple[str, Callable[[Path], Path], list[str], str]] = [
    ("empty YAML file", written(""), [], "trace.yaml: the file is empty; expected a scenario mapping"),
    ("only comments", written("# nothing yet\n"), [], "the file is empty; expected a scenario mapping"),
    ("not YAML", written("name: [unclosed\n"), [], "trace.yaml: line 2: not valid YAML"),
    ("a list at the top", written("- a\n- b\n"), [], "expected a mapping of keys (name:, sites:, plans: ...) at"),
    (
        "a list where a mapping belongs",
        edited(set_in("travel", value=[1, 2])),
        [],
        "trace.yaml: travel: expected a mapping (key: value), got a list",
    ),
    (
        "nothing where a mapping belongs",
        edited(set_in("sites", value=None)),
        [],
        "trace.yaml: sites: expected a mapping (key: value), got nothing",
    ),
    (
        "1.403 in voters",
        tps(ROW_A.format(voters="1.403")),
        [],
        "trace_tps.csv: row 2 (A) column voters: '1.403' is ambiguous (a decimal, or a thousands separator?); "
        "write whole numbers without a thousands separator, e.g. 1403",
    ),
    (
        "quoted 1,403 in voters",
        tps(ROW_A.format(voters='"1,403"')),
        [],
        "row 2 (A) column voters: '1,403' is ambiguous",
    ),
    ("12.5 voters", tps(ROW_A.format(voters="12.5")), [], "row 2 (A) column voters: '12.5' is not a whole number"),
    (
        "unquoted decimal comma",
        tps("A,Kec,Desa,0,5,117.1,100,kurang_rawan,0,0,0\n"),
        [],
        "trace_tps.csv: a row has more cells than the header; a decimal comma must be quoted",
    ),
    (
        "two commas in lat",
        tps('A,Kec,Desa,"0,5,1",117.1,100,kurang_rawan,0,0,0\n'),
        [],
        "row 2 (A) column lat: '0,5,1' is not a number; write decimals with a dot (0.5) or one decimal comma",
    ),
    ("empty TPS table", tps(""), [], "trace_tps.csv: the TPS table has no rows"),
    (
        "0,5 as a YAML rate",
        edited(set_in(*RATE, value="0,5")),
        [],
        "incidents.types.gangguan.rate_per_site_hour.voting: '0,5' is not a number; write decimals with a dot: 0.5",
    ),
    (
        "0,5 as a --set rate",
        lambda folder: trace_copy(folder),
        ["--set", "incidents.types.gangguan.rate_per_site_hour.voting=0,5"],
        "--set: incidents.types.gangguan.rate_per_site_hour.voting: '0,5' is not a number; write decimals with a dot",
    ),
    (
        ".nan rate",
        edited(set_in(*RATE, value=float("nan"))),
        [],
        "rate_per_site_hour.voting: must be a finite number, not .nan or .inf",
    ),
    (
        ".inf rate",
        edited(set_in(*RATE, value=float("inf"))),
        [],
        "rate_per_site_hour.voting: must be a finite number, not .nan or .inf",
    ),
    (
        "negative rate",
        edited(set_in(*RATE, value=-0.5)),
        [],
        "rate_per_site_hour.voting: Input should be greater than or equal to 0",
    ),
    (
        "1.403 personnel",
        edited(set_in("forces", "polri", value=1.403)),
        [],
        "forces.polri: '1.403' is ambiguous; write a whole number without a thousands separator, e.g. 1403",
    ),
    (
        "time 25:00",
        edited(set_in("phases", "voting", "start", value="25:00")),
        [],
        "phases.voting.start: '25:00' is not a clock time",
    ),
    (
        "one TPS too many",
        many_tps,
        [],
        f"trace_tps.csv: {MAX_TPS + 1:,} TPS rows; at most {MAX_TPS:,} are supported",
    ),
    (
        "a rate for 100 million incidents",
        lambda folder: trace_copy(folder),
        ["--set", "incidents.types.gangguan.rate_per_site_hour.voting=10000000"],
        "trace.yaml: incidents: about 120,000,000 incidents expected (120,000,000 per replication from rates x "
        "sites x hours, x 1 replications x 1 plans)",
    ),
    (
        "unknown post",
        edited(set_in("plans", "one", "patrols", 0, "post", value="Q")),
        [],
        "plans.one.patrols.0.post: unknown post 'Q'; valid: P",
    ),
    (
        "over-allocation",
        edited(set_in("plans", "one", "patrols", 0, "units", value=6)),
        [],
        "plans.one: needs 12 polri but forces.polri is 10 (short by 2)",
    ),
]


@pytest.mark.parametrize(("label", "make", "extra", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(tmp_path, capsys, label, make, extra, fragment):
    assert_refused(main, make(tmp_path), tmp_path, extra, fragment, capsys)


def _excel(path: Path) -> None:
    """What Excel's 'CSV UTF-8' does to a file: a byte-order mark and CRLF line ends."""
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\n", "\r\n").encode())


def test_bom_and_crlf_are_accepted(tmp_path):
    plain = load_scenario(trace_copy(tmp_path))
    for name in ("trace.yaml", "trace_tps.csv", "trace_matrix.csv"):
        _excel(tmp_path / name)
    sc = load_scenario(tmp_path / "trace.yaml")
    assert sc.tps.equals(plain.tps)
    assert sc.travel_matrix is not None and plain.travel_matrix is not None
    assert sc.travel_matrix.equals(plain.travel_matrix)
    assert sc.spec == plain.spec


def test_comma_decimals_and_excel_layouts_are_accepted(tmp_path):
    plain = load_scenario(trace_copy(tmp_path)).tps
    rows = (
        'A,Kec,Desa,"0,0","117,1",100,kurang_rawan,0,0,0\r\n'
        'B,Kec,Desa,"0,0","117,2",100,kurang_rawan,FALSE,0,0\r\n'
        ",,,,,,,,,\r\n"  # Excel's trailing row of empty cells
    )
    assert load_scenario(trace_copy(tmp_path, tps_rows=rows)).tps.equals(plain)
    # Excel in an Indonesian locale: semicolons between cells, decimal commas unquoted.
    semicolon = (
        TPS_HEADER.replace(",", ";")
        + "A;Kec;Desa;0,0;117,1;100;kurang_rawan;0;0;0\nB;Kec ;Desa;0;117,2;100;kurang_rawan;0;0;0\n"
    )
    (tmp_path / "trace_tps.csv").write_text(semicolon)
    assert load_scenario(tmp_path / "trace.yaml").tps.equals(plain)
    matrix = tmp_path / "trace_matrix.csv"
    matrix.write_text(matrix.read_text().replace("P,A,10", 'P,A,"10,5"'))
    m = load_scenario(tmp_path / "trace.yaml").travel_matrix
    assert m is not None and m.loc[(m["from"] == "P") & (m["to"] == "A"), "minutes"].tolist() == [10.5]


def test_expected_incidents_by_hand(tmp_path):
    def rates(data: dict[str, Any]) -> None:
        data["incidents"]["types"]["gangguan"]["rate_per_site_hour"] = {"logistics": 0.1, "voting": 0.5}
        data["incidents"]["types"]["bentrok"]["rate_per_site_hour"] = {"counting": 0.2, "recap": 0.3}

    sc = load_scenario(trace_copy(tmp_path, rates))
    # 2 TPS: logistics 00:00-07:00 (7 h), voting 07:00-13:00 (6 h), counting base_min 60 (1 h);
    # 1 PPK venue: recap 22:00-23:00 (1 h).
    assert expected_incidents(sc) == pytest.approx(0.1 * 2 * 7 + 0.5 * 2 * 6 + 0.2 * 2 * 1 + 0.3 * 1 * 1)
    # The hourly multiplier weighs each clock hour: 07:00-08:00 doubled adds one voting hour.
    sc = load_scenario(tmp_path / "trace.yaml", ["incidents.hourly_multiplier.7=2"])
    assert expected_incidents(sc) == pytest.approx(0.1 * 2 * 7 + 0.5 * 2 * 7 + 0.2 * 2 * 1 + 0.3 * 1 * 1)


def test_force_lets_a_large_run_start(tmp_path, capsys, monkeypatch):
    scenario = trace_copy(tmp_path)
    big = ["--set", "incidents.types.gangguan.rate_per_site_hour.voting=10000000"]
    huge = load_scenario(scenario, big[1:])
    with pytest.raises(UserError, match="about 240,000,000 incidents expected"):
        check_size([huge], 2, 1)
    assert check_size([huge], 2, 1, force=True) == pytest.approx(240_000_000)
    assert get_parser().parse_args(["run", str(scenario), "--force"]).force

    # Through the command line: with small limits, a small run is refused, then runs with --force.
    monkeypatch.setattr(sim.size, "MAX_INCIDENTS_TOTAL", 1)
    args = ["run", str(scenario), "--reps", "1", "--no-report", "--quiet", "--set", RATE_SET]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    assert "about 6 incidents expected" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    assert main([*args, "--out", str(tmp_path / "forced"), "--force"]) == 0
    assert "incidents expected" not in capsys.readouterr().err
    assert (tmp_path / "forced" / "incidents.csv").exists()


RATE_SET = "incidents.types.gangguan.rate_per_site_hour.voting=0.5"
