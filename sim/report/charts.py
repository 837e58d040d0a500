"""Charts of a finished run folder: one PNG per question a planner asks, in Indonesian or English.

Every chart is drawn on its own ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot, no
figure manager; the style is a temporary ``rc_context``), at 1600x900 px, and written atomically
(a temporary name in the output folder, then renamed). The same data give the same bytes. Each
plan keeps its colour in every chart (the order of ``run.plans``). A chart whose data the run
lacks (no comparison, not a sweep, no dispatched incident) is skipped: no file, no entry in the
returned list.

All times in the tables are minutes from the scenario epoch; the charts show them as local clock
times (WITA for Kutim). Every statistic is read as :mod:`sim.metrics` defines it, from the columns
of ``incidents.csv``: over dispatched incidents (those that needed a unit), ``response_min``
censored at the horizon for those never reached (a lower bound, so never fast), ``within_target``
judged by the target for the incident's kecamatan and priority, percentiles by the one inverted-CDF
definition. Per-group figures come from :mod:`sim.report.data` (``response_stats``,
``kecamatan_table``), the same functions the briefing and the workbook use, so a chart and the
briefing table never show two values for one statistic. The data behind the response charts is
public (``response_ecdf_data``, ``kecamatan_chart_data``, ``tps_stats``) for tests to check.

Text from the scenario (kecamatan names, incident-type labels, plan names, swept values) is drawn
as plain text whatever it holds: mathtext is off (``text.parse_math`` in :data:`STYLE`, so a ``$``
in a name is a dollar sign), a character the font lacks (emoji, control characters) is drawn as
the font's empty box without a warning on stderr (:func:`chart_style`), and a name on a tick,
legend or map label is cut at :data:`LABEL_MAX_CHARS` (:data:`LEGEND_MAX_CHARS` for a type's
label in a legend) with an ellipsis (:func:`chart_label`; captions, the briefing and the workbook
keep it whole).

Targets are per kecamatan and priority (``targets.csv``): the response curves mark the
priority-1 targets (the calls that must not be late), the kecamatan chart each kecamatan's
priority-1 target and the range up to its least urgent one.

In a sweep, the day-by-day charts (response curves, incidents per hour, busy units, kecamatan,
map) show the first grid point only, named in their titles; ``sweep_curve`` shows every point.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import textwrap
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from babel.dates import format_date
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from sim import metrics
from sim.report.content import MIN_INCIDENTS, key_words
from sim.report.data import (
    TARGET_SHARE,
    RunData,
    dispatched,
    kecamatan_table,
    response_stats,
    share_as_shown,
    sweep_order,
    sweep_verdicts,
    weakest_first,
)
from sim.report.i18n import Text, clock, kpi_label, number, percent, percent_short_of, value_label
from sim.report.map import MAP_WORDS, draw_map
from sim.timeparse import moment

P90_SHARE = 0.9  # the response curve's marked share: the pooled p90 is where it crosses it

FIGSIZE = (10.0, 5.625)  # inches: 1600 x 900 px at DPI
DPI = 160
# Okabe-Ito colours (readable for colour-blind viewers), one per plan in run.plans order.
PLAN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B")
TYPE_COLOURS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F")
PHASE_COLOURS = {
    "logistics": "#F2F2F2",
    "voting": "#DCE9F5",
    "counting": "#FBE7D0",
    "escort": "#E6F2DF",
    "recap": "#EEE3F2",
    "plenary": "#F7E1E1",
}
MINUTE_TICKS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440, 2880, 5760)
WINDOW_AFTER_VOTING_H = 12  # the day charts run from logistics_start to voting end + this [h]
GRID_STEP_MIN = 10.0  # resampling step of the busy/open time series [min]
STYLE: dict[Any, Any] = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
    "figure.titlesize": 15,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.8,
    "legend.framealpha": 0.92,
    "legend.edgecolor": "#CCCCCC",
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "text.parse_math": False,  # every label is plain text: a '$' in a kecamatan name is not mathtext
}
LABEL_MAX_CHARS = 40  # a scenario name on a tick or map label is cut here, with '…'
LEGEND_MAX_CHARS = 60  # an incident type's label in a legend (wrapped to two lines) is cut here

CHART_WORDS: dict[str, dict[str, str]] = {
    # titles
    "t_response_ecdf": {
        "id": "Berapa cepat kejadian didatangi unit? (semua replikasi digabung)",
        "en": "How fast are incidents reached? (all replications pooled)",
    },
    "t_incidents_per_hour": {
        "id": "Kejadian per jam menurut jenis, {start} – {end}, dan per hari",
        "en": "Incidents per hour by type, {start} – {end}, and per day",
    },
    "t_busy_open": {
        "id": "Unit sibuk dan kejadian terbuka, {start} – {end}",
        "en": "Busy units and open incidents, {start} – {end}",
    },
    "t_kecamatan_response": {
        "id": "Per kecamatan: kejadian didatangi dalam target, dan waktu tanggap (p50, p90 gabungan) terhadap "
        "target per prioritas",
        "en": "Per kecamatan: incidents reached within target, and response time (pooled p50, p90) against the "
        "targets by priority",
    },
    "t_comparison_forest": {
        "id": "Selisih tiap rencana terhadap rencana acuan {baseline} (berpasangan, selang kepercayaan 95%)",
        "en": "Each plan minus the reference plan {baseline} (paired, 95% confidence interval)",
    },
    "t_sweep_curve": {
        "id": "Setiap titik variasi: rata-rata, dan selisih berpasangan terhadap titik acuan",
        "en": "Every sweep point: the mean, and the paired change from the reference point",
    },
    "sweep_point": {"id": "{title} [titik acuan: {values}]", "en": "{title} [reference point: {values}]"},
    # axes, legends
    "response_log": {"id": "Waktu tanggap (menit, skala log)", "en": "Response time (minutes, log scale)"},
    "share_dispatched": {
        "id": "Kejadian dengan waktu tanggap ≤ x\n(dari yang memerlukan unit)",
        "en": "Incidents with response ≤ x\n(of those needing a unit)",
    },
    "censored_part": {
        "id": "titik-titik: termasuk kejadian yang tidak didatangi,\ndihitung sampai akhir simulasi",
        "en": "dotted: includes incidents never reached,\ncounted until the end of the simulation",
    },
    "legend_reached": {"id": "{plan} ({share} didatangi, gabungan)", "en": "{plan} ({share} reached, pooled)"},
    "target_lines": {
        "id": "Target prioritas {p} per kecamatan (menit, atas)",
        "en": "Priority {p} targets per kecamatan (minutes, top)",
    },
    "mean_per_rep": {
        "id": "Kejadian per jam (rata-rata per replikasi)",
        "en": "Incidents per hour (mean per replication)",
    },
    "per_day": {"id": "Kejadian per hari", "en": "Incidents per day"},
    "day": {"id": "Hari", "en": "Day"},
    "types_of": {"id": "Jenis kejadian (rencana {plan})", "en": "Incident type (plan {plan})"},
    "whole_period": {"id": "Seluruh periode", "en": "Whole period"},
    "mean_end": {"id": "(rata-rata)", "en": "(mean)"},
    "band_note": {
        "id": "garis: rata-rata antar replikasi; pita: selang kepercayaan 95% (t) rata-rata",
        "en": "line: mean over replications; band: 95% confidence interval (t) of the mean",
    },
    "p50": {"id": "p50 gabungan (median)", "en": "pooled p50 (median)"},
    "p90": {"id": "p90 gabungan", "en": "pooled p90"},
    "within_all": {"id": "semua kejadian", "en": "all incidents"},
    "within_p1": {"id": "prioritas 1", "en": "priority 1"},
    "below_goal": {"id": "di bawah {goal}", "en": "below {goal}"},
    "target_mark": {"id": "Target prioritas 1", "en": "Priority 1 target"},
    "target_range": {
        "id": "Target prioritas lain\n(paling lama: prioritas {p})",
        "en": "Other priorities' targets\n(longest: priority {p})",
    },
    "diff_minutes": {"id": "Selisih (menit)", "en": "Difference (minutes)"},
    "diff_points": {"id": "Selisih (poin persentase)", "en": "Difference (percentage points)"},
    "better": {"id": "lebih baik", "en": "better"},
    "min_short": {"id": "menit", "en": "min"},
    "points_short": {"id": "poin", "en": "points"},
    "worse": {"id": "lebih buruk", "en": "worse"},
    "not_sig": {"id": "tidak nyata", "en": "not significant"},
    "significant": {"id": "nyata (selang tidak memuat 0)", "en": "significant (interval excludes 0)"},
    "not_significant": {"id": "tidak nyata (selang memuat 0)", "en": "not significant (interval includes 0)"},
    "and": {"id": "dan", "en": "and"},
    # captions
    "c_ecdf": {
        "id": "90% kejadian yang memerlukan unit sudah didatangi dalam {items} (p90 gabungan){tail}.",
        "en": "90% of the incidents that needed a unit were reached within {items} (pooled p90){tail}.",
    },
    "c_ecdf_item": {"id": "{minutes} menit dengan {plan}", "en": "{minutes} min with {plan}"},
    "c_ecdf_tail": {
        "id": "; dengan {plan} hanya {share} dari semua kejadiannya yang didatangi (p90 gabungan sedikitnya "
        "{minutes} menit)",
        "en": "; with {plan} only {share} of all its incidents were reached (pooled p90 at least {minutes} min)",
    },
    "c_ecdf_none": {
        "id": "Dengan tiap rencana kurang dari 90% kejadian yang memerlukan unit didatangi ({items}).",
        "en": "With every plan fewer than 90% of the incidents that needed a unit were reached ({items}).",
    },
    "c_ecdf_none_item": {
        "id": "{plan} {share}, p90 gabungan sedikitnya {minutes} menit",
        "en": "{plan} {share}, pooled p90 at least {minutes} min",
    },
    "c_per_hour": {
        "id": "Puncaknya {when} dengan rata-rata {rate} kejadian per jam, terutama {type}; "
        "{share} dari semua kejadian terjadi pada hari pemungutan.",
        "en": "The peak is at {when} with {rate} incidents per hour on average, mostly {type}; "
        "{share} of all incidents happen on voting day.",
    },
    "c_busy_open": {
        "id": "Kejadian terbuka paling menumpuk dengan {plan}: rata-rata {peak} pada {when}{others}.",
        "en": "Open incidents pile up most with {plan}: {peak} on average at {when}{others}.",
    },
    "c_busy_others": {"id": ", dibanding {items}", "en": ", against {items}"},
    "c_busy_item": {"id": "{peak} dengan {plan}", "en": "{peak} with {plan}"},
    "c_kecamatan": {
        "id": "Kurang dari {goal} kejadian didatangi dalam target di {counts}; terlemah {kec} dengan {plan} "
        "({w} dalam target, p90 gabungan {p90} menit).",
        "en": "Fewer than {goal} of incidents are reached within target in {counts}; the weakest is {kec} with "
        "{plan} ({w} within target, pooled p90 {p90} min).",
    },
    "c_kecamatan_ok": {
        "id": "Di setiap kecamatan sedikitnya {goal} kejadian didatangi dalam target ({n} kecamatan dengan kejadian).",
        "en": "In every kecamatan at least {goal} of incidents are reached within target ({n} kecamatan with "
        "incidents).",
    },
    "c_count_first": {"id": "{k} dari {n} kecamatan dengan {plan}", "en": "{k} of {n} kecamatan with {plan}"},
    "c_count_item": {"id": "{k} dengan {plan}", "en": "{k} with {plan}"},
    "c_forest": {
        "id": "Dibanding rencana acuan {baseline}: {items}.",
        "en": "Against the reference plan {baseline}: {items}.",
    },
    "c_forest_item": {
        "id": "{plan} mengubah rata-rata waktu tanggap {diff} menit (selang kepercayaan 95%: {lo} s.d. {hi}) "
        "dan kejadian dalam target {pp} poin",
        "en": "{plan} changes the mean response by {diff} min (95% confidence interval {lo} to {hi}) and the share "
        "within target by "
        "{pp} points",
    },
    "c_sweep": {
        "id": "Dengan {plan}, dari titik acuan ({reference}) ke {point}: rata-rata waktu tanggap {m0} → {m1} menit "
        "(selisih {dm}, selang berpasangan {dm_lo} s.d. {dm_hi}) dan kejadian dalam target {w0} → {w1} "
        "({dw} poin, {dw_lo} s.d. {dw_hi}). Pita: selang kepercayaan 95% tiap titik; batang: selang berpasangan "
        "terhadap titik acuan (hari simulasi yang sama); garis putus-putus: {goal} dalam target.",
        "en": "With {plan}, from the reference point ({reference}) to {point}: mean response {m0} → {m1} min "
        "(change {dm}, paired interval {dm_lo} to {dm_hi}) and share within target {w0} → {w1} "
        "({dw} points, {dw_lo} to {dw_hi}). Band: each point's 95% confidence interval; bars: the paired "
        "interval against the reference point (the same simulated days); dashed line: {goal} within target.",
    },
    "sweep_reference": {"id": "titik acuan (garis titik-titik: nilainya)", "en": "reference point (dotted: its level)"},
    "sweep_paired_bar": {"id": "selang berpasangan terhadap acuan", "en": "paired interval against the reference"},
    "sweep_goal": {"id": "{goal} dalam target", "en": "{goal} within target"},
    **MAP_WORDS,
}


@dataclass
class Chart:
    name: str  # file stem, e.g. "response_ecdf"
    path: Path  # the PNG written
    title: str  # in the chosen language
    caption: str  # one sentence in the chosen language saying what to notice, computed from the data


# --- the entry point ---------------------------------------------------------------------------


def make_charts(run: RunData, lang: str, out_dir: Path) -> list[Chart]:
    """Draw every chart the run has data for into ``out_dir``; return them in reading order."""
    t = Text(lang, CHART_WORDS)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    makers: list[Callable[[RunData, Text, _View], tuple[Figure, str, str] | None]] = [
        _response_ecdf,
        _incidents_per_hour,
        _busy_open,
        _kecamatan_response,
        _comparison_forest,
        _sweep_curve,
        _map,
    ]
    view = _view(run, t.lang)
    charts = []
    for make in makers:
        name = make.__name__.lstrip("_")
        with chart_style():
            made = make(run, t, view)
            if made is None:
                continue
            fig, title, caption = made
            path = save_figure(fig, out_dir, name)
        charts.append(Chart(name, path, title, caption))
    return charts


# --- shared helpers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """The rows the day charts use: every row of a plain run, the reference point of a sweep (the
    point the others are paired with; drawing every point's day would be unreadable on a
    projector: the sweep curve and the per-point table show them all)."""

    incidents: pd.DataFrame
    timeseries: pd.DataFrame
    kpis: pd.DataFrame
    note: str  # names the sweep's reference point in titles; empty otherwise


def _view(run: RunData, lang: str) -> _View:
    if not run.is_sweep:
        return _View(run.incidents, run.timeseries, run.kpis, "")
    point = run.reference_point
    assert point is not None  # a sweep's manifest has it (sim.report.data checks)

    def pick(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["point"] == point] if "point" in df.columns else df

    return _View(pick(run.incidents), pick(run.timeseries), pick(run.kpis), _sweep_point_text(run, point, lang))


def _titled(t: Text, view: _View, title: str) -> str:
    return t("sweep_point", title=title, values=view.note) if view.note else title


@contextmanager
def chart_style() -> Iterator[None]:
    """The reports' chart style (matplotlib rc settings) inside the ``with`` block; a glyph the
    font lacks is drawn as its empty box, without matplotlib's warning (stderr stays quiet)."""
    with mpl.rc_context(STYLE), warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        yield


