"""``pilkada-sim report``: every chart and document of a finished run folder, in one language."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sim.errors import UserError
from sim.report.data import RunData
from sim.report.i18n import LANGS

FORMATS = ("html", "pdf", "pptx", "xlsx")
FILES = {"html": "briefing.html", "pdf": "briefing.pdf", "pptx": "briefing.pptx", "xlsx": "results.xlsx"}


def parse_formats(text: str | None) -> list[str]:
    if not text:
        return list(FORMATS)
    asked = [f.strip().lower() for f in text.split(",") if f.strip()]
    for f in asked:
        if f not in FORMATS:
            raise UserError("--formats", f, f"unknown format; valid: {', '.join(FORMATS)}")
    return asked


def make_report(run_dir: str | Path, lang: str = "id", formats: list[str] | None = None) -> list[Path]:
    """Write charts/*.png and the asked documents into the run folder; return the files written.

    An exercise folder gets its own outputs instead (:func:`sim.report.exercise.write_exercise_report`:
    timeline chart, timeline page, after-action summary); ``formats`` does not apply to it.
    """
    from sim.report.charts import make_charts
    from sim.report.content import briefing_content
    from sim.report.documents import write_html, write_pdf, write_pptx, write_xlsx
    from sim.report.exercise import is_exercise, write_exercise_report

    if lang not in LANGS:
        raise UserError("--lang", lang, f"unknown language; valid: {', '.join(LANGS)}")
    if is_exercise(run_dir):
        return write_exercise_report(run_dir, lang)
    formats = list(FORMATS) if formats is None else formats
    run = RunData.load(run_dir)
    charts_dir = run.path / "charts"
    charts_dir.mkdir(exist_ok=True)
    charts = make_charts(run, lang, charts_dir)
    content = briefing_content(run, lang)
    written = [c.path for c in charts]
    for fmt in formats:
        out = run.path / FILES[fmt]
        if fmt == "html":
            write_html(run, lang, charts, content, out)
        elif fmt == "pdf":
            write_pdf(run, lang, charts, content, out)
        elif fmt == "pptx":
            write_pptx(run, lang, charts, content, out)
        else:
            write_xlsx(run, lang, out)
        written.append(out)
    record = {"lang": lang, "files": [str(p.relative_to(run.path)) for p in written]}
    tmp = run.path / f".report.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, run.path / "report.json")
    return written
