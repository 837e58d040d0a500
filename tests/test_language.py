"""Indonesian throughout (issue 16): every output of every kind of folder, rendered in ``id`` and
in ``en``, is read back as text and searched for leaks.

The outputs: the briefing (HTML text and image descriptions; the PDF's text by pypdf; the slides'
text frames, tables and notes by python-pptx), the workbook (sheet names and every cell by
openpyxl), the charts (every text artist of every matplotlib figure, caught as it is saved), and
an exercise's ``timeline.html``, ``aar.md`` and timeline chart. The folders: a ``run``, a paired
``compare``, a ``sweep``, an exercise and an ``optimize`` confirmation (its briefing carries the
optimization page), all of the bundled Kutim scenario, small.

A leak is:

- a **code** the program writes in its tables: the codes are collected from the code itself (the
  model's enums, the registries of inject kinds, dispatch policies and backends, the schema's
  vocabularies, sim.metrics' KPI keys, the exercise's decision kinds, the scenario's incident-type
  keys, personnel kinds and post ids, the code columns of the folder's own tables, the swept key
  paths). A code that is also an ordinary word ("rawan", "bentrok", "voting") cannot be told from
  the word; the word lists below catch those that belong to the other language;
- in ``id`` a word of :data:`ENGLISH_WORDS` (common English words that are not Indonesian); in
  ``en`` a word of :data:`INDONESIAN_WORDS`. Domain words planners say in both languages (TPS,
  PPK, Polsek, Polres, Linmas, BKO, rawan, kecamatan, pola pengamanan, inject, seed) are in
  neither list;
- in ``id`` a term the project does not use (:data:`FORBIDDEN_ID`: "SK 95%", "ulangan",
  "bermakna", "baseline", "KEPUTUSAN:" without "PERLU", CLI advice, "UTC+").

Names are not words: the scenario's plan names (``mobile``, ``thin`` are identifiers the scenario
gives its plans, shown as its names in every language), kecamatan, desa, post, PPK and KPU names,
target groups, site ids, source keys, the scenario's title, and free text the scenario or the
events list gives in one language only (an inject's message; a description or an assumption
without its ``_id`` version) are taken out before searching, as are URLs, the rebuilt command line
and package names. A description or assumption that has its Indonesian version is not taken out:
the English one must not show in Indonesian.

What other files still leak is listed in :data:`KNOWN_LEAKS` (output, token) with the file and
function that writes it; the test fails on any leak not listed and on any listed leak no longer
found, so the list is exact and the test becomes strict when it is empty.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import yaml
from matplotlib.text import Text as MplText
from pptx import Presentation
from pypdf import PdfReader

import sim.report.charts as charts_module
import sim.report.exercise as exercise_module
from sim import metrics
from sim.backends import Dask, Processes, Serial
from sim.cli import main
from sim.dispatch import POLICIES
from sim.exercise import DECISIONS, TIMELINE_COLUMNS
from sim.inject_kinds import KINDS
from sim.model import EventKind, IncidentOutcome, ResolvedBy
from sim.report.build import make_report
from sim.report.content import briefing_content, command_line
from sim.report.data import RunData
from sim.report.i18n import LABELS, LANGS, OPTIMIZER_KPIS, code_label
from sim.scenario import load_scenario
from sim.scenario.schema import PHASES, ROLES, TPS_CLASSES

pytestmark = pytest.mark.slow  # renders every output of five folders in two languages (about 3 min)

ROOT = Path(__file__).resolve().parents[1]
KUTIM = ROOT / "scenarios" / "kutim-2024.yaml"
EVENTS = ROOT / "scenarios" / "exercises" / "kutim-latihan-pra-operasi.csv"
SWEEP_KEY = "plans.mobile.patrols[polsek-sgu].units"
TRADE = ("response_mean_min", "within_target", "peak_unguarded_tps")  # the KPIs of the trade-off sentence
# the events of timeline.csv, as sim.exercise documents its column
TIMELINE_EVENTS = re.findall(r"[a-z_]+(?= |,|$)", re.sub(r"\(.*?\)", "", TIMELINE_COLUMNS["event"]))

# Common English words that are not Indonesian words (nor domain words used in both).
_ENGLISH = """
    the and with of for from to at by on is are was be this that these those not or an but if into than
    also only each every all other same more fewer less when where which what how why see
    plan plans incident incidents officer officers personnel response reached reach within mean share
    peak unguarded guard guards guarding patrol patrols reserve baseline reference sourced estimated
    comments under processes process serial logistics voting counting escort recap plenary resolved
    cleared report reported dispatch dispatched queued waiting waited flood surge cover nearest none
    yes kind type significant confidence escalation escalations hour hours minutes min day
    days replication replications point sweep mobile-heavy heavy variant deliberately review after
    action decision units crew cluster site sites post posts open end start started finished run
    compare made back road roads closure late clash crowd hoax dispute voter voters list money
    politics intimidation supporters demanding recount problem ballots short swapped delivery opened
    organisers between spreading provocation estimates estimate beyond named sources positions venue
    rates secured reinforcement reinforcements pattern standby plus west backup savings put falls
    visibly main far coast cars car thinned extra needed needing shorter longer better worse arrived
    sent way out free busy queue level event events target's shares pooled daily priority time scene arrival
    timeline