def chart_label(text: object, limit: int = LABEL_MAX_CHARS) -> str:
    """A name from the scenario as a chart shows it: every run of white space (a newline, a tab)
    one space, cut at ``limit`` characters with '…'."""
    s = re.sub(r"\s+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def new_figure(**kw: Any) -> Figure:
    """A figure of the reports' size and resolution, drawn without a display (Agg)."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained", **kw)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out_dir: Path, name: str) -> Path:
    """Write the figure as ``<name>.png`` via a temporary file and a rename (never half-written)."""
    path = out_dir / f"{name}.png"
    tmp = out_dir / f".{name}.png.tmp-{os.getpid()}"
    try:
        fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _plan_colour(run: RunData, plan: str) -> str:
    return PLAN_COLOURS[run.plans.index(plan) % len(PLAN_COLOURS)]


def _join(items: list[str], t: Text) -> str:
    """'a, b dan c' / 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {t('and')} {items[-1]}"


def _minutes(x: float, t: Text) -> str:
    return number(round(x), t.lang)


def _signed(x: float, lang: str, decimals: int = 0) -> str:
    s = number(abs(x), lang, decimals)
    if round(x, decimals) == 0:
        return s
    return ("+" if x > 0 else "−") + s


def _type_labels(run: RunData, lang: str) -> dict[str, str]:
    """Incident type -> short label: the scenario's label without its bracketed detail."""
    out = {}
    for name, ty in run.spec.incidents.types.items():
        label = (ty.label_id if lang == "id" else ty.label_en) or ty.label_en or ty.label_id or name
        out[name] = label.split(" (")[0].strip()
    return out


def _log_minutes_x(ax: Axes, lo: float, hi: float, lang: str) -> None:
    """A log x axis in minutes from lo to hi with round tick values in the locale's numbers."""
    lo, hi = max(lo, 0.5), max(hi, lo * 2)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator([v for v in MINUTE_TICKS if lo <= v <= hi]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, lang)))
    ax.xaxis.set_minor_locator(NullLocator())


