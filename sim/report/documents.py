"""The briefing as HTML, PDF and PowerPoint (the workbook is ``workbook.py``).

The writers only lay out what ``content.briefing_content`` says (and the charts ``charts.py``
drew). Every document gives the answer first: the cover, the question and the verdict (with the
paired differences of a comparison) are page 1 of the PDF, the first screen of the HTML on a
laptop, and the slide after the title; what the plans are (the scenario's and the plans'
descriptions, the plans table) comes after, then the charts, the weak spots, the assumptions and
how the run was made. A confirmation folder of ``optimize`` puts the optimization page (its own
verdict first) between the question and the verdict, and its slide after the title.

The deck is made for a projector (:func:`write_pptx`): nothing under :data:`MIN_PT`; one chart per
slide, as large as the slide allows, under a title that says what the chart shows (the finding its
caption starts with, :func:`chart_point`; the chart draws its own title); a table or a list longer
than a slide goes on over the next slides titled '... (lanjutan)', every row shown
(:func:`paginate`); the whole text of what a slide shortens in its speaker notes.

Every file is written under a temporary name in the same folder and renamed when complete, so a
reader never sees half a file.

Text from the scenario is made safe once per format: the HTML by jinja2's autoescape; the PDF by
:func:`_pdf_text` (:func:`pdf_plain`: Windows-1252, '?' for what Helvetica lacks; then
XML-escaped for reportlab's paragraphs), a table cell or the cover cut with '…' at
:data:`PDF_BLOCK_MAX_PT` (reportlab cannot split such a block across pages); the deck and the
workbook through :func:`xml_text` (a control character, which XML cannot carry, as its Control
Pictures symbol), the workbook's text cells neutralised against formulas by the CSV tables' rule
(:func:`sim.textsafe.neutral_text`).
"""

from __future__ import annotations

import base64
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from sim.report.content import DOC_WORDS, KPI_ROWS, POOLED_P90, Briefing, OptimizationPage, Table
from sim.report.data import RunData
from sim.report.i18n import Text, kpi_label

TEMPLATES = Path(__file__).resolve().parent / "templates"


class ChartLike(Protocol):
    """What the writers need of a chart (``sim.report.charts.Chart``)."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def title(self) -> str: ...
    @property
    def caption(self) -> str: ...


@contextmanager
def atomic(out: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; rename it to ``out`` when the block succeeds."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def _is_web_link(url: str) -> bool:
    return bool(re.match(r"^https?://[^\s\"'<>]+$", url.strip(), re.IGNORECASE))


_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

# What XML 1.0 cannot carry (openpyxl refuses it, lxml under python-pptx too, reportlab's
# paragraph parser): the C0 controls except tab, newline and carriage return, unpaired surrogates
# and the non-characters U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return chr(0x2400 + code) if code < 0x20 else "\ufffd"


def xml_text(text: str) -> str:
    """Text any XML writer accepts, showing what it cannot carry: a control character as its
    Control Pictures symbol (U+2400 + code: '\\x01' -> '\u2401'), the rest as U+FFFD."""
    return _XML_ILLEGAL.sub(_xml_char, text)


# --- HTML --------------------------------------------------------------------------------------


def render_html(charts: Sequence[ChartLike], content: Briefing) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    views = []
    for c in charts:
        data = base64.b64encode(Path(c.path).read_bytes()).decode("ascii")
        mime = _MIME.get(Path(c.path).suffix.lower(), "image/png")
        views.append(
            {
                "name": re.sub(r"[^A-Za-z0-9_-]", "-", c.name),
                "title": c.title,
                "caption": c.caption,
                "uri": f"data:{mime};base64,{data}",
            }
        )
    b = content
    view = {
        **b.__dict__,
        "sources": [{"name": s.name, "url": s.url, "link": _is_web_link(s.url)} for s in b.sources],
        "assumptions": [{**a.__dict__, "link": _is_web_link(a.url)} for a in b.assumptions],
    }
    return env.get_template("briefing.html.j2").render(b=view, charts=views)


def write_html(run: RunData, lang: str, charts: Sequence[ChartLike], content: Briefing, out: Path) -> Path:
    """``briefing.html``: one self-contained file (inline CSS, charts as data URIs, no scripts)."""
    del run, lang  # everything is in the content already
    html = render_html(charts, content)
    with atomic(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(out)


# --- PDF ---------------------------------------------------------------------------------------

# Helvetica (built into every PDF reader) covers Windows-1252 only: map what it lacks.
_PDF_CHARS = {"≥": ">=", "≤": "<=", "→": "->", "←": "<-", "−": "-", "≈": "~", "✓": "v", "\u00a0": " ", "\u202f": " "}


# A table cell (and the cover's title) is a block reportlab cannot split across pages: text taller
# than this is cut, with an ellipsis, to what fits (about 30 lines of a table cell, 13 of the
# title); the HTML and the workbook keep it whole.
PDF_BLOCK_MAX_PT = 320.0


def pdf_plain(text: Any) -> str:
    """Text Helvetica can draw: mapped to Windows-1252, what it lacks (emoji, control characters
    as their XML-safe symbols) as '?'."""
    s = "".join(_PDF_CHARS.get(ch, ch) for ch in xml_text(str(text)))
    return s.encode("cp1252", errors="replace").decode("cp1252")


def _pdf_text(text: Any) -> str:
    """Plain text made safe for a reportlab Paragraph: :func:`pdf_plain`, then XML-escaped."""
    return escape(pdf_plain(text))


def _col_widths(
    table: Table, total: float, measure: Callable[[str], float], pad: float = 8.0, cap: float = 260.0
) -> list[float]:
    """Column widths that fill ``total``: each column gets at least its longest word, the rest of the
    room goes to the columns whose text would otherwise wrap most. ``measure`` gives a text's width."""
    natural, minimum = [], []
    for j, col in enumerate(table.columns):
        cells = [str(r[j]) for r in table.rows if j < len(r)]
        longest = max([measure(c) for c in cells] + [measure(col) / 2], default=20.0)
        word = max((measure(w) for c in [col, *cells] for w in c.split()), default=20.0)
        natural.append(min(max(longest, word), cap) + pad)
        minimum.append(min(word, cap / 2) + pad)
    if sum(natural) <= total:
        return [w * total / sum(natural) for w in natural]
    if sum(minimum) >= total:
        return [w * total / sum(minimum) for w in minimum]
    slack = [n - m for n, m in zip(natural, minimum, strict=True)]
    room = total - sum(minimum)
    return [m + room * sl / sum(slack) for m, sl in zip(minimum, slack, strict=True)]