"""
ENGLISH_WORDS = frozenset(_ENGLISH.split())
# Common Indonesian words that are not English words (nor domain words used in both).
_INDONESIAN = """
    dan yang di ke dari untuk dengan tidak ada rencana kejadian menit jam waktu tanggap didatangi dalam
    selang kepercayaan nyata replikasi personel penjaga penjagaan patroli cadangan lebih baik buruk
    cepat lambat selisih rata-rata gabungan hari pemungutan penghitungan pengawalan kotak rekapitulasi
    laporan dilaporkan sibuk terbuka bebas menunggu antrean titik keputusan perlu jalan terputus banjir
    lonjakan bantuan tiba diberangkatkan selesai ditangani sumber asumsi perkiraan bersumber pemilih
    prioritas tahap hasil jenis puncak tanpa terpakai dipindah tambahan sedikit sasaran pesan tindakan
    logistik bentrok hoaks intimidasi sengketa massa pendukung uang politik serangan fajar terlambat
    dibuka surat suara tertukar berkas skenario peta grafik halaman lagi baris dibuat variasi nilai
    terkecil mencapai batas bawah atas belum pasti unit-unit dibanding terhadap semua setiap tiap
    hanya juga sama lain paling banyak pukul tanggal mulai diubah perintah cara pekerja proses
"""
INDONESIAN_WORDS = frozenset(_INDONESIAN.split())
# Words written in small letters in both languages (TPS classes, the exercise's "inject", the
# simulation's "seed"): never a leak, whatever code has the same letters. (Polri, TNI, Linmas are
# written capitalised: their small-letter codes are leaks.)
DOMAIN_WORDS = frozenset({"rawan", "khusus", "inject", "seed"})
FORBIDDEN_ID = (
    r"\bSK 95",
    r"\bulangan\b",
    r"\bbermakna\b",
    r"\b[Bb]aseline\b",
    r"(?<!PERLU )\bKEPUTUSAN:",
    r"[Jj]alankan '",
    r"UTC[+-]\d",
    r"[Rr]encana berdampingan",
)

# pypdf splits some words of narrow table cells ("ga bungan"): in the PDF, foreign words shorter
# than this are not searched (the HTML has the same text, searched whole)
PDF_SHORTEST_WORD = 3

# Leaks still written somewhere (file, function, text); the test fails on any leak not listed here and
# on any entry no longer found. Empty: the test is strict.
KNOWN_LEAKS: dict[tuple[str, str, str], str] = {}  # (output, token, lang) -> where it comes from; empty: strict


# --- finding leaks -----------------------------------------------------------------------------


@dataclass
class Vocabulary:
    """What a folder's outputs may not show (codes) and what is taken out before searching (names)."""

    codes: set[str] = field(default_factory=set)  # whole tokens, case as written
    key_paths: set[str] = field(default_factory=set)  # substrings: swept and overridden keys
    names: set[str] = field(default_factory=set)  # the scenario's names and one-language texts


TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-']*[A-Za-z0-9_]|[A-Za-z]")
URL = re.compile(r"https?://\S+")
UNIT_ID = re.compile(r"\b[a-z0-9-]+-(?:patrol|reserve|tni)-\d+\b")


