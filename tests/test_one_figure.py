"""One figure everywhere: every output of a run gives the same value for the same statistic.

The scenario is the hand-sized trace scenario with a third TPS, C, in a kecamatan of its own
("Jauh") that no unit can reach before the horizon (100,000 min away in the travel matrix), and an
incident type only TNI can serve while the plans have no TNI (outcome ``no_capable_unit``): both
leave dispatched incidents never reached, whose response is censored at the horizon. Targets are
per kecamatan and priority. A ``compare`` of a one-car plan against a two-car plan, with the
report, is read back from every output (kpis.csv, summary.csv, percentiles.csv, comparison.csv,
the briefing's content and its HTML, the chart data and captions, the workbook) and checked
against figures computed here by hand from the raw times of incidents.csv and targets.csv, with
the definitions written out below (nothing imported from sim.metrics).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import trace_copy

from sim import metrics
from sim.cli import main
from sim.errors import UserError
from sim.report.charts import CHART_WORDS, kecamatan_chart_data, make_charts, response_ecdf_data
from sim.report.content import briefing_content
from sim.report.data import RunData, kecamatan_table
from sim.report.i18n import kpi_label
from sim.report.map import map_values
from sim.report.workbook import XLSX_HEADERS, sheet_name

HORIZON_MIN = 24 * 60.0  # trace.yaml: epoch "H 00:00", horizon "H+1 00:00"
FAR = "".join(f"{a},{b},100000\n" for a, b in [("P", "C"), ("C", "P"), ("A", "C"), ("C", "A"), ("B", "C"), ("C", "B")])
GOAL = 0.9  # a kecamatan meets its targets when at least 90% of its calls are reached within target
P90 = "response_pooled_p90_min"


def _scenario(folder: Path) -> Path:
    def change(d: dict[str, Any]) -> None:
        types = d["incidents"]["types"]
        types["gangguan"]["rate_per_site_hour"] = {"voting": 0.4}
        types["gangguan"]["onsite"] = {"linmas": 0.3}  # some are resolved on site: not dispatched
        types["gangguan"]["class_multiplier"] = {"khusus": 0.05}  # C (khusus) rarely calls
        types["bentrok"]["rate_per_site_hour"] = {"voting": 0.02}  # priority 1 directly, not only escalated
        types["perlu_tni"] = {
            "priority": 3,
            "rate_per_site_hour": {"voting": 0.01},
            "response": {"roles": ["tni"]},
            "on_scene_min": {"dist": "fixed", "mean": 30},
        }
        d["plans"]["one"]["linmas_per_tps"] = 1
        d["plans"]["two"] = {**d["plans"]["one"], "patrols": [{"post": "P", "units": 2, "crew": 2}]}
        d["sites"]["ppk"].append({"kecamatan": "Jauh", "position": [0.0, 117.3]})
        d["forces"] = {"polri": 20, "linmas": 10}
        d["targets"] = {
            "default_min": {1: 45, 2: 30, 3: 60},
            "groups": [{"name": "Jauh", "kecamatan": ["Jauh"], "target_min": {1: 60, 2: 120, 3: 180}}],
        }

    return trace_copy(folder, change, extra_tps="C,Jauh,Desa,0.0,117.3,100,khusus,0,0,0\n", extra_matrix=FAR)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    base = tmp_path_factory.mktemp("one-figure")
    out = base / "run"
    argv = ["compare", str(_scenario(base)), "--baseline", "one", "--reps", "20", "--workers", "1"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--out", str(out), "--lang", "en", "--quiet"]) == 0
    return RunData.load(out)


# --- the figures, by hand ------------------------------------------------------------------------


def _inverted_cdf(values: np.ndarray, q: int) -> float:
    """The smallest value with at least q% of the values at or below it."""
    v = np.sort(np.asarray(values, dtype=float))
    return float(v[-(-q * len(v) // 100) - 1]) if len(v) else math.nan


def _by_hand(run: RunData) -> pd.DataFrame:
    """The dispatched incidents of incidents.csv with response, reached and within target worked
    out from the raw times, the horizon and targets.csv."""
    inc = pd.read_csv(run.path / "incidents.csv")
    d = inc[inc["outcome"] != "resolved_on_site"].copy()
    reached = d["t_arrive"].notna()
    d["hand_reached"] = reached
    d["hand_response"] = np.where(reached, d["t_arrive"], HORIZON_MIN) - d["t_report"]
    targets = pd.read_csv(run.path / "targets.csv").set_index(["kecamatan", "priority"])["target_min"]
    d["hand_target"] = [targets[(k, p)] for k, p in zip(d["kecamatan"], d["priority"], strict=True)]
    d["hand_within"] = reached & (d["hand_response"] <= d["hand_target"])
    return d


def _stats(g: pd.DataFrame) -> dict[str, float]:
    p1 = g[g["priority"] == 1]
    return {
        "n": len(g),
        "mean": float(g["hand_response"].mean()) if len(g) else math.nan,
        "p50": _inverted_cdf(g["hand_response"], 50),
        "p90": _inverted_cdf(g["hand_response"], 90),
        "p95": _inverted_cdf(g["hand_response"], 95),
        "reached": float(g["hand_reached"].mean()) if len(g) else math.nan,
        "within": float(g["hand_within"].mean()) if len(g) else math.nan,
        "n_p1": len(p1),
        "within_p1": float(p1["hand_within"].mean()) if len(p1) else math.nan,
    }


@pytest.fixture(scope="module")
def hand(run: RunData) -> pd.DataFrame:
    return _by_hand(run)


def _close(a: float, b: float, tol: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol + 1e-12  # 0.525 - 0.52 is 0.005000...04


def test_the_scenario_has_unreached_and_priority_one_incidents(run: RunData, hand: pd.DataFrame) -> None:
    inc = run.incidents
    assert (inc["t_report"].notna() == (inc["outcome"] != "resolved_on_site")).all()  # dispatched, two ways
    assert (inc["outcome"] == "resolved_on_site").any()
    for plan in run.plans:
        d = hand[hand["plan"] == plan]
        assert 0.5 < d["hand_reached"].mean() < 1  # some censored, not most
        assert (d["outcome"] == "no_capable_unit").any() and (~d["hand_reached"] & (d["kecamatan"] == "Jauh")).any()
        assert (d["priority"] == 1).sum() >= 5
    # the saved columns are what the definitions say
    assert np.allclose(hand["response_min"], hand["hand_response"], atol=1e-4)
    assert (hand["reached"] == hand["hand_reached"]).all() and (hand["within_target"] == hand["hand_within"]).all()
    assert np.allclose(hand["target_min"], hand["hand_target"])


def test_kpis_summary_and_percentiles(run: RunData, hand: pd.DataFrame) -> None:
    kpis = pd.read_csv(run.path / "kpis.csv")
    per_rep = {(r, p): _stats(g) for (r, p), g in hand.groupby(["replication", "plan"])}
    names = {"mean": "response_mean_min", "reached": "reached_share", "within": "within_target"}
    names["within_p1"] = "within_target_p1"
    for row in kpis.to_dict("records"):
        h = per_rep.get((row["replication"], row["plan"]))
        if h is None:  # a day on which nothing needed a unit
            assert row["dispatched"] == 0
            continue
        assert row["dispatched"] == h["n"]
        for key, col in names.items():
            assert _close(float(row[col]), h[key], 1e-3), (row["replication"], row["plan"], col)
    summary = pd.read_csv(run.path / "summary.csv").set_index(["plan", "kpi"])["mean"]
    pct = pd.read_csv(run.path / "percentiles.csv").set_index(["plan", "quantile"])["response_min"]
    for plan in run.plans:
        for key, col in names.items():
            mean = np.nanmean([h[key] for (_, p), h in per_rep.items() if p == plan])
            assert _close(float(summary[(plan, col)]), float(mean), 1e-3), (plan, col)
        pooled = _stats(hand[hand["plan"] == plan])
        for q in (50, 90, 95):
            assert _close(float(pct[(plan, q)]), pooled[f"p{q}"], 1e-3), (plan, q)


def test_comparison_p90_is_the_difference_of_pooled_p90s(run: RunData) -> None:
    cmp = pd.read_csv(run.path / "comparison.csv")
    pct = pd.read_csv(run.path / "percentiles.csv").set_index(["plan", "quantile"])["response_min"]
    row = cmp[(cmp["plan"] == "two") & (cmp["kpi"] == P90)].iloc[0]
    assert row["baseline"] == "one"
    assert _close(row["plan_mean"], pct[("two", 90)], 1e-3) and _close(row["baseline_mean"], pct[("one", 90)], 1e-3)
    assert _close(row["difference"], pct[("two", 90)] - pct[("one", 90)], 1e-3)
    assert row["difference"] != 0  # the two plans' p90s differ: the check is not vacuous
    assert "response_daily_p90_min" in set(cmp["kpi"])  # the daily one is there too, under its own name
    # the briefing's p90 row words that difference
    table = briefing_content(run, "en").verdict_table
    assert table is not None
    words = next(r[2] for r in table.rows if r[0] == "two" and r[1] == "Pooled p90 response (min)")
    assert f"{abs(row['difference']):,.1f} min {'shorter' if row['difference'] < 0 else 'longer'}" == words


# --- the briefing ---------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table> of an HTML page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html_tables(run: RunData) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed((run.path / "briefing.html").read_text(encoding="utf-8"))
    return parser.tables


def _value(cell: str) -> float:
    """The leading figure of a cell: '306.9 (204.6–409.3)' -> 306.9, '88% (76–100%)' -> 0.88, '–' -> nan."""
    m = re.match(r"^([\d,]+(?:\.\d+)?)(%?)", cell)
    if m is None:
        return math.nan
    x = float(m.group(1).replace(",", ""))
    return x / 100 if m.group(2) else x


PLAN_ROWS = {  # briefing row label -> figure by hand (per-replication means, pooled p90)
    "Mean response time (min)": ("mean", 0.05),
    "Pooled p90 response (min)": ("p90", 0.05),
    "Share reached": ("reached", 0.005),
    "Reached within target": ("within", 0.005),
    "Priority 1 within target": ("within_p1", 0.005),
}


def test_briefing_plans_table(run: RunData, hand: pd.DataFrame) -> None:
    """The plans table, in the content object and in briefing.html, against the figures by hand."""
    content = briefing_content(run, "en").plans_table
    html = next(t for t in _html_tables(run) if t and t[0][:1] == ["Plan"] and ["Share reached"] in [r[:1] for r in t])
    assert html[0] == content.columns and html[1:] == content.rows
    rows = {r[0]: r[1:] for r in content.rows}
    assert not any("p90" in label and "Pooled" not in label for label in rows)  # no bare "p90" row
    per_rep = {(r, p): _stats(g) for (r, p), g in hand.groupby(["replication", "plan"])}
    for label, (key, tol) in PLAN_ROWS.items():
        for plan, cell in zip(run.plans, rows[label], strict=True):
            if key == "p90":
                want = _stats(hand[hand["plan"] == plan])["p90"]
            else:
                want = float(np.nanmean([h[key] for (_, p), h in per_rep.items() if p == plan]))
            assert _close(_value(cell), want, tol), (label, plan, cell, want)


def _kecamatan_by_hand(hand: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    return {(p, k): _stats(g) for (p, k), g in hand.groupby(["plan", "kecamatan"])}


def _weakest_by_hand(kec: dict[tuple[str, str], dict[str, float]], plans: list[str]) -> tuple[str, str]:
    """The lowest share within target; then the longest p90; then the kecamatan's name; then plan order."""
    below = [(h["within"], -h["p90"], k, plans.index(p), p) for (p, k), h in kec.items() if h["within"] < GOAL]
    _, _, k, _, p = min(below)
    return p, k


