"""The workbook (results.xlsx) as a planner opens it in Excel, in both languages.

Made from three small folders: a Kutim comparison (WITA, 2 replications), a teaching sweep and a
teaching comparison with the optimizer's record and tables added by hand (as
tests/test_optimization_page.py makes one). Every expectation is computed here, not by the code
under test:

- a moment is the scenario's epoch (27 November 2024 is election day, the epoch ``H-1 00:00``, in
  Asia/Makassar) plus the CSV table's minutes, converted through UTC with :mod:`zoneinfo`;
- a share is a KPI whose unit in :mod:`sim.metrics` is a share: a column named by such a KPI, or
  the figures in the KPI's unit (headers saying so, and the confidence bounds) of a row whose
  indicator is one; every other figure is not shown as a percentage;
- the labels of codes are the label table's (:func:`sim.report.i18n.code_label`), and no cell
  shows a raw code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import json
import math
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from conftest import ROOT
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from test_optimization_page import GROUPS, _addendum, _compare, _scenario

from sim import metrics
from sim.cli import main
from sim.records import INCIDENT_COLUMNS, TIMESERIES_COLUMNS, UNIT_COLUMNS
from sim.report import workbook
from sim.report.data import RunData
from sim.report.i18n import LABELS, code_label
from sim.report.workbook import sheet_name, write_xlsx

SCENARIOS = ROOT / "scenarios"
LANGS = ("id", "en")
KUTIM_EPOCH = dt.datetime(2024, 11, 26, 0, 0)  # H-1 00:00 of election day, 27 November 2024
KUTIM_ZONE = ZoneInfo("Asia/Makassar")  # WITA, UTC+8
MOMENTS = {  # the saved tables' columns that hold a moment, minutes from the epoch
    "incidents": ("t_occur", "t_report", "t_dispatch", "t_arrive", "t_clear"),
    "units": ("t_dispatch", "t_arrive", "t_clear", "t_back"),
    "timeseries": ("t",),
}
INDICATOR = {"id": "Indikator (KPI)", "en": "Indicator (KPI)"}  # the column naming each row's KPI
SHARES = {k for k, v in metrics.KPIS.items() if v.unit == "share"}
ONE_MS = dt.timedelta(milliseconds=1)
UNIT_ID = re.compile(r"(?P<post>[a-z0-9-]+)-(?P<role>patrol|reserve|tni)-(?P<n>\d+)")  # sim.model's unit ids


@dataclass
class Book:
    folder: Path
    files: dict[str, Path]  # lang -> results.xlsx
    written_at: float  # time.time() when written


def _write(folder: Path, out: Path) -> Book:
    run = RunData.load(folder)
    files = {lang: out / f"{lang}-results.xlsx" for lang in LANGS}
    for lang, path in files.items():
        write_xlsx(run, lang, path)
    return Book(folder, files, time.time())


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--workers", "1", "--quiet", "--no-report"]) == 0


@pytest.fixture(scope="module")
def kutim(tmp_path_factory: pytest.TempPathFactory) -> Book:
    base = tmp_path_factory.mktemp("kutim")
    _cli(
        "compare",
        str(SCENARIOS / "kutim-2024.yaml"),
        "--baseline",
        "pemilu2024",
        "--reps",
        "2",
        "--out",
        str(base / "run"),
    )
    return _write(base / "run", base)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Book:
    base = tmp_path_factory.mktemp("sweep")
    vary = "plans.satu_patroli.patrols.0.units=1,2"
    _cli("sweep", str(SCENARIOS / "teaching-small.yaml"), "--vary", vary, "--reps", "2", "--out", str(base / "run"))
    return _write(base / "run", base)


@pytest.fixture(scope="module")
def optimized(tmp_path_factory: pytest.TempPathFactory) -> Book:
    """A confirmation folder with the optimizer's hand-made tables and record (test_optimization_page's)."""
    base = tmp_path_factory.mktemp("optimized")
    return _write(_compare(_scenario(base), base / "run", _addendum), base)


@pytest.fixture(params=["kutim", "sweep", "optimized"])
def book(request: pytest.FixtureRequest) -> Book:
    result: Book = request.getfixturevalue(request.param)
    return result


# --- reading a sheet ---------------------------------------------------------------------------


def _header(ws: Worksheet) -> list[str]:
    return [str(c.value) for c in ws[1]]


@functools.cache
def _open(path: Path) -> Workbook:
    """A written workbook, opened once (the tests only read it)."""
    return load_workbook(path)


def _data_sheets(path: Path) -> list[Worksheet]:
    return _open(path).worksheets[1:]  # the first is the README


def _moment(minutes: float) -> dt.datetime:
    """Local (WITA) wall-clock time of a model minute, through UTC."""
    epoch_utc = KUTIM_EPOCH.replace(tzinfo=KUTIM_ZONE).astimezone(dt.UTC)
    return (epoch_utc + dt.timedelta(minutes=minutes)).astimezone(KUTIM_ZONE).replace(tzinfo=None)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _share_labels(lang: str) -> set[str]:
    return {metrics.kpi(k).label(lang) for k in SHARES}


def _names_a_share(header: str, lang: str) -> bool:
    """A column named by a share KPI: its name, or its name pooled ('..., gabungan')."""
    return any(header == label or header.startswith(label + ", ") for label in _share_labels(lang))


def _in_kpi_unit(header: str) -> bool:
    """A figure in its row's KPI unit: the header says so, or it is a confidence bound."""
    return any(words in header for words in ("satuan KPI", "KPI unit", "selang kepercayaan 95%", "95% CI"))


