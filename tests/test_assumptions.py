"""The assumptions the Kutim briefing lists, checked against the scenario and the team's fact sheet.

A Kapolres reads the assumptions table to judge how far to trust the answer, so it must list the
estimates that drive the result (not only the sourced headline figures), state each row in both
languages with its basis, credit every sourced row to a source that the fact sheet (FACTS.md) gives,
and name each figure where the sources disagree. Rows are matched to what they describe by the
scenario keys they name (``keys``), resolved in the YAML file as ``--set`` resolves them, never by
their wording. The briefing rows come from ``briefing_content`` on a one-replication run folder.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sim.cli import main
from sim.report.content import Briefing, briefing_content
from sim.report.data import RunData
from sim.report.i18n import number
from sim.scenario import load_scenario
from sim.scenario.load import ITEM_KEYS, key_path
from sim.scenario.schema import Assumption, Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "kutim-2024.yaml"
# The fact sheet: a copy in the project if there is one, else the team's shared reference folder.
FACTS_PLACES = (
    ROOT / "scenarios" / "kutim-2024" / "reference" / "FACTS.md",
    ROOT.parent / "shared" / "reference" / "kutim" / "FACTS.md",
)
URL = re.compile(r"https?://[^\s;)]+")
BASIS_WORDS = {
    "id": {"sourced": "bersumber", "estimated": "perkiraan"},
    "en": {"sourced": "sourced", "estimated": "estimated"},
}

# Estimates the brief names as driving the answer, by the key that holds them (issue 16).
NAMED_DRIVERS = (
    "plans.pemilu2024.patrols",  # 1 car per Polsek
    "plans.pemilu2024.reserve[polsek-mwh]",  # the forward BKO at Muara Wahau
    "plans.pemilu2024.tni_backup",  # the TNI at Kodim
    "plans.pemilu2024.ppk_guards.officers",  # 2 PPK guards
    "sites.tps_file",  # the class split of TPS (the table is generated)
    "sites.ppk",  # venue positions
    "sites.kpu.position",
    "sites.posts",  # Polsek list, seats and coverage
    "travel.road_factor",
    "travel.speed_kmh",
    "targets.default_min",
    "targets.groups",
    "dispatch.max_travel_min",
    "incidents.report_delay_min",
    "incidents.hourly_multiplier",
    "plans.pemilu2024.tps_guards.kurang_rawan.per_tps",  # 1 per 8: the thin end of 1 per 5-8
)
POLDA_FIGURES = {100, 150, 200}  # the Polda reinforcement as the fact sheet's sources give it
# English words that must not be left in an Indonesian text (domain words such as "blank spot" may).
ENGLISH = re.compile(
    r"\b(the|and|of|with|from|only|plus|each|is|are|not|officers?|voters?|cars?|same|variant|guards?)\b", re.I
)
ENGLISH_THOUSANDS = re.compile(r"\d,\d{3}(?!\d)")  # 1,403 (Indonesian: 1.403)
ENGLISH_DECIMAL = re.compile(r"\d\.\d(?!\d)")  # 3.5 (Indonesian: 3,5); times are 07.00


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(list(argv)) == 0


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def spec() -> Scenario:
    return load_scenario(SCENARIO).spec


@pytest.fixture(scope="module")
def facts_urls() -> set[str]:
    """Every URL the fact sheet credits (its sources are the URLs on its [S] lines)."""
    path = next((p for p in FACTS_PLACES if p.is_file()), None)
    if path is None:
        pytest.skip(f"FACTS.md not found in {', '.join(map(str, FACTS_PLACES))}")
    urls = {u.rstrip(".,") for u in URL.findall(path.read_text(encoding="utf-8"))}
    assert len(urls) > 50, f"{path}: too few URLs parsed ({len(urls)})"
    return urls


@pytest.fixture(scope="module")
def briefings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Briefing]:
    out = tmp_path_factory.mktemp("kutim") / "run"
    _cli("run", str(SCENARIO), "--reps", "1", "--workers", "1", "--no-report", "--quiet", "--out", str(out))
    run = RunData.load(out)
    return {lang: briefing_content(run, lang) for lang in ("id", "en")}


def resolve(raw: dict[str, Any], key: str) -> tuple[str | int, ...]:
    """The concrete place of a key path in the YAML (list items as indices), so two spellings of one
    place (``reserve[polsek-mwh]`` and ``reserve.2``) compare equal. Fails on a place that is not there."""
    steps = key_path(key)
    assert steps, f"'{key}' is not a key path"
    node: Any = raw
    where: list[str | int] = []
    for step in steps:
        if isinstance(step, tuple):
            assert isinstance(node, list), f"{key}: [{step[0]}] follows something that is not a list"
            names = [next((str(x[k]) for k in ITEM_KEYS if k in x), None) for x in node]
            hits = [i for i, name in enumerate(names) if name == step[0]]
            assert len(hits) == 1, f"{key}: [{step[0]}] names {len(hits)} items"
            index: str | int = hits[0]
        elif isinstance(node, list):
            assert step.isdigit() and int(step) < len(node), f"{key}: '{step}' is not an index of the list"
            index = int(step)
        else:
            assert isinstance(node, dict) and step in node, f"{key}: no key '{step}' in the scenario"
            index = step
        node = node[index]
        where.append(index)
    return tuple(where)


def named_sources(a: Assumption) -> list[str]:
    return [n for n in (a.source, *a.also, *(c.source for c in a.conflicts)) if n]


def test_every_key_an_assumption_names_is_in_the_scenario(raw: dict[str, Any], spec: Scenario) -> None:
    for a in spec.assumptions:
        assert a.keys, f"'{a.text}' names no scenario key"
        for key in a.keys:
            resolve(raw, key)


def test_the_estimates_that_drive_the_result_are_listed(raw: dict[str, Any], spec: Scenario) -> None:
    estimated = {resolve(raw, k) for a in spec.assumptions if a.basis == "estimated" for k in a.keys}
    per_type = [
        f"incidents.types.{name}.{part}" for name in spec.incidents.types for part in ("rate_per_site_hour", "onsite")
    ]
    missing = [k for k in (*NAMED_DRIVERS, *per_type) if resolve(raw, k) not in estimated]
    assert not missing, f"no estimated assumption describes {missing}"


def test_every_row_has_both_languages_and_its_basis(spec: Scenario, briefings: dict[str, Briefing]) -> None:
    for lang, b in briefings.items():
        assert len(b.assumptions) == len(spec.assumptions)
        for a, row in zip(spec.assumptions, b.assumptions, strict=True):
            assert a.text and a.text_id and a.text != a.text_id, a.text
            assert row.text.startswith(a.text_id if lang == "id" else a.text)
            assert row.basis == BASIS_WORDS[lang][a.basis]
            assert row.sourced == (a.basis == "sourced")
    n_sourced = sum(a.basis == "sourced" for a in spec.assumptions)
    assert 0 < n_sourced < len(spec.assumptions)


def test_indonesian_texts_read_as_indonesian(spec: Scenario) -> None:
    texts = [a.text_id for a in spec.assumptions] + [c.says_id for a in spec.assumptions for c in a.conflicts]
    texts += [spec.description_id, *(p.description_id for p in spec.plans.values())]
    for text in texts:
        assert text, "an Indonesian text is missing"
        for pattern in (ENGLISH, ENGLISH_THOUSANDS, ENGLISH_DECIMAL):
            assert not pattern.search(text), f"{pattern.search(text)!r} in: {text}"


def test_sourced_rows_are_credited_to_sources_of_the_fact_sheet(spec: Scenario, facts_urls: set[str]) -> None:
    for a in spec.assumptions:
        for name in named_sources(a):
            assert name in spec.sources, f"'{a.text}': '{name}' is not an entry of sources"
        if a.basis == "sourced":
            assert a.source, f"sourced row without a source: {a.text}"
            for name in named_sources(a):
                assert spec.sources[name] in facts_urls, f"'{a.text}': {name} ({spec.sources[name]}) is not in FACTS.md"


def test_source_column_lists_every_credit_and_links_the_first(spec: Scenario, briefings: dict[str, Briefing]) -> None:
    for a, row in zip(spec.assumptions, briefings["id"].assumptions, strict=True):
        assert row.source == ", ".join(n for n in (a.source, *a.also) if n)
        assert row.url == spec.sources.get(a.source, "")


def test_the_polda_reinforcement_row_names_each_figure_and_source(
    raw: dict[str, Any], spec: Scenario, briefings: dict[str, Briefing]
) -> None:
    polda = resolve(raw, "forces.polda_bko")
    index, a = next((i, a) for i, a in enumerate(spec.assumptions) if polda in {resolve(raw, k) for k in a.keys})
    assert {c.figure for c in a.conflicts} == POLDA_FIGURES
    assert spec.forces["polda_bko"] in POLDA_FIGURES  # the figure the model uses is one of them
    assert len({c.source for c in a.conflicts}) >= 2
    for lang, b in briefings.items():
        text = b.assumptions[index].text
        for c in a.conflicts:
            assert f"{number(c.figure, lang)} ({c.source}:" in text, (lang, text)
            assert (c.says_id if lang == "id" else c.says) in text


def test_the_briefing_counts_the_rows_where_sources_disagree(spec: Scenario, briefings: dict[str, Briefing]) -> None:
    n = sum(bool(a.conflicts) for a in spec.assumptions)
    assert n >= 1
    assert f"Pada {n} asumsi sumbernya saling berbeda" in briefings["id"].assumptions_note
    assert f"On {n} assumptions the sources disagree" in briefings["en"].assumptions_note


def test_descriptions_have_an_indonesian_version(spec: Scenario) -> None:
    for where, en, id_ in [("scenario", spec.description, spec.description_id)] + [
        (name, p.description, p.description_id) for name, p in spec.plans.items()
    ]:
        assert en and id_ and en != id_, where


@pytest.mark.parametrize(
    "conflicts",
    [
        [{"figure": 150, "says": "150", "source": "a"}],
        [{"figure": 150, "says": "150", "source": "a"}, {"figure": 150, "says": "also 150", "source": "b"}],
    ],
)
def test_a_conflict_needs_two_different_figures(conflicts: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError, match="at least two sources with different figures"):
        Assumption.model_validate({"text": "x", "basis": "sourced", "conflicts": conflicts})
    two = [conflicts[0], {**conflicts[0], "figure": 100, "source": "b"}]
    assert len(Assumption.model_validate({"text": "x", "basis": "sourced", "conflicts": two}).conflicts) == 2


def test_readme_counts_the_rows_it_describes() -> None:
    """The README's count of Kutim's assumption rows is the scenario's."""
    from sim import load_scenario

    rows = load_scenario(ROOT / "scenarios" / "kutim-2024.yaml").spec.assumptions
    said = re.search(
        r"For Kutim that is (\d+) rows: (\d+)\s+sourced and (\d+) estimated", (ROOT / "README.md").read_text()
    )
    assert said, "README: the assumptions paragraph no longer counts the rows"
    sourced = sum(a.basis == "sourced" for a in rows)
    assert tuple(map(int, said.groups())) == (len(rows), sourced, len(rows) - sourced)
