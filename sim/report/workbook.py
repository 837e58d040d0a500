"""The results as an Excel workbook: the run's tables with translated headers.

``write_xlsx`` copies the saved tables (one sheet each) with headers in the chosen language; a
confirmation folder of ``optimize`` adds its two tables as the last sheets. Written under a
temporary name and renamed when complete (:func:`sim.report.documents.atomic`). Text cells are
neutralised against formulas by the CSV tables' rule (:func:`sim.textsafe.neutral_text`) and made
XML-safe (:func:`sim.report.documents.xml_text`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim import metrics
from sim.report.content import optimization_page
from sim.report.data import RunData, kecamatan_table
from sim.report.documents import atomic, xml_text
from sim.report.i18n import kpi_label
from sim.textsafe import neutral_text

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


# Header of every column the workbook has: (Bahasa Indonesia, English), with the unit. KPI columns
# (the kecamatan sheet's, the incident predicates reached and within_target) are named by
# sim.metrics; the entries after them are incident-log columns that share a KPI's key ("units").
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
    "t_occur": ("Waktu kejadian (menit sejak awal)", "Occurred [min from epoch]"),
    "t_report": ("Waktu dilaporkan (menit sejak awal)", "Reported [min from epoch]"),
    "t_dispatch": ("Waktu unit dikirim (menit sejak awal)", "Unit sent [min from epoch]"),
    "t_arrive": ("Waktu unit tiba (menit sejak awal)", "Unit arrived [min from epoch]"),
    "t_clear": ("Waktu selesai (menit sejak awal)", "Cleared [min from epoch]"),
    "wait_min": (
        "Menunggu unit (menit; tidak pernah dikirim: sampai akhir simulasi)",
        "Wait for a unit [min; never sent: to the end of the simulation]",
    ),
    "travel_min": ("Waktu tempuh (menit)", "Travel [min]"),
    "response_min": (
        "Waktu tanggap (menit; tidak didatangi: sampai akhir simulasi)",
        "Response time [min; not reached: to the end of the simulation]",
    ),
    "units": ("Unit yang dikirim", "Units sent"),
    "resolved_by": ("Diselesaikan oleh", "Resolved by"),
    "escalated": ("Eskalasi", "Escalated"),
    "outcome": ("Hasil", "Outcome"),
    "kpi": ("Indikator (KPI)", "KPI"),
    "kpi_label": ("Nama indikator", "Indicator"),
    "quantile": ("Persentil (q)", "Percentile (q)"),
    "n_incidents": ("Kejadian perlu unit (semua replikasi)", "Incidents needing a unit (all replications)"),
    "replications": ("Replikasi", "Replications"),
    "n": ("Jumlah replikasi (n)", "Replications (n)"),
    "mean": ("Rata-rata (satuan KPI)", "Mean [KPI unit]"),
    "sd": ("Simpangan baku (satuan KPI)", "Standard deviation [KPI unit]"),
    "ci_low": ("Batas bawah SK 95% (satuan KPI)", "95% CI low [KPI unit]"),
    "ci_high": ("Batas atas SK 95% (satuan KPI)", "95% CI high [KPI unit]"),
    "baseline": ("Baseline", "Baseline"),
    "plan_mean": ("Rata-rata rencana (satuan KPI)", "Plan mean [KPI unit]"),
    "baseline_mean": ("Rata-rata baseline (satuan KPI)", "Baseline mean [KPI unit]"),
    "difference": ("Selisih rencana - baseline (satuan KPI)", "Difference plan - baseline [KPI unit]"),
    "significant": ("Bermakna (SK 95% tidak mencakup 0)", "Significant (95% CI excludes 0)"),
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

EXCEL_MAX_ROWS = 1_048_576
safe_cell_text = neutral_text  # the CSV tables' rule (sim.textsafe), under the name the tests know


def _xlsx_text(value: str) -> str:
    """A text cell of the workbook: neutralised as in the CSV tables, then XML-safe."""
    return xml_text(neutral_text(value))


def _header(col: str, lang: str) -> str:
    pair = XLSX_HEADERS.get(col)
    if pair is None:  # a swept key: the key itself says what it is
        return _xlsx_text(col)
    return pair[0] if lang == "id" else pair[1]


def _cell_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return None if isinstance(v, float) and math.isnan(v) else v
    if hasattr(v, "item"):  # numpy scalars
        return _cell_value(v.item())
    if v is pd.NA or v is pd.NaT:
        return None
    return _xlsx_text(str(v))


def _write_sheet(
    wb: Any,
    name: str,
    df: pd.DataFrame,
    lang: str,
    percent_cols: Sequence[str] = (),
    share_rows: Any = None,
    headers: dict[str, tuple[str, str]] | None = None,
) -> None:
    """One sheet (split at Excel's row limit): ``percent_cols`` are shown as percentages, and so are
    all numeric columns of the rows where ``share_rows`` (a boolean per row) is True; ``headers``
    replace XLSX_HEADERS for this sheet."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="16324F")
    head_align = Alignment(wrap_text=True, vertical="top")
    cols = [str(c) for c in df.columns]
    kinds = []
    for c in cols:
        dtype = df[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kinds.append("bool")
        elif pd.api.types.is_integer_dtype(dtype):
            kinds.append("int")
        elif pd.api.types.is_float_dtype(dtype):
            kinds.append("pct" if c in percent_cols else "float")
        else:
            kinds.append("text")
    chunk = EXCEL_MAX_ROWS - 1
    parts = [df.iloc[i : i + chunk] for i in range(0, len(df), chunk)] or [df]
    for k, part in enumerate(parts):
        ws = wb.create_sheet(name if k == 0 else f"{name}_{k + 1}")
        ws.freeze_panes = "A2"
        names = [(headers or {})[c][lang != "id"] if c in (headers or {}) else _header(c, lang) for c in cols]
        for j, c in enumerate(cols):
            lengths = [len(str(v)) for v in part[c].head(200) if not pd.isna(v)]
            longest = max(lengths, default=4)
            if kinds[j] in ("float", "pct"):
                longest = min(longest, 10)
            width = max(8.0, min(40.0, max(longest + 2, min(len(names[j]), 24) * 0.75 + 2)))
            ws.column_dimensions[get_column_letter(j + 1)].width = width
        ws.row_dimensions[1].height = 45
        head_cells = []
        for h in names:
            cell = WriteOnlyCell(ws, value=h)
            cell.font, cell.fill, cell.alignment = head_font, head_fill, head_align
            head_cells.append(cell)
        ws.append(head_cells)
        styled = [j for j, kd in enumerate(kinds) if kd == "pct"]
        by_row = [j for j, kd in enumerate(kinds) if kd == "float"]
        shares = [False] * len(part) if share_rows is None else list(share_rows[k * chunk : k * chunk + len(part)])
        for row, share in zip(part.itertuples(index=False, name=None), shares, strict=True):
            values: list[Any] = [_cell_value(v) for v in row]
            for j in styled + (by_row if share else []):
                if values[j] is not None:
                    cell = WriteOnlyCell(ws, value=values[j])
                    cell.number_format = "0.0%"
                    values[j] = cell
            # text never starts with '=' here (neutral_text), so openpyxl stores it as text, not a formula
            ws.append(values)
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(cols), 1))}{len(part) + 1}"


