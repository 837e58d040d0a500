"""The briefing's layout (issue 16): the answer first in every document, a deck made for a projector.

- PDF: page 1 carries the verdict (the text pypdf extracts from page 1 holds every verdict
  sentence, after the question), and page 1 is full, not a cover with a gap under it.
- HTML: in headless Chromium at a laptop's width the verdict box starts, and its first sentence
  ends, within the first 900 px; measured twice, by the page's layout (``--dump-dom`` of a copy
  with a probe script) and on a screenshot (the rows painted in the verdict panel's colour).
- PPTX: the verdict on slide 2; one chart per slide, at least 90% of the usable width, under a
  title that is the caption's finding, never the chart's own title; a table longer than a slide
  goes on over further slides titled '(lanjutan)'/'(continued)' with every row once; nothing
  under 14 pt and nothing outside the slide.

The folders are made here: a Kutim run (3 plans, 2 replications: 12 or so kecamatan below their
targets, more than a slide holds), a Kutim comparison (the longest verdict, with the paired
differences) and a teaching sweep, each reported in Indonesian and English with the real charts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM, chromium_command
from PIL import Image

from sim.cli import main
from sim.report.build import make_report
from sim.report.charts import make_charts
from sim.report.content import Briefing, Table, briefing_content
from sim.report.data import RunData
from sim.report.documents import (
    MIN_PT,
    SLIDE_MARGIN_IN,
    TITLE_FITS,
    TITLE_W_IN,
    chart_point,
    cut_to_lines,
    fit_text,
    paginate,
    pdf_plain,
    write_pptx,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
LANGS = ("id", "en")
KINDS = ("run", "compare", "sweep")
FOLD_PX = 900  # the verdict must be within this many pixels of the top of the page
LAPTOP_W_PX = 1280  # the narrower of the usual laptop widths (1280, 1366): the taller page
PANEL_RGB = (0xFB, 0xF6, 0xE9)  # the verdict panel's background (.verdict in briefing.html.j2)
EMU_PER_IN = 914400
PAGE_ONE_GAP_PT = 60  # at most this much of page 1 left blank above the bottom margin (4 lines)
CONTINUED = {"id": "(lanjutan)", "en": "(continued)"}


@dataclass
class Reported:
    run: RunData
    folder: Path  # the run folder with its report in one language


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(list(argv)) == 0


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Reported]:
    """(kind, lang) -> a run folder of that kind with its whole report in that language."""
    base = tmp_path_factory.mktemp("layout")
    common = ["--workers", "1", "--quiet", "--no-report"]
    kutim = str(SCENARIOS / "kutim-2024.yaml")
    _cli("run", kutim, "--reps", "2", "--out", str(base / "run"), *common)
    _cli("compare", kutim, "--baseline", "pemilu2024", "--reps", "2", "--out", str(base / "compare"), *common)
    sweep = ["--vary", "plans.satu_patroli.patrols.0.units=1,2,3", "--reps", "3"]
    _cli("sweep", str(SCENARIOS / "teaching-small.yaml"), *sweep, "--out", str(base / "sweep"), *common)
    out = {}
    for kind in KINDS:
        for lang in LANGS:
            folder = base / f"{kind}-{lang}"
            shutil.copytree(base / kind, folder)
            make_report(folder, lang)
            out[kind, lang] = Reported(RunData.load(folder), folder)
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- PDF ---------------------------------------------------------------------------------------


def _page_one(path: Path) -> tuple[str, float]:
    """Page 1's text and the gap [pt] between its lowest line of body text and the bottom margin."""
    import pypdf

    page = pypdf.PdfReader(str(path)).pages[0]
    heights: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: object) -> None:
        if text.strip():
            heights.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])  # the line's baseline on the page

    text = page.extract_text(visitor_text=visit)
    margin_pt = 18 * 72 / 25.4  # the bottom margin (18 mm): the footer line is below it
    return text, min(h for h in heights if h > margin_pt) - margin_pt


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_pdf_page_one_has_the_verdict(folders: dict[tuple[str, str], Reported], kind: str, lang: str) -> None:
    r = folders[kind, lang]
    b = briefing_content(r.run, lang)
    text, gap_pt = _page_one(r.folder / "briefing.pdf")
    page = _flat(text)
    at = page.find(_flat(pdf_plain(b.question)))
    assert at >= 0, b.question
    for sentence in b.verdict:
        found = page.find(_flat(pdf_plain(sentence)), at)
        assert found > at, f"not on page 1 after the question: {sentence!r}"
    # and the page is used to its foot, not left with a gap before a block pushed to page 2
    assert gap_pt < PAGE_ONE_GAP_PT, gap_pt


# --- HTML in Chromium --------------------------------------------------------------------------

PROBE = """<script>
const box = document.querySelector('#verdict .verdict');
const first = box.querySelector('p');
document.title = JSON.stringify({top: box.getBoundingClientRect().top,
  first_bottom: first.getBoundingClientRect().bottom, width: window.innerWidth});
</script>"""