def test_briefing_kecamatan_table_and_lead(run: RunData, hand: pd.DataFrame) -> None:
    kec = _kecamatan_by_hand(hand)
    # the content's kecamatan table (also the workbook's and the chart's): every kecamatan with incidents
    kt = kecamatan_table(run)
    kt = kt[kt["dispatched"] > 0]
    assert set(zip(kt["plan"], kt["kecamatan"], strict=True)) == set(kec)
    for r in kt.to_dict("records"):
        h = kec[(r["plan"], r["kecamatan"])]
        assert r["dispatched"] == h["n"] and r["dispatched_p1"] == h["n_p1"]
        for col, key in [(P90, "p90"), ("reached_share", "reached"), ("within_target", "within")]:
            assert _close(r[col], h[key], 1e-3), (r["plan"], r["kecamatan"], col)
        assert _close(r["response_mean_min"], h["mean"], 1e-3) and _close(r["within_target_p1"], h["within_p1"], 1e-9)
    # the weak-spots table: kecamatan below 90% within target, in briefing.html as in the content
    b = briefing_content(run, "en")
    html = next(t for t in _html_tables(run) if t and "Priority 1 target (min)" in t[0])
    assert html[0] == b.weak_kecamatan.columns and html[1:] == b.weak_kecamatan.rows
    col = {c: i for i, c in enumerate(b.weak_kecamatan.columns)}
    listed = {(r[0], r[1]) for r in b.weak_kecamatan.rows}
    assert listed == {pk for pk, h in kec.items() if h["within"] < GOAL}  # at most 5 per plan: there are fewer
    for r in b.weak_kecamatan.rows:
        h = kec[(r[0], r[1])]
        assert _close(_value(r[col["Reached within target, pooled"]]), h["within"], 0.005)
        assert _close(_value(r[col["Pooled p90 response (min)"]]), h["p90"], 0.05)
        assert _close(_value(r[col["Share reached, pooled"]]), h["reached"], 0.005)
        assert _value(r[col["Incidents needing a unit (n)"]]) == h["n"]
    plan, k = _weakest_by_hand(kec, run.plans)
    h = kec[(plan, k)]
    assert b.weak_lead.startswith(f"Weakest: {k} under plan {plan}, only {h['within']:.0%} of incidents")
    assert f"pooled p90 {h['p90']:,.1f} min, {h['reached']:.0%} reached." in b.weak_lead


