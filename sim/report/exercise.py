"""The exercise's outputs in words: timeline chart, timeline page (HTML), after-action summary
(Markdown), and the log lines of the console.

Everything is built from the saved, language-free tables of an exercise folder
(:mod:`sim.exercise`: codes, ids and numbers) and its manifest, so ``pilkada-sim report
EXERCISE_DIR --lang en`` renders the English review from the files without playing the exercise
again, and refuses a folder whose files no longer match their checksums, as for a run. The log
shown is replication 0's (the one played at the console); the after-action summary covers every
replication. Text is in Bahasa Indonesia (default) or English, and no code of the tables shows
through: an incident type by the scenario's label, an inject kind, a unit's role, who resolved an
incident and a decision point's kind by the label table (:func:`sim.report.i18n.code_label`).

Text from the scenario and the events list (names, TPS ids, messages, expected actions) is made
safe for each output: the page is rendered by jinja2 with autoescape; in ``aar.md`` every cell
and line goes through :func:`md_text` (one line, HTML's ``& < >`` as entities, Markdown's inline
marks backslash-escaped), so an inject's ``<script>`` or ``|`` is shown, never run or split; the
chart draws it as plain text (:func:`sim.report.charts.chart_style`, :func:`~sim.report.charts.chart_label`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.patches import Patch, Rectangle

from sim.errors import UserError
from sim.exercise import AAR_COLUMNS, DECISION_COLUMNS, TIMELINE_COLUMNS, stamp
from sim.injects import COLUMNS as EVENT_COLUMNS
from sim.injects import Inject
from sim.model import split_unit_id
from sim.report.charts import chart_label, chart_style, new_figure, save_figure
from sim.report.data import TableSpec, publish_report, read_table, staged_report, verified_manifest
from sim.report.i18n import LANGS, Text, code_label, date, percent, short_label
from sim.scenario import Scenario
from sim.timeparse import moment

PRIORITY_COLOURS = {1: "#D55E00", 2: "#E69F00", 3: "#0072B2"}  # 3 = every lower priority too
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ExerciseInfo:
    """What the exercise was: shown at the top of every output."""

    scenario: str
    title: str
    plan: str
    seed: int
    replications: int
    background: bool
    epoch: dt.datetime
    election_day: dt.date
    events_file: str
    shift_min: float
    queue_alert: int = 3

    @classmethod
    def of(cls, manifest: dict[str, Any], election_day: dt.date, epoch: dt.datetime) -> ExerciseInfo:
        """What the manifest of an exercise folder says it was."""
        ex = manifest["exercise"]
        return cls(
            scenario=manifest["scenario"]["name"],
            title=manifest["scenario"].get("title") or "",
            plan=ex["plan"],
            seed=int(manifest["seed"]),
            replications=int(manifest["replications"]),
            background=bool(ex["background"]),
            epoch=epoch,
            election_day=election_day,
            events_file=Path(ex["events_file"]["path"]).name,
            shift_min=float(ex["shift_min"]),
            queue_alert=int(ex["queue_alert"]),
        )


WORDS: dict[str, dict[str, str]] = {
    "title": {
        "id": "Latihan: linimasa dan ringkasan pasca-latihan",
        "en": "Exercise: timeline and after-action review",
    },
    "aar_title": {"id": "Ringkasan pasca-latihan", "en": "After-action review"},
    "scope": {
        "id": "Skenario {scenario}, rencana {plan}, seed {seed}, {reps} replikasi, latar belakang acak {bg}; "
        "daftar inject {file}{shift}.",
        "en": "Scenario {scenario}, plan {plan}, seed {seed}, {reps} replications, random background {bg}; "
        "events list {file}{shift}.",
    },
    "on": {"id": "aktif", "en": "on"},
    "off": {"id": "tidak aktif", "en": "off"},
    "shifted": {"id": ", digeser {m} menit", "en": ", shifted by {m} min"},
    "injects": {"id": "Inject dan hasilnya", "en": "Injects and what happened"},
    "col_no": {"id": "No", "en": "No"},
    "col_time": {"id": "Waktu", "en": "Time"},
    "col_kind": {"id": "Jenis", "en": "Kind"},
    "col_target": {"id": "Sasaran", "en": "Target"},
    "col_message": {"id": "Pesan", "en": "Message"},
    "col_expected": {"id": "Tindakan yang diharapkan", "en": "Expected action"},
    "col_happened": {"id": "Yang terjadi (replikasi 0)", "en": "What happened (replication 0)"},
    "col_in_time": {"id": "Tepat waktu (semua replikasi)", "en": "In time (all replications)"},
    "reached_by": {
        "id": "{units} tiba {m} menit setelah laporan (target {target} menit untuk prioritas {p})",
        "en": "{units} arrived {m} min after the report (target {target} min for priority {p})",
    },
    "not_reached": {
        "id": "tidak didatangi sampai akhir simulasi (target {target} menit untuk prioritas {p})",
        "en": "not reached before the end (target {target} min for priority {p})",
    },
    "affected": {
        "id": "{n} kejadian terkait, {k} didatangi tepat waktu",
        "en": "{n} related incidents, {k} reached in time",
    },
    "none_affected": {"id": "tidak ada kejadian terkait", "en": "no related incident"},
    "units_added": {"id": "unit baru menangani {n} kejadian", "en": "the new units took {n} incidents"},
    "share_reps": {"id": "{share} dari {n} replikasi", "en": "{share} of {n} replications"},
    "share_incidents": {"id": "{share} dari {n} kejadian", "en": "{share} of {n} incidents"},
    "decisions": {"id": "Titik keputusan", "en": "Decision points"},
    "decision_counts": {
        "id": "Replikasi 0: {n} titik keputusan; rata-rata {mean} per replikasi.",
        "en": "Replication 0: {n} decision points; {mean} per replication on average.",
    },
    "short": {"id": "Di mana rencana kurang", "en": "Where the plan fell short"},
    "good": {"id": "Yang berjalan baik", "en": "What went well"},
    "short_inject": {
        "id": "Inject {n} ({target}) tidak didatangi tepat waktu di {k} dari {r} replikasi.",
        "en": "Inject {n} ({target}) was not reached in time in {k} of {r} replications.",
    },
    "short_related": {
        "id": "Inject {n} ({kind}, {target}): {share} kejadian terkait didatangi tepat waktu.",
        "en": "Inject {n} ({kind}, {target}): {share} of related incidents reached in time.",
    },
    "short_decisions": {
        "id": "{what}: {n} kali di replikasi 0.",
        "en": "{what}: {n} times in replication 0.",
    },
    "short_open": {
        "id": "{n} kejadian belum ditangani saat simulasi berakhir (replikasi 0).",
        "en": "{n} incidents still open when the simulation ended (replication 0).",
    },
    "nothing_short": {"id": "Tidak ada kekurangan yang terlihat.", "en": "No shortfall seen."},
    "good_inject": {
        "id": "Inject {n} ({target}) didatangi tepat waktu di semua replikasi.",
        "en": "Inject {n} ({target}) was reached in time in every replication.",
    },
    "good_related": {
        "id": "Inject {n} ({kind}, {target}): {k} dari {k} kejadian terkait didatangi tepat waktu.",
        "en": "Inject {n} ({kind}, {target}): {k} of {k} related incidents reached in time.",
    },
    "nothing_good": {
        "id": "Tidak ada inject yang semua kejadiannya didatangi tepat waktu di semua replikasi.",
        "en": "No inject had all its incidents reached in time in every replication.",
    },
    "log": {"id": "Log kejadian (replikasi 0)", "en": "Event log (replication 0)"},
    "chart": {"id": "Linimasa per kecamatan (replikasi 0)", "en": "Timeline by kecamatan (replication 0)"},
    "chart_caption": {
        "id": "Setiap batang adalah satu kejadian yang memerlukan unit: bagian terang dari laporan sampai unit "
        "pertama tiba, bagian gelap saat unit di lokasi. Garis putus-putus bernomor: inject. Arsiran: jalan "
        "terputus atau terhambat.",
        "en": "Each bar is an incident that needed units: light from the report to the first unit's arrival, dark "
        "while units were on scene. Numbered dashed lines: injects. Hatching: roads cut or slowed.",
    },
    "waiting": {"id": "laporan → tiba", "en": "report → arrival"},
    "on_scene": {"id": "di lokasi", "en": "on scene"},
    "priority": {"id": "Prioritas {p}", "en": "Priority {p}"},
    "priority_low": {"id": "Prioritas 3+", "en": "Priority 3+"},
    "time_axis": {"id": "Waktu (WITA)", "en": "Time (WITA)"},
    "no_incidents": {"id": "tidak ada kejadian yang memerlukan unit", "en": "no incident needed units"},
    "na": {"id": "–", "en": "–"},
}


# The log's sentences. An incident type is the scenario's label (its short form, before any
# bracket), a unit is named by its role and post, everything else by the label table of i18n.
LOG_WORDS: dict[str, dict[str, str]] = {
    "ev_report": {
        "id": "{type} dilaporkan (prioritas {p}) di {site}",
        "en": "{type} reported (priority {p}) at {site}",
    },
    "ev_on_site": {
        "id": "{type} di {site} diselesaikan di tempat oleh {who}",
        "en": "{type} at {site} resolved on site ({who})",
    },
    "ev_dispatch": {
        "id": "{unit} diberangkatkan ke {site} (perjalanan {m} menit)",
        "en": "{unit} sent to {site} ({m} min on the way)",
    },
    "ev_arrive": {
        "id": "{unit} tiba di {site} ({m} menit setelah laporan)",
        "en": "{unit} arrived at {site} ({m} min after the report)",
    },
    "ev_queued": {
        "id": "{type} di {site}: tidak ada unit bebas, menunggu (antrean {q})",
        "en": "{type} at {site}: no unit free, waiting (queue {q})",
    },
    "ev_escalate": {
        "id": "Situasi di {site} meningkat menjadi {type} (prioritas {p})",
        "en": "{site} escalated to {type} (priority {p})",
    },
    "ev_clear": {
        "id": "{type} di {site} selesai ditangani ({m} menit setelah laporan)",
        "en": "{type} at {site} cleared ({m} min after the report)",
    },
    "ev_unit_out": {"id": "{unit} tidak dapat beroperasi", "en": "{unit} out of service"},
    "ev_unit_back": {"id": "{unit} kembali beroperasi", "en": "{unit} back in service"},
    "ev_reinforcement": {"id": "Bantuan tiba di {post}: {units}", "en": "Reinforcement at {post}: {units}"},
    "ev_cut": {"id": "Jalan ke {area} terputus", "en": "Roads to {area} cut"},
    "ev_slow": {
        "id": "Jalan ke {area} terhambat: waktu tempuh x{f}",
        "en": "Roads to {area} slowed: travel time x{f}",
    },
    "ev_road_open": {"id": "Jalan ke {area} kembali normal", "en": "Roads to {area} back to normal"},
    "ev_surge": {
        "id": "Lonjakan {type} di {kec}: laju x{f} ({n} kejadian tambahan)",
        "en": "Surge of {type} in {kec}: rate x{f} ({n} extra incidents)",
    },
    "ev_surge_end": {"id": "Lonjakan di {kec} berakhir", "en": "Surge in {kec} over"},
    "all_types": {"id": "semua jenis kejadian", "en": "all incident types"},
    "dp_no_unit_priority_1": {
        "id": "PERLU KEPUTUSAN: tidak ada unit bebas untuk kejadian prioritas 1 di {site}",
        "en": "DECISION NEEDED: no unit free for a priority-1 incident at {site}",
    },
    "dp_queue_long": {
        "id": "PERLU KEPUTUSAN: antrean lebih dari {n} kejadian",
        "en": "DECISION NEEDED: more than {n} incidents waiting",
    },
    "dp_escalation": {
        "id": "PERLU KEPUTUSAN: situasi di {site} meningkat menjadi {type}",
        "en": "DECISION NEEDED: {site} escalated to {type}",
    },
    "dp_cut_off": {"id": "PERLU KEPUTUSAN: {area} terputus", "en": "DECISION NEEDED: {area} cut off"},
    "situation": {
        "id": "{open} kejadian terbuka ({p1} prioritas 1), {q} menunggu; "
        "unit sibuk {busy}, bebas {free}, tidak beroperasi {out}",
        "en": "{open} open incidents ({p1} priority 1), {q} waiting; units busy {busy}, free {free}, out {out}",
    },
}


def _text(lang: str) -> Text:
    return Text(lang, {**WORDS, **LOG_WORDS})


# --- the log in words -------------------------------------------------------------------------


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v == ""


@dataclass(frozen=True)
class Names:
    """Sites, posts and units by the names a trainer knows (from the folder's ``sites.csv``)."""

    kind: dict[str, str]  # site id -> tps, ppk, kpu or post
    kecamatan: dict[str, str]
    post_name: dict[str, str]

    @classmethod
    def of(cls, sites: pd.DataFrame) -> Names:
        ids = sites["site_id"].astype(str).tolist()
        posts = sites[sites["kind"] == "post"]
        return cls(
            dict(zip(ids, sites["kind"].astype(str), strict=True)),
            dict(zip(ids, sites["kecamatan"].astype(str), strict=True)),
            dict(zip(posts["site_id"].astype(str), posts["name"].astype(str), strict=True)),
        )

    def site(self, sid: str) -> str:
        return f"TPS {sid} ({self.kecamatan[sid]})" if self.kind.get(sid) == "tps" else sid

    def unit(self, uid: str, t: Text) -> str:
        post, role, n = split_unit_id(uid)
        return f"{code_label('role', role, t.lang)} {self.post_name.get(post, post)}-{n}"

    def target(self, inj: Inject, t: Text) -> str:
        """An inject's target as a trainer names it: a unit by its role and post, a post by its name,
        a TPS, PPK, KPU or kecamatan as the events list writes it."""
        if inj.kind in ("unit_out", "unit_back"):
            return self.unit(inj.target, t)
        if inj.kind == "reinforcement":
            return self.post_name.get(inj.target, inj.target)
        return inj.target


class LogText:
    """Rows of ``timeline.csv`` (or of a running :class:`sim.exercise.Exercise`) as log lines."""

    def __init__(
        self, lang: str, names: Names, info: ExerciseInfo, messages: dict[int, str], spec: Scenario | None = None
    ) -> None:
        self.t, self.names, self.info, self.messages, self.spec = _text(lang), names, info, messages, spec

    def type(self, code: Any) -> str:
        """An incident type by the scenario's label, short (the log line has brackets of its own)."""
        return short_label(code_label("incident_type", code, self.t.lang, self.spec))

    def situation(self, s: Mapping[Any, Any]) -> str:
        return self.t(
            "situation",
            open=int(s["open_incidents"]),
            p1=int(s["open_priority_1"]),
            q=int(s["queued"]),
            busy=int(s["units_busy"]),
            free=int(s["units_free"]),
            out=int(s["units_out"]),
        )

    def decision(self, d: Mapping[Any, Any]) -> str:
        """A decision point: what is to be decided, then the situation."""
        t, kind = self.t, str(d["decision"])
        words: dict[str, Any] = {}
        if kind in ("no_unit_priority_1", "escalation"):
            words["site"] = self.names.site(str(d["site_id"]))
        if kind == "escalation":
            words["type"] = _in_sentence(self.type(d["type"]))
        if kind == "queue_long":
            words["n"] = self.info.queue_alert
        if kind == "cut_off":
            words["area"] = d["kecamatan"]
        return f"{t(f'dp_{kind}', **words)}. {self.situation(d)}"

    def line(self, row: Mapping[Any, Any], decision: Mapping[Any, Any] | None = None) -> str:
        """One log row in words, after its time stamp; a decision row needs its decision point."""
        t, names, ev = self.t, self.names, str(row["event"])
        area = str(row["kecamatan"])
        if not _blank(row["other_kecamatan"]):
            area = f"{area} - {row['other_kecamatan']}"
        site = "" if _blank(row["site_id"]) else names.site(str(row["site_id"]))
        units = [] if _blank(row["unit_id"]) else [names.unit(u, t) for u in str(row["unit_id"]).split(";")]
        unit = ", ".join(units)
        minutes = None if _blank(row["minutes"]) else round(float(row["minutes"]))
        kind = "" if _blank(row["type"]) else self.type(row["type"])
        prio = None if _blank(row["priority"]) else int(row["priority"])
        if ev == "inject":
            text = f"[{int(row['inject'])}] {self.messages.get(int(row['inject']), '')}"
        elif ev in ("road_closure", "flood"):
            factor = float(row["value"])
            text = t("ev_cut", area=area) if math.isinf(factor) else t("ev_slow", area=area, f=f"{factor:g}")
        elif ev == "road_open":
            text = t("ev_road_open", area=area)
        elif ev in ("unit_out", "unit_back"):
            text = t(f"ev_{ev}", unit=unit)
        elif ev == "reinforcement":
            post = names.post_name.get(str(row["site_id"]), str(row["site_id"]))
            text = t("ev_reinforcement", post=post, units=unit)
        elif ev == "surge":
            what = t("all_types") if not kind else _in_sentence(kind)
            text = t("ev_surge", type=what, kec=area, f=f"{float(row['value']):g}", n=int(row["count"]))
        elif ev == "surge_end":
            text = t("ev_surge_end", kec=area)
        elif ev == "report":
            text = t("ev_report", type=kind, p=prio, site=site)
        elif ev == "on_site":
            text = t("ev_on_site", type=kind, site=site, who=code_label("resolved_by", row["resolved_by"], t.lang))
        elif ev == "dispatch":
            text = t("ev_dispatch", unit=unit, site=site, m=minutes)
        elif ev == "arrive":
            text = t("ev_arrive", unit=unit, site=site, m=minutes)
        elif ev == "queued":
            text = t("ev_queued", type=kind, site=site, q=int(row["count"]))
        elif ev == "escalate":
            text = t("ev_escalate", site=site, type=_in_sentence(kind), p=prio)
        elif ev == "clear":
            text = t("ev_clear", type=kind, site=site, m=minutes)
        elif ev == "decision":
            assert decision is not None, "a decision row needs its decision point"
            text = self.decision(decision)
        else:
            raise ValueError(f"no words for event '{ev}'")
        return f"{_stamp(self.info, float(row['t']))} {text}"

    def lines(self, timeline: pd.DataFrame, decisions: pd.DataFrame) -> list[tuple[str, str]]:
        """``(event, line)`` of every row of one replication's log, decision rows with their point
        (the n-th decision row of the log is the n-th row of ``decision_points.csv``)."""
        points = iter(decisions.to_dict("records"))
        out = []
        for row in timeline.to_dict("records"):
            d = next(points) if row["event"] == "decision" else None
            out.append((str(row["event"]), self.line(row, d)))
        return out


def _in_sentence(label: str) -> str:
    """A label inside a sentence: its first letter small unless the first word is an acronym
    ('Bentrok massa pendukung' -> 'bentrok massa pendukung'; 'TPS terlambat dibuka' stays)."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _stamp(info: ExerciseInfo, t: float) -> str:
    return stamp(info.epoch, info.election_day, t)


# --- the after-action summary ---------------------------------------------------------------


@dataclass(frozen=True)
class InjectOutcome:
    """What became of one inject, over every replication. "In time" is the aar table's
    ``in_time``: :mod:`sim.metrics`' ``within_target`` (target for the kecamatan and priority)."""

    inject: Inject
    happened: str  # replication 0, in words
    in_time: str  # across replications, in words
    related: int  # incidents it concerns that needed a unit, summed over replications
    related_in_time: int  # of these, reached within their target
    missed_reps: int  # replications in which at least one of them missed its target
    judged_kind: bool  # the kind is judged by its incidents (aar.csv "judged", from sim.exercise.KINDS)
    target: str  # its target as a trainer names it (:meth:`Names.target`)

    @property
    def related_share(self) -> float:
        """Share of related incidents reached in time (NaN if none)."""
        return self.related_in_time / self.related if self.related else math.nan

    @property
    def judged(self) -> bool:
        return self.judged_kind and self.related > 0

    @property
    def went_well(self) -> bool:
        """Every incident it needed a unit for, in every replication, reached within its target."""
        return self.judged and self.related_in_time == self.related

    @property
    def fell_short(self) -> bool:
        return self.judged and self.related_in_time < self.related


def inject_outcomes(aar: pd.DataFrame, played: list[Inject], names: Names, lang: str) -> list[InjectOutcome]:
    t = _text(lang)
    out = []
    for inj in played:
        rows = aar[aar["inject"] == inj.number]
        first = rows[rows["replication"] == 0]
        r0 = first.iloc[0] if len(first) else None
        related, related_in_time = int(rows["incidents"].sum()), int(rows["in_time"].sum())
        missed = int((rows["in_time"] < rows["incidents"]).sum())
        if inj.kind == "incident":
            if r0 is not None and r0["incidents"]:
                target = {"target": round(float(r0["target_min"])), "p": int(r0["priority"])}
                if r0["reached"]:
                    units = ", ".join(names.unit(u, t) for u in str(r0["units"]).split(";"))
                    happened = t("reached_by", units=units, m=round(float(r0["response_min"])), **target)
                else:
                    happened = t("not_reached", **target)
            else:
                happened = t("none_affected")
            ok = len(rows) - missed
            in_time = t("share_reps", share=percent(ok / len(rows), lang), n=len(rows)) if len(rows) else t("na")
        else:
            if r0 is None or not r0["incidents"]:
                happened = t("none_affected")
            elif inj.kind == "reinforcement":
                happened = t("units_added", n=int(r0["incidents"]))
            else:
                happened = t("affected", n=int(r0["incidents"]), k=int(r0["in_time"]))
            if related:
                in_time = t("share_incidents", share=percent(related_in_time / related, lang), n=related)
            else:
                in_time = t("na")
        judged = bool(rows["judged"].all()) if len(rows) else False
        out.append(
            InjectOutcome(inj, happened, in_time, related, related_in_time, missed, judged, names.target(inj, t))
        )
    return out


def aar_markdown(ex: ExerciseData, lang: str) -> str:
    """``aar.md``: the after-action summary (HSEEP spirit: objectives, what happened, shortfalls)."""
    t, info, decisions = _text(lang), ex.info, ex.decisions
    outcomes = inject_outcomes(ex.aar, ex.played, ex.names, lang)
    lines = [f"# {md_text(t('aar_title'))}", "", md_text(_scope(info, lang)), "", f"## {md_text(t('injects'))}", ""]
    head = [
        t(k) for k in ("col_no", "col_time", "col_kind", "col_target", "col_expected", "col_happened", "col_in_time")
    ]
    lines += ["| " + " | ".join(md_text(h) for h in head) + " |", "|" + "---|" * len(head)]
    for o in outcomes:
        i = o.inject
        cells = [
            str(i.number),
            _stamp(info, i.t),
            code_label("inject_kind", i.kind, lang),
            o.target,
            i.expected_action or i.message,
            o.happened,
            o.in_time,
        ]
        lines.append("| " + " | ".join(md_text(c) for c in cells) + " |")
    lines += ["", f"## {md_text(t('decisions'))}", ""]
    lines += _decision_lines(ex, lang)
    lines += ["", f"## {md_text(t('short'))}", ""]
    short = shortfalls(outcomes, decisions, ex.open_end, info, lang)
    lines += [f"- {md_text(s)}" for s in short] or [md_text(t("nothing_short"))]
    lines += ["", f"## {md_text(t('good'))}", ""]
    lines += [f"- {md_text(g)}" for g in went_well(outcomes, lang)] or [md_text(t("nothing_good"))]
    return "\n".join(lines) + "\n"


# Markdown's inline marks (code, emphasis, links, tables, strikethrough, math), backslash-escaped;
# an underscore inside a word ('unit_out') is no mark (CommonMark) and stays as it is.
_MD_MARKS = re.compile(r"[\\`*\[\]|~$]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def md_text(text: object) -> str:
    """Text on one line of ``aar.md`` (a table cell, a list item, a heading) shown as it is:
    white space runs one space, ``&``, ``<`` and ``>`` as HTML entities, Markdown's inline marks
    backslash-escaped (``<script>`` reads as text, ``|`` does not split a cell)."""
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_MARKS.sub(lambda m: "\\" + m.group(), s)


def _scope(info: ExerciseInfo, lang: str) -> str:
    t = _text(lang)
    shift = t("shifted", m=f"{info.shift_min:+g}") if info.shift_min else ""
    return (
        t(
            "scope",
            scenario=info.title or info.scenario,
            plan=info.plan,
            seed=info.seed,
            reps=info.replications,
            bg=t("on" if info.background else "off"),
            file=info.events_file,
            shift=shift,
        )
        + f" {date(info.election_day, lang)}."
    )


def _decision_counts(decisions: pd.DataFrame) -> tuple[dict[str, int], int, float]:
    first = decisions[decisions["replication"] == 0]
    counts = first["decision"].value_counts().to_dict()
    reps = max(int(decisions["replication"].max()) + 1, 1) if len(decisions) else 1
    return {str(k): int(v) for k, v in counts.items()}, len(first), len(decisions) / reps


def _decision_lines(ex: ExerciseData, lang: str) -> list[str]:
    t, log = _text(lang), ex.log(lang)
    _, n0, mean = _decision_counts(ex.decisions)
    lines = [md_text(t("decision_counts", n=n0, mean=f"{mean:.1f}".replace(".", "," if lang == "id" else ".")))]
    lines.append("")
    for r in ex.first_decisions.to_dict("records"):
        lines.append(f"- {md_text(_stamp(ex.info, float(r['t'])))} {md_text(log.decision(r))}")
    return lines


def went_well(outcomes: list[InjectOutcome], lang: str) -> list[str]:
    """Injects whose every incident that needed a unit, in every replication, was reached within
    its target (:attr:`InjectOutcome.went_well`); the judged injects not here are shortfalls."""
    t = _text(lang)
    out = []
    for o in outcomes:
        i = o.inject
        if o.went_well and i.kind == "incident":
            out.append(t("good_inject", n=i.number, target=o.target))
        elif o.went_well:
            out.append(
                t(
                    "good_related",
                    n=i.number,
                    kind=code_label("inject_kind", i.kind, lang),
                    target=o.target,
                    k=o.related,
                )
            )
    return out


def shortfalls(
    outcomes: list[InjectOutcome], decisions: pd.DataFrame, open_end: int, info: ExerciseInfo, lang: str
) -> list[str]:
    t = _text(lang)
    out = []
    for o in outcomes:
        i = o.inject
        if o.fell_short and i.kind == "incident":
            out.append(t("short_inject", n=i.number, target=o.target, k=o.missed_reps, r=info.replications))
        elif o.fell_short:
            out.append(
                t(
                    "short_related",
                    n=i.number,
                    kind=code_label("inject_kind", i.kind, lang),
                    target=o.target,
                    share=percent(o.related_share, lang),
                )
            )
    counts, _, _ = _decision_counts(decisions)
    for kind in ("no_unit_priority_1", "queue_long", "cut_off"):
        if counts.get(kind):
            what = code_label("decision", kind, lang)
            out.append(t("short_decisions", what=what[:1].upper() + what[1:], n=counts[kind]))
    if open_end:
        out.append(t("short_open", n=open_end))
    return out


# --- the timeline chart -----------------------------------------------------------------------


def _day_panels(items: list[tuple[float, float]], info: ExerciseInfo) -> list[tuple[float, float]]:
    """One x-range per calendar day with something on it [min]: from 30 min before its first item
    to 30 min after the last item starting that day (a multi-day exercise stays readable)."""
    base = info.epoch.hour * 60 + info.epoch.minute
    days: dict[int, list[tuple[float, float]]] = {}
    for a, b in items:
        days.setdefault(int((a + base) // 1440), []).append((a, b))
    panels = []
    for _, group in sorted(days.items()):
        lo = min(a for a, _ in group) - 30
        hi = max(b for _, b in group) + 30
        panels.append((lo, max(hi, lo + 120)))
    return panels


def timeline_chart(
    info: ExerciseInfo, incidents: pd.DataFrame, played: list[Inject], kecamatan: list[str], lang: str, out_dir: Path
) -> Path:
    """``timeline.png``: replication 0's dispatched incidents as bars per kecamatan, injects marked."""
    t = _text(lang)
    inc = incidents[(incidents["replication"] == 0) & incidents["t_report"].notna()].copy()
    inc["t_end"] = inc["t_clear"].fillna(inc["t_arrive"]).fillna(inc["t_report"] + 60)
    items = [(float(a), float(b)) for a, b in zip(inc["t_report"], inc["t_end"], strict=True)]
    items += [(i.t, min(i.t_end, i.t + 60)) for i in played]
    panels = _day_panels(items, info) or [(0.0, 120.0)]
    horizon = max(b for _, b in panels)
    rows = sorted(set(inc["kecamatan"]) | {kecamatan[i.kec] for i in played if i.kec >= 0}, key=kecamatan.index)
    rows += sorted({kecamatan[i.other] for i in played if i.other >= 0} - set(rows), key=kecamatan.index)
    y_of = {k: j for j, k in enumerate(rows)}
    with chart_style():
        fig = new_figure()
        total = sum(b - a for a, b in panels)
        widths = [max(b - a, 0.07 * total) for a, b in panels]  # a short day stays wide enough to read
        axes = fig.subplots(1, len(panels), sharey=True, width_ratios=widths, squeeze=False)[0]
        for n, (ax, (lo, hi)) in enumerate(zip(axes, panels, strict=True)):
            _draw_bars(ax, inc, y_of, horizon)
            _draw_injects(ax, played, y_of, kecamatan, lo, hi)
            ax.set_xlim(lo, hi)
            share = widths[n] / sum(widths)
            _clock_ticks(ax, info, lo, hi, max(1, int(12 * share)))
            day = moment(info.epoch, lo + 30).date()
            offset = (day - info.election_day).days
            label = "H" if offset == 0 else f"H{offset:+d}"
            ax.set_title(f"{label} · {date(day, lang)}" if share > 0.3 else label, loc="left", fontsize=10, pad=18)
            if n > 0:
                ax.spines["left"].set_visible(False)
                ax.tick_params(axis="y", length=0)
        axes[0].set_ylim(len(rows) - 0.5, -0.5) if rows else axes[0].set_ylim(0.5, -0.5)
        axes[0].set_yticks(range(len(rows)), [chart_label(k) for k in rows])
        fig.suptitle(f"{t('chart')} · {t('time_axis')}", x=0.01, ha="left")
        if not len(inc):
            axes[0].text(0.5, 0.5, t("no_incidents"), transform=axes[0].transAxes, ha="center", color="#777777")
        handles = [
            Patch(color=PRIORITY_COLOURS[1], label=t("priority", p=1)),
            Patch(color=PRIORITY_COLOURS[2], label=t("priority", p=2)),
            Patch(color=PRIORITY_COLOURS[3], label=t("priority_low")),
            Patch(color="#999999", alpha=0.35, label=t("waiting")),
            Patch(color="#999999", label=t("on_scene")),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=5, frameon=False)
        return save_figure(fig, out_dir, "timeline")


def _draw_bars(ax: Any, inc: pd.DataFrame, y_of: dict[str, int], horizon: float) -> None:
    """Incidents as bars in lanes within their kecamatan's row (overlapping ones side by side)."""
    for k, j in y_of.items():
        sub = inc[inc["kecamatan"] == k].sort_values("t_report")
        lanes: list[float] = []
        placed = []
        for r in sub.to_dict("records"):
            start = float(r["t_report"])
            lane = next((n for n, free in enumerate(lanes) if free <= start), len(lanes))
            if lane == len(lanes):
                lanes.append(float(r["t_end"]))
            else:
                lanes[lane] = float(r["t_end"])
            placed.append((r, lane))
        height = 0.8 / max(len(lanes), 1)
        for r, lane in placed:
            y = j - 0.4 + lane * height
            colour = PRIORITY_COLOURS[min(int(r["priority"]), 3)]
            arrive = horizon if pd.isna(r["t_arrive"]) else float(r["t_arrive"])
            clear = horizon if pd.isna(r["t_clear"]) else float(r["t_clear"])
            start = float(r["t_report"])
            ax.add_patch(Rectangle((start, y), arrive - start, height * 0.9, color=colour, alpha=0.35, lw=0))
            if arrive < clear:
                ax.add_patch(Rectangle((arrive, y), clear - arrive, height * 0.9, color=colour, lw=0))


def _draw_injects(
    ax: Any, played: list[Inject], y_of: dict[str, int], kecamatan: list[str], lo: float, hi: float
) -> None:
    """Injects as numbered dashed lines (labels staggered when close); closures hatched."""
    for inj in played:
        if inj.kind in ("road_closure", "flood"):
            for k in (inj.kec, inj.other):
                if k >= 0 and kecamatan[k] in y_of:
                    ax.add_patch(
                        Rectangle(
                            (inj.t, y_of[kecamatan[k]] - 0.45),
                            min(inj.t_end, hi + 60) - inj.t,
                            0.9,
                            fill=False,
                            hatch="///",
                            edgecolor="#777777",
                            lw=0.6,
                        )
                    )
    last_x, level = -math.inf, 0
    for inj in sorted(played, key=lambda i: i.t):
        if not lo <= inj.t <= hi:
            continue
        ax.axvline(inj.t, color="#333333", lw=0.8, ls=(0, (4, 3)), zorder=0)
        x = (inj.t - lo) / (hi - lo)
        level = (level + 1) % 3 if x - last_x < 0.04 else 0
        last_x = x
        ax.annotate(
            str(inj.number),
            (inj.t, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 1 + 9 * level),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )


def _clock_ticks(ax: Any, info: ExerciseInfo, lo: float, hi: float, most: int) -> None:
    base = info.epoch.hour * 60 + info.epoch.minute
    step = next((s for s in (15, 30, 60, 120, 180, 240, 360, 720) if (hi - lo) / s <= most), 1440)
    ax.tick_params(axis="x", labelsize=9)
    ticks = np.arange(math.ceil((lo + base) / step) * step - base, hi, step)
    labels = [f"{moment(info.epoch, x):%H:%M}" for x in ticks]
    ax.set_xticks(ticks, labels)


# --- the timeline page ------------------------------------------------------------------------


def timeline_html(ex: ExerciseData, aar_md_sections: dict[str, Any], chart: Path, lang: str) -> str:
    """``timeline.html``: one self-contained page (chart inline, no scripts)."""
    t, info = _text(lang), ex.info
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    img = base64.b64encode(chart.read_bytes()).decode("ascii")
    return env.get_template("exercise.html.j2").render(
        lang=lang,
        title=t("title"),
        scope=_scope(info, lang),
        chart_title=t("chart"),
        chart_caption=t("chart_caption"),
        chart_src=f"data:image/png;base64,{img}",
        log_title=t("log"),
        log=ex.log(lang).lines(ex.timeline[ex.timeline["replication"] == 0], ex.first_decisions),
        **aar_md_sections,
    )


def aar_sections(ex: ExerciseData, lang: str) -> dict[str, Any]:
    """The after-action summary as parts for the HTML page."""
    t, info, decisions, log = _text(lang), ex.info, ex.decisions, ex.log(lang)
    outcomes = inject_outcomes(ex.aar, ex.played, ex.names, lang)
    head = [
        t(k)
        for k in (
            "col_no",
            "col_time",
            "col_kind",
            "col_target",
            "col_message",
            "col_expected",
            "col_happened",
            "col_in_time",
        )
    ]
    rows = [
        [
            str(o.inject.number),
            _stamp(info, o.inject.t),
            code_label("inject_kind", o.inject.kind, lang),
            o.target,
            o.inject.message,
            o.inject.expected_action,
            o.happened,
            o.in_time,
        ]
        for o in outcomes
    ]
    first = decisions[decisions["replication"] == 0]
    _, n0, mean = _decision_counts(decisions)
    return {
        "injects_title": t("injects"),
        "inject_head": head,
        "inject_rows": rows,
        "decisions_title": t("decisions"),
        "decision_summary": t("decision_counts", n=n0, mean=f"{mean:.1f}".replace(".", "," if lang == "id" else ".")),
        "decision_rows": [(_stamp(info, float(r["t"])), log.decision(r)) for r in first.to_dict("records")],
        "short_title": t("short"),
        "short": shortfalls(outcomes, decisions, ex.open_end, info, lang) or [t("nothing_short")],
        "good_title": t("good"),
        "good": went_well(outcomes, lang) or [t("nothing_good")],
    }


# --- the exercise folder ----------------------------------------------------------------------

TEXT_COLUMNS = (
    *("type", "site_id", "kecamatan", "other_kecamatan", "unit_id", "resolved_by", "decision", "units"),
    *("event", "kind", "target", "time", "message", "expected_action", "role", "outcome"),
)


def _read(
    folder: Path,
    manifest: dict[str, Any],
    name: str,
    columns: Iterable[str],
    numbers: Iterable[str] = (),
    flags: Iterable[str] = (),
) -> pd.DataFrame:
    """A saved table the manifest lists, ids and codes as text (a TPS id '007' stays '007'), empty
    cells ''; refused unless it has ``columns``, ``numbers`` hold numbers and ``flags`` True/False
    (:func:`sim.report.data.read_table`)."""
    return read_table(folder, manifest, name, TableSpec(tuple(columns), tuple(numbers), tuple(flags), TEXT_COLUMNS))


@dataclass
class ExerciseData:
    """A finished exercise folder, read back (never played again) for its outputs in words."""

    path: Path
    manifest: dict[str, Any]
    info: ExerciseInfo
    timeline: pd.DataFrame
    decisions: pd.DataFrame
    aar: pd.DataFrame
    events: pd.DataFrame  # injects.csv: the events list as played
    incidents: pd.DataFrame
    sites: pd.DataFrame
    kecamatan: list[str]  # in the scenario's order
    played: list[Inject]  # replication 0's injects, as played (typed-in ones included)
    spec: Scenario  # the resolved scenario of the manifest: the incident types' labels

    @classmethod
    def load(cls, folder: str | Path) -> ExerciseData:
        path = Path(folder)
        manifest, spec, epoch, _ = verified_manifest(path)
        if manifest["command"] != "exercise":
            raise UserError(str(path), "manifest.json", "not an exercise folder")
        # the columns the review computes with, besides the text ones (TEXT_COLUMNS)
        numbers = {
            "timeline.csv": ("replication", "t", "inject", "incident_id", "priority", "minutes", "value", "count"),
            "decision_points.csv": tuple(c for c in DECISION_COLUMNS if c not in TEXT_COLUMNS),
            "aar.csv": ("replication", "inject", "t", "t_end", "incidents", "reached", "in_time", "response_min"),
            "injects.csv": ("number",),
            "incidents.csv": ("replication", "t_report", "t_arrive", "t_clear", "priority"),
        }
        flags = {"aar.csv": ("judged",)}
        tables = {n: _read(path, manifest, n, c, numbers[n], flags.get(n, ())) for n, c in EXERCISE_TABLES.items()}
        targets = _read(path, manifest, "targets.csv", ("kecamatan",))
        kecamatan = list(dict.fromkeys(targets["kecamatan"]))
        events = tables["injects.csv"]
        aar = tables["aar.csv"]
        first = aar[aar["replication"] == 0]
        by_number = {int(r["number"]): r for r in events.to_dict("records")}
        played = []
        for r in first.to_dict("records"):
            e = by_number.get(int(r["inject"]), {})
            kec = kecamatan.index(r["kecamatan"]) if r["kecamatan"] else -1
            other = kecamatan.index(r["other_kecamatan"]) if r["other_kecamatan"] else -1
            end = float(r["t_end"])
            played.append(
                Inject(
                    number=int(r["inject"]),
                    where="",
                    t=float(r["t"]),
                    kind=str(r["kind"]),
                    target=str(r["target"]),
                    duration_min=None if math.isnan(end) else end - float(r["t"]),
                    message=str(e.get("message", "")),
                    expected_action=str(e.get("expected_action", "")),
                    kec=kec,
                    other=other,
                )
            )
        info = ExerciseInfo.of(manifest, spec.election_day, epoch)
        return cls(
            path,
            manifest,
            info,
            tables["timeline.csv"],
            tables["decision_points.csv"],
            aar,
            events,
            tables["incidents.csv"],
            _read(path, manifest, "sites.csv", ("site_id", "kind", "name", "kecamatan")),
            kecamatan,
            played,
            spec,
        )

    @property
    def names(self) -> Names:
        return Names.of(self.sites)

    @property
    def first_decisions(self) -> pd.DataFrame:
        return self.decisions[self.decisions["replication"] == 0]

    @property
    def open_end(self) -> int:
        """Incidents still open at the end of replication 0."""
        inc = self.incidents
        return int(((inc["replication"] == 0) & (inc["outcome"] == "open_at_end")).sum())

    def log(self, lang: str) -> LogText:
        messages = {int(r["number"]): str(r["message"]) for r in self.events.to_dict("records")}
        return LogText(lang, self.names, self.info, messages, self.spec)


EXERCISE_TABLES: dict[str, Iterable[str]] = {
    "timeline.csv": TIMELINE_COLUMNS,
    "decision_points.csv": DECISION_COLUMNS,
    "aar.csv": AAR_COLUMNS,
    "injects.csv": EVENT_COLUMNS,
    "incidents.csv": ("replication", "kecamatan", "t_report", "t_arrive", "t_clear", "priority", "outcome"),
}
EXERCISE_FILES = ("charts/timeline.png", "aar.md", "timeline.html")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def is_exercise(folder: str | Path) -> bool:
    """Whether ``folder``'s manifest says an exercise made it (False if it has none readable: the
    run reader then says what is wrong with it)."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(manifest, dict) and manifest.get("command") == "exercise"


def write_exercise_report(folder: str | Path, lang: str = "id") -> list[Path]:
    """The exercise's outputs in ``lang`` from its saved tables: ``charts/timeline.png``,
    ``aar.md``, ``timeline.html``; the files written. All three are made in a staging folder and
    then moved into place, ``report.json`` last, as a run's report is (:mod:`sim.report.build`)."""
    if lang not in LANGS:
        raise UserError("--lang", lang, f"unknown language; valid: {', '.join(LANGS)}")
    ex = ExerciseData.load(folder)
    with staged_report(ex.path) as stage:
        (stage / "charts").mkdir()
        chart = timeline_chart(ex.info, ex.incidents, ex.played, ex.kecamatan, lang, stage / "charts")
        _write_text(stage / "aar.md", aar_markdown(ex, lang))
        _write_text(stage / "timeline.html", timeline_html(ex, aar_sections(ex, lang), chart, lang))
        files = [chart.relative_to(stage).as_posix(), "aar.md", "timeline.html"]
        return publish_report(ex.path, stage, lang, files, EXERCISE_FILES)