def _chromium(tmp: Path, *args: str) -> str:
    cmd = chromium_command(tmp / "profile", LAPTOP_W_PX, FOLD_PX, *args)
    return subprocess.run(cmd, check=True, capture_output=True, timeout=120, text=True).stdout


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (.ci/run installs Debian's)")
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_html_verdict_is_above_the_fold(
    folders: dict[tuple[str, str], Reported], kind: str, lang: str, tmp_path: Path
) -> None:
    html = (folders[kind, lang].folder / "briefing.html").read_text(encoding="utf-8")
    # the layout, as the browser computes it: a copy of the page with a probe that writes the
    # verdict box's position into the title (the briefing itself has no scripts)
    assert html.count("</body>") == 1
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri())
    m = re.search(r"<title>(\{.*?\})</title>", dom)
    assert m, dom[:500]
    where = json.loads(m.group(1).replace("&quot;", '"'))
    assert where["width"] == LAPTOP_W_PX
    assert 0 < where["top"] < where["first_bottom"] < FOLD_PX, where
    # and as it is painted: the first screen of the page itself shows the verdict panel
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", (folders[kind, lang].folder / "briefing.html").as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (FOLD_PX, LAPTOP_W_PX)
    panel = (np.abs(pixels - np.array(PANEL_RGB)).sum(axis=2) <= 6).sum(axis=1) > 0.3 * LAPTOP_W_PX
    rows = np.flatnonzero(panel)
    assert rows.size > 40, "no verdict panel on the first screen"
    assert abs(rows[0] - where["top"]) <= 2  # the panel painted where the layout put it


# --- PowerPoint --------------------------------------------------------------------------------


def _deck(path: Path):  # type: ignore[no-untyped-def]
    from pptx import Presentation

    return Presentation(str(path))


def _texts(slide) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            out.append(shape.text_frame.text)
        if shape.has_table:
            out += [cell.text for row in shape.table.rows for cell in row.cells]
    return out


