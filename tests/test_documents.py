"""The briefing documents (HTML, PDF, PowerPoint) and the Excel workbook of a finished run.

Runs are made with the command line in-process (a Kutim comparison, a teaching sweep, and a
teaching run whose scenario text is hostile: script tags and spreadsheet formulas). Charts are two
small stub PNGs, so that these tests check the documents, not the charts.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml

matplotlib.use("Agg")

from sim import metrics
from sim.cli import get_parser, main
from sim.report.content import briefing_content
from sim.report.data import RunData
from sim.report.documents import write_html, write_pdf, write_pptx
from sim.report.exercise import Names
from sim.report.i18n import LABELS, Text, code_label, kpi_label
from sim.report.workbook import MOMENT_COLUMNS, XLSX_HEADERS, safe_cell_text, sheet_name, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
LANGS = ("id", "en")
HEADINGS = {  # in the order they must appear
    "id": [
        "Pertanyaan",
        "Kesimpulan utama",
        "Perbandingan rencana",
        "Grafik",
        "Titik lemah",
        "Asumsi dan sumber",
        "Cara hasil ini dibuat",
    ],
    "en": [
        "The question",
        "Headline verdict",
        "Plans side by side",
        "Charts",
        "Weak spots",
        "Assumptions and sources",
        "How the run was made",
    ],
}
SCRIPT = "<script>alert(1)</script>"


@dataclass
class StubChart:
    name: str
    path: Path
    title: str
    caption: str


def _cli(*argv: str) -> None:
    args = list(argv)
    run_help = io.StringIO()
    with contextlib.redirect_stdout(run_help), contextlib.suppress(SystemExit):
        get_parser().parse_args(["run", "--help"])
    if "--no-report" in run_help.getvalue():
        args.append("--no-report")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0


def _stub_charts(folder: Path) -> list[StubChart]:
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    charts = []
    for i, size in enumerate([(6, 3), (4, 4)]):
        fig, ax = plt.subplots(figsize=size, dpi=60)
        ax.plot([0, 1, 2], [i, 2, 1])
        path = folder / f"stub-{i}.png"
        fig.savefig(path)
        plt.close(fig)
        charts.append(StubChart(f"stub{i}", path, f"Stub {i} & <b>title</b>", f"Notice {i}: {SCRIPT}"))
    return charts


@dataclass
class Built:
    run: RunData
    charts: list[StubChart]
    files: dict[str, dict[str, Path]]  # lang -> kind -> path


def _build(run_dir: Path, out: Path) -> Built:
    run = RunData.load(run_dir)
    charts = _stub_charts(out / "charts")
    files: dict[str, dict[str, Path]] = {}
    for lang in LANGS:
        content = briefing_content(run, lang)
        f = {
            k: out / f"{lang}-{name}"
            for k, name in [
                ("html", "briefing.html"),
                ("pdf", "briefing.pdf"),
                ("pptx", "briefing.pptx"),
                ("xlsx", "results.xlsx"),
            ]
        }
        write_html(run, lang, charts, content, f["html"])
        write_pdf(run, lang, charts, content, f["pdf"])
        write_pptx(run, lang, charts, content, f["pptx"])
        write_xlsx(run, lang, f["xlsx"])
        files[lang] = f
    return Built(run, charts, files)


@pytest.fixture(scope="module")
def compare(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("compare")
    _cli(
        "compare",
        str(SCENARIOS / "kutim-2024.yaml"),
        "--baseline",
        "pemilu2024",
        "--reps",
        "3",
        "--workers",
        "1",
        "--out",
        str(base / "run"),
        "--quiet",
    )
    return _build(base / "run", base / "docs")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("sweep")
    _cli(
        "sweep",
        str(SCENARIOS / "teaching-small.yaml"),
        "--vary",
        "plans.satu_patroli.patrols.0.units=1,2,3",
        "--reps",
        "3",
        "--workers",
        "1",
        "--out",
        str(base / "run"),
        "--quiet",
    )
    return _build(base / "run", base / "docs")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """teaching-small with script tags in the title and descriptions and formulas in names and ids."""
    base = tmp_path_factory.mktemp("hostile")
    (base / "teaching").mkdir()
    tps = (SCENARIOS / "teaching" / "tps-6.csv").read_text()
    tps = tps.replace("Sangatta Selatan", "-2+3").replace("SGS-02-001", "=1+1").replace("SGS-02-002", "@SUM(A1)")
    (base / "teaching" / "tps-6.csv").write_text(tps)
    text = (SCENARIOS / "teaching-small.yaml").read_text().replace("Sangatta Selatan", "-2+3")
    data: dict[str, Any] = yaml.safe_load(text)
    data["title"] = f"{SCRIPT} & Co <b>bold</b>"
    data["description"] = "=1+1 <img src=http://example.org/x.png>"
    data["plans"]["satu_patroli"]["description"] = SCRIPT
    data["plans"]["-tiga"] = data["plans"].pop("tiga_patroli")
    data["sources"] = {"evil": "javascript:alert(1)", "ok": "https://example.org/a?b=1&c=2"}
    data["assumptions"] = [
        {"text": f"{SCRIPT} rates", "basis": "estimated", "source": "evil"},
        {"text": "=1+1 voters", "basis": "sourced", "source": "ok"},
    ]
    (base / "hostile.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    _cli("run", str(base / "hostile.yaml"), "--reps", "2", "--workers", "1", "--out", str(base / "run"), "--quiet")
    return _build(base / "run", base / "docs")


# --- HTML --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_html_is_self_contained_with_sections_in_order(compare: Built, lang: str) -> None:
    html = compare.files[lang]["html"].read_text(encoding="utf-8")
    low = html.lower()
    assert "<script" not in low
    assert 'src="http' not in low and "src='http" not in low
    assert "@import" not in low
    assert not re.search(r"<link[^>]*stylesheet", low)
    assert not re.search(r"url\(\s*['\"]?https?:", low)
    # the only external addresses are links to sources
    for m in re.finditer(r"(\w+)=\"(https?://[^\"]+)\"", html):
        assert m.group(1) == "href"
    assert f'<html lang="{lang}">' in html
    assert html.count("data:image/png;base64,") == len(compare.charts)
    positions = [html.find(f">{h}<") for h in HEADINGS[lang]]
    assert all(p > 0 for p in positions), dict(zip(HEADINGS[lang], positions, strict=True))
    assert positions == sorted(positions)
    for c in compare.charts:  # titles and captions escaped like everything else
        assert "&lt;script&gt;" in html and "Stub 0 &amp; &lt;b&gt;title&lt;/b&gt;" in html
        assert c.path.name not in html  # embedded, not linked
    assert "@page" in html and "A4" in html


def test_html_indonesian_formats(compare: Built) -> None:
    html_id = compare.files["id"]["html"].read_text(encoding="utf-8")
    html_en = compare.files["en"]["html"].read_text(encoding="utf-8")
    assert "27 November 2024" in html_id
    assert "297.994" in html_id and "297,994" in html_en  # the DPT, from the TPS table
    assert "1.403" in html_id  # Linmas available
    mean = compare.run.summary.query("plan == 'pemilu2024' and kpi == 'response_mean_min'")["mean"].iloc[0]
    assert f"{mean:.1f}".replace(".", ",") in html_id
    assert f"{mean:.1f}" in html_en


def test_html_escapes_scenario_text(hostile: Built) -> None:
    for lang in LANGS:
        html = hostile.files[lang]["html"].read_text(encoding="utf-8")
        assert "<script" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;b&gt;bold&lt;/b&gt;" in html
        assert "<img src=http" not in html and 'src="http' not in html
        assert 'href="javascript' not in html.lower()
        assert 'href="https://example.org/a?b=1&amp;c=2"' in html


# --- PDF ---------------------------------------------------------------------------------------


def _pdf_pages(path: Path) -> tuple[int, list[tuple[float, float]]]:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    try:
        from pypdf import PdfReader  # type: ignore[import-not-found]

        reader = PdfReader(str(path))
        boxes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
        return len(reader.pages), boxes
    except ImportError:
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
        boxes = [
            (float(w), float(h)) for w, h in re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
        ]
        return pages, boxes


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_is_a4_with_a_sensible_number_of_pages(compare: Built, sweep: Built, hostile: Built, lang: str) -> None:
    for built, low, high in ((compare, 3, 14), (sweep, 2, 10), (hostile, 2, 10)):
        pages, boxes = _pdf_pages(built.files[lang]["pdf"])
        assert low <= pages <= high, pages
        assert boxes
        for w, h in boxes:
            assert round(w) == 595 and round(h) == 842


# --- PowerPoint --------------------------------------------------------------------------------


def _slides(path: Path) -> list[list[str]]:
    from pptx import Presentation

    prs = Presentation(str(path))
    assert abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.01
    out = []
    for slide in prs.slides:
        texts = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
            for para in shape.text_frame.paragraphs if shape.has_text_frame else []:
                for r in para.runs:
                    assert r.font.size is None or r.font.size.pt >= 14, (r.text, r.font.size.pt)
            if shape.has_table:
                for row in shape.table.rows:
                    for cell in row.cells:
                        for para in cell.text_frame.paragraphs:
                            for r in para.runs:
                                assert r.font.size is None or r.font.size.pt >= 14
        out.append(texts)
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_pptx_slides(compare: Built, sweep: Built, lang: str) -> None:
    from pptx import Presentation

    h = HEADINGS[lang]
    for built in (compare, sweep):
        content = briefing_content(built.run, lang)
        slides = _slides(built.files[lang]["pptx"])
        titles = [s.shapes.title.text for s in Presentation(str(built.files[lang]["pptx"])).slides]
        assert content.title in slides[0] and content.question in slides[0]
        assert titles[1] == h[1]  # the verdict, right after the title slide
        verdict = [i for i, title in enumerate(titles) if title.startswith(h[1])]  # more if it continues
        plans = [i for i, title in enumerate(titles) if title.startswith(h[2])]
        assert verdict + plans == list(range(1, 1 + len(verdict) + len(plans)))
        for plan in built.run.plans:
            assert any(plan in t for i in plans for t in slides[i])
        after = 1 + len(verdict) + len(plans)
        for i, c in enumerate(built.charts):  # one slide each, titled with what its caption says
            title = titles[after + i]
            assert title != c.title and c.caption.startswith(title.rstrip("…"))
        rest = titles[after + len(built.charts) :]
        assert rest[0] == h[4] and all(t.startswith((h[4], content.headings["weak_hours"], h[5])) for t in rest)
        assert h[5] in rest  # assumptions, last
        assert rest.index(h[5]) > max(i for i, t in enumerate(rest) if t.startswith(h[4]))


# --- Excel -------------------------------------------------------------------------------------


def _headers(df: pd.DataFrame, lang: str) -> list[str]:
    i = 0 if lang == "id" else 1
    return [XLSX_HEADERS[c][i].format(zone="WITA") if c in XLSX_HEADERS else c for c in df.columns]


def _as_table(run: RunData, got: pd.DataFrame, table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A sheet read back as its saved table: the table's column names, every KPI name, label and
    unit or post name back to its code, every local date-time back to minutes from the epoch."""
    names, t = Names.of(run.sites), Text(lang)
    units = {names.unit(u, t): u for u in run.units["unit_id"].unique()}
    codes = {
        "kpi": {kpi_label(k, lang): k for k in (*metrics.KPIS, *metrics.POOLED_KPIS)},
        "type": {code_label("incident_type", k, lang, run.spec): k for k in run.spec.incidents.types},
        "post": {p.name: p.id for p in run.spec.sites.posts},
        "unit_id": units,
        **{c: {code_label(c, k, lang): k for k in LABELS[c]} for c in ("phase", "outcome", "resolved_by", "role")},
    }
    out = got.copy()
    out.columns = table.columns
    for c in out.columns:
        if c in codes:
            assert out[c].dropna().isin(list(codes[c])).all(), c  # every cell a label, no raw code
            out[c] = out[c].map(lambda v, words=codes[c]: words.get(v, v))
        elif c == "units" and pd.api.types.is_string_dtype(out[c]):  # the incident log's units sent, ';'-separated
            out[c] = out[c].map(lambda v: v if pd.isna(v) else ";".join(units[u] for u in v.split("; ")))
        elif c in MOMENT_COLUMNS:
            out[c] = (pd.to_datetime(out[c]) - run.epoch) / pd.Timedelta(minutes=1)
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_xlsx_sheets_match_the_tables(compare: Built, lang: str) -> None:
    path = compare.files[lang]["xlsx"]
    sheets = pd.read_excel(path, sheet_name=None)
    keys = ["readme", "summary", "percentiles", "comparison", "kpis", "kecamatan", "targets", "incidents", "units"]
    assert list(sheets) == [sheet_name(k, lang) for k in [*keys, "timeseries"]]
    i = 0 if lang == "id" else 1
    for name in ("incidents", "units", "timeseries", "kpis", "targets", "summary", "comparison", "percentiles"):
        got = sheets[sheet_name(name, lang)]
        expected = pd.read_csv(compare.run.path / f"{name}.csv")
        if name == "percentiles":  # each row's KPI named as sim.metrics names it
            expected.insert(1, "kpi", [f"response_pooled_p{q}_min" for q in expected["quantile"]])
        if name != "kpis":  # the KPI sheet's headers are the KPIs' names (sim.metrics)
            assert list(got.columns) == _headers(expected, lang)
        pd.testing.assert_frame_equal(_as_table(compare.run, got, expected, lang), expected, check_dtype=False)
    kec = sheets[sheet_name("kecamatan", lang)]
    unit = "(menit)" if lang == "id" else "[min]"
    assert any(c.endswith(unit) for c in kec.columns)
    assert XLSX_HEADERS["response_min"][i] in sheets[sheet_name("incidents", lang)].columns
    n_kec = compare.run.sites.loc[compare.run.sites["kind"] == "tps", "kecamatan"].nunique()
    assert len(kec) == n_kec * len(compare.run.plans)
    # dispatched incidents per plan add up to the incident log's (dispatched: not resolved on site)
    disp = compare.run.incidents
    disp = disp[disp["outcome"] != "resolved_on_site"]
    by_plan = kec.groupby(XLSX_HEADERS["plan"][i])[XLSX_HEADERS["n_dispatched"][i]].sum()
    assert by_plan.to_dict() == disp.groupby("plan").size().to_dict()