# --- time ----------------------------------------------------------------------------------------


def test_the_moment_columns_are_the_documented_times() -> None:
    """Every column sim.records documents as a moment ('when ...', 'time of ...') is checked below."""
    for table, columns in (
        ("incidents", INCIDENT_COLUMNS),
        ("units", UNIT_COLUMNS),
        ("timeseries", TIMESERIES_COLUMNS),
    ):
        documented = tuple(c for c, doc in columns.items() if doc.startswith(("when", "time of")))
        assert documented == MOMENTS[table]


def test_kutim_epoch_and_zone() -> None:
    assert KUTIM_ZONE.utcoffset(KUTIM_EPOCH) == dt.timedelta(hours=8)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("table", list(MOMENTS))
def test_times_are_local_date_time_cells(kutim: Book, lang: str, table: str) -> None:
    manifest = json.loads((kutim.folder / "manifest.json").read_text())
    assert dt.datetime.fromisoformat(manifest["epoch"]) == KUTIM_EPOCH and manifest["timezone"] == "Asia/Makassar"
    csv = pd.read_csv(kutim.folder / f"{table}.csv")
    ws = _open(kutim.files[lang])[sheet_name(table, lang)]
    header = _header(ws)
    assert len(header) == len(csv.columns)  # one sheet column per table column, in order
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == len(csv)
    checked = 0
    for j, col in enumerate(csv.columns):
        minutes = csv[col].to_numpy()
        if col in MOMENTS[table]:
            assert header[j].endswith("(WITA)"), header[j]
            for row, m in zip(rows, minutes, strict=True):
                cell = row[j]
                if math.isnan(m):
                    assert cell.value is None
                    continue
                assert isinstance(cell.value, dt.datetime) and cell.is_date, (col, cell.value)
                assert cell.number_format == "dd/mm/yyyy hh:mm"
                assert abs(cell.value - _moment(float(m))) < ONE_MS, (col, m, cell.value)
                checked += 1
        else:  # nothing else is a date: durations stay minutes, equal to the table's
            for row, m in zip(rows, minutes, strict=True):
                assert not isinstance(row[j].value, dt.datetime), col
                if col.endswith("_min") and not (isinstance(m, float) and math.isnan(m)):
                    assert row[j].value == pytest.approx(float(m), abs=1e-9) and not row[j].is_date
    assert checked > 0