def write_pdf(run: RunData, lang: str, charts: Sequence[ChartLike], content: Briefing, out: Path) -> Path:
    """``briefing.pdf``: A4, Helvetica, page numbers in the footer, charts scaled to the text width."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import (
        CondPageBreak,
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus.flowables import HRFlowable

    del run
    b = content
    band = colors.HexColor("#16324f")
    accent = colors.HexColor("#b8860b")
    muted = colors.HexColor("#5a6473")
    soft = colors.HexColor("#f3f5f8")
    line = colors.HexColor("#d5dae1")
    margin_x, margin_top, margin_bottom = 16 * mm, 16 * mm, 18 * mm
    width = A4[0] - 2 * margin_x

    base = ParagraphStyle("base", fontName="Helvetica", fontSize=10, leading=13.5, spaceAfter=4)
    styles = {
        "title": ParagraphStyle(
            "title", base, fontName="Helvetica-Bold", fontSize=20, leading=24, textColor=colors.white
        ),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=11.5, leading=15, textColor=colors.white),
        "context": ParagraphStyle("context", base, fontSize=10, textColor=colors.HexColor("#d6e0ec")),
        "h2": ParagraphStyle(
            "h2", base, fontName="Helvetica-Bold", fontSize=14, leading=18, textColor=band, spaceBefore=12
        ),
        "h3": ParagraphStyle("h3", base, fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=8),
        "question": ParagraphStyle("question", base, fontName="Helvetica-Bold", fontSize=12.5, leading=16.5),
        "body": base,
        "note": ParagraphStyle("note", base, fontSize=8.5, leading=11, textColor=muted),
        "verdict": ParagraphStyle("verdict", base, fontSize=11, leading=15),
        "verdict1": ParagraphStyle("verdict1", base, fontName="Helvetica-Bold", fontSize=11, leading=15),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=10.5, spaceAfter=0, alignment=TA_LEFT),
        "cellr": ParagraphStyle("cellr", base, fontSize=8.5, leading=10.5, spaceAfter=0, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", base, fontName="Helvetica-Bold", fontSize=8.5, leading=10.5, spaceAfter=0),
        "headr": ParagraphStyle(
            "headr", base, fontName="Helvetica-Bold", fontSize=8.5, leading=10.5, spaceAfter=0, alignment=TA_RIGHT
        ),
        "ctitle": ParagraphStyle("ctitle", base, fontName="Helvetica-Bold", fontSize=11, leading=14),
        "caption": ParagraphStyle("caption", base, fontSize=9.5, leading=12.5, backColor=soft, borderPadding=4),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=11),
    }

    def p(text: Any, style: str = "body") -> Paragraph:
        return Paragraph(_pdf_text(text), styles[style])

    def fitted(text: Any, style: str, inner_width: float, bold: str = "") -> Paragraph:
        """A paragraph for a block that cannot split (a table cell): cut with '…' to at most
        PDF_BLOCK_MAX_PT high at ``inner_width`` [pt]; ``bold`` goes before it in bold."""
        plain = pdf_plain(text)
        head = f"<b>{_pdf_text(bold)}</b> " if bold else ""

        def para(n: int) -> Paragraph:
            cut = plain if n >= len(plain) else plain[:n].rstrip() + "…"
            return Paragraph(head + escape(cut), styles[style])

        def fits(par: Paragraph) -> bool:
            return par.wrap(inner_width, PDF_BLOCK_MAX_PT * 4)[1] <= PDF_BLOCK_MAX_PT

        whole = para(len(plain))
        if fits(whole):
            return whole
        lo, hi = 0, len(plain) - 1  # the longest cut that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(para(mid)) else (lo, mid - 1)
        return para(lo)

    def h2(text: str) -> list[Any]:
        return [
            CondPageBreak(40 * mm),
            Paragraph(_pdf_text(text), styles["h2"]),
            HRFlowable(width="100%", thickness=2, color=accent, spaceBefore=0, spaceAfter=6),
        ]

    def table(t: Table) -> list[Any]:
        widths = _col_widths(t, width, lambda text: stringWidth(_pdf_text(text), "Helvetica-Bold", 8.5))
        inner = [w - 6 for w in widths]  # LEFTPADDING + RIGHTPADDING below
        data = [[fitted(c, "headr" if t.align[j] == "r" else "head", inner[j]) for j, c in enumerate(t.columns)]]
        for row in t.rows:
            data.append([fitted(c, "cellr" if t.align[j] == "r" else "cell", inner[j]) for j, c in enumerate(row)])
        tbl = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        tbl.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), soft),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, band),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.3, line),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                    ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ]
            )
        )
        out: list[Any] = [tbl]
        if t.note:
            out += [Spacer(1, 3), p(t.note, "note")]
        return out

    def verdict_box(sentences: Sequence[str]) -> Any:
        box = RLTable(
            [[fitted(s, "verdict1" if i == 0 else "verdict", width - 16)] for i, s in enumerate(sentences)],
            colWidths=[width],
        )
        box.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fbf6e9")),
                    ("LINEBEFORE", (0, 0), (0, -1), 4, accent),
                    ("LEFTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, 0), 6),
                    ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
                ]
            )
        )
        return box

    def optimization(o: OptimizationPage) -> list[Any]:
        out: list[Any] = [*h2(o.heading), verdict_box(o.verdict), Spacer(1, 6)]
        out += [p(o.headings["changes"], "h3"), p(o.changes_lead)]
        out += [Paragraph("• " + _pdf_text(line), styles["body"]) for line in o.changes]
        if o.changes:
            out += table(o.changes_table)
        out += [p(o.headings["evidence"], "h3"), *table(o.evidence), Spacer(1, 4), p(o.search, "small")]
        out += [p(o.headings["weak"], "h3")]
        out += [Paragraph("• " + _pdf_text(line), styles["body"]) for line in o.weak]
        return out

    story: list[Any] = []
    cover = RLTable(
        [
            [fitted(text, style, width - 24)]
            for text, style in ((b.title, "title"), (b.subtitle, "subtitle"), (b.context, "context"))
        ],
        colWidths=[width],
    )
    cover.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), band),
                ("LEFTPADDING", (0, 0), (-1, -1), 12),
                ("RIGHTPADDING", (0, 0), (-1, -1), 12),
                ("TOPPADDING", (0, 0), (-1, 0), 12),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 10),
            ]
        )
    )
    story += [cover, Spacer(1, 4)]

    # Page 1 is the cover, the question and the answer; what the plans are comes after.
    story += h2(b.headings["question"])
    story.append(p(b.question, "question"))

    if b.optimization is not None:
        story += optimization(b.optimization)

    story += h2(b.headings["verdict"])
    story += [verdict_box(b.verdict), Spacer(1, 6)]
    if b.verdict_table is not None:
        story += table(b.verdict_table)

    story += h2(b.headings["plans"])
    if b.description:
        story.append(
            Paragraph(f"<b>{_pdf_text(b.headings['description'])}:</b> {_pdf_text(b.description)}", styles["small"])
        )
    for info in b.plans:
        if info.description:
            story.append(Paragraph(f"<b>{_pdf_text(info.name)}</b>: {_pdf_text(info.description)}", styles["small"]))
    story.append(Spacer(1, 4))
    story += table(b.plans_table)
    if b.points_table is not None:
        story.append(p(b.headings["points"], "h3"))
        story += table(b.points_table)

    charts_head = h2(b.headings["charts"])
    max_h = (A4[1] - margin_top - margin_bottom) * 0.62
    if not charts:
        story += [*charts_head, p(b.labels["no_charts"], "note")]
    for i, c in enumerate(charts):
        iw, ih = ImageReader(str(c.path)).getSize()
        w = width
        h = w * ih / iw
        if h > max_h:
            h, w = max_h, max_h * iw / ih
        img = Image(str(c.path), width=w, height=h)
        img.hAlign = "CENTER"
        # The chart carries its own title; the caption below says what to notice.
        block = [*(charts_head[1:] if i == 0 else []), img, Spacer(1, 5)]
        if c.caption:
            block.append(
                Paragraph(f"<b>{_pdf_text(b.labels['notice'])}:</b> {_pdf_text(c.caption)}", styles["caption"])
            )
        story += [KeepTogether(block), Spacer(1, 12)]

    story += h2(b.headings["weak"])
    story.append(p(b.weak_lead, "verdict1"))
    story.append(p(b.headings["weak_kec"], "h3"))
    story += table(b.weak_kecamatan)
    story.append(p(b.headings["weak_hours"], "h3"))
    for text in b.weak_hours_text:
        story.append(Paragraph("• " + _pdf_text(text), styles["body"]))
    story += table(b.weak_hours)

    story += h2(b.headings["assumptions"])
    story.append(p(b.assumptions_note))
    if b.assumptions:
        a_table = Table(
            ["#", b.labels["a_text"], b.labels["a_basis"], b.labels["a_source"]],
            [[str(i + 1), a.text, a.basis, a.source] for i, a in enumerate(b.assumptions)],
            ["r", "l", "l", "l"],
        )
        story += table(a_table)
    story.append(p(b.headings["sources"], "h3"))
    if b.sources:
        for i, s in enumerate(b.sources, 1):
            story.append(Paragraph(f"{i}. <b>{_pdf_text(s.name)}</b>: {_pdf_text(s.url)}", styles["small"]))
    else:
        story.append(p(b.labels["s_none"], "note"))

    run_head = h2(b.headings["run"])
    run_rows = [
        [fitted("", "cell", 48 * mm - 9, bold=k), fitted(v, "cell", width - 48 * mm - 9)] for k, v in b.run_info
    ]
    rt = RLTable(run_rows, colWidths=[48 * mm, width - 48 * mm], hAlign="LEFT")
    rt.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, line),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story += [run_head[0], KeepTogether([*run_head[1:], rt])]

    page_word = b.labels["page"]
    footer_title = b.title if len(b.title) <= 90 else b.title[:87] + "..."

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(muted)
        canvas.setStrokeColor(line)
        canvas.line(margin_x, 12 * mm, A4[0] - margin_x, 12 * mm)
        canvas.drawString(margin_x, 8 * mm, pdf_plain(footer_title))
        canvas.drawRightString(A4[0] - margin_x, 8 * mm, page_word.format(n=doc.page))
        canvas.restoreState()

    with atomic(out) as tmp:
        doc = SimpleDocTemplate(
            str(tmp),
            pagesize=A4,
            leftMargin=margin_x,
            rightMargin=margin_x,
            topMargin=margin_top,
            bottomMargin=margin_bottom,
            title=b.title,
            subject=b.question,
            author="pilkada-sim",
            lang=lang,
        )
        doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return Path(out)


# --- PowerPoint --------------------------------------------------------------------------------

SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5  # 16:9
MIN_PT = 14  # nothing on a slide is smaller: it is read from the back of a briefing room
SLIDE_MARGIN_IN = 0.5  # left and right of a slide's title and body
USABLE_W_IN = SLIDE_W_IN - 2 * SLIDE_MARGIN_IN
TITLE_W_IN = USABLE_W_IN - 0.1  # inside the title's text margins
TITLE_BAND_IN = 0.95  # the dark band a slide's title is written in: two lines of 24 pt
TITLE_RULE_IN = 0.05  # the accent line under the band
BODY_TOP_IN = 1.2  # where a slide's text and tables start
BODY_BOTTOM_IN = 0.25  # kept free under them
PICTURE_GAP_IN = 0.08  # above and below a chart, which takes all the height the title leaves
FOOTNOTE_IN = 0.5  # a table's footnote line at the bottom of each of its slides
# (size [pt], lines) tried in turn, largest first: a slide title, the title slide's title and question
TITLE_FITS = ((28, 1), (24, 2), (22, 2), (20, 2), (18, 2))
COVER_TITLE_FITS = ((36, 2), (30, 2), (26, 3))
QUESTION_FITS = ((26, 3), (22, 4), (18, 5))
VERDICT_PT = (24, 22, 20, 18, 16, MIN_PT)  # the verdict's sizes, tried until it fits its panel
VERDICT_SHARED_MIN_PT = 18  # smaller than this, the verdict has its slide alone and the table the next
CELL_MAX_LINES = 6  # a table cell on a slide is cut with '…' after this many lines (the notes keep it whole)
LEAD_MAX_LINES = 3  # and so is the weak-spot sentence above the table

# The deck's own words (a table flowing onto the next slide); the rest is the briefing's.
LAYOUT_WORDS = {"continued": {"id": "lanjutan", "en": "continued"}}

BAND = RGBColor(0x16, 0x32, 0x4F)
ACCENT = RGBColor(0xB8, 0x86, 0x0B)
INK = RGBColor(0x1B, 0x24, 0x30)
MUTED = RGBColor(0x4A, 0x54, 0x63)
SOFT = RGBColor(0xF3, 0xF5, 0xF8)
PANEL = RGBColor(0xFB, 0xF6, 0xE9)
COVER_TEXT = RGBColor(0xD6, 0xE0, 0xEC)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)


def _lines(text: str, width_in: float, pt: float, bold: bool = False) -> int:
    """Rough number of lines ``text`` takes in a box ``width_in`` wide at ``pt`` points (generous)."""
    per_line = max(8, int(width_in * 72 / (pt * (0.6 if bold else 0.55))))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _text_height(text: str, width_in: float, pt: float, bold: bool = False, space_after_pt: float = 0) -> float:
    """Height [in] of ``text`` as one paragraph at ``pt`` points (line spacing 1.2)."""
    return (_lines(text, width_in, pt, bold) * pt * 1.2 + space_after_pt) / 72


def cut_to_lines(text: str, width_in: float, pt: float, lines: int, bold: bool = False) -> str:
    """``text`` if it takes at most ``lines`` lines, else its longest start that does, cut at a word,
    with '…' (the slide's notes keep the whole text)."""
    if _lines(text, width_in, pt, bold) <= lines:
        return text
    lo, hi = 0, len(text) - 1  # the longest start (in characters) that fits with its ellipsis
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if _lines(text[:mid].rstrip() + "…", width_in, pt, bold) <= lines else (lo, mid - 1)
    head = text[:lo].rstrip()
    word = head.rfind(" ")
    if not text[lo].isspace() and word > len(head) // 2:  # back to the last whole word, unless it is a long one
        head = head[:word]
    return head.rstrip() + "…"


def fit_text(text: str, width_in: float, fits: Sequence[tuple[int, int]]) -> tuple[str, int]:
    """``text`` and its size [pt]: the first (size, lines) of ``fits`` at which it takes no more lines;
    when none does, cut to the lines of the last."""
    for pt, lines in fits:
        if _lines(text, width_in, pt, bold=True) <= lines:
            return text, pt
    pt, lines = fits[-1]
    return cut_to_lines(text, width_in, pt, lines, bold=True), pt


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_CLAUSE_END = re.compile(r";\s+")


def chart_point(caption: str) -> str:
    """What a chart's slide title says: the finding the caption starts with (its first sentence, or
    that sentence's first clause when the sentence is longer than a title holds). The chart draws its
    own title, so the slide does not repeat it; the notes keep the whole caption."""
    sentence = _SENTENCE_END.split(caption.strip(), maxsplit=1)[0].rstrip(".")
    if fit_text(sentence, TITLE_W_IN, TITLE_FITS)[0] == sentence:
        return sentence
    return _CLAUSE_END.split(sentence, maxsplit=1)[0]


def paginate(heights: Sequence[float], first_room: float, room: float) -> list[list[int]]:
    """The items of these heights [in], in order, over pages: the first page has ``first_room`` [in]
    free (it may already hold something else), every later one ``room``. Every item is on exactly
    one page; one taller than a page has a page of its own. The first page is left empty when even
    the first item does not fit in ``first_room``."""
    pages: list[list[int]] = [[]]
    free = first_room
    for i, h in enumerate(heights):
        if h > free and (pages[-1] or len(pages) == 1):
            pages.append([])
            free = room
        pages[-1].append(i)
        free -= h
    return pages


# The KPIs a slide shows (the plans table's rows, the sweep table's columns); the notes have them all.
SLIDE_KPIS = ("response_mean_min", POOLED_P90, "reached_share", "within_target", "within_target_p1")


SLIDE_SWEEP_KPIS = ("response_mean_min", "reached_share", "within_target")  # a sweep table has a row per point


class _Deck:
    """The deck being built: a 16:9 presentation and the few things its slides are made of (a titled
    slide, a text box, a table, a table or a list that flows over as many slides as it needs)."""

    def __init__(self, lang: str) -> None:
        self.t = Text(lang, {**DOC_WORDS, **LAYOUT_WORDS})
        self.prs = Presentation()
        self.prs.slide_width = Inches(SLIDE_W_IN)
        self.prs.slide_height = Inches(SLIDE_H_IN)
        # "Title Only": each slide's title is its real title (the outline, a screen reader, tests)
        self.layout = self.prs.slide_layouts[5]

    # --- shapes

    def rect(self, slide: Any, x: float, y: float, w: float, h: float, color: RGBColor) -> Any:
        shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(x), Inches(y), Inches(w), Inches(h))
        _solid(shape, color)
        shape.line.fill.background()
        shape.shadow.inherit = False
        return shape

    def text_box(
        self,
        slide: Any,
        x: float,
        y: float,
        w: float,
        h: float,
        paragraphs: Sequence[str],
        size: float,
        color: RGBColor = INK,
        bold: bool = False,
        anchor: MSO_ANCHOR = MSO_ANCHOR.TOP,
        first_bold: bool = False,
        space_after: float = 6,
    ) -> Any:
        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        tf = box.text_frame
        tf.margin_left = tf.margin_right = Inches(0.05)
        _write(tf, paragraphs, size, color, bold, anchor, first_bold, space_after)
        return box

    def slide(self, title: str) -> Any:
        """A new slide, its title (sized to fit, cut to two lines if need be) in the band across its top."""
        slide = self.prs.slides.add_slide(self.layout)
        text, pt = fit_text(title, TITLE_W_IN, TITLE_FITS)
        head = slide.shapes.title
        head.left, head.top, head.width, head.height = 0, 0, self.prs.slide_width, Inches(TITLE_BAND_IN)
        _solid(head, BAND)
        tf = head.text_frame
        tf.margin_left = tf.margin_right = Inches(SLIDE_MARGIN_IN + 0.05)
        tf.margin_top = tf.margin_bottom = Inches(0.04)
        _write(tf, [text], pt, WHITE, bold=True, anchor=MSO_ANCHOR.MIDDLE)
        self.rect(slide, 0, TITLE_BAND_IN, SLIDE_W_IN, TITLE_RULE_IN, ACCENT)
        return slide

    def continued(self, title: str) -> str:
        return f"{title} ({self.t('continued')})"

    @staticmethod
    def notes(slide: Any, lines: Sequence[str]) -> None:
        """Speaker notes: the detail the slide leaves out, for the presenter."""
        slide.notes_slide.notes_text_frame.text = xml_text("\n".join(x for x in lines if x))

    # --- tables

    def widths(self, tbl: Table, w: float, size: float) -> list[float]:
        """Column widths [in] filling ``w``, from the cells' lengths."""
        return [cw / 72 for cw in _col_widths(tbl, w * 72, lambda text: len(text) * size * 0.5, pad=12)]

    @staticmethod
    def cells(tbl: Table, widths: Sequence[float], size: float) -> list[list[str]]:
        """The header and the rows as the slide shows them: a cell longer than CELL_MAX_LINES cut."""
        return [
            [cut_to_lines(str(c), widths[j] - 0.2, size, CELL_MAX_LINES) for j, c in enumerate(r)]
            for r in [tbl.columns, *tbl.rows]
        ]

    @staticmethod
    def row_heights(cells: Sequence[Sequence[str]], widths: Sequence[float], size: float) -> list[float]:
        """Estimated height [in] of each row (the header, in bold, first)."""
        return [
            0.16 + max(_lines(c, widths[j] - 0.2, size, bold=i == 0) for j, c in enumerate(r)) * size * 1.2 / 72
            for i, r in enumerate(cells)
        ]

    def table(self, slide: Any, tbl: Table, x: float, y: float, size: float, widths: Sequence[float]) -> float:
        """``tbl`` at (x, y) [in], the header on the band colour; returns its estimated height [in]."""
        cells = self.cells(tbl, widths, size)
        row_h = self.row_heights(cells, widths, size)
        shape = slide.shapes.add_table(
            len(cells), len(tbl.columns), Inches(x), Inches(y), Inches(sum(widths)), Inches(sum(row_h))
        )
        table = shape.table
        table.first_row = True
        table.horz_banding = False
        bold_first = tbl.align[0] == "l" and tbl.columns[0] == self.t("plan")
        for j, cw in enumerate(widths):
            table.columns[j].width = Emu(int(Inches(cw)))
        for i, r in enumerate(cells):
            table.rows[i].height = Emu(int(Inches(row_h[i])))
            for j, c in enumerate(r):
                cell = table.cell(i, j)
                cell.margin_left = cell.margin_right = Inches(0.08)
                cell.margin_top = cell.margin_bottom = Inches(0.04)
                _solid(cell, BAND if i == 0 else (SOFT if i % 2 == 0 else WHITE))
                para = cell.text_frame.paragraphs[0]
                cell.text_frame.word_wrap = True
                para.alignment = PP_ALIGN.RIGHT if tbl.align[j] == "r" else PP_ALIGN.LEFT
                run_ = para.add_run()
                run_.text = xml_text(c)
                run_.font.size = Pt(max(size, MIN_PT))
                run_.font.bold = i == 0 or (j == 0 and bold_first)
                run_.font.color.rgb = WHITE if i == 0 else INK
        return sum(row_h)

    def flow_table(
        self,
        title: str,
        tbl: Table,
        size: float,
        widths: Sequence[float],
        start: tuple[Any, float, float] | None = None,
        footnote: str = "",
    ) -> list[Any]:
        """``tbl`` from ``start`` (a slide, and the x and y [in] where the table goes on it; by default a
        new slide titled ``title``) on: the rows that do not fit go on further slides titled
        '<title> (lanjutan)', each with the header again, so that every row is shown. ``footnote``
        is written at the bottom of each of them. Returns the slides used."""
        size = max(size, MIN_PT)
        heights = self.row_heights(self.cells(tbl, widths, size), widths, size)
        bottom = SLIDE_H_IN - BODY_BOTTOM_IN - (FOOTNOTE_IN if footnote else 0)
        slide, x, y = start if start is not None else (self.slide(title), SLIDE_MARGIN_IN, BODY_TOP_IN)
        pages = paginate(heights[1:], bottom - y - heights[0], bottom - BODY_TOP_IN - heights[0])
        slides = []
        for k, page in enumerate(pages):
            if k > 0:
                slide, x, y = self.slide(self.continued(title)), SLIDE_MARGIN_IN, BODY_TOP_IN
            if page:
                self.table(slide, Table(tbl.columns, [tbl.rows[i] for i in page], tbl.align), x, y, size, widths)
            if footnote:
                self.text_box(
                    slide, SLIDE_MARGIN_IN, bottom + 0.05, USABLE_W_IN, FOOTNOTE_IN, [footnote], MIN_PT, MUTED
                )
            slides.append(slide)
        return slides

    def flow_list(
        self,
        title: str,
        lead: str,
        items: Sequence[str],
        size: float,
        start: tuple[Any, float, float] | None = None,
        w: float = USABLE_W_IN,
    ) -> list[Any]:
        """``lead`` (in bold) and then ``items`` in a column ``w`` [in] wide from ``start`` (as for
        :meth:`flow_table`) on, every item that does not fit on further slides titled
        '<title> (lanjutan)' (an item longer than a whole slide cut to it). Returns the slides used."""
        size = max(size, MIN_PT)
        space_pt = 4
        bottom = SLIDE_H_IN - BODY_BOTTOM_IN
        page_lines = int((bottom - BODY_TOP_IN - 0.2) * 72 / (size * 1.2)) - 1
        items = [cut_to_lines(item, w - 0.1, size, page_lines) for item in items]

        def height(text: str, bold: bool = False) -> float:
            return _text_height(text, w - 0.1, size, bold, space_pt) + 0.02

        slide, x, y = start if start is not None else (self.slide(title), SLIDE_MARGIN_IN, BODY_TOP_IN)
        head = [lead] if lead else []
        lead_h = height(lead, bold=True) if lead else 0.0
        pages = paginate([height(item) for item in items], bottom - y - lead_h - 0.1, bottom - BODY_TOP_IN - 0.1)
        slides = []
        for k, page in enumerate(pages):
            if k > 0:
                slide, x, y, head = self.slide(self.continued(title)), SLIDE_MARGIN_IN, BODY_TOP_IN, []
            paragraphs = [*head, *(items[i] for i in page)]
            if paragraphs:
                self.text_box(slide, x, y, w, bottom - y, paragraphs, size, first_bold=bool(head), space_after=space_pt)
            slides.append(slide)
        return slides

    def save(self, out: Path) -> Path:
        with atomic(out) as tmp:
            self.prs.save(str(tmp))
        return Path(out)


