"""The results as an Excel workbook for planners: the run's tables, typed and formatted, and a
first sheet that explains them.

Sheets are named in the chosen language (:data:`SHEETS`): ``BACA SAYA`` / ``README`` first (the
run: scenario, seed, replications, plans; then one or two lines per sheet with its units), then
the summary, the pooled percentiles, the comparison (compare runs), the KPIs per replication, the
kecamatan, the targets, the incident log, the unit log and the time series; the confirmation
folder of ``optimize`` adds its two tables last. A sheet longer than Excel's row limit goes on
in ``<name> (2)``.

Cells are typed as a spreadsheet user needs them:

- a moment (:data:`MOMENT_COLUMNS`, minutes from the scenario epoch in the tables) is an Excel
  date-time in the scenario's local time (naive: Excel has no time zones), shown
  ``dd/mm/yyyy hh:mm``, its header naming the zone (WITA); durations and targets stay minutes,
  and the CSV tables keep the minutes of every moment;
- a share (a KPI whose unit is a share, :data:`sim.metrics.SHARE_KPIS`) is the fraction with the
  percent format ``0.0%``: a column of shares, or the KPI-unit figures (:data:`KPI_UNIT_COLUMNS`)
  of a row whose KPI is a share;
- counts are whole numbers, identifiers have no thousands mark, other figures one decimal;
- codes (KPI keys, incident types, phases, outcomes, kinds of personnel, roles) are shown by their
  labels, units and posts by their names.

Every data sheet has its header row frozen, a filter on it and column widths from its content
(:data:`WIDTH_MIN_CHARS` to :data:`WIDTH_MAX_CHARS`).

Same run folder, same bytes: the document properties carry the run's finish time (the manifest's
``finished``), not the time of writing, and every part of the file that same time. Written under a
temporary name and renamed when complete (:func:`sim.report.documents.atomic`). Text cells are
neutralised against formulas by the CSV tables' rule (:func:`sim.textsafe.neutral_text`) and made
XML-safe (:func:`sim.report.documents.xml_text`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import metrics
from sim.report.content import TIMEZONE_NAMES, briefing_content, optimization_page
from sim.report.data import RunData, kecamatan_table
from sim.report.documents import atomic, xml_text
from sim.report.exercise import Names
from sim.report.i18n import Text, code_label, kpi_label, when
from sim.textsafe import neutral_text
from sim.timeparse import moment

XLSX_UNITS = {"min": (" (menit)", " [min]"), "h": (" (jam)", " [h]")}  # how a header gives a KPI's unit


def _kpi_headers(pooled: bool = False) -> dict[str, tuple[str, str]]:
    """KPI and pooled-percentile columns: their names from sim.metrics, with the unit; ``pooled``:
    over the incidents of all replications together (:func:`sim.report.i18n.kpi_label`)."""
    out = {}
    for key, k in {**metrics.KPIS, **metrics.POOLED_KPIS}.items():
        id_unit, en_unit = XLSX_UNITS.get(k.unit, ("", ""))
        names = (kpi_label(key, "id", unit=False, pooled=pooled), kpi_label(key, "en", unit=False, pooled=pooled))
        out[key] = (names[0] + id_unit, names[1] + en_unit)
    return out


# Header of every column the workbook has: (Bahasa Indonesia, English), with the unit; ``{zone}``
# is the scenario's time zone (WITA). KPI columns (the KPI sheet's, the kecamatan sheet's) are
# named by sim.metrics; the entries after them are log columns that share a KPI's key ("units").
XLSX_HEADERS: dict[str, tuple[str, str]] = {
    **_kpi_headers(),
    "point": ("Titik variasi", "Sweep point"),
    "replication": ("Replikasi (dari 0)", "Replication (from 0)"),
    "plan": ("Rencana", "Plan"),
    "incident_id": ("No. kejadian", "Incident no."),
    "type": ("Jenis kejadian", "Incident type"),
    "priority": ("Prioritas (1 = paling mendesak)", "Priority (1 = most urgent)"),
    "site_id": ("Lokasi (TPS / PPK / KPU)", "Site (TPS / PPK / KPU)"),
    "kecamatan": ("Kecamatan", "Kecamatan"),
    "phase": ("Tahap", "Phase"),
    "t_occur": ("Waktu kejadian ({zone})", "Occurred ({zone})"),
    "t_report": ("Waktu dilaporkan ({zone})", "Reported ({zone})"),
    "t_dispatch": ("Waktu unit dikirim ({zone})", "Unit sent ({zone})"),
    "t_arrive": ("Waktu unit tiba ({zone})", "Unit arrived ({zone})"),
    "t_clear": ("Waktu selesai ({zone})", "Cleared ({zone})"),
    "t_back": ("Waktu kembali di pos ({zone})", "Back at its post ({zone})"),
    "t": ("Waktu perubahan ({zone})", "Time of the change ({zone})"),
    "wait_min": (
        "Menunggu unit (menit; tidak pernah dikirim: sampai akhir simulasi)",
        "Wait for a unit [min; never sent: to the end of the simulation]",
    ),
    "travel_min": ("Waktu tempuh (menit)", "Travel [min]"),
    "travel_km": ("Jarak tempuh (km)", "Distance [km]"),
    "response_min": (
        "Waktu tanggap (menit; tidak didatangi: sampai akhir simulasi)",
        "Response time [min; not reached: to the end of the simulation]",
    ),
    "reached": ("Didatangi sebelum akhir simulasi", "Reached before the end of the simulation"),
    "within_target": ("Didatangi dalam target", "Reached within target"),
    "units": ("Unit yang dikirim", "Units sent"),
    "resolved_by": ("Diselesaikan oleh", "Resolved by"),
    "escalated": ("Eskalasi", "Escalated"),
    "outcome": ("Hasil", "Outcome"),
    "unit_id": ("Unit", "Unit"),
    "role": ("Peran unit", "Role of the unit"),
    "post": ("Pos asal unit", "The unit's post"),
    "retasked": ("Dialihkan saat kembali ke pos", "Sent while returning to its post"),
    "busy_min": (
        "Waktu sibuk (menit; belum selesai: sampai akhir simulasi)",
        "Busy [min; not cleared: to the end of the simulation]",
    ),
    "busy_units": ("Unit sibuk", "Busy units"),
    "open_incidents": ("Kejadian terbuka (dilaporkan, belum selesai)", "Open incidents (reported, not cleared)"),
    "unguarded_tps": ("TPS tanpa penjaga", "Unguarded TPS"),
    "kpi": ("Indikator (KPI)", "Indicator (KPI)"),
    "quantile": ("Persentil (q)", "Percentile (q)"),
    "n_incidents": ("Kejadian perlu unit (semua replikasi)", "Incidents needing a unit (all replications)"),
    "replications": ("Replikasi", "Replications"),
    "n": ("Jumlah replikasi (n)", "Replications (n)"),
    "mean": ("Rata-rata (satuan KPI)", "Mean [KPI unit]"),
    "sd": ("Simpangan baku (satuan KPI)", "Standard deviation [KPI unit]"),
    "ci_low": ("Batas bawah selang kepercayaan 95% (satuan KPI)", "95% CI low [KPI unit]"),
    "ci_high": ("Batas atas selang kepercayaan 95% (satuan KPI)", "95% CI high [KPI unit]"),
    "baseline": ("Rencana acuan", "Baseline plan"),
    "plan_mean": ("Rata-rata rencana (satuan KPI)", "Plan mean [KPI unit]"),
    "baseline_mean": ("Rata-rata rencana acuan (satuan KPI)", "Baseline mean [KPI unit]"),
    "difference": ("Selisih rencana - rencana acuan (satuan KPI)", "Difference plan - baseline [KPI unit]"),
    "significant": ("Nyata (selang kepercayaan 95% tidak mencakup 0)", "Significant (95% CI excludes 0)"),
    "reference_point": ("Titik acuan", "Reference point"),
    "point_mean": ("Rata-rata titik (satuan KPI)", "Point mean [KPI unit]"),
    "reference_mean": ("Rata-rata titik acuan (satuan KPI)", "Reference point mean [KPI unit]"),
    "target_group": ("Kelompok target", "Target group"),
    "target_min": ("Target (menit)", "Target [min]"),
    "target_p1_min": ("Target prioritas 1 (menit)", "Priority 1 target [min]"),
    # the kecamatan sheet's counts are totals over all replications, not a KPI's mean per replication
    "n_dispatched": ("Kejadian perlu unit (semua replikasi)", "Incidents needing a unit (all replications)"),
    "n_dispatched_p1": (
        "Kejadian prioritas 1 perlu unit (semua replikasi)",
        "Priority 1 incidents needing a unit (all replications)",
    ),
}

# Headers of the optimizer's two sheets, ``{start}`` and ``{rec}`` the plans' names.
OPTIMIZATION_HEADERS: dict[str, tuple[str, str]] = {
    "place": ("Tempat", "Where"),
    "what": ("Yang diubah", "What"),
    "kind": ("Jenis personel", "Kind of personnel"),
    "start": ("Nilai di rencana awal ({start})", "Value in the start plan ({start})"),
    "recommended": ("Nilai di rencana rekomendasi ({rec})", "Value in the recommended plan ({rec})"),
    "officers_start": ("Personel di rencana awal ({start})", "Personnel in the start plan ({start})"),
    "officers_recommended": ("Personel di rencana rekomendasi ({rec})", "Personnel in the recommended plan ({rec})"),
    "officers_delta": ("Selisih personel ({rec} - {start})", "Personnel difference ({rec} - {start})"),
    "group_label": ("Kelompok target", "Target group"),
    "direction": ("Arah (≥ paling sedikit, ≤ paling banyak)", "Direction (≥ at least, ≤ at most)"),
    "threshold": ("Ambang target (satuan KPI)", "Threshold [KPI unit]"),
    "start_estimate": ("Perkiraan {start} (satuan KPI)", "Estimate {start} [KPI unit]"),
    "start_lo": ("Batas bawah selang kepercayaan 95% {start}", "95% CI low {start}"),
    "start_hi": ("Batas atas selang kepercayaan 95% {start}", "95% CI high {start}"),
    "rec_estimate": ("Perkiraan {rec} (satuan KPI)", "Estimate {rec} [KPI unit]"),
    "rec_lo": ("Batas bawah selang kepercayaan 95% {rec}", "95% CI low {rec}"),
    "rec_hi": ("Batas atas selang kepercayaan 95% {rec}", "95% CI high {rec}"),
    "diff": ("Selisih {rec} - {start} (berpasangan, satuan KPI)", "Difference {rec} - {start} (paired) [KPI unit]"),
    "diff_lo": ("Batas bawah selang kepercayaan 95% selisih", "Difference 95% CI low"),
    "diff_hi": ("Batas atas selang kepercayaan 95% selisih", "Difference 95% CI high"),
    "start_met": ("{start} memenuhi target", "{start} meets the target"),
    "rec_met": ("{rec} memenuhi target", "{rec} meets the target"),
    "incidents": (
        "Kejadian dinilai ({rec}, semua replikasi konfirmasi)",
        "Incidents judged ({rec}, all confirmation replications)",
    ),
}

# The sweep comparison's difference is a point's from the reference point's.
SWEEP_COMPARISON_HEADERS = {
    "difference": ("Selisih titik - titik acuan (satuan KPI)", "Difference point - reference point [KPI unit]")
}

# Columns holding a moment, minutes from the scenario epoch in the tables (sim.records).
MOMENT_COLUMNS = frozenset({"t_occur", "t_report", "t_dispatch", "t_arrive", "t_clear", "t_back", "t"})
# Columns in the unit of their row's KPI (long tables with a ``kpi`` column): percentages on a
# share's row.
KPI_UNIT_COLUMNS = frozenset(
    {"mean", "sd", "ci_low", "ci_high", "plan_mean", "baseline_mean", "point_mean", "reference_mean", "difference"}
    | {"threshold"}
    | {f"{p}_{s}" for p in ("start", "rec") for s in ("estimate", "lo", "hi")}
    | {"diff", "diff_lo", "diff_hi"}
)
# Whole-number columns that number things rather than count them: no thousands mark.
ID_COLUMNS = frozenset({"point", "reference_point", "replication", "incident_id", "priority", "quantile"})
# Text columns holding a code, and the kind of label (sim.report.i18n.code_label) that words it.
CODE_KINDS = {
    "type": "incident_type",
    "phase": "phase",
    "resolved_by": "resolved_by",
    "outcome": "outcome",
    "role": "role",
    "kind": "force",
}
DIRECTION_SIGNS = {"at_least": "≥", "at_most": "≤"}  # as the briefing writes a constraint

MOMENT_FORMAT = "dd/mm/yyyy hh:mm"
PERCENT_FORMAT = "0.0%"
DECIMAL_FORMAT = "#,##0.0"
WHOLE_FORMAT = "#,##0"
ID_FORMAT = "0"
MOMENT_CHARS = len("26/11/2024 08:37")

WIDTH_MIN_CHARS, WIDTH_MAX_CHARS = 8.0, 50.0  # column widths [characters of the default font]
HEADER_LINES = 3  # a header wraps onto at most this many lines (HEADER_HEIGHT_PT)
HEADER_HEIGHT_PT = 45
LINE_HEIGHT_PT = 15  # a line of the default 11 pt font
README_WIDTHS_CHARS = (30.0, 90.0, 45.0)  # the README sheet's columns: what, text, units
EXCEL_MAX_ROWS = 1_048_576
safe_cell_text = neutral_text  # the CSV tables' rule (sim.textsafe), under the name the tests know

# Sheet names (Excel: at most 31 characters), in the order of the workbook.
SHEETS: dict[str, tuple[str, str]] = {
    "readme": ("BACA SAYA", "README"),
    "summary": ("Ringkasan", "Summary"),
    "percentiles": ("Persentil gabungan", "Pooled percentiles"),
    "comparison": ("Perbandingan rencana", "Plan comparison"),
    "sweep_comparison": ("Perbandingan titik", "Point comparison"),
    "kpis": ("KPI per replikasi", "KPIs per replication"),
    "kecamatan": ("Kecamatan", "Kecamatan"),
    "targets": ("Target waktu tanggap", "Response targets"),
    "incidents": ("Daftar kejadian", "Incident log"),
    "units": ("Penugasan unit", "Unit log"),
    "timeseries": ("Deret waktu", "Time series"),
    "optimization_changes": ("Optimasi - perubahan", "Optimisation - changes"),
    "optimization_groups": ("Optimasi - target", "Optimisation - targets"),
}

# What each sheet holds and its units, for the README sheet: (what, units) per language; ``{zone}``
# the time zone, ``{baseline}`` the baseline plan.
SHEET_NOTES: dict[str, dict[str, tuple[str, str]]] = {
    "summary": {
        "id": (
            "Satu baris per rencana dan indikator (KPI): rata-rata atas replikasi, simpangan baku dan "
            "selang kepercayaan 95%.",
            "Satuan indikator di baris itu: proporsi dalam %, waktu dalam menit atau jam, atau jumlah.",
        ),
        "en": (
            "One row per plan and indicator (KPI): mean over the replications, standard deviation and "
            "95% confidence interval.",
            "The unit of the row's indicator: shares in %, times in minutes or hours, or counts.",
        ),
    },
    "percentiles": {
        "id": (
            "Persentil waktu tanggap (p50, p90, p95) atas kejadian yang perlu unit dari semua replikasi "
            "digabung, dengan selang kepercayaan 95%.",
            "Menit.",
        ),
        "en": (
            "Response-time percentiles (p50, p90, p95) over the incidents needing a unit of all "
            "replications together, with 95% confidence intervals.",
            "Minutes.",
        ),
    },
    "comparison": {
        "id": (
            "Selisih berpasangan tiap rencana terhadap rencana acuan {baseline}, per indikator, pada hari "
            "simulasi yang sama; nyata bila selang kepercayaan 95% tidak mencakup 0.",
            "Satuan indikator di baris itu (selisih proporsi dalam poin persentase).",
        ),
        "en": (
            "Paired difference of each plan from the baseline plan {baseline}, per indicator, on the same "
            "simulated days; significant when the 95% confidence interval excludes 0.",
            "The unit of the row's indicator (differences of shares in percentage points).",
        ),
    },
    "sweep_comparison": {
        "id": (
            "Selisih berpasangan tiap titik variasi terhadap titik acuan, per rencana dan indikator, pada "
            "hari simulasi yang sama; nyata bila selang kepercayaan 95% tidak mencakup 0.",
            "Satuan indikator di baris itu (selisih proporsi dalam poin persentase).",
        ),
        "en": (
            "Paired difference of each sweep point from the reference point, per plan and indicator, on "
            "the same simulated days; significant when the 95% confidence interval excludes 0.",
            "The unit of the row's indicator (differences of shares in percentage points).",
        ),
    },
    "kpis": {
        "id": ("Nilai setiap indikator pada setiap replikasi dan rencana.", "Proporsi dalam %, menit, jam, jumlah."),
        "en": ("Every indicator's value in every replication and plan.", "Shares in %, minutes, hours, counts."),
    },
    "kecamatan": {
        "id": (
            "Per rencana dan kecamatan: kejadian yang perlu unit dan waktu tanggapnya, atas semua "
            "kejadian dari semua replikasi digabung.",
            "Jumlah kejadian; proporsi dalam %; menit.",
        ),
        "en": (
            "Per plan and kecamatan: incidents needing a unit and their response, over all incidents of "
            "all replications together.",
            "Counts of incidents; shares in %; minutes.",
        ),
    },
    "targets": {
        "id": ("Target waktu tanggap per kecamatan dan prioritas kejadian, dari skenario.", "Menit."),
        "en": ("Response-time target per kecamatan and incident priority, from the scenario.", "Minutes."),
    },
    "incidents": {
        "id": (
            "Setiap kejadian di setiap replikasi: jenis, lokasi, tahap, kapan terjadi, dilaporkan, unit "
            "dikirim, tiba dan selesai, lama menunggu dan waktu tanggap, hasilnya.",
            "Waktu: tanggal dan jam {zone}; lama dalam menit.",
        ),
        "en": (
            "Every incident of every replication: type, site, phase, when it occurred, was reported, a "
            "unit was sent, arrived and it cleared, the wait and the response, the outcome.",
            "Times: date and clock time {zone}; durations in minutes.",
        ),
    },
    "units": {
        "id": (
            "Setiap pengiriman unit: unit, pos asal, kejadian, kapan dikirim, tiba, selesai dan kembali "
            "di pos, jarak dan waktu tempuh.",
            "Waktu: tanggal dan jam {zone}; lama dalam menit; jarak dalam km.",
        ),
        "en": (
            "Every unit sent: the unit, its post, the incident, when it was sent, arrived, cleared and was "
            "back at its post, distance and travel time.",
            "Times: date and clock time {zone}; durations in minutes; distances in km.",
        ),
    },
    "timeseries": {
        "id": (
            "Setiap perubahan keadaan per replikasi: unit sibuk, kejadian terbuka, TPS tanpa penjaga; "
            "nilai berlaku sampai baris berikutnya.",
            "Waktu: tanggal dan jam {zone}; jumlah.",
        ),
        "en": (
            "Every change of state per replication: busy units, open incidents, unguarded TPS; each "
            "value holds until the next row.",
            "Times: date and clock time {zone}; counts.",
        ),
    },
    "optimization_changes": {
        "id": (
            "Nilai rencana yang diubah optimasi, dari rencana awal ke rencana rekomendasi, dan personel yang dipindah.",
            "Nilai rencana; jumlah personel.",
        ),
        "en": (
            "The plan values the optimisation changed, from the start plan to the recommended plan, and "
            "the personnel moved.",
            "Plan values; counts of personnel.",
        ),
    },
    "optimization_groups": {
        "id": (
            "Per kelompok target dan batasan: perkiraan rencana awal dan rekomendasi dengan selang "
            "kepercayaan 95%, selisih berpasangan, dan apakah target terpenuhi.",
            "Satuan indikator di baris itu: proporsi dalam %.",
        ),
        "en": (
            "Per target group and constraint: the start and recommended plans' estimates with 95% "
            "confidence intervals, the paired difference and whether the target is met.",
            "The unit of the row's indicator: shares in %.",
        ),
    },
}

README_WORDS: dict[str, dict[str, str]] = {
    "title": {"id": "Hasil simulasi: {title}", "en": "Simulation results: {title}"},
    "run": {"id": "Tentang hasil ini", "en": "About these results"},
    "plans": {"id": "Rencana", "en": "Plans"},
    "sheets": {"id": "Lembar kerja", "en": "Sheets"},
    "sheet": {"id": "Lembar", "en": "Sheet"},
    "holds": {"id": "Isi", "en": "What it holds"},
    "units": {"id": "Satuan", "en": "Units"},
    "continued": {"id": "Lanjutan {sheet} (batas baris Excel).", "en": "{sheet} continued (Excel's row limit)."},
    "notes": {"id": "Satuan dan format", "en": "Units and formats"},
    "note_times": {
        "id": "Waktu ditulis sebagai tanggal dan jam {zone} ({tz}); jam model mulai {epoch}.",
        "en": "Times are dates and clock times in {zone} ({tz}); the model clock starts {epoch}.",
    },
    "note_minutes": {
        "id": "Lama (menunggu, tempuh, tanggap, sibuk) dan target dalam menit.",
        "en": "Durations (wait, travel, response, busy) and targets are in minutes.",
    },
    "note_shares": {
        "id": "Proporsi ditampilkan dalam persen; nilai selnya pecahan 0 sampai 1 (85,0% = 0,85).",
        "en": "Shares are shown as percentages; the cell holds the fraction 0 to 1 (85.0% = 0.85).",
    },
    "note_replications": {
        "id": "Replikasi dinomori dari 0; setiap replikasi adalah satu hari simulasi, sama untuk setiap rencana.",
        "en": "Replications are numbered from 0; each is one simulated day, the same for every plan.",
    },
    "note_csv": {
        "id": "Tabel CSV hasil simulasi memuat data yang sama dengan kode dan waktu dalam menit sejak awal jam model.",
        "en": "The CSV tables in the results folder hold the same data with codes and times in minutes from "
        "the model clock's start.",
    },
}


@dataclass(frozen=True)
class _Sheet:
    """A data sheet to write: its key in :data:`SHEETS`, the table (the saved table's codes and
    minutes), headers replacing XLSX_HEADERS, and per row whether its KPI is a share."""

    key: str
    frame: pd.DataFrame
    headers: dict[str, tuple[str, str]]
    share_rows: np.ndarray | None = None


def sheet_name(key: str, lang: str) -> str:
    """A sheet's name in ``lang`` (its first part's, when it is split)."""
    return SHEETS[key][0 if lang == "id" else 1]


def _part_names(sheet: _Sheet, lang: str) -> list[str]:
    parts = max(1, math.ceil(len(sheet.frame) / (EXCEL_MAX_ROWS - 1)))
    name = sheet_name(sheet.key, lang)
    return [name] + [f"{name} ({k + 1})" for k in range(1, parts)]


def _zone(run: RunData) -> str:
    """The scenario's time zone as people say it (WITA), as the briefing names it."""
    return TIMEZONE_NAMES.get(run.spec.timezone, run.spec.timezone)