def test_a_moment_reads_as_the_clock_time() -> None:
    """Hand-worked: minute 757.5 from 26 Nov 00:00 WITA is 26 Nov 12:37:30 WITA (04:37:30 UTC)."""
    assert _moment(757.5) == dt.datetime(2024, 11, 26, 12, 37, 30)


# --- shares and numbers --------------------------------------------------------------------------


def _swept(book: Book, lang: str) -> set[str]:
    """The headers of a sweep's varied keys (their values are shown as the sweep wrote them)."""
    run = RunData.load(book.folder)
    grid = run.manifest.get("grid") or [{"values": {}}]
    return {code_label("sweep_key", k, lang, run.spec) for k in grid[0]["values"]}


@pytest.mark.parametrize("lang", LANGS)
def test_every_share_is_a_percentage_and_nothing_else_is(book: Book, lang: str) -> None:
    shares_seen = 0
    swept = _swept(book, lang)
    for ws in _data_sheets(book.files[lang]):
        header = _header(ws)
        indicator = next((j for j, h in enumerate(header) if h == INDICATOR[lang]), None)
        for row in ws.iter_rows(min_row=2):
            share_row = indicator is not None and row[indicator].value in _share_labels(lang)
            for j, cell in enumerate(row):
                if not _is_number(cell.value):
                    continue
                share = _names_a_share(header[j], lang) or (share_row and _in_kpi_unit(header[j]))
                percent = "%" in cell.number_format
                assert percent == share, (ws.title, header[j], cell.coordinate, cell.number_format)
                if percent:
                    assert -1.0 <= cell.value <= 1.0, (ws.title, cell.coordinate, cell.value)  # a fraction
                    shares_seen += 1
                elif header[j] not in swept:  # every other figure has a number format of its own
                    assert cell.number_format in ("0", "#,##0", "#,##0.0"), (ws.title, header[j], cell.number_format)
    assert shares_seen > 0


@pytest.mark.parametrize("lang", LANGS)
def test_the_share_columns_hold_the_tables_fractions(kutim: Book, lang: str) -> None:
    """The KPI sheet's share columns are kpis.csv's shares, as fractions with the percent format."""
    csv = pd.read_csv(kutim.folder / "kpis.csv")
    ws = _open(kutim.files[lang])[sheet_name("kpis", lang)]
    header = _header(ws)
    assert len(header) == len(csv.columns)
    rows = list(ws.iter_rows(min_row=2))
    for j, col in enumerate(csv.columns):
        if col in SHARES:
            assert header[j] == metrics.kpi(col).label(lang)
            for row, x in zip(rows, csv[col], strict=True):
                if math.isnan(x):  # an empty cell (no priority-1 call that day): no value, no format
                    assert row[j].value is None
                    continue
                assert row[j].number_format == "0.0%" and row[j].value == pytest.approx(x, abs=1e-9), (col, x)
            assert csv[col].notna().any()


# --- layout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_headers_frozen_and_widths_from_content(book: Book, lang: str) -> None:
    for ws in _data_sheets(book.files[lang]):
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
        for j in range(1, ws.max_column + 1):
            dim = ws.column_dimensions[get_column_letter(j)]
            assert dim.customWidth and 8 <= dim.width <= 50, (ws.title, j, dim.width)
            cells = [r[0].value for r in ws.iter_rows(min_row=2, min_col=j, max_col=j)]
            texts = [len(v) for v in cells if isinstance(v, str)]
            if texts:  # wide enough for its longest text, up to the bound
                assert dim.width >= min(50, max(texts)), (ws.title, j, dim.width, max(texts))
            if any(isinstance(v, dt.datetime) for v in cells):
                assert dim.width >= len("26/11/2024 08:37")