def _with_labels(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table with a ``kpi`` column, and the KPI's name (sim.metrics) beside it."""
    out = df.copy()
    out.insert(list(out.columns).index("kpi") + 1, "kpi_label", [metrics.kpi(k).label(lang) for k in out["kpi"]])
    return out


def _pooled_sheet(pct: pd.DataFrame, lang: str) -> pd.DataFrame:
    """percentiles.csv with the KPI key and name of each row (``response_pooled_p90_min``, 'Pooled p90 ...')."""
    keys = [f"response_pooled_p{int(q)}_min" for q in pct["quantile"]]
    out = pct.copy()
    out.insert(list(out.columns).index("quantile"), "kpi", keys)
    return _with_labels(out, lang)


# Headers of the optimizer's two sheets, ``{start}`` and ``{rec}`` the plans' names.
OPTIMIZATION_HEADERS: dict[str, tuple[str, str]] = {
    "key": ("Kunci dalam rencana", "Key in the plan"),
    "section": ("Bagian rencana (kode)", "Plan section (code)"),
    "place": ("Tempat", "Where"),
    "what": ("Yang diubah", "What"),
    "where": ("Pos atau kelas TPS (kode)", "Post or TPS class (code)"),
    "kind": ("Jenis personel", "Kind of personnel"),
    "start": ("Nilai di rencana awal ({start})", "Value in the start plan ({start})"),
    "recommended": ("Nilai di rencana rekomendasi ({rec})", "Value in the recommended plan ({rec})"),
    "officers_start": ("Personel di rencana awal ({start})", "Personnel in the start plan ({start})"),
    "officers_recommended": ("Personel di rencana rekomendasi ({rec})", "Personnel in the recommended plan ({rec})"),
    "officers_delta": ("Selisih personel ({rec} - {start})", "Personnel difference ({rec} - {start})"),
    "group": ("Kelompok target (kosong: target umum)", "Target group (empty: the default targets)"),
    "group_label": ("Kelompok target", "Target group"),
    "direction": ("Arah (at_least: paling sedikit, at_most: paling banyak)", "Direction (at_least, at_most)"),
    "threshold": ("Ambang target (satuan KPI)", "Threshold [KPI unit]"),
    "start_estimate": ("Perkiraan {start} (satuan KPI)", "Estimate {start} [KPI unit]"),
    "start_lo": ("Batas bawah SK 95% {start}", "95% CI low {start}"),
    "start_hi": ("Batas atas SK 95% {start}", "95% CI high {start}"),
    "rec_estimate": ("Perkiraan {rec} (satuan KPI)", "Estimate {rec} [KPI unit]"),
    "rec_lo": ("Batas bawah SK 95% {rec}", "95% CI low {rec}"),
    "rec_hi": ("Batas atas SK 95% {rec}", "95% CI high {rec}"),
    "diff": ("Selisih {rec} - {start} (berpasangan, satuan KPI)", "Difference {rec} - {start} (paired) [KPI unit]"),
    "diff_lo": ("Batas bawah SK 95% selisih", "Difference 95% CI low"),
    "diff_hi": ("Batas atas SK 95% selisih", "Difference 95% CI high"),
    "start_met": ("{start} memenuhi target", "{start} meets the target"),
    "rec_met": ("{rec} memenuhi target", "{rec} meets the target"),
    "incidents": (
        "Kejadian dinilai ({rec}, semua replikasi konfirmasi)",
        "Incidents judged ({rec}, all confirmation replications)",
    ),
}


def _optimization_sheets(wb: Any, run: RunData, lang: str) -> None:
    """The optimizer's two tables, each row worded beside its codes as the briefing words it."""
    opt, page = run.optimization, optimization_page(run, lang)
    assert opt is not None and page is not None
    plans = {"start": _xlsx_text(opt.record.start_plan), "rec": _xlsx_text(opt.record.recommended_plan)}
    headers = {c: (i.format(**plans), e.format(**plans)) for c, (i, e) in OPTIMIZATION_HEADERS.items()}
    changes = opt.changes.copy()
    changes.insert(0, "place", [r[0] for r in page.changes_table.rows])
    changes.insert(1, "what", [r[1] for r in page.changes_table.rows])
    changes = changes.astype({c: "int64" for c in ("officers_start", "officers_recommended", "officers_delta")})
    _write_sheet(wb, "optimization_changes", changes, lang, headers=headers)
    groups = _with_labels(opt.groups, lang)
    groups.insert(0, "group_label", [r[0] for r in page.evidence.rows])
    groups = groups.astype({"incidents": "int64"})
    share = groups["kpi"].isin(metrics.SHARE_KPIS).to_numpy()
    _write_sheet(wb, "optimization_groups", groups, lang, share_rows=share, headers=headers)


def write_xlsx(run: RunData, lang: str, out: Path) -> Path:
    """``results.xlsx``: summary and pooled percentiles, comparison (compare runs), kecamatan, targets
    and incidents, headers in ``lang``; KPI names from sim.metrics, every share as a percentage."""
    from openpyxl import Workbook

    def shares(df: pd.DataFrame) -> Any:
        return df["kpi"].isin(metrics.SHARE_KPIS).to_numpy()

    wb = Workbook(write_only=True)
    summary = _with_labels(run.summary, lang)
    _write_sheet(wb, "summary", summary, lang, share_rows=shares(summary))
    _write_sheet(wb, "percentiles", _pooled_sheet(run.percentiles, lang), lang)
    if run.comparison is not None:
        cmp = _with_labels(run.comparison, lang)
        _write_sheet(wb, "comparison", cmp, lang, share_rows=shares(cmp))
    kec = kecamatan_table(run).rename(columns={"dispatched": "n_dispatched", "dispatched_p1": "n_dispatched_p1"})
    kec = kec.astype({"n_dispatched": "int64", "n_dispatched_p1": "int64"}).round(4)
    pooled = _kpi_headers(pooled=True)  # a kecamatan's figures are over all its incidents, not per-day means
    _write_sheet(
        wb,
        "kecamatan",
        kec,
        lang,
        percent_cols=[c for c in kec.columns if c in metrics.SHARE_KPIS],
        headers={c: pooled[c] for c in kec.columns if c in pooled},
    )
    _write_sheet(wb, "targets", run.targets, lang)
    _write_sheet(wb, "incidents", run.incidents, lang)
    if run.optimization is not None:
        _optimization_sheets(wb, run, lang)
    with atomic(out) as tmp:
        wb.save(str(tmp))
    return Path(out)