def model_codes() -> set[str]:
    """The codes the program itself writes, whatever the scenario."""
    codes = {o.code for o in IncidentOutcome} | {r.code for r in ResolvedBy if r.code} | {e.value for e in EventKind}
    codes |= set(KINDS) | set(POLICIES) | {Serial.name, Processes.name, Dask.name} | set(DECISIONS)
    codes |= set(PHASES) | set(ROLES) | set(TPS_CLASSES)
    codes |= set(metrics.KPIS) | set(metrics.POOLED_KPIS) | set(OPTIMIZER_KPIS)
    codes |= {"tps_guards", "ppk_guards", "tni_backup", "linmas_per_tps", "linmas_kind", "per_tps"}
    codes |= set(TIMELINE_EVENTS)
    return codes


def vocabulary(folder: Path) -> Vocabulary:
    """Codes and names of one folder: the model's codes, the scenario's keys and ids, and the code
    columns of its own tables."""
    sc = load_scenario(KUTIM).spec
    voc = Vocabulary(model_codes())
    voc.codes |= set(sc.incidents.types) | set(sc.forces) | {p.id for p in sc.sites.posts}
    for name in ("incidents.csv", "timeline.csv", "decision_points.csv", "summary.csv", "comparison.csv"):
        path = folder / name
        if path.is_file():
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            for col in ("type", "phase", "outcome", "resolved_by", "event", "decision", "kpi"):
                if col in df.columns:
                    voc.codes |= {v for v in df[col].unique() if v}
    # a code that is also a word ('rawan', 'bentrok', 'report') cannot be told from the word: the
    # word lists catch those of the other language
    voc.codes = {c for c in voc.codes if c.lower() not in ENGLISH_WORDS | INDONESIAN_WORDS | DOMAIN_WORDS}
    short = SWEEP_KEY.split(".", 2)[2]  # as a one-plan sweep shortens it: patrols[polsek-sgu].units
    voc.key_paths = {SWEEP_KEY, short, *LABELS["scenario_key"]}
    voc.names |= set(sc.plans) | {sc.name, sc.title} | set(sc.sources)
    voc.names |= {p.name for p in sc.sites.posts} | {p.name for p in sc.sites.ppk} | {sc.sites.kpu.name}
    voc.names |= {g.name for g in sc.targets.groups}
    sites = pd.read_csv(folder / "sites.csv", dtype=str, keep_default_na=False)
    voc.names |= set(sites["name"]) | set(sites["kecamatan"]) | set(sites["site_id"]) - {""}
    for part in (sc, *sc.plans.values()):
        if not part.description_id:
            voc.names.add(part.description)
    voc.names |= {a.text for a in sc.assumptions if not a.text_id}
    manifest_plans = (
        pd.read_csv(folder / "summary.csv", dtype=str)["plan"] if (folder / "summary.csv").is_file() else []
    )
    voc.names |= set(manifest_plans)
    injects = folder / "injects.csv"
    if injects.is_file():
        ev = pd.read_csv(injects, dtype=str, keep_default_na=False)
        voc.names |= set(ev["message"]) | set(ev["expected_action"]) | {injects.name, EVENTS.name}
    return voc


def scrub(text: str, voc: Vocabulary) -> str:
    """The text without the names, longest first; short names as whole words only."""
    for s in sorted((n for n in voc.names if n.strip()), key=len, reverse=True):
        s = " ".join(s.split())
        if len(s) > 12 or not re.fullmatch(r"[\w\- ]+", s):
            text = text.replace(s, " ")
        else:
            text = re.sub(rf"(?<![\w-]){re.escape(s)}(?![\w-])", " ", text)
    return text


def leaks(
    text: str, voc: Vocabulary, lang: str, literal: tuple[str, ...] = (), shortest_word: int = 1
) -> dict[str, str]:
    """Every leaked code, foreign word or forbidden term of a text, with the text around it. The
    literal strings go first (a command line holds key paths), then key paths and unit ids are
    taken (their parts are words), then the names, then the tokens are searched; foreign words
    shorter than ``shortest_word`` letters are not."""
    found: dict[str, str] = {}

    def note(token: str, clean: str, at: int) -> None:
        found.setdefault(token, clean[max(0, at - 60) : at + 60])

    clean = " ".join(URL.sub(" ", unescape(text)).split())
    for s in sorted({" ".join(x.split()) for x in literal if x.strip()}, key=len, reverse=True):
        clean = clean.replace(s, " ")
    for key in sorted(voc.key_paths, key=len, reverse=True):
        for m in re.finditer(re.escape(key), clean):
            note(key, clean, m.start())
        clean = clean.replace(key, " ")
    for m in UNIT_ID.finditer(clean):
        note(m.group(), clean, m.start())
    clean = scrub(UNIT_ID.sub(" ", clean), voc)
    words = ENGLISH_WORDS if lang == "id" else INDONESIAN_WORDS
    for m in TOKEN.finditer(clean):
        token = m.group()
        if token in voc.codes or (token.lower() in words and len(token) >= shortest_word):
            note(token, clean, m.start())
    for rx in FORBIDDEN_ID if lang == "id" else ():
        for m in re.finditer(rx, clean):
            note(m.group(), clean, m.start())
    return found