def _solid(shape: Any, color: RGBColor) -> None:
    shape.fill.solid()
    shape.fill.fore_color.rgb = color


def _write(
    tf: Any,
    paragraphs: Sequence[str],
    size: float,
    color: RGBColor,
    bold: bool = False,
    anchor: MSO_ANCHOR = MSO_ANCHOR.TOP,
    first_bold: bool = False,
    space_after: float = 6,
) -> None:
    """Fill a text frame: one paragraph per text, at ``size`` (never under MIN_PT), left-aligned,
    wrapped, at the sizes given (no autofit)."""
    tf.word_wrap = True
    tf.auto_size = MSO_AUTO_SIZE.NONE
    tf.vertical_anchor = anchor
    for i, text in enumerate(paragraphs):
        para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        para.alignment = PP_ALIGN.LEFT
        para.space_after = Pt(space_after)
        run_ = para.add_run()
        run_.text = xml_text(text)
        run_.font.size = Pt(max(size, MIN_PT))
        run_.font.bold = bold or (first_bold and i == 0)
        run_.font.color.rgb = color


def _table_lines(tbl: Table) -> list[str]:
    return [" | ".join(tbl.columns), *[" | ".join(r) for r in tbl.rows], tbl.note]


# --- the slides, in the order of the deck


def _title_slide(deck: _Deck, b: Briefing) -> None:
    """The title and what was run in the band; the question under it."""
    slide = deck.prs.slides.add_slide(deck.layout)
    inner_w = SLIDE_W_IN - 1.6
    head = slide.shapes.title
    head.left, head.top, head.width, head.height = 0, 0, deck.prs.slide_width, Inches(2.95)
    _solid(head, BAND)
    tf = head.text_frame
    tf.margin_left = tf.margin_right = Inches(0.85)
    tf.margin_top, tf.margin_bottom = Inches(0.5), Inches(0.05)
    title, title_pt = fit_text(b.title, inner_w, COVER_TITLE_FITS)
    _write(tf, [title], title_pt, WHITE, bold=True, anchor=MSO_ANCHOR.BOTTOM)
    deck.rect(slide, 0, 2.95, SLIDE_W_IN, 1.25, BAND)
    deck.text_box(slide, 0.8, 3.0, inner_w, 1.1, [b.subtitle, b.context], 20, color=COVER_TEXT)
    deck.text_box(slide, 0.8, 4.6, inner_w, 0.5, [b.headings["question"]], 18, color=ACCENT, bold=True)
    question, question_pt = fit_text(b.question, inner_w, QUESTION_FITS)
    deck.text_box(slide, 0.8, 5.1, inner_w, 2.2, [question], question_pt, bold=True)
    deck.notes(slide, [b.title, b.question, b.description, b.footer])


