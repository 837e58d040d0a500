"""Words, numbers and dates in Bahasa Indonesia (default) or English.

Numbers and dates use Babel's locale data: ``1.403`` and ``12,5`` and ``27 November 2024`` in
Indonesian, ``1,403`` and ``12.5`` and ``27 November 2024`` in English. KPI names are not words
of the report: they come with their definition from :mod:`sim.metrics` (:func:`kpi_label`); the
optimizer's objectives that are not such a KPI are defined here the same way (:data:`OPTIMIZER_KPIS`).
"""

from __future__ import annotations

import math

from babel.numbers import format_decimal, format_percent

from sim import metrics

# Dates and clock times are formatted on the model side (an inject's error message shows them
# too); the reports take them from here.
from sim.timeparse import clock as clock
from sim.timeparse import date as date
from sim.timeparse import when as when

LANGS = ("id", "en")


def number(x: float | int | None, lang: str, decimals: int = 0) -> str:
    """A number with the locale's grouping and decimal marks; '-' when missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(x, format=pattern, locale=lang)


def percent(x: float | None, lang: str, decimals: int = 0) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return format_percent(x, format=pattern, locale=lang)


def duration(minutes: float, lang: str) -> str:
    """Minutes as '45 menit' / '3 jam 20 menit' (id) or '45 min' / '3 h 20 min' (en)."""
    if minutes is None or not math.isfinite(minutes):
        return "–"
    h, m = divmod(round(minutes), 60)
    unit_h, unit_m = ("jam", "menit") if lang == "id" else ("h", "min")
    if h == 0:
        return f"{m} {unit_m}"
    return f"{h} {unit_h}" + (f" {m} {unit_m}" if m else "")


UNIT_WORDS = {"min": {"id": "menit", "en": "min"}, "h": {"id": "jam", "en": "h"}}


POOLED_WORD = {"id": "gabungan", "en": "pooled"}


def kpi_label(key: str, lang: str, unit: bool = True, pooled: bool = False) -> str:
    """A KPI's (or pooled percentile's) name from :mod:`sim.metrics`, with its unit in brackets
    when it has one ('Rata-rata waktu tanggap (menit)'); shares and counts have none.

    ``pooled``: the figure is taken over the incidents of all replications together (a kecamatan's
    share within target), not the mean of one figure per replication, and the name says so
    ('Didatangi dalam target, gabungan'), as the pooled p90's name always does.
    """
    k = metrics.kpi(key)
    label = k.label(lang)
    if pooled and key not in metrics.POOLED_KPIS:
        label += f", {POOLED_WORD[lang]}"
    word = UNIT_WORDS.get(k.unit)
    return f"{label} ({word[lang]})" if unit and word else label


def kpi_value(key: str, x: float | None, lang: str, decimals: int = 1) -> str:
    """A KPI value as the reader sees it: a share as a percentage, anything else as a number."""
    return percent(x, lang) if metrics.kpi(key).is_share else number(x, lang, decimals)


# The optimizer's objectives (``optimize --objective``, fixed_force) that are not a KPI of
# sim.metrics, defined the same way: a figure per plan of the confirmation run, its unit and the
# better direction. Every other objective is a KPI key of sim.metrics (its labels come from there).
OPTIMIZER_KPIS: dict[str, metrics.Kpi] = {
    "missed_groups": metrics.Kpi(
        "missed_groups",
        "count",
        "lower",
        "Kelompok target yang belum memenuhi target",
        "Target groups missing a target",
        "target groups where the plan's point estimate misses some constraint",
    ),
    **{
        f"response_pooled_p{q}_p1_min": metrics.Kpi(
            f"response_pooled_p{q}_p1_min",
            "min",
            "lower",
            f"p{q} gabungan waktu tanggap prioritas 1",
            f"Pooled p{q} response, priority 1",
            f"{q}th percentile response over the dispatched priority-1 incidents of all replications [min]",
        )
        for q in metrics.POOLED_QUANTILES
    },
}
OBJECTIVES = (*metrics.KPIS, *metrics.POOLED_KPIS, *OPTIMIZER_KPIS)


def objective(key: str) -> metrics.Kpi:
    """An optimizer objective's definition: a KPI (or pooled percentile) of sim.metrics, or one of
    :data:`OPTIMIZER_KPIS`."""
    return OPTIMIZER_KPIS[key] if key in OPTIMIZER_KPIS else metrics.kpi(key)


def objective_label(key: str, lang: str) -> str:
    """An objective's name with its unit in brackets, as :func:`kpi_label` words a KPI."""
    if key not in OPTIMIZER_KPIS:
        return kpi_label(key, lang)
    k = OPTIMIZER_KPIS[key]
    word = UNIT_WORDS.get(k.unit)
    return f"{k.label(lang)} ({word[lang]})" if word else k.label(lang)


