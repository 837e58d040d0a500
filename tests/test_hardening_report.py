"""``report`` trusts nothing in the folder (issue 14, class 5).

Run, compare and exercise folders of the hand-sized trace scenario, edited the way a hand, a sync
tool or a dying disk edits them: a manifest of the wrong shape, a table the manifest does not
list, a table that is not CSV or lacks a column (with its checksum forged to match, so that only
the table checks can catch it). Each must be refused with exit code 2 and one line naming the
file and the key, no traceback, and not one byte or folder changed. Then ``report`` killed while
it writes: the folder's documents and ``report.json`` never disagree on the language.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, RUN_TABLES, trace_copy

from sim.cli import main

HEADER = "number,time,kind,target,type,priority,value,duration,role,message,expected_action\n"
EXERCISE_TABLES = (
    "timeline.csv",
    "decision_points.csv",
    "aar.csv",
    "injects.csv",
    "incidents.csv",
    "sites.csv",
    "targets.csv",
)


def _quiet(argv: list[str]) -> None:
    assert main(argv) == 0


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Finished folders without a report: ``run`` (one plan), ``compare`` (two), ``exercise``."""
    base = tmp_path_factory.mktemp("folders")

    def two_plans(data: dict[str, Any]) -> None:
        data["plans"]["two"] = json.loads(json.dumps(data["plans"]["one"]))

    scenario = trace_copy(base, two_plans)
    common = ["--reps", "2", "--workers", "1", "--quiet"]
    _quiet(["run", str(scenario), "--plans", "one", *common, "--no-report", "--out", str(base / "run")])
    _quiet(["compare", str(scenario), "--baseline", "one", *common, "--no-report", "--out", str(base / "compare")])
    events = base / "one.csv"
    events.write_text(HEADER + "1,10:00,incident,A,gangguan\n")
    _quiet(
        [
            *("exercise", str(scenario), "--injects", str(events), "--background", "off", "--reps", "2"),
            *("--quiet", "--out", str(base / "exercise")),
        ]
    )
    return {"run": base / "run", "compare": base / "compare", "exercise": base / "exercise"}


