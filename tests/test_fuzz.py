"""Fuzzing the command line (issue 14): mutated scenarios, TPS tables, travel matrices, events lists,
argument lists and damaged run folders, each through the commands a user would run, must end in a
clean run or in one line on stderr with exit 2 and nothing written (tests/fuzz_inputs.py says
exactly what is checked). Examples are derandomised and the example database is off, so CI tries
the same inputs every time; the number of distinct inputs tried per fault class is printed at the
end of the module and kept in the pytest cache (``fuzz/distinct_inputs``).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_inputs import (
    DAMAGES,
    INJECT_HEADER,
    INJECT_ROWS,
    MATRIX_ROWS,
    RUN,
    TPS_SHAPES,
    Case,
    Raw,
    cli_case,
    cli_cases,
    duplicate_edit,
    events_case,
    events_cases,
    matrix_case,
    matrix_cases,
    play_case,
    report_case,
    report_cases,
    scenario_case,
    scenario_cases,
    scenario_commands,
    set_edit,
    text_case,
    text_cases,
    tps_cases,
    tps_cell_case,
    tps_shape_case,
)
from hypothesis import HealthCheck, Phase, given, settings

PROFILE: dict[str, Any] = {
    # No shrinking: a case is one or two edits already, and the first failure is shown at once.
    "phases": [Phase.explicit, Phase.generate],
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}


class Tally:
    """Distinct inputs tried per fault class, and how they ended."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.refused: dict[str, set[str]] = defaultdict(set)

    def add(self, case: Case, refused: bool) -> None:
        key = case.key()
        for kind in case.kinds:
            self.seen[kind].add(key)
            if refused:
                self.refused[kind].add(key)

    def lines(self) -> list[str]:
        total = len(set().union(*self.seen.values())) if self.seen else 0
        lines = [f"fuzz: {total} distinct inputs"]
        for kind in sorted(self.seen):
            n, r = len(self.seen[kind]), len(self.refused[kind])
            lines.append(f"fuzz:   {kind:<18} {n:4d} distinct ({r} refused with one line, {n - r} ran cleanly)")
        return lines


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    found = Tally()
    yield found
    if not found.seen:
        return
    request.config.cache.set("fuzz/distinct_inputs", {k: len(v) for k, v in found.seen.items()})
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
            reporter.write_line("")
            for line in found.lines():
                reporter.write_line(line)


def check(case: Case, tally: Tally) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz_") as tmp:
        problems, played = play_case(case, Path(tmp))
    tally.add(case, refused=any(p.code == 2 for p in played))
    assert not problems, "\n".join([case.reproducer(), "", *problems])


# --- the fuzz tests: a bounded number of generated cases per kind of input ---------------------


@pytest.mark.slow
@settings(max_examples=300, **PROFILE)
@given(case=scenario_cases())
def test_fuzz_scenario_yaml(case: Case, tally: Tally) -> None:
    check(case, tally)


@pytest.mark.slow
@settings(max_examples=150, **PROFILE)
@given(case=tps_cases())
def test_fuzz_tps_table(case: Case, tally: Tally) -> None:
    check(case, tally)


@pytest.mark.slow
@settings(max_examples=100, **PROFILE)
@given(case=matrix_cases())
def test_fuzz_travel_matrix(case: Case, tally: Tally) -> None:
    check(case, tally)


@pytest.mark.slow
@settings(max_examples=15, **PROFILE)
@given(case=text_cases())
def test_fuzz_hostile_text_through_the_report(case: Case, tally: Tally) -> None:
    check(case, tally)


@pytest.mark.slow
@settings(max_examples=90, **PROFILE)
@given(case=events_cases())
def test_fuzz_events_lists(case: Case, tally: Tally) -> None:
    check(case, tally)


@pytest.mark.slow
@settings(max_examples=200, **PROFILE)
@given(case=cli_cases())
def test_fuzz_command_lines(case: Case, tally: Tally) -> None:
    check(case, tally)


@pytest.mark.slow
@settings(max_examples=40, **PROFILE)
@given(case=report_cases())
def test_fuzz_damaged_run_folders(case: Case, tally: Tally) -> None:
    check(case, tally)