def _window(run: RunData) -> tuple[float, float]:
    """The election-day window [min]: logistics start to 12 h after voting ends (or the horizon)."""
    tl = run.timeline
    return tl.logistics_start, min(tl.voting_end + WINDOW_AFTER_VOTING_H * 60.0, tl.horizon)


def _at(run: RunData, minutes: float) -> dt.datetime:
    return moment(run.epoch, minutes)


def _short_when(run: RunData, minutes: float, lang: str) -> str:
    """'27 Nov 10:20'."""
    d = _at(run, minutes)
    return f"{format_date(d.date(), 'd MMM', locale=lang)} {clock(d, lang)}"


def _time_axis(ax: Axes, run: RunData, t0: float, t1: float, lang: str, labels: bool = True) -> None:
    """Clock-time ticks every 3 h (6 h on long windows), with the date under the first tick of a day."""
    step = 180.0 if (t1 - t0) <= 48 * 60 else 360.0
    off = run.epoch.hour * 60 + run.epoch.minute
    first = math.ceil((t0 + off) / step) * step - off
    ticks = np.arange(first, t1 + 1e-9, step)
    texts, last_day = [], None
    for m in ticks:
        d = _at(run, m)
        lab = clock(d, lang)
        if d.date() != last_day:
            lab += "\n" + format_date(d.date(), "d MMM", locale=lang)
            last_day = d.date()
        texts.append(lab)
    ax.set_xticks(ticks, texts if labels else [""] * len(ticks))
    ax.set_xlim(t0, t1)


def _phase_spans(run: RunData, incidents: pd.DataFrame, t0: float, t1: float) -> list[tuple[str, float, float]]:
    """Phase windows [min] clipped to (t0, t1): logistics, voting, counting to its mean end, escort
    to the last escort-phase incident, the recap days and the plenary."""
    tl, c = run.timeline, run.spec.phases.counting
    voters = run.sites.loc[run.sites["kind"] == "tps", "voters"].to_numpy(dtype=float)
    count_min = float(np.mean(np.minimum(c.base_min + c.per_voter_min * c.turnout * voters, c.max_min)))
    count_end = tl.voting_end + count_min
    esc = incidents.loc[incidents["phase"] == "escort", "t_occur"]
    spans = [
        ("logistics", tl.logistics_start, tl.voting_start),
        ("voting", tl.voting_start, tl.voting_end),
        ("counting", tl.voting_end, count_end),
    ]
    if len(esc) and float(esc.max()) > count_end:
        spans.append(("escort", count_end, float(esc.max())))
    spans += [("recap", a, b) for a, b in tl.recap_windows]
    spans.append(("plenary", *tl.plenary))
    return [(k, max(a, t0), min(b, t1)) for k, a, b in spans if min(b, t1) > max(a, t0)]


def _shade_phases(ax: Axes, spans: list[tuple[str, float, float]]) -> None:
    """Shade the phase windows behind the data."""
    for key, a, b in spans:
        ax.axvspan(a, b, color=PHASE_COLOURS[key], zorder=0, lw=0)


def _phase_legend(fig: Figure, spans: list[tuple[str, float, float]], t: Text, run: RunData) -> None:
    """Name the shaded phases in one row of patches at the bottom (labels on the bands would
    collide where phases are short; a legend at the top would collide with the title)."""
    handles: list[Patch] = []
    for key, a, b in spans:
        name = t(f"phase_{key}")
        if key == "voting":
            name += f" {clock(_at(run, a), t.lang)}–{clock(_at(run, b), t.lang)}"
        if key == "counting":
            name += " " + t("mean_end")
        if name not in [h.get_label() for h in handles]:
            handles.append(Patch(fc=PHASE_COLOURS[key], ec="#AAAAAA", label=name))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles) if len(handles) <= 4 else math.ceil(len(handles) / 2),  # two rows when many
        fontsize=10.5,
        frameon=False,
        handlelength=1.4,
        columnspacing=1.5,
    )


def _title(fig: Figure, title: str) -> str:
    """Put the title on the figure (wrapped to two lines when long); return it unwrapped."""
    fig.suptitle(textwrap.fill(title, 78), fontweight="bold")
    return title


def _reps(view: _View, plan: str) -> int:
    """Replications of a plan in the view (from kpis: a replication without incidents still counts)."""
    return int(view.kpis.loc[view.kpis["plan"] == plan, "replication"].nunique())


# --- 1. response ECDF --------------------------------------------------------------------------


POOLED_P90 = f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min"


@dataclass(frozen=True)
class Ecdf:
    """One plan's response curve: its dispatched incidents' ``response_min`` (censored) sorted, and
    the figures the caption quotes (the pooled p90 as percentiles.csv has it, the reached share)."""

    response_min: np.ndarray  # sorted [min]; unreached ones at their censored value
    reached: np.ndarray  # bool, in the same order
    p90: float  # pooled p90 [min] (sim.metrics.percentile)
    reached_share: float

    @property
    def share(self) -> np.ndarray:
        """y of the curve: share of dispatched incidents with response at or below each x."""
        return np.arange(1, len(self.response_min) + 1) / len(self.response_min)


def response_ecdf_data(incidents: pd.DataFrame, plans: list[str]) -> dict[str, Ecdf]:
    """Per plan with dispatched incidents: the data of the response curve, pooled over replications."""
    out = {}
    for p in plans:
        d = dispatched(incidents[incidents["plan"] == p])
        if not len(d):
            continue
        resp = d["response_min"].to_numpy(dtype=float)
        order = np.argsort(resp, kind="stable")
        st = response_stats(d)
        out[p] = Ecdf(resp[order], d["reached"].to_numpy(dtype=bool)[order], st[POOLED_P90], st["reached_share"])
    return out