def test_the_detector_finds_what_it_must_and_spares_names():
    """The search itself, on sentences of known leaks (a check that could not fail would be none)."""
    voc = Vocabulary(codes={"politik_uang", "polda_bko", "resolved_on_site"}, key_paths={SWEEP_KEY})
    voc.names = {"mobile", "Long Mesangat"}
    text = (
        "Laporan politik_uang di TPS; Personel polda_bko; Hasil: resolved_on_site; the plan; SK 95% 1-2; "
        f"{SWEEP_KEY} = 2; rencana mobile di Long Mesangat; polsek-skl-patrol-1; KEPUTUSAN: x; "
        "PERLU KEPUTUSAN: y; https://example.org/the/plan"
    )
    assert set(leaks(text, voc, "id")) == {
        "politik_uang",
        "polda_bko",
        "resolved_on_site",
        "the",
        "plan",
        "SK 95",
        SWEEP_KEY,
        "polsek-skl-patrol-1",
        "KEPUTUSAN:",
    }
    assert set(leaks("Plan mobile is thin at Long Mesangat; rencana dan TPS rawan", voc, "en")) == {
        "rencana",
        "dan",
    }


# --- rendering every output and reading it back ------------------------------------------------


class _HtmlText(HTMLParser):
    """Visible text of a page and its image descriptions (alt, title), scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("alt", "title", "aria-label") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(path: Path) -> str:
    parser = _HtmlText()
    parser.feed(path.read_text(encoding="utf-8"))
    return "\n".join(parser.parts)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def pptx_text(path: Path) -> str:
    parts: list[str] = []

    def shape_text(shape: Any) -> None:
        if shape.shape_type == 6:  # a group
            for s in shape.shapes:
                shape_text(s)
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if getattr(shape, "has_table", False) and shape.has_table:
            parts.extend(cell.text for row in shape.table.rows for cell in row.cells)

    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            shape_text(shape)
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def xlsx_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    parts = list(wb.sheetnames)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            parts += [str(v) for v in row if isinstance(v, str)]
    return "\n".join(parts)


@contextlib.contextmanager
def figure_texts(into: list[str]) -> Iterator[None]:
    """Record every visible text of every figure the report saves (charts and the exercise chart)."""
    original = charts_module.save_figure

    def recording(fig: Any, *args: Any, **kwargs: Any) -> Any:
        into.extend(t.get_text() for t in fig.findobj(MplText) if t.get_visible() and t.get_text())
        return original(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(charts_module, "save_figure", recording)
        mp.setattr(exercise_module, "save_figure", recording)
        yield


@dataclass
class Rendered:
    """Every output of one folder in one language, as text, and what to search it for."""

    kind: str  # run, compare, sweep, exercise, optimize
    lang: str
    texts: dict[str, str]  # output -> text
    voc: Vocabulary
    literal: tuple[str, ...]  # strings shown as typed (the command line, package versions)


# The command that makes each kind of folder (small: a few replications), after "--out DIR".
COMMON = ("--workers", "1", "--no-report")
COMMANDS: dict[str, tuple[str, ...]] = {
    "run": ("run", str(KUTIM), "--reps", "3", *COMMON),
    "compare": ("compare", str(KUTIM), "--baseline", "pemilu2024", "--reps", "4", *COMMON),
    "sweep": ("sweep", str(KUTIM), "--plans", "mobile", "--vary", f"{SWEEP_KEY}=1,2", "--reps", "2", *COMMON),
    "exercise": ("exercise", str(KUTIM), "--injects", str(EVENTS), "--plan", "pemilu2024", "--reps", "2"),
    "optimize": (
        *("optimize", str(KUTIM), "--min-force", "--constraint", "within_target>=0.6"),
        *("--move", "patrols[polsek-sgu].units=1..3", "--budget-reps", "120", *COMMON),
        *("--set", "optimize.first_reps=4", "--set", "optimize.max_reps=8", "--set", "optimize.confirm_reps=6"),
    ),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A finished folder of one kind, made once for the module when first asked for."""
    base = tmp_path_factory.mktemp("language")

    def made(kind: str) -> Path:
        out = base / kind
        if not out.is_dir():
            assert main([*COMMANDS[kind], "--out", str(out), "--quiet"]) == 0, kind
        return out

    return made