def _xlsx_text(value: str) -> str:
    """A text cell of the workbook: neutralised as in the CSV tables, then XML-safe."""
    return xml_text(neutral_text(value))


def _header(run: RunData, col: str, lang: str, headers: dict[str, tuple[str, str]]) -> str:
    pair = headers.get(col, XLSX_HEADERS.get(col))
    if pair is None:  # a swept key, in words
        return _xlsx_text(code_label("sweep_key", col, lang, run.spec))
    return pair[0 if lang == "id" else 1].format(zone=_zone(run))


# --- cell values and formats ---------------------------------------------------------------------


def _swept_keys(run: RunData) -> set[str]:
    """A sweep's varied keys (columns of its tables); none otherwise."""
    grid = run.manifest.get("grid") or [{"values": {}}]
    return set(grid[0]["values"])


def _moments(run: RunData, minutes: pd.Series) -> list[dt.datetime | None]:
    """Minutes from the epoch as local date-times (the epoch is local: sim.timeparse)."""
    return [None if pd.isna(m) else moment(run.epoch, m) for m in minutes]


def _label(run: RunData, col: str, code: str, lang: str, names: Names) -> str:
    """A cell's text in words: a code by its label (:data:`CODE_KINDS`; a KPI with its unit), a
    unit and a post by the names the exercise review gives them ('Patroli Polsek Bengalon-1'),
    any other text as written."""
    if col == "kpi":
        return kpi_label(code, lang)
    if col == "unit_id":
        return names.unit(code, Text(lang))
    if col == "units":  # the units sent, ';'-separated
        return "; ".join(names.unit(u, Text(lang)) for u in code.split(";"))
    if col == "post":
        return names.post_name.get(code, code)
    if col in CODE_KINDS:
        return code_label(CODE_KINDS[col], code, lang, run.spec)
    return code