def _urgent_targets(run: RunData) -> tuple[int, list[float]]:
    """The most urgent priority the incident types use (1 in practice) and its kecamatan targets [min]."""
    if not len(run.targets):
        return 1, []
    p = int(run.targets["priority"].min())
    return p, sorted(set(run.targets.loc[run.targets["priority"] == p, "target_min"].astype(float)))


def _response_ecdf(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """Share of dispatched incidents with a response within x minutes, per plan, pooled over
    replications: the empirical distribution of ``response_min``, so the curve crosses 90% at the
    pooled p90 of percentiles.csv. Incidents never reached count at their censored value; from the
    first of them on the curve is dotted (a lower bound there), and the legend gives each plan's
    reached share. x: response time [min], log scale. Dashed lines: the kecamatan targets of the
    most urgent priority [min] (the other priorities' targets are longer).
    """
    data = response_ecdf_data(view.incidents, run.plans)
    if not data:
        return None
    values = np.concatenate([e.response_min for e in data.values()])
    priority, targets = _urgent_targets(run)
    # from the 1st percentile: a handful of very short responses (a unit already on the road)
    # would otherwise take a quarter of the width
    lo = max(float(np.percentile(values, 1)) * 0.8, 0.5)
    hi = max(float(values.max()) * 1.25, max(targets, default=0.0) * 1.3)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.grid(True, which="major")
    ax.axhline(P90_SHARE, color="#888888", lw=1, ls=":", zorder=1)
    dotted = False
    for p, e in data.items():
        x, y = e.response_min, e.share
        xs, ys = np.r_[min(lo, x[0]), x, hi], np.r_[0, y, y[-1]]
        first = int(np.argmin(e.reached)) if not e.reached.all() else len(x)  # first censored value
        c = _plan_colour(run, p)
        label = t("legend_reached", plan=p, share=percent(e.reached_share, t.lang))
        # solid up to the first censored value, dotted from its step on
        solid_y = np.r_[ys[: first + 1], ys[first]]
        ax.step(xs[: first + 2], solid_y, where="post", color=c, lw=2.6, label=label, zorder=3)
        if first < len(x):
            dotted = True
            ax.step(
                np.r_[xs[first + 1], xs[first + 1 :]],
                np.r_[ys[first], ys[first + 1 :]],
                where="post",
                color=c,
                lw=2.0,
                ls=":",
                zorder=3,
            )
    _log_minutes_x(ax, lo, hi, t.lang)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for tg in targets:
        ax.axvline(tg, color="#444444", lw=1.1, ls="--", zorder=2)
        ax.text(tg, 1.01, number(tg, t.lang), transform=trans, ha="center", va="bottom", fontsize=10.5, color="#444444")
    ax.set_ylim(0, 1.0)
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, P90_SHARE, 1.0]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: percent(v, t.lang)))
    ax.set_xlabel(t("response_log"))
    ax.set_ylabel(t("share_dispatched"))
    handles, _ = ax.get_legend_handles_labels()
    if targets:
        handles.append(Line2D([], [], color="#444444", lw=1.1, ls="--", label=t("target_lines", p=priority)))
    if dotted:
        handles.append(Line2D([], [], color="#444444", lw=2.0, ls=":", label=t("censored_part")))
    ax.legend(handles=handles, loc="lower right", title=t("plan"))
    return fig, _title(fig, _titled(t, view, t("t_response_ecdf"))), _ecdf_caption(t, data)


def _ecdf_caption(t: Text, data: dict[str, Ecdf]) -> str:
    items, tails, none = [], [], []
    for p, e in data.items():
        share = percent_short_of(e.reached_share, P90_SHARE, t.lang)
        if e.reached_share >= P90_SHARE:
            items.append(t("c_ecdf_item", minutes=_minutes(e.p90, t), plan=p))
        else:
            tails.append(t("c_ecdf_tail", plan=p, share=share, minutes=_minutes(e.p90, t)))
            none.append(t("c_ecdf_none_item", plan=p, share=share, minutes=_minutes(e.p90, t)))
    if not items:
        return t("c_ecdf_none", items="; ".join(none))
    return t("c_ecdf", items=_join(items, t), tail="".join(tails))


# --- 2. incidents per hour ---------------------------------------------------------------------


def _incidents_per_hour(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """Incidents per hour by type over the election-day window (mean per replication, first plan:
    the incidents are the same in every plan on common random numbers, but escalation may change
    a type), and incidents per day over the whole period [incidents/day, mean per replication]."""
    plan = run.plans[0]
    inc = view.incidents[view.incidents["plan"] == plan]
    n_rep = _reps(view, plan)
    if not len(inc) or n_rep == 0:
        return None
    t0, t1 = _window(run)
    off = run.epoch.hour * 60 + run.epoch.minute
    edges = np.arange(math.floor((t0 + off) / 60) * 60 - off, t1 + 60, 60.0)
    edges = edges[edges <= t1 + 1e-9] if edges[-1] > t1 else edges
    labels = _type_labels(run, t.lang)
    types = [k for k in run.spec.incidents.types if k in set(inc["type"])]
    colour = {k: TYPE_COLOURS[i % len(TYPE_COLOURS)] for i, k in enumerate(run.spec.incidents.types)}
    counts = {k: np.histogram(inc.loc[inc["type"] == k, "t_occur"], bins=edges)[0] / n_rep for k in types}

    fig = new_figure()
    gs = fig.add_gridspec(1, 2, width_ratios=[3.3, 1])
    ax, axd = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
    _time_axis(ax, run, t0, t1, t.lang)
    spans = _phase_spans(run, inc, t0, t1)
    _shade_phases(ax, spans)
    bottom = np.zeros(len(edges) - 1)
    for k in types:
        if counts[k].sum() <= 0:
            continue
        ax.bar(
            edges[:-1],
            counts[k],
            width=np.diff(edges),
            align="edge",
            bottom=bottom,
            color=colour[k],
            edgecolor="white",
            linewidth=0.4,
            label=textwrap.fill(chart_label(labels[k], LEGEND_MAX_CHARS), 30),
            zorder=2,
        )
        bottom += counts[k]
    ax.set_xlim(t0, t1)
    ax.set_ylim(0, max(float(bottom.max()) * 1.12, 0.1))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, t.lang, 1 if v % 1 else 0)))
    ax.set_ylabel(t("mean_per_rep"))
    ax.set_xlabel(t("time_local"))
    ax.grid(True, axis="y")
    ax.legend(loc="upper left", fontsize=10, title=t("types_of", plan=plan), title_fontsize=10.5)
    day_spans = _per_day_panel(axd, run, inc, n_rep, t)
    start, end = _short_when(run, t0, t.lang), _short_when(run, t1, t.lang)
    _phase_legend(fig, spans + day_spans, t, run)
    title = _title(fig, _titled(t, view, t("t_incidents_per_hour", start=start, end=end)))
    return fig, title, _per_hour_caption(run, t, inc, counts, edges, n_rep)