def test_xlsx_layout(compare: Built) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(compare.files["id"]["xlsx"])
    for ws in wb.worksheets[1:]:  # the data sheets, after the README
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert ws.column_dimensions["A"].width and ws.column_dimensions["A"].width >= 8
    inc = wb[sheet_name("incidents", "id")]
    header = [c.value for c in inc[1]]
    col = header.index(XLSX_HEADERS["response_min"][0]) + 1
    values = [inc.cell(row=r, column=col).value for r in range(2, min(inc.max_row, 400) + 1)]
    assert any(isinstance(v, float) for v in values)  # numbers, not text
    assert all(v is None or isinstance(v, float | int) for v in values)


def test_xlsx_neutralises_formulas(hostile: Built) -> None:
    from openpyxl import load_workbook

    assert safe_cell_text("=1+1") == "'=1+1" and safe_cell_text("abc") == "abc"
    path = hostile.files["id"]["xlsx"]
    wb = load_workbook(path)
    seen: set[str] = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    pytest.fail(f"{ws.title}!{cell.coordinate} starts like a formula: {cell.value!r}")
                if isinstance(cell.value, str) and cell.value.startswith("'"):
                    seen.add(cell.value)
    assert "'-2+3" in seen  # the kecamatan
    assert "'-tiga" in seen  # the plan
    with zipfile.ZipFile(path) as z:  # no formula element anywhere in the file
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    # the CSV export carries the same quote, so the sheet is the CSV
    got = pd.read_excel(path, sheet_name=sheet_name("incidents", "id"))
    expected = pd.read_csv(hostile.run.path / "incidents.csv")
    assert expected["plan"].str.startswith("'").any()
    pd.testing.assert_frame_equal(_as_table(hostile.run, got, expected, "id"), expected, check_dtype=False)


