"""``pilkada-sim report``: every chart and document of a finished run folder, in one language.

Nothing is written until the folder has been verified (:class:`sim.report.data.RunData`: manifest,
checksums, tables). Then every file of the report is written into ``.report.tmp-<pid>/`` inside
the folder (``charts/`` in it too), and only when all of them are done are they moved into
place: ``report.json`` is removed first and written last, listing the files and their language
(:func:`sim.report.data.publish_report`). So whenever ``report.json`` is there, every report file
in the folder is in its language: a ``report`` killed while rendering changes nothing (its
staging folder is removed by the next one), one killed in the few renames of the move leaves no
``report.json`` (run it again). The files of an earlier report in another language that are not
rewritten (``--formats`` fewer than before) are removed; in the same language they stay, listed.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.errors import UserError
from sim.report.data import RunData, publish_report, staged_report
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


def _is_optimization(run_dir: str | Path) -> bool:
    """An optimization folder (``optimize``) with a confirmation run in it."""
    path = Path(run_dir)
    try:
        record = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # not readable: the report's own checks say why
        return False
    return isinstance(record, dict) and record.get("command") == "optimize" and (path / "confirmation").is_dir()


def make_report(run_dir: str | Path, lang: str = "id", formats: list[str] | None = None) -> list[Path]:
    """Write charts/*.png and the asked documents into the run folder; return the files written.

    An optimization folder's report is its confirmation run's (``confirmation/``), whose briefing
    has the optimization page. An exercise folder gets its own outputs instead
    (:func:`sim.report.exercise.write_exercise_report`: timeline chart, timeline page, after-action
    summary); ``formats`` does not apply to it.
    """
    from sim.report.charts import make_charts
    from sim.report.content import briefing_content
    from sim.report.documents import write_html, write_pdf, write_pptx
    from sim.report.exercise import is_exercise, write_exercise_report
    from sim.report.workbook import write_xlsx

    if lang not in LANGS:
        raise UserError("--lang", lang, f"unknown language; valid: {', '.join(LANGS)}")
    if _is_optimization(run_dir):  # its briefing is the confirmation's, with the optimization page
        run_dir = Path(run_dir) / "confirmation"
    if is_exercise(run_dir):
        return write_exercise_report(run_dir, lang)
    formats = list(FORMATS) if formats is None else list(dict.fromkeys(formats))
    run = RunData.load(run_dir)
    with staged_report(run.path) as stage:
        charts = make_charts(run, lang, stage / "charts")
        content = briefing_content(run, lang)
        files = [c.path.relative_to(stage).as_posix() for c in charts]
        for fmt in formats:
            out = stage / FILES[fmt]
            if fmt == "html":
                write_html(run, lang, charts, content, out)
            elif fmt == "pdf":
                write_pdf(run, lang, charts, content, out)
            elif fmt == "pptx":
                write_pptx(run, lang, charts, content, out)
            else:
                write_xlsx(run, lang, out)
            files.append(FILES[fmt])
        return publish_report(run.path, stage, lang, files, FILES.values())
