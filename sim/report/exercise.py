"""The exercise's outputs: timeline chart, timeline page (HTML), after-action summary (Markdown).

Everything is built from the tables of :class:`sim.exercise.ExerciseResult`; the log shown is
replication 0's (the one played at the console), the after-action summary covers every
replication. Text is in Bahasa Indonesia (default) or English.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.patches import Patch, Rectangle

from sim.exercise import ExerciseResult, stamp
from sim.injects import COLUMNS, Inject
from sim.report.charts import _figure, _save, _style
from sim.report.i18n import Text, date, percent
from sim.runfolder import MANIFEST, sha256, write_csv

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


WORDS: dict[str, dict[str, str]] = {
    "title": {
        "id": "Latihan: linimasa dan ringkasan pasca-latihan",
        "en": "Exercise: timeline and after-action review",
    },
    "aar_title": {"id": "Ringkasan pasca-latihan (After-Action Review)", "en": "After-action review"},
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
    "dk_no_unit_priority_1": {"id": "tidak ada unit bebas untuk prioritas 1", "en": "no unit free for priority 1"},
    "dk_queue_long": {"id": "antrean panjang", "en": "long queue"},
    "dk_escalation": {"id": "eskalasi", "en": "escalation"},
    "dk_cut_off": {"id": "kecamatan terputus", "en": "kecamatan cut off"},
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


def _text(lang: str) -> Text:
    return Text(lang, WORDS)


def _stamp(info: ExerciseInfo, t: float) -> str:
    return stamp(info.epoch, info.election_day, t)


# --- the after-action summary ---------------------------------------------------------------


# Injects judged by the incidents they concern. A unit_back concerns none; a reinforcement helps
# with incidents rather than posing them (those its units took were late, if at all, for waiting
# before it came), so it is neither a shortfall nor a success.
JUDGED = ("incident", "surge", "road_closure", "flood", "unit_out")


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

    @property
    def related_share(self) -> float:
        """Share of related incidents reached in time (NaN if none)."""
        return self.related_in_time / self.related if self.related else math.nan

    @property
    def judged(self) -> bool:
        return self.inject.kind in JUDGED and self.related > 0

    @property
    def went_well(self) -> bool:
        """Every incident it needed a unit for, in every replication, reached within its target."""
        return self.judged and self.related_in_time == self.related

    @property
    def fell_short(self) -> bool:
        return self.judged and self.related_in_time < self.related


def inject_outcomes(aar: pd.DataFrame, played: list[Inject], lang: str) -> list[InjectOutcome]:
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
                    units = str(r0["unit_names"]).replace(";", ", ")
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
        out.append(InjectOutcome(inj, happened, in_time, related, related_in_time, missed))
    return out


def aar_markdown(
    info: ExerciseInfo, aar: pd.DataFrame, decisions: pd.DataFrame, open_end: int, played: list[Inject], lang: str
) -> str:
    """``aar.md``: the after-action summary (HSEEP spirit: objectives, what happened, shortfalls)."""
    t = _text(lang)
    outcomes = inject_outcomes(aar, played, lang)
    lines = [f"# {t('aar_title')}", "", _scope(info, lang), "", f"## {t('injects')}", ""]
    head = [
        t(k) for k in ("col_no", "col_time", "col_kind", "col_target", "col_expected", "col_happened", "col_in_time")
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for o in outcomes:
        i = o.inject
        cells = [
            str(i.number),
            _stamp(info, i.t),
            i.kind,
            i.target,
            i.expected_action or i.message,
            o.happened,
            o.in_time,
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    lines += ["", f"## {t('decisions')}", ""]
    lines += _decision_lines(info, decisions, lang)
    lines += ["", f"## {t('short')}", ""]
    short = shortfalls(outcomes, decisions, open_end, info, lang)
    lines += [f"- {s}" for s in short] or [t("nothing_short")]
    lines += ["", f"## {t('good')}", ""]
    lines += [f"- {g}" for g in went_well(outcomes, lang)] or [t("nothing_good")]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


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


def _decision_lines(info: ExerciseInfo, decisions: pd.DataFrame, lang: str) -> list[str]:
    t = _text(lang)
    _, n0, mean = _decision_counts(decisions)
    lines = [t("decision_counts", n=n0, mean=f"{mean:.1f}".replace(".", "," if lang == "id" else "."))]
    first = decisions[decisions["replication"] == 0]
    lines.append("")
    for r in first.to_dict("records"):
        lines.append(f"- {_stamp(info, float(r['t']))} {_md_cell(str(r['text']))}")
    return lines


def went_well(outcomes: list[InjectOutcome], lang: str) -> list[str]:
    """Injects whose every incident that needed a unit, in every replication, was reached within
    its target (:attr:`InjectOutcome.went_well`); the judged injects not here are shortfalls."""
    t = _text(lang)
    out = []
    for o in outcomes:
        i = o.inject
        if o.went_well and i.kind == "incident":
            out.append(t("good_inject", n=i.number, target=i.target))
        elif o.went_well:
            out.append(t("good_related", n=i.number, kind=i.kind, target=i.target, k=o.related))
    return out


def shortfalls(
    outcomes: list[InjectOutcome], decisions: pd.DataFrame, open_end: int, info: ExerciseInfo, lang: str
) -> list[str]:
    t = _text(lang)
    out = []
    for o in outcomes:
        i = o.inject
        if o.fell_short and i.kind == "incident":
            out.append(t("short_inject", n=i.number, target=i.target, k=o.missed_reps, r=info.replications))
        elif o.fell_short:
            out.append(
                t("short_related", n=i.number, kind=i.kind, target=i.target, share=percent(o.related_share, lang))
            )
    counts, _, _ = _decision_counts(decisions)
    for kind in ("no_unit_priority_1", "queue_long", "cut_off"):
        if counts.get(kind):
            out.append(t("short_decisions", what=t(f"dk_{kind}").capitalize(), n=counts[kind]))
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
    with _style():
        fig = _figure()
        total = sum(b - a for a, b in panels)
        widths = [max(b - a, 0.07 * total) for a, b in panels]  # a short day stays wide enough to read
        axes = fig.subplots(1, len(panels), sharey=True, width_ratios=widths, squeeze=False)[0]
        for n, (ax, (lo, hi)) in enumerate(zip(axes, panels, strict=True)):
            _draw_bars(ax, inc, y_of, horizon)
            _draw_injects(ax, played, y_of, kecamatan, lo, hi)
            ax.set_xlim(lo, hi)
            share = widths[n] / sum(widths)
            _clock_ticks(ax, info, lo, hi, max(1, int(12 * share)))
            day = (info.epoch + dt.timedelta(minutes=lo + 30)).date()
            offset = (day - info.election_day).days
            label = "H" if offset == 0 else f"H{offset:+d}"
            ax.set_title(f"{label} · {date(day, lang)}" if share > 0.3 else label, loc="left", fontsize=10, pad=18)
            if n > 0:
                ax.spines["left"].set_visible(False)
                ax.tick_params(axis="y", length=0)
        axes[0].set_ylim(len(rows) - 0.5, -0.5) if rows else axes[0].set_ylim(0.5, -0.5)
        axes[0].set_yticks(range(len(rows)), rows)
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
        return _save(fig, out_dir, "timeline")


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
    labels = [f"{info.epoch + dt.timedelta(minutes=float(x)):%H:%M}" for x in ticks]
    ax.set_xticks(ticks, labels)


# --- the timeline page ------------------------------------------------------------------------


def timeline_html(
    info: ExerciseInfo,
    timeline: pd.DataFrame,
    aar_md_sections: dict[str, Any],
    chart: Path,
    lang: str,
) -> str:
    """``timeline.html``: one self-contained page (chart inline, no scripts)."""
    t = _text(lang)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    log = timeline[timeline["replication"] == 0]
    img = base64.b64encode(chart.read_bytes()).decode("ascii")
    return env.get_template("exercise.html.j2").render(
        lang=lang,
        title=t("title"),
        scope=_scope(info, lang),
        chart_title=t("chart"),
        chart_caption=t("chart_caption"),
        chart_src=f"data:image/png;base64,{img}",
        log_title=t("log"),
        log=list(zip(log["event"].astype(str), log["text"].astype(str), strict=True)),
        **aar_md_sections,
    )


def aar_sections(
    info: ExerciseInfo, aar: pd.DataFrame, decisions: pd.DataFrame, open_end: int, played: list[Inject], lang: str
) -> dict[str, Any]:
    """The after-action summary as parts for the HTML page."""
    t = _text(lang)
    outcomes = inject_outcomes(aar, played, lang)
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
            o.inject.kind,
            o.inject.target,
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
        "decision_rows": [(_stamp(info, float(r["t"])), str(r["text"])) for r in first.to_dict("records")],
        "short_title": t("short"),
        "short": shortfalls(outcomes, decisions, open_end, info, lang) or [t("nothing_short")],
        "good_title": t("good"),
        "good": went_well(outcomes, lang) or [t("nothing_good")],
    }


# --- the exercise folder ----------------------------------------------------------------------

PLAYED_COLUMNS = COLUMNS


def played_table(played: list[Inject], info: ExerciseInfo) -> pd.DataFrame:
    """The injects as played (shifted, live ones included), as an events list that replays them."""
    rows = []
    for i in played:
        d = info.epoch + dt.timedelta(minutes=float(i.t))
        time = f"{d:%Y-%m-%d %H:%M}" if d.second == 0 and d.microsecond == 0 else f"{d:%Y-%m-%dT%H:%M:%S}"
        if i.kind in ("road_closure", "flood"):
            value = "" if i.value is None or math.isinf(i.value) else f"{i.value:g}"
        elif i.kind in ("reinforcement", "surge"):
            value = f"{i.value:g}" if i.value is not None else ""
        else:
            value = ""
        rows.append(
            {
                "number": i.number,
                "time": time,
                "kind": i.kind,
                "target": i.target,
                "type": i.type if i.kind in ("incident", "surge") else "",
                "priority": "" if i.priority is None else str(i.priority),
                "value": value,
                "duration": "" if i.duration_min is None else f"{i.duration_min:g}",
                "role": i.role if i.kind == "reinforcement" else "",
                "message": i.message,
                "expected_action": i.expected_action,
            }
        )
    return pd.DataFrame(rows, columns=list(PLAYED_COLUMNS))


def write_exercise(
    out: Path,
    result: ExerciseResult,
    info: ExerciseInfo,
    kecamatan: list[str],
    lang: str,
    manifest: dict[str, Any],
) -> list[Path]:
    """Write the exercise folder ``out`` (must not exist): built in a temporary sibling folder,
    then renamed, so a folder either is complete (with ``manifest.json``) or does not exist."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "charts").mkdir(parents=True)
    try:
        open_end = int(((result.incidents["replication"] == 0) & (result.incidents["outcome"] == "open_at_end")).sum())
        tables = {
            "timeline.csv": result.timeline,
            "decision_points.csv": result.decisions,
            "aar.csv": result.aar,
            "injects.csv": played_table(result.events, info),
            "incidents.csv": result.incidents,
            "units.csv": result.units,
        }
        for name, df in tables.items():
            write_csv(df, tmp / name)
        chart = timeline_chart(info, result.incidents, result.played, kecamatan, lang, tmp / "charts")
        md = aar_markdown(info, result.aar, result.decisions, open_end, result.played, lang)
        (tmp / "aar.md").write_text(md, encoding="utf-8")
        sections = aar_sections(info, result.aar, result.decisions, open_end, result.played, lang)
        (tmp / "timeline.html").write_text(
            timeline_html(info, result.timeline, sections, chart, lang), encoding="utf-8"
        )
        files = {str(p.relative_to(tmp)): sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        (tmp / MANIFEST).write_text(
            json.dumps({**manifest, "files": files}, indent=2, default=str, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / name for name in files] + [out / MANIFEST]
