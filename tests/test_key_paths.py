"""Key paths name list items by id as well as by position: ``plans.mobile.patrols[polsek-sgu].units``."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ROOT

from sim import UserError, load_scenario
from sim.cli import main
from sim.scenario.load import key_path

KUTIM = ROOT / "scenarios" / "kutim-2024.yaml"


def test_key_paths_split_into_keys_and_named_items():
    assert key_path("plans.mobile.patrols[polsek-sgu].units") == [
        "plans",
        "mobile",
        "patrols",
        ("polsek-sgu",),
        "units",
    ]
    assert key_path("sites.ppk[Muara Wahau].name") == ["sites", "ppk", ("Muara Wahau",), "name"]
    assert key_path("travel.road_factor") == ["travel", "road_factor"]
    assert key_path("plans.mobile.patrols[a.b") is None


def test_an_item_named_by_its_post_is_the_item_at_its_index():
    raw = load_scenario(KUTIM).raw
    patrols = raw["plans"]["mobile"]["patrols"]
    k = next(i for i, g in enumerate(patrols) if g["post"] == "polsek-sgu")
    by_name = load_scenario(KUTIM, ["plans.mobile.patrols[polsek-sgu].units=5"])
    by_index = load_scenario(KUTIM, [f"plans.mobile.patrols.{k}.units=5"])
    assert by_name.digest() == by_index.digest() != load_scenario(KUTIM).digest()
    assert by_name.raw["plans"]["mobile"]["patrols"][k]["units"] == 5
    posts = {p["id"]: p for p in load_scenario(KUTIM, ["sites.posts[polres].name=Mako"]).raw["sites"]["posts"]}
    assert posts["polres"]["name"] == "Mako"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        (
            "plans.mobile.patrols[polsek-xyz].units=2",
            "[polsek-xyz] names no item of the list; valid: [polres], [polsek-sgu]",
        ),
        ("plans.mobile.patrols[polsek-kbg].units=2", "[polsek-kbg] names 2 items (use their index)"),
        ("travel[road].speed=2", "[road] names an item, but what it follows is not a list"),
    ],
)
def test_a_name_that_picks_no_single_item_is_one_line(tmp_path, capsys, override, fragment):
    with pytest.raises(UserError) as info:
        load_scenario(KUTIM, [override])
    assert fragment in info.value.line()
    out = tmp_path / "run"
    assert main(["run", str(KUTIM), "--set", override, "--reps", "1", "--out", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and not out.exists()


def test_a_sweep_over_a_named_item(tmp_path):
    key = "plans.mobile.patrols[polsek-sgu].units"
    out = tmp_path / "s"
    argv = ["sweep", str(KUTIM), "--vary", f"{key}=1,2", "--plans", "mobile", "--reps", "2", "--workers", "1"]
    assert main([*argv, "--out", str(out), "--no-report", "--quiet"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary[key].unique()) == [1, 2]
    units = summary[summary["kpi"] == "units"].set_index(key)["mean"]
    assert units[2] - units[1] == 1  # one more patrol car at Polsek Sangatta Utara