def _texts(run: RunData, col: str, values: pd.Series, lang: str) -> list[str | None]:
    """A text column's cells, in words and neutralised."""
    names = Names.of(run.sites)
    words = {v: _xlsx_text(_label(run, col, str(v), lang, names)) for v in pd.unique(values.dropna())}
    return [None if pd.isna(v) else words[v] for v in values]


def _column(run: RunData, sheet: _Sheet, col: str, lang: str) -> tuple[list[Any], str | list[str] | None]:
    """A column's cell values and its number format (one per row where rows differ in unit)."""
    s = sheet.frame[col]
    if col in _swept_keys(run) and pd.api.types.is_numeric_dtype(s.dtype):  # a scenario value, as the sweep wrote it
        return [None if pd.isna(v) else v for v in s.tolist()], None
    if col in MOMENT_COLUMNS and pd.api.types.is_numeric_dtype(s.dtype):
        return _moments(run, s), MOMENT_FORMAT
    if pd.api.types.is_bool_dtype(s.dtype):
        return [None if pd.isna(v) else bool(v) for v in s], None
    if pd.api.types.is_integer_dtype(s.dtype):
        return [None if pd.isna(v) else int(v) for v in s], ID_FORMAT if col in ID_COLUMNS else WHOLE_FORMAT
    if pd.api.types.is_float_dtype(s.dtype):
        values = [None if not math.isfinite(v) else float(v) for v in s.to_numpy(dtype=float)]
        if col in metrics.SHARE_KPIS:
            return values, PERCENT_FORMAT
        if sheet.share_rows is not None and col in KPI_UNIT_COLUMNS:
            return values, [PERCENT_FORMAT if share else DECIMAL_FORMAT for share in sheet.share_rows]
        return values, DECIMAL_FORMAT
    return _texts(run, col, s, lang), None