def test_pdf_and_pptx_survive_markup_in_text(hostile: Built) -> None:
    from pptx import Presentation

    prs = Presentation(str(hostile.files["en"]["pptx"]))
    texts = [s.text_frame.text for slide in prs.slides for s in slide.shapes if s.has_text_frame]
    assert any(SCRIPT in t for t in texts)  # shown as text on the title slide
    assert _pdf_pages(hostile.files["en"]["pdf"])[0] >= 2


# --- content -----------------------------------------------------------------------------------


def test_verdicts(compare: Built, sweep: Built) -> None:
    b = briefing_content(compare.run, "id")
    assert b.kind == "compare"
    assert b.question.startswith("Apakah rencana") and "pemilu2024" in b.question
    assert b.verdict and b.verdict_table is not None
    cmp = compare.run.comparison
    assert cmp is not None
    # 'bermakna' only for a plan whose within-target interval excludes zero
    for row in b.verdict_table.rows:
        plan, kpi, _, _, judged = row
        if kpi == "Didatangi dalam target":
            r = cmp[(cmp["plan"] == plan) & (cmp["kpi"] == "within_target")].iloc[0]
            assert (judged in ("lebih baik", "lebih buruk")) == bool(r["significant"])
    s = briefing_content(sweep.run, "en")
    assert s.kind == "sweep" and s.points_table is not None
    assert len(s.points_table.rows) == 3 * len(sweep.run.plans)
    assert "90%" in " ".join(s.verdict)