def copy(folders: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    out = tmp_path / kind
    shutil.copytree(folders[kind], out)
    return out


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) below ``folder``, hidden ones too."""
    return {
        p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes()) for p in sorted(folder.rglob("*"))
    }


def assert_report_refused(folder: Path, capsys: Any, *fragments: str) -> None:
    """``report`` on a broken folder: exit 2, one line naming the problem, nothing written or changed."""
    before = tree(folder)
    code = main(["report", str(folder), "--formats", "html"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    assert tree(folder) == before


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """``change`` edits the parsed manifest in place, or returns what to write instead."""
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    out = change(data)
    path.write_text(json.dumps(data if out is None else out, allow_nan=True))


def forge(folder: Path, name: str, data: bytes) -> None:
    """Replace a table and put its new checksum into the manifest (the checksum check then passes)."""
    (folder / name).write_bytes(data)
    edit_manifest(folder, lambda m: m["files"].__setitem__(name, hashlib.sha256(data).hexdigest()))


def _set(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *keys, value = path_and_value

    def change(m: dict[str, Any]) -> None:
        for k in keys[:-1]:
            m = m[k]
        m[keys[-1]] = value

    return change


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        for k in keys[:-1]:
            m = m[k]
        del m[keys[-1]]

    return change


# --- the manifest's shape ----------------------------------------------------------------------

# (id, folder kind, change of the parsed manifest or the raw bytes, fragments of the one line)
MANIFESTS: list[tuple[str, str, Callable[[dict[str, Any]], Any] | bytes, tuple[str, ...]]] = [
    ("a list", "run", lambda m: [1, 2], ("manifest.json: a JSON array, not the provenance record (an object)",)),
    ("a string", "run", lambda m: "run", ("manifest.json: a JSON string",)),
    ("a number", "run", lambda m: 3, ("manifest.json: a JSON number",)),
    ("null", "run", b"null", ("manifest.json: a JSON null",)),
    ("not JSON", "run", b'{"command": "run",', ("manifest.json: not a readable manifest",)),
    ("not UTF-8", "run", b"\xff\xfe{}", ("manifest.json: not a readable manifest",)),
    ("nested too deep", "run", b"[" * 100_000, ("manifest.json: not a readable manifest",)),
    ("no plans", "run", _drop("plans"), ("manifest.json: plans: missing",)),
    ("plans a string", "run", _set("plans", "one"), ("manifest.json: plans: should be a valid list",)),
    ("no plan", "run", _set("plans", []), ("manifest.json: plans:", "at least 1")),
    ("unknown plan", "run", _set("plans", ["tiga"]), ("plans: 'tiga' is not a plan of scenario.resolved; valid: one",)),
    ("plan twice", "run", _set("plans", ["one", "one"]), ("manifest.json: plans: a plan is listed twice",)),
    ("no files", "run", _drop("files"), ("manifest.json: files: missing",)),
    ("files a list", "run", _set("files", ["incidents.csv"]), ("manifest.json: files: should be a valid dict",)),
    ("checksum a number", "run", _set("files", "kpis.csv", 5), ("manifest.json: files.kpis.csv: should be",)),
    ("checksum not hex", "run", _set("files", "kpis.csv", "x" * 64), ("files.kpis.csv: String should match",)),
    ("file outside", "run", _set("files", "../x.csv", "0" * 64), ("files: '../x.csv' is not a file name",)),
    ("no command", "run", _drop("command"), ("manifest.json: command: missing",)),
    ("unknown command", "run", _set("command", "dance"), ("command: should be 'run', 'compare', 'sweep' or",)),
    ("no scenario", "run", _drop("scenario"), ("manifest.json: scenario: missing",)),
    ("scenario a number", "run", _set("scenario", 3), ("manifest.json: scenario: should be a valid dict",)),
    ("no resolved scenario", "run", _drop("scenario", "resolved"), ("manifest.json: scenario.resolved: missing",)),
    ("resolved not a scenario", "run", _set("scenario", "resolved", {"x": 1}), ("scenario.resolved: missing or not",)),
    ("scenario name null", "run", _set("scenario", "name", None), ("manifest.json: scenario.name: should be",)),
    ("seed text", "run", _set("seed", "1"), ("manifest.json: seed: should be a valid integer",)),
    ("seed true", "run", _set("seed", True), ("manifest.json: seed: should be a valid integer",)),
    ("no replications", "run", _set("replications", 0), ("manifest.json: replications: should be greater",)),
    ("grid a string", "run", _set("grid", "x"), ("manifest.json: grid: should be a valid list",)),
    ("grid point no values", "run", _set("grid", [{"point": 0}]), ("manifest.json: grid.0.values: missing",)),
    (
        "grid points vary other keys",
        "run",
        _set("grid", [{"point": 0, "values": {"seed": 1}}, {"point": 1, "values": {"x": 2}}]),
        ("manifest.json: grid.1.values: varies other keys than point 0 (seed)",),
    ),
    ("baseline not a plan", "run", _set("baseline", "two"), ("baseline: 'two' is not one of plans (one)",)),
    ("precision target text", "run", _set("precision", {"target": "5%"}), ("precision.target: should be a valid",)),
    ("precision target NaN", "run", _set("precision", {"target": float("nan")}), ("precision.target: should be a",)),
    ("backend a list", "run", _set("backend", []), ("manifest.json: backend: should be a valid dict",)),
    ("version a number", "run", _set("versions", {"sim": 1}), ("manifest.json: versions.sim: should be",)),
    ("started a number", "run", _set("started", 5), ("manifest.json: started: should be a valid string",)),
    ("exercise: no exercise key", "exercise", _drop("exercise"), ("manifest.json: exercise: missing",)),
    ("exercise: a list", "exercise", lambda m: [m], ("manifest.json: a JSON array",)),
    ("exercise: plan", "exercise", _set("exercise", "plan", "two"), ("exercise.plan: 'two' is not one of plans",)),
    ("exercise: alert text", "exercise", _set("exercise", "queue_alert", "3"), ("exercise.queue_alert: should be",)),
    ("exercise: events file", "exercise", _set("exercise", "events_file", "x"), ("exercise.events_file: should",)),
    ("exercise: no plans", "exercise", _drop("plans"), ("manifest.json: plans: missing",)),
    ("exercise: files a list", "exercise", _set("files", []), ("manifest.json: files: should be a valid dict",)),
]


@pytest.mark.parametrize(("kind", "change", "fragments"), [c[1:] for c in MANIFESTS], ids=[c[0] for c in MANIFESTS])
def test_a_manifest_of_the_wrong_shape_is_refused(folders, tmp_path, capsys, kind, change, fragments):
    folder = copy(folders, kind, tmp_path)
    if isinstance(change, bytes):
        (folder / "manifest.json").write_bytes(change)
    else:
        edit_manifest(folder, change)
    assert_report_refused(folder, capsys, *fragments)


# --- every table read is listed in the manifest --------------------------------------------------

UNLISTED = [("run", n) for n in RUN_TABLES] + [("compare", "comparison.csv")]
UNLISTED += [("exercise", n) for n in EXERCISE_TABLES]


@pytest.mark.parametrize(("kind", "name"), UNLISTED, ids=[f"{k}-{n}" for k, n in UNLISTED])
def test_a_table_the_manifest_does_not_list_is_refused(folders, tmp_path, capsys, kind, name):
    """Taken out of ``files`` and then corrupted: its checksum is never checked, so it is not read."""
    folder = copy(folders, kind, tmp_path)
    edit_manifest(folder, _drop("files", name))
    (folder / name).write_text('garbage\n"unclosed\n')
    assert_report_refused(folder, capsys, f"manifest.json: files: does not list {name}, which the report reads")


# --- every table read is a table with the columns the reader needs ----------------------------


def _table(folder: Path, name: str, edit: Callable[[str], str]) -> bytes:
    return edit((folder / name).read_text()).encode()


def _replace(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, 1)


def _append(row: str) -> Callable[[str], str]:
    return lambda text: text + row


def _rows_edit(change: Callable[[list[list[str]]], None]) -> Callable[[str], str]:
    """An edit of a table's rows as a spreadsheet user makes it (read and written as CSV)."""

    def edit(text: str) -> str:
        rows = list(csv.reader(io.StringIO(text)))
        change(rows)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue()

    return edit


