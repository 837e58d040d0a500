"""Words, numbers and dates in Bahasa Indonesia (default) or English.

Numbers and dates use Babel's locale data: ``1.403`` and ``12,5`` and ``27 November 2024`` in
Indonesian, ``1,403`` and ``12.5`` and ``27 November 2024`` in English. KPI names are not words
of the report: they come with their definition from :mod:`sim.metrics` (:func:`kpi_label`); the
optimizer's objectives that are not such a KPI are defined here the same way (:data:`OPTIMIZER_KPIS`).

Codes never reach a reader: every code an output shows (a phase, an outcome, an event, a
personnel kind, a TPS class, a KPI key, an incident type, a scenario key path, the backend) is
worded by :func:`code_label` from the one label table (:data:`LABELS`, the scenario's own labels
for its incident types, sim.metrics for KPIs). A code the table does not know is shown as written.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from babel.numbers import format_decimal, format_percent

from sim import metrics
from sim.scenario.load import key_path
from sim.scenario.plans import UNIT_SECTIONS as UNIT_SECTIONS

# Dates and clock times are formatted on the model side (an inject's error message shows them
# too); the reports take them from here.
from sim.timeparse import clock as clock
from sim.timeparse import date as date
from sim.timeparse import when as when

if TYPE_CHECKING:
    from sim.scenario import Scenario

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


def percent_short_of(x: float, goal: float, lang: str) -> str:
    """A share below ``goal`` with the decimals it needs not to read as the goal: 89.6%, not the
    90% of a sentence that says it is fewer than 90% (two decimals at most)."""
    for decimals in (0, 1):
        if round(x * 100, decimals) < goal * 100:
            return percent(x, lang, decimals)
    return percent(x, lang, 2)


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


# --- the label table ---------------------------------------------------------------------------
# Every code the outputs show, by kind, worded once in both languages. The codes are those the
# saved tables write (``incidents.csv``'s phase, outcome and resolved_by, ``timeline.csv``'s event,
# the exercise's inject kinds and decision points, the manifest's backend) and the vocabularies of
# the scenario schema (TPS classes, personnel kinds, unit roles, plan sections). A code a scenario
# brings of its own (a personnel kind 'satpol_pp') is shown as the scenario writes it.

Words = dict[str, dict[str, str]]  # code -> {"id": ..., "en": ...}

LABELS: dict[str, Words] = {
    "phase": {
        "logistics": {"id": "Logistik", "en": "Logistics"},
        "voting": {"id": "Pemungutan", "en": "Voting"},
        "counting": {"id": "Penghitungan", "en": "Counting"},
        "escort": {"id": "Pengawalan kotak", "en": "Box escort"},
        "recap": {"id": "Rekapitulasi PPK", "en": "PPK recap"},
        "plenary": {"id": "Pleno KPU", "en": "KPU plenary"},
    },
    # sim.model.IncidentOutcome codes
    "outcome": {
        "open_at_end": {"id": "belum selesai di akhir simulasi", "en": "open at the end"},
        "resolved_on_site": {"id": "selesai di tempat", "en": "resolved on site"},
        "cleared": {"id": "selesai ditangani unit", "en": "cleared by units"},
        "no_capable_unit": {"id": "tidak ada unit yang mampu", "en": "no capable unit"},
    },
    # sim.model.ResolvedBy codes
    "resolved_by": {
        "linmas": {"id": "Linmas", "en": "Linmas"},
        "tps_guard": {"id": "penjaga TPS", "en": "TPS guard"},
        "ppk_guard": {"id": "penjaga PPK", "en": "PPK guard"},
        "units": {"id": "unit bergerak", "en": "mobile units"},
    },
    # the events of timeline.csv: sim.model.EventKind, the inject kinds' own and the decision rows
    "event": {
        "report": {"id": "laporan", "en": "report"},
        "on_site": {"id": "selesai di tempat", "en": "resolved on site"},
        "dispatch": {"id": "unit diberangkatkan", "en": "unit sent"},
        "arrive": {"id": "unit tiba", "en": "unit arrived"},
        "queued": {"id": "menunggu unit", "en": "waiting for a unit"},
        "escalate": {"id": "eskalasi", "en": "escalation"},
        "clear": {"id": "selesai ditangani", "en": "cleared"},
        "inject": {"id": "inject", "en": "inject"},
        "road_closure": {"id": "jalan terputus", "en": "road cut"},
        "flood": {"id": "banjir", "en": "flood"},
        "road_open": {"id": "jalan normal kembali", "en": "road open again"},
        "unit_out": {"id": "unit tidak beroperasi", "en": "unit out of service"},
        "unit_back": {"id": "unit kembali beroperasi", "en": "unit back in service"},
        "reinforcement": {"id": "bantuan tiba", "en": "reinforcement"},
        "surge": {"id": "lonjakan kejadian", "en": "surge of incidents"},
        "surge_end": {"id": "lonjakan berakhir", "en": "surge over"},
        "decision": {"id": "titik keputusan", "en": "decision point"},
    },
    # sim.inject_kinds.KINDS
    "inject_kind": {
        "incident": {"id": "kejadian", "en": "incident"},
        "road_closure": {"id": "penutupan jalan", "en": "road closure"},
        "flood": {"id": "banjir", "en": "flood"},
        "unit_out": {"id": "unit tidak beroperasi", "en": "unit out of service"},
        "unit_back": {"id": "unit kembali beroperasi", "en": "unit back in service"},
        "reinforcement": {"id": "bantuan personel", "en": "reinforcement"},
        "surge": {"id": "lonjakan kejadian", "en": "surge of incidents"},
    },
    # the decision points of an exercise (sim.exercise)
    "decision": {
        "no_unit_priority_1": {"id": "tidak ada unit bebas untuk prioritas 1", "en": "no unit free for priority 1"},
        "queue_long": {"id": "antrean panjang", "en": "long queue"},
        "escalation": {"id": "eskalasi", "en": "escalation"},
        "cut_off": {"id": "kecamatan terputus", "en": "kecamatan cut off"},
    },
    # personnel kinds of the bundled scenarios, as planners say them
    "force": {
        "polri": {"id": "Polri", "en": "Polri"},
        "brimob": {"id": "Brimob", "en": "Brimob"},
        "polda_bko": {"id": "BKO Polda", "en": "Polda BKO"},
        "tni": {"id": "TNI", "en": "TNI"},
        "linmas": {"id": "Linmas", "en": "Linmas"},
    },
    # sim.scenario.schema.TPS_CLASSES
    "tps_class": {
        "kurang_rawan": {"id": "TPS kurang rawan", "en": "kurang rawan TPS (low risk)"},
        "rawan": {"id": "TPS rawan", "en": "rawan TPS (vulnerable)"},
        "sangat_rawan": {"id": "TPS sangat rawan", "en": "sangat rawan TPS (highly vulnerable)"},
        "khusus": {"id": "TPS khusus", "en": "TPS khusus (special)"},
    },
    # unit roles (sim.scenario.schema.ROLES), as a unit's name starts: 'Patroli Polsek Bengalon-1'
    "role": {
        "patrol": {"id": "Patroli", "en": "Patrol"},
        "reserve": {"id": "Cadangan", "en": "Reserve"},
        "tni": {"id": "TNI", "en": "TNI"},
    },
    # the sections and fields of a plan (sim.scenario.schema.Plan), as a key path names them
    "plan_section": {
        "patrols": {"id": "patroli", "en": "patrols"},
        "reserve": {"id": "cadangan", "en": "reserve"},
        "tni_backup": {"id": "cadangan TNI", "en": "TNI backup"},
        "tps_guards": {"id": "penjaga TPS", "en": "TPS guards"},
        "ppk_guards": {"id": "penjaga PPK", "en": "PPK guards"},
        "linmas_per_tps": {"id": "Linmas per TPS", "en": "Linmas per TPS"},
        "escort": {"id": "pengawalan kotak", "en": "box escort"},
    },
    # the same sections as duties personnel are put on: '10 Polri dipindah dari penjagaan TPS ke patroli'
    "duty": {
        "tps_guards": {"id": "penjagaan TPS", "en": "TPS guarding"},
        "patrols": {"id": "patroli", "en": "patrols"},
        "reserve": {"id": "cadangan", "en": "the reserve"},
        "tni_backup": {"id": "cadangan TNI", "en": "TNI backup"},
        "ppk_guards": {"id": "penjagaan PPK", "en": "PPK guarding"},
        "linmas_per_tps": {"id": "Linmas di TPS", "en": "Linmas at TPS"},
    },
    "plan_field": {
        "units": {"id": "unit", "en": "units"},
        "crew": {"id": "awak per unit", "en": "crew per unit"},
        "officers": {"id": "personel", "en": "officers"},
        "per_tps": {"id": "TPS per klaster", "en": "TPS per cluster"},
        "kind": {"id": "jenis personel", "en": "kind of personnel"},
        "handover_min": {"id": "waktu serah terima (menit)", "en": "handover (min)"},
    },
    # scenario keys outside the plans that a sweep or --set commonly varies
    "scenario_key": {
        "dispatch.policy": {"id": "cara memilih unit", "en": "dispatch policy"},
        "dispatch.max_travel_min": {"id": "batas waktu tempuh unit (menit)", "en": "longest unit trip (min)"},
        "dispatch.tni_max_priority": {"id": "prioritas yang boleh ditangani TNI", "en": "priorities TNI may take"},
        "travel.road_factor": {"id": "faktor jalan", "en": "road factor"},
        "travel.water_factor": {"id": "faktor jalur air", "en": "water factor"},
        "travel.setup_min": {"id": "waktu bersiap (menit)", "en": "set-up time (min)"},
        "travel.noise_cv": {"id": "variasi waktu tempuh", "en": "travel-time variation"},
        "travel.speed_kmh.road": {"id": "kecepatan darat (km/jam)", "en": "road speed (km/h)"},
        "travel.speed_kmh.river": {"id": "kecepatan sungai (km/jam)", "en": "river speed (km/h)"},
        "travel.speed_kmh.sea": {"id": "kecepatan laut (km/jam)", "en": "sea speed (km/h)"},
    },
    # sim.dispatch.POLICIES
    "dispatch_policy": {
        "nearest": {"id": "unit terdekat", "en": "nearest unit"},
        "district": {"id": "unit Polsek setempat dulu", "en": "the local Polsek's unit first"},
        "cover": {
            "id": "unit terdekat, unit terakhir tetap di wilayahnya",
            "en": "nearest, keeping a post's last unit",
        },
    },
    # sim.backends.BACKENDS: how the replications ran (manifest "backend")
    "backend": {
        "serial": {"id": "satu proses", "en": "one process"},
        "processes": {"id": "proses lokal", "en": "local processes"},
        "dask": {"id": "klaster Dask", "en": "Dask cluster"},
    },
    # an assumption's basis (sim.scenario.schema.Assumption)
    "basis": {
        "sourced": {"id": "bersumber", "en": "sourced"},
        "estimated": {"id": "perkiraan", "en": "estimated"},
    },
}
LABEL_KINDS = (*LABELS, "kpi", "incident_type", "sweep_key")

# Views of the table that older callers read by name.
TPS_CLASS_WORDS = LABELS["tps_class"]
FORCE_WORDS = LABELS["force"]

# How a plan's key path reads: 'mobile: unit patroli Polsek Sangatta Utara'.
KEY_WORDS: Words = {
    "k_item": {"id": "{plan}: {field} {section} {place}", "en": "{plan}: {section} at {place}, {field}"},
    "k_guard": {"id": "{plan}: {field} penjaga {place}", "en": "{plan}: {section} at {place}, {field}"},
    "k_field": {"id": "{plan}: {field} {section}", "en": "{plan}: {section}, {field}"},
    "k_section": {"id": "{plan}: {section}", "en": "{plan}: {section}"},
}


def code_label(kind: str, code: object, lang: str, spec: Scenario | None = None) -> str:
    """The words for a code the outputs show, in ``lang``: one of :data:`LABELS`' kinds, a KPI
    ("kpi": sim.metrics' name, or an optimizer objective's), an incident type ("incident_type": the
    scenario's ``label_id``/``label_en``, needs ``spec``) or a scenario key path ("sweep_key",
    worded with the names of ``spec``'s posts). A code without words is shown as written: a
    scenario may define its own."""
    text = str(code)
    if kind == "kpi":
        return objective(text).label(lang) if text in OBJECTIVES else text
    if kind == "incident_type":
        return _incident_type_label(text, lang, spec)
    if kind == "sweep_key":
        return _key_label(text, lang, spec)
    if kind not in LABELS:
        raise ValueError(f"no label kind '{kind}'; valid: {', '.join(LABEL_KINDS)}")
    entry = LABELS[kind].get(text)
    return entry[lang] if entry else text


VALUE_KINDS = {"dispatch.policy": "dispatch_policy"}  # key path -> the label kind of its values


def value_label(key: str, value: object, lang: str) -> str:
    """A value given to a scenario key (``--set``, ``--vary``) in words where its key takes codes
    (``dispatch.policy=cover``: 'unit terdekat, unit terakhir tetap di wilayahnya'), else as given."""
    kind = VALUE_KINDS.get(key)
    return code_label(kind, value, lang) if kind else str(value)


def short_label(label: str) -> str:
    """A label without its bracketed explanation, for a line that has one of its own:
    'Masalah logistik (surat suara kurang/tertukar, terlambat)' -> 'Masalah logistik'."""
    return label.split(" (")[0].strip() or label


def _incident_type_label(code: str, lang: str, spec: Scenario | None) -> str:
    ty = spec.incidents.types.get(code) if spec is not None else None
    if ty is None:
        return code
    first, other = (ty.label_id, ty.label_en) if lang == "id" else (ty.label_en, ty.label_id)
    return first or other or code


def _key_label(key: str, lang: str, spec: Scenario | None) -> str:
    """A scenario key path in words: ``plans.mobile.patrols[polsek-sgu].units`` (or ``.0.units``)
    -> 'mobile: unit patroli Polsek Sangatta Utara'; a key of :data:`LABELS` "scenario_key" by its
    words; anything else as written."""
    if key in LABELS["scenario_key"]:
        return LABELS["scenario_key"][key][lang]
    steps = key_path(key)
    if not steps or len(steps) < 3 or steps[0] != "plans" or not all(isinstance(s, str) for s in steps[1:3]):
        return key
    plan, section, rest = str(steps[1]), str(steps[2]), steps[3:]
    if section not in LABELS["plan_section"]:
        return key
    words = {"plan": plan, "section": code_label("plan_section", section, lang)}
    if not rest:
        return KEY_WORDS["k_section"][lang].format(**words)
    field = rest[-1]
    if len(rest) > 2 or not isinstance(field, str) or field not in LABELS["plan_field"]:
        return key
    words["field"] = code_label("plan_field", field, lang)
    if len(rest) == 1:  # a field of the section itself: ppk_guards.officers, escort.handover_min
        return KEY_WORDS["k_field"][lang].format(**words)
    item = rest[0][0] if isinstance(rest[0], tuple) else rest[0]
    if section in UNIT_SECTIONS:
        return KEY_WORDS["k_item"][lang].format(**words, place=_post_name(spec, plan, section, item))
    if section == "tps_guards":
        return KEY_WORDS["k_guard"][lang].format(**words, place=code_label("tps_class", item, lang))
    return key


def _post_name(spec: Scenario | None, plan: str, section: str, item: str) -> str:
    """The name of the post of a plan's unit group, named by its index or by a bracketed name
    (:data:`sim.scenario.load.ITEM_KEYS`); the item as written when the scenario does not say."""
    if spec is None or plan not in spec.plans:
        return item
    groups = getattr(spec.plans[plan], section)
    post = groups[int(item)].post if item.isdigit() and int(item) < len(groups) else item
    names = {p.id: p.name for p in spec.sites.posts}
    return names.get(post, post)


def tps_class_label(cls: str, lang: str) -> str:
    return code_label("tps_class", cls, lang)


def force_label(kind: str, lang: str) -> str:
    return code_label("force", kind, lang)


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
    "polres": {"id": "Polres", "en": "Polres"},
    "polsek": {"id": "Polsek", "en": "Polsek"},
    "no_data": {"id": "tidak ada data", "en": "no data"},
    # the phases as words of the table (the charts' "phase_voting"): a view of LABELS["phase"]
    **{f"phase_{code}": words for code, words in LABELS["phase"].items()},
}