def test_run_info_and_sources(compare: Built) -> None:
    b = briefing_content(compare.run, "en")
    info = dict(b.run_info)
    assert info["Seed"] == str(compare.run.manifest["seed"])
    assert info["Scenario SHA-256"] == compare.run.manifest["scenario"]["sha256"][:12]
    assert "--baseline pemilu2024" in info["Command (rebuilt from the manifest)"]
    assert compare.run.path.name == info["Run folder"]
    spec = compare.run.spec
    assert [s.name for s in b.sources] == list(spec.sources)
    for a, row in zip(spec.assumptions, b.assumptions, strict=True):
        assert row.basis == ("sourced" if a.basis == "sourced" else "estimated")
        assert row.url == spec.sources.get(a.source, row.url)


def test_atomic_writes_leave_no_temporary_files(compare: Built) -> None:
    folder = compare.files["id"]["html"].parent
    assert not [p for p in folder.iterdir() if ".tmp" in p.name]


def test_with_the_real_charts_if_there(compare: Built, tmp_path: Path) -> None:
    charts_mod = pytest.importorskip("sim.report.charts")
    run_dir = tmp_path / "run"
    shutil.copytree(compare.run.path, run_dir)
    run = RunData.load(run_dir)
    charts = charts_mod.make_charts(run, "id", tmp_path / "charts")
    content = briefing_content(run, "id")
    write_html(run, "id", charts, content, tmp_path / "b.html")
    write_pptx(run, "id", charts, content, tmp_path / "b.pptx")
    html = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert html.count("data:image/") == len(charts)
    _slides(tmp_path / "b.pptx")  # nothing under 14 pt
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    pictures = [
        sum(s.shape_type == MSO_SHAPE_TYPE.PICTURE for s in slide.shapes)
        for slide in Presentation(str(tmp_path / "b.pptx")).slides
    ]
    assert sum(pictures) == len(charts) and max(pictures) == 1  # one chart per slide