def _shown_chars(value: Any, fmt: str | None) -> int:
    """About how many characters a cell shows."""
    if fmt == MOMENT_FORMAT:
        return MOMENT_CHARS
    if fmt == PERCENT_FORMAT:
        return len(f"{value:.1%}")
    if fmt == DECIMAL_FORMAT:
        return len(f"{value:,.1f}")
    if fmt == WHOLE_FORMAT:
        return len(f"{value:,.0f}")
    return len(str(value))


def _width(header: str, values: Sequence[Any], fmt: str | list[str] | None) -> float:
    """A column's width [characters]: its widest cell, and enough for the header on
    :data:`HEADER_LINES` lines, within the bounds."""
    formats = sorted(set(fmt)) if isinstance(fmt, list) else [fmt]
    present = [v for v in values if v is not None]
    if present and isinstance(present[0], int | float) and not isinstance(present[0], bool):
        present = [min(present), max(present)]  # the widest number is one of the extremes
    else:
        present = list(dict.fromkeys(present))
    widest = max((_shown_chars(v, f) for v in present for f in formats), default=0)
    longest_word = max((len(w) for w in header.split()), default=0)
    need = max(widest + 2, longest_word + 2, math.ceil(len(header) / HEADER_LINES) + 3)
    return max(WIDTH_MIN_CHARS, min(WIDTH_MAX_CHARS, float(need)))