def _per_day_panel(ax: Axes, run: RunData, inc: pd.DataFrame, n_rep: int, t: Text) -> list[tuple[str, float, float]]:
    """Incidents per calendar day over the whole period, labelled H-1, H, H+1 ... [mean per replication].

    The days of the PPK recap and of the KPU plenary are shaded; their spans are returned for the legend.
    """
    off = run.epoch.hour * 60 + run.epoch.minute
    n_days = math.ceil((run.timeline.horizon + off) / 1440)
    tl = run.timeline
    day_spans = [("recap", a, b) for a, b in tl.recap_windows] + [("plenary", *tl.plenary)]
    for key, a, _b in day_spans:
        i = int((a + off) // 1440)
        ax.axvspan(i - 0.5, i + 0.5, color=PHASE_COLOURS[key], zorder=0, lw=0)
    day = np.floor((inc["t_occur"].to_numpy(dtype=float) + off) / 1440).astype(int)
    per_day = np.bincount(np.clip(day, 0, n_days - 1), minlength=n_days) / n_rep
    first = run.epoch.date()
    names = []
    for i in range(n_days):
        rel = (first + dt.timedelta(days=i) - run.spec.election_day).days
        names.append("H" if rel == 0 else f"H{rel:+d}")
    x = np.arange(n_days)
    ax.bar(x, per_day, color="#777777", width=0.75, zorder=2)
    for xi, v in zip(x, per_day, strict=True):
        if v > 0:
            ax.text(
                float(xi),
                v,
                number(v, t.lang, 0 if v >= 10 else 1),
                ha="center",
                va="bottom",
                fontsize=8.5,
                rotation=90 if n_days > 6 else 0,
            )
    ax.set_xticks(x, names, rotation=90 if n_days > 6 else 0, fontsize=10)
    ax.set_ylim(0, float(per_day.max()) * 1.25 if per_day.max() > 0 else 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, t.lang)))
    ax.set_ylabel(t("per_day"))
    ax.set_xlabel(t("day"))
    ax.set_title(t("whole_period"), fontsize=11.5)
    ax.grid(True, axis="y")
    return day_spans


def _per_hour_caption(
    run: RunData, t: Text, inc: pd.DataFrame, counts: dict[str, np.ndarray], edges: np.ndarray, n_rep: int
) -> str:
    total = np.sum([c for c in counts.values()], axis=0) if counts else np.zeros(len(edges) - 1)
    i = int(np.argmax(total))
    top = max(counts, key=lambda k: (counts[k][i], -list(counts).index(k)))
    a, b = _at(run, edges[i]), _at(run, edges[i + 1])
    when = f"{format_date(a.date(), 'd MMM', locale=t.lang)} {clock(a, t.lang)}–{clock(b, t.lang)}"
    off = run.epoch.hour * 60 + run.epoch.minute
    vday = (run.spec.election_day - run.epoch.date()).days
    day = np.floor((inc["t_occur"].to_numpy(dtype=float) + off) / 1440)
    share = float((day == vday).mean()) if len(day) else math.nan
    label = _type_labels(run, t.lang)[top]
    label = label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label
    return t("c_per_hour", when=when, rate=number(float(total[i]), t.lang, 1), type=label, share=percent(share, t.lang))


# --- 3. busy units and open incidents ----------------------------------------------------------


def _resample(ts: pd.DataFrame, plan: str, grid: np.ndarray, column: str) -> np.ndarray:
    """[replication, grid time]: the step function ``column`` (each value holds until the next row)."""
    sub = ts[ts["plan"] == plan]
    out = []
    for _, g in sub.groupby("replication", sort=True):
        tt = g["t"].to_numpy(dtype=float)
        v = g[column].to_numpy(dtype=float)
        k = np.searchsorted(tt, grid, side="right") - 1
        out.append(np.where(k >= 0, v[np.maximum(k, 0)], 0.0))
    return np.array(out) if out else np.zeros((0, len(grid)))


def _mean_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replications (rows) and its Student-t 95% interval."""
    n = values.shape[0]
    m = values.mean(axis=0)
    if n < 2:
        return m, m, m
    half = float(stats.t.ppf(0.975, n - 1)) * values.std(axis=0, ddof=1) / math.sqrt(n)
    return m, np.maximum(m - half, 0.0), m + half


def _busy_open(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """Busy units and open incidents [count] over the election-day window: mean over replications
    per plan with the Student-t 95% interval of the mean, from the step series resampled every 10 min."""
    ts = view.timeseries
    if not len(ts):
        return None
    t0, t1 = _window(run)
    grid = np.arange(t0, t1 + 1e-9, GRID_STEP_MIN)
    fig = new_figure()
    axes = fig.subplots(2, 1, sharex=True)
    spans = _phase_spans(run, view.incidents, t0, t1)
    peaks: dict[str, tuple[float, float]] = {}
    for ax, column in zip(axes, ("busy_units", "open_incidents"), strict=True):
        _time_axis(ax, run, t0, t1, t.lang, labels=ax is axes[-1])
        _shade_phases(ax, spans)
        for p in run.plans:
            vals = _resample(ts, p, grid, column)
            if not len(vals):
                continue
            m, lo, hi = _mean_band(vals)
            c = _plan_colour(run, p)
            ax.fill_between(grid, lo, hi, color=c, alpha=0.18, lw=0, zorder=2, step=None)
            ax.plot(grid, m, color=c, lw=2.2, label=p, zorder=3)
            if column == "open_incidents":
                peaks[p] = (float(m.max()), float(grid[int(np.argmax(m))]))
        ax.set_ylabel(t(column))
        ax.set_ylim(bottom=0)
        ax.grid(True, axis="y")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
        ax.yaxis.set_major_formatter(
            FuncFormatter(lambda v, _pos: number(v, t.lang, 0 if float(v).is_integer() else 1))
        )
    if not peaks:
        return None
    axes[-1].set_xlabel(t("time_local") + "  —  " + t("band_note"))
    axes[0].legend(loc="upper left", title=t("plan"), ncols=min(len(run.plans), 4))
    start, end = _short_when(run, t0, t.lang), _short_when(run, t1, t.lang)
    _phase_legend(fig, spans, t, run)
    title = _title(fig, _titled(t, view, t("t_busy_open", start=start, end=end)))
    return fig, title, _busy_caption(run, t, peaks)


def _busy_caption(run: RunData, t: Text, peaks: dict[str, tuple[float, float]]) -> str:
    worst = max(peaks, key=lambda p: (peaks[p][0], -run.plans.index(p)))
    others = [t("c_busy_item", peak=number(peaks[p][0], t.lang, 1), plan=p) for p in peaks if p != worst]
    rest = t("c_busy_others", items=_join(others, t)) if others else ""
    return t(
        "c_busy_open",
        plan=worst,
        peak=number(peaks[worst][0], t.lang, 1),
        when=_short_when(run, peaks[worst][1], t.lang),
        others=rest,
    )


# --- 4. per kecamatan --------------------------------------------------------------------------


def kecamatan_chart_data(run: RunData) -> pd.DataFrame:
    """What the kecamatan chart plots: the rows of :func:`sim.report.data.kecamatan_table` (the
    briefing's and the workbook's) with an incident needing a unit, of the first grid point in a
    sweep, with each kecamatan's shortest and longest target [min] (targets.csv)."""
    kt = kecamatan_table(run)
    if run.is_sweep:
        kt = kt[kt["point"] == int(run.manifest["grid"][0]["point"])]
    span = run.targets.groupby("kecamatan")["target_min"].agg(["min", "max"])
    kt = kt[kt["dispatched"] > 0]
    return kt.assign(
        target_lo_min=kt["kecamatan"].map(span["min"]).astype(float),
        target_hi_min=kt["kecamatan"].map(span["max"]).astype(float),
    ).reset_index(drop=True)