def test_hour_peaks_and_within_target_agree_with_the_tables(compare: Built) -> None:
    from types import SimpleNamespace

    from sim.report.content import _Group, hour_open_peaks, hour_shares

    # a step function: 3 open incidents from 02:05 to 02:10 on the epoch day, 1 from 23:30 to 00:30 the next day
    ts = pd.DataFrame(
        {
            "replication": 0,
            "plan": "a",
            "t": [0.0, 125.0, 130.0, 1410.0, 1470.0],
            "open_incidents": [0, 3, 0, 1, 0],
        }
    )
    fake = SimpleNamespace(
        timeseries=ts,
        epoch=compare.run.epoch.replace(hour=0, minute=0),
        timeline=SimpleNamespace(horizon=2880.0),
    )
    peaks = hour_open_peaks(fake, _Group("a", None, "a"))  # type: ignore[arg-type]
    assert peaks[2] == 3 and peaks[1] == 0 and peaks[23] == 1 and peaks[0] == 1 and peaks[3] == 0
    # within target per clock hour of the report, judged here from the raw times and targets.csv
    run = compare.run
    d = run.incidents[run.incidents["outcome"] != "resolved_on_site"]
    target = run.targets.set_index(["kecamatan", "priority"])["target_min"]
    limit = np.array([target[(k, p)] for k, p in zip(d["kecamatan"], d["priority"], strict=True)])
    within = d["t_arrive"].notna().to_numpy() & ((d["t_arrive"] - d["t_report"]).to_numpy() <= limit)
    epoch_min = run.epoch.hour * 60 + run.epoch.minute
    hour = ((d["t_report"].to_numpy() + epoch_min) // 60 % 24).astype(int)
    plan = run.plans[0]
    mine = pd.DataFrame({"hour": hour, "within": within})[(d["plan"] == plan).to_numpy()]
    expected = mine.groupby("hour")["within"].agg(["size", "mean"])
    got = hour_shares(run, _Group(plan, None, plan))
    assert list(got.index) == list(expected.index)
    assert (got["n"].to_numpy() == expected["size"].to_numpy()).all()
    assert np.allclose(got["share"].to_numpy(), expected["mean"].to_numpy())