def _render(folder: Path, kind: str, lang: str) -> Rendered:
    texts: list[str] = []
    with figure_texts(texts):
        make_report(folder, lang)
    if kind == "exercise":
        outputs = {"timeline.html": html_text(folder / "timeline.html"), "aar.md": (folder / "aar.md").read_text()}
        literal: tuple[str, ...] = ()
    else:
        folder = folder / "confirmation" if kind == "optimize" else folder
        outputs = {
            "html": html_text(folder / "briefing.html"),
            "pdf": pdf_text(folder / "briefing.pdf"),
            "pptx": pptx_text(folder / "briefing.pptx"),
            "xlsx": xlsx_text(folder / "results.xlsx"),
        }
        run = RunData.load(folder)
        versions = tuple(f"{k} {v}" for k, v in (run.manifest.get("versions") or {}).items())
        literal = (command_line(run), *versions, str(run.manifest["scenario"].get("path", "")), run.path.name)
    outputs["charts"] = "\n".join(texts)
    return Rendered(kind, lang, outputs, vocabulary(folder), literal)


@pytest.fixture(scope="module", params=LANGS)
def rendered(request: pytest.FixtureRequest, folder: Callable[[str], Path], tmp_path_factory) -> list[Rendered]:
    lang = request.param
    base = tmp_path_factory.mktemp(f"rendered-{lang}")
    out = []
    for kind in COMMANDS:
        copy = base / kind
        shutil.copytree(folder(kind), copy)
        out.append(_render(copy, kind, lang))
    return out


def test_no_code_or_foreign_word_leaks(rendered: list[Rendered]):
    """Every output in its language: no leak beyond the listed ones of others' files, and every
    listed one still there (the list is exact)."""
    lang = rendered[0].lang
    found: dict[tuple[str, str, str], list[str]] = {}
    own = INDONESIAN_WORDS if lang == "id" else ENGLISH_WORDS
    for r in rendered:
        for output, text in r.texts.items():
            # the text was read: it has words of its own language (an empty extraction finds nothing)
            assert sum(t.lower() in own for t in TOKEN.findall(text)) >= 5, (r.kind, output)
            shortest = PDF_SHORTEST_WORD if output == "pdf" else 1
            for token, context in leaks(text, r.voc, lang, r.literal, shortest).items():
                found.setdefault((output, token, lang), []).append(f"{r.kind}: …{context}…")
    known = {k for k in KNOWN_LEAKS if k[2] == lang}
    new = {k: v for k, v in found.items() if k not in known}
    gone = known - set(found)
    report = "\n".join(f"{o} [{lang}] {tok!r}: {v[0]}" for (o, tok, lang), v in sorted(new.items()))
    assert not new, f"{len(new)} leaks:\n{report}"
    assert not gone, f"listed in KNOWN_LEAKS but no longer found (remove them): {sorted(gone)}"


# --- the label table -----------------------------------------------------------------------------


def test_every_code_of_the_model_has_words_in_both_languages():
    """Each code the model, the exercise and the runner write has its own words in the label
    table in both languages: never a code (no underscore), and in Indonesian never the code
    itself, which is English or a key (a code without words is shown as written, i.e. leaks).
    The one exception is the exercise's word "inject", said so in both languages."""
    kinds = {
        "outcome": [o.code for o in IncidentOutcome],
        "resolved_by": [r.code for r in ResolvedBy if r.code],
        "event": TIMELINE_EVENTS,
        "inject_kind": list(KINDS),
        "decision": list(DECISIONS),
        "phase": list(PHASES),
        "tps_class": list(TPS_CLASSES),
        "role": list(ROLES),
        "backend": [Serial.name, Processes.name, Dask.name],
        "dispatch_policy": list(POLICIES),
        "kpi": [*metrics.KPIS, *metrics.POOLED_KPIS, *OPTIMIZER_KPIS],
    }
    for kind, codes in kinds.items():
        for code in codes:
            for lang in LANGS:
                words = code_label(kind, code, lang)
                assert words and "_" not in words, (kind, code, lang)
                assert lang == "en" or words != code or code == "inject", (kind, code, lang)