# --- the charts -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def captions(run: RunData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {c.name: c.caption for c in make_charts(run, "en", tmp_path_factory.mktemp("charts"))}


def test_chart_data(run: RunData, hand: pd.DataFrame, captions: dict[str, str]) -> None:
    """What the response curve, the kecamatan chart and the map plot, and what their captions say."""
    ecdf = response_ecdf_data(run.incidents, run.plans)
    for plan in run.plans:
        d = hand[hand["plan"] == plan]
        h = _stats(d)
        e = ecdf[plan]
        assert np.allclose(e.response_min, np.sort(d["hand_response"]), atol=1e-4)
        assert _close(e.p90, h["p90"], 1e-3) and _close(e.reached_share, h["reached"], 1e-9)
        # the curve crosses 90% at the pooled p90
        assert e.response_min[np.argmax(e.share >= 0.9)] == e.p90
        if h["reached"] >= 0.9:
            assert f"{round(h['p90'])} min with {plan}" in captions["response_ecdf"]
        else:  # the share as written must not read 90% (89.6%, not 90%)
            share = f"{h['reached']:.0%}" if round(h["reached"] * 100) < 90 else f"{h['reached']:.1%}"
            if all(_stats(hand[hand["plan"] == p])["reached"] < 0.9 for p in run.plans):
                assert f"{plan} {share}, pooled p90 at least {round(h['p90'])} min" in captions["response_ecdf"]
            else:
                words = f"with {plan} only {share} of all its incidents were reached"
                assert f"{words} (pooled p90 at least {round(h['p90'])} min)" in captions["response_ecdf"]
    kec = _kecamatan_by_hand(hand)
    chart = kecamatan_chart_data(run)
    assert set(zip(chart["plan"], chart["kecamatan"], strict=True)) == set(kec)
    for r in chart.to_dict("records"):
        h = kec[(r["plan"], r["kecamatan"])]
        assert _close(r[P90], h["p90"], 1e-3) and _close(r["response_pooled_p50_min"], h["p50"], 1e-3)
        assert _close(r["within_target"], h["within"], 1e-9) and _close(r["within_target_p1"], h["within_p1"], 1e-9)
        targets = run.targets[run.targets["kecamatan"] == r["kecamatan"]].set_index("priority")["target_min"]
        assert r["target_p1_min"] == targets[1] and r["target_hi_min"] == targets.max()
    plan, k = _weakest_by_hand(kec, run.plans)
    h = kec[(plan, k)]
    assert (
        f"the weakest is {k} with {plan} ({h['within']:.0%} within target, pooled p90 {h['p90']:,.1f} min)"
        in (captions["kecamatan_response"])
    )
    shown = map_values(kecamatan_chart_data(run), run.plans, {k for _, k in kec})
    for r in shown[shown["dispatched"] > 0].to_dict("records"):
        assert _close(r["within_target"], kec[(r["plan"], r["kecamatan"])]["within"], 1e-9)