def _kecamatan_response(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """Per kecamatan (sorted by priority-1 target, then name) and plan, pooled over replications.

    Left: share of its incidents reached within the target for their priority, all incidents (square)
    and priority 1 (diamond), against the 90% goal; a cross marks a share below it. Right: pooled
    p50 and p90 response [min, log scale], unreached incidents at their censored value, against the
    kecamatan's targets: a black bar at the priority-1 target, a grey band up to the least urgent
    priority's. With targets by priority a p90 over all incidents is not held against one target;
    the left panel says whether the kecamatan meets its targets, the right one by how much time.
    """
    tab = kecamatan_chart_data(run)
    if not len(tab):
        return None
    rows = tab.drop_duplicates("kecamatan").sort_values(["target_p1_min", "target_lo_min", "kecamatan"])
    order = rows["kecamatan"].tolist()
    minutes = tab[["response_pooled_p50_min", POOLED_P90, "target_lo_min", "target_hi_min"]].to_numpy(dtype=float)
    minutes = minutes[np.isfinite(minutes) & (minutes > 0)]
    lo, hi = float(minutes.min()) * 0.7, float(minutes.max()) * 1.5
    plans = [p for p in run.plans if p in set(tab["plan"])]
    k = len(plans)
    h = min(0.8 / k, 0.3)
    fig = new_figure()
    ax_w, ax = fig.subplots(1, 2, sharey=True, width_ratios=[1, 2.6])
    for i, kec in enumerate(order):
        for a in (ax_w, ax):
            if i % 2 == 0:
                a.axhspan(i - 0.5, i + 0.5, color="#F4F4F4", zorder=0, lw=0)
        row = tab[tab["kecamatan"] == kec]
        t_lo, t_hi, t_p1 = (float(row[c].iloc[0]) for c in ("target_lo_min", "target_hi_min", "target_p1_min"))
        if t_hi > t_lo:
            ax.fill_betweenx([i - 0.45, i + 0.45], t_lo, t_hi, color="#D9D9D9", zorder=1, lw=0)
        first = t_p1 if math.isfinite(t_p1) else t_lo
        ax.plot([first, first], [i - 0.45, i + 0.45], color="black", lw=2.4, zorder=4, solid_capstyle="butt")
        for j, p in enumerate(plans):
            r = row[row["plan"] == p]
            if not len(r):
                continue
            y = i + (j - (k - 1) / 2) * h
            c = _plan_colour(run, p)
            p50, p90 = float(r["response_pooled_p50_min"].iloc[0]), float(r[POOLED_P90].iloc[0])
            x50, x90 = min(max(p50, lo), hi), min(max(p90, lo), hi)
            ax.plot([x50, x90], [y, y], color=c, lw=2.2, zorder=3)
            ax.plot([x50], [y], marker="o", ms=6.5, mfc="white", mec=c, mew=1.8, zorder=5)
            ax.plot([x90], [y], marker="o", ms=7, mfc=c, mec=c, zorder=6)
            w, w1 = float(r["within_target"].iloc[0]), float(r["within_target_p1"].iloc[0])
            ax_w.plot([w1 * 100], [y], marker="D", ms=6, mfc="white", mec=c, mew=1.6, ls="", zorder=5)
            below = w < TARGET_SHARE
            ax_w.plot(
                [w * 100],
                [y],
                marker="X" if below else "s",
                ms=10 if below else 6.5,
                mfc=c,
                mec="black" if below else c,
                mew=1.0,
                ls="",
                zorder=6,
            )
    ax_w.axvline(TARGET_SHARE * 100, color="#444444", lw=1.1, ls="--", zorder=2)
    ax_w.set_xlim(-3, 103)
    ax_w.xaxis.set_major_locator(FixedLocator([0, 50, TARGET_SHARE * 100]))
    ax_w.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: percent(v / 100, t.lang)))
    ax_w.set_xlabel(kpi_label("within_target", t.lang, pooled=True))
    ax_w.grid(True, axis="x")
    ax_w.set_yticks(range(len(order)), [chart_label(k) for k in order])
    ax_w.set_ylim(len(order) - 0.5, -0.5)
    ax_w.tick_params(axis="y", length=0)
    _log_minutes_x(ax, lo, hi, t.lang)
    ax.grid(True, axis="x")
    ax.set_xlabel(t("response_log"))
    ax.tick_params(axis="y", length=0, labelleft=False)
    goal = percent(TARGET_SHARE, t.lang)
    handles: list[Any] = [Line2D([], [], color=_plan_colour(run, p), lw=3, label=p) for p in plans]
    handles += [
        Line2D([], [], marker="s", ls="", mfc="#333333", mec="#333333", ms=6.5, label=t("within_all")),
        Line2D([], [], marker="D", ls="", mfc="white", mec="#333333", mew=1.6, ms=6, label=t("within_p1")),
        Line2D([], [], marker="X", ls="", mfc="#333333", mec="black", ms=10, label=t("below_goal", goal=goal)),
        Line2D([], [], marker="o", ls="", mfc="white", mec="#333333", mew=1.8, ms=7, label=t("p50")),
        Line2D([], [], marker="o", ls="", mfc="#333333", mec="#333333", ms=7, label=t("p90")),
        Line2D([], [], marker="|", ls="", color="black", ms=16, mew=2.4, label=t("target_mark")),
        Patch(fc="#D9D9D9", ec="none", label=t("target_range", p=int(run.targets["priority"].max()))),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    title = _title(fig, _titled(t, view, t("t_kecamatan_response")))
    return fig, title, _kecamatan_caption(t, tab, plans)


def _kecamatan_caption(t: Text, tab: pd.DataFrame, plans: list[str]) -> str:
    """How many kecamatan fall below the goal per plan, and the weakest (the briefing's order)."""
    n = tab["kecamatan"].nunique()
    goal = percent(TARGET_SHARE, t.lang)
    below = tab[tab["within_target"] < TARGET_SHARE]
    if not len(below):
        return t("c_kecamatan_ok", n=n, goal=goal)
    counts = [
        t("c_count_first" if i == 0 else "c_count_item", k=int((below["plan"] == p).sum()), n=n, plan=p)
        for i, p in enumerate(plans)
    ]
    w = weakest_first(below).iloc[0]
    return t(
        "c_kecamatan",
        goal=goal,
        counts=_join(counts, t),
        kec=w["kecamatan"],
        plan=w["plan"],
        w=percent(float(w["within_target"]), t.lang),
        p90=number(round(float(w[POOLED_P90]), 1), t.lang, 1),
    )


# --- 5. comparison forest ----------------------------------------------------------------------

# Left panel in minutes, right in percentage points; rows of comparison.csv (the p90 is the paired
# difference of pooled p90s); names and which direction is better from sim.metrics.
FOREST_KPIS = (("response_mean_min", POOLED_P90), ("within_target", "within_target_p1", "waited_share"))


def _comparison_forest(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """Paired differences plan - baseline with 95% CIs: mean response and pooled p90 [min] on the
    left, share within target (all and priority 1) and share that waited [percentage points] on
    the right. Filled dots: significant (the interval excludes zero)."""
    cmp = run.comparison
    baseline = run.baseline
    if cmp is None or baseline is None or not len(cmp):
        return None
    plans = [p for p in run.plans if p != baseline and p in set(cmp["plan"])]
    if not plans:
        return None
    fig = new_figure()
    axes = fig.subplots(1, 2)
    labels = []
    for ax, kpis, unit in zip(axes, FOREST_KPIS, ("diff_minutes", "diff_points"), strict=True):
        scale = 1.0 if unit == "diff_minutes" else 100.0
        labels.append(_forest_panel(ax, run, t, cmp, plans, kpis, scale))
        ax.set_xlabel(t(unit))
    handles: list[Any] = [Line2D([], [], color=_plan_colour(run, p), marker="o", lw=2.5, label=p) for p in plans]
    handles += [
        Line2D([], [], marker="o", ls="", mfc="#333333", mec="#333333", ms=8, label=t("significant")),
        Line2D([], [], marker="o", ls="", mfc="white", mec="#333333", mew=1.8, ms=8, label=t("not_significant")),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=10.5)
    title = _title(fig, t("t_comparison_forest", baseline=baseline))
    for ax, texts in zip(axes, labels, strict=True):
        fit_right(ax, texts)
    return fig, title, _forest_caption(t, cmp, plans, baseline)


FIT_ROUNDS = 6  # widenings of the x range tried until every label is inside its axes
FIT_MARGIN_PX = 4.0


def fit_right(ax: Axes, texts: list[Any]) -> None:
    """Widen ``ax``'s x range to the right until every text drawn from a data point lies inside the
    axes (measured by the renderer after the figure's layout; the layout moves as the range grows,
    so a few rounds)."""
    fig = ax.figure
    for _ in range(FIT_ROUNDS):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        box = ax.get_window_extent(renderer)
        right = max((tx.get_window_extent(renderer).x1 for tx in texts), default=box.x1)
        if right <= box.x1 - FIT_MARGIN_PX:
            return
        x0, x1 = ax.get_xlim()
        per_px = (x1 - x0) / box.width
        ax.set_xlim(x0, x1 + (right - box.x1 + 2 * FIT_MARGIN_PX) * per_px * 1.15)


def _forest_panel(
    ax: Axes, run: RunData, t: Text, cmp: pd.DataFrame, plans: list[str], kpis: tuple[str, ...], scale: float
) -> list[Any]:
    """One panel: for each KPI a group of rows (one per plan), dot at the difference, line the CI.
    Returns the verdict labels (kept inside the axes by :func:`fit_right`)."""
    k = len(plans)
    texts: list[Any] = []
    h = min(0.7 / k, 0.3)
    xs: list[float] = []
    for i, kpi in enumerate(kpis):
        if i % 2 == 0:
            ax.axhspan(i - 0.5, i + 0.5, color="#F4F4F4", zorder=0, lw=0)
        for j, p in enumerate(plans):
            r = cmp[(cmp["plan"] == p) & (cmp["kpi"] == kpi)]
            if not len(r):
                continue
            d, lo, hi = (float(r[c].iloc[0]) * scale for c in ("difference", "ci_low", "ci_high"))
            if not math.isfinite(d):
                continue
            lo, hi = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (d, d)
            sig = bool(r["significant"].iloc[0])
            y = i + (j - (k - 1) / 2) * h
            c = _plan_colour(run, p)
            ax.plot([lo, hi], [y, y], color=c, lw=2.5, zorder=3, solid_capstyle="butt")
            ax.plot([d], [y], marker="o", ms=9, mfc=c if sig else "white", mec=c, mew=2, zorder=4)
            better = metrics.kpi(kpi).better
            good = (d > 0) == (better == "higher")
            verdict = t("not_sig") if not sig or better == "none" else t("better") if good else t("worse")
            unit = t("min_short") if scale == 1 else t("points_short")
            label = ax.annotate(
                f"{_signed(d, t.lang, 0 if scale == 1 else 1)} {unit} · {verdict}",
                (max(hi, 0.0), y),
                xytext=(7, 0),
                textcoords="offset points",
                va="center",
                fontsize=10.5,
                color="#222222",
                zorder=5,
                bbox={"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.5},
            )
            texts.append(label)
            xs += [lo, hi, d]
    ax.axvline(0, color="black", lw=1.2, zorder=2)
    span = max((max(xs) - min(xs)) if xs else 1.0, 1e-9)
    left, right = min([*xs, 0.0]), max([*xs, 0.0])
    ax.set_xlim(left - 0.06 * span, right + 0.62 * span)  # room for the verdicts on the right
    ax.set_yticks(range(len(kpis)), [textwrap.fill(kpi_label(kpi, t.lang, unit=False), 16) for kpi in kpis])
    ax.set_ylim(len(kpis) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.grid(True, axis="x")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _signed(v, t.lang)))
    return texts


def _forest_caption(t: Text, cmp: pd.DataFrame, plans: list[str], baseline: str) -> str:
    def get(p: str, kpi: str, col: str) -> float:
        r = cmp[(cmp["plan"] == p) & (cmp["kpi"] == kpi)]
        return float(r[col].iloc[0]) if len(r) else math.nan

    items = []
    for p in plans:
        items.append(
            t(
                "c_forest_item",
                plan=p,
                diff=_signed(get(p, "response_mean_min", "difference"), t.lang),
                lo=_signed(get(p, "response_mean_min", "ci_low"), t.lang),
                hi=_signed(get(p, "response_mean_min", "ci_high"), t.lang),
                pp=_signed(100 * get(p, "within_target", "difference"), t.lang, 1),
            )
        )
    return t("c_forest", baseline=baseline, items="; ".join(items))


# --- 6. sweep curve ----------------------------------------------------------------------------


def _value(v: object, lang: str) -> str:
    """A varied value as text: numbers in the locale's format (up to 3 decimals), others as given."""
    x = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
    if pd.isna(x):
        return str(v)
    x = float(x)
    decimals = next((d for d in range(4) if abs(round(x, d) - x) < 1e-9), 3)
    return number(x, lang, decimals)


def _sweep_keys(run: RunData) -> list[str]:
    grid = run.manifest.get("grid") or []
    return list(grid[0]["values"]) if grid else []


def _sweep_point_text(run: RunData, point: int, lang: str) -> str:
    """A grid point in words: each varied key (:func:`sim.report.content.key_words`) and its value
    as given to ``--vary``, as the briefing's verdict and sweep table write it."""
    items = zip(_sweep_keys(run), run.point_values[point], strict=True)
    return ", ".join(f"{key_words(run, k, lang)} = {value_label(k, v, lang)}" for k, v in items)


SWEEP_CURVE_KPIS = ("response_mean_min", "within_target")  # the two panels, left to right
DODGE_SHARE = 0.025  # lines of one panel shifted apart by this share of the x spacing, so bars do not overlap


@dataclass(frozen=True)
class _SweepLine:
    """One line of the sweep curve: a plan at one combination of the other varied keys."""

    plan: str
    combo: int  # which combination of the other keys (its line style and marker)
    label: str
    rows: pd.DataFrame  # summary.csv rows in x order, with x and the paired change from the reference (d, d_lo, d_hi)


def _sweep_lines(run: RunData, others: list[str], x: Callable[[pd.Series], np.ndarray]) -> list[_SweepLine]:
    """The lines of the sweep curve: summary.csv rows of each plan and combination of the other
    keys, joined per point, plan and KPI with sweep_comparison.csv's paired change, with their
    position on the x axis (``x`` of the first key's values), in x order."""
    s, c = run.summary, run.sweep_comparison
    assert c is not None
    paired = c[["point", "plan", "kpi", "difference", "ci_low", "ci_high"]].rename(
        columns={"difference": "d", "ci_low": "d_lo", "ci_high": "d_hi"}
    )
    rows = s.merge(paired, on=["point", "plan", "kpi"], how="left")
    rows = rows.assign(x=x(rows[_sweep_keys(run)[0]])).sort_values(["x", "point"], kind="stable")
    combos = list(s.groupby(others, sort=True).groups) if others else [()]
    lines = []
    for p in run.plans:
        for n, combo in enumerate(combos):
            combo_t = combo if isinstance(combo, tuple) else (combo,)
            sel = rows["plan"] == p
            for ok, ov in zip(others, combo_t, strict=True):
                sel &= rows[ok] == ov
            named = ", ".join(f"{k}={chart_label(v)}" for k, v in zip(others, combo_t, strict=True))
            if sel.any():
                lines.append(_SweepLine(p, n, f"{p} · {named}" if others else p, rows[sel]))
    return lines


def _draw_sweep_line(ax: Axes, run: RunData, line: _SweepLine, kpi: str, dodge: float, colour: str) -> None:
    """One line on one panel, shifted ``dodge`` along x: the means, each point's 95% band, the
    paired bars around the means (none at the reference point: circled, its level dotted across,
    so a bar that does not reach the dotted line is a change the interval is sure of). The bars
    stop where the KPI does (0, and 100% for a share), as the bands do."""
    styles = ("-", "--", ":", "-.")
    markers = ("o", "s", "^", "D", "v")
    scale = 100.0 if kpi == "within_target" else 1.0
    g = line.rows[line.rows["kpi"] == kpi]
    x = g["x"].to_numpy(dtype=float) + dodge
    mean = g["mean"].to_numpy(dtype=float) * scale
    ax.fill_between(x, g["ci_low"] * scale, g["ci_high"] * scale, color=colour, alpha=0.15, lw=0)
    style, marker = styles[line.combo % len(styles)], markers[line.combo % len(markers)]
    ax.plot(x, mean, color=colour, ls=style, marker=marker, lw=2.4, ms=7, label=line.label)
    at_ref = (g["point"] == run.reference_point).to_numpy()
    top = 100.0 if kpi == "within_target" else np.inf
    lo = np.clip(mean + (g["d_lo"] - g["d"]).to_numpy(dtype=float) * scale, 0.0, top)
    hi = np.clip(mean + (g["d_hi"] - g["d"]).to_numpy(dtype=float) * scale, 0.0, top)
    bar = ~at_ref & np.isfinite(lo) & np.isfinite(hi)
    yerr = [mean[bar] - lo[bar], hi[bar] - mean[bar]]
    ax.errorbar(x[bar], mean[bar], yerr=yerr, fmt="none", ecolor=colour, elinewidth=2.2, capsize=7, capthick=2.2)
    ax.plot(x[at_ref], mean[at_ref], ls="none", marker="o", ms=16, mfc="none", mec=colour, mew=2.2)
    for level in mean[at_ref]:
        ax.axhline(level, color=colour, ls=":", lw=1.3)


def _sweep_legend(fig: Figure, ax: Axes, t: Text) -> None:
    """Below the panels: the plans, then what the circle, the bars and the dashed line mean."""
    handles, labels = ax.get_legend_handles_labels()
    grey = "#444444"
    handles += [
        Line2D([], [], ls="none", marker="o", ms=14, mfc="none", mec=grey, mew=2.2),
        Line2D([], [], ls="none", marker="|", ms=16, mew=2.2, color=grey),
        Line2D([], [], ls="--", lw=1.4, color=grey),
    ]
    labels += [t("sweep_reference"), t("sweep_paired_bar"), t("sweep_goal", goal=percent(TARGET_SHARE, t.lang))]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 3), fontsize=10.5)