@pytest.mark.parametrize("lang", LANGS)
def test_the_readme_sheet_comes_first_and_explains_every_sheet(book: Book, lang: str) -> None:
    wb = _open(book.files[lang])
    readme = wb.worksheets[0]
    assert readme.title == {"id": "BACA SAYA", "en": "README"}[lang]
    cells = [str(v) for row in readme.iter_rows(values_only=True) for v in row if v is not None]
    first_column = [r[0] for r in readme.iter_rows(values_only=True)]
    for ws in wb.worksheets[1:]:  # each on a row of its own, with what it holds and its units
        assert ws.title in first_column, ws.title
        row = next(readme.iter_rows(min_row=first_column.index(ws.title) + 1, values_only=True))
        assert isinstance(row[1], str) and len(row[1]) > 20 and isinstance(row[2], str) and row[2], row
    manifest = json.loads((book.folder / "manifest.json").read_text())
    text = "\n".join(cells)
    assert str(manifest["seed"]) in text and str(manifest["replications"]) in text
    for plan in manifest["plans"]:
        assert plan in first_column
    assert manifest["scenario"]["name"] in text


# --- codes -----------------------------------------------------------------------------------


CODE_COLUMNS = {"phase": "phase", "outcome": "outcome", "resolved_by": "resolved_by", "type": "incident_type"}


@pytest.mark.parametrize("lang", LANGS)
def test_codes_are_shown_by_their_labels(kutim: Book, lang: str) -> None:
    run = RunData.load(kutim.folder)
    csv = pd.read_csv(kutim.folder / "incidents.csv", keep_default_na=False)
    ws = _open(kutim.files[lang])[sheet_name("incidents", lang)]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    columns = list(csv.columns)
    for col, kind in CODE_COLUMNS.items():
        j = columns.index(col)
        want = [code_label(kind, c, lang, run.spec) if c else None for c in csv[col]]
        assert [r[j] for r in rows] == want, col
    codes = {c for kind in ("phase", "outcome", "resolved_by", "role", "force") for c in LABELS[kind]}
    codes |= set(metrics.KPIS) | set(metrics.POOLED_KPIS) | set(run.spec.incidents.types)
    for sheet in _data_sheets(kutim.files[lang]):
        for row in sheet.iter_rows(values_only=True):
            leaked = {v for v in row if isinstance(v, str) and (v in codes or UNIT_ID.search(v))}
            assert not leaked, (sheet.title, leaked)


def _unit_name(uid: str, posts: dict[str, str], lang: str) -> str:
    """'polsek-skl-patrol-1' -> 'Patroli Polsek Sangkulirang-1' (role, the post's name, number)."""
    m = UNIT_ID.fullmatch(uid)
    assert m is not None, uid
    return f"{code_label('role', m['role'], lang)} {posts[m['post']]}-{m['n']}"


@pytest.mark.parametrize("lang", LANGS)
def test_units_and_posts_are_shown_by_their_names(kutim: Book, lang: str) -> None:
    sites = pd.read_csv(kutim.folder / "sites.csv")
    post_rows = sites[sites["kind"] == "post"]
    posts = dict(zip(post_rows["site_id"], post_rows["name"], strict=True))
    units = pd.read_csv(kutim.folder / "units.csv")
    ws = _open(kutim.files[lang])[sheet_name("units", lang)]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    columns = list(units.columns)
    assert [r[columns.index("unit_id")] for r in rows] == [_unit_name(u, posts, lang) for u in units["unit_id"]]
    assert [r[columns.index("post")] for r in rows] == [posts[p] for p in units["post"]]
    incidents = pd.read_csv(kutim.folder / "incidents.csv", keep_default_na=False)
    ws = _open(kutim.files[lang])[sheet_name("incidents", lang)]
    sent = [r[list(incidents.columns).index("units")] for r in ws.iter_rows(min_row=2, values_only=True)]
    want = ["; ".join(_unit_name(u, posts, lang) for u in s.split(";")) if s else None for s in incidents["units"]]
    assert sent == want and any(s and ";" in s for s in sent)  # some incidents had two units