def test_chart_words_say_pooled_p90() -> None:
    """The charts show one p90, the pooled one, and say so wherever they name it."""
    for key, entry in CHART_WORDS.items():
        for lang, text in entry.items():
            if re.search(r"\bp90\b", text):
                assert ("pooled" if lang == "en" else "gabungan") in text.lower(), (key, text)


# --- the workbook ---------------------------------------------------------------------------------


def _sheet(run: RunData, name: str) -> pd.DataFrame:
    """A sheet of results.xlsx with the tables' column names (from the English headers; a
    kecamatan's figures are named ', pooled') and each row's KPI by its key (its name as shown
    in ``kpi_label``)."""
    df = pd.read_excel(run.path / "results.xlsx", sheet_name=sheet_name(name, "en"))
    back = {v[1]: k for k, v in XLSX_HEADERS.items()}
    df = df.rename(columns=lambda h: back.get(h, back.get(h.replace(", pooled", ""), h)))
    if "kpi" in df.columns:
        keys = {kpi_label(k, "en"): k for k in (*metrics.KPIS, *metrics.POOLED_KPIS)}
        df.insert(list(df.columns).index("kpi") + 1, "kpi_label", df["kpi"])
        df["kpi"] = df["kpi"].map(keys)
    return df


def test_workbook(run: RunData, hand: pd.DataFrame) -> None:
    from openpyxl import load_workbook

    per_rep = {(r, p): _stats(g) for (r, p), g in hand.groupby(["replication", "plan"])}
    summary = _sheet(run, "summary").set_index(["plan", "kpi"])
    for plan in run.plans:
        for key, col in [("mean", "response_mean_min"), ("reached", "reached_share"), ("within", "within_target")]:
            want = np.nanmean([h[key] for (_, p), h in per_rep.items() if p == plan])
            assert _close(float(summary.loc[(plan, col), "mean"]), float(want), 1e-3), (plan, col)
    assert summary.loc[(run.plans[0], "response_daily_p90_min"), "kpi_label"] == "Daily p90 response (min)"
    pooled = _sheet(run, "percentiles").set_index(["plan", "kpi"])
    for plan in run.plans:
        assert _close(float(pooled.loc[(plan, P90), "response_min"]), _stats(hand[hand["plan"] == plan])["p90"], 1e-3)
        assert pooled.loc[(plan, P90), "kpi_label"] == "Pooled p90 response (min)"
    kec = _kecamatan_by_hand(hand)
    sheet = _sheet(run, "kecamatan")
    sheet = sheet[sheet["n_dispatched"] > 0]
    assert len(sheet) == len(kec)
    for r in sheet.to_dict("records"):
        h = kec[(r["plan"], r["kecamatan"])]
        assert _close(r[P90], h["p90"], 1e-3) and _close(r["within_target"], h["within"], 1e-4)
        assert _close(r["reached_share"], h["reached"], 1e-4) and r["n_dispatched"] == h["n"]
    cmp = _sheet(run, "comparison").set_index(["plan", "kpi"])
    pct = pd.read_csv(run.path / "percentiles.csv").set_index(["plan", "quantile"])["response_min"]
    assert _close(float(cmp.loc[("two", P90), "difference"]), pct[("two", 90)] - pct[("one", 90)], 1e-3)
    targets = _sheet(run, "targets")
    pd.testing.assert_frame_equal(targets, pd.read_csv(run.path / "targets.csv"), check_dtype=False)
    # every share is shown as a percentage, every other figure as a number
    wb = load_workbook(run.path / "results.xlsx")
    ws = wb[sheet_name("summary", "en")]
    head = [c.value for c in ws[1]]
    kpi_col, mean_col = head.index(XLSX_HEADERS["kpi"][1]), head.index(XLSX_HEADERS["mean"][1])
    shares = {
        metrics.kpi(k).label("en") for k in ("reached_share", "within_target", "within_target_p1", "waited_share")
    }
    for row in ws.iter_rows(min_row=2):
        if row[mean_col].value is not None:
            assert (row[mean_col].number_format == "0.0%") == (row[kpi_col].value in shares), row[kpi_col].value


def test_a_run_folder_without_targets_is_refused(run: RunData, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(run.path, old)
    (old / "targets.csv").unlink()
    man = json.loads((old / "manifest.json").read_text())
    del man["files"]["targets.csv"]
    (old / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(UserError, match=r"targets\.csv.*older pilkada-sim"):
        RunData.load(old)
