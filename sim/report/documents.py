"""The briefing as HTML, PDF and PowerPoint (the workbook is ``workbook.py``).

The writers only lay out what ``content.briefing_content`` says (and the charts ``charts.py``
drew). A confirmation folder of ``optimize`` adds the optimization page after the question and one
slide after the title. Every file is written under a temporary name in the same folder and
renamed when complete, so a reader never sees half a file.

Text from the scenario is made safe once per format: the HTML by jinja2's autoescape; the PDF by
:func:`_pdf_text` (Windows-1252, '?' for what Helvetica lacks, XML-escaped for reportlab's
paragraphs), a table cell or the cover cut with '…' at :data:`PDF_BLOCK_MAX_PT` (reportlab cannot
split such a block across pages); the deck and the workbook through :func:`xml_text` (a control
character, which XML cannot carry, as its Control Pictures symbol), the workbook's text cells
neutralised against formulas by the CSV tables' rule (:func:`sim.textsafe.neutral_text`).
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


def _pdf_plain(text: Any) -> str:
    """Text Helvetica can draw: mapped to Windows-1252, what it lacks (emoji, control characters
    as their XML-safe symbols) as '?'."""
    s = "".join(_PDF_CHARS.get(ch, ch) for ch in xml_text(str(text)))
    return s.encode("cp1252", errors="replace").decode("cp1252")


def _pdf_text(text: Any) -> str:
    """Plain text made safe for a reportlab Paragraph: :func:`_pdf_plain`, then XML-escaped."""
    return escape(_pdf_plain(text))


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
        plain = _pdf_plain(text)
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

    story += h2(b.headings["question"])
    story.append(p(b.question, "question"))
    if b.description:
        story.append(
            Paragraph(f"<b>{_pdf_text(b.headings['description'])}:</b> {_pdf_text(b.description)}", styles["note"])
        )

    if b.optimization is not None:
        story += optimization(b.optimization)

    story += h2(b.headings["plans"])
    for info in b.plans:
        if info.description:
            story.append(Paragraph(f"<b>{_pdf_text(info.name)}</b>: {_pdf_text(info.description)}", styles["small"]))
    story.append(Spacer(1, 4))
    story += table(b.plans_table)
    if b.points_table is not None:
        story.append(p(b.headings["points"], "h3"))
        story += table(b.points_table)

    story += h2(b.headings["verdict"])
    story += [verdict_box(b.verdict), Spacer(1, 6)]
    if b.verdict_table is not None:
        story += table(b.verdict_table)

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
        canvas.drawString(margin_x, 8 * mm, _pdf_plain(footer_title))
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

SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5
MIN_PT = 14  # nothing on a slide is smaller: it is read from the back of a briefing room


def _lines(text: str, width_in: float, pt: float, bold: bool = False) -> int:
    """Rough number of lines ``text`` takes in a box ``width_in`` wide at ``pt`` points (generous)."""
    per_line = max(8, int(width_in * 72 / (pt * (0.6 if bold else 0.55))))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


# The KPIs a slide shows (the plans table's rows, the sweep table's columns); the notes have them all.
SLIDE_KPIS = ("response_mean_min", POOLED_P90, "reached_share", "within_target", "within_target_p1")


SLIDE_SWEEP_KPIS = ("response_mean_min", "reached_share", "within_target")  # a sweep table has a row per point


def write_pptx(run: RunData, lang: str, charts: Sequence[ChartLike], content: Briefing, out: Path) -> Path:
    """``briefing.pptx``: a short 16:9 deck, nothing under 14 pt."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Emu, Inches, Pt

    del run
    b = content
    t = Text(lang, DOC_WORDS)
    band = RGBColor(0x16, 0x32, 0x4F)
    accent = RGBColor(0xB8, 0x86, 0x0B)
    ink = RGBColor(0x1B, 0x24, 0x30)
    muted = RGBColor(0x4A, 0x54, 0x63)
    soft = RGBColor(0xF3, 0xF5, 0xF8)
    white = RGBColor(0xFF, 0xFF, 0xFF)

    prs = Presentation()
    prs.slide_width = Inches(SLIDE_W_IN)
    prs.slide_height = Inches(SLIDE_H_IN)
    blank = prs.slide_layouts[6]
    margin = 0.5
    body_w = SLIDE_W_IN - 2 * margin
    top = 1.35  # below the title band

    def new_slide(title: str | None) -> Any:
        slide = prs.slides.add_slide(blank)
        if title is not None:
            bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, prs.slide_width, Inches(1.05))
            bar.fill.solid()
            bar.fill.fore_color.rgb = band
            bar.line.fill.background()
            bar.shadow.inherit = False
            rule = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, Inches(1.05), prs.slide_width, Inches(0.06))
            rule.fill.solid()
            rule.fill.fore_color.rgb = accent
            rule.line.fill.background()
            rule.shadow.inherit = False
            fits = [pt for pt, n in ((30, 1), (24, 2), (20, 2), (16, 2)) if _lines(title, body_w, pt, bold=True) <= n]
            size = fits[0] if fits else 16
            if not fits:  # cut what two lines at 16 pt cannot hold
                keep = 2 * int(body_w * 72 / (16 * 0.6)) - 2
                title = title[:keep].rstrip() + "…"
            text_box(slide, margin, 0.08, body_w, 0.92, [title], size, color=white, bold=True, anchor="middle")
        return slide

    def text_box(
        slide: Any,
        x: float,
        y: float,
        w: float,
        h: float,
        paragraphs: Sequence[str],
        size: float,
        color: Any = ink,
        bold: bool = False,
        anchor: str = "top",
        bullets: bool = False,
        first_bold: bool = False,
        space_after: float = 6,
    ) -> Any:
        size = max(size, MIN_PT)
        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        tf = box.text_frame
        tf.word_wrap = True
        tf.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE}[anchor]
        tf.margin_left = tf.margin_right = Inches(0.05)
        for i, text in enumerate(paragraphs):
            para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            para.space_after = Pt(space_after)
            run_ = para.add_run()
            run_.text = xml_text(("• " if bullets else "") + text)
            run_.font.size = Pt(size)
            run_.font.bold = bold or (first_bold and i == 0)
            run_.font.color.rgb = color
        return box

    def row_heights(tbl: Table, widths: Sequence[float], size: float) -> list[float]:
        """Estimated height of the header and of each row [in]."""
        return [
            0.16 + max(_lines(str(c), widths[j] - 0.2, size) for j, c in enumerate(r)) * size * 1.2 / 72
            for r in [tbl.columns, *tbl.rows]
        ]

    def add_table(
        slide: Any, tbl: Table, x: float, y: float, w: float, size: float = 16, widths: Sequence[float] | None = None
    ) -> float:
        """A table at (x, y), ``w`` wide; returns its estimated height in inches."""
        size = max(size, MIN_PT)
        n_rows, n_cols = len(tbl.rows) + 1, len(tbl.columns)
        if widths is None:
            widths = [cw / 72 for cw in _col_widths(tbl, w * 72, lambda text: len(text) * size * 0.5, pad=12)]
        row_h = row_heights(tbl, widths, size)
        shape = slide.shapes.add_table(n_rows, n_cols, Inches(x), Inches(y), Inches(w), Inches(sum(row_h)))
        table = shape.table
        table.first_row = True
        table.horz_banding = False
        for j, cw in enumerate(widths):
            table.columns[j].width = Emu(int(Inches(cw)))
        for i, r in enumerate([tbl.columns, *tbl.rows]):
            table.rows[i].height = Emu(int(Inches(row_h[i])))
            for j, c in enumerate(r):
                cell = table.cell(i, j)
                cell.margin_left = cell.margin_right = Inches(0.08)
                cell.margin_top = cell.margin_bottom = Inches(0.04)
                cell.fill.solid()
                cell.fill.fore_color.rgb = band if i == 0 else (soft if i % 2 == 0 else white)
                tf = cell.text_frame
                tf.word_wrap = True
                para = tf.paragraphs[0]
                para.alignment = PP_ALIGN.RIGHT if tbl.align[j] == "r" else PP_ALIGN.LEFT
                run_ = para.add_run()
                run_.text = xml_text(str(c))
                run_.font.size = Pt(size)
                run_.font.bold = i == 0 or (j == 0 and tbl.align[0] == "l" and tbl.columns[0] == t("plan"))
                run_.font.color.rgb = white if i == 0 else ink
        return sum(row_h)

    def notes(slide: Any, lines: Sequence[str]) -> None:
        """Speaker notes: the detail the slide leaves out, for the presenter."""
        slide.notes_slide.notes_text_frame.text = xml_text("\n".join(x for x in lines if x))

    def table_lines(tbl: Table) -> list[str]:
        return [" | ".join(tbl.columns), *[" | ".join(r) for r in tbl.rows], tbl.note]

    def optimization_slide(o: OptimizationPage) -> None:
        """The verdict across the top; what changes on the left, the evidence table on the right;
        the rest (every change, the whole table, the search, the weak spots) in the notes."""
        slide = new_slide(o.heading)
        pt = 18
        lines = sum(_lines(s, body_w - 0.5, pt, bold=i == 0) for i, s in enumerate(o.verdict))
        box_h = min(lines * pt * 1.2 / 72 + len(o.verdict) * 6 / 72 + 0.3, 2.4)
        text_box(slide, margin, top, body_w, box_h, o.verdict, pt, first_bold=True)
        y = top + box_h + 0.15
        room = SLIDE_H_IN - y - 0.25
        left_w, right_w = 5.6, body_w - 5.6 - 0.3
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
        text_box(slide, margin, y, left_w, used * line_h + 0.1, changes, 15, first_bold=True, space_after=4)
        weak = fill(o.headings["weak"], o.weak, max(2, budget - used - 1))
        y_weak = y + (used + 0.6) * line_h
        text_box(slide, margin, y_weak, left_w, SLIDE_H_IN - y_weak - 0.25, weak, 15, first_bold=True, space_after=4)
        keep = [0, 1, 4, 6]  # group, KPI, recommended (interval), met
        ev = o.evidence
        rows = [[r[j] for j in keep] for r in ev.rows]
        widths = [1.6, 1.9, 2.0, right_w - 5.5]
        while rows:
            sub = Table([ev.columns[j] for j in keep], rows, [ev.align[j] for j in keep])
            if sum(row_heights(sub, widths, 14)) <= room:
                add_table(slide, sub, margin + left_w + 0.3, y, right_w, 14, widths)
                break
            rows = rows[:-1]
        notes(slide, [*o.verdict, o.changes_lead, *o.changes, *table_lines(ev), o.search, *o.weak])

    # 1. title
    slide = new_slide(None)
    bg = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, prs.slide_width, Inches(4.2))
    bg.fill.solid()
    bg.fill.fore_color.rgb = band
    bg.line.fill.background()
    bg.shadow.inherit = False
    text_box(slide, 0.8, 1.0, SLIDE_W_IN - 1.6, 1.9, [b.title], 36, color=white, bold=True, anchor="middle")
    text_box(slide, 0.8, 2.9, SLIDE_W_IN - 1.6, 1.1, [b.subtitle, b.context], 20, color=RGBColor(0xD6, 0xE0, 0xEC))
    text_box(slide, 0.8, 4.6, SLIDE_W_IN - 1.6, 0.5, [b.headings["question"]], 18, color=accent, bold=True)
    text_box(slide, 0.8, 5.1, SLIDE_W_IN - 1.6, 1.8, [b.question], 26, color=ink, bold=True)
    notes(slide, [b.description, b.footer])

    # 1b. the optimization page (a confirmation folder of `optimize`): one slide
    if b.optimization is not None:
        optimization_slide(b.optimization)

    # 2. plans side by side (at most 4 plans per slide)
    if b.points_table is None:
        skip = {kpi_label(k, lang) for k in ("incidents", "dispatched", *KPI_ROWS) if k not in SLIDE_KPIS}
        ua = t("used_available")
        rows = [[r[0].replace(f" ({ua})", ""), *r[1:]] for r in b.plans_table.rows if r[0] not in skip]
        n_plans = len(b.plans_table.columns) - 1
        for start in range(0, max(n_plans, 1), 4):
            cols = list(range(1 + start, 1 + min(n_plans, start + 4)))
            sub = Table(
                [b.plans_table.columns[0], *[b.plans_table.columns[j] for j in cols]],
                [[r[0], *[r[j] for j in cols]] for r in rows],
                ["l"] + ["r"] * len(cols),
            )
            slide = new_slide(b.headings["plans"])
            first = 3.9
            widths = [first] + [(body_w - first) / len(cols)] * len(cols)
            add_table(slide, sub, margin, top, body_w, 15, widths)
            note = t("personnel_note", ua=ua) + " " + t("plans_note", reps="").split(".")[0] + "."
            text_box(slide, margin, SLIDE_H_IN - 0.55, body_w, 0.45, [note], 14, color=muted)
            notes(slide, [*(f"{p.name}: {p.description}" for p in b.plans), *table_lines(b.plans_table)])
    else:
        pt = b.points_table
        keep = [
            j
            for j, c in enumerate(pt.columns)
            if c not in {kpi_label(k, lang) for k in KPI_ROWS if k not in SLIDE_SWEEP_KPIS}
        ]
        max_rows = 10
        sub = Table(
            [pt.columns[j] for j in keep],
            [[r[j] for j in keep] for r in pt.rows[:max_rows]],
            [pt.align[j] for j in keep],
        )
        slide = new_slide(b.headings["plans"])
        h = add_table(slide, sub, margin, top, body_w, 15)
        below = [t("plans_note", reps="").split(".")[0] + "."]
        if len(pt.rows) > max_rows:
            below.insert(0, t("more_rows", n=len(pt.rows) - max_rows))
        text_box(slide, margin, min(top + h + 0.15, 6.6), body_w, 0.7, below, 14, color=muted)
        notes(slide, [*(f"{p.name}: {p.description}" for p in b.plans), *table_lines(pt)])

    # 3. verdict
    slide = new_slide(b.headings["verdict"])
    verdict_pt = 20
    lines = sum(_lines(s, body_w - 0.5, verdict_pt, bold=i == 0) for i, s in enumerate(b.verdict))
    needed = lines * verdict_pt * 1.2 / 72 + len(b.verdict) * 6 / 72 + 0.35
    box_h = min(needed, 4.2)
    panel = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(margin), Inches(top), Inches(body_w), Inches(box_h))
    panel.fill.solid()
    panel.fill.fore_color.rgb = RGBColor(0xFB, 0xF6, 0xE9)
    panel.line.fill.background()
    panel.shadow.inherit = False
    edge = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(margin), Inches(top), Inches(0.1), Inches(box_h))
    edge.fill.solid()
    edge.fill.fore_color.rgb = accent
    edge.line.fill.background()
    edge.shadow.inherit = False
    text_box(slide, margin + 0.25, top + 0.1, body_w - 0.4, box_h - 0.15, b.verdict, verdict_pt, first_bold=True)
    if b.verdict_table is not None:
        wanted = {kpi_label("response_mean_min", lang), kpi_label("within_target", lang)}
        rows = [r for r in b.verdict_table.rows if r[1] in wanted]
        room = SLIDE_H_IN - (top + box_h + 0.3) - 0.2
        max_rows = max(0, int((room - 0.75) / 0.5))
        if rows and max_rows > 0:
            sub = Table(b.verdict_table.columns, rows[:max_rows], b.verdict_table.align)
            add_table(slide, sub, margin, top + box_h + 0.3, body_w, 14, [1.7, 3.4, 3.1, 2.2, body_w - 10.4])
        notes(slide, table_lines(b.verdict_table))

    # 4. one slide per chart
    for c in charts:
        from PIL import Image as PILImage

        slide = new_slide(c.title)
        caption = f"{b.labels['notice']}: {c.caption}" if c.caption else ""
        cap_lines = min(_lines(caption, body_w, 18), 4) if caption else 0
        cap_h = cap_lines * 18 * 1.25 / 72 + 0.2 if caption else 0.0
        area_h = SLIDE_H_IN - top - 0.25 - cap_h - 0.15
        with PILImage.open(c.path) as im:
            iw, ih = im.size
        w = body_w
        h = w * ih / iw
        if h > area_h:
            h, w = area_h, area_h * iw / ih
        slide.shapes.add_picture(str(c.path), Inches((SLIDE_W_IN - w) / 2), Inches(top), Inches(w), Inches(h))
        if caption:
            text_box(slide, margin, top + h + 0.15, body_w, cap_h, [caption], 18, color=ink)
        notes(slide, [caption])

    # 5. weak spots
    slide = new_slide(b.headings["weak"])
    lead_lines = _lines(b.weak_lead, body_w, 18)
    text_box(slide, margin, top - 0.05, body_w, lead_lines * 0.32 + 0.1, [b.weak_lead], 18, bold=True)
    y = top + lead_lines * 0.32 + 0.2
    left_w = 7.7
    wk = b.weak_kecamatan
    keep = [0, 1, 2, 3, 5]  # plan, kecamatan, within target, priority 1 within target, pooled p90
    per_group: dict[str, int] = {}
    rows = []
    for r in wk.rows:
        per_group[r[0]] = per_group.get(r[0], 0) + 1
        if per_group[r[0]] <= 3:
            rows.append([r[j] for j in keep])
    widths = [1.8, 1.9, 1.3, 1.4, 1.3]
    room = SLIDE_H_IN - y - 0.25
    while rows:
        sub = Table([wk.columns[j] for j in keep], rows, [wk.align[j] for j in keep])
        if sum(row_heights(sub, widths, 14)) <= room:
            add_table(slide, sub, margin, y, left_w, 14, widths)
            break
        rows = rows[:-1]
    text_box(
        slide,
        margin + left_w + 0.3,
        y,
        body_w - left_w - 0.3,
        SLIDE_H_IN - y - 0.3,
        [b.headings["weak_hours"], *b.weak_hours_short[:6]],
        14,
        first_bold=True,
    )
    notes(slide, [*table_lines(wk), *b.weak_hours_text])

    # 6. assumptions (trimmed to what fits)
    slide = new_slide(b.headings["assumptions"])
    items = [f"{a.text} — {a.basis}" + (f" ({a.source})" if a.source else "") for a in b.assumptions]
    if not items:
        items = [f"{s.name}: {s.url}" for s in b.sources]
    budget = int((SLIDE_H_IN - top - 0.9) / (14 * 1.2 / 72 + 0.06))
    shown, used = [], 0
    for item in items:
        n = _lines(item, body_w - 0.3, 14)
        if used + n > budget:
            break
        shown.append(item)
        used += n
    paragraphs = [b.assumptions_note, *[f"• {s}" for s in shown]]
    if len(shown) < len(items):
        paragraphs.append(t("more_items", n=len(items) - len(shown)))
    text_box(slide, margin, top, body_w, SLIDE_H_IN - top - 0.3, paragraphs, 14, first_bold=True, space_after=4)
    notes(slide, [*items, *(f"{s.name}: {s.url}" for s in b.sources)])

    with atomic(out) as tmp:
        prs.save(str(tmp))
    return Path(out)
