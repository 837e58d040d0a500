"""Issue 14, class 6: text from the scenario or the events list never breaks a renderer.

One test per class of fault, each through the real pipeline (``run`` with its report, or
``exercise``) on the hand-sized trace scenario with the hostile text in kecamatan names, TPS ids,
desa, post names, plan names, the title, incident-type labels and inject messages: every output
is written, says the text as given (escaped for its format), nothing crashes and nothing is
printed on stderr. The exact neutralise/restore rule of :mod:`sim.textsafe` has its own property
test.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
from conftest import ROOT, trace_copy
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from sim.cli import main
from sim.report.workbook import sheet_name
from sim.runfolder import write_csv
from sim.textsafe import FORMULA_START, neutral_text, neutralise, restore, restore_text

INCIDENTS, KECAMATAN = sheet_name("incidents", "id"), sheet_name("kecamatan", "id")  # workbook sheets

CHARTS = ("response_ecdf", "incidents_per_hour", "busy_open", "kecamatan_response", "map")
DOCUMENTS = ("briefing.html", "briefing.pdf", "briefing.pptx", "results.xlsx", "report.json")
CSV_TABLES = ("incidents.csv", "units.csv", "timeseries.csv", "kpis.csv", "summary.csv", "sites.csv", "targets.csv")
EVENTS_HEADER = ["number", "time", "kind", "target", "type", "priority", "value", "duration", "role", "message"]
EVENTS_HEADER.append("expected_action")
# warnings Python itself hides from a user (its default filters): anything else reaches stderr
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


# --- a hostile trace scenario ------------------------------------------------------------------


def _csv_line(*cells: object) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def hostile_scenario(
    folder: Path,
    kec: str = "Kec",
    tps: str = "A",
    desa: str = "Desa",
    desa_b: str = "Desa",
    post: str = "Post P",
    plan: str = "one",
    title: str = "Check",
    type_label: str = "",
) -> Path:
    """The trace scenario (two TPS A and B, one patrol at post P) with incidents during voting and
    the given texts: the TPS A's id and desa, B's desa, the one kecamatan, the post's name, the
    plan's name, the title and the label of the incident type 'gangguan'."""
    folder.mkdir(parents=True, exist_ok=True)

    def change(d: dict[str, Any]) -> None:
        d["title"] = title
        for site in (d["sites"]["ppk"][0], d["sites"]["kpu"], d["sites"]["posts"][0]):
            site["kecamatan"] = kec
        d["sites"]["posts"][0]["name"] = post
        d["plans"][plan] = d["plans"].pop("one")
        gangguan = d["incidents"]["types"]["gangguan"]
        gangguan["rate_per_site_hour"] = {"voting": 2.0}
        if type_label:
            gangguan["label_id"] = gangguan["label_en"] = type_label

    rows = _csv_line(tps, kec, desa, 0.0, 117.1, 100, "kurang_rawan", 0, 0, 0)
    rows += _csv_line("B", kec, desa_b, 0.0, 117.2, 100, "kurang_rawan", 0, 0, 0)
    path = trace_copy(folder, change, tps_rows=rows)
    matrix = pd.read_csv(folder / "trace_matrix.csv", dtype=str)
    matrix = matrix.replace({"A": tps})
    (folder / "trace_matrix.csv").write_text(matrix.to_csv(index=False, lineterminator="\n"))
    return path


def _quiet(call: Any) -> int:
    """Run ``call()``; fail on any warning a user would see on stderr; return its exit code."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = call()
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, HIDDEN)]
    assert not shown, shown
    return int(code)


def run_with_report(scenario: Path, out: Path, capsys: Any) -> Path:
    """``run`` with its report: exit 0, nothing on stderr, every table, chart and document written."""
    argv = ["run", str(scenario), "--reps", "2", "--workers", "1", "--quiet", "--out", str(out)]
    code = _quiet(lambda: main(argv))
    err = capsys.readouterr().err
    assert code == 0 and err == "", err
    for name in (*CSV_TABLES, *DOCUMENTS, *(f"charts/{c}.png" for c in CHARTS)):
        data = (out / name).read_bytes()
        assert data, name
        if name.endswith(".png"):
            assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
    return out


# --- what each output says -----------------------------------------------------------------------


def html_text(out: Path) -> str:
    return (out / "briefing.html").read_bytes().decode("utf-8")  # a CR as it is, not a newline


def xlsx_cells(out: Path) -> dict[str, set[str]]:
    """Every text cell of the workbook, per sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(out / "results.xlsx", read_only=True)
    return {
        ws.title: {v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)}
        for ws in wb.worksheets
    }


