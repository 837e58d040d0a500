"""The charts of a finished run folder (sim/report/charts.py).

Runs are made in-process with the command line: a small Kutim comparison (three plans against
pemilu2024) and a small teaching sweep. Every chart must be written in both languages, not be
blank, have its own title and caption per language, and the captions must say what the data say.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from sim.cli import get_parser, main
from sim.report.charts import CHART_WORDS, Chart, make_charts
from sim.report.data import RunData
from sim.report.i18n import LANGS, Text, number

ROOT = Path(__file__).resolve().parents[1]
KUTIM = ROOT / "scenarios" / "kutim-2024.yaml"
TEACHING = ROOT / "scenarios" / "teaching-small.yaml"
DAY_CHARTS = ["response_ecdf", "incidents_per_hour", "busy_open", "kecamatan_response", "map"]
VARY = "plans.satu_patroli.patrols.0.units"


def _no_report() -> list[str]:
    """``--no-report`` when the command has it (the report step is tested elsewhere)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            get_parser().parse_args(["run", str(KUTIM), "--no-report"])
    except SystemExit:
        return []
    return ["--no-report"]


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--workers", "1", "--quiet", *_no_report()]) == 0


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    out = tmp_path_factory.mktemp("charts") / "compare"
    _cli("compare", str(KUTIM), "--baseline", "pemilu2024", "--reps", "4", "--out", str(out))
    return RunData.load(out)


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    out = tmp_path_factory.mktemp("charts") / "sweep"
    _cli("sweep", str(TEACHING), "--vary", f"{VARY}=1,2", "--plans", "satu_patroli", "--reps", "3", "--out", str(out))
    return RunData.load(out)


@pytest.fixture(scope="module")
def compare_charts(compare_run: RunData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Chart]]:
    base = tmp_path_factory.mktemp("compare-charts")
    return {lang: {c.name: c for c in make_charts(compare_run, lang, base / lang)} for lang in LANGS}


@pytest.fixture(scope="module")
def sweep_charts(sweep_run: RunData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Chart]]:
    base = tmp_path_factory.mktemp("sweep-charts")
    return {lang: {c.name: c for c in make_charts(sweep_run, lang, base / lang)} for lang in LANGS}


def _not_blank(path: Path) -> None:
    """A 1600x900 PNG with real content: its pixels vary well beyond a near-white page."""
    img = mpimg.imread(path)
    assert img.shape[:2] == (900, 1600), path.name
    grey = img[..., :3].mean(axis=2)
    assert grey.std() > 0.05, f"{path.name} looks blank"
    assert (grey < 0.5).mean() > 0.005, f"{path.name} has almost nothing dark (no text or data)"


def _check_texts(charts: dict[str, dict[str, Chart]], names: list[str]) -> None:
    for name in names:
        c_id, c_en = charts["id"][name], charts["en"][name]
        for c in (c_id, c_en):
            assert c.title and c.caption, name
            assert "{" not in c.title + c.caption and "}" not in c.title + c.caption, (name, c.caption)
            assert c.caption.endswith("."), (name, c.caption)
            assert c.path.name == f"{name}.png" and c.path.is_file()
            _not_blank(c.path)
        assert c_id.title != c_en.title, name
        assert c_id.caption != c_en.caption, name


def test_compare_run_has_every_chart_in_both_languages(compare_charts: dict[str, dict[str, Chart]]) -> None:
    expected = [*DAY_CHARTS[:4], "comparison_forest", "map"]
    for lang in LANGS:
        assert list(compare_charts[lang]) == expected  # reading order; no sweep_curve without a sweep
        assert sorted(p.name for p in compare_charts[lang]["map"].path.parent.iterdir()) == sorted(
            f"{n}.png" for n in expected
        )  # no temporary files left behind
    _check_texts(compare_charts, expected)


def test_sweep_run_has_the_sweep_curve(sweep_charts: dict[str, dict[str, Chart]]) -> None:
    for lang in LANGS:
        assert "sweep_curve" in sweep_charts[lang]
        assert "comparison_forest" not in sweep_charts[lang]
    _check_texts(sweep_charts, [*DAY_CHARTS, "sweep_curve"])
    # the day charts show the first grid point and say so
    # The day charts show the reference point (the first, by default) and say so, in words.
    title = sweep_charts["en"]["response_ecdf"].title
    assert title.endswith("[reference point: patrols at Polsek Sangatta Selatan (toy), units = 1]"), title
    assert sweep_charts["id"]["response_ecdf"].title.endswith("= 1]")
    assert "[titik acuan: " in sweep_charts["id"]["response_ecdf"].title


def _by_hand(run: RunData) -> pd.DataFrame:
    """Dispatched incidents with response (censored at the horizon) and within target worked out
    here from the raw times and targets.csv."""
    inc = run.incidents
    d = inc[inc["outcome"] != "resolved_on_site"].copy()
    reached = d["t_arrive"].notna()
    d["hand_response"] = np.where(reached, d["t_arrive"], run.timeline.horizon) - d["t_report"]
    target = run.targets.set_index(["kecamatan", "priority"])["target_min"]
    d["hand_target"] = [target[(k, p)] for k, p in zip(d["kecamatan"], d["priority"], strict=True)]
    d["hand_within"] = reached & (d["hand_response"] <= d["hand_target"])
    return d