def _drop_column(col: str) -> Callable[[str], str]:
    def change(rows: list[list[str]]) -> None:
        i = rows[0].index(col)
        rows[:] = [[c for j, c in enumerate(row) if j != i] for row in rows]

    return _rows_edit(change)


def _set_cell(col: str, value: str) -> Callable[[str], str]:
    """The first data row's ``col`` set to ``value``."""

    def change(rows: list[list[str]]) -> None:
        rows[1][rows[0].index(col)] = value

    return _rows_edit(change)


def _incident_row(**cells: str) -> str:
    row = {
        **dict.fromkeys(["replication", "incident_id", "priority"], "0"),
        **dict(plan="one", type="gangguan", site_id="A", kecamatan="Kec", phase="voting", outcome="cleared"),
        **dict.fromkeys(["reached", "within_target", "escalated"], "True"),
        **cells,
    }
    from sim.records import INCIDENT_COLUMNS

    return ",".join(row.get(c, "1.0") for c in INCIDENT_COLUMNS) + "\n"


# (id, folder kind, table, its new bytes from the old text, fragments)
TABLES: list[tuple[str, str, str, Callable[[str], str] | bytes, tuple[str, ...]]] = [
    ("not CSV", "run", "kpis.csv", b'garbage\n"unclosed\n', ("kpis.csv: not a readable table",)),
    ("empty file", "run", "summary.csv", b"", ("summary.csv: not a readable table",)),
    ("not UTF-8", "run", "sites.csv", b"site_id,kind\n\xff\xfe,\x00\n", ("sites.csv: not a readable table",)),
    (
        "no column",
        "run",
        "sites.csv",
        _drop_column("kind"),
        ("sites.csv: kind: no such column: the report needs site_id, kind, name",),
    ),
    (
        "an older incidents table",
        "run",
        "incidents.csv",
        _drop_column("within_target"),
        ("incidents.csv: within_target: no such column: made by an older pilkada-sim",),
    ),
    (
        "text for a number",
        "run",
        "targets.csv",
        _set_cell("target_min", "twenty"),
        ("targets.csv: target_min: holds 'twenty', not a number",),
    ),
    (
        "a flag that is not one",
        "run",
        "incidents.csv",
        _append(_incident_row(within_target="maybe")),
        ("incidents.csv: within_target: holds 'maybe'; valid: true, false or empty",),
    ),
    (
        "a time that is text",
        "run",
        "incidents.csv",
        _append(_incident_row(t_report="10:00")),
        ("incidents.csv: t_report: holds '10:00', not a number",),
    ),
    ("comparison without a column", "compare", "comparison.csv", _drop_column("difference"), ("difference: no such",)),
    ("exercise: not CSV", "exercise", "aar.csv", b'"\n', ("aar.csv: not a readable table",)),
    ("exercise: no column", "exercise", "timeline.csv", _drop_column("event"), ("timeline.csv: event: no such",)),
    ("exercise: text time", "exercise", "aar.csv", _set_cell("t", "noon"), ("aar.csv: t: holds 'noon'",)),
    (
        "exercise: judged",
        "exercise",
        "aar.csv",
        _set_cell("judged", "yes"),
        ("aar.csv: judged: holds 'yes'; valid: true, false or empty",),
    ),
    ("exercise: no kecamatan", "exercise", "targets.csv", _drop_column("kecamatan"), ("targets.csv: kecamatan: no",)),
]


@pytest.mark.parametrize(("kind", "name", "edit", "fragments"), [c[1:] for c in TABLES], ids=[c[0] for c in TABLES])
def test_a_table_that_is_not_what_the_reader_needs_is_refused(folders, tmp_path, capsys, kind, name, edit, fragments):
    folder = copy(folders, kind, tmp_path)
    forge(folder, name, edit if isinstance(edit, bytes) else _table(folder, name, edit))
    assert_report_refused(folder, capsys, f"{folder / name}:", *fragments)