def test_code_label_words_kutim_codes():
    """The scenario's own codes through the table: incident types by their labels, personnel kinds,
    and a swept key path by the post's name; unknown codes as written."""
    spec = load_scenario(KUTIM).spec
    assert code_label("incident_type", "politik_uang", "id", spec) == spec.incidents.types["politik_uang"].label_id
    assert code_label("incident_type", "politik_uang", "en", spec) == spec.incidents.types["politik_uang"].label_en
    assert code_label("force", "polda_bko", "id") == "BKO Polda"
    assert code_label("backend", "processes", "id") == "proses lokal"
    assert code_label("outcome", "resolved_on_site", "id") == "selesai di tempat"
    sgu = next(p.name for p in spec.sites.posts if p.id == "polsek-sgu")
    first = next(p.name for p in spec.sites.posts if p.id == spec.plans["mobile"].patrols[0].post)
    assert code_label("sweep_key", SWEEP_KEY, "id", spec) == f"mobile: unit patroli {sgu}"
    assert code_label("sweep_key", SWEEP_KEY, "en", spec) == f"mobile: patrols at {sgu}, units"
    assert code_label("sweep_key", "plans.mobile.patrols.0.units", "id", spec) == f"mobile: unit patroli {first}"
    assert (
        code_label("sweep_key", "plans.thin.tps_guards.rawan.officers", "id", spec)
        == "thin: personel penjaga TPS rawan"
    )
    assert code_label("force", "satpol_pp", "id") == "satpol_pp"  # a scenario's own kind, as written
    with pytest.raises(ValueError, match="no label kind"):
        code_label("colour", "red", "id")


# --- the verdict: a trade-off sentence whose figures are the tables' ----------------------------


def _id_number(x: float, decimals: int) -> str:
    """A number as Indonesian writes it, by hand: '.' between thousands, ',' before decimals."""
    whole, _, frac = f"{abs(x):,.{decimals}f}".partition(".")
    return ("-" if x < 0 else "") + whole.replace(",", ".") + (f",{frac}" if decimals else "")