def _p90(values: pd.Series) -> float:
    """Inverted CDF: the smallest value with at least 90% of the values at or below it."""
    v = np.sort(values.to_numpy(dtype=float))
    return float(v[-(-9 * len(v) // 10) - 1])


def test_ecdf_caption_gives_each_plans_pooled_p90(
    compare_run: RunData, compare_charts: dict[str, dict[str, Chart]]
) -> None:
    d = _by_hand(compare_run)
    pct = compare_run.percentiles.set_index(["plan", "quantile"])["response_min"]
    for lang in LANGS:
        caption = compare_charts[lang]["response_ecdf"].caption
        unit = "menit" if lang == "id" else "min"
        for plan in compare_run.plans:
            p90 = _p90(d.loc[d["plan"] == plan, "hand_response"])
            assert abs(p90 - pct[(plan, 90)]) < 1e-3  # the caption's figure is percentiles.csv's
            assert d.loc[d["plan"] == plan, "t_arrive"].notna().mean() >= 0.9  # so the caption gives it plainly
            link = "dengan" if lang == "id" else "with"
            assert f"{number(round(p90), lang)} {unit} {link} {plan}" in caption, (lang, plan, caption)


def test_forest_caption_matches_comparison_table(
    compare_run: RunData, compare_charts: dict[str, dict[str, Chart]]
) -> None:
    cmp = compare_run.comparison
    assert cmp is not None
    caption = compare_charts["en"]["comparison_forest"].caption
    for plan in ("mobile", "thin"):
        row = cmp[(cmp["plan"] == plan) & (cmp["kpi"] == "response_mean_min")].iloc[0]
        d = float(row["difference"])
        text = ("+" if d > 0 else "−") + number(abs(d), "en")
        assert f"{plan} changes the mean response by {text} min" in caption, caption


def test_kecamatan_caption_names_the_weakest_kecamatan(
    compare_run: RunData, compare_charts: dict[str, dict[str, Chart]]
) -> None:
    """Weakest: the kecamatan (any plan) with the lowest share within target, then the longest pooled
    p90; the caption counts the kecamatan below 90% per plan."""
    d = _by_hand(compare_run)
    share = d.groupby(["plan", "kecamatan"])["hand_within"].mean()
    p90 = d.groupby(["plan", "kecamatan"])["hand_response"].agg(_p90)
    below = [(share[k], -p90[k], k[1], compare_run.plans.index(k[0]), k[0]) for k in share.index if share[k] < 0.9]
    assert below  # four Kutim days: some kecamatan miss the goal
    _, _, kec, _, plan = min(below)
    caption = compare_charts["en"]["kecamatan_response"].caption
    assert f"the weakest is {kec} with {plan} ({share[(plan, kec)]:.0%} within target" in caption, caption
    first = compare_run.plans[0]
    n = d["kecamatan"].nunique()
    k = sum(1 for b in below if b[4] == first)
    assert f"in {k} of {n} kecamatan with {first}" in caption, caption


def test_indonesian_numbers_in_captions(compare_charts: dict[str, dict[str, Chart]]) -> None:
    """Decimal comma in Indonesian, decimal point in English."""
    cap_id = compare_charts["id"]["busy_open"].caption
    cap_en = compare_charts["en"]["busy_open"].caption
    assert re.search(r"\d,\d", cap_id) and not re.search(r"\d\.\d", cap_id)
    assert re.search(r"\d\.\d", cap_en)


def test_same_run_same_bytes(compare_run: RunData, tmp_path: Path) -> None:
    a = make_charts(compare_run, "id", tmp_path / "a")
    b = make_charts(compare_run, "id", tmp_path / "b")
    assert [c.name for c in a] == [c.name for c in b]
    for x, y in zip(a, b, strict=True):
        assert x.path.read_bytes() == y.path.read_bytes(), x.name


def test_plain_run_skips_comparison_and_sweep(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _cli("run", str(TEACHING), "--reps", "2", "--out", str(out))
    names = [c.name for c in make_charts(RunData.load(out), "en", tmp_path / "charts")]
    assert names == DAY_CHARTS


def test_every_word_has_both_languages() -> None:
    for key, entry in CHART_WORDS.items():
        assert set(entry) == set(LANGS), key
        assert sorted(re.findall(r"{(\w+)}", entry["id"])) == sorted(re.findall(r"{(\w+)}", entry["en"])), key


@pytest.mark.parametrize("lang", LANGS)
def test_forest_labels_stay_inside_their_axes(compare_run: RunData, lang: str) -> None:
    """Every verdict label of the comparison chart lies inside its panel (renderer extents), even
    for thin's large differences: the range widens to make room."""
    from sim.report import charts

    with charts.chart_style():
        made = charts._comparison_forest(compare_run, Text(lang, charts.CHART_WORDS), charts._view(compare_run, lang))
    assert made is not None
    fig = made[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = 0
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for text in ax.texts:
            e = text.get_window_extent(renderer)
            assert box.x0 <= e.x0 and e.x1 <= box.x1 and box.y0 <= e.y0 and e.y1 <= box.y1, text.get_text()
            labels += 1
    assert labels == 2 * 5  # two plans x the five KPIs of the two panels