def _optimization_slides(deck: _Deck, o: OptimizationPage) -> None:
    """The verdict across the top; what changes on the left, the evidence table on the right (its
    rows that do not fit on further slides); the rest (every change, the whole table, the search,
    the weak spots) in the notes."""
    t = deck.t
    slide = deck.slide(o.heading)
    pt = 18
    lines = sum(_lines(s, USABLE_W_IN - 0.5, pt, bold=i == 0) for i, s in enumerate(o.verdict))
    box_h = min(lines * pt * 1.2 / 72 + len(o.verdict) * 6 / 72 + 0.3, 2.4)
    deck.text_box(slide, SLIDE_MARGIN_IN, BODY_TOP_IN, USABLE_W_IN, box_h, o.verdict, pt, first_bold=True)
    y = BODY_TOP_IN + box_h + 0.15
    room = SLIDE_H_IN - y - BODY_BOTTOM_IN
    left_w, right_w = 5.6, USABLE_W_IN - 5.6 - 0.3
    line_h = 15 * 1.2 / 72 + 4 / 72  # [in] one line of 15 pt and its paragraph's space

    def fill(head: str, items: Sequence[str], budget: int) -> list[str]:
        """The heading and the items that fit in ``budget`` lines, '… n more' for the rest."""
        sizes = [_lines(item, left_w - 0.1, 15) for item in items]
        k = len(items)
        while k and 1 + sum(sizes[:k]) + (k < len(items)) > budget:
            k -= 1
        more = [t("more_items", n=len(items) - k)] if k < len(items) else []
        return [head, *items[:k], *more]

    budget = int(room / line_h)
    changes = fill(o.headings["changes"], o.changes or [o.changes_lead], max(2, budget * 3 // 5))
    used = sum(_lines(x, left_w - 0.1, 15) for x in changes)
    deck.text_box(slide, SLIDE_MARGIN_IN, y, left_w, used * line_h + 0.1, changes, 15, first_bold=True, space_after=4)
    weak = fill(o.headings["weak"], o.weak, max(2, budget - used - 1))
    y_weak = y + (used + 0.6) * line_h
    deck.text_box(
        slide, SLIDE_MARGIN_IN, y_weak, left_w, SLIDE_H_IN - y_weak - 0.25, weak, 15, first_bold=True, space_after=4
    )
    keep = [0, 1, 4, 6]  # group, KPI, recommended (interval), met
    ev = o.evidence
    evidence = Table(
        [ev.columns[j] for j in keep], [[r[j] for j in keep] for r in ev.rows], [ev.align[j] for j in keep]
    )
    widths = [1.6, 1.9, 2.0, right_w - 5.5]
    slides = deck.flow_table(o.heading, evidence, MIN_PT, widths, start=(slide, SLIDE_MARGIN_IN + left_w + 0.3, y))
    for s in slides:
        deck.notes(s, [*o.verdict, o.changes_lead, *o.changes, *_table_lines(ev), o.search, *o.weak])


def _verdict_slides(deck: _Deck, b: Briefing, lang: str) -> None:
    """The verdict in a panel, at the largest size that fits; under it (compare) the paired
    differences of the two KPIs the verdict is about, flowing onto a further slide if need be."""
    slide = deck.slide(b.headings["verdict"])
    sub = None
    if b.verdict_table is not None:
        wanted = {kpi_label("response_mean_min", lang), kpi_label("within_target", lang)}
        vt = b.verdict_table
        sub = Table(vt.columns, [r for r in vt.rows if r[1] in wanted], vt.align)
    room = SLIDE_H_IN - BODY_TOP_IN - BODY_BOTTOM_IN
    text_w = USABLE_W_IN - 0.5

    def panel_height(pt: int) -> float:
        text = sum(_text_height(s, text_w, pt, bold=i == 0, space_after_pt=6) for i, s in enumerate(b.verdict))
        return text + 0.35

    # with the table under it if the verdict still reads from the back of the room, else alone
    shared = [pt for pt in VERDICT_PT if pt >= VERDICT_SHARED_MIN_PT and panel_height(pt) <= room * 0.6]
    alone = [pt for pt in VERDICT_PT if panel_height(pt) <= room]
    pt = (shared or alone or [VERDICT_PT[-1]])[0]
    box_h = min(panel_height(pt), room)
    deck.rect(slide, SLIDE_MARGIN_IN, BODY_TOP_IN, USABLE_W_IN, box_h, PANEL)
    deck.rect(slide, SLIDE_MARGIN_IN, BODY_TOP_IN, 0.1, box_h, ACCENT)
    deck.text_box(
        slide, SLIDE_MARGIN_IN + 0.25, BODY_TOP_IN + 0.1, text_w + 0.1, box_h - 0.15, b.verdict, pt, first_bold=True
    )
    slides = [slide]
    if sub is not None and sub.rows:
        widths = [1.7, 3.4, 3.1, 2.2, USABLE_W_IN - 10.4]
        start = (slide, SLIDE_MARGIN_IN, BODY_TOP_IN + box_h + 0.3)
        slides = deck.flow_table(b.headings["verdict"], sub, MIN_PT, widths, start=start)
    for s in slides:
        deck.notes(s, [*b.verdict, *(_table_lines(b.verdict_table) if b.verdict_table is not None else [])])


def _plans_slides(deck: _Deck, b: Briefing, lang: str) -> None:
    """The plans side by side, at most 4 plans per slide, the KPIs of SLIDE_KPIS; a sweep's table
    per point instead (the other KPIs than SLIDE_SWEEP_KPIS left out). Every row, over as many
    slides as it takes; the whole table in the notes."""
    t = deck.t
    plan_lines = [f"{p.name}: {p.description}" for p in b.plans]
    reps_note = t("plans_note", reps="").split(".")[0] + "."
    if b.points_table is not None:
        pt = b.points_table
        hide = {kpi_label(k, lang) for k in KPI_ROWS if k not in SLIDE_SWEEP_KPIS}
        keep = [j for j, c in enumerate(pt.columns) if c not in hide]
        sub = Table([pt.columns[j] for j in keep], [[r[j] for j in keep] for r in pt.rows], [pt.align[j] for j in keep])
        widths = deck.widths(sub, USABLE_W_IN, MIN_PT)
        slides = deck.flow_table(b.headings["plans"], sub, MIN_PT, widths, footnote=reps_note)
        for s in slides:
            deck.notes(s, [*plan_lines, *_table_lines(pt)])
        return
    skip = {kpi_label(k, lang) for k in ("incidents", "dispatched", *KPI_ROWS) if k not in SLIDE_KPIS}
    ua = t("used_available")
    rows = [[r[0].replace(f" ({ua})", ""), *r[1:]] for r in b.plans_table.rows if r[0] not in skip]
    n_plans = len(b.plans_table.columns) - 1
    footnote = t("personnel_note", ua=ua) + " " + reps_note
    for begin in range(0, max(n_plans, 1), 4):
        cols = list(range(1 + begin, 1 + min(n_plans, begin + 4)))
        sub = Table(
            [b.plans_table.columns[0], *[b.plans_table.columns[j] for j in cols]],
            [[r[0], *[r[j] for j in cols]] for r in rows],
            ["l"] + ["r"] * len(cols),
        )
        first = 3.9
        widths = [first] + [(USABLE_W_IN - first) / len(cols)] * len(cols)
        for s in deck.flow_table(b.headings["plans"], sub, 15, widths, footnote=footnote):
            deck.notes(s, [*plan_lines, *_table_lines(b.plans_table)])


def _chart_slide(deck: _Deck, b: Briefing, chart: ChartLike) -> Any:
    """One chart as large as the slide allows under a title that says what it shows (the chart
    draws its own title); the whole caption in the notes."""
    slide = deck.slide(chart_point(chart.caption) if chart.caption else b.headings["charts"])
    with PILImage.open(chart.path) as im:
        iw, ih = im.size
    top = TITLE_BAND_IN + TITLE_RULE_IN + PICTURE_GAP_IN
    h = SLIDE_H_IN - top - PICTURE_GAP_IN
    w = h * iw / ih
    if w > USABLE_W_IN:
        w, h = USABLE_W_IN, USABLE_W_IN * ih / iw
    slide.shapes.add_picture(str(chart.path), Inches((SLIDE_W_IN - w) / 2), Inches(top), Inches(w), Inches(h))
    deck.notes(slide, [f"{b.labels['notice']}: {chart.caption}" if chart.caption else "", chart.title])
    return slide


def _weak_slides(deck: _Deck, b: Briefing) -> None:
    """The weakest spot in a sentence; every kecamatan below its targets in a table on the left
    (flowing onto further slides); the weak hours per plan on the right."""
    slide = deck.slide(b.headings["weak"])
    lead_pt = 18
    lead = cut_to_lines(b.weak_lead, USABLE_W_IN - 0.1, lead_pt, LEAD_MAX_LINES, bold=True)
    lead_h = _text_height(lead, USABLE_W_IN - 0.1, lead_pt, bold=True) + 0.1
    deck.text_box(slide, SLIDE_MARGIN_IN, BODY_TOP_IN - 0.05, USABLE_W_IN, lead_h, [lead], lead_pt, bold=True)
    y = BODY_TOP_IN + lead_h + 0.1
    wk = b.weak_kecamatan
    keep = [0, 1, 2, 3, 5]  # plan, kecamatan, within target, priority 1 within target, pooled p90
    sub = Table([wk.columns[j] for j in keep], [[r[j] for j in keep] for r in wk.rows], [wk.align[j] for j in keep])
    widths = [1.8, 1.9, 1.3, 1.4, 1.3]
    table_slides = deck.flow_table(b.headings["weak"], sub, MIN_PT, widths, start=(slide, SLIDE_MARGIN_IN, y))
    left_w = sum(widths) + 0.3
    hour_slides = deck.flow_list(
        b.headings["weak_hours"],
        b.headings["weak_hours"],
        b.weak_hours_short,
        MIN_PT,
        start=(slide, SLIDE_MARGIN_IN + left_w, y),
        w=USABLE_W_IN - left_w,
    )
    for s in [*table_slides, *hour_slides]:  # the first slide is in both: the same notes
        deck.notes(s, [b.weak_lead, *_table_lines(wk), *b.weak_hours_text])


def _assumptions_slides(deck: _Deck, b: Briefing) -> None:
    """Every assumption with its basis and source (the sources when there are none), over as many
    slides as they take; the URLs in the notes."""
    items = [f"• {a.text} — {a.basis}" + (f" ({a.source})" if a.source else "") for a in b.assumptions]
    if not items:
        items = [f"• {s.name}: {s.url}" for s in b.sources]
    urls = [f"{source.name}: {source.url}" for source in b.sources]
    for slide in deck.flow_list(b.headings["assumptions"], b.assumptions_note, items, MIN_PT):
        deck.notes(slide, [*items, *urls])


def write_pptx(run: RunData, lang: str, charts: Sequence[ChartLike], content: Briefing, out: Path) -> Path:
    """``briefing.pptx``: a 16:9 deck for a projector, nothing under MIN_PT. The title slide, then
    the answer (the optimization page of an ``optimize`` folder, the verdict), the plans, one chart
    per slide, the weak spots and the assumptions; a table or list longer than a slide goes on over
    the next ones, every row shown."""
    del run
    deck = _Deck(lang)
    _title_slide(deck, content)
    if content.optimization is not None:
        _optimization_slides(deck, content.optimization)
    _verdict_slides(deck, content, lang)
    _plans_slides(deck, content, lang)
    for chart in charts:
        _chart_slide(deck, content, chart)
    _weak_slides(deck, content)
    _assumptions_slides(deck, content)
    return deck.save(out)