def _table_rows(slide) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The body rows (the header left out) of every table on the slide."""
    return [[c.text for c in row.cells] for s in slide.shapes if s.has_table for row in list(s.table.rows)[1:]]


def _pictures(slide) -> list:  # type: ignore[no-untyped-def]
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_verdict_is_on_slide_two(folders: dict[tuple[str, str], Reported], kind: str, lang: str) -> None:
    r = folders[kind, lang]
    b = briefing_content(r.run, lang)
    slides = list(_deck(r.folder / "briefing.pptx").slides)
    assert slides[1].shapes.title.text == b.headings["verdict"]
    shown = _texts(slides[1])
    for sentence in b.verdict:  # whole, not cut
        assert any(sentence in t for t in shown), sentence


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_one_chart_per_slide_at_full_width_under_its_point(
    folders: dict[tuple[str, str], Reported], kind: str, lang: str, tmp_path: Path
) -> None:
    r = folders[kind, lang]
    charts = make_charts(r.run, lang, tmp_path / "charts")  # the same charts, drawn again
    deck = _deck(r.folder / "briefing.pptx")
    usable_in = deck.slide_width / EMU_PER_IN - 2 * SLIDE_MARGIN_IN
    with_pictures = [s for s in deck.slides if _pictures(s)]
    assert len(with_pictures) == len(charts) > 0
    chart_titles = {c.title for c in charts}
    for slide in deck.slides:
        assert slide.shapes.title.text not in chart_titles
    for slide, chart in zip(with_pictures, charts, strict=True):
        (pic,) = _pictures(slide)
        assert pic.image.blob == chart.path.read_bytes()  # this chart, in reading order
        assert pic.width / EMU_PER_IN >= 0.9 * usable_in
        title = slide.shapes.title
        assert title.top + title.height <= pic.top and pic.top + pic.height <= deck.slide_height
        assert pic.left >= 0 and pic.left + pic.width <= deck.slide_width
        # the title says the point: the finding the caption starts with
        point = title.text_frame.text.rstrip("…")
        assert len(point) >= 30 and chart.caption.startswith(point), (point, chart.caption)


@pytest.mark.parametrize("lang", LANGS)
def test_every_weak_spot_row_is_on_a_slide(folders: dict[tuple[str, str], Reported], lang: str) -> None:
    r = folders["run", lang]
    b = briefing_content(r.run, lang)
    wk = b.weak_kecamatan
    assert len(wk.rows) >= 10  # more than one slide holds under the lead sentence
    slides = [s for s in _deck(r.folder / "briefing.pptx").slides if s.shapes.title.text.startswith(b.headings["weak"])]
    assert len(slides) >= 2
    assert slides[0].shapes.title.text == b.headings["weak"]
    for s in slides[1:]:
        assert s.shapes.title.text == f"{b.headings['weak']} {CONTINUED[lang]}"
    shown = [row[:2] for s in slides for row in _table_rows(s)]  # plan, kecamatan
    assert shown == [row[:2] for row in wk.rows]  # every row, once, in order


def _long_table(n: int) -> Table:
    """A weak-spot table of ``n`` rows, some of them wrapping over several lines."""
    rows = [
        [f"plan{i % 3}", f"Kecamatan {i:02d}" + (" Ulu Hilir Tengah Seberang" * (i % 4)), "50%", "–", "120,0"]
        for i in range(n)
    ]
    columns = ["Rencana", "Kecamatan", "Dalam target", "Prioritas 1", "Target", "p90", "Didatangi", "n"]
    return Table(columns, [[*r[:4], "60", r[4], "100%", "5"] for r in rows], ["l", "l", "r", "r", "r", "r", "r", "r"])


def test_a_long_table_flows_over_slides_every_row_once(
    folders: dict[tuple[str, str], Reported], tmp_path: Path
) -> None:
    r = folders["run", "id"]
    b = briefing_content(r.run, "id")
    long = _long_table(60)
    hours = [f"plan{i}: jam terlemah {i:02d}.00–{i + 1:02d}.00 (50% dalam target)" for i in range(12)]
    briefing: Briefing = dataclasses.replace(b, weak_kecamatan=long, weak_hours_short=hours)
    out = write_pptx(r.run, "id", [], briefing, tmp_path / "long.pptx")
    deck = _deck(out)
    weak = [s for s in deck.slides if s.shapes.title.text.startswith(b.headings["weak"])]
    assert len(weak) >= 4
    assert [row[1] for s in weak for row in _table_rows(s)] == [row[1] for row in long.rows]
    for s in weak:
        for shape in s.shapes:
            if shape.has_table:
                assert shape.top + shape.height <= deck.slide_height  # as estimated: on the slide
    # the weak hours, too long for the column beside the table, go on over slides of their own
    hour_slides = [s for s in deck.slides if s.shapes.title.text.startswith(b.headings["weak_hours"])]
    shown = [t for s in [weak[0], *hour_slides] for t in _texts(s)]
    assert all(any(h in t for t in shown) for h in hours)


def test_paginate_keeps_every_item_in_order_and_fills_each_page() -> None:
    rng = np.random.default_rng(16)
    heights = [*rng.uniform(0.2, 1.4, size=80), 7.0]  # the last taller than a page
    first_room, room = 2.5, 5.0
    pages = paginate(heights, first_room, room)
    assert [i for page in pages for i in page] == list(range(len(heights)))
    for k, page in enumerate(pages):
        free = first_room if k == 0 else room
        if len(page) > 1:
            assert sum(heights[i] for i in page) <= free + 1e-9
        if k + 1 < len(pages):  # the next page's first item did not fit on this one
            assert sum(heights[i] for i in page) + heights[pages[k + 1][0]] > free
    assert pages[-1] == [len(heights) - 1]  # the tall one alone
    # nothing fits on the first page: it is left empty, the items start on the next
    assert paginate([3.0, 1.0], 2.0, 5.0) == [[], [0, 1]]
    assert paginate([], 2.0, 5.0) == [[]]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_nothing_small_and_nothing_off_the_slide(
    folders: dict[tuple[str, str], Reported], kind: str, lang: str
) -> None:
    deck = _deck(folders[kind, lang].folder / "briefing.pptx")
    for n, slide in enumerate(deck.slides, 1):
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0, (n, shape.name)
            assert shape.left + shape.width <= deck.slide_width + 1, (n, shape.name)
            assert shape.top + shape.height <= deck.slide_height + 1, (n, shape.name)
            frames = [shape.text_frame] if shape.has_text_frame else []
            if shape.has_table:
                frames += [cell.text_frame for row in shape.table.rows for cell in row.cells]
            for frame in frames:
                for para in frame.paragraphs:
                    for run_ in para.runs:
                        assert run_.font.size is not None and run_.font.size.pt >= MIN_PT, (n, run_.text)


def test_a_chart_title_is_the_caption_finding() -> None:
    caption = "Plan mobile reaches 95% within target, plan thin 47%. The rest is detail."
    assert chart_point(caption) == "Plan mobile reaches 95% within target, plan thin 47%"
    clause = "The peak is at 27 Nov 07:00-08:00 with 28.7 incidents per hour on average, mostly disputes"
    long = clause + "; " + "and what else there is to say about it " * 4 + "."
    assert fit_text(long.rstrip("."), TITLE_W_IN, TITLE_FITS)[0] != long.rstrip(".")  # too long for a title
    assert chart_point(long) == clause
    assert chart_point("1.403 Linmas at 12,5 per TPS.") == "1.403 Linmas at 12,5 per TPS"  # no split in numbers


def test_a_cut_text_is_a_start_of_it_that_fits() -> None:
    words = " ".join(f"kata{i}" for i in range(300))
    for text in (words, "Terlemah: " + "K" * 900):
        for lines in (1, 2, 5):
            cut = cut_to_lines(text, 6.0, 18, lines)
            assert cut.endswith("…") and text.startswith(cut[:-1])
            # it fits, and one more character would not have (the longest such start, less a word)
            per_line = int(6.0 * 72 / (18 * 0.55))
            assert len(cut) <= lines * per_line
            assert len(cut) > lines * per_line - len("kata299 ") - 1
    assert cut_to_lines(words, 6.0, 18, 2).rstrip("…").split()[-1] in words.split()  # whole words
    assert cut_to_lines("short", 6.0, 18, 1) == "short"