def pptx_text(out: Path) -> str:
    """The text of every text box, table cell and speaker note of the deck."""
    from pptx import Presentation

    parts = []
    for slide in Presentation(str(out / "briefing.pptx")).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts += [cell.text for row in shape.table.rows for cell in row.cells]
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def pdf_strings(out: Path) -> list[str]:
    """The text strings the PDF's pages draw (reportlab's ASCII85+Flate content streams, images
    skipped), PDF escapes undone, as Windows-1252 text."""
    data = (out / "briefing.pdf").read_bytes()
    found = []
    for m in re.finditer(rb"<<([^>]*?)/Length (\d+)\s*>>\s*stream\r?\n", data):
        if b"/Height" in m.group(1) or b"ASCII85Decode" not in m.group(1):
            continue
        page = zlib.decompress(base64.a85decode(data[m.end() : m.end() + int(m.group(2))], adobe=True))
        for s in re.findall(rb"\(((?:[^\\)]|\\.)*)\) Tj", page, re.S):
            found.append(re.sub(rb"\\([0-7]{1,3}|.)", _pdf_unescape, s).decode("cp1252"))
    return found


def _pdf_unescape(m: re.Match[bytes]) -> bytes:
    code = m.group(1)
    if code[:1].isdigit():
        return bytes([int(code, 8)])
    return {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(code, code)


def csv_cells(out: Path, name: str) -> list[list[str]]:
    with (out / name).open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# --- 1. mathtext -------------------------------------------------------------------------------

MATH_KEC = r"Kec $a^$ $\frac{$"  # a mathtext parse error, if '$' were math
MATH_TEXTS = {
    "kec": MATH_KEC,
    "post": "Pos $_$",
    "desa": "$x$",
    "title": r"Rp $5 $\alpha$",
    "type_label": "Bentrok $^$",
}


def test_dollar_signs_in_names_are_plain_text_in_every_chart(tmp_path, capsys):
    out = run_with_report(hostile_scenario(tmp_path / "s", **MATH_TEXTS), tmp_path / "r", capsys)
    html = html_text(out)
    assert str(escape(MATH_KEC)) in html and str(escape(MATH_TEXTS["title"])) in html
    assert MATH_KEC in xlsx_cells(out)[KECAMATAN]
    assert MATH_KEC in pptx_text(out)
    assert any(MATH_KEC in s for s in pdf_strings(out))
    sites = csv_cells(out, "sites.csv")
    assert sites[5][:4] == ["P", "post", "Pos $_$", MATH_KEC]


# --- 2. XML control characters -----------------------------------------------------------------

CONTROL_TPS = "A\x00\x01"
CONTROL_KEC = "K\x02\x1b"
CONTROL_POST = "P\x1f\uffff"
CONTROL_TITLE = "T\x07\ufffe"


def test_control_characters_are_shown_in_the_workbook_deck_and_pdf(tmp_path, capsys):
    texts = {"tps": CONTROL_TPS, "kec": CONTROL_KEC, "post": CONTROL_POST, "title": CONTROL_TITLE}
    out = run_with_report(hostile_scenario(tmp_path / "s", **texts), tmp_path / "r", capsys)
    # the tables carry the text as given (CSV can; Python's csv reader cannot read a NUL back)
    assert f'\n"{CONTROL_TPS}","tps","Desa","{CONTROL_KEC}",' in (out / "sites.csv").read_text(encoding="utf-8")
    assert f',"{CONTROL_TPS}","{CONTROL_KEC}","voting",' in (out / "incidents.csv").read_text(encoding="utf-8")
    # XML cannot: each control character as its Control Pictures symbol, U+FFFE/U+FFFF as U+FFFD
    cells = xlsx_cells(out)
    assert "A\u2400\u2401" in cells[INCIDENTS] and "K\u2402\u241b" in cells[KECAMATAN]
    deck = pptx_text(out)
    assert "K\u2402\u241b" in deck and "T\u2407\ufffd" in deck
    assert "\x02" not in deck and "\ufffe" not in deck
    assert any("K??" in s for s in pdf_strings(out))  # Helvetica has no such symbol: '?'
    assert str(escape(CONTROL_KEC)) in html_text(out)


# --- 3. length in the PDF layout ---------------------------------------------------------------

LONG_KEC = "K" * 4900
LONG_TITLE = "Judul " * 800
LONG_POST = "Pos " + "P" * 4900
LONG_DESA = "D" * 4900


def test_names_of_thousands_of_characters_are_cut_in_pdf_cells_only(tmp_path, capsys):
    texts = {"kec": LONG_KEC, "title": LONG_TITLE, "post": LONG_POST, "desa": LONG_DESA}
    out = run_with_report(hostile_scenario(tmp_path / "s", **texts), tmp_path / "r", capsys)
    strings = pdf_strings(out)
    # table cells and the cover are cut with an ellipsis; a caption (a paragraph) wraps whole
    assert any(s.endswith("K…") for s in strings)
    assert any(s.endswith("…") and s.startswith("Judul") for s in strings)
    # the HTML, the deck's notes and the workbook keep it whole
    assert LONG_KEC in html_text(out) and str(escape(LONG_TITLE.strip())) in html_text(out)
    assert LONG_KEC in xlsx_cells(out)[KECAMATAN]
    assert LONG_KEC in pptx_text(out)
    assert csv_cells(out, "sites.csv")[5][2] == LONG_POST


# --- 4. glyphs the fonts lack: a quiet stderr --------------------------------------------------

EMOJI_KEC = "Kec \U0001f600\U0001f6a8"
EMOJI_TEXTS = {
    "kec": EMOJI_KEC,
    "post": "Pos \U0001f46e",
    "desa": "Desa \u2603",
    "title": "Pilkada \U0001f5f3\ufe0f",
    "type_label": "Bentrok \U0001f525",
}


def test_emoji_draw_without_a_word_on_stderr(tmp_path):
    scenario = hostile_scenario(tmp_path / "s", **EMOJI_TEXTS)
    out = tmp_path / "r"
    argv = ["run", str(scenario), "--reps", "2", "--workers", "1", "--quiet", "--out", str(out)]
    # the CLI as a user runs it, stderr not a terminal: matplotlib's glyph warnings would land here
    done = subprocess.run([sys.executable, "-m", "sim", *argv], cwd=ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode(errors="replace")
    for name in (*DOCUMENTS, *(f"charts/{c}.png" for c in CHARTS)):
        assert (out / name).stat().st_size > 0, name
    assert EMOJI_KEC in html_text(out) and EMOJI_TEXTS["title"] in html_text(out)
    assert EMOJI_KEC in xlsx_cells(out)[KECAMATAN] and EMOJI_KEC in pptx_text(out)
    assert any("Kec ??" in s for s in pdf_strings(out))  # outside Windows-1252: '?'


# --- 5. formula neutralisation: tab and CR, one rule, read back raw -----------------------------

FORMULA_TEXTS = {
    "post": "\t=SUM(1)",
    "plan": "-plan.x",
    "kec": "@kec",
    "desa": "'=quoted",
    "desa_b": "'Aisyah",
    "title": "\r=1",
}


def test_formula_text_is_neutralised_once_everywhere_and_reported_raw(tmp_path, capsys):
    out = run_with_report(hostile_scenario(tmp_path / "s", **FORMULA_TEXTS), tmp_path / "r", capsys)
    sites = csv_cells(out, "sites.csv")
    assert sites[1][2] == "''=quoted" and sites[2][2] == "'Aisyah"  # one apostrophe added; none to a safe text
    assert sites[5][2] == "'\t=SUM(1)" and sites[5][3] == "'@kec"
    assert {r[1] for r in csv_cells(out, "incidents.csv")[1:]} == {"'-plan.x"}
    for name in CSV_TABLES:
        for row in csv_cells(out, name)[1:]:
            assert not any(c.startswith(FORMULA_START) for c in row), (name, row)
    # the reports read the raw text back: the charts find the plan's rows, the briefing says '-plan.x'
    html = html_text(out)
    assert "\r=1" in html
    assert "-plan.x" in html and "&#39;-plan.x" not in html
    assert "@kec" in html and "&#39;@kec" not in html
    # the workbook neutralises the raw text by the same rule, once
    cells = xlsx_cells(out)
    assert "'-plan.x" in cells[INCIDENTS] and "''-plan.x" not in cells[INCIDENTS]
    assert "'@kec" in cells[KECAMATAN] and "''@kec" not in cells[KECAMATAN]


texts = st.text(st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", " ", "1", "\n", ","]), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8))
def test_neutralise_then_restore_is_exact_through_the_csv_writer(tmp_path_factory, values):
    df = pd.DataFrame({"text": values, "n": range(len(values))})
    assert restore(neutralise(df)).equals(df)
    assert all(restore_text(neutral_text(s)) == s for s in values)
    # through the CSV writer and pandas' reader; a CR inside a cell is left out: write_csv does not
    # quote it (lineterminator "\n"), so no reader gets the row back whole, neutralised or not
    plain = df[~df["text"].str.contains("\r")]
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_csv(plain, path)
    back = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
    assert restore(back)["text"].tolist() == plain["text"].tolist()
    # a safe text is written as it is (ordinary tables keep their bytes)
    for s in values:
        if not s.lstrip("'").startswith(FORMULA_START):
            assert neutral_text(s) == s


# --- 6. Markdown and HTML in the after-action review -------------------------------------------

MD_KEC = "Kec $a^$ | *b*"
MD_MESSAGE = "<script>alert(1)</script> | *x* _y_ `z` [l](u) ~s~ & &lt;"
MD_EXPECTED = "<b>Bold</b>\nline 2 | cell"


def test_inject_text_is_escaped_in_aar_md_and_the_timeline_page(tmp_path, capsys):
    scenario = hostile_scenario(tmp_path / "s", kec=MD_KEC, tps="A$1")
    events = tmp_path / "s" / "events.csv"
    events.write_text(
        _csv_line(*EVENTS_HEADER)
        + _csv_line(1, "08:00", "incident", "A$1", "bentrok", "", "", "", "", MD_MESSAGE, MD_EXPECTED)
        + _csv_line(2, "09:00", "flood", MD_KEC, "", "", "", "2h", "", MD_MESSAGE, "")
    )
    out = tmp_path / "e"
    argv = ["exercise", str(scenario), "--injects", str(events), "--reps", "2", "--quiet", "--out", str(out)]
    code = _quiet(lambda: main(argv))
    err = capsys.readouterr().err
    assert code == 0 and err == "", err
    assert (out / "charts" / "timeline.png").read_bytes().startswith(b"\x89PNG")  # '$' in its rows
    md = (out / "aar.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<b>" not in md
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) == 3  # the header and two injects, each on one line
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 8 for line in rows), rows  # 7 cells each
    assert r"&lt;b&gt;Bold&lt;/b&gt; line 2 \| cell" in rows[1]
    message = r"&lt;script&gt;alert(1)&lt;/script&gt; \| \*x\* \_y\_ \`z\` \[l\](u) \~s\~ &amp; &amp;lt;"
    assert message in rows[2] and r"Kec \$a^\$ \| \*b\*" in rows[2]
    html = (out / "timeline.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert str(escape(MD_MESSAGE)) in html and str(escape(MD_KEC)) in html