def _sweep_curve(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """Mean response [min] and share within target [%] against the first varied key, per plan (and
    per combination of the other keys), at every point: the Student-t 95% interval of each point
    as a band (summary.csv) and, as bars around the point's mean, the paired interval of its
    change from the reference point (sweep_comparison.csv); the target share as a dashed line."""
    keys = _sweep_keys(run)
    s = run.summary
    if not run.is_sweep or not keys or keys[0] not in s.columns or run.sweep_comparison is None:
        return None
    assert run.reference_point is not None
    key, others = keys[0], [k for k in keys[1:] if k in s.columns]
    xnum = pd.to_numeric(s[key], errors="coerce")
    numeric = bool(xnum.notna().all())
    cats = list(dict.fromkeys(s.sort_values("point")[key].astype(str)))
    xs = sorted(set(xnum.dropna().astype(float))) if numeric else list(range(len(cats)))
    spacing = float(min(np.diff(xs))) if len(xs) > 1 else 1.0

    def x_of(values: pd.Series) -> np.ndarray:
        if numeric:
            return pd.to_numeric(values).to_numpy(dtype=float)
        return np.array([cats.index(str(v)) for v in values], dtype=float)

    lines = _sweep_lines(run, others, x_of)
    fig = new_figure()
    axes = fig.subplots(1, 2)
    for ax, kpi in zip(axes, SWEEP_CURVE_KPIS, strict=True):
        for i, line in enumerate(lines):
            dodge = (i - (len(lines) - 1) / 2) * DODGE_SHARE * spacing
            _draw_sweep_line(ax, run, line, kpi, dodge, _plan_colour(run, line.plan))
        if numeric:
            ax.set_xticks(xs, [_value(v, t.lang) for v in xs])
        else:
            ax.set_xticks(range(len(cats)), [chart_label(c) for c in cats])
        ax.set_xlabel(textwrap.fill(chart_label(key_words(run, key, t.lang), 90), 48))
        ax.grid(True)
        ax.set_ylim(bottom=0, top=105 if kpi == "within_target" else None)
        ax.set_ylabel(kpi_label(kpi, t.lang))
        if kpi == "within_target":
            ax.axhline(100 * TARGET_SHARE, color="#444444", ls="--", lw=1.4)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: percent(v / 100, t.lang)))
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, t.lang)))
    _sweep_legend(fig, axes[0], t)
    title = _title(fig, t("t_sweep_curve"))
    return fig, title, _sweep_caption(run, t)