def test_the_folders_as_written_are_reported(folders, tmp_path):
    """The checks refuse only what is broken: the untouched folders are reported."""
    for kind in ("run", "compare", "exercise"):
        folder = copy(folders, kind, tmp_path)
        assert main(["report", str(folder), "--formats", "html"]) == 0
        assert json.loads((folder / "report.json").read_text())["lang"] == "id"


# --- never mixed languages ---------------------------------------------------------------------


class Killed(BaseException):
    """Stands for SIGKILL at a chosen moment (nothing after it runs, not even ``except Exception``)."""


def _languages(folder: Path, refs: dict[str, dict[str, bytes]]) -> dict[str, str]:
    """The language of each report file in ``folder``, by its bytes (as ``report`` writes them)."""
    found = {}
    for lang, files in refs.items():
        for rel, data in files.items():
            if (folder / rel).is_file() and (folder / rel).read_bytes() == data:
                found[rel] = lang
    return found


def test_a_killed_report_never_leaves_languages_mixed(folders, tmp_path, monkeypatch):
    """An exercise folder in Indonesian, re-rendered in English and killed at each rename in turn
    (the moment a file goes into place): whenever ``report.json`` is there, every report file
    present is in its language; and the next ``report`` finishes the job."""
    outputs = ("charts/timeline.png", "aar.md", "timeline.html")
    refs = {}
    for lang in ("id", "en"):
        ref = tmp_path / f"ref-{lang}"
        shutil.copytree(folders["exercise"], ref)
        assert main(["report", str(ref), "--lang", lang]) == 0
        refs[lang] = {rel: (ref / rel).read_bytes() for rel in outputs}
    assert refs["id"]["charts/timeline.png"] != refs["en"]["charts/timeline.png"]
    real_replace = os.replace
    for k in range(1, 30):
        folder = tmp_path / f"kill-{k}"
        shutil.copytree(tmp_path / "ref-id", folder)
        calls = 0

        def dying(src: Any, dst: Any, *, k: int = k) -> None:
            nonlocal calls
            calls += 1
            if calls == k:
                raise Killed
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", dying)
        try:
            main(["report", str(folder), "--lang", "en"])
            finished = True
        except Killed:
            finished = False
        monkeypatch.setattr(os, "replace", real_replace)
        langs = _languages(folder, refs)
        assert set(langs) == {o for o in outputs if (folder / o).exists()}, (k, langs)  # no third kind of file
        if (folder / "report.json").exists():
            record = json.loads((folder / "report.json").read_text())
            assert set(langs.values()) == {record["lang"]}, (k, record, langs)
            assert sorted(record["files"]) == sorted(langs), (k, record, langs)
        assert main(["report", str(folder), "--lang", "en"]) == 0
        assert _languages(folder, refs) == dict.fromkeys(outputs, "en")
        assert not [p for p in folder.iterdir() if ".tmp" in p.name]
        if finished:
            break
    else:
        raise AssertionError("the report never finished")
    assert k > 3  # it was killed at least once inside the move into place


def test_sigkill_while_rendering_changes_nothing(folders, tmp_path):
    """A real ``report --lang en`` SIGKILLed while its documents are being written: the Indonesian
    report stays whole (every byte, ``report.json`` included), its staging folder goes next time."""
    folder = copy(folders, "run", tmp_path)
    assert main(["report", str(folder)]) == 0
    before = tree(folder)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "report", str(folder), "--lang", "en"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stage = folder / f".report.tmp-{proc.pid}"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not (stage / "briefing.html").exists():
        time.sleep(0.005)
    assert proc.poll() is None, "report ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after = tree(folder)
    assert {k: v for k, v in after.items() if not k.startswith(".report.tmp-")} == before
    assert main(["report", str(folder), "--lang", "en", "--formats", "html"]) == 0
    assert not stage.exists()


def test_a_report_in_another_language_replaces_the_whole_report(folders, tmp_path):
    """``--formats html --lang en`` after a full Indonesian report: the Indonesian PDF, deck and
    workbook go (they would contradict report.json); in the same language they stay, listed."""
    folder = copy(folders, "run", tmp_path)
    assert main(["report", str(folder)]) == 0
    full = json.loads((folder / "report.json").read_text())["files"]
    assert main(["report", str(folder), "--formats", "html"]) == 0
    assert sorted(json.loads((folder / "report.json").read_text())["files"]) == sorted(full)
    assert main(["report", str(folder), "--formats", "html", "--lang", "en"]) == 0
    record = json.loads((folder / "report.json").read_text())
    assert record["lang"] == "en" and "briefing.html" in record["files"]
    for name in ("briefing.pdf", "briefing.pptx", "results.xlsx"):
        assert name not in record["files"] and not (folder / name).exists()
    assert '<html lang="en">' in (folder / "briefing.html").read_text(encoding="utf-8")