@pytest.mark.parametrize("lang", LANGS)
def test_a_swept_key_is_worded(sweep: Book, lang: str) -> None:
    ws = _open(sweep.files[lang])[sheet_name("summary", lang)]
    header = _header(ws)
    assert "plans.satu_patroli.patrols.0.units" not in header
    assert "satu_patroli: " in header[1] and "Polsek Sangatta Selatan (toy)" in header[1]
    assert {r[1] for r in ws.iter_rows(min_row=2, values_only=True)} == {1, 2}  # the values as swept


@pytest.mark.parametrize("lang", LANGS)
def test_the_optimizer_sheets_word_their_codes(optimized: Book, lang: str) -> None:
    wb = _open(optimized.files[lang])
    changes = wb[sheet_name("optimization_changes", lang)]
    values = [v for row in changes.iter_rows(min_row=2, values_only=True) for v in row]
    assert "Polsek Sangatta Selatan (toy)" in values and "Polri" in values
    assert not {"polri", "patrols", "polsek", "patrols[polsek].units"} & set(values)
    groups = wb[sheet_name("optimization_groups", lang)]
    head = _header(groups)
    rows = list(groups.iter_rows(min_row=2, values_only=True))
    assert [r[head.index(INDICATOR[lang])] for r in rows] == [metrics.kpi(k).label(lang) for k in GROUPS["kpi"]]
    assert {r[next(i for i, h in enumerate(head) if h.startswith(("Arah", "Direction")))] for r in rows} == {"≥"}


# --- reproducible ------------------------------------------------------------------------------


def test_same_folder_same_bytes(kutim: Book, tmp_path: Path) -> None:
    """Written again later (zip times have a 2 s resolution), the workbook is byte for byte the same;
    its properties carry the run's finish time, not the time of writing."""
    time.sleep(max(0.0, kutim.written_at + 2.5 - time.time()))
    again = tmp_path / "results.xlsx"
    write_xlsx(RunData.load(kutim.folder), "id", again)
    assert again.read_bytes() == kutim.files["id"].read_bytes()
    finished = dt.datetime.fromisoformat(json.loads((kutim.folder / "manifest.json").read_text())["finished"])
    assert load_workbook(again).properties.created == finished.astimezone(dt.UTC).replace(tzinfo=None)
    with zipfile.ZipFile(again) as z:
        utc = finished.astimezone(dt.UTC)
        assert {i.date_time for i in z.infolist()} == {(*utc.timetuple()[:5], utc.second // 2 * 2)}  # 2 s steps


def test_a_sheet_longer_than_excels_limit_goes_on_in_numbered_parts(
    sweep: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a limit of 11 rows (header and 10), the incident log is cut into parts of 10 rows,
    each a sheet of its own with its header, all listed in the README."""
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 11)
    out = tmp_path / "results.xlsx"
    write_xlsx(RunData.load(sweep.folder), "id", out)
    incidents = pd.read_csv(sweep.folder / "incidents.csv")
    wb = load_workbook(out)
    parts = [ws for ws in wb.worksheets if ws.title.startswith("Daftar kejadian")]
    assert [ws.title for ws in parts] == ["Daftar kejadian"] + [
        f"Daftar kejadian ({k})" for k in range(2, math.ceil(len(incidents) / 10) + 1)
    ]
    assert sum(ws.max_row - 1 for ws in parts) == len(incidents) and all(ws.max_row <= 11 for ws in parts)
    ids = [r[3] for ws in parts for r in ws.iter_rows(min_row=2, values_only=True)]
    assert ids == list(incidents["incident_id"])  # in order, none lost or repeated
    readme = [r[0] for r in wb.worksheets[0].iter_rows(values_only=True)]
    assert all(ws.title in readme and ws.freeze_panes == "A2" for ws in parts)