# --- smoke: fixed cases, so `-m "not slow"` still exercises the harness -----------------------

DAMAGE = {label: damage for label, damage, _ in DAMAGES}
RUN_ONE = ["run", "{scenario}", "--out", "{dir}/out", *RUN]


def _injects(rows: list[list[str]], label: str, must: bool) -> Case:
    return events_case("csv", list(INJECT_HEADER), rows, [], label, "events_cell", must)


def _smoke() -> list[Case]:
    """The unbroken base, then a case of each kind of input, from the examples of issue 14."""
    rf = ("travel", "road_factor")
    no_workers = [a for a in RUN_ONE if a not in ("--workers", "1")]
    return [
        Case("base", ("base",), "the base scenario, unbroken", scenario_commands()),
        events_case("csv", list(INJECT_HEADER), INJECT_ROWS, [], "the base events list, unbroken", "base", False),
        scenario_case([set_edit("extreme", rf, 1e308, False)]),
        scenario_case([set_edit("yaml_scalar", rf, Raw("yes"), True, "travel.road_factor: yes (unquoted)")]),
        scenario_case([duplicate_edit(("seed",), 2)]),
        scenario_case([set_edit("date", ("election_day",), Raw("2024-02-30"), True, "election_day: 2024-02-30")]),
        tps_cell_case(1, "tps_id", "KPU", True),
        tps_cell_case(0, "blank_spot", "2", True),
        matrix_case([*MATRIX_ROWS, ["X", "A", "5"]], "an extra row from unknown site 'X'", "matrix_site", True),
        text_case("kecamatan", "Kec $x$"),
        _injects([["1", "H+99999999 10:00", "incident", "A", "gangguan", *[""] * 6]], "an inject at H+99999999", True),
        cli_case([*no_workers, "--workers", "0"], "run --workers 0", ("cli_option",), True),
        cli_case([*no_workers, "--dask", "not an address"], "run --dask 'not an address'", ("cli_option",), True),
        report_case("manifest a list", DAMAGE["manifest a list"], True, ["--formats", "html"], False),
    ]


SMOKE = _smoke()


@pytest.mark.parametrize("case", SMOKE, ids=[f"{c.group}-{c.label[:40]}" for c in SMOKE])
def test_fuzz_smoke(case: Case, tally: Tally) -> None:
    check(case, tally)


# --- what the fuzz tests found beyond the list, kept as fixed cases ----------------------


def _found() -> list[Case]:
    # `--set` of a new hour where the file has hours: the override's key is text, the file's are
    # numbers, and hashing the scenario (json.dumps(sort_keys=True)) cannot order them: TypeError.
    hourly = cli_case(
        [*RUN_ONE, "--set", "incidents.hourly_multiplier.7=2"],
        "run --set incidents.hourly_multiplier.7=2 (the file has 9: 1.5)",
        ("cli_set",),
        False,
    )
    return [
        hourly,
        cli_case(
            ["compare", "{scenario}", "--baseline", "", *RUN_ONE[2:]], "compare --baseline ''", ("cli_option",), True
        ),
        cli_case([*RUN_ONE, "--plans", ","], "run --plans ,", ("cli_option",), True),
        # pandas reads the cells nan, NA, null, None, N/A ... as empty: a factor 'nan' cuts the roads,
        # and a filled cell in a column the kind does not take passes as empty.
        _injects(
            [["1", "11:00", "road_closure", "Kec", "", "", "nan", "1h", "", "", ""]], "road_closure value nan", True
        ),
        _injects(
            [["1", "09:00", "incident", "A", "gangguan", "", "", "N/A", "", "", ""]], "incident duration N/A", True
        ),
        # A TPS table with two 'voters' columns: the first is used, the second silently dropped.
        tps_shape_case(*next(shape for shape in TPS_SHAPES if shape[0] == "header 'voters' twice")),
    ]


FOUND = _found()


@pytest.mark.parametrize("case", FOUND, ids=[f"{c.group}-{c.label[:40]}" for c in FOUND])
def test_fuzz_findings(case: Case, tally: Tally) -> None:
    check(case, tally)