def _guard_officers(folder: Path, plan: dict[str, Any]) -> dict[str, int]:
    """TPS guard officers per kind, by hand: per class and kecamatan, ceil(TPS / per_tps) clusters
    of ``officers`` each."""
    sites = pd.read_csv(folder / "sites.csv")
    tps = sites[sites["kind"] == "tps"]
    out: dict[str, int] = {}
    for cls, rule in plan["tps_guards"].items():
        per_kec = tps[tps["class"] == cls].groupby("kecamatan").size()
        n = int(sum(-(-int(c) // rule.get("per_tps", 1)) for c in per_kec)) * rule["officers"]
        out[rule.get("kind", "polri")] = out.get(rule.get("kind", "polri"), 0) + n
    return out


def _patrol_officers(plan: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for g in plan.get("patrols", []):
        kind = g.get("kind", "polri")
        out[kind] = out.get(kind, 0) + g.get("units", 1) * g.get("crew", 2)
    return out


@pytest.mark.parametrize("kind", ["compare", "run"])
def test_the_verdict_is_a_trade_off_with_the_tables_figures(folder: Callable[[str], Path], kind: str):
    """mobile against pemilu2024: the mean response and the share within target of summary.csv,
    the personnel moved from TPS guarding to patrols (counted by hand from the scenario and
    sites.csv), the peak of unguarded TPS, and for a compare the paired difference, interval and
    significance of comparison.csv; every figure also in the briefing's tables, rounded alike."""
    path = folder(kind)
    run = RunData.load(path)
    b = briefing_content(run, "id")
    sentence = next(s for s in b.verdict if s.startswith("mobile dibanding pemilu2024: "))
    summary = pd.read_csv(path / "summary.csv").set_index(["plan", "kpi"])["mean"]
    resp = [_id_number(summary[p, "response_mean_min"], 1) for p in ("pemilu2024", "mobile")]
    within = [f"{round(100 * summary[p, 'within_target'])}%" for p in ("pemilu2024", "mobile")]
    unguarded = [_id_number(summary[p, "peak_unguarded_tps"], 0) for p in ("pemilu2024", "mobile")]
    assert f"rata-rata waktu tanggap {resp[0]} → {resp[1]} menit" in sentence
    assert f"didatangi dalam target {within[0]} → {within[1]}" in sentence
    assert f"TPS tanpa penjaga saat puncak {unguarded[0]} → {unguarded[1]}" in sentence

    plans = yaml.safe_load(KUTIM.read_text())["plans"]
    guards = {p: _guard_officers(path, plans[p]) for p in ("pemilu2024", "mobile")}
    patrols = {p: _patrol_officers(plans[p]) for p in ("pemilu2024", "mobile")}
    off_guard = guards["pemilu2024"]["polri"] - guards["mobile"]["polri"]
    on_patrol = patrols["mobile"]["polri"] - patrols["pemilu2024"]["polri"]
    moved = min(off_guard, on_patrol)
    assert moved > 0
    assert f"{moved} Polri dipindah dari penjagaan TPS ke patroli" in sentence
    bko = patrols["mobile"].get("polda_bko", 0) - patrols["pemilu2024"].get("polda_bko", 0)
    assert f"{on_patrol - moved} Polri dan {bko} BKO Polda tambahan untuk patroli" in sentence

    rows = {r[0]: r[1:] for r in b.plans_table.rows}
    label = {k: next(r for r in rows if r.startswith(metrics.kpi(k).label_id)) for k in TRADE}
    for key, figures in zip(TRADE, (resp, within, unguarded), strict=True):
        cells = rows[label[key]]
        assert [c.split(" (")[0] for c in (cells[0], cells[1])] == figures, key  # pemilu2024, mobile columns
    personnel = rows[next(r for r in rows if r.startswith("Personel Polri"))]
    assert f"Polri {personnel[0].split(' / ')[0]} → {personnel[1].split(' / ')[0]} dari 413" in sentence

    if kind == "run":
        assert "Selisih antarrencana di sini tidak diuji berpasangan" in " ".join(b.verdict)
        assert "compare" not in " ".join(b.verdict)
        assert "(" not in sentence.split("menit")[1].split(";")[0]  # no paired interval without pairing
        return
    cmp = pd.read_csv(path / "comparison.csv")
    cmp = cmp[cmp["plan"] == "mobile"].set_index("kpi")
    d = cmp.loc["response_mean_min"]
    words = f"{_id_number(abs(d['difference']), 1)} menit lebih {'cepat' if d['difference'] < 0 else 'lambat'}"
    lo, hi = sorted((abs(d["ci_low"]), abs(d["ci_high"])))
    sig = "nyata" if str(d["significant"]) == "True" else "tidak nyata"
    assert f"({words}; selang kepercayaan 95% {_id_number(lo, 1)} s.d. {_id_number(hi, 1)}; {sig})" in sentence
    w = cmp.loc["within_target"]
    pp = [("+" if 100 * x > 0 else "") + _id_number(100 * x, 1) for x in (w["difference"], w["ci_low"], w["ci_high"])]
    sig = "nyata" if str(w["significant"]) == "True" else "tidak nyata"
    assert f"({pp[0]} poin persentase; selang kepercayaan 95% {pp[1]} s.d. {pp[2]}; {sig})" in sentence
    u = cmp.loc["peak_unguarded_tps"]
    decimals = 2 if abs(u["difference"]) < 10 else 1 if abs(u["difference"]) < 100 else 0
    signed = [("+" if x > 0 else "") + _id_number(x, decimals) for x in (u["difference"], u["ci_low"], u["ci_high"])]
    assert f"{unguarded[1]} ({signed[0]}; selang kepercayaan 95% {signed[1]} s.d. {signed[2]}; " in sentence
    table = {(r[0], r[1]): r[2:] for r in b.verdict_table.rows}  # the compare table: the same words
    assert table["mobile", "Puncak TPS tanpa penjaga"][:2] == [signed[0], f"{signed[1]} s.d. {signed[2]}"]