# --- writing -------------------------------------------------------------------------------------


def _write_sheet(wb: Any, run: RunData, sheet: _Sheet, lang: str) -> None:
    """One data sheet (split at Excel's row limit): header row styled, frozen and filtered."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    cols = [str(c) for c in sheet.frame.columns]
    names = [_header(run, c, lang, sheet.headers) for c in cols]
    columns = [_column(run, sheet, c, lang) for c in cols]
    widths = [_width(h, values, fmt) for h, (values, fmt) in zip(names, columns, strict=True)]
    chunk = EXCEL_MAX_ROWS - 1
    for k, part_name in enumerate(_part_names(sheet, lang)):
        ws = wb.create_sheet(part_name)
        ws.freeze_panes = "A2"
        for j, width in enumerate(widths):
            ws.column_dimensions[get_column_letter(j + 1)].width = width
        ws.row_dimensions[1].height = HEADER_HEIGHT_PT
        head = []
        for h in names:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="16324F")
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            head.append(cell)
        ws.append(head)
        # one styled cell per column and format, given each row's value: a write-only sheet writes
        # a row out when it is appended, so the cell is free again for the next row
        styled: list[dict[str, Any]] = [{} for _ in cols]
        rows = range(k * chunk, min((k + 1) * chunk, len(sheet.frame)))
        for i in rows:
            cells: list[Any] = []
            for (values, fmt), formats in zip(columns, styled, strict=True):
                v, f = values[i], fmt[i] if isinstance(fmt, list) else fmt
                if v is None or f is None:
                    cells.append(v)  # text never starts with '=' here (neutral_text): never a formula
                    continue
                if f not in formats:
                    formats[f] = WriteOnlyCell(ws)
                    formats[f].number_format = f
                formats[f].value = v
                cells.append(formats[f])
            ws.append(cells)
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(cols), 1))}{len(rows) + 1}"


def _write_readme(wb: Any, run: RunData, sheets: list[_Sheet], lang: str) -> None:
    """The first sheet: what the run is (the briefing's 'how the run was made'), the plans, then
    every sheet of the workbook with what it holds and its units, then the units and formats."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    words = {k: v[lang] for k, v in README_WORDS.items()}
    zone = _zone(run)
    content = briefing_content(run, lang)
    ws = wb.create_sheet(sheet_name("readme", lang))
    for j, width in enumerate(README_WIDTHS_CHARS):
        ws.column_dimensions["ABC"[j]].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    row = 0

    def line(*values: str, bold: bool = False, size: float | None = None) -> None:
        """One row; a row of several cells wraps them in their columns (and is as high as its
        longest), a single text runs on across the empty columns."""
        nonlocal row
        row += 1
        cells = []
        for v in values:
            cell = WriteOnlyCell(ws, value=_xlsx_text(v))
            if len(values) > 1:
                cell.alignment = wrap
            if bold or size:
                cell.font = Font(bold=bold, size=size)
            cells.append(cell)
        lines = max((math.ceil(len(v) / w) for v, w in zip(values, README_WIDTHS_CHARS, strict=False)), default=1)
        if len(values) > 1 and lines > 1:
            ws.row_dimensions[row].height = lines * LINE_HEIGHT_PT
        ws.append(cells)

    line(words["title"].format(title=content.title), bold=True, size=14)
    line(content.subtitle)
    line()  # a blank row
    line(words["run"], bold=True)
    for label, value in content.run_info:
        line(label, value)
    line()  # a blank row
    line(words["plans"], bold=True)
    for plan in content.plans:
        line(plan.name, plan.description)
    line()  # a blank row
    line(words["sheets"], bold=True)
    line(words["sheet"], words["holds"], words["units"], bold=True)
    for sheet in sheets:
        holds, units = SHEET_NOTES[sheet.key][lang]
        first, *more = _part_names(sheet, lang)
        line(first, holds.format(baseline=run.baseline or ""), units.format(zone=zone))
        for name in more:
            line(name, words["continued"].format(sheet=first), units.format(zone=zone))
    line()  # a blank row
    line(words["notes"], bold=True)
    epoch = f"{when(run.epoch, 0.0, lang)} {zone}"
    for key in ("note_times", "note_minutes", "note_shares", "note_replications", "note_csv"):
        line(words[key].format(zone=zone, tz=run.spec.timezone, epoch=epoch))


# --- the sheets ----------------------------------------------------------------------------------


def _kpi_rows(df: pd.DataFrame) -> np.ndarray:
    """Per row of a table with a ``kpi`` column: its KPI is a share."""
    return df["kpi"].isin(metrics.SHARE_KPIS).to_numpy()


def _long(key: str, df: pd.DataFrame, headers: dict[str, tuple[str, str]] | None = None) -> _Sheet:
    """A sheet of one row per KPI: its figures in the row's KPI unit."""
    return _Sheet(key, df, headers or {}, _kpi_rows(df))


def _pooled_sheet(pct: pd.DataFrame) -> pd.DataFrame:
    """percentiles.csv with the KPI of each row (``response_pooled_p90_min``, shown by its name)."""
    out = pct.copy()
    out.insert(list(out.columns).index("quantile"), "kpi", [f"response_pooled_p{int(q)}_min" for q in pct["quantile"]])
    return out


def _kecamatan_sheet(run: RunData) -> _Sheet:
    kec = kecamatan_table(run).rename(columns={"dispatched": "n_dispatched", "dispatched_p1": "n_dispatched_p1"})
    kec = kec.astype({"n_dispatched": "int64", "n_dispatched_p1": "int64"}).round(4)
    pooled = _kpi_headers(pooled=True)  # a kecamatan's figures are over all its incidents, not per-day means
    return _Sheet("kecamatan", kec, {c: pooled[c] for c in kec.columns if c in pooled})


def _optimization_sheets(run: RunData, lang: str) -> list[_Sheet]:
    """The optimizer's two tables, each row worded as the briefing words it (where, what, which
    target group) in place of its codes."""
    opt, page = run.optimization, optimization_page(run, lang)
    assert opt is not None and page is not None
    plans = {"start": _xlsx_text(opt.record.start_plan), "rec": _xlsx_text(opt.record.recommended_plan)}
    headers = {c: (i.format(**plans), e.format(**plans)) for c, (i, e) in OPTIMIZATION_HEADERS.items()}
    changes = opt.changes.drop(columns=["key", "section", "where"])
    changes.insert(0, "place", [r[0] for r in page.changes_table.rows])
    changes.insert(1, "what", [r[1] for r in page.changes_table.rows])
    changes = changes.astype({c: "int64" for c in ("officers_start", "officers_recommended", "officers_delta")})
    groups = opt.groups.drop(columns=["group"])
    groups.insert(0, "group_label", [r[0] for r in page.evidence.rows])
    groups["direction"] = groups["direction"].map(DIRECTION_SIGNS)
    groups = groups.astype({"incidents": "int64"})
    return [
        _Sheet("optimization_changes", changes, headers),
        _Sheet("optimization_groups", groups, headers, _kpi_rows(groups)),
    ]


def _data_sheets(run: RunData, lang: str) -> list[_Sheet]:
    """The data sheets of ``results.xlsx``, in order (the README sheet comes before them)."""
    sheets = [_long("summary", run.summary), _Sheet("percentiles", _pooled_sheet(run.percentiles), {})]
    if run.comparison is not None:
        sheets.append(_long("comparison", run.comparison))
    if run.sweep_comparison is not None:
        sheets.append(_long("sweep_comparison", run.sweep_comparison, SWEEP_COMPARISON_HEADERS))
    sheets += [
        _Sheet("kpis", run.kpis, _kpi_headers()),  # its "units" and "reached" are the KPIs, not the logs' columns
        _kecamatan_sheet(run),
        _Sheet("targets", run.targets, {}),
        _Sheet("incidents", run.incidents, {}),
        _Sheet("units", run.units, {}),
        _Sheet("timeseries", run.timeseries, {}),
    ]
    if run.optimization is not None:
        sheets += _optimization_sheets(run, lang)
    return sheets


# --- the file --------------------------------------------------------------------------------------


def _finished(run: RunData) -> dt.datetime | None:
    """When the run finished, in UTC without a zone (as the document properties hold it); None
    when the manifest does not say."""
    try:
        finished = dt.datetime.fromisoformat(str(run.manifest.get("finished")))
    except ValueError:
        return None
    return finished.astimezone(dt.UTC).replace(tzinfo=None) if finished.tzinfo else finished


ZIP_EARLIEST = dt.datetime(1980, 1, 1)  # a zip entry's time cannot be earlier


def _save(wb: Any, run: RunData, out: Path) -> None:
    """Save with the run's finish time in the properties and on every part: no time of writing."""
    from openpyxl.writer.excel import ExcelWriter

    finished = _finished(run)
    wb.properties.created = wb.properties.modified = finished
    wb.properties.creator = f"pilkada-sim {run.manifest.get('versions', {}).get('sim', '')}".strip()
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    stamp = max(finished or ZIP_EARLIEST, ZIP_EARLIEST).timetuple()[:6]
    with (
        atomic(out) as tmp,
        zipfile.ZipFile(buffer) as written,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as fixed,
    ):
        for info in written.infolist():
            fixed.writestr(zipfile.ZipInfo(info.filename, stamp), written.read(info), zipfile.ZIP_DEFLATED)


def write_xlsx(run: RunData, lang: str, out: Path) -> Path:
    """``results.xlsx`` in ``lang``: the README sheet, then the data sheets (:func:`_data_sheets`)."""
    from openpyxl import Workbook

    sheets = _data_sheets(run, lang)
    wb = Workbook(write_only=True)
    _write_readme(wb, run, sheets, lang)
    for sheet in sheets:
        _write_sheet(wb, run, sheet, lang)
    _save(wb, run, out)
    return Path(out)