def _sweep_caption(run: RunData, t: Text) -> str:
    """The first plan's change from the reference point to the point its verdict names (the
    smallest value reaching the target share, else the best; else the point farthest in sweep
    order), in levels and paired changes (minutes to one decimal, shares as the sweep table shows
    them), with what the band, bars and line are."""
    p = run.plans[0]
    ref = run.reference_point
    assert ref is not None and run.sweep_comparison is not None
    verdict = sweep_verdicts(run.summary, run.point_values, [p])[0]
    order = [q for q in sweep_order(run.point_values) if q != ref]
    point = next((q for q in (verdict.point, verdict.best) if q is not None and q != ref), order[-1] if order else None)
    if point is None:
        return ""
    c = run.sweep_comparison
    row = {kpi: c[(c["point"] == point) & (c["plan"] == p) & (c["kpi"] == kpi)].iloc[0] for kpi in SWEEP_CURVE_KPIS}
    m, w = row["response_mean_min"], row["within_target"]
    return t(
        "c_sweep",
        plan=p,
        reference=_sweep_point_text(run, ref, t.lang),
        point=_sweep_point_text(run, point, t.lang),
        m0=number(round(float(m["reference_mean"]), 1), t.lang, 1),
        m1=number(round(float(m["point_mean"]), 1), t.lang, 1),
        dm=_signed(float(m["difference"]), t.lang, 1),
        dm_lo=_signed(float(m["ci_low"]), t.lang, 1),
        dm_hi=_signed(float(m["ci_high"]), t.lang, 1),
        w0=percent(share_as_shown(float(w["reference_mean"])), t.lang),
        w1=percent(share_as_shown(float(w["point_mean"])), t.lang),
        dw=_signed(100 * float(w["difference"]), t.lang, 1),
        dw_lo=_signed(100 * float(w["ci_low"]), t.lang, 1),
        dw_hi=_signed(100 * float(w["ci_high"]), t.lang, 1),
        goal=percent(TARGET_SHARE, t.lang),
    )


# --- 7. map ------------------------------------------------------------------------------------


def _map(run: RunData, t: Text, view: _View) -> tuple[Figure, str, str] | None:
    """The kecamatan map of :mod:`sim.report.map` (the first grid point in a sweep, as the
    kecamatan chart), titled for the view, with its caption."""
    fig = new_figure()
    title = _title(fig, _titled(t, view, t("t_map")))
    colours = {p: _plan_colour(run, p) for p in run.plans}
    values = draw_map(fig, run, kecamatan_chart_data(run), t, colours, chart_label)
    if values is None:
        return None
    return fig, title, _map_caption(t, values)


def _map_caption(t: Text, values: pd.DataFrame) -> str:
    """Per plan, how many of the kecamatan with enough incidents fall below the goal."""
    enough = values[values["enough"]]
    items = [
        t("c_map_item", k=int((g["within_target"] < TARGET_SHARE).sum()), n=len(g), plan=plan)
        for plan, g in enough.groupby("plan", sort=False)
    ]
    few = number(MIN_INCIDENTS, t.lang)
    if not items:
        return t("c_map_none", min=few)
    return t("c_map", items=_join(items, t), goal=percent(TARGET_SHARE, t.lang), min=few)
