"""Hardening, second round: a carriage return in a name keeps the tables one row per row; a shift
too far for a calendar is refused in one line."""

from __future__ import annotations

import pandas as pd
from conftest import ROOT, trace_copy

from sim.cli import main

HEADER = "number,time,kind,target,type,priority,value,duration,role,message,expected_action\n"


def test_a_carriage_return_in_a_name_keeps_every_table_one_row_per_row(tmp_path):
    """The TPS table's names are normalised on loading; the YAML's free text (post and venue
    names) reaches the tables as given, and a lone CR there used to split a row in two."""

    def change(d):
        d["sites"]["posts"][0]["name"] = "Pos\rTengah"
        d["sites"]["ppk"][0]["name"] = "Balai\r\nDesa"

    path = trace_copy(tmp_path, change)
    out = tmp_path / "run"
    code = main(["run", str(path), "--reps", "2", "--workers", "1", "--out", str(out), "--quiet", "--no-report"])
    assert code == 0
    sites = pd.read_csv(out / "sites.csv")
    assert len(sites) == 2 + 1 + 1 + 1  # two TPS, one PPK, the KPU, one post: no row split in two
    assert {"Pos\nTengah", "Balai\nDesa"} <= set(sites["name"])
    assert (out / "sites.csv").read_bytes().count(b"\r") == 0


def test_a_shift_beyond_any_scenario_window_is_one_line(tmp_path, capsys):
    events = tmp_path / "e.csv"
    events.write_text(HEADER + "1,10:00,incident,SGU-10-013,bentrok,,,,,x,y\n")
    kutim = ROOT / "scenarios" / "kutim-2024.yaml"
    for shift in ("+9999999999h", "-9999999999h", "+576001"):
        out = tmp_path / "ex"
        code = main(["exercise", str(kutim), "--injects", str(events), f"--shift={shift}", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.strip() == f"--shift: {shift}: moves the injects by more than the longest scenario window (400 days)"
        assert not out.exists()


def test_half_a_surrogate_pair_is_refused_and_a_whole_pair_is_read(tmp_path, capsys):
    lone = trace_copy(tmp_path, None)
    text = lone.read_text().replace("name: Post P", 'name: "Pos \\ud800 x"', 1)
    assert text != lone.read_text()
    lone.write_text(text)
    out = tmp_path / "run"
    assert main(["run", str(lone), "--reps", "1", "--workers", "1", "--out", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unpaired surrogate" in err and "line " in err, err
    assert not out.exists()
    lone.write_text(text.replace("\\ud800", "\\ud83d\\ude00"))  # an emoji written as its UTF-16 pair
    assert main(["run", str(lone), "--reps", "1", "--workers", "1", "--out", str(out), "--no-report", "--quiet"]) == 0
    assert "Pos \U0001f600 x" in (out / "sites.csv").read_text(encoding="utf-8")