# TPS vulnerability classes and the personnel kinds of the bundled scenarios, as planners say
# them; a kind a scenario names otherwise is shown as the scenario writes it.
TPS_CLASS_WORDS: dict[str, dict[str, str]] = {
    "kurang_rawan": {"id": "TPS kurang rawan", "en": "kurang rawan TPS (low risk)"},
    "rawan": {"id": "TPS rawan", "en": "rawan TPS (vulnerable)"},
    "sangat_rawan": {"id": "TPS sangat rawan", "en": "sangat rawan TPS (highly vulnerable)"},
    "khusus": {"id": "TPS khusus", "en": "TPS khusus (special)"},
}
FORCE_WORDS: dict[str, dict[str, str]] = {
    "polri": {"id": "Polri", "en": "Polri"},
    "brimob": {"id": "Brimob", "en": "Brimob"},
    "polda_bko": {"id": "BKO Polda", "en": "Polda BKO"},
    "tni": {"id": "TNI", "en": "TNI"},
    "linmas": {"id": "Linmas", "en": "Linmas"},
}


def tps_class_label(cls: str, lang: str) -> str:
    return TPS_CLASS_WORDS[cls][lang] if cls in TPS_CLASS_WORDS else cls


def force_label(kind: str, lang: str) -> str:
    return FORCE_WORDS[kind][lang] if kind in FORCE_WORDS else kind


class Text:
    """Look up words by key in one language: ``t = Text('id'); t('plan')``.

    A module may bring its own words (same shape as WORDS), looked up before the shared ones.
    """

    def __init__(self, lang: str, words: dict[str, dict[str, str]] | None = None) -> None:
        if lang not in LANGS:
            raise ValueError(lang)
        self.lang = lang
        self.words = {**WORDS, **(words or {})}

    def __call__(self, key: str, /, **kw: object) -> str:
        entry = self.words[key]
        return entry[self.lang].format(**kw) if kw else entry[self.lang]


# Every label, caption and heading the reports use. Domain words (TPS, PPK, Polsek, Linmas, rawan)
# stay as the users say them in both languages.
WORDS: dict[str, dict[str, str]] = {
    "plan": {"id": "Rencana", "en": "Plan"},
    "plans": {"id": "Rencana pengamanan", "en": "Security plans"},
    "kecamatan": {"id": "Kecamatan", "en": "Kecamatan"},
    "hour": {"id": "Jam", "en": "Hour"},
    "minutes": {"id": "menit", "en": "minutes"},
    "response_min": {"id": "Waktu tanggap (menit)", "en": "Response time (minutes)"},
    "share_reached": {"id": "Proporsi kejadian yang sudah didatangi", "en": "Share of incidents reached"},
    "target": {"id": "Target", "en": "Target"},
    "incidents_per_hour": {"id": "Kejadian per jam", "en": "Incidents per hour"},
    "busy_units": {"id": "Unit sibuk", "en": "Busy units"},
    "open_incidents": {"id": "Kejadian terbuka", "en": "Open incidents"},
    "time_local": {"id": "Waktu (WITA)", "en": "Time (WITA)"},
    "mean_ci": {"id": "rata-rata dan selang kepercayaan 95%", "en": "mean and 95% confidence band"},
    "difference": {"id": "Selisih terhadap {baseline}", "en": "Difference from {baseline}"},
    "phase_logistics": {"id": "Logistik", "en": "Logistics"},
    "phase_voting": {"id": "Pemungutan", "en": "Voting"},
    "phase_counting": {"id": "Penghitungan", "en": "Counting"},
    "phase_escort": {"id": "Pengawalan kotak", "en": "Box escort"},
    "phase_recap": {"id": "Rekapitulasi PPK", "en": "PPK recap"},
    "phase_plenary": {"id": "Pleno KPU", "en": "KPU plenary"},
    "polres": {"id": "Polres", "en": "Polres"},
    "polsek": {"id": "Polsek", "en": "Polsek"},
    "no_data": {"id": "tidak ada data", "en": "no data"},
}
